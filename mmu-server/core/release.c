/*
 * release.c: fds that came from a peer are closed here, on a thread of
 * their own.  close() on an fd's last reference can block: a TCP socket
 * with SO_LINGER waits for its unsent data, a tty for its output, a FUSE
 * or NFS file for its server.  A frontend that passes such an fd must not
 * stall the event loop, a vCPU thread or a VM's teardown, so those only
 * queue it here (release_fd never blocks).  Sockets also get their linger
 * switched off first, so that even this thread never waits for one.
 * Trust: the fds are untrusted peers'; the queue is ours.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "release.h"

/* An fd to close and the uid it is charged to. */
struct rel {
	int r_fd;
	uid_t r_uid;
};

/* Fds a uid has waiting (a few uids at a time: a short list). */
struct pending {
	uid_t p_uid;
	unsigned p_n;
};

#define PENDING_SLOTS 64

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop, busy;
	struct rel *fds;
	size_t n, cap;
	struct pending pend[PENDING_SLOTS];
	unsigned delay_ms; /* testing only */
} rl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Whom this thread's releases are charged to; -1: nobody. */
static _Thread_local uid_t release_uid = (uid_t)-1;

void release_charge(uid_t uid)
{
	release_uid = uid;
}

void release_set_delay_ms(unsigned ms)
{
	rl.delay_ms = ms;
}

/* uid's pending count, made on first use; NULL when the list is full. */
static unsigned *pending_of(uid_t uid, bool make)
{
	struct pending *free_slot = NULL;

	for (int i = 0; i < PENDING_SLOTS; i++) {
		if (rl.pend[i].p_n > 0 && rl.pend[i].p_uid == uid)
			return &rl.pend[i].p_n;
		if (rl.pend[i].p_n == 0 && free_slot == NULL)
			free_slot = &rl.pend[i];
	}
	if (!make || free_slot == NULL)
		return NULL;
	free_slot->p_uid = uid;
	return &free_slot->p_n;
}

unsigned release_pending(uid_t uid)
{
	unsigned *n, v;

	pthread_mutex_lock(&rl.mu);
	n = pending_of(uid, false);
	v = n ? *n : 0;
	pthread_mutex_unlock(&rl.mu);
	return v;
}

static void *release_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rl.mu);
	for (;;) {
		struct rel *batch;
		size_t n;

		while (rl.n == 0 && !rl.stop)
			pthread_cond_wait(&rl.cv, &rl.mu);
		if (rl.n == 0)
			break;
		batch = rl.fds;
		n = rl.n;
		rl.fds = NULL;
		rl.n = rl.cap = 0;
		rl.busy = true;
		pthread_mutex_unlock(&rl.mu);
		for (size_t i = 0; i < n; i++) {
			unsigned *pend;

			if (rl.delay_ms)
				usleep(rl.delay_ms * 1000);
			close(batch[i].r_fd);
			if (batch[i].r_uid == (uid_t)-1)
				continue;
			pthread_mutex_lock(&rl.mu);
			pend = pending_of(batch[i].r_uid, false);
			if (pend && *pend > 0)
				(*pend)--;
			pthread_mutex_unlock(&rl.mu);
		}
		free(batch);
		pthread_mutex_lock(&rl.mu);
		rl.busy = false;
		pthread_cond_broadcast(&rl.cv);
	}
	pthread_mutex_unlock(&rl.mu);
	return NULL;
}

int release_start(void)
{
	int r = pthread_create(&rl.thread, NULL, release_thread, NULL);

	if (r != 0)
		return -r;
	rl.started = true;
	return 0;
}

/* SO_LINGER off: the socket's close returns at once, whatever is unsent. */
static void release_defuse(int fd)
{
	struct linger off = {0, 0};
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof(off));
}

void release_fd(int fd)
{
	uid_t uid = release_uid;
	unsigned *pend;

	if (fd < 0)
		return;
	release_defuse(fd);
	pthread_mutex_lock(&rl.mu);
	if (!rl.started || rl.stop) {
		pthread_mutex_unlock(&rl.mu);
		close(fd); /* before start or after stop: no loop to stall */
		return;
	}
	if (rl.n == rl.cap) {
		size_t cap = rl.cap ? 2 * rl.cap : 64;
		struct rel *p = realloc(rl.fds, cap * sizeof(*p));

		if (p == NULL) {
			pthread_mutex_unlock(&rl.mu);
			log_warn("release: out of memory: closing fd %d here",
				 fd);
			close(fd);
			return;
		}
		rl.fds = p;
		rl.cap = cap;
	}
	/* A uid past PENDING_SLOTS others is not counted: closed all the same.
	 */
	pend = uid != (uid_t)-1 ? pending_of(uid, true) : NULL;
	if (pend == NULL)
		uid = (uid_t)-1;
	else
		(*pend)++;
	rl.fds[rl.n++] = (struct rel){fd, uid};
	pthread_cond_signal(&rl.cv);
	pthread_mutex_unlock(&rl.mu);
}

void release_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		release_fd(fds[i]);
		fds[i] = -1;
	}
}

int release_stop(unsigned timeout_ms)
{
	struct timespec until;
	int r = 0;

	if (!rl.started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&rl.mu);
	rl.stop = true;
	pthread_cond_signal(&rl.cv);
	while ((rl.n != 0 || rl.busy) && r == 0)
		r = pthread_cond_timedwait(&rl.cv, &rl.mu, &until);
	pthread_mutex_unlock(&rl.mu);
	if (r != 0) {
		/* A release that never returns must not hold the exit. */
		log_warn("release: an fd from a frontend is still closing "
			 "after %u ms: exiting without it",
			 timeout_ms);
		pthread_detach(rl.thread);
		return -ETIMEDOUT;
	}
	pthread_join(rl.thread, NULL);
	rl.started = false;
	return 0;
}
