/* libguest.h: freestanding guest runtime API. Trust: runs inside the guest. */
#ifndef KVMMU_GUEST_LIBGUEST_H
#define KVMMU_GUEST_LIBGUEST_H

/* Only the compiler's freestanding headers: there is no libc in the guest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* u64 matches abi.h's unsigned long long, so it always prints with %llu. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

#define GUEST_PAGE_SIZE 4096ULL

/*
 * The payload's entry point, called by crt0 on every vCPU.  Its return
 * value is the vCPU's exit status (see guest_exit()).
 */
int gmain(unsigned vcpu, const struct guest_bootinfo *bi);

/*
 * Port I/O.  Inline so that benchmark loops are one instruction per access
 * and not a call; "memory" keeps the compiler from moving memory accesses
 * across a VM exit the host may observe.
 */
static inline void outb(u16 port, u8 val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline void outw(u16 port, u16 val)
{
	__asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline void outl(u16 port, u32 val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline u8 inb(u16 port)
{
	u8 val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline u16 inw(u16 port)
{
	u16 val;

	__asm__ volatile("inw %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline u32 inl(u16 port)
{
	u32 val;

	__asm__ volatile("inl %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

/* Spin-wait hint; also keeps a sibling hyperthread from being starved. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* Test-and-test-and-set lock; zero-initialised means unlocked. */
struct spinlock {
	u32 locked;
};

void spin_lock(struct spinlock *lock);
void spin_unlock(struct spinlock *lock);

/*
 * Serial output (16550 at GUEST_PORT_SERIAL).  serial_putc(), serial_puts(),
 * print_dec() and print_hex() do no locking: use them from one vCPU only,
 * or between serial_lock() and serial_unlock().  gprintf() takes the serial
 * lock itself (so one call is one uninterleaved message) and therefore must
 * not be called with the lock held.
 */
void serial_lock(void);
void serial_unlock(void);
void serial_putc(char c);
void serial_puts(const char *s);
void print_dec(u64 val);
void print_hex(u64 val); /* lowercase, no "0x" prefix, like %llx */

/*
 * printf subset: %d %i %u %x %c %s %p %%, with length modifiers l, ll, z
 * and an optional '0' flag and field width (e.g. %016llx).  Anything else
 * is printed literally and consumes no argument (-Wformat still checks
 * calls against full printf rules).
 */
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gvprintf(const char *fmt, va_list ap);

/* outl to GUEST_PORT_REPORT: the host prints the value as a report. */
void report(u32 val);

/* outl to GUEST_PORT_EXIT: this vCPU is done; the host parks it. */
__attribute__((noreturn)) void guest_exit(u32 status);

/* Non-zero when bi is non-NULL and carries GUEST_BOOTINFO_MAGIC. */
int bootinfo_valid(const struct guest_bootinfo *bi);

/*
 * Command line: whitespace-separated key=value words in bi->gb_cmdline.
 * Values are decimal or 0x-prefixed hex, optionally followed by K, M or G
 * (binary multiples, either case).  If a key appears more than once, the
 * last word wins.
 */
enum cmdline_result {
	CMDLINE_FOUND = 0,
	CMDLINE_ABSENT = 1,  /* no such key (or no valid bootinfo) */
	CMDLINE_INVALID = 2, /* key present, value malformed/overflows */
};

enum cmdline_result cmdline_get_u64(const struct guest_bootinfo *bi,
				    const char *key, u64 *out);
/* As cmdline_get_u64(), but returns dflt (with a warning if malformed). */
u64 cmdline_u64(const struct guest_bootinfo *bi, const char *key, u64 dflt);

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
