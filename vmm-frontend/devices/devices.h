/*
 * devices.h: the frontend's device models, reached through port I/O and
 * MMIO exits the server forwards.  Trust: unprivileged; guest-controlled
 * values are bounds-checked.
 */
#ifndef KVMMU_DEVICES_H
#define KVMMU_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iobus.h"

struct devices {
	FILE *d_out; /* serial output */
	unsigned d_nvcpus;
	bool *d_done;	    /* per vCPU: left through the exit port */
	uint32_t *d_status; /* per vCPU: its exit status */
	unsigned d_ndone;
	uint64_t d_exits_io;
	uint32_t *d_port_exits; /* per port, for --stats (NULL: none) */
	uint64_t d_exits_mmio;
	uint64_t d_unknown;
	bool d_quiet_reports;
};

int devices_init(struct devices *d, unsigned nvcpus, FILE *out);
void devices_free(struct devices *d);

/*
 * Registers the ports the devices decode: the UART, the exit port (a
 * vCPU that writes its status there is finished), the report and null
 * ports.  0 or -errno (iobus_add).
 */
int devices_register(struct devices *d, struct iobus *bus);
/* A port nobody decodes: counted, and reads see all ones. */
void devices_unknown_io(struct devices *d, bool out, uint8_t *data, size_t len);
/* An MMIO access: nothing is mapped there yet; reads see all ones. */
void devices_mmio(struct devices *d, uint64_t gpa, bool write, uint8_t *data,
		  size_t len);

#endif
