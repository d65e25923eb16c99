#!/bin/bash
# test_linux.sh: kvm.linux, Debian's 6.12 kernel booted through kvmmu.
#
#   tests/linux/test_linux.sh SRC_DIR BIN_DIR
#
# The kernel is the one the VM runner fetches (backports/vmlinuz in its
# cache, build/vm by default, or $KVMMU_LINUX_KERNEL); the initramfs is
# built here from busybox-static (mkinitramfs.sh).  Each boot must reach
# init, print the banner, the vCPU count and the BARs the frontend
# placed, and end with the guest's own reboot (exit 0), also from a
# libvirt domain file (4 vCPUs); a panic must end the run with a clear
# message and a non-zero code; a malformed kernel and an initrd too big
# for the RAM must be refused before anything runs.
set -u
src=$1 bin=$2
# The VM runner says where its kernels are (KVMMU_VM_CACHE), whichever
# build tree the tests come from.
cache=${KVMMU_VM_CACHE:-$src/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.linux: /dev/kvm cannot be opened; needs KVM" \
		"(deploy/vm/run provides it)"
	exit 77
fi
if ! [ -r "$kernel" ]; then
	"$src/deploy/vm/kernel.sh" backports "$cache" >/dev/null ||
		{ echo "FAIL kvm.linux: no kernel at $kernel"; exit 1; }
fi
dir=$(mktemp -d /tmp/kvmmu-linux.XXXXXX)
srv=""
fails=0 passes=0
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv"
	rm -rf "$dir"
}
trap cleanup EXIT
"$src/tests/linux/mkinitramfs.sh" "$dir/initrd" || exit 1
"$bin/mmu-server" -d --socket "$dir/mmu.sock" 2>"$dir/server.log" &
srv=$!
for _ in $(seq 100); do [ -S "$dir/mmu.sock" ] && break; sleep 0.05; done

check() { # what, condition...
	local what=$1
	shift
	if "$@"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $what"
		return 1
	fi
}
has() { grep -qF -- "$2" "$1"; }

# boot NAME VCPUS ZAP COMMIT EXTRA-CMDLINE: exit code in $code
boot() {
	local name=$1 vcpus=$2 zap=$3 commit=$4 extra=$5
	echo "== $name: $vcpus vCPU(s), zap $zap, commit $commit"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
		--initrd "$dir/initrd" --memory 512 --vcpus "$vcpus" \
		--zap-mode "$zap" --pci-commit "$commit" --name "$name" \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly $extra" \
		--timeout 240 --json </dev/null >"$dir/$name.out" \
		2>"$dir/$name.err"
	code=$?
	grep -a 'kvmmu-guest:\|"vm"' "$dir/$name.out" | cut -c1-200
	cat "$dir/$name.err"
}

# The same as a libvirt domain file: direct kernel boot elements, zap
# control in kvmmu's metadata, a VGA and 7 shmem devices = 8 BARs.
boot_domain() {
	local name=$1 vcpus=$2 zap=$3 commit=$4 extra=$5 i shmem=""
	for i in 2 3 4 5 6 7 8; do
		shmem="$shmem<shmem name='bar$i'><model type='ivshmem-plain'/>"
		shmem="$shmem<size unit='M'>2</size></shmem>"
	done
	cat >"$dir/$name.xml" <<XML
<domain type='kvm'><name>$name</name>
<metadata><kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1' mode='$zap'/></metadata>
<memory unit='MiB'>512</memory><vcpu>$vcpus</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>$kernel</kernel>
<initrd>$dir/initrd</initrd>
<cmdline>console=ttyS0 panic=-1 reboot=k quiet pci=noearly $extra</cmdline></os>
<devices><serial type='stdio'><target port='0'/></serial>
<video><model type='vga' vram='2048'/></video>$shmem</devices></domain>
XML
	echo "== $name: $vcpus vCPU(s), zap $zap, commit $commit, domain XML"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" \
		--domain-xml "$dir/$name.xml" --pci-commit "$commit" \
		--timeout 240 --json </dev/null >"$dir/$name.out" \
		2>"$dir/$name.err"
	code=$?
	grep -a 'kvmmu-guest:\|"vm"\|Linux kernel' "$dir/$name.out" |
		cut -c1-200
	cat "$dir/$name.err"
}

# What a clean boot shows: init ran, its vCPUs, the frontend's BARs.
booted() { # name vcpus
	local o=$dir/$1.out
	check "$1: exit 0 (guest rebooted)" test "$code" -eq 0 ||
		{
			echo "-- $1: the console, from its first oops or panic line, else its last lines:"
			"$src/tests/linux/excerpt.sh" "$o" 25
		}
	check "$1: the init banner" has "$o" "kvmmu-guest: banner linux 6.12"
	check "$1: nproc $2" has "$o" "kvmmu-guest: nproc $2"
	for i in 1 2 3 4 5 6 7 8; do
		local lo=$((0xe0000000 + (i - 1) * 0x200000))
		local bar
		bar=$(printf 'bar0=0x%x-0x%x' $lo $((lo + 0x1fffff)))
		check "$1: device $i's BAR as the frontend placed it" \
			has "$o" "00:0$i.0 1af4:10f$i $bar"
	done
	check "$1: touched 64 MiB" has "$o" "kvmmu-guest: touched 64 MiB"
	check "$1: rebooted" has "$o" "kvmmu-guest: rebooting"
	# COM1's interrupts came through the irqfd, not a polled console.
	check "$1: COM1 interrupts raised" \
		grep -Eq '"irq_edges": [1-9]' "$o"
}

boot eager-memslot 1 memslot eager kvmmu.touch=64
booted eager-memslot 1
boot lazy-all 1 all lazy kvmmu.touch=64
booted lazy-all 1
boot_domain smp4 4 memslot lazy kvmmu.touch=64
booted smp4 4
check "smp4: the domain's kernel booted as Linux" \
	has "$dir/smp4.out" "vCPU(s), Linux kernel $kernel, initrd"

boot panic 1 all lazy kvmmu.init=exit
check "panic: exit 125" test "$code" -eq 125
check "panic: init said it exits" has "$dir/panic.out" "kvmmu-guest: init exiting"
check "panic: the frontend says the kernel panicked" \
	has "$dir/panic.err" "the guest kernel panicked: Kernel panic - not syncing"

# Refused before the guest runs: a file that is no bzImage, an initrd
# the RAM cannot hold.
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$dir/initrd" \
	--memory 128 --timeout 30 </dev/null >"$dir/bad.out" 2>&1
code=$?
cat "$dir/bad.out"
check "not a bzImage: exit 1" test "$code" -eq 1
check "not a bzImage: said so" has "$dir/bad.out" "bzImage"
truncate -s 100M "$dir/big.initrd"
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
	--initrd "$dir/big.initrd" --memory 128 --timeout 30 </dev/null \
	>"$dir/big.out" 2>&1
code=$?
cat "$dir/big.out"
check "initrd too big: exit 1" test "$code" -eq 1
check "initrd too big: said so" has "$dir/big.out" "initrd: 100 MiB does not fit"
check "the server is still up" kill -0 "$srv"

echo "test_linux: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
