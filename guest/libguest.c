/* libguest.c: freestanding guest runtime. Trust: runs inside the guest. */
#include "libguest.h"

#define SERIAL_THR GUEST_PORT_SERIAL
#define SERIAL_LSR (GUEST_PORT_SERIAL + 5)
#define LSR_THRE   0x20 /* transmit holding register empty */

/*
 * Every LSR read is a VM exit.  An emulated UART is ready at once, so the
 * bound only matters if the frontend never sets THRE: then we send anyway
 * rather than hang the payload.
 */
#define SERIAL_POLL_LIMIT 1024

/* Own cache line: vCPUs bouncing it should not disturb neighbouring data. */
static struct spinlock serial_spin __attribute__((aligned(64)));

/* ---- Memory and string helpers (gcc may emit calls to these) ---- */

/*
 * rep stosb/movsb rather than C loops: gcc can turn a C copy loop back into
 * a call to memcpy itself, and ERMS makes the string instructions fast.
 */
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);

	/* Overlap with dst above src: copy backwards, then restore DF=0. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld"
			 : "+D"(d), "+S"(s), "+c"(n)
			 :
			 : "memory", "cc");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- Locks ---- */

void spin_lock(struct spinlock *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		/* Wait with plain loads so waiters share the line read-only. */
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
			cpu_relax();
	}
}

