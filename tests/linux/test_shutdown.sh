#!/bin/bash
# test_shutdown.sh: kvm.linux_shutdown, SIGTERM to a frontend running
# Debian's 6.12 kernel with the test initramfs (tests/linux/init).
#
#   tests/linux/test_shutdown.sh SRC_DIR BIN_DIR
#
# A guest's own power-off (ACPI S5 through the tables and PM1 block the
# frontend gives it) ends the VM with exit 0 within seconds: `poweroff
# -f` on 2 vCPUs, which still sees both and its 9 PCI functions with
# ACPI on, and busybox init's orderly `poweroff`; with acpi=off the old
# paths hold (MP table, legacy PCI probe, reboot).  SIGTERM asks the
# guest to shut down (CTRL+ALT+DEL on its 8042): a guest whose init
# handles it runs its shutdown action (seen on the console) and
# reboots, and the frontend exits 0 well before its --shutdown-timeout;
# a guest that ignores the request is stopped after the timeout (143); a
# second SIGTERM stops it at once (143).
set -u
src=$1 bin=$2
cache=${KVMMU_VM_CACHE:-$src/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.linux_shutdown: /dev/kvm cannot be opened; needs KVM" \
		"(deploy/vm/run provides it)"
	exit 77
fi
if ! [ -r "$kernel" ]; then
	"$src/deploy/vm/kernel.sh" backports "$cache" >/dev/null ||
		{ echo "FAIL kvm.linux_shutdown: no kernel at $kernel"; exit 1; }
fi
dir=$(mktemp -d /tmp/kvmmu-shutdown.XXXXXX)
srv="" fe=""
fails=0 passes=0
cleanup() {
	[ -n "$fe" ] && kill -KILL "$fe" 2>/dev/null
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
	fi
}
has() { grep -qF -- "$2" "$1"; }
now() { date +%s.%N; }
# lt A B: A < B, in seconds with fractions
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# start NAME ACTION SHUTDOWN-TIMEOUT [VCPUS [CMDLINE]]: the frontend in
# the background ($fe), its guest's init told kvmmu.init=ACTION.
start() {
	local name=$1 action=$2 st=$3 vcpus=${4:-1} extra=${5:-}
	echo "== $name: kvmmu.init=$action, --shutdown-timeout $st," \
		"$vcpus vCPU(s) $extra"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
		--initrd "$dir/initrd" --memory 256 --name "$name" \
		--vcpus "$vcpus" \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly $extra kvmmu.init=$action" \
		--shutdown-timeout "$st" --timeout 600 </dev/null \
		>"$dir/$name.out" 2>"$dir/$name.err" &
	fe=$!
}

# wait_line NAME TEXT: until the console shows TEXT (300 s at most).
wait_line() {
	local i
	for i in $(seq 3000); do
		has "$dir/$1.out" "$2" && return 0
		kill -0 "$fe" 2>/dev/null || break
		sleep 0.1
	done
	echo "no '$2' on $1's console:"
	"$src/tests/linux/excerpt.sh" "$dir/$1.out"
	return 1
}

# finish NAME: waits for the frontend; its status in $code, the
# seconds since $t0 in $took; shows what it said.
finish() {
	wait "$fe"
	code=$?
	fe=""
	took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	echo "exit $code after ${took} s"
	grep -a 'kvmmu-guest:\|vmm-frontend:' "$dir/$1.out" | cut -c1-200
	cat "$dir/$1.err"
}

# What the guest saw of its machine: NAME VCPUS ACPI(on|off).  Device
# 0 (the host bridge) and the 8 RAM controllers of --pci-devices 8.
saw() {
	local o=$dir/$1.out
	check "$1: nproc $2" has "$o" "kvmmu-guest: nproc $2"
	check "$1: cpuinfo $2" has "$o" "kvmmu-guest: cpuinfo $2"
	check "$1: acpi $3" has "$o" "kvmmu-guest: acpi $3"
	check "$1: 9 PCI functions" has "$o" "kvmmu-guest: pcidevs 9"
}

# The guest powers itself off: ACPI S5 ends the VM, exit 0, at once.
start poweroff poweroff 120 2
check "poweroff: the guest powers off" wait_line poweroff \
	"kvmmu-guest: powering off"
t0=$(now)
finish poweroff
check "poweroff: exit 0" test "$code" -eq 0
check "poweroff: within seconds" lt "$took" 20
check "poweroff: the kernel entered S5" \
	has "$dir/poweroff.out" "reboot: Power down"
check "poweroff: the frontend says so" \
	has "$dir/poweroff.out" "vmm-frontend: guest powered off"
saw poweroff 2 on

# busybox init's own poweroff: its shutdown action, then S5.
start orderly orderly 120
check "orderly: the guest powers off" wait_line orderly \
	"kvmmu-guest: powering off in order"
t0=$(now)
finish orderly
check "orderly: exit 0" test "$code" -eq 0
check "orderly: within seconds" lt "$took" 30
check "orderly: the guest ran its shutdown" \
	has "$dir/orderly.out" "kvmmu-guest: shutting down"
check "orderly: the frontend says so" \
	has "$dir/orderly.out" "vmm-frontend: guest powered off"

# acpi=off: the tables unused, the MP table and legacy PCI probe hold.
start acpioff reboot 120 2 acpi=off
t0=$(now)
finish acpioff
check "acpioff: exit 0" test "$code" -eq 0
check "acpioff: rebooted" \
	has "$dir/acpioff.out" "vmm-frontend: guest rebooted"
saw acpioff 2 off

# A guest whose init handles CTRL+ALT+DEL shuts down in order.
start graceful wait 120
check "graceful: the guest is ready" wait_line graceful \
	"kvmmu-guest: waiting for shutdown"
t0=$(now)
kill -TERM "$fe"
finish graceful
check "graceful: exit 0" test "$code" -eq 0
check "graceful: the guest ran its shutdown" \
	has "$dir/graceful.out" "kvmmu-guest: shutting down"
check "graceful: well before the 120 s timeout" lt "$took" 60
check "graceful: the frontend asked" \
	has "$dir/graceful.err" "asking the guest to shut down"
check "graceful: and says the guest shut down" \
	has "$dir/graceful.out" "guest shut down"

# A guest that ignores it is stopped after the timeout.
start ignored ignore 8
check "ignored: the guest is ready" wait_line ignored \
	"kvmmu-guest: waiting, ignoring shutdown"
t0=$(now)
kill -TERM "$fe"
check "ignored: the guest saw the request" wait_line ignored \
	"kvmmu-guest: ignoring ctrl-alt-del"
finish ignored
check "ignored: exit 143" test "$code" -eq 143
check "ignored: not before the timeout" lt 7.9 "$took"
check "ignored: the frontend says why" \
	has "$dir/ignored.err" "did not shut down within 8 s"

# A second SIGTERM does not wait for the timeout.
start twice ignore 300
check "twice: the guest is ready" wait_line twice \
	"kvmmu-guest: waiting, ignoring shutdown"
t0=$(now)
kill -TERM "$fe"
check "twice: the guest saw the request" wait_line twice \
	"kvmmu-guest: ignoring ctrl-alt-del"
kill -TERM "$fe"
finish twice
check "twice: exit 143" test "$code" -eq 143
check "twice: at once" lt "$took" 30
check "twice: the frontend says so" has "$dir/twice.err" "(again)"

check "the server is still up" kill -0 "$srv"
echo "test_shutdown: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
