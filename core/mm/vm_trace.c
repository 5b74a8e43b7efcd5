/* vm_trace: see vm_trace.h. */
#include "core/mm/malloc.h"
#include "core/mm/vm_trace.h"

struct vm_trace_event {
	uint64_t arg;
	uint32_t obj;
	uint32_t kind;
};

bool vm_trace_on;
static struct vm_trace_event *vm_trace_ring;
static uint64_t vm_trace_size, vm_trace_count;

int vm_trace_start(uint64_t events)
{
	vm_trace_ring = mm_malloc(events * sizeof(*vm_trace_ring));
	if (vm_trace_ring == NULL)
		return -ENOMEM;
	vm_trace_size = events;
	vm_trace_count = 0;
	vm_trace_on = true;
	return 0;
}

void vm_trace_record_slow(enum vm_trace_kind kind, uint32_t obj, uint64_t arg)
{
	struct vm_trace_event *e = &vm_trace_ring[vm_trace_count++ % vm_trace_size];

	e->arg = arg;
	e->obj = obj;
	e->kind = kind;
}

void vm_trace_dump(void)
{
	static const char *const names[] = {"in", "out", "ref", "frames", "begin"};
	uint64_t first = vm_trace_count > vm_trace_size ? vm_trace_count - vm_trace_size : 0;

	if (!vm_trace_on)
		return;
	vm_trace_on = false;
	kprintf("TRACE events %llu dropped %llu\n", (unsigned long long)vm_trace_count,
		(unsigned long long)first);
	for (uint64_t i = first; i < vm_trace_count; i++) {
		const struct vm_trace_event *e = &vm_trace_ring[i % vm_trace_size];
		kprintf("TRACE %s %u %llu\n", names[e->kind], e->obj, (unsigned long long)e->arg);
	}
}
