/* CRC-32 (IEEE 802.3, reflected, as GPT and zlib use it). */
#ifndef PHOBOS_LIB_CRC32_H
#define PHOBOS_LIB_CRC32_H

#include "core/env.h"

/* Continue a CRC: crc32(0, ...) starts one; pass the result back for more. */
uint32_t crc32(uint32_t crc, const void *data, size_t len);

#endif
