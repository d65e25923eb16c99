/*
 * ram.h: how guest RAM is backed.  A memfd lives on the kernel's internal
 * shmem mount, whose huge pages /sys/kernel/mm/transparent_hugepage/
 * shmem_enabled governs, and Debian's default there is "never": every 2
 * MiB the guest touches then costs KVM 512 faults of 4 KiB, where QEMU's
 * anonymous RAM gets THP.  So by default ("huge") each VM's RAM is a file
 * on a tmpfs of its own mounted huge=within_size, which that setting does
 * not govern: the guest's first touch of a 2 MiB range takes one 2 MiB
 * page, and nothing is allocated before (ram.c says how, and why that is
 * safe without a memfd's seals).  "4k" is the sealed memfd.
 * Trust: privileged; sizes come validated from CreateVm.
 */
#ifndef KVMMU_RAM_H
#define KVMMU_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ram_backing {
	RAM_4K,		/* pages as the guest touches them: 4 KiB on "never" */
	RAM_HUGE,	/* 2 MiB pages as touched: a tmpfs per VM */
	RAM_HUGETLB_2M, /* hugetlbfs pages the host reserved, per VM */
	RAM_HUGETLB_1G,
};

#define RAM_HUGE_PAGE (2ULL << 20)

/* What the server backs RAM with, decided once at start. */
struct ram_host {
	enum ram_backing rh_want; /* mmu-server --ram-backing */
	enum ram_backing rh_have; /* in force, after the probe */
	bool rh_can_huge;	  /* the probe got a 2 MiB page: may ask */
	char rh_shmem[16];	  /* shmem_enabled's choice; "" if none */
	char rh_why[200];	  /* one line: how, or why not */
};

/* Of one VM's RAM, from the kernel's accounting of our mapping of it. */
struct ram_usage {
	uint64_t ru_alloc; /* bytes the memfd holds (its blocks) */
	uint64_t ru_rss;   /* bytes present in our mapping: touched */
	uint64_t ru_huge;  /* of which mapped by 2 MiB (or hugetlb) entries */
};

const char *ram_backing_name(enum ram_backing b);
/* "huge" or "4k"; -1 for anything else. */
int ram_backing_parse(const char *s);

/*
 * Decides the backing in force for want: reads shmem_enabled and makes a
 * 2 MiB tmpfs file of its own to see that this host gives it a 2 MiB
 * page.  Returns the result (also ram_host() from then on); the caller
 * logs rh_why.  Before any call ram_host() says 4k (tests of the core
 * that never ask keep the old behaviour).
 */
const struct ram_host *ram_host_init(enum ram_backing want);
const struct ram_host *ram_host(void);

/*
 * A file of bytes for "huge" RAM: on a tmpfs of its own (huge=within_size,
 * size=bytes), made by a child in a user and mount namespace of its own,
 * with no name anywhere.  The fd (O_RDWR, close-on-exec), or -errno with
 * msg saying which step failed.
 */
int ram_tmpfs_open(uint64_t bytes, char *msg, size_t len);

/*
 * Whether the host has bytes of hugetlbfs pages of kib KiB free for us:
 * 0, or -ENOMEM (-ENOENT: no such page size) with msg saying the counts
 * (free, reserved, needed) and how to reserve more.
 */
int ram_hugetlb_check(uint32_t kib, uint64_t bytes, char *msg, size_t len);

/*
 * Fills u for the memfd fd and our mapping of it that starts at p: its
 * blocks (fstat), and from /proc/self/smaps Rss and ShmemPmdMapped +
 * FilePmdMapped + Shared/Private_Hugetlb.  0, or -errno (-ENOENT: no
 * mapping starts at p).
 */
int ram_usage(const void *p, int fd, struct ram_usage *u);

#endif
