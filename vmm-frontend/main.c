/*
 * main.c: vmm-frontend, the unprivileged half of a kvmmu VM.  It never
 * opens /dev/kvm: it asks mmu-server to create the VM, writes the guest
 * into the RAM memfd the server hands over, and runs the device models
 * for the exits the server forwards on each vCPU's channel.
 * Trust: unprivileged; guest-controlled data is checked before use.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "client.h"
#include "devices.h"
#include "domload.h"
#include "sandbox.h"
#include "guest.h"
#include "linux.h"
#include "frontend.h"
#include "num.h"
#include "wire.h"
#include "zap.h"

#define EXIT_VMM_ERROR	 1
#define EXIT_USAGE	 2
#define EXIT_GUEST_MAX	 124 /* guest statuses above this are clamped */
#define EXIT_GUEST_CRASH 125
#define EXIT_TIMEOUT	 126
#define EXIT_STOPPED	 143 /* as SIGTERM would: a signal, or libvirt */
/*
 * How long SIGTERM waits for a Linux guest to shut down: busybox init
 * takes a second or two, systemd a few; 30 s leaves room for a loaded
 * host and stays under systemd's stop timeout (90 s by default).
 */
#define DEFAULT_SHUTDOWN_S 30

/*
 * --help prints this on stdout and exits 0; a bad argument prints it on
 * stderr and exits EXIT_USAGE, before the server is asked anything.
 * The exit statuses are vmm-frontend(1)'s EXIT STATUS.
 */
static void usage(FILE *out, int code)
{
	fprintf(out,
		"usage: vmm-frontend --socket PATH (--payload FILE | --kernel "
		"BZIMAGE\n"
		"                    [--initrd FILE]) [--memory MiB] [--vcpus "
		"N]\n"
		"                    [--cmdline STR] [--name NAME] [--machine "
		"plain|pc]\n"
		"                    [--pci-devices N] [--pci-commit "
		"lazy|eager]\n"
		"                    [--zap-mode all|memslot] "
		"[--batch-window-us N]\n"
		"                    [--allones mmio|rom] [--timeout SEC] "
		"[--stats] [--json]\n"
		"                    [--shutdown-timeout SEC] [-q] [--poll-us "
		"N]\n"
		"                    [--mark-line TEXT] [--user USER] "
		"[--no-sandbox]\n"
		"                    [--disk PATH[,OPTS]]... [--vhost-user-blk "
		"SOCKET[,target=vdX]]...\n"
		"                    [--fs DIR,tag=TAG]... [--vhost-user-fs "
		"SOCKET,tag=TAG]...\n"
		"       vmm-frontend --socket PATH (--domain-xml FILE |\n"
		"                    --connect URI --domain NAME) [--timeout "
		"SEC] [--stats]\n"
		"                    [--json] [--shutdown-timeout SEC] [-q] "
		"[--poll-us N]\n"
		"                    [--pci-commit lazy|eager] [--user USER] "
		"[--no-sandbox]\n"
		"       vmm-frontend --help\n"
		"  --socket PATH         mmu-server's control socket\n"
		"  --payload FILE        a flat kvmmu payload "
		"(build/guest/*.bin)\n"
		"  --kernel BZIMAGE      a Linux bzImage, booted without "
		"firmware\n"
		"  --initrd FILE         the kernel's initramfs\n"
		"  --memory MiB          guest RAM, %llu..%llu (default 256)\n"
		"  --vcpus N             %d..%d (default 1)\n"
		"  --cmdline STR         the payload's key=value words (at "
		"most %d bytes),\n"
		"                        or the kernel's command line\n"
		"  --name NAME           the VM's name, [A-Za-z0-9._-] "
		"(default: the file's)\n"
		"  --machine plain|pc    pc: PCI devices, an option ROM, the "
		"VGA window\n"
		"  --pci-devices N       PCI devices with a 2 MiB BAR, 1..%d "
		"(default 8)\n"
		"  --pci-commit lazy|eager  config writes reach the server "
		"when a device\n"
		"                        decodes (lazy, the default), or each "
		"at once\n"
		"  --zap-mode all|memslot   the VM's zap control: what a "
		"memslot change zaps\n"
		"  --batch-window-us N   how long invalidations wait to merge, "
		"0..%u\n"
		"  --allones mmio|rom    how all-ones regions are served\n"
		"  --disk PATH[,format=raw|qcow2][,readonly][,target=vdX]\n"
		"                        a virtio-blk disk (vda, vdb, ... in "
		"order), served\n"
		"                        by a qemu-storage-daemon of its own "
		"(repeatable)\n"
		"  --vhost-user-blk SOCKET[,target=vdX]  a virtio-blk disk "
		"served by the\n"
		"                        vhost-user-blk back end listening at "
		"SOCKET\n"
		"  --fs DIR,tag=TAG      DIR shared with the guest as "
		"virtio-fs "
		"TAG (1..36 of\n"
		"                        [A-Za-z0-9._-], unique), served by a "
		"virtiofsd of its\n"
		"                        own, as the VM's user (repeatable)\n"
		"  --vhost-user-fs SOCKET,tag=TAG  a virtio-fs share served by "
		"the virtiofsd\n"
		"                        listening at SOCKET\n"
		"  --domain-xml FILE     the VM from a libvirt domain XML "
		"file ('-': stdin)\n"
		"  --connect URI         ... or from libvirt at URI, with "
		"--domain NAME\n"
		"  --timeout SEC         stop the guest after SEC s (exit "
		"126); 0: never\n"
		"  --shutdown-timeout SEC  SIGTERM asks a Linux guest to shut "
		"down\n"
		"                        (CTRL+ALT+DEL) and stops it after SEC "
		"s "
		"(default %d);\n"
		"                        0: SIGTERM stops at once, as SIGINT "
		"does\n"
		"  --stats               every non-zero statistic at the end\n"
		"  --json                one JSON line at the end instead of "
		"the summary\n"
		"  -q, --quiet           no start line, no report lines\n"
		"  --poll-us N           busy-poll before sleeping, 0..1000000 "
		"(default %d)\n"
		"  --mark-line TEXT      time the first console line that "
		"holds TEXT\n"
		"  --user USER           started as root, become USER (default "
		"nobody)\n"
		"  --no-sandbox          no privilege drop, no seccomp filter "
		"(debugging)\n"
		"  --selftest-sandbox    (tests) report from inside the "
		"sandbox\n"
		"  -h, --help            this text\n"
		"Exit status: the guest's (0..124; 0 too when a Linux guest "
		"shut "
		"down\n"
		"or rebooted), 125 the guest crashed, 126 --timeout, 143 "
		"stopped "
		"from\n"
		"outside (SIGINT, a second signal, a guest that did not shut "
		"down in\n"
		"--shutdown-timeout, libvirt, mmuctl destroy), 1 the VMM "
		"failed, "
		"2 bad\n"
		"arguments.  See vmm-frontend(1).\n",
		GUEST_MIN_RAM >> 20, GUEST_MAX_RAM >> 20, 1, GUEST_MAX_VCPUS,
		GUEST_CMDLINE_MAX - 1, GUEST_PCI_MAX_DEVS, ZAP_MAX_WINDOW_US,
		DEFAULT_SHUTDOWN_S, WIRE_DEFAULT_SPIN_US);
	exit(code);
}