void spin_unlock(struct spinlock *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

void serial_lock(void)
{
	spin_lock(&serial_spin);
}

void serial_unlock(void)
{
	spin_unlock(&serial_spin);
}

/* ---- Serial output ---- */

void serial_putc(char c)
{
	for (unsigned int i = 0; i < SERIAL_POLL_LIMIT; i++)
		if (inb(SERIAL_LSR) & LSR_THRE)
			break;
	outb(SERIAL_THR, (u8)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_repeat(char c, unsigned int n)
{
	while (n--)
		serial_putc(c);
}

/*
 * Print magnitude mag in base (10 or 16), with a '-' if neg, padded to
 * width with pad.  Zero padding goes after the sign, space padding before.
 */
static void put_number(u64 mag, int neg, unsigned int base, unsigned int width,
		       char pad)
{
	char buf[20]; /* UINT64_MAX has 20 decimal digits */
	unsigned int n = 0, len;

	do {
		buf[n++] = "0123456789abcdef"[mag % base];
		mag /= base;
	} while (mag);

	len = n + (neg ? 1 : 0);
	if (pad != '0' && width > len)
		put_repeat(pad, width - len);
	if (neg)
		serial_putc('-');
	if (pad == '0' && width > len)
		put_repeat('0', width - len);
	while (n)
		serial_putc(buf[--n]);
}

void print_dec(u64 val)
{
	put_number(val, 0, 10, 0, ' ');
}

void print_hex(u64 val)
{
	put_number(val, 0, 16, 0, ' ');
}

/* ---- printf subset ---- */

/* Widths beyond this are surely a typo; cap so output stays bounded. */
#define GPRINTF_MAX_WIDTH 64

static s64 arg_signed(va_list *ap, unsigned int longs)
{
	if (longs >= 2)
		return va_arg(*ap, long long);
	if (longs == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static u64 arg_unsigned(va_list *ap, unsigned int longs)
{
	if (longs >= 2)
		return va_arg(*ap, unsigned long long);
	if (longs == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

/* Emit one conversion; returns 0 if conv is not one we support. */
static int put_conv(char conv, va_list *ap, unsigned int longs,
		    unsigned int width, char pad)
{
	const char *s;
	s64 sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = arg_signed(ap, longs);
		/* Negate in unsigned arithmetic so LLONG_MIN is fine. */
		put_number(sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10, width, pad);
		return 1;
	case 'u':
		put_number(arg_unsigned(ap, longs), 0, 10, width, pad);
		return 1;
	case 'x':
		put_number(arg_unsigned(ap, longs), 0, 16, width, pad);
		return 1;
	case 'p':
		serial_puts("0x");
		put_number((uintptr_t)va_arg(*ap, void *), 0, 16, width, pad);
		return 1;
	case 'c':
		serial_putc((char)va_arg(*ap, int));
		return 1;
	case 's':
		s = va_arg(*ap, const char *);
		serial_puts(s ? s : "(null)");
		return 1;
	case '%':
		serial_putc('%');
		return 1;
	default:
		return 0;
	}
}

/*
 * The va_list is handled through a pointer: on x86-64 va_list is an array
 * type, and passing it by pointer is the portable way to share it with
 * helpers.
 */
static void format(const char *fmt, va_list *ap)
{
	while (*fmt) {
		const char *spec = fmt;
		unsigned int longs = 0, width = 0;
		char pad = ' ';

		if (*fmt != '%') {
			serial_putc(*fmt++);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9') {
			width = width * 10 + (unsigned int)(*fmt++ - '0');
			if (width > GPRINTF_MAX_WIDTH)
				width = GPRINTF_MAX_WIDTH;
		}
		if (*fmt == 'z') {
			longs = 1; /* size_t is unsigned long on x86-64 */
			fmt++;
		}
		while (*fmt == 'l' && longs < 2) {
			longs++;
			fmt++;
		}
		if (*fmt && put_conv(*fmt, ap, longs, width, pad)) {
			fmt++;
			continue;
		}
		/* Unsupported or truncated: show the spec as written. */
		while (spec < fmt)
			serial_putc(*spec++);
		if (*fmt)
			serial_putc(*fmt++);
	}
}

void gvprintf(const char *fmt, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	serial_lock();
	format(fmt, &copy);
	serial_unlock();
	va_end(copy);
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
}

/* ---- Host interface ---- */

void report(u32 val)
{
	outl(GUEST_PORT_REPORT, val);
}

void guest_exit(u32 status)
{
	outl(GUEST_PORT_EXIT, status);
	/* The host parks this vCPU on the exit above; HLT faults at CPL3. */
	for (;;)
		cpu_relax();
}

int bootinfo_valid(const struct guest_bootinfo *bi)
{
	return bi && bi->gb_magic == GUEST_BOOTINFO_MAGIC;
}

/* ---- Command line ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Value of digit c in base 10 or 16, or -1 if it is not one. */
static int digit_value(char c, unsigned int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse [s, end) as a whole: digits, then at most one K/M/G suffix. */
static enum cmdline_result parse_u64(const char *s, const char *end, u64 *out)
{
	unsigned int base = 10, shift;
	const char *digits;
	u64 v = 0;
	int d;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (digits = s; s < end && (d = digit_value(*s, base)) >= 0; s++) {
		if (v > (UINT64_MAX - (u64)d) / base)
			return CMDLINE_INVALID;
		v = v * base + (u64)d;
	}
	if (s == digits)
		return CMDLINE_INVALID;
	if (s < end) {
		switch (*s++) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		default:
			return CMDLINE_INVALID;
		}
		if (v > UINT64_MAX >> shift)
			return CMDLINE_INVALID;
		v <<= shift;
	}
	if (s != end)
		return CMDLINE_INVALID;
	*out = v;
	return CMDLINE_FOUND;
}

enum cmdline_result cmdline_get_u64(const struct guest_bootinfo *bi,
				    const char *key, u64 *out)
{
	enum cmdline_result res = CMDLINE_ABSENT;
	const char *p, *end;
	size_t klen;
	u64 v = 0;

	if (!bootinfo_valid(bi) || !key || !*key)
		return CMDLINE_ABSENT;
	klen = strlen(key);
	p = bi->gb_cmdline;
	/* Bounded by the buffer, not only by the host's NUL terminator. */
	end = p + GUEST_CMDLINE_MAX;

	while (p < end && *p) {
		const char *word;

		if (is_blank(*p)) {
			p++;
			continue;
		}
		word = p;
		while (p < end && *p && !is_blank(*p))
			p++;
		if ((size_t)(p - word) > klen && word[klen] == '=' &&
		    memcmp(word, key, klen) == 0)
			res = parse_u64(word + klen + 1, p, &v);
	}
	if (res == CMDLINE_FOUND)
		*out = v;
	return res;
}

u64 cmdline_u64(const struct guest_bootinfo *bi, const char *key, u64 dflt)
{
	u64 v;

	switch (cmdline_get_u64(bi, key, &v)) {
	case CMDLINE_FOUND:
		return v;
	case CMDLINE_INVALID:
		gprintf("guest: bad %s= on the command line, using %llu\n", key,
			dflt);
		return dflt;
	default:
		return dflt;
	}
}
