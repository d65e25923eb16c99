/*
 * doorbell.c: a VM's doorbells (doorbell.h): KVM_IOEVENTFD through
 * kvm.c, and the checks before it, so that KVM never refuses what the
 * server let through and no doorbell ever sits in guest memory.
 * Trust: privileged; doorbells come from validated requests, their
 * eventfds from the frontend (let go of through release.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doorbell.h"
#include "kvm.h"
#include "log.h"
#include "release.h"

bool doorbell_collides(const struct doorbell *a, const struct doorbell *b)
{
	/* virt/kvm/eventfd.c, ioeventfd_check_collision */
	if (a->db_pio != b->db_pio || a->db_addr != b->db_addr)
		return false;
	if (a->db_len == 0 || b->db_len == 0)
		return true;
	return a->db_len == b->db_len &&
	       (!a->db_match || !b->db_match || a->db_data == b->db_data);
}

static bool doorbell_same(const struct doorbell *a, const struct doorbell *b)
{
	return a->db_pio == b->db_pio && a->db_addr == b->db_addr &&
	       a->db_len == b->db_len && a->db_match == b->db_match &&
	       (!a->db_match || a->db_data == b->db_data);
}

int doorbell_find(const struct doorbells *s, const struct doorbell *k)
{
	for (size_t i = 0; i < s->ds_n; i++) {
		if (doorbell_same(&s->ds_v[i], k))
			return (int)i;
	}
	return -1;
}

const char *doorbell_name(const struct doorbell *d, char *buf, size_t len)
{
	if (d->db_match)
		snprintf(buf, len, "%s 0x%llx len %u datamatch 0x%llx",
			 d->db_pio ? "port" : "MMIO",
			 (unsigned long long)d->db_addr, d->db_len,
			 (unsigned long long)d->db_data);
	else
		snprintf(buf, len, "%s 0x%llx len %u",
			 d->db_pio ? "port" : "MMIO",
			 (unsigned long long)d->db_addr, d->db_len);
	return buf;
}

static const char *region_kind_name(enum region_kind k)
{
	return k == RK_RAM ? "RAM" : k == RK_ROM ? "ROM" : "all-ones";
}

/* Whether r is a region a doorbell at [addr, +len) may not lie in. */
static bool doorbell_blocked_by(const struct doorbell *d, uint64_t addr,
				const struct region *r)
{
	uint64_t len = d->db_len ? d->db_len : 1;

	return !d->db_pio && r->r_kind != RK_MMIO &&
	       addr < r->r_gpa + r->r_size && r->r_gpa < addr + len;
}

static int doorbell_in_region(const struct doorbell *d, uint64_t addr,
			      const struct region *r, const char *src,
			      struct verr *e)
{
	char n[96];
	struct doorbell at = *d;

	at.db_addr = addr;
	return verr_set(e, EEXIST,
			"%s: doorbell %s would lie in %s region '%s' at "
			"[0x%llx, 0x%llx): a doorbell lives in a hole or an "
			"MMIO region (move or remove it in the same "
			"Transaction)",
			src, doorbell_name(&at, n, sizeof(n)),
			region_kind_name(r->r_kind), r->r_name,
			(unsigned long long)r->r_gpa,
			(unsigned long long)(r->r_gpa + r->r_size));
}

int doorbells_check_new(const struct doorbells *s, const struct memmap *mm,
			const struct doorbell *d, struct verr *e)
{
	char n[96];

	for (size_t i = 0; i < mm->mm_n; i++) {
		if (doorbell_blocked_by(d, d->db_addr, &mm->mm_regions[i]))
			return doorbell_in_region(d, d->db_addr,
						  &mm->mm_regions[i],
						  "Ioeventfd", e);
	}
	for (size_t i = 0; i < s->ds_n; i++) {
		if (doorbell_collides(d, &s->ds_v[i]))
			return verr_set(
				e, EEXIST,
				"Ioeventfd: collides with doorbell %s "
				"(same address: give both a length "
				"and different datamatch values)",
				doorbell_name(&s->ds_v[i], n, sizeof(n)));
	}
	return 0;
}

