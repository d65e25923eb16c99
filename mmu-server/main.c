/*
 * main.c: mmu-server, the privileged daemon that owns /dev/kvm, every VM's
 * memslots, guest memory and vCPU threads, and serves unprivileged
 * frontends over a unix socket.
 * Trust: privileged (root or the kvm group); peers are untrusted.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "admin.h"
#include "release.h"
#include "server.h"
#include "wire.h"

#define DEFAULT_MAX_VMS		8
#define DEFAULT_MAX_RAM_MIB	(32 * 1024)
#define DEFAULT_MAX_VCPUS	64
#define DEFAULT_UID_MAX_VMS	32
#define DEFAULT_UID_MAX_RAM_MIB (64 * 1024)

struct options {
	const char *socket;
	const char *group;
	bool foreground;
	int verbose;
	unsigned max_vms;
	uint64_t max_ram_mib;
	unsigned max_vcpus;
	unsigned uid_max_vms;
	uint64_t uid_max_ram_mib;
	unsigned spin_us;
	unsigned fail_tx_ioctl;
	bool check_kvm;
	struct admin_opts admin;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: mmu-server --socket PATH [-d] [-v] [--socket-group G]\n"
		"                  [--max-vms N] [--max-ram-mib N] "
		"[--max-vcpus N] [--poll-us N]\n"
		"       mmu-server --check-kvm\n"
		"  --check-kvm        say whether this host can run kvmmu "
		"(/dev/kvm, API,\n"
		"                     quirk probe) and exit 0 if it can\n"
		"  -d                 stay in the foreground, log to stderr\n"
		"  --socket-group G   let group G connect (mode 0660); "
		"default 0600\n"
		"  --max-vms N        VMs per connection (default %d)\n"
		"  --max-ram-mib N    guest RAM per connection (default %d)\n"
		"  --max-vcpus N      vCPUs per VM (default %d, capped by "
		"KVM)\n"
		"  --uid-max-vms N    VMs per uid over all its connections "
		"(default %d)\n"
		"  --uid-max-ram-mib N  guest RAM per uid (default %d)\n"
		"  --poll-us N        busy-poll before sleeping on a socket "
		"(default %d, 0 = off)\n"
		"  --admin-socket P   serve the gRPC admin API on unix socket "
		"P\n"
		"  --admin-group G    let group G use it (mode 0660); default "
		"0600\n"
		"  --admin-listen A   also on loopback TCP A "
		"(127.0.0.1:PORT)\n"
		"  --fail-tx-ioctl N  testing only: the Nth memslot ioctl of "
		"every transaction\n"
		"                     fails with EIO, to exercise rollback\n",
		DEFAULT_MAX_VMS, DEFAULT_MAX_RAM_MIB, DEFAULT_MAX_VCPUS,
		DEFAULT_UID_MAX_VMS, DEFAULT_UID_MAX_RAM_MIB,
		WIRE_DEFAULT_SPIN_US);
	exit(2);
}

static unsigned long long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v == 0) {
		fprintf(stderr,
			"mmu-server: %s: '%s' is not a positive "
			"number\n",
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
		{"fail-tx-ioctl", required_argument, NULL, 'F'},
		{"admin-socket", required_argument, NULL, 'a'},
		{"admin-group", required_argument, NULL, 'G'},
		{"admin-listen", required_argument, NULL, 'L'},
		{"check-kvm", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	o->max_vms = DEFAULT_MAX_VMS;
	o->max_ram_mib = DEFAULT_MAX_RAM_MIB;
	o->max_vcpus = DEFAULT_MAX_VCPUS;
	o->uid_max_vms = DEFAULT_UID_MAX_VMS;
	o->uid_max_ram_mib = DEFAULT_UID_MAX_RAM_MIB;
	o->spin_us = WIRE_DEFAULT_SPIN_US;
	while ((ch = getopt_long(argc, argv, "dv", longopts, NULL)) != -1) {
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
			break;
		case 'C':
			o->max_vcpus =
				(unsigned)parse_num(optarg, "--max-vcpus");
			break;
		case 'P':
			o->spin_us = (unsigned)strtoul(optarg, NULL, 0);
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
			o->uid_max_vms =
				(unsigned)parse_num(optarg, "--uid-max-vms");
			break;
		case 'u':
			o->uid_max_ram_mib =
				parse_num(optarg, "--uid-max-ram-mib");
			break;
		case 'F':
			o->fail_tx_ioctl =
				(unsigned)parse_num(optarg, "--fail-tx-ioctl");
			break;
		case 'K':
			o->check_kvm = true;
			break;
		default:
			usage();
		}
	}
	if (o->check_kvm && optind == argc)
		return;
	if (o->socket == NULL || optind != argc)
		usage();
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(s->s_base, NULL);
}

static void server_limits(struct server *s, const struct options *o)
{
	unsigned kvm_max = (unsigned)s->s_kh.kh_max_vcpus;

	s->s_lim.max_vcpus = o->max_vcpus < kvm_max ? o->max_vcpus : kvm_max;
	s->s_lim.max_ram_bytes = o->max_ram_mib << 20;
	s->s_lim.phys_bits = s->s_kh.kh_phys_bits;
	s->s_max_vms = o->max_vms;
	s->s_max_ram = o->max_ram_mib << 20;
	s->s_uid_max_vms = o->uid_max_vms;
	s->s_uid_max_ram = o->uid_max_ram_mib << 20;
	s->s_spin_us = o->spin_us;
	s->s_fail_tx_ioctl = o->fail_tx_ioctl;
}

/*
 * --check-kvm: what the README's commands ask before they decide to run
 * here or inside a VM (deploy/vm/run).  One line, exit 0 when usable.
 */
static int check_kvm(void)
{
	struct kvm_host kh;
	int r = kvm_host_open(&kh, "/dev/kvm");

	if (r < 0) {
		printf("no usable KVM: /dev/kvm: %s\n", strerror(-r));
		return 1;
	}
	printf("KVM usable: API %d, %s MMU, KVM_CAP_DISABLE_QUIRKS2 mask "
	       "0x%llx (zap mode memslot: %s)\n",
	       KVM_API_VERSION, kh.kh_mmu, (unsigned long long)kh.kh_quirks2,
	       vm_zap_supported(&kh) ? "available"
				     : "not offered by this kernel");
	kvm_host_close(&kh);
	return 0;
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
		return check_kvm();
	log_init("mmu-server", true, o.verbose);
	signal(SIGPIPE, SIG_IGN);
	vcpu_signals_init();
	TAILQ_INIT(&s.s_conns);
	TAILQ_INIT(&s.s_vms);
	r = kvm_host_open(&s.s_kh, "/dev/kvm");
	if (r < 0)
		fatal("/dev/kvm: %s", strerror(-r));
	server_limits(&s, &o);
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
	if (o.fail_tx_ioctl)
		log_warn("--fail-tx-ioctl %u: transactions will fail (testing "
			 "only)",
			 o.fail_tx_ioctl);
	log_info("listening on %s (%d memslots, %u vCPUs/VM, %u-bit GPAs, "
		 "quirks2 mask 0x%llx)",
		 o.socket, s.s_kh.kh_nr_slots, s.s_lim.max_vcpus,
		 s.s_lim.phys_bits, (unsigned long long)s.s_kh.kh_quirks2);
	event_base_dispatch(s.s_base);

	admin_stop(admin); /* no admin call may see a VM being destroyed */
	control_shutdown(&s);
	release_stop(2000);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(s.s_base);
	kvm_host_close(&s.s_kh);
	log_info("stopped");
	return 0;
}
