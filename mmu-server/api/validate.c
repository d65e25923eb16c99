/*
 * validate.c: field-by-field checks of frontend requests (a validator per
 * row of requests.h) and of admin API calls (per row of
 * admin_methods.h).  Each error names the message and field, so a
 * frontend developer or an operator sees what to fix.
 * Trust: everything here is untrusted input; nothing is acted on yet.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"
#include "ram.h"
#include "requests.h"
#include "text.h"
#include "validate.h"
#include "zap.h"

#define MISSING(e, field) verr_set(e, EINVAL, "%s: missing", field)

int validate_name(const char *name, const char *field, struct verr *e)
{
	size_t len = strlen(name);

	if (len == 0 || len > KVMMU_NAME_MAX)
		return verr_set(e, EINVAL, "%s: length %zu not in 1..%d", field,
				len, KVMMU_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return verr_set(e, EINVAL,
					"%s: character 0x%02x not allowed "
					"(use [A-Za-z0-9._-])",
					field, (unsigned char)c);
	}
	return 0;
}

int validate_zap(const Kvmmu__ZapControl *z, const char *field, struct verr *e)
{
	if (z->has_mode && z->mode != KVMMU__ZAP_MODE__ZAP_ALL &&
	    z->mode != KVMMU__ZAP_MODE__ZAP_MEMSLOT)
		return verr_set(e, EINVAL, "%s.mode: unknown mode %d", field,
				(int)z->mode);
	if (z->has_allones && z->allones != KVMMU__ALL_ONES__ALLONES_MMIO &&
	    z->allones != KVMMU__ALL_ONES__ALLONES_ROM)
		return verr_set(e, EINVAL, "%s.allones: unknown policy %d",
				field, (int)z->allones);
	if (z->has_batch_window_us && z->batch_window_us > ZAP_MAX_WINDOW_US)
		return verr_set(e, EINVAL, "%s.batch_window_us: %u exceeds %u",
				field, z->batch_window_us, ZAP_MAX_WINDOW_US);
	return 0;
}

int validate_uuid(const char *u, const char *field, struct verr *e)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (strlen(u) != 36)
		return verr_set(e, EINVAL, "%s: '%.40s' is not a UUID", field,
				u);
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : strchr(hex, u[i]) == NULL)
			return verr_set(e, EINVAL,
					"%s: '%s' is not a UUID (8-4-4-4-12 "
					"hex digits)",
					field, u);
	}
	return 0;
}

static int validate_hello(const Kvmmu__Hello *m, const struct limits *lim,
			  struct verr *e)
{
	(void)lim;
	return m->has_version ? 0 : MISSING(e, "Hello.version");
}

#define TSS_PAGES 3 /* KVM_SET_TSS_ADDR takes three pages */

/* A page-aligned range [a, a + pages) below 4 GiB, not at 0. */
static int validate_low_pages(uint32_t a, unsigned pages, const char *field,
			      struct verr *e)
{
	if (a == 0 || !IS_PAGE_ALIGNED(a) ||
	    (uint64_t)a + pages * PAGE_SIZE_4K > 1ULL << 32)
		return verr_set(e, EINVAL,
				"%s: 0x%x is not a non-zero page-aligned "
				"address with %u page(s) below 4 GiB",
				field, a, pages);
	return 0;
}

static int validate_machine(const Kvmmu__Machine *m, struct verr *e)
{
	bool irqchip = m->has_irqchip && m->irqchip;

	if (m->has_pit && m->pit && !irqchip)
		return verr_set(e, EINVAL,
				"CreateVm.machine.pit: the PIT needs the "
				"in-kernel irqchip (machine.irqchip)");
	if (m->has_tss_addr &&
	    validate_low_pages(m->tss_addr, TSS_PAGES,
			       "CreateVm.machine.tss_addr", e) < 0)
		return -e->code;
	if (m->has_identity_map_addr &&
	    validate_low_pages(m->identity_map_addr, 1,
			       "CreateVm.machine.identity_map_addr", e) < 0)
		return -e->code;
	if (m->has_tss_addr && m->has_identity_map_addr &&
	    m->identity_map_addr + PAGE_SIZE_4K > m->tss_addr &&
	    m->identity_map_addr < m->tss_addr + TSS_PAGES * PAGE_SIZE_4K)
		return verr_set(e, EINVAL,
				"CreateVm.machine.identity_map_addr: 0x%x "
				"overlaps the TSS pages at 0x%x",
				m->identity_map_addr, m->tss_addr);
	return 0;
}

