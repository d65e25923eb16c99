/*
 * guest.c: the CPL3 long-mode machine kvmmu payloads run in (abi.h).
 * Why CPL3: on shadow-paging hosts KVM emulates CPL0 code instruction by
 * instruction, while CPL3 code runs natively and takes real shadow page
 * faults (ARCHITECTURE.md, CPL3 payloads).  IOPL=3 and the TSS I/O
 * bitmap let it use in/out to reach our devices.
 * Trust: unprivileged; the payload is untrusted data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "guest.h"

#define GDT_GPA		0x3000ULL
#define TSS_GPA		GUEST_TSS_GPA
#define TSS_IOMAP_OFF	0x68 /* the bitmap follows the 104-byte TSS */
#define TSS_IOMAP_BYTES (65536 / 8)
/* The limit covers the bitmap and the 0xff byte the CPU wants after it. */
#define TSS_LIMIT (TSS_IOMAP_OFF + TSS_IOMAP_BYTES)

/* GDT selectors; user ones carry RPL 3. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE (0x18 | 3)
#define SEL_UDATA (0x20 | 3)
#define SEL_TSS	  0x28

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL

#define CR0_PE	     (1ULL << 0)
#define CR0_ET	     (1ULL << 4)
#define CR0_NE	     (1ULL << 5)
#define CR0_PG	     (1ULL << 31)
#define CR4_PAE	     (1ULL << 5)
#define EFER_LME     (1ULL << 8)
#define EFER_LMA     (1ULL << 10)
#define RFLAGS_IOPL3 (3ULL << 12)

int guest_read_file(const char *path, size_t max, void **buf, size_t *len,
		    char *err, size_t errlen)
{
	char *p;
	int r = file_read(path, max, &p, len);

	*buf = p;
	if (r == 0 && *len == 0) {
		free(p);
		*buf = NULL;
		r = -EFBIG;
	}
	if (r == -EFBIG)
		snprintf(err, errlen, "%s: size %zu not in 1..%zu", path, *len,
			 max);
	else if (r == -EINVAL)
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (r == -EIO)
		snprintf(err, errlen, "%s: short read", path);
	else if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

int guest_load_file(const char *path, void **buf, size_t *len, char *err,
		    size_t errlen)
{
	return guest_read_file(path, GUEST_MAX_PAYLOAD, buf, len, err, errlen);
}

/* A code or data descriptor: flat 4 GiB, given access byte and L/DB. */
static uint64_t gdt_entry(uint8_t access, uint8_t flags)
{
	return 0xffffULL | (uint64_t)access << 40 |
	       (uint64_t)(flags | 0xf) << 48;
}

static void guest_gdt(uint8_t *ram)
{
	uint64_t *gdt = (uint64_t *)(ram + GDT_GPA);
	uint64_t tss = TSS_GPA;

	gdt[0] = 0;
	gdt[1] = gdt_entry(0x9b, 0xa0); /* kernel code: P, L, G */
	gdt[2] = gdt_entry(0x93, 0xc0); /* kernel data: P, DB, G */
	gdt[3] = gdt_entry(0xfb, 0xa0); /* user code: DPL3, L */
	gdt[4] = gdt_entry(0xf3, 0xc0); /* user data: DPL3 */
	/* 64-bit TSS descriptor (two slots): busy TSS, present. */
	gdt[5] = TSS_LIMIT | (tss & 0xffffff) << 16 | 0x8bULL << 40 |
		 ((tss >> 24) & 0xff) << 56;
	gdt[6] = tss >> 32;
	/*
	 * A zero bit per port allows it at CPL3 whatever IOPL is: kvm_pvm
	 * drops IOPL, and the bitmap keeps in/out exiting to the VMM.
	 */
	memset(ram + TSS_GPA, 0, TSS_LIMIT);
	ram[TSS_GPA + TSS_LIMIT] = 0xff;
	ram[TSS_GPA + 102] = TSS_IOMAP_OFF & 0xff; /* I/O map base */
	ram[TSS_GPA + 103] = TSS_IOMAP_OFF >> 8;
}

