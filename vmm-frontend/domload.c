/*
 * domload.c: a libvirt domain as vmm-frontend's options.  The domain
 * replaces the flags that describe the VM (main.c refuses them next to
 * it), so a VM has one definition.  A file's relative paths are resolved
 * against the file's directory; libvirt's must be absolute.
 * Trust: unprivileged.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domload.h"
#include "file.h"
#include "linux.h"

/* The whole file, NUL-terminated; NULL with err set. */
static char *domload_read(const char *path, size_t *len, char *err,
			  size_t errlen)
{
	char *buf;
	int r = file_read(path, DOMAIN_MAX_XML, &buf, len);

	if (r == -EINVAL || r == -EFBIG)
		snprintf(err, errlen, "%.300s: not a file of at most %u bytes",
			 path, DOMAIN_MAX_XML);
	else if (r == -EIO || r == -ENOMEM)
		snprintf(err, errlen, "%.300s: short read", path);
	else if (r < 0)
		snprintf(err, errlen, "%.300s: %s", path, strerror(-r));
	return buf;
}

static int domload_file(const char *file, struct domain *d, char *err,
			size_t errlen)
{
	char dir[PATH_MAX], *xml;
	size_t len = 0;
	int r;

	/*
	 * "-": the XML is stdin, a file opened for us (kvmmu-virtd's live
	 * XML, in a directory our uid cannot read); its paths are absolute,
	 * as libvirt's are.
	 */
	if (strcmp(file, "-") == 0) {
		r = file_read_fd(STDIN_FILENO, DOMAIN_MAX_XML, &xml, &len);
		if (r < 0) {
			snprintf(err, errlen,
				 "--domain-xml -: stdin is not a file of at "
				 "most %u bytes: %s",
				 DOMAIN_MAX_XML, strerror(-r));
			return -EINVAL;
		}
		r = domain_parse(xml, len, NULL, d, err, errlen);
		free(xml);
		return r < 0 ? -EINVAL : 0;
	}
	if (realpath(file, dir) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -EINVAL;
	}
	xml = domload_read(dir, &len, err, errlen);
	if (xml == NULL)
		return -EINVAL;
	/* dirname() cuts dir in place: the file's directory is the base. */
	r = domain_parse(xml, len, dirname(dir), d, err, errlen);
	free(xml);
	return r < 0 ? -EINVAL : 0;
}

/* Claim first, then watch, then read: no change can slip between. */
static int domload_libvirt(struct frontend *f, struct domain *d, struct lv *lv,
			   char *err, size_t errlen)
{
	const struct options *o = f->f_opt;
	char *xml;
	int r;

	if (lv_open(lv, o->connect, o->domain) < 0 || lv_claim(lv) < 0 ||
	    (f->f_lv_fd = lv_watch(lv)) < 0 || (xml = lv_xml(lv)) == NULL) {
		snprintf(err, errlen, "%s", lv->lv_err);
		return -EIO;
	}
	f->f_lv = lv;
	r = domain_parse(xml, strlen(xml), NULL, d, err, errlen);
	free(xml);
	return r < 0 ? -EINVAL : 0;
}

_Static_assert(DOMAIN_DISKS_MAX <= DISKS_MAX, "a domain's disks fit --disk's");

/*
 * A file the domain names must be there for this uid now: said here,
 * naming the element and the uid, before any back end or VM is started.
 */
static int domload_exists(const char *what, const char *path, bool dir,
			  char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %.300s: %s%s", what, path,
			 strerror(errno),
			 errno == EACCES ? " (each directory above it must "
					   "let this uid search it)"
					 : "");
		if (errno == EACCES)
			snprintf(err + strlen(err), errlen - strlen(err),
				 ": vmm-frontend runs as uid %u",
				 (unsigned)getuid());
		return -1;
	}
	if (dir ? !S_ISDIR(st.st_mode)
		: !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s: %.300s: not a %s", what, path,
			 dir ? "directory" : "file or a block device");
		return -1;
	}
	return 0;
}

/* <disk>s are what --disk and --vhost-user-blk give. */
static int domload_disks(const struct domain *d, struct options *o, char *err,
			 size_t errlen)
{
	char what[64];

	for (unsigned i = 0; i < d->d_ndisks; i++) {
		const struct domain_disk *dk = &d->d_disks[i];
		struct disk_spec *s = &o->disks.ds[o->disks.ds_n];

		snprintf(what, sizeof(what), "devices/disk[target='%s']/%s",
			 dk->dk_target,
			 dk->dk_socket ? "source@path" : "source@file");
		if (strlen(dk->dk_path) >= sizeof(s->ds_path)) {
			snprintf(err, errlen, "%s: path too long", what);
			return -1;
		}
		if (!dk->dk_socket &&
		    domload_exists(what, dk->dk_path, false, err, errlen) < 0)
			return -1;
		memset(s, 0, sizeof(*s));
		strcpy(s->ds_path, dk->dk_path);
		s->ds_socket = dk->dk_socket;
		s->ds_qcow2 = dk->dk_qcow2;
		s->ds_ro = dk->dk_ro;
		memcpy(s->ds_target, dk->dk_target, sizeof(s->ds_target));
		o->disks.ds_n++;
	}
	return disks_targets(&o->disks, err, errlen);
}

