# lib.sh: what the libvirt tests share (sourced by bash, set -eu): checks
# and the closing line, a private libvirtd, an mmu-server, frontends in
# the background, and cleanup of all of them by PID.
#
# The private libvirtd runs in a mount namespace of its own (unshare -m)
# in which temp dirs are bind-mounted over /etc/libvirt, /var and /run:
# its config, sockets, domain definitions, capability cache and logs all
# live under the test's temp dir, and the machine's own libvirt state is
# neither read nor written.  No systemd is involved; it is stopped by PID.
# Trust: test code, run as root.

passed=0
failed=0
bg_pids=""
srv_pid=""
lv_pid=""
TMP=""

check() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $TEST: $what" >&2
	fi
}

# For check: succeeds when the command fails.
not() {
	! "$@"
}

report() {
	echo "$TEST: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

skip() {
	echo "SKIP $TEST: $*"
	exit 77
}

# Skips loudly where the test cannot run; never passes silently.
require_kvm() {
	(exec 3<>/dev/kvm) 2>/dev/null || skip "/dev/kvm cannot be opened; this test needs KVM"
	for f in "$BIN/mmu-server" "$BIN/vmm-frontend" "$GUEST/bootchurn.bin"; do
		[ -r "$f" ] || skip "$f is not built"
	done
}

# Whether KVM maps guests with the TDP MMU (else the shadow MMU), as
# mmu-server sees it.
tdp_mmu() {
	"$BIN/mmu-server" --check-kvm | grep -q ' tdp MMU'
}

# ... and a private libvirtd: root, the binaries, a mount namespace.
require() {
	require_kvm
	[ "$(id -u)" -eq 0 ] || skip "needs root (a private libvirtd in a mount namespace)"
	for p in libvirtd virsh virt-admin unshare "$@"; do
		command -v "$p" >/dev/null || skip "$p is not installed (deploy/install-deps.sh installs it)"
	done
	unshare --mount true 2>/dev/null ||
		skip "cannot make a mount namespace (unshare -m) for a private libvirtd"
}

# The machine's libvirt paths, to show afterwards that nothing changed.
host_state() {
	find /etc/libvirt /var/lib/libvirt /var/cache/libvirt \
		/var/log/libvirt /run/libvirt -maxdepth 3 \
		-printf '%p %s %T@\n' 2>/dev/null | sort
}

setup() {
	TMP=$(mktemp -d /tmp/kvmmu-libvirt.XXXXXX)
	chmod 0755 "$TMP"
	# Clients (virsh, the frontend) keep their caches here, too.
	export XDG_CACHE_HOME="$TMP/xdg/cache" XDG_CONFIG_HOME="$TMP/xdg/config"
	unset LIBVIRT_DEFAULT_URI
	trap cleanup EXIT
}

cleanup() {
	set +e
	for p in $bg_pids; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid"
	[ -n "$lv_pid" ] && kill "$lv_pid" 2>/dev/null && wait "$lv_pid"
	if [ -n "${KVMMU_KEEP_TMP:-}" ]; then
		echo "$TEST: kept $TMP"
	elif [ -n "$TMP" ]; then
		rm -rf "$TMP"
	fi
}

# Polls file for an extended regex for up to $3 seconds.
wait_grep() {
	local i
	for i in $(seq $(($3 * 20))); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "$TEST: no '$2' in $1 after $3 s:" >&2
	sed 's/^/  | /' "$1" >&2
	return 1
}

lv_start() {
	local lv="$TMP/libvirt" i
	mkdir -p "$lv/etc" "$lv/var/lib/libvirt" "$lv/var/cache/libvirt" \
		"$lv/var/log/libvirt" "$lv/run"
	ln -s ../run "$lv/var/run"
	cat >"$lv/etc/libvirtd.conf" <<-EOF
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		unix_sock_rw_perms = "0700"
		log_outputs = "3:file:$lv/libvirtd.log"
	EOF
	cat >"$lv/etc/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		security_driver = "none"
		stdio_handler = "file"
	EOF
	# The QEMU driver will not start without this user, even as root.
	# Where the machine has none, libvirtd alone sees one: copies of
	# passwd and group that add it are bind-mounted in its namespace, so
	# the machine's own (read-only inside the VM runner) stay untouched.
	local users=""
	if ! getent passwd libvirt-qemu >/dev/null; then
		{ cat /etc/passwd; echo "libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin"; } >"$lv/passwd"
		{ cat /etc/group; echo "libvirt-qemu:x:64055:"; } >"$lv/group"
		users="mount --bind '$lv/passwd' /etc/passwd &&
		mount --bind '$lv/group' /etc/group &&"
	fi
	# No fork: the pid is libvirtd's own once sh execs it.
	unshare --mount --propagation private sh -c "
		$users
		mount --bind '$lv/etc' /etc/libvirt &&
		mount --bind '$lv/var' /var &&
		mount --bind '$lv/run' /run &&
		exec libvirtd --pid-file /run/libvirtd.pid" \
		>"$lv/stdout" 2>&1 &
	lv_pid=$!
	LV_SOCK="$lv/run/libvirt/libvirt-sock"
	LV_ADMIN="libvirtd:///system?socket=$lv/run/libvirt/libvirt-admin-sock"
	LV_DIR=$lv
	for i in $(seq 200); do
		[ -S "$LV_SOCK" ] && return 0
		kill -0 "$lv_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "$TEST: libvirtd did not start:" >&2
	cat "$lv/stdout" "$lv/libvirtd.log" >&2 2>/dev/null
	return 1
}

# libvirtd's clients: "pid readonly" per line (virt-admin).
lv_clients() {
	local id
	for id in $(virt-admin -c "$LV_ADMIN" client-list libvirtd |
		awk '$1 ~ /^[0-9]+$/ {print $1}'); do
		virt-admin -c "$LV_ADMIN" client-info libvirtd "$id" 2>/dev/null |
			awk -F': *' '/^readonly/ {ro=$2} /^unix_process_id/ \
			{pid=$2} END {if (pid) print pid, ro}'
	done
}

# lv_wait_client PID [yes|no]: waits until that process is a client
# (read-only, or read-write).
lv_wait_client() {
	local i
	for i in $(seq 100); do
		lv_clients | grep -q "^$1 ${2:-}" && return 0
		sleep 0.05
	done
	return 1
}

srv_start() {
	"$BIN/mmu-server" -d --socket "$TMP/mmu.sock" 2>"$TMP/mmu-server.log" &
	srv_pid=$!
	for i in $(seq 200); do
		[ -S "$TMP/mmu.sock" ] && return 0
		sleep 0.05
	done
	return 1
}

# The server's exit status (0: clean; non-zero under LSan on a leak).
srv_stop() {
	local st=0
	kill "$srv_pid" && wait "$srv_pid" || st=$?
	srv_pid=""
	return "$st"
}

# fe_start NAME ARGS...: a frontend in the background, output in
# $TMP/NAME.out and .err, pid in $fe_pid.
fe_start() {
	local name=$1
	shift
	"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	fe_pid=$!
	bg_pids="$bg_pids $fe_pid"
}

# fe_wait PID: its exit status (and it is no longer cleanup's to kill).
fe_wait() {
	local st=0
	wait "$1" || st=$?
	bg_pids=$(echo "$bg_pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	return "$st"
}

# A field of the frontend's --json line.
json_field() {
	grep -o "\"$2\": \"\\?[a-z0-9.]*" "$TMP/$1.out" | tail -1 |
		sed 's/.*: "\{0,1\}//'
}

# The boot-churn example domain as libvirt wants it: absolute paths.
domain_xml() { # NAME MEMORY_MIB CMDLINE ZAP_MODE
	sed -e "s|\.\./\.\./build/guest|$GUEST|" \
		-e "s|<name>[^<]*</name>|<name>$1</name>|" \
		-e "s|<uuid>[^<]*</uuid>||" \
		-e "s|>512<|>$2<|g" \
		-e "s|<cmdline>[^<]*</cmdline>|<cmdline>$3</cmdline>|" \
		-e "s|mode='all'|mode='$4'|" \
		"$SRC/deploy/domains/kvmmu-zap-all.xml"
}

# mmu-server with its admin API on $TMP/mmu.sock and $TMP/admin.sock, for
# the kvmmu-virtd tests; returns once the admin socket is there.
#
# The frontends kvmmu-virtd starts run as uids of their own (its
# --domain-uids), so they reach only what any uid may: the server's socket
# through its group (nogroup here), and copies of vmm-frontend and the
# payloads in $TMP (the build tree may sit in a 0700 directory).  GUEST
# names the copies from here on.  ARGS go to mmu-server.
admin_server_start() {
	mkdir -p "$TMP/any"
	cp "$BIN/vmm-frontend" "$GUEST"/*.bin "$TMP/any/"
	chmod -R a+rX "$TMP/any"
	GUEST=$TMP/any
	"$BIN/mmu-server" -d --socket "$TMP/mmu.sock" --socket-group nogroup \
		--admin-socket "$TMP/admin.sock" "$@" 2>"$TMP/mmu-server.log" &
	srv_pid=$!
	for _ in $(seq 200); do [ -S "$TMP/admin.sock" ] && break; sleep 0.05; done
}

# virtd_start [ARGS...]: kvmmu-virtd on $TMP/virtd-sock (and -ro) over
# that server, state in $TMP/state, log appended to $TMP/virtd.log; waits
# for its own "listening" line (an earlier daemon's says nothing of this
# one).  Sets virtd_pid.
virtd_pid=""
virtd_start() {
	local n i
	n=$(grep -c "listening on" "$TMP/virtd.log" 2>/dev/null || :)
	"$BIN/kvmmu-virtd" --socket "$TMP/virtd-sock" --state-dir "$TMP/state" \
		--mmu-socket "$TMP/mmu.sock" --admin-socket "$TMP/admin.sock" \
		--frontend "$TMP/any/vmm-frontend" "$@" 2>>"$TMP/virtd.log" &
	virtd_pid=$!
	bg_pids="$bg_pids $virtd_pid"
	for i in $(seq 400); do
		[ "$(grep -c "listening on" "$TMP/virtd.log")" -gt "${n:-0}" ] &&
			return 0
		sleep 0.05
	done
	echo "$TEST: kvmmu-virtd did not start in 20 s:" >&2
	sed 's/^/  | /' "$TMP/virtd.log" >&2
	return 1
}
