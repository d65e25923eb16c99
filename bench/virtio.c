/*
 * virtio.c: bench-virtio (issue 21): a Linux guest's disk through kvmmu
 * against QEMU 7.2 on the same KVM, in one run.  One kernel (the VM
 * runner's 6.12, as bench-linux-boot), one raw image built here
 * (bench/virtio-image.sh: an ext4 root of busybox, bench/virtio-init and
 * the static I/O tool bench/vio.c, then an I/O region past the file
 * system) booted with root=/dev/vda, 1 vCPU, --ram MiB, in four
 * configurations per round, the order rotated by one from round to
 * round:
 *
 *   kvmmu        vmm-frontend --disk IMG: virtio-blk over the
 *                qemu-storage-daemon the frontend starts (vhost-user)
 *   kvmmu-base   the same, the guest doing one request per pattern: its
 *                exits are the boot's, the shutdown's and those of the
 *                tool's console lines, subtracted from kvmmu's
 *   qemu-vu      qemu-system-x86_64 -machine pc -accel kvm with
 *                vhost-user-blk-pci on a qemu-storage-daemon started
 *                here with the frontend's own arguments (the same back
 *                end), RAM a shared memfd
 *   qemu-blk     QEMU's own virtio-blk-pci, -drive cache=none,aio=threads
 *
 * Figures per boot: boot_s (spawn to the init's banner on the console,
 * read through a pipe for every VMM), the IOPS of four patterns of 4 KiB
 * O_DIRECT requests on /dev/vda, one at a time, --seconds each
 * (sequential read, random read, sequential write, random write), and
 * for kvmmu the exits that reached the frontend (its --json io_exits +
 * mmio_exits; of them the disk's, virtio_exits and virtio_kick_exits),
 * whose kvmmu - kvmmu-base difference per request more is the steady
 * state's.  Medians
 * and min-max over --runs rounds; ratios per round, then median and
 * min-max: kvmmu / qemu-vu IOPS per pattern (the same back end), kvmmu /
 * qemu-vu and kvmmu / qemu-blk boot time.  Targets (issue 21): <= 0.05
 * frontend exits per request; IOPS >= 0.95x qemu-vu's in every pattern;
 * boot no slower than qemu-vu's.
 *
 * A VM that fails, does not reach the banner, misses an I/O line or does
 * not end with init's reboot within --timeout ends the benchmark with a
 * message, its last output and exit status 1; children are killed,
 * never waited on forever.  Trust: benchmark code, run as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "harness.h"
#include "lxrun.h"

#define NAME	   "bench-virtio"
#define QSD	   "/usr/bin/qemu-storage-daemon"
#define FS_MIB	   64  /* the ext4 root */
#define REGION_MIB 128 /* the I/O region after it */
#define CMDLINE                                                                \
	"console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda ro"
#define MAX_RUNS 32

enum conf { C_KVMMU, C_BASE, C_QEMU_VU, C_QEMU_BLK, NCONF };

static const char *const conf_names[NCONF] = {"kvmmu", "kvmmu-base", "qemu-vu",
					      "qemu-blk"};
static const char *const conf_what[NCONF] = {
	"vmm-frontend --disk: virtio-blk, qemu-storage-daemon over vhost-user",
	"the same, 1 request per pattern (the exits of boot, shutdown and "
	"console)",
	"QEMU vhost-user-blk-pci, a qemu-storage-daemon with the same "
	"arguments",
	"QEMU virtio-blk-pci, -drive cache=none,aio=threads",
};

/* The I/O patterns, in the guest's order (bench/virtio-init). */
enum pat { P_SEQR, P_RANDR, P_SEQW, P_RANDW, NPAT };

static const char *const pat_names[NPAT] = {"seqread", "randread", "seqwrite",
					    "randwrite"};

/* One boot's figures (LX_NONE where not measured). */
struct run {
	double r_boot;
	double r_iops[NPAT];
	double r_ops; /* requests over the four patterns */
	/* kvmmu: exits the frontend served (port I/O and MMIO), and of them
	 * the disk's, and of those its queue notifications. */
	double r_fexits, r_exits, r_kicks;
};

struct opts {
	const char *o_kernel, *o_qemu;
	uint64_t o_runs, o_ram, o_secs, o_timeout;
	bool o_json;
};

static struct run results[NCONF][MAX_RUNS];
static char g_release[160];
static pid_t g_qsd; /* qemu-storage-daemon of qemu-vu, or 0 */

