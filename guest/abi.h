/*
 * abi.h: the contract between guest payloads and vmm-frontend.
 * Trust: guest-controlled data; the frontend checks everything it reads.
 *
 * Payloads run at CPL3 in 64-bit long mode with IOPL=3 (DESIGN.md §1):
 * KVM emulates CPL0 code on shadow-paging hosts, so a CPL0 payload would
 * measure the emulator, not the MMU.  The frontend builds user-accessible
 * identity page tables (2 MiB pages over the first 4 GiB), loads the flat
 * binary at GUEST_LOAD_GPA and enters it with:
 *   rip = GUEST_LOAD_GPA, rdi = vCPU index, rsi = GUEST_BOOTINFO_GPA,
 *   rsp = GUEST_STACK_TOP - index * GUEST_STACK_SIZE, rflags = IOPL3.
 * IOPL=3 alone is not enough on every host: kvm_pvm drops IOPL, so the
 * TSS also carries an I/O permission bitmap that allows every port, and
 * in/out then exit to the VMM either way.
 * Interrupts are off and there is no IDT: a fault ends the run (triple
 * fault), and HLT faults at CPL3, so payloads leave through GUEST_PORT_EXIT.
 */
#ifndef KVMMU_GUEST_ABI_H
#define KVMMU_GUEST_ABI_H

#define GUEST_BOOTINFO_GPA 0x1000ULL
#define GUEST_PT_GPA	   0x10000ULL /* PML4, PDPT, 4 PDs: 24 KiB */
#define GUEST_TSS_GPA	   0x20000ULL /* TSS + all-zero I/O bitmap: 8 KiB */
#define GUEST_STACK_TOP	   0x80000ULL
#define GUEST_STACK_SIZE   0x2000ULL
#define GUEST_MAX_VCPUS	   32 /* stacks fit in [0x40000, 0x80000) */
#define GUEST_LOAD_GPA	   0x100000ULL
#define GUEST_MAX_PAYLOAD  0x100000ULL /* payload ends below 2 MiB */
#define GUEST_FREE_GPA	   0x200000ULL /* first byte payloads may scribble on */
#define GUEST_IDENTITY_MAP (4ULL << 30)

#define GUEST_BOOTINFO_MAGIC 0x6b766d6d75626f6fULL /* "kvmmuboo" */
#define GUEST_CMDLINE_MAX    256

/* Port I/O the frontend implements (IOPL=3 lets CPL3 code use in/out). */
#define GUEST_PORT_SERIAL 0x3f8 /* 16550 THR; LSR at +5 */
#define GUEST_PORT_EXIT	  0x501 /* outl status: this vCPU is done */
#define GUEST_PORT_REPORT 0x504 /* outl value: printed as a report */
#define GUEST_PORT_NULL	  0x510 /* out: answered at once (benchmarks) */

struct guest_bootinfo {
	unsigned long long gb_magic;
	unsigned long long gb_ram_bytes;
	unsigned int gb_vcpus;
	unsigned int gb_pad;
	char gb_cmdline[GUEST_CMDLINE_MAX]; /* NUL-terminated key=value words */
};

#endif
