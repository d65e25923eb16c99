/*
 * msix.c: MSI-X capability, table and PBA (msix.h).
 * Trust: unprivileged; table entries and control bits come from the
 * guest and reach the server only as messages it validates again.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msix.h"

#define CTRL_ENABLE	 0x8000
#define CTRL_FN_MASK	 0x4000
#define ENTRY_MASKED	 1u
#define MSI_ADDR_WINDOW	 0xfee00000u
#define MSI_PLACEHOLDER	 MSI_ADDR_WINDOW /* APIC 0, vector 0: masked */
#define MSIX_ENTRY_BYTES 16

int msix_init(struct msix *mx, struct pci_fn *fn, unsigned n, unsigned bar,
	      uint32_t table, uint32_t pba)
{
	uint8_t body[10];
	uint16_t ctrl = (uint16_t)(n - 1);
	uint32_t t = table | bar, p = pba | bar;
	int at;

	if (n == 0 || n > MSIX_MAX_VECTORS || bar >= PCI_FN_BARS ||
	    (table & 7) || (pba & 7) ||
	    table + n * MSIX_ENTRY_BYTES > fn->pf_bar[bar].pb_size ||
	    pba + 8 > fn->pf_bar[bar].pb_size)
		return -EINVAL;
	memset(mx, 0, sizeof(*mx));
	memcpy(body, &ctrl, 2);
	memcpy(body + 2, &t, 4);
	memcpy(body + 6, &p, 4);
	at = pci_fn_cap(fn, PCI_CAP_MSIX, body, sizeof(body));
	if (at < 0)
		return at;
	/* Enable and function mask are the guest's; the rest is fixed. */
	fn->pf_wmask[at + 3] = (CTRL_ENABLE | CTRL_FN_MASK) >> 8;
	mx->mx_fn = fn;
	mx->mx_n = n;
	mx->mx_cap = (unsigned)at;
	mx->mx_bar = bar;
	mx->mx_table = table;
	mx->mx_pba = pba;
	for (unsigned i = 0; i < n; i++) {
		mx->mx_v[i].mv_ctrl = ENTRY_MASKED; /* as at reset */
		mx->mx_v[i].mv_gsi = mx->mx_v[i].mv_irqfd = -1;
	}
	return 0;
}

void msix_free(struct msix *mx)
{
	for (unsigned i = 0; i < mx->mx_n; i++) {
		if (mx->mx_v[i].mv_irqfd >= 0)
			close(mx->mx_v[i].mv_irqfd);
		mx->mx_v[i].mv_irqfd = -1;
	}
}

static uint16_t msix_ctrl(const struct msix *mx)
{
	uint16_t c;

	memcpy(&c, &mx->mx_fn->pf_cfg[mx->mx_cap + 2], 2);
	return c;
}

/* x86's MSI: the local APICs' window, bits 1:0 clear, 16-bit data. */
static bool msix_valid(const struct msix_vec *v)
{
	return (v->mv_lo & 0xfff00003u) == MSI_ADDR_WINDOW && v->mv_hi == 0 &&
	       v->mv_data <= 0xffff;
}

bool msix_vector_live(const struct msix *mx, unsigned v)
{
	const struct msix_vec *e = &mx->mx_v[v];
	uint16_t c = msix_ctrl(mx);

	return (c & CTRL_ENABLE) && !(c & CTRL_FN_MASK) &&
	       !(e->mv_ctrl & ENTRY_MASKED) && msix_valid(e);
}

/* Tells KVM vector v's message and mask, where they changed. */
static int msix_sync(struct msix *mx, unsigned v)
{
	const struct vmmap *map = mx->mx_fn->pf_map;
	struct msix_vec *e = &mx->mx_v[v];
	bool masked = !msix_vector_live(mx, v) || e->mv_held;
	int r;

	if (e->mv_gsi < 0)
		return 0;
	if (msix_valid(e) &&
	    (e->mv_lo != e->mv_lo_k || e->mv_data != e->mv_data_k)) {
		r = map->vm_msi_route(map->vm_arg, e->mv_gsi, e->mv_lo,
				      e->mv_data, NULL);
		if (r < 0)
			return r;
		e->mv_lo_k = e->mv_lo;
		e->mv_data_k = e->mv_data;
	}
	if (masked == e->mv_masked_k)
		return 0;
	r = map->vm_mask_irqfd(map->vm_arg, (uint32_t)e->mv_gsi, masked);
	if (r == 0)
		e->mv_masked_k = masked;
	return r;
}

