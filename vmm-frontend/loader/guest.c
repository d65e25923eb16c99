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
#include "x86.h"

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

static void guest_gdt(uint8_t *ram)
{
	uint64_t *gdt = (uint64_t *)(ram + GDT_GPA);
	uint64_t tss = TSS_GPA;

	gdt[0] = 0;
	gdt[1] = x86_desc_flat(DESC_P | DESC_S | SEG_TYPE_CODE,
			       DESC_G | DESC_L); /* kernel code */
	gdt[2] = x86_desc_flat(DESC_P | DESC_S | SEG_TYPE_DATA,
			       DESC_G | DESC_DB); /* kernel data */
	gdt[3] = x86_desc_flat(DESC_P | DESC_DPL(3) | DESC_S | SEG_TYPE_CODE,
			       DESC_G | DESC_L); /* user code */
	gdt[4] = x86_desc_flat(DESC_P | DESC_DPL(3) | DESC_S | SEG_TYPE_DATA,
			       DESC_G | DESC_DB); /* user data */
	/* 64-bit TSS descriptor (two slots): busy TSS, present. */
	gdt[5] = TSS_LIMIT | (tss & 0xffffff) << 16 |
		 (uint64_t)(DESC_P | SEG_TYPE_TSS_BUSY) << 40 |
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

void guest_vcpu_state(unsigned idx, struct kvm_regs *regs,
		      struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = GUEST_LOAD_GPA;
	regs->rsp = GUEST_STACK_TOP - idx * GUEST_STACK_SIZE;
	regs->rdi = idx;
	regs->rsi = GUEST_BOOTINFO_GPA;
	regs->rflags = RFLAGS_IOPL3 | RFLAGS_FIXED;

	x86_seg_flat(&sregs->cs, SEL_UCODE, SEG_TYPE_CODE, 3, true);
	x86_seg_flat(&sregs->ds, SEL_UDATA, SEG_TYPE_DATA, 3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.base = TSS_GPA;
	sregs->tr.limit = TSS_LIMIT;
	sregs->tr.selector = SEL_TSS;
	sregs->tr.type = SEG_TYPE_TSS_BUSY;
	sregs->tr.present = 1;
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = SEG_TYPE_LDT;
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
