/*
 * main.c: mmu-server, the privileged daemon that owns /dev/kvm, every VM's
 * memslots, guest memory and vCPU threads, and serves unprivileged
 * frontends over a unix socket.
 * Trust: privileged (root or the kvm group); peers are untrusted.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "control.h"
#include "exitchan.h"
#include "file.h"
#include "log.h"
#include "num.h"
#include "probe.h"
#include "ram.h"
#include "release.h"
#include "rpc.h"
#include "server.h"
#include "wire.h"

#define DEFAULT_MAX_VMS 8

struct options {
	const char *socket;
	const char *group;
	bool foreground;
	int verbose;
	unsigned max_vms;
	uint64_t max_ram_mib;
	struct quota_limits quota; /* --limit, --uid-limit */
	unsigned spin_us;
	unsigned fail_tx_ioctl;
	unsigned release_delay_ms;
	bool check_kvm;
	bool probe_fault;
	enum ram_backing ram_backing;
	struct admin_opts admin;
};

/*
 * --help prints this on stdout and exits 0; a bad argument prints it on
 * stderr and exits 2 (mmu-server(8), EXIT STATUS), before anything starts.
 */
static void usage(FILE *out, int code)
{
	struct quota_limits ql;

	quota_defaults(&ql);
	fprintf(out,
		"usage: mmu-server --socket PATH [-d] [-v] [--socket-group G] "
		"[--max-vms N]\n"
		"                  [--max-ram-mib N] [--max-vcpus N] "
		"[--limit NAME=N]\n"
		"                  [--uid-limit NAME=N] [--uid-max-vms N] "
		"[--uid-max-ram-mib N]\n"
		"                  [--poll-us N] [--ram-backing 4k|huge] "
		"[--admin-socket PATH]\n"
		"                  [--admin-group G] [--admin-listen ADDR]\n"
		"       mmu-server --check-kvm [--probe-fault]\n"
		"       mmu-server --help\n"
		"  --socket PATH      the frontends' control socket; a missing "
		"directory of its\n"
		"                     path is made, mode 0755\n"
		"  -d                 stay in the foreground, log to stderr "
		"(else daemonize,\n"
		"                     log to syslog)\n"
		"  -v                 log debug lines too\n"
		"  --socket-group G   let group G connect (mode 0660); "
		"default 0600\n"
		"  --max-vms N        VMs per connection (default %d)\n"
		"  --max-ram-mib N    guest RAM per connection (default %d)\n"
		"  --max-vcpus N      vCPUs per VM (default %d, capped by "
		"KVM)\n"
		"  --limit NAME=N     bound per VM, --uid-limit NAME=N per "
		"uid over all its\n"
		"                     connections; NAME: conns vms vcpus "
		"ram_mib fds regions\n"
		"                     memslots mappings span_mib doorbells "
		"msi_routes\n"
		"                     (defaults: ARCHITECTURE.md)\n"
		"  --uid-max-vms N    --uid-limit vms=N\n"
		"  --uid-max-ram-mib N  --uid-limit ram_mib=N\n"
		"  --poll-us N        busy-poll before sleeping on a socket "
		"(default %d; 0: off)\n"
		"  --ram-backing B    guest RAM in huge (2 MiB) pages as the "
		"guest touches them\n"
		"                     (the default, where the host can) or 4k "
		"pages\n"
		"  --admin-socket P   serve the gRPC admin API on unix socket "
		"P\n"
		"  --admin-group G    let group G use it (mode 0660); default "
		"0600\n"
		"  --admin-listen A   also on loopback TCP A "
		"(127.0.0.1:PORT)\n"
		"  --check-kvm        say in one line what this host's KVM can "
		"run, and exit\n"
		"  --probe-fault      (tests) the probe guest triple-faults "
		"on purpose\n"
		"  --fail-tx-ioctl N  testing only: the Nth memslot ioctl of "
		"every transaction\n"
		"                     fails with EIO, to exercise rollback\n"
		"  --release-delay-ms N  testing only: each close of a "
		"frontend's fd waits\n"
		"                     N ms, as on a slow filesystem\n"
		"  -h, --help         this text\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT, 1 failed to "
		"start, 2 bad\n"
		"arguments; --check-kvm: 0 full KVM, 3 kvmmu's payloads only, "
		"1 none.\n"
		"See mmu-server(8).\n",
		DEFAULT_MAX_VMS, (int)(ql.ql_vm[QR_RAM] >> 20),
		(int)ql.ql_vm[QR_VCPUS], WIRE_DEFAULT_SPIN_US);
	exit(code);
}

