/*
 * admin_client.c: unary gRPC calls on the C core: one batch per call
 * (send metadata, message and close; receive metadata, message and
 * status) on a completion queue that holds only that call.
 * Trust: an operator's tool.
 */
#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "admin_client.h"

int admin_client_open(struct admin_client *ac, const char *target,
		      int timeout_ms)
{
	grpc_channel_credentials *cr;

	memset(ac, 0, sizeof(*ac));
	grpc_init();
	cr = grpc_insecure_credentials_create();
	ac->ac_ch = grpc_channel_create(target, cr, NULL);
	grpc_channel_credentials_release(cr);
	ac->ac_cq = grpc_completion_queue_create_for_next(NULL);
	ac->ac_timeout_ms = timeout_ms;
	return ac->ac_ch && ac->ac_cq ? 0 : -1;
}

void admin_client_close(struct admin_client *ac)
{
	if (ac->ac_ch != NULL)
		grpc_channel_destroy(ac->ac_ch);
	if (ac->ac_cq != NULL) {
		grpc_completion_queue_shutdown(ac->ac_cq);
		while (grpc_completion_queue_next(
			       ac->ac_cq, gpr_inf_future(GPR_CLOCK_REALTIME),
			       NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(ac->ac_cq);
	}
	grpc_shutdown();
	memset(ac, 0, sizeof(*ac));
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	if (m)
		protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

struct unary {
	grpc_metadata_array u_md, u_trailing;
	grpc_byte_buffer *u_reply;
	grpc_status_code u_status;
	grpc_slice u_details;
};

/* Sends req on path; fills u.  The call is gone when this returns. */
static void unary_run(struct admin_client *ac, const char *path,
		      grpc_byte_buffer *req, struct unary *u)
{
	gpr_timespec deadline = gpr_time_add(
		gpr_now(GPR_CLOCK_REALTIME),
		gpr_time_from_millis(ac->ac_timeout_ms, GPR_TIMESPAN));
	grpc_slice method = grpc_slice_from_copied_string(path);
	grpc_call *call;
	grpc_op ops[6];

	memset(ops, 0, sizeof(ops));
	grpc_metadata_array_init(&u->u_md);
	grpc_metadata_array_init(&u->u_trailing);
	u->u_reply = NULL;
	u->u_details = grpc_empty_slice();
	call = grpc_channel_create_call(ac->ac_ch, NULL,
					GRPC_PROPAGATE_DEFAULTS, ac->ac_cq,
					method, NULL, deadline, NULL);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = req;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->u_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &u->u_reply;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &u->u_trailing;
	ops[5].data.recv_status_on_client.status = &u->u_status;
	ops[5].data.recv_status_on_client.status_details = &u->u_details;
	if (grpc_call_start_batch(call, ops, 6, u, NULL) != GRPC_CALL_OK)
		u->u_status = GRPC_STATUS_INTERNAL;
	else /* only this call uses the queue: its event is the next one */
		grpc_completion_queue_next(
			ac->ac_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_call_unref(call);
	grpc_slice_unref(method);
}

static void unary_free(struct unary *u)
{
	grpc_metadata_array_destroy(&u->u_md);
	grpc_metadata_array_destroy(&u->u_trailing);
	if (u->u_reply != NULL)
		grpc_byte_buffer_destroy(u->u_reply);
	grpc_slice_unref(u->u_details);
}

static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *d,
				grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *m;
	grpc_slice s;

	if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s),
				      GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return m;
}

static const ProtobufCMethodDescriptor *
method_of(const ProtobufCServiceDescriptor *sd, const char *name)
{
	for (unsigned i = 0; i < sd->n_methods; i++) {
		if (strcmp(sd->methods[i].name, name) == 0)
			return &sd->methods[i];
	}
	return NULL;
}

grpc_status_code admin_call(struct admin_client *ac,
			    const ProtobufCServiceDescriptor *sd,
			    const char *method, const ProtobufCMessage *req,
			    ProtobufCMessage **reply)
{
	const ProtobufCMethodDescriptor *md = method_of(sd, method);
	grpc_byte_buffer *bb;
	struct unary u;
	char path[160];

	*reply = NULL;
	if (md == NULL) {
		snprintf(ac->ac_msg, sizeof(ac->ac_msg), "no method %s",
			 method);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	snprintf(path, sizeof(path), "/%s/%s", sd->name, method);
	bb = pack(req);
	unary_run(ac, path, bb, &u);
	grpc_byte_buffer_destroy(bb);
	snprintf(ac->ac_msg, sizeof(ac->ac_msg), "%.*s",
		 (int)GRPC_SLICE_LENGTH(u.u_details),
		 (const char *)GRPC_SLICE_START_PTR(u.u_details));
	if (u.u_status == GRPC_STATUS_OK) {
		*reply = decode(md->output, u.u_reply);
		if (*reply == NULL) {
			u.u_status = GRPC_STATUS_INTERNAL;
			snprintf(ac->ac_msg, sizeof(ac->ac_msg),
				 "undecodable %s", md->output->name);
		}
	}
	unary_free(&u);
	return u.u_status;
}

grpc_status_code admin_call_raw(struct admin_client *ac, const char *path)
{
	grpc_byte_buffer *bb = pack(NULL);
	struct unary u;

	unary_run(ac, path, bb, &u);
	grpc_byte_buffer_destroy(bb);
	snprintf(ac->ac_msg, sizeof(ac->ac_msg), "%.*s",
		 (int)GRPC_SLICE_LENGTH(u.u_details),
		 (const char *)GRPC_SLICE_START_PTR(u.u_details));
	unary_free(&u);
	return u.u_status;
}

const char *admin_status_name(grpc_status_code code)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	return (unsigned)code < sizeof(names) / sizeof(names[0]) ? names[code]
								 : "?";
}
