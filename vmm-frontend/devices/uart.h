/*
 * uart.h: a 16550A serial port, as the PC16550D datasheet describes it and
 * as Linux's 8250 driver probes and drives it: divisor latch, the four
 * interrupt sources with their priorities in the IIR, 16-byte FIFOs,
 * loopback, the modem and scratch registers.  A pure state machine fed by
 * port I/O exits: transmission is instantaneous (THR is always empty),
 * input comes from uart_input(), the interrupt output goes to a callback.
 * Trust: unprivileged; every register value comes from the guest.
 */
#ifndef KVMMU_UART_H
#define KVMMU_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define UART_NPORTS 8 /* registers 0..7 from the base port */

/*
 * Input waiting for the guest: deeper than the chip's 16-byte FIFO, so
 * that host input is not lost while the guest is slow to read; a guest
 * cannot tell, as it reads until DR clears.
 */
#define UART_RX_MAX   256
#define UART_LINE_MAX 256 /* a line for the line callback, with its NUL */

struct uart {
	FILE *u_out; /* transmitted bytes; NULL: dropped */
	void (*u_irq)(void *arg, bool level);
	void (*u_line)(void *arg, const char *line);
	void *u_arg;
	uint8_t u_ier, u_lcr, u_mcr, u_scr;
	uint8_t u_lsr_err; /* LSR error bits, cleared when LSR is read */
	uint8_t u_msr_dx;  /* MSR delta bits, cleared when MSR is read */
	uint16_t u_dl;	   /* divisor latch */
	bool u_fifo;	   /* FCR bit 0: FIFOs on */
	bool u_thre;	   /* the THRE interrupt is pending */
	bool u_level;	   /* the interrupt output, as last reported */
	uint8_t u_rx[UART_RX_MAX];
	unsigned u_rx_head, u_rx_n;
	char u_linebuf[UART_LINE_MAX];
	size_t u_line_n;
};

/*
 * A UART after reset.  out (may be NULL) receives what the guest
 * transmits, flushed at each newline.  irq (may be NULL) is called with
 * the new level whenever the interrupt output changes: the IIR's pending
 * interrupt, gated by MCR OUT2 as on a PC (so never in loopback, which
 * forces the OUT2 pin inactive).  line (may be NULL) receives each
 * transmitted line without its "\r\n"; a line longer than
 * UART_LINE_MAX - 1 bytes comes in pieces of that size.  Both get arg.
 */
void uart_init(struct uart *u, FILE *out, void (*irq)(void *arg, bool level),
	       void (*line)(void *arg, const char *line), void *arg);

/*
 * An access to register reg (0..7; others read all ones): len bytes of
 * data, each one access to the same register (as "rep outsb" or "rep
 * insb" make), the guest's for out, filled here for in.
 */
void uart_io(struct uart *u, unsigned reg, bool out, uint8_t *data, size_t len);

/*
 * Queues up to n received bytes for the guest; returns how many it took
 * (fewer when the buffer is full, none in loopback, where the receiver
 * is disconnected).  Raises the receive interrupt when it is enabled.
 */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t n);

#endif
