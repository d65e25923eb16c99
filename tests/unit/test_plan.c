/*
 * test_plan.c: memory-map transaction planning (memmap.c): the fewest
 * ioctls for each kind of change, a change that nets to nothing costs
 * none, and every map KVM would refuse is refused before any ioctl.  Also
 * the bad forms of Transaction, SetZapControl and ZapControl.
 * Trust: test code; no KVM needed.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "inval.h"
#include "memmap.h"
#include "protocol.h"
#include "validate.h"
#include "zap.h"

#define MB	(1ULL << 20)
#define WIN	0xe0000000ULL
#define WIN_END 0xf0000000ULL

static struct region mk(enum region_kind k, const char *name, uint64_t gpa,
			uint64_t size, uint64_t off)
{
	struct region r = {.r_kind = k,
			   .r_gpa = gpa,
			   .r_size = size,
			   .r_offset = off,
			   .r_fd = -1};

	r.r_slot = k == RK_MMIO ? -1 : 0; /* 0: wants a slot */
	snprintf(r.r_name, sizeof(r.r_name), "%s", name);
	return r;
}

/* A map with RAM outside the window and two BARs inside it. */
static void base_map(struct memmap *mm)
{
	struct region r[3] = {
		mk(RK_RAM, "ram", 0, 64 * MB, 0),
		mk(RK_RAM, "bar0.1", WIN, 2 * MB, 64 * MB),
		mk(RK_RAM, "bar0.2", WIN + 2 * MB, 2 * MB, 66 * MB),
	};

	memmap_init(mm, 8);
	for (int i = 0; i < 3; i++) {
		r[i].r_slot = memmap_slot_alloc(mm);
		memmap_insert(mm, &r[i]);
	}
}

static int plan(struct memmap *mm, struct region *regs, size_t n,
		struct tx_plan *p, struct verr *e)
{
	return memmap_plan(mm, WIN, WIN_END, regs, n, 128 * MB, p, e);
}

static void test_plans(void)
{
	struct region same[2] = {
		mk(RK_RAM, "bar0.1", WIN, 2 * MB, 64 * MB),
		mk(RK_RAM, "bar0.2", WIN + 2 * MB, 2 * MB, 66 * MB)};
	struct region moved[2], swapped[2], mixed[2];
	struct memmap mm;
	struct tx_plan p;
	struct verr e;

	base_map(&mm);
	CHECK(plan(&mm, same, 2, &p, &e) == 0, "same: %s", e.msg);
	CHECK(p.tp_count[TX_KEEP] == 2 && p.tp_slot_ops == 0,
	      "a map that nets to nothing costs no ioctl (%u ops)",
	      p.tp_slot_ops);
	tx_plan_free(&p);

	memcpy(moved, same, sizeof(same));
	moved[1].r_gpa = WIN + 8 * MB;
	CHECK(plan(&mm, moved, 2, &p, &e) == 0, "move: %s", e.msg);
	CHECK(p.tp_count[TX_MOVE] == 1 && p.tp_count[TX_KEEP] == 1 &&
		      p.tp_slot_ops == 1,
	      "same size, new address: one MOVE (%u ops)", p.tp_slot_ops);
	tx_plan_free(&p);

	memcpy(mixed, same, sizeof(same));
	mixed[0].r_dirty_log = true;
	mixed[1].r_offset = 70 * MB; /* other backing: not the same region */
	CHECK(plan(&mm, mixed, 2, &p, &e) == 0, "mixed: %s", e.msg);
	CHECK(p.tp_count[TX_FLAGS] == 1 && p.tp_count[TX_DELETE] == 1 &&
		      p.tp_count[TX_CREATE] == 1 && p.tp_slot_ops == 3,
	      "flags-only update, and delete+create for a new backing");
	CHECK(p.tp_steps[0].op == TX_DELETE,
	      "deletes come first so creates may reuse the space");
	tx_plan_free(&p);

	memcpy(swapped, same, sizeof(same));
	swapped[0].r_gpa = WIN + 2 * MB;
	swapped[1].r_gpa = WIN;
	CHECK(plan(&mm, swapped, 2, &p, &e) == 0, "swap: %s", e.msg);
	/* One move is broken into delete+create; that frees the other. */
	CHECK(p.tp_count[TX_MOVE] == 1 && p.tp_count[TX_DELETE] == 1 &&
		      p.tp_count[TX_CREATE] == 1 && p.tp_slot_ops == 3,
	      "swap: delete, move, create (%u/%u/%u)", p.tp_count[TX_DELETE],
	      p.tp_count[TX_MOVE], p.tp_count[TX_CREATE]);
	CHECK(p.tp_steps[0].op == TX_DELETE && p.tp_steps[1].op == TX_MOVE &&
		      p.tp_steps[2].op == TX_CREATE,
	      "swap steps in a safe order");
	tx_plan_free(&p);

	CHECK(plan(&mm, NULL, 0, &p, &e) == 0 && p.tp_count[TX_DELETE] == 2,
	      "an empty window deletes what was in it");
	tx_plan_free(&p);
	memmap_free(&mm);
}

