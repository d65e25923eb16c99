/*
 * rpc.h: the data plane's request layer (rpc.c) as the transport uses
 * it.  A frontend connection is, to the handlers, a struct rpc_client:
 * who sent the request, what it holds, and how to answer it.  The
 * transport (conn.c, control.c) embeds one in each connection and
 * fills in the answering ops; the handlers never see a socket.
 * Trust: the peer is untrusted.
 */
#ifndef KVMMU_RPC_H
#define KVMMU_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmmu.pb-c.h"
#include "verr.h"

struct owner;
struct rpc_client;
struct server;
struct vm;

/* How a client is answered: the transport's, called on the loop. */
struct rpc_client_ops {
	/*
	 * Sends rep (the caller keeps fds).  -errno: drop the connection;
	 * a handler answering later may ignore it, as the transport closes
	 * such a connection from the loop all the same.
	 */
	int (*rco_send)(struct rpc_client *c, Kvmmu__Reply *rep, const int *fds,
			size_t nfds);
	/* Sends an error reply to request id; counts protocol violations. */
	int (*rco_error)(struct rpc_client *c, uint64_t id,
			 const struct verr *e);
};

/* One frontend connection, as the handlers see it. */
struct rpc_client {
	const struct rpc_client_ops *c_ops;
	struct server *c_srv;
	uid_t c_uid;
	pid_t c_pid;
	struct owner *c_owner; /* c_uid's, charged for what c takes */
	bool c_hello;
	bool c_close_after_send; /* answer, then close */
	unsigned c_nvms;
	uint64_t c_ram;
	int *c_fds; /* the fds of the request being handled */
	size_t c_nfds;
};

/* Handles one decoded request of c; owns fds[0..nfds). */
int rpc_dispatch(struct rpc_client *c, const Kvmmu__Request *req, int *fds,
		 size_t nfds);

/* How a VM ended: the log says it, and ListVms (VmSummary.end_reason). */
enum vm_end {
	VM_END_ADMIN,	 /* the admin API's DestroyVm: ListVmsReply.destroyed */
	VM_END_FRONTEND, /* its frontend's DestroyVm, with its reason or none */
	VM_END_CLOSED,	 /* its frontend's connection closed */
	VM_END_STOP,	 /* mmu-server is stopping: a stop signal */
};

/*
 * The one teardown of a VM: its queued invalidations are applied and
 * answered, then it is destroyed and c's quota given back.  A closed
 * connection's VMs, DestroyVm, the admin API's DestroyVm and a stop all
 * end here, each logged in one line with how it ended (how; reason:
 * DestroyVm.reason, validated, or NULL) and remembered for ListVms: the
 * admin API's among the destroyed, every other among the ended.
 */
void rpc_vm_destroy(struct rpc_client *c, struct vm *vm, enum vm_end how,
		    const char *reason);

#endif
