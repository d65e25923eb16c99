#!/bin/bash
# test_virtd_disk.sh: libvirt.virtd_disk, domains with <disk> through
# kvmmu-virtd and virsh, on payload guests (the disk is attached and
# served, not read: a payload has no virtio-blk driver).
# Usage: test_virtd_disk.sh BIN_DIR GUEST_DIR SRC.
#
# define, start, domblklist, destroy of a domain with a raw disk; its
# uid is granted the image (a POSIX ACL entry, rw- or r-- for a
# <readonly/> one, or on a vhost-user socket) for the domain's life only,
# and the image's mode is as before afterwards; a restarted daemon
# adopts the domain and its qemu-storage-daemon goes on; the refusals at
# define, each with its exact message; a missing image and an image the
# uid cannot reach refused at start, a missing shared directory refused
# at start; a <filesystem> with a source dir runs, its virtiofsd started
# by the domain's frontend as the domain's uid (uid 0 only in its own
# user namespace), its root the directory, which is granted rwx for the
# domain's life; a directory the uid cannot reach refused at start;
# an image another domain has open for writing (writable or <readonly/>)
# refused at start, the log naming the lock, the first domain running on;
# a vhost-user disk and a shared directory whose socket nothing listens
# on refused at start, shut off (failed); a back end killed under a
# running domain ends it, shut off (failed), its log naming the back end,
# another domain running on; nothing left behind: no
# frontend, no back end, no live XML, no socket directory, no ACL entry.
set -eu
BIN=$1 GUEST=$2 SRC=$3
TEST=libvirt.virtd_disk
. "$SRC/tests/libvirt/lib.sh"
require_kvm
command -v virsh >/dev/null || skip "virsh is not installed"
[ -x /usr/bin/qemu-storage-daemon ] ||
	skip "qemu-storage-daemon is not installed (deploy/install-deps.sh)"
[ "$(id -u)" -eq 0 ] || skip "needs root (frontends run as uids of their own)"
setup
U="kvmmu+unix:///system?socket=$TMP/virtd-sock"
vs() { timeout 60 virsh -q -c "$U" "$@"; }
UID0=1879048192

admin_server_start
virtd_start

# acl FILE: the file's named user entries, "user:UID:perm" each.
acl() {
	/usr/bin/python3 - "$1" <<'PY'
import os, struct, sys
try:
    b = os.getxattr(sys.argv[1], "system.posix_acl_access")
except OSError:
    sys.exit(0)
for o in range(4, len(b), 8):
    tag, perm, uid = struct.unpack_from("<HHI", b, o)
    if tag == 2:
        print("user:%d:%s" % (uid, "".join(c if perm & m else "-"
              for c, m in (("r", 4), ("w", 2), ("x", 1)))))
PY
}
mode() { stat -c %a "$1"; }
qsd_pids() { pgrep -f "^/usr/bin/qemu-storage-daemon .*$TMP/" || :; }
vfsd_pids() { pgrep -f "^/usr/lib/qemu/virtiofsd .*$TMP/" || :; }
# The frontends of this test's server, by the pids mmu-server names.
fe_pids() {
	"$BIN/mmuctl" --socket "$TMP/admin.sock" --json list |
		/usr/bin/python3 -c 'import json, sys
for v in json.load(sys.stdin).get("vms", []):
    print(v.get("ownerPid", v.get("owner_pid", 0)))'
}
leftovers() {
	[ -z "$(qsd_pids)" ] && [ -z "$(vfsd_pids)" ] && [ -z "$(fe_pids)" ] &&
		[ -z "$(ls "$TMP/state/run")" ] &&
		[ -z "$(find /tmp -maxdepth 1 -name 'kvmmu-*' -user "$UID0" 2>/dev/null)" ]
}

mkdir -p "$TMP/img"
truncate -s 16M "$TMP/img/a.img"
truncate -s 16M "$TMP/img/b.img"
chmod 0600 "$TMP/img/a.img"
chmod 0640 "$TMP/img/b.img"

