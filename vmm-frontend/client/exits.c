/*
 * exits.c: one exit read, handled and answered (exits.h).
 * Trust: unprivileged; the exit is checked for shape before the handler.
 */
#include <errno.h>

#include "exits.h"
#include "wire.h"

int exit_serve(int chan, int vcpu, exit_handler *fn, void *arg)
{
	/* Per thread: tests serve several guests from several threads. */
	static _Thread_local uint8_t buf[WIRE_MAX_MSG];
	Kvmmu__VcpuResume ans = KVMMU__VCPU_RESUME__INIT;
	uint8_t data[4096];
	int fds[WIRE_MAX_FDS];
	Kvmmu__VcpuExit *ex;
	size_t nfds, len = 0;
	bool done;
	ssize_t n;

	n = wire_recv(chan, buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return -EPIPE;
	ex = kvmmu__vcpu_exit__unpack(NULL, (size_t)n, buf);
	if (ex == NULL || !ex->has_reason ||
	    (vcpu >= 0 && ex->vcpu != (unsigned)vcpu)) {
		if (ex != NULL)
			kvmmu__vcpu_exit__free_unpacked(ex, NULL);
		return -EPROTO;
	}
	done = fn(arg, ex, data, sizeof(data), &len);
	kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	ans.has_stop = 1; /* never an empty packet: that reads as EOF */
	ans.stop = done;
	ans.has_data = !done && len > 0;
	ans.data.data = data;
	ans.data.len = len;
	if (wire_send(chan, &ans.base, NULL, 0) < 0)
		return -EPIPE;
	return done ? 1 : 0;
}
