/*
 * txn.c: applies a memory-map transaction atomically for the guest.  The
 * plan (memmap.c) was checked before anything happens here; vCPUs are
 * kept out of KVM_RUN from the first ioctl to the last, and if an ioctl
 * fails every step already taken is undone in reverse, so the guest sees
 * the old map or the new one, never a mix (ARCHITECTURE.md, atomicity).
 * Trust: privileged; the plan was built from validated requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"
#include "release.h"
#include "vm.h"

/* A ROM memfd must be a memfd we can seal against resizing. */
static int vm_rom_prepare(struct region *r, uint64_t *size, struct verr *e)
{
	struct stat st;
	int fd = r->r_fd, seals;

	if (fd < 0)
		return verr_set(e, EBADF,
				"MapRegion: ROM region needs a memfd "
				"passed with the request");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return verr_set(e, EBADF, "MapRegion: ROM fd is not a memfd");
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return verr_set(e, EBADF,
				"MapRegion: ROM fd is not a memfd "
				"(F_GET_SEALS: %s)",
				strerror(errno));
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
		    (F_SEAL_SHRINK | F_SEAL_GROW) &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return verr_set(e, EPERM,
				"MapRegion: ROM memfd cannot be "
				"sealed against resizing: %s",
				strerror(errno));
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Names the requested region a failing step was about. */
static int txn_fail(enum tx_source src, struct tx_step *s, struct verr *e)
{
	const char *name = s->op == TX_DELETE ? s->old.r_name : s->new.r_name;

	if (src == TX_TRANSACTION)
		return verr_prefix(e, "Transaction.regions[%d] '%s'",
				   s->req_idx, name);
	return verr_prefix(e, "%s '%s'",
			   src == TX_MAP_REGION ? "MapRegion" : "UnmapRegion",
			   name);
}

/* New regions' ROM fds of steps never applied go back. */
static void txn_drop(struct tx_plan *p, size_t from)
{
	for (size_t i = from; i < p->tp_n; i++) {
		if (p->tp_steps[i].op == TX_CREATE) {
			release_fd(p->tp_steps[i].new.r_fd);
			p->tp_steps[i].new.r_fd = -1;
		}
	}
}

static int txn_create(struct vm *vm, struct tx_step *s, struct verr *e)
{
	struct region *r = &s->new;

	r->r_map = r->r_hva = NULL;
	if (r->r_slot < 0)
		return 0; /* MMIO or all-ones as MMIO: bookkeeping only */
	if (vm_region_backing(vm, r, e) < 0) {
		vm_region_release(r); /* a ROM's fd */
		return -e->code;
	}
	r->r_slot = memmap_slot_alloc(&vm->vm_map);
	if (vm_slot_set(vm, r, r->r_size, e) < 0) {
		memmap_slot_free(&vm->vm_map, r->r_slot);
		r->r_slot = 0;
		vm_region_release(r);
		return -e->code;
	}
	return 0;
}

/* Steps that keep the old slot carry its backing over to the new one. */
static void txn_inherit(struct tx_step *s)
{
	s->new.r_slot = s->old.r_slot;
	s->new.r_fd = s->old.r_fd;
	s->new.r_map = s->old.r_map;
	s->new.r_hva = s->old.r_hva;
}

static int txn_apply(struct vm *vm, struct tx_step *s, struct verr *e)
{
	switch (s->op) {
	case TX_DELETE:
		if (s->old.r_slot < 0)
			return 0;
		if (vm_slot_set(vm, &s->old, 0, e) < 0)
			return -e->code;
		/* A create later in this plan may reuse the slot. */
		memmap_slot_free(&vm->vm_map, s->old.r_slot);
		return 0;
	case TX_CREATE:
		return txn_create(vm, s, e);
	case TX_KEEP:
		txn_inherit(s);
		return 0;
	default: /* TX_MOVE, TX_FLAGS: one update of the same slot */
		txn_inherit(s);
		return vm_slot_set(vm, &s->new, s->new.r_size, e) < 0 ? -e->code
								      : 0;
	}
}

/* Undoes one applied step; failures here are logged, not hidden. */
static void txn_undo(struct vm *vm, struct tx_step *s)
{
	struct verr e;
	int r = 0;

	switch (s->op) {
	case TX_DELETE:
		if (s->old.r_slot < 0)
			return;
		vm->vm_map.mm_slot_used[s->old.r_slot] = 1;
		r = vm_slot_set(vm, &s->old, s->old.r_size, &e);
		break;
	case TX_CREATE:
		if (s->new.r_slot < 0)
			return;
		r = vm_slot_set(vm, &s->new, 0, &e);
		memmap_slot_free(&vm->vm_map, s->new.r_slot);
		vm_region_release(&s->new);
		break;
	case TX_KEEP:
		return;
	default:
		r = vm_slot_set(vm, &s->old, s->old.r_size, &e);
	}
	if (r < 0)
		log_warn("vm %u: rollback of '%s' failed: %s; the guest map "
			 "may be inconsistent",
			 vm->vm_id, s->old.r_name, e.msg);
}

/* The new map: regions outside the window plus the applied new ones. */
static int txn_commit(struct vm *vm, struct tx_plan *p)
{
	struct memmap *mm = &vm->vm_map;
	struct region *old = mm->mm_regions, gone;
	size_t n = mm->mm_n, cap = n + p->tp_n + 1;

	mm->mm_regions = calloc(cap, sizeof(*old));
	if (mm->mm_regions == NULL) {
		mm->mm_regions = old;
		return -ENOMEM;
	}
	mm->mm_cap = cap;
	mm->mm_n = 0;
	for (size_t i = 0; i < n; i++) {
		if (old[i].r_gpa >= p->tp_gpa &&
		    old[i].r_gpa + old[i].r_size <= p->tp_end)
			continue;
		memmap_insert(mm, &old[i]); /* within cap: cannot fail */
	}
	for (size_t i = 0; i < p->tp_n; i++) {
		struct tx_step *s = &p->tp_steps[i];

		if (s->op == TX_DELETE) {
			gone = s->old;
			vm_region_release(&gone); /* a ROM's fd and mapping */
			continue;
		}
		memmap_insert(mm, &s->new);
	}
	free(old);
	return 0;
}

static void txn_record_pause(struct vm *vm, uint64_t us)
{
	vm->vm_pause_us[vm->vm_pauses++ % PAUSE_SAMPLES] =
		us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static const char *txn_source_name(enum tx_source src)
{
	return src == TX_TRANSACTION  ? "Transaction"
	       : src == TX_MAP_REGION ? "MapRegion"
				      : "UnmapRegion";
}

int vm_transaction(struct vm *vm, struct tx_plan *p, enum tx_source src,
		   unsigned fail_at, struct verr *e)
{
	return vm_transaction_db(vm, p, NULL, 0, src, fail_at, e);
}

int vm_transaction_db(struct vm *vm, struct tx_plan *p, struct db_change *c,
		      size_t n, enum tx_source src, unsigned fail_at,
		      struct verr *e)
{
	uint64_t t0, ioctls = vm->vm_memslot_ioctls;
	struct quota_use add = {{0}}, drop = {{0}};
	bool hold = p->tp_slot_ops > 0 || n > 0;
	size_t i;
	int r = 0;

	tx_plan_usage(p, &add, &drop);
	if (vm_quota_check(vm, &add, &drop, e) < 0) {
		txn_drop(p, 0);
		return src == TX_TRANSACTION
			       ? verr_prefix(e, "Transaction")
			       : txn_fail(src, &p->tp_steps[0], e);
	}
	if (doorbells_plan(&vm->vm_db, &vm->vm_map, p, c, n,
			   txn_source_name(src), e) < 0) {
		txn_drop(p, 0);
		return -e->code;
	}
	t0 = mono_ns() / 1000;
	vm->vm_tx_fail_at = fail_at;
	vm->vm_tx_ioctl_n = 0;
	/* Bookkeeping only (MMIO regions): the map lock is enough. */
	if (hold)
		vm_pause(vm);
	pthread_rwlock_wrlock(&vm->vm_map_lock);
	for (i = 0; i < p->tp_n && r == 0; i++) {
		r = txn_apply(vm, &p->tp_steps[i], e);
		if (r < 0)
			txn_fail(src, &p->tp_steps[i], e);
	}
	vm->vm_tx_fail_at = 0; /* undo steps are never failed */
	if (r == 0 && n > 0 &&
	    doorbells_apply(&vm->vm_db, vm->vm_fd, c, n, e) < 0) {
		r = verr_prefix(e, "%s", txn_source_name(src));
		i = p->tp_n + 1; /* every step applied: undo them all */
	}
	if (r < 0) {
		txn_drop(p, i); /* step i - 1 released its own */
		for (size_t j = i - 1; j-- > 0;)
			txn_undo(vm, &p->tp_steps[j]);
		vm->vm_tx_failed += src == TX_TRANSACTION;
	} else if (txn_commit(vm, p) < 0) {
		doorbells_undo(&vm->vm_db, vm->vm_fd, c, n);
		for (size_t j = p->tp_n; j-- > 0;)
			txn_undo(vm, &p->tp_steps[j]);
		r = verr_set(e, ENOMEM, "Transaction: out of memory");
	} else {
		doorbells_commit(&vm->vm_db, c, n);
	}
	pthread_rwlock_unlock(&vm->vm_map_lock);
	if (hold) {
		vm_unpause(vm);
		txn_record_pause(vm, mono_ns() / 1000 - t0);
	}
	if (src == TX_TRANSACTION) {
		vm->vm_tx++;
		vm->vm_tx_ioctls += vm->vm_memslot_ioctls - ioctls;
		vm->vm_tx_coalesced += p->tp_count[TX_KEEP];
	}
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t vm_pause_percentile(const struct vm *vm, unsigned pct)
{
	size_t n =
		vm->vm_pauses < PAUSE_SAMPLES ? vm->vm_pauses : PAUSE_SAMPLES;
	uint32_t v[PAUSE_SAMPLES];

	if (n == 0)
		return 0;
	memcpy(v, vm->vm_pause_us, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u32);
	return v[(n - 1) * pct / 100];
}

int vm_map_region(struct vm *vm, const struct region *req, int rom_fd,
		  struct verr *e)
{
	struct region r = *req;
	uint64_t backing = vm->vm_ram_bytes;
	struct tx_plan plan;
	int ret;

	/* r owns the ROM fd from here on; vm_region_release closes it. */
	r.r_fd = r.r_kind == RK_ROM ? rom_fd : -1;
	if (r.r_kind != RK_ROM && rom_fd >= 0)
		release_fd(rom_fd);
	r.r_map = r.r_hva = NULL;
	r.r_slot = vm_region_needs_slot(vm, &r) ? 0 : -1;
	ret = r.r_kind == RK_ROM ? vm_rom_prepare(&r, &backing, e) : 0;
	if (ret == 0)
		ret = memmap_plan_add(&vm->vm_map, &r, backing, &plan, e);
	if (ret < 0) {
		vm_region_release(&r);
		return ret;
	}
	/* From here the plan owns the fd: applied, or released on failure. */
	ret = vm_transaction(vm, &plan, TX_MAP_REGION, 0, e);
	tx_plan_free(&plan);
	return ret;
}

int vm_unmap_region(struct vm *vm, uint64_t gpa, struct verr *e)
{
	struct tx_plan plan;
	int ret = memmap_plan_remove(&vm->vm_map, gpa, &plan, e);

	if (ret < 0)
		return ret;
	ret = vm_transaction(vm, &plan, TX_UNMAP_REGION, 0, e);
	tx_plan_free(&plan);
	return ret;
}
