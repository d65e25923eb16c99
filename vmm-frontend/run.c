/*
 * run.c: the frontend's exit loop.  Each vCPU's channel delivers the
 * exits the server forwards; each gets exactly one answer.
 * Trust: unprivileged; exits carry guest-controlled values.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "exits.h"
#include "frontend.h"
#include "text.h"
#include "wire.h"

void frontend_why(struct frontend *f, const char *fmt, ...)
{
	char buf[2 * KVMMU_REASON_MAX];
	va_list ap;

	if (f->f_why[0] != '\0')
		return; /* the first cause is the one */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_clean(f->f_why, sizeof(f->f_why), buf);
}

static const char *exit_name(Kvmmu__ExitReason r)
{
	switch (r) {
	case KVMMU__EXIT_REASON__EXIT_HLT:
		return "HLT";
	case KVMMU__EXIT_REASON__EXIT_SHUTDOWN:
		return "shutdown (triple fault)";
	case KVMMU__EXIT_REASON__EXIT_FAIL_ENTRY:
		return "failed VM entry";
	default:
		return "internal error";
	}
}

/* The frontend's exit_handler (exits.h): machine, then devices. */
static bool run_handle(void *arg, const Kvmmu__VcpuExit *ex, uint8_t *abuf,
		       size_t cap, size_t *alen)
{
	struct frontend *f = arg;
	unsigned v = ex->vcpu;
	size_t len;
	int err;

	if (ex->reason == KVMMU__EXIT_REASON__EXIT_IO && ex->io) {
		const Kvmmu__IoExit *io = ex->io;
		const struct io_range *r;

		len = (size_t)io->size * io->count;
		if (len > cap || (io->count != 1 && !io->out))
			return true;
		if (io->out) {
			if (io->data.len != len)
				return true;
			memcpy(abuf, io->data.data, len);
		}
		r = iobus_find(&f->f_bus, (uint16_t)io->port);
		/* The guest moved on from the machine's ports: apply its map.
		 */
		if ((r == NULL || r->ir_arg != &f->f_machine) &&
		    machine_flush(&f->f_machine) < 0) {
			f->f_crashed++;
			return true;
		}
		f->f_dev.d_exits_io++;
		f->f_dev.d_port_exits[(uint16_t)io->port]++;
		err = 0;
		if (r != NULL)
			err = r->ir_fn(r->ir_arg, v, (uint16_t)io->port,
				       io->size, io->out, abuf, len);
		else
			devices_unknown_io(&f->f_dev, io->out, abuf, len);
		if (err < 0) {
			f->f_crashed++;
			return true;
		}
		if (err == IO_VM_RESET) {
			f->f_reset = true;
			return true;
		}
		if (err == IO_VM_POWEROFF) {
			f->f_poweroff = true;
			return true;
		}
		*alen = io->out ? 0 : len;
		return err == IO_VCPU_DONE;
	}
	if (ex->reason == KVMMU__EXIT_REASON__EXIT_MMIO && ex->mmio &&
	    ex->mmio->len <= 8) {
		const struct mmio_range *mr;

		if (machine_flush(&f->f_machine) < 0) {
			f->f_crashed++;
			return true;
		}
		len = ex->mmio->len;
		if (ex->mmio->write)
			memcpy(abuf, ex->mmio->data.data,
			       ex->mmio->data.len < len ? ex->mmio->data.len
							: len);
		mr = mmiobus_find(&f->f_mmio, ex->mmio->gpa);
		err = 0;
		if (mr == NULL) {
			devices_mmio(&f->f_dev, ex->mmio->gpa, ex->mmio->write,
				     abuf, len);
		} else {
			f->f_dev.d_exits_mmio++;
			err = mr->mr_fn(mr->mr_arg, v, ex->mmio->gpa,
					ex->mmio->write, abuf, (unsigned)len);
		}
		if (err < 0) {
			f->f_crashed++;
			return true;
		}
		*alen = ex->mmio->write ? 0 : len;
		return false;
	}
	fprintf(stderr, "vmm-frontend: vcpu %u: %s (code 0x%llx)\n", v,
		exit_name(ex->reason), (unsigned long long)ex->suberror);
	frontend_why(f, "vCPU %u crashed: %s (code 0x%llx)", v,
		     exit_name(ex->reason), (unsigned long long)ex->suberror);
	f->f_crashed++;
	return true;
}

