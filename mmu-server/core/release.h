/*
 * release.h: closing peers' fds off the event loop (release.c).
 * Trust: fds from untrusted frontends.
 */
#ifndef KVMMU_RELEASE_H
#define KVMMU_RELEASE_H

#include <stddef.h>
#include <sys/types.h>

/* Fds one uid may have waiting to be closed before its connections wait. */
#define RELEASE_MAX_PENDING 256

/* Starts the releasing thread; 0 or -errno. */
int release_start(void);
/*
 * The uid this thread's later release_fd calls are charged to ((uid_t)-1:
 * nobody), so that a frontend whose fds close slowly (a file on a FUSE
 * mount it serves) is held back, not everyone: see release_pending.
 */
void release_charge(uid_t uid);
/* Fds charged to uid still waiting to be closed. */
unsigned release_pending(uid_t uid);
/* Testing only (mmu-server --release-delay-ms): each close waits ms. */
void release_set_delay_ms(unsigned ms);
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
