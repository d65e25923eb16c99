/*
 * machine.c: the boot-churn machine's memory map and chipset ports.
 *
 * When map changes reach the server: PCI writes only mark the PCI window
 * dirty; the window is sent as one transaction when a device turns decode
 * (or its ROM) on, and before any exit that is not a config-space access
 * is served.  So a BAR-sizing cycle (decode off, write all ones, read the
 * mask, restore, decode on) reaches the server as one transaction that
 * nets to nothing, and a BAR move as one MOVE.  A guest touching a BAR
 * while its decode is off (which firmware does not do) would still see
 * the old mapping until then.  --pci-commit eager instead sends every
 * map-affecting write at once, as QEMU does, for comparison.
 * Trust: unprivileged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "abi.h"
#include "machine.h"

#define PCI_WIN_GPA  GUEST_PCI_MMIO_BASE
#define PCI_WIN_SIZE MACHINE_PCI_WINDOW
#define ROM_GPA	     (GUEST_PCI_MMIO_BASE + PCI_WIN_SIZE)

#define MACHINE_RESET_CPU 0x04

uint64_t machine_extra_bytes(const struct machine *m)
{
	if (!m->m_pc)
		return 0;
	return m->m_pci.p_ndevs * GUEST_PCI_BAR_SIZE + GUEST_VGA_SIZE;
}

/*
 * Device 1's option ROM: the domain's image (zero-filled to the BAR's
 * size), or 0x55 0xaa then a recognisable fill.
 */
static int machine_rom(struct machine *m, const void *rom, size_t rom_len)
{
	uint8_t *p;

	m->m_rom_fd =
		memfd_create("kvmmu-optrom", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->m_rom_fd < 0 ||
	    ftruncate(m->m_rom_fd, (off_t)GUEST_PCI_ROM_SIZE) < 0)
		return -errno;
	p = mmap(NULL, GUEST_PCI_ROM_SIZE, PROT_WRITE, MAP_SHARED, m->m_rom_fd,
		 0);
	if (p == MAP_FAILED)
		return -errno;
	if (rom != NULL && rom_len <= GUEST_PCI_ROM_SIZE) {
		memcpy(p, rom, rom_len); /* a new memfd reads as zeros */
	} else {
		for (uint64_t i = 0; i < GUEST_PCI_ROM_SIZE; i++)
			p[i] = (uint8_t)(i * 7);
		p[0] = 0x55;
		p[1] = 0xaa;
	}
	munmap(p, GUEST_PCI_ROM_SIZE);
	return 0;
}

int machine_init(struct machine *m, bool pc, bool eager, unsigned ndevs,
		 uint64_t ram, const void *rom, size_t rom_len,
		 const struct vmmap *map)
{
	memset(m, 0, sizeof(*m));
	m->m_map = map;
	m->m_pc = pc;
	m->m_eager = eager;
	m->m_ram = ram;
	m->m_rom_fd = -1;
	if (!pc)
		return 0;
	pci_init(&m->m_pci, ndevs, ram);
	m->m_vga_off = ram + ndevs * GUEST_PCI_BAR_SIZE;
	return machine_rom(m, rom, rom_len);
}

void machine_firmware(struct machine *m)
{
	if (m->m_pc)
		pci_firmware(&m->m_pci);
}

void machine_free(struct machine *m)
{
	if (m->m_rom_fd >= 0)
		close(m->m_rom_fd);
	m->m_rom_fd = -1;
}

static Kvmmu__Region *region_new(int kind, uint64_t gpa, uint64_t size,
				 uint64_t off, const char *name)
{
	Kvmmu__Region *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	kvmmu__region__init(r);
	r->has_kind = r->has_gpa = r->has_size = 1;
	r->kind = (Kvmmu__RegionKind)kind;
	r->gpa = gpa;
	r->size = size;
	r->has_offset = kind == KVMMU__REGION_KIND__REGION_RAM;
	r->offset = off;
	r->name = (char *)name;
	return r;
}

