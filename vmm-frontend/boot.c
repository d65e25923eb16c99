/*
 * boot.c: boots a payload through mmu-server.  The frontend has no VM or
 * vCPU fd: it writes the guest into the RAM memfd the server hands over
 * and sends each vCPU's state as a VcpuState request.
 * Trust: unprivileged.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "guest.h"
#include "wire.h"

static void seg_to_proto(const struct kvm_segment *k, Kvmmu__Segment *m)
{
	kvmmu__segment__init(m);
	m->has_base_address = m->has_limit = m->has_selector = 1;
	m->has_type = m->has_present = m->has_dpl = 1;
	m->has_db = m->has_s = m->has_l = m->has_g = 1;
	m->base_address = k->base;
	m->limit = k->limit;
	m->selector = k->selector;
	m->type = k->type;
	m->present = k->present && !k->unusable;
	m->dpl = k->dpl;
	m->db = k->db;
	m->s = k->s;
	m->l = k->l;
	m->g = k->g;
}

int vcpustate_send(struct client *cl, uint32_t vm_id, unsigned idx)
{
	Kvmmu__Reply *rep = NULL;
	uint64_t id;
	int r = vcpustate_request(cl, vm_id, idx, &id);

	if (r == 0)
		r = client_recv_reply(cl, id, &rep, NULL, NULL);
	client_free_reply(rep);
	return r;
}

void vcpustate_fill(Kvmmu__VcpuState *m, Kvmmu__Segment seg[8], uint32_t vm_id,
		    unsigned idx, const struct kvm_regs *regs,
		    const struct kvm_sregs *sr)
{
	kvmmu__vcpu_state__init(m);
	m->has_vm_id = m->has_vcpu = m->has_rip = m->has_rsp = 1;
	m->has_rflags = m->has_rdi = m->has_rsi = 1;
	m->has_rax = m->has_rbx = m->has_rcx = m->has_rdx = m->has_rbp = 1;
	m->has_cr0 = m->has_cr3 = m->has_cr4 = m->has_efer = 1;
	m->has_gdt_base = m->has_gdt_limit = m->has_idt_base = 1;
	m->has_idt_limit = 1;
	m->vm_id = vm_id;
	m->vcpu = idx;
	m->rip = regs->rip;
	m->rsp = regs->rsp;
	m->rflags = regs->rflags;
	m->rdi = regs->rdi;
	m->rsi = regs->rsi;
	m->rax = regs->rax;
	m->rbx = regs->rbx;
	m->rcx = regs->rcx;
	m->rdx = regs->rdx;
	m->rbp = regs->rbp;
	m->cr0 = sr->cr0;
	m->cr3 = sr->cr3;
	m->cr4 = sr->cr4;
	m->efer = sr->efer;
	m->gdt_base = sr->gdt.base;
	m->gdt_limit = sr->gdt.limit;
	m->idt_base = sr->idt.base;
	m->idt_limit = sr->idt.limit;
	seg_to_proto(&sr->cs, m->cs = &seg[0]);
	seg_to_proto(&sr->ds, m->ds = &seg[1]);
	seg_to_proto(&sr->es, m->es = &seg[2]);
	seg_to_proto(&sr->fs, m->fs = &seg[3]);
	seg_to_proto(&sr->gs, m->gs = &seg[4]);
	seg_to_proto(&sr->ss, m->ss = &seg[5]);
	seg_to_proto(&sr->tr, m->tr = &seg[6]);
	seg_to_proto(&sr->ldt, m->ldt = &seg[7]);
}

int vcpustate_request(struct client *cl, uint32_t vm_id, unsigned idx,
		      uint64_t *id)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__VcpuState m;
	Kvmmu__Segment seg[8];
	struct kvm_sregs sr = {0};
	struct kvm_regs regs;

	guest_vcpu_state(idx, &regs, &sr);
	vcpustate_fill(&m, seg, vm_id, idx, &regs, &sr);
	req.body_case = KVMMU__REQUEST__BODY_SET_VCPU_STATE;
	req.set_vcpu_state = &m;
	return client_send(cl, &req, NULL, 0, id);
}

static int boot_fail(struct client *cl, struct boot *b, const char *what,
		     char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, cl->cl_err);
	boot_release(b);
	return -1;
}

static int boot_map(struct client *cl, struct boot *b,
		    const struct boot_spec *bs)
{
	Kvmmu__Region ram = KVMMU__REGION__INIT, *one = &ram;

	if (bs->bs_map != NULL)
		return client_transaction(cl, b->b_vm, 0, 0, bs->bs_map,
					  bs->bs_nmap, NULL);
	ram.has_kind = ram.has_gpa = ram.has_size = ram.has_offset = 1;
	ram.kind = KVMMU__REGION_KIND__REGION_RAM;
	ram.size = bs->bs_ram;
	ram.name = "ram";
	return client_transaction(cl, b->b_vm, 0, 0, &one, 1, NULL);
}

int boot_vm(struct client *cl, struct boot *b, const struct boot_spec *bs,
	    char *err, size_t errlen)
{
	uint64_t total = bs->bs_ram + bs->bs_extra;

	memset(b, 0, sizeof(*b));
	b->b_ram_fd = -1;
	for (unsigned i = 0; i < GUEST_MAX_VCPUS; i++)
		b->b_chans[i] = -1;
	if (bs->bs_vcpus == 0 || bs->bs_vcpus > GUEST_MAX_VCPUS) {
		snprintf(err, errlen, "%u vCPUs not in 1..%d", bs->bs_vcpus,
			 GUEST_MAX_VCPUS);
		return -1;
	}
	if (client_create_vm_uuid(cl, bs->bs_name, bs->bs_uuid, bs->bs_vcpus,
				  total, bs->bs_zap, &b->b_vm, &b->b_ram_fd,
				  b->b_chans) < 0)
		return boot_fail(cl, b, "CreateVm", err, errlen);
	b->b_nvcpus = bs->bs_vcpus;
	b->b_ram_bytes = total;
	b->b_ram = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED,
			b->b_ram_fd, 0);
	if (b->b_ram == MAP_FAILED) {
		b->b_ram = NULL;
		snprintf(err, errlen, "mmap guest RAM: %m");
		boot_release(b);
		return -1;
	}
	if (guest_setup(b->b_ram, bs->bs_ram, bs->bs_vcpus, bs->bs_payload,
			bs->bs_len, bs->bs_cmdline, err, errlen) < 0) {
		boot_release(b);
		return -1;
	}
	if (boot_map(cl, b, bs) < 0)
		return boot_fail(cl, b, "Transaction (initial map)", err,
				 errlen);
	for (unsigned i = 0; i < bs->bs_vcpus; i++) {
		if (vcpustate_send(cl, b->b_vm, i) < 0)
			return boot_fail(cl, b, "VcpuState", err, errlen);
	}
	return 0;
}

void boot_release(struct boot *b)
{
	if (b->b_ram != NULL)
		munmap(b->b_ram, b->b_ram_bytes);
	b->b_ram = NULL;
	if (b->b_ram_fd >= 0)
		close(b->b_ram_fd);
	b->b_ram_fd = -1;
	wire_close_fds(b->b_chans, GUEST_MAX_VCPUS);
}
