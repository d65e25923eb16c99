/*
 * inval.c: invalidate (MADV_DONTNEED on the server's mapping: KVM's MMU
 * notifier zaps the SPTEs and flushes TLBs; the data stays in the memfd)
 * and discard (a hole punched in the memfd: the data goes too).  One call
 * per contiguous range means one TLB flush per range, so requests that
 * arrive within the VM's batch window are merged first.  The reply to a
 * request goes out only after its calls returned: a change is never
 * reported done while a flush is owed (ARCHITECTURE.md, TLB-flush rule).
 * Trust: privileged; ranges are checked against the VM's memory map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/event.h>

#include "conn.h"
#include "inval.h"
#include "log.h"
#include "server.h"

struct inval_batch {
	struct event *ib_timer;
	struct conn *ib_conn;
	struct inval_range *ib_r;
	size_t ib_n, ib_cap;
	uint64_t ib_ids[INVAL_MAX_PENDING];
	unsigned ib_nids;
	unsigned ib_nranges; /* as requested, before merging */
};

static int inval_add(struct inval_batch *b, uint64_t off, uint64_t len,
		     bool discard)
{
	if (b->ib_n == b->ib_cap) {
		size_t cap = b->ib_cap ? b->ib_cap * 2 : 16;
		struct inval_range *p = reallocarray(b->ib_r, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		b->ib_r = p;
		b->ib_cap = cap;
	}
	b->ib_r[b->ib_n++] = (struct inval_range){off, len, discard};
	return 0;
}

/* GPA range -> memfd ranges, through RAM regions that cover it whole. */
static int inval_translate(struct vm *vm, struct inval_batch *b, size_t idx,
			   uint64_t gpa, uint64_t size, bool discard,
			   struct verr *e)
{
	const struct memmap *mm = &vm->vm_map;
	uint64_t at = gpa, end = gpa + size;

	for (size_t i = 0; i < mm->mm_n && at < end; i++) {
		const struct region *r = &mm->mm_regions[i];
		uint64_t rend = r->r_gpa + r->r_size, stop;

		if (rend <= at)
			continue;
		if (r->r_gpa > at || r->r_kind != RK_RAM)
			break;
		stop = rend < end ? rend : end;
		if (inval_add(b, r->r_offset + (at - r->r_gpa), stop - at,
			      discard) < 0)
			return verr_set(e, ENOMEM, "Invalidate: out of memory");
		at = stop;
	}
	if (at < end)
		return verr_set(e, EINVAL,
				"Invalidate.ranges[%zu]: 0x%llx is not "
				"guest RAM",
				idx, (unsigned long long)at);
	return 0;
}

static unsigned inval_apply(struct vm *vm, struct inval_batch *b)
{
	size_t n = inval_merge(b->ib_r, b->ib_n);
	unsigned calls = 0;

	for (size_t i = 0; i < n; i++) {
		const struct inval_range *r = &b->ib_r[i];
		int ret;

		if (r->ir_discard)
			ret = fallocate(vm->vm_ram_fd,
					FALLOC_FL_PUNCH_HOLE |
						FALLOC_FL_KEEP_SIZE,
					(off_t)r->ir_off, (off_t)r->ir_len);
		else
			ret = madvise((uint8_t *)vm->vm_ram + r->ir_off,
				      r->ir_len, MADV_DONTNEED);
		if (ret < 0)
			log_warn("vm %u: %s [0x%llx, +0x%llx): %s", vm->vm_id,
				 r->ir_discard ? "punch hole" : "madvise",
				 (unsigned long long)r->ir_off,
				 (unsigned long long)r->ir_len,
				 strerror(errno));
		calls++;
	}
	return calls;
}

static void inval_reply(struct inval_batch *b, uint64_t id, unsigned calls)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__InvalidateReply ir = KVMMU__INVALIDATE_REPLY__INIT;

	ir.has_requests = ir.has_ranges = ir.has_calls = 1;
	ir.requests = b->ib_nids;
	ir.ranges = b->ib_nranges;
	ir.calls = calls;
	rep.has_version = rep.has_id = 1;
	rep.version = KVMMU_PROTOCOL_VERSION;
	rep.id = id;
	rep.body_case = KVMMU__REPLY__BODY_INVALIDATE;
	rep.invalidate = &ir;
	/* A failed send closes the conn at its next event; nothing to do. */
	conn_send(b->ib_conn, &rep, NULL, 0);
}

