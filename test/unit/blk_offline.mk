UNIT_TESTS += blk_offline
blk_offline_SRCS := test/unit/test_blk_offline.c fs/fat_vol.c fs/fat_table.c fs/fat_dir.c \
	fs/fat_file.c core/dev/blk.c test/host/malloc_libc.c