/* Reads one exit from vCPU i's channel and answers it. */
static int run_serve(struct frontend *f, unsigned i)
{
	unsigned crashed = f->f_crashed;
	int r = exit_serve(f->f_boot.b_chans[i], (int)i, run_handle, f);

	if (r == 1)
		f->f_finished++;
	if (f->f_crashed != crashed)
		frontend_why(f, "vCPU %u crashed", i);
	/* The others are stopped, not waited for: say so. */
	if (f->f_crashed != crashed && f->f_finished < f->f_opt->vcpus)
		fprintf(stderr,
			"vmm-frontend: vcpu %u crashed: ending the run with "
			"%u other vCPU(s) unfinished\n",
			i, f->f_opt->vcpus - f->f_finished);
	return r < 0 ? r : 0;
}

/*
 * A reset (8042, 0xcf9) or a power-off (ACPI S5) ends the run, and so
 * does the end of a kernel panic's report: with panic=0 the kernel
 * would spin forever.  So does a crash of any one vCPU: its siblings
 * may spin or wait for it (APs waiting for a SIPI) until the timeout,
 * and the machine is broken anyway; DestroyVm stops them wherever they
 * are.
 */
static bool run_guest_ended(const struct frontend *f)
{
	return f->f_reset || f->f_poweroff || f->f_pc.pc_panic_end ||
	       f->f_crashed > 0;
}

/* Set by main.c's SIGINT/SIGTERM handler; read between polls. */
volatile sig_atomic_t frontend_signal;
volatile sig_atomic_t frontend_signals;

/*
 * A SIGTERM: ask the guest to shut down, and give it the shutdown
 * timeout to do so.  A Linux guest is asked with CTRL+ALT+DEL on its
 * 8042 (ARCHITECTURE.md, shutdown): its init shuts down in order and
 * reboots, which ends the VM with the guest's status 0.  Nothing is cut
 * short while it does: its file systems are synced and unmounted by the
 * guest itself.  The request is retried until the guest's keyboard
 * driver listens (a guest still booting).  A payload guest has no way
 * to be asked: it ends at once, as --shutdown-timeout 0 makes every
 * guest do.  0 while waiting, -ECANCELED to end the VM now.
 */
static int run_shutdown(struct frontend *f, double now)
{
	unsigned secs = f->f_opt->shutdown_timeout_s;

	if (f->f_shutdown_at == 0) {
		if (!f->f_linux || secs == 0) {
			const char *why = "a payload guest cannot be asked "
					  "to shut down";

			if (secs == 0)
				why = "--shutdown-timeout 0";
			fprintf(stderr,
				"vmm-frontend: SIGTERM: %s: stopping the VM\n",
				why);
			frontend_why(f, "SIGTERM: %s", why);
			return -ECANCELED;
		}
		f->f_shutdown_at = now + secs;
		fprintf(stderr,
			"vmm-frontend: SIGTERM: asking the guest to shut down "
			"(CTRL+ALT+DEL); ending it in %u s otherwise\n",
			secs);
	}
	if (!f->f_shutdown_sent && pcdev_shutdown(&f->f_pc) == 0) {
		f->f_shutdown_sent = true;
		if (!f->f_opt->quiet)
			fprintf(stderr, "vmm-frontend: the guest's keyboard "
					"took the request\n");
	}
	if (now < f->f_shutdown_at)
		return 0;
	fprintf(stderr,
		"vmm-frontend: the guest did not shut down within %u s%s: "
		"stopping the VM\n",
		secs,
		f->f_shutdown_sent ? ""
				   : " (its keyboard never took the request)");
	frontend_why(f, "the guest did not shut down within %u s%s", secs,
		     f->f_shutdown_sent
			     ? ""
			     : " (its keyboard never took the request)");
	return -ECANCELED;
}

