#!/bin/sh
# check-format.sh: every C file follows .clang-format (run by ctest).
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' \
	-not -path './build*')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "check-format: $(echo "$files" | wc -w) files formatted"
