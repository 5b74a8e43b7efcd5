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

int kbench_run(const char *selection, char *rest, size_t size)
{
	int failed = 0;
	size_t o = 0;

	rest[0] = 0;
	for (const char *p = selection; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const struct kbench *b = __kbench_start;
		while (b < __kbench_end && !(strlen(b->name) == len && strncmp(b->name, p, len) == 0))
			b++;
		if (b < __kbench_end) {
			log_info("bench: %s (kernel-side)", b->name);
			int err = b->fn();
			if (err < 0) {
				log_error("bench: %s could not run: %s", b->name, err_name(err));
				failed++;
			}
		} else if (o + len + 2 <= size) {
			if (o > 0)
				rest[o++] = ',';
			memcpy(rest + o, p, len);
			rest[o += len] = 0;
		}
		p += len + (end != NULL);
	}
	return failed;
}
