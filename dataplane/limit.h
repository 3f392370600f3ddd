/*
 * limit.h - the worker's per-source rate limiter: a fixed table of GCRA buckets (the
 * token bucket written as one "theoretical arrival time" per source) keyed by VIP,
 * method class and source address (IPv6: its /64). Set-associative, LIMIT_WAYS entries
 * per set found by the snapshot's keyed hash, so a flood of forged sources cannot pick
 * the set a victim lives in. One worker writes its table (no lock, no allocation, no
 * syscall); control reads it field by field with atomic loads (limit_top()).
 */
#ifndef SIPHON_DP_LIMIT_H
#define SIPHON_DP_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "siphon/keyhash.h"
#include "siphon/snap.h"

#define LIMIT_SETS 4096u /**< a power of two */
#define LIMIT_WAYS 4u    /**< entries per set: 4 x 48 bytes, three cache lines */

/* Every field is a 64-bit word written with relaxed atomic stores: a reader on another
 * thread sees each whole, never torn, and no access is a data race. */
struct limit_entry {
	uint64_t hi, lo; /**< the source, as stored in 16 bytes (IPv4 mapped, IPv6 /64) */
	uint64_t meta;   /**< 1 << 40 | vip << 16 | family << 8 | class; 0: empty */
	uint64_t tat;    /**< TSC at which the source's credit is full again */
	uint64_t drops;  /**< requests dropped since the entry was taken */
	uint64_t passed; /**< requests admitted since then */
};

struct limit_table {
	struct limit_entry e[LIMIT_SETS][LIMIT_WAYS];
};

#define LIMIT_META(vip, family, cls)                                                               \
	((uint64_t)1 << 40 | (uint64_t)(vip) << 16 | (uint64_t)(family) << 8 | (uint64_t)(cls))

static inline uint64_t
limit_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void
limit_st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/**
 * Admit or refuse one initial request of class cls from (family, src) to VIP vip, whose
 * limit l has a rate, at TSC now. GCRA: admitted while the source's theoretical arrival
 * time is at most l->tau ahead of now, which then moves l->interval on. A source not in
 * the table takes the entry of its set whose credit is fullest (an entry whose time has
 * passed holds no state: replacing it loses nothing). The worker's lcore only.
 * @return true to forward, false to drop (counted in the entry).
 */
static inline bool
limit_admit(struct limit_table *t, const struct keyhash *kh, uint16_t vip, uint8_t family,
            const uint8_t src[16], uint8_t cls, const struct snap_limit *l, uint64_t now)
{
	uint8_t k[20];
	uint64_t hi, lo, meta = LIMIT_META(vip, family, cls), tat;
	struct limit_entry *set, *e = NULL, *victim;

	memcpy(&hi, src, 8);
	memcpy(&lo, src + 8, 8);
	if (family == 6)
		lo = 0; /* one /64 is one subscriber: per address would be free to evade */
	memcpy(k, &hi, 8);
	memcpy(k + 8, &lo, 8);
	memcpy(k + 16, &meta, 4);
	set = t->e[keyhash_calc(kh, k, sizeof(k)) & (LIMIT_SETS - 1)];
	victim = &set[0];
	for (unsigned i = 0; i < LIMIT_WAYS; i++) {
		struct limit_entry *c = &set[i];

		if (c->meta == meta && c->hi == hi && c->lo == lo) {
			e = c;
			break;
		}
		if (c->meta == 0) {
			if (victim->meta != 0)
				victim = c;
		} else if (victim->meta != 0 && c->tat < victim->tat) {
			victim = c;
		}
	}
	if (e == NULL) {
		e = victim;
		limit_st(&e->meta, 0); /* readers skip it while it changes hands */
		limit_st(&e->hi, hi);
		limit_st(&e->lo, lo);
		limit_st(&e->tat, now);
		limit_st(&e->drops, 0);
		limit_st(&e->passed, 0);
		limit_st(&e->meta, meta);
	}
	tat = e->tat > now ? e->tat : now;
	if (tat - now > l->tau) {
		limit_st(&e->drops, e->drops + 1);
		return false;
	}
	limit_st(&e->tat, tat + l->interval);
	limit_st(&e->passed, e->passed + 1);
	return true;
}

#endif /* SIPHON_DP_LIMIT_H */
