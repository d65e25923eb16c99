/*
 * test_core.c: mmu-server's VM core without the daemon and without a
 * socket.  A real KVM VM is made with vm_create and its memory map is
 * changed by plans through vm_transaction, the one engine that MapRegion,
 * UnmapRegion and Transaction share: creates and moves cost the ioctls
 * the plan says, a failed ioctl rolls the whole plan back, the bounds
 * refuse before any ioctl, a change of MMIO bookkeeping pauses no vCPU,
 * the run state moves as Run, Stop and the admin API say, a vCPU ioctl
 * is refused unless a hold keeps the vCPU out of KVM_RUN, an MSI route's
 * irqfd (masked, unmasked) and KVM_SIGNAL_MSI reach the local APIC, and
 * destroying the VM gives back every fd.
 * Trust: test code, run as root.
 */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "vm.h"

#define MB (1ULL << 20)
#define GB (1ULL << 30)

static struct region ram(const char *name, uint64_t gpa, uint64_t size,
			 uint64_t off)
{
	struct region r = {.r_kind = RK_RAM,
			   .r_gpa = gpa,
			   .r_size = size,
			   .r_offset = off,
			   .r_slot = 0,
			   .r_fd = -1};

	snprintf(r.r_name, sizeof(r.r_name), "%s", name);
	return r;
}

/* Applies regs[0..n) over [gpa, gpa + size) as a Transaction would. */
static int tx(struct vm *vm, uint64_t gpa, uint64_t size,
	      const struct region *regs, size_t n, unsigned fail_at,
	      struct verr *e)
{
	struct tx_plan p;
	int r = memmap_plan(&vm->vm_map, gpa, gpa + size, regs, n,
			    vm->vm_ram_bytes, &p, e);

	if (r == 0) {
		r = vm_transaction(vm, &p, TX_TRANSACTION, fail_at, e);
		tx_plan_free(&p);
	}
	return r;
}

/* The GPA of the region named name, or ~0. */
static uint64_t where(struct vm *vm, const char *name)
{
	for (size_t i = 0; i < vm->vm_map.mm_n; i++) {
		if (strcmp(vm->vm_map.mm_regions[i].r_name, name) == 0)
			return vm->vm_map.mm_regions[i].r_gpa;
	}
	return ~0ULL;
}

#define APIC_SPIV 0xf0
#define APIC_IRR  0x200
#define MSI_ADDR  0xfee00000 /* fixed, physical, APIC id 0 */

/* vCPU 0's local APIC, read or written under a hold (not in KVM_RUN). */
static int lapic(struct vm *vm, struct kvm_lapic_state *l, bool set)
{
	int r;

	vm_pause(vm);
	r = set ? kvm_vcpu_set_lapic(vm->vm_vcpus[0].v_fd, l)
		: kvm_vcpu_get_lapic(vm->vm_vcpus[0].v_fd, l);
	vm_unpause(vm);
	return r;
}

