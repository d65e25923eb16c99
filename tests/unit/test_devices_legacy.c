/*
 * test_devices_legacy.c: the 16550A (vmm-frontend/devices/uart.c), the 8042 and
 * the CMOS RTC (vmm-frontend/devices/legacy.c) driven through their ports as a
 * Linux kernel drives them: the 8250 driver's probe (scratch and IER
 * registers, loopback, FIFO detection) and its THRE interrupt test,
 * console output and input with their interrupts, the divisor latch; the
 * i8042 driver's controller commands and the reboot path, its keyboard
 * interrupt and the CTRL+ALT+DEL a shutdown request queues; the RTC read
 * in BCD and binary, 24- and 12-hour modes, at a pinned time.
 * Trust: test code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "legacy.h"
#include "uart.h"

#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define MCR_DTR_RTS_OUT2 0x0b
#define MCR_LOOP	 0x10

/* What the UART's callbacks saw. */
struct seen {
	unsigned irqs; /* level changes */
	bool level;
	char lines[4][UART_LINE_MAX];
	unsigned nlines;
};

static void seen_irq(void *arg, bool level)
{
	struct seen *s = arg;

	s->irqs++;
	s->level = level;
}

static void seen_line(void *arg, const char *line)
{
	struct seen *s = arg;

	if (s->nlines < 4)
		snprintf(s->lines[s->nlines], UART_LINE_MAX, "%s", line);
	s->nlines++;
}

static uint8_t in(struct uart *u, unsigned reg)
{
	uint8_t v = 0;

	uart_io(u, reg, false, &v, 1);
	return v;
}

static void out(struct uart *u, unsigned reg, uint8_t v)
{
	uart_io(u, reg, true, &v, 1);
}

/* Linux's autoconfig() and autoconfig_16550a(), step by step. */
static void test_uart_probe(void)
{
	struct uart u;

	uart_init(&u, NULL, NULL, NULL, NULL);
	out(&u, IER, 0);
	CHECK((in(&u, IER) & 0x0f) == 0, "IER cleared");
	out(&u, IER, 0x0f);
	CHECK((in(&u, IER) & 0x0f) == 0x0f, "IER takes its four bits");
	out(&u, IER, 0xff);
	CHECK(in(&u, IER) == 0x0f, "IER has no more (no UUE bit: no Xscale)");
	out(&u, IER, 0);
	out(&u, SCR, 0xa5);
	CHECK(in(&u, SCR) == 0xa5, "scratch 0xa5");
	out(&u, SCR, 0x5a);
	CHECK(in(&u, SCR) == 0x5a, "scratch 0x5a");

	out(&u, MCR, MCR_LOOP | 0x0a); /* loop, OUT2, RTS */
	CHECK((in(&u, MSR) & 0xf0) == 0x90, "loopback: DCD and CTS");
	out(&u, MCR, MCR_LOOP | 0x05); /* loop, OUT1, DTR */
	CHECK((in(&u, MSR) & 0xf0) == 0x60, "loopback: RI and DSR");
	out(&u, MCR, 0);
	CHECK((in(&u, MSR) & 0xf0) == 0xb0, "out of loopback: DCD DSR CTS");

	out(&u, LCR, 0xbf); /* an EFR would be here: on a 16550A it is FCR */
	out(&u, FCR, 0);
	out(&u, LCR, 0);
	out(&u, FCR, 0x01);
	CHECK(in(&u, IIR) >> 6 == 3, "FIFOs on: a 16550A");
	out(&u, FCR, 0xc7);
	CHECK((in(&u, IIR) & 0xc0) == 0xc0, "FCR 0xc7: IIR high bits 0xc0");
	out(&u, LCR, 0x80);
	CHECK(in(&u, IIR) != 0, "DLAB set: no EFR reads 0 (no ST16C650V1)");
	out(&u, LCR, 0xbf);
	CHECK(in(&u, IIR) != 0, "LCR 0xbf: no EFR reads 0 (no ST16C650V2)");
	out(&u, LCR, 0xe0);
	CHECK((in(&u, IIR) & 0x30) == 0, "no NatSemi EXCR1 loop bit");
	out(&u, LCR, 0);
	out(&u, FCR, 0x21);
	CHECK(in(&u, IIR) >> 5 == 6, "no 64-byte FIFO: not a 16750");
	out(&u, FCR, 0);
	CHECK((in(&u, IIR) & 0xc0) == 0, "FIFOs off: IIR high bits clear");
	CHECK(in(&u, IIR) == 0x01, "no interrupt pending");
	CHECK(in(&u, LSR) == 0x60, "LSR: THRE and TEMT, not 0xff");
}

