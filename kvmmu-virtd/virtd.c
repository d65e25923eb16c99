/*
 * virtd.c: kvmmu-virtd's sockets and wire (virtd.h).  A packet is a
 * 4-byte length that counts itself, then the header (program, version,
 * procedure, type, serial, status) and the XDR body.  Calls to libvirt's
 * remote program go to procs.c; keepalive PINGs get a PONG; anything
 * else gets an error reply.  A length under the header's or over
 * VIRTD_MAX_PACKET closes the connection at once, and so do
 * VIRTD_MAX_BAD malformed calls.
 * Trust: every byte here comes from a client; the read-only socket's
 * clients may call only what changes nothing (procs.c decides).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define VIRTD_MAX_CONNS 256

static unsigned nconns;

static void vconn_close(struct vconn *c)
{
	struct virtd *d = c->c_d;

	vms_conn_gone(d, c);
	TAILQ_REMOVE(&d->d_conns, c, c_entry);
	bufferevent_free(c->c_bev);
	free(c);
	nconns--;
}

static void vconn_read(struct bufferevent *bev, void *arg)
{
	struct vconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lenb[4], *pkt;
	uint32_t len;

	while (evbuffer_get_length(in) >= 4) {
		evbuffer_copyout(in, lenb, 4);
		len = (uint32_t)lenb[0] << 24 | (uint32_t)lenb[1] << 16 |
		      (uint32_t)lenb[2] << 8 | lenb[3];
		if (!vconn_length_ok(len)) {
			fprintf(stderr,
				"kvmmu-virtd: pid %d: packet length %u not in "
				"%d..%u: connection closed\n",
				(int)c->c_pid, len, VIRTD_HEADER_BYTES,
				VIRTD_MAX_PACKET);
			vconn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < len)
			return;
		pkt = evbuffer_pullup(in, len);
		if (pkt == NULL || !vconn_packet(c, pkt, len)) {
			vconn_close(c);
			return;
		}
		evbuffer_drain(in, len);
	}
}

static void vconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		vconn_close(arg);
}

static void vconn_write(struct vconn *c, const void *p, size_t len)
{
	bufferevent_write(c->c_bev, p, len);
}

static void vconn_new(struct virtd *d, evutil_socket_t fd, bool ro)
{
	struct ucred cr = {0};
	socklen_t crlen = sizeof(cr);
	struct vconn *c;

	if (nconns >= VIRTD_MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
	c->c_d = d;
	c->c_write = vconn_write;
	c->c_ro = ro;
	c->c_uid = cr.uid;
	c->c_pid = cr.pid;
	c->c_bev = bufferevent_socket_new(d->d_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->c_bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	nconns++;
	TAILQ_INSERT_TAIL(&d->d_conns, c, c_entry);
	bufferevent_setcb(c->c_bev, vconn_read, NULL, vconn_event_cb, c);
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

static void usage(void)
{
	fprintf(stderr,
		"usage: kvmmu-virtd [--socket PATH] [--mmu-socket PATH] "
		"[--admin-socket PATH]\n"
		"                   [--state-dir DIR] [--frontend PATH]\n"
		"  --socket        libvirt's socket for kvmmu:///system "
		"(default %s; PATH-ro is the read-only one)\n"
		"  --mmu-socket    mmu-server's data plane (default %s)\n"
		"  --admin-socket  mmu-server's admin API (default %s)\n"
		"  --state-dir     definitions, live XML, logs (default %s)\n",
		VIRTD_SOCKET, VIRTD_MMU_SOCKET, VIRTD_ADMIN_SOCKET,
		VIRTD_STATE_DIR);
	exit(2);
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
		{NULL, 0, NULL, 0},
	};
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
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
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
