/*
 * test_vu_dev.c: virtio-blk over vhost-user (vmm-frontend/virtio/blk.c,
 * vu_dev.c) against a real qemu-storage-daemon, driven as Linux's
 * virtio_pci_modern and virtio_blk drive it, through the pc machine's
 * ports and PCI window, with a vmmap whose irqfds are plain eventfds
 * and no KVM: the config space is the back end's (capacity), features
 * pass through the mask, DRIVER_OK hands the ring over with the vector
 * held masked while SET_VRING_CALL is sent (and drained: no interrupt
 * for nothing), a kick on the doorbell's eventfd gets the image's bytes
 * and an interrupt on the irqfd with no exit, a ring outside guest RAM
 * is refused with NEEDS_RESET, and a reset quiesces and stops the ring.
 * Skips (77), saying why, without /usr/bin/qemu-storage-daemon.
 * Trust: test code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk.h"
#include "harness.h"
#include "machine.h"

#define QSD	"/usr/bin/qemu-storage-daemon"
#define RAM	(64u << 20)
#define QSIZE	16
#define DESC	0x100000
#define AVAIL	0x101000
#define USED	0x102000
#define HDR	0x103000
#define DATA	0x104000
#define STATUS	0x105000
#define SECTORS 2048

struct rec {
	unsigned ioevs, routes, masks, unmasks;
	int irqfd[8];
	unsigned nirq;
	char seq[64]; /* M (mask) and U (unmask), in order */
};

static int rec_tx(void *arg, uint64_t gpa, uint64_t size, Kvmmu__Region **r,
		  size_t n)
{
	(void)arg;
	(void)gpa;
	(void)size;
	(void)r;
	(void)n;
	return 0;
}

static int rec_ioev(void *arg, const Kvmmu__Doorbell *db, int fd, bool deassign)
{
	(void)db;
	(void)fd;
	if (!deassign)
		((struct rec *)arg)->ioevs++;
	return 0;
}

static int rec_route(void *arg, int gsi, uint32_t lo, uint32_t data,
		     uint32_t *out)
{
	struct rec *x = arg;

	(void)lo;
	(void)data;
	if (gsi < 0)
		*out = 24 + x->routes++;
	return 0;
}

static int rec_mask(void *arg, uint32_t gsi, bool masked)
{
	struct rec *x = arg;
	size_t n = strlen(x->seq);

	(void)gsi;
	if (n + 1 < sizeof(x->seq))
		x->seq[n] = masked ? 'M' : 'U';
	return 0;
}

static int rec_irqfd(void *arg, uint32_t gsi, int *fd)
{
	struct rec *x = arg;

	(void)gsi;
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd >= 0 && x->nirq < 8)
		x->irqfd[x->nirq++] = *fd;
	return *fd < 0 ? -errno : 0;
}

static const char *rec_error(void *arg)
{
	(void)arg;
	return "recorded";
}

static struct iobus bus;
static struct mmiobus mb;

static void pio(uint16_t port, unsigned size, bool out, uint32_t *v)
{
	const struct io_range *r = iobus_find(&bus, port);

	if (r)
		r->ir_fn(r->ir_arg, 0, port, size, out, (uint8_t *)v, size);
}

static uint32_t cfg_read(unsigned dev, unsigned reg)
{
	uint32_t a = 0x80000000u | dev << 11 | reg, v = 0;

	pio(GUEST_PCI_ADDR, 4, true, &a);
	pio(GUEST_PCI_DATA, 4, false, &v);
	return v;
}

static void cfg_write(unsigned dev, unsigned reg, uint32_t v)
{
	uint32_t a = 0x80000000u | dev << 11 | reg;

	pio(GUEST_PCI_ADDR, 4, true, &a);
	pio(GUEST_PCI_DATA, 4, true, &v);
}

static uint64_t mmio(uint64_t gpa, unsigned len, bool write, uint64_t v)
{
	const struct mmio_range *r = mmiobus_find(&mb, gpa);

	if (r)
		r->mr_fn(r->mr_arg, 0, gpa, write, (uint8_t *)&v, len);
	return v;
}

/* The capability with id (and for vendor ones, cfg_type): its offset. */
static unsigned find_cap(unsigned dev, unsigned id, unsigned type)
{
	unsigned at = cfg_read(dev, 0x34) & 0xff;

	for (int n = 0; at != 0 && n < 48; n++) {
		uint32_t w0 = cfg_read(dev, at);

		if ((w0 & 0xff) == id &&
		    (id != PCI_CAP_VENDOR || (w0 >> 24) == type))
			return at;
		at = (w0 >> 8) & 0xff;
	}
	return 0;
}

