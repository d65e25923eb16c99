/*
 * test_mptable.c: the MP table builder (vmm-frontend/loader/mptable.c) for 1, 4
 * and 32 vCPUs, its bytes read back here with the MP spec 1.4 layout
 * written out afresh: the floating pointer and its checksum, the
 * configuration table's header, checksum and entry count against the
 * entries walked by their sizes, one processor per APIC id with one
 * bootstrap processor, an I/O APIC whose id no CPU has, the 16 ISA
 * interrupts on its pins and the two local ones; then each refusal (a
 * vCPU count out of range, a short buffer, a misaligned address, a table
 * crossing 1 MiB) with its message and the buffer left alone.
 * Trust: test code.
 */
#include <string.h>

#include "harness.h"
#include "mptable.h"

#define GPA	  0x9fc00ULL /* the last KiB of 640 KiB base memory */
#define ONE_MIB	  0x100000ULL
#define SLACK	  64
#define FILL	  0xa5
#define MAX_BYTES 4096

/* What the configuration table's entries say, as read back. */
struct seen {
	unsigned se_cpus, se_bsps, se_bsp_id;
	uint8_t se_cpu_ids[256]; /* how often each APIC id appears */
	bool se_cpus_ok;	 /* every one enabled, an xAPIC */
	int se_pci, se_isa;	 /* bus ids; -1: none */
	unsigned se_ioapics;
	uint8_t se_ioapic_id;
	uint32_t se_ioapic_addr;
	unsigned se_intsrc;
	uint32_t se_isa_pins; /* bit i: ISA IRQ i to pin i of the I/O APIC */
	bool se_intsrc_ok;
	unsigned se_lint;
	bool se_extint_lint0, se_nmi_lint1;
	bool se_sorted; /* entry types in ascending order */
	size_t se_bytes;
	unsigned se_entries;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	unsigned s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return (uint8_t)s;
}

static void see_cpu(struct seen *s, const uint8_t *e)
{
	s->se_cpus++;
	s->se_cpu_ids[e[1]]++;
	if (!(e[3] & 0x01) || e[2] < 0x10)
		s->se_cpus_ok = false;
	if (e[3] & 0x02) {
		s->se_bsps++;
		s->se_bsp_id = e[1];
	}
}

static void see_bus(struct seen *s, const uint8_t *e)
{
	if (memcmp(e + 2, "PCI   ", 6) == 0)
		s->se_pci = e[1];
	if (memcmp(e + 2, "ISA   ", 6) == 0)
		s->se_isa = e[1];
}

static void see_ioapic(struct seen *s, const uint8_t *e)
{
	s->se_ioapics++;
	s->se_ioapic_id = e[1];
	s->se_ioapic_addr = (e[3] & 0x01) ? le32(e + 4) : 0;
}

/* Needs the bus and I/O APIC entries first, as the spec sorts them. */
static void see_intsrc(struct seen *s, const uint8_t *e)
{
	s->se_intsrc++;
	if (e[1] != 0 || le16(e + 2) != 0 || e[4] != s->se_isa || e[5] >= 16 ||
	    e[6] != s->se_ioapic_id || e[7] != e[5]) {
		s->se_intsrc_ok = false;
		return;
	}
	s->se_isa_pins |= 1u << e[5];
}

static void see_lint(struct seen *s, const uint8_t *e)
{
	s->se_lint++;
	if (e[6] != 0xff)
		return;
	if (e[1] == 3 && e[7] == 0)
		s->se_extint_lint0 = true;
	if (e[1] == 1 && e[7] == 1)
		s->se_nmi_lint1 = true;
}

/* Walks the entries of p[0..len) by their sizes; false on a bad type. */
static bool walk(const uint8_t *p, size_t len, struct seen *s)
{
	size_t off = 0;
	int last = -1;

	memset(s, 0, sizeof(*s));
	s->se_pci = s->se_isa = -1;
	s->se_cpus_ok = s->se_intsrc_ok = s->se_sorted = true;
	while (off < len) {
		const uint8_t *e = p + off;
		size_t esize = e[0] == 0 ? 20 : 8;

		if (e[0] > 4 || off + esize > len)
			return false;
		s->se_sorted = s->se_sorted && e[0] >= last;
		last = e[0];
		if (e[0] == 0)
			see_cpu(s, e);
		else if (e[0] == 1)
			see_bus(s, e);
		else if (e[0] == 2)
			see_ioapic(s, e);
		else if (e[0] == 3)
			see_intsrc(s, e);
		else
			see_lint(s, e);
		off += esize;
		s->se_entries++;
	}
	s->se_bytes = off;
	return true;
}

static void check_mpf(const uint8_t *b, uint64_t gpa)
{
	CHECK(memcmp(b, "_MP_", 4) == 0, "floating pointer signature");
	CHECK(le32(b + 4) == gpa + 16, "physical address pointer 0x%x",
	      le32(b + 4));
	CHECK(b[8] == 1 && b[9] == 4, "length %u paragraphs, spec rev %u", b[8],
	      b[9]);
	CHECK(sum(b, 16) == 0, "floating pointer checksum");
	CHECK(b[11] == 0 && b[12] == 0,
	      "feature bytes: a configuration table, virtual wire mode");
}

