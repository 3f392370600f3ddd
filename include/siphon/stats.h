/**
 * @file stats.h
 * The dataplane's counters: one block per worker lcore, and how control reads them.
 *
 * Workers bump their own block with plain increments (no atomics, no sharing) and mark
 * each poll-loop iteration with a sequence number (odd while it runs): stats_read()
 * copies a block between two iterations, so a worker's counters are read as one
 * consistent set (forwarded <= rx_packets always holds), and sums over workers are sums
 * of consistent sets. Per-backend counters are read the same way. The main lcore and
 * the metrics and telemetry threads read; nothing a reader does delays a worker.
 * Every counter has a one-line meaning below (STATS_COUNTERS).
 *
 * The exception path's kernel-side counters (exception_kernel_drop, exception_tx and
 * the exception_* drops of packets from the kernel) are written by the main lcore, in
 * worker 0's block: each field still has one writer, and every sum picks them up.
 * Their losses are not documented "drop: ...": those are the fast path's verdicts on
 * received frames (stats_print's drops, the metrics' siphon_drops_total, test_dp's
 * coverage guard); exception path losses are telemetry and `siphonctl show stats`.
 */
#ifndef SIPHON_STATS_H
#define SIPHON_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "siphon/pkt.h"
#include "siphon/sip.h"

struct dp;

/** Backends a snapshot may hold: per-backend counters are a fixed array per worker. */
#define STATS_MAX_BACKENDS 1024u

/** Response classes 1xx..6xx. */
#define STATS_RESP_CLASSES 6u

/**
 * Scalar counters of a worker: X(name, meaning). Drops by decoder and scanner
 * verdict are the arrays pkt_drop[] and sip_drop[] beside them, and sip_anomaly[]
 * counts the defects of messages forwarded all the same, by verdict (a message with
 * several counts once under each).
 */
#define STATS_COUNTERS(X)                                                                          \
	X(rx_packets, "frames received")                                                           \
	X(rx_bytes, "bytes of frames received")                                                    \
	X(forwarded, "frames sent to a backend")                                                   \
	X(tx_packets, "frames the NIC accepted for sending")                                       \
	X(tx_bytes, "bytes of frames the NIC accepted")                                            \
	X(tx_drop, "frames the NIC refused (TX ring full), freed")                                 \
	X(multi_segment, "drop: frame in more than one mbuf segment")                              \
	X(other_mac, "drop: unicast to another MAC")                                               \
	X(not_vip, "drop: UDP to an address and port that is no VIP")                              \
	X(no_backend, "drop: the VIP's group has no usable backend")                               \
	X(no_neighbor, "drop: the backend's next hop MAC is unknown yet")                          \
	X(encap_no_room, "drop: no mbuf headroom for the outer IP header")                         \
	X(encap_too_big, "drop: encapsulated frame larger than the port MTU")                      \
	X(dispatch_old, "transition: message of an existing dialog sent by the previous table, "   \
	                "to another backend than the current table's")                             \
	X(affinity_hit, "transition: message sent where its Call-ID's dialog was recorded")        \
	X(affinity_insert, "transition: new dialog the change moved, Call-ID recorded")            \
	X(affinity_full, "transition: new dialog the change moved, not recorded (affinity table "  \
	                 "full): sent by the previous table when its backend is up")               \
	X(nd_reply, "ARP/ND requests for our addresses answered")                                  \
	X(nd_learn, "neighbour (IP, MAC) pairs handed to the main lcore")                          \
	X(nd_learn_only, "ARP/ND frames learnt from and consumed, not answered")                   \
	X(nd_drop, "drop: ARP/ND neither answered nor learnt from")                                \
	X(learn_ring_full, "learnt pairs lost: the ring to the main lcore was full")               \
	X(exception_rx, "frames to a port's own address handed to its kernel interface")           \
	X(exception_drop, "exception path loss: ring to the main lcore full, frame freed")         \
	X(exception_kernel_drop, "exception path loss: kernel interface queue full")               \
	X(exception_tx, "packets from the kernel interface sent out the port")                     \
	X(exception_tx_drop, "exception path loss: from the kernel, port TX queue or ring full")   \
	X(exception_no_neighbor, "exception path loss: from the kernel, next hop MAC unknown "     \
	                         "(now being resolved)")                                           \
	X(exception_bad, "exception path loss: from the kernel, not sendable (not IP, "            \
	                 "multicast, link-local, source not the port's, no route, above MTU)")

