/*
 * domain.c: a libvirt domain's top level as a kvmmu VM: name, uuid,
 * memory, vcpu, os (the payload and its command line), kvmmu's metadata,
 * and the table that says, for every other element, whether kvmmu
 * ignores it with a warning or refuses it.  <devices> is domain_dev.c.
 * Trust: unprivileged; the XML is operator input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "abi.h"
#include "domain_xml.h"

/* How one child of <domain> is treated. */
struct dp_elem {
	const char *e_name;
	int (*e_fn)(struct dparse *p, const xmlNode *n);
	const char *e_why; /* no e_fn: ignored with this warning */
	bool e_once;	   /* refused when repeated */
};

static int dom_name(struct dparse *p, const xmlNode *n)
{
	char *s = dp_text(n);
	size_t len = s ? strlen(s) : 0;
	int r = 0;

	if (s == NULL || len == 0 || len > KVMMU_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") != len)
		r = dp_fail(p,
			    "name: '%s': kvmmu VM names are 1..%d characters "
			    "of [A-Za-z0-9._-]",
			    s ? s : "", KVMMU_NAME_MAX);
	else
		memcpy(p->p_d->d_name, s, len + 1);
	free(s);
	return r;
}

/* libvirt accepts 32 hex digits with or without the dashes. */
static int dom_uuid(struct dparse *p, const xmlNode *n)
{
	char *s = dp_text(n), hex[34];
	size_t k = 0;
	int r = 0;

	for (const char *c = s ? s : ""; *c && k < 33; c++) {
		if (*c != '-')
			hex[k++] = *c;
	}
	hex[k] = '\0';
	if (s == NULL || k != 32 || strspn(hex, "0123456789abcdefABCDEF") < 32)
		r = dp_fail(p, "uuid: '%s' is not a UUID", s ? s : "");
	for (size_t i = 0, o = 0; r == 0 && i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			p->p_d->d_uuid[o++] = '-';
		p->p_d->d_uuid[o++] = (char)(hex[i] | 0x20); /* lower case */
	}
	free(s);
	return r;
}

/* memory and currentMemory: KiB unless a unit says otherwise. */
static int dom_kib(struct dparse *p, const xmlNode *n, uint64_t *bytes)
{
	static const char *const attrs[] = {"unit", NULL};
	const char *what = (const char *)n->name;
	char *v, *unit;
	int r;

	if (dp_check(p, n, what, attrs, true) < 0)
		return -1;
	v = dp_text(n);
	unit = dp_attr(n, "unit");
	r = domain_scaled(v, unit, 1024, bytes);
	if (r < 0)
		dp_fail(p, "%s: '%s' with unit '%s' is not a size", what,
			v ? v : "", unit ? unit : "KiB");
	free(v);
	xmlFree(unit);
	return r;
}

static int dom_memory(struct dparse *p, const xmlNode *n)
{
	uint64_t b;

	if (dom_kib(p, n, &b) < 0)
		return -1;
	if (b % (1 << 20) || b < GUEST_MIN_RAM || b > GUEST_MAX_RAM)
		return dp_fail(p,
			       "memory: %llu bytes; kvmmu guests have %llu "
			       "MiB..%llu MiB, in whole MiB",
			       (unsigned long long)b, GUEST_MIN_RAM >> 20,
			       GUEST_MAX_RAM >> 20);
	p->p_d->d_memory_mib = b >> 20;
	return 0;
}

static int dom_current(struct dparse *p, const xmlNode *n)
{
	uint64_t b;

	if (dom_kib(p, n, &b) < 0)
		return -1;
	p->p_current = b;
	p->p_has_current = true;
	return 0;
}

static int dom_vcpu(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"placement", "cpuset", "current",
					    NULL};
	char *s, *cur;
	uint64_t v, c;
	int r = 0;

	if (dp_check(p, n, "vcpu", attrs, true) < 0)
		return -1;
	s = dp_text(n);
	cur = dp_attr(n, "current");
	if (dp_uint(s, 1, GUEST_MAX_VCPUS, &v) < 0)
		r = dp_fail(p, "vcpu: '%s' not in 1..%d", s ? s : "",
			    GUEST_MAX_VCPUS);
	else if (cur && (dp_uint(cur, 1, v, &c) < 0 || c != v))
		r = dp_fail(p,
			    "vcpu@current: '%s' differs from the %llu vCPUs; "
			    "kvmmu has no vCPU hotplug",
			    cur, (unsigned long long)v);
	p->p_d->d_vcpus = (unsigned)v;
	if (r == 0 && !dp_attr_is(n, "cpuset", "", true))
		dp_warn(p, "vcpu@cpuset: ignored (vCPU threads live in "
			   "mmu-server, which does not pin them)");
	if (r == 0 && !dp_attr_is(n, "placement", "static", true))
		dp_warn(p, "vcpu@placement: ignored (no automatic placement)");
	free(s);
	xmlFree(cur);
	return r;
}

