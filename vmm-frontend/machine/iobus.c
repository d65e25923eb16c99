/*
 * iobus.c: the port registry (iobus.h).  Trust: unprivileged; pure.
 */
#include <errno.h>

#include "iobus.h"

int iobus_add(struct iobus *b, uint16_t base, uint16_t len, io_handler *fn,
	      void *arg, const char *name)
{
	uint32_t end = (uint32_t)base + len;

	if (len == 0 || end > 0x10000)
		return -EINVAL;
	for (unsigned i = 0; i < b->ib_n; i++) {
		const struct io_range *r = &b->ib_r[i];

		if (base < r->ir_base + r->ir_len && r->ir_base < end)
			return -EEXIST;
	}
	if (b->ib_n == IOBUS_MAX)
		return -ENOSPC;
	b->ib_r[b->ib_n++] = (struct io_range){base, len, fn, arg, name};
	return 0;
}

const struct io_range *iobus_find(const struct iobus *b, uint16_t port)
{
	for (unsigned i = 0; i < b->ib_n; i++) {
		const struct io_range *r = &b->ib_r[i];

		if (port >= r->ir_base && port - r->ir_base < r->ir_len)
			return r;
	}
	return NULL;
}
