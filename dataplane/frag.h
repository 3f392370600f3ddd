/*
 * frag.h - a worker's IP fragment table: holds the fragments of SIP/UDP datagrams until
 * the whole datagram is there, so the worker can scan it and send every original fragment,
 * unchanged, to the backend its Call-ID picks (docs/protection.md#fragments). Bounded in
 * entries, fragments per datagram, bytes held and time; one per worker, never shared, so
 * fragments of one datagram meet on the worker frag_owner() names (worker.c hands them on).
 */
#ifndef SIPHON_DP_FRAG_H
#define SIPHON_DP_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "siphon/pkt.h"
#include "siphon/stats.h"

/** Largest payload of a reassembled datagram: what a 16-bit UDP length can say. */
#define FRAG_DATAGRAM_MAX 65535u

/** A table's bounds (the configuration's frag_* keys). */
struct frag_limits {
	uint32_t entries;     /**< datagrams in reassembly at once, >= 1 */
	uint32_t fragments;   /**< fragments of one datagram, 2..CFG_FRAG_FRAGMENTS_MAX */
	uint32_t bytes;       /**< frame bytes held, all datagrams together */
	uint64_t timeout_tsc; /**< longest a datagram waits, TSC cycles */
};

/** One held fragment: its mbuf and where its data sits in the datagram and the frame. */
struct frag_piece {
	struct rte_mbuf *m;
	uint16_t off;     /**< in the datagram's payload */
	uint16_t len;     /**< data bytes */
	uint16_t data_at; /**< first data byte in the frame */
	uint16_t l3_off;  /**< IP header in the frame */
};

/** A datagram complete: what frag_add() returns. Valid until frag_done(). */
struct frag_dgram {
	uint8_t ip_version;
	uint8_t src[16], dst[16]; /**< as struct pkt_info's */
	uint32_t len;             /**< payload bytes: UDP header and data */
	const uint8_t *data;      /**< the payload, copied together (scan only; never sent) */
	unsigned n;               /**< fragments, in arrival order */
	struct frag_piece *piece;
};

struct frag_table;

/** Key hash of the fragment pi describes: (version, src, dst, id, protocol). */
uint32_t frag_hash(const struct pkt_info *pi);

/** The worker (0..nb_workers-1) that reassembles the datagram of hash h. */
static inline unsigned
frag_owner(uint32_t h, unsigned nb_workers)
{
	return (unsigned)(((uint64_t)h * nb_workers) >> 32);
}

/** A table with limits l on socket; NULL when out of memory. Main lcore. */
struct frag_table *frag_create(const struct frag_limits *l, int socket);

/** Free t and every mbuf it holds. */
void frag_free(struct frag_table *t);

/**
 * Take fragment m (pi: pkt_decode() said PKT_FRAGMENT, l4_proto UDP) at TSC now. m is
 * consumed: held, or freed with its drop counted in st (and with it every fragment held
 * of its datagram when the datagram is the defect: overlap, too many, too big, bad).
 * @return the datagram when m completed it (its fragments now the caller's: send or free
 * every one, then frag_done()), else NULL.
 */
struct frag_dgram *frag_add(struct frag_table *t, struct rte_mbuf *m, const struct pkt_info *pi,
                            uint64_t now, struct stats_worker *st);

/** Forget the datagram frag_add() returned (its mbufs are the caller's). */
void frag_done(struct frag_table *t, struct frag_dgram *d);

/** Drop (frag_timeout) every datagram older than the timeout at now. O(expired). */
void frag_expire(struct frag_table *t, uint64_t now, struct stats_worker *st);

/** Datagrams held now (for tests and telemetry). */
unsigned frag_held(const struct frag_table *t);

#endif /* SIPHON_DP_FRAG_H */
