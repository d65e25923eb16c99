/*
 * abi.h: the contract between guest payloads and vmm-frontend.
 * Trust: guest-controlled data; the frontend checks everything it reads.
 *
 * Payloads run at CPL3 in 64-bit long mode with IOPL=3 (ARCHITECTURE.md, CPL3
 * payloads): KVM emulates CPL0 code on shadow-paging hosts, so a CPL0 payload
 * would measure the emulator, not the MMU.  The frontend builds user-accessible
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
#define GUEST_MIN_RAM	   (4ULL << 20)
#define GUEST_MAX_RAM	   (3ULL << 30) /* below the 32-bit PCI hole */

#define GUEST_BOOTINFO_MAGIC 0x6b766d6d75626f6fULL /* "kvmmuboo" */
#define GUEST_CMDLINE_MAX    256

/* Port I/O the frontend implements (IOPL=3 lets CPL3 code use in/out). */
#define GUEST_PORT_SERIAL 0x3f8 /* 16550 THR; LSR at +5 */
#define GUEST_PORT_EXIT	  0x501 /* outl status: this vCPU is done */
#define GUEST_PORT_REPORT 0x504 /* outl value: printed as a report */
#define GUEST_PORT_NULL	  0x510 /* out: answered at once (benchmarks) */
#define GUEST_PORT_PHASE  0x508 /* outl n: the payload enters phase n */
#define GUEST_PORT_VGA	  0x50a /* outb 1/0: legacy VGA window on/off */

/*
 * The boot-churn machine (vmm-frontend --machine pc): the PCI devices
 * and legacy windows a firmware and an OS reprogram while booting.
 *
 * PCI configuration mechanism #1: outl GUEST_PCI_ADDR = 0x80000000 |
 * bus << 16 | dev << 11 | fn << 8 | reg; then in/out at GUEST_PCI_DATA
 * (+ reg & 3).  Bus 0 holds devices 1..N (N from the frontend), each
 * vendor GUEST_PCI_VENDOR, device GUEST_PCI_DEVICE + dev, with:
 *   BAR0 (reg 0x10): 32-bit memory BAR of GUEST_PCI_BAR_SIZE bytes of
 *     device memory (the frontend maps it as a memslot when decode is on);
 *   expansion ROM BAR (reg 0x30) on device 1 only: GUEST_PCI_ROM_SIZE
 *     bytes, read-only, starting 0x55 0xaa, enabled by bit 0;
 *   command register (reg 0x04) bit 1: memory decode.
 * Absent devices read as all ones.  At reset BARs and the command
 * register read 0 (decode off), so nothing is mapped until a payload
 * assigns a BAR and turns decode on.  The frontend's device count
 * (--pci-devices) and a payload's devices= must agree.
 *
 * Legacy VGA window [GUEST_VGA_GPA, +GUEST_VGA_SIZE): RAM is not mapped
 * there; GUEST_PORT_VGA 1 maps 128 KiB of video memory into it (a memslot),
 * 0 (the reset state) leaves an MMIO hole that reads all ones.  The map
 * change is complete when the out instruction completes.
 */
#define GUEST_PCI_ADDR	    0xcf8
#define GUEST_PCI_DATA	    0xcfc
#define GUEST_PCI_VENDOR    0x1af4
#define GUEST_PCI_DEVICE    0x10f0
#define GUEST_PCI_MAX_DEVS  31
#define GUEST_PCI_BAR_SIZE  0x200000ULL	  /* 2 MiB */
#define GUEST_PCI_ROM_SIZE  0x10000ULL	  /* 64 KiB */
#define GUEST_PCI_MMIO_BASE 0xe0000000ULL /* where payloads put BARs */
#define GUEST_VGA_GPA	    0xa0000ULL
#define GUEST_VGA_SIZE	    0x20000ULL

struct guest_bootinfo {
	unsigned long long gb_magic;
	unsigned long long gb_ram_bytes;
	unsigned int gb_vcpus;
	unsigned int gb_pad;
	char gb_cmdline[GUEST_CMDLINE_MAX]; /* NUL-terminated key=value words */
};

#endif
