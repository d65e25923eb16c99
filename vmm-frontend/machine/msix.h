/*
 * msix.h: MSI-X for a PCI function (pcifn.h): the capability, the vector
 * table and the pending-bit array in one of its BARs.  A vector a device
 * wants delivered without the frontend (a vhost-user ring's call fd)
 * gets an MSI route in KVM's GSI routing table and an irqfd on it
 * (msix_irqfd); from then on, each time the guest programs the vector's
 * message the route follows (MsiRoute), and each time it masks or
 * unmasks the vector, the function or MSI-X as a whole, KVM stops or
 * starts listening to the irqfd (MaskIrqfd: signals meanwhile wait in
 * the eventfd).  A route is made with the vector's message when it is
 * valid, else with a placeholder and masked until it is.
 * Trust: unprivileged; table writes come from the guest.
 */
#ifndef KVMMU_MSIX_H
#define KVMMU_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "pcifn.h"

#define MSIX_MAX_VECTORS 32

struct msix_vec {
	uint32_t mv_lo, mv_hi, mv_data, mv_ctrl; /* the table entry */
	int mv_gsi;	  /* its MSI route; -1: none yet */
	int mv_irqfd;	  /* the irqfd on it (ours); -1: none */
	uint32_t mv_lo_k; /* the message KVM's route has */
	uint32_t mv_data_k;
	bool mv_masked_k; /* what KVM was last told */
	bool mv_held;	  /* masked by the device itself (msix_hold) */
};

struct msix {
	struct pci_fn *mx_fn;
	unsigned mx_n;	 /* vectors */
	unsigned mx_cap; /* the capability's config offset */
	unsigned mx_bar;
	uint32_t mx_table, mx_pba; /* their offsets in the BAR */
	struct msix_vec mx_v[MSIX_MAX_VECTORS];
};

/*
 * Adds the capability to fn: n vectors, the table at table and the PBA
 * at pba of BAR bar (both in it, 8-aligned).  0 or -errno.
 */
int msix_init(struct msix *mx, struct pci_fn *fn, unsigned n, unsigned bar,
	      uint32_t table, uint32_t pba);
/* Closes the irqfds (the server drops the routes with the VM). */
void msix_free(struct msix *mx);
/*
 * An access at off of the capability's BAR: 1 when the table or the PBA
 * took it, 0 when off is elsewhere, -errno when the server refused a
 * route change (the run must stop).
 */
int msix_mmio(struct msix *mx, uint64_t off, bool write, uint8_t *data,
	      unsigned len);
/* The guest wrote config bytes [off, off + len): enable, function mask. */
int msix_cfg_write(struct msix *mx, unsigned off, unsigned len);
/*
 * Vector v's irqfd, made (route and irqfd) on first use; *fd stays ours.
 * 0, -EINVAL (no such vector), or the server's -errno.
 */
int msix_irqfd(struct msix *mx, unsigned v, int *fd);
/*
 * The device holds vector v masked in KVM whatever the guest says
 * (hold), or lets the guest's mask rule again: a vhost-user back end
 * signals its new call eventfd once at SET_VRING_CALL, which the device
 * drains while held.  0, -EINVAL, or the server's -errno.
 */
int msix_hold(struct msix *mx, unsigned v, bool hold);
/* Whether KVM delivers vector v now (enabled, unmasked, valid). */
bool msix_vector_live(const struct msix *mx, unsigned v);

#endif
