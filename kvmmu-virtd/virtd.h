/*
 * virtd.h: kvmmu-virtd, a daemon that speaks libvirt's RPC protocol so
 * that virsh and any libvirt client manage kvmmu VMs natively
 * (kvmmu:///system).  It keeps domain definitions (store.c), starts and
 * stops a vmm-frontend per running domain, steers running VMs through
 * mmu-server's admin API, and sends libvirt's domain events.
 * Trust: privileged (it starts frontends as root, which drop to nobody);
 * every packet comes from a client of its sockets and is checked.
 */
#ifndef KVMMU_VIRTD_H
#define KVMMU_VIRTD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "lverr.h"
#include "store.h"
#include "xdr.h"

struct event_base;
struct bufferevent;
struct event;

#define VIRTD_MAX_PACKET    (4U << 20) /* libvirt's own is 16 MiB */
#define VIRTD_HEADER_BYTES  28	       /* length word, six header words */
#define VIRTD_MAX_CALLBACKS 64	       /* event callbacks per connection */
#define VIRTD_MAX_BAD	    16	       /* malformed calls, then closed */
/*
 * A packet on the read-only socket: every call it may make takes a
 * domain, a name or a URI, never a definition, so a client of any uid
 * cannot make the daemon hold 4 MiB of a packet per connection.
 */
#define VIRTD_MAX_RO_PACKET (64U << 10)

/*
 * What one client may make the daemon hold (kvmmu-virtd --help and
 * ARCHITECTURE.md give the defaults and the reasons).  The read-write
 * socket (root's, by its mode) has a pool of its own, so no number of
 * read-only clients can lock root out.
 */
struct virtd_limits {
	unsigned l_clients;	   /* read-only socket, all uids */
	unsigned l_clients_uid;	   /* read-only socket, per uid */
	unsigned l_rw_clients;	   /* read-write socket */
	unsigned l_requests;	   /* calls in flight per connection */
	size_t l_reply_bytes;	   /* unread replies, then not read */
	unsigned l_reply_grace;	   /* s over l_reply_bytes, then closed */
	unsigned l_packet_timeout; /* s for the rest of a packet */
};

struct vcallback {
	int cb_id;
	int cb_event; /* VIR_DOMAIN_EVENT_ID_* */
	bool cb_any;  /* every domain, else cb_uuid's */
	uint8_t cb_uuid[16];
};

struct vconn {
	struct virtd *c_d;
	struct bufferevent *c_bev;
	void (*c_write)(struct vconn *c, const void *p, size_t len);
	bool c_ro;   /* from the read-only socket */
	bool c_open; /* CONNECT_OPEN came */
	uid_t c_uid;
	pid_t c_pid;
	struct vcallback c_cbs[VIRTD_MAX_CALLBACKS];
	unsigned c_ncbs;
	unsigned c_bad;
	TAILQ_ENTRY(vconn) c_entry;
	/* Bounds (virtd.c); dispatch.c and reply.c count c_inflight. */
	bool c_ro_sock;		/* accepted on the read-only socket */
	unsigned c_inflight;	/* calls read and not yet answered */
	bool c_stalled;		/* not read: too many calls or replies */
	bool c_dead;		/* closing: nothing more is written */
	bool c_closing;		/* its last reply going out, then closed */
	int c_timing;		/* what c_timer limits (virtd.c) */
	struct event *c_timer;	/* packet-timeout or reply-grace */
	struct event *c_resume; /* serve it again, from the loop */
};

/* A reply that waits for a frontend (start) or its exit (stop). */
struct vpending {
	struct vconn *p_c; /* NULL once the client went away */
	uint32_t p_proc, p_serial;
	struct vdom *p_dom;
	bool p_start;
	int p_ticks; /* 50 ms checks left */
	struct event *p_timer;
	TAILQ_ENTRY(vpending) p_entry;
};

struct virtd {
	struct event_base *d_base;
	struct store d_store;
	const char *d_mmu_socket;
	const char *d_admin_socket;
	const char *d_frontend; /* the vmm-frontend binary */
	/*
	 * Each running domain's frontend runs as a uid of its own from
	 * d_uid_base .. d_uid_base + d_uid_count - 1 (ARCHITECTURE.md,
	 * kvmmu-virtd), so that mmu-server's per-uid quotas tell domains
	 * apart; 0 of them: frontends drop to nobody, as by hand.
	 */
	uint32_t d_uid_base, d_uid_count;
	int d_next_cb;
	TAILQ_HEAD(, vconn) d_conns;
	TAILQ_HEAD(, vpending) d_pending;
	struct virtd_limits d_lim;
	unsigned d_nro, d_nrw; /* connections on each socket */
};

/* dispatch.c: packets in. */
bool vconn_length_ok(uint32_t len);
/* The largest packet c may send: VIRTD_MAX_RO_PACKET on the ro socket. */
uint32_t vconn_max_packet(const struct vconn *c);
/* One whole packet (length word included); false: close the connection. */
bool vconn_packet(struct vconn *c, const uint8_t *p, size_t len);

/* reply.c: packets out. */
void vconn_send(struct vconn *c, uint32_t prog, uint32_t proc, uint32_t type,
		uint32_t serial, uint32_t status, const struct xdr_out *body);
void vconn_reply(struct vconn *c, uint32_t proc, uint32_t serial,
		 const struct xdr_out *body);
void vconn_error(struct vconn *c, uint32_t prog, uint32_t proc, uint32_t serial,
		 const struct lverr *e);
void vconn_event(struct vconn *c, uint32_t proc, const struct xdr_out *body);

/* procs.c: one remote-program call; fills ret or e. */
int procs_call(struct vconn *c, uint32_t proc, uint32_t serial,
	       struct xdr_in *args, struct xdr_out *ret, struct lverr *e);
/* Returned by a handler whose reply comes later (vms.c). */
#define PROC_DEFERRED 1

/* vms.c: running domains. */
int vms_start(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	      struct vdom *v, struct lverr *e);
/*
 * destroy: SIGINT to the frontend, answered when it is gone
 * (PROC_DEFERRED); shutdown: SIGTERM (the guest is asked), answered at
 * once (0).  -1 with e when v is not running or the signal failed.
 */
int vms_stop(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	     struct vdom *v, bool shutdown, struct lverr *e);
int vms_pause(struct virtd *d, struct vdom *v, bool pause, struct lverr *e);
/* Applies the live XML's zap control through the admin API. */
int vms_apply_zap(struct virtd *d, struct vdom *v, const char *zap_xml,
		  struct lverr *e);
/* After a restart: adopts the frontends whose VMs mmu-server still has. */
void vms_adopt(struct virtd *d);
void vms_conn_gone(struct virtd *d, struct vconn *c);
/* Frees pending replies and watches (at exit: the VMs go on). */
void vms_release(struct virtd *d);

/* events.c */
void events_lifecycle(struct virtd *d, struct vdom *v, int event, int detail);
void events_metadata(struct virtd *d, struct vdom *v, int type,
		     const char *uri);
/* The remote_nonnull_domain of v. */
void xdr_put_domain(struct xdr_out *x, const struct vdom *v);

#endif
