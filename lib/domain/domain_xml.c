/*
 * domain_xml.c: the domain parser's helpers (element and attribute
 * checks, paths, numbers), libvirt's scaled integers and kvmmu's
 * <zap-control/> metadata element.
 * Trust: unprivileged; the XML is operator input: every value is checked
 * for syntax and range, every unknown attribute refused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "domain_xml.h"

int dp_fail(struct dparse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->p_err, p->p_errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void dp_warn(struct dparse *p, const char *fmt, ...)
{
	char *w = p->p_d->d_warn;
	size_t used = strlen(w), cap = sizeof(p->p_d->d_warn);
	va_list ap;

	if (used + 8 >= cap)
		return; /* already full: it ends in "..." */
	if (used > 0)
		used += (size_t)snprintf(w + used, cap - used, "; ");
	va_start(ap, fmt);
	vsnprintf(w + used, cap - used, fmt, ap);
	va_end(ap);
	if (strlen(w) + 1 >= cap)
		memcpy(w + cap - 4, "...", 4);
}

void dp_address(struct dparse *p)
{
	if (!p->p_addr_warned)
		dp_warn(p, "devices/*/address: ignored (the VGA is PCI device "
			   "1, the shmems follow in document order, then the "
			   "disks in target order)");
	p->p_addr_warned = true;
}

bool dp_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNode *dp_elem_from(xmlNode *n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

xmlNode *dp_child(const xmlNode *n)
{
	return dp_elem_from(n->children);
}

xmlNode *dp_next(const xmlNode *n)
{
	return dp_elem_from(n->next);
}

char *dp_attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

bool dp_attr_is(const xmlNode *n, const char *name, const char *want,
		bool absent_ok)
{
	char *v = dp_attr(n, name);
	bool ok = v ? strcmp(v, want) == 0 : absent_ok;

	xmlFree(v);
	return ok;
}

static bool dp_listed(const char *name, const char *const *allowed)
{
	for (; allowed && *allowed; allowed++) {
		if (strcmp(name, *allowed) == 0)
			return true;
	}
	return false;
}

int dp_check(struct dparse *p, const xmlNode *n, const char *path,
	     const char *const *allowed, bool leaf)
{
	const xmlNode *c;

	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (a->ns != NULL || !dp_listed((const char *)a->name, allowed))
			return dp_fail(p,
				       "%s@%s: kvmmu does not support this "
				       "attribute",
				       path, (const char *)a->name);
	}
	c = dp_child(n);
	if (leaf && c != NULL)
		return dp_fail(p, "%s/%s: kvmmu does not support this element",
			       path, (const char *)c->name);
	return 0;
}

char *dp_text(const xmlNode *n)
{
	char *raw = (char *)xmlNodeGetContent(n), *s, *e, *out;

	if (raw == NULL)
		return strdup("");
	for (s = raw; isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	out = strndup(s, (size_t)(e - s));
	xmlFree(raw);
	return out;
}

int dp_path(struct dparse *p, const char *path, const char *raw, char **out)
{
	*out = NULL;
	if (raw[0] == '\0')
		return dp_fail(p, "%s: empty path", path);
	if (raw[0] != '/' && p->p_base == NULL)
		return dp_fail(p,
			       "%s: '%s' is relative; a domain from libvirt "
			       "needs an absolute path",
			       path, raw);
	if (raw[0] == '/')
		*out = strdup(raw);
	else if (asprintf(out, "%s/%s", p->p_base, raw) < 0)
		*out = NULL;
	return *out ? 0 : dp_fail(p, "%s: out of memory", path);
}

int dp_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || *v < min || *v > max)
		return -1;
	return 0;
}

/* libvirt's units: virScaleInteger (b, k/KiB = 1024, KB = 1000, ...). */
static int unit_scale(const char *unit, uint64_t *scale)
{
	static const char powers[] = "kmgtpe";
	const char *at;
	uint64_t base, s = 1;

	if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "bytes") == 0) {
		*scale = 1;
		return 0;
	}
	at = unit[0] ? strchr(powers, tolower((unsigned char)unit[0])) : NULL;
	if (at == NULL)
		return -1;
	if (unit[1] == '\0' || strcasecmp(unit + 1, "iB") == 0)
		base = 1024;
	else if (strcasecmp(unit + 1, "B") == 0)
		base = 1000;
	else
		return -1;
	for (long i = 0; i <= at - powers; i++)
		s *= base; /* at most 1024^6: no overflow */
	*scale = s;
	return 0;
}

