/* console: the dispatch of kernel text to serial and framebuffer. */
#include "core/console.h"

static struct irq_lock console_lock = IRQ_LOCK_INIT("console");
static unsigned console_have;
static unsigned console_on;

void console_init(const struct boot_fb *fb)
{
	serial_init();
	console_have = CONSOLE_SERIAL;
	if (fb != NULL && fbcon_init(fb))
		console_have |= CONSOLE_FB;
	console_on = console_have;
}

void console_select(unsigned mask)
{
	console_on = console_have & mask;
}

unsigned console_present(void)
{
	return console_have;
}

bool console_interrupted(void)
{
	bool hit = false;

	for (int c, n = 0; n < 64 && (c = serial_getc()) >= 0; n++) /* bounded: a babbling line */
		hit |= c == 0x03;
	return hit;
}

void console_write(const char *s, size_t len)
{
	irq_lock(&console_lock);
	if (console_on & CONSOLE_SERIAL)
		serial_write(s, len);
	if (console_on & CONSOLE_FB)
		fbcon_write(s, len);
	irq_unlock(&console_lock);
}

int console_write_to(unsigned sink, const char *s, size_t len)
{
	if (!(console_on & sink))
		return -ENODEV;
	irq_lock(&console_lock);
	if (sink == CONSOLE_FB)
		fbcon_write(s, len);
	else
		serial_write(s, len);
	irq_unlock(&console_lock);
	return 0;
}
