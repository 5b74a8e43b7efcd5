UNIT_TESTS += vm_page vm_page_cap
vm_page_SRCS := test/unit/test_vm_page.c core/mm/vm_page.c test/host/phys_arena.c
vm_page_cap_SRCS := $(vm_page_SRCS)
vm_page_cap_CFLAGS := -DVM_PAGE_TEST_CAP
