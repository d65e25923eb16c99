#!/bin/bash
# test_virtd_fuzz.sh: libvirt.virtd_fuzz, kvmmu-virtd's procedures
# fuzzed through its sockets, as any client could call them, against a
# daemon that holds defined, running and transient domains whose VMs run
# through a real mmu-server.  Usage: test_virtd_fuzz.sh BIN_DIR GUEST_DIR
# SRC [asan|plain].  virtd_fuzz.py is the client (its docstring says what it sends and
# checks); afterwards this script asserts that kvmmu-virtd and mmu-server
# still run, that no VM name or UUID runs twice (mmuctl list), that virsh
# list and mmuctl list agree about what runs, and that the daemon's RSS
# grew by less than a bound.
#
# Environment:
#   KVMMU_VIRTD_FUZZ_SECONDS  how long to fuzz (default 25)
#   KVMMU_VIRTD_FUZZ_CALLS    at most this many calls (default 200000)
#   KVMMU_VIRTD_FUZZ_SEED     the PRNG's seed (default: a random one,
#                             printed); the same seed makes the same
#                             choices
#   KVMMU_VIRTD_FUZZ_REPLAY   a replay file a failed run saved: send its
#                             packets to a fresh daemon instead of fuzzing
#   KVMMU_VIRTD_FUZZ_OUT      where a failed run saves its replay file
#                             (default: the current directory)
#   KVMMU_VIRTD_FUZZ_RSS_MIB  the RSS growth allowed (default 64; 160
#                             under ASan, whose quarantine is capped at
#                             32 MiB here and whose shadow grows too)
# Trust: test code, run as root.
set -eu
BIN=$1 GUEST=$2 SRC=$3 SAN=${4:-plain}
TEST=libvirt.virtd_fuzz
. "$SRC/tests/libvirt/lib.sh"
require_kvm
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
for f in memtouch hello crash; do
	[ -r "$GUEST/$f.bin" ] || skip "$GUEST/$f.bin is not built"
done
setup
SECONDS_=${KVMMU_VIRTD_FUZZ_SECONDS:-25}
CALLS=${KVMMU_VIRTD_FUZZ_CALLS:-200000}
RSS_MIB=${KVMMU_VIRTD_FUZZ_RSS_MIB:-64}
if [ "$SAN" = asan ]; then
	RSS_MIB=${KVMMU_VIRTD_FUZZ_RSS_MIB:-160}
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32"
fi
OUT=${KVMMU_VIRTD_FUZZ_OUT:-$PWD}
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
MMUCTL=("$BIN/mmuctl" --socket "$TMP/admin.sock")

# The payloads, readable by every user wherever the build tree is.
mkdir "$TMP/guest"
cp "$GUEST"/memtouch.bin "$GUEST"/hello.bin "$GUEST"/crash.bin "$TMP/guest/"
chmod -R a+rX "$TMP/guest"

admin_server_start
virtd_start

# Every domain the fuzzer defines: memtouch running until stopped, on
# one page (little memory traffic), unless the fuzzing changes it.
cat >"$TMP/template.xml" <<XML
<domain type='kvm'>
  <name>@NAME@</name>
  @UUID@
  <metadata><kvmmu:zap-control xmlns:kvmmu='urn:kvmmu:domain:1' mode='all'/></metadata>
  <memory unit='MiB'>@MEM@</memory>
  <vcpu>@VCPUS@</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$TMP/guest/@KERNEL@</kernel>
  <cmdline>@CMDLINE@</cmdline></os>
  <devices><serial type='null'/></devices>
  @EXTRA@
</domain>
XML
# A file no reply may ever quote (the XML fuzzing names it as an
# external entity).
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/canary"

# The state of the daemon's process: running, a zombie, gone.
running() {
	[ -r "/proc/$1/stat" ] &&
		! awk '{sub(/.*\) /, ""); exit !($1 == "Z" || $1 == "X")}' \
			"/proc/$1/stat"
}
# How a process we started ended, once it did: into $ended (not in a
# subshell, which cannot wait for it).
how_ended() {
	local st=0
	wait "$1" 2>/dev/null || st=$?
	if [ "$st" -gt 128 ]; then
		ended="killed by signal $((st - 128)) ($(kill -l $((st - 128)) 2>/dev/null))"
	else
		ended="exit status $st"
	fi
}

seed=${KVMMU_VIRTD_FUZZ_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}
args=(--socket "$TMP/virtd-sock" --ro-socket "$TMP/virtd-sock-ro"
	--uri "$U" --rpcdefs "$SRC/kvmmu-virtd/rpcdefs.h"
	--template "$TMP/template.xml" --virtd-pid "$virtd_pid"
	--mmu-pid "$srv_pid" --admin "$TMP/admin.sock" --mmuctl "$BIN/mmuctl"
	--seed "$seed" --seconds "$SECONDS_" --calls "$CALLS"
	--log "$TMP/replay.jsonl" --rss-file "$TMP/rss" --canary "$TMP/canary")
