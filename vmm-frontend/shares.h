/*
 * shares.h: a VM's shared directories from the command line.  --fs
 * DIR,tag=TAG: the frontend starts one virtiofsd per directory, as the
 * VM's user, root only in a user namespace of its own (jail.h), in
 * virtiofsd's own sandbox (mount, pid and net namespaces, pivoted into
 * DIR), PR_SET_PDEATHSIG, on a listening socket in a private 0700
 * directory, before it drops its own privileges; --vhost-user-fs
 * SOCKET,tag=TAG: a virtiofsd the operator runs.  Each is a virtio-fs
 * function (virtio/fs.c) on the pc machine, which the guest mounts by
 * its tag.  A back end that goes away ends the run, named; at the end
 * the frontend closes each connection (virtiofsd then exits) and reaps
 * the back ends it started (pidfds).  virtiofsd's stderr is a pipe the
 * frontend reads: its lines are passed on named, and the one it says
 * when the connection closes is dropped.
 * Trust: unprivileged once running; the flags are the operator's.
 */
#ifndef KVMMU_SHARES_H
#define KVMMU_SHARES_H

#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "boot.h"
#include "fs.h"
#include "machine.h"

#define SHARES_MAX 8 /* lib/domain's DOMAIN_FS_MAX */

struct share_spec {
	char ss_path[PATH_MAX]; /* the directory, or the back end's socket */
	bool ss_socket;		/* --vhost-user-fs */
	char ss_tag[FS_TAG_MAX + 1];
};

struct share_specs {
	struct share_spec ss[SHARES_MAX];
	unsigned ss_n;
};

struct share {
	const struct share_spec *s_spec;
	struct vu_dev s_dev;
	pid_t s_pid;	/* the virtiofsd we started; 0: none */
	int s_pidfd;	/* its pidfd; -1: none */
	char s_dir[64]; /* its private directory, until connected */
	char s_sock[96];
	bool s_open;	  /* s_dev is connected */
	int s_log;	  /* virtiofsd's stderr, a pipe; -1: none */
	char s_line[256]; /* its last line, until its newline */
	size_t s_len;
};

struct shares {
	struct share s[SHARES_MAX];
	unsigned n;
};

/*
 * One --fs DIR,tag=TAG or --vhost-user-fs SOCKET,tag=TAG: the tag
 * 1..36 bytes and unique, DIR an existing directory.  0, or -1 with
 * err saying why.
 */
int shares_parse(struct share_specs *s, const char *arg, bool socket, char *err,
		 size_t errlen);
/* The same for a path and a tag given apart (a domain's <filesystem>). */
int shares_add(struct share_specs *s, const char *path, bool socket,
	       const char *tag, char *err, size_t errlen);
/*
 * Starts the virtiofsds (as user when root; NULL: stay) and connects to
 * each, virtio-fs functions made.  On failure says why on stderr and
 * leaves nothing started.  0 or -1.
 */
int shares_start(struct shares *ss, const struct share_specs *s,
		 const char *user);
/* Puts the shares on the machine, guest RAM as their memory table. */
int shares_attach(struct shares *ss, struct machine *m, const struct boot *b);
/*
 * Fills pfd[0..n) with each back end's socket and its stderr (virtiofsd
 * logs through the frontend, each line named); returns n.
 */
unsigned shares_pollfds(const struct shares *ss, struct pollfd *pfd);
/*
 * After poll: passes virtiofsd's lines on; -EPIPE when a back end went
 * away, said on stderr and, in the same words, in why (len bytes) for
 * DestroyVm.reason.  A closed stderr's pollfd is set to -1.
 */
int shares_check(struct shares *ss, struct pollfd *pfd, char *why, size_t len);
/* Exits at the shares' functions, and of them notify writes. */
void shares_exits(const struct shares *ss, unsigned long long *exits,
		  unsigned long long *kicks);
/* Closes every connection, reaps the back ends we started. */
void shares_stop(struct shares *ss);

#endif