static uint8_t *ram;
static uint16_t avail_idx;

/* A read of sector: header, 512 bytes, status, made available. */
static void blk_read(uint64_t sector)
{
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} *d = (void *)(ram + DESC);
	uint16_t *avail = (uint16_t *)(ram + AVAIL);
	uint32_t hdr[4] = {0, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};

	memcpy(ram + HDR, hdr, sizeof(hdr));
	ram[STATUS] = 0xff;
	d[0] = (typeof(d[0])){HDR, 16, 1, 1};
	d[1] = (typeof(d[0])){DATA, 512, 1 | 2, 2};
	d[2] = (typeof(d[0])){STATUS, 1, 2, 0};
	avail[2 + avail_idx % QSIZE] = 0;
	__atomic_store_n(&avail[1], ++avail_idx, __ATOMIC_RELEASE);
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

/* Features, queue 0's layout with vector vec, then DRIVER_OK. */
static uint8_t driver_up(uint64_t c, uint64_t desc, unsigned vec)
{
	mmio(c + 20, 1, true, 0); /* reset */
	mmio(c + 20, 1, true, 3);
	mmio(c + 8, 4, true, 0);
	mmio(c + 12, 4, true, 0);
	mmio(c + 8, 4, true, 1);
	mmio(c + 12, 4, true, 1); /* VERSION_1 only */
	mmio(c + 20, 1, true, 0x0b);
	mmio(c + 22, 2, true, 0);
	mmio(c + 24, 2, true, QSIZE);
	mmio(c + 26, 2, true, vec);
	mmio(c + 32, 8, true, desc);
	mmio(c + 40, 8, true, AVAIL);
	mmio(c + 48, 8, true, USED);
	mmio(c + 28, 2, true, 1);
	mmio(c + 20, 1, true, 0x0f);
	return (uint8_t)mmio(c + 20, 1, false, 0);
}

