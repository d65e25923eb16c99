/*
 * ram.h: how guest RAM is backed.  Guest RAM is a sealed memfd, which
 * lives on the kernel's internal shmem mount; whether its pages come 2
 * MiB at a time is, for page faults, /sys/kernel/mm/transparent_hugepage/
 * shmem_enabled's say, and Debian's default there is "never".  A 2 MiB
 * page fault of the guest then costs KVM 512 faults of 4 KiB, where
 * QEMU's anonymous RAM gets THP.  MADV_COLLAPSE (Linux 6.1) builds huge
 * pages in a shmem file whatever shmem_enabled says, except "deny": the
 * server collapses each VM's RAM once, at CreateVm, through its own
 * 2 MiB-aligned mapping, which is the one KVM reads its mapping level
 * from.  The memfd, its seals and fd passing are unchanged.  The price:
 * the RAM is allocated (zeroed) at CreateVm, libvirt's
 * <allocation mode='immediate'/>, not page by page as the guest touches.
 * Trust: privileged; sizes come validated from CreateVm.
 */
#ifndef KVMMU_RAM_H
#define KVMMU_RAM_H

#include <stdbool.h>
#include <stdint.h>

enum ram_backing {
	RAM_4K,		/* pages as the guest touches them: 4 KiB on "never" */
	RAM_HUGE,	/* collapsed into 2 MiB pages at CreateVm */
	RAM_HUGETLB_2M, /* hugetlbfs pages the host reserved, per VM */
	RAM_HUGETLB_1G,
};

#define RAM_HUGE_PAGE (2ULL << 20)

/* What the server backs RAM with, decided once at start. */
struct ram_host {
	enum ram_backing rh_want; /* mmu-server --ram-backing */
	enum ram_backing rh_have; /* in force, after the probe */
	bool rh_can_huge;	  /* the probe collapsed: CreateVm may ask */
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
 * Decides the backing in force for want: reads shmem_enabled and, for
 * "huge", collapses a 2 MiB memfd of its own to see that this kernel
 * can.  Returns the result (also ram_host() from then on); the caller
 * logs rh_why.  Before any call ram_host() says 4k (tests of the core
 * that never ask keep the old behaviour).
 */
const struct ram_host *ram_host_init(enum ram_backing want);
const struct ram_host *ram_host(void);

/*
 * Collapses [p, p + len) of the memfd fd, mapped at the 2 MiB-aligned p,
 * into 2 MiB pages, one at a time (a tail under 2 MiB stays 4 KiB), and
 * unmaps them from p: they stay allocated in the memfd, and the first
 * touch through p (KVM's, for the guest) maps each 2 MiB page whole.
 * Returns the bytes now in huge pages; *err is 0 or the errno of the
 * last failure.
 */
uint64_t ram_collapse(void *p, int fd, uint64_t len, int *err);

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
