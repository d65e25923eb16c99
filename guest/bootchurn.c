/*
 * bootchurn.c: guest payload that boots the boot-churn machine (abi.h) the
 * way firmware and then an OS do.  Trust: runs inside the guest.
 *
 * Every BAR, ROM and VGA-window change it makes becomes a memory-map change
 * in the MMU server, and each of those may make KVM drop all of the guest's
 * shadow mappings: the RAM test before and the kernel pass after show what
 * that costs.  Phases (announced on GUEST_PORT_PHASE before they start):
 *   1 firmware RAM test   one word per page of [GUEST_FREE_GPA, RAM end)
 *   2 PCI enumeration     ids, `cycles` BAR-sizing cycles per device
 *   3 BAR assignment      decode on, then `cycles` more sizing cycles each
 *   4 option ROM          size, enable, shadow into RAM, disable (device 1)
 *   5 VGA window          `vga` on/off toggles
 *   6 kernel              `kpasses` check-and-rewrite passes over RAM
 *
 * Only vCPU 0 runs; the others return 0 at once.
 *
 * Command line: devices= (1..GUEST_PCI_MAX_DEVS, default 8; must equal the
 * frontend's device count, since slot devices+1 must be empty), cycles=
 * (default 4), vga= (default 16), kpasses= (default 1, at least 1).
 *
 * Exit status: 0 ok, 1 RAM lost a value, 2 bad bootinfo or command line,
 * 3 enumeration, 4 BAR assignment or device memory, 5 option ROM, 6 VGA.
 */
#include "libguest.h"

/* PCI configuration mechanism #1, bus 0, function 0 only. */
#define PCI_CFG_ENABLE	  0x80000000u
#define PCI_LAST_SLOT	  31u /* the device number is 5 bits */
#define PCI_REG_ID	  0x00u
#define PCI_REG_COMMAND	  0x04u
#define PCI_REG_BAR0	  0x10u
#define PCI_REG_ROM	  0x30u
#define PCI_CMD_MEMORY	  0x0002u /* memory space decode */
#define PCI_BAR_LOW_BITS  0xfu	  /* type bits of a memory BAR */
#define PCI_BAR_KIND	  0x7u	  /* I/O bit and 2-bit type: 0 = mem32 */
#define PCI_ROM_ADDR_MASK 0xfffff800u
#define PCI_ROM_ENABLE	  0x1u
#define PCI_ABSENT	  0xffffffffu

/* Where phase 4 maps device 1's ROM, and where it shadows it in RAM. */
#define ROM_GPA	   (GUEST_PCI_MMIO_BASE + 0x10000000ULL)
#define SHADOW_GPA GUEST_FREE_GPA
#define BARS_END   (GUEST_PCI_MMIO_BASE + GUEST_PCI_MAX_DEVS * GUEST_PCI_BAR_SIZE)

#define RAM_PATTERN 0x5a5a5a5a5a5a5a5aULL
#define GEN_MIX	    0x9e3779b97f4a7c15ULL /* spreads generations apart */
#define BAR_TOKEN   0xb0c0b0c000000000ULL

/* What the code below relies on; a change in abi.h must keep these. */
_Static_assert(GUEST_VGA_GPA + GUEST_VGA_SIZE <= GUEST_FREE_GPA,
	       "the VGA hole must lie below the RAM we test");
_Static_assert(GUEST_PCI_MAX_DEVS >= 1 && GUEST_PCI_MAX_DEVS <= PCI_LAST_SLOT,
	       "devices must fit in bus 0's slots 1..31");
_Static_assert(GUEST_PCI_DEVICE + GUEST_PCI_MAX_DEVS <= 0xffff,
	       "device ids are 16 bits");
_Static_assert((GUEST_PCI_BAR_SIZE & (GUEST_PCI_BAR_SIZE - 1)) == 0 &&
		       GUEST_PCI_BAR_SIZE >= 16 &&
		       GUEST_PCI_MMIO_BASE % GUEST_PCI_BAR_SIZE == 0,
	       "BARs are naturally aligned powers of two");
