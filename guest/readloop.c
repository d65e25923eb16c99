/* readloop.c: guest payload for the all-ones benchmark. Trust: runs inside
 * the guest. */
#include "libguest.h"

/*
 * Reads the 64-bit word at a= count= times (default 100000) and reports
 * how many reads returned all ones; returns 0 when all of them did.
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	volatile const u64 *a;
	u64 count, ones = 0;

	if (vcpu != 0)
		return 0;
	a = (volatile const u64 *)cmdline_u64(bi, "a", 0);
	count = cmdline_u64(bi, "count", 100000);
	if (a == 0) {
		gprintf("readloop: need a=\n");
		return 2;
	}
	for (u64 i = 0; i < count; i++)
		ones += *a == ~0ULL;
	report((u32)ones);
	return ones == count ? 0 : 1;
}
