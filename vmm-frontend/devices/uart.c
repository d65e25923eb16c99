/*
 * uart.c: see uart.h.  Register offsets and bits are the PC16550D's.
 * Trust: unprivileged; guest values only index fixed-size state, and
 * input is bounded by the receive buffer.
 */
#include <string.h>

#include "uart.h"

#define REG_RBR 0 /* read; THR on write; DLL with DLAB */
#define REG_IER 1 /* DLM with DLAB */
#define REG_IIR 2 /* read; FCR on write */
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08
#define IER_MASK 0x0f /* the 16550A has no more: Linux's probe checks */

#define IIR_NONE 0x01
#define IIR_MSI	 0x00
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0 /* FIFOs on: what makes a 16550A a 16550A */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_ERR	 0x1e /* overrun, parity, framing, break */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS	 0x10
#define MSR_DSR	 0x20
#define MSR_RI	 0x40
#define MSR_DCD	 0x80

/*
 * No firmware programs the divisor before Linux reads it, and a zero
 * divisor would make a probed baud rate divide by zero: start at 115200.
 */
#define DL_RESET 1

void uart_init(struct uart *u, FILE *out, void (*irq)(void *arg, bool level),
	       void (*line)(void *arg, const char *line), void *arg)
{
	memset(u, 0, sizeof(*u));
	u->u_out = out;
	u->u_irq = irq;
	u->u_line = line;
	u->u_arg = arg;
	u->u_dl = DL_RESET;
}

/*
 * The modem inputs (MSR bits 7..4): a peer always ready, or in loopback
 * the MCR's outputs, wired DTR-DSR, RTS-CTS, OUT1-RI, OUT2-DCD.
 */
static uint8_t uart_modem_in(const struct uart *u)
{
	uint8_t m = u->u_mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_RTS ? MSR_CTS : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

/* The delta bits for inputs that went from old to now (RI: falling). */
static void uart_modem_delta(struct uart *u, uint8_t old)
{
	uint8_t now = uart_modem_in(u), d = old ^ now;

	if (d & MSR_CTS)
		u->u_msr_dx |= MSR_DCTS;
	if (d & MSR_DSR)
		u->u_msr_dx |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->u_msr_dx |= MSR_TERI;
	if (d & MSR_DCD)
		u->u_msr_dx |= MSR_DDCD;
}

/* The highest-priority enabled interrupt pending, as the IIR's low bits. */
static uint8_t uart_iid(const struct uart *u)
{
	if ((u->u_ier & IER_RLSI) && (u->u_lsr_err & LSR_ERR))
		return IIR_RLSI;
	if ((u->u_ier & IER_RDI) && u->u_rx_n)
		return IIR_RDI;
	if ((u->u_ier & IER_THRI) && u->u_thre)
		return IIR_THRI;
	if ((u->u_ier & IER_MSI) && u->u_msr_dx)
		return IIR_MSI;
	return IIR_NONE;
}

/*
 * The interrupt output: on a PC, OUT2 gates the UART's INTR onto the bus,
 * and loopback forces the OUT2 pin inactive.
 */
static void uart_update(struct uart *u)
{
	bool level = uart_iid(u) != IIR_NONE && (u->u_mcr & MCR_OUT2) &&
		     !(u->u_mcr & MCR_LOOP);

	if (level == u->u_level)
		return;
	u->u_level = level;
	if (u->u_irq)
		u->u_irq(u->u_arg, level);
}

static void uart_rx_clear(struct uart *u)
{
	u->u_rx_head = 0;
	u->u_rx_n = 0;
}

/* False when the buffer is full. */
static bool uart_rx_push(struct uart *u, uint8_t c)
{
	if (u->u_rx_n == UART_RX_MAX)
		return false;
	u->u_rx[(u->u_rx_head + u->u_rx_n) % UART_RX_MAX] = c;
	u->u_rx_n++;
	return true;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	uint8_t c;

	if (u->u_rx_n == 0)
		return 0;
	c = u->u_rx[u->u_rx_head];
	u->u_rx_head = (u->u_rx_head + 1) % UART_RX_MAX;
	u->u_rx_n--;
	return c;
}

static void uart_line_flush(struct uart *u)
{
	size_t n = u->u_line_n;

	if (n > 0 && u->u_linebuf[n - 1] == '\r')
		n--;
	u->u_linebuf[n] = '\0';
	u->u_line(u->u_arg, u->u_linebuf);
	u->u_line_n = 0;
}

static void uart_line_put(struct uart *u, uint8_t c)
{
	if (!u->u_line)
		return;
	if (c == '\n') {
		uart_line_flush(u);
		return;
	}
	if (u->u_line_n == UART_LINE_MAX - 1)
		uart_line_flush(u);
	u->u_linebuf[u->u_line_n++] = (char)c;
}

/* A THR write: the byte leaves at once, so THR is empty again. */
static void uart_tx(struct uart *u, uint8_t c)
{
	u->u_thre = true;
	if (u->u_mcr & MCR_LOOP) {
		if (!uart_rx_push(u, c))
			u->u_lsr_err |= LSR_OE;
		return;
	}
	if (u->u_out) {
		fputc(c, u->u_out);
		if (c == '\n')
			fflush(u->u_out);
	}
	uart_line_put(u, c);
}

/* THRE interrupts when THRI is turned on with THR empty, as it always is. */
static void uart_set_ier(struct uart *u, uint8_t v)
{
	uint8_t old = u->u_ier;

	u->u_ier = v & IER_MASK;
	if ((u->u_ier & IER_THRI) && !(old & IER_THRI))
		u->u_thre = true;
}

/* Turning the FIFOs on or off empties them, as does FCR bit 1. */
static void uart_set_fcr(struct uart *u, uint8_t v)
{
	bool on = v & FCR_ENABLE;

	if (on != u->u_fifo || (on && (v & FCR_CLEAR_RX)))
		uart_rx_clear(u);
	u->u_fifo = on;
}

static void uart_set_mcr(struct uart *u, uint8_t v)
{
	uint8_t old = uart_modem_in(u);

	u->u_mcr = v & MCR_MASK;
	uart_modem_delta(u, old);
}

static void uart_write(struct uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->u_lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR:
		if (dlab)
			u->u_dl = (uint16_t)((u->u_dl & 0xff00) | v);
		else
			uart_tx(u, v);
		break;
	case REG_IER:
		if (dlab)
			u->u_dl = (uint16_t)((u->u_dl & 0x00ff) | v << 8);
		else
			uart_set_ier(u, v);
		break;
	case REG_IIR:
		uart_set_fcr(u, v);
		break;
	case REG_LCR:
		u->u_lcr = v;
		break;
	case REG_MCR:
		uart_set_mcr(u, v);
		break;
	case REG_SCR:
		u->u_scr = v;
		break;
	default: /* LSR and MSR writes are for factory tests */
		break;
	}
}

