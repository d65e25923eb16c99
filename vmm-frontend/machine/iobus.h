/*
 * iobus.h: which device model owns which I/O port.  Each model registers
 * the ranges it decodes (as kvmtool's ioport registry does); an exit goes
 * to the one owner of its port, and two models can never claim one port.
 * Trust: unprivileged; ports and data come from the guest.
 */
#ifndef KVMMU_IOBUS_H
#define KVMMU_IOBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One access of size bytes at port (len = size * count bytes of data:
 * the guest's for out, ours to fill for in).  Returns 0, IO_VCPU_DONE
 * when the vCPU is finished, IO_VM_RESET when the guest reset the
 * machine, or -errno when the run must stop.
 */
typedef int io_handler(void *arg, unsigned vcpu, uint16_t port, unsigned size,
		       bool out, uint8_t *data, size_t len);
#define IO_VCPU_DONE   1
#define IO_VM_RESET    2 /* the guest reset the machine: the VM ends */
#define IO_VM_POWEROFF 3 /* the guest powered off (ACPI S5): the VM ends */

struct io_range {
	uint16_t ir_base, ir_len;
	io_handler *ir_fn;
	void *ir_arg;
	const char *ir_name;
};

#define IOBUS_MAX 24

struct iobus {
	struct io_range ib_r[IOBUS_MAX];
	unsigned ib_n;
};

/* 0, -EEXIST when a port is owned already, -ENOSPC, -EINVAL (len 0). */
int iobus_add(struct iobus *b, uint16_t base, uint16_t len, io_handler *fn,
	      void *arg, const char *name);
/* The owner of port, or NULL. */
const struct io_range *iobus_find(const struct iobus *b, uint16_t port);

#endif
