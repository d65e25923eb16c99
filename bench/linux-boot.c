/*
 * linux-boot.c: bench-linux-boot (issue 11): a Linux kernel booted to
 * init through kvmmu and through QEMU, side by side in one run.  Same
 * kernel (the VM runner's 6.12, backports/vmlinuz in its cache:
 * $KVMMU_VM_CACHE or build/vm; --kernel or $KVMMU_LINUX_KERNEL to
 * override), same initramfs (built here by tests/linux/mkinitramfs.sh),
 * same cmdline, 1 vCPU and 8 PCI devices with a 2 MiB BAR each; for each
 * RAM size (--ram, default 512,2048) and each of --runs rounds (default
 * 3): kvmmu with zap mode {all, memslot} x PCI commit {eager, lazy},
 * then QEMU (-accel kvm -machine pc, 8 ivshmem-plain devices), the order
 * rotated by one from round to round so that no configuration always
 * goes first.  Nothing is pinned to a CPU: the kernel schedules both
 * VMMs' processes alike.
 *
 * Figures per boot, each over the VM's whole run (boot, init touching
 * 64 MiB, reboot): KVM's pf_taken (TDP faults, summed over vCPUs),
 * mmu_shadow_zapped (counted by the shadow MMU only: 0 on the TDP MMU),
 * memslot ioctls, and boot_s: wall seconds from spawning the VMM to the
 * moment the init banner line arrives on its stdout, read through a
 * pipe here for both VMMs (for kvmmu the frontend's, not the server's).
 * kvmmu's counts come from the frontend's JSON line; QEMU's from debugfs
 * (kvm/<pid>-<fd>/, polled while it runs: the last complete reading
 * before it exits) and from its kvm_set_user_memory trace event.
 *
 * Prints, per RAM size, each configuration's median and min-max over the
 * rounds, and ratios within the run (per round, then median and
 * min-max): memslot/all faults, eager and lazy; kvmmu's best
 * configuration (fewest faults) against QEMU for faults and boot time.
 * --json prints {"results": [{"ram_mib": N, "runs": [{"vmm", "zap",
 * "commit", "pf_taken", "boot_s", "memslot_ioctls", "shadow_zapped",
 * "spread", "rounds"}], "ratios"}]} (medians) on stdout, and the tables
 * on stderr.  Targets (issue 11): memslot eager takes >= 14% fewer faults
 * than zap all eager; kvmmu's best configuration takes fewer faults than
 * QEMU and reaches init no later.
 *
 * A boot that does not reach the banner, or does not end with init's
 * reboot and exit status 0 within --timeout, ends the benchmark with a
 * message, the VMM's last output and exit status 1; children are killed,
 * never waited on forever, and --shmem-thp's setting is put back.
 * By default the host's shmem_enabled is left as it is (--shmem-thp
 * keep) and mmu-server backs RAM as it does by default (--ram-backing
 * 4k; with huge, 2 MiB pages made at CreateVm whatever shmem_enabled
 * says); the backing in force, the server's own log line, heads the
 * tables and is host.kvmmu_ram_backing in the JSON.
 * Trust: benchmark code, run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "harness.h"
#include "lxrun.h"

/*
 * pci=noearly: the emulated CPU of the project's VM runner is an AMD K8,
 * for which Linux looks for an AGP aperture by reading the class of
 * every slot of all 256 buses, twice: 16k config reads, which kvmmu
 * forwards to its frontend (32k exits) and QEMU serves in-process.  A VM
 * with one PCI bus gains nothing from it; both VMMs get the same line.
 */
#define CMDLINE                                                                \
	"console=ttyS0 panic=-1 reboot=k quiet pci=noearly kvmmu.touch=64"
#define NDEVS	 8
#define NCONF	 5 /* four kvmmu configurations, then QEMU */
#define QEMU	 4
#define MAX_RAMS 8
#define MAX_RUNS 32
#define DEBUGFS	 "/sys/kernel/debug"
#define THP_DIR	 "/sys/kernel/mm/transparent_hugepage"
#define NONE	 LX_NONE

enum fig { F_PF, F_IOCTLS, F_ZAPPED, F_BOOT, NFIG };

static const char *const fig_names[NFIG] = {
	"pf_taken",
	"memslot_ioctls",
	"shadow_zapped",
	"boot_s",
};

struct config {
	const char *c_vmm, *c_zap, *c_commit;
};

static const struct config configs[NCONF] = {
	{"kvmmu", "all", "eager"},     {"kvmmu", "all", "lazy"},
	{"kvmmu", "memslot", "eager"}, {"kvmmu", "memslot", "lazy"},
	{"qemu", NULL, NULL},
};

/* One boot's figures (NONE where not measured). */
struct run {
	double r_fig[NFIG];
	int r_status;	 /* the VMM's exit status */
	double r_mark_s; /* kvmmu: the frontend's own Run-to-banner time */
};

struct opts {
	const char *o_kernel, *o_initrd, *o_qemu, *o_thp;
	const char *o_backing; /* mmu-server --ram-backing; NULL: its default */
	unsigned o_ram[MAX_RAMS];
	int o_nram, o_runs;
	unsigned o_timeout;
	bool o_json;
};

