/*
 * memmap.h: a VM's memory map (its regions, sorted by GPA) and the checks a
 * new region must pass against it.  Pure: no ioctl, no mapping; vm.c does
 * those after these checks pass.  Trust: inputs are untrusted frontend data.
 */
#ifndef KVMMU_MEMMAP_H
#define KVMMU_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "validate.h"

enum region_kind {
	RK_RAM = 1, /* values match kvmmu.RegionKind */
	RK_ROM = 2,
	RK_MMIO = 3,
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
/* Index of the region that starts exactly at gpa, or -1. */
int memmap_find(const struct memmap *mm, uint64_t gpa);
/* Takes a free slot (lowest first), or -ENOSPC. */
int memmap_slot_alloc(struct memmap *mm);
void memmap_slot_free(struct memmap *mm, int slot);
/* Inserts a copy of r in GPA order.  0 or -ENOMEM. */
int memmap_insert(struct memmap *mm, const struct region *r);
/* Removes region idx, returning a copy of it in *out. */
void memmap_remove(struct memmap *mm, size_t idx, struct region *out);

#endif
