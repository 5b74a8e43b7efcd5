/*
 * The framebuffer text console: 8x16 cells over whatever GOP mode the
 * firmware left, light grey on black, scrolling.  On tall screens each
 * font pixel is drawn as a square of fbcon_scale pixels (2 from 1440
 * lines, 3 at 4K), so the text keeps about the size it has at 768 lines.
 * Bytes 1 to 6 are solid cells in the colours of fbcon_palette, for bar
 * charts (console_write_fb); they never reach the serial line.
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
static uint32_t fbcon_fg, fbcon_bg, fbcon_scale;
static uint32_t fbcon_colours[7];

#define FBCON_COLOURS 6
/* green, grey, red, blue, amber, white: bars of this run, the previous
 * one, and what a chart may want besides */
static const uint8_t fbcon_palette[FBCON_COLOURS][3] = {
	{0x40, 0xc0, 0x40}, {0x80, 0x80, 0x80}, {0xd0, 0x40, 0x40},
	{0x50, 0x80, 0xe0}, {0xe0, 0xb0, 0x30}, {0xf0, 0xf0, 0xf0},
};
static char fbcon_grid[FBCON_MAX_ROWS][FBCON_MAX_COLS];

/* The glyph of c (a blank for characters the font lacks; solid for the
 * colour cells, whose colour fbcon_draw picks). */
static const uint8_t *fbcon_glyph(char c)
{
	static const uint8_t solid[FONT_HEIGHT] = {
		0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0};

	if (c >= 1 && c <= FBCON_COLOURS)
		return solid;
	return c >= FONT_FIRST && c <= FONT_LAST ? font8x16[c - FONT_FIRST] : font8x16[0];
}

static uint32_t fbcon_ink(char c)
{
	return c >= 1 && c <= FBCON_COLOURS ? fbcon_colours[(int)c] : fbcon_fg;
}

/* The top-left pixel of a cell. */
static volatile uint32_t *fbcon_cell_pixels(uint32_t col, uint32_t row)
{
	return fbcon_pixels + (uint64_t)row * FONT_HEIGHT * fbcon_scale * fbcon_stride +
	       (uint64_t)col * FONT_WIDTH * fbcon_scale;
}

/* The pixel at (x, y) of a cell showing c: font pixel (x, y) / scale. */
static uint32_t fbcon_cell_pixel(char c, const uint8_t *glyph, uint32_t x, uint32_t y)
{
	return (glyph[y / fbcon_scale] & (0x80 >> (x / fbcon_scale))) ? fbcon_ink(c) : fbcon_bg;
}

static void fbcon_draw(uint32_t col, uint32_t row, char c)
{
	const uint8_t *glyph = fbcon_glyph(c);
	volatile uint32_t *p = fbcon_cell_pixels(col, row);

	for (uint32_t y = 0; y < FONT_HEIGHT * fbcon_scale; y++, p += fbcon_stride)
		for (uint32_t x = 0; x < FONT_WIDTH * fbcon_scale; x++)
			p[x] = fbcon_cell_pixel(c, glyph, x, y);
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
	fbcon_scale = fb->height >= 1440 ? fb->height / 720 : 1;
	fbcon_cols = MIN(fb->width / (FONT_WIDTH * fbcon_scale), FBCON_MAX_COLS);
	fbcon_rows = MIN(fb->height / (FONT_HEIGHT * fbcon_scale), FBCON_MAX_ROWS);
	fbcon_fg = fbcon_pixel(fb, 0xc0);
	fbcon_bg = fbcon_pixel(fb, 0);
	for (int i = 0; i < FBCON_COLOURS; i++)
		fbcon_colours[i + 1] = fbcon_rgb(fb, fbcon_palette[i][0], fbcon_palette[i][1],
						 fbcon_palette[i][2]);
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
	for (uint32_t y = 0; y < FONT_HEIGHT * fbcon_scale; y++, p += fbcon_stride)
		for (uint32_t x = 0; x < FONT_WIDTH * fbcon_scale; x++)
			if (p[x] != fbcon_cell_pixel(c, glyph, x, y))
				*pixels_ok = false;
	return c;
}

void fbcon_geometry(uint32_t *cols, uint32_t *rows, uint32_t *row_now)
{
	*cols = fbcon_cols;
	*rows = fbcon_rows;
	*row_now = fbcon_y;
}
