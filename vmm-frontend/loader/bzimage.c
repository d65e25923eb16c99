/*
 * bzimage.c: see bzimage.h.  Offsets are those of the setup header and of
 * struct boot_params in the Linux x86 boot protocol.
 * Trust: the image is untrusted; nothing is read past len.
 */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "bzimage.h"
#include "errbuf.h"

#define OFF_SETUP_SECTS	    0x1f1
#define OFF_BOOT_FLAG	    0x1fe
#define OFF_JUMP	    0x200 /* its second byte: the header's length */
#define OFF_HEADER	    0x202
#define OFF_VERSION	    0x206
#define OFF_TYPE_OF_LOADER  0x210
#define OFF_LOADFLAGS	    0x211
#define OFF_RAMDISK_IMAGE   0x218
#define OFF_RAMDISK_SIZE    0x21c
#define OFF_CMD_LINE_PTR    0x228
#define OFF_INITRD_ADDR_MAX 0x22c
#define OFF_XLOADFLAGS	    0x236
#define OFF_CMDLINE_SIZE    0x238
#define OFF_PREF_ADDRESS    0x258
#define OFF_INIT_SIZE	    0x260
#define OFF_E820_ENTRIES    0x1e8 /* in boot_params */
#define OFF_E820_TABLE	    0x2d0

#define HDRS_MAGIC	 0x53726448u /* "HdrS" */
#define LOADED_HIGH	 0x01
#define XLF_KERNEL_64	 0x01
#define MIN_VERSION	 0x0206 /* cmdline_size; every kernel of this era */
#define VERSION_PREF	 0x020a /* pref_address, init_size */
#define VERSION_XLF	 0x020c /* xloadflags: a 64-bit entry */
#define HIGH_LOAD	 0x100000ULL
#define ZERO_PAGE_GPA	 0x7000ULL
#define CMDLINE_GPA	 0x20000ULL
#define CMDLINE_ROOM	 0x10000ULL /* up to the EBDA area below 640 KiB */
#define STARTUP_64_DELTA 0x200

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz, char *err,
		  size_t errlen)
{
	unsigned sects;

	memset(bz, 0, sizeof(*bz));
	if (len < OFF_INIT_SIZE + 4)
		return errbuf_set(
			err, errlen,
			"bzImage: %zu bytes, too short for a setup header",
			len);
	if (le16(img + OFF_BOOT_FLAG) != 0xaa55 ||
	    le32(img + OFF_HEADER) != HDRS_MAGIC)
		return errbuf_set(
			err, errlen,
			"bzImage: no boot flag 0xaa55 and \"HdrS\" magic "
			"at 0x1fe/0x202: not a Linux x86 kernel image");
	bz->bz_version = le16(img + OFF_VERSION);
	if (bz->bz_version < MIN_VERSION)
		return errbuf_set(
			err, errlen,
			"bzImage: boot protocol %u.%02u, need 2.06 or "
			"later",
			bz->bz_version >> 8, bz->bz_version & 0xff);
	if (!(img[OFF_LOADFLAGS] & LOADED_HIGH))
		return errbuf_set(
			err, errlen,
			"bzImage: loadflags 0x%02x lacks LOADED_HIGH: a "
			"zImage, which loads below 1 MiB",
			img[OFF_LOADFLAGS]);
	sects = img[OFF_SETUP_SECTS] ? img[OFF_SETUP_SECTS] : 4;
	bz->bz_setup_bytes = ((size_t)sects + 1) * 512;
	if (bz->bz_setup_bytes >= len)
		return errbuf_set(
			err, errlen,
			"bzImage: setup_sects %u leaves no kernel in %zu "
			"bytes",
			sects, len);
	bz->bz_kernel_off = bz->bz_setup_bytes;
	bz->bz_kernel_len = len - bz->bz_setup_bytes;
	bz->bz_initrd_max = le32(img + OFF_INITRD_ADDR_MAX);
	bz->bz_cmdline_max = le32(img + OFF_CMDLINE_SIZE);
	bz->bz_load = HIGH_LOAD;
	if (bz->bz_version >= VERSION_PREF) {
		if (le64(img + OFF_PREF_ADDRESS) != 0)
			bz->bz_load = le64(img + OFF_PREF_ADDRESS);
		bz->bz_init_size = le32(img + OFF_INIT_SIZE);
	}
	if (bz->bz_init_size < bz->bz_kernel_len)
		bz->bz_init_size = (uint32_t)bz->bz_kernel_len;
	if (bz->bz_load < HIGH_LOAD || bz->bz_load & 0xfff)
		return errbuf_set(
			err, errlen,
			"bzImage: pref_address 0x%llx is below 1 MiB or "
			"not page aligned",
			(unsigned long long)bz->bz_load);
	bz->bz_entry64 = bz->bz_version >= VERSION_XLF &&
			 (le16(img + OFF_XLOADFLAGS) & XLF_KERNEL_64);
	bz->bz_entry =
		bz->bz_entry64 ? bz->bz_load + STARTUP_64_DELTA : bz->bz_load;
	return 0;
}

