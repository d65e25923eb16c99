/*
 * vmmap.c: a vmmap backed by mmu-server's control socket.
 * Trust: unprivileged.
 */
#include "client.h"
#include "vmmap.h"

static int cl_transaction(void *arg, uint64_t gpa, uint64_t size,
			  Kvmmu__Region **regs, size_t n)
{
	struct vmmap_client *c = arg;

	return client_transaction(c->vc_cl, *c->vc_vm, gpa, size, regs, n,
				  NULL);
}

static int cl_map_rom(void *arg, uint64_t gpa, uint64_t size, int fd,
		      const char *name)
{
	struct vmmap_client *c = arg;

	return client_map(c->vc_cl, *c->vc_vm, KVMMU__REGION_KIND__REGION_ROM,
			  gpa, size, 0, name, fd);
}

static int cl_unmap(void *arg, uint64_t gpa)
{
	struct vmmap_client *c = arg;

	return client_unmap(c->vc_cl, *c->vc_vm, gpa);
}

static uint64_t cl_faults(void *arg)
{
	struct vmmap_client *c = arg;
	Kvmmu__Reply *rep;
	uint64_t pf = 0;

	if (client_get_stats(c->vc_cl, *c->vc_vm, &rep) == 0) {
		pf = stats_vcpu_sum(rep->stats, "pf_taken");
		client_free_reply(rep);
	}
	return pf;
}

static const char *cl_error(void *arg)
{
	struct vmmap_client *c = arg;

	return c->vc_cl->cl_err;
}

static int cl_transaction_db(void *arg, uint64_t gpa, uint64_t size,
			     Kvmmu__Region **regs, size_t n,
			     Kvmmu__DoorbellChange **dbs, size_t ndbs)
{
	struct vmmap_client *c = arg;

	return client_transaction_db(c->vc_cl, *c->vc_vm, gpa, size, regs, n,
				     dbs, ndbs, NULL);
}

static int cl_ioeventfd(void *arg, const Kvmmu__Doorbell *db, int fd,
			bool deassign)
{
	struct vmmap_client *c = arg;

	return client_ioeventfd(c->vc_cl, *c->vc_vm, db, fd, deassign);
}

static int cl_msi_route(void *arg, int gsi, uint32_t lo, uint32_t data,
			uint32_t *out)
{
	struct vmmap_client *c = arg;

	return client_msi_route(c->vc_cl, *c->vc_vm, gsi, lo, data, false, out);
}

static int cl_mask_irqfd(void *arg, uint32_t gsi, bool masked)
{
	struct vmmap_client *c = arg;

	return client_mask_irqfd(c->vc_cl, *c->vc_vm, gsi, masked);
}

static int cl_irqfd(void *arg, uint32_t gsi, int *fd)
{
	struct vmmap_client *c = arg;

	return client_irqfd(c->vc_cl, *c->vc_vm, gsi, false, fd, NULL);
}

void vmmap_client(struct vmmap_client *vc, struct client *cl,
		  const uint32_t *vm_id)
{
	vc->vc_map = (struct vmmap){.vm_transaction = cl_transaction,
				    .vm_map_rom = cl_map_rom,
				    .vm_unmap = cl_unmap,
				    .vm_faults = cl_faults,
				    .vm_error = cl_error,
				    .vm_arg = vc,
				    .vm_transaction_db = cl_transaction_db,
				    .vm_ioeventfd = cl_ioeventfd,
				    .vm_msi_route = cl_msi_route,
				    .vm_mask_irqfd = cl_mask_irqfd,
				    .vm_irqfd = cl_irqfd};
	vc->vc_cl = cl;
	vc->vc_vm = vm_id;
}
