#!/bin/bash
# test_cli.sh BIN_DIR GUEST_DIR: what the programs do and exit with
# against a real mmu-server (issue 22, items 2 and 4): the server makes
# its sockets' missing directories (0755) or names the one it cannot
# make; a frontend whose VM an operator destroys (mmuctl destroy) says so
# and exits 143, the server going on; a server stopped by SIGTERM names
# each VM it ends in its log, and their frontends say the server stopped
# and exit 143; a frontend whose server dies (SIGKILL) says it went away
# and exits 1; one whose payload is missing exits 1; SIGTERM and SIGINT
# stop a payload guest at once (it cannot be asked to shut down), the
# VM destroyed, exit 143; mmuctl list then names each VM that ended and
# why, in the words its frontend said (issue 21).
set -u
bin=$1 guest=$2
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP test_cli: /dev/kvm cannot be opened; needs KVM"
	exit 77
fi
dir=$(mktemp -d /tmp/kvmmu-cli.XXXXXX)
srv="" fe=""
cleanup() {
	[ -n "$fe" ] && kill "$fe" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv"
	rm -rf "$dir"
}
trap cleanup EXIT
passed=0 failed=0
check() {
	if eval "$1"; then passed=$((passed + 1)); else
		failed=$((failed + 1))
		echo "FAIL: $2"
	fi
}
# wait_for TEST SECONDS: until TEST holds (emulated CPUs are slow).
wait_for() {
	local _i
	for _i in $(seq $(($2 * 20))); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}
# start_server SOCKET ARGS...: a server in the foreground, its log kept.
start_server() {
	# shellcheck disable=SC2034 # read by wait_for's eval
	local s=$1

	"$bin/mmu-server" -d --socket "$@" 2>>"$dir/server.log" &
	srv=$!
	wait_for '[ -S "$s" ] || ! kill -0 $srv 2>/dev/null' 30
}
stop_server() {
	local st=0
	kill "$srv"
	wait "$srv" || st=$?
	srv=""
	return $st
}
# A frontend whose guest runs until it is stopped.
start_frontend() {
	local out=$dir/$2.out

	"$bin/vmm-frontend" --socket "$1" --payload "$guest/memtouch.bin" \
		--memory 16 --cmdline passes=1000000000 --name "$2" \
		>"$out" 2>"$dir/$2.err" &
	fe=$!
	wait_for 'grep -q running "$out" || ! kill -0 $fe 2>/dev/null' 30
}
# The frontend's status, in st (a $(...) subshell could not wait for it).
frontend_wait() {
	st=0
	wait "$fe" || st=$?
	fe=""
}

# --- the sockets' directories ------------------------------------------
sock=$dir/new/sub/mmu.sock admin=$dir/adm/admin.sock
start_server "$sock" --admin-socket "$admin"
check '[ -S "$sock" ]' "the server listens on $sock, its directories made"
# The admin socket comes after the control socket, slowly under TCG.
check 'wait_for "[ -S \"$admin\" ]" 30' "and on $admin"
for d in "$dir/new" "$dir/new/sub" "$dir/adm"; do
	check '[ "$(stat -c %a "$d")" = 755 ]' \
		"$d is mode 0755 ($(stat -c %a "$d" 2>/dev/null))"
done

# --- an operator destroys a VM ------------------------------------------
start_frontend "$sock" victim
"$bin/mmuctl" --socket "$admin" destroy victim >/dev/null
check '[ $? -eq 0 ]' "mmuctl destroy victim"
frontend_wait
check '[ "$st" -eq 143 ]' "the frontend of a destroyed VM exits 143 ($st)"
check 'grep -q "VM destroyed by the operator" "$dir/victim.err"' \
	"it says the operator destroyed its VM"
check '! grep -q "went away" "$dir/victim.err"' "it does not say the server went away"
check 'kill -0 $srv' "the server still runs"
"$bin/vmm-frontend" --socket "$sock" --payload "$guest/hello.bin" \
	--memory 16 -q >"$dir/hello.out" 2>&1
