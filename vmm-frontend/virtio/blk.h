/*
 * blk.h: virtio-blk (device type 2) served by a vhost-user-blk back end
 * (qemu-storage-daemon, or one the operator runs): its config space
 * (capacity, block size, queues, ...) is the back end's, read once at
 * start, and the features offered are the back end's that need nothing
 * of the frontend (no writable config: no CONFIG_WCE).
 * Trust: unprivileged; the back end is another process.
 */
#ifndef KVMMU_BLK_H
#define KVMMU_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vu_dev.h"

#define BLK_CONFIG_SIZE 60 /* struct virtio_blk_config, virtio 1.2 */

/*
 * The device on the connection d (vu_dev_open): config from the back
 * end, as many queues as it says (MQ, at most VIRTIO_MAX_QUEUES).
 * 0 or -errno, d->vd_vu.vu_err or a message on stderr saying why.
 */
int blk_init(struct vu_dev *d);
/* Sectors of 512 bytes, as the back end said. */
uint64_t blk_capacity(const struct vu_dev *d);
/* Whether the back end exports the image read-only (VIRTIO_BLK_F_RO). */
bool blk_readonly(const struct vu_dev *d);

#endif
