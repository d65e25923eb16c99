/*
 * stats.h: KVM binary statistics (KVM_GET_STATS_FD) and the server's own
 * counters.  Trust: privileged; reads only kernel-provided data.
 */
#ifndef KVMMU_STATS_H
#define KVMMU_STATS_H

#include <stddef.h>
#include <stdint.h>

/* One VM's or vCPU's stats fd with its descriptors read once. */
struct kstats {
	int ks_fd;
	size_t ks_n; /* single-value stats kept */
	char **ks_names;
	uint64_t *ks_offsets; /* byte offset of each value in the data */
	uint64_t ks_data_off;
	size_t ks_data_len;
	uint64_t *ks_buf; /* ks_data_len bytes, reused by each read */
};

/* Opens the stats of a VM or vCPU fd.  0 or -errno. */
int kstats_open(struct kstats *ks, int kvmfd);
/* Reads the current values into values[0..ks_n).  0 or -errno. */
int kstats_read(struct kstats *ks, uint64_t *values);
void kstats_close(struct kstats *ks);

/* Server-wide counters, bumped from any thread (per request: requests.c). */
enum srv_counter {
	SC_ERRORS,
	SC_BAD_FRAMES,
	SC_DISCONNECTS,
	SC_CONNECTIONS,
	SC_VMS_CREATED,
	SC_VMS_DESTROYED,
	SC_MEMSLOT_IOCTLS,
	SC_HELD_BACK, /* connections held back: their uid's fds closing */
	SC_COUNT
};

void srv_count(enum srv_counter c);
void srv_count_add(enum srv_counter c, uint64_t n);
uint64_t srv_counter_get(enum srv_counter c);
const char *srv_counter_name(enum srv_counter c);

#endif