static void usage(FILE *out, int code)
{
	fprintf(out, "%s",
		"usage: bench-virtio [--runs N] [--ram MiB] [--seconds S] "
		"[--timeout SEC]\n"
		"                    [--kernel BZIMAGE] [--qemu PATH] "
		"[--json]\n"
		"  A Linux guest's virtio-blk disk: kvmmu (qemu-storage-daemon "
		"over vhost-user)\n"
		"  vs QEMU on the same back end and QEMU's own virtio-blk: "
		"boot time, 4 KiB\n"
		"  O_DIRECT IOPS, kvmmu's frontend exits per request\n"
		"  --runs N          rounds of every configuration, 1..32 "
		"(default 3)\n"
		"  --ram MiB         guest RAM, 128..3072 (default 512)\n"
		"  --seconds S       per I/O pattern, 1..600 (default 5)\n"
		"  --timeout SEC     per boot, 10..3600 (default 600)\n"
		"  --kernel BZIMAGE  default $KVMMU_LINUX_KERNEL, else the VM "
		"runner's\n"
		"                    backports/vmlinuz (its modules: the "
		"linux-image package\n"
		"                    beside it)\n"
		"  --qemu PATH       default qemu-system-x86_64\n"
		"  --json            JSON on stdout, the tables on stderr\n"
		"  -h, --help        this text\n"
		"It needs a KVM that runs a stock Linux kernel (mmu-server "
		"--check-kvm exit\n"
		"0); elsewhere run it in the VM runner (deploy/vm/run -- "
		"build/bin/bench-virtio).\n"
		"Exit status: 0 done, 1 failed (or no such KVM), 2 bad "
		"arguments, 77 no\n"
		"/dev/kvm.\n");
	exit(code);
}

static uint64_t parse_num(const char *s, const char *what, uint64_t lo,
			  uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, NAME ": %s: '%s' not in %llu..%llu\n", what, s,
			(unsigned long long)lo, (unsigned long long)hi);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"runs", required_argument, NULL, 'n'},
		{"ram", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"kernel", required_argument, NULL, 'k'},
		{"qemu", required_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){
		.o_kernel = lx_default_kernel(),
		.o_qemu = "qemu-system-x86_64",
		.o_runs = 3,
		.o_ram = 512,
		.o_secs = 5,
		.o_timeout = 600,
	};
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->o_runs = parse_num(optarg, "--runs", 1, MAX_RUNS);
			break;
		case 'r':
			o->o_ram = parse_num(optarg, "--ram", 128, 3072);
			break;
		case 's':
			o->o_secs = parse_num(optarg, "--seconds", 1, 600);
			break;
		case 't':
			o->o_timeout = parse_num(optarg, "--timeout", 10, 3600);
			break;
		case 'k':
			o->o_kernel = optarg;
			break;
		case 'q':
			o->o_qemu = optarg;
			break;
		case 'j':
			o->o_json = true;
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

/* The kernel package beside the kernel: its virtio_blk and ext4. */
static const char *kernel_deb(const char *kernel)
{
	static char path[640];
	char pat[600];
	const char *slash = strrchr(kernel, '/');
	glob_t gl;

	snprintf(pat, sizeof(pat), "%.*s/linux-image-*.deb",
		 slash ? (int)(slash - kernel) : 1, slash ? kernel : ".");
	path[0] = '\0';
	if (glob(pat, 0, NULL, &gl) == 0 && gl.gl_pathc > 0)
		snprintf(path, sizeof(path), "%s", gl.gl_pathv[0]);
	globfree(&gl);
	return path[0] ? path : NULL;
}

static void build_image(const struct opts *o)
{
	const char *deb = kernel_deb(o->o_kernel);
	char fs[16], region[16];
	const char *argv[] = {
		"/bin/bash", KVMMU_SOURCE_DIR "/bench/virtio-image.sh",
		lx.lx_dir,   deb,
		KVMMU_VIO,   fs,
		region,	     NULL};
	static struct watch w;

	if (deb == NULL) {
		fprintf(stderr,
			NAME ": no linux-image-*.deb beside %s: its virtio_blk "
			     "and ext4 modules are in it (deploy/vm/run "
			     "fetches it into build/vm)\n",
			o->o_kernel);
		exit(1);
	}
	snprintf(fs, sizeof(fs), "%d", FS_MIB);
	snprintf(region, sizeof(region), "%d", REGION_MIB);
	lx_run_tool(argv, "bench/virtio-image.sh", 300, NULL, &w);
}

