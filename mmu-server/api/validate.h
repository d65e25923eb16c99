/*
 * validate.h: checks every field of a frontend's request against static
 * limits, and of an admin API call, before the server acts on it.  Pure
 * functions: no I/O, no state.
 * Trust: the input is untrusted frontend data, or an operator's.
 */
#ifndef KVMMU_VALIDATE_H
#define KVMMU_VALIDATE_H

#include <stdint.h>

#include "admin_methods.h"
#include "kvmmu.pb-c.h"
#include "verr.h"

struct limits {
	uint32_t max_vcpus;
	uint64_t max_ram_bytes; /* per VM */
	unsigned phys_bits;
};

/* 0, or -code with e filled in. */
int validate_request(const Kvmmu__Request *req, const struct limits *lim,
		     struct verr *e);
int validate_name(const char *name, const char *field, struct verr *e);
int validate_uuid(const char *u, const char *field, struct verr *e);
int validate_zap(const Kvmmu__ZapControl *z, const char *field, struct verr *e);

/*
 * A call of admin method m (a row of admin_methods.h), decoded by
 * admin_decode: no field its message type lacks, anywhere in it, then
 * the row's validator.  0, or -EINVAL with e naming the field.
 */
int validate_admin(const struct admin_method *m, const ProtobufCMessage *req,
		   struct verr *e);

#define TX_MAX_REGIONS	 256  /* regions in one transaction */
#define INVAL_MAX_RANGES 256  /* ranges in one Invalidate */
#define CPUID_MASKS_MAX	 64   /* masks in one SetCpuid (cpuid.h) */
#define VCPU_MSRS_MAX	 16   /* MSRs in one VcpuState (vm.h) */
#define IRQ_GSI_MAX	 23   /* the in-kernel I/O APIC's last pin */
#define MSI_GSI_LAST	 4095 /* KVM_MAX_IRQ_ROUTES - 1 (msi.h) */
#define TX_MAX_DOORBELLS 64   /* doorbell changes in one transaction */
#define PIO_PORTS	 0x10000

#define PAGE_SIZE_4K	   4096ULL
#define IS_PAGE_ALIGNED(x) (((x) & (PAGE_SIZE_4K - 1)) == 0)

#endif
