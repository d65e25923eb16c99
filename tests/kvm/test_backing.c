/*
 * test_backing.c: guest RAM in huge pages on a default host (ram.h).
 * The core alone: a VM's RAM is mapped 2 MiB aligned and, backed "huge",
 * holds nothing at CreateVm, takes one 2 MiB page at the first touch of
 * a range and is all in 2 MiB pages after a touch of all, by the
 * kernel's own accounting (smaps of the mapping, and the file's blocks);
 * an invalidate of 4 KiB leaves it huge; a discard frees what it names,
 * a whole 2 MiB page (which a touch brings back whole) or part of one;
 * "4k" allocates nothing.  Then through a real server: a guest touching
 * its RAM runs on huge pages, the admin API's GetVm and GetHost say so,
 * a discarded range comes back huge; a VM may ask the other backing,
 * and <allocation mode='immediate'/> allocates it all at CreateVm; the
 * frontend's own mapping is 2 MiB aligned and maps 2 MiB pages.
 * hugetlbfs (libvirt's <hugepages>): refused with the counts where the
 * host reserved too few pages, used where it did (as root the test
 * reserves them, and gives them back), in the core and through a
 * domain file.
 * Where the host forbids huge pages (shmem_enabled=deny) the test checks
 * that the reason is given by name and the backing is 4k.
 * Trust: test code, run as root with /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin_client.h"
#include "boot.h"
#include "client.h"
#include "exits.h"
#include "harness.h"
#include "inval.h"
#include "ram.h"
#include "vm.h"

#define MB	   (1ULL << 20)
#define ADM(sd)	   (&kvmmu__admin__v1__##sd##__descriptor)
#define ALIGNED(p) (((uintptr_t)(p) & (RAM_HUGE_PAGE - 1)) == 0)

/* Bytes the memfd holds: what the kernel allocated to it. */
static uint64_t fd_bytes(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : ~0ULL;
}

static uint64_t huge_now(const void *p, int fd)
{
	struct ram_usage u;

	return ram_usage(p, fd, &u) == 0 ? u.ru_huge : ~0ULL;
}

static struct vm *core_vm(struct kvm_host *kh, const char *name, uint64_t ram)
{
	struct vm_spec vs = {
		.vs_name = name, .vs_nvcpus = 1, .vs_ram_bytes = ram};
	struct region r = {.r_kind = RK_RAM, .r_size = ram, .r_fd = -1};
	struct vm *vm = NULL;
	struct verr e = {0};
	int chan = -1;

	vs.vs_zap = (struct zap_policy){ZAP_ALL, 0, ALLONES_MMIO};
	snprintf(r.r_name, sizeof(r.r_name), "ram");
	CHECK(vm_create(kh, &vs, &vm, &chan, &e) == 0, "vm_create: %s", e.msg);
	if (chan >= 0)
		close(chan);
	CHECK(vm != NULL && vm_map_region(vm, &r, -1, &e) == 0, "map: %s",
	      e.msg);
	return vm;
}

