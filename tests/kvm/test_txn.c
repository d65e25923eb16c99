/*
 * test_txn.c: memory-map transactions against a real server and KVM.
 *  - Atomicity: a guest reads two regions continuously while the
 *    frontend swaps them 300 times; it never sees a hole (no MMIO exit,
 *    no value but the two patterns).  The same swap done as separate
 *    Unmap/Map requests does show holes: the test can see them.
 *  - Rollback: a transaction whose third ioctl fails (server started
 *    with --fail-tx-ioctl 3) leaves the old map, in the server's books
 *    and in what the guest reads.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM	 (16ULL << 20)
#define REG	 (2ULL << 20)
#define WIN	 0x40000000ULL
#define FLAG_GPA 0x300000ULL
#define PA	 0xaaaaaaaa00000001ULL
#define PB	 0xbbbbbbbb00000002ULL

static Kvmmu__Region ra, rb;
static Kvmmu__Region *regs[2] = {&ra, &rb};

static void region_init(Kvmmu__Region *r, const char *name, uint64_t gpa,
			uint64_t off)
{
	kvmmu__region__init(r);
	r->has_kind = r->has_gpa = r->has_size = r->has_offset = 1;
	r->kind = KVMMU__REGION_KIND__REGION_RAM;
	r->gpa = gpa;
	r->size = REG;
	r->offset = off;
	r->name = (char *)name;
}

/* RAM, plus "a" (pattern PA) at WIN and "b" (PB) at WIN + 2 MiB. */
static int boot_mapread(struct client *cl, struct boot *b)
{
	struct boot_spec bs = {.bs_name = "txn",
			       .bs_vcpus = 1,
			       .bs_ram = RAM,
			       .bs_extra = 2 * REG};
	char err[300], cmd[200];

	snprintf(cmd, sizeof(cmd), "a=%llu b=%llu flag=%llu pa=%llu pb=%llu",
		 WIN, WIN + REG, FLAG_GPA, PA, PB);
	bs.bs_cmdline = cmd;
	if (test_boot(cl, b, &bs, "mapread", err, sizeof(err)) < 0) {
		fprintf(stderr, "boot: %s\n", err);
		return -1;
	}
	memcpy(b->b_ram + RAM, &(uint64_t){PA}, 8);
	memcpy(b->b_ram + RAM + REG, &(uint64_t){PB}, 8);
	region_init(&ra, "a", WIN, RAM);
	region_init(&rb, "b", WIN + REG, RAM + REG);
	return client_transaction(cl, b->b_vm, WIN, 2 * REG, regs, 2, NULL);
}

/* Stops the guest and collects what it saw. */
/*
 * Waits for the guest to start reading (mapread sets the word after the
 * flag): its first touches of RAM, 2 MiB pages zeroed by an emulated CPU,
 * can take longer than any fixed pause.
 */
static void started(const struct boot *b)
{
	volatile const uint64_t *go =
		(volatile const uint64_t *)(b->b_ram + FLAG_GPA + 8);

	for (int i = 0; i < 1000 && *go == 0; i++)
		usleep(10000);
	CHECK(*go != 0, "the guest started reading");
}

static void finish(struct boot *b, struct served *sv)
{
	uint64_t one = 1;

	memcpy(b->b_ram + FLAG_GPA, &one, 8);
	CHECK(serve_vcpu(b->b_chans[0], 10000, sv) == 0, "guest finished");
}

/* Swaps the two regions' places, atomically or as four requests. */
static int swap(struct client *cl, uint32_t vm, bool atomic, int i)
{
	uint64_t ga = i % 2 ? WIN : WIN + REG, gb = i % 2 ? WIN + REG : WIN;

	if (atomic) {
		ra.gpa = ga;
		rb.gpa = gb;
		return client_transaction(cl, vm, WIN, 2 * REG, regs, 2, NULL);
	}
	if (client_unmap(cl, vm, gb) < 0 || client_unmap(cl, vm, ga) < 0)
		return -1;
	return client_map(cl, vm, 1, ga, REG, RAM, "a", -1) < 0 ||
			       client_map(cl, vm, 1, gb, REG, RAM + REG, "b",
					  -1) < 0
		       ? -1
		       : 0;
}

