/*
 * test_outq.c: mmu-server's output queue per connection is bounded.  A
 * frontend that never reads its replies cannot make the server hold
 * them: reading a connection waits while any reply is queued, so the
 * only replies that pile up are those owed to requests already read,
 * queued Invalidates answered when their batch window ends (up to 255
 * per VM, 8 VMs per connection).  Past CONN_MAX_OUTQ (1024) the
 * connection is dropped; below it, every reply arrives once the
 * frontend reads.  No reply is ever lost on a connection left open.
 * The frontend is uid nobody; root checks meanwhile that the server
 * serves another client and its RSS stays put.
 * Trust: test code, run as root with /dev/kvm; the frontend as nobody.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "harness.h"

#define NOBODY	65534
#define RAM	(4ULL << 20)
#define PER_VM	255	   /* one under INVAL_MAX_PENDING: the window decides */
#define WINDOW	1000000	   /* us, ZAP_MAX_WINDOW_US */
#define MAX_RSS (8 * 1024) /* KiB the server may grow by */

static struct srv srv;

/* Sends n Invalidates to each of nvms VMs; how many went out. */
static unsigned flood(struct client *cl, const uint32_t *vms, unsigned nvms,
		      unsigned n)
{
	uint64_t id, t0 = mono_ns();
	unsigned sent = 0;

	for (unsigned v = 0; v < nvms; v++) {
		for (unsigned i = 0; i < n; i++) {
			int r;

			while ((r = client_invalidate_send(
					cl, vms[v], (i % 256) * 4096, 4096,
					false, &id)) == -EAGAIN &&
			       mono_ns() - t0 < 2000000000ULL)
				usleep(1000);
			if (r < 0)
				return sent;
			sent++;
		}
	}
	return sent;
}

/* Replies waiting in the socket; *hup: the server closed it. */
static unsigned drain(int fd, bool *hup)
{
	uint8_t buf[WIRE_MAX_MSG];
	unsigned got = 0;
	ssize_t n;

	*hup = false;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		got++;
	if (n == 0)
		*hup = true;
	return got;
}

/*
 * One connection, nvms VMs, PER_VM queued Invalidates each, no reply
 * read until the windows have ended.  Returns the replies read.
 */
static unsigned owe(unsigned nvms, bool *hup, unsigned *sent)
{
	Kvmmu__ZapControl z = KVMMU__ZAP_CONTROL__INIT;
	struct client cl;
	uint32_t vms[8];
	unsigned got;
	int ram, chan;
	char name[16];

	*hup = false;
	*sent = 0;
	if (client_connect(&cl, srv.s_sock) < 0) {
		CHECK(0, "connect: %s", cl.cl_err);
		return 0;
	}
	z.has_batch_window_us = 1;
	z.batch_window_us = WINDOW;
	for (unsigned v = 0; v < nvms; v++) {
		snprintf(name, sizeof(name), "outq%u", v);
		CHECK(client_create_vm(&cl, name, 1, RAM, &z, &vms[v], &ram,
				       &chan) == 0 &&
			      client_map(&cl, vms[v], 1, 0, RAM, 0, "ram",
					 -1) == 0,
		      "VM %u: %s", v, cl.cl_err);
		close(ram);
		close(chan);
	}
	fcntl(cl.cl_fd, F_SETFL, O_NONBLOCK);
	*sent = flood(&cl, vms, nvms, PER_VM);
	/* The windows end; the replies go out, or into the queue. */
	usleep(2 * WINDOW + 500000);
	got = drain(cl.cl_fd, hup);
	/* Read: a queued reply goes out as the socket takes it. */
	for (int i = 0; i < 200 && !*hup && got < *sent; i++) {
		struct pollfd p = {.fd = cl.cl_fd, .events = POLLIN};

		poll(&p, 1, 10);
		got += drain(cl.cl_fd, hup);
	}
	client_close(&cl);
	return got;
}

static int frontend(void)
{
	unsigned got, sent;
	bool hup;

	checks_failed = 0;
	/* Under the bound: late, but every reply arrives. */
	got = owe(3, &hup, &sent);
	printf("test_outq: 3 VMs: %u Invalidates owed, %u replies read, "
	       "%s\n",
	       sent, got, hup ? "closed" : "open");
	CHECK(sent == 3 * PER_VM, "all sent (%u)", sent);
	CHECK(!hup && got == sent, "every reply arrives: %u of %u", got, sent);
	/* Over it: the connection is dropped, not left short of replies. */
	got = owe(8, &hup, &sent);
	printf("test_outq: 8 VMs: %u Invalidates owed, %u replies read, "
	       "%s\n",
	       sent, got, hup ? "closed" : "open");
	CHECK(sent > 1024 + 512, "more owed than the queue takes (%u)", sent);
	CHECK(hup || got == sent,
	      "no reply lost on an open connection: %u of %u read", got, sent);
	CHECK(hup, "the server dropped the connection that did not read");
	fflush(stdout);
	return checks_failed ? 1 : 0;
}

int main(void)
{
	struct client other;
	long rss0, rss1;
	int status = -1;
	pid_t pid;

	require_kvm("test_outq");
	CHECK(srv_start(&srv, (const char *[]){"--socket-group", "nogroup",
					       NULL}) == 0,
	      "server start");
	usleep(200000);
	rss0 = proc_rss_kib(srv.s_pid);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(99);
		_exit(frontend());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "the frontend ran");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the frontend's checks (status 0x%x)", status);
	rss1 = proc_rss_kib(srv.s_pid);
	printf("test_outq: server RSS %ld -> %ld KiB\n", rss0, rss1);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's quarantine keeps what the VMs freed: 55 MiB here. */
	printf("test_outq: ASan build: RSS not checked\n");
#else
	CHECK(rss1 - rss0 < MAX_RSS, "the server's RSS grew by %ld KiB",
	      rss1 - rss0);
#endif
	CHECK(client_connect(&other, srv.s_sock) == 0,
	      "another client is served: %s", other.cl_err);
	client_close(&other);
	CHECK(srv_stop(&srv) == 0, "the server exits cleanly");
	return checks_report("test_outq");
}