/* Timeout, libvirt or a signal: whether the run must end now. */
static int run_should_stop(struct frontend *f, double t0)
{
	double now = mono_ns() / 1e9;

	if (f->f_opt->timeout_s && now - t0 > f->f_opt->timeout_s) {
		fprintf(stderr, "vmm-frontend: timed out after %u s\n",
			f->f_opt->timeout_s);
		frontend_why(f, "timed out after %u s", f->f_opt->timeout_s);
		return -ETIMEDOUT;
	}
	if (frontend_signal == SIGTERM && frontend_signals == 1)
		return run_shutdown(f, now);
	if (frontend_signal) {
		fprintf(stderr, "vmm-frontend: signal %d%s: stopping the VM\n",
			(int)frontend_signal,
			frontend_signals > 1 ? " (again)" : "");
		frontend_why(f, "signal %d%s", (int)frontend_signal,
			     frontend_signals > 1 ? " (again)" : "");
		return -ECANCELED;
	}
	if (!f->f_stop)
		return 0;
	/* live.c said so on stderr. */
	frontend_why(f,
		     "libvirt stopped domain '%s' (virsh destroy or shutdown)",
		     f->f_opt->name);
	return -ECANCELED;
}

int frontend_run(struct frontend *f, double t0)
{
	unsigned n = f->f_opt->vcpus;
	struct pollfd pfd[GUEST_MAX_VCPUS + 3 + DISKS_MAX + 2 * SHARES_MAX];
	/*
	 * Wake up now and then to see the clock or a signal's flag: a
	 * signal that comes between the check and poll() does not wake it.
	 */
	int timeout_ms = 100, r;
	char why[KVMMU_REASON_MAX + 1] = ""; /* a back end's end */

	for (unsigned i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = f->f_boot.b_chans[i],
					 .events = POLLIN};
	/* The control socket only speaks when the server goes away. */
	pfd[n] = (struct pollfd){.fd = f->f_cl.cl_fd, .events = POLLIN};
	/* libvirt's events (live.c); poll() skips fd -1. */
	pfd[n + 1] = (struct pollfd){.fd = f->f_lv_fd, .events = POLLIN};
	/* A Linux guest's console input (pcdev.c). */
	pfd[n + 2] = (struct pollfd){.fd = f->f_in_fd, .events = POLLIN};
	/* The disks' back ends: a socket that speaks has gone away. */
	unsigned nd = disks_pollfds(&f->f_disks, &pfd[n + 3]);
	/* ... and the shares', and virtiofsd's stderr. */
	nd += shares_pollfds(&f->f_shares, &pfd[n + 3 + nd]);
	while (f->f_finished < n && !run_guest_ended(f)) {
		r = run_should_stop(f, t0);
		if (r < 0)
			return r;
		if (wire_poll(pfd, n + 3 + nd, timeout_ms, f->f_opt->spin_us) <
		    0) {
			r = -errno;
			if (r == -EINTR)
				continue; /* revents are stale */
			frontend_why(f, "poll: %s", strerror(-r));
			return r;
		}
		if (pfd[n].revents) {
			fprintf(stderr, "vmm-frontend: mmu-server went away "
					"(it closed the connection); the VM is "
					"gone\n");
			return -EPIPE;
		}
		for (unsigned i = 0; i < n && !run_guest_ended(f); i++) {
			if (!pfd[i].revents)
				continue;
			r = run_serve(f, i);
			/* Server gone, or the VM destroyed: main.c asks. */
			if (r == -EPIPE)
				return -ECONNRESET;
			if (r < 0) {
				fprintf(stderr,
					"vmm-frontend: vcpu %u "
					"channel: %s\n",
					i, strerror(-r));
				frontend_why(f, "vcpu %u channel: %s", i,
					     strerror(-r));
				return r;
			}
		}
		if (pfd[n + 1].revents)
			live_event(f);
		if (pfd[n + 2].revents && pcdev_input(&f->f_pc, f->f_in_fd) < 0)
			pfd[n + 2].fd = -1; /* end of input: stop reading */
		r = disks_check(&f->f_disks, &pfd[n + 3], why, sizeof(why));
		if (r == 0)
			r = shares_check(&f->f_shares,
					 &pfd[n + 3 + f->f_disks.n], why,
					 sizeof(why));
		if (r < 0) {
			frontend_why(f, "%s", why);
			return r == -EPIPE ? -EIO : r;
		}
	}
	return 0;
}
