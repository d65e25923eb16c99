/* memtouch.c: guest payload, page-touch loop. Trust: runs inside the guest. */
#include "libguest.h"

/*
 * Each vCPU writes one 64-bit word per 4 KiB page of its slice of
 * [start, start + size), `passes` times, so that every page is faulted in
 * (and, on later passes, re-dirtied) through the MMU under test.
 *
 * Command line: start= (default GUEST_FREE_GPA), size= (default: up to the
 * end of RAM), passes= (default 1), verify= (default 1).
 */

struct memtouch_args {
	u64 start; /* page aligned, >= GUEST_FREE_GPA */
	u64 pages; /* whole range, in 4 KiB pages */
	u64 passes;
	u64 verify;
};

/* Fetch one key; a malformed value is an error (reported by vCPU 0). */
static int get_arg(const struct guest_bootinfo *bi, int loud, const char *key,
		   u64 dflt, u64 *out)
{
	*out = dflt;
	if (cmdline_get_u64(bi, key, out) != CMDLINE_INVALID)
		return 0;
	if (loud)
		gprintf("memtouch: bad value for %s=\n", key);
	return -1;
}

static int parse_args(const struct guest_bootinfo *bi, int loud,
		      struct memtouch_args *a)
{
	/* Only the identity-mapped part of RAM can be reached at all. */
	u64 ram = bi->gb_ram_bytes < GUEST_IDENTITY_MAP ? bi->gb_ram_bytes
							: GUEST_IDENTITY_MAP;
	u64 start, size;

	if (get_arg(bi, loud, "start", GUEST_FREE_GPA, &start) ||
	    get_arg(bi, loud, "size", ram > start ? ram - start : 0, &size) ||
	    get_arg(bi, loud, "passes", 1, &a->passes) ||
	    get_arg(bi, loud, "verify", 1, &a->verify))
		return -1;

	/* Written so that start + size cannot overflow. */
	if (start < GUEST_FREE_GPA || start > ram || size == 0 ||
	    size > ram - start) {
		if (loud)
			gprintf("memtouch: range start=0x%llx size=0x%llx is "
				"not inside free RAM [0x%llx, 0x%llx)\n",
				start, size, GUEST_FREE_GPA, ram);
		return -1;
	}
	if ((start | size) & (GUEST_PAGE_SIZE - 1)) {
		if (loud)
			gprintf("memtouch: start=0x%llx size=0x%llx must be "
				"multiples of 4 KiB\n",
				start, size);
		return -1;
	}
	if (a->passes == 0) {
		if (loud)
			gprintf("memtouch: passes must be at least 1\n");
		return -1;
	}
	a->start = start;
	a->pages = size / GUEST_PAGE_SIZE;
	return 0;
}

/* vCPU i of n gets pages/n pages; the first pages%n vCPUs get one more. */
static void slice(u64 pages, unsigned n, unsigned i, u64 *first, u64 *count)
{
	u64 base = pages / n, extra = pages % n;

	*count = base + (i < extra ? 1 : 0);
	*first = i * base + (i < extra ? i : extra);
}

/* volatile: every pass must really store, though only the last is read. */
static void touch(u64 addr, u64 pages, u64 pass)
{
	for (; pages; pages--, addr += GUEST_PAGE_SIZE)
		*(volatile u64 *)(uintptr_t)addr = addr ^ pass;
}

/* Returns 0, or -1 with *bad set to the first page that lost its value. */
static int check(u64 addr, u64 pages, u64 pass, u64 *bad)
{
	for (; pages; pages--, addr += GUEST_PAGE_SIZE) {
		if (*(volatile u64 *)(uintptr_t)addr != (addr ^ pass)) {
			*bad = addr;
			return -1;
		}
	}
	return 0;
}

int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	struct memtouch_args a;
	u64 first, count, addr, bad;
	int loud = vcpu == 0;

	if (!bootinfo_valid(bi) || bi->gb_vcpus == 0 ||
	    bi->gb_vcpus > GUEST_MAX_VCPUS || vcpu >= bi->gb_vcpus) {
		if (loud)
			gprintf("memtouch: bad bootinfo\n");
		return 2;
	}
	/* Every vCPU parses the same cmdline, so all agree on the range. */
	if (parse_args(bi, loud, &a))
		return 2;
	if (loud)
		gprintf("memtouch: %llu pages x %llu passes\n", a.pages,
			a.passes);

	slice(a.pages, bi->gb_vcpus, vcpu, &first, &count);
	addr = a.start + first * GUEST_PAGE_SIZE;
	for (u64 pass = 0; pass < a.passes; pass++)
		touch(addr, count, pass);
	/* At most 4 GiB / 4 KiB = 2^20 pages, so this fits in 32 bits. */
	report((u32)count);

	/* Each vCPU checks its own slice only: no cross-vCPU barrier needed. */
	if (a.verify && check(addr, count, a.passes - 1, &bad)) {
		gprintf("memtouch: vCPU %u: bad value at 0x%llx: got 0x%llx, "
			"want 0x%llx\n",
			vcpu, bad, *(volatile u64 *)(uintptr_t)bad,
			bad ^ (a.passes - 1));
		return 1;
	}
	return 0;
}
