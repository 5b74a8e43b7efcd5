UNIT_TESTS += pmap_sim
pmap_sim_SRCS := test/unit/test_pmap_sim.c test/sim/pmap_sim.c test/host/phys_arena.c \
	core/mm/vm_page.c core/mm/malloc.c core/mm/slab.c test/host/kmem_host.c
# test/sim/pmap_sim.c compiles the kernel's page-table engine inside itself:
# every binary linking the simulator depends on it.
PMAP_SIM_ENGINE := core/arch/x86_64/pmap.c core/arch/x86_64/pmap_pv.c
$(BUILD)/host/unit/pmap_sim $(BUILD)/host/unit/vm_map: $(PMAP_SIM_ENGINE)
