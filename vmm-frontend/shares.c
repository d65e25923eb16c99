/*
 * shares.c: shared directories from the command line (shares.h).
 *
 * QEMU 7.2's C virtiofsd sandboxes itself with namespaces of its own
 * (unshare of pid, mount and net, then pivot_root into the directory),
 * which needs CAP_SYS_ADMIN; it has no user-namespace mode of its own.
 * So the frontend gives it one (jail.h): the child becomes the VM's
 * user (the one qemu-storage-daemon runs as; the frontend's own when
 * it is not root), makes a user namespace in which uid and gid 0 are
 * that user and group and nothing else is mapped, and execs virtiofsd
 * with sandbox=namespace: it is root only there, so its unshare,
 * mounts and pivot_root work, it sees only DIR, no network and no other
 * process, and on the host it is that user, every file it makes that
 * user's.  The directory must be that user's to use, as an image is.
 * Its own seccomp filter and capabilities cut to the file server's
 * (virtiofsd does both), no_new_privs, every fd but stdin/out/err and
 * its socket closed, SIGKILL when the frontend dies.
 *
 * What the guest sees: files of the VM's user as uid/gid 0, any other
 * owner's as 65534 (unmapped); its root makes files as the VM's user;
 * a request as any other uid or gid (a file made, a chown) fails with
 * EINVAL, as virtiofsd cannot switch to an id its namespace lacks.
 * Reading goes by the files' modes as the guest sees them.
 *
 * virtiofsd drops its supplementary groups at start (setgroups(0,
 * NULL)), which a user namespace made by an unprivileged process
 * forbids: a frontend that is root drops them in the child, one that is
 * not has that one call answer 0 (a seccomp filter) and virtiofsd keeps
 * its user's groups.  Its RLIMIT_NOFILE raise would need a host
 * capability: the soft limit is raised to the hard one before exec.
 * Where the host forbids user namespaces --fs fails at start, in one
 * line saying so; --vhost-user-fs takes a virtiofsd the operator runs.
 *
 * It gets a listening socket by --fd, bound in a private 0700
 * directory removed once the frontend has connected: nobody else can
 * ever reach the share.  It exits when the connection closes; the
 * frontend then reaps it through its pidfd (or kills it: it is the same
 * user).  Trust: unprivileged once running; the flags are the
 * operator's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disks.h"
#include "jail.h"
#include "shares.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define START_MS  10000 /* how long its child may take to exec it */
#define STOP_MS	  5000	/* how long virtiofsd may take to end */
#define GONE_MS	  1000	/* ... to be reaped once its socket closed */

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > FS_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* DIR as an absolute, resolved path (virtiofsd pivots into it). */
static int share_dir(struct share_spec *d, const char *flag, const char *dir,
		     char *err, size_t errlen)
{
	struct stat st;
	char *real;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", flag, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a directory", flag, dir);
		return -1;
	}
	real = realpath(dir, NULL);
	if (real == NULL || strlen(real) >= sizeof(d->ss_path)) {
		snprintf(err, errlen, "%s %s: %s", flag, dir,
			 real ? "path too long" : strerror(errno));
		free(real);
		return -1;
	}
	/* virtiofsd's -o source= ends at a comma: it would add options. */
	if (strchr(real, ',') != NULL) {
		snprintf(err, errlen,
			 "%s %s: a comma in the path: virtiofsd's "
			 "-o source= cannot take one",
			 flag, real);
		free(real);
		return -1;
	}
	strcpy(d->ss_path, real);
	free(real);
	return 0;
}

