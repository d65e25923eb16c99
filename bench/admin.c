/*
 * admin.c: the admin API's cost.  (1) GetStats calls per second from one
 * client and their p50/p99 latency.  (2) The data plane's memslot
 * add+remove latency alone and while an admin client polls GetStats at
 * 1,000 calls/s, in the same run, as a ratio.
 * Targets (issue 5): >= 2,000 calls/s, p99 <= 1 ms, data-plane p99 within
 * 10%.  Placement as in memslot.c: server on CPU 0, clients on CPU 1.
 * Trust: benchmark code, run as root.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "bench.h"
#include "client.h"
#include "harness.h"

#define CALLS	  5000
#define PAIRS	  2000
#define RAM	  (256ULL << 20)
#define ALIAS_GPA (1ULL << 32)

static struct admin_client ac;

static double get_stats_us(uint32_t vm)
{
	Kvmmu__Admin__V1__GetStatsRequest q =
		KVMMU__ADMIN__V1__GET_STATS_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = KVMMU__ADMIN__V1__VM_REF__INIT;
	ProtobufCMessage *rep;
	uint64_t t0 = mono_ns();

	r.has_id = 1;
	r.id = vm;
	q.vm = &r;
	if (admin_call(&ac, &kvmmu__admin__v1__admin__descriptor, "GetStats",
		       &q.base, &rep) != GRPC_STATUS_OK) {
		fprintf(stderr, "admin: GetStats: %s\n", ac.ac_msg);
		exit(1);
	}
	protobuf_c_message_free_unpacked(rep, NULL);
	return (double)(mono_ns() - t0) / 1e3;
}

/* A child that calls GetStats every millisecond until killed. */
static pid_t start_poller(const char *target, uint32_t vm)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	admin_client_open(&ac, target, 2000);
	for (;;) {
		struct timespec ts = {0, 1000000};

		get_stats_us(vm);
		nanosleep(&ts, NULL);
	}
}

#define ROUNDS 5

/*
 * Alternates rounds without and with the poller (frozen by SIGSTOP, then
 * let go by SIGCONT) so that drift on the machine hits both alike.
 */
static void data_plane(struct client *cl, uint32_t vm, pid_t poller, double *q,
		       double *b)
{
	static double alone[PAIRS], polled[PAIRS];
	const int per = PAIRS / ROUNDS;

	for (int r = 0; r < ROUNDS; r++) {
		kill(poller, SIGSTOP);
		usleep(20000);
		for (int i = 0; i < per; i++)
			alone[r * per + i] =
				bench_rpc_pair_us(cl, vm, ALIAS_GPA);
		kill(poller, SIGCONT);
		usleep(20000);
		for (int i = 0; i < per; i++)
			polled[r * per + i] =
				bench_rpc_pair_us(cl, vm, ALIAS_GPA);
	}
	q[0] = percentile(alone, PAIRS, 50);
	q[1] = percentile(alone, PAIRS, 99);
	b[0] = percentile(polled, PAIRS, 50);
	b[1] = percentile(polled, PAIRS, 99);
}

int main(int argc, char **argv)
{
	bool json;
	static double lat[CALLS];
	char sock[200], target[220];
	const char *args[] = {"--admin-socket", sock, NULL};
	double secs, l50, l99, q[2], b[2];
	struct client cl;
	struct srv srv;
	int ram, chan;
	uint32_t vm;
	pid_t poller;
	uint64_t t0;

	json = bench_args(argc, argv,
			  "the admin API's GetStats rate, and the data plane "
			  "while it is polled",
			  NULL, 0);
	require_kvm("bench/admin");
	snprintf(sock, sizeof(sock), "/tmp/kvmmu-bench-admin-%d.sock",
		 (int)getpid());
	snprintf(target, sizeof(target), "unix:%s", sock);
	if (srv_start(&srv, args) < 0)
		return 1;
	pin_cpu(srv.s_pid, 0);
	pin_cpu(0, sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);
	usleep(200000);
	if (client_connect(&cl, srv.s_sock) < 0 ||
	    client_create_vm(&cl, "bench", 1, RAM, NULL, &vm, &ram, &chan) <
		    0 ||
	    client_map(&cl, vm, KVMMU__REGION_KIND__REGION_RAM, 0, RAM, 0,
		       "ram", -1) < 0 ||
	    admin_client_open(&ac, target, 5000) < 0) {
		fprintf(stderr, "admin: setup failed: %s\n", cl.cl_err);
		return 1;
	}
	t0 = mono_ns();
	for (int i = 0; i < CALLS; i++)
		lat[i] = get_stats_us(vm);
	secs = (double)(mono_ns() - t0) / 1e9;
	l50 = percentile(lat, CALLS, 50);
	l99 = percentile(lat, CALLS, 99);
	poller = start_poller(target, vm);
	usleep(100000);
	data_plane(&cl, vm, poller, q, b);
	kill(poller, SIGKILL);
	waitpid(poller, NULL, 0);
	admin_client_close(&ac);
	close(ram);
	close(chan);
	client_close(&cl);
	srv_stop(&srv);
	unlink(sock);
	bench_head("admin", json);
	if (json) {
		printf("\"get_stats_per_s\": %.0f, "
		       "\"get_stats_us_p50\": %.1f, \"get_stats_us_p99\": "
		       "%.1f, \"memslot_us_p50\": %.1f, \"memslot_us_p99\": "
		       "%.1f, \"memslot_polled_us_p50\": %.1f, "
		       "\"memslot_polled_us_p99\": %.1f, "
		       "\"p99_ratio\": %.3f}\n",
		       CALLS / secs, l50, l99, q[0], q[1], b[0], b[1],
		       b[1] / q[1]);
		return 0;
	}
	printf("GetStats from one client: %.0f calls/s, p50 %.1f us, p99 "
	       "%.1f us (targets >= 2000/s, p99 <= 1000 us)\n"
	       "data-plane memslot add+remove: p50 %.1f us, p99 %.1f us "
	       "alone; p50 %.1f us, p99 %.1f us with an admin client\n"
	       "polling at 1,000 calls/s: p99 ratio %.3f (target <= "
	       "1.10)\n",
	       CALLS / secs, l50, l99, q[0], q[1], b[0], b[1], b[1] / q[1]);
	return 0;
}
