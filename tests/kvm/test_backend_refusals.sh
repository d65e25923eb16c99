#!/bin/bash
# test_backend_refusals.sh BIN_DIR GUEST_DIR: kvm.backend_refusals, bad
# disks and shared directories through the frontend's flags, each a clear
# error at start with nothing started or left behind (issue 21, item 5).
#
# A payload guest on the pc machine (no Linux needed: the device is never
# reached).  Refused, with the status and message of docs/running.md: a
# missing image, an image another VM has open for writing (a second
# frontend on the first one's image, the first running on), a directory
# that does not exist (--fs), a socket nothing listens on
# (--vhost-user-blk, --vhost-user-fs), two disks with one target; and
# refusals of a second device after a first one's back end has started
# (that back end stopped again).  After each: no qemu-storage-daemon or
# virtiofsd of this test, no private socket directory, no VM on the
# server and its fds back to their baseline.  Needs root (--fs does).
set -u
bin=$1 guest=$2
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.backend_refusals: /dev/kvm cannot be opened; needs KVM"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP kvm.backend_refusals: needs root (--fs starts virtiofsd," \
		"and back ends run as the frontend's --user)"
	exit 77
fi
for t in /usr/bin/qemu-storage-daemon /usr/lib/qemu/virtiofsd; do
	[ -x "$t" ] || { echo "FAIL kvm.backend_refusals: no $t (deploy/install-deps.sh)"; exit 1; }
