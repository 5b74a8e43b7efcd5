# USB mass storage's bulk-only transport and its recovery, over a simulated
# device behind the host controller ops (no controller, no DMA).  The test
# brings its own allocator, which gives back what the driver keeps.
UNIT_TESTS += usb_msc
usb_msc_SRCS := test/unit/test_usb_msc.c core/dev/usb/usb_msc.c core/dev/usb/usb.c \
	core/dev/usb/hub.c core/dev/blk.c core/dev/blk_wait.c
