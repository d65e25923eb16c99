/*
 * vhost_user.c: the vhost-user front end (vhost_user.h).
 * Trust: unprivileged; the back end's replies are checked before use.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user.h"

/* Request numbers (front end to back end). */
enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
};

/* Protocol features this client speaks. */
#define PF_MQ	     (1ull << 0)
#define PF_REPLY_ACK (1ull << 3)
#define PF_CONFIG    (1ull << 9)
#define PF_OURS	     (PF_MQ | PF_REPLY_ACK | PF_CONFIG)

#define FLAG_VERSION	1u
#define FLAG_REPLY	(1u << 2)
#define FLAG_NEED_REPLY (1u << 3)
#define HDR_SIZE	12

struct vu_region {
	uint64_t gpa, size, uaddr, offset;
};

struct vu_msg {
	uint32_t req, flags, size;
	union {
		uint64_t u64;
		struct {
			uint32_t index, num;
		} state;
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;
		struct {
			uint32_t n, pad;
			struct vu_region r[VHOST_USER_MAX_REGIONS];
		} mem;
		struct {
			uint32_t off, size, flags;
			uint8_t data[VHOST_USER_MAX_CONFIG];
		} cfg;
	} p;
} __attribute__((packed));

static int vu_fail(struct vhost_user *vu, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(vu->vu_err, sizeof(vu->vu_err), "%s: ", vu->vu_what);

	va_start(ap, fmt);
	vsnprintf(vu->vu_err + n, sizeof(vu->vu_err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -err;
}

static int vu_send(struct vhost_user *vu, struct vu_msg *m, const int *fds,
		   unsigned nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)] = {0};
	struct iovec iov = {m, HDR_SIZE + m->size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(vu->vu_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vu_fail(vu, errno, "request %u: %s", m->req,
			       strerror(errno));
	if ((size_t)n != iov.iov_len)
		return vu_fail(vu, EIO, "request %u: short send", m->req);
	return 0;
}

/* Reads exactly len bytes, waiting at most the timeout for each part. */
static int vu_read(struct vhost_user *vu, void *buf, size_t len, unsigned req)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pfd = {vu->vu_fd, POLLIN, 0};
		int r = poll(&pfd, 1, VHOST_USER_TIMEOUT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return vu_fail(vu, ETIMEDOUT,
				       "no reply to request %u in %d ms", req,
				       VHOST_USER_TIMEOUT_MS);
		n = recv(vu->vu_fd, p, len, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vu_fail(vu, n == 0 ? ECONNRESET : errno,
				       "request %u: the back end %s", req,
				       n == 0 ? "closed the connection"
					      : strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The reply to m's request, of at most max payload bytes, into m. */
static int vu_reply(struct vhost_user *vu, struct vu_msg *m, uint32_t max)
{
	uint32_t req = m->req;
	int r = vu_read(vu, m, HDR_SIZE, req);

	if (r < 0)
		return r;
	if (m->req != req || (m->flags & 3) != FLAG_VERSION ||
	    !(m->flags & FLAG_REPLY) || m->size > max)
		return vu_fail(vu, EPROTO,
			       "request %u: a malformed reply (request %u, "
			       "flags 0x%x, %u bytes)",
			       req, m->req, m->flags, m->size);
	return vu_read(vu, &m->p, m->size, req);
}

/* A request that returns a u64. */
static int vu_get_u64(struct vhost_user *vu, uint32_t req, uint64_t *v)
{
	struct vu_msg m = {req, FLAG_VERSION, 0, {0}};
	int r = vu_send(vu, &m, NULL, 0);

	if (r == 0)
		r = vu_reply(vu, &m, sizeof(m.p.u64));
	if (r == 0 && m.size != sizeof(m.p.u64))
		r = vu_fail(vu, EPROTO, "request %u: a %u-byte reply", req,
			    m.size);
	if (r == 0)
		*v = m.p.u64;
	return r;
}

/* A request that changes state: with REPLY_ACK, waits for its ack. */
static int vu_set(struct vhost_user *vu, struct vu_msg *m, const int *fds,
		  unsigned nfds)
{
	uint32_t req = m->req;
	bool ack = vu->vu_protocol & PF_REPLY_ACK;
	int r;

	m->flags = FLAG_VERSION | (ack ? FLAG_NEED_REPLY : 0);
	r = vu_send(vu, m, fds, nfds);
	if (r < 0 || !ack)
		return r;
	r = vu_reply(vu, m, sizeof(m->p.u64));
	if (r == 0 && (m->size != sizeof(m->p.u64) || m->p.u64 != 0))
		r = vu_fail(vu, EIO, "request %u refused by the back end", req);
	return r;
}

static int vu_set_u64(struct vhost_user *vu, uint32_t req, uint64_t v)
{
	struct vu_msg m = {req, 0, sizeof(uint64_t), {.u64 = v}};

	return vu_set(vu, &m, NULL, 0);
}

static int vu_handshake(struct vhost_user *vu)
{
	uint64_t pf = 0, nq = 1;
	int r = vu_get_u64(vu, VU_GET_FEATURES, &vu->vu_features);

	if (r == 0 && (vu->vu_features >> VHOST_USER_F_PROTOCOL_FEATURES & 1))
		r = vu_get_u64(vu, VU_GET_PROTOCOL_FEATURES, &pf);
	if (r == 0 && pf) {
		struct vu_msg m = {VU_SET_PROTOCOL_FEATURES,
				   FLAG_VERSION,
				   sizeof(uint64_t),
				   {.u64 = pf & PF_OURS}};

		/* Sent without an ack: REPLY_ACK holds only from now on. */
		r = vu_send(vu, &m, NULL, 0);
		vu->vu_protocol = pf & PF_OURS;
	}
	if (r == 0 && (vu->vu_protocol & PF_MQ))
		r = vu_get_u64(vu, VU_GET_QUEUE_NUM, &nq);
	vu->vu_queues = nq == 0 || nq > 64 ? 1 : (unsigned)nq;
	if (r == 0) {
		struct vu_msg m = {VU_SET_OWNER, 0, 0, {0}};

		r = vu_set(vu, &m, NULL, 0);
	}
	return r;
}

int vhost_user_connect(struct vhost_user *vu, const char *path,
		       const char *what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r;

	memset(vu, 0, sizeof(*vu));
	vu->vu_what = what;
	vu->vu_fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return vu_fail(vu, ENAMETOOLONG, "socket path too long: %s",
			       path);
	strcpy(sa.sun_path, path);
	vu->vu_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vu->vu_fd < 0)
		return vu_fail(vu, errno, "socket: %s", strerror(errno));
	if (connect(vu->vu_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = vu_fail(vu, errno, "%s: %s%s", path, strerror(errno),
			    errno == ECONNREFUSED || errno == ENOENT
				    ? " (no vhost-user back end listens there)"
				    : "");
		vhost_user_close(vu);
		return r;
	}
	r = vu_handshake(vu);
	if (r < 0) {
		close(vu->vu_fd);
		vu->vu_fd = -1;
	}
	return r;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->vu_fd >= 0)
		close(vu->vu_fd);
	vu->vu_fd = -1;
}

int vhost_user_get_config(struct vhost_user *vu, void *buf, uint32_t len)
{
	struct vu_msg m = {VU_GET_CONFIG, FLAG_VERSION, 12 + len, {0}};
	int r;

	if (!(vu->vu_protocol & PF_CONFIG))
		return vu_fail(vu, ENOTSUP, "no CONFIG protocol feature");
	if (len > VHOST_USER_MAX_CONFIG)
		return -EINVAL;
	m.p.cfg.size = len;
	r = vu_send(vu, &m, NULL, 0);
	if (r == 0)
		r = vu_reply(vu, &m, sizeof(m.p.cfg));
	if (r == 0 && (m.size != 12 + len || m.p.cfg.size != len))
		r = vu_fail(vu, EPROTO, "GET_CONFIG: %u bytes, not %u",
			    m.p.cfg.size, len);
	if (r == 0)
		memcpy(buf, m.p.cfg.data, len);
	return r;
}

int vhost_user_set_mem(struct vhost_user *vu, const struct vhost_user_region *r,
		       unsigned n)
{
	struct vu_msg m = {
		VU_SET_MEM_TABLE, 0, 8 + n * sizeof(struct vu_region), {0}};
	int fds[VHOST_USER_MAX_REGIONS];

	if (n == 0 || n > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	m.p.mem.n = n;
	for (unsigned i = 0; i < n; i++) {
		m.p.mem.r[i] =
			(struct vu_region){r[i].vr_gpa, r[i].vr_size,
					   r[i].vr_uaddr, r[i].vr_offset};
		fds[i] = r[i].vr_fd;
	}
	return vu_set(vu, &m, fds, n);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	if (vu->vu_features >> VHOST_USER_F_PROTOCOL_FEATURES & 1)
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	return vu_set_u64(vu, VU_SET_FEATURES, features);
}

static int vu_state(struct vhost_user *vu, uint32_t req, unsigned i,
		    unsigned num)
{
	struct vu_msg m = {req, 0, 8, {.state = {i, num}}};

	return vu_set(vu, &m, NULL, 0);
}

int vhost_user_ring_start(struct vhost_user *vu,
			  const struct vhost_user_ring *ring,
			  void (*drain)(void *arg), void *arg)
{
	struct vu_msg m = {VU_SET_VRING_ADDR, 0, sizeof(m.p.addr), {0}};
	unsigned i = ring->vq_index;
	int r = vu_state(vu, VU_SET_VRING_NUM, i, ring->vq_num);

	m.p.addr.index = i;
	m.p.addr.desc = ring->vq_desc;
	m.p.addr.used = ring->vq_used;
	m.p.addr.avail = ring->vq_avail;
	if (r == 0)
		r = vu_set(vu, &m, NULL, 0);
	if (r == 0)
		r = vu_state(vu, VU_SET_VRING_BASE, i, 0);
	if (r == 0) {
		struct vu_msg k = {VU_SET_VRING_KICK, 0, 8, {.u64 = i}};

		r = vu_set(vu, &k, &ring->vq_kick, 1);
	}
	if (r == 0) {
		struct vu_msg c = {VU_SET_VRING_CALL, 0, 8, {.u64 = i}};

		r = vu_set(vu, &c, &ring->vq_call, 1);
	}
	if (r == 0 && drain)
		drain(arg);
	if (r == 0 && (vu->vu_features >> VHOST_USER_F_PROTOCOL_FEATURES & 1))
		r = vu_state(vu, VU_SET_VRING_ENABLE, i, 1);
	return r;
}

int vhost_user_ring_stop(struct vhost_user *vu, unsigned index, uint32_t *base)
{
	struct vu_msg m = {
		VU_GET_VRING_BASE, FLAG_VERSION, 8, {.state = {index, 0}}};
	int r = 0;

	if (vu->vu_features >> VHOST_USER_F_PROTOCOL_FEATURES & 1)
		r = vu_state(vu, VU_SET_VRING_ENABLE, index, 0);
	if (r == 0)
		r = vu_send(vu, &m, NULL, 0);
	if (r == 0)
		r = vu_reply(vu, &m, 8);
	if (r == 0 && (m.size != 8 || m.p.state.index != index))
		r = vu_fail(vu, EPROTO, "GET_VRING_BASE: a malformed reply");
	if (r == 0 && base)
		*base = m.p.state.num;
	return r;
}
