/*
 * The framebuffer console, checked on the real framebuffer of whatever GOP
 * mode the firmware chose: text lands in the grid and its pixels are the
 * font's glyphs, and a screenful of lines scrolls it upwards.
 */
#include "core/console.h"
#include "core/ktest.h"

/* Finds marker at column 0 of a row; returns the row or -1. */
static int fbcon_test_find(const char *marker, bool *pixels_ok)
{
	uint32_t cols, rows, now;

	fbcon_geometry(&cols, &rows, &now);
	for (uint32_t r = 0; r < rows; r++) {
		size_t i;
		bool ok = true, cell_ok;
		for (i = 0; marker[i] != '\0' && i < cols; i++) {
			if (fbcon_cell((uint32_t)i, r, &cell_ok) != marker[i])
				break;
			ok &= cell_ok;
		}
		if (marker[i] == '\0') {
			*pixels_ok = ok;
			return (int)r;
		}
	}
	return -1;
}

KTEST(fbcon_draws_and_scrolls)
{
	uint32_t cols, rows, now;
	bool pixels_ok = false;

	if (!fbcon_active()) {
		ktest_skip("no framebuffer (headless): nothing to check");
		return;
	}
	fbcon_geometry(&cols, &rows, &now);
	kprintf("# fbcon %ux%u cells\n", cols, rows);
	kprintf("fbcon-marker-AZaz09\n");
	int row = fbcon_test_find("fbcon-marker-AZaz09", &pixels_ok);
	KTEST_ASSERT(row >= 0);
	KTEST_ASSERT(pixels_ok);
	/* a screenful of lines scrolls the marker off the top */
	for (uint32_t i = 0; i < rows; i++)
		kprintf("#\n");
	KTEST_EQ(fbcon_test_find("fbcon-marker-AZaz09", &pixels_ok), -1);
	kprintf("fbcon-second-marker\n");
	int before = fbcon_test_find("fbcon-second-marker", &pixels_ok);
	kprintf("#\n#\n#\n");
	int after = fbcon_test_find("fbcon-second-marker", &pixels_ok);
	KTEST_EQ(before, (int)rows - 2);
	KTEST_EQ(after, before - 3);
	KTEST_ASSERT(pixels_ok);
}
