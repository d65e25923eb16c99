/*
 * disks.c: disks from the command line (disks.h).
 *
 * qemu-storage-daemon runs as the frontend's unprivileged user (so it
 * opens only what that user may open, and the image must be readable,
 * and writable unless readonly, by that user), with no_new_privs, every
 * fd but stdin/out/err closed, and SIGKILL when the frontend dies; and
 * it sees only what it needs (jail.h): in a user namespace that maps
 * that uid and gid to themselves and a mount namespace whose root is a
 * tmpfs holding /usr (read-only; /bin, /lib, ... as the host has them),
 * /dev/null, /dev/zero, /dev/urandom, its socket directory, and its
 * image at its own absolute path (read-only when readonly) with, for
 * qcow2, every backing file down the chain (read-only, at the path
 * QEMU makes of each name; at most 16, each a regular file).  No /proc,
 * /sys, /etc, /home: no file next to the image.  Where the host forbids
 * user namespaces it says so in one line per disk and runs as before.
 * Its socket lives in a 0700 directory of that user, removed (with
 * the directory and the tmpfs's mount point) once the frontend has
 * connected: nobody else can ever reach the export.  Image locking is
 * qemu-storage-daemon's own (OFD locks): an image another VM has open
 * for writing is refused with its message, and said again here.
 * Trust: unprivileged once running; the flags are the operator's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "disks.h"
#include "jail.h"
#include "text.h"

#define QSD	 "/usr/bin/qemu-storage-daemon"
#define START_MS 10000 /* how long a back end may take to listen */
#define STOP_MS	 5000  /* ... and to end after SIGTERM */
/*
 * QEMU's image locking (block/file-posix.c): a read lock on byte 100 +
 * n says "I hold permission n", on byte 200 + n "I do not share it";
 * n = 0 is consistent read, n = 1 write.  A block export shares every
 * permission, so two qemu-storage-daemons would both write one image,
 * and a read-only one would read an image another VM writes: the
 * frontend takes the locks a QEMU VM's disk takes (writable: holds
 * write, shares no write; read-only: holds consistent read, shares no
 * write), so another kvmmu VM's back end, or a QEMU, is refused ("Failed
 * to get ... write lock"), and checks, as QEMU does, that no one holds
 * write when it shares none.
 */
#define LOCK_PERM_READ	  100
#define LOCK_PERM_WRITE	  101
#define LOCK_SHARED_WRITE 201
/*
 * qcow2 (QEMU's docs/interop/qcow2.txt), big-endian: the magic, the
 * backing file's name at backing_file_offset (byte 8, 8 bytes) of
 * backing_file_size (byte 16, 4 bytes), header extensions from
 * header_length (byte 100 of a version 3 header, else 72).
 */
#define QCOW2_MAGIC	      0x514649fbu /* "QFI\xfb" */
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_DATA_FILE   0x44415441u
#define QCOW2_HEAD	      65536 /* what is read of it: the extensions */
#define QCOW2_NAME_MAX	      1023  /* QEMU's bound on a backing name */
#define CHAIN_MAX	      16    /* backing files an image may stand on */

static bool target_ok(const char *t)
{
	return strlen(t) == 3 && t[0] == 'v' && t[1] == 'd' && t[2] >= 'a' &&
	       t[2] < 'a' + DISKS_MAX;
}