/* os/type: hvm on x86_64; the machine must be a pc (i440fx) one. */
static int os_type(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"arch", "machine", NULL};
	char *t = dp_text(n), *m = dp_attr(n, "machine");
	int r = 0;

	if (dp_check(p, n, "os/type", attrs, true) < 0)
		r = -1;
	else if (t == NULL || strcmp(t, "hvm") != 0)
		r = dp_fail(p, "os/type: '%s'; kvmmu runs 'hvm' guests",
			    t ? t : "");
	else if (!dp_attr_is(n, "arch", "x86_64", true))
		r = dp_fail(p, "os/type@arch: kvmmu runs x86_64 guests");
	else if (m && strcmp(m, "pc") != 0 && strncmp(m, "pc-i440fx-", 10))
		r = dp_fail(p,
			    "os/type@machine: '%s'; kvmmu's machine is 'pc' "
			    "(i440fx-like: config mechanism #1, bus 0)",
			    m);
	free(t);
	xmlFree(m);
	return r;
}

static int os_text(struct dparse *p, const xmlNode *n, const char *path,
		   char **out)
{
	if (*out != NULL)
		return dp_fail(p, "%s: appears twice", path);
	if (dp_check(p, n, path, NULL, true) < 0)
		return -1;
	*out = dp_text(n);
	return *out ? 0 : dp_fail(p, "%s: out of memory", path);
}

static int os_child(struct dparse *p, const xmlNode *c, bool *typed,
		    char **kernel, char **initrd, bool *boot_warned)
{
	struct domain *d = p->p_d;

	if (dp_is(c, "type")) {
		*typed = true;
		return os_type(p, c);
	}
	if (dp_is(c, "kernel"))
		return os_text(p, c, "os/kernel", kernel);
	if (dp_is(c, "initrd"))
		return os_text(p, c, "os/initrd", initrd);
	if (dp_is(c, "cmdline")) {
		if (os_text(p, c, "os/cmdline", &d->d_cmdline) < 0)
			return -1;
		if (strlen(d->d_cmdline) >= DOMAIN_CMDLINE_MAX)
			return dp_fail(p, "os/cmdline: %zu bytes; at most %d",
				       strlen(d->d_cmdline),
				       DOMAIN_CMDLINE_MAX - 1);
		return 0;
	}
	if (dp_is(c, "boot")) {
		if (!*boot_warned)
			dp_warn(p, "os/boot: ignored (kvmmu boots os/kernel "
				   "directly)");
		*boot_warned = true;
		return 0;
	}
	return dp_fail(p,
		       "os/%s: kvmmu cannot honour it (it boots os/kernel "
		       "directly: a Linux bzImage with os/initrd, or a flat "
		       "payload; no firmware)",
		       (const char *)c->name);
}

static int dom_os(struct dparse *p, const xmlNode *n)
{
	char *kernel = NULL, *initrd = NULL;
	bool typed = false, boot_warned = false;
	int r = dp_check(p, n, "os", NULL, false);

	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c))
		r = os_child(p, c, &typed, &kernel, &initrd, &boot_warned);
	if (r == 0 && !typed)
		r = dp_fail(p, "os/type: missing");
	if (r == 0 && kernel == NULL)
		r = dp_fail(p, "os/kernel: missing (the guest payload)");
	if (r == 0)
		r = dp_path(p, "os/kernel", kernel, &p->p_d->d_kernel);
	if (r == 0 && initrd != NULL)
		r = dp_path(p, "os/initrd", initrd, &p->p_d->d_initrd);
	free(kernel);
	free(initrd);
	return r;
}

