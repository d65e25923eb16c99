/*
 * kvm.h: the only interface to KVM ioctls in kvmmu.  Each wrapper returns
 * 0 (or a value) or -errno, and never exits.
 * Trust: privileged; callers validate arguments before calling.
 */
#ifndef KVMMU_KVM_H
#define KVMMU_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

/* What the host's KVM offers; probed once at start. */
struct kvm_host {
	int kh_fd;	 /* /dev/kvm */
	int kh_run_size; /* mmap size of struct kvm_run */
	int kh_nr_slots; /* memslots per address space */
	int kh_max_vcpus;
	unsigned kh_phys_bits;	     /* guest physical address width */
	uint64_t kh_quirks2;	     /* KVM_CAP_DISABLE_QUIRKS2 mask */
	const char *kh_mmu;	     /* kvm_host_mmu() */
	struct kvm_cpuid2 *kh_cpuid; /* KVM_GET_SUPPORTED_CPUID */
};

int kvm_host_open(struct kvm_host *kh, const char *path);
void kvm_host_close(struct kvm_host *kh);
const char *kvm_host_mmu(void);

int kvm_vm_create(struct kvm_host *kh);
int kvm_vm_set_slot(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, void *hva);
int kvm_vm_disable_quirks2(int vmfd, uint64_t quirks);

/* The machine's in-kernel parts; before any vCPU exists. */
int kvm_vm_create_irqchip(int vmfd);
int kvm_vm_create_pit(int vmfd);
int kvm_vm_set_tss_addr(int vmfd, uint32_t gpa);
int kvm_vm_set_identity_map(int vmfd, uint32_t gpa);
/* Binds eventfd fd to gsi; resamplefd >= 0: level-triggered. */
int kvm_vm_irqfd(int vmfd, int fd, uint32_t gsi, int resamplefd);
/* Unbinds eventfd fd from gsi (KVM no longer listens to it). */
int kvm_vm_irqfd_deassign(int vmfd, int fd, uint32_t gsi);
/* Assigns or (KVM_IOEVENTFD_FLAG_DEASSIGN) removes a doorbell. */
int kvm_vm_ioeventfd(int vmfd, const struct kvm_ioeventfd *io);
/* Replaces the VM's whole GSI routing table. */
int kvm_vm_set_gsi_routing(int vmfd, const struct kvm_irq_routing *rt);
/* One MSI now: > 0 delivered, 0 the guest blocked it, else -errno. */
int kvm_vm_signal_msi(int vmfd, const struct kvm_msi *msi);

int kvm_vcpu_create(struct kvm_host *kh, int vmfd, unsigned idx,
		    struct kvm_run **run);
void kvm_vcpu_unmap_run(struct kvm_host *kh, struct kvm_run *run);
int kvm_vcpu_get_sregs(int vcpufd, struct kvm_sregs *sregs);
int kvm_vcpu_set_sregs(int vcpufd, const struct kvm_sregs *sregs);
int kvm_vcpu_get_regs(int vcpufd, struct kvm_regs *regs);
int kvm_vcpu_set_regs(int vcpufd, const struct kvm_regs *regs);
int kvm_vcpu_run(int vcpufd);
/* Queues an external interrupt (no in-kernel irqchip: the probe). */
int kvm_vcpu_interrupt(int vcpufd, const struct kvm_interrupt *irq);
int kvm_vcpu_set_cpuid(int vcpufd, const struct kvm_cpuid2 *cpuid);
int kvm_vcpu_get_lapic(int vcpufd, struct kvm_lapic_state *l);
int kvm_vcpu_set_lapic(int vcpufd, const struct kvm_lapic_state *l);
int kvm_vcpu_set_msrs(int vcpufd, const struct kvm_msrs *msrs);
int kvm_vcpu_get_fpu(int vcpufd, struct kvm_fpu *fpu);
int kvm_vcpu_set_fpu(int vcpufd, const struct kvm_fpu *fpu);
int kvm_vcpu_set_xcrs(int vcpufd, const struct kvm_xcrs *xcrs);

int kvm_stats_fd(int fd);

#endif
