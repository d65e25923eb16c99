/*
 * validate.h: checks every field of a frontend's request against static
 * limits before the server acts on it.  Pure functions: no I/O, no state.
 * Trust: the input is untrusted frontend data.
 */
#ifndef KVMMU_VALIDATE_H
#define KVMMU_VALIDATE_H

#include <stdint.h>

#include "kvmmu.pb-c.h"

struct limits {
	uint32_t max_vcpus;
	uint64_t max_ram_bytes; /* per VM */
	unsigned phys_bits;
};

/* An error to send back: a positive errno and a message naming the field. */
struct verr {
	int code;
	char msg[200];
};

int verr_set(struct verr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Puts "prefix: " before e's message (truncating); returns -e->code. */
int verr_prefix(struct verr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 0, or -code with e filled in. */
int validate_request(const Kvmmu__Request *req, const struct limits *lim,
		     struct verr *e);
int validate_name(const char *name, const char *field, struct verr *e);
int validate_uuid(const char *u, const char *field, struct verr *e);
int validate_zap(const Kvmmu__ZapControl *z, const char *field, struct verr *e);

#define TX_MAX_REGIONS	 256 /* regions in one transaction */
#define INVAL_MAX_RANGES 256 /* ranges in one Invalidate */

#define PAGE_SIZE_4K	   4096ULL
#define IS_PAGE_ALIGNED(x) (((x) & (PAGE_SIZE_4K - 1)) == 0)

#endif
