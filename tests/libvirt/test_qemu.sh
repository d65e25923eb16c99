#!/bin/bash
# test_qemu.sh: a domain of libvirt's QEMU driver (type='kvm', defined by
# virsh in a private libvirtd, persistent in its config dir) run by
# vmm-frontend --connect.  libvirt would run QEMU to start it, so the
# frontend never starts it: it reads the persistent definition over a
# read-only connection, libvirt keeps calling the domain shut off, and
# `virsh metadata --live` is refused by libvirt itself ("domain is not
# running").  `virsh metadata --config` reaches the frontend as an event,
# is logged for the next start and changes nothing now; the next start
# runs with it.
# Usage: test_qemu.sh BIN_DIR GUEST_DIR SOURCE_DIR
set -eu
TEST=libvirt.qemu
BIN=$1 GUEST=$2 SRC=$3
. "$(dirname "$0")/lib.sh"
require qemu-system-x86_64
setup
before=$(host_state)
check "private libvirtd started" lv_start
check "mmu-server started" srv_start
Q="qemu+unix:///system?socket=$LV_SOCK"
NS=urn:kvmmu:domain:1
DOM=kvmmu-qemu
meta() { virsh -q -c "$Q" metadata "$DOM" --uri "$NS" --key kvmmu "$@"; }
state() { virsh -q -c "$Q" domstate "$DOM"; }

domain_xml "$DOM" 512 "devices=8 cycles=32 vga=16 kpasses=8" all \
	>"$TMP/dom.xml"
# The first call waits for libvirt's QEMU capability probe.
check "virsh define (QEMU driver)" virsh -q -c "$Q" define "$TMP/dom.xml"
check "stored in the private config dir" \
	test -f "$LV_DIR/etc/qemu/$DOM.xml"

echo "== run 1: --live refused by libvirt, --config for the next start"
fe_start run1 --connect "$Q" --domain "$DOM" --json --timeout 120
fe1=$fe_pid
check "frontend 1 runs the domain" \
	wait_grep "$TMP/run1.out" "vm [0-9]+ '$DOM' running" 30
check "what libvirt added is named as ignored" \
	grep -q "devices/emulator: ignored" "$TMP/run1.err"
check "the frontend's libvirt connection is read-only" \
	lv_wait_client "$fe1" yes
check "libvirt still calls it shut off (no QEMU was started)" \
	test "$(state)" = "shut off"
st=0
out=$(meta --set '<zap-control mode="memslot"/>' --live 2>&1) || st=$?
check "virsh metadata --live is refused by libvirt (exit $st)" \
	test "$st" -ne 0
check "... because the domain is not running: $out" \
	grep -q "domain is not running" <<<"$out"
check "virsh metadata --config mode=memslot" \
	meta --set '<zap-control mode="memslot"/>' --config
check "the frontend logs it for the next start" \
	wait_grep "$TMP/run1.err" "mode=memslot batch-window-us=0 allones=mmio takes effect at the next start" 10
check "while the guest ran" kill -0 "$fe1"
st=0
fe_wait "$fe1" || st=$?
check "frontend 1 exits 0 (got $st)" test "$st" -eq 0
check "nothing pretended: GetStats says mode all" \
	test "$(json_field run1 zap_mode)" = all
check "no live change was logged" \
	not grep -q "zap control now" "$TMP/run1.err"
check "libvirt keeps the change in the definition" \
	grep -q 'mode="memslot"' "$LV_DIR/etc/qemu/$DOM.xml"

echo "== run 2: the next start"
fe_start run2 --connect "$Q" --domain "$DOM" --json --timeout 120
fe2=$fe_pid
st=0
fe_wait "$fe2" || st=$?
check "frontend 2 exits 0 (got $st)" test "$st" -eq 0
check "it starts with mode=memslot" \
	grep -q "zap control mode=memslot" "$TMP/run2.out"
check "GetStats says mode memslot" \
	test "$(json_field run2 zap_mode)" = memslot
pf2=$(json_field run2 pf_taken_churn)
check "and the guest did not refault its RAM ($pf2 faults)" \
	test "${pf2:-1000}" -lt 1000
if ! tdp_mmu; then
	check "shadow MMU: nothing was zapped" \
		test "$(json_field run2 shadow_zapped)" = 0
fi

check "virsh undefine" virsh -q -c "$Q" undefine "$DOM"
check "mmu-server exits clean" srv_stop
kill "$lv_pid" && wait "$lv_pid" || :
lv_pid=""
check "the machine's own libvirt state is untouched" \
	test "$(host_state)" = "$before"
report
