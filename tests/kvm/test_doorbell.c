/*
 * test_doorbell.c: doorbells (Ioeventfd) and MSI routes against a real
 * mmu-server and KVM, with the doorbell payload:
 *  - a guest's MMIO or port write to a doorbell signals its eventfd
 *    and no exit reaches the frontend; datamatch lets only its value
 *    through; a deassigned doorbell's writes exit again;
 *  - refusals: a doorbell in RAM, a RAM region over a doorbell, two
 *    doorbells that collide, fds that are not one eventfd, another
 *    VM's, the doorbells and msi_routes bounds;
 *  - a Transaction that moves a BAR moves its doorbell in the same
 *    step: writes at the new place signal, at the old one exit;
 *  - MSI routes, irqfds on them, masking, SignalMsi, each refused
 *    where it must be;
 *  - DestroyVm and a closed connection give back every fd.
 * Interrupt delivery is proved in kvm.core (payloads take none).
 * Trust: test code, run as root with /dev/kvm.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM   (16ULL << 20)
#define BAR   0xe0000000ULL
#define BAR2  0xe0100000ULL
#define BARSZ 0x4000ULL
#define DB    (BAR + 0x1000) /* any value */
#define DBM   (BAR + 0x2000) /* datamatch 7 */
#define PORT  0x600
#define N     1000

static Kvmmu__Doorbell doorbell(uint64_t addr, unsigned len, bool pio,
				bool match, uint64_t data)
{
	Kvmmu__Doorbell d = KVMMU__DOORBELL__INIT;

	d.has_addr = d.has_len = 1;
	d.addr = addr;
	d.len = len;
	d.has_pio = d.pio = pio;
	d.has_datamatch = match;
	d.datamatch = data;
	return d;
}

/* The eventfd's count since the last read (0 when none). */
static uint64_t drain(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * Runs the payload again with cmd: new registers are a new start, even
 * when the server reads this VcpuState before the last run's stop
 * answer (ARCHITECTURE.md, vCPU life cycle).
 */
static void run(struct client *cl, struct boot *b, const char *cmd,
		struct served *sv)
{
	struct guest_bootinfo *bi = (void *)(b->b_ram + GUEST_BOOTINFO_GPA);

	memset(sv, 0, sizeof(*sv));
	snprintf(bi->gb_cmdline, sizeof(bi->gb_cmdline), "%s", cmd);
	CHECK(vcpustate_send(cl, b->b_vm, 0) == 0, "vCPU state: %s",
	      cl->cl_err);
	CHECK(serve_vcpu(b->b_chans[0], 20000, sv) == 0 && sv->sv_status == 0,
	      "guest '%s' ran (status %u)", cmd, sv->sv_status);
}

static int bar_region(Kvmmu__Region *r, uint64_t gpa)
{
	kvmmu__region__init(r);
	r->has_kind = r->has_gpa = r->has_size = 1;
	r->kind = KVMMU__REGION_KIND__REGION_MMIO;
	r->gpa = gpa;
	r->size = BARSZ;
	r->name = "bar";
	return 0;
}

static void test_refusals(struct client *cl, struct boot *b, int efd)
{
	Kvmmu__Doorbell d = doorbell(0x300000, 4, false, false, 0);
	Kvmmu__Region rr, *regs[1] = {&rr};
	int p[2];

	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, false) == -EEXIST &&
		      strstr(cl->cl_err, "RAM region 'ram'"),
	      "a doorbell in RAM: %s", cl->cl_err);
	d.addr = DB;
	CHECK(client_ioeventfd(cl, b->b_vm + 100, &d, efd, false) == -ENOENT,
	      "another VM's: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, -1, false) == -EBADF,
	      "no eventfd: %s", cl->cl_err);
	CHECK(pipe(p) == 0, "pipe");
	CHECK(client_ioeventfd(cl, b->b_vm, &d, p[0], false) == -EBADF &&
		      strstr(cl->cl_err, "not an eventfd"),
	      "a pipe: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, true) == -EBADF,
	      "a deassign with an fd: %s", cl->cl_err);
	close(p[0]);
	close(p[1]);
	d.len = 3;
	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, false) == -EINVAL &&
		      strstr(cl->cl_err, "Ioeventfd.doorbell.len"),
	      "len 3: %s", cl->cl_err);
	/* A doorbell in a hole; then RAM over it. */
	d = doorbell(0x40000000, 4, false, false, 0);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, false) == 0,
	      "a doorbell in a hole: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, false) == -EEXIST &&
		      strstr(cl->cl_err, "collides"),
	      "the same doorbell twice: %s", cl->cl_err);
	CHECK(client_map(cl, b->b_vm, KVMMU__REGION_KIND__REGION_RAM,
			 0x40000000, 0x200000, 0x200000, "over",
			 -1) == -EEXIST &&
		      strstr(cl->cl_err, "doorbell MMIO 0x40000000"),
	      "MapRegion of RAM over a doorbell: %s", cl->cl_err);
	kvmmu__region__init(&rr);
	rr.has_kind = rr.has_gpa = rr.has_size = rr.has_offset = 1;
	rr.kind = KVMMU__REGION_KIND__REGION_RAM;
	rr.gpa = 0x40000000;
	rr.size = 0x200000;
	rr.offset = 0x200000;
	rr.name = "over";
	CHECK(client_transaction(cl, b->b_vm, 0x40000000, 0x200000, regs, 1,
				 NULL) == -EEXIST,
	      "a Transaction of RAM over a doorbell: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, -1, true) == 0, "deassign: %s",
	      cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &d, -1, true) == -ENOENT,
	      "deassign twice: %s", cl->cl_err);
}

