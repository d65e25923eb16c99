/*
 * memmap.c: the memory map of one VM and the checks that keep it sane:
 * regions stay inside their backing, never overlap, and fit in the slots
 * KVM offers.  Trust: inputs are untrusted; nothing here touches KVM.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"

int memmap_init(struct memmap *mm, int nr_slots)
{
	memset(mm, 0, sizeof(*mm));
	mm->mm_nr_slots = nr_slots;
	mm->mm_slot_used = calloc((size_t)nr_slots, 1);
	return mm->mm_slot_used == NULL ? -ENOMEM : 0;
}

void memmap_free(struct memmap *mm)
{
	free(mm->mm_regions);
	free(mm->mm_slot_used);
	memset(mm, 0, sizeof(*mm));
}

static const char *region_kind_name(enum region_kind k)
{
	switch (k) {
	case RK_RAM:
		return "RAM";
	case RK_ROM:
		return "ROM";
	case RK_ALLONES:
		return "all-ones";
	default:
		return "MMIO";
	}
}

static int memmap_check_overlap(const struct memmap *mm, const struct region *r,
				struct verr *e)
{
	for (size_t i = 0; i < mm->mm_n; i++) {
		const struct region *o = &mm->mm_regions[i];

		if (r->r_gpa < o->r_gpa + o->r_size &&
		    o->r_gpa < r->r_gpa + r->r_size)
			return verr_set(
				e, EEXIST,
				"Region.gpa: [0x%llx, 0x%llx) overlaps "
				"%s region '%s' at [0x%llx, 0x%llx)",
				(unsigned long long)r->r_gpa,
				(unsigned long long)(r->r_gpa + r->r_size),
				region_kind_name(o->r_kind), o->r_name,
				(unsigned long long)o->r_gpa,
				(unsigned long long)(o->r_gpa + o->r_size));
	}
	return 0;
}

/* Free slots, counted up to at most (KVM offers tens of thousands). */
static unsigned memmap_free_slots(const struct memmap *mm, unsigned at_most)
{
	unsigned n = 0;

	for (int i = 0; i < mm->mm_nr_slots && n < at_most; i++)
		n += !mm->mm_slot_used[i];
	return n;
}

/* A RAM or ROM region inside its backing (bytes); others have none. */
static int region_check_backing(const struct region *r, uint64_t backing,
				struct verr *e)
{
	if ((r->r_kind == RK_RAM || r->r_kind == RK_ROM) &&
	    r->r_offset + r->r_size > backing)
		return verr_set(e, EINVAL,
				"Region.offset: [0x%llx, +0x%llx) exceeds the "
				"%s backing of 0x%llx bytes",
				(unsigned long long)r->r_offset,
				(unsigned long long)r->r_size,
				r->r_kind == RK_RAM ? "RAM" : "ROM memfd",
				(unsigned long long)backing);
	return 0;
}

int memmap_check(const struct memmap *mm, const struct region *r,
		 uint64_t backing_bytes, struct verr *e)
{
	/* All-ones regions have no backing to exceed: quota.h bounds them. */
	if (region_check_backing(r, backing_bytes, e) < 0 ||
	    memmap_check_overlap(mm, r, e) < 0)
		return -e->code;
	if (r->r_kind != RK_MMIO && memmap_free_slots(mm, 1) == 0)
		return verr_set(e, ENOSPC, "Region: all %d memslots are in use",
				mm->mm_nr_slots);
	return 0;
}

bool memmap_allones_mmio(const struct memmap *mm, uint64_t gpa)
{
	for (size_t i = 0; i < mm->mm_n; i++) {
		const struct region *r = &mm->mm_regions[i];

		if (r->r_kind == RK_ALLONES && r->r_slot < 0 &&
		    gpa >= r->r_gpa && gpa - r->r_gpa < r->r_size)
			return true;
	}
	return false;
}

int memmap_find(const struct memmap *mm, uint64_t gpa)
{
	for (size_t i = 0; i < mm->mm_n; i++) {
		if (mm->mm_regions[i].r_gpa == gpa)
			return (int)i;
	}
	return -1;
}

