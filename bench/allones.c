/*
 * allones.c: the cost of a region that must read as all ones (an empty
 * PCI hole, an absent ROM), served three ways in the same run: as an
 * unmapped hole whose reads exit to the frontend (what a VMM without the
 * policy does), as allones=mmio (the server answers each read itself), and
 * as allones=rom (a read-only slot over pages of 0xff: no exit at all,
 * at the cost of one shared 2 MiB memfd and the slot's mappings).
 * Trust: benchmark code, run as root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "boot.h"
#include "client.h"
#include "harness.h"

#define RAM	  (16ULL << 20)
#define HOLE_GPA  0xc0000000ULL
#define HOLE_SIZE (16ULL << 20)
#define READS	  20000

struct way {
	const char *name;
	int kind;    /* REGION_MMIO or REGION_ALLONES */
	int allones; /* the VM's policy */
	double ns;   /* per read */
	unsigned long exits;
};

static int run_way(const char *sock, struct way *w)
{
	Kvmmu__ZapControl z = KVMMU__ZAP_CONTROL__INIT;
	struct boot_spec bs = {.bs_name = "allones",
			       .bs_vcpus = 1,
			       .bs_ram = RAM,
			       .bs_zap = &z};
	struct served sv = {0};
	char err[300], cmd[64];
	struct client cl;
	struct boot b;
	uint64_t t0;
	int r;

	z.has_allones = 1;
	z.allones = (Kvmmu__AllOnes)w->allones;
	snprintf(cmd, sizeof(cmd), "a=%llu count=%d", HOLE_GPA, READS);
	bs.bs_cmdline = cmd;
	if (client_connect(&cl, sock) < 0 ||
	    test_boot(&cl, &b, &bs, "readloop", err, sizeof(err)) < 0 ||
	    client_map(&cl, b.b_vm, w->kind, HOLE_GPA, HOLE_SIZE, 0, "hole",
		       -1) < 0) {
		fprintf(stderr, "allones: %s: %s %s\n", w->name, err,
			cl.cl_err);
		return -1;
	}
	t0 = mono_ns();
	r = client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN);
	if (r == 0)
		r = serve_vcpu(b.b_chans[0], 60000, &sv);
	w->ns = (double)(mono_ns() - t0) / READS;
	w->exits = sv.sv_mmio;
	boot_release(&b);
	client_close(&cl);
	if (r < 0 || sv.sv_status != 0) {
		fprintf(stderr, "allones: %s: run failed (status %u)\n",
			w->name, sv.sv_status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool json;
	struct way ways[] = {
		{"hole, frontend answers", KVMMU__REGION_KIND__REGION_MMIO,
		 KVMMU__ALL_ONES__ALLONES_MMIO, 0, 0},
		{"allones=mmio", KVMMU__REGION_KIND__REGION_ALLONES,
		 KVMMU__ALL_ONES__ALLONES_MMIO, 0, 0},
		{"allones=rom", KVMMU__REGION_KIND__REGION_ALLONES,
		 KVMMU__ALL_ONES__ALLONES_ROM, 0, 0},
	};
	struct srv srv;

	json = bench_args(argc, argv,
			  "a guest's read of an all-ones region: a hole the "
			  "frontend answers vs\n  allones=mmio vs allones=rom",
			  NULL, 0);
	require_kvm("bench/allones");
	if (srv_start(&srv, NULL) < 0)
		return 1;
	pin_cpu(srv.s_pid, 0);
	pin_cpu(0, sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);
	for (int i = 0; i < 3; i++) {
		if (run_way(srv.s_sock, &ways[i]) < 0) {
			srv_stop(&srv);
			return 1;
		}
	}
	srv_stop(&srv);
	bench_head("allones", json);
	if (json) {
		printf("\"reads\": %d, \"results\": [", READS);
		for (int i = 0; i < 3; i++)
			printf("%s{\"way\": \"%s\", \"ns_per_read\": %.1f, "
			       "\"frontend_exits\": %lu, \"vs_hole\": %.4f}",
			       i ? ", " : "", ways[i].name, ways[i].ns,
			       ways[i].exits, ways[i].ns / ways[0].ns);
		printf("]}\n");
		return 0;
	}
	printf("a 16 MiB all-ones region, %d guest reads each\n", READS);
	for (int i = 0; i < 3; i++)
		printf("  %-24s %10.1f ns/read  %6lu exits to the frontend  "
		       "%.4fx\n",
		       ways[i].name, ways[i].ns, ways[i].exits,
		       ways[i].ns / ways[0].ns);
	return 0;
}