static void test_signal(struct client *cl, struct boot *b, int efd, int efm,
			int efp)
{
	Kvmmu__Doorbell d = doorbell(DB, 4, false, false, 0);
	Kvmmu__Doorbell m = doorbell(DBM, 4, false, true, 7);
	Kvmmu__Doorbell p = doorbell(PORT, 2, true, false, 0);
	struct served sv;
	char cmd[160];
	uint64_t n;

	CHECK(client_ioeventfd(cl, b->b_vm, &d, efd, false) == 0,
	      "doorbell: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &m, efm, false) == 0,
	      "doorbell with datamatch: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &p, efp, false) == 0,
	      "port doorbell: %s", cl->cl_err);
	snprintf(cmd, sizeof(cmd), "a=%llu count=%d", DB, N);
	run(cl, b, cmd, &sv);
	n = drain(efd);
	printf("test_doorbell: %d writes to a doorbell: %llu signals, %lu "
	       "MMIO exits\n",
	       N, (unsigned long long)n, sv.sv_mmio);
	CHECK(n == N && sv.sv_mmio == 0, "every write signals, none exits");

	snprintf(cmd, sizeof(cmd), "a=%llu count=%d v=7 v2=8", DBM, N);
	run(cl, b, cmd, &sv);
	n = drain(efm);
	CHECK(n == N / 2 && sv.sv_mmio == N / 2,
	      "datamatch 7: %llu signals, %lu exits (of 7 and 8 in turn)",
	      (unsigned long long)n, sv.sv_mmio);

	snprintf(cmd, sizeof(cmd), "a=%d pio=1 w=2 count=%d", PORT, N);
	run(cl, b, cmd, &sv);
	n = drain(efp);
	CHECK(n == N && sv.sv_io < 5,
	      "port doorbell: %llu signals, %lu port exits",
	      (unsigned long long)n, sv.sv_io);

	CHECK(client_ioeventfd(cl, b->b_vm, &d, -1, true) == 0, "deassign: %s",
	      cl->cl_err);
	snprintf(cmd, sizeof(cmd), "a=%llu count=%d", DB, N);
	run(cl, b, cmd, &sv);
	CHECK(drain(efd) == 0 && sv.sv_mmio == N,
	      "deassigned: every write exits (%lu)", sv.sv_mmio);
}