/* serial8250_do_startup(): THRI turned on with THR empty interrupts. */
static void test_uart_thre(void)
{
	struct seen s = {0};
	struct uart u;

	uart_init(&u, NULL, seen_irq, NULL, &s);
	out(&u, FCR, 0x01);
	out(&u, IER, 0x02);
	CHECK(s.irqs == 0, "OUT2 clear: no interrupt reaches the bus");
	CHECK(in(&u, IIR) == 0xc2, "but the IIR reports THRE");
	CHECK(in(&u, IIR) == 0xc1, "which reading the IIR cleared");
	out(&u, IER, 0);
	out(&u, IER, 0x02);
	CHECK(in(&u, IIR) == 0xc2, "THRE reasserted: no UART_BUG_THRE");
	out(&u, IER, 0);

	out(&u, MCR, MCR_DTR_RTS_OUT2);
	out(&u, IER, 0x02);
	CHECK(s.irqs == 1 && s.level, "THRI with THR empty: irq up");
	CHECK((in(&u, LSR) & 0x40) && in(&u, IIR) == 0xc2,
	      "TEMT and THRE pending: no UART_BUG_TXEN");
	CHECK(in(&u, IIR) == 0xc1 && s.irqs == 2 && !s.level,
	      "the IIR read dropped it");
	out(&u, THR, 'x');
	CHECK(s.irqs == 3 && s.level,
	      "a THR write: empty again at once, irq up");
	out(&u, IER, 0);
	CHECK(s.irqs == 4 && !s.level, "THRI off: irq down");
	out(&u, IER, 0x02);
	CHECK(s.irqs == 5 && s.level, "THRI on again: irq up");
	out(&u, MCR, 0);
	CHECK(!s.level && in(&u, IIR) == 0xc2, "OUT2 off gates it");
}

static void test_uart_output(void)
{
	const char text[] = "hello\r\nKernel panic - not syncing: x\r\n";
	uint8_t buf[600];
	struct seen s = {0};
	struct uart u;
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);

	CHECK(f != NULL, "open_memstream");
	if (!f)
		return;
	uart_init(&u, f, seen_irq, seen_line, &s);
	uart_io(&u, THR, true, (uint8_t *)text, strlen(text)); /* rep outsb */
	CHECK(memlen == strlen(text) && memcmp(mem, text, memlen) == 0,
	      "the bytes reach out, flushed at the newline: %zu", memlen);
	CHECK(s.nlines == 2 && strcmp(s.lines[0], "hello") == 0 &&
		      strcmp(s.lines[1], "Kernel panic - not syncing: x") == 0,
	      "two lines without \\r\\n: %u", s.nlines);
	CHECK(s.irqs == 0, "THRI off: no interrupt");

	memset(buf, 'a', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	uart_io(&u, THR, true, buf, sizeof(buf));
	CHECK(s.nlines == 5 && strlen(s.lines[2]) == UART_LINE_MAX - 1 &&
		      strlen(s.lines[3]) == UART_LINE_MAX - 1,
	      "a long line comes in pieces: %u", s.nlines);

	out(&u, MCR, MCR_LOOP);
	out(&u, THR, 'L');
	fflush(f);
	CHECK(memlen == strlen(text) + sizeof(buf),
	      "loopback: nothing transmitted");
	CHECK((in(&u, LSR) & 0x01) && in(&u, RBR) == 'L',
	      "loopback: the byte is received");
	fclose(f);
	free(mem);
}

static void test_uart_input(void)
{
	uint8_t big[300], got[4];
	struct seen s = {0};
	struct uart u;

	uart_init(&u, NULL, seen_irq, NULL, &s);
	out(&u, FCR, 0xc7);
	out(&u, MCR, MCR_DTR_RTS_OUT2);
	out(&u, IER, 0x05); /* RDI, RLSI: as Linux sets up->ier */
	CHECK(uart_input(&u, (const uint8_t *)"ab", 2) == 2 && s.level,
	      "input with RDI on: irq up");
	CHECK(in(&u, LSR) == 0x61 && in(&u, IIR) == 0xc4,
	      "DR, and the IIR says received data");
	CHECK(in(&u, RBR) == 'a' && s.level, "one read: still data");
	CHECK(in(&u, RBR) == 'b' && !s.level && in(&u, IIR) == 0xc1,
	      "drained: irq down");
	CHECK(in(&u, LSR) == 0x60, "no DR");

	memset(big, 'z', sizeof(big));
	CHECK(uart_input(&u, big, sizeof(big)) == UART_RX_MAX,
	      "the buffer takes %d", UART_RX_MAX);
	CHECK(uart_input(&u, big, 1) == 0, "a full buffer takes none");
	uart_io(&u, RBR, false, got, sizeof(got)); /* rep insb */
	CHECK(memcmp(got, "zzzz", 4) == 0, "insb fills each byte");
	out(&u, FCR, 0xc3); /* clear the receive FIFO */
	CHECK(!(in(&u, LSR) & 0x01) && !s.level, "FCR cleared it");
	out(&u, MCR, MCR_LOOP);
	CHECK(uart_input(&u, big, 1) == 0, "loopback: the receiver is off");
}

