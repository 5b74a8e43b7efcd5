/* config_parse: defaults, every key, bad values, unknown keys, bad words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/console.h"

static struct config cfg;

static void test_defaults(void **state)
{
	assert_int_equal(config_parse(&cfg, ""), 0);
	assert_int_equal(cfg.app, CONFIG_APP_BENCH);
	assert_string_equal(cfg.bench, "all");
	assert_int_equal(cfg.mem_cap, 0);
	assert_int_equal(cfg.swap, CONFIG_SWAP_AUTO);
	assert_string_equal(cfg.fs_guid, "");
	assert_string_equal(cfg.check, "");
	assert_int_equal(cfg.exit, CONFIG_EXIT_HALT);
	assert_int_equal(cfg.console, 0);
	assert_int_equal(cfg.log, LOG_INFO);
}

static void test_all_keys(void **state)
{
	const char *text = "app=check\nbench=pf_zero,malloc  mem=64M\tswap=off\r\n"
			   "fs=0657fd6d-a4ab-43c4-84e5-0933c84b4f4f check=/a/b.txt,/c "
			   "exit=qemu console=serial log=debug selftest=fault trace=1";

	assert_int_equal(config_parse(&cfg, text), 0);
	assert_int_equal(cfg.app, CONFIG_APP_CHECK);
	assert_string_equal(cfg.bench, "pf_zero,malloc");
	assert_int_equal(cfg.mem_cap, 64ull << 20);
	assert_int_equal(cfg.swap, CONFIG_SWAP_OFF);
	assert_string_equal(cfg.fs_guid, "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f");
	assert_string_equal(cfg.check, "/a/b.txt,/c");
	assert_int_equal(cfg.exit, CONFIG_EXIT_QEMU);
	assert_int_equal(cfg.console, CONSOLE_SERIAL);
	assert_int_equal(cfg.log, LOG_DEBUG);
	assert_string_equal(cfg.selftest, "fault");
	assert_true(cfg.trace);
}

static void test_sizes_and_guids(void **state)
{
	assert_int_equal(config_parse(&cfg, "mem=2G"), 0);
	assert_int_equal(cfg.mem_cap, 2ull << 30);
	assert_int_equal(config_parse(&cfg, "mem=4096K"), 0);
	assert_int_equal(cfg.mem_cap, 4ull << 20);
	assert_int_equal(config_parse(&cfg, "mem=1048576"), 0);
	assert_int_equal(cfg.mem_cap, 1ull << 20);
	assert_int_equal(config_parse(&cfg, "swap=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"), 0);
	assert_int_equal(cfg.swap, CONFIG_SWAP_GUID);
	assert_string_equal(cfg.swap_guid, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");
	assert_int_equal(config_parse(&cfg, "console=fb,serial"), 0);
	assert_int_equal(cfg.console, CONSOLE_SERIAL | CONSOLE_FB);
	assert_int_equal(config_parse(&cfg, "bench_mem=96M bench_file=64K tick=off"), 0);
	assert_int_equal(cfg.bench_mem, 96ull << 20);
	assert_int_equal(cfg.bench_file, 64ull << 10);
	assert_true(cfg.tick_off);
	assert_int_equal(config_parse(&cfg, "tick=on"), 0);
	assert_false(cfg.tick_off);
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"app=nonsense", "exit=later", "log=verbose", "mem=", "mem=12", "mem=64Q",
		"mem=99999999999999999999G", "mem=-1M", "swap=maybe",
		"fs=0657fd6d-a4ab-43c4-84e5-0933c84b4f4", "fs=0657fd6d-a4ab-43c4-84e5-0933c84b4f4fz",
		"fs=0657fd6dxa4ab-43c4-84e5-0933c84b4f4f", "console=vga", "console=serial,",
		"=value", "novalue", "trace=2", "trace=yes", "tick=sometimes", "bench_file=4K",
		"bench_mem=512K",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse(&cfg, bad[i]), -EINVAL);
}

static void test_bad_value_keeps_the_rest(void **state)
{
	assert_int_equal(config_parse(&cfg, "app=selftest mem=lots exit=qemu"), -EINVAL);
	assert_int_equal(cfg.app, CONFIG_APP_SELFTEST);
	assert_int_equal(cfg.exit, CONFIG_EXIT_QEMU);
	assert_int_equal(cfg.mem_cap, 0);
}

static void test_unknown_keys_ignored(void **state)
{
	assert_int_equal(config_parse(&cfg, "frobnicate=1 app=selftest colour=blue"), 0);
	assert_int_equal(cfg.app, CONFIG_APP_SELFTEST);
}

static void test_long_values(void **state)
{
	char text[2000];

	memcpy(text, "bench=", 6);
	memset(text + 6, 'a', 1000);
	text[1006] = '\0';
	assert_int_equal(config_parse(&cfg, text), -EINVAL);
	memcpy(text, "check=", 6);
	memset(text + 6, 'b', 600); /* one path longer than check.c takes: check counts it */
	text[606] = '\0';
	assert_int_equal(config_parse(&cfg, text), 0);
	assert_int_equal(strlen(cfg.check), 600);
}

/* The loader's text arrives whole or not at all. */
static void test_text_cut_short(void **state)
{
	static char text[3000];

	assert_int_equal(config_check_text("app=check", 9, 2048), 0);
	assert_int_equal(config_check_text("", 0, 2048), 0);
	memset(text, 'a', 2047);
	assert_int_equal(config_check_text(text, 2047, 2048), 0);
	assert_int_equal(config_check_text(text, 2048, 2048), -EINVAL); /* did not fit */
	assert_int_equal(config_check_text(text, 3000, 2048), -EINVAL);
	assert_int_equal(config_check_text("app=check", 20, 2048), -EINVAL); /* a NUL at 9 */
}

/* A word with control bytes is refused, and echoed escaped. */
static void test_unprintable_words(void **state)
{
	assert_int_equal(config_parse(&cfg, "app=selftest \x1b[2Jfrob=1"), -EINVAL);
	assert_int_equal(cfg.app, CONFIG_APP_SELFTEST);
	assert_int_equal(config_parse(&cfg, "fs=\x7f"), -EINVAL);
	assert_int_equal(config_parse(&cfg, "check=/caf\xc3\xa9"), -EINVAL);
	assert_string_equal(cfg.check, "");
}

static void test_list_has(void **state)
{
	assert_true(config_list_has("a,bb,ccc", "bb"));
	assert_true(config_list_has("a,bb,ccc", "ccc"));
	assert_false(config_list_has("a,bb,ccc", "b"));
	assert_false(config_list_has("a,bb,ccc", "cc"));
	assert_true(config_list_has("all", "anything"));
	assert_false(config_list_has("", "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_sizes_and_guids),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_value_keeps_the_rest),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_text_cut_short),
		cmocka_unit_test(test_unprintable_words),
		cmocka_unit_test(test_list_has),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
