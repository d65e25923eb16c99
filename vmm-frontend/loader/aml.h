/*
 * aml.h: the few ACPI Machine Language encodings the loader's DSDT needs
 * (ACPI 6.5, chapter 20: names, integers, Name, Package, Buffer, Device
 * and their PkgLength), written into a bounded buffer.  Not a compiler:
 * each helper emits one construct, and nesting is a begin/end pair that
 * puts the PkgLength in front of what was written between them.
 * Pure: no I/O.
 * Trust: every input is the loader's own; a buffer too small is reported
 * (a_over), never overrun.
 */
#ifndef KVMMU_AML_H
#define KVMMU_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *a_buf;
	size_t a_len, a_cap;
	bool a_over; /* something did not fit: the bytes are not valid */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameString: "\" and dots allowed, each segment 4 characters. */
void aml_name(struct aml *a, const char *path);
/* The shortest integer encoding: Zero, One, Byte, Word, DWord or QWord. */
void aml_int(struct aml *a, uint64_t v);
/* EISAID("PNP0A03") as the 32-bit compressed id, a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);

/*
 * A construct with a PkgLength: aml_pkg_begin writes op (one byte, or two
 * with ExtOpPrefix when op > 0xff) and returns where its PkgLength goes;
 * aml_pkg_end then inserts the PkgLength for everything written since.
 */
size_t aml_pkg_begin(struct aml *a, uint16_t op);
void aml_pkg_end(struct aml *a, size_t at);

#define AML_NAME_OP    0x08
#define AML_BUFFER_OP  0x11
#define AML_PACKAGE_OP 0x12
#define AML_DEVICE_OP  0x5b82 /* ExtOpPrefix, DeviceOp */

#endif
