#!/bin/sh
# excerpt.sh FILE [LINES]: a guest's console from its first oops or panic
# line (what went wrong, not only the panic's last words: 45 lines from
# 3 before it), else its last LINES lines (default 5).  The Linux tests
# print it for a boot that did not end as it should.
at=$(grep -a -n -m1 -E 'Oops|BUG:|general protection|Kernel panic' "$1" |
	cut -d: -f1)
if [ -n "$at" ]; then
	tail -n "+$((at > 3 ? at - 3 : 1))" "$1" | head -n 45
else
	tail -n "${2:-5}" "$1"
fi
