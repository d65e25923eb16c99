/*
 * virtio_pci.c: the virtio 1.x PCI transport (virtio_pci.h), after the
 * spec's section 4.1 and Linux's drivers/virtio/virtio_pci_modern_dev.c,
 * which is what must find its way around it.
 * Trust: unprivileged; guest values are range-checked before use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_pci.h"

/* Vendor capability types (struct virtio_pci_cap's cfg_type). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR	   3
#define CAP_DEVICE 4

/* struct virtio_pci_common_cfg's fields. */
#define C_DFSELECT  0
#define C_DF	    4
#define C_GFSELECT  8
#define C_GF	    12
#define C_MSIX	    16
#define C_NUMQ	    18
#define C_STATUS    20
#define C_GEN	    21
#define C_QSELECT   22
#define C_QSIZE	    24
#define C_QMSIX	    26
#define C_QENABLE   28
#define C_QNOTIFY   30
#define C_QDESC	    32
#define C_QDRIVER   40
#define C_QDEVICE   48
#define COMMON_SIZE 56

static int virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t off,
		      uint32_t len, bool notify)
{
	/* cap_len, cfg_type, bar, id, padding[2], offset, length[, mul] */
	uint8_t b[18] = {notify ? 20 : 16, type, 0, 0, 0, 0};
	uint32_t mul = VIRTIO_NOTIFY_MUL;

	memcpy(b + 6, &off, 4);
	memcpy(b + 10, &len, 4);
	memcpy(b + 14, &mul, 4);
	return pci_fn_cap(&vp->vp_fn, PCI_CAP_VENDOR, b, notify ? 18 : 14);
}

static struct virtio_queue *vq_sel(struct virtio_pci *vp)
{
	return vp->vp_qsel < vp->vp_nq ? &vp->vp_q[vp->vp_qsel] : NULL;
}

/* The common structure as the guest reads it now. */
static void common_image(struct virtio_pci *vp, uint8_t *img)
{
	const struct virtio_queue *q = vq_sel(vp);
	uint32_t df =
		vp->vp_dfsel < 2
			? (uint32_t)(vp->vp_features >> (32 * vp->vp_dfsel))
			: 0;
	uint32_t gf = vp->vp_gfsel < 2
			      ? (uint32_t)(vp->vp_driver >> (32 * vp->vp_gfsel))
			      : 0;
	uint16_t nq = (uint16_t)vp->vp_nq, qn = (uint16_t)vp->vp_qsel;

	memset(img, 0, COMMON_SIZE);
	memcpy(img + C_DFSELECT, &vp->vp_dfsel, 4);
	memcpy(img + C_DF, &df, 4);
	memcpy(img + C_GFSELECT, &vp->vp_gfsel, 4);
	memcpy(img + C_GF, &gf, 4);
	memcpy(img + C_MSIX, &vp->vp_msix_config, 2);
	memcpy(img + C_NUMQ, &nq, 2);
	img[C_STATUS] = vp->vp_status;
	img[C_GEN] = vp->vp_gen;
	memcpy(img + C_QSELECT, &qn, 2);
	if (q == NULL)
		return; /* a queue that does not exist reads as size 0 */
	uint16_t en = q->vq_enable;
	memcpy(img + C_QSIZE, &q->vq_size, 2);
	memcpy(img + C_QMSIX, &q->vq_vector, 2);
	memcpy(img + C_QENABLE, &en, 2);
	memcpy(img + C_QNOTIFY, &qn, 2); /* queue q's notify offset: q */
	memcpy(img + C_QDESC, &q->vq_desc, 8);
	memcpy(img + C_QDRIVER, &q->vq_driver, 8);
	memcpy(img + C_QDEVICE, &q->vq_device, 8);
}

static uint16_t vector_ok(const struct virtio_pci *vp, uint16_t v)
{
	return v < vp->vp_msix.mx_n ? v : VIRTIO_NO_VECTOR;
}

/* Back to the state after power-on: queues stopped, doorbells gone. */
static void virtio_reset(struct virtio_pci *vp)
{
	if (vp->vp_started && vp->vp_ops->vo_reset)
		vp->vp_ops->vo_reset(vp->vp_arg, vp);
	vp->vp_started = false;
	for (unsigned i = 0; i < vp->vp_nq; i++) {
		struct virtio_queue *q = &vp->vp_q[i];

		if (q->vq_db >= 0)
			pci_fn_db_del(&vp->vp_fn, q->vq_db);
		*q = (struct virtio_queue){.vq_size = VIRTIO_QUEUE_MAX,
					   .vq_vector = VIRTIO_NO_VECTOR,
					   .vq_kick = q->vq_kick,
					   .vq_db = -1};
	}
	vp->vp_driver = 0;
	vp->vp_dfsel = vp->vp_gfsel = 0;
	vp->vp_qsel = 0;
	vp->vp_msix_config = VIRTIO_NO_VECTOR;
	vp->vp_status = 0;
	vp->vp_gen++;
}

