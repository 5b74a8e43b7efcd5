/*
 * boot: guest time from the loader's first instruction to the app's first
 * instruction, both read from the TSC (the loader hands its reading over
 * with the boot information).  Where the system does not know when its
 * boot began, the workload is skipped.
 */
#include "app/bench/bench.h"

int bench_boot(void)
{
	uint64_t from = os_boot_tsc(), to = os_start_tsc();

	if (from == 0 || to <= from)
		return bench_skip("boot", "the boot's first TSC reading is not known here");
	bench_result("boot", "loader_to_app_ms", bench_ns(to - from) / 1000, "ms");
	return 0;
}
