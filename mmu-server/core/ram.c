/*
 * ram.c: the backing of guest RAM (ram.h).
 *
 * "huge" RAM is a file on a tmpfs of the VM's own, mounted with
 * huge=within_size: a tmpfs mount's huge= is its own (shmem_enabled
 * overrides it only with "deny" and "force"), so the guest's first touch
 * of a 2 MiB range allocates a 2 MiB page there, as QEMU's anonymous RAM
 * gets THP, on a host left at shmem_enabled=never.  Mounting needs
 * CAP_SYS_ADMIN in the user namespace that owns the mount namespace, which
 * the server, unprivileged under its systemd unit, has nowhere: a child of
 * ours makes a user namespace and a mount namespace of its own (as bwrap
 * does; a root server run by hand needs neither), mounts the tmpfs
 * detached (fsopen/fsmount: it is attached nowhere, not even in that
 * namespace), opens an O_TMPFILE file in it and hands us the fd, then
 * exits.  The file has no name anywhere and the mount goes with the
 * last fd of the file, so a dead server leaves nothing.
 *
 * What a memfd's seals gave, and how it holds here: a tmpfs file cannot
 * be sealed (only memfd_create(MFD_ALLOW_SEALING) clears the seal every
 * shmem inode starts with), so a frontend holding the RAM fd can
 * ftruncate it.  Growing gains it nothing: the mount's size= is the VM's
 * RAM, so no more than that is ever allocated (beyond it, ENOSPC).
 * Shrinking takes RAM from its own guest only: the server never touches
 * guest RAM through its mapping (KVM reads it with uaccess, which fails
 * with EFAULT, not SIGBUS), so that VM's vCPUs stop (KVM_RUN fails, or the
 * guest, its page tables gone, triple-faults: kvm.backing) and nothing
 * else is hurt.  One mount per VM is what makes both true.
 *
 * Where the child cannot (user namespaces forbidden: sysctl, a unit's
 * RestrictNamespaces, a seccomp filter), RAM is a sealed memfd in 4 KiB
 * pages, and ram_host_init says why in one line.
 * Trust: privileged; sizes come validated from CreateVm.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/mount.h>

#include "hugemap.h"
#include "ram.h"
#include "userns.h"

#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

static struct ram_host ram_in_force = {
	.rh_want = RAM_4K,
	.rh_have = RAM_4K,
	.rh_why = "4k: the default of the core",
};

const char *ram_backing_name(enum ram_backing b)
{
	static const char *const names[] = {
		[RAM_4K] = "4k",
		[RAM_HUGE] = "huge",
		[RAM_HUGETLB_2M] = "hugetlb-2M",
		[RAM_HUGETLB_1G] = "hugetlb-1G",
	};

	return b <= RAM_HUGETLB_1G ? names[b] : "?";
}

/* A number from a sysfs file; -1 when it cannot be read. */
static long long sysfs_num(const char *dir, const char *name)
{
	char path[160];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int ram_hugetlb_check(uint32_t kib, uint64_t bytes, char *msg, size_t len)
{
	char dir[96];
	long long nr, freep, resv,
		need = (long long)(bytes / ((uint64_t)kib << 10));

	snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%ukB",
		 kib);
	nr = sysfs_num(dir, "nr_hugepages");
	freep = sysfs_num(dir, "free_hugepages");
	resv = sysfs_num(dir, "resv_hugepages");
	if (nr < 0 || freep < 0 || resv < 0) {
		snprintf(msg, len,
			 "%u KiB huge pages: this host has none "
			 "(no %s)",
			 kib, dir);
		return -ENOENT;
	}
	/* Free pages that mappings have reserved are not free for us. */
	if (freep - resv >= need)
		return 0;
	snprintf(msg, len,
		 "%u KiB huge pages: %lld free (%lld of them reserved by "
		 "others) of %lld, %lld needed: reserve more in "
		 "%s/nr_hugepages",
		 kib, freep, resv, nr, need, dir);
	return -ENOMEM;
}

int ram_backing_parse(const char *s)
{
	if (strcmp(s, "huge") == 0)
		return RAM_HUGE;
	if (strcmp(s, "4k") == 0)
		return RAM_4K;
	return -1;
}