# dom NAME DEVICES: a payload that runs until stopped, with DEVICES.
dom() {
	cat <<XML
<domain type='kvm'><name>$1</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type>
<kernel>$GUEST/memtouch.bin</kernel><cmdline>passes=1000000000</cmdline></os>
<devices><serial type='null'/>$2</devices></domain>
XML
}
disk() { # FILE TARGET [EXTRA]
	echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$1'/><target dev='$2' bus='virtio'/>${3:-}</disk>"
}

dom d1 "$(disk "$TMP/img/a.img" vda)$(disk "$TMP/img/b.img" vdb "<readonly/>")" >"$TMP/d1.xml"
check "define a domain with two disks" vs define "$TMP/d1.xml"
check "no ACL entry before the start" test -z "$(acl "$TMP/img/a.img")"
check "start" vs start d1
check "running" eval 'vs domstate d1 | grep -q running'
check "the image granted to its uid, rw ($(acl "$TMP/img/a.img"))" \
	test "$(acl "$TMP/img/a.img")" = "user:$UID0:rw-"
check "the readonly one r-- ($(acl "$TMP/img/b.img"))" \
	test "$(acl "$TMP/img/b.img")" = "user:$UID0:r--"
check "two qemu-storage-daemons, as the domain's uid" \
	eval '[ "$(qsd_pids | wc -l)" -eq 2 ] &&
	      for p in $(qsd_pids); do
		[ "$(stat -c %u /proc/$p)" = "$UID0" ] || exit 1
	      done'
check "domblklist: vda and vdb" \
	eval 'vs domblklist d1 | grep -Eq "^ *vda +$TMP/img/a.img" &&
	      vs domblklist d1 | grep -Eq "^ *vdb +$TMP/img/b.img"'
check "the log names the disks" \
	grep -q "disk vda: raw image $TMP/img/a.img" "$TMP/state/log/d1.log"

# A restart of the daemon: adopted, back ends and grants untouched.
qsd_before=$(qsd_pids | sort | tr '\n' ' ')
kill "$virtd_pid"
wait "$virtd_pid" || :
virtd_start
check "restarted: d1 adopted" \
	wait_grep "$TMP/virtd.log" "domain 'd1' is still running" 5
check "its back ends run on, the same processes" \
	test "$(qsd_pids | sort | tr '\n' ' ')" = "$qsd_before"
check "its grants stay" test "$(acl "$TMP/img/a.img")" = "user:$UID0:rw-"
check "destroy" vs destroy d1
check "shut off" eval 'vs domstate d1 | grep -q "shut off"'
check "the grants are taken back" \
	eval '[ -z "$(acl "$TMP/img/a.img")" ] && [ -z "$(acl "$TMP/img/b.img")" ]'
check "the modes are as before ($(mode "$TMP/img/a.img") $(mode "$TMP/img/b.img"))" \
	test "$(mode "$TMP/img/a.img") $(mode "$TMP/img/b.img")" = "600 640"
check "nothing left behind" leftovers

# An entry of a domain that ended while the daemon was down is swept.
check "start again" vs start d1
kill -9 "$virtd_pid"
wait "$virtd_pid" 2>/dev/null || :
for p in $(fe_pids); do kill -INT "$p"; done
for _ in $(seq 100); do [ -z "$(fe_pids)" ] && break; sleep 0.1; done
check "the daemon was down: the entry stays" \
	test "$(acl "$TMP/img/a.img")" = "user:$UID0:rw-"
virtd_start
check "restarted: the stale entry swept" test -z "$(acl "$TMP/img/a.img")"
vs undefine d1 >/dev/null

# A vhost-user disk: the operator's back end; its socket granted.
/usr/bin/qemu-storage-daemon \
	--blockdev "driver=file,node-name=f,filename=$TMP/img/b.img" \
	--export "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=$TMP/img/blk.sock,writable=on" \
	>"$TMP/qsd.log" 2>&1 &
