/*
 * control.c: the frontends' control socket.  Each connection owns the VMs
 * it created and nothing else; every request is decoded, validated and
 * checked against that ownership before it reaches vm.c.
 * Trust: the peer is an unprivileged, possibly hostile frontend.  A bad
 * request gets an error reply; 16 of them (conn.c) close the
 * connection; the server and other VMs carry on.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "control.h"
#include "kvmmu.pb-c.h"
#include "log.h"
#include "release.h"
#include "rpc.h"
#include "server.h"
#include "wire.h"

static void conn_event(evutil_socket_t fd, short what, void *arg);

static void conn_close(struct conn *c)
{
	struct server *s = c->c_rpc.c_srv;
	struct vm *vm, *tmp;

	TAILQ_FOREACH_SAFE(vm, &s->s_vms, vm_entry, tmp)
	{
		/* As DestroyVm: queued invalidations are applied first. */
		if (vm->vm_client == &c->c_rpc)
			rpc_vm_destroy(&c->c_rpc, vm, VM_END_CLOSED, NULL);
	}
	if (c->c_refused)
		c->c_rpc.c_owner->o_refused--;
	owner_put(&s->s_owners, c->c_rpc.c_owner);
	TAILQ_REMOVE(&s->s_conns, c, c_entry);
	if (c->c_ev_wait != NULL)
		event_free(c->c_ev_wait);
	event_free(c->c_ev);
	close(c->c_fd);
	conn_outq_free(c);
	free(c);
}

static void conn_flush(struct conn *c)
{
	struct outmsg *o;
	int r = 0;

	while ((o = STAILQ_FIRST(&c->c_outq)) != NULL) {
		r = wire_send_buf(c->c_fd, o->o_buf, o->o_len, o->o_fds,
				  o->o_nfds);
		if (r == -EAGAIN)
			return;
		STAILQ_REMOVE_HEAD(&c->c_outq, o_entry);
		c->c_outq_len--;
		wire_close_fds(o->o_fds, o->o_nfds);
		free(o);
		if (r < 0)
			break;
	}
	if (r < 0 || c->c_rpc.c_close_after_send || conn_watch(c, EV_READ) < 0)
		conn_close(c);
}

static void conn_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_watch(c, EV_READ) < 0)
		conn_close(c);
}

/*
 * The uid has RELEASE_MAX_PENDING fds still closing (release.c): read
 * none of this connection for 50 ms; its requests wait in the socket,
 * everyone else is served.  1, or -1 when the connection was closed.
 */
static int conn_hold(struct conn *c)
{
	struct timeval tv = {0, 50 * 1000};

	if (c->c_ev_wait == NULL)
		c->c_ev_wait =
			evtimer_new(c->c_rpc.c_srv->s_base, conn_resume, c);
	if (c->c_ev_wait == NULL || event_del(c->c_ev) < 0 ||
	    evtimer_add(c->c_ev_wait, &tv) < 0) {
		conn_close(c);
		return -1;
	}
	srv_count(SC_HELD_BACK);
	return 1;
}

static int conn_read_one(struct conn *c);

/*
 * Handles one packet, charging the fds it brings to the peer's uid.  -1
 * when the connection was closed, 1 when it is held back.
 */
static int conn_read(struct conn *c)
{
	int r;

	if (release_pending(c->c_rpc.c_uid) >= RELEASE_MAX_PENDING)
		return conn_hold(c);
	release_charge(c->c_rpc.c_uid);
	r = conn_read_one(c);
	release_charge((uid_t)-1);
	return r;
}