/* DRIVER_OK: doorbells on the enabled queues, then the device. */
static void virtio_start(struct virtio_pci *vp)
{
	int r = 0;

	for (unsigned i = 0; i < vp->vp_nq && r >= 0; i++) {
		struct virtio_queue *q = &vp->vp_q[i];

		if (!q->vq_enable)
			continue;
		r = pci_fn_db_add(&vp->vp_fn, 0,
				  VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MUL * i,
				  q->vq_kick);
		q->vq_db = r >= 0 ? r : -1;
	}
	if (r >= 0)
		r = vp->vp_ops->vo_start(vp->vp_arg, vp);
	if (r < 0) {
		fprintf(stderr,
			"vmm-frontend: %s: the device cannot start: "
			"%s; it asks the driver for a reset\n",
			vp->vp_name, strerror(-r));
		vp->vp_status |= VIRTIO_S_NEEDS_RESET;
		return;
	}
	vp->vp_started = true;
}

static void status_write(struct virtio_pci *vp, uint8_t s)
{
	uint8_t was = vp->vp_status;

	if (s == 0) {
		virtio_reset(vp);
		return;
	}
	if ((s & VIRTIO_S_FEATURES_OK) && !(was & VIRTIO_S_FEATURES_OK) &&
	    ((vp->vp_driver & ~vp->vp_features) ||
	     !(vp->vp_driver >> VIRTIO_F_VERSION_1 & 1)))
		s &= (uint8_t)~VIRTIO_S_FEATURES_OK; /* refused: reads back */
	vp->vp_status = (uint8_t)(s | (was & VIRTIO_S_NEEDS_RESET));
	if ((s & VIRTIO_S_DRIVER_OK) && !(was & VIRTIO_S_DRIVER_OK) &&
	    (s & VIRTIO_S_FEATURES_OK) && !vp->vp_started)
		virtio_start(vp);
}

/* Queue fields may change only before DRIVER_OK (the spec's rule). */
static void queue_write(struct virtio_pci *vp, unsigned off, const uint8_t *img)
{
	struct virtio_queue *q = vq_sel(vp);
	uint16_t v16;

	if (q == NULL || (vp->vp_status & VIRTIO_S_DRIVER_OK))
		return;
	switch (off) {
	case C_QSIZE:
		memcpy(&v16, img + off, 2);
		if (v16 && v16 <= VIRTIO_QUEUE_MAX && !(v16 & (v16 - 1)))
			q->vq_size = v16;
		break;
	case C_QMSIX:
		memcpy(&v16, img + off, 2);
		q->vq_vector = vector_ok(vp, v16);
		break;
	case C_QENABLE:
		memcpy(&v16, img + off, 2);
		q->vq_enable = v16 == 1;
		break;
	case C_QDESC:
	case C_QDESC + 4:
		memcpy(&q->vq_desc, img + C_QDESC, 8);
		break;
	case C_QDRIVER:
	case C_QDRIVER + 4:
		memcpy(&q->vq_driver, img + C_QDRIVER, 8);
		break;
	case C_QDEVICE:
	case C_QDEVICE + 4:
		memcpy(&q->vq_device, img + C_QDEVICE, 8);
		break;
	}
}

static void common_write(struct virtio_pci *vp, unsigned off, uint8_t *img)
{
	uint32_t v32;
	uint16_t v16;

	switch (off) {
	case C_DFSELECT:
		memcpy(&vp->vp_dfsel, img + off, 4);
		break;
	case C_GFSELECT:
		memcpy(&vp->vp_gfsel, img + off, 4);
		break;
	case C_GF:
		memcpy(&v32, img + off, 4);
		if (vp->vp_gfsel >= 2 || (vp->vp_status & VIRTIO_S_FEATURES_OK))
			break;
		vp->vp_driver &= ~(0xffffffffull << (32 * vp->vp_gfsel));
		vp->vp_driver |= (uint64_t)v32 << (32 * vp->vp_gfsel);
		break;
	case C_MSIX:
		memcpy(&v16, img + off, 2);
		vp->vp_msix_config = vector_ok(vp, v16);
		break;
	case C_STATUS:
		status_write(vp, img[off]);
		break;
	case C_QSELECT:
		memcpy(&vp->vp_qsel, img + off, 2);
		break;
	default:
		queue_write(vp, off, img);
	}
}

static int common_io(struct virtio_pci *vp, uint64_t off, bool write,
		     uint8_t *data, unsigned len)
{
	uint8_t img[COMMON_SIZE];

	if (off + len > COMMON_SIZE) {
		if (!write)
			memset(data, 0, len);
		return 0;
	}
	common_image(vp, img);
	if (!write) {
		memcpy(data, img + off, len);
		return 0;
	}
	/* Fields are naturally aligned; a wider write is two fields. */
	memcpy(img + off, data, len);
	common_write(vp, (unsigned)off, img);
	if (len == 8)
		common_write(vp, (unsigned)off + 4, img);
	return 0;
}

