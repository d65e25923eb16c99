/*
 * fs.h: virtio-fs (device type 26) served by a vhost-user-fs back end
 * (virtiofsd, one the frontend starts or one the operator runs).  Its
 * config space, the tag the guest mounts and num_request_queues, is the
 * frontend's own: virtiofsd offers no CONFIG.  Two queues: hiprio and
 * one request queue, all virtiofsd takes.
 * Trust: unprivileged; the back end is another process.
 */
#ifndef KVMMU_FS_H
#define KVMMU_FS_H

#include "vu_dev.h"

#define FS_TAG_MAX     36 /* bytes of struct virtio_fs_config's tag */
#define FS_CONFIG_SIZE 40 /* tag, le32 num_request_queues */

/*
 * The device on the connection d (vu_dev_open) with tag (1..FS_TAG_MAX
 * bytes, not NUL-padded past 36).  0 or -errno, d->vd_vu.vu_err saying
 * why (a back end with fewer than two queues, or the function).
 */
int fs_init(struct vu_dev *d, const char *tag);
/* The tag as the guest reads it (NUL-terminated copy into buf[37]). */
void fs_tag(const struct vu_dev *d, char buf[FS_TAG_MAX + 1]);

#endif
