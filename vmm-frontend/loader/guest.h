/*
 * guest.h: lays out a CPL3 long-mode guest in its RAM (boot info, GDT,
 * TSS, identity page tables, payload) and computes each vCPU's initial
 * state.  Used by vmm-frontend and, for in-process baselines, by bench/.
 * Trust: unprivileged; the payload is untrusted data copied into RAM.
 */
#ifndef KVMMU_GUEST_H
#define KVMMU_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h> /* struct layouts only: no ioctl is issued here */

#include "abi.h"

/*
 * Reads a whole file of 1..max bytes (a payload, a kernel, an initrd);
 * 0 or -errno with err set.
 */
int guest_read_file(const char *path, size_t max, void **buf, size_t *len,
		    char *err, size_t errlen);
/* Reads a flat payload; 0 or -errno with err set. */
int guest_load_file(const char *path, void **buf, size_t *len, char *err,
		    size_t errlen);

/* Writes everything the payload needs into ram.  0 or -EINVAL + err. */
int guest_setup(uint8_t *ram, uint64_t ram_bytes, unsigned nvcpus,
		const void *payload, size_t len, const char *cmdline, char *err,
		size_t errlen);

/* Fills the registers and the segment/control part of sregs. */
void guest_vcpu_state(unsigned idx, struct kvm_regs *regs,
		      struct kvm_sregs *sregs);

#endif
