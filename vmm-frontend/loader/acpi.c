/*
 * acpi.c: see acpi.h.  Offsets, sizes and codes are those of ACPI 6.5:
 * 5.2.5 RSDP, 5.2.6 the table header, 5.2.8 XSDT, 5.2.9 FADT (revision
 * 3, the ACPI 2.0 layout: 32-bit block addresses, which ACPICA widens
 * itself), 5.2.10 FACS, 5.2.12 MADT, 5.2.11.1 DSDT; resource descriptors
 * of 6.4; AML through aml.c.  Little-endian, written byte by byte.
 * Trust: see acpi.h; nothing is written past cap.
 */
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"
#include "bytes.h"
#include "errbuf.h"

#define OEM_ID	     "KVMMU "	/* 6 bytes */
#define OEM_TABLE_ID "KVMMUPC " /* 8 bytes */
#define CREATOR_ID   "KVMM"
#define OEM_REVISION 1

/* The common header (5.2.6). */
#define HDR_SIZE	 36
#define HDR_OFF_LENGTH	 4
#define HDR_OFF_REVISION 8
#define HDR_OFF_CHECKSUM 9

/* RSDP, ACPI 2.0 and later (5.2.5.3). */
#define RSDP_SIZE	   36
#define RSDP_V1_SIZE	   20 /* what the first checksum covers */
#define RSDP_OFF_CHECKSUM  8
#define RSDP_OFF_OEM	   9
#define RSDP_OFF_REVISION  15
#define RSDP_OFF_LENGTH	   20
#define RSDP_OFF_XSDT	   24
#define RSDP_OFF_EXT_CHECK 32
#define RSDP_REVISION	   2
#define RSDP_SCAN_LO	   0xe0000ULL /* Linux scans here for it */
#define RSDP_SCAN_HI	   0x100000ULL

/* FADT (5.2.9), revision 3: 244 bytes. */
#define FADT_SIZE	     244
#define FADT_REVISION	     3
#define FADT_OFF_FACS	     36
#define FADT_OFF_DSDT	     40
#define FADT_OFF_SCI_INT     46
#define FADT_OFF_PM1A_EVT    56
#define FADT_OFF_PM1A_CNT    64
#define FADT_OFF_PM1_EVT_LEN 88
#define FADT_OFF_PM1_CNT_LEN 89
#define FADT_OFF_P_LVL2_LAT  96
#define FADT_OFF_P_LVL3_LAT  98
#define FADT_OFF_BOOT_ARCH   109
#define FADT_OFF_FLAGS	     112
#define FADT_OFF_RESET_REG   116
#define FADT_OFF_RESET_VALUE 128
#define FADT_PM1_EVT_LEN     4 /* status and enable, 2 bytes each */
#define FADT_PM1_CNT_LEN     2
#define FADT_C2_NONE	     101  /* > 100 us: no C2 */
#define FADT_C3_NONE	     1001 /* > 1000 us: no C3 */
/*
 * IA-PC boot architecture flags: an 8042 is there (without this bit
 * Linux does not probe for the keyboard controller that carries the
 * CTRL+ALT+DEL shutdown request and its reboot).
 */
#define BOOT_ARCH_8042 (1u << 1)
/* FADT flags: WBINVD works, C1 on every CPU, no fixed power or sleep
 * button, the reset register. */
#define FADT_WBINVD	   (1u << 0)
#define FADT_PROC_C1	   (1u << 2)
#define FADT_PWR_BUTTON	   (1u << 4) /* set: no fixed power button */
#define FADT_SLP_BUTTON	   (1u << 5) /* set: no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SIZE     12
#define GAS_SYS_IO   1
#define GAS_ACC_BYTE 1

/* FACS (5.2.10): no checksum, 64-byte aligned. */
#define FACS_SIZE	 64
#define FACS_ALIGNMENT	 64
#define FACS_OFF_LENGTH	 4
#define FACS_OFF_VERSION 32
#define FACS_VERSION	 2

