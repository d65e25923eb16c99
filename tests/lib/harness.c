/*
 * harness.c: start/stop a real mmu-server for tests and benchmarks.
 * Trust: test code.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "boot.h"
#include "client.h"
#include "guest.h"
#include "harness.h"
#include "kvmmu.pb-c.h"
#include "wire.h"

int checks_passed, checks_failed;

void require_kvm(const char *test)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return;
	}
	printf("SKIP %s: /dev/kvm cannot be opened (%s); this test needs "
	       "KVM\n",
	       test, strerror(errno));
	exit(SKIP_CODE);
}

const char *bin_path(const char *prog)
{
	static char buf[4][512];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 512, "%s/%s", KVMMU_BIN_DIR, prog);
	return p;
}

const char *guest_path(const char *payload)
{
	static char buf[4][512];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 512, "%s/%s.bin", KVMMU_GUEST_DIR, payload);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Whether a unix socket bound at path listens, from /proc/net/unix (its
 * __SO_ACCEPTCON flag), without connecting: a probe connection would
 * show in the server's fds and counters.
 */
static bool unix_listening(const char *path)
{
	char line[512], name[256];
	unsigned flags;
	bool yes = false;
	FILE *f = fopen("/proc/net/unix", "re");

	while (f != NULL && !yes && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %255s", &flags,
			   name) == 2)
			yes = (flags & 0x10000) && strcmp(name, path) == 0;
	}
	if (f != NULL)
		fclose(f);
	return yes;
}

int srv_start(struct srv *s, const char *const *extra)
{
	const char *argv[32] = {"mmu-server", "-d", "--socket", NULL};
	int n = 4;

	snprintf(s->s_dir, sizeof(s->s_dir), "/tmp/kvmmu-test.XXXXXX");
	if (mkdtemp(s->s_dir) == NULL)
		return -errno;
	chmod(s->s_dir, 0755); /* unprivileged frontends must reach it */
	snprintf(s->s_sock, sizeof(s->s_sock), "%s/mmu.sock", s->s_dir);
	argv[3] = s->s_sock;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	s->s_pid = fork();
	if (s->s_pid < 0)
		return -errno;
	if (s->s_pid == 0) {
		execv(bin_path("mmu-server"), (char *const *)argv);
		_exit(127);
	}
	/*
	 * Ready when the socket listens: its file exists from bind(), a
	 * moment before listen(), and an emulated CPU makes that long.
	 */
	for (int i = 0; i < 1000; i++) {
		if (unix_listening(s->s_sock))
			return 0;
		if (waitpid(s->s_pid, NULL, WNOHANG) == s->s_pid)
			return -ECHILD;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int srv_stop(struct srv *s)
{
	int status = -1;

	if (s->s_pid <= 0)
		return -1;
	kill(s->s_pid, SIGTERM);
	waitpid(s->s_pid, &status, 0);
	s->s_pid = 0;
	rmdir(s->s_dir); /* the server unlinks its socket */
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int pin_cpu(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) < 0 ? -errno : 0;
}

int proc_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

int checks_report(const char *test)
{
	printf("%s: %d passed, %d failed\n", test, checks_passed,
	       checks_failed);
	return checks_failed ? 1 : 0;
}

/* Fills the answer to one exit; true when the guest is done. */
static bool serve_one(const Kvmmu__VcpuExit *ex, struct served *s,
		      uint8_t *data, size_t *len)
{
	const Kvmmu__IoExit *io = ex->io;
	uint32_t v = 0;

	*len = 0;
	if (ex->reason == KVMMU__EXIT_REASON__EXIT_MMIO && ex->mmio) {
		s->sv_mmio++;
		*len = ex->mmio->write ? 0 : ex->mmio->len;
		memset(data, 0xff, 8);
		return false;
	}
	if (ex->reason != KVMMU__EXIT_REASON__EXIT_IO || io == NULL)
		return true; /* shutdown, internal error: nothing to serve */
	s->sv_io++;
	if (!io->out) {
		*len = (size_t)io->size * io->count;
		memset(data, io->port == GUEST_PORT_SERIAL + 5 ? 0x60 : 0,
		       *len);
		return false;
	}
	memcpy(&v, io->data.data, io->data.len < 4 ? io->data.len : 4);
	if (io->port == GUEST_PORT_NULL)
		s->sv_null++;
	if (io->port == GUEST_PORT_REPORT && s->sv_nreports < 8)
		s->sv_reports[s->sv_nreports++] = v;
	if (io->port == GUEST_PORT_EXIT) {
		s->sv_status = v;
		return true;
	}
	return false;
}

int serve_vcpu(int chan, int timeout_ms, struct served *s)
{
	/* Per thread: tests serve several guests from several threads. */
	static _Thread_local uint8_t buf[WIRE_MAX_MSG];
	struct pollfd pfd = {.fd = chan, .events = POLLIN};
	Kvmmu__VcpuResume ans = KVMMU__VCPU_RESUME__INIT;
	uint8_t data[4096];
	int fds[WIRE_MAX_FDS];
	size_t nfds, len;

	for (;;) {
		Kvmmu__VcpuExit *ex;
		ssize_t n;
		bool done;

		if (wire_poll(&pfd, 1, timeout_ms, WIRE_DEFAULT_SPIN_US) <= 0)
			return -ETIMEDOUT;
		n = wire_recv(chan, buf, fds, &nfds);
		wire_close_fds(fds, nfds);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)
			return -EPIPE;
		ex = kvmmu__vcpu_exit__unpack(NULL, (size_t)n, buf);
		if (ex == NULL)
			return -EPROTO;
		done = serve_one(ex, s, data, &len);
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
		ans.has_stop = 1;
		ans.stop = done;
		ans.has_data = len > 0;
		ans.data.data = data;
		ans.data.len = len;
		if (wire_send(chan, &ans.base, NULL, 0) < 0)
			return -EPIPE;
		if (done)
			return 0;
	}
}

int test_boot(struct client *cl, struct boot *b, struct boot_spec *bs,
	      const char *payload, char *err, size_t errlen)
{
	void *img;
	int r;

	r = guest_load_file(guest_path(payload), &img, &bs->bs_len, err,
			    errlen);
	if (r < 0)
		return r;
	bs->bs_payload = img;
	r = boot_vm(cl, b, bs, err, errlen);
	free(img);
	bs->bs_payload = NULL;
	return r;
}

uint64_t vm_stat(struct client *cl, uint32_t vm, const char *name,
		 Kvmmu__ZapControl *zap)
{
	Kvmmu__Reply *rep;
	uint64_t v = ~0ULL;

	if (client_get_stats(cl, vm, &rep) < 0)
		return v;
	stats_find(rep->stats, -1, name, &v);
	if (zap != NULL && rep->stats->zap != NULL)
		*zap = *rep->stats->zap;
	client_free_reply(rep);
	return v;
}

uint64_t vcpu_stat_sum(struct client *cl, uint32_t vm, const char *name)
{
	Kvmmu__Reply *rep;
	uint64_t v;

	if (client_get_stats(cl, vm, &rep) < 0)
		return ~0ULL;
	v = stats_vcpu_sum(rep->stats, name);
	client_free_reply(rep);
	return v;
}

bool vm_tdp_mmu(struct client *cl, uint32_t vm)
{
	return vm_stat(cl, vm, "host.tdp_mmu", NULL) == 1;
}

int raw_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}