static void test_core(struct kvm_host *kh)
{
	const uint64_t ram = 16 * MB;
	struct vm *vm;
	uint8_t *p;
	unsigned calls;
	struct verr e;
	bool same = true;

	ram_host_init(RAM_HUGE);
	vm = core_vm(kh, "huge", ram);
	if (vm == NULL)
		return;
	p = vm->vm_ram;
	CHECK(ALIGNED(p) && vm->vm_ram_backing == RAM_HUGE,
	      "RAM at %p, backing %s", (void *)p,
	      ram_backing_name(vm->vm_ram_backing));
	/* Nothing allocated nor mapped until touched. */
	CHECK(huge_now(p, vm->vm_ram_fd) == 0 && fd_bytes(vm->vm_ram_fd) == 0,
	      "nothing at create: %llu mapped, %llu allocated",
	      (unsigned long long)huge_now(p, vm->vm_ram_fd),
	      (unsigned long long)fd_bytes(vm->vm_ram_fd));
	/* One byte in a 2 MiB range takes the whole range, one 2 MiB page. */
	p[6 * MB + 4096] = 1;
	CHECK(fd_bytes(vm->vm_ram_fd) == 2 * MB &&
		      huge_now(p, vm->vm_ram_fd) == 2 * MB,
	      "a first touch takes one 2 MiB page: %llu allocated, %llu huge",
	      (unsigned long long)fd_bytes(vm->vm_ram_fd),
	      (unsigned long long)huge_now(p, vm->vm_ram_fd));
	/* A touch of every 4 KiB page, as a guest's would be. */
	for (uint64_t off = 0; off < ram; off += 4096)
		p[off] = (uint8_t)(off >> 12);
	CHECK(huge_now(p, vm->vm_ram_fd) == ram &&
		      fd_bytes(vm->vm_ram_fd) == ram,
	      "all huge after a touch: %llu",
	      (unsigned long long)huge_now(p, vm->vm_ram_fd));

	/* Invalidate 4 KiB: data kept, and the 2 MiB page maps whole again. */
	CHECK(inval_now(vm, 4 * MB + 8192, 4096, false, &calls, &e) == 0,
	      "invalidate: %s", e.msg);
	for (uint64_t off = 0; off < ram; off += 4096)
		same = same && p[off] == (uint8_t)(off >> 12);
	CHECK(same && huge_now(p, vm->vm_ram_fd) == ram &&
		      fd_bytes(vm->vm_ram_fd) == ram,
	      "invalidate kept data and huge pages: %llu mapped",
	      (unsigned long long)huge_now(p, vm->vm_ram_fd));

	/* Discard a whole 2 MiB page: freed, not split. */
	CHECK(inval_now(vm, 2 * MB, 2 * MB, true, &calls, &e) == 0,
	      "discard: %s", e.msg);
	CHECK(fd_bytes(vm->vm_ram_fd) == ram - 2 * MB &&
		      huge_now(p, vm->vm_ram_fd) == ram - 2 * MB,
	      "2 MiB discard freed 2 MiB: %llu allocated, %llu huge",
	      (unsigned long long)fd_bytes(vm->vm_ram_fd),
	      (unsigned long long)huge_now(p, vm->vm_ram_fd));
	/* Touched again: zero, and one 2 MiB page again. */
	CHECK(p[2 * MB + 4096] == 0 && fd_bytes(vm->vm_ram_fd) == ram &&
		      huge_now(p, vm->vm_ram_fd) == ram,
	      "a discarded range comes back huge: %llu allocated, %llu huge",
	      (unsigned long long)fd_bytes(vm->vm_ram_fd),
	      (unsigned long long)huge_now(p, vm->vm_ram_fd));
	/* Part of one: those 64 KiB zero and freed, the rest kept. */
	CHECK(inval_now(vm, 8 * MB + 64 * 1024, 64 * 1024, true, &calls, &e) ==
		      0,
	      "discard: %s", e.msg);
	/*
	 * The kernel splits the 2 MiB page to free the part: all of it on
	 * 6.18 here, 60 KiB of 64 in one run (a split into mixed orders);
	 * freed at all, and zero, is the contract.
	 */
	CHECK(fd_bytes(vm->vm_ram_fd) <= ram - 64 * 1024 &&
		      p[8 * MB + 64 * 1024] == 0 &&
		      p[8 * MB + 128 * 1024] ==
			      (uint8_t)((8 * MB + 128 * 1024) >> 12),
	      "64 KiB discard: %llu allocated",
	      (unsigned long long)fd_bytes(vm->vm_ram_fd));
	vm_destroy(vm);

	ram_host_init(RAM_4K);
	vm = core_vm(kh, "small", ram);
	if (vm == NULL)
		return;
	CHECK(ALIGNED(vm->vm_ram) && vm->vm_ram_backing == RAM_4K &&
		      fd_bytes(vm->vm_ram_fd) == 0,
	      "4k: nothing allocated at create: %llu",
	      (unsigned long long)fd_bytes(vm->vm_ram_fd));
	vm_destroy(vm);
}

