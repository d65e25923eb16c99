/*
 * admin.c: the gRPC admin server.  gRPC's completion queue runs on its own
 * thread, which only forwards events through a pipe to the libevent loop;
 * every request is handled on the loop's thread, the same one that serves
 * frontends, so VM state is never touched from gRPC's threads.  Handing
 * the reply to gRPC (starting the batch, posting the next request) costs
 * more than computing it, so a sender thread does that: the loop is busy
 * for as short a time as possible, and frontends' events, which have a
 * higher libevent priority, never wait behind the admin API's.  A loop
 * that always has frontend work would starve the API, though (libevent
 * runs a lower priority only when no higher one is active): a timer at
 * the frontends' priority drains the queue every ADMIN_AGE_MS, so an
 * operator waits at most that long, whatever the load.
 * The methods are the rows of admin_methods.h, registered by their full
 * names: the row is what a call carries, and the request layer
 * (admin_dispatch) takes it from there.  Each row always has one request
 * posted; a catch-all request answers every other path with
 * UNIMPLEMENTED at once (else it would hang until the caller's
 * deadline), so no call reaches a handler that is not its method's.
 * Shutdown cancels calls in flight and drains the queue, freeing every
 * call.
 * Trust: callers reach the socket only through its file permissions.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "admin.h"
#include "admin_methods.h"
#include "admin_rpc.h"
#include "control.h"
#include "log.h"
#include "server.h"

#define ADMIN_AGE_MS 100

/* The request layer's codes are gRPC's, sent as they are. */
_Static_assert((int)ADMIN_OK == GRPC_STATUS_OK, "admin_rpc.h");
_Static_assert((int)ADMIN_INVALID_ARGUMENT == GRPC_STATUS_INVALID_ARGUMENT,
	       "admin_rpc.h");
_Static_assert((int)ADMIN_NOT_FOUND == GRPC_STATUS_NOT_FOUND, "admin_rpc.h");
_Static_assert((int)ADMIN_RESOURCE_EXHAUSTED == GRPC_STATUS_RESOURCE_EXHAUSTED,
	       "admin_rpc.h");
_Static_assert((int)ADMIN_FAILED_PRECONDITION ==
		       GRPC_STATUS_FAILED_PRECONDITION,
	       "admin_rpc.h");
_Static_assert((int)ADMIN_UNIMPLEMENTED == GRPC_STATUS_UNIMPLEMENTED,
	       "admin_rpc.h");
_Static_assert((int)ADMIN_INTERNAL == GRPC_STATUS_INTERNAL, "admin_rpc.h");

/*
 * The admin socket is not always root's alone (--admin-group, loopback
 * TCP with --admin-listen), and a reply waits in gRPC's transport for as
 * long as the caller does not read it (HTTP/2 flow control): one
 * connection that opened 20,000 GetStats calls with a window of 0 made
 * the server grow by 230 MiB.  So calls in flight per connection are
 * bounded, as libvirtd's max_client_requests (gRPC refuses more with
 * REFUSED_STREAM, and drops a peer that goes on), and so is a request's
 * size (every admin request is a few fields; the control socket's frame
 * is as large).  gRPC 1.51 has no bound on connections: each holds at
 * most ADMIN_MAX_STREAMS replies (ARCHITECTURE.md), and the socket's
 * mode (0600, 0660 for --admin-group) says who may open them.
 */
#define ADMIN_MAX_STREAMS 16
#define ADMIN_MAX_REQUEST (64 * 1024)

/* A row of admin_methods.h as registered with gRPC. */
struct admin_reg {
	const struct admin_method *ar_method;
	void *ar_handle; /* grpc_server_register_method's */
};

struct admin_call {
	struct admin *ac_admin;
	const struct admin_reg *ac_reg; /* NULL: the catch-all */
	bool ac_replying;		/* the reply batch is under way */
	grpc_call *ac_call;
	gpr_timespec ac_deadline;
	grpc_metadata_array ac_md;
	grpc_call_details ac_details; /* catch-all only */
	grpc_byte_buffer *ac_payload;
	grpc_byte_buffer *ac_reply;
	grpc_slice ac_msg;
	int ac_cancelled;
	grpc_status_code ac_code; /* computed on the loop thread */
	char ac_text[256];
	STAILQ_ENTRY(admin_call) ac_entry; /* in the sender's queue */
};

