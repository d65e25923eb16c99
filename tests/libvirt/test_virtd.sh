#!/bin/bash
# test_virtd.sh: libvirt.virtd, virsh and python3-libvirt managing kvmmu
# VMs through kvmmu-virtd (libvirt's RPC protocol), the VMs running
# through a real mmu-server.  Usage: test_virtd.sh BIN_DIR GUEST_DIR SRC.
#
# Stock virsh: define, list, start, dominfo, dumpxml, metadata --live
# (mmu-server then runs mode=memslot; memslot -> all refused), suspend,
# resume, shutdown, destroy, undefine, each lifecycle and metadata event
# seen by `virsh event --all --loop`; libvirt's error codes for a bad
# XML, an unknown domain and starting a running one; the read-only
# socket; 20 concurrent clients; a daemon restart that keeps the
# definitions and finds the running VM; each domain's frontend runs as a
# uid of its own, so that a per-uid bound of one VM lets two domains run.  Debian's python3-libvirt: open,
# listAllDomains, XMLDesc, create, destroy, an unsupported call that
# leaves the connection usable, and malformed packets.
set -eu
BIN=$1 GUEST=$2 SRC=$3
TEST=libvirt.virtd
. "$SRC/tests/libvirt/lib.sh"
require_kvm
command -v virsh >/dev/null || skip "virsh is not installed"
/usr/bin/python3 -c 'import libvirt' 2>/dev/null ||
	skip "python3-libvirt is not installed (deploy/install-deps.sh)"
setup
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
UR="kvmmu+unix:///system?socket=$TMP/virtd-sock-ro"
vs() { timeout 60 virsh -q -c "$U" "$@"; }


# One VM per uid: all domains as one uid could run only one of them.
admin_server_start --uid-limit vms=1
virtd_start

# A payload that runs until stopped: memtouch with a huge pass count.
cat >"$TMP/vm1.xml" <<XML
<domain type='kvm'>
  <name>vm1</name>
  <metadata><kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1' mode='all'/></metadata>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$GUEST/memtouch.bin</kernel>
  <cmdline>passes=1000000000</cmdline></os>
  <devices><serial type='null'/></devices>
</domain>
XML

# events FILE: `virsh event --all --loop` into FILE until the daemon goes.
events() {
	timeout 600 virsh -c "$U" event --all --loop >"$TMP/$1" 2>&1 &
	bg_pids="$bg_pids $!"
	sleep 1
}
events events

check "define" vs define "$TMP/vm1.xml"
check "list --all: shut off" eval 'vs list --all | grep -Eq "^ *- +vm1 +shut off"'
check "start" vs start vm1
check "list: running with an id" eval 'vs list | grep -Eq "^ *[0-9]+ +vm1 +running"'
# virsh refuses itself (the id it looked up says active); the daemon's
# own VIR_ERR_OPERATION_INVALID is checked through python3-libvirt.
check "start a running domain: refused" \
	eval 'vs start vm1 2>&1 | grep -q "already active"'

# A second domain runs beside it, under a uid of its own (--domain-uids,
# from 1879048192): mmu-server's per-uid bound holds for each alone.
sed 's|<name>vm1</name>|<name>vm2</name>|' "$TMP/vm1.xml" >"$TMP/vm2.xml"
check "a second domain starts under --uid-limit vms=1" \
	eval 'vs define "$TMP/vm2.xml" >/dev/null && vs start vm2 >/dev/null'
uids() {
	"$BIN/mmuctl" --socket "$TMP/admin.sock" --json list |
		/usr/bin/python3 -c 'import json, sys
print(" ".join(sorted(str(v.get("ownerUid", v.get("owner_uid", 0)))
                      for v in json.load(sys.stdin).get("vms", []))))'
}
check "two VMs, owned by 1879048192 and 1879048193 ($(uids))" \
	test "$(uids)" = "1879048192 1879048193"
fe_uid() {
	awk '/^Uid:/ {print $2}' "/proc/$(pgrep -f -- "--domain-xml -" |
		head -1)/status"
}
check "the frontends are not root" eval '[ "$(fe_uid)" -ge 1879048192 ]'
check "vm2 destroyed, undefined" \
	eval 'vs destroy vm2 >/dev/null && vs undefine vm2 >/dev/null'
check "dominfo: running, 64 MiB" \
	eval 'vs dominfo vm1 | grep -Eq "State: +running" &&
	      vs dominfo vm1 | grep -Eq "Max memory: +65536 KiB"'
check "dumpxml keeps kvmmu's metadata" \
	eval 'vs dumpxml vm1 | grep -q "kvmmu:zap-control"'
check "mmu-server runs it with mode all" \
	eval '"$BIN/mmuctl" --socket "$TMP/admin.sock" show vm1 | grep -q "mode=all"'
