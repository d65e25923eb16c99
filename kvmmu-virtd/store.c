/*
 * store.c: domain definitions on disk and the domains' state (store.h).
 * Definitions are written to a temporary file and renamed, so a crash
 * never leaves half a definition.  XML edits (a made-up UUID, metadata)
 * go through libxml2, and every result is checked again by domain.c.
 * Trust: privileged; XML and names come from clients.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domain.h"
#include "file.h"
#include "store.h"

#define XML_READ_OPTS (XML_PARSE_NONET | XML_PARSE_NOBLANKS)

int lverr_set(struct lverr *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int store_uuid_parse(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	for (const char *p = s; *p && n < 32; p++) {
		unsigned v;

		if (*p == '-')
			continue;
		if (sscanf(p, "%1x", &v) != 1)
			return -1;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 ? 0 : -1;
}

static void uuid_to_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
		 "%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* The XML a client gave must be a domain the frontend can run. */
static int dom_check(const char *xml, struct domain *d, struct lverr *e)
{
	char err[600];

	memset(d, 0, sizeof(*d));
	if (domain_parse(xml, strlen(xml), NULL, d, err, sizeof(err)) == 0)
		return 0;
	domain_free(d);
	return lverr_set(e, LV_ERR_XML_ERROR, "%s", err);
}

