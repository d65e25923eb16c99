/*
 * test_machine.c: the pc machine (vmm-frontend/machine/machine.c) driven
 * through its ports, with a vmmap that records what would reach the server
 * instead of a server: a BAR-sizing cycle costs one transaction, decode
 * off costs none until decode comes back, eager commit sends every write,
 * the VGA window and the option ROM map and unmap; the machine's ports
 * are its own on the bus.  No KVM needed: the machine only knows its VM
 * through the vmmap.
 * Trust: test code.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "machine.h"
#include "msix.h"

struct rec {
	unsigned tx, maps, unmaps;
	size_t last_n;	      /* regions in the last transaction */
	uint64_t last_gpa[4]; /* their GPAs */
	int last_kind[4];
	/* Doorbells and MSI: what the last calls asked for. */
	unsigned tx_db, ioevs, routes, masks, irqfds;
	size_t last_ndb;
	uint64_t db_from, db_to; /* the last Transaction's first change */
	bool db_has_to;
	uint64_t ioev_addr;
	bool ioev_deassign;
	int route_gsi;
	uint32_t route_lo, route_data;
	bool masked;
};

static int rec_tx(void *arg, uint64_t gpa, uint64_t size, Kvmmu__Region **r,
		  size_t n)
{
	struct rec *x = arg;

	(void)gpa;
	(void)size;
	x->tx++;
	x->last_n = n;
	for (size_t i = 0; i < n && i < 4; i++) {
		x->last_gpa[i] = r[i]->gpa;
		x->last_kind[i] = r[i]->kind;
	}
	return 0;
}

static int rec_tx_db(void *arg, uint64_t gpa, uint64_t size, Kvmmu__Region **r,
		     size_t n, Kvmmu__DoorbellChange **d, size_t nd)
{
	struct rec *x = arg;

	x->tx_db++;
	x->last_ndb = nd;
	x->db_from = d[0]->doorbell->addr;
	x->db_has_to = d[0]->has_new_addr;
	x->db_to = d[0]->new_addr;
	return rec_tx(arg, gpa, size, r, n);
}

static int rec_ioev(void *arg, const Kvmmu__Doorbell *db, int fd, bool deassign)
{
	struct rec *x = arg;

	(void)fd;
	x->ioevs++;
	x->ioev_addr = db->addr;
	x->ioev_deassign = deassign;
	return 0;
}

static int rec_route(void *arg, int gsi, uint32_t lo, uint32_t data,
		     uint32_t *out)
{
	struct rec *x = arg;

	x->routes++;
	x->route_gsi = gsi;
	x->route_lo = lo;
	x->route_data = data;
	if (out)
		*out = 24;
	return 0;
}

static int rec_mask(void *arg, uint32_t gsi, bool masked)
{
	struct rec *x = arg;

	(void)gsi;
	x->masks++;
	x->masked = masked;
	return 0;
}

static int rec_irqfd(void *arg, uint32_t gsi, int *fd)
{
	(void)gsi;
	((struct rec *)arg)->irqfds++;
	*fd = -1; /* not a real eventfd: msix_free closes nothing */
	return 0;
}

static int rec_map(void *arg, uint64_t gpa, uint64_t size, int fd,
		   const char *name)
{
	(void)gpa;
	(void)size;
	(void)fd;
	(void)name;
	((struct rec *)arg)->maps++;
	return 0;
}

static int rec_unmap(void *arg, uint64_t gpa)
{
	(void)gpa;
	((struct rec *)arg)->unmaps++;
	return 0;
}

static uint64_t rec_faults(void *arg)
{
	(void)arg;
	return 0;
}

static const char *rec_error(void *arg)
{
	(void)arg;
	return "recorded";
}

static struct iobus bus;

/* An out to port through the bus, as run.c does; the handler's result. */
static int out(uint16_t port, unsigned size, uint32_t v)
{
	const struct io_range *r = iobus_find(&bus, port);

	return r ? r->ir_fn(r->ir_arg, 0, port, size, true, (uint8_t *)&v, size)
		 : -1;
}

/* A config-space write of device dev's register reg. */
static void cfg_write(unsigned dev, unsigned reg, uint32_t v)
{
	CHECK(out(GUEST_PCI_ADDR, 4, 0x80000000u | dev << 11 | reg) == 0 &&
		      out(GUEST_PCI_DATA, 4, v) == 0,
	      "config write dev %u reg 0x%x", dev, reg);
}

