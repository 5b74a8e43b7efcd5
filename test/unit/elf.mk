# The ELF loader's checks, against two images linked by the kernel's Clang
# and ld.lld from test/unit/elf/app.c: one with app.ld's fixed layout (every
# segment known, mutated once per check) and one with ld.lld's default
# layout at PHOBOS_APP_BASE.
UNIT_TESTS += elf
elf_SRCS := test/unit/test_elf.c core/elf.c
elf_CFLAGS := -DELF_FIXTURE_DIR='"$(BUILD)/host/elf"'
ELF_FIXTURES := $(BUILD)/host/elf/app-fixed.elf $(BUILD)/host/elf/app-default.elf

$(BUILD)/host/unit/elf: $(ELF_FIXTURES)

$(BUILD)/host/elf/app.o: test/unit/elf/app.c
	@mkdir -p $(@D)
	$(KCC) -target x86_64-unknown-none-elf -std=gnu11 -ffreestanding -fno-pic -O2 -c $< -o $@

$(BUILD)/host/elf/app-fixed.elf: $(BUILD)/host/elf/app.o test/unit/elf/app.ld
	ld.lld -nostdlib -static -z max-page-size=4096 -T test/unit/elf/app.ld -o $@ $<

$(BUILD)/host/elf/app-default.elf: $(BUILD)/host/elf/app.o
	ld.lld -nostdlib -static -z max-page-size=4096 --image-base=0x400000 -e _start -o $@ $<
