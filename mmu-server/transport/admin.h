/*
 * admin.h: the gRPC admin API (proto/admin.proto, grpc.health.v1) served
 * by mmu-server.  Trust: callers are operators; the socket's permissions
 * (a unix socket, mode 0600 or 0660 for an admin group) are the access
 * control, and loopback TCP is only opened when asked for.
 */
#ifndef KVMMU_ADMIN_H
#define KVMMU_ADMIN_H

struct server;
struct admin;

struct admin_opts {
	const char *ao_socket; /* unix socket path, or NULL */
	const char *ao_group;  /* group allowed on it, or NULL (0600) */
	const char *ao_listen; /* "127.0.0.1:PORT" / "[::1]:PORT", or NULL */
};

/* Starts serving on the server's event base.  0 or -errno. */
int admin_start(struct server *s, const struct admin_opts *o,
		struct admin **out);
/* Cancels calls in flight, drains the queue, frees everything. */
void admin_stop(struct admin *a);

#endif