static int conn_read_one(struct conn *c)
{
	uint8_t *buf = malloc(WIRE_MAX_MSG);
	int fds[WIRE_MAX_FDS];
	Kvmmu__Request *req;
	struct verr e;
	size_t nfds, canon;
	ssize_t n;
	int r;

	if (buf == NULL)
		return 0;
	n = wire_recv(c->c_fd, buf, fds, &nfds);
	if (n == -EAGAIN) {
		free(buf);
		return 0;
	}
	if (n == 0 || (n < 0 && n != -EMSGSIZE && n != -ETOOMANYREFS)) {
		free(buf);
		conn_close(c);
		return -1;
	}
	if (n < 0) {
		srv_count(SC_BAD_FRAMES);
		verr_set(&e, (int)-n,
			 n == -EMSGSIZE ? "Request: packet larger than %d bytes"
					: "Request: more than %d fds",
			 n == -EMSGSIZE ? WIRE_MAX_MSG : WIRE_MAX_FDS);
		r = conn_error(c, 0, &e);
	} else if ((req = kvmmu__request__unpack(NULL, (size_t)n, buf)) ==
		   NULL) {
		srv_count(SC_BAD_FRAMES);
		verr_set(&e, EPROTO, "Request: undecodable (%zd bytes)", n);
		wire_close_fds(fds, nfds);
		r = conn_error(c, 0, &e);
	} else if ((canon = kvmmu__request__get_packed_size(req)) !=
		   (size_t)n) {
		/*
		 * protobuf-c cuts a string at its first NUL and a uint32 or
		 * enum varint to 32 bits, silently: "vm\0evil" would be "vm",
		 * 2^32 + 1 would be 1.  Only the canonical encoding, which
		 * packs back to the same size, is taken.
		 */
		uint64_t id = req->has_id ? req->id : 0;

		kvmmu__request__free_unpacked(req, NULL);
		srv_count(SC_BAD_FRAMES);
		verr_set(&e, EPROTO,
			 "Request: not in canonical encoding (%zd bytes, %zu "
			 "when packed again): a string with a NUL byte, a "
			 "varint wider than its field, or a field given twice",
			 n, canon);
		wire_close_fds(fds, nfds);
		r = conn_error(c, id, &e);
	} else if (c->c_refused) {
		wire_close_fds(fds, nfds);
		c->c_rpc.c_close_after_send = true;
		r = conn_error(c, req->has_id ? req->id : 0, &c->c_refusal);
		kvmmu__request__free_unpacked(req, NULL);
	} else {
		r = rpc_dispatch(&c->c_rpc, req, fds, nfds);
		kvmmu__request__free_unpacked(req, NULL);
	}
	free(buf);
	if (r < 0 ||
	    (c->c_rpc.c_close_after_send && STAILQ_EMPTY(&c->c_outq))) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * Serves a burst: a frontend that sends requests back to back (map, then
 * unmap, ...) gets its next one read without a trip through epoll and a
 * wakeup.  Bounded so one busy frontend cannot starve the others.
 */
#define CONN_BURST 64

static void conn_serve(struct conn *c)
{
	struct pollfd pfd = {.fd = c->c_fd, .events = POLLIN};
	unsigned spin = c->c_rpc.c_srv->s_spin_us;

	for (int i = 0; i < CONN_BURST; i++) {
		if (conn_read(c) != 0 || !STAILQ_EMPTY(&c->c_outq))
			return; /* closed, held, or waiting for the socket */
		if (wire_poll(&pfd, 1, 0, spin) <= 0)
			return;
	}
}

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->c_dead)
		conn_close(c); /* over CONN_MAX_OUTQ (conn.c) */
	else if (what & EV_WRITE)
		conn_flush(c);
	else
		conn_serve(c);
}

static void control_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	event_add(s->s_ev_listen, NULL);
}

/*
 * Out of fds (or memory) the listening socket stays readable: rather
 * than spin on it, stop accepting for 100 ms and let connections close.
 */
static void control_backoff(struct server *s, int err)
{
	struct timeval tv = {0, 100 * 1000};

	log_warn("accept: %s; not accepting for 100 ms", strerror(err));
	event_del(s->s_ev_listen);
	if (event_base_once(s->s_base, -1, EV_TIMEOUT, control_resume, s, &tv) <
	    0)
		event_add(s->s_ev_listen, NULL);
}

