/* The benchmark runner of app=bench and the RESULT line format. */
#include "core/config.h"
#include "core/kbench.h"

extern const struct kbench __kbench_start[], __kbench_end[];

void kbench_result(const char *bench, const char *metric, uint64_t milli, const char *unit)
{
	kprintf("RESULT {\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%llu.%03llu,\"unit\":\"%s\"}\n",
		bench, metric, (unsigned long long)(milli / 1000), (unsigned long long)(milli % 1000),
		unit);
}

int kbench_run(const char *selection)
{
	int failed = 0, ran = 0;

	for (const struct kbench *b = __kbench_start; b < __kbench_end; b++) {
		bool listed = config_list_has(selection, b->name);
		bool named = listed && strcmp(selection, "all") != 0;
		if (!listed || ((b->flags & KBENCH_ON_REQUEST) && !named))
			continue;
		log_info("bench: %s", b->name);
		int err = b->fn();
		ran++;
		if (err < 0) {
			log_error("bench: %s could not run: %s", b->name, err_name(err));
			failed++;
		}
	}
	if (ran == 0)
		log_error("bench: nothing matches bench=%s", selection);
	return failed + (ran == 0);
}
