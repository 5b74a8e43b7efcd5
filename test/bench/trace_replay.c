/*
 * trace_replay: reads a Phobos serial log on standard input, takes each
 * traced workload (from "TRACE begin <obj> <pages>" to "TRACE frames <obj>
 * <n>": its "ref" events are the reference string, its "in" events
 * Phobos's major faults), replays it against LRU, OPT, A0, LIRS and the
 * CLOCK-Pro model with the same number of frames, and prints two lines per
 * workload (the first as before, for the scripts that read it):
 *   replay <k> pages <p> frames <f> refs <r> phobos <x> lru <y> opt <z>
 *   replay-model <k> a0 <a> lirs <l> clockpro <c>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/bench/replay.h"

int main(void)
{
	char line[256], kind[16];
	unsigned long long obj, arg, cur = 0, pages = 0, phobos = 0;
	size_t n = 0, cap = 0;
	uint64_t *refs = NULL;
	int k = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (sscanf(line, "TRACE %15s %llu %llu", kind, &obj, &arg) != 3)
			continue;
		if (strcmp(kind, "begin") == 0) {
			cur = obj;
			pages = arg;
			n = 0;
			phobos = 0;
		} else if (obj != cur || pages == 0) {
			continue;
		} else if (strcmp(kind, "ref") == 0 && arg < pages) {
			if (n == cap && (refs = realloc(refs, (cap = 2 * cap + 4096) * sizeof(*refs))) == NULL)
				return 2;
			refs[n++] = arg;
		} else if (strcmp(kind, "in") == 0) {
			phobos++;
		} else if (strcmp(kind, "frames") == 0) {
			long lru = replay_lru(refs, n, pages, arg), opt = replay_opt(refs, n, pages, arg);
			long a0 = replay_a0(refs, n, pages, arg);
			long lirs = arg >= 2 ? replay_lirs(refs, n, pages, arg) : lru;
			long cp = arg >= 2 ? replay_clockpro(refs, n, pages, arg) : lru;
			if (lru < 0 || opt < 0 || a0 < 0 || lirs < 0 || cp < 0)
				return 2;
			printf("replay %d pages %llu frames %llu refs %zu phobos %llu lru %ld opt %ld\n",
			       k, pages, arg, n, phobos, lru, opt);
			printf("replay-model %d a0 %ld lirs %ld clockpro %ld\n", k++, a0, lirs, cp);
			pages = 0;
		}
	}
	free(refs);
	return k > 0 ? 0 : 1;
}