/*
 * Charges the connection to its uid.  Over the bound it is refused: told
 * so at its first request (c_refused), or at once closed (false).
 */
static bool control_charge(struct server *s, struct conn *c)
{
	struct quota_use add = {{0}}, use = {{0}};
	struct verr e = {0};

	c->c_rpc.c_owner = owner_get(&s->s_owners, c->c_rpc.c_uid, &s->s_quota);
	if (c->c_rpc.c_owner == NULL) {
		close(c->c_fd);
		return false;
	}
	add.qu[QR_CONNS] = add.qu[QR_FDS] = 1;
	owner_usage(c->c_rpc.c_owner, &use);
	quota_sub(&use, &add); /* owner_get counted this one already */
	if (quota_check(&s->s_quota, NULL, &use, c->c_rpc.c_uid, &add, &e) == 0)
		return true;
	log_warn("conn pid %d refused: %s", (int)c->c_rpc.c_pid, e.msg);
	if (c->c_rpc.c_owner->o_refused >= OWNER_MAX_REFUSED) {
		owner_put(&s->s_owners, c->c_rpc.c_owner);
		close(c->c_fd);
		return false;
	}
	c->c_rpc.c_owner->o_refused++;
	c->c_refused = true;
	c->c_refusal = e;
	verr_prefix(&c->c_refusal, "connect");
	return true;
}

static void control_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct server *s = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	int fd;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			control_backoff(s, errno);
		else if (errno != EAGAIN && errno != EINTR)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->c_rpc.c_ops = &conn_rpc_ops;
	c->c_rpc.c_srv = s;
	c->c_fd = fd;
	STAILQ_INIT(&c->c_outq);
	/* No credentials: charged to uid -1, never to root. */
	c->c_rpc.c_uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->c_rpc.c_uid = cred.uid;
		c->c_rpc.c_pid = cred.pid;
	}
	if (!control_charge(s, c)) {
		free(c);
		return;
	}
	c->c_ev = event_new(s->s_base, fd, EV_READ | EV_PERSIST, conn_event, c);
	if (c->c_ev == NULL || event_add(c->c_ev, NULL) < 0) {
		if (c->c_ev != NULL)
			event_free(c->c_ev);
		owner_put(&s->s_owners, c->c_rpc.c_owner);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->s_conns, c, c_entry);
	srv_count(SC_CONNECTIONS);
	log_debug("connection from pid %d uid %u", (int)c->c_rpc.c_pid,
		  (unsigned)c->c_rpc.c_uid);
}

int socket_clear_stale(const char *path, int type)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r = wire_addr(&sun, path);

	if (r < 0)
		return r;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

static int control_permissions(const char *path, const char *group)
{
	struct group *gr;

	if (group == NULL)
		return 0; /* 0600 from the umask at bind */
	gr = getgrnam(group);
	if (gr == NULL) {
		log_warn("unknown group '%s'", group);
		return -ENOENT;
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0)
		return -errno;
	return 0;
}

int control_listen(struct server *s, const char *path, const char *group)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r = wire_addr(&sun, path);

	if (r < 0)
		return r;
	r = socket_clear_stale(path, SOCK_SEQPACKET);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = control_permissions(path, group);
	if (r < 0) {
		close(fd);
		unlink(path);
		return r;
	}
	s->s_path = path;
	s->s_listen = fd;
	s->s_ev_listen = event_new(s->s_base, fd, EV_READ | EV_PERSIST,
				   control_accept, s);
	if (s->s_ev_listen == NULL)
		return -ENOMEM;
	return event_add(s->s_ev_listen, NULL);
}

void control_shutdown(struct server *s)
{
	while (!TAILQ_EMPTY(&s->s_conns))
		conn_close(TAILQ_FIRST(&s->s_conns));
	if (s->s_ev_listen != NULL)
		event_free(s->s_ev_listen);
	if (s->s_listen >= 0) {
		close(s->s_listen);
		unlink(s->s_path);
	}
}
