/* The built-in 8x16 console font (printable ASCII). */
#ifndef PHOBOS_FONT8X16_H
#define PHOBOS_FONT8X16_H

#include <stdint.h>

#define FONT_FIRST 0x20
#define FONT_LAST 0x7e
#define FONT_WIDTH 8
#define FONT_HEIGHT 16

extern const uint8_t font8x16[FONT_LAST - FONT_FIRST + 1][16];

#endif
