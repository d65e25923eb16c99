/*
 * test_inval.c: invalidate and discard against a real server and KVM.
 * A guest touches its RAM (so KVM maps it); then ranges are invalidated
 * (data kept) or discarded (data zeroed).  KVM's pages_4k count shows the
 * mappings are gone when the reply arrives; requests pipelined into one
 * batch window are merged into one call; ranges outside RAM are refused.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM (32ULL << 20)
#define MB  (1ULL << 20)

static uint64_t word(const struct boot *b, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, b->b_ram + gpa, 8);
	return v;
}

static void test_keep_and_discard(struct client *cl, struct boot *b)
{
	Kvmmu__InvalidateReply ir;
	uint64_t before = word(b, 4 * MB),
		 pages = vm_stat(cl, b->b_vm, "pages_4k", NULL);

	CHECK(before != 0, "the guest wrote its pattern at 4 MiB");
	CHECK(client_invalidate(cl, b->b_vm, 4 * MB, MB, false, &ir) == 0 &&
		      ir.calls == 1 && ir.requests == 1,
	      "invalidate: %s", cl->cl_err);
	CHECK(vm_stat(cl, b->b_vm, "pages_4k", NULL) + 200 < pages,
	      "KVM's mappings of the range are gone: %llu -> %llu",
	      (unsigned long long)pages,
	      (unsigned long long)vm_stat(cl, b->b_vm, "pages_4k", NULL));
	CHECK(word(b, 4 * MB) == before, "invalidate keeps the data");
	pages = vm_stat(cl, b->b_vm, "pages_4k", NULL);
	CHECK(word(b, 8 * MB) != 0, "pattern at 8 MiB");
	CHECK(client_invalidate(cl, b->b_vm, 8 * MB, MB, true, &ir) == 0,
	      "discard: %s", cl->cl_err);
	CHECK(word(b, 8 * MB) == 0 && word(b, 9 * MB - 8) == 0,
	      "discard zeroes the data");
	CHECK(vm_stat(cl, b->b_vm, "pages_4k", NULL) + 200 < pages,
	      "and drops the mappings");
	CHECK(word(b, 9 * MB) != 0, "but nothing past the range");
}

/* k requests sent before any reply is read: one window, one call. */
static void test_batching(struct client *cl, struct boot *b, unsigned window,
			  unsigned k, unsigned want_calls)
{
	Kvmmu__ZapControl z = KVMMU__ZAP_CONTROL__INIT;
	Kvmmu__InvalidateReply ir;
	uint64_t ids[16], calls0;

	z.has_batch_window_us = 1;
	z.batch_window_us = window;
	CHECK(client_set_zap(cl, b->b_vm, &z) == 0, "window %u", window);
	calls0 = vm_stat(cl, b->b_vm, "vm.inval_calls", NULL);
	for (unsigned i = 0; i < k; i++)
		CHECK(client_invalidate_send(cl, b->b_vm,
					     12 * MB + i * 64 * 1024, 64 * 1024,
					     false, &ids[i]) == 0,
		      "send %u", i);
	for (unsigned i = 0; i < k; i++) {
		memset(&ir, 0, sizeof(ir));
		CHECK(client_invalidate_wait(cl, ids[i], &ir) == 0 &&
			      ir.calls == want_calls / (window ? 1 : k) &&
			      ir.requests == (window ? k : 1),
		      "window %u: reply %u: %u requests, %u calls (%s)", window,
		      i, ir.requests, ir.calls, cl->cl_err);
	}
	CHECK(vm_stat(cl, b->b_vm, "vm.inval_calls", NULL) - calls0 ==
		      want_calls,
	      "window %u: %u adjacent requests -> %u calls", window, k,
	      want_calls);
}

int main(void)
{
	struct boot_spec bs = {
		.bs_name = "inval", .bs_vcpus = 1, .bs_ram = RAM};
	struct served sv = {0};
	struct client cl;
	struct srv srv;
	struct boot b;
	char err[300];

	/* KVM's pages_4k counts the mappings dropped (kvm.backing: huge). */
	const char *args[] = {"--ram-backing", "4k", NULL};

	require_kvm("test_inval");
	CHECK(srv_start(&srv, args) == 0, "server start");
	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      test_boot(&cl, &b, &bs, "memtouch", err, sizeof(err)) ==
			      0,
	      "boot: %s", err);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0 &&
		      serve_vcpu(b.b_chans[0], 20000, &sv) == 0,
	      "memtouch ran");
	test_keep_and_discard(&cl, &b);
	test_batching(&cl, &b, 20000, 8, 1);
	test_batching(&cl, &b, 0, 3, 3);
	CHECK(client_invalidate(&cl, b.b_vm, 1ULL << 32, MB, false, NULL) ==
			      -EINVAL &&
		      strstr(cl.cl_err, "not guest RAM"),
	      "outside RAM: %s", cl.cl_err);
	CHECK(client_invalidate(&cl, b.b_vm, RAM - MB, 2 * MB, false, NULL) ==
		      -EINVAL,
	      "past the end of RAM: %s", cl.cl_err);
	boot_release(&b);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_inval");
}
