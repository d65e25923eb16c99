/*
 * requests.h: the one table of the data plane's request types.  A row is
 * X(CASE, stem, Type, fds): the body's oneof case
 * (KVMMU__REQUEST__BODY_CASE) and field (req->stem), its message type
 * Kvmmu__Type (whose name, #Type, is the request's name in messages), its
 * validator validate_stem(const Kvmmu__Type *, lim, e) in validate.c, its
 * handler rpc_stem(conn, req, e) in rpc.c, its counter "rpc.stem", and
 * the fds it takes (enum req_fds).  Adding a request is a
 * row here, a validator and a handler; a body without a row is refused
 * as a protocol violation and never reaches any handler.
 * Trust: describes untrusted input; holds no state.
 */
#ifndef KVMMU_REQUESTS_H
#define KVMMU_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

/* Which fds a request may carry; any other fd refuses it. */
enum req_fds {
	REQ_FDS_NONE,	   /* none */
	REQ_FDS_ROM_MEMFD, /* a ROM region's memfd, else none */
	REQ_FDS_EVENTFD,   /* an eventfd to assign, none to deassign */
};

#define KVMMU_REQUESTS(X)                                                      \
	X(HELLO, hello, Hello, REQ_FDS_NONE)                                   \
	X(CREATE_VM, create_vm, CreateVm, REQ_FDS_NONE)                        \
	X(MAP_REGION, map_region, MapRegion, REQ_FDS_ROM_MEMFD)                \
	X(UNMAP_REGION, unmap_region, UnmapRegion, REQ_FDS_NONE)               \
	X(SET_VCPU_STATE, set_vcpu_state, VcpuState, REQ_FDS_NONE)             \
	X(RUN, run, Run, REQ_FDS_NONE)                                         \
	X(STOP, stop, Stop, REQ_FDS_NONE)                                      \
	X(GET_STATS, get_stats, GetStats, REQ_FDS_NONE)                        \
	X(DESTROY_VM, destroy_vm, DestroyVm, REQ_FDS_NONE)                     \
	X(TRANSACTION, transaction, Transaction, REQ_FDS_NONE)                 \
	X(SET_ZAP_CONTROL, set_zap_control, SetZapControl, REQ_FDS_NONE)       \
	X(INVALIDATE, invalidate, Invalidate, REQ_FDS_NONE)                    \
	X(SET_CPUID, set_cpuid, SetCpuid, REQ_FDS_NONE)                        \
	X(IRQFD, irqfd, Irqfd, REQ_FDS_NONE)                                   \
	X(IOEVENTFD, ioeventfd, Ioeventfd, REQ_FDS_EVENTFD)                    \
	X(MSI_ROUTE, msi_route, MsiRoute, REQ_FDS_NONE)                        \
	X(MASK_IRQFD, mask_irqfd, MaskIrqfd, REQ_FDS_NONE)                     \
	X(SIGNAL_MSI, signal_msi, SignalMsi, REQ_FDS_NONE)

/* One more than the largest body case (the oneof's field numbers). */
#define REQ_CASES 32

/* requests.c: counts a request of this body case, "rpc.STEM". */
void srv_count_request(unsigned body_case);
/*
 * From i = 0 on: *name and *value of each request type's counter; returns
 * the i to pass next, 0 after the last.
 */
size_t srv_request_next(size_t i, const char **name, uint64_t *value);

#endif
