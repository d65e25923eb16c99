/*
 * test_acpi.c: the ACPI tables of vmm-frontend/loader/acpi.c for 1, 2
 * and 32 vCPUs, read back here from the RSDP on with the ACPI 6.5
 * layouts written out afresh: every checksum and length, the XSDT's two
 * tables, the FADT's PM1a block, SCI, reset register and the FACS and
 * DSDT it points to, the MADT's entries walked by their lengths, and
 * the DSDT's AML: \_S5's SLP_TYP and the host bridge's _HID and _CRS
 * descriptors.  Then the PM1 block model (devices/acpipm.c) fed the
 * SLP_TYP the DSDT names, as Linux writes it; the AML encoder's
 * PkgLength, integer and name encodings; and each refusal.
 * Trust: test code.
 */
#include <string.h>

#include "acpi.h"
#include "acpipm.h"
#include "aml.h"
#include "harness.h"

#define GPA   0xf0000ULL
#define FILL  0xa5
#define SLACK 64

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	unsigned s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return (uint8_t)s;
}

static const struct acpi_spec spec_base = {
	.as_pm1a_evt = ACPIPM_EVT,
	.as_pm1a_cnt = ACPIPM_CNT,
	.as_slp_typ_s5 = ACPIPM_SLP_TYP_S5,
	.as_sci_irq = ACPIPM_SCI_IRQ,
	.as_reset_port = 0xcf9,
	.as_reset_value = 0x06,
	.as_pci_lo = 0xe0000000ULL,
	.as_pci_size = 0x10000000ULL,
};

/* The table at guest-physical a, if it lies in the buffer; else NULL. */
static const uint8_t *table_at(const uint8_t *buf, size_t n, uint64_t a,
			       const char *sig)
{
	const uint8_t *t;
	size_t len;

	if (a < GPA || a - GPA + 36 > n) {
		CHECK(0, "%s at 0x%llx is outside the %zu bytes written", sig,
		      (unsigned long long)a, n);
		return NULL;
	}
	t = buf + (a - GPA);
	len = le32(t + 4);
	CHECK(memcmp(t, sig, 4) == 0, "signature %.4s, want %s", t, sig);
	CHECK(len >= 36 && a - GPA + len <= n, "%s: %zu bytes", sig, len);
	if (len < 36 || a - GPA + len > n)
		return NULL;
	CHECK(sum(t, len) == 0, "%s checksum", sig);
	CHECK(memcmp(t + 10, "KVMMU ", 6) == 0, "%s OEM id", sig);
	return t;
}

static void check_fadt(const uint8_t *f)
{
	uint32_t flags = le32(f + 112);

	CHECK(le32(f + 4) == 244 && f[8] == 3, "FADT rev %u, %u bytes", f[8],
	      le32(f + 4));
	CHECK(le16(f + 46) == ACPIPM_SCI_IRQ, "SCI %u", le16(f + 46));
	CHECK(le32(f + 48) == 0, "no SMI command port: always in ACPI mode");
	CHECK(le32(f + 56) == ACPIPM_EVT && f[88] == 4, "PM1a_EVT 0x%x/%u",
	      le32(f + 56), f[88]);
	CHECK(le32(f + 64) == ACPIPM_CNT && f[89] == 2, "PM1a_CNT 0x%x/%u",
	      le32(f + 64), f[89]);
	CHECK(le32(f + 60) == 0 && le32(f + 68) == 0, "no PM1b blocks");
	CHECK(le32(f + 76) == 0 && f[91] == 0, "no PM timer");
	CHECK(le32(f + 80) == 0 && f[92] == 0, "no GPE0 block");
	CHECK(le16(f + 109) & 2, "IA-PC boot flags: an 8042");
	CHECK(!(flags & (1u << 20)), "not HW-reduced");
	CHECK((flags & 1) && (flags & (1u << 10)), "flags 0x%x: WBINVD, reset",
	      flags);
	CHECK(f[116] == 1 && f[117] == 8 && le64(f + 120) == 0xcf9 &&
		      f[128] == 0x06,
	      "reset register: I/O 0x%llx, value 0x%x",
	      (unsigned long long)le64(f + 120), f[128]);
}

