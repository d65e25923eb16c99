/*
 * grant.c: a running domain's access to its own disks.  Each domain's
 * frontend (and the qemu-storage-daemon and virtiofsd it starts) runs as
 * a uid of the domain's own (vms.c), which no file grants anything;
 * libvirt's DAC driver chowns each image to QEMU's user for the
 * domain's life.  Here the owner stays: at start the daemon adds one
 * POSIX ACL entry to each image (and each vhost-user socket, a disk's or
 * a shared directory's: a client must be able to write a socket to
 * connect) the domain names, user:UID:rw- (r-- for a <readonly/> disk),
 * and to each shared directory a virtiofsd of the frontend's serves
 * (<source dir=.../>), user:UID:rwx: the directory itself, not what is
 * in it, which keeps its own modes.  At the domain's end it removes that
 * entry, the ACL's mask recomputed as setfacl does.  An image the operator
 * changes meanwhile keeps the change; two domains on one read-only image
 * each have their own entry.  Entries of a domain that ended while the
 * daemon was down are swept at its next start.
 *
 * The daemon needs no capability for images root owns, and CAP_FOWNER
 * for other owners' (its unit grants it).  After the grant, a child
 * that has become the uid checks it can open the file: a directory above
 * the image that the uid cannot search refuses the start, naming both.
 * Trust: privileged; the paths come from definitions (root's clients),
 * checked by the domain parser; the ACL read from a file is checked
 * before it is rewritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bytes.h"
#include "domain.h"
#include "grant.h"
#include "virtd.h"

/* The kernel's POSIX ACL xattr (include/uapi/linux/posix_acl_xattr.h). */
#define ACL_XATTR     "system.posix_acl_access"
#define ACL_VERSION   2
#define ACL_USER_OBJ  0x01
#define ACL_USER      0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP     0x08
#define ACL_MASK      0x10
#define ACL_OTHER     0x20
#define ACL_NO_ID     0xffffffffu
#define ACL_MAX	      128 /* entries we read; ext4 holds about 500 */

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

struct acl {
	struct acl_ent e[ACL_MAX + 2]; /* room for our entry and a mask */
	size_t n;
};

/* The file's ACL, or the three entries its mode stands for. */
static int acl_read(const char *path, struct acl *a)
{
	uint8_t buf[4 + ACL_MAX * 8];
	struct stat st;
	ssize_t len = getxattr(path, ACL_XATTR, buf, sizeof(buf));

	a->n = 0;
	if (len < 0 && errno == ENODATA) {
		if (stat(path, &st) < 0)
			return -errno;
		a->e[a->n++] = (struct acl_ent){
			ACL_USER_OBJ, (st.st_mode >> 6) & 7, ACL_NO_ID};
		a->e[a->n++] = (struct acl_ent){
			ACL_GROUP_OBJ, (st.st_mode >> 3) & 7, ACL_NO_ID};
		a->e[a->n++] =
			(struct acl_ent){ACL_OTHER, st.st_mode & 7, ACL_NO_ID};
		return 0;
	}
	if (len < 0)
		return -errno; /* ENOTSUP: a file system without ACLs */
	if (len < 4 || (len - 4) % 8 != 0 || le32(buf) != ACL_VERSION)
		return -EINVAL;
	for (ssize_t o = 4; o < len; o += 8)
		a->e[a->n++] = (struct acl_ent){
			le16(buf + o), le16(buf + o + 2), le32(buf + o + 4)};
	return 0;
}

