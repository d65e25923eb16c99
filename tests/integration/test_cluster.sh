#!/bin/bash
# test_cluster.sh SRC_DIR BIN_DIR GUEST_DIR [asan|plain]: the integration
# cluster.
# One mmu-server (root), a private libvirtd, frontends as separate
# unprivileged users, admin clients and a hostile frontend, all in temp
# dirs, torn down by PID (tests/libvirt/lib.sh).  Scenarios:
#  - 16 VMs run the boot-churn payload at once, half under each zap mode
#    (15 from flags as uids 60001..60015, one from a libvirt domain through
#    --connect); all finish correctly; each VM's stats agree with its zap
#    mode and add up to the server's own counters;
#  - operators watch them over the admin API; a hostile frontend attacks
#    the same server meanwhile;
#  - a frontend SIGKILLed in the middle of its memory-map churn: its VM
#    disappears (mmuctl list names it among the ended: its frontend's
#    connection closed), the server's fds and RSS return to their level;
#  - quotas per uid across connections;
#  - SIGTERM to the server with frontends running: they exit with a clear
#    error, the server exits clean and leaves no socket behind.
set -eu
SRC=$1 BIN=$2 GUEST=$3 BUILD=${4:-plain} TEST=cluster
. "$SRC/tests/libvirt/lib.sh"
require setpriv
setup
lv_start
chmod 0755 "$TMP"
# --ram-backing 4k: the checks count 4 KiB refaults and need guests
# that run long enough to be listed (kvm.backing covers huge backing).
"$BIN/mmu-server" -d --socket "$TMP/mmu.sock" --socket-group nogroup \
	--admin-socket "$TMP/admin.sock" --uid-max-vms 2 --ram-backing 4k \
	2>"$TMP/mmu-server.log" &
srv_pid=$!
for i in $(seq 200); do [ -S "$TMP/admin.sock" ] && break; sleep 0.05; done
# The frontends started as other uids read their payloads with those
# uids' rights, and the build tree may be out of their reach (a clone
# under /root or in a 0700 dir): copies in $TMP (0755), and one of the
# binary too.  setpriv happens to exec with root's capabilities still in
# effect, so it finds a binary nobody could, but a fork, setuid and exec
# would not: the tests all run the unprivileged frontend from a copy
# (test_frontend.c's copy_for_nobody says why a copy, not an fd).
install -m 0644 "$GUEST/bootchurn.bin" "$GUEST/memtouch.bin" "$TMP/"
install -m 0755 "$BIN/vmm-frontend" "$TMP/"
# Operators wait up to 30 s: 16 guests under an emulated CPU (deploy/vm/run)
# leave the server's threads little of one CPU.
MMUCTL=("$BIN/mmuctl" --socket "$TMP/admin.sock" --timeout 30000)
LV="test+unix:///default?socket=$LV_SOCK"

