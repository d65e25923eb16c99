/*
 * pci.c: configuration space of the boot-churn machine's devices.  Sizing
 * and decode follow the PCI spec closely enough for SeaBIOS/OVMF-style
 * probing (write all ones, read the size mask back).
 * Trust: unprivileged; the guest picks register numbers and values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci.h"

#define PCI_CMD_MEM 0x2
#define REG_ID	    0x00
#define REG_CMD	    0x04
#define REG_CLASS   0x08 /* class, subclass, prog-if, revision */
#define REG_BAR0    0x10
#define REG_ROM	    0x30
#define PCI_WIN_END (GUEST_PCI_MMIO_BASE + 0x10000000ULL)

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

int pci_add_fn(struct pci *p, struct pci_fn *fn, const struct vmmap *map)
{
	if (p->p_nfn == PCI_MAX_FNS ||
	    p->p_ndevs + p->p_nfn + 1 > GUEST_PCI_MAX_DEVS)
		return -ENOSPC;
	fn->pf_map = map;
	p->p_fn[p->p_nfn++] = fn;
	return (int)(p->p_ndevs + p->p_nfn);
}

/* The functions' BARs after the RAM controllers', each size-aligned. */
static void pci_firmware_fns(struct pci *p)
{
	uint64_t at = GUEST_PCI_MMIO_BASE + p->p_ndevs * GUEST_PCI_BAR_SIZE;
	bool map = false, now = false;

	for (unsigned i = 0; i < p->p_nfn; i++) {
		struct pci_fn *fn = p->p_fn[i];

		for (unsigned b = 0; b < PCI_FN_BARS; b++) {
			uint32_t size = fn->pf_bar[b].pb_size;

			if (size == 0)
				continue;
			at = (at + size - 1) & ~(uint64_t)(size - 1);
			fn->pf_bar[b].pb_reg = (uint32_t)at;
			at += size;
		}
		pci_fn_write(fn, REG_CMD, PCI_CMD_MEMORY, 0xffff, &map, &now);
	}
}

void pci_firmware(struct pci *p)
{
	for (unsigned i = 1; i <= p->p_ndevs; i++) {
		p->p_dev[i].pd_bar = (uint32_t)(GUEST_PCI_MMIO_BASE +
						(i - 1) * GUEST_PCI_BAR_SIZE);
		p->p_dev[i].pd_cmd = PCI_CMD_MEM;
	}
	pci_firmware_fns(p);
	p->p_dirty = true;
}

/* The function the latch selects, or NULL. */
static struct pci_fn *pci_sel_fn(struct pci *p, unsigned *reg)
{
	uint32_t a = p->p_addr;
	unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f;

	*reg = a & 0xfc;
	if (!(a & 0x80000000u) || bus != 0 || ((a >> 8) & 7) != 0 ||
	    dev <= p->p_ndevs || dev > p->p_ndevs + p->p_nfn)
		return NULL;
	return p->p_fn[dev - p->p_ndevs - 1];
}

/* A config access to a function: bytes merged through its masks. */
static int pci_fn_io(struct pci *p, struct pci_fn *fn, unsigned reg,
		     unsigned shift, unsigned size, bool out, uint8_t *data)
{
	uint32_t v = 0, mask = (size == 4 ? 0xffffffffu
					  : (size == 2 ? 0xffffu : 0xffu))
			       << shift;
	bool map = false, now = false;
	int r;

	if (!out) {
		v = pci_fn_read(fn, reg) >> shift;
		memcpy(data, &v, size);
		return 0;
	}
	memcpy(&v, data, size);
	r = pci_fn_write(fn, reg, v << shift, mask, &map, &now);
	p->p_dirty |= map;
	p->p_commit_now |= now;
	return r;
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

int pci_io(struct pci *p, uint16_t port, unsigned size, bool out, uint8_t *data)
{
	struct pci_fn *fn;
	struct pci_dev *d;
	unsigned reg, shift;
	uint32_t v = 0, old;

	if (port == GUEST_PCI_ADDR && size == 4) {
		if (out)
			memcpy(&p->p_addr, data, 4);
		else
			memcpy(data, &p->p_addr, 4);
		return 0;
	}
	if (port < GUEST_PCI_DATA || size == 3 ||
	    (port - GUEST_PCI_DATA) + size > 4) {
		if (!out)
			memset(data, 0xff, size);
		return 0;
	}
	shift = (port - GUEST_PCI_DATA) * 8;
	fn = pci_sel_fn(p, &reg);
	if (fn != NULL)
		return pci_fn_io(p, fn, reg, shift, size, out, data);
	d = pci_sel(p, &reg);
	if (d == NULL) {
		if (!out)
			memset(data, 0xff, size);
		return 0;
	}
	if (d == &p->p_dev[0]) { /* the host bridge: read-only */
		v = pci_bridge_read(reg) >> shift;
		if (!out)
			memcpy(data, &v, size);
		return 0;
	}
	old = pci_read(p, d, reg);
	if (!out) {
		v = old >> shift;
		memcpy(data, &v, size);
		return 0;
	}
	memcpy(&v, data, size);
	if (size < 4) { /* merge a byte or word write into the dword */
		uint32_t mask = (size == 1 ? 0xffu : 0xffffu) << shift;

		v = (old & ~mask) | ((v << shift) & mask);
	}
	pci_write(p, d, reg, v);
	return 0;
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
	for (unsigned i = 0; i < p->p_nfn; i++) {
		for (unsigned b = 0; b < PCI_FN_BARS && n < max; b++) {
			uint64_t at = pci_fn_bar_want(p->p_fn[i], b,
						      GUEST_PCI_MMIO_BASE,
						      PCI_WIN_END);
			Kvmmu__Region *r = &regs[n];

			if (at == 0)
				continue;
			kvmmu__region__init(r);
			r->has_kind = r->has_gpa = r->has_size = 1;
			r->kind = KVMMU__REGION_KIND__REGION_MMIO;
			r->gpa = at;
			r->size = p->p_fn[i]->pf_bar[b].pb_size;
			snprintf(names[n], 16, "fn%u.bar%u", p->p_ndevs + 1 + i,
				 b);
			r->name = names[n++];
		}
	}
	return n;
}