int shares_add(struct share_specs *s, const char *path, bool socket,
	       const char *tag, char *err, size_t errlen)
{
	const char *flag = socket ? "--vhost-user-fs" : "--fs";
	struct share_spec *d;

	if (s->ss_n == SHARES_MAX) {
		snprintf(err, errlen, "%s: at most %d shared directories", flag,
			 SHARES_MAX);
		return -1;
	}
	d = &s->ss[s->ss_n];
	memset(d, 0, sizeof(*d));
	d->ss_socket = socket;
	if (!tag_ok(tag)) {
		snprintf(err, errlen,
			 "%s: tag '%s': 1 to %d of letters, digits and ._-",
			 flag, tag, FS_TAG_MAX);
		return -1;
	}
	strcpy(d->ss_tag, tag);
	for (unsigned i = 0; i < s->ss_n; i++) {
		if (strcmp(s->ss[i].ss_tag, d->ss_tag) == 0) {
			snprintf(err, errlen,
				 "%s: tag '%s' is already %s's: a tag names "
				 "one share",
				 flag, d->ss_tag, s->ss[i].ss_path);
			return -1;
		}
	}
	if (path[0] == '\0' || strlen(path) >= sizeof(d->ss_path)) {
		snprintf(err, errlen, "%s: path %s", flag,
			 path[0] ? "too long" : "empty");
		return -1;
	}
	strcpy(d->ss_path, path);
	if (!socket) {
		char dir[PATH_MAX];

		strcpy(dir, d->ss_path);
		if (share_dir(d, flag, dir, err, errlen) < 0)
			return -1;
	}
	s->ss_n++;
	return 0;
}

int shares_parse(struct share_specs *s, const char *arg, bool socket, char *err,
		 size_t errlen)
{
	const char *flag = socket ? "--vhost-user-fs" : "--fs";
	const char *comma = strchr(arg, ',');
	char path[PATH_MAX];
	size_t plen = comma ? (size_t)(comma - arg) : strlen(arg);

	if (plen == 0 || comma == NULL || strncmp(comma + 1, "tag=", 4) != 0 ||
	    strchr(comma + 1, ',') != NULL) {
		snprintf(err, errlen, "%s: '%s': not %s,tag=TAG", flag, arg,
			 socket ? "SOCKET" : "DIR");
		return -1;
	}
	if (plen >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", flag);
		return -1;
	}
	memcpy(path, arg, plen);
	path[plen] = '\0';
	return shares_add(s, path, socket, comma + 5, err, errlen);
}

/*
 * The child: virtiofsd on the listening socket lfd, as fd 3, its stderr
 * the pipe log (non-blocking: a frontend that does not read loses lines,
 * never stalls the share), as the VM's user id, root only in a user
 * namespace of its own (jail.h).  What stops it goes to the parent on
 * the pipe st.
 */
static void vfsd_exec(const struct share *s, const struct jail_id *id, int lfd,
		      int log, int st, pid_t parent)
{
	char src[PATH_MAX + 16];
	struct rlimit rl;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), r;

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(log, STDERR_FILENO) < 0)
		_exit(127);
	if (lfd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(lfd, 3) < 0)
		_exit(127);
	/* The status pipe as fd 4, closed by the exec. */
	if (st != 4 && dup3(st, 4, O_CLOEXEC) < 0)
		_exit(127);
	close_range(5, ~0u, 0);
	/*
	 * virtiofsd drops its supplementary groups (setgroups(0, NULL),
	 * since QEMU 6.2: CVE-2022-0358), which its user namespace
	 * forbids: root drops them here.  A frontend that is not root
	 * cannot, and has virtiofsd's call answer 0 instead: it keeps
	 * the groups its user has, which give it nothing that user lacks.
	 */
	r = geteuid() == 0 ? (setgroups(0, NULL) < 0 ? JAIL_IDENT : JAIL_OK)
	    : getgroups(0, NULL) > 0 ? jail_fake_setgroups()
				     : JAIL_OK;
	if (r == JAIL_OK && id->ji_become &&
	    (setgid(id->ji_gid) < 0 || setuid(id->ji_uid) < 0))
		r = JAIL_IDENT;
	if (r != JAIL_OK) {
		jail_report(4, r, errno, -1, true);
		_exit(127);
	}
	/*
	 * Its own RLIMIT_NOFILE raise would need CAP_SYS_RESOURCE on the
	 * host (it lets EPERM pass): the soft limit goes to the hard one
	 * here, and --rlimit-nofile=0 says to leave it.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* uid and gid 0 inside are the VM's user and group outside. */
	r = jail_userns(0, 0, 0);
	if (r != JAIL_OK) {
		jail_report(4, r, errno, -1, true);
		_exit(127);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(127);
	snprintf(src, sizeof(src), "source=%s", s->s_spec->ss_path);
	execl(VIRTIOFSD, VIRTIOFSD, "--fd=3", "-o", src, "-o",
	      "sandbox=namespace", "--rlimit-nofile=0", "-o", "log_level=warn",
	      (char *)NULL);
	fprintf(stderr, "vmm-frontend: fs %s: %s: %s\n", s->s_spec->ss_tag,
		VIRTIOFSD, strerror(errno));
	_exit(127);
}