/* What cleanup() undoes (lx_cleanup() the rest), whichever way it ends. */
static struct {
	char thp_old[32];  /* shmem_enabled to put back, "" when untouched */
	char backing[200]; /* the server's "RAM backing:" log line */
	bool debugfs_mounted;
} g;

static struct run results[MAX_RAMS][NCONF][MAX_RUNS];

/* --help: stdout, exit 0; a bad argument: stderr, exit 2, before any work. */
static void usage(FILE *out, int code)
{
	fprintf(out, "%s",
		"usage: bench-linux-boot [--ram MiB,...] [--runs N] [--timeout "
		"SEC]\n"
		"                        [--kernel BZIMAGE] [--initrd FILE] "
		"[--qemu PATH]\n"
		"                        [--shmem-thp advise|never|keep]\n"
		"                        [--ram-backing huge|4k] [--json]\n"
		"  Linux to init: kvmmu (zap all|memslot x commit eager|lazy) "
		"vs QEMU\n"
		"  --ram MiB,...     guest RAM sizes, each 128..3072 (default "
		"512,2048)\n"
		"  --runs N          rounds of every configuration (default "
		"3)\n"
		"  --timeout SEC     per boot, 10..3600 (default 400)\n"
		"  --kernel BZIMAGE  default $KVMMU_LINUX_KERNEL, else the VM "
		"runner's\n"
		"                    backports/vmlinuz\n"
		"  --initrd FILE     default: built by "
		"tests/linux/mkinitramfs.sh\n"
		"  --qemu PATH       default qemu-system-x86_64\n"
		"  --shmem-thp W     advise, never, or keep (the host's "
		"setting, untouched;\n"
		"                    the default)\n"
		"  --ram-backing B   mmu-server's: huge or 4k (its default)\n"
		"  --json            JSON on stdout, the tables on stderr\n"
		"  -h, --help        this text\n"
		"It needs a KVM that runs a stock Linux kernel (mmu-server "
		"--check-kvm exit\n"
		"0); elsewhere run it in the VM runner (deploy/vm/run).\n"
		"Exit status: 0 done, 1 failed (or no such KVM), 2 bad "
		"arguments, 77 no\n"
		"/dev/kvm.\n");
	exit(code);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

/* A small text file, its trailing newline cut; 0 or -errno. */
static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The word in brackets of a sysfs choice ("always [madvise] never"). */
static void read_choice(const char *path, char *out, size_t len)
{
	char text[256], *open_b, *close_b;

	snprintf(out, len, "?");
	if (read_text(path, text, sizeof(text)) < 0)
		return;
	open_b = strchr(text, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (open_b && close_b) {
		*close_b = '\0';
		snprintf(out, len, "%s", open_b + 1);
	} else {
		snprintf(out, len, "%.*s", (int)len - 1, text);
	}
}

static int read_num(const char *path, double *v)
{
	char text[64], *end;
	int r = read_text(path, text, sizeof(text));

	if (r < 0)
		return r;
	*v = strtod(text, &end);
	return end == text ? -EINVAL : 0;
}

static void cleanup(void)
{
	lx_cleanup(); /* first: no child may run on a put-back setting */
	if (g.thp_old[0] != '\0') {
		if (write_str(THP_DIR "/shmem_enabled", g.thp_old) < 0)
			fprintf(stderr,
				"bench-linux-boot: could not put back "
				"shmem_enabled '%s'\n",
				g.thp_old);
		g.thp_old[0] = '\0';
	}
	if (g.debugfs_mounted) {
		umount2(DEBUGFS, MNT_DETACH);
		g.debugfs_mounted = false;
	}
}

static void run_kvmmu(const struct opts *o, const char *initrd,
		      const struct config *c, unsigned ram, const char *what,
		      struct run *res, char *release, size_t len)
{
	char mib[16], tmo[16], devs[16], why[160];
	const char *errpath = lx_path("vmm.err");
	const char *argv[] = {bin_path("vmm-frontend"),
			      "--socket",
			      lx.lx_srv.s_sock,
			      "--kernel",
			      o->o_kernel,
			      "--initrd",
			      initrd,
			      "--memory",
			      mib,
			      "--vcpus",
			      "1",
			      "--pci-devices",
			      devs,
			      "--zap-mode",
			      c->c_zap,
			      "--pci-commit",
			      c->c_commit,
			      "--cmdline",
			      CMDLINE,
			      "--mark-line",
			      LX_BANNER,
			      "--json",
			      "--timeout",
			      tmo,
			      NULL};
	static struct watch w;
	int r;

	snprintf(mib, sizeof(mib), "%u", ram);
	snprintf(tmo, sizeof(tmo), "%u", o->o_timeout);
	snprintf(devs, sizeof(devs), "%d", NDEVS);
	r = lx_spawn(&w, argv, errpath);
	if (r < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(-r));
		lx_fail(what, NULL, why, NULL);
	}
	/* The frontend's own --timeout goes first; this is the backstop. */
	r = lx_watch_run(&w, o->o_timeout + 15.0, NULL, NULL);
	if (lx_verdict(&w, r, o->o_timeout, true, why, sizeof(why)))
		lx_fail(what, &w, why, errpath);
	if (w.w_json[0] == '\0')
		lx_fail(what, &w, "no JSON summary line from the frontend",
			errpath);
	res->r_status = WEXITSTATUS(w.w_status);
	res->r_fig[F_BOOT] = w.w_banner_s;
	res->r_fig[F_PF] = lx_json_num(w.w_json, "pf_taken");
	res->r_fig[F_ZAPPED] = lx_json_num(w.w_json, "shadow_zapped");
	res->r_fig[F_IOCTLS] = lx_json_num(w.w_json, "memslot_ioctls");
	res->r_mark_s = lx_json_num(w.w_json, "mark_s");
	if (release[0] == '\0')
		snprintf(release, len, "%s", w.w_banner);
	for (int f = 0; f < NFIG; f++) {
		if (res->r_fig[f] == NONE) {
			snprintf(why, sizeof(why), "no %s in its JSON line",
				 fig_names[f]);
			lx_fail(what, &w, why, errpath);
		}
	}
}

/* QEMU's VM in debugfs: kvm/<pid>-<fd>/, read while it runs. */
struct qemu_probe {
	pid_t q_pid;
	char q_dir[128];
	double q_pf, q_zapped;
};

static void qemu_find_dir(struct qemu_probe *q)
{
	char prefix[32];
	struct dirent *d;
	DIR *dir = opendir(DEBUGFS "/kvm");

	if (dir == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%d-", (int)q->q_pid);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(q->q_dir, sizeof(q->q_dir),
				 DEBUGFS "/kvm/%.*s", 64, d->d_name);
			break;
		}
	}
	closedir(dir);
}

