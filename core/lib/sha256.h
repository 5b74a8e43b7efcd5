/*
 * SHA-256 (FIPS 180-4), incremental: init, any number of updates, final.
 * Used by check mode to print file digests (SPEC 7's CHECK lines).
 */
#ifndef PHOBOS_LIB_SHA256_H
#define PHOBOS_LIB_SHA256_H

#include "core/env.h"

#define SHA256_DIGEST 32

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;     /* message length so far */
	uint8_t block[64];  /* a partial block */
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST]);
/* Lower-case hex of a digest into buf (at least 65 bytes). */
void sha256_hex(const uint8_t digest[SHA256_DIGEST], char *buf);

#endif
