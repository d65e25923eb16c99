/*
 * memmap.c: the memory map of one VM and the checks that keep it sane:
 * regions stay inside their backing, never overlap, and fit in the slots
 * KVM offers.  Trust: inputs are untrusted; nothing here touches KVM.
 */
#include <errno.h>
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

static int memmap_has_free_slot(const struct memmap *mm)
{
	for (int i = 0; i < mm->mm_nr_slots; i++) {
		if (!mm->mm_slot_used[i])
			return 1;
	}
	return 0;
}

int memmap_check(const struct memmap *mm, const struct region *r,
		 uint64_t backing_bytes, struct verr *e)
{
	if (r->r_kind != RK_MMIO && r->r_offset + r->r_size > backing_bytes)
		return verr_set(e, EINVAL,
				"Region.offset: [0x%llx, +0x%llx) exceeds the "
				"%s backing of 0x%llx bytes",
				(unsigned long long)r->r_offset,
				(unsigned long long)r->r_size,
				r->r_kind == RK_RAM ? "RAM" : "ROM memfd",
				(unsigned long long)backing_bytes);
	if (memmap_check_overlap(mm, r, e) < 0)
		return -e->code;
	if (r->r_kind != RK_MMIO && !memmap_has_free_slot(mm))
		return verr_set(e, ENOSPC, "Region: all %d memslots are in use",
				mm->mm_nr_slots);
	return 0;
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
