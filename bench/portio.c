/*
 * portio.c: what does handling a vCPU exit in another process cost?
 * Runs the portio payload (N outb to the null port) once in a VM of this
 * process, handling each exit inline (a monolithic VMM), and once through
 * mmu-server with this process as the frontend answering each exit on the
 * vCPU channel; prints the time per exit of both and their ratio.  This
 * is the baseline later work is measured against (issue 2).
 * Placement: the vCPU runs on CPU 0 in both cases, the frontend on
 * CPU 1, as separate processes would be (see memslot.c for why pinning).
 * Trust: benchmark code, run as root.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi.h"
#include "bench.h"
#include "client.h"
#include "guest.h"
#include "harness.h"
#include "vcpustate.h"
#include "wire.h"

#define EXITS	  20000
#define RAM_BYTES (64ULL << 20)

static const char cmdline[] = "count=20000";

/* In-process: KVM_RUN in this thread, exits handled right here. */
static double run_inproc(unsigned long *exits)
{
	struct inproc ip;
	uint64_t t0;
	double secs;

	*exits = 0;
	if (inproc_create(&ip, RAM_BYTES, guest_path("portio"), cmdline) < 0)
		return -1;
	t0 = now_ns();
	for (;;) {
		struct kvm_run *run = ip.ip_run;

		if (kvm_vcpu_run(ip.ip_vcpu) < 0 ||
		    run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "portio: in-process exit %u\n",
				run->exit_reason);
			break;
		}
		if (run->io.port == GUEST_PORT_NULL)
			(*exits)++;
		else if (run->io.port == GUEST_PORT_EXIT)
			break;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	inproc_destroy(&ip);
	return secs;
}

/* Answers exits on the channel until the guest writes the exit port. */
static int serve_exits(int chan, unsigned long *exits)
{
	static uint8_t buf[WIRE_MAX_MSG];
	struct pollfd pfd = {.fd = chan, .events = POLLIN};
	Kvmmu__VcpuResume ans = KVMMU__VCPU_RESUME__INIT;
	int fds[WIRE_MAX_FDS];
	size_t nfds;

	ans.has_stop = 1;
	for (;;) {
		Kvmmu__VcpuExit *ex;
		ssize_t n;
		bool done;

		if (wire_poll(&pfd, 1, 10000, WIRE_DEFAULT_SPIN_US) <= 0)
			return -ETIMEDOUT;
		n = wire_recv(chan, buf, fds, &nfds);
		wire_close_fds(fds, nfds);
		if (n == -EAGAIN)
			continue;
		ex = n > 0 ? kvmmu__vcpu_exit__unpack(NULL, (size_t)n, buf)
			   : NULL;
		if (ex == NULL || !ex->io)
			return -EPROTO;
		done = ex->io->port == GUEST_PORT_EXIT;
		*exits += ex->io->port == GUEST_PORT_NULL;
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
		ans.stop = done;
		if (wire_send(chan, &ans.base, NULL, 0) < 0)
			return -EPIPE;
		if (done)
			return 0;
	}
}

static int boot_through(struct client *cl, uint32_t *vm, int *chan)
{
	char err[256];
	void *img, *ram;
	size_t len;
	int ram_fd, r;

	if (client_create_vm(cl, "portio", 1, RAM_BYTES, vm, &ram_fd, chan) < 0)
		return -1;
	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd,
		   0);
	r = ram == MAP_FAILED ? -1
			      : guest_load_file(guest_path("portio"), &img,
						&len, err, sizeof(err));
	if (r == 0) {
		r = guest_setup(ram, RAM_BYTES, 1, img, len, cmdline, err,
				sizeof(err));
		free(img);
	}
	if (ram != MAP_FAILED)
		munmap(ram, RAM_BYTES);
	close(ram_fd);
	if (r == 0)
		r = client_map(cl, *vm, KVMMU__REGION_KIND__REGION_RAM, 0,
			       RAM_BYTES, 0, "ram", -1);
	return r == 0 ? vcpustate_send(cl, *vm, 0) : r;
}

/* Through the server: this process is the frontend. */
static double run_server(struct srv *srv, unsigned long *exits)
{
	struct client cl;
	uint64_t t0;
	double secs = -1;
	uint32_t vm;
	int chan = -1;

	*exits = 0;
	if (client_connect(&cl, srv->s_sock) < 0 ||
	    boot_through(&cl, &vm, &chan) < 0) {
		fprintf(stderr, "portio: %s\n", cl.cl_err);
		return -1;
	}
	t0 = now_ns();
	if (client_vm_op(&cl, vm, KVMMU__REQUEST__BODY_RUN) == 0 &&
	    serve_exits(chan, exits) == 0)
		secs = (double)(now_ns() - t0) / 1e9;
	close(chan);
	client_close(&cl);
	return secs;
}

int main(int argc, char **argv)
{
	unsigned long in_exits, srv_exits;
	double in_s, srv_s, in_us, srv_us;
	bool two = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	struct srv srv;

	require_kvm("bench/portio");
	if (srv_start(&srv, NULL) < 0)
		return 1;
	/* vCPUs (server threads inherit it) on CPU 0, frontend on CPU 1. */
	pin_cpu(srv.s_pid, 0);
	pin_cpu(0, 0);
	in_s = run_inproc(&in_exits);
	pin_cpu(0, two ? 1 : 0);
	srv_s = run_server(&srv, &srv_exits);
	srv_stop(&srv);
	if (in_s <= 0 || srv_s <= 0 || in_exits != EXITS ||
	    srv_exits != EXITS) {
		fprintf(stderr, "portio: run failed (%lu, %lu exits)\n",
			in_exits, srv_exits);
		return 1;
	}
	in_us = in_s * 1e6 / EXITS;
	srv_us = srv_s * 1e6 / EXITS;
	if (bench_json(argc, argv))
		printf("{\"bench\": \"portio\", \"exits\": %d, "
		       "\"inproc_us_per_exit\": %.2f, "
		       "\"server_us_per_exit\": %.2f, \"ratio\": %.3f}\n",
		       EXITS, in_us, srv_us, srv_us / in_us);
	else
		printf("port I/O exits (outb to the null port), %d each\n"
		       "  %-32s %8.2f us/exit\n"
		       "  %-32s %8.2f us/exit\n"
		       "  ratio                            %8.3f\n",
		       EXITS, "handled in-process", in_us,
		       "handled by the frontend", srv_us, srv_us / in_us);
	return 0;
}
