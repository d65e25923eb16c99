/*
 * kvm.c: every KVM ioctl kvmmu issues lives in this file, one wrapper per
 * ioctl, so that what the privileged server asks of the kernel can be read
 * in one place.  Trust: privileged; arguments were validated by callers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm.h"

#define KVM_CPUID_MAX 256

static int kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

static int kvm_check(struct kvm_host *kh, long cap)
{
	int r = ioctl(kh->kh_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* Guest MAXPHYADDR: what KVM reports in CPUID 0x80000008, else 36. */
static unsigned kvm_phys_bits(const struct kvm_cpuid2 *cpuid)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 0x80000008)
			return cpuid->entries[i].eax & 0xff;
	}
	return 36;
}

static int kvm_host_cpuid(struct kvm_host *kh)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    KVM_CPUID_MAX * sizeof(struct kvm_cpuid_entry2);
	int r;

	kh->kh_cpuid = calloc(1, sz);
	if (kh->kh_cpuid == NULL)
		return -ENOMEM;
	kh->kh_cpuid->nent = KVM_CPUID_MAX;
	r = kvm_ioctl(kh->kh_fd, KVM_GET_SUPPORTED_CPUID, kh->kh_cpuid);
	if (r < 0)
		return r;
	kh->kh_phys_bits = kvm_phys_bits(kh->kh_cpuid);
	return 0;
}

int kvm_host_open(struct kvm_host *kh, const char *path)
{
	int r;

	memset(kh, 0, sizeof(*kh));
	kh->kh_fd = open(path, O_RDWR | O_CLOEXEC);
	if (kh->kh_fd < 0)
		return -errno;
	r = ioctl(kh->kh_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		r = -ENOTSUP;
		goto err;
	}
	kh->kh_run_size = ioctl(kh->kh_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kh->kh_run_size < (int)sizeof(struct kvm_run)) {
		r = -ENOTSUP;
		goto err;
	}
	kh->kh_nr_slots = kvm_check(kh, KVM_CAP_NR_MEMSLOTS);
	kh->kh_max_vcpus = kvm_check(kh, KVM_CAP_MAX_VCPUS);
	if (kh->kh_max_vcpus <= 0)
		kh->kh_max_vcpus = kvm_check(kh, KVM_CAP_NR_VCPUS);
	kh->kh_quirks2 = (uint64_t)kvm_check(kh, KVM_CAP_DISABLE_QUIRKS2);
	kh->kh_mmu = kvm_host_mmu();
	r = kvm_host_cpuid(kh);
	if (r < 0)
		goto err;
	return 0;
err:
	kvm_host_close(kh);
	return r;
}

void kvm_host_close(struct kvm_host *kh)
{
	if (kh->kh_fd >= 0)
		close(kh->kh_fd);
	kh->kh_fd = -1;
	free(kh->kh_cpuid);
	kh->kh_cpuid = NULL;
}

/*
 * Which MMU KVM maps guests with: "tdp" (nested paging: EPT/NPT) or
 * "shadow", from the vendor module's parameter; "unknown" without one.
 * kvm_pvm has no nested paging: it always shadows the guest's tables.
 * Zap counters differ between the two (mmu_shadow_zapped is shadow-only).
 */
const char *kvm_host_mmu(void)
{
	static const char *const param[] = {
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/kvm_intel/parameters/ept",
	};
	char c = 0;

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "shadow";
	for (size_t i = 0; i < sizeof(param) / sizeof(param[0]); i++) {
		FILE *f = fopen(param[i], "re");

		if (f == NULL)
			continue;
		if (fread(&c, 1, 1, f) != 1)
			c = 0;
		fclose(f);
		return c == 'Y' || c == '1' ? "tdp" : "shadow";
	}
	return "unknown";
}

int kvm_vm_create(struct kvm_host *kh)
{
	int fd = kvm_ioctl(kh->kh_fd, KVM_CREATE_VM, 0);

	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int kvm_vm_set_slot(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return kvm_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
}

int kvm_vm_disable_quirks2(int vmfd, uint64_t quirks)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DISABLE_QUIRKS2,
		.args[0] = quirks,
	};

	return kvm_ioctl(vmfd, KVM_ENABLE_CAP, &cap);
}

int kvm_vcpu_create(struct kvm_host *kh, int vmfd, unsigned idx,
		    struct kvm_run **run)
{
	void *p;
	int fd, r;

