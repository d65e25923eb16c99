/*
 * vcpustate.h: builds a VcpuState request from KVM's structures.
 * Trust: unprivileged.
 */
#ifndef KVMMU_VCPUSTATE_H
#define KVMMU_VCPUSTATE_H

#include <stdint.h>

#include <linux/kvm.h> /* struct layouts only */

#include "kvmmu.pb-c.h"

/*
 * A VcpuState for vCPU idx of VM vm_id: the registers a boot sets (no
 * MSRs, FPU or XCR0: the caller adds those); seg holds its segments.
 */
void vcpustate_fill(Kvmmu__VcpuState *m, Kvmmu__Segment seg[8], uint32_t vm_id,
		    unsigned idx, const struct kvm_regs *regs,
		    const struct kvm_sregs *sr);

#endif
