/*
 * Ring-3 self-tests: the embedded app (app/main.c) run in its parts.
 * user_basic and user_syscall_errors run by default; the faults run only
 * when named (selftest=user_fault_null, ...), since each stops the app and
 * the kernel then ends with code 4.  proc_kstack_guard looks at the
 * kernel stack the app's traps run on.
 */
#include "core/ktest.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_map.h"
#include "core/proc.h"

bool proc_test_stopped;

static void proc_test_expect(const char *part, int want)
{
	int code = 0;
	int err = proc_run(part, &code);

	KTEST_EQ(err, 0);
	if (err == 0 && code != want)
		ktest_fail(__FILE__, __LINE__, "app part %s: exit %d, expected %d", part, code, want);
	if (code == PROC_EXIT_STOPPED)
		proc_test_stopped = true;
}

KTEST(user_basic)
{
	proc_test_expect("basic", 0);
}

KTEST(user_syscall_errors)
{
	proc_test_expect("syscall_errors", 0);
}

#define PROC_FAULT_TEST(part)                                                                      \
	KTEST_DEFINE(user_##part, KTEST_ON_REQUEST)                                                \
	{                                                                                          \
		proc_test_expect(#part, PROC_EXIT_STOPPED);                                        \
	}

PROC_FAULT_TEST(fault_null)
PROC_FAULT_TEST(fault_text_store)
PROC_FAULT_TEST(fault_exec_stack)
PROC_FAULT_TEST(fault_kernel_read)
PROC_FAULT_TEST(fault_stack_overflow)
PROC_FAULT_TEST(heap_exhaust)

/* The app as a buggy program (app/hostile.c): every refusal exact, the
 * kernel whole after it.  Each runs when named. */
#define PROC_PART_TEST(part)                                                                       \
	KTEST_DEFINE(user_##part, KTEST_ON_REQUEST)                                                \
	{                                                                                          \
		proc_test_expect(#part, 0);                                                        \
	}

PROC_PART_TEST(hostile)
PROC_PART_TEST(alloc_loop)

/* The CPU as the app finds it (app/cpu_state.c). */
PROC_PART_TEST(entry_flags)
PROC_PART_TEST(nmi_wait)

KTEST_DEFINE(user_sse, KTEST_ON_REQUEST)
{
	/* twice: the second app must not find the first one's state */
	proc_test_expect("sse", 0);
	proc_test_expect("sse_again", 0);
}

/* sidt stops the app where UMIP is on; without UMIP the part exits 0
 * only if no kernel address came back. */
KTEST_DEFINE(user_umip, KTEST_ON_REQUEST)
{
	int code = 0;

	KTEST_EQ(proc_run("umip", &code), 0);
	proc_test_stopped |= code == PROC_EXIT_STOPPED;
	if (code != PROC_EXIT_STOPPED && code != 0)
		ktest_fail(__FILE__, __LINE__, "app part umip: exit %d", code);
}

PROC_FAULT_TEST(spin)
PROC_FAULT_TEST(sysenter)
PROC_FAULT_TEST(table_exhaust)

/* The kernel stack's guard page is reserved in the kernel map and never
 * mapped; the stack above it is PROC_KSTACK_SIZE, every page mapped. */
KTEST(proc_kstack_guard)
{
	struct proc_kstack ks;
	struct vm_map_entry e;
	paddr_t pa;

	KTEST_EQ(proc_kstack_alloc(&ks), 0);
	KTEST_EQ(ks.base - ks.guard, PAGE_SIZE);
	KTEST_ASSERT(!pmap_extract(pmap_kernel(), ks.guard, &pa));
	KTEST_ASSERT(vm_map_lookup(vm_map_kernel(), ks.guard, &e) == 0 &&
		     e.kind == VM_ENTRY_RESERVED);
	KTEST_ASSERT(vm_map_lookup(vm_map_kernel(), ks.base, &e) == 0 && e.start == ks.base &&
		     e.end == ks.base + PROC_KSTACK_SIZE);
	for (uint64_t a = ks.base; a < ks.base + PROC_KSTACK_SIZE; a += PAGE_SIZE)
		KTEST_ASSERT(pmap_extract(pmap_kernel(), a, &pa));
	proc_kstack_free(&ks);
}
