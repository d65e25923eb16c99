/*
 * acpi.h: the smallest ACPI a Linux guest of the pc machine needs to
 * power itself off (ACPI 6.5, chapter 5): an RSDP where Linux scans for
 * it (the BIOS area below 1 MiB), an XSDT naming a FADT and a MADT, the
 * FADT's FACS and DSDT.  The FADT gives a PM1a event and control block
 * on ports (no PM timer, no GPE block, no SMI: the machine is always in
 * ACPI mode) and the reset register; the MADT every vCPU's local APIC,
 * the I/O APIC and the local APICs' NMI line, as the MP table does; the
 * DSDT \_S5 and the PCI host bridge (PNP0A03) whose _CRS covers bus 0,
 * the config ports, the port space and the PCI window.  No _PRT: no
 * function of the machine has an INTx pin (the RAM controllers have no
 * interrupt, virtio functions use MSI-X).
 * Pure: no I/O; the caller copies the bytes into guest RAM.
 * Trust: every input is the loader's own; each is still checked, since
 * the guest kernel trusts these bytes about its machine.
 */
#ifndef KVMMU_ACPI_H
#define KVMMU_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 32
/* Room the tables take at most (32 vCPUs), and their alignment. */
#define ACPI_ROOM      0x800
#define ACPI_ALIGNMENT 16

/* What the tables say about the machine; the device models' facts. */
struct acpi_spec {
	unsigned as_vcpus;	/* local APIC ids 0..as_vcpus-1 */
	uint16_t as_pm1a_evt;	/* PM1a status and enable: 4 ports */
	uint16_t as_pm1a_cnt;	/* PM1a control: 2 ports */
	uint8_t as_slp_typ_s5;	/* SLP_TYP that with SLP_EN powers off */
	uint8_t as_sci_irq;	/* ISA IRQ of the SCI (never raised) */
	uint16_t as_reset_port; /* FADT reset register; 0: none */
	uint8_t as_reset_value;
	uint64_t as_pci_lo; /* the 32-bit PCI memory window */
	uint64_t as_pci_size;
};

/*
 * Writes the tables into buf (at most cap bytes) for guest-physical
 * address gpa: the RSDP at gpa, the others after it.  gpa must be
 * 16-byte aligned, and the RSDP within [0xe0000, 0x100000), where Linux
 * scans for it.  Returns the bytes written, or -1 with err saying what
 * is wrong; buf's first cap bytes may then hold anything.
 */
int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa,
	       const struct acpi_spec *as, char *err, size_t errlen);

#endif
