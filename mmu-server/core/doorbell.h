/*
 * doorbell.h: a VM's doorbells (KVM_IOEVENTFD: a guest write that KVM
 * turns into a signal of an eventfd, with no exit), the rules they keep
 * against the memory map and each other, and their changes inside a
 * Transaction.  The rule the server holds: an MMIO doorbell lies in a
 * hole or an MMIO region, never in RAM, ROM or all-ones; a map change
 * that would cover one is refused unless the same Transaction moves or
 * removes it (ARCHITECTURE.md, doorbells and MSI).
 * Trust: privileged; doorbells come from validated requests.
 */
#ifndef KVMMU_DOORBELL_H
#define KVMMU_DOORBELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"
#include "verr.h"

struct doorbell {
	uint64_t db_addr; /* guest-physical, or a port with db_pio */
	uint32_t db_len;  /* 1, 2, 4, 8; 0: any width (MMIO) */
	bool db_pio;
	bool db_match; /* only writes of db_data */
	uint64_t db_data;
	int db_fd; /* the frontend's eventfd (owned), or -1 */
};

struct doorbells {
	struct doorbell *ds_v;
	size_t ds_n, ds_cap;
};

/* A Transaction's change: the doorbell dc_key moves to dc_addr or goes. */
struct db_change {
	struct doorbell dc_key; /* its db_fd unused */
	bool dc_remove;
	uint64_t dc_addr;
	int dc_idx; /* in ds_v, filled by doorbells_plan */
	/* Steps applied, for undo: */
	bool dc_off; /* deassigned at the old place */
	bool dc_on;  /* assigned at the new one */
};

/* Whether KVM would take a and b as one (KVM_IOEVENTFD's EEXIST). */
bool doorbell_collides(const struct doorbell *a, const struct doorbell *b);
/* Index of the doorbell with exactly k's fields, or -1. */
int doorbell_find(const struct doorbells *s, const struct doorbell *k);
/* "MMIO 0x1000 len 4 datamatch 0x1" into buf, for messages. */
const char *doorbell_name(const struct doorbell *d, char *buf, size_t len);

/*
 * A new doorbell d against the map and the doorbells there are: 0, or
 * -EEXIST naming the region (not MMIO) or doorbell in its way.
 */
int doorbells_check_new(const struct doorbells *s, const struct memmap *mm,
			const struct doorbell *d, struct verr *e);
/*
 * A plan p of mm and the doorbell changes c[0..n) that go with it:
 * each change names a doorbell there is, once; no doorbell of the
 * resulting set collides with another or lies in a region of the
 * resulting map that is not MMIO.  Fills dc_idx.  0, or -code with e
 * naming the doorbell (src: the request, for messages).
 */
int doorbells_plan(const struct doorbells *s, const struct memmap *mm,
		   const struct tx_plan *p, struct db_change *c, size_t n,
		   const char *src, struct verr *e);

/*
 * KVM_IOEVENTFD on vmfd: d (after doorbells_check_new) is assigned and
 * kept, its fd with it; on failure d's fd is released.  Deassign: the
 * doorbell with k's fields goes and its fd is released (-ENOENT: none).
 */
int doorbells_assign(struct doorbells *s, int vmfd, struct doorbell *d,
		     struct verr *e);
int doorbells_deassign(struct doorbells *s, int vmfd, const struct doorbell *k,
		       struct verr *e);
/*
 * Applies planned changes (vCPUs held by the caller): every changed
 * doorbell leaves its place, then each moved one is assigned at its new
 * place.  On failure the steps taken are undone (-code, e set).
 * doorbells_undo undoes a whole applied set; doorbells_commit makes it
 * the VM's (removed ones' fds released).
 */
int doorbells_apply(struct doorbells *s, int vmfd, struct db_change *c,
		    size_t n, struct verr *e);
void doorbells_undo(struct doorbells *s, int vmfd, struct db_change *c,
		    size_t n);
void doorbells_commit(struct doorbells *s, struct db_change *c, size_t n);
/* Lets go of every doorbell's fd (the VM's fd is closed or closing). */
void doorbells_free(struct doorbells *s);

#endif
