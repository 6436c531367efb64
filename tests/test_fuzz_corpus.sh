#!/bin/sh
# Replays the fuzz target's committed corpus (tests/fuzz/corpus): every
# input must run to completion without a crash or sanitizer report.
set -u
: "${top_builddir:?}" "${srcdir:?}"
R="$top_builddir/tests/fuzz/replay_decode"
C="$srcdir/tests/fuzz/corpus"
[ -x "$R" ] || { echo "replay_decode not built"; exit 1; }
n=$(ls "$C" 2>/dev/null | wc -l)
[ "$n" -ge 20 ] || { echo "corpus $C holds $n inputs, expected at least 20"; exit 1; }
exec "$R" "$C"
