/*
 * main.c: mmuctl, the operator's command line for mmu-server's gRPC
 * admin API: list, show, stats, zap-control, invalidate, pause, resume,
 * destroy, health.  Aligned tables for people, --json for scripts; on
 * error the server's message and a non-zero exit (its gRPC status code).
 * Trust: an operator's tool; it can do what the admin socket allows.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "zap.h"
#include "admin_client.h"
#include "json.h"

#define DEFAULT_SOCKET "/run/kvmmu/admin.sock"

struct opts {
	const char *socket;
	const char *connect;
	int json;
	int timeout_ms;
	int discard;
	int window_us; /* -1: unchanged */
	const char *allones;
};

/*
 * --help prints this on stdout and exits 0; a bad argument prints it on
 * stderr and exits 2, before any channel is opened (mmuctl(1)).
 */
static void usage(FILE *out, int code)
{
	fprintf(out,
		"usage: mmuctl [--socket PATH | --connect HOST:PORT] [--json] "
		"[--timeout MS]\n"
		"              COMMAND [ARGS]\n"
		"       mmuctl --help\n"
		"Commands:\n"
		"  list                        VMs on the host, then those "
		"that ended and why\n"
		"  show VM                     one VM and its memory map\n"
		"  stats VM                    KVM and server statistics\n"
		"  zap-control VM MODE         MODE: all | memslot | keep\n"
		"      [--batch-window-us N] [--allones mmio|rom]\n"
		"  invalidate VM GPA SIZE      drop mappings [--discard: and "
		"data]\n"
		"  pause VM | resume VM | destroy VM\n"
		"  health                      is the server serving? and its "
		"RAM backing\n"
		"  host                        the server's host-wide "
		"settings\n"
		"Options:\n"
		"  --socket PATH               the admin socket (default %s)\n"
		"  --connect HOST:PORT         the admin API on loopback TCP "
		"instead\n"
		"  --json                      the reply as one JSON object\n"
		"  --timeout MS                give up after MS ms (default "
		"5000)\n"
		"  -h, --help                  this text\n"
		"VM is an id or a name.  Exit status: 0 done, 2 bad arguments, "
		"1 no\n"
		"channel to the server, else the call's gRPC status code (5 "
		"NOT_FOUND,\n"
		"...).  See mmuctl(1).\n",
		DEFAULT_SOCKET);
	exit(code);
}

static Kvmmu__Admin__V1__VmRef *vm_ref(const char *arg,
				       Kvmmu__Admin__V1__VmRef *ref)
{
	char *end;
	unsigned long id = strtoul(arg, &end, 10);

	kvmmu__admin__v1__vm_ref__init(ref);
	if (*arg != '\0' && *end == '\0') {
		ref->has_id = 1;
		ref->id = (uint32_t)id;
	} else {
		ref->name = (char *)arg;
	}
	return ref;
}

static uint64_t number(const char *s, const char *what)
{
	uint64_t v;

	if (num_parse(s, &v) < 0) {
		fprintf(stderr, "mmuctl: %s: '%s' is not a number\n", what, s);
		exit(2);
	}
	return v;
}