/* full: --seconds per pattern; else one request per pattern. */
static void guest_cmdline(char *buf, size_t len, const struct opts *o,
			  bool full)
{
	snprintf(buf, len, "%s kvmmu.io=%llu kvmmu.ops=%d kvmmu.region=%d,%d",
		 CMDLINE, full ? (unsigned long long)o->o_secs : 1ULL,
		 full ? 0 : 1, FS_MIB, REGION_MIB);
}

/* "kvmmu-guest: io MODE ops N secs S iops X mbs Y" into the run. */
static void io_line(const char *line, void *arg)
{
	struct run *r = arg;
	const char *at = strstr(line, "kvmmu-guest: io ");
	char mode[16];
	double ops, secs, iops;

	if (at == NULL ||
	    sscanf(at, "kvmmu-guest: io %15s ops %lf secs %lf iops %lf", mode,
		   &ops, &secs, &iops) != 4)
		return;
	for (int p = 0; p < NPAT; p++) {
		if (strcmp(mode, pat_names[p]) == 0 &&
		    r->r_iops[p] == LX_NONE) {
			r->r_iops[p] = iops;
			r->r_ops += ops;
		}
	}
}

/* Runs a VMM to its end, the run's figures from its console. */
static void boot(const struct opts *o, const char *const *argv,
		 const char *what, struct run *r, struct watch *w)
{
	const char *errpath = lx_path("vmm.err");
	char why[200];
	int e;

	*r = (struct run){.r_boot = LX_NONE,
			  .r_iops = {LX_NONE, LX_NONE, LX_NONE, LX_NONE},
			  .r_fexits = LX_NONE,
			  .r_exits = LX_NONE,
			  .r_kicks = LX_NONE};
	e = lx_spawn(w, argv, errpath);
	if (e < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(-e));
		lx_fail(what, NULL, why, NULL);
	}
	w->w_line_cb = io_line;
	w->w_arg = r;
	/* The frontend's own --timeout goes first; this is the backstop. */
	e = lx_watch_run(w, (double)o->o_timeout + 15.0, NULL, NULL);
	if (lx_verdict(w, e, (unsigned)o->o_timeout, true, why, sizeof(why)))
		lx_fail(what, w, why, errpath);
	r->r_boot = w->w_banner_s;
	if (g_release[0] == '\0')
		snprintf(g_release, sizeof(g_release), "%s", w->w_banner);
	for (int p = 0; p < NPAT; p++) {
		if (r->r_iops[p] == LX_NONE) {
			snprintf(why, sizeof(why), "no '%s' line from vio",
				 pat_names[p]);
			lx_fail(what, w, why, errpath);
		}
	}
}

static void run_kvmmu(const struct opts *o, bool full, const char *what,
		      struct run *r)
{
	char mib[24], tmo[24], disk[160], cmdline[256], why[80];
	const char *argv[] = {bin_path("vmm-frontend"),
			      "--socket",
			      lx.lx_srv.s_sock,
			      "--kernel",
			      o->o_kernel,
			      "--initrd",
			      lx_path("initrd"),
			      "--memory",
			      mib,
			      "--vcpus",
			      "1",
			      "--disk",
			      disk,
			      "--cmdline",
			      cmdline,
			      "--json",
			      "--timeout",
			      tmo,
			      NULL};
	static struct watch w;

	snprintf(mib, sizeof(mib), "%llu", (unsigned long long)o->o_ram);
	snprintf(tmo, sizeof(tmo), "%llu", (unsigned long long)o->o_timeout);
	snprintf(disk, sizeof(disk), "%s", lx_path("root.raw"));
	guest_cmdline(cmdline, sizeof(cmdline), o, full);
	boot(o, argv, what, r, &w);
	if (w.w_json[0] == '\0')
		lx_fail(what, &w, "no JSON summary line from the frontend",
			lx_path("vmm.err"));
	r->r_exits = lx_json_num(w.w_json, "virtio_exits");
	r->r_kicks = lx_json_num(w.w_json, "virtio_kick_exits");
	r->r_fexits = lx_json_num(w.w_json, "io_exits");
	if (r->r_fexits != LX_NONE &&
	    lx_json_num(w.w_json, "mmio_exits") != LX_NONE)
		r->r_fexits += lx_json_num(w.w_json, "mmio_exits");
	else
		r->r_fexits = LX_NONE;
	if (r->r_exits == LX_NONE || r->r_kicks == LX_NONE ||
	    r->r_fexits == LX_NONE) {
		snprintf(why, sizeof(why),
			 "no virtio_exits, io_exits or mmio_exits in its JSON "
			 "line");
		lx_fail(what, &w, why, lx_path("vmm.err"));
	}
}

