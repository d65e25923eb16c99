/*
 * admin_rpc.c: the admin API's handlers.  They run on the event loop's
 * thread (admin.c forwards every call there), so they may read and change
 * VMs like rpc.c does.  Errors carry proper gRPC codes: NOT_FOUND for an
 * unknown VM, INVALID_ARGUMENT for a bad field, FAILED_PRECONDITION for a
 * change the VM's state forbids (memslot -> all on a live VM).
 * Trust: callers are operators, but every field is still checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>

#include "admin.pb-c.h"
#include "admin_rpc.h"
#include "health.pb-c.h"
#include "inval.h"
#include "ram.h"
#include "rpc.h"
#include "server.h"
#include "vmstats.h"
#include "zap.h"

enum {
	M_LIST_VMS,
	M_GET_VM,
	M_GET_STATS,
	M_SET_ZAP,
	M_INVALIDATE,
	M_PAUSE,
	M_RESUME,
	M_DESTROY,
	M_GET_HOST,
};

struct call {
	struct server *c_srv;
	char *c_msg;
	size_t c_msglen;
};

static grpc_status_code fail(struct call *c, grpc_status_code code,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static grpc_status_code fail(struct call *c, grpc_status_code code,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->c_msg, c->c_msglen, fmt, ap);
	va_end(ap);
	return code;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
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

/* The VM a VmRef names: by id, else by a name that must be unique. */
static struct vm *find_vm(struct call *c, const Kvmmu__Admin__V1__VmRef *ref,
			  grpc_status_code *code)
{
	struct vm *vm, *hit = NULL;
	unsigned n = 0;

	*code = GRPC_STATUS_INVALID_ARGUMENT;
	if (ref == NULL || (!ref->has_id && ref->name == NULL)) {
		fail(c, *code, "vm: give an id or a name");
		return NULL;
	}
	TAILQ_FOREACH(vm, &c->c_srv->s_vms, vm_entry)
	{
		if (ref->has_id ? vm->vm_id == ref->id
				: strcmp(vm->vm_name, ref->name) == 0) {
			hit = vm;
			n++;
		}
	}
	if (n > 1) {
		fail(c, *code, "vm: name '%s' is used by %u VMs; give the id",
		     ref->name, n);
		return NULL;
	}
	if (hit == NULL) {
		*code = GRPC_STATUS_NOT_FOUND;
		if (ref->has_id)
			fail(c, *code, "vm: no VM with id %u", ref->id);
		else
			fail(c, *code, "vm: no VM named '%s'", ref->name);
	}
	return hit;
}

/* Remembers a VM DestroyVm is about to end (ListVmsReply.destroyed). */
static void destroyed_note(struct server *srv, struct vm *vm)
{
	struct vm_gone *g =
		&srv->s_destroyed[srv->s_ndestroyed++ % SRV_DESTROYED_KEPT];

	g->vg_id = vm->vm_id;
	snprintf(g->vg_name, sizeof(g->vg_name), "%s", vm->vm_name);
	snprintf(g->vg_uuid, sizeof(g->vg_uuid), "%s", vm->vm_uuid);
	g->vg_uid = vm->vm_owner->o_uid;
	g->vg_pid = vm->vm_client_pid;
	g->vg_vcpus = vm->vm_nvcpus;
	g->vg_ram_bytes = vm->vm_ram_bytes;
}

static void destroyed_summary(const struct vm_gone *g,
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
	s->state = "destroyed";
	s->vcpus = g->vg_vcpus;
	s->ram_bytes = g->vg_ram_bytes;
}

