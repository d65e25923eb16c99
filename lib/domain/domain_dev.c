/*
 * domain_dev.c: a libvirt domain's <devices> as kvmmu's machine.
 *
 *   <video><model type='vga' vram='2048'/></video>  the pc machine's VGA:
 *       PCI device 1, its vram the 2 MiB BAR, its option ROM (built-in,
 *       or <rom file=.../>), the legacy window at 0xa0000;
 *   <shmem><model type='ivshmem-plain'/><size unit='M'>2</size></shmem>
 *       PCI devices 2..N: a 2 MiB memory BAR each;
 *   <serial>/<console> of type stdio, file or null: the 16550 at 0x3f8;
 *   <disk> and <filesystem>: domain_disk.c.
 *
 * What libvirt adds to every x86 domain (an emulator path, a USB
 * controller, PS/2 input, a memory balloon, PCI addresses) is ignored with
 * a warning; any other device is refused, naming it.
 * Trust: unprivileged; the XML and the ROM file are operator input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "domain_xml.h"
#include "file.h"

#define VGA_VRAM_KIB (GUEST_PCI_BAR_SIZE >> 10)

/* What a <serial> or <console> asks for. */
struct chardev {
	char *c_type;
	char *c_path; /* type file */
	bool c_append;
};

static void chardev_free(struct chardev *c)
{
	xmlFree(c->c_type);
	xmlFree(c->c_path);
}

static int chr_source(struct dparse *p, const xmlNode *n, const char *path,
		      struct chardev *c)
{
	static const char *const attrs[] = {"path", "append", NULL};
	char spath[40];

	snprintf(spath, sizeof(spath), "%s/source", path);
	if (strcmp(c->c_type, "file") != 0)
		return dp_fail(p, "%s: only type='file' has one", spath);
	if (c->c_path != NULL)
		return dp_fail(p, "%s: appears twice", spath);
	if (dp_check(p, n, spath, attrs, true) < 0)
		return -1;
	c->c_path = dp_attr(n, "path");
	c->c_append = dp_attr_is(n, "append", "on", false);
	if (!dp_attr_is(n, "append", "on", true) &&
	    !dp_attr_is(n, "append", "off", true))
		return dp_fail(p, "%s/source@append: 'on' or 'off'", path);
	return c->c_path ? 0 : dp_fail(p, "%s/source@path: missing", path);
}

/* <target type=... port='0'>, possibly with <model name='isa-serial'/>. */
static int chr_target(struct dparse *p, const xmlNode *n, const char *path,
		      bool console)
{
	static const char *const attrs[] = {"type", "port", NULL};
	static const char *const mattrs[] = {"name", NULL};
	const char *type = console ? "serial" : "isa-serial";
	xmlNode *m = dp_child(n);
	char tpath[40], mpath[48];

	snprintf(tpath, sizeof(tpath), "%s/target", path);
	snprintf(mpath, sizeof(mpath), "%s/model", tpath);
	if (dp_check(p, n, tpath, attrs, false) < 0)
		return -1;
	if (!dp_attr_is(n, "type", type, true))
		return dp_fail(p, "%s/target@type: kvmmu has only '%s'", path,
			       type);
	if (!dp_attr_is(n, "port", "0", true))
		return dp_fail(p,
			       "%s/target@port: kvmmu has only port 0 "
			       "(COM1, 0x3f8)",
			       path);
	if (m == NULL)
		return 0;
	if (dp_is(m, "model") && dp_check(p, m, mpath, mattrs, true) < 0)
		return -1;
	if (!dp_is(m, "model") || dp_next(m) != NULL ||
	    !dp_attr_is(m, "name", "isa-serial", true))
		return dp_fail(p, "%s/target: only <model name='isa-serial'/>",
			       path);
	return 0;
}

static int chr_parse(struct dparse *p, const xmlNode *n, bool console,
		     struct chardev *c)
{
	static const char *const attrs[] = {"type", NULL};
	const char *path = console ? "devices/console" : "devices/serial";
	int r = dp_check(p, n, path, attrs, false);

	c->c_type = dp_attr(n, "type");
	if (r == 0 && (c->c_type == NULL || (strcmp(c->c_type, "stdio") &&
					     strcmp(c->c_type, "file") &&
					     strcmp(c->c_type, "null"))))
		r = dp_fail(p,
			    "%s@type: '%s'; kvmmu's serial port writes to "
			    "stdio, a file or null",
			    path, c->c_type ? c->c_type : "");
	for (xmlNode *k = dp_child(n); k && r == 0; k = dp_next(k)) {
		if (dp_is(k, "source"))
			r = chr_source(p, k, path, c);
		else if (dp_is(k, "target"))
			r = chr_target(p, k, path, console);
		else if (!dp_is(k, "alias"))
			r = dp_fail(p, "%s/%s: kvmmu does not support this",
				    path, (const char *)k->name);
	}
	if (r == 0 && strcmp(c->c_type, "file") == 0 && c->c_path == NULL)
		r = dp_fail(p, "%s/source: type='file' needs a path", path);
	return r;
}