/* The bracketed word of a sysfs choice ("always [never] deny"), or "". */
static void shmem_choice(char *out, size_t len)
{
	char buf[128], *a, *b;
	FILE *f = fopen(SHMEM_ENABLED, "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL && (a = strchr(buf, '[')) &&
	    (b = strchr(a, ']')) != NULL) {
		*b = '\0';
		snprintf(out, len, "%s", a + 1);
	}
	fclose(f);
}

/* The steps of the child, named in errors. */
enum tmpfs_step {
	TS_USERNS, /* fsopen EPERM, then unshare(CLONE_NEWUSER | CLONE_NEWNS) */
	TS_IDMAP,  /* our own uid and gid, as 0 inside */
	TS_FSOPEN, /* fsopen("tmpfs") and its options */
	TS_MOUNT,  /* FSCONFIG_CMD_CREATE, fsmount */
	TS_FILE,   /* openat(O_TMPFILE) */
	TS_SEND,   /* the fd to the parent */
};

static const char *const tmpfs_steps[] = {
	[TS_USERNS] = "no CAP_SYS_ADMIN, and a user namespace (unshare)",
	[TS_IDMAP] = "its uid/gid maps",
	[TS_FSOPEN] = "fsopen(tmpfs)",
	[TS_MOUNT] = "fsmount",
	[TS_FILE] = "an O_TMPFILE file",
	[TS_SEND] = "passing the fd",
};

static int fsconfig_str(int fs, const char *key, const char *val)
{
	return (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, val, 0);
}

/*
 * The child: a tmpfs of bytes in its own namespaces, one O_TMPFILE file
 * in it, sent on sock.  A failure sends {step, errno} and no fd.  Only
 * system calls from here on: the server has threads.
 */
static void __attribute__((noreturn))
tmpfs_child(int sock, const char *size, uid_t uid, gid_t gid)
{
	int msg[2] = {0, 0}, fs = -1, mnt = -1, fd = -1;
	char buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {msg, sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	/* A server with CAP_SYS_ADMIN (run by hand as root) mounts at once. */
	fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 && errno == EPERM) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			msg[0] = TS_USERNS;
			goto fail;
		}
		/* Root inside, the server's uid outside (userns.h). */
		msg[0] = TS_IDMAP;
		if (userns_map(0, uid, 0, gid) < 0)
			goto fail;
		fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	}
	msg[0] = TS_FSOPEN;
	/* Room for the file and the root: nothing else can be made in it. */
	if (fs < 0 || fsconfig_str(fs, "huge", "within_size") < 0 ||
	    fsconfig_str(fs, "size", size) < 0 ||
	    fsconfig_str(fs, "nr_inodes", "2") < 0 ||
	    fsconfig_str(fs, "mode", "0700") < 0)
		goto fail;
	msg[0] = TS_MOUNT;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID |
				   MOUNT_ATTR_NODEV);
	if (mnt < 0)
		goto fail;
	msg[0] = TS_FILE;
	fd = openat(mnt, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	msg[0] = TS_SEND;
	mh.msg_control = buf;
	mh.msg_controllen = sizeof(buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	msg[0] = -1;
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(msg))
		_exit(0);
	msg[0] = TS_SEND;
fail:
	msg[1] = errno;
	mh.msg_control = NULL;
	mh.msg_controllen = 0;
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL);
	_exit(1);
}

int ram_tmpfs_open(uint64_t bytes, char *msg, size_t len)
{
	int sv[2], got[2] = {TS_SEND, EPIPE}, fd = -1, st, err;
	char buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {got, sizeof(got)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = buf,
			    .msg_controllen = sizeof(buf)};
	struct cmsghdr *cm;
	char size[24];
	ssize_t n;
	pid_t pid;

	snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		err = errno;
		snprintf(msg, len, "socketpair: %s", strerror(err));
		return -err;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		tmpfs_child(sv[1], size, geteuid(), getegid());
	}
	err = errno;
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		snprintf(msg, len, "fork: %s", strerror(err));
		return -err;
	}
	n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm != NULL && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (fd >= 0 && ftruncate(fd, (off_t)bytes) == 0)
		return fd;
	if (fd >= 0) {
		got[0] = -1;
		got[1] = errno;
		close(fd);
	}
	err = got[1] > 0 ? got[1] : EIO;
	snprintf(msg, len, "%s: %s",
		 got[0] >= 0 && got[0] <= TS_SEND ? tmpfs_steps[got[0]]
						  : "ftruncate",
		 strerror(err));
	return -err;
}

