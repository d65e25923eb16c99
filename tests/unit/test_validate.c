/*
 * test_validate.c: every request type's bad forms are refused by
 * validate.c with the right errno and a message naming the field, and the
 * good forms pass.  Also the memory-map checks of memmap.c, and
 * text.c's printable UTF-8, which DestroyVm.reason must be.
 * Trust: test code; no KVM needed.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "memmap.h"
#include "protocol.h"
#include "text.h"
#include "validate.h"

static const struct limits lim = {
	.max_vcpus = 8,
	.max_ram_bytes = 1ULL << 30,
	.phys_bits = 40,
};

/* Expects code (0 = accepted) and, on error, field in the message. */
static void expect(const Kvmmu__Request *req, int code, const char *field,
		   const char *what)
{
	struct verr e = {0};
	int r = validate_request(req, &lim, &e);

	if (code == 0) {
		CHECK(r == 0, "%s: refused: %s", what, e.msg);
		return;
	}
	CHECK(r == -code && e.code == code, "%s: got %d (%s), want %d", what, r,
	      e.msg, -code);
	CHECK(strstr(e.msg, field) != NULL, "%s: message '%s' lacks '%s'", what,
	      e.msg, field);
}

static Kvmmu__Request envelope(void)
{
	Kvmmu__Request req = KVMMU__REQUEST__INIT;

	req.has_version = req.has_id = 1;
	req.version = KVMMU_PROTOCOL_VERSION;
	req.id = 7;
	return req;
}

static void test_envelope(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__Hello h = KVMMU__HELLO__INIT;

	expect(&req, EINVAL, "Request.body", "no body");
	/* A body case with no row in requests.h never reaches a handler. */
	req.body_case = (Kvmmu__Request__BodyCase)29;
	req.hello = &h;
	expect(&req, EINVAL, "Request.body", "a body case without a row");
	req.body_case = (Kvmmu__Request__BodyCase)1000;
	expect(&req, EINVAL, "Request.body", "a body case past the table");
	req.body_case = KVMMU__REQUEST__BODY_HELLO;
	req.hello = &h;
	expect(&req, EINVAL, "Hello.version", "hello without version");
	h.has_version = 1;
	h.version = 99; /* checked by the handler, which names both sides */
	expect(&req, 0, NULL, "hello with a version");
	req.has_version = 0;
	expect(&req, EINVAL, "Request.version", "no envelope version");
	req.has_version = 1;
	req.version = 2;
	expect(&req, EPROTO, "Request.version", "wrong envelope version");
	req.version = KVMMU_PROTOCOL_VERSION;
	req.has_id = 0;
	expect(&req, EINVAL, "Request.id", "no id");
}

/* CreateVm.machine on an otherwise good CreateVm. */
static void test_machine(Kvmmu__Request *req, Kvmmu__CreateVm *m)
{
	Kvmmu__Machine mc = KVMMU__MACHINE__INIT;

	m->machine = &mc;
	expect(req, 0, NULL, "empty machine");
	mc.has_pit = mc.pit = 1;
	expect(req, EINVAL, "CreateVm.machine.pit", "PIT without irqchip");
	mc.has_irqchip = mc.irqchip = 1;
	expect(req, 0, NULL, "irqchip and PIT");
	mc.has_tss_addr = 1;
	mc.tss_addr = 0;
	expect(req, EINVAL, "CreateVm.machine.tss_addr", "TSS at 0");
	mc.tss_addr = 0xfffbd001;
	expect(req, EINVAL, "CreateVm.machine.tss_addr", "unaligned TSS");
	mc.tss_addr = 0xffffe000;
	expect(req, EINVAL, "CreateVm.machine.tss_addr", "TSS past 4 GiB");
	mc.tss_addr = 0xfffbd000;
	expect(req, 0, NULL, "TSS below 4 GiB");
	mc.has_identity_map_addr = 1;
	mc.identity_map_addr = 0xfffbe000;
	expect(req, EINVAL, "CreateVm.machine.identity_map_addr",
	       "identity map inside the TSS");
	mc.identity_map_addr = 0xfffff800;
	expect(req, EINVAL, "CreateVm.machine.identity_map_addr",
	       "unaligned identity map");
	mc.identity_map_addr = 0xfeffc000;
	expect(req, 0, NULL, "a whole machine");
	m->machine = NULL;
}

