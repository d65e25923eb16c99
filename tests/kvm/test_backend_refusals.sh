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
# (that back end stopped again); a qcow2 whose backing file is missing,
# a directory, or down a loop.  After each: no qemu-storage-daemon or
# virtiofsd of this test, no private socket directory, no VM on the
# server and its fds back to their baseline.
#
# Then the back ends' confinement (jail.c), seen from the host through
# /proc: qemu-storage-daemon's root holds only /usr, the host's /bin,
# /lib ... links, three device nodes and the paths to its image, its
# backing file and its socket directory (not a file beside the image,
# nor /etc), read-only where it should be, with no_new_privs, nobody's
# uid in an identity-mapped user namespace and no capability; nothing
# mounted on the host.  virtiofsd runs as nobody on the host (uid 0
# only in its namespace) and its root is the shared directory.  The
# same from a frontend started as nobody (with a supplementary group).
# Under nouserns (user namespaces forbidden by seccomp): a disk's back
# end runs unconfined, said in exactly one line, and --fs is refused in
# one line.  Needs root: back ends run as the frontend's --user
# (nobody), and a frontend is started as nobody.
set -u
bin=$1 guest=$2
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.backend_refusals: /dev/kvm cannot be opened; needs KVM"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP kvm.backend_refusals: needs root (back ends run as the" \
		"frontend's --user, and a frontend is started as nobody)"
	exit 77
fi
for t in /usr/bin/qemu-storage-daemon /usr/lib/qemu/virtiofsd qemu-img setpriv; do
	command -v "$t" >/dev/null || { echo "FAIL kvm.backend_refusals: no $t (deploy/install-deps.sh)"; exit 1; }
done
# Short: the frontend makes its private socket directories under TMPDIR,
# which it takes only under 32 bytes.
# Sticky and open to all: a frontend started as nobody makes its
# socket directories here too.
dir=$(mktemp -d /tmp/kvmmu-br.XXXXXX)
chmod 1777 "$dir"
export TMPDIR=$dir
# The payloads, where a frontend started as nobody can read them (a
# clone in a 0700 directory, as CI's, is root's alone).
cp "$guest/memtouch.bin" "$guest/hello.bin" "$dir/"
chmod 644 "$dir/memtouch.bin" "$dir/hello.bin"
guest=$dir
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

# nogroup may connect: the frontend started as nobody.
"$bin/mmu-server" -d --socket "$dir/mmu.sock" --admin-socket "$dir/admin.sock" \
	--socket-group nogroup 2>"$dir/server.log" &
