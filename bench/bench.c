/*
 * bench.c: shared benchmark helpers and the in-process baseline VM.
 * Trust: benchmark code.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "guest.h"
#include "num.h"
#include "probe.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double percentile(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#define BENCH_MAX_OPTS 4

static void bench_usage(FILE *out, int code, const char *prog, const char *what,
			const struct bench_opt *opts, size_t nopts)
{
	fprintf(out, "usage: %s [--json]", prog);
	for (size_t i = 0; i < nopts; i++)
		fprintf(out, " [--%s N]", opts[i].bo_name);
	fprintf(out,
		"\n"
		"  %s\n"
		"  --json          the figures as one JSON object on stdout\n",
		what);
	for (size_t i = 0; i < nopts; i++)
		fprintf(out,
			"  --%s N\n                  %s, %llu..%llu (default "
			"%llu)\n",
			opts[i].bo_name, opts[i].bo_help,
			(unsigned long long)opts[i].bo_min,
			(unsigned long long)opts[i].bo_max,
			(unsigned long long)*opts[i].bo_value);
	fprintf(out,
		"  -h, --help      this text\n"
		"It starts its own mmu-server and needs /dev/kvm: where the "
		"host has none, run\n"
		"it in the VM runner (deploy/vm/run -- build/bin/%s).\n"
		"Exit status: 0 done, 1 failed, 2 bad arguments, 77 no "
		"/dev/kvm.\n",
		prog);
	exit(code);
}

bool bench_args(int argc, char **argv, const char *what,
		const struct bench_opt *opts, size_t nopts)
{
	struct option longs[BENCH_MAX_OPTS + 3] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
	};
	const char *prog =
		strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	bool json = false;
	uint64_t v;
	int c;

	if (nopts > BENCH_MAX_OPTS)
		abort(); /* a benchmark's own table: a bug, not input */
	for (size_t i = 0; i < nopts; i++)
		longs[2 + i] =
			(struct option){opts[i].bo_name, required_argument,
					NULL, (int)(256 + i)};
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			bench_usage(stdout, 0, prog, what, opts, nopts);
		} else if (c >= 256 && (size_t)(c - 256) < nopts) {
			const struct bench_opt *o = &opts[c - 256];

			if (num_parse(optarg, &v) < 0 || v < o->bo_min ||
			    v > o->bo_max) {
				fprintf(stderr,
					"%s: --%s: '%s' is not a number in "
					"%llu..%llu\n",
					prog, o->bo_name, optarg,
					(unsigned long long)o->bo_min,
					(unsigned long long)o->bo_max);
				exit(2);
			}
			*o->bo_value = v;
		} else {
			bench_usage(stderr, 2, prog, what, opts, nopts);
		}
	}
	if (optind != argc)
		bench_usage(stderr, 2, prog, what, opts, nopts);
	return json;
}

const char *bench_emulated(void)
{
	const char *env = getenv("KVMMU_VM_EMULATED");
	const char *how = NULL;
	char line[256];
	FILE *f;

	if (env != NULL && env[0] != '\0')
		return env;
	/* A VM not started by deploy/vm/run: QEMU's TCG CPUs say so. */
	f = fopen("/proc/cpuinfo", "re");
	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			if (strstr(line, "QEMU TCG") != NULL)
				how = "tcg";
			break;
		}
	}
	fclose(f);
	return how;
}

const char *bench_kvm(void)
{
	const char *mod = probe_kvm_module();

	if (mod == NULL)
		return "unknown";
	if (strcmp(mod, "kvm_pvm") == 0)
		return "pvm";
	return strcmp(mod, "kvm_amd") == 0 ? "svm" : "vmx";
}

void bench_require_linux_kvm(const char *name)
{
	const char *mod = probe_kvm_module();
	struct kvm_host kh;
	char why[200];
	enum kvm_kind k;

	if (kvm_host_open(&kh, "/dev/kvm") < 0)
		return; /* require_kvm() has said it */
	k = probe_kind(&kh, 0, why, sizeof(why));
	kvm_host_close(&kh);
	if (k == KVM_KIND_FULL)
		return;
	fprintf(stderr,
		"%s: this host's KVM (%s) cannot run a stock Linux kernel "
		"(probe guest: %s); run it in the VM runner: deploy/vm/run "
		"-- build/bin/%s\n",
		name, mod ? mod : "unknown module", why, name);
	exit(1);
}

