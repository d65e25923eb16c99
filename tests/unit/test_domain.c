/*
 * test_domain.c: a libvirt domain's XML as a kvmmu VM (vmm-frontend's
 * domain.c): every supported element and how it maps, libvirt's units,
 * kvmmu's <zap-control/> metadata, each warning for what is ignored, and
 * the XML libvirt 9.0 itself writes (QEMU and test drivers) accepted.
 * The refusals are test_domain_refusals.c.
 * Trust: test code; no KVM, no libvirt.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "abi.h"
#include "domain_fixture.h"

#define MiB (1ULL << 20)

static void test_units(void)
{
	static const struct {
		const char *v, *unit;
		uint64_t bytes;
	} ok[] = {
		{"7", NULL, 7 * 1024},
		{"7", "", 7 * 1024},
		{"7", "b", 7},
		{"7", "bytes", 7},
		{"7", "BYTES", 7},
		{"7", "k", 7 * 1024},
		{"7", "K", 7 * 1024},
		{"7", "KiB", 7 * 1024},
		{"7", "kib", 7 * 1024},
		{"7", "KB", 7000},
		{"7", "kb", 7000},
		{"7", "M", 7 * MiB},
		{"7", "MiB", 7 * MiB},
		{"7", "MB", 7000000},
		{"3", "G", 3ULL << 30},
		{"3", "GiB", 3ULL << 30},
		{"3", "GB", 3000000000ULL},
		{"2", "T", 2ULL << 40},
		{"2", "TiB", 2ULL << 40},
		{"2", "TB", 2000000000000ULL},
		{"1", "P", 1ULL << 50},
		{"1", "PB", 1000000000000000ULL},
		{"1", "E", 1ULL << 60},
		{"1", "EiB", 1ULL << 60},
		{"0", "G", 0},
	};
	static const char *const bad[][2] = {
		{"", NULL},
		{"x", NULL},
		{"-1", NULL},
		{"1.5", NULL},
		{"1 ", NULL},
		{" 1", NULL},
		{"0x10", "b"},
		{"1", "Q"},
		{"1", "KiBB"},
		{"1", "iB"},
		{"1", "kbytes"},
		{"16", "E"},
		{"18446744073709551616", "b"},
	};
	uint64_t b;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		b = 0;
		CHECK(domain_scaled(ok[i].v, ok[i].unit, 1024, &b) == 0 &&
			      b == ok[i].bytes,
		      "%s %s: %llu, want %llu", ok[i].v,
		      ok[i].unit ? ok[i].unit : "(none)", (unsigned long long)b,
		      (unsigned long long)ok[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(domain_scaled(bad[i][0], bad[i][1], 1024, &b) < 0,
		      "'%s' '%s' refused", bad[i][0],
		      bad[i][1] ? bad[i][1] : "(none)");
	CHECK(domain_scaled("5", NULL, 1, &b) == 0 && b == 5,
	      "default scale 1 (shmem sizes are bytes)");
}

/* Memory in every unit libvirt writes; currentMemory equal to it. */
static void test_memory(void)
{
	static const char *const forms[] = {
		"<memory>65536</memory>",
		"<memory unit='KiB'>65536</memory>",
		"<memory unit='k'>65536</memory>",
		"<memory unit='M'>64</memory>",
		"<memory unit='MiB'>64</memory>",
		"<memory unit='bytes'>67108864</memory>",
		"<memory unit='b'>67108864</memory>",
		"<memory unit='MiB'>64</memory>"
		"<currentMemory unit='KiB'>65536</currentMemory>",
		"<memory unit='G'>1</memory>"
		"<currentMemory unit='MiB'>1024</currentMemory>",
	};
	char xml[1024];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct domain d;

		snprintf(xml, sizeof(xml),
			 "<domain type='kvm'><name>m</name>%s<os><type>hvm"
			 "</type><kernel>/k</kernel></os></domain>",
			 forms[i]);
		ACCEPTED(xml, &d);
		CHECK(d.d_memory_mib == (i == 8 ? 1024 : 64), "%s: %llu MiB",
		      forms[i], (unsigned long long)d.d_memory_mib);
		domain_free(&d);
	}
}

/*
 * memoryBacking: hugetlbfs pages of libvirt's sizes (no <page>: 2 MiB),
 * and what kvmmu's RAM already is, accepted.
 */
