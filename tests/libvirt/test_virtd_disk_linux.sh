#!/bin/bash
# test_virtd_disk_linux.sh: libvirt.virtd_disk_linux, `virsh start` of a
# domain with a <disk> and a <filesystem> that boots Debian's 6.12 kernel
# with root=/dev/vda through kvmmu-virtd.  Usage: test_virtd_disk_linux.sh
# BIN_DIR GUEST_DIR SRC.
#
# The ext4 root is made here (mke2fs -d, nothing mounted) with the disk
# test's init (tests/linux/disk/), as a qcow2 image, root-owned and 0600:
# only the grant kvmmu-virtd gives the domain's uid lets its
# qemu-storage-daemon open it.  A second disk, raw and <readonly/>,
# refuses the guest's write (kvmmu.ro=vdb) and is unchanged after.  Two filesystems: a <source socket=.../>, a virtiofsd this script
# runs as root on a directory holding a file the host wrote, and a
# <source dir=.../>, root's 0755 too, which the domain's frontend serves
# with a virtiofsd of the domain's uid (root only in a user namespace of
# its own) once kvmmu-virtd has granted that uid the directory.  The
# guest writes /hello, copies each share's from-host to from-guest (the
# disk test's init with kvmmu.fs=), and reboots, which ends the domain
# (shut off); the host reads the bytes back with debugfs and from the
# shares (the second's copy the domain uid's), the grants on the image,
# the socket and the directory are gone, and so are both virtiofsds
# (each ends with its one connection).  Label linux-guest: it needs a
# KVM that runs a stock kernel (deploy/vm/run).
set -eu
BIN=$1 GUEST=$2 SRC=$3
TEST=libvirt.virtd_disk_linux
. "$SRC/tests/libvirt/lib.sh"
require_kvm
command -v virsh >/dev/null || skip "virsh is not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root (frontends run as uids of their own)"
vfsd=/usr/lib/qemu/virtiofsd
for t in mke2fs debugfs busybox cpio qemu-img /usr/bin/qemu-storage-daemon "$vfsd"; do
	command -v "$t" >/dev/null ||
		{ echo "FAIL $TEST: no $t (deploy/install-deps.sh)"; exit 1; }
