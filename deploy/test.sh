#!/bin/sh
# test.sh: the whole test suite.  Installs the Debian packages, builds the
# normal, the ASan+UBSan and the libFuzzer trees, runs the fuzzers, then
# every CTest test.
#
# Where this host can run KVM (mmu-server --check-kvm), the tests run here,
# once per build.  Where it cannot (no /dev/kvm, as on the project's own
# machines), it says so in one line and runs them inside throwaway VMs
# with a real KVM (deploy/vm/run), as a matrix:
#   1. Linux 6.12 (bookworm-backports), TDP MMU: every test;
#   2. Linux 6.12, shadow MMU: the zap, transaction and boot-churn tests;
#   3. Linux 6.1 (bookworm, no KVM_X86_QUIRK_SLOT_ZAP_ALL): zap mode
#      memslot refused everywhere, mode=all still runs;
#   4. Linux 6.12, TDP MMU, the ASan+UBSan build: every test.
# Lanes 1-3 and lane 4 run at the same time, in two VMs.
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
# step NAME COMMAND...: runs one step of the suite, remembering a failure.
step() {
	name=$1
	shift
	echo "== test.sh: $name"
	"$@" || echo "  $name" >>"$logs/failed"
}
# A run that executes no test is a failure, not a pass.
ct() {
	ctest --output-on-failure --no-tests=error --test-dir "$@"
}

step "fuzzers" ct build-fuzz -R '^fuzz\.'
if why=$(build/bin/mmu-server --check-kvm); then
	echo "test.sh: $why: running the tests on this host"
	step "normal build" ct build
	step "ASan+UBSan build" ct build-asan
else
	echo "test.sh: $why on this host: running the tests inside VMs (deploy/vm/run)"
	vm=./deploy/vm/run
	# Two VMs at once, one per CPU, never two CTest runs in one build
	# tree: lanes 1-3 (build/) in the background into a log, shown when
	# they are done; lane 4 (build-asan/) here.
	(
		step "Linux 6.12, TDP MMU: every test" \
			$vm --timeout 1500 -- ctest --output-on-failure \
			--no-tests=error --test-dir build
		step "Linux 6.12, shadow MMU: zap, transactions, boot churn" \
			$vm --mmu shadow --timeout 900 -- ctest --output-on-failure \
			--no-tests=error --test-dir build \
			-R '^kvm\.(zap|zap_support|txn|bootchurn)$'
		step "Linux 6.1: zap mode memslot refused, mode=all runs" \
			$vm --kernel bookworm --timeout 600 -- ctest \
			--output-on-failure --no-tests=error --test-dir build \
			-R '^kvm\.zap_support$'
	) >"$logs/lanes-1-3.log" 2>&1 &
	lanes=$!
	# Interrupted: stop the background lane's runner (which stops its VM).
	trap 'pkill -TERM -P "$lanes" 2>/dev/null; exit 130' INT TERM
	echo "test.sh: lanes 1-3 (build/) run in the background into $logs/lanes-1-3.log"
	step "Linux 6.12, TDP MMU: ASan+UBSan build" \
		$vm --timeout 1500 -- ctest --output-on-failure --no-tests=error \
		--test-dir build-asan
	wait "$lanes" || :
	echo "== test.sh: lanes 1-3, from $logs/lanes-1-3.log"
	cat "$logs/lanes-1-3.log"
fi
if [ -s "$logs/failed" ]; then
	echo "test.sh: FAILED:"
	cat "$logs/failed"
	exit 1
fi
echo "test.sh: every step passed"
