#!/bin/sh
# test.sh: the whole test suite.  Installs the Debian packages, builds the
# normal and the ASan+UBSan trees, and runs every test in both.  Tests that
# need /dev/kvm run whenever it exists and are reported as skipped (with
# the reason) where it does not.
set -eu
cd "$(dirname "$0")/.."
./deploy/build.sh --sanitize
# The libFuzzer targets, with clang, each for a bounded time on a copy of
# its seed corpus (tests/fuzz; KVMMU_FUZZ_SECONDS sets how long).
CC=clang cmake -S . -B build-fuzz -DKVMMU_FUZZ=ON \
	-DKVMMU_FUZZ_SECONDS="${KVMMU_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_request fuzz_memmap
# A run that executes no test is a failure, not a pass.
ctest --test-dir build-fuzz -R '^fuzz\.' --output-on-failure --no-tests=error
ctest --test-dir build --output-on-failure --no-tests=error
ctest --test-dir build-asan --output-on-failure --no-tests=error