static void test_pc(bool eager)
{
	struct rec x = {0};
	struct vmmap map = {.vm_transaction = rec_tx,
			    .vm_map_rom = rec_map,
			    .vm_unmap = rec_unmap,
			    .vm_faults = rec_faults,
			    .vm_error = rec_error,
			    .vm_arg = &x};
	uint32_t bar = (uint32_t)GUEST_PCI_MMIO_BASE;
	struct machine m;

	memset(&bus, 0, sizeof(bus));
	CHECK(machine_init(&m, true, eager, 2, 64 << 20, NULL, 0, &map) == 0 &&
		      machine_register(&m, &bus) == 0,
	      "pc machine with 2 devices");
	CHECK(iobus_add(&bus, GUEST_PCI_DATA, 1, NULL, NULL, "x") == -EEXIST,
	      "a port has one owner");
	/* Place device 1's BAR and turn decode on: one transaction. */
	cfg_write(1, 0x10, bar);
	cfg_write(1, 0x04, 2);
	CHECK(x.tx == (eager ? 2u : 1u) && x.last_n == 1 &&
		      x.last_gpa[0] == bar,
	      "%s: BAR placed and decoded: %u transactions",
	      eager ? "eager" : "lazy", x.tx);
	/* A sizing cycle: decode off, all ones, restore, decode on. */
	x.tx = 0;
	cfg_write(1, 0x04, 0);
	cfg_write(1, 0x10, 0xffffffff);
	cfg_write(1, 0x10, bar);
	cfg_write(1, 0x04, 2);
	CHECK(x.tx == (eager ? 4u : 1u),
	      "%s: a sizing cycle costs %u transactions",
	      eager ? "eager" : "lazy", x.tx);
	/* The VGA window: a transaction each way. */
	x.tx = 0;
	CHECK(out(GUEST_PORT_VGA, 1, 1) == 0 && x.tx == 1, "VGA window on");
	/* The option ROM: mapped when its BAR and decode are on. */
	cfg_write(1, 0x30, (uint32_t)(GUEST_PCI_MMIO_BASE + 0x10000000) | 1);
	CHECK(machine_flush(&m) == 0 && x.maps == 1, "option ROM mapped");
	cfg_write(1, 0x30, 0);
	CHECK(machine_flush(&m) == 0 && x.unmaps == 1, "option ROM unmapped");
	machine_free(&m);
}

/* An in of size bytes from port through the bus. */
static uint32_t in(uint16_t port, unsigned size)
{
	const struct io_range *r = iobus_find(&bus, port);
	uint32_t v = 0;

	if (r)
		r->ir_fn(r->ir_arg, 0, port, size, false, (uint8_t *)&v, size);
	return v;
}

static uint32_t cfg_read(unsigned dev, unsigned reg)
{
	out(GUEST_PCI_ADDR, 4, 0x80000000u | dev << 11 | reg);
	return in(GUEST_PCI_DATA, 4);
}

/* An MMIO access through the bus, as run.c makes it. */
static int mmio(struct mmiobus *mb, uint64_t gpa, bool write, uint32_t *v)
{
	const struct mmio_range *r = mmiobus_find(mb, gpa);

	return r ? r->mr_fn(r->mr_arg, 0, gpa, write, (uint8_t *)v, 4) : -1;
}

/* The function's owner hands MSI-X its BAR and config writes. */
static int fn_mmio(void *arg, unsigned bar, uint64_t off, bool write,
		   uint8_t *data, unsigned len)
{
	int r = msix_mmio(arg, off, write, data, len);

	(void)bar;
	if (r == 0 && !write)
		memset(data, 0, len);
	return r < 0 ? r : 0;
}

static int fn_cfg(void *arg, unsigned off, unsigned len)
{
	return msix_cfg_write(arg, off, len);
}

static const struct pci_fn_ops fn_ops = {fn_mmio, fn_cfg};

/*
 * A PCI function (pcifn.h) with MSI-X: identity and BAR sizing through
 * config space, its BAR an MMIO region of the window, a doorbell that
 * moves with its BAR in the Transaction (and goes while decode is off),
 * and an MSI-X vector whose route follows the guest's table and masks.
 */
