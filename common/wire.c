/*
 * wire.c: protobuf-c message framing over SOCK_SEQPACKET with SCM_RIGHTS.
 * Trust: both sides; everything received is untrusted.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "wire.h"

int wire_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int wire_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, r = wire_addr(&sun, path);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int wire_send_buf(int sock, const void *buf, size_t len, const int *fds,
		  size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
		struct cmsghdr align;
	} cmsgbuf;
	struct msghdr mh = {0};
	struct iovec iov;
	ssize_t n;

	if (nfds > WIRE_MAX_FDS)
		return -EINVAL;
	if (len > WIRE_MAX_MSG)
		return -EMSGSIZE;
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int wire_send(int sock, const ProtobufCMessage *msg, const int *fds,
	      size_t nfds)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;
	int r;

	if (len > WIRE_MAX_MSG)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return -ENOMEM;
	protobuf_c_message_pack(msg, buf);
	r = wire_send_buf(sock, buf, len, fds, nfds);
	free(buf);
	return r;
}

static void (*wire_release)(int fd);

void wire_set_release(void (*release)(int fd))
{
	wire_release = release;
}

static void wire_drop(int fd)
{
	if (wire_release != NULL)
		wire_release(fd);
	else
		close(fd);
}

void wire_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			wire_drop(fds[i]);
		fds[i] = -1;
	}
}

/* Takes the fds out of every SCM_RIGHTS header, even ones we reject. */
static size_t wire_take_fds(struct msghdr *mh, int *fds, size_t max,
			    int *overflow)
{
	size_t n = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t cnt;
		int *p;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, &p[i], sizeof(fd));
			if (n < max)
				fds[n++] = fd;
			else {
				wire_drop(fd);
				*overflow = 1;
			}
		}
	}
	return n;
}

ssize_t wire_recv(int sock, void *buf, int *fds, size_t *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
		struct cmsghdr align;
	} cmsgbuf;
	struct msghdr mh = {0};
	struct iovec iov;
	int overflow = 0;
	ssize_t n;

	*nfds = 0;
	iov.iov_base = buf;
	iov.iov_len = WIRE_MAX_MSG;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*nfds = wire_take_fds(&mh, fds, WIRE_MAX_FDS, &overflow);
	if (mh.msg_flags & MSG_CTRUNC)
		overflow = 1;
	if (overflow || (mh.msg_flags & MSG_TRUNC)) {
		wire_close_fds(fds, *nfds);
		*nfds = 0;
		return overflow ? -ETOOMANYREFS : -EMSGSIZE;
	}
	if (n == 0) { /* EOF, or an empty packet: no message, so no fds */
		wire_close_fds(fds, *nfds);
		*nfds = 0;
	}
	return n;
}

int wire_poll(struct pollfd *pfd, unsigned long n, int timeout_ms,
	      unsigned spin_us)
{
	uint64_t end = spin_us ? mono_ns() / 1000 + spin_us : 0;
	int r;

	while (spin_us) {
		r = poll(pfd, n, 0);
		if (r != 0)
			return r;
		if (mono_ns() / 1000 >= end)
			break;
		__builtin_ia32_pause();
	}
	return poll(pfd, n, timeout_ms);
}
