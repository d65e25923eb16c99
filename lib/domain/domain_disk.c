/*
 * domain_disk.c: a libvirt domain's disks and shared directories, each
 * a virtio-pci function served by a vhost-user back end:
 *
 *   <disk type='file' device='disk'>          qemu-storage-daemon, started
 *     <driver name='qemu' type='raw|qcow2'/>    by the frontend, exports
 *     <source file='IMAGE'/>                    this one image
 *     <target dev='vdX' bus='virtio'/>
 *     <readonly/>                               (optional)
 *   <disk type='vhostuser' device='disk'>     a vhost-user-blk back end
 *     <source type='unix' path='SOCKET'/>       the operator runs
 *   <filesystem type='mount'>                 virtio-fs: a virtiofsd for
 *     <driver type='virtiofs'/>                 DIR, or a back end at
 *     <source dir='DIR'/> or <source socket='SOCKET'/>    SOCKET
 *     <target dir='TAG'/>
 *
 * The same as vmm-frontend's --disk, --vhost-user-blk, --fs and
 * --vhost-user-fs.  Anything else a libvirt disk can be (cdrom, floppy,
 * lun, block or network sources, other buses and drivers) is refused
 * naming it, here, so that kvmmu-virtd refuses it at define; so are two
 * disks with one target and two filesystems with one tag.  Whether the
 * files exist is the frontend's to say, at start (they may be made
 * between define and start).
 * Trust: unprivileged; the XML is operator input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_xml.h"

/* What a <disk> says, before it is checked as a whole. */
struct dk_parse {
	char path[80]; /* "devices/disk[target='vda']" once known */
	bool socket;
	bool has_source, has_target, has_driver;
};

static int disk_driver(struct dparse *p, const xmlNode *n, struct dk_parse *k,
		       struct domain_disk *dk)
{
	static const char *const attrs[] = {"name", "type", NULL};
	char *name = dp_attr(n, "name"), *type = dp_attr(n, "type");
	int r = dp_check(p, n, "devices/disk/driver", attrs, true);

	if (k->has_driver)
		r = dp_fail(p, "devices/disk/driver: appears twice");
	k->has_driver = true;
	if (r == 0 && name && strcmp(name, "qemu") != 0)
		r = dp_fail(p,
			    "devices/disk/driver@name: '%s'; kvmmu's disks "
			    "are served by qemu-storage-daemon: 'qemu'",
			    name);
	else if (r == 0 && type && strcmp(type, "raw") != 0 &&
		 (k->socket || strcmp(type, "qcow2") != 0))
		r = dp_fail(p,
			    "devices/disk/driver@type: '%s'; kvmmu reads "
			    "%s",
			    type,
			    k->socket ? "'raw' (the vhost-user back end "
					"owns the image format)"
				      : "'raw' or 'qcow2' images");
	dk->dk_qcow2 = r == 0 && type && strcmp(type, "qcow2") == 0;
	xmlFree(name);
	xmlFree(type);
	return r;
}

static int disk_source(struct dparse *p, const xmlNode *n, struct dk_parse *k,
		       struct domain_disk *dk)
{
	static const char *const fattrs[] = {"file", NULL};
	static const char *const sattrs[] = {"type", "path", NULL};
	const char *what = k->socket ? "path" : "file";
	char attr[48], *raw;
	int r;

	if (k->has_source)
		return dp_fail(p, "devices/disk/source: appears twice");
	k->has_source = true;
	if (dp_check(p, n, "devices/disk/source", k->socket ? sattrs : fattrs,
		     true) < 0)
		return -1;
	if (k->socket && !dp_attr_is(n, "type", "unix", false))
		return dp_fail(p, "devices/disk/source@type: a vhost-user back "
				  "end is reached by type='unix'");
	raw = dp_attr(n, what);
	snprintf(attr, sizeof(attr), "devices/disk/source@%s", what);
	if (raw == NULL)
		return dp_fail(p, "%s: missing", attr);
	r = dp_path(p, attr, raw, &dk->dk_path);
	xmlFree(raw);
	return r;
}

static bool target_ok(const char *t)
{
	return strlen(t) == 3 && t[0] == 'v' && t[1] == 'd' && t[2] >= 'a' &&
	       t[2] < 'a' + DOMAIN_DISKS_MAX;
}

/* libvirt takes the bus from the name when bus is absent: vd* is virtio. */
static int disk_target(struct dparse *p, const xmlNode *n, struct dk_parse *k,
		       struct domain_disk *dk)
{
	static const char *const attrs[] = {"dev", "bus", NULL};
	char *dev = dp_attr(n, "dev"), *bus = dp_attr(n, "bus");
	int r = dp_check(p, n, "devices/disk/target", attrs, true);

