/*
 * inval.c: invalidate (MADV_DONTNEED on the server's mapping: KVM's MMU
 * notifier zaps the SPTEs and flushes TLBs; the data stays in the memfd)
 * and discard (a hole punched in the memfd: the data goes too; discarded
 * parts of a 2 MiB page come back as 4 KiB pages, ram.h).  One call
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

#include "inval.h"
#include "log.h"
#include "vm.h"

struct inval_batch {
	inval_done_fn *ib_done; /* told of each request once applied */
	void *ib_cookie;
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

/*
 * An invalidation (data kept) of huge-backed RAM drops whole 2 MiB pages
 * from our mapping: MADV_DONTNEED of part of one leaves the rest mapped
 * by 4 KiB entries, which KVM, reading its level from this mapping,
 * would copy for good; with none left, the next fault maps the 2 MiB
 * page whole again.  KVM drops its own 2 MiB mapping of the page on any
 * part of it anyway, so the guest loses nothing more.  A discard is
 * never widened: it takes the data, and only the range asked.
 */
static void inval_widen(const struct vm *vm, uint64_t *off, uint64_t *len)
{
	/* hugetlbfs maps nothing smaller than its page: madvise wants it. */
	uint64_t pg = vm->vm_ram_backing == RAM_HUGETLB_1G ? 1ULL << 30
							   : RAM_HUGE_PAGE;
	uint64_t start = *off & ~(pg - 1);
	uint64_t end = (*off + *len + pg - 1) & ~(pg - 1);

	if (vm->vm_ram_backing == RAM_4K)
		return;
	if (end > vm->vm_ram_bytes)
		end = vm->vm_ram_bytes;
	*off = start;
	*len = end - start;
}

static unsigned inval_apply(struct vm *vm, struct inval_batch *b)
{
	size_t n = inval_merge(b->ib_r, b->ib_n);
	unsigned calls = 0;

	for (size_t i = 0; i < n; i++) {
		const struct inval_range *r = &b->ib_r[i];
		uint64_t off = r->ir_off, len = r->ir_len;
		int ret;

		if (!r->ir_discard)
			inval_widen(vm, &off, &len);
		if (r->ir_discard)
			ret = fallocate(vm->vm_ram_fd,
					FALLOC_FL_PUNCH_HOLE |
						FALLOC_FL_KEEP_SIZE,
					(off_t)r->ir_off, (off_t)r->ir_len);
		else
			ret = madvise((uint8_t *)vm->vm_ram + off, len,
				      MADV_DONTNEED);
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

void inval_flush(struct vm *vm)
{
	struct inval_batch *b = vm->vm_inval;
	struct inval_result res;

	if (b == NULL || b->ib_nids == 0)
		return;
	res.calls = inval_apply(vm, b);
	res.requests = b->ib_nids;
	res.ranges = b->ib_nranges;
	vm->vm_inval_calls += res.calls;
	vm->vm_inval_ranges += b->ib_nranges;
	b->ib_n = b->ib_nids = b->ib_nranges = 0;
	for (unsigned i = 0; i < res.requests; i++)
		b->ib_done(b->ib_cookie, b->ib_ids[i], &res);
}

int inval_queue(struct vm *vm, const struct inval_gpa *r, size_t n,
		bool discard, uint64_t id, inval_done_fn *done, void *cookie,
		struct verr *e)
{
	struct inval_batch *b = vm->vm_inval;
	size_t keep;

	if (b == NULL) {
		b = vm->vm_inval = calloc(1, sizeof(*b));
		if (b == NULL)
			return verr_set(e, ENOMEM, "Invalidate: out of memory");
	}
	b->ib_done = done;
	b->ib_cookie = cookie;
	keep = b->ib_n;
	for (size_t i = 0; i < n; i++) {
		if (inval_translate(vm, b, i, r[i].gpa, r[i].size, discard, e) <
		    0) {
			b->ib_n = keep; /* the whole request is refused */
			return -e->code;
		}
	}
	vm->vm_inval_requests++;
	b->ib_ids[b->ib_nids++] = id;
	b->ib_nranges += (unsigned)n;
	if (vm->vm_zap.zp_window_us == 0 || b->ib_nids == INVAL_MAX_PENDING)
		return INVAL_FLUSH;
	return b->ib_nids == 1 ? INVAL_ARM : INVAL_WAIT;
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
	free(b->ib_r);
	free(b);
	vm->vm_inval = NULL;
}

unsigned inval_pending(const struct vm *vm)
{
	return vm->vm_inval != NULL ? vm->vm_inval->ib_nids : 0;
}