static void qsd_stop(void)
{
	if (g_qsd <= 0)
		return;
	kill(g_qsd, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(g_qsd, NULL, WNOHANG) == g_qsd) {
			g_qsd = 0;
			return;
		}
		poll(NULL, 0, 50);
	}
	kill(g_qsd, SIGKILL);
	waitpid(g_qsd, NULL, 0);
	g_qsd = 0;
}

/*
 * qemu-storage-daemon exporting the image on sock, with the arguments
 * vmm-frontend's disks.c gives its own (raw, file driver, writable).
 */
static void qsd_start(const char *sock, const char *what)
{
	char bd[256], ex[256];
	const char *log = lx_path("qsd.log");
	uint64_t t0;
	int fd;

	snprintf(bd, sizeof(bd),
		 "driver=raw,node-name=disk,read-only=off,file.driver=file,"
		 "file.filename=%s",
		 lx_path("root.raw"));
	snprintf(ex, sizeof(ex),
		 "type=vhost-user-blk,id=vda,node-name=disk,addr.type=unix,"
		 "addr.path=%s,writable=on",
		 sock);
	unlink(sock);
	g_qsd = fork();
	if (g_qsd < 0) {
		g_qsd = 0;
		lx_fail(what, NULL, "fork", NULL);
	}
	if (g_qsd == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(QSD, QSD, "--blockdev", bd, "--export", ex, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", QSD, strerror(errno));
		_exit(127);
	}
	for (t0 = mono_ns(); lx_since(t0) < 30; poll(NULL, 0, 20)) {
		struct stat st;

		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return;
		if (waitpid(g_qsd, NULL, WNOHANG) == g_qsd) {
			g_qsd = 0;
			lx_fail(what, NULL, "qemu-storage-daemon exited", log);
		}
	}
	lx_fail(what, NULL, "qemu-storage-daemon made no socket in 30 s", log);
}

static void run_qemu(const struct opts *o, enum conf c, const char *what,
		     struct run *r)
{
	char mib[24], mem[96], cmdline[256], chardev[192], drive[256];
	const char *argv[40] = {
		o->o_qemu,  "-accel",	 "kvm",	    "-machine", "pc",
		"-cpu",	    "host",	 "-m",	    mib,	"-nodefaults",
		"-display", "none",	 "-serial", "stdio",	"-no-reboot",
		"-kernel",  o->o_kernel, "-initrd", NULL,	"-append",
		cmdline};
	const char *sock = lx_path("vu.sock");
	static struct watch w;
	int n = 21;

	argv[18] = lx_path("initrd");
	snprintf(mib, sizeof(mib), "%llu", (unsigned long long)o->o_ram);
	guest_cmdline(cmdline, sizeof(cmdline), o, true);
	if (c == C_QEMU_VU) {
		/* vhost-user needs the guest's RAM in a shared fd. */
		snprintf(mem, sizeof(mem),
			 "memory-backend-memfd,id=mem,size=%lluM,share=on",
			 (unsigned long long)o->o_ram);
		snprintf(chardev, sizeof(chardev), "socket,id=vu,path=%s",
			 sock);
		argv[n++] = "-object";
		argv[n++] = mem;
		argv[n++] = "-numa";
		argv[n++] = "node,memdev=mem";
		argv[n++] = "-chardev";
		argv[n++] = chardev;
		argv[n++] = "-device";
		argv[n++] = "vhost-user-blk-pci,chardev=vu";
		qsd_start(sock, what);
	} else {
		snprintf(drive, sizeof(drive),
			 "file=%s,if=none,id=d0,format=raw,cache=none,"
			 "aio=threads",
			 lx_path("root.raw"));
		argv[n++] = "-drive";
		argv[n++] = drive;
		argv[n++] = "-device";
		argv[n++] = "virtio-blk-pci,drive=d0";
	}
	argv[n] = NULL;
	boot(o, argv, what, r, &w);
	qsd_stop();
}

/* A figure of every round of configuration c. */
static struct spread fig_spread(enum conf c, size_t off, int runs)
{
	double v[MAX_RUNS];

	for (int k = 0; k < runs; k++)
		v[k] = *(const double *)((const char *)&results[c][k] + off);
	return lx_spread_of(v, runs);
}

#define FIG(field) offsetof(struct run, field)

/* a/b of one figure, per round, then median and min-max over rounds. */
static struct spread ratio_spread(enum conf a, enum conf b, size_t off,
				  int runs)
{
	double v[MAX_RUNS];

	for (int k = 0; k < runs; k++) {
		double x =
			*(const double *)((const char *)&results[a][k] + off);
		double y =
			*(const double *)((const char *)&results[b][k] + off);

		v[k] = x == LX_NONE || y == LX_NONE || y <= 0 ? LX_NONE : x / y;
	}
	return lx_spread_of(v, runs);
}

/*
 * kvmmu's exits of one kind (a field of struct run) per request in the
 * steady state: (kvmmu - kvmmu-base) / the requests kvmmu made more.
 */
static struct spread per_request(size_t off, int runs)
{
	double v[MAX_RUNS];

	for (int k = 0; k < runs; k++) {
		const char *io = (const char *)&results[C_KVMMU][k];
		const char *base = (const char *)&results[C_BASE][k];
		double x = *(const double *)(io + off) -
			   *(const double *)(base + off);
		double ops =
			results[C_KVMMU][k].r_ops - results[C_BASE][k].r_ops;

		v[k] = ops > 0 ? (x < 0 ? 0 : x) / ops : LX_NONE;
	}
	return lx_spread_of(v, runs);
}

static const char *cell(struct spread s, int prec)
{
	static char buf[8][64];
	static int i;
	char *p = buf[i++ % 8];

	if (s.s_med == LX_NONE)
		snprintf(p, 64, "n/a");
	else
		snprintf(p, 64, "%.*f [%.*f-%.*f]", prec, s.s_med, prec, s.s_lo,
			 prec, s.s_hi);
	return p;
}

static const char *met(bool yes)
{
	return yes ? "met" : "not met";
}

static void print_tables(FILE *out, const struct opts *o)
{
	int runs = (int)o->o_runs;
	struct spread s;
	bool all = true;

	fprintf(out,
		"guest: linux %s, 1 vCPU, %llu MiB, root=/dev/vda (ext4, "
		"%d MiB, ro)\n"
		"       I/O: 4 KiB O_DIRECT, one request at a time, %llu s "
		"per pattern, on\n"
		"       /dev/vda's %d MiB after the file system\n",
		g_release[0] ? g_release : "?", (unsigned long long)o->o_ram,
		FS_MIB, (unsigned long long)o->o_secs, REGION_MIB);
	for (int c = 0; c < NCONF; c++)
		fprintf(out, "  %-10s %s\n", conf_names[c], conf_what[c]);
	fprintf(out,
		"\nmedian [min-max] over %d round(s); boot_s: spawn to the "
		"init's banner\n%-10s %-20s",
		runs, "config", "boot_s");
	for (int p = 0; p < NPAT; p++)
		fprintf(out, " %-24s", pat_names[p]);
	fprintf(out, "\n");
	for (int c = 0; c < NCONF; c++) {
		fprintf(out, "%-10s %-20s", conf_names[c],
			cell(fig_spread((enum conf)c, FIG(r_boot), runs), 2));
		for (int p = 0; p < NPAT; p++)
			fprintf(out, " %-24s",
				c == C_BASE
					? "-"
					: cell(fig_spread((enum conf)c,
							  FIG(r_iops[p]), runs),
					       0));
		fprintf(out, "\n");
	}
	fprintf(out, "\nratios, per round then median [min-max]:\n");
	s = per_request(FIG(r_fexits), runs);
	fprintf(out,
		"  kvmmu's exits that reached the frontend, per request: %s "
		"(target <= 0.05: %s)\n",
		cell(s, 4), met(s.s_med != LX_NONE && s.s_med <= 0.05));
	all = s.s_med != LX_NONE && s.s_med <= 0.05;
	fprintf(out,
		"    of them at the disk: %s, its queue notifications: %s\n",
		cell(per_request(FIG(r_exits), runs), 4),
		cell(per_request(FIG(r_kicks), runs), 4));
	for (int p = 0; p < NPAT; p++) {
		s = ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_iops[p]), runs);
		fprintf(out,
			"  %-9s IOPS kvmmu / qemu-vu: %s (target >= 0.95: "
			"%s); / qemu-blk: %s\n",
			pat_names[p], cell(s, 3),
			met(s.s_med != LX_NONE && s.s_med >= 0.95),
			cell(ratio_spread(C_KVMMU, C_QEMU_BLK, FIG(r_iops[p]),
					  runs),
			     3));
		all = all && s.s_med != LX_NONE && s.s_med >= 0.95;
	}
	s = ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_boot), runs);
	fprintf(out,
		"  boot_s kvmmu / qemu-vu: %s (target <= 1: %s); / "
		"qemu-blk: %s\n",
		cell(s, 3), met(s.s_med != LX_NONE && s.s_med <= 1),
		cell(ratio_spread(C_KVMMU, C_QEMU_BLK, FIG(r_boot), runs), 3));
	all = all && s.s_med != LX_NONE && s.s_med <= 1;
	fprintf(out, "targets: %s\n", all ? "all met" : "not all met");
}

