/*
 * main.c: vmm-frontend, the unprivileged half of a kvmmu VM.  It never
 * opens /dev/kvm: it asks mmu-server to create the VM, writes the guest
 * into the RAM memfd the server hands over, and runs the device models
 * for the exits the server forwards on each vCPU's channel.
 * Trust: unprivileged; guest-controlled data is checked before use.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "devices.h"
#include "guest.h"
#include "frontend.h"
#include "wire.h"

#define EXIT_VMM_ERROR	 1
#define EXIT_USAGE	 2
#define EXIT_GUEST_MAX	 124 /* guest statuses above this are clamped */
#define EXIT_GUEST_CRASH 125
#define EXIT_TIMEOUT	 126

static void usage(void)
{
	fprintf(stderr, "usage: vmm-frontend --socket PATH --payload FILE "
			"[--memory MiB] [--vcpus N]\n"
			"                    [--cmdline STR] [--name NAME] "
			"[--timeout SEC] [--stats] [-q] [--poll-us N]\n");
	exit(EXIT_USAGE);
}

static unsigned long long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0') {
		fprintf(stderr, "vmm-frontend: %s: '%s' is not a number\n",
			what, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"payload", required_argument, NULL, 'p'},
		{"memory", required_argument, NULL, 'm'},
		{"vcpus", required_argument, NULL, 'c'},
		{"cmdline", required_argument, NULL, 'l'},
		{"name", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"stats", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},
		{"poll-us", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	o->memory_mib = 256;
	o->spin_us = WIRE_DEFAULT_SPIN_US;
	o->vcpus = 1;
	while ((ch = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'p':
			o->payload = optarg;
			break;
		case 'm':
			o->memory_mib = parse_num(optarg, "--memory");
			break;
		case 'c':
			o->vcpus = (unsigned)parse_num(optarg, "--vcpus");
			break;
		case 'l':
			o->cmdline = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 't':
			o->timeout_s = (unsigned)parse_num(optarg, "--timeout");
			break;
		case 'S':
			o->stats = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'P':
			o->spin_us = (unsigned)parse_num(optarg, "--poll-us");
			break;
		default:
			usage();
		}
	}
	if (!o->socket || !o->payload || optind != argc)
		usage();
	if (o->vcpus == 0 || o->vcpus > GUEST_MAX_VCPUS) {
		fprintf(stderr, "vmm-frontend: --vcpus: %u not in 1..%d\n",
			o->vcpus, GUEST_MAX_VCPUS);
		exit(EXIT_USAGE);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fail(struct frontend *f, const char *what)
{
	fprintf(stderr, "vmm-frontend: %s: %s\n", what, f->f_cl.cl_err);
	return -1;
}

static int frontend_boot(struct frontend *f, const void *payload, size_t len)
{
	struct options *o = f->f_opt;
	char err[300];

	if (boot_vm(&f->f_cl, &f->f_boot, o->name, o->vcpus,
		    o->memory_mib << 20, payload, len, o->cmdline, err,
		    sizeof(err)) < 0) {
		fprintf(stderr, "vmm-frontend: %s\n", err);
		return -1;
	}
	return 0;
}

static void print_stat_list(const char *prefix, Kvmmu__Stat **s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i]->value != 0)
			printf("  %s%-28s %llu\n", prefix, s[i]->name,
			       (unsigned long long)s[i]->value);
	}
}

