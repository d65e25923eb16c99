/*
 * libvirt.h: the frontend's libvirt connection: one domain's definition,
 * its metadata, and the events that say it changed.
 *
 * libvirt's events arrive on a thread of their own (libvirt's default
 * event loop); that thread only writes one byte per event into a pipe,
 * and the frontend's poll loop reads the pipe and does the work, so only
 * the main thread ever talks to mmu-server.
 *
 * Which driver serves the domain decides what "running" means:
 *  - the test driver (test+unix:///default?socket=... of a libvirtd)
 *    starts nothing: the frontend marks the domain running there for the
 *    VM's lifetime (virDomainCreate, virDomainDestroy at exit), so that
 *    `virsh metadata --live` applies to it, and `virsh destroy` stops it;
 *    that needs a read-write connection;
 *  - any other driver (QEMU) would start a real QEMU: the frontend never
 *    starts the domain, reads its persistent definition over a read-only
 *    connection and refuses a domain libvirt already runs.
 * Trust: unprivileged; libvirt's answers are operator input.
 */
#ifndef KVMMU_LIBVIRT_H
#define KVMMU_LIBVIRT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <libvirt/libvirt.h>

/* What the pipe carries (one byte each). */
#define LV_EV_METADATA	'm'
#define LV_EV_LIFECYCLE 'l'
#define LV_EV_CLOSED	'c'

#define LV_MASK_METADATA  1u
#define LV_MASK_LIFECYCLE 2u
#define LV_MASK_CLOSED	  4u

struct lv {
	virConnectPtr lv_conn;
	virDomainPtr lv_dom;
	bool lv_test;	 /* the test driver: running is ours to mark */
	bool lv_started; /* we marked it running: undo at exit */
	int lv_cb_meta;	 /* event callback ids, -1: none */
	int lv_cb_life;
	bool lv_cb_close;
	int lv_pipe[2]; /* event thread -> main loop */
	pthread_t lv_thread;
	bool lv_thread_on;
	atomic_int lv_quit;
	char lv_err[512];
};

/* Everything closed; lv_close() is then a no-op. */
void lv_init(struct lv *lv);
/*
 * Connects (read-only, or read-write for the test driver) and looks the
 * domain up by name or UUID.  0 or -1 with lv_err set.
 */
int lv_open(struct lv *lv, const char *uri, const char *name);
/*
 * Makes the domain the frontend's: on the test driver marks it running
 * (refused when it already is: another frontend, or `virsh start`);
 * elsewhere refuses a domain libvirt runs.  0 or -1 with lv_err set.
 */
int lv_claim(struct lv *lv);
/* Subscribes to metadata, lifecycle and close events; the pipe's fd. */
int lv_watch(struct lv *lv);
/* The domain's XML (free()), or NULL with lv_err set. */
char *lv_xml(struct lv *lv);
/*
 * Our metadata element, live or persistent: 0 with *xml (free()) or NULL
 * when there is none, -1 with lv_err set.
 */
int lv_metadata(struct lv *lv, bool live, char **xml);
/* 1 running, 0 not, -1 error. */
int lv_active(struct lv *lv);
/* Drains the pipe: LV_MASK_* of the events since the last call. */
unsigned lv_events(struct lv *lv);
/* Stops the thread, unmarks the domain if we marked it, disconnects. */
void lv_close(struct lv *lv);

#endif