/* Each change names a doorbell there is, and no doorbell twice. */
static int plan_resolve(const struct doorbells *s, struct db_change *c,
			size_t n, const char *src, struct verr *e)
{
	char nm[96];

	for (size_t i = 0; i < n; i++) {
		c[i].dc_idx = doorbell_find(s, &c[i].dc_key);
		c[i].dc_off = c[i].dc_on = false;
		if (c[i].dc_idx < 0)
			return verr_set(
				e, ENOENT, "%s.doorbells[%zu]: no doorbell %s",
				src, i,
				doorbell_name(&c[i].dc_key, nm, sizeof(nm)));
		for (size_t j = 0; j < i; j++) {
			if (c[j].dc_idx == c[i].dc_idx)
				return verr_set(e, EINVAL,
						"%s.doorbells[%zu]: doorbell "
						"%s changed twice",
						src, i,
						doorbell_name(&c[i].dc_key, nm,
							      sizeof(nm)));
		}
	}
	return 0;
}

/* Where doorbell i is after the changes; false when it goes. */
static bool plan_where(const struct doorbells *s, const struct db_change *c,
		       size_t n, size_t i, uint64_t *addr, bool *moved)
{
	*addr = s->ds_v[i].db_addr;
	*moved = false;
	for (size_t k = 0; k < n; k++) {
		if (c[k].dc_idx != (int)i)
			continue;
		*addr = c[k].dc_addr;
		*moved = true;
		return !c[k].dc_remove;
	}
	return true;
}

static bool in_window(const struct tx_plan *p, const struct region *r)
{
	return r->r_gpa >= p->tp_gpa && r->r_gpa + r->r_size <= p->tp_end;
}

/*
 * Doorbell i at addr against the map p leaves: the regions it creates
 * or keeps (every step but a delete) and, for a doorbell that moved,
 * those outside the window too (an unmoved one was checked against them).
 */
static int plan_check_map(const struct doorbells *s, const struct memmap *mm,
			  const struct tx_plan *p, size_t i, uint64_t addr,
			  bool moved, const char *src, struct verr *e)
{
	const struct doorbell *d = &s->ds_v[i];

	for (size_t k = 0; k < p->tp_n; k++) {
		const struct tx_step *st = &p->tp_steps[k];

		if (st->op != TX_DELETE &&
		    doorbell_blocked_by(d, addr, &st->new))
			return doorbell_in_region(d, addr, &st->new, src, e);
	}
	for (size_t k = 0; moved && k < mm->mm_n; k++) {
		const struct region *r = &mm->mm_regions[k];

		if (!in_window(p, r) && doorbell_blocked_by(d, addr, r))
			return doorbell_in_region(d, addr, r, src, e);
	}
	return 0;
}

/* A moved doorbell against every other that stays. */
static int plan_check_collide(const struct doorbells *s,
			      const struct db_change *c, size_t n, size_t i,
			      uint64_t addr, const char *src, struct verr *e)
{
	struct doorbell a = s->ds_v[i], b;
	char na[96], nb[96];
	bool moved;

	a.db_addr = addr;
	for (size_t j = 0; j < s->ds_n; j++) {
		if (j == i)
			continue;
		b = s->ds_v[j];
		if (!plan_where(s, c, n, j, &b.db_addr, &moved))
			continue;
		if (doorbell_collides(&a, &b))
			return verr_set(e, EEXIST,
					"%s: doorbell %s would collide with "
					"doorbell %s",
					src, doorbell_name(&a, na, sizeof(na)),
					doorbell_name(&b, nb, sizeof(nb)));
	}
	return 0;
}

int doorbells_plan(const struct doorbells *s, const struct memmap *mm,
		   const struct tx_plan *p, struct db_change *c, size_t n,
		   const char *src, struct verr *e)
{
	uint64_t addr;
	bool moved;

	if (plan_resolve(s, c, n, src, e) < 0)
		return -e->code;
	for (size_t i = 0; i < s->ds_n; i++) {
		if (!plan_where(s, c, n, i, &addr, &moved))
			continue;
		if (plan_check_map(s, mm, p, i, addr, moved, src, e) < 0)
			return -e->code;
		if (moved && plan_check_collide(s, c, n, i, addr, src, e) < 0)
			return -e->code;
	}
	return 0;
}