/* The root element serialized, without an XML declaration. */
static char *doc_string(xmlDocPtr doc)
{
	xmlBufferPtr b = xmlBufferCreate();
	char *s = NULL;

	if (b == NULL)
		return NULL;
	if (xmlNodeDump(b, doc, xmlDocGetRootElement(doc), 0, 1) >= 0)
		s = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	return s;
}

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* A definition without <uuid> gets a random one, as libvirt does. */
static char *xml_with_uuid(const char *xml, char uuid[37], struct lverr *e)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_READ_OPTS);
	xmlNodePtr root, name, u;
	uint8_t raw[16];
	char *out = NULL;

	if (doc == NULL) {
		lverr_set(e, LV_ERR_XML_ERROR, "domain XML: not well-formed");
		return NULL;
	}
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		lverr_set(e, LV_ERR_INTERNAL_ERROR, "getrandom: %s",
			  strerror(errno));
		goto out;
	}
	raw[6] = (raw[6] & 0x0f) | 0x40; /* version 4 */
	raw[8] = (raw[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	uuid_to_str(raw, uuid);
	root = xmlDocGetRootElement(doc);
	name = child_named(root, "name");
	u = xmlNewDocNode(doc, NULL, BAD_CAST "uuid", BAD_CAST uuid);
	if (u == NULL ||
	    (name ? xmlAddNextSibling(name, u) : xmlAddChild(root, u)) == NULL)
		lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	else if ((out = doc_string(doc)) == NULL)
		lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
out:
	xmlFreeDoc(doc);
	return out;
}

static char *path_of(const struct store *s, const char *sub, const char *name,
		     const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/%s/%s%s", s->st_dir, sub, name, ext) < 0)
		return NULL;
	return p;
}

/* Writes text to path through a temporary file and a rename. */
static int write_file(const char *path, const char *text, struct lverr *e)
{
	char tmp[4200];
	size_t n = strlen(text);
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s", tmp,
				 strerror(errno));
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0)
		r = lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s", tmp,
			      strerror(errno));
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s", path,
			      strerror(errno));
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A definition or live XML file, or NULL. */
static char *read_file(const char *path)
{
	size_t len;
	char *buf;

	if (file_read(path, DOMAIN_MAX_XML, &buf, &len) < 0 || len == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *store_read_live(struct store *s, const struct vdom *d)
{
	char *p = path_of(s, "run", d->vd_name, ".xml"), *xml;

	xml = p ? read_file(p) : NULL;
	free(p);
	return xml;
}

static struct vdom *vdom_new(const struct domain *d)
{
	struct vdom *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	snprintf(v->vd_name, sizeof(v->vd_name), "%s", d->d_name);
	snprintf(v->vd_uuid_str, sizeof(v->vd_uuid_str), "%s", d->d_uuid);
	store_uuid_parse(d->d_uuid, v->vd_uuid);
	v->vd_memory_kib = d->d_memory_mib * 1024;
	v->vd_vcpus = d->d_vcpus;
	v->vd_id = -1;
	v->vd_pidfd = -1;
	return v;
}

static void vdom_free(struct vdom *v)
{
	free(v->vd_config);
	free(v->vd_live);
	free(v);
}

/* One definition file; a bad one is said and skipped, not fatal. */
static int store_load(struct store *s, const char *file, struct lverr *e)
{
	struct lverr why = {0};
	char *path = NULL, *xml;
	struct domain d;
	struct vdom *v = NULL;

	if (asprintf(&path, "%s/domains/%s", s->st_dir, file) < 0)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	xml = read_file(path);
	if (xml == NULL) {
		lverr_set(&why, LV_ERR_OPERATION_FAILED, "unreadable");
	} else if (dom_check(xml, &d, &why) == 0) {
		if (d.d_uuid[0] == '\0')
			lverr_set(&why, LV_ERR_XML_ERROR, "no uuid");
		else if ((v = vdom_new(&d)) == NULL)
			lverr_set(&why, LV_ERR_NO_MEMORY, "out of memory");
		domain_free(&d);
	}
	if (v == NULL) {
		fprintf(stderr, "kvmmu-virtd: %s: %s: skipped\n", path,
			why.msg);
		free(xml);
		free(path);
		return 0;
	}
	free(path);
	v->vd_config = xml;
	TAILQ_INSERT_TAIL(&s->st_doms, v, vd_entry);
	return 0;
}

int store_open(struct store *s, const char *dir, struct lverr *e)
{
	const char *subs[] = {"", "/domains", "/run", "/log"};
	struct dirent *de;
	DIR *dd;
	char p[4096];

	memset(s, 0, sizeof(*s));
	TAILQ_INIT(&s->st_doms);
	s->st_next_id = 1;
	s->st_dir = strdup(dir);
	if (s->st_dir == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, subs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s",
					 p, strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/domains", dir);
	dd = opendir(p);
	if (dd == NULL)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s", p,
				 strerror(errno));
	while ((de = readdir(dd)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".xml") == 0 &&
		    store_load(s, de->d_name, e) < 0) {
			closedir(dd);
			return -1;
		}
	}
	closedir(dd);
	return 0;
}

void store_close(struct store *s)
{
	struct vdom *v;

	while ((v = TAILQ_FIRST(&s->st_doms)) != NULL) {
		TAILQ_REMOVE(&s->st_doms, v, vd_entry);
		vdom_free(v);
	}
	free(s->st_dir);
	s->st_dir = NULL;
}

struct vdom *store_by_name(struct store *s, const char *name)
{
	struct vdom *v;

	TAILQ_FOREACH(v, &s->st_doms, vd_entry)
	{
		if (strcmp(v->vd_name, name) == 0)
			return v;
	}
	return NULL;
}

struct vdom *store_by_uuid(struct store *s, const uint8_t uuid[16])
{
	struct vdom *v;

	TAILQ_FOREACH(v, &s->st_doms, vd_entry)
	{
		if (memcmp(v->vd_uuid, uuid, 16) == 0)
			return v;
	}
	return NULL;
}

struct vdom *store_by_id(struct store *s, int id)
{
	struct vdom *v;

	TAILQ_FOREACH(v, &s->st_doms, vd_entry)
	{
		if (id >= 0 && v->vd_id == id)
			return v;
	}
	return NULL;
}

int store_save(struct store *s, struct vdom *d, struct lverr *e)
{
	char *path = path_of(s, "domains", d->vd_name, ".xml");
	int r;

	if (path == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	r = write_file(path, d->vd_config, e);
	free(path);
	return r;
}

int store_define(struct store *s, const char *xml, struct vdom **out,
		 bool *updated, struct lverr *e)
{
	char uuid[37], *text = NULL;
	struct vdom *v, *byname, *byuuid;
	struct domain d;

	if (dom_check(xml, &d, e) < 0)
		return -1;
	if (d.d_uuid[0] == '\0') {
		domain_free(&d);
		text = xml_with_uuid(xml, uuid, e);
		if (text == NULL || dom_check(text, &d, e) < 0) {
			free(text);
			return -1;
		}
	} else if ((text = strdup(xml)) == NULL) {
		domain_free(&d);
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	}
	v = vdom_new(&d);
	domain_free(&d);
	if (v == NULL) {
		free(text);
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	}
	byname = store_by_name(s, v->vd_name);
	byuuid = store_by_uuid(s, v->vd_uuid);
	if (byname != byuuid) {
		struct vdom *other = byname ? byname : byuuid;

		lverr_set(e, LV_ERR_OPERATION_FAILED,
			  "domain '%s' is already defined with uuid %s",
			  other->vd_name, other->vd_uuid_str);
		free(text);
		vdom_free(v);
		return -1;
	}
	*updated = byname != NULL;
	if (byname != NULL) {
		/* A redefinition: the running VM keeps its live XML. */
		free(byname->vd_config);
		byname->vd_config = text;
		if (byname->vd_state == VS_SHUTOFF) {
			byname->vd_memory_kib = v->vd_memory_kib;
			byname->vd_vcpus = v->vd_vcpus;
		}
		vdom_free(v);
		v = byname;
	} else {
		v->vd_config = text;
		TAILQ_INSERT_TAIL(&s->st_doms, v, vd_entry);
	}
	*out = v;
	return store_save(s, v, e);
}

struct vdom *store_adopt_live(struct store *s, const char *name,
			      const uint8_t uuid[16])
{
	struct lverr why = {0};
	struct vdom *v = NULL;
	struct domain d;
	char *p, *xml;

	/* The name comes from mmu-server's list: a file name, nothing more. */
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') ||
	    strlen(name) > KVMMU_NAME_MAX || store_by_name(s, name) ||
	    store_by_uuid(s, uuid))
		return NULL;
	p = path_of(s, "run", name, ".xml");
	xml = p ? read_file(p) : NULL;
	free(p);
	if (xml == NULL)
		return NULL;
	if (dom_check(xml, &d, &why) == 0) {
		if (strcmp(d.d_name, name) == 0)
			v = vdom_new(&d);
		domain_free(&d);
	}
	if (v == NULL || memcmp(v->vd_uuid, uuid, 16) != 0) {
		free(v);
		free(xml);
		return NULL;
	}
	v->vd_live = xml;
	TAILQ_INSERT_TAIL(&s->st_doms, v, vd_entry);
	return v;
}

int store_undefine(struct store *s, struct vdom *d, struct lverr *e)
{
	char *path = path_of(s, "domains", d->vd_name, ".xml");

	if (path == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	if (unlink(path) < 0 && errno != ENOENT) {
		lverr_set(e, LV_ERR_OPERATION_FAILED, "%s: %s", path,
			  strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	free(d->vd_config);
	d->vd_config = NULL;
	/*
	 * Forgotten only with no frontend: one that is starting (a reply
	 * and a pidfd watch still name d) makes it transient, and its exit
	 * forgets it (vms.c).
	 */
	if (d->vd_state == VS_SHUTOFF && d->vd_pid <= 0)
		store_forget(s, d);
	return 0;
}

void store_forget(struct store *s, struct vdom *d)
{
	TAILQ_REMOVE(&s->st_doms, d, vd_entry);
	vdom_free(d);
}

int store_write_live(struct store *s, struct vdom *d, char *path, size_t len,
		     struct lverr *e)
{
	char *p = path_of(s, "run", d->vd_name, ".xml");
	int r;

	if (p == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	snprintf(path, len, "%s", p);
	r = write_file(p, d->vd_live, e);
	free(p);
	return r;
}

void store_drop_live(struct store *s, struct vdom *d)
{
	char *p = path_of(s, "run", d->vd_name, ".xml");

	if (p != NULL)
		unlink(p);
	free(p);
	free(d->vd_live);
	d->vd_live = NULL;
}

/* <metadata>'s element in namespace uri, or NULL. */
static xmlNodePtr meta_element(xmlNodePtr meta, const char *uri)
{
	for (xmlNodePtr c = meta ? meta->children : NULL; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && c->ns && c->ns->href &&
		    strcmp((const char *)c->ns->href, uri) == 0)
			return c;
	}
	return NULL;
}

static const char *const meta_names[] = {"description", "title"};

char *store_get_metadata(const char *xml, int type, const char *uri,
			 struct lverr *e)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_READ_OPTS);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, n = NULL;
	xmlBufferPtr b;
	char *out = NULL;

	if (root == NULL) {
		xmlFreeDoc(doc);
		lverr_set(e, LV_ERR_INTERNAL_ERROR, "stored XML unreadable");
		return NULL;
	}
	if (type == 0 || type == 1)
		n = child_named(root, meta_names[type]);
	else if (uri != NULL)
		n = meta_element(child_named(root, "metadata"), uri);
	if (n == NULL) {
		lverr_set(e, LV_ERR_NO_DOMAIN_METADATA,
			  "Requested metadata element is not present");
	} else if (type == 0 || type == 1) {
		xmlChar *t = xmlNodeGetContent(n);

		out = strdup(t ? (const char *)t : "");
		xmlFree(t);
	} else if ((b = xmlBufferCreate()) != NULL) {
		if (xmlNodeDump(b, doc, n, 0, 0) >= 0)
			out = strdup((const char *)xmlBufferContent(b));
		xmlBufferFree(b);
	}
	if (n != NULL && out == NULL)
		lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	xmlFreeDoc(doc);
	return out;
}

/* The element and its descendants in namespace ns (libvirt's key/uri). */
static void set_ns(xmlNodePtr n, xmlNsPtr ns)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		xmlSetNs(n, ns);
		set_ns(n->children, ns);
	}
}

