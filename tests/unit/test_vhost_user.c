/*
 * test_vhost_user.c: the vhost-user client (vmm-frontend/vhost/) against
 * a real qemu-storage-daemon exporting a small raw image, with no VM and
 * no KVM: guest RAM is a memfd, the ring is laid out in it by hand, the
 * kick and call are plain eventfds.  A virtio-blk read of sector 0 comes
 * back with the image's bytes, a write of sector 1 lands in the file,
 * GET_CONFIG gives the capacity, GET_VRING_BASE says 2 requests were
 * taken; a socket nothing listens on is a clear refusal.  Skips (77),
 * saying why, without /usr/bin/qemu-storage-daemon.
 * Trust: test code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "vhost_user.h"

#define QSD	"/usr/bin/qemu-storage-daemon"
#define RAM	(4u << 20)
#define QSIZE	8
#define DESC	0x1000
#define AVAIL	0x2000
#define USED	0x3000
#define HDR	0x4000
#define DATA	0x5000
#define STATUS	0x6000
#define SECTORS 64

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint8_t *ram;
static uint16_t avail_idx;

/* One request: header, 512 bytes of data, status; kicked, waited for. */
static int blk_request(int kick, int call, uint32_t type, uint64_t sector)
{
	struct desc *d = (struct desc *)(ram + DESC);
	uint16_t *avail = (uint16_t *)(ram + AVAIL);
	struct pollfd pfd = {call, POLLIN, 0};
	uint64_t one = 1, n;
	uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};

	memcpy(ram + HDR, hdr, sizeof(hdr));
	ram[STATUS] = 0xff;
	d[0] = (struct desc){HDR, 16, 1, 1};
	d[1] = (struct desc){DATA, 512, (uint16_t)(1 | (type == 0 ? 2 : 0)), 2};
	d[2] = (struct desc){STATUS, 1, 2, 0};
	avail[2 + avail_idx % QSIZE] = 0;
	__atomic_store_n(&avail[1], ++avail_idx, __ATOMIC_RELEASE);
	if (write(kick, &one, 8) != 8 || poll(&pfd, 1, 10000) != 1 ||
	    read(call, &n, 8) != 8)
		return -1;
	return ram[STATUS];
}

static pid_t qsd_start(const char *img, const char *sock)
{
	char bd[600], ex[600];
	pid_t pid;

	snprintf(bd, sizeof(bd), "driver=file,node-name=f,filename=%s", img);
	snprintf(ex, sizeof(ex),
		 "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
		 "addr.path=%s,writable=on",
		 sock);
	pid = fork();
	if (pid == 0) {
		execl(QSD, QSD, "--blockdev", bd, "--export", ex, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(sock, F_OK) < 0; i++)
		usleep(25000);
	return pid;
}

int main(void)
{
	char dir[] = "/tmp/kvmmu-vhost.XXXXXX", img[64], sock[64];
	struct vhost_user vu;
	struct vhost_user_region reg;
	struct vhost_user_ring ring;
	uint8_t cfg[60], sec[512], want[512];
	uint64_t cap;
	uint32_t base = 0;
	int memfd, kick, call, fd, st;
	pid_t pid;

	if (access(QSD, X_OK) < 0) {
		printf("SKIP test_vhost_user: no %s (Debian's "
		       "qemu-system-common)\n",
		       QSD);
		return SKIP_CODE;
	}
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	snprintf(img, sizeof(img), "%s/disk.raw", dir);
	snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
	CHECK(vhost_user_connect(&vu, sock, "test") == -ENOENT &&
		      strstr(vu.vu_err, "no vhost-user back end listens"),
	      "nothing listens: %s", vu.vu_err);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 13 + 1);
	CHECK(fd >= 0 && ftruncate(fd, SECTORS * 512) == 0 &&
		      pwrite(fd, want, 512, 0) == 512,
	      "a raw image of %d sectors", SECTORS);
	pid = qsd_start(img, sock);

	CHECK(vhost_user_connect(&vu, sock, "qsd") == 0, "handshake: %s",
	      vu.vu_err);
	CHECK(vu.vu_features >> 32 & 1, "the back end offers VERSION_1");
	CHECK(vhost_user_get_config(&vu, cfg, sizeof(cfg)) == 0, "GET_CONFIG");
	memcpy(&cap, cfg, 8);
	CHECK(cap == SECTORS, "capacity %llu sectors", (unsigned long long)cap);

	memfd = memfd_create("ram", MFD_CLOEXEC);
	CHECK(memfd >= 0 && ftruncate(memfd, RAM) == 0, "guest RAM memfd");
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(ram != MAP_FAILED, "RAM mapped");
	reg = (struct vhost_user_region){0, RAM, (uintptr_t)ram, 0, memfd};
	CHECK(vhost_user_set_mem(&vu, &reg, 1) == 0, "SET_MEM_TABLE: %s",
	      vu.vu_err);
	CHECK(vhost_user_set_features(&vu, 1ull << 32) == 0, "SET_FEATURES");
	kick = eventfd(0, EFD_CLOEXEC);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ring = (struct vhost_user_ring){0,
					QSIZE,
					(uintptr_t)ram + DESC,
					(uintptr_t)ram + AVAIL,
					(uintptr_t)ram + USED,
					kick,
					call};
	CHECK(vhost_user_ring_start(&vu, &ring, NULL, NULL) == 0,
	      "ring started: %s", vu.vu_err);
	/* libvhost-user signals a new call fd once: drain it. */
	{
		uint64_t n;
		struct pollfd pfd = {call, POLLIN, 0};

		if (poll(&pfd, 1, 1000) == 1)
			CHECK(read(call, &n, 8) == 8, "drained");
	}
	CHECK(blk_request(kick, call, 0, 0) == 0 &&
		      memcmp(ram + DATA, want, 512) == 0,
	      "read of sector 0: the image's bytes");
	memset(ram + DATA, 0x5a, 512);
	CHECK(blk_request(kick, call, 1, 1) == 0, "write of sector 1");
	CHECK(pread(fd, sec, 512, 512) == 512 && sec[0] == 0x5a &&
		      sec[511] == 0x5a,
	      "... landed in the file");
	CHECK(vhost_user_ring_stop(&vu, 0, &base) == 0 && base == 2,
	      "GET_VRING_BASE: %u requests taken", base);
	vhost_user_close(&vu);
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &st, 0) == pid, "qemu-storage-daemon ended");
	close(kick);
	close(call);
	close(memfd);
	close(fd);
	unlink(img);
	unlink(sock);
	rmdir(dir);
	return checks_report("test_vhost_user");
}