int main(void)
{
	char dir[] = "/tmp/kvmmu-vudev.XXXXXX", img[64], sock[64];
	struct rec x = {0};
	struct vmmap map = {.vm_transaction = rec_tx,
			    .vm_error = rec_error,
			    .vm_arg = &x,
			    .vm_ioeventfd = rec_ioev,
			    .vm_msi_route = rec_route,
			    .vm_mask_irqfd = rec_mask,
			    .vm_irqfd = rec_irqfd};
	struct machine m;
	struct vu_dev d;
	struct vhost_user_region reg;
	uint8_t want[512];
	unsigned common, mx, tbl;
	uint64_t bar, c, n;
	int memfd, fd, dev, st;
	struct pollfd pfd;
	pid_t pid;

	if (access(QSD, X_OK) < 0) {
		printf("SKIP test_vu_dev: no %s (Debian's "
		       "qemu-system-common)\n",
		       QSD);
		return SKIP_CODE;
	}
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	snprintf(img, sizeof(img), "%s/disk.raw", dir);
	snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 3);
	CHECK(fd >= 0 && ftruncate(fd, SECTORS * 512) == 0 &&
		      pwrite(fd, want, 512, 5 * 512) == 512,
	      "a raw image of %d sectors", SECTORS);
	pid = qsd_start(img, sock);
	CHECK(vu_dev_open(&d, "vdx", sock) == 0, "connected: %s",
	      d.vd_vu.vu_err);
	CHECK(blk_init(&d) == 0, "virtio-blk: %s", d.vd_vu.vu_err);
	CHECK(blk_capacity(&d) == SECTORS && !blk_readonly(&d),
	      "capacity %llu sectors, writable",
	      (unsigned long long)blk_capacity(&d));
	CHECK(!(d.vd_vp.vp_features >> 30 & 1) &&
		      !(d.vd_vp.vp_features >> 11 & 1) &&
		      (d.vd_vp.vp_features >> 32 & 1),
	      "offered 0x%llx: no PROTOCOL_FEATURES, no CONFIG_WCE, VERSION_1",
	      (unsigned long long)d.vd_vp.vp_features);

	memfd = memfd_create("ram", MFD_CLOEXEC);
	CHECK(memfd >= 0 && ftruncate(memfd, RAM) == 0, "guest RAM memfd");
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(ram != MAP_FAILED, "RAM mapped");
	reg = (struct vhost_user_region){0, RAM, (uintptr_t)ram, 0, memfd};
	CHECK(vu_dev_set_ram(&d, &reg, 1) == 0, "the memory table");

	CHECK(machine_init(&m, true, false, 1, RAM, NULL, 0, &map) == 0 &&
		      machine_register(&m, &bus) == 0 &&
		      machine_register_mmio(&m, &mb) == 0,
	      "pc machine");
	dev = pci_add_fn(&m.m_pci, &d.vd_vp.vp_fn, &map);
	machine_firmware(&m);
	CHECK(dev > 0 && machine_flush(&m) == 0, "placed");
	CHECK(cfg_read((unsigned)dev, 0) == 0x10421af4, "modern virtio-blk");
	bar = cfg_read((unsigned)dev, 0x10) & ~0xfull;
	common = find_cap((unsigned)dev, PCI_CAP_VENDOR, 1);
	c = bar + (cfg_read((unsigned)dev, common + 8));
	{
		unsigned dc = find_cap((unsigned)dev, PCI_CAP_VENDOR, 4);
		uint64_t cfg = bar + cfg_read((unsigned)dev, dc + 8);

		CHECK(dc && mmio(cfg, 4, false, 0) == SECTORS &&
			      mmio(cfg + 4, 4, false, 0) == 0,
		      "capacity read through the device config");
	}
	/* MSI-X on, vector 1 (queue 0's) programmed and unmasked. */
	mx = find_cap((unsigned)dev, PCI_CAP_MSIX, 0);
	tbl = cfg_read((unsigned)dev, mx + 4) & ~7u;
	CHECK(mx != 0, "MSI-X capability");
	cfg_write((unsigned)dev, mx, cfg_read((unsigned)dev, mx) | 1u << 31);
	mmio(bar + tbl + 16, 4, true, 0xfee00000u);
	mmio(bar + tbl + 16 + 8, 4, true, 0x41);
	mmio(bar + tbl + 16 + 12, 4, true, 0);

	/* A ring outside guest RAM: refused, the driver told to reset. */
	CHECK(driver_up(c, (uint64_t)RAM + 0x1000, 1) & VIRTIO_S_NEEDS_RESET,
	      "a ring outside RAM: NEEDS_RESET");
	x.seq[0] = '\0';
	CHECK(driver_up(c, DESC, 1) == 0x0f, "DRIVER_OK with the ring in RAM");
	CHECK(d.vd_ring_on[0] && x.nirq == 1 && x.ioevs >= 1,
	      "ring 0 started: an irqfd, a doorbell");
	CHECK(strcmp(x.seq, "MU") == 0,
	      "vector held masked over SET_VRING_CALL, then unmasked (%s)",
	      x.seq);
	pfd = (struct pollfd){x.irqfd[0], POLLIN, 0};
	CHECK(poll(&pfd, 1, 100) == 0, "the call fd drained: no interrupt "
				       "for nothing");

	/* The guest's kick: what KVM's ioeventfd would signal. */
	n = 1;
	blk_read(5);
	CHECK(write(d.vd_vp.vp_q[0].vq_kick, &n, 8) == 8, "kick");
	CHECK(poll(&pfd, 1, 10000) == 1 && read(x.irqfd[0], &n, 8) == 8,
	      "an interrupt on the irqfd");
	CHECK(ram[STATUS] == 0 && memcmp(ram + DATA, want, 512) == 0,
	      "sector 5: the image's bytes, status OK");

	mmio(c + 20, 1, true, 0);
	CHECK(!d.vd_ring_on[0], "reset: ring stopped (GET_VRING_BASE)");
	/* A driver lays its rings out anew after a reset. */
	memset(ram + DESC, 0, USED + 0x1000 - DESC);
	avail_idx = 0;
	CHECK(driver_up(c, DESC, 1) == 0x0f && d.vd_ring_on[0],
	      "and started again");
	blk_read(5);
	n = 1;
	CHECK(write(d.vd_vp.vp_q[0].vq_kick, &n, 8) == 8 &&
		      poll(&pfd, 1, 10000) == 1 && ram[STATUS] == 0,
	      "a request after the restart");

	vu_dev_free(&d);
	machine_free(&m);
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &st, 0) == pid, "qemu-storage-daemon ended");
	for (unsigned i = 0; i < x.nirq; i++)
		close(x.irqfd[i]);
	munmap(ram, RAM);
	close(memfd);
	close(fd);
	unlink(img);
	unlink(sock);
	rmdir(dir);
	return checks_report("test_vu_dev");
}