command -v virsh >/dev/null && args+=(--virsh "$(command -v virsh)")
[ -n "${KVMMU_VIRTD_FUZZ_VERBOSE:-}" ] && args+=(--verbose)
if [ -n "${KVMMU_VIRTD_FUZZ_REPLAY:-}" ]; then
	check "replay of $KVMMU_VIRTD_FUZZ_REPLAY" /usr/bin/python3 \
		"$SRC/tests/libvirt/virtd_fuzz.py" "${args[@]}" \
		--replay "$(readlink -f "$KVMMU_VIRTD_FUZZ_REPLAY")"
else
	t0=$(date +%s%N)
	fuzz_ok=0
	/usr/bin/python3 "$SRC/tests/libvirt/virtd_fuzz.py" "${args[@]}" ||
		fuzz_ok=$?
	check "the fuzzer's checks held (seed $seed)" test "$fuzz_ok" -eq 0
	if [ "$fuzz_ok" -ne 0 ]; then
		keep="$OUT/virtd_fuzz-$seed.replay.jsonl"
		cp "$TMP/replay.jsonl" "$keep" 2>/dev/null ||
			keep="$TMP/replay.jsonl (lost: $OUT is not writable)"
		echo "$TEST: every packet sent is in $keep; replay them to a" \
			"fresh daemon: KVMMU_VIRTD_FUZZ_REPLAY=$keep ctest" \
			"-R '^libvirt\\.virtd_fuzz\$' --output-on-failure" >&2
	fi
	t1=$(date +%s%N)
	echo "$TEST: set-up, fuzzing and the fuzzer's checks took $(((t1 - t0) / 1000000)) ms"
fi

# The daemons survived.
san_report() { # LOG: prints where its first sanitizer report starts
	grep -n -m1 -E 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' \
		"$1" | cut -d: -f1
}
show_log() { # LOG: its sanitizer report where there is one, else its end
	local at
	at=$(san_report "$1")
	echo "$TEST: $(basename "$1")${at:+ from its sanitizer report}:" >&2
	if [ -n "$at" ]; then
		sed -n "$at,$((at + 40))p" "$1"
	else
		tail -n 15 "$1"
	fi | sed 's/^/  | /' >&2
}
virtd_up=0
if running "$virtd_pid"; then
	virtd_up=1
	check "kvmmu-virtd still runs" true
else
	how_ended "$virtd_pid"
	check "kvmmu-virtd still runs (it ended: $ended)" false
	show_log "$TMP/virtd.log"
fi
check "mmu-server still runs" running "$srv_pid"

# One truth: no VM twice, and virsh says what mmu-server runs.
# The VMs that run: mmuctl list's rows up to its first empty line.
vms() { "${MMUCTL[@]}" list | awk 'NR > 1 && !NF {exit} NR > 1 {print $2, $NF}'; }
no_dups() {
	local l
	l=$(vms) || return 1
	[ -z "$(echo "$l" | awk 'NF {print $1}' | sort | uniq -d)" ] &&
		[ -z "$(echo "$l" | awk 'NF {print $2}' | sort | uniq -d)" ] ||
		{ echo "$TEST: mmuctl list shows a VM twice:" >&2; echo "$l" >&2; return 1; }
}
agree() {
	local a b i
	for i in $(seq 40); do
		a=$(timeout 60 virsh -q -c "$U" list --name 2>&1 | sed '/^$/d' | sort) || a="virsh failed: $a"
		b=$(vms | awk '{print $1}' | sort)
		[ "$a" = "$b" ] && return 0
		sleep 0.25
	done
	echo "$TEST: virsh list: [$a]; mmuctl list: [$b]" >&2
	return 1
}
check "no VM name or UUID runs twice (mmuctl list)" no_dups
if [ "$virtd_up" = 1 ] && command -v virsh >/dev/null; then
	check "virsh list agrees with mmuctl list" agree
fi
if [ -s "$TMP/rss" ] && [ "$virtd_up" = 1 ]; then
	read -r rss0 _ _ <"$TMP/rss"
	rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$virtd_pid/status")
	check "kvmmu-virtd's RSS grew by less than $RSS_MIB MiB ($rss0 -> $rss1 KiB)" \
		test $((rss1 - rss0)) -lt $((RSS_MIB * 1024))
fi

# It stops cleanly (LeakSanitizer, in the sanitizer build, checks its
# exit); running VMs go on without it, as they should.
if [ "$virtd_up" = 1 ]; then
	kill -TERM "$virtd_pid"
	how_ended "$virtd_pid"
	check "kvmmu-virtd stops on SIGTERM with status 0 ($ended)" \
		test "$ended" = "exit status 0"
fi
for l in virtd mmu-server; do
	if [ -n "$(san_report "$TMP/$l.log")" ]; then
		check "$l.log has no sanitizer report" false
		[ "$l" = virtd ] && [ "$virtd_up" = 0 ] || show_log "$TMP/$l.log"
	fi
done

# The VMs go with the test: each frontend by the pid mmu-server names.
for p in $("${MMUCTL[@]}" list 2>/dev/null | awk 'NR > 1 && !NF {exit} NR > 1 {print $(NF-1)}'); do
	[[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -gt 1 ] && kill "$p" 2>/dev/null || :
done
report