#define HP_DIR "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long hp_read(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), HP_DIR "%s", name);
	f = fopen(path, "re");
	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool hp_reserve(long n)
{
	FILE *f = fopen(HP_DIR "nr_hugepages", "we");

	if (f == NULL)
		return false;
	fprintf(f, "%ld\n", n);
	return fclose(f) == 0 && hp_read("nr_hugepages") >= n;
}

/*
 * hugetlbfs (libvirt's <hugepages>): refused with the counts where too
 * few 2 MiB pages are free, used where reserved (root reserves them
 * here, and gives them back), and a discard gives one back to the pool.
 */
static void test_hugetlb(struct kvm_host *kh)
{
	const uint64_t ram = 16 * MB;
	struct vm_spec vs = {.vs_name = "hugetlb",
			     .vs_nvcpus = 1,
			     .vs_ram_bytes = ram,
			     .vs_hugetlb_kib = 2048};
	struct region r = {.r_kind = RK_RAM, .r_size = ram, .r_fd = -1};
	long nr0 = hp_read("nr_hugepages"), free0;
	struct vm *vm = NULL;
	struct verr e = {0};
	unsigned calls;
	int chan = -1;

	if (nr0 < 0 || getuid() != 0) {
		printf("test_backing: no 2 MiB hugetlbfs pages to reserve: "
		       "hugetlb not tested\n");
		return;
	}
	vs.vs_zap = (struct zap_policy){ZAP_ALL, 0, ALLONES_MMIO};
	snprintf(r.r_name, sizeof(r.r_name), "ram");
	if (hp_read("free_hugepages") - hp_read("resv_hugepages") < 8) {
		CHECK(vm_create(kh, &vs, &vm, &chan, &e) == -ENOMEM &&
			      strstr(e.msg, "free") != NULL &&
			      strstr(e.msg, "8 needed") != NULL,
		      "hugetlb refused with the counts: %s", e.msg);
		printf("test_backing: refused: %s\n", e.msg);
	}
	if (!hp_reserve(nr0 + 8)) {
		printf("test_backing: could not reserve 8 pages of 2 MiB\n");
		hp_reserve(nr0);
		return;
	}
	free0 = hp_read("free_hugepages");
	CHECK(vm_create(kh, &vs, &vm, &chan, &e) == 0 &&
		      vm->vm_ram_backing == RAM_HUGETLB_2M,
	      "hugetlb used where reserved: %s", e.msg);
	if (vm != NULL) {
		if (chan >= 0)
			close(chan);
		CHECK(vm_map_region(vm, &r, -1, &e) == 0, "map: %s", e.msg);
		memset(vm->vm_ram, 1, ram);
		CHECK(huge_now(vm->vm_ram, vm->vm_ram_fd) == ram &&
			      hp_read("free_hugepages") == free0 - 8,
		      "touched: %llu bytes in hugetlb pages, %ld free",
		      (unsigned long long)huge_now(vm->vm_ram, vm->vm_ram_fd),
		      hp_read("free_hugepages"));
		CHECK(inval_now(vm, 4 * MB, 2 * MB, true, &calls, &e) == 0 &&
			      hp_read("free_hugepages") == free0 - 7 &&
			      ((uint8_t *)vm->vm_ram)[4 * MB] == 0,
		      "a 2 MiB discard gives a page back: %ld free (%s)",
		      hp_read("free_hugepages"), e.msg);
		CHECK(inval_now(vm, 8 * MB + 4096, 4096, false, &calls, &e) ==
				      0 &&
			      ((uint8_t *)vm->vm_ram)[8 * MB + 4096] == 1,
		      "a 4 KiB invalidate keeps the data: %s", e.msg);
		vm_destroy(vm);
	}
	CHECK(hp_reserve(nr0) || hp_read("nr_hugepages") >= nr0,
	      "pool back to %ld", nr0);
	/* 1 GiB pages: refused by name where none are free (never reserved). */
	vs.vs_hugetlb_kib = 1048576;
	vs.vs_ram_bytes = 1ULL << 30;
	vm = NULL;
	if (vm_create(kh, &vs, &vm, &chan, &e) == 0) {
		printf("test_backing: 1 GiB pages were free: used\n");
		close(chan);
		vm_destroy(vm);
	} else {
		CHECK(strstr(e.msg, "1048576 KiB huge pages") != NULL,
		      "1 GiB pages refused by name: %s", e.msg);
		printf("test_backing: refused: %s\n", e.msg);
	}
}