static unsigned long long parse_num(const char *s, const char *what)
{
	uint64_t v;

	if (num_parse(s, &v) < 0) {
		fprintf(stderr, "vmm-frontend: %s: '%s' is not a number\n",
			what, s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* A number in lo..hi, else a usage error. */
static unsigned long long parse_range(const char *s, const char *what,
				      uint64_t lo, uint64_t hi)
{
	uint64_t v = parse_num(s, what);

	if (v < lo || v > hi) {
		fprintf(stderr, "vmm-frontend: %s: %s not in %llu..%llu\n",
			what, s, (unsigned long long)lo,
			(unsigned long long)hi);
		exit(EXIT_USAGE);
	}
	return v;
}

/* A VM name as mmu-server takes it (validate.c), else a usage error. */
static const char *parse_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > KVMMU_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") != len) {
		fprintf(stderr,
			"vmm-frontend: --name: '%s': VM names are 1..%d "
			"characters of [A-Za-z0-9._-]\n",
			s, KVMMU_NAME_MAX);
		exit(EXIT_USAGE);
	}
	return s;
}

/* 0 for the first word, 1 for the second; anything else is refused. */
/* 0 or 1 for w0 or w1 (else a usage error). */
static int parse_pair(const char *s, const char *what, const char *w0,
		      const char *w1)
{
	if (strcmp(s, w0) == 0)
		return 0;
	if (strcmp(s, w1) == 0)
		return 1;
	fprintf(stderr, "vmm-frontend: %s: '%s' is neither '%s' nor '%s'\n",
		what, s, w0, w1);
	exit(EXIT_USAGE);
}

/* A zap-control word through its parser (zap.h), else a usage error. */
static int parse_word(const char *s, const char *what,
		      int (*parse)(const char *))
{
	bool mode = parse == zap_mode_parse;
	int v = parse(s);

	if (v >= 0)
		return v;
	fprintf(stderr, "vmm-frontend: %s: '%s' is neither '%s' nor '%s'\n",
		what, s,
		mode ? zap_mode_name(KVMMU__ZAP_MODE__ZAP_ALL)
		     : zap_allones_name(KVMMU__ALL_ONES__ALLONES_MMIO),
		mode ? zap_mode_name(KVMMU__ZAP_MODE__ZAP_MEMSLOT)
		     : zap_allones_name(KVMMU__ALL_ONES__ALLONES_ROM));
	exit(EXIT_USAGE);
}

/* Remembers the first flag that describes the VM (see domload.c). */
static void note_vm_flag(struct options *o, const struct option *opts, int ch)
{
	if (o->vm_flag != NULL || ch <= 0 ||
	    strchr("pmclnMDZWAKIBVFQ", ch) == NULL)
		return;
	for (; opts->name; opts++) {
		if (opts->val == ch)
			o->vm_flag = opts->name;
	}
}

/*
 * A domain is the whole definition of its VM: flags that would describe
 * the VM too are refused, not merged, so that what runs is what libvirt
 * (or the file) shows.  Run-time flags (--timeout, --json, ...) are fine.
 */
static void check_domain_args(const struct options *o)
{
	const char *why = NULL;

	if (o->domain_xml && (o->connect || o->domain))
		why = "--domain-xml: not with --connect/--domain (a VM has "
		      "one definition)";
	else if (!o->domain_xml && (!o->connect || !o->domain))
		why = "--connect URI and --domain NAME go together";
	if (why == NULL && o->vm_flag == NULL)
		return;
	if (why)
		fprintf(stderr, "vmm-frontend: %s\n", why);
	else
		fprintf(stderr,
			"vmm-frontend: --%s: the domain defines the VM; change "
			"the domain (virsh edit, virsh metadata, the XML file) "
			"instead\n",
			o->vm_flag);
	exit(EXIT_USAGE);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"payload", required_argument, NULL, 'p'},
		{"memory", required_argument, NULL, 'm'},
		{"vcpus", required_argument, NULL, 'c'},
		{"cmdline", required_argument, NULL, 'l'},
		{"name", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"shutdown-timeout", required_argument, NULL, 'G'},
		{"stats", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},
		{"poll-us", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'J'},
		{"machine", required_argument, NULL, 'M'},
		{"pci-devices", required_argument, NULL, 'D'},
		{"pci-commit", required_argument, NULL, 'E'},
		{"zap-mode", required_argument, NULL, 'Z'},
		{"batch-window-us", required_argument, NULL, 'W'},
		{"allones", required_argument, NULL, 'A'},
		{"connect", required_argument, NULL, 'C'},
		{"domain", required_argument, NULL, 'O'},
		{"domain-xml", required_argument, NULL, 'X'},
		{"user", required_argument, NULL, 'U'},
		{"no-sandbox", no_argument, NULL, 'N'},
		{"selftest-sandbox", no_argument, NULL, 'T'},
		{"kernel", required_argument, NULL, 'K'},
		{"initrd", required_argument, NULL, 'I'},
		{"mark-line", required_argument, NULL, 'L'},
		{"disk", required_argument, NULL, 'B'},
		{"vhost-user-blk", required_argument, NULL, 'V'},
		{"fs", required_argument, NULL, 'F'},
		{"vhost-user-fs", required_argument, NULL, 'Q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char err[300];
	int ch;

	kvmmu__zap_control__init(&o->zap);
	o->pci_devices = 8;
	o->memory_mib = 256;
	o->spin_us = WIRE_DEFAULT_SPIN_US;
	o->user = "nobody"; /* started as root, run as nobody */
	o->vcpus = 1;
	o->shutdown_timeout_s = DEFAULT_SHUTDOWN_S;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		note_vm_flag(o, longopts, ch);
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'p':
			o->payload = optarg;
			break;
		case 'm':
			o->memory_mib = parse_range(optarg, "--memory",
						    GUEST_MIN_RAM >> 20,
						    GUEST_MAX_RAM >> 20);
			break;
		case 'c':
			o->vcpus = (unsigned)parse_range(optarg, "--vcpus", 1,
							 GUEST_MAX_VCPUS);
			break;
		case 'l':
			o->cmdline = optarg;
			break;
		case 'n':
			o->name = parse_name(optarg);
			break;
		case 't':
			o->timeout_s = (unsigned)parse_range(
				optarg, "--timeout", 0, UINT_MAX);
			break;
		case 'G':
			o->shutdown_timeout_s = (unsigned)parse_range(
				optarg, "--shutdown-timeout", 0, 3600);
			break;
		case 'S':
			o->stats = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'P':
			o->spin_us = (unsigned)parse_range(optarg, "--poll-us",
							   0, 1000000);
			break;
		case 'J':
			o->json = 1;
			break;
		case 'M':
			o->pc = parse_pair(optarg, "--machine", "plain", "pc");
			break;
		case 'E':
			o->eager = parse_pair(optarg, "--pci-commit", "lazy",
					      "eager");
			break;
		case 'D':
			o->pci_devices = (unsigned)parse_range(
				optarg, "--pci-devices", 1, GUEST_PCI_MAX_DEVS);
			break;
		case 'Z':
			o->zap.has_mode = 1;
			o->zap.mode = (Kvmmu__ZapMode)parse_word(
				optarg, "--zap-mode", zap_mode_parse);
			break;
		case 'W':
			o->zap.has_batch_window_us = 1;
			o->zap.batch_window_us = (uint32_t)parse_range(
				optarg, "--batch-window-us", 0,
				ZAP_MAX_WINDOW_US);
			break;
		case 'A':
			o->zap.has_allones = 1;
			o->zap.allones = (Kvmmu__AllOnes)parse_word(
				optarg, "--allones", zap_allones_parse);
			break;
		case 'C':
			o->connect = optarg;
			break;
		case 'O':
			o->domain = optarg;
			break;
		case 'X':
			o->domain_xml = optarg;
			break;
		case 'U':
			o->user = optarg;
			break;
		case 'N':
			o->no_sandbox = 1;
			break;
		case 'T':
			o->selftest_sandbox = 1;
			break;
		case 'K':
			o->kernel = optarg;
			break;
		case 'I':
			o->initrd = optarg;
			break;
		case 'L':
			o->mark = optarg;
			break;
		case 'B':
		case 'V':
			if (disks_parse(&o->disks, optarg, ch == 'V', err,
					sizeof(err)) < 0) {
				fprintf(stderr, "vmm-frontend: %s\n", err);
				exit(EXIT_USAGE);
			}
			break;
		case 'F':
		case 'Q':
			if (shares_parse(&o->shares, optarg, ch == 'Q', err,
					 sizeof(err)) < 0) {
				fprintf(stderr, "vmm-frontend: %s\n", err);
				exit(EXIT_USAGE);
			}
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	if (!o->socket || optind != argc)
		usage(stderr, EXIT_USAGE);
	if (o->connect || o->domain || o->domain_xml)
		check_domain_args(o);
	else if (!o->payload == !o->kernel || (o->initrd && !o->kernel))
		usage(stderr, EXIT_USAGE);
	if (o->kernel)
		o->pc = 1; /* Linux wants a PCI host bridge and the PC's ports
			    */
	if (disks_targets(&o->disks, err, sizeof(err)) < 0 ||
	    (o->disks.ds_n && !o->pc &&
	     snprintf(err, sizeof(err), "--disk: needs --machine pc") > 0) ||
	    (o->shares.ss_n && !o->pc &&
	     snprintf(err, sizeof(err), "--fs: needs --machine pc") > 0)) {
		fprintf(stderr, "vmm-frontend: %s\n", err);
		exit(EXIT_USAGE);
	}
	/* A payload's words travel in its boot info (guest/abi.h). */
	if (o->payload && o->cmdline &&
	    strlen(o->cmdline) >= GUEST_CMDLINE_MAX) {
		fprintf(stderr,
			"vmm-frontend: --cmdline: %zu bytes; a payload takes "
			"at most %d\n",
			strlen(o->cmdline), GUEST_CMDLINE_MAX - 1);
		exit(EXIT_USAGE);
	}
}

int fail(struct frontend *f, const char *what)
{
	fprintf(stderr, "vmm-frontend: %s: %s\n", what, f->f_cl.cl_err);
	return -1;
}

/*
 * A Linux guest's COM1 interrupt line, and the BARs its firmware would
 * have placed: mapped before it runs.
 */
static int frontend_linux(struct frontend *f)
{
	if (client_irqfd(&f->f_cl, f->f_boot.b_vm, PCDEV_COM1_GSI, false,
			 &f->f_pc.pc_com1_irq, NULL) < 0)
		return fail(f, "Irqfd (COM1)");
	if (client_irqfd(&f->f_cl, f->f_boot.b_vm, PCDEV_KBD_GSI, false,
			 &f->f_pc.pc_kbd_irq, NULL) < 0)
		return fail(f, "Irqfd (8042)");
	machine_firmware(&f->f_machine);
	return machine_flush(&f->f_machine);
}

static int frontend_boot(struct frontend *f, const void *payload, size_t len,
			 const struct linux_spec *ls)
{
	struct options *o = f->f_opt;
	Kvmmu__Machine mc;
	struct boot_spec bs = {.bs_name = o->name,
			       .bs_uuid = o->uuid,
			       .bs_vcpus = o->vcpus,
			       .bs_ram = o->memory_mib << 20,
			       .bs_hugetlb = o->hugetlb_kib,
			       .bs_backing = o->ram_backing,
			       .bs_immediate = o->ram_immediate,
			       .bs_zap = &o->zap,
			       .bs_payload = payload,
			       .bs_len = len,
			       .bs_cmdline = o->cmdline,
			       .bs_linux = ls};
	char err[300];
	int r;

	if (ls != NULL) {
		linux_machine(&mc);
		bs.bs_machine = &mc;
	}

	vmmap_client(&f->f_map, &f->f_cl, &f->f_boot.b_vm);
	if (machine_init(&f->f_machine, o->pc, o->eager, o->pci_devices,
			 bs.bs_ram, o->rom, o->rom_len, &f->f_map.vc_map) < 0 ||
	    machine_register(&f->f_machine, &f->f_bus) < 0 ||
	    machine_register_mmio(&f->f_machine, &f->f_mmio) < 0) {
		perror("vmm-frontend: option ROM");
		return -1;
	}
	bs.bs_extra = machine_extra_bytes(&f->f_machine);
	bs.bs_map = machine_map(&f->f_machine, &bs.bs_nmap);
	if (bs.bs_map == NULL) {
		fprintf(stderr, "vmm-frontend: out of memory\n");
		return -1;
	}
	r = boot_vm(&f->f_cl, &f->f_boot, &bs, err, sizeof(err));
	machine_map_free(bs.bs_map, bs.bs_nmap);
	if (r < 0)
		fprintf(stderr, "vmm-frontend: %s\n", err);
	if (r == 0)
		r = disks_attach(&f->f_disks, &f->f_machine, &f->f_boot);
	if (r == 0)
		r = shares_attach(&f->f_shares, &f->f_machine, &f->f_boot);
	if (r == 0 && ls != NULL)
		r = frontend_linux(f);
	return r;
}

static void print_stat_list(const char *prefix, Kvmmu__Stat **s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i]->value != 0)
			printf("  %s%-28s %llu\n", prefix, s[i]->name,
			       (unsigned long long)s[i]->value);
	}
}

