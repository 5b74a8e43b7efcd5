/*
 * kernel_exit: the last line is always "PHOBOS EXIT <code>" (SPEC 7), then
 * whatever exit= asks.  QEMU's isa-debug-exit device at port 0x501 ends the
 * emulator with status (value << 1) | 1.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/kernel.h"

#define EXIT_QEMU_PORT 0x501
#define EXIT_RESET_PORT 0xcf9 /* PCI reset control: 0x06 = hard reset */

_Noreturn void kernel_exit(int code)
{
	kprintf("PHOBOS EXIT %d\n", code);
	switch (kernel_config.exit) {
	case CONFIG_EXIT_QEMU:
		outb(EXIT_QEMU_PORT, (uint8_t)code);
		break;
	case CONFIG_EXIT_REBOOT:
		outb(EXIT_RESET_PORT, 0x02);
		outb(EXIT_RESET_PORT, 0x06);
		outb(0x64, 0xfe); /* keyboard controller pulse, older boards */
		break;
	case CONFIG_EXIT_HALT:
		break;
	}
	cpu_halt_forever();
}
