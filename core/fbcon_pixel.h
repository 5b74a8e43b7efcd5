/*
 * The framebuffer console's colour rule: a colour of 8-bit channels (or a
 * grey of the given level) as a 32-bit pixel of the framebuffer's layout.  Each channel's
 * mask may sit anywhere and be any width (GOP's bit-mask modes), so the
 * level is scaled to the mask's width and shifted to its place.
 */
#ifndef PHOBOS_FBCON_PIXEL_H
#define PHOBOS_FBCON_PIXEL_H

#include "core/boot_info.h"

static inline uint32_t fbcon_channel(uint32_t mask, uint32_t level)
{
	if (mask == 0)
		return 0;
	unsigned shift = (unsigned)__builtin_ctz(mask);
	uint32_t max = mask >> shift; /* all ones, as wide as the channel */
	return ((level * max + 127) / 255) << shift & mask;
}

static inline uint32_t fbcon_rgb(const struct boot_fb *fb, uint32_t r, uint32_t g, uint32_t b)
{
	return fbcon_channel(fb->red_mask, r) | fbcon_channel(fb->green_mask, g) |
	       fbcon_channel(fb->blue_mask, b);
}

static inline uint32_t fbcon_pixel(const struct boot_fb *fb, uint32_t level)
{
	return fbcon_rgb(fb, level, level, level);
}

#endif
