/*
 * linux.c: a bzImage into guest RAM and vCPU 0's entry state (linux.h).
 *
 * Low memory, as the kernel finds it:
 *   0x1000  GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18), TSS (0x20)
 *   0x2000  a TSS (KVM wants a usable TR to enter long mode)
 *   0x7000  the zero page (bzimage.c), 0x8ff0 down: a boot stack
 *   0x9000  identity page tables over the first 4 GiB, 2 MiB pages
 *   0x20000 the command line (bzimage.c)
 *   0x9fc00 the MP table (reserved in e820)
 *   0xf0000 the ACPI tables, RSDP first (in the BIOS area e820 reserves)
 * The kernel goes to its preferred address, the initrd as high as its
 * header and the RAM allow (bzimage_place).
 * Trust: unprivileged; every size in the image is checked before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "linux.h"
#include "mptable.h"
#include "vcpustate.h"
#include "x86.h"

#define GDT_GPA	      0x1000ULL
#define TSS_GPA	      0x2000ULL
#define TSS_LIMIT     0x67
#define STACK_TOP     0x8ff0ULL
#define PT_GPA	      0x9000ULL /* PML4, PDPT, 4 PDs: 24 KiB */
#define PT_END	      (PT_GPA + 6 * 0x1000)
#define MP_TABLE_ROOM 0x400ULL
#define BIOS_GPA      0xf0000ULL
#define LOW_END	      0x100000ULL

_Static_assert(LINUX_ACPI_GPA >= BIOS_GPA &&
		       LINUX_ACPI_GPA + ACPI_ROOM <= LOW_END,
	       "the ACPI tables lie in the BIOS area e820 reserves");

#define SEL_CS	0x10 /* the boot protocol's __BOOT_CS */
#define SEL_DS	0x18 /* __BOOT_DS */
#define SEL_TSS 0x20

#define MSR_MISC_ENABLE	  0x1a0
#define MISC_FAST_STRING  1ULL
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE_WB	  (1ULL << 11 | 6) /* MTRRs on, write-back */
#define FPU_FCW_RESET	  0x37f
#define FPU_MXCSR_RESET	  0x1f80
#define LINUX_BOOT_MSRS	  2
#define E820_SCRATCH	  (2 * BZ_E820_MAX)
#define CMDLINE_EMPTY	  ""

bool linux_is_bzimage(const char *path)
{
	uint8_t hdr[BZ_HEADER_PROBE];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	/* The boot flag and "HdrS": bzimage_parse checks the rest. */
	return n == (ssize_t)sizeof(hdr) && hdr[0x1fe] == 0x55 &&
	       hdr[0x1ff] == 0xaa && memcmp(hdr + 0x202, "HdrS", 4) == 0;
}

static void e820_add(struct e820_entry *e, size_t *n, uint64_t lo, uint64_t hi,
		     uint32_t type)
{
	if (hi > lo && *n < E820_SCRATCH)
		e[(*n)++] = (struct e820_entry){lo, hi - lo, type};
}

/* Sorted by address; touching RAM entries become one. */
static size_t e820_tidy(struct e820_entry *e, size_t n)
{
	size_t out = 0;

	for (size_t i = 1; i < n; i++) {
		struct e820_entry x = e[i];
		size_t j = i;

		for (; j > 0 && e[j - 1].addr > x.addr; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		struct e820_entry *last = out ? &e[out - 1] : NULL;

		if (last && last->type == e[i].type &&
		    last->addr + last->size == e[i].addr)
			last->size += e[i].size;
		else
			e[out++] = e[i];
	}
	return out;
}

int linux_e820(Kvmmu__Region *const *map, size_t n, struct e820_entry *e,
	       size_t max, char *err, size_t errlen)
{
	struct e820_entry tmp[E820_SCRATCH];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t lo = map[i]->gpa, hi = lo + map[i]->size;

		if (map[i]->kind != KVMMU__REGION_KIND__REGION_RAM)
			continue;
		/* Below 1 MiB only up to the MP table is the kernel's. */
		e820_add(tmp, &k, lo, hi < LINUX_MP_TABLE ? hi : LINUX_MP_TABLE,
			 BZ_E820_RAM);
		e820_add(tmp, &k, lo > LOW_END ? lo : LOW_END, hi, BZ_E820_RAM);
	}
	e820_add(tmp, &k, LINUX_MP_TABLE, LINUX_MP_TABLE + MP_TABLE_ROOM,
		 BZ_E820_RESERVED);
	e820_add(tmp, &k, BIOS_GPA, LOW_END, BZ_E820_RESERVED);
	k = e820_tidy(tmp, k);
	if (k > max)
		return errbuf_set(err, errlen,
				  "e820: %zu entries, room for %zu", k, max);
	memcpy(e, tmp, k * sizeof(*e));
	return (int)k;
}

