/*
 * mptable.h: the Intel MultiProcessor table (MP spec 1.4) a Linux guest
 * reads to find its vCPUs and the I/O APIC of a VM with KVM's in-kernel
 * irqchip: a floating pointer structure, then the configuration table
 * with one processor entry per vCPU, a PCI and an ISA bus, one I/O APIC,
 * the 16 ISA interrupts on its pins 0-15, and ExtINT/NMI on LINT0/LINT1.
 * Pure: no I/O; the caller copies the bytes into guest RAM.
 * Trust: every input is ours (the domain's vCPU count, the loader's
 * address); each is still checked, since the bytes are what the guest
 * kernel trusts about its machine.
 */
#ifndef KVMMU_MPTABLE_H
#define KVMMU_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS 32

/* Bytes the table for ncpus vCPUs takes; 0 when ncpus is out of range. */
size_t mptable_size(unsigned ncpus);

/*
 * Writes the table for ncpus vCPUs (APIC ids 0..ncpus-1, the first the
 * bootstrap processor) into buf, for guest-physical address gpa: the
 * 16-byte floating pointer structure at gpa, the configuration table at
 * gpa + 16.  gpa must be 16-byte aligned and the whole table below 1 MiB,
 * where Linux looks for it.  Returns the bytes written (mptable_size()),
 * or -1 with err saying what is wrong; buf is untouched then.
 */
int mptable_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus,
		  char *err, size_t errlen);

#endif
