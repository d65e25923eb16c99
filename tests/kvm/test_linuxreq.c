/*
 * test_linuxreq.c: the requests a Linux guest needs, against a real
 * mmu-server: CreateVm.machine (irqchip, PIT, TSS, identity map), SetCpuid,
 * a full VcpuState (general registers, MSRs, FPU, XCR0) and Irqfd, each
 * with the forms the server must refuse after validation (KVM's own
 * refusals, server state), and every fd back after DestroyVm.
 * Trust: test code, run as root.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "guest.h"
#include "harness.h"
#include "wire.h"

#define MB (1ULL << 20)

static bool is_eventfd(int fd)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return strstr(target, "eventfd") != NULL;
}

static Kvmmu__Machine linux_machine(void)
{
	Kvmmu__Machine mc = KVMMU__MACHINE__INIT;

	mc.has_irqchip = mc.irqchip = 1;
	mc.has_pit = mc.pit = 1;
	mc.has_tss_addr = mc.has_identity_map_addr = 1;
	mc.tss_addr = 0xfffbd000;
	mc.identity_map_addr = 0xfeffc000;
	return mc;
}

/* A VcpuState for vCPU 0 with extra MSRs, FPU control and XCR0. */
static int send_state(struct client *cl, uint32_t vm, Kvmmu__Msr **msrs,
		      size_t nmsrs, uint64_t xcr0)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__VcpuState m;
	Kvmmu__Segment seg[8];
	struct kvm_sregs sr = {0};
	struct kvm_regs regs;

	guest_vcpu_state(0, &regs, &sr);
	regs.r15 = 0x1515;
	vcpustate_fill(&m, seg, vm, 0, &regs, &sr);
	m.has_r15 = 1;
	m.r15 = regs.r15;
	m.msrs = msrs;
	m.n_msrs = nmsrs;
	m.has_fpu_fcw = m.has_mxcsr = 1;
	m.fpu_fcw = 0x37f;
	m.mxcsr = 0x1f80;
	m.has_xcr0 = xcr0 != 0;
	m.xcr0 = xcr0;
	req.body_case = KVMMU__REQUEST__BODY_SET_VCPU_STATE;
	req.set_vcpu_state = &m;
	return client_simple(cl, &req);
}

static void test_irqfd(struct client *cl, uint32_t plain, uint32_t vm)
{
	int fd, rs, fd2;
	uint64_t one = 1;

	CHECK(client_irqfd(cl, plain, 4, false, &fd, NULL) == -ENXIO &&
		      strstr(cl->cl_err, "irqchip"),
	      "Irqfd without an irqchip: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm + 100, 4, false, &fd, NULL) == -ENOENT,
	      "Irqfd of another VM: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, 4, false, &fd, NULL) == 0, "Irqfd 4: %s",
	      cl->cl_err);
	CHECK(is_eventfd(fd), "gsi 4 came as an eventfd");
	CHECK(write(fd, &one, sizeof(one)) == sizeof(one), "raise gsi 4");
	CHECK(client_irqfd(cl, vm, 4, false, &fd2, NULL) == -EEXIST,
	      "gsi 4 twice: %s", cl->cl_err);
	CHECK(client_irqfd(cl, vm, 10, true, &fd2, &rs) == 0,
	      "Irqfd 10 with resample: %s", cl->cl_err);
	CHECK(is_eventfd(fd2) && is_eventfd(rs), "two eventfds for gsi 10");
	close(fd);
	close(fd2);
	close(rs);
}

static void test_cpuid(struct client *cl, uint32_t vm)
{
	Kvmmu__CpuidMask m = KVMMU__CPUID_MASK__INIT, *mp = &m;

	m.has_function = 1;
	m.function = 0x4fffffff; /* between KVM's and the vendor's ranges */
	CHECK(client_set_cpuid(cl, vm, &mp, 1) == -EINVAL &&
		      strstr(cl->cl_err, "SetCpuid.masks[0]"),
	      "a leaf KVM lacks: %s", cl->cl_err);
	m.function = 1;
	m.has_ecx = 1;
	m.ecx = ~(1U << 26); /* no XSAVE */
	CHECK(client_set_cpuid(cl, vm, &mp, 1) == 0, "mask XSAVE: %s",
	      cl->cl_err);
}