int msix_irqfd(struct msix *mx, unsigned v, int *fd)
{
	const struct vmmap *map = mx->mx_fn->pf_map;
	struct msix_vec *e;
	uint32_t gsi;
	int r;

	if (v >= mx->mx_n)
		return -EINVAL;
	e = &mx->mx_v[v];
	if (e->mv_irqfd >= 0) {
		*fd = e->mv_irqfd;
		return 0;
	}
	if (map == NULL || map->vm_msi_route == NULL || map->vm_irqfd == NULL)
		return -ENOSYS;
	if (e->mv_gsi < 0) {
		e->mv_lo_k = msix_valid(e) ? e->mv_lo : MSI_PLACEHOLDER;
		e->mv_data_k = msix_valid(e) ? e->mv_data : 0;
		r = map->vm_msi_route(map->vm_arg, -1, e->mv_lo_k, e->mv_data_k,
				      &gsi);
		if (r < 0)
			return r;
		e->mv_gsi = (int)gsi;
	}
	r = map->vm_irqfd(map->vm_arg, (uint32_t)e->mv_gsi, &e->mv_irqfd);
	if (r < 0)
		return r;
	e->mv_masked_k = false; /* a new irqfd listens */
	r = msix_sync(mx, v);
	if (r == 0)
		*fd = e->mv_irqfd;
	return r;
}

int msix_hold(struct msix *mx, unsigned v, bool hold)
{
	if (v >= mx->mx_n)
		return -EINVAL;
	mx->mx_v[v].mv_held = hold;
	return msix_sync(mx, v);
}

static int msix_sync_all(struct msix *mx)
{
	for (unsigned i = 0; i < mx->mx_n; i++) {
		int r = msix_sync(mx, i);

		if (r < 0)
			return r;
	}
	return 0;
}

int msix_cfg_write(struct msix *mx, unsigned off, unsigned len)
{
	/* The control word is at cap + 2; only its high byte is writable. */
	if (off + len <= mx->mx_cap + 3 || off > mx->mx_cap + 3)
		return 0;
	return msix_sync_all(mx);
}

/* Table words: address lo, hi, data, vector control; 4 or 8 bytes. */
static int msix_table(struct msix *mx, uint64_t off, bool write, uint8_t *data,
		      unsigned len)
{
	unsigned v = (unsigned)(off / MSIX_ENTRY_BYTES);
	unsigned w = (unsigned)(off % MSIX_ENTRY_BYTES) / 4;
	struct msix_vec *e = &mx->mx_v[v];
	uint32_t *words[4] = {&e->mv_lo, &e->mv_hi, &e->mv_data, &e->mv_ctrl};
	uint32_t val[2] = {0, 0};

	if ((len != 4 && len != 8) || (off & (len - 1))) {
		if (!write)
			memset(data, 0xff, len);
		return 1; /* the spec's undefined accesses: ignored */
	}
	if (!write) {
		for (unsigned i = 0; i < len / 4; i++)
			val[i] = *words[w + i];
		memcpy(data, val, len);
		return 1;
	}
	memcpy(val, data, len);
	for (unsigned i = 0; i < len / 4; i++)
		*words[w + i] = w + i == 3 ? val[i] & ENTRY_MASKED : val[i];
	return msix_sync(mx, v) < 0 ? -EIO : 1;
}

int msix_mmio(struct msix *mx, uint64_t off, bool write, uint8_t *data,
	      unsigned len)
{
	if (off >= mx->mx_table &&
	    off - mx->mx_table < mx->mx_n * MSIX_ENTRY_BYTES)
		return msix_table(mx, off - mx->mx_table, write, data, len);
	if (off >= mx->mx_pba && off - mx->mx_pba < 8) {
		/*
		 * No pending bits: every vector this device raises goes
		 * through an irqfd, whose masked signals KVM keeps in the
		 * eventfd, not here.  Writes are ignored (read-only).
		 */
		if (!write)
			memset(data, 0, len);
		return 1;
	}
	return 0;
}
