/*
 * rpc.c: one handler per request type.  Requests arrive decoded and, by
 * validate.c, field-checked; here they are checked against server state
 * (ownership, per-connection limits) and carried out.  Authority comes
 * from the connection that sent the request, never from a field in it.
 * Replies leave through the client's ops (rpc.h), which the transport
 * provides; no handler knows the socket.
 * Trust: the request is untrusted frontend data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "inval.h"
#include "log.h"
#include "release.h"
#include "requests.h"
#include "rpc.h"
#include "server.h"
#include "vmstats.h"
#include "wire.h"
#include "zap.h"

/* Sends rep as the answer to request id. */
static int rpc_reply_id(struct rpc_client *c, uint64_t id, Kvmmu__Reply *rep,
			const int *fds, size_t nfds)
{
	rep->has_version = rep->has_id = 1;
	rep->version = KVMMU_PROTOCOL_VERSION;
	rep->id = id;
	return c->c_ops->rco_send(c, rep, fds, nfds);
}

static int rpc_reply(struct rpc_client *c, const Kvmmu__Request *req,
		     Kvmmu__Reply *rep, const int *fds, size_t nfds)
{
	return rpc_reply_id(c, req->id, rep, fds, nfds);
}

static int rpc_ok(struct rpc_client *c, const Kvmmu__Request *req)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__Ok ok = KVMMU__OK__INIT;

	rep.body_case = KVMMU__REPLY__BODY_OK;
	rep.ok = &ok;
	return rpc_reply(c, req, &rep, NULL, 0);
}

/* Only VMs this connection created are visible to it. */
static struct vm *rpc_vm(struct rpc_client *c, uint32_t id, const char *field,
			 struct verr *e)
{
	struct vm *vm;

	TAILQ_FOREACH(vm, &c->c_srv->s_vms, vm_entry)
	{
		if (vm->vm_id == id && vm->vm_client == c)
			return vm;
	}
	verr_set(e, ENOENT, "%s: no VM %u on this connection", field, id);
	return NULL;
}

static int rpc_hello(struct rpc_client *c, const Kvmmu__Request *req,
		     struct verr *e)
{
	const Kvmmu__Hello *m = req->hello;
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__HelloReply hr = KVMMU__HELLO_REPLY__INIT;
	struct server *s = c->c_srv;

	if (c->c_hello)
		return verr_set(e, EPROTO, "Hello: sent twice");
	if (m->version != KVMMU_PROTOCOL_VERSION) {
		c->c_close_after_send = true;
		return verr_set(e, EPROTONOSUPPORT,
				"Hello.version: client speaks %u, server "
				"speaks %d; upgrade the older side",
				m->version, KVMMU_PROTOCOL_VERSION);
	}
	c->c_hello = true;
	log_debug("hello from pid %d uid %u (%s)", (int)c->c_pid,
		  (unsigned)c->c_uid, m->client ? m->client : "?");
	hr.has_version = hr.has_max_vcpus = hr.has_max_ram_bytes = 1;
	hr.has_phys_bits = 1;
	hr.version = KVMMU_PROTOCOL_VERSION;
	hr.server = "mmu-server " KVMMU_VERSION;
	hr.max_vcpus = s->s_lim.max_vcpus;
	hr.max_ram_bytes = s->s_lim.max_ram_bytes;
	hr.phys_bits = s->s_lim.phys_bits;
	rep.body_case = KVMMU__REPLY__BODY_HELLO;
	rep.hello = &hr;
	return rpc_reply(c, req, &rep, NULL, 0);
}

/* A version 4 (random) UUID in canonical form. */
static void uuid_random(char out[37])
{
	uint8_t b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, b, sizeof(b)) != sizeof(b))
		memset(b, 0, sizeof(b)); /* still unique enough: see vm_id */
	if (fd >= 0)
		close(fd);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
		 "%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Fields present in z replace those of *zp. */
static void zap_from_proto(const Kvmmu__ZapControl *z, struct zap_policy *zp)
{
	if (z == NULL)
		return;
	if (z->has_mode)
		zp->zp_mode = (enum zap_mode)z->mode;
	if (z->has_batch_window_us)
		zp->zp_window_us = z->batch_window_us;
	if (z->has_allones)
		zp->zp_allones = (enum allones_policy)z->allones;
}

static void zap_to_proto(const struct zap_policy *zp, Kvmmu__ZapControl *z)
{
	kvmmu__zap_control__init(z);
	z->has_mode = z->has_batch_window_us = z->has_allones = 1;
	z->mode = (Kvmmu__ZapMode)zp->zp_mode;
	z->batch_window_us = zp->zp_window_us;
	z->allones = (Kvmmu__AllOnes)zp->zp_allones;
}

