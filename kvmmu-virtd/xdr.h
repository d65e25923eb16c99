/*
 * xdr.h: XDR (RFC 4506) as libvirt's RPC protocol uses it, by hand: big
 * endian 4-byte units, strings and variable opaques as a length then the
 * bytes padded to 4, optional values as a bool then the value.  The
 * reader never reads past its buffer and bounds every length; the first
 * error sticks, so a decoder checks once at the end.
 * Trust: the input is an untrusted peer's packet.
 */
#ifndef KVMMU_XDR_H
#define KVMMU_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdr_in {
	const uint8_t *x_p;
	size_t x_len, x_off;
	bool x_err; /* short input, a length over its bound, bad padding */
};

void xdr_in_init(struct xdr_in *x, const uint8_t *p, size_t len);
uint32_t xdr_get_u32(struct xdr_in *x);
int32_t xdr_get_i32(struct xdr_in *x);
uint64_t xdr_get_u64(struct xdr_in *x);
bool xdr_get_bool(struct xdr_in *x);
/* A string of at most max bytes, NUL-free, as a malloc'd C string. */
char *xdr_get_string(struct xdr_in *x, size_t max);
/* An optional string: NULL when absent (or on error). */
char *xdr_get_opt_string(struct xdr_in *x, size_t max);
void xdr_get_fixed(struct xdr_in *x, uint8_t *out, size_t n);
/* Whether everything was read, without error. */
bool xdr_in_done(const struct xdr_in *x);

struct xdr_out {
	uint8_t *x_buf;
	size_t x_len, x_cap;
	bool x_err; /* out of memory */
};

void xdr_out_init(struct xdr_out *x);
void xdr_out_free(struct xdr_out *x);
void xdr_put_u32(struct xdr_out *x, uint32_t v);
void xdr_put_i32(struct xdr_out *x, int32_t v);
void xdr_put_u64(struct xdr_out *x, uint64_t v);
void xdr_put_string(struct xdr_out *x, const char *s);
/* NULL: absent. */
void xdr_put_opt_string(struct xdr_out *x, const char *s);
void xdr_put_fixed(struct xdr_out *x, const uint8_t *p, size_t n);
/* Overwrites 4 bytes at off (a length written last). */
void xdr_patch_u32(struct xdr_out *x, size_t off, uint32_t v);

#endif
