/*
 * edge_rtx.h - the edge's client transactions on the UDP hop to the backends. A client's
 * request arrives over TLS or TCP, where the client never retransmits (RFC 3261
 * §17.1.1.1), and leaves over UDP, where a lost datagram would leave the phone waiting
 * 32 s for a final response. So the edge keeps a copy of each relayed request and sends
 * it again on Timer A/E's schedule (T1 doubling; non-INVITE capped at T2) until the
 * backend answers or Timer B/F (64 x T1) runs out, when the client is told 408.
 * Edge thread only; bounded in entries and octets; no timers of its own (edge_rtx_run()
 * is called from the edge's loop).
 */
#ifndef SIPHON_EDGE_RTX_H
#define SIPHON_EDGE_RTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

#define EDGE_RTX_T2_MS   4000u       /* RFC 3261's T2: the non-INVITE retransmit cap */
#define EDGE_RTX_BYTES   (64u << 20) /* octets of request copies held at most */
#define EDGE_RTX_NONE    UINT64_MAX  /* edge_rtx_run(): nothing is due, ever */
#define EDGE_RTX_TICK_MS 10u         /* the table is scanned at most this often */

/** What a tracked request is: where it goes, whose it is. */
struct edge_rtx_req {
	uint64_t key;       /**< its transaction: the edge's Via branch and CSeq method */
	uint32_t slot, gen; /**< the client connection (edge_flow_id) */
	struct cfg_addr to; /**< the backend */
	uint16_t port;
	bool invite; /**< INVITE: any response ends it; else only a final one */
};

struct edge_rtx;

/** A table for cap transactions (0: none, edge_rtx_add() refuses all) and timer T1. */
struct edge_rtx *edge_rtx_new(uint32_t cap, uint32_t t1_ms);

void edge_rtx_free(struct edge_rtx *t);

/**
 * Track a request just sent (n octets at p, copied) at now (monotonic ms). A key already
 * tracked is left as it is. @return 0, or -1 when the table or its octet bound is full
 * (the request went out once and is not retransmitted).
 */
int edge_rtx_add(struct edge_rtx *t, const struct edge_rtx_req *r, const uint8_t *p, size_t n,
                 uint64_t now);

/** A response to key came from a backend: status 100..699. Unknown keys are ignored. */
void edge_rtx_answer(struct edge_rtx *t, uint64_t key, unsigned status, uint64_t now);

/**
 * Called by edge_rtx_run() for a request that is due: timed_out false, to send it again
 * (return false to forget it instead: its client is gone); timed_out true, once, when
 * Timer B/F ran out (the entry is gone after the call; the return is ignored).
 */
typedef bool (*edge_rtx_fire_fn)(void *arg, const struct edge_rtx_req *r, const uint8_t *p,
                                 size_t n, bool timed_out);

/** Fire what is due at now. @return when the next entry is due, or EDGE_RTX_NONE. */
uint64_t edge_rtx_run(struct edge_rtx *t, uint64_t now, edge_rtx_fire_fn fn, void *arg);

/** Transactions tracked now. */
uint32_t edge_rtx_pending(const struct edge_rtx *t);

#endif
