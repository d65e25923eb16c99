/*
 * attack.c: an adversarial frontend against a real mmu-server, written
 * from the protocol's rules as an attacker would.  Each phase runs in a
 * child that drops to uid nobody, takes what it can from the server and
 * then holds it; meanwhile this (root, another uid) process checks that
 * a fresh connection's Hello is answered within 100 ms and that root's
 * CreateVm still succeeds.  After each phase the attacker exits, and the
 * server's fds and RSS must be back at their baseline.
 *
 * The phases: the three findings of the denial-of-service report (a vCPU
 * ioctl on a guest that never exits, a lingering socket passed on a
 * request that takes no fd, all-ones regions over a huge span), every
 * bounded resource taken until the server says EDQUOT (in an order the
 * seed picks), requests that must be refused, and seeded mutations of
 * valid frames, and fds that are slow to close.  Usage: attack [SEED]
 * (KVMMU_ATTACK_SEED overrides; the seed is printed, so a failing run can be
 * replayed). Trust: test code, started as root; the attackers run as nobody.
 */
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "clock.h"
#include "guest.h"
#include "harness.h"
#include "wire.h"

#define NOBODY	   65534
#define GB	   (1ULL << 30)
#define MB	   (1ULL << 20)
#define HELLO_MS   100.0
#define PHASE_SECS 120

static struct srv srv;
static uint64_t rng;
static void *spin_img; /* the readloop payload, read before dropping uid */
static size_t spin_len;
static int to_child = -1, from_child = -1;
static int base_fds;
static long base_rss;

static uint64_t rnd(void) /* xorshift64 */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* --- the attacker's side ------------------------------------------------ */

/* Tells the parent c, then waits for its go-ahead. */
static void sync_parent(char c)
{
	char ack;

	if (write(from_child, &c, 1) != 1 || read(to_child, &ack, 1) != 1)
		_exit(100);
}

