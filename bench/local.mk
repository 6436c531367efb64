# bench/: benchmark programs, built on demand (make bench/bench_search).
EXTRA_PROGRAMS += bench/bench_search
bench_bench_search_SOURCES = bench/bench_search.c bench/fmapeak.c \
  bench/fmapeak.h
bench_bench_search_LDADD = libvq.la
CLEANFILES += bench/bench_search
EXTRA_DIST += bench/kmeans_faiss.py bench/README.md
