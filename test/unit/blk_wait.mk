UNIT_TESTS += blk_wait
blk_wait_SRCS := test/unit/test_blk_wait.c core/dev/blk_wait.c
# the test owns the clock the helper reads: one it can stop
blk_wait_LIBS := -Wl,--wrap=clock_us