/* Reaps s's virtiofsd if it ended (wait_ms: how long to wait). */
static bool vfsd_reap(struct share *s, int wait_ms, char *how, size_t len)
{
	return backend_reap(&s->s_pidfd, &s->s_pid, wait_ms, how, len);
}

/*
 * Reads what virtiofsd wrote; each whole line is said, named, when show.
 * 0, or -1 once its stderr is closed (it ended).
 */
static int vfsd_log(struct share *s, bool show)
{
	char buf[512];
	ssize_t n;

	while (s->s_log >= 0 && (n = read(s->s_log, buf, sizeof(buf))) != 0) {
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		for (ssize_t i = 0; i < n; i++) {
			bool nl = buf[i] == '\n';

			if (!nl && s->s_len + 1 < sizeof(s->s_line))
				s->s_line[s->s_len++] = buf[i];
			if (!nl)
				continue;
			s->s_line[s->s_len] = '\0';
			if (show && s->s_len)
				fprintf(stderr,
					"vmm-frontend: fs %s: virtiofsd: %s\n",
					s->s_spec->ss_tag, s->s_line);
			s->s_len = 0;
		}
	}
	return -1;
}

static void vfsd_dir_remove(struct share *s)
{
	if (s->s_dir[0] == '\0')
		return;
	unlink(s->s_sock);
	rmdir(s->s_dir);
	s->s_dir[0] = '\0';
}

