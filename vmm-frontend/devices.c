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
	return d->d_done && d->d_status ? 0 : -1;
}

void devices_free(struct devices *d)
{
	free(d->d_done);
	free(d->d_status);
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

bool devices_io(struct devices *d, unsigned vcpu, uint16_t port, unsigned size,
		bool out, uint8_t *data, size_t len)
{
	d->d_exits_io++;
	if (port >= GUEST_PORT_SERIAL && port < GUEST_PORT_SERIAL + 8) {
		serial_io(d, port - GUEST_PORT_SERIAL, out, data, len);
		return false;
	}
	if (port == GUEST_PORT_EXIT && out && size == 4 && vcpu < d->d_nvcpus) {
		if (!d->d_done[vcpu])
			d->d_ndone++;
		d->d_done[vcpu] = true;
		d->d_status[vcpu] = le32(data, len);
		return true;
	}
	/* The report port is the frontend's, not the UART: stdout. */
	if (port == GUEST_PORT_REPORT && out && size == 4) {
		if (!d->d_quiet_reports)
			printf("report: vcpu %u: %u\n", vcpu, le32(data, len));
		return false;
	}
	if (port == GUEST_PORT_NULL)
		return false;
	d->d_unknown++;
	if (!out)
		memset(data, 0xff, len); /* nothing decodes this port */
	return false;
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
