# The benchmark app's workloads (app/bench/) built three ways besides the
# Phobos app (mk/app.mk): a host program with sanitizers (make test runs it
# tiny), and for the Linux guest of make bench a static init and a dynamic
# binary (glibc, or mimalloc and jemalloc preloaded, for alloc_mix).

BENCH_COMMON := $(filter-out app/bench/os_% app/bench/main_linux.c,$(sort $(wildcard app/bench/*.c)))
BENCH_LINUX_SRCS := $(BENCH_COMMON) app/bench/os_linux.c
BENCH_HOST := $(BUILD)/host/bench_host
BENCH_LINUX_INIT := $(BUILD)/bench/linux/init
BENCH_LINUX_DYN := $(BUILD)/bench/linux/phobos-bench
BENCH_GEN := $(BUILD)/gen/phobos_commit.h
BENCH_DEPS := $(wildcard app/bench/*.h) $(BENCH_GEN)
BENCH_LINUX_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -I$(BUILD)/gen

# The commit the results files name; rewritten only when it changes, so a
# new commit rebuilds the app and nothing else does.
$(BENCH_GEN): FORCE
	@mkdir -p $(@D)
	@c=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	 git diff --quiet HEAD 2>/dev/null || c="$$c+"; \
	 echo "#define PHOBOS_COMMIT \"$$c\"" > $@.tmp; \
	 cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(BENCH_HOST): $(BENCH_LINUX_SRCS) app/bench/main_linux.c $(BENCH_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -I$(BUILD)/gen -o $@ $(BENCH_LINUX_SRCS) app/bench/main_linux.c

$(BENCH_LINUX_INIT): $(BENCH_LINUX_SRCS) test/bench/linux_init.c $(BENCH_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(BENCH_LINUX_CFLAGS) -static -o $@ $(BENCH_LINUX_SRCS) test/bench/linux_init.c

$(BENCH_LINUX_DYN): $(BENCH_LINUX_SRCS) app/bench/main_linux.c $(BENCH_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(BENCH_LINUX_CFLAGS) -o $@ $(BENCH_LINUX_SRCS) app/bench/main_linux.c

.PHONY: FORCE
FORCE:
