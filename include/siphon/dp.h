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
struct snap_group;

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

/** How dp_window_slot() chose (each a worker counter: stats.h). */
enum dp_window_how {
	DP_WINDOW_CURRENT = 0, /**< the current table's choice */
	DP_WINDOW_OLD,         /**< an existing dialog's message, by the previous table */
	DP_WINDOW_RECORDED,    /**< where its Call-ID's dialog was recorded */
	DP_WINDOW_INSERTED,    /**< a new dialog the change moved: now recorded */
	DP_WINDOW_FULL,        /**< the same, not recorded (affinity table full) */
};

/**
 * The backend slot of group g (of snapshot s) for Call-ID hash h while g has a transition
 * window open (g->prev set), as every worker decides it (docs/dialogs.md): cur is the
 * current table's choice; fresh: a request without To tag, not ACK or CANCEL; dialog: one
 * that may open a dialog (INVITE, SUBSCRIBE, REFER, an unknown method). Records a moved
 * new dialog in the affinity table the workers share. Any thread holding s (a worker, or
 * dp_lock()); lock-free, no allocation. Its choice in *how.
 */
uint16_t dp_window_slot(struct dp *dp, const struct snap *s, const struct snap_group *g, uint64_t h,
                        uint16_t cur, bool fresh, bool dialog, enum dp_window_how *how);

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

/**
 * The same for the dialogs operator route rules sent to another group (rulecheck.c):
 * called hourly, so such a dialog is followed for one to two hours after its first
 * request. No-op before a snapshot had a route rule.
 */
void dp_routed_rotate(struct dp *dp);

/**
 * Forget every routed dialog: after a generation whose groups are not those of the one
 * before (entries name a group by index) or that has no route rule (so none comes back
 * stale with the next one). Main lcore, after the publication: an entry a worker records
 * meanwhile names the new indices, and survives or is forgotten, both harmless.
 */
void dp_routed_clear(struct dp *dp);

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

/*
 * The HEPv3 mirror to a capture collector (docs/protection.md#mirroring-hep).
 * DP_MIRROR_COUNTERS(X): X(name, meaning) of each counter, summed over workers.
 */
#define DP_MIRROR_COUNTERS(X)                                                                      \
	X(sent, "mirror frames the NIC accepted")                                                  \
	X(bytes, "bytes of those frames")                                                          \
	X(no_mbuf, "not mirrored: the mbuf pool was empty")                                        \
	X(tx_full, "mirror frames the NIC refused (TX ring full), freed")                          \
	X(budget, "not mirrored: the worker's mirror budget for the burst was spent")              \
	X(too_big, "not mirrored: larger than the port's MTU or a HEPv3 packet")                   \
	X(no_route, "not mirrored: the collector's MAC is not known (yet)")                        \
	X(marked, "calls marked for mirroring by a rule")                                          \
	X(mark_full, "marks that evicted a call still marked: the worker's table was full")

/** The mirror's counters, one field per DP_MIRROR_COUNTERS entry. */
struct dp_mirror_counters {
#define DP_MIRROR_FIELD(name, doc) uint64_t name;
	DP_MIRROR_COUNTERS(DP_MIRROR_FIELD)
#undef DP_MIRROR_FIELD
};

/**
 * Make cfg->mirror what workers mirror by: the collector, its next hop added to the
 * neighbour table (hep_route()), sampling, budget; or no mirror when cfg->mirror.port
 * is 0. Published with one pointer store; the old one is freed after a grace period.
 * A mirror equal to the running one changes nothing. Main lcore.
 * @return 0, or -1 with one line in err (the running mirror stays).
 */
int dp_mirror_set(struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen);

/** The collector workers mirror to now ("" when none), as "address:port". Main lcore. */
const char *dp_mirror_collector(const struct dp *dp, char *buf, size_t len);

/** The mirror's counters summed over every worker. Any thread; they lag a burst at most. */
void dp_mirror_read(const struct dp *dp, struct dp_mirror_counters *out);

#endif /* SIPHON_DP_H */
