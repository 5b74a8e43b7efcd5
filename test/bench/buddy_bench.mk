HOST_BENCHES += buddy_bench
buddy_bench_SRCS := test/bench/buddy_bench.c core/mm/buddy.c core/mm/avl.c
buddy_bench_BENCH_SRCS := $(buddy_bench_SRCS)
buddy_bench_BENCH_LIBS := -lmimalloc
