/*
 * hostile.c: a hostile frontend for the integration cluster.  Against a
 * server other frontends are using, it sends garbage, truncated and
 * oversized packets, fds on the wrong request and too many fds, requests
 * for other connections' VMs, maps that overlap or exceed its RAM, and a
 * flood of requests whose replies it never reads.  Every bad input must
 * get an error reply or a disconnect; the flood must be cut off
 * (backpressure) without the server's memory growing with it.
 * Usage: hostile SOCKET SERVER_PID (0: other VMs are running, so the
 * server's RSS says nothing about the flood; skip that check).  Prints
 * "N passed, N failed".
 * Trust: test code; the point is to be untrustworthy.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "wire.h"

static const char *sock_path;

/* An error reply (true), or the server hung up on us (also fine). */
static bool refused(int fd)
{
	bool err;

	return reply_or_hangup(fd, 5000, &err) && err;
}

static void hostile_frames(void)
{
	static uint8_t big[80 * 1024];
	uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0xff};
	Kvmmu__Request empty = KVMMU__REQUEST__INIT;
	int fd = raw_connect(sock_path), p[2], fds[70];

	CHECK(fd >= 0, "connect");
	CHECK(send(fd, junk, sizeof(junk), 0) > 0 && refused(fd), "garbage");
	CHECK(send(fd, big, sizeof(big), 0) > 0 && refused(fd), "oversized");
	CHECK(pipe(p) == 0, "pipe");
	for (int i = 0; i < 70; i++)
		fds[i] = p[0];
	CHECK(wire_send(fd, &empty.base, fds, 1) == 0 && refused(fd),
	      "an fd on a bodiless request");
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* Another connection's VMs are invisible: ids 1..64 are all refused. */
static void hostile_foreign(void)
{
	struct client cl;
	int ram, chan, hits = 0;
	uint32_t mine;

	CHECK(client_connect(&cl, sock_path) == 0, "connect: %s", cl.cl_err);
	CHECK(client_create_vm(&cl, "hostile", 1, 8 << 20, NULL, &mine, &ram,
			       &chan) == 0,
	      "own VM: %s", cl.cl_err);
	for (uint32_t id = 1; id <= 64; id++) {
		if (id == mine)
			continue;
		hits += client_vm_op(&cl, id,
				     KVMMU__REQUEST__BODY_DESTROY_VM) !=
			-ENOENT;
		hits += client_map(&cl, id, 1, 1ULL << 32, 4096, 0, "x", -1) !=
			-ENOENT;
	}
	CHECK(hits == 0, "no other connection's VM could be touched (%d)",
	      hits);
	CHECK(client_map(&cl, mine, 1, 0, 8 << 20, 0, "ram", -1) == 0 &&
		      client_map(&cl, mine, 1, 4 << 20, 4096, 0, "o", -1) ==
			      -EEXIST &&
		      client_map(&cl, mine, 1, 1ULL << 32, 16 << 20, 0, "big",
				 -1) == -EINVAL,
	      "overlap and beyond-RAM maps refused: %s", cl.cl_err);
	close(ram);
	close(chan);
	client_close(&cl);
}

/*
 * Valid requests (Stop on our own VM), replies never read.  The server
 * stops reading a connection whose replies it cannot send (backpressure),
 * so the flood stalls: our sends hit EAGAIN, the server's memory stays
 * flat, and everyone else is still served.
 */
static void hostile_flood(pid_t srv)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Stop stop = KVMMU__STOP__INIT;
	long rss0 = proc_rss_kib(srv);
	struct client cl, other;
	int ram, chan, sent = 0, stalled = 0;
	uint32_t vm;

	CHECK(client_connect(&cl, sock_path) == 0 &&
		      client_create_vm(&cl, "flood", 1, 4 << 20, NULL, &vm,
				       &ram, &chan) == 0,
	      "flood VM: %s", cl.cl_err);
	fcntl(cl.cl_fd, F_SETFL, O_NONBLOCK);
	stop.has_vm_id = 1;
	stop.vm_id = vm;
	req.has_version = req.has_id = 1;
	req.version = KVMMU_PROTOCOL_VERSION;
	req.body_case = KVMMU__REQUEST__BODY_STOP;
	req.stop = &stop;
	/* Stalled: 500 ms of EAGAIN in a row, however long we push. */
	for (int i = 0; i < 2000000 && stalled < 500; i++) {
		int r;

		req.id = (uint64_t)i;
		r = wire_send(cl.cl_fd, &req.base, NULL, 0);
		if (r == -EAGAIN) {
			stalled++;
			usleep(1000);
		} else if (r == 0) {
			sent++;
			stalled = 0;
		} else {
			break; /* disconnected: also a bound */
		}
	}
	printf("hostile: flood of %d unread requests stalled: %s; server RSS "
	       "%ld -> %ld KiB\n",
	       sent, stalled >= 500 ? "yes" : "no", rss0, proc_rss_kib(srv));
	CHECK(stalled >= 500, "the flood is held back, not buffered");
	if (srv != 0)
		CHECK(proc_rss_kib(srv) - rss0 < 16 * 1024,
		      "the server's memory did not grow with the flood");
	CHECK(client_connect(&other, sock_path) == 0,
	      "another client is served meanwhile: %s", other.cl_err);
	client_close(&other);
	close(ram);
	close(chan);
	client_close(&cl);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: hostile SOCKET SERVER_PID\n");
		return 2;
	}
	sock_path = argv[1];
	hostile_frames();
	hostile_foreign();
	hostile_flood((pid_t)atoi(argv[2]));
	return checks_report("hostile");
}