/* Whether vector is pending in vCPU 0's IRR within ms milliseconds. */
static bool pending(struct vm *vm, unsigned vector, int ms)
{
	struct kvm_lapic_state l;
	uint32_t irr;

	for (int i = 0; i <= ms; i++) {
		if (lapic(vm, &l, false) < 0)
			return false;
		memcpy(&irr, &l.regs[APIC_IRR + (vector / 32) * 0x10], 4);
		if (irr & (1U << (vector % 32)))
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * An MSI route and its irqfd deliver to the local APIC: the vector is
 * pending in the IRR (the vCPU never runs, so it stays there).  A route
 * whose message changes delivers its new vector; a masked irqfd holds
 * its signal until the unmask; SignalMsi delivers at once.
 */
static void test_msi_delivery(struct kvm_host *kh)
{
	struct vm_spec vs = {.vs_name = "msi",
			     .vs_nvcpus = 1,
			     .vs_ram_bytes = 16 * MB,
			     .vs_zap = {ZAP_ALL, 0, ALLONES_MMIO},
			     .vs_machine = {.vmm_irqchip = true}};
	struct kvm_lapic_state l;
	struct verr e = {0};
	struct vm *vm;
	uint32_t gsi;
	int chan, fd = -1, nofd[2];
	uint64_t one = 1;

	CHECK(vm_create(kh, &vs, &vm, &chan, &e) == 0, "irqchip VM: %s", e.msg);
	close(chan);
	CHECK(lapic(vm, &l, false) == 0, "KVM_GET_LAPIC");
	l.regs[APIC_SPIV + 1] |= 1; /* bit 8: software enabled */
	CHECK(lapic(vm, &l, true) == 0, "KVM_SET_LAPIC: APIC enabled");
	CHECK(msi_route_set(&vm->vm_msi, vm->vm_fd, -1, MSI_ADDR, 0, 0x40, &gsi,
			    &e) == 0 &&
		      gsi == MSI_GSI_BASE,
	      "a route: %s (GSI %u)", e.msg, gsi);
	CHECK(vm_irqfd(vm, gsi, false, nofd, &e) == 0, "its irqfd: %s", e.msg);
	fd = nofd[0];
	CHECK(!pending(vm, 0x40, 0), "vector 0x40 not pending yet");
	CHECK(write(fd, &one, 8) == 8, "signal");
	CHECK(pending(vm, 0x40, 1000), "the irqfd delivered vector 0x40");

	CHECK(msi_route_set(&vm->vm_msi, vm->vm_fd, (int)gsi, MSI_ADDR, 0, 0x41,
			    &gsi, &e) == 0,
	      "the route's new vector: %s", e.msg);
	CHECK(msi_mask(&vm->vm_msi, vm->vm_fd, gsi, true, &e) == 0,
	      "masked: %s", e.msg);
	CHECK(write(fd, &one, 8) == 8, "signal while masked");
	CHECK(!pending(vm, 0x41, 100), "masked: vector 0x41 not delivered");
	CHECK(msi_mask(&vm->vm_msi, vm->vm_fd, gsi, false, &e) == 0,
	      "unmasked: %s", e.msg);
	CHECK(pending(vm, 0x41, 1000),
	      "the unmask delivered the signal that came while masked");

	CHECK(msi_signal(vm->vm_fd, MSI_ADDR, 0, 0x42, &e) == 1,
	      "KVM_SIGNAL_MSI delivered: %s", e.msg);
	CHECK(pending(vm, 0x42, 0), "vector 0x42 pending");
	CHECK(msi_route_remove(&vm->vm_msi, vm->vm_fd, gsi, &e) == 0 &&
		      vm->vm_msi.mt_nirqfds == 0,
	      "the route goes with its irqfd: %s", e.msg);
	close(fd);
	vm_destroy(vm);
}

int main(void)
{
	struct zap_policy zp = {ZAP_ALL, 0, ALLONES_MMIO};
	struct ownerlist owners = TAILQ_HEAD_INITIALIZER(owners);
	struct region regs[2], r;
	struct quota_limits ql;
	struct kvm_host kh;
	struct owner *o;
	struct verr e = {0};
	struct vm_spec vs = {
		.vs_name = "core", .vs_nvcpus = 1, .vs_ram_bytes = 16 * MB};
	struct vm *vm;
	uint64_t io, pauses;
	int chans[1], fds0, ret;

	require_kvm("test_core");
	fds0 = proc_fd_count(getpid());
	vcpu_signals_init();
	CHECK(kvm_host_open(&kh, "/dev/kvm") == 0, "KVM");
	vs.vs_zap = zp;
	CHECK(vm_create(&kh, &vs, &vm, chans, &e) == 0, "vm_create: %s", e.msg);
	close(chans[0]);
	quota_defaults(&ql);
	ql.ql_vm[QR_MEMSLOTS] = 4;
	o = owner_get(&owners, 1000, &ql);
	vm_set_owner(vm, o);

	/* MapRegion: one plan, one ioctl; an overlap costs none. */
	r = ram("ram", 0, 8 * MB, 0);
	CHECK(vm_map_region(vm, &r, -1, &e) == 0 && vm->vm_memslot_ioctls == 1,
	      "map RAM: %s", e.msg);
	r = ram("over", 4 * MB, 8 * MB, 0);
	CHECK(vm_map_region(vm, &r, -1, &e) == -EEXIST &&
		      vm->vm_memslot_ioctls == 1,
	      "overlap refused before any ioctl: %s", e.msg);

	/* Transaction: two creates, then a swap. */
	regs[0] = ram("a", GB, 2 * MB, 8 * MB);
	regs[1] = ram("b", GB + 2 * MB, 2 * MB, 10 * MB);
	io = vm->vm_memslot_ioctls;
	CHECK(tx(vm, GB, 16 * MB, regs, 2, 0, &e) == 0 &&
		      vm->vm_memslot_ioctls - io == 2,
	      "two creates, two ioctls: %s", e.msg);
	regs[0].r_gpa = GB + 2 * MB;
	regs[1].r_gpa = GB;
	CHECK(tx(vm, GB, 16 * MB, regs, 2, 0, &e) == 0 &&
		      where(vm, "a") == GB + 2 * MB && where(vm, "b") == GB,
	      "swapped: %s", e.msg);

	/* A failing second ioctl: the old map stays, and works after. */
	regs[0].r_gpa = GB + 4 * MB;
	regs[1].r_gpa = GB + 6 * MB;
	CHECK(tx(vm, GB, 16 * MB, regs, 2, 2, &e) == -EIO &&
		      where(vm, "a") == GB + 2 * MB && where(vm, "b") == GB &&
		      vm->vm_tx_failed == 1,
	      "rolled back: %s", e.msg);
	CHECK(tx(vm, GB, 16 * MB, regs, 2, 0, &e) == 0 &&
		      where(vm, "a") == GB + 4 * MB,
	      "the same plan applies after: %s", e.msg);

	/* The bound on memslots refuses before any ioctl. */
	r = ram("c", 2 * GB, 2 * MB, 12 * MB);
	CHECK(vm_map_region(vm, &r, -1, &e) == 0, "fourth slot: %s", e.msg);
	io = vm->vm_memslot_ioctls;
	r = ram("d", 3 * GB, 2 * MB, 12 * MB);
	CHECK(vm_map_region(vm, &r, -1, &e) == -EDQUOT &&
		      strstr(e.msg, "memslots") && vm->vm_memslot_ioctls == io,
	      "fifth refused: %s", e.msg);

	/* MMIO bookkeeping: no ioctl, no pause. */
	pauses = vm->vm_pauses;
	r = (struct region){.r_kind = RK_MMIO,
			    .r_gpa = 4 * GB,
			    .r_size = 4096,
			    .r_slot = -1,
			    .r_fd = -1};
	snprintf(r.r_name, sizeof(r.r_name), "mmio");
	CHECK(vm_map_region(vm, &r, -1, &e) == 0 &&
		      vm->vm_memslot_ioctls == io && vm->vm_pauses == pauses,
	      "MMIO region: no ioctl, no pause: %s", e.msg);

	/* UnmapRegion: one plan, one ioctl; a wrong GPA none. */
	CHECK(vm_unmap_region(vm, 2 * GB, &e) == 0 &&
		      vm->vm_memslot_ioctls == io + 1 &&
		      where(vm, "c") == ~0ULL,
	      "unmap: %s", e.msg);
	CHECK(vm_unmap_region(vm, 2 * GB, &e) == -ENOENT, "unmap twice");
	ret = (int)vm->vm_map.mm_n;
	CHECK(ret == 4, "ram, a, b and mmio: %d regions", ret);

	/* The run state: admin pause only of a running VM, and back. */
	CHECK(vm_admin_pause(vm) == -EINVAL && vm_get_state(vm) == VM_STOPPED,
	      "a stopped VM cannot be paused");
	vm_run(vm);
	CHECK(vm_admin_pause(vm) == 0 && vm_get_state(vm) == VM_PAUSED,
	      "paused");
	vm_run(vm);
	CHECK(vm_get_state(vm) == VM_PAUSED, "Run keeps it paused");
	vm_admin_resume(vm);
	CHECK(vm_get_state(vm) == VM_RUNNING, "resumed");
	vm_stop(vm);
	CHECK(vm_get_state(vm) == VM_STOPPED, "stopped");

	/* A vCPU ioctl only while the vCPU is held out of KVM_RUN. */
	{
		struct kvm_sregs sr;

		CHECK(vcpu_get_sregs(&vm->vm_vcpus[0], &sr) == -EBUSY,
		      "vCPU ioctl without a hold refused");
		vm_pause(vm);
		CHECK(vcpu_get_sregs(&vm->vm_vcpus[0], &sr) == 0,
		      "vCPU ioctl under a hold");
		vm_unpause(vm);
	}

	vm_destroy(vm);
	owner_put(&owners, o);
	test_msi_delivery(&kh);
	kvm_host_close(&kh);
	CHECK(proc_fd_count(getpid()) == fds0, "fds back to %d: %d", fds0,
	      proc_fd_count(getpid()));
	return checks_report("test_core");
}
