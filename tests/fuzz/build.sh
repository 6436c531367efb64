#!/bin/sh
# Builds the coverage-guided fuzzer for the .vq decoders with clang and
# libFuzzer (Debian: clang, libclang-rt-14-dev), from the library sources
# (libvq/ and codecs/) compiled with coverage, AddressSanitizer and
# UndefinedBehaviorSanitizer, and CRC checks off (VQ_FUZZING) so inputs
# reach the decoders. Links FFTW, libpng, libjpeg and pthreads as the
# image codec needs (flags from pkg-config when it knows them).
#   tests/fuzz/build.sh SRCDIR BUILDDIR      (or: make fuzz)
# Then run it on a copy of the corpus, for example:
#   cp -r tests/fuzz/corpus /tmp/c && tests/fuzz/fuzz_decode /tmp/c \
#     -max_total_time=300
set -eu
src=${1:-.}
build=${2:-.}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || {
  echo "clang not found (Debian packages clang and libclang-rt-14-dev)"; exit 1; }
out="$build/tests/fuzz"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
pc() { pkg-config "$@" 2>/dev/null || true; }
ext_cflags=$(pc --cflags fftw3f libpng libjpeg)
ext_libs=$(pc --libs fftw3f libpng libjpeg)
[ -n "$ext_libs" ] || ext_libs="-lfftw3f -lpng -ljpeg"
flags="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -DVQ_FUZZING=1
  -DVQ_BUILDING_LIBRARY -Wno-unknown-pragmas -I$build -I$src/libvq
  -I$src/libvq/include"
# codecs/: every source but the programs (a main() of their own)
codecs=$(grep -L '^int main(' "$src"/codecs/*/*.c || true)
for f in "$src"/libvq/*.c "$src"/libvq/dsp/dist.c $codecs; do
  $CLANG $flags $ext_cflags -c "$f" -o "$obj/$(basename "$f" .c).o"
done
# The SIMD kernels need their own flags (config.h says which were built).
if grep -q 'define VQ_HAVE_AVX2 1' "$build/config.h"; then
  $CLANG $flags -mavx2 -mfma -c "$src/libvq/dsp/dist_avx2.c" -o "$obj/avx2.o"
fi
if grep -q 'define VQ_HAVE_AVX512 1' "$build/config.h"; then
  $CLANG $flags -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma \
    -c "$src/libvq/dsp/dist_avx512.c" -o "$obj/avx512.o"
fi
mkdir -p "$out"
$CLANG $flags -fsanitize=fuzzer "$src/tests/fuzz/fuzz_decode.c" "$obj"/*.o \
  -o "$out/fuzz_decode" $ext_libs -lopenblas -llapacke -lz -lpthread -lm
echo "built $out/fuzz_decode"