op_qsd=$!
bg_pids="$bg_pids $op_qsd"
for _ in $(seq 100); do [ -S "$TMP/img/blk.sock" ] && break; sleep 0.1; done
chmod 0600 "$TMP/img/blk.sock"
dom d2 "<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='$TMP/img/blk.sock'/><target dev='vda' bus='virtio'/></disk>" >"$TMP/d2.xml"
check "a vhost-user disk: define, start" \
	eval 'vs define "$TMP/d2.xml" >/dev/null && vs start d2 >/dev/null'
check "its socket granted rw" \
	test "$(acl "$TMP/img/blk.sock")" = "user:$UID0:rw-"
check "destroyed: taken back" \
	eval 'vs destroy d2 >/dev/null && [ -z "$(acl "$TMP/img/blk.sock")" ]'
vs undefine d2 >/dev/null
kill "$op_qsd"
fe_wait "$op_qsd" || :

# Refused at define, each naming what (the exact message).
refused() { # WHAT DEVICES MESSAGE
	dom bad "$2" >"$TMP/bad.xml"
	vs define "$TMP/bad.xml" >"$TMP/bad.out" 2>&1 && return 1
	grep -qF -- "$3" "$TMP/bad.out" || {
		echo "$TEST: $1: got:" >&2
		cat "$TMP/bad.out" >&2
		return 1
	}
}
check "a cdrom: refused" refused cdrom \
	"<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='vda'/></disk>" \
	"devices/disk[device='cdrom']: kvmmu has disks only (device='disk', virtio-blk)"
check "a sata disk: refused" refused sata \
	"<disk type='file' device='disk'><source file='/x.img'/><target dev='sda' bus='sata'/></disk>" \
	"devices/disk[target='sda']/target@bus: 'sata'; kvmmu's disks are on bus='virtio'"
check "a network disk: refused" refused network \
	"<disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vda'/></disk>" \
	"devices/disk[type='network']: kvmmu's disks are type='file' (an image) or type='vhostuser' (a back end's socket)"
check "a vmdk image: refused" refused vmdk \
	"$(echo "<disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='/x.img'/><target dev='vda'/></disk>")" \
	"devices/disk/driver@type: 'vmdk'; kvmmu reads 'raw' or 'qcow2' images"
check "two disks on vda: refused" refused twovda \
	"$(disk /x.img vda)$(disk /y.img vda)" \
	"devices/disk[target='vda']: two disks with this target"
check "two filesystems with one tag: refused" refused twotags \
	"<filesystem type='mount'><driver type='virtiofs'/><source dir='/a'/><target dir='t'/></filesystem><filesystem type='mount'><driver type='virtiofs'/><source dir='/b'/><target dir='t'/></filesystem>" \
	"devices/filesystem[target='t']: two filesystems with this tag"
check "a relative image: refused" refused relative "$(disk a.img vda)" \
	"devices/disk/source@file: 'a.img' is relative; a domain from libvirt needs an absolute path"
check "nothing defined by the refusals" not eval 'vs list --all --name | grep -qx bad'

# Refused at start, nothing left behind.
dom d3 "$(disk "$TMP/img/missing.img" vda)" >"$TMP/d3.xml"
vs define "$TMP/d3.xml" >/dev/null
check "a missing image: refused at start" \
	eval 'vs start d3 2>&1 | grep -qF "domain '"'d3'"': devices/disk[target='"'vda'"']/source@file: Cannot access storage file '"'$TMP/img/missing.img'"': No such file or directory"'
check "  shut off, nothing left behind" \
	eval 'vs domstate d3 | grep -q "shut off" && leftovers'
mkdir -m 0700 "$TMP/private"
truncate -s 1M "$TMP/private/c.img"
dom d4 "$(disk "$TMP/private/c.img" vda)" >"$TMP/d4.xml"
vs define "$TMP/d4.xml" >/dev/null
check "an image the uid cannot reach: refused at start, naming uid and file" \
	eval 'vs start d4 2>&1 | grep -qF "uid $UID0, which runs it, cannot open $TMP/private/c.img: Permission denied"'
