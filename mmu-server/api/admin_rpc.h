/*
 * admin_rpc.h: the admin API's handlers (admin_rpc.c), as the gRPC
 * server (transport/admin.c) calls them on the loop's thread.
 * Trust: callers are operators; every field is still checked.
 */
#ifndef KVMMU_ADMIN_RPC_H
#define KVMMU_ADMIN_RPC_H

#include <grpc/grpc.h>
#include <stddef.h>
#include <stdint.h>

struct server;

/*
 * Handles one call of method m (an index into the Admin service, or
 * ADMIN_HEALTH) with request bytes req; on GRPC_STATUS_OK *reply is the
 * packed reply, else msg says what went wrong.
 */
#define ADMIN_HEALTH 1000
grpc_status_code admin_handle(struct server *s, unsigned m, const uint8_t *req,
			      size_t len, grpc_byte_buffer **reply, char *msg,
			      size_t msglen);

#endif
