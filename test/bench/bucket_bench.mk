# The app library's bucket allocator on the host against glibc, mimalloc and
# jemalloc.  The bench rule has no CFLAGS hook, so the app's include
# directory rides in with the libraries.
HOST_BENCHES += bucket_bench
bucket_bench_BENCH_SRCS := test/bench/bucket_bench.c test/bench/alloc_mix.c app/lib/bucket.c \
	test/host/bucket_sys_host.c
bucket_bench_BENCH_LIBS := -Iapp/include -lmimalloc
$(BUILD)/host/bench/bucket_bench: app/lib/bucket.h app/lib/sys.h test/host/bucket_sys_host.h
