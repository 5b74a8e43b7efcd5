/*
 * The workloads as a host program: `bench_host <word>...` with the words
 * of bench_main plus bench_root=<dir> (the files partition stands in as a
 * directory) and bench_swap=1 (run the paging workloads: on a host they
 * check the data, they do not page).
 */
#include <stdio.h>
#include <string.h>

#include "app/bench/bench.h"
#include "app/bench/os_linux.h"

int main(int argc, char **argv)
{
	static char args[4096];
	size_t o = 0;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "bench_root=", 11) == 0)
			os_linux_root = argv[i] + 11;
		else if (strcmp(argv[i], "bench_swap=1") == 0)
			os_linux_swap = true;
		int n = snprintf(args + o, sizeof(args) - o, "%s ", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(args) - o) {
			fprintf(stderr, "bench_host: arguments too long\n");
			return 2;
		}
		o += (size_t)n;
	}
	return bench_main(args);
}
