/**
 * @file limit.h
 * Per-source rate limits of initial requests (docs/protection.md), as control sees them:
 * the sources each worker is dropping, merged into one list of top offenders for
 * `siphonctl show limited`. The table each worker keeps is the dataplane's own
 * (dataplane/limit.h); this reads it without stopping the worker.
 */
#ifndef SIPHON_LIMIT_H
#define SIPHON_LIMIT_H

#include <stdint.h>

struct dp;

/** One source over a limit: its address (IPv6: its /64), VIP and class, drops so far. */
struct limit_offender {
	uint8_t family; /**< 4 or 6 */
	uint8_t cls;    /**< enum cfg_limit_class */
	uint16_t vip;   /**< index of the VIP in the running configuration */
	uint8_t addr[16];
	uint64_t drops;  /**< requests dropped over the limit, summed over workers */
	uint64_t passed; /**< requests it was let through, summed over workers */
};

/**
 * The at most max sources with the most drops, most first, from every worker's table
 * (entries the same on several workers added up). Entries are read as they are, each
 * field atomically: a source whose entry a worker replaces meanwhile may be missed.
 * Any thread but a worker's; allocates.
 * @return how many were written to out, or -1 (no memory).
 */
int limit_top(const struct dp *dp, struct limit_offender *out, unsigned max);

#endif /* SIPHON_LIMIT_H */
