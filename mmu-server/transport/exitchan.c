/*
 * exitchan.c: a vCPU's exit channel, the transport of exits: kvm_run's
 * exit out as a VcpuExit, the frontend's VcpuResume back into kvm_run.
 * The vCPU thread calls it through vm_forward (vm.h); the VM core knows
 * no protobuf.
 * Trust: privileged; the answers are the frontend's, checked for size.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "exitchan.h"
#include "kvmmu.pb-c.h"
#include "log.h"
#include "release.h"
#include "vm.h"
#include "wire.h"

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
	uid_t uid = v->v_vm->vm_owner ? v->v_vm->vm_owner->o_uid : (uid_t)-1;
	struct pollfd pfd[2] = {
		{.fd = v->v_chan, .events = POLLIN},
		{.fd = v->v_wake, .events = POLLIN},
	};
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n;

	/* Over its uid's bound of closing fds, this vCPU waits, not others. */
	while (release_pending(uid) >= RELEASE_MAX_PENDING) {
		if (poll(&pfd[1], 1, 10) > 0)
			return -EPIPE; /* the VM is going away */
	}
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
		release_charge(uid);
		wire_close_fds(fds, nfds); /* answers carry no fds */
		release_charge((uid_t)-1);
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

int exitchan_forward(struct vcpu *v)
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
