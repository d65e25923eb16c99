/*
 * vmstats.c: one VM's statistics as a StatsReply: KVM's binary stats of
 * the VM and each vCPU, and the server's counters.  Shared by the data
 * plane (GetStats) and the admin API.  Trust: privileged; reads only
 * kernel and server state.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "inval.h"
#include "release.h"
#include "requests.h"
#include "server.h"
#include "vmstats.h"

/* A list of name/value stats in one allocation-owning builder. */
static int statlist_init(struct statlist *sl, size_t cap)
{
	sl->sl_n = 0;
	sl->sl_stats = calloc(cap ? cap : 1, sizeof(*sl->sl_stats));
	sl->sl_ptrs = calloc(cap ? cap : 1, sizeof(*sl->sl_ptrs));
	return sl->sl_stats && sl->sl_ptrs ? 0 : -ENOMEM;
}

static void statlist_add(struct statlist *sl, const char *name, uint64_t value)
{
	Kvmmu__Stat *st = &sl->sl_stats[sl->sl_n];

	kvmmu__stat__init(st);
	st->name = (char *)name;
	st->has_value = 1;
	st->value = value;
	sl->sl_ptrs[sl->sl_n++] = st;
}

static void statlist_free(struct statlist *sl)
{
	free(sl->sl_stats);
	free(sl->sl_ptrs);
}

/* KVM's binary stats of one fd; values[] must outlive the reply. */
static int statlist_kvm(struct statlist *sl, struct kstats *ks,
			uint64_t *values)
{
	int r = statlist_init(sl, ks->ks_n);

	if (r == 0)
		r = kstats_read(ks, values);
	for (size_t i = 0; r == 0 && i < ks->ks_n; i++)
		statlist_add(sl, ks->ks_names[i], values[i]);
	return r;
}

/* [resource][per uid][limit]: "quota.vm_mappings", ... */
static char quota_names[QR_COUNT][2][2][48];
static pthread_once_t quota_names_once = PTHREAD_ONCE_INIT;

static void quota_names_init(void)
{
	for (int r = 0; r < QR_COUNT; r++) {
		for (int uid = 0; uid < 2; uid++) {
			char(*n)[48] = quota_names[r][uid];

			const char *who = uid ? "uid" : "vm";

			snprintf(n[0], sizeof(n[0]), "quota.%s_%s", who,
				 quota_name(r));
			snprintf(n[1], sizeof(n[1]), "quota.%s_%s_limit", who,
				 quota_name(r));
		}
	}
}

/* Use and bound of every resource (quota.h), where it has a bound. */
static void statlist_quota(struct statlist *sl, const struct vm *vm)
{
	const struct owner *o = vm->vm_owner;
	struct quota_use vu = {{0}}, ou = {{0}};

	pthread_once(&quota_names_once, quota_names_init);
	vm_usage(vm, &vu);
	owner_usage(o, &ou);
	statlist_add(sl, "quota.owner_uid", o->o_uid);
	for (int r = 0; r < QR_COUNT; r++) {
		uint64_t unit = quota_unit(r);

		for (int uid = 0; uid < 2; uid++) {
			uint64_t lim =
				(uid ? o->o_lim->ql_uid : o->o_lim->ql_vm)[r];

			if (lim == 0)
				continue;
			statlist_add(sl, quota_names[r][uid][0],
				     (uid ? ou : vu).qu[r] / unit);
			statlist_add(sl, quota_names[r][uid][1], lim / unit);
		}
	}
	statlist_add(sl, "quota.uid_releasing", release_pending(o->o_uid));
	statlist_add(sl, "quota.uid_releasing_limit", RELEASE_MAX_PENDING);
	statlist_add(sl, "quota.vm_inval_pending", inval_pending(vm));
	statlist_add(sl, "quota.vm_inval_pending_limit", INVAL_MAX_PENDING);
}

