/*
 * client.c: synchronous RPC client of mmu-server.
 * Trust: unprivileged; replies are checked before use.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "wire.h"

static int client_fail(struct client *cl, int code, const char *msg)
{
	cl->cl_errcode = code;
	snprintf(cl->cl_err, sizeof(cl->cl_err), "%s", msg);
	return -code;
}

int client_connect(struct client *cl, const char *path)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Hello hello = KVMMU__HELLO__INIT;
	Kvmmu__Reply *rep;
	char msg[200];
	int r;

	memset(cl, 0, sizeof(*cl));
	cl->cl_next_id = 1;
	cl->cl_spin_us = WIRE_DEFAULT_SPIN_US;
	cl->cl_fd = wire_connect(path);
	if (cl->cl_fd < 0) {
		r = -cl->cl_fd;
		snprintf(msg, sizeof(msg), "connect %s: %s", path, strerror(r));
		cl->cl_fd = -1;
		return client_fail(cl, r, msg);
	}
	hello.has_version = 1;
	hello.version = KVMMU_PROTOCOL_VERSION;
	hello.client = "vmm-frontend " KVMMU_VERSION;
	req.body_case = KVMMU__REQUEST__BODY_HELLO;
	req.hello = &hello;
	r = client_call(cl, &req, NULL, 0, &rep, NULL, NULL);
	if (r < 0)
		return r;
	client_free_reply(rep);
	return 0;
}

void client_close(struct client *cl)
{
	if (cl->cl_fd >= 0)
		close(cl->cl_fd);
	cl->cl_fd = -1;
}

void client_free_reply(Kvmmu__Reply *rep)
{
	if (rep != NULL)
		kvmmu__reply__free_unpacked(rep, NULL);
}

/*
 * How long a reply may take.  The server answers each request from its
 * event loop, the slowest (CreateVm allocating a large RAM at once,
 * DestroyVm of one) in seconds; a server that says nothing for this long
 * is stuck, and its frontend says so and ends rather than wait forever.
 */
#define CLIENT_REPLY_MS 120000 /* the message below says it */

static int client_recv(struct client *cl, uint8_t *buf, int *fds, size_t *nfds)
{
	struct pollfd pfd = {.fd = cl->cl_fd, .events = POLLIN};
	uint64_t until = mono_ns() + CLIENT_REPLY_MS * 1000000ull;
	ssize_t n;
	int r;

	for (;;) {
		uint64_t now = mono_ns();

		if (now >= until)
			return client_fail(cl, ETIMEDOUT,
					   "mmu-server did not answer within "
					   "120 s");
		r = wire_poll(&pfd, 1, (int)((until - now) / 1000000 + 1),
			      cl->cl_spin_us);
		if (r < 0 && errno != EINTR)
			return client_fail(cl, errno, "poll failed");
		if (r <= 0)
			continue; /* the clock says whether that was all */
		n = wire_recv(cl->cl_fd, buf, fds, nfds);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n == 0)
			return client_fail(cl, EPIPE,
					   "mmu-server closed the "
					   "connection");
		if (n < 0)
			return client_fail(cl, (int)-n, "receive failed");
		return (int)n;
	}
}

/* Takes the server's error, or checks the reply answers our request. */
static int client_check(struct client *cl, Kvmmu__Reply *rep, uint64_t id)
{
	if (rep->error != NULL) {
		int code = rep->error->has_code ? rep->error->code : EIO;

		return client_fail(cl, code > 0 ? code : EIO,
				   rep->error->message ? rep->error->message
						       : "unknown error");
	}
	if (!rep->has_id || rep->id != id)
		return client_fail(cl, EPROTO, "reply to another request");
	return 0;
}

int client_send(struct client *cl, Kvmmu__Request *req, const int *fds,
		size_t nfds, uint64_t *id)
{
	int r;

	req->has_version = req->has_id = 1;
	req->version = KVMMU_PROTOCOL_VERSION;
	req->id = cl->cl_next_id++;
	r = wire_send(cl->cl_fd, &req->base, fds, nfds);
	if (r < 0)
		return client_fail(cl, -r, "send failed");
	*id = req->id;
	return 0;
}