static void expect_refused(struct region *regs, size_t n, int code,
			   const char *text, const char *what)
{
	struct memmap mm;
	struct tx_plan p;
	struct verr e = {0};
	int r;

	base_map(&mm);
	r = plan(&mm, regs, n, &p, &e);
	CHECK(r == -code && strstr(e.msg, text), "%s: got %d '%s'", what, r,
	      e.msg);
	memmap_free(&mm);
}

static void test_refusals(void)
{
	struct region out[1] = {mk(RK_RAM, "x", WIN - 2 * MB, 2 * MB, 0)};
	struct region dup[2] = {mk(RK_RAM, "x", WIN, 2 * MB, 0),
				mk(RK_MMIO, "x", WIN + 4 * MB, MB, 0)};
	struct region ovl[2] = {mk(RK_RAM, "a", WIN, 2 * MB, 0),
				mk(RK_MMIO, "b", WIN + MB, 2 * MB, 0)};
	struct region big[1] = {mk(RK_RAM, "a", WIN, 2 * MB, 127 * MB)};
	struct region many[8];
	struct memmap mm;
	struct tx_plan p;
	struct verr e;

	expect_refused(out, 1, EINVAL, "outside the window", "outside");
	expect_refused(dup, 2, EINVAL, "used twice", "duplicate names");
	expect_refused(ovl, 2, EEXIST, "overlaps", "overlap");
	expect_refused(big, 1, EINVAL, "exceeds the RAM backing", "backing");
	for (int i = 0; i < 8; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		many[i] =
			mk(RK_RAM, name, WIN + (uint64_t)i * 2 * MB, 2 * MB, 0);
	}
	expect_refused(many, 8, ENOSPC, "memslots", "slots exhausted");
	base_map(&mm);
	CHECK(memmap_plan(&mm, WIN + MB, WIN_END, NULL, 0, 128 * MB, &p, &e) ==
			      -EINVAL &&
		      strstr(e.msg, "straddles"),
	      "window edge inside a region: %s", e.msg);
	memmap_free(&mm);
}

static const struct limits lim = {8, 1ULL << 30, 40};

static void expect_bad(Kvmmu__Request *req, int code, const char *text,
		       const char *what)
{
	struct verr e = {0};
	int r;

	req->has_version = req->has_id = 1;
	req->version = KVMMU_PROTOCOL_VERSION;
	r = validate_request(req, &lim, &e);
	CHECK(r == -code && (code == 0 || strstr(e.msg, text)),
	      "%s: got %d '%s'", what, r, e.msg);
}

static void test_invalidate_and_uuid(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Invalidate m = KVMMU__INVALIDATE__INIT;
	Kvmmu__Range r = KVMMU__RANGE__INIT, *rp = &r;
	Kvmmu__CreateVm c = KVMMU__CREATE_VM__INIT;

	req.body_case = KVMMU__REQUEST__BODY_INVALIDATE;
	req.invalidate = &m;
	expect_bad(&req, EINVAL, "Invalidate.vm_id", "no vm_id");
	m.has_vm_id = 1;
	expect_bad(&req, EINVAL, "want 1..", "no ranges");
	m.n_ranges = INVAL_MAX_RANGES + 1;
	m.ranges = &rp;
	expect_bad(&req, EINVAL, "want 1..", "too many ranges");
	m.n_ranges = 1;
	expect_bad(&req, EINVAL, "ranges[0]: gpa and size", "no gpa/size");
	r.has_gpa = r.has_size = 1;
	r.gpa = 0x1800;
	r.size = 0x1000;
	expect_bad(&req, EINVAL, "page-aligned", "unaligned range");
	r.gpa = 0x1000;
	r.size = 0;
	expect_bad(&req, EINVAL, "non-empty", "empty range");
	r.size = 1ULL << 41;
	expect_bad(&req, EINVAL, "page-aligned guest range",
		   "range beyond phys bits");
	r.size = 0x1000;
	expect_bad(&req, 0, "", "good Invalidate");

	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &c;
	c.name = "u";
	c.has_vcpus = c.has_ram_bytes = 1;
	c.vcpus = 1;
	c.ram_bytes = 1 << 20;
	c.uuid = "not-a-uuid";
	expect_bad(&req, EINVAL, "CreateVm.uuid", "short uuid");
	c.uuid = "8adb237b-a683-4eaf-93cc-f83d97e8e3eX";
	expect_bad(&req, EINVAL, "CreateVm.uuid", "non-hex uuid");
	c.uuid = "8adb237b-a683-4eaf-93cc-f83d97e8e3ed";
	expect_bad(&req, 0, "", "good uuid");
}