/* Everything is taken: let the parent probe the server, then go on. */
static void hold(void)
{
	sync_parent('H');
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("attack-rom", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static Kvmmu__Region *allones(Kvmmu__Region *r, uint64_t gpa, uint64_t size)
{
	static char names[16][16];
	static unsigned n;
	char *name = names[n++ % 16];

	snprintf(name, sizeof(names[0]), "ones%u", n);
	kvmmu__region__init(r);
	r->has_kind = r->has_gpa = r->has_size = 1;
	r->kind = KVMMU__REGION_KIND__REGION_ALLONES;
	r->gpa = gpa;
	r->size = size;
	r->name = name;
	return r;
}

static int create(struct client *cl, const char *name, unsigned vcpus,
		  const Kvmmu__ZapControl *zap, uint32_t *vm)
{
	int fds[1 + 64], r;

	r = client_create_vm(cl, name, vcpus, 16 * MB, zap, vm, &fds[0],
			     &fds[1]);
	if (r == 0)
		wire_close_fds(fds, 1 + vcpus);
	return r;
}

/* 1: VcpuState for a vCPU spinning in KVM_RUN, reply not awaited. */
static void attack_stall(void)
{
	struct boot_spec spec = {0};
	struct served sv = {0};
	Kvmmu__Reply *rep = NULL;
	struct client cl;
	char err[300];
	struct boot b;
	uint64_t id;

	spec.bs_name = "spin";
	spec.bs_vcpus = 1;
	spec.bs_ram = 8 * MB;
	spec.bs_cmdline = "a=0x300000 count=1000000000000000";
	spec.bs_payload = spin_img;
	spec.bs_len = spin_len;
	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      boot_vm(&cl, &b, &spec, err, sizeof(err)) == 0 &&
		      client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0,
	      "stall: a spinning guest: %s %s", err, cl.cl_err);
	CHECK(serve_vcpu(b.b_chans[0], 300, &sv) == -ETIMEDOUT,
	      "stall: the guest spins without exits");
	CHECK(vcpustate_request(&cl, b.b_vm, 0, &id) == 0, "stall: send");
	hold();
	CHECK(client_recv_reply(&cl, id, &rep, NULL, NULL) == 0,
	      "stall: VcpuState answered: %s", cl.cl_err);
	client_free_reply(rep);
}

/* 2: that socket on GetStats, the server holding its last reference. */
static void attack_linger(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__GetStats gs = KVMMU__GET_STATS__INIT;
	Kvmmu__Reply *rep = NULL;
	struct client cl;
	int l, sock;
	uint64_t id;

	CHECK(client_connect(&cl, srv.s_sock) == 0, "linger: connect");
	sock = linger_socket(&l);
	gs.has_vm_id = 1;
	gs.vm_id = 1;
	req.body_case = KVMMU__REQUEST__BODY_GET_STATS;
	req.get_stats = &gs;
	sync_parent('S'); /* the server is stopped: ours is not the last */
	CHECK(client_send(&cl, &req, &sock, 1, &id) == 0, "linger: send");
	close(sock);
	hold(); /* the parent lets the server go on, then probes it */
	CHECK(client_recv_reply(&cl, id, &rep, NULL, NULL) == -EBADF,
	      "linger: the fd is refused: %s", cl.cl_err);
	client_free_reply(rep);
	close(l);
}

/*
 * 3: all-ones regions as ROM.  The report's 127 GiB are refused at the
 * per-VM mapping bound; VM after VM filled to that bound stop at the
 * per-uid one, far below vm.max_map_count.
 */
static void attack_allones(void)
{
	Kvmmu__ZapControl zap = KVMMU__ZAP_CONTROL__INIT;
	Kvmmu__Region r[11], *rp[11];
	struct client cl[2], *last = &cl[0];
	uint64_t fill;
	unsigned nvm;
	uint32_t vm, first = 0;
	int ret = 0;

	zap.has_allones = 1;
	zap.allones = KVMMU__ALL_ONES__ALLONES_ROM;
	for (int i = 0; i < 2; i++)
		CHECK(client_connect(&cl[i], srv.s_sock) == 0,
		      "allones: connect");
	CHECK(create(&cl[0], "ones", 1, &zap, &first) == 0, "allones: VM: %s",
	      cl[0].cl_err);
	for (int i = 0; i < 11; i++)
		rp[i] = allones(&r[i], 4 * GB + (uint64_t)i * 12 * GB,
				(11 * GB + 512 * MB) & ~(2 * MB - 1));
	CHECK(client_transaction(&cl[0], first, 0, 0, rp, 11, NULL) ==
			      -EDQUOT &&
		      strstr(cl[0].cl_err, "mappings") &&
		      strstr(cl[0].cl_err, "per VM"),
	      "allones: 127 GiB by Transaction refused: %s", cl[0].cl_err);
	CHECK(client_map(&cl[0], first, KVMMU__REGION_KIND__REGION_ALLONES,
			 4 * GB, 12 * GB, 0, "ones", -1) == -EDQUOT &&
		      strstr(cl[0].cl_err, "mappings"),
	      "allones: 12 GiB by MapRegion refused: %s", cl[0].cl_err);
	/*
	 * Fill VM after VM to the per-VM bound (8 VMs per connection), until
	 * the uid's bound stops us.
	 */
	for (nvm = 0; ret == 0 && nvm < 16; nvm++) {
		last = &cl[nvm / 8];
		vm = first;
		if (nvm > 0)
			ret = create(last, "ones", 1, &zap, &vm);
		if (ret < 0)
			break;
		fill = vm_stat(last, vm, "quota.vm_mappings_limit", NULL) -
		       vm_stat(last, vm, "quota.vm_mappings", NULL);
		ret = client_transaction(last, vm, 0, 0,
					 (Kvmmu__Region *[]){allones(
						 &r[0], 4 * GB, fill * 2 * MB)},
					 1, NULL);
		CHECK(ret == 0 ||
			      (ret == -EDQUOT && strstr(last->cl_err, "uid")),
		      "allones: VM %u filled to its bound: %s", nvm,
		      last->cl_err);
		if (ret == 0)
			CHECK(client_map(last, vm,
					 KVMMU__REGION_KIND__REGION_ALLONES,
					 64 * GB, 2 * MB, 0, "more",
					 -1) == -EDQUOT,
			      "allones: VM %u is full: %s", nvm, last->cl_err);
	}
	CHECK(ret == -EDQUOT && strstr(last->cl_err, "mappings") &&
		      strstr(last->cl_err, "per uid"),
	      "allones: the uid's bound stops VM %u: %s", nvm, last->cl_err);
	CHECK(vm_stat(&cl[0], first, "quota.uid_mappings", NULL) <=
			      vm_stat(&cl[0], first, "quota.uid_mappings_limit",
				      NULL) &&
		      vm_stat(&cl[0], first, "quota.vm_mappings", NULL) ==
			      vm_stat(&cl[0], first, "quota.vm_mappings_limit",
				      NULL),
	      "allones: GetStats reports the mappings and their bounds");
	printf("attack: all-ones: %u VMs filled, then %s\n", nvm, last->cl_err);
	hold();
}

/* Takes one resource until EDQUOT names it; n: how many were taken. */
#define TAKE_UNTIL(what, limit, expr, cl)                                      \
	do {                                                                   \
		int r_ = 0;                                                    \
		unsigned n_ = 0;                                               \
		while (n_ < (limit) && (r_ = (expr)) == 0)                     \
			n_++;                                                  \
		CHECK(r_ == -EDQUOT && strstr((cl)->cl_err, what),             \
		      "exhaust: %s bounded after %u: %s", what, n_,            \
		      (cl)->cl_err);                                           \
		printf("attack: %s: %u taken, then %s\n", what, n_,            \
		       (cl)->cl_err);                                          \
	} while (0)

static int map_mmio(struct client *cl, uint32_t vm, unsigned i)
{
	return client_map(cl, vm, KVMMU__REGION_KIND__REGION_MMIO,
			  GB + (uint64_t)i * 8192, 4096, 0, "m", -1);
}

static int map_ram(struct client *cl, uint32_t vm, unsigned i)
{
	return client_map(cl, vm, KVMMU__REGION_KIND__REGION_RAM,
			  GB + (uint64_t)i * 8192, 4096, (rnd() % 4096) * 4096,
			  "r", -1);
}

static int map_rom(struct client *cl, uint32_t vm, unsigned i)
{
	int fd = memfd_of(4096), r;

	r = client_map(cl, vm, KVMMU__REGION_KIND__REGION_ROM,
		       2 * GB + (uint64_t)i * 8192, 4096, 0, "rom", fd);
	close(fd);
	return r;
}

static int big_vm(struct client *cl)
{
	uint32_t vm;

	return create(cl, "big", 64, NULL, &vm);
}

/* 4: every bounded resource, in the seed's order, until EDQUOT. */
static void attack_exhaust(void)
{
	struct client cl, more[80];
	unsigned order[5] = {0, 1, 2, 3, 4}, nmore = 0;
	uint32_t vm;

	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      create(&cl, "x", 1, NULL, &vm) == 0,
	      "exhaust: a VM: %s", cl.cl_err);
	for (unsigned i = 4; i > 0; i--) {
		unsigned j = (unsigned)(rnd() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned k = 0; k < 5; k++) {
		uint32_t v2;

		switch (order[k]) {
		case 0: /* map entries: MMIO regions cost no memslot */
			TAKE_UNTIL("regions", 5000, map_mmio(&cl, vm, n_), &cl);
			break;
		case 1: /* memslots: 4 KiB aliases of RAM */
			CHECK(create(&cl, "slots", 1, NULL, &v2) == 0,
			      "exhaust: VM: %s", cl.cl_err);
			TAKE_UNTIL("memslots", 5000, map_ram(&cl, v2, n_), &cl);
			break;
		case 2: /* ROM memfds: each a memslot, an fd, a mapping */
			CHECK(create(&cl, "roms", 1, NULL, &v2) == 0,
			      "exhaust: VM: %s", cl.cl_err);
			TAKE_UNTIL("memslots", 5000, map_rom(&cl, v2, n_), &cl);
			break;
		case 3: /* vCPU threads */
			TAKE_UNTIL("vcpus", 100, big_vm(&cl), &cl);
			break;
		case 4: /* connections */
			for (int r = 0; nmore < 80 && r == 0; nmore++)
				r = client_connect(&more[nmore], srv.s_sock);
			nmore--;
			CHECK(nmore < 80 && strstr(more[nmore].cl_err, "conns"),
			      "exhaust: connection %u refused: %s", nmore,
			      more[nmore].cl_err);
			printf("attack: conns: %u more, then %s\n", nmore,
			       more[nmore].cl_err);
			break;
		}
	}
	hold();
	for (unsigned i = 0; i < nmore; i++)
		client_close(&more[i]);
}

/* The packed request, for mutation. */
static size_t pack(Kvmmu__Request *req, uint8_t *buf)
{
	req->has_version = req->has_id = 1;
	req->version = KVMMU_PROTOCOL_VERSION;
	req->id = rnd() % 1000;
	return kvmmu__request__pack(req, buf);
}

/* A reply (error or not) or a hang-up within 2 s; false: neither. */
static bool answered(int fd, bool *err)
{
	return reply_or_hangup(fd, 2000, err);
}

/* A CreateVm of 16 MiB and one vCPU named name, packed. */
static size_t pack_create(uint8_t *buf, const char *name)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__CreateVm cv = KVMMU__CREATE_VM__INIT;

	cv.name = (char *)name;
	cv.has_vcpus = cv.has_ram_bytes = 1;
	cv.vcpus = 1;
	cv.ram_bytes = 16 * MB;
	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &cv;
	return pack(&req, buf);
}

