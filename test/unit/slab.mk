UNIT_TESTS += slab slab_debug
slab_SRCS := test/unit/test_slab.c core/mm/slab.c core/mm/malloc.c test/host/kmem_host.c
slab_debug_SRCS := $(slab_SRCS)
slab_debug_CFLAGS := -DMM_DEBUG
