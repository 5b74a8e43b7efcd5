/* kvsnprintf: every conversion, modifier, flag, and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/env.h"

static void check(const char *want, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

/* The host's printf is the reference for the shared subset. */
static void check_like_libc(const char *fmt, long long v)
{
	char a[128], b[128];

	snprintf(a, sizeof(a), fmt, v);
	ksnprintf(b, sizeof(b), fmt, v);
	assert_string_equal(b, a);
}

static void test_integers(void **state)
{
	check("0 -1 2147483647 -2147483648", "%d %i %d %d", 0, -1, 2147483647, (int)-2147483648ll);
	check("4294967295 ffffffff FFFFFFFF", "%u %x %X", 4294967295u, 4294967295u, 4294967295u);
	check("-9223372036854775808 9223372036854775807", "%lld %lld",
	      (long long)(-9223372036854775807ll - 1), 9223372036854775807ll);
	check("18446744073709551615 ffffffffffffffff", "%llu %lx", 18446744073709551615ull,
	      0xffffffffffffffffull);
	check("123 7b", "%zu %zx", (size_t)123, (size_t)123);
	check("-5", "%ld", -5l);
}

static void test_width_and_flags(void **state)
{
	check("[    7][7    ][00007]", "[%5d][%-5d][%05d]", 7, 7, 7);
	check("[-0007][  -7]", "[%05d][%4d]", -7, -7);
	check("[  0x10][0x10  ]", "[%6p][%-6p]", (void *)16, (void *)16);
	check("[   42]", "[%*d]", 5, 42);
	check("[42   ]", "[%*d]", -5, 42);
	check("[00042]", "[%.5d]", 42);
	check("[]", "[%.0d]", 0);
	static const char *const fmts[] = {"%d", "%5d", "%-5d|", "%05d", "%.3d", "%8.3d", "%x", "%08x",
					   "%-8x|", "%lld", "%20lld", "%-20lld|"};
	static const long long vals[] = {0, 1, -1, 42, -42, 99999, -123456789, 2147483647};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			/* %d and %x read an int: pass what fits */
			if (strstr(fmts[i], "ll") == NULL)
				check_like_libc(fmts[i], (int)vals[j]);
			else
				check_like_libc(fmts[i], vals[j]);
		}
}

static void test_strings_and_chars(void **state)
{
	check("[abc][  abc][abc  ][ab][   ab]", "[%s][%5s][%-5s][%.2s][%5.2s]", "abc", "abc", "abc",
	      "abc", "abc");
	check("(null)", "%s", (char *)NULL);
	check("x|  y|z  ", "%c|%3c|%-3c", 'x', 'y', 'z');
	check("100%", "%d%%", 100);
	check("[hello]", "[%.*s]", 5, "hello world");
}

static void test_unknown_and_truncated(void **state)
{
	check("%q", "%q");
	check("abc%", "abc%");
	check("%lq", "%lq");
}

static void test_truncation(void **state)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	int n = ksnprintf(buf, sizeof(buf), "%s-%d", "abcdef", 12345);
	assert_int_equal(n, 12);
	assert_string_equal(buf, "abcdef-");
	n = ksnprintf(buf, 1, "%d", 5);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], '\0');
	n = ksnprintf(NULL, 0, "%d", 12345);
	assert_int_equal(n, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_width_and_flags),
		cmocka_unit_test(test_strings_and_chars),
		cmocka_unit_test(test_unknown_and_truncated),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