/* Reading the IIR clears a THRE interrupt it reports. */
static uint8_t uart_read_iir(struct uart *u)
{
	uint8_t id = uart_iid(u);

	if (id == IIR_THRI)
		u->u_thre = false;
	return id | (u->u_fifo ? IIR_FIFO : 0);
}

static uint8_t uart_read_lsr(struct uart *u)
{
	uint8_t v = LSR_THRE | LSR_TEMT | u->u_lsr_err;

	if (u->u_rx_n)
		v |= LSR_DR;
	u->u_lsr_err = 0;
	return v;
}

static uint8_t uart_read_msr(struct uart *u)
{
	uint8_t v = uart_modem_in(u) | u->u_msr_dx;

	u->u_msr_dx = 0;
	return v;
}

static uint8_t uart_read(struct uart *u, unsigned reg)
{
	bool dlab = u->u_lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR:
		return dlab ? (uint8_t)u->u_dl : uart_rx_pop(u);
	case REG_IER:
		return dlab ? (uint8_t)(u->u_dl >> 8) : u->u_ier;
	case REG_IIR:
		return uart_read_iir(u);
	case REG_LCR:
		return u->u_lcr;
	case REG_MCR:
		return u->u_mcr;
	case REG_LSR:
		return uart_read_lsr(u);
	case REG_MSR:
		return uart_read_msr(u);
	case REG_SCR:
		return u->u_scr;
	default:
		return 0xff;
	}
}

void uart_io(struct uart *u, unsigned reg, bool out, uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (out)
			uart_write(u, reg, data[i]);
		else
			data[i] = uart_read(u, reg);
	}
	uart_update(u);
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t i = 0;

	if (u->u_mcr & MCR_LOOP)
		return 0;
	while (i < n && uart_rx_push(u, buf[i]))
		i++;
	uart_update(u);
	return i;
}
