#!/bin/sh
# mkinitramfs.sh: build the Linux test guest's initramfs.
#
#   tests/linux/mkinitramfs.sh OUT
#
# Writes OUT, a gzip'd newc cpio archive: the static busybox (Debian's
# busybox-static) as /bin/busybox, symlinks for the applets the guest
# uses, and tests/linux/init as /init (what it does and prints: see
# there).  Needs no root: the archive says root owns every file, and it
# holds no device nodes (the init mounts devtmpfs).  The staging
# directory is a mktemp directory, removed on exit; OUT is replaced
# only once complete.  Exits non-zero, saying why, on any failure.
set -eu

usage() {
	echo "usage: $0 OUT" >&2
	exit 2
}
die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	usage
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
init=$here/init

# The applets the init calls by name (the shell's builtins need none).
APPLETS="sh mount umount uname cat mkdir dd rm reboot poweroff stty nproc ls dmesg init sync chmod"

bb=$(command -v busybox) || die "busybox not found: install busybox-static"
[ -r "$init" ] || die "no init script at $init"
if command -v ldd >/dev/null 2>&1 && ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked: install busybox-static"
fi
for a in $APPLETS; do
	"$bb" --list | grep -qx "$a" || die "$bb has no '$a' applet"
done
command -v cpio >/dev/null 2>&1 || die "cpio not found"
command -v gzip >/dev/null 2>&1 || die "gzip not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmmu-initramfs.XXXXXX")
new=
cleanup() {
	rm -rf "$tmp"
	[ -z "$new" ] || rm -f "$new"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

root=$tmp/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/mnt"
cp "$bb" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for a in $APPLETS; do
	ln -s busybox "$root/bin/$a"
done
cp "$init" "$root/init"
chmod 0755 "$root/init"

# One timestamp for all, so that the same inputs give the same bytes
# (best effort: touch -h is not POSIX).
find "$root" -exec env TZ=UTC touch -h -t 197001010000 {} + 2>/dev/null || :

# Next to OUT, then renamed over it: never a half-written OUT.
new=$(dirname "$out")/.$(basename "$out").new.$$
# No pipefail in sh: each step to a file, so that each one's failure shows.
(cd "$root" && find . >"$tmp/list") || die "cannot list $root"
LC_ALL=C sort "$tmp/list" >"$tmp/list.sorted"
(cd "$root" && cpio -o -H newc -R 0:0 --reproducible --quiet \
	<"$tmp/list.sorted" >"$tmp/initrd.cpio") || die "cpio failed"
gzip -9n <"$tmp/initrd.cpio" >"$new" || die "gzip failed"
mv -f "$new" "$out"
new=
