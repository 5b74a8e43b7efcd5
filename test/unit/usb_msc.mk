# USB mass storage's bulk-only transport and its recovery, over a simulated
# device behind the host controller ops (no controller, no DMA).  The test
# brings its own allocator, which gives back what the driver keeps.
UNIT_TESTS += usb_msc
usb_msc_SRCS := test/unit/test_usb_msc.c core/dev/usb/usb_msc.c core/dev/usb/usb.c \
	core/dev/usb/hub.c core/dev/usb/usb_port.c core/dev/blk.c core/dev/blk_wait.c test/host/clock_sim.c
# the test owns the clock: a wait moves it at once and shows in the trail
usb_msc_LIBS := -Wl,--wrap=clock_us -Wl,--wrap=blk_wait_delay
