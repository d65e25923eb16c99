/*
 * admin_rpc.h: the admin API's request layer (admin_rpc.c), as the gRPC
 * server (transport/admin.c) calls it on the loop's thread.  It knows
 * messages, not gRPC: a call comes in as its row of admin_methods.h and
 * the request's bytes, and goes out as a status and the reply's bytes.
 * Trust: callers are operators; every field is still checked.
 */
#ifndef KVMMU_ADMIN_RPC_H
#define KVMMU_ADMIN_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "admin_methods.h"

struct server;

/*
 * The gRPC status codes the admin API answers with, by their numbers in
 * the gRPC protocol (grpc/status.h), which admin.c sends as they are.
 */
enum admin_status {
	ADMIN_OK = 0,
	ADMIN_INVALID_ARGUMENT = 3,
	ADMIN_NOT_FOUND = 5,
	ADMIN_RESOURCE_EXHAUSTED = 8,
	ADMIN_FAILED_PRECONDITION = 9,
	ADMIN_UNIMPLEMENTED = 12,
	ADMIN_INTERNAL = 13,
};

/* How a call ended. */
struct admin_result {
	enum admin_status ar_status;
	uint8_t *ar_reply; /* ADMIN_OK: the packed reply; the caller frees */
	size_t ar_len;
	char ar_msg[256]; /* otherwise: what went wrong, for the caller */
};

/*
 * Handles one call of method m (a row of admin_methods.h) with request
 * bytes req: decoded as the row's request type, validated (validate.c),
 * then handled.  Bytes that are not that type, or fail its validator,
 * are INVALID_ARGUMENT and reach no handler.
 */
void admin_dispatch(struct server *s, const struct admin_method *m,
		    const uint8_t *req, size_t len, struct admin_result *res);

#endif
