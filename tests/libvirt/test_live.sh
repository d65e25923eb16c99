#!/bin/bash
# test_live.sh: live zap-control changes from virsh, end to end.  A
# private libvirtd serves libvirt's test driver (test+unix:///default),
# whose domains can run without a hypervisor and whose state every client
# of the daemon shares.  In separate processes: virsh defines the
# boot-churn domain; vmm-frontend --connect runs it on a real mmu-server
# (and marks it running in libvirt); virsh metadata --live switches zap
# control all -> memslot, which the frontend applies through the server
# and GetStats confirms, with no shadow page zapped after the switch
# while the guest goes on changing its memory map; memslot -> all is
# logged as needing a restart (and asking for memslot again is found in
# force already); an invalid element is refused; a --config
# change takes effect at the next start; virsh destroy stops the VM; a
# second frontend for the same domain is refused.  virsh event, in yet
# another process, sees every change too.
# Usage: test_live.sh BIN_DIR GUEST_DIR SOURCE_DIR
set -eu
TEST=libvirt.live
BIN=$1 GUEST=$2 SRC=$3
. "$(dirname "$0")/lib.sh"
require
setup
before=$(host_state)
check "private libvirtd started" lv_start
check "mmu-server started" srv_start
T="test+unix:///default?socket=$LV_SOCK"
NS=urn:kvmmu:domain:1
DOM=kvmmu-live
meta() { virsh -q -c "$T" metadata "$DOM" --uri "$NS" --key kvmmu "$@"; }
state() { virsh -q -c "$T" domstate "$DOM"; }

# The test driver keeps its state only while some client is connected:
# virsh event holds it, and records what it sees.
virsh -c "$T" event --all --loop >"$TMP/events.log" 2>&1 &
ev_pid=$!
bg_pids="$bg_pids $ev_pid"
check "virsh event is connected" lv_wait_client "$ev_pid"

domain_xml "$DOM" 768 "devices=8 cycles=32 vga=16 kpasses=8" all \
	>"$TMP/dom.xml"
check "virsh define" virsh -q -c "$T" define "$TMP/dom.xml"
check "defined, shut off" test "$(state)" = "shut off"

echo "== run 1: all -> memslot live, memslot -> all refused, --config"
fe_start run1 --connect "$T" --domain "$DOM" --json --timeout 120
fe1=$fe_pid
check "frontend 1 runs the domain" \
	wait_grep "$TMP/run1.out" "vm [0-9]+ '$DOM' running" 30
check "libvirt says running (the frontend marked it)" \
	test "$(state)" = "running"
check "the frontend's libvirt connection is read-write" \
	lv_wait_client "$fe1" no
check "virsh metadata --live mode=memslot" \
	meta --set '<zap-control mode="memslot"/>' --live
check "the frontend applied it" \
	wait_grep "$TMP/run1.err" "zap control now mode=memslot" 10
line=$(grep "zap control now mode=memslot" "$TMP/run1.err" || :)
z0=$(sed -n 's/.*mmu_shadow_zapped=\([0-9]*\).*/\1/p' <<<"$line")
i0=$(sed -n 's/.*vm.memslot_ioctls=\([0-9]*\).*/\1/p' <<<"$line")
ph=$(sed -n 's/.*guest phase \([0-9]*\).*/\1/p' <<<"$line")
echo "   at the switch: guest phase $ph, $z0 shadow pages zapped, $i0 memslot ioctls"
check "the switch came before the BARs moved (phase ${ph:-?} < 3)" \
	test "${ph:-9}" -lt 3
check "virsh metadata --live mode=all" \
	meta --set '<zap-control mode="all"/>' --live
check "memslot -> all is logged as needing a restart" \
	wait_grep "$TMP/run1.err" "mode=all needs a restart, not applied" 10
check "virsh metadata --live mode=fast" \
	meta --set '<zap-control mode="fast"/>' --live
check "an invalid element is refused, named" \
	wait_grep "$TMP/run1.err" "live change refused: zap-control@mode: 'fast'" 10
check "virsh metadata --live mode=memslot again" \
	meta --set '<zap-control mode="memslot"/>' --live
check "... which is what the server has in force" \
	wait_grep "$TMP/run1.err" "zap control already mode=memslot" 10
check "virsh metadata --config mode=memslot allones=rom" \
	meta --set '<zap-control mode="memslot" allones="rom"/>' --config
check "the --config change is logged for the next start" \
	wait_grep "$TMP/run1.err" "mode=memslot batch-window-us=0 allones=rom takes effect at the next start" 10
check "all of it while the guest ran" kill -0 "$fe1"
st=0
fe_wait "$fe1" || st=$?
check "frontend 1 exits 0 (got $st)" test "$st" -eq 0
check "GetStats at the end: mode memslot" \
	test "$(json_field run1 zap_mode)" = memslot
z1=$(json_field run1 shadow_zapped)
i1=$(json_field run1 memslot_ioctls)
echo "   at the end: $z1 shadow pages zapped, $i1 memslot ioctls"
pf1=$(json_field run1 pf_taken_churn)
check "the guest did not refault its RAM after the switch ($pf1 faults)" \
	test "${pf1:-1000}" -lt 1000
if ! tdp_mmu; then
	check "shadow MMU: no shadow page zapped after the switch ($z0 -> $z1)" \
		test "${z1:-x}" = "${z0:-y}"
fi
check "while the guest changed its memory map ($i0 -> $i1 ioctls)" \
	test "${i1:-0}" -gt "${i0:-0}"
check "libvirt says shut off after the run" test "$(state)" = "shut off"
check "virsh event, another process, saw the metadata changes" \
	test "$(grep -c "metadata-change.*$NS" "$TMP/events.log")" -ge 4
check "... and the frontend's start and stop" \
	grep -q "'$DOM': Stopped" "$TMP/events.log"

echo "== run 2: the --config change in force; virsh destroy stops it"
fe_start run2 --connect "$T" --domain "$DOM" --json --timeout 120
fe2=$fe_pid
check "frontend 2 runs the domain" \
	wait_grep "$TMP/run2.out" "vm [0-9]+ '$DOM' running" 30
check "it starts with the persistent policy" grep -q \
	"zap control mode=memslot batch-window-us=0 allones=rom" \
	"$TMP/run2.out"
st=0
"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" --connect "$T" \
	--domain "$DOM" >"$TMP/run3.out" 2>&1 || st=$?
check "a second frontend for the domain is refused (exit $st)" \
	test "$st" -eq 1
check "... saying it is already running" \
	grep -q "already running" "$TMP/run3.out"
check "virsh destroy" virsh -q -c "$T" destroy "$DOM"
check "the frontend stops the VM" \
	wait_grep "$TMP/run2.err" "libvirt stopped domain '$DOM'" 10
st=0
fe_wait "$fe2" || st=$?
check "frontend 2 exits 143 (got $st)" test "$st" -eq 143
check "GetStats: mode memslot" test "$(json_field run2 zap_mode)" = memslot

st=0
"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" --connect "$T" \
	--domain "$DOM" --memory 64 >"$TMP/run4.out" 2>&1 || st=$?
check "flags that describe the VM are refused next to a domain" \
	grep -q "^vmm-frontend: --memory: the domain defines the VM" \
	"$TMP/run4.out"
check "... exit 2 (got $st)" test "$st" -eq 2

check "virsh undefine" virsh -q -c "$T" undefine "$DOM"
check "mmu-server exits clean" srv_stop
kill "$lv_pid" && wait "$lv_pid" || :
lv_pid=""
check "the machine's own libvirt state is untouched" \
	test "$(host_state)" = "$before"
report