struct admin {
	struct server *a_srv;
	grpc_server *a_server;
	grpc_completion_queue *a_cq;
	struct admin_reg a_regs[ADMIN_NMETHODS];
	pthread_t a_thread;
	bool a_thread_started;
	int a_pipe[2];
	struct event *a_ev;
	struct event *a_age; /* ADMIN_AGE_MS: no starvation under load */
	char a_path[108];
	bool a_stopping;
	_Atomic unsigned a_calls; /* admin_call objects alive */
	pthread_t a_sender;
	bool a_sender_started;
	pthread_mutex_t a_mu; /* guards the queue and a_sender_quit */
	pthread_cond_t a_cv;
	STAILQ_HEAD(, admin_call) a_sendq;
	bool a_sender_quit;
	int a_shutdown_tag; /* its address is the shutdown tag */
};

struct admin_event {
	void *ae_tag;
	int ae_success;
};

static void call_free(struct admin_call *ac)
{
	if (ac->ac_call != NULL)
		grpc_call_unref(ac->ac_call);
	grpc_metadata_array_destroy(&ac->ac_md);
	if (ac->ac_reg == NULL)
		grpc_call_details_destroy(&ac->ac_details);
	if (ac->ac_payload != NULL)
		grpc_byte_buffer_destroy(ac->ac_payload);
	if (ac->ac_reply != NULL)
		grpc_byte_buffer_destroy(ac->ac_reply);
	grpc_slice_unref(ac->ac_msg);
	ac->ac_admin->a_calls--;
	free(ac);
}

/* Posts a request for the next call of r's method (NULL: any other). */
static void admin_post(struct admin *a, const struct admin_reg *r)
{
	const char *what = r ? r->ar_method->am_path : "the catch-all";
	struct admin_call *ac = calloc(1, sizeof(*ac));
	grpc_call_error err;

	if (ac == NULL) {
		log_warn("out of memory: %s is no longer served", what);
		return;
	}
	ac->ac_admin = a;
	ac->ac_reg = r;
	ac->ac_msg = grpc_empty_slice();
	grpc_metadata_array_init(&ac->ac_md);
	a->a_calls++;
	if (r == NULL) {
		grpc_call_details_init(&ac->ac_details);
		err = grpc_server_request_call(a->a_server, &ac->ac_call,
					       &ac->ac_details, &ac->ac_md,
					       a->a_cq, a->a_cq, ac);
	} else {
		err = grpc_server_request_registered_call(
			a->a_server, r->ar_handle, &ac->ac_call,
			&ac->ac_deadline, &ac->ac_md, &ac->ac_payload, a->a_cq,
			a->a_cq, ac);
	}
	if (err != GRPC_CALL_OK) {
		log_warn("request for %s: error %d", what, (int)err);
		call_free(ac);
	}
}

/* The request's bytes, flattened. */
static grpc_slice call_request(struct admin_call *ac)
{
	grpc_byte_buffer_reader r;
	grpc_slice s;

	if (ac->ac_payload == NULL ||
	    !grpc_byte_buffer_reader_init(&r, ac->ac_payload))
		return grpc_empty_slice();
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	return s;
}

/* A path that is no row: nothing runs, the caller hears so at once. */
static void call_unknown(struct admin_call *ac)
{
	grpc_slice path = ac->ac_details.method;

	ac->ac_code = GRPC_STATUS_UNIMPLEMENTED;
	snprintf(ac->ac_text, sizeof(ac->ac_text),
		 "unknown method %.*s: this server serves the methods of "
		 "kvmmu.admin.v1.Admin and grpc.health.v1.Health/Check",
		 (int)(GRPC_SLICE_LENGTH(path) < 100 ? GRPC_SLICE_LENGTH(path)
						     : 100),
		 (const char *)GRPC_SLICE_START_PTR(path));
}