int memmap_slot_alloc(struct memmap *mm)
{
	for (int i = 0; i < mm->mm_nr_slots; i++) {
		if (!mm->mm_slot_used[i]) {
			mm->mm_slot_used[i] = 1;
			return i;
		}
	}
	return -ENOSPC;
}

void memmap_slot_free(struct memmap *mm, int slot)
{
	if (slot >= 0 && slot < mm->mm_nr_slots)
		mm->mm_slot_used[slot] = 0;
}

int memmap_insert(struct memmap *mm, const struct region *r)
{
	size_t i;

	if (mm->mm_n == mm->mm_cap) {
		size_t cap = mm->mm_cap ? mm->mm_cap * 2 : 8;
		struct region *p =
			reallocarray(mm->mm_regions, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		mm->mm_regions = p;
		mm->mm_cap = cap;
	}
	for (i = 0; i < mm->mm_n; i++) {
		if (mm->mm_regions[i].r_gpa > r->r_gpa)
			break;
	}
	memmove(&mm->mm_regions[i + 1], &mm->mm_regions[i],
		(mm->mm_n - i) * sizeof(*r));
	mm->mm_regions[i] = *r;
	mm->mm_n++;
	return 0;
}

void memmap_remove(struct memmap *mm, size_t idx, struct region *out)
{
	*out = mm->mm_regions[idx];
	memmove(&mm->mm_regions[idx], &mm->mm_regions[idx + 1],
		(mm->mm_n - idx - 1) * sizeof(*out));
	mm->mm_n--;
}

void region_usage(const struct region *r, struct quota_use *u)
{
	bool slot = r->r_slot >= 0;

	u->qu[QR_REGIONS]++;
	if (slot) {
		u->qu[QR_MEMSLOTS]++;
		u->qu[QR_SPAN] += r->r_size;
	}
	if (r->r_kind == RK_ROM) {
		u->qu[QR_MAPPINGS]++;
		u->qu[QR_FDS]++;
	} else if (r->r_kind == RK_ALLONES && slot) {
		u->qu[QR_MAPPINGS] +=
			(r->r_size + ALLONES_CHUNK - 1) / ALLONES_CHUNK;
	}
}

void memmap_usage(const struct memmap *mm, struct quota_use *u)
{
	for (size_t i = 0; i < mm->mm_n; i++)
		region_usage(&mm->mm_regions[i], u);
}

void tx_plan_usage(const struct tx_plan *p, struct quota_use *add,
		   struct quota_use *drop)
{
	for (size_t i = 0; i < p->tp_n; i++) {
		const struct tx_step *s = &p->tp_steps[i];

		if (s->op != TX_CREATE)
			region_usage(&s->old, drop);
		if (s->op != TX_DELETE)
			region_usage(&s->new, add);
	}
}

static bool ranges_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

/* Regions straddling the window's edge cannot be replaced in part. */
static int plan_check_window(const struct memmap *mm, uint64_t gpa,
			     uint64_t end, struct verr *e)
{
	for (size_t i = 0; i < mm->mm_n; i++) {
		const struct region *o = &mm->mm_regions[i];
		uint64_t oend = o->r_gpa + o->r_size;

		if (ranges_overlap(o->r_gpa, o->r_size, gpa, end - gpa) &&
		    (o->r_gpa < gpa || oend > end))
			return verr_set(e, EINVAL,
					"Transaction.window: region '%s' at "
					"[0x%llx, 0x%llx) straddles its edge",
					o->r_name, (unsigned long long)o->r_gpa,
					(unsigned long long)oend);
	}
	return 0;
}

static int plan_check_new(const struct region *regs, size_t n, uint64_t gpa,
			  uint64_t end, uint64_t ram_bytes, struct verr *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct region *r = &regs[i];

		if (r->r_gpa < gpa || r->r_gpa + r->r_size > end)
			return verr_set(
				e, EINVAL,
				"Transaction.regions[%zu] '%s': outside "
				"the window",
				i, r->r_name);
		if (r->r_kind == RK_RAM &&
		    region_check_backing(r, ram_bytes, e) < 0)
			return verr_prefix(e, "Transaction.regions[%zu] '%s'",
					   i, r->r_name);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(regs[j].r_name, r->r_name) == 0)
				return verr_set(e, EINVAL,
						"Transaction.regions[%zu]: "
						"name '%s' used twice",
						i, r->r_name);
			if (ranges_overlap(regs[j].r_gpa, regs[j].r_size,
					   r->r_gpa, r->r_size))
				return verr_set(e, EEXIST,
						"Transaction.regions[%zu] "
						"'%s': overlaps regions[%zu] "
						"'%s'",
						i, r->r_name, j,
						regs[j].r_name);
		}
	}
	return 0;
}

