#!/bin/bash
# test_man.sh SOURCE_DIR BIN_DIR BUILD_DIR: the manual pages in docs/man/.
# Each renders with no warning from groff or man; each program's page
# has the sections a Debian page has, names every long flag its --help
# prints, and lists in EXIT STATUS every status its --help names; and
# `cmake --install` puts every page in its section's directory.
set -u
src=$1 bin=$2 build=$3
man=$src/docs/man
for t in groff man; do
	if ! command -v $t >/dev/null; then
		echo "SKIP test_man: $t is not installed (deploy/install-deps.sh" \
			"installs groff-base and man-db)"
		exit 77
	fi
done
dir=$(mktemp -d /tmp/kvmmu-man.XXXXXX)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
check() {
	if eval "$1"; then passed=$((passed + 1)); else
		failed=$((failed + 1))
		echo "FAIL: $2"
	fi
}

pages="mmu-server.8 kvmmu-virtd.8 vmm-frontend.1 mmuctl.1 kvmmu-domain.5"
for p in $pages; do
	check '[ -f "$man/$p" ]' "docs/man/$p exists"
	groff -man -ww -z "$man/$p" >"$dir/groff" 2>&1
	check '[ $? -eq 0 ] && [ ! -s "$dir/groff" ]' \
		"$p: groff -man -ww: $(head -3 "$dir/groff")"
	MANWIDTH=80 man --warnings -l "$man/$p" >"$dir/text" 2>"$dir/man"
	check '[ ! -s "$dir/man" ] && [ -s "$dir/text" ]' \
		"$p: man --warnings -l: $(head -3 "$dir/man")"
	for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		check 'grep -q "^\.SH \"*$s\"*$" "$man/$p"' "$p: section $s"
	done
done

# The page's source with roff's escaped hyphens made plain.
plain() { sed 's/\\-/-/g' "$man/$1"; }
# The lines of one section of a page (to the next .SH).
section() { plain "$1" | sed -n "/^\.SH \"*$2\"*\$/,/^\.SH/p"; }

for p in mmu-server.8 kvmmu-virtd.8 vmm-frontend.1 mmuctl.1; do
	prog=${p%.*}
	for s in OPTIONS "EXIT STATUS" FILES; do
		check 'grep -q "^\.SH \"*$s\"*$" "$man/$p"' "$p: section $s"
	done
	"$bin/$prog" --help >"$dir/help" 2>/dev/null
	check '[ -s "$dir/help" ]' "$prog --help prints its usage"
	flags=$(grep -o -- '--[a-z][a-z0-9-]*' "$dir/help" | sort -u)
	check '[ -n "$flags" ]' "$prog --help names its flags"
	section "$p" OPTIONS >"$dir/options"
	for f in $flags; do
		check 'grep -q -- "$f\\b" "$dir/options"' \
			"$p: OPTIONS describes $f (from $prog --help)"
	done
	# "Exit status: 0 stopped ..., 1 ..." to the pointer at the page.
	codes=$(sed -n '/Exit status:/,$p' "$dir/help" | tr '\n' ' ' |
		sed 's/.*Exit status://; s/See [a-z-]*([0-9])\.//; s/--[a-z-]*//g' |
		grep -oE '\b[0-9]+(\.\.[0-9]+)?\b' | sort -u)
	check '[ -n "$codes" ]' "$prog --help lists its exit statuses"
	section "$p" "EXIT STATUS" >"$dir/exit"
	for c in $codes; do
		check 'grep -qE "(^|[^0-9.])$c([^0-9.]|\$)" "$dir/exit"' \
			"$p: EXIT STATUS lists $c (from $prog --help)"
	done
done

# The install target puts each page under its section.
DESTDIR="$dir/root" cmake --install "$build" >/dev/null
for p in $pages; do
	n=${p##*.}
	check '[ -n "$(find "$dir/root" -path "*/man/man$n/$p" -type f)" ]' \
		"cmake --install installs $p into man$n"
done
echo "test_man: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
