/*
 * aml.c: see aml.h.  Encodings from ACPI 6.5 chapter 20 (AML grammar):
 * 20.2.2 names, 20.2.3 data objects, 20.2.4 PkgLength, 20.2.5 opcodes.
 * Trust: see aml.h.
 */
#include <string.h>

#include "aml.h"

#define AML_ZERO_OP	 0x00
#define AML_ONE_OP	 0x01
#define AML_BYTE_PREFIX	 0x0a
#define AML_WORD_PREFIX	 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_ROOT_CHAR	 '\\'
#define AML_DUAL_PREFIX	 0x2e /* two NameSegs follow */
#define AML_MULTI_PREFIX 0x2f /* a count, then that many NameSegs */
#define AML_NAMESEG	 4
#define AML_PKG_MAX	 (1u << 28) /* 4 bytes of PkgLength at most */
#define AML_PKG_ONE_BYTE 63	    /* bits 0-5 of a lone lead byte */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->a_buf = buf;
	a->a_len = 0;
	a->a_cap = cap;
	a->a_over = false;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->a_over || n > a->a_cap - a->a_len) {
		a->a_over = true;
		return;
	}
	memcpy(a->a_buf + a->a_len, p, n);
	a->a_len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* A NameSeg: up to 4 characters, padded with '_' as ASL does. */
static void aml_seg(struct aml *a, const char *s, size_t n)
{
	char seg[AML_NAMESEG] = {'_', '_', '_', '_'};

	if (n == 0 || n > AML_NAMESEG) {
		a->a_over = true; /* not a name this encoder makes */
		return;
	}
	memcpy(seg, s, n);
	aml_bytes(a, seg, AML_NAMESEG);
}

void aml_name(struct aml *a, const char *path)
{
	size_t nseg = 1;

	if (*path == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		path++;
	}
	for (const char *p = path; *p; p++)
		nseg += *p == '.';
	if (nseg == 2)
		aml_byte(a, AML_DUAL_PREFIX);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTI_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	while (nseg-- > 0) {
		size_t n = strcspn(path, ".");

		aml_seg(a, path, n);
		path += n + (path[n] == '.');
	}
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t le[8];
	size_t n;

	if (v <= 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		n = 1;
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		n = 2;
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD_PREFIX);
		n = 4;
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, le, n);
}

/*
 * A compressed EISA id (ACPI 6.5, 6.1.5 _HID): three letters of 5 bits
 * each ('A' is 1) and four hex digits, stored big-endian in a DWord.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->a_over = true;
		return;
	}
	for (int i = 0; i < 3; i++)
		v = v << 5 | ((uint32_t)(id[i] - '@') & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = (uint32_t)(c >= 'A' ? c - 'A' + 10 : c - '0');

		v = v << 4 | (d & 0xf);
	}
	aml_byte(a, AML_DWORD_PREFIX);
	/* Bytes in id order: the letters' 16 bits first, then the digits. */
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
}

size_t aml_pkg_begin(struct aml *a, uint16_t op)
{
	if (op > 0xff)
		aml_byte(a, (uint8_t)(op >> 8));
	aml_byte(a, (uint8_t)op);
	return a->a_len;
}

/*
 * PkgLength counts itself: one lead byte alone up to 63, else a lead
 * byte whose bits 6-7 say how many bytes follow, its low nibble the
 * length's low 4 bits, the following bytes the rest.
 */
void aml_pkg_end(struct aml *a, size_t at)
{
	uint8_t enc[4];
	size_t body = a->a_len - at, k = 1, total;

	if (a->a_over)
		return;
	while (k < 4 && body + k >= (k == 1 ? AML_PKG_ONE_BYTE + 1
					    : 1u << (4 + 8 * (k - 1))))
		k++;
	total = body + k;
	if (total >= AML_PKG_MAX || k > a->a_cap - a->a_len) {
		a->a_over = true;
		return;
	}
	if (k == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((k - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < k; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->a_buf + at + k, a->a_buf + at, body);
	memcpy(a->a_buf + at, enc, k);
	a->a_len += k;
}