Kvmmu__Region **machine_map(const struct machine *m, size_t *n)
{
	Kvmmu__Region **map = calloc(3, sizeof(*map));
	const uint64_t vga_end = GUEST_VGA_GPA + GUEST_VGA_SIZE;

	*n = 0;
	if (map == NULL)
		return NULL;
	if (!m->m_pc) {
		map[(*n)++] = region_new(KVMMU__REGION_KIND__REGION_RAM, 0,
					 m->m_ram, 0, "ram");
	} else {
		/* RAM around the legacy VGA window, which starts off. */
		map[(*n)++] = region_new(KVMMU__REGION_KIND__REGION_RAM, 0,
					 GUEST_VGA_GPA, 0, "ram-low");
		map[(*n)++] = region_new(KVMMU__REGION_KIND__REGION_ALLONES,
					 GUEST_VGA_GPA, GUEST_VGA_SIZE, 0,
					 "vga-hole");
		map[(*n)++] =
			region_new(KVMMU__REGION_KIND__REGION_RAM, vga_end,
				   m->m_ram - vga_end, vga_end, "ram-high");
	}
	for (size_t i = 0; i < *n; i++) {
		if (map[i] == NULL) {
			machine_map_free(map, *n);
			return NULL;
		}
	}
	return map;
}

void machine_map_free(Kvmmu__Region **map, size_t n)
{
	for (size_t i = 0; map && i < n; i++)
		free(map[i]);
	free(map);
}

static int machine_fail(struct machine *m, const char *what)
{
	fprintf(stderr, "vmm-frontend: %s: %s\n", what,
		m->m_map->vm_error(m->m_map->vm_arg));
	return -1;
}

/* The VGA window: video memory (a memslot) or an all-ones hole. */
static int machine_vga(struct machine *m, bool on)
{
	Kvmmu__Region *r;
	int ret;

	if (on == m->m_vga_on)
		return 0;
	r = on ? region_new(KVMMU__REGION_KIND__REGION_RAM, GUEST_VGA_GPA,
			    GUEST_VGA_SIZE, m->m_vga_off, "vga")
	       : region_new(KVMMU__REGION_KIND__REGION_ALLONES, GUEST_VGA_GPA,
			    GUEST_VGA_SIZE, 0, "vga-hole");
	if (r == NULL)
		return -ENOMEM;
	ret = m->m_map->vm_transaction(m->m_map->vm_arg, GUEST_VGA_GPA,
				       GUEST_VGA_SIZE, &r, 1);
	free(r);
	if (ret < 0)
		return machine_fail(m, "Transaction (VGA window)");
	m->m_vga_on = on;
	return 0;
}

/* Device 1's ROM BAR maps a read-only region outside the PCI window. */
static int machine_rom_sync(struct machine *m)
{
	const struct pci_dev *d = &m->m_pci.p_dev[1];
	uint64_t want = 0;

	if ((d->pd_rom & 1) && (d->pd_cmd & 2) &&
	    (d->pd_rom & PCI_ROM_GPA_MASK) == ROM_GPA)
		want = ROM_GPA;
	if (want == m->m_rom_gpa)
		return 0;
	if (m->m_rom_gpa != 0 &&
	    m->m_map->vm_unmap(m->m_map->vm_arg, m->m_rom_gpa) < 0)
		return machine_fail(m, "UnmapRegion (option ROM)");
	m->m_rom_gpa = 0;
	if (want != 0 &&
	    m->m_map->vm_map_rom(m->m_map->vm_arg, want, GUEST_PCI_ROM_SIZE,
				 m->m_rom_fd, "optrom") < 0)
		return machine_fail(m, "MapRegion (option ROM)");
	m->m_rom_gpa = want;
	return 0;
}

/* Room for the RAM controllers' BARs and every function's. */
#define WIN_REGIONS (GUEST_PCI_MAX_DEVS + PCI_MAX_FNS * PCI_FN_BARS)