int domain_scaled(const char *value, const char *unit, uint64_t default_scale,
		  uint64_t *bytes)
{
	uint64_t v, scale = default_scale;

	if (dp_uint(value, 0, UINT64_MAX, &v) < 0)
		return -1;
	if (unit && unit[0] && unit_scale(unit, &scale) < 0)
		return -1;
	return __builtin_mul_overflow(v, scale, bytes) ? -1 : 0;
}

void zap_defaults(Kvmmu__ZapControl *z)
{
	if (!z->has_mode)
		z->mode = KVMMU__ZAP_MODE__ZAP_ALL;
	if (!z->has_batch_window_us)
		z->batch_window_us = 0;
	if (!z->has_allones)
		z->allones = KVMMU__ALL_ONES__ALLONES_MMIO;
	z->has_mode = z->has_batch_window_us = z->has_allones = 1;
}

bool zap_equal(const Kvmmu__ZapControl *a, const Kvmmu__ZapControl *b)
{
	return a->mode == b->mode && a->batch_window_us == b->batch_window_us &&
	       a->allones == b->allones;
}

/* One attribute of <zap-control>: 0, or -1 with the error set. */
static int zap_attr(struct dparse *p, const char *name, const char *v,
		    Kvmmu__ZapControl *z)
{
	uint64_t n;
	int k;

	if (strcmp(name, "mode") == 0) {
		if ((k = zap_mode_parse(v)) < 0)
			return dp_fail(p,
				       "zap-control@mode: '%s' is neither "
				       "'all' nor 'memslot'",
				       v);
		z->mode = (Kvmmu__ZapMode)k;
	} else if (strcmp(name, "batch-window-us") == 0) {
		if (dp_uint(v, 0, ZAP_MAX_WINDOW_US, &n) < 0)
			return dp_fail(p,
				       "zap-control@batch-window-us: '%s' is "
				       "not a number of microseconds in "
				       "0..%u",
				       v, ZAP_MAX_WINDOW_US);
		z->batch_window_us = (uint32_t)n;
	} else if (strcmp(name, "allones") == 0) {
		if ((k = zap_allones_parse(v)) < 0)
			return dp_fail(p,
				       "zap-control@allones: '%s' is neither "
				       "'mmio' nor 'rom'",
				       v);
		z->allones = (Kvmmu__AllOnes)k;
	} else {
		return dp_fail(p,
			       "zap-control@%s: unknown attribute (kvmmu "
			       "knows mode, batch-window-us, allones)",
			       name);
	}
	return 0;
}

int dp_zap(struct dparse *p, const xmlNode *n, Kvmmu__ZapControl *z)
{
	kvmmu__zap_control__init(z);
	zap_defaults(z);
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		char *v = (char *)xmlNodeGetContent((const xmlNode *)a);
		int r;

		if (a->ns != NULL)
			r = dp_fail(p, "zap-control@%s:%s: unknown attribute",
				    (const char *)a->ns->prefix,
				    (const char *)a->name);
		else
			r = zap_attr(p, (const char *)a->name, v ? v : "", z);
		xmlFree(v);
		if (r < 0)
			return r;
	}
	if (dp_child(n) != NULL)
		return dp_fail(p, "zap-control/%s: zap-control has no children",
			       (const char *)dp_child(n)->name);
	return 0;
}

int zap_parse(const char *xml, Kvmmu__ZapControl *z, char *err, size_t errlen)
{
	struct domain scratch = {0};
	struct dparse p = {.p_d = &scratch, .p_err = err, .p_errlen = errlen};
	xmlDoc *doc;
	xmlNode *root;
	int r;

	kvmmu__zap_control__init(z);
	zap_defaults(z);
	if (xml == NULL || xml[0] == '\0')
		return 0;
	doc = xmlReadMemory(
		xml, (int)strnlen(xml, DOMAIN_MAX_XML), "metadata", NULL,
		XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return dp_fail(&p, "zap-control: not well-formed XML");
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset != NULL || root == NULL ||
	    strcmp((const char *)root->name, "zap-control") != 0 ||
	    (root->ns != NULL &&
	     strcmp((const char *)root->ns->href, KVMMU_XMLNS) != 0))
		r = dp_fail(&p, "metadata: kvmmu's namespace holds one "
				"<zap-control/> element and nothing else");
	else
		r = dp_zap(&p, root, z);
	xmlFreeDoc(doc);
	return r;
}
