UNIT_TESTS += replay
replay_SRCS := test/unit/test_replay.c test/bench/replay.c