void inval_flush(struct vm *vm)
{
	struct inval_batch *b = vm->vm_inval;
	unsigned calls;

	if (b == NULL || b->ib_nids == 0)
		return;
	evtimer_del(b->ib_timer);
	calls = inval_apply(vm, b);
	vm->vm_inval_calls += calls;
	vm->vm_inval_ranges += b->ib_nranges;
	for (unsigned i = 0; i < b->ib_nids; i++)
		inval_reply(b, b->ib_ids[i], calls);
	b->ib_n = b->ib_nids = b->ib_nranges = 0;
}

static void inval_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	inval_flush(arg);
}

static struct inval_batch *inval_batch(struct conn *c, struct vm *vm)
{
	struct inval_batch *b = vm->vm_inval;

	if (b != NULL)
		return b;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->ib_timer = evtimer_new(c->c_srv->s_base, inval_timer, vm);
	if (b->ib_timer == NULL) {
		free(b);
		return NULL;
	}
	b->ib_conn = c;
	vm->vm_inval = b;
	return b;
}

int inval_request(struct conn *c, struct vm *vm, const Kvmmu__Request *req,
		  struct verr *e)
{
	const Kvmmu__Invalidate *m = req->invalidate;
	struct inval_batch *b = inval_batch(c, vm);
	size_t keep;
	struct timeval tv;

	if (b == NULL)
		return verr_set(e, ENOMEM, "Invalidate: out of memory");
	keep = b->ib_n;
	for (size_t i = 0; i < m->n_ranges; i++) {
		if (inval_translate(vm, b, i, m->ranges[i]->gpa,
				    m->ranges[i]->size,
				    m->has_discard && m->discard, e) < 0) {
			b->ib_n = keep; /* the whole request is refused */
			return -e->code;
		}
	}
	vm->vm_inval_requests++;
	b->ib_ids[b->ib_nids++] = req->id;
	b->ib_nranges += (unsigned)m->n_ranges;
	if (vm->vm_zap.zp_window_us == 0 || b->ib_nids == INVAL_MAX_PENDING) {
		inval_flush(vm);
		return 0;
	}
	if (b->ib_nids == 1) { /* the first of a batch opens the window */
		tv.tv_sec = vm->vm_zap.zp_window_us / 1000000;
		tv.tv_usec = vm->vm_zap.zp_window_us % 1000000;
		evtimer_add(b->ib_timer, &tv);
	}
	return 0;
}

int inval_now(struct vm *vm, uint64_t gpa, uint64_t size, bool discard,
	      unsigned *calls, struct verr *e)
{
	struct inval_batch one = {0};

	inval_flush(vm);
	if (inval_translate(vm, &one, 0, gpa, size, discard, e) < 0) {
		free(one.ib_r);
		return -e->code;
	}
	*calls = inval_apply(vm, &one);
	vm->vm_inval_requests++;
	vm->vm_inval_ranges++;
	vm->vm_inval_calls += *calls;
	free(one.ib_r);
	return 0;
}

void inval_free(struct vm *vm)
{
	struct inval_batch *b = vm->vm_inval;

	if (b == NULL)
		return;
	event_free(b->ib_timer);
	free(b->ib_r);
	free(b);
	vm->vm_inval = NULL;
}

unsigned inval_pending(const struct vm *vm)
{
	return vm->vm_inval != NULL ? vm->vm_inval->ib_nids : 0;
}