/* hugetlbfs pages: a size x86 has, and RAM made of whole pages. */
static int validate_hugetlb(const Kvmmu__CreateVm *m, struct verr *e)
{
	uint64_t page = (uint64_t)m->hugetlb_page_kib << 10;

	if (m->hugetlb_page_kib != 2048 && m->hugetlb_page_kib != 1048576)
		return verr_set(e, EINVAL,
				"CreateVm.hugetlb_page_kib: %u is neither 2048 "
				"nor 1048576",
				m->hugetlb_page_kib);
	if (m->ram_bytes % page != 0)
		return verr_set(e, EINVAL,
				"CreateVm.ram_bytes: %llu is not a multiple of "
				"its %u KiB huge pages",
				(unsigned long long)m->ram_bytes,
				m->hugetlb_page_kib);
	return 0;
}

static int validate_create_vm(const Kvmmu__CreateVm *m,
			      const struct limits *lim, struct verr *e)
{
	if (m->name == NULL)
		return MISSING(e, "CreateVm.name");
	if (validate_name(m->name, "CreateVm.name", e) < 0)
		return -e->code;
	if (!m->has_vcpus)
		return MISSING(e, "CreateVm.vcpus");
	if (m->vcpus == 0 || m->vcpus > lim->max_vcpus)
		return verr_set(e, EINVAL, "CreateVm.vcpus: %u not in 1..%u",
				m->vcpus, lim->max_vcpus);
	if (!m->has_ram_bytes)
		return MISSING(e, "CreateVm.ram_bytes");
	if (m->ram_bytes == 0 || !IS_PAGE_ALIGNED(m->ram_bytes))
		return verr_set(e, EINVAL,
				"CreateVm.ram_bytes: %llu is not a non-zero "
				"multiple of 4096",
				(unsigned long long)m->ram_bytes);
	if (m->ram_bytes > lim->max_ram_bytes)
		return verr_set(e, EINVAL,
				"CreateVm.ram_bytes: %llu exceeds the limit "
				"%llu",
				(unsigned long long)m->ram_bytes,
				(unsigned long long)lim->max_ram_bytes);
	if (m->uuid != NULL && validate_uuid(m->uuid, "CreateVm.uuid", e) < 0)
		return -e->code;
	if (m->has_hugetlb_page_kib && validate_hugetlb(m, e) < 0)
		return -e->code;
	if (m->ram_backing != NULL && ram_backing_parse(m->ram_backing) < 0)
		return verr_set(e, EINVAL,
				"CreateVm.ram_backing: '%s' is neither 'huge' "
				"nor '4k'",
				m->ram_backing);
	if (m->machine != NULL && validate_machine(m->machine, e) < 0)
		return -e->code;
	if (m->zap != NULL)
		return validate_zap(m->zap, "CreateVm.zap", e);
	return 0;
}

static int validate_region(const Kvmmu__Region *r, const struct limits *lim,
			   struct verr *e)
{
	uint64_t end;

	if (!r->has_kind)
		return MISSING(e, "Region.kind");
	if (r->kind != KVMMU__REGION_KIND__REGION_RAM &&
	    r->kind != KVMMU__REGION_KIND__REGION_ROM &&
	    r->kind != KVMMU__REGION_KIND__REGION_MMIO &&
	    r->kind != KVMMU__REGION_KIND__REGION_ALLONES)
		return verr_set(e, EINVAL, "Region.kind: unknown kind %d",
				(int)r->kind);
	if (!r->has_gpa)
		return MISSING(e, "Region.gpa");
	if (!r->has_size)
		return MISSING(e, "Region.size");
	if (!IS_PAGE_ALIGNED(r->gpa))
		return verr_set(e, EINVAL,
				"Region.gpa: 0x%llx not 4 KiB "
				"aligned",
				(unsigned long long)r->gpa);
	if (r->size == 0 || !IS_PAGE_ALIGNED(r->size))
		return verr_set(e, EINVAL,
				"Region.size: 0x%llx is not a non-zero "
				"multiple of 4096",
				(unsigned long long)r->size);
	if (__builtin_add_overflow(r->gpa, r->size, &end) ||
	    end > (1ULL << lim->phys_bits))
		return verr_set(e, EINVAL,
				"Region.gpa: [0x%llx, +0x%llx) exceeds the "
				"guest's %u-bit physical address space",
				(unsigned long long)r->gpa,
				(unsigned long long)r->size, lim->phys_bits);
	if (r->kind == KVMMU__REGION_KIND__REGION_RAM ||
	    r->kind == KVMMU__REGION_KIND__REGION_ROM) {
		if (!r->has_offset)
			return MISSING(e, "Region.offset");
		if (!IS_PAGE_ALIGNED(r->offset))
			return verr_set(e, EINVAL,
					"Region.offset: 0x%llx not 4 KiB "
					"aligned",
					(unsigned long long)r->offset);
		if (__builtin_add_overflow(r->offset, r->size, &end))
			return verr_set(e, EINVAL,
					"Region.offset: offset + size "
					"overflows");
	}
	if (r->name != NULL)
		return validate_name(r->name, "Region.name", e);
	return 0;
}

