/*
 * probe_guest.S: the guest that `mmu-server --check-kvm` boots (probe.c)
 * to learn whether this KVM can run a stock kernel, not just open.  It
 * does, at CPL0 in 64-bit mode, what Linux does first after the boot
 * protocol hands it a CPU: its own GDT and a far return to reload CS, the
 * data segments, an IDT, its own page tables in CR3, CR4 and CR0 writes,
 * EFER through WRMSR, a software interrupt, an exception it handles, an
 * external interrupt taken after STI, and HLT.  Each step first writes its
 * number to port PROBE_PORT, so a KVM that fails says where.
 *
 * The host copies the bytes between probe_guest_start and probe_guest_end
 * to guest physical address PROBE_CODE_GPA (probe.h) and enters at the
 * first byte with paging on (its own boot page tables, identity map of the
 * first 2 MiB), CS 64-bit, rsp at PROBE_STACK_TOP.  Everything here is
 * RIP-relative or a fixed guest address, so the host linker relocates
 * nothing in it.  Trust: runs inside the probe guest.
 */

#define PROBE_PORT	0xe9
#define IDT_GPA		0x3000
#define PML4_GPA	0x4000
#define PDPT_GPA	0x5000
#define PD_GPA		0x6000

/* step N: report that step N starts. */
.macro step n
	movb	$\n, %al
	outb	%al, $PROBE_PORT
.endm

/* gate VECTOR HANDLER: a 64-bit interrupt gate, DPL 0, selector 0x10. */
.macro gate vec, handler
	leaq	\handler(%rip), %rax
	movq	$(IDT_GPA + \vec * 16), %rdi
	movw	%ax, (%rdi)
	movw	$0x10, 2(%rdi)
	movw	$0x8e00, 4(%rdi)
	shrq	$16, %rax
	movw	%ax, 6(%rdi)
	shrq	$16, %rax
	movl	%eax, 8(%rdi)
	movl	$0, 12(%rdi)
.endm

	.section .rodata, "a", @progbits
	.code64
	.globl	probe_guest_start, probe_guest_end
probe_guest_start:
	step	1			/* CPL0, long mode, host's tables */
	leaq	gdt(%rip), %rax
	movq	%rax, gdtr_base(%rip)
	lgdt	gdtr(%rip)
	step	2			/* far return into the new CS */
	pushq	$0x10
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	step	3			/* data segments */
	movl	$0x18, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	step	4			/* IDT */
	gate	6, ud_handler
	gate	0x80, int_handler
	gate	0x81, irq_handler
	lidt	idtr(%rip)
	step	5			/* own page tables, CR3 */
	movq	$(PDPT_GPA | 3), PML4_GPA
	movq	$(PD_GPA | 3), PDPT_GPA
	movq	$0x83, PD_GPA		/* 2 MiB page at 0: P, RW, PS */
	movq	$PML4_GPA, %rax
	movq	%rax, %cr3
	step	6			/* CR4.PGE, CR0.WP, INVLPG */
	movq	%cr4, %rax
	orq	$0x80, %rax
	movq	%rax, %cr4
	movq	%cr0, %rax
	orq	$0x10000, %rax
	movq	%rax, %cr0
	invlpg	(0x200000 - 0x1000)
	step	7			/* EFER.NXE through RDMSR/WRMSR */
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x800, %eax
	wrmsr
	step	8			/* a software interrupt */
	int	$0x80
	step	9			/* an exception, handled */
	ud2
	step	10			/* STI, HLT: the host injects 0x81 */
	sti
	hlt
	step	11			/* done */
	cli
	hlt
	jmp	.

/* Each handler says it ran, on the port, then returns. */
int_handler:
	step	0x80
	iretq
ud_handler:
	addq	$2, (%rsp)		/* past the ud2 */
	step	0x86
	iretq
irq_handler:
	step	0x81
	iretq

	.balign	8
gdt:
	.quad	0			/* 0x00 */
	.quad	0x00af9b000000ffff	/* 0x08 64-bit code (the host's) */
	.quad	0x00af9b000000ffff	/* 0x10 64-bit code (ours) */
	.quad	0x00cf93000000ffff	/* 0x18 data */
gdt_end:
	.balign	8
	.word	0, 0, 0
gdtr:
	.word	gdt_end - gdt - 1
gdtr_base:
	.quad	0
	.word	0, 0, 0
idtr:
	.word	256 * 16 - 1
	.quad	IDT_GPA
probe_guest_end:

	.section .note.GNU-stack, "", @progbits
