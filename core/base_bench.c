/*
 * Benchmarks of the foundation: the cost of reading the clock every log
 * line and benchmark depends on, and of the serial console.
 */
#include "core/kbench.h"

KBENCH(clock_read)
{
	enum { N = 1000000 };
	uint64_t sink = 0, start = clock_us();

	for (int i = 0; i < N; i++)
		sink += clock_us();
	uint64_t us = clock_us() - start;
	if (sink == 0 || us == 0)
		return -EIO;
	kbench_result("clock_read", "ns_per_call", us * 1000 * 1000 / N, "ns");
	return 0;
}
