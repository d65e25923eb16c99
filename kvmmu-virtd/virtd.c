/*
 * virtd.c: kvmmu-virtd's sockets and wire (virtd.h).  A packet is a
 * 4-byte length that counts itself, then the header (program, version,
 * procedure, type, serial, status) and the XDR body.  Calls to libvirt's
 * remote program go to procs.c; keepalive PINGs get a PONG; anything
 * else gets an error reply.  A length under the header's or over
 * VIRTD_MAX_PACKET (VIRTD_MAX_RO_PACKET on the read-only socket) closes
 * the connection at once, and so do VIRTD_MAX_BAD malformed calls.
 *
 * The read-only socket is open to every uid, so what a client can make
 * the daemon hold is bounded (struct virtd_limits, --help): connections
 * per socket and per uid, each socket its own pool so that root's is
 * never taken; a connection that owes --max-requests calls, or has not
 * read --max-reply-bytes of replies, is not read (its requests wait in
 * its socket, not in our memory) and, in the second case, closed after
 * --reply-grace; part of a packet must be followed by the rest within
 * --packet-timeout.  Each bound hit is logged with the uid, rate-limited.
 * Trust: every byte here comes from a client; the read-only socket's
 * clients may call only what changes nothing (procs.c decides).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grpc/grpc.h>
#include <libxml/parser.h>

#include "rpcdefs.h"
#include "virtd.h"

/* Defaults of the bounds (struct virtd_limits; why: ARCHITECTURE.md). */
#define DEF_CLIENTS	   256
#define DEF_CLIENTS_UID	   16
#define DEF_RW_CLIENTS	   64
#define DEF_REQUESTS	   5 /* libvirtd's max_client_requests */
#define DEF_REPLY_BYTES	   (256U << 10)
#define DEF_REPLY_GRACE	   10
#define DEF_PACKET_TIMEOUT 10

/*
 * Frontends' uids: above the ranges systemd gives containers
 * (524288..1879048191) and below 2^31, where no user of a Debian host
 * or its containers is.  No passwd entry is needed: a uid is a number.
 */
#define DEF_UID_BASE  1879048192U
#define DEF_UID_COUNT 65536U

/* At most one log line per uid and bound in this many seconds. */
#define LOG_QUIET_SECS 10
#define LOG_SLOTS      64

/* What a connection's c_timer limits. */
enum { TIMING_NONE, TIMING_PACKET, TIMING_REPLY, TIMING_CLOSE };

/*
 * The log says which uid hit which bound, but a client that hits one in
 * a loop must not fill the disk: one line per uid and bound per
 * LOG_QUIET_SECS, the next one counting those left out.  The table
 * forgets the longest-quiet pair when full, which costs at most an
 * extra line.
 */
static struct bound_log {
	uid_t bl_uid;
	const char *bl_bound;
	time_t bl_last;
	unsigned bl_quiet;
} bound_logs[LOG_SLOTS];

static void bound_hit(const struct vconn *c, uid_t uid, pid_t pid,
		      const char *bound, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void bound_hit(const struct vconn *c, uid_t uid, pid_t pid,
		      const char *bound, const char *fmt, ...)
{
	struct bound_log *bl = NULL, *old = &bound_logs[0];
	struct timespec ts;
	char what[256];
	va_list ap;

	if (c != NULL) {
		uid = c->c_uid;
		pid = c->c_pid;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (size_t i = 0; i < LOG_SLOTS && bl == NULL; i++) {
		if (bound_logs[i].bl_bound == bound &&
		    bound_logs[i].bl_uid == uid)
			bl = &bound_logs[i];
		else if (bound_logs[i].bl_last < old->bl_last)
			old = &bound_logs[i];
	}
	if (bl != NULL && ts.tv_sec - bl->bl_last < LOG_QUIET_SECS) {
		bl->bl_quiet++;
		return;
	}
	if (bl == NULL) {
		bl = old;
		*bl = (struct bound_log){uid, bound, 0, 0};
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvmmu-virtd: uid %u pid %d hit %s: %s", (unsigned)uid,
		(int)pid, bound, what);
	if (bl->bl_quiet > 0)
		fprintf(stderr, " (%u more times, not logged)", bl->bl_quiet);
	fputc('\n', stderr);
	bl->bl_last = ts.tv_sec;
	bl->bl_quiet = 0;
}

static void vconn_close(struct vconn *c)
{
	struct virtd *d = c->c_d;

	vms_conn_gone(d, c);
	TAILQ_REMOVE(&d->d_conns, c, c_entry);
	if (c->c_ro_sock)
		d->d_nro--;
	else
		d->d_nrw--;
	event_free(c->c_timer);
	event_free(c->c_resume);
	bufferevent_free(c->c_bev);
	free(c);
}

static size_t vconn_unread(const struct vconn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->c_bev));
}

