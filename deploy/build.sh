#!/bin/sh
# build.sh: install what kvmmu needs and build it into build/ (and, with
# --sanitize, an ASan+UBSan build into build-asan/).
set -eu
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
if [ "${1:-}" = "--sanitize" ]; then
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKVMMU_SANITIZE=ON \
		>/dev/null
	cmake --build build-asan -j"$jobs"
fi
