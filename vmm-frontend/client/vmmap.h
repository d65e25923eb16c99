/*
 * vmmap.h: what a machine model may ask of its VM, and nothing more: to
 * change its memory map and to read its fault count.  The pc machine
 * (machine.c) holds one; vmmap_client() backs it with a connection to
 * mmu-server, and a test can back it with anything else.
 * Trust: unprivileged.
 */
#ifndef KVMMU_VMMAP_H
#define KVMMU_VMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"

struct client;

struct vmmap {
	/* Replaces the regions in [gpa, gpa + size) by regs[0..n). */
	int (*vm_transaction)(void *arg, uint64_t gpa, uint64_t size,
			      Kvmmu__Region **regs, size_t n);
	/* Maps the memfd fd read-only at gpa. */
	int (*vm_map_rom)(void *arg, uint64_t gpa, uint64_t size, int fd,
			  const char *name);
	int (*vm_unmap)(void *arg, uint64_t gpa);
	/* Page faults the VM's vCPUs took so far; 0 when unknown. */
	uint64_t (*vm_faults)(void *arg);
	/* Why the last call failed, for people. */
	const char *(*vm_error)(void *arg);
	void *vm_arg;
	/*
	 * For devices with doorbells and MSI-X (machine/pcifn.c, msix.c);
	 * NULL in a vmmap that has none (then such a device fails with
	 * -ENOSYS).  vm_transaction_db: vm_transaction whose doorbells move
	 * or go in the same step.  vm_ioeventfd: a doorbell signalling fd
	 * (sent; the caller keeps its own), or with deassign its end.
	 * vm_msi_route: a new route (gsi < 0; *out its GSI) or a new
	 * message for gsi.  vm_irqfd: an irqfd on gsi, *fd ours to keep.
	 */
	int (*vm_transaction_db)(void *arg, uint64_t gpa, uint64_t size,
				 Kvmmu__Region **regs, size_t n,
				 Kvmmu__DoorbellChange **dbs, size_t ndbs);
	int (*vm_ioeventfd)(void *arg, const Kvmmu__Doorbell *db, int fd,
			    bool deassign);
	int (*vm_msi_route)(void *arg, int gsi, uint32_t lo, uint32_t data,
			    uint32_t *out);
	int (*vm_mask_irqfd)(void *arg, uint32_t gsi, bool masked);
	int (*vm_irqfd)(void *arg, uint32_t gsi, int *fd);
};

/* A vmmap for the VM *vm_id of connection cl (both outlive it). */
struct vmmap_client {
	struct vmmap vc_map; /* what the machine gets */
	struct client *vc_cl;
	const uint32_t *vc_vm; /* set once CreateVm answered */
};
void vmmap_client(struct vmmap_client *vc, struct client *cl,
		  const uint32_t *vm_id);

#endif
