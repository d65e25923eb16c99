/*
 * vcpu.c: one thread per vCPU runs KVM_RUN in the server (KVM only lets the
 * creating process use a VM: ARCHITECTURE.md, KVM facts) and forwards each exit
 * to the frontend over the vCPU's own channel, then resumes with its answer.
 * Trust: privileged; the frontend's answers are untrusted and checked.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "kvmmu.pb-c.h"
#include "log.h"
#include "vm.h"
#include "wire.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

/* Called once at start: no SA_RESTART, so the signal ends KVM_RUN. */
void vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

/*
 * Gets v out of KVM_RUN.  immediate_exit covers the window between the
 * thread marking itself in_run and entering the ioctl; the signal covers
 * a thread already in guest mode.  Caller holds vm_lock.
 */
void vcpu_kick_locked(struct vcpu *v)
{
	if (!v->v_in_run)
		return;
	v->v_run->immediate_exit = 1;
	pthread_kill(v->v_thread, VCPU_KICK_SIGNAL);
}

static bool vcpu_may_run(const struct vcpu *v)
{
	const struct vm *vm = v->v_vm;

	return vm->vm_running && vm->vm_pause == 0 && !v->v_stopped;
}

/* Parks until the vCPU may run; false when the VM is going away. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->v_vm;
	bool go;

	pthread_mutex_lock(&vm->vm_lock);
	while (!vm->vm_quit && !vcpu_may_run(v))
		pthread_cond_wait(&vm->vm_cv, &vm->vm_lock);
	go = !vm->vm_quit;
	v->v_in_run = go;
	pthread_mutex_unlock(&vm->vm_lock);
	return go;
}

static void vcpu_left_run(struct vcpu *v)
{
	struct vm *vm = v->v_vm;

	pthread_mutex_lock(&vm->vm_lock);
	v->v_in_run = false;
	v->v_run->immediate_exit = 0;
	pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
}

static void vcpu_park(struct vcpu *v)
{
	pthread_mutex_lock(&v->v_vm->vm_lock);
	v->v_stopped = true;
	pthread_mutex_unlock(&v->v_vm->vm_lock);
}

/* Fills ex from kvm_run; returns the bytes an answer must carry. */
static size_t vcpu_describe_exit(struct vcpu *v, Kvmmu__VcpuExit *ex,
				 Kvmmu__IoExit *io, Kvmmu__MmioExit *mmio)
{
	struct kvm_run *run = v->v_run;

	ex->has_vcpu = 1;
	ex->vcpu = v->v_idx;
	ex->has_reason = 1;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		size_t len = (size_t)run->io.size * run->io.count;

		ex->reason = KVMMU__EXIT_REASON__EXIT_IO;
		ex->io = io;
		io->has_port = io->has_size = io->has_out = io->has_count = 1;
		io->port = run->io.port;
		io->size = run->io.size;
		io->out = run->io.direction == KVM_EXIT_IO_OUT;
		io->count = run->io.count;
		if (io->out) {
			io->has_data = 1;
			io->data.len = len;
			io->data.data = (uint8_t *)run + run->io.data_offset;
			return 0;
		}
		return len;
	}
	case KVM_EXIT_MMIO:
		ex->reason = KVMMU__EXIT_REASON__EXIT_MMIO;
		ex->mmio = mmio;
		mmio->has_gpa = mmio->has_len = mmio->has_write = 1;
		mmio->gpa = run->mmio.phys_addr;
		mmio->len = run->mmio.len;
		mmio->write = run->mmio.is_write;
		if (mmio->write) {
			mmio->has_data = 1;
			mmio->data.len = run->mmio.len;
			mmio->data.data = run->mmio.data;
			return 0;
		}
		return run->mmio.len;
	case KVM_EXIT_HLT:
		ex->reason = KVMMU__EXIT_REASON__EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		ex->reason = KVMMU__EXIT_REASON__EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		ex->reason = KVMMU__EXIT_REASON__EXIT_FAIL_ENTRY;
		ex->has_suberror = 1;
		ex->suberror = run->fail_entry.hardware_entry_failure_reason;
		return 0;
	default:
		ex->reason = KVMMU__EXIT_REASON__EXIT_INTERNAL_ERROR;
		ex->has_suberror = 1;
		ex->suberror = run->exit_reason == KVM_EXIT_INTERNAL_ERROR
				       ? run->internal.suberror
				       : 0x10000u + run->exit_reason;
		return 0;
	}
}

/* Waits for the frontend's answer.  -EPIPE when the VM is going away. */
static int vcpu_wait_answer(struct vcpu *v, uint8_t *buf)
{
	struct pollfd pfd[2] = {
		{.fd = v->v_chan, .events = POLLIN},
		{.fd = v->v_wake, .events = POLLIN},
	};
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n;

	for (;;) {
		if (wire_poll(pfd, 2, -1, v->v_vm->vm_spin_us) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents)
			return -EPIPE;
		n = wire_recv(v->v_chan, buf, fds, &nfds);
		if (n == -EAGAIN)
			continue;
		wire_close_fds(fds, nfds); /* answers carry no fds */
		if (n == 0)
			return -EPIPE;
		return (int)n;
	}
}

