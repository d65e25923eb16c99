#!/bin/sh
# demo.sh: the main job.  Builds kvmmu, starts mmu-server, and boots the
# demo guests through vmm-frontend: hello (serial output), memtouch
# (2 vCPUs touching guest RAM, with KVM's and the server's statistics),
# and bootchurn (a firmware-then-OS boot that reprograms PCI BARs and the
# VGA window) under KVM's default zap-all and under targeted zaps; then
# Debian's Linux kernel boots on 2 vCPUs from an ext4 disk (virtio-blk,
# made at demo time) to a busybox init.
# Started as root, the frontend runs as 'nobody', and the demo shows
# which process holds what: /dev/kvm and the VM in the server, only the
# RAM memfd and sockets in the frontend.
#
# Where it runs follows what this host's KVM can run (`mmu-server
# --check-kvm`), said in one line: with a full KVM, here; with a KVM that
# runs only kvmmu's payloads (kvm_pvm), the payload guests here and the
# Linux guest inside a throwaway VM with a real KVM (deploy/vm/run, which
# runs `demo.sh --linux-only`); without KVM, all of it in that VM.
# KVMMU_HOST_KVM=none or =payloads treats the host as that kind.  It never
# hangs: a server that fails to start or a guest that does not finish ends
# the demo with a message and a non-zero status.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
only=""
# --linux-only [DISK_DIR]: what deploy/vm/run runs; DISK_DIR holds the
# Linux guest's initrd and root.raw, made by the host (in the VM's
# emulated CPU making them takes half a minute).
disk_from=""
case "${1:-}" in
"") ;;
--linux-only)
	only=linux
	disk_from=${2:-}
	;;
*)
	echo "usage: deploy/demo.sh" >&2
	exit 2
	;;
esac
linux_in_vm=""
# Inside the runner's VM (KVMMU_VM set) the host has built everything.
if [ -z "${KVMMU_VM:-}" ]; then
	./deploy/build.sh >/dev/null
	kvm=$(build/bin/mmu-server --check-kvm) && kind=0 || kind=$?
	case "${KVMMU_HOST_KVM:-}" in
	"") ;;
	none) kind=1 kvm="KVM none (KVMMU_HOST_KVM=none; the probe said: $kvm)" ;;
	payloads) [ "$kind" = 1 ] ||
		kind=3 kvm="KVM payloads only (KVMMU_HOST_KVM=payloads; the probe said: $kvm)" ;;
	*)
		echo "demo.sh: KVMMU_HOST_KVM='$KVMMU_HOST_KVM' is not none or payloads" >&2
		exit 2
		;;
	esac
	case "$kind" in
	0) ;;
	3)
		echo "demo.sh: $kvm: kvmmu's payload guests run here; the Linux guest runs inside a VM (deploy/vm/run)"
		linux_in_vm=1
		;;
	*)
		echo "demo.sh: $kvm on this host: running the demo inside a VM (deploy/vm/run)"
		exec ./deploy/vm/run -- ./deploy/demo.sh
		;;
	esac
fi

dir=$(mktemp -d /tmp/kvmmu-demo.XXXXXX)
chmod 0755 "$dir"
sock="$dir/mmu.sock"
srvpid=""
stop_server() {
	[ -n "$srvpid" ] && kill "$srvpid" 2>/dev/null && wait "$srvpid" || :
	srvpid=""
}
vmdisk=""
cleanup() {
	stop_server
	rm -rf "$dir" ${vmdisk:+"$vmdisk"}
}
trap cleanup EXIT INT TERM

# The frontend runs as the unprivileged user from the start: it reads its
# payload with that user's rights, and this tree may be out of its reach
# (a clone under /root or in a 0700 dir).  Copies in $dir (0755), and one
# of the binary too, as the tests make: setpriv happens to exec with
# root's capabilities still in effect, which nothing else promises.
install -m 0644 build/guest/hello.bin build/guest/memtouch.bin "$dir/"
install -m 0755 build/bin/vmm-frontend "$dir/"

as_user=""
group_arg=""
if [ "$(id -u)" -eq 0 ]; then
	as_user="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	group_arg="--socket-group nogroup"
fi

echo "== mmu-server: the privileged process (uid $(id -u)) owns /dev/kvm"
# shellcheck disable=SC2086
"$top/build/bin/mmu-server" -d --socket "$sock" $group_arg \
	--admin-socket "$dir/admin.sock" &
