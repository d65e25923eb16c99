/*
 * userns.h: the id maps of a user namespace just made (unshare
 * CLONE_NEWUSER), by the process in it: one uid and one gid each.
 * mmu-server's tmpfs child (core/ram.c) and vmm-frontend's back-end jail
 * (jail.c) both make one.  Async-signal-safe: for a child of a process
 * with threads, between fork and exec.
 */
#ifndef KVMMU_USERNS_H
#define KVMMU_USERNS_H

#include <sys/types.h>

/*
 * Maps in_uid and in_gid inside to out_uid and out_gid outside ("IN OUT
 * 1"): the caller's euid and egid, read BEFORE the unshare (after it,
 * they read as the overflow ids until the maps exist).  It gives up
 * setgroups first, as an unprivileged writer of gid_map must, and sets
 * the process dumpable before: one that was root and changed its uid is
 * not, and its /proc files stay root's, so it could not write its own
 * maps (exec sets the flag again from what it runs).  0, or -1 with
 * errno.
 */
int userns_map(uid_t in_uid, uid_t out_uid, gid_t in_gid, gid_t out_gid);

#endif
