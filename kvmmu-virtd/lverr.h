/*
 * lverr.h: an error as libvirt reports it: its code (virErrorNumber) and
 * a message, which the RPC layer sends as a remote_error.
 * Trust: none needed; messages may quote client input, bounded.
 */
#ifndef KVMMU_LVERR_H
#define KVMMU_LVERR_H

#include <stdarg.h>

/* The virErrorNumber values kvmmu-virtd sends (libvirt's virterror.h). */
enum lv_code {
	LV_ERR_INTERNAL_ERROR = 1,
	LV_ERR_NO_MEMORY = 2,
	LV_ERR_NO_SUPPORT = 3,
	LV_ERR_OPERATION_FAILED = 9,
	LV_ERR_INVALID_ARG = 8,
	LV_ERR_XML_ERROR = 27,
	LV_ERR_OPERATION_INVALID = 55,
	LV_ERR_RPC = 39,
	LV_ERR_NO_DOMAIN = 42,
	LV_ERR_OPERATION_DENIED = 29,
	LV_ERR_SYSTEM_ERROR = 38,
	LV_ERR_ARGUMENT_UNSUPPORTED = 74,
	LV_ERR_NO_DOMAIN_METADATA = 80,
};

struct lverr {
	int code;
	char msg[512];
};

/* Sets e; returns -1 for `return lverr_set(...)`. */
int lverr_set(struct lverr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
