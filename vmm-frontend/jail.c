/*
 * jail.c: a started back end's user and mount namespaces (jail.h).
 *
 * Why a user namespace: it is the one way an unprivileged process gets
 * a mount namespace of its own (and virtiofsd its pid and net ones);
 * inside it the process has capabilities over nothing the host owns.
 * qemu-storage-daemon's namespace maps its uid to itself, so it is no
 * one new inside (its capabilities go at exec, its uid not being 0),
 * and its root is a tmpfs with the few paths it needs bound in: it
 * cannot name any other file of the host.  Nothing is mounted on the
 * host: / is made private first, and every mount lives and dies with
 * the namespace.
 *
 * The child runs between fork and exec of a process that may have
 * threads (libvirt's): system calls only, no stdio, no allocation;
 * failures go to the parent on a pipe as numbers.
 * Trust: the child runs as the VM's user; the paths are the operator's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>

#include "clock.h"
#include "jail.h"
#include "userns.h"

/* The jail's root: room for mount points and symlinks, nothing else. */
#define JAIL_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=1024"

static const char *const jail_steps[] = {
	[JAIL_OK] = "nothing",
	[JAIL_USERNS] = "a user namespace",
	[JAIL_IDMAP] = "its uid and gid maps",
	[JAIL_PRIVATE] = "making / private",
	[JAIL_TMPFS] = "a tmpfs root on",
	[JAIL_POINT] = "a mount point for",
	[JAIL_BIND] = "a bind mount of",
	[JAIL_ATTR] = "making read-only",
	[JAIL_SEAL] = "making the tmpfs root read-only",
	[JAIL_PIVOT] = "pivot_root",
	[JAIL_DETACH] = "detaching the old root",
	[JAIL_CAPS] = "emptying the capability bounding set",
	[JAIL_FILTER] = "a seccomp filter for setgroups",
	[JAIL_IDENT] = "becoming the VM's user",
};

const char *jail_step_name(int step)
{
	if (step < 0 || step >= (int)(sizeof(jail_steps) / sizeof(*jail_steps)))
		return "an unknown step";
	return jail_steps[step];
}

int jail_user(const char *user, struct jail_id *id)
{
	const struct passwd *pw;

	memset(id, 0, sizeof(*id));
	id->ji_uid = geteuid();
	id->ji_gid = getegid();
	if (user == NULL || geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "vmm-frontend: --user: no user '%s'\n", user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0; /* --user root: asked to stay */
	if (strlen(pw->pw_name) >= sizeof(id->ji_name)) {
		fprintf(stderr, "vmm-frontend: --user: '%s': name too long\n",
			user);
		return -1;
	}
	strcpy(id->ji_name, pw->pw_name);
	id->ji_uid = pw->pw_uid;
	id->ji_gid = pw->pw_gid;
	id->ji_become = true;
	return 0;
}

struct jail *jail_new(const char *root)
{
	struct jail *j;

	if (strlen(root) >= sizeof(j->j_root))
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j != NULL)
		strcpy(j->j_root, root);
	return j;
}

void jail_free(struct jail *j)
{
	free(j);
}

static unsigned depth(const char *path)
{
	unsigned n = 0;

	for (; *path; path++)
		n += *path == '/';
	return n;
}

/*
 * A new entry for path, shallowest first so that a directory is bound
 * before what lies under it (stable: equal depths keep their order);
 * NULL with err set when full, or when path is already there (*dup).
 */
static struct jail_ent *jail_slot(struct jail *j, const char *path, bool *dup,
				  char *err, size_t errlen)
{
	unsigned d = depth(path), i;

	*dup = false;
	for (i = 0; i < j->j_n; i++) {
		if (strcmp(j->j_ent[i].je_path, path) == 0) {
			*dup = true;
			return NULL;
		}
	}
	if (path[0] != '/' || strlen(path) >= sizeof(j->j_ent[0].je_path)) {
		snprintf(err, errlen, "%s: not an absolute path that fits",
			 path);
		return NULL;
	}
	if (j->j_n == JAIL_MAX) {
		snprintf(err, errlen, "%s: more than %d paths to confine", path,
			 JAIL_MAX);
		return NULL;
	}
	for (i = 0; i < j->j_n && depth(j->j_ent[i].je_path) <= d; i++)
		;
	memmove(&j->j_ent[i + 1], &j->j_ent[i],
		(j->j_n - i) * sizeof(j->j_ent[0]));
	j->j_n++;
	memset(&j->j_ent[i], 0, sizeof(j->j_ent[i]));
	strcpy(j->j_ent[i].je_path, path);
	return &j->j_ent[i];
}

