/*
 * legacy.c: see legacy.h.  The 8042's commands and bits are those of the
 * IBM PC/AT keyboard controller and its PS/2 successor; the RTC's
 * registers those of the MC146818, the century byte the PC's (0x32).
 * Trust: unprivileged; guest values index fixed-size state, masked first.
 */
#include <errno.h>
#include <string.h>

#include "legacy.h"

#define STR_OBF	    0x01 /* output buffer full */
#define STR_SYS	    0x04 /* system flag, from the command byte */
#define STR_CMD	    0x08 /* the last write was a command */
#define STR_UNLOCK  0x10 /* the keyboard is not inhibited by its lock */
#define STR_AUXDATA 0x20 /* the byte in the output buffer is the aux port's */

#define CTR_KBDINT  0x01
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40
/*
 * As firmware leaves it with no mouse: scan code translation, the system
 * flag, the keyboard interrupt on, the aux port off.
 */
#define CTR_RESET 0x65

#define OUTPORT_RESET 0x01 /* the CPU runs while it is 1 */
#define OUTPORT_A20   0x02
#define Q_AUX	      0x100

#define KBD_ACK	  0xfa
#define KBD_ECHO  0xee
#define KBD_RESET 0xff
#define KBD_BAT	  0xaa /* basic assurance test passed */

void i8042_init(struct i8042 *k, void (*irq)(void *arg), void *arg)
{
	memset(k, 0, sizeof(*k));
	k->k_ram[0] = CTR_RESET;
	k->k_outport = OUTPORT_RESET | OUTPORT_A20;
	k->k_irq = irq;
	k->k_irq_arg = arg;
}

/*
 * One edge per keyboard byte at the head of the queue, when the guest
 * enabled the interrupt: the guest's handler reads one byte per
 * interrupt, and the next byte's edge follows its read.
 */
static void i8042_update_irq(struct i8042 *k)
{
	if (k->k_n == 0 || k->k_raised || k->k_irq == NULL ||
	    (k->k_q[k->k_head] & Q_AUX) || !(k->k_ram[0] & CTR_KBDINT))
		return;
	k->k_raised = true;
	k->k_irq(k->k_irq_arg);
}

/* A full queue drops the byte: the guest was not reading anyway. */
static void i8042_push(struct i8042 *k, uint16_t v)
{
	if (k->k_n == I8042_QUEUE)
		return;
	k->k_q[(k->k_head + k->k_n) % I8042_QUEUE] = v;
	k->k_n++;
	i8042_update_irq(k);
}

static uint8_t i8042_pop(struct i8042 *k)
{
	if (k->k_n > 0) {
		k->k_last = (uint8_t)k->k_q[k->k_head];
		k->k_head = (k->k_head + 1) % I8042_QUEUE;
		k->k_n--;
		k->k_raised = false;
		i8042_update_irq(k);
	}
	return k->k_last;
}

int i8042_ctrl_alt_del(struct i8042 *k)
{
	/* make CTRL, ALT, DEL (E0-prefixed), then break them, in reverse */
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53,
				       0xe0, 0xd3, 0xb8, 0x9d};
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	bool xlate = k->k_ram[0] & CTR_XLATE;
	const uint8_t *codes = xlate ? set1 : set2;
	size_t n = xlate ? sizeof(set1) : sizeof(set2);

	if (I8042_QUEUE - k->k_n < n)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		i8042_push(k, codes[i]);
	return 0;
}

bool i8042_kbd_listening(const struct i8042 *k)
{
	return (k->k_ram[0] & CTR_KBDINT) && !(k->k_ram[0] & CTR_KBDDIS);
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t s = STR_UNLOCK;

	if (k->k_n > 0)
		s |= STR_OBF;
	if (k->k_n > 0 && (k->k_q[k->k_head] & Q_AUX))
		s |= STR_AUXDATA;
	if (k->k_ram[0] & CTR_SYSFLAG)
		s |= STR_SYS;
	if (k->k_last_cmd)
		s |= STR_CMD;
	return s;
}