static void test_cpuid_irqfd(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__SetCpuid m = KVMMU__SET_CPUID__INIT;
	Kvmmu__CpuidMask c[CPUID_MASKS_MAX + 1], *cp[CPUID_MASKS_MAX + 1];
	Kvmmu__Irqfd q = KVMMU__IRQFD__INIT;

	req.body_case = KVMMU__REQUEST__BODY_SET_CPUID;
	req.set_cpuid = &m;
	expect(&req, EINVAL, "SetCpuid.vm_id", "SetCpuid without vm_id");
	m.has_vm_id = 1;
	expect(&req, EINVAL, "SetCpuid.masks", "no masks");
	for (int i = 0; i <= CPUID_MASKS_MAX; i++) {
		kvmmu__cpuid_mask__init(&c[i]);
		c[i].has_function = 1;
		c[i].function = (uint32_t)i;
		cp[i] = &c[i];
	}
	m.masks = cp;
	m.n_masks = CPUID_MASKS_MAX + 1;
	expect(&req, EINVAL, "SetCpuid.masks", "too many masks");
	m.n_masks = 2;
	c[1].has_function = 0;
	expect(&req, EINVAL, "SetCpuid.masks[1].function", "no function");
	c[1].has_function = 1;
	c[1].function = 0;
	expect(&req, EINVAL, "SetCpuid.masks[1]", "a leaf twice");
	c[1].has_index = 1;
	c[1].index = 1;
	expect(&req, 0, NULL, "good SetCpuid");

	req.body_case = KVMMU__REQUEST__BODY_IRQFD;
	req.irqfd = &q;
	expect(&req, EINVAL, "Irqfd.vm_id", "Irqfd without vm_id");
	q.has_vm_id = 1;
	expect(&req, EINVAL, "Irqfd.gsi", "no gsi");
	q.has_gsi = 1;
	q.gsi = MSI_GSI_LAST + 1;
	expect(&req, EINVAL, "Irqfd.gsi", "gsi past KVM's routes");
	q.gsi = IRQ_GSI_MAX + 1;
	q.has_resample = q.resample = 1;
	expect(&req, EINVAL, "Irqfd.resample", "resample on an MSI route");
	q.resample = 0;
	expect(&req, 0, NULL, "Irqfd on an MSI route");
	q.gsi = 4;
	q.resample = 1;
	expect(&req, 0, NULL, "good Irqfd");
}

static void test_ioeventfd(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__Ioeventfd m = KVMMU__IOEVENTFD__INIT;
	Kvmmu__Doorbell d = KVMMU__DOORBELL__INIT;

	req.body_case = KVMMU__REQUEST__BODY_IOEVENTFD;
	req.ioeventfd = &m;
	expect(&req, EINVAL, "Ioeventfd.vm_id", "no vm_id");
	m.has_vm_id = 1;
	expect(&req, EINVAL, "Ioeventfd.doorbell", "no doorbell");
	m.doorbell = &d;
	expect(&req, EINVAL, "Ioeventfd.doorbell.addr/len", "no addr");
	d.has_addr = d.has_len = 1;
	d.addr = 0xe0001000;
	d.len = 3;
	expect(&req, EINVAL, "Ioeventfd.doorbell.len", "len 3");
	d.len = 0;
	expect(&req, 0, NULL, "len 0: any width");
	d.has_datamatch = 1;
	expect(&req, EINVAL, "Ioeventfd.doorbell.datamatch",
	       "datamatch, len 0");
	d.len = 2;
	d.datamatch = 0x10000;
	expect(&req, EINVAL, "Ioeventfd.doorbell.datamatch", "wider than len");
	d.datamatch = 0xffff;
	expect(&req, 0, NULL, "datamatch in 2 bytes");
	d.addr = (1ULL << lim.phys_bits) - 1;
	expect(&req, EINVAL, "Ioeventfd.doorbell.addr", "past phys_bits");
	d.has_pio = d.pio = 1;
	d.addr = 0xffff;
	expect(&req, EINVAL, "Ioeventfd.doorbell.addr", "port past 0xffff");
	d.addr = 0x600;
	d.len = 8;
	d.has_datamatch = 0;
	expect(&req, EINVAL, "Ioeventfd.doorbell.len", "an 8-byte port");
	d.len = 4;
	expect(&req, 0, NULL, "a port doorbell");
}