int disks_parse(struct disk_specs *s, const char *arg, bool socket, char *err,
		size_t errlen)
{
	const char *flag = socket ? "--vhost-user-blk" : "--disk";
	struct disk_spec *d;
	char *copy, *opt, *save = NULL;

	if (s->ds_n == DISKS_MAX) {
		snprintf(err, errlen, "%s: at most %d disks", flag, DISKS_MAX);
		return -1;
	}
	d = &s->ds[s->ds_n];
	memset(d, 0, sizeof(*d));
	d->ds_socket = socket;
	/* The path stays in argv; only the options are cut here. */
	copy = strdup(arg);
	if (copy == NULL) {
		snprintf(err, errlen, "%s: out of memory", flag);
		return -1;
	}
	opt = strtok_r(copy, ",", &save);
	if (opt == NULL || arg[0] == ',') {
		free(copy);
		snprintf(err, errlen, "%s: '%s': no path", flag, arg);
		return -1;
	}
	if (strlen(opt) >= sizeof(d->ds_path)) {
		free(copy);
		snprintf(err, errlen, "%s: path too long", flag);
		return -1;
	}
	strcpy(d->ds_path, opt);
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		if (!socket && strcmp(opt, "format=raw") == 0) {
			d->ds_qcow2 = false;
		} else if (!socket && strcmp(opt, "format=qcow2") == 0) {
			d->ds_qcow2 = true;
		} else if (!socket && strcmp(opt, "readonly") == 0) {
			d->ds_ro = true;
		} else if (strncmp(opt, "target=", 7) == 0 &&
			   target_ok(opt + 7)) {
			strcpy(d->ds_target, opt + 7);
		} else {
			snprintf(err, errlen, "%s: '%s': '%s' is none of %s",
				 flag, arg, opt,
				 socket ? "target=vdX (vda..vdh)"
					: "format=raw, format=qcow2, "
					  "readonly, target=vdX (vda..vdh)");
			free(copy);
			return -1;
		}
	}
	free(copy);
	s->ds_n++;
	return 0;
}

int disks_targets(struct disk_specs *s, char *err, size_t errlen)
{
	bool used[DISKS_MAX] = {false};

	for (unsigned i = 0; i < s->ds_n; i++) {
		const char *t = s->ds[i].ds_target;

		if (t[0] == '\0')
			continue;
		if (used[t[2] - 'a']) {
			snprintf(err, errlen,
				 "two disks with target %s: '%s' and another",
				 t, s->ds[i].ds_path);
			return -1;
		}
		used[t[2] - 'a'] = true;
	}
	for (unsigned i = 0; i < s->ds_n; i++) {
		unsigned k = 0;

		if (s->ds[i].ds_target[0] != '\0')
			continue;
		while (used[k])
			k++; /* a free one exists: at most DISKS_MAX disks */
		used[k] = true;
		snprintf(s->ds[i].ds_target, sizeof(s->ds[i].ds_target), "vd%c",
			 'a' + k);
	}
	return 0;
}

/*
 * src as a value in QEMU's key=value,... syntax, where a comma ends the
 * value unless doubled: a path with a comma (from a domain's XML, or
 * TMPDIR) must not add options of its own.  False if it does not fit.
 */
static bool opt_value(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	for (; *src != '\0'; src++) {
		if (n + 3 > len)
			return false;
		if (*src == ',')
			dst[n++] = ',';
		dst[n++] = *src;
	}
	dst[n] = '\0';
	return true;
}

/*
 * The child: becomes the user, confined (jail.h), then
 * qemu-storage-daemon on img (the image's absolute path).  What stops
 * it, or leaves it unconfined, goes to the parent on the pipe st.
 */