/*
 * What a new VM takes, against the owner's bounds: a uid cannot escape
 * them by opening more connections.
 */
static int rpc_create_quota(struct rpc_client *c, const Kvmmu__CreateVm *m,
			    struct verr *e)
{
	struct quota_use add = {{0}}, use = {{0}};

	add.qu[QR_VMS] = 1;
	add.qu[QR_VCPUS] = m->vcpus;
	add.qu[QR_RAM] = m->ram_bytes;
	add.qu[QR_FDS] = VM_FDS(m->vcpus);
	add.qu[QR_MAPPINGS] = VM_MAPPINGS(m->vcpus);
	owner_usage(c->c_owner, &use);
	if (quota_check(&c->c_srv->s_quota, NULL, &use, c->c_uid, &add, e) < 0)
		return verr_prefix(e, "CreateVm");
	return 0;
}

/*
 * A UUID names one VM: a second VM with the UUID of one that runs is
 * refused before anything is made, so that no client (kvmmu-virtd after
 * a crash, a frontend started by hand) can run a domain twice.  Names
 * may repeat (the admin API then wants the id); UUIDs are compared
 * without regard to case, as validate_uuid accepts either.
 */
static int rpc_create_unique(struct server *s, const Kvmmu__CreateVm *m,
			     struct verr *e)
{
	struct vm *vm;

	if (m->uuid == NULL)
		return 0; /* a random one is made */
	TAILQ_FOREACH(vm, &s->s_vms, vm_entry)
	{
		if (strcasecmp(vm->vm_uuid, m->uuid) == 0)
			return verr_set(e, EEXIST,
					"CreateVm.uuid: %s is already VM %u "
					"'%s' (pid %d); a UUID names one VM",
					m->uuid, vm->vm_id, vm->vm_name,
					(int)vm->vm_client_pid);
	}
	return 0;
}

static void rpc_machine(const Kvmmu__Machine *m, struct vm_machine *mc)
{
	memset(mc, 0, sizeof(*mc));
	if (m == NULL)
		return;
	mc->vmm_irqchip = m->has_irqchip && m->irqchip;
	mc->vmm_pit = m->has_pit && m->pit;
	mc->vmm_tss = m->has_tss_addr ? m->tss_addr : 0;
	mc->vmm_idmap = m->has_identity_map_addr ? m->identity_map_addr : 0;
}

static int rpc_create_vm(struct rpc_client *c, const Kvmmu__Request *req,
			 struct verr *e)
{
	const Kvmmu__CreateVm *m = req->create_vm;
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__CreateVmReply cr = KVMMU__CREATE_VM_REPLY__INIT;
	struct server *s = c->c_srv;
	struct zap_policy zp = {ZAP_ALL, 0, ALLONES_MMIO};
	struct vm_spec vs;
	int fds[WIRE_MAX_FDS];
	struct vm *vm;
	int r;

	if (c->c_nvms >= s->s_max_vms)
		return verr_set(e, EDQUOT,
				"CreateVm: connection already has "
				"%u VMs (limit %u)",
				c->c_nvms, s->s_max_vms);
	if (m->ram_bytes > s->s_max_ram - c->c_ram)
		return verr_set(e, EDQUOT,
				"CreateVm.ram_bytes: connection "
				"RAM limit %llu MiB reached",
				(unsigned long long)(s->s_max_ram >> 20));
	if (rpc_create_unique(s, m, e) < 0 || rpc_create_quota(c, m, e) < 0)
		return -e->code;
	zap_from_proto(m->zap, &zp);
	vs.vs_name = m->name;
	vs.vs_nvcpus = m->vcpus;
	vs.vs_ram_bytes = m->ram_bytes;
	vs.vs_hugetlb_kib = m->has_hugetlb_page_kib ? m->hugetlb_page_kib : 0;
	vs.vs_backing = m->ram_backing;
	vs.vs_ram_immediate = m->has_ram_immediate && m->ram_immediate;
	vs.vs_zap = zp;
	rpc_machine(m->machine, &vs.vs_machine);
	r = vm_create(&s->s_kh, &vs, &vm, &fds[1], e);
	if (r < 0)
		return r;
	vm->vm_forward = s->s_vcpu_forward; /* before any Run */
	vm->vm_client = c;
	vm->vm_client_pid = c->c_pid;
	vm_set_owner(vm, c->c_owner);
	if (m->uuid != NULL)
		snprintf(vm->vm_uuid, sizeof(vm->vm_uuid), "%s", m->uuid);
	else
		uuid_random(vm->vm_uuid);
	vm->vm_spin_us = s->s_spin_us;
	TAILQ_INSERT_TAIL(&s->s_vms, vm, vm_entry);
	c->c_nvms++;
	c->c_ram += m->ram_bytes;
	srv_count(SC_VMS_CREATED);
	log_info("vm %u '%s': %u vCPUs, %llu MiB, for pid %d uid %u", vm->vm_id,
		 vm->vm_name, m->vcpus,
		 (unsigned long long)(m->ram_bytes >> 20), (int)c->c_pid,
		 (unsigned)c->c_uid);
	fds[0] = vm->vm_ram_fd;
	cr.has_vm_id = cr.has_vcpus = cr.has_ram_bytes = 1;
	cr.vm_id = vm->vm_id;
	cr.vcpus = vm->vm_nvcpus;
	cr.ram_bytes = vm->vm_ram_bytes;
	rep.body_case = KVMMU__REPLY__BODY_CREATE_VM;
	rep.create_vm = &cr;
	r = rpc_reply(c, req, &rep, fds, 1 + m->vcpus);
	/* The frontend has its channel ends now (or the conn is gone). */
	wire_close_fds(&fds[1], m->vcpus);
	return r;
}

