/*
 * conn.h: one frontend connection of the control socket, shared by
 * control.c (socket, framing) and conn.c (its way out).  The request
 * layer sees only its struct rpc_client (rpc.h), answered through
 * conn_rpc_ops.  Trust: the peer is untrusted.
 */
#ifndef KVMMU_CONN_H
#define KVMMU_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "kvmmu.pb-c.h"
#include "protocol.h"
#include "rpc.h"
#include "verr.h"

/* A packed reply waiting for the socket, with dups of its fds. */
struct outmsg {
	STAILQ_ENTRY(outmsg) o_entry;
	size_t o_len;
	size_t o_nfds;
	int o_fds[WIRE_MAX_FDS];
	uint8_t o_buf[];
};

/*
 * Replies a connection may owe before it is taken for a non-reader and
 * dropped.  Reading a connection waits while any reply is queued, so
 * past the answer to the request being read only Invalidate replies,
 * sent when a batch window ends (up to 255 per VM, 8 VMs per
 * connection), pile up: each a few bytes, so at most ~320 KiB with the
 * outmsg around it, plus one reply of up to WIRE_MAX_MSG.
 */
#define CONN_MAX_OUTQ 1024

struct conn {
	struct rpc_client c_rpc; /* who, what it holds: the handlers' view */
	int c_fd;
	struct event *c_ev;
	struct event *c_ev_wait; /* held back: when to read again */
	bool c_refused; /* over its uid's bound: c_refusal, then close */
	bool c_dead;	/* over CONN_MAX_OUTQ: closed from the loop */
	struct verr c_refusal;
	unsigned c_violations;
	/* Replies the socket could not take yet; reading waits for them. */
	STAILQ_HEAD(, outmsg) c_outq;
	unsigned c_outq_len;
	TAILQ_ENTRY(conn) c_entry;
};

/* The connection a handler's client is part of. */
static inline struct conn *conn_of(struct rpc_client *rc)
{
	return (struct conn *)((char *)rc - offsetof(struct conn, c_rpc));
}

/* conn.c: how the request layer answers a connection (rpc.h). */
extern const struct rpc_client_ops conn_rpc_ops;

/* conn.c: frees the queued replies and their fds. */
void conn_outq_free(struct conn *c);
/* conn.c: watches the socket for what (EV_READ or EV_WRITE) instead. */
int conn_watch(struct conn *c, short what);
/*
 * Sends rep (the caller keeps fds).  -errno: drop the connection; the
 * caller may ignore it, as a handler answering later does, since a
 * connection over CONN_MAX_OUTQ is closed from the loop all the same.
 */
int conn_send(struct conn *c, Kvmmu__Reply *rep, const int *fds, size_t nfds);
/* Sends an error reply and counts protocol violations. */
int conn_error(struct conn *c, uint64_t id, const struct verr *e);

#endif