/* MADT (5.2.12). */
#define MADT_REVISION	 5
#define MADT_OFF_LAPIC	 36
#define MADT_OFF_FLAGS	 40
#define MADT_HDR_SIZE	 44
#define MADT_PCAT_COMPAT 1u /* dual 8259s: KVM's PIC is there */
#define MADT_LAPIC	 0
#define MADT_LAPIC_SIZE	 8
#define MADT_IOAPIC	 1
#define MADT_IOAPIC_SIZE 12
#define MADT_ISO	 2
#define MADT_ISO_SIZE	 10
#define MADT_NMI	 4
#define MADT_NMI_SIZE	 6
#define LAPIC_ENABLED	 1u
#define LAPIC_ADDR	 0xfee00000u /* as the MP table says */
#define IOAPIC_ADDR	 0xfec00000u
#define ALL_CPUS	 0xff
#define LINT1		 1
/* MPS INTI flags: active high (01), level triggered (11 << 2). */
#define INTI_HIGH_LEVEL 0x000d

#define XSDT_ENTRIES  2 /* FADT, MADT */
#define XSDT_SIZE     (HDR_SIZE + 8 * XSDT_ENTRIES)
#define DSDT_REVISION 2 /* 64-bit integers */

/* Resource descriptors (6.4). */
#define RES_IO		0x47 /* small item: I/O port, 8 bytes */
#define RES_IO_DECODE16 0x01
#define RES_END_TAG	0x79
#define RES_DWORD	0x87 /* large: DWord address space */
#define RES_WORD	0x88 /* large: Word address space */
#define RES_SPACE_MEM	0
#define RES_SPACE_IO	1
#define RES_SPACE_BUS	2
#define RES_FIXED	0x0c /* _MIF and _MAF: min and max fixed; producer */
#define RES_MEM_RW	0x01 /* read-write, non-cacheable */
#define RES_IO_RANGE	0x03 /* ISA and non-ISA ports */
#define PCI_CONFIG_PORT 0xcf8
#define PCI_CONFIG_LEN	8

#define PM1_SLP_TYP_MAX 7 /* a 3-bit field */

/* The byte that makes p[0..len) sum to 0 modulo 256. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len-- > 0)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static void header(uint8_t *p, const char *sig, size_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p + HDR_OFF_LENGTH, (uint32_t)len);
	p[HDR_OFF_REVISION] = rev;
	memcpy(p + 10, OEM_ID, 6);
	memcpy(p + 16, OEM_TABLE_ID, 8);
	put32(p + 24, OEM_REVISION);
	memcpy(p + 28, CREATOR_ID, 4);
	put32(p + 32, OEM_REVISION);
}

/* Sets the header's checksum once the whole table is written. */
static void seal(uint8_t *p)
{
	p[HDR_OFF_CHECKSUM] = 0;
	p[HDR_OFF_CHECKSUM] = checksum(p, le32(p + HDR_OFF_LENGTH));
}

static void gas_io(uint8_t *p, uint16_t port, uint8_t bits)
{
	p[0] = GAS_SYS_IO;
	p[1] = bits;
	p[2] = 0; /* bit offset */
	p[3] = GAS_ACC_BYTE;
	put64(p + 4, port);
}

static void rsdp(uint8_t *p, uint64_t xsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + RSDP_OFF_OEM, OEM_ID, 6);
	p[RSDP_OFF_REVISION] = RSDP_REVISION;
	put32(p + RSDP_OFF_LENGTH, RSDP_SIZE);
	put64(p + RSDP_OFF_XSDT, xsdt);
	p[RSDP_OFF_CHECKSUM] = checksum(p, RSDP_V1_SIZE);
	p[RSDP_OFF_EXT_CHECK] = checksum(p, RSDP_SIZE);
}

static void xsdt(uint8_t *p, const uint64_t *tables)
{
	header(p, "XSDT", XSDT_SIZE, 1);
	for (int i = 0; i < XSDT_ENTRIES; i++)
		put64(p + HDR_SIZE + 8 * i, tables[i]);
	seal(p);
}