/* Keeps the last reading of both counters that succeeded. */
static void qemu_tick(void *arg)
{
	struct qemu_probe *q = arg;
	char path[192];
	double pf, zapped;

	if (q->q_dir[0] == '\0')
		qemu_find_dir(q);
	if (q->q_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/pf_taken", q->q_dir);
	if (read_num(path, &pf) < 0)
		return;
	snprintf(path, sizeof(path), "%s/mmu_shadow_zapped", q->q_dir);
	if (read_num(path, &zapped) < 0)
		return;
	q->q_pf = pf;
	q->q_zapped = zapped;
}

/* KVM_SET_USER_MEMORY_REGION calls: lines of the trace event, or NONE. */
static double count_trace(const char *path)
{
	char line[512];
	double n = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return NONE;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "kvm_set_user_memory"))
			n++;
	}
	fclose(f);
	return n;
}

static void run_qemu(const struct opts *o, const char *initrd, bool trace,
		     unsigned ram, const char *what, struct run *res,
		     char *release, size_t len)
{
	static char objs[NDEVS][64], devs[NDEVS][64];
	static struct watch w;
	const char *argv[64] = {
		o->o_qemu,  "-accel",	 "kvm",	    "-machine", "pc",
		"-cpu",	    "host",	 "-m",	    NULL,	"-nodefaults",
		"-display", "none",	 "-serial", "stdio",	"-no-reboot",
		"-kernel",  o->o_kernel, "-initrd", initrd,	"-append",
		CMDLINE};
	const char *errpath = lx_path("vmm.err");
	const char *tracepath = lx_path("qemu.trace");
	char mib[16], tracearg[192], why[160];
	struct qemu_probe q = {.q_pf = NONE, .q_zapped = NONE};
	int n = 21, r;

	snprintf(mib, sizeof(mib), "%u", ram);
	argv[8] = mib;
	for (int i = 0; i < NDEVS; i++) {
		snprintf(objs[i], sizeof(objs[i]),
			 "memory-backend-ram,id=m%d,size=2M", i);
		snprintf(devs[i], sizeof(devs[i]), "ivshmem-plain,memdev=m%d",
			 i);
		argv[n++] = "-object";
		argv[n++] = objs[i];
		argv[n++] = "-device";
		argv[n++] = devs[i];
	}
	if (trace) {
		unlink(tracepath);
		snprintf(tracearg, sizeof(tracearg),
			 "enable=kvm_set_user_memory,file=%s", tracepath);
		argv[n++] = "-trace";
		argv[n++] = tracearg;
	}
	argv[n] = NULL;
	r = lx_spawn(&w, argv, errpath);
	if (r < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(-r));
		lx_fail(what, NULL, why, NULL);
	}
	q.q_pid = w.w_pid;
	r = lx_watch_run(&w, o->o_timeout, qemu_tick, &q);
	if (lx_verdict(&w, r, o->o_timeout, true, why, sizeof(why)))
		lx_fail(what, &w, why, errpath);
	res->r_status = WEXITSTATUS(w.w_status);
	res->r_fig[F_BOOT] = w.w_banner_s;
	res->r_fig[F_PF] = q.q_pf;
	res->r_fig[F_ZAPPED] = q.q_zapped;
	res->r_fig[F_IOCTLS] = trace ? count_trace(tracepath) : NONE;
	res->r_mark_s = NONE;
	if (release[0] == '\0')
		snprintf(release, len, "%s", w.w_banner);
}

