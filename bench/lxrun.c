/*
 * lxrun.c: the Linux-guest benchmarks' shared harness (lxrun.h): a VMM
 * as a watched child, failures, the server, the kernel, spreads.
 * Trust: benchmark code, run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "lxrun.h"

#define POLL_MS 200 /* tick; 20 ms once init says it reboots */

struct lx lx;
volatile sig_atomic_t lx_signal;

static void on_signal(int sig)
{
	lx_signal = sig;
}

const char *lx_path(const char *name)
{
	static char buf[4][128];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 128, "%s/%s", lx.lx_dir, name);
	return p;
}

void lx_cleanup(void)
{
	struct dirent *d;
	DIR *dir;

	if (lx.lx_child > 0) {
		kill(lx.lx_child, SIGKILL);
		waitpid(lx.lx_child, NULL, 0);
		lx.lx_child = 0;
	}
	if (lx.lx_srv.s_pid > 0)
		srv_stop(&lx.lx_srv);
	if (lx.lx_dir[0] == '\0')
		return;
	dir = opendir(lx.lx_dir);
	while (dir != NULL && (d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			unlinkat(dirfd(dir), d->d_name, 0);
	if (dir != NULL)
		closedir(dir);
	rmdir(lx.lx_dir);
	lx.lx_dir[0] = '\0';
}

void lx_init(const char *name)
{
	struct sigaction sa = {.sa_handler = on_signal};

	lx.lx_name = name;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(lx_cleanup);
	snprintf(lx.lx_dir, sizeof(lx.lx_dir), "/tmp/kvmmu-%s.XXXXXX", name);
	if (mkdtemp(lx.lx_dir) == NULL) {
		fprintf(stderr, "%s: mkdtemp: %s\n", name, strerror(errno));
		lx.lx_dir[0] = '\0';
		exit(1);
	}
	chmod(lx.lx_dir, 0755); /* the frontends run as nobody once set up */
}

double lx_since(uint64_t t0)
{
	return (double)(mono_ns() - t0) / 1e9;
}

/* In the child: stdin /dev/null, stdout out, stderr errpath (or out). */
static void spawn_child(const char *const *argv, int out, const char *errpath)
{
	int in = open("/dev/null", O_RDONLY);
	int err = errpath ? open(errpath,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
			  : out;

	/* Never outlive the benchmark (a frontend drops this with root). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (in < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0)
		_exit(127);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int lx_spawn(struct watch *w, const char *const *argv, const char *errpath)
{
	int p[2], r;

	memset(w, 0, sizeof(*w));
	w->w_fd = -1;
	w->w_banner_s = LX_NONE;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	w->w_t0 = mono_ns();
	w->w_pid = fork();
	if (w->w_pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (w->w_pid == 0)
		spawn_child(argv, p[1], errpath);
	close(p[1]);
	w->w_fd = p[0];
	lx.lx_child = w->w_pid;
	return 0;
}

static void watch_line(struct watch *w)
{
	char *line = w->w_line;
	const char *rel;

	line[w->w_n] = '\0';
	line[strcspn(line, "\r")] = '\0';
	w->w_n = 0;
	if (w->w_banner_s == LX_NONE && strstr(line, LX_BANNER)) {
		w->w_banner_s = lx_since(w->w_t0);
		rel = strstr(line, LX_BANNER) + strlen(LX_BANNER);
		rel += strspn(rel, " ");
		if (strncmp(rel, "linux ", 6) == 0)
			rel += 6;
		snprintf(w->w_banner, sizeof(w->w_banner), "%s", rel);
	}
	if (strstr(line, LX_REBOOTING))
		w->w_rebooting = true;
	if (strstr(line, LX_PANIC))
		w->w_panic = true;
	if (w->w_find && strstr(line, w->w_find))
		w->w_found = true;
	if (strncmp(line, "{\"vm\"", 5) == 0)
		snprintf(w->w_json, sizeof(w->w_json), "%s", line);
	if (w->w_line_cb)
		w->w_line_cb(line, w->w_arg);
	snprintf(w->w_tail[w->w_ntail++ % LX_TAIL], sizeof(w->w_tail[0]),
		 "%.*s", (int)sizeof(w->w_tail[0]) - 1, line);
}

static void watch_read(struct watch *w)
{
	char buf[4096];
	ssize_t n = read(w->w_fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		if (w->w_n > 0)
			watch_line(w);
		close(w->w_fd);
		w->w_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			watch_line(w);
		else if (w->w_n < sizeof(w->w_line) - 1)
			w->w_line[w->w_n++] = buf[i];
	}
}

static int watch_kill(struct watch *w, int r)
{
	kill(w->w_pid, SIGKILL);
	waitpid(w->w_pid, &w->w_status, 0);
	if (w->w_fd >= 0)
		close(w->w_fd);
	w->w_fd = -1;
	lx.lx_child = 0;
	return r;
}

int lx_watch_run(struct watch *w, double limit_s, void (*tick)(void *),
		 void *arg)
{
	uint64_t last = 0;

	for (;;) {
		int every = w->w_rebooting ? 20 : POLL_MS;
		struct pollfd pfd = {.fd = w->w_fd, .events = POLLIN};

		if (tick && lx_since(last) * 1000 >= every) {
			tick(arg);
			last = mono_ns();
		}
		if (lx_signal)
			return watch_kill(w, -EINTR);
		if (lx_since(w->w_t0) > limit_s)
			return watch_kill(w, -ETIMEDOUT);
		if (w->w_fd >= 0) {
			if (poll(&pfd, 1, every) > 0)
				watch_read(w);
			continue;
		}
		if (waitpid(w->w_pid, &w->w_status, WNOHANG) == w->w_pid) {
			lx.lx_child = 0;
			return 0;
		}
		poll(NULL, 0, every);
	}
}

void lx_print_file_tail(const char *path, const char *prefix)
{
	char lines[LX_TAIL][200], line[200];
	unsigned n = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(lines[n++ % LX_TAIL], sizeof(lines[0]), "%s", line);
	}
	fclose(f);
	for (unsigned i = n > LX_TAIL ? n - LX_TAIL : 0; i < n; i++)
		fprintf(stderr, "  %s| %s\n", prefix, lines[i % LX_TAIL]);
}

void lx_fail(const char *what, const struct watch *w, const char *why,
	     const char *errpath)
{
	unsigned n = w ? w->w_ntail : 0;

	fprintf(stderr, "%s: FAIL: %s: %s\n", lx.lx_name, what, why);
	for (unsigned i = n > LX_TAIL ? n - LX_TAIL : 0; i < n; i++)
		fprintf(stderr, "  stdout| %s\n", w->w_tail[i % LX_TAIL]);
	if (errpath)
		lx_print_file_tail(errpath, "stderr");
	exit(lx_signal ? 128 + lx_signal : 1);
}

const char *lx_verdict(const struct watch *w, int r, unsigned timeout,
		       bool boot, char *buf, size_t len)
{
	if (r == -EINTR)
		snprintf(buf, len, "interrupted by signal %d: killed",
			 (int)lx_signal);
	else if (r == -ETIMEDOUT)
		snprintf(buf, len, "no end within %u s (%s): killed", timeout,
			 w->w_banner_s == LX_NONE ? "the banner never came"
						  : "after the banner");
	else if (r < 0)
		snprintf(buf, len, "%s", strerror(-r));
	else if (WIFSIGNALED(w->w_status))
		snprintf(buf, len, "killed by signal %d",
			 WTERMSIG(w->w_status));
	else if (WEXITSTATUS(w->w_status) != 0)
		snprintf(buf, len, "exit status %d", WEXITSTATUS(w->w_status));
	else if (boot && w->w_banner_s == LX_NONE)
		snprintf(buf, len, "exit 0, but the init banner never came");
	else if (boot && (w->w_panic || !w->w_rebooting))
		snprintf(buf, len,
			 "exit 0, but the guest did not end with init's "
			 "reboot%s",
			 w->w_panic ? " (the kernel panicked)" : "");
	else
		return NULL;
	return buf;
}

double lx_json_num(const char *line, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(line, pat);
	return at ? strtod(at + strlen(pat), NULL) : LX_NONE;
}

void lx_run_tool(const char *const *argv, const char *what, double limit_s,
		 const char *find, struct watch *w)
{
	char why[160];
	int r = lx_spawn(w, argv, NULL);

	if (r < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(-r));
		lx_fail(what, NULL, why, NULL);
	}
	w->w_find = find;
	r = lx_watch_run(w, limit_s, NULL, NULL);
	if (lx_verdict(w, r, (unsigned)limit_s, false, why, sizeof(why)))
		lx_fail(what, w, why, NULL);
}

void lx_start_server(const char *const *extra)
{
	int saved = dup(2);
	int log = open(lx_path("server.log"),
		       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r;

	if (saved < 0 || log < 0) {
		fprintf(stderr, "%s: server log: %s\n", lx.lx_name,
			strerror(errno));
		exit(1);
	}
	dup2(log, 2);
	r = srv_start(&lx.lx_srv, extra);
	dup2(saved, 2);
	close(saved);
	close(log);
	if (r < 0) {
		if (r != -ETIMEDOUT) /* else lx_cleanup() stops it */
			lx.lx_srv.s_pid = 0;
		fprintf(stderr, "%s: FAIL: mmu-server did not start: %s\n",
			lx.lx_name, strerror(-r));
		lx_print_file_tail(lx_path("server.log"), "server");
		exit(1);
	}
}

const char *lx_vm_cache(void)
{
	const char *cache = getenv("KVMMU_VM_CACHE");

	return cache != NULL && cache[0] != '\0' ? cache
						 : KVMMU_BUILD_DIR "/vm";
}

const char *lx_default_kernel(void)
{
	static char path[512];
	const char *env = getenv("KVMMU_LINUX_KERNEL");

	if (env != NULL && env[0] != '\0')
		return env;
	snprintf(path, sizeof(path), "%s/backports/vmlinuz", lx_vm_cache());
	return path;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct spread lx_spread_of(const double *v, int n)
{
	double s[64];

	if (n <= 0 || n > 64)
		return (struct spread){LX_NONE, LX_NONE, LX_NONE};
	for (int i = 0; i < n; i++) {
		if (v[i] == LX_NONE)
			return (struct spread){LX_NONE, LX_NONE, LX_NONE};
		s[i] = v[i];
	}
	qsort(s, (size_t)n, sizeof(s[0]), cmp_double);
	return (struct spread){
		n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
		s[0],
		s[n - 1],
	};
}
