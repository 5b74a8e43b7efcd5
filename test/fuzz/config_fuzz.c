/*
 * libFuzzer harness for config_parse: any bytes, as a NUL-terminated text,
 * must parse to 0 or -EINVAL without a crash, leaving NUL-terminated string
 * fields and values inside their ranges.
 */
#include <stdlib.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	int r = config_parse(&cfg, text);
	free(text);
	if (r != 0 && r != -EINVAL)
		abort();
	if (memchr(cfg.bench, '\0', sizeof(cfg.bench)) == NULL ||
	    memchr(cfg.check, '\0', sizeof(cfg.check)) == NULL ||
	    memchr(cfg.fs_guid, '\0', sizeof(cfg.fs_guid)) == NULL ||
	    memchr(cfg.swap_guid, '\0', sizeof(cfg.swap_guid)) == NULL)
		abort();
	if (cfg.app > CONFIG_APP_DEMO || cfg.exit > CONFIG_EXIT_REBOOT || cfg.log > LOG_DEBUG ||
	    (cfg.mem_cap != 0 && cfg.mem_cap < (1u << 20)))
		abort();
	return 0;
}