static void statlist_server(struct statlist *sl, const struct vm *vm)
{
	const char *name;
	uint64_t value;

	for (int i = 0; i < SC_COUNT; i++)
		statlist_add(sl, srv_counter_name(i), srv_counter_get(i));
	for (size_t i = 0; (i = srv_request_next(i, &name, &value)) != 0;)
		statlist_add(sl, name, value);
	statlist_add(sl, "vm.memslot_ioctls", vm->vm_memslot_ioctls);
	statlist_add(sl, "vm.exits_forwarded", vm->vm_exits_forwarded);
	statlist_add(sl, "vm.regions", vm->vm_map.mm_n);
	statlist_add(sl, "vm.transactions", vm->vm_tx);
	statlist_add(sl, "vm.tx_regions", vm->vm_tx_regions);
	statlist_add(sl, "vm.tx_memslot_ioctls", vm->vm_tx_ioctls);
	statlist_add(sl, "vm.tx_coalesced", vm->vm_tx_coalesced);
	statlist_add(sl, "vm.tx_rolled_back", vm->vm_tx_failed);
	statlist_add(sl, "vm.pause_us_p50", vm_pause_percentile(vm, 50));
	statlist_add(sl, "vm.pause_us_p99", vm_pause_percentile(vm, 99));
	statlist_add(sl, "vm.allones_mmio_reads", vm->vm_allones_reads);
	statlist_add(sl, "vm.inval_requests", vm->vm_inval_requests);
	statlist_add(sl, "vm.inval_ranges", vm->vm_inval_ranges);
	statlist_add(sl, "vm.inval_calls", vm->vm_inval_calls);
	/* Which zap counters mean anything depends on the MMU. */
	statlist_add(sl, "host.tdp_mmu", strcmp(vm->vm_kh->kh_mmu, "tdp") == 0);
	statlist_quota(sl, vm);
}

/* statlist_server: 15, and quota: uid, 4 per resource, 2 for inval, 2
 * for releasing. */
#define VM_SERVER_STATS (15 + 1 + 4 * QR_COUNT + 2 + 2)

void stats_reply_free(struct stats_reply *sr, unsigned nvcpus)
{
	statlist_free(&sr->sr_vm);
	statlist_free(&sr->sr_srv);
	for (unsigned i = 0; sr->sr_vcpu && i < nvcpus; i++)
		statlist_free(&sr->sr_vcpu[i]);
	free(sr->sr_vcpu);
	free(sr->sr_values);
	free(sr->sr_vs);
	free(sr->sr_vsp);
}

int stats_reply_build(struct stats_reply *sr, struct vm *vm,
		      Kvmmu__StatsReply *st)
{
	size_t nval = vm->vm_stats.ks_n, off;
	int r;

	for (unsigned i = 0; i < vm->vm_nvcpus; i++)
		nval += vm->vm_vcpus[i].v_stats.ks_n;
	sr->sr_values = calloc(nval ? nval : 1, sizeof(uint64_t));
	sr->sr_vcpu = calloc(vm->vm_nvcpus, sizeof(*sr->sr_vcpu));
	sr->sr_vs = calloc(vm->vm_nvcpus, sizeof(*sr->sr_vs));
	sr->sr_vsp = calloc(vm->vm_nvcpus, sizeof(*sr->sr_vsp));
	if (!sr->sr_values || !sr->sr_vcpu || !sr->sr_vs || !sr->sr_vsp)
		return -ENOMEM;
	r = statlist_kvm(&sr->sr_vm, &vm->vm_stats, sr->sr_values);
	off = vm->vm_stats.ks_n;
	for (unsigned i = 0; r == 0 && i < vm->vm_nvcpus; i++) {
		struct kstats *ks = &vm->vm_vcpus[i].v_stats;

		r = statlist_kvm(&sr->sr_vcpu[i], ks, sr->sr_values + off);
		off += ks->ks_n;
		kvmmu__vcpu_stats__init(&sr->sr_vs[i]);
		sr->sr_vs[i].has_vcpu = 1;
		sr->sr_vs[i].vcpu = i;
		sr->sr_vs[i].n_stats = sr->sr_vcpu[i].sl_n;
		sr->sr_vs[i].stats = sr->sr_vcpu[i].sl_ptrs;
		sr->sr_vsp[i] = &sr->sr_vs[i];
	}
	if (r == 0)
		r = statlist_init(&sr->sr_srv,
				  SC_COUNT + REQ_CASES + VM_SERVER_STATS);
	if (r < 0)
		return r;
	statlist_server(&sr->sr_srv, vm);
	st->n_vm = sr->sr_vm.sl_n;
	st->vm = sr->sr_vm.sl_ptrs;
	st->n_vcpus = vm->vm_nvcpus;
	st->vcpus = sr->sr_vsp;
	st->n_server = sr->sr_srv.sl_n;
	st->server = sr->sr_srv.sl_ptrs;
	return 0;
}
