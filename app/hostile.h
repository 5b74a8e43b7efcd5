/*
 * The app's parts that attack the kernel (app/hostile.c) and those that
 * check the CPU state the kernel gives the app (app/cpu_state.c).  Each
 * returns the number of failed checks (0: the part passed).
 */
#ifndef PHOBOS_APP_HOSTILE_H
#define PHOBOS_APP_HOSTILE_H

#include <stdbool.h>

#include "app/include/phobos/app.h"

/* One check of an app part: when cond is false, says where (prefix names
 * the part) and counts it in failures. */
#define APP_CHECK(failures, prefix, cond)                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("app: %scheck failed at line %d: %s\n", prefix, __LINE__, #cond);  \
			(failures)++;                                                              \
		}                                                                                  \
	} while (0)

int hostile_part(void);
int hostile_alloc_loop(void);
int hostile_table_exhaust(void);
int cpu_umip(void);
int cpu_entry_flags(void);
int cpu_sysenter(void);
_Noreturn void cpu_spin(void);
int cpu_sse(void);
int cpu_nmi_wait(void);

/* The FPU/SSE state as the kernel handed it over (fxsave at _start). */
extern uint8_t app_fpu_at_start[512];

#endif
