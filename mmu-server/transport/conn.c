/*
 * conn.c: a connection's way out: replies sent at once or queued (with
 * dups of their fds) until the socket takes them, and error replies that
 * count protocol violations.  Used by control.c (the socket) and, through
 * conn_rpc_ops, by the request layer's handlers; it calls neither.
 * Trust: the peer is untrusted; nothing here reads from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "server.h"
#include "wire.h"

/* Error replies that are protocol violations, before disconnecting. */
#define MAX_VIOLATIONS 16

void conn_outq_free(struct conn *c)
{
	struct outmsg *o;

	while ((o = STAILQ_FIRST(&c->c_outq)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->c_outq, o_entry);
		wire_close_fds(o->o_fds, o->o_nfds);
		free(o);
	}
	c->c_outq_len = 0;
}

int conn_watch(struct conn *c, short what)
{
	event_callback_fn cb = event_get_callback(c->c_ev);

	event_del(c->c_ev);
	event_assign(c->c_ev, c->c_rpc.c_srv->s_base, c->c_fd,
		     what | EV_PERSIST, cb, c);
	return event_add(c->c_ev, NULL);
}

/* Queues a reply (with dups of its fds) and waits for the socket. */
static int conn_enqueue(struct conn *c, const ProtobufCMessage *m,
			const int *fds, size_t nfds)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	struct outmsg *o;

	if (c->c_dead)
		return -ENOBUFS;
	if (c->c_outq_len >= CONN_MAX_OUTQ) {
		/*
		 * Dropping the reply and going on would leave the frontend
		 * waiting for it forever; closing here would free c under a
		 * caller that still uses it (inval_flush answering a batch).
		 * So the loop closes it next, and nothing more is queued.
		 */
		log_warn("conn pid %d uid %u: %u replies unread, "
			 "disconnecting",
			 (int)c->c_rpc.c_pid, (unsigned)c->c_rpc.c_uid,
			 c->c_outq_len);
		srv_count(SC_DISCONNECTS);
		c->c_dead = true;
		event_active(c->c_ev, EV_WRITE, 0);
		return -ENOBUFS;
	}
	o = malloc(sizeof(*o) + (len ? len : 1));
	if (o == NULL)
		return -ENOMEM;
	protobuf_c_message_pack(m, o->o_buf);
	o->o_len = len;
	o->o_nfds = 0;
	for (size_t i = 0; i < nfds; i++) {
		o->o_fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (o->o_fds[i] < 0) {
			wire_close_fds(o->o_fds, o->o_nfds);
			free(o);
			return -errno;
		}
		o->o_nfds = i + 1;
	}
	if (STAILQ_EMPTY(&c->c_outq) && conn_watch(c, EV_WRITE) < 0) {
		wire_close_fds(o->o_fds, o->o_nfds);
		free(o);
		return -EIO;
	}
	STAILQ_INSERT_TAIL(&c->c_outq, o, o_entry);
	c->c_outq_len++;
	return 0;
}

/* Sends a reply; the caller keeps its fds.  -errno: drop the connection. */
int conn_send(struct conn *c, Kvmmu__Reply *rep, const int *fds, size_t nfds)
{
	int r = -EAGAIN;

	if (STAILQ_EMPTY(&c->c_outq)) /* keep replies in order */
		r = wire_send(c->c_fd, &rep->base, fds, nfds);
	if (r == -EAGAIN)
		r = conn_enqueue(c, &rep->base, fds, nfds);
	return r;
}

static bool verr_is_violation(int code)
{
	return code == EINVAL || code == EPROTO || code == EMSGSIZE ||
	       code == E2BIG || code == ETOOMANYREFS || code == EBADF;
}

int conn_error(struct conn *c, uint64_t id, const struct verr *e)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__Error err = KVMMU__ERROR__INIT;

	srv_count(SC_ERRORS);
	log_debug("conn pid %d: error %d: %s", (int)c->c_rpc.c_pid, e->code,
		  e->msg);
	if (verr_is_violation(e->code) && ++c->c_violations >= MAX_VIOLATIONS) {
		log_warn("conn pid %d uid %u: %u protocol violations, "
			 "disconnecting (last: %s)",
			 (int)c->c_rpc.c_pid, (unsigned)c->c_rpc.c_uid,
			 c->c_violations, e->msg);
		srv_count(SC_DISCONNECTS);
		c->c_rpc.c_close_after_send = true;
	}
	rep.has_version = rep.has_id = 1;
	rep.version = KVMMU_PROTOCOL_VERSION;
	rep.id = id;
	err.has_code = 1;
	err.code = e->code;
	err.message = (char *)e->msg;
	rep.error = &err;
	return conn_send(c, &rep, NULL, 0);
}

static int conn_rpc_send(struct rpc_client *rc, Kvmmu__Reply *rep,
			 const int *fds, size_t nfds)
{
	return conn_send(conn_of(rc), rep, fds, nfds);
}

static int conn_rpc_error(struct rpc_client *rc, uint64_t id,
			  const struct verr *e)
{
	return conn_error(conn_of(rc), id, e);
}

const struct rpc_client_ops conn_rpc_ops = {
	.rco_send = conn_rpc_send,
	.rco_error = conn_rpc_error,
};
