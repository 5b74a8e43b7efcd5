/*
 * The app's parts that attack the kernel (app/hostile.c) and those that
 * check the CPU state the kernel gives the app (app/cpu_state.c).  Each
 * returns the number of failed checks (0: the part passed).
 */
#ifndef PHOBOS_APP_HOSTILE_H
#define PHOBOS_APP_HOSTILE_H

#include "app/include/phobos/app.h"

int hostile_part(void);
int hostile_alloc_loop(void);

#endif