check '[ $? -eq 0 ]' "the next guest runs and exits 0"

# --- SIGTERM and SIGINT to a payload's frontend --------------------------
for sig in TERM INT; do
	start_frontend "$sock" "sig$sig"
	t0=$(date +%s)
	kill -"$sig" "$fe"
	frontend_wait
	check '[ "$st" -eq 143 ]' "SIG$sig: the payload's frontend exits 143 ($st)"
	check '[ $(($(date +%s) - t0)) -lt 20 ]' "SIG$sig: at once"
	check 'grep -q "ran .* s on 1 vCPU" "$dir/sig$sig.out"' \
		"SIG$sig: the run is summed up (the VM ended, not the process)"
done
check 'grep -q "a payload guest cannot be asked to shut down" "$dir/sigTERM.err"' \
	"SIGTERM: the frontend says why it does not wait"
check '! "$bin/mmuctl" --socket "$admin" list | sed "/^$/q" | grep -q sigTERM' \
	"no VM left behind"
# ended NAME STATE WHY: mmuctl list's "recently ended:" has NAME so.
ended() {
	"$bin/mmuctl" --socket "$admin" list | sed '1,/^recently ended:$/d' |
		grep -qE "^[0-9]+ +$1 +$2 +$3\$"
}
check 'ended victim destroyed "destroyed through the admin API"' \
	"mmuctl list: victim, destroyed through the admin API"
check 'ended hello ended "ended by its frontend: the guest finished with status 0"' \
	"mmuctl list: hello, the guest finished with status 0"
check 'ended sigTERM ended "ended by its frontend: SIGTERM: a payload guest cannot be asked to shut down"' \
	"mmuctl list: sigTERM, in its frontend's words"
check 'ended sigINT ended "ended by its frontend: signal 2"' \
	"mmuctl list: sigINT, signal 2"

# --- a payload that is not there ---------------------------------------
"$bin/vmm-frontend" --socket "$sock" --payload "$dir/none.bin" \
	>/dev/null 2>"$dir/none.err"
st=$?
check '[ $st -eq 1 ]' "a missing payload exits 1 ($st)"

# --- the server is stopped ----------------------------------------------
start_frontend "$sock" orphan
stop_server
check '[ $? -eq 0 ]' "the server exits 0 on SIGTERM"
frontend_wait
check '[ "$st" -eq 143 ]' "the frontend of a stopped server exits 143 ($st)"
check 'grep -q "mmu-server is stopping" "$dir/orphan.err"' \
	"it says the server stopped: $(tail -1 "$dir/orphan.err")"
check 'grep -q "stop: ending vm [0-9]* .orphan. (uid [0-9]*, frontend pid" "$dir/server.log"' \
	"the server's log names the VM it ended"
check '[ ! -e "$sock" ] && [ ! -e "$admin" ]' "no socket left behind"

# --- the server dies ----------------------------------------------------
start_server "$sock" --admin-socket "$admin"
start_frontend "$sock" widow
kill -KILL "$srv"
wait "$srv" 2>/dev/null
srv=""
frontend_wait
check '[ "$st" -eq 1 ]' "the frontend of a server killed exits 1 ($st)"
check 'grep -q "mmu-server went away" "$dir/widow.err"' \
	"it says the server went away"
rm -f "$sock" "$admin"

# --- a directory the server cannot make --------------------------------
: >"$dir/file"
st=0
timeout 30 "$bin/mmu-server" -d --socket "$dir/file/sub/mmu.sock" \
	2>"$dir/nodir.err" || st=$?
check '[ $st -eq 1 ]' "a socket under a regular file exits 1 ($st)"
check 'grep -q "cannot make the directory $dir/file: Not a directory" "$dir/nodir.err"' \
	"and names the directory: $(cat "$dir/nodir.err")"

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
