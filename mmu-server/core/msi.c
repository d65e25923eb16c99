/*
 * msi.c: a VM's MSI routes, their irqfds and one-off MSIs (msi.h), all
 * through kvm.c.  Masking unbinds the irqfd rather than changing the
 * route: KVM has no masked route, and an eventfd that nobody reads keeps
 * its count, which is exactly an MSI-X pending bit.
 * Trust: privileged; the messages come from validated requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"
#include "msi.h"

#define PIN_GSIS   24 /* the I/O APIC's pins */
#define PIC_GSIS   16 /* of which the PICs' lines too */
#define PIN_ROUTES (PIN_GSIS + PIC_GSIS)

static void route_pin(struct kvm_irq_routing_entry *x, uint32_t gsi,
		      uint32_t chip, uint32_t pin)
{
	memset(x, 0, sizeof(*x));
	x->gsi = gsi;
	x->type = KVM_IRQ_ROUTING_IRQCHIP;
	x->u.irqchip.irqchip = chip;
	x->u.irqchip.pin = pin;
}

/*
 * The pins as KVM's default table has them (arch/x86/kvm/irq_comm.c,
 * default_routing): GSI i to I/O APIC pin i, and for i < 16 to line i % 8
 * of the master or slave PIC; then every route.
 */
static int msi_commit(const struct msi_table *t, int vmfd)
{
	struct kvm_irq_routing *rt;
	struct kvm_irq_routing_entry *x;
	size_t n = 0;
	int r;

	rt = calloc(1, sizeof(*rt) + (PIN_ROUTES + t->mt_n) * sizeof(*x));
	if (rt == NULL)
		return -ENOMEM;
	x = rt->entries;
	for (uint32_t i = 0; i < PIN_GSIS; i++) {
		route_pin(&x[n++], i, KVM_IRQCHIP_IOAPIC, i);
		if (i < PIC_GSIS)
			route_pin(&x[n++], i,
				  i < 8 ? KVM_IRQCHIP_PIC_MASTER
					: KVM_IRQCHIP_PIC_SLAVE,
				  i % 8);
	}
	for (size_t i = 0; i < t->mt_cap; i++) {
		const struct msi_route *m = &t->mt_v[i];

		if (!m->mr_used)
			continue;
		x[n].gsi = MSI_GSI_BASE + (uint32_t)i;
		x[n].type = KVM_IRQ_ROUTING_MSI;
		x[n].u.msi.address_lo = m->mr_lo;
		x[n].u.msi.address_hi = m->mr_hi;
		x[n].u.msi.data = m->mr_data;
		n++;
	}
	rt->nr = (uint32_t)n;
	r = kvm_vm_set_gsi_routing(vmfd, rt);
	free(rt);
	return r;
}

/* A free entry (the table grows), or -1 when every GSI is taken. */
static int msi_slot(struct msi_table *t)
{
	size_t cap, first = t->mt_cap;
	struct msi_route *v;

	for (size_t i = 0; i < t->mt_cap; i++) {
		if (!t->mt_v[i].mr_used)
			return (int)i;
	}
	cap = t->mt_cap ? 2 * t->mt_cap : 16;
	if (cap > MSI_GSI_END - MSI_GSI_BASE)
		cap = MSI_GSI_END - MSI_GSI_BASE;
	if (cap <= t->mt_cap)
		return -1;
	v = realloc(t->mt_v, cap * sizeof(*v));
	if (v == NULL)
		return -1;
	memset(&v[t->mt_cap], 0, (cap - t->mt_cap) * sizeof(*v));
	for (size_t i = t->mt_cap; i < cap; i++)
		v[i].mr_irqfd = -1;
	t->mt_v = v;
	t->mt_cap = cap;
	return (int)first;
}

/* The route of gsi, or NULL with e set. */
static struct msi_route *msi_find(struct msi_table *t, uint32_t gsi,
				  const char *field, struct verr *e)
{
	if (gsi >= MSI_GSI_BASE && gsi - MSI_GSI_BASE < t->mt_cap &&
	    t->mt_v[gsi - MSI_GSI_BASE].mr_used)
		return &t->mt_v[gsi - MSI_GSI_BASE];
	verr_set(e, ENOENT, "%s: %u is not an MSI route of this VM", field,
		 gsi);
	return NULL;
}

