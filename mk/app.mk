# The embedded app (app/): an ELF executable at 0x400000, carried inside
# the kernel by core/app_blob.S.  Its library shares the kernel's printf and
# string functions.

ACFLAGS := -target x86_64-unknown-none-elf -std=gnu11 -ffreestanding -fno-stack-protector \
	-fno-pic -fno-omit-frame-pointer -g -O2 \
	-Wall -Wextra -Werror -I. -MMD -MP
APP_SRCS := $(sort $(wildcard app/*.c app/lib/*.c)) $(BENCH_COMMON) app/bench/os_phobos.c \
	core/lib/printf.c core/lib/string.c
APP_ASM := $(sort $(wildcard app/lib/*.S))
APP_OBJS := $(patsubst %.c,$(BUILD)/app/%.o,$(APP_SRCS)) $(patsubst %.S,$(BUILD)/app/%.o,$(APP_ASM))
APP_ELF := $(BUILD)/app.elf

-include $(APP_OBJS:.o=.d)

$(BUILD)/app/%.o: %.c mk/app.mk
	@mkdir -p $(@D)
	$(KCC) $(ACFLAGS) -c $< -o $@

$(BUILD)/app/app/bench/report.o: $(BENCH_GEN)
$(BUILD)/app/app/bench/report.o: ACFLAGS += -I$(BUILD)/gen

$(BUILD)/app/%.o: %.S mk/app.mk
	@mkdir -p $(@D)
	$(KCC) $(ACFLAGS) -c $< -o $@

$(APP_ELF): $(APP_OBJS) app/app.ld
	ld.lld -nostdlib -static -z max-page-size=4096 -T app/app.ld -o $@ $(APP_OBJS)

$(BUILD)/kernel/core/app_blob.o: core/app_blob.S $(APP_ELF)
	@mkdir -p $(@D)
	$(KCC) $(KCFLAGS) -DAPP_BLOB='"$(APP_ELF)"' -c $< -o $@