/* A keyboard is attached and answers every command. */
static void i8042_kbd(struct i8042 *k, uint8_t v)
{
	if (k->k_kbd_cmd) {
		k->k_kbd_cmd = 0; /* the parameter of 0xed, 0xf0, 0xf3 */
		i8042_push(k, KBD_ACK);
		return;
	}
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* scan code set */
	case 0xf3: /* typematic rate */
		k->k_kbd_cmd = v;
		i8042_push(k, KBD_ACK);
		break;
	case KBD_ECHO:
		i8042_push(k, KBD_ECHO);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		i8042_push(k, KBD_ACK);
		i8042_push(k, 0xab);
		i8042_push(k, 0x83);
		break;
	case KBD_RESET:
		i8042_push(k, KBD_ACK);
		i8042_push(k, KBD_BAT);
		break;
	default:
		i8042_push(k, KBD_ACK);
		break;
	}
}

/* A data byte: a pending command's, else the keyboard's. */
static int i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->k_cmd;

	k->k_cmd = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->k_ram[cmd & 0x1f] = v;
		i8042_update_irq(
			k); /* the interrupt may just have been enabled */
	} else if (cmd == 0xd1) {
		k->k_outport = v;
		if (!(v & OUTPORT_RESET))
			return I8042_RESET;
	} else if (cmd == 0xd2) {
		i8042_push(k, v);
	} else if (cmd == 0xd3) {
		i8042_push(k, v | Q_AUX);
	} else if (cmd == 0xd4) {
		/* to the mouse: there is none */
	} else {
		i8042_kbd(k, v);
	}
	return 0;
}

static void i8042_ctr_bit(struct i8042 *k, uint8_t bit, bool set)
{
	if (set)
		k->k_ram[0] |= bit;
	else
		k->k_ram[0] &= (uint8_t)~bit;
}

/* Commands 0xf0-0xff pulse the output port lines whose bits are clear. */
static int i8042_command(struct i8042 *k, uint8_t v)
{
	if (v >= 0x20 && v <= 0x3f) {
		i8042_push(k, k->k_ram[v & 0x1f]);
		return 0;
	}
	if ((v >= 0x60 && v <= 0x7f) || (v >= 0xd1 && v <= 0xd4)) {
		k->k_cmd = v;
		return 0;
	}
	if (v >= 0xf0)
		return v & OUTPORT_RESET ? 0 : I8042_RESET;
	switch (v) {
	case 0xa7:
	case 0xa8:
		i8042_ctr_bit(k, CTR_AUXDIS, v == 0xa7);
		break;
	case 0xad:
	case 0xae:
		i8042_ctr_bit(k, CTR_KBDDIS, v == 0xad);
		break;
	case 0xa9: /* aux interface test */
	case 0xab: /* keyboard interface test */
		i8042_push(k, 0x00);
		break;
	case 0xaa: /* self test */
		i8042_push(k, 0x55);
		break;
	case 0xd0:
		i8042_push(k, k->k_outport);
		break;
	default: /* unknown: ignored */
		break;
	}
	return 0;
}

static int i8042_byte(struct i8042 *k, uint16_t port, bool out, uint8_t *v)
{
	if (port != I8042_DATA && port != I8042_STATUS) {
		if (!out)
			*v = 0xff;
		return 0;
	}
	if (!out) {
		*v = port == I8042_DATA ? i8042_pop(k) : i8042_status(k);
		return 0;
	}
	k->k_last_cmd = port == I8042_STATUS;
	return port == I8042_STATUS ? i8042_command(k, *v) : i8042_data(k, *v);
}

int i8042_io(struct i8042 *k, uint16_t port, bool out, uint8_t *data,
	     size_t len)
{
	int r = 0;

	for (size_t i = 0; i < len; i++)
		if (i8042_byte(k, port, out, &data[i]) == I8042_RESET)
			r = I8042_RESET;
	return r;
}

#define RTC_SEC	    0x00
#define RTC_MIN	    0x02
#define RTC_HOUR    0x04
#define RTC_WDAY    0x06
#define RTC_MDAY    0x07
#define RTC_MON	    0x08
#define RTC_YEAR    0x09
#define RTC_A	    0x0a
#define RTC_B	    0x0b
#define RTC_C	    0x0c
#define RTC_D	    0x0d
#define RTC_CENTURY 0x32

