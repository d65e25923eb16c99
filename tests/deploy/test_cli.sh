#!/bin/bash
# test_cli.sh BIN_DIR: what every program and benchmark says and exits
# with before it does any work (issue 22): --help prints the usage on
# stdout and exits 0; an unknown option prints it on stderr and exits 2
# at once; malformed or out-of-range values exit 2 before anything is
# opened or connected; the statuses are the ones the man pages' EXIT
# STATUS sections list.  Needs no KVM: nothing here may get that far.
set -u
bin=$1
dir=$(mktemp -d /tmp/kvmmu-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
check() {
	if eval "$1"; then passed=$((passed + 1)); else
		failed=$((failed + 1))
		echo "FAIL: $2"
		sed 's/^/  stdout: /' "$dir/out" | head -5
		sed 's/^/  stderr: /' "$dir/err" | head -5
	fi
}
# run PROG ARGS...: status in $rc, output in $dir/out and $dir/err.  No
# program may take long here: 20 s is a hang.
run() {
	rc=0
	timeout 20 "$bin/$1" "${@:2}" >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
}

programs="mmu-server vmm-frontend mmuctl kvmmu-virtd"
benches="bench-memslot bench-portio bench-zap-modes bench-allones
bench-admin bench-cluster bench-linux-boot bench-virtio"
for p in $programs $benches; do
	for h in --help -h; do
		run "$p" $h
		check '[ $rc -eq 0 ]' "$p $h exits 0 (got $rc)"
		check 'grep -q "^usage: $p" "$dir/out"' "$p $h: usage on stdout"
		check '[ ! -s "$dir/err" ]' "$p $h: nothing on stderr"
	done
	run "$p" --no-such-option
	check '[ $rc -eq 2 ]' "$p --no-such-option exits 2 (got $rc)"
	check 'grep -q "^usage: $p" "$dir/err"' "$p --no-such-option: usage on stderr"
	check '[ ! -s "$dir/out" ]' "$p --no-such-option: nothing on stdout"
	run "$p" no-such-argument
	check '[ $rc -eq 2 ]' "$p no-such-argument exits 2 (got $rc)"
done

# mmu-server: a bad value is refused before the socket's directory is
# made, let alone /dev/kvm opened.
for a in "--max-vms x" "--max-vms 0" "--poll-us 1000001" "--limit nosuch=1" \
	"--ram-backing 2m" "--admin-listen 0.0.0.0:1"; do
	# shellcheck disable=SC2086
	run mmu-server -d --socket "$dir/srv/mmu.sock" $a
	check '[ $rc -eq 2 ]' "mmu-server $a exits 2 (got $rc)"
	check '[ ! -e "$dir/srv" ]' "mmu-server $a: nothing made"
done
run mmu-server -d
check '[ $rc -eq 2 ]' "mmu-server without --socket exits 2 (got $rc)"

# vmm-frontend: out-of-range values exit 2 before it connects (the socket
# does not exist: connecting would be exit 1) or reads the payload.
fe=(--socket "$dir/none.sock" --payload "$dir/none.bin")
for a in "--memory 3" "--memory 3073" "--memory x" "--vcpus 0" "--vcpus 33" \
	"--pci-devices 32" "--poll-us 1000001" "--batch-window-us 1000001" \
	"--timeout 4294967296" "--zap-mode some" "--machine q35" \
	"--name a/b"; do
	# shellcheck disable=SC2086
	run vmm-frontend "${fe[@]}" $a
	check '[ $rc -eq 2 ]' "vmm-frontend $a exits 2 (got $rc)"
	check 'grep -q -- "${a%% *}" "$dir/err"' "vmm-frontend $a: says which flag"
done
run vmm-frontend "${fe[@]}" --cmdline "$(printf 'x%.0s' $(seq 256))"
check '[ $rc -eq 2 ]' "vmm-frontend: a payload's 256-byte --cmdline exits 2 (got $rc)"
run vmm-frontend "${fe[@]}" --domain-xml "$dir/d.xml"
check '[ $rc -eq 2 ]' "vmm-frontend --payload with --domain-xml exits 2 (got $rc)"
run vmm-frontend --socket "$dir/none.sock"
check '[ $rc -eq 2 ]' "vmm-frontend without a guest exits 2 (got $rc)"
run vmm-frontend --socket "$dir/none.sock" --initrd "$dir/i" --payload "$dir/p"
check '[ $rc -eq 2 ]' "vmm-frontend --initrd without --kernel exits 2 (got $rc)"
# A file it cannot load is the VMM's failure, not the arguments'.
run vmm-frontend "${fe[@]}" --memory 64
check '[ $rc -eq 1 ]' "vmm-frontend with a missing payload exits 1 (got $rc)"
check 'grep -q "none.bin" "$dir/err"' "vmm-frontend names the missing payload"
: >"$dir/p.bin"
run vmm-frontend --socket "$dir/none.sock" --payload "$dir/p.bin"
check '[ $rc -eq 1 ]' "vmm-frontend without a server exits 1 (got $rc)"

# mmuctl: bad arguments exit 2 with no channel opened; a call that fails
# exits with its gRPC status (14 UNAVAILABLE: no server on the socket).
for a in "frob" "list extra" "show" "--timeout 0 list" \
	"--batch-window-us 1000001 zap-control 1 all" "zap-control 1 some" \
	"invalidate 1 x 4096" "--allones disk zap-control 1 all"; do
	# shellcheck disable=SC2086
	run mmuctl --socket "$dir/none.sock" $a
	check '[ $rc -eq 2 ]' "mmuctl $a exits 2 (got $rc)"
done
run mmuctl --socket "$dir/none.sock" --timeout 2000 list
check '[ $rc -eq 14 ]' "mmuctl list without a server exits 14, UNAVAILABLE (got $rc)"

# kvmmu-virtd: a bound out of its range exits 2 before its sockets exist.
# --domain-uids: not BASE:COUNT, one of them 0, or a range reaching
# 4294901760 and beyond, towards (uid_t)-1.
for a in "--max-clients 0" "--max-requests 1025" "--reply-grace x" \
	"--domain-uids x" "--domain-uids 5:0" "--domain-uids 0:5" \
	"--domain-uids 4294901760:1" "--domain-uids 4294901000:1000"; do
	# shellcheck disable=SC2086
	run kvmmu-virtd --socket "$dir/virtd/sock" --state-dir "$dir/state" $a
	check '[ $rc -eq 2 ]' "kvmmu-virtd $a exits 2 (got $rc)"
	check '[ ! -e "$dir/virtd" ] && [ ! -e "$dir/state" ]' \
		"kvmmu-virtd $a: nothing made"
done

# Benchmarks: their own options are range-checked too.
run bench-memslot --client-poll-us x
check '[ $rc -eq 2 ]' "bench-memslot --client-poll-us x exits 2 (got $rc)"
run bench-linux-boot --runs 0
check '[ $rc -eq 2 ]' "bench-linux-boot --runs 0 exits 2 (got $rc)"
run bench-linux-boot --shmem-thp always
check '[ $rc -eq 2 ]' "bench-linux-boot --shmem-thp always exits 2 (got $rc)"
for a in "--runs 0" "--seconds 601" "--ram 64" "--timeout x"; do
	# shellcheck disable=SC2086
	run bench-virtio $a
	check '[ $rc -eq 2 ]' "bench-virtio $a exits 2 (got $rc)"
done

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
