/*
 * SHA-256 against the FIPS 180-4 example vectors, a million 'a's fed in
 * odd-sized pieces, and sha256sum on random data of lengths around the
 * padding boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/lib/sha256.h"

static void digest_of(const void *data, size_t len, char *hex)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST];

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, d);
	sha256_hex(d, hex);
}

static void test_fips_vectors(void **state)
{
	char hex[65];

	digest_of("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_of("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	digest_of(m448, strlen(m448), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_pieces(void **state)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST];
	char a[997], hex[65];
	size_t left = 1000000;

	memset(a, 'a', sizeof(a));
	sha256_init(&s);
	for (size_t piece = 1; left > 0; piece = piece % 997 + 1) {
		size_t n = MIN(piece, left);
		sha256_update(&s, a, n);
		left -= n;
	}
	sha256_final(&s, d);
	sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_against_sha256sum(void **state)
{
	static const size_t lens[] = {1, 55, 56, 57, 63, 64, 65, 119, 120, 4095, 4096, 100003};
	uint8_t *buf = malloc(100003);
	char hex[65], cmd[128], want[65];

	srand(3);
	for (size_t i = 0; i < 100003; i++)
		buf[i] = (uint8_t)rand();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		FILE *f = fopen("build/host/sha256.bin", "wb");
		assert_non_null(f);
		fwrite(buf, 1, lens[i], f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "sha256sum build/host/sha256.bin");
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		assert_int_equal(fscanf(p, "%64s", want), 1);
		pclose(p);
		digest_of(buf, lens[i], hex);
		assert_string_equal(hex, want);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a_in_pieces),
		cmocka_unit_test(test_against_sha256sum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