/* Serial port 0 becomes where the guest's UART output goes. */
static int chr_apply(struct dparse *p, const struct chardev *c)
{
	struct domain *d = p->p_d;

	p->p_serial_seen = true;
	snprintf(p->p_serial_type, sizeof(p->p_serial_type), "%s", c->c_type);
	d->d_serial_none = strcmp(c->c_type, "null") == 0;
	d->d_serial_append = c->c_append;
	if (c->c_path == NULL)
		return 0;
	return dp_path(p, "devices/serial/source@path", c->c_path,
		       &d->d_serial);
}

static int dev_serial(struct dparse *p, const xmlNode *n)
{
	struct chardev c = {0};
	int r;

	if (p->p_serial_seen)
		return dp_fail(p, "devices/serial: kvmmu has one serial port "
				  "(COM1, 0x3f8)");
	r = chr_parse(p, n, false, &c);
	if (r == 0)
		r = chr_apply(p, &c);
	chardev_free(&c);
	return r;
}

/* Whether a console shows the serial port already defined. */
static int chr_same(struct dparse *p, const struct chardev *c)
{
	const char *serial = p->p_d->d_serial;
	char *path = NULL;
	bool same = strcmp(c->c_type, p->p_serial_type) == 0;

	if (same && c->c_path != NULL) {
		if (dp_path(p, "devices/console/source@path", c->c_path,
			    &path) < 0)
			return -1;
		same = serial != NULL && strcmp(path, serial) == 0;
	}
	free(path);
	if (!same)
		return dp_fail(p, "devices/console: differs from "
				  "devices/serial, the port it shows");
	return 0;
}

/* A serial console is serial port 0 again (libvirt adds it so). */
static int dev_console(struct dparse *p, const xmlNode *n)
{
	struct chardev c = {0};
	int r = chr_parse(p, n, true, &c);

	if (r == 0)
		r = p->p_serial_seen ? chr_same(p, &c) : chr_apply(p, &c);
	chardev_free(&c);
	return r;
}

static int rom_load(struct dparse *p, const char *file)
{
	const char *path = "devices/video/rom@file";
	struct domain *d = p->p_d;
	size_t len = 0;
	char *buf;
	int r = file_read(file, GUEST_PCI_ROM_SIZE, &buf, &len);

	if (r == -EINVAL)
		dp_fail(p, "%s: %s: not a regular file", path, file);
	else if (r == -EFBIG || (r == 0 && len < 2))
		dp_fail(p, "%s: %s: %zu bytes; kvmmu's ROM BAR holds 2..%llu",
			path, file, len, GUEST_PCI_ROM_SIZE);
	else if (r == -EIO || r == -ENOMEM)
		dp_fail(p, "%s: %s: short read", path, file);
	else if (r < 0)
		dp_fail(p, "%s: %s: %s", path, file, strerror(-r));
	else if ((uint8_t)buf[0] != 0x55 || (uint8_t)buf[1] != 0xaa)
		dp_fail(p,
			"%s: %s starts 0x%02x 0x%02x, not an option ROM "
			"(0x55 0xaa)",
			path, file, (uint8_t)buf[0], (uint8_t)buf[1]);
	else
		d->d_rom_len = len;
	if (d->d_rom_len == 0) {
		free(buf);
		return -1;
	}
	d->d_rom = (uint8_t *)buf;
	return 0;
}

static int video_rom(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"file", "bar", "enabled", NULL};
	char *file, *abs = NULL;
	int r;

	if (p->p_d->d_rom != NULL)
		return dp_fail(p, "devices/video/rom: appears twice");
	if (dp_check(p, n, "devices/video/rom", attrs, true) < 0)
		return -1;
	if (!dp_attr_is(n, "bar", "on", true) ||
	    !dp_attr_is(n, "enabled", "yes", true))
		return dp_fail(p, "devices/video/rom: the pc machine's "
				  "bootchurn needs the VGA's ROM BAR");
	file = dp_attr(n, "file");
	if (file == NULL)
		return 0;
	r = dp_path(p, "devices/video/rom@file", file, &abs);
	if (r == 0)
		r = rom_load(p, abs);
	xmlFree(file);
	free(abs);
	return r;
}

