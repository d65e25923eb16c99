#!/bin/bash
# virtio-image.sh: bench-virtio's guest disk and initramfs.
#
#   bench/virtio-image.sh OUTDIR KERNEL_DEB VIO FS_MIB REGION_MIB
#
# Writes OUTDIR/initrd: busybox and tests/linux/disk/initramfs-init,
# which loads virtio_blk and ext4 (modules in Debian's kernel, taken
# from KERNEL_DEB), mounts root= and switches to it; and OUTDIR/root.raw:
# an ext4 file system of FS_MIB MiB made with mke2fs -d from a busybox
# tree, bench/virtio-init as /sbin/init and VIO (the static I/O tool) as
# /bin/vio, followed by REGION_MIB MiB allocated for the guest's I/O (no
# holes: a read costs the same everywhere).  Nothing is mounted; staging
# happens in a mktemp directory, removed on exit.  Exits non-zero,
# saying why, on any failure.
set -eu
die() {
	echo "virtio-image: $*" >&2
	exit 1
}
[ $# -eq 5 ] || die "usage: $0 OUTDIR KERNEL_DEB VIO FS_MIB REGION_MIB"
out=$1 deb=$2 vio=$3 fs=$4 region=$5
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
for t in busybox mke2fs dpkg-deb cpio gzip xz fallocate; do
	command -v "$t" >/dev/null || die "no $t (deploy/install-deps.sh)"
done
[ -r "$deb" ] || die "no kernel package $deb"
[ -x "$vio" ] || die "no I/O tool $vio"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmmu-virtio-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bb=$(command -v busybox)
# Relative links: busybox --install -s would point at the host's path.
applets() { for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/$a"; done; }

# The initramfs: the modules, in dependency order, and the disk test's init.
mods="crc16 crc32c_generic mbcache jbd2 ext4 virtio_blk"
mkdir -p "$tmp/pkg" "$tmp/ird/bin" "$tmp/ird/lib/modules" "$tmp/ird/dev" \
	"$tmp/ird/proc" "$tmp/ird/sys"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/pkg" --wildcards \
	$(for m in $mods; do printf "*/%s.ko.xz " "$m"; done) ||
	die "no modules in $deb"
for m in $mods; do
	xz -dc "$(find "$tmp/pkg" -name "$m.ko.xz")" >"$tmp/ird/lib/modules/$m.ko"
	echo "$m" >>"$tmp/ird/lib/modules/order"
done
cp "$bb" "$tmp/ird/bin/busybox"
applets "$tmp/ird/bin"
install -m 755 "$src/tests/linux/disk/initramfs-init" "$tmp/ird/init"
(cd "$tmp/ird" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) \
	>"$out/initrd"

# The root: busybox, the init and the tool; then the I/O region.
mkdir -p "$tmp/root/bin" "$tmp/root/sbin" "$tmp/root/dev" "$tmp/root/proc" \
	"$tmp/root/sys"
cp "$bb" "$tmp/root/bin/busybox"
applets "$tmp/root/bin"
install -m 755 "$vio" "$tmp/root/bin/vio"
install -m 755 "$here/virtio-init" "$tmp/root/sbin/init"
rm -f "$out/root.raw"
mke2fs -q -t ext4 -d "$tmp/root" -L kvmmu-bench "$out/root.raw" "${fs}M" ||
	die "mke2fs"
fallocate -l "$((fs + region))M" "$out/root.raw" || die "fallocate"
# The frontend drops to nobody before qemu-storage-daemon opens it.
chmod 666 "$out/root.raw"
