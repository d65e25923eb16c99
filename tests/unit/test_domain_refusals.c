/*
 * test_domain_refusals.c: every domain XML kvmmu refuses, and that the
 * message names the element (or attribute) at fault: what libvirt has
 * and kvmmu cannot honour, values out of range, bad units, and invalid
 * <zap-control/> metadata.
 * Trust: test code; no KVM, no libvirt.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "abi.h"
#include "domain_fixture.h"

#define ZAP(attrs)                                                             \
	"<metadata><k:zap-control xmlns:k='urn:kvmmu:domain:1' " attrs         \
	"/></metadata>"

#define DISK(type, device, body)                                               \
	"<disk type='" type "' device='" device "'>" body "</disk>"
#define RAW		 "<driver name='qemu' type='raw'/>"
#define VDA		 "<target dev='vda' bus='virtio'/>"
#define VIRTIOFS	 "<driver type='virtiofs'/>"
#define FS(driver, body) "<filesystem type='mount'>" driver body "</filesystem>"

static const struct {
	const char *xml, *want;
} refusals[] = {
	/* The document and <domain>. */
	{"<domain type='kvm'><name>x</name>", "not well-formed XML: line 1"},
	{"<!DOCTYPE domain [<!ENTITY e 'x'>]><domain type='kvm'/>",
	 "<!DOCTYPE>"},
	{"<vm/>", "not a <domain>"},
	{"<domain type='qemu'/>", "domain@type"},
	{"<domain/>", "domain@type"},
	{"<domain type='kvm' foo='1'/>", "domain@foo"},
	{DOM("<iothreads>2</iothreads>", "", ""), "iothreads: kvmmu cannot"},
	{DOM("<maxMemory slots='4'>1048576</maxMemory>", "", ""), "maxMemory"},
	/* memoryBacking: what kvmmu cannot do, by name. */
	{DOM("<memoryBacking><locked/></memoryBacking>", "", ""),
	 "memoryBacking/locked: refused"},
	{DOM("<memoryBacking><hugepages><page size='4' unit='KiB'/>"
	     "</hugepages></memoryBacking>",
	     "", ""),
	 "memoryBacking/hugepages/page: 4 KiB pages"},
	{DOM("<memoryBacking><hugepages><page size='2' unit='M' "
	     "nodeset='0'/></hugepages></memoryBacking>",
	     "", ""),
	 "nodeset"},
	{DOM("<memoryBacking><hugepages><page size='2' unit='M'/>"
	     "<page size='1' unit='G'/></hugepages></memoryBacking>",
	     "", ""),
	 "one page size"},
	{DOM("<memoryBacking><source type='file'/></memoryBacking>", "", ""),
	 "memoryBacking/source: type='memfd' only"},
	{DOM("<memoryBacking><access mode='private'/></memoryBacking>", "", ""),
	 "memoryBacking/access"},
	{DOM("<memoryBacking><allocation mode='lazy'/></memoryBacking>", "",
	     ""),
	 "memoryBacking/allocation: mode='immediate' or 'ondemand'"},
	{DOM("<memoryBacking><hugepages/></memoryBacking>"
	     "<memoryBacking/>",
	     "", ""),
	 "memoryBacking: appears twice"},
	{DOM("<cputune/>", "", ""), "cputune"},
	{DOM("<vcpus/>", "", ""), "vcpus"},
	/* name, uuid. */
	{"<domain type='kvm'><memory>65536</memory><os><type>hvm</type>"
	 "<kernel>/k</kernel></os></domain>",
	 "name: missing"},
	{DOM("<name>u</name>", "", ""), "name: appears twice"},
	{"<domain type='kvm'><name>my vm</name></domain>", "name: 'my vm'"},
	{"<domain type='kvm'><name>a/b</name></domain>", "name: 'a/b'"},
	{"<domain type='kvm'><name>"
	 "a123456789a123456789a123456789a123456789a123456789a123456789abcde"
	 "</name></domain>",
	 "name: 'a1234"},
	{DOM("<uuid>not-a-uuid</uuid>", "", ""), "uuid: 'not-a-uuid'"},
	{DOM("<uuid>6b766d6d-7500-4a11-8000-00000000000</uuid>", "", ""),
	 "uuid:"},
	{DOM("<uuid>6b766d6d-7500-4a11-8000-00000000000g</uuid>", "", ""),
	 "uuid:"},
	/* memory, currentMemory. */
	{"<domain type='kvm'><name>m</name><os><type>hvm</type><kernel>/k"
	 "</kernel></os></domain>",
	 "memory: missing"},
	{DOM("<memory unit='MiB'>64</memory>", "", ""),
	 "memory: appears twice"},
	{"<domain type='kvm'><name>m</name><memory unit='MiB'>2</memory>"
	 "</domain>",
	 "memory: 2097152 bytes"},
	{"<domain type='kvm'><name>m</name><memory unit='GiB'>4</memory>"
	 "</domain>",
	 "memory: 4294967296 bytes"},
	{"<domain type='kvm'><name>m</name><memory>65537</memory></domain>",
	 "in whole MiB"},
	{"<domain type='kvm'><name>m</name><memory unit='MB'>64</memory>"
	 "</domain>",
	 "memory: 64000000 bytes"},
	{"<domain type='kvm'><name>m</name><memory unit='lots'>64</memory>"
	 "</domain>",
	 "memory: '64' with unit 'lots'"},
	{"<domain type='kvm'><name>m</name><memory>64.5</memory></domain>",
	 "memory: '64.5'"},
	{"<domain type='kvm'><name>m</name><memory>-64</memory></domain>",
	 "memory: '-64'"},
	{"<domain type='kvm'><name>m</name><memory unit='E'>64</memory>"
	 "</domain>",
	 "memory: '64' with unit 'E'"},
	{"<domain type='kvm'><name>m</name><memory dumpCore='on'>65536"
	 "</memory></domain>",
	 "memory@dumpCore"},
	{"<domain type='kvm'><name>m</name><memory>65536<x/></memory>"
	 "</domain>",
	 "memory/x"},
	{DOM("<currentMemory unit='MiB'>32</currentMemory>", "", ""),
	 "currentMemory: 32768 KiB differs from memory (65536 KiB)"},
	{DOM("<currentMemory unit='MiB'>128</currentMemory>", "", ""),
	 "kvmmu has no balloon"},
	/* vcpu. */
	{DOM("<vcpu>0</vcpu>", "", ""), "vcpu: '0' not in 1..32"},
	{DOM("<vcpu>33</vcpu>", "", ""), "vcpu: '33' not in 1..32"},
	{DOM("<vcpu>two</vcpu>", "", ""), "vcpu: 'two'"},
	{DOM("<vcpu current='1'>2</vcpu>", "", ""), "vcpu@current"},
	{DOM("<vcpu foo='1'>2</vcpu>", "", ""), "vcpu@foo"},
	/* os. */
	{"<domain type='kvm'><name>o</name><memory>65536</memory></domain>",
	 "os: missing"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os>"
	 "<kernel>/k</kernel></os></domain>",
	 "os/type: missing"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os><type>"
	 "hvm</type></os></domain>",
	 "os/kernel: missing"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os><type>"
	 "xen</type><kernel>/k</kernel></os></domain>",
	 "os/type: 'xen'"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os><type "
	 "arch='i686'>hvm</type><kernel>/k</kernel></os></domain>",
	 "os/type@arch"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os><type "
	 "machine='q35'>hvm</type><kernel>/k</kernel></os></domain>",
	 "os/type@machine: 'q35'"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os><type "
	 "machine='pc-q35-7.2'>hvm</type><kernel>/k</kernel></os></domain>",
	 "os/type@machine"},
	{"<domain type='kvm'><name>o</name><memory>65536</memory><os "
	 "firmware='efi'><type>hvm</type><kernel>/k</kernel></os></domain>",
	 "os@firmware"},
	{DOM("", "<initrd>/i</initrd><initrd>/j</initrd>", ""),
	 "os/initrd: appears twice"},
	{DOM("", "<loader>/bios.bin</loader>", ""), "os/loader"},
	{DOM("", "<nvram>/n</nvram>", ""), "os/nvram"},
	{DOM("", "<kernel>/k2</kernel>", ""), "os/kernel: appears twice"},
	{DOM("", "<cmdline><b/></cmdline>", ""), "os/cmdline/b"},
	{DOM("", "<cmdline>devices=8</cmdline>", VGA SHMEM("a")),
	 "os/cmdline: devices=8, but the domain has 2 PCI devices"},
	{DOM("", "<cmdline>cycles=1 devices=x</cmdline>", VGA),
	 "os/cmdline: devices=x"},
	/* devices: what kvmmu does not have. */
	/* disks: virtio-blk from an image or a vhost-user socket only. */
	{DOM("", "", DISK("file", "cdrom", RAW "<source file='/i'/>" VDA)),
	 "devices/disk[device='cdrom']: kvmmu has disks only"},
	{DOM("", "", DISK("file", "lun", "")), "devices/disk[device='lun']"},
	{DOM("", "", DISK("block", "disk", "<source dev='/dev/sda'/>" VDA)),
	 "devices/disk[type='block']: kvmmu's disks are type='file'"},
	{DOM("", "",
	     DISK("network", "disk",
		  "<source protocol='nbd' name='x'><host "
		  "name='h'/></source>" VDA)),
	 "devices/disk[type='network']"},
	{DOM("", "", "<disk device='disk'>" VDA "</disk>"),
	 "devices/disk[type='']"},
	{DOM("", "",
	     DISK("file", "disk",
		  RAW "<source file='/i'/><target dev='sda' bus='sata'/>")),
	 "devices/disk[target='sda']/target@bus: 'sata'"},
	{DOM("", "",
	     DISK("file", "disk",
		  RAW "<source file='/i'/><target dev='hda' bus='ide'/>")),
	 "target@bus: 'ide'"},
	{DOM("", "",
	     DISK("file", "disk", "<source file='/i'/><target dev='sda'/>")),
	 "devices/disk/target@dev: 'sda'; kvmmu's disks are vda..vdh"},
	{DOM("", "",
	     DISK("file", "disk", "<source file='/i'/><target dev='vdi'/>")),
	 "target@dev: 'vdi'"},
	{DOM("", "",
	     DISK("file", "disk",
		  "<driver name='tap'/><source file='/i'/>" VDA)),
	 "devices/disk/driver@name: 'tap'"},
	{DOM("", "",
	     DISK("file", "disk",
		  "<driver name='qemu' type='vmdk'/><source file='/i'/>" VDA)),
	 "devices/disk/driver@type: 'vmdk'; kvmmu reads 'raw' or 'qcow2'"},
	{DOM("", "",
	     DISK("file", "disk",
		  "<driver name='qemu' type='raw' cache='none'/>"
		  "<source file='/i'/>" VDA)),
	 "devices/disk/driver@cache"},
	{DOM("", "", DISK("file", "disk", RAW VDA)),
	 "devices/disk[target='vda']/source: missing (file='IMAGE')"},
	{DOM("", "", DISK("file", "disk", RAW "<source file='/i'/>")),
	 "devices/disk/target: missing"},
	{DOM("", "", DISK("file", "disk", "<source dev='/i'/>" VDA)),
	 "devices/disk/source@dev"},
	{DOM("", "", DISK("file", "disk", "<source file=''/>" VDA)),
	 "devices/disk/source@file: empty path"},
	{DOM("", "",
	     DISK("file", "disk",
		  "<source file='/i'><seclabel/></source>" VDA)),
	 "devices/disk/source/seclabel"},
	{DOM("", "",
	     DISK("file", "disk",
		  "<source file='/i'/>" VDA "<boot order='1'/>")),
	 "devices/disk/boot: kvmmu does not support this"},
	{DOM("", "",
	     DISK("file", "disk", "<source file='/i'/>" VDA "<shareable/>")),
	 "devices/disk/shareable"},
	{DOM("", "",
	     DISK("file", "disk", "<source file='/i'/>" VDA)
		     DISK("file", "disk", "<source file='/j'/>" VDA)),
	 "devices/disk[target='vda']: two disks with this target"},
	{DOM("", "",
	     DISK("vhostuser", "disk",
		  "<source type='unix' path='/s'/>" VDA "<readonly/>")),
	 "devices/disk[type='vhostuser']/readonly"},
	{DOM("", "",
	     DISK("vhostuser", "disk", "<source type='tcp' path='/s'/>" VDA)),
	 "devices/disk/source@type"},
	{DOM("", "", DISK("vhostuser", "disk", "<source file='/s'/>" VDA)),
	 "devices/disk/source@file"},
	{DOM("", "",
	     DISK("vhostuser", "disk",
		  "<driver name='qemu' type='qcow2'/>"
		  "<source type='unix' path='/s'/>" VDA)),
	 "devices/disk/driver@type: 'qcow2'; kvmmu reads 'raw' (the vhost"},
	/* filesystems: virtio-fs, a directory or a back end's socket. */
	{DOM("", "", FS("", "<source dir='/d'/><target dir='t'/>")),
	 "devices/filesystem/driver: missing (type='virtiofs'"},
	{DOM("", "",
	     "<filesystem type='mount'><driver type='path'/>"
	     "<source dir='/d'/><target dir='t'/></filesystem>"),
	 "devices/filesystem/driver@type: 'path'"},
	{DOM("", "",
	     "<filesystem type='block'>" VIRTIOFS
	     "<source dev='/dev/sda'/><target dir='t'/></filesystem>"),
	 "devices/filesystem[type='block']"},
	{DOM("", "",
	     "<filesystem type='mount' accessmode='mapped'>" VIRTIOFS
	     "<source dir='/d'/><target dir='t'/></filesystem>"),
	 "devices/filesystem@accessmode"},
	{DOM("", "",
	     FS(VIRTIOFS, "<source dir='/d' socket='/s'/><target dir='t'/>")),
	 "devices/filesystem/source: one of dir='DIR'"},
	{DOM("", "", FS(VIRTIOFS, "<source/><target dir='t'/>")),
	 "devices/filesystem/source: one of"},
	{DOM("", "", FS(VIRTIOFS, "<target dir='t'/>")),
	 "devices/filesystem/source: missing"},
	{DOM("", "", FS(VIRTIOFS, "<source dir='/d'/>")),
	 "devices/filesystem/target: missing"},
	{DOM("", "", FS(VIRTIOFS, "<source dir='/d'/><target dir='a b'/>")),
	 "devices/filesystem/target@dir: 'a b'"},
	{DOM("", "",
	     FS(VIRTIOFS, "<source dir='/d'/><target dir='"
			  "a123456789a123456789a123456789a1234567'/>")),
	 "devices/filesystem/target@dir: 'a1234"},
	{DOM("", "",
	     FS(VIRTIOFS, "<source dir='/d'/><target dir='t'/><readonly/>")),
	 "devices/filesystem/readonly: kvmmu does not support this"},
	{DOM("", "",
	     FS(VIRTIOFS, "<binary path='/usr/libexec/virtiofsd'/>"
			  "<source dir='/d'/><target dir='t'/>")),
	 "devices/filesystem/binary"},
	{DOM("", "",
	     FS(VIRTIOFS, "<source dir='/d'/><target dir='t'/>")
		     FS(VIRTIOFS, "<source socket='/s'/><target dir='t'/>")),
	 "devices/filesystem[target='t']: two filesystems with this tag"},
	{DOM("", "", "<interface type='user'/>"), "devices/interface"},
	{DOM("", "", "<graphics type='vnc'/>"), "devices/graphics"},
	{DOM("", "", "<hostdev mode='subsystem' type='pci'/>"),
	 "devices/hostdev"},
	{DOM("", "", "<rng model='virtio'/>"), "devices/rng"},
	{DOM("", "", "<watchdog model='i6300esb'/>"), "devices/watchdog"},
	{DOM("", "", "<panic model='isa'/>"), "devices/panic"},
	{DOM("", "", "<channel type='unix'/>"), "devices/channel"},
	{DOM("", "", "<sound model='ich6'/>"), "devices/sound"},
	{DOM("", "", "<tpm model='tpm-tis'/>"), "devices/tpm"},
	{DOM("", "", "<controller type='virtio-serial'/>"),
	 "devices/controller[type='virtio-serial']"},
	{DOM("", "", "<controller type='pci' model='pcie-root'/>"),
	 "devices/controller[type='pci']"},
	{DOM("", "",
	     "<controller type='pci' model='pci-root' index='0'>"
	     "<model name='x'/></controller>"),
	 "devices/controller[type='pci']/model"},
	{DOM("", "", "<input type='tablet' bus='usb'/>"),
	 "devices/input[type='tablet']"},
	{DOM("", "", "<input type='mouse' bus='virtio'/>"),
	 "devices/input[type='mouse']"},
	{DOM("", "", "<audio id='1' type='pulseaudio'/>"), "devices/audio"},
	{DOM("", "", "<memballoon model='xen'/>"), "devices/memballoon"},
	{DOM("", "", "<video/><video/>"), "devices/video/model: missing"},
	{DOM("<devices/>", "", ""), "devices: appears twice"},
	/* serial and console. */
	{DOM("", "", "<serial type='pty'/>"), "devices/serial@type: 'pty'"},
	{DOM("", "", "<serial type='tcp'/>"), "devices/serial@type: 'tcp'"},
	{DOM("", "", "<serial/>"), "devices/serial@type: ''"},
	{DOM("", "", "<serial type='stdio'/><serial type='null'/>"),
	 "devices/serial: kvmmu has one serial port"},
	{DOM("", "", "<serial type='stdio'><target port='1'/></serial>"),
	 "devices/serial/target@port"},
	{DOM("", "",
	     "<serial type='stdio'><target type='pci-serial'/>"
	     "</serial>"),
	 "devices/serial/target@type"},
	{DOM("", "",
	     "<serial type='stdio'><target><model name='x'/></target>"
	     "</serial>"),
	 "devices/serial/target: only <model name='isa-serial'/>"},
	{DOM("", "", "<serial type='file'/>"),
	 "devices/serial/source: type='file' needs a path"},
	{DOM("", "", "<serial type='file'><source/></serial>"),
	 "devices/serial/source@path: missing"},
	{DOM("", "",
	     "<serial type='file'><source path='/x' append='yes'/>"
	     "</serial>"),
	 "devices/serial/source@append"},
	{DOM("", "", "<serial type='stdio'><source path='/x'/></serial>"),
	 "devices/serial/source: only type='file'"},
	{DOM("", "",
	     "<serial type='file'><source path='/x' mode='bind'/>"
	     "</serial>"),
	 "devices/serial/source@mode"},
	{DOM("", "",
	     "<serial type='file'><source path='/x'/><source "
	     "path='/y'/></serial>"),
	 "devices/serial/source: appears twice"},
	{DOM("", "", "<serial type='stdio'><log file='/l'/></serial>"),
	 "devices/serial/log"},
	{DOM("", "", "<serial type='stdio' foo='1'/>"), "devices/serial@foo"},
	{DOM("", "", "<serial type='stdio'/><console type='null'/>"),
	 "devices/console: differs from devices/serial"},
	{DOM("", "",
	     "<serial type='file'><source path='/a'/></serial>"
	     "<console type='file'><source path='/b'/></console>"),
	 "devices/console: differs"},
	{DOM("", "",
	     "<console type='stdio'><target type='virtio'/>"
	     "</console>"),
	 "devices/console/target@type"},
	/* video. */
	{DOM("", "", "<video><model type='qxl'/></video>"),
	 "devices/video/model@type: 'qxl'"},
	{DOM("", "", "<video><model type='virtio'/></video>"),
	 "devices/video/model@type: 'virtio'"},
	{DOM("", "", "<video><model type='vga' vram='16384'/></video>"),
	 "devices/video/model@vram: '16384' KiB"},
	{DOM("", "", "<video><model type='vga' vram='x'/></video>"),
	 "devices/video/model@vram"},
	{DOM("", "", "<video><model type='vga' heads='2'/></video>"),
	 "one head"},
	{DOM("", "", "<video><model type='vga' primary='no'/></video>"),
	 "primary"},
	{DOM("", "", "<video><model type='vga' vgamem='16384'/></video>"),
	 "devices/video/model@vgamem"},
	{DOM("", "",
	     "<video><model type='vga'><acceleration/></model>"
	     "</video>"),
	 "devices/video/model/acceleration"},
	{DOM("", "", "<video><model type='vga'/><driver name='x'/></video>"),
	 "devices/video/driver"},
	{DOM("", "", VGA VGA), "devices/video: kvmmu has one VGA"},
	{DOM("", "", "<video><model type='vga'/><rom bar='off'/></video>"),
	 "devices/video/rom: the pc machine"},
	{DOM("", "", "<video><model type='vga'/><rom enabled='no'/></video>"),
	 "devices/video/rom"},
	{DOM("", "",
	     "<video><model type='vga'/><rom file='/no/such.rom'/>"
	     "</video>"),
	 "devices/video/rom@file: /no/such.rom: No such file"},
	{DOM("", "", "<video><model type='vga'/><rom file=''/></video>"),
	 "devices/video/rom@file: empty path"},
	/* shmem. */
	{DOM("", "", SHMEM("a")), "devices/shmem: the pc machine's devices "
				  "need its VGA"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "<size unit='M'>4</size></shmem>"),
	 "devices/shmem[name='a']/size: '4' M"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "<size>2097151</size></shmem>"),
	 "devices/shmem[name='a']/size: '2097151' bytes"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "</shmem>"),
	 "devices/shmem[name='a']/size: missing"},
	{DOM("", "", VGA "<shmem name='a'><size unit='M'>2</size></shmem>"),
	 "devices/shmem[name='a']/model: missing"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-doorbell'/>"
		 "<size unit='M'>2</size></shmem>"),
	 "devices/shmem[name='a']/model@type"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem'/>"
		 "<size unit='M'>2</size></shmem>"),
	 "devices/shmem[name='a']/model@type"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "<size unit='M'>2</size><server path='/s'/></shmem>"),
	 "devices/shmem[name='a']/server"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "<size unit='M'>2</size><msi vectors='1'/></shmem>"),
	 "devices/shmem[name='a']/msi"},
	{DOM("", "",
	     VGA "<shmem name='a'><model type='ivshmem-plain'/>"
		 "<size unit='M'>2</size><rom file='/r'/></shmem>"),
	 "only the VGA has a ROM"},
	{DOM("", "",
	     VGA "<shmem><model type='ivshmem-plain'/>"
		 "<size unit='M'>2</size></shmem>"),
	 "devices/shmem@name: missing"},
	{DOM("", "",
	     VGA "<shmem name='a' role='master'><model "
		 "type='ivshmem-plain'/><size unit='M'>2</size>"
		 "</shmem>"),
	 "devices/shmem@role"},
	/* kvmmu's metadata. */
	{DOM(ZAP("mode='fast'"), "", ""),
	 "zap-control@mode: 'fast' is neither 'all' nor 'memslot'"},
	{DOM(ZAP("mode=''"), "", ""), "zap-control@mode: ''"},
	{DOM(ZAP("mode='ALL'"), "", ""), "zap-control@mode: 'ALL'"},
	{DOM(ZAP("allones='zero'"), "", ""),
	 "zap-control@allones: 'zero' is neither 'mmio' nor 'rom'"},
	{DOM(ZAP("batch-window-us='1000001'"), "", ""),
	 "zap-control@batch-window-us: '1000001'"},
	{DOM(ZAP("batch-window-us='-1'"), "", ""),
	 "zap-control@batch-window-us: '-1'"},
	{DOM(ZAP("batch-window-us='1ms'"), "", ""),
	 "zap-control@batch-window-us: '1ms'"},
	{DOM(ZAP("batch-window-us=''"), "", ""),
	 "zap-control@batch-window-us: ''"},
	{DOM(ZAP("window='5'"), "", ""),
	 "zap-control@window: unknown attribute"},
	{DOM(ZAP("k:mode='all'"), "", ""), "zap-control@k:mode"},
	{DOM("<metadata><k:zap-control xmlns:k='urn:kvmmu:domain:1'><x/>"
	     "</k:zap-control></metadata>",
	     "", ""),
	 "zap-control/x"},
	{DOM("<metadata><k:policy xmlns:k='urn:kvmmu:domain:1'/></metadata>",
	     "", ""),
	 "metadata/policy: kvmmu's namespace has only <zap-control/>"},
	{DOM("<metadata><k:zap-control xmlns:k='urn:kvmmu:domain:1'/>"
	     "<j:zap-control xmlns:j='urn:kvmmu:domain:1'/></metadata>",
	     "", ""),
	 "metadata: two <zap-control/>"},
};

