/*
 * console: where kernel text goes.  Two sinks, COM1 serial and the
 * framebuffer text console, both fed the same bytes; which are on comes
 * from the console= key.  console_write never fails and never blocks for
 * long: a serial line with nobody listening still drains at 115200 baud.
 * Lock key: the console lock (l) serialises whole writes.
 */
#ifndef PHOBOS_CONSOLE_H
#define PHOBOS_CONSOLE_H

#include "core/boot_info.h"
#include "core/env.h"

#define CONSOLE_SERIAL 0x1
#define CONSOLE_FB 0x2

void console_init(const struct boot_fb *fb);
/* Restricts output to the sinks in mask (those present). */
void console_select(unsigned mask);
unsigned console_present(void);
void console_write(const char *s, size_t len);
/* To one sink, CONSOLE_SERIAL or CONSOLE_FB (where bytes 1-6 are colour
 * cells); -ENODEV when that sink is off or absent. */
int console_write_to(unsigned sink, const char *s, size_t len);

/* The sinks. */
void serial_init(void);
void serial_write(const char *s, size_t len);
/* The next byte received, or -1 when none waits (polled, never blocks). */
int serial_getc(void);
/* True when Ctrl-C (0x03) came in on the serial console since the last
 * call; other bytes received are dropped. */
bool console_interrupted(void);
bool fbcon_init(const struct boot_fb *fb);
void fbcon_write(const char *s, size_t len);
/* For self-tests: state of the framebuffer console. */
bool fbcon_active(void);
char fbcon_cell(uint32_t col, uint32_t row, bool *pixels_ok);
void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *row_now);

#endif
