/*
 * Page replacement replays for trace_replay: the faults LRU, Belady's
 * OPT, A0, LIRS and CLOCK-Pro take on a reference string with a given
 * number of frames.  Only
 * faults on pages referenced before are counted: a first touch costs
 * Phobos a zero-filled page, not a read, so it is no miss of the policy.
 * Pages are numbered below npages.  -1 when out of memory.
 */
#ifndef PHOBOS_BENCH_REPLAY_H
#define PHOBOS_BENCH_REPLAY_H

#include <stddef.h>
#include <stdint.h>

long replay_lru(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames);
long replay_opt(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames);
/* A0: the frames - 1 most referenced pages pinned, one frame for the rest. */
long replay_a0(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames);
/* LIRS, with 1 % of the frames (at least one) for HIR pages; frames >= 2. */
long replay_lirs(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames);
/* CLOCK-Pro with reference bits, the model of the kernel's policy; frames >= 2. */
long replay_clockpro(const uint64_t *refs, size_t n, uint64_t npages, uint64_t frames);

/* Zipf(1) over n ranks: cdf (n entries) gets the cumulative weights 1/(r + 1). */
void replay_zipf_cdf(double *cdf, uint64_t n);
/* A rank drawn from cdf; *seed is the generator's state. */
uint64_t replay_zipf_draw(const double *cdf, uint64_t n, uint64_t *seed);

#endif
