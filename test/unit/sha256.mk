UNIT_TESTS += sha256
sha256_SRCS := test/unit/test_sha256.c core/lib/sha256.c
