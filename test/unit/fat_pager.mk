UNIT_TESTS += fat_pager
fat_pager_SRCS := test/unit/test_fat_pager.c fs/fat_pager.c fs/fat_vol.c fs/fat_table.c \
	fs/fat_dir.c fs/fat_file.c core/dev/blk.c test/host/blk_file.c \
	core/mm/vm_pageout.c core/mm/vm_trace.c core/mm/vm_fault.c core/mm/vm_map.c core/mm/vm_object.c core/mm/vm_advice.c \
	core/mm/vm_page.c core/mm/vm_pager.c core/mm/swap_pager.c core/mm/buddy.c core/mm/avl.c core/mm/slab.c \
	core/mm/malloc.c test/host/kmem_host.c test/sim/pmap_sim.c test/host/phys_arena.c
$(BUILD)/host/unit/fat_pager: $(PMAP_SIM_ENGINE)
