#!/bin/bash
# test_disk.sh: kvm.linux_disk, Debian's 6.12 kernel booted with
# root=/dev/vda from a virtio-blk disk served by qemu-storage-daemon.
#
#   tests/linux/test_disk.sh SRC_DIR BIN_DIR
#
# The ext4 image is made here from a busybox tree (mke2fs -d: nothing
# mounted); the initramfs loads virtio_blk and ext4 (modules in Debian's
# kernel) from the kernel package in the VM runner's cache and mounts
# root.  The guest writes /hello and ends; the host reads its bytes back
# with debugfs.  The same from a qcow2 overlay two backing files deep
# (top/root.qcow2 on ../mid.qcow2 on base/root-base.raw, each name
# relative to its image's directory, as qemu-storage-daemon's
# confinement binds them): the guest boots from the base's bytes, its
# write lands in the overlay, the backing files are unchanged; a
# readonly disk refuses the write.  Exits that reached the frontend at the disk must be far
# below one per request.  A graceful shutdown loses nothing: busybox
# init on the disk writes a file and does not sync, SIGTERM to the
# frontend (CTRL+ALT+DEL) runs its shutdown, and the host reads the
# file's bytes; SIGINT (no shutdown) loses them, as a control.
set -u
src=$1 bin=$2
cache=${KVMMU_VM_CACHE:-$src/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
deb=$(ls "$cache"/backports/linux-image-*.deb 2>/dev/null | head -1)
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.linux_disk: /dev/kvm cannot be opened; needs KVM" \
		"(deploy/vm/run provides it)"
	exit 77
fi
for t in mke2fs debugfs qemu-img /usr/bin/qemu-storage-daemon; do
	command -v "$t" >/dev/null ||
		{ echo "FAIL kvm.linux_disk: no $t (deploy/install-deps.sh)"; exit 1; }
done
[ -r "$kernel" ] && [ -n "$deb" ] ||
	{ echo "FAIL kvm.linux_disk: no kernel package in $cache/backports"; exit 1; }
dir=$(mktemp -d /tmp/kvmmu-disk-test.XXXXXX)
chmod 755 "$dir"
srv=""
fails=0 passes=0
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv"
	rm -rf "$dir"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}
has() { grep -qF -- "$2" "$1"; }

