/* printf for the app: the kernel's own formatter (core/lib/printf.c is
 * built into the app too), written with one system call per line. */
#include "app/include/phobos/app.h"

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sys_console_write(buf, strlen(buf));
	return n;
}