/* Runs the frontend on a domain file: its exit status, output in out. */
static int run_domain(const char *sock, const char *xml, char *out, size_t len)
{
	char path[64], cmd[512];
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "/tmp/kvmmu-backing-%d.xml",
		 (int)getpid());
	f = fopen(path, "we");
	if (f == NULL || fputs(xml, f) < 0 || fclose(f) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s --socket %s --domain-xml %s 2>&1",
		 bin_path("vmm-frontend"), sock, path);
	f = popen(cmd, "re");
	if (f == NULL)
		return -1;
	while (n + 1 < len && fgets(out + n, (int)(len - n), f) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(f);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * libvirt's <memoryBacking><hugepages> through the frontend: refused at
 * start with the counts where the pages are not reserved, run where
 * they are (root reserves them, and gives them back).
 */
static void test_domain_hugetlb(const char *sock)
{
	char xml[1024], out[4096];
	long nr0 = hp_read("nr_hugepages");
	int st;

	if (nr0 < 0 || getuid() != 0)
		return;
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>hp</name>"
		 "<memory unit='MiB'>64</memory><memoryBacking><hugepages>"
		 "<page size='2' unit='M'/></hugepages><nosharepages/>"
		 "</memoryBacking><os><type arch='x86_64'>hvm</type>"
		 "<kernel>%s</kernel><cmdline>passes=2</cmdline></os>"
		 "<devices/></domain>",
		 guest_path("memtouch"));
	if (hp_read("free_hugepages") - hp_read("resv_hugepages") < 32) {
		st = run_domain(sock, xml, out, sizeof(out));
		CHECK(st == 1 && strstr(out, "32 needed") != NULL &&
			      strstr(out, "nr_hugepages") != NULL,
		      "a hugepages domain is refused with the counts: %d %s",
		      st, out);
	}
	CHECK(hp_reserve(nr0 + 32), "reserve 32 pages of 2 MiB");
	st = run_domain(sock, xml, out, sizeof(out));
	CHECK(st == 0 && strstr(out, "in 2048 KiB hugetlbfs pages") != NULL,
	      "a hugepages domain runs where they are reserved: %d %s", st,
	      out);
	CHECK(hp_reserve(nr0) || hp_read("nr_hugepages") >= nr0,
	      "pool back to %ld", nr0);
}

/* Serves a guest's exits until its channel closes. */
static void *server_thread(void *arg)
{
	struct boot *b = arg;
	struct served sv = {0};

	while (serve_vcpu(b->b_chans[0], 100, &sv) != -EPIPE)
		;
	return NULL;
}

static Kvmmu__Admin__V1__GetVmReply *get_vm(struct admin_client *ac,
					    uint32_t id)
{
	Kvmmu__Admin__V1__GetVmRequest q =
		KVMMU__ADMIN__V1__GET_VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef r = KVMMU__ADMIN__V1__VM_REF__INIT;
	ProtobufCMessage *rep = NULL;

	r.has_id = 1;
	r.id = id;
	q.vm = &r;
	if (admin_call(ac, ADM(admin), "GetVm", &q.base, &rep) != 0)
		return NULL;
	return (Kvmmu__Admin__V1__GetVmReply *)rep;
}

/*
 * CreateVm.ram_backing: a VM backed otherwise than the server's default
 * gets what it asked for (neither allocates before the guest touches).
 */