/* Whether QEMU can trace memslot ioctls (exits if QEMU does not run). */
static bool qemu_probe_trace(const struct opts *o)
{
	const char *argv[] = {o->o_qemu, "-trace", "help", NULL};
	static struct watch w;
	char what[192];

	snprintf(what, sizeof(what),
		 "'%s -trace help' (QEMU: Debian's qemu-system-x86, or "
		 "--qemu PATH)",
		 o->o_qemu);
	lx_run_tool(argv, what, 60, "kvm_set_user_memory", &w);
	return w.w_found;
}

static void build_initrd(const char *out)
{
	const char *argv[] = {"/bin/sh",
			      KVMMU_SOURCE_DIR "/tests/linux/mkinitramfs.sh",
			      out, NULL};
	static struct watch w;

	lx_run_tool(argv, "tests/linux/mkinitramfs.sh", 300, NULL, &w);
}

/*
 * What backs kvmmu's guest RAM in this run, as the server says it in its
 * log at start ("RAM backing: huge: ..."): the figures depend on it.
 * Read once the boots are done: the line may follow the socket's
 * appearance, which is all that srv_start waits for.
 */
static void server_backing(void)
{
	static const char key[] = "RAM backing: ";
	char line[512], *p;
	FILE *f = fopen(lx_path("server.log"), "re");

	snprintf(g.backing, sizeof(g.backing), "unknown");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if ((p = strstr(line, key)) == NULL)
			continue;
		p += sizeof(key) - 1;
		p[strcspn(p, "\n")] = '\0';
		for (char *q = p; *q; q++) /* it goes into JSON too */
			if (*q == '"' || *q == '\\')
				*q = '\'';
		snprintf(g.backing, sizeof(g.backing), "%s", p);
	}
	if (f != NULL)
		fclose(f);
}

/* mmu-server, its log in the temp dir rather than among the tables. */
static void start_server(const char *backing)
{
	const char *extra[] = {"--ram-backing", backing, NULL};

	lx_start_server(extra);
}

/* Host facts that change the figures. */
struct host {
	char h_mmu[48]; /* "tdp (kvm_amd npt=Y)" */
	bool h_tdp;
	char h_thp[32], h_shmem[32];
	bool h_hypervisor;
	const char *h_emulated; /* "tcg" or NULL */
	char h_release[160];	/* the guest's `uname -r`, from its banner */
};

static bool cpu_has_hypervisor(void)
{
	char line[4096];
	bool yes = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) == 0) {
			yes = strstr(line, " hypervisor ") ||
			      strstr(line, " hypervisor\n");
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	return yes;
}

static void host_facts(struct host *h)
{
	static const char *const params[][3] = {
		{"/sys/module/kvm_amd/parameters/npt", "kvm_amd", "npt"},
		{"/sys/module/kvm_intel/parameters/ept", "kvm_intel", "ept"},
	};
	char v[16];

	snprintf(h->h_mmu, sizeof(h->h_mmu), "unknown (no kvm_amd/kvm_intel)");
	h->h_tdp = false;
	for (int i = 0; i < 2; i++) {
		if (read_text(params[i][0], v, sizeof(v)) < 0)
			continue;
		h->h_tdp = v[0] == 'Y' || v[0] == '1';
		snprintf(h->h_mmu, sizeof(h->h_mmu), "%s (%s %s=%s)",
			 h->h_tdp ? "tdp" : "shadow", params[i][1],
			 params[i][2], v);
		break;
	}
	read_choice(THP_DIR "/enabled", h->h_thp, sizeof(h->h_thp));
	read_choice(THP_DIR "/shmem_enabled", h->h_shmem, sizeof(h->h_shmem));
	h->h_hypervisor = cpu_has_hypervisor();
	h->h_emulated = bench_emulated();
}

/* --shmem-thp: sets shmem_enabled for the run; cleanup() puts it back. */
static void set_shmem_thp(const char *want)
{
	char old[32], now[32];
	int r;

	if (strcmp(want, "keep") == 0)
		return;
	read_choice(THP_DIR "/shmem_enabled", old, sizeof(old));
	if (strcmp(old, "?") == 0) {
		fprintf(stderr,
			"bench-linux-boot: --shmem-thp %s: cannot read "
			"%s/shmem_enabled\n",
			want, THP_DIR);
		exit(1);
	}
	snprintf(g.thp_old, sizeof(g.thp_old), "%s", old);
	r = write_str(THP_DIR "/shmem_enabled", want);
	read_choice(THP_DIR "/shmem_enabled", now, sizeof(now));
	if (r < 0 || strcmp(now, want) != 0) {
		fprintf(stderr,
			"bench-linux-boot: --shmem-thp %s: could not set "
			"%s/shmem_enabled (%s)\n",
			want, THP_DIR, r < 0 ? strerror(-r) : now);
		exit(1);
	}
}