/*
 * The doorbells of the functions' BARs that KVM has where the BAR is no
 * longer wanted: each moves with its BAR, or goes when the BAR stops
 * decoding, in the window's Transaction.  dbs[] point into store.
 */
static size_t machine_db_changes(const struct machine *m,
				 Kvmmu__DoorbellChange *store,
				 Kvmmu__Doorbell *dbs,
				 Kvmmu__DoorbellChange **ptrs, size_t max)
{
	const struct pci *p = &m->m_pci;
	size_t n = 0;

	for (unsigned i = 0; i < p->p_nfn; i++) {
		const struct pci_fn *fn = p->p_fn[i];

		for (unsigned k = 0; k < PCI_FN_DOORBELLS && n < max; k++) {
			const struct pci_doorbell *d = &fn->pf_db[k];
			uint64_t want, to;

			if (!d->dbl_used || d->dbl_at == 0)
				continue;
			want = pci_fn_bar_want(fn, d->dbl_bar, PCI_WIN_GPA,
					       PCI_WIN_GPA + PCI_WIN_SIZE);
			to = want ? want + d->dbl_off : 0;
			if (to == d->dbl_at)
				continue;
			kvmmu__doorbell_change__init(&store[n]);
			pci_fn_db_proto(&dbs[n], d->dbl_at);
			store[n].doorbell = &dbs[n];
			store[n].has_new_addr = to != 0;
			store[n].new_addr = to;
			ptrs[n] = &store[n];
			n++;
		}
	}
	return n;
}

/* After the window's commit: each BAR where it decodes, its doorbells. */
static int machine_fns_committed(struct machine *m)
{
	struct pci *p = &m->m_pci;

	for (unsigned i = 0; i < p->p_nfn; i++) {
		struct pci_fn *fn = p->p_fn[i];

		for (unsigned b = 0; b < PCI_FN_BARS; b++)
			fn->pf_bar[b].pb_live = pci_fn_bar_want(
				fn, b, PCI_WIN_GPA, PCI_WIN_GPA + PCI_WIN_SIZE);
		for (unsigned k = 0; k < PCI_FN_DOORBELLS; k++) {
			struct pci_doorbell *d = &fn->pf_db[k];
			uint64_t live = fn->pf_bar[d->dbl_bar].pb_live;

			if (d->dbl_used && d->dbl_at != 0)
				d->dbl_at = live ? live + d->dbl_off : 0;
		}
		if (pci_fn_db_sync(fn) < 0)
			return machine_fail(m, "Ioeventfd (a BAR's doorbell)");
	}
	return 0;
}

int machine_flush(struct machine *m)
{
	Kvmmu__Region regs[WIN_REGIONS], *ptrs[WIN_REGIONS];
	Kvmmu__DoorbellChange dch[PCI_MAX_FNS * PCI_FN_DOORBELLS],
		*dptrs[PCI_MAX_FNS * PCI_FN_DOORBELLS];
	Kvmmu__Doorbell dbs[PCI_MAX_FNS * PCI_FN_DOORBELLS];
	char names[WIN_REGIONS][16];
	size_t n, nd;
	int r;

	if (!m->m_pc || !m->m_pci.p_dirty)
		return 0;
	n = pci_regions(&m->m_pci, regs, names, WIN_REGIONS);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &regs[i];
	nd = machine_db_changes(m, dch, dbs, dptrs,
				PCI_MAX_FNS * PCI_FN_DOORBELLS);
	if (nd == 0)
		r = m->m_map->vm_transaction(m->m_map->vm_arg, PCI_WIN_GPA,
					     PCI_WIN_SIZE, ptrs, n);
	else if (m->m_map->vm_transaction_db == NULL)
		r = -ENOSYS;
	else
		r = m->m_map->vm_transaction_db(m->m_map->vm_arg, PCI_WIN_GPA,
						PCI_WIN_SIZE, ptrs, n, dptrs,
						nd);
	if (r < 0)
		return machine_fail(m, "Transaction (PCI window)");
	m->m_commits++;
	m->m_pci.p_dirty = m->m_pci.p_commit_now = false;
	if (machine_fns_committed(m) < 0)
		return -1;
	return machine_rom_sync(m);
}

