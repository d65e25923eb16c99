/*
 * mmiobus.c: the MMIO registry (mmiobus.h).  Trust: unprivileged; pure.
 */
#include <errno.h>
#include <stddef.h>

#include "mmiobus.h"

int mmiobus_add(struct mmiobus *b, uint64_t base, uint64_t len,
		mmio_handler *fn, void *arg, const char *name)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	for (unsigned i = 0; i < b->mb_n; i++) {
		const struct mmio_range *r = &b->mb_r[i];

		if (base < r->mr_base + r->mr_len && r->mr_base < base + len)
			return -EEXIST;
	}
	if (b->mb_n == MMIOBUS_MAX)
		return -ENOSPC;
	b->mb_r[b->mb_n++] = (struct mmio_range){base, len, fn, arg, name};
	return 0;
}

const struct mmio_range *mmiobus_find(const struct mmiobus *b, uint64_t gpa)
{
	for (unsigned i = 0; i < b->mb_n; i++) {
		const struct mmio_range *r = &b->mb_r[i];

		if (gpa >= r->mr_base && gpa - r->mr_base < r->mr_len)
			return r;
	}
	return NULL;
}