static uint32_t frames_vm; /* the raw connection's own VM */

/* A raw connection, Hello'd, with a VM of its own in frames_vm. */
static int hello_fd(void)
{
	static uint8_t buf[WIRE_MAX_MSG];
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Hello h = KVMMU__HELLO__INIT;
	Kvmmu__Reply *rep = NULL;
	int fd = raw_connect(srv.s_sock), fds[WIRE_MAX_FDS];
	size_t nfds = 0;
	ssize_t n = -1;
	bool err;

	h.has_version = 1;
	h.version = KVMMU_PROTOCOL_VERSION;
	req.body_case = KVMMU__REQUEST__BODY_HELLO;
	req.hello = &h;
	if (fd < 0 || send(fd, buf, pack(&req, buf), 0) < 0 ||
	    !answered(fd, &err))
		goto fail;
	if (send(fd, buf, pack_create(buf, "frames"), 0) > 0 &&
	    poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 5000) > 0)
		n = wire_recv(fd, buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	if (n > 0)
		rep = kvmmu__reply__unpack(NULL, (size_t)n, buf);
	if (rep == NULL || rep->create_vm == NULL)
		goto fail;
	frames_vm = rep->create_vm->vm_id;
	kvmmu__reply__free_unpacked(rep, NULL);
	return fd;
fail:
	if (rep)
		kvmmu__reply__free_unpacked(rep, NULL);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One of several valid requests on frames_vm, packed, for mutation. */
static size_t valid_frame(uint8_t *buf)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__MapRegion mr = KVMMU__MAP_REGION__INIT;
	Kvmmu__Transaction tx = KVMMU__TRANSACTION__INIT;
	Kvmmu__Invalidate inv = KVMMU__INVALIDATE__INIT;
	Kvmmu__Range rg = KVMMU__RANGE__INIT, *rgp = &rg;
	Kvmmu__GetStats gs = KVMMU__GET_STATS__INIT;
	Kvmmu__Region reg[2], *regs[2] = {&reg[0], &reg[1]};
	uint64_t gpa = GB + (rnd() % 64) * 2 * MB;

	switch (rnd() % 4) {
	case 0:
		mr.has_vm_id = 1;
		mr.vm_id = frames_vm;
		mr.region = allones(&reg[0], gpa, 4096 << (rnd() % 10));
		req.body_case = KVMMU__REQUEST__BODY_MAP_REGION;
		req.map_region = &mr;
		break;
	case 1:
		tx.has_vm_id = tx.has_window_gpa = tx.has_window_size = 1;
		tx.vm_id = frames_vm;
		tx.window_gpa = GB;
		tx.window_size = GB;
		allones(&reg[0], gpa, 2 * MB);
		allones(&reg[1], gpa + 4 * MB, 4096);
		tx.regions = regs;
		tx.n_regions = 2;
		req.body_case = KVMMU__REQUEST__BODY_TRANSACTION;
		req.transaction = &tx;
		break;
	case 2:
		rg.has_gpa = rg.has_size = 1;
		rg.gpa = (rnd() % 4096) * 4096;
		rg.size = 4096;
		inv.has_vm_id = 1;
		inv.vm_id = frames_vm;
		inv.ranges = &rgp;
		inv.n_ranges = 1;
		req.body_case = KVMMU__REQUEST__BODY_INVALIDATE;
		req.invalidate = &inv;
		break;
	default:
		gs.has_vm_id = 1;
		gs.vm_id = frames_vm;
		req.body_case = KVMMU__REQUEST__BODY_GET_STATS;
		req.get_stats = &gs;
	}
	return pack(&req, buf);
}

