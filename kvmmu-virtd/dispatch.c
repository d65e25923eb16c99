/*
 * dispatch.c: one packet of libvirt's RPC protocol, decoded and answered
 * (virtd.h): keepalive PINGs get a PONG, calls to the remote program go
 * to procs.c, anything else gets an error reply.  The bytes go out
 * through the connection's writer, so the fuzzer drives this file alone.
 * Every packet but a keepalive is a call owed one reply: c_inflight
 * counts it until reply.c sends that reply (later, for a deferred one),
 * and virtd.c stops reading a connection that owes too many.
 * Trust: every byte here comes from a client.
 */

#include "rpcdefs.h"
#include "virtd.h"

bool vconn_length_ok(uint32_t len)
{
	return len >= VIRTD_HEADER_BYTES && len <= VIRTD_MAX_PACKET;
}

uint32_t vconn_max_packet(const struct vconn *c)
{
	return c->c_ro_sock ? VIRTD_MAX_RO_PACKET : VIRTD_MAX_PACKET;
}

/* Keepalive: a PING is answered with a PONG; a PONG needs nothing. */
static void vconn_keepalive(struct vconn *c, uint32_t proc)
{
	if (proc == KEEPALIVE_PROC_PING)
		vconn_send(c, KEEPALIVE_PROGRAM, KEEPALIVE_PROC_PONG,
			   VIR_NET_MESSAGE, 0, VIR_NET_OK, NULL);
}

/* One whole packet; false when the connection must close. */
bool vconn_packet(struct vconn *c, const uint8_t *p, size_t len)
{
	struct xdr_in in;
	struct xdr_out ret;
	struct lverr e = {0};
	uint32_t prog, vers, proc, type, serial, status;
	int r;

	xdr_in_init(&in, p, len);
	xdr_get_u32(&in); /* the length, checked by the caller */
	prog = xdr_get_u32(&in);
	vers = xdr_get_u32(&in);
	proc = xdr_get_u32(&in);
	type = xdr_get_u32(&in);
	serial = xdr_get_u32(&in);
	status = xdr_get_u32(&in);
	if (prog == KEEPALIVE_PROGRAM && vers == 1 && type == VIR_NET_MESSAGE) {
		vconn_keepalive(c, proc);
		return true;
	}
	c->c_inflight++; /* each path below answers it, now or later */
	if (type != VIR_NET_CALL || status != VIR_NET_OK) {
		/* Streams, fds, replies from a client: not ours to take. */
		lverr_set(&e, LV_ERR_RPC,
			  "packet type %u status %u: kvmmu-virtd takes calls "
			  "only",
			  type, status);
		vconn_error(c, prog, proc, serial, &e);
		return ++c->c_bad < VIRTD_MAX_BAD;
	}
	if (prog != REMOTE_PROGRAM || vers != 1) {
		lverr_set(&e, LV_ERR_RPC,
			  "program 0x%x version %u: unknown (kvmmu-virtd "
			  "serves libvirt's remote program 0x%x version 1)",
			  prog, vers, REMOTE_PROGRAM);
		vconn_error(c, prog, proc, serial, &e);
		return ++c->c_bad < VIRTD_MAX_BAD;
	}
	xdr_out_init(&ret);
	r = procs_call(c, proc, serial, &in, &ret, &e);
	if (r == 0)
		vconn_reply(c, proc, serial, &ret);
	else if (r < 0)
		vconn_error(c, prog, proc, serial, &e);
	xdr_out_free(&ret);
	if (r < 0 && e.code == LV_ERR_RPC)
		return ++c->c_bad < VIRTD_MAX_BAD;
	return !(r == 0 && proc == REMOTE_PROC_CONNECT_CLOSE);
}