/*
 * Whether c must not be read for now, as libvirtd stops reading a
 * client: it owes l_requests calls (a start waits for its frontend), or
 * has not read l_reply_bytes of replies.  Either way its next requests
 * wait in its socket, not in our memory.
 */
static bool vconn_stalled(struct vconn *c)
{
	const struct virtd_limits *l = &c->c_d->d_lim;
	bool was = c->c_stalled;
	size_t out = vconn_unread(c);

	c->c_stalled = true;
	if (c->c_inflight >= l->l_requests) {
		if (!was)
			bound_hit(c, 0, 0, "max-requests",
				  "%u calls in flight (--max-requests %u); "
				  "not reading it until one is answered",
				  c->c_inflight, l->l_requests);
	} else if (out > l->l_reply_bytes) {
		if (!was)
			bound_hit(c, 0, 0, "max-reply-bytes",
				  "%zu bytes of replies unread "
				  "(--max-reply-bytes %zu); not reading it, "
				  "closed unless it reads within %u s "
				  "(--reply-grace)",
				  out, l->l_reply_bytes, l->l_reply_grace);
	} else {
		c->c_stalled = false;
	}
	return c->c_stalled;
}

/*
 * Arms c_timer for what c may be waited for: unread replies over the
 * bound (--reply-grace), else, while it is read, the rest of a packet
 * (--packet-timeout, from the packet's first byte: a new deadline only
 * once a whole packet came, so a byte every few seconds does not keep a
 * slow loris alive).  Nothing when it waits for us.
 */
static void vconn_timer(struct vconn *c, bool progress)
{
	const struct virtd_limits *l = &c->c_d->d_lim;
	struct evbuffer *in = bufferevent_get_input(c->c_bev);
	struct timeval tv = {0, 0};
	int want = TIMING_NONE;

	if (vconn_unread(c) > l->l_reply_bytes)
		want = TIMING_REPLY;
	else if (!c->c_stalled && evbuffer_get_length(in) > 0)
		want = TIMING_PACKET;
	if (want == TIMING_NONE) {
		evtimer_del(c->c_timer);
	} else if (want != c->c_timing || (want == TIMING_PACKET && progress)) {
		tv.tv_sec = want == TIMING_REPLY ? l->l_reply_grace
						 : l->l_packet_timeout;
		evtimer_add(c->c_timer, &tv);
	}
	c->c_timing = want;
}

/*
 * A packet said to close c (CONNECT_CLOSE, the last malformed call):
 * its reply goes out first, as libvirtd sends it, then c is closed.  No
 * more is read or written meanwhile, and a client that does not read
 * it is closed after --reply-grace all the same.
 */
static void vconn_finish(struct vconn *c)
{
	struct timeval tv = {c->c_d->d_lim.l_reply_grace, 0};

	if (vconn_unread(c) == 0) {
		vconn_close(c);
		return;
	}
	c->c_closing = true;
	c->c_timing = TIMING_CLOSE;
	bufferevent_disable(c->c_bev, EV_READ);
	evtimer_add(c->c_timer, &tv);
}

/*
 * Handles c's whole packets until it is stalled or only part of one is
 * left.  Closes c (and returns) when a packet says so; the caller must
 * not touch c afterwards.
 */
static void vconn_serve(struct vconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->c_bev);
	bool progress = false;
	uint8_t lenb[4], *pkt;
	uint32_t len;

	if (c->c_closing)
		return; /* vconn_drained or the timer closes it */
	for (;;) {
		if (c->c_dead) {
			vconn_close(c);
			return;
		}
		if (vconn_stalled(c) || evbuffer_get_length(in) < 4)
			break;
		evbuffer_copyout(in, lenb, 4);
		len = (uint32_t)lenb[0] << 24 | (uint32_t)lenb[1] << 16 |
		      (uint32_t)lenb[2] << 8 | lenb[3];
		if (len < VIRTD_HEADER_BYTES || len > vconn_max_packet(c)) {
			bound_hit(c, 0, 0, "max-packet",
				  "packet length %u not in %d..%u: connection "
				  "closed",
				  len, VIRTD_HEADER_BYTES, vconn_max_packet(c));
			vconn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < len)
			break;
		pkt = evbuffer_pullup(in, len);
		if (pkt == NULL) {
			vconn_close(c);
			return;
		}
		if (!vconn_packet(c, pkt, len)) {
			vconn_finish(c);
			return;
		}
		evbuffer_drain(in, len);
		progress = true;
	}
	if (c->c_stalled)
		bufferevent_disable(c->c_bev, EV_READ);
	else
		bufferevent_enable(c->c_bev, EV_READ);
	vconn_timer(c, progress);
}