int bzimage_place(const struct bzimage *bz, uint64_t ram, size_t cmdline_len,
		  uint64_t initrd_len, struct bzimage_layout *out, char *err,
		  size_t errlen)
{
	uint64_t kend = bz->bz_load + bz->bz_init_size, top;

	memset(out, 0, sizeof(*out));
	out->bl_zero_page = ZERO_PAGE_GPA;
	out->bl_cmdline = CMDLINE_GPA;
	if (cmdline_len > bz->bz_cmdline_max || cmdline_len >= CMDLINE_ROOM)
		return errbuf_set(
			err, errlen,
			"command line: %zu bytes, the kernel takes at most "
			"%u",
			cmdline_len, bz->bz_cmdline_max);
	if (kend > ram)
		return errbuf_set(
			err, errlen,
			"RAM: %llu MiB, the kernel needs %llu MiB from "
			"0x%llx",
			(unsigned long long)(ram >> 20),
			(unsigned long long)((kend + (1 << 20) - 1) >> 20),
			(unsigned long long)bz->bz_load);
	if (initrd_len == 0)
		return 0;
	top = (uint64_t)bz->bz_initrd_max + 1;
	if (top > ram)
		top = ram;
	out->bl_initrd = (top - initrd_len) & ~0xfffULL;
	if (initrd_len > top || out->bl_initrd < ((kend + 0xfff) & ~0xfffULL))
		return errbuf_set(
			err, errlen,
			"initrd: %llu MiB does not fit between the "
			"kernel's end 0x%llx and 0x%llx (RAM %llu MiB, "
			"initrd_addr_max 0x%x)",
			(unsigned long long)(initrd_len >> 20),
			(unsigned long long)kend, (unsigned long long)top,
			(unsigned long long)(ram >> 20), bz->bz_initrd_max);
	out->bl_initrd_len = initrd_len;
	return 0;
}

int bzimage_zero_page(const uint8_t *img, const struct bzimage_layout *lo,
		      const struct e820_entry *e, size_t n, uint8_t *zp,
		      char *err, size_t errlen)
{
	/* The header runs from 0x1f1 to the end its jump names. */
	size_t hdr_end = OFF_JUMP + 2 + img[OFF_JUMP + 1];

	if (n > BZ_E820_MAX)
		return errbuf_set(err, errlen, "e820: %zu entries, at most %d",
				  n, BZ_E820_MAX);
	if (hdr_end > OFF_E820_TABLE)
		return errbuf_set(
			err, errlen,
			"bzImage: setup header of %zu bytes overlaps the "
			"e820 table",
			hdr_end - OFF_SETUP_SECTS);
	memset(zp, 0, BZ_ZERO_PAGE_SIZE);
	memcpy(zp + OFF_SETUP_SECTS, img + OFF_SETUP_SECTS,
	       hdr_end - OFF_SETUP_SECTS);
	zp[OFF_TYPE_OF_LOADER] = 0xff; /* a loader with no assigned id */
	put32(zp + OFF_CMD_LINE_PTR, (uint32_t)lo->bl_cmdline);
	put32(zp + OFF_RAMDISK_IMAGE, (uint32_t)lo->bl_initrd);
	put32(zp + OFF_RAMDISK_SIZE, (uint32_t)lo->bl_initrd_len);
	zp[OFF_E820_ENTRIES] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = zp + OFF_E820_TABLE + 20 * i;

		put64(p, e[i].addr);
		put64(p + 8, e[i].size);
		put32(p + 16, e[i].type);
	}
	return 0;
}
