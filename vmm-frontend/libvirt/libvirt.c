/*
 * libvirt.c: the frontend's libvirt connection (see libvirt.h).
 * Trust: unprivileged; libvirt's answers are operator input, checked by
 * the domain parser before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "domain.h"
#include "libvirt.h"

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;

/* libvirt prints every error to stderr unless told otherwise. */
static void lv_quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static void lv_global_init(void)
{
	virSetErrorFunc(NULL, lv_quiet);
	/* Must precede virConnectOpen for the connection to get events. */
	virEventRegisterDefaultImpl();
}

static int lv_fail(struct lv *lv, const char *what)
{
	const char *msg = virGetLastErrorMessage();

	snprintf(lv->lv_err, sizeof(lv->lv_err), "%s: %s", what,
		 msg ? msg : "unknown libvirt error");
	return -1;
}

static int lv_errf(struct lv *lv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int lv_errf(struct lv *lv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lv->lv_err, sizeof(lv->lv_err), fmt, ap);
	va_end(ap);
	return -1;
}

void lv_init(struct lv *lv)
{
	memset(lv, 0, sizeof(*lv));
	lv->lv_cb_meta = lv->lv_cb_life = -1;
	lv->lv_pipe[0] = lv->lv_pipe[1] = -1;
}

static virDomainPtr lv_lookup(struct lv *lv, const char *name)
{
	virDomainPtr d = virDomainLookupByName(lv->lv_conn, name);

	if (d == NULL && strlen(name) == 36)
		d = virDomainLookupByUUIDString(lv->lv_conn, name);
	return d;
}

int lv_open(struct lv *lv, const char *uri, const char *name)
{
	const char *type;

	pthread_once(&lv_once, lv_global_init);
	/* Read-only is all a frontend needs, unless it must mark state. */
	lv->lv_conn = virConnectOpenReadOnly(uri);
	if (lv->lv_conn == NULL)
		return lv_fail(lv, uri);
	type = virConnectGetType(lv->lv_conn);
	lv->lv_test = type && strcmp(type, "TEST") == 0;
	if (lv->lv_test) {
		/* Open before close: the test driver's state lives only
		 * while some connection holds it. */
		virConnectPtr rw = virConnectOpen(uri);

		if (rw == NULL)
			return lv_fail(lv,
				       "read-write connection (the test "
				       "driver's domain is marked running)");
		virConnectClose(lv->lv_conn);
		lv->lv_conn = rw;
	}
	/* Notices a dead libvirtd; 1 means the driver has no keepalive. */
	virConnectSetKeepAlive(lv->lv_conn, 5, 3);
	lv->lv_dom = lv_lookup(lv, name);
	if (lv->lv_dom == NULL)
		return lv_fail(lv, name);
	return 0;
}

int lv_claim(struct lv *lv)
{
	const char *name = virDomainGetName(lv->lv_dom);
	int active = lv_active(lv);

	if (active < 0)
		return -1;
	if (!lv->lv_test && active)
		return lv_errf(lv,
			       "domain '%s' runs under libvirt's %s driver; "
			       "kvmmu would run a second copy",
			       name, virConnectGetType(lv->lv_conn));
	if (!lv->lv_test)
		return 0;
	/* Atomic in libvirt: of two frontends, one gets "already running". */
	if (virDomainCreate(lv->lv_dom) < 0)
		return lv_fail(lv, "marking the domain running (virsh destroy "
				   "it if no frontend runs it)");
	lv->lv_started = true;
	return 0;
}

static void lv_note(struct lv *lv, char ev)
{
	ssize_t n = write(lv->lv_pipe[1], &ev, 1);

	(void)n; /* a full pipe already says "something changed" */
}

static void lv_on_metadata(virConnectPtr c, virDomainPtr d, int type,
			   const char *nsuri, void *opaque)
{
	(void)c;
	(void)d;
	if (type == VIR_DOMAIN_METADATA_ELEMENT && nsuri &&
	    strcmp(nsuri, KVMMU_XMLNS) == 0)
		lv_note(opaque, LV_EV_METADATA);
}

static void lv_on_lifecycle(virConnectPtr c, virDomainPtr d, int event,
			    int detail, void *opaque)
{
	(void)c;
	(void)d;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STARTED ||
	    event == VIR_DOMAIN_EVENT_STOPPED ||
	    event == VIR_DOMAIN_EVENT_UNDEFINED)
		lv_note(opaque, LV_EV_LIFECYCLE);
}

