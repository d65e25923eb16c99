/*
 * probe.h: what this host's KVM can run, asked rather than assumed
 * (DESIGN.md 1.1).  A /dev/kvm that opens may still be unable to run a
 * stock Linux kernel (kvm_pvm emulates a guest's kernel code and stops it
 * with an internal error), so the verdict comes from a probe guest that
 * does what a kernel does first (probe_guest.S) and from the KVM module
 * that is bound.  `mmu-server --check-kvm` prints it; the README's
 * commands decide from it where each test runs.
 * Trust: privileged; the probe guest is ours.
 */
#ifndef KVMMU_PROBE_H
#define KVMMU_PROBE_H

#include <stdbool.h>

#include "kvm.h"

/* Where the probe guest lives (probe_guest.S uses the same numbers). */
#define PROBE_CODE_GPA	0x1000
#define PROBE_STACK_TOP 0xf000
#define PROBE_RAM	0x200000
#define PROBE_PORT	0xe9
#define PROBE_LAST_STEP 11
/* --probe-fault: the IDT is wiped when this step (INT 0x80) starts. */
#define PROBE_FAULT_STEP 8

enum kvm_kind {
	KVM_KIND_NONE,	   /* no /dev/kvm, or one that does not open */
	KVM_KIND_PAYLOADS, /* opens, runs kvmmu's payloads, not Linux */
	KVM_KIND_FULL,	   /* runs a stock kernel */
};

/* Which KVM module is bound: "kvm_pvm", "kvm_amd", "kvm_intel" or NULL. */
const char *probe_kvm_module(void);

/*
 * Boots the probe guest on kh (a VM of its own, destroyed before it
 * returns).  0 when it reached its last step; else -1 with what stopped
 * it, and at which step, in why.  fault_at > 0 makes the guest take an
 * exception with no handler (a triple fault) at that step instead: the
 * probe's own test.
 */
int probe_guest_run(struct kvm_host *kh, int fault_at, char *why,
		    size_t whylen);

/*
 * The verdict on kh: the module bound and the probe guest's run (fault_at
 * as for probe_guest_run); why says what stopped the guest, or "ran every
 * step".  What --check-kvm prints and bench-linux-boot asks.
 */
enum kvm_kind probe_kind(struct kvm_host *kh, int fault_at, char *why,
			 size_t whylen);

/*
 * The verdict from what was found: module (may be NULL), whether the
 * probe guest ran (probe_ok).  Pure: tests/unit covers every case.
 */
enum kvm_kind probe_verdict(bool kvm_opens, const char *module, bool probe_ok);

#endif
