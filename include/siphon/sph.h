/**
 * @file sph.h
 * Project-wide basics shared by every plane: branch hints, alignment, array size, the
 * monotonic clock of the control side.
 *
 * Nothing here depends on DPDK, so the pure-C core (scanner, dispatcher), the
 * tools, the tests and the fuzzers can use it as they are.
 */
#ifndef SIPHON_SPH_H
#define SIPHON_SPH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Branch hints: only on paths with a clear preferred side (see STYLE.md). */
#define SPH_LIKELY(x)   __builtin_expect(!!(x), 1)
#define SPH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/** Size of a cache line on every target siphon builds for. */
#define SPH_CACHE_LINE 64

/** Number of elements of a true array (not a pointer). */
#define SPH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** Marks a function that runs on error or init paths only. */
#define SPH_COLD __attribute__((cold, noinline))

/**
 * CLOCK_MONOTONIC in nanoseconds: the clock of everything that times on the control
 * side (windows, ticks, neighbour ageing). A system call (vDSO): never on a worker,
 * which takes time from the TSC.
 */
static inline uint64_t
sph_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* SIPHON_SPH_H */