srvpid=$!
# Wait for the socket, but not for a server that is gone or stuck.
t=0
while [ ! -S "$sock" ]; do
	if ! kill -0 "$srvpid" 2>/dev/null; then
		wait "$srvpid" && rc=0 || rc=$?
		srvpid=""
		echo "demo.sh: mmu-server exited (status $rc) before it listened on $sock; its message is above" >&2
		exit 1
	fi
	t=$((t + 1))
	if [ $t -gt 600 ]; then
		echo "demo.sh: mmu-server did not listen on $sock within 30 s" >&2
		exit 1
	fi
	sleep 0.05
done

fe() {
	# shellcheck disable=SC2086
	$as_user "$dir/vmm-frontend" --socket "$sock" --timeout 600 "$@"
}

# The payload guests: hello, memtouch, bootchurn under both zap modes.
payloads() {
	echo
	echo "== vmm-frontend runs the 'hello' guest (CPL3, long mode)"
	fe --payload "$dir/hello.bin" --memory 64

	echo
	echo "== vmm-frontend runs 'memtouch': 2 vCPUs touch 254 MiB, 3 passes"
	# exec: $! is then the frontend itself (setpriv execs it too).
	(exec $as_user "$dir/vmm-frontend" --socket "$sock" --timeout 600 \
		--payload "$dir/memtouch.bin" --memory 256 --vcpus 2 \
		--cmdline "passes=3" --stats >"$dir/memtouch.out") &
	fepid=$!
	until grep -q running "$dir/memtouch.out" 2>/dev/null; do
		if ! kill -0 "$fepid" 2>/dev/null; then
			cat "$dir/memtouch.out"
			echo "demo.sh: the memtouch frontend exited before its guest ran" >&2
			exit 1
		fi
		sleep 0.05
	done
	# One process per listing, not one per fd: process creation is slow under
	# an emulated CPU, and the guest finishes in seconds.
	fds() {
		ls -l /proc/"$1"/fd | sed -n 's/.* -> //p' | sort | uniq -c
	}
	echo "-- while it runs: vmm-frontend pid $fepid, uid $(stat -c %u \
	"/proc/$fepid"), holds (no /dev/kvm, no VM or vCPU fd):"
	fds "$fepid"
	echo "-- mmu-server pid $srvpid, uid $(stat -c %u "/proc/$srvpid"), holds:"
	fds "$srvpid"
	echo "-- the operator's view, over the gRPC admin API (mmuctl list / show):"
	"$top/build/bin/mmuctl" --socket "$dir/admin.sock" list
	"$top/build/bin/mmuctl" --socket "$dir/admin.sock" show memtouch | tail -2
	wait "$fepid" || echo "(memtouch exited with status $?)"
	cat "$dir/memtouch.out"

	echo
	echo "== bootchurn from the example domains deploy/domains/kvmmu-zap-all.xml"
	echo "   and kvmmu-zap-memslot.xml (libvirt domain XML, read from the file:"
	echo "   no libvirtd): a boot that reprograms 8 PCI BARs, an option ROM and the"
	echo "   VGA window, 512 MiB, each config write applied at once (as QEMU does),"
	echo "   under KVM's default zap-all and under kvmmu's targeted zap.  Started as"
	echo "   root, the frontend itself drops to nobody once it has loaded the domain."
	for mode in all memslot; do
		"$top/build/bin/vmm-frontend" --socket "$sock" --timeout 600 --pci-commit eager \
			--domain-xml "deploy/domains/kvmmu-zap-$mode.xml" --json \
			>"$dir/churn.$mode"
		grep -o "running (pid [0-9]*, uid [0-9]*)" "$dir/churn.$mode" |
			sed 's/^/   kvmmu-zap-'"$mode"': /'
		sed -e 's/.*"zap_mode": "\([a-z]*\)".*"boot_s": \([0-9.]*\).*"pf_taken_churn": \([0-9]*\).*"shadow_zapped": \([0-9]*\).*"memslot_ioctls": \([0-9]*\).*/   zap mode \1: boot \2 s, \3 page faults after the first touch of RAM, \4 shadow pages zapped, \5 memslot ioctls/' \
			"$dir/churn.$mode" | grep "zap mode"
	done
	if "$top/build/bin/mmu-server" --check-kvm | grep -q ' tdp MMU'; then
		echo "   (KVM uses its TDP MMU here, nested paging: it counts no shadow"
		echo "   pages; the faults after the first touch show what a zap costs)"
	fi
	if [ -n "${KVMMU_VM_EMULATED:-}" ]; then
		echo "   (inside deploy/vm/run's VM the CPU is emulated: boot times are not"
		echo "   hardware times; the fault and ioctl counts are the figures)"
	fi
	echo "   (bench/zap-modes measures this for 256 MiB and 1 GiB; the live"
	echo "   switch through libvirt is in deploy/domains/demo.sh; see docs/libvirt.md)"
}

