/*
 * vu_dev.c: a virtio device served by a vhost-user back end (vu_dev.h),
 * in the order cloud-hypervisor's vu_common_ctrl.rs and QEMU's
 * hw/virtio/vhost.c hand a device over: features, memory table, then
 * each ring.
 * Trust: unprivileged; ring addresses come from the guest and are
 * checked against guest RAM before the back end sees them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "vu_dev.h"

#define QUIESCE_MS 2000 /* how long a reset waits for requests in flight */

int vu_dev_open(struct vu_dev *d, const char *name, const char *path)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->vd_name, sizeof(d->vd_name), "%s", name);
	snprintf(d->vd_what, sizeof(d->vd_what), "%s's back end", d->vd_name);
	return vhost_user_connect(&d->vd_vu, path, d->vd_what);
}

int vu_dev_get_config(struct vu_dev *d, uint32_t len)
{
	if (len > sizeof(d->vd_cfg))
		return -EINVAL;
	return vhost_user_get_config(&d->vd_vu, d->vd_cfg, len);
}

int vu_dev_set_ram(struct vu_dev *d, const struct vhost_user_region *r,
		   unsigned n)
{
	if (n == 0 || n > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	memcpy(d->vd_mem, r, n * sizeof(*r));
	d->vd_nmem = n;
	return 0;
}

int vu_dev_fd(const struct vu_dev *d)
{
	return d->vd_vu.vu_fd;
}

/* Guest-physical [gpa, gpa + len) in one RAM region: our address. */
static int vu_uaddr(const struct vu_dev *d, uint64_t gpa, uint64_t len,
		    uint64_t *ua)
{
	for (unsigned i = 0; i < d->vd_nmem; i++) {
		const struct vhost_user_region *r = &d->vd_mem[i];

		if (gpa >= r->vr_gpa && gpa - r->vr_gpa < r->vr_size &&
		    len <= r->vr_size - (gpa - r->vr_gpa)) {
			*ua = r->vr_uaddr + (gpa - r->vr_gpa);
			return 0;
		}
	}
	return -EFAULT;
}

/* The call eventfd's one signal at SET_VRING_CALL, while held masked. */
static void vu_drain(void *arg)
{
	int fd = *(const int *)arg;
	struct pollfd p = {fd, POLLIN, 0};
	uint64_t n;

	if (poll(&p, 1, 0) == 1 && read(fd, &n, sizeof(n)) < 0)
		return; /* nothing to drain after all */
}

static int vu_ring_start(struct vu_dev *d, unsigned q)
{
	struct virtio_pci *vp = &d->vd_vp;
	const struct virtio_queue *vq = &vp->vp_q[q];
	uint64_t n = vq->vq_size;
	struct vhost_user_ring ring = {
		.vq_index = q, .vq_num = vq->vq_size, .vq_kick = vq->vq_kick};
	int call = -1, r, u;

	if (vu_uaddr(d, vq->vq_desc, 16 * n, &ring.vq_desc) < 0 ||
	    vu_uaddr(d, vq->vq_driver, 6 + 2 * n, &ring.vq_avail) < 0 ||
	    vu_uaddr(d, vq->vq_device, 6 + 8 * n, &ring.vq_used) < 0) {
		fprintf(stderr,
			"vmm-frontend: %s: queue %u's rings (0x%llx, 0x%llx, "
			"0x%llx) are not in guest RAM\n",
			d->vd_name, q, (unsigned long long)vq->vq_desc,
			(unsigned long long)vq->vq_driver,
			(unsigned long long)vq->vq_device);
		return -EFAULT;
	}
	r = virtio_pci_irqfd(vp, q, &call);
	if (r < 0) {
		fprintf(stderr,
			"vmm-frontend: %s: queue %u: no MSI-X irqfd (%s): "
			"this transport is MSI-X only\n",
			d->vd_name, q, strerror(-r));
		return r;
	}
	ring.vq_call = call;
	/* libvhost-user signals the call fd at SET_VRING_CALL: held. */
	r = msix_hold(&vp->vp_msix, vq->vq_vector, true);
	if (r == 0)
		r = vhost_user_ring_start(&d->vd_vu, &ring, vu_drain, &call);
	u = msix_hold(&vp->vp_msix, vq->vq_vector, false);
	if (r == 0)
		r = u;
	if (r < 0) {
		fprintf(stderr, "vmm-frontend: %s: queue %u: %s\n", d->vd_name,
			q, d->vd_vu.vu_err[0] ? d->vd_vu.vu_err : strerror(-r));
		return r;
	}
	d->vd_ring_on[q] = true;
	d->vd_avail[q] = ring.vq_avail;
	d->vd_used[q] = ring.vq_used;
	return 0;
}

/*
 * Waits until the back end has completed what the driver made available
 * (used idx = avail idx), at most QUIESCE_MS: GET_VRING_BASE with a
 * request in flight makes qemu-storage-daemon 7.2 panic.
 */
static void vu_quiesce(const struct vu_dev *d, unsigned q)
{
	const volatile uint16_t *avail =
		(const uint16_t *)(uintptr_t)(d->vd_avail[q] + 2);
	const volatile uint16_t *used =
		(const uint16_t *)(uintptr_t)(d->vd_used[q] + 2);
	uint64_t until = mono_ns() + QUIESCE_MS * 1000000ull;
	struct timespec ms = {0, 1000000};

	while (*avail != *used && mono_ns() < until)
		nanosleep(&ms, NULL);
}

static void vu_stop_rings(struct vu_dev *d)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		uint32_t base;

		if (!d->vd_ring_on[q])
			continue;
		d->vd_ring_on[q] = false;
		vu_quiesce(d, q);
		if (vhost_user_ring_stop(&d->vd_vu, q, &base) < 0)
			fprintf(stderr,
				"vmm-frontend: %s: stopping queue %u: %s\n",
				d->vd_name, q, d->vd_vu.vu_err);
	}
}