static void test_tx_doorbells(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__Transaction m = KVMMU__TRANSACTION__INIT;
	Kvmmu__Doorbell d = KVMMU__DOORBELL__INIT;
	Kvmmu__DoorbellChange c[TX_MAX_DOORBELLS + 1],
		*cp[TX_MAX_DOORBELLS + 1];

	req.body_case = KVMMU__REQUEST__BODY_TRANSACTION;
	req.transaction = &m;
	m.has_vm_id = 1;
	for (int i = 0; i <= TX_MAX_DOORBELLS; i++) {
		kvmmu__doorbell_change__init(&c[i]);
		c[i].doorbell = &d;
		cp[i] = &c[i];
	}
	m.doorbells = cp;
	m.n_doorbells = TX_MAX_DOORBELLS + 1;
	expect(&req, E2BIG, "Transaction.doorbells", "too many doorbells");
	m.n_doorbells = 1;
	c[0].doorbell = NULL;
	expect(&req, EINVAL, "Transaction.doorbells[0]", "no doorbell");
	c[0].doorbell = &d;
	expect(&req, EINVAL, "Transaction.doorbells[0].addr/len", "no addr");
	d.has_addr = d.has_len = 1;
	d.addr = 0xe0001000;
	d.len = 4;
	expect(&req, 0, NULL, "a doorbell removed");
	c[0].has_new_addr = 1;
	c[0].new_addr = 1ULL << lim.phys_bits;
	expect(&req, EINVAL, "Transaction.doorbells[0].new_addr",
	       "moved past phys_bits");
	c[0].new_addr = 0xe0101000;
	expect(&req, 0, NULL, "a doorbell moved");
}

