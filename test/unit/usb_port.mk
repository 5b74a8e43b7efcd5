# The boot-time watch over root and hub ports (debounce, warm reset, reset
# retries, the USB 2 fallback) against scripted ports on the test's clock.
UNIT_TESTS += usb_port
usb_port_SRCS := test/unit/test_usb_port.c core/dev/usb/usb_port.c test/host/malloc_libc.c test/host/clock_sim.c
usb_port_LIBS := -Wl,--wrap=clock_us -Wl,--wrap=blk_wait_delay
