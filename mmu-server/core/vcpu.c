/*
 * vcpu.c: one thread per vCPU runs KVM_RUN in the server (KVM only lets the
 * creating process use a VM: ARCHITECTURE.md, KVM facts), answers what the
 * server answers itself (all-ones MMIO), and hands every other exit to the
 * VM's forwarder (exitchan.c), then resumes or parks as it says.
 * Trust: privileged; what the forwarder returns comes from the frontend.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

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
	if (v->v_state != VCPU_IN_RUN)
		return;
	v->v_run->immediate_exit = 1;
	pthread_kill(v->v_thread, VCPU_KICK_SIGNAL);
}

static bool vcpu_may_run(const struct vcpu *v)
{
	const struct vm *vm = v->v_vm;

	return vm->vm_state == VM_RUNNING && vm->vm_holds == 0 &&
	       v->v_state != VCPU_PARKED;
}

/* Parks until the vCPU may run; false when the VM is going away. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->v_vm;
	bool go;

	pthread_mutex_lock(&vm->vm_lock);
	while (vm->vm_state != VM_QUITTING && !vcpu_may_run(v))
		pthread_cond_wait(&vm->vm_cv, &vm->vm_lock);
	go = vm->vm_state != VM_QUITTING;
	if (go)
		v->v_state = VCPU_IN_RUN;
	pthread_mutex_unlock(&vm->vm_lock);
	return go;
}

/*
 * Back from KVM_RUN: exited when the thread has an exit to deal with
 * (forward it, or park), not when it was only kicked out or served the
 * exit itself.  Decided here, under the lock, so that a VcpuState never
 * sees the vCPU out of KVM_RUN and not yet known to be in an exit.
 */
static void vcpu_left_run(struct vcpu *v, bool exited)
{
	struct vm *vm = v->v_vm;

	pthread_mutex_lock(&vm->vm_lock);
	v->v_state = exited ? VCPU_EXITED : VCPU_WAITING;
	v->v_run->immediate_exit = 0;
	pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
}

/*
 * The exit is dealt with: r == 0 runs on, anything else parks, unless a
 * VcpuState came meanwhile.  The frontend may send its stop answer and
 * then a VcpuState, and the server may handle the VcpuState first: it
 * is the later start all the same, so the order of the two channels
 * does not decide whether the vCPU runs (ARCHITECTURE.md, vCPU life
 * cycle).
 */
static void vcpu_exit_done(struct vcpu *v, int r)
{
	struct vm *vm = v->v_vm;
	bool start;

	pthread_mutex_lock(&vm->vm_lock);
	start = v->v_start;
	v->v_start = false;
	v->v_state = r != 0 && !start ? VCPU_PARKED : VCPU_WAITING;
	pthread_mutex_unlock(&vm->vm_lock);
	if (r != 0)
		log_debug("vm %u vcpu %u: %s (%s)", vm->vm_id, v->v_idx,
			  start ? "not parked: a VcpuState came after the exit"
				: "parked",
			  r > 0 ? "frontend asked" : strerror(-r));
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
		if (r == -EINTR || r == -EAGAIN ||
		    (r >= 0 && vcpu_serve_allones(v))) {
			vcpu_left_run(v, false);
			continue;
		}
		vcpu_left_run(v, true);
		if (r < 0) {
			log_warn("vm %u vcpu %u: KVM_RUN: %s", v->v_vm->vm_id,
				 v->v_idx, strerror(-r));
			v->v_run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
			v->v_run->internal.suberror = (uint32_t)-r;
		}
		/* No forwarder (a test of the core alone): park. */
		r = v->v_vm->vm_forward ? v->v_vm->vm_forward(v) : 1;
		vcpu_exit_done(v, r);
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

/* The VM is quitting; wake the thread wherever it waits and join. */
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

/* Whether v is held out of KVM_RUN: -EBUSY when not (see vm.h). */
static int vcpu_held(struct vcpu *v)
{
	struct vm *vm = v->v_vm;
	bool held;

	pthread_mutex_lock(&vm->vm_lock);
	held = vm->vm_holds > 0 && v->v_state != VCPU_IN_RUN;
	pthread_mutex_unlock(&vm->vm_lock);
	return held ? 0 : -EBUSY;
}

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *sregs)
{
	int r = vcpu_held(v);

	return r < 0 ? r : kvm_vcpu_get_sregs(v->v_fd, sregs);
}

int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *sregs)
{
	int r = vcpu_held(v);

	return r < 0 ? r : kvm_vcpu_set_sregs(v->v_fd, sregs);
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *regs)
{
	int r = vcpu_held(v);

	return r < 0 ? r : kvm_vcpu_set_regs(v->v_fd, regs);
}

int vcpu_set_msrs(struct vcpu *v, const struct kvm_msrs *msrs)
{
	int r = vcpu_held(v);

	return r < 0 ? r : kvm_vcpu_set_msrs(v->v_fd, msrs);
}

/* The x87 control word and MXCSR; the rest of the FPU stays KVM's. */
int vcpu_set_fpu(struct vcpu *v, uint16_t fcw, uint32_t mxcsr)
{
	struct kvm_fpu fpu;
	int r = vcpu_held(v);

	if (r == 0)
		r = kvm_vcpu_get_fpu(v->v_fd, &fpu);
	if (r < 0)
		return r;
	fpu.fcw = fcw;
	fpu.mxcsr = mxcsr;
	return kvm_vcpu_set_fpu(v->v_fd, &fpu);
}

int vcpu_set_xcr0(struct vcpu *v, uint64_t xcr0)
{
	struct kvm_xcrs x = {.nr_xcrs = 1};
	int r = vcpu_held(v);

	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = xcr0;
	return r < 0 ? r : kvm_vcpu_set_xcrs(v->v_fd, &x);
}

int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	int r = vcpu_held(v);

	return r < 0 ? r : kvm_vcpu_set_cpuid(v->v_fd, cpuid);
}