/* Sends len bytes of buf on a Hello'd connection; reconnects as needed. */
static bool send_frame(int *fd, const uint8_t *buf, size_t len, bool *err)
{
	if (*fd < 0)
		*fd = hello_fd();
	if (*fd < 0 || send(*fd, buf, len, MSG_NOSIGNAL) < 0) {
		close(*fd);
		*fd = -1;
		*err = true;
		return true; /* refused at the socket: also an answer */
	}
	if (answered(*fd, err))
		return true;
	close(*fd);
	*fd = -1;
	return false;
}

/*
 * 5: requests that must be refused, then seeded mutations of valid
 * frames.  Every frame gets a reply or a hang-up within 2 s.
 */
static void attack_frames(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__MapRegion mr = KVMMU__MAP_REGION__INIT;
	Kvmmu__Region reg;
	Kvmmu__Hello h = KVMMU__HELLO__INIT;
	static uint8_t buf[4096];
	unsigned silent = 0, errors = 0, oks = 0;
	uint8_t *x;
	size_t len;
	bool err;
	int fd = -1;

	fd = hello_fd();
	CHECK(fd >= 0, "frames: a connection with a VM");
	/* Refused: a name cut short by a NUL. */
	len = pack_create(buf, "vmXevil");
	x = memchr(buf, 'X', len);
	*x = 0;
	CHECK(send_frame(&fd, buf, len, &err) && err, "frames: NUL in a name");
	/* Refused: a region beyond the guest's physical address space. */
	mr.has_vm_id = 1;
	mr.vm_id = frames_vm;
	mr.region = allones(&reg, 1ULL << 62, 4096);
	req.body_case = KVMMU__REQUEST__BODY_MAP_REGION;
	req.map_region = &mr;
	CHECK(send_frame(&fd, buf, pack(&req, buf), &err) && err,
	      "frames: a region at 2^62");
	/* Refused: a second Hello on a connection. */
	h.has_version = 1;
	h.version = KVMMU_PROTOCOL_VERSION;
	req.body_case = KVMMU__REQUEST__BODY_HELLO;
	req.hello = &h;
	CHECK(send_frame(&fd, buf, pack(&req, buf), &err) && err,
	      "frames: Hello twice");
	/* Refused: vm_id 2^32 + its own, a varint wider than uint32. */
	if (fd < 0)
		fd = hello_fd();
	{
		uint8_t w[] = {0x08, 0x01, 0x10, 0x05, 0x8a, 0x01, 0x06,
			       0x08, 0,	   0,	 0,    0,    0x10};

		w[8] = 0x80 | (frames_vm & 0x7f);
		w[9] = 0x80 | ((frames_vm >> 7) & 0x7f);
		w[10] = 0x80 | ((frames_vm >> 14) & 0x7f);
		w[11] = 0x80 | ((frames_vm >> 21) & 0x7f);
		w[12] = 0x10 | ((frames_vm >> 28) & 0x0f);
		CHECK(send_frame(&fd, w, sizeof(w), &err) && err,
		      "frames: GetStats.vm_id 2^32 + %u", frames_vm);
	}
	/* Seeded mutations of valid requests on the connection's own VM. */
	for (int i = 0; i < 300; i++) {
		size_t n;

		if (fd < 0)
			fd = hello_fd();
		n = valid_frame(buf);
		switch (rnd() % 5) {
		case 0: /* flip bits */
			buf[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
			break;
		case 1: /* cut short */
			n = 1 + rnd() % n;
			break;
		case 2: /* random tail */
			for (size_t k = 0; k < 16; k++)
				buf[n + k] = (uint8_t)rnd();
			n += 16;
			break;
		case 3: /* a random byte anywhere */
			buf[rnd() % n] = (uint8_t)rnd();
			break;
		default: /* unchanged: the server's state moves on */
			break;
		}
		if (!send_frame(&fd, buf, n, &err))
			silent++;
		else if (err)
			errors++;
		else
			oks++;
	}
	printf("attack: 300 mutated frames: %u refused, %u accepted, %u "
	       "unanswered\n",
	       errors, oks, silent);
	CHECK(silent == 0, "frames: every mutated frame is answered");
	hold();
	close(fd);
}

/*
 * 6: fds whose close is slow.  The server runs with --release-delay-ms,
 * as if they were files on a FUSE mount the attacker serves; 12 requests
 * that take no fd bring 64 each.  Once 256 of the uid's fds are closing,
 * the server reads none of its connections; the requests wait in the
 * socket and are answered (refused) as the closes drain, never dropped.
 */
static void attack_release(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__GetStats gs = KVMMU__GET_STATS__INIT;
	unsigned early = 0, all = 0;
	int p[2], fds[64];
	struct client cl;
	uint64_t id;
	bool err;

	CHECK(client_connect(&cl, srv.s_sock) == 0 && pipe(p) == 0,
	      "release: connect: %s", cl.cl_err);
	for (int i = 0; i < 64; i++)
		fds[i] = p[0];
	gs.has_vm_id = 1;
	gs.vm_id = 1;
	req.body_case = KVMMU__REQUEST__BODY_GET_STATS;
	req.get_stats = &gs;
	for (int i = 0; i < 12; i++)
		CHECK(client_send(&cl, &req, fds, 64, &id) == 0,
		      "release: send %d: %s", i, cl.cl_err);
	close(p[0]);
	close(p[1]);
	while (reply_or_hangup(cl.cl_fd, 300, &err) && err)
		early++;
	printf("attack: release: %u of 12 requests answered before the "
	       "server held the connection back\n",
	       early);
	CHECK(early >= 4 && early < 12, "release: held back after %u", early);
	hold();
	for (all = early;
	     all < 12 && reply_or_hangup(cl.cl_fd, 30000, &err) && err;)
		all++;
	CHECK(all == 12, "release: all 12 refused in the end (%u)", all);
	client_close(&cl);
}

/* --- the parent's side -------------------------------------------------- */

static double ms_since(uint64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

/* What must hold whatever the attacker does. */
static void probe(const char *phase)
{
	uint64_t t0 = mono_ns();
	int r, ram, chan, maps = 0;
	struct client cl;
	char line[512];
	uint32_t vm;
	double ms;
	FILE *f;

	r = client_connect(&cl, srv.s_sock);
	ms = ms_since(t0);
	CHECK(r == 0 && ms < HELLO_MS, "%s: a fresh Hello in %.1f ms: %s",
	      phase, ms, cl.cl_err);
	if (r == 0)
		client_close(&cl);
	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      client_create_vm(&cl, "bystander", 1, 16 * MB, NULL, &vm,
				       &ram, &chan) == 0,
	      "%s: root's CreateVm: %s", phase, cl.cl_err);
	if (cl.cl_fd >= 0) {
		close(ram);
		close(chan);
		client_close(&cl);
	}
	snprintf(line, sizeof(line), "/proc/%d/maps", (int)srv.s_pid);
	f = fopen(line, "r");
	while (f && fgets(line, sizeof(line), f))
		maps++;
	if (f)
		fclose(f);
	printf("attack: %s: Hello in %.1f ms; server has %d fds, %d mappings, "
	       "%ld KiB RSS\n",
	       phase, ms, proc_fd_count(srv.s_pid), maps,
	       proc_rss_kib(srv.s_pid));
}

/* The attacker gone, the server gives everything back. */
static void baseline(const char *phase)
{
	int fds = -1;

	for (int i = 0; i < 1500 && fds != base_fds; i++) {
		usleep(10000);
		fds = proc_fd_count(srv.s_pid);
	}
	CHECK(fds == base_fds, "%s: fds back to %d: %d", phase, base_fds, fds);
#ifndef KVMMU_SANITIZE
	/* ASan's quarantine holds freed memory; LSan checks leaks instead. */
	CHECK(proc_rss_kib(srv.s_pid) < base_rss + 16 * 1024,
	      "%s: RSS back near %ld KiB: %ld", phase, base_rss,
	      proc_rss_kib(srv.s_pid));
#endif
}

static void phase(const char *name, void (*attack)(void))
{
	int down[2], up[2], status = -1;
	bool stopped = false, done = false;
	uint64_t t0 = mono_ns();
	pid_t pid;
	char c;

	printf("attack: phase %s\n", name);
	fflush(stdout);
	if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		to_child = down[0];
		from_child = up[1];
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(99);
		checks_failed = 0;
		attack();
		fflush(stdout);
		_exit(checks_failed ? 1 : 0);
	}
	close(down[0]);
	close(up[1]);
	while (!done) {
		struct pollfd p = {.fd = up[0], .events = POLLIN};
		int left = PHASE_SECS * 1000 - (int)ms_since(t0);

		if (left <= 0 || poll(&p, 1, left) <= 0 ||
		    read(up[0], &c, 1) != 1)
			break;
		if (c == 'S') {
			stopped = kill(srv.s_pid, SIGSTOP) == 0;
		} else {
			if (stopped)
				kill(srv.s_pid, SIGCONT);
			stopped = false;
			probe(name);
			done = true;
		}
		if (write(down[1], "g", 1) != 1)
			break;
	}
	if (stopped)
		kill(srv.s_pid, SIGCONT);
	CHECK(done, "%s: the attacker reached its hold point", name);
	for (int i = 0; i < 3000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "%s: the attacker's own checks (status 0x%x)", name, status);
	close(down[1]);
	close(up[0]);
	baseline(name);
}

