/*
 * linux.h: loads a Linux bzImage into a VM's RAM per the x86 boot
 * protocol (bzimage.h): the protected-mode kernel at its preferred
 * address, the command line and initrd where the header allows, the zero
 * page with an e820 map built from the VM's memory map, an MP table for
 * its vCPUs and ACPI tables (acpi.h), and the state vCPU 0 enters the
 * kernel with (its 64-bit entry with identity page tables, or its 32-bit
 * one), as Firecracker and cloud-hypervisor boot.  Other vCPUs wait for
 * the kernel's INIT/SIPI.
 * Trust: unprivileged; the kernel and initrd are untrusted input.
 */
#ifndef KVMMU_LINUX_H
#define KVMMU_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h> /* struct layouts only */

#include "acpi.h"
#include "bzimage.h"
#include "client.h"
#include "kvmmu.pb-c.h"

#define LINUX_MAX_KERNEL (64ULL << 20)
#define LINUX_MAX_INITRD (1ULL << 30)
#define BZ_HEADER_PROBE	 0x206	    /* through the setup header's magic */
#define LINUX_MP_TABLE	 0x9fc00ULL /* the last KiB below 640 KiB */
/* The ACPI tables: in the BIOS area e820 reserves, where Linux scans. */
#define LINUX_ACPI_GPA 0xf0000ULL
/* KVM's pages for the TSS and identity map, in QEMU's places. */
#define LINUX_TSS_GPA	0xfffbd000U
#define LINUX_IDMAP_GPA 0xfeffc000U

struct linux_spec {
	const uint8_t *ls_kernel;
	size_t ls_kernel_len;
	const uint8_t *ls_initrd; /* NULL: none */
	size_t ls_initrd_len;
	const char *ls_cmdline; /* NULL: empty */
	unsigned ls_vcpus;
	/* The machine's ACPI tables (acpi.h); NULL: none, the MP table only. */
	const struct acpi_spec *ls_acpi;
};

/* What vCPU 0 starts with. */
struct linux_boot {
	struct kvm_regs lb_regs;
	struct kvm_sregs lb_sregs;
	bool lb_entry64;
};

/* Whether path holds a Linux bzImage (its setup header's magic). */
bool linux_is_bzimage(const char *path);

/*
 * The e820 map of RAM regions map[0..n) (their kind and place): RAM as
 * mapped, minus the MP table's KiB and the BIOS area below 1 MiB.
 * Returns the entries written (at most max), or -1 with err.
 */
int linux_e820(Kvmmu__Region *const *map, size_t n, struct e820_entry *e,
	       size_t max, char *err, size_t errlen);

/*
 * Writes the kernel and everything it is entered with into ram (guest
 * RAM of ram bytes from guest-physical 0, laid out as the e820 map
 * e[0..ne) says) and fills *lb.  0, or -1 with err naming what is wrong
 * (a malformed image, an initrd too big for the RAM, ...).
 */
int linux_setup(uint8_t *ram, uint64_t ram_bytes, const struct linux_spec *ls,
		const struct e820_entry *e, size_t ne, struct linux_boot *lb,
		char *err, size_t errlen);

/* Sends vCPU 0's boot state: registers, MSRs, FPU.  0 or -errno. */
int linux_vcpustate_send(struct client *cl, uint32_t vm_id,
			 const struct linux_boot *lb);

/* The in-kernel machine a Linux guest needs. */
void linux_machine(Kvmmu__Machine *mc);

#endif