# as UID NAME ARGS...: a frontend as that uid (group nogroup), in the
# background, output in $TMP/NAME.out and .err.
as() {
	local uid=$1 name=$2
	shift 2
	setpriv --reuid="$uid" --regid=nogroup --clear-groups \
		"$TMP/vmm-frontend" --socket "$TMP/mmu.sock" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	eval "pid_$name=$!"
	bg_pids="$bg_pids $!"
}
fds() { ls "/proc/$srv_pid/fd" | wc -l; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$srv_pid/status"; }
stat_of() { # VM NAME: one of its stats, via the admin API
	"${MMUCTL[@]}" stats "$1" | awk -v n="$2" '$1 == n {print $2; exit}'
}
settle() { # the fd count once it stops changing
	local last=-1 same=0 n
	while [ "$same" -lt 5 ]; do
		n=$(fds)
		if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$n
		sleep 0.05
	done
	echo "$last"
}

# An observer VM that lives through the test: its stats carry the
# server's counters.
as 60040 observer --payload "$TMP/memtouch.bin" --memory 16 \
	--cmdline passes=1000000000 --name observer
wait_grep "$TMP/observer.out" running 10
fds0=$(settle) rss0=$(rss)

# --- 16 boot-churn VMs at once ---------------------------------------
churn=(--payload "$TMP/bootchurn.bin" --machine pc --memory 64
	--pci-commit eager --cmdline "cycles=4 vga=4" --json)
for i in $(seq 15); do
	mode=all
	[ $((i % 2)) -eq 0 ] && mode=memslot
	as $((60000 + i)) "vm$i" "${churn[@]}" --zap-mode "$mode" --name "vm$i"
done
# The 16th from libvirt (test driver: it can be marked running).
# The test driver forgets its domains when no client is connected: this
# one must be connected before the domain is defined.
virsh -c "$LV" event --all --loop >"$TMP/events" 2>&1 &
bg_pids="$bg_pids $!"
check "the event client is connected" lv_wait_client $!
domain_xml vm16 64 "devices=8 cycles=4 vga=4" memslot >"$TMP/vm16.xml"
check "virsh define" virsh -q -c "$LV" define "$TMP/vm16.xml"
fe_start vm16 --connect "$LV" --domain vm16 --pci-commit eager --json
pid_vm16=$fe_pid
sleep 0.5
uids=$("${MMUCTL[@]}" --json list | grep -o '"owner_uid": [0-9]*' | sort -u |
	wc -l)
echo "cluster: the admin API sees VMs of $uids distinct uids"
check "operators see the frontends' separate uids ($uids)" test "$uids" -ge 8
check "health" sh -c "${MMUCTL[*]} health | grep -q SERVING"
check "a hostile frontend on the same server is refused every time" \
	"$BIN/hostile" "$TMP/mmu.sock" 0
ok=0 zap_all=0 zap_ms=0 ioctls=0 pf_all="" pf_ms=0
for i in $(seq 16); do
	eval "pid=\$pid_vm$i"
	st=0
	fe_wait "$pid" || st=$?
	mode=$(json_field "vm$i" zap_mode)
	zapped=$(json_field "vm$i" shadow_zapped)
	pf=$(json_field "vm$i" pf_taken_churn)
	if [ "$st" -eq 0 ] && grep -q "vga toggles: ok" "$TMP/vm$i.out"; then
		ok=$((ok + 1))
	else
		echo "cluster: vm$i exit $st" >&2
		sed 's/^/  | /' "$TMP/vm$i.err" >&2
	fi
	ioctls=$((ioctls + $(json_field "vm$i" memslot_ioctls)))
	if [ "$mode" = all ]; then
		pf_all="$pf_all ${pf:-0}"
		[ "${zapped:-0}" -gt 0 ] && zap_all=$((zap_all + 1))
	else
		[ "${pf:-0}" -gt "$pf_ms" ] && pf_ms=$pf
		[ "${zapped:-1}" -eq 0 ] && zap_ms=$((zap_ms + 1))
	fi
done
check "16 VMs finished with correct results ($ok)" test "$ok" -eq 16
# Every zap-all VM refaults its RAM after the BAR moves; no targeted-zap
# VM does (on either MMU).  Shadow pages are counted by the shadow MMU only.
n=0
for pf in $pf_all; do
	[ "$pf" -gt $((10 * pf_ms + 100)) ] && n=$((n + 1))
done
echo "cluster: faults after the first touch: zap-all VMs:$pf_all; targeted at most $pf_ms"
check "each zap-all VM refaulted its RAM ($n of 8)" test "$n" -eq 8
if ! tdp_mmu; then
	check "shadow MMU: each zap-all VM zapped shadow pages ($zap_all of 8)" test "$zap_all" -eq 8
	check "shadow MMU: no targeted-zap VM zapped any ($zap_ms of 8)" test "$zap_ms" -eq 8
fi
server=$(stat_of observer memslot_ioctls)
own=$(stat_of observer vm.memslot_ioctls)
echo "cluster: memslot ioctls: server $server = 16 VMs $ioctls + observer $own + hostile"
# The hostile frontend mapped its RAM once (1 ioctl).
check "per-VM stats add up to the server's" test "$server" -eq $((ioctls + own + 1))
# Now the only guest is the idle observer: the flood's memory shows.
check "a flood of unread requests is held back in bounded memory" \
	"$BIN/hostile" "$TMP/mmu.sock" "$srv_pid"

# --- a frontend SIGKILLed while it churns its memory map ------------
as 60020 victim --payload "$TMP/bootchurn.bin" --machine pc --memory 64 \
	--pci-commit eager --cmdline "cycles=1000000 vga=4" --name victim
wait_grep "$TMP/victim.out" running 10
sleep 0.3
kill -9 "$pid_victim"
fe_wait "$pid_victim" || :
for i in $(seq 100); do
	"${MMUCTL[@]}" list | sed '/^$/q' | grep -q victim || break
	sleep 0.05
done
check "the killed frontend's VM is gone" not sh -c "${MMUCTL[*]} list | sed '/^\$/q' | grep -q victim"
ended_closed() {
	"${MMUCTL[@]}" list | sed '1,/^recently ended:$/d' |
		grep -qE "^[0-9]+ +victim +ended +its frontend's connection closed\$"
}
check "mmuctl list says why: its frontend's connection closed" ended_closed
fds1=$(settle) rss1=$(rss)
echo "cluster: server fds $fds0 -> $fds1, RSS $rss0 -> $rss1 KiB"
check "server fds back to their level before the 16 VMs, the hostile runs and the kill" \
	test "$fds1" -eq "$fds0"
if [ "$BUILD" = asan ]; then
	# ASan's quarantine holds freed memory; LeakSanitizer checks leaks.
	echo "SKIP cluster RSS check: sanitizer build"
else
	check "server RSS back to its level (+8 MiB slack)" \
		test "$rss1" -lt $((rss0 + 8192))
fi

# --- quotas per uid ----------------------------------------------------
long=(--payload "$TMP/memtouch.bin" --memory 16 --cmdline passes=1000000000)
as 60030 q1 "${long[@]}" --name q1
as 60030 q2 "${long[@]}" --name q2
wait_grep "$TMP/q1.out" running 10
wait_grep "$TMP/q2.out" running 10
as 60030 q3 "${long[@]}" --name q3
st=0
fe_wait "$pid_q3" || st=$?
check "a third VM of one uid is refused ($st)" grep -q "vms: uid [0-9]* holds 2, +1 is over its bound of 2 per uid" "$TMP/q3.err"

# --- SIGTERM with frontends running -------------------------------------
kill "$srv_pid"
st=0
wait "$srv_pid" || st=$?
srv_pid=""
check "the server exits clean on SIGTERM ($st)" test "$st" -eq 0
check "its log names each VM it ended" \
	test "$(grep -c "stop: ending vm" "$TMP/mmu-server.log")" -eq 3
for f in observer q1 q2; do
	eval "pid=\$pid_$f"
	st=0
	fe_wait "$pid" || st=$?
	check "$f exits with an error ($st)" test "$st" -ne 0
	check "$f says the server stopped" grep -q "mmu-server is stopping" "$TMP/$f.err"
done
check "no socket left behind" not test -e "$TMP/mmu.sock"
check "no admin socket left behind" not test -e "$TMP/admin.sock"
report
