/*
 * wire.h: one protobuf-c message per SOCK_SEQPACKET packet, with fds passed
 * by SCM_RIGHTS.  Trust: used on both sides; the receiver treats every byte
 * and every fd as untrusted.
 */
#ifndef KVMMU_WIRE_H
#define KVMMU_WIRE_H

#include <stddef.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "protocol.h"

/*
 * Packs msg and sends it with fds (which stay owned by the caller: the
 * kernel duplicates them).  Returns 0 or -errno; -EMSGSIZE when the packed
 * message exceeds WIRE_MAX_MSG.
 */
int wire_send(int sock, const ProtobufCMessage *msg, const int *fds,
	      size_t nfds);

/*
 * Receives one packet into buf (WIRE_MAX_MSG bytes) and its fds (up to
 * WIRE_MAX_FDS, opened close-on-exec; the caller owns them).  Returns the
 * length, 0 on orderly EOF (an empty packet looks the same, so no kvmmu
 * message may pack to zero bytes), or -errno: -EAGAIN, -EMSGSIZE for a packet
 * larger than WIRE_MAX_MSG, -ETOOMANYREFS when fds were cut off.  On error
 * no fd is left open.
 */
ssize_t wire_recv(int sock, void *buf, int *fds, size_t *nfds);

/* Closes fds[0..n) that are >= 0 and sets them to -1. */
void wire_close_fds(int *fds, size_t n);

#endif
