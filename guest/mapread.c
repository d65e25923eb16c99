/* mapread.c: guest payload for the transaction atomicity test. Trust: runs
 * inside the guest. */
#include "libguest.h"

/*
 * Reads two guest-physical words, a= and b=, over and over while the
 * frontend swaps the regions behind them, until the frontend sets the
 * word at flag= to non-zero.  Every value read must be one of the two
 * patterns pa= and pb=: a hole in the map (a region deleted before its
 * replacement exists) would show as an MMIO exit, which the frontend
 * answers with all ones, and be counted here.  The word after flag= is
 * set to 1 when the reading starts, so that the frontend knows it has.
 * Reports the reads, then the bad ones; returns 1 when any read was bad.
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	volatile const u64 *a, *b, *flag;
	u64 pa, pb, reads = 0, bad = 0;

	if (vcpu != 0)
		return 0;
	a = (volatile const u64 *)cmdline_u64(bi, "a", 0);
	b = (volatile const u64 *)cmdline_u64(bi, "b", 0);
	flag = (volatile const u64 *)cmdline_u64(bi, "flag", 0);
	pa = cmdline_u64(bi, "pa", 0);
	pb = cmdline_u64(bi, "pb", 0);
	if (!a || !b || !flag || pa == pb) {
		gprintf("mapread: need a=, b=, flag=, pa= and pb=\n");
		return 2;
	}
	*(volatile u64 *)(flag + 1) = 1;
	while (*flag == 0) {
		u64 x = *a, y = *b;

		bad += (x != pa && x != pb) + (y != pa && y != pb);
		reads += 2;
	}
	report((u32)(reads > 0xffffffffULL ? 0xffffffffULL : reads));
	report((u32)bad);
	return bad ? 1 : 0;
}
