/*
 * pci.c: configuration space of the boot-churn machine's devices.  Sizing
 * and decode follow the PCI spec closely enough for SeaBIOS/OVMF-style
 * probing (write all ones, read the size mask back).
 * Trust: unprivileged; the guest picks register numbers and values.
 */
#include <stdio.h>
#include <string.h>

#include "pci.h"

#define PCI_CMD_MEM 0x2
#define REG_ID	    0x00
#define REG_CMD	    0x04
#define REG_CLASS   0x08 /* class, subclass, prog-if, revision */
#define REG_BAR0    0x10
#define REG_ROM	    0x30

/*
 * Device 0 is the host bridge, which Linux looks for before it trusts
 * configuration mechanism #1 (pci_sanity_check); devices 1..n are RAM
 * controllers: memory behind a BAR and nothing else.
 */
#define HOST_BRIDGE_ID	  0x0f001af4u /* vendor 0x1af4, device 0x0f00 */
#define CLASS_HOST_BRIDGE 0x06000000u
#define CLASS_RAM	  0x05000000u

void pci_init(struct pci *p, unsigned n, uint64_t mem_off)
{
	memset(p, 0, sizeof(*p));
	p->p_ndevs = n;
	for (unsigned i = 1; i <= n; i++)
		p->p_dev[i].pd_mem_off = mem_off + (i - 1) * GUEST_PCI_BAR_SIZE;
}

bool pci_port(uint16_t port)
{
	return port >= GUEST_PCI_ADDR && port < GUEST_PCI_DATA + 4;
}

/* The device the latch selects, or NULL (absent: reads all ones). */
static struct pci_dev *pci_sel(struct pci *p, unsigned *reg)
{
	uint32_t a = p->p_addr;
	unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f;

	*reg = a & 0xfc;
	if (!(a & 0x80000000u) || bus != 0 || ((a >> 8) & 7) != 0 ||
	    dev > p->p_ndevs)
		return NULL;
	return &p->p_dev[dev];
}

/* The host bridge: identity and class; everything else reads 0. */
static uint32_t pci_bridge_read(unsigned reg)
{
	if (reg == REG_ID)
		return HOST_BRIDGE_ID;
	return reg == REG_CLASS ? CLASS_HOST_BRIDGE : 0;
}

void pci_firmware(struct pci *p)
{
	for (unsigned i = 1; i <= p->p_ndevs; i++) {
		p->p_dev[i].pd_bar = (uint32_t)(GUEST_PCI_MMIO_BASE +
						(i - 1) * GUEST_PCI_BAR_SIZE);
		p->p_dev[i].pd_cmd = PCI_CMD_MEM;
	}
	p->p_dirty = true;
}

static uint32_t pci_read(struct pci *p, struct pci_dev *d, unsigned reg)
{
	unsigned dev = (unsigned)(d - p->p_dev);

	switch (reg) {
	case REG_ID:
		return (uint32_t)(GUEST_PCI_DEVICE + dev) << 16 |
		       GUEST_PCI_VENDOR;
	case REG_CMD:
		return d->pd_cmd;
	case REG_CLASS:
		return CLASS_RAM;
	case REG_BAR0:
		/* The size mask is what a written all-ones reads back. */
		return d->pd_bar & ~(uint32_t)(GUEST_PCI_BAR_SIZE - 1);
	case REG_ROM:
		return dev == 1 ? d->pd_rom &
					  (~(uint32_t)(GUEST_PCI_ROM_SIZE - 1) |
					   1)
				: 0;
	default:
		return 0;
	}
}

static void pci_write(struct pci *p, struct pci_dev *d, unsigned reg,
		      uint32_t v)
{
	unsigned dev = (unsigned)(d - p->p_dev);

	switch (reg) {
	case REG_CMD:
		if ((v & PCI_CMD_MEM) && !(d->pd_cmd & PCI_CMD_MEM))
			p->p_commit_now = true;
		d->pd_cmd = (uint16_t)(v & PCI_CMD_MEM);
		break;
	case REG_BAR0:
		d->pd_bar = v;
		break;
	case REG_ROM:
		if (dev != 1)
			return;
		if ((v & 1) && !(d->pd_rom & 1))
			p->p_commit_now = true;
		d->pd_rom = v & (PCI_ROM_GPA_MASK | 1);
		break;
	default:
		return;
	}
	p->p_dirty = true;
}

void pci_io(struct pci *p, uint16_t port, unsigned size, bool out,
	    uint8_t *data)
{
	struct pci_dev *d;
	unsigned reg, shift;
	uint32_t v = 0, old;

	if (port == GUEST_PCI_ADDR && size == 4) {
		if (out)
			memcpy(&p->p_addr, data, 4);
		else
			memcpy(data, &p->p_addr, 4);
		return;
	}
	if (port < GUEST_PCI_DATA) {
		if (!out)
			memset(data, 0xff, size);
		return;
	}
	d = pci_sel(p, &reg);
	shift = (port - GUEST_PCI_DATA) * 8;
	if (d == NULL) {
		if (!out)
			memset(data, 0xff, size);
		return;
	}
	if (d == &p->p_dev[0]) { /* the host bridge: read-only */
		v = pci_bridge_read(reg) >> shift;
		if (!out)
			memcpy(data, &v, size);
		return;
	}
	old = pci_read(p, d, reg);
	if (!out) {
		v = old >> shift;
		memcpy(data, &v, size);
		return;
	}
	memcpy(&v, data, size);
	if (size < 4) { /* merge a byte or word write into the dword */
		uint32_t mask = (size == 1 ? 0xffu : 0xffffu) << shift;

		v = (old & ~mask) | ((v << shift) & mask);
	}
	pci_write(p, d, reg, v);
}

/* A BAR decodes where it was placed: not at 0, not while sized. */
static bool pci_bar_live(const struct pci_dev *d)
{
	uint64_t base = d->pd_bar & ~(uint32_t)(GUEST_PCI_BAR_SIZE - 1);

	return (d->pd_cmd & PCI_CMD_MEM) && base != 0 &&
	       base + GUEST_PCI_BAR_SIZE <= GUEST_PCI_MMIO_BASE + 0x10000000 &&
	       base >= GUEST_PCI_MMIO_BASE;
}

size_t pci_regions(const struct pci *p, Kvmmu__Region *regs, char (*names)[16],
		   size_t max)
{
	size_t n = 0;

	for (unsigned i = 1; i <= p->p_ndevs && n < max; i++) {
		const struct pci_dev *d = &p->p_dev[i];
		Kvmmu__Region *r = &regs[n];

		if (!pci_bar_live(d))
			continue;
		kvmmu__region__init(r);
		r->has_kind = r->has_gpa = r->has_size = r->has_offset = 1;
		r->kind = KVMMU__REGION_KIND__REGION_RAM;
		r->gpa = d->pd_bar & ~(uint32_t)(GUEST_PCI_BAR_SIZE - 1);
		r->size = GUEST_PCI_BAR_SIZE;
		r->offset = d->pd_mem_off;
		snprintf(names[n], 16, "bar0.%u", i);
		r->name = names[n++];
	}
	return n;
}
