UNIT_TESTS += swap_pager
swap_pager_SRCS := test/unit/test_swap_pager.c core/mm/swap_pager.c core/mm/buddy.c core/mm/avl.c \
	core/mm/vm_page.c core/dev/swap_dev.c core/dev/blk.c \
	test/host/phys_arena.c test/host/blk_file.c