static void test_msi(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__MsiRoute m = KVMMU__MSI_ROUTE__INIT;
	Kvmmu__MaskIrqfd k = KVMMU__MASK_IRQFD__INIT;
	Kvmmu__SignalMsi s = KVMMU__SIGNAL_MSI__INIT;

	req.body_case = KVMMU__REQUEST__BODY_MSI_ROUTE;
	req.msi_route = &m;
	expect(&req, EINVAL, "MsiRoute.vm_id", "no vm_id");
	m.has_vm_id = 1;
	expect(&req, EINVAL, "MsiRoute.address_lo/data", "no message");
	m.has_address_lo = m.has_data = 1;
	m.address_lo = 0xfed00000;
	expect(&req, EINVAL, "MsiRoute.address_lo", "not the APIC window");
	m.address_lo = 0xfee00001;
	expect(&req, EINVAL, "MsiRoute.address_lo", "bits 1:0 set");
	m.address_lo = 0xfee01000;
	m.has_address_hi = 1;
	m.address_hi = 1;
	expect(&req, EINVAL, "MsiRoute.address_hi", "address_hi");
	m.address_hi = 0;
	m.data = 0x10000;
	expect(&req, EINVAL, "MsiRoute.data", "17-bit data");
	m.data = 0x4041;
	expect(&req, 0, NULL, "a new route");
	m.has_gsi = 1;
	m.gsi = IRQ_GSI_MAX;
	expect(&req, EINVAL, "MsiRoute.gsi", "a pin's GSI");
	m.gsi = MSI_GSI_LAST + 1;
	expect(&req, EINVAL, "MsiRoute.gsi", "past KVM's routes");
	m.gsi = IRQ_GSI_MAX + 1;
	expect(&req, 0, NULL, "a route's new message");
	m.has_remove = m.remove = 1;
	expect(&req, EINVAL, "MsiRoute.remove", "remove with a message");
	m.has_address_lo = m.has_address_hi = m.has_data = 0;
	expect(&req, 0, NULL, "remove");
	m.has_gsi = 0;
	expect(&req, EINVAL, "MsiRoute.gsi", "remove without a gsi");

	req.body_case = KVMMU__REQUEST__BODY_MASK_IRQFD;
	req.mask_irqfd = &k;
	expect(&req, EINVAL, "MaskIrqfd.vm_id", "no vm_id");
	k.has_vm_id = k.has_gsi = 1;
	expect(&req, EINVAL, "MaskIrqfd.masked", "no masked");
	k.has_masked = 1;
	k.gsi = 4;
	expect(&req, EINVAL, "MaskIrqfd.gsi", "a pin");
	k.gsi = 24;
	expect(&req, 0, NULL, "mask");

	req.body_case = KVMMU__REQUEST__BODY_SIGNAL_MSI;
	req.signal_msi = &s;
	expect(&req, EINVAL, "SignalMsi.vm_id", "no vm_id");
	s.has_vm_id = 1;
	expect(&req, EINVAL, "SignalMsi.address_lo/data", "no message");
	s.has_address_lo = s.has_data = 1;
	s.address_lo = 0xfee00000;
	s.data = 0x41;
	expect(&req, 0, NULL, "SignalMsi");
}

static void test_create_vm(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__CreateVm m = KVMMU__CREATE_VM__INIT;

	req.body_case = KVMMU__REQUEST__BODY_CREATE_VM;
	req.create_vm = &m;
	expect(&req, EINVAL, "CreateVm.name", "no name");
	m.name = "";
	expect(&req, EINVAL, "CreateVm.name", "empty name");
	m.name = "a/b";
	expect(&req, EINVAL, "CreateVm.name", "slash in name");
	m.name = "x123456789x123456789x123456789x123456789x123456789x1234567890"
		 "12345";
	expect(&req, EINVAL, "CreateVm.name", "65-char name");
	m.name = "vm-1.test_a";
	expect(&req, EINVAL, "CreateVm.vcpus", "no vcpus");
	m.has_vcpus = 1;
	expect(&req, EINVAL, "CreateVm.vcpus", "0 vcpus");
	m.vcpus = 9;
	expect(&req, EINVAL, "CreateVm.vcpus", "too many vcpus");
	m.vcpus = 8;
	expect(&req, EINVAL, "CreateVm.ram_bytes", "no ram");
	m.has_ram_bytes = 1;
	expect(&req, EINVAL, "CreateVm.ram_bytes", "0 ram");
	m.ram_bytes = 4097;
	expect(&req, EINVAL, "CreateVm.ram_bytes", "unaligned ram");
	m.ram_bytes = (1ULL << 30) + 4096;
	expect(&req, EINVAL, "CreateVm.ram_bytes", "ram over limit");
	m.ram_bytes = 1ULL << 30;
	expect(&req, 0, NULL, "good CreateVm");
	test_machine(&req, &m);
}

