# The app library's bucket allocator on the host (mmap-backed system calls),
# plain and with BUCKET_DEBUG; building the test also compiles bucket.c
# freestanding for the app's target, as the app build will.
UNIT_TESTS += bucket bucket_debug
bucket_SRCS := test/unit/test_bucket.c app/lib/bucket.c test/host/bucket_sys_host.c
bucket_debug_SRCS := $(bucket_SRCS)
bucket_debug_CFLAGS := -DBUCKET_DEBUG

BUCKET_FREESTANDING := $(BUILD)/app/bucket-freestanding.o $(BUILD)/app/bucket-freestanding-debug.o
$(BUILD)/host/unit/bucket $(BUILD)/host/unit/bucket_debug: app/lib/bucket.h app/lib/sys.h \
	test/host/bucket_sys_host.h app/include/phobos/abi.h $(BUCKET_FREESTANDING)
$(BUILD)/app/bucket-freestanding.o $(BUILD)/app/bucket-freestanding-debug.o: app/lib/bucket.c \
	app/lib/bucket.h app/lib/sys.h app/include/phobos/abi.h
	@mkdir -p $(@D)
	clang -target x86_64-unknown-none-elf -std=gnu11 -ffreestanding -fno-stack-protector \
		-fno-pic -mno-red-zone -mgeneral-regs-only -O2 -Wall -Wextra -Werror -Iapp/include \
		$(if $(findstring debug,$@),-DBUCKET_DEBUG) -c app/lib/bucket.c -o $@
