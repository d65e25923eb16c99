#!/bin/bash
# kernel.sh: fetch a Debian kernel and build the runner's initramfs.
#
#   deploy/vm/kernel.sh FLAVOR CACHE
#
# FLAVOR is "backports" (bookworm-backports' linux-image-amd64: 6.12, which
# has KVM_X86_QUIRK_SLOT_ZAP_ALL) or "bookworm" (Debian 12's own 6.1, which
# does not).  The package comes with `apt-get download` from the Debian
# mirror that this machine's own apt sources name, through a private
# sources list, package lists and cache under CACHE, so the system's apt
# state is never touched and apt checks the archive's signatures as usual.
# The result, in CACHE/FLAVOR/: vmlinuz, initrd.img (busybox-static, the
# modules the VM needs, deploy/vm/init), and version.  A second run with
# everything present downloads and builds nothing; a changed init or
# busybox rebuilds only the initramfs.  Prints the directory on success.
set -euo pipefail

flavor=${1:?usage: kernel.sh backports|bookworm CACHE}
cache=${2:?usage: kernel.sh backports|bookworm CACHE}
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "kvmmu-vm: $*" >&2
	exit 1
}

case "$flavor" in
backports) suite=bookworm-backports ;;
bookworm) suite=bookworm ;;
*) die "--kernel: '$flavor' is not backports or bookworm" ;;
esac

# The modules the guest loads, in dependency order from modprobe: the
# vendor KVM module (both; the guest picks by CPU) and the 9p stack that
# shares the host's files.
MODULES="kvm_amd kvm_intel 9p 9pnet_virtio virtio_pci"

mkdir -p "$cache/$flavor"
dir=$(cd "$cache/$flavor" && pwd)
exec 9>"$dir/.lock"
flock 9

# The mirror: the first Debian URI in the machine's own sources (deb822 or
# one-line format).  Never written into the repo.
mirror_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		if grep -q '^Suites:.*bookworm' "$f"; then
			sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$f" |
				grep -m1 'debian/*$' && return
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*debian\/*\)[[:space:]]\+bookworm[[:space:]].*/\2/p' \
			"$f" | head -n1 | grep . && return
	done
	return 1
}

fetch_deb() {
	local apt uri pkg
	uri=$(mirror_uri) || die "no Debian mirror in /etc/apt/sources*: cannot fetch the $flavor kernel"
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/archives/partial" \
		"$dir/apt/parts"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$uri" "$suite" >"$dir/apt/sources.list"
	apt=(-o "Dir::State::Lists=$dir/apt/lists"
		-o "Dir::Etc::SourceList=$dir/apt/sources.list"
		-o "Dir::Etc::SourceParts=$dir/apt/parts"
		-o "Dir::Cache=$dir/apt" -o "Dir::Cache::pkgcache="
		-o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root")
	echo "kvmmu-vm: fetching the $flavor kernel ($suite linux-image-amd64) with apt-get download" >&2
	apt-get "${apt[@]}" -qq update >&2 ||
		die "apt-get update of $suite failed: cannot fetch the $flavor kernel"
	# linux-image-amd64 is a metapackage: download what it depends on.
	pkg=$(apt-cache "${apt[@]}" depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || die "no linux-image-amd64 in $suite"
	(cd "$dir" && apt-get "${apt[@]}" -qq download "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	rm -rf "$dir/apt/lists"
}

# Unpack the kernel and the modules it needs; record the version.
unpack() {
	local deb=$1 x="$dir/x" ver
	rm -rf "$x" "$dir/modules"
	mkdir -p "$x" "$dir/modules"
	dpkg-deb -x "$deb" "$x" || die "cannot unpack $deb"
	ver=$(ls "$x/lib/modules")
	[ -n "$ver" ] && [ -r "$x/boot/vmlinuz-$ver" ] ||
		die "$deb holds no kernel"
	# Debian ships no modules.dep: depmod makes one, modprobe orders.
	depmod -b "$x" "$ver" || die "depmod failed for $ver"
	local m f n=0
	: >"$dir/modules/order"
	for m in $MODULES; do
		modprobe -d "$x" -S "$ver" --show-depends "$m" ||
			die "module $m not found in $ver"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r f; do
			n=$((n + 1))
			m=$(basename "$f" | sed 's/\.ko\(\.xz\)\?$//; s/-/_/g')
			xz -dc "$f" >"$dir/modules/$m.ko" 2>/dev/null ||
				cp "$f" "$dir/modules/$m.ko"
			echo "$m" >>"$dir/modules/order"
		done
	cp "$x/boot/vmlinuz-$ver" "$dir/vmlinuz"
	echo "$ver" >"$dir/version"
	rm -rf "$x"
}

# The initramfs: busybox-static, the modules, deploy/vm/init as /init.
build_initrd() {
	local root="$dir/initrd.d" bb
	bb=$(command -v busybox) || die "busybox not installed (busybox-static)"
	! ldd "$bb" >/dev/null 2>&1 ||
		die "$bb is not static: install busybox-static"
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$bb" "$root/bin/busybox"
	for a in sh mount umount insmod mkdir cat echo sleep poweroff \
		chroot hostname ip stty sync grep sed; do
		ln -s busybox "$root/bin/$a"
	done
	cp "$dir"/modules/*.ko "$dir/modules/order" "$root/lib/modules/"
	install -m 0755 "$here/init" "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) \
		>"$dir/initrd.img.new" || die "cannot build the initramfs"
	mv "$dir/initrd.img.new" "$dir/initrd.img"
	rm -rf "$root"
}

stamp=$( (cat "$here/init" "$here/kernel.sh"; ls -l "$(command -v busybox)") |
	sha256sum | cut -c1-16)
if [ ! -r "$dir/version" ] || [ ! -r "$dir/vmlinuz" ]; then
	deb=$(ls "$dir"/linux-image-*.deb 2>/dev/null | head -n1 || :)
	if [ -z "$deb" ]; then
		fetch_deb
		deb=$(ls "$dir"/linux-image-*.deb 2>/dev/null | head -n1 || :)
		[ -n "$deb" ] || die "apt-get download left no package"
	fi
	unpack "$deb"
	rm -f "$dir/initrd.stamp"
fi
if [ "$(cat "$dir/initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
	build_initrd
	echo "$stamp" >"$dir/initrd.stamp"
fi
echo "$dir"
