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
#include <unistd.h>

#include "abi.h"
#include "bench.h"
#include "client.h"
#include "guest.h"
#include "harness.h"
#include "boot.h"
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
	t0 = mono_ns();
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
	secs = (double)(mono_ns() - t0) / 1e9;
	inproc_destroy(&ip);
	return secs;
}

/* Through the server: this process is the frontend. */
static double run_server(struct srv *srv, unsigned long *exits)
{
	struct boot_spec spec = {.bs_name = "portio",
				 .bs_vcpus = 1,
				 .bs_ram = RAM_BYTES,
				 .bs_cmdline = cmdline};
	char err[300] = "";
	struct client cl;
	struct boot b;
	double secs = -1;
	void *img = NULL;
	uint64_t t0;
	int r;

	*exits = 0;
	r = guest_load_file(guest_path("portio"), &img, &spec.bs_len, err,
			    sizeof(err));
	spec.bs_payload = img;
	if (r == 0 && client_connect(&cl, srv->s_sock) < 0)
		snprintf(err, sizeof(err), "%s", cl.cl_err);
	else if (r == 0 && boot_vm(&cl, &b, &spec, err, sizeof(err)) < 0)
		client_close(&cl);
	else if (r == 0) {
		t0 = mono_ns();
		struct served sv = {0};

		if (client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0 &&
		    serve_vcpu(b.b_chans[0], 10000, &sv) == 0)
			secs = (double)(mono_ns() - t0) / 1e9;
		*exits = sv.sv_null;
		boot_release(&b);
		client_close(&cl);
	}
	if (secs < 0)
		fprintf(stderr, "portio: %s\n", err);
	free(img);
	return secs;
}

#define ROUNDS 5

int main(int argc, char **argv)
{
	bool json;
	double in_us[ROUNDS], srv_us[ROUNDS], in50, srv50;
	bool two = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	unsigned long in_exits, srv_exits;
	struct srv srv;

	json = bench_args(argc, argv,
			  "a port I/O exit: answered by a frontend through "
			  "mmu-server vs in-process",
			  NULL, 0);
	require_kvm("bench/portio");
	if (srv_start(&srv, NULL) < 0)
		return 1;
	/* vCPUs (server threads inherit it) on CPU 0, frontend on CPU 1. */
	pin_cpu(srv.s_pid, 0);
	/* Alternate rounds so drift on the machine hits both sides alike. */
	for (int r = 0; r < ROUNDS; r++) {
		pin_cpu(0, 0);
		in_us[r] = run_inproc(&in_exits) * 1e6 / EXITS;
		pin_cpu(0, two ? 1 : 0);
		srv_us[r] = run_server(&srv, &srv_exits) * 1e6 / EXITS;
		if (in_us[r] <= 0 || srv_us[r] <= 0 || in_exits != EXITS ||
		    srv_exits != EXITS) {
			fprintf(stderr, "portio: run failed (%lu, %lu exits)\n",
				in_exits, srv_exits);
			srv_stop(&srv);
			return 1;
		}
	}
	srv_stop(&srv);
	in50 = percentile(in_us, ROUNDS, 50);
	srv50 = percentile(srv_us, ROUNDS, 50);
	bench_head("portio", json);
	if (json)
		printf("\"exits\": %d, "
		       "\"rounds\": %d, \"inproc_us_per_exit\": %.2f, "
		       "\"server_us_per_exit\": %.2f, \"ratio\": %.3f}\n",
		       EXITS, ROUNDS, in50, srv50, srv50 / in50);
	else
		printf("port I/O exits (outb to the null port), %d rounds of "
		       "%d, medians\n"
		       "  %-32s %8.2f us/exit\n"
		       "  %-32s %8.2f us/exit\n"
		       "  ratio                            %8.3f\n",
		       ROUNDS, EXITS, "handled in-process", in50,
		       "handled by the frontend", srv50, srv50 / in50);
	return 0;
}