/* The old region inside the window that new region r continues. */
static int plan_match(const struct memmap *mm, uint64_t gpa, uint64_t end,
		      const struct region *r)
{
	for (size_t i = 0; i < mm->mm_n; i++) {
		const struct region *o = &mm->mm_regions[i];

		if (o->r_gpa >= gpa && o->r_gpa + o->r_size <= end &&
		    strcmp(o->r_name, r->r_name) == 0)
			return (int)i;
	}
	return -1;
}

static enum tx_op plan_op(const struct region *o, const struct region *r)
{
	if (o->r_kind != r->r_kind || o->r_size != r->r_size ||
	    o->r_offset != r->r_offset || o->r_kind == RK_ROM ||
	    (o->r_slot >= 0) != (r->r_slot >= 0))
		return TX_CREATE; /* and the old one is deleted */
	if (o->r_gpa != r->r_gpa)
		return o->r_slot >= 0 ? TX_MOVE : TX_CREATE;
	if (o->r_dirty_log != r->r_dirty_log && o->r_slot >= 0)
		return TX_FLAGS;
	return TX_KEEP;
}

static void plan_add(struct tx_plan *p, enum tx_op op, int old_idx,
		     const struct region *o, const struct region *r,
		     int req_idx)
{
	struct tx_step *s = &p->tp_steps[p->tp_n++];

	s->op = op;
	s->old_idx = old_idx;
	if (o != NULL)
		s->old = *o;
	if (r != NULL)
		s->new = *r;
	s->req_idx = req_idx;
	p->tp_count[op]++;
}

/* A move onto another moving region's old place becomes delete+create. */
static void plan_break_move_conflicts(const struct memmap *mm,
				      const struct region *regs, size_t n,
				      int *match, enum tx_op *ops)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i] != TX_MOVE)
			continue;
		for (size_t j = 0; j < n; j++) {
			const struct region *src;

			if (j == i || ops[j] != TX_MOVE)
				continue;
			src = &mm->mm_regions[match[j]];
			if (ranges_overlap(regs[i].r_gpa, regs[i].r_size,
					   src->r_gpa, src->r_size)) {
				ops[i] = TX_CREATE;
				break;
			}
		}
	}
}

static bool plan_is_matched(const int *match, size_t n, size_t old_idx,
			    const enum tx_op *ops)
{
	for (size_t j = 0; j < n; j++) {
		if (match[j] == (int)old_idx && ops[j] != TX_CREATE)
			return true;
	}
	return false;
}

/* Fills p's steps in apply order from the per-region decisions. */
static void plan_steps(const struct memmap *mm, struct tx_plan *p,
		       const struct region *regs, size_t n, const int *match,
		       const enum tx_op *ops)
{
	static const enum tx_op order[] = {TX_MOVE, TX_FLAGS, TX_KEEP,
					   TX_CREATE};

	for (size_t i = 0; i < mm->mm_n; i++) {
		const struct region *o = &mm->mm_regions[i];

		if (o->r_gpa >= p->tp_gpa &&
		    o->r_gpa + o->r_size <= p->tp_end &&
		    !plan_is_matched(match, n, i, ops))
			plan_add(p, TX_DELETE, (int)i, o, NULL, -1);
	}
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (size_t i = 0; i < n; i++) {
			if (ops[i] != order[k])
				continue;
			plan_add(p, ops[i], ops[i] == TX_CREATE ? -1 : match[i],
				 ops[i] == TX_CREATE
					 ? NULL
					 : &mm->mm_regions[match[i]],
				 &regs[i], (int)i);
		}
	}
}

