FUZZERS += gpt_fuzz
gpt_fuzz_FUZZ_SRCS := test/fuzz/gpt_fuzz.c core/dev/gpt.c core/dev/blk.c core/lib/crc32.c core/lib/guid.c test/host/blk_file.c
