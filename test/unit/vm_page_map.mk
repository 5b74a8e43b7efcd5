UNIT_TESTS += vm_page_map
vm_page_map_SRCS := test/unit/test_vm_page_map.c core/mm/vm_page.c test/host/phys_arena.c
