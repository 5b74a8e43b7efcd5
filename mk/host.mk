# Host builds: unit tests (cmocka, ASan+UBSan), fuzzers (libFuzzer), host benchmarks.

HOST_CC ?= clang
HOST_WARN := -Wall -Wextra -Werror -Wno-unused-parameter
HOST_CFLAGS := -std=gnu11 -g -O1 $(HOST_WARN) -DPHOBOS_HOST -I. \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
HOST_BENCH_CFLAGS := -std=gnu11 -g -O2 $(HOST_WARN) -DPHOBOS_HOST -I.
HOST_FUZZ_CFLAGS := -std=gnu11 -g -O1 $(HOST_WARN) -DPHOBOS_HOST -DPHOBOS_FUZZ -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
HOST_ENV_SRCS := test/host/env_host.c core/lib/printf.c core/lib/errno.c

UNIT_TESTS :=
FUZZERS :=
HOST_BENCHES :=
include $(sort $(wildcard test/unit/*.mk))
include $(sort $(wildcard test/fuzz/*.mk))
include $(sort $(wildcard test/bench/*.mk))

UNIT_BINS := $(addprefix $(BUILD)/host/unit/,$(UNIT_TESTS))
FUZZ_BINS := $(addprefix $(BUILD)/host/fuzz/,$(FUZZERS))
BENCH_BINS := $(addprefix $(BUILD)/host/bench/,$(HOST_BENCHES))

define unit_rule
$(BUILD)/host/unit/$(1): $$($(1)_SRCS) $(HOST_ENV_SRCS) $$(wildcard core/*.h core/*/*.h core/*/*/*.h fs/*.h test/host/*.h test/sim/*.h)
	@mkdir -p $$(@D)
	$(HOST_CC) $(HOST_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $(HOST_ENV_SRCS) -lcmocka $$($(1)_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

define fuzz_rule
$(BUILD)/host/fuzz/$(1): $$($(1)_FUZZ_SRCS) $(HOST_ENV_SRCS) $$(wildcard core/*.h core/*/*.h fs/*.h test/host/*.h test/sim/*.h)
	@mkdir -p $$(@D)
	$(HOST_CC) $(HOST_FUZZ_CFLAGS) -o $$@ $$($(1)_FUZZ_SRCS) $(HOST_ENV_SRCS)
endef
$(foreach t,$(FUZZERS),$(eval $(call fuzz_rule,$(t))))

define bench_rule
$(BUILD)/host/bench/$(1): $$($(1)_BENCH_SRCS) $(HOST_ENV_SRCS) $$(wildcard core/*.h core/*/*.h fs/*.h test/host/*.h test/sim/*.h)
	@mkdir -p $$(@D)
	$(HOST_CC) $(HOST_BENCH_CFLAGS) -o $$@ $$($(1)_BENCH_SRCS) $(HOST_ENV_SRCS) $$($(1)_BENCH_LIBS)
endef
$(foreach t,$(HOST_BENCHES),$(eval $(call bench_rule,$(t))))

unit: $(UNIT_BINS)
	@$(PYTHON) test/run_tests.py --unit $(UNIT_BINS)