int client_recv_reply(struct client *cl, uint64_t id, Kvmmu__Reply **rep,
		      int *rfds, size_t *rnfds)
{
	uint8_t *buf = malloc(WIRE_MAX_MSG);
	int got[WIRE_MAX_FDS];
	size_t ngot = 0;
	int n;

	*rep = NULL;
	if (buf == NULL)
		return client_fail(cl, ENOMEM, "out of memory");
	n = client_recv(cl, buf, got, &ngot);
	if (n >= 0) {
		*rep = kvmmu__reply__unpack(NULL, (size_t)n, buf);
		n = *rep ? client_check(cl, *rep, id)
			 : client_fail(cl, EPROTO, "undecodable reply");
	}
	free(buf);
	if (n < 0 || rfds == NULL) {
		wire_close_fds(got, ngot);
		ngot = 0;
	}
	if (n < 0) {
		client_free_reply(*rep);
		*rep = NULL;
		return n;
	}
	if (rfds != NULL) {
		memcpy(rfds, got, ngot * sizeof(int));
		*rnfds = ngot;
	}
	return 0;
}

int client_call(struct client *cl, Kvmmu__Request *req, const int *fds,
		size_t nfds, Kvmmu__Reply **rep, int *rfds, size_t *rnfds)
{
	uint64_t id;

	*rep = NULL;
	if (client_send(cl, req, fds, nfds, &id) < 0)
		return -cl->cl_errcode;
	return client_recv_reply(cl, id, rep, rfds, rnfds);
}

int client_simple(struct client *cl, Kvmmu__Request *req)
{
	Kvmmu__Reply *rep;
	int r = client_call(cl, req, NULL, 0, &rep, NULL, NULL);

	client_free_reply(rep);
	return r;
}

int client_create_vm(struct client *cl, const char *name, unsigned vcpus,
		     uint64_t ram_bytes, const Kvmmu__ZapControl *zap,
		     uint32_t *vm_id, int *ram_fd, int *chans)
{
	return client_create_vm_uuid(cl, name, NULL, vcpus, ram_bytes, zap,
				     vm_id, ram_fd, chans);
}

int client_create_vm_uuid(struct client *cl, const char *name, const char *uuid,
			  unsigned vcpus, uint64_t ram_bytes,
			  const Kvmmu__ZapControl *zap, uint32_t *vm_id,
			  int *ram_fd, int *chans)
{
	return client_create_vm_machine(cl, name, uuid, vcpus, ram_bytes, zap,
					NULL, vm_id, ram_fd, chans);
}

int client_create_vm_machine(struct client *cl, const char *name,
			     const char *uuid, unsigned vcpus,
			     uint64_t ram_bytes, const Kvmmu__ZapControl *zap,
			     const Kvmmu__Machine *mc, uint32_t *vm_id,
			     int *ram_fd, int *chans)
{
	return client_create_vm_pages(cl, name, uuid, vcpus, ram_bytes, zap, mc,
				      0, NULL, vm_id, ram_fd, chans);
}

int client_create_vm_pages(struct client *cl, const char *name,
			   const char *uuid, unsigned vcpus, uint64_t ram_bytes,
			   const Kvmmu__ZapControl *zap,
			   const Kvmmu__Machine *mc, uint32_t hugetlb_kib,
			   const char *backing, uint32_t *vm_id, int *ram_fd,
			   int *chans)
{
	struct client_ram ram = {hugetlb_kib, backing, false};

	return client_create_vm_ram(cl, name, uuid, vcpus, ram_bytes, zap, mc,
				    &ram, vm_id, ram_fd, chans);
}

int client_create_vm_ram(struct client *cl, const char *name, const char *uuid,
			 unsigned vcpus, uint64_t ram_bytes,
			 const Kvmmu__ZapControl *zap, const Kvmmu__Machine *mc,
			 const struct client_ram *ram, uint32_t *vm_id,
			 int *ram_fd, int *chans)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__CreateVm m = KVMMU__CREATE_VM__INIT;
	int fds[WIRE_MAX_FDS];
	Kvmmu__Reply *rep;
	size_t nfds = 0;
	int r;

	m.name = (char *)name;
	m.uuid = (char *)uuid;
	m.has_vcpus = m.has_ram_bytes = 1;
	m.vcpus = vcpus;
	m.ram_bytes = ram_bytes;
	m.zap = (Kvmmu__ZapControl *)zap;
	m.machine = (Kvmmu__Machine *)mc;
	m.has_hugetlb_page_kib = ram->cr_hugetlb_kib != 0;
	m.hugetlb_page_kib = ram->cr_hugetlb_kib;
	m.ram_backing = (char *)ram->cr_backing;
	m.has_ram_immediate = ram->cr_immediate;
	m.ram_immediate = ram->cr_immediate;
	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &m;
	r = client_call(cl, &req, NULL, 0, &rep, fds, &nfds);
	if (r < 0)
		return r;
	if (rep->body_case != KVMMU__REPLY__BODY_CREATE_VM ||
	    nfds != 1 + vcpus) {
		wire_close_fds(fds, nfds);
		client_free_reply(rep);
		return client_fail(cl, EPROTO, "CreateVm reply malformed");
	}
	*vm_id = rep->create_vm->vm_id;
	*ram_fd = fds[0];
	memcpy(chans, &fds[1], vcpus * sizeof(int));
	client_free_reply(rep);
	return 0;
}

