/*
 * pcifn.c: a PCI function's configuration space, BARs, capabilities and
 * doorbells (pcifn.h).
 * Trust: unprivileged; every guest value is masked or range-checked.
 */
#include <errno.h>
#include <string.h>

#include "pcifn.h"

#define REG_ID	    0x00
#define REG_CMD	    0x04
#define REG_STATUS  0x06
#define REG_CLASS   0x08
#define REG_BAR0    0x10
#define REG_SUBSYS  0x2c
#define REG_CAP	    0x34
#define REG_IRQLINE 0x3c
#define STATUS_CAPS 0x10
#define CAP_FIRST   0x40

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void pci_fn_init(struct pci_fn *fn, const char *name, uint16_t vendor,
		 uint16_t device, uint32_t class_rev, uint16_t subsystem,
		 const struct pci_fn_ops *ops, void *arg)
{
	memset(fn, 0, sizeof(*fn));
	fn->pf_name = name;
	fn->pf_ops = ops;
	fn->pf_arg = arg;
	put16(&fn->pf_cfg[REG_ID], vendor);
	put16(&fn->pf_cfg[REG_ID + 2], device);
	put32(&fn->pf_cfg[REG_CLASS], class_rev);
	put16(&fn->pf_cfg[REG_SUBSYS], vendor);
	put16(&fn->pf_cfg[REG_SUBSYS + 2], subsystem);
	put16(&fn->pf_wmask[REG_CMD],
	      PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
	fn->pf_wmask[REG_IRQLINE] = 0xff; /* scratch for the OS */
	fn->pf_cap_end = CAP_FIRST;
	fn->pf_cap_link = REG_CAP;
	for (unsigned i = 0; i < PCI_FN_DOORBELLS; i++)
		fn->pf_db[i].dbl_fd = -1;
}

int pci_fn_bar(struct pci_fn *fn, unsigned bar, uint32_t size)
{
	if (bar >= PCI_FN_BARS || size < 4096 || (size & (size - 1)))
		return -EINVAL;
	fn->pf_bar[bar] = (struct pci_bar){.pb_size = size};
	return 0;
}

int pci_fn_cap(struct pci_fn *fn, uint8_t id, const void *body, unsigned len)
{
	unsigned at = fn->pf_cap_end;

	if (at + 2 + len > sizeof(fn->pf_cfg))
		return -ENOSPC;
	fn->pf_cfg[at] = id;
	fn->pf_cfg[at + 1] = 0;
	memcpy(&fn->pf_cfg[at + 2], body, len);
	fn->pf_cfg[fn->pf_cap_link] = (uint8_t)at;
	fn->pf_cfg[REG_STATUS] |= STATUS_CAPS;
	fn->pf_cap_link = at + 1;
	fn->pf_cap_end = (at + 2 + len + 3) & ~3u;
	return (int)at;
}

static bool is_bar(unsigned reg)
{
	return reg >= REG_BAR0 && reg < REG_BAR0 + 4 * PCI_FN_BARS;
}

uint32_t pci_fn_read(const struct pci_fn *fn, unsigned reg)
{
	uint32_t v;

	reg &= 0xfc;
	if (is_bar(reg)) {
		const struct pci_bar *b = &fn->pf_bar[(reg - REG_BAR0) / 4];

		/* The size mask is what a written all-ones reads back. */
		return b->pb_size ? b->pb_reg & ~(b->pb_size - 1) : 0;
	}
	memcpy(&v, &fn->pf_cfg[reg], 4);
	return v;
}

int pci_fn_write(struct pci_fn *fn, unsigned reg, uint32_t v, uint32_t mask,
		 bool *map, bool *now)
{
	uint16_t cmd;
	unsigned lo = 4, hi = 0;

	reg &= 0xfc;
	if (is_bar(reg)) {
		struct pci_bar *b = &fn->pf_bar[(reg - REG_BAR0) / 4];

		if (b->pb_size == 0)
			return 0;
		b->pb_reg = (b->pb_reg & ~mask) | (v & mask);
		*map = true;
		return 0;
	}
	memcpy(&cmd, &fn->pf_cfg[REG_CMD], 2);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t m = fn->pf_wmask[reg + i] & (uint8_t)(mask >> (8 * i));
		uint8_t *c = &fn->pf_cfg[reg + i];

		if (m == 0)
			continue;
		*c = (uint8_t)((*c & ~m) | ((v >> (8 * i)) & m));
		lo = i < lo ? i : lo;
		hi = i + 1;
	}
	if (hi == 0)
		return 0;
	if (reg == REG_CMD) {
		uint16_t ncmd;

		memcpy(&ncmd, &fn->pf_cfg[REG_CMD], 2);
		if ((ncmd ^ cmd) & PCI_CMD_MEMORY)
			*map = true;
		if ((ncmd & PCI_CMD_MEMORY) && !(cmd & PCI_CMD_MEMORY))
			*now = true;
	}
	if (fn->pf_ops && fn->pf_ops->fo_cfg_write)
		return fn->pf_ops->fo_cfg_write(fn->pf_arg, reg + lo, hi - lo);
	return 0;
}