static void json_num_out(double v, int prec)
{
	if (v == LX_NONE)
		printf("null");
	else
		printf("%.*f", prec, v);
}

static void json_spread(const char *key, struct spread s, int prec)
{
	printf("\"%s\": {\"median\": ", key);
	json_num_out(s.s_med, prec);
	printf(", \"min\": ");
	json_num_out(s.s_lo, prec);
	printf(", \"max\": ");
	json_num_out(s.s_hi, prec);
	printf("}");
}

static void json_round(const struct run *r)
{
	printf("{\"boot_s\": ");
	json_num_out(r->r_boot, 4);
	for (int p = 0; p < NPAT; p++) {
		printf(", \"%s\": ", pat_names[p]);
		json_num_out(r->r_iops[p], 1);
	}
	printf(", \"requests\": ");
	json_num_out(r->r_ops, 0);
	printf(", \"frontend_exits\": ");
	json_num_out(r->r_fexits, 0);
	printf(", \"virtio_exits\": ");
	json_num_out(r->r_exits, 0);
	printf(", \"virtio_kick_exits\": ");
	json_num_out(r->r_kicks, 0);
	printf("}");
}

static void json_config(enum conf c, int runs)
{
	printf("{\"config\": \"%s\", ", conf_names[c]);
	json_spread("boot_s", fig_spread(c, FIG(r_boot), runs), 4);
	printf(", \"iops\": {");
	for (int p = 0; p < NPAT; p++) {
		printf(p ? ", " : "");
		json_spread(pat_names[p],
			    c == C_BASE
				    ? (struct spread){LX_NONE, LX_NONE, LX_NONE}
				    : fig_spread(c, FIG(r_iops[p]), runs),
			    1);
	}
	printf("}, \"rounds\": [");
	for (int k = 0; k < runs; k++) {
		printf(k ? ", " : "");
		json_round(&results[c][k]);
	}
	printf("]}");
}

