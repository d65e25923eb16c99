/*
 * test_bzimage.c: the bzImage reader (vmm-frontend/loader/bzimage.c) on images
 * built here, field by field as the boot protocol lays them out: a good
 * 64-bit image, each malformed header refused with a clear message, an
 * initrd placed high and one refused for the RAM or the header's limit,
 * and the zero page's header copy, command line, initrd and e820 map.
 * With a path (test_bzimage BZIMAGE) it also reads a real kernel and
 * prints what it found.
 * Trust: test code.
 */
#include <string.h>

#include "bzimage.h"
#include "harness.h"

#define MB (1ULL << 20)

static uint8_t img[64 * 1024];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* A boot protocol 2.15 image: 64-bit, relocatable, 16 MiB at 16 MiB. */
static void good_image(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 27; /* setup_sects */
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a; /* the header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, 0x020f);
	img[0x211] = 0x01; /* LOADED_HIGH */
	put32(img + 0x22c, 0x7fffffff);
	put16(img + 0x236, 0x0003); /* XLF_KERNEL_64, above 4G */
	put32(img + 0x238, 2047);
	put32(img + 0x258, 0x1000000); /* pref_address */
	put32(img + 0x260, 16 << 20);  /* init_size */
}

static void test_parse(void)
{
	struct bzimage bz;
	char err[200];

	good_image();
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) == 0 &&
		      bz.bz_version == 0x020f &&
		      bz.bz_setup_bytes == 28 * 512 &&
		      bz.bz_kernel_off == 28 * 512 &&
		      bz.bz_kernel_len == sizeof(img) - 28 * 512 &&
		      bz.bz_load == 0x1000000 && bz.bz_entry64 &&
		      bz.bz_entry == 0x1000200 && bz.bz_cmdline_max == 2047 &&
		      bz.bz_initrd_max == 0x7fffffff,
	      "a good image: %s", err);
	img[0x1fe] = 0;
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "not a Linux x86 kernel"),
	      "no boot flag: %s", err);
	good_image();
	img[0x202] = 'X';
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "HdrS"),
	      "wrong magic: %s", err);
	good_image();
	put16(img + 0x206, 0x0204);
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "2.04"),
	      "old protocol: %s", err);
	good_image();
	img[0x211] = 0;
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "LOADED_HIGH"),
	      "a zImage: %s", err);
	good_image();
	img[0x1f1] = 200;
	CHECK(bzimage_parse(img, 0x1000 * 4, &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "no kernel"),
	      "setup larger than the file: %s", err);
	CHECK(bzimage_parse(img, 0x100, &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "too short"),
	      "truncated: %s", err);
	good_image();
	put32(img + 0x258, 0x1234);
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) < 0 &&
		      strstr(err, "pref_address"),
	      "a load address below 1 MiB: %s", err);
	good_image();
	put16(img + 0x236, 0);
	CHECK(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)) == 0 &&
		      !bz.bz_entry64 && bz.bz_entry == 0x1000000,
	      "no XLF_KERNEL_64: the 32-bit entry");
}

