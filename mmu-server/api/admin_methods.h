/*
 * admin_methods.h: the one table of the admin API's methods, as
 * requests.h is the data plane's.  A row is X(path, stem, Req, Reply,
 * effect): the method's full name, as mmuctl and any gRPC client call
 * it; its request and reply message types (the C names protobuf-c
 * gives them); its validator validate_admin_stem(const Req *, e) in
 * validate.c and its handler admin_stem(call, const Req *) in
 * admin_rpc.c, which replies with a Reply; and whether it changes
 * state (ADMIN_CHANGES: logged with its outcome) or only reads.
 *
 * The gRPC server registers each row's path, and only those: any other
 * path is UNIMPLEMENTED and reaches no handler.  At start the table is
 * checked against admin.proto's service descriptors (admin_methods_check):
 * every row names a method there whose request and reply are the row's
 * types, and every method of kvmmu.admin.v1.Admin has a row; else the
 * server refuses to start, naming the row.  Adding a method is a row, a
 * validator and a handler; a row without its two functions does not link.
 * Trust: describes operators' input; holds no state.
 */
#ifndef KVMMU_ADMIN_METHODS_H
#define KVMMU_ADMIN_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "health.pb-c.h"
#include "verr.h"

enum admin_effect {
	ADMIN_READS,   /* reads server state only */
	ADMIN_CHANGES, /* changes a VM: logged with its outcome */
};

#define KVMMU_ADMIN_METHODS(X)                                                 \
	X("/kvmmu.admin.v1.Admin/ListVms", list_vms,                           \
	  Kvmmu__Admin__V1__ListVmsRequest, Kvmmu__Admin__V1__ListVmsReply,    \
	  ADMIN_READS)                                                         \
	X("/kvmmu.admin.v1.Admin/GetVm", get_vm,                               \
	  Kvmmu__Admin__V1__GetVmRequest, Kvmmu__Admin__V1__GetVmReply,        \
	  ADMIN_READS)                                                         \
	X("/kvmmu.admin.v1.Admin/GetStats", get_stats,                         \
	  Kvmmu__Admin__V1__GetStatsRequest, Kvmmu__Admin__V1__GetStatsReply,  \
	  ADMIN_READS)                                                         \
	X("/kvmmu.admin.v1.Admin/SetZapControl", set_zap_control,              \
	  Kvmmu__Admin__V1__SetZapControlRequest,                              \
	  Kvmmu__Admin__V1__SetZapControlReply, ADMIN_CHANGES)                 \
	X("/kvmmu.admin.v1.Admin/Invalidate", invalidate,                      \
	  Kvmmu__Admin__V1__InvalidateRequest,                                 \
	  Kvmmu__Admin__V1__InvalidateReply, ADMIN_CHANGES)                    \
	X("/kvmmu.admin.v1.Admin/PauseVm", pause_vm,                           \
	  Kvmmu__Admin__V1__VmRequest, Kvmmu__Admin__V1__VmReply,              \
	  ADMIN_CHANGES)                                                       \
	X("/kvmmu.admin.v1.Admin/ResumeVm", resume_vm,                         \
	  Kvmmu__Admin__V1__VmRequest, Kvmmu__Admin__V1__VmReply,              \
	  ADMIN_CHANGES)                                                       \
	X("/kvmmu.admin.v1.Admin/DestroyVm", destroy_vm,                       \
	  Kvmmu__Admin__V1__VmRequest, Kvmmu__Admin__V1__VmReply,              \
	  ADMIN_CHANGES)                                                       \
	X("/kvmmu.admin.v1.Admin/GetHost", get_host,                           \
	  Kvmmu__Admin__V1__GetHostRequest, Kvmmu__Admin__V1__GetHostReply,    \
	  ADMIN_READS)                                                         \
	X("/grpc.health.v1.Health/Check", health_check,                        \
	  Grpc__Health__V1__HealthCheckRequest,                                \
	  Grpc__Health__V1__HealthCheckResponse, ADMIN_READS)

#define ADMIN_COUNT_ROW(path, stem, Req, Reply, effect) +1
/* Rows in the table. */
#define ADMIN_NMETHODS (0 KVMMU_ADMIN_METHODS(ADMIN_COUNT_ROW))

/* A row of the table, as data (admin_methods.c). */
struct admin_method {
	const char *am_path;  /* "/kvmmu.admin.v1.Admin/DestroyVm" */
	const char *am_req;   /* "Kvmmu__Admin__V1__VmRequest" */
	const char *am_reply; /* "Kvmmu__Admin__V1__VmReply" */
	enum admin_effect am_effect;
};

/* The rows, in table order. */
extern const struct admin_method admin_methods[ADMIN_NMETHODS];

/* The row whose path is path, or NULL: a method we do not serve. */
const struct admin_method *admin_method_find(const char *path);
/*
 * m's place in admin_methods (where its validator and handler are in
 * the tables made from the same rows), or -1: m is not one of its rows.
 */
int admin_method_index(const struct admin_method *m);

/*
 * The service method a row names (found by its path in admin.proto's
 * and health.proto's descriptors), or NULL when there is none.
 */
const ProtobufCMethodDescriptor *
admin_method_desc(const struct admin_method *m);

/*
 * 0 when rows[0..n) match the service descriptors: each path names a
 * method of a service we serve, once, whose input and output are the
 * row's types, and every method of kvmmu.admin.v1.Admin has a row.
 * Else -EPROTO with e naming the row (or the method without one).
 */
int admin_methods_check(const struct admin_method *rows, size_t n,
			struct verr *e);

/*
 * Decodes a request of method m from len bytes: -EINVAL with e set when
 * they are not the method's request type, or not in its canonical
 * encoding (protobuf-c cuts a string at a NUL and a varint to its
 * field's width, silently: VmRef.id 2^32 + 1 would name VM 1).  The
 * caller frees *out with protobuf_c_message_free_unpacked.
 */
int admin_decode(const struct admin_method *m, const uint8_t *req, size_t len,
		 ProtobufCMessage **out, struct verr *e);

#endif
