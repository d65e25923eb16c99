/*
 * live.c: libvirt's events, handled on the frontend's main thread (the
 * only one that talks to mmu-server).  A metadata change is read back
 * from libvirt and checked like the domain at start; a live change goes
 * to the server as SetZapControl, and what the server then reports
 * (GetStats) is logged as in force.  A change the server cannot make
 * live (memslot -> all: KVM cannot re-enable the quirk) is logged as
 * needing a restart and nothing pretends otherwise; a persistent change
 * is logged as taking effect at the next start.
 * Trust: unprivileged; the metadata is operator input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "frontend.h"
#include "libvirt.h"

/* A copy that owns nothing (src may belong to a reply). */
static void zap_copy(Kvmmu__ZapControl *dst, const Kvmmu__ZapControl *src)
{
	kvmmu__zap_control__init(dst);
	dst->has_mode = src->has_mode;
	dst->mode = src->mode;
	dst->has_batch_window_us = src->has_batch_window_us;
	dst->batch_window_us = src->batch_window_us;
	dst->has_allones = src->has_allones;
	dst->allones = src->allones;
	zap_defaults(dst);
}

void live_start(struct frontend *f, const Kvmmu__ZapControl *created)
{
	zap_copy(&f->f_zap, created);
	f->f_live = f->f_conf = f->f_zap;
}

/*
 * What the server says is in force (into f_zap), with the counters the
 * policy affects.  The server's word, not ours: the admin API (mmuctl
 * zap-control) may have changed it behind libvirt's back.
 */
static int live_stats(struct frontend *f, uint64_t *zapped, uint64_t *ioctls)
{
	Kvmmu__Reply *rep;

	if (client_get_stats(&f->f_cl, f->f_boot.b_vm, &rep) < 0) {
		fprintf(stderr, "vmm-frontend: GetStats: %s\n", f->f_cl.cl_err);
		return -1;
	}
	if (rep->stats->zap)
		zap_copy(&f->f_zap, rep->stats->zap);
	stats_find(rep->stats, -1, "mmu_shadow_zapped", zapped);
	stats_find(rep->stats, -1, "vm.memslot_ioctls", ioctls);
	client_free_reply(rep);
	return 0;
}

static void live_confirm(struct frontend *f)
{
	uint64_t zapped = 0, ioctls = 0;
	char now[96], phase[32] = "";

	if (live_stats(f, &zapped, &ioctls) < 0)
		return;
	if (f->f_machine.m_pc)
		snprintf(phase, sizeof(phase), ", guest phase %u",
			 f->f_machine.m_last_phase);
	fprintf(stderr,
		"vmm-frontend: libvirt live change: zap control now %s "
		"(GetStats: mmu_shadow_zapped=%llu vm.memslot_ioctls=%llu%s)\n",
		zap_str(&f->f_zap, now, sizeof(now)),
		(unsigned long long)zapped, (unsigned long long)ioctls, phase);
}

/* The mode alone: memslot -> all is the change that needs a restart. */
static bool live_mode(struct frontend *f, Kvmmu__ZapMode mode)
{
	Kvmmu__ZapControl z = KVMMU__ZAP_CONTROL__INIT;
	char now[96];
	int r;

	z.has_mode = 1;
	z.mode = mode;
	r = client_set_zap(&f->f_cl, f->f_boot.b_vm, &z);
	if (r == 0)
		return true;
	fprintf(stderr,
		"vmm-frontend: libvirt live change: zap control mode=%s %s, "
		"not applied (in force: %s): %s%s\n",
		zap_mode_name(mode),
		r == -EBUSY ? "needs a restart" : "refused by mmu-server",
		zap_str(&f->f_zap, now, sizeof(now)), f->f_cl.cl_err,
		r == -EBUSY ? "; set it with virsh metadata --config and "
			      "restart the domain"
			    : "");
	return false;
}

