/**
 * @file stats.h
 * The dataplane's counters: one block per worker lcore, and how control reads them.
 *
 * Workers bump their own block with plain increments (no atomics, no sharing). A reader
 * that wants a worker's scalar counters as one consistent set asks for a copy
 * (stats_read()): the worker answers between two poll-loop iterations, when no packet
 * is half counted, so forwarded <= rx_packets always holds in what is read, and sums
 * over workers are sums of consistent sets. A busy worker is inside an iteration almost
 * all the time, so a copy taken "between iterations" by the reader alone would almost
 * never be; the worker's side costs one load per iteration when nobody asks.
 * Per-backend counters are read as they are, without a barrier (they lag a burst at
 * most). The main lcore and the metrics and telemetry threads read; a reader never
 * makes a worker wait, and waits for one at most STATS_WAIT_MS.
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
#include "siphon/sph.h"
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
	X(frag_reassembled, "fragmented datagrams complete and scanned (docs/protection.md)")      \
	X(frag_handoff, "fragments handed to the worker owning their datagram")                    \
	X(frag_ring_full, "drop: fragment for another worker, its ring full")                      \
	X(frag_table_full, "drop: fragment of a new datagram, fragment table full (entries or "    \
	                   "bytes)")                                                               \
	X(frag_timeout, "drop: fragment of a datagram incomplete at the fragment timeout")         \
	X(frag_overlap, "drop: fragment of a datagram with overlapping fragments (all of it)")     \
	X(frag_duplicate, "drop: fragment already held, byte range for byte range")                \
	X(frag_too_many, "drop: fragment of a datagram with more than max fragments (all of it)")  \
	X(frag_too_big, "drop: fragment of a datagram beyond 65535 or the byte limit (all of it)") \
	X(frag_bad, "drop: malformed fragment (length not a multiple of 8, empty, two ends, "      \
	            "first one without its UDP header)")                                           \
	X(other_mac, "drop: unicast to another MAC")                                               \
	X(not_vip, "drop: UDP to an address and port that is no VIP")                              \
	X(no_backend, "drop: the VIP's group has no usable backend")                               \
	X(acl_blocked, "drop: source in the VIP's blocked tier (docs/protection.md)")              \
	X(acl_trusted, "frames from a source in the VIP's trusted tier (never rate-limited)")      \
	X(limit_invite, "drop: initial INVITE over its source's rate_invite")                      \
	X(limit_register, "drop: initial REGISTER over its source's rate_register")                \
	X(limit_options, "drop: initial OPTIONS over its source's rate_options")                   \
	X(limit_other, "drop: other initial request over its source's rate_other")                 \
	X(rule_drop, "drop: initial request matched a rule with action drop (show rules)")         \
	X(rule_reject, "drop: initial request matched a rule with action reject-silently")         \
	X(rule_route, "initial requests a route rule sent to its group")                           \
	X(rule_route_followed, "later messages of a routed dialog sent to the rule's group")       \
	X(rule_route_unrecorded, "routed dialogs not recorded (table full): their later messages " \
	                         "go by the VIP's group")                                          \
	X(rule_tag, "initial requests a tag rule matched, forwarded")                              \
	X(rule_mirror, "initial requests a mirror rule matched, forwarded")                        \
	X(rule_undecided, "initial requests forwarded with their rules undecided (a Hyperscan "    \
	                  "error, or too many partial matches)")                                   \
	X(no_neighbor, "drop: the backend's next hop MAC is unknown yet")                          \
	X(encap_no_room, "drop: no mbuf headroom for the outer IP header")                         \
	X(encap_too_big, "drop: encapsulated frame larger than the port MTU")                      \
	X(udp_bad_checksum, "drop: UDP checksum does not verify (port udp_checksum \"verify\")")   \
	X(udp_checksum_filled,                                                                     \
	  "UDP checksums written because they did not verify (port "                               \
	  "udp_checksum \"fill\"): partial checksums of TX offload, or wrong")                     \
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

/** Longest a reader waits for a worker to answer before it copies the live counters. */
#define STATS_WAIT_MS 20u

/** One worker's counters; written only by that worker (and see above for worker 0). */
struct stats_worker {
	/** Raised by readers that want a copy (stats_read()); its own line, the only one
	 *  readers write. */
	_Alignas(64) uint64_t req;
	/** Odd while the worker writes pub (stats_publish()), even otherwise. */
	_Alignas(64) uint64_t seq;
	uint64_t ack; /**< the req value pub answers */
	union {
		struct stats_counters c; /**< the live counters */
		struct {
			STATS_SCALARS
		}; /**< the same fields, named directly: st->rx_packets */
	};
	struct stats_counters pub; /**< c as it stood between two iterations, on request */
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

/** stats_publish()'s out-of-line half: copy c to pub under seq, then acknowledge r. */
void stats_publish_slow(struct stats_worker *st, uint64_t r);

/**
 * Between two poll-loop iterations (no packet half counted): answer a reader's request
 * for a copy. One load when nobody asks. The worker's lcore only.
 */
static inline void
stats_publish(struct stats_worker *st)
{
	uint64_t r = __atomic_load_n(&st->req, __ATOMIC_ACQUIRE);

	if (SPH_UNLIKELY(r != st->ack))
		stats_publish_slow(st, r);
}

/**
 * Copy worker w's scalar counters as they stood between two of its iterations: ask the
 * worker (stats_publish()) and wait for its answer, at most STATS_WAIT_MS. A worker that
 * does not run (stopped, or not launched) counts nothing, so its live counters are
 * copied as they are; so are a running one's if it does not answer in time (it was
 * descheduled), and the reader never hangs. Any thread but the worker's.
 */
void stats_read(const struct dp *dp, unsigned w, struct stats_counters *out);

/** stats_read() of every worker, added up. */
void stats_read_total(const struct dp *dp, struct stats_counters *out);

/** Counter slot slot's per-backend counters of every worker, added up (read as they are). */
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
