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
#include <sys/types.h>

#include "cpuid.h"
#include "doorbell.h"
#include "kvm.h"
#include "memmap.h"
#include "msi.h"
#include "quota.h"
#include "ram.h"
#include "stats.h"
#include "verr.h"

struct vm;

enum zap_mode { ZAP_ALL = 1, ZAP_MEMSLOT = 2 };		   /* kvmmu.ZapMode */
enum allones_policy { ALLONES_MMIO = 1, ALLONES_ROM = 2 }; /* kvmmu.AllOnes */

struct zap_policy {
	enum zap_mode zp_mode;
	uint32_t zp_window_us;
	enum allones_policy zp_allones;
};

#define PAUSE_SAMPLES 1024

/* What KVM emulates in the kernel (kvmmu.Machine); fixed at creation. */
struct vm_machine {
	bool vmm_irqchip;
	bool vmm_pit;
	uint32_t vmm_tss;   /* 0: not set */
	uint32_t vmm_idmap; /* 0: not set */
};

/* What vm_create makes. */
struct vm_spec {
	const char *vs_name;
	unsigned vs_nvcpus;
	uint64_t vs_ram_bytes;
	uint32_t vs_hugetlb_kib; /* hugetlbfs page size; 0: ram_host() */
	const char *vs_backing;	 /* "huge" | "4k"; NULL: ram_host()'s */
	bool vs_ram_immediate;	 /* all allocated at create */
	struct zap_policy vs_zap;
	struct vm_machine vs_machine;
};

#define VM_IRQ_PINS 24 /* the in-kernel I/O APIC's pins: GSIs 0..23 */

/* A line bound with KVM_IRQFD (vm_irqfd); fds -1 when unbound. */
struct vm_irq {
	int vi_fd;
	int vi_resample;
};

/* Full vCPU state for vm_set_vcpu_state. */
#define VCPU_MAX_MSRS 16
struct vcpu_regs {
	struct kvm_regs vs_regs;
	struct kvm_sregs vs_sregs; /* apic_base, interrupts, cr2, cr8: KVM's */
	unsigned vs_nmsrs;
	struct kvm_msr_entry vs_msrs[VCPU_MAX_MSRS];
	bool vs_has_fpu; /* vs_fcw and vs_mxcsr */
	uint16_t vs_fcw;
	uint32_t vs_mxcsr;
	bool vs_has_xcr0;
	uint64_t vs_xcr0;
};

/* A VM's run state, under vm_lock. */
enum vm_state {
	VM_STOPPED,  /* created, or Stop: its vCPUs wait for Run */
	VM_RUNNING,  /* Run: its vCPUs enter KVM_RUN unless held */
	VM_PAUSED,   /* the admin API's PauseVm of a running VM; Run keeps
			it paused, Stop stops it, ResumeVm runs it again */
	VM_QUITTING, /* vm_destroy: every vCPU thread ends */
};

/* A vCPU's, under vm_lock. */
enum vcpu_state {
	VCPU_WAITING, /* until its VM runs and nothing holds it */
	VCPU_IN_RUN,  /* inside KVM_RUN, or about to enter it */
	VCPU_EXITED,  /* out of KVM_RUN with an exit to deal with: sent
			 to the frontend and not yet answered, or answered
			 and not yet resumed or parked */
	VCPU_PARKED,  /* stopped (its frontend said so, or its channel
			 failed) until a VcpuState or DestroyVm */
};

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
	enum vcpu_state v_state;
	bool v_start; /* a VcpuState came while VCPU_EXITED: never park */
};