check "  its grant taken back, nothing left behind" \
	eval '[ -z "$(acl "$TMP/private/c.img")" ] && leftovers'
mkdir "$TMP/share"
dom d5 "<filesystem type='mount'><driver type='virtiofs'/><source dir='$TMP/nodir'/><target dir='share'/></filesystem>" >"$TMP/d5.xml"
vs define "$TMP/d5.xml" >/dev/null
check "a missing shared directory: refused at start" \
	eval 'vs start d5 2>&1 | grep -qF "devices/filesystem[target='"'share'"']/source@dir: $TMP/nodir: No such file or directory"'
sed -e "s|$TMP/nodir|$TMP/share|" -e "s|<name>d5<|<name>d6<|" "$TMP/d5.xml" >"$TMP/d6.xml"
vs define "$TMP/d6.xml" >/dev/null
# The domain's frontend, of the domain's own uid, starts QEMU 7.2's
# virtiofsd as that uid, root only in a user namespace of its own.
echo hello >"$TMP/share/from-host"
check "a filesystem with source dir: start" vs start d6
check "  running" eval 'vs domstate d6 | grep -q running'
check "  the directory granted to its uid, rwx ($(acl "$TMP/share"))" \
	test "$(acl "$TMP/share")" = "user:$UID0:rwx"
# Each virtiofsd: the domain's uid on the host, 0 in its namespace, its
# root the share; two of them (its own, and its pid namespace's).
vfsd_jailed() {
	local p n=0
	for p in $(vfsd_pids); do
		[ "$(stat -c %u "/proc/$p")" = "$UID0" ] &&
			[ "$(awk '{ print $1, $2 }' "/proc/$p/uid_map")" = "0 $UID0" ] &&
			[ "$(ls -A "/proc/$p/root")" = from-host ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq 2 ]
}
check "  virtiofsd runs as its uid (0 only in its own namespace), / the share" vfsd_jailed
check "  destroyed: its grant taken back, nothing left behind" \
	eval 'vs destroy d6 >/dev/null && [ -z "$(acl "$TMP/share")" ] && leftovers'
check "  the directory's mode as before ($(mode "$TMP/share"))" test "$(mode "$TMP/share")" = 755
mkdir -m 0755 "$TMP/private/share"
sed -e "s|$TMP/share|$TMP/private/share|" -e "s|<name>d6<|<name>d14<|" "$TMP/d6.xml" >"$TMP/d14.xml"
vs define "$TMP/d14.xml" >/dev/null
check "a directory the uid cannot reach: refused at start, naming uid and directory" \
	eval 'vs start d14 2>&1 | grep -qF "uid $UID0, which runs it, cannot open $TMP/private/share: Permission denied"'
check "  its grant taken back, nothing left behind" \
	eval '[ -z "$(acl "$TMP/private/share")" ] && leftovers'
for n in d5 d6 d14; do vs undefine "$n" >/dev/null; done

# An image another domain has open for writing: refused at start, the
# log naming the lock; the first domain runs on.
dom d7 "$(disk "$TMP/img/a.img" vda)" >"$TMP/d7.xml"
sed -e "s|<name>d7<|<name>d8<|" "$TMP/d7.xml" >"$TMP/d8.xml"
sed -e "s|<name>d7<|<name>d9<|" -e "s|<target dev='vda' bus='virtio'/>|&<readonly/>|" \
	"$TMP/d7.xml" >"$TMP/d9.xml"
vs define "$TMP/d7.xml" >/dev/null
vs define "$TMP/d8.xml" >/dev/null
vs define "$TMP/d9.xml" >/dev/null
check "d7 on a.img: start" vs start d7
check "d8 on the same image: refused at start, pointing at its log" \
	eval 'vs start d8 2>&1 | grep -qF "domain '"'d8'"': vmm-frontend exited before mmu-server ran the VM; see $TMP/state/log/d8.log"'