/* Prefixes e's message with the region's place in a transaction. */
static int validate_tx_region(const Kvmmu__Region *r, size_t i,
			      const struct limits *lim, struct verr *e)
{
	if (validate_region(r, lim, e) == 0) {
		if (r->kind == KVMMU__REGION_KIND__REGION_ROM)
			verr_set(e, EINVAL,
				 "kind ROM carries an fd: use "
				 "MapRegion");
		else if (r->name == NULL)
			verr_set(e, EINVAL,
				 "name: missing (a transaction "
				 "matches regions by name)");
		else
			return 0;
	}
	return verr_prefix(e, "Transaction.regions[%zu]", i);
}

static int validate_tx_doorbells(const Kvmmu__Transaction *m,
				 const struct limits *lim, struct verr *e);

static int validate_transaction(const Kvmmu__Transaction *m,
				const struct limits *lim, struct verr *e)
{
	uint64_t end;

	if (!m->has_vm_id)
		return MISSING(e, "Transaction.vm_id");
	if (m->has_window_gpa != m->has_window_size)
		return verr_set(e, EINVAL,
				"Transaction.window_gpa/size: give "
				"both or neither");
	if (m->has_window_gpa &&
	    (!IS_PAGE_ALIGNED(m->window_gpa) ||
	     !IS_PAGE_ALIGNED(m->window_size) || m->window_size == 0 ||
	     __builtin_add_overflow(m->window_gpa, m->window_size, &end) ||
	     end > (1ULL << lim->phys_bits)))
		return verr_set(e, EINVAL,
				"Transaction.window_gpa/size: [0x%llx, "
				"+0x%llx) is not a page-aligned range of the "
				"%u-bit guest physical address space",
				(unsigned long long)m->window_gpa,
				(unsigned long long)m->window_size,
				lim->phys_bits);
	if (m->n_regions > TX_MAX_REGIONS)
		return verr_set(e, E2BIG,
				"Transaction.regions: %zu regions, "
				"at most %d",
				m->n_regions, TX_MAX_REGIONS);
	for (size_t i = 0; i < m->n_regions; i++) {
		if (validate_tx_region(m->regions[i], i, lim, e) < 0)
			return -e->code;
	}
	return validate_tx_doorbells(m, lim, e);
}

static int validate_invalidate(const Kvmmu__Invalidate *m,
			       const struct limits *lim, struct verr *e)
{
	uint64_t end;

	if (!m->has_vm_id)
		return MISSING(e, "Invalidate.vm_id");
	if (m->n_ranges == 0 || m->n_ranges > INVAL_MAX_RANGES)
		return verr_set(e, EINVAL,
				"Invalidate.ranges: %zu ranges, "
				"want 1..%d",
				m->n_ranges, INVAL_MAX_RANGES);
	for (size_t i = 0; i < m->n_ranges; i++) {
		const Kvmmu__Range *r = m->ranges[i];

		if (!r->has_gpa || !r->has_size)
			return verr_set(e, EINVAL,
					"Invalidate.ranges[%zu]: "
					"gpa and size are required",
					i);
		if (!IS_PAGE_ALIGNED(r->gpa) || !IS_PAGE_ALIGNED(r->size) ||
		    r->size == 0 ||
		    __builtin_add_overflow(r->gpa, r->size, &end) ||
		    end > (1ULL << lim->phys_bits))
			return verr_set(e, EINVAL,
					"Invalidate.ranges[%zu]: [0x%llx, "
					"+0x%llx) is not a non-empty "
					"page-aligned guest range",
					i, (unsigned long long)r->gpa,
					(unsigned long long)r->size);
	}
	return 0;
}

static int validate_segment(const Kvmmu__Segment *s, const char *field,
			    struct verr *e)
{
	if (s == NULL)
		return MISSING(e, field);
	if (s->selector > 0xffff)
		return verr_set(e, EINVAL, "%s.selector: 0x%x > 0xffff", field,
				s->selector);
	if (s->type > 15)
		return verr_set(e, EINVAL, "%s.type: %u > 15", field, s->type);
	if (s->dpl > 3)
		return verr_set(e, EINVAL, "%s.dpl: %u > 3", field, s->dpl);
	if (s->l && s->db)
		return verr_set(e, EINVAL, "%s: l and db both set", field);
	return 0;
}

#define EFER_KNOWN	(1ULL << 0 | 1ULL << 8 | 1ULL << 10 | 1ULL << 11)
#define RFLAGS_RESERVED (~0x3f7fd7ULL)

