/*
 * inval.h: invalidate and discard guest RAM ranges, merging the requests
 * that arrive within the VM's batch window.  Trust: privileged; ranges
 * come from validated requests and are checked against the memory map.
 */
#ifndef KVMMU_INVAL_H
#define KVMMU_INVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"
#include "validate.h"

struct conn;
struct vm;

/* A range of the VM's RAM memfd. */
struct inval_range {
	uint64_t ir_off;
	uint64_t ir_len;
	bool ir_discard;
};

/*
 * Sorts r by kind and offset and merges overlapping or adjacent ranges of
 * the same kind in place.  Returns how many remain.  Pure.
 */
size_t inval_merge(struct inval_range *r, size_t n);

/*
 * Queues (or, with no batch window, applies) an Invalidate request; the
 * reply goes out once its mappings are gone.  0, or -code with e set.
 */
int inval_request(struct conn *c, struct vm *vm, const Kvmmu__Request *req,
		  struct verr *e);
/*
 * Invalidates (or discards) one GPA range at once, for the admin API:
 * queued requests are applied and answered first.  *calls: calls made.
 */
int inval_now(struct vm *vm, uint64_t gpa, uint64_t size, bool discard,
	      unsigned *calls, struct verr *e);
/* Requests queued; at INVAL_MAX_PENDING the batch is applied at once. */
#define INVAL_MAX_PENDING 256
unsigned inval_pending(const struct vm *vm);
/* Applies and answers whatever is queued (before DestroyVm). */
void inval_flush(struct vm *vm);
/* Drops the queue without answering (the connection is gone). */
void inval_free(struct vm *vm);

#endif
