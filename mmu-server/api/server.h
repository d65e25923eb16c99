/*
 * server.h: the state of one mmu-server process.
 * Trust: privileged.
 */
#ifndef KVMMU_SERVER_H
#define KVMMU_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>

#include "kvm.h"
#include "protocol.h"
#include "quota.h"
#include "validate.h"
#include "vm.h"

/* glibc's sys/queue.h lacks the BSD _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                             \
	for ((var) = TAILQ_FIRST((head));                                      \
	     (var) && ((tvar) = TAILQ_NEXT((var), field), 1); (var) = (tvar))
#endif

/* The transport's connections; the request layer never walks them. */
struct conn;
TAILQ_HEAD(connlist, conn);

/*
 * A VM that ended, kept for ListVms (admin.proto) with how it ended
 * (VmSummary.end_reason): "ended by its frontend: " and at most
 * KVMMU_REASON_MAX bytes of its reason fit.
 */
#define SRV_GONE_WHY_MAX (KVMMU_REASON_MAX + 32)
struct vm_gone {
	uint32_t vg_id;
	char vg_name[KVMMU_NAME_MAX + 1];
	char vg_uuid[37];
	uid_t vg_uid;
	pid_t vg_pid;
	unsigned vg_vcpus;
	uint64_t vg_ram_bytes;
	char vg_why[SRV_GONE_WHY_MAX + 1];
};

/* The last SRV_GONE_KEPT VMs that ended one way (rpc.c, vm_end). */
#define SRV_GONE_KEPT 64
struct vm_ring {
	struct vm_gone vr_vms[SRV_GONE_KEPT];
	uint64_t vr_n; /* ever recorded; the next goes at % SRV_GONE_KEPT */
};

struct server {
	struct event_base *s_base;
	/*
	 * Where a new VM's vCPUs send the exits they do not answer
	 * themselves (vm.h, vm_forward): the transport's exit channel,
	 * plugged in by main.c.
	 */
	int (*s_vcpu_forward)(struct vcpu *v);
	struct kvm_host s_kh;
	struct limits s_lim;	     /* per VM */
	unsigned s_max_vms;	     /* per connection */
	uint64_t s_max_ram;	     /* per connection, bytes */
	struct quota_limits s_quota; /* per VM and per uid (quota.h) */
	struct ownerlist s_owners;   /* uids with a connection */
	unsigned s_spin_us;	     /* busy-poll window, see wire_poll */
	unsigned s_fail_tx_ioctl;    /* testing only, see --fail-tx-ioctl */
	const char *s_path;
	int s_listen;
	struct event *s_ev_listen;
	struct connlist s_conns;
	struct vmlist s_vms; /* every VM, for the admin side */
	/*
	 * A stop signal came: main.c ended every VM, naming each, and
	 * every request now gets ESHUTDOWN, so that a frontend that asks
	 * why its VM ended learns it was this stop, not a crash.
	 */
	bool s_stopping;
	/*
	 * VMs the admin API's DestroyVm ended (ListVmsReply.destroyed:
	 * kvmmu-virtd tells an operator's destroy by them), and those that
	 * ended any other way (ListVmsReply.ended).
	 */
	struct vm_ring s_destroyed;
	struct vm_ring s_ended;
};

#endif
