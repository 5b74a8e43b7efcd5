# Phobos top-level Makefile.
#
#   make / make all   the UEFI image build/phobos.img
#   make run          install missing tools, build, boot in QEMU (serial on the terminal)
#   make run-gui      the same with a QEMU window showing the framebuffer console
#   make debug        boot paused under QEMU's gdb stub; prints the gdb command
#   make test         host unit tests (ASan+UBSan), short fuzz runs, QEMU boots
#   make bench        benchmarks (RESULT lines), host and QEMU
#   make fuzz         longer fuzz runs
#   make clean
#
# Pieces add themselves through fragments, so no piece edits this file:
#   test/unit/<name>.mk   UNIT_TESTS += <name>;  <name>_SRCS := test + code under test
#   test/fuzz/<name>.mk   FUZZERS += <name>;     <name>_FUZZ_SRCS := harness + code
#   test/bench/<name>.mk  HOST_BENCHES += <name>; <name>_BENCH_SRCS, <name>_BENCH_LIBS
# Host builds get test/host/env_host.c, core/lib/printf.c and core/lib/errno.c
# added automatically.

BUILD ?= build
IMAGE_SIZE ?= 560M
SWAP_SIZE ?= 384M
ESP_SIZE ?= 160M
QEMU_MEM ?= 128M
QEMU_MACHINE ?= q35
CFG ?=

.DEFAULT_GOAL := all
.PHONY: all image run run-gui debug test bench fuzz clean deps unit check-deps

include mk/host.mk
include mk/kernel.mk
include mk/bench.mk
include mk/app.mk
include mk/image.mk
include mk/test.mk

all: image

deps:
	@scripts/deps.sh

clean:
	rm -rf $(BUILD)