static void test_per_vm(struct client *cl, struct admin_client *ac,
			const char *backing, const char *expect)
{
	struct client_ram now = {0, backing, true};
	Kvmmu__Admin__V1__GetVmReply *g;
	int ram = -1, chan = -1, ram2 = -1, chan2 = -1;
	uint32_t id = 0;

	CHECK(client_create_vm_pages(cl, "per-vm", NULL, 1, 8 * MB, NULL, NULL,
				     0, backing, &id, &ram, &chan) == 0,
	      "CreateVm.ram_backing %s: %s", backing, cl->cl_err);
	g = id ? get_vm(ac, id) : NULL;
	CHECK(g != NULL && strcmp(g->vm->ram_backing, expect) == 0 &&
		      g->vm->ram_allocated_bytes == 0,
	      "per VM: asked %s, got %s, %llu allocated", backing,
	      g ? g->vm->ram_backing : "?",
	      g ? (unsigned long long)g->vm->ram_allocated_bytes : 0ULL);
	if (g != NULL)
		protobuf_c_message_free_unpacked(&g->base, NULL);
	/* <allocation mode='immediate'/>: all of it at CreateVm. */
	CHECK(client_create_vm_ram(cl, "immediate", NULL, 1, 8 * MB, NULL, NULL,
				   &now, &id, &ram2, &chan2) == 0,
	      "CreateVm.ram_immediate: %s", cl->cl_err);
	g = id ? get_vm(ac, id) : NULL;
	CHECK(g != NULL && strcmp(g->vm->ram_backing, expect) == 0 &&
		      g->vm->ram_allocated_bytes == 8 * MB,
	      "immediate: %s, %llu allocated", g ? g->vm->ram_backing : "?",
	      g ? (unsigned long long)g->vm->ram_allocated_bytes : 0ULL);
	if (g != NULL)
		protobuf_c_message_free_unpacked(&g->base, NULL);
	if (ram2 >= 0)
		close(ram2);
	if (chan2 >= 0)
		close(chan2);
	CHECK(client_create_vm_pages(cl, "bad", NULL, 1, 8 * MB, NULL, NULL, 0,
				     "1g", &id, &ram, &chan) < 0 &&
		      strstr(cl->cl_err, "CreateVm.ram_backing") != NULL,
	      "a bad backing is refused by name: %s", cl->cl_err);
	if (ram >= 0)
		close(ram);
	if (chan >= 0)
		close(chan);
}