struct vm {
	uint32_t vm_id;
	char vm_name[KVMMU_NAME_MAX + 1];
	char vm_uuid[37]; /* canonical 8-4-4-4-12 form */
	void *vm_client;  /* the connection that created it */
	pid_t vm_client_pid;
	struct owner *vm_owner; /* the uid charged for it (quota.h) */
	struct kvm_host *vm_kh;
	int vm_fd;
	int vm_ram_fd; /* memfd, size sealed */
	void *vm_ram;  /* 2 MiB aligned (hugemap.h) */
	uint64_t vm_ram_bytes;
	enum ram_backing vm_ram_backing; /* ram.h: what CreateVm gave it */
	struct memmap vm_map;
	unsigned vm_nvcpus; /* vCPUs made so far (all, once created) */
	struct vcpu *vm_vcpus;
	struct kstats vm_stats;
	unsigned vm_spin_us; /* busy-poll for the frontend\'s answers */
	uint64_t vm_memslot_ioctls;
	struct zap_policy vm_zap;
	int vm_ones_fd; /* 2 MiB of 0xff for all-ones ROM regions */
	struct vm_machine vm_machine;
	struct vm_irq vm_irq[VM_IRQ_PINS];
	unsigned vm_nirqfds;		   /* fds held in vm_irq */
	struct doorbells vm_db;		   /* KVM_IOEVENTFDs (doorbell.h) */
	struct msi_table vm_msi;	   /* MSI routes, their irqfds */
	bool vm_ran;			   /* a Run happened: CPUID is final */
	pthread_rwlock_t vm_map_lock;	   /* vCPU threads read vm_map */
	uint64_t vm_tx;			   /* transactions applied */
	uint64_t vm_tx_regions;		   /* regions they named */
	uint64_t vm_tx_ioctls;		   /* memslot ioctls they issued */
	uint64_t vm_tx_coalesced;	   /* regions that needed no ioctl */
	uint64_t vm_tx_failed;		   /* rolled back */
	_Atomic uint64_t vm_allones_reads; /* answered by the server */
	uint32_t vm_pause_us[PAUSE_SAMPLES]; /* last pauses, microseconds */
	uint64_t vm_pauses;
	struct inval_batch *vm_inval; /* queued invalidations (inval.c) */
	struct event *vm_api_timer;   /* their window's timer (rpc.c) */
	uint64_t vm_inval_requests;
	uint64_t vm_inval_ranges;
	uint64_t vm_inval_calls;
	/* Testing only (--fail-tx-ioctl): fail this ioctl of a transaction. */
	unsigned vm_tx_fail_at;
	unsigned vm_tx_ioctl_n;
	_Atomic uint64_t vm_exits_forwarded;
	/*
	 * What a vCPU thread does with an exit the server does not answer
	 * itself (exitchan_forward); 0 resume, else park.  NULL: park.
	 */
	int (*vm_forward)(struct vcpu *v);

	pthread_mutex_t vm_lock;
	pthread_cond_t vm_cv;
	enum vm_state vm_state;
	unsigned vm_holds; /* > 0: keep vCPUs out of KVM_RUN (vm_pause) */

	TAILQ_ENTRY(vm) vm_entry;
	TAILQ_ENTRY(vm) vm_oentry; /* in vm_owner->o_vms */
};

/*
 * What a VM holds besides its memory map: the VM, RAM memfd, stats and
 * all-ones fds, and per vCPU its fd, stats fd, wake eventfd and exit
 * channel; the RAM mapping, and per vCPU kvm_run, thread stack and guard.
 */
#define VM_FDS(nvcpus)	    (4 + 4 * (uint64_t)(nvcpus))
#define VM_MAPPINGS(nvcpus) (1 + 3 * (uint64_t)(nvcpus))

TAILQ_HEAD(vmlist, vm);

/*
 * Creates the KVM VM, its in-kernel machine, RAM memfd and vCPUs (with
 * their CPUID) with their threads (parked until vm_run) and exit
 * channels; chans[i] receives the frontend's end of vCPU i's channel
 * (the caller owns it).  *out or -errno with e set.
 */
int vm_create(struct kvm_host *kh, const struct vm_spec *vs, struct vm **out,
	      int *chans, struct verr *e);
/*
 * Gives every vCPU its CPUID with these masks (replacing any given
 * before): -EINVAL for a leaf KVM does not offer, -EBUSY once the VM
 * has run.
 */
int vm_set_cpuid(struct vm *vm, const struct cpuid_mask *m, size_t n,
		 struct verr *e);
/*
 * Binds a new eventfd to gsi with KVM_IRQFD (and a resample eventfd when
 * resample); fds[0] (and fds[1]) get duplicates the caller owns and
 * hands to the frontend; the VM keeps its own until vm_destroy (an MSI
 * route's, of GSI VM_IRQ_PINS and up: until the route goes).  -ENXIO
 * without an irqchip, -EEXIST when gsi is bound already, -ENOENT for a
 * GSI past the pins that is no MSI route.
 */
int vm_irqfd(struct vm *vm, unsigned gsi, bool resample, int *fds,
	     struct verr *e);

/*
 * Applies a new policy.  all -> memslot applies live; memslot -> all is
 * refused (-EBUSY): KVM cannot re-enable the quirk on a live VM, so the
 * VM must be restarted.
 */
int vm_set_zap(struct vm *vm, const struct zap_policy *zp, struct verr *e);
bool vm_zap_supported(const struct kvm_host *kh);

