/*
 * test_admin.c: every admin RPC through a real mmu-server's gRPC socket,
 * with every error status it can return: NOT_FOUND, INVALID_ARGUMENT,
 * FAILED_PRECONDITION, UNIMPLEMENTED for unknown methods (at once, not
 * at the deadline), DEADLINE_EXCEEDED; a method the server lacks and a
 * body meant for another method act on no VM; pause really stops the guest;
 * destroy really ends the frontend's VM; ListVms says how each VM that
 * ended went (the admin API's destroys among the destroyed, those a
 * frontend ended, with its reason, or left by closing its connection
 * among the ended); the socket is 0600 or 0660 for an admin group; TCP
 * is loopback only; shutdown with calls in flight is clean
 * (LeakSanitizer in the sanitizer build).
 * Trust: test code, run as root with /dev/kvm.
 */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "admin_client.h"
#include "boot.h"
#include "client.h"
#include "harness.h"

#define ADM(sd) (&kvmmu__admin__v1__##sd##__descriptor)

static struct srv srv;
static char admin_sock[160];
static struct admin_client ac;

/* Serves a guest's exits until its channel closes. */
static void *server_thread(void *arg)
{
	struct boot *b = arg;
	struct served sv = {0};

	while (serve_vcpu(b->b_chans[0], 100, &sv) != -EPIPE)
		;
	return NULL;
}

/* A frontend VM running memtouch for a long time, served by us. */
static void start_guest(struct client *cl, struct boot *b, const char *name,
			pthread_t *t)
{
	struct boot_spec bs = {.bs_name = name,
			       .bs_vcpus = 1,
			       .bs_ram = 32ULL << 20,
			       .bs_cmdline = "passes=100000000"};
	char err[300];

	CHECK(client_connect(cl, srv.s_sock) == 0 &&
		      test_boot(cl, b, &bs, "memtouch", err, sizeof(err)) ==
			      0 &&
		      client_vm_op(cl, b->b_vm, KVMMU__REQUEST__BODY_RUN) == 0,
	      "guest %s: %s", name, err);
	pthread_create(t, NULL, server_thread, b);
}

static grpc_status_code call(const char *method, const ProtobufCMessage *req,
			     ProtobufCMessage **rep)
{
	return admin_call(&ac, ADM(admin), method, req, rep);
}

static Kvmmu__Admin__V1__VmRef ref_id(uint32_t id)
{
	Kvmmu__Admin__V1__VmRef r = KVMMU__ADMIN__V1__VM_REF__INIT;

	r.has_id = 1;
	r.id = id;
	return r;
}

static uint64_t vcpu_stat(uint32_t id, const char *name)
{
	Kvmmu__Admin__V1__GetStatsRequest q =
		KVMMU__ADMIN__V1__GET_STATS_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	Kvmmu__Admin__V1__GetStatsReply *st;
	uint64_t v = ~0ULL;

	q.vm = &r;
	if (call("GetStats", &q.base, (ProtobufCMessage **)&st) != 0)
		return v;
	for (size_t i = 0; st->n_vcpus && i < st->vcpus[0]->n_stats; i++) {
		if (strcmp(st->vcpus[0]->stats[i]->name, name) == 0)
			v = st->vcpus[0]->stats[i]->value;
	}
	protobuf_c_message_free_unpacked(&st->base, NULL);
	return v;
}

static void test_list_show_stats(uint32_t id)
{
	Kvmmu__Admin__V1__ListVmsRequest lq =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__GetVmRequest gq =
		KVMMU__ADMIN__V1__GET_VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	Kvmmu__Admin__V1__ListVmsReply *l;
	Kvmmu__Admin__V1__GetVmReply *g;

	CHECK(call("ListVms", &lq.base, (ProtobufCMessage **)&l) == 0 &&
		      l->n_vms == 3,
	      "ListVms: %s", ac.ac_msg);
	if (l)
		protobuf_c_message_free_unpacked(&l->base, NULL);
	gq.vm = &r;
	CHECK(call("GetVm", &gq.base, (ProtobufCMessage **)&g) == 0, "GetVm");
	if (g) {
		CHECK(g->vm && strcmp(g->vm->name, "one") == 0 &&
			      strcmp(g->vm->state, "running") == 0 &&
			      g->vm->vcpus == 1 &&
			      g->vm->ram_bytes == (32ULL << 20) &&
			      strlen(g->vm->uuid) == 36 && g->vm->zap &&
			      strcmp(g->vm->zap->mode, "all") == 0 &&
			      g->vm->owner_pid == getpid(),
		      "GetVm summary");
		CHECK(g->n_regions == 1 &&
			      strcmp(g->regions[0]->kind, "ram") == 0,
		      "GetVm regions");
		protobuf_c_message_free_unpacked(&g->base, NULL);
	}
	CHECK(vcpu_stat(id, "pf_taken") > 1000, "GetStats: KVM stats");
}

