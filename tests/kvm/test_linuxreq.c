/*
 * test_linuxreq.c: the requests a Linux guest needs, against a real
 * mmu-server: CreateVm.machine (irqchip, PIT, TSS, identity map), SetCpuid,
 * a full VcpuState (general registers, MSRs, FPU, XCR0) and Irqfd, each
 * with the forms the server must refuse after validation (KVM's own
 * refusals, server state), DestroyVm getting an AP that sleeps in
 * KVM_RUN out at once, and every fd back after DestroyVm.
 * KVMs differ (DESIGN.md 1.1: a kvm_pvm host takes a PAT a hardware KVM
 * refuses), so what KVM offers and refuses is asked of KVM itself, on a
 * scratch VM of the test's own, and the server must agree with it.
 * Trust: test code, run as root.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "guest.h"
#include "harness.h"
#include "wire.h"

#define MB (1ULL << 20)
#define MS (1000000ULL) /* in ns */

#define NONCANONICAL (1ULL << 63) /* with 48 or 57 address bits */
#define NELEMS(a)    (sizeof(a) / sizeof((a)[0]))

/* A VM and vCPU of the test's own, held only to ask KVM questions. */
struct scratch {
	int sc_kvm, sc_vm, sc_vcpu;
	struct kvm_cpuid2 *sc_cpuid;  /* KVM_GET_SUPPORTED_CPUID */
	struct kvm_msr_list *sc_msrs; /* KVM_GET_MSR_INDEX_LIST */
};

struct msr_pair {
	uint32_t index;
	uint64_t value;
};

/* What the full state sets; a Linux boot sets these. */
static const struct msr_pair full_state[] = {
	{0x174, 0x10},			     /* SYSENTER_CS */
	{0xc0000082, 0xffffffff81000000ULL}, /* LSTAR */
	{0x277, 0x0007040600070406ULL},	     /* PAT: the reset value */
};

/*
 * Values of MSRs the server lets through (validate.c) that a KVM may
 * refuse, each with a good value of the same MSR.  KVMs differ in
 * which they refuse: a hardware KVM refuses the PAT, kvm_pvm takes it.
 */
static const struct {
	uint32_t index;
	uint64_t good, bad;
	const char *what;
} refusable[] = {
	{0x277, 0x0007040600070406ULL, 0x0202020202020202ULL,
	 "PAT with the reserved memory type 2"},
	{0x2ff, 0xc06, 0x100, "MTRRdefType with reserved bit 8"},
	{0xc0000082, 0xffffffff81000000ULL, NONCANONICAL,
	 "a non-canonical LSTAR"},
	{0xc0000083, 0, NONCANONICAL, "a non-canonical CSTAR"},
	{0xc0000102, 0, NONCANONICAL, "a non-canonical KERNEL_GS_BASE"},
	{0x175, 0, NONCANONICAL, "a non-canonical SYSENTER_ESP"},
	{0x176, 0, NONCANONICAL, "a non-canonical SYSENTER_EIP"},
};

/* KVM_GET_SUPPORTED_CPUID, grown until KVM stops saying E2BIG. */
static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	struct kvm_cpuid2 *c;

	for (uint32_t n = 64; n <= 4096; n *= 2) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (c == NULL)
			return NULL;
		c->nent = n;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/* KVM_GET_MSR_INDEX_LIST: asked once with no room to learn the count. */
static struct kvm_msr_list *msr_index_list(int kvm)
{
	struct kvm_msr_list n = {.nmsrs = 0}, *l;

	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &n) == 0 || errno != E2BIG)
		return NULL;
	l = calloc(1, sizeof(*l) + n.nmsrs * sizeof(l->indices[0]));
	if (l == NULL)
		return NULL;
	l->nmsrs = n.nmsrs;
	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

/*
 * The vCPU gets KVM's whole CPUID, as the server's do: KVM checks some
 * MSR values against the guest's CPUID.
 */
static int scratch_open(struct scratch *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->sc_vm = sc->sc_vcpu = -1;
	sc->sc_kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (sc->sc_kvm < 0)
		return -errno;
	sc->sc_cpuid = supported_cpuid(sc->sc_kvm);
	sc->sc_msrs = msr_index_list(sc->sc_kvm);
	if (sc->sc_cpuid == NULL || sc->sc_msrs == NULL)
		return -errno;
	sc->sc_vm = ioctl(sc->sc_kvm, KVM_CREATE_VM, 0);
	if (sc->sc_vm < 0)
		return -errno;
	sc->sc_vcpu = ioctl(sc->sc_vm, KVM_CREATE_VCPU, 0);
	if (sc->sc_vcpu < 0 ||
	    ioctl(sc->sc_vcpu, KVM_SET_CPUID2, sc->sc_cpuid) < 0)
		return -errno;
	return 0;
}