/* A listening socket in a private directory: -1, or its fd. */
static int vfsd_listen(struct share *s)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	snprintf(s->s_dir, sizeof(s->s_dir), "%s/kvmmu-fs.XXXXXX",
		 tmp && tmp[0] && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(s->s_dir) == NULL) {
		fprintf(stderr, "vmm-frontend: fs %s: %s: %s\n",
			s->s_spec->ss_tag, s->s_dir, strerror(errno));
		s->s_dir[0] = '\0';
		return -1;
	}
	memcpy(s->s_sock, s->s_dir, sizeof(s->s_dir)); /* NUL-terminated */
	strcat(s->s_sock, "/vhost-user-fs.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->s_sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		fprintf(stderr, "vmm-frontend: fs %s: socket %s: %s\n",
			s->s_spec->ss_tag, s->s_sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * What the child said on its status pipe st: 0 once virtiofsd runs, or
 * -1 said in one line (where user namespaces are forbidden: why, and
 * what works instead).
 */
static int vfsd_note(const struct share *s, int st)
{
	const struct share_spec *sp = s->s_spec;
	struct jail_note n;
	char text[PATH_MAX + 128];

	if (jail_wait(st, START_MS, &n) < 0) {
		fprintf(stderr,
			"vmm-frontend: fs %s: virtiofsd for %s did not start "
			"within %d ms\n",
			sp->ss_tag, sp->ss_path, START_MS);
		return -1;
	}
	if (n.jn_step == JAIL_OK)
		return 0;
	jail_note_text(&n, NULL, text, sizeof(text));
	if (n.jn_step == JAIL_USERNS && jail_forbidden(n.jn_errno))
		fprintf(stderr,
			"vmm-frontend: fs %s: virtiofsd not started: %s (this "
			"host forbids user namespaces, and it runs in one; "
			"--vhost-user-fs takes a virtiofsd you run)\n",
			sp->ss_tag, text);
	else
		fprintf(stderr,
			"vmm-frontend: fs %s: virtiofsd for %s not started: "
			"%s\n",
			sp->ss_tag, sp->ss_path, text);
	return -1;
}

/* Starts s's virtiofsd and connects to it, the device named name. */
static int vfsd_start(struct share *s, const struct jail_id *id,
		      const char *name)
{
	const struct share_spec *sp = s->s_spec;
	pid_t parent = getpid();
	char how[96];
	int lfd = vfsd_listen(s), log[2], st[2], r;

	if (lfd < 0)
		return -1;
	if (pipe2(log, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("vmm-frontend: pipe");
		close(lfd);
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		perror("vmm-frontend: pipe");
		close(lfd);
		close(log[0]);
		close(log[1]);
		return -1;
	}
	fflush(NULL);
	s->s_pid = fork();
	if (s->s_pid == 0)
		vfsd_exec(s, id, lfd, log[1], st[1], parent);
	/* The socket listens while virtiofsd holds it, no longer. */
	close(lfd);
	close(log[1]);
	close(st[1]);
	s->s_log = log[0];
	if (s->s_pid < 0) {
		s->s_pid = 0;
		perror("vmm-frontend: fork");
		close(st[0]);
		return -1;
	}
	s->s_pidfd = pidfd_open(s->s_pid, 0);
	if (s->s_pidfd < 0) {
		perror("vmm-frontend: pidfd_open");
		kill(s->s_pid, SIGKILL);
		waitpid(s->s_pid, NULL, 0);
		s->s_pid = 0;
		close(st[0]);
		return -1;
	}
	r = vfsd_note(s, st[0]);
	close(st[0]);
	if (r < 0)
		return -1;
	r = vu_dev_open(&s->s_dev, name, s->s_sock);
	/* Connected or not: no one else will ever reach this socket. */
	vfsd_dir_remove(s);
	if (r < 0) {
		if (!vfsd_reap(s, GONE_MS, how, sizeof(how)))
			snprintf(how, sizeof(how), "did not answer");
		vfsd_log(s, true);
		fprintf(stderr,
			"vmm-frontend: fs %s: virtiofsd for %s %s (its "
			"message above): %s\n",
			sp->ss_tag, sp->ss_path, how, s->s_dev.vd_vu.vu_err);
		return -1;
	}
	return 0;
}

static int share_start(struct share *s, const struct jail_id *id, unsigned i)
{
	const struct share_spec *sp = s->s_spec;
	char name[VU_DEV_NAME_MAX];

	s->s_pidfd = s->s_log = -1;
	snprintf(name, sizeof(name), "fs%u", i);
	if (sp->ss_socket) {
		if (vu_dev_open(&s->s_dev, name, sp->ss_path) < 0) {
			fprintf(stderr, "vmm-frontend: --vhost-user-fs %s\n",
				s->s_dev.vd_vu.vu_err);
			return -1;
		}
	} else if (vfsd_start(s, id, name) < 0) {
		return -1;
	}
	s->s_open = true;
	if (fs_init(&s->s_dev, sp->ss_tag) < 0) {
		fprintf(stderr, "vmm-frontend: fs %s: %s\n", sp->ss_tag,
			s->s_dev.vd_vu.vu_err);
		return -1;
	}
	return 0;
}

int shares_start(struct shares *ss, const struct share_specs *s,
		 const char *user)
{
	struct jail_id id;

	memset(ss, 0, sizeof(*ss));
	if (s->ss_n == 0)
		return 0;
	if (jail_user(user, &id) < 0)
		return -1;
	for (unsigned i = 0; i < s->ss_n; i++) {
		struct share *sh = &ss->s[ss->n++];

		sh->s_spec = &s->ss[i];
		if (share_start(sh, &id, i) < 0) {
			shares_stop(ss);
			return -1;
		}
	}
	return 0;
}

int shares_attach(struct shares *ss, struct machine *m, const struct boot *b)
{
	struct vhost_user_region reg[VHOST_USER_MAX_REGIONS];
	int nr;

	if (ss->n == 0)
		return 0;
	if (!m->m_pc) {
		fprintf(stderr, "vmm-frontend: --fs needs --machine pc\n");
		return -1;
	}
	nr = vu_guest_ram(m, b, reg);
	if (nr < 0)
		return -1;
	for (unsigned i = 0; i < ss->n; i++) {
		struct share *s = &ss->s[i];

		if (vu_dev_set_ram(&s->s_dev, reg, (unsigned)nr) < 0 ||
		    pci_add_fn(&m->m_pci, &s->s_dev.vd_vp.vp_fn, m->m_map) <
			    0) {
			fprintf(stderr,
				"vmm-frontend: fs %s: no room on the PCI bus\n",
				s->s_spec->ss_tag);
			return -1;
		}
	}
	return 0;
}

unsigned shares_pollfds(const struct shares *ss, struct pollfd *pfd)
{
	for (unsigned i = 0; i < ss->n; i++) {
		pfd[2 * i] = (struct pollfd){.fd = vu_dev_fd(&ss->s[i].s_dev),
					     .events = POLLIN};
		pfd[2 * i + 1] =
			(struct pollfd){.fd = ss->s[i].s_log, .events = POLLIN};
	}
	return 2 * ss->n;
}

int shares_check(struct shares *ss, struct pollfd *pfd, char *why, size_t len)
{
	for (unsigned i = 0; i < ss->n; i++) {
		struct share *s = &ss->s[i];
		const struct share_spec *sp = s->s_spec;
		char how[96] = "", before[128], after[128];
		pid_t pid = s->s_pid;

		if (pfd[2 * i + 1].revents && vfsd_log(s, true) < 0) {
			close(s->s_log); /* it ended: its socket says so */
			s->s_log = pfd[2 * i + 1].fd = -1;
		}
		if (!pfd[2 * i].revents)
			continue;
		/* No request of ours is pending: only an end is readable. */
		if (pid == 0) {
			snprintf(before, sizeof(before),
				 "fs %s: its back end (vhost-user-fs at ",
				 sp->ss_tag);
			snprintf(after, sizeof(after),
				 ") closed the connection");
		} else {
			if (!vfsd_reap(s, GONE_MS, how, sizeof(how)))
				snprintf(how, sizeof(how),
					 "closed the connection");
			vfsd_log(s, true);
			snprintf(before, sizeof(before),
				 "fs %s: its back end (virtiofsd pid %d, "
				 "directory ",
				 sp->ss_tag, (int)pid);
			snprintf(after, sizeof(after), ") %s", how);
		}
		fprintf(stderr, "vmm-frontend: %s%s%s: ending the VM\n", before,
			sp->ss_path, after);
		backend_why(why, len, before, sp->ss_path, after);
		return -EPIPE;
	}
	return 0;
}

void shares_exits(const struct shares *ss, unsigned long long *exits,
		  unsigned long long *kicks)
{
	*exits = *kicks = 0;
	for (unsigned i = 0; i < ss->n; i++) {
		*exits += ss->s[i].s_dev.vd_vp.vp_exits;
		*kicks += ss->s[i].s_dev.vd_vp.vp_kick_exits;
	}
}

void shares_stop(struct shares *ss)
{
	char how[96];

	for (unsigned i = 0; i < ss->n; i++) {
		struct share *s = &ss->s[i];

		vfsd_log(s, true); /* what it said before we closed */
		if (s->s_open)
			vu_dev_free(&s->s_dev);
		s->s_open = false;
		/*
		 * virtiofsd ends with its connection.  One that does not is
		 * killed by pidfd (it is our user's, or ours while we are
		 * root); failing that, by PR_SET_PDEATHSIG when this
		 * process ends.
		 */
		if (s->s_pidfd >= 0 &&
		    !vfsd_reap(s, STOP_MS, how, sizeof(how)) &&
		    pidfd_send_signal(s->s_pidfd, SIGKILL, NULL, 0) == 0)
			vfsd_reap(s, STOP_MS, how, sizeof(how));
		if (s->s_pidfd >= 0) {
			fprintf(stderr,
				"vmm-frontend: fs %s: virtiofsd pid %d did "
				"not end; it is killed when this process "
				"exits\n",
				s->s_spec->ss_tag, (int)s->s_pid);
			close(s->s_pidfd);
		}
		s->s_pidfd = -1;
		/* Its "Unexpected poll revents" at our close: not news. */
		vfsd_log(s, false);
		if (s->s_log >= 0)
			close(s->s_log);
		s->s_log = -1;
		vfsd_dir_remove(s);
	}
	ss->n = 0;
}
