# bench/: benchmark programs, built on demand (make bench/bench_search).
EXTRA_PROGRAMS += bench/bench_search bench/bench_entropy bench/bench_pvq
bench_bench_search_SOURCES = bench/bench_search.c bench/fmapeak.c \
  bench/fmapeak.h
bench_bench_search_LDADD = libvq.la
bench_bench_entropy_SOURCES = bench/bench_entropy.c
bench_bench_entropy_LDADD = libvq.la
bench_bench_pvq_SOURCES = bench/bench_pvq.c
bench_bench_pvq_LDADD = libvq.la
CLEANFILES += bench/bench_search bench/bench_entropy bench/bench_pvq
EXTRA_DIST += bench/benchutil.py bench/kmeans_faiss.py bench/tokens_xz.py \
  bench/pvq_rd.py bench/image_rd.py bench/imagemetrics.py bench/rvq_faiss.py \
  bench/image_rvq.py bench/README.md