int client_irqfd(struct client *cl, uint32_t vm_id, unsigned gsi, bool resample,
		 int *fd, int *resamplefd)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Irqfd m = KVMMU__IRQFD__INIT;
	size_t want = resample ? 2 : 1, nfds = 0;
	int fds[WIRE_MAX_FDS];
	Kvmmu__Reply *rep;
	int r;

	m.has_vm_id = m.has_gsi = m.has_resample = 1;
	m.vm_id = vm_id;
	m.gsi = gsi;
	m.resample = resample;
	req.body_case = KVMMU__REQUEST__BODY_IRQFD;
	req.irqfd = &m;
	r = client_call(cl, &req, NULL, 0, &rep, fds, &nfds);
	if (r < 0)
		return r;
	client_free_reply(rep);
	if (nfds != want) {
		wire_close_fds(fds, nfds);
		return client_fail(cl, EPROTO,
				   "Irqfd reply carried the wrong fds");
	}
	*fd = fds[0];
	if (resamplefd != NULL)
		*resamplefd = resample ? fds[1] : -1;
	return 0;
}

int client_ioeventfd(struct client *cl, uint32_t vm_id,
		     const Kvmmu__Doorbell *db, int fd, bool deassign)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Ioeventfd m = KVMMU__IOEVENTFD__INIT;
	Kvmmu__Reply *rep;
	int r;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	m.doorbell = (Kvmmu__Doorbell *)db;
	m.has_deassign = deassign;
	m.deassign = deassign;
	req.body_case = KVMMU__REQUEST__BODY_IOEVENTFD;
	req.ioeventfd = &m;
	r = client_call(cl, &req, &fd, fd >= 0, &rep, NULL, NULL);
	if (r == 0)
		client_free_reply(rep);
	return r;
}

int client_msi_route(struct client *cl, uint32_t vm_id, int gsi, uint32_t lo,
		     uint32_t data, bool remove, uint32_t *out)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__MsiRoute m = KVMMU__MSI_ROUTE__INIT;
	Kvmmu__Reply *rep;
	int r;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	m.has_gsi = gsi >= 0;
	m.gsi = gsi >= 0 ? (uint32_t)gsi : 0;
	m.has_remove = m.remove = remove;
	m.has_address_lo = m.has_data = !remove;
	m.address_lo = lo;
	m.data = data;
	req.body_case = KVMMU__REQUEST__BODY_MSI_ROUTE;
	req.msi_route = &m;
	r = client_call(cl, &req, NULL, 0, &rep, NULL, NULL);
	if (r < 0)
		return r;
	if (rep->body_case != KVMMU__REPLY__BODY_MSI_ROUTE ||
	    !rep->msi_route->has_gsi)
		r = client_fail(cl, EPROTO, "MsiRoute reply malformed");
	else if (out != NULL)
		*out = rep->msi_route->gsi;
	client_free_reply(rep);
	return r;
}

int client_mask_irqfd(struct client *cl, uint32_t vm_id, uint32_t gsi,
		      bool masked)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__MaskIrqfd m = KVMMU__MASK_IRQFD__INIT;

	m.has_vm_id = m.has_gsi = m.has_masked = 1;
	m.vm_id = vm_id;
	m.gsi = gsi;
	m.masked = masked;
	req.body_case = KVMMU__REQUEST__BODY_MASK_IRQFD;
	req.mask_irqfd = &m;
	return client_simple(cl, &req);
}

int client_signal_msi(struct client *cl, uint32_t vm_id, uint32_t lo,
		      uint32_t data)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__SignalMsi m = KVMMU__SIGNAL_MSI__INIT;

	m.has_vm_id = m.has_address_lo = m.has_data = 1;
	m.vm_id = vm_id;
	m.address_lo = lo;
	m.data = data;
	req.body_case = KVMMU__REQUEST__BODY_SIGNAL_MSI;
	req.signal_msi = &m;
	return client_simple(cl, &req);
}

