#!/bin/sh
# test.sh: the whole test suite.  Installs the Debian packages, builds the
# normal, the ASan+UBSan and the libFuzzer trees, runs the fuzzers, then
# every CTest test.  A test that skips fails the suite: a KVM test that
# cannot run here runs in a VM, never not at all.
#
# Where each test runs is decided by what this host's KVM can run
# (`mmu-server --check-kvm`, which boots a probe guest):
#   full KVM (exit 0): both builds here; then, in VMs (deploy/vm/run), the
#      kernels this host does not have: Linux 6.12 with the shadow MMU (the
#      zap, transaction and boot-churn tests) and Linux 6.1 (no
#      KVM_X86_QUIRK_SLOT_ZAP_ALL: zap mode memslot refused).
#   payloads only (exit 3, e.g. kvm_pvm) or no KVM (exit 1): the tests that
#      need no KVM (unit, style, deploy: $nokvm) run here, in both builds.
#      Every other test runs inside throwaway VMs with a real KVM, two at
#      a time (one per CPU), all under an emulated CPU:
#   1. Linux 6.12 (bookworm-backports), TDP MMU, the normal build: every
#      KVM test but the kvm.linux* ones;
#   2. Linux 6.12, shadow MMU: the zap, transaction and boot-churn tests;
#   3. Linux 6.1 (bookworm): zap mode memslot refused, mode=all still runs;
#   4. Linux 6.12, TDP MMU, the ASan+UBSan build: the kvm.linux* tests.
#      Lanes 1-3 run in one VM, lane 4 in the other.
#   With payloads only, kvmmu's payload tests also run here, in the
#      ASan+UBSan build (real, unemulated KVM).
#   With no KVM, every test twice would be about 45 minutes of emulated
#      time, 23 on two CPUs after the builds: each KVM test runs once
#      instead, in the ASan+UBSan build
#      (lane 4), but for those where the normal build shows more: the
#      linux-guest ones through libvirt and integration.cluster (a scale
#      test), which lane 1 runs; lanes 2 and 3 as above.  Lane 1's VM then
#      runs part of lane 4's kvm.linux* tests ($linux_late), after lane 3,
#      on disjoint sets of the one build-asan/ tree.
# Where Linux boots under an emulated CPU (every lane but a full KVM's),
# each test that boots it runs once: those of kvmmu's own programs
# (kvm.linux*) in the ASan+UBSan build, where memory errors show, those
# through libvirt (kvmmu-virtd, label linux-guest) in the normal one.
# KVMMU_HOST_KVM=none or =payloads makes the script treat this host as that
# kind (to test the other paths on one machine; the suite never needs it).
# Every step runs even when an earlier one failed; the last line says
# which failed, and the status is non-zero if any did.
set -eu
cd "$(dirname "$0")/.."
./deploy/build.sh --sanitize
# The libFuzzer targets, with clang, each for a bounded time on a copy of
# its seed corpus (tests/fuzz; KVMMU_FUZZ_SECONDS sets how long).
CC=clang cmake -S . -B build-fuzz -DKVMMU_FUZZ=ON \
	-DKVMMU_FUZZ_SECONDS="${KVMMU_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_request fuzz_memmap fuzz_virtd

logs=build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
# step NAME COMMAND...: runs one step of the suite, remembering a failure,
# or a test that skipped (ctest's "***Skipped"), which counts as one.  A
# VM whose emulated CPU stalled (deploy/vm/run's 126: QEMU's hang under
# TCG, not a test's result) is said and run once more; a second stall
# fails the step.
step() {
	name=$1
	shift
	log=$(mktemp "$logs/step.XXXXXX")
	echo "== test.sh: $name"
	{
		rc=0
		"$@" || rc=$?
		if [ "$rc" = 126 ] && [ "$1" = "$vm" ]; then
			echo "test.sh: $name: the VM's emulated CPU stalled" \
				"(deploy/vm/run: 126); running the step once more"
			rc=0
			"$@" || rc=$?
		fi
		echo "$rc" >"$log.rc"
	} 2>&1 | tee "$log"
	if [ "$(cat "$log.rc")" != 0 ]; then
		echo "  $name" >>"$logs/failed"
	elif grep -q -e '\*\*\*Skipped' -e 'Not Run' "$log"; then
		echo "  $name: a test skipped (a skip is a failure here)" \
			>>"$logs/failed"
	fi
}
# A run that executes no test is a failure, not a pass.
ct() {
	ctest --output-on-failure --no-tests=error --test-dir "$@"
}
vm=./deploy/vm/run
# The Linux-guest tests the ASan+UBSan build runs in place of lane 1,
# and those of them lanes 1-3's VM runs after them where this host has
# no KVM at all.
linux_asan='^kvm\.linux'
linux_late='^kvm\.linux_(disk|shutdown|backend_kill|fs)$'
# With no KVM: what lane 1 runs of the normal build, besides the
# linux-guest tests through libvirt.
normal_once='^integration\.cluster$'
# The tests that need no KVM: on a host without a full KVM they run here,
# not emulated in a VM.
nokvm='^(unit|style|deploy)\.'