static void expect(grpc_status_code want, const char *method,
		   const ProtobufCMessage *req, const char *text)
{
	ProtobufCMessage *rep;
	grpc_status_code got = call(method, req, &rep);

	CHECK(got == want && strstr(ac.ac_msg, text),
	      "%s: want %s '%s', got %s '%s'", method, admin_status_name(want),
	      text, admin_status_name(got), ac.ac_msg);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void test_errors(uint32_t id)
{
	Kvmmu__Admin__V1__GetVmRequest gq =
		KVMMU__ADMIN__V1__GET_VM_REQUEST__INIT;
	Kvmmu__Admin__V1__SetZapControlRequest zq =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REQUEST__INIT;
	Kvmmu__Admin__V1__InvalidateRequest iq =
		KVMMU__ADMIN__V1__INVALIDATE_REQUEST__INIT;
	Kvmmu__Admin__V1__ZapControl z = KVMMU__ADMIN__V1__ZAP_CONTROL__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(999), byname, good = ref_id(id);
	double t0;

	gq.vm = &r;
	expect(GRPC_STATUS_NOT_FOUND, "GetVm", &gq.base, "no VM with id 999");
	gq.vm = NULL;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "GetVm", &gq.base, "id or a name");
	byname = (Kvmmu__Admin__V1__VmRef)KVMMU__ADMIN__V1__VM_REF__INIT;
	byname.name = "twin";
	gq.vm = &byname;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "GetVm", &gq.base,
	       "used by 2 VMs");
	zq.vm = &good;
	zq.zap = &z;
	z.mode = "sometimes";
	expect(GRPC_STATUS_INVALID_ARGUMENT, "SetZapControl", &zq.base,
	       "neither");
	z.mode = NULL;
	z.allones = "zeros";
	expect(GRPC_STATUS_INVALID_ARGUMENT, "SetZapControl", &zq.base,
	       "zap.allones");
	z.allones = NULL;
	z.has_batch_window_us = 1;
	z.batch_window_us = 5000000;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "SetZapControl", &zq.base,
	       "exceeds");
	z.has_batch_window_us = 0;
	z.mode = "memslot";
	expect(GRPC_STATUS_OK, "SetZapControl", &zq.base, "");
	z.mode = "all";
	expect(GRPC_STATUS_FAILED_PRECONDITION, "SetZapControl", &zq.base,
	       "restart");
	iq.vm = &good;
	iq.has_gpa = iq.has_size = 1;
	iq.gpa = 0x1001;
	iq.size = 0x1000;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "Invalidate", &iq.base,
	       "page-aligned");
	iq.gpa = 1ULL << 33;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "Invalidate", &iq.base,
	       "not guest RAM");
	iq.gpa = 4 << 20;
	expect(GRPC_STATUS_OK, "Invalidate", &iq.base, "");
	t0 = mono_ns() / 1e9;
	CHECK(admin_call_raw(&ac, "/kvmmu.admin.v1.Admin/Reboot") ==
			      GRPC_STATUS_UNIMPLEMENTED &&
		      mono_ns() / 1e9 - t0 < 1.0,
	      "unknown method: UNIMPLEMENTED at once (%.3f s)",
	      mono_ns() / 1e9 - t0);
	ac.ac_timeout_ms = -1000; /* a deadline already past */
	CHECK(admin_call_raw(&ac, "/kvmmu.admin.v1.Admin/ListVms") ==
		      GRPC_STATUS_DEADLINE_EXCEEDED,
	      "an expired deadline is honoured: %s", ac.ac_msg);
	ac.ac_timeout_ms = 5000;
}