void bench_head(const char *name, bool json)
{
	const char *how = bench_emulated();
	/* deploy/vm/run sets KVMMU_VM in its VM: the KVM is the VM's. */
	bool host = getenv("KVMMU_VM") == NULL;

	if (json) {
		printf("{\"bench\": \"%s\", \"kvm\": \"%s\", \"kvm_where\": "
		       "\"%s\", \"emulated\": ",
		       name, bench_kvm(), host ? "host" : "vm-runner");
		if (how != NULL)
			printf("\"%s\", ", how);
		else
			printf("null, ");
		return;
	}
	printf("note: %s runs on %s KVM (%s)%s\n", name,
	       host ? "this host's own" : "the VM runner's", bench_kvm(),
	       how ? "" : ": its times are real, not emulated");
	if (how != NULL)
		printf("note: %s ran under emulation (%s): its times are not "
		       "hardware times; its counts and same-run ratios are "
		       "the figures\n",
		       name, how);
}

static int inproc_vcpu(struct inproc *ip, const char *payload,
		       const char *cmdline)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	char err[256];
	void *img;
	size_t len;
	int r;

	r = guest_load_file(payload, &img, &len, err, sizeof(err));
	if (r == 0)
		r = guest_setup(ip->ip_ram, ip->ip_ram_bytes, 1, img, len,
				cmdline, err, sizeof(err));
	free(img);
	if (r < 0) {
		fprintf(stderr, "inproc: %s\n", err);
		return r;
	}
	ip->ip_vcpu = kvm_vcpu_create(&ip->ip_kh, ip->ip_vm, 0, &ip->ip_run);
	if (ip->ip_vcpu < 0)
		return ip->ip_vcpu;
	/* KVM refuses EFER.LME unless the guest's CPUID offers long mode. */
	r = kvm_vcpu_set_cpuid(ip->ip_vcpu, ip->ip_kh.kh_cpuid);
	if (r < 0)
		return r;
	r = kvm_vcpu_get_sregs(ip->ip_vcpu, &sregs);
	guest_vcpu_state(0, &regs, &sregs);
	if (r == 0)
		r = kvm_vcpu_set_sregs(ip->ip_vcpu, &sregs);
	return r ? r : kvm_vcpu_set_regs(ip->ip_vcpu, &regs);
}

int inproc_create(struct inproc *ip, uint64_t ram_bytes, const char *payload,
		  const char *cmdline)
{
	int r;

	memset(ip, 0, sizeof(*ip));
	ip->ip_vm = ip->ip_ram_fd = ip->ip_vcpu = -1;
	ip->ip_ram_bytes = ram_bytes;
	r = kvm_host_open(&ip->ip_kh, "/dev/kvm");
	if (r < 0)
		return r;
	ip->ip_vm = kvm_vm_create(&ip->ip_kh);
	ip->ip_ram_fd = memfd_create("inproc-ram", MFD_CLOEXEC);
	if (ip->ip_vm < 0 || ip->ip_ram_fd < 0 ||
	    ftruncate(ip->ip_ram_fd, (off_t)ram_bytes) < 0)
		return -EIO;
	ip->ip_ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_NORESERVE, ip->ip_ram_fd, 0);
	if (ip->ip_ram == MAP_FAILED) {
		ip->ip_ram = NULL;
		return -errno;
	}
	r = kvm_vm_set_slot(ip->ip_vm, 0, 0, 0, ram_bytes, ip->ip_ram);
	if (r == 0 && payload != NULL)
		r = inproc_vcpu(ip, payload, cmdline);
	return r;
}

void inproc_destroy(struct inproc *ip)
{
	kvm_vcpu_unmap_run(&ip->ip_kh, ip->ip_run);
	if (ip->ip_vcpu >= 0)
		close(ip->ip_vcpu);
	if (ip->ip_vm >= 0)
		close(ip->ip_vm);
	if (ip->ip_ram != NULL)
		munmap(ip->ip_ram, ip->ip_ram_bytes);
	if (ip->ip_ram_fd >= 0)
		close(ip->ip_ram_fd);
	kvm_host_close(&ip->ip_kh);
}

double bench_rpc_pair_us(struct client *cl, uint32_t vm, uint64_t gpa)
{
	uint64_t t0 = mono_ns();

	if (client_map(cl, vm, KVMMU__REGION_KIND__REGION_RAM, gpa, 2ULL << 20,
		       0, "alias", -1) < 0 ||
	    client_unmap(cl, vm, gpa) < 0) {
		fprintf(stderr, "bench: %s\n", cl->cl_err);
		exit(1);
	}
	return (double)(mono_ns() - t0) / 1e3;
}
