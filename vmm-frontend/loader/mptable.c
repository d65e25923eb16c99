/*
 * mptable.c: see mptable.h.  Offsets, sizes and codes are those of the
 * Intel MultiProcessor Specification 1.4, chapter 4 (the floating
 * pointer structure, the configuration table header, the base table
 * entries), written byte by byte in little-endian order.
 * Trust: see mptable.h; nothing is written past cap.
 */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "errbuf.h"
#include "mptable.h"

/* The MP floating pointer structure (spec 4.1). */
#define MPF_SIGNATURE	 "_MP_"
#define MPF_SIZE	 16
#define MPF_OFF_PHYSPTR	 4
#define MPF_OFF_LENGTH	 8 /* in 16-byte paragraphs */
#define MPF_OFF_SPEC	 9
#define MPF_OFF_CHECKSUM 10
#define MPF_OFF_FEATURE1 11 /* 0: a configuration table, no default */

/* The MP configuration table header (spec 4.2). */
#define MPC_SIGNATURE	 "PCMP"
#define MPC_HDR_SIZE	 44
#define MPC_OFF_LENGTH	 4 /* the base table, header included */
#define MPC_OFF_SPEC	 6
#define MPC_OFF_CHECKSUM 7
#define MPC_OFF_OEM	 8
#define MPC_OFF_PRODUCT	 16
#define MPC_OFF_COUNT	 34
#define MPC_OFF_LAPIC	 36
#define MPC_OEM		 "KVMMU   "	/* 8 bytes, space padded */
#define MPC_PRODUCT	 "kvmmu-vm    " /* 12 bytes */

#define MP_SPEC_REV 4 /* 1.4 */

/* Base table entries (spec 4.3), in the order the spec sorts them. */
#define MPE_PROCESSOR	   0
#define MPE_BUS		   1
#define MPE_IOAPIC	   2
#define MPE_INTSRC	   3
#define MPE_LINTSRC	   4
#define MPE_PROCESSOR_SIZE 20
#define MPE_SIZE	   8 /* every other type */

#define CPU_ENABLED   0x01
#define CPU_BSP	      0x02
#define CPU_SIGNATURE 0x600 /* family 6, model 0, stepping 0 */
#define CPU_FEATURES  0x201 /* CPUID.1:EDX FPU and APIC */
#define LAPIC_VERSION 0x14  /* an integrated xAPIC, as KVM's */
#define LAPIC_ADDR    0xfee00000u

#define IOAPIC_VERSION 0x11 /* KVM's in-kernel I/O APIC */
#define IOAPIC_ENABLED 0x01
#define IOAPIC_ADDR    0xfec00000u

#define BUS_PCI	  0
#define BUS_ISA	  1
#define BUS_NAMES 2
#define ISA_IRQS  16 /* KVM routes ISA IRQ i to I/O APIC pin i */

#define INT_INT		  0 /* vectored by the I/O APIC's entry */
#define INT_NMI		  1
#define INT_EXTINT	  3 /* vectored by the 8259 PIC */
#define INT_CONFORMS	  0 /* polarity and trigger those of the bus */
#define LAPIC_ALL	  0xff
#define LINT0		  0
#define LINT1		  1
#define LOCAL_INTS	  2
#define FIXED_ENTRIES	  (BUS_NAMES + 1 + ISA_IRQS + LOCAL_INTS)
#define BASE_MEMORY_END	  0x100000ULL /* Linux scans below 1 MiB only */
#define MPTABLE_ALIGNMENT 16

/* The byte that makes p[0..len) sum to 0 modulo 256. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len-- > 0)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

size_t mptable_size(unsigned ncpus)
{
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return 0;
	return MPF_SIZE + MPC_HDR_SIZE + (size_t)ncpus * MPE_PROCESSOR_SIZE +
	       FIXED_ENTRIES * MPE_SIZE;
}

static uint8_t *mp_processor(uint8_t *p, unsigned apic_id)
{
	memset(p, 0, MPE_PROCESSOR_SIZE);
	p[0] = MPE_PROCESSOR;
	p[1] = (uint8_t)apic_id;
	p[2] = LAPIC_VERSION;
	p[3] = CPU_ENABLED | (apic_id == 0 ? CPU_BSP : 0);
	put32(p + 4, CPU_SIGNATURE);
	put32(p + 8, CPU_FEATURES);
	return p + MPE_PROCESSOR_SIZE;
}

/* name: the bus type, 6 bytes padded with spaces. */
static uint8_t *mp_bus(uint8_t *p, uint8_t id, const char *name)
{
	p[0] = MPE_BUS;
	p[1] = id;
	memcpy(p + 2, name, 6);
	return p + MPE_SIZE;
}