static int validate_vcpu_regs(const Kvmmu__VcpuState *m,
			      const struct limits *lim, struct verr *e)
{
	if (!m->has_rip)
		return MISSING(e, "VcpuState.rip");
	if (!m->has_rsp)
		return MISSING(e, "VcpuState.rsp");
	if (!m->has_rflags)
		return MISSING(e, "VcpuState.rflags");
	if (m->rflags & RFLAGS_RESERVED)
		return verr_set(e, EINVAL,
				"VcpuState.rflags: reserved bits set in "
				"0x%llx",
				(unsigned long long)m->rflags);
	if (!m->has_cr0 || !m->has_cr3 || !m->has_cr4 || !m->has_efer)
		return MISSING(e, "VcpuState.cr0/cr3/cr4/efer");
	if (m->cr0 >> 32 || m->cr4 >> 32)
		return verr_set(e, EINVAL,
				"VcpuState.cr0/cr4: bits above 31 set");
	if (m->cr3 >> lim->phys_bits)
		return verr_set(e, EINVAL,
				"VcpuState.cr3: 0x%llx beyond %u-bit "
				"physical addresses",
				(unsigned long long)m->cr3, lim->phys_bits);
	if (m->efer & ~EFER_KNOWN)
		return verr_set(e, EINVAL,
				"VcpuState.efer: unknown bits in "
				"0x%llx",
				(unsigned long long)m->efer);
	if (m->gdt_limit > 0xffff || m->idt_limit > 0xffff)
		return verr_set(e, EINVAL,
				"VcpuState.gdt_limit/idt_limit: > 0xffff");
	return 0;
}

/* The MSRs a boot sets (the boot protocol, the kernel's entry). */
static const uint32_t msrs_allowed[] = {
	0x10,	    /* TSC */
	0x174,	    /* SYSENTER_CS */
	0x175,	    /* SYSENTER_ESP */
	0x176,	    /* SYSENTER_EIP */
	0x1a0,	    /* MISC_ENABLE */
	0x277,	    /* PAT */
	0x2ff,	    /* MTRRdefType */
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */
	0xc0000102, /* KERNEL_GS_BASE */
};

static bool msr_allowed(uint32_t index)
{
	for (size_t i = 0; i < sizeof(msrs_allowed) / sizeof(msrs_allowed[0]);
	     i++) {
		if (msrs_allowed[i] == index)
			return true;
	}
	return false;
}

#define XCR0_X87 1ULL

/* MSRs, FPU control and XCR0: each optional, each checked. */
static int validate_vcpu_extra(const Kvmmu__VcpuState *m, struct verr *e)
{
	if (m->n_msrs > VCPU_MSRS_MAX)
		return verr_set(e, EINVAL, "VcpuState.msrs: %zu, at most %d",
				m->n_msrs, VCPU_MSRS_MAX);
	for (size_t i = 0; i < m->n_msrs; i++) {
		const Kvmmu__Msr *x = m->msrs[i];

		if (!x->has_index || !x->has_value)
			return verr_set(e, EINVAL,
					"VcpuState.msrs[%zu]: index and value "
					"are required",
					i);
		if (!msr_allowed(x->index))
			return verr_set(e, EPERM,
					"VcpuState.msrs[%zu]: MSR 0x%x is not "
					"one a boot sets (see kvmmu.proto)",
					i, x->index);
		for (size_t j = 0; j < i; j++) {
			if (m->msrs[j]->index == x->index)
				return verr_set(e, EINVAL,
						"VcpuState.msrs[%zu]: MSR 0x%x "
						"given twice",
						i, x->index);
		}
	}
	if (m->has_fpu_fcw != m->has_mxcsr)
		return verr_set(e, EINVAL,
				"VcpuState.fpu_fcw/mxcsr: give both or "
				"neither");
	if (m->has_fpu_fcw && m->fpu_fcw > 0xffff)
		return verr_set(e, EINVAL, "VcpuState.fpu_fcw: 0x%x > 0xffff",
				m->fpu_fcw);
	if (m->has_mxcsr && m->mxcsr > 0xffff)
		return verr_set(e, EINVAL,
				"VcpuState.mxcsr: reserved bits set in 0x%x",
				m->mxcsr);
	if (m->has_xcr0 && !(m->xcr0 & XCR0_X87))
		return verr_set(e, EINVAL,
				"VcpuState.xcr0: 0x%llx lacks x87 (bit 0)",
				(unsigned long long)m->xcr0);
	return 0;
}

static int validate_set_cpuid(const Kvmmu__SetCpuid *m,
			      const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "SetCpuid.vm_id");
	if (m->n_masks == 0 || m->n_masks > CPUID_MASKS_MAX)
		return verr_set(e, EINVAL, "SetCpuid.masks: %zu, want 1..%d",
				m->n_masks, CPUID_MASKS_MAX);
	for (size_t i = 0; i < m->n_masks; i++) {
		const Kvmmu__CpuidMask *c = m->masks[i];

		if (!c->has_function)
			return verr_set(e, EINVAL,
					"SetCpuid.masks[%zu].function: "
					"missing",
					i);
		for (size_t j = 0; j < i; j++) {
			if (m->masks[j]->function == c->function &&
			    m->masks[j]->index == c->index)
				return verr_set(e, EINVAL,
						"SetCpuid.masks[%zu]: leaf "
						"0x%x index %u given twice",
						i, c->function, c->index);
		}
	}
	return 0;
}