static void test_health(void)
{
	Grpc__Health__V1__HealthCheckRequest q =
		GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *h;

	CHECK(admin_call(&ac, &grpc__health__v1__health__descriptor, "Check",
			 &q.base, (ProtobufCMessage **)&h) == 0 &&
		      h->status == 1,
	      "Health: SERVING");
	if (h)
		protobuf_c_message_free_unpacked(&h->base, NULL);
	q.service = "no.such.Service";
	CHECK(admin_call(&ac, &grpc__health__v1__health__descriptor, "Check",
			 &q.base,
			 (ProtobufCMessage **)&h) == GRPC_STATUS_NOT_FOUND,
	      "Health of an unknown service: NOT_FOUND");
}

static void vm_op(const char *method, uint32_t id, const char *state)
{
	Kvmmu__Admin__V1__VmRequest q = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	Kvmmu__Admin__V1__VmReply *rep;

	q.vm = &r;
	CHECK(call(method, &q.base, (ProtobufCMessage **)&rep) == 0 &&
		      (state ? rep->vm && strcmp(rep->vm->state, state) == 0
			     : rep->vm == NULL),
	      "%s -> %s", method, state ? state : "gone");
	if (rep)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/*
 * Pause: the guest makes no progress; resume: it does again.  A VM its
 * frontend stopped cannot be paused (FAILED_PRECONDITION).
 */
static void test_pause(struct client *cl, uint32_t id)
{
	Kvmmu__Admin__V1__VmRequest q = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	uint64_t a, b;

	vm_op("PauseVm", id, "paused");
	a = vcpu_stat(id, "exits");
	usleep(200000);
	b = vcpu_stat(id, "exits");
	CHECK(a == b, "paused: no exits (%llu -> %llu)", (unsigned long long)a,
	      (unsigned long long)b);
	vm_op("ResumeVm", id, "running");
	usleep(200000);
	CHECK(vcpu_stat(id, "exits") > b, "resumed: the guest runs again");
	q.vm = &r;
	CHECK(client_vm_op(cl, id, KVMMU__REQUEST__BODY_STOP) == 0,
	      "the frontend stops its VM: %s", cl->cl_err);
	expect(GRPC_STATUS_FAILED_PRECONDITION, "PauseVm", &q.base,
	       "not running");
	CHECK(client_vm_op(cl, id, KVMMU__REQUEST__BODY_RUN) == 0,
	      "and runs it again: %s", cl->cl_err);
}

/* VM id is listed, running, and its guest makes progress. */
static bool still_runs(uint32_t id)
{
	Kvmmu__Admin__V1__GetVmRequest gq =
		KVMMU__ADMIN__V1__GET_VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	Kvmmu__Admin__V1__GetVmReply *g;
	bool running;
	uint64_t a;

	gq.vm = &r;
	if (call("GetVm", &gq.base, (ProtobufCMessage **)&g) != 0)
		return false;
	running = g->vm && strcmp(g->vm->state, "running") == 0;
	protobuf_c_message_free_unpacked(&g->base, NULL);
	a = vcpu_stat(id, "exits");
	usleep(100000);
	return running && vcpu_stat(id, "exits") > a;
}

/*
 * The hole of issue 19: a method the server does not have, and a body
 * meant for another method, named VM id.  Each gets an error and no
 * handler: the VM still runs.  Before the method table, a method added
 * to admin.proto ran as a cast VmRequest, and DestroyVm acted on any
 * body whose field 1 named a VM.
 */
static void test_no_action_without_method(uint32_t id)
{
	static const ProtobufCMethodDescriptor unknown[] = {
		{"RebootVm", &kvmmu__admin__v1__vm_request__descriptor,
		 &kvmmu__admin__v1__vm_reply__descriptor},
		{"destroyvm", &kvmmu__admin__v1__vm_request__descriptor,
		 &kvmmu__admin__v1__vm_reply__descriptor},
	};
	ProtobufCServiceDescriptor newer = kvmmu__admin__v1__admin__descriptor;
	Kvmmu__Admin__V1__VmRequest vq = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__InvalidateRequest iq =
		KVMMU__ADMIN__V1__INVALIDATE_REQUEST__INIT;
	Kvmmu__Admin__V1__SetZapControlRequest zq =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REQUEST__INIT;
	Kvmmu__Admin__V1__ZapControl z = KVMMU__ADMIN__V1__ZAP_CONTROL__INIT;
	Kvmmu__Admin__V1__VmRef r = ref_id(id);
	ProtobufCMessage *rep;

	/* A newer admin.proto's client: methods this server lacks. */
	newer.n_methods = 2;
	newer.methods = unknown;
	vq.vm = &r;
	for (unsigned i = 0; i < newer.n_methods; i++) {
		grpc_status_code got = admin_call(&ac, &newer, unknown[i].name,
						  &vq.base, &rep);

		CHECK(got == GRPC_STATUS_UNIMPLEMENTED &&
			      strstr(ac.ac_msg, unknown[i].name),
		      "%s naming VM %u: UNIMPLEMENTED, got %s '%s'",
		      unknown[i].name, id, admin_status_name(got), ac.ac_msg);
		if (rep)
			protobuf_c_message_free_unpacked(rep, NULL);
	}
	/* Other methods' requests, naming the VM, sent as DestroyVm. */
	iq.vm = &r;
	iq.has_gpa = iq.has_size = 1;
	iq.gpa = 4 << 20;
	iq.size = 1 << 20;
	expect(GRPC_STATUS_INVALID_ARGUMENT, "DestroyVm", &iq.base,
	       "field 2 is not in kvmmu.admin.v1.VmRequest");
	zq.vm = &r;
	zq.zap = &z;
	z.mode = "all";
	expect(GRPC_STATUS_INVALID_ARGUMENT, "DestroyVm", &zq.base,
	       "field 2 is not in kvmmu.admin.v1.VmRequest");
	expect(GRPC_STATUS_INVALID_ARGUMENT, "PauseVm", &iq.base,
	       "field 2 is not in");
	CHECK(still_runs(id), "VM %u still runs after all of them", id);
}

/*
 * DestroyVm ends the VM, and ListVms remembers it among the destroyed
 * (ListVmsReply.destroyed): a manager whose frontend then ends, such as
 * kvmmu-virtd, tells an operator's destroy from the guest's own end.
 */
static void test_destroy(struct client *cl, struct boot *b, pthread_t t)
{
	Kvmmu__Admin__V1__ListVmsRequest lq =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__ListVmsReply *l = NULL;
	Kvmmu__Reply *rep;
	struct served sv = {0};
	bool listed = false, remembered = false;

	vm_op("DestroyVm", b->b_vm, NULL);
	CHECK(client_get_stats(cl, b->b_vm, &rep) == -ENOENT,
	      "the frontend's VM is gone: %s", cl->cl_err);
	CHECK(call("ListVms", &lq.base, (ProtobufCMessage **)&l) == 0,
	      "ListVms after DestroyVm: %s", ac.ac_msg);
	for (size_t i = 0; l != NULL && i < l->n_vms; i++)
		listed |= l->vms[i]->id == b->b_vm;
	for (size_t i = 0; l != NULL && i < l->n_destroyed; i++)
		remembered |=
			l->destroyed[i]->id == b->b_vm &&
			strcmp(l->destroyed[i]->name, "twin") == 0 &&
			strcmp(l->destroyed[i]->state, "destroyed") == 0 &&
			l->destroyed[i]->owner_pid == getpid();
	CHECK(!listed && remembered,
	      "ListVms: VM %u no longer runs and is among the destroyed",
	      b->b_vm);
	if (l != NULL)
		protobuf_c_message_free_unpacked(&l->base, NULL);
	/* Its server thread sees the vCPU channel close and ends. */
	CHECK(pthread_join(t, NULL) == 0, "the vCPU channel closed");
	(void)sv;
}

/* Where ListVms has VM id: "vms", "destroyed", "ended" or NULL. */
struct where {
	const char *w_list;
	int w_count; /* lists it is in */
	char w_state[16];
	char w_why[400];
};

static bool listed(uint32_t id, struct where *w)
{
	Kvmmu__Admin__V1__ListVmsRequest lq =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__ListVmsReply *l;
	struct {
		const char *name;
		size_t n;
		Kvmmu__Admin__V1__VmSummary **s;
	} lists[3];

	memset(w, 0, sizeof(*w));
	if (call("ListVms", &lq.base, (ProtobufCMessage **)&l) != 0)
		return false;
	lists[0].name = "vms", lists[0].n = l->n_vms, lists[0].s = l->vms;
	lists[1].name = "destroyed", lists[1].n = l->n_destroyed;
	lists[1].s = l->destroyed;
	lists[2].name = "ended", lists[2].n = l->n_ended, lists[2].s = l->ended;
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < lists[k].n; i++) {
			const Kvmmu__Admin__V1__VmSummary *s = lists[k].s[i];

			if (s->id != id)
				continue;
			w->w_list = lists[k].name;
			w->w_count++;
			snprintf(w->w_state, sizeof(w->w_state), "%s",
				 s->state ? s->state : "");
			snprintf(w->w_why, sizeof(w->w_why), "%s",
				 s->end_reason ? s->end_reason : "(none)");
		}
	}
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return true;
}

