#!/bin/sh
# The dependency rule (STYLE.md): machine-independent code reaches the rest
# of the system only through core/env.h (and errno.h).
#   core/mm   -> core/mm/*, core/env.h, core/errno.h (+ core/ktest.h, core/kbench.h for self-tests and benchmarks)
#   core/lib  -> core/lib/*, core/env.h, core/errno.h
#   fs        -> fs/*, core/env.h, core/errno.h, core/dev/blk.h, core/lib/*, core/mm/* (pager)
# Prints every violation and fails if there is one.
set -eu
cd "$(dirname "$0")/.."
bad=0
check() {
	dir=$1 allowed=$2
	for f in $(find "$dir" -name '*.[ch]' 2>/dev/null); do
		grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
			inc=$(echo "$line" | sed -n 's/.*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p')
			echo "$inc" | grep -Eq "^($allowed)$" || echo "$f: forbidden include $inc"
		done
	done
}
out=$( {
	check core/mm 'core/mm/[a-z0-9_]+\.h|core/env\.h|core/errno\.h|core/ktest\.h|core/kbench\.h'
	check core/lib 'core/lib/[a-z0-9_]+\.h|core/env\.h|core/errno\.h'
	check fs 'fs/[a-z0-9_]+\.h|core/env\.h|core/errno\.h|core/dev/blk\.h|core/lib/[a-z0-9_]+\.h|core/mm/[a-z0-9_]+\.h'
} )
if [ -n "$out" ]; then
	echo "$out"
	echo "check-deps: the dependency rule is broken (see STYLE.md)"
	exit 1
fi