static void test_fn(void)
{
	struct rec x = {0};
	struct vmmap map = {.vm_transaction = rec_tx,
			    .vm_map_rom = rec_map,
			    .vm_unmap = rec_unmap,
			    .vm_faults = rec_faults,
			    .vm_error = rec_error,
			    .vm_arg = &x,
			    .vm_transaction_db = rec_tx_db,
			    .vm_ioeventfd = rec_ioev,
			    .vm_msi_route = rec_route,
			    .vm_mask_irqfd = rec_mask,
			    .vm_irqfd = rec_irqfd};
	const uint64_t at = GUEST_PCI_MMIO_BASE + 2 * GUEST_PCI_BAR_SIZE;
	struct mmiobus mb = {0};
	struct machine m;
	struct pci_fn fn;
	struct msix mx;
	uint32_t v;
	int dev, fd = -1;

	memset(&bus, 0, sizeof(bus));
	CHECK(machine_init(&m, true, false, 2, 64 << 20, NULL, 0, &map) == 0 &&
		      machine_register(&m, &bus) == 0 &&
		      machine_register_mmio(&m, &mb) == 0,
	      "pc machine with 2 devices and its window");
	pci_fn_init(&fn, "fn", 0x1af4, 0x1042, 0x01000001, 0x40, &fn_ops, &mx);
	CHECK(pci_fn_bar(&fn, 0, 0x8000) == 0 &&
		      pci_fn_bar(&fn, 1, 100) == -EINVAL,
	      "a BAR is a power of two of 4 KiB or more");
	CHECK(msix_init(&mx, &fn, 4, 0, 0x4000, 0x5000) == 0,
	      "MSI-X: 4 vectors in BAR 0");
	dev = pci_add_fn(&m.m_pci, &fn, &map);
	CHECK(dev == 3, "the function is device %d, after the 2", dev);
	CHECK(cfg_read(3, 0) == 0x10421af4, "its ID");
	CHECK((cfg_read(3, 4) >> 16 & 0x10) && cfg_read(3, 0x34) == 0x40 &&
		      (cfg_read(3, 0x40) & 0xff) == PCI_CAP_MSIX,
	      "its capability list: MSI-X at 0x40");
	cfg_write(3, 0x10, 0xffffffff);
	CHECK(cfg_read(3, 0x10) == 0xffff8000, "BAR 0 sizes as 32 KiB: 0x%x",
	      cfg_read(3, 0x10));
	CHECK(cfg_read(3, 0x14) == 0, "BAR 1 is absent");
	cfg_write(3, 0x2c, 0); /* read-only: no change */
	CHECK(cfg_read(3, 0x2c) == 0x00401af4, "subsystem is read-only");

	machine_firmware(&m);
	CHECK(machine_flush(&m) == 0 && x.last_n == 3 && x.last_gpa[2] == at &&
		      x.last_kind[2] == KVMMU__REGION_KIND__REGION_MMIO,
	      "firmware: the BAR an MMIO region at 0x%llx",
	      (unsigned long long)x.last_gpa[2]);
	CHECK(pci_fn_db_add(&fn, 0, 0x3000, 0) == 0 && x.ioevs == 1 &&
		      x.ioev_addr == at + 0x3000 && !x.ioev_deassign,
	      "a doorbell on a live BAR is assigned at once");
	v = 0;
	CHECK(mmio(&mb, at + 0x4000 + 12, false, &v) == 0 && v == 1,
	      "the table through the window: vector 0 masked at reset");

	/* Moved: one Transaction moves the doorbell with it. */
	cfg_write(3, 0x04, 0);
	cfg_write(3, 0x10, (uint32_t)(at + 0x100000));
	cfg_write(3, 0x04, PCI_CMD_MEMORY);
	CHECK(x.tx_db == 1 && x.last_ndb == 1 && x.db_from == at + 0x3000 &&
		      x.db_has_to && x.db_to == at + 0x103000,
	      "a BAR move moves its doorbell in the Transaction");
	CHECK(fn.pf_bar[0].pb_live == at + 0x100000 &&
		      fn.pf_db[0].dbl_at == at + 0x103000,
	      "BAR and doorbell where the server has them");
	/* Decode off: the doorbell goes; on again: assigned again. */
	cfg_write(3, 0x04, 0);
	CHECK(machine_flush(&m) == 0 && x.tx_db == 2 && !x.db_has_to &&
		      fn.pf_db[0].dbl_at == 0,
	      "decode off removes the doorbell in the Transaction");
	cfg_write(3, 0x04, PCI_CMD_MEMORY);
	CHECK(x.ioevs == 2 && x.ioev_addr == at + 0x103000,
	      "decode on assigns it again");
	CHECK(pci_fn_db_del(&fn, 0) == 0 && x.ioevs == 3 && x.ioev_deassign,
	      "a doorbell's end is a deassign");

	/* MSI-X: a route with a placeholder, masked until programmed. */
	CHECK(msix_irqfd(&mx, 1, &fd) == 0 && x.routes == 1 &&
		      x.route_gsi == -1 && x.masks == 1 && x.masked,
	      "vector 1's route made masked (table empty, MSI-X off)");
	v = 0xfee01000;
	mmio(&mb, at + 0x100000 + 0x4010, true, &v);
	v = 0x41;
	mmio(&mb, at + 0x100000 + 0x4018, true, &v);
	CHECK(x.routes == 3 && x.route_gsi == 24 && x.route_lo == 0xfee01000 &&
		      x.route_data == 0x41,
	      "the route follows the programmed message");
	v = 0;
	mmio(&mb, at + 0x100000 + 0x401c, true, &v);
	CHECK(x.masks == 1 && x.masked, "unmasked entry, MSI-X off: masked");
	cfg_write(3, 0x40, 0x80000000 | cfg_read(3, 0x40));
	CHECK(x.masks == 2 && !x.masked, "MSI-X enabled: KVM listens");
	cfg_write(3, 0x40, 0xc0000000 | cfg_read(3, 0x40));
	CHECK(x.masks == 3 && x.masked, "function mask: masked");
	CHECK(msix_irqfd(&mx, 4, &fd) == -EINVAL, "no vector 4");
	msix_free(&mx);
	machine_free(&m);
}

int main(void)
{
	test_pc(false);
	test_pc(true);
	test_fn();
	return checks_report("test_machine");
}
