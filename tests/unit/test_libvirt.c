/*
 * test_libvirt.c: vmm-frontend's libvirt connection (libvirt.c) against
 * libvirt's in-process test driver (test:///default): lookup by name and
 * UUID, claiming (the test driver's domain is marked running, once), the
 * XML it hands over read by the domain parser, metadata-change events
 * through the pipe, live and persistent metadata apart, a destroy seen as
 * a lifecycle event, and unclaiming at close.  The same code against a
 * real libvirtd, with virsh in other processes, is tests/libvirt.
 * Trust: test code; no KVM, no daemon.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "domain.h"
#include "harness.h"
#include "libvirt.h"

#define URI  "test:///default"
#define NAME "kvmmu-unit"
#define UUID "6b766d6d-7500-4a11-8000-00000000abcd"

static const char domain_xml[] =
	"<domain type='kvm'><name>" NAME "</name><uuid>" UUID "</uuid>"
	"<metadata><kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1' "
	"mode='all'/></metadata>"
	"<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
	"<os><type arch='x86_64'>hvm</type><kernel>/opt/kvmmu/hello.bin"
	"</kernel></os><devices><serial type='null'/></devices></domain>";

static void quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* The events that arrive within 2 s (want 0: all within 300 ms). */
static unsigned wait_events(struct lv *lv, int fd, unsigned want)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	unsigned got = 0;

	for (int i = 0; i < (want ? 40 : 6); i++) {
		if (poll(&pfd, 1, 50) > 0)
			got |= lv_events(lv);
		if (want && (got & want) == want)
			break;
	}
	return got;
}

static void set_zap(virDomainPtr d, const char *xml, unsigned flags)
{
	CHECK(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml,
				   KVMMU_XMLNS_KEY, KVMMU_XMLNS, flags) == 0,
	      "set %s: %s", xml, virGetLastErrorMessage());
}

static void check_zap(struct lv *lv, bool live, const char *want)
{
	Kvmmu__ZapControl z;
	char *xml = NULL, err[300], s[96];

	CHECK(lv_metadata(lv, live, &xml) == 0, "%s", lv->lv_err);
	CHECK(zap_parse(xml, &z, err, sizeof(err)) == 0, "%s", err);
	zap_str(&z, s, sizeof(s));
	CHECK(strncmp(s, want, strlen(want)) == 0, "%s metadata %s, want %s",
	      live ? "live" : "persistent", s, want);
	free(xml);
}

/* The frontend's side: claimed, watched, read, changed under it. */
static void test_events(virDomainPtr d)
{
	struct domain dom;
	struct lv lv, other;
	char err[512], *xml;
	int fd;

	lv_init(&lv);
	CHECK(lv_open(&lv, URI, NAME) == 0 && lv.lv_test, "open: %s",
	      lv.lv_err);
	CHECK(lv_claim(&lv) == 0 && lv.lv_started && lv_active(&lv) == 1,
	      "claim marks it running: %s", lv.lv_err);
	lv_init(&other);
	CHECK(lv_open(&other, URI, UUID) == 0, "by UUID: %s", other.lv_err);
	CHECK(lv_claim(&other) < 0 && strstr(other.lv_err, "already running"),
	      "a second claim is refused: %s", other.lv_err);
	lv_close(&other);
	fd = lv_watch(&lv);
	CHECK(fd >= 0, "watch: %s", lv.lv_err);
	xml = lv_xml(&lv);
	CHECK(xml && domain_parse(xml, strlen(xml), NULL, &dom, err,
				  sizeof(err)) == 0,
	      "its XML parses: %s", err);
	CHECK(strcmp(dom.d_uuid, UUID) == 0 && dom.d_serial_none, "mapped");
	domain_free(&dom);
	free(xml);

	set_zap(d, "<zap-control mode='memslot'/>", VIR_DOMAIN_AFFECT_LIVE);
	CHECK(wait_events(&lv, fd, LV_MASK_METADATA) & LV_MASK_METADATA,
	      "live change: an event");
	check_zap(&lv, true, "mode=memslot");
	check_zap(&lv, false, "mode=all");
	set_zap(d, "<zap-control allones='rom'/>", VIR_DOMAIN_AFFECT_CONFIG);
	CHECK(wait_events(&lv, fd, LV_MASK_METADATA) & LV_MASK_METADATA,
	      "persistent change: an event");
	check_zap(&lv, false, "mode=all batch-window-us=0 allones=rom");
	check_zap(&lv, true, "mode=memslot");
	/* Another namespace is not ours to see. */
	CHECK(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, "<x/>", "o",
				   "urn:other", VIR_DOMAIN_AFFECT_LIVE) == 0,
	      "other namespace");
	CHECK(!(wait_events(&lv, fd, 0) & LV_MASK_METADATA),
	      "no event for another namespace");

	CHECK(virDomainDestroy(d) == 0, "virsh destroy's call");
	CHECK(wait_events(&lv, fd, LV_MASK_LIFECYCLE) & LV_MASK_LIFECYCLE,
	      "destroy: a lifecycle event");
	CHECK(lv_active(&lv) == 0, "stopped");
	CHECK(lv_metadata(&lv, false, &xml) == 0 && xml, "%s", lv.lv_err);
	free(xml);
	lv_close(&lv);
	CHECK(virDomainIsActive(d) == 0, "still stopped after close");
}

/* Closing unmarks a domain we marked running. */
static void test_unclaim(virDomainPtr d)
{
	struct lv lv;

	lv_init(&lv);
	CHECK(lv_open(&lv, URI, NAME) == 0 && lv_claim(&lv) == 0, "%s",
	      lv.lv_err);
	CHECK(virDomainIsActive(d) == 1, "running while claimed");
	lv_close(&lv);
	CHECK(virDomainIsActive(d) == 0, "shut off after close");
	lv_close(&lv); /* twice is harmless */
}

static void test_errors(void)
{
	struct lv lv;

	lv_init(&lv);
	CHECK(lv_open(&lv, URI, "no-such-domain") < 0 &&
		      strstr(lv.lv_err, "no-such-domain"),
	      "unknown domain: %s", lv.lv_err);
	lv_close(&lv);
	CHECK(lv_open(&lv, "nosuchdriver:///x", NAME) < 0 &&
		      strstr(lv.lv_err, "nosuchdriver"),
	      "bad URI: %s", lv.lv_err);
	lv_close(&lv);
}

int main(void)
{
	virConnectPtr own;
	virDomainPtr d;

	/* The test driver keeps its state while a connection holds it. */
	virSetErrorFunc(NULL, quiet);
	own = virConnectOpen(URI);
	CHECK(own != NULL, "%s", virGetLastErrorMessage());
	if (own == NULL)
		return checks_report("test_libvirt");
	d = virDomainDefineXML(own, domain_xml);
	CHECK(d != NULL, "define: %s", virGetLastErrorMessage());
	if (d != NULL) {
		test_events(d);
		test_unclaim(d);
		virDomainUndefine(d);
		virDomainFree(d);
	}
	test_errors();
	virConnectClose(own);
	return checks_report("test_libvirt");
}
