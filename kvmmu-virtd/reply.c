/*
 * reply.c: packets out (virtd.h): replies, error replies, events and
 * keepalive messages, written through the connection's writer.  A
 * reply settles one call in flight (dispatch.c counts them), which may
 * let virtd.c read the connection again.
 * Trust: only the daemon's own values are encoded.
 */
#include "rpcdefs.h"
#include "virtd.h"

void vconn_send(struct vconn *c, uint32_t prog, uint32_t proc, uint32_t type,
		uint32_t serial, uint32_t status, const struct xdr_out *body)
{
	struct xdr_out h;
	size_t blen = body ? body->x_len : 0;

	if (type == VIR_NET_REPLY && c->c_inflight > 0)
		c->c_inflight--;
	xdr_out_init(&h);
	xdr_put_u32(&h, (uint32_t)(VIRTD_HEADER_BYTES + blen));
	xdr_put_u32(&h, prog);
	xdr_put_u32(&h, 1); /* every program here is version 1 */
	xdr_put_u32(&h, proc);
	xdr_put_u32(&h, type);
	xdr_put_u32(&h, serial);
	xdr_put_u32(&h, status);
	if (!h.x_err)
		c->c_write(c, h.x_buf, h.x_len);
	if (blen > 0)
		c->c_write(c, body->x_buf, blen);
	xdr_out_free(&h);
}

void vconn_reply(struct vconn *c, uint32_t proc, uint32_t serial,
		 const struct xdr_out *body)
{
	vconn_send(c, REMOTE_PROGRAM, proc, VIR_NET_REPLY, serial, VIR_NET_OK,
		   body);
}

void vconn_event(struct vconn *c, uint32_t proc, const struct xdr_out *body)
{
	vconn_send(c, REMOTE_PROGRAM, proc, VIR_NET_MESSAGE, 0, VIR_NET_OK,
		   body);
}

/* remote_error: what libvirt's client turns into a virError. */
void vconn_error(struct vconn *c, uint32_t prog, uint32_t proc, uint32_t serial,
		 const struct lverr *e)
{
	struct xdr_out x;

	xdr_out_init(&x);
	xdr_put_i32(&x, e->code);
	xdr_put_i32(&x, e->code == LV_ERR_RPC ? VIR_FROM_RPC : VIR_FROM_DOMAIN);
	xdr_put_opt_string(&x, e->msg);
	xdr_put_i32(&x, VIR_ERR_LEVEL_ERROR);
	xdr_put_u32(&x, 0);		/* dom: none */
	xdr_put_opt_string(&x, e->msg); /* str1, as libvirt fills it */
	xdr_put_opt_string(&x, NULL);
	xdr_put_opt_string(&x, NULL);
	xdr_put_i32(&x, 0);
	xdr_put_i32(&x, 0);
	xdr_put_u32(&x, 0); /* net: none */
	vconn_send(c, prog, proc, VIR_NET_REPLY, serial, VIR_NET_ERROR, &x);
	xdr_out_free(&x);
}