/* Our namespace's element; other namespaces belong to other tools. */
static int dom_metadata(struct dparse *p, const xmlNode *n)
{
	bool seen = false;

	for (xmlNode *c = dp_child(n); c; c = dp_next(c)) {
		if (c->ns == NULL ||
		    strcmp((const char *)c->ns->href, KVMMU_XMLNS) != 0)
			continue;
		if (strcmp((const char *)c->name, "zap-control") != 0)
			return dp_fail(p,
				       "metadata/%s: kvmmu's namespace has "
				       "only <zap-control/>",
				       (const char *)c->name);
		if (seen)
			return dp_fail(p, "metadata: two <zap-control/>");
		seen = true;
		if (dp_zap(p, c, &p->p_d->d_zap) < 0)
			return -1;
	}
	return 0;
}

/* on_poweroff/on_reboot/on_crash: kvmmu's run simply ends. */
static int dom_lifecycle(struct dparse *p, const xmlNode *n)
{
	char *s = dp_text(n);

	if (dp_check(p, n, (const char *)n->name, NULL, true) < 0) {
		free(s);
		return -1;
	}
	if (s && strcmp(s, "destroy") != 0)
		dp_warn(p,
			"%s='%s': ignored (a kvmmu run ends when the guest "
			"stops)",
			(const char *)n->name, s);
	free(s);
	return 0;
}

/*
 * <hugepages>: hugetlbfs pages of one size (libvirt's unit is KiB; no
 * <page>: the default size, 2 MiB on x86), which the server refuses at
 * CreateVm with the counts when the host has too few reserved.
 */
static int mb_hugepages(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"size", "unit", NULL};
	const char *path = "memoryBacking/hugepages/page";
	uint64_t bytes = 2ULL << 20;
	unsigned pages = 0;
	char *size, *unit;
	int r;

	if (dp_check(p, n, "memoryBacking/hugepages", NULL, false) < 0)
		return -1;
	for (xmlNode *c = dp_child(n); c; c = dp_next(c)) {
		if (!dp_is(c, "page"))
			return dp_fail(p,
				       "memoryBacking/hugepages/%s: kvmmu "
				       "cannot honour this element",
				       (const char *)c->name);
		if (pages++ > 0)
			return dp_fail(p, "%s: one page size for all RAM only",
				       path);
		if (dp_check(p, c, path, attrs, true) < 0)
			return -1;
		size = dp_attr(c, "size");
		unit = dp_attr(c, "unit");
		r = domain_scaled(size, unit, 1024, &bytes);
		if (r < 0)
			dp_fail(p, "%s: size '%s' with unit '%s' is not a size",
				path, size ? size : "", unit ? unit : "KiB");
		xmlFree(size);
		xmlFree(unit);
		if (r < 0)
			return -1;
	}
	if (bytes != 2ULL << 20 && bytes != 1ULL << 30)
		return dp_fail(p,
			       "%s: %llu KiB pages: x86 has 2048 KiB and "
			       "1048576 KiB",
			       path, (unsigned long long)(bytes >> 10));
	p->p_d->d_hugetlb_kib = (uint32_t)(bytes >> 10);
	return 0;
}

/* An element of one attribute, whose one accepted value is want. */
static int mb_only(struct dparse *p, const xmlNode *c, const char *attr,
		   const char *want, const char *why)
{
	const char *const attrs[] = {attr, NULL};
	char path[48];

	snprintf(path, sizeof(path), "memoryBacking/%s", (const char *)c->name);
	if (dp_check(p, c, path, attrs, true) < 0)
		return -1;
	if (!dp_attr_is(c, attr, want, true))
		return dp_fail(p, "%s: %s='%s' only (%s)", path, attr, want,
			       why);
	return 0;
}

/*
 * <allocation mode=...>: when RAM is allocated: immediate, all of it at
 * CreateVm; ondemand (the default), as the guest touches it.  Its page
 * size is the server's (huge where the host can) or <hugepages>'.
 */