/* VM id is in list alone, in state, with why as its end_reason. */
static void expect_listed(uint32_t id, const char *list, const char *state,
			  const char *why)
{
	struct where w;

	/* A closed connection is seen by the server's loop, not by us. */
	for (int i = 0; i < 100; i++) {
		if (listed(id, &w) && w.w_list && strcmp(w.w_list, list) == 0)
			break;
		usleep(20000);
	}
	CHECK(w.w_count == 1 && strcmp(w.w_list, list) == 0 &&
		      strcmp(w.w_state, state) == 0 &&
		      strcmp(w.w_why, why) == 0,
	      "ListVms: VM %u only in %s, %s, '%s' (got %d list(s), last %s, "
	      "%s, '%s')",
	      id, list, state, why, w.w_count, w.w_list ? w.w_list : "none",
	      w.w_state, w.w_why);
}

/*
 * Every way a VM ends is named in ListVms: its frontend's DestroyVm with
 * a reason and without, and its connection closing, among the ended; a
 * bad reason is refused before anything acts, the VM running on; the
 * admin API's destroy of "twin" (test_destroy) stays among the
 * destroyed only, which kvmmu-virtd relies on.
 */
static void test_ended(uint32_t destroyed)
{
	static const char why[] = "vda: its back end (qemu-storage-daemon "
				  "pid 42, image /srv/a.img) killed by "
				  "signal 9 (Killed)";
	struct client cl[3];
	struct boot b[3];
	pthread_t t[3];

	start_guest(&cl[0], &b[0], "says-why", &t[0]);
	start_guest(&cl[1], &b[1], "says-nothing", &t[1]);
	start_guest(&cl[2], &b[2], "drops", &t[2]);
	CHECK(client_destroy_vm(&cl[0], b[0].b_vm, "powered\noff") == -EINVAL &&
		      strstr(cl[0].cl_err, "DestroyVm.reason"),
	      "a reason with a newline: EINVAL naming the field (%s)",
	      cl[0].cl_err);
	CHECK(client_destroy_vm(&cl[0], b[0].b_vm, "\xe2\x80\xae") == -EINVAL,
	      "a right-to-left override: EINVAL (%s)", cl[0].cl_err);
	CHECK(still_runs(b[0].b_vm), "VM %u runs on after both", b[0].b_vm);
	CHECK(client_destroy_vm(&cl[0], b[0].b_vm, why) == 0,
	      "DestroyVm with a reason: %s", cl[0].cl_err);
	CHECK(client_destroy_vm(&cl[1], b[1].b_vm, NULL) == 0,
	      "DestroyVm without one: %s", cl[1].cl_err);
	client_close(&cl[2]);
	expect_listed(b[0].b_vm, "ended", "ended",
		      "ended by its frontend: vda: its back end "
		      "(qemu-storage-daemon pid 42, image /srv/a.img) killed "
		      "by signal 9 (Killed)");
	expect_listed(b[1].b_vm, "ended", "ended", "ended by its frontend");
	expect_listed(b[2].b_vm, "ended", "ended",
		      "its frontend's connection closed");
	expect_listed(destroyed, "destroyed", "destroyed",
		      "destroyed through the admin API");
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		boot_release(&b[i]);
	}
	client_close(&cl[0]);
	client_close(&cl[1]);
}