static int video_model(struct dparse *p, const xmlNode *n, bool *none)
{
	static const char *const attrs[] = {"type", "vram", "heads", "primary",
					    NULL};
	const char *path = "devices/video/model";
	char *type = dp_attr(n, "type"), *vram = dp_attr(n, "vram");
	uint64_t kib = VGA_VRAM_KIB;
	int r = dp_check(p, n, path, attrs, true);

	*none = type && strcmp(type, "none") == 0;
	if (r == 0 && !*none && (type == NULL || strcmp(type, "vga") != 0))
		r = dp_fail(p, "%s@type: '%s'; kvmmu's pc machine has a 'vga'",
			    path, type ? type : "");
	else if (r == 0 && vram &&
		 (dp_uint(vram, 1, UINT32_MAX, &kib) < 0 ||
		  kib != VGA_VRAM_KIB))
		r = dp_fail(p,
			    "%s@vram: '%s' KiB; the VGA's vram is its PCI "
			    "BAR, %llu KiB in kvmmu's pc machine",
			    path, vram, VGA_VRAM_KIB);
	else if (r == 0 && (!dp_attr_is(n, "heads", "1", true) ||
			    !dp_attr_is(n, "primary", "yes", true)))
		r = dp_fail(p, "%s: kvmmu's VGA is the primary one, one head",
			    path);
	xmlFree(type);
	xmlFree(vram);
	return r;
}

static int dev_video(struct dparse *p, const xmlNode *n)
{
	bool none = false, model = false;
	int r = dp_check(p, n, "devices/video", NULL, false);

	if (p->p_video_seen)
		return dp_fail(p, "devices/video: kvmmu has one VGA");
	p->p_video_seen = true;
	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c)) {
		if (dp_is(c, "model") && !model) {
			model = true;
			r = video_model(p, c, &none);
		} else if (dp_is(c, "rom")) {
			r = video_rom(p, c);
		} else if (dp_is(c, "address")) {
			dp_address(p);
		} else if (!dp_is(c, "alias")) {
			r = dp_fail(p,
				    "devices/video/%s: kvmmu does not "
				    "support this",
				    (const char *)c->name);
		}
	}
	if (r == 0 && !model)
		r = dp_fail(p, "devices/video/model: missing");
	p->p_d->d_pc = r == 0 && !none;
	return r;
}

static int shmem_size(struct dparse *p, const xmlNode *n, const char *name)
{
	static const char *const attrs[] = {"unit", NULL};
	char *v = dp_text(n), *unit = dp_attr(n, "unit");
	uint64_t b = 0;
	int r = dp_check(p, n, "devices/shmem/size", attrs, true);

	if (r == 0 &&
	    (domain_scaled(v, unit, 1, &b) < 0 || b != GUEST_PCI_BAR_SIZE))
		r = dp_fail(p,
			    "devices/shmem[name='%s']/size: '%s' %s; kvmmu's "
			    "BARs are 2 MiB",
			    name, v ? v : "", unit ? unit : "bytes");
	free(v);
	xmlFree(unit);
	return r;
}

static int shmem_child(struct dparse *p, const xmlNode *c, const char *name,
		       bool *sized)
{
	static const char *const mattrs[] = {"type", NULL};

	if (dp_is(c, "model")) {
		if (dp_check(p, c, "devices/shmem/model", mattrs, true) < 0)
			return -1;
		if (!dp_attr_is(c, "type", "ivshmem-plain", false))
			return dp_fail(p,
				       "devices/shmem[name='%s']/model@type: "
				       "kvmmu has 'ivshmem-plain' (a memory "
				       "BAR, no doorbell)",
				       name);
		return 0;
	}
	if (dp_is(c, "size")) {
		*sized = true;
		return shmem_size(p, c, name);
	}
	if (dp_is(c, "address"))
		dp_address(p);
	else if (!dp_is(c, "alias"))
		return dp_fail(p,
			       "devices/shmem[name='%s']/%s: kvmmu does not "
			       "support this%s",
			       name, (const char *)c->name,
			       dp_is(c, "rom") ? " (only the VGA has a ROM)"
					       : "");
	return 0;
}

static int dev_shmem(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"name", NULL};
	char *name = dp_attr(n, "name");
	bool sized = false, typed = false;
	int r = dp_check(p, n, "devices/shmem", attrs, false);

	if (r == 0 && name == NULL)
		r = dp_fail(p, "devices/shmem@name: missing");
	if (r == 0 && p->p_d->d_shmem + 1 >= GUEST_PCI_MAX_DEVS)
		r = dp_fail(p,
			    "devices/shmem: at most %d (with the VGA, %d "
			    "PCI devices)",
			    GUEST_PCI_MAX_DEVS - 1, GUEST_PCI_MAX_DEVS);
	for (xmlNode *c = dp_child(n); c && r == 0; c = dp_next(c)) {
		typed |= dp_is(c, "model");
		r = shmem_child(p, c, name ? name : "", &sized);
	}
	if (r == 0 && !typed)
		r = dp_fail(p,
			    "devices/shmem[name='%s']/model: missing (give "
			    "type='ivshmem-plain')",
			    name ? name : "");
	if (r == 0 && !sized)
		r = dp_fail(p,
			    "devices/shmem[name='%s']/size: missing "
			    "(libvirt's default is 4 MiB; kvmmu's BARs "
			    "are 2 MiB)",
			    name ? name : "");
	p->p_d->d_shmem += r == 0;
	xmlFree(name);
	return r;
}

