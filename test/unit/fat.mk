UNIT_TESTS += fat
fat_SRCS := test/unit/test_fat.c fs/fat_vol.c fs/fat_table.c fs/fat_dir.c fs/fat_file.c \
	core/dev/blk.c test/host/blk_file.c test/host/malloc_libc.c