static int mb_allocation(struct dparse *p, const xmlNode *c)
{
	static const char *const attrs[] = {"mode", NULL};

	if (dp_check(p, c, "memoryBacking/allocation", attrs, true) < 0)
		return -1;
	if (dp_attr_is(c, "mode", "immediate", false))
		p->p_d->d_ram_immediate = true;
	else if (!dp_attr_is(c, "mode", "ondemand", false))
		return dp_fail(p, "memoryBacking/allocation: mode='immediate' "
				  "or 'ondemand' only");
	return 0;
}

/*
 * <memoryBacking>: hugetlbfs pages; what kvmmu's RAM already is (shared
 * memfd pages that KSM never merges) accepted; <locked/> refused by name
 * (mmu-server runs without CAP_IPC_LOCK and would fail to mlock).
 */
static int dom_memory_backing(struct dparse *p, const xmlNode *n)
{
	int r = dp_check(p, n, "memoryBacking", NULL, false);

	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c)) {
		if (dp_is(c, "hugepages"))
			r = mb_hugepages(p, c);
		else if (dp_is(c, "nosharepages") || dp_is(c, "discard"))
			r = dp_check(p, c, "memoryBacking", NULL, true);
		else if (dp_is(c, "locked"))
			r = dp_fail(p, "memoryBacking/locked: refused: kvmmu "
				       "does not lock guest RAM in memory");
		else if (dp_is(c, "source"))
			r = mb_only(p, c, "type", "memfd",
				    "kvmmu's RAM is one");
		else if (dp_is(c, "access"))
			r = mb_only(p, c, "mode", "shared",
				    "the server maps kvmmu's RAM too");
		else if (dp_is(c, "allocation"))
			r = mb_allocation(p, c);
		else
			r = dp_fail(
				p,
				"memoryBacking/%s: kvmmu cannot honour this "
				"element",
				(const char *)c->name);
	}
	return r;
}

static int dom_accept(struct dparse *p, const xmlNode *n)
{
	(void)p;
	(void)n;
	return 0;
}

static const struct dp_elem dom_elems[] = {
	{"name", dom_name, NULL, true},
	{"uuid", dom_uuid, NULL, true},
	{"title", dom_accept, NULL, true},
	{"description", dom_accept, NULL, true},
	{"metadata", dom_metadata, NULL, true},
	{"memory", dom_memory, NULL, true},
	{"currentMemory", dom_current, NULL, true},
	{"memoryBacking", dom_memory_backing, NULL, true},
	{"vcpu", dom_vcpu, NULL, true},
	{"os", dom_os, NULL, true},
	{"devices", dp_devices, NULL, true},
	{"on_poweroff", dom_lifecycle, NULL, true},
	{"on_reboot", dom_lifecycle, NULL, true},
	{"on_crash", dom_lifecycle, NULL, true},
	{"features", NULL, "features: ignored (no ACPI tables or APIC)", true},
	{"cpu", NULL, "cpu: ignored (the guest sees KVM's CPU)", true},
	{"clock", NULL, "clock: ignored (no timers are modelled)", true},
	{"pm", NULL, "pm: ignored (no power management)", true},
	{"seclabel", NULL, "seclabel: ignored (no QEMU to confine)", false},
	{"resource", NULL, "resource: ignored (no QEMU cgroup)", true},
};

#define NELEMS (sizeof(dom_elems) / sizeof(dom_elems[0]))

static int dom_child(struct dparse *p, const xmlNode *c, unsigned *seen)
{
	for (size_t i = 0; i < NELEMS; i++) {
		const struct dp_elem *e = &dom_elems[i];

		if (!dp_is(c, e->e_name))
			continue;
		if (seen[i]++ && e->e_once)
			return dp_fail(p, "%s: appears twice", e->e_name);
		if (e->e_fn)
			return e->e_fn(p, c);
		if (seen[i] == 1)
			dp_warn(p, "%s", e->e_why);
		return 0;
	}
	return dp_fail(p, "%s: kvmmu cannot honour this element",
		       (const char *)c->name);
}