/* A number in lo..hi, else a usage error. */
static uint64_t in_range(const char *s, const char *what, uint64_t lo,
			 uint64_t hi)
{
	uint64_t v = number(s, what);

	if (v < lo || v > hi) {
		fprintf(stderr,
			"mmuctl: %s: %s not in %" PRIu64 "..%" PRIu64 "\n",
			what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void print_summary_header(void)
{
	printf("%-4s %-16s %-8s %5s %9s %-8s %-5s %6s %7s  %s\n", "ID", "NAME",
	       "STATE", "VCPUS", "RAM_MIB", "ZAP", "ONES", "UID", "PID",
	       "UUID");
}

static void print_summary(const Kvmmu__Admin__V1__VmSummary *s)
{
	printf("%-4u %-16s %-8s %5u %9" PRIu64 " %-8s %-5s %6u %7d  %s\n",
	       s->id, s->name ? s->name : "", s->state ? s->state : "",
	       s->vcpus, s->ram_bytes >> 20,
	       s->zap && s->zap->mode ? s->zap->mode : "",
	       s->zap && s->zap->allones ? s->zap->allones : "", s->owner_uid,
	       s->owner_pid, s->uuid ? s->uuid : "");
}

/* A VM that ended: its id, name, state (ended, destroyed) and why. */
static void print_gone(const Kvmmu__Admin__V1__VmSummary *s)
{
	printf("%-4u %-16s %-9s %s\n", s->id, s->name ? s->name : "",
	       s->state ? s->state : "", s->end_reason ? s->end_reason : "");
}

static int by_id(const void *a, const void *b)
{
	const Kvmmu__Admin__V1__VmSummary *x = *(void *const *)a;
	const Kvmmu__Admin__V1__VmSummary *y = *(void *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * The VMs that run, as before (scripts read the rows up to the first
 * empty line); then, after an empty line, those the server remembers
 * ending (ListVmsReply.ended and destroyed, the last 64 of each) by id,
 * the order they were created in.
 */
static void print_list(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__ListVmsReply *m = (const void *)r;
	size_t n = m->n_ended + m->n_destroyed;
	Kvmmu__Admin__V1__VmSummary **gone;

	print_summary_header();
	for (size_t i = 0; i < m->n_vms; i++)
		print_summary(m->vms[i]);
	if (n == 0)
		return;
	gone = calloc(n, sizeof(*gone));
	if (gone == NULL) {
		fprintf(stderr, "mmuctl: out of memory\n");
		return;
	}
	for (size_t i = 0; i < m->n_ended; i++)
		gone[i] = m->ended[i];
	for (size_t i = 0; i < m->n_destroyed; i++)
		gone[m->n_ended + i] = m->destroyed[i];
	qsort(gone, n, sizeof(*gone), by_id);
	printf("\nrecently ended:\n%-4s %-16s %-9s %s\n", "ID", "NAME", "STATE",
	       "END_REASON");
	for (size_t i = 0; i < n; i++)
		print_gone(gone[i]);
	free(gone);
}

static void print_zap_control(const char *what,
			      const Kvmmu__Admin__V1__ZapControl *z)
{
	if (z != NULL)
		printf("%s: mode=%s batch-window-us=%u allones=%s\n", what,
		       z->mode, z->batch_window_us, z->allones);
}

static void print_vm(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__GetVmReply *m = (const void *)r;

	print_summary_header();
	if (m->vm)
		print_summary(m->vm);
	if (m->vm)
		print_zap_control("zap control", m->vm->zap);
	if (m->vm && m->vm->ram_backing != NULL)
		printf("ram: backing %s; %" PRIu64 " of %" PRIu64
		       " MiB allocated, %" PRIu64 " MiB touched, %" PRIu64
		       " MiB of it in 2 MiB mappings\n",
		       m->vm->ram_backing, m->vm->ram_allocated_bytes >> 20,
		       m->vm->ram_bytes >> 20, m->vm->ram_resident_bytes >> 20,
		       m->vm->ram_huge_bytes >> 20);
	printf("\n%-12s %-8s %18s %12s %12s %5s %s\n", "REGION", "KIND", "GPA",
	       "SIZE", "OFFSET", "SLOT", "DIRTY_LOG");
	for (size_t i = 0; i < m->n_regions; i++) {
		const Kvmmu__Admin__V1__Region *g = m->regions[i];

		printf("%-12s %-8s %#18" PRIx64 " %#12" PRIx64 " %#12" PRIx64
		       " %5d %s\n",
		       g->name, g->kind, g->gpa, g->size, g->offset, g->slot,
		       g->dirty_log ? "yes" : "no");
	}
}

static void print_stats(const char *title, Kvmmu__Stat **s, size_t n)
{
	printf("%s\n", title);
	for (size_t i = 0; i < n; i++)
		printf("  %-32s %20" PRIu64 "\n", s[i]->name, s[i]->value);
}

static void print_all_stats(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__GetStatsReply *m = (const void *)r;
	char title[32];

	print_zap_control("zap control", m->zap);
	print_stats("VM (KVM):", m->vm, m->n_vm);
	for (size_t i = 0; i < m->n_vcpus; i++) {
		snprintf(title, sizeof(title),
			 "vCPU %u (KVM):", m->vcpus[i]->vcpu);
		print_stats(title, m->vcpus[i]->stats, m->vcpus[i]->n_stats);
	}
	print_stats("mmu-server:", m->server, m->n_server);
}

static void print_vm_reply(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__VmReply *m = (const void *)r;

	if (m->vm == NULL) {
		printf("destroyed\n");
		return;
	}
	print_summary_header();
	print_summary(m->vm);
}

static void print_zap(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__SetZapControlReply *m = (const void *)r;

	print_zap_control("zap control now", m->zap);
}

static void print_inval(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__InvalidateReply *m = (const void *)r;

	printf("done: %u call(s)\n", m->calls);
}

static void print_health(const ProtobufCMessage *r)
{
	const Grpc__Health__V1__HealthCheckResponse *m = (const void *)r;

	printf("%s\n", m->status == 1 ? "SERVING" : "NOT_SERVING");
}

static void print_host(const ProtobufCMessage *r)
{
	const Kvmmu__Admin__V1__GetHostReply *m = (const void *)r;

	printf("ram backing: %s\n", m->ram_backing_why);
}

/* One command: its method, request and table printer. */
struct cmd {
	const ProtobufCServiceDescriptor *c_sd;
	const char *c_method;
	ProtobufCMessage *c_req;
	void (*c_print)(const ProtobufCMessage *);
};

union requests {
	Kvmmu__Admin__V1__ListVmsRequest list;
	Kvmmu__Admin__V1__GetVmRequest get;
	Kvmmu__Admin__V1__GetStatsRequest stats;
	Kvmmu__Admin__V1__SetZapControlRequest zap;
	Kvmmu__Admin__V1__InvalidateRequest inval;
	Kvmmu__Admin__V1__VmRequest vm;
	Grpc__Health__V1__HealthCheckRequest health;
	Kvmmu__Admin__V1__GetHostRequest host;
};

struct cmd_state {
	union requests rq;
	Kvmmu__Admin__V1__VmRef ref;
	Kvmmu__Admin__V1__ZapControl zap;
};

static int want(int argc, int need)
{
	if (argc != need)
		usage(stderr, 2);
	return 0;
}

static void cmd_vm_op(struct cmd *c, struct cmd_state *st, const char *m,
		      char **argv)
{
	kvmmu__admin__v1__vm_request__init(&st->rq.vm);
	st->rq.vm.vm = vm_ref(argv[1], &st->ref);
	c->c_method = m;
	c->c_req = &st->rq.vm.base;
	c->c_print = print_vm_reply;
}

static void cmd_zap(struct cmd *c, struct cmd_state *st, char **argv,
		    const struct opts *o)
{
	kvmmu__admin__v1__set_zap_control_request__init(&st->rq.zap);
	kvmmu__admin__v1__zap_control__init(&st->zap);
	st->rq.zap.vm = vm_ref(argv[1], &st->ref);
	if (strcmp(argv[2], "keep") != 0 && zap_mode_parse(argv[2]) < 0) {
		fprintf(stderr,
			"mmuctl: MODE: '%s' is not all, memslot or "
			"keep\n",
			argv[2]);
		exit(2);
	}
	if (o->allones != NULL && zap_allones_parse(o->allones) < 0) {
		fprintf(stderr,
			"mmuctl: --allones: '%s' is neither mmio nor "
			"rom\n",
			o->allones);
		exit(2);
	}
	if (strcmp(argv[2], "keep") != 0)
		st->zap.mode = argv[2];
	if (o->window_us >= 0) {
		st->zap.has_batch_window_us = 1;
		st->zap.batch_window_us = (uint32_t)o->window_us;
	}
	st->zap.allones = (char *)o->allones;
	st->rq.zap.zap = &st->zap;
	c->c_method = "SetZapControl";
	c->c_req = &st->rq.zap.base;
	c->c_print = print_zap;
}

static void cmd_inval(struct cmd *c, struct cmd_state *st, char **argv,
		      const struct opts *o)
{
	kvmmu__admin__v1__invalidate_request__init(&st->rq.inval);
	st->rq.inval.vm = vm_ref(argv[1], &st->ref);
	st->rq.inval.has_gpa = st->rq.inval.has_size = 1;
	st->rq.inval.has_discard = 1;
	st->rq.inval.gpa = number(argv[2], "GPA");
	st->rq.inval.size = number(argv[3], "SIZE");
	st->rq.inval.discard = o->discard;
	c->c_method = "Invalidate";
	c->c_req = &st->rq.inval.base;
	c->c_print = print_inval;
}

static void cmd_parse(struct cmd *c, struct cmd_state *st, int argc,
		      char **argv, const struct opts *o)
{
	const char *name = argv[0];

	c->c_sd = &kvmmu__admin__v1__admin__descriptor;
	if (strcmp(name, "list") == 0 && !want(argc, 1)) {
		kvmmu__admin__v1__list_vms_request__init(&st->rq.list);
		*c = (struct cmd){c->c_sd, "ListVms", &st->rq.list.base,
				  print_list};
	} else if (strcmp(name, "show") == 0 && !want(argc, 2)) {
		kvmmu__admin__v1__get_vm_request__init(&st->rq.get);
		st->rq.get.vm = vm_ref(argv[1], &st->ref);
		*c = (struct cmd){c->c_sd, "GetVm", &st->rq.get.base, print_vm};
	} else if (strcmp(name, "stats") == 0 && !want(argc, 2)) {
		kvmmu__admin__v1__get_stats_request__init(&st->rq.stats);
		st->rq.stats.vm = vm_ref(argv[1], &st->ref);
		*c = (struct cmd){c->c_sd, "GetStats", &st->rq.stats.base,
				  print_all_stats};
	} else if (strcmp(name, "zap-control") == 0 && !want(argc, 3)) {
		cmd_zap(c, st, argv, o);
	} else if (strcmp(name, "invalidate") == 0 && !want(argc, 4)) {
		cmd_inval(c, st, argv, o);
	} else if (strcmp(name, "pause") == 0 && !want(argc, 2)) {
		cmd_vm_op(c, st, "PauseVm", argv);
	} else if (strcmp(name, "resume") == 0 && !want(argc, 2)) {
		cmd_vm_op(c, st, "ResumeVm", argv);
	} else if (strcmp(name, "destroy") == 0 && !want(argc, 2)) {
		cmd_vm_op(c, st, "DestroyVm", argv);
	} else if (strcmp(name, "host") == 0 && !want(argc, 1)) {
		kvmmu__admin__v1__get_host_request__init(&st->rq.host);
		*c = (struct cmd){c->c_sd, "GetHost", &st->rq.host.base,
				  print_host};
	} else if (strcmp(name, "health") == 0 && !want(argc, 1)) {
		grpc__health__v1__health_check_request__init(&st->rq.health);
		*c = (struct cmd){&grpc__health__v1__health__descriptor,
				  "Check", &st->rq.health.base, print_health};
	} else {
		usage(stderr, 2);
	}
}

/*
 * health, for people, also says what backs guest RAM: the first thing to
 * check when guests fault more than they should.  A server that predates
 * GetHost answers UNIMPLEMENTED: nothing more is printed.
 */
static void health_backing(struct admin_client *ac)
{
	Kvmmu__Admin__V1__GetHostRequest q =
		KVMMU__ADMIN__V1__GET_HOST_REQUEST__INIT;
	ProtobufCMessage *rep;

	if (admin_call(ac, &kvmmu__admin__v1__admin__descriptor, "GetHost",
		       &q.base, &rep) != GRPC_STATUS_OK)
		return;
	print_host(rep);
	protobuf_c_message_free_unpacked(rep, NULL);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"connect", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"discard", no_argument, NULL, 'd'},
		{"batch-window-us", required_argument, NULL, 'w'},
		{"allones", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	o->socket = DEFAULT_SOCKET;
	o->timeout_ms = 5000;
	o->window_us = -1;
	/* GNU getopt permutes: options may come before or after COMMAND. */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->connect = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 't':
			o->timeout_ms =
				(int)in_range(optarg, "--timeout", 1, INT_MAX);
			break;
		case 'd':
			o->discard = 1;
			break;
		case 'w':
			o->window_us =
				(int)in_range(optarg, "--batch-window-us", 0,
					      ZAP_MAX_WINDOW_US);
			break;
		case 'a':
			o->allones = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
}

int main(int argc, char **argv)
{
	struct admin_client ac;
	struct cmd_state st;
	struct opts o = {0};
	struct cmd c = {0};
	ProtobufCMessage *rep;
	grpc_status_code code;
	char target[256];
	int first, nargs;

	parse_opts(argc, argv, &o);
	first = optind;
	nargs = argc - first;
	if (nargs < 1)
		usage(stderr, 2);
	cmd_parse(&c, &st, nargs, argv + first, &o);
	if (o.connect)
		snprintf(target, sizeof(target), "%s", o.connect);
	else
		snprintf(target, sizeof(target), "unix:%s", o.socket);
	if (admin_client_open(&ac, target, o.timeout_ms) < 0) {
		fprintf(stderr, "mmuctl: cannot create a channel to %s\n",
			target);
		return 1;
	}
	code = admin_call(&ac, c.c_sd, c.c_method, c.c_req, &rep);
	if (code != GRPC_STATUS_OK) {
		fprintf(stderr, "mmuctl: %s: %s: %s\n", c.c_method,
			admin_status_name(code), ac.ac_msg);
		admin_client_close(&ac);
		return code > 0 && code < 100 ? (int)code : 1;
	}
	if (o.json) {
		json_print(stdout, rep);
		putchar('\n');
	} else {
		c.c_print(rep);
		if (c.c_print == print_health)
			health_backing(&ac);
	}
	protobuf_c_message_free_unpacked(rep, NULL);
	admin_client_close(&ac);
	return 0;
}