int client_set_cpuid(struct client *cl, uint32_t vm_id,
		     Kvmmu__CpuidMask **masks, size_t n)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__SetCpuid m = KVMMU__SET_CPUID__INIT;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	m.masks = masks;
	m.n_masks = n;
	req.body_case = KVMMU__REQUEST__BODY_SET_CPUID;
	req.set_cpuid = &m;
	return client_simple(cl, &req);
}

int client_map(struct client *cl, uint32_t vm_id, int kind, uint64_t gpa,
	       uint64_t size, uint64_t offset, const char *name, int rom_fd)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__MapRegion m = KVMMU__MAP_REGION__INIT;
	Kvmmu__Region rg = KVMMU__REGION__INIT;
	Kvmmu__Reply *rep;
	int r;

	rg.has_kind = rg.has_gpa = rg.has_size = rg.has_offset = 1;
	rg.kind = (Kvmmu__RegionKind)kind;
	rg.gpa = gpa;
	rg.size = size;
	rg.offset = offset;
	rg.name = (char *)name;
	m.has_vm_id = 1;
	m.vm_id = vm_id;
	m.region = &rg;
	req.body_case = KVMMU__REQUEST__BODY_MAP_REGION;
	req.map_region = &m;
	r = client_call(cl, &req, &rom_fd, rom_fd >= 0 ? 1 : 0, &rep, NULL,
			NULL);
	client_free_reply(rep);
	return r;
}

int client_transaction(struct client *cl, uint32_t vm_id, uint64_t gpa,
		       uint64_t size, Kvmmu__Region **regs, size_t n,
		       Kvmmu__TransactionReply *out)
{
	return client_transaction_db(cl, vm_id, gpa, size, regs, n, NULL, 0,
				     out);
}

int client_transaction_db(struct client *cl, uint32_t vm_id, uint64_t gpa,
			  uint64_t size, Kvmmu__Region **regs, size_t n,
			  Kvmmu__DoorbellChange **dbs, size_t ndbs,
			  Kvmmu__TransactionReply *out)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Transaction m = KVMMU__TRANSACTION__INIT;
	Kvmmu__Reply *rep;
	int r;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	if (size != 0) {
		m.has_window_gpa = m.has_window_size = 1;
		m.window_gpa = gpa;
		m.window_size = size;
	}
	m.n_regions = n;
	m.regions = regs;
	m.n_doorbells = ndbs;
	m.doorbells = dbs;
	req.body_case = KVMMU__REQUEST__BODY_TRANSACTION;
	req.transaction = &m;
	r = client_call(cl, &req, NULL, 0, &rep, NULL, NULL);
	if (r == 0 && rep->body_case != KVMMU__REPLY__BODY_TRANSACTION)
		r = client_fail(cl, EPROTO, "Transaction reply malformed");
	if (r == 0 && out != NULL) {
		*out = *rep->transaction;
		out->base.descriptor = NULL; /* a copy of counters only */
	}
	client_free_reply(rep);
	return r;
}

int client_set_zap(struct client *cl, uint32_t vm_id,
		   const Kvmmu__ZapControl *zap)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__SetZapControl m = KVMMU__SET_ZAP_CONTROL__INIT;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	m.zap = (Kvmmu__ZapControl *)zap;
	req.body_case = KVMMU__REQUEST__BODY_SET_ZAP_CONTROL;
	req.set_zap_control = &m;
	return client_simple(cl, &req);
}

int client_invalidate_send(struct client *cl, uint32_t vm_id, uint64_t gpa,
			   uint64_t size, bool discard, uint64_t *id)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Invalidate m = KVMMU__INVALIDATE__INIT;
	Kvmmu__Range r = KVMMU__RANGE__INIT, *rp = &r;

	r.has_gpa = r.has_size = 1;
	r.gpa = gpa;
	r.size = size;
	m.has_vm_id = m.has_discard = 1;
	m.vm_id = vm_id;
	m.discard = discard;
	m.n_ranges = 1;
	m.ranges = &rp;
	req.body_case = KVMMU__REQUEST__BODY_INVALIDATE;
	req.invalidate = &m;
	return client_send(cl, &req, NULL, 0, id);
}

