/*
 * test_frontend.c: vmm-frontend end to end through a real mmu-server:
 * the hello guest, a multi-vCPU memtouch, guest status propagation, a
 * crashed vCPU ending a 4-vCPU run at once, a frontend running as an
 * unprivileged user that never holds /dev/kvm, and 50 frontends
 * SIGKILLed mid-run leaving no fd or memory behind.
 * With the argument "bootchurn" (kvm.bootchurn, run on both MMUs): the pc
 * machine's boot churn, its ioctl counts per commit mode and the faults
 * each zap mode costs.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct fe {
	pid_t pid;
	int out;
	char buf[16384];
	size_t len;
};

static struct srv srv;

/*
 * Runs vmm-frontend with args; when uid != 0, as uid/gid and from the
 * copy test_unprivileged made for it (copy_for_nobody says why).
 */
static int fe_spawn(struct fe *f, const char *const *args, uid_t uid, gid_t gid)
{
	const char *argv[32] = {"vmm-frontend"};
	char prog[512];
	int p[2], n = 1;

	for (; *args && n < 30; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (uid != 0)
		snprintf(prog, sizeof(prog), "%s/vmm-frontend", srv.s_dir);
	else
		snprintf(prog, sizeof(prog), "%s", bin_path("vmm-frontend"));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	f->len = 0;
	f->buf[0] = '\0'; /* or the last run's output would match */
	f->pid = fork();
	if (f->pid == 0) {
		dup2(p[1], 1);
		if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
				 setuid(uid) < 0))
			_exit(120);
		/* The point of running unprivileged: KVM is out of reach. */
		if (uid != 0 && open("/dev/kvm", O_RDWR) >= 0)
			_exit(121);
		execv(prog, (char *const *)argv);
		/*
		 * Into the output the checks print (a bare 127 says little);
		 * not through stdio, whose buffer holds the parent's output.
		 */
		dprintf(1, "fe_spawn: exec %s as uid %u: %s\n", prog,
			(unsigned)uid, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	f->out = p[0];
	return f->pid > 0 ? 0 : -errno;
}

/* Reads output until needle shows up (true) or EOF/timeout (false). */
static bool fe_expect(struct fe *f, const char *needle, int timeout_ms)
{
	struct pollfd pfd = {.fd = f->out, .events = POLLIN};
	ssize_t n;

	while (!strstr(f->buf, needle)) {
		if (f->len + 1 >= sizeof(f->buf) ||
		    poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		n = read(f->out, f->buf + f->len, sizeof(f->buf) - 1 - f->len);
		if (n <= 0)
			return false;
		f->len += (size_t)n;
		f->buf[f->len] = '\0';
	}
	return true;
}

static int fe_wait(struct fe *f)
{
	int status;

	fe_expect(f, "\1never\1", 60000); /* drain to EOF */
	close(f->out);
	waitpid(f->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_hello(void)
{
	const char *args[] = {"--socket", srv.s_sock, "--payload",
			      guest_path("hello"), NULL};
	struct fe f;

	CHECK(fe_spawn(&f, args, 0, 0) == 0, "spawn");
	CHECK(fe_wait(&f) == 0, "hello exits 0: %s", f.buf);
	CHECK(strstr(f.buf, "Hello from a CPL3 guest on kvmmu!\n") != NULL,
	      "greeting: %s", f.buf);
	CHECK(strstr(f.buf, "guest: 256 MiB RAM, 1 vCPU(s)") != NULL,
	      "bootinfo reached the guest: %s", f.buf);
	CHECK(strstr(f.buf, "vmm-frontend: vm 'hello' ran") != NULL,
	      "summary line: %s", f.buf);
}

static void test_memtouch(void)
{
	const char *args[] = {
		"--socket",  srv.s_sock, "--payload", guest_path("memtouch"),
		"--memory",  "64",	 "--vcpus",   "4",
		"--cmdline", "passes=2", NULL};
	const char *bad[] = {"--socket",  srv.s_sock,
			     "--payload", guest_path("memtouch"),
			     "--cmdline", "start=0x1000",
			     NULL};
	struct fe f;

	CHECK(fe_spawn(&f, args, 0, 0) == 0, "spawn");
	CHECK(fe_wait(&f) == 0, "memtouch exits 0: %s", f.buf);
	/* (64 MiB - 2 MiB) / 4 KiB = 15872 pages over 4 vCPUs. */
	for (int i = 0; i < 4; i++) {
		char want[64];

		snprintf(want, sizeof(want), "report: vcpu %d: 3968\n", i);
		CHECK(strstr(f.buf, want) != NULL, "%s in %s", want, f.buf);
	}
	CHECK(fe_spawn(&f, bad, 0, 0) == 0, "spawn");
	CHECK(fe_wait(&f) == 2, "guest status 2 becomes the exit code: %s",
	      f.buf);
}

/* True when some fd of pid links to target (or contains it). */
static bool proc_has_fd(pid_t pid, const char *target)
{
	char path[64], link[256], lp[384];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(lp, sizeof(lp), "%s/%s", path, de->d_name);
		n = readlink(lp, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found |= strstr(link, target) != NULL;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static uid_t proc_uid(pid_t pid)
{
	char path[64], line[256];
	unsigned uid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u", &uid) == 1)
			break;
	}
	if (f)
		fclose(f);
	return uid;
}

/*
 * A copy of src (an absolute path) in the server's temp dir, 0755 in
 * /tmp, for a process that runs as nobody: it is exec'd, and opens its
 * payload, by path with nobody's rights, and the build tree may be out
 * of nobody's reach (a clone under /root or in a 0700 dir; CI's checkout
 * is not ours to chmod).  A copy rather than fexecve() on an fd root
 * opened: the payload needs a dir nobody can reach all the same, so one
 * way serves both; the shell tests and the demo (setpriv, which execs by
 * path) do the same; and a script would need an fd left open into it.
 * The caller unlinks it: srv_stop removes the dir only when empty.
 */
static const char *copy_for_nobody(const char *src, const char *mode)
{
	static char dst[2][256];
	static int i;
	char *p = dst[i++ % 2], cmd[600];

	snprintf(p, sizeof(dst[0]), "%s/%s", srv.s_dir, strrchr(src, '/') + 1);
	snprintf(cmd, sizeof(cmd), "install -m %s '%s' '%s'", mode, src, p);
	return system(cmd) == 0 ? p : NULL;
}

static void test_unprivileged(void)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	const char *prog = copy_for_nobody(bin_path("vmm-frontend"), "0755");
	const char *payload = copy_for_nobody(guest_path("memtouch"), "0644");
	const char *args[] = {"--socket",  srv.s_sock,	"--payload",
			      payload,	   "--memory",	"128",
			      "--cmdline", "passes=20", NULL};
	struct fe f;

	CHECK(pw && gr && prog && payload,
	      "nobody/nogroup and the copies of the frontend and payload");
	if (pw && gr && prog && payload) {
		CHECK(fe_spawn(&f, args, pw->pw_uid, gr->gr_gid) == 0, "spawn");
		CHECK(fe_expect(&f, "running", 10000), "frontend runs: %s",
		      f.buf);
		CHECK(proc_uid(f.pid) == pw->pw_uid, "runs as uid %u",
		      (unsigned)pw->pw_uid);
		CHECK(proc_has_fd(f.pid, "kvmmu-ram"),
		      "holds its guest's RAM memfd");
		CHECK(!proc_has_fd(f.pid, "/dev/kvm"), "holds no /dev/kvm");
		CHECK(!proc_has_fd(f.pid, "kvm-vm"), "holds no VM fd");
		CHECK(fe_wait(&f) == 0,
		      "unprivileged run exits 0 (120: setuid failed, 121: "
		      "/dev/kvm was openable, 127: exec failed): %s",
		      f.buf);
	}
	if (prog)
		unlink(prog);
	if (payload)
		unlink(payload);
}

/* A number from the --json summary line, or -1. */
static double json_num(const char *out, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(out, pat);
	return at ? strtod(at + strlen(pat), NULL) : -1;
}

/* bootchurn on the pc machine; returns a figure of its summary (or -1). */
static double bootchurn(const char *key, const char *cycles, const char *extra1,
			const char *extra2, const char *extra3)
{
	char cmd[64];
	const char *args[] = {
		"--socket",  srv.s_sock,  "--payload", guest_path("bootchurn"),
		"--machine", "pc",	  "--memory",  "64",
		"--json",    "--cmdline", cmd,	       extra1,
		extra2,	     extra3,	  NULL};
	struct fe f;
	int code;

	snprintf(cmd, sizeof(cmd), "cycles=%s vga=4", cycles);
	CHECK(fe_spawn(&f, args, 0, 0) == 0, "spawn");
	code = fe_wait(&f);
	CHECK(code == 0 && strstr(f.buf, "vga toggles: ok"),
	      "bootchurn %s %s %s cycles=%s: exit %d: %s", extra1, extra2,
	      extra3 ? extra3 : "", cycles, code, f.buf);
	return code == 0 ? json_num(f.buf, key) : -1;
}

static void test_pc_machine(void)
{
	const char *io = "memslot_ioctls", *pf = "pf_taken_churn";
	double lazy0, lazy8, eager8, pf_all, pf_memslot;

	bootchurn(io, "2", "--zap-mode", "memslot", "--allones=rom");
	lazy0 = bootchurn(io, "0", "--zap-mode", "all", NULL);
	lazy8 = bootchurn(io, "8", "--zap-mode", "all", NULL);
	eager8 = bootchurn(io, "8", "--pci-commit", "eager", NULL);
	printf("test_frontend: bootchurn memslot ioctls: lazy 0 cycles %.0f, "
	       "lazy 8 cycles %.0f, eager 8 cycles %.0f\n",
	       lazy0, lazy8, eager8);
	CHECK(lazy0 > 0 && lazy8 == lazy0,
	      "sizing cycles with no net change cost no ioctl (%.0f vs %.0f)",
	      lazy8, lazy0);
	CHECK(eager8 > lazy8, "eager commit pays for every cycle (%.0f)",
	      eager8);
	/*
	 * Eager commit moves BARs under a guest that has touched its RAM:
	 * zap-all makes it refault (every page on the TDP MMU, about one in
	 * 8 on the shadow MMU), a targeted zap does not.
	 */
	pf_all = bootchurn(pf, "2", "--pci-commit", "eager", NULL);
	pf_memslot = bootchurn(pf, "2", "--pci-commit", "eager",
			       "--zap-mode=memslot");
	printf("test_frontend: bootchurn faults after the first touch of RAM "
	       "(eager): zap all %.0f, memslot %.0f\n",
	       pf_all, pf_memslot);
	CHECK(pf_all > 10 * pf_memslot + 100,
	      "targeted zaps spare the RAM's mappings (%.0f vs %.0f)", pf_all,
	      pf_memslot);
}

/*
 * The sandbox: started as root, the frontend becomes nobody; and even
 * staying root (--user root), seccomp refuses to open /dev/kvm.
 */
static void test_sandbox(void)
{
	const char *def[] = {"--socket",	   srv.s_sock,
			     "--payload",	   guest_path("hello"),
			     "--selftest-sandbox", NULL};
	const char *root[] = {"--socket",
			      srv.s_sock,
			      "--payload",
			      guest_path("hello"),
			      "--selftest-sandbox",
			      "--user",
			      "root",
			      NULL};
	struct fe f;

	CHECK(fe_spawn(&f, def, 0, 0) == 0 && fe_wait(&f) == 0, "default run");
	CHECK(strstr(f.buf, "sandbox: uid 65534,") &&
		      strstr(f.buf, "Hello from a CPL3 guest"),
	      "root becomes nobody and the guest still runs: %s", f.buf);
	CHECK(fe_spawn(&f, root, 0, 0) == 0 && fe_wait(&f) == 0, "as root");
#ifdef KVMMU_SANITIZE
	printf("SKIP test_frontend seccomp check: the sanitizer build "
	       "installs no filter (LeakSanitizer needs ptrace)\n");
#else
	CHECK(strstr(f.buf, "sandbox: uid 0, open(/dev/kvm): Operation not "
			    "permitted"),
	      "seccomp refuses /dev/kvm even to root: %s", f.buf);
#endif
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The server's fd count once it has stopped changing (closes land). */
static int stable_fds(void)
{
	int last = -1, same = 0, n;

	while (same < 5) {
		n = proc_fd_count(srv.s_pid);
		same = n == last ? same + 1 : 0;
		last = n;
		sleep_ms(20);
	}
	return last;
}

/* Waits for the server to notice the kills and fall back to `want` fds. */
static int settle_fds(int want)
{
	int n = -1;

	for (int i = 0; i < 500; i++) {
		n = proc_fd_count(srv.s_pid);
		if (n == want)
			break;
		sleep_ms(10);
	}
	return n;
}

/*
 * Runs vmm-frontend as root with args, its stderr into f's pipe too:
 * what it says about a crashed vCPU goes there.
 */
static int fe_spawn_all(struct fe *f, const char *const *args)
{
	const char *argv[32] = {"vmm-frontend"};
	int p[2], n = 1;

	for (; *args && n < 30; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	f->len = 0;
	f->buf[0] = '\0';
	f->pid = fork();
	if (f->pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(bin_path("vmm-frontend"), (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	f->out = p[0];
	return f->pid > 0 ? 0 : -errno;
}

/* The line of out that holds needle, for a message. */
static void line_of(const char *out, const char *needle, char *line,
		    size_t size)
{
	const char *at = strstr(out, needle);
	size_t n;

	line[0] = '\0';
	if (at == NULL)
		return;
	n = strcspn(at, "\n");
	snprintf(line, size, "%.*s", (int)n, at);
}

/*
 * A crash of one vCPU ends the run at once: vCPU 0 of the crash payload
 * faults (ud2, or a jump to a non-canonical address) while vCPUs 1-3
 * spin in the guest and never exit.  Before, the frontend waited for the
 * others until its timeout.  The bound is for correctness (a run ended
 * by the crash, not by the 120 s timeout), not a speed claim: the VM
 * runner's emulated KVM takes seconds where hardware takes milliseconds.
 */
static void test_crash(void)
{
	const char *cmdlines[] = {"", "jump=0x8000000000000000"};
	int fds0 = stable_fds(), fds1;

	for (size_t i = 0; i < sizeof(cmdlines) / sizeof(cmdlines[0]); i++) {
		const char *args[] = {
			"--socket",	     srv.s_sock, "--payload",
			guest_path("crash"), "--vcpus",	 "4",
			"--timeout",	     "120",	 "--cmdline",
			cmdlines[i],	     NULL};
		struct timespec t0, t1;
		char why[160];
		double secs;
		struct fe f;
		int code;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(fe_spawn_all(&f, args) == 0, "spawn");
		code = fe_wait(&f);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		line_of(f.buf, "vmm-frontend: vcpu 0: ", why, sizeof(why));
		printf("test_frontend: crash '%s': exit %d after %.2f s: %s\n",
		       cmdlines[i], code, secs, why);
		CHECK(strstr(f.buf, "crash: 3 vCPU(s) spinning"),
		      "vCPUs 1-3 ran before vCPU 0 crashed: %s", f.buf);
		CHECK(code == 125, "a crashed vCPU exits 125: %d: %s", code,
		      f.buf);
		CHECK(why[0] && strstr(f.buf, "vcpu 0 crashed: ending the run"),
		      "the frontend names vCPU 0 and its exit: %s", f.buf);
		CHECK(secs < 30,
		      "the crash ends the run at once: %.1f s of a "
		      "120 s timeout",
		      secs);
	}
	/* DestroyVm stopped the spinning vCPUs: their fds are closed. */
	fds1 = settle_fds(fds0);
	CHECK(fds1 == fds0, "server fds back to %d after the crashes: %d", fds0,
	      fds1);
}

static void test_kills(void)
{
	const char *args[] = {
		"--socket", srv.s_sock, "--payload", guest_path("memtouch"),
		"--memory", "64",	"--cmdline", "passes=1000000",
		NULL};
	const char *warm[] = {
		"--socket", srv.s_sock, "--payload", guest_path("memtouch"),
		"--memory", "64",	NULL};
	int fds0, fds1;
	long rss0, rss1, peak = 0;
	struct fe f;

	/* One full run first so allocator arenas and caches exist. */
	CHECK(fe_spawn(&f, warm, 0, 0) == 0 && fe_wait(&f) == 0, "warm-up");
	fds0 = stable_fds(); /* the warm-up's connection is closed */
	rss0 = proc_rss_kib(srv.s_pid);
	for (int i = 0; i < 50; i++) {
		CHECK(fe_spawn(&f, args, 0, 0) == 0, "spawn %d", i);
		CHECK(fe_expect(&f, "running", 10000), "run %d: %s", i, f.buf);
		/*
		 * The guest is touching memory now: kill it once that shows
		 * (at once on hardware; emulated KVM takes longer), or after
		 * 3 s, so that every kill lands mid-run.
		 */
		for (int ms = 0; ms < 3000; ms += 5) {
			long rss = proc_rss_kib(srv.s_pid);

			peak = rss > peak ? rss : peak;
			if (rss > rss0 + 1024)
				break;
			sleep_ms(5);
		}
		kill(f.pid, SIGKILL);
		fe_wait(&f);
	}
	fds1 = settle_fds(fds0);
	rss1 = proc_rss_kib(srv.s_pid);
	printf("test_frontend: 50 kills: server fds %d -> %d, RSS %ld -> %ld "
	       "KiB (%ld KiB while a guest ran)\n",
	       fds0, fds1, rss0, rss1, peak);
	/* Guest RAM shows in the server's RSS, so a leak would show too. */
	CHECK(peak > rss0 + 1024, "RSS sees guest memory: %ld vs %ld", peak,
	      rss0);
	CHECK(fds1 == fds0, "server fds back to %d: %d", fds0, fds1);
#ifndef KVMMU_SANITIZE
	/* ASan's quarantine holds freed memory; LSan checks leaks instead. */
	CHECK(rss1 - rss0 < 8 * 1024, "server RSS grew %ld KiB", rss1 - rss0);
#endif
	CHECK(kill(srv.s_pid, 0) == 0, "server alive");
}

int main(int argc, char **argv)
{
	/*
	 * 4 KiB pages as the guest touches them: bootchurn's refaults are
	 * counted per 4 KiB page, and guests here take their time faulting
	 * (a huge-backed memtouch ends before its fds can be looked at);
	 * kvm.backing covers huge backing.
	 */
	const char *args[] = {"--socket-group", "nogroup", "--ram-backing",
			      "4k", NULL};

	require_kvm("test_frontend");
	CHECK(srv_start(&srv, args) == 0, "server start");
	if (argc > 1 && strcmp(argv[1], "bootchurn") == 0) {
		/* kvm.bootchurn: the part that runs on every MMU. */
		test_pc_machine();
	} else {
		test_hello();
		test_memtouch();
		test_crash();
		test_unprivileged();
		test_sandbox();
		test_kills();
	}
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_frontend");
}
