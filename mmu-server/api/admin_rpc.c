/*
 * admin_rpc.c: the admin API's handlers, one per row of admin_methods.h,
 * and admin_dispatch, which takes a call through its row: decoded as
 * the row's request type (admin_decode), validated field by field
 * (validate.c), then handled.  It runs on the event loop's thread
 * (transport/admin.c forwards every call there), so the handlers may
 * read and change VMs like rpc.c does.  Errors carry gRPC's status codes
 * (admin_rpc.h): NOT_FOUND for an unknown VM, INVALID_ARGUMENT for a bad
 * field, FAILED_PRECONDITION for a change the VM's state forbids
 * (memslot -> all on a live VM).
 * Trust: callers are operators, but every field is still checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_methods.h"
#include "admin_rpc.h"
#include "inval.h"
#include "log.h"
#include "ram.h"
#include "rpc.h"
#include "server.h"
#include "validate.h"
#include "vmstats.h"
#include "zap.h"

/* One call on its way through its row. */
struct admin_ctx {
	struct server *c_srv;
	const struct admin_method *c_method;
	struct admin_result *c_res;
	char c_vm[KVMMU_NAME_MAX + 24]; /* " vm ID 'NAME'", once found */
};

static enum admin_status fail(struct admin_ctx *c, enum admin_status code,
			      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum admin_status fail(struct admin_ctx *c, enum admin_status code,
			      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->c_res->ar_msg, sizeof(c->c_res->ar_msg), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Packs the reply.  It must be the row's reply type: a handler that
 * answers with another message is a bug, refused rather than sent.
 */
static enum admin_status reply(struct admin_ctx *c, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;

	if (strcmp(m->descriptor->c_name, c->c_method->am_reply) != 0)
		return fail(c, ADMIN_INTERNAL, "%s: replied with a %s",
			    c->c_method->am_path, m->descriptor->c_name);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return fail(c, ADMIN_RESOURCE_EXHAUSTED, "out of memory");
	protobuf_c_message_pack(m, buf);
	c->c_res->ar_reply = buf;
	c->c_res->ar_len = len;
	return ADMIN_OK;
}

static void zap_out(const struct zap_policy *zp,
		    Kvmmu__Admin__V1__ZapControl *z)
{
	kvmmu__admin__v1__zap_control__init(z);
	z->mode = (char *)zap_mode_name(zp->zp_mode);
	z->has_batch_window_us = 1;
	z->batch_window_us = zp->zp_window_us;
	z->allones = (char *)zap_allones_name(zp->zp_allones);
}

static const char *vm_state(struct vm *vm)
{
	switch (vm_get_state(vm)) {
	case VM_PAUSED:
		return "paused";
	case VM_RUNNING:
		return "running";
	default:
		return "stopped";
	}
}

static void summary(struct vm *vm, Kvmmu__Admin__V1__VmSummary *s,
		    Kvmmu__Admin__V1__ZapControl *z)
{
	kvmmu__admin__v1__vm_summary__init(s);
	s->has_id = s->has_owner_uid = s->has_owner_pid = 1;
	s->has_vcpus = s->has_ram_bytes = 1;
	s->id = vm->vm_id;
	s->name = (char *)vm->vm_name;
	s->uuid = (char *)vm->vm_uuid;
	s->owner_uid = vm->vm_owner->o_uid;
	s->owner_pid = vm->vm_client_pid;
	s->state = (char *)vm_state(vm);
	s->vcpus = vm->vm_nvcpus;
	s->ram_bytes = vm->vm_ram_bytes;
	s->ram_backing = (char *)ram_backing_name(vm->vm_ram_backing);
	zap_out(&vm->vm_zap, z);
	s->zap = z;
}

/*
 * The VM a VmRef names (validate.c saw an id or a name): by id, else by
 * a name that must be unique.  NULL with c's status and message set.
 */
static struct vm *find_vm(struct admin_ctx *c,
			  const Kvmmu__Admin__V1__VmRef *ref,
			  enum admin_status *code)
{
	struct vm *vm, *hit = NULL;
	unsigned n = 0;

	TAILQ_FOREACH(vm, &c->c_srv->s_vms, vm_entry)
	{
		if (ref->has_id ? vm->vm_id == ref->id
				: strcmp(vm->vm_name, ref->name) == 0) {
			hit = vm;
			n++;
		}
	}
	if (n > 1) {
		*code = fail(c, ADMIN_INVALID_ARGUMENT,
			     "vm: name '%s' is used by %u VMs; give the id",
			     ref->name, n);
		return NULL;
	}
	if (hit == NULL && ref->has_id)
		*code = fail(c, ADMIN_NOT_FOUND, "vm: no VM with id %u",
			     ref->id);
	else if (hit == NULL)
		*code = fail(c, ADMIN_NOT_FOUND, "vm: no VM named '%s'",
			     ref->name);
	else
		snprintf(c->c_vm, sizeof(c->c_vm), " vm %u '%s'", hit->vm_id,
			 hit->vm_name);
	return hit;
}

/* A VM that ended (rpc.c kept it), in state "destroyed" or "ended". */
static void gone_summary(const struct vm_gone *g, const char *state,
			 Kvmmu__Admin__V1__VmSummary *s)
{
	kvmmu__admin__v1__vm_summary__init(s);
	s->has_id = s->has_owner_uid = s->has_owner_pid = 1;
	s->has_vcpus = s->has_ram_bytes = 1;
	s->id = g->vg_id;
	s->name = (char *)g->vg_name;
	s->uuid = (char *)g->vg_uuid;
	s->owner_uid = g->vg_uid;
	s->owner_pid = g->vg_pid;
	s->state = (char *)state;
	s->vcpus = g->vg_vcpus;
	s->ram_bytes = g->vg_ram_bytes;
	s->end_reason = (char *)g->vg_why;
}

/* How many VMs ring holds. */
static size_t ring_len(const struct vm_ring *ring)
{
	return ring->vr_n < SRV_GONE_KEPT ? (size_t)ring->vr_n : SRV_GONE_KEPT;
}

/* ring's VMs, oldest first, into s[] and ptrs[]; how many. */
static size_t ring_out(const struct vm_ring *ring, const char *state,
		       Kvmmu__Admin__V1__VmSummary *s,
		       Kvmmu__Admin__V1__VmSummary **ptrs)
{
	size_t n = ring_len(ring);
	uint64_t first = ring->vr_n - n;

	for (size_t i = 0; i < n; i++) {
		gone_summary(&ring->vr_vms[(first + i) % SRV_GONE_KEPT], state,
			     &s[i]);
		ptrs[i] = &s[i];
	}
	return n;
}

/* The handlers, one per row; admin_dispatch calls them validated. */
#define ADMIN_HANDLER_DECL(path, stem, Req, Reply, effect)                     \
	static enum admin_status admin_##stem(struct admin_ctx *c,             \
					      const Req *m);
KVMMU_ADMIN_METHODS(ADMIN_HANDLER_DECL)

static enum admin_status
admin_list_vms(struct admin_ctx *c, const Kvmmu__Admin__V1__ListVmsRequest *m)
{
	Kvmmu__Admin__V1__ListVmsReply rep =
		KVMMU__ADMIN__V1__LIST_VMS_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary *s, **ptrs;
	Kvmmu__Admin__V1__ZapControl *z;
	struct server *srv = c->c_srv;
	enum admin_status code;
	size_t n = 0, ngone;
	struct vm *vm;

	(void)m; /* no fields */
	ngone = ring_len(&srv->s_destroyed) + ring_len(&srv->s_ended);
	TAILQ_FOREACH(vm, &srv->s_vms, vm_entry)
	n++;
	s = calloc(n + ngone + 1, sizeof(*s));
	z = calloc(n + 1, sizeof(*z));
	ptrs = calloc(n + ngone + 1, sizeof(*ptrs));
	if (s == NULL || z == NULL || ptrs == NULL) {
		free(s);
		free(z);
		free(ptrs);
		return fail(c, ADMIN_RESOURCE_EXHAUSTED, "out of memory");
	}
	n = 0;
	TAILQ_FOREACH(vm, &srv->s_vms, vm_entry)
	{
		summary(vm, &s[n], &z[n]);
		ptrs[n] = &s[n];
		n++;
	}
	rep.n_vms = n;
	rep.vms = ptrs;
	rep.destroyed = ptrs + n;
	rep.n_destroyed =
		ring_out(&srv->s_destroyed, "destroyed", s + n, ptrs + n);
	n += rep.n_destroyed;
	rep.ended = ptrs + n;
	rep.n_ended = ring_out(&srv->s_ended, "ended", s + n, ptrs + n);
	code = reply(c, &rep.base);
	free(s);
	free(z);
	free(ptrs);
	return code;
}

static const char *const kind_names[] = {
	[RK_RAM] = "ram",
	[RK_ROM] = "rom",
	[RK_MMIO] = "mmio",
	[RK_ALLONES] = "allones",
};

/*
 * How much of the VM's RAM is in huge pages now: smaps of our mapping,
 * the kernel's own count, and the mapping KVM reads its level from
 * (pagemap and kpageflags would say it per page, but need
 * CAP_SYS_ADMIN for the frame numbers, which the hardened unit lacks).
 * Left out when smaps cannot be read.
 */
static void ram_out(struct vm *vm, Kvmmu__Admin__V1__VmSummary *s)
{
	struct ram_usage u;

	if (ram_usage(vm->vm_ram, vm->vm_ram_fd, &u) < 0)
		return;
	s->has_ram_huge_bytes = s->has_ram_resident_bytes = 1;
	s->has_ram_allocated_bytes = 1;
	s->ram_huge_bytes = u.ru_huge;
	s->ram_resident_bytes = u.ru_rss;
	s->ram_allocated_bytes = u.ru_alloc;
}

static enum admin_status admin_get_vm(struct admin_ctx *c,
				      const Kvmmu__Admin__V1__GetVmRequest *m)
{
	Kvmmu__Admin__V1__GetVmReply rep = KVMMU__ADMIN__V1__GET_VM_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary s;
	Kvmmu__Admin__V1__ZapControl z;
	Kvmmu__Admin__V1__Region *r, **ptrs;
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);
	size_t n;

	if (vm == NULL)
		return code;
	n = vm->vm_map.mm_n;
	r = calloc(n + 1, sizeof(*r));
	ptrs = calloc(n + 1, sizeof(*ptrs));
	if (r == NULL || ptrs == NULL) {
		free(r);
		free(ptrs);
		return fail(c, ADMIN_RESOURCE_EXHAUSTED, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const struct region *g = &vm->vm_map.mm_regions[i];

		kvmmu__admin__v1__region__init(&r[i]);
		r[i].name = (char *)g->r_name;
		r[i].kind = (char *)kind_names[g->r_kind];
		r[i].has_gpa = r[i].has_size = r[i].has_offset = 1;
		r[i].has_slot = r[i].has_dirty_log = 1;
		r[i].gpa = g->r_gpa;
		r[i].size = g->r_size;
		r[i].offset = g->r_offset;
		r[i].slot = g->r_slot;
		r[i].dirty_log = g->r_dirty_log;
		ptrs[i] = &r[i];
	}
	summary(vm, &s, &z);
	ram_out(vm, &s);
	rep.vm = &s;
	rep.n_regions = n;
	rep.regions = ptrs;
	code = reply(c, &rep.base);
	free(r);
	free(ptrs);
	return code;
}

/*
 * GetStatsReply carries the data plane's Stat and VcpuStats (admin.proto
 * imports them): the StatsReply's lists go out as they are.
 */
static enum admin_status
admin_get_stats(struct admin_ctx *c, const Kvmmu__Admin__V1__GetStatsRequest *m)
{
	Kvmmu__Admin__V1__GetStatsReply rep =
		KVMMU__ADMIN__V1__GET_STATS_REPLY__INIT;
	Kvmmu__StatsReply st = KVMMU__STATS_REPLY__INIT;
	Kvmmu__Admin__V1__ZapControl z;
	struct stats_reply sr = {0};
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	if (stats_reply_build(&sr, vm, &st) < 0) {
		code = fail(c, ADMIN_INTERNAL, "reading KVM stats failed");
	} else {
		rep.n_vm = st.n_vm;
		rep.vm = st.vm;
		rep.n_vcpus = st.n_vcpus;
		rep.vcpus = st.vcpus;
		rep.n_server = st.n_server;
		rep.server = st.server;
		zap_out(&vm->vm_zap, &z);
		rep.zap = &z;
		code = reply(c, &rep.base);
	}
	stats_reply_free(&sr, vm->vm_nvcpus);
	return code;
}

/* validate.c checked the names: only the fields given change. */
static void zap_in(const Kvmmu__Admin__V1__ZapControl *z, struct zap_policy *zp)
{
	if (z->mode != NULL)
		zp->zp_mode = (enum zap_mode)zap_mode_parse(z->mode);
	if (z->allones != NULL)
		zp->zp_allones =
			(enum allones_policy)zap_allones_parse(z->allones);
	if (z->has_batch_window_us)
		zp->zp_window_us = z->batch_window_us;
}

static enum admin_status
admin_set_zap_control(struct admin_ctx *c,
		      const Kvmmu__Admin__V1__SetZapControlRequest *m)
{
	Kvmmu__Admin__V1__SetZapControlReply rep =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REPLY__INIT;
	Kvmmu__Admin__V1__ZapControl z;
	struct zap_policy zp;
	struct verr e;
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	zp = vm->vm_zap;
	zap_in(m->zap, &zp);
	if (vm_set_zap(vm, &zp, &e) < 0)
		return fail(c, ADMIN_FAILED_PRECONDITION, "%s", e.msg);
	zap_out(&vm->vm_zap, &z);
	rep.zap = &z;
	return reply(c, &rep.base);
}

static enum admin_status
admin_invalidate(struct admin_ctx *c,
		 const Kvmmu__Admin__V1__InvalidateRequest *m)
{
	Kvmmu__Admin__V1__InvalidateReply rep =
		KVMMU__ADMIN__V1__INVALIDATE_REPLY__INIT;
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);
	unsigned calls = 0;
	struct verr e;

	if (vm == NULL)
		return code;
	if (inval_now(vm, m->gpa, m->size, m->has_discard && m->discard, &calls,
		      &e) < 0)
		return fail(c, ADMIN_INVALID_ARGUMENT, "%s", e.msg);
	rep.has_calls = 1;
	rep.calls = calls;
	return reply(c, &rep.base);
}