static void test_map_region(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__MapRegion m = KVMMU__MAP_REGION__INIT;
	Kvmmu__Region r = KVMMU__REGION__INIT;

	req.body_case = KVMMU__REQUEST__BODY_MAP_REGION;
	req.map_region = &m;
	expect(&req, EINVAL, "MapRegion.vm_id", "no vm_id");
	m.has_vm_id = 1;
	expect(&req, EINVAL, "MapRegion.region", "no region");
	m.region = &r;
	expect(&req, EINVAL, "Region.kind", "no kind");
	r.has_kind = 1;
	r.kind = 42;
	expect(&req, EINVAL, "Region.kind", "unknown kind");
	r.kind = KVMMU__REGION_KIND__REGION_RAM;
	expect(&req, EINVAL, "Region.gpa", "no gpa");
	r.has_gpa = 1;
	expect(&req, EINVAL, "Region.size", "no size");
	r.has_size = 1;
	r.gpa = 0x1001;
	r.size = 0x1000;
	expect(&req, EINVAL, "Region.gpa", "unaligned gpa");
	r.gpa = 0x1000;
	r.size = 0;
	expect(&req, EINVAL, "Region.size", "zero size");
	r.size = 0x1800;
	expect(&req, EINVAL, "Region.size", "unaligned size");
	r.gpa = 1ULL << 40;
	r.size = 0x1000;
	expect(&req, EINVAL, "physical address", "gpa beyond phys bits");
	r.gpa = 0xfffffffffffff000ULL;
	r.size = 0x2000;
	expect(&req, EINVAL, "Region.gpa", "gpa + size overflows");
	r.gpa = 0x1000;
	r.size = 0x1000;
	expect(&req, EINVAL, "Region.offset", "RAM without offset");
	r.has_offset = 1;
	r.offset = 0x10;
	expect(&req, EINVAL, "Region.offset", "unaligned offset");
	r.offset = 0xfffffffffffff000ULL;
	expect(&req, EINVAL, "Region.offset", "offset + size overflows");
	r.offset = 0;
	r.name = "bad name";
	expect(&req, EINVAL, "Region.name", "space in region name");
	r.name = "ram";
	expect(&req, 0, NULL, "good RAM region");
	r.kind = KVMMU__REGION_KIND__REGION_MMIO;
	r.has_offset = 0;
	expect(&req, 0, NULL, "MMIO region needs no offset");
}

static void test_unmap_and_vm_ops(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__UnmapRegion u = KVMMU__UNMAP_REGION__INIT;
	Kvmmu__Run run = KVMMU__RUN__INIT;
	Kvmmu__Stop stop = KVMMU__STOP__INIT;
	Kvmmu__GetStats gs = KVMMU__GET_STATS__INIT;
	Kvmmu__DestroyVm d = KVMMU__DESTROY_VM__INIT;

	req.body_case = KVMMU__REQUEST__BODY_UNMAP_REGION;
	req.unmap_region = &u;
	expect(&req, EINVAL, "UnmapRegion.vm_id", "unmap without vm_id");
	u.has_vm_id = 1;
	expect(&req, EINVAL, "UnmapRegion.gpa", "unmap without gpa");
	req.body_case = KVMMU__REQUEST__BODY_RUN;
	req.run = &run;
	expect(&req, EINVAL, "Run.vm_id", "run without vm_id");
	req.body_case = KVMMU__REQUEST__BODY_STOP;
	req.stop = &stop;
	expect(&req, EINVAL, "Stop.vm_id", "stop without vm_id");
	req.body_case = KVMMU__REQUEST__BODY_GET_STATS;
	req.get_stats = &gs;
	expect(&req, EINVAL, "GetStats.vm_id", "stats without vm_id");
	req.body_case = KVMMU__REQUEST__BODY_DESTROY_VM;
	req.destroy_vm = &d;
	expect(&req, EINVAL, "DestroyVm.vm_id", "destroy without vm_id");
	d.has_vm_id = 1;
	expect(&req, 0, NULL, "good DestroyVm");
}

/*
 * DestroyVm.reason: absent, or 1..256 bytes of printable UTF-8; every
 * other form is refused naming the field, before anything acts.
 */
