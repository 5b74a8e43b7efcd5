/*
 * The framebuffer text console: 8x16 cells over whatever GOP mode the
 * firmware left, light grey on black, scrolling.
 *
 * The screen is also kept as a grid of characters.  Scrolling shifts the
 * grid and repaints only the cells whose character changed, so the
 * framebuffer (uncached, slow to read and write) is never read back and a
 * mostly blank screen scrolls cheaply.
 */
#include "core/console.h"
#include "core/fbcon_pixel.h"
#include "core/font8x16.h"

#define FBCON_MAX_COLS 320
#define FBCON_MAX_ROWS 160

static volatile uint32_t *fbcon_pixels;
static uint32_t fbcon_stride; /* pixels per scan line */
static uint32_t fbcon_cols, fbcon_rows, fbcon_x, fbcon_y;
static uint32_t fbcon_fg, fbcon_bg;
static char fbcon_grid[FBCON_MAX_ROWS][FBCON_MAX_COLS];

/* The glyph of c (a blank for characters the font lacks). */
static const uint8_t *fbcon_glyph(char c)
{
	return c >= FONT_FIRST && c <= FONT_LAST ? font8x16[c - FONT_FIRST] : font8x16[0];
}

/* The top-left pixel of a cell. */
static volatile uint32_t *fbcon_cell_pixels(uint32_t col, uint32_t row)
{
	return fbcon_pixels + (uint64_t)row * FONT_HEIGHT * fbcon_stride + (uint64_t)col * FONT_WIDTH;
}

static void fbcon_draw(uint32_t col, uint32_t row, char c)
{
	const uint8_t *glyph = fbcon_glyph(c);
	volatile uint32_t *p = fbcon_cell_pixels(col, row);

	for (int y = 0; y < FONT_HEIGHT; y++, p += fbcon_stride)
		for (int x = 0; x < FONT_WIDTH; x++)
			p[x] = (glyph[y] & (0x80 >> x)) ? fbcon_fg : fbcon_bg;
}

static void fbcon_set(uint32_t col, uint32_t row, char c)
{
	if (fbcon_grid[row][col] == c)
		return;
	fbcon_grid[row][col] = c;
	fbcon_draw(col, row, c);
}

static void fbcon_scroll(void)
{
	for (uint32_t r = 0; r + 1 < fbcon_rows; r++)
		for (uint32_t c = 0; c < fbcon_cols; c++)
			fbcon_set(c, r, fbcon_grid[r + 1][c]);
	for (uint32_t c = 0; c < fbcon_cols; c++)
		fbcon_set(c, fbcon_rows - 1, ' ');
}

static void fbcon_newline(void)
{
	fbcon_x = 0;
	if (++fbcon_y == fbcon_rows) {
		fbcon_scroll();
		fbcon_y = fbcon_rows - 1;
	}
}

bool fbcon_init(const struct boot_fb *fb)
{
	if (fb->format == BOOT_FB_NONE || fb->width < FONT_WIDTH || fb->height < FONT_HEIGHT)
		return false;
	fbcon_pixels = (volatile uint32_t *)(DIRECT_MAP_BASE + fb->base);
	fbcon_stride = fb->pitch / 4;
	fbcon_cols = MIN(fb->width / FONT_WIDTH, FBCON_MAX_COLS);
	fbcon_rows = MIN(fb->height / FONT_HEIGHT, FBCON_MAX_ROWS);
	fbcon_fg = fbcon_pixel(fb, 0xc0);
	fbcon_bg = fbcon_pixel(fb, 0);
	fbcon_x = fbcon_y = 0;
	for (uint32_t y = 0; y < fb->height; y++)
		for (uint32_t x = 0; x < fb->width; x++)
			fbcon_pixels[(uint64_t)y * fbcon_stride + x] = fbcon_bg;
	memset(fbcon_grid, ' ', sizeof(fbcon_grid));
	return true;
}

void fbcon_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\n') {
			fbcon_newline();
		} else if (c == '\r') {
			fbcon_x = 0;
		} else if (c == '\t') {
			do
				fbcon_set(fbcon_x++, fbcon_y, ' ');
			while (fbcon_x % 8 != 0 && fbcon_x < fbcon_cols);
			if (fbcon_x >= fbcon_cols)
				fbcon_newline();
		} else {
			fbcon_set(fbcon_x++, fbcon_y, c);
			if (fbcon_x == fbcon_cols)
				fbcon_newline();
		}
	}
}

bool fbcon_active(void)
{
	return fbcon_pixels != NULL;
}

/* The character at a cell and whether its pixels show exactly its glyph. */
char fbcon_cell(uint32_t col, uint32_t row, bool *pixels_ok)
{
	char c = fbcon_grid[row][col];
	const uint8_t *glyph = fbcon_glyph(c);
	volatile uint32_t *p = fbcon_cell_pixels(col, row);

	*pixels_ok = true;
	for (int y = 0; y < FONT_HEIGHT; y++, p += fbcon_stride)
		for (int x = 0; x < FONT_WIDTH; x++)
			if (p[x] != ((glyph[y] & (0x80 >> x)) ? fbcon_fg : fbcon_bg))
				*pixels_ok = false;
	return c;
}

void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *row_now)
{
	*cols = fbcon_cols;
	*rows = fbcon_rows;
	*row_now = fbcon_y;
}
