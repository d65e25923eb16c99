/*
 * virtio_pci.h: the virtio 1.x PCI transport ("modern" only), generic
 * over device types: a PCI function (machine/pcifn.h) whose BAR 0 holds
 * the common, ISR, device-config and notify structures and the MSI-X
 * table and PBA, each found through a vendor capability.  It negotiates
 * features, takes the driver's queue layout, and on DRIVER_OK hands the
 * queues to the device (vo_start): each queue's notify address is then a
 * doorbell on its kick eventfd, so a guest's kick reaches whoever reads
 * that eventfd (a vhost-user back end) without an exit.  Interrupts are
 * MSI-X only (as cloud-hypervisor): ISR reads 0.  A device type supplies
 * its ID, features, config space and what start and reset do
 * (virtio/vu_dev.c for devices served by a vhost-user back end).
 * Trust: unprivileged; every register value comes from the guest.
 */
#ifndef KVMMU_VIRTIO_PCI_H
#define KVMMU_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "msix.h"
#include "pcifn.h"

#define VIRTIO_MAX_QUEUES  8
#define VIRTIO_QUEUE_MAX   256 /* entries per queue we offer */
#define VIRTIO_NO_VECTOR   0xffff
#define VIRTIO_F_VERSION_1 32

/* Device status bits. */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER	     2
#define VIRTIO_S_DRIVER_OK   4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED	     0x80

/* BAR 0's layout. */
#define VIRTIO_BAR_COMMON 0x0000
#define VIRTIO_BAR_ISR	  0x1000
#define VIRTIO_BAR_DEVICE 0x2000
#define VIRTIO_BAR_NOTIFY 0x3000
#define VIRTIO_BAR_MSIX	  0x4000
#define VIRTIO_BAR_PBA	  0x5000
#define VIRTIO_BAR_SIZE	  0x8000
#define VIRTIO_NOTIFY_MUL 4 /* queue q's doorbell: NOTIFY + 4 q */

struct virtio_queue {
	uint16_t vq_size;   /* entries, a power of two */
	uint16_t vq_vector; /* MSI-X vector, or VIRTIO_NO_VECTOR */
	bool vq_enable;
	uint64_t vq_desc, vq_driver, vq_device; /* guest-physical */
	int vq_kick; /* the eventfd the guest's notify signals (ours) */
	int vq_db;   /* its doorbell on the function; -1: none */
};

struct virtio_pci;

struct virtio_dev_ops {
	/* The device's config space at off (< its length). */
	int (*vo_config)(void *arg, uint32_t off, bool write, uint8_t *data,
			 unsigned len);
	/*
	 * DRIVER_OK: the features in vp_driver and the enabled queues are
	 * the driver's.  0, or -errno: the device reports NEEDS_RESET.
	 */
	int (*vo_start)(void *arg, struct virtio_pci *vp);
	/* The driver reset a started device: stop every queue. */
	void (*vo_reset)(void *arg, struct virtio_pci *vp);
};

struct virtio_pci {
	struct pci_fn vp_fn;
	struct msix vp_msix;
	const char *vp_name;  /* for people: "vda" */
	uint64_t vp_features; /* offered */
	uint64_t vp_driver;   /* accepted by the driver */
	uint32_t vp_dfsel, vp_gfsel;
	uint16_t vp_msix_config, vp_qsel;
	uint8_t vp_status, vp_gen;
	unsigned vp_nq;
	uint32_t vp_cfg_len;
	struct virtio_queue vp_q[VIRTIO_MAX_QUEUES];
	bool vp_started;
	uint64_t vp_exits;	/* MMIO exits that reached this device */
	uint64_t vp_kick_exits; /* ... of them, notify writes */
	const struct virtio_dev_ops *vp_ops;
	void *vp_arg;
};

/*
 * A device of virtio type type (2: block, 26: fs) with PCI class class,
 * offering features (VERSION_1 is added), nq queues (1..8), cfg_len
 * bytes of device config (at most 4 KiB); nq + 1 MSI-X vectors.  Makes
 * nq kick eventfds.  0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *vp, const char *name, uint16_t type,
		    uint32_t class, uint64_t features, unsigned nq,
		    uint32_t cfg_len, const struct virtio_dev_ops *ops,
		    void *arg);
/* Closes the kick eventfds and MSI-X's irqfds. */
void virtio_pci_free(struct virtio_pci *vp);
/* Queue q's interrupt as an irqfd (*fd stays the transport's). */
int virtio_pci_irqfd(struct virtio_pci *vp, unsigned q, int *fd);

#endif