static void test_memory_backing(void)
{
	static const struct {
		const char *xml;
		uint32_t kib;
	} forms[] = {
		{DOM("", "", ""), 0},
		{DOM("<memoryBacking><hugepages/></memoryBacking>", "", ""),
		 2048},
		{DOM("<memoryBacking><hugepages><page size='2' unit='M'/>"
		     "</hugepages></memoryBacking>",
		     "", ""),
		 2048},
		{DOM("<memoryBacking><hugepages><page size='2048'/>"
		     "</hugepages><nosharepages/></memoryBacking>",
		     "", ""),
		 2048},
		{DOM("<memoryBacking><hugepages><page size='1' unit='G'/>"
		     "</hugepages><source type='memfd'/><access "
		     "mode='shared'/><discard/></memoryBacking>",
		     "", ""),
		 1048576},
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct domain d;

		ACCEPTED(forms[i].xml, &d);
		CHECK(d.d_hugetlb_kib == forms[i].kib, "form %zu: %u KiB", i,
		      d.d_hugetlb_kib);
		domain_free(&d);
	}
	/* allocation: immediate all at CreateVm, ondemand as touched. */
	for (int i = 0; i < 3; i++) {
		static const bool want[] = {false, true, false};
		static const char *const xml[] = {
			DOM("", "", ""),
			DOM("<memoryBacking><allocation mode='immediate'/>"
			    "</memoryBacking>",
			    "", ""),
			DOM("<memoryBacking><allocation mode='ondemand'/>"
			    "</memoryBacking>",
			    "", ""),
		};
		struct domain d;

		ACCEPTED(xml[i], &d);
		CHECK(d.d_ram_immediate == want[i], "allocation %d: %s", i,
		      d.d_ram_immediate ? "immediate" : "ondemand");
		domain_free(&d);
	}
}

/* Everything the mapping fills in, from one full domain. */
static void test_full(void)
{
	const char *xml =
		"<domain type='kvm' id='3' xmlns:other='urn:other'>"
		"<name>full.vm-1</name>"
		"<uuid>6B766D6D75004A118000000000000001</uuid>"
		"<title>t</title><description>d</description>"
		"<metadata><other:x a='1'/>"
		"<k:zap-control xmlns:k='urn:kvmmu:domain:1' mode='memslot' "
		"batch-window-us='250' allones='rom'/></metadata>"
		"<memory unit='GiB'>1</memory>"
		"<currentMemory unit='MiB'>1024</currentMemory>"
		"<vcpu placement='static' current='4'>4</vcpu>"
		"<os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>"
		"<kernel>payloads/b.bin</kernel>"
		"<initrd>boot/initrd.img</initrd>"
		"<cmdline>devices=3 cycles=2</cmdline></os>"
		"<on_poweroff>destroy</on_poweroff>"
		"<devices>"
		"<serial type='file'><source path='logs/serial.log' "
		"append='on'/><target type='isa-serial' port='0'><model "
		"name='isa-serial'/></target><alias name='serial0'/></serial>"
		"<console type='file'><source path='logs/serial.log'/>"
		"<target type='serial' port='0'/></console>"
		"<video><model type='vga' vram='2048' heads='1' "
		"primary='yes'/><alias name='video0'/></video>" SHMEM("a")
			SHMEM("b") "<controller type='pci' index='0' "
				   "model='pci-root'/>"
				   "<audio id='1' type='none'/>"
				   "<memballoon model='none'/>"
				   "</devices></domain>";
	struct domain d;
	char z[96];

	ACCEPTED(xml, &d);
	CHECK(strcmp(d.d_name, "full.vm-1") == 0, "name %s", d.d_name);
	CHECK(strcmp(d.d_uuid, "6b766d6d-7500-4a11-8000-000000000001") == 0,
	      "uuid canonical: %s", d.d_uuid);
	CHECK(d.d_memory_mib == 1024 && d.d_vcpus == 4, "%llu MiB, %u vCPUs",
	      (unsigned long long)d.d_memory_mib, d.d_vcpus);
	CHECK(d.d_kernel && strcmp(d.d_kernel, "/base/payloads/b.bin") == 0,
	      "kernel relative to the file: %s", d.d_kernel);
	CHECK(d.d_initrd && strcmp(d.d_initrd, "/base/boot/initrd.img") == 0,
	      "initrd relative to the file: %s", d.d_initrd);
	CHECK(d.d_cmdline && strcmp(d.d_cmdline, "devices=3 cycles=2") == 0,
	      "cmdline %s", d.d_cmdline);
	CHECK(d.d_serial && strcmp(d.d_serial, "/base/logs/serial.log") == 0 &&
		      d.d_serial_append && !d.d_serial_none,
	      "serial file %s", d.d_serial);
	CHECK(d.d_pc && d.d_shmem == 2 && domain_pci_devices(&d) == 3,
	      "pc machine: VGA + %u shmem", d.d_shmem);
	CHECK(d.d_rom == NULL, "built-in ROM");
	CHECK(d.d_zap.mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT &&
		      d.d_zap.batch_window_us == 250 &&
		      d.d_zap.allones == KVMMU__ALL_ONES__ALLONES_ROM,
	      "zap %s", zap_str(&d.d_zap, z, sizeof(z)));
	CHECK(d.d_warn[0] == '\0', "no warning: %s", d.d_warn);
	domain_free(&d);
}