static void check_madt(const uint8_t *m, unsigned ncpus)
{
	size_t len = le32(m + 4), off = 44;
	unsigned cpus = 0, ioapics = 0, isos = 0, nmis = 0, ids_ok = 0;
	bool ok = true;

	CHECK(le32(m + 36) == 0xfee00000 && (le32(m + 40) & 1),
	      "local APIC at 0x%x, PC-AT compatible", le32(m + 36));
	while (off + 2 <= len && m[off + 1] >= 2 && off + m[off + 1] <= len) {
		const uint8_t *e = m + off;

		switch (e[0]) {
		case 0:
			ok &= e[1] == 8;
			ids_ok += e[2] == cpus && e[3] == cpus &&
				  (le32(e + 4) & 1);
			cpus++;
			break;
		case 1:
			ok &= e[1] == 12;
			CHECK(e[2] == ncpus && le32(e + 4) == 0xfec00000 &&
				      le32(e + 8) == 0,
			      "I/O APIC id %u at 0x%x", e[2], le32(e + 4));
			ioapics++;
			break;
		case 2:
			ok &= e[1] == 10;
			CHECK(e[2] == 0 && e[3] == ACPIPM_SCI_IRQ &&
				      le32(e + 4) == ACPIPM_SCI_IRQ &&
				      le16(e + 8) == 0x0d,
			      "override: ISA IRQ %u to GSI %u, flags 0x%x",
			      e[3], le32(e + 4), le16(e + 8));
			isos++;
			break;
		case 4:
			ok &= e[1] == 6;
			CHECK(e[2] == 0xff && e[5] == 1,
			      "NMI on LINT%u of 0x%x", e[5], e[2]);
			nmis++;
			break;
		default:
			ok = false;
		}
		off += e[1];
	}
	CHECK(ok && off == len, "MADT entries fill it (%zu of %zu)", off, len);
	CHECK(cpus == ncpus && ids_ok == ncpus,
	      "%u local APICs, ids 0..%u enabled", cpus, ncpus - 1);
	CHECK(ioapics == 1 && isos == 1 && nmis == 1,
	      "%u I/O APIC, %u override, %u NMI", ioapics, isos, nmis);
}