/*
 * <filesystem>s are what --fs DIR,tag=TAG and --vhost-user-fs
 * SOCKET,tag=TAG give (virtio-fs over virtiofsd).
 */
static int domload_fs(const struct domain *d, struct options *o, char *err,
		      size_t errlen)
{
	char what[80];

	for (unsigned i = 0; i < d->d_nfs; i++) {
		const struct domain_fs *fs = &d->d_fs[i];
		const char *path = fs->fs_dir ? fs->fs_dir : fs->fs_socket;

		snprintf(what, sizeof(what),
			 "devices/filesystem[target='%s']/source@%s",
			 fs->fs_tag, fs->fs_dir ? "dir" : "socket");
		if (fs->fs_dir &&
		    domload_exists(what, fs->fs_dir, true, err, errlen) < 0)
			return -1;
		if (shares_add(&o->shares, path, fs->fs_dir == NULL, fs->fs_tag,
			       err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int domload_options(const struct domain *d, struct options *o, char *err,
			   size_t errlen)
{
	bool is_linux = linux_is_bzimage(d->d_kernel);

	if (d->d_initrd != NULL && !is_linux) {
		snprintf(err, errlen,
			 "os/initrd: %s is no Linux bzImage, and only a Linux "
			 "kernel takes an initrd",
			 d->d_kernel);
		return -1;
	}
	o->name = d->d_name;
	o->uuid = d->d_uuid[0] ? d->d_uuid : NULL;
	o->memory_mib = d->d_memory_mib;
	o->hugetlb_kib = d->d_hugetlb_kib;
	o->ram_immediate = d->d_ram_immediate;
	o->vcpus = d->d_vcpus;
	/* A Linux kernel runs on the pc machine, with the domain's devices. */
	o->payload = is_linux ? NULL : d->d_kernel;
	o->kernel = is_linux ? d->d_kernel : NULL;
	o->initrd = d->d_initrd;
	o->cmdline = d->d_cmdline;
	/* Disks and shares are PCI functions: the pc machine has the bus. */
	o->pc = d->d_pc || is_linux || d->d_ndisks > 0 || d->d_nfs > 0;
	if (o->pc)
		o->pci_devices = domain_pci_devices(d);
	o->zap = d->d_zap;
	o->serial = d->d_serial;
	o->serial_append = d->d_serial_append;
	o->serial_none = d->d_serial_none;
	o->rom = d->d_rom;
	o->rom_len = d->d_rom_len;
	if (domload_disks(d, o, err, errlen) < 0)
		return -1;
	return domload_fs(d, o, err, errlen);
}

static void domload_print(const struct options *o, const struct domain *d)
{
	char zap[96], machine[128], pages[48] = "";

	if (d->d_pc)
		snprintf(machine, sizeof(machine),
			 "pc machine: the VGA and %u shmem = %u PCI devices, "
			 "option ROM %s",
			 d->d_shmem, o->pci_devices,
			 d->d_rom ? "from rom@file" : "built-in");
	else if (o->pc)
		snprintf(machine, sizeof(machine), "pc machine");
	else
		snprintf(machine, sizeof(machine), "plain machine");
	if (d->d_hugetlb_kib != 0)
		snprintf(pages, sizeof(pages), " in %u KiB hugetlbfs pages",
			 d->d_hugetlb_kib);
	printf("vmm-frontend: domain '%s' (uuid %s) from %s: %llu MiB%s, %u "
	       "vCPU(s), %s %s%s%s; %s; serial %s; zap control %s\n",
	       d->d_name, d->d_uuid[0] ? d->d_uuid : "none",
	       o->connect ? o->connect : o->domain_xml,
	       (unsigned long long)d->d_memory_mib, pages, d->d_vcpus,
	       o->kernel ? "Linux kernel" : "payload", d->d_kernel,
	       d->d_initrd ? ", initrd " : "", d->d_initrd ? d->d_initrd : "",
	       machine,
	       d->d_serial_none ? "dropped"
	       : d->d_serial	? d->d_serial
				: "to stdout",
	       zap_str(&d->d_zap, zap, sizeof(zap)));
	for (unsigned i = 0; i < d->d_ndisks; i++) {
		const struct domain_disk *dk = &d->d_disks[i];

		printf("vmm-frontend: domain '%s': disk %s: %s %s%s\n",
		       d->d_name, dk->dk_target,
		       dk->dk_socket  ? "vhost-user-blk at"
		       : dk->dk_qcow2 ? "qcow2 image"
				      : "raw image",
		       dk->dk_path, dk->dk_ro ? ", read-only" : "");
	}
}

int domload(struct frontend *f, struct domain *d, struct lv *lv)
{
	struct options *o = f->f_opt;
	const char *src = o->connect ? o->domain : o->domain_xml;
	char err[600];
	int r;

	if (o->domain_xml)
		r = domload_file(o->domain_xml, d, err, sizeof(err));
	else
		r = domload_libvirt(f, d, lv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vmm-frontend: domain '%s': %s\n", src, err);
		return r;
	}
	/* Ignored elements are said out loud, even with -q. */
	if (d->d_warn[0])
		fprintf(stderr, "vmm-frontend: domain '%s': %s\n", d->d_name,
			d->d_warn);
	if (domload_options(d, o, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm-frontend: domain '%s': %s\n", src, err);
		return -EINVAL;
	}
	if (!o->quiet)
		domload_print(o, d);
	return 0;
}