static void vconn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	vconn_serve(arg);
}

/* The replies drained to the low watermark: read the client again. */
static void vconn_drained(struct bufferevent *bev, void *arg)
{
	struct vconn *c = arg;

	(void)bev;
	if (c->c_closing && vconn_unread(c) == 0)
		vconn_close(c);
	else if (c->c_stalled || c->c_timing == TIMING_REPLY)
		vconn_serve(c);
}

static void vconn_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vconn_serve(arg);
}

static void vconn_expired(evutil_socket_t fd, short what, void *arg)
{
	struct vconn *c = arg;
	const struct virtd_limits *l = &c->c_d->d_lim;

	(void)fd;
	(void)what;
	if (c->c_closing) {
		vconn_close(c); /* its last reply unread: no matter */
		return;
	}
	if (c->c_timing == TIMING_REPLY &&
	    vconn_unread(c) <= l->l_reply_bytes) {
		vconn_serve(c); /* it reads, if slowly: read it again */
		return;
	}
	if (c->c_timing == TIMING_REPLY)
		bound_hit(c, 0, 0, "reply-grace",
			  "%zu bytes of replies still unread after %u s "
			  "(--reply-grace): connection closed",
			  vconn_unread(c), l->l_reply_grace);
	else
		bound_hit(c, 0, 0, "packet-timeout",
			  "%zu bytes of a packet, the rest not sent within "
			  "%u s (--packet-timeout): connection closed",
			  evbuffer_get_length(bufferevent_get_input(c->c_bev)),
			  l->l_packet_timeout);
	vconn_close(c);
}

static void vconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		vconn_close(arg);
}

/*
 * Every packet out goes here, from a call being answered, a deferred
 * reply (vms.c) or an event (events.c): c is never closed here, since
 * they go on using it; vconn_resume does that from the loop.  Replies
 * stop coming once c is stalled, but events do not: VIRTD_MAX_PACKET
 * past the bound, the client is taken for one that never reads, and
 * closed.
 */
static void vconn_write(struct vconn *c, const void *p, size_t len)
{
	const struct virtd_limits *l = &c->c_d->d_lim;
	size_t out;

	if (c->c_dead || c->c_closing)
		return;
	out = vconn_unread(c);
	if (out > l->l_reply_bytes + VIRTD_MAX_PACKET) {
		bound_hit(c, 0, 0, "unread-events",
			  "%zu bytes unread, events still coming: connection "
			  "closed",
			  out);
		c->c_dead = true;
	} else {
		bufferevent_write(c->c_bev, p, len);
	}
	/* A reply may let a stalled c be read; the bound may need a timer. */
	if (c->c_dead || c->c_stalled || out + len > l->l_reply_bytes)
		event_active(c->c_resume, EV_TIMEOUT, 0);
}