/* Interrupt priorities: line status > data > THRE > modem status. */
static void test_uart_priority(void)
{
	struct uart u;

	uart_init(&u, NULL, NULL, NULL, NULL);
	out(&u, FCR, 0x01);
	out(&u, MCR, MCR_LOOP);
	in(&u, MSR); /* entering loopback changed the inputs */
	for (unsigned i = 0; i <= UART_RX_MAX; i++)
		out(&u, THR, (uint8_t)i); /* one more than fits: overrun */
	out(&u, MCR, MCR_LOOP | 0x01);	  /* DTR: DSR changes */
	out(&u, IER, 0x0f);
	CHECK(in(&u, IIR) == 0xc6, "line status first");
	CHECK(in(&u, LSR) == 0x63, "overrun and data; the read clears OE");
	CHECK(in(&u, IIR) == 0xc4, "then received data");
	for (unsigned i = 0; i < UART_RX_MAX; i++)
		in(&u, RBR);
	CHECK(in(&u, IIR) == 0xc2, "then THRE");
	CHECK(in(&u, IIR) == 0xc0, "then modem status");
	CHECK(in(&u, MSR) == 0x22, "DSR and its delta");
	CHECK(in(&u, IIR) == 0xc1, "none left");
}

static void test_uart_divisor(void)
{
	struct uart u;

	uart_init(&u, NULL, NULL, NULL, NULL);
	out(&u, IER, 0x05);
	out(&u, LCR, 0x83);
	CHECK((in(&u, DLL) | in(&u, DLM) << 8) != 0, "a divisor at reset");
	out(&u, DLL, 0x0c);
	out(&u, DLM, 0x01);
	CHECK(in(&u, DLL) == 0x0c && in(&u, DLM) == 0x01, "DLL, DLM");
	out(&u, LCR, 0x03);
	CHECK(in(&u, IER) == 0x05 && in(&u, LCR) == 0x03,
	      "DLAB off: IER as it was");
	out(&u, LCR, 0x83);
	CHECK(in(&u, DLL) == 0x0c && in(&u, DLM) == 0x01, "the divisor kept");
}

static uint8_t kin(struct i8042 *k, uint16_t port)
{
	uint8_t v = 0;

	i8042_io(k, port, false, &v, 1);
	return v;
}

static int kout(struct i8042 *k, uint16_t port, uint8_t v)
{
	return i8042_io(k, port, true, &v, 1);
}

/* A controller command and its one-byte answer, as i8042_command() does. */
static int kcmd(struct i8042 *k, uint8_t cmd)
{
	kout(k, I8042_STATUS, cmd);
	if (!(kin(k, I8042_STATUS) & 0x01))
		return -1;
	return kin(k, I8042_DATA);
}

