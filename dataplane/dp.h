/**
 * @file dp.h
 * Setting the dataplane up and tearing it down, shared by the daemon, the replay bench and
 * the worker suite so that all three run the same steps.
 */
#ifndef SIPHON_DP_SETUP_H
#define SIPHON_DP_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "siphon/cfg.h"

struct dp;

/** Exception path: packets per burst, each way (sizes the mbuf pool's share for it). */
#define DP_EXC_BURST 32u

/**
 * Everything the workers need, in dependency order: one worker per EAL worker lcore, the
 * configured ports (by DPDK device name), mbuf pool, RCU, neighbour table, learn ring,
 * port_init(), exception paths (a failure there is printed, not fatal), workers, and the
 * first snapshot, published. Telemetry (stats_init) is the caller's.
 *
 * @param promisc  Accept unicast frames to any MAC (captures replayed as they were taken).
 * @return 0, or -1 with a one-line reason in err; dp_teardown() undoes a partial set-up.
 */
int dp_setup(struct dp *dp, const struct sph_cfg *cfg, bool promisc, char *err, size_t errlen);

/** Stop the ports and free what dp_setup() made; safe after a partial set-up. */
void dp_teardown(struct dp *dp);

#endif /* SIPHON_DP_SETUP_H */