check "  its log names the lock" \
	grep -qF 'Failed to get "write" lock' "$TMP/state/log/d8.log"
check "d9, the same image readonly: refused at start too" \
	eval '! vs start d9 >/dev/null 2>&1 &&
	      grep -qF "its write lock is held by another process" "$TMP/state/log/d9.log"'
check "  both shut off (failed)" \
	eval 'vs domstate --reason d8 | grep -qx "shut off (failed)" &&
	      vs domstate --reason d9 | grep -qx "shut off (failed)"'
check "  d7 runs on, its grant kept, one back end" \
	eval 'vs domstate d7 | grep -q running &&
	      [ "$(acl "$TMP/img/a.img")" = "user:$UID0:rw-" ] &&
	      [ "$(qsd_pids | wc -l)" -eq 1 ]'
check "d7 destroyed: nothing left behind" \
	eval 'vs destroy d7 >/dev/null && leftovers && [ -z "$(acl "$TMP/img/a.img")" ]'
check "d8 starts once d7 is off" eval 'vs start d8 >/dev/null && vs destroy d8 >/dev/null'
for n in d7 d8 d9; do vs undefine "$n" >/dev/null; done

# A back end killed under a running domain: it ends, with a reason virsh
# shows, its log naming the back end; another domain runs on.
dom d12 "$(disk "$TMP/img/a.img" vda)" >"$TMP/d12.xml"
dom d13 "$(disk "$TMP/img/b.img" vda)" >"$TMP/d13.xml"
vs define "$TMP/d12.xml" >/dev/null
vs define "$TMP/d13.xml" >/dev/null
check "d12 and d13 start" eval 'vs start d12 >/dev/null && vs start d13 >/dev/null'
qsd=$(pgrep -f "^/usr/bin/qemu-storage-daemon .*$TMP/img/a.img")
kill -9 $qsd
for _ in $(seq 100); do vs domstate d12 | grep -q "shut off" && break; sleep 0.1; done
check "d12's qemu-storage-daemon killed: shut off (failed)" \
	eval 'vs domstate --reason d12 | grep -qx "shut off (failed)"'
check "  its log names the back end and how it ended" \
	grep -qF "vda: its back end (qemu-storage-daemon pid $qsd, image $TMP/img/a.img) killed by signal 9 (Killed): ending the VM" \
	"$TMP/state/log/d12.log"
check "  its grant taken back" test -z "$(acl "$TMP/img/a.img")"
check "d13 runs on" eval 'vs domstate d13 | grep -q running'
check "d13 destroyed: nothing left behind" \
	eval 'vs destroy d13 >/dev/null && leftovers'
for n in d12 d13; do vs undefine "$n" >/dev/null; done

# A socket nothing listens on, for a vhost-user disk and for a shared
# directory: refused at start, the log saying so, its grant taken back.
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/img/dead.sock"
dom d10 "<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='$TMP/img/dead.sock'/><target dev='vda' bus='virtio'/></disk>" >"$TMP/d10.xml"
dom d11 "<filesystem type='mount'><driver type='virtiofs'/><source socket='$TMP/img/dead.sock'/><target dir='share'/></filesystem>" >"$TMP/d11.xml"
for n in d10 d11; do
	vs define "$TMP/$n.xml" >/dev/null
	check "$n, a dead socket: refused at start" not vs start "$n"
	check "  its log says no back end listens there" \
		grep -qF "$TMP/img/dead.sock: Connection refused (no vhost-user back end listens there)" \
		"$TMP/state/log/$n.log"
	check "  shut off (failed), no grant left, nothing left behind" \
		eval 'vs domstate --reason "$n" | grep -qx "shut off (failed)" &&
		      [ -z "$(acl "$TMP/img/dead.sock")" ] && leftovers'
	vs undefine "$n" >/dev/null
done
report