static int doorbell_ioctl(int vmfd, const struct doorbell *d, uint64_t addr,
			  bool deassign)
{
	struct kvm_ioeventfd io = {.datamatch = d->db_data,
				   .addr = addr,
				   .len = d->db_len,
				   .fd = d->db_fd};

	if (d->db_match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (d->db_pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (deassign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return kvm_vm_ioeventfd(vmfd, &io);
}

int doorbells_assign(struct doorbells *s, int vmfd, struct doorbell *d,
		     struct verr *e)
{
	char n[96];
	int r;

	if (s->ds_n == s->ds_cap) {
		size_t cap = s->ds_cap ? 2 * s->ds_cap : 8;
		struct doorbell *v = realloc(s->ds_v, cap * sizeof(*v));

		if (v == NULL) {
			release_fd(d->db_fd);
			return verr_set(e, ENOMEM, "Ioeventfd: out of memory");
		}
		s->ds_v = v;
		s->ds_cap = cap;
	}
	r = doorbell_ioctl(vmfd, d, d->db_addr, false);
	if (r < 0) {
		release_fd(d->db_fd);
		return verr_set(e, -r, "KVM_IOEVENTFD %s: %s",
				doorbell_name(d, n, sizeof(n)), strerror(-r));
	}
	s->ds_v[s->ds_n++] = *d;
	return 0;
}

/* Drops entry i (its fd already let go of or handed on). */
static void doorbells_drop(struct doorbells *s, size_t i)
{
	s->ds_v[i] = s->ds_v[--s->ds_n];
}

int doorbells_deassign(struct doorbells *s, int vmfd, const struct doorbell *k,
		       struct verr *e)
{
	int i = doorbell_find(s, k), r;
	char n[96];

	if (i < 0)
		return verr_set(e, ENOENT, "Ioeventfd.doorbell: no doorbell %s",
				doorbell_name(k, n, sizeof(n)));
	r = doorbell_ioctl(vmfd, &s->ds_v[i], s->ds_v[i].db_addr, true);
	if (r < 0)
		return verr_set(e, -r, "KVM_IOEVENTFD deassign %s: %s",
				doorbell_name(k, n, sizeof(n)), strerror(-r));
	release_fd(s->ds_v[i].db_fd);
	doorbells_drop(s, (size_t)i);
	return 0;
}

int doorbells_apply(struct doorbells *s, int vmfd, struct db_change *c,
		    size_t n, struct verr *e)
{
	char nm[96];
	size_t i, bad = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const struct doorbell *d = &s->ds_v[c[i].dc_idx];

		r = doorbell_ioctl(vmfd, d, d->db_addr, true);
		c[i].dc_off = r == 0;
		bad = i;
	}
	for (i = 0; i < n && r == 0; i++) {
		if (c[i].dc_remove)
			continue;
		r = doorbell_ioctl(vmfd, &s->ds_v[c[i].dc_idx], c[i].dc_addr,
				   false);
		c[i].dc_on = r == 0;
		bad = i;
	}
	if (r == 0)
		return 0;
	doorbells_undo(s, vmfd, c, n);
	return verr_set(e, -r, "doorbells[%zu]: KVM_IOEVENTFD %s: %s", bad,
			doorbell_name(&c[bad].dc_key, nm, sizeof(nm)),
			strerror(-r));
}

void doorbells_undo(struct doorbells *s, int vmfd, struct db_change *c,
		    size_t n)
{
	char nm[96];

	for (size_t i = 0; i < n; i++) {
		const struct doorbell *d = &s->ds_v[c[i].dc_idx];

		if (c[i].dc_on && doorbell_ioctl(vmfd, d, c[i].dc_addr, true))
			log_warn("doorbell %s: undoing its move failed",
				 doorbell_name(d, nm, sizeof(nm)));
		c[i].dc_on = false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct doorbell *d = &s->ds_v[c[i].dc_idx];

		if (c[i].dc_off && doorbell_ioctl(vmfd, d, d->db_addr, false))
			log_warn("doorbell %s: restoring it failed",
				 doorbell_name(d, nm, sizeof(nm)));
		c[i].dc_off = false;
	}
}

void doorbells_commit(struct doorbells *s, struct db_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct doorbell *d = &s->ds_v[c[i].dc_idx];

		d->db_addr = c[i].dc_addr;
		if (c[i].dc_remove) {
			release_fd(d->db_fd);
			d->db_fd = -1;
		}
	}
	/* Entries move as they go: compact only once indexes are unused. */
	for (size_t i = s->ds_n; i-- > 0;) {
		if (s->ds_v[i].db_fd < 0)
			doorbells_drop(s, i);
	}
}

void doorbells_free(struct doorbells *s)
{
	for (size_t i = 0; i < s->ds_n; i++)
		release_fd(s->ds_v[i].db_fd);
	free(s->ds_v);
	memset(s, 0, sizeof(*s));
}