static void lv_on_close(virConnectPtr c, int reason, void *opaque)
{
	(void)c;
	(void)reason;
	lv_note(opaque, LV_EV_CLOSED);
}

static void *lv_loop(void *arg)
{
	struct lv *lv = arg;

	while (!atomic_load(&lv->lv_quit)) {
		if (virEventRunDefaultImpl() < 0)
			break;
	}
	return NULL;
}

int lv_watch(struct lv *lv)
{
	if (pipe2(lv->lv_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return lv_errf(lv, "pipe: %s", strerror(errno));
	lv->lv_cb_meta = virConnectDomainEventRegisterAny(
		lv->lv_conn, lv->lv_dom, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
		VIR_DOMAIN_EVENT_CALLBACK(lv_on_metadata), lv, NULL);
	if (lv->lv_cb_meta < 0)
		return lv_fail(lv, "metadata-change events");
	lv->lv_cb_life = virConnectDomainEventRegisterAny(
		lv->lv_conn, lv->lv_dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(lv_on_lifecycle), lv, NULL);
	if (lv->lv_cb_life < 0)
		return lv_fail(lv, "lifecycle events");
	/* Local drivers (test:///default) have no connection to lose. */
	lv->lv_cb_close = virConnectRegisterCloseCallback(
				  lv->lv_conn, lv_on_close, lv, NULL) == 0;
	if (pthread_create(&lv->lv_thread, NULL, lv_loop, lv) != 0)
		return lv_errf(lv, "event thread: cannot start");
	lv->lv_thread_on = true;
	return lv->lv_pipe[0];
}

char *lv_xml(struct lv *lv)
{
	char *xml = virDomainGetXMLDesc(lv->lv_dom, 0);

	if (xml == NULL)
		lv_fail(lv, "domain XML");
	return xml;
}

int lv_metadata(struct lv *lv, bool live, char **xml)
{
	unsigned flags =
		live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG;

	*xml = virDomainGetMetadata(lv->lv_dom, VIR_DOMAIN_METADATA_ELEMENT,
				    KVMMU_XMLNS, flags);
	if (*xml != NULL || virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA)
		return 0;
	return lv_fail(lv, live ? "live metadata" : "persistent metadata");
}

int lv_active(struct lv *lv)
{
	int r = virDomainIsActive(lv->lv_dom);

	if (r < 0)
		lv_fail(lv, "domain state");
	return r;
}

unsigned lv_events(struct lv *lv)
{
	char buf[64];
	unsigned mask = 0;
	ssize_t n;

	while ((n = read(lv->lv_pipe[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			mask |= buf[i] == LV_EV_METADATA    ? LV_MASK_METADATA
				: buf[i] == LV_EV_LIFECYCLE ? LV_MASK_LIFECYCLE
							    : LV_MASK_CLOSED;
		}
	}
	return mask;
}

static void lv_wake(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* The loop sleeps in poll(): a due timer wakes it to see lv_quit. */
static void lv_stop_thread(struct lv *lv)
{
	int t;

	if (!lv->lv_thread_on)
		return;
	atomic_store(&lv->lv_quit, 1);
	t = virEventAddTimeout(0, lv_wake, NULL, NULL);
	pthread_join(lv->lv_thread, NULL);
	if (t >= 0)
		virEventRemoveTimeout(t);
	lv->lv_thread_on = false;
}

void lv_close(struct lv *lv)
{
	lv_stop_thread(lv);
	if (lv->lv_cb_meta >= 0)
		virConnectDomainEventDeregisterAny(lv->lv_conn, lv->lv_cb_meta);
	if (lv->lv_cb_life >= 0)
		virConnectDomainEventDeregisterAny(lv->lv_conn, lv->lv_cb_life);
	if (lv->lv_cb_close)
		virConnectUnregisterCloseCallback(lv->lv_conn, lv_on_close);
	/* The VM is gone: libvirt must not go on calling it running. */
	if (lv->lv_started && virDomainIsActive(lv->lv_dom) == 1)
		virDomainDestroy(lv->lv_dom);
	if (lv->lv_dom)
		virDomainFree(lv->lv_dom);
	if (lv->lv_conn)
		virConnectClose(lv->lv_conn);
	for (int i = 0; i < 2; i++) {
		if (lv->lv_pipe[i] >= 0)
			close(lv->lv_pipe[i]);
	}
	lv_init(lv);
}