_Static_assert(GUEST_PCI_MMIO_BASE >= GUEST_FREE_GPA && BARS_END <= ROM_GPA,
	       "BARs must not overlap the ROM");
_Static_assert((GUEST_PCI_ROM_SIZE & (GUEST_PCI_ROM_SIZE - 1)) == 0 &&
		       GUEST_PCI_ROM_SIZE >= 2048 &&
		       GUEST_PCI_ROM_SIZE % GUEST_PAGE_SIZE == 0 &&
		       ROM_GPA % GUEST_PCI_ROM_SIZE == 0 &&
		       ROM_GPA + GUEST_PCI_ROM_SIZE <= GUEST_IDENTITY_MAP,
	       "the ROM is whole pages, aligned and identity-mapped");

struct bootchurn_args {
	u64 devices;
	u64 cycles;
	u64 vga;
	u64 kpasses;
	u64 ram_end; /* page aligned, below the PCI window */
};

/* ---- Config space and memory accesses ---- */

static u32 pci_addr(unsigned dev, unsigned reg)
{
	return PCI_CFG_ENABLE | (u32)dev << 11 | (reg & 0xfcu);
}

static u32 pci_read32(unsigned dev, unsigned reg)
{
	outl(GUEST_PCI_ADDR, pci_addr(dev, reg));
	return inl(GUEST_PCI_DATA);
}

static void pci_write32(unsigned dev, unsigned reg, u32 val)
{
	outl(GUEST_PCI_ADDR, pci_addr(dev, reg));
	outl(GUEST_PCI_DATA, val);
}

static u16 pci_read16(unsigned dev, unsigned reg)
{
	outl(GUEST_PCI_ADDR, pci_addr(dev, reg));
	return inw((u16)(GUEST_PCI_DATA + (reg & 3u)));
}

static void pci_write16(unsigned dev, unsigned reg, u16 val)
{
	outl(GUEST_PCI_ADDR, pci_addr(dev, reg));
	outw((u16)(GUEST_PCI_DATA + (reg & 3u)), val);
}

/* volatile: each access must reach the MMU (or the VMM) exactly as written. */
static u64 mem_read64(u64 gpa)
{
	return *(volatile const u64 *)(uintptr_t)gpa;
}

static void mem_write64(u64 gpa, u64 val)
{
	*(volatile u64 *)(uintptr_t)gpa = val;
}

static u8 mem_read8(u64 gpa)
{
	return *(volatile const u8 *)(uintptr_t)gpa;
}

static void mem_write8(u64 gpa, u8 val)
{
	*(volatile u8 *)(uintptr_t)gpa = val;
}

static void phase(u32 n)
{
	outl(GUEST_PORT_PHASE, n);
}

/* ---- RAM (phases 1 and 6) ---- */

/* Generation 0 is the firmware RAM test, g > 0 the kernel's pass g. */
static u64 ram_pattern(u64 addr, u64 gen)
{
	return addr ^ RAM_PATTERN ^ (gen * GEN_MIX);
}

static void ram_fill(u64 start, u64 end)
{
	for (u64 addr = start; addr < end; addr += GUEST_PAGE_SIZE)
		mem_write64(addr, ram_pattern(addr, 0));
}

/* Checks generation gen - 1 and writes gen; 0 or -1 (printed). */
static int ram_pass(u64 start, u64 end, u64 gen)
{
	for (u64 addr = start; addr < end; addr += GUEST_PAGE_SIZE) {
		u64 got = mem_read64(addr), want = ram_pattern(addr, gen - 1);

		if (got != want) {
			gprintf("bootchurn: kernel pass %llu: RAM at 0x%llx "
				"reads 0x%llx, want 0x%llx\n",
				gen, addr, got, want);
			return -1;
		}
		mem_write64(addr, ram_pattern(addr, gen));
	}
	return 0;
}