/* debugfs for QEMU's counters; mounted here if it is not. */
static bool debugfs_ready(void)
{
	if (access(DEBUGFS "/kvm", F_OK) == 0)
		return true;
	if (mount("debugfs", DEBUGFS, "debugfs", 0, NULL) == 0)
		g.debugfs_mounted = true;
	return access(DEBUGFS "/kvm", F_OK) == 0;
}

static void parse_rams(const char *s, struct opts *o)
{
	char *end;

	o->o_nram = 0;
	for (;;) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v < 128 || v > 3072 || o->o_nram == MAX_RAMS ||
		    (*end != ',' && *end != '\0')) {
			fprintf(stderr,
				"bench-linux-boot: --ram: a list of at most "
				"%d sizes in MiB, each 128..3072\n",
				MAX_RAMS);
			exit(2);
		}
		o->o_ram[o->o_nram++] = (unsigned)v;
		if (*end == '\0')
			return;
		s = end + 1;
	}
}

static unsigned long parse_uint(const char *s, const char *what,
				unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bench-linux-boot: %s: '%s' not in %lu..%lu\n",
			what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"ram", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},
		{"qemu", required_argument, NULL, 'q'},
		{"shmem-thp", required_argument, NULL, 's'},
		{"ram-backing", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){
		.o_kernel = lx_default_kernel(),
		.o_qemu = "qemu-system-x86_64",
		.o_thp = "keep",
		.o_ram = {512, 2048},
		.o_nram = 2,
		.o_runs = 3,
		.o_timeout = 400,
	};
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'r':
			parse_rams(optarg, o);
			break;
		case 'n':
			o->o_runs =
				(int)parse_uint(optarg, "--runs", 1, MAX_RUNS);
			break;
		case 't':
			o->o_timeout = (unsigned)parse_uint(optarg, "--timeout",
							    10, 3600);
			break;
		case 'k':
			o->o_kernel = optarg;
			break;
		case 'i':
			o->o_initrd = optarg;
			break;
		case 'q':
			o->o_qemu = optarg;
			break;
		case 's':
			if (strcmp(optarg, "advise") &&
			    strcmp(optarg, "never") && strcmp(optarg, "keep"))
				usage(stderr, 2);
			o->o_thp = optarg;
			break;
		case 'j':
			o->o_json = true;
			break;
		case 'b':
			if (strcmp(optarg, "huge") && strcmp(optarg, "4k"))
				usage(stderr, 2);
			o->o_backing = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
}

static struct spread fig_spread(int ri, int c, enum fig f, int runs)
{
	double v[MAX_RUNS];

	for (int k = 0; k < runs; k++)
		v[k] = results[ri][c][k].r_fig[f];
	return lx_spread_of(v, runs);
}

/* a/b of one figure, per round, then median and min-max over rounds. */
static struct spread ratio_spread(int ri, int a, int b, enum fig f, int runs)
{
	double v[MAX_RUNS];

	for (int k = 0; k < runs; k++) {
		double x = results[ri][a][k].r_fig[f];
		double y = results[ri][b][k].r_fig[f];

		v[k] = x == NONE || y == NONE || y <= 0 ? NONE : x / y;
	}
	return lx_spread_of(v, runs);
}

/* kvmmu's configuration with the fewest faults (then the fastest boot). */
static int best_kvmmu(int ri, int runs, enum fig first, enum fig second)
{
	int best = 0;

	for (int c = 1; c < QEMU; c++) {
		struct spread x = fig_spread(ri, c, first, runs);
		struct spread y = fig_spread(ri, best, first, runs);

		if (x.s_med < y.s_med ||
		    (x.s_med == y.s_med &&
		     fig_spread(ri, c, second, runs).s_med <
			     fig_spread(ri, best, second, runs).s_med))
			best = c;
	}
	return best;
}

static const char *config_name(int c)
{
	static char buf[4][32];
	static int i;
	char *p = buf[i++ % 4];

	if (c == QEMU)
		return "qemu";
	snprintf(p, 32, "%s/%s", configs[c].c_zap, configs[c].c_commit);
	return p;
}

/* "12345 [12000-13000]", or "n/a". */
static const char *cell(struct spread s, int prec)
{
	static char buf[8][64];
	static int i;
	char *p = buf[i++ % 8];

	if (s.s_med == NONE)
		snprintf(p, 64, "n/a");
	else
		snprintf(p, 64, "%.*f [%.*f-%.*f]", prec, s.s_med, prec, s.s_lo,
			 prec, s.s_hi);
	return p;
}

static void print_ratio(FILE *out, const char *label, struct spread s)
{
	if (s.s_med == NONE)
		fprintf(out, "  %s: n/a\n", label);
	else
		fprintf(out, "  %s: %.3f [%.3f-%.3f]", label, s.s_med, s.s_lo,
			s.s_hi);
}