	if (k->has_target)
		r = dp_fail(p, "devices/disk/target: appears twice");
	k->has_target = true;
	if (r == 0 && dev == NULL)
		r = dp_fail(p, "devices/disk/target@dev: missing");
	else if (r == 0 && bus && strcmp(bus, "virtio") != 0)
		r = dp_fail(p,
			    "devices/disk[target='%s']/target@bus: '%s'; "
			    "kvmmu's disks are on bus='virtio'",
			    dev, bus);
	else if (r == 0 && !target_ok(dev))
		r = dp_fail(p,
			    "devices/disk/target@dev: '%s'; kvmmu's disks "
			    "are vda..vd%c (virtio)",
			    dev, 'a' + DOMAIN_DISKS_MAX - 1);
	if (r == 0) {
		memcpy(dk->dk_target, dev, 4);
		snprintf(k->path, sizeof(k->path), "devices/disk[target='%s']",
			 dev);
	}
	xmlFree(dev);
	xmlFree(bus);
	return r;
}

static int disk_child(struct dparse *p, const xmlNode *c, struct dk_parse *k,
		      struct domain_disk *dk)
{
	if (dp_is(c, "driver"))
		return disk_driver(p, c, k, dk);
	if (dp_is(c, "source"))
		return disk_source(p, c, k, dk);
	if (dp_is(c, "target"))
		return disk_target(p, c, k, dk);
	if (dp_is(c, "readonly")) {
		if (k->socket)
			return dp_fail(p, "devices/disk[type='vhostuser']/"
					  "readonly: the back end the operator "
					  "runs decides (export it read-only)");
		dk->dk_ro = true;
		return dp_check(p, c, "devices/disk/readonly", NULL, true);
	}
	if (dp_is(c, "address")) {
		dp_address(p);
		return 0;
	}
	if (dp_is(c, "alias"))
		return 0;
	return dp_fail(p, "devices/disk/%s: kvmmu does not support this",
		       (const char *)c->name);
}

/* The element's type and device: which kinds of disk kvmmu has. */
static int disk_kind(struct dparse *p, const xmlNode *n, struct dk_parse *k)
{
	static const char *const attrs[] = {"type", "device", NULL};
	char *type = dp_attr(n, "type"), *dev = dp_attr(n, "device");
	int r = dp_check(p, n, "devices/disk", attrs, false);

	if (r == 0 && dev && strcmp(dev, "disk") != 0)
		r = dp_fail(p,
			    "devices/disk[device='%s']: kvmmu has disks "
			    "only (device='disk', virtio-blk)",
			    dev);
	else if (r == 0 && (type == NULL || (strcmp(type, "file") != 0 &&
					     strcmp(type, "vhostuser") != 0)))
		r = dp_fail(p,
			    "devices/disk[type='%s']: kvmmu's disks are "
			    "type='file' (an image) or type='vhostuser' (a "
			    "back end's socket)",
			    type ? type : "");
	k->socket = r == 0 && strcmp(type, "vhostuser") == 0;
	xmlFree(type);
	xmlFree(dev);
	return r;
}

int dp_disk(struct dparse *p, const xmlNode *n)
{
	struct domain *d = p->p_d;
	struct dk_parse k = {.path = "devices/disk"};
	struct domain_disk *dk;
	int r;

	if (d->d_ndisks == DOMAIN_DISKS_MAX)
		return dp_fail(p, "devices/disk: at most %d disks",
			       DOMAIN_DISKS_MAX);
	dk = &d->d_disks[d->d_ndisks++]; /* domain_free frees its path */
	memset(dk, 0, sizeof(*dk));
	r = disk_kind(p, n, &k);
	dk->dk_socket = k.socket;
	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c))
		r = disk_child(p, c, &k, dk);
	if (r == 0 && !k.has_target)
		r = dp_fail(p, "devices/disk/target: missing (dev='vdX')");
	else if (r == 0 && !k.has_source)
		r = dp_fail(p, "%s/source: missing (%s)", k.path,
			    k.socket ? "type='unix' path='SOCKET'"
				     : "file='IMAGE'");
	for (unsigned i = 0; r == 0 && i + 1 < d->d_ndisks; i++) {
		if (strcmp(d->d_disks[i].dk_target, dk->dk_target) == 0)
			r = dp_fail(p, "%s: two disks with this target",
				    k.path);
	}
	return r;
}

/* What a <filesystem> says, before it is checked as a whole. */
struct fs_parse {
	bool has_driver, has_source, has_target;
};

static int fs_driver(struct dparse *p, const xmlNode *n, struct fs_parse *k)
{
	static const char *const attrs[] = {"type", "queue", NULL};
	char *type = dp_attr(n, "type");
	int r = dp_check(p, n, "devices/filesystem/driver", attrs, true);

	if (k->has_driver)
		r = dp_fail(p, "devices/filesystem/driver: appears twice");
	k->has_driver = true;
	if (r == 0 && (type == NULL || strcmp(type, "virtiofs") != 0))
		r = dp_fail(p,
			    "devices/filesystem/driver@type: '%s'; kvmmu "
			    "shares directories by virtio-fs only: "
			    "type='virtiofs'",
			    type ? type : "");
	xmlFree(type);
	return r;
}