int client_invalidate_wait(struct client *cl, uint64_t id,
			   Kvmmu__InvalidateReply *out)
{
	Kvmmu__Reply *rep;
	int r = client_recv_reply(cl, id, &rep, NULL, NULL);

	if (r == 0 && rep->body_case != KVMMU__REPLY__BODY_INVALIDATE)
		r = client_fail(cl, EPROTO, "Invalidate reply malformed");
	if (r == 0 && out != NULL) {
		*out = *rep->invalidate;
		out->base.descriptor = NULL; /* a copy of counters only */
	}
	client_free_reply(rep);
	return r;
}

int client_invalidate(struct client *cl, uint32_t vm_id, uint64_t gpa,
		      uint64_t size, bool discard, Kvmmu__InvalidateReply *out)
{
	uint64_t id;

	if (client_invalidate_send(cl, vm_id, gpa, size, discard, &id) < 0)
		return -cl->cl_errcode;
	return client_invalidate_wait(cl, id, out);
}

int client_unmap(struct client *cl, uint32_t vm_id, uint64_t gpa)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__UnmapRegion m = KVMMU__UNMAP_REGION__INIT;

	m.has_vm_id = m.has_gpa = 1;
	m.vm_id = vm_id;
	m.gpa = gpa;
	req.body_case = KVMMU__REQUEST__BODY_UNMAP_REGION;
	req.unmap_region = &m;
	return client_simple(cl, &req);
}

int client_vm_op(struct client *cl, uint32_t vm_id, Kvmmu__Request__BodyCase op)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Run run = KVMMU__RUN__INIT;
	Kvmmu__Stop stop = KVMMU__STOP__INIT;
	Kvmmu__DestroyVm destroy = KVMMU__DESTROY_VM__INIT;

	req.body_case = op;
	switch (op) {
	case KVMMU__REQUEST__BODY_RUN:
		run.has_vm_id = 1;
		run.vm_id = vm_id;
		req.run = &run;
		break;
	case KVMMU__REQUEST__BODY_STOP:
		stop.has_vm_id = 1;
		stop.vm_id = vm_id;
		req.stop = &stop;
		break;
	case KVMMU__REQUEST__BODY_DESTROY_VM:
		destroy.has_vm_id = 1;
		destroy.vm_id = vm_id;
		req.destroy_vm = &destroy;
		break;
	default:
		return client_fail(cl, EINVAL, "client_vm_op: not a VM op");
	}
	return client_simple(cl, &req);
}

int client_destroy_vm(struct client *cl, uint32_t vm_id, const char *reason)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__DestroyVm destroy = KVMMU__DESTROY_VM__INIT;

	destroy.has_vm_id = 1;
	destroy.vm_id = vm_id;
	destroy.reason = (char *)reason;
	req.body_case = KVMMU__REQUEST__BODY_DESTROY_VM;
	req.destroy_vm = &destroy;
	return client_simple(cl, &req);
}

int client_get_stats(struct client *cl, uint32_t vm_id, Kvmmu__Reply **rep)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__GetStats m = KVMMU__GET_STATS__INIT;
	int r;

	m.has_vm_id = 1;
	m.vm_id = vm_id;
	req.body_case = KVMMU__REQUEST__BODY_GET_STATS;
	req.get_stats = &m;
	r = client_call(cl, &req, NULL, 0, rep, NULL, NULL);
	if (r == 0 && (*rep)->body_case != KVMMU__REPLY__BODY_STATS) {
		client_free_reply(*rep);
		*rep = NULL;
		return client_fail(cl, EPROTO, "GetStats reply malformed");
	}
	return r;
}

static int stats_lookup(Kvmmu__Stat **s, size_t n, const char *name,
			uint64_t *value)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i]->name && strcmp(s[i]->name, name) == 0) {
			*value = s[i]->value;
			return 0;
		}
	}
	return -ENOENT;
}

int stats_find(const Kvmmu__StatsReply *st, int vcpu, const char *name,
	       uint64_t *value)
{
	if (vcpu < 0) {
		if (stats_lookup(st->vm, st->n_vm, name, value) == 0)
			return 0;
		return stats_lookup(st->server, st->n_server, name, value);
	}
	if ((size_t)vcpu >= st->n_vcpus)
		return -ENOENT;
	return stats_lookup(st->vcpus[vcpu]->stats, st->vcpus[vcpu]->n_stats,
			    name, value);
}

uint64_t stats_vcpu_sum(const Kvmmu__StatsReply *st, const char *name)
{
	uint64_t sum = 0, v;

	for (size_t i = 0; i < st->n_vcpus; i++) {
		if (stats_find(st, (int)i, name, &v) == 0)
			sum += v;
	}
	return sum;
}