static int ent_cmp(const void *x, const void *y)
{
	const struct acl_ent *a = x, *b = y;

	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * In the kernel's order, the mask recomputed as setfacl does: the union
 * of the group class; no named entries left, no mask (the mode again).
 */
static int acl_write(const char *path, struct acl *a)
{
	uint8_t buf[4 + (ACL_MAX + 2) * 8];
	uint16_t mask = 0;
	bool named = false;
	size_t k = 0, len = 4;

	for (size_t i = 0; i < a->n; i++) {
		if (a->e[i].tag == ACL_MASK)
			continue;
		named |= a->e[i].tag == ACL_USER || a->e[i].tag == ACL_GROUP;
		if (a->e[i].tag & (ACL_USER | ACL_GROUP_OBJ | ACL_GROUP))
			mask |= a->e[i].perm;
		a->e[k++] = a->e[i];
	}
	if (named)
		a->e[k++] = (struct acl_ent){ACL_MASK, mask, ACL_NO_ID};
	a->n = k;
	qsort(a->e, a->n, sizeof(a->e[0]), ent_cmp);
	put32(buf, ACL_VERSION);
	for (size_t i = 0; i < a->n; i++, len += 8) {
		put16(buf + len, a->e[i].tag);
		put16(buf + len + 2, a->e[i].perm);
		put32(buf + len + 4, a->e[i].id);
	}
	return setxattr(path, ACL_XATTR, buf, len, 0) < 0 ? -errno : 0;
}

/* Removes the entries of uids lo..lo+count-1 but those in keep. */
static bool acl_drop(struct acl *a, uint32_t lo, uint32_t count,
		     const uid_t *keep, size_t nkeep)
{
	size_t k = 0;
	bool dropped = false;

	for (size_t i = 0; i < a->n; i++) {
		const struct acl_ent *e = &a->e[i];
		bool ours =
			e->tag == ACL_USER && e->id >= lo && e->id - lo < count;

		for (size_t j = 0; ours && j < nkeep; j++)
			ours = e->id != keep[j];
		if (ours)
			dropped = true;
		else
			a->e[k++] = *e;
	}
	a->n = k;
	return dropped;
}

int grant_add(const char *path, uid_t uid, unsigned perm)
{
	struct acl a;
	int r = acl_read(path, &a);

	if (r < 0)
		return r;
	if (a.n > ACL_MAX)
		return -E2BIG;
	acl_drop(&a, uid, 1, NULL, 0);
	a.e[a.n++] = (struct acl_ent){ACL_USER, (uint16_t)(perm & 7), uid};
	return acl_write(path, &a);
}

int grant_drop(const char *path, uid_t lo, uint32_t count, const uid_t *keep,
	       size_t nkeep)
{
	struct acl a;
	int r = acl_read(path, &a);

	if (r < 0)
		return r;
	if (!acl_drop(&a, lo, count, keep, nkeep))
		return 0; /* nothing of ours: the file is left untouched */
	return acl_write(path, &a);
}

/*
 * Whether uid (with the frontends' group) can use path as its device
 * needs (perm: ACL bits, which are access()'s R_OK, W_OK, X_OK): asked
 * of a child that has become it.  0 or -errno.
 */
static int uid_access(uid_t uid, gid_t gid, const char *path, unsigned perm)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(1, &gid) < 0 || setgid((gid_t)uid) < 0 ||
		    setuid(uid) < 0)
			_exit(EPERM);
		_exit(access(path, (int)perm) < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

/*
 * The files a domain's uid is granted: images, vhost-user sockets and
 * shared directories.
 */
static int grant_files(const char *xml, struct domain *dom)
{
	char err[300];

	memset(dom, 0, sizeof(*dom)); /* domain_free() it in every case */
	if (xml == NULL)
		return -1;
	return domain_parse(xml, strlen(xml), NULL, dom, err, sizeof(err));
}

/* fn(path, arg) for each file a domain's uid is granted. */
static void each_file(const struct domain *dom,
		      void (*fn)(const char *path, void *arg), void *arg)
{
	for (unsigned i = 0; i < dom->d_ndisks; i++)
		fn(dom->d_disks[i].dk_path, arg);
	for (unsigned i = 0; i < dom->d_nfs; i++)
		fn(dom->d_fs[i].fs_socket ? dom->d_fs[i].fs_socket
					  : dom->d_fs[i].fs_dir,
		   arg);
}

static void revoke_one(const char *path, void *arg)
{
	uid_t uid = *(const uid_t *)arg;
	int r = grant_drop(path, uid, 1, NULL, 0);

	if (r < 0 && r != -ENOENT)
		fprintf(stderr,
			"kvmmu-virtd: %s: taking back uid %u's access: "
			"%s\n",
			path, (unsigned)uid, strerror(-r));
}

static void revoke_all(const struct domain *dom, uid_t uid)
{
	each_file(dom, revoke_one, &uid);
}

/* ACL bits as getfacl shows them. */
static const char *perm_text(unsigned perm)
{
	static const char *const t[8] = {"---", "--x", "-w-", "-wx",
					 "r--", "r-x", "rw-", "rwx"};

	return t[perm & 7];
}

/*
 * One file (an image, a back end's socket, which a client must be able
 * to write to connect, or a shared directory), named by elem when it is
 * missing: there, granted perm (ACL bits), reachable; -1 with e
 * otherwise.
 */
static int grant_one(struct vdom *v, const char *path, const char *elem,
		     unsigned perm, gid_t gid, struct lverr *e)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return lverr_set(e, LV_ERR_SYSTEM_ERROR,
				 "domain '%s': %s: Cannot access storage file "
				 "'%s': %s",
				 v->vd_name, elem, path, strerror(errno));
	if (v->vd_uid == 0)
		return 0; /* --domain-uids 0:0: the frontend's own user */
	r = grant_add(path, v->vd_uid, perm);
	if (r < 0)
		return lverr_set(e, LV_ERR_SYSTEM_ERROR,
				 "domain '%s': %s: cannot grant uid %u %s "
				 "access (a POSIX ACL entry): %s%s",
				 v->vd_name, path, (unsigned)v->vd_uid,
				 perm_text(perm), strerror(-r),
				 r == -EOPNOTSUPP ? " (its file system has no "
						    "POSIX ACLs)"
						  : "");
	r = uid_access(v->vd_uid, gid, path, perm);
	if (r < 0)
		return lverr_set(e, LV_ERR_SYSTEM_ERROR,
				 "domain '%s': uid %u, which runs it, cannot "
				 "open %s: %s (granted on the file itself; "
				 "every directory above it must let others "
				 "search it: chmod o+x DIR)",
				 v->vd_name, (unsigned)v->vd_uid, path,
				 strerror(-r));
	return 0;
}

