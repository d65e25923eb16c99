/*
 * legacy.h: the PC's legacy chips a Linux kernel touches besides the
 * serial port: the 8042 keyboard controller (ports 0x60 and 0x64), which
 * Linux's reboot path uses to reset the CPU and whose keyboard carries
 * the CTRL+ALT+DEL that asks a guest to shut down, and the MC146818 CMOS
 * RTC (ports 0x70 and 0x71), from which Linux reads the time at boot.
 * Pure state machines fed by port I/O exits; the 8042 raises its
 * keyboard interrupt (IRQ 1) through a callback, the RTC none.
 * Trust: unprivileged; every port value comes from the guest.
 */
#ifndef KVMMU_LEGACY_H
#define KVMMU_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define I8042_DATA    0x60
#define I8042_STATUS  0x64 /* status on read, command on write */
#define I8042_RESET   1	   /* i8042_io: the guest pulsed the reset line */
#define I8042_QUEUE   16
#define I8042_RAM_MAX 32 /* internal RAM; byte 0 is the command byte */

struct i8042 {
	uint8_t k_ram[I8042_RAM_MAX];
	uint8_t k_outport; /* output port: bit 0 is the CPU reset line */
	uint8_t k_cmd;	   /* controller command awaiting its data, or 0 */
	uint8_t k_kbd_cmd; /* keyboard command awaiting its parameter, or 0 */
	bool k_last_cmd;   /* the last write went to 0x64 (status bit 3) */
	uint8_t k_last;	   /* what 0x60 reads with nothing queued */
	uint16_t k_q[I8042_QUEUE]; /* for 0x60; 0x100: the aux port's */
	unsigned k_head, k_n;
	bool k_raised; /* IRQ 1 raised for the byte at the queue's head */
	/* An edge on IRQ 1; NULL: none wired. */
	void (*k_irq)(void *arg);
	void *k_irq_arg;
};

/*
 * A controller as firmware leaves it: keyboard on, system flag set.
 * irq (may be NULL) is called for an edge on IRQ 1: once for each
 * keyboard byte that reaches the head of the output queue while the
 * command byte enables the keyboard interrupt, as the 8042 raises its
 * line when its output buffer fills.  The aux port has no mouse and no
 * IRQ 12.
 */
void i8042_init(struct i8042 *k, void (*irq)(void *arg), void *arg);

/*
 * Queues the scan codes of CTRL+ALT+DEL pressed and released: set 1
 * when the command byte asks the controller to translate (as firmware
 * and Linux leave it), else set 2.  Linux's keyboard driver turns it
 * into ctrl_alt_del(): a signal to its init, which shuts down (or an
 * immediate restart when init never said it handles it).  0, or
 * -ENOSPC when the queue has no room (the guest is not reading).
 */
int i8042_ctrl_alt_del(struct i8042 *k);

/* Whether the guest enabled the keyboard interrupt (its driver is up). */
bool i8042_kbd_listening(const struct i8042 *k);

/*
 * An access to port I8042_DATA or I8042_STATUS (others: reads see all
 * ones), len bytes of data each one access.  Returns I8042_RESET when the
 * guest asked for a CPU reset (command 0xFE or any pulse of output port
 * bit 0, or bit 0 cleared through command 0xD1), else 0.  The input
 * buffer is never full: commands take effect at once.
 */
int i8042_io(struct i8042 *k, uint16_t port, bool out, uint8_t *data,
	     size_t len);

#define CMOS_INDEX 0x70 /* bit 7: the NMI mask, ignored */
#define CMOS_DATA  0x71
#define CMOS_SIZE  128

struct cmos {
	uint8_t c_ram[CMOS_SIZE];
	uint8_t c_index;
	time_t (*c_now)(void); /* the clock's time, UTC; NULL: time(NULL) */
};

/*
 * A CMOS with a valid RTC in 24-hour BCD mode (register B 0x02), not
 * updating (UIP reads 0).  Tests may set c_now afterwards.
 */
void cmos_init(struct cmos *c);

/*
 * An access to CMOS_INDEX or CMOS_DATA (others: reads see all ones).  The
 * time registers and the century byte (0x32) read c_now() in the mode
 * register B sets; writes to them are dropped, since the clock is the
 * host's.  Other bytes keep what the guest writes, but for the read-only
 * UIP bit and registers C and D.
 */
void cmos_io(struct cmos *c, uint16_t port, bool out, uint8_t *data,
	     size_t len);

#endif