/* A refused connection is closed at once: it holds nothing of ours. */
static void vconn_new(struct virtd *d, evutil_socket_t fd, bool ro)
{
	const struct virtd_limits *l = &d->d_lim;
	struct ucred cr = {0};
	socklen_t crlen = sizeof(cr);
	struct vconn *c, *o;
	unsigned same = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		close(fd);
		return;
	}
	if (!ro && d->d_nrw >= l->l_rw_clients) {
		bound_hit(NULL, cr.uid, cr.pid, "max-rw-clients",
			  "%u connections on the read-write socket "
			  "(--max-rw-clients): refused",
			  d->d_nrw);
		close(fd);
		return;
	}
	if (ro && d->d_nro >= l->l_clients) {
		bound_hit(NULL, cr.uid, cr.pid, "max-clients",
			  "%u connections on the read-only socket "
			  "(--max-clients): refused",
			  d->d_nro);
		close(fd);
		return;
	}
	if (ro) {
		TAILQ_FOREACH(o, &d->d_conns, c_entry)
		{
			if (o->c_ro_sock && o->c_uid == cr.uid)
				same++;
		}
	}
	if (ro && same >= l->l_clients_uid) {
		bound_hit(NULL, cr.uid, cr.pid, "max-clients-per-uid",
			  "%u connections of this uid on the read-only "
			  "socket (--max-clients-per-uid): refused",
			  same);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->c_d = d;
	c->c_write = vconn_write;
	c->c_ro = c->c_ro_sock = ro;
	c->c_uid = cr.uid;
	c->c_pid = cr.pid;
	c->c_bev = bufferevent_socket_new(d->d_base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->c_timer = evtimer_new(d->d_base, vconn_expired, c);
	c->c_resume = event_new(d->d_base, -1, 0, vconn_resume, c);
	if (c->c_bev == NULL || c->c_timer == NULL || c->c_resume == NULL) {
		if (c->c_bev != NULL)
			bufferevent_free(c->c_bev);
		else
			close(fd);
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		if (c->c_resume != NULL)
			event_free(c->c_resume);
		free(c);
		return;
	}
	if (ro)
		d->d_nro++;
	else
		d->d_nrw++;
	TAILQ_INSERT_TAIL(&d->d_conns, c, c_entry);
	bufferevent_setcb(c->c_bev, vconn_read, vconn_drained, vconn_event_cb,
			  c);
	/* Read again once half the unread replies are gone, not at once. */
	bufferevent_setwatermark(c->c_bev, EV_WRITE, l->l_reply_bytes / 2, 0);
	bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
}

static void on_accept_rw(struct evconnlistener *l, evutil_socket_t fd,
			 struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	vconn_new(arg, fd, false);
}

static void on_accept_ro(struct evconnlistener *l, evutil_socket_t fd,
			 struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	vconn_new(arg, fd, true);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/*
 * Out of fds (or memory) the listening socket stays readable: rather
 * than spin on it, stop accepting for 100 ms and let connections close,
 * as mmu-server's control socket does.
 */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	static time_t logged;
	struct virtd *d = arg;
	struct timeval tv = {0, 100 * 1000};
	int err = EVUTIL_SOCKET_ERROR();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (time(NULL) - logged >= LOG_QUIET_SECS) {
		fprintf(stderr,
			"kvmmu-virtd: accept: %s; not accepting for 100 ms\n",
			strerror(err));
		logged = time(NULL);
	}
	evconnlistener_disable(l);
	if (event_base_once(d->d_base, -1, EV_TIMEOUT, accept_resume, l, &tv) <
	    0)
		evconnlistener_enable(l);
}

/* A unix socket at path with mode; a stale one is replaced. */
static struct evconnlistener *listen_unix(struct virtd *d, const char *path,
					  mode_t mode, evconnlistener_cb cb)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct evconnlistener *l;
	char dir[PATH_MAX];

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "kvmmu-virtd: %s: path too long\n", path);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755); /* /run/libvirt may not exist yet */
	strcpy(sun.sun_path, path);
	unlink(path);
	l = evconnlistener_new_bind(
		d->d_base, cb, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
		64, (struct sockaddr *)&sun, sizeof(sun));
	if (l == NULL || chmod(path, mode) < 0) {
		fprintf(stderr, "kvmmu-virtd: %s: %s\n", path, strerror(errno));
		if (l != NULL)
			evconnlistener_free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l, on_accept_error);
	return l;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct virtd *d = arg;

	(void)what;
	fprintf(stderr,
		"kvmmu-virtd: signal %d: stopping (running VMs go "
		"on; a new kvmmu-virtd finds them)\n",
		(int)sig);
	event_base_loopexit(d->d_base, NULL);
}

