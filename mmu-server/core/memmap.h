/*
 * memmap.h: a VM's memory map (its regions, sorted by GPA) and the checks a
 * new region must pass against it.  Pure: no ioctl, no mapping; vm.c does
 * those after these checks pass.  Trust: inputs are untrusted frontend data.
 */
#ifndef KVMMU_MEMMAP_H
#define KVMMU_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "quota.h"
#include "verr.h"

/* All-ones regions map one sealed memfd of this size over and over. */
#define ALLONES_CHUNK (2ULL << 20)

enum region_kind {
	RK_RAM = 1, /* values match kvmmu.RegionKind */
	RK_ROM = 2,
	RK_MMIO = 3,
	RK_ALLONES = 4,
};

struct region {
	enum region_kind r_kind;
	uint64_t r_gpa;
	uint64_t r_size;
	uint64_t r_offset; /* in the RAM memfd or the ROM memfd */
	int r_slot;	   /* KVM memslot, -1 for MMIO */
	int r_fd;	   /* ROM memfd (owned), else -1 */
	void *r_map;	   /* ROM: our own mapping (owned), else NULL */
	void *r_hva;	   /* what KVM was given */
	bool r_dirty_log;  /* KVM_MEM_LOG_DIRTY_PAGES */
	char r_name[KVMMU_NAME_MAX + 1];
};

struct memmap {
	struct region *mm_regions; /* sorted by r_gpa, never overlapping */
	size_t mm_n;
	size_t mm_cap;
	uint8_t *mm_slot_used;
	int mm_nr_slots;
};

int memmap_init(struct memmap *mm, int nr_slots);
void memmap_free(struct memmap *mm);

/*
 * Checks r against the map: backing bounds (RAM against ram_bytes, ROM
 * against backing_bytes), overlap, a free slot.  0 or -code with e set.
 */
int memmap_check(const struct memmap *mm, const struct region *r,
		 uint64_t backing_bytes, struct verr *e);
/* True when gpa lies in an all-ones region served as MMIO (no slot). */
bool memmap_allones_mmio(const struct memmap *mm, uint64_t gpa);
/* Index of the region that starts exactly at gpa, or -1. */
int memmap_find(const struct memmap *mm, uint64_t gpa);
/* Takes a free slot (lowest first), or -ENOSPC. */
int memmap_slot_alloc(struct memmap *mm);
void memmap_slot_free(struct memmap *mm, int slot);
/* Inserts a copy of r in GPA order.  0 or -ENOMEM. */
int memmap_insert(struct memmap *mm, const struct region *r);
/* Removes region idx, returning a copy of it in *out. */
void memmap_remove(struct memmap *mm, size_t idx, struct region *out);

/*
 * What a region costs the server (quota.h), added to *u: an entry, and
 * where r_slot >= 0 a memslot and its span; a ROM its memfd and mapping;
 * an all-ones region with a memslot one mapping per ALLONES_CHUNK.
 */
void region_usage(const struct region *r, struct quota_use *u);
void memmap_usage(const struct memmap *mm, struct quota_use *u);

/*
 * A transaction's plan: the fewest memslot changes that turn the regions
 * inside a GPA window into a new set.  Steps come in the order they must
 * be applied: deletes, moves, flag updates, creates (a region moving
 * into a place another one leaves is therefore safe).
 */
enum tx_op {
	TX_KEEP,   /* same name, kind, backing, place and flags: nothing */
	TX_FLAGS,  /* only dirty logging changed: one update */
	TX_MOVE,   /* same size and backing, new GPA: KVM_MR_MOVE */
	TX_DELETE, /* gone from the window */
	TX_CREATE, /* new, or changed beyond the above */
	TX_NOPS
};

struct tx_step {
	enum tx_op op;
	int old_idx;	   /* in mm_regions; -1 for TX_CREATE */
	struct region old; /* TX_KEEP, FLAGS, MOVE, DELETE */
	struct region new; /* all but TX_DELETE; slot filled on apply */
	int req_idx;	   /* which requested region, -1 for DELETE */
};

struct tx_plan {
	uint64_t tp_gpa, tp_end; /* the window */
	struct tx_step *tp_steps;
	size_t tp_n;
	unsigned tp_count[TX_NOPS];
	unsigned tp_slot_ops; /* memslot ioctls the plan needs */
};

/*
 * Plans replacing the regions inside [gpa, end) with regs[0..n), whose
 * r_slot says whether each needs a memslot (0) or not (-1).  Checks
 * everything KVM would refuse, before any ioctl: regions inside the
 * window, none straddling its edge, no overlap, RAM within ram_bytes,
 * unique names, enough free slots.  0 or -code with e set (the message
 * names the region by index and name).
 */
int memmap_plan(const struct memmap *mm, uint64_t gpa, uint64_t end,
		const struct region *regs, size_t n, uint64_t ram_bytes,
		struct tx_plan *plan, struct verr *e);
/*
 * MapRegion's plan: r (r_slot 0: wants a memslot) added where nothing is,
 * after memmap_check's checks against backing_bytes.  UnmapRegion's: the
 * region that starts at gpa goes (-ENOENT when none does).
 */
int memmap_plan_add(const struct memmap *mm, const struct region *r,
		    uint64_t backing_bytes, struct tx_plan *p, struct verr *e);
int memmap_plan_remove(const struct memmap *mm, uint64_t gpa, struct tx_plan *p,
		       struct verr *e);
void tx_plan_free(struct tx_plan *plan);
/*
 * What the plan's new regions will cost (*add) and what the regions it
 * replaces cost now (*drop), both added to.
 */
void tx_plan_usage(const struct tx_plan *p, struct quota_use *add,
		   struct quota_use *drop);

#endif