int grant_domain(struct virtd *d, struct vdom *v, struct lverr *e)
{
	struct domain dom;
	struct stat st;
	gid_t gid;
	int r = 0;

	if (grant_files(v->vd_live, &dom) < 0) {
		domain_free(&dom);
		return lverr_set(e, LV_ERR_XML_ERROR,
				 "domain '%s': its XML no longer parses",
				 v->vd_name);
	}
	/* The frontend's one group: that of mmu-server's socket (vms.c). */
	gid = stat(d->d_mmu_socket, &st) == 0 ? st.st_gid : 0;
	for (unsigned i = 0; r == 0 && i < dom.d_ndisks; i++) {
		const struct domain_disk *dk = &dom.d_disks[i];
		char elem[64];

		snprintf(elem, sizeof(elem), "devices/disk[target='%s']/%s",
			 dk->dk_target,
			 dk->dk_socket ? "source@path" : "source@file");
		r = grant_one(v, dk->dk_path, elem,
			      dk->dk_socket || !dk->dk_ro ? 6 : 4, gid, e);
	}
	for (unsigned i = 0; r == 0 && i < dom.d_nfs; i++) {
		const struct domain_fs *fs = &dom.d_fs[i];
		char elem[96];

		if (fs->fs_dir && stat(fs->fs_dir, &st) < 0)
			r = lverr_set(e, LV_ERR_SYSTEM_ERROR,
				      "domain '%s': devices/filesystem[target="
				      "'%s']/source@dir: %s: %s",
				      v->vd_name, fs->fs_tag, fs->fs_dir,
				      strerror(errno));
		snprintf(elem, sizeof(elem),
			 "devices/filesystem[target='%s']/source@%s",
			 fs->fs_tag, fs->fs_socket ? "socket" : "dir");
		/* A socket to connect to; a directory to serve as virtiofsd. */
		if (r == 0)
			r = grant_one(
				v, fs->fs_socket ? fs->fs_socket : fs->fs_dir,
				elem, fs->fs_socket ? 6 : 7, gid, e);
	}
	if (r < 0 && v->vd_uid != 0)
		revoke_all(&dom, v->vd_uid);
	else if (v->vd_uid != 0 && dom.d_ndisks + dom.d_nfs > 0)
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': uid %u granted its %u "
			"disk(s) and %u filesystem(s)\n",
			v->vd_name, (unsigned)v->vd_uid, dom.d_ndisks,
			dom.d_nfs);
	domain_free(&dom);
	return r;
}

