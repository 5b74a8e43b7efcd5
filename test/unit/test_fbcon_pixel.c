/* Console pixels in every framebuffer layout GOP can describe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/fbcon_pixel.h"

static void test_layouts(void **state)
{
	struct boot_fb rgb = {.red_mask = 0xff, .green_mask = 0xff00, .blue_mask = 0xff0000};
	struct boot_fb bgr = {.red_mask = 0xff0000, .green_mask = 0xff00, .blue_mask = 0xff};
	/* a 10-10-10 bit-mask mode with the spare bits at the top */
	struct boot_fb deep = {.red_mask = 0x3ff00000, .green_mask = 0xffc00, .blue_mask = 0x3ff};
	/* a 5-6-5 layout in the upper half of the pixel */
	struct boot_fb odd = {.red_mask = 0xf8000000, .green_mask = 0x07e00000,
			      .blue_mask = 0x001f0000};

	assert_int_equal(fbcon_pixel(&rgb, 0xc0), 0x00c0c0c0);
	assert_int_equal(fbcon_pixel(&bgr, 0xc0), 0x00c0c0c0);
	assert_int_equal(fbcon_pixel(&rgb, 0), 0);
	assert_int_equal(fbcon_pixel(&deep, 255), 0x3fffffff);
	assert_int_equal(fbcon_pixel(&deep, 0), 0);
	/* 0xc0 of 255 is 770 of 1023 in each 10-bit channel */
	assert_int_equal(fbcon_pixel(&deep, 0xc0), (770u << 20) | (770u << 10) | 770u);
	assert_int_equal(fbcon_pixel(&odd, 255), 0xffff0000);
	/* 0xc0 of 255: 23 of 31 and 47 of 63 */
	assert_int_equal(fbcon_pixel(&odd, 0xc0), (23u << 27) | (47u << 21) | (23u << 16));
	struct boot_fb none = {0};
	assert_int_equal(fbcon_pixel(&none, 255), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
