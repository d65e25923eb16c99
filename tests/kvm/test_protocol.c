/*
 * test_protocol.c: a hostile frontend against a real mmu-server.
 * Malformed, truncated, oversized and out-of-range messages, fd abuse,
 * other connections' VMs, overlapping maps and quotas each get an error
 * reply (or, where the protocol says so, a disconnect); the server stays
 * up, serves another client and leaks no fd.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot.h"
#include "client.h"
#include "clock.h"
#include "guest.h"
#include "harness.h"
#include "wire.h"

static struct srv srv;

/* The next reply, or NULL on EOF/timeout; *eof tells which. */
static Kvmmu__Reply *raw_reply(int fd, bool *eof)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	static uint8_t buf[WIRE_MAX_MSG];
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n;

	*eof = false;
	if (poll(&pfd, 1, 5000) <= 0)
		return NULL;
	n = wire_recv(fd, buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	if (n <= 0) {
		*eof = n == 0;
		return NULL;
	}
	return kvmmu__reply__unpack(NULL, (size_t)n, buf);
}

/* Expects an error reply with code and text in its message. */
static void expect_error(int fd, int code, const char *text, const char *what)
{
	bool eof;
	Kvmmu__Reply *rep = raw_reply(fd, &eof);

	CHECK(rep && rep->error && rep->error->code == code &&
		      strstr(rep->error->message, text),
	      "%s: want error %d '%s', got %s %d '%s'", what, code, text,
	      rep ? "reply" : "nothing",
	      rep && rep->error ? rep->error->code : 0,
	      rep && rep->error ? rep->error->message : "");
	if (rep)
		kvmmu__reply__free_unpacked(rep, NULL);
}

static void send_req(int fd, Kvmmu__Request *req, const int *fds, size_t n)
{
	req->has_version = req->has_id = 1;
	req->version = KVMMU_PROTOCOL_VERSION;
	req->id = 1;
	CHECK(wire_send(fd, &req->base, fds, n) == 0, "send");
}

static void send_hello(int fd, uint32_t version)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__Hello h = KVMMU__HELLO__INIT;

	h.has_version = 1;
	h.version = version;
	req.body_case = KVMMU__REQUEST__BODY_HELLO;
	req.hello = &h;
	send_req(fd, &req, NULL, 0);
}

static void send_destroy(int fd, uint32_t vm, const int *fds, size_t n)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__DestroyVm d = KVMMU__DESTROY_VM__INIT;

	d.has_vm_id = 1;
	d.vm_id = vm;
	req.body_case = KVMMU__REQUEST__BODY_DESTROY_VM;
	req.destroy_vm = &d;
	send_req(fd, &req, fds, n);
}

static bool reply_ok(int fd)
{
	bool eof;
	Kvmmu__Reply *rep = raw_reply(fd, &eof);
	bool ok = rep && !rep->error;

	if (rep)
		kvmmu__reply__free_unpacked(rep, NULL);
	return ok;
}

static bool closed_by_server(int fd)
{
	bool eof;
	Kvmmu__Reply *rep = raw_reply(fd, &eof);

	if (rep)
		kvmmu__reply__free_unpacked(rep, NULL);
	return rep == NULL && eof;
}

static void test_frames(void)
{
	int fd = raw_connect(srv.s_sock);
	static uint8_t big[100 * 1024];
	uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__CreateVm cv = KVMMU__CREATE_VM__INIT;
	uint8_t packed[256];
	size_t len;

	CHECK(send(fd, junk, sizeof(junk), 0) > 0, "junk");
	expect_error(fd, EPROTO, "undecodable", "garbage bytes");
	cv.name = "truncated-vm";
	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &cv;
	req.has_version = 1;
	req.version = 1;
	len = kvmmu__request__pack(&req, packed);
	CHECK(send(fd, packed, len - 4, 0) > 0, "truncated");
	expect_error(fd, EPROTO, "undecodable", "truncated message");
	CHECK(send(fd, big, sizeof(big), 0) > 0, "oversized");
	expect_error(fd, EMSGSIZE, "larger than", "oversized packet");
	send_destroy(fd, 1, NULL, 0);
	expect_error(fd, EPROTO, "Hello must come first", "before hello");
	send_hello(fd, 1);
	CHECK(reply_ok(fd), "hello after errors works");
	send_hello(fd, 1);
	expect_error(fd, EPROTO, "sent twice", "second hello");
	close(fd);

	fd = raw_connect(srv.s_sock);
	send_hello(fd, 42);
	expect_error(fd, EPROTONOSUPPORT, "server speaks 1", "version 42");
	CHECK(closed_by_server(fd), "mismatched version is disconnected");
	close(fd);
}