/* The header of the configuration table at c; its base table length. */
static size_t check_mpc(const uint8_t *c, size_t room)
{
	size_t len = le16(c + 4);

	CHECK(memcmp(c, "PCMP", 4) == 0, "configuration table signature");
	CHECK(len == room, "base table length %zu, written %zu", len, room);
	if (len > room)
		return 0;
	CHECK(c[6] == 4, "configuration table spec rev %u", c[6]);
	CHECK(sum(c, len) == 0, "configuration table checksum");
	CHECK(memcmp(c + 8, "KVMMU   ", 8) == 0 &&
		      memcmp(c + 16, "kvmmu-vm    ", 12) == 0,
	      "OEM and product ids");
	CHECK(le32(c + 28) == 0 && le16(c + 32) == 0, "no OEM table");
	CHECK(le32(c + 36) == 0xfee00000, "local APIC at 0x%x", le32(c + 36));
	CHECK(le16(c + 40) == 0 && c[42] == 0, "no extended table");
	return len;
}

static void check_entries(const struct seen *s, unsigned ncpus)
{
	unsigned ids_once = 0;

	for (unsigned i = 0; i < ncpus; i++)
		ids_once += s->se_cpu_ids[i] == 1;
	CHECK(s->se_cpus == ncpus && ids_once == ncpus && s->se_cpus_ok,
	      "%u processors, APIC ids 0..%u once each, enabled", s->se_cpus,
	      ncpus - 1);
	CHECK(s->se_bsps == 1 && s->se_bsp_id == 0, "%u BSPs, APIC id %u",
	      s->se_bsps, s->se_bsp_id);
	CHECK(s->se_pci >= 0 && s->se_isa >= 0 && s->se_pci != s->se_isa,
	      "a PCI bus (%d) and an ISA bus (%d)", s->se_pci, s->se_isa);
	CHECK(s->se_ioapics == 1 && s->se_ioapic_addr == 0xfec00000,
	      "one I/O APIC, enabled at 0x%x", s->se_ioapic_addr);
	CHECK(s->se_cpu_ids[s->se_ioapic_id] == 0, "I/O APIC id %u is no CPU's",
	      s->se_ioapic_id);
	CHECK(s->se_intsrc == 16 && s->se_intsrc_ok && s->se_isa_pins == 0xffff,
	      "%u I/O interrupts: ISA IRQ i on pin i", s->se_intsrc);
	CHECK(s->se_lint == 2 && s->se_extint_lint0 && s->se_nmi_lint1,
	      "%u local interrupts: ExtINT on LINT0, NMI on LINT1", s->se_lint);
	CHECK(s->se_sorted, "entries sorted by type");
}

static void test_build(unsigned ncpus)
{
	static uint8_t buf[MAX_BYTES + SLACK];
	size_t size = mptable_size(ncpus), len;
	char err[200] = "";
	struct seen s;
	int n;

	CHECK(size > 0 && size + SLACK <= sizeof(buf), "%u vCPUs: %zu bytes",
	      ncpus, size);
	memset(buf, FILL, sizeof(buf));
	n = mptable_build(buf, size, GPA, ncpus, err, sizeof(err));
	CHECK(n >= 0 && (size_t)n == size, "%u vCPUs: %d bytes: %s", ncpus, n,
	      err);
	if (n < 0 || (size_t)n != size)
		return;
	CHECK(buf[size] == FILL, "nothing written past the table");
	check_mpf(buf, GPA);
	len = check_mpc(buf + 16, size - 16);
	if (len < 44)
		return;
	CHECK(walk(buf + 16 + 44, len - 44, &s) && s.se_bytes == len - 44,
	      "the entries fill the base table (%zu of %zu bytes)", s.se_bytes,
	      len - 44);
	CHECK(s.se_entries == le16(buf + 16 + 34), "entry count %u, walked %u",
	      le16(buf + 16 + 34), s.se_entries);
	check_entries(&s, ncpus);
}

/* mptable_build refuses; err names the problem; buf is untouched. */
static void refused(size_t cap, uint64_t gpa, unsigned ncpus, const char *word,
		    const char *what)
{
	static uint8_t buf[MAX_BYTES];
	char err[200] = "";
	unsigned untouched = 0;

	memset(buf, FILL, sizeof(buf));
	CHECK(mptable_build(buf, cap, gpa, ncpus, err, sizeof(err)) == -1 &&
		      strstr(err, word) != NULL,
	      "%s: refused with \"%s\"", what, err);
	for (size_t i = 0; i < sizeof(buf); i++)
		untouched += buf[i] == FILL;
	CHECK(untouched == sizeof(buf), "%s: the buffer untouched", what);
}

static void test_refusals(void)
{
	size_t one = mptable_size(1), max = mptable_size(32);
	uint64_t last = (ONE_MIB - max) & ~15ULL; /* the highest that fits */
	char err[200];
	static uint8_t buf[MAX_BYTES];

	CHECK(mptable_size(0) == 0 && mptable_size(33) == 0,
	      "no size out of range");
	refused(MAX_BYTES, GPA, 0, "vCPUs", "0 vCPUs");
	refused(MAX_BYTES, GPA, 33, "vCPUs", "33 vCPUs");
	refused(one - 1, GPA, 1, "buffer", "a buffer 1 byte short");
	refused(0, GPA, 1, "buffer", "no buffer");
	refused(MAX_BYTES, GPA + 8, 1, "aligned", "gpa 8-byte aligned");
	refused(MAX_BYTES, last + 16, 32, "1 MiB", "a table across 1 MiB");
	refused(MAX_BYTES, ONE_MIB, 1, "1 MiB", "a table at 1 MiB");
	refused(MAX_BYTES, ~15ULL, 1, "1 MiB", "a gpa that wraps");
	CHECK(mptable_build(buf, sizeof(buf), last, 32, err, sizeof(err)) ==
		      (int)max,
	      "32 vCPUs at 0x%llx, just below 1 MiB: %s",
	      (unsigned long long)last, err);
}

int main(void)
{
	test_build(1);
	test_build(4);
	test_build(32);
	test_refusals();
	return checks_report("test_mptable");
}