/* The ports whose exits the frontend served most, busiest first. */
static void print_busy_ports(const struct devices *d)
{
	unsigned top[8], n = 0;

	for (unsigned p = 0; p < 65536; p++) {
		unsigned i = n;

		if (d->d_port_exits[p] == 0)
			continue;
		while (i > 0 &&
		       d->d_port_exits[p] > d->d_port_exits[top[i - 1]])
			i--;
		if (i == 8)
			continue;
		if (n < 8)
			n++;
		memmove(&top[i + 1], &top[i], (n - 1 - i) * sizeof(top[0]));
		top[i] = p;
	}
	printf("port I/O exits served, busiest ports:\n");
	for (unsigned i = 0; i < n; i++)
		printf("  port 0x%-4x %20u\n", top[i], d->d_port_exits[top[i]]);
}

static uint64_t stat_of(const Kvmmu__StatsReply *st, const char *name)
{
	uint64_t v = 0;

	stats_find(st, -1, name, &v);
	return v;
}

/* One line for scripts (bench/zap-modes reads it). */
static void frontend_json(struct frontend *f, double secs,
			  const Kvmmu__StatsReply *st, int code)
{
	const struct machine *m = &f->f_machine;
	uint64_t pf = stats_vcpu_sum(st, "pf_taken");
	uint64_t churn = m->m_last_phase >= 2 ? pf - m->m_phase_pf[2] : 0;
	const char *mode = zap_mode_name(st->zap ? (int)st->zap->mode : 0);
	unsigned long long vx, vk, fx, fk;

	disks_exits(&f->f_disks, &vx, &vk);
	shares_exits(&f->f_shares, &fx, &fk);

	printf("{\"vm\": \"%s\", \"ram_mib\": %llu, \"zap_mode\": \"%s\", "
	       "\"pci_commit\": \"%s\", "
	       "\"exit_code\": %d, \"boot_s\": %.4f, \"pf_taken\": %llu, "
	       "\"pf_taken_churn\": %llu, \"pf_fixed\": %llu, "
	       "\"shadow_zapped\": %llu, \"remote_tlb_flush\": %llu, "
	       "\"memslot_ioctls\": %llu, \"transactions\": %llu, "
	       "\"tx_coalesced\": %llu, \"pause_us_p50\": %llu, "
	       "\"pause_us_p99\": %llu, \"churn_s\": %.4f, "
	       "\"mark_s\": %.4f, \"irq_edges\": %lu, \"disks\": %u, "
	       "\"virtio_exits\": %llu, \"virtio_kick_exits\": %llu, "
	       "\"shares\": %u, \"fs_exits\": %llu, \"fs_kick_exits\": %llu, "
	       "\"mmio_exits\": %llu, \"io_exits\": %llu}\n",
	       f->f_opt->name, (unsigned long long)f->f_opt->memory_mib, mode,
	       f->f_opt->eager ? "eager" : "lazy", code, secs,
	       (unsigned long long)pf, (unsigned long long)churn,
	       (unsigned long long)stats_vcpu_sum(st, "pf_fixed"),
	       (unsigned long long)stat_of(st, "mmu_shadow_zapped"),
	       (unsigned long long)stat_of(st, "remote_tlb_flush"),
	       (unsigned long long)stat_of(st, "vm.memslot_ioctls"),
	       (unsigned long long)stat_of(st, "vm.transactions"),
	       (unsigned long long)stat_of(st, "vm.tx_coalesced"),
	       (unsigned long long)stat_of(st, "vm.pause_us_p50"),
	       (unsigned long long)stat_of(st, "vm.pause_us_p99"),
	       m->m_last_phase >= 6 ? m->m_phase_s[6] - m->m_phase_s[2] : 0.0,
	       f->f_pc.pc_mark_s > 0 ? f->f_pc.pc_mark_s - f->f_t0 : 0.0,
	       f->f_pc.pc_edges, f->f_disks.n, vx, vk, f->f_shares.n, fx, fk,
	       (unsigned long long)f->f_dev.d_exits_mmio,
	       (unsigned long long)f->f_dev.d_exits_io);
}