/* The defaults: plain machine, one vCPU, serial dropped, zap all. */
static void test_minimal(void)
{
	struct domain d;
	char z[96];

	ACCEPTED(DOM("", "", ""), &d);
	CHECK(!d.d_pc && d.d_vcpus == 1 && d.d_memory_mib == 64 &&
		      d.d_uuid[0] == '\0' && d.d_cmdline == NULL,
	      "defaults");
	CHECK(d.d_serial_none && d.d_serial == NULL, "no serial: dropped");
	CHECK(strcmp(zap_str(&d.d_zap, z, sizeof(z)),
		     "mode=all batch-window-us=0 allones=mmio") == 0,
	      "zap defaults: %s", z);
	domain_free(&d);
	ACCEPTED(DOM("", "", "<serial type='stdio'/>"), &d);
	CHECK(!d.d_serial_none && d.d_serial == NULL, "stdio: stdout");
	domain_free(&d);
	ACCEPTED(DOM("", "", "<serial type='null'/>"), &d);
	CHECK(d.d_serial_none, "null: dropped");
	domain_free(&d);
	/* A console alone defines serial port 0, as in libvirt. */
	ACCEPTED(DOM("", "",
		     "<console type='stdio'><target type='serial'/>"
		     "</console>"),
		 &d);
	CHECK(!d.d_serial_none, "console alone: stdout");
	domain_free(&d);
	ACCEPTED(DOM("", "", "<video><model type='vga'/></video>"), &d);
	CHECK(d.d_pc && domain_pci_devices(&d) == 1, "vram defaults to 2 MiB");
	domain_free(&d);
	ACCEPTED(DOM("", "", "<video><model type='none'/></video>"), &d);
	CHECK(!d.d_pc, "video type none: the plain machine");
	domain_free(&d);
}

/* Disks and filesystems: what each maps to, paths as other paths are. */
static void test_disks(void)
{
	struct domain d;

	ACCEPTED(DOM("", "",
		     "<disk type='file' device='disk'><driver name='qemu' "
		     "type='qcow2'/><source file='img/a.qcow2'/><target "
		     "dev='vdb' bus='virtio'/><readonly/><address type='pci' "
		     "domain='0' bus='0' slot='4' function='0'/></disk>"
		     "<disk type='file' device='disk'><source "
		     "file='/abs/b.img'/><target dev='vda'/><alias "
		     "name='virtio-disk0'/></disk>"
		     "<disk type='vhostuser' device='disk'><driver "
		     "name='qemu' type='raw'/><source type='unix' "
		     "path='/run/blk.sock'/><target dev='vdc' "
		     "bus='virtio'/></disk>"
		     "<filesystem type='mount' accessmode='passthrough'>"
		     "<driver type='virtiofs' queue='1024'/><source "
		     "dir='share'/><target dir='host_share'/></filesystem>"
		     "<filesystem type='mount'><driver type='virtiofs'/>"
		     "<source socket='/run/fs.sock'/><target dir='fs2'/>"
		     "</filesystem>"),
		 &d);
	CHECK(d.d_ndisks == 3 && d.d_nfs == 2, "3 disks, 2 filesystems: %u %u",
	      d.d_ndisks, d.d_nfs);
	CHECK(strcmp(d.d_disks[0].dk_path, "/base/img/a.qcow2") == 0 &&
		      d.d_disks[0].dk_qcow2 && d.d_disks[0].dk_ro &&
		      !d.d_disks[0].dk_socket &&
		      strcmp(d.d_disks[0].dk_target, "vdb") == 0,
	      "qcow2, readonly, relative to the file: %s",
	      d.d_disks[0].dk_path);
	CHECK(strcmp(d.d_disks[1].dk_path, "/abs/b.img") == 0 &&
		      !d.d_disks[1].dk_qcow2 && !d.d_disks[1].dk_ro &&
		      strcmp(d.d_disks[1].dk_target, "vda") == 0,
	      "no driver: raw, writable; vd* without bus: virtio");
	CHECK(d.d_disks[2].dk_socket &&
		      strcmp(d.d_disks[2].dk_path, "/run/blk.sock") == 0 &&
		      strcmp(d.d_disks[2].dk_target, "vdc") == 0,
	      "vhostuser: the socket");
	CHECK(strcmp(d.d_fs[0].fs_dir, "/base/share") == 0 &&
		      d.d_fs[0].fs_socket == NULL &&
		      strcmp(d.d_fs[0].fs_tag, "host_share") == 0,
	      "filesystem: a directory and its tag");
	CHECK(d.d_fs[1].fs_dir == NULL &&
		      strcmp(d.d_fs[1].fs_socket, "/run/fs.sock") == 0 &&
		      strcmp(d.d_fs[1].fs_tag, "fs2") == 0,
	      "filesystem: a back end's socket");
	CHECK(strstr(d.d_warn, "address") != NULL, "address: warned: %s",
	      d.d_warn);
	domain_free(&d);
	CHECK(d.d_ndisks == 0 && d.d_nfs == 0, "freed");
	/* From libvirt (no base): relative paths are refused. */
	{
		static const char xml[] =
			DOM("", "",
			    "<disk type='file' device='disk'><source "
			    "file='a.img'/><target dev='vda' "
			    "bus='virtio'/></disk>");
		char err[256];

		CHECK(domain_parse(xml, strlen(xml), NULL, &d, err,
				   sizeof(err)) < 0 &&
			      strstr(err, "devices/disk/source@file: 'a.img' "
					  "is relative") != NULL,
		      "relative image from libvirt: %s", err);
		domain_free(&d);
	}
}

