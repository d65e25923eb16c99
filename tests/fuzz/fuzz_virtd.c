/*
 * fuzz_virtd.c: libFuzzer target for what a libvirt client can send
 * kvmmu-virtd: a stream of packets (framing, header, every procedure's
 * argument decoder) through dispatch.c and procs.c, on a read-only
 * connection (so no input starts a process or writes a definition) to
 * a store holding one domain.  The first byte says whether CONNECT_OPEN
 * came.  Any crash, leak or sanitizer report is a bug.
 * Trust: the input is hostile by construction.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtd d;
static struct vconn c;

/* Replies are encoded in full, then dropped. */
static void sink(struct vconn *cc, const void *p, size_t len)
{
	(void)cc;
	(void)p;
	(void)len;
}

static void setup(void)
{
	static const char xml[] =
		"<domain type='kvm'><name>vm1</name>"
		"<uuid>6b766d6d-7500-4a11-8000-0000000000f1</uuid>"
		"<metadata><k:zap-control xmlns:k='urn:kvmmu:domain:1' "
		"mode='memslot'/></metadata><memory unit='MiB'>64</memory>"
		"<vcpu>1</vcpu><os><type>hvm</type><kernel>/bin/true</kernel>"
		"</os></domain>";
	char dir[] = "/tmp/kvmmu-fuzz-virtd.XXXXXX";
	struct lverr e = {0};
	struct vdom *v;
	bool updated;

	if (mkdtemp(dir) == NULL || store_open(&d.d_store, dir, &e) < 0 ||
	    store_define(&d.d_store, xml, &v, &updated, &e) < 0) {
		fprintf(stderr, "fuzz_virtd: set-up: %s\n", e.msg);
		abort();
	}
	TAILQ_INIT(&d.d_conns);
	TAILQ_INIT(&d.d_pending);
	d.d_next_cb = 1;
	c.c_d = &d;
	c.c_write = sink;
	c.c_ro = true;
	TAILQ_INSERT_TAIL(&d.d_conns, &c, c_entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	size_t off = 1;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size == 0)
		return 0;
	c.c_open = data[0] & 1;
	c.c_bad = 0;
	c.c_ncbs = 0;
	while (size - off >= 4) {
		uint32_t len = (uint32_t)data[off] << 24 |
			       (uint32_t)data[off + 1] << 16 |
			       (uint32_t)data[off + 2] << 8 | data[off + 3];

		if (!vconn_length_ok(len) || len > size - off ||
		    !vconn_packet(&c, data + off, len))
			break;
		off += len;
	}
	return 0;
}