/*
 * A 2 MiB file of our own, one byte written: does the kernel give it a
 * 2 MiB page?  0, or -errno with msg saying where it failed.
 */
static int ram_probe(char *msg, size_t len)
{
	int fd = ram_tmpfs_open(RAM_HUGE_PAGE, msg, len), err = 0;
	struct stat st;
	uint8_t *p;

	if (fd < 0)
		return fd;
	p = hugemap_shared(fd, RAM_HUGE_PAGE, MAP_NORESERVE);
	if (p == MAP_FAILED) {
		err = errno;
		snprintf(msg, len, "mmap: %s", strerror(err));
		close(fd);
		return -err;
	}
	p[0] = 1;
	if (fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_blocks * 512 != RAM_HUGE_PAGE) {
		err = EOPNOTSUPP;
		snprintf(msg, len,
			 "a touched tmpfs file got 4 KiB pages, not 2 MiB");
	}
	munmap(p, RAM_HUGE_PAGE);
	close(fd);
	return -err;
}

const struct ram_host *ram_host_init(enum ram_backing want)
{
	struct ram_host *h = &ram_in_force;
	char msg[160] = "";
	int err = 0;

	h->rh_want = want;
	h->rh_have = RAM_4K;
	shmem_choice(h->rh_shmem, sizeof(h->rh_shmem));
	/* Probed whatever want says, so the log and GetHost can tell. */
	h->rh_can_huge = h->rh_shmem[0] != '\0' &&
			 strcmp(h->rh_shmem, "deny") != 0 &&
			 (err = ram_probe(msg, sizeof(msg))) == 0;
	if (want == RAM_4K) {
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "4k (--ram-backing 4k): a memfd, pages as the guest "
			 "touches them, 2 MiB only where shmem_enabled [%s] "
			 "allows",
			 h->rh_shmem[0] ? h->rh_shmem : "absent");
	} else if (h->rh_shmem[0] == '\0') {
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "4k (huge asked): %s is missing: this kernel has no "
			 "transparent huge pages",
			 SHMEM_ENABLED);
	} else if (strcmp(h->rh_shmem, "deny") == 0) {
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "4k (huge asked): shmem_enabled=deny: the host "
			 "forbids huge pages in shared memory");
	} else if (err != 0) {
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "4k (huge asked): a tmpfs of our own: %s", msg);
	} else {
		h->rh_have = RAM_HUGE;
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "huge: 2 MiB pages as the guest touches them, on a "
			 "tmpfs per VM (huge=within_size; shmem_enabled [%s])",
			 h->rh_shmem);
	}
	return h;
}

const struct ram_host *ram_host(void)
{
	return &ram_in_force;
}

/* "Name:   123 kB" -> bytes, added to *v when the line is that field. */
static void smaps_field(const char *line, const char *name, uint64_t *v)
{
	size_t n = strlen(name);
	unsigned long long kb;

	if (strncmp(line, name, n) == 0 && line[n] == ':' &&
	    sscanf(line + n + 1, "%llu", &kb) == 1)
		*v += (uint64_t)kb << 10;
}

int ram_usage(const void *p, int fd, struct ram_usage *u)
{
	static const char *const huge[] = {"ShmemPmdMapped", "FilePmdMapped",
					   "Shared_Hugetlb", "Private_Hugetlb"};
	char line[512], want[32];
	bool in = false, found = false;
	struct stat st;
	FILE *f;

	memset(u, 0, sizeof(*u));
	if (fstat(fd, &st) < 0)
		return -errno;
	u->ru_alloc = (uint64_t)st.st_blocks * 512;
	f = fopen("/proc/self/smaps", "re");
	if (f == NULL)
		return -errno;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (!in) {
			in = found = strncmp(line, want, strlen(want)) == 0;
			continue;
		}
		/* VmFlags ends an entry. */
		if (strncmp(line, "VmFlags:", 8) == 0)
			break;
		smaps_field(line, "Rss", &u->ru_rss);
		for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
			smaps_field(line, huge[i], &u->ru_huge);
	}
	fclose(f);
	/* smaps leaves hugetlbfs pages out of Rss. */
	if (u->ru_huge > u->ru_rss)
		u->ru_rss = u->ru_huge;
	return found ? 0 : -ENOENT;
}
