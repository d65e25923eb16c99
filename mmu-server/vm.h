/*
 * vm.h: a VM owned by the server: KVM fds, RAM memfd, memory map and vCPU
 * threads.  Trust: privileged; requests reach here already validated.
 */
#ifndef KVMMU_VM_H
#define KVMMU_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "kvm.h"
#include "memmap.h"
#include "stats.h"
#include "validate.h"

struct vm;

struct vcpu {
	struct vm *v_vm;
	unsigned v_idx;
	int v_fd; /* KVM vCPU fd */
	struct kvm_run *v_run;
	int v_chan; /* our end of the exit channel (nonblocking) */
	int v_wake; /* eventfd: wakes a wait on the channel */
	pthread_t v_thread;
	bool v_started;
	struct kstats v_stats;
	/* Under vm_lock: */
	bool v_in_run;	/* inside KVM_RUN (or about to enter) */
	bool v_stopped; /* parked until DestroyVm */
};

struct vm {
	uint32_t vm_id;
	char vm_name[KVMMU_NAME_MAX + 1];
	void *vm_owner; /* the connection that created it */
	struct kvm_host *vm_kh;
	int vm_fd;
	int vm_ram_fd; /* memfd, size sealed */
	void *vm_ram;
	uint64_t vm_ram_bytes;
	struct memmap vm_map;
	unsigned vm_nvcpus;
	struct vcpu *vm_vcpus;
	struct kstats vm_stats;
	unsigned vm_spin_us; /* busy-poll for the frontend\'s answers */
	uint64_t vm_memslot_ioctls;
	_Atomic uint64_t vm_exits_forwarded;

	pthread_mutex_t vm_lock;
	pthread_cond_t vm_cv;
	bool vm_running;   /* Run was asked for and no Stop since */
	unsigned vm_pause; /* > 0: keep vCPUs out of KVM_RUN */
	bool vm_quit;

	TAILQ_ENTRY(vm) vm_entry;
};

TAILQ_HEAD(vmlist, vm);

/*
 * Creates the KVM VM, its RAM memfd and vCPUs with their threads (parked
 * until vm_run) and exit channels; chans[i] receives the frontend's end
 * of vCPU i's channel (the caller owns it).  *out or -errno with e set.
 */
int vm_create(struct kvm_host *kh, const char *name, unsigned nvcpus,
	      uint64_t ram_bytes, struct vm **out, int *chans, struct verr *e);
void vm_destroy(struct vm *vm);

/* rom_fd: the frontend's memfd for RK_ROM (consumed either way), else -1. */
int vm_map_region(struct vm *vm, const struct region *req, int rom_fd,
		  struct verr *e);
int vm_unmap_region(struct vm *vm, uint64_t gpa, struct verr *e);
int vm_set_vcpu_state(struct vm *vm, unsigned idx, const struct kvm_regs *regs,
		      const struct kvm_sregs *sregs, struct verr *e);
void vm_run(struct vm *vm);
void vm_stop(struct vm *vm);

/* Keep every vCPU out of KVM_RUN until the matching unpause; nests. */
void vm_pause(struct vm *vm);
void vm_unpause(struct vm *vm);

/* vcpu.c */
int vcpu_start(struct vcpu *v);
void vcpu_stop_thread(struct vcpu *v);
void vcpu_kick_locked(struct vcpu *v);
void vcpu_signals_init(void);

#endif