static void run_swaps(const char *sock, bool atomic, struct served *sv)
{
	struct client cl;
	struct boot b;

	memset(sv, 0, sizeof(*sv));
	CHECK(client_connect(&cl, sock) == 0 && boot_mapread(&cl, &b) == 0,
	      "setup: %s", cl.cl_err);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	started(&b);
	for (int i = 1; i <= 300; i++) {
		CHECK(swap(&cl, b.b_vm, atomic, i) == 0, "swap %d: %s", i,
		      cl.cl_err);
		serve_vcpu(b.b_chans[0], 0, sv); /* answer holes, if any */
	}
	finish(&b, sv);
	boot_release(&b);
	client_close(&cl);
}

static void test_atomicity(const char *sock)
{
	struct served sv;

	run_swaps(sock, true, &sv);
	printf("test_txn: 300 atomic swaps: %u reads, %u bad, %lu MMIO exits\n",
	       sv.sv_reports[0], sv.sv_reports[1], sv.sv_mmio);
	CHECK(sv.sv_nreports == 2 && sv.sv_reports[0] > 0, "guest read");
	CHECK(sv.sv_mmio == 0, "no hole: %lu MMIO exits", sv.sv_mmio);
	CHECK(sv.sv_reports[1] == 0 && sv.sv_status == 0, "no bad value: %u",
	      sv.sv_reports[1]);

	run_swaps(sock, false, &sv);
	printf("test_txn: 300 non-atomic swaps: %u bad, %lu MMIO exits\n",
	       sv.sv_reports[1], sv.sv_mmio);
	CHECK(sv.sv_mmio > 0 && sv.sv_reports[1] > 0,
	      "control: separate requests do leave holes the test sees");
}

static void test_rollback(void)
{
	const char *args[] = {"--fail-tx-ioctl", "3", NULL};
	Kvmmu__TransactionReply tr;
	Kvmmu__Region rc, *three[3] = {&ra, &rc, NULL};
	struct served sv = {0};
	struct client cl;
	struct srv srv;
	struct boot b;

	CHECK(srv_start(&srv, args) == 0, "server with --fail-tx-ioctl 3");
	/* Ioctls count per transaction: the boot's have 1 and 2, no 3rd. */
	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      boot_mapread(&cl, &b) == 0,
	      "setup: %s", cl.cl_err);
	/* Delete b, move a, create c: the create (ioctl 3) fails. */
	ra.gpa = WIN + 8 * REG;
	region_init(&rc, "c", WIN + 12 * REG, RAM + REG);
	CHECK(client_transaction(&cl, b.b_vm, WIN, 16 * REG, three, 2, NULL) ==
			      -EIO &&
		      strstr(cl.cl_err, "regions[1] 'c'"),
	      "the failing step is named: %s", cl.cl_err);
	CHECK(vm_stat(&cl, b.b_vm, "vm.tx_rolled_back", NULL) == 1,
	      "rolled back");
	CHECK(vm_stat(&cl, b.b_vm, "vm.regions", NULL) == 3, "still ram, a, b");
	/* The old map again: nothing to do, so nothing had changed. */
	region_init(&ra, "a", WIN, RAM);
	CHECK(client_transaction(&cl, b.b_vm, WIN, 16 * REG, regs, 2, &tr) ==
			      0 &&
		      tr.unchanged == 2 && tr.memslot_ioctls == 0,
	      "old map intact: %u unchanged, %u ioctls", tr.unchanged,
	      tr.memslot_ioctls);
	/* And KVM agrees: the guest reads both patterns, no hole. */
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	started(&b);
	usleep(50000);
	finish(&b, &sv);
	CHECK(sv.sv_mmio == 0 && sv.sv_reports[1] == 0 && sv.sv_reports[0] > 0,
	      "guest sees the old map: %lu MMIO exits, %u bad", sv.sv_mmio,
	      sv.sv_reports[1]);
	boot_release(&b);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly");
}

int main(void)
{
	struct srv srv;

	require_kvm("test_txn");
	CHECK(srv_start(&srv, NULL) == 0, "server start");
	test_atomicity(srv.s_sock);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	test_rollback();
	return checks_report("test_txn");
}
