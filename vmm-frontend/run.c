/*
 * run.c: the frontend's exit loop.  Each vCPU's channel delivers the
 * exits the server forwards; each gets exactly one answer.
 * Trust: unprivileged; exits carry guest-controlled values.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "frontend.h"
#include "wire.h"

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

/* Fills ans (data in abuf) for one exit; true when the vCPU is done. */
static bool run_handle(struct frontend *f, const Kvmmu__VcpuExit *ex,
		       Kvmmu__VcpuResume *ans, uint8_t *abuf, size_t cap)
{
	unsigned v = ex->vcpu;
	size_t len;
	int err;

	if (ex->reason == KVMMU__EXIT_REASON__EXIT_IO && ex->io) {
		const Kvmmu__IoExit *io = ex->io;

		len = (size_t)io->size * io->count;
		if (len > cap || (io->count != 1 && !io->out))
			return true;
		if (io->out) {
			if (io->data.len != len)
				return true;
			memcpy(abuf, io->data.data, len);
		}
		if (io->count == 1 &&
		    machine_io(f, v, (uint16_t)io->port, io->size, io->out,
			       abuf, &err)) {
			f->f_dev.d_exits_io++;
			if (err < 0)
				f->f_crashed++;
			ans->has_data = !io->out;
			ans->data.data = abuf;
			ans->data.len = len;
			return err < 0;
		}
		/* The guest moved on from config space: apply its changes. */
		if (machine_flush(f) < 0) {
			f->f_crashed++;
			return true;
		}
		if (devices_io(&f->f_dev, v, (uint16_t)io->port, io->size,
			       io->out, abuf, len))
			return true;
		ans->has_data = !io->out;
		ans->data.data = abuf;
		ans->data.len = len;
		return false;
	}
	if (ex->reason == KVMMU__EXIT_REASON__EXIT_MMIO && ex->mmio &&
	    ex->mmio->len <= 8) {
		if (machine_flush(f) < 0) {
			f->f_crashed++;
			return true;
		}
		len = ex->mmio->len;
		if (ex->mmio->write)
			memcpy(abuf, ex->mmio->data.data,
			       ex->mmio->data.len < len ? ex->mmio->data.len
							: len);
		devices_mmio(&f->f_dev, ex->mmio->gpa, ex->mmio->write, abuf,
			     len);
		ans->has_data = !ex->mmio->write;
		ans->data.data = abuf;
		ans->data.len = len;
		return false;
	}
	fprintf(stderr, "vmm-frontend: vcpu %u: %s (code 0x%llx)\n", v,
		exit_name(ex->reason), (unsigned long long)ex->suberror);
	f->f_crashed++;
	return true;
}

/* Reads one exit from vCPU i's channel and answers it. */
static int run_serve(struct frontend *f, unsigned i)
{
	Kvmmu__VcpuResume ans = KVMMU__VCPU_RESUME__INIT;
	Kvmmu__VcpuExit *ex;
	uint8_t buf[WIRE_MAX_MSG], abuf[4096];
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	bool done;
	ssize_t n;
	int r;

	n = wire_recv(f->f_boot.b_chans[i], buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return -EPIPE;
	ex = kvmmu__vcpu_exit__unpack(NULL, (size_t)n, buf);
	if (ex == NULL || !ex->has_reason || ex->vcpu != i)
		return -EPROTO;
	done = run_handle(f, ex, &ans, abuf, sizeof(abuf));
	kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	ans.has_stop = 1; /* never an empty packet: that reads as EOF */
	ans.stop = done;
	if (done) {
		ans.has_data = 0;
		f->f_finished++;
	}
	r = wire_send(f->f_boot.b_chans[i], &ans.base, NULL, 0);
	return r;
}

/* Timeout, libvirt or a signal: whether the run must end now. */
static int run_should_stop(struct frontend *f, double t0)
{
	if (f->f_opt->timeout_s && mono_ns() / 1e9 - t0 > f->f_opt->timeout_s) {
		fprintf(stderr, "vmm-frontend: timed out after %u s\n",
			f->f_opt->timeout_s);
		return -ETIMEDOUT;
	}
	if (frontend_signal) {
		fprintf(stderr, "vmm-frontend: signal %d: stopping the VM\n",
			(int)frontend_signal);
		return -ECANCELED;
	}
	return f->f_stop ? -ECANCELED : 0;
}

int frontend_run(struct frontend *f, double t0)
{
	unsigned n = f->f_opt->vcpus;
	struct pollfd pfd[GUEST_MAX_VCPUS + 2];
	/* Wake up now and then to see the clock or a signal's flag. */
	int timeout_ms = f->f_opt->timeout_s || f->f_lv ? 100 : -1, r;

	for (unsigned i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = f->f_boot.b_chans[i],
					 .events = POLLIN};
	/* The control socket only speaks when the server goes away. */
	pfd[n] = (struct pollfd){.fd = f->f_cl.cl_fd, .events = POLLIN};
	/* libvirt's events (live.c); poll() skips fd -1. */
	pfd[n + 1] = (struct pollfd){.fd = f->f_lv_fd, .events = POLLIN};
	while (f->f_finished < n) {
		r = run_should_stop(f, t0);
		if (r < 0)
			return r;
		if (wire_poll(pfd, n + 2, timeout_ms, f->f_opt->spin_us) < 0) {
			if (errno == EINTR)
				continue; /* revents are stale */
			return -errno;
		}
		if (pfd[n].revents) {
			fprintf(stderr, "vmm-frontend: mmu-server went away "
					"(it closed the connection); the VM is "
					"gone\n");
			return -EPIPE;
		}
		for (unsigned i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			r = run_serve(f, i);
			if (r == -EPIPE) {
				fprintf(stderr,
					"vmm-frontend: mmu-server went "
					"away (it closed vCPU %u's "
					"channel); the VM is gone\n",
					i);
				return r;
			}
			if (r < 0) {
				fprintf(stderr,
					"vmm-frontend: vcpu %u "
					"channel: %s\n",
					i, strerror(-r));
				return r;
			}
		}
		if (pfd[n + 1].revents)
			live_event(f);
	}
	return 0;
}