static int validate_irqfd(const Kvmmu__Irqfd *m, const struct limits *lim,
			  struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "Irqfd.vm_id");
	if (!m->has_gsi)
		return MISSING(e, "Irqfd.gsi");
	if (m->gsi > MSI_GSI_LAST)
		return verr_set(e, EINVAL,
				"Irqfd.gsi: %u not in 0..%d (a pin, or an MSI "
				"route's GSI)",
				m->gsi, MSI_GSI_LAST);
	if (m->gsi > IRQ_GSI_MAX && m->has_resample && m->resample)
		return verr_set(e, EINVAL,
				"Irqfd.resample: GSI %u is past the I/O APIC's "
				"pins: an MSI route's, and MSIs are edges",
				m->gsi);
	return 0;
}

/* [addr, + len or 1) in the port space (pio) or guest-physical space. */
static int validate_doorbell_addr(uint64_t addr, uint32_t len, bool pio,
				  const char *field, const struct limits *lim,
				  struct verr *e)
{
	uint64_t end, limit = pio ? PIO_PORTS : 1ULL << lim->phys_bits;

	if (__builtin_add_overflow(addr, len ? len : 1, &end) || end > limit)
		return verr_set(e, EINVAL,
				"%s: 0x%llx + %u is beyond the guest's %s "
				"(0x%llx)",
				field, (unsigned long long)addr, len,
				pio ? "ports" : "physical address space",
				(unsigned long long)limit);
	return 0;
}

/* A doorbell's fields; where names it in messages. */
static int validate_doorbell(const Kvmmu__Doorbell *d, const char *where,
			     const struct limits *lim, struct verr *e)
{
	char field[96];
	bool pio;

	if (d == NULL)
		return MISSING(e, where);
	pio = d->has_pio && d->pio;
	if (!d->has_addr || !d->has_len)
		return verr_set(e, EINVAL, "%s.addr/len: missing", where);
	if (d->len != 0 && d->len != 1 && d->len != 2 && d->len != 4 &&
	    d->len != 8)
		return verr_set(e, EINVAL, "%s.len: %u is not 0, 1, 2, 4 or 8",
				where, d->len);
	if (pio && (d->len == 0 || d->len == 8))
		return verr_set(e, EINVAL,
				"%s.len: %u, but a port write is 1, 2 or 4 "
				"bytes",
				where, d->len);
	if (d->has_datamatch && d->len == 0)
		return verr_set(e, EINVAL,
				"%s.datamatch: needs a len (a write of any "
				"width has no value to match)",
				where);
	if (d->has_datamatch && d->len < 8 && d->datamatch >> (8 * d->len))
		return verr_set(e, EINVAL,
				"%s.datamatch: 0x%llx does not fit in %u "
				"bytes",
				where, (unsigned long long)d->datamatch,
				d->len);
	snprintf(field, sizeof(field), "%s.addr", where);
	return validate_doorbell_addr(d->addr, d->len, pio, field, lim, e);
}

static int validate_ioeventfd(const Kvmmu__Ioeventfd *m,
			      const struct limits *lim, struct verr *e)
{
	if (!m->has_vm_id)
		return MISSING(e, "Ioeventfd.vm_id");
	return validate_doorbell(m->doorbell, "Ioeventfd.doorbell", lim, e);
}

static int validate_tx_doorbells(const Kvmmu__Transaction *m,
				 const struct limits *lim, struct verr *e)
{
	char where[64];

	if (m->n_doorbells > TX_MAX_DOORBELLS)
		return verr_set(e, E2BIG,
				"Transaction.doorbells: %zu, at most %d",
				m->n_doorbells, TX_MAX_DOORBELLS);
	for (size_t i = 0; i < m->n_doorbells; i++) {
		const Kvmmu__DoorbellChange *c = m->doorbells[i];
		const Kvmmu__Doorbell *d = c->doorbell;

		snprintf(where, sizeof(where), "Transaction.doorbells[%zu]", i);
		if (validate_doorbell(d, where, lim, e) < 0)
			return -e->code;
		snprintf(where, sizeof(where),
			 "Transaction.doorbells[%zu].new_addr", i);
		if (c->has_new_addr &&
		    validate_doorbell_addr(c->new_addr, d->len,
					   d->has_pio && d->pio, where, lim,
					   e) < 0)
			return -e->code;
	}
	return 0;
}