int main(int argc, char **argv)
{
	const char *env = getenv("KVMMU_ATTACK_SEED");
	char err[256];
	struct client cl;
	uint32_t vm;
	int ram, chan;

	rng = strtoull(env ? env : argc > 1 ? argv[1] : "1", NULL, 0);
	if (rng == 0)
		rng = 1;
	printf("attack: seed %llu (KVMMU_ATTACK_SEED=%llu replays it)\n",
	       (unsigned long long)rng, (unsigned long long)rng);
	require_kvm("attack");
	if (guest_load_file(guest_path("readloop"), &spin_img, &spin_len, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "attack: %s\n", err);
		return 1;
	}
	CHECK(srv_start(&srv, (const char *[]){"--socket-group", "nogroup",
					       NULL}) == 0,
	      "server start");
	/* Warm up (allocator arenas, the fd releaser), then the baseline. */
	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      client_create_vm(&cl, "warm", 1, 16 * MB, NULL, &vm, &ram,
				       &chan) == 0,
	      "warm-up VM: %s", cl.cl_err);
	close(ram);
	close(chan);
	client_close(&cl);
	usleep(200000);
	base_fds = proc_fd_count(srv.s_pid);
	base_rss = proc_rss_kib(srv.s_pid);
	phase("stall", attack_stall);
	phase("linger", attack_linger);
	phase("allones", attack_allones);
	phase("exhaust", attack_exhaust);
	phase("frames", attack_frames);
	CHECK(srv_stop(&srv) == 0, "the server exits cleanly");
	/* A server whose closes are slow, for the last phase. */
	CHECK(srv_start(&srv, (const char *[]){"--socket-group", "nogroup",
					       "--release-delay-ms", "10",
					       NULL}) == 0,
	      "server with --release-delay-ms 10");
	usleep(200000);
	base_fds = proc_fd_count(srv.s_pid);
	base_rss = proc_rss_kib(srv.s_pid);
	phase("release", attack_release);
	CHECK(srv_stop(&srv) == 0, "the second server exits cleanly");
	free(spin_img);
	return checks_report("attack");
}
