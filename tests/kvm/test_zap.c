/*
 * test_zap.c: the zap-control policy against a real server and KVM.  A
 * guest touches its RAM so its mappings exist; then an unrelated slot is
 * added and removed, and the guest touches its RAM again.  Under mode=all
 * KVM zapped every mapping, so that second pass refaults (pf_taken) on
 * either MMU; under mode=memslot (set at creation, or switched live) it
 * does not.  On the shadow MMU, where mmu_shadow_zapped counts, the
 * shadow pages zapped say the same.  memslot -> all is refused with a
 * message that says a restart is needed, and GetStats reports the policy
 * in force.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM	  (32ULL << 20)
#define ALIAS_GPA (1ULL << 32)

static struct srv srv;

struct zap_effect {
	uint64_t ze_refaults; /* pf_taken of the second pass */
	uint64_t ze_zapped;   /* mmu_shadow_zapped by the toggle */
};

/* Runs memtouch over the VM's RAM once more, from its entry point. */
static void touch_again(struct client *cl, uint32_t vm)
{
	CHECK(vcpustate_send(cl, vm, 0) == 0, "reset vCPU 0: %s", cl->cl_err);
	CHECK(client_vm_op(cl, vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
}

/* What an unrelated 2 MiB slot coming and going (toggle) costs the VM. */
static struct zap_effect zap_effect(struct client *cl, struct boot *b,
				    bool toggle)
{
	struct zap_effect ze;
	struct served sv = {0};
	uint64_t pf, zapped = vm_stat(cl, b->b_vm, "mmu_shadow_zapped", NULL);

	if (toggle) {
		CHECK(client_map(cl, b->b_vm, KVMMU__REGION_KIND__REGION_RAM,
				 ALIAS_GPA, 2 << 20, 0, "alias", -1) == 0,
		      "map alias: %s", cl->cl_err);
		CHECK(client_unmap(cl, b->b_vm, ALIAS_GPA) == 0,
		      "unmap alias: %s", cl->cl_err);
	}
	ze.ze_zapped = vm_stat(cl, b->b_vm, "mmu_shadow_zapped", NULL) - zapped;
	pf = vcpu_stat_sum(cl, b->b_vm, "pf_taken");
	touch_again(cl, b->b_vm);
	CHECK(serve_vcpu(b->b_chans[0], 60000, &sv) == 0 && sv.sv_status == 0,
	      "memtouch ran again (status %u)", sv.sv_status);
	ze.ze_refaults = vcpu_stat_sum(cl, b->b_vm, "pf_taken") - pf;
	return ze;
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
	CHECK(serve_vcpu(b->b_chans[0], 60000, &sv) == 0 && sv.sv_status == 0,
	      "memtouch finished (status %u)", sv.sv_status);
}

static void test_effect(void)
{
	Kvmmu__ZapControl memslot = KVMMU__ZAP_CONTROL__INIT, got;
	struct client cl;
	struct zap_effect za, zm, zl, quiet;
	struct boot a, m, l;
	uint64_t pages = RAM >> 12;
	bool tdp;

	memslot.has_mode = 1;
	memslot.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	if (checks_failed)
		return; /* not a cascade of 60 s timeouts */
	touched_vm(&cl, &a, NULL, false);
	touched_vm(&cl, &m, &memslot, false);
	touched_vm(&cl, &l, NULL, true);
	tdp = vm_tdp_mmu(&cl, a.b_vm);
	quiet = zap_effect(&cl, &a, false);
	za = zap_effect(&cl, &a, true);
	zm = zap_effect(&cl, &m, true);
	zl = zap_effect(&cl, &l, true);
	printf("test_zap: %s MMU, %llu pages of RAM; faults of a second pass "
	       "after an unrelated slot toggle: all %llu, memslot %llu, "
	       "switched live %llu, no toggle %llu; shadow pages zapped: all "
	       "%llu, memslot %llu, switched live %llu\n",
	       tdp ? "TDP" : "shadow", (unsigned long long)pages,
	       (unsigned long long)za.ze_refaults,
	       (unsigned long long)zm.ze_refaults,
	       (unsigned long long)zl.ze_refaults,
	       (unsigned long long)quiet.ze_refaults,
	       (unsigned long long)za.ze_zapped,
	       (unsigned long long)zm.ze_zapped,
	       (unsigned long long)zl.ze_zapped);
	/*
	 * After a zap of everything the pass refaults its RAM: each 4 KiB
	 * page on the TDP MMU, about one in 8 on the shadow MMU (it
	 * prefetches neighbouring PTEs).  A targeted zap leaves the RAM's
	 * mappings; so does no toggle at all, which shows the pass itself
	 * takes (almost) no faults.
	 */
	CHECK(za.ze_refaults >= pages / (tdp ? 2 : 16),
	      "mode=all zaps the whole VM: %llu refaults",
	      (unsigned long long)za.ze_refaults);
	CHECK(quiet.ze_refaults < pages / 64,
	      "a pass alone refaults little "
	      "(%llu)",
	      (unsigned long long)quiet.ze_refaults);
	CHECK(zm.ze_refaults < pages / 64,
	      "mode=memslot leaves other mappings (%llu refaults)",
	      (unsigned long long)zm.ze_refaults);
	CHECK(zl.ze_refaults < pages / 64,
	      "the live switch took effect (%llu refaults)",
	      (unsigned long long)zl.ze_refaults);
	if (tdp) {
		/* The TDP MMU has no shadow pages: the counter stays 0. */
		CHECK(za.ze_zapped == 0 && zm.ze_zapped == 0,
		      "mmu_shadow_zapped is shadow-only (%llu)",
		      (unsigned long long)za.ze_zapped);
	} else {
		CHECK(za.ze_zapped > 0,
		      "shadow MMU: mode=all zaps shadow "
		      "pages (%llu)",
		      (unsigned long long)za.ze_zapped);
		CHECK(zm.ze_zapped == 0 && zl.ze_zapped == 0,
		      "shadow MMU: mode=memslot zaps none (%llu, %llu)",
		      (unsigned long long)zm.ze_zapped,
		      (unsigned long long)zl.ze_zapped);
	}

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
	/*
	 * 4 KiB pages as the guest touches them: the refaults counted here
	 * are per 4 KiB page (kvm.backing covers huge backing).
	 */
	const char *args[] = {"--ram-backing", "4k", NULL};

	require_kvm("test_zap");
	CHECK(srv_start(&srv, args) == 0, "server start");
	test_effect();
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_zap");
}
