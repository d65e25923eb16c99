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

#include "verr.h"

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

/* What a batch did, told to each request in it. */
struct inval_result {
	unsigned requests; /* merged into the batch */
	unsigned ranges;   /* they named */
	unsigned calls;	   /* madvise/fallocate calls issued */
};
typedef void inval_done_fn(void *cookie, uint64_t id,
			   const struct inval_result *res);

struct inval_gpa {
	uint64_t gpa, size;
};

/* What the caller of inval_queue must do next. */
enum inval_next {
	INVAL_WAIT,  /* nothing: a timer for this batch is armed */
	INVAL_ARM,   /* arm a timer of the VM's batch window: inval_flush */
	INVAL_FLUSH, /* inval_flush now (no window, or the batch is full) */
};

/*
 * Queues request id: n GPA ranges, each inside RAM regions (else the
 * whole request is refused, -EINVAL).  Once inval_flush applied its batch,
 * done(cookie, id, ...) is called for it: a change is never reported
 * done while a flush is owed.  Returns an inval_next, or -code with e
 * set.
 */
int inval_queue(struct vm *vm, const struct inval_gpa *r, size_t n,
		bool discard, uint64_t id, inval_done_fn *done, void *cookie,
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
/* Applies whatever is queued and tells each request (before DestroyVm). */
void inval_flush(struct vm *vm);
/* Drops the queue without telling anyone (the VM is being destroyed). */
void inval_free(struct vm *vm);

#endif
