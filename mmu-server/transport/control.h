/*
 * control.h: the frontends' control socket (control.c): listening,
 * accepting, and closing every connection at shutdown.
 * Trust: the peers are unprivileged, possibly hostile frontends.
 */
#ifndef KVMMU_CONTROL_H
#define KVMMU_CONTROL_H

struct server;

/* Listens on path, 0600 or 0660 for group.  0 or -errno. */
int control_listen(struct server *s, const char *path, const char *group);
/* Closes every connection (destroying their VMs) and the socket. */
void control_shutdown(struct server *s);

/*
 * Removes a socket file left by a dead server; a live one (something
 * accepts connections of this type there) is -EADDRINUSE, and a file
 * that is not a socket -EEXIST.  The admin socket (admin.c) uses it too.
 */
int socket_clear_stale(const char *path, int type);

#endif