/* A kick that exited (no doorbell yet, or the function's own test). */
static void notify_io(struct virtio_pci *vp, uint64_t off, bool out)
{
	uint64_t one = 1;
	unsigned q = (unsigned)(off / VIRTIO_NOTIFY_MUL);

	if (!out || q >= vp->vp_nq)
		return;
	vp->vp_kick_exits++;
	if (vp->vp_q[q].vq_kick >= 0 &&
	    write(vp->vp_q[q].vq_kick, &one, sizeof(one)) < 0)
		return; /* a full counter: the back end has kicks enough */
}

static int virtio_mmio(void *arg, unsigned bar, uint64_t off, bool write,
		       uint8_t *data, unsigned len)
{
	struct virtio_pci *vp = arg;
	int r;

	vp->vp_exits++;
	if (bar != 0)
		return 0;
	if (off < VIRTIO_BAR_ISR)
		return common_io(vp, off - VIRTIO_BAR_COMMON, write, data, len);
	if (off < VIRTIO_BAR_DEVICE) { /* ISR: MSI-X only, never set */
		if (!write)
			memset(data, 0, len);
		return 0;
	}
	if (off < VIRTIO_BAR_NOTIFY) {
		off -= VIRTIO_BAR_DEVICE;
		if (off + len <= vp->vp_cfg_len)
			return vp->vp_ops->vo_config(vp->vp_arg, (uint32_t)off,
						     write, data, len);
		if (!write)
			memset(data, 0, len);
		return 0;
	}
	if (off < VIRTIO_BAR_MSIX) {
		notify_io(vp, off - VIRTIO_BAR_NOTIFY, write);
		if (!write)
			memset(data, 0, len);
		return 0;
	}
	r = msix_mmio(&vp->vp_msix, off, write, data, len);
	if (r == 0 && !write)
		memset(data, 0, len);
	return r < 0 ? r : 0;
}

static int virtio_cfg_write(void *arg, unsigned off, unsigned len)
{
	struct virtio_pci *vp = arg;

	return msix_cfg_write(&vp->vp_msix, off, len);
}

static const struct pci_fn_ops virtio_fn_ops = {virtio_mmio, virtio_cfg_write};

int virtio_pci_init(struct virtio_pci *vp, const char *name, uint16_t type,
		    uint32_t class, uint64_t features, unsigned nq,
		    uint32_t cfg_len, const struct virtio_dev_ops *ops,
		    void *arg)
{
	int r;

	if (nq == 0 || nq > VIRTIO_MAX_QUEUES ||
	    cfg_len > VIRTIO_BAR_NOTIFY - VIRTIO_BAR_DEVICE)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->vp_name = name;
	vp->vp_features = features | 1ull << VIRTIO_F_VERSION_1;
	vp->vp_nq = nq;
	vp->vp_cfg_len = cfg_len;
	vp->vp_ops = ops;
	vp->vp_arg = arg;
	/* Modern IDs: 0x1040 + type, revision 1; subsystem 0x40 and up. */
	pci_fn_init(&vp->vp_fn, name, 0x1af4, (uint16_t)(0x1040 + type),
		    class << 8 | 1, 0x40, &virtio_fn_ops, vp);
	r = pci_fn_bar(&vp->vp_fn, 0, VIRTIO_BAR_SIZE);
	if (r == 0)
		r = msix_init(&vp->vp_msix, &vp->vp_fn, nq + 1, 0,
			      VIRTIO_BAR_MSIX, VIRTIO_BAR_PBA);
	if (r == 0 && (virtio_cap(vp, CAP_COMMON, VIRTIO_BAR_COMMON,
				  COMMON_SIZE, false) < 0 ||
		       virtio_cap(vp, CAP_ISR, VIRTIO_BAR_ISR, 1, false) < 0 ||
		       virtio_cap(vp, CAP_NOTIFY, VIRTIO_BAR_NOTIFY,
				  VIRTIO_NOTIFY_MUL * nq, true) < 0 ||
		       (cfg_len && virtio_cap(vp, CAP_DEVICE, VIRTIO_BAR_DEVICE,
					      cfg_len, false) < 0)))
		r = -ENOSPC;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vp->vp_q[i].vq_kick = vp->vp_q[i].vq_db = -1;
	for (unsigned i = 0; r == 0 && i < nq; i++) {
		vp->vp_q[i].vq_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->vp_q[i].vq_kick < 0)
			r = -errno;
	}
	if (r < 0) {
		virtio_pci_free(vp);
		return r;
	}
	vp->vp_status = 1; /* virtio_reset clears it: a reset's state */
	virtio_reset(vp);
	vp->vp_gen = 0;
	return 0;
}

void virtio_pci_free(struct virtio_pci *vp)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vp->vp_q[i].vq_kick >= 0)
			close(vp->vp_q[i].vq_kick);
		vp->vp_q[i].vq_kick = -1;
	}
	msix_free(&vp->vp_msix);
}

int virtio_pci_irqfd(struct virtio_pci *vp, unsigned q, int *fd)
{
	if (q >= vp->vp_nq || vp->vp_q[q].vq_vector == VIRTIO_NO_VECTOR)
		return -ENXIO;
	return msix_irqfd(&vp->vp_msix, vp->vp_q[q].vq_vector, fd);
}
