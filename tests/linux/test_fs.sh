#!/bin/bash
# test_fs.sh: kvm.linux_fs, a host directory shared with Debian's 6.12
# kernel as virtio-fs, served by virtiofsd.
#
#   tests/linux/test_fs.sh SRC_DIR BIN_DIR
#
# The guest (tests/linux/fs/init, an initramfs; virtiofs is built into
# Debian's kernel) mounts the tag, reads a file the host wrote (its MD5
# must be the host's), writes one the host then reads (exact bytes),
# does 2000 direct reads and 500 direct writes, and reboots: exit 0.
# Once with --fs (the frontend starts virtiofsd), once with
# --vhost-user-fs (a virtiofsd this script runs).  The exits that
# reached the frontend at the share during the file I/O (a run's minus
# those of a run that does none, the same boot, probe and mount) must
# be under 1/20 of the requests.  Bad input is refused before anything
# starts.
#
# The frontend's virtiofsd runs as the VM's user, root only in a user
# namespace of its own: the share is that user's (nobody's here), and
# what the guest writes is too.  --fs runs from a frontend started as
# root (it drops to nobody) and from one started as nobody, with a
# supplementary group (which virtiofsd cannot drop there).  With
# kvmmu.uids=1 the guest says what it sees of owners and what uid 1000
# (unmapped in virtiofsd's namespace) can do.
set -u
src=$1 bin=$2
cache=${KVMMU_VM_CACHE:-$src/build/vm}
kernel=${KVMMU_LINUX_KERNEL:-$cache/backports/vmlinuz}
vfsd=/usr/lib/qemu/virtiofsd
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP kvm.linux_fs: /dev/kvm cannot be opened; needs KVM" \
		"(deploy/vm/run provides it)"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP kvm.linux_fs: needs root (frontends started as root and" \
		"as nobody, an operator's virtiofsd as root)"
	exit 77
