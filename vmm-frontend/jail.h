/*
 * jail.h: the confinement of a back end the frontend starts (disks.c,
 * shares.c), in the child between fork and exec.
 *
 * Both back ends run in a user namespace of their own, made by an
 * unprivileged process, so no host privilege is needed or gained:
 * qemu-storage-daemon in one that maps only its own uid and gid to
 * themselves, with a mount namespace whose root is a tmpfs holding
 * only what it needs (the system's /usr, three device nodes, its
 * socket directory, its image and the image's backing files, each at
 * its own path); virtiofsd in one that maps uid and gid 0 to the VM's
 * user, so that its own namespaces and pivot_root work and every file
 * it makes on the host is that user's.
 *
 * The parent builds the bind list (jail_new, jail_add) before fork;
 * the child only makes system calls (jail_userns, jail_enter) and says
 * what failed on a status pipe (jail_report), which the parent reads
 * until the exec closes it (jail_wait) and turns into one line.
 * Trust: runs as the VM's user; the paths are the operator's.
 */
#ifndef KVMMU_JAIL_H
#define KVMMU_JAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JAIL_MAX 48 /* entries: the system's ~10, a chain of 16, ... */

/* The steps of the child, named in messages (jail_step_name). */
enum jail_step {
	JAIL_OK,
	JAIL_USERNS,  /* unshare(CLONE_NEWUSER ...) */
	JAIL_IDMAP,   /* uid_map, setgroups, gid_map */
	JAIL_PRIVATE, /* / made private: nothing propagates out */
	JAIL_TMPFS,   /* the tmpfs root */
	JAIL_POINT,   /* a mount point made in it */
	JAIL_BIND,    /* a bind mount */
	JAIL_ATTR,    /* a bind made read-only, nosuid */
	JAIL_SEAL,    /* the tmpfs made read-only */
	JAIL_PIVOT,   /* pivot_root into it */
	JAIL_DETACH,  /* the old root detached */
	JAIL_CAPS,    /* the capability bounding set emptied */
	JAIL_FILTER,  /* a seccomp filter (jail_fake_setgroups) */
	JAIL_IDENT,   /* becoming the VM's user (the caller's step) */
};

enum jail_kind { JAIL_DIR, JAIL_FILE, JAIL_LINK };

struct jail_ent {
	char je_path[PATH_MAX]; /* on the host, and the same in the jail */
	char je_link[64];	/* JAIL_LINK: the symlink's target */
	unsigned char je_kind;
	bool je_ro;
	bool je_rec; /* with what is mounted under it (the system's) */
};

struct jail {
	char j_root[PATH_MAX]; /* an empty directory: the tmpfs goes there */
	struct jail_ent j_ent[JAIL_MAX]; /* shallowest first */
	unsigned j_n;
};

/* What a child said on its status pipe. */
struct jail_note {
	int jn_step; /* enum jail_step; JAIL_OK: it said nothing */
	int jn_errno;
	int jn_ent;    /* the entry that step was about; -1: none */
	bool jn_fatal; /* it exited; else it went on unconfined */
};

/* The VM's user as a back end becomes it: resolved before fork. */
struct jail_id {
	uid_t ji_uid;
	gid_t ji_gid;
	char ji_name[64];
	bool ji_become; /* we are root: become ji_uid (else we are it) */
};

/*
 * user (--user; NULL: stay) as *id: the frontend's own uid and gid
 * when it is not root or user is root.  0, or -1 said on stderr.
 */
int jail_user(const char *user, struct jail_id *id);

/* An empty jail whose tmpfs goes on root; NULL: out of memory. */
struct jail *jail_new(const char *root);
void jail_free(struct jail *j);
/*
 * Adds path (absolute, as the back end names it) at its own path, read
 * only when ro: a directory, or anything else as a file.  0, or -1
 * with err saying why.
 */
int jail_add(struct jail *j, const char *path, bool ro, char *err,
	     size_t errlen);
/*
 * What a dynamically linked program needs: /usr read-only, /bin, /lib,
 * ... as the host has them (a symlink into /usr, or a directory bound
 * read-only), /dev/null, /dev/zero and /dev/urandom.  0 or -1.
 */
int jail_add_system(struct jail *j, char *err, size_t errlen);

/*
 * In the child: a new user namespace (and the other namespaces in
 * flags, e.g. CLONE_NEWNS) in which the caller's uid and gid are
 * in_uid and in_gid, and nothing else is mapped.  Drops the process's
 * dumpable flag's effect (a process that changed its uid cannot write
 * its own maps otherwise).  JAIL_OK, or the step that failed, errno
 * set.
 */
int jail_userns(int flags, uid_t in_uid, gid_t in_gid);
/*
 * In the child, in its own user and mount namespaces: the tmpfs root,
 * every entry bound, the old root gone, cwd "/", and no capability
 * left to gain at exec.  JAIL_OK, or the step that failed with errno
 * set and *ent the entry it was about (-1: none).
 */
int jail_enter(const struct jail *j, int *ent);
/*
 * In the child: setgroups(0, NULL) answers 0 and does nothing (a user
 * namespace an unprivileged process made forbids it, and virtiofsd
 * stops when it fails).  JAIL_OK or JAIL_FILTER.
 */
int jail_fake_setgroups(void);
/* In the child: says step and err on the status pipe fd. */
void jail_report(int fd, int step, int err, int ent, bool fatal);
/* Whether unshare's err means the host forbids user namespaces. */
bool jail_forbidden(int err);

/*
 * In the parent: reads the status pipe until the child execs or ends
 * (EOF), or ms pass.  The last note in *n (JAIL_OK: none).  0, or -1
 * when ms passed.
 */
int jail_wait(int fd, int ms, struct jail_note *n);
/* A step for people: "a user namespace", "a bind mount of", ... */
const char *jail_step_name(int step);
/*
 * n as a message: "<step>[ <path>]: <error>", the path from j (NULL:
 * none), into buf.
 */
void jail_note_text(const struct jail_note *n, const struct jail *j, char *buf,
		    size_t len);

#endif