srv=$!
wait_for '[ -S "$dir/admin.sock" ] || ! kill -0 $srv' 30
fds() { ls "/proc/$srv/fd" | wc -l; }
# fds_are N: the server holds N fds, within 5 s: an mmuctl call's
# connection (vms) can hold one a moment after mmuctl has exited.
fds_are() { wait_for "[ \"\$(fds)\" -eq $1 ]" 5; }
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
# qcow2 images whose backing file is missing, a directory, or a loop.
qemu-img create -q -f raw "$dir/gone.raw" 1M
qemu-img create -q -f qcow2 -b gone.raw -F raw "$dir/orphan.qcow2"
rm "$dir/gone.raw"
qemu-img create -q -f qcow2 -u -b share -F raw "$dir/ondir.qcow2" 1M
qemu-img create -q -f qcow2 -u -b loop2.qcow2 -F qcow2 "$dir/loop1.qcow2" 1M
qemu-img create -q -f qcow2 -u -b loop1.qcow2 -F qcow2 "$dir/loop2.qcow2" 1M
chmod 666 "$dir"/*.qcow2
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$dir/dead.sock"
# A frontend (an array, not a function: one in the background is then
# the frontend itself, whose pid the test signals).
fe=("$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/memtouch.bin"
	--memory 16 --machine pc)

# refused WANT MESSAGE FLAGS...: the frontend exits WANT saying MESSAGE,
# and nothing is left behind.  It runs under the command pre, if any.
pre=()
refused() {
	local want=$1 msg=$2 st=0
	shift 2
	"${pre[@]}" "${fe[@]}" --name refused "$@" </dev/null >"$dir/refused.out" 2>&1 || st=$?
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

refused 1 "vda: --disk $dir/orphan.qcow2: backing file $dir/gone.raw (named by $dir/orphan.qcow2): No such file or directory" \
	--disk "$dir/orphan.qcow2,format=qcow2"
refused 1 "backing file $dir/share (named by $dir/ondir.qcow2): not a regular file" \
	--disk "$dir/ondir.qcow2,format=qcow2"
refused 1 "a backing chain deeper than 16 files (a loop?)" \
	--disk "$dir/loop1.qcow2,format=qcow2"

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
inuse=$(fds) # before vms: see fds_are
check "the first VM runs with the image" test "$(vms)" -eq 1
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
check "server fds as with the first alone ($(fds), $inuse)" fds_are "$inuse"
kill -TERM "$fp"
st=0
wait "$fp" || st=$?
fp=""
check "the first stopped by SIGTERM: 143 ($st)" test "$st" -eq 143
check "its back end is gone" wait_for '[ -z "$(backends)" ]' 10
check "no VM, server fds at their baseline ($(fds), $base)" \
	eval '[ "$(vms)" -eq 0 ] && fds_are "$base"'

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
# bg NAME FLAGS...: a frontend on a guest that runs until stopped, its
# pid in fp once it runs; under the command "as", if any.
as=()
bg() {
	local name=$1
	shift
	"${as[@]}" "${fe[@]}" --name "$name" --cmdline passes=1000000000 "$@" \
		</dev/null >"$dir/$name.out" 2>"$dir/$name.err" &
	fp=$!
	wait_for 'grep -qs running "$dir/$name.out" || ! kill -0 $fp' 30
	sed 's/^/    /' "$dir/$name.err"
}
bg_stop() {
	kill -INT "$fp"
	wait "$fp"
	fp=""
}
field() { awk -v f="$1:" '$1 == f { $1 = ""; print substr($0, 2) }' "/proc/$2/status"; }
idmap() { awk '{ print $1, $2, $3 }' "/proc/$1/$2"; }
# mnt PID PATH: the options of the mount at PATH in PID's namespace.
mnt() { awk -v p="$2" '$5 == p { print $6 }' "/proc/$1/mountinfo"; }
nobody=$(id -u nobody)
nogroup=$(id -g nobody)
# What a disk's back end may see at its root: the host's /bin, /lib, ...
# (links or directories), /usr, /dev and the top of this test's paths.
want_root=$({
	for n in bin sbin lib lib32 lib64 libx32; do
		[ -e "/$n" ] || [ -L "/$n" ] && echo "$n"
	done
	printf 'dev\nusr\n%s\n' "$(echo "$dir" | cut -d/ -f2)"
} | sort -u | tr '\n' ' ')
mkdir -m 755 "$dir/img" "$dir/sh"
truncate -s 16M "$dir/img/c.raw"
echo secret >"$dir/img/beside"
qemu-img create -q -f raw "$dir/img/base.raw" 16M
qemu-img create -q -f qcow2 -b base.raw -F raw "$dir/img/over.qcow2"
chmod 666 "$dir"/img/*.raw "$dir"/img/*.qcow2
echo hello >"$dir/sh/from-host"
# The share is the VM's user's, as its images are.
chown nobody:nogroup "$dir/sh"

# jailed WHO: the back ends of a frontend (WHO) with a disk, a qcow2
# disk read-only on a backing file, and a share, seen from the host.
jailed() {
	local who=$1 q v mounts
	mounts=$(wc -l </proc/self/mountinfo)
	bg "jailed-$who" --disk "$dir/img/c.raw" \
		--disk "$dir/img/over.qcow2,format=qcow2,readonly" --fs "$dir/sh,tag=s"
	check "$who: the VM runs" grep -q running "$dir/jailed-$who.out"
	check "$who: nothing said on stderr" eval '! grep -v "^vmm-frontend: sanitizer build" "$dir/jailed-$who.err" | grep -q .'
	q=$(pgrep -f "^/usr/bin/qemu-storage-daemon .*filename=$dir/img/c.raw")
	echo "    qemu-storage-daemon $q: / holds $(ls -A "/proc/$q/root" | tr '\n' ' '); uid" \
		"$(field Uid "$q"), uid_map $(idmap "$q" uid_map), NoNewPrivs" \
		"$(field NoNewPrivs "$q"), CapBnd $(field CapBnd "$q")"
	check "$who: qemu-storage-daemon's root holds only $want_root($(ls -A "/proc/$q/root" | tr '\n' ' '))" \
		test "$(ls -A "/proc/$q/root" | sort | tr '\n' ' ')" = "$want_root"
	check "$who:   its image, at its own path" test -f "/proc/$q/root$dir/img/c.raw"
	check "$who:   not a file beside it" test ! -e "/proc/$q/root$dir/img/beside"
	check "$who:   not the other disk's image, nor /etc/passwd, nor /proc" \
		eval '! [ -e "/proc/$q/root$dir/img/over.qcow2" ] &&
		      ! [ -e "/proc/$q/root/etc/passwd" ] && ! [ -e "/proc/$q/root/proc/self" ]'
	check "$who:   /dev: null urandom zero" \
		test "$(ls "/proc/$q/root/dev" | tr '\n' ' ')" = "null urandom zero "
	check "$who:   its image read-write, /usr read-only ($(mnt "$q" "$dir/img/c.raw"), $(mnt "$q" /usr))" \
		eval '[[ $(mnt "$q" "$dir/img/c.raw") == rw,* ]] && [[ $(mnt "$q" /usr) == ro,* ]]'
	check "$who:   uid $nobody, no_new_privs, no capability ($(field Uid "$q"); $(field NoNewPrivs "$q"); $(field CapEff "$q"), bounding $(field CapBnd "$q"))" \
		eval '[ "$(field Uid "$q")" = "$nobody $nobody $nobody $nobody" ] &&
		      [ "$(field NoNewPrivs "$q")" = 1 ] &&
		      [ "$(field CapEff "$q")" = 0000000000000000 ] &&
		      [ "$(field CapBnd "$q")" = 0000000000000000 ]'
	check "$who:   a user namespace mapping only its own uid and gid ($(idmap "$q" uid_map); $(idmap "$q" gid_map))" \
		eval '[ "$(idmap "$q" uid_map)" = "$nobody $nobody 1" ] &&
		      [ "$(idmap "$q" gid_map)" = "$nogroup $nogroup 1" ]'
	q=$(pgrep -f "^/usr/bin/qemu-storage-daemon .*filename=$dir/img/over.qcow2")
	check "$who: the qcow2's back end has its backing file open ($(ls -l "/proc/$q/fd" | grep -c base.raw))" \
		eval 'ls -l "/proc/$q/fd" | grep -q "$dir/img/base.raw"'
	check "$who:   both read-only ($(mnt "$q" "$dir/img/over.qcow2"), $(mnt "$q" "$dir/img/base.raw"))" \
		eval '[[ $(mnt "$q" "$dir/img/over.qcow2") == ro,* ]] && [[ $(mnt "$q" "$dir/img/base.raw") == ro,* ]]'
	check "$who:   not c.raw" test ! -e "/proc/$q/root$dir/img/c.raw"
	for v in $(pgrep -f "^/usr/lib/qemu/virtiofsd .*source=$dir/sh "); do
		echo "    virtiofsd $v: / holds $(ls -A "/proc/$v/root" | tr '\n' ' ');" \
			"uid $(field Uid "$v"), uid_map $(idmap "$v" uid_map)"
		check "$who: virtiofsd $v runs as nobody on the host ($(field Uid "$v"))" \
			test "$(field Uid "$v")" = "$nobody $nobody $nobody $nobody"
		check "$who:   uid and gid 0 in its namespace are nobody's ($(idmap "$v" uid_map); $(idmap "$v" gid_map))" \
			eval '[ "$(idmap "$v" uid_map)" = "0 $nobody 1" ] &&
			      [ "$(idmap "$v" gid_map)" = "0 $nogroup 1" ]'
		check "$who:   its root is the share ($(ls -A "/proc/$v/root" | tr '\n' ' '))" \
			test "$(ls -A "/proc/$v/root")" = from-host
		check "$who:   no_new_privs" test "$(field NoNewPrivs "$v")" = 1
	done
	check "$who: two virtiofsd processes checked (its own, and its pid namespace's)" \
		test "$(pgrep -fc "^/usr/lib/qemu/virtiofsd .*source=$dir/sh ")" -eq 2
	check "$who: nothing mounted on the host ($(wc -l </proc/self/mountinfo), $mounts)" \
		test "$(wc -l </proc/self/mountinfo)" -eq "$mounts"
	check "$who: no socket directory left once connected" test "$(socket_dirs)" -eq 0
	bg_stop
	check "$who: its back ends are gone" wait_for '[ -z "$(backends)" ]' 10
}
echo "== what the back ends see, from a frontend started as root"
jailed root
echo "== ... and from one started as nobody, with a supplementary group"
as=(setpriv --reuid=nobody --regid=nogroup --groups=nogroup)
jailed nobody
as=()

echo "== a host that forbids user namespaces ($bin/nouserns)"
"$bin/nouserns" "$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/hello.bin" \
	--memory 16 --machine pc --disk "$dir/a.img" -q </dev/null >"$dir/nons.out" 2>"$dir/nons.err"
st=$?
sed 's/^/    /' "$dir/nons.err"
check "a disk's VM runs: exit 0 ($st)" test "$st" -eq 0
check "  its back end unconfined, said in exactly one line" \
	test "$(grep -v "^vmm-frontend: sanitizer build" "$dir/nons.err")" = \
	"vmm-frontend: vda: qemu-storage-daemon runs unconfined: a user namespace: Operation not permitted"
check "  and the guest ran" grep -q "Hello from a CPL3 guest" "$dir/nons.out"
pre=("$bin/nouserns")
created=$(created)
refused 1 "vmm-frontend: fs s: virtiofsd not started: a user namespace: Operation not permitted (this host forbids user namespaces, and it runs in one; --vhost-user-fs takes a virtiofsd you run)" \
	--fs "$dir/sh,tag=s"
check "  in one line" test "$(wc -l <"$dir/refused.out")" -eq 1
pre=()

check "the server is still up" kill -0 "$srv"
echo "test_backend_refusals: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