static void frontend_summary(struct frontend *f, double secs, int code)
{
	Kvmmu__Reply *rep;
	const Kvmmu__StatsReply *st;

	if (client_get_stats(&f->f_cl, f->f_boot.b_vm, &rep) < 0) {
		fail(f, "GetStats");
		return;
	}
	st = rep->stats;
	if (f->f_opt->json) {
		frontend_json(f, secs, st, code);
		client_free_reply(rep);
		return;
	}
	printf("vmm-frontend: vm '%s' ran %.3f s on %u vCPU(s): %llu exits "
	       "in KVM, %llu forwarded (%llu port I/O, %llu MMIO), %llu "
	       "page faults taken\n",
	       f->f_opt->name, secs, f->f_opt->vcpus,
	       (unsigned long long)stats_vcpu_sum(st, "exits"),
	       (unsigned long long)(f->f_dev.d_exits_io +
				    f->f_dev.d_exits_mmio),
	       (unsigned long long)f->f_dev.d_exits_io,
	       (unsigned long long)f->f_dev.d_exits_mmio,
	       (unsigned long long)stats_vcpu_sum(st, "pf_taken"));
	if (f->f_opt->stats) {
		printf("stats (non-zero) of the VM:\n");
		print_stat_list("", st->vm, st->n_vm);
		for (size_t i = 0; i < st->n_vcpus; i++) {
			printf("stats of vCPU %zu:\n", i);
			print_stat_list("", st->vcpus[i]->stats,
					st->vcpus[i]->n_stats);
		}
		printf("mmu-server counters:\n");
		print_stat_list("", st->server, st->n_server);
		print_busy_ports(&f->f_dev);
	}
	client_free_reply(rep);
}