static void usage(FILE *f, int code)
{
	fprintf(f,
		"usage: kvmmu-virtd [--socket PATH] [--mmu-socket PATH] "
		"[--admin-socket PATH]\n"
		"                   [--state-dir DIR] [--frontend PATH] "
		"[bounds...] [--help]\n"
		"  --socket        libvirt's socket for kvmmu:///system "
		"(default\n"
		"                  %s; PATH-ro is the read-only one)\n"
		"  --mmu-socket    mmu-server's data plane (default %s)\n"
		"  --admin-socket  mmu-server's admin API (default %s)\n"
		"  --state-dir     definitions, live XML, logs (default %s)\n"
		"  --frontend      the vmm-frontend binary (default: next to "
		"this one,\n"
		"                  else on PATH)\n"
		"  --domain-uids BASE:COUNT  each running domain's frontend "
		"runs as a uid\n"
		"                  of its own from BASE on (default %u:%u; "
		"0:0: all as nobody)\n"
		"Bounds (the read-only socket is open to every uid; the "
		"read-write one, root's,\nhas a pool of its own):\n"
		"  --max-clients N          read-only connections, all uids "
		"(default %u)\n"
		"  --max-clients-per-uid N  read-only connections of one uid "
		"(default %u)\n"
		"  --max-rw-clients N       read-write connections (default "
		"%u)\n"
		"  --max-requests N         calls in flight per connection; "
		"past it the\n"
		"                           connection is not read (default "
		"%u, as libvirtd)\n"
		"  --max-reply-bytes N      unread replies per connection; "
		"past it the\n"
		"                           connection is not read (default "
		"%u)\n"
		"  --reply-grace S          ... and closed if still past it "
		"after S s\n"
		"                           (default %u)\n"
		"  --packet-timeout S       the rest of a packet must come "
		"within S s of its\n"
		"                           first byte, else closed (default "
		"%u)\n"
		"Packets: at most %u bytes on the read-write socket, %u on "
		"the read-only\none.  "
		"The log names the uid that hit a bound, at most one line per "
		"uid and\nbound per %d s.\n"
		"  -h, --help      this text\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT (running VMs go "
		"on), 1 failed to\n"
		"start, 2 bad arguments.  See kvmmu-virtd(8).\n",
		VIRTD_SOCKET, VIRTD_MMU_SOCKET, VIRTD_ADMIN_SOCKET,
		VIRTD_STATE_DIR, DEF_UID_BASE, DEF_UID_COUNT, DEF_CLIENTS,
		DEF_CLIENTS_UID, DEF_RW_CLIENTS, DEF_REQUESTS, DEF_REPLY_BYTES,
		DEF_REPLY_GRACE, DEF_PACKET_TIMEOUT, VIRTD_MAX_PACKET,
		VIRTD_MAX_RO_PACKET, LOG_QUIET_SECS);
	exit(code);
}

/* A bound's value: a whole number in lo..hi, else usage. */
static unsigned long bound_arg(const char *opt, const char *arg,
			       unsigned long lo, unsigned long hi)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    v < lo || v > hi) {
		fprintf(stderr,
			"kvmmu-virtd: --%s: '%s' is not a number in "
			"%lu..%lu\n",
			opt, arg, lo, hi);
		exit(2);
	}
	return v;
}

/*
 * Each client is an fd: the soft limit goes up to the hard one (as
 * mmu-server does), and a hard one too low for the bounds is said.
 */
static void raise_nofile(const struct virtd_limits *l)
{
	rlim_t need = (rlim_t)l->l_clients + l->l_rw_clients + 128;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		fprintf(stderr,
			"kvmmu-virtd: RLIMIT_NOFILE %llu is under the %llu "
			"fds the client bounds may take; past it, accepting "
			"pauses\n",
			(unsigned long long)rl.rlim_cur,
			(unsigned long long)need);
}

/*
 * --domain-uids BASE:COUNT.  A range that could reach root, or wrap, is
 * refused; 0:0 turns per-domain uids off.
 */
static void uid_range(const char *arg, struct virtd *d)
{
	char base[16];
	const char *colon = strchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(base)) {
		fprintf(stderr,
			"kvmmu-virtd: --domain-uids: '%s' is not BASE:COUNT\n",
			arg);
		exit(2);
	}
	memcpy(base, arg, (size_t)(colon - arg));
	base[colon - arg] = '\0';
	d->d_uid_base =
		(uint32_t)bound_arg("domain-uids", base, 0, 0xfffeffffUL);
	d->d_uid_count =
		(uint32_t)bound_arg("domain-uids", colon + 1, 0, 1UL << 20);
	if ((d->d_uid_count == 0) != (d->d_uid_base == 0) ||
	    (uint64_t)d->d_uid_base + d->d_uid_count > 0xffff0000ULL) {
		fprintf(stderr,
			"kvmmu-virtd: --domain-uids: '%s': BASE and COUNT are "
			"both 0, or both past 0 and below 4294901760 "
			"together\n",
			arg);
		exit(2);
	}
}

