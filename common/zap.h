/*
 * zap.h: the zap-control policy as every program names, parses, prints
 * and bounds it: mmu-server, vmm-frontend (flags, domain XML, live
 * changes) and mmuctl.  Values are kvmmu.ZapMode and kvmmu.AllOnes.
 * Trust: parses untrusted text (flags, XML, admin requests).
 */
#ifndef KVMMU_ZAP_H
#define KVMMU_ZAP_H

#include <stddef.h>

#include "kvmmu.pb-c.h"

/* The longest invalidation batch window: one second. */
#define ZAP_MAX_WINDOW_US 1000000u

/* "all", "memslot" (anything else: "all", KVM's default). */
const char *zap_mode_name(int mode);
/* "mmio", "rom" (anything else: "mmio", the default). */
const char *zap_allones_name(int allones);
/* KVMMU__ZAP_MODE__* for "all" or "memslot", else -1. */
int zap_mode_parse(const char *s);
/* KVMMU__ALL_ONES__* for "mmio" or "rom", else -1. */
int zap_allones_parse(const char *s);
/* "mode=memslot batch-window-us=200 allones=rom" into buf; returns buf. */
const char *zap_str(const Kvmmu__ZapControl *z, char *buf, size_t len);

#endif
