/*
 * crash.c: guest payload for a vCPU that crashes while its siblings run:
 * the run must end at once, not at the timeout.
 * Trust: runs inside the guest.
 */
#include "libguest.h"

/* vCPUs other than 0 that have started spinning. */
static u32 spinning;

/*
 * vCPUs 1..n-1 spin forever and never exit.  vCPU 0 waits until they all
 * spin, so that they are inside KVM_RUN when it crashes, then executes
 * ud2 or, with jump=ADDR, jumps to ADDR (a non-canonical one faults).
 * There is no IDT (abi.h): either fault ends in a triple fault, or in
 * whatever exit the host's KVM gives instead.
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	u64 jump;

	if (vcpu != 0) {
		__atomic_add_fetch(&spinning, 1, __ATOMIC_RELEASE);
		for (;;)
			cpu_relax();
	}
	jump = cmdline_u64(bi, "jump", 0);
	while (__atomic_load_n(&spinning, __ATOMIC_ACQUIRE) + 1 < bi->gb_vcpus)
		cpu_relax();
	gprintf("crash: %u vCPU(s) spinning; vCPU 0 %s\n", bi->gb_vcpus - 1,
		jump ? "jumps away" : "executes ud2");
	if (jump)
		__asm__ volatile("jmp *%0" : : "r"(jump) : "memory");
	__asm__ volatile("ud2" : : : "memory");
	return 1; /* not reached */
}
