/*
 * hep.h - the worker's HEPv3 mirror to a capture collector (docs/protection.md#mirroring-hep):
 * which messages are mirrored (1 in N calls by Call-ID hash, and the calls a rule marked),
 * and sending one as Ethernet/IP/UDP/HEP without copying its SIP bytes. The main lcore
 * publishes a struct dp_hep (RCU, like the snapshot); each worker owns a struct
 * dp_hep_worker: its marked calls, TX budget, TX buffers and counters.
 */
#ifndef SIPHON_DP_HEP_H
#define SIPHON_DP_HEP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "siphon/dp.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/sph.h"

struct dp;
struct dp_worker;

/* Marked calls: DP_HEP_MARK_SETS sets of DP_HEP_MARK_WAYS Call-ID hashes per worker. */
#define DP_HEP_MARK_SETS  256u /**< a power of two: 16 KiB a worker */
#define DP_HEP_MARK_WAYS  4u
#define DP_HEP_SWEEP_SETS 16u /**< sets dp_hep_poll() ages per call */

/** The mirror's configuration as workers read it; immutable once published. */
struct dp_hep {
	uint64_t sample_below; /**< mirror a call when (Call-ID hash >> 32) < it: 2^32 / N */
	uint64_t mark_tsc;     /**< how long a marked call stays marked after its last message */
	uint32_t budget;       /**< mirror frames per received burst, at most */
	uint32_t agent_id;
	uint8_t family;  /**< of the collector: 4 or 6 */
	uint8_t egress;  /**< dataplane port index it is reached through */
	uint16_t nd_idx; /**< nd_table entry of its next hop (itself, or a gateway) */
	uint16_t src_port, dst_port;
	uint8_t src[16], dst[16]; /**< egress port's address, the collector's (IPv4 mapped) */
	/* Wall clock from the TSC, so a worker makes no system call: CLOCK_REALTIME was
	 * real_ns when the TSC read tsc0. */
	uint64_t tsc0, tsc_hz, real_ns;
};

/** One marked call: its Call-ID hash and until when (TSC) it stays marked; 0 = free. */
struct dp_hep_mark {
	uint64_t h;
	uint64_t until;
};

/** A worker's mirror state; allocated with the worker, on its socket. */
struct dp_hep_worker {
	uint32_t left;      /**< budget left in this burst */
	uint32_t nb_marked; /**< live entries in marks (an upper bound until swept) */
	uint32_t sweep;     /**< next set dp_hep_poll() ages */
	uint32_t queued;    /**< some mirror frame is in a TX buffer: dp_hep_flush() due */
	struct dp_mirror_counters c;
	struct rte_eth_dev_tx_buffer *tx[8]; /**< per port (DP_MAX_PORTS): mirror frames */
	struct dp_hep_mark marks[DP_HEP_MARK_SETS][DP_HEP_MARK_WAYS];
};

/** Allocate w's mirror state (TX buffers for nb_ports ports). @return it, or NULL. */
struct dp_hep_worker *dp_hep_worker_create(unsigned nb_ports, int socket);
void dp_hep_worker_free(struct dp_hep_worker *hw);

/** Whether the call of Call-ID hash h is marked on this worker (and keep it marked). */
bool dp_hep_marked(const struct dp_hep *hc, struct dp_hep_worker *hw, uint64_t h);

/**
 * Whether a message of Call-ID hash h is to be mirrored by hc: its call is sampled (the
 * same calls on every instance that shares the hash key), or marked on this worker.
 */
static inline bool
dp_hep_want(const struct dp_hep *hc, struct dp_hep_worker *hw, uint64_t h)
{
	return (h >> 32) < hc->sample_below || (hw->nb_marked != 0 && dp_hep_marked(hc, hw, h));
}

/**
 * Mark the call of Call-ID hash h on worker w: its messages through w are mirrored until
 * none has come for the configured call_timeout (the rule action "mirror"). A full set
 * evicts the entry closest to expiring. No-op without a collector. The worker's lcore; no
 * allocation. A rule action that runs before dp_pkt()'s mirror check (dp_hep_want())
 * only marks: the check then mirrors this message and the call's next ones (calling
 * dp_hep_mirror() as well would send this one twice). One that runs after the check marks
 * and calls dp_hep_mirror() for this message.
 */
void dp_hep_mark_call(struct dp_worker *w, uint64_t h);

/**
 * Send a HEPv3 copy of the SIP message m carries (decoded as pi, scanned as msg) to the
 * collector: a header mbuf (Ethernet, IP, UDP, the HEP head) chained to an indirect mbuf
 * of m's payload and a small one with the Call-ID chunk (one segment, the payload copied,
 * when the egress device does not say it sends chains), queued on the mirror's own TX
 * buffer. Call it before m is rewritten for forwarding (fwd_l2dsr, fwd_ipip) and sent; m
 * itself is left as it was (one more reference to its buffer). Never fails the caller:
 * what cannot be mirrored is counted (no mbuf, budget, too big, no route). No-op without
 * a collector. The worker's lcore.
 */
void dp_hep_mirror(struct dp_worker *w, struct rte_mbuf *m, const struct pkt_info *pi,
                   const struct sip_msg *msg);

/** Reset the burst's mirror budget to hc's (dp_worker_burst, once per burst). */
void dp_hep_burst(struct dp_worker *w, const struct dp_hep *hc);

/** Send the mirror's TX buffers (dp_worker_flush, when queued). */
void dp_hep_flush(struct dp_worker *w);

/** Age DP_HEP_SWEEP_SETS sets of marked calls (the poll loop, every drain period). */
void dp_hep_poll(struct dp_worker *w, uint64_t now_tsc);

#endif /* SIPHON_DP_HEP_H */