static void qsd_exec(const struct disk *d, const struct jail_id *id,
		     const struct jail *j, const char *img, int st,
		     pid_t parent)
{
	const struct disk_spec *s = d->d_spec;
	char bd[2 * PATH_MAX + 128], ex[2 * sizeof(d->d_sock) + 128];
	char path[2 * PATH_MAX], sock[2 * sizeof(d->d_sock)];
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), r, ent = -1;

	if (null < 0 || dup2(null, STDIN_FILENO) < 0)
		_exit(127);
	/* The status pipe as fd 3, closed by the exec. */
	if (st != 3 && dup3(st, 3, O_CLOEXEC) < 0)
		_exit(127);
	close_range(4, ~0u, 0);
	if (id->ji_become &&
	    (initgroups(id->ji_name, id->ji_gid) < 0 ||
	     setgid(id->ji_gid) < 0 || setuid(id->ji_uid) < 0)) {
		jail_report(3, JAIL_IDENT, errno, -1, true);
		_exit(127);
	}
	r = jail_userns(CLONE_NEWNS, id->ji_uid, id->ji_gid);
	if (r == JAIL_USERNS && jail_forbidden(errno)) {
		/* The host forbids it: as before confinement, said once. */
		jail_report(3, r, errno, -1, false);
	} else if (r != JAIL_OK || (r = jail_enter(j, &ent)) != JAIL_OK) {
		jail_report(3, r, errno, ent, true);
		_exit(127);
	}
	/* After the uid change, which clears it; the parent may be gone. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(127);
	if (!opt_value(path, sizeof(path), img) ||
	    !opt_value(sock, sizeof(sock), d->d_sock))
		_exit(127);
	snprintf(bd, sizeof(bd),
		 "driver=%s,node-name=disk,read-only=%s,file.driver=file,"
		 "file.filename=%s",
		 s->ds_qcow2 ? "qcow2" : "raw", s->ds_ro ? "on" : "off", path);
	snprintf(ex, sizeof(ex),
		 "type=vhost-user-blk,id=%s,node-name=disk,addr.type=unix,"
		 "addr.path=%s,writable=%s",
		 s->ds_target, sock, s->ds_ro ? "off" : "on");
	execl(QSD, QSD, "--blockdev", bd, "--export", ex, (char *)NULL);
	fprintf(stderr, "vmm-frontend: %s: %s: %s\n", s->ds_target, QSD,
		strerror(errno));
	_exit(127);
}

/* How a back end ended, for people. */
static void status_text(const siginfo_t *si, char *buf, size_t len)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d", si->si_status);
	else
		snprintf(buf, len, "killed by signal %d (%s)", si->si_status,
			 strsignal(si->si_status));
}

