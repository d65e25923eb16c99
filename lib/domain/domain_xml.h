/*
 * domain_xml.h: what the domain parser's files share (domain.c, the
 * top level; domain_dev.c, <devices>; domain_xml.c, helpers, units and
 * <zap-control>).  Internal to the parser.
 * Trust: unprivileged; every helper treats the document as hostile.
 */
#ifndef KVMMU_DOMAIN_XML_H
#define KVMMU_DOMAIN_XML_H

#include <libxml/tree.h>

#include "domain.h"

struct dparse {
	struct domain *p_d;
	const char *p_base; /* directory for relative paths; NULL: none */
	char *p_err;
	size_t p_errlen;
	uint64_t p_current; /* currentMemory in bytes */
	bool p_has_current;
	bool p_addr_warned; /* devices' <address>: one warning */
	bool p_serial_seen;
	char p_serial_type[8]; /* stdio, file, null */
	bool p_video_seen;
};

/* Sets the error (the element path first) and returns -1. */
int dp_fail(struct dparse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends one item to the domain's warnings. */
void dp_warn(struct dparse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True for an element called name in no namespace. */
bool dp_is(const xmlNode *n, const char *name);
/* The first element child (or next element sibling) of n, or NULL. */
xmlNode *dp_child(const xmlNode *n);
xmlNode *dp_next(const xmlNode *n);
/* An attribute in no namespace (free with xmlFree), or NULL. */
char *dp_attr(const xmlNode *n, const char *name);
/*
 * Refuses attributes other than those listed (NULL-terminated) and any
 * element child when leaf; path names the element in the message.
 */
int dp_check(struct dparse *p, const xmlNode *n, const char *path,
	     const char *const *allowed, bool leaf);
/* The element's text, whitespace trimmed (free with free()). */
char *dp_text(const xmlNode *n);
/* A file path from the XML: absolute, or relative to p_base. */
int dp_path(struct dparse *p, const char *path, const char *raw, char **out);
/* A decimal number in [min, max]; -1 otherwise. */
int dp_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* The attribute equals want (absent: ok when absent_ok). */
bool dp_attr_is(const xmlNode *n, const char *name, const char *want,
		bool absent_ok);

/* <zap-control/>: from <metadata> or from virDomainGetMetadata. */
int dp_zap(struct dparse *p, const xmlNode *n, Kvmmu__ZapControl *z);
/* A device's <address>: ignored, with one warning. */
void dp_address(struct dparse *p);
/* <devices> (domain_dev.c). */
int dp_devices(struct dparse *p, const xmlNode *devs);
/* <disk> and <filesystem> (domain_disk.c). */
int dp_disk(struct dparse *p, const xmlNode *n);
int dp_filesystem(struct dparse *p, const xmlNode *n);

#endif