int msi_route_set(struct msi_table *t, int vmfd, int gsi, uint32_t lo,
		  uint32_t hi, uint32_t data, uint32_t *out, struct verr *e)
{
	struct msi_route *m, old;
	int i, r;

	if (gsi < 0) {
		i = msi_slot(t);
		if (i < 0)
			return verr_set(e, ENOSPC,
					"MsiRoute: every GSI up to %d is taken "
					"(or out of memory)",
					MSI_GSI_END - 1);
		gsi = MSI_GSI_BASE + i;
		m = &t->mt_v[i];
	} else if ((m = msi_find(t, (uint32_t)gsi, "MsiRoute.gsi", e)) ==
		   NULL) {
		return -e->code;
	}
	old = *m;
	if (!m->mr_used)
		t->mt_n++;
	m->mr_used = true;
	m->mr_lo = lo;
	m->mr_hi = hi;
	m->mr_data = data;
	r = msi_commit(t, vmfd);
	if (r < 0) {
		if (!old.mr_used)
			t->mt_n--;
		*m = old;
		return verr_set(e, -r, "KVM_SET_GSI_ROUTING (GSI %d): %s", gsi,
				strerror(-r));
	}
	*out = (uint32_t)gsi;
	return 0;
}

/* Unbinds and closes m's irqfd. */
static void msi_irqfd_drop(struct msi_table *t, int vmfd, struct msi_route *m,
			   uint32_t gsi)
{
	int r;

	if (m->mr_irqfd < 0)
		return;
	if (!m->mr_masked &&
	    (r = kvm_vm_irqfd_deassign(vmfd, m->mr_irqfd, gsi)) < 0)
		log_warn("KVM_IRQFD deassign GSI %u: %s", gsi, strerror(-r));
	close(m->mr_irqfd); /* ours: an eventfd's close never blocks */
	m->mr_irqfd = -1;
	m->mr_masked = false;
	t->mt_nirqfds--;
}

int msi_route_remove(struct msi_table *t, int vmfd, uint32_t gsi,
		     struct verr *e)
{
	struct msi_route *m = msi_find(t, gsi, "MsiRoute.gsi", e);
	int r;

	if (m == NULL)
		return -e->code;
	m->mr_used = false;
	t->mt_n--;
	r = msi_commit(t, vmfd);
	if (r < 0) {
		m->mr_used = true;
		t->mt_n++;
		return verr_set(e, -r,
				"KVM_SET_GSI_ROUTING (without GSI %u): %s", gsi,
				strerror(-r));
	}
	msi_irqfd_drop(t, vmfd, m, gsi);
	return 0;
}

int msi_irqfd(struct msi_table *t, int vmfd, uint32_t gsi, int *fd,
	      struct verr *e)
{
	struct msi_route *m = msi_find(t, gsi, "Irqfd.gsi", e);
	int efd, r;

	*fd = -1;
	if (m == NULL)
		return -e->code;
	if (m->mr_irqfd >= 0)
		return verr_set(e, EEXIST, "Irqfd.gsi: %u is bound already",
				gsi);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return verr_set(e, errno, "Irqfd: eventfd: %s",
				strerror(errno));
	*fd = fcntl(efd, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0) {
		r = verr_set(e, errno, "Irqfd: dup: %s", strerror(errno));
		close(efd);
		return r;
	}
	r = kvm_vm_irqfd(vmfd, efd, gsi, -1);
	if (r < 0) {
		close(efd);
		close(*fd);
		*fd = -1;
		return verr_set(e, -r, "KVM_IRQFD GSI %u: %s", gsi,
				strerror(-r));
	}
	m->mr_irqfd = efd;
	m->mr_masked = false;
	t->mt_nirqfds++;
	return 0;
}

int msi_mask(struct msi_table *t, int vmfd, uint32_t gsi, bool masked,
	     struct verr *e)
{
	struct msi_route *m = msi_find(t, gsi, "MaskIrqfd.gsi", e);
	int r;

	if (m == NULL)
		return -e->code;
	if (m->mr_irqfd < 0)
		return verr_set(e, ENOENT,
				"MaskIrqfd.gsi: route %u has no irqfd", gsi);
	if (m->mr_masked == masked)
		return 0;
	r = masked ? kvm_vm_irqfd_deassign(vmfd, m->mr_irqfd, gsi)
		   : kvm_vm_irqfd(vmfd, m->mr_irqfd, gsi, -1);
	if (r < 0)
		return verr_set(e, -r, "KVM_IRQFD %s GSI %u: %s",
				masked ? "deassign" : "assign", gsi,
				strerror(-r));
	m->mr_masked = masked;
	return 0;
}

int msi_signal(int vmfd, uint32_t lo, uint32_t hi, uint32_t data,
	       struct verr *e)
{
	struct kvm_msi msi = {.address_lo = lo, .address_hi = hi, .data = data};
	int r = kvm_vm_signal_msi(vmfd, &msi);

	if (r < 0)
		return verr_set(e, -r, "KVM_SIGNAL_MSI: %s", strerror(-r));
	return r > 0;
}

void msi_free(struct msi_table *t)
{
	for (size_t i = 0; i < t->mt_cap; i++) {
		if (t->mt_v[i].mr_irqfd >= 0)
			close(t->mt_v[i].mr_irqfd);
	}
	free(t->mt_v);
	memset(t, 0, sizeof(*t));
}
