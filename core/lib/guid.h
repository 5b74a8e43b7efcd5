/*
 * GUIDs as GPT stores them: 16 bytes, the first three fields little-endian
 * ("mixed-endian"), shown as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX.
 */
#ifndef PHOBOS_LIB_GUID_H
#define PHOBOS_LIB_GUID_H

#include "core/env.h"

#define GUID_TEXT_LEN 36

/* 0, or -EINVAL if text is not a GUID (either case of hex accepted). */
int guid_parse(const char *text, uint8_t out[16]);
/* Upper-case text form into buf (at least GUID_TEXT_LEN + 1 bytes). */
void guid_format(const uint8_t g[16], char *buf);
bool guid_is_zero(const uint8_t g[16]);

#endif