static int vu_start(void *arg, struct virtio_pci *vp)
{
	struct vu_dev *d = arg;
	int r;

	if (d->vd_nmem == 0)
		return -ENXIO;
	r = vhost_user_set_features(&d->vd_vu, vp->vp_driver);
	if (r == 0)
		r = vhost_user_set_mem(&d->vd_vu, d->vd_mem, d->vd_nmem);
	if (r < 0)
		fprintf(stderr, "vmm-frontend: %s: %s\n", d->vd_name,
			d->vd_vu.vu_err);
	for (unsigned q = 0; r == 0 && q < vp->vp_nq; q++) {
		if (vp->vp_q[q].vq_enable)
			r = vu_ring_start(d, q);
	}
	if (r < 0)
		vu_stop_rings(d);
	return r;
}

static void vu_reset(void *arg, struct virtio_pci *vp)
{
	(void)vp;
	vu_stop_rings(arg);
}

/* The back end's config as it said at start; writes are not offered. */
static int vu_config(void *arg, uint32_t off, bool write, uint8_t *data,
		     unsigned len)
{
	const struct vu_dev *d = arg;

	if (!write)
		memcpy(data, d->vd_cfg + off, len);
	return 0;
}

static const struct virtio_dev_ops vu_ops = {vu_config, vu_start, vu_reset};

int vu_dev_init(struct vu_dev *d, uint16_t type, uint32_t class, uint64_t mask,
		unsigned nq, uint32_t cfg_len)
{
	uint64_t features = d->vd_vu.vu_features & mask;
	int r;

	if (cfg_len > sizeof(d->vd_cfg))
		return -EINVAL;
	d->vd_cfg_len = cfg_len;
	r = virtio_pci_init(&d->vd_vp, d->vd_name, type, class, features, nq,
			    cfg_len, &vu_ops, d);
	d->vd_inited = r == 0;
	return r;
}

void vu_dev_free(struct vu_dev *d)
{
	vhost_user_close(&d->vd_vu);
	if (d->vd_inited)
		virtio_pci_free(&d->vd_vp);
	d->vd_inited = false;
}
