/*
 * client.h: a synchronous client of mmu-server's control socket, used by
 * vmm-frontend, the benchmarks and the tests.
 * Trust: unprivileged; the server's replies are checked for shape.
 */
#ifndef KVMMU_CLIENT_H
#define KVMMU_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"
#include "protocol.h"

struct client {
	int cl_fd;
	uint64_t cl_next_id;
	char cl_err[256];    /* the last error, for people */
	int cl_errcode;	     /* its errno value */
	unsigned cl_spin_us; /* busy-poll before sleeping on a reply */
};

/* Connects and says Hello.  0 or -errno with cl_err set. */
int client_connect(struct client *cl, const char *path);
void client_close(struct client *cl);

/*
 * Sends req (version and id are filled in) with fds and waits for its
 * reply.  On success *rep is the reply (free with client_free_reply) and
 * rfds[0..*rnfds) the fds it carried (rfds may be NULL when none are
 * expected; stray fds are closed).  A server error reply is returned as
 * -code with cl_err holding the server's message.
 */
int client_call(struct client *cl, Kvmmu__Request *req, const int *fds,
		size_t nfds, Kvmmu__Reply **rep, int *rfds, size_t *rnfds);
void client_free_reply(Kvmmu__Reply *rep);
/* The two halves of client_call, for pipelining requests. */
int client_send(struct client *cl, Kvmmu__Request *req, const int *fds,
		size_t nfds, uint64_t *id);
int client_recv_reply(struct client *cl, uint64_t id, Kvmmu__Reply **rep,
		      int *rfds, size_t *rnfds);

/* Shorthands for calls that return Ok. */
int client_simple(struct client *cl, Kvmmu__Request *req);
int client_create_vm(struct client *cl, const char *name, unsigned vcpus,
		     uint64_t ram_bytes, const Kvmmu__ZapControl *zap,
		     uint32_t *vm_id, int *ram_fd, int *chans);
/* The same with the VM's UUID (a libvirt domain's); NULL: random. */
int client_create_vm_uuid(struct client *cl, const char *name, const char *uuid,
			  unsigned vcpus, uint64_t ram_bytes,
			  const Kvmmu__ZapControl *zap, uint32_t *vm_id,
			  int *ram_fd, int *chans);
/* The same with an in-kernel machine (NULL: none). */
int client_create_vm_machine(struct client *cl, const char *name,
			     const char *uuid, unsigned vcpus,
			     uint64_t ram_bytes, const Kvmmu__ZapControl *zap,
			     const Kvmmu__Machine *mc, uint32_t *vm_id,
			     int *ram_fd, int *chans);
/*
 * The same with RAM in hugetlbfs pages of hugetlb_kib KiB (0: none), or
 * backed as backing says ("huge", "4k"; NULL: the server's default).
 */
int client_create_vm_pages(struct client *cl, const char *name,
			   const char *uuid, unsigned vcpus, uint64_t ram_bytes,
			   const Kvmmu__ZapControl *zap,
			   const Kvmmu__Machine *mc, uint32_t hugetlb_kib,
			   const char *backing, uint32_t *vm_id, int *ram_fd,
			   int *chans);
/* How a VM's RAM is backed (CreateVm's fields of the same names). */
struct client_ram {
	uint32_t cr_hugetlb_kib; /* hugetlbfs page size; 0: none */
	const char *cr_backing;	 /* "huge", "4k"; NULL: the server's */
	bool cr_immediate;	 /* all allocated at CreateVm */
};
/* The same, with every RAM choice. */
int client_create_vm_ram(struct client *cl, const char *name, const char *uuid,
			 unsigned vcpus, uint64_t ram_bytes,
			 const Kvmmu__ZapControl *zap, const Kvmmu__Machine *mc,
			 const struct client_ram *ram, uint32_t *vm_id,
			 int *ram_fd, int *chans);
/*
 * Binds an eventfd to gsi: *fd raises the line, *resamplefd (resample
 * only, else -1; may be NULL without resample) says the guest took it.
 */
int client_irqfd(struct client *cl, uint32_t vm_id, unsigned gsi, bool resample,
		 int *fd, int *resamplefd);
int client_set_cpuid(struct client *cl, uint32_t vm_id,
		     Kvmmu__CpuidMask **masks, size_t n);
/*
 * Assigns doorbell db, signalling eventfd fd (sent; the caller keeps
 * its own), or with deassign (fd -1) removes it.
 */
int client_ioeventfd(struct client *cl, uint32_t vm_id,
		     const Kvmmu__Doorbell *db, int fd, bool deassign);
/*
 * A new MSI route (gsi < 0; *out its GSI), a new message for route gsi,
 * or with remove its end.  lo: the message's address_lo (address_hi 0).
 */
int client_msi_route(struct client *cl, uint32_t vm_id, int gsi, uint32_t lo,
		     uint32_t data, bool remove, uint32_t *out);
int client_mask_irqfd(struct client *cl, uint32_t vm_id, uint32_t gsi,
		      bool masked);
int client_signal_msi(struct client *cl, uint32_t vm_id, uint32_t lo,
		      uint32_t data);
/* Replaces the regions inside the window (size 0: the whole map). */
int client_transaction(struct client *cl, uint32_t vm_id, uint64_t gpa,
		       uint64_t size, Kvmmu__Region **regs, size_t n,
		       Kvmmu__TransactionReply *out);
/* The same with doorbells that move or go in the same atomic step. */
int client_transaction_db(struct client *cl, uint32_t vm_id, uint64_t gpa,
			  uint64_t size, Kvmmu__Region **regs, size_t n,
			  Kvmmu__DoorbellChange **dbs, size_t ndbs,
			  Kvmmu__TransactionReply *out);
int client_set_zap(struct client *cl, uint32_t vm_id,
		   const Kvmmu__ZapControl *zap);
/* Invalidate (or discard) one GPA range; the reply says how it merged. */
int client_invalidate(struct client *cl, uint32_t vm_id, uint64_t gpa,
		      uint64_t size, bool discard, Kvmmu__InvalidateReply *out);
int client_invalidate_send(struct client *cl, uint32_t vm_id, uint64_t gpa,
			   uint64_t size, bool discard, uint64_t *id);
int client_invalidate_wait(struct client *cl, uint64_t id,
			   Kvmmu__InvalidateReply *out);
int client_map(struct client *cl, uint32_t vm_id, int kind, uint64_t gpa,
	       uint64_t size, uint64_t offset, const char *name, int rom_fd);
int client_unmap(struct client *cl, uint32_t vm_id, uint64_t gpa);
int client_vm_op(struct client *cl, uint32_t vm_id,
		 Kvmmu__Request__BodyCase op);
/*
 * DestroyVm with why it ends, for people (NULL: none): 1..256 bytes of
 * printable UTF-8 (common/text.h), or the server refuses it (EINVAL).
 */
int client_destroy_vm(struct client *cl, uint32_t vm_id, const char *reason);
int client_get_stats(struct client *cl, uint32_t vm_id, Kvmmu__Reply **rep);

/* Looks a stat up in a StatsReply; vcpu < 0: the VM's, else that vCPU's. */
int stats_find(const Kvmmu__StatsReply *st, int vcpu, const char *name,
	       uint64_t *value);
/* Sum of a vCPU stat over all vCPUs (0 when absent). */
uint64_t stats_vcpu_sum(const Kvmmu__StatsReply *st, const char *name);

#endif