static void fadt(uint8_t *p, const struct acpi_spec *as, uint64_t facs,
		 uint64_t dsdt)
{
	uint32_t flags =
		FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON;

	header(p, "FACP", FADT_SIZE, FADT_REVISION);
	put32(p + FADT_OFF_FACS, (uint32_t)facs);
	put32(p + FADT_OFF_DSDT, (uint32_t)dsdt);
	put16(p + FADT_OFF_SCI_INT, as->as_sci_irq);
	/* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: always in ACPI mode. */
	put32(p + FADT_OFF_PM1A_EVT, as->as_pm1a_evt);
	put32(p + FADT_OFF_PM1A_CNT, as->as_pm1a_cnt);
	p[FADT_OFF_PM1_EVT_LEN] = FADT_PM1_EVT_LEN;
	p[FADT_OFF_PM1_CNT_LEN] = FADT_PM1_CNT_LEN;
	put16(p + FADT_OFF_P_LVL2_LAT, FADT_C2_NONE);
	put16(p + FADT_OFF_P_LVL3_LAT, FADT_C3_NONE);
	put16(p + FADT_OFF_BOOT_ARCH, BOOT_ARCH_8042);
	if (as->as_reset_port != 0) {
		flags |= FADT_RESET_REG_SUP;
		gas_io(p + FADT_OFF_RESET_REG, as->as_reset_port, 8);
		p[FADT_OFF_RESET_VALUE] = as->as_reset_value;
	}
	put32(p + FADT_OFF_FLAGS, flags);
	seal(p);
}

static void facs(uint8_t *p)
{
	memcpy(p, "FACS", 4);
	put32(p + FACS_OFF_LENGTH, FACS_SIZE);
	p[FACS_OFF_VERSION] = FACS_VERSION;
}

static size_t madt_size(unsigned ncpus)
{
	return MADT_HDR_SIZE + (size_t)ncpus * MADT_LAPIC_SIZE +
	       MADT_IOAPIC_SIZE + MADT_ISO_SIZE + MADT_NMI_SIZE;
}

/*
 * Every vCPU's local APIC, the I/O APIC (id ncpus, GSIs from 0, as the
 * MP table has it), the SCI's override (level, active high, as KVM's
 * I/O APIC pin sees a line the frontend drives) and LINT1 as NMI.  ISA
 * IRQs 0-15 otherwise reach pins 0-15 edge triggered, active high: the
 * default without an override, and what KVM routes and the MP table says.
 */
