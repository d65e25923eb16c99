/*
 * mmiobus.h: which device model owns which guest-physical range of MMIO,
 * beside the port bus (iobus.h).  An MMIO exit goes to the one owner of
 * its address (run.c); two models never claim one byte.  The pc machine
 * claims its PCI window and hands each access to the function whose BAR
 * decodes it (machine.c), so a BAR that moves needs no new claim.
 * Trust: unprivileged; addresses and data come from the guest.
 */
#ifndef KVMMU_MMIOBUS_H
#define KVMMU_MMIOBUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One access of len (1..8) bytes at gpa: data is the guest's for a
 * write, ours to fill for a read.  0, or -errno when the run must stop
 * (a map change the server refused).
 */
typedef int mmio_handler(void *arg, unsigned vcpu, uint64_t gpa, bool write,
			 uint8_t *data, unsigned len);

struct mmio_range {
	uint64_t mr_base, mr_len;
	mmio_handler *mr_fn;
	void *mr_arg;
	const char *mr_name;
};

#define MMIOBUS_MAX 16

struct mmiobus {
	struct mmio_range mb_r[MMIOBUS_MAX];
	unsigned mb_n;
};

/* 0, -EEXIST when a byte is owned already, -ENOSPC, -EINVAL (len 0). */
int mmiobus_add(struct mmiobus *b, uint64_t base, uint64_t len,
		mmio_handler *fn, void *arg, const char *name);
/* The owner of gpa, or NULL. */
const struct mmio_range *mmiobus_find(const struct mmiobus *b, uint64_t gpa);

#endif
