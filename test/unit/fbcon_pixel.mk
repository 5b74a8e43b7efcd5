UNIT_TESTS += fbcon_pixel
fbcon_pixel_SRCS := test/unit/test_fbcon_pixel.c