step "fuzzers" ct build-fuzz -R '^fuzz\.'
kvm=$(build/bin/mmu-server --check-kvm) && kind=0 || kind=$?
case "${KVMMU_HOST_KVM:-}" in
"") ;;
none) kind=1 kvm="KVM none (KVMMU_HOST_KVM=none; the probe said: $kvm)" ;;
payloads) [ "$kind" = 1 ] ||
	kind=3 kvm="KVM payloads only (KVMMU_HOST_KVM=payloads; the probe said: $kvm)" ;;
*)
	echo "test.sh: KVMMU_HOST_KVM='$KVMMU_HOST_KVM' is not none or payloads" >&2
	exit 2
	;;
esac

# The kernels a host does not have: shadow MMU and Linux 6.1, in VMs.
matrix() {
	step "Linux 6.12, shadow MMU: zap, transactions, boot churn" \
		$vm --mmu shadow --timeout 900 -- ctest --output-on-failure \
		--no-tests=error --test-dir build \
		-R '^kvm\.(zap|zap_support|txn|bootchurn|probe|backing)$'
	step "Linux 6.1: zap mode memslot refused, mode=all runs; RAM backing" \
		$vm --kernel bookworm --timeout 600 -- ctest \
		--output-on-failure --no-tests=error --test-dir build \
		-R '^kvm\.(zap_support|probe|backing)$'
}

case "$kind" in
0)
	echo "test.sh: $kvm: running the tests on this host"
	step "normal build, this host's KVM" ct build
	step "ASan+UBSan build, this host's KVM" ct build-asan
	matrix
	;;
*)
	if [ "$kind" = 3 ]; then
		echo "test.sh: $kvm: kvmmu's payload tests run here too; every test runs inside VMs (deploy/vm/run)"
	else
		echo "test.sh: $kvm on this host: running the tests inside VMs (deploy/vm/run)"
	fi
	# Two VMs at once, one per CPU: lanes 1-3 (build/) in the background
	# into a log, shown when they are done; lane 4 (build-asan/) here.
	# Where both run tests of build-asan/, they run disjoint sets.
	(
		if [ "$kind" = 3 ]; then
			step "Linux 6.12, TDP MMU: every KVM test but kvm.linux*" \
				$vm --timeout 1500 -- ctest --output-on-failure \
				--no-tests=error --test-dir build \
				-E "$linux_asan|$nokvm"
		else
			step "Linux 6.12, TDP MMU: the linux-guest tests through libvirt, $normal_once" \
				$vm --timeout 1200 -- sh -c "ctest \
				--output-on-failure --no-tests=error \
				--test-dir build -L linux-guest -E '$linux_asan'; \
				a=\$?; ctest --output-on-failure --no-tests=error \
				--test-dir build -R '$normal_once'; \
				exit \$((a | \$?))"
		fi
		matrix
		if [ "$kind" = 1 ]; then
			step "Linux 6.12, TDP MMU: ASan+UBSan build, $linux_late" \
				$vm --timeout 1200 -- ctest --output-on-failure \
				--no-tests=error --test-dir build-asan -R "$linux_late"
		fi
	) >"$logs/lanes-1-3.log" 2>&1 &
	lanes=$!
	# Interrupted: stop the background lane's runner (which stops its VM).
	trap 'pkill -TERM -P "$lanes" 2>/dev/null; exit 130' INT TERM
	echo "test.sh: lanes 1-3 (build/) run in the background into $logs/lanes-1-3.log"
	step "normal build, this host: the tests that need no KVM" \
		ct build -R "$nokvm"
	if [ "$kind" = 3 ]; then
		step "ASan+UBSan build, this host's KVM: all but linux-guest" \
			ct build-asan -LE linux-guest
		step "Linux 6.12, TDP MMU: ASan+UBSan build, kvm.linux*" \
			$vm --timeout 1500 -- ctest --output-on-failure \
			--no-tests=error --test-dir build-asan -R "$linux_asan"
	else
		step "ASan+UBSan build, this host: the tests that need no KVM" \
			ct build-asan -R "$nokvm"
		step "Linux 6.12, TDP MMU: ASan+UBSan build, every KVM test but the linux-guest ones through libvirt, $normal_once and $linux_late" \
			$vm --timeout 1500 -- sh -c "ctest --output-on-failure \
			--no-tests=error --test-dir build-asan -LE linux-guest \
			-E '$nokvm|$normal_once'; a=\$?; ctest --output-on-failure \
			--no-tests=error --test-dir build-asan -R '$linux_asan' \
			-E '$linux_late'; exit \$((a | \$?))"
	fi
	wait "$lanes" || :
	echo "== test.sh: lanes 1-3, from $logs/lanes-1-3.log"
	cat "$logs/lanes-1-3.log"
	;;
esac
if [ -s "$logs/failed" ]; then
	echo "test.sh: FAILED:"
	cat "$logs/failed"
	exit 1
fi
echo "test.sh: every step passed"
