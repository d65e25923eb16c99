/*
 * xdr.c: the XDR reader and writer (xdr.h).
 * Trust: the reader's input is untrusted; every length is checked
 * against what is left and against its bound before any allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "xdr.h"

#define PAD4(n) (((n) + 3) & ~(size_t)3)

void xdr_in_init(struct xdr_in *x, const uint8_t *p, size_t len)
{
	x->x_p = p;
	x->x_len = len;
	x->x_off = 0;
	x->x_err = false;
}

static const uint8_t *xdr_take(struct xdr_in *x, size_t n)
{
	const uint8_t *p;

	if (x->x_err || n > x->x_len - x->x_off) {
		x->x_err = true;
		return NULL;
	}
	p = x->x_p + x->x_off;
	x->x_off += n;
	return p;
}

uint32_t xdr_get_u32(struct xdr_in *x)
{
	const uint8_t *p = xdr_take(x, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int32_t xdr_get_i32(struct xdr_in *x)
{
	return (int32_t)xdr_get_u32(x);
}

uint64_t xdr_get_u64(struct xdr_in *x)
{
	uint64_t hi = xdr_get_u32(x);

	return hi << 32 | xdr_get_u32(x);
}

bool xdr_get_bool(struct xdr_in *x)
{
	uint32_t v = xdr_get_u32(x);

	if (v > 1)
		x->x_err = true;
	return v == 1;
}

/* Padding must be zeros: anything else is not a canonical packet. */
static void xdr_skip_pad(struct xdr_in *x, size_t n)
{
	const uint8_t *p = xdr_take(x, PAD4(n) - n);

	for (size_t i = 0; p && i < PAD4(n) - n; i++) {
		if (p[i] != 0)
			x->x_err = true;
	}
}

char *xdr_get_string(struct xdr_in *x, size_t max)
{
	uint32_t n = xdr_get_u32(x);
	const uint8_t *p;
	char *s;

	if (x->x_err || n > max) {
		x->x_err = true;
		return NULL;
	}
	p = xdr_take(x, n);
	if (p == NULL || memchr(p, 0, n) != NULL) {
		x->x_err = true;
		return NULL;
	}
	xdr_skip_pad(x, n);
	s = malloc((size_t)n + 1);
	if (s == NULL) {
		x->x_err = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	if (x->x_err) {
		free(s);
		return NULL;
	}
	return s;
}

char *xdr_get_opt_string(struct xdr_in *x, size_t max)
{
	return xdr_get_bool(x) ? xdr_get_string(x, max) : NULL;
}

void xdr_get_fixed(struct xdr_in *x, uint8_t *out, size_t n)
{
	const uint8_t *p = xdr_take(x, n);

	if (p != NULL)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
	xdr_skip_pad(x, n);
}

bool xdr_in_done(const struct xdr_in *x)
{
	return !x->x_err && x->x_off == x->x_len;
}

void xdr_out_init(struct xdr_out *x)
{
	memset(x, 0, sizeof(*x));
}

void xdr_out_free(struct xdr_out *x)
{
	free(x->x_buf);
	xdr_out_init(x);
}

static uint8_t *xdr_room(struct xdr_out *x, size_t n)
{
	uint8_t *p;

	if (x->x_err)
		return NULL;
	if (n > x->x_cap - x->x_len) {
		size_t cap = x->x_cap ? x->x_cap : 256;

		while (cap - x->x_len < n)
			cap *= 2;
		p = realloc(x->x_buf, cap);
		if (p == NULL) {
			x->x_err = true;
			return NULL;
		}
		x->x_buf = p;
		x->x_cap = cap;
	}
	p = x->x_buf + x->x_len;
	x->x_len += n;
	return p;
}

void xdr_put_u32(struct xdr_out *x, uint32_t v)
{
	uint8_t *p = xdr_room(x, 4);

	if (p == NULL)
		return;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void xdr_put_i32(struct xdr_out *x, int32_t v)
{
	xdr_put_u32(x, (uint32_t)v);
}

void xdr_put_u64(struct xdr_out *x, uint64_t v)
{
	xdr_put_u32(x, (uint32_t)(v >> 32));
	xdr_put_u32(x, (uint32_t)v);
}

void xdr_put_fixed(struct xdr_out *x, const uint8_t *p, size_t n)
{
	uint8_t *d = xdr_room(x, PAD4(n));

	if (d == NULL)
		return;
	memcpy(d, p, n);
	memset(d + n, 0, PAD4(n) - n);
}

void xdr_put_string(struct xdr_out *x, const char *s)
{
	size_t n = strlen(s);

	xdr_put_u32(x, (uint32_t)n);
	xdr_put_fixed(x, (const uint8_t *)s, n);
}

void xdr_put_opt_string(struct xdr_out *x, const char *s)
{
	xdr_put_u32(x, s != NULL);
	if (s != NULL)
		xdr_put_string(x, s);
}

void xdr_patch_u32(struct xdr_out *x, size_t off, uint32_t v)
{
	if (x->x_err || off + 4 > x->x_len)
		return;
	x->x_buf[off] = (uint8_t)(v >> 24);
	x->x_buf[off + 1] = (uint8_t)(v >> 16);
	x->x_buf[off + 2] = (uint8_t)(v >> 8);
	x->x_buf[off + 3] = (uint8_t)v;
}
