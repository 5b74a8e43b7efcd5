HOST_BENCHES += slab_bench
slab_bench_BENCH_SRCS := test/bench/slab_bench.c test/bench/alloc_mix.c core/mm/slab.c core/mm/malloc.c test/host/kmem_host.c
slab_bench_BENCH_LIBS := -lmimalloc
