/*
 * stats.h - the dataplane's counters: one block per worker lcore, summed by control.
 * Workers bump their own block with plain increments (no atomics, no sharing); the
 * main lcore and the telemetry thread read every block and add them up, so a sum may
 * lag a burst behind. Every counter has a one-line meaning below (STATS_COUNTERS).
 */
#ifndef SIPHON_DP_STATS_H
#define SIPHON_DP_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "siphon/pkt.h"
#include "siphon/sip.h"

struct dp;

/** Backends a snapshot may hold: per-backend counters are a fixed array per worker. */
#define STATS_MAX_BACKENDS 1024u

/** Response classes 1xx..6xx. */
#define STATS_RESP_CLASSES 6u

/**
 * Scalar counters of a worker: X(name, meaning). Drops by decoder and scanner
 * verdict are the arrays pkt_drop[] and sip_drop[] beside them.
 */
#define STATS_COUNTERS(X)                                                                          \
	X(rx_packets, "frames received")                                                           \
	X(rx_bytes, "bytes of frames received")                                                    \
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
	X(nd_reply, "ARP/ND requests for our addresses answered")                                  \
	X(nd_learn, "neighbour (IP, MAC) pairs handed to the main lcore")                          \
	X(nd_learn_only, "ARP/ND frames learnt from and consumed, not answered")                   \
	X(nd_drop, "drop: ARP/ND neither answered nor learnt from")                                \
	X(learn_ring_full, "learnt pairs lost: the ring to the main lcore was full")

/** What one backend received through one worker. */
struct stats_backend {
	uint64_t packets;
	uint64_t bytes;                         /**< as received, before any encapsulation */
	uint64_t requests[SIP_METHOD_COUNT];    /**< by enum sip_method */
	uint64_t responses[STATS_RESP_CLASSES]; /**< [0] = 1xx ... [5] = 6xx */
};

/** One worker's counters; written only by that worker. */
struct stats_worker {
#define STATS_FIELD(name, doc) uint64_t name;
	STATS_COUNTERS(STATS_FIELD)
#undef STATS_FIELD
	uint64_t pkt_drop[PKT_VERDICT_COUNT]; /**< by enum pkt_verdict (PKT_OK unused) */
	uint64_t sip_drop[SIP_VERDICT_COUNT]; /**< by enum sip_verdict (SIP_OK unused) */
	struct stats_backend backend[STATS_MAX_BACKENDS]; /**< by snapshot backend index */
} __rte_cache_aligned;

/**
 * Register the telemetry commands "/siphon/stats" and "/siphon/backends" reading dp.
 * Main lcore, at start-up, after rte_eal_init(). @return 0, or -1 (message printed).
 */
int stats_init(struct dp *dp);

/** Print the compact table (totals, non-zero drops, one line per backend) to out. Main lcore. */
void stats_print(struct dp *dp, FILE *out);

#endif /* SIPHON_DP_STATS_H */