static void live_apply(struct frontend *f, const Kvmmu__ZapControl *want)
{
	Kvmmu__ZapControl rest = *want;
	bool applied = false;
	uint64_t unused;
	char now[96];

	if (live_stats(f, &unused, &unused) < 0)
		return;
	if (zap_equal(want, &f->f_zap)) {
		fprintf(stderr,
			"vmm-frontend: libvirt live change: zap control "
			"already %s\n",
			zap_str(&f->f_zap, now, sizeof(now)));
		return;
	}
	/* The other fields first: a refused mode must not hold them up. */
	rest.has_mode = 0;
	if (want->batch_window_us != f->f_zap.batch_window_us ||
	    want->allones != f->f_zap.allones) {
		if (client_set_zap(&f->f_cl, f->f_boot.b_vm, &rest) == 0)
			applied = true;
		else
			fprintf(stderr,
				"vmm-frontend: libvirt live change refused by "
				"mmu-server: %s\n",
				f->f_cl.cl_err);
	}
	if (want->mode != f->f_zap.mode)
		applied |= live_mode(f, want->mode);
	if (applied)
		live_confirm(f);
}

/* Whether the raw metadata of one side differs from the last read. */
static bool live_changed(struct frontend *f, bool live, char *xml)
{
	char **raw = &f->f_raw[live ? 0 : 1];
	bool same = (*raw == NULL && xml == NULL) ||
		    (*raw && xml && strcmp(*raw, xml) == 0);

	free(*raw);
	*raw = xml; /* kept: an invalid element is reported once */
	return !same;
}

/* One side of the domain (live or persistent) after a change. */
static void live_side(struct frontend *f, bool live)
{
	Kvmmu__ZapControl z, *seen = live ? &f->f_live : &f->f_conf;
	const char *side = live ? "live" : "persistent";
	char *xml, err[300], buf[96], now[96];

	if (lv_metadata(f->f_lv, live, &xml) < 0) {
		fprintf(stderr, "vmm-frontend: libvirt: %s\n", f->f_lv->lv_err);
		return;
	}
	if (!live_changed(f, live, xml))
		return;
	zap_str(&f->f_zap, now, sizeof(now));
	if (zap_parse(xml, &z, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"vmm-frontend: libvirt %s change refused: %s (in "
			"force: %s)\n",
			side, err, now);
		return;
	}
	if (zap_equal(&z, seen))
		return; /* the other side changed */
	*seen = z;
	if (live)
		live_apply(f, &z);
	else
		fprintf(stderr,
			"vmm-frontend: libvirt persistent change: zap control "
			"%s takes effect at the next start (in force: %s)\n",
			zap_str(&z, buf, sizeof(buf)), now);
}

/*
 * On the test driver, libvirt's state is ours: a stop there (virsh
 * destroy) stops the VM.  Elsewhere libvirt starting the domain means a
 * real QEMU runs it too; kvmmu cannot prevent that, only say it.
 */
static void live_lifecycle(struct frontend *f)
{
	int active = lv_active(f->f_lv);

	if (!f->f_lv->lv_test && active == 1)
		fprintf(stderr,
			"vmm-frontend: libvirt started domain '%s' itself "
			"(virsh start): it now runs twice, in %s and in "
			"kvmmu\n",
			f->f_opt->name, virConnectGetType(f->f_lv->lv_conn));
	if (!f->f_lv->lv_started || active != 0)
		return;
	fprintf(stderr,
		"vmm-frontend: libvirt stopped domain '%s' (virsh "
		"destroy or shutdown): stopping the VM\n",
		f->f_opt->name);
	f->f_stop = true;
}

void live_free(struct frontend *f)
{
	free(f->f_raw[0]);
	free(f->f_raw[1]);
	f->f_raw[0] = f->f_raw[1] = NULL;
}

void live_event(struct frontend *f)
{
	unsigned ev = lv_events(f->f_lv);
	int active;

	if (ev & LV_MASK_CLOSED)
		fprintf(stderr, "vmm-frontend: libvirt closed the connection: "
				"no more live changes; the VM runs on\n");
	if (ev & LV_MASK_LIFECYCLE)
		live_lifecycle(f);
	if (!(ev & LV_MASK_METADATA))
		return;
	/* Only a running domain has live metadata. */
	active = lv_active(f->f_lv);
	if (active < 0)
		fprintf(stderr, "vmm-frontend: libvirt: %s\n", f->f_lv->lv_err);
	if (active == 1)
		live_side(f, true);
	live_side(f, false);
}
