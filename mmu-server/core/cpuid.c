/*
 * cpuid.c: a vCPU's CPUID (cpuid.h): KVM's supported leaves, the VM's
 * topology, the frontend's masks.
 * Trust: privileged; pure functions over validated input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"

#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT	       (1U << 28)
#define CPUID_TOPO_SMT	       1 /* leaf 0xb/0x1f level types */
#define CPUID_TOPO_CORE	       2

static int cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *en = &c->entries[i];

		if (en->function != fn)
			continue;
		if (!(en->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    en->index == idx)
			return (int)i;
	}
	return -1;
}

int cpuid_check_masks(const struct kvm_cpuid2 *supported,
		      const struct cpuid_mask *m, size_t n, struct verr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (cpuid_find(supported, m[i].cm_function, m[i].cm_index) < 0)
			return verr_set(e, EINVAL,
					"SetCpuid.masks[%zu]: leaf 0x%x index "
					"%u is not one KVM offers "
					"(KVM_GET_SUPPORTED_CPUID): a mask can "
					"only take features away",
					i, m[i].cm_function, m[i].cm_index);
	}
	return 0;
}

/* Bits needed to number n things: 1 -> 0, 2 -> 1, 3..4 -> 2, ... */
static unsigned order(unsigned n)
{
	unsigned b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

/*
 * Leaves 0xb and 0x1f: one thread per core, nvcpus cores per package;
 * the x2APIC id (edx) is the vCPU index at every level.
 */
static void cpuid_topology(struct kvm_cpuid_entry2 *en, unsigned idx,
			   unsigned nvcpus)
{
	en->edx = idx;
	switch (en->index) {
	case 0:
		en->eax = 0;
		en->ebx = 1;
		en->ecx = CPUID_TOPO_SMT << 8;
		break;
	case 1:
		en->eax = order(nvcpus);
		en->ebx = nvcpus;
		en->ecx = CPUID_TOPO_CORE << 8 | 1;
		break;
	default: /* no further levels */
		en->eax = en->ebx = 0;
		en->ecx = en->index;
		break;
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported,
				  unsigned idx, unsigned nvcpus,
				  const struct cpuid_mask *m, size_t n)
{
	size_t sz = sizeof(*supported) +
		    supported->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);

	if (c == NULL)
		return NULL;
	memcpy(c, supported, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *en = &c->entries[i];

		if (en->function == 1) {
			/* APIC id, logical processors, CLFLUSH line size. */
			en->ebx = idx << 24 | (nvcpus & 0xff) << 16 | 8 << 8 |
				  (en->ebx & 0xff);
			en->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nvcpus > 1)
				en->edx |= CPUID_1_EDX_HTT;
			else
				en->edx &= ~CPUID_1_EDX_HTT;
		} else if (en->function == 0xb || en->function == 0x1f) {
			cpuid_topology(en, idx, nvcpus);
		}
	}
	for (size_t i = 0; i < n; i++) {
		int at = cpuid_find(c, m[i].cm_function, m[i].cm_index);

		if (at < 0)
			continue; /* cpuid_check_masks refused it before */
		c->entries[at].eax &= m[i].cm_eax;
		c->entries[at].ebx &= m[i].cm_ebx;
		c->entries[at].ecx &= m[i].cm_ecx;
		c->entries[at].edx &= m[i].cm_edx;
	}
	return c;
}
