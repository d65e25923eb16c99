/*
 * pci.h: the boot-churn machine's PCI devices (guest/abi.h): config space
 * through ports 0xcf8/0xcfc, one 2 MiB memory BAR each, an expansion ROM
 * on device 1.  BARs are backed by device memory in the VM's memfd and
 * become regions of the PCI window when decode is on.
 * Trust: unprivileged; every guest value is checked.
 */
#ifndef KVMMU_PCI_H
#define KVMMU_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "kvmmu.pb-c.h"
#include "pcifn.h"

/* Functions (pcifn.h) after the RAM controllers: virtio devices. */
#define PCI_MAX_FNS 8

struct pci_dev {
	uint16_t pd_cmd;
	uint32_t pd_bar;     /* as last written (sizing: all ones) */
	uint32_t pd_rom;     /* expansion ROM BAR, device 1 only */
	uint64_t pd_mem_off; /* BAR backing: offset in the RAM memfd */
};

struct pci {
	unsigned p_ndevs;
	struct pci_dev p_dev[GUEST_PCI_MAX_DEVS + 1]; /* [1..ndevs] */
	uint32_t p_addr;			      /* the 0xcf8 latch */
	bool p_dirty;	   /* the window's map changed, not sent yet */
	bool p_commit_now; /* decode or ROM just turned on */
	struct pci_fn *p_fn[PCI_MAX_FNS]; /* devices ndevs + 1 + i */
	unsigned p_nfn;
};

/* Devices 1..n; BAR i is backed at mem_off + (i - 1) * BAR size. */
void pci_init(struct pci *p, unsigned n, uint64_t mem_off);
/*
 * What firmware leaves: BAR i at GUEST_PCI_MMIO_BASE + (i - 1) * BAR
 * size with memory decode on, so a kernel finds its devices placed.
 */
void pci_firmware(struct pci *p);
/* True when port belongs to config space (0xcf8..0xcff). */
bool pci_port(uint16_t port);
/* 0, or a function's -errno (its config write failed: stop the run). */
int pci_io(struct pci *p, uint16_t port, unsigned size, bool out,
	   uint8_t *data);
/*
 * Puts fn on the bus after the RAM controllers (and the functions added
 * before it), reaching its VM through map.  Its device number, or
 * -ENOSPC when bus 0 is full.
 */
int pci_add_fn(struct pci *p, struct pci_fn *fn, const struct vmmap *map);
/*
 * The PCI window's regions now: the RAM controllers' BARs with decode on
 * (RAM), then every function's decoding BAR (MMIO: it exits).
 */
size_t pci_regions(const struct pci *p, Kvmmu__Region *regs, char (*names)[16],
		   size_t max);

#define PCI_ROM_GPA_MASK 0xfffff800u

#endif
