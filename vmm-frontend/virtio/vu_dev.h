/*
 * vu_dev.h: a virtio device whose queues a vhost-user back end serves:
 * the virtio-pci transport (virtio_pci.h) joined to the vhost-user
 * client (vhost_user.h).  The back end's features and config space are
 * offered to the driver; at DRIVER_OK the driver's features, the memory
 * table (guest RAM only) and each enabled ring go to the back end: its
 * addresses in the frontend's mapping of guest RAM, the doorbell's
 * eventfd as its kick, the queue's MSI-X irqfd as its call.  From then
 * on a request crosses no kvmmu process.  On a reset the rings are
 * quiesced and stopped.  A device type (blk.c) says which features and
 * how much config space.
 * Trust: unprivileged; guest values reach the back end only once checked
 * to lie in guest RAM, and the back end is another process.
 */
#ifndef KVMMU_VU_DEV_H
#define KVMMU_VU_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"
#include "virtio_pci.h"

#define VU_DEV_NAME_MAX 16

struct vu_dev {
	struct virtio_pci vd_vp;
	struct vhost_user vd_vu;
	char vd_name[VU_DEV_NAME_MAX]; /* "vda" */
	char vd_what[VU_DEV_NAME_MAX + 16];
	struct vhost_user_region vd_mem[VHOST_USER_MAX_REGIONS];
	unsigned vd_nmem;
	uint8_t vd_cfg[VHOST_USER_MAX_CONFIG]; /* the back end's */
	uint32_t vd_cfg_len;
	bool vd_ring_on[VIRTIO_MAX_QUEUES];
	uint64_t vd_avail[VIRTIO_MAX_QUEUES]; /* user addresses, to quiesce */
	uint64_t vd_used[VIRTIO_MAX_QUEUES];
	bool vd_inited; /* vd_vp is set up */
};

/*
 * Connects to the back end listening at path, for the device name
 * ("vda").  0 or -errno; d->vd_vu.vu_err says why.
 */
int vu_dev_open(struct vu_dev *d, const char *name, const char *path);
/* The back end's config space [0, len) into vd_cfg (GET_CONFIG). */
int vu_dev_get_config(struct vu_dev *d, uint32_t len);
/*
 * The PCI function: virtio type type, PCI class class, the back end's
 * features masked by mask (VERSION_1 always), nq queues, the first
 * cfg_len bytes of vd_cfg as its config space.  0 or -errno.
 */
int vu_dev_init(struct vu_dev *d, uint16_t type, uint32_t class, uint64_t mask,
		unsigned nq, uint32_t cfg_len);
/* Guest RAM as the back end's memory table gets it at DRIVER_OK. */
int vu_dev_set_ram(struct vu_dev *d, const struct vhost_user_region *r,
		   unsigned n);
/* The back end's socket: readable only when it went away. */
int vu_dev_fd(const struct vu_dev *d);
/* Closes the connection, the kick eventfds and the irqfds. */
void vu_dev_free(struct vu_dev *d);

#endif
