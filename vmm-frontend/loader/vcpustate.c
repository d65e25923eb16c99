/*
 * vcpustate.c: a VcpuState request from KVM's register structures, for
 * the payload boot (boot.c) and the Linux loader (linux.c).
 * Trust: unprivileged; only copies values the caller computed.
 */
#include "vcpustate.h"

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
