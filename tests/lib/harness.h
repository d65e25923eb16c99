/*
 * harness.h: what kvmmu's tests and benchmarks share: start and stop a
 * real mmu-server in a temp dir, skip loudly without /dev/kvm, and check
 * with messages that print the expression and errno.
 * Trust: test code, run as root.
 */
#ifndef KVMMU_HARNESS_H
#define KVMMU_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"
#include <sys/types.h>

#define SKIP_CODE 77 /* ctest's SKIP_RETURN_CODE */

struct srv {
	pid_t s_pid;
	char s_dir[64];
	char s_sock[128];
};

/* Exits SKIP_CODE, saying why, when /dev/kvm cannot be opened. */
void require_kvm(const char *test);

/* Starts build/bin/mmu-server -d on a fresh socket; extra args may be NULL. */
int srv_start(struct srv *s, const char *const *extra);
/* SIGTERM, wait; returns its exit status (0 = clean, no leak under LSan). */
int srv_stop(struct srv *s);
/* A bare SOCK_SEQPACKET connection to path (no Hello), or -1. */
int raw_connect(const char *path);

/*
 * A reply (true; *err: it is an error or undecodable) or a hang-up (true,
 * *err set) on fd within timeout_ms; false when neither came.
 */
bool reply_or_hangup(int fd, int timeout_ms, bool *err);
/*
 * A loopback TCP connection never accepted nor read, its send buffer
 * full, SO_LINGER 30 s: closing its last reference blocks for 30 s.
 * *listener keeps the connection alive until the caller closes it.
 */
int linger_socket(int *listener);

/* Pins pid (0: this thread) to one CPU.  0 or -errno. */
int pin_cpu(pid_t pid, int cpu);
/* Open fds and resident KiB of a process. */
int proc_fd_count(pid_t pid);
long proc_rss_kib(pid_t pid);

const char *bin_path(const char *prog);
const char *guest_path(const char *payload);

/* What serve_vcpu saw of a guest. */
struct served {
	unsigned long sv_io;	/* port I/O exits */
	unsigned long sv_mmio;	/* MMIO exits (answered with all ones) */
	unsigned long sv_null;	/* writes to GUEST_PORT_NULL */
	uint32_t sv_status;	/* what the guest wrote to GUEST_PORT_EXIT */
	uint32_t sv_reports[8]; /* GUEST_PORT_REPORT values, in order */
	unsigned sv_nreports;
};

/*
 * A minimal frontend for one vCPU channel: serial output is dropped, the
 * UART reads ready, MMIO reads all ones.  Answers exits until the guest
 * writes its exit port (0), or none comes for timeout_ms (-ETIMEDOUT;
 * 0 ms: serve what is pending and return), or the channel fails.
 */
int serve_vcpu(int chan, int timeout_ms, struct served *s);

struct client;
struct boot;
struct boot_spec;
/*
 * One statistic of a VM (KVM's or the server's), by name, through the
 * data plane's GetStats; ~0 when the call fails or there is no such stat.
 * zap (may be NULL) receives the policy in force.
 */
uint64_t vm_stat(struct client *cl, uint32_t vm, const char *name,
		 Kvmmu__ZapControl *zap);
/* A vCPU statistic summed over the VM's vCPUs; ~0 when the call fails. */
uint64_t vcpu_stat_sum(struct client *cl, uint32_t vm, const char *name);
/* Whether the server's KVM maps guests with the TDP MMU (GetStats). */
bool vm_tdp_mmu(struct client *cl, uint32_t vm);
/* boot_vm() with build/guest/<payload>.bin as the payload. */
int test_boot(struct client *cl, struct boot *b, struct boot_spec *bs,
	      const char *payload, char *err, size_t errlen);

extern int checks_passed, checks_failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			checks_passed++;                                       \
		} else {                                                       \
			checks_failed++;                                       \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,          \
				__LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, " (errno %d: %s)\n", errno,            \
				strerror(errno));                              \
		}                                                              \
	} while (0)

/* Prints the plain closing line and returns the exit code. */
int checks_report(const char *test);

#endif