static void test_destroy_reason(void)
{
	static const struct {
		const char *r;
		const char *what;
	} bad[] = {
		{"", "empty"},
		{"line\nbreak", "a newline"},
		{"tab\there", "a tab"},
		{"esc \x1b[31mred", "an escape sequence"},
		{"del\x7f", "DEL"},
		{"c1 \xc2\x85", "a C1 control (NEL)"},
		{"overlong \xc0\xaf", "an overlong '/'"},
		{"surrogate \xed\xa0\x80", "a surrogate"},
		{"past \xf4\x90\x80\x80", "past U+10FFFF"},
		{"cut \xe2\x82", "a character cut short"},
		{"stray \x80", "a lone continuation byte"},
		{"latin1 \xe9t\xe9", "Latin-1, not UTF-8"},
		{"rlo \xe2\x80\xae", "a right-to-left override"},
		{"isolate \xe2\x81\xa6", "a bidirectional isolate"},
		{"ls \xe2\x80\xa8", "a line separator"},
	};
	Kvmmu__Request req = envelope();
	Kvmmu__DestroyVm d = KVMMU__DESTROY_VM__INIT;
	char max[KVMMU_REASON_MAX + 2];

	req.body_case = KVMMU__REQUEST__BODY_DESTROY_VM;
	req.destroy_vm = &d;
	d.has_vm_id = 1;
	d.reason = "vda: its back end (qemu-storage-daemon pid 42, image "
		   "/srv/a.img) killed by signal 9 (Killed)";
	expect(&req, 0, NULL, "a back end's end as the reason");
	d.reason = "Grüße, \xe2\x9c\x93 \xf0\x9f\x98\x80, \xe2\x80\x8f";
	expect(&req, 0, NULL, "UTF-8 of 2, 3 and 4 bytes, a RLM mark");
	memset(max, 'x', sizeof(max));
	max[KVMMU_REASON_MAX] = '\0';
	d.reason = max;
	expect(&req, 0, NULL, "a reason of 256 bytes");
	max[KVMMU_REASON_MAX] = 'x';
	max[KVMMU_REASON_MAX + 1] = '\0';
	expect(&req, EINVAL, "DestroyVm.reason: length 257", "257 bytes");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.reason = (char *)bad[i].r;
		expect(&req, EINVAL, "DestroyVm.reason", bad[i].what);
	}
	d.has_vm_id = 0;
	d.reason = "the guest powered off";
	expect(&req, EINVAL, "DestroyVm.vm_id", "a reason without vm_id");
}

/*
 * text_clean makes any bytes a reason the server takes: bad bytes and
 * refused characters become '?', cut at a whole character to fit.
 */
static void test_text_clean(void)
{
	char out[KVMMU_REASON_MAX + 1], in[600];
	unsigned seed = 1, bad = 0;

	text_clean(out, sizeof(out), "a\nb\xff\xe2\x80\xae\xc3\xa9");
	CHECK(strcmp(out, "a?b??\xc3\xa9") == 0, "clean: '%s'", out);
	text_clean(out, 4, "ab\xc3\xa9");
	CHECK(strcmp(out, "ab") == 0, "clean cuts at a whole character: '%s'",
	      out);
	text_clean(out, 1, "abc");
	CHECK(out[0] == '\0', "clean into one byte: empty");
	/* Random bytes: what comes out is always printable UTF-8. */
	for (int round = 0; round < 2000; round++) {
		size_t n;

		for (size_t i = 0; i < sizeof(in) - 1; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)((seed >> 16) & 0xff);
			if (in[i] == '\0')
				in[i] = (char)0xe2;
		}
		in[sizeof(in) - 1] = '\0';
		n = text_clean(out, sizeof(out), in);
		bad += n != strlen(out) || n > KVMMU_REASON_MAX ||
		       text_printable(out, n) != n;
	}
	CHECK(bad == 0, "clean of random bytes: %u of 2000 not printable", bad);
}

static void good_segment(Kvmmu__Segment *s)
{
	kvmmu__segment__init(s);
	s->has_present = s->present = 1;
}