static void json_bool(const char *key, struct spread s, double limit,
		      bool at_most)
{
	printf("\"%s\": ", key);
	if (s.s_med == LX_NONE)
		printf("null");
	else
		printf("%s", (at_most ? s.s_med <= limit : s.s_med >= limit)
				     ? "true"
				     : "false");
}

static void print_json(const struct opts *o)
{
	int runs = (int)o->o_runs;

	bench_head("virtio", true);
	printf("\"guest\": {\"release\": \"%s\", \"kernel\": \"%s\", "
	       "\"cmdline\": \"%s\", \"vcpus\": 1, \"ram_mib\": %llu, "
	       "\"fs_mib\": %d, \"region_mib\": %d, \"block\": 4096, "
	       "\"seconds_per_pattern\": %llu}, \"rounds\": %d, "
	       "\"configs\": [",
	       g_release, o->o_kernel, CMDLINE, (unsigned long long)o->o_ram,
	       FS_MIB, REGION_MIB, (unsigned long long)o->o_secs, runs);
	for (int c = 0; c < NCONF; c++) {
		printf(c ? ", " : "");
		json_config((enum conf)c, runs);
	}
	printf("], \"ratios\": {");
	json_spread("kvmmu_frontend_exits_per_request",
		    per_request(FIG(r_fexits), runs), 5);
	printf(", ");
	json_spread("kvmmu_virtio_exits_per_request",
		    per_request(FIG(r_exits), runs), 5);
	printf(", ");
	json_spread("kvmmu_kick_exits_per_request",
		    per_request(FIG(r_kicks), runs), 5);
	for (int p = 0; p < NPAT; p++) {
		char key[48];

		snprintf(key, sizeof(key), "%s_kvmmu_qemu_vu", pat_names[p]);
		printf(", ");
		json_spread(
			key,
			ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_iops[p]), runs),
			4);
		snprintf(key, sizeof(key), "%s_kvmmu_qemu_blk", pat_names[p]);
		printf(", ");
		json_spread(
			key,
			ratio_spread(C_KVMMU, C_QEMU_BLK, FIG(r_iops[p]), runs),
			4);
	}
	printf(", ");
	json_spread("boot_kvmmu_qemu_vu",
		    ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_boot), runs), 4);
	printf(", ");
	json_spread("boot_kvmmu_qemu_blk",
		    ratio_spread(C_KVMMU, C_QEMU_BLK, FIG(r_boot), runs), 4);
	printf("}, \"targets\": {");
	json_bool("frontend_exits_per_request_at_most_0.05",
		  per_request(FIG(r_fexits), runs), 0.05, true);
	for (int p = 0; p < NPAT; p++) {
		char key[48];

		snprintf(key, sizeof(key), "%s_at_least_0.95_qemu_vu",
			 pat_names[p]);
		printf(", ");
		json_bool(
			key,
			ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_iops[p]), runs),
			0.95, false);
	}
	printf(", ");
	json_bool("boot_not_slower_than_qemu_vu",
		  ratio_spread(C_KVMMU, C_QEMU_VU, FIG(r_boot), runs), 1, true);
	printf("}}\n");
}

