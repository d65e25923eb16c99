/*
 * hugemap.c: see hugemap.h.  mmap picks no alignment for a shared file
 * mapping unless the file's own filesystem asks for one (tmpfs does only
 * where its huge pages are enabled), so we reserve 2 MiB more than
 * needed, put the file at the first aligned address inside, and give
 * back the ends.
 * Trust: the caller's fd and length.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "hugemap.h"

void *hugemap_shared(int fd, size_t len, int extra)
{
	size_t align = HUGEMAP_ALIGN, span;
	uint8_t *res, *p, *end;
	struct stat st;
	int err;

	/* hugetlbfs says its page size here (1 GiB pages: 1 GiB aligned). */
	if (fstat(fd, &st) == 0 && (size_t)st.st_blksize > align)
		align = (size_t)st.st_blksize;
	span = len + align;
	if (span < len) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	res = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	p = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | extra,
		 fd, 0) == MAP_FAILED) {
		err = errno;
		munmap(res, span);
		errno = err;
		return MAP_FAILED;
	}
	end = p + len;
	if (p > res)
		munmap(res, (size_t)(p - res));
	if (end < res + span)
		munmap(end, (size_t)(res + span - end));
	return p;
}