check "metadata --live --set memslot" \
	vs metadata vm1 --live --uri urn:kvmmu:domain:1 --key kvmmu \
	--set "<zap-control mode='memslot'/>"
check "mmu-server applied mode memslot" \
	eval '"$BIN/mmuctl" --socket "$TMP/admin.sock" show vm1 | grep -q "mode=memslot"'
check "metadata --live shows it" \
	eval 'vs metadata vm1 --live --uri urn:kvmmu:domain:1 | grep -q memslot'
check "memslot -> all on a live VM: refused" \
	eval 'vs metadata vm1 --live --uri urn:kvmmu:domain:1 --key kvmmu \
		--set "<zap-control mode=\"all\"/>" 2>&1 | grep -q "restart"'
check "the config keeps mode all" \
	eval 'vs metadata vm1 --config --uri urn:kvmmu:domain:1 | grep -q "mode=\"all\""'
check "suspend" vs suspend vm1
check "dominfo: paused" eval 'vs dominfo vm1 | grep -Eq "State: +paused"'
check "mmu-server: paused" \
	eval '"$BIN/mmuctl" --socket "$TMP/admin.sock" show vm1 | grep -q paused'
check "resume" vs resume vm1
check "dominfo: running again" eval 'vs dominfo vm1 | grep -Eq "State: +running"'

# Bad input speaks libvirt.
cat >"$TMP/bad.xml" <<XML
<domain type='kvm'><name>bad</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type>hvm</type><kernel>$GUEST/hello.bin</kernel></os>
<devices><disk type='file'/></devices></domain>
XML
check "bad XML names the element" \
	eval 'vs define "$TMP/bad.xml" 2>&1 | grep -q "devices/disk"'
check "unknown domain: not found" \
	eval 'vs dominfo nosuch 2>&1 | grep -q "failed to get domain"'
check "read-only socket: list works" \
	eval 'timeout 60 virsh -q -r -c "$UR" list --all | grep -q vm1'
check "read-only socket: destroy denied" \
	eval 'timeout 60 virsh -r -c "$UR" destroy vm1 2>&1 | grep -q "read only"'

# 20 clients at once, each a whole virsh session.
for i in $(seq 20); do
	(vs dominfo vm1 >"$TMP/c$i.out" 2>&1; echo $? >"$TMP/c$i.rc") &
done
wait_n=0
for i in $(seq 20); do
	for _ in $(seq 600); do [ -s "$TMP/c$i.rc" ] && break; sleep 0.1; done
	[ "$(cat "$TMP/c$i.rc" 2>/dev/null)" = 0 ] &&
		grep -q running "$TMP/c$i.out" && wait_n=$((wait_n + 1))
done
check "20 concurrent clients all answered ($wait_n)" test "$wait_n" -eq 20

# A restart of the daemon keeps definitions and finds the running VM.
kill "$virtd_pid"
wait "$virtd_pid" || :
virtd_start
events events2 # the first watcher's connection ended with the daemon
check "after a restart: vm1 still running, adopted" \
	eval 'vs list | grep -Eq "^ *[0-9]+ +vm1 +running" &&
	      grep -q "adopted" "$TMP/virtd.log"'
check "shutdown" vs shutdown vm1
# shutdown is answered once asked; a payload cannot be asked, so its
# frontend stops it at once.
check "shut off after shutdown" \
	eval 'for _ in $(seq 100); do
		vs list --all | grep -Eq "vm1 +shut off" && break; sleep 0.1
	done; vs list --all | grep -Eq "vm1 +shut off"'
check "start again" vs start vm1
check "destroy" vs destroy vm1
check "destroy of a stopped domain: operation invalid" \
	eval 'vs destroy vm1 2>&1 | grep -q "not running"'

# The second client: Debian's python3-libvirt.
check "python3-libvirt: list, XMLDesc, create, destroy, errors, raw packets" \
	/usr/bin/python3 "$SRC/tests/libvirt/virtd_client.py" "$U" \
	"$TMP/virtd-sock" vm1

check "undefine" vs undefine vm1
check "list --all: gone" eval '! vs list --all | grep -q vm1'
kill "$virtd_pid"
wait "$virtd_pid" || :
virtd_start
check "definitions survive a restart (none now)" \
	eval '! vs list --all | grep -q vm1'

# Every event `virsh event --all --loop` must have seen, before and
# after the daemon's restart.
for ev in "Defined Added" "Started Booted" "Suspended Paused" \
	"Resumed Unpaused"; do
	check "event: $ev" wait_grep "$TMP/events" "lifecycle.*vm1.*$ev" 10
done
for ev in "Stopped Shutdown" "Started Booted" "Stopped Destroyed" \
	"Undefined Removed"; do
	check "event after the restart: $ev" \
		wait_grep "$TMP/events2" "lifecycle.*vm1.*$ev" 10
done
check "event: metadata change" \
	wait_grep "$TMP/events" "metadata-change.*vm1" 10
report