static void test_messages(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Transaction t = KVMMU__TRANSACTION__INIT;
	Kvmmu__SetZapControl sz = KVMMU__SET_ZAP_CONTROL__INIT;
	Kvmmu__ZapControl z = KVMMU__ZAP_CONTROL__INIT;
	Kvmmu__Region r = KVMMU__REGION__INIT, *rp = &r;

	req.body_case = KVMMU__REQUEST__BODY_TRANSACTION;
	req.transaction = &t;
	expect_bad(&req, EINVAL, "Transaction.vm_id", "no vm_id");
	t.has_vm_id = 1;
	t.has_window_gpa = 1;
	expect_bad(&req, EINVAL, "both or neither", "half a window");
	t.has_window_size = 1;
	t.window_gpa = 0x1001;
	t.window_size = 0x1000;
	expect_bad(&req, EINVAL, "page-aligned", "unaligned window");
	t.window_gpa = 0;
	t.window_size = 1ULL << 41;
	expect_bad(&req, EINVAL, "40-bit", "window beyond phys bits");
	t.window_size = 1ULL << 30;
	t.n_regions = TX_MAX_REGIONS + 1;
	t.regions = &rp;
	expect_bad(&req, E2BIG, "at most", "too many regions");
	t.n_regions = 1;
	r.has_kind = r.has_gpa = r.has_size = 1;
	r.kind = KVMMU__REGION_KIND__REGION_MMIO;
	r.size = 0x1000;
	expect_bad(&req, EINVAL, "Transaction.regions[0]: name: missing",
		   "unnamed region");
	r.name = "a";
	r.kind = KVMMU__REGION_KIND__REGION_ROM;
	r.has_offset = 1;
	expect_bad(&req, EINVAL, "use MapRegion", "ROM in a transaction");
	r.kind = KVMMU__REGION_KIND__REGION_RAM;
	r.gpa = 0x800;
	expect_bad(&req, EINVAL, "Transaction.regions[0]: Region.gpa",
		   "bad region, named by index");
	r.gpa = 0;
	expect_bad(&req, 0, "", "good transaction");

	req.body_case = KVMMU__REQUEST__BODY_SET_ZAP_CONTROL;
	req.set_zap_control = &sz;
	expect_bad(&req, EINVAL, "SetZapControl.vm_id", "no vm_id");
	sz.has_vm_id = 1;
	expect_bad(&req, EINVAL, "SetZapControl.zap", "no policy");
	sz.zap = &z;
	z.has_mode = 1;
	z.mode = 3;
	expect_bad(&req, EINVAL, "zap.mode", "unknown mode");
	z.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	z.has_allones = 1;
	z.allones = 9;
	expect_bad(&req, EINVAL, "zap.allones", "unknown all-ones policy");
	z.allones = KVMMU__ALL_ONES__ALLONES_ROM;
	z.has_batch_window_us = 1;
	z.batch_window_us = ZAP_MAX_WINDOW_US + 1;
	expect_bad(&req, EINVAL, "batch_window_us", "window too long");
	z.batch_window_us = 100;
	expect_bad(&req, 0, "", "good SetZapControl");
	test_invalidate_and_uuid();
}

static void test_merge(void)
{
	struct inval_range r[] = {
		{0x3000, 0x1000, false}, {0x0000, 0x1000, false},
		{0x1000, 0x2000, false}, /* adjacent: one run [0, 0x4000) */
		{0x8000, 0x1000, false}, /* a gap: its own run */
		{0x1800, 0x1000, true},	 /* discard overlaps: kept apart */
		{0x2000, 0x2000, true},	 /* overlapping discards merge */
	};
	size_t n = inval_merge(r, 6);

	CHECK(n == 3, "3 runs, got %zu", n);
	CHECK(r[0].ir_discard && r[0].ir_off == 0x1800 && r[0].ir_len == 0x2800,
	      "discards merged: [0x%llx, +0x%llx)",
	      (unsigned long long)r[0].ir_off, (unsigned long long)r[0].ir_len);
	CHECK(!r[1].ir_discard && r[1].ir_off == 0 && r[1].ir_len == 0x4000,
	      "adjacent invalidations merged");
	CHECK(r[2].ir_off == 0x8000 && r[2].ir_len == 0x1000, "gap kept");
	CHECK(inval_merge(r, 0) == 0, "empty");
}

int main(void)
{
	test_merge();
	test_plans();
	test_refusals();
	test_messages();
	return checks_report("test_plan");
}
