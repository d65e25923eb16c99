/*
 * test_virtio.c: the virtio-pci transport (vmm-frontend/virtio/) driven
 * as Linux's virtio_pci_modern drives it, through the machine's ports
 * and PCI window, with a recording vmmap and a device that records what
 * it was asked: the vendor capabilities are found, features negotiate
 * (a driver that asks for more is refused FEATURES_OK), queue layout is
 * taken, DRIVER_OK puts a doorbell on each enabled queue's kick eventfd
 * and starts the device, a kick that still exits signals the same
 * eventfd, and a reset stops the device and drops the doorbells.
 * Trust: test code.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "machine.h"
#include "virtio_pci.h"

struct rec {
	unsigned tx, ioevs, deassigns, starts, resets;
	uint64_t last_db;
};

static int rec_tx(void *arg, uint64_t gpa, uint64_t size, Kvmmu__Region **r,
		  size_t n)
{
	(void)gpa;
	(void)size;
	(void)r;
	(void)n;
	((struct rec *)arg)->tx++;
	return 0;
}

static int rec_ioev(void *arg, const Kvmmu__Doorbell *db, int fd, bool deassign)
{
	struct rec *x = arg;

	(void)fd;
	if (deassign)
		x->deassigns++;
	else
		x->ioevs++;
	x->last_db = db->addr;
	return 0;
}

static const char *rec_error(void *arg)
{
	(void)arg;
	return "recorded";
}

static uint8_t dev_cfg[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static int dev_config(void *arg, uint32_t off, bool write, uint8_t *data,
		      unsigned len)
{
	(void)arg;
	if (!write)
		memcpy(data, dev_cfg + off, len);
	return 0;
}

static int dev_start(void *arg, struct virtio_pci *vp)
{
	(void)vp;
	((struct rec *)arg)->starts++;
	return 0;
}

static void dev_reset(void *arg, struct virtio_pci *vp)
{
	(void)vp;
	((struct rec *)arg)->resets++;
}

static const struct virtio_dev_ops dev_ops = {dev_config, dev_start, dev_reset};
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

static uint64_t mmio(uint64_t gpa, unsigned len, bool write, uint64_t v)
{
	const struct mmio_range *r = mmiobus_find(&mb, gpa);

	if (r)
		r->mr_fn(r->mr_arg, 0, gpa, write, (uint8_t *)&v, len);
	return v;
}

/* Walks the capability list for virtio cfg_type type: its BAR offset. */
static int find_cap(unsigned dev, unsigned type, uint32_t *off)
{
	unsigned at = cfg_read(dev, 0x34) & 0xff;

	for (int n = 0; at != 0 && n < 48; n++) {
		uint32_t w0 = cfg_read(dev, at);

		if ((w0 & 0xff) == PCI_CAP_VENDOR && (w0 >> 24) == type) {
			*off = cfg_read(dev, at + 8);
			return 0;
		}
		at = (w0 >> 8) & 0xff;
	}
	return -1;
}