void grant_revoke(struct virtd *d, struct vdom *v)
{
	struct domain dom;

	(void)d;
	if (v->vd_uid == 0)
		return; /* nothing was granted: see grant_one */
	if (grant_files(v->vd_live, &dom) == 0)
		revoke_all(&dom, v->vd_uid);
	domain_free(&dom);
}

struct sweep {
	struct virtd *d;
	const uid_t *keep;
	size_t nkeep;
};

static void sweep_one(const char *path, void *arg)
{
	const struct sweep *s = arg;

	grant_drop(path, s->d->d_uid_base, s->d->d_uid_count, s->keep,
		   s->nkeep);
}

/* Entries of the uid range in xml's files, but running domains'. */
static void sweep_xml(struct virtd *d, const char *xml, const uid_t *keep,
		      size_t nkeep)
{
	struct domain dom;

	struct sweep s = {d, keep, nkeep};

	if (grant_files(xml, &dom) == 0)
		each_file(&dom, sweep_one, &s);
	domain_free(&dom);
}

/*
 * Live XML left in STATE/run by domains that ended while we were down
 * (mmu-server runs no VM for them: vms_adopt has adopted every one it
 * runs): their grants go, and so does the file, as libvirt drops the
 * status XML of a domain it finds not running.
 */
static void sweep_run(struct virtd *d, const uid_t *keep, size_t nkeep)
{
	char path[4200];
	struct dirent *de;
	DIR *dd;

	snprintf(path, sizeof(path), "%s/run", d->d_store.st_dir);
	dd = opendir(path);
	while (dd && (de = readdir(dd)) != NULL) {
		size_t n = strlen(de->d_name);
		char name[KVMMU_NAME_MAX + 1], *xml = NULL;
		const struct vdom *v;
		FILE *f;

		if (n < 5 || n - 4 > KVMMU_NAME_MAX ||
		    strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), de->d_name);
		v = store_by_name(&d->d_store, name);
		if (v != NULL && v->vd_pid > 0)
			continue;
		snprintf(path, sizeof(path), "%s/run/%s", d->d_store.st_dir,
			 de->d_name);
		f = fopen(path, "re");
		if (f != NULL) {
			xml = calloc(1, DOMAIN_MAX_XML + 1);
			if (xml && fread(xml, 1, DOMAIN_MAX_XML, f) > 0)
				sweep_xml(d, xml, keep, nkeep);
			free(xml);
			fclose(f);
		}
		/* It ran and ended while we were down: nothing runs it. */
		if (unlinkat(dirfd(dd), de->d_name, 0) == 0)
			fprintf(stderr,
				"kvmmu-virtd: domain '%s' ended while the "
				"daemon was down: its live XML and its uid's "
				"access to its disks removed\n",
				name);
	}
	if (dd)
		closedir(dd);
}

void grant_sweep(struct virtd *d)
{
	size_t nkeep = 0, cap = 0;
	uid_t *keep;
	struct vdom *v;

	if (d->d_uid_count == 0)
		return;
	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	cap++;
	keep = calloc(cap + 1, sizeof(*keep));
	if (keep == NULL)
		return;
	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	{
		if (v->vd_pid > 0 && v->vd_uid != 0)
			keep[nkeep++] = v->vd_uid;
	}
	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	{
		if (v->vd_pid <= 0 && v->vd_config != NULL)
			sweep_xml(d, v->vd_config, keep, nkeep);
	}
	sweep_run(d, keep, nkeep);
	free(keep);
}
