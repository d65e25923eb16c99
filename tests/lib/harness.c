/*
 * harness.c: start/stop a real mmu-server for tests and benchmarks.
 * Trust: test code.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#include "exits.h"
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
/* The tests' exit_handler (exits.h): see serve_vcpu. */
static bool serve_one(void *arg, const Kvmmu__VcpuExit *ex, uint8_t *data,
		      size_t cap, size_t *len)
{
	const Kvmmu__IoExit *io = ex->io;
	struct served *s = arg;
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
		if (*len > cap)
			return true;
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
	struct pollfd pfd = {.fd = chan, .events = POLLIN};
	int r = 0;

	while (r == 0) {
		if (wire_poll(&pfd, 1, timeout_ms, WIRE_DEFAULT_SPIN_US) <= 0)
			return -ETIMEDOUT;
		r = exit_serve(chan, -1, serve_one, s);
	}
	return r < 0 ? r : 0;
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
	int fd = wire_connect(path);

	return fd < 0 ? -1 : fd;
}

bool reply_or_hangup(int fd, int timeout_ms, bool *err)
{
	static uint8_t buf[WIRE_MAX_MSG];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int fds[WIRE_MAX_FDS];
	Kvmmu__Reply *rep;
	size_t nfds;
	ssize_t n;

	*err = true;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	n = wire_recv(fd, buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	/* Hung up on us: closing with our next request unread resets. */
	if (n <= 0)
		return n == 0 || n == -ECONNRESET;
	rep = kvmmu__reply__unpack(NULL, (size_t)n, buf);
	*err = rep == NULL || rep->error != NULL;
	if (rep)
		kvmmu__reply__free_unpacked(rep, NULL);
	return true;
}

int linger_socket(int *listener)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct linger lg = {1, 30};
	socklen_t alen = sizeof(a);
	static char junk[1 << 16];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(l >= 0 && s >= 0 &&
		      bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		      listen(l, 1) == 0 &&
		      getsockname(l, (struct sockaddr *)&a, &alen) == 0 &&
		      connect(s, (struct sockaddr *)&a, sizeof(a)) == 0,
	      "loopback TCP connection");
	fcntl(s, F_SETFL, O_NONBLOCK);
	while (send(s, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	fcntl(s, F_SETFL, 0);
	CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0,
	      "SO_LINGER 30 s");
	*listener = l;
	return s;
}