/* Whether a unix socket at path accepts a connection. */
static bool listening(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0 || strlen(path) >= sizeof(sun.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/*
 * What a frontend can do with a RAM fd that is not sealed (ram.c): grow
 * the file, but never allocate past its VM's RAM (the tmpfs's size=);
 * shrink it, which stops its own VM's vCPU with an error and nothing
 * else: the server answers and the VM beside it (b) runs on.
 */
static uint64_t vcpu0_exits(struct client *cl, uint32_t vm)
{
	Kvmmu__Reply *rep;
	uint64_t v = ~0ULL;

	if (client_get_stats(cl, vm, &rep) < 0)
		return v;
	stats_find(rep->stats, 0, "exits", &v);
	client_free_reply(rep);
	return v;
}

/* exits.h handler: the reason of the first exit that is not port I/O. */
static bool first_stop(void *arg, const Kvmmu__VcpuExit *ex, uint8_t *data,
		       size_t cap, size_t *len)
{
	*len = 0;
	if (ex->reason == KVMMU__EXIT_REASON__EXIT_IO && ex->io != NULL) {
		/* Reads: the UART says ready (0x60), anything else 0. */
		if (!ex->io->out) {
			*len = (size_t)ex->io->size * ex->io->count;
			if (*len > cap)
				return true;
			memset(data, 0x60, *len);
		}
		return false;
	}
	*(int *)arg = (int)ex->reason;
	return true;
}

static void test_unsealed(struct client *cl, const struct boot *b, uint64_t ram)
{
	struct boot_spec bs = {.bs_name = "shrunk",
			       .bs_vcpus = 1,
			       .bs_ram = 8 * MB,
			       .bs_cmdline = "passes=100000000"};
	struct pollfd pfd;
	char err[300] = "";
	int why = 0, r = 0;
	struct boot b2;
	uint64_t before, after;

	CHECK(ftruncate(b->b_ram_fd, (off_t)(2 * ram)) == 0 &&
		      fallocate(b->b_ram_fd, 0, (off_t)ram, (off_t)ram) < 0 &&
		      errno == ENOSPC,
	      "a grown RAM file allocates nothing past the VM's RAM");
	CHECK(test_boot(cl, &b2, &bs, "memtouch", err, sizeof(err)) == 0 &&
		      client_vm_op(cl, b2.b_vm, KVMMU__REQUEST__BODY_RUN) == 0,
	      "second guest: %s", err);
	usleep(200000);
	before = vcpu0_exits(cl, b->b_vm);
	CHECK(ftruncate(b2.b_ram_fd, 0) == 0, "shrink: %s", strerror(errno));
	/* Its vCPU stops: an exit that memtouch never makes. */
	pfd = (struct pollfd){.fd = b2.b_chans[0], .events = POLLIN};
	while (r == 0 && poll(&pfd, 1, 20000) == 1)
		r = exit_serve(b2.b_chans[0], -1, first_stop, &why);
	CHECK(why == KVMMU__EXIT_REASON__EXIT_INTERNAL_ERROR ||
		      why == KVMMU__EXIT_REASON__EXIT_SHUTDOWN,
	      "the shrunk VM's vCPU stopped (exit reason %d)", why);
	printf("test_backing: a shrunk RAM file stopped its vCPU with exit "
	       "reason %d\n",
	       why);
	usleep(200000);
	after = vcpu0_exits(cl, b->b_vm);
	CHECK(before != ~0ULL && after != ~0ULL && after > before,
	      "the other VM runs on: %llu exits, %llu before",
	      (unsigned long long)after, (unsigned long long)before);
	client_vm_op(cl, b2.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM);
	boot_release(&b2);
}

/* A server backing RAM as backing says; a memtouch guest on it. */
static void test_server(const char *backing)
{
	char sock[160], target[200], err[300];
	const char *args[] = {"--admin-socket", sock, "--ram-backing", backing,
			      NULL};
	bool huge = strcmp(backing, "huge") == 0;
	const uint64_t ram = 32 * MB;
	struct boot_spec bs = {.bs_name = "backing",
			       .bs_vcpus = 1,
			       .bs_ram = ram,
			       .bs_cmdline = "passes=100000000"};
	Kvmmu__Admin__V1__GetHostRequest hq =
		KVMMU__ADMIN__V1__GET_HOST_REQUEST__INIT;
	Kvmmu__Admin__V1__InvalidateRequest iq =
		KVMMU__ADMIN__V1__INVALIDATE_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef ref = KVMMU__ADMIN__V1__VM_REF__INIT;
	Kvmmu__Admin__V1__GetHostReply *h = NULL;
	Kvmmu__Admin__V1__GetVmReply *g;
	ProtobufCMessage *rep = NULL;
	struct admin_client ac;
	uint64_t before;
	struct client cl;
	struct boot b;
	struct srv srv;
	pthread_t t;

	snprintf(sock, sizeof(sock), "/tmp/kvmmu-backing-%d-%s.sock",
		 (int)getpid(), backing);
	unlink(sock);
	CHECK(srv_start(&srv, args) == 0, "server start");
	/*
	 * The admin socket comes after the control socket, slowly in TCG,
	 * and exists (bound) a moment before it listens: wait for a connect.
	 */
	for (int i = 0; i < 200 && !listening(sock); i++)
		usleep(50000);
	snprintf(target, sizeof(target), "unix:%s", sock);
	CHECK(admin_client_open(&ac, target, 5000) == 0, "channel");
	CHECK(admin_call(&ac, ADM(admin), "GetHost", &hq.base,
			 (ProtobufCMessage **)&h) == 0 &&
		      strcmp(h->ram_backing, backing) == 0 &&
		      strcmp(h->ram_backing_asked, backing) == 0,
	      "GetHost: %s", h ? h->ram_backing_why : ac.ac_msg);
	if (h != NULL)
		protobuf_c_message_free_unpacked(&h->base, NULL);

	CHECK(client_connect(&cl, srv.s_sock) == 0 &&
		      test_boot(&cl, &b, &bs, "memtouch", err, sizeof(err)) ==
			      0 &&
		      client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_RUN) == 0,
	      "guest: %s", err);
	pthread_create(&t, NULL, server_thread, &b);
	usleep(500000); /* memtouch writes every page of its RAM, over and over
			 */
	/* The frontend's mapping (this process's, here) is 2 MiB aligned. */
	CHECK(ALIGNED(b.b_ram), "frontend's RAM at %p", (void *)b.b_ram);
	if (huge)
		CHECK(huge_now(b.b_ram, b.b_ram_fd) > 0 &&
			      huge_now(b.b_ram, b.b_ram_fd) != ~0ULL,
		      "the frontend maps 2 MiB pages: %llu bytes",
		      (unsigned long long)huge_now(b.b_ram, b.b_ram_fd));

	/*
	 * memtouch writes all its RAM over and over: what it touched is
	 * mapped 2 MiB at a time (huge), or not at all (4k on a host whose
	 * shmem_enabled is "never": the test's default host).
	 */
	/* Under TCG the guest takes seconds to touch half its RAM. */
	for (int i = 0;; i++) {
		g = get_vm(&ac, b.b_vm);
		if (g == NULL || g->vm->ram_resident_bytes >= ram / 2 ||
		    i == 300)
			break;
		protobuf_c_message_free_unpacked(&g->base, NULL);
		usleep(100000);
	}
	CHECK(g != NULL && g->vm->ram_backing != NULL &&
		      strcmp(g->vm->ram_backing, backing) == 0 &&
		      g->vm->has_ram_huge_bytes &&
		      g->vm->ram_resident_bytes >= ram / 2 &&
		      (huge ? g->vm->ram_allocated_bytes >=
					       g->vm->ram_resident_bytes &&
				       g->vm->ram_huge_bytes ==
					       g->vm->ram_resident_bytes
			    : g->vm->ram_allocated_bytes < ram),
	      "GetVm: backing %s, %llu allocated, %llu touched, %llu huge",
	      g ? g->vm->ram_backing : "?",
	      g ? (unsigned long long)g->vm->ram_allocated_bytes : 0ULL,
	      g ? (unsigned long long)g->vm->ram_resident_bytes : 0ULL,
	      g ? (unsigned long long)g->vm->ram_huge_bytes : 0ULL);
	before = g != NULL ? g->vm->ram_huge_bytes : 0;
	if (g != NULL)
		protobuf_c_message_free_unpacked(&g->base, NULL);

	/*
	 * Discard 2 MiB through the admin API (the core test proves what it
	 * frees): what the guest writes there again comes back as one 2 MiB
	 * page, so all it touches stays mapped huge, within its RAM.
	 */
	ref.has_id = 1;
	ref.id = b.b_vm;
	iq.vm = &ref;
	iq.has_gpa = iq.has_size = iq.has_discard = 1;
	iq.gpa = 8 * MB;
	iq.size = 2 * MB;
	iq.discard = 1;
	CHECK(admin_call(&ac, ADM(admin), "Invalidate", &iq.base, &rep) == 0,
	      "Invalidate: %s", ac.ac_msg);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(rep, NULL);
	usleep(300000);
	g = get_vm(&ac, b.b_vm);
	if (huge)
		CHECK(g != NULL && g->vm->ram_allocated_bytes <= ram &&
			      g->vm->ram_huge_bytes ==
				      g->vm->ram_resident_bytes,
		      "after a 2 MiB discard: %llu huge of %llu touched, "
		      "%llu before",
		      g ? (unsigned long long)g->vm->ram_huge_bytes : 0ULL,
		      g ? (unsigned long long)g->vm->ram_resident_bytes : 0ULL,
		      (unsigned long long)before);
	if (g != NULL)
		protobuf_c_message_free_unpacked(&g->base, NULL);

	if (huge)
		test_unsealed(&cl, &b, ram);
	test_per_vm(&cl, &ac, huge ? "4k" : "huge", huge ? "4k" : "huge");
	admin_client_close(&ac);
	client_vm_op(&cl, b.b_vm, KVMMU__REQUEST__BODY_DESTROY_VM);
	if (huge)
		test_domain_hugetlb(srv.s_sock);
	pthread_join(t, NULL);
	boot_release(&b);
	client_close(&cl);
	CHECK(srv_stop(&srv) == 0, "server stop");
	unlink(sock);
}

/* In a child: denies fsopen and unshare (EPERM), as a unit's
 * RestrictNamespaces= and no CAP_SYS_ADMIN do.  0, or -1. */
static int deny_mounts(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fsopen, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/*
 * The unprivileged uid: not 65534, which is also the overflow uid that a
 * process reads as its own in a new user namespace before its maps
 * exist; a map written from that (a bug once) would pass as 65534.
 */
#define UNPRIV 4242

/*
 * The server's two ways to its tmpfs and its fallback, each in a child
 * (they change its credentials or filters for good): as an unprivileged
 * user (the systemd unit's) through a user namespace, huge; with mounts
 * and user namespaces denied, 4k and the reason named.
 */
static void test_unprivileged(void)
{
	for (int denied = 0; denied < 2; denied++) {
		int p[2], st = -1;
		char why[200] = "";
		ssize_t n = -1;
		pid_t pid;

		CHECK(pipe(p) == 0, "pipe");
		pid = fork();
		if (pid == 0) {
			const struct ram_host *h;
			bool ok;

			close(p[0]);
			if (denied ? deny_mounts() < 0
				   : setgroups(0, NULL) < 0 ||
					     setresgid(UNPRIV, UNPRIV, UNPRIV) <
						     0 ||
					     setresuid(UNPRIV, UNPRIV, UNPRIV) <
						     0)
				_exit(2);
			h = ram_host_init(RAM_HUGE);
			ok = denied ? h->rh_have == RAM_4K &&
					      strstr(h->rh_why,
						     "user namespace") != NULL
				    : h->rh_have == RAM_HUGE;
			(void)!write(p[1], h->rh_why, strlen(h->rh_why));
			_exit(ok ? 0 : 1);
		}
		close(p[1]);
		if (pid > 0) {
			n = read(p[0], why, sizeof(why) - 1);
			waitpid(pid, &st, 0);
		}
		close(p[0]);
		why[n > 0 ? n : 0] = '\0';
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s",
		      denied ? "mounts and user namespaces denied"
			     : "as uid 4242",
		      why);
	}
}

int main(void)
{
	const struct ram_host *h;
	struct kvm_host kh;

	require_kvm("test_backing");
	h = ram_host_init(RAM_HUGE);
	printf("test_backing: %s\n", h->rh_why);
	if (strcmp(h->rh_shmem, "deny") == 0) {
		CHECK(h->rh_have == RAM_4K &&
			      strstr(h->rh_why, "shmem_enabled=deny") != NULL,
		      "deny named: %s", h->rh_why);
		printf("SKIP test_backing: the host denies huge pages in "
		       "shared memory\n");
		return checks_failed ? 1 : 77;
	}
	CHECK(h->rh_have == RAM_HUGE,
	      "a tmpfs of our own gives 2 MiB pages: %s", h->rh_why);
	vcpu_signals_init();
	CHECK(kvm_host_open(&kh, "/dev/kvm") == 0, "KVM");
	test_core(&kh);
	test_unprivileged();
	test_hugetlb(&kh);
	kvm_host_close(&kh);
	test_server("huge");
	test_server("4k");
	return checks_report("test_backing");
}
