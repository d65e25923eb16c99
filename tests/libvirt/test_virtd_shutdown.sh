#!/bin/bash
# test_virtd_shutdown.sh: libvirt.virtd_shutdown, `virsh shutdown` and
# `virsh destroy` through kvmmu-virtd on a Linux guest (Debian's 6.12
# kernel, the initramfs of tests/linux/, its init told kvmmu.init=wait).
# Usage: test_virtd_shutdown.sh BIN_DIR GUEST_DIR SRC.
#
# shutdown is answered at once; the guest runs its shutdown (its init's
# shutdown action, on the console in STATE/log/NAME.log) and the domain
# ends shut off (shutdown) with a "Stopped Shutdown" event; a second
# shutdown meanwhile changes nothing.  destroy stops it at once, shut off
# (destroyed), the guest never asked.  Label linux-guest: it needs a KVM
# that runs a stock kernel (deploy/vm/run).
set -eu
BIN=$1 GUEST=$2 SRC=$3
TEST=libvirt.virtd_shutdown
. "$SRC/tests/libvirt/lib.sh"
require_kvm
command -v virsh >/dev/null || skip "virsh is not installed"
cache=${KVMMU_VM_CACHE:-$SRC/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
if ! [ -r "$kernel" ]; then
	"$SRC/deploy/vm/kernel.sh" backports "$cache" >/dev/null ||
		skip "no kernel at $kernel"
fi
setup
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
vs() { timeout 60 virsh -q -c "$U" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

admin_server_start
virtd_start
# The frontends run as uids of their own: the kernel and initrd where
# any uid reads them.
cp "$kernel" "$TMP/any/vmlinuz"
"$SRC/tests/linux/mkinitramfs.sh" "$TMP/any/initrd"
chmod a+r "$TMP/any/vmlinuz" "$TMP/any/initrd"
log=$TMP/state/log/lx.log

cat >"$TMP/lx.xml" <<XML
<domain type='kvm'><name>lx</name>
<memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type>
<kernel>$TMP/any/vmlinuz</kernel><initrd>$TMP/any/initrd</initrd>
<cmdline>console=ttyS0 panic=-1 reboot=k quiet pci=noearly kvmmu.init=wait</cmdline></os>
<devices><serial type='stdio'><target port='0'/></serial></devices></domain>
XML

timeout 900 virsh -c "$U" event --all --loop >"$TMP/events" 2>&1 &
bg_pids="$bg_pids $!"
sleep 1

# domstate WANT SECS: waits for `virsh domstate --reason lx`.
domstate() {
	local i got=""
	for i in $(seq $(($2 * 10))); do
		got=$(vs domstate lx --reason 2>&1 || :)
		[ "$got" = "$1" ] && return 0
		sleep 0.1
	done
	echo "$TEST: domstate lx: '$got', want '$1'" >&2
	return 1
}

# wait_count TEXT N SECS: until the domain's log (appended to by each
# start) holds N lines with TEXT.
wait_count() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(grep -c -- "$1" "$log" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "$TEST: fewer than $2 '$1' in $log:" >&2
	tail -5 "$log" >&2
	return 1
}

check "define" vs define "$TMP/lx.xml"
check "start" vs start lx
check "the guest waits for a shutdown" \
	wait_grep "$log" "kvmmu-guest: waiting for shutdown" 300
t0=$(now)
check "shutdown: answered" vs shutdown lx
took=$(since "$t0")
echo "$TEST: shutdown answered after $took s"
check "shutdown: answered at once, before the guest is down" lt "$took" 10
check "a second shutdown while it waits: answered, nothing more" \
	vs shutdown lx
check "shut off (shutdown)" domstate "shut off (shutdown)" 120
echo "$TEST: shut off after $(since "$t0") s"
check "the guest ran its shutdown" \
	grep -q "kvmmu-guest: shutting down" "$log"
check "the frontend: the guest shut down" \
	grep -q "guest shut down" "$log"
check "event: Stopped Shutdown" \
	wait_grep "$TMP/events" "lifecycle.*lx.*Stopped Shutdown" 10

# destroy stays immediate: the guest is not asked.
check "start again" vs start lx
check "the guest waits for a shutdown again" \
	wait_count "kvmmu-guest: waiting for shutdown" 2 300
t0=$(now)
check "destroy" vs destroy lx
took=$(since "$t0")
echo "$TEST: destroy answered after $took s"
check "destroy: at once" lt "$took" 10
check "shut off (destroyed)" domstate "shut off (destroyed)" 10
check "the guest was not asked (one shutdown in the log, the first's)" \
	test "$(grep -c "kvmmu-guest: shutting down" "$log")" -eq 1
check "event: Stopped Destroyed" \
	wait_grep "$TMP/events" "lifecycle.*lx.*Stopped Destroyed" 10
check "undefine" vs undefine lx
report
