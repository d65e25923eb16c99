/*
 * sandbox.c: privilege drop, no_new_privs and a seccomp allow-list for
 * vmm-frontend.  The filter is raw BPF (no extra library): the syscalls
 * the exit loop, the device models, libvirt's event loop and glibc need,
 * each with the reason; anything else fails with EPERM (not a kill, so a
 * library's unexpected call is an error message, not a mystery crash).
 * open/openat are not allowed: everything the frontend reads was opened
 * before, so /dev/kvm stays out of reach whatever its permissions.  The
 * filter covers every thread (TSYNC), libvirt's event thread included.
 * Trust: runs before any guest exit is served.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "sandbox.h"

/* The syscalls a running frontend makes, and why. */
static const int allowed[] = {
	SYS_read,
	SYS_write,
	SYS_readv,
	SYS_writev, /* stdio, pipes */
	SYS_recvmsg,
	SYS_sendmsg, /* the server's sockets */
	SYS_recvfrom,
	SYS_sendto, /* libvirt's socket */
	SYS_poll,
	SYS_ppoll, /* the exit loop */
	SYS_epoll_wait,
	SYS_epoll_ctl,
	SYS_epoll_pwait,
	SYS_close,
	SYS_fcntl,
	SYS_dup,
	SYS_dup3, /* fd housekeeping */
	SYS_fstat,
	SYS_newfstatat,
	SYS_lseek, /* stdio's buffering */
	SYS_mmap,
	SYS_munmap,
	SYS_mprotect, /* malloc, guest RAM */
	SYS_mremap,
	SYS_madvise,
	SYS_brk,
	SYS_futex,
	SYS_sched_yield, /* libvirt's event thread */
	SYS_clock_gettime,
	SYS_clock_nanosleep, /* timeouts, summaries */
	SYS_nanosleep,
	SYS_gettimeofday,
	SYS_getpid,
	SYS_gettid,
	SYS_getuid, /* logs */
	SYS_rt_sigaction,
	SYS_rt_sigprocmask, /* glibc, abort() */
	SYS_rt_sigreturn,
	SYS_sigaltstack,
	SYS_tgkill,
	SYS_eventfd2,
	SYS_pipe2,     /* libvirt's wakeups */
	SYS_getrandom, /* malloc, libvirt */
	SYS_shutdown,
	SYS_getsockopt, /* libvirt's close */
	SYS_pidfd_send_signal,
	SYS_waitid, /* the disks' back ends: only by our own pidfds */
	SYS_restart_syscall,
	SYS_exit,
	SYS_exit_group,
};

#define ARCH_NR AUDIT_ARCH_X86_64

static int sandbox_seccomp(void)
{
	enum { N = sizeof(allowed) / sizeof(allowed[0]) };
	struct sock_filter f[4 + N + 2];
	struct sock_fprog prog = {.filter = f};
	size_t n = 0;

	/* Another architecture's numbers would mean other syscalls. */
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      ARCH_NR, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < N; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(
			BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i],
			(unsigned char)(N - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	/* TSYNC: libvirt's event thread already runs; it is confined too. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

/* Root becomes user, with only that user's groups. */
static int sandbox_drop(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "vmm-frontend: --user: no user '%s'\n", user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0; /* --user root: asked to stay */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "vmm-frontend: becoming '%s': %s\n", user,
			strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		fprintf(stderr, "vmm-frontend: could regain root\n");
		return -1;
	}
#ifdef KVMMU_SANITIZE
	/*
	 * The uid change made us non-dumpable, and LeakSanitizer's check at
	 * exit needs ptrace.  Only in the sanitizer build: a release frontend
	 * stays non-dumpable, so a process of the same user (another
	 * frontend) cannot attach to it.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}

bool sandbox_has_seccomp(void)
{
#ifdef KVMMU_SANITIZE
	return false; /* LeakSanitizer needs ptrace and /proc at exit */
#else
	return true;
#endif
}

int sandbox_enter(const char *user, bool seccomp)
{
	if (sandbox_drop(user) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("vmm-frontend: no_new_privs");
		return -1;
	}
	if (!seccomp)
		return 0;
	if (!sandbox_has_seccomp()) {
		fprintf(stderr, "vmm-frontend: sanitizer build: no seccomp "
				"filter (LeakSanitizer needs ptrace)\n");
		return 0;
	}
	if (sandbox_seccomp() < 0) {
		perror("vmm-frontend: seccomp");
		return -1;
	}
	return 0;
}

const char *sandbox_probe(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return strerror(errno);
	close(fd);
	return "ok";
}
