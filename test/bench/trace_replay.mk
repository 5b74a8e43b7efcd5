# trace_replay is a tool, not a benchmark of its own: make bench feeds it
# the replacement benchmark's trace.
TRACE_REPLAY := $(BUILD)/host/trace_replay
$(TRACE_REPLAY): test/bench/trace_replay.c test/bench/replay.c test/bench/replay.h
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 $(HOST_WARN) -I. -o $@ test/bench/trace_replay.c test/bench/replay.c
