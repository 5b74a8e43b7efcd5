# The ELF loader's parser.  Seeds in test/fuzz/corpus/elf/ are the unit
# test's images (test/unit/elf.mk), stripped: fixed-layout.elf (app.ld),
# lld-default.elf (ld.lld --image-base=0x400000) and lld-separate-code.elf
# (the same with -z separate-code).
FUZZERS += elf_fuzz
elf_fuzz_FUZZ_SRCS := test/fuzz/elf_fuzz.c core/elf.c