/* Applies an answer: data for an IN or MMIO read, and the stop flag. */
static int vcpu_apply_answer(struct vcpu *v, const Kvmmu__VcpuResume *res,
			     size_t want)
{
	struct kvm_run *run = v->v_run;
	size_t got = res->has_data ? res->data.len : 0;

	if (got != want) {
		log_warn("vm %u vcpu %u: answer carries %zu bytes, exit "
			 "needs %zu; parking the vCPU",
			 v->v_vm->vm_id, v->v_idx, got, want);
		return -EPROTO;
	}
	if (want > 0 && run->exit_reason == KVM_EXIT_IO)
		memcpy((uint8_t *)run + run->io.data_offset, res->data.data,
		       want);
	else if (want > 0)
		memcpy(run->mmio.data, res->data.data, want);
	return res->has_stop && res->stop ? 1 : 0;
}

/* 0: resume the guest; > 0: park; < 0: the channel failed, park. */
static int vcpu_forward_exit(struct vcpu *v)
{
	Kvmmu__VcpuExit ex = KVMMU__VCPU_EXIT__INIT;
	Kvmmu__IoExit io = KVMMU__IO_EXIT__INIT;
	Kvmmu__MmioExit mmio = KVMMU__MMIO_EXIT__INIT;
	Kvmmu__VcpuResume *res;
	uint8_t buf[WIRE_MAX_MSG];
	size_t want;
	int n, r;

	want = vcpu_describe_exit(v, &ex, &io, &mmio);
	r = wire_send(v->v_chan, &ex.base, NULL, 0);
	if (r < 0)
		return r;
	v->v_vm->vm_exits_forwarded++;
	n = vcpu_wait_answer(v, buf);
	if (n < 0)
		return n;
	res = kvmmu__vcpu_resume__unpack(NULL, (size_t)n, buf);
	if (res == NULL) {
		log_warn("vm %u vcpu %u: undecodable answer; parking",
			 v->v_vm->vm_id, v->v_idx);
		return -EPROTO;
	}
	r = vcpu_apply_answer(v, res, want);
	kvmmu__vcpu_resume__free_unpacked(res, NULL);
	if (r == 0 && ex.reason != KVMMU__EXIT_REASON__EXIT_IO &&
	    ex.reason != KVMMU__EXIT_REASON__EXIT_MMIO &&
	    ex.reason != KVMMU__EXIT_REASON__EXIT_HLT)
		r = 1; /* shutdown, failed entry, internal error: no way on */
	return r;
}

/*
 * An all-ones region served as MMIO reads 0xff and ignores writes; the
 * server answers it itself, without a round trip to the frontend.
 */
static bool vcpu_serve_allones(struct vcpu *v)
{
	struct kvm_run *run = v->v_run;
	struct vm *vm = v->v_vm;
	bool hit;

	if (run->exit_reason != KVM_EXIT_MMIO)
		return false;
	pthread_rwlock_rdlock(&vm->vm_map_lock);
	hit = memmap_allones_mmio(&vm->vm_map, run->mmio.phys_addr);
	pthread_rwlock_unlock(&vm->vm_map_lock);
	if (!hit)
		return false;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	v->v_vm->vm_allones_reads++;
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	int r;

	while (vcpu_wait_runnable(v)) {
		r = kvm_vcpu_run(v->v_fd);
		vcpu_left_run(v);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0) {
			log_warn("vm %u vcpu %u: KVM_RUN: %s", v->v_vm->vm_id,
				 v->v_idx, strerror(-r));
			v->v_run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
			v->v_run->internal.suberror = (uint32_t)-r;
		} else if (vcpu_serve_allones(v)) {
			continue;
		}
		r = vcpu_forward_exit(v);
		if (r != 0) {
			log_debug("vm %u vcpu %u: parked (%s)", v->v_vm->vm_id,
				  v->v_idx,
				  r > 0 ? "frontend asked" : strerror(-r));
			vcpu_park(v);
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t all, old;
	int r;

	/* Only the kick signal may reach a vCPU thread. */
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&v->v_thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	v->v_started = true;
	return 0;
}

/* The VM's vm_quit is set; wake the thread wherever it waits and join. */
void vcpu_stop_thread(struct vcpu *v)
{
	uint64_t one = 1;

	if (!v->v_started)
		return;
	if (write(v->v_wake, &one, sizeof(one)) < 0)
		log_warn("vm %u vcpu %u: eventfd: %s", v->v_vm->vm_id, v->v_idx,
			 strerror(errno));
	pthread_join(v->v_thread, NULL);
	v->v_started = false;
}