static void progress(int k, int runs, enum conf c, const struct run *r)
{
	fprintf(stderr, NAME ": round %d/%d, %-10s banner at %.2f s", k + 1,
		runs, conf_names[c], r->r_boot);
	for (int p = 0; c != C_BASE && p < NPAT; p++)
		fprintf(stderr, ", %s %.0f", pat_names[p], r->r_iops[p]);
	if (r->r_exits != LX_NONE)
		fprintf(stderr,
			", frontend exits %.0f, at the disk %.0f (kicks %.0f)",
			r->r_fexits, r->r_exits, r->r_kicks);
	fprintf(stderr, "\n");
}

static void need(const char *path, const char *why)
{
	if (access(path, R_OK) == 0)
		return;
	fprintf(stderr, NAME ": cannot read %s: %s (%s)\n", path,
		strerror(errno), why);
	exit(1);
}

static void cleanup(void)
{
	lx_cleanup(); /* the VMM first: it holds the daemon's socket */
	qsd_stop();
}

int main(int argc, char **argv)
{
	struct opts o;
	char what[128];
	int runs;

	parse_args(argc, argv, &o);
	runs = (int)o.o_runs;
	require_kvm("bench/virtio");
	bench_require_linux_kvm(NAME);
	need(o.o_kernel, "the kernel is the VM runner's: deploy/vm/run "
			 "fetches it");
	need(QSD, "Debian's qemu-system-x86: deploy/install-deps.sh");
	need(KVMMU_VIO, "built with bench-virtio");
	lx_init(NAME);
	atexit(cleanup);
	build_image(&o);
	lx_start_server(NULL);
	for (int k = 0; k < runs; k++) {
		for (int j = 0; j < NCONF; j++) {
			enum conf c = (enum conf)((j + k) % NCONF);
			struct run *r = &results[c][k];

			snprintf(what, sizeof(what), "%s, round %d/%d",
				 conf_names[c], k + 1, runs);
			if (c == C_KVMMU || c == C_BASE)
				run_kvmmu(&o, c == C_KVMMU, what, r);
			else
				run_qemu(&o, c, what, r);
			progress(k, runs, c, r);
		}
	}
	if (srv_stop(&lx.lx_srv) != 0) {
		fprintf(stderr, NAME ": mmu-server did not exit cleanly; its "
				     "log:\n");
		lx_print_file_tail(lx_path("server.log"), "server");
	}
	if (o.o_json) {
		print_json(&o);
		fflush(stdout);
	} else {
		bench_head("virtio", false);
	}
	print_tables(o.o_json ? stderr : stdout, &o);
	return 0;
}