/* ---- PCI (phases 2 to 4) ---- */

static u64 bar_base(unsigned dev)
{
	return GUEST_PCI_MMIO_BASE + (u64)(dev - 1) * GUEST_PCI_BAR_SIZE;
}

static u64 bar_token(unsigned dev)
{
	return BAR_TOKEN | bar_base(dev) | dev;
}

/*
 * One BAR0 sizing cycle as SeaBIOS and OVMF do it: decode off, save BAR0,
 * write all ones, read the size mask, restore BAR0, restore the command
 * register (so decode comes back on if it was on).  0 or -1 (printed).
 */
static int bar_size_cycle(unsigned dev)
{
	u16 cmd = pci_read16(dev, PCI_REG_COMMAND);
	u32 saved, mask, size, back;

	pci_write16(dev, PCI_REG_COMMAND, (u16)(cmd & ~PCI_CMD_MEMORY));
	saved = pci_read32(dev, PCI_REG_BAR0);
	pci_write32(dev, PCI_REG_BAR0, 0xffffffffu);
	mask = pci_read32(dev, PCI_REG_BAR0);
	pci_write32(dev, PCI_REG_BAR0, saved);
	back = pci_read32(dev, PCI_REG_BAR0);
	pci_write16(dev, PCI_REG_COMMAND, cmd);

	size = ~(mask & ~PCI_BAR_LOW_BITS) + 1;
	if ((mask & PCI_BAR_KIND) != 0 || size != GUEST_PCI_BAR_SIZE) {
		gprintf("bootchurn: device %u: BAR0 sizing reads 0x%08x "
			"(size 0x%x), want a 32-bit memory BAR of 0x%llx\n",
			dev, mask, size, GUEST_PCI_BAR_SIZE);
		return -1;
	}
	if ((back & ~PCI_BAR_LOW_BITS) != (saved & ~PCI_BAR_LOW_BITS)) {
		gprintf("bootchurn: device %u: BAR0 restored to 0x%08x "
			"reads 0x%08x\n",
			dev, saved, back);
		return -1;
	}
	return 0;
}

static int pci_enumerate(const struct bootchurn_args *a)
{
	unsigned dev, absent = (unsigned)a->devices + 1;
	u32 id;

	for (dev = 1; dev <= a->devices; dev++) {
		id = pci_read32(dev, PCI_REG_ID);
		if ((id & 0xffff) != GUEST_PCI_VENDOR ||
		    id >> 16 != GUEST_PCI_DEVICE + dev) {
			gprintf("bootchurn: 00:%02x.0: id 0x%08x, want "
				"vendor 0x%04x device 0x%04x\n",
				dev, id, GUEST_PCI_VENDOR,
				GUEST_PCI_DEVICE + dev);
			return -1;
		}
		for (u64 c = 0; c < a->cycles; c++)
			if (bar_size_cycle(dev))
				return -1;
	}
	/* With all 31 slots in use there is no empty slot left to probe. */
	if (absent <= PCI_LAST_SLOT) {
		id = pci_read32(absent, PCI_REG_ID);
		if (id != PCI_ABSENT) {
			gprintf("bootchurn: 00:%02x.0 should be absent but "
				"reads 0x%08x\n",
				absent, id);
			return -1;
		}
	}
	return 0;
}

static int bar_check(unsigned dev, const char *when)
{
	u64 got = mem_read64(bar_base(dev));

	if (got == bar_token(dev))
		return 0;
	gprintf("bootchurn: device %u: BAR memory at 0x%llx %s reads "
		"0x%llx, want 0x%llx\n",
		dev, bar_base(dev), when, got, bar_token(dev));
	return -1;
}

