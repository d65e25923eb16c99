/*
 * domload.h: vmm-frontend's options from a libvirt domain, read from a
 * file (--domain-xml) or from libvirt (--connect URI --domain NAME).
 * Trust: unprivileged.
 */
#ifndef KVMMU_DOMLOAD_H
#define KVMMU_DOMLOAD_H

#include "domain.h"
#include "frontend.h"
#include "libvirt.h"

/*
 * Reads and checks the domain and fills f->f_opt from it; with libvirt
 * also claims the domain and subscribes to its events (f->f_lv,
 * f->f_lv_fd).  0, or with the reason printed -EINVAL (the domain is
 * refused) or -EIO (libvirt failed).  d and lv are the
 * caller's, to free (domain_free, lv_close) after the run.
 */
int domload(struct frontend *f, struct domain *d, struct lv *lv);

#endif