/* A VmReply with the VM as it is now. */
static enum admin_status vm_reply(struct admin_ctx *c, struct vm *vm)
{
	Kvmmu__Admin__V1__VmReply rep = KVMMU__ADMIN__V1__VM_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary s;
	Kvmmu__Admin__V1__ZapControl z;

	summary(vm, &s, &z);
	rep.vm = &s;
	return reply(c, &rep.base);
}

/* Returns once no vCPU is in KVM_RUN. */
static enum admin_status admin_pause_vm(struct admin_ctx *c,
					const Kvmmu__Admin__V1__VmRequest *m)
{
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	if (vm_admin_pause(vm) < 0)
		return fail(c, ADMIN_FAILED_PRECONDITION,
			    "vm %u: not running (its frontend has not run it, "
			    "or stopped it)",
			    vm->vm_id);
	return vm_reply(c, vm);
}

static enum admin_status admin_resume_vm(struct admin_ctx *c,
					 const Kvmmu__Admin__V1__VmRequest *m)
{
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	vm_admin_resume(vm);
	return vm_reply(c, vm);
}

/* The frontend's own teardown (rpc.c); the reply names no VM. */
static enum admin_status admin_destroy_vm(struct admin_ctx *c,
					  const Kvmmu__Admin__V1__VmRequest *m)
{
	Kvmmu__Admin__V1__VmReply rep = KVMMU__ADMIN__V1__VM_REPLY__INIT;
	enum admin_status code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	rpc_vm_destroy(vm->vm_client, vm, VM_END_ADMIN, NULL);
	return reply(c, &rep.base);
}

