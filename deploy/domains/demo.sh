#!/bin/bash
# demo.sh: kvmmu's libvirt domains, shown.  Builds kvmmu, starts
# mmu-server, then:
#  1. runs the two example domains straight from their files (no libvirtd
#     needed): the boot-churn guest under zap-all and under targeted zaps;
#  2. starts a private libvirtd (its own mount namespace and temp dirs, as
#     the tests do: the machine's libvirt is not touched), defines the
#     zap-all domain there with virsh, runs it with vmm-frontend --connect,
#     and switches it to targeted zaps live with virsh metadata from
#     another process, then shows what the frontend logged.
# Run as root on a machine with /dev/kvm (as deploy/demo.sh).
set -eu
cd "$(dirname "$0")/../.."
./deploy/build.sh >/dev/null
BIN=$PWD/build/bin GUEST=$PWD/build/guest SRC=$PWD TEST=demo
. tests/libvirt/lib.sh
require
setup
srv_start
summary() {
	sed -e 's/.*"zap_mode": "\([a-z]*\)".*"boot_s": \([0-9.]*\).*"pf_taken_churn": \([0-9]*\).*"shadow_zapped": \([0-9]*\).*/   zap mode \1: boot \2 s, \3 page faults after the first touch of RAM, \4 shadow pages zapped/' \
		"$1" | grep "zap mode"
}

echo "== the example domains, read from deploy/domains/*.xml"
for mode in all memslot; do
	"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" --json -q \
		--domain-xml "deploy/domains/kvmmu-zap-$mode.xml" >"$TMP/$mode"
	summary "$TMP/$mode"
done

echo
echo "== in libvirt: a private libvirtd, the test driver"
lv_start
T="test+unix:///default?socket=$LV_SOCK"
# The test driver keeps domains only while a client is connected.
virsh -c "$T" event --all --loop >"$TMP/events" 2>&1 &
bg_pids="$bg_pids $!"
lv_wait_client $!
domain_xml kvmmu-demo 1024 "devices=8 cycles=32 vga=16 kpasses=4" all \
	>"$TMP/dom.xml"
virsh -c "$T" define "$TMP/dom.xml"
fe_start live --connect "$T" --domain kvmmu-demo --json
wait_grep "$TMP/live.out" "running" 30
virsh -c "$T" list --all
echo "-- another process: virsh metadata kvmmu-demo --uri urn:kvmmu:domain:1 \\"
echo "     --key kvmmu --set '<zap-control mode=\"memslot\"/>' --live"
virsh -q -c "$T" metadata kvmmu-demo --uri urn:kvmmu:domain:1 --key kvmmu \
	--set '<zap-control mode="memslot"/>' --live
fe_wait "$fe_pid" || :
echo "-- the frontend's log:"
sed 's/^/   /' "$TMP/live.err"
summary "$TMP/live.out"
echo "-- libvirt after the run:"
virsh -c "$T" list --all
