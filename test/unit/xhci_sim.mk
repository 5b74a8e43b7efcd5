# The xHCI driver against a simulated controller (register file, command
# and transfer rings, events) and a simulated stick: 32-bit addressing,
# xHCI 0.96, protocol speed IDs, stuck and late ports, unplugging, and the
# escalation of a failed endpoint recovery.
UNIT_TESTS += xhci_sim
xhci_sim_SRCS := test/unit/test_xhci_sim.c core/dev/usb/xhci.c core/dev/usb/xhci_dev.c \
	core/dev/usb/usb.c core/dev/usb/hub.c core/dev/usb/usb_port.c test/host/malloc_libc.c
# the test owns the clock, and its blk_wait runs the controller between polls
xhci_sim_LIBS := -Wl,--wrap=clock_us
