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

struct rec {
	unsigned tx, maps, unmaps;
	size_t last_n;	      /* regions in the last transaction */
	uint64_t last_gpa[4]; /* their GPAs */
};

static int rec_tx(void *arg, uint64_t gpa, uint64_t size, Kvmmu__Region **r,
		  size_t n)
{
	struct rec *x = arg;

	(void)gpa;
	(void)size;
	x->tx++;
	x->last_n = n;
	for (size_t i = 0; i < n && i < 4; i++)
		x->last_gpa[i] = r[i]->gpa;
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
	struct vmmap map = {rec_tx,	rec_map,   rec_unmap,
			    rec_faults, rec_error, &x};
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

int main(void)
{
	test_pc(false);
	test_pc(true);
	return checks_report("test_machine");
}