# The initramfs and the root image (tests/linux/disk/build.sh).
"$src/tests/linux/disk/build.sh" "$src" "$deb" "$dir" || exit 1
mkdir -m 755 "$dir/base" "$dir/top"
cp "$dir/root.raw" "$dir/base/root-base.raw"
qemu-img create -q -f qcow2 -b base/root-base.raw -F raw "$dir/mid.qcow2"
qemu-img create -q -f qcow2 -b ../mid.qcow2 -F qcow2 "$dir/top/root.qcow2"
cp "$dir/root.raw" "$dir/ro.raw"
chmod 666 "$dir"/*.raw "$dir/top/root.qcow2"
chmod 644 "$dir/base/root-base.raw" "$dir/mid.qcow2"
backing_sums=$(md5sum "$dir/base/root-base.raw" "$dir/mid.qcow2")

"$bin/mmu-server" -d --socket "$dir/mmu.sock" 2>"$dir/server.log" &
srv=$!
for _ in $(seq 100); do [ -S "$dir/mmu.sock" ] && break; sleep 0.05; done

# boot NAME DISK-ARG ROOT-MODE MSG
boot() {
	echo "== $1: --disk $2"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
		--initrd "$dir/initrd" --memory 512 --name "$1" \
		--disk "$2" \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda $3 kvmmu.msg=$4" \
		--timeout 400 --json </dev/null >"$dir/$1.out" 2>"$dir/$1.err"
	code=$?
	grep -a 'kvmmu-guest:' "$dir/$1.out" | cut -c1-200
	grep -a '"vm"' "$dir/$1.out"
	cat "$dir/$1.err"
}

# ratio NAME: exits at the disk per request, from the JSON and the guest.
ratio() {
	local o=$dir/$1.out ex io
	ex=$(grep -o '"virtio_exits": [0-9]*' "$o" | grep -o '[0-9]*$')
	io=$(grep -a 'kvmmu-guest: io ' "$o" | awk '{ print $3 + $4 }')
	echo "$1: ${ex:-?} exits at the disk for ${io:-?} requests"
	check "$1: exits far below one per request" \
		test -n "$ex" -a -n "$io" -a "$((${ex:-0} * 20))" -lt "${io:-0}"
}

boot raw "$dir/root.raw" rw hello-raw-6d1c
check "raw: exit 0" test "$code" -eq 0
check "raw: root rw" has "$dir/raw.out" "kvmmu-guest: root rw"
check "raw: wrote" has "$dir/raw.out" "kvmmu-guest: wrote /hello"
check "raw: the host reads the guest's bytes" \
	test "$(debugfs -R 'cat /hello' "$dir/root.raw" 2>/dev/null)" = hello-raw-6d1c
ratio raw

boot qcow2 "$dir/top/root.qcow2,format=qcow2" rw hello-qcow2-41aa
check "qcow2: exit 0" test "$code" -eq 0
check "qcow2: root rw, from the backing files' bytes" has "$dir/qcow2.out" "kvmmu-guest: root rw"
check "qcow2: nothing said on stderr" eval '! grep -v "^vmm-frontend: sanitizer build" "$dir/qcow2.err" | grep -q .'
qemu-img convert -f qcow2 -O raw "$dir/top/root.qcow2" "$dir/back.raw"
check "qcow2: the host reads the guest's bytes" \
	test "$(debugfs -R 'cat /hello' "$dir/back.raw" 2>/dev/null)" = hello-qcow2-41aa
check "qcow2: the backing files are unchanged" \
	test "$(md5sum "$dir/base/root-base.raw" "$dir/mid.qcow2")" = "$backing_sums"

boot ro "$dir/ro.raw,readonly" ro nothing
check "readonly: exit 0" test "$code" -eq 0
check "readonly: root ro" has "$dir/ro.out" "kvmmu-guest: root ro"
check "readonly: the write refused" grep -q "write refused: .*Read-only" "$dir/ro.out"
# stop NAME SIGNAL MSG: busybox init on the disk (tests/linux/disk/kept)
# writes MSG to /kept and does not sync; once it says so, SIGNAL to the
# frontend.  Writeback is off and the journal commits every 600 s: only
# the shutdown's remount writes /kept out.
stop() {
	local name=$1 sig=$2 msg=$3 fe i
	cp "$dir/root.raw" "$dir/$name.raw"
	chmod 666 "$dir/$name.raw"
	echo "== $name: SIG$sig once /kept is written, not synced"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
		--initrd "$dir/initrd" --memory 512 --name "$name" \
		--disk "$dir/$name.raw" --shutdown-timeout 120 \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda rw kvmmu.rootinit=/bin/init kvmmu.rootflags=commit=600 kvmmu.msg=$msg" \
		--timeout 400 </dev/null >"$dir/$name.out" 2>"$dir/$name.err" &
	fe=$!
	for i in $(seq 3000); do
		has "$dir/$name.out" "kvmmu-guest: wrote /kept, not synced" && break
		kill -0 "$fe" 2>/dev/null || break
		sleep 0.1
	done
	kill -"$sig" "$fe"
	code=0
	wait "$fe" || code=$?
	grep -a 'kvmmu-guest:' "$dir/$name.out" | cut -c1-200
	cat "$dir/$name.err"
	kept=$(debugfs -R 'cat /kept' "$dir/$name.raw" 2>/dev/null)
}
stop kept TERM kept-5b0e
check "kept: the guest wrote /kept" has "$dir/kept.out" "kvmmu-guest: wrote /kept, not synced"
check "kept: SIGTERM: the guest shut down in order" has "$dir/kept.out" "kvmmu-guest: shutting down"
check "kept: exit 0 (got $code)" test "$code" -eq 0
check "kept: the host reads /kept's exact bytes ('$kept')" test "$kept" = kept-5b0e
# The control: stopped at once (SIGINT), the same write is lost, so the
# test can see a loss.
stop lost INT lost-77c3
check "lost: the guest wrote /kept" has "$dir/lost.out" "kvmmu-guest: wrote /kept, not synced"
check "lost: SIGINT: exit 143 (got $code)" test "$code" -eq 143
check "lost: /kept is not in the image ('$kept')" test "$kept" != lost-77c3
check "the server is still up" kill -0 "$srv"
echo "test_disk: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
