#!/bin/bash
# test_virtd_regress.sh: libvirt.virtd_regress, issue 23's findings 3 to 7
# against kvmmu-virtd and a real mmu-server, each as it was reported and
# then around it.  Usage: test_virtd_regress.sh BIN_DIR GUEST_DIR SRC.
#
#  3. metadata/desc --live --config on a shut-off and on a running
#     transient domain (it killed the daemon): libvirt's
#     VIR_ERR_OPERATION_INVALID, and every metadata call on every kind of
#     domain answered (virtd_regress.py meta).
#  4. the daemon killed (-9) with a transient domain running: after its
#     restart that domain is adopted, defining it again from its live XML
#     and starting it is refused, mmu-server runs one VM of it, and a
#     second frontend with its UUID is refused by mmu-server; a VM run by
#     hand for a shut-off definition is adopted.
#  5. create then at once suspend, many times (virtd_regress.py race).
#  6. unknown flags refused, shutdown --mode acpi|agent refused and the
#     domain left running (virtd_regress.py flags, and virsh).
#  7. mmuctl pause, resume and destroy reach virsh as state with
#     libvirt's reasons, and as lifecycle events, for a frontend the
#     daemon started and for one it adopted.
# Every check prints what it checks; a failure says FAIL and the test
# exits non-zero.
set -eu
BIN=$1 GUEST=$2 SRC=$3
TEST=libvirt.virtd_regress
. "$SRC/tests/libvirt/lib.sh"
require_kvm
command -v virsh >/dev/null || skip "virsh is not installed"
/usr/bin/python3 -c 'import libvirt' 2>/dev/null ||
	skip "python3-libvirt is not installed (deploy/install-deps.sh)"
[ -x "$BIN/mmuctl" ] || skip "$BIN/mmuctl is not built"
setup
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
UR="kvmmu+unix:///system?socket=$TMP/virtd-sock-ro"
vs() { timeout 60 virsh -q -c "$U" "$@"; }
mc() { timeout 30 "$BIN/mmuctl" --socket "$TMP/admin.sock" "$@"; }
py() { timeout 600 /usr/bin/python3 "$SRC/tests/libvirt/virtd_regress.py" "$@"; }

# ck WHAT CMD...: says what it checks, then checks it.
ck() {
	echo "$TEST: check: $1"
	check "$@"
}


# The daemon is the one we started and has not died (of a signal).
virtd_alive() {
	kill -0 "$virtd_pid" 2>/dev/null
}

# domstate NAME WANT: waits up to 10 s for `virsh domstate --reason`.
domstate() {
	local i got=""
	for i in $(seq 100); do
		got=$(vs domstate "$1" --reason 2>&1 || :)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$TEST: domstate $1: '$got', want '$2'" >&2
	return 1
}

# VMs mmu-server runs named NAME.
vm_count() {
	mc list | awk -v n="$1" 'NR > 1 && $2 == n' | wc -l
}

# A payload that runs until stopped: memtouch with a huge pass count.
dom_xml() {
	cat <<-XML
		<domain type='kvm'>
		  <name>$1</name>
		  <memory unit='MiB'>32</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64'>hvm</type><kernel>$GUEST/memtouch.bin</kernel>
		  <cmdline>passes=1000000000</cmdline></os>
		  <devices><serial type='null'/></devices>
		</domain>
	XML
}

admin_server_start
virtd_start
for d in r1 t1; do
	dom_xml $d >"$TMP/$d.xml"
	ck "define $d" vs define "$TMP/$d.xml"
done

echo "$TEST: --- 3: metadata --live --config (it crashed the daemon)"
ck "shut off: metadata --live --config: refused, not running" \
	eval 'vs metadata r1 --uri http://e/a --key e --set "<f/>" --live \
		--config 2>&1 | grep -q "is not running"'
ck "shut off: desc --live --config: refused, not running" \
	eval 'vs desc r1 --live --config --new-desc d 2>&1 |
		grep -q "is not running"'
ck "the daemon lives" virtd_alive
ck "python3-libvirt: every metadata call, shut-off, running, transient" \
	py meta "$U" r1 t1
ck "t1 is running and transient" \
	eval 'vs dominfo t1 | grep -Eq "Persistent: +no" &&
	      vs domstate t1 | grep -q running'
ck "transient: metadata --live --config: refused, transient" \
	eval 'vs metadata t1 --uri http://e/a --key e --set "<f/>" --live \
		--config 2>&1 | grep -q "transient"'
ck "transient: desc --live --config: refused, transient" \
	eval 'vs desc t1 --live --config --new-desc d 2>&1 | grep -q transient'
ck "transient: metadata --live: applied" \
	vs metadata t1 --uri http://e/a --key e --set "<g/>" --live
ck "the daemon lives" virtd_alive

echo "$TEST: --- 4: one truth about VMs"
kill -9 "$virtd_pid"
wait "$virtd_pid" 2>/dev/null || :
ck "the daemon killed: mmu-server still runs t1 and r1" \
	eval '[ "$(vm_count t1)" = 1 ] && [ "$(vm_count r1)" = 1 ]'
