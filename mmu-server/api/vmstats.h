/*
 * vmstats.h: one VM's statistics as a StatsReply (data plane and admin).
 * Trust: privileged.
 */
#ifndef KVMMU_VMSTATS_H
#define KVMMU_VMSTATS_H

#include "kvmmu.pb-c.h"
#include "vm.h"

/* A list of name/value stats in one allocation-owning builder. */
struct statlist {
	Kvmmu__Stat *sl_stats;
	Kvmmu__Stat **sl_ptrs;
	size_t sl_n;
};

/* Owns everything a StatsReply built by stats_reply_build points to. */
struct stats_reply {
	struct statlist sr_vm, sr_srv, *sr_vcpu;
	uint64_t *sr_values; /* backing for every KVM value */
	Kvmmu__VcpuStats *sr_vs, **sr_vsp;
};

/* Fills st (zap excepted) from vm; free with stats_reply_free. */
int stats_reply_build(struct stats_reply *sr, struct vm *vm,
		      Kvmmu__StatsReply *st);
void stats_reply_free(struct stats_reply *sr, unsigned nvcpus);

#endif