static enum admin_status
admin_get_host(struct admin_ctx *c, const Kvmmu__Admin__V1__GetHostRequest *m)
{
	Kvmmu__Admin__V1__GetHostReply rep =
		KVMMU__ADMIN__V1__GET_HOST_REPLY__INIT;
	const struct ram_host *h = ram_host();

	(void)m; /* no fields */
	rep.ram_backing = (char *)ram_backing_name(h->rh_have);
	rep.ram_backing_asked = (char *)ram_backing_name(h->rh_want);
	rep.ram_backing_why = (char *)h->rh_why;
	rep.shmem_enabled = (char *)h->rh_shmem;
	return reply(c, &rep.base);
}

static enum admin_status
admin_health_check(struct admin_ctx *c,
		   const Grpc__Health__V1__HealthCheckRequest *m)
{
	Grpc__Health__V1__HealthCheckResponse rep =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	/* "" is the server; the admin service is the one we serve. */
	if (m->service[0] != '\0' &&
	    strcmp(m->service, kvmmu__admin__v1__admin__descriptor.name) != 0)
		return fail(c, ADMIN_NOT_FOUND, "unknown service '%.100s'",
			    m->service);
	rep.status =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	return reply(c, &rep.base);
}

/*
 * One handler per row, in the table's order.  The cast is sound: the
 * request was decoded with the row's method's input descriptor, whose C
 * type admin_methods_check found to be Req before any method was
 * served, and validate_admin checked it again.
 */