/*
 * What protobuf-c would take cut short: a name with a NUL byte in it
 * ("vm\0evil" would be "vm") and a uint32 field sent as a 64-bit varint
 * (version 2^32 + 1 would be 1).  Both are refused as non-canonical.
 */
static void test_canonical(void)
{
	int fd = raw_connect(srv.s_sock);
	Kvmmu__Request req = KVMMU__REQUEST__INIT;
	Kvmmu__CreateVm cv = KVMMU__CREATE_VM__INIT;
	uint8_t packed[256], wide[300];
	uint8_t *x;
	size_t len;

	send_hello(fd, 1);
	CHECK(reply_ok(fd), "hello");
	cv.name = "vmXevil";
	cv.has_ram_bytes = 1;
	cv.ram_bytes = 16 << 20;
	cv.has_vcpus = 1;
	cv.vcpus = 1;
	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &cv;
	req.has_version = req.has_id = 1;
	req.version = 1;
	req.id = 7; /* else valid: only the encoding is wrong */
	len = kvmmu__request__pack(&req, packed);
	x = memchr(packed, 'X', len);
	CHECK(x != NULL, "the name is in the packet");
	if (x)
		*x = 0;
	CHECK(send(fd, packed, len, 0) == (ssize_t)len, "send");
	expect_error(fd, EPROTO, "canonical", "CreateVm.name \"vm\\0evil\"");
	if (x)
		*x = 'X'; /* a good name again */
	/* version, field 1, first: 0x08 0x01 becomes a 5-byte varint. */
	CHECK(packed[0] == 0x08 && packed[1] == 0x01, "version comes first");
	memcpy(wide, (const uint8_t[]){0x08, 0x81, 0x80, 0x80, 0x80, 0x10}, 6);
	memcpy(wide + 6, packed + 2, len - 2);
	CHECK(send(fd, wide, len + 4, 0) == (ssize_t)(len + 4), "send");
	expect_error(fd, EPROTO, "canonical", "Request.version 2^32 + 1");
	close(fd);
}

static void test_fd_abuse(void)
{
	Kvmmu__Request empty = KVMMU__REQUEST__INIT;
	int fd = raw_connect(srv.s_sock), fds[WIRE_MAX_FDS + 1], p[2], base;

	send_hello(fd, 1);
	CHECK(reply_ok(fd), "hello");
	base = proc_fd_count(srv.s_pid); /* the server has accepted us */
	CHECK(pipe(p) == 0, "pipe");
	send_destroy(fd, 1, p, 1);
	expect_error(fd, EBADF, "only a ROM MapRegion", "fd on destroy");
	for (int i = 0; i < WIRE_MAX_FDS + 1; i++)
		fds[i] = p[0];
	/* One packet, too many fds: wire_send refuses, so use sendmsg. */
	{
		char cbuf[CMSG_SPACE(sizeof(fds))];
		struct msghdr mh = {0};
		struct iovec iov = {.iov_base = "x", .iov_len = 1};
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		CHECK(sendmsg(fd, &mh, 0) == 1, "sendmsg 66 fds");
	}
	expect_error(fd, ETOOMANYREFS, "more than", "66 fds");
	/* An empty packet reads as EOF: the fd sent with it must not leak. */
	CHECK(wire_send(fd, &empty.base, p, 1) == 0 && closed_by_server(fd),
	      "empty packet with an fd: disconnected");
	close(p[0]);
	close(p[1]);
	usleep(50000); /* the server closes the connection (its fd too) */
	CHECK(proc_fd_count(srv.s_pid) == base - 1,
	      "server kept no passed fd: %d -> %d (the connection is gone)",
	      base, proc_fd_count(srv.s_pid));
	close(fd);
}

