/*
 * vm_trace: with trace=1, a ring buffer of VM events, printed at exit as
 * TRACE lines for test/bench/trace_replay, which replays the references
 * against LRU and Belady's OPT with the same number of frames.
 *
 * Events: "in" (a major fault read the page), "out" (page-out wrote it),
 * "ref" (a workload touched it: recorded by the workload itself, since a
 * touch that hits makes no fault), "frames" (the pages the workload's
 * object could hold, for the replay), "begin" (a new workload).  Objects
 * are named by their id (vm_object.id).  When the ring wraps, the oldest
 * events go and the dump says how many.
 * Lock key: one CPU; recording is not reentrant and needs none.
 */
#ifndef PHOBOS_MM_VM_TRACE_H
#define PHOBOS_MM_VM_TRACE_H

#include "core/mm/vm_types.h"

enum vm_trace_kind { VM_TRACE_IN, VM_TRACE_OUT, VM_TRACE_REF, VM_TRACE_FRAMES, VM_TRACE_BEGIN };

extern bool vm_trace_on;

/* Starts recording into a ring of `events` entries; -ENOMEM. */
int vm_trace_start(uint64_t events);
void vm_trace_record_slow(enum vm_trace_kind kind, uint32_t obj, uint64_t arg);

static inline void vm_trace_record(enum vm_trace_kind kind, uint32_t obj, uint64_t arg)
{
	if (unlikely(vm_trace_on))
		vm_trace_record_slow(kind, obj, arg);
}

/* "TRACE <kind> <obj> <arg>" per event, oldest first. */
void vm_trace_dump(void);

#endif
