# make test / stress / fuzz / bench / check-deps

# Debian's python3 (with python3-matplotlib from deps.sh), even where another python3 comes first in PATH
PYTHON := $(firstword $(wildcard /usr/bin/python3) python3)
FUZZ_SECONDS ?= 15
TEST_JOBS ?= 2
# Host tests that are scripts, not cmocka binaries; they print TAP too.
HOST_SCRIPTS := $(sort $(wildcard test/host/*_test.py))

test: deps
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) test-build
	@$(PYTHON) test/run_tests.py --unit $(UNIT_BINS) $(HOST_SCRIPTS) --fuzz $(FUZZ_BINS) \
		--fuzz-seconds $(FUZZ_SECONDS) --qemu --jobs $(TEST_JOBS)

test-build: $(UNIT_BINS) $(FUZZ_BINS) $(BENCH_HOST) $(BENCH_LINUX_INIT) $(BENCH_LINUX_DYN) $(TRACE_REPLAY) image \
	check-deps

# SWAP_STRESS_SECONDS: the length of the swap working-set run (4 times RAM,
# every touch checked) inside the vm_pageout unit test.
SWAP_STRESS_SECONDS ?= 1800
stress: deps $(UNIT_BINS)
	@PHOBOS_STRESS=1 PHOBOS_SWAP_SECONDS=$(SWAP_STRESS_SECONDS) \
		python3 test/run_tests.py --unit $(UNIT_BINS)

fuzz: deps $(FUZZ_BINS)
	@$(PYTHON) test/run_tests.py --fuzz $(FUZZ_BINS) --fuzz-seconds $(or $(FUZZ_LONG),300)

bench: deps $(BENCH_BINS) $(TRACE_REPLAY) $(BENCH_LINUX_INIT) $(BENCH_LINUX_DYN) image
	@$(PYTHON) test/bench/run_bench.py $(BENCH_BINS)

# the timer tick's effect on the benchmark's figures (tick on against tick=off)
bench-tick: deps image
	@$(PYTHON) test/bench/tick_effect.py

check-deps:
	@scripts/check_deps.sh

.PHONY: test-build stress bench-tick
