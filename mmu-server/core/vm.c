/*
 * vm.c: creation, memory map and lifetime of one VM.  Every resource a VM
 * takes (KVM fds, memfds, mappings, threads, channels) is released by
 * vm_destroy, and every failure path releases what it took so far.
 * Trust: privileged; requests reach here validated by validate.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "hugemap.h"
#include "inval.h"
#include "log.h"
#include "ram.h"
#include "release.h"
#include "vm.h"

#ifndef MFD_HUGE_2MB /* <linux/memfd.h>; glibc's headers lack them */
#define MFD_HUGE_2MB (21U << 26)
#define MFD_HUGE_1GB (30U << 26)
#endif

static uint32_t vm_next_id = 1;

_Static_assert(MSI_GSI_BASE == VM_IRQ_PINS, "msi.h vs vm.h");

/*
 * hugetlbfs pages the host reserved (CreateVm.hugetlb_page_kib): refused
 * with the counts when too few are free; the mapping then reserves them
 * (no MAP_NORESERVE), so a VM that starts cannot fault for want of one.
 */
static int vm_ram_hugetlb(struct vm *vm, uint32_t kib, const char *name,
			  struct verr *e)
{
	char msg[300];
	int r = ram_hugetlb_check(kib, vm->vm_ram_bytes, msg, sizeof(msg));

	if (r < 0)
		return verr_set(e, -r, "CreateVm.hugetlb_page_kib: %s", msg);
	vm->vm_ram_backing = kib == 2048 ? RAM_HUGETLB_2M : RAM_HUGETLB_1G;
	vm->vm_ram_fd = memfd_create(
		name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB |
			      (kib == 2048 ? MFD_HUGE_2MB : MFD_HUGE_1GB));
	if (vm->vm_ram_fd < 0)
		return verr_set(e, errno, "memfd_create(MFD_HUGETLB): %s",
				strerror(errno));
	return 0;
}

/*
 * CreateVm.ram_backing, else the server's.  "huge" only where the host
 * can (ram_host_init said why not, once): a frontend may ask either, as
 * neither allocates anything before the guest touches it.
 */
static enum ram_backing vm_ram_backing(const struct vm *vm, const char *asked)
{
	const struct ram_host *h = ram_host();

	if (asked == NULL)
		return h->rh_have;
	if (ram_backing_parse(asked) != RAM_HUGE)
		return RAM_4K;
	if (!h->rh_can_huge) {
		log_info("vm '%s': huge RAM asked, 4k given: %s", vm->vm_name,
			 h->rh_why);
		return RAM_4K;
	}
	return RAM_HUGE;
}

/* "huge": a tmpfs file of the VM's own (ram.h); unsealable, see ram.c. */
static int vm_ram_tmpfs(struct vm *vm, struct verr *e)
{
	char msg[160];

	vm->vm_ram_fd = ram_tmpfs_open(vm->vm_ram_bytes, msg, sizeof(msg));
	if (vm->vm_ram_fd >= 0)
		return 0;
	return verr_set(e, -vm->vm_ram_fd, "RAM on a tmpfs of its own: %s",
			msg);
}