static uint8_t *mp_ioapic(uint8_t *p, uint8_t id)
{
	p[0] = MPE_IOAPIC;
	p[1] = id;
	p[2] = IOAPIC_VERSION;
	p[3] = IOAPIC_ENABLED;
	put32(p + 4, IOAPIC_ADDR);
	return p + MPE_SIZE;
}

/*
 * An I/O (MPE_INTSRC) or local (MPE_LINTSRC) interrupt assignment: the
 * two share a layout, the destination an I/O APIC pin or a local APIC's
 * LINT input.
 */
static uint8_t *mp_irq(uint8_t *p, uint8_t entry, uint8_t type, uint8_t irq,
		       uint8_t dest, uint8_t pin)
{
	p[0] = entry;
	p[1] = type;
	put16(p + 2, INT_CONFORMS);
	p[4] = BUS_ISA;
	p[5] = irq;
	p[6] = dest;
	p[7] = pin;
	return p + MPE_SIZE;
}

/* The base table's entries from p on; returns their count. */
static unsigned mp_entries(uint8_t *p, unsigned ncpus)
{
	uint8_t ioapic = (uint8_t)ncpus; /* the first id no CPU has */

	for (unsigned i = 0; i < ncpus; i++)
		p = mp_processor(p, i);
	p = mp_bus(p, BUS_PCI, "PCI   ");
	p = mp_bus(p, BUS_ISA, "ISA   ");
	p = mp_ioapic(p, ioapic);
	for (uint8_t i = 0; i < ISA_IRQS; i++)
		p = mp_irq(p, MPE_INTSRC, INT_INT, i, ioapic, i);
	p = mp_irq(p, MPE_LINTSRC, INT_EXTINT, 0, LAPIC_ALL, LINT0);
	mp_irq(p, MPE_LINTSRC, INT_NMI, 0, LAPIC_ALL, LINT1);
	return ncpus + FIXED_ENTRIES;
}

static void mpc_header(uint8_t *p, size_t len, unsigned count)
{
	memcpy(p, MPC_SIGNATURE, 4);
	put16(p + MPC_OFF_LENGTH, (uint16_t)len);
	p[MPC_OFF_SPEC] = MP_SPEC_REV;
	memcpy(p + MPC_OFF_OEM, MPC_OEM, 8);
	memcpy(p + MPC_OFF_PRODUCT, MPC_PRODUCT, 12);
	put16(p + MPC_OFF_COUNT, (uint16_t)count);
	put32(p + MPC_OFF_LAPIC, LAPIC_ADDR);
	p[MPC_OFF_CHECKSUM] = checksum(p, len);
}

static void mpf_write(uint8_t *p, uint64_t mpc_gpa)
{
	memcpy(p, MPF_SIGNATURE, 4);
	put32(p + MPF_OFF_PHYSPTR, (uint32_t)mpc_gpa);
	p[MPF_OFF_LENGTH] = MPF_SIZE / 16;
	p[MPF_OFF_SPEC] = MP_SPEC_REV;
	p[MPF_OFF_FEATURE1] = 0;
	p[MPF_OFF_CHECKSUM] = checksum(p, MPF_SIZE);
}

int mptable_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus,
		  char *err, size_t errlen)
{
	size_t len = mptable_size(ncpus);
	unsigned count;

	if (len == 0)
		return errbuf_set(err, errlen,
				  "MP table: %u vCPUs, need 1 to %d", ncpus,
				  MPTABLE_MAX_CPUS);
	if (gpa % MPTABLE_ALIGNMENT != 0)
		return errbuf_set(
			err, errlen,
			"MP table: address 0x%llx is not %d-byte aligned",
			(unsigned long long)gpa, MPTABLE_ALIGNMENT);
	if (gpa > BASE_MEMORY_END || len > BASE_MEMORY_END - gpa)
		return errbuf_set(
			err, errlen,
			"MP table: %zu bytes at 0x%llx do not end below "
			"1 MiB, where Linux looks for it",
			len, (unsigned long long)gpa);
	if (cap < len)
		return errbuf_set(
			err, errlen,
			"MP table: %zu bytes for %u vCPUs, the buffer "
			"holds %zu",
			len, ncpus, cap);
	memset(buf, 0, len);
	count = mp_entries(buf + MPF_SIZE + MPC_HDR_SIZE, ncpus);
	mpc_header(buf + MPF_SIZE, len - MPF_SIZE, count);
	mpf_write(buf, gpa + MPF_SIZE);
	return (int)len;
}
