/*
 * pcdev.h: the legacy PC devices a Linux guest uses, on their ISA ports:
 * COM1 (a 16550A, its interrupt on GSI 4 through an irqfd, the console on
 * the frontend's output and stdin), the 8042 (its reset ends the VM; its
 * keyboard, on GSI 1 through an irqfd, carries a shutdown request), the
 * CMOS clock and the ACPI PM1 registers (whose S5 ends the VM).  It
 * also watches the console for a kernel panic.
 * Trust: unprivileged; port values and console bytes come from the guest.
 */
#ifndef KVMMU_PCDEV_H
#define KVMMU_PCDEV_H

#include <stdbool.h>
#include <stdio.h>

#include "acpipm.h"
#include "iobus.h"
#include "legacy.h"
#include "uart.h"

#define PCDEV_COM1	0x3f8
#define PCDEV_COM1_GSI	4
#define PCDEV_KBD_GSI	1
#define PCDEV_CMOS_PORT 0x70

struct pcdev {
	struct uart pc_uart;
	struct i8042 pc_kbd;
	struct cmos pc_cmos;
	struct acpipm pc_pm;
	int pc_com1_irq;  /* COM1's irqfd (Irqfd, GSI 4); -1: none yet */
	int pc_kbd_irq;	  /* the 8042's (GSI 1); -1: none yet */
	bool pc_panicked; /* "Kernel panic - not syncing" on the console */
	bool pc_panic_end;
	char pc_panic[UART_LINE_MAX];
	const char *pc_mark;	/* a console line to time; NULL: none */
	double pc_mark_s;	/* when it came (mono seconds), 0: not yet */
	unsigned long pc_edges; /* interrupts raised: COM1's */
	unsigned long pc_kbd_edges; /* ... the 8042's */
};

void pcdev_init(struct pcdev *p, FILE *out);
/*
 * COM1, the 8042's two ports, the CMOS pair and the PM1 block (its
 * handler says IO_VM_POWEROFF when the guest enters S5).  0 or -errno.
 */
int pcdev_register(struct pcdev *p, struct iobus *bus);
/*
 * Reads what fd (the frontend's stdin) has into COM1's receive buffer.
 * 0, or -1 at end of file or on an error (stop polling it).
 */
int pcdev_input(struct pcdev *p, int fd);
/*
 * Asks the guest to shut down: CTRL+ALT+DEL on the 8042's keyboard
 * (legacy.h says what Linux does with it).  0; -EAGAIN when the guest's
 * keyboard driver has not enabled its interrupt (nobody would read it),
 * -ENOSPC when its queue is full.
 */
int pcdev_shutdown(struct pcdev *p);

#endif
