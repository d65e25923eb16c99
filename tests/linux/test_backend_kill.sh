#!/bin/bash
# test_backend_kill.sh: kvm.linux_backend_kill, a disk's back end killed
# under a Linux guest reading it, another VM beside it on the same server.
#
#   tests/linux/test_backend_kill.sh SRC_DIR BIN_DIR
#
# Two frontends on one mmu-server boot Debian's 6.12 kernel with
# root=/dev/vda from images of their own (tests/linux/disk/build.sh), and
# both read their disks in a loop (disk-init's kvmmu.loop); later a third
# VM with a shared directory (--fs) beside the bystander has its
# virtiofsd killed the same way, with the same outcome.  kill -9 of
# the victim's qemu-storage-daemon: its frontend says which disk, the
# back end's pid and "killed by signal 9", destroys its VM and exits 1
# (docs/running.md) within seconds; the server logs the VM's end in the
# same words, and mmuctl list names them as the ended VM's end_reason
# (in its table and in --json) while it lists the bystander as running.
# The bystander reads on, then is told
# (a line on its console) to stop, writes /hello and reboots: exit 0, the
# host reads its bytes.  The server carries on; afterwards no
# qemu-storage-daemon of the test runs, no private socket directory is
# left, no VM is on the server and its fds are at their baseline.
set -u
src=$1 bin=$2
cache=${KVMMU_VM_CACHE:-$src/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
deb=$(ls "$cache"/backports/linux-image-*.deb 2>/dev/null | head -1)
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.linux_backend_kill: /dev/kvm cannot be opened; needs KVM" \
		"(deploy/vm/run provides it)"
	exit 77
fi
for t in mke2fs debugfs /usr/bin/qemu-storage-daemon; do
	command -v "$t" >/dev/null ||
		{ echo "FAIL kvm.linux_backend_kill: no $t (deploy/install-deps.sh)"; exit 1; }
done
[ -r "$kernel" ] && [ -n "$deb" ] ||
	{ echo "FAIL kvm.linux_backend_kill: no kernel package in $cache/backports"; exit 1; }
# Short: the frontend takes a TMPDIR under 32 bytes for its socket
# directories, which the test then finds there.
dir=$(mktemp -d /tmp/kvmmu-bk.XXXXXX)
chmod 755 "$dir"
export TMPDIR=$dir
srv="" victim="" bystander="" fsvictim=""
fails=0 passes=0
cleanup() {
	for p in $victim $bystander $fsvictim; do kill -INT "$p" 2>/dev/null && wait "$p"; done
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv"
	rm -rf "$dir"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}
has() { grep -qF -- "$2" "$1"; }
not_has() { ! has "$@"; }
# wait_line NAME TEXT PID: until NAME's console shows TEXT (300 s at most).
wait_line() {
	local i
	for i in $(seq 3000); do
		has "$dir/$1.out" "$2" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

"$src/tests/linux/disk/build.sh" "$src" "$deb" "$dir" || exit 1
mv "$dir/root.raw" "$dir/victim.raw"
cp "$dir/victim.raw" "$dir/bystander.raw"
cp "$dir/victim.raw" "$dir/fsvictim.raw"
chmod 666 "$dir"/*.raw
# The share the third VM's virtiofsd serves, as the VM's user (nobody).
mkdir -m 0777 "$dir/share"

"$bin/mmu-server" -d --socket "$dir/mmu.sock" --admin-socket "$dir/admin.sock" \
	2>"$dir/server.log" &
srv=$!
for _ in $(seq 200); do [ -S "$dir/admin.sock" ] && break; sleep 0.05; done
fds() { ls "/proc/$srv/fd" | wc -l; }
# The VMs that run: mmuctl list's rows up to its first empty line.
vms() { "$bin/mmuctl" --socket "$dir/admin.sock" list | sed '/^$/q' | grep -c ' running\| paused' || :; }
qsds() { pgrep -f "^/usr/bin/qemu-storage-daemon .*$dir/" || :; }
base=$(fds)

# boot NAME MODE [MSG [FLAG...]]: a frontend in the background, its pid
# in $pid; its console input from NAME.in (a FIFO the test keeps open).
boot() {
	local name=$1 mode=$2 msg=${3:-}
	shift $(($# < 3 ? $# : 3))
	mkfifo "$dir/$name.in"
	exec {fd}<>"$dir/$name.in"
	"$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" \
		--initrd "$dir/initrd" --memory 256 --name "$name" \
		--disk "$dir/$name.raw" "$@" \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly root=/dev/vda rw kvmmu.loop=$mode kvmmu.msg=$msg" \
		--timeout 600 --json <"$dir/$name.in" >"$dir/$name.out" 2>"$dir/$name.err" &
	pid=$!
}
show() {
	echo "-- $1:"
	grep -a 'kvmmu-guest:' "$dir/$1.out" | cut -c1-200
	grep -a '"vm"' "$dir/$1.out" | cut -c1-200
	cat "$dir/$1.err"
}

boot victim forever
victim=$pid
boot bystander line hello-bystander-27e1
bystander=$pid
bystander_in=$fd
check "the victim reads its disk in a loop" \
	wait_line victim "kvmmu-guest: reading in a loop" "$victim"
check "so does the bystander" \
	wait_line bystander "kvmmu-guest: reading in a loop" "$bystander"
qsd=$(pgrep -f "^/usr/bin/qemu-storage-daemon .*$dir/victim.raw")
check "the victim's qemu-storage-daemon found ($qsd)" test -n "$qsd"
sleep 1
t0=$(date +%s)
kill -9 "$qsd"
st=0
wait "$victim" || st=$?
victim=""
took=$(($(date +%s) - t0))
show victim
check "the victim's frontend exits 1 (got $st)" test "$st" -eq 1
check "within seconds ($took s)" test "$took" -lt 20
check "it names the disk, the back end and how it ended" has "$dir/victim.err" \
	"vmm-frontend: vda: its back end (qemu-storage-daemon pid $qsd, image $dir/victim.raw) killed by signal 9 (Killed): ending the VM"
check "the server carries on" kill -0 "$srv"
why="vda: its back end (qemu-storage-daemon pid $qsd, image $dir/victim.raw) killed by signal 9 (Killed)"
check "the server ended the victim's VM, saying why" \
	grep -qF "'victim' destroyed: ended by its frontend: $why" "$dir/server.log"
check "the bystander runs on" eval 'kill -0 $bystander && [ "$(vms)" -eq 1 ]'
"$bin/mmuctl" --socket "$dir/admin.sock" list >"$dir/list.out"
"$bin/mmuctl" --socket "$dir/admin.sock" --json list >"$dir/list.json"
cat "$dir/list.out"
# listed NAME STATE [END_REASON]: a row of list.out's running VMs, or
# with END_REASON of its "recently ended:", is NAME in STATE, so.
listed() {
	awk -v n="$1" -v s="$2" -v w="${3:-}" '
		/^recently ended:$/ { gone = 1; next }
		$2 != n || $3 != s { next }
		w == "" && !gone { ok = 1 }
		w != "" && gone && substr($0, length($0) - length(w) + 1) == w { ok = 1 }
		END { exit !ok }' "$dir/list.out"
}
check "mmuctl list: the bystander is listed running" listed bystander running
check "mmuctl list: the victim ended, its end_reason naming the back end" \
	listed victim ended "ended by its frontend: $why"
check "mmuctl --json list: the same end_reason, the bystander running" \
	/usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
ended = [v for v in r.get("ended", []) if v["name"] == "victim"]
assert len(ended) == 1 and ended[0]["state"] == "ended", ended
assert ended[0]["end_reason"] == "ended by its frontend: " + sys.argv[2], ended
assert not any(v["name"] == "victim" for v in r.get("destroyed", [])), r
assert [(v["name"], v["state"]) for v in r.get("vms", [])] == [("bystander", "running")], r' \
	"$dir/list.json" "$why"

# A shared directory's back end killed the same way: a third VM, whose
# virtiofsd (the frontend's child) is killed while its guest reads its
# disk; the bystander still waits for its line meanwhile.
vfsds() { pgrep -f "^/usr/lib/qemu/virtiofsd .*source=$dir/share" || :; }
boot fsvictim forever "" --fs "$dir/share,tag=hostshare"
fsvictim=$pid
check "the third VM, with a share, reads its disk in a loop" \
	wait_line fsvictim "kvmmu-guest: reading in a loop" "$fsvictim"
vfsd=$(pgrep -P "$fsvictim" -f '^/usr/lib/qemu/virtiofsd ')
check "its virtiofsd found, the frontend's child ($vfsd)" test -n "$vfsd"
kill -9 "$vfsd"
st=0
wait "$fsvictim" || st=$?
fsvictim=""
show fsvictim
why="fs hostshare: its back end (virtiofsd pid $vfsd, directory $dir/share) killed by signal 9 (Killed)"
check "its frontend exits 1 (got $st)" test "$st" -eq 1
check "it names the share, the back end and how it ended" \
	has "$dir/fsvictim.err" "vmm-frontend: $why: ending the VM"
check "the server ended its VM, saying why" \
	grep -qF "'fsvictim' destroyed: ended by its frontend: $why" "$dir/server.log"
"$bin/mmuctl" --socket "$dir/admin.sock" list >"$dir/list.out"
cat "$dir/list.out"
check "mmuctl list: it ended, its end_reason naming virtiofsd" \
	listed fsvictim ended "ended by its frontend: $why"
check "mmuctl list: the bystander still runs" listed bystander running
check "no virtiofsd left ($(vfsds | tr '\n' ' '))" test -z "$(vfsds)"
check "no share socket directory left" \
	test -z "$(find "$dir" -mindepth 1 -maxdepth 1 -name 'kvmmu-fs.*')"

sleep 2
echo go >&"$bystander_in"
check "the bystander read on to the end" \
	wait_line bystander "kvmmu-guest: reads done" "$bystander"
st=0
wait "$bystander" || st=$?
bystander=""
show bystander
check "the bystander finishes normally: exit 0 (got $st)" test "$st" -eq 0
check "  it wrote /hello" has "$dir/bystander.out" "kvmmu-guest: wrote /hello"
check "  the host reads its bytes" \
	test "$(debugfs -R 'cat /hello' "$dir/bystander.raw" 2>/dev/null)" = hello-bystander-27e1
check "  no read failed" not_has "$dir/bystander.out" "kvmmu-guest: read failed"
check "no qemu-storage-daemon left ($(qsds | tr '\n' ' '))" test -z "$(qsds)"
check "no socket directory left" \
	test -z "$(find "$dir" -mindepth 1 -maxdepth 1 -name 'kvmmu-disk.*')"
check "no VM on the server, its fds at their baseline ($(fds), $base)" \
	eval '[ "$(vms)" -eq 0 ] && [ "$(fds)" -eq "$base" ]'
check "the server is still up" kill -0 "$srv"
echo "test_backend_kill: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
