/*
 * cpuid.h: the CPUID a vCPU is given.  KVM_GET_SUPPORTED_CPUID is the
 * ceiling; the server fills in the topology a monolithic VMM would (APIC
 * id, vCPU count, the hypervisor bit) and the frontend's masks may only
 * clear bits.  Pure: no ioctl.
 * Trust: privileged; masks come from a frontend, already validated.
 */
#ifndef KVMMU_CPUID_H
#define KVMMU_CPUID_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "verr.h"

#define CPUID_MAX_MASKS 64

/* Each register of leaf (function, index) ANDed with its mask. */
struct cpuid_mask {
	uint32_t cm_function, cm_index;
	uint32_t cm_eax, cm_ebx, cm_ecx, cm_edx;
};

/*
 * 0 when every mask names a leaf supported offers, else -EINVAL naming
 * the first that does not ("what KVM lacks cannot be added").
 */
int cpuid_check_masks(const struct kvm_cpuid2 *supported,
		      const struct cpuid_mask *m, size_t n, struct verr *e);

/*
 * vCPU idx of nvcpus: a copy of supported (calloc'd, the caller frees)
 * with the topology filled in and the masks applied; NULL without memory.
 */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported,
				  unsigned idx, unsigned nvcpus,
				  const struct cpuid_mask *m, size_t n);

#endif
