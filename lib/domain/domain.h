/*
 * domain.h: a libvirt domain definition (the XML of `virsh dumpxml`) read
 * as a kvmmu VM.  The standard elements map onto vmm-frontend's options;
 * kvmmu's own knobs live in <metadata> under KVMMU_XMLNS.  Whatever kvmmu
 * cannot honour is refused, naming the element, or (where libvirt itself
 * treats it as optional) ignored with a warning: never silently.
 * Trust: unprivileged; the XML is operator input, checked in full before
 * anything uses it.
 */
#ifndef KVMMU_DOMAIN_H
#define KVMMU_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"
#include "protocol.h"
#include "zap.h"

/* kvmmu's metadata namespace: a URN, so it names no host. */
#define KVMMU_XMLNS	"urn:kvmmu:domain:1"
#define KVMMU_XMLNS_KEY "kvmmu" /* the prefix virsh metadata --key sets */

/* os/cmdline, NUL included: x86 Linux's COMMAND_LINE_SIZE. */
#define DOMAIN_CMDLINE_MAX 2048

/* Largest domain XML we read: libvirt's own are a few KiB. */
#define DOMAIN_MAX_XML (1u << 20)

/*
 * Disks and shared directories: each a virtio-pci function whose back
 * end is a process of its own (vhost-user).  The bounds are
 * vmm-frontend's (DISKS_MAX): vda..vdh.
 */
#define DOMAIN_DISKS_MAX  8
#define DOMAIN_FS_MAX	  8
#define DOMAIN_FS_TAG_MAX 36 /* virtio-fs's config tag, no NUL */

/* <disk type='file'|'vhostuser' device='disk'>. */
struct domain_disk {
	char *dk_path;	   /* the image, or the back end's socket */
	bool dk_socket;	   /* type='vhostuser': a back end the operator runs */
	bool dk_qcow2;	   /* driver@type='qcow2' */
	bool dk_ro;	   /* <readonly/> */
	char dk_target[8]; /* "vda".."vdh" */
};

/* <filesystem type='mount'> with <driver type='virtiofs'/>. */
struct domain_fs {
	char *fs_dir;	 /* source@dir: a virtiofsd kvmmu starts; or NULL */
	char *fs_socket; /* source@socket: one the operator runs; or NULL */
	char fs_tag[DOMAIN_FS_TAG_MAX + 1]; /* target@dir */
};

struct domain {
	char d_name[KVMMU_NAME_MAX + 1];
	char d_uuid[37]; /* canonical lower case; "" when absent */
	uint64_t d_memory_mib;
	uint32_t d_hugetlb_kib; /* memoryBacking/hugepages; 0: none */
	bool d_ram_immediate;	/* <allocation mode='immediate'/> */
	unsigned d_vcpus;
	char *d_kernel;	 /* os/kernel, resolved: a bzImage or a payload */
	char *d_initrd;	 /* os/initrd, resolved, or NULL */
	char *d_cmdline; /* os/cmdline or NULL */
	/* Serial port 0: NULL is stdout (type stdio), else a file. */
	char *d_serial;
	bool d_serial_append;
	bool d_serial_none; /* no serial, or type null: output dropped */
	bool d_pc;	    /* a VGA: the pc machine */
	unsigned d_shmem;   /* BAR devices after the VGA */
	uint8_t *d_rom;	    /* the VGA's option ROM, NULL: built-in */
	size_t d_rom_len;
	Kvmmu__ZapControl d_zap;
	struct domain_disk d_disks[DOMAIN_DISKS_MAX];
	unsigned d_ndisks;
	struct domain_fs d_fs[DOMAIN_FS_MAX];
	unsigned d_nfs;
	char d_warn[1024]; /* what was ignored, "; "-separated */
};

/*
 * Parses a domain XML document.  base_dir: the directory of the file it
 * came from (relative paths are resolved against it), or NULL when it
 * came from libvirt (paths must then be absolute).  0, or -1 with err
 * naming the element.  domain_free() in both cases.
 */
int domain_parse(const char *xml, size_t len, const char *base_dir,
		 struct domain *d, char *err, size_t errlen);
void domain_free(struct domain *d);

/* PCI devices of the pc machine: the VGA (device 1) and the shmems. */
unsigned domain_pci_devices(const struct domain *d);

/*
 * Parses the <zap-control/> element alone, as virDomainGetMetadata
 * returns it; NULL or "" means absent (the defaults).  All three fields
 * of *z are set on success.
 */
int zap_parse(const char *xml, Kvmmu__ZapControl *z, char *err, size_t errlen);
/* All three fields set: absent ones take the server's defaults. */
void zap_defaults(Kvmmu__ZapControl *z);
bool zap_equal(const Kvmmu__ZapControl *a, const Kvmmu__ZapControl *b);

/*
 * A libvirt scaled integer: value with unit (b, bytes, KB, k, KiB, MB, M,
 * MiB, ... up to E; case-insensitive as in libvirt) in bytes; an empty
 * unit means default_scale.  0 or -1 (bad number, unit, or overflow).
 */
int domain_scaled(const char *value, const char *unit, uint64_t default_scale,
		  uint64_t *bytes);

#endif