/* Charges the VM to o (in o's list until vm_destroy). */
void vm_set_owner(struct vm *vm, struct owner *o);
/* Adds what vm holds (quota.h) to *u. */
void vm_usage(const struct vm *vm, struct quota_use *u);
/* Adds what o's connections and VMs hold to *u. */
void owner_usage(const struct owner *o, struct quota_use *u);
/*
 * 0 when the VM and its owner may take delta more after giving back
 * drop (NULL: nothing), else -EDQUOT naming the bound.
 */
int vm_quota_check(const struct vm *vm, const struct quota_use *delta,
		   const struct quota_use *drop, struct verr *e);

/* Which request a plan comes from: it names the plan's errors. */
enum tx_source { TX_TRANSACTION, TX_MAP_REGION, TX_UNMAP_REGION };

/*
 * The one way the memory map changes: applies a plan (memmap_plan,
 * memmap_plan_add, memmap_plan_remove) with every vCPU out of KVM_RUN,
 * once vm_quota_check allows what it adds; if an ioctl fails, the steps
 * taken are undone and the guest keeps the old map.  ROM fds of new
 * regions are the plan's: applied, or released on failure.  fail_at
 * (testing only) fails that memslot ioctl of the plan.
 */
int vm_transaction(struct vm *vm, struct tx_plan *p, enum tx_source src,
		   unsigned fail_at, struct verr *e);
/*
 * The same with doorbell changes c[0..n) (doorbell.h) in the same
 * atomic step, vCPUs held from the first change to the last.  Every
 * plan, with changes or none, is refused when the map it leaves would
 * cover a doorbell with RAM, ROM or all-ones.
 */
int vm_transaction_db(struct vm *vm, struct tx_plan *p, struct db_change *c,
		      size_t n, enum tx_source src, unsigned fail_at,
		      struct verr *e);
/* p-th percentile of the recorded vCPU pause times, microseconds. */
uint32_t vm_pause_percentile(const struct vm *vm, unsigned p);

/* Helpers shared by vm.c and txn.c. */
bool vm_region_needs_slot(const struct vm *vm, const struct region *r);
int vm_region_backing(struct vm *vm, struct region *r, struct verr *e);
void vm_region_release(struct region *r);
int vm_slot_set(struct vm *vm, const struct region *r, uint64_t size,
		struct verr *e);
void vm_destroy(struct vm *vm);

/*
 * One-region plans through vm_transaction.  rom_fd: the frontend's memfd
 * for RK_ROM (consumed either way), else -1.
 */
int vm_map_region(struct vm *vm, const struct region *req, int rom_fd,
		  struct verr *e);
int vm_unmap_region(struct vm *vm, uint64_t gpa, struct verr *e);
/*
 * Sets vCPU idx's state: registers, MSRs, FPU control, XCR0.  The sregs
 * give every field but apic_base, interrupt_bitmap, cr2 and cr8, which
 * stay KVM's.  Every vCPU ioctl here comes after vm_pause(): an ioctl on
 * a vCPU in KVM_RUN would wait for a guest that may never exit, and
 * block the caller's loop with it.  New state is a new start: a parked
 * vCPU may run again, and one with an exit still being answered
 * (VCPU_EXITED) runs on after it, whatever the answer says.
 */
int vm_set_vcpu_state(struct vm *vm, unsigned idx, const struct vcpu_regs *st,
		      struct verr *e);
void vm_run(struct vm *vm);
void vm_stop(struct vm *vm);
/*
 * The admin API's PauseVm: a running VM is paused once no vCPU is in
 * KVM_RUN (-EINVAL when it is not running; already paused: 0).
 * ResumeVm: a paused VM runs again (else nothing happens).
 */
int vm_admin_pause(struct vm *vm);
void vm_admin_resume(struct vm *vm);
enum vm_state vm_get_state(struct vm *vm);

/* Keep every vCPU out of KVM_RUN until the matching unpause; nests. */
void vm_pause(struct vm *vm);
void vm_unpause(struct vm *vm);

/* vcpu.c */
/*
 * A vCPU's registers, from outside its thread: only while a vm_pause
 * holds it out of KVM_RUN, else -EBUSY (the ioctl would wait for a guest
 * that may never exit).  No other code issues a vCPU ioctl.
 */
int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *sregs);
int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *sregs);
int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *regs);
int vcpu_set_msrs(struct vcpu *v, const struct kvm_msrs *msrs);
int vcpu_set_fpu(struct vcpu *v, uint16_t fcw, uint32_t mxcsr);
int vcpu_set_xcr0(struct vcpu *v, uint64_t xcr0);
int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid);
int vcpu_start(struct vcpu *v);
void vcpu_stop_thread(struct vcpu *v);
void vcpu_kick_locked(struct vcpu *v);
void vcpu_signals_init(void);

#endif