uint64_t pci_fn_bar_want(const struct pci_fn *fn, unsigned bar, uint64_t lo,
			 uint64_t hi)
{
	const struct pci_bar *b = &fn->pf_bar[bar];
	uint64_t base;
	uint16_t cmd;

	memcpy(&cmd, &fn->pf_cfg[REG_CMD], 2);
	if (b->pb_size == 0 || !(cmd & PCI_CMD_MEMORY))
		return 0;
	base = b->pb_reg & ~(uint64_t)(b->pb_size - 1);
	/* Not at 0, not while sized, not outside the window. */
	if (base < lo || base + b->pb_size > hi)
		return 0;
	return base;
}

int pci_fn_mmio(struct pci_fn *fn, uint64_t gpa, bool write, uint8_t *data,
		unsigned len)
{
	for (unsigned i = 0; i < PCI_FN_BARS; i++) {
		const struct pci_bar *b = &fn->pf_bar[i];

		if (b->pb_live == 0 || gpa < b->pb_live ||
		    gpa - b->pb_live >= b->pb_size)
			continue;
		if (gpa - b->pb_live + len > b->pb_size) { /* straddles */
			if (!write)
				memset(data, 0xff, len);
			return 1;
		}
		if (fn->pf_ops == NULL || fn->pf_ops->fo_mmio == NULL) {
			if (!write)
				memset(data, 0xff, len);
			return 1;
		}
		int r = fn->pf_ops->fo_mmio(fn->pf_arg, i, gpa - b->pb_live,
					    write, data, len);
		return r < 0 ? r : 1;
	}
	return 0;
}

void pci_fn_db_proto(Kvmmu__Doorbell *db, uint64_t gpa)
{
	kvmmu__doorbell__init(db);
	db->has_addr = db->has_len = 1;
	db->addr = gpa;
	db->len = 0; /* a write of any width: drivers differ */
}

static int db_assign(struct pci_fn *fn, struct pci_doorbell *d)
{
	uint64_t at = fn->pf_bar[d->dbl_bar].pb_live + d->dbl_off;
	Kvmmu__Doorbell db;
	int r;

	if (fn->pf_map == NULL || fn->pf_map->vm_ioeventfd == NULL)
		return -ENOSYS;
	pci_fn_db_proto(&db, at);
	r = fn->pf_map->vm_ioeventfd(fn->pf_map->vm_arg, &db, d->dbl_fd, false);
	if (r == 0)
		d->dbl_at = at;
	return r;
}

int pci_fn_db_add(struct pci_fn *fn, unsigned bar, uint32_t off, int fd)
{
	if (bar >= PCI_FN_BARS || fn->pf_bar[bar].pb_size == 0 ||
	    off >= fn->pf_bar[bar].pb_size || fd < 0)
		return -EINVAL;
	for (int i = 0; i < PCI_FN_DOORBELLS; i++) {
		struct pci_doorbell *d = &fn->pf_db[i];
		int r = 0;

		if (d->dbl_used)
			continue;
		*d = (struct pci_doorbell){true, bar, off, fd, 0};
		if (fn->pf_bar[bar].pb_live != 0)
			r = db_assign(fn, d);
		if (r < 0) {
			*d = (struct pci_doorbell){.dbl_fd = -1};
			return r;
		}
		return i;
	}
	return -ENOSPC;
}

int pci_fn_db_del(struct pci_fn *fn, int id)
{
	struct pci_doorbell *d;
	Kvmmu__Doorbell db;
	int r = 0;

	if (id < 0 || id >= PCI_FN_DOORBELLS || !fn->pf_db[id].dbl_used)
		return -EINVAL;
	d = &fn->pf_db[id];
	if (d->dbl_at != 0) {
		pci_fn_db_proto(&db, d->dbl_at);
		r = fn->pf_map->vm_ioeventfd(fn->pf_map->vm_arg, &db, -1, true);
	}
	*d = (struct pci_doorbell){.dbl_fd = -1};
	return r;
}

int pci_fn_db_sync(struct pci_fn *fn)
{
	for (unsigned i = 0; i < PCI_FN_DOORBELLS; i++) {
		struct pci_doorbell *d = &fn->pf_db[i];
		int r;

		if (!d->dbl_used || d->dbl_at != 0 ||
		    fn->pf_bar[d->dbl_bar].pb_live == 0)
			continue;
		r = db_assign(fn, d);
		if (r < 0)
			return r;
	}
	return 0;
}
