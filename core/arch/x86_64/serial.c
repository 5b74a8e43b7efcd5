/*
 * COM1 (0x3f8) at 115200 8N1, polled.  The divisor is 115200 / baud = 1.
 * Each byte waits for the transmit holding register with a bound, so a
 * missing UART (real PCs without COM1 read 0xff) cannot hang the kernel.
 */
#include "core/arch/x86_64/cpu.h"
#include "core/console.h"

#define COM1 0x3f8
#define SERIAL_LSR_THRE 0x20
#define SERIAL_LSR_DR 0x01 /* a received byte waits */

static bool serial_present;

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB on to set the divisor */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8 bits, no parity, one stop bit */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
	serial_present = inb(COM1 + 5) != 0xff;
}

static void serial_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & SERIAL_LSR_THRE); i++)
		cpu_pause();
	outb(COM1, (uint8_t)c);
}

int serial_getc(void)
{
	if (!serial_present || !(inb(COM1 + 5) & SERIAL_LSR_DR))
		return -1;
	return inb(COM1);
}

void serial_write(const char *s, size_t len)
{
	if (!serial_present)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
