/*
 * boot.h: boots a payload through mmu-server: CreateVm, the guest image
 * written into the RAM memfd, the RAM region, every vCPU's CPL3 start
 * state.  Used by vmm-frontend, the benchmarks and the tests.
 * Trust: unprivileged.
 */
#ifndef KVMMU_BOOT_H
#define KVMMU_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "abi.h"
#include "client.h"
#include "vcpustate.h"

struct linux_spec;

struct boot {
	uint32_t b_vm;
	unsigned b_nvcpus;
	int b_ram_fd;	/* the guest's RAM memfd, from the server */
	uint8_t *b_ram; /* our mapping of it (device models use it) */
	uint64_t b_ram_bytes;
	int b_chans[GUEST_MAX_VCPUS]; /* one exit channel per vCPU */
};

/* What to boot.  map NULL: one RAM region "ram" over [0, ram). */
struct boot_spec {
	const char *bs_name;
	const char *bs_uuid; /* NULL: the server makes one up */
	unsigned bs_vcpus;
	uint64_t bs_ram;	/* guest RAM, as the payload sees it */
	uint64_t bs_extra;	/* device memory after it in the memfd */
	uint32_t bs_hugetlb;	/* hugetlbfs page KiB; 0: none */
	const char *bs_backing; /* "huge" | "4k"; NULL: the server's */
	bool bs_immediate;	/* all RAM allocated at CreateVm */
	Kvmmu__Region **bs_map; /* the initial memory map */
	size_t bs_nmap;
	const Kvmmu__ZapControl *bs_zap; /* NULL: the server's default */
	const void *bs_payload;
	size_t bs_len;
	const char *bs_cmdline;
	const Kvmmu__Machine *bs_machine;  /* NULL: none in-kernel */
	const struct linux_spec *bs_linux; /* a Linux kernel, not a payload */
};

/*
 * Creates the VM and makes it ready to Run: the guest image in RAM, the
 * initial map committed as one transaction, each vCPU's state.  On
 * failure err says why (the server's message where it refused) and b
 * holds nothing open.
 */
int boot_vm(struct client *cl, struct boot *b, const struct boot_spec *bs,
	    char *err, size_t errlen);
/* Unmaps RAM and closes every fd boot_vm handed out. */
void boot_release(struct boot *b);

/* Sends vCPU idx's CPL3 long-mode start state. */
int vcpustate_send(struct client *cl, uint32_t vm_id, unsigned idx);
/* Only sends it; the reply is client_recv_reply(cl, *id, ...)'s. */
int vcpustate_request(struct client *cl, uint32_t vm_id, unsigned idx,
		      uint64_t *id);

#endif
