/* crt0.S: guest payload entry point (_start). Trust: runs inside the guest. */

/*
 * The frontend enters every vCPU here (abi.h) at CPL3 with
 *   rdi = vCPU index, rsi = bootinfo pointer, rsp = this vCPU's stack top.
 * rdi/rsi are already gmain's two arguments, so we only make the machine
 * state what the SysV ABI promises a C function and call it.
 *
 * .bss is not cleared here: link.ld stores it in the image as zeros, and
 * clearing it on any vCPU could race with other vCPUs already using it.
 *
 * abi.h cannot be included here (it declares a struct), so the exit port
 * is left to guest_exit() in libguest.c.
 */

	.section .text.entry, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	cld			/* the ABI requires DF=0 at calls */
	xorl	%ebp, %ebp	/* terminate frame-pointer chains */
	andq	$-16, %rsp	/* ABI: rsp % 16 == 0 before a call */
	call	gmain
	movl	%eax, %edi
	call	guest_exit	/* noreturn: outl to GUEST_PORT_EXIT */
1:	pause			/* not reached; never run off the end */
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