/* bootchurn's devices= must name the machine's device count. */
static int dom_devices_arg(struct dparse *p)
{
	const char *c = p->p_d->d_cmdline, *w;
	unsigned n = domain_pci_devices(p->p_d);
	uint64_t v;
	char buf[24];

	for (w = c; w && (w = strstr(w, "devices=")) != NULL; w++) {
		if (w != c && w[-1] != ' ')
			continue;
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(w + 8, " "),
			 w + 8);
		if (dp_uint(buf, 0, 1000, &v) < 0 || v != n)
			return dp_fail(p,
				       "os/cmdline: devices=%s, but the "
				       "domain has %u PCI devices (the VGA "
				       "and %u shmem)",
				       buf, n, p->p_d->d_shmem);
	}
	return 0;
}

static int dom_finish(struct dparse *p)
{
	struct domain *d = p->p_d;

	if (d->d_name[0] == '\0')
		return dp_fail(p, "name: missing");
	if (d->d_memory_mib == 0)
		return dp_fail(p, "memory: missing");
	if (d->d_kernel == NULL)
		return dp_fail(p, "os: missing (os/kernel is the payload)");
	if (p->p_has_current && p->p_current != d->d_memory_mib << 20)
		return dp_fail(p,
			       "currentMemory: %llu KiB differs from memory "
			       "(%llu KiB); kvmmu has no balloon: make them "
			       "equal",
			       (unsigned long long)p->p_current >> 10,
			       (unsigned long long)d->d_memory_mib << 10);
	if (d->d_shmem > 0 && !d->d_pc)
		return dp_fail(p, "devices/shmem: the pc machine's devices "
				  "need its VGA (PCI device 1): add <video>"
				  "<model type='vga' vram='2048'/></video>");
	return d->d_pc ? dom_devices_arg(p) : 0;
}

static int dom_root(struct dparse *p, const xmlNode *root)
{
	static const char *const attrs[] = {"type", "id", NULL};
	unsigned seen[NELEMS] = {0};

	if (!dp_is(root, "domain"))
		return dp_fail(p, "the document is not a <domain>");
	if (dp_check(p, root, "domain", attrs, false) < 0)
		return -1;
	if (!dp_attr_is(root, "type", "kvm", false))
		return dp_fail(p, "domain@type: kvmmu runs type='kvm' domains");
	for (xmlNode *c = dp_child(root); c; c = dp_next(c)) {
		if (dom_child(p, c, seen) < 0)
			return -1;
	}
	return dom_finish(p);
}

static int dom_syntax(struct dparse *p)
{
	const xmlError *e = xmlGetLastError();

	if (e == NULL || e->message == NULL)
		return dp_fail(p, "not well-formed XML");
	return dp_fail(p, "not well-formed XML: line %d: %.*s", e->line,
		       (int)strcspn(e->message, "\n"), e->message);
}

int domain_parse(const char *xml, size_t len, const char *base_dir,
		 struct domain *d, char *err, size_t errlen)
{
	struct dparse p = {
		.p_d = d, .p_base = base_dir, .p_err = err, .p_errlen = errlen};
	xmlDoc *doc;
	int r;

	memset(d, 0, sizeof(*d));
	kvmmu__zap_control__init(&d->d_zap);
	zap_defaults(&d->d_zap);
	d->d_vcpus = 1;
	d->d_serial_none = true;
	if (len > DOMAIN_MAX_XML)
		return dp_fail(&p, "%zu bytes: larger than %u", len,
			       DOMAIN_MAX_XML);
	xmlResetLastError();
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (doc == NULL)
		return dom_syntax(&p);
	if (doc->intSubset != NULL)
		r = dp_fail(&p, "<!DOCTYPE>: not accepted (libvirt writes "
				"none)");
	else
		r = dom_root(&p, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return r;
}

void domain_free(struct domain *d)
{
	free(d->d_kernel);
	free(d->d_initrd);
	free(d->d_cmdline);
	free(d->d_serial);
	free(d->d_rom);
	for (unsigned i = 0; i < d->d_ndisks; i++)
		free(d->d_disks[i].dk_path);
	for (unsigned i = 0; i < d->d_nfs; i++) {
		free(d->d_fs[i].fs_dir);
		free(d->d_fs[i].fs_socket);
	}
	d->d_ndisks = d->d_nfs = 0;
	d->d_kernel = d->d_initrd = d->d_cmdline = d->d_serial = NULL;
	d->d_rom = NULL;
}

unsigned domain_pci_devices(const struct domain *d)
{
	return d->d_pc ? 1 + d->d_shmem : 0;
}