static void print_table(FILE *out, const struct opts *o, int ri,
			const struct host *h)
{
	static const int prec[NFIG] = {0, 0, 0, 2};
	static const int width[NFIG] = {26, 18, 16, 0};
	int runs = o->o_runs, best, fast;
	double pct;
	struct spread r;

	fprintf(out,
		"\n%u MiB RAM: median [min-max] over %d round(s)\n"
		"%-6s %-8s %-7s %-26s %-18s %-16s %s\n",
		o->o_ram[ri], runs, "vmm", "zap", "commit", "pf_taken",
		"memslot_ioctls",
		h->h_tdp ? "shadow_zapped(*)" : "shadow_zapped", "boot_s");
	for (int c = 0; c < NCONF; c++) {
		fprintf(out, "%-6s %-8s %-7s", configs[c].c_vmm,
			configs[c].c_zap ? configs[c].c_zap : "-",
			configs[c].c_commit ? configs[c].c_commit : "-");
		for (int f = 0; f < NFIG; f++)
			fprintf(out, " %-*s", width[f],
				cell(fig_spread(ri, c, (enum fig)f, runs),
				     prec[f]));
		fprintf(out, "\n");
	}
	for (int e = 0; e < 2; e++) {
		r = ratio_spread(ri, 2 + e, e, F_PF, runs);
		print_ratio(out,
			    e ? "memslot/all faults, lazy "
			      : "memslot/all faults, eager",
			    r);
		if (r.s_med == NONE)
			continue;
		pct = 100 * (1 - r.s_med);
		fprintf(out, ": %.1f%% %s", pct < 0 ? -pct : pct,
			pct <= -0.05 ? "more" : "fewer");
		if (e == 0)
			fprintf(out, " (target >= 14%%: %s)",
				r.s_med <= 0.86 ? "met" : "not met");
		fprintf(out, "\n");
	}
	best = best_kvmmu(ri, runs, F_PF, F_BOOT);
	fast = best_kvmmu(ri, runs, F_BOOT, F_PF);
	fprintf(out, "  best kvmmu, fewest faults: %s\n", config_name(best));
	r = ratio_spread(ri, best, QEMU, F_PF, runs);
	print_ratio(out, "  faults / QEMU's", r);
	if (r.s_med != NONE)
		fprintf(out, " (target < 1: %s)\n",
			r.s_med < 1 ? "met" : "not met");
	r = ratio_spread(ri, best, QEMU, F_BOOT, runs);
	print_ratio(out, "  boot_s / QEMU's", r);
	if (r.s_med != NONE)
		fprintf(out, " (target <= 1: %s)\n",
			r.s_med <= 1 ? "met" : "not met");
	if (fast != best) {
		fprintf(out, "  fastest kvmmu: %s\n", config_name(fast));
		r = ratio_spread(ri, fast, QEMU, F_BOOT, runs);
		print_ratio(out, "  boot_s / QEMU's", r);
		if (r.s_med != NONE)
			fprintf(out, "\n");
	}
}

static void print_head(FILE *out, const struct opts *o, const struct host *h,
		       bool trace, bool debugfs)
{
	fprintf(out, "host: MMU %s; THP enabled [%s], shmem_enabled [%s]",
		h->h_mmu, h->h_thp, h->h_shmem);
	if (g.thp_old[0] != '\0')
		fprintf(out, " (--shmem-thp; was [%s])", g.thp_old);
	fprintf(out, "\n      kvmmu RAM backing: %s", g.backing);
	if (h->h_hypervisor)
		fprintf(out,
			"\n      CPU emulated (hypervisor flag in "
			"/proc/cpuinfo%s%s)\n",
			h->h_emulated ? "; " : "",
			h->h_emulated ? h->h_emulated : "");
	else
		fprintf(out, "\n      CPU not virtualized (no hypervisor "
			     "flag)\n");
	fprintf(out, "guest: linux %s, 1 vCPU, %d PCI devices\n",
		h->h_release[0] ? h->h_release : "?", NDEVS);
	fprintf(out, "       kernel %s\n       initrd %s\n", o->o_kernel,
		o->o_initrd ? o->o_initrd
			    : "built by tests/linux/mkinitramfs.sh");
	fprintf(out, "       cmdline %s\n", CMDLINE);
	fprintf(out,
		"kvmmu: vmm-frontend --kernel --initrd --memory MiB "
		"--vcpus 1 --pci-devices %d\n"
		"       (one 2 MiB memory BAR each), one mmu-server for "
		"the run\n",
		NDEVS);
	fprintf(out,
		"qemu:  %s -accel kvm -machine pc -cpu host -m MiB "
		"-nodefaults\n"
		"       -display none -serial stdio -no-reboot -kernel "
		"-initrd -append, and\n"
		"       %d x -object memory-backend-ram,size=2M -device "
		"ivshmem-plain\n"
		"       (BAR0 256 B of registers, BAR2 2 MiB of RAM)\n",
		o->o_qemu, NDEVS);
	fprintf(out, "figures: over each VM's whole run (boot, init touching "
		     "64 MiB, reboot)\n"
		     "  boot_s: spawning the VMM to the banner line on its "
		     "stdout\n");
	fprintf(out, "  QEMU's pf_taken and shadow_zapped: %s\n",
		debugfs ? "debugfs kvm/<pid>-<fd>/, polled every 200 ms"
			: "n/a (no debugfs kvm directory)");
	fprintf(out, "  memslot_ioctls: kvmmu's vm.memslot_ioctls; QEMU's %s\n",
		trace ? "kvm_set_user_memory trace events (-trace)"
		      : "n/a (its -trace has no kvm_set_user_memory event)");
	if (h->h_tdp)
		fprintf(out, "(*) mmu_shadow_zapped is counted by the shadow "
			     "MMU only: with this TDP MMU\n"
			     "    it stays 0 for both VMMs and says nothing\n");
}

