/*
 * quota.c: names, defaults and checks of the bounds in quota.h.  The
 * defaults (ARCHITECTURE.md, "Resources and bounds") let a uid run dozens
 * of ordinary VMs while leaving most of the server's fds and VMAs
 * (vm.max_map_count, 65,530 by default) to the other uids.
 * Trust: privileged; arguments come from the operator or from requests
 * already validated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "quota.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static const struct {
	const char *name;
	uint64_t unit;
	uint64_t vm, uid; /* defaults; 0: not bounded at that level */
} quota_info[QR_COUNT] = {
	[QR_CONNS] = {"conns", 1, 0, 64},
	[QR_VMS] = {"vms", 1, 0, 32},
	[QR_VCPUS] = {"vcpus", 1, 64, 256},
	[QR_RAM] = {"ram_mib", MIB, 32 * GIB, 64 * GIB},
	[QR_FDS] = {"fds", 1, 1024, 4096},
	[QR_REGIONS] = {"regions", 1, 1024, 8192},
	[QR_MEMSLOTS] = {"memslots", 1, 512, 4096},
	[QR_MAPPINGS] = {"mappings", 1, 1024, 8192},
	[QR_SPAN] = {"span_mib", MIB, 256 * GIB, 1024 * GIB},
	/*
	 * KVM keeps at most 1000 devices per I/O bus of a VM and 4096
	 * routes: a virtio device takes a doorbell and a route per queue
	 * plus one, so 256 of each are a few dozen devices per VM.
	 */
	[QR_DOORBELLS] = {"doorbells", 1, 256, 2048},
	[QR_MSI] = {"msi_routes", 1, 256, 2048},
};

const char *quota_name(enum quota_res r)
{
	return quota_info[r].name;
}

uint64_t quota_unit(enum quota_res r)
{
	return quota_info[r].unit;
}

void quota_defaults(struct quota_limits *ql)
{
	for (int r = 0; r < QR_COUNT; r++) {
		ql->ql_vm[r] = quota_info[r].vm;
		ql->ql_uid[r] = quota_info[r].uid;
	}
}

int quota_parse(struct quota_limits *ql, bool uid, const char *arg,
		struct verr *e)
{
	const char *opt = uid ? "--uid-limit" : "--limit";
	const char *eq = strchr(arg, '=');
	uint64_t v;

	for (int r = 0; eq != NULL && r < QR_COUNT; r++) {
		if (strlen(quota_info[r].name) != (size_t)(eq - arg) ||
		    strncmp(arg, quota_info[r].name, (size_t)(eq - arg)))
			continue;
		if (!uid && quota_info[r].vm == 0)
			return verr_set(e, EINVAL,
					"%s %s: '%s' is bounded per uid "
					"only; use --uid-limit",
					opt, arg, quota_info[r].name);
		if (num_parse(eq + 1, &v) < 0 || v == 0 ||
		    v > UINT64_MAX / quota_info[r].unit)
			return verr_set(e, EINVAL,
					"%s %s: not a positive number", opt,
					arg);
		(uid ? ql->ql_uid : ql->ql_vm)[r] = v * quota_info[r].unit;
		return 0;
	}
	return verr_set(e, EINVAL,
			"%s %s: want NAME=N, NAME one of conns vms vcpus "
			"ram_mib fds regions memslots mappings span_mib "
			"doorbells msi_routes",
			opt, arg);
}

bool quota_grows(const struct quota_use *add, const struct quota_use *drop)
{
	for (int r = 0; r < QR_COUNT; r++) {
		if (add->qu[r] > (drop ? drop->qu[r] : 0))
			return true;
	}
	return false;
}

void quota_sub(struct quota_use *from, const struct quota_use *u)
{
	for (int r = 0; r < QR_COUNT; r++)
		from->qu[r] -= u->qu[r] < from->qu[r] ? u->qu[r] : from->qu[r];
}

/* use + add > limit, without overflow. */
static bool over(uint64_t use, uint64_t add, uint64_t limit)
{
	return limit != 0 && (add > limit || use > limit - add);
}

int quota_check(const struct quota_limits *ql, const struct quota_use *vm_use,
		const struct quota_use *uid_use, uid_t uid,
		const struct quota_use *delta, struct verr *e)
{
	for (int r = 0; r < QR_COUNT; r++) {
		uint64_t d = delta->qu[r], u = quota_info[r].unit;
		const char *n = quota_info[r].name;

		if (d == 0)
			continue;
		if (vm_use && over(vm_use->qu[r], d, ql->ql_vm[r]))
			return verr_set(
				e, EDQUOT,
				"%s: the VM holds %llu, +%llu is over "
				"its bound of %llu per VM (mmu-server "
				"--limit %s=N)",
				n, (unsigned long long)(vm_use->qu[r] / u),
				(unsigned long long)((d + u - 1) / u),
				(unsigned long long)(ql->ql_vm[r] / u), n);
		if (over(uid_use->qu[r], d, ql->ql_uid[r]))
			return verr_set(
				e, EDQUOT,
				"%s: uid %u holds %llu, +%llu is over "
				"its bound of %llu per uid "
				"(mmu-server --uid-limit %s=N)",
				n, (unsigned)uid,
				(unsigned long long)(uid_use->qu[r] / u),
				(unsigned long long)((d + u - 1) / u),
				(unsigned long long)(ql->ql_uid[r] / u), n);
	}
	return 0;
}

struct owner *owner_get(struct ownerlist *l, uid_t uid,
			const struct quota_limits *lim)
{
	struct owner *o;

	TAILQ_FOREACH(o, l, o_entry)
	{
		if (o->o_uid == uid) {
			o->o_conns++;
			return o;
		}
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->o_uid = uid;
	o->o_conns = 1;
	o->o_lim = lim;
	TAILQ_INIT(&o->o_vms);
	TAILQ_INSERT_TAIL(l, o, o_entry);
	return o;
}

void owner_put(struct ownerlist *l, struct owner *o)
{
	if (o == NULL || --o->o_conns > 0)
		return;
	TAILQ_REMOVE(l, o, o_entry);
	free(o);
}
