/*
 * x86.h: the x86 architecture as the loaders write it into guest RAM and
 * vCPU state (Intel SDM vol. 3, AMD APM vol. 2): control register, EFER
 * and RFLAGS bits, 4-level page-table entries, segment descriptors, and a
 * flat segment in KVM's struct kvm_segment.  Architecture only: where a
 * loader puts its GDT, TSS and page tables, and its selectors, are its
 * own (guest.c for payloads, linux.c for Linux).
 * Trust: no input; constants and pure helpers.
 */
#ifndef KVMMU_X86_H
#define KVMMU_X86_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/kvm.h> /* struct kvm_segment only */

#define CR0_PE	     (1ULL << 0) /* protected mode */
#define CR0_ET	     (1ULL << 4)
#define CR0_NE	     (1ULL << 5) /* native FPU errors */
#define CR0_PG	     (1ULL << 31)
#define CR4_PAE	     (1ULL << 5)
#define EFER_LME     (1ULL << 8)
#define EFER_LMA     (1ULL << 10)
#define RFLAGS_FIXED (1ULL << 1) /* bit 1: always set */
#define RFLAGS_IOPL3 (3ULL << 12)

/* Page-table entries; PTE_PS in a page directory: a 2 MiB page. */
#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL

/* Segment types, in a descriptor and in struct kvm_segment. */
#define SEG_TYPE_DATA	  0x3 /* read/write, accessed */
#define SEG_TYPE_CODE	  0xb /* execute/read, accessed */
#define SEG_TYPE_LDT	  0x2
#define SEG_TYPE_TSS_BUSY 0xb

/* A descriptor's access byte: the type, then these. */
#define DESC_S	    0x10 /* code or data, not a system segment */
#define DESC_DPL(d) ((d) << 5)
#define DESC_P	    0x80
/* Its flags (the high half of byte 6). */
#define DESC_L	0x20 /* 64-bit code */
#define DESC_DB 0x40 /* 32-bit code or data */
#define DESC_G	0x80 /* limit in 4 KiB units */

/* A flat 4 GiB code or data descriptor: access byte, flags. */
static inline uint64_t x86_desc_flat(uint8_t access, uint8_t flags)
{
	return 0xffffULL | (uint64_t)access << 40 |
	       (uint64_t)(flags | 0xf) << 48;
}

/* The same segment as KVM loads it: selector, type, DPL, L or DB. */
static inline void x86_seg_flat(struct kvm_segment *s, uint16_t sel,
				uint8_t type, uint8_t dpl, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code64;
	s->db = !code64;
	s->g = 1;
}

#endif
