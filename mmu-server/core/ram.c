/*
 * ram.c: the backing of guest RAM (ram.h).  Why collapse rather than a
 * tmpfs of our own mounted huge=within_size: a regular tmpfs file cannot
 * be sealed (only memfd_create(MFD_ALLOW_SEALING) clears the seal that
 * every shmem inode starts with), and a frontend holding an unsealed RAM
 * fd could ftruncate it, growing it past its RAM quota through its own
 * mapping or shrinking it under the guest; and mounting needs
 * CAP_SYS_ADMIN, which the hardened unit does not give.
 * Trust: privileged; sizes come validated from CreateVm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hugemap.h"
#include "ram.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 uapi */
#endif

#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/* Consecutive failures after which a VM's collapse gives up. */
#define RAM_MISSES_MAX 16

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

uint64_t ram_collapse(void *p, int fd, uint64_t len, int *err)
{
	volatile uint8_t *base = p;
	uint64_t done = 0;
	unsigned misses = 0;

	*err = 0;
	for (uint64_t off = 0; off + RAM_HUGE_PAGE <= len;
	     off += RAM_HUGE_PAGE) {
		/*
		 * MADV_COLLAPSE builds a huge page from pages present and
		 * refuses a range with none (EINVAL): one written byte gives
		 * it the first; the memfd is new, so that byte is a 0 anyway.
		 */
		base[off] = 0;
		if (madvise((uint8_t *)p + off, RAM_HUGE_PAGE, MADV_COLLAPSE) ==
		    0) {
			/*
			 * The page stays in the memfd; our mapping of it
			 * goes, so that RSS counts what the guest touched
			 * (the first touch maps the 2 MiB page whole).
			 */
			madvise((uint8_t *)p + off, RAM_HUGE_PAGE,
				MADV_DONTNEED);
			done += RAM_HUGE_PAGE;
			misses = 0;
			continue;
		}
		*err = errno;
		/* Give back the 4 KiB page the write took. */
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, 4096);
		/* EINVAL: this kernel cannot (or may not); no use going on. */
		if (*err == EINVAL || ++misses == RAM_MISSES_MAX)
			break;
	}
	return done;
}

/* Collapses a 2 MiB memfd of our own: can this kernel do it for us? */
static int ram_probe(void)
{
	int fd = memfd_create("kvmmu-ram-probe", MFD_CLOEXEC), err = 0;
	void *p;

	if (fd < 0)
		return errno;
	if (ftruncate(fd, (off_t)RAM_HUGE_PAGE) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	p = hugemap_shared(fd, RAM_HUGE_PAGE, MAP_NORESERVE);
	if (p == MAP_FAILED) {
		err = errno;
		close(fd);
		return err;
	}
	if (ram_collapse(p, fd, RAM_HUGE_PAGE, &err) != RAM_HUGE_PAGE &&
	    err == 0)
		err = EIO;
	munmap(p, RAM_HUGE_PAGE);
	close(fd);
	return err;
}

const struct ram_host *ram_host_init(enum ram_backing want)
{
	struct ram_host *h = &ram_in_force;
	int err = 0;

	h->rh_want = want;
	h->rh_have = RAM_4K;
	shmem_choice(h->rh_shmem, sizeof(h->rh_shmem));
	/* Probed whatever want says, so the log and GetHost can tell. */
	h->rh_can_huge = h->rh_shmem[0] != '\0' &&
			 strcmp(h->rh_shmem, "deny") != 0 &&
			 (err = ram_probe()) == 0;
	if (h->rh_shmem[0] == '\0') {
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
			 "4k (huge asked): MADV_COLLAPSE of a memfd: %s%s",
			 strerror(err),
			 err == EINVAL ? " (Linux 6.1 or later is needed)"
				       : "");
	} else if (want == RAM_HUGE) {
		h->rh_have = RAM_HUGE;
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "huge: 2 MiB pages by MADV_COLLAPSE, allocated at "
			 "CreateVm (shmem_enabled [%s])",
			 h->rh_shmem);
	}
	if (want == RAM_4K)
		snprintf(h->rh_why, sizeof(h->rh_why),
			 "4k (--ram-backing 4k): pages as the guest touches "
			 "them, 2 MiB only where shmem_enabled [%s] allows",
			 h->rh_shmem[0] ? h->rh_shmem : "absent");
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