/* On the loop thread: the call's row handles it; the reply waits in ac. */
static void call_compute(struct admin_call *ac)
{
	struct admin_result res;
	grpc_slice req, rep;

	if (ac->ac_reg == NULL) {
		call_unknown(ac);
		return;
	}
	req = call_request(ac);
	admin_dispatch(ac->ac_admin->a_srv, ac->ac_reg->ar_method,
		       GRPC_SLICE_START_PTR(req), GRPC_SLICE_LENGTH(req), &res);
	grpc_slice_unref(req);
	ac->ac_code = (grpc_status_code)res.ar_status;
	snprintf(ac->ac_text, sizeof(ac->ac_text), "%s",
		 res.ar_status == ADMIN_OK ? "" : res.ar_msg);
	if (res.ar_status != ADMIN_OK)
		return;
	rep = grpc_slice_new(res.ar_reply, res.ar_len, free); /* takes it */
	ac->ac_reply = grpc_raw_byte_buffer_create(&rep, 1);
	grpc_slice_unref(rep);
}

/* On the sender thread: the reply or error, in one batch. */
static void call_send(struct admin_call *ac)
{
	grpc_op ops[4];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (ac->ac_code == GRPC_STATUS_OK) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = ac->ac_reply;
	}
	ac->ac_msg = grpc_slice_from_copied_string(ac->ac_text);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = ac->ac_code;
	ops[n++].data.send_status_from_server.status_details = &ac->ac_msg;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &ac->ac_cancelled;
	ac->ac_replying = true;
	if (grpc_call_start_batch(ac->ac_call, ops, n, ac, NULL) !=
	    GRPC_CALL_OK)
		call_free(ac);
}

static void *admin_sender_thread(void *arg)
{
	struct admin *a = arg;
	struct admin_call *ac;

	pthread_mutex_lock(&a->a_mu);
	for (;;) {
		while (STAILQ_EMPTY(&a->a_sendq) && !a->a_sender_quit)
			pthread_cond_wait(&a->a_cv, &a->a_mu);
		ac = STAILQ_FIRST(&a->a_sendq);
		if (ac == NULL)
			break; /* quit, and nothing left to send */
		STAILQ_REMOVE_HEAD(&a->a_sendq, ac_entry);
		pthread_mutex_unlock(&a->a_mu);
		if (!a->a_stopping) /* keep one request posted per method */
			admin_post(a, ac->ac_reg);
		call_send(ac);
		pthread_mutex_lock(&a->a_mu);
	}
	pthread_mutex_unlock(&a->a_mu);
	return NULL;
}

static void admin_send_later(struct admin *a, struct admin_call *ac)
{
	pthread_mutex_lock(&a->a_mu);
	STAILQ_INSERT_TAIL(&a->a_sendq, ac, ac_entry);
	pthread_cond_signal(&a->a_cv);
	pthread_mutex_unlock(&a->a_mu);
}

static void admin_event(struct admin *a, void *tag, int success)
{
	struct admin_call *ac = tag;

	if (tag == &a->a_shutdown_tag)
		return;
	if (ac->ac_replying || !success) {
		call_free(ac); /* reply sent, or the request was cancelled */
		return;
	}
	call_compute(ac);
	admin_send_later(a, ac);
}

/* libevent: events forwarded by the completion-queue thread. */
static void admin_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_event ev;
	struct admin *a = arg;

	(void)what;
	while (read(fd, &ev, sizeof(ev)) == sizeof(ev))
		admin_event(a, ev.ae_tag, ev.ae_success);
}

/* Every ADMIN_AGE_MS, at the frontends' priority: what waits, runs. */
static void admin_age_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;

	(void)fd;
	(void)what;
	admin_pipe_cb(a->a_pipe[0], 0, a);
}