done
# Short: the frontend makes its private socket directories under TMPDIR,
# which it takes only under 32 bytes.
dir=$(mktemp -d /tmp/kvmmu-br.XXXXXX)
chmod 755 "$dir"
export TMPDIR=$dir
srv="" fp=""
cleanup() {
	[ -n "$fp" ] && kill -INT "$fp" 2>/dev/null && wait "$fp"
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv"
	rm -rf "$dir"
}
trap cleanup EXIT
passed=0 failed=0
check() {
	local what=$1
	shift
	if "$@"; then passed=$((passed + 1)); else
		failed=$((failed + 1))
		echo "FAIL: $what"
	fi
}
has() { grep -qF -- "$2" "$1"; }
wait_for() { # TEST SECONDS
	local _i
	for _i in $(seq $(($2 * 20))); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

"$bin/mmu-server" -d --socket "$dir/mmu.sock" --admin-socket "$dir/admin.sock" \
	2>"$dir/server.log" &
srv=$!
wait_for '[ -S "$dir/admin.sock" ] || ! kill -0 $srv' 30
fds() { ls "/proc/$srv/fd" | wc -l; }
# The VMs that run: mmuctl list's rows up to its first empty line.
vms() { "$bin/mmuctl" --socket "$dir/admin.sock" list | sed '/^$/q' | grep -c ' running\| paused' || :; }
backends() { pgrep -f "^/usr/(bin/qemu-storage-daemon|lib/qemu/virtiofsd) .*$dir/" || :; }
socket_dirs() { find "$dir" -mindepth 1 -maxdepth 1 -name 'kvmmu-*' | wc -l; }
# VMs the server has created, from its log.
created() { grep -c "rpc_create_vm: vm " "$dir/server.log"; }
base=$(fds)
created=$(created)

mkdir -p "$dir/share"
truncate -s 16M "$dir/a.img" "$dir/b.img"
chmod 666 "$dir"/*.img
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$dir/dead.sock"
# A frontend (an array, not a function: one in the background is then
# the frontend itself, whose pid the test signals).
fe=("$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/memtouch.bin"
	--memory 16 --machine pc)

# refused WANT MESSAGE FLAGS...: the frontend exits WANT saying MESSAGE,
# and nothing is left behind.
refused() {
	local want=$1 msg=$2 st=0
	shift 2
	"${fe[@]}" --name refused "$@" </dev/null >"$dir/refused.out" 2>&1 || st=$?
	sed 's/^/    /' "$dir/refused.out"
	check "$*: status $want (got $st)" test "$st" -eq "$want"
	check "$*: says '$msg'" has "$dir/refused.out" "$msg"
	check "$*: no back end left ($(backends | tr '\n' ' '))" test -z "$(backends)"
	check "$*: no socket directory left" test "$(socket_dirs)" -eq 0
	check "$*: no VM created" test "$(created)" -eq "$created"
	check "$*: server fds at their baseline ($(fds), $base)" test "$(fds)" -eq "$base"
}

echo "== bad input, before anything starts"
refused 1 "vda: --disk $dir/none.img: No such file or directory" \
	--disk "$dir/none.img"
refused 2 "two disks with target vda" \
	--disk "$dir/a.img,target=vda" --disk "$dir/b.img,target=vda"
refused 2 "--fs $dir/none: No such file or directory" --fs "$dir/none,tag=t"
refused 1 "$dir/dead.sock: Connection refused (no vhost-user back end listens there)" \
	--vhost-user-blk "$dir/dead.sock"
refused 1 "$dir/dead.sock: Connection refused (no vhost-user back end listens there)" \
	--vhost-user-fs "$dir/dead.sock,tag=t"
refused 1 "$dir/none.sock: No such file or directory (no vhost-user back end listens there)" \
	--vhost-user-blk "$dir/none.sock"

echo "== a second device refused after the first one's back end started"
refused 1 "vdb: --disk $dir/none.img: No such file or directory" \
	--disk "$dir/a.img" --disk "$dir/none.img"
refused 1 "no vhost-user back end listens there" \
	--disk "$dir/a.img" --vhost-user-blk "$dir/dead.sock,target=vdb"
refused 1 "no vhost-user back end listens there" \
	--disk "$dir/a.img" --fs "$dir/share,tag=s" --vhost-user-fs "$dir/dead.sock,tag=t"

echo "== an image another VM has open for writing"
"${fe[@]}" --name first --disk "$dir/a.img" --cmdline passes=1000000000 </dev/null \
	>"$dir/first.out" 2>"$dir/first.err" &
fp=$!
wait_for 'grep -q running "$dir/first.out" || ! kill -0 $fp' 30
check "the first VM runs with the image" test "$(vms)" -eq 1
inuse=$(fds)
created=$(created)
"${fe[@]}" --name second --disk "$dir/a.img" </dev/null >"$dir/second.out" 2>&1
st=$?
sed 's/^/    /' "$dir/second.out"
check "the second frontend: status 1 (got $st)" test "$st" -eq 1
check "it names the lock" has "$dir/second.out" 'Failed to get "write" lock'
check "and says why" has "$dir/second.out" \
	"vda: qemu-storage-daemon for $dir/a.img exited with status 1 before it listened"
"${fe[@]}" --name third --disk "$dir/a.img,readonly" </dev/null >"$dir/third.out" 2>&1
st=$?
sed 's/^/    /' "$dir/third.out"
check "the same image readonly: status 1 (got $st)" test "$st" -eq 1
check "it names the lock" has "$dir/third.out" \
	"vda: $dir/a.img: its write lock is held by another process (another VM or program has the image open for writing)"
check "no VM created for them" test "$(created)" -eq "$created"
check "only the first's back end runs" test "$(backends | wc -l)" -eq 1
check "the first VM runs on" eval 'kill -0 $fp && [ "$(vms)" -eq 1 ]'
check "server fds as with the first alone ($(fds), $inuse)" test "$(fds)" -eq "$inuse"
kill -TERM "$fp"
st=0
wait "$fp" || st=$?
fp=""
check "the first stopped by SIGTERM: 143 ($st)" test "$st" -eq 143
check "its back end is gone" wait_for '[ -z "$(backends)" ]' 10
check "no VM, server fds at their baseline ($(fds), $base)" \
	eval '[ "$(vms)" -eq 0 ] && [ "$(fds)" -eq "$base" ]'

echo "== an image another VM has open read-only"
"${fe[@]}" --name reader --disk "$dir/b.img,readonly" --cmdline passes=1000000000 </dev/null \
	>"$dir/reader.out" 2>"$dir/reader.err" &
fp=$!
wait_for 'grep -q running "$dir/reader.out" || ! kill -0 $fp' 30
"${fe[@]}" --name writer --disk "$dir/b.img" </dev/null >"$dir/writer.out" 2>&1
st=$?
sed 's/^/    /' "$dir/writer.out"
check "a writer: status 1 (got $st), naming the lock" \
	eval '[ "$st" -eq 1 ] && has "$dir/writer.out" "Failed to get \"write\" lock"'
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/hello.bin" \
	--memory 16 --machine pc --disk "$dir/b.img,readonly" -q >"$dir/hello.out" 2>&1
st=$?
check "a second reader runs beside it, exit 0 ($st)" test "$st" -eq 0
kill -INT "$fp"
wait "$fp"
fp=""
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/hello.bin" \
	--memory 16 --machine pc --disk "$dir/a.img" --disk "$dir/b.img" -q \
	>"$dir/hello.out" 2>&1
st=$?
check "the images are free again: a writer of both exits 0 ($st)" test "$st" -eq 0
check "nothing left behind" \
	eval '[ -z "$(backends)" ] && [ "$(socket_dirs)" -eq 0 ] && [ "$(fds)" -eq "$base" ]'
check "the server is still up" kill -0 "$srv"
echo "test_backend_refusals: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
