/*
 * fuzz_request.c: libFuzzer target for everything a peer can send the
 * server: a Request packet (decoded, then validated as control.c does),
 * a vCPU channel's VcpuResume, every admin API method's request (decoded
 * as its row's type in canonical form, then validated, as admin_rpc.c
 * does before any handler), plus the server->frontend VcpuExit the
 * frontend decodes.  Any crash, leak or sanitizer report is a bug.
 * Trust: the input is hostile by construction.
 */
#include <stddef.h>
#include <stdint.h>

#include "admin_methods.h"
#include "kvmmu.pb-c.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same bytes as a call of every admin method (gRPC names no type). */
static void fuzz_admin(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < ADMIN_NMETHODS; i++) {
		ProtobufCMessage *m;
		struct verr e;

		if (admin_decode(&admin_methods[i], data, size, &m, &e) < 0)
			continue;
		validate_admin(&admin_methods[i], m, &e);
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct limits lim = {64, 32ULL << 30, 46};
	Kvmmu__Request *req = kvmmu__request__unpack(NULL, size, data);
	Kvmmu__VcpuResume *res;
	Kvmmu__VcpuExit *ex;
	struct verr e;

	if (req != NULL) {
		validate_request(req, &lim, &e);
		kvmmu__request__free_unpacked(req, NULL);
	}
	res = kvmmu__vcpu_resume__unpack(NULL, size, data);
	if (res != NULL)
		kvmmu__vcpu_resume__free_unpacked(res, NULL);
	ex = kvmmu__vcpu_exit__unpack(NULL, size, data);
	if (ex != NULL)
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	fuzz_admin(data, size);
	return 0;
}