static char tmpdir[64];

static const char *tmp_file(const char *name, const void *data, size_t len)
{
	static char path[4][128];
	static int k;
	char *p = path[k++ % 4];
	int fd;

	snprintf(p, 128, "%s/%s", tmpdir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len, "write %s", p);
	close(fd);
	return p;
}

/* <rom file=.../> on the VGA: the option ROM's bytes. */
static void test_rom(void)
{
	static uint8_t rom[4096];
	char xml[1024];
	struct domain d;
	const char *f;

	rom[0] = 0x55;
	rom[1] = 0xaa;
	rom[100] = 0x42;
	f = tmp_file("vga.rom", rom, sizeof(rom));
	snprintf(xml, sizeof(xml),
		 DOM("", "",
		     "<video><model type='vga'/><rom bar='on' "
		     "enabled='yes' file='%s'/></video>"),
		 f);
	ACCEPTED(xml, &d);
	CHECK(d.d_rom && d.d_rom_len == sizeof(rom) && d.d_rom[100] == 0x42,
	      "ROM read (%zu bytes)", d.d_rom_len);
	domain_free(&d);
	/* Relative to the file's directory, as the kernel is. */
	CHECK(parse_base(DOM("", "",
			     "<video><model type='vga'/><rom "
			     "file='vga.rom'/></video>"),
			 tmpdir, &d, xml, sizeof(xml)) == 0 &&
		      d.d_rom_len == sizeof(rom),
	      "relative ROM: %s", xml);
	domain_free(&d);
	unlink(f);
}

static void test_warnings(void)
{
	WARNED(DOM("<cpu mode='host-model'/>", "", ""), "cpu: ignored");
	WARNED(DOM("<clock offset='utc'/>", "", ""), "clock: ignored");
	WARNED(DOM("<features><acpi/><apic/></features>", "", ""),
	       "features: ignored");
	WARNED(DOM("<pm><suspend-to-mem enabled='no'/></pm>", "", ""),
	       "pm: ignored");
	WARNED(DOM("<seclabel type='dynamic' model='apparmor'/>", "", ""),
	       "seclabel: ignored");
	WARNED(DOM("<resource><partition>/machine</partition></resource>", "",
		   ""),
	       "resource: ignored");
	WARNED(DOM("<on_reboot>restart</on_reboot>", "", ""),
	       "on_reboot='restart': ignored");
	WARNED(DOM("<on_crash>preserve</on_crash>", "", ""),
	       "on_crash='preserve': ignored");
	WARNED(DOM("<vcpu cpuset='0-1'>1</vcpu>", "", ""), "vcpu@cpuset");
	WARNED(DOM("<vcpu placement='auto'>1</vcpu>", "", ""),
	       "vcpu@placement");
	WARNED(DOM("", "<boot dev='hd'/><boot dev='cdrom'/>", ""),
	       "os/boot: ignored");
	WARNED(DOM("", "", "<emulator>/usr/bin/qemu-system-x86_64</emulator>"),
	       "devices/emulator: ignored");
	WARNED(DOM("", "", "<controller type='usb' model='piix3-uhci'/>"),
	       "controller[type='usb']: ignored");
	WARNED(DOM("", "", "<input type='mouse' bus='ps2'/>"),
	       "input[type='mouse' bus='ps2']: ignored");
	WARNED(DOM("", "", "<input type='keyboard' bus='ps2'/>"),
	       "input[type='keyboard' bus='ps2']: ignored");
	WARNED(DOM("", "", "<memballoon model='virtio'/>"),
	       "memballoon: ignored");
	WARNED(DOM("", "",
		   "<video><model type='vga'/><address type='pci' "
		   "slot='0x02'/></video>" SHMEM("s")),
	       "devices/*/address: ignored");
}