/* PkgLength at p: its value (counting itself), and its size in *k. */
static size_t pkglen(const uint8_t *p, size_t *k)
{
	size_t n = (size_t)(p[0] >> 6), v = p[0] & (n ? 0x0f : 0x3f);

	for (size_t i = 0; i < n; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*k = n + 1;
	return v;
}

static const uint8_t *find(const uint8_t *p, size_t n, const void *pat,
			   size_t plen)
{
	for (size_t i = 0; i + plen <= n; i++)
		if (memcmp(p + i, pat, plen) == 0)
			return p + i;
	return NULL;
}

/* The _CRS buffer's descriptors: bus 0-255, 0xcf8/8, ports, window. */
static void check_crs(const uint8_t *b, size_t n)
{
	static const uint8_t bus[] = {0x88, 13, 0,    2, 0x0c, 0, 0, 0,
				      0,    0,	0xff, 0, 0,    0, 0, 1};
	static const uint8_t cfg[] = {0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8};
	static const uint8_t io_lo[] = {0x88, 13,   0, 1, 0x0c, 3,   0, 0, 0, 0,
					0xf7, 0x0c, 0, 0, 0xf8, 0x0c};
	static const uint8_t io_hi[] = {0x88, 13,   0,	  1, 0x0c, 3, 0,   0, 0,
					0x0d, 0xff, 0xff, 0, 0,	   0, 0xf3};
	size_t k;
	size_t len = pkglen(b, &k);
	const uint8_t *d = b + k;
	const uint8_t *mem;

	CHECK(len <= n, "_CRS buffer of %zu bytes", len);
	if (len > n)
		return;
	CHECK(d[0] == 0x0b && le16(d + 1) == len - k - 3,
	      "BufferSize %u for %zu bytes", le16(d + 1), len - k - 3);
	d += 3;
	n = len - k - 3;
	CHECK(find(d, n, bus, sizeof(bus)) == d, "bus 0-255 first");
	CHECK(find(d, n, cfg, sizeof(cfg)) != NULL, "config ports 0xcf8/8");
	CHECK(find(d, n, io_lo, sizeof(io_lo)) != NULL, "ports 0-0xcf7");
	CHECK(find(d, n, io_hi, sizeof(io_hi)) != NULL, "ports 0xd00-0xffff");
	mem = find(d, n, "\x87\x17\x00\x00\x0c\x01", 6);
	CHECK(mem != NULL && le32(mem + 10) == 0xe0000000 &&
		      le32(mem + 14) == 0xefffffff &&
		      le32(mem + 22) == 0x10000000,
	      "memory window 0xe0000000-0xefffffff");
	CHECK(d[n - 2] == 0x79 && d[n - 1] == 0, "end tag last");
}

/* The DSDT's AML; returns the SLP_TYP \_S5 names, or -1. */
static int check_dsdt(const uint8_t *t)
{
	size_t len = le32(t + 4), k, plen, n = len - 36;
	const uint8_t *aml = t + 36, *s5, *dev, *crs;
	int typ = -1;

	CHECK(t[8] == 2, "DSDT revision %u: 64-bit integers", t[8]);
	s5 = find(aml, n, "\x08\\_S5_\x12", 7);
	CHECK(s5 == aml, "Name (\\_S5, Package) first");
	if (s5 != NULL) {
		plen = pkglen(s5 + 7, &k);
		const uint8_t *el = s5 + 7 + k;

		CHECK(el[0] == 2, "\\_S5: %u elements", el[0]);
		if (el[1] == 0x0a)
			typ = el[2];
		else if (el[1] <= 1)
			typ = el[1];
		CHECK(plen == k + 1 + (el[1] == 0x0a ? 2 : 1) + 1,
		      "\\_S5 package length %zu", plen);
	}
	dev = find(aml, n, "\x5b\x82", 2);
	CHECK(dev != NULL, "a Device");
	if (dev == NULL)
		return typ;
	plen = pkglen(dev + 2, &k);
	CHECK(dev + 2 + plen == t + len, "the Device runs to the table's end");
	CHECK(memcmp(dev + 2 + k, "\\\x2e_SB_PCI0", 10) == 0,
	      "named \\_SB.PCI0");
	CHECK(find(dev, plen, "\x08_HID\x0c\x41\xd0\x0a\x03", 10) != NULL,
	      "_HID EisaId (PNP0A03)");
	CHECK(find(dev, plen, "\x08_BBN\x00", 6) != NULL, "_BBN 0");
	crs = find(dev, plen, "\x08_CRS\x11", 6);
	CHECK(crs != NULL, "a _CRS buffer");
	if (crs != NULL)
		check_crs(crs + 6, (size_t)(t + len - (crs + 6)));
	return typ;
}

/* Linux's S5: SLP_TYP written, then SLP_TYP | SLP_EN, 16 bits each. */
static void check_pm_s5(int typ)
{
	struct acpipm pm;
	uint8_t d[2];
	uint16_t v = (uint16_t)(typ << 10);

	acpipm_init(&pm);
	memcpy(d, &v, 2);
	CHECK(acpipm_io(&pm, ACPIPM_CNT, 2, true, d, 2) == 0,
	      "SLP_TYP alone: still on");
	v |= 1u << 13;
	memcpy(d, &v, 2);
	CHECK(acpipm_io(&pm, ACPIPM_CNT, 2, true, d, 2) == ACPIPM_POWER_OFF,
	      "SLP_TYP %d | SLP_EN: powered off", typ);
}

static void test_build(unsigned ncpus)
{
	static uint8_t buf[ACPI_ROOM + SLACK];
	struct acpi_spec as = spec_base;
	const uint8_t *x, *f, *m, *d, *facs;
	char err[200] = "";
	int n;

	as.as_vcpus = ncpus;
	memset(buf, FILL, sizeof(buf));
	n = acpi_build(buf, ACPI_ROOM, GPA, &as, err, sizeof(err));
	CHECK(n > 0 && n <= ACPI_ROOM, "%u vCPUs: %d bytes: %s", ncpus, n, err);
	if (n <= 0)
		return;
	CHECK(buf[ACPI_ROOM] == FILL, "nothing written past cap");
	CHECK(memcmp(buf, "RSD PTR ", 8) == 0 && sum(buf, 20) == 0 &&
		      sum(buf, 36) == 0,
	      "RSDP signature and both checksums");
	CHECK(buf[15] == 2 && le32(buf + 20) == 36, "RSDP rev %u, %u bytes",
	      buf[15], le32(buf + 20));
	x = table_at(buf, (size_t)n, le64(buf + 24), "XSDT");
	if (x == NULL)
		return;
	CHECK(le32(x + 4) == 36 + 16, "XSDT: 2 entries");
	f = table_at(buf, (size_t)n, le64(x + 36), "FACP");
	m = table_at(buf, (size_t)n, le64(x + 44), "APIC");
	if (f == NULL || m == NULL)
		return;
	check_fadt(f);
	check_madt(m, ncpus);
	CHECK(le32(f + 36) % 64 == 0 && le32(f + 36) >= GPA &&
		      le32(f + 36) - GPA + 64 <= (size_t)n,
	      "FACS at 0x%x: 64-byte aligned, inside", le32(f + 36));
	facs = buf + (le32(f + 36) - GPA);
	CHECK(memcmp(facs, "FACS", 4) == 0 && le32(facs + 4) == 64,
	      "FACS signature and length");
	d = table_at(buf, (size_t)n, le32(f + 40), "DSDT");
	if (d == NULL)
		return;
	CHECK((size_t)(d - buf) + le32(d + 4) == (size_t)n,
	      "the DSDT ends the %d bytes", n);
	int typ = check_dsdt(d);
	CHECK(typ == ACPIPM_SLP_TYP_S5, "\\_S5 SLP_TYP %d", typ);
	check_pm_s5(typ);
}

/* The PM1 registers as ACPICA drives them, byte and word wide. */
static void test_pm(void)
{
	struct acpipm pm;
	uint8_t d[4] = {0};

	acpipm_init(&pm);
	acpipm_io(&pm, ACPIPM_CNT, 2, false, d, 2);
	CHECK(le16(d) == 1, "PM1_CNT 0x%x: SCI_EN set, in ACPI mode", le16(d));
	memcpy(d, "\x21\x01", 2); /* GBL_EN, PWRBTN_EN */
	acpipm_io(&pm, ACPIPM_EVT + 2, 2, true, d, 2);
	memset(d, 0, 4);
	acpipm_io(&pm, ACPIPM_EVT, 4, false, d, 4);
	CHECK(le16(d) == 0 && le16(d + 2) == 0x121,
	      "PM1 status 0x%x, enable 0x%x", le16(d), le16(d + 2));
	memcpy(d, "\xff\xff", 2); /* write 1 to clear: stays 0 */
	CHECK(acpipm_io(&pm, ACPIPM_EVT, 2, true, d, 2) == 0,
	      "clearing status");
	d[0] = (uint8_t)(1 << 2 | 1 << 5); /* SLP_TYP 1 | SLP_EN, high byte */
	CHECK(acpipm_io(&pm, ACPIPM_CNT + 1, 1, true, d, 1) == 0 && !pm.pm_off,
	      "SLP_EN with SLP_TYP 1: a state not offered, ignored");
	acpipm_io(&pm, ACPIPM_CNT, 2, false, d, 2);
	CHECK(!(le16(d) & (1u << 13)), "SLP_EN reads 0");
	d[0] = (uint8_t)(ACPIPM_SLP_TYP_S5 << 2 | 1 << 5);
	CHECK(acpipm_io(&pm, ACPIPM_CNT + 1, 1, true, d, 1) == ACPIPM_POWER_OFF,
	      "a byte write of SLP_TYP 5 | SLP_EN powers off");
}

/* PkgLength, integers and names as aml.c encodes them. */
static void test_aml(void)
{
	uint8_t buf[8192];
	struct aml a;
	size_t k, at;
	const size_t bodies[] = {0, 62, 63, 4093, 4094, 5000};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		aml_init(&a, buf, sizeof(buf));
		at = aml_pkg_begin(&a, AML_BUFFER_OP);
		for (size_t j = 0; j < bodies[i]; j++)
			aml_byte(&a, 0x5a);
		aml_pkg_end(&a, at);
		size_t v = pkglen(buf + 1, &k);
		CHECK(!a.a_over && v == bodies[i] + k &&
			      k == (bodies[i] + 1 <= 63	   ? 1
				    : bodies[i] + 2 < 4096 ? 2
							   : 3) &&
			      (bodies[i] == 0 || buf[1 + k] == 0x5a) &&
			      a.a_len == 1 + v,
		      "body %zu: PkgLength %zu in %zu bytes", bodies[i], v, k);
	}
	aml_init(&a, buf, sizeof(buf));
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 0x80);
	aml_int(&a, 0x1234);
	aml_int(&a, 0x12345678);
	aml_int(&a, 0x100000000ULL);
	CHECK(a.a_len == 1 + 1 + 2 + 3 + 5 + 9 &&
		      memcmp(buf,
			     "\x00\x01\x0a\x80\x0b\x34\x12\x0c\x78\x56\x34\x12"
			     "\x0e\x00\x00\x00\x00\x01\x00\x00\x00",
			     a.a_len) == 0,
	      "integers: Zero, One, Byte, Word, DWord, QWord");
	aml_init(&a, buf, sizeof(buf));
	aml_name(&a, "_S5");
	aml_name(&a, "\\_SB.PCI0");
	aml_name(&a, "\\A.B.C");
	CHECK(a.a_len == 4 + 10 + 15 && memcmp(buf,
					       "_S5_\\\x2e_SB_PCI0\\\x2f\x03"
					       "A___B___C___",
					       a.a_len) == 0,
	      "names: a segment, a dual and a multi path");
	aml_init(&a, buf, 3);
	aml_name(&a, "_HID");
	CHECK(a.a_over && a.a_len == 0, "a name past the end: refused");
}