typedef enum admin_status admin_handle_fn(struct admin_ctx *,
					  const ProtobufCMessage *);
#define ADMIN_HANDLE(path, stem, Req, Reply, effect)                           \
	static enum admin_status admin_row_##stem(struct admin_ctx *c,         \
						  const ProtobufCMessage *m)   \
	{                                                                      \
		return admin_##stem(c, (const Req *)m);                        \
	}
KVMMU_ADMIN_METHODS(ADMIN_HANDLE)
#define ADMIN_HANDLER(path, stem, Req, Reply, effect) admin_row_##stem,
static admin_handle_fn *const admin_handlers[ADMIN_NMETHODS] = {
	KVMMU_ADMIN_METHODS(ADMIN_HANDLER)};

/* A change is logged with the VM it named and how it ended. */
static void admin_log(const struct admin_ctx *c, enum admin_status code)
{
	const char *name = strrchr(c->c_method->am_path, '/') + 1;
	const char *how = code == ADMIN_OK ? "done" : c->c_res->ar_msg;

	if (c->c_method->am_effect == ADMIN_CHANGES)
		log_info("admin %s%s: %s", name, c->c_vm, how);
	else
		log_debug("admin %s%s: %s", name, c->c_vm, how);
}

void admin_dispatch(struct server *s, const struct admin_method *m,
		    const uint8_t *req, size_t len, struct admin_result *res)
{
	struct admin_ctx c = {s, m, res, ""};
	int i = admin_method_index(m);
	ProtobufCMessage *r = NULL;
	struct verr e = {0};

	res->ar_reply = NULL;
	res->ar_len = 0;
	res->ar_msg[0] = '\0';
	if (i < 0) {
		res->ar_status =
			fail(&c, ADMIN_UNIMPLEMENTED, "no such method");
		return;
	}
	if (admin_decode(m, req, len, &r, &e) < 0 ||
	    validate_admin(m, r, &e) < 0)
		res->ar_status = fail(&c,
				      e.code == EINVAL ? ADMIN_INVALID_ARGUMENT
						       : ADMIN_INTERNAL,
				      "%s", e.msg);
	else
		res->ar_status = admin_handlers[i](&c, r);
	/* OK goes out with the reply, anything else without one. */
	if (res->ar_status == ADMIN_OK && res->ar_reply == NULL)
		res->ar_status =
			fail(&c, ADMIN_INTERNAL, "%s: no reply", m->am_path);
	if (res->ar_status != ADMIN_OK) {
		free(res->ar_reply);
		res->ar_reply = NULL;
		res->ar_len = 0;
	}
	admin_log(&c, res->ar_status);
	if (r != NULL)
		protobuf_c_message_free_unpacked(r, NULL);
}
