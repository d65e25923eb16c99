/*
 * admin_client.h: a synchronous client of mmu-server's gRPC admin API on
 * the gRPC C core, used by mmuctl, the tests and the benchmarks.
 * Trust: an operator's tool; replies are decoded and checked.
 */
#ifndef KVMMU_ADMIN_CLIENT_H
#define KVMMU_ADMIN_CLIENT_H

#include <grpc/grpc.h>

#include "admin.pb-c.h"
#include "health.pb-c.h"

struct admin_client {
	grpc_channel *ac_ch;
	grpc_completion_queue *ac_cq;
	int ac_timeout_ms; /* each call's deadline */
	char ac_msg[256];  /* the status message of the last call */
};

/* target: "unix:/path" or "127.0.0.1:PORT".  0 or -1. */
int admin_client_open(struct admin_client *ac, const char *target,
		      int timeout_ms);
void admin_client_close(struct admin_client *ac);

/*
 * Calls /<service>/<method> of sd with req; on GRPC_STATUS_OK *reply is
 * the decoded reply (free with protobuf_c_message_free_unpacked).
 */
grpc_status_code admin_call(struct admin_client *ac,
			    const ProtobufCServiceDescriptor *sd,
			    const char *method, const ProtobufCMessage *req,
			    ProtobufCMessage **reply);
/* Calls any path with empty request bytes (for tests of unknown paths). */
grpc_status_code admin_call_raw(struct admin_client *ac, const char *path);

const char *admin_status_name(grpc_status_code code);

#endif