/* How a Linux guest ended well: on its own, or asked by SIGTERM. */
static const char *linux_end(const struct frontend *f)
{
	if (f->f_shutdown_at > 0)
		return f->f_poweroff ? "guest shut down (it powered off after "
				       "the shutdown request)"
				     : "guest shut down (it rebooted after "
				       "the shutdown request)";
	return f->f_poweroff ? "guest powered off" : "guest rebooted";
}

/*
 * A Linux guest: powered off or rebooted (0), or panicked (a crash).  A
 * reboot after SIGTERM's request is the guest's shutdown.
 */
static int frontend_linux_code(const struct frontend *f)
{
	if (f->f_pc.pc_panicked) {
		fprintf(stderr, "vmm-frontend: the guest kernel panicked: %s\n",
			f->f_pc.pc_panic);
		return EXIT_GUEST_CRASH;
	}
	if (f->f_crashed)
		return EXIT_GUEST_CRASH;
	if (!f->f_opt->quiet)
		printf("vmm-frontend: %s\n", linux_end(f));
	return 0;
}

static int frontend_exit_code(const struct frontend *f)
{
	uint32_t status = 0;

	if (f->f_linux)
		return frontend_linux_code(f);
	if (f->f_crashed)
		return EXIT_GUEST_CRASH;
	for (unsigned i = 0; i < f->f_dev.d_nvcpus; i++) {
		if (f->f_dev.d_status[i] != 0) {
			status = f->f_dev.d_status[i];
			break;
		}
	}
	return status > EXIT_GUEST_MAX ? EXIT_GUEST_MAX : (int)status;
}