/* The pc machine's bus 0, as libvirt writes it: no options. */
static int ctl_pci_root(struct dparse *p, const xmlNode *n)
{
	static const char *const attrs[] = {"type", "model", "index", NULL};
	const char *path = "devices/controller[type='pci']";

	if (dp_check(p, n, path, attrs, false) < 0)
		return -1;
	for (xmlNode *c = dp_child(n); c; c = dp_next(c)) {
		if (!dp_is(c, "alias"))
			return dp_fail(p, "%s/%s: kvmmu does not support this",
				       path, (const char *)c->name);
	}
	return 0;
}

/* USB is what libvirt adds by default. */
static int dev_controller(struct dparse *p, const xmlNode *n)
{
	char *type = dp_attr(n, "type");
	int r = 0;

	if (type && strcmp(type, "pci") == 0 &&
	    dp_attr_is(n, "model", "pci-root", false) &&
	    dp_attr_is(n, "index", "0", true))
		r = ctl_pci_root(p, n);
	else if (type && strcmp(type, "usb") == 0) {
		if (!dp_attr_is(n, "model", "none", false))
			dp_warn(p, "devices/controller[type='usb']: ignored "
				   "(kvmmu has no USB)");
	} else
		r = dp_fail(p,
			    "devices/controller[type='%s']: kvmmu has only "
			    "the pci-root bus",
			    type ? type : "");
	xmlFree(type);
	return r;
}

static int dev_input(struct dparse *p, const xmlNode *n)
{
	char *type = dp_attr(n, "type");
	int r = 0;

	if (type && (!strcmp(type, "mouse") || !strcmp(type, "keyboard")) &&
	    dp_attr_is(n, "bus", "ps2", false))
		dp_warn(p,
			"devices/input[type='%s' bus='ps2']: ignored (no "
			"PS/2 controller)",
			type);
	else
		r = dp_fail(p,
			    "devices/input[type='%s']: kvmmu has no input "
			    "devices",
			    type ? type : "");
	xmlFree(type);
	return r;
}

static int dev_audio(struct dparse *p, const xmlNode *n)
{
	if (dp_attr_is(n, "type", "none", false))
		return 0; /* no audio: honoured */
	return dp_fail(p, "devices/audio: kvmmu has no audio (type='none')");
}

static int dev_balloon(struct dparse *p, const xmlNode *n)
{
	if (dp_attr_is(n, "model", "none", false))
		return 0;
	if (dp_attr_is(n, "model", "virtio", false)) {
		dp_warn(p, "devices/memballoon: ignored (no balloon: the guest "
			   "keeps all of memory)");
		return 0;
	}
	return dp_fail(p, "devices/memballoon: kvmmu has no balloon");
}

static int dev_emulator(struct dparse *p, const xmlNode *n)
{
	(void)n;
	dp_warn(p, "devices/emulator: ignored (kvmmu runs no emulator)");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct dparse *p, const xmlNode *n);
} dev_table[] = {
	{"emulator", dev_emulator},
	{"serial", dev_serial},
	{"video", dev_video},
	{"shmem", dev_shmem},
	{"controller", dev_controller},
	{"input", dev_input},
	{"audio", dev_audio},
	{"memballoon", dev_balloon},
	{"disk", dp_disk},
	{"filesystem", dp_filesystem},
};

static int dev_one(struct dparse *p, const xmlNode *c)
{
	for (size_t i = 0; i < sizeof(dev_table) / sizeof(dev_table[0]); i++) {
		if (dp_is(c, dev_table[i].name))
			return dev_table[i].fn(p, c);
	}
	return dp_fail(p, "devices/%s: kvmmu cannot provide this device",
		       (const char *)c->name);
}

int dp_devices(struct dparse *p, const xmlNode *devs)
{
	int r = dp_check(p, devs, "devices", NULL, false);

	for (xmlNode *c = dp_child(devs); c && r == 0; c = dp_next(c)) {
		if (!dp_is(c, "console"))
			r = dev_one(p, c);
	}
	/* Consoles last: each mirrors the serial port, wherever it is. */
	for (xmlNode *c = dp_child(devs); c && r == 0; c = dp_next(c)) {
		if (dp_is(c, "console"))
			r = dev_console(p, c);
	}
	return r;
}
