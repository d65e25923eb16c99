/*
 * vhost_user.h: the front-end side of the vhost-user protocol (QEMU's
 * docs/interop/vhost-user.rst), one client for every device type: the
 * bring-up both Debian back ends accept (qemu-storage-daemon's
 * vhost-user-blk, virtiofsd), guest RAM in the memory table, and rings
 * started and stopped.  Synchronous: each request waits for its reply
 * (with REPLY_ACK, for every request that changes state) at most
 * VHOST_USER_TIMEOUT_MS, so a back end that hangs is an error, not a
 * hang.  No fd is received; fds sent stay the caller's.
 * Trust: unprivileged; the back end is another process, and its replies
 * are checked for request, flags and size before use.
 */
#ifndef KVMMU_VHOST_USER_H
#define KVMMU_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHOST_USER_TIMEOUT_MS	       5000
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_USER_MAX_REGIONS	       8
#define VHOST_USER_MAX_CONFIG	       256

struct vhost_user {
	int vu_fd;
	const char *vu_what;  /* for messages: "vda's back end" */
	uint64_t vu_features; /* the back end's (GET_FEATURES) */
	uint64_t vu_protocol; /* negotiated protocol features */
	unsigned vu_queues;   /* GET_QUEUE_NUM, or 1 */
	char vu_err[256];     /* why the last call failed */
};

/* One region of the memory table: guest RAM, fd-backed. */
struct vhost_user_region {
	uint64_t vr_gpa, vr_size;
	uint64_t vr_uaddr;  /* where the frontend maps it: ring addresses */
	uint64_t vr_offset; /* in the fd */
	int vr_fd;
};

/* A ring as the driver laid it out, in the frontend's addresses. */
struct vhost_user_ring {
	unsigned vq_index, vq_num;
	uint64_t vq_desc, vq_avail, vq_used; /* user addresses */
	int vq_kick, vq_call;		     /* eventfds (stay ours) */
};

/*
 * Connects to the back end's socket and says what both Debian back ends
 * accept first: GET_FEATURES, GET/SET_PROTOCOL_FEATURES (MQ, REPLY_ACK,
 * CONFIG, as offered), GET_QUEUE_NUM, SET_OWNER.  0 or -errno, vu_err
 * saying why (ECONNREFUSED: nothing listens).
 */
int vhost_user_connect(struct vhost_user *vu, const char *path,
		       const char *what);
void vhost_user_close(struct vhost_user *vu);
/* The device config space [0, len) (GET_CONFIG: needs CONFIG). */
int vhost_user_get_config(struct vhost_user *vu, void *buf, uint32_t len);
/* The memory table: only guest RAM belongs in it. */
int vhost_user_set_mem(struct vhost_user *vu, const struct vhost_user_region *r,
		       unsigned n);
/*
 * The driver's features; VHOST_USER_F_PROTOCOL_FEATURES is added when
 * the back end offers it, so rings start disabled until enabled (else
 * libvhost-user enables every ring at once).
 */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
/*
 * Starts a ring: SET_VRING_NUM, ADDR, BASE (0), KICK, CALL, ENABLE.
 * Before ENABLE, drain is called (if not NULL) with arg: libvhost-user
 * signals the call eventfd once when SET_VRING_CALL arrives, and the
 * caller drains it so the guest sees no interrupt for nothing.
 */
int vhost_user_ring_start(struct vhost_user *vu,
			  const struct vhost_user_ring *ring,
			  void (*drain)(void *arg), void *arg);
/*
 * Stops a ring: SET_VRING_ENABLE 0, then GET_VRING_BASE (*base: where
 * the back end was).  Quiesce first: GET_VRING_BASE with a request in
 * flight makes qemu-storage-daemon 7.2 panic.
 */
int vhost_user_ring_stop(struct vhost_user *vu, unsigned index, uint32_t *base);

#endif
