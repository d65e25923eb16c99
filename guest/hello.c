/* hello.c: guest payload, serial smoke test. Trust: runs inside the guest. */
#include "libguest.h"

int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	/* One greeting per VM: the other vCPUs only prove they started. */
	if (vcpu != 0)
		return 0;

	/* Greet before checking bootinfo, so a bad magic still shows we ran. */
	gprintf("Hello from a CPL3 guest on kvmmu!\n");
	if (!bootinfo_valid(bi)) {
		gprintf("hello: bad bootinfo magic\n");
		return 3;
	}
	gprintf("guest: %llu MiB RAM, %u vCPU(s)\n", bi->gb_ram_bytes >> 20,
		bi->gb_vcpus);
	return 0;
}