/* 2047 bytes fit a Linux command line, 2048 do not. */
static void test_cmdline(void)
{
	char line[2100], xml[4096];
	struct domain d;

	memset(line, 'a', sizeof(line));
	line[2047] = '\0';
	snprintf(xml, sizeof(xml), DOM("", "<cmdline>%s</cmdline>", ""), line);
	ACCEPTED(xml, &d);
	domain_free(&d);
	line[2047] = 'a';
	line[2048] = '\0';
	snprintf(xml, sizeof(xml), DOM("", "<cmdline>%s</cmdline>", ""), line);
	REFUSED(xml, "os/cmdline: 2048 bytes; at most 2047");
}

/* A domain from libvirt names no directory: paths must be absolute. */
static void test_relative(void)
{
	struct domain d;
	char err[512];
	const char *xml = "<domain type='kvm'><name>r</name><memory>65536"
			  "</memory><os><type>hvm</type><kernel>k.bin"
			  "</kernel></os></domain>";

	CHECK(parse_base(xml, NULL, &d, err, sizeof(err)) < 0 &&
		      strstr(err, "os/kernel: 'k.bin' is relative"),
	      "%s", err);
	domain_free(&d);
	CHECK(parse_base(DOM("", "",
			     "<serial type='file'><source "
			     "path='s.log'/></serial>"),
			 NULL, &d, err, sizeof(err)) < 0 &&
		      strstr(err, "devices/serial/source@path: 's.log'"),
	      "%s", err);
	domain_free(&d);
}