static grpc_status_code list_vms(struct call *c, grpc_byte_buffer **out)
{
	Kvmmu__Admin__V1__ListVmsReply rep =
		KVMMU__ADMIN__V1__LIST_VMS_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary *s, **ptrs;
	Kvmmu__Admin__V1__ZapControl *z;
	struct server *srv = c->c_srv;
	uint64_t first, ngone;
	struct vm *vm;
	size_t n = 0;

	ngone = srv->s_ndestroyed < SRV_DESTROYED_KEPT ? srv->s_ndestroyed
						       : SRV_DESTROYED_KEPT;
	first = srv->s_ndestroyed - ngone;
	TAILQ_FOREACH(vm, &srv->s_vms, vm_entry)
	n++;
	s = calloc(n + ngone + 1, sizeof(*s));
	z = calloc(n + 1, sizeof(*z));
	ptrs = calloc(n + ngone + 1, sizeof(*ptrs));
	if (s == NULL || z == NULL || ptrs == NULL) {
		free(s);
		free(z);
		free(ptrs);
		return fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
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
	for (uint64_t i = 0; i < ngone; i++) {
		destroyed_summary(
			&srv->s_destroyed[(first + i) % SRV_DESTROYED_KEPT],
			&s[n + i]);
		ptrs[n + i] = &s[n + i];
	}
	rep.n_destroyed = ngone;
	rep.destroyed = ptrs + n;
	*out = pack(&rep.base);
	free(s);
	free(z);
	free(ptrs);
	return GRPC_STATUS_OK;
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

static grpc_status_code get_vm(struct call *c, const ProtobufCMessage *req,
			       grpc_byte_buffer **out)
{
	const Kvmmu__Admin__V1__GetVmRequest *m = (const void *)req;
	Kvmmu__Admin__V1__GetVmReply rep = KVMMU__ADMIN__V1__GET_VM_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary s;
	Kvmmu__Admin__V1__ZapControl z;
	Kvmmu__Admin__V1__Region *r, **ptrs;
	grpc_status_code code;
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
		return fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
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
	*out = pack(&rep.base);
	free(r);
	free(ptrs);
	return GRPC_STATUS_OK;
}

/*
 * GetStatsReply carries the data plane's Stat and VcpuStats (admin.proto
 * imports them): the StatsReply's lists go out as they are.
 */
static grpc_status_code stats_pack(struct vm *vm, const Kvmmu__StatsReply *st,
				   grpc_byte_buffer **out)
{
	Kvmmu__Admin__V1__GetStatsReply rep =
		KVMMU__ADMIN__V1__GET_STATS_REPLY__INIT;
	Kvmmu__Admin__V1__ZapControl z;

	rep.n_vm = st->n_vm;
	rep.vm = st->vm;
	rep.n_vcpus = st->n_vcpus;
	rep.vcpus = st->vcpus;
	rep.n_server = st->n_server;
	rep.server = st->server;
	zap_out(&vm->vm_zap, &z);
	rep.zap = &z;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static grpc_status_code get_stats(struct call *c, const ProtobufCMessage *req,
				  grpc_byte_buffer **out)
{
	const Kvmmu__Admin__V1__GetStatsRequest *m = (const void *)req;
	Kvmmu__StatsReply st = KVMMU__STATS_REPLY__INIT;
	struct stats_reply sr = {0};
	grpc_status_code code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	if (stats_reply_build(&sr, vm, &st) < 0)
		code = fail(c, GRPC_STATUS_INTERNAL,
			    "reading KVM stats failed");
	else
		code = stats_pack(vm, &st, out);
	stats_reply_free(&sr, vm->vm_nvcpus);
	return code;
}

/* Strings to a policy; only the fields given change. */
static grpc_status_code zap_in(struct call *c,
			       const Kvmmu__Admin__V1__ZapControl *z,
			       struct zap_policy *zp)
{
	int v;

	if (z == NULL)
		return fail(c, GRPC_STATUS_INVALID_ARGUMENT, "zap: missing");
	if (z->mode != NULL) {
		if ((v = zap_mode_parse(z->mode)) < 0)
			return fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				    "zap.mode: '%s' is neither 'all' nor "
				    "'memslot'",
				    z->mode);
		zp->zp_mode = (enum zap_mode)v;
	}
	if (z->allones != NULL) {
		if ((v = zap_allones_parse(z->allones)) < 0)
			return fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				    "zap.allones: '%s' is neither 'mmio' nor "
				    "'rom'",
				    z->allones);
		zp->zp_allones = (enum allones_policy)v;
	}
	if (z->has_batch_window_us) {
		if (z->batch_window_us > ZAP_MAX_WINDOW_US)
			return fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				    "zap.batch_window_us: %u exceeds %u",
				    z->batch_window_us, ZAP_MAX_WINDOW_US);
		zp->zp_window_us = z->batch_window_us;
	}
	return GRPC_STATUS_OK;
}