/* The BAR moves, and the datamatch doorbell in it, in one Transaction. */
static void test_move(struct client *cl, struct boot *b, int efm)
{
	Kvmmu__Doorbell m = doorbell(DBM, 4, false, true, 7);
	Kvmmu__DoorbellChange ch = KVMMU__DOORBELL_CHANGE__INIT, *chp = &ch;
	Kvmmu__Region bar, *regs[1] = {&bar};
	Kvmmu__Region rr = KVMMU__REGION__INIT, *ram[1] = {&rr};
	struct served sv;
	char cmd[160];
	uint64_t n;

	bar_region(&bar, BAR2);
	CHECK(client_transaction(cl, b->b_vm, BAR, 2 * (BAR2 - BAR), regs, 1,
				 NULL) == 0,
	      "the BAR moves alone (its doorbell stays in a hole): %s",
	      cl->cl_err);
	bar_region(&bar, BAR);
	ch.doorbell = &m;
	ch.has_new_addr = 1;
	ch.new_addr = BAR2 + (DBM - BAR);
	CHECK(client_transaction(cl, b->b_vm, BAR, 2 * (BAR2 - BAR), regs, 1,
				 NULL) == 0,
	      "and back: %s", cl->cl_err);
	bar_region(&bar, BAR2);
	CHECK(client_transaction_db(cl, b->b_vm, BAR, 2 * (BAR2 - BAR), regs, 1,
				    &chp, 1, NULL) == 0,
	      "the BAR and its doorbell move: %s", cl->cl_err);
	snprintf(cmd, sizeof(cmd), "a=%llu b=%llu count=%d v=7",
		 (unsigned long long)ch.new_addr, DBM, N);
	run(cl, b, cmd, &sv);
	n = drain(efm);
	printf("test_doorbell: after the move, %llu signals at the new place, "
	       "%lu exits at the old\n",
	       (unsigned long long)n, sv.sv_mmio);
	CHECK(n == N && sv.sv_mmio == N,
	      "writes at the new place signal, at the old one exit");
	CHECK(client_transaction_db(cl, b->b_vm, BAR, 2 * (BAR2 - BAR), regs, 1,
				    &chp, 1, NULL) == -ENOENT,
	      "the old doorbell is gone: %s", cl->cl_err);

	/* RAM where the BAR was, its doorbell removed in the same step. */
	m.addr = ch.new_addr;
	ch.has_new_addr = 0;
	rr.has_kind = rr.has_gpa = rr.has_size = rr.has_offset = 1;
	rr.kind = KVMMU__REGION_KIND__REGION_RAM;
	rr.gpa = BAR2;
	rr.size = BARSZ;
	rr.offset = 0x200000;
	rr.name = "bar";
	CHECK(client_transaction(cl, b->b_vm, BAR2, BARSZ, ram, 1, NULL) ==
			      -EEXIST &&
		      strstr(cl->cl_err, "RAM region 'bar'"),
	      "RAM over the doorbell: %s", cl->cl_err);
	CHECK(client_transaction_db(cl, b->b_vm, BAR2, BARSZ, ram, 1, &chp, 1,
				    NULL) == 0,
	      "RAM with the doorbell removed: %s", cl->cl_err);
	CHECK(client_ioeventfd(cl, b->b_vm, &m, -1, true) == -ENOENT,
	      "removed by the Transaction: %s", cl->cl_err);
}

static Kvmmu__Machine irqchip_machine(void)
{
	Kvmmu__Machine mc = KVMMU__MACHINE__INIT;

	mc.has_irqchip = mc.irqchip = 1;
	return mc;
}