#define A_UIP	0x80
#define A_RESET 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define B_24H	0x02
#define B_DM	0x04 /* binary, not BCD */
#define B_RESET B_24H
#define D_VRT	0x80 /* the RAM and time are valid */
#define HOUR_PM 0x80

static time_t cmos_time_now(void)
{
	return time(NULL);
}

void cmos_init(struct cmos *c)
{
	memset(c, 0, sizeof(*c));
	c->c_ram[RTC_A] = A_RESET;
	c->c_ram[RTC_B] = B_RESET;
	c->c_ram[RTC_D] = D_VRT;
	c->c_now = cmos_time_now;
}

static bool cmos_is_time(unsigned idx)
{
	return idx == RTC_SEC || idx == RTC_MIN || idx == RTC_HOUR ||
	       (idx >= RTC_WDAY && idx <= RTC_YEAR) || idx == RTC_CENTURY;
}

/* v (0..99) in the mode register B sets: binary or BCD. */
static uint8_t cmos_enc(const struct cmos *c, unsigned v)
{
	v %= 100;
	if (c->c_ram[RTC_B] & B_DM)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* In 12-hour mode, 1..12 with bit 7 for the afternoon. */
static uint8_t cmos_hour(const struct cmos *c, unsigned h)
{
	uint8_t pm = 0;

	if (c->c_ram[RTC_B] & B_24H)
		return cmos_enc(c, h);
	if (h >= 12)
		pm = HOUR_PM;
	h %= 12;
	return cmos_enc(c, h == 0 ? 12 : h) | pm;
}

static uint8_t cmos_time(const struct cmos *c, unsigned idx)
{
	time_t t = c->c_now ? c->c_now() : time(NULL);
	struct tm tm;
	unsigned year;

	if (!gmtime_r(&t, &tm))
		return 0;
	year = tm.tm_year + 1900 > 0 ? (unsigned)(tm.tm_year + 1900) : 0;
	switch (idx) {
	case RTC_SEC:
		return cmos_enc(c, (unsigned)tm.tm_sec);
	case RTC_MIN:
		return cmos_enc(c, (unsigned)tm.tm_min);
	case RTC_HOUR:
		return cmos_hour(c, (unsigned)tm.tm_hour);
	case RTC_WDAY: /* 1 is Sunday */
		return cmos_enc(c, (unsigned)tm.tm_wday + 1);
	case RTC_MDAY:
		return cmos_enc(c, (unsigned)tm.tm_mday);
	case RTC_MON:
		return cmos_enc(c, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return cmos_enc(c, year % 100);
	default:
		return cmos_enc(c, year / 100);
	}
}

/*
 * The clock never updates under the guest's reads (each read takes the
 * time afresh), so UIP reads 0 and Linux's reads settle at once.  No
 * interrupt is ever raised, so register C has no flags to report.
 */
static uint8_t cmos_read(const struct cmos *c, unsigned idx)
{
	if (cmos_is_time(idx))
		return cmos_time(c, idx);
	if (idx == RTC_A)
		return c->c_ram[RTC_A] & ~A_UIP;
	if (idx == RTC_C)
		return 0;
	if (idx == RTC_D)
		return D_VRT;
	return c->c_ram[idx];
}

static void cmos_write(struct cmos *c, unsigned idx, uint8_t v)
{
	if (cmos_is_time(idx) || idx == RTC_C || idx == RTC_D)
		return;
	c->c_ram[idx] = idx == RTC_A ? v & ~A_UIP : v;
}

static void cmos_byte(struct cmos *c, uint16_t port, bool out, uint8_t *v)
{
	if (port == CMOS_INDEX && out)
		c->c_index = *v & (CMOS_SIZE - 1);
	else if (port == CMOS_DATA && out)
		cmos_write(c, c->c_index, *v);
	else if (port == CMOS_DATA)
		*v = cmos_read(c, c->c_index);
	else if (!out)
		*v = 0xff; /* the index register is write-only */
}

void cmos_io(struct cmos *c, uint16_t port, bool out, uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cmos_byte(c, port, out, &data[i]);
}
