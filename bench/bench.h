/*
 * bench.h: what kvmmu's benchmarks share: a clock, sample statistics,
 * table/JSON output, and an in-process VM (the monolithic-VMM baseline
 * every ratio is measured against, using the same kvm.c and guest.c the
 * server and frontend use).  Trust: benchmark code, run as root.
 */
#ifndef KVMMU_BENCH_H
#define KVMMU_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "kvm.h"

/* Sorts v in place and returns the p-th percentile (0..100). */
double percentile(double *v, size_t n, double p);

/* An option of one benchmark, besides --json and --help. */
struct bench_opt {
	const char *bo_name; /* the long option, without its dashes */
	const char *bo_help; /* a line for --help: its argument, what it does */
	uint64_t bo_min, bo_max;
	uint64_t *bo_value; /* its default; set when the option is given */
};

/*
 * A benchmark's command line, read before anything starts: --json (the
 * return value), -h/--help (the usage, with what and the options, on
 * stdout; exit 0), the nopts options of opts (a number in their range);
 * anything else prints the usage on stderr and exits 2.
 */
bool bench_args(int argc, char **argv, const char *what,
		const struct bench_opt *opts, size_t nopts);

/*
 * How the CPU is emulated ("tcg", as inside deploy/vm/run's VM, which sets
 * KVMMU_VM_EMULATED), or NULL on hardware virtualization.
 */
const char *bench_emulated(void);
/*
 * Which KVM runs the guests: "pvm" (kvm_pvm), "svm" (kvm_amd), "vmx"
 * (kvm_intel), or "unknown".
 */
const char *bench_kvm(void);
/*
 * Exits 1, saying where to run it instead, when this host's KVM cannot run
 * a stock Linux kernel (mmu-server --check-kvm's verdict; probe.h).
 */
void bench_require_linux_kvm(const char *name);
/*
 * Starts a benchmark's output: with json, prints the object's opening,
 * '{"bench": NAME, "kvm": "pvm"|"svm"|"vmx", "kvm_where": "host"|
 * "vm-runner", "emulated": "tcg"|null, ', for the caller to go on from;
 * without, a line that names the KVM and says whether times are emulated.
 */
void bench_head(const char *name, bool json);

struct client;
/*
 * Maps a 2 MiB RAM alias at gpa through mmu-server and unmaps it again;
 * returns the microseconds the pair took (exits on failure).
 */
double bench_rpc_pair_us(struct client *cl, uint32_t vm, uint64_t gpa);

/* A VM created and run in this process. */
struct inproc {
	struct kvm_host ip_kh;
	int ip_vm;
	int ip_ram_fd;
	uint8_t *ip_ram;
	uint64_t ip_ram_bytes;
	int ip_vcpu;
	struct kvm_run *ip_run;
};

/* VM with RAM in slot 0 at GPA 0; with payload, one vCPU ready to run. */
int inproc_create(struct inproc *ip, uint64_t ram_bytes, const char *payload,
		  const char *cmdline);
void inproc_destroy(struct inproc *ip);

#endif