static void test_i8042(void)
{
	struct i8042 k;
	uint8_t b[2];

	i8042_init(&k, NULL, NULL);
	CHECK((kin(&k, I8042_STATUS) & 0x07) == 0x04,
	      "empty, input buffer never full, system flag");
	CHECK(kcmd(&k, 0xaa) == 0x55, "self test");
	CHECK(kcmd(&k, 0xab) == 0x00 && kcmd(&k, 0xa9) == 0x00,
	      "interface tests");
	CHECK(kcmd(&k, 0x20) == 0x65, "the command byte");
	kout(&k, I8042_STATUS, 0x60);
	kout(&k, I8042_DATA, 0x41);
	CHECK(kcmd(&k, 0x20) == 0x41, "written and read back");
	kout(&k, I8042_STATUS, 0x60);
	kout(&k, I8042_DATA, 0x40);
	CHECK(!(kin(&k, I8042_STATUS) & 0x04), "system flag cleared");
	kout(&k, I8042_STATUS, 0xa7);
	CHECK(kcmd(&k, 0x20) & 0x20, "0xa7: aux disabled");
	kout(&k, I8042_STATUS, 0xa8);
	CHECK(!(kcmd(&k, 0x20) & 0x20), "0xa8: aux enabled");
	kout(&k, I8042_STATUS, 0xad);
	CHECK(kcmd(&k, 0x20) & 0x10, "0xad: keyboard disabled");
	kout(&k, I8042_STATUS, 0xae);
	CHECK(!(kcmd(&k, 0x20) & 0x10), "0xae: keyboard enabled");
	CHECK(kcmd(&k, 0xd0) == 0x03, "output port: running, A20 on");

	kout(&k, I8042_STATUS, 0xd3);
	kout(&k, I8042_DATA, 0x5a);
	CHECK((kin(&k, I8042_STATUS) & 0x21) == 0x21 &&
		      kin(&k, I8042_DATA) == 0x5a,
	      "aux loop: the byte, marked as the aux port's");
	kout(&k, I8042_DATA, 0xff);
	i8042_io(&k, I8042_DATA, false, b, 2);
	CHECK(b[0] == 0xfa && b[1] == 0xaa, "keyboard reset: ACK, BAT");
	kout(&k, I8042_DATA, 0xed);
	kout(&k, I8042_DATA, 0x07);
	i8042_io(&k, I8042_DATA, false, b, 2);
	CHECK(b[0] == 0xfa && b[1] == 0xfa, "LEDs and their parameter ACKed");
	CHECK(!(kin(&k, I8042_STATUS) & 0x01) && kin(&k, I8042_DATA) == 0xfa,
	      "empty: 0x60 reads the last byte again");
	for (int i = 0; i < 40; i++)
		kout(&k, I8042_STATUS, 0xaa);
	CHECK(!(kin(&k, I8042_STATUS) & 0x02), "kb_wait: never busy");

	CHECK(kout(&k, I8042_STATUS, 0xfe) == I8042_RESET, "0xfe resets");
	CHECK(kout(&k, I8042_STATUS, 0xff) == 0, "0xff pulses nothing");
	kout(&k, I8042_STATUS, 0xd1);
	CHECK(kout(&k, I8042_DATA, 0xdf) == 0, "0xd1 with bit 0 set: A20");
	kout(&k, I8042_STATUS, 0xd1);
	CHECK(kout(&k, I8042_DATA, 0xde) == I8042_RESET,
	      "0xd1 with bit 0 clear resets");
	CHECK(kin(&k, 0x61) == 0xff, "not its port");
}

static void count_edge(void *arg)
{
	(*(unsigned *)arg)++;
}

/* Reads everything queued; returns how many bytes, copied into out. */
static size_t kdrain(struct i8042 *k, uint8_t *out, size_t max)
{
	size_t n = 0;

	while ((kin(k, I8042_STATUS) & 0x01) && n < max)
		out[n++] = kin(k, I8042_DATA);
	return n;
}

/*
 * IRQ 1 as Linux's i8042 driver sees it: an edge for each keyboard byte
 * when the command byte enables it, none for the aux port's, none while
 * disabled; and CTRL+ALT+DEL in the scan code set the guest reads.
 */
static void test_i8042_irq(void)
{
	static const uint8_t cad1[] = {0x1d, 0x38, 0xe0, 0x53,
				       0xe0, 0xd3, 0xb8, 0x9d};
	static const uint8_t cad2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	struct i8042 k;
	unsigned edges = 0;
	uint8_t b[16];

	i8042_init(&k, count_edge, &edges);
	CHECK(i8042_kbd_listening(&k), "firmware's command byte: listening");
	kout(&k, I8042_STATUS, 0x60);
	kout(&k, I8042_DATA, 0x64); /* Linux probing: interrupts off */
	CHECK(!i8042_kbd_listening(&k), "interrupt off: not listening");
	kout(&k, I8042_DATA, 0xff);
	CHECK(edges == 0 && kdrain(&k, b, 16) == 2, "no edge while disabled");
	kout(&k, I8042_DATA, 0xff); /* ACK, BAT queued, then enabled */
	kout(&k, I8042_STATUS, 0x60);
	kout(&k, I8042_DATA, 0x65);
	CHECK(edges == 1, "enabling the interrupt raises it for the queue");
	CHECK(kin(&k, I8042_DATA) == 0xfa && edges == 2,
	      "reading a byte raises it again for the next");
	CHECK(kin(&k, I8042_DATA) == 0xaa && edges == 2, "none when empty");
	kout(&k, I8042_STATUS, 0xd3);
	kout(&k, I8042_DATA, 0x5a);
	CHECK(edges == 2 && kdrain(&k, b, 16) == 1, "no IRQ 1 for aux bytes");

	edges = 0;
	CHECK(i8042_ctrl_alt_del(&k) == 0 && edges == 1,
	      "CTRL+ALT+DEL queued: one edge");
	CHECK(kdrain(&k, b, 16) == sizeof(cad1) &&
		      memcmp(b, cad1, sizeof(cad1)) == 0 &&
		      edges == sizeof(cad1),
	      "set 1 with translation, one edge per byte");
	kout(&k, I8042_STATUS, 0x60);
	kout(&k, I8042_DATA, 0x25); /* no translation */
	CHECK(i8042_ctrl_alt_del(&k) == 0 &&
		      kdrain(&k, b, 16) == sizeof(cad2) &&
		      memcmp(b, cad2, sizeof(cad2)) == 0,
	      "set 2 without translation");
	CHECK(i8042_ctrl_alt_del(&k) == 0 && i8042_ctrl_alt_del(&k) == -ENOSPC,
	      "a guest that does not read: refused, not truncated");
}

