/* portio.c: guest payload, PIO exit benchmark. Trust: runs inside the guest. */
#include "libguest.h"

/*
 * Every vCPU does `count` byte writes to GUEST_PORT_NULL, which the host
 * answers at once: the loop measures the bare cost of a PIO VM exit.
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	u64 count = cmdline_u64(bi, "count", 100000);

	(void)vcpu;
	for (u64 i = 0; i < count; i++)
		outb(GUEST_PORT_NULL, (u8)i);
	return 0;
}
