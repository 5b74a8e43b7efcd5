UNIT_TESTS += buddy
buddy_SRCS := test/unit/test_buddy.c core/mm/buddy.c core/mm/avl.c
