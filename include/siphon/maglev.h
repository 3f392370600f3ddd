/**
 * @file maglev.h
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016).
 *
 * A table of M slots (M prime) maps a key hash to a backend in O(1). Each
 * backend fills slots along its own permutation of the table, derived only
 * from its stable identity (name or address), in proportion to its weight:
 * claim c of a backend of weight w happens at virtual time (c - 1/2) / w, ties
 * to the heavier backend, then to the lower id. That order, the permutation
 * seeds and the table size are part of the cross-instance contract: change
 * one and every instance remaps keys. Removing one of N backends moves its own
 * keys plus under 1% of the others' (measured 0.3% at N = 10 and 0.6% at
 * N = 100 with 65537 slots, tests/test_maglev.c); the same set of backends in
 * any order builds the identical table. A backend whose ideal share is under
 * about half a slot gets none: size the table >= 100 x total weight / smallest
 * weight for ~1% accuracy. Building runs in the control plane (it allocates
 * scratch); lookup is a load and a multiply, safe on any lcore. Pure C.
 */
#ifndef SIPHON_MAGLEV_H
#define SIPHON_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#define MAGLEV_DEFAULT_SIZE 65537u     /**< default table size (prime) */
#define MAGLEV_MAX_SIZE     16777213u  /**< largest accepted table size (prime < 2^24) */
#define MAGLEV_MAX_BACKENDS 65534u     /**< backends per table; indices fit a slot */
#define MAGLEV_MAX_WEIGHT   1000000u   /**< largest weight */
#define MAGLEV_NONE         UINT16_MAX /**< slot value of a table with no usable backend */

/** What a backend's state means for new keys. */
enum maglev_state {
	MAGLEV_UP = 0, /**< in the table */
	MAGLEV_DRAIN,  /**< out of the table for new keys (existing dialogs handled elsewhere) */
	MAGLEV_DOWN,   /**< out of the table */
};

/** One backend as the builder sees it. */
struct maglev_backend {
	const char *id;  /**< stable identity (name or address); unique within a table */
	uint32_t weight; /**< relative share, 1..MAGLEV_MAX_WEIGHT; 0 takes no slot */
	uint8_t state;   /**< enum maglev_state */
};

/**
 * A built table. slot[i] is an index into the backend array given to
 * maglev_build(), or MAGLEV_NONE when no backend is usable. Allocate
 * maglev_table_bytes(size) bytes (rte_malloc in the dataplane, malloc in tools).
 */
struct maglev_table {
	uint32_t size;        /**< number of slots, prime */
	uint32_t nb_backends; /**< length of the backend array it was built from */
	uint16_t slot[];
};

/** Bytes a table of size slots needs. */
size_t maglev_table_bytes(uint32_t size);

/** True when n is prime (table sizes must be). */
int maglev_is_prime(uint32_t n);

/**
 * Fill t from n backends. Order-independent: backends are placed by identity.
 *
 * @param t     Memory of maglev_table_bytes(size) bytes.
 * @param size  Prime number of slots, 2..MAGLEV_MAX_SIZE, >= number of usable backends.
 * @param be    Backends; ids unique and non-empty.
 * @param n     Number of backends, 0..MAGLEV_MAX_BACKENDS.
 * @return 0; -EINVAL on a NULL table, be NULL with n > 0, n > MAGLEV_MAX_BACKENDS,
 *         a bad size, a duplicate or empty id, a weight out of range or an unknown
 *         state; -ENOMEM when scratch memory cannot be had. On error t is unchanged.
 *
 * Control plane: allocates scratch, may take milliseconds; never on a worker.
 */
int maglev_build(struct maglev_table *t, uint32_t size, const struct maglev_backend *be,
                 unsigned n);

/**
 * Fingerprint of what a built table decides, for comparing instances: equal
 * fingerprints mean every key hash goes to the same backend id on both.
 *
 * XXH3-64 (seed "SIPMAGF1") over a canonical encoding that depends only on the
 * size and on which id each slot holds, never on the order of be: the size
 * (u32), the number m of backends holding a slot (u32), their ids in strcmp
 * order each ended by a NUL, then every slot as the u16 rank of its id in that
 * order (0xffff for MAGLEV_NONE); integers little-endian. Backends holding no
 * slot (down, drained, weight 0) are not part of it: they decide nothing. The
 * encoding, the seed and xxHash's frozen XXH3 output make the value the same
 * on every instance, build and architecture of the same table contract
 * (tests/test_maglev.c pins a golden value); it changes only when the tables
 * do. It covers the table, not the hash key: two instances with different keys
 * agree on the fingerprint yet route differently (the key is secret; a hash of
 * it would be an offline oracle for guessing it).
 *
 * @param t   A table whose slots index be or hold MAGLEV_NONE (maglev_build()'s).
 * @param be  Backends the slots index; only their ids are read.
 * @param n   Length of be.
 * @param fp  Filled in on success.
 * @return 0; -EINVAL on a NULL t or fp, be NULL with n > 0, n > MAGLEV_MAX_BACKENDS,
 *         a slot >= n that is not MAGLEV_NONE, or a NULL, empty or duplicate id among the backends
 *         holding a slot; -ENOMEM when scratch memory cannot be had.
 *
 * Control plane or tools: allocates scratch; O(size + m log m) time.
 */
int maglev_fingerprint(const struct maglev_table *t, const struct maglev_backend *be, unsigned n,
                       uint64_t *fp);

/**
 * Backend index for a 64-bit key hash: slot[hash * size >> 64], which spreads
 * a uniform hash evenly without a division. Any lcore.
 */
static inline uint16_t
maglev_lookup(const struct maglev_table *t, uint64_t hash)
{
	return t->slot[(uint32_t)(((unsigned __int128)hash * t->size) >> 64)];
}

#endif /* SIPHON_MAGLEV_H */