/* ROM files: too big, too small, no 0x55 0xaa, not a file. */
static void test_bad_roms(void)
{
	static uint8_t big[GUEST_PCI_ROM_SIZE + 1] = {0x55, 0xaa};
	static const uint8_t sig[2] = {0x12, 0x34}, one[1] = {0x55};
	char dir[] = "/tmp/kvmmu-rom.XXXXXX", path[64], xml[1024];
	const struct {
		const char *name;
		const uint8_t *data;
		size_t len;
		const char *want;
	} roms[] = {
		{"big.rom", big, sizeof(big), "65537 bytes; kvmmu's ROM BAR"},
		{"sig.rom", sig, sizeof(sig), "starts 0x12 0x34"},
		{"one.rom", one, sizeof(one), "1 bytes"},
	};

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	for (size_t i = 0; i < sizeof(roms) / sizeof(roms[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, roms[i].name);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		CHECK(fd >= 0 && write(fd, roms[i].data, roms[i].len) ==
					 (ssize_t)roms[i].len,
		      "%s", path);
		close(fd);
		snprintf(xml, sizeof(xml),
			 DOM("", "",
			     "<video><model type='vga'/><rom file='%s'/>"
			     "</video>"),
			 path);
		REFUSED(xml, roms[i].want);
		unlink(path);
	}
	snprintf(xml, sizeof(xml),
		 DOM("", "",
		     "<video><model type='vga'/><rom file='%s'/>"
		     "</video>"),
		 dir);
	REFUSED(xml, "devices/video/rom@file");
	rmdir(dir);
}

/* 30 shmems and the VGA are the most PCI devices bootchurn knows. */
static void test_device_count(void)
{
	static char xml[16384];
	size_t n = 0;
	struct domain d;

	n += (size_t)snprintf(xml + n, sizeof(xml) - n,
			      "<domain type='kvm'><name>n</name><memory>65536"
			      "</memory><os><type>hvm</type><kernel>/k"
			      "</kernel></os><devices>" VGA);
	for (int i = 0; i < GUEST_PCI_MAX_DEVS - 1; i++)
		n += (size_t)snprintf(xml + n, sizeof(xml) - n, SHMEM("s"));
	snprintf(xml + n, sizeof(xml) - n, "</devices></domain>");
	ACCEPTED(xml, &d);
	CHECK(domain_pci_devices(&d) == GUEST_PCI_MAX_DEVS, "%u devices",
	      domain_pci_devices(&d));
	domain_free(&d);
	snprintf(xml + n, sizeof(xml) - n, SHMEM("s") "</devices></domain>");
	REFUSED(xml, "devices/shmem: at most 30");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		REFUSED(refusals[i].xml, refusals[i].want);
	test_cmdline();
	test_relative();
	test_bad_roms();
	test_device_count();
	return checks_report("test_domain_refusals");
}