static void linux_gdt(uint8_t *ram, bool entry64)
{
	uint64_t gdt[6] = {0};

	gdt[SEL_CS / 8] = x86_desc_flat(DESC_P | DESC_S | SEG_TYPE_CODE,
					DESC_G | (entry64 ? DESC_L : DESC_DB));
	gdt[SEL_DS / 8] = x86_desc_flat(DESC_P | DESC_S | SEG_TYPE_DATA,
					DESC_G | DESC_DB);
	gdt[SEL_TSS / 8] = TSS_LIMIT | TSS_GPA << 16 |
			   (uint64_t)(DESC_P | SEG_TYPE_TSS_BUSY) << 40;
	memcpy(ram + GDT_GPA, gdt, sizeof(gdt));
	memset(ram + TSS_GPA, 0, TSS_LIMIT + 1);
}

/* Identity map of the first 4 GiB with 2 MiB pages, supervisor only. */
static void linux_page_tables(uint8_t *ram)
{
	uint64_t pt[6 * 512] = {0};
	uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;

	pml4[0] = (PT_GPA + 0x1000) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++) {
		pdpt[i] = (PT_GPA + 0x2000 + i * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++)
			pd[i * 512 + j] = ((i << 30) + (j << 21)) | PTE_P |
					  PTE_RW | PTE_PS;
	}
	memcpy(ram + PT_GPA, pt, sizeof(pt));
}

static void linux_regs(const struct bzimage *bz, uint64_t zero_page,
		       struct linux_boot *lb)
{
	struct kvm_sregs *sr = &lb->lb_sregs;
	struct kvm_regs *r = &lb->lb_regs;

	memset(lb, 0, sizeof(*lb));
	lb->lb_entry64 = bz->bz_entry64;
	r->rip = bz->bz_entry;
	r->rsi = zero_page; /* the boot protocol's pointer to boot_params */
	r->rsp = r->rbp = STACK_TOP;
	r->rflags = RFLAGS_FIXED; /* interrupts off */
	x86_seg_flat(&sr->cs, SEL_CS, SEG_TYPE_CODE, 0, bz->bz_entry64);
	x86_seg_flat(&sr->ds, SEL_DS, SEG_TYPE_DATA, 0, false);
	sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
	sr->tr.base = TSS_GPA;
	sr->tr.limit = TSS_LIMIT;
	sr->tr.selector = SEL_TSS;
	sr->tr.type = SEG_TYPE_TSS_BUSY;
	sr->tr.present = 1;
	sr->ldt.type = SEG_TYPE_LDT;
	sr->ldt.unusable = 1;
	sr->gdt.base = GDT_GPA;
	sr->gdt.limit = 6 * 8 - 1;
	sr->cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (bz->bz_entry64) {
		sr->cr0 |= CR0_PG;
		sr->cr3 = PT_GPA;
		sr->cr4 = CR4_PAE;
		sr->efer = EFER_LME | EFER_LMA;
	}
}