/* vmm-frontend next to this program, else on PATH. */
static const char *frontend_path(void)
{
	static char buf[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, sizeof(buf), "%s/vmm-frontend", dirname(self));
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "vmm-frontend";
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"mmu-socket", required_argument, NULL, 'm'},
		{"admin-socket", required_argument, NULL, 'a'},
		{"state-dir", required_argument, NULL, 'S'},
		{"frontend", required_argument, NULL, 'f'},
		{"domain-uids", required_argument, NULL, 'u'},
		{"max-clients", required_argument, NULL, 'C'},
		{"max-clients-per-uid", required_argument, NULL, 'U'},
		{"max-rw-clients", required_argument, NULL, 'W'},
		{"max-requests", required_argument, NULL, 'R'},
		{"max-reply-bytes", required_argument, NULL, 'B'},
		{"reply-grace", required_argument, NULL, 'G'},
		{"packet-timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct virtd_limits *l;
	const char *sock = VIRTD_SOCKET, *state = VIRTD_STATE_DIR;
	struct evconnlistener *rw, *ro;
	struct event *sigs[2];
	struct virtd d = {0};
	struct lverr e = {0};
	char ropath[PATH_MAX];
	int ch;

	d.d_mmu_socket = VIRTD_MMU_SOCKET;
	d.d_admin_socket = VIRTD_ADMIN_SOCKET;
	d.d_frontend = frontend_path();
	d.d_uid_base = DEF_UID_BASE;
	d.d_uid_count = DEF_UID_COUNT;
	l = &d.d_lim;
	*l = (struct virtd_limits){DEF_CLIENTS,	      DEF_CLIENTS_UID,
				   DEF_RW_CLIENTS,    DEF_REQUESTS,
				   DEF_REPLY_BYTES,   DEF_REPLY_GRACE,
				   DEF_PACKET_TIMEOUT};
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'm':
			d.d_mmu_socket = optarg;
			break;
		case 'a':
			d.d_admin_socket = optarg;
			break;
		case 'S':
			state = optarg;
			break;
		case 'f':
			d.d_frontend = optarg;
			break;
		case 'u':
			uid_range(optarg, &d);
			break;
		case 'C':
			l->l_clients =
				bound_arg("max-clients", optarg, 1, 65536);
			break;
		case 'U':
			l->l_clients_uid = bound_arg("max-clients-per-uid",
						     optarg, 1, 65536);
			break;
		case 'W':
			l->l_rw_clients =
				bound_arg("max-rw-clients", optarg, 1, 65536);
			break;
		case 'R':
			l->l_requests =
				bound_arg("max-requests", optarg, 1, 1024);
			break;
		case 'B':
			l->l_reply_bytes = bound_arg("max-reply-bytes", optarg,
						     4096, 1UL << 30);
			break;
		case 'G':
			l->l_reply_grace =
				bound_arg("reply-grace", optarg, 1, 3600);
			break;
		case 'T':
			l->l_packet_timeout =
				bound_arg("packet-timeout", optarg, 1, 3600);
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	raise_nofile(l);
	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	/* One gRPC runtime for the daemon's life, not one per admin call. */
	grpc_init();
	TAILQ_INIT(&d.d_conns);
	TAILQ_INIT(&d.d_pending);
	d.d_next_cb = 1;
	if (store_open(&d.d_store, state, &e) < 0) {
		fprintf(stderr, "kvmmu-virtd: state dir: %s\n", e.msg);
		return 1;
	}
	d.d_base = event_base_new();
	snprintf(ropath, sizeof(ropath), "%s-ro", sock);
	rw = d.d_base ? listen_unix(&d, sock, 0600, on_accept_rw) : NULL;
	ro = rw ? listen_unix(&d, ropath, 0666, on_accept_ro) : NULL;
	if (ro == NULL)
		return 1;
	sigs[0] = evsignal_new(d.d_base, SIGTERM, on_signal, &d);
	sigs[1] = evsignal_new(d.d_base, SIGINT, on_signal, &d);
	event_add(sigs[0], NULL);
	event_add(sigs[1], NULL);
	vms_adopt(&d);
	fprintf(stderr,
		"kvmmu-virtd: listening on %s (and %s, read-only); %s holds "
		"the definitions; VMs run through %s\n",
		sock, ropath, state, d.d_mmu_socket);
	event_base_dispatch(d.d_base);
	while (!TAILQ_EMPTY(&d.d_conns))
		vconn_close(TAILQ_FIRST(&d.d_conns));
	evconnlistener_free(rw);
	evconnlistener_free(ro);
	unlink(sock);
	unlink(ropath);
	event_free(sigs[0]);
	event_free(sigs[1]);
	vms_release(&d);
	store_close(&d.d_store);
	event_base_free(d.d_base);
	grpc_shutdown();
	xmlCleanupParser();
	return 0;
}
