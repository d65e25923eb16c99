#!/bin/bash
# test_layout.sh SRC: README.md's Layout table and ARCHITECTURE.md list
# what the tree holds.  Every source file of the programs, the libraries,
# the payloads, the benchmarks, the protocol and deploy/ (.c .h .S .proto
# .sh .py, and deploy/vm's scripts without a suffix) must be named, in
# backticks, in one of the two (a header through the .c file of the same
# name beside it: the two are one module); under tests/, every folder.  A file added
# without a word about it fails here.
set -eu
src=$1
cd "$src"
passed=0 failed=0
named() {
	# `name`, or name inside a backticked list such as `a.c`, `b.c`.
	if grep -Fq -- "\`$1\`" README.md ARCHITECTURE.md ||
		grep -Eq -- "\`[^\`]*\\b${1//./\\.}\\b[^\`]*\`" README.md ARCHITECTURE.md; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $2 is named in neither README.md's Layout table nor ARCHITECTURE.md"
	fi
}
# No process substitution: the VM runner's init has no /dev/fd.
files=$(find common lib mmu-server vmm-frontend kvmmu-virtd mmuctl guest \
	bench proto deploy -type f \( -name '*.c' -o -name '*.h' -o \
	-name '*.S' -o -name '*.proto' -o -name '*.sh' -o -name '*.py' -o \
	-path 'deploy/vm/*' ! -name '*.*' \) |
	while IFS= read -r f; do
		case $f in
		*.h) [ -f "${f%.h}.c" ] && f=${f%.h}.c ;;
		esac
		echo "$f"
	done | sort -u)
for f in $files; do
	named "$(basename "$f")" "$f"
done
for d in $(cd tests && find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./||' | sort); do
	named "$d/" "tests/$d/"
done
echo "test_layout: $passed named, $failed not"
[ "$failed" -eq 0 ]