/* jail_add, and rec: with the mounts under a directory. */
static int jail_add_ent(struct jail *j, const char *path, bool ro, bool rec,
			char *err, size_t errlen)
{
	struct jail_ent *e;
	struct stat st;
	bool dup;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	e = jail_slot(j, path, &dup, err, errlen);
	if (e == NULL)
		return dup ? 0 : -1;
	e->je_kind = S_ISDIR(st.st_mode) ? JAIL_DIR : JAIL_FILE;
	e->je_ro = ro;
	e->je_rec = rec && e->je_kind == JAIL_DIR;
	return 0;
}

int jail_add(struct jail *j, const char *path, bool ro, char *err,
	     size_t errlen)
{
	/*
	 * Not recursive: what the frontend adds (its socket directory)
	 * holds the tmpfs's mount point, which must not appear in it.
	 */
	return jail_add_ent(j, path, ro, false, err, errlen);
}

/* A top-level name as the host has it: a symlink, or a directory. */
static int jail_add_top(struct jail *j, const char *path, char *err,
			size_t errlen)
{
	struct jail_ent *e;
	struct stat st;
	char link[sizeof(e->je_link)];
	ssize_t n;
	bool dup;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* this host has none */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return jail_add_ent(j, path, true, true, err, errlen);
	if (!S_ISLNK(st.st_mode))
		return 0;
	n = readlink(path, link, sizeof(link));
	if (n < 0 || (size_t)n >= sizeof(link)) {
		snprintf(err, errlen, "%s: %s", path,
			 n < 0 ? strerror(errno) : "symlink target too long");
		return -1;
	}
	link[n] = '\0';
	e = jail_slot(j, path, &dup, err, errlen);
	if (e == NULL)
		return dup ? 0 : -1;
	e->je_kind = JAIL_LINK;
	strcpy(e->je_link, link);
	return 0;
}