/* A memfd ("4k", hugetlb) is sealed: the frontend cannot resize it. */
static int vm_ram_seal(struct vm *vm, struct verr *e)
{
	if (ftruncate(vm->vm_ram_fd, (off_t)vm->vm_ram_bytes) < 0)
		return verr_set(e, errno, "CreateVm.ram_bytes: ftruncate: %s",
				strerror(errno));
	if (fcntl(vm->vm_ram_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return verr_set(e, errno, "memfd seals: %s", strerror(errno));
	return 0;
}

static int vm_ram_create(struct vm *vm, const struct vm_spec *vs,
			 struct verr *e)
{
	char name[96];
	int flags = MAP_NORESERVE;

	snprintf(name, sizeof(name), "kvmmu-ram:%s", vm->vm_name);
	if (vs->vs_hugetlb_kib != 0) {
		if (vm_ram_hugetlb(vm, vs->vs_hugetlb_kib, name, e) < 0 ||
		    vm_ram_seal(vm, e) < 0)
			return -e->code;
		flags = 0;
	} else if ((vm->vm_ram_backing = vm_ram_backing(vm, vs->vs_backing)) ==
		   RAM_HUGE) {
		if (vm_ram_tmpfs(vm, e) < 0)
			return -e->code;
	} else {
		vm->vm_ram_fd =
			memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (vm->vm_ram_fd < 0)
			return verr_set(e, errno, "memfd_create: %s",
					strerror(errno));
		if (vm_ram_seal(vm, e) < 0)
			return -e->code;
	}
	/*
	 * 2 MiB-aligned, so that huge pages are mapped 2 MiB at a time here,
	 * where KVM reads its mapping level.  The guest's are too where a
	 * region's GPA and file offset agree modulo 2 MiB (kvmmu's frontend
	 * puts RAM at offset = GPA).
	 */
	vm->vm_ram = hugemap_shared(vm->vm_ram_fd, vm->vm_ram_bytes, flags);
	if (vm->vm_ram == MAP_FAILED) {
		vm->vm_ram = NULL;
		return verr_set(e, errno, "CreateVm.ram_bytes: mmap: %s%s",
				strerror(errno),
				flags == 0 ? " (huge pages taken meanwhile)"
					   : "");
	}
	/*
	 * libvirt's <allocation mode='immediate'/>: all of it now (not
	 * zeroed yet: shmem clears a page at its first use).
	 */
	if (vs->vs_ram_immediate && flags != 0 &&
	    fallocate(vm->vm_ram_fd, 0, 0, (off_t)vm->vm_ram_bytes) < 0)
		return verr_set(e, errno,
				"CreateVm.ram_immediate: fallocate: %s",
				strerror(errno));
	/*
	 * A 4k memfd still gets huge pages where the host allows them for
	 * shared memory (shmem_enabled 'advise').  Advice only.
	 */
	if (vm->vm_ram_backing == RAM_4K &&
	    madvise(vm->vm_ram, vm->vm_ram_bytes, MADV_HUGEPAGE) < 0)
		log_debug("vm '%s': MADV_HUGEPAGE: %s", vm->vm_name,
			  strerror(errno));
	return 0;
}

/* Applies KVM's CPUID with the topology of nvcpus and masks m[0..n). */
static int vcpu_cpuid(struct vm *vm, struct vcpu *v, unsigned nvcpus,
		      const struct cpuid_mask *m, size_t n,
		      int (*set)(struct vcpu *, const struct kvm_cpuid2 *),
		      struct verr *e)
{
	struct kvm_cpuid2 *c =
		cpuid_for_vcpu(vm->vm_kh->kh_cpuid, v->v_idx, nvcpus, m, n);
	int r;

	if (c == NULL)
		return verr_set(e, ENOMEM, "CPUID: out of memory");
	r = set(v, c);
	free(c);
	if (r < 0)
		return verr_set(e, -r, "KVM_SET_CPUID2 vCPU %u: %s", v->v_idx,
				strerror(-r));
	return 0;
}

static int vcpu_set_cpuid_unstarted(struct vcpu *v, const struct kvm_cpuid2 *c)
{
	return kvm_vcpu_set_cpuid(v->v_fd, c);
}

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_DM_NMI    4
#define APIC_DM_EXTINT 7

static void lapic_set_mode(struct kvm_lapic_state *l, unsigned reg,
			   uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700U) | mode << 8;
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/*
 * With an in-kernel irqchip, LINT0 takes the PIC's interrupts (ExtINT)
 * and LINT1 NMIs, as firmware leaves a PC: the MP table says so too.
 */
static int vcpu_lapic(struct vcpu *v, struct verr *e)
{
	struct kvm_lapic_state l;
	int r = kvm_vcpu_get_lapic(v->v_fd, &l);

	if (r == 0) {
		lapic_set_mode(&l, APIC_LVT_LINT0, APIC_DM_EXTINT);
		lapic_set_mode(&l, APIC_LVT_LINT1, APIC_DM_NMI);
		r = kvm_vcpu_set_lapic(v->v_fd, &l);
	}
	if (r < 0)
		return verr_set(e, -r, "local APIC of vCPU %u: %s", v->v_idx,
				strerror(-r));
	return 0;
}

static int vcpu_init(struct vm *vm, unsigned idx, unsigned nvcpus, int *peer,
		     struct verr *e)
{
	struct vcpu *v = &vm->vm_vcpus[idx];
	int sv[2], r;

	v->v_fd = kvm_vcpu_create(vm->vm_kh, vm->vm_fd, idx, &v->v_run);
	if (v->v_fd < 0)
		return verr_set(e, -v->v_fd, "KVM_CREATE_VCPU %u: %s", idx,
				strerror(-v->v_fd));
	/* Its thread is not started: no KVM_RUN to keep it out of. */
	if (vcpu_cpuid(vm, v, nvcpus, NULL, 0, vcpu_set_cpuid_unstarted, e) < 0)
		return -e->code;
	if (vm->vm_machine.vmm_irqchip && vcpu_lapic(v, e) < 0)
		return -e->code;
	r = kstats_open(&v->v_stats, v->v_fd);
	if (r < 0)
		return verr_set(e, -r, "vCPU %u stats: %s", idx, strerror(-r));
	v->v_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->v_wake < 0)
		return verr_set(e, errno, "eventfd: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return verr_set(e, errno, "socketpair: %s", strerror(errno));
	v->v_chan = sv[0];
	*peer = sv[1];
	if (fcntl(v->v_chan, F_SETFL, O_NONBLOCK) < 0)
		return verr_set(e, errno, "channel: %s", strerror(errno));
	r = vcpu_start(v);
	if (r < 0)
		return verr_set(e, -r, "vCPU %u thread: %s", idx, strerror(-r));
	return 0;
}

static struct vm *vm_alloc(struct kvm_host *kh, const char *name,
			   unsigned nvcpus, uint64_t ram_bytes)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (vm == NULL)
		return NULL;
	vm->vm_vcpus = calloc(nvcpus, sizeof(struct vcpu));
	if (vm->vm_vcpus == NULL) {
		free(vm);
		return NULL;
	}
	vm->vm_kh = kh;
	snprintf(vm->vm_name, sizeof(vm->vm_name), "%s", name);
	vm->vm_ram_bytes = ram_bytes;
	vm->vm_fd = vm->vm_ram_fd = vm->vm_ones_fd = -1;
	vm->vm_stats.ks_fd = -1;
	for (unsigned i = 0; i < VM_IRQ_PINS; i++)
		vm->vm_irq[i].vi_fd = vm->vm_irq[i].vi_resample = -1;
	for (unsigned i = 0; i < nvcpus; i++) {
		struct vcpu *v = &vm->vm_vcpus[i];

		v->v_vm = vm;
		v->v_idx = i;
		v->v_fd = v->v_chan = v->v_wake = -1;
		v->v_stats.ks_fd = -1;
	}
	pthread_mutex_init(&vm->vm_lock, NULL);
	pthread_cond_init(&vm->vm_cv, NULL);
	pthread_rwlock_init(&vm->vm_map_lock, NULL);
	return vm;
}

#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL (1 << 7) /* Linux 6.12 uapi */
#endif

bool vm_zap_supported(const struct kvm_host *kh)
{
	return (kh->kh_quirks2 & KVM_X86_QUIRK_SLOT_ZAP_ALL) != 0;
}

/* Targeted zaps: disable the quirk that zaps every mapping. */
static int vm_zap_memslot(struct vm *vm, struct verr *e)
{
	int r;

	if (!vm_zap_supported(vm->vm_kh))
		return verr_set(e, EOPNOTSUPP,
				"ZapControl.mode: memslot needs "
				"KVM_X86_QUIRK_SLOT_ZAP_ALL in "
				"KVM_CAP_DISABLE_QUIRKS2 (Linux >= 6.12); "
				"this kernel offers mask 0x%llx",
				(unsigned long long)vm->vm_kh->kh_quirks2);
	r = kvm_vm_disable_quirks2(vm->vm_fd, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	if (r < 0)
		return verr_set(e, -r, "KVM_ENABLE_CAP(DISABLE_QUIRKS2): %s",
				strerror(-r));
	return 0;
}

int vm_set_zap(struct vm *vm, const struct zap_policy *zp, struct verr *e)
{
	if (zp->zp_mode == ZAP_ALL && vm->vm_zap.zp_mode == ZAP_MEMSLOT)
		return verr_set(e, EBUSY,
				"ZapControl.mode: all cannot be applied to a "
				"running VM: KVM cannot re-enable "
				"KVM_X86_QUIRK_SLOT_ZAP_ALL (Linux >= 6.16); "
				"restart the VM with mode=all");
	if (zp->zp_mode == ZAP_MEMSLOT && vm->vm_zap.zp_mode == ZAP_ALL &&
	    vm_zap_memslot(vm, e) < 0)
		return -e->code;
	vm->vm_zap = *zp;
	return 0;
}

/* The in-kernel machine; KVM wants it before the first vCPU. */
static int vm_machine_create(struct vm *vm, const struct vm_machine *mc,
			     struct verr *e)
{
	int r = 0;
	const char *what = NULL;

	vm->vm_machine = *mc;
	if (mc->vmm_tss && (r = kvm_vm_set_tss_addr(vm->vm_fd, mc->vmm_tss)))
		what = "KVM_SET_TSS_ADDR";
	else if (mc->vmm_idmap &&
		 (r = kvm_vm_set_identity_map(vm->vm_fd, mc->vmm_idmap)))
		what = "KVM_SET_IDENTITY_MAP_ADDR";
	else if (mc->vmm_irqchip && (r = kvm_vm_create_irqchip(vm->vm_fd)))
		what = "KVM_CREATE_IRQCHIP";
	else if (mc->vmm_pit && (r = kvm_vm_create_pit(vm->vm_fd)))
		what = "KVM_CREATE_PIT2";
	if (what != NULL)
		return verr_set(e, -r, "CreateVm.machine: %s: %s", what,
				strerror(-r));
	return 0;
}

int vm_create(struct kvm_host *kh, const struct vm_spec *vs, struct vm **out,
	      int *chans, struct verr *e)
{
	unsigned nvcpus = vs->vs_nvcpus;
	struct vm *vm;
	int r;

	for (unsigned i = 0; i < nvcpus; i++)
		chans[i] = -1;
	vm = vm_alloc(kh, vs->vs_name, nvcpus, vs->vs_ram_bytes);
	if (vm == NULL)
		return verr_set(e, ENOMEM, "CreateVm: out of memory");
	vm->vm_fd = kvm_vm_create(kh);
	if (vm->vm_fd < 0) {
		r = verr_set(e, -vm->vm_fd, "KVM_CREATE_VM: %s",
			     strerror(-vm->vm_fd));
		goto err;
	}
	vm->vm_zap = vs->vs_zap;
	if (vs->vs_zap.zp_mode == ZAP_MEMSLOT) {
		r = vm_zap_memslot(vm, e);
		if (r < 0)
			goto err;
	}
	r = vm_machine_create(vm, &vs->vs_machine, e);
	if (r < 0)
		goto err;
	r = kstats_open(&vm->vm_stats, vm->vm_fd);
	if (r < 0) {
		r = verr_set(e, -r, "VM stats: %s", strerror(-r));
		goto err;
	}
	r = memmap_init(&vm->vm_map, kh->kh_nr_slots);
	if (r < 0) {
		r = verr_set(e, ENOMEM, "CreateVm: out of memory");
		goto err;
	}
	r = vm_ram_create(vm, vs, e);
	if (r < 0)
		goto err;
	for (unsigned i = 0; i < nvcpus; i++) {
		vm->vm_nvcpus = i + 1; /* vm_destroy undoes this many */
		r = vcpu_init(vm, i, nvcpus, &chans[i], e);
		if (r < 0)
			goto err;
	}
	vm->vm_id = vm_next_id++;
	*out = vm;
	return 0;
err:
	for (unsigned i = 0; i < nvcpus; i++) {
		if (chans[i] >= 0)
			close(chans[i]);
		chans[i] = -1;
	}
	vm_destroy(vm);
	return r;
}

void vm_set_owner(struct vm *vm, struct owner *o)
{
	vm->vm_owner = o;
	TAILQ_INSERT_TAIL(&o->o_vms, vm, vm_oentry);
}

void vm_usage(const struct vm *vm, struct quota_use *u)
{
	u->qu[QR_VMS]++;
	u->qu[QR_VCPUS] += vm->vm_nvcpus;
	u->qu[QR_RAM] += vm->vm_ram_bytes;
	u->qu[QR_FDS] += VM_FDS(vm->vm_nvcpus) + vm->vm_nirqfds +
			 vm->vm_db.ds_n + vm->vm_msi.mt_nirqfds;
	u->qu[QR_DOORBELLS] += vm->vm_db.ds_n;
	u->qu[QR_MSI] += vm->vm_msi.mt_n;
	u->qu[QR_MAPPINGS] += VM_MAPPINGS(vm->vm_nvcpus);
	memmap_usage(&vm->vm_map, u);
}

void owner_usage(const struct owner *o, struct quota_use *u)
{
	const struct vm *vm;

	u->qu[QR_CONNS] += o->o_conns - o->o_refused;
	u->qu[QR_FDS] += o->o_conns;
	TAILQ_FOREACH(vm, &o->o_vms, vm_oentry)
	vm_usage(vm, u);
}

int vm_quota_check(const struct vm *vm, const struct quota_use *delta,
		   const struct quota_use *drop, struct verr *e)
{
	struct quota_use vu = {{0}}, ou = {{0}};

	/*
	 * A change that takes no more of anything than it gives back (an
	 * unmap, a BAR move) stays within every bound: no need to count.
	 */
	if (vm->vm_owner == NULL || !quota_grows(delta, drop))
		return 0;
	vm_usage(vm, &vu);
	owner_usage(vm->vm_owner, &ou);
	if (drop != NULL) {
		quota_sub(&vu, drop);
		quota_sub(&ou, drop);
	}
	return quota_check(vm->vm_owner->o_lim, &vu, &ou, vm->vm_owner->o_uid,
			   delta, e);
}

void vm_region_release(struct region *r)
{
	if (r->r_map != NULL)
		munmap(r->r_map, r->r_size);
	release_fd(r->r_fd); /* a frontend's ROM fd */
	r->r_map = NULL;
	r->r_fd = -1;
}

static void vcpu_release(struct kvm_host *kh, struct vcpu *v)
{
	vcpu_stop_thread(v);
	kstats_close(&v->v_stats);
	kvm_vcpu_unmap_run(kh, v->v_run);
	if (v->v_fd >= 0)
		close(v->v_fd);
	if (v->v_chan >= 0)
		close(v->v_chan);
	if (v->v_wake >= 0)
		close(v->v_wake);
}

void vm_destroy(struct vm *vm)
{
	if (vm == NULL)
		return;
	if (vm->vm_owner != NULL)
		TAILQ_REMOVE(&vm->vm_owner->o_vms, vm, vm_oentry);
	inval_free(vm);
	pthread_mutex_lock(&vm->vm_lock);
	vm->vm_state = VM_QUITTING;
	for (unsigned i = 0; i < vm->vm_nvcpus; i++)
		vcpu_kick_locked(&vm->vm_vcpus[i]);
	pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
	for (unsigned i = 0; i < vm->vm_nvcpus; i++)
		vcpu_release(vm->vm_kh, &vm->vm_vcpus[i]);
	for (size_t i = 0; i < vm->vm_map.mm_n; i++)
		vm_region_release(&vm->vm_map.mm_regions[i]);
	memmap_free(&vm->vm_map);
	kstats_close(&vm->vm_stats);
	/* Closing the VM fd drops every memslot before we unmap RAM. */
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	doorbells_free(&vm->vm_db); /* KVM let go of its own references */
	msi_free(&vm->vm_msi);
	if (vm->vm_ram != NULL)
		munmap(vm->vm_ram, vm->vm_ram_bytes);
	if (vm->vm_ram_fd >= 0)
		close(vm->vm_ram_fd);
	if (vm->vm_ones_fd >= 0)
		close(vm->vm_ones_fd);
	for (unsigned i = 0; i < VM_IRQ_PINS; i++) {
		if (vm->vm_irq[i].vi_fd >= 0)
			close(vm->vm_irq[i].vi_fd);
		if (vm->vm_irq[i].vi_resample >= 0)
			close(vm->vm_irq[i].vi_resample);
	}
	pthread_rwlock_destroy(&vm->vm_map_lock);
	pthread_cond_destroy(&vm->vm_cv);
	pthread_mutex_destroy(&vm->vm_lock);
	free(vm->vm_vcpus);
	free(vm);
}

/* One sealed memfd of 0xff pages per VM, mapped as often as needed. */
static int vm_ones_fd(struct vm *vm, struct verr *e)
{
	void *p;
	int fd;

	if (vm->vm_ones_fd >= 0)
		return 0;
	fd = memfd_create("kvmmu-allones", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)ALLONES_CHUNK) < 0)
		goto err;
	p = mmap(NULL, ALLONES_CHUNK, PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	memset(p, 0xff, ALLONES_CHUNK);
	munmap(p, ALLONES_CHUNK);
	if (fcntl(fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		goto err;
	vm->vm_ones_fd = fd;
	return 0;
err:
	if (fd >= 0)
		close(fd);
	return verr_set(e, errno, "all-ones backing: %s", strerror(errno));
}

/* Reserves the region's size, then maps the 0xff memfd over it. */
static int vm_allones_backing(struct vm *vm, struct region *r, struct verr *e)
{
	uint8_t *base;

	if (vm_ones_fd(vm, e) < 0)
		return -e->code;
	base = mmap(NULL, r->r_size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return verr_set(e, errno, "all-ones: mmap: %s",
				strerror(errno));
	for (uint64_t off = 0; off < r->r_size; off += ALLONES_CHUNK) {
		uint64_t len = r->r_size - off;

		if (mmap(base + off, len < ALLONES_CHUNK ? len : ALLONES_CHUNK,
			 PROT_READ, MAP_SHARED | MAP_FIXED, vm->vm_ones_fd,
			 0) == MAP_FAILED) {
			munmap(base, r->r_size);
			return verr_set(e, errno, "all-ones: mmap: %s",
					strerror(errno));
		}
	}
	r->r_map = r->r_hva = base;
	return 0;
}

int vm_region_backing(struct vm *vm, struct region *r, struct verr *e)
{
	void *p;

	if (r->r_kind == RK_RAM) {
		r->r_hva = (uint8_t *)vm->vm_ram + r->r_offset;
		return 0;
	}
	if (r->r_kind == RK_ALLONES)
		return vm_allones_backing(vm, r, e);
	p = mmap(NULL, r->r_size, PROT_READ, MAP_SHARED, r->r_fd,
		 (off_t)r->r_offset);
	if (p == MAP_FAILED)
		return verr_set(e, errno, "MapRegion: mmap ROM: %s",
				strerror(errno));
	r->r_map = r->r_hva = p;
	return 0;
}

static uint32_t region_flags(const struct region *r)
{
	uint32_t flags = r->r_dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0;

	if (r->r_kind == RK_ROM || r->r_kind == RK_ALLONES)
		flags |= KVM_MEM_READONLY;
	return flags;
}

int vm_slot_set(struct vm *vm, const struct region *r, uint64_t size,
		struct verr *e)
{
	uint32_t flags = region_flags(r);
	int ret;

	if (vm->vm_tx_fail_at && ++vm->vm_tx_ioctl_n == vm->vm_tx_fail_at)
		return verr_set(e, EIO, "injected failure (--fail-tx-ioctl)");
	ret = kvm_vm_set_slot(vm->vm_fd, (uint32_t)r->r_slot, flags, r->r_gpa,
			      size, r->r_hva);

	vm->vm_memslot_ioctls++;
	srv_count(SC_MEMSLOT_IOCTLS);
	if (ret < 0)
		return verr_set(e, -ret,
				"KVM_SET_USER_MEMORY_REGION slot %d "
				"'%s': %s",
				r->r_slot, r->r_name, strerror(-ret));
	return 0;
}

bool vm_region_needs_slot(const struct vm *vm, const struct region *r)
{
	if (r->r_kind == RK_ALLONES)
		return vm->vm_zap.zp_allones == ALLONES_ROM;
	return r->r_kind != RK_MMIO;
}

/* The rest of a vCPU's state, in the order a boot needs it. */
static int vm_vcpu_extra(struct vcpu *v, const struct vcpu_regs *st,
			 struct verr *e)
{
	/* struct kvm_msrs ends in its entries: room for ours after it. */
	union {
		struct kvm_msrs h;
		uint8_t room[sizeof(struct kvm_msrs) +
			     VCPU_MAX_MSRS * sizeof(struct kvm_msr_entry)];
	} msrs;
	int r;

	if (st->vs_nmsrs > 0) {
		memset(&msrs, 0, sizeof(msrs));
		msrs.h.nmsrs = st->vs_nmsrs;
		memcpy(msrs.h.entries, st->vs_msrs,
		       st->vs_nmsrs * sizeof(struct kvm_msr_entry));
		r = vcpu_set_msrs(v, &msrs.h);
		if (r < 0)
			return verr_set(e, -r, "KVM_SET_MSRS vCPU %u: %s",
					v->v_idx, strerror(-r));
		/* KVM stops at the first MSR it refuses. */
		if ((unsigned)r < st->vs_nmsrs)
			return verr_set(
				e, EINVAL,
				"VcpuState.msrs[%d]: KVM refused MSR "
				"0x%x = 0x%llx",
				r, st->vs_msrs[r].index,
				(unsigned long long)st->vs_msrs[r].data);
	}
	if (st->vs_has_fpu &&
	    (r = vcpu_set_fpu(v, st->vs_fcw, st->vs_mxcsr)) < 0)
		return verr_set(e, -r, "KVM_SET_FPU vCPU %u: %s", v->v_idx,
				strerror(-r));
	if (st->vs_has_xcr0 && (r = vcpu_set_xcr0(v, st->vs_xcr0)) < 0)
		return verr_set(e, -r,
				"VcpuState.xcr0: KVM_SET_XCRS refused 0x%llx: "
				"%s",
				(unsigned long long)st->vs_xcr0, strerror(-r));
	return 0;
}

int vm_set_vcpu_state(struct vm *vm, unsigned idx, const struct vcpu_regs *st,
		      struct verr *e)
{
	struct kvm_sregs sr = st->vs_sregs, cur;
	struct vcpu *v;
	int r;

	if (idx >= vm->vm_nvcpus)
		return verr_set(e, EINVAL,
				"VcpuState.vcpu: %u but the VM has "
				"%u vCPUs",
				idx, vm->vm_nvcpus);
	v = &vm->vm_vcpus[idx];
	/* Out of KVM_RUN first: a vCPU ioctl would wait for it to return. */
	vm_pause(vm);
	r = vcpu_get_sregs(v, &cur);
	if (r < 0) {
		verr_set(e, -r, "KVM_GET_SREGS vCPU %u: %s", idx, strerror(-r));
		vm_unpause(vm);
		return r;
	}
	/* KVM's own: the local APIC, pending interrupts, cr2 and cr8. */
	sr.apic_base = cur.apic_base;
	memcpy(sr.interrupt_bitmap, cur.interrupt_bitmap,
	       sizeof(sr.interrupt_bitmap));
	sr.cr2 = cur.cr2;
	sr.cr8 = cur.cr8;
	r = vcpu_set_sregs(v, &sr);
	if (r < 0)
		verr_set(e, -r,
			 "KVM_SET_SREGS vCPU %u: %s (check cr0/cr4/"
			 "efer/segments)",
			 idx, strerror(-r));
	else if ((r = vcpu_set_regs(v, &st->vs_regs)) < 0)
		verr_set(e, -r, "KVM_SET_REGS vCPU %u: %s", idx, strerror(-r));
	else
		r = vm_vcpu_extra(v, st, e);
	/*
	 * New state is a new start: a parked vCPU may run again.  One whose
	 * exit its thread still deals with may be about to park on a stop
	 * that the frontend sent before this request, on the other channel:
	 * it runs on instead (ARCHITECTURE.md, vCPU life cycle).
	 */
	pthread_mutex_lock(&vm->vm_lock);
	if (r == 0 && v->v_state == VCPU_PARKED)
		v->v_state = VCPU_WAITING;
	else if (r == 0 && v->v_state == VCPU_EXITED)
		v->v_start = true;
	pthread_mutex_unlock(&vm->vm_lock);
	vm_unpause(vm);
	return r;
}

int vm_set_cpuid(struct vm *vm, const struct cpuid_mask *m, size_t n,
		 struct verr *e)
{
	bool ran;
	int r = 0;

	if (cpuid_check_masks(vm->vm_kh->kh_cpuid, m, n, e) < 0)
		return -e->code;
	vm_pause(vm);
	pthread_mutex_lock(&vm->vm_lock);
	ran = vm->vm_ran;
	pthread_mutex_unlock(&vm->vm_lock);
	/* KVM refuses a CPUID change after KVM_RUN (Linux 5.16 on). */
	if (ran)
		r = verr_set(e, EBUSY,
			     "SetCpuid: the VM has run; CPUID is fixed from "
			     "its first Run on");
	for (unsigned i = 0; r == 0 && i < vm->vm_nvcpus; i++)
		r = vcpu_cpuid(vm, &vm->vm_vcpus[i], vm->vm_nvcpus, m, n,
			       vcpu_set_cpuid, e);
	vm_unpause(vm);
	return r;
}

int vm_irqfd(struct vm *vm, unsigned gsi, bool resample, int *fds,
	     struct verr *e)
{
	struct vm_irq *vi;
	int r, efd[2] = {-1, -1};

	if (!vm->vm_machine.vmm_irqchip)
		return verr_set(e, ENXIO,
				"Irqfd: the VM has no in-kernel irqchip "
				"(CreateVm.machine.irqchip)");
	if (gsi >= VM_IRQ_PINS && resample)
		return verr_set(e, EINVAL,
				"Irqfd.resample: GSI %u is an MSI route's, "
				"and MSIs are edges",
				gsi);
	if (gsi >= VM_IRQ_PINS) {
		fds[1] = -1;
		return msi_irqfd(&vm->vm_msi, vm->vm_fd, gsi, &fds[0], e);
	}
	vi = &vm->vm_irq[gsi];
	if (vi->vi_fd >= 0)
		return verr_set(e, EEXIST, "Irqfd.gsi: %u is bound already",
				gsi);
	fds[0] = fds[1] = -1;
	for (int i = 0; i < (resample ? 2 : 1); i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd[i] < 0) {
			r = verr_set(e, errno, "Irqfd: eventfd: %s",
				     strerror(errno));
			goto err;
		}
		fds[i] = fcntl(efd[i], F_DUPFD_CLOEXEC, 0);
		if (fds[i] < 0) {
			r = verr_set(e, errno, "Irqfd: dup: %s",
				     strerror(errno));
			goto err;
		}
	}
	r = kvm_vm_irqfd(vm->vm_fd, efd[0], gsi, efd[1]);
	if (r < 0) {
		verr_set(e, -r, "KVM_IRQFD gsi %u: %s", gsi, strerror(-r));
		goto err;
	}
	vi->vi_fd = efd[0];
	vi->vi_resample = efd[1];
	vm->vm_nirqfds += resample ? 2 : 1;
	return 0;
err:
	for (int i = 0; i < 2; i++) {
		if (efd[i] >= 0)
			close(efd[i]);
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return r;
}

/* Waits until no vCPU is inside KVM_RUN.  Caller holds vm_lock. */
static void vm_wait_out_of_run(struct vm *vm)
{
	for (;;) {
		bool busy = false;

		for (unsigned i = 0; i < vm->vm_nvcpus; i++) {
			struct vcpu *v = &vm->vm_vcpus[i];

			if (v->v_state == VCPU_IN_RUN) {
				busy = true;
				vcpu_kick_locked(v);
			}
		}
		if (!busy)
			return;
		pthread_cond_wait(&vm->vm_cv, &vm->vm_lock);
	}
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->vm_lock);
	vm->vm_holds++;
	vm_wait_out_of_run(vm);
	pthread_mutex_unlock(&vm->vm_lock);
}

void vm_unpause(struct vm *vm)
{
	pthread_mutex_lock(&vm->vm_lock);
	/*
	 * Only vCPUs waiting to run wait for the last hold to go, and only a
	 * running VM lets them: waking them otherwise costs each a switch
	 * for nothing, on every MapRegion of a VM that is not running.
	 */
	if (--vm->vm_holds == 0 && vm->vm_state == VM_RUNNING)
		pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
}

void vm_run(struct vm *vm)
{
	pthread_mutex_lock(&vm->vm_lock);
	if (vm->vm_state == VM_STOPPED)
		vm->vm_state = VM_RUNNING;
	vm->vm_ran = true;
	pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
}

void vm_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->vm_lock);
	if (vm->vm_state != VM_QUITTING)
		vm->vm_state = VM_STOPPED;
	vm_wait_out_of_run(vm);
	pthread_mutex_unlock(&vm->vm_lock);
}

int vm_admin_pause(struct vm *vm)
{
	int r = 0;

	pthread_mutex_lock(&vm->vm_lock);
	if (vm->vm_state == VM_RUNNING) {
		vm->vm_state = VM_PAUSED;
		vm_wait_out_of_run(vm);
	} else if (vm->vm_state != VM_PAUSED) {
		r = -EINVAL;
	}
	pthread_mutex_unlock(&vm->vm_lock);
	return r;
}

void vm_admin_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->vm_lock);
	if (vm->vm_state == VM_PAUSED)
		vm->vm_state = VM_RUNNING;
	pthread_cond_broadcast(&vm->vm_cv);
	pthread_mutex_unlock(&vm->vm_lock);
}

enum vm_state vm_get_state(struct vm *vm)
{
	enum vm_state st;

	pthread_mutex_lock(&vm->vm_lock);
	st = vm->vm_state;
	pthread_mutex_unlock(&vm->vm_lock);
	return st;
}