static void test_cpuid_after_run(struct client *cl, uint32_t vm)
{
	Kvmmu__CpuidMask m = KVMMU__CPUID_MASK__INIT, *mp = &m;

	m.has_function = 1;
	m.function = 1;
	CHECK(client_set_cpuid(cl, vm, &mp, 1) == -EBUSY &&
		      strstr(cl->cl_err, "has run"),
	      "SetCpuid after Run: %s", cl->cl_err);
}

static void test_state(struct client *cl, uint32_t vm)
{
	Kvmmu__Msr x[3], *xp[3];

	for (int i = 0; i < 3; i++) {
		kvmmu__msr__init(&x[i]);
		x[i].has_index = x[i].has_value = 1;
		xp[i] = &x[i];
	}
	x[0].index = 0x174; /* SYSENTER_CS */
	x[0].value = 0x10;
	x[1].index = 0xc0000082; /* LSTAR */
	x[1].value = 0xffffffff81000000ULL;
	x[2].index = 0x277; /* PAT */
	x[2].value = 0x0007040600070406ULL;
	CHECK(send_state(cl, vm, xp, 3, 1) == 0, "full state: %s", cl->cl_err);
	/* Memory type 2 is reserved in the PAT: KVM refuses it. */
	x[2].value = 0x0202020202020202ULL;
	CHECK(send_state(cl, vm, xp, 3, 1) == -EINVAL &&
		      strstr(cl->cl_err, "msrs[2]") &&
		      strstr(cl->cl_err, "0x277"),
	      "KVM refuses a PAT: %s", cl->cl_err);
	x[2].value = 0x0007040600070406ULL;
	CHECK(send_state(cl, vm, xp, 3, 1ULL << 62) == -EINVAL &&
		      strstr(cl->cl_err, "xcr0"),
	      "XCR0 with a bit KVM lacks: %s", cl->cl_err);
}

int main(void)
{
	struct srv srv;
	struct client cl;
	Kvmmu__Machine mc = linux_machine();
	int ram, chans[2], fds0, fds1;
	uint32_t plain, vm;

	require_kvm("test_linuxreq");
	CHECK(srv_start(&srv, NULL) == 0, "server");
	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect: %s", cl.cl_err);
	fds0 = proc_fd_count(srv.s_pid);

	CHECK(client_create_vm(&cl, "plain", 1, 16 * MB, NULL, &plain, &ram,
			       chans) == 0,
	      "a VM without a machine: %s", cl.cl_err);
	close(ram);
	close(chans[0]);
	CHECK(client_create_vm_machine(&cl, "linux", NULL, 2, 64 * MB, NULL,
				       &mc, &vm, &ram, chans) == 0,
	      "CreateVm with irqchip, PIT, TSS, identity map: %s", cl.cl_err);
	close(ram);
	wire_close_fds(chans, 2);
	CHECK(client_map(&cl, vm, KVMMU__REGION_KIND__REGION_RAM, 0, 64 * MB, 0,
			 "ram", -1) == 0,
	      "RAM: %s", cl.cl_err);

	test_irqfd(&cl, plain, vm);
	test_cpuid(&cl, vm);
	test_state(&cl, vm);
	fds1 = proc_fd_count(srv.s_pid);
	CHECK(fds1 >= fds0 + 3, "the server holds the VMs' and irqfds' fds");

	/* Once the VM has run, KVM keeps its CPUID. */
	CHECK(client_vm_op(&cl, vm, KVMMU__REQUEST__BODY_RUN) == 0, "Run: %s",
	      cl.cl_err);
	test_cpuid_after_run(&cl, vm);

	CHECK(client_vm_op(&cl, vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy: %s", cl.cl_err);
	CHECK(client_vm_op(&cl, plain, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy plain: %s", cl.cl_err);
	CHECK(proc_fd_count(srv.s_pid) == fds0,
	      "server fds back: %d, baseline %d", proc_fd_count(srv.s_pid),
	      fds0);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly");
	return checks_report("test_linuxreq");
}