static void json_num_out(double v, int prec)
{
	if (v == NONE)
		printf("null");
	else
		printf("%.*f", prec, v);
}

static void json_spread(const char *key, struct spread s)
{
	printf("\"%s\": {\"median\": ", key);
	json_num_out(s.s_med, 4);
	printf(", \"min\": ");
	json_num_out(s.s_lo, 4);
	printf(", \"max\": ");
	json_num_out(s.s_hi, 4);
	printf("}");
}

static void json_bool(const char *key, struct spread s, double limit,
		      bool strict)
{
	bool met = strict ? s.s_med < limit : s.s_med <= limit;

	if (s.s_med == NONE)
		printf("\"%s\": null", key);
	else
		printf("\"%s\": %s", key, met ? "true" : "false");
}

static void json_config(int ri, int c, int runs)
{
	static const int prec[NFIG] = {0, 0, 0, 4};
	const struct config *cf = &configs[c];

	printf("{\"vmm\": \"%s\", \"zap\": ", cf->c_vmm);
	printf(cf->c_zap ? "\"%s\", \"commit\": " : "%snull, \"commit\": ",
	       cf->c_zap ? cf->c_zap : "");
	printf(cf->c_commit ? "\"%s\"" : "%snull",
	       cf->c_commit ? cf->c_commit : "");
	for (int f = 0; f < NFIG; f++) {
		printf(", \"%s\": ", fig_names[f]);
		json_num_out(fig_spread(ri, c, (enum fig)f, runs).s_med,
			     prec[f]);
	}
	printf(", \"spread\": {");
	for (int f = 0; f < NFIG; f++) {
		struct spread s = fig_spread(ri, c, (enum fig)f, runs);

		printf("%s\"%s\": [", f ? ", " : "", fig_names[f]);
		json_num_out(s.s_lo, prec[f]);
		printf(", ");
		json_num_out(s.s_hi, prec[f]);
		printf("]");
	}
	printf("}, \"rounds\": [");
	for (int k = 0; k < runs; k++) {
		const struct run *r = &results[ri][c][k];

		printf("%s{", k ? ", " : "");
		for (int f = 0; f < NFIG; f++) {
			printf("%s\"%s\": ", f ? ", " : "", fig_names[f]);
			json_num_out(r->r_fig[f], prec[f]);
		}
		printf(", \"exit_status\": %d, \"frontend_mark_s\": ",
		       r->r_status);
		json_num_out(r->r_mark_s, 4);
		printf("}");
	}
	printf("]}");
}

static void json_ratios(int ri, int runs)
{
	int best = best_kvmmu(ri, runs, F_PF, F_BOOT);
	int fast = best_kvmmu(ri, runs, F_BOOT, F_PF);
	struct spread eager = ratio_spread(ri, 2, 0, F_PF, runs);
	struct spread pf = ratio_spread(ri, best, QEMU, F_PF, runs);
	struct spread boot = ratio_spread(ri, best, QEMU, F_BOOT, runs);

	printf(", \"ratios\": {");
	json_spread("memslot_all_faults_eager", eager);
	printf(", ");
	json_spread("memslot_all_faults_lazy",
		    ratio_spread(ri, 3, 1, F_PF, runs));
	printf(", \"best_kvmmu\": {\"zap\": \"%s\", \"commit\": \"%s\"}, ",
	       configs[best].c_zap, configs[best].c_commit);
	json_spread("best_qemu_faults", pf);
	printf(", ");
	json_spread("best_qemu_boot", boot);
	printf(", \"fastest_kvmmu\": {\"zap\": \"%s\", \"commit\": \"%s\"}, ",
	       configs[fast].c_zap, configs[fast].c_commit);
	json_spread("fastest_qemu_boot",
		    ratio_spread(ri, fast, QEMU, F_BOOT, runs));
	printf(", \"targets\": {");
	json_bool("memslot_eager_14pct_fewer_faults", eager, 0.86, false);
	printf(", ");
	json_bool("best_fewer_faults_than_qemu", pf, 1, true);
	printf(", ");
	json_bool("best_boot_not_later_than_qemu", boot, 1, false);
	printf("}}");
}

