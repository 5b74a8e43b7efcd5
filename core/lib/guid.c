/*
 * GUID text <-> on-disk bytes.  The text's first group is a 32-bit and the
 * next two 16-bit little-endian fields; the last two groups are bytes in
 * order.  order[] gives, for each byte of the text, its on-disk position.
 */
#include "core/lib/guid.h"

static const uint8_t guid_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

static int guid_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int guid_parse(const char *text, uint8_t out[16])
{
	uint8_t g[16];
	unsigned byte = 0;

	for (unsigned i = 0; i < GUID_TEXT_LEN;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i++] != '-')
				return -EINVAL;
			continue;
		}
		int hi = guid_hex(text[i]), lo = hi < 0 ? -1 : guid_hex(text[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		g[guid_order[byte++]] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	if (text[GUID_TEXT_LEN] != '\0')
		return -EINVAL;
	memcpy(out, g, 16);
	return 0;
}

void guid_format(const uint8_t g[16], char *buf)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned o = 0;

	for (unsigned byte = 0; byte < 16; byte++) {
		if (byte == 4 || byte == 6 || byte == 8 || byte == 10)
			buf[o++] = '-';
		uint8_t v = g[guid_order[byte]];
		buf[o++] = hex[v >> 4];
		buf[o++] = hex[v & 15];
	}
	buf[o] = '\0';
}

bool guid_is_zero(const uint8_t g[16])
{
	for (int i = 0; i < 16; i++)
		if (g[i] != 0)
			return false;
	return true;
}