/* Decode off, program BAR0, decode on; then prove the memory is there. */
static int bar_assign(unsigned dev)
{
	u16 cmd = pci_read16(dev, PCI_REG_COMMAND);
	u32 base = (u32)bar_base(dev), back;

	pci_write16(dev, PCI_REG_COMMAND, (u16)(cmd & ~PCI_CMD_MEMORY));
	pci_write32(dev, PCI_REG_BAR0, base);
	pci_write16(dev, PCI_REG_COMMAND, (u16)(cmd | PCI_CMD_MEMORY));

	back = pci_read32(dev, PCI_REG_BAR0);
	if ((back & ~PCI_BAR_LOW_BITS) != base) {
		gprintf("bootchurn: device %u: BAR0 set to 0x%08x reads "
			"0x%08x\n",
			dev, base, back);
		return -1;
	}
	mem_write64(bar_base(dev), bar_token(dev));
	return bar_check(dev, "after assignment");
}

static int pci_assign(const struct bootchurn_args *a)
{
	unsigned dev;

	for (dev = 1; dev <= a->devices; dev++)
		if (bar_assign(dev))
			return -1;
	/* An OS re-probing: now every cycle unmaps and remaps a live BAR. */
	for (dev = 1; dev <= a->devices; dev++)
		for (u64 c = 0; c < a->cycles; c++)
			if (bar_size_cycle(dev))
				return -1;
	for (dev = 1; dev <= a->devices; dev++)
		if (bar_check(dev, "after re-probing"))
			return -1;
	return 0;
}

/* Size, enable and shadow device 1's expansion ROM, then disable it. */
static int rom_shadow(void)
{
	u32 mask, size, back;

	pci_write32(1, PCI_REG_ROM, PCI_ROM_ADDR_MASK);
	mask = pci_read32(1, PCI_REG_ROM);
	size = ~(mask & PCI_ROM_ADDR_MASK) + 1;
	if (size != GUEST_PCI_ROM_SIZE) {
		gprintf("bootchurn: ROM BAR sizing reads 0x%08x (size 0x%x), "
			"want size 0x%llx\n",
			mask, size, GUEST_PCI_ROM_SIZE);
		return -1;
	}

	pci_write32(1, PCI_REG_ROM, (u32)ROM_GPA | PCI_ROM_ENABLE);
	back = pci_read32(1, PCI_REG_ROM);
	if (back != ((u32)ROM_GPA | PCI_ROM_ENABLE)) {
		gprintf("bootchurn: ROM BAR set to 0x%08x reads 0x%08x\n",
			(u32)ROM_GPA | PCI_ROM_ENABLE, back);
		return -1;
	}
	if (mem_read8(ROM_GPA) != 0x55 || mem_read8(ROM_GPA + 1) != 0xaa) {
		gprintf("bootchurn: ROM at 0x%llx starts %02x %02x, want "
			"55 aa\n",
			ROM_GPA, mem_read8(ROM_GPA), mem_read8(ROM_GPA + 1));
		return -1;
	}
	for (u64 off = 0; off < GUEST_PCI_ROM_SIZE; off += 8)
		mem_write64(SHADOW_GPA + off, mem_read64(ROM_GPA + off));

	pci_write32(1, PCI_REG_ROM, 0);
	back = pci_read32(1, PCI_REG_ROM);
	if (back != 0) {
		gprintf("bootchurn: ROM BAR cleared reads 0x%08x\n", back);
		return -1;
	}
	/* The shadow is RAM: it must keep the image with the ROM gone. */
	if (mem_read8(SHADOW_GPA) != 0x55 ||
	    mem_read8(SHADOW_GPA + 1) != 0xaa) {
		gprintf("bootchurn: ROM shadow at 0x%llx lost its signature\n",
			SHADOW_GPA);
		return -1;
	}
	return 0;
}

/* ---- VGA window (phase 5) ---- */