bool backend_reap(int *pidfd, pid_t *pid, int wait_ms, char *how, size_t len)
{
	siginfo_t si = {0};
	struct pollfd p = {*pidfd, POLLIN, 0};

	if (*pidfd < 0)
		return true;
	if (poll(&p, 1, wait_ms) != 1 ||
	    waitid(P_PIDFD, (id_t)*pidfd, &si, WEXITED | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return false;
	status_text(&si, how, len);
	close(*pidfd);
	*pidfd = -1;
	*pid = 0;
	return true;
}

void backend_why(char *why, size_t len, const char *before, const char *path,
		 const char *after)
{
	char buf[PATH_MAX + 512];
	size_t fixed = strlen(before) + strlen(after) + 3, plen = strlen(path);
	const char *dots = "", *tail = path;

	/* Cleaning never lengthens: what fits raw fits clean. */
	if (fixed - 3 + plen >= len && fixed < len) {
		tail = path + plen - (len - 1 - fixed);
		while (((unsigned char)*tail & 0xc0) == 0x80) /* whole */
			tail++;
		dots = "...";
	}
	snprintf(buf, sizeof(buf), "%s%s%s%s", before, dots, tail, after);
	text_clean(why, len, buf);
}

/* Reaps d's back end if it ended (wait_ms: how long to wait). */
static bool qsd_reap(struct disk *d, int wait_ms, char *how, size_t len)
{
	return backend_reap(&d->d_pidfd, &d->d_pid, wait_ms, how, len);
}

/*
 * The private directory, owned by the user the back end runs as, and in
 * it root/, where the back end's tmpfs root is mounted in its own
 * namespace (the host never sees a mount there).
 */
static int qsd_dir(struct disk *d, const struct jail_id *id)
{
	const char *tmp = getenv("TMPDIR");
	char root[sizeof(d->d_dir) + 8];

	/* Absolute: the back end names it from its own root. */
	snprintf(d->d_dir, sizeof(d->d_dir), "%s/kvmmu-disk.XXXXXX",
		 tmp && tmp[0] == '/' && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(d->d_dir) == NULL) {
		fprintf(stderr, "vmm-frontend: %s: %s: %s\n",
			d->d_spec->ds_target, d->d_dir, strerror(errno));
		d->d_dir[0] = '\0';
		return -1;
	}
	memcpy(d->d_sock, d->d_dir, sizeof(d->d_dir)); /* NUL-terminated */
	strcat(d->d_sock, "/vhost-user-blk.sock");
	snprintf(root, sizeof(root), "%s/root", d->d_dir);
	if (mkdir(root, 0700) < 0 ||
	    (id->ji_become && (chown(root, id->ji_uid, id->ji_gid) < 0 ||
			       chown(d->d_dir, id->ji_uid, id->ji_gid) < 0))) {
		fprintf(stderr, "vmm-frontend: %s: %s: %s\n",
			d->d_spec->ds_target, root, strerror(errno));
		return -1;
	}
	return 0;
}

static void qsd_dir_remove(struct disk *d)
{
	char root[sizeof(d->d_dir) + 8];

	if (d->d_dir[0] == '\0')
		return;
	snprintf(root, sizeof(root), "%s/root", d->d_dir);
	unlink(d->d_sock);
	rmdir(root);
	rmdir(d->d_dir);
	d->d_dir[0] = '\0';
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* What a qcow2 header says of the files an image needs besides itself. */
struct qcow2_info {
	bool qi_qcow2;			     /* the magic is there */
	char qi_backing[QCOW2_NAME_MAX + 1]; /* "": none */
	char qi_fmt[16];		     /* its format, if named */
	bool qi_data_file;		     /* an external data file */
};

static int qcow2_read(const char *path, struct qcow2_info *qi, char *err,
		      size_t errlen)
{
	uint8_t *h = malloc(QCOW2_HEAD);
	uint64_t boff;
	uint32_t bsize, o;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(qi, 0, sizeof(*qi));
	if (h != NULL && fd >= 0)
		n = pread(fd, h, QCOW2_HEAD, 0);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 h ? strerror(errno) : "out of memory");
		goto out;
	}
	if (n < 104 || be32(h) != QCOW2_MAGIC)
		goto out; /* not qcow2: QEMU says so if it should be */
	qi->qi_qcow2 = true;
	boff = be64(h + 8);
	bsize = be32(h + 16);
	/* Extensions: type, length, data padded to 8; type 0 ends them. */
	o = be32(h + 4) >= 3 ? be32(h + 100) : 72;
	while (o <= (uint32_t)n - 8 && be32(h + o) != 0) {
		uint32_t type = be32(h + o), len = be32(h + o + 4);

		if (len > (uint32_t)n - o - 8)
			break;
		if (type == QCOW2_EXT_BACKING_FMT && len < sizeof(qi->qi_fmt))
			memcpy(qi->qi_fmt, h + o + 8, len);
		qi->qi_data_file |= type == QCOW2_EXT_DATA_FILE;
		o += 8 + ((len + 7) & ~7u);
	}
	if (boff == 0 || bsize == 0)
		goto out;
	if (bsize > QCOW2_NAME_MAX ||
	    pread(fd, qi->qi_backing, bsize, (off_t)boff) != (ssize_t)bsize ||
	    memchr(qi->qi_backing, '\0', bsize) != NULL) {
		snprintf(err, errlen,
			 "%s: its backing file name (%u bytes at "
			 "%llu) cannot be read",
			 path, bsize, (unsigned long long)boff);
		n = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(h);
	return n < 0 ? -1 : 0;
}

/*
 * QEMU's path_combine: a relative backing name is relative to the
 * directory of the image naming it, as that image was named.
 */
static int backing_path(char *dst, size_t len, const char *image,
			const char *name)
{
	const char *slash = strrchr(image, '/');
	size_t dir = name[0] == '/' || slash == NULL
			     ? 0
			     : (size_t)(slash + 1 - image);

	if (dir + strlen(name) + 1 > len)
		return -1;
	memcpy(dst, image, dir);
	strcpy(dst + dir, name);
	return 0;
}

/*
 * The files a qcow2 image at img stands on, each bound read-only at its
 * own path: every backing file down its chain (at most CHAIN_MAX), each
 * a regular file.  0, or -1 with err saying why.
 */
static int qsd_chain(struct jail *j, const char *img, char *err, size_t errlen)
{
	char cur[PATH_MAX], next[PATH_MAX];
	struct qcow2_info qi;
	struct stat st;

	snprintf(cur, sizeof(cur), "%s", img);
	for (unsigned n = 0;; n++) {
		if (qcow2_read(cur, &qi, err, errlen) < 0)
			return -1;
		if (qi.qi_data_file) {
			snprintf(err, errlen,
				 "%s: a qcow2 image with an external data "
				 "file, which qemu-storage-daemon's "
				 "confinement does not bind",
				 cur);
			return -1;
		}
		if (!qi.qi_qcow2 || qi.qi_backing[0] == '\0')
			return 0;
		/* "nbd:", "json:": QEMU would open no file of that name. */
		if (qi.qi_backing[strcspn(qi.qi_backing, ":/")] == ':') {
			snprintf(err, errlen,
				 "%s: backing file '%s' names a protocol, "
				 "not a file",
				 cur, qi.qi_backing);
			return -1;
		}
		if (n == CHAIN_MAX) {
			snprintf(err, errlen,
				 "a backing chain deeper than %d files (a "
				 "loop?), at %s",
				 CHAIN_MAX, cur);
			return -1;
		}
		if (backing_path(next, sizeof(next), cur, qi.qi_backing) < 0) {
			snprintf(err, errlen, "%s: backing file path too long",
				 cur);
			return -1;
		}
		errno = 0; /* a stat that works leaves it */
		if (stat(next, &st) < 0 || !S_ISREG(st.st_mode)) {
			snprintf(err, errlen,
				 "backing file %s (named by %s): %s", next, cur,
				 errno ? strerror(errno)
				       : "not a regular file");
			return -1;
		}
		if (jail_add(j, next, true, err, errlen) < 0)
			return -1;
		/* Named raw (or anything but qcow2): QEMU reads no further. */
		if (qi.qi_fmt[0] != '\0' && strcmp(qi.qi_fmt, "qcow2") != 0)
			return 0;
		strcpy(cur, next);
	}
}

/*
 * What d's qemu-storage-daemon sees: the system, its socket directory,
 * its image at img (absolute) and, for qcow2, the backing chain.  NULL,
 * said on stderr, when it cannot be made.
 */
static struct jail *qsd_jail(struct disk *d, const char *img)
{
	const struct disk_spec *s = d->d_spec;
	char root[sizeof(d->d_dir) + 8], err[PATH_MAX + 200];
	struct jail *j;

	snprintf(root, sizeof(root), "%s/root", d->d_dir);
	j = jail_new(root);
	if (j == NULL) {
		fprintf(stderr, "vmm-frontend: %s: out of memory\n",
			s->ds_target);
		return NULL;
	}
	if (jail_add_system(j, err, sizeof(err)) < 0 ||
	    jail_add(j, d->d_dir, false, err, sizeof(err)) < 0 ||
	    jail_add(j, img, s->ds_ro, err, sizeof(err)) < 0 ||
	    (s->ds_qcow2 && qsd_chain(j, img, err, sizeof(err)) < 0)) {
		fprintf(stderr, "vmm-frontend: %s: --disk %s: %s\n",
			s->ds_target, s->ds_path, err);
		jail_free(j);
		return NULL;
	}
	return j;
}

/* path, made absolute as the frontend names it (no symlink resolved). */
static int abs_path(char *dst, size_t len, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(dst, len, "%s", path) < (int)len ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return snprintf(dst, len, "%s/%s", cwd, path) < (int)len ? 0 : -1;
}

/* What the child said on its status pipe st, said for people. */
static int qsd_note(struct disk *d, const struct jail *j, int st)
{
	struct jail_note n;
	char text[PATH_MAX + 128];

	jail_wait(st, START_MS, &n);
	if (n.jn_step == JAIL_OK)
		return 0;
	jail_note_text(&n, j, text, sizeof(text));
	if (!n.jn_fatal) {
		fprintf(stderr,
			"vmm-frontend: %s: qemu-storage-daemon runs "
			"unconfined: %s\n",
			d->d_spec->ds_target, text);
		return 0;
	}
	fprintf(stderr,
		"vmm-frontend: %s: qemu-storage-daemon for %s not started: "
		"%s\n",
		d->d_spec->ds_target, d->d_spec->ds_path, text);
	return -1;
}

/* Starts d's qemu-storage-daemon and connects once it listens. */
static int qsd_start(struct disk *d, const struct jail_id *id)
{
	const struct disk_spec *s = d->d_spec;
	pid_t parent = getpid();
	struct jail *j;
	char img[PATH_MAX], how[96];
	uint64_t until;
	int st[2], r;

	if (qsd_dir(d, id) < 0)
		return -1;
	if (abs_path(img, sizeof(img), s->ds_path) < 0) {
		fprintf(stderr, "vmm-frontend: %s: --disk %s: %s\n",
			s->ds_target, s->ds_path, strerror(errno));
		return -1;
	}
	j = qsd_jail(d, img);
	if (j == NULL)
		return -1;
	if (pipe2(st, O_CLOEXEC) < 0) {
		perror("vmm-frontend: pipe");
		jail_free(j);
		return -1;
	}
	fflush(NULL);
	d->d_pid = fork();
	if (d->d_pid == 0)
		qsd_exec(d, id, j, img, st[1], parent);
	close(st[1]);
	if (d->d_pid < 0) {
		d->d_pid = 0;
		perror("vmm-frontend: fork");
		close(st[0]);
		jail_free(j);
		return -1;
	}
	d->d_pidfd = pidfd_open(d->d_pid, 0);
	if (d->d_pidfd < 0) {
		perror("vmm-frontend: pidfd_open");
		kill(d->d_pid, SIGKILL);
		waitpid(d->d_pid, NULL, 0);
		d->d_pid = 0;
		close(st[0]);
		jail_free(j);
		return -1;
	}
	r = qsd_note(d, j, st[0]);
	close(st[0]);
	jail_free(j);
	if (r < 0)
		return -1;
	until = mono_ns() + START_MS * 1000000ull;
	for (;;) {
		if (qsd_reap(d, 0, how, sizeof(how))) {
			fprintf(stderr,
				"vmm-frontend: %s: qemu-storage-daemon for %s "
				"%s before it listened (its message above; "
				"\"Failed to get ... lock\": another VM or "
				"program has the image open for writing)\n",
				s->ds_target, s->ds_path, how);
			return -1;
		}
		if (access(d->d_sock, F_OK) == 0 &&
		    vu_dev_open(&d->d_dev, s->ds_target, d->d_sock) == 0)
			break;
		if (mono_ns() > until) {
			fprintf(stderr,
				"vmm-frontend: %s: qemu-storage-daemon for %s "
				"did not listen within %d ms%s%s\n",
				s->ds_target, s->ds_path, START_MS,
				d->d_dev.vd_vu.vu_err[0] ? ": " : "",
				d->d_dev.vd_vu.vu_err);
			return -1;
		}
		nanosleep(&(struct timespec){0, 20000000}, NULL);
	}
	/* Connected: no one else will ever reach this export. */
	qsd_dir_remove(d);
	return 0;
}

/*
 * After our back end has the image open: no one else may write it (a
 * read-only disk too: its guest would read an image changing under it).
 */
static int disk_lock(struct disk *d)
{
	struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_len = 1};
	const char *why = NULL;
	int r = 0;

	d->d_lock = open(d->d_spec->ds_path, O_RDONLY | O_CLOEXEC);
	if (d->d_lock < 0)
		r = -1;
	l.l_start = d->d_spec->ds_ro ? LOCK_PERM_READ : LOCK_PERM_WRITE;
	if (r == 0)
		r = fcntl(d->d_lock, F_OFD_SETLK, &l);
	l.l_start = LOCK_SHARED_WRITE;
	if (r == 0)
		r = fcntl(d->d_lock, F_OFD_SETLK, &l);
	/* Our own locks are no conflict: any on "holds write" is another's. */
	l = (struct flock){.l_type = F_WRLCK,
			   .l_whence = SEEK_SET,
			   .l_start = LOCK_PERM_WRITE,
			   .l_len = 1};
	if (r == 0 && d->d_spec->ds_ro &&
	    (r = fcntl(d->d_lock, F_OFD_GETLK, &l)) == 0 &&
	    l.l_type != F_UNLCK) {
		why = "its write lock is held by another process";
		r = -1;
	}
	if (r < 0)
		fprintf(stderr,
			"vmm-frontend: %s: %s: %s (another VM or program has "
			"the image open for writing)\n",
			d->d_spec->ds_target, d->d_spec->ds_path,
			why ? why : strerror(errno));
	return r;
}

static int disk_start(struct disk *d, const struct jail_id *id)
{
	const struct disk_spec *s = d->d_spec;
	struct stat st;

	const char *why = NULL;

	d->d_pidfd = d->d_lock = -1;
	if (!s->ds_socket && stat(s->ds_path, &st) < 0)
		why = strerror(errno);
	else if (!s->ds_socket && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		why = "not a file or a block device";
	if (why) {
		fprintf(stderr, "vmm-frontend: %s: --disk %s: %s\n",
			s->ds_target, s->ds_path, why);
		return -1;
	}
	if (s->ds_socket) {
		if (vu_dev_open(&d->d_dev, s->ds_target, s->ds_path) < 0) {
			fprintf(stderr, "vmm-frontend: --vhost-user-blk %s\n",
				d->d_dev.vd_vu.vu_err);
			return -1;
		}
	} else if (qsd_start(d, id) < 0 || disk_lock(d) < 0) {
		return -1;
	}
	d->d_open = true;
	if (blk_init(&d->d_dev) < 0) {
		fprintf(stderr, "vmm-frontend: %s\n", d->d_dev.vd_vu.vu_err);
		return -1;
	}
	return 0;
}

int disks_start(struct disks *ds, const struct disk_specs *s, const char *user)
{
	struct jail_id id;

	memset(ds, 0, sizeof(*ds));
	if (s->ds_n == 0)
		return 0;
	if (jail_user(user, &id) < 0)
		return -1;
	/* Target order: the guest names virtio disks in PCI order. */
	for (char t = 'a'; t < 'a' + DISKS_MAX; t++) {
		for (unsigned i = 0; i < s->ds_n; i++) {
			struct disk *d = &ds->d[ds->n];

			if (s->ds[i].ds_target[2] != t)
				continue;
			d->d_spec = &s->ds[i];
			ds->n++;
			if (disk_start(d, &id) < 0) {
				disks_stop(ds);
				return -1;
			}
		}
	}
	return 0;
}

int vu_guest_ram(struct machine *m, const struct boot *b,
		 struct vhost_user_region *reg)
{
	Kvmmu__Region **map;
	size_t n;
	int nr = 0;

	/* Guest RAM only: the map's RAM regions, where we map them. */
	map = machine_map(m, &n);
	if (map == NULL)
		return -1;
	for (size_t i = 0; i < n && nr < VHOST_USER_MAX_REGIONS; i++) {
		if (map[i]->kind != KVMMU__REGION_KIND__REGION_RAM)
			continue;
		reg[nr++] = (struct vhost_user_region){
			map[i]->gpa, map[i]->size,
			(uint64_t)(uintptr_t)(b->b_ram + map[i]->offset),
			map[i]->offset, b->b_ram_fd};
	}
	machine_map_free(map, n);
	return nr;
}

int disks_attach(struct disks *ds, struct machine *m, const struct boot *b)
{
	struct vhost_user_region reg[VHOST_USER_MAX_REGIONS];
	int nr;

	if (ds->n == 0)
		return 0;
	if (!m->m_pc) {
		fprintf(stderr, "vmm-frontend: disks need --machine pc\n");
		return -1;
	}
	nr = vu_guest_ram(m, b, reg);
	if (nr < 0)
		return -1;
	for (unsigned i = 0; i < ds->n; i++) {
		struct disk *d = &ds->d[i];

		if (vu_dev_set_ram(&d->d_dev, reg, (unsigned)nr) < 0 ||
		    pci_add_fn(&m->m_pci, &d->d_dev.vd_vp.vp_fn, m->m_map) <
			    0) {
			fprintf(stderr,
				"vmm-frontend: %s: no room on the PCI bus\n",
				d->d_spec->ds_target);
			return -1;
		}
	}
	return 0;
}

unsigned disks_pollfds(const struct disks *ds, struct pollfd *pfd)
{
	for (unsigned i = 0; i < ds->n; i++)
		pfd[i] = (struct pollfd){.fd = vu_dev_fd(&ds->d[i].d_dev),
					 .events = POLLIN};
	return ds->n;
}

int disks_check(struct disks *ds, const struct pollfd *pfd, char *why,
		size_t len)
{
	for (unsigned i = 0; i < ds->n; i++) {
		struct disk *d = &ds->d[i];
		const struct disk_spec *s = d->d_spec;
		char how[96] = "", before[128], after[128];

		if (!pfd[i].revents)
			continue;
		/* No request of ours is pending: only an end is readable. */
		ds->gone = true;
		if (d->d_pid == 0) {
			snprintf(before, sizeof(before),
				 "%s: its back end (vhost-user-blk at ",
				 s->ds_target);
			snprintf(after, sizeof(after),
				 ") closed the connection");
		} else {
			pid_t pid = d->d_pid;

			if (!qsd_reap(d, 1000, how, sizeof(how)))
				snprintf(how, sizeof(how),
					 "closed the connection");
			snprintf(before, sizeof(before),
				 "%s: its back end (qemu-storage-daemon pid "
				 "%d, image ",
				 s->ds_target, (int)pid);
			snprintf(after, sizeof(after), ") %s", how);
		}
		fprintf(stderr, "vmm-frontend: %s%s%s: ending the VM\n", before,
			s->ds_path, after);
		backend_why(why, len, before, s->ds_path, after);
		return -EPIPE;
	}
	return 0;
}

void disks_exits(const struct disks *ds, unsigned long long *exits,
		 unsigned long long *kicks)
{
	*exits = *kicks = 0;
	for (unsigned i = 0; i < ds->n; i++) {
		*exits += ds->d[i].d_dev.vd_vp.vp_exits;
		*kicks += ds->d[i].d_dev.vd_vp.vp_kick_exits;
	}
}

void disks_stop(struct disks *ds)
{
	char how[96];

	for (unsigned i = 0; i < ds->n; i++) {
		struct disk *d = &ds->d[i];

		if (d->d_open)
			vu_dev_free(&d->d_dev);
		d->d_open = false;
		/* Only our own children, by pidfd: never a reused pid. */
		if (d->d_pidfd >= 0 &&
		    pidfd_send_signal(d->d_pidfd, SIGTERM, NULL, 0) == 0 &&
		    !qsd_reap(d, STOP_MS, how, sizeof(how)))
			pidfd_send_signal(d->d_pidfd, SIGKILL, NULL, 0);
		qsd_reap(d, STOP_MS, how, sizeof(how));
		if (d->d_pidfd >= 0)
			close(d->d_pidfd);
		d->d_pidfd = -1;
		if (d->d_lock >= 0)
			close(d->d_lock); /* the back end is gone: unlocked */
		d->d_lock = -1;
		qsd_dir_remove(d);
	}
	ds->n = 0;
}