static void *admin_cq_thread(void *arg)
{
	struct admin *a = arg;

	for (;;) {
		grpc_event e = grpc_completion_queue_next(
			a->a_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		struct admin_event ev = {e.tag, e.success};

		if (e.type == GRPC_QUEUE_SHUTDOWN)
			break;
		/* One small write is atomic on a pipe: no tearing. */
		if (write(a->a_pipe[1], &ev, sizeof(ev)) != sizeof(ev))
			log_warn("admin event lost: %s", strerror(errno));
	}
	return NULL;
}

/*
 * Every row by its path, after the table was found to match the
 * services (admin_start): gRPC then hands each call its row.
 */
static int admin_register(struct admin *a)
{
	for (size_t i = 0; i < ADMIN_NMETHODS; i++) {
		struct admin_reg *r = &a->a_regs[i];

		r->ar_method = &admin_methods[i];
		r->ar_handle = grpc_server_register_method(
			a->a_server, r->ar_method->am_path, NULL,
			GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (r->ar_handle == NULL) {
			log_warn("admin API: gRPC refused to register %s",
				 r->ar_method->am_path);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A stale socket file from a dead server is removed; a live one is not.
 * a_path (which admin_stop unlinks) is only set once the path is ours.
 */
static int admin_unix_path(struct admin *a, const struct admin_opts *o)
{
	int r;

	if (strlen(o->ao_socket) >= sizeof(a->a_path))
		return -ENAMETOOLONG;
	r = socket_clear_stale(o->ao_socket, SOCK_STREAM); /* gRPC: stream */
	if (r == 0)
		strcpy(a->a_path, o->ao_socket);
	return r;
}

/* Listening addresses: the unix socket, and loopback TCP when asked. */
static int admin_ports(struct admin *a, const struct admin_opts *o)
{
	grpc_server_credentials *cr = grpc_insecure_server_credentials_create();
	char target[160];
	int ok = 1;

	if (o->ao_socket != NULL) {
		snprintf(target, sizeof(target), "unix:%s", a->a_path);
		ok = grpc_server_add_http2_port(a->a_server, target, cr) != 0;
	}
	if (ok && o->ao_listen != NULL)
		ok = grpc_server_add_http2_port(a->a_server, o->ao_listen,
						cr) != 0;
	grpc_server_credentials_release(cr);
	return ok ? 0 : -EADDRNOTAVAIL;
}

/* 0600, or 0660 for the admin group. */
static int admin_permissions(struct admin *a, const struct admin_opts *o)
{
	struct group *gr;

	if (o->ao_socket == NULL || o->ao_group == NULL)
		return 0;
	gr = getgrnam(o->ao_group);
	if (gr == NULL)
		return -ENOENT;
	if (chown(a->a_path, (uid_t)-1, gr->gr_gid) < 0 ||
	    chmod(a->a_path, 0660) < 0)
		return -errno;
	return 0;
}

static int admin_listen(struct admin *a, const struct admin_opts *o)
{
	mode_t old;
	int r;

	r = admin_register(a);
	if (r < 0)
		return r;
	old = umask(0177); /* the socket is born 0600 */
	r = admin_ports(a, o);
	if (r == 0)
		grpc_server_start(a->a_server);
	umask(old);
	if (r == 0)
		r = admin_permissions(a, o);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ADMIN_NMETHODS; i++)
		admin_post(a, &a->a_regs[i]);
	admin_post(a, NULL);
	return 0;
}

/* A gRPC server within the bounds above. */
static grpc_server *admin_server_create(void)
{
	grpc_arg args[2];
	grpc_channel_args ca = {2, args};

	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[0].value.integer = ADMIN_MAX_STREAMS;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[1].value.integer = ADMIN_MAX_REQUEST;
	return grpc_server_create(&ca, NULL);
}

int admin_start(struct server *s, const struct admin_opts *o,
		struct admin **out)
{
	const struct timeval age = {0, ADMIN_AGE_MS * 1000};
	struct admin *a;
	struct verr e;
	int r = -ENOMEM;

	/* A row that is not its method would run on an operator's call. */
	if (admin_methods_check(admin_methods, ADMIN_NMETHODS, &e) < 0) {
		log_warn("%s", e.msg);
		return -e.code;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->a_srv = s;
	a->a_pipe[0] = a->a_pipe[1] = -1;
	pthread_mutex_init(&a->a_mu, NULL);
	pthread_cond_init(&a->a_cv, NULL);
	STAILQ_INIT(&a->a_sendq);
	grpc_init();
	a->a_cq = grpc_completion_queue_create_for_next(NULL);
	a->a_server = admin_server_create();
	grpc_server_register_completion_queue(a->a_server, a->a_cq, NULL);
	if (o->ao_socket != NULL && (r = admin_unix_path(a, o)) < 0)
		goto err;
	/* The queue thread's end blocks: an event must never be dropped. */
	if (pipe2(a->a_pipe, O_CLOEXEC) < 0 ||
	    fcntl(a->a_pipe[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto err;
	}
	a->a_ev = event_new(s->s_base, a->a_pipe[0], EV_READ | EV_PERSIST,
			    admin_pipe_cb, a);
	/* Below every frontend event (see main.c's priorities)... */
	if (a->a_ev == NULL || event_priority_set(a->a_ev, 2) < 0 ||
	    event_add(a->a_ev, NULL) < 0)
		goto err;
	/* ... but never starved by them. */
	a->a_age = event_new(s->s_base, -1, EV_PERSIST, admin_age_cb, a);
	if (a->a_age == NULL || event_priority_set(a->a_age, 1) < 0 ||
	    event_add(a->a_age, &age) < 0)
		goto err;
	r = -pthread_create(&a->a_sender, NULL, admin_sender_thread, a);
	if (r < 0)
		goto err;
	a->a_sender_started = true;
	r = admin_listen(a, o);
	if (r < 0)
		goto err;
	r = -pthread_create(&a->a_thread, NULL, admin_cq_thread, a);
	if (r < 0)
		goto err;
	a->a_thread_started = true;
	*out = a;
	return 0;
err:
	admin_stop(a);
	return r;
}

/* Reads forwarded events synchronously until the shutdown tag comes. */
static void admin_drain(struct admin *a)
{
	struct admin_event ev;

	for (;;) {
		ssize_t n = read(a->a_pipe[0], &ev, sizeof(ev));

		if (n == sizeof(ev)) {
			admin_event(a, ev.ae_tag, ev.ae_success);
			if (ev.ae_tag == &a->a_shutdown_tag)
				return;
			continue;
		}
		usleep(1000); /* the queue thread has more to forward */
	}
}

/* Sends what is queued (onto cancelled calls) and ends the sender. */
static void admin_stop_sender(struct admin *a)
{
	if (!a->a_sender_started)
		return;
	pthread_mutex_lock(&a->a_mu);
	a->a_sender_quit = true;
	pthread_cond_signal(&a->a_cv);
	pthread_mutex_unlock(&a->a_mu);
	pthread_join(a->a_sender, NULL);
	a->a_sender_started = false;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	a->a_stopping = true;
	grpc_server_shutdown_and_notify(a->a_server, a->a_cq,
					&a->a_shutdown_tag);
	grpc_server_cancel_all_calls(a->a_server);
	if (a->a_thread_started)
		admin_drain(a);
	admin_stop_sender(a);
	grpc_server_destroy(a->a_server);
	grpc_completion_queue_shutdown(a->a_cq);
	if (a->a_thread_started)
		pthread_join(a->a_thread, NULL);
	else /* nothing was posted: drain here */
		while (grpc_completion_queue_next(
			       a->a_cq, gpr_inf_past(GPR_CLOCK_REALTIME), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
	admin_pipe_cb(a->a_pipe[0], 0, a); /* events forwarded last */
	grpc_completion_queue_destroy(a->a_cq);
	grpc_shutdown();
	if (a->a_calls != 0)
		log_warn("%u admin calls still alive at shutdown", a->a_calls);
	pthread_cond_destroy(&a->a_cv);
	pthread_mutex_destroy(&a->a_mu);
	if (a->a_ev != NULL)
		event_free(a->a_ev);
	if (a->a_age != NULL)
		event_free(a->a_age);
	if (a->a_pipe[0] >= 0)
		close(a->a_pipe[0]);
	if (a->a_pipe[1] >= 0)
		close(a->a_pipe[1]);
	if (a->a_path[0])
		unlink(a->a_path);
	free(a);
}