/* Remembers when each phase began and how many faults came before it. */
static void machine_phase(struct machine *m, uint32_t n)
{
	if (n == 0 || n >= MACHINE_PHASES)
		return;
	m->m_phase_s[n] = mono_ns() / 1e9;
	m->m_last_phase = n > m->m_last_phase ? n : m->m_last_phase;
	m->m_phase_pf[n] = m->m_map->vm_faults(m->m_map->vm_arg);
}

/* PCI configuration space: map changes wait for a commit point. */
static int machine_pci(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		       bool out, uint8_t *data, size_t len)
{
	struct machine *m = arg;

	(void)vcpu;
	if (len != size) { /* string I/O: config space has none */
		if (!out)
			memset(data, 0xff, len);
		return 0;
	}
	/* 0xcf9, the reset control register: bit 2 resets the machine. */
	if (port == MACHINE_RESET_PORT && size == 1) {
		if (out && (data[0] & MACHINE_RESET_CPU))
			return IO_VM_RESET;
		if (!out)
			data[0] = 0;
		return 0;
	}
	if (pci_io(&m->m_pci, port, size, out, data) < 0)
		return -1; /* a function said why */
	if (m->m_pci.p_commit_now || (m->m_eager && m->m_pci.p_dirty))
		return machine_flush(m);
	return 0;
}

static int machine_vga_port(void *arg, unsigned vcpu, uint16_t port,
			    unsigned size, bool out, uint8_t *data, size_t len)
{
	struct machine *m = arg;
	int err;

	(void)vcpu;
	(void)port;
	if (!out || size != 1 || len != 1)
		return 0;
	err = machine_flush(m);
	return err < 0 ? err : machine_vga(m, data[0] != 0);
}

static int machine_phase_port(void *arg, unsigned vcpu, uint16_t port,
			      unsigned size, bool out, uint8_t *data,
			      size_t len)
{
	struct machine *m = arg;
	uint32_t v = 0;
	int err;

	(void)vcpu;
	(void)port;
	if (!out || size != 4 || len != 4)
		return 0;
	err = machine_flush(m);
	memcpy(&v, data, 4);
	machine_phase(m, v);
	return err;
}

/*
 * The PCI window's MMIO: the function whose live BAR holds gpa; else
 * reads see all ones (a hole, or a BAR that is RAM and never exits).
 */
static int machine_window(void *arg, unsigned vcpu, uint64_t gpa, bool write,
			  uint8_t *data, unsigned len)
{
	struct machine *m = arg;

	(void)vcpu;
	for (unsigned i = 0; i < m->m_pci.p_nfn; i++) {
		int r = pci_fn_mmio(m->m_pci.p_fn[i], gpa, write, data, len);

		if (r != 0)
			return r < 0 ? r : 0;
	}
	m->m_window_stray++;
	if (!write)
		memset(data, 0xff, len);
	return 0;
}

int machine_register_mmio(struct machine *m, struct mmiobus *bus)
{
	if (!m->m_pc)
		return 0;
	return mmiobus_add(bus, PCI_WIN_GPA, PCI_WIN_SIZE, machine_window, m,
			   "pci-window");
}

int machine_register(struct machine *m, struct iobus *bus)
{
	int r;

	if (!m->m_pc)
		return 0;
	r = iobus_add(bus, GUEST_PCI_ADDR, 8, machine_pci, m, "pci-config");
	if (r == 0)
		r = iobus_add(bus, GUEST_PORT_VGA, 1, machine_vga_port, m,
			      "vga-window");
	if (r == 0)
		r = iobus_add(bus, GUEST_PORT_PHASE, 1, machine_phase_port, m,
			      "phase");
	return r;
}