static int vga_toggle(u64 toggles)
{
	int err = 0;

	for (u64 i = 0; i < toggles; i++) {
		u64 addr =
			GUEST_VGA_GPA + (i * GUEST_PAGE_SIZE) % GUEST_VGA_SIZE;
		u8 val = (u8)(0x5a ^ (i & 0x3f)), got; /* never 0xff */

		outb(GUEST_PORT_VGA, 1);
		mem_write8(addr, val);
		got = mem_read8(addr);
		if (got != val) {
			gprintf("bootchurn: VGA on: 0x%llx reads 0x%02x, want "
				"0x%02x\n",
				addr, got, val);
			err = -1;
			break;
		}
		outb(GUEST_PORT_VGA, 0);
		got = mem_read8(GUEST_VGA_GPA);
		if (got != 0xff) {
			gprintf("bootchurn: VGA off: 0x%llx reads 0x%02x, want "
				"0xff\n",
				GUEST_VGA_GPA, got);
			err = -1;
			break;
		}
	}
	/* As an OS console would, whatever happened above. */
	outb(GUEST_PORT_VGA, 1);
	return err;
}

/* ---- Entry ---- */

static int get_arg(const struct guest_bootinfo *bi, const char *key, u64 dflt,
		   u64 *out)
{
	*out = dflt;
	if (cmdline_get_u64(bi, key, out) != CMDLINE_INVALID)
		return 0;
	gprintf("bootchurn: bad value for %s=\n", key);
	return -1;
}

static int parse_args(const struct guest_bootinfo *bi, struct bootchurn_args *a)
{
	u64 ram = bi->gb_ram_bytes;

	if (get_arg(bi, "devices", 8, &a->devices) ||
	    get_arg(bi, "cycles", 4, &a->cycles) ||
	    get_arg(bi, "vga", 16, &a->vga) ||
	    get_arg(bi, "kpasses", 1, &a->kpasses))
		return -1;
	if (a->devices < 1 || a->devices > GUEST_PCI_MAX_DEVS) {
		gprintf("bootchurn: devices=%llu is not in 1..%d\n", a->devices,
			GUEST_PCI_MAX_DEVS);
		return -1;
	}
	if (a->kpasses == 0) {
		gprintf("bootchurn: kpasses must be at least 1\n");
		return -1;
	}

	/* RAM above the PCI window (none today) would not be contiguous. */
	if (ram > GUEST_IDENTITY_MAP)
		ram = GUEST_IDENTITY_MAP;
	if (ram > GUEST_PCI_MMIO_BASE)
		ram = GUEST_PCI_MMIO_BASE;
	a->ram_end = ram & ~(GUEST_PAGE_SIZE - 1);
	if (a->ram_end < SHADOW_GPA + GUEST_PCI_ROM_SIZE + GUEST_PAGE_SIZE) {
		gprintf("bootchurn: %llu bytes of RAM is too little\n",
			bi->gb_ram_bytes);
		return -1;
	}
	return 0;
}

int gmain(unsigned vcpu, const struct guest_bootinfo *bi)
{
	struct bootchurn_args a;
	u64 kstart;

	if (vcpu != 0)
		return 0;
	if (!bootinfo_valid(bi)) {
		gprintf("bootchurn: bad bootinfo\n");
		return 2;
	}
	if (parse_args(bi, &a))
		return 2;

	phase(1);
	ram_fill(GUEST_FREE_GPA, a.ram_end);
	phase(2);
	if (pci_enumerate(&a))
		return 3;
	phase(3);
	if (pci_assign(&a))
		return 4;
	phase(4);
	if (rom_shadow())
		return 5;
	phase(5);
	if (vga_toggle(a.vga))
		return 6;

	/* The ROM shadow overwrote the first pages of the phase 1 pattern. */
	kstart = SHADOW_GPA + GUEST_PCI_ROM_SIZE;
	phase(6);
	for (u64 gen = 1; gen <= a.kpasses; gen++)
		if (ram_pass(kstart, a.ram_end, gen))
			return 1;

	gprintf("bootchurn: %llu devices, %llu cycles, %llu vga toggles: ok\n",
		a.devices, a.cycles, a.vga);
	/* At most 3.5 GiB / 4 KiB pages, so this fits in 32 bits. */
	report((u32)((a.ram_end - kstart) / GUEST_PAGE_SIZE));
	return 0;
}
