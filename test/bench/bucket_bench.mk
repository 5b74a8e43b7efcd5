# The app library's bucket allocator on the host against glibc, mimalloc and
# jemalloc, each in child processes of its own.
HOST_BENCHES += bucket_bench
bucket_bench_BENCH_SRCS := test/bench/bucket_bench.c test/bench/alloc_mix.c app/lib/bucket.c \
	test/host/bucket_sys_host.c
bucket_bench_BENCH_LIBS := -lmimalloc
$(BUILD)/host/bench/bucket_bench: app/lib/bucket.h app/lib/sys.h test/host/bucket_sys_host.h