done
cache=${KVMMU_VM_CACHE:-$SRC/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
if ! [ -r "$kernel" ]; then
	"$SRC/deploy/vm/kernel.sh" backports "$cache" >/dev/null ||
		skip "no kernel at $kernel"
fi
deb=$(ls "$cache"/backports/linux-image-*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "FAIL $TEST: no kernel package in $cache/backports"; exit 1; }
setup
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
vs() { timeout 60 virsh -q -c "$U" "$@"; }

admin_server_start
virtd_start

# The initramfs: virtio_blk and ext4 from the kernel package, then root=.
mkdir -p "$TMP/pkg" "$TMP/ird/bin" "$TMP/ird/lib/modules" "$TMP/ird/dev" \
	"$TMP/ird/proc" "$TMP/ird/sys"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TMP/pkg" --wildcards \
	'*/crc16.ko.xz' '*/crc32c_generic.ko.xz' '*/mbcache.ko.xz' \
	'*/jbd2.ko.xz' '*/ext4.ko.xz' '*/virtio_blk.ko.xz'
for m in crc16 crc32c_generic mbcache jbd2 ext4 virtio_blk; do
	xz -dc "$(find "$TMP/pkg" -name "$m.ko.xz")" >"$TMP/ird/lib/modules/$m.ko"
	echo "$m" >>"$TMP/ird/lib/modules/order"
done
bb=$(command -v busybox)
applets() { for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/$a"; done; }
cp "$bb" "$TMP/ird/bin/busybox"
applets "$TMP/ird/bin"
cp "$SRC/tests/linux/disk/initramfs-init" "$TMP/ird/init"
chmod 755 "$TMP/ird/init"
(cd "$TMP/ird" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$TMP/any/initrd"
cp "$kernel" "$TMP/any/vmlinuz"
chmod a+r "$TMP/any/initrd" "$TMP/any/vmlinuz"

# The root: busybox and the disk test's init; root's, 0600.
mkdir -p "$TMP/root/bin" "$TMP/root/sbin" "$TMP/root/dev" "$TMP/root/proc" \
	"$TMP/root/sys" "$TMP/root/mnt"
cp "$bb" "$TMP/root/bin/busybox"
applets "$TMP/root/bin"
cp "$SRC/tests/linux/disk/disk-init" "$TMP/root/sbin/init"
chmod 755 "$TMP/root/sbin/init"
mkdir -m 0755 "$TMP/img"
mke2fs -q -t ext4 -d "$TMP/root" -L kvmmu-root "$TMP/img/root.raw" 64M
# As a qcow2 image (<driver type='qcow2'/>), and beside it a <readonly/>
# raw disk the guest tries to write (disk-init's kvmmu.ro=vdb).
qemu-img convert -f raw -O qcow2 "$TMP/img/root.raw" "$TMP/img/root.qcow2"
rm "$TMP/img/root.raw"
head -c 1048576 /dev/urandom >"$TMP/img/ro.raw"
cp "$TMP/img/ro.raw" "$TMP/ro.orig"
chmod 0600 "$TMP/img/root.qcow2" "$TMP/img/ro.raw"

# The share: a file the host wrote, served by a virtiofsd of root's
# (QEMU 7.2's needs root for its namespaces), whose socket (root's, 0700)
# kvmmu-virtd grants the domain's uid for the domain's life.
mkdir -m 0755 "$TMP/share" "$TMP/fs" "$TMP/dirshare"
head -c 100000 /dev/urandom >"$TMP/share/from-host"
head -c 100000 /dev/urandom >"$TMP/dirshare/from-host"
"$vfsd" --socket-path="$TMP/fs/vfsd.sock" -o source="$TMP/share" \
	-o sandbox=namespace -o log_level=warn 2>"$TMP/vfsd.err" &
vfsd_pid=$!
bg_pids="$bg_pids $vfsd_pid"
for _ in $(seq 100); do [ -S "$TMP/fs/vfsd.sock" ] && break; sleep 0.05; done

cat >"$TMP/lxd.xml" <<XML
<domain type='kvm'><name>lxd</name>
<memory unit='MiB'>512</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type>
<kernel>$TMP/any/vmlinuz</kernel><initrd>$TMP/any/initrd</initrd>
<cmdline>console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda rw kvmmu.msg=hello-virsh-5e2b kvmmu.ro=vdb kvmmu.fs=hostshare kvmmu.fs=dirshare</cmdline></os>
<devices><serial type='stdio'><target port='0'/></serial>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='$TMP/img/root.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$TMP/img/ro.raw'/><target dev='vdb' bus='virtio'/><readonly/></disk>
<filesystem type='mount'><driver type='virtiofs'/>
<source socket='$TMP/fs/vfsd.sock'/><target dir='hostshare'/></filesystem>
<filesystem type='mount'><driver type='virtiofs'/>
<source dir='$TMP/dirshare'/><target dir='dirshare'/></filesystem>
</devices></domain>
XML
log=$TMP/state/log/lxd.log

# domstate WANT SECS: waits for `virsh domstate --reason lxd`.
domstate() {
	local i got=""
	for i in $(seq $(($2 * 10))); do
		got=$(vs domstate lxd --reason 2>&1 || :)
		[ "$got" = "$1" ] && return 0
		sleep 0.1
	done
	echo "$TEST: domstate lxd: '$got', want '$1'" >&2
	tail -20 "$log" >&2
	return 1
}

check "define" vs define "$TMP/lxd.xml"
check "start" vs start lxd
check "the guest mounted its root rw from /dev/vda" \
	wait_grep "$log" "kvmmu-guest: root rw" 300
check "it wrote /hello" wait_grep "$log" "kvmmu-guest: wrote /hello" 120
check "it copied a file in the share" \
	wait_grep "$log" "kvmmu-guest: copied hostshare" 120
check "and in the directory its frontend shares" \
	wait_grep "$log" "kvmmu-guest: copied dirshare" 120
check "its reboot ends the domain: shut off (shutdown)" \
	domstate "shut off (shutdown)" 300
qemu-img convert -f qcow2 -O raw "$TMP/img/root.qcow2" "$TMP/back.raw"
check "the host reads the guest's bytes (qcow2)" \
	test "$(debugfs -R 'cat /hello' "$TMP/back.raw" 2>/dev/null)" = hello-virsh-5e2b
check "the <readonly/> disk refused the guest's write" \
	grep -q "kvmmu-guest: vdb write refused" "$log"
check "  and is unchanged" cmp -s "$TMP/img/ro.raw" "$TMP/ro.orig"
check "the host reads the guest's copy in the share" \
	cmp -s "$TMP/share/from-host" "$TMP/share/from-guest"
check "and in the directory" \
	cmp -s "$TMP/dirshare/from-host" "$TMP/dirshare/from-guest"
dom_uid=$(sed -n "s/.*domain 'lxd': uid \([0-9]*\) granted.*/\1/p" "$TMP/virtd.log" | tail -1)
check "  the copy there is the domain uid's ($(stat -c %u "$TMP/dirshare/from-guest"), ${dom_uid:-?})" \
	test "$(stat -c %u "$TMP/dirshare/from-guest")" = "${dom_uid:-none}"
# no_acl FILE MODE: root's, that mode, and no ACL.
no_acl() {
	[ "$(stat -c "%u %a" "$1")" = "0 $2" ] &&
		! /usr/bin/python3 -c "import os, sys
os.getxattr(sys.argv[1], 'system.posix_acl_access')" "$1" 2>/dev/null
}
check "the image is root's 0600 again, no ACL left" no_acl "$TMP/img/root.qcow2" 600
check "the readonly one too" no_acl "$TMP/img/ro.raw" 600
check "the socket is root's 0700 again, no ACL left" no_acl "$TMP/fs/vfsd.sock" 700
check "the directory is root's 0755 again, no ACL left" no_acl "$TMP/dirshare" 755
# virtiofsd ends once its one client (the frontend) has gone: a zombie
# of this shell's, then reaped.
vfsd_gone() {
	local i st
	for i in $(seq 100); do
		st=$(awk '{ print $3 }' "/proc/$vfsd_pid/stat" 2>/dev/null || :)
		if [ -z "$st" ] || [ "$st" = Z ]; then
			fe_wait "$vfsd_pid" || :
			return 0
		fi
		sleep 0.1
	done
	return 1
}
check "virtiofsd ended with the domain" vfsd_gone
check "no virtiofsd left on the shares" \
	test "$(pgrep -f "$vfsd.*$TMP/(dir)?share" | wc -l)" -eq 0
check "undefine" vs undefine lxd
report