/* An MSI message as x86 has it: to the local APICs' window, 16-bit data. */
static int validate_msi_message(bool has_lo, uint32_t lo, uint32_t hi,
				bool has_data, uint32_t data, const char *where,
				struct verr *e)
{
	if (!has_lo || !has_data)
		return verr_set(e, EINVAL, "%s.address_lo/data: missing",
				where);
	if ((lo & 0xfff00000) != 0xfee00000 || (lo & 3) != 0)
		return verr_set(e, EINVAL,
				"%s.address_lo: 0x%x is not an MSI address "
				"(0xfeeXXXXX, bits 1:0 clear)",
				where, lo);
	if (hi != 0)
		return verr_set(e, EINVAL,
				"%s.address_hi: 0x%x, but every vCPU's APIC "
				"id fits in address_lo",
				where, hi);
	if (data > 0xffff)
		return verr_set(e, EINVAL,
				"%s.data: 0x%x has more than 16 bits", where,
				data);
	return 0;
}

static int validate_msi_gsi(uint32_t gsi, const char *field, struct verr *e)
{
	if (gsi <= IRQ_GSI_MAX || gsi > MSI_GSI_LAST)
		return verr_set(e, EINVAL,
				"%s: %u is not an MSI route's GSI (%d..%d)",
				field, gsi, IRQ_GSI_MAX + 1, MSI_GSI_LAST);
	return 0;
}

static int validate_msi_route(const Kvmmu__MsiRoute *m,
			      const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "MsiRoute.vm_id");
	if (m->has_gsi && validate_msi_gsi(m->gsi, "MsiRoute.gsi", e) < 0)
		return -e->code;
	if (!(m->has_remove && m->remove))
		return validate_msi_message(m->has_address_lo, m->address_lo,
					    m->address_hi, m->has_data, m->data,
					    "MsiRoute", e);
	if (!m->has_gsi)
		return verr_set(e, EINVAL,
				"MsiRoute.gsi: missing (remove which route?)");
	if (m->has_address_lo || m->has_address_hi || m->has_data)
		return verr_set(e, EINVAL,
				"MsiRoute.remove: give a message or remove, "
				"not both");
	return 0;
}

static int validate_mask_irqfd(const Kvmmu__MaskIrqfd *m,
			       const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "MaskIrqfd.vm_id");
	if (!m->has_gsi)
		return MISSING(e, "MaskIrqfd.gsi");
	if (!m->has_masked)
		return MISSING(e, "MaskIrqfd.masked");
	return validate_msi_gsi(m->gsi, "MaskIrqfd.gsi", e);
}

static int validate_signal_msi(const Kvmmu__SignalMsi *m,
			       const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "SignalMsi.vm_id");
	return validate_msi_message(m->has_address_lo, m->address_lo,
				    m->address_hi, m->has_data, m->data,
				    "SignalMsi", e);
}

static int validate_set_vcpu_state(const Kvmmu__VcpuState *m,
				   const struct limits *lim, struct verr *e)
{
	const Kvmmu__Segment *segs[] = {m->cs, m->ds, m->es, m->fs,
					m->gs, m->ss, m->tr, m->ldt};
	const char *names[] = {"VcpuState.cs", "VcpuState.ds", "VcpuState.es",
			       "VcpuState.fs", "VcpuState.gs", "VcpuState.ss",
			       "VcpuState.tr", "VcpuState.ldt"};

	if (!m->has_vm_id)
		return MISSING(e, "VcpuState.vm_id");
	if (!m->has_vcpu)
		return MISSING(e, "VcpuState.vcpu");
	if (m->vcpu >= lim->max_vcpus)
		return verr_set(e, EINVAL, "VcpuState.vcpu: %u >= %u", m->vcpu,
				lim->max_vcpus);
	if (validate_vcpu_regs(m, lim, e) < 0)
		return -e->code;
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		if (validate_segment(segs[i], names[i], e) < 0)
			return -e->code;
	}
	return validate_vcpu_extra(m, e);
}

static int validate_map_region(const Kvmmu__MapRegion *m,
			       const struct limits *lim, struct verr *e)
{
	if (!m->has_vm_id)
		return MISSING(e, "MapRegion.vm_id");
	if (m->region == NULL)
		return MISSING(e, "MapRegion.region");
	return validate_region(m->region, lim, e);
}

static int validate_unmap_region(const Kvmmu__UnmapRegion *m,
				 const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "UnmapRegion.vm_id");
	return m->has_gpa ? 0 : MISSING(e, "UnmapRegion.gpa");
}

static int validate_set_zap_control(const Kvmmu__SetZapControl *m,
				    const struct limits *lim, struct verr *e)
{
	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "SetZapControl.vm_id");
	if (m->zap == NULL)
		return MISSING(e, "SetZapControl.zap");
	return validate_zap(m->zap, "SetZapControl.zap", e);
}