/* MSRs, FPU and XCR0 on an otherwise good VcpuState. */
static void test_vcpu_extra(Kvmmu__Request *req, Kvmmu__VcpuState *m)
{
	Kvmmu__Msr x[VCPU_MSRS_MAX + 1], *xp[VCPU_MSRS_MAX + 1];

	for (int i = 0; i <= VCPU_MSRS_MAX; i++) {
		kvmmu__msr__init(&x[i]);
		x[i].has_index = x[i].has_value = 1;
		x[i].index = 0x174 + (uint32_t)(i % 3);
		xp[i] = &x[i];
	}
	m->msrs = xp;
	m->n_msrs = VCPU_MSRS_MAX + 1;
	expect(req, EINVAL, "VcpuState.msrs", "too many MSRs");
	m->n_msrs = 2;
	x[1].has_value = 0;
	expect(req, EINVAL, "VcpuState.msrs[1]", "MSR without a value");
	x[1].has_value = 1;
	x[1].index = 0x1b; /* APIC_BASE: KVM's, not the frontend's */
	expect(req, EPERM, "VcpuState.msrs[1]", "an MSR outside the list");
	x[1].index = 0x174;
	expect(req, EINVAL, "VcpuState.msrs[1]", "an MSR twice");
	x[1].index = 0xc0000082;
	expect(req, 0, NULL, "two MSRs");
	m->has_fpu_fcw = 1;
	m->fpu_fcw = 0x37f;
	expect(req, EINVAL, "VcpuState.fpu_fcw", "fcw without mxcsr");
	m->has_mxcsr = 1;
	m->mxcsr = 0x10000;
	expect(req, EINVAL, "VcpuState.mxcsr", "mxcsr reserved bits");
	m->mxcsr = 0x1f80;
	m->has_xcr0 = 1;
	m->xcr0 = 2;
	expect(req, EINVAL, "VcpuState.xcr0", "xcr0 without x87");
	m->xcr0 = 3;
	expect(req, 0, NULL, "MSRs, FPU and XCR0");
}

static void test_vcpu_state(void)
{
	Kvmmu__Request req = envelope();
	Kvmmu__VcpuState m = KVMMU__VCPU_STATE__INIT;
	Kvmmu__Segment seg[8];

	req.body_case = KVMMU__REQUEST__BODY_SET_VCPU_STATE;
	req.set_vcpu_state = &m;
	expect(&req, EINVAL, "VcpuState.vm_id", "no vm_id");
	m.has_vm_id = 1;
	expect(&req, EINVAL, "VcpuState.vcpu", "no vcpu");
	m.has_vcpu = 1;
	m.vcpu = 8;
	expect(&req, EINVAL, "VcpuState.vcpu", "vcpu beyond limit");
	m.vcpu = 0;
	expect(&req, EINVAL, "VcpuState.rip", "no rip");
	m.has_rip = m.has_rsp = m.has_rflags = 1;
	m.rflags = 1ULL << 22;
	expect(&req, EINVAL, "VcpuState.rflags", "reserved rflags");
	m.rflags = 0x3002;
	expect(&req, EINVAL, "VcpuState.cr0", "no control registers");
	m.has_cr0 = m.has_cr3 = m.has_cr4 = m.has_efer = 1;
	m.cr0 = 1ULL << 32;
	expect(&req, EINVAL, "VcpuState.cr0", "cr0 high bits");
	m.cr0 = 0x80000031;
	m.cr3 = 1ULL << 40;
	expect(&req, EINVAL, "VcpuState.cr3", "cr3 beyond phys bits");
	m.cr3 = 0x10000;
	m.efer = 1ULL << 20;
	expect(&req, EINVAL, "VcpuState.efer", "unknown efer bits");
	m.efer = 0x500;
	m.has_gdt_limit = 1;
	m.gdt_limit = 0x10000;
	expect(&req, EINVAL, "gdt_limit", "gdt limit too big");
	m.gdt_limit = 0x37;
	expect(&req, EINVAL, "VcpuState.cs", "no cs");
	for (int i = 0; i < 8; i++)
		good_segment(&seg[i]);
	m.cs = &seg[0], m.ds = &seg[1], m.es = &seg[2], m.fs = &seg[3];
	m.gs = &seg[4], m.ss = &seg[5], m.tr = &seg[6], m.ldt = &seg[7];
	seg[5].dpl = 4;
	expect(&req, EINVAL, "VcpuState.ss.dpl", "dpl 4");
	seg[5].dpl = 3;
	seg[0].type = 16;
	expect(&req, EINVAL, "VcpuState.cs.type", "type 16");
	seg[0].type = 11;
	seg[0].l = seg[0].db = 1;
	expect(&req, EINVAL, "VcpuState.cs", "l and db");
	seg[0].db = 0;
	seg[6].selector = 0x10000;
	expect(&req, EINVAL, "VcpuState.tr.selector", "selector > 16 bits");
	seg[6].selector = 0x28;
	expect(&req, 0, NULL, "good VcpuState");
	test_vcpu_extra(&req, &m);
}

