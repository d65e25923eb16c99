#!/bin/sh
# run-fuzzer.sh FUZZER SEED_DIR SECONDS: fuzzes for SECONDS on a copy of
# the seed corpus (new inputs never land in the source tree).  Exits with
# the fuzzer's status: a crash, leak or oracle failure fails the test, and
# so does a fuzzer that is missing or did not run.
set -eu
fuzzer=$(readlink -f "$1")
[ -x "$fuzzer" ] || { echo "run-fuzzer: no fuzzer at $1" >&2; exit 1; }
work=$(mktemp -d /tmp/kvmmu-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$2/." "$work/corpus/"
status=0
(cd "$work" && "$fuzzer" -max_total_time="$3" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -print_final_stats=1 corpus) >"$work/log" 2>&1 ||
	status=$?
tail -n 15 "$work/log"
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
	[ -e "$f" ] || continue
	cp "$f" . && echo "run-fuzzer: reproducer kept as $(pwd)/$(basename "$f")"
done
grep -q "stat::number_of_executed_units" "$work/log" ||
	{ echo "run-fuzzer: the fuzzer did not run" >&2; exit 1; }
exit "$status"
