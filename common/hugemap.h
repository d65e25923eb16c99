/*
 * hugemap.h: a shared mapping of a file at a 2 MiB-aligned address, so
 * that the kernel can map the file's 2 MiB pages with one PMD each: a
 * mapping whose address and file offset disagree modulo 2 MiB can only
 * ever map 4 KiB at a time, whatever pages back it.
 * Trust: the caller's fd and length.
 */
#ifndef KVMMU_HUGEMAP_H
#define KVMMU_HUGEMAP_H

#include <stddef.h>

#define HUGEMAP_ALIGN (2UL << 20)

/*
 * Maps len bytes of fd from offset 0, PROT_READ | PROT_WRITE, MAP_SHARED
 * | extra, at an address that is a multiple of HUGEMAP_ALIGN, or of the
 * file's page size where larger (hugetlbfs: st_blksize).  The address
 * (munmap it with len as usual), or MAP_FAILED with errno set.
 */
void *hugemap_shared(int fd, size_t len, int extra);

#endif
