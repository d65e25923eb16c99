/*
 * devices.c: serial port, debug-exit and report ports (guest/abi.h).
 * Trust: unprivileged; every guest value is checked before use.
 */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "devices.h"

#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

int devices_init(struct devices *d, unsigned nvcpus, FILE *out)
{
	memset(d, 0, sizeof(*d));
	d->d_out = out;
	d->d_nvcpus = nvcpus;
	d->d_done = calloc(nvcpus, sizeof(bool));
	d->d_status = calloc(nvcpus, sizeof(uint32_t));
	d->d_port_exits = calloc(65536, sizeof(uint32_t));
	return d->d_done && d->d_status && d->d_port_exits ? 0 : -1;
}

void devices_free(struct devices *d)
{
	free(d->d_done);
	free(d->d_status);
	free(d->d_port_exits);
}

/* A 16550 that is always ready: THR writes go to d_out. */
static void serial_io(struct devices *d, unsigned reg, bool out, uint8_t *data,
		      size_t len)
{
	if (out) {
		if (reg == 0)
			fwrite(data, 1, len, d->d_out);
		if (reg == 0 && memchr(data, '\n', len))
			fflush(d->d_out);
		return;
	}
	memset(data, reg == UART_LSR ? UART_LSR_THRE | UART_LSR_TEMT : 0, len);
}

static uint32_t le32(const uint8_t *p, size_t len)
{
	uint32_t v = 0;

	memcpy(&v, p, len < 4 ? len : 4);
	return v;
}

static int dev_serial(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		      bool out, uint8_t *data, size_t len)
{
	(void)vcpu;
	(void)size;
	serial_io(arg, port - GUEST_PORT_SERIAL, out, data, len);
	return 0;
}

static int dev_exit(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		    bool out, uint8_t *data, size_t len)
{
	struct devices *d = arg;

	(void)port;
	if (!out || size != 4 || vcpu >= d->d_nvcpus)
		return 0;
	if (!d->d_done[vcpu])
		d->d_ndone++;
	d->d_done[vcpu] = true;
	d->d_status[vcpu] = le32(data, len);
	return IO_VCPU_DONE;
}

/* The report port is the frontend's, not the UART: stdout. */
static int dev_report(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		      bool out, uint8_t *data, size_t len)
{
	struct devices *d = arg;

	(void)port;
	if (out && size == 4 && !d->d_quiet_reports)
		printf("report: vcpu %u: %u\n", vcpu, le32(data, len));
	return 0;
}

/* Answered at once, for benchmarks. */
static int dev_null(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		    bool out, uint8_t *data, size_t len)
{
	(void)arg;
	(void)vcpu;
	(void)port;
	(void)size;
	if (!out)
		memset(data, 0, len);
	return 0;
}

int devices_register(struct devices *d, struct iobus *bus)
{
	int r = iobus_add(bus, GUEST_PORT_SERIAL, 8, dev_serial, d, "uart");

	if (r == 0)
		r = iobus_add(bus, GUEST_PORT_EXIT, 1, dev_exit, d, "exit");
	if (r == 0)
		r = iobus_add(bus, GUEST_PORT_REPORT, 1, dev_report, d,
			      "report");
	if (r == 0)
		r = iobus_add(bus, GUEST_PORT_NULL, 1, dev_null, d, "null");
	return r;
}

void devices_unknown_io(struct devices *d, bool out, uint8_t *data, size_t len)
{
	d->d_unknown++;
	if (!out)
		memset(data, 0xff, len); /* nothing decodes this port */
}

void devices_mmio(struct devices *d, uint64_t gpa, bool write, uint8_t *data,
		  size_t len)
{
	(void)gpa;
	d->d_exits_mmio++;
	d->d_unknown++;
	if (!write)
		memset(data, 0xff, len);
}
