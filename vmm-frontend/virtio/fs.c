/*
 * fs.c: virtio-fs over vhost-user (fs.h), after the virtio 1.2 spec's
 * section 5.11 and cloud-hypervisor's vhost_user/fs.rs.
 * Trust: unprivileged; the tag is the operator's, bounded by the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "fs.h"

#define VIRTIO_ID_FS	   26
#define PCI_CLASS_STORAGE  0x0180 /* other mass storage, as QEMU's */
#define FS_QUEUES	   2	  /* hiprio + one request queue */
#define CFG_NUM_REQ_QUEUES 36
#define F_INDIRECT_DESC	   28
#define F_EVENT_IDX	   29

/*
 * Only the ring's features, the back end's business.  Not
 * VIRTIO_FS_F_NOTIFICATION (0): no notification queue in virtiofsd;
 * not ACCESS_PLATFORM or packed rings: libvhost-user has neither.
 */
#define FS_FEATURES ((1ull << F_INDIRECT_DESC) | (1ull << F_EVENT_IDX))

int fs_init(struct vu_dev *d, const char *tag)
{
	size_t len = strlen(tag);
	int r;

	if (len == 0 || len > FS_TAG_MAX) {
		snprintf(d->vd_vu.vu_err, sizeof(d->vd_vu.vu_err),
			 "%s: tag of %zu bytes (1..%d)", d->vd_name, len,
			 FS_TAG_MAX);
		return -EINVAL;
	}
	if (d->vd_vu.vu_queues < FS_QUEUES) {
		snprintf(d->vd_vu.vu_err, sizeof(d->vd_vu.vu_err),
			 "%s: the back end serves %u queue(s); virtio-fs "
			 "needs %d (hiprio and requests)",
			 d->vd_name, d->vd_vu.vu_queues, FS_QUEUES);
		return -EPROTO;
	}
	/* The spec's tag is NUL-padded, unterminated when 36 bytes long. */
	memset(d->vd_cfg, 0, FS_CONFIG_SIZE);
	memcpy(d->vd_cfg, tag, len);
	put32(d->vd_cfg + CFG_NUM_REQ_QUEUES, FS_QUEUES - 1);
	r = vu_dev_init(d, VIRTIO_ID_FS, PCI_CLASS_STORAGE, FS_FEATURES,
			FS_QUEUES, FS_CONFIG_SIZE);
	if (r < 0)
		snprintf(d->vd_vu.vu_err, sizeof(d->vd_vu.vu_err),
			 "%s: the virtio-pci function: %s", d->vd_name,
			 strerror(-r));
	return r;
}

void fs_tag(const struct vu_dev *d, char buf[FS_TAG_MAX + 1])
{
	memcpy(buf, d->vd_cfg, FS_TAG_MAX);
	buf[FS_TAG_MAX] = '\0';
}