/* Slots the plan needs beyond those its deletes give back. */
static int plan_check_slots(const struct memmap *mm, const struct tx_plan *p,
			    struct verr *e)
{
	unsigned need = 0, freed = 0;

	for (size_t i = 0; i < p->tp_n; i++) {
		const struct tx_step *s = &p->tp_steps[i];

		if (s->op == TX_CREATE && s->new.r_slot >= 0)
			need++;
		if (s->op == TX_DELETE && s->old.r_slot >= 0)
			freed++;
	}
	if (need > freed && memmap_free_slots(mm, need - freed) < need - freed)
		return verr_set(e, ENOSPC,
				"Transaction: needs %u memslots, %u are free",
				need, memmap_free_slots(mm, UINT_MAX) + freed);
	return 0;
}

int memmap_plan(const struct memmap *mm, uint64_t gpa, uint64_t end,
		const struct region *regs, size_t n, uint64_t ram_bytes,
		struct tx_plan *p, struct verr *e)
{
	int *match = calloc(n ? n : 1, sizeof(int));
	enum tx_op *ops = calloc(n ? n : 1, sizeof(enum tx_op));
	int r = -ENOMEM;

	memset(p, 0, sizeof(*p));
	p->tp_gpa = gpa;
	p->tp_end = end;
	p->tp_steps = calloc(n + mm->mm_n + 1, sizeof(struct tx_step));
	if (match == NULL || ops == NULL || p->tp_steps == NULL) {
		verr_set(e, ENOMEM, "Transaction: out of memory");
		goto out;
	}
	r = plan_check_window(mm, gpa, end, e);
	if (r == 0)
		r = plan_check_new(regs, n, gpa, end, ram_bytes, e);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		match[i] = plan_match(mm, gpa, end, &regs[i]);
		ops[i] = match[i] < 0
				 ? TX_CREATE
				 : plan_op(&mm->mm_regions[match[i]], &regs[i]);
	}
	plan_break_move_conflicts(mm, regs, n, match, ops);
	plan_steps(mm, p, regs, n, match, ops);
	for (size_t i = 0; i < p->tp_n; i++) {
		const struct tx_step *s = &p->tp_steps[i];

		p->tp_slot_ops += s->op == TX_DELETE   ? s->old.r_slot >= 0
				  : s->op == TX_CREATE ? s->new.r_slot >= 0
						       : s->op != TX_KEEP;
	}
	r = plan_check_slots(mm, p, e);
out:
	free(match);
	free(ops);
	if (r < 0)
		tx_plan_free(p);
	return r;
}

/* A plan of one step over r's own range. */
static int plan_one(struct tx_plan *p, enum tx_op op, int old_idx,
		    const struct region *o, const struct region *r,
		    struct verr *e)
{
	const struct region *at = o != NULL ? o : r;

	memset(p, 0, sizeof(*p));
	p->tp_steps = calloc(1, sizeof(struct tx_step));
	if (p->tp_steps == NULL)
		return verr_set(e, ENOMEM, "out of memory");
	p->tp_gpa = at->r_gpa;
	p->tp_end = at->r_gpa + at->r_size;
	plan_add(p, op, old_idx, o, r, op == TX_DELETE ? -1 : 0);
	p->tp_slot_ops = at->r_slot >= 0;
	return 0;
}

int memmap_plan_add(const struct memmap *mm, const struct region *r,
		    uint64_t backing_bytes, struct tx_plan *p, struct verr *e)
{
	if (memmap_check(mm, r, backing_bytes, e) < 0)
		return -e->code;
	return plan_one(p, TX_CREATE, -1, NULL, r, e);
}

int memmap_plan_remove(const struct memmap *mm, uint64_t gpa, struct tx_plan *p,
		       struct verr *e)
{
	int idx = memmap_find(mm, gpa);

	if (idx < 0)
		return verr_set(e, ENOENT,
				"UnmapRegion.gpa: no region starts "
				"at 0x%llx",
				(unsigned long long)gpa);
	return plan_one(p, TX_DELETE, idx, &mm->mm_regions[idx], NULL, e);
}

void tx_plan_free(struct tx_plan *p)
{
	free(p->tp_steps);
	memset(p, 0, sizeof(*p));
}
