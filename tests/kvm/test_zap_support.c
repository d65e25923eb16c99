/*
 * test_zap_support.c: zap mode memslot on whatever kernel runs the test.
 * The test asks KVM itself (KVM_CHECK_EXTENSION(KVM_CAP_DISABLE_QUIRKS2))
 * whether KVM_X86_QUIRK_SLOT_ZAP_ALL can be disabled.  Where it can
 * (Linux >= 6.12), memslot is accepted at CreateVm, by SetZapControl and
 * from a domain's metadata.  Where it cannot (Debian 12's own 6.1: the
 * runner's --kernel bookworm), each of the three is refused with a message
 * that names the missing quirk, and mode=all still runs a guest.  Either
 * way the test asserts something: it never skips on a kernel with KVM.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define QUIRK_SLOT_ZAP_ALL (1ULL << 7) /* KVM_X86_QUIRK_SLOT_ZAP_ALL */
#define QUIRK_NAME	   "KVM_X86_QUIRK_SLOT_ZAP_ALL"

static struct srv srv;

/* The oracle: KVM's own answer, not the server's. */
static bool kernel_has_quirk(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);

	close(fd);
	return r > 0 && (r & QUIRK_SLOT_ZAP_ALL);
}

/* hello under mode=all runs on every kernel. */
static void test_all_runs(struct client *cl)
{
	struct boot_spec bs = {
		.bs_name = "all", .bs_vcpus = 1, .bs_ram = 16 << 20};
	struct served sv = {0};
	struct boot b;
	char err[300];

	CHECK(test_boot(cl, &b, &bs, "hello", err, sizeof(err)) == 0,
	      "mode=all boots: %s", err);
	CHECK(client_vm_op(cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	CHECK(serve_vcpu(b.b_chans[0], 60000, &sv) == 0 && sv.sv_status == 0,
	      "hello under mode=all finished (status %u)", sv.sv_status);
	boot_release(&b);
}

static void test_create(struct client *cl, bool has)
{
	Kvmmu__ZapControl zap = KVMMU__ZAP_CONTROL__INIT;
	struct boot_spec bs = {.bs_name = "memslot",
			       .bs_vcpus = 1,
			       .bs_ram = 16 << 20,
			       .bs_zap = &zap};
	struct boot b;
	char err[300] = "";
	int r;

	zap.has_mode = 1;
	zap.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	r = test_boot(cl, &b, &bs, "hello", err, sizeof(err));
	if (has) {
		CHECK(r == 0, "CreateVm with mode=memslot: %s", err);
		if (r == 0)
			boot_release(&b);
		return;
	}
	printf("test_zap_support: CreateVm refused: %s\n", err);
	CHECK(r < 0 && strstr(err, QUIRK_NAME) != NULL,
	      "CreateVm with mode=memslot refused naming the quirk: %s", err);
}

static void test_set(struct client *cl, bool has)
{
	Kvmmu__ZapControl zap = KVMMU__ZAP_CONTROL__INIT, got;
	struct boot_spec bs = {
		.bs_name = "switch", .bs_vcpus = 1, .bs_ram = 16 << 20};
	struct boot b;
	char err[300];
	int r;

	CHECK(test_boot(cl, &b, &bs, "hello", err, sizeof(err)) == 0,
	      "boot: %s", err);
	zap.has_mode = 1;
	zap.mode = KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	r = client_set_zap(cl, b.b_vm, &zap);
	vm_stat(cl, b.b_vm, "errors", &got);
	if (has) {
		CHECK(r == 0 && got.mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT,
		      "SetZapControl to memslot: %s", cl->cl_err);
	} else {
		printf("test_zap_support: SetZapControl refused: %s\n",
		       cl->cl_err);
		CHECK(r == -EOPNOTSUPP && strstr(cl->cl_err, QUIRK_NAME),
		      "SetZapControl to memslot refused naming the quirk: "
		      "%d %s",
		      r, cl->cl_err);
		CHECK(got.mode == KVMMU__ZAP_MODE__ZAP_ALL,
		      "the refused VM stays at mode=all");
	}
	boot_release(&b);
}

/* A domain whose metadata asks for memslot, run by vmm-frontend. */
static void test_domain(bool has)
{
	char xml[256], cmd[1024], out[8192];
	size_t n = 0;
	FILE *f, *p;
	int st;

	snprintf(xml, sizeof(xml), "%s/memslot.xml", srv.s_dir);
	f = fopen(xml, "w");
	CHECK(f != NULL, "write %s", xml);
	if (f == NULL)
		return;
	fprintf(f,
		"<domain type='kvm'><name>zap-memslot</name>"
		"<memory unit='MiB'>16</memory><vcpu>1</vcpu>"
		"<os><type arch='x86_64'>hvm</type><kernel>%s</kernel></os>"
		"<metadata><kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1'"
		" mode='memslot'/></metadata>"
		"<devices><serial type='stdio'/></devices></domain>\n",
		guest_path("hello"));
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%s --socket %s --domain-xml %s --timeout 120 2>&1",
		 bin_path("vmm-frontend"), srv.s_sock, xml);
	p = popen(cmd, "r");
	CHECK(p != NULL, "popen");
	if (p == NULL)
		return;
	while (n < sizeof(out) - 1 && fgets(out + n, sizeof(out) - n, p))
		n = strlen(out);
	st = pclose(p);
	if (has) {
		CHECK(st == 0 && strstr(out, "Hello from a CPL3 guest"),
		      "a memslot domain runs (status %d): %s", st, out);
	} else {
		printf("test_zap_support: the domain's frontend said: %s", out);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
			      strstr(out, QUIRK_NAME) != NULL,
		      "a memslot domain is refused naming the quirk (status "
		      "%d): %s",
		      st, out);
	}
	unlink(xml);
}

int main(void)
{
	struct client cl;
	bool has;

	require_kvm("test_zap_support");
	has = kernel_has_quirk();
	printf("test_zap_support: this kernel %s " QUIRK_NAME "\n",
	       has ? "can disable" : "has no");
	CHECK(srv_start(&srv, NULL) == 0, "server start");
	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	test_all_runs(&cl);
	test_create(&cl, has);
	test_set(&cl, has);
	test_domain(has);
	test_all_runs(&cl);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_zap_support");
}
