/*
 * wire.h: one protobuf-c message per SOCK_SEQPACKET packet, with fds passed
 * by SCM_RIGHTS.  Trust: used on both sides; the receiver treats every byte
 * and every fd as untrusted.
 */
#ifndef KVMMU_WIRE_H
#define KVMMU_WIRE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include <protobuf-c/protobuf-c.h>

#include "protocol.h"

/*
 * Packs msg and sends it with fds (which stay owned by the caller: the
 * kernel duplicates them).  Returns 0 or -errno; -EMSGSIZE when the packed
 * message exceeds WIRE_MAX_MSG.
 */
int wire_send(int sock, const ProtobufCMessage *msg, const int *fds,
	      size_t nfds);

/* The address of the unix socket path: 0, or -ENAMETOOLONG. */
int wire_addr(struct sockaddr_un *sun, const char *path);
/* A SOCK_SEQPACKET socket connected to path (close-on-exec), or -errno. */
int wire_connect(const char *path);

/* Sends an already packed message; otherwise as wire_send. */
int wire_send_buf(int sock, const void *buf, size_t len, const int *fds,
		  size_t nfds);

/*
 * Receives one packet into buf (WIRE_MAX_MSG bytes) and its fds (up to
 * WIRE_MAX_FDS, opened close-on-exec; the caller owns them).  Returns the
 * length, 0 on orderly EOF (an empty packet looks the same, so no kvmmu
 * message may pack to zero bytes; fds sent with one are closed), or -errno:
 * -EAGAIN, -EMSGSIZE for a packet larger than WIRE_MAX_MSG, -ETOOMANYREFS when
 * fds were cut off.  On error no fd is left open.
 */
ssize_t wire_recv(int sock, void *buf, int *fds, size_t *nfds);

/*
 * poll(2) that first spins up to spin_us microseconds with a zero
 * timeout.  Where the peer answers within microseconds (an RPC reply, a
 * vCPU exit answer), spinning saves the sleeper's wakeup; on machines
 * where a cross-CPU wakeup costs tens of microseconds that is most of a
 * round trip.  The spin is bounded, so an idle peer costs at most spin_us
 * of CPU per wait; then it polls with timeout_ms (0: do not block).
 * Returns what poll returns.
 */
struct pollfd;
int wire_poll(struct pollfd *pfd, unsigned long n, int timeout_ms,
	      unsigned spin_us);

#define WIRE_DEFAULT_SPIN_US 50

/* Lets go of fds[0..n) that are >= 0 and sets them to -1. */
void wire_close_fds(int *fds, size_t n);

/*
 * How wire_recv and wire_close_fds let go of fds: close(2) by default.
 * mmu-server passes release_fd (release.c), so that a peer's fd whose
 * close blocks never stalls the thread that received it.
 */
void wire_set_release(void (*release)(int fd));

#endif
