/*
 * config: the key=value words of SPEC 6, parsed once at boot from
 * boot_info (load options or \phobos.cfg).
 *
 * config_parse fills *cfg with defaults, then applies each word.  Unknown
 * keys are reported with a warning and ignored; a known key with a bad
 * value is reported and makes config_parse return -EINVAL (the kernel then
 * exits with code 2) while the rest of the words are still applied, so one
 * run reports every mistake.  A word without '=' is a bad word (-EINVAL), and
 * so is a word holding bytes that are not printable ASCII: it is echoed
 * with those bytes escaped (\xNN) and not applied.
 */
#ifndef PHOBOS_CONFIG_H
#define PHOBOS_CONFIG_H

#include "core/env.h"

enum config_app { CONFIG_APP_BENCH, CONFIG_APP_SELFTEST, CONFIG_APP_CHECK, CONFIG_APP_DEMO };
enum config_exit { CONFIG_EXIT_HALT, CONFIG_EXIT_QEMU, CONFIG_EXIT_REBOOT };
enum config_swap { CONFIG_SWAP_AUTO, CONFIG_SWAP_OFF, CONFIG_SWAP_GUID };

#define CONFIG_LIST_MAX 512 /* bytes of a comma list value */
#define CONFIG_CHECK_MAX 2048 /* check=: paths add up */
#define CONFIG_GUID_TEXT 37 /* 36 characters and NUL */
#define CONFIG_TIMEOUT_MAX (365u * 86400) /* timeout=: seconds */

struct config {
	enum config_app app;
	char bench[CONFIG_LIST_MAX];    /* comma list or "all" */
	uint64_t mem_cap;               /* bytes, 0 = no cap */
	uint64_t bench_mem;             /* the paging workloads' size base, 0 = free memory */
	uint64_t bench_file;            /* file_map_* file and first_touch block, 0 = 64 MiB */
	enum config_swap swap;
	char swap_guid[CONFIG_GUID_TEXT]; /* when swap == CONFIG_SWAP_GUID */
	char fs_guid[CONFIG_GUID_TEXT];   /* "" = the boot partition */
	char check[CONFIG_CHECK_MAX];     /* comma list of FAT paths */
	enum config_exit exit;
	unsigned console;               /* CONSOLE_* mask; 0 = all present */
	enum log_level log;
	char selftest[CONFIG_LIST_MAX]; /* self-tests to run: "" = the default set */
	bool trace;                     /* trace=1: major faults and page-outs as TRACE lines */
	uint32_t timeout;               /* seconds the app may run; 0 = no limit */
	bool tick_off;                  /* tick=off: no timer while the app runs (to measure
					 * the tick; timeout= and Ctrl-C need it) */
};

int config_parse(struct config *cfg, const char *text);

/*
 * The loader's text as a whole: -EINVAL (logged) when the source held len
 * bytes that did not all arrive, because it was longer than max - 1 bytes
 * or held a NUL byte.  Running on part of a configuration could mean
 * running on someone's disk with the wrong swap= or fs=.
 */
int config_check_text(const char *text, uint32_t len, uint32_t max);

/* true if name is an element of the comma list (or the list is "all"). */
bool config_list_has(const char *list, const char *name);

#endif