/* Identity map of the first 4 GiB with user-accessible 2 MiB pages. */
static void guest_page_tables(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + GUEST_PT_GPA);
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;
	const uint64_t flags = PTE_P | PTE_RW | PTE_US;

	memset(pml4, 0, 6 * 4096);
	pml4[0] = (GUEST_PT_GPA + 0x1000) | flags;
	for (uint64_t i = 0; i < 4; i++) {
		pdpt[i] = (GUEST_PT_GPA + 0x2000 + i * 0x1000) | flags;
		for (uint64_t j = 0; j < 512; j++)
			pd[i * 512 + j] =
				((i << 30) + (j << 21)) | flags | PTE_PS;
	}
}

int guest_setup(uint8_t *ram, uint64_t ram_bytes, unsigned nvcpus,
		const void *payload, size_t len, const char *cmdline, char *err,
		size_t errlen)
{
	struct guest_bootinfo *bi = (void *)(ram + GUEST_BOOTINFO_GPA);

	if (ram_bytes < GUEST_MIN_RAM || ram_bytes > GUEST_MAX_RAM) {
		snprintf(err, errlen,
			 "guest RAM %llu MiB not in %llu..%llu "
			 "MiB",
			 (unsigned long long)(ram_bytes >> 20),
			 GUEST_MIN_RAM >> 20, GUEST_MAX_RAM >> 20);
		return -EINVAL;
	}
	if (nvcpus == 0 || nvcpus > GUEST_MAX_VCPUS) {
		snprintf(err, errlen, "%u vCPUs not in 1..%d", nvcpus,
			 GUEST_MAX_VCPUS);
		return -EINVAL;
	}
	if (len > GUEST_MAX_PAYLOAD ||
	    (cmdline && strlen(cmdline) >= GUEST_CMDLINE_MAX)) {
		snprintf(err, errlen,
			 "payload over %llu bytes or cmdline "
			 "over %d characters",
			 GUEST_MAX_PAYLOAD, GUEST_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	memset(bi, 0, sizeof(*bi));
	bi->gb_magic = GUEST_BOOTINFO_MAGIC;
	bi->gb_ram_bytes = ram_bytes;
	bi->gb_vcpus = nvcpus;
	if (cmdline)
		strcpy(bi->gb_cmdline, cmdline);
	guest_gdt(ram);
	guest_page_tables(ram);
	memcpy(ram + GUEST_LOAD_GPA, payload, len);
	return 0;
}

static void seg_set(struct kvm_segment *s, uint16_t sel, uint8_t type,
		    uint8_t dpl, int code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code64 ? 1 : 0;
	s->db = code64 ? 0 : 1;
	s->g = 1;
}

void guest_vcpu_state(unsigned idx, struct kvm_regs *regs,
		      struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = GUEST_LOAD_GPA;
	regs->rsp = GUEST_STACK_TOP - idx * GUEST_STACK_SIZE;
	regs->rdi = idx;
	regs->rsi = GUEST_BOOTINFO_GPA;
	regs->rflags = RFLAGS_IOPL3 | 0x2;

	seg_set(&sregs->cs, SEL_UCODE, 0xb, 3, 1);
	seg_set(&sregs->ds, SEL_UDATA, 0x3, 3, 0);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.base = TSS_GPA;
	sregs->tr.limit = TSS_LIMIT;
	sregs->tr.selector = SEL_TSS;
	sregs->tr.type = 0xb; /* busy 64-bit TSS */
	sregs->tr.present = 1;
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 0x2;
	sregs->ldt.unusable = 1;
	sregs->gdt.base = GDT_GPA;
	sregs->gdt.limit = 7 * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs->cr3 = GUEST_PT_GPA;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}
