/*
 * exitchan.h: forwarding a vCPU's exit to its frontend (exitchan.c).
 * Trust: privileged; the frontend's answers are untrusted.
 */
#ifndef KVMMU_EXITCHAN_H
#define KVMMU_EXITCHAN_H

struct vcpu;

/*
 * Sends v's exit over its channel and applies the answer: 0 resume the
 * guest; > 0 park (the frontend said stop, or the exit has no way on);
 * < 0 the channel failed, park.  A vm_forward (vm.h).
 */
int exitchan_forward(struct vcpu *v);

#endif