/* Requests whose only field is the VM they act on. */
#define VM_ONLY(stem, Type)                                                    \
	static int validate_##stem(const Kvmmu__##Type *m,                     \
				   const struct limits *lim, struct verr *e)   \
	{                                                                      \
		(void)lim;                                                     \
		return m->has_vm_id ? 0 : MISSING(e, #Type ".vm_id");          \
	}
VM_ONLY(run, Run)
VM_ONLY(stop, Stop)
VM_ONLY(get_stats, GetStats)

/*
 * A reason is shown to people (the server's log, mmuctl list): one line
 * that reads as it was written (text.h).  A NUL cannot reach here: a
 * string with one is not in canonical encoding, which control.c refuses.
 */
static int validate_destroy_vm(const Kvmmu__DestroyVm *m,
			       const struct limits *lim, struct verr *e)
{
	size_t len, ok;

	(void)lim;
	if (!m->has_vm_id)
		return MISSING(e, "DestroyVm.vm_id");
	if (m->reason == NULL)
		return 0;
	len = strlen(m->reason);
	if (len == 0 || len > KVMMU_REASON_MAX)
		return verr_set(e, EINVAL,
				"DestroyVm.reason: length %zu not in 1..%d",
				len, KVMMU_REASON_MAX);
	ok = text_printable(m->reason, len);
	if (ok < len)
		return verr_set(e, EINVAL,
				"DestroyVm.reason: byte %zu (0x%02x) is not "
				"printable UTF-8 (a control character, a line "
				"separator, a bidirectional override or not "
				"UTF-8)",
				ok, (unsigned char)m->reason[ok]);
	return 0;
}

/*
 * One validator of the whole request per row of requests.h; its
 * validate_stem must take the row's message type, or this does not build.
 */
typedef int validate_fn(const Kvmmu__Request *, const struct limits *,
			struct verr *);
#define VALIDATE_BODY(C, stem, Type, fds)                                      \
	static int validate_body_##stem(const Kvmmu__Request *req,             \
					const struct limits *lim,              \
					struct verr *e)                        \
	{                                                                      \
		int (*check)(const Kvmmu__##Type *, const struct limits *,     \
			     struct verr *) = validate_##stem;                 \
		return check(req->stem, lim, e);                               \
	}
KVMMU_REQUESTS(VALIDATE_BODY)
#define VALIDATOR(C, stem, Type, fds)                                          \
	[KVMMU__REQUEST__BODY_##C] = validate_body_##stem,
static validate_fn *const validators[REQ_CASES] = {KVMMU_REQUESTS(VALIDATOR)};

int validate_request(const Kvmmu__Request *req, const struct limits *lim,
		     struct verr *e)
{
	if (!req->has_version)
		return MISSING(e, "Request.version");
	if (req->version != KVMMU_PROTOCOL_VERSION)
		return verr_set(e, EPROTO,
				"Request.version: %u not supported (server "
				"speaks %d)",
				req->version, KVMMU_PROTOCOL_VERSION);
	if (!req->has_id)
		return MISSING(e, "Request.id");
	if ((unsigned)req->body_case >= REQ_CASES ||
	    validators[req->body_case] == NULL)
		return verr_set(e, EINVAL, "Request.body: missing or unknown");
	return validators[req->body_case](req, lim, e);
}

/* ---- the admin API (admin_methods.h) ---------------------------------- */

/*
 * No field the message's type lacks, in it or any message inside it.
 * protobuf keeps what it does not know, so a body meant for another
 * method (an InvalidateRequest sent as DestroyVm: its vm is a VmRequest's
 * vm) or a newer client's field would otherwise be acted on as if this
 * server understood all of it.
 */
static int validate_known(const ProtobufCMessage *m, const char *where,
			  struct verr *e)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char field[80];

	if (m->n_unknown_fields != 0)
		return verr_set(e, EINVAL,
				"%s: field %u is not in %s (another method's "
				"message, or a newer client's)",
				where, m->unknown_fields[0].tag, d->name);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;
		size_t n = 1;
		ProtobufCMessage *const *subs = (void *)at;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			subs = *(ProtobufCMessage *const *const *)at;
		}
		snprintf(field, sizeof(field), "%s.%s", where, f->name);
		for (size_t j = 0; j < n; j++) {
			if (subs[j] != NULL &&
			    validate_known(subs[j], field, e) < 0)
				return -e->code;
		}
	}
	return 0;
}

/* A VM by id, or by name when id is absent (admin.proto, VmRef). */
static int validate_vm_ref(const Kvmmu__Admin__V1__VmRef *ref, struct verr *e)
{
	if (ref == NULL || (!ref->has_id && ref->name == NULL))
		return verr_set(e, EINVAL, "vm: give an id or a name");
	return 0;
}

static int validate_admin_list_vms(const Kvmmu__Admin__V1__ListVmsRequest *m,
				   struct verr *e)
{
	(void)m; /* no fields */
	(void)e;
	return 0;
}