static grpc_status_code set_zap(struct call *c, const ProtobufCMessage *req,
				grpc_byte_buffer **out)
{
	const Kvmmu__Admin__V1__SetZapControlRequest *m = (const void *)req;
	Kvmmu__Admin__V1__SetZapControlReply rep =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REPLY__INIT;
	Kvmmu__Admin__V1__ZapControl z;
	struct zap_policy zp;
	struct verr e;
	grpc_status_code code;
	struct vm *vm = find_vm(c, m->vm, &code);

	if (vm == NULL)
		return code;
	zp = vm->vm_zap;
	code = zap_in(c, m->zap, &zp);
	if (code != GRPC_STATUS_OK)
		return code;
	if (vm_set_zap(vm, &zp, &e) < 0)
		return fail(c, GRPC_STATUS_FAILED_PRECONDITION, "%s", e.msg);
	zap_out(&vm->vm_zap, &z);
	rep.zap = &z;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static grpc_status_code invalidate(struct call *c, const ProtobufCMessage *req,
				   grpc_byte_buffer **out)
{
	const Kvmmu__Admin__V1__InvalidateRequest *m = (const void *)req;
	Kvmmu__Admin__V1__InvalidateReply rep =
		KVMMU__ADMIN__V1__INVALIDATE_REPLY__INIT;
	grpc_status_code code;
	struct vm *vm = find_vm(c, m->vm, &code);
	unsigned calls = 0;
	struct verr e;
	uint64_t end;

	if (vm == NULL)
		return code;
	if (!m->has_gpa || !m->has_size || m->size == 0 ||
	    !IS_PAGE_ALIGNED(m->gpa) || !IS_PAGE_ALIGNED(m->size) ||
	    __builtin_add_overflow(m->gpa, m->size, &end))
		return fail(c, GRPC_STATUS_INVALID_ARGUMENT,
			    "gpa/size: a non-empty page-aligned range is "
			    "needed");
	if (inval_now(vm, m->gpa, m->size, m->has_discard && m->discard, &calls,
		      &e) < 0)
		return fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s", e.msg);
	rep.has_calls = 1;
	rep.calls = calls;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static grpc_status_code vm_op(struct call *c, unsigned m,
			      const ProtobufCMessage *req,
			      grpc_byte_buffer **out)
{
	const Kvmmu__Admin__V1__VmRequest *r = (const void *)req;
	Kvmmu__Admin__V1__VmReply rep = KVMMU__ADMIN__V1__VM_REPLY__INIT;
	Kvmmu__Admin__V1__VmSummary s;
	Kvmmu__Admin__V1__ZapControl z;
	grpc_status_code code;
	struct vm *vm = find_vm(c, r->vm, &code);

	if (vm == NULL)
		return code;
	if (m == M_DESTROY) {
		destroyed_note(c->c_srv, vm);
		rpc_vm_destroy(vm->vm_client, vm);
		*out = pack(&rep.base);
		return GRPC_STATUS_OK;
	}
	/* Pause returns once no vCPU is in KVM_RUN. */
	if (m == M_PAUSE && vm_admin_pause(vm) < 0)
		return fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			    "vm %u: not running (its frontend has not run it, "
			    "or stopped it)",
			    vm->vm_id);
	if (m == M_RESUME)
		vm_admin_resume(vm);
	summary(vm, &s, &z);
	rep.vm = &s;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static grpc_status_code health(struct call *c, const ProtobufCMessage *req,
			       grpc_byte_buffer **out)
{
	const Grpc__Health__V1__HealthCheckRequest *m = (const void *)req;
	Grpc__Health__V1__HealthCheckResponse rep =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	/* "" is the server; the admin service is the one we serve. */
	if (m->service[0] != '\0' &&
	    strcmp(m->service, kvmmu__admin__v1__admin__descriptor.name) != 0)
		return fail(c, GRPC_STATUS_NOT_FOUND, "unknown service '%s'",
			    m->service);
	rep.status =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static grpc_status_code get_host(grpc_byte_buffer **out)
{
	Kvmmu__Admin__V1__GetHostReply rep =
		KVMMU__ADMIN__V1__GET_HOST_REPLY__INIT;
	const struct ram_host *h = ram_host();

	rep.ram_backing = (char *)ram_backing_name(h->rh_have);
	rep.ram_backing_asked = (char *)ram_backing_name(h->rh_want);
	rep.ram_backing_why = (char *)h->rh_why;
	rep.shmem_enabled = (char *)h->rh_shmem;
	*out = pack(&rep.base);
	return GRPC_STATUS_OK;
}

static const ProtobufCMessageDescriptor *input_of(unsigned m)
{
	if (m == ADMIN_HEALTH)
		return grpc__health__v1__health__descriptor.methods[0].input;
	if (m >= kvmmu__admin__v1__admin__descriptor.n_methods)
		return NULL;
	return kvmmu__admin__v1__admin__descriptor.methods[m].input;
}

grpc_status_code admin_handle(struct server *s, unsigned m, const uint8_t *req,
			      size_t len, grpc_byte_buffer **reply, char *msg,
			      size_t msglen)
{
	const ProtobufCMessageDescriptor *in = input_of(m);
	struct call c = {s, msg, msglen};
	ProtobufCMessage *r;
	grpc_status_code code;

	if (in == NULL) /* Health.Watch: a stream we do not serve */
		return fail(&c, GRPC_STATUS_UNIMPLEMENTED, "not served");
	r = protobuf_c_message_unpack(in, NULL, len, req);
	if (r == NULL)
		return fail(&c, GRPC_STATUS_INVALID_ARGUMENT, "undecodable %s",
			    in->name);
	switch (m) {
	case M_LIST_VMS:
		code = list_vms(&c, reply);
		break;
	case M_GET_VM:
		code = get_vm(&c, r, reply);
		break;
	case M_GET_STATS:
		code = get_stats(&c, r, reply);
		break;
	case M_SET_ZAP:
		code = set_zap(&c, r, reply);
		break;
	case M_INVALIDATE:
		code = invalidate(&c, r, reply);
		break;
	case ADMIN_HEALTH:
		code = health(&c, r, reply);
		break;
	case M_GET_HOST:
		code = get_host(reply);
		break;
	default:
		code = vm_op(&c, m, r, reply);
	}
	protobuf_c_message_free_unpacked(r, NULL);
	return code;
}
