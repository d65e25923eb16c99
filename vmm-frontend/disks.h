/*
 * disks.h: a VM's disks from the command line.  --disk PATH: the
 * frontend starts one qemu-storage-daemon per image, exporting it as
 * vhost-user-blk on a socket in a private 0700 directory, as the
 * frontend's unprivileged user with no new privileges and
 * PR_SET_PDEATHSIG, in namespaces where it sees only its image, its
 * backing files and the system's /usr (jail.h), before the frontend
 * drops its own privileges; --vhost-user-blk
 * SOCKET: a back end the operator runs.  Each is a virtio-blk function
 * (virtio/blk.c) on the pc machine, vda, vdb, ... in target order.  A
 * back end that goes away ends the run, named; at the end the frontend
 * stops and reaps only the back ends it started (pidfds).
 * Trust: unprivileged once running; the flags are the operator's.
 */
#ifndef KVMMU_DISKS_H
#define KVMMU_DISKS_H

#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "blk.h"
#include "boot.h"
#include "machine.h"

#define DISKS_MAX 8

struct disk_spec {
	char ds_path[PATH_MAX]; /* the image, or the back end's socket */
	bool ds_socket;		/* --vhost-user-blk */
	bool ds_qcow2, ds_ro;
	char ds_target[8]; /* "vda"; "" until disks_targets */
};

struct disk_specs {
	struct disk_spec ds[DISKS_MAX];
	unsigned ds_n;
};

struct disk {
	const struct disk_spec *d_spec;
	struct vu_dev d_dev;
	pid_t d_pid;	/* the qemu-storage-daemon we started; 0: none */
	int d_pidfd;	/* its pidfd; -1: none */
	char d_dir[64]; /* its private directory, until connected */
	char d_sock[96];
	bool d_open; /* d_dev is connected */
	int d_lock;  /* the image, holding the "write, not shared" locks */
};

struct disks {
	struct disk d[DISKS_MAX];
	unsigned n;
	bool gone; /* a back end went away during the run */
};

/*
 * One --disk PATH[,format=raw|qcow2][,readonly][,target=vdX] or
 * --vhost-user-blk SOCKET[,target=vdX].  0, or -1 with err saying why.
 */
int disks_parse(struct disk_specs *s, const char *arg, bool socket, char *err,
		size_t errlen);
/* Gives each disk without a target the first free vdX; -1: a clash. */
int disks_targets(struct disk_specs *s, char *err, size_t errlen);
/*
 * Starts the back ends (as user when root; NULL: stay) and connects to
 * each, virtio-blk functions made.  On failure says why on stderr and
 * leaves nothing started.  0 or -1.
 */
int disks_start(struct disks *ds, const struct disk_specs *s, const char *user);
/* Puts the disks on the machine, guest RAM as their memory table. */
int disks_attach(struct disks *ds, struct machine *m, const struct boot *b);
/* Fills pfd[0..n) with the back ends' sockets; returns n. */
unsigned disks_pollfds(const struct disks *ds, struct pollfd *pfd);
/*
 * After poll: -EPIPE when a back end went away, said on stderr and, in
 * the same words, in why (len bytes) for DestroyVm.reason.
 */
int disks_check(struct disks *ds, const struct pollfd *pfd, char *why,
		size_t len);
/* Exits at the disks' functions, and of them notify writes. */
void disks_exits(const struct disks *ds, unsigned long long *exits,
		 unsigned long long *kicks);
/* Closes every connection, stops and reaps the back ends we started. */
void disks_stop(struct disks *ds);

/*
 * The vhost-user memory table every back end gets (disks and shares):
 * guest RAM only, the machine map's RAM regions where this process maps
 * them.  The count (at most VHOST_USER_MAX_REGIONS), or -1.
 */
int vu_guest_ram(struct machine *m, const struct boot *b,
		 struct vhost_user_region *reg);

/*
 * Reaps a back end we started (disks and shares) through its pidfd, if
 * it ended within wait_ms: true (also when none runs), with *pidfd -1,
 * *pid 0 and how it ended in how; false while it runs.
 */
bool backend_reap(int *pidfd, pid_t *pid, int wait_ms, char *how, size_t len);

/*
 * A back end's end as DestroyVm.reason takes it (disks and shares): the
 * words before, path and after, as printable UTF-8 (text.h) in why (len
 * bytes); a path too long to leave room for the words after it keeps
 * its end, after "...".
 */
void backend_why(char *why, size_t len, const char *before, const char *path,
		 const char *after);

#endif
