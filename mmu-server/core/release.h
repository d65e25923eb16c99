/*
 * release.h: closing peers' fds off the event loop (release.c).
 * Trust: fds from untrusted frontends.
 */
#ifndef KVMMU_RELEASE_H
#define KVMMU_RELEASE_H

#include <stddef.h>

/* Starts the releasing thread; 0 or -errno. */
int release_start(void);
/* Queues fd (< 0: nothing) to be closed; never blocks on the fd. */
void release_fd(int fd);
/* release_fd() on each, and sets each to -1. */
void release_fds(int *fds, size_t n);
/*
 * Closes what is queued and ends the thread, waiting at most timeout_ms
 * (then -ETIMEDOUT, and the thread is left to finish on its own).
 */
int release_stop(unsigned timeout_ms);

#endif
