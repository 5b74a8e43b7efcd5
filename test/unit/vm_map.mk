UNIT_TESTS += vm_map
vm_map_SRCS := test/unit/test_vm_map.c core/mm/vm_map.c core/mm/vm_fault.c core/mm/vm_pageout.c core/mm/vm_trace.c \
	core/mm/vm_object.c core/mm/vm_advice.c core/mm/vm_page.c \
	core/mm/vm_pager.c core/mm/buddy.c core/mm/avl.c core/mm/slab.c core/mm/malloc.c core/mm/kmem.c \
	core/mm/kmem_map.c \
	test/sim/pmap_sim.c test/host/phys_arena.c