static int memfd_of(size_t size, uint8_t fill)
{
	int fd = memfd_create("rom", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	p = mmap(NULL, size, PROT_WRITE, MAP_SHARED, fd, 0);
	memset(p, fill, size);
	munmap(p, size);
	return fd;
}

/* Maps over the client library, then checks the server's verdicts. */
static void test_memory_map(void)
{
	struct client a, b;
	int ram, chan, p[2], rom;
	uint32_t vm, vm2;

	CHECK(client_connect(&a, srv.s_sock) == 0, "connect a");
	CHECK(client_connect(&b, srv.s_sock) == 0, "connect b");
	CHECK(client_create_vm(&a, "a", 1, 16 << 20, NULL, &vm, &ram, &chan) ==
		      0,
	      "create: %s", a.cl_err);
	CHECK(client_map(&a, vm, 1, 0, 16 << 20, 0, "ram", -1) == 0,
	      "map ram: %s", a.cl_err);
	CHECK(client_map(&a, vm, 3, 0x800000, 0x1000, 0, "hole", -1) ==
			      -EEXIST &&
		      strstr(a.cl_err, "overlaps"),
	      "overlap: %s", a.cl_err);
	CHECK(client_map(&a, vm, 1, 0x10000000, 0x2000, (16 << 20) - 0x1000,
			 "tail", -1) == -EINVAL &&
		      strstr(a.cl_err, "exceeds the RAM"),
	      "beyond RAM: %s", a.cl_err);
	CHECK(pipe(p) == 0, "pipe");
	CHECK(client_map(&a, vm, 2, 0xf0000000, 0x1000, 0, "rom", p[0]) ==
			      -EBADF &&
		      strstr(a.cl_err, "not a memfd"),
	      "pipe as ROM: %s", a.cl_err);
	close(p[0]);
	close(p[1]);
	rom = memfd_of(0x2000, 0xff);
	CHECK(client_map(&a, vm, 2, 0xf0000000, 0x4000, 0, "rom", rom) ==
			      -EINVAL &&
		      strstr(a.cl_err, "ROM memfd"),
	      "ROM bigger than memfd: %s", a.cl_err);
	CHECK(client_map(&a, vm, 2, 0xf0000000, 0x2000, 0, "rom", rom) == 0,
	      "good ROM: %s", a.cl_err);
	CHECK(client_map(&a, vm, 2, 0xf0000000, 0x2000, 0, "rom", -1) == -EBADF,
	      "ROM without fd: %s", a.cl_err);
	close(rom);
	CHECK(client_unmap(&a, vm, 0xf0001000) == -ENOENT, "unmap mid: %s",
	      a.cl_err);
	CHECK(client_unmap(&a, vm, 0xf0000000) == 0, "unmap rom: %s", a.cl_err);
	/* b cannot see, stop or destroy a's VM. */
	CHECK(client_vm_op(&b, vm, KVMMU__REQUEST__BODY_DESTROY_VM) ==
			      -ENOENT &&
		      strstr(b.cl_err, "no VM"),
	      "foreign destroy: %s", b.cl_err);
	CHECK(client_vm_op(&b, vm, KVMMU__REQUEST__BODY_STOP) == -ENOENT,
	      "foreign stop");
	CHECK(client_map(&b, vm, 1, 0x2000000, 0x1000, 0, "x", -1) == -ENOENT,
	      "foreign map");
	/* Quota: the server runs with --max-vms 2. */
	close(ram);
	close(chan);
	CHECK(client_create_vm(&a, "a2", 1, 4 << 20, NULL, &vm2, &ram, &chan) ==
		      0,
	      "second VM");
	close(ram);
	close(chan);
	CHECK(client_create_vm(&a, "a3", 1, 4 << 20, NULL, &vm2, &ram, &chan) ==
		      -EDQUOT,
	      "third VM over quota: %s", a.cl_err);
	CHECK(client_vm_op(&a, vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy own");
	client_close(&a);
	client_close(&b);
}

static void test_violations_disconnect(void)
{
	int fd = raw_connect(srv.s_sock), i;
	uint8_t junk = 0xff;
	struct client c;
	int ram, chan;
	uint32_t vm;

	send_hello(fd, 1);
	CHECK(reply_ok(fd), "hello");
	for (i = 0; i < 15; i++) {
		send(fd, &junk, 1, 0);
		expect_error(fd, EPROTO, "undecodable", "violation");
	}
	send(fd, &junk, 1, 0);
	expect_error(fd, EPROTO, "undecodable", "16th violation");
	CHECK(closed_by_server(fd), "disconnected after 16 violations");
	close(fd);
	CHECK(client_connect(&c, srv.s_sock) == 0, "server still serves");
	CHECK(client_create_vm(&c, "after", 1, 4 << 20, NULL, &vm, &ram,
			       &chan) == 0,
	      "and creates VMs: %s", c.cl_err);
	close(ram);
	close(chan);
	client_close(&c);
}

/* The next exit on a channel, or NULL when none comes within ms. */
static Kvmmu__VcpuExit *next_exit(int chan, int ms)
{
	struct pollfd pfd = {.fd = chan, .events = POLLIN};
	static uint8_t buf[WIRE_MAX_MSG];
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return NULL;
	n = wire_recv(chan, buf, fds, &nfds);
	wire_close_fds(fds, nfds);
	return n > 0 ? kvmmu__vcpu_exit__unpack(NULL, (size_t)n, buf) : NULL;
}

/*
 * A hello guest whose "frontend" answers its first exit badly: the vCPU
 * is parked (no further exit), and the VM, the server and a second VM
 * are unaffected.
 */
static void bad_answer(const void *pkt, size_t len, const char *what)
{
	struct boot_spec spec = {0};
	char err[300];
	struct client cl;
	struct boot b;
	Kvmmu__VcpuExit *ex;
	void *img = NULL;
	size_t ilen = 0;

	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      guest_load_file(guest_path("hello"), &img, &ilen, err,
				      sizeof(err)) == 0,
	      "%s: setup", what);
	spec.bs_name = "chan";
	spec.bs_vcpus = 1;
	spec.bs_ram = 8 << 20;
	spec.bs_payload = img;
	spec.bs_len = ilen;
	CHECK(boot_vm(&cl, &b, &spec, err, sizeof(err)) == 0, "%s: boot: %s",
	      what, err);
	free(img);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	ex = next_exit(b.b_chans[0], 5000);
	CHECK(ex && ex->reason == KVMMU__EXIT_REASON__EXIT_IO, "%s: exit",
	      what);
	if (ex)
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	CHECK(send(b.b_chans[0], pkt, len, 0) == (ssize_t)len, "send");
	ex = next_exit(b.b_chans[0], 300);
	CHECK(ex == NULL, "%s: the vCPU is parked, no further exit", what);
	if (ex)
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "%s: destroy after a bad answer: %s", what, cl.cl_err);
	boot_release(&b);
	client_close(&cl);
}

static void test_channel(void)
{
	Kvmmu__VcpuResume ans = KVMMU__VCPU_RESUME__INIT;
	uint8_t junk[] = {0xff, 0xff, 0xff};
	uint8_t data[16] = {0}, packed[64];
	size_t len;

	bad_answer(junk, sizeof(junk), "undecodable answer");
	/* hello's first exit reads the UART status: 1 byte, not 16. */
	ans.has_stop = 1;
	ans.has_data = 1;
	ans.data.data = data;
	ans.data.len = sizeof(data);
	len = kvmmu__vcpu_resume__pack(&ans, packed);
	bad_answer(packed, len, "answer with 16 bytes for a 1-byte read");
}

/*
 * VcpuState for a vCPU that is in KVM_RUN and never exits (a guest
 * spinning on RAM reads): a vCPU ioctl would wait for KVM_RUN to return,
 * so the server must take the vCPU out of it before any, never block its
 * loop in one.  The reply comes, another connection is served, and the
 * guest runs on from the new state.  A watchdog kills a server still
 * stuck after 20 s, so the test fails (its calls see the server gone,
 * and so does its clean exit) instead of hanging.
 */
static void test_state_while_running(void)
{
	struct boot_spec spec = {0};
	struct client cl, other;
	struct served sv = {0};
	Kvmmu__Reply *rep;
	char err[300];
	struct boot b;
	bool answered;
	pid_t dog;

	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	spec.bs_name = "spin";
	spec.bs_vcpus = 1;
	spec.bs_ram = 8 << 20;
	spec.bs_cmdline = "a=0x300000 count=1000000000000000";
	CHECK(test_boot(&cl, &b, &spec, "readloop", err, sizeof(err)) == 0,
	      "spinning guest: boot: %s", err);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	/* No exit for half a second: the vCPU is spinning inside KVM_RUN. */
	CHECK(serve_vcpu(b.b_chans[0], 500, &sv) == -ETIMEDOUT,
	      "the guest spins without exits");
	dog = fork();
	if (dog == 0) {
		sleep(20);
		kill(srv.s_pid, SIGKILL);
		_exit(0);
	}
	answered = vcpustate_send(&cl, b.b_vm, 0) == 0;
	CHECK(answered, "VcpuState for a vCPU in KVM_RUN is answered: %s",
	      cl.cl_err);
	CHECK(client_connect(&other, srv.s_sock) == 0 &&
		      client_get_stats(&other, b.b_vm, &rep) == -ENOENT,
	      "another connection is served (and kept from this VM): %s",
	      other.cl_err);
	client_close(&other);
	kill(dog, SIGKILL);
	waitpid(dog, NULL, 0);
	if (!answered)
		return;
	CHECK(serve_vcpu(b.b_chans[0], 500, &sv) == -ETIMEDOUT,
	      "the guest runs on from the new state");
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy the spinning VM: %s", cl.cl_err);
	boot_release(&b);
	client_close(&cl);
}

/*
 * The obvious restart: the guest's last exit is answered with stop, and
 * a VcpuState (new registers: a new start) follows at once on the
 * control socket.  The two channels race: the server may handle the
 * VcpuState before the vCPU thread has read the stop and parked.
 * Whatever the order, the vCPU starts again: RESTARTS rounds back to
 * back, each of which must exit again within 2 s.  Then the VcpuState
 * comes first, while the exit waits for its answer, and the stop after
 * it: the start still holds.
 */
#define RESTARTS 500

static void test_restart_after_stop(void)
{
	struct pollfd pfd = {.events = POLLIN};
	struct boot_spec spec = {0};
	struct served sv = {0};
	struct client cl;
	char err[300];
	struct boot b;
	int i, r = 0;

	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	spec.bs_name = "restart";
	spec.bs_vcpus = 1;
	spec.bs_ram = 8 << 20;
	spec.bs_cmdline = "count=0"; /* straight to the exit port */
	r = test_boot(&cl, &b, &spec, "portio", err, sizeof(err));
	CHECK(r == 0, "restart guest: boot: %s", err);
	if (r < 0) {
		client_close(&cl);
		return;
	}
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	for (i = 0; i <= RESTARTS && r == 0; i++) {
		if (i > 0 && vcpustate_send(&cl, b.b_vm, 0) < 0)
			r = -EIO;
		memset(&sv, 0, sizeof(sv));
		if (r == 0)
			r = serve_vcpu(b.b_chans[0], 2000, &sv);
		if (r == 0 && (sv.sv_io != 1 || sv.sv_status != 0))
			r = -EPROTO;
	}
	CHECK(r == 0,
	      "%d VcpuStates right after a stop answer each start "
	      "the guest again: round %d: %s (%s)",
	      RESTARTS, i - 1, strerror(-r), cl.cl_err);
	if (r != 0)
		goto out;
	/* VcpuState first, with the exit unanswered; then the stop. */
	CHECK(vcpustate_send(&cl, b.b_vm, 0) == 0, "restart: %s", cl.cl_err);
	pfd.fd = b.b_chans[0];
	CHECK(poll(&pfd, 1, 2000) == 1, "the guest exits");
	CHECK(vcpustate_send(&cl, b.b_vm, 0) == 0,
	      "VcpuState while the exit waits for its answer: %s", cl.cl_err);
	CHECK(serve_vcpu(b.b_chans[0], 2000, &sv) == 0,
	      "the exit is answered with stop");
	memset(&sv, 0, sizeof(sv));
	CHECK(serve_vcpu(b.b_chans[0], 2000, &sv) == 0 && sv.sv_status == 0,
	      "a VcpuState before the stop answer starts the guest again");
out:
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy: %s", cl.cl_err);
	boot_release(&b);
	client_close(&cl);
}

/*
 * A peer's fd whose close blocks (a lingering socket, as above) passed on
 * a request that takes no fd, then on a vCPU exit's answer: the server
 * lets go of it without waiting, off its loop and its vCPU threads.  The
 * error reply and another client's Hello come within raw_reply's 5 s, and
 * destroying the VM takes less than 10 s: a third of the linger, so the
 * bounds only fail where the server waits for it.
 */
static void test_lingering_fds(void)
{
	uint8_t junk[] = {0xff, 0xff, 0xff};
	struct boot_spec spec = {0};
	Kvmmu__VcpuExit *ex;
	double t0;
	struct client cl;
	struct boot b;
	int fd, fd2, l, sock;
	char err[300];

	fd = raw_connect(srv.s_sock);
	send_hello(fd, 1);
	CHECK(reply_ok(fd), "hello");
	/*
	 * The server stopped while the fd is in flight and ours is closed:
	 * what it receives is the last reference, and its close would block.
	 */
	sock = linger_socket(&l);
	kill(srv.s_pid, SIGSTOP);
	send_destroy(fd, 1, &sock, 1);
	close(sock);
	kill(srv.s_pid, SIGCONT);
	expect_error(fd, EBADF, "only a ROM MapRegion",
		     "a lingering socket on DestroyVm");
	fd2 = raw_connect(srv.s_sock);
	send_hello(fd2, 1);
	CHECK(reply_ok(fd2), "another client is served meanwhile");
	close(fd2);
	close(fd);
	close(l);

	CHECK(client_connect(&cl, srv.s_sock) == 0, "connect");
	spec.bs_name = "linger";
	spec.bs_vcpus = 1;
	spec.bs_ram = 8 << 20;
	CHECK(test_boot(&cl, &b, &spec, "hello", err, sizeof(err)) == 0,
	      "boot: %s", err);
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0, "run");
	ex = next_exit(b.b_chans[0], 5000);
	CHECK(ex != NULL, "an exit to answer");
	if (ex)
		kvmmu__vcpu_exit__free_unpacked(ex, NULL);
	sock = linger_socket(&l);
	kill(srv.s_pid, SIGSTOP);
	CHECK(wire_send_buf(b.b_chans[0], junk, sizeof(junk), &sock, 1) == 0,
	      "answer with a lingering socket");
	close(sock);
	kill(srv.s_pid, SIGCONT);
	usleep(200000); /* the vCPU thread has read it */
	t0 = mono_ns() / 1e9;
	CHECK(client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM) == 0 &&
		      mono_ns() / 1e9 - t0 < 10,
	      "DestroyVm after that answer took %.1f s: %s",
	      mono_ns() / 1e9 - t0, cl.cl_err);
	close(l);
	boot_release(&b);
	client_close(&cl);
}

