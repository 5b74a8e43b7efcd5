FUZZERS += config_fuzz
config_fuzz_FUZZ_SRCS := test/fuzz/config_fuzz.c core/config.c core/lib/guid.c