# Debian's kernel on 2 vCPUs: needs a KVM that runs a stock kernel.  Its
# root is an ext4 disk made now (tests/linux/disk/build.sh, mke2fs -d:
# nothing mounted) holding the test guest's init (tests/linux/init);
# an initramfs loads virtio_blk and ext4 and switches to it.
# make_disk DIR: DIR/initrd and DIR/root.raw, the Linux guest's.
make_disk() {
	[ -r build/vm/backports/vmlinuz ] ||
		deploy/vm/kernel.sh backports build/vm >/dev/null
	for deb in build/vm/backports/linux-image-*.deb; do break; done
	if ! [ -r "$deb" ]; then
		echo "demo.sh: no kernel package in build/vm/backports (deploy/vm/kernel.sh)" >&2
		exit 1
	fi
	if ! tests/linux/disk/build.sh "$top" "$deb" "$1" "$top/tests/linux/init" \
		>"$dir/disk.log" 2>&1; then
		cat "$dir/disk.log"
		echo "demo.sh: building the root disk image failed (tests/linux/disk/build.sh)" >&2
		exit 1
	fi
}
linux_guest() {
	echo
	kernel=build/vm/backports/vmlinuz
	[ -r "$kernel" ] || deploy/vm/kernel.sh backports build/vm >/dev/null
	echo "== linux: Debian's kernel ($(cat build/vm/backports/version)) boots through"
	echo "   kvmmu on 2 vCPUs, no firmware: the bzImage loaded by the boot protocol,"
	echo "   its root an ext4 disk image made now (mke2fs -d, busybox-static and"
	echo "   the init of tests/linux/) on virtio-blk, served by qemu-storage-daemon"
	echo "   over vhost-user; an initramfs loads virtio_blk and ext4 and mounts it."
	echo "   The console on COM1 with its interrupts through an irqfd; the kernel"
	echo "   sizes the 8 PCI BARs the frontend placed, init prints what it sees"
	echo "   and reboots."
	if [ -n "$disk_from" ]; then
		mkdir "$dir/disk"
		cp "$disk_from/initrd" "$disk_from/root.raw" "$dir/disk/" || {
			echo "demo.sh: no root disk image in $disk_from" >&2
			exit 1
		}
	else
		make_disk "$dir/disk"
	fi
	# The frontend drops root before it starts qemu-storage-daemon, which
	# opens the image as that user (the tests do the same).
	chmod 0666 "$dir/disk/root.raw"
	rc=0
	"$top/build/bin/vmm-frontend" --socket "$sock" --timeout 600 \
		--kernel "$kernel" --initrd "$dir/disk/initrd" --memory 512 --vcpus 2 \
		--zap-mode memslot --name linux --disk "$dir/disk/root.raw" --json \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda kvmmu.touch=64" \
		</dev/null >"$dir/linux.out" || rc=$?
	grep -av '^{"vm"' "$dir/linux.out" || :
	if [ "$rc" -ne 0 ]; then
		echo "demo.sh: the Linux guest's frontend exited with status $rc" >&2
		exit 1
	fi
	root=$(sed -n 's/.*kvmmu-guest: root //p' "$dir/linux.out" | tr -d '\r')
	case $root in
	"/dev/vda ext4 "*) ;;
	*)
		echo "demo.sh: the guest's root is '${root:-not said}', not /dev/vda's ext4" >&2
		exit 1
		;;
	esac
	json=$(grep -a '^{"vm"' "$dir/linux.out") || {
		echo "demo.sh: the frontend printed no --json summary" >&2
		exit 1
	}
	num() { echo "$json" | sed -n 's/.*"'"$1"'": \([0-9]*\).*/\1/p'; }
	echo "-- the root is the disk: the guest's / in /proc/mounts is '$root'"
	echo "-- vmm-frontend (--json): $(num virtio_exits) exits reached it at the disk" \
		"($(num virtio_kick_exits) of them kicks), of $(num io_exits) port I/O" \
		"and $(num mmio_exits) MMIO exits forwarded in all"
}

# (if, not ||: set -e holds inside the function only outside an || list)
if [ "$only" != linux ]; then
	payloads
fi
if [ -n "$linux_in_vm" ]; then
	stop_server
	echo
	echo "== linux: this host's KVM runs only kvmmu's payloads: the Linux guest"
	echo "   boots through kvmmu inside a VM (deploy/vm/run) instead"
	# Made here, in the tree the VM shares; removed on exit.
	vmdisk=build/demo-disk
	rm -rf "$vmdisk"
	make_disk "$vmdisk"
	./deploy/vm/run --timeout 1200 -- ./deploy/demo.sh --linux-only "$vmdisk"
else
	linux_guest
fi