/* What libvirt 9.0 writes back (virsh dumpxml) is read as written. */
static void test_libvirt_output(const char *file, bool qemu)
{
	char path[512], err[512], z[96];
	struct domain d;
	char *xml = NULL;
	size_t len = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", KVMMU_TEST_DATA, file);
	fp = fopen(path, "r");
	CHECK(fp != NULL, "%s", path);
	if (fp == NULL)
		return;
	CHECK(getdelim(&xml, &len, '\0', fp) > 0, "read %s", path);
	fclose(fp);
	CHECK(parse_base(xml, NULL, &d, err, sizeof(err)) == 0, "%s: %s", file,
	      err);
	CHECK(d.d_pc && d.d_shmem == 7 && d.d_memory_mib == 512 &&
		      strcmp(d.d_kernel, "/opt/kvmmu/bootchurn.bin") == 0,
	      "%s: the boot-churn machine", file);
	CHECK(strstr(d.d_warn, "os/boot") != NULL, "%s: %s", file, d.d_warn);
	if (qemu) {
		CHECK(strstr(d.d_warn, "emulator") && strstr(d.d_warn, "cpu") &&
			      strstr(d.d_warn, "address"),
		      "what the QEMU driver adds is named: %s", d.d_warn);
		zap_str(&d.d_zap, z, sizeof(z));
		CHECK(strcmp(z, "mode=memslot batch-window-us=100 "
				"allones=rom") == 0,
		      "metadata as virsh metadata --config set it: %s", z);
	}
	domain_free(&d);
	free(xml);
}

/* <zap-control/> alone, as virDomainGetMetadata returns it. */
static void test_zap_parse(void)
{
	Kvmmu__ZapControl z;
	char err[300], s[96];

	CHECK(zap_parse(NULL, &z, err, sizeof(err)) == 0 &&
		      z.mode == KVMMU__ZAP_MODE__ZAP_ALL && z.has_mode &&
		      z.has_batch_window_us && z.has_allones,
	      "absent: the defaults");
	CHECK(zap_parse("<zap-control mode=\"memslot\"/>", &z, err,
			sizeof(err)) == 0 &&
		      strcmp(zap_str(&z, s, sizeof(s)),
			     "mode=memslot batch-window-us=0 "
			     "allones=mmio") == 0,
	      "memslot: %s %s", s, err);
	CHECK(zap_parse("<kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1' "
			"batch-window-us='1000000' allones='rom'/>",
			&z, err, sizeof(err)) == 0 &&
		      z.batch_window_us == 1000000 &&
		      z.allones == KVMMU__ALL_ONES__ALLONES_ROM,
	      "namespaced, largest window: %s", err);
	CHECK(zap_parse("<zap-control mode='off'/>", &z, err, sizeof(err)) <
			      0 &&
		      strstr(err, "zap-control@mode"),
	      "bad mode: %s", err);
	CHECK(zap_parse("<zap-control", &z, err, sizeof(err)) < 0 &&
		      strstr(err, "not well-formed"),
	      "broken: %s", err);
	CHECK(zap_parse("<zap mode='all'/>", &z, err, sizeof(err)) < 0 &&
		      strstr(err, "<zap-control/>"),
	      "other element: %s", err);
	CHECK(zap_parse("<x:zap-control xmlns:x='urn:elsewhere'/>", &z, err,
			sizeof(err)) < 0,
	      "other namespace: %s", err);
	CHECK(zap_equal(&z, &z), "equal");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmmu-domain.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_units();
	test_memory();
	test_memory_backing();
	test_full();
	test_minimal();
	test_rom();
	test_disks();
	test_warnings();
	test_libvirt_output("qemu-driver.xml", true);
	test_libvirt_output("test-driver-live.xml", false);
	test_zap_parse();
	rmdir(tmpdir);
	return checks_report("test_domain");
}