static void test_msi(struct client *cl, uint32_t plain, uint32_t vm)
{
	uint32_t g0, g1, g;
	int fd = -1, fd2 = -1, rs;

	CHECK(client_msi_route(cl, plain, -1, 0xfee00000, 0x40, false, &g) ==
		      -ENXIO,
	      "an MSI route without an irqchip: %s", cl->cl_err);
	CHECK(client_msi_route(cl, vm, -1, 0xfee00000, 0x40, false, &g0) == 0 &&
		      g0 >= 24,
	      "a route: %s (GSI %u)", cl->cl_err, g0);
	CHECK(client_msi_route(cl, vm, -1, 0xfee00000, 0x41, false, &g1) == 0 &&
		      g1 != g0,
	      "another: %s (GSI %u)", cl->cl_err, g1);
	CHECK(client_msi_route(cl, vm, (int)g0, 0xfee00000, 0x42, false, &g) ==
			      0 &&
		      g == g0,
	      "its message changes: %s", cl->cl_err);
	CHECK(client_msi_route(cl, vm, -1, 0xfef00000, 0x40, false, &g) ==
		      -EINVAL,
	      "not an MSI address: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, g0, false, &fd, NULL) == 0,
	      "an irqfd on the route: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, g0, false, &fd2, NULL) == -EEXIST,
	      "twice: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, g0, true, &fd2, &rs) == -EINVAL,
	      "resample on an MSI: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, 4000, false, &fd2, NULL) == -ENOENT,
	      "no such route: %s", cl->cl_err);
	CHECK(client_mask_irqfd(cl, vm, g0, true) == 0, "mask: %s", cl->cl_err);
	CHECK(write(fd, &(uint64_t){1}, 8) == 8, "signal while masked");
	CHECK(client_mask_irqfd(cl, vm, g0, false) == 0, "unmask: %s",
	      cl->cl_err);
	CHECK(client_mask_irqfd(cl, vm, g1, true) == -ENOENT,
	      "mask a route without an irqfd: %s", cl->cl_err);
	CHECK(client_signal_msi(cl, vm, 0xfee00000, 0x43) == 0, "SignalMsi: %s",
	      cl->cl_err);
	CHECK(client_signal_msi(cl, plain, 0xfee00000, 0x43) == -ENXIO,
	      "SignalMsi without an irqchip: %s", cl->cl_err);
	CHECK(client_msi_route(cl, vm, (int)g1, 0, 0, true, NULL) == 0,
	      "remove a route: %s", cl->cl_err);
	CHECK(client_msi_route(cl, vm, (int)g1, 0xfee00000, 0x40, false,
			       NULL) == -ENOENT,
	      "a removed route: %s", cl->cl_err);
	/* The bound (msi_routes=4 here): g0 and three more. */
	for (int i = 0; i < 3; i++)
		CHECK(client_msi_route(cl, vm, -1, 0xfee00000, 0x50, false,
				       &g) == 0,
		      "route %d: %s", i, cl->cl_err);
	CHECK(client_msi_route(cl, vm, -1, 0xfee00000, 0x50, false, &g) ==
			      -EDQUOT &&
		      strstr(cl->cl_err, "msi_routes"),
	      "over the bound: %s", cl->cl_err);
	close(fd);
}

/* A VM with doorbells and MSI routes on a connection that just closes. */
static void test_close(const char *sock)
{
	Kvmmu__Machine mc = irqchip_machine();
	Kvmmu__Doorbell d = doorbell(0x50000000, 8, false, false, 0);
	struct client cl;
	uint32_t vm, g;
	int ram, chan, efd = eventfd(0, EFD_CLOEXEC), fd;

	CHECK(client_connect(&cl, sock) == 0, "connect");
	CHECK(client_create_vm_machine(&cl, "gone", NULL, 1, RAM, NULL, &mc,
				       &vm, &ram, &chan) == 0,
	      "VM: %s", cl.cl_err);
	CHECK(client_ioeventfd(&cl, vm, &d, efd, false) == 0 &&
		      client_msi_route(&cl, vm, -1, 0xfee00000, 0x40, false,
				       &g) == 0 &&
		      client_irqfd(&cl, vm, g, false, &fd, NULL) == 0,
	      "a doorbell, a route and its irqfd: %s", cl.cl_err);
	close(fd);
	close(ram);
	close(chan);
	close(efd);
	client_close(&cl);
}