/*
 * Why the VM ends, for DestroyVm.reason, when the guest ended the run
 * (run.c noted any other cause first, and it is the one kept): in the
 * words said on stdout or stderr.
 */
static void frontend_guest_why(struct frontend *f, int code)
{
	if (f->f_linux && f->f_pc.pc_panicked)
		frontend_why(f, "the guest kernel panicked%s%s",
			     f->f_pc.pc_panic[0] ? ": " : "", f->f_pc.pc_panic);
	else if (f->f_linux)
		frontend_why(f, "the %s", linux_end(f));
	else
		frontend_why(f, "the guest finished with status %d", code);
}

static void frontend_free(struct frontend *f)
{
	if (f->f_pc.pc_com1_irq >= 0)
		close(f->f_pc.pc_com1_irq);
	if (f->f_pc.pc_kbd_irq >= 0)
		close(f->f_pc.pc_kbd_irq);
	disks_stop(&f->f_disks); /* after DestroyVm: no request in flight */
	shares_stop(&f->f_shares);
	boot_release(&f->f_boot);
	machine_free(&f->f_machine);
	devices_free(&f->f_dev);
	client_close(&f->f_cl);
}

static void on_signal(int sig)
{
	frontend_signal = sig;
	frontend_signals++;
}

/*
 * SIGINT/SIGTERM end the run, never the process: the first SIGTERM asks
 * the guest to shut down (run.c), and a VM stopped at once is still
 * destroyed and summed up, and a domain marked running in libvirt
 * unmarked (no SA_RESTART: poll() returns and the loop sees the flag).
 */