/* Limits per uid hold across connections, and GetStats reports them. */
static void test_uid_quota(void)
{
	const char *args[] = {"--uid-max-vms", "2", "--uid-max-ram-mib", "64",
			      NULL};
	struct client a, b;
	int fds[2][2], ram, chan;
	uint32_t vm[2], x;
	struct srv s2;

	CHECK(srv_start(&s2, args) == 0, "server with uid quotas");
	CHECK(client_connect(&a, s2.s_sock) == 0 &&
		      client_connect(&b, s2.s_sock) == 0,
	      "two connections, one uid");
	CHECK(client_create_vm(&a, "q1", 1, 16 << 20, NULL, &vm[0], &fds[0][0],
			       &fds[0][1]) == 0 &&
		      client_create_vm(&b, "q2", 1, 16 << 20, NULL, &vm[1],
				       &fds[1][0], &fds[1][1]) == 0,
	      "two VMs: %s", b.cl_err);
	CHECK(client_create_vm(&b, "q3", 1, 4 << 20, NULL, &x, &ram, &chan) ==
			      -EDQUOT &&
		      strstr(b.cl_err, "vms: uid 0 holds 2, +1 is over its "
				       "bound of 2 per uid"),
	      "third VM of the uid, on another connection: %s", b.cl_err);
	CHECK(vm_stat(&a, vm[0], "quota.uid_vms", NULL) == 2 &&
		      vm_stat(&a, vm[0], "quota.uid_ram_mib", NULL) == 32 &&
		      vm_stat(&a, vm[0], "quota.uid_vms_limit", NULL) == 2,
	      "GetStats reports the uid's usage and limits");
	CHECK(client_vm_op(&b, vm[1], KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroy one");
	CHECK(client_create_vm(&b, "q4", 1, 60 << 20, NULL, &x, &ram, &chan) ==
			      -EDQUOT &&
		      strstr(b.cl_err, "ram_mib: uid 0 holds 16, +60 is over "
				       "its bound of 64 per uid"),
	      "RAM over the uid's limit: %s", b.cl_err);
	wire_close_fds(&fds[0][0], 2);
	wire_close_fds(&fds[1][0], 2);
	client_close(&a);
	client_close(&b);
	CHECK(srv_stop(&s2) == 0, "quota server exits cleanly");
}

/*
 * A UUID names one VM (issue 23: a crashed kvmmu-virtd left a VM running,
 * and a second one with its name and UUID started): CreateVm with the
 * UUID of a VM that runs is refused with EEXIST, naming that VM, from any
 * connection and in either case, before anything is made; names alone
 * may repeat; once the first VM is gone its UUID may run again.
 */
static void test_uuid_unique(void)
{
	static const char u[] = "6b766d6d-7500-4a11-8000-0000000000a1";
	static const char caps[] = "6B766D6D-7500-4A11-8000-0000000000A1";
	struct client a, b;
	int ram[2], chan[2], xram, xchan;
	uint32_t vm[2], x;
	uint64_t created;

	printf("test_protocol: a second VM with a running VM's UUID\n");
	CHECK(client_connect(&a, srv.s_sock) == 0 &&
		      client_connect(&b, srv.s_sock) == 0,
	      "two connections");
	CHECK(client_create_vm_uuid(&a, "u1", u, 1, 4 << 20, NULL, &vm[0],
				    &ram[0], &chan[0]) == 0,
	      "a VM with UUID %s: %s", u, a.cl_err);
	created = vm_stat(&a, vm[0], "vms.created", NULL);
	CHECK(client_create_vm_uuid(&b, "u1", u, 1, 4 << 20, NULL, &x, &xram,
				    &xchan) == -EEXIST &&
		      strstr(b.cl_err, "CreateVm.uuid") &&
		      strstr(b.cl_err, "already VM") &&
		      strstr(b.cl_err, "'u1'"),
	      "same name and UUID, another connection: EEXIST: %s", b.cl_err);
	CHECK(client_create_vm_uuid(&a, "u2", caps, 1, 4 << 20, NULL, &x, &xram,
				    &xchan) == -EEXIST,
	      "the UUID in capitals, another name: EEXIST: %s", a.cl_err);
	CHECK(created != ~0ULL &&
		      vm_stat(&a, vm[0], "vms.created", NULL) == created,
	      "the refused VMs were never made");
	CHECK(client_create_vm_uuid(&b, "u1", NULL, 1, 4 << 20, NULL, &vm[1],
				    &ram[1], &chan[1]) == 0,
	      "the same name with a UUID of its own: made: %s", b.cl_err);
	CHECK(client_vm_op(&b, vm[1], KVMMU__REQUEST__BODY_DESTROY_VM) == 0 &&
		      client_vm_op(&a, vm[0],
				   KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "both destroyed");
	wire_close_fds(ram, 2);
	wire_close_fds(chan, 2);
	CHECK(client_create_vm_uuid(&b, "u1", u, 1, 4 << 20, NULL, &vm[1],
				    &ram[1], &chan[1]) == 0,
	      "once the first is gone, its UUID runs again: %s", b.cl_err);
	CHECK(client_vm_op(&b, vm[1], KVMMU__REQUEST__BODY_DESTROY_VM) == 0,
	      "destroyed");
	wire_close_fds(&ram[1], 1);
	wire_close_fds(&chan[1], 1);
	client_close(&a);
	client_close(&b);
}

int main(void)
{
	const char *args[] = {"--max-vms", "2", NULL};
	int base;

	require_kvm("test_protocol");
	CHECK(srv_start(&srv, args) == 0, "server start");
	base = proc_fd_count(srv.s_pid);
	test_frames();
	test_canonical();
	test_fd_abuse();
	test_memory_map();
	test_violations_disconnect();
	test_channel();
	test_uid_quota();
	test_uuid_unique();
	test_state_while_running();
	test_restart_after_stop();
	test_lingering_fds();
	usleep(100000); /* let the server see the last close */
	CHECK(proc_fd_count(srv.s_pid) == base, "fds back to %d: %d", base,
	      proc_fd_count(srv.s_pid));
	CHECK(srv_stop(&srv) == 0, "server exits cleanly (no leak)");
	return checks_report("test_protocol");
}