int main(void)
{
	const char *args[] = {"--limit", "doorbells=8", "--limit",
			      "msi_routes=4", NULL};
	struct boot_spec bs = {.bs_name = "doorbell",
			       .bs_vcpus = 1,
			       .bs_ram = RAM,
			       .bs_extra = 2 << 20,
			       .bs_cmdline = "a=1 count=0"};
	Kvmmu__Machine mc = irqchip_machine();
	Kvmmu__Region bar, *regs[1] = {&bar};
	Kvmmu__Doorbell d;
	int efd, efm, efp, ram, chan, fds0;
	struct client cl;
	struct srv srv;
	struct boot b;
	uint32_t vm;
	char err[300];

	require_kvm("test_doorbell");
	CHECK(srv_start(&srv, args) == 0, "server");
	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect: %s", cl.cl_err);
	fds0 = proc_fd_count(srv.s_pid);
	CHECK(test_boot(&cl, &b, &bs, "doorbell", err, sizeof(err)) == 0,
	      "boot: %s", err);
	bar_region(&bar, BAR);
	CHECK(client_transaction(&cl, b.b_vm, BAR, BARSZ, regs, 1, NULL) == 0,
	      "the BAR, an MMIO region: %s", cl.cl_err);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	CHECK(serve_vcpu(b.b_chans[0], 20000, &(struct served){0}) == 0,
	      "the first run");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efm = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	test_refusals(&cl, &b, efd);
	test_signal(&cl, &b, efd, efm, efp);
	test_move(&cl, &b, efm);
	/* The bound (doorbells=8 here): the port doorbell and 7 more. */
	for (int i = 0; i < 7; i++) {
		d = doorbell(0x60000000 + 8 * (uint64_t)i, 4, false, false, 0);
		CHECK(client_ioeventfd(&cl, b.b_vm, &d, efd, false) == 0,
		      "doorbell %d: %s", i, cl.cl_err);
	}
	d = doorbell(0x60001000, 4, false, false, 0);
	CHECK(client_ioeventfd(&cl, b.b_vm, &d, efd, false) == -EDQUOT &&
		      strstr(cl.cl_err, "doorbells"),
	      "over the bound: %s", cl.cl_err);
	CHECK(proc_fd_count(srv.s_pid) >= fds0 + 8,
	      "the server holds the doorbells' eventfds");
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy: %s", cl.cl_err);
	boot_release(&b);

	CHECK(client_create_vm(&cl, "plain", 1, RAM, NULL, &b.b_vm, &ram,
			       &chan) == 0,
	      "a VM without an irqchip: %s", cl.cl_err);
	close(ram);
	close(chan);
	CHECK(client_create_vm_machine(&cl, "msi", NULL, 1, RAM, NULL, &mc, &vm,
				       &ram, &chan) == 0,
	      "a VM with an irqchip: %s", cl.cl_err);
	close(ram);
	close(chan);
	test_msi(&cl, b.b_vm, vm);
	CHECK(client_vm_op(&cl, vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0 &&
		      client_vm_op(&cl, b.b_vm,
				   KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy: %s", cl.cl_err);
	usleep(100000); /* release.c closes peers' fds on its own thread */
	CHECK(proc_fd_count(srv.s_pid) == fds0,
	      "DestroyVm gives back every fd: %d, baseline %d",
	      proc_fd_count(srv.s_pid), fds0);
	test_close(srv.s_sock);
	for (int i = 0; i < 50 && proc_fd_count(srv.s_pid) != fds0; i++)
		usleep(20000);
	CHECK(proc_fd_count(srv.s_pid) == fds0,
	      "a closed connection gives back every fd: %d, baseline %d",
	      proc_fd_count(srv.s_pid), fds0);
	close(efd);
	close(efm);
	close(efp);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly");
	return checks_report("test_doorbell");
}
