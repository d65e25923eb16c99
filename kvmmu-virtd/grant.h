/*
 * grant.h: a running domain's uid given access to exactly its disks and
 * shared directories for the domain's life (grant.c: one POSIX ACL entry
 * per file).
 * Trust: privileged.
 */
#ifndef KVMMU_GRANT_H
#define KVMMU_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lverr.h"

struct virtd;
struct vdom;

/*
 * user:uid:PERM on path (perm: ACL bits, 4 read, 2 write, 1 execute or
 * search), the mask recomputed.  0 or -errno.
 */
int grant_add(const char *path, uid_t uid, unsigned perm);
/*
 * Removes the entries of uids lo..lo+count-1 from path's ACL, but those
 * in keep; a file with none is not written.  0 or -errno.
 */
int grant_drop(const char *path, uid_t lo, uint32_t count, const uid_t *keep,
	       size_t nkeep);

/*
 * Before v's frontend starts as v->vd_uid, from v's live XML: each disk
 * must exist (as root sees it), is granted to the uid, and must then
 * open as that uid.  0, or -1 with e, everything granted taken back.
 */
int grant_domain(struct virtd *d, struct vdom *v, struct lverr *e);
/* v's frontend is gone: its uid's entries go from its disks. */
void grant_revoke(struct virtd *d, struct vdom *v);
/* At start-up, after adoption: entries left by domains that ended. */
void grant_sweep(struct virtd *d);

#endif