static void print_json(const struct opts *o, const struct host *h, bool trace)
{
	bench_head("linux-boot", true);
	printf("\"host\": {\"mmu\": \"%s\", \"tdp\": %s, \"thp_enabled\": "
	       "\"%s\", \"shmem_thp\": \"%s\", \"shmem_thp_was\": ",
	       h->h_mmu, h->h_tdp ? "true" : "false", h->h_thp, h->h_shmem);
	printf(g.thp_old[0] ? "\"%s\"" : "%snull", g.thp_old);
	printf(", \"hypervisor\": %s, \"kvmmu_ram_backing\": \"%s\"}, ",
	       h->h_hypervisor ? "true" : "false", g.backing);
	printf("\"guest\": {\"release\": \"%s\", \"kernel\": \"%s\", "
	       "\"cmdline\": \"%s\", \"vcpus\": 1, \"pci_devices\": %d}, "
	       "\"rounds\": %d, \"qemu_memslot_ioctls\": %s, "
	       "\"shadow_zapped_counted\": %s, \"results\": [",
	       h->h_release, o->o_kernel, CMDLINE, NDEVS, o->o_runs,
	       trace ? "\"trace kvm_set_user_memory\"" : "null",
	       h->h_tdp ? "false" : "true");
	for (int ri = 0; ri < o->o_nram; ri++) {
		printf("%s{\"ram_mib\": %u, \"runs\": [", ri ? ", " : "",
		       o->o_ram[ri]);
		for (int c = 0; c < NCONF; c++) {
			printf(c ? ", " : "");
			json_config(ri, c, o->o_runs);
		}
		printf("]");
		json_ratios(ri, o->o_runs);
		printf("}");
	}
	printf("]}\n");
}

static void progress(unsigned ram, int k, int runs, int c, const struct run *r)
{
	fprintf(stderr,
		"bench-linux-boot: %u MiB, round %d/%d, %-5s %-13s banner "
		"at %.2f s, pf_taken ",
		ram, k + 1, runs, configs[c].c_vmm,
		c == QEMU ? "" : config_name(c), r->r_fig[F_BOOT]);
	for (int f = F_PF; f < F_BOOT; f++) {
		if (r->r_fig[f] == NONE)
			fprintf(stderr, "n/a");
		else
			fprintf(stderr, "%.0f", r->r_fig[f]);
		fprintf(stderr, f == F_PF	? ", memslot ioctls "
				: f == F_IOCTLS ? ", shadow zapped "
						: "");
	}
	fprintf(stderr, ", exit %d\n", r->r_status);
}

int main(int argc, char **argv)
{
	char initrd[128], what[192];
	struct opts o;
	struct host h;
	bool trace, debugfs;

	parse_args(argc, argv, &o);
	require_kvm("bench/linux-boot");
	bench_require_linux_kvm("bench-linux-boot");
	if (access(o.o_kernel, R_OK) < 0 ||
	    (o.o_initrd && access(o.o_initrd, R_OK) < 0)) {
		fprintf(stderr,
			"bench-linux-boot: cannot read %s: %s (the kernel "
			"is the VM runner's: deploy/vm/run fetches it)\n",
			access(o.o_kernel, R_OK) < 0 ? o.o_kernel : o.o_initrd,
			strerror(errno));
		return 1;
	}
	lx_init("bench-linux-boot");
	atexit(cleanup);
	trace = qemu_probe_trace(&o);
	debugfs = debugfs_ready();
	set_shmem_thp(o.o_thp);
	memset(&h, 0, sizeof(h));
	host_facts(&h);
	snprintf(initrd, sizeof(initrd), "%s",
		 o.o_initrd ? o.o_initrd : lx_path("initrd"));
	if (o.o_initrd == NULL)
		build_initrd(initrd);
	start_server(o.o_backing ? o.o_backing : "huge");
	for (int ri = 0; ri < o.o_nram; ri++) {
		for (int k = 0; k < o.o_runs; k++) {
			for (int j = 0; j < NCONF; j++) {
				int c = (j + k) % NCONF;
				struct run *r = &results[ri][c][k];

				snprintf(what, sizeof(what),
					 "%s %s, %u MiB, round %d/%d",
					 configs[c].c_vmm,
					 c == QEMU ? "" : config_name(c),
					 o.o_ram[ri], k + 1, o.o_runs);
				if (c == QEMU)
					run_qemu(&o, initrd, trace, o.o_ram[ri],
						 what, r, h.h_release,
						 sizeof(h.h_release));
				else
					run_kvmmu(&o, initrd, &configs[c],
						  o.o_ram[ri], what, r,
						  h.h_release,
						  sizeof(h.h_release));
				progress(o.o_ram[ri], k, o.o_runs, c, r);
			}
		}
	}
	if (srv_stop(&lx.lx_srv) != 0) {
		fprintf(stderr, "bench-linux-boot: mmu-server did not exit "
				"cleanly; its log:\n");
		lx_print_file_tail(lx_path("server.log"), "server");
	}
	server_backing();
	if (o.o_json) {
		print_json(&o, &h, trace);
		fflush(stdout);
	} else {
		bench_head("linux-boot", false);
	}
	print_head(o.o_json ? stderr : stdout, &o, &h, trace, debugfs);
	for (int ri = 0; ri < o.o_nram; ri++)
		print_table(o.o_json ? stderr : stdout, &o, ri, &h);
	return 0;
}
