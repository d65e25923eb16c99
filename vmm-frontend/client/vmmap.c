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

void vmmap_client(struct vmmap_client *vc, struct client *cl,
		  const uint32_t *vm_id)
{
	vc->vc_map = (struct vmmap){cl_transaction, cl_map_rom, cl_unmap,
				    cl_faults,	    cl_error,	vc};
	vc->vc_cl = cl;
	vc->vc_vm = vm_id;
}
