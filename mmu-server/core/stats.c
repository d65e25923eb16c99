/*
 * stats.c: reads KVM's binary statistics and keeps the server's counters.
 * Trust: privileged; the stats fd is kernel-provided, the counters are ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "kvm.h"
#include "stats.h"

static int kstats_pread(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Keeps the single-value stats; histograms are not exported. */
static int kstats_parse(struct kstats *ks, const struct kvm_stats_header *h,
			const char *descs)
{
	size_t dsz = sizeof(struct kvm_stats_desc) + h->name_size;

	ks->ks_names = calloc(h->num_desc, sizeof(char *));
	ks->ks_offsets = calloc(h->num_desc, sizeof(uint64_t));
	if (ks->ks_names == NULL || ks->ks_offsets == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < h->num_desc; i++) {
		const struct kvm_stats_desc *d =
			(const void *)(descs + i * dsz);
		uint64_t end = (uint64_t)d->offset + d->size * 8ULL;

		if (end > ks->ks_data_len)
			ks->ks_data_len = end;
		if (d->size != 1)
			continue;
		ks->ks_names[ks->ks_n] = strndup(d->name, h->name_size);
		if (ks->ks_names[ks->ks_n] == NULL)
			return -ENOMEM;
		ks->ks_offsets[ks->ks_n++] = d->offset;
	}
	ks->ks_buf = malloc(ks->ks_data_len ? ks->ks_data_len : 8);
	return ks->ks_buf == NULL ? -ENOMEM : 0;
}

int kstats_open(struct kstats *ks, int kvmfd)
{
	struct kvm_stats_header h;
	char *descs = NULL;
	size_t dlen;
	int r;

	memset(ks, 0, sizeof(*ks));
	ks->ks_fd = kvm_stats_fd(kvmfd);
	if (ks->ks_fd < 0)
		return ks->ks_fd;
	if (fcntl(ks->ks_fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		goto err;
	}
	r = kstats_pread(ks->ks_fd, &h, sizeof(h), 0);
	if (r < 0)
		goto err;
	dlen = (sizeof(struct kvm_stats_desc) + h.name_size) * h.num_desc;
	descs = malloc(dlen ? dlen : 1);
	if (descs == NULL) {
		r = -ENOMEM;
		goto err;
	}
	r = kstats_pread(ks->ks_fd, descs, dlen, h.desc_offset);
	if (r == 0)
		r = kstats_parse(ks, &h, descs);
	free(descs);
	if (r < 0)
		goto err;
	ks->ks_data_off = h.data_offset;
	return 0;
err:
	kstats_close(ks);
	return r;
}

int kstats_read(struct kstats *ks, uint64_t *values)
{
	int r = kstats_pread(ks->ks_fd, ks->ks_buf, ks->ks_data_len,
			     ks->ks_data_off);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ks->ks_n; i++)
		memcpy(&values[i], (char *)ks->ks_buf + ks->ks_offsets[i], 8);
	return 0;
}

void kstats_close(struct kstats *ks)
{
	if (ks->ks_fd >= 0)
		close(ks->ks_fd);
	for (size_t i = 0; i < ks->ks_n; i++)
		free(ks->ks_names[i]);
	free(ks->ks_names);
	free(ks->ks_offsets);
	free(ks->ks_buf);
	memset(ks, 0, sizeof(*ks));
	ks->ks_fd = -1;
}

static _Atomic uint64_t srv_counters[SC_COUNT];

static const char *const srv_counter_names[SC_COUNT] = {
	[SC_ERRORS] = "errors",
	[SC_BAD_FRAMES] = "bad_frames",
	[SC_DISCONNECTS] = "disconnects.violations",
	[SC_CONNECTIONS] = "connections",
	[SC_VMS_CREATED] = "vms.created",
	[SC_VMS_DESTROYED] = "vms.destroyed",
	[SC_MEMSLOT_IOCTLS] = "memslot_ioctls",
	[SC_HELD_BACK] = "held_back.releasing",
};

void srv_count(enum srv_counter c)
{
	srv_count_add(c, 1);
}

void srv_count_add(enum srv_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&srv_counters[c], n, memory_order_relaxed);
}

uint64_t srv_counter_get(enum srv_counter c)
{
	return atomic_load_explicit(&srv_counters[c], memory_order_relaxed);
}

const char *srv_counter_name(enum srv_counter c)
{
	return srv_counter_names[c];
}