static void refused(size_t cap, uint64_t gpa, struct acpi_spec as,
		    const char *word, const char *what)
{
	static uint8_t buf[ACPI_ROOM];
	char err[200] = "";

	CHECK(acpi_build(buf, cap, gpa, &as, err, sizeof(err)) == -1 &&
		      strstr(err, word) != NULL,
	      "%s: refused with \"%s\"", what, err);
}

static void test_refusals(void)
{
	struct acpi_spec as = spec_base;

	as.as_vcpus = 0;
	refused(ACPI_ROOM, GPA, as, "vCPUs", "0 vCPUs");
	as.as_vcpus = 33;
	refused(ACPI_ROOM, GPA, as, "vCPUs", "33 vCPUs");
	as.as_vcpus = 2;
	refused(ACPI_ROOM, GPA + 8, as, "aligned", "a misaligned RSDP");
	refused(ACPI_ROOM, 0xd0000, as, "Linux looks", "an RSDP below 0xe0000");
	refused(100, GPA, as, "room", "a buffer too small");
	as.as_slp_typ_s5 = 8;
	refused(ACPI_ROOM, GPA, as, "SLP_TYP", "SLP_TYP past 3 bits");
	as = spec_base;
	as.as_vcpus = 2;
	as.as_pci_lo = 0xfff00000;
	refused(ACPI_ROOM, GPA, as, "4 GiB", "a window past 4 GiB");
}

int main(void)
{
	test_build(1);
	test_build(2);
	test_build(32);
	test_pm();
	test_aml();
	test_refusals();
	return checks_report("test_acpi");
}