int linux_setup(uint8_t *ram, uint64_t ram_bytes, const struct linux_spec *ls,
		const struct e820_entry *e, size_t ne, struct linux_boot *lb,
		char *err, size_t errlen)
{
	const char *cmdline = ls->ls_cmdline ? ls->ls_cmdline : CMDLINE_EMPTY;
	size_t clen = strlen(cmdline);
	struct bzimage_layout lo;
	struct bzimage bz;

	if (bzimage_parse(ls->ls_kernel, ls->ls_kernel_len, &bz, err, errlen) <
	    0)
		return -1;
	if (bzimage_place(&bz, ram_bytes, clen, ls->ls_initrd_len, &lo, err,
			  errlen) < 0)
		return -1;
	if (bz.bz_load < PT_END || bz.bz_load + bz.bz_kernel_len > ram_bytes)
		return errbuf_set(
			err, errlen,
			"bzImage: %zu bytes at 0x%llx do not fit in %llu "
			"MiB of RAM above the boot structures",
			bz.bz_kernel_len, (unsigned long long)bz.bz_load,
			(unsigned long long)(ram_bytes >> 20));
	if (mptable_build(ram + LINUX_MP_TABLE, MP_TABLE_ROOM, LINUX_MP_TABLE,
			  ls->ls_vcpus, err, errlen) < 0)
		return -1;
	if (ls->ls_acpi != NULL &&
	    acpi_build(ram + LINUX_ACPI_GPA, ACPI_ROOM, LINUX_ACPI_GPA,
		       ls->ls_acpi, err, errlen) < 0)
		return -1;
	if (bzimage_zero_page(ls->ls_kernel, &lo, e, ne, ram + lo.bl_zero_page,
			      err, errlen) < 0)
		return -1;
	memcpy(ram + bz.bz_load, ls->ls_kernel + bz.bz_kernel_off,
	       bz.bz_kernel_len);
	memcpy(ram + lo.bl_cmdline, cmdline, clen + 1);
	if (lo.bl_initrd_len > 0)
		memcpy(ram + lo.bl_initrd, ls->ls_initrd, ls->ls_initrd_len);
	linux_gdt(ram, bz.bz_entry64);
	linux_page_tables(ram);
	linux_regs(&bz, lo.bl_zero_page, lb);
	return 0;
}

int linux_vcpustate_send(struct client *cl, uint32_t vm_id,
			 const struct linux_boot *lb)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Msr msr[LINUX_BOOT_MSRS], *mp[LINUX_BOOT_MSRS];
	Kvmmu__Segment seg[8];
	Kvmmu__VcpuState m;
	const uint32_t idx[LINUX_BOOT_MSRS] = {MSR_MISC_ENABLE,
					       MSR_MTRR_DEF_TYPE};
	const uint64_t val[LINUX_BOOT_MSRS] = {MISC_FAST_STRING,
					       MTRR_ENABLE_WB};

	vcpustate_fill(&m, seg, vm_id, 0, &lb->lb_regs, &lb->lb_sregs);
	for (int i = 0; i < LINUX_BOOT_MSRS; i++) {
		kvmmu__msr__init(&msr[i]);
		msr[i].has_index = msr[i].has_value = 1;
		msr[i].index = idx[i];
		msr[i].value = val[i];
		mp[i] = &msr[i];
	}
	m.msrs = mp;
	m.n_msrs = LINUX_BOOT_MSRS;
	m.has_fpu_fcw = m.has_mxcsr = 1;
	m.fpu_fcw = FPU_FCW_RESET;
	m.mxcsr = FPU_MXCSR_RESET;
	req.body_case = KVMMU__REQUEST__BODY_SET_VCPU_STATE;
	req.set_vcpu_state = &m;
	return client_simple(cl, &req);
}

void linux_machine(Kvmmu__Machine *mc)
{
	kvmmu__machine__init(mc);
	mc->has_irqchip = mc->irqchip = 1;
	mc->has_pit = mc->pit = 1;
	mc->has_tss_addr = mc->has_identity_map_addr = 1;
	mc->tss_addr = LINUX_TSS_GPA;
	mc->identity_map_addr = LINUX_IDMAP_GPA;
}
