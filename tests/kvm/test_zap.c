/*
 * test_zap.c: the zap-control policy against a real server and KVM.  A
 * guest touches its RAM so shadow pages exist; then an unrelated slot is
 * added and removed.  Under mode=all KVM zaps the VM's shadow pages;
 * under mode=memslot (set at creation, or switched live) it does not.
 * memslot -> all is refused with a message that says a restart is
 * needed, and GetStats reports the policy in force.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM	  (32ULL << 20)
#define ALIAS_GPA (1ULL << 32)

static struct srv srv;

/* Shadow pages KVM zaps when an unrelated 2 MiB slot comes and goes. */
static uint64_t zapped_by_toggle(struct client *cl, uint32_t vm)
{
	uint64_t before = vm_stat(cl, vm, "mmu_shadow_zapped", NULL);

	CHECK(client_map(cl, vm, KVMMU__REGION_KIND__REGION_RAM, ALIAS_GPA,
			 2 << 20, 0, "alias", -1) == 0,
	      "map alias: %s", cl->cl_err);
	CHECK(client_unmap(cl, vm, ALIAS_GPA) == 0, "unmap alias: %s",
	      cl->cl_err);
	return vm_stat(cl, vm, "mmu_shadow_zapped", NULL) - before;
}

/* A VM whose guest has touched all its RAM and finished. */
static void touched_vm(struct client *cl, struct boot *b,
		       const Kvmmu__ZapControl *zap, bool go_memslot_live)
{
	struct boot_spec bs = {
		.bs_name = "zap", .bs_vcpus = 1, .bs_ram = RAM, .bs_zap = zap};
	Kvmmu__ZapControl to = KVMMU__ZAP_CONTROL__INIT;
	struct served sv = {0};
	char err[300];

	CHECK(test_boot(cl, b, &bs, "memtouch", err, sizeof(err)) == 0,
	      "boot: %s", err);
	if (go_memslot_live) {
		to.has_mode = 1;
		to.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
		CHECK(client_set_zap(cl, b->b_vm, &to) == 0,
		      "all -> memslot on a live VM: %s", cl->cl_err);
	}
	CHECK(client_vm_op(cl, b->b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	CHECK(serve_vcpu(b->b_chans[0], 20000, &sv) == 0 && sv.sv_status == 0,
	      "memtouch finished (status %u)", sv.sv_status);
}

static void test_effect(void)
{
	Kvmmu__ZapControl memslot = KVMMU__ZAP_CONTROL__INIT, got;
	struct client cl;
	struct boot a, m, l;
	uint64_t za, zm, zl;

	memslot.has_mode = 1;
	memslot.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	touched_vm(&cl, &a, NULL, false);
	touched_vm(&cl, &m, &memslot, false);
	touched_vm(&cl, &l, NULL, true);
	za = zapped_by_toggle(&cl, a.b_vm);
	zm = zapped_by_toggle(&cl, m.b_vm);
	zl = zapped_by_toggle(&cl, l.b_vm);
	printf("test_zap: shadow pages zapped by an unrelated slot toggle: "
	       "all %llu, memslot %llu, switched live %llu\n",
	       (unsigned long long)za, (unsigned long long)zm,
	       (unsigned long long)zl);
	CHECK(za > 0, "mode=all zaps the whole VM (%llu)",
	      (unsigned long long)za);
	CHECK(zm == 0, "mode=memslot leaves other mappings (%llu)",
	      (unsigned long long)zm);
	CHECK(zl == 0, "the live switch took effect (%llu)",
	      (unsigned long long)zl);

	vm_stat(&cl, a.b_vm, "errors", &got);
	CHECK(got.mode == KVMMU__ZAP_MODE__ZAP_ALL, "default policy is all");
	vm_stat(&cl, l.b_vm, "errors", &got);
	CHECK(got.mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT,
	      "stats show the live switch");
	memslot.mode = KVMMU__ZAP_MODE__ZAP_ALL;
	CHECK(client_set_zap(&cl, m.b_vm, &memslot) == -EBUSY &&
		      strstr(cl.cl_err, "restart"),
	      "memslot -> all refused with a restart message: %s", cl.cl_err);
	vm_stat(&cl, m.b_vm, "errors", &got);
	CHECK(got.mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT,
	      "a refused change changes nothing");
	memslot.has_mode = 0;
	memslot.has_batch_window_us = memslot.has_allones = 1;
	memslot.batch_window_us = 250;
	memslot.allones = KVMMU__ALL_ONES__ALLONES_ROM;
	CHECK(client_set_zap(&cl, m.b_vm, &memslot) == 0, "knobs: %s",
	      cl.cl_err);
	vm_stat(&cl, m.b_vm, "errors", &got);
	CHECK(got.batch_window_us == 250 &&
		      got.allones == KVMMU__ALL_ONES__ALLONES_ROM &&
		      got.mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT,
	      "batch window and all-ones policy in stats");
	boot_release(&a);
	boot_release(&m);
	boot_release(&l);
	client_close(&cl);
}

int main(void)
{
	require_kvm("test_zap");
	CHECK(srv_start(&srv, NULL) == 0, "server start");
	test_effect();
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_zap");
}
