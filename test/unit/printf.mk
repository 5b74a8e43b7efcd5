UNIT_TESTS += printf
printf_SRCS := test/unit/test_printf.c
printf_CFLAGS := -Wno-format-zero-length -Wno-format