static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Where the guest's serial output goes: stdout, a file, or nowhere. */
static FILE *serial_open(const struct options *o)
{
	if (o->serial_none)
		return fopen("/dev/null", "we");
	if (o->serial)
		return fopen(o->serial, o->serial_append ? "ae" : "we");
	return stdout;
}

/*
 * The server closed the VM's exit channels.  While this frontend's
 * connection lives, only the admin API's DestroyVm (mmuctl destroy) ends
 * a VM its frontend did not destroy (ARCHITECTURE.md: one teardown), and
 * the server then answers for the VM with ENOENT; a server stopped by a
 * signal ends every VM and answers ESHUTDOWN; a server that is going away
 * otherwise answers nothing and closes the connection.  Returns the exit
 * code.
 */
static int frontend_vm_gone(struct frontend *f)
{
	Kvmmu__Reply *rep;
	int r = client_get_stats(&f->f_cl, f->f_boot.b_vm, &rep);

	client_free_reply(rep);
	if (r == -ENOENT) {
		fprintf(stderr, "vmm-frontend: VM destroyed by the operator "
				"(mmuctl destroy / admin API)\n");
		return EXIT_STOPPED;
	}
	if (r == -ESHUTDOWN) {
		fprintf(stderr,
			"vmm-frontend: mmu-server is stopping (a stop "
			"signal, e.g. systemctl stop): it ended the VM\n");
		return EXIT_STOPPED;
	}
	if (r == 0)
		fprintf(stderr, "vmm-frontend: mmu-server closed the exit "
				"channels of a VM it still runs\n");
	else
		fprintf(stderr,
			"vmm-frontend: mmu-server went away (GetStats: %s: "
			"%s); the VM is gone\n",
			f->f_cl.cl_err, strerror(f->f_cl.cl_errcode));
	return EXIT_VMM_ERROR;
}

/* Boots, runs and destroys the VM; returns the exit code. */
static int frontend_main(struct frontend *f, const void *payload, size_t len,
			 const struct linux_spec *ls)
{
	struct options *o = f->f_opt;
	int r, code = EXIT_VMM_ERROR;
	double t0;

	/* Back ends first: bad disks are refused before any VM exists. */
	if (disks_start(&f->f_disks, &o->disks,
			geteuid() == 0 ? o->user : NULL) < 0 ||
	    shares_start(&f->f_shares, &o->shares,
			 geteuid() == 0 ? o->user : NULL) < 0)
		return code;
	if (client_connect(&f->f_cl, o->socket) < 0) {
		fprintf(stderr, "vmm-frontend: %s\n", f->f_cl.cl_err);
		return code;
	}
	f->f_dev.d_quiet_reports = o->quiet;
	f->f_cl.cl_spin_us = o->spin_us;
	if (frontend_boot(f, payload, len, ls) < 0)
		return code;
	live_start(f, &o->zap);
	/* Everything is open: from here on, a confined process. */
	if (sandbox_enter(geteuid() == 0 ? o->user : NULL, !o->no_sandbox) < 0)
		return code;
	if (o->selftest_sandbox)
		printf("vmm-frontend: sandbox: uid %u, open(/dev/kvm): %s\n",
		       (unsigned)getuid(), sandbox_probe());
	if (!o->quiet)
		printf("vmm-frontend: vm %u '%s' running (pid %d, uid %u)\n",
		       f->f_boot.b_vm, o->name, (int)getpid(),
		       (unsigned)getuid());
	fflush(stdout);
	t0 = f->f_t0 = mono_ns() / 1e9;
	if (client_vm_op(&f->f_cl, f->f_boot.b_vm, KVMMU__REQUEST__BODY_RUN) <
	    0) {
		fail(f, "Run");
		return code;
	}
	r = frontend_run(f, t0);
	fflush(stdout);
	if (r == -ECONNRESET)
		return frontend_vm_gone(f);
	if (r == -ETIMEDOUT)
		code = EXIT_TIMEOUT;
	else if (r == -ECANCELED)
		code = EXIT_STOPPED;
	else if (r == 0)
		code = frontend_exit_code(f);
	if (r == 0)
		frontend_guest_why(f, code);
	/* Whatever ended it, the server hears why (mmuctl list). */
	frontend_why(f, "the frontend ended the run (exit status %d)", code);
	if (r != -EPIPE)
		frontend_summary(f, mono_ns() / 1e9 - t0, code);
	if (r != -EPIPE &&
	    client_destroy_vm(&f->f_cl, f->f_boot.b_vm, f->f_why) < 0)
		fail(f, "DestroyVm");
	return code;
}

/*
 * What a Linux guest's ACPI tables say (loader/acpi.h): the PM1 block and
 * SCI of devices/acpipm.h, the reset register 0xcf9 and PCI window of
 * the pc machine (machine.c).
 */