fi
[ -x "$vfsd" ] || { echo "FAIL kvm.linux_fs: no $vfsd (deploy/install-deps.sh)"; exit 1; }
[ -r "$kernel" ] || { echo "FAIL kvm.linux_fs: no kernel at $kernel"; exit 1; }
dir=$(mktemp -d /tmp/kvmmu-fs-test.XXXXXX)
chmod 755 "$dir"
srv="" op=""
fails=0 passes=0
cleanup() {
	[ -n "$op" ] && kill "$op" 2>/dev/null && wait "$op"
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

# The initramfs: busybox and the test's init.
mkdir -p "$dir/ird/bin" "$dir/ird/dev" "$dir/ird/proc" "$dir/ird/sys"
bb=$(command -v busybox)
cp "$bb" "$dir/ird/bin/busybox"
# Relative links: busybox --install -s would point at the host's path.
for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/ird/bin/$a"; done
cp "$src/tests/linux/fs/init" "$dir/ird/init"
chmod 755 "$dir/ird/init"
(cd "$dir/ird" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$dir/initrd"

# nogroup may connect: the frontend started as nobody.
"$bin/mmu-server" -d --socket "$dir/mmu.sock" --socket-group nogroup \
	2>"$dir/server.log" &
srv=$!
for _ in $(seq 100); do [ -S "$dir/mmu.sock" ] && break; sleep 0.05; done
# AS: "" (root, which drops to nobody) or a command that runs as nobody.
as=""
fe() { $as "$bin/vmm-frontend" --socket "$dir/mmu.sock" --kernel "$kernel" "$@"; }

# Refused before anything starts: status 2 (or 1 for a socket), a
# message that says why, no virtiofsd left.
mkdir -p "$dir/a" "$dir/b"
refused() {
	local want=$1 msg=$2
	shift 2
	fe "$@" </dev/null >"$dir/refused.out" 2>&1 &
	local p=$!
	wait "$p"
	local c=$?
	check "refused ($*): status $want (got $c)" test "$c" -eq "$want"
	check "refused ($*): says '$msg'" has "$dir/refused.out" "$msg"
}
refused 2 "No such file or directory" --fs "$dir/none,tag=x"
refused 2 "not a directory" --fs "$dir/initrd,tag=x"
refused 2 "tag 'x' is already" --fs "$dir/a,tag=x" --fs "$dir/b,tag=x"
refused 2 "1 to 36 of" --fs "$dir/a,tag=$(printf 'x%.0s' $(seq 37))"
refused 2 "not DIR,tag=TAG" --fs "$dir/a"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$dir/dead.sock"
refused 1 "no vhost-user back end listens there" --fs "$dir/a,tag=a" --vhost-user-fs "$dir/dead.sock,tag=b"
check "no virtiofsd left after a refusal" test "$(pgrep -f "$vfsd.*$dir" | wc -l)" -eq 0

# boot NAME SHARE-FLAG ARG TAG MSG SHARE [GUEST-WORD]: the share
# prepared, the guest run.
boot() {
	local name=$1 flag=$2 arg=$3 tag=$4 msg=$5 share=$6 extra=${7:-}
	head -c 100000 /dev/urandom >"$share/from-host"
	echo "== $name: $flag $arg $extra"
	fe --initrd "$dir/initrd" --memory 512 --name "$name" "$flag" "$arg" \
		--cmdline "console=ttyS0 panic=-1 reboot=k quiet pci=noearly kvmmu.tag=$tag kvmmu.msg=$msg $extra" \
		--timeout 400 --json </dev/null >"$dir/$name.out" 2>"$dir/$name.err"
	code=$?
	grep -a 'kvmmu-guest:' "$dir/$name.out" | cut -c1-200
	grep -a '"vm"' "$dir/$name.out"
	cat "$dir/$name.err"
	check "$name: exit 0 (the guest's reboot)" test "$code" -eq 0
	check "$name: mounted" has "$dir/$name.out" "kvmmu-guest: mounted $tag"
	check "$name: the guest read the host's exact bytes" \
		has "$dir/$name.out" "kvmmu-guest: read $(md5sum <"$share/from-host" | cut -d' ' -f1)"
	{ cat "$share/from-host"; echo "$msg"; } >"$dir/want"
	check "$name: the host reads the guest's exact bytes" \
		cmp -s "$dir/want" "$share/from-guest"
	# The sanitizer build's frontend says once that it has no seccomp
	# filter (sandbox.c); nothing else may come.
	check "$name: nothing on stderr" eval '! grep -v "^vmm-frontend: sanitizer build: no seccomp" "$dir/$name.err" | grep -q .'
	check "$name: no kick reached the frontend" \
		test "$(field fs_kick_exits "$name")" = 0
	[ "$flag" = --fs ] &&
		check "$name: from-guest is the VM's user's on the host ($(stat -c %U "$share/from-guest"))" \
			test "$(stat -c %u "$share/from-guest")" = "$(id -u nobody)"
}

# field NAME RUN: a number of RUN's JSON line.
field() { grep -o "\"$1\": [0-9]*" "$dir/$2.out" | grep -o '[0-9]*$'; }

# ratio NAME BASE: exits at the share during NAME's file I/O (NAME's
# minus BASE's, a run without it) per request of it.
ratio() {
	local ex base io
	ex=$(field fs_exits "$1") base=$(field fs_exits "$2")
	io=$(grep -a 'kvmmu-guest: io ' "$dir/$1.out" | awk '{ print $3 + $4 }')
	echo "$1: ${ex:-?} exits at the share over the run, ${base:-?} without" \
		"the file I/O: $((${ex:-0} - ${base:-0})) during ${io:-?} requests"
	check "$1: exits during the file I/O far below one per request" \
		test -n "$ex" -a -n "$base" -a -n "$io" -a \
		"$(((${ex:-0} - ${base:-0}) * 20))" -lt "${io:-0}"
}

# The frontend's shares are the VM's user's, as its disks' images are.
mkdir -p "$dir/share1" "$dir/share2" "$dir/share3"
chown nobody:nogroup "$dir/share1" "$dir/share3"
boot started --fs "$dir/share1,tag=hostshare" hostshare hello-fs-5e2a "$dir/share1" kvmmu.uids=1
check "started: its virtiofsd is gone" test "$(pgrep -f "$vfsd.*$dir/share1" | wc -l)" -eq 0
# What the guest sees: its root's files are the VM user's (uid 0 in
# virtiofsd's namespace, 0 to the guest), the host root's are no one's
# (65534, unmapped); uid 1000 cannot be switched to.
check "started: owners as the guest sees them" \
	has "$dir/started.out" "kvmmu-guest: owners 65534:65534 0:0 0:0"
check "started: uid 1000 cannot make a file (EINVAL)" \
	has "$dir/started.out" "kvmmu-guest: as uid 1000: sh: can't create /mnt/pub/as-1000: Invalid argument"
check "started: nor chown to 1000 (EINVAL)" \
	has "$dir/started.out" "kvmmu-guest: chown 1000: chown: /mnt/from-guest: Invalid argument"
check "started: uid 1000 reads by mode" \
	has "$dir/started.out" "kvmmu-guest: read as uid 1000: done"
boot baseline --fs "$dir/share1,tag=hostshare" hostshare hello-base-0c77 "$dir/share1" kvmmu.io=0
ratio started baseline
# The same from a frontend started as nobody, with a supplementary group.
as="setpriv --reuid=nobody --regid=nogroup --groups=nogroup"
boot unprivileged --fs "$dir/share3,tag=hostshare" hostshare hello-np-2b81 "$dir/share3"
as=""
check "unprivileged: its virtiofsd is gone" test "$(pgrep -f "$vfsd.*$dir/share3" | wc -l)" -eq 0
ratio unprivileged baseline

"$vfsd" --socket-path="$dir/op.sock" -o source="$dir/share2" -o sandbox=namespace \
	-o log_level=warn 2>"$dir/op.err" &
op=$!
for _ in $(seq 100); do [ -S "$dir/op.sock" ] && break; sleep 0.05; done
boot operator --vhost-user-fs "$dir/op.sock,tag=opshare" opshare hello-op-93c1 "$dir/share2"
ratio operator baseline
check "the server is still up" kill -0 "$srv"
echo "test_fs: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
