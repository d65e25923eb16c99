/*
 * pcifn.h: a PCI function a device model is built on: 256 bytes of
 * configuration space with a write mask per byte (QEMU's and kvmtool's
 * way), 32-bit memory BARs that the guest sizes and moves, a capability
 * list, and doorbells: eventfds KVM signals on a guest write at an offset
 * of a BAR, which move with their BAR.  The machine (pci.c, machine.c)
 * puts functions on bus 0 after its RAM controllers, sends their live
 * BARs as MMIO regions of the PCI window, and moves or drops their
 * doorbells in the same Transaction when a BAR moves or stops decoding.
 * Trust: unprivileged; the guest picks registers, values and addresses.
 */
#ifndef KVMMU_PCIFN_H
#define KVMMU_PCIFN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmmap.h"

#define PCI_FN_BARS	 6
#define PCI_FN_DOORBELLS 16
#define PCI_CMD_MEMORY	 0x0002
#define PCI_CMD_MASTER	 0x0004
#define PCI_CMD_INTX_OFF 0x0400
#define PCI_CAP_MSIX	 0x11
#define PCI_CAP_VENDOR	 0x09

struct pci_fn_ops {
	/* An access to [off, off + len) of BAR bar.  0, or -errno to stop. */
	int (*fo_mmio)(void *arg, unsigned bar, uint64_t off, bool write,
		       uint8_t *data, unsigned len);
	/* The guest wrote config bytes [off, off + len) (stored already). */
	int (*fo_cfg_write)(void *arg, unsigned off, unsigned len);
};

struct pci_bar {
	uint32_t pb_size; /* a power of two, at least 4 KiB; 0: no BAR */
	uint32_t pb_reg;  /* the address bits as written (sizing: ones) */
	uint64_t pb_live; /* where the server's map has it; 0: nowhere */
};

/* A doorbell at offset dbl_off of BAR dbl_bar (len 0: any width). */
struct pci_doorbell {
	bool dbl_used;
	unsigned dbl_bar;
	uint32_t dbl_off;
	int dbl_fd;	 /* the device's eventfd (not ours to close) */
	uint64_t dbl_at; /* where KVM has it now; 0: not assigned */
};

struct pci_fn {
	const char *pf_name;
	uint8_t pf_cfg[256];
	uint8_t pf_wmask[256]; /* bits the guest may write */
	struct pci_bar pf_bar[PCI_FN_BARS];
	unsigned pf_cap_end;  /* where the next capability goes */
	unsigned pf_cap_link; /* the last capability's next pointer */
	const struct pci_fn_ops *pf_ops;
	void *pf_arg;
	const struct vmmap *pf_map; /* the machine's, once added (pci.c) */
	struct pci_doorbell pf_db[PCI_FN_DOORBELLS];
};

/* A function with its identity; no BARs, no capabilities yet. */
void pci_fn_init(struct pci_fn *fn, const char *name, uint16_t vendor,
		 uint16_t device, uint32_t class_rev, uint16_t subsystem,
		 const struct pci_fn_ops *ops, void *arg);
/* A 32-bit non-prefetchable memory BAR of size bytes.  0 or -EINVAL. */
int pci_fn_bar(struct pci_fn *fn, unsigned bar, uint32_t size);
/*
 * Appends a capability: id, then body (len bytes after the id and next
 * bytes), linked into the list.  Returns its config offset or -ENOSPC.
 */
int pci_fn_cap(struct pci_fn *fn, uint8_t id, const void *body, unsigned len);
/* The dword at reg (4-aligned) as the guest reads it. */
uint32_t pci_fn_read(const struct pci_fn *fn, unsigned reg);
/*
 * Writes the bytes of v that mask selects into the dword at reg.  Sets
 * *map when a BAR or the memory decode changed, *now when decode came
 * on (the machine then commits its map).  0 or the device's -errno.
 */
int pci_fn_write(struct pci_fn *fn, unsigned reg, uint32_t v, uint32_t mask,
		 bool *map, bool *now);
/* Where BAR bar decodes by its config now, inside [lo, hi); 0: not. */
uint64_t pci_fn_bar_want(const struct pci_fn *fn, unsigned bar, uint64_t lo,
			 uint64_t hi);
/* An MMIO access at gpa, if a live BAR holds it: 1 taken, 0 not ours. */
int pci_fn_mmio(struct pci_fn *fn, uint64_t gpa, bool write, uint8_t *data,
		unsigned len);

/*
 * A doorbell at off of BAR bar signalling fd: assigned in KVM at once if
 * the BAR is live, else when it comes to decode (pci_fn_db_sync).
 * Returns its id (>= 0) or -errno.  pci_fn_db_del deassigns and forgets.
 */
int pci_fn_db_add(struct pci_fn *fn, unsigned bar, uint32_t off, int fd);
int pci_fn_db_del(struct pci_fn *fn, int id);
/* Assigns every doorbell of a live BAR that KVM does not have yet. */
int pci_fn_db_sync(struct pci_fn *fn);
/* The doorbell KVM knows at gpa (len 0, no datamatch). */
void pci_fn_db_proto(Kvmmu__Doorbell *db, uint64_t gpa);

#endif