/** What one backend received through one worker. */
struct stats_backend {
	uint64_t packets;
	uint64_t bytes;                         /**< as received, before any encapsulation */
	uint64_t requests[SIP_METHOD_COUNT];    /**< by enum sip_method */
	uint64_t responses[STATS_RESP_CLASSES]; /**< [0] = 1xx ... [5] = 6xx */
};

#define STATS_FIELD_(name, doc) uint64_t name;
/* The counters of struct stats_counters, spelled once for its two uses below. */
#define STATS_SCALARS                                                                              \
	STATS_COUNTERS(STATS_FIELD_)                                                               \
	uint64_t pkt_drop[PKT_VERDICT_COUNT];    /**< by enum pkt_verdict (PKT_OK unused) */       \
	uint64_t sip_drop[SIP_VERDICT_COUNT];    /**< by enum sip_verdict (SIP_POLICY_DROP) */     \
	uint64_t sip_anomaly[SIP_VERDICT_COUNT]; /**< forwarded with it (SIP_POLICY_ANOMALY) */

/** A worker's scalar counters and drops by verdict: what stats_read() copies. */
struct stats_counters {
	STATS_SCALARS
};

/** One worker's counters; written only by that worker (and see above for worker 0). */
struct stats_worker {
	/** Even between poll-loop iterations, odd during one (stats_seq_begin/end). */
	_Alignas(64) uint64_t seq;
	union {
		struct stats_counters c; /**< the block stats_read() copies */
		struct {
			STATS_SCALARS
		}; /**< the same fields, named directly: st->rx_packets */
	};
	_Alignas(64) struct stats_backend backend[STATS_MAX_BACKENDS]; /**< by counter slot */
};

/** A scalar counter's name, meaning and place in struct stats_counters. */
struct stats_desc {
	const char *name;
	const char *doc;
	size_t off;
};

/** Every scalar counter of STATS_COUNTERS, in order; stats_nb_descs of them. */
extern const struct stats_desc stats_descs[];
extern const unsigned stats_nb_descs;

/** A worker starts a poll-loop iteration: its counters may change until stats_seq_end(). */
static inline void
stats_seq_begin(struct stats_worker *st)
{
	__atomic_store_n(&st->seq, st->seq + 1, __ATOMIC_RELAXED);
	/* The odd value is visible before any counter store of the iteration. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/** The iteration is over: every counter store of it is visible before the even value. */
static inline void
stats_seq_end(struct stats_worker *st)
{
	__atomic_store_n(&st->seq, st->seq + 1, __ATOMIC_RELEASE);
}

/**
 * Copy worker w's scalar counters as they stood between two of its iterations. Any
 * thread; never blocks a worker. If the worker stays inside iterations for a long time
 * (it never does while it runs; a stopped worker is between iterations) the copy is
 * taken after a bounded number of attempts as it is, so a reader never hangs.
 */
void stats_read(const struct dp *dp, unsigned w, struct stats_counters *out);

/** stats_read() of every worker, added up. */
void stats_read_total(const struct dp *dp, struct stats_counters *out);

/** Counter slot slot's per-backend counters, each worker's read consistently, added up. */
void stats_read_backend(const struct dp *dp, unsigned slot, struct stats_backend *out);

/**
 * Zero slot's counters in every worker's block. Only once no published snapshot
 * references the slot (after a grace period), so no worker writes it meanwhile. Main
 * lcore; takes the dataplane's control lock (dp_lock()).
 */
void stats_zero_backend(struct dp *dp, unsigned slot);

/**
 * Register the telemetry commands "/siphon/stats" and "/siphon/backends" reading dp.
 * Main lcore, at start-up, after rte_eal_init(). @return 0, or -1 (message printed).
 */
int stats_init(struct dp *dp);

/** Print the compact table (totals, non-zero drops, one line per backend) to out. Main lcore. */
void stats_print(struct dp *dp, FILE *out);

#endif /* SIPHON_STATS_H */
