/*
 * pcdev.c: COM1, the 8042, the CMOS clock and the ACPI PM1 block on the
 * ports a PC has them
 * (pcdev.h).  COM1's interrupt output drives GSI 4 through the irqfd the
 * server made: a rising level is an edge on an ISA line, one eventfd
 * write, with no round trip through the server.  The 8042's keyboard
 * byte drives GSI 1 the same way.
 * Trust: unprivileged; guest values reach only the models' fixed state.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pcdev.h"

#define PANIC_START "Kernel panic - not syncing"
#define PANIC_END   "---[ end Kernel panic"

static void pcdev_irq(void *arg, bool level)
{
	struct pcdev *p = arg;
	uint64_t one = 1;

	if (!level || p->pc_com1_irq < 0)
		return;
	if (write(p->pc_com1_irq, &one, sizeof(one)) == sizeof(one))
		p->pc_edges++;
}

static void pcdev_kbd_irq(void *arg)
{
	struct pcdev *p = arg;
	uint64_t one = 1;

	if (p->pc_kbd_irq >= 0 &&
	    write(p->pc_kbd_irq, &one, sizeof(one)) == sizeof(one))
		p->pc_kbd_edges++;
}

static void pcdev_line(void *arg, const char *line)
{
	struct pcdev *p = arg;

	if (p->pc_mark && p->pc_mark_s == 0 && strstr(line, p->pc_mark))
		p->pc_mark_s = mono_ns() / 1e9;
	if (!p->pc_panicked && strstr(line, PANIC_START)) {
		p->pc_panicked = true;
		snprintf(p->pc_panic, sizeof(p->pc_panic), "%s",
			 strstr(line, PANIC_START));
	} else if (p->pc_panicked && strstr(line, PANIC_END)) {
		p->pc_panic_end = true;
	}
}

void pcdev_init(struct pcdev *p, FILE *out)
{
	memset(p, 0, sizeof(*p));
	p->pc_com1_irq = -1;
	p->pc_kbd_irq = -1;
	uart_init(&p->pc_uart, out, pcdev_irq, pcdev_line, p);
	i8042_init(&p->pc_kbd, pcdev_kbd_irq, p);
	cmos_init(&p->pc_cmos);
	acpipm_init(&p->pc_pm);
}

static int pcdev_com1(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		      bool out, uint8_t *data, size_t len)
{
	struct pcdev *p = arg;

	(void)vcpu;
	(void)size;
	uart_io(&p->pc_uart, port - PCDEV_COM1, out, data, len);
	return 0;
}

static int pcdev_kbd(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		     bool out, uint8_t *data, size_t len)
{
	struct pcdev *p = arg;

	(void)vcpu;
	(void)size;
	return i8042_io(&p->pc_kbd, port, out, data, len) == I8042_RESET
		       ? IO_VM_RESET
		       : 0;
}

static int pcdev_cmos(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		      bool out, uint8_t *data, size_t len)
{
	struct pcdev *p = arg;

	(void)vcpu;
	(void)size;
	cmos_io(&p->pc_cmos, port, out, data, len);
	return 0;
}

static int pcdev_pm(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		    bool out, uint8_t *data, size_t len)
{
	struct pcdev *p = arg;

	(void)vcpu;
	return acpipm_io(&p->pc_pm, port, size, out, data, len) ==
			       ACPIPM_POWER_OFF
		       ? IO_VM_POWEROFF
		       : 0;
}

int pcdev_register(struct pcdev *p, struct iobus *bus)
{
	int r = iobus_add(bus, PCDEV_COM1, UART_NPORTS, pcdev_com1, p, "com1");

	if (r == 0)
		r = iobus_add(bus, I8042_DATA, 1, pcdev_kbd, p, "i8042");
	if (r == 0)
		r = iobus_add(bus, I8042_STATUS, 1, pcdev_kbd, p, "i8042");
	if (r == 0)
		r = iobus_add(bus, PCDEV_CMOS_PORT, 2, pcdev_cmos, p, "cmos");
	if (r == 0)
		r = iobus_add(bus, ACPIPM_EVT, ACPIPM_NPORTS, pcdev_pm, p,
			      "acpi-pm");
	return r;
}

int pcdev_input(struct pcdev *p, int fd)
{
	uint8_t buf[UART_RX_MAX];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	/* What the receive buffer has no room for is dropped, as on a line. */
	uart_input(&p->pc_uart, buf, (size_t)n);
	return 0;
}

int pcdev_shutdown(struct pcdev *p)
{
	if (p->pc_kbd_irq < 0 || !i8042_kbd_listening(&p->pc_kbd))
		return -EAGAIN;
	return i8042_ctrl_alt_del(&p->pc_kbd);
}
