/*
 * machine.h: the machine a frontend emulates around its payload.  "plain"
 * is RAM from 0; "pc" is the boot-churn machine of guest/abi.h: RAM with
 * the legacy VGA hole, PCI devices whose BARs and option ROM come and go,
 * and the VGA window.  Config-space writes become memory-map
 * transactions, as in a real VMM.
 * Trust: unprivileged; guest values are checked.
 */
#ifndef KVMMU_MACHINE_H
#define KVMMU_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iobus.h"
#include "mmiobus.h"
#include "pci.h"
#include "vmmap.h"

#define MACHINE_PHASES 8
/* The pc machine's PCI window: 256 MiB from GUEST_PCI_MMIO_BASE. */
#define MACHINE_PCI_WINDOW 0x10000000ULL
/*
 * Its reset control register: a write with bit 2 (reset CPU) set ends
 * the VM as a reset; the value the FADT's reset register writes.
 */
#define MACHINE_RESET_PORT  0xcf9
#define MACHINE_RESET_VALUE 0x06

struct machine {
	bool m_pc;
	bool m_eager;		   /* apply every config write at once */
	const struct vmmap *m_map; /* the only way to the VM (machine_init) */
	struct pci m_pci;
	uint64_t m_ram;	    /* guest RAM */
	uint64_t m_vga_off; /* video memory in the memfd */
	bool m_vga_on;
	int m_rom_fd;		 /* device 1's option ROM */
	uint64_t m_rom_gpa;	 /* where it is mapped, 0: not */
	unsigned m_commits;	 /* PCI transactions sent */
	uint64_t m_window_stray; /* PCI window exits no function took */
	/* Phase n started at m_phase_s[n] with m_phase_pf[n] faults. */
	double m_phase_s[MACHINE_PHASES];
	uint64_t m_phase_pf[MACHINE_PHASES];
	unsigned m_last_phase;
};

/* Memory after guest RAM in the memfd: BARs, video memory. */
uint64_t machine_extra_bytes(const struct machine *m);
/* rom: the option ROM's bytes (at most 64 KiB); NULL: a built-in one. */
int machine_init(struct machine *m, bool pc, bool eager, unsigned ndevs,
		 uint64_t ram, const void *rom, size_t rom_len,
		 const struct vmmap *map);
void machine_free(struct machine *m);
/*
 * Places every BAR and turns decode on, as firmware does before an OS
 * (a kvmmu payload does it itself); machine_flush then maps them.
 */
void machine_firmware(struct machine *m);
/* The initial map (to free with machine_map_free). */
Kvmmu__Region **machine_map(const struct machine *m, size_t *n);
void machine_map_free(Kvmmu__Region **map, size_t n);

/*
 * Registers the ports the pc machine decodes (PCI config with the reset
 * register 0xcf9, the VGA window, the phase port); nothing for the plain
 * machine.  Their handlers return
 * -1 when a map change failed (the run must stop).
 */
int machine_register(struct machine *m, struct iobus *bus);
/*
 * Registers the pc machine's PCI window on the MMIO bus: an access goes
 * to the function whose BAR decodes there (pcifn.h).  0 or -errno.
 */
int machine_register_mmio(struct machine *m, struct mmiobus *bus);
/*
 * Sends pending PCI map changes, the functions' doorbells moved or
 * dropped with their BARs in the same Transaction; called before serving
 * other exits.
 */
int machine_flush(struct machine *m);

#endif
