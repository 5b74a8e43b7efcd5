UNIT_TESTS += gpt
gpt_SRCS := test/unit/test_gpt.c core/dev/gpt.c core/dev/blk.c core/dev/blk_testdisk.c core/lib/crc32.c core/lib/guid.c test/host/blk_file.c
