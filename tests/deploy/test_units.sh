#!/bin/bash
# test_units.sh BUILD_DIR: `cmake --install` into a temp dir, then check
# the systemd units with systemd-analyze: they verify, and their exposure
# scores stay at or below what they were when the hardening was written
# (mmu-server <= 3.0, vmm-frontend@ <= 1.0; lower is safer), so a later
# edit cannot quietly drop a protection.
set -eu
build=$1
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP test_units: systemd-analyze is not installed"
	exit 77
fi
dir=$(mktemp -d /tmp/kvmmu-units.XXXXXX)
trap 'rm -rf "$dir"' EXIT
DESTDIR="$dir/root" cmake --install "$build" >/dev/null
bin="$dir/root/usr/local/bin"
passed=0 failed=0
check() {
	if "$@"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); echo "FAIL: $*"; fi
}
for f in mmu-server vmm-frontend mmuctl kvmmu-virtd; do check test -x "$bin/$f"; done
check test -f "$dir/root/usr/local/lib/sysusers.d/kvmmu.conf"
check test -f "$dir/root/usr/local/lib/tmpfiles.d/kvmmu.conf"
# The units name the installed binaries; point them at this install.
for u in mmu-server.service vmm-frontend@.service kvmmu-virtd.service; do
	sed "s|/usr/local/bin|$bin|" \
		"$dir/root/usr/local/lib/systemd/system/$u" >"$dir/$u"
done
cp "$dir/vmm-frontend@.service" "$dir/vmm-frontend@demo.service"
check systemd-analyze verify "$dir/mmu-server.service" \
	"$dir/vmm-frontend@demo.service" "$dir/kvmmu-virtd.service"
exposure() {
	systemd-analyze security --offline=yes "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
at_most() {
	local got
	got=$(exposure "$1")
	echo "$(basename "$1"): exposure $got (limit $2)"
	awk -v g="$got" -v l="$2" 'BEGIN { exit !(g != "" && g <= l) }'
}
check at_most "$dir/mmu-server.service" 3.0
check at_most "$dir/vmm-frontend@demo.service" 1.0
check grep -q '^DeviceAllow=/dev/kvm rw' "$dir/mmu-server.service"
check grep -q '^PrivateDevices=yes' "$dir/vmm-frontend@demo.service"
# Its frontends outlive a restart of kvmmu-virtd, which adopts them.
check grep -q '^KillMode=process' "$dir/kvmmu-virtd.service"
echo "test_units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