int jail_add_system(struct jail *j, char *err, size_t errlen)
{
	/* Merged /usr (Debian 12): symlinks; elsewhere directories. */
	static const char *const top[] = {"/bin",   "/sbin",  "/lib",
					  "/lib32", "/lib64", "/libx32"};
	static const char *const dev[] = {"/dev/null", "/dev/zero",
					  "/dev/urandom"};

	if (jail_add_ent(j, "/usr", true, true, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (jail_add_top(j, top[i], err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
		if (jail_add(j, dev[i], false, err, errlen) < 0)
			return -1;
	return 0;
}

int jail_userns(int flags, uid_t in_uid, gid_t in_gid)
{
	uid_t uid = geteuid(); /* before the unshare: see userns.h */
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | flags) < 0)
		return JAIL_USERNS;
	return userns_map(in_uid, uid, in_gid, gid) < 0 ? JAIL_IDMAP : JAIL_OK;
}

/* dst = root + path; -1 (ENAMETOOLONG) if it does not fit. */
static int path_in(char *dst, size_t len, const char *root, const char *path)
{
	size_t r = strlen(root), p = strlen(path);

	if (r + p + 1 > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, root, r);
	memcpy(dst + r, path, p + 1);
	return 0;
}

/* Every directory above p's last component, from offset from on. */
static int mkparents(char *p, size_t from)
{
	for (char *s = p + from + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		int r = mkdir(p, 0755);

		*s = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* One entry at its path under root: made, bound, made read-only. */
static int jail_bind(const struct jail *j, const struct jail_ent *e)
{
	char p[2 * PATH_MAX];
	struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID};
	bool rec = e->je_rec;
	int r;

	if (path_in(p, sizeof(p), j->j_root, e->je_path) < 0 ||
	    mkparents(p, strlen(j->j_root)) < 0)
		return JAIL_POINT;
	if (e->je_kind == JAIL_LINK)
		r = symlink(e->je_link, p);
	else if (e->je_kind == JAIL_DIR)
		r = mkdir(p, 0755);
	else
		r = mknod(p, S_IFREG | 0644, 0);
	/* EEXIST: under a directory bound before, which holds it. */
	if (r < 0 && errno != EEXIST)
		return JAIL_POINT;
	if (e->je_kind == JAIL_LINK)
		return JAIL_OK;
	if (mount(e->je_path, p, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return JAIL_BIND;
	if (e->je_ro)
		a.attr_set |= MOUNT_ATTR_RDONLY;
	if (syscall(SYS_mount_setattr, AT_FDCWD, p, rec ? AT_RECURSIVE : 0, &a,
		    sizeof(a)) < 0)
		return JAIL_ATTR;
	return JAIL_OK;
}

int jail_enter(const struct jail *j, int *ent)
{
	struct mount_attr ro = {.attr_set =
					MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	int r;

	*ent = -1;
	/* Nothing done here may reach the host's mount table. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return JAIL_PRIVATE;
	if (mount("tmpfs", j->j_root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  JAIL_TMPFS_OPTS) < 0)
		return JAIL_TMPFS;
	for (unsigned i = 0; i < j->j_n; i++) {
		*ent = (int)i;
		r = jail_bind(j, &j->j_ent[i]);
		if (r != JAIL_OK)
			return r;
	}
	*ent = -1;
	if (syscall(SYS_mount_setattr, AT_FDCWD, j->j_root, 0, &ro,
		    sizeof(ro)) < 0)
		return JAIL_SEAL;
	/* The old root under the new one, then gone: see pivot_root(2). */
	if (chdir(j->j_root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return JAIL_PIVOT;
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return JAIL_DETACH;
	/* Nothing to keep at exec, were the program's uid 0 here. */
	for (int c = 0; prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0; c++)
		;
	if (errno != EINVAL)
		return JAIL_CAPS;
	return JAIL_OK;
}

int jail_fake_setgroups(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setgroups, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		/* errno 0: the call returns 0, having done nothing. */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return JAIL_FILTER;
	return JAIL_OK;
}

void jail_report(int fd, int step, int err, int ent, bool fatal)
{
	int msg[4] = {step, err, ent, fatal};

	(void)!write(fd, msg, sizeof(msg));
}

bool jail_forbidden(int err)
{
	/*
	 * EPERM: a sysctl (Debian's unprivileged_userns_clone), seccomp, a
	 * unit's RestrictNamespaces=; ENOSPC: user.max_user_namespaces
	 * (0, or used up); EINVAL/ENOSYS: a kernel without them; EUSERS:
	 * nesting too deep on older kernels.
	 */
	return err == EPERM || err == ENOSPC || err == EINVAL ||
	       err == ENOSYS || err == EUSERS;
}

int jail_wait(int fd, int ms, struct jail_note *n)
{
	uint64_t until = mono_ns() + (uint64_t)ms * 1000000u;
	int msg[4];
	size_t got = 0;

	*n = (struct jail_note){.jn_step = JAIL_OK, .jn_ent = -1};
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		uint64_t now = mono_ns();
		ssize_t r;

		if (now >= until ||
		    poll(&p, 1, (int)((until - now) / 1000000u) + 1) == 0)
			return -1;
		r = read(fd, (char *)msg + got, sizeof(msg) - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return 0; /* exec'd, or ended */
		got += (size_t)r;
		if (got < sizeof(msg))
			continue;
		got = 0;
		*n = (struct jail_note){msg[0], msg[1], msg[2], msg[3] != 0};
	}
}

void jail_note_text(const struct jail_note *n, const struct jail *j, char *buf,
		    size_t len)
{
	const char *path = NULL;

	if (j != NULL && n->jn_ent >= 0 && (unsigned)n->jn_ent < j->j_n)
		path = j->j_ent[n->jn_ent].je_path;
	else if (j != NULL && n->jn_step == JAIL_TMPFS)
		path = j->j_root;
	snprintf(buf, len, "%s%s%s: %s", jail_step_name(n->jn_step),
		 path ? " " : "", path ? path : "", strerror(n->jn_errno));
}