static int fs_source(struct dparse *p, const xmlNode *n, struct fs_parse *k,
		     struct domain_fs *fs)
{
	static const char *const attrs[] = {"dir", "socket", NULL};
	char *dir = dp_attr(n, "dir"), *sock = dp_attr(n, "socket");
	int r = dp_check(p, n, "devices/filesystem/source", attrs, true);

	if (k->has_source)
		r = dp_fail(p, "devices/filesystem/source: appears twice");
	k->has_source = true;
	if (r == 0 && (dir == NULL) == (sock == NULL))
		r = dp_fail(p, "devices/filesystem/source: one of dir='DIR' "
			       "(a virtiofsd kvmmu starts) or socket='SOCKET' "
			       "(a back end the operator runs)");
	else if (r == 0 && dir)
		r = dp_path(p, "devices/filesystem/source@dir", dir,
			    &fs->fs_dir);
	else if (r == 0)
		r = dp_path(p, "devices/filesystem/source@socket", sock,
			    &fs->fs_socket);
	xmlFree(dir);
	xmlFree(sock);
	return r;
}

/* The tag: what the guest mounts; kept to a set --fs tag= can carry. */
static int fs_target(struct dparse *p, const xmlNode *n, struct fs_parse *k,
		     struct domain_fs *fs)
{
	static const char *const attrs[] = {"dir", NULL};
	char *tag = dp_attr(n, "dir");
	size_t len = tag ? strlen(tag) : 0;
	int r = dp_check(p, n, "devices/filesystem/target", attrs, true);

	if (k->has_target)
		r = dp_fail(p, "devices/filesystem/target: appears twice");
	k->has_target = true;
	if (r == 0 &&
	    (len == 0 || len > DOMAIN_FS_TAG_MAX ||
	     strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") != len))
		r = dp_fail(p,
			    "devices/filesystem/target@dir: '%s'; a virtio-fs "
			    "tag is 1..%d characters of [A-Za-z0-9._-]",
			    tag ? tag : "", DOMAIN_FS_TAG_MAX);
	else if (r == 0)
		memcpy(fs->fs_tag, tag, len + 1);
	xmlFree(tag);
	return r;
}

static int fs_child(struct dparse *p, const xmlNode *c, struct fs_parse *k,
		    struct domain_fs *fs)
{
	if (dp_is(c, "driver"))
		return fs_driver(p, c, k);
	if (dp_is(c, "source"))
		return fs_source(p, c, k, fs);
	if (dp_is(c, "target"))
		return fs_target(p, c, k, fs);
	if (dp_is(c, "address")) {
		dp_address(p);
		return 0;
	}
	if (dp_is(c, "alias"))
		return 0;
	return dp_fail(p, "devices/filesystem/%s: kvmmu does not support this",
		       (const char *)c->name);
}

static int fs_kind(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"type", "accessmode", NULL};
	char *type = dp_attr(n, "type");
	int r = dp_check(p, n, "devices/filesystem", attrs, false);

	if (r == 0 && type && strcmp(type, "mount") != 0)
		r = dp_fail(p,
			    "devices/filesystem[type='%s']: kvmmu shares a "
			    "host directory: type='mount'",
			    type);
	else if (r == 0 && !dp_attr_is(n, "accessmode", "passthrough", true))
		r = dp_fail(p, "devices/filesystem@accessmode: virtiofs has "
			       "'passthrough' only");
	xmlFree(type);
	return r;
}

int dp_filesystem(struct dparse *p, const xmlNode *n)
{
	struct domain *d = p->p_d;
	struct fs_parse k = {0};
	struct domain_fs *fs;
	int r;

	if (d->d_nfs == DOMAIN_FS_MAX)
		return dp_fail(p, "devices/filesystem: at most %d",
			       DOMAIN_FS_MAX);
	fs = &d->d_fs[d->d_nfs++]; /* domain_free frees its paths */
	memset(fs, 0, sizeof(*fs));
	r = fs_kind(p, n);
	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c))
		r = fs_child(p, c, &k, fs);
	if (r == 0 && !k.has_driver)
		r = dp_fail(p, "devices/filesystem/driver: missing "
			       "(type='virtiofs'; libvirt's default is 9p, "
			       "which kvmmu has not)");
	else if (r == 0 && !k.has_source)
		r = dp_fail(p, "devices/filesystem/source: missing");
	else if (r == 0 && !k.has_target)
		r = dp_fail(p,
			    "devices/filesystem/target: missing (dir='TAG')");
	for (unsigned i = 0; r == 0 && i + 1 < d->d_nfs; i++) {
		if (strcmp(d->d_fs[i].fs_tag, fs->fs_tag) == 0)
			r = dp_fail(p,
				    "devices/filesystem[target='%s']: two "
				    "filesystems with this tag",
				    fs->fs_tag);
	}
	return r;
}
