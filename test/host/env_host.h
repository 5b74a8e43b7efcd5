/*
 * Host-only knobs of the environment used by tests.
 *   env_host_log_level: klog lines at or below it are printed (default
 *     LOG_ERROR so test output stays quiet).
 *   env_host_panic_hook: if set, called with the panic message before
 *     abort(); a test that expects a panic may longjmp out of it.
 */
#ifndef PHOBOS_TEST_ENV_HOST_H
#define PHOBOS_TEST_ENV_HOST_H

#include "core/env.h"

extern enum log_level env_host_log_level;
extern void (*env_host_panic_hook)(const char *why);

#endif
