/*
 * test_xdr.c: kvmmu-virtd's XDR reader and writer: round trips, the
 * byte layout libvirt's peers expect, and every refusal of the reader
 * (short input, a length over its bound, non-zero padding, a bool that is
 * neither 0 nor 1, a NUL inside a string, bytes left over).
 * Trust: test code.
 */
#include <string.h>

#include "harness.h"
#include "xdr.h"

static void test_round_trip(void)
{
	static const uint8_t uuid[16] = {1, 2,	3,  4,	5,  6,	7,  8,
					 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t want[] = {0, 0, 0, 3, 'v', 'm', '1', 0};
	struct xdr_out o;
	struct xdr_in in;
	uint8_t got[16];
	char *s, *none;

	xdr_out_init(&o);
	xdr_put_string(&o, "vm1");
	xdr_put_fixed(&o, uuid, sizeof(uuid));
	xdr_put_i32(&o, -1);
	xdr_put_u64(&o, 0x0102030405060708ULL);
	xdr_put_opt_string(&o, NULL);
	xdr_put_opt_string(&o, "urn:kvmmu:domain:1");
	CHECK(!o.x_err && o.x_len == 8 + 16 + 4 + 8 + 4 + 4 + 4 + 20,
	      "encoded length %zu", o.x_len);
	CHECK(memcmp(o.x_buf, want, sizeof(want)) == 0,
	      "a string is its length, its bytes, zero padding");
	xdr_in_init(&in, o.x_buf, o.x_len);
	s = xdr_get_string(&in, 64);
	xdr_get_fixed(&in, got, sizeof(got));
	CHECK(xdr_get_i32(&in) == -1, "int -1");
	CHECK(xdr_get_u64(&in) == 0x0102030405060708ULL, "hyper");
	none = xdr_get_opt_string(&in, 64);
	CHECK(none == NULL && !in.x_err, "absent optional string");
	free(none);
	none = xdr_get_opt_string(&in, 64);
	CHECK(s && strcmp(s, "vm1") == 0, "string back");
	CHECK(memcmp(got, uuid, 16) == 0, "uuid back");
	CHECK(none && strcmp(none, "urn:kvmmu:domain:1") == 0,
	      "optional string back");
	CHECK(xdr_in_done(&in), "everything read");
	free(s);
	free(none);
	xdr_patch_u32(&o, 0, 7);
	CHECK(o.x_buf[3] == 7, "a length patched in place");
	xdr_out_free(&o);
}

static void refused(const uint8_t *p, size_t len, size_t max, const char *what)
{
	struct xdr_in in;
	char *s;

	xdr_in_init(&in, p, len);
	s = xdr_get_string(&in, max);
	CHECK(s == NULL && in.x_err && !xdr_in_done(&in), "%s: refused", what);
	free(s);
}

static void test_refusals(void)
{
	static const uint8_t over[] = {0,   0,	 0,   9,   'a', 'b', 'c', 'd',
				       'e', 'f', 'g', 'h', 'i', 0,   0,	  0};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a', 0, 0, 0};
	static const uint8_t pad[] = {0, 0, 0, 1, 'a', 1, 0, 0};
	static const uint8_t nul[] = {0, 0, 0, 2, 'a', 0, 0, 0};
	static const uint8_t shrt[] = {0, 0, 0, 8, 'a', 'b'};
	static const uint8_t two[] = {0, 0, 0, 2};
	static const uint8_t ok[] = {0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 1};
	struct xdr_in in;
	char *s;

	refused(over, sizeof(over), 8, "a string over its bound");
	refused(huge, sizeof(huge), 1U << 30, "a length past the input");
	refused(pad, sizeof(pad), 8, "non-zero padding");
	refused(nul, sizeof(nul), 8, "a NUL inside a string");
	refused(shrt, sizeof(shrt), 8, "short input");
	xdr_in_init(&in, two, sizeof(two));
	xdr_get_bool(&in);
	CHECK(in.x_err, "a bool of 2 is refused");
	xdr_in_init(&in, ok, sizeof(ok));
	s = xdr_get_string(&in, 8);
	CHECK(s != NULL && !xdr_in_done(&in), "bytes left over: not done");
	free(s);
	CHECK(xdr_get_u32(&in) == 1 && xdr_in_done(&in), "then done");
	xdr_in_init(&in, ok, 2);
	CHECK(xdr_get_u32(&in) == 0 && in.x_err,
	      "an int from 2 bytes is an error, and sticks");
	CHECK(xdr_get_u32(&in) == 0 && in.x_err, "still an error");
}

int main(void)
{
	test_round_trip();
	test_refusals();
	return checks_report("test_xdr");
}
