/*
 * events.c: libvirt's domain events to the clients that registered a
 * callback for them (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY): the
 * lifecycle (defined, undefined, started, suspended, resumed, stopped)
 * and metadata changes, each a MESSAGE packet naming the callback.
 * Trust: privileged; only the daemon's own state is sent.
 */
#include <string.h>

#include "rpcdefs.h"
#include "virtd.h"

void xdr_put_domain(struct xdr_out *x, const struct vdom *v)
{
	xdr_put_string(x, v->vd_name);
	xdr_put_fixed(x, v->vd_uuid, 16);
	xdr_put_i32(x, v->vd_id);
}

/* Calls f for each callback of event id that covers v. */
static void events_each(struct virtd *d, struct vdom *v, int id,
			void (*f)(struct vconn *, int, void *), void *arg)
{
	struct vconn *c;

	TAILQ_FOREACH(c, &d->d_conns, c_entry)
	{
		for (unsigned i = 0; i < c->c_ncbs; i++) {
			const struct vcallback *cb = &c->c_cbs[i];

			if (cb->cb_event == id &&
			    (cb->cb_any ||
			     memcmp(cb->cb_uuid, v->vd_uuid, 16) == 0))
				f(c, cb->cb_id, arg);
		}
	}
}

struct lifecycle {
	struct vdom *l_dom;
	int l_event, l_detail;
};

static void send_lifecycle(struct vconn *c, int cb, void *arg)
{
	const struct lifecycle *l = arg;
	struct xdr_out x;

	xdr_out_init(&x);
	xdr_put_i32(&x, cb);
	xdr_put_domain(&x, l->l_dom);
	xdr_put_i32(&x, l->l_event);
	xdr_put_i32(&x, l->l_detail);
	vconn_event(c, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, &x);
	xdr_out_free(&x);
}

void events_lifecycle(struct virtd *d, struct vdom *v, int event, int detail)
{
	struct lifecycle l = {v, event, detail};

	events_each(d, v, VIR_DOMAIN_EVENT_ID_LIFECYCLE, send_lifecycle, &l);
}

struct metachange {
	struct vdom *m_dom;
	int m_type;
	const char *m_uri;
};

static void send_metadata(struct vconn *c, int cb, void *arg)
{
	const struct metachange *m = arg;
	struct xdr_out x;

	xdr_out_init(&x);
	xdr_put_i32(&x, cb);
	xdr_put_domain(&x, m->m_dom);
	xdr_put_i32(&x, m->m_type);
	xdr_put_opt_string(&x, m->m_uri);
	vconn_event(c, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, &x);
	xdr_out_free(&x);
}

void events_metadata(struct virtd *d, struct vdom *v, int type, const char *uri)
{
	struct metachange m = {v, type, uri};

	events_each(d, v, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, send_metadata,
		    &m);
}
