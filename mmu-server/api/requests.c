/*
 * requests.c: a counter per request type, named from requests.h's rows.
 * Trust: privileged; counts only.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"
#include "requests.h"

static _Atomic uint64_t srv_requests[REQ_CASES];
static const char *const srv_request_names[REQ_CASES] = {
#define REQ_NAME(C, stem, Type, fds) [KVMMU__REQUEST__BODY_##C] = "rpc." #stem,
	KVMMU_REQUESTS(REQ_NAME)
#undef REQ_NAME
};

void srv_count_request(unsigned body_case)
{
	if (body_case < REQ_CASES)
		srv_requests[body_case]++;
}

size_t srv_request_next(size_t i, const char **name, uint64_t *value)
{
	for (; i < REQ_CASES; i++) {
		if (srv_request_names[i] != NULL) {
			*name = srv_request_names[i];
			*value = srv_requests[i];
			return i + 1;
		}
	}
	return 0;
}