static int meta_element_set(xmlDocPtr doc, xmlNodePtr root, const char *value,
			    const char *key, const char *uri, struct lverr *e)
{
	xmlNodePtr meta = child_named(root, "metadata"), old, copy;
	xmlDocPtr frag;
	xmlNsPtr ns;

	if (uri == NULL || (value != NULL && key == NULL))
		return lverr_set(e, LV_ERR_INVALID_ARG,
				 "metadata: an element needs a namespace uri "
				 "and a key (its prefix)");
	while ((old = meta_element(meta, uri)) != NULL) {
		xmlUnlinkNode(old);
		xmlFreeNode(old);
	}
	if (value == NULL)
		return 0;
	frag = xmlReadMemory(value, (int)strlen(value), "metadata.xml", NULL,
			     XML_READ_OPTS);
	if (frag == NULL || xmlDocGetRootElement(frag) == NULL) {
		xmlFreeDoc(frag);
		return lverr_set(e, LV_ERR_XML_ERROR,
				 "metadata: not a well-formed XML element");
	}
	if (meta == NULL)
		meta = xmlNewChild(root, NULL, BAD_CAST "metadata", NULL);
	copy = meta ? xmlDocCopyNode(xmlDocGetRootElement(frag), doc, 1) : NULL;
	xmlFreeDoc(frag);
	if (copy == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	ns = xmlNewNs(copy, BAD_CAST uri, BAD_CAST key);
	set_ns(copy, ns);
	copy->next = NULL;
	xmlAddChild(meta, copy);
	return 0;
}

int store_set_metadata(char **xmlp, int type, const char *value,
		       const char *key, const char *uri, struct lverr *e)
{
	xmlDocPtr doc = xmlReadMemory(*xmlp, (int)strlen(*xmlp), "domain.xml",
				      NULL, XML_READ_OPTS);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, n;
	struct domain d;
	char *text;
	int r = 0;

	if (root == NULL) {
		xmlFreeDoc(doc);
		return lverr_set(e, LV_ERR_INTERNAL_ERROR,
				 "stored XML unreadable");
	}
	if (type == 0 || type == 1) {
		while ((n = child_named(root, meta_names[type])) != NULL) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		if (value != NULL &&
		    xmlNewTextChild(root, NULL, BAD_CAST meta_names[type],
				    BAD_CAST value) == NULL)
			r = lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	} else if (type == 2) {
		r = meta_element_set(doc, root, value, key, uri, e);
	} else {
		r = lverr_set(e, LV_ERR_INVALID_ARG,
			      "metadata type %d: not description (0), title "
			      "(1) or element (2)",
			      type);
	}
	text = r == 0 ? doc_string(doc) : NULL;
	xmlFreeDoc(doc);
	if (r == 0 && text == NULL)
		r = lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	/* What the frontend could not run is not stored. */
	if (r == 0 && dom_check(text, &d, e) < 0)
		r = -1;
	else if (r == 0)
		domain_free(&d);
	if (r < 0) {
		free(text);
		return -1;
	}
	free(*xmlp);
	*xmlp = text;
	return 0;
}