static void test_socket_modes(void)
{
	const char *args[] = {"--admin-socket", NULL, "--admin-group",
			      "nogroup", NULL};
	char path[200];
	struct stat st;
	struct srv s2;
	int status;

	CHECK(stat(admin_sock, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "admin socket is 0600 by default (%o)", st.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/admin2.sock", srv.s_dir);
	args[1] = path;
	CHECK(srv_start(&s2, args) == 0, "server with --admin-group");
	/*
	 * The admin socket comes after the RPC socket, born 0600, then given
	 * to the group; emulated CPUs (deploy/vm/run) take their time.
	 */
	for (int i = 0; i < 500; i++) {
		if (stat(path, &st) == 0 && (st.st_mode & 0777) == 0660)
			break;
		usleep(20000);
	}
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660 &&
		      st.st_gid == getgrnam("nogroup")->gr_gid,
	      "0660 for the admin group (%o)", st.st_mode & 0777);
	CHECK(srv_stop(&s2) == 0, "second server exits cleanly");
	if (fork() == 0) {
		execl(bin_path("mmu-server"), "mmu-server", "-d", "--socket",
		      "/nonexistent/x", "--admin-listen", "0.0.0.0:50051",
		      (char *)NULL);
		_exit(127);
	}
	wait(&status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2,
	      "--admin-listen refuses a non-loopback address");
	/* Another server may not take over a live server's admin socket. */
	snprintf(path, sizeof(path), "%s/other.sock", srv.s_dir);
	if (fork() == 0) {
		execl(bin_path("mmu-server"), "mmu-server", "-d", "--socket",
		      path, "--admin-socket", admin_sock, (char *)NULL);
		_exit(127);
	}
	wait(&status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	      "a second server refuses a live admin socket (%d)", status);
	test_health(); /* and the first one still answers on it */
}

/* SIGTERM while a client hammers the API: the server exits 0. */
static void test_shutdown_in_flight(void)
{
	const char *args[] = {"--admin-socket", NULL, NULL};
	char path[200], target[220];
	struct srv s3;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/admin3.sock", srv.s_dir);
	snprintf(target, sizeof(target), "unix:%s", path);
	args[1] = path;
	CHECK(srv_start(&s3, args) == 0, "server for the shutdown test");
	usleep(100000);
	pid = fork();
	if (pid == 0) {
		struct admin_client c;
		Kvmmu__Admin__V1__ListVmsRequest q =
			KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
		ProtobufCMessage *r;

		admin_client_open(&c, target, 2000);
		for (;;) {
			if (admin_call(&c, ADM(admin), "ListVms", &q.base,
				       &r) == 0)
				protobuf_c_message_free_unpacked(r, NULL);
		}
	}
	usleep(300000);
	CHECK(srv_stop(&s3) == 0,
	      "SIGTERM with calls in flight: clean exit, no leak");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	/* pf_taken > 1000 below counts 4 KiB faults (kvm.backing: huge). */
	const char *args[] = {"--admin-socket", admin_sock, "--ram-backing",
			      "4k", NULL};
	struct client c1, c2, c3;
	struct boot b1, b2, b3;
	pthread_t t1, t2, t3;
	char target[200];

	require_kvm("test_admin");
	snprintf(admin_sock, sizeof(admin_sock), "/tmp/kvmmu-admin-%d.sock",
		 (int)getpid());
	CHECK(srv_start(&srv, args) == 0, "server start");
	usleep(200000);
	snprintf(target, sizeof(target), "unix:%s", admin_sock);
	CHECK(admin_client_open(&ac, target, 5000) == 0, "channel");
	start_guest(&c1, &b1, "one", &t1);
	start_guest(&c2, &b2, "twin", &t2);
	start_guest(&c3, &b3, "twin", &t3);
	usleep(300000);
	test_list_show_stats(b1.b_vm);
	test_errors(b1.b_vm);
	test_health();
	test_pause(&c1, b1.b_vm);
	test_no_action_without_method(b1.b_vm);
	test_destroy(&c2, &b2, t2);
	test_ended(b2.b_vm);
	test_socket_modes();
	test_shutdown_in_flight();
	admin_client_close(&ac);
	client_vm_op(&c1, b1.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM);
	client_vm_op(&c3, b3.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM);
	pthread_join(t1, NULL);
	pthread_join(t3, NULL);
	boot_release(&b1);
	boot_release(&b2);
	boot_release(&b3);
	client_close(&c1);
	client_close(&c2);
	client_close(&c3);
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	unlink(admin_sock);
	return checks_report("test_admin");
}