static void scratch_close(struct scratch *sc)
{
	if (sc->sc_vcpu >= 0)
		close(sc->sc_vcpu);
	if (sc->sc_vm >= 0)
		close(sc->sc_vm);
	if (sc->sc_kvm >= 0)
		close(sc->sc_kvm);
	free(sc->sc_cpuid);
	free(sc->sc_msrs);
}

static bool leaf_listed(const struct scratch *sc, uint32_t fn)
{
	for (uint32_t i = 0; i < sc->sc_cpuid->nent; i++) {
		if (sc->sc_cpuid->entries[i].function == fn)
			return true;
	}
	return false;
}

/* A CPUID function KVM does not list: the first past its basic range. */
static uint32_t unlisted_leaf(const struct scratch *sc)
{
	uint32_t fn = 0;

	for (uint32_t i = 0; i < sc->sc_cpuid->nent; i++) {
		if (sc->sc_cpuid->entries[i].function == 0)
			fn = sc->sc_cpuid->entries[i].eax + 1;
	}
	while (leaf_listed(sc, fn))
		fn++;
	return fn;
}

static bool msr_listed(const struct scratch *sc, uint32_t index)
{
	for (uint32_t i = 0; i < sc->sc_msrs->nmsrs; i++) {
		if (sc->sc_msrs->indices[i] == index)
			return true;
	}
	return false;
}

/* KVM_SET_MSRS of one MSR on the scratch vCPU: true when KVM takes it. */
static bool scratch_takes(const struct scratch *sc, uint32_t index,
			  uint64_t value)
{
	/* struct kvm_msrs ends in its entries: room for one after it. */
	union {
		struct kvm_msrs h;
		uint8_t room[sizeof(struct kvm_msrs) +
			     sizeof(struct kvm_msr_entry)];
	} m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.h.entries[0].index = index;
	m.h.entries[0].data = value;
	return ioctl(sc->sc_vcpu, KVM_SET_MSRS, &m.h) == 1;
}

/*
 * The first candidate this KVM refuses while it takes a good value of
 * the same MSR (an MSR refused whatever its value says nothing about
 * values); -1 when it refuses none.
 */
static int refused_candidate(const struct scratch *sc)
{
	for (size_t i = 0; i < NELEMS(refusable); i++) {
		if (scratch_takes(sc, refusable[i].index, refusable[i].good) &&
		    !scratch_takes(sc, refusable[i].index, refusable[i].bad))
			return (int)i;
	}
	return -1;
}

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

static void test_cpuid(struct client *cl, uint32_t vm, const struct scratch *sc)
{
	Kvmmu__CpuidMask m = KVMMU__CPUID_MASK__INIT, *mp = &m;

	m.has_function = 1;
	m.function = unlisted_leaf(sc);
	CHECK(client_set_cpuid(cl, vm, &mp, 1) == -EINVAL &&
		      strstr(cl->cl_err, "SetCpuid.masks[0]"),
	      "a leaf KVM lacks (0x%x): %s", m.function, cl->cl_err);
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

/* msrs[i] of a VcpuState, from pairs. */
static void msrs_fill(Kvmmu__Msr *x, Kvmmu__Msr **xp, const struct msr_pair *p,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kvmmu__msr__init(&x[i]);
		x[i].has_index = x[i].has_value = 1;
		x[i].index = p[i].index;
		x[i].value = p[i].value;
		xp[i] = &x[i];
	}
}

/*
 * KVM's own refusal of an MSR value reaches the frontend naming the
 * entry and the MSR.  The value is one this KVM refuses on the scratch
 * vCPU; it goes last, after the full state's others, so the entry named
 * is not simply the first.
 */
static void test_msr_refusal(struct client *cl, uint32_t vm,
			     const struct scratch *sc)
{
	struct msr_pair p[NELEMS(full_state) + 1];
	Kvmmu__Msr x[NELEMS(full_state) + 1], *xp[NELEMS(full_state) + 1];
	char entry[32], index[32];
	size_t n = 0;
	int c = refused_candidate(sc), r;

	CHECK(c >= 0,
	      "this KVM refuses none of the %zu candidate MSR values (PAT, "
	      "MTRRdefType, non-canonical LSTAR, ...): add one it refuses, "
	      "or KVM's own refusal goes untested",
	      NELEMS(refusable));
	if (c < 0)
		return;
	printf("test_linuxreq: this KVM refuses %s: MSR 0x%x = 0x%llx\n",
	       refusable[c].what, refusable[c].index,
	       (unsigned long long)refusable[c].bad);
	for (size_t i = 0; i < NELEMS(full_state); i++) {
		if (full_state[i].index != refusable[c].index)
			p[n++] = full_state[i];
	}
	p[n++] = (struct msr_pair){refusable[c].index, refusable[c].bad};
	msrs_fill(x, xp, p, n);
	snprintf(entry, sizeof(entry), "msrs[%zu]", n - 1);
	snprintf(index, sizeof(index), "0x%x", refusable[c].index);
	cl->cl_err[0] = '\0'; /* a success leaves the last error there */
	r = send_state(cl, vm, xp, n, 1);
	CHECK(r == -EINVAL && strstr(cl->cl_err, entry) &&
		      strstr(cl->cl_err, index),
	      "KVM's own refusal names the MSR (%s, %s): returned %d: %s",
	      entry, index, r, cl->cl_err);
}

