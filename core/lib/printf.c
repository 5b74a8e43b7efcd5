/*
 * kvsnprintf: the one formatter behind kprintf, klog and ksnprintf.
 *
 * Supports %d %i %u %x %X %p %s %c %% with the length modifiers l, ll, z,
 * the flags '-' and '0', a field width and a precision ('*' for either).
 * Precision limits the characters taken from a %s string and gives the
 * minimum digit count of an integer, as C's printf does.  Unknown
 * conversions are copied through literally so a bad format is visible
 * rather than silently swallowed.
 */
#include "core/env.h"

struct printf_out {
	char *buf;
	size_t size;
	size_t len; /* characters produced, including those that did not fit */
};

static void printf_putc(struct printf_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void printf_pad(struct printf_out *o, char c, int n)
{
	while (n-- > 0)
		printf_putc(o, c);
}

struct printf_spec {
	bool left;     /* '-' */
	bool zero;     /* '0' */
	int width;     /* -1 if none */
	int precision; /* -1 if none */
};

static void printf_string(struct printf_out *o, const struct printf_spec *sp, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		s = "(null)";
	while (s[n] != '\0' && (sp->precision < 0 || n < (size_t)sp->precision))
		n++;
	int pad = sp->width > (int)n ? sp->width - (int)n : 0;
	if (!sp->left)
		printf_pad(o, ' ', pad);
	for (size_t i = 0; i < n; i++)
		printf_putc(o, s[i]);
	if (sp->left)
		printf_pad(o, ' ', pad);
}

static void printf_number(struct printf_out *o, const struct printf_spec *sp, uint64_t v,
			  bool negative, unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	/* C says: zero value with zero precision prints no digits */
	if (!(v == 0 && sp->precision == 0)) {
		do {
			tmp[n++] = digits[v % base];
			v /= base;
		} while (v != 0);
	}
	int zeros = sp->precision > n ? sp->precision - n : 0;
	int plen = (int)strlen(prefix) + (negative ? 1 : 0);
	int body = plen + zeros + n;
	int pad = sp->width > body ? sp->width - body : 0;
	/* '0' pads after the sign but is ignored with a precision or '-' */
	bool zero_pad = sp->zero && !sp->left && sp->precision < 0;

	if (!sp->left && !zero_pad)
		printf_pad(o, ' ', pad);
	if (negative)
		printf_putc(o, '-');
	for (const char *p = prefix; *p != '\0'; p++)
		printf_putc(o, *p);
	if (zero_pad)
		printf_pad(o, '0', pad);
	printf_pad(o, '0', zeros);
	while (n > 0)
		printf_putc(o, tmp[--n]);
	if (sp->left)
		printf_pad(o, ' ', pad);
}

/* Reads a width or precision: digits or '*' from the argument list. */
static int printf_read_int(const char **fmt, va_list *ap)
{
	int v = 0;

	if (**fmt == '*') {
		(*fmt)++;
		return va_arg(*ap, int);
	}
	while (**fmt >= '0' && **fmt <= '9')
		v = v * 10 + (*(*fmt)++ - '0');
	return v;
}

static uint64_t printf_fetch_unsigned(va_list *ap, int longs, bool size_t_arg)
{
	if (size_t_arg)
		return va_arg(*ap, size_t);
	if (longs >= 2)
		return va_arg(*ap, unsigned long long);
	if (longs == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t printf_fetch_signed(va_list *ap, int longs, bool size_t_arg)
{
	if (size_t_arg)
		return (int64_t)va_arg(*ap, size_t);
	if (longs >= 2)
		return va_arg(*ap, long long);
	if (longs == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

/* Formats one conversion starting just after '%'; returns the new position. */
static const char *printf_conversion(struct printf_out *o, const char *fmt, va_list *ap)
{
	const char *start = fmt - 1;
	struct printf_spec sp = {false, false, -1, -1};
	int longs = 0;
	bool zsize = false;

	for (;; fmt++) {
		if (*fmt == '-')
			sp.left = true;
		else if (*fmt == '0')
			sp.zero = true;
		else
			break;
	}
	if ((*fmt >= '1' && *fmt <= '9') || *fmt == '*') {
		sp.width = printf_read_int(&fmt, ap);
		if (sp.width < 0) {
			sp.left = true;
			sp.width = -sp.width;
		}
	}
	if (*fmt == '.') {
		fmt++;
		sp.precision = printf_read_int(&fmt, ap);
		if (sp.precision < 0)
			sp.precision = -1;
	}
	for (; *fmt == 'l'; fmt++)
		longs++;
	if (*fmt == 'z') {
		zsize = true;
		fmt++;
	}

	switch (*fmt) {
	case 'd':
	case 'i': {
		int64_t v = printf_fetch_signed(ap, longs, zsize);
		uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		printf_number(o, &sp, mag, v < 0, 10, false, "");
		break;
	}
	case 'u':
		printf_number(o, &sp, printf_fetch_unsigned(ap, longs, zsize), false, 10, false, "");
		break;
	case 'x':
	case 'X':
		printf_number(o, &sp, printf_fetch_unsigned(ap, longs, zsize), false, 16, *fmt == 'X',
			      "");
		break;
	case 'p':
		printf_number(o, &sp, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 's':
		printf_string(o, &sp, va_arg(*ap, const char *));
		break;
	case 'c': {
		char c[2] = {(char)va_arg(*ap, int), '\0'};
		if (c[0] == '\0') {
			printf_putc(o, '\0');
			break;
		}
		sp.precision = -1;
		printf_string(o, &sp, c);
		break;
	}
	case '%':
		printf_putc(o, '%');
		break;
	default:
		/* unknown or truncated conversion: show it as written */
		for (const char *p = start; p <= fmt && *p != '\0'; p++)
			printf_putc(o, *p);
		if (*fmt == '\0')
			return fmt;
		break;
	}
	return fmt + 1;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct printf_out o = {buf, size, 0};
	va_list args;

	va_copy(args, ap);
	while (*fmt != '\0') {
		if (*fmt != '%') {
			printf_putc(&o, *fmt++);
			continue;
		}
		fmt = printf_conversion(&o, fmt + 1, &args);
	}
	va_end(args);
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
