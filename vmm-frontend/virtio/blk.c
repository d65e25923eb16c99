/*
 * blk.c: virtio-blk over vhost-user (blk.h), after the virtio 1.2 spec's
 * section 5.2 and cloud-hypervisor's vhost_user/blk.rs.
 * Trust: unprivileged; the back end's config is bounded before use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blk.h"

#define VIRTIO_ID_BLOCK 2
#define PCI_CLASS_SCSI	0x0100 /* mass storage, as QEMU's virtio-blk */
#define CFG_NUM_QUEUES	34
#define BLK_F_RO	5
#define BLK_F_MQ	12
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX	29

/*
 * The features the frontend lets through: the block device's own that
 * change only what the driver reads from config (size_max, seg_max,
 * geometry, ro, blk_size, flush, topology, mq, discard, write zeroes),
 * and the ring's that are the back end's business (indirect
 * descriptors, event index).  Not CONFIG_WCE (11): its config write
 * would have to reach the back end.  Not ACCESS_PLATFORM or packed
 * rings: libvhost-user has neither.
 */
#define BLK_FEATURES                                                           \
	((1ull << 1) | (1ull << 2) | (1ull << 4) | (1ull << BLK_F_RO) |        \
	 (1ull << 6) | (1ull << 9) | (1ull << 10) | (1ull << BLK_F_MQ) |       \
	 (1ull << 13) | (1ull << 14) | (1ull << F_INDIRECT_DESC) |             \
	 (1ull << F_EVENT_IDX))

int blk_init(struct vu_dev *d)
{
	unsigned nq = 1;
	uint16_t n;
	int r = vu_dev_get_config(d, BLK_CONFIG_SIZE);

	if (r < 0)
		return r;
	if (d->vd_vu.vu_features >> BLK_F_MQ & 1) {
		memcpy(&n, d->vd_cfg + CFG_NUM_QUEUES, 2);
		nq = n == 0 ? 1 : n;
	}
	if (nq > d->vd_vu.vu_queues)
		nq = d->vd_vu.vu_queues;
	if (nq > VIRTIO_MAX_QUEUES) {
		nq = VIRTIO_MAX_QUEUES;
		/* What the driver reads must be what it gets. */
		n = (uint16_t)nq;
		memcpy(d->vd_cfg + CFG_NUM_QUEUES, &n, 2);
	}
	r = vu_dev_init(d, VIRTIO_ID_BLOCK, PCI_CLASS_SCSI, BLK_FEATURES, nq,
			BLK_CONFIG_SIZE);
	if (r < 0)
		snprintf(d->vd_vu.vu_err, sizeof(d->vd_vu.vu_err),
			 "%s: the virtio-pci function: %s", d->vd_name,
			 strerror(-r));
	return r;
}

uint64_t blk_capacity(const struct vu_dev *d)
{
	uint64_t c;

	memcpy(&c, d->vd_cfg, 8);
	return c;
}

bool blk_readonly(const struct vu_dev *d)
{
	return d->vd_vp.vp_features >> BLK_F_RO & 1;
}