static void test_place(void)
{
	struct bzimage_layout lo;
	struct bzimage bz;
	char err[200];

	good_image();
	bzimage_parse(img, sizeof(img), &bz, err, sizeof(err));
	CHECK(bzimage_place(&bz, 512 * MB, 100, 8 * MB + 5, &lo, err,
			    sizeof(err)) == 0 &&
		      lo.bl_initrd == ((512 * MB - 8 * MB - 5) & ~0xfffULL) &&
		      lo.bl_initrd + lo.bl_initrd_len <= 512 * MB &&
		      lo.bl_cmdline < 0xa0000 &&
		      lo.bl_zero_page < lo.bl_cmdline,
	      "initrd at the top of 512 MiB: %s", err);
	CHECK(bzimage_place(&bz, 4096 * MB, 100, 8 * MB, &lo, err,
			    sizeof(err)) == 0 &&
		      lo.bl_initrd + 8 * MB <= 0x80000000ULL,
	      "below initrd_addr_max in 4 GiB: %s", err);
	CHECK(bzimage_place(&bz, 64 * MB, 100, 40 * MB, &lo, err, sizeof(err)) <
			      0 &&
		      strstr(err, "does not fit"),
	      "an initrd too big for the RAM: %s", err);
	CHECK(bzimage_place(&bz, 16 * MB, 0, 0, &lo, err, sizeof(err)) < 0 &&
		      strstr(err, "the kernel needs 32 MiB"),
	      "RAM below the kernel's end: %s", err);
	CHECK(bzimage_place(&bz, 512 * MB, 2048, 0, &lo, err, sizeof(err)) <
			      0 &&
		      strstr(err, "at most 2047"),
	      "a command line too long: %s", err);
	CHECK(bzimage_place(&bz, 512 * MB, 10, 0, &lo, err, sizeof(err)) == 0 &&
		      lo.bl_initrd == 0,
	      "no initrd");
}

static void test_zero_page(void)
{
	static uint8_t zp[BZ_ZERO_PAGE_SIZE];
	struct e820_entry e[2] = {{0, 0x9fc00, BZ_E820_RAM},
				  {0x100000, 511 * MB, BZ_E820_RAM}};
	struct bzimage_layout lo;
	struct bzimage bz;
	char err[200];
	uint32_t v;

	good_image();
	bzimage_parse(img, sizeof(img), &bz, err, sizeof(err));
	bzimage_place(&bz, 512 * MB, 10, 4 * MB, &lo, err, sizeof(err));
	CHECK(bzimage_zero_page(img, &lo, e, 2, zp, err, sizeof(err)) == 0,
	      "zero page: %s", err);
	CHECK(memcmp(zp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1) == 0 &&
		      memcmp(zp + 0x202, "HdrS", 4) == 0 && zp[0x210] == 0xff,
	      "the header copied, the loader type set");
	memcpy(&v, zp + 0x228, 4);
	CHECK(v == lo.bl_cmdline, "cmd_line_ptr");
	memcpy(&v, zp + 0x218, 4);
	CHECK(v == lo.bl_initrd, "ramdisk_image");
	memcpy(&v, zp + 0x21c, 4);
	CHECK(v == 4 * MB, "ramdisk_size");
	CHECK(zp[0x1e8] == 2 && zp[0x2d0 + 20 + 2] == 0x10 &&
		      zp[0x2d0 + 20 + 16] == BZ_E820_RAM,
	      "two e820 entries, the second at 1 MiB");
	CHECK(bzimage_zero_page(img, &lo, e, BZ_E820_MAX + 1, zp, err,
				sizeof(err)) < 0,
	      "too many e820 entries");
}

/* A real kernel: what its header says. */
static int real(const char *path)
{
	static uint8_t buf[64 << 20];
	FILE *f = fopen(path, "rb");
	struct bzimage bz;
	char err[300] = "cannot read it";
	size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;

	if (f)
		fclose(f);
	if (len == 0 || bzimage_parse(buf, len, &bz, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 1;
	}
	printf("%s: boot protocol %u.%02u, %zu setup bytes, %zu kernel bytes "
	       "at 0x%llx, init_size %u MiB, %s entry 0x%llx, initrd below "
	       "0x%x, command line up to %u bytes\n",
	       path, bz.bz_version >> 8, bz.bz_version & 0xff,
	       bz.bz_setup_bytes, bz.bz_kernel_len,
	       (unsigned long long)bz.bz_load, bz.bz_init_size >> 20,
	       bz.bz_entry64 ? "64-bit" : "32-bit",
	       (unsigned long long)bz.bz_entry, bz.bz_initrd_max,
	       bz.bz_cmdline_max);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return real(argv[1]);
	test_parse();
	test_place();
	test_zero_page();
	return checks_report("test_bzimage");
}
