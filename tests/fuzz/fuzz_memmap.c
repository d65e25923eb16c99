/*
 * fuzz_memmap.c: libFuzzer target for memory-map transactions
 * (memmap_plan) with an oracle.  The input describes an old map and a
 * requested new set of regions for a window; when the planner accepts,
 * applying its steps to the old map (as txn.c does) must give exactly
 * the requested regions inside the window and leave the rest alone, with
 * no two regions overlapping and no slot used twice; and replaying the
 * steps in their order must never make two memslots overlap, which KVM
 * would refuse half-way through.  When it refuses, it must say why.
 * Trust: the input is hostile by construction.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"

#define MAX_REGIONS 12
#define SLOTS	    8
#define PAGE	    0x1000ULL
#define WIN_GPA	    (64 * PAGE)
#define WIN_END	    (192 * PAGE)
#define RAM	    (256 * PAGE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* Five bytes: kind, name, gpa and size (in pages, small), flags. */
static struct region read_region(struct reader *rd)
{
	struct region r = {0};
	uint8_t kind = next(rd) % 3, name = next(rd) % 16;

	r.r_kind = kind == 0 ? RK_RAM : kind == 1 ? RK_MMIO : RK_ALLONES;
	r.r_gpa = (uint64_t)next(rd) * PAGE;
	r.r_size = (uint64_t)(next(rd) % 32 + 1) * PAGE;
	r.r_offset = r.r_kind == RK_RAM ? (name % 4) * 16 * PAGE : 0;
	r.r_dirty_log = next(rd) & 1;
	r.r_slot = r.r_kind == RK_MMIO ? -1 : 0;
	r.r_fd = -1;
	snprintf(r.r_name, sizeof(r.r_name), "r%u", name);
	return r;
}

static bool overlaps(const struct region *a, const struct region *b)
{
	return a->r_gpa < b->r_gpa + b->r_size &&
	       b->r_gpa < a->r_gpa + a->r_size;
}

/* An old map: whatever of the input's regions memmap_check accepts. */
static void build_old(struct memmap *mm, struct reader *rd, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct region r = read_region(rd);
		struct verr e;

		if (memmap_check(mm, &r, RAM, &e) < 0)
			continue;
		r.r_slot = r.r_slot < 0 ? -1 : memmap_slot_alloc(mm);
		memmap_insert(mm, &r);
	}
}

static bool in_window(const struct region *r)
{
	return r->r_gpa >= WIN_GPA && r->r_gpa + r->r_size <= WIN_END;
}

static void check(bool ok, const char *what);

/* The lowest free slot, as memmap_slot_alloc picks it. */
static int take_slot(uint8_t *used)
{
	for (int i = 0; i < SLOTS; i++) {
		if (!used[i]) {
			used[i] = 1;
			return i;
		}
	}
	check(false, "the plan needs more slots than it said");
	return -1;
}

/* Applies the plan to a copy of the old map, as txn.c would. */
static size_t apply(const struct memmap *mm, const struct tx_plan *p,
		    struct region *out)
{
	uint8_t used[SLOTS];
	size_t n = 0;

	memcpy(used, mm->mm_slot_used, SLOTS);
	for (size_t i = 0; i < p->tp_n; i++) {
		if (p->tp_steps[i].op == TX_DELETE &&
		    p->tp_steps[i].old.r_slot >= 0)
			used[p->tp_steps[i].old.r_slot] = 0;
	}

	for (size_t i = 0; i < mm->mm_n; i++) {
		if (!in_window(&mm->mm_regions[i]))
			out[n++] = mm->mm_regions[i];
	}
	for (size_t i = 0; i < p->tp_n; i++) {
		const struct tx_step *s = &p->tp_steps[i];

		if (s->op == TX_DELETE)
			continue;
		out[n] = s->new;
		if (s->op != TX_CREATE)
			out[n].r_slot = s->old.r_slot;
		else if (s->new.r_slot >= 0)
			out[n].r_slot = take_slot(used);
		n++;
	}
	return n;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "oracle: %s\n", what);
		abort();
	}
}

/* Replays the steps in order: KVM's slots may never overlap. */
static void check_order(const struct memmap *mm, const struct tx_plan *p)
{
	struct region live[2 * MAX_REGIONS];
	size_t n = 0;

	for (size_t i = 0; i < mm->mm_n; i++) {
		if (mm->mm_regions[i].r_slot >= 0)
			live[n++] = mm->mm_regions[i];
	}
	for (size_t i = 0; i < p->tp_n; i++) {
		const struct tx_step *s = &p->tp_steps[i];

		for (size_t j = 0; s->op != TX_CREATE && j < n; j++) {
			if (live[j].r_gpa == s->old.r_gpa &&
			    strcmp(live[j].r_name, s->old.r_name) == 0) {
				live[j] = live[--n]; /* it leaves its place */
				break;
			}
		}
		if (s->op == TX_DELETE || s->new.r_slot < 0)
			continue;
		for (size_t j = 0; j < n; j++)
			check(!overlaps(&live[j], &s->new),
			      "a step maps a slot over a live one");
		live[n++] = s->new;
	}
}

static void check_result(const struct region *res, size_t n,
			 const struct region *req, size_t nreq,
			 const struct memmap *mm)
{
	size_t inside = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			check(!overlaps(&res[i], &res[j]), "overlap");
			check(res[i].r_slot < 0 ||
				      res[i].r_slot != res[j].r_slot,
			      "slot used twice");
		}
		inside += in_window(&res[i]);
	}
	check(inside == nreq, "window holds other than what was asked");
	for (size_t k = 0; k < nreq; k++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(res[i].r_name, req[k].r_name) == 0 &&
				res[i].r_gpa == req[k].r_gpa &&
				res[i].r_size == req[k].r_size &&
				res[i].r_kind == req[k].r_kind;
		check(found, "a requested region is missing");
	}
	for (size_t i = 0; i < mm->mm_n; i++) {
		bool found = in_window(&mm->mm_regions[i]);

		for (size_t j = 0; j < n && !found; j++)
			found = memcmp(&res[j], &mm->mm_regions[i],
				       sizeof(res[j])) == 0;
		check(found, "a region outside the window changed");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader rd = {data, size};
	struct region req[MAX_REGIONS], res[2 * MAX_REGIONS];
	struct memmap mm;
	struct tx_plan p;
	struct verr e = {0};
	unsigned nold = next(&rd) % MAX_REGIONS;
	unsigned nreq = next(&rd) % MAX_REGIONS;

	memmap_init(&mm, SLOTS);
	build_old(&mm, &rd, nold);
	for (unsigned i = 0; i < nreq; i++)
		req[i] = read_region(&rd);
	if (memmap_plan(&mm, WIN_GPA, WIN_END, req, nreq, RAM, &p, &e) == 0) {
		size_t n = apply(&mm, &p, res);

		check(n <= 2 * MAX_REGIONS, "too many regions");
		check_result(res, n, req, nreq, &mm);
		check_order(&mm, &p);
		tx_plan_free(&p);
	} else {
		check(e.code != 0 && e.msg[0] != '\0',
		      "refusal without reason");
	}
	memmap_free(&mm);
	return 0;
}