static struct region mkregion(enum region_kind k, uint64_t gpa, uint64_t size,
			      uint64_t off)
{
	struct region r = {.r_kind = k,
			   .r_gpa = gpa,
			   .r_size = size,
			   .r_offset = off,
			   .r_slot = -1,
			   .r_fd = -1};

	strcpy(r.r_name, "t");
	return r;
}

static void test_memmap(void)
{
	struct memmap mm;
	struct region r, out;
	struct verr e;

	CHECK(memmap_init(&mm, 2) == 0, "init");
	r = mkregion(RK_RAM, 0, 0x200000, 0);
	CHECK(memmap_check(&mm, &r, 0x100000, &e) == -EINVAL &&
		      strstr(e.msg, "Region.offset"),
	      "RAM beyond memfd: %s", e.msg);
	CHECK(memmap_check(&mm, &r, 0x200000, &e) == 0, "fits");
	r.r_slot = memmap_slot_alloc(&mm);
	CHECK(memmap_insert(&mm, &r) == 0, "insert");
	r = mkregion(RK_MMIO, 0x1ff000, 0x2000, 0);
	CHECK(memmap_check(&mm, &r, 0, &e) == -EEXIST &&
		      strstr(e.msg, "overlaps"),
	      "overlap refused: %s", e.msg);
	r = mkregion(RK_MMIO, 0x200000, 0x1000, 0);
	CHECK(memmap_check(&mm, &r, 0, &e) == 0, "adjacent ok: %s", e.msg);
	CHECK(memmap_insert(&mm, &r) == 0, "insert mmio");
	r = mkregion(RK_ROM, 0x300000, 0x1000, 0);
	CHECK(memmap_check(&mm, &r, 0x1000, &e) == 0, "rom ok");
	r.r_slot = memmap_slot_alloc(&mm);
	CHECK(memmap_insert(&mm, &r) == 0, "insert rom");
	r = mkregion(RK_RAM, 0x400000, 0x1000, 0);
	CHECK(memmap_check(&mm, &r, 0x200000, &e) == -ENOSPC,
	      "slots exhausted: %s", e.msg);
	CHECK(memmap_find(&mm, 0x200000) == 1, "sorted by gpa");
	CHECK(memmap_find(&mm, 0x201000) == -1, "find needs exact start");
	memmap_remove(&mm, 0, &out);
	memmap_slot_free(&mm, out.r_slot);
	CHECK(mm.mm_n == 2 && out.r_gpa == 0, "remove");
	CHECK(memmap_check(&mm, &r, 0x200000, &e) == 0, "slot freed");
	memmap_free(&mm);
}

int main(void)
{
	test_envelope();
	test_create_vm();
	test_map_region();
	test_unmap_and_vm_ops();
	test_destroy_reason();
	test_text_clean();
	test_vcpu_state();
	test_cpuid_irqfd();
	test_ioeventfd();
	test_tx_doorbells();
	test_msi();
	test_memmap();
	return checks_report("test_validate");
}