static void frontend_summary(struct frontend *f, double secs)
{
	Kvmmu__Reply *rep;
	const Kvmmu__StatsReply *st;

	if (client_get_stats(&f->f_cl, f->f_boot.b_vm, &rep) < 0) {
		fail(f, "GetStats");
		return;
	}
	st = rep->stats;
	printf("vmm-frontend: vm '%s' ran %.3f s on %u vCPU(s): %llu exits "
	       "in KVM, %llu forwarded (%llu port I/O, %llu MMIO), %llu "
	       "page faults taken\n",
	       f->f_opt->name, secs, f->f_opt->vcpus,
	       (unsigned long long)stats_vcpu_sum(st, "exits"),
	       (unsigned long long)(f->f_dev.d_exits_io +
				    f->f_dev.d_exits_mmio),
	       (unsigned long long)f->f_dev.d_exits_io,
	       (unsigned long long)f->f_dev.d_exits_mmio,
	       (unsigned long long)stats_vcpu_sum(st, "pf_taken"));
	if (f->f_opt->stats) {
		printf("stats (non-zero) of the VM:\n");
		print_stat_list("", st->vm, st->n_vm);
		for (size_t i = 0; i < st->n_vcpus; i++) {
			printf("stats of vCPU %zu:\n", i);
			print_stat_list("", st->vcpus[i]->stats,
					st->vcpus[i]->n_stats);
		}
		printf("mmu-server counters:\n");
		print_stat_list("", st->server, st->n_server);
	}
	client_free_reply(rep);
}

static int frontend_exit_code(const struct frontend *f)
{
	uint32_t status = 0;

	if (f->f_crashed)
		return EXIT_GUEST_CRASH;
	for (unsigned i = 0; i < f->f_dev.d_nvcpus; i++) {
		if (f->f_dev.d_status[i] != 0) {
			status = f->f_dev.d_status[i];
			break;
		}
	}
	return status > EXIT_GUEST_MAX ? EXIT_GUEST_MAX : (int)status;
}

static void frontend_free(struct frontend *f)
{
	boot_release(&f->f_boot);
	devices_free(&f->f_dev);
	client_close(&f->f_cl);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct frontend f = {.f_opt = &o, .f_boot.b_ram_fd = -1};
	char err[256], namebuf[KVMMU_NAME_MAX + 1];
	void *payload;
	size_t len;
	double t0;
	int r, code = EXIT_VMM_ERROR;

	parse_args(argc, argv, &o);
	for (unsigned i = 0; i < GUEST_MAX_VCPUS; i++)
		f.f_boot.b_chans[i] = -1;
	if (o.name == NULL) {
		snprintf(namebuf, sizeof(namebuf), "%s",
			 basename((char *)o.payload));
		namebuf[strcspn(namebuf, ".")] = '\0';
		o.name = namebuf;
	}
	if (guest_load_file(o.payload, &payload, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm-frontend: %s\n", err);
		return EXIT_USAGE;
	}
	if (devices_init(&f.f_dev, o.vcpus, stdout) < 0 ||
	    client_connect(&f.f_cl, o.socket) < 0) {
		fprintf(stderr, "vmm-frontend: %s\n", f.f_cl.cl_err);
		goto out;
	}
	f.f_dev.d_quiet_reports = o.quiet;
	f.f_cl.cl_spin_us = o.spin_us;
	if (frontend_boot(&f, payload, len) < 0)
		goto out;
	if (!o.quiet)
		printf("vmm-frontend: vm %u '%s' running (pid %d)\n",
		       f.f_boot.b_vm, o.name, (int)getpid());
	fflush(stdout);
	t0 = now_s();
	if (client_vm_op(&f.f_cl, f.f_boot.b_vm, KVMMU__REQUEST__BODY_RUN) <
	    0) {
		fail(&f, "Run");
		goto out;
	}
	r = frontend_run(&f, t0);
	fflush(stdout);
	if (r == -ETIMEDOUT)
		code = EXIT_TIMEOUT;
	else if (r == 0)
		code = frontend_exit_code(&f);
	if (r != -EPIPE)
		frontend_summary(&f, now_s() - t0);
	if (r != -EPIPE && client_vm_op(&f.f_cl, f.f_boot.b_vm,
					KVMMU__REQUEST__BODY_DESTROY_VM) < 0)
		fail(&f, "DestroyVm");
out:
	fflush(stdout);
	free(payload);
	frontend_free(&f);
	return code;
}
