#!/bin/sh
# Compiles the C example from README.md against an installed copy of the
# library (make install DESTDIR=...), found through pkg-config, and runs it.
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The first ```c block of the README.
sed -n '/^```c$/,/^```$/p' "$top_srcdir/README.md" | sed '1d;$d' > "$tmp/example.c"
if [ ! -s "$tmp/example.c" ]; then
  echo "no C example found in README.md"; exit 1
fi

$MAKE -s -C "$top_builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"; echo "make install failed"; exit 1; }
pcdir=$(find "$tmp/root" -name libvq.pc -printf '%h\n' | head -n 1)
[ -n "$pcdir" ] || { echo "libvq.pc was not installed"; exit 1; }
flags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$pcdir" \
  pkg-config --cflags --libs libvq)
echo "pkg-config: $flags"
# shellcheck disable=SC2086
# (a sanitizer build's library needs the program built the same way)
${CC:-cc} -std=c99 -Wall -Wextra -Werror ${SAN_CFLAGS:-} -o "$tmp/example" \
  "$tmp/example.c" $flags
libdir=$(dirname "$pcdir")
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/example")
echo "$out"
# The example trains on 4 separated groups and prints the codeword of a
# point of each group: four distinct indices.
n=$(echo "$out" | grep -c '^point ')
distinct=$(echo "$out" | sed -n 's/^point .* -> codeword \([0-9]*\).*/\1/p' | sort -u | wc -l)
[ "$n" -eq 4 ] && [ "$distinct" -eq 4 ] || { echo "unexpected output"; exit 1; }
# Only public symbols are exported.
so=$(find "$libdir" -name 'libvq.so.*.*' | head -n 1)
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^vq_' || true)
if [ -n "$bad" ]; then echo "non-public symbols exported: $bad"; exit 1; fi
internal=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -E '^vq_(malloc_array|rng_|map_file|atomic_|diag_set|argmin_)' || true)
if [ -n "$internal" ]; then echo "internal symbols exported: $internal"; exit 1; fi
echo "example OK"