static const struct acpi_spec linux_acpi = {
	.as_pm1a_evt = ACPIPM_EVT,
	.as_pm1a_cnt = ACPIPM_CNT,
	.as_slp_typ_s5 = ACPIPM_SLP_TYP_S5,
	.as_sci_irq = ACPIPM_SCI_IRQ,
	.as_reset_port = MACHINE_RESET_PORT,
	.as_reset_value = MACHINE_RESET_VALUE,
	.as_pci_lo = GUEST_PCI_MMIO_BASE,
	.as_pci_size = MACHINE_PCI_WINDOW,
};

/* The kernel and initrd of a Linux guest, read whole; its ACPI in *as. */
static int load_linux(const struct options *o, struct linux_spec *ls,
		      struct acpi_spec *as, char *err, size_t errlen)
{
	void *k = NULL, *i = NULL;
	size_t klen = 0, ilen = 0;

	if (guest_read_file(o->kernel, LINUX_MAX_KERNEL, &k, &klen, err,
			    errlen) < 0)
		return -1;
	if (o->initrd && guest_read_file(o->initrd, LINUX_MAX_INITRD, &i, &ilen,
					 err, errlen) < 0) {
		free(k);
		return -1;
	}
	*ls = (struct linux_spec){.ls_kernel = k,
				  .ls_kernel_len = klen,
				  .ls_initrd = i,
				  .ls_initrd_len = ilen,
				  .ls_cmdline = o->cmdline,
				  .ls_vcpus = o->vcpus,
				  .ls_acpi = as};
	*as = linux_acpi;
	as->as_vcpus = o->vcpus;
	return 0;
}

/*
 * A payload's ports (devices.c), or a Linux guest's PC devices with the
 * console on serial and stdin.
 */
static int register_devices(struct frontend *f, FILE *serial)
{
	if (!f->f_linux)
		return devices_register(&f->f_dev, &f->f_bus);
	pcdev_init(&f->f_pc, serial);
	f->f_pc.pc_mark = f->f_opt->mark;
	f->f_in_fd = STDIN_FILENO;
	return pcdev_register(&f->f_pc, &f->f_bus);
}

/* The VM from the flags: a name from the payload's file name. */
static void default_name(struct options *o, char *buf, size_t len)
{
	if (o->name != NULL)
		return;
	snprintf(buf, len, "%s",
		 basename((char *)(o->payload ? o->payload : o->kernel)));
	buf[strcspn(buf, ".")] = '\0';
	o->name = buf;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct frontend f = {.f_opt = &o,
			     .f_cl.cl_fd = -1,
			     .f_boot.b_ram_fd = -1,
			     .f_machine.m_rom_fd = -1,
			     .f_pc.pc_com1_irq = -1,
			     .f_pc.pc_kbd_irq = -1,
			     .f_in_fd = -1,
			     .f_lv_fd = -1};
	char err[256], namebuf[KVMMU_NAME_MAX + 1];
	struct domain dom = {0};
	struct linux_spec ls = {0};
	struct acpi_spec acpi;
	void *payload = NULL;
	FILE *serial = NULL;
	struct lv lv;
	size_t len;
	int r, code = EXIT_USAGE;

	lv_init(&lv);
	parse_args(argc, argv, &o);
	for (unsigned i = 0; i < GUEST_MAX_VCPUS; i++)
		f.f_boot.b_chans[i] = -1;
	if (o.connect || o.domain_xml) {
		r = domload(&f, &dom, &lv);
		if (r < 0) {
			code = r == -EINVAL ? EXIT_USAGE : EXIT_VMM_ERROR;
			goto out;
		}
	}
	catch_signals();
	default_name(&o, namebuf, sizeof(namebuf));
	/* From here on a failure is the VMM's: a file it cannot load too. */
	code = EXIT_VMM_ERROR;
	if (o.kernel ? load_linux(&o, &ls, &acpi, err, sizeof(err)) < 0
		     : guest_load_file(o.payload, &payload, &len, err,
				       sizeof(err)) < 0) {
		fprintf(stderr, "vmm-frontend: %s%s\n",
			o.connect || o.domain_xml ? "os/kernel: " : "", err);
		goto out;
	}
	f.f_linux = o.kernel != NULL;
	serial = serial_open(&o);
	if (serial == NULL)
		fprintf(stderr, "vmm-frontend: devices/serial: %s: %s\n",
			o.serial ? o.serial : "/dev/null", strerror(errno));
	else if (devices_init(&f.f_dev, o.vcpus, serial) < 0 ||
		 register_devices(&f, serial) < 0)
		fprintf(stderr, "vmm-frontend: out of memory\n");
	else
		code = frontend_main(&f, payload, len, f.f_linux ? &ls : NULL);
out:
	fflush(stdout);
	frontend_free(&f);
	if (serial && serial != stdout)
		fclose(serial);
	free(payload);
	free((void *)ls.ls_kernel);
	free((void *)ls.ls_initrd);
	live_free(&f);
	lv_close(&lv); /* after DestroyVm: libvirt then sees it stopped */
	domain_free(&dom);
	return code;
}