static void rpc_region(const Kvmmu__Region *m, struct region *r)
{
	memset(r, 0, sizeof(*r));
	r->r_kind = (enum region_kind)m->kind;
	r->r_gpa = m->gpa;
	r->r_size = m->size;
	r->r_offset = m->has_offset ? m->offset : 0;
	r->r_dirty_log = m->has_dirty_log && m->dirty_log;
	r->r_slot = -1;
	r->r_fd = -1;
	snprintf(r->r_name, sizeof(r->r_name), "%s", m->name ? m->name : "-");
}

static int rpc_map_region(struct rpc_client *c, const Kvmmu__Request *req,
			  struct verr *e)
{
	const Kvmmu__MapRegion *m = req->map_region;
	struct region r;
	struct vm *vm;
	int fd = c->c_nfds ? c->c_fds[0] : -1;

	if (c->c_nfds)
		c->c_fds[0] = -1; /* vm_map_region consumes it */
	vm = rpc_vm(c, m->vm_id, "MapRegion.vm_id", e);
	if (vm == NULL) {
		release_fd(fd);
		return -e->code;
	}
	rpc_region(m->region, &r);
	if (vm_map_region(vm, &r, fd, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

static int rpc_unmap_region(struct rpc_client *c, const Kvmmu__Request *req,
			    struct verr *e)
{
	const Kvmmu__UnmapRegion *m = req->unmap_region;
	struct vm *vm = rpc_vm(c, m->vm_id, "UnmapRegion.vm_id", e);

	if (vm == NULL || vm_unmap_region(vm, m->gpa, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

static void rpc_segment(const Kvmmu__Segment *m, struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->base = m->base_address;
	s->limit = m->limit;
	s->selector = (uint16_t)m->selector;
	s->type = (uint8_t)m->type;
	s->present = m->present;
	s->dpl = (uint8_t)m->dpl;
	s->db = m->db;
	s->s = m->s;
	s->l = m->l;
	s->g = m->g;
	s->unusable = !m->present;
}

static void rpc_vcpu_state(const Kvmmu__VcpuState *m, struct vcpu_regs *st)
{
	struct kvm_regs *regs = &st->vs_regs;
	struct kvm_sregs *sr = &st->vs_sregs;

	memset(st, 0, sizeof(*st));
	regs->rip = m->rip;
	regs->rsp = m->rsp;
	regs->rflags = m->rflags | 2; /* bit 1 is always one */
	regs->rdi = m->rdi;
	regs->rsi = m->rsi;
	regs->rax = m->rax;
	regs->rbx = m->rbx;
	regs->rcx = m->rcx;
	regs->rdx = m->rdx;
	regs->rbp = m->rbp;
	regs->r8 = m->r8;
	regs->r9 = m->r9;
	regs->r10 = m->r10;
	regs->r11 = m->r11;
	regs->r12 = m->r12;
	regs->r13 = m->r13;
	regs->r14 = m->r14;
	regs->r15 = m->r15;
	st->vs_nmsrs = (unsigned)m->n_msrs;
	for (size_t i = 0; i < m->n_msrs; i++) {
		st->vs_msrs[i].index = m->msrs[i]->index;
		st->vs_msrs[i].data = m->msrs[i]->value;
	}
	st->vs_has_fpu = m->has_fpu_fcw;
	st->vs_fcw = (uint16_t)m->fpu_fcw;
	st->vs_mxcsr = m->mxcsr;
	st->vs_has_xcr0 = m->has_xcr0;
	st->vs_xcr0 = m->xcr0;
	rpc_segment(m->cs, &sr->cs);
	rpc_segment(m->ds, &sr->ds);
	rpc_segment(m->es, &sr->es);
	rpc_segment(m->fs, &sr->fs);
	rpc_segment(m->gs, &sr->gs);
	rpc_segment(m->ss, &sr->ss);
	rpc_segment(m->tr, &sr->tr);
	rpc_segment(m->ldt, &sr->ldt);
	sr->gdt.base = m->gdt_base;
	sr->gdt.limit = (uint16_t)m->gdt_limit;
	sr->idt.base = m->idt_base;
	sr->idt.limit = (uint16_t)m->idt_limit;
	sr->cr0 = m->cr0;
	sr->cr3 = m->cr3;
	sr->cr4 = m->cr4;
	sr->efer = m->efer;
}

static int rpc_set_vcpu_state(struct rpc_client *c, const Kvmmu__Request *req,
			      struct verr *e)
{
	const Kvmmu__VcpuState *m = req->set_vcpu_state;
	struct vcpu_regs st;
	struct vm *vm = rpc_vm(c, m->vm_id, "VcpuState.vm_id", e);

	if (vm == NULL)
		return -e->code;
	if (m->vcpu >= vm->vm_nvcpus)
		return verr_set(e, EINVAL,
				"VcpuState.vcpu: %u but the VM has "
				"%u vCPUs",
				m->vcpu, vm->vm_nvcpus);
	/* vm_set_vcpu_state keeps KVM's apic_base, interrupts, cr2, cr8. */
	rpc_vcpu_state(m, &st);
	if (vm_set_vcpu_state(vm, m->vcpu, &st, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

_Static_assert(CPUID_MASKS_MAX <= CPUID_MAX_MASKS, "validate.h vs cpuid.h");
_Static_assert(VCPU_MSRS_MAX <= VCPU_MAX_MSRS, "validate.h vs vm.h");
_Static_assert(IRQ_GSI_MAX < VM_IRQ_PINS, "validate.h vs vm.h");

static int rpc_set_cpuid(struct rpc_client *c, const Kvmmu__Request *req,
			 struct verr *e)
{
	const Kvmmu__SetCpuid *m = req->set_cpuid;
	struct cpuid_mask masks[CPUID_MASKS_MAX];
	struct vm *vm = rpc_vm(c, m->vm_id, "SetCpuid.vm_id", e);

	if (vm == NULL)
		return -e->code;
	for (size_t i = 0; i < m->n_masks; i++) {
		const Kvmmu__CpuidMask *x = m->masks[i];

		masks[i] = (struct cpuid_mask){
			.cm_function = x->function,
			.cm_index = x->index,
			.cm_eax = x->has_eax ? x->eax : ~0U,
			.cm_ebx = x->has_ebx ? x->ebx : ~0U,
			.cm_ecx = x->has_ecx ? x->ecx : ~0U,
			.cm_edx = x->has_edx ? x->edx : ~0U,
		};
	}
	if (vm_set_cpuid(vm, masks, m->n_masks, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

/* Reply fds: the line's eventfd, and its resample eventfd. */
static int rpc_irqfd(struct rpc_client *c, const Kvmmu__Request *req,
		     struct verr *e)
{
	const Kvmmu__Irqfd *m = req->irqfd;
	bool resample = m->has_resample && m->resample;
	struct quota_use add = {{0}};
	struct vm *vm = rpc_vm(c, m->vm_id, "Irqfd.vm_id", e);
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__Ok ok = KVMMU__OK__INIT;
	int fds[2], r;

	if (vm == NULL)
		return -e->code;
	add.qu[QR_FDS] = resample ? 2 : 1;
	if (vm_quota_check(vm, &add, NULL, e) < 0)
		return verr_prefix(e, "Irqfd");
	if (vm_irqfd(vm, m->gsi, resample, fds, e) < 0)
		return -e->code;
	rep.body_case = KVMMU__REPLY__BODY_OK;
	rep.ok = &ok;
	r = rpc_reply(c, req, &rep, fds, resample ? 2 : 1);
	wire_close_fds(fds, 2);
	return r;
}

static void rpc_doorbell(const Kvmmu__Doorbell *m, struct doorbell *d)
{
	memset(d, 0, sizeof(*d));
	d->db_addr = m->addr;
	d->db_len = m->len;
	d->db_pio = m->has_pio && m->pio;
	d->db_match = m->has_datamatch;
	d->db_data = m->has_datamatch ? m->datamatch : 0;
	d->db_fd = -1;
}

/* Assign takes the request's eventfd (rpc_check_fds), deassign none. */
static int rpc_ioeventfd(struct rpc_client *c, const Kvmmu__Request *req,
			 struct verr *e)
{
	const Kvmmu__Ioeventfd *m = req->ioeventfd;
	struct quota_use add = {{0}};
	struct doorbell d;
	struct vm *vm;
	int fd = c->c_nfds ? c->c_fds[0] : -1;

	if (c->c_nfds)
		c->c_fds[0] = -1; /* ours now: assigned, or released */
	rpc_doorbell(m->doorbell, &d);
	vm = rpc_vm(c, m->vm_id, "Ioeventfd.vm_id", e);
	if (vm == NULL || (m->has_deassign && m->deassign)) {
		release_fd(fd);
		if (vm == NULL ||
		    doorbells_deassign(&vm->vm_db, vm->vm_fd, &d, e) < 0)
			return -e->code;
		return rpc_ok(c, req);
	}
	add.qu[QR_DOORBELLS] = 1;
	add.qu[QR_FDS] = 1;
	if (vm_quota_check(vm, &add, NULL, e) < 0 ||
	    doorbells_check_new(&vm->vm_db, &vm->vm_map, &d, e) < 0) {
		release_fd(fd);
		return verr_prefix(e, "Ioeventfd");
	}
	d.db_fd = fd;
	if (doorbells_assign(&vm->vm_db, vm->vm_fd, &d, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

static struct vm *rpc_irqchip_vm(struct rpc_client *c, uint32_t id,
				 const char *field, struct verr *e)
{
	struct vm *vm = rpc_vm(c, id, field, e);

	if (vm != NULL && !vm->vm_machine.vmm_irqchip) {
		verr_set(e, ENXIO,
			 "%s: VM %u has no in-kernel irqchip "
			 "(CreateVm.machine.irqchip)",
			 field, id);
		return NULL;
	}
	return vm;
}

static int rpc_msi_route(struct rpc_client *c, const Kvmmu__Request *req,
			 struct verr *e)
{
	const Kvmmu__MsiRoute *m = req->msi_route;
	struct vm *vm = rpc_irqchip_vm(c, m->vm_id, "MsiRoute.vm_id", e);
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__MsiRouteReply mr = KVMMU__MSI_ROUTE_REPLY__INIT;
	struct quota_use add = {{0}};
	uint32_t gsi = m->gsi;

	if (vm == NULL)
		return -e->code;
	if (m->has_remove && m->remove) {
		if (msi_route_remove(&vm->vm_msi, vm->vm_fd, m->gsi, e) < 0)
			return -e->code;
	} else {
		add.qu[QR_MSI] = !m->has_gsi;
		if (vm_quota_check(vm, &add, NULL, e) < 0)
			return verr_prefix(e, "MsiRoute");
		if (msi_route_set(&vm->vm_msi, vm->vm_fd,
				  m->has_gsi ? (int)m->gsi : -1, m->address_lo,
				  m->address_hi, m->data, &gsi, e) < 0)
			return -e->code;
	}
	mr.has_gsi = 1;
	mr.gsi = gsi;
	rep.body_case = KVMMU__REPLY__BODY_MSI_ROUTE;
	rep.msi_route = &mr;
	return rpc_reply(c, req, &rep, NULL, 0);
}

static int rpc_mask_irqfd(struct rpc_client *c, const Kvmmu__Request *req,
			  struct verr *e)
{
	const Kvmmu__MaskIrqfd *m = req->mask_irqfd;
	struct vm *vm = rpc_irqchip_vm(c, m->vm_id, "MaskIrqfd.vm_id", e);

	if (vm == NULL ||
	    msi_mask(&vm->vm_msi, vm->vm_fd, m->gsi, m->masked, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

static int rpc_signal_msi(struct rpc_client *c, const Kvmmu__Request *req,
			  struct verr *e)
{
	const Kvmmu__SignalMsi *m = req->signal_msi;
	struct vm *vm = rpc_irqchip_vm(c, m->vm_id, "SignalMsi.vm_id", e);

	if (vm == NULL ||
	    msi_signal(vm->vm_fd, m->address_lo, m->address_hi, m->data, e) < 0)
		return -e->code;
	return rpc_ok(c, req);
}

static int rpc_run(struct rpc_client *c, const Kvmmu__Request *req,
		   struct verr *e)
{
	struct vm *vm = rpc_vm(c, req->run->vm_id, "Run.vm_id", e);

	if (vm == NULL)
		return -e->code;
	vm_run(vm);
	return rpc_ok(c, req);
}

static int rpc_stop(struct rpc_client *c, const Kvmmu__Request *req,
		    struct verr *e)
{
	struct vm *vm = rpc_vm(c, req->stop->vm_id, "Stop.vm_id", e);

	if (vm == NULL)
		return -e->code;
	vm_stop(vm);
	return rpc_ok(c, req);
}

static int rpc_get_stats(struct rpc_client *c, const Kvmmu__Request *req,
			 struct verr *e)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__StatsReply st = KVMMU__STATS_REPLY__INIT;
	Kvmmu__ZapControl zap;
	struct stats_reply sr = {0};
	struct vm *vm = rpc_vm(c, req->get_stats->vm_id, "GetStats.vm_id", e);
	int r;

	if (vm == NULL)
		return -e->code;
	r = stats_reply_build(&sr, vm, &st);
	if (r < 0) {
		stats_reply_free(&sr, vm->vm_nvcpus);
		return verr_set(e, -r, "GetStats: %s", strerror(-r));
	}
	zap_to_proto(&vm->vm_zap, &zap);
	st.zap = &zap;
	rep.body_case = KVMMU__REPLY__BODY_STATS;
	rep.stats = &st;
	r = rpc_reply(c, req, &rep, NULL, 0);
	stats_reply_free(&sr, vm->vm_nvcpus);
	return r;
}

static int rpc_set_zap_control(struct rpc_client *c, const Kvmmu__Request *req,
			       struct verr *e)
{
	const Kvmmu__SetZapControl *m = req->set_zap_control;
	struct vm *vm = rpc_vm(c, m->vm_id, "SetZapControl.vm_id", e);
	struct zap_policy zp;

	if (vm == NULL)
		return -e->code;
	zp = vm->vm_zap;
	zap_from_proto(m->zap, &zp);
	if (vm_set_zap(vm, &zp, e) < 0)
		return -e->code;
	log_info("vm %u '%s': zap control mode=%s batch-window-us=%u "
		 "allones=%s",
		 vm->vm_id, vm->vm_name, zap_mode_name(zp.zp_mode),
		 zp.zp_window_us, zap_allones_name(zp.zp_allones));
	return rpc_ok(c, req);
}

static int rpc_tx_reply(struct rpc_client *c, const Kvmmu__Request *req,
			const struct tx_plan *p)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__TransactionReply tr = KVMMU__TRANSACTION_REPLY__INIT;

	tr.has_memslot_ioctls = tr.has_unchanged = tr.has_created = 1;
	tr.has_deleted = tr.has_moved = tr.has_flags_changed = 1;
	tr.memslot_ioctls = p->tp_slot_ops;
	tr.unchanged = p->tp_count[TX_KEEP];
	tr.created = p->tp_count[TX_CREATE];
	tr.deleted = p->tp_count[TX_DELETE];
	tr.moved = p->tp_count[TX_MOVE];
	tr.flags_changed = p->tp_count[TX_FLAGS];
	rep.body_case = KVMMU__REPLY__BODY_TRANSACTION;
	rep.transaction = &tr;
	return rpc_reply(c, req, &rep, NULL, 0);
}

static int rpc_transaction(struct rpc_client *c, const Kvmmu__Request *req,
			   struct verr *e)
{
	const Kvmmu__Transaction *m = req->transaction;
	struct vm *vm = rpc_vm(c, m->vm_id, "Transaction.vm_id", e);
	uint64_t gpa = 0, end = UINT64_MAX;
	struct db_change dbs[TX_MAX_DOORBELLS];
	struct region *regs;
	struct tx_plan plan;
	int r;

	if (vm == NULL)
		return -e->code;
	for (size_t i = 0; i < m->n_doorbells; i++) {
		const Kvmmu__DoorbellChange *x = m->doorbells[i];

		memset(&dbs[i], 0, sizeof(dbs[i]));
		rpc_doorbell(x->doorbell, &dbs[i].dc_key);
		dbs[i].dc_remove = !x->has_new_addr;
		dbs[i].dc_addr = x->new_addr;
	}
	if (m->has_window_gpa) {
		gpa = m->window_gpa;
		end = m->window_gpa + m->window_size;
	}
	regs = calloc(m->n_regions ? m->n_regions : 1, sizeof(*regs));
	if (regs == NULL)
		return verr_set(e, ENOMEM, "Transaction: out of memory");
	for (size_t i = 0; i < m->n_regions; i++) {
		rpc_region(m->regions[i], &regs[i]);
		regs[i].r_slot = vm_region_needs_slot(vm, &regs[i]) ? 0 : -1;
	}
	r = memmap_plan(&vm->vm_map, gpa, end, regs, m->n_regions,
			vm->vm_ram_bytes, &plan, e);
	free(regs);
	if (r < 0)
		return r;
	vm->vm_tx_regions += m->n_regions;
	r = vm_transaction_db(vm, &plan, dbs, m->n_doorbells, TX_TRANSACTION,
			      c->c_srv->s_fail_tx_ioctl, e);
	if (r == 0)
		r = rpc_tx_reply(c, req, &plan);
	tx_plan_free(&plan);
	return r;
}

/* A queued Invalidate's reply, once its batch was applied. */
static void rpc_inval_done(void *cookie, uint64_t id,
			   const struct inval_result *res)
{
	Kvmmu__Reply rep = KVMMU__REPLY__INIT;
	Kvmmu__InvalidateReply ir = KVMMU__INVALIDATE_REPLY__INIT;

	ir.has_requests = ir.has_ranges = ir.has_calls = 1;
	ir.requests = res->requests;
	ir.ranges = res->ranges;
	ir.calls = res->calls;
	rep.body_case = KVMMU__REPLY__BODY_INVALIDATE;
	rep.invalidate = &ir;
	/* A failed send closes the conn at its next event; nothing to do. */
	rpc_reply_id(cookie, id, &rep, NULL, 0);
}

static void rpc_inval_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	inval_flush(arg);
}

/* The batch window's timer of vm, made on first use. */
static struct event *rpc_inval_timer_of(struct rpc_client *c, struct vm *vm)
{
	if (vm->vm_api_timer == NULL)
		vm->vm_api_timer =
			evtimer_new(c->c_srv->s_base, rpc_inval_timer, vm);
	return vm->vm_api_timer;
}

static int rpc_invalidate(struct rpc_client *c, const Kvmmu__Request *req,
			  struct verr *e)
{
	const Kvmmu__Invalidate *m = req->invalidate;
	struct vm *vm = rpc_vm(c, m->vm_id, "Invalidate.vm_id", e);
	struct inval_gpa r[INVAL_MAX_RANGES];
	struct event *timer;
	struct timeval tv;
	int next;

	if (vm == NULL)
		return -e->code;
	for (size_t i = 0; i < m->n_ranges; i++)
		r[i] = (struct inval_gpa){m->ranges[i]->gpa,
					  m->ranges[i]->size};
	next = inval_queue(vm, r, m->n_ranges, m->has_discard && m->discard,
			   req->id, rpc_inval_done, c, e);
	if (next < 0)
		return next;
	timer = next == INVAL_ARM ? rpc_inval_timer_of(c, vm) : NULL;
	tv.tv_sec = vm->vm_zap.zp_window_us / 1000000;
	tv.tv_usec = vm->vm_zap.zp_window_us % 1000000;
	if (next == INVAL_FLUSH ||
	    (next == INVAL_ARM && (timer == NULL || evtimer_add(timer, &tv))))
		inval_flush(vm); /* the reply goes out from here */
	return 0;
}

/*
 * Remembers vm, which is about to end, with why (ListVms): the admin
 * API's destroy among the destroyed, any other end among the ended.
 */
static const char *rpc_vm_gone(struct server *s, struct vm *vm, enum vm_end how,
			       const char *reason)
{
	struct vm_ring *ring =
		how == VM_END_ADMIN ? &s->s_destroyed : &s->s_ended;
	struct vm_gone *g = &ring->vr_vms[ring->vr_n++ % SRV_GONE_KEPT];

	g->vg_id = vm->vm_id;
	snprintf(g->vg_name, sizeof(g->vg_name), "%s", vm->vm_name);
	snprintf(g->vg_uuid, sizeof(g->vg_uuid), "%s", vm->vm_uuid);
	g->vg_uid = vm->vm_owner ? vm->vm_owner->o_uid : 0;
	g->vg_pid = vm->vm_client_pid;
	g->vg_vcpus = vm->vm_nvcpus;
	g->vg_ram_bytes = vm->vm_ram_bytes;
	switch (how) {
	case VM_END_ADMIN:
		snprintf(g->vg_why, sizeof(g->vg_why),
			 "destroyed through the admin API");
		break;
	case VM_END_FRONTEND:
		snprintf(g->vg_why, sizeof(g->vg_why),
			 "ended by its frontend%s%s", reason ? ": " : "",
			 reason ? reason : "");
		break;
	case VM_END_CLOSED:
		snprintf(g->vg_why, sizeof(g->vg_why),
			 "its frontend's connection closed");
		break;
	default:
		snprintf(g->vg_why, sizeof(g->vg_why),
			 "mmu-server stopped (a stop signal)");
	}
	return g->vg_why;
}

void rpc_vm_destroy(struct rpc_client *c, struct vm *vm, enum vm_end how,
		    const char *reason)
{
	const char *why = rpc_vm_gone(c->c_srv, vm, how, reason);

	inval_flush(vm); /* answer queued invalidations first */
	if (vm->vm_api_timer != NULL)
		event_free(vm->vm_api_timer);
	TAILQ_REMOVE(&c->c_srv->s_vms, vm, vm_entry);
	c->c_nvms--;
	c->c_ram -= vm->vm_ram_bytes;
	log_info("vm %u '%s' destroyed: %s", vm->vm_id, vm->vm_name, why);
	vm_destroy(vm);
	srv_count(SC_VMS_DESTROYED);
}

/* validate.c took the reason: printable UTF-8, one line (text.h). */
static int rpc_destroy_vm(struct rpc_client *c, const Kvmmu__Request *req,
			  struct verr *e)
{
	struct vm *vm = rpc_vm(c, req->destroy_vm->vm_id, "DestroyVm.vm_id", e);

	if (vm == NULL)
		return -e->code;
	rpc_vm_destroy(c, vm, VM_END_FRONTEND, req->destroy_vm->reason);
	return rpc_ok(c, req);
}

/* The handlers and fd rules: one row of requests.h each. */
typedef int rpc_handler(struct rpc_client *, const Kvmmu__Request *,
			struct verr *);
static const struct {
	rpc_handler *rt_handle;
	enum req_fds rt_fds;
} rpc_types[REQ_CASES] = {
#define RPC_TYPE(C, stem, Type, fds)                                           \
	[KVMMU__REQUEST__BODY_##C] = {rpc_##stem, fds},
	KVMMU_REQUESTS(RPC_TYPE)
#undef RPC_TYPE
};

/* Whether fd is an eventfd (anon inodes answer readlink with their kind). */
static bool fd_is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* An Ioeventfd that assigns carries one eventfd; one that deassigns none. */
static int rpc_check_eventfd(const Kvmmu__Request *req, const int *fds,
			     size_t nfds, struct verr *e)
{
	bool deassign =
		req->ioeventfd->has_deassign && req->ioeventfd->deassign;

	if (deassign && nfds != 0)
		return verr_set(e, EBADF,
				"Ioeventfd: a deassign takes no fd, got %zu",
				nfds);
	if (!deassign && nfds != 1)
		return verr_set(e, EBADF,
				"Ioeventfd: takes exactly one eventfd, got %zu "
				"fds",
				nfds);
	if (!deassign && !fd_is_eventfd(fds[0]))
		return verr_set(e, EBADF,
				"Ioeventfd: the fd is not an eventfd");
	return 0;
}

/*
 * Only a ROM MapRegion carries an fd, exactly one, and a memfd (only
 * shmem answers F_GET_SEALS), and an Ioeventfd that assigns one
 * eventfd: no handler ever holds another kind of fd.  Refused fds are
 * released off the loop (release.c).
 */
static int rpc_check_fds(const Kvmmu__Request *req, enum req_fds rule,
			 const int *fds, size_t nfds, struct verr *e)
{
	bool rom =
		rule == REQ_FDS_ROM_MEMFD &&
		req->map_region->region->kind == KVMMU__REGION_KIND__REGION_ROM;

	if (rule == REQ_FDS_EVENTFD)
		return rpc_check_eventfd(req, fds, nfds, e);

	if (rom && nfds == 1 && fcntl(fds[0], F_GET_SEALS) < 0)
		return verr_set(e, EBADF,
				"MapRegion: ROM fd is not a memfd "
				"(F_GET_SEALS: %s)",
				strerror(errno));
	if (nfds == (rom ? 1u : 0u))
		return 0;
	if (rom)
		return verr_set(e, EBADF,
				"MapRegion: a ROM region takes "
				"exactly one memfd, got %zu fds",
				nfds);
	return verr_set(e, EBADF,
			"Request: carries %zu fds; only a ROM "
			"MapRegion and an Ioeventfd take one",
			nfds);
}

int rpc_dispatch(struct rpc_client *c, const Kvmmu__Request *req, int *fds,
		 size_t nfds)
{
	uint64_t id = req->has_id ? req->id : 0;
	unsigned bc = (unsigned)req->body_case;
	struct verr e = {0};
	int r;

	r = validate_request(req, &c->c_srv->s_lim, &e);
	if (r == 0 && c->c_srv->s_stopping)
		r = verr_set(&e, ESHUTDOWN,
			     "mmu-server is stopping (a stop signal): it "
			     "ended every VM and takes no more requests");
	if (r == 0 && (bc >= REQ_CASES || rpc_types[bc].rt_handle == NULL))
		r = verr_set(&e, EPROTO, "Request.body: %u has no handler", bc);
	if (r == 0 && !c->c_hello &&
	    req->body_case != KVMMU__REQUEST__BODY_HELLO)
		r = verr_set(&e, EPROTO, "Request: Hello must come first");
	if (r == 0)
		r = rpc_check_fds(req, rpc_types[bc].rt_fds, fds, nfds, &e);
	if (r == 0) {
		srv_count_request(bc);
		c->c_fds = fds;
		c->c_nfds = nfds;
		r = rpc_types[bc].rt_handle(c, req, &e);
		c->c_fds = NULL;
		c->c_nfds = 0;
	}
	wire_close_fds(fds, nfds); /* whatever no handler took */
	if (r < 0 && e.code != 0)
		return c->c_ops->rco_error(c, id, &e);
	return r;
}
