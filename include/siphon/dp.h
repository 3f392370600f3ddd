/**
 * @file dp.h
 * The dataplane's face to the control plane: make it, run it, serve its main-lcore
 * duties, stop it, and the few things control reads of it.
 *
 * struct dp is opaque here: control builds and publishes snapshots through snap.h,
 * reads counters through stats.h and neighbours through neigh.h, and reaches nothing
 * else of the dataplane (no worker, port or ring). Everything below runs on the main
 * lcore unless it says otherwise; none of it ever makes a worker wait.
 */
#ifndef SIPHON_DP_H
#define SIPHON_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

struct dp;
struct nd_table;
struct snap;

/** Exception path: packets per burst, each way (sizes the mbuf pool's share for it). */
#define DP_EXC_BURST 32u

/**
 * Make the dataplane for cfg, after rte_eal_init(): one worker per EAL worker lcore, the
 * configured ports (by DPDK device name), mbuf pool, RCU, neighbour table, exception
 * paths (a failure there is printed, not fatal), and the first snapshot, published.
 * Workers do not run yet (dp_launch()).
 *
 * @param promisc  Accept unicast frames to any MAC (captures replayed as they were taken).
 * @return the dataplane, or NULL with a one-line reason in err (nothing left behind).
 */
struct dp *dp_open(const struct sph_cfg *cfg, bool promisc, char *err, size_t errlen);

/** Stop the ports and free everything dp_open() made. Workers must have stopped. NULL: no-op. */
void dp_close(struct dp *dp);

/** Start every worker on its lcore. */
void dp_launch(struct dp *dp);

/** Ask every worker to leave its loop and wait until all have. Idempotent. */
void dp_stop(struct dp *dp);

/**
 * One round of the main lcore's dataplane duties: apply the neighbours workers learnt,
 * move the exception paths' traffic a bounded amount each way, and, when nd_tick, age
 * the neighbour table and send the ARP requests / Neighbor Solicitations it needs.
 * @param now_ns  CLOCK_MONOTONIC now.
 */
void dp_service(struct dp *dp, uint64_t now_ns, bool nd_tick);

/**
 * Gratuitous ARP / unsolicited NA for every address a port answers for, so switches and
 * neighbours learn at once where the VIPs are now (after a restart or a fail-over).
 * Prints one line per port.
 */
void dp_announce(struct dp *dp);

/** The published snapshot. Main lcore: valid until it publishes the next one. */
const struct snap *dp_snap(const struct dp *dp);

/**
 * Hold the published snapshot still for a thread other than the main lcore (metrics,
 * telemetry): snap_publish() waits for dp_unlock(). Hold it for a copy, not a wait.
 */
void dp_lock(struct dp *dp);
void dp_unlock(struct dp *dp);

/** Worker lcores forwarding. */
unsigned dp_nb_workers(const struct dp *dp);

/** Name (the configuration's) of dataplane port i, "?" past the last. */
const char *dp_port_name(const struct dp *dp, unsigned i);

/** The neighbour table (MACs and states of next hops), read-only. */
const struct nd_table *dp_nd(const struct dp *dp);

/**
 * Empty the older dialog-affinity bank and make it current, then wait for every worker
 * to pass a quiescent state (so no insert goes to the other bank from a stale view).
 * Entries live one to two rotation periods (docs/dialogs.md).
 */
void dp_aff_rotate(struct dp *dp);

/** Empty both banks: only when no published snapshot has a previous table (no insert). */
void dp_aff_clear(struct dp *dp);

/**
 * Remove every dialog-affinity record naming a counter slot s with gone[s] != 0 (gone has
 * STATS_MAX_BACKENDS entries). Only once no published snapshot holds a backend with those
 * slots (after snap_publish() returned), so no worker can record them again: then they
 * name nobody's dialogs and may go to new backends at once. One pass over both banks
 * (2 x 2^18 words by default) however many slots a change frees.
 */
void dp_aff_forget(struct dp *dp, const uint8_t *gone);

#endif /* SIPHON_DP_H */
