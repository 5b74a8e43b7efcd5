UNIT_TESTS += config
config_SRCS := test/unit/test_config.c core/config.c core/lib/guid.c
