/*
 * lxrun.h: what the benchmarks that boot Linux guests share (bench-linux-
 * boot, bench-virtio): one temp directory and one mmu-server per run, a
 * VMM spawned as a child whose console is read line by line (the init's
 * banner timed, its last lines kept for a failure), failures that say
 * why and end the run, the VM runner's kernel, and median/min-max over
 * rounds.  Whichever way the benchmark ends, the child and the server
 * are killed and the directory removed.  Trust: benchmark code, as root.
 */
#ifndef KVMMU_BENCH_LXRUN_H
#define KVMMU_BENCH_LXRUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* What the test guests' inits print (tests/linux/init, bench/virtio-init). */
#define LX_BANNER    "kvmmu-guest: banner"
#define LX_REBOOTING "kvmmu-guest: rebooting"
#define LX_PANIC     "Kernel panic"
#define LX_TAIL	     20
#define LX_NONE	     (-1.0) /* a figure that could not be measured: null */

/* A child whose stdout is read line by line. */
struct watch {
	pid_t w_pid;
	int w_fd;	   /* its stdout; -1 after end of file */
	uint64_t w_t0;	   /* when it was spawned */
	double w_banner_s; /* spawn to the banner line, or LX_NONE */
	bool w_rebooting, w_panic;
	const char *w_find; /* a text to look for, or NULL */
	bool w_found;
	int w_status;
	/* Called with each line, if set (after lx_spawn, which clears it). */
	void (*w_line_cb)(const char *line, void *arg);
	void *w_arg;
	char w_banner[160]; /* the banner line's rest: the guest's release */
	char w_json[4096];  /* kvmmu's summary line */
	char w_line[4096];
	size_t w_n;
	char w_tail[LX_TAIL][200];
	unsigned w_ntail;
};

/* The run's state, for lx_cleanup(). */
struct lx {
	const char *lx_name; /* "bench-virtio": prefixes every message */
	pid_t lx_child;	     /* the process being watched, or 0 */
	struct srv lx_srv;   /* s_pid 0 when not running */
	char lx_dir[64];     /* the temp dir, "" when none */
};

extern struct lx lx;
extern volatile sig_atomic_t lx_signal;

/*
 * Catches SIGINT, SIGTERM and SIGHUP (lx_signal; a watched child is then
 * killed), makes the run's temp directory (0755: frontends run as
 * nobody) and registers lx_cleanup() with atexit; exits 1 on failure.
 */
void lx_init(const char *name);
/* Kills the child and the server, empties and removes the directory. */
void lx_cleanup(void);
/* NAME in the run's directory (four buffers, reused in turn). */
const char *lx_path(const char *name);
double lx_since(uint64_t t0);

/* Spawns argv, its stdout to w, its stderr to errpath (NULL: stdout). */
int lx_spawn(struct watch *w, const char *const *argv, const char *errpath);
/*
 * Reads the child's output until it exits (0), calling tick (if any)
 * about every 200 ms, every 20 ms once init said it reboots; kills it
 * after limit_s seconds (-ETIMEDOUT) or on a signal (-EINTR).
 */
int lx_watch_run(struct watch *w, double limit_s, void (*tick)(void *),
		 void *arg);
/*
 * How a watched child ended, as a reason to fail, or NULL if cleanly
 * (with boot, that means the banner came and init rebooted).
 */
const char *lx_verdict(const struct watch *w, int r, unsigned timeout,
		       bool boot, char *buf, size_t len);
/* Says why what failed, with its last output, and ends the benchmark. */
__attribute__((noreturn)) void lx_fail(const char *what, const struct watch *w,
				       const char *why, const char *errpath);
void lx_print_file_tail(const char *path, const char *prefix);
/* Runs argv to its end, its output kept for a failure; exits on one. */
void lx_run_tool(const char *const *argv, const char *what, double limit_s,
		 const char *find, struct watch *w);
/* A number after "key": in kvmmu's JSON line; LX_NONE when absent. */
double lx_json_num(const char *line, const char *key);

/* mmu-server with extra args, its log lx_path("server.log"); exits on failure.
 */
void lx_start_server(const char *const *extra);

/*
 * $KVMMU_LINUX_KERNEL, else the VM runner's 6.12 kernel: in its cache
 * ($KVMMU_VM_CACHE), else in this build tree's (build/vm).
 */
const char *lx_default_kernel(void);
/* The VM runner's cache: $KVMMU_VM_CACHE, else build/vm. */
const char *lx_vm_cache(void);

/* Median, min and max over rounds; all LX_NONE if any value is. */
struct spread {
	double s_med, s_lo, s_hi;
};

struct spread lx_spread_of(const double *v, int n);

#endif
