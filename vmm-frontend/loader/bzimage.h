/*
 * bzimage.h: a Linux x86 bzImage read per the kernel's boot protocol
 * (Documentation/arch/x86/boot.rst): the setup header checked, where the
 * protected-mode kernel, the command line and the initrd go in guest RAM,
 * and the zero page (struct boot_params) the kernel is entered with.
 * Pure: no I/O.  The first piece of booting Linux guests; the loader that
 * copies these bytes into a VM comes with it.
 * Trust: the image is untrusted input; every field is checked.
 */
#ifndef KVMMU_BZIMAGE_H
#define KVMMU_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BZ_ZERO_PAGE_SIZE 4096
#define BZ_E820_MAX	  128 /* entries boot_params holds */
#define BZ_E820_RAM	  1
#define BZ_E820_RESERVED  2

struct bzimage {
	uint16_t bz_version;   /* boot protocol, e.g. 0x020f for 2.15 */
	size_t bz_setup_bytes; /* the real-mode part, boot sector included */
	size_t bz_kernel_off;  /* the protected-mode kernel in the file */
	size_t bz_kernel_len;
	uint64_t bz_load;	 /* where the kernel goes */
	uint64_t bz_entry;	 /* where it is entered */
	bool bz_entry64;	 /* bz_entry is startup_64 (else 32-bit) */
	uint32_t bz_init_size;	 /* bytes it needs from bz_load on */
	uint32_t bz_initrd_max;	 /* the highest byte an initrd may use */
	uint32_t bz_cmdline_max; /* the longest command line, NUL excluded */
};

/* Checks img's setup header; 0, or -1 with err saying what is wrong. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz, char *err,
		  size_t errlen);

/* Where the pieces go in guest RAM of ram bytes. */
struct bzimage_layout {
	uint64_t bl_zero_page; /* boot_params */
	uint64_t bl_cmdline;
	uint64_t bl_initrd; /* 0: no initrd */
	uint64_t bl_initrd_len;
};

/*
 * Places the zero page and command line low, and the initrd as high as
 * the header and the RAM allow, above the kernel's init_size.  0, or -1
 * with err (a command line too long, an initrd too big for the RAM or
 * the header's limit, RAM too small for the kernel).
 */
int bzimage_place(const struct bzimage *bz, uint64_t ram, size_t cmdline_len,
		  uint64_t initrd_len, struct bzimage_layout *out, char *err,
		  size_t errlen);

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/*
 * Fills the zero page zp (BZ_ZERO_PAGE_SIZE bytes): the image's setup
 * header, the loader type, the command line and initrd addresses from lo,
 * and the e820 map e[0..n) (at most BZ_E820_MAX).  0, or -1 with err.
 */
int bzimage_zero_page(const uint8_t *img, const struct bzimage_layout *lo,
		      const struct e820_entry *e, size_t n, uint8_t *zp,
		      char *err, size_t errlen);

#endif
