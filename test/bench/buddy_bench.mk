HOST_BENCHES += buddy_bench
buddy_bench_BENCH_SRCS := test/bench/buddy_bench.c test/bench/alloc_mix.c core/mm/buddy.c core/mm/avl.c
buddy_bench_BENCH_LIBS := -lmimalloc
