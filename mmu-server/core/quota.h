/*
 * quota.h: every server-side resource a frontend can make mmu-server take,
 * its bound per VM and per uid, and the owner (a uid) that is charged.
 * Usage is never kept as a running total that could drift: it is counted
 * from the VMs themselves (vm_usage) whenever a request would add to it.
 * Pure: no I/O.  Trust: the deltas come from validated requests.
 */
#ifndef KVMMU_QUOTA_H
#define KVMMU_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "verr.h"

enum quota_res {
	QR_CONNS,     /* connections to the control socket */
	QR_VMS,	      /* KVM VMs */
	QR_VCPUS,     /* vCPUs, one server thread each */
	QR_RAM,	      /* guest RAM, bytes (memfd) */
	QR_FDS,	      /* fds the server holds (KVM, memfds, channels, conns) */
	QR_REGIONS,   /* memory-map entries, MMIO ones included */
	QR_MEMSLOTS,  /* KVM memslots */
	QR_MAPPINGS,  /* mmap()s (VMAs) of the server for ROM and all-ones */
	QR_SPAN,      /* guest-physical bytes behind memslots */
	QR_DOORBELLS, /* KVM_IOEVENTFDs (their eventfds count as fds) */
	QR_MSI,	      /* MSI routes in KVM's GSI routing table */
	QR_COUNT
};

struct quota_use {
	uint64_t qu[QR_COUNT];
};

/* Bounds in the resource's own unit (bytes for RAM and span); 0: none. */
struct quota_limits {
	uint64_t ql_vm[QR_COUNT];
	uint64_t ql_uid[QR_COUNT];
};

struct vm;
/* A uid with at least one connection; its VMs are charged to it. */
struct owner {
	uid_t o_uid;
	unsigned o_conns;   /* refused ones included */
	unsigned o_refused; /* over the bound, told so at their first request */
	const struct quota_limits *o_lim;
	TAILQ_HEAD(, vm) o_vms;
	TAILQ_ENTRY(owner) o_entry;
};
TAILQ_HEAD(ownerlist, owner);

/* "mappings", "ram_mib": the name in GetStats and in --limit NAME=N. */
const char *quota_name(enum quota_res r);
/* Bytes per unit of the name: 1 MiB for ram_mib and span_mib, else 1. */
uint64_t quota_unit(enum quota_res r);
void quota_defaults(struct quota_limits *ql);
/* "NAME=N" (N > 0, in the name's unit) into ql_vm (uid false) or ql_uid. */
int quota_parse(struct quota_limits *ql, bool uid, const char *arg,
		struct verr *e);

/* Whether add takes more of some resource than drop (NULL: none) gives. */
bool quota_grows(const struct quota_use *add, const struct quota_use *drop);
void quota_sub(struct quota_use *from, const struct quota_use *u);

/*
 * 0 when vm_use + delta and uid_use + delta stay within ql's bounds
 * (vm_use NULL: no per-VM check), else -EDQUOT with e naming the bound
 * and the option that sets it.  Only resources delta adds to are checked:
 * shrinking is always allowed.
 */
int quota_check(const struct quota_limits *ql, const struct quota_use *vm_use,
		const struct quota_use *uid_use, uid_t uid,
		const struct quota_use *delta, struct verr *e);

/*
 * A connection over the conns bound is kept until its first request, so
 * that the refusal reaches it (closing a unix socket with a request
 * unread resets the peer); at most this many per uid, the rest are
 * closed at once.
 */
#define OWNER_MAX_REFUSED 8

/* Finds or creates the owner of uid and counts a connection (NULL: ENOMEM). */
struct owner *owner_get(struct ownerlist *l, uid_t uid,
			const struct quota_limits *lim);
/* Drops a connection; the owner goes with its last one. */
void owner_put(struct ownerlist *l, struct owner *o);

#endif
