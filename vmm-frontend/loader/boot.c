/*
 * boot.c: boots a payload through mmu-server.  The frontend has no VM or
 * vCPU fd: it writes the guest into the RAM memfd the server hands over
 * and sends each vCPU's state as a VcpuState request.
 * Trust: unprivileged.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "guest.h"
#include "hugemap.h"
#include "linux.h"
#include "wire.h"

int vcpustate_send(struct client *cl, uint32_t vm_id, unsigned idx)
{
	Kvmmu__Reply *rep = NULL;
	uint64_t id;
	int r = vcpustate_request(cl, vm_id, idx, &id);

	if (r == 0)
		r = client_recv_reply(cl, id, &rep, NULL, NULL);
	client_free_reply(rep);
	return r;
}

int vcpustate_request(struct client *cl, uint32_t vm_id, unsigned idx,
		      uint64_t *id)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__VcpuState m;
	Kvmmu__Segment seg[8];
	struct kvm_sregs sr = {0};
	struct kvm_regs regs;

	guest_vcpu_state(idx, &regs, &sr);
	vcpustate_fill(&m, seg, vm_id, idx, &regs, &sr);
	req.body_case = KVMMU__REQUEST__BODY_SET_VCPU_STATE;
	req.set_vcpu_state = &m;
	return client_send(cl, &req, NULL, 0, id);
}

static int boot_fail(struct client *cl, struct boot *b, const char *what,
		     char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, cl->cl_err);
	boot_release(b);
	return -1;
}

static int boot_map(struct client *cl, struct boot *b,
		    const struct boot_spec *bs)
{
	Kvmmu__Region ram = KVMMU__REGION__INIT, *one = &ram;

	if (bs->bs_map != NULL)
		return client_transaction(cl, b->b_vm, 0, 0, bs->bs_map,
					  bs->bs_nmap, NULL);
	ram.has_kind = ram.has_gpa = ram.has_size = ram.has_offset = 1;
	ram.kind = KVMMU__REGION_KIND__REGION_RAM;
	ram.size = bs->bs_ram;
	ram.name = "ram";
	return client_transaction(cl, b->b_vm, 0, 0, &one, 1, NULL);
}

/* The guest into RAM: a Linux kernel or a kvmmu payload. */
static int boot_image(struct boot *b, const struct boot_spec *bs,
		      struct linux_boot *lb, char *err, size_t errlen)
{
	Kvmmu__Region ram = KVMMU__REGION__INIT, *one = &ram;
	struct e820_entry e[BZ_E820_MAX];
	int ne;

	if (bs->bs_linux == NULL)
		return guest_setup(b->b_ram, bs->bs_ram, bs->bs_vcpus,
				   bs->bs_payload, bs->bs_len, bs->bs_cmdline,
				   err, errlen);
	ram.kind = KVMMU__REGION_KIND__REGION_RAM;
	ram.size = bs->bs_ram;
	ne = bs->bs_map ? linux_e820(bs->bs_map, bs->bs_nmap, e, BZ_E820_MAX,
				     err, errlen)
			: linux_e820(&one, 1, e, BZ_E820_MAX, err, errlen);
	if (ne < 0)
		return -1;
	return linux_setup(b->b_ram, bs->bs_ram, bs->bs_linux, e, (size_t)ne,
			   lb, err, errlen);
}

int boot_vm(struct client *cl, struct boot *b, const struct boot_spec *bs,
	    char *err, size_t errlen)
{
	uint64_t page = (uint64_t)bs->bs_hugetlb << 10;
	/* hugetlbfs RAM is whole pages: the tail past RAM and BARs idles. */
	uint64_t total =
		page ? (bs->bs_ram + bs->bs_extra + page - 1) & ~(page - 1)
		     : bs->bs_ram + bs->bs_extra;
	struct client_ram ram = {bs->bs_hugetlb, bs->bs_backing,
				 bs->bs_immediate};
	struct linux_boot lb;

	memset(b, 0, sizeof(*b));
	b->b_ram_fd = -1;
	for (unsigned i = 0; i < GUEST_MAX_VCPUS; i++)
		b->b_chans[i] = -1;
	if (bs->bs_vcpus == 0 || bs->bs_vcpus > GUEST_MAX_VCPUS) {
		snprintf(err, errlen, "%u vCPUs not in 1..%d", bs->bs_vcpus,
			 GUEST_MAX_VCPUS);
		return -1;
	}
	if (client_create_vm_ram(cl, bs->bs_name, bs->bs_uuid, bs->bs_vcpus,
				 total, bs->bs_zap, bs->bs_machine, &ram,
				 &b->b_vm, &b->b_ram_fd, b->b_chans) < 0)
		return boot_fail(cl, b, "CreateVm", err, errlen);
	b->b_nvcpus = bs->bs_vcpus;
	b->b_ram_bytes = total;
	/*
	 * 2 MiB aligned: where the server backs RAM with huge pages, our
	 * own accesses (the image written below, devices' DMA) then go
	 * through 2 MiB mappings too, not 512 page faults each.
	 */
	b->b_ram = hugemap_shared(b->b_ram_fd, total, 0);
	if (b->b_ram == MAP_FAILED) {
		b->b_ram = NULL;
		snprintf(err, errlen, "mmap guest RAM: %m");
		boot_release(b);
		return -1;
	}
	/*
	 * Pages of shared memory come as huge pages only if the mapping
	 * that first touches them asks (shmem_enabled 'advise'): the guest
	 * image written here must not pin its range to 4 KiB pages the
	 * server's huge mapping then has to map one by one.  Advice only.
	 */
	madvise(b->b_ram, total, MADV_HUGEPAGE);
	if (boot_image(b, bs, &lb, err, errlen) < 0) {
		boot_release(b);
		return -1;
	}
	if (boot_map(cl, b, bs) < 0)
		return boot_fail(cl, b, "Transaction (initial map)", err,
				 errlen);
	/* Linux starts its other vCPUs itself (INIT, SIPI). */
	if (bs->bs_linux != NULL && linux_vcpustate_send(cl, b->b_vm, &lb) < 0)
		return boot_fail(cl, b, "VcpuState", err, errlen);
	for (unsigned i = 0; bs->bs_linux == NULL && i < bs->bs_vcpus; i++) {
		if (vcpustate_send(cl, b->b_vm, i) < 0)
			return boot_fail(cl, b, "VcpuState", err, errlen);
	}
	return 0;
}

void boot_release(struct boot *b)
{
	if (b->b_ram != NULL)
		munmap(b->b_ram, b->b_ram_bytes);
	b->b_ram = NULL;
	if (b->b_ram_fd >= 0)
		close(b->b_ram_fd);
	b->b_ram_fd = -1;
	wire_close_fds(b->b_chans, GUEST_MAX_VCPUS);
}