#define PINNED 1796406616 /* 2026-12-04 17:50:16 UTC, a Friday */

static time_t pinned(void)
{
	return PINNED;
}

static uint8_t rtc(struct cmos *c, uint8_t idx)
{
	uint8_t v = 0;

	cmos_io(c, CMOS_INDEX, true, &idx, 1);
	cmos_io(c, CMOS_DATA, false, &v, 1);
	return v;
}

static void rtc_set(struct cmos *c, uint8_t idx, uint8_t v)
{
	cmos_io(c, CMOS_INDEX, true, &idx, 1);
	cmos_io(c, CMOS_DATA, true, &v, 1);
}

static void test_cmos(void)
{
	struct cmos c;

	cmos_init(&c);
	CHECK(c.c_now() > PINNED - 1000000000, "the default clock is time()");
	c.c_now = pinned;
	CHECK(rtc(&c, 0x0a) == 0x26 && rtc(&c, 0x0b) == 0x02 &&
		      rtc(&c, 0x0c) == 0 && rtc(&c, 0x0d) == 0x80,
	      "registers A-D at reset");
	/* mc146818_get_time(): seconds, UIP clear, seconds again, the rest */
	CHECK(rtc(&c, 0x00) == 0x16 && !(rtc(&c, 0x0a) & 0x80) &&
		      rtc(&c, 0x00) == 0x16,
	      "seconds, no update in progress");
	CHECK(rtc(&c, 0x02) == 0x50 && rtc(&c, 0x04) == 0x17 &&
		      rtc(&c, 0x06) == 0x06 && rtc(&c, 0x07) == 0x04 &&
		      rtc(&c, 0x08) == 0x12 && rtc(&c, 0x09) == 0x26 &&
		      rtc(&c, 0x32) == 0x20,
	      "BCD: 17:50, Friday 4 December 2026");
	rtc_set(&c, 0x0b, 0x06);
	CHECK(rtc(&c, 0x00) == 16 && rtc(&c, 0x02) == 50 &&
		      rtc(&c, 0x04) == 17 && rtc(&c, 0x07) == 4 &&
		      rtc(&c, 0x08) == 12 && rtc(&c, 0x09) == 26 &&
		      rtc(&c, 0x32) == 20,
	      "binary");
	rtc_set(&c, 0x0b, 0x00);
	CHECK(rtc(&c, 0x04) == 0x85, "12-hour BCD: 5 pm");
	rtc_set(&c, 0x0b, 0x04);
	CHECK(rtc(&c, 0x04) == 0x85, "12-hour binary: 5 pm");
	rtc_set(&c, 0x0b, 0x02);

	CHECK(rtc(&c, 0x80) == 0x16, "index bit 7 (NMI mask) ignored");
	rtc_set(&c, 0x00, 0x59);
	CHECK(rtc(&c, 0x00) == 0x16, "the clock is not the guest's to set");
	rtc_set(&c, 0x0a, 0xa6);
	CHECK(rtc(&c, 0x0a) == 0x26, "UIP is read-only");
	rtc_set(&c, 0x0d, 0x00);
	CHECK(rtc(&c, 0x0d) == 0x80, "register D stays valid");
	rtc_set(&c, 0x40, 0x5a);
	rtc_set(&c, 0x7f, 0xa5);
	CHECK(rtc(&c, 0x40) == 0x5a && rtc(&c, 0x7f) == 0xa5,
	      "other bytes are kept");
}

int main(void)
{
	test_uart_probe();
	test_uart_thre();
	test_uart_output();
	test_uart_input();
	test_uart_priority();
	test_uart_divisor();
	test_i8042();
	test_i8042_irq();
	test_cmos();
	return checks_report("test_devices_legacy");
}