static void test_state(struct client *cl, uint32_t vm, const struct scratch *sc)
{
	Kvmmu__Msr x[NELEMS(full_state)], *xp[NELEMS(full_state)];

	/* Those a KVM saves and restores: it has them, whatever it is. */
	for (size_t i = 0; i < NELEMS(full_state); i++)
		CHECK(msr_listed(sc, full_state[i].index),
		      "MSR 0x%x is in KVM_GET_MSR_INDEX_LIST",
		      full_state[i].index);
	msrs_fill(x, xp, full_state, NELEMS(full_state));
	CHECK(send_state(cl, vm, xp, NELEMS(full_state), 1) == 0,
	      "full state: %s", cl->cl_err);
	test_msr_refusal(cl, vm, sc);
	CHECK(send_state(cl, vm, xp, NELEMS(full_state), 1ULL << 62) ==
			      -EINVAL &&
		      strstr(cl->cl_err, "xcr0"),
	      "XCR0 with a bit KVM lacks: %s", cl->cl_err);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Whether a thread of pid sleeps in KVM_RUN (halted, or awaiting SIPI). */
static bool vcpu_thread_blocked(pid_t pid)
{
	char path[64], wchan[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && !found && (de = readdir(d)) != NULL) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/wchan",
			 (int)pid, de->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		found = fgets(wchan, sizeof(wchan), f) &&
			strcmp(wchan, "kvm_vcpu_block") == 0;
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * vCPU 1 of the irqchip VM is an AP that no INIT/SIPI reaches: it sleeps
 * inside KVM_RUN, where only the server's kick (a signal) gets it out.
 * DestroyVm must not wait for it to wake by itself.
 */
static void test_destroy_blocked(struct client *cl, struct srv *s, uint32_t vm)
{
	uint64_t t0 = now_ns(), dt;
	int r;

	while (!vcpu_thread_blocked(s->s_pid) && now_ns() - t0 < 10000 * MS)
		usleep(10000);
	CHECK(vcpu_thread_blocked(s->s_pid),
	      "vCPU 1 (an AP awaiting SIPI) sleeps in KVM_RUN "
	      "(wchan kvm_vcpu_block)");
	t0 = now_ns();
	r = client_vm_op(cl, vm, KVMMU__REQUEST__BODY_DESTROY_VM);
	dt = now_ns() - t0;
	CHECK(r == 0, "destroy: %s", cl->cl_err);
	printf("test_linuxreq: DestroyVm with a vCPU asleep in KVM_RUN took "
	       "%.1f ms\n",
	       (double)dt / MS);
	CHECK(dt < 5000 * MS, "DestroyVm kicks a sleeping vCPU (%.1f ms)",
	      (double)dt / MS);
}

int main(void)
{
	struct srv srv;
	struct client cl;
	struct scratch sc;
	Kvmmu__Machine mc = linux_machine();
	int ram, chans[2], fds0, fds1, r;
	uint32_t plain, vm;

	require_kvm("test_linuxreq");
	r = scratch_open(&sc);
	CHECK(r == 0, "a scratch VM and vCPU: %s", strerror(-r));
	if (r < 0) {
		scratch_close(&sc);
		return checks_report("test_linuxreq");
	}
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
	test_cpuid(&cl, vm, &sc);
	test_state(&cl, vm, &sc);
	fds1 = proc_fd_count(srv.s_pid);
	CHECK(fds1 >= fds0 + 3, "the server holds the VMs' and irqfds' fds");

	/* Once the VM has run, KVM keeps its CPUID. */
	CHECK(client_vm_op(&cl, vm, KVMMU__REQUEST__BODY_RUN) == 0, "Run: %s",
	      cl.cl_err);
	test_cpuid_after_run(&cl, vm);
	test_destroy_blocked(&cl, &srv, vm);

	CHECK(client_vm_op(&cl, plain, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy plain: %s", cl.cl_err);
	CHECK(proc_fd_count(srv.s_pid) == fds0,
	      "server fds back: %d, baseline %d", proc_fd_count(srv.s_pid),
	      fds0);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly");
	scratch_close(&sc);
	return checks_report("test_linuxreq");
}