static void madt(uint8_t *p, const struct acpi_spec *as)
{
	size_t len = madt_size(as->as_vcpus);
	uint8_t *e = p + MADT_HDR_SIZE;

	header(p, "APIC", len, MADT_REVISION);
	put32(p + MADT_OFF_LAPIC, LAPIC_ADDR);
	put32(p + MADT_OFF_FLAGS, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < as->as_vcpus; i++, e += MADT_LAPIC_SIZE) {
		e[0] = MADT_LAPIC;
		e[1] = MADT_LAPIC_SIZE;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id */
		put32(e + 4, LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = MADT_IOAPIC_SIZE;
	e[2] = (uint8_t)as->as_vcpus; /* the first id no CPU has */
	put32(e + 4, IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	e += MADT_IOAPIC_SIZE;
	e[0] = MADT_ISO;
	e[1] = MADT_ISO_SIZE;
	e[2] = 0; /* ISA */
	e[3] = as->as_sci_irq;
	put32(e + 4, as->as_sci_irq);
	put16(e + 8, INTI_HIGH_LEVEL);
	e += MADT_ISO_SIZE;
	e[0] = MADT_NMI;
	e[1] = MADT_NMI_SIZE;
	e[2] = ALL_CPUS;
	put16(e + 3, 0); /* flags: as the bus conforms */
	e[5] = LINT1;
	seal(p);
}

/* A Word address space descriptor (6.4.3.5.3): 16 bytes. */
static void res_word(struct aml *a, uint8_t space, uint8_t tflags, uint16_t min,
		     uint16_t max)
{
	uint8_t d[16] = {RES_WORD, 13, 0, space, RES_FIXED, tflags};

	put16(d + 6, 0); /* granularity */
	put16(d + 8, min);
	put16(d + 10, max);
	put16(d + 12, 0); /* translation offset */
	put16(d + 14, (uint16_t)(max - min + 1));
	aml_bytes(a, d, sizeof(d));
}

/* A DWord memory descriptor (6.4.3.5.2): 26 bytes. */
static void res_dword_mem(struct aml *a, uint32_t min, uint32_t len)
{
	uint8_t d[26] = {RES_DWORD,	23,	   0,
			 RES_SPACE_MEM, RES_FIXED, RES_MEM_RW};

	put32(d + 6, 0);
	put32(d + 10, min);
	put32(d + 14, min + len - 1);
	put32(d + 18, 0);
	put32(d + 22, len);
	aml_bytes(a, d, sizeof(d));
}

/*
 * The host bridge's resources: bus 0 to 255 (one bus decodes), the
 * config ports it consumes, every other port, and the PCI window.
 */
static void pci_crs(struct aml *a, const struct acpi_spec *as)
{
	const uint8_t cfg[8] = {RES_IO,
				RES_IO_DECODE16,
				PCI_CONFIG_PORT & 0xff,
				PCI_CONFIG_PORT >> 8,
				PCI_CONFIG_PORT & 0xff,
				PCI_CONFIG_PORT >> 8,
				1,
				PCI_CONFIG_LEN};
	const uint8_t end[2] = {RES_END_TAG, 0}; /* 0: no checksum */
	size_t buf, len_at;

	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	buf = aml_pkg_begin(a, AML_BUFFER_OP);
	/* BufferSize, patched below once the descriptors are written. */
	aml_int(a, 0xffff);
	len_at = a->a_len;
	res_word(a, RES_SPACE_BUS, 0, 0, 0xff);
	aml_bytes(a, cfg, sizeof(cfg));
	res_word(a, RES_SPACE_IO, RES_IO_RANGE, 0, PCI_CONFIG_PORT - 1);
	res_word(a, RES_SPACE_IO, RES_IO_RANGE,
		 PCI_CONFIG_PORT + PCI_CONFIG_LEN, 0xffff);
	res_dword_mem(a, (uint32_t)as->as_pci_lo, (uint32_t)as->as_pci_size);
	aml_bytes(a, end, sizeof(end));
	if (!a->a_over) /* a WordConst: its 2 bytes after the prefix */
		put16(a->a_buf + len_at - 2, (uint16_t)(a->a_len - len_at));
	aml_pkg_end(a, buf);
}

/*
 * The DSDT's AML:
 *   Name (\_S5, Package () { SLP_TYP, 0 })
 *   Device (\_SB.PCI0) {
 *       Name (_HID, EisaId ("PNP0A03"))
 *       Name (_UID, 0)
 *       Name (_BBN, 0)
 *       Name (_CRS, ResourceTemplate () { ... })
 *   }
 */
static void dsdt_aml(struct aml *a, const struct acpi_spec *as)
{
	size_t pkg, dev;

	aml_byte(a, AML_NAME_OP);
	aml_name(a, "\\_S5");
	pkg = aml_pkg_begin(a, AML_PACKAGE_OP);
	aml_byte(a, 2);		       /* NumElements */
	aml_int(a, as->as_slp_typ_s5); /* PM1a's SLP_TYP */
	aml_int(a, 0);		       /* PM1b's: there is none */
	aml_pkg_end(a, pkg);

	dev = aml_pkg_begin(a, AML_DEVICE_OP);
	aml_name(a, "\\_SB.PCI0");
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_BBN");
	aml_int(a, 0);
	pci_crs(a, as);
	aml_pkg_end(a, dev);
}

/* The DSDT at p (cap bytes from p on): its length, or 0 if it overflows. */
static size_t dsdt(uint8_t *p, size_t cap, const struct acpi_spec *as)
{
	struct aml a;

	if (cap < HDR_SIZE)
		return 0;
	aml_init(&a, p + HDR_SIZE, cap - HDR_SIZE);
	dsdt_aml(&a, as);
	if (a.a_over)
		return 0;
	header(p, "DSDT", HDR_SIZE + a.a_len, DSDT_REVISION);
	seal(p);
	return HDR_SIZE + a.a_len;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int acpi_check(uint64_t gpa, const struct acpi_spec *as, char *err,
		      size_t errlen)
{
	if (as->as_vcpus == 0 || as->as_vcpus > ACPI_MAX_CPUS)
		return errbuf_set(err, errlen, "ACPI: %u vCPUs, need 1 to %d",
				  as->as_vcpus, ACPI_MAX_CPUS);
	if (gpa % ACPI_ALIGNMENT != 0 || gpa < RSDP_SCAN_LO ||
	    gpa + RSDP_SIZE > RSDP_SCAN_HI)
		return errbuf_set(err, errlen,
				  "ACPI: RSDP at 0x%llx: not 16-byte aligned "
				  "in [0x%llx, 0x%llx), where Linux looks",
				  (unsigned long long)gpa, RSDP_SCAN_LO,
				  RSDP_SCAN_HI);
	if (as->as_slp_typ_s5 > PM1_SLP_TYP_MAX || as->as_sci_irq > 15 ||
	    as->as_pm1a_evt == 0 || as->as_pm1a_cnt == 0)
		return errbuf_set(err, errlen,
				  "ACPI: bad PM1 block (SLP_TYP %u, SCI %u, "
				  "ports 0x%x, 0x%x)",
				  as->as_slp_typ_s5, as->as_sci_irq,
				  as->as_pm1a_evt, as->as_pm1a_cnt);
	if (as->as_pci_size == 0 ||
	    as->as_pci_lo + as->as_pci_size > 1ULL << 32)
		return errbuf_set(err, errlen,
				  "ACPI: PCI window 0x%llx+0x%llx is not "
				  "below 4 GiB",
				  (unsigned long long)as->as_pci_lo,
				  (unsigned long long)as->as_pci_size);
	return 0;
}

int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa,
	       const struct acpi_spec *as, char *err, size_t errlen)
{
	/*
	 * Offsets from buf: the RSDP, then each table 16-byte aligned, the
	 * FACS 64-byte aligned in guest-physical terms.
	 */
	size_t xsdt_at = align_up(RSDP_SIZE, ACPI_ALIGNMENT);
	size_t fadt_at = xsdt_at + align_up(XSDT_SIZE, ACPI_ALIGNMENT);
	size_t facs_at, madt_at, dsdt_at, dlen;
	uint64_t tables[XSDT_ENTRIES];

	if (acpi_check(gpa, as, err, errlen) < 0)
		return -1;
	facs_at = align_up(gpa + fadt_at + FADT_SIZE, FACS_ALIGNMENT) - gpa;
	madt_at = facs_at + FACS_SIZE;
	dsdt_at = madt_at + align_up(madt_size(as->as_vcpus), ACPI_ALIGNMENT);
	if (cap < dsdt_at)
		return errbuf_set(err, errlen,
				  "ACPI: %zu bytes of tables, room for %zu",
				  dsdt_at, cap);
	memset(buf, 0, cap);
	dlen = dsdt(buf + dsdt_at, cap - dsdt_at, as);
	if (dlen == 0)
		return errbuf_set(err, errlen,
				  "ACPI: the DSDT does not fit in %zu bytes",
				  cap - dsdt_at);
	tables[0] = gpa + fadt_at;
	tables[1] = gpa + madt_at;
	facs(buf + facs_at);
	madt(buf + madt_at, as);
	fadt(buf + fadt_at, as, gpa + facs_at, gpa + dsdt_at);
	xsdt(buf + xsdt_at, tables);
	rsdp(buf, gpa + xsdt_at);
	return (int)(dsdt_at + dlen);
}
