#!/bin/sh
# build.sh SRC_DIR KERNEL_DEB DIR [INIT]: the disk tests' guest, made in DIR:
#   DIR/initrd    busybox, the modules Debian builds as modules
#                 (virtio_blk, ext4 and what ext4 needs, from KERNEL_DEB)
#                 and initramfs-init, which mounts root= and switches to it
#   DIR/root.raw  64 MiB of ext4 made with mke2fs -d (nothing mounted):
#                 busybox and disk-init (or INIT: the demo gives
#                 tests/linux/init) as /sbin/init; busybox init's
#                 /etc/inittab and its actions (kept) for the shutdown test
# Says what failed and exits 1.
set -eu
src=$1 deb=$2 dir=$3 init=${4:-$1/tests/linux/disk/disk-init}
fail() { echo "FAIL: $*"; exit 1; }
mods="crc16 crc32c_generic mbcache jbd2 ext4 virtio_blk"
mkdir -p "$dir/pkg" "$dir/ird/bin" "$dir/ird/lib/modules"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/pkg" --wildcards \
	'*/crc16.ko.xz' '*/crc32c_generic.ko.xz' '*/mbcache.ko.xz' \
	'*/jbd2.ko.xz' '*/ext4.ko.xz' '*/virtio_blk.ko.xz' ||
	fail "modules from $deb"
# The modules, in dependency order.
for m in $mods; do
	xz -dc "$(find "$dir/pkg" -name "$m.ko.xz")" >"$dir/ird/lib/modules/$m.ko"
	echo "$m" >>"$dir/ird/lib/modules/order"
done
rm -rf "$dir/pkg"
bb=$(command -v busybox)
# Relative links: busybox --install -s would point at the host's path.
applets() {
	cp "$bb" "$1/busybox"
	for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/$a"; done
}
applets "$dir/ird/bin"
mkdir -p "$dir/ird/dev" "$dir/ird/proc" "$dir/ird/sys"
cp "$src/tests/linux/disk/initramfs-init" "$dir/ird/init"
chmod 755 "$dir/ird/init"
(cd "$dir/ird" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$dir/initrd"
rm -rf "$dir/ird"

mkdir -p "$dir/root/bin" "$dir/root/sbin" "$dir/root/etc" "$dir/root/dev" \
	"$dir/root/proc" "$dir/root/sys"
applets "$dir/root/bin"
cp "$init" "$dir/root/sbin/init"
cp "$src/tests/linux/disk/kept" "$dir/root/sbin/kept"
cp "$src/tests/linux/disk/inittab" "$dir/root/etc/inittab"
chmod 755 "$dir/root/sbin/init" "$dir/root/sbin/kept"
mke2fs -q -t ext4 -d "$dir/root" -L kvmmu-root "$dir/root.raw" 64M || fail mke2fs
rm -rf "$dir/root"
