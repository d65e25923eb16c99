#!/bin/bash
# test_demo_nokvm.sh SOURCE_DIR: the demo never hangs on a server that
# cannot open KVM.  In a private mount namespace /dev/kvm is /dev/null
# (an fd that answers no KVM ioctl), KVMMU_VM is set so the demo does not
# hand itself to the VM runner, and the demo must exit non-zero, saying
# that mmu-server exited, well within its own 30 s socket wait.
set -eu
src=$1
out=$(mktemp /tmp/kvmmu-demo-nokvm.XXXXXX)
trap 'rm -f "$out"' EXIT
ns=(unshare -m)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rm)

start=$SECONDS
rc=0
timeout 60 "${ns[@]}" bash -c '
	if [ -e /dev/kvm ]; then mount --bind /dev/null /dev/kvm || exit 99; fi
	KVMMU_VM=nokvm-test exec "$1/deploy/demo.sh"' _ "$src" >"$out" 2>&1 || rc=$?
took=$((SECONDS - start))
cat "$out"

failed=0
check() {
	if eval "$1"; then echo "ok: $2"; else
		echo "FAIL: $2"
		failed=1
	fi
}
check '[ $rc -ne 99 ]' "/dev/kvm hidden in a private mount namespace"
check '[ $rc -ne 124 ]' "the demo did not hang (exited after $took s)"
check '[ $rc -ne 0 ]' "the demo failed (status $rc)"
check 'grep -q "mmu-server exited" "$out"' "the demo said that mmu-server exited"
check 'grep -q "mmu-server: /dev/kvm" "$out"' "mmu-server said why"
exit $failed