virtd_start
events() {
	timeout 600 virsh -c "$U" event --all --loop >"$TMP/events" 2>&1 &
	bg_pids="$bg_pids $!"
	sleep 1
}
events
ck "after the restart: transient t1 adopted from its live XML" \
	eval 'grep -q "domain .t1. (transient) is still running" \
		"$TMP/virtd.log" && vs domstate t1 | grep -q running &&
	      vs dominfo t1 | grep -Eq "Persistent: +no"'
ck "after the restart: r1 adopted" eval 'vs domstate r1 | grep -q running'
ck "t1 keeps its live metadata" \
	eval 'vs metadata t1 --uri http://e/a --live | grep -q "<e:g"'
ck "define t1 again from its live XML: persistent again" \
	eval 'vs define "$TMP/state/run/t1.xml" &&
	      vs dominfo t1 | grep -Eq "Persistent: +yes"'
ck "start t1 again: refused, it runs" \
	eval 'vs start t1 2>&1 | grep -Eq "already (active|running)"'
ck "mmu-server runs one t1" eval '[ "$(vm_count t1)" = 1 ]'
"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" \
	--domain-xml "$TMP/state/run/t1.xml" >"$TMP/dup.out" 2>"$TMP/dup.err" &&
	dup_st=0 || dup_st=$?
ck "a second frontend for t1 by hand: mmu-server refuses its UUID" \
	eval '[ "$dup_st" != 0 ] && grep -q "CreateVm.uuid.*already VM" \
		"$TMP/dup.err"'
ck "mmu-server still runs one t1" eval '[ "$(vm_count t1)" = 1 ]'
ck "destroy t1" vs destroy t1
# A VM run by hand for a definition the daemon has: it is the domain's.
"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" \
	--domain-xml "$TMP/state/domains/t1.xml" >"$TMP/hand.out" \
	2>"$TMP/hand.err" &
hand_pid=$!
bg_pids="$bg_pids $hand_pid"
ck "t1 run by hand: adopted, running (booted)" domstate t1 "running (booted)"
ck "start t1: refused, it runs" \
	eval 'vs start t1 2>&1 | grep -Eq "already (active|running)"'
ck "destroy t1 ends the frontend run by hand" \
	eval 'vs destroy t1 && { fe_wait "$hand_pid" || :; } &&
	      ! kill -0 "$hand_pid" 2>/dev/null'
ck "shut off (destroyed)" domstate t1 "shut off (destroyed)"

echo "$TEST: --- 7: changes through the admin API reach virsh"
# r1's frontend was adopted after the restart: not the daemon's child.
ck "mmuctl pause r1 (adopted)" mc pause r1
ck "domstate: paused (unknown), as libvirt has a pause it did not make" \
	domstate r1 "paused (unknown)"
ck "virsh resume r1: it is paused" vs resume r1
ck "domstate: running (unpaused)" domstate r1 "running (unpaused)"
ck "virsh suspend r1" vs suspend r1
ck "mmuctl resume r1" mc resume r1
ck "domstate: running (unknown)" domstate r1 "running (unknown)"
ck "mmuctl pause, then at once virsh resume: it is paused" \
	eval 'mc pause r1 >/dev/null && vs resume r1'
ck "mmuctl destroy r1 (adopted)" mc destroy r1
ck "domstate: shut off (destroyed)" domstate r1 "shut off (destroyed)"
ck "start r1 (the daemon's child now)" vs start r1
ck "mmuctl destroy r1 (a child)" mc destroy r1
ck "domstate: shut off (destroyed)" domstate r1 "shut off (destroyed)"
for ev in "Suspended Paused" "Resumed Unpaused" "Stopped Destroyed"; do
	ck "event seen by virsh event: r1 $ev" \
		wait_grep "$TMP/events" "lifecycle.*r1.*$ev" 10
done
ck "event: t1 Started Booted (run by hand)" \
	wait_grep "$TMP/events" "lifecycle.*t1.*Started Booted" 10

echo "$TEST: --- 6: flags"
ck "python3-libvirt: flags of every procedure" \
	py flags "$U" "$UR" r1 "$TMP/r1.xml" "$TMP/state/log/r1.log"
ck "start r1" vs start r1
ck "shutdown --mode acpi: refused, no ACPI button" \
	eval 'vs shutdown r1 --mode acpi 2>&1 | grep -q "no ACPI power button"'
ck "shutdown --mode agent: refused, no guest agent" \
	eval 'vs shutdown r1 --mode agent 2>&1 | grep -q "no guest agent"'
ck "r1 still running (booted)" domstate r1 "running (booted)"
ck "shutdown (no mode): stops it, as documented" vs shutdown r1
ck "shut off (shutdown)" domstate r1 "shut off (shutdown)"

echo "$TEST: --- 5: create then at once suspend"
ck "python3-libvirt: 30 rounds of create, suspend, destroy" \
	py race "$U" r1 30

ck "the daemon lived through it all" virtd_alive
ck "its log has no crash or sanitizer report" \
	eval '! grep -Eq "Segmentation|AddressSanitizer|LeakSanitizer|runtime error" \
		"$TMP/virtd.log"'
kill "$virtd_pid"
ck "the daemon exits cleanly (no leak under LSan)" wait "$virtd_pid"
report
