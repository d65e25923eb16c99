/*
 * vio.c: bench-virtio's I/O tool, run inside its Linux guests (linked
 * static: the guest's root holds only busybox and this).  One pattern of
 * 4 KiB O_DIRECT requests, one at a time, on a region of a block device
 * or file, for SECONDS seconds or OPS requests, whichever ends first:
 *
 *   vio seqread|randread|seqwrite|randwrite PATH OFFSET_MIB SIZE_MIB
 *       SECONDS [OPS]
 *
 * Prints one line, "kvmmu-guest: io MODE ops N secs S iops X mbs Y",
 * or "kvmmu-guest: error: vio: ..." and exits 1.  Sequential requests
 * wrap around the region; random ones are 4 KiB-aligned offsets in it
 * from a fixed-seed xorshift, the same in every VMM.  Trust: guest code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096ULL

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, int err)
{
	printf("kvmmu-guest: error: vio: %s: %s\n", what, strerror(err));
	return 1;
}

static int usage(void)
{
	printf("kvmmu-guest: error: vio: usage: vio seqread|randread|"
	       "seqwrite|randwrite PATH OFFSET_MIB SIZE_MIB SECONDS [OPS]\n");
	return 2;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int number(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end != '\0' ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t off, size, secs, max = 0, blocks, ops = 0,
				  seed = 88172645463325252ULL;
	int rand, write, fd;
	double t0, t;
	void *buf;

	if (argc < 6 || argc > 7 || number(argv[3], &off) ||
	    number(argv[4], &size) || number(argv[5], &secs) ||
	    (argc == 7 && number(argv[6], &max)) || size == 0 || secs == 0)
		return usage();
	rand = strncmp(argv[1], "rand", 4) == 0;
	write = strcmp(argv[1] + (rand ? 4 : 3), "write") == 0;
	if ((!rand && strncmp(argv[1], "seq", 3) != 0) ||
	    (!write && strcmp(argv[1] + (rand ? 4 : 3), "read") != 0))
		return usage();
	off <<= 20;
	blocks = (size << 20) / BLK;
	fd = open(argv[2], (write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return die(argv[2], errno);
	if (posix_memalign(&buf, BLK, BLK) != 0)
		return die("posix_memalign", ENOMEM);
	memset(buf, 0x5a, BLK);
	t0 = now_s();
	for (t = t0; t - t0 < (double)secs && (max == 0 || ops < max);) {
		uint64_t b = rand ? xorshift(&seed) % blocks : ops % blocks;
		off_t at = (off_t)(off + b * BLK);
		ssize_t n = write ? pwrite(fd, buf, BLK, at)
				  : pread(fd, buf, BLK, at);

		if (n != (ssize_t)BLK)
			return die(write ? "pwrite" : "pread",
				   n < 0 ? errno : EIO);
		ops++;
		if (ops % 16 == 0)
			t = now_s();
	}
	t = now_s() - t0;
	close(fd);
	free(buf);
	printf("kvmmu-guest: io %s ops %llu secs %.3f iops %.1f mbs %.2f\n",
	       argv[1], (unsigned long long)ops, t, (double)ops / t,
	       (double)ops * BLK / t / 1e6);
	return 0;
}