static unsigned long long parse_num(const char *s, const char *what)
{
	uint64_t v;

	if (num_parse(s, &v) < 0 || v == 0) {
		fprintf(stderr,
			"mmu-server: %s: '%s' is not a positive "
			"number\n",
			what, s);
		exit(2);
	}
	return v;
}

static void parse_limit(struct quota_limits *ql, bool uid, const char *arg)
{
	struct verr e;

	if (quota_parse(ql, uid, arg, &e) < 0) {
		fprintf(stderr, "mmu-server: %s\n", e.msg);
		exit(2);
	}
}

/* A number where 0 is allowed (a microsecond count). */
static unsigned long long parse_num0(const char *s, const char *what)
{
	uint64_t v;

	if (num_parse(s, &v) < 0 || v > 1000000) {
		fprintf(stderr,
			"mmu-server: %s: '%s' is not a number in 0..1000000\n",
			what, s);
		exit(2);
	}
	return v;
}

/* The admin API is for operators: TCP only on a loopback address. */
static const char *loopback_only(const char *addr)
{
	if (strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 ||
	    strncmp(addr, "localhost:", 10) == 0)
		return addr;
	fprintf(stderr,
		"mmu-server: --admin-listen: '%s' is not a loopback "
		"address (127.x.x.x:PORT, [::1]:PORT, localhost:PORT)\n",
		addr);
	exit(2);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"socket-group", required_argument, NULL, 'g'},
		{"max-vms", required_argument, NULL, 'M'},
		{"max-ram-mib", required_argument, NULL, 'R'},
		{"max-vcpus", required_argument, NULL, 'C'},
		{"poll-us", required_argument, NULL, 'P'},
		{"uid-max-vms", required_argument, NULL, 'U'},
		{"uid-max-ram-mib", required_argument, NULL, 'u'},
		{"limit", required_argument, NULL, 'l'},
		{"uid-limit", required_argument, NULL, 'Q'},
		{"fail-tx-ioctl", required_argument, NULL, 'F'},
		{"release-delay-ms", required_argument, NULL, 'D'},
		{"admin-socket", required_argument, NULL, 'a'},
		{"admin-group", required_argument, NULL, 'G'},
		{"admin-listen", required_argument, NULL, 'L'},
		{"check-kvm", no_argument, NULL, 'K'},
		{"probe-fault", no_argument, NULL, 'f'},
		{"ram-backing", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	o->max_vms = DEFAULT_MAX_VMS;
	quota_defaults(&o->quota);
	o->max_ram_mib = o->quota.ql_vm[QR_RAM] >> 20;
	o->spin_us = WIRE_DEFAULT_SPIN_US;
	o->ram_backing = RAM_HUGE;
	while ((ch = getopt_long(argc, argv, "dvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'g':
			o->group = optarg;
			break;
		case 'd':
			o->foreground = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'M':
			o->max_vms = (unsigned)parse_num(optarg, "--max-vms");
			break;
		case 'R':
			o->max_ram_mib = parse_num(optarg, "--max-ram-mib");
			o->quota.ql_vm[QR_RAM] = o->max_ram_mib << 20;
			break;
		case 'C':
			o->quota.ql_vm[QR_VCPUS] =
				parse_num(optarg, "--max-vcpus");
			break;
		case 'P':
			o->spin_us = (unsigned)parse_num0(optarg, "--poll-us");
			break;
		case 'a':
			o->admin.ao_socket = optarg;
			break;
		case 'G':
			o->admin.ao_group = optarg;
			break;
		case 'L':
			o->admin.ao_listen = loopback_only(optarg);
			break;
		case 'U':
			o->quota.ql_uid[QR_VMS] =
				parse_num(optarg, "--uid-max-vms");
			break;
		case 'u':
			o->quota.ql_uid[QR_RAM] =
				parse_num(optarg, "--uid-max-ram-mib") << 20;
			break;
		case 'l':
		case 'Q':
			parse_limit(&o->quota, ch == 'Q', optarg);
			break;
		case 'F':
			o->fail_tx_ioctl =
				(unsigned)parse_num(optarg, "--fail-tx-ioctl");
			break;
		case 'K':
			o->check_kvm = true;
			break;
		case 'f':
			o->probe_fault = true;
			break;
		case 'B':
			if (ram_backing_parse(optarg) < 0) {
				fprintf(stderr,
					"mmu-server: --ram-backing: '%s' is "
					"neither huge nor 4k\n",
					optarg);
				exit(2);
			}
			o->ram_backing =
				(enum ram_backing)ram_backing_parse(optarg);
			break;
		case 'D':
			o->release_delay_ms = (unsigned)parse_num0(
				optarg, "--release-delay-ms");
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (o->check_kvm && optind == argc)
		return;
	if (o->socket == NULL || optind != argc)
		usage(stderr, 2);
}

/*
 * While stopping: the loop ends once every frontend has closed its
 * connection (each asks why its VM ended and is told), or after
 * STOP_GRACE_TICKS ticks all the same.
 */
#define STOP_TICK_MS	 50
#define STOP_GRACE_TICKS 40

static struct event *stop_tick; /* freed after the loop */

static void on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	static unsigned ticks;

	(void)fd;
	(void)what;
	if (TAILQ_EMPTY(&s->s_conns) || ++ticks >= STOP_GRACE_TICKS)
		event_base_loopexit(s->s_base, NULL);
}

/*
 * A stop never ends VMs silently: each is named in the log with its
 * owner, ended through the one teardown (rpc_vm_destroy), and its
 * frontend, asking why its exit channels closed, gets ESHUTDOWN and says
 * that mmu-server stopped.  A second signal ends the loop at once.
 */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	static const struct timeval tick = {0, STOP_TICK_MS * 1000};
	struct server *s = arg;
	struct vm *vm, *next;
	unsigned n = 0;

	(void)what;
	if (s->s_stopping) {
		log_info("signal %d again: stopping now", (int)sig);
		event_base_loopexit(s->s_base, NULL);
		return;
	}
	TAILQ_FOREACH(vm, &s->s_vms, vm_entry)
	n++;
	if (n == 0) {
		log_info("signal %d: shutting down (no VM runs)", (int)sig);
		event_base_loopexit(s->s_base, NULL);
		return;
	}
	s->s_stopping = true;
	log_warn("signal %d: shutting down: ending %u VM%s, each named below; "
		 "their frontends are told this server stopped",
		 (int)sig, n, n == 1 ? "" : "s");
	TAILQ_FOREACH_SAFE(vm, &s->s_vms, vm_entry, next)
	{
		log_warn("stop: ending vm %u '%s' (uid %u, frontend pid %d)",
			 vm->vm_id, vm->vm_name,
			 vm->vm_owner ? (unsigned)vm->vm_owner->o_uid : 0u,
			 (int)vm->vm_client_pid);
		rpc_vm_destroy(vm->vm_client, vm, VM_END_STOP, NULL);
	}
	stop_tick = event_new(s->s_base, -1, EV_PERSIST, on_stop_tick, s);
	if (stop_tick == NULL || event_add(stop_tick, &tick) < 0)
		event_base_loopexit(s->s_base, NULL);
}

static void server_limits(struct server *s, const struct options *o)
{
	unsigned kvm_max = (unsigned)s->s_kh.kh_max_vcpus;

	uint64_t want = o->quota.ql_vm[QR_VCPUS];

	s->s_lim.max_vcpus = want < kvm_max ? (unsigned)want : kvm_max;
	s->s_lim.max_ram_bytes = o->quota.ql_vm[QR_RAM];
	s->s_lim.phys_bits = s->s_kh.kh_phys_bits;
	s->s_max_vms = o->max_vms;
	s->s_max_ram = o->max_ram_mib << 20;
	s->s_quota = o->quota;
	/* The per-VM bounds that validate.c checks are the same numbers. */
	s->s_quota.ql_vm[QR_VCPUS] = s->s_lim.max_vcpus;
	s->s_quota.ql_vm[QR_RAM] = s->s_lim.max_ram_bytes;
	s->s_spin_us = o->spin_us;
	s->s_fail_tx_ioctl = o->fail_tx_ioctl;
}

/*
 * --check-kvm: what the README's commands ask before they decide where
 * each test runs (probe.h).  One line; the status is the verdict:
 * 0 a full KVM, 3 a KVM that runs only kvmmu's payloads, 1 none.
 */
#define EXIT_KVM_NONE	  1
#define EXIT_KVM_PAYLOADS 3

static int check_kvm(bool fault)
{
	const char *mod = probe_kvm_module();
	struct kvm_host kh;
	char why[200] = "";
	enum kvm_kind k;
	int r = kvm_host_open(&kh, "/dev/kvm");

	if (r < 0) {
		printf("KVM none: /dev/kvm: %s\n", strerror(-r));
		return EXIT_KVM_NONE;
	}
	k = probe_kind(&kh, fault ? PROBE_FAULT_STEP : 0, why, sizeof(why));
	printf("KVM %s: %s, %s MMU, API %d, KVM_CAP_DISABLE_QUIRKS2 mask "
	       "0x%llx (zap mode memslot: %s); probe guest: %s%s\n",
	       k == KVM_KIND_FULL ? "full"
				  : "payloads only (cannot run a stock kernel)",
	       mod ? mod : "unknown module", kh.kh_mmu, KVM_API_VERSION,
	       (unsigned long long)kh.kh_quirks2,
	       vm_zap_supported(&kh) ? "available"
				     : "not offered by this kernel",
	       why,
	       mod && strcmp(mod, "kvm_pvm") == 0
		       ? "; kvm_pvm emulates guest kernel code and stops a "
			 "stock kernel"
		       : "");
	kvm_host_close(&kh);
	return k == KVM_KIND_FULL ? 0 : EXIT_KVM_PAYLOADS;
}

/*
 * Every uid's connections and VMs hold fds: take the hard limit, so the
 * per-uid bounds (quota.h), not the soft default of 1024, decide.
 */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("RLIMIT_NOFILE: %s", strerror(errno));
	}
}