	fd = kvm_ioctl(vmfd, KVM_CREATE_VCPU, (void *)(uintptr_t)idx);
	if (fd < 0)
		return fd;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		goto err_errno;
	p = mmap(NULL, (size_t)kh->kh_run_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	*run = p;
	return fd;
err_errno:
	r = -errno;
	close(fd);
	return r;
}

void kvm_vcpu_unmap_run(struct kvm_host *kh, struct kvm_run *run)
{
	if (run != NULL)
		munmap(run, (size_t)kh->kh_run_size);
}

int kvm_vcpu_get_sregs(int vcpufd, struct kvm_sregs *sregs)
{
	return kvm_ioctl(vcpufd, KVM_GET_SREGS, sregs);
}

int kvm_vcpu_set_sregs(int vcpufd, const struct kvm_sregs *sregs)
{
	return kvm_ioctl(vcpufd, KVM_SET_SREGS, (void *)sregs);
}

int kvm_vcpu_get_regs(int vcpufd, struct kvm_regs *regs)
{
	return kvm_ioctl(vcpufd, KVM_GET_REGS, regs);
}

int kvm_vcpu_set_regs(int vcpufd, const struct kvm_regs *regs)
{
	return kvm_ioctl(vcpufd, KVM_SET_REGS, (void *)regs);
}

/* Not retried on EINTR: an interrupted KVM_RUN is how a vCPU is kicked. */
int kvm_vcpu_run(int vcpufd)
{
	return kvm_ioctl(vcpufd, KVM_RUN, NULL);
}

int kvm_vcpu_interrupt(int vcpufd, const struct kvm_interrupt *irq)
{
	return kvm_ioctl(vcpufd, KVM_INTERRUPT, (void *)irq);
}

int kvm_vm_create_irqchip(int vmfd)
{
	return kvm_ioctl(vmfd, KVM_CREATE_IRQCHIP, NULL);
}

int kvm_vm_create_pit(int vmfd)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	return kvm_ioctl(vmfd, KVM_CREATE_PIT2, &pit);
}

int kvm_vm_set_tss_addr(int vmfd, uint32_t gpa)
{
	return kvm_ioctl(vmfd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)gpa);
}

int kvm_vm_set_identity_map(int vmfd, uint32_t gpa)
{
	uint64_t a = gpa;

	return kvm_ioctl(vmfd, KVM_SET_IDENTITY_MAP_ADDR, &a);
}

int kvm_vm_irqfd(int vmfd, int fd, uint32_t gsi, int resamplefd)
{
	struct kvm_irqfd irq = {.fd = (uint32_t)fd, .gsi = gsi};

	if (resamplefd >= 0) {
		irq.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irq.resamplefd = (uint32_t)resamplefd;
	}
	return kvm_ioctl(vmfd, KVM_IRQFD, &irq);
}

int kvm_vm_irqfd_deassign(int vmfd, int fd, uint32_t gsi)
{
	struct kvm_irqfd irq = {.fd = (uint32_t)fd,
				.gsi = gsi,
				.flags = KVM_IRQFD_FLAG_DEASSIGN};

	return kvm_ioctl(vmfd, KVM_IRQFD, &irq);
}

int kvm_vm_ioeventfd(int vmfd, const struct kvm_ioeventfd *io)
{
	return kvm_ioctl(vmfd, KVM_IOEVENTFD, (void *)io);
}

int kvm_vm_set_gsi_routing(int vmfd, const struct kvm_irq_routing *rt)
{
	return kvm_ioctl(vmfd, KVM_SET_GSI_ROUTING, (void *)rt);
}

int kvm_vm_signal_msi(int vmfd, const struct kvm_msi *msi)
{
	return kvm_ioctl(vmfd, KVM_SIGNAL_MSI, (void *)msi);
}

int kvm_vcpu_set_cpuid(int vcpufd, const struct kvm_cpuid2 *cpuid)
{
	return kvm_ioctl(vcpufd, KVM_SET_CPUID2, (void *)cpuid);
}

int kvm_vcpu_get_lapic(int vcpufd, struct kvm_lapic_state *l)
{
	return kvm_ioctl(vcpufd, KVM_GET_LAPIC, l);
}

int kvm_vcpu_set_lapic(int vcpufd, const struct kvm_lapic_state *l)
{
	return kvm_ioctl(vcpufd, KVM_SET_LAPIC, (void *)l);
}

int kvm_vcpu_set_msrs(int vcpufd, const struct kvm_msrs *msrs)
{
	return kvm_ioctl(vcpufd, KVM_SET_MSRS, (void *)msrs);
}

int kvm_vcpu_get_fpu(int vcpufd, struct kvm_fpu *fpu)
{
	return kvm_ioctl(vcpufd, KVM_GET_FPU, fpu);
}

int kvm_vcpu_set_fpu(int vcpufd, const struct kvm_fpu *fpu)
{
	return kvm_ioctl(vcpufd, KVM_SET_FPU, (void *)fpu);
}

int kvm_vcpu_set_xcrs(int vcpufd, const struct kvm_xcrs *xcrs)
{
	return kvm_ioctl(vcpufd, KVM_SET_XCRS, (void *)xcrs);
}

int kvm_stats_fd(int fd)
{
	return kvm_ioctl(fd, KVM_GET_STATS_FD, NULL);
}