int main(void)
{
	struct rec x = {0};
	struct vmmap map = {.vm_transaction = rec_tx,
			    .vm_error = rec_error,
			    .vm_arg = &x,
			    .vm_ioeventfd = rec_ioev};
	struct machine m;
	struct virtio_pci vp;
	uint32_t common = 0, notify = 0, device = 0, isr = 0;
	uint64_t bar, c, cnt = 0;
	int dev;

	CHECK(machine_init(&m, true, false, 1, 64 << 20, NULL, 0, &map) == 0 &&
		      machine_register(&m, &bus) == 0 &&
		      machine_register_mmio(&m, &mb) == 0,
	      "pc machine");
	CHECK(virtio_pci_init(&vp, "vdx", 2, 0x0180, 1u << 9, 2,
			      sizeof(dev_cfg), &dev_ops, &x) == 0,
	      "a block device with 2 queues");
	dev = pci_add_fn(&m.m_pci, &vp.vp_fn, &map);
	machine_firmware(&m);
	CHECK(machine_flush(&m) == 0, "placed");
	CHECK(cfg_read(dev, 0) == 0x10421af4, "modern virtio-blk ID");
	CHECK(find_cap(dev, 1, &common) == 0 &&
		      find_cap(dev, 2, &notify) == 0 &&
		      find_cap(dev, 3, &isr) == 0 &&
		      find_cap(dev, 4, &device) == 0,
	      "common, notify, ISR and device capabilities");
	bar = cfg_read(dev, 0x10) & ~0xfull;
	c = bar + common;
	CHECK(mmio(bar + device + 2, 2, false, 0) == 0x0403, "device config");
	CHECK(mmio(c + 18, 2, false, 0) == 2, "num_queues 2");

	/* Features: VERSION_1 and bit 9 offered; bit 10 is refused. */
	mmio(c + 20, 1, true, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio(c + 0, 4, true, 1);
	CHECK(mmio(c + 4, 4, false, 0) == 1, "VERSION_1 offered");
	mmio(c + 8, 4, true, 0);
	mmio(c + 12, 4, true, 1u << 10);
	mmio(c + 8, 4, true, 1);
	mmio(c + 12, 4, true, 1);
	mmio(c + 20, 1, true, 0x0b);
	CHECK(!(mmio(c + 20, 1, false, 0) & VIRTIO_S_FEATURES_OK),
	      "a feature not offered: no FEATURES_OK");
	mmio(c + 20, 1, true, 0); /* reset */
	CHECK(mmio(c + 20, 1, false, 0) == 0 && x.resets == 0,
	      "reset before a start stops nothing");
	mmio(c + 20, 1, true, 3);
	mmio(c + 8, 4, true, 0);
	mmio(c + 12, 4, true, 1u << 9);
	mmio(c + 8, 4, true, 1);
	mmio(c + 12, 4, true, 1);
	mmio(c + 20, 1, true, 0x0b);
	CHECK(mmio(c + 20, 1, false, 0) == 0x0b, "FEATURES_OK kept");

	/* Queue 0: size, vector, rings, enable; queue 1 left disabled. */
	mmio(c + 22, 2, true, 0);
	CHECK(mmio(c + 24, 2, false, 0) == VIRTIO_QUEUE_MAX, "queue max");
	mmio(c + 24, 2, true, 100); /* not a power of two: kept */
	CHECK(mmio(c + 24, 2, false, 0) == VIRTIO_QUEUE_MAX, "size 100 no");
	mmio(c + 24, 2, true, 64);
	mmio(c + 26, 2, true, 7); /* no vector 7 of 3 */
	CHECK(mmio(c + 26, 2, false, 0) == VIRTIO_NO_VECTOR,
	      "a vector beyond the table reads NO_VECTOR");
	mmio(c + 26, 2, true, 1);
	mmio(c + 32, 8, true, 0x100000);
	mmio(c + 40, 4, true, 0x101000);
	mmio(c + 44, 4, true, 0);
	mmio(c + 48, 8, true, 0x102000);
	mmio(c + 28, 2, true, 1);
	CHECK(vp.vp_q[0].vq_size == 64 && vp.vp_q[0].vq_vector == 1 &&
		      vp.vp_q[0].vq_desc == 0x100000 &&
		      vp.vp_q[0].vq_driver == 0x101000 &&
		      vp.vp_q[0].vq_device == 0x102000 && vp.vp_q[0].vq_enable,
	      "queue 0's layout taken");
	CHECK(mmio(c + 30, 2, false, 0) == 0, "queue 0 notifies at +0");

	/* A kick before DRIVER_OK exits, and reaches the kick eventfd. */
	mmio(bar + notify, 2, true, 0);
	CHECK(read(vp.vp_q[0].vq_kick, &cnt, 8) == 8 && cnt == 1 &&
		      vp.vp_kick_exits == 1,
	      "an exiting kick signals the kick eventfd");
	mmio(c + 20, 1, true, 0x0f);
	CHECK(x.starts == 1 && x.ioevs == 1 && x.last_db == bar + notify,
	      "DRIVER_OK: one doorbell (queue 0's) at 0x%llx, started",
	      (unsigned long long)x.last_db);
	mmio(c + 24, 2, true, 32);
	CHECK(vp.vp_q[0].vq_size == 64, "no layout change after DRIVER_OK");
	CHECK(mmio(bar + isr, 1, false, 0xff) == 0, "ISR reads 0");
	mmio(c + 20, 1, true, 0);
	CHECK(x.resets == 1 && x.deassigns == 1 && vp.vp_q[0].vq_db == -1 &&
		      !vp.vp_q[0].vq_enable,
	      "reset: stopped, doorbell gone");
	virtio_pci_free(&vp);
	machine_free(&m);
	return checks_report("test_virtio");
}