/*
 * A socket's directory, made when missing, mode 0755 as the unit's
 * RuntimeDirectory= makes /run/kvmmu: `--socket /run/kvmmu/mmu.sock`
 * works on a host where nothing made the directory yet.
 */
static void socket_dir(const char *opt, const char *path)
{
	char which[PATH_MAX];
	int r = file_mkdir_parents(path, 0755, which, sizeof(which));

	if (r < 0)
		fatal("%s %s: cannot make the directory %s: %s", opt, path,
		      which, strerror(-r));
}

int main(int argc, char **argv)
{
	struct event *ev_term, *ev_int;
	struct admin *admin = NULL;
	struct server s = {.s_listen = -1};
	struct options o = {0};
	int r;

	parse_args(argc, argv, &o);
	if (o.check_kvm)
		return check_kvm(o.probe_fault);
	log_init("mmu-server", true, o.verbose);
	signal(SIGPIPE, SIG_IGN);
	vcpu_signals_init();
	TAILQ_INIT(&s.s_conns);
	TAILQ_INIT(&s.s_vms);
	TAILQ_INIT(&s.s_owners);
	nofile_raise();
	r = kvm_host_open(&s.s_kh, "/dev/kvm");
	if (r < 0)
		fatal("/dev/kvm: %s", strerror(-r));
	server_limits(&s, &o);
	s.s_vcpu_forward = exitchan_forward; /* exits go to the frontend */
	s.s_base = event_base_new();
	/*
	 * Three priorities: 0 unused, 1 (the default) frontends, 2 the admin
	 * API, so a frontend never waits behind an operator's query.
	 */
	if (s.s_base == NULL || event_base_priority_init(s.s_base, 3) < 0)
		fatal("event_base_new failed");
	/*
	 * Signals first: a SIGTERM while the sockets and the admin API come
	 * up is held until the loop runs, then shuts down cleanly.
	 */
	ev_term = evsignal_new(s.s_base, SIGTERM, on_signal, &s);
	ev_int = evsignal_new(s.s_base, SIGINT, on_signal, &s);
	if (!ev_term || !ev_int || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0)
		fatal("cannot watch signals");
	/*
	 * Before the socket appears: whoever waits for it (tests, systemd
	 * ordering) then sees the probe's memfd come and go with no race.
	 */
	ram_host_init(o.ram_backing);
	socket_dir("--socket", o.socket);
	if (o.admin.ao_socket != NULL)
		socket_dir("--admin-socket", o.admin.ao_socket);
	r = control_listen(&s, o.socket, o.group);
	if (r < 0)
		fatal("listen on %s: %s", o.socket, strerror(-r));
	/*
	 * Daemonize before any thread starts (fork keeps only the caller's):
	 * the admin API's and the fd releaser's threads come after.
	 */
	if (!o.foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon: %s", strerror(errno));
		if (event_reinit(s.s_base) < 0)
			fatal("event_reinit failed");
		log_init("mmu-server", false, o.verbose);
	}
	/* Frontends' fds are closed off the loop: their close may block. */
	r = release_start();
	if (r < 0)
		fatal("fd releaser: %s", strerror(-r));
	wire_set_release(release_fd);
	if (o.admin.ao_socket != NULL || o.admin.ao_listen != NULL) {
		r = admin_start(&s, &o.admin, &admin);
		if (r < 0)
			fatal("admin API on %s: %s",
			      o.admin.ao_socket ? o.admin.ao_socket
						: o.admin.ao_listen,
			      strerror(-r));
	}
	if (o.release_delay_ms) {
		log_warn(
			"--release-delay-ms %u: closing fds is slowed (testing "
			"only)",
			o.release_delay_ms);
		release_set_delay_ms(o.release_delay_ms);
	}
	if (o.fail_tx_ioctl)
		log_warn("--fail-tx-ioctl %u: transactions will fail (testing "
			 "only)",
			 o.fail_tx_ioctl);
	/* One line: the backing every VM gets, or why not huge. */
	log_info("RAM backing: %s", ram_host()->rh_why);
	log_info("listening on %s (%d memslots, %u vCPUs/VM, %u-bit GPAs, "
		 "quirks2 mask 0x%llx)",
		 o.socket, s.s_kh.kh_nr_slots, s.s_lim.max_vcpus,
		 s.s_lim.phys_bits, (unsigned long long)s.s_kh.kh_quirks2);
	event_base_dispatch(s.s_base);

	admin_stop(admin); /* no admin call may see a VM being destroyed */
	control_shutdown(&s);
	release_stop(2000);
	if (stop_tick != NULL)
		event_free(stop_tick);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(s.s_base);
	kvm_host_close(&s.s_kh);
	log_info("stopped");
	return 0;
}
