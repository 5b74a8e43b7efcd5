FUZZERS += fat_fuzz
fat_fuzz_FUZZ_SRCS := test/fuzz/fat_fuzz.c fs/fat_vol.c fs/fat_table.c fs/fat_dir.c fs/fat_file.c \
	core/dev/blk.c test/host/malloc_libc.c
