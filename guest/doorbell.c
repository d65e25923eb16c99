/* doorbell.c: guest payload for doorbells (KVM_IOEVENTFD). Trust: runs
 * inside the guest. */
#include "libguest.h"

/* One write of w bytes of v at MMIO address a, or to port a with pio. */
static void ring(u64 a, unsigned w, u64 v, int pio)
{
	if (pio) {
		if (w == 1)
			outb((u16)a, (u8)v);
		else if (w == 2)
			outw((u16)a, (u16)v);
		else
			outl((u16)a, (u32)v);
		return;
	}
	if (w == 1)
		*(volatile u8 *)a = (u8)v;
	else if (w == 2)
		*(volatile u16 *)a = (u16)v;
	else if (w == 4)
		*(volatile u32 *)a = (u32)v;
	else
		*(volatile u64 *)a = v;
}

/*
 * Writes v (w= bytes, default 4) at a= count= times, v and v2 in turn
 * when v2= is given; then, when b= is given, count times v at b.  With
 * pio=1 the addresses are ports.  Each write either signals a doorbell
 * in KVM or exits to the frontend, which counts it.  Reports the writes.
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	u64 a = cmdline_u64(bi, "a", 0), b = cmdline_u64(bi, "b", 0);
	u64 v = cmdline_u64(bi, "v", 1), count = cmdline_u64(bi, "count", 100);
	unsigned w = (unsigned)cmdline_u64(bi, "w", 4);
	int pio = cmdline_u64(bi, "pio", 0) != 0;
	enum cmdline_result alt;
	u64 v2 = 0, n = 0;

	if (vcpu != 0)
		return 0;
	alt = cmdline_get_u64(bi, "v2", &v2);
	if (a == 0 || (w != 1 && w != 2 && w != 4 && w != 8)) {
		gprintf("doorbell: need a= and w= of 1, 2, 4 or 8\n");
		return 2;
	}
	for (u64 i = 0; i < count; i++, n++)
		ring(a, w, alt == CMDLINE_FOUND && (i & 1) ? v2 : v, pio);
	for (u64 i = 0; b != 0 && i < count; i++, n++)
		ring(b, w, v, pio);
	report((u32)n);
	return 0;
}
