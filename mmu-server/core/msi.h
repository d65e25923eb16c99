/*
 * msi.h: a VM's MSI routes (GSIs of MSI_GSI_BASE and up in KVM's GSI
 * routing table, beside the in-kernel irqchip's pins), the irqfds bound
 * to them, their masking, and one-off MSIs (KVM_SIGNAL_MSI).  KVM
 * replaces the whole table on each KVM_SET_GSI_ROUTING, so the table
 * kept here is the whole of it: the pins as KVM sets them up, then the
 * routes (ARCHITECTURE.md, doorbells and MSI).
 * Trust: privileged; the messages come from validated requests.
 */
#ifndef KVMMU_MSI_H
#define KVMMU_MSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verr.h"

#define MSI_GSI_BASE 24	  /* after the I/O APIC's pins (vm.h) */
#define MSI_GSI_END  4096 /* KVM_MAX_IRQ_ROUTES */

struct msi_route {
	bool mr_used;
	uint32_t mr_lo, mr_hi, mr_data; /* the MSI message */
	int mr_irqfd;			/* bound eventfd (ours), or -1 */
	bool mr_masked;			/* KVM does not listen to mr_irqfd */
};

struct msi_table {
	struct msi_route *mt_v; /* mt_v[i] is GSI MSI_GSI_BASE + i */
	size_t mt_cap;
	unsigned mt_n;	     /* routes in use */
	unsigned mt_nirqfds; /* irqfds bound to them */
};

/*
 * A route: gsi < 0 makes a new one (*out its GSI), else gsi's gets the
 * message.  KVM's table is replaced; on failure nothing changed.
 */
int msi_route_set(struct msi_table *t, int vmfd, int gsi, uint32_t lo,
		  uint32_t hi, uint32_t data, uint32_t *out, struct verr *e);
/* Route gsi goes, and its irqfd with it (-ENOENT: no such route). */
int msi_route_remove(struct msi_table *t, int vmfd, uint32_t gsi,
		     struct verr *e);
/*
 * Binds a new eventfd to route gsi; *fd gets a duplicate the caller
 * owns (and hands on).  -ENOENT: no route, -EEXIST: bound already.
 */
int msi_irqfd(struct msi_table *t, int vmfd, uint32_t gsi, int *fd,
	      struct verr *e);
/*
 * Masked: KVM stops listening to gsi's irqfd (signals stay in the
 * eventfd's counter); unmasked: it listens again, and delivers at once
 * a signal that came meanwhile.  The same state again changes nothing.
 */
int msi_mask(struct msi_table *t, int vmfd, uint32_t gsi, bool masked,
	     struct verr *e);
/* KVM_SIGNAL_MSI: 1 delivered, 0 the guest's APIC blocked it, or -code. */
int msi_signal(int vmfd, uint32_t lo, uint32_t hi, uint32_t data,
	       struct verr *e);
/* Closes every irqfd the table holds and frees it. */
void msi_free(struct msi_table *t);

#endif
