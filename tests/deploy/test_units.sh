#!/bin/bash
# test_units.sh BUILD_DIR: deploy/install.sh into a staging root with a
# prefix that is not the default, then: the units name that prefix's
# binaries, systemd-analyze verifies them, their exposure scores stay at or
# below what they were when the hardening was written (mmu-server <= 3.0,
# vmm-frontend@ <= 1.0, kvmmu-virtd <= 2.0; lower is safer) so that a later
# edit cannot quietly drop a protection; and the uninstall leaves nothing.
set -eu
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v systemd-analyze >/dev/null; then
	echo "FAIL test_units: systemd-analyze is not installed" \
		"(deploy/install-deps.sh installs systemd)"
	exit 1
fi
dir=$(mktemp -d /tmp/kvmmu-units.XXXXXX)
trap 'rm -rf "$dir"' EXIT
prefix=/opt/kvmmu-test
root=$dir/root
DESTDIR=$root "$src/deploy/install.sh" --prefix "$prefix" --build "$build" \
	>/dev/null
bin=$root$prefix/bin
unitdir=$root$prefix/lib/systemd/system
passed=0 failed=0
check() {
	if "$@"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); echo "FAIL: $*"; fi
}
for f in mmu-server vmm-frontend mmuctl kvmmu-virtd; do check test -x "$bin/$f"; done
check test -f "$root$prefix/lib/sysusers.d/kvmmu.conf"
check test -f "$root$prefix/lib/tmpfiles.d/kvmmu.conf"
# Nothing outside the prefix (the units follow it, not /usr/local).
check test "$(cd "$root" && find . -type f ! -path "./${prefix#/}/*" | wc -l)" -eq 0
for u in mmu-server.service vmm-frontend@.service kvmmu-virtd.service; do
	exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unitdir/$u")
	check test "$exec_path" = "$prefix/bin/${u%%[@.]*}"
	# systemd-analyze checks that ExecStart exists: point it into the
	# staging root.
	sed "s|^ExecStart=$prefix/bin|ExecStart=$bin|" "$unitdir/$u" >"$dir/$u"
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
check at_most "$dir/kvmmu-virtd.service" 2.0
check grep -q '^DeviceAllow=/dev/kvm rw' "$dir/mmu-server.service"
check grep -q '^PrivateDevices=yes' "$dir/vmm-frontend@demo.service"
# Its frontends outlive a restart of kvmmu-virtd, which adopts them.
check grep -q '^KillMode=process' "$dir/kvmmu-virtd.service"
# The frontends it starts drop to their own uid and it may stop them.
check grep -q '^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL$' \
	"$dir/kvmmu-virtd.service"
# Uninstall: no file, no directory of ours left in the staging root.
DESTDIR=$root "$src/deploy/install.sh" --uninstall --prefix "$prefix" >/dev/null
check test -z "$(cd "$root" && find . -mindepth 1 | head -5)"
echo "test_units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