static int validate_admin_get_vm(const Kvmmu__Admin__V1__GetVmRequest *m,
				 struct verr *e)
{
	return validate_vm_ref(m->vm, e);
}

static int validate_admin_get_stats(const Kvmmu__Admin__V1__GetStatsRequest *m,
				    struct verr *e)
{
	return validate_vm_ref(m->vm, e);
}

/* The operator's names for a policy; only the fields given change. */
static int validate_admin_zap(const Kvmmu__Admin__V1__ZapControl *z,
			      struct verr *e)
{
	if (z == NULL)
		return verr_set(e, EINVAL, "zap: missing");
	if (z->mode != NULL && zap_mode_parse(z->mode) < 0)
		return verr_set(e, EINVAL,
				"zap.mode: '%.40s' is neither 'all' nor "
				"'memslot'",
				z->mode);
	if (z->allones != NULL && zap_allones_parse(z->allones) < 0)
		return verr_set(e, EINVAL,
				"zap.allones: '%.40s' is neither 'mmio' nor "
				"'rom'",
				z->allones);
	if (z->has_batch_window_us && z->batch_window_us > ZAP_MAX_WINDOW_US)
		return verr_set(e, EINVAL, "zap.batch_window_us: %u exceeds %u",
				z->batch_window_us, ZAP_MAX_WINDOW_US);
	return 0;
}

static int
validate_admin_set_zap_control(const Kvmmu__Admin__V1__SetZapControlRequest *m,
			       struct verr *e)
{
	if (validate_vm_ref(m->vm, e) < 0)
		return -e->code;
	return validate_admin_zap(m->zap, e);
}

static int
validate_admin_invalidate(const Kvmmu__Admin__V1__InvalidateRequest *m,
			  struct verr *e)
{
	uint64_t end;

	if (validate_vm_ref(m->vm, e) < 0)
		return -e->code;
	if (!m->has_gpa || !m->has_size || m->size == 0 ||
	    !IS_PAGE_ALIGNED(m->gpa) || !IS_PAGE_ALIGNED(m->size) ||
	    __builtin_add_overflow(m->gpa, m->size, &end))
		return verr_set(e, EINVAL,
				"gpa/size: a non-empty page-aligned range is "
				"needed");
	return 0;
}

static int validate_admin_pause_vm(const Kvmmu__Admin__V1__VmRequest *m,
				   struct verr *e)
{
	return validate_vm_ref(m->vm, e);
}

static int validate_admin_resume_vm(const Kvmmu__Admin__V1__VmRequest *m,
				    struct verr *e)
{
	return validate_vm_ref(m->vm, e);
}

static int validate_admin_destroy_vm(const Kvmmu__Admin__V1__VmRequest *m,
				     struct verr *e)
{
	return validate_vm_ref(m->vm, e);
}

static int validate_admin_get_host(const Kvmmu__Admin__V1__GetHostRequest *m,
				   struct verr *e)
{
	(void)m; /* no fields */
	(void)e;
	return 0;
}

/* Any service name is a question: an unknown one is NOT_FOUND, later. */
static int
validate_admin_health_check(const Grpc__Health__V1__HealthCheckRequest *m,
			    struct verr *e)
{
	return m->service != NULL ? 0 : verr_set(e, EINVAL, "service: missing");
}

/*
 * One validator per row of admin_methods.h, in the table's order; its
 * validate_admin_stem must take the row's request type, or this does
 * not build.
 */
typedef int admin_validate_fn(const ProtobufCMessage *, struct verr *);
#define ADMIN_VALIDATE(path, stem, Req, Reply, effect)                         \
	static int validate_admin_row_##stem(const ProtobufCMessage *m,        \
					     struct verr *e)                   \
	{                                                                      \
		int (*check)(const Req *, struct verr *) =                     \
			validate_admin_##stem;                                 \
		return check((const Req *)m, e);                               \
	}
KVMMU_ADMIN_METHODS(ADMIN_VALIDATE)
#define ADMIN_VALIDATOR(path, stem, Req, Reply, effect)                        \
	validate_admin_row_##stem,
static admin_validate_fn *const admin_validators[ADMIN_NMETHODS] = {
	KVMMU_ADMIN_METHODS(ADMIN_VALIDATOR)};

int validate_admin(const struct admin_method *m, const ProtobufCMessage *req,
		   struct verr *e)
{
	int i = admin_method_index(m);

	if (i < 0)
		return verr_set(e, EPROTO, "%s: not a row of the method table",
				m->am_path);
	/* The row's own type: only then is the cast above sound. */
	if (strcmp(req->descriptor->c_name, m->am_req) != 0)
		return verr_set(e, EINVAL, "%s: takes a %s, not a %s",
				m->am_path, m->am_req, req->descriptor->c_name);
	if (validate_known(req, req->descriptor->short_name, e) < 0)
		return -e->code;
	return admin_validators[i](req, e);
}
