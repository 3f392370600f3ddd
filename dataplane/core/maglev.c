/*
 * maglev.c - weighted Maglev table builder and table fingerprint (include/siphon/maglev.h).
 * Control plane and tools: maglev_build() allocates scratch and may take milliseconds;
 * the dataplane only reads the finished table through the inline maglev_lookup().
 * Invariant: the table depends only on the set of (id, weight, state) and the size, never
 * on the order of the caller's array, so every instance builds the same table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Header-only xxHash: the core links no libxxhash, and the hash cannot drift with a .so. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "siphon/maglev.h"

/*
 * Seeds of the two backend-id hashes. The permutations are public on purpose: every
 * instance must derive the same ones, and the secret lives in the key hash (keyhash.c).
 * XXH3_64bits_withSeed() output is frozen since xxHash 0.8.0. Changing either seed remaps
 * every key at once, so never change them (tests/test_maglev.c golden_table pins them).
 */
#define MAGLEV_SEED_OFFSET UINT64_C(0x5349504d41474c31) /* "SIPMAGL1" */
#define MAGLEV_SEED_SKIP   UINT64_C(0x5349504d41474c32) /* "SIPMAGL2" */

/* A backend's id with its index in the caller's array, for the canonical sort. */
struct maglev_ref {
	const char *id;
	uint32_t index;
};

/* Placement state of one usable backend. */
struct maglev_perm {
	uint32_t pos;    /* next slot of its permutation to try */
	uint32_t skip;   /* permutation step, 1..size-1 */
	uint32_t weight; /* 1..MAGLEV_MAX_WEIGHT */
	uint32_t rank;   /* position in id order: the canonical tie-break */
	uint16_t index;  /* index in the caller's array: the slot value */
};

/* Usable backends of one weight; they claim together, in rank order. */
struct maglev_class {
	uint32_t first;  /* first member in the perm array */
	uint32_t count;  /* members */
	uint32_t weight; /* their common weight */
	uint32_t claim;  /* number of the members' next claim, from 1 */
};

size_t
maglev_table_bytes(uint32_t size)
{
	return sizeof(struct maglev_table) + (size_t)size * sizeof(uint16_t);
}

int
maglev_is_prime(uint32_t n)
{
	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return 0;
	/* 64-bit i: i * i would wrap in 32 bits just below 2^32. At most ~22k steps. */
	for (uint64_t i = 5; i * i <= n; i += 6)
		if (n % i == 0 || n % (i + 2) == 0)
			return 0;
	return 1;
}

static int
maglev_ref_cmp(const void *a, const void *b)
{
	const struct maglev_ref *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* Heavier first, then id order: the order of classes and of members within a class. */
static int
maglev_perm_cmp(const void *a, const void *b)
{
	const struct maglev_perm *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * Claim order. Claim c of a backend of weight w happens at virtual time (c - 1/2) / w
 * (Webster's rounding, which keeps every share within about a slot of ideal); at equal
 * times the heavier backend goes first, then the lower id. Equal weights reduce to
 * classic Maglev's round robin in id order. Unlike credit earned per round against the
 * largest weight, the times do not depend on the other backends, so removing the heaviest
 * one does not reorder the claims of the rest. Backends of one weight share their times,
 * so they are scheduled as one class: the heap holds one entry per distinct weight, not per
 * backend. Classes are indexed heaviest first, so a lower index wins a tie. Products stay
 * below 2^25 * 2^20.
 */
static inline int
maglev_before(const struct maglev_class *cls, uint32_t a, uint32_t b)
{
	uint64_t ta = (2 * (uint64_t)cls[a].claim - 1) * cls[b].weight;
	uint64_t tb = (2 * (uint64_t)cls[b].claim - 1) * cls[a].weight;

	return ta != tb ? ta < tb : a < b;
}

static void
maglev_sift_down(uint32_t *heap, uint32_t len, uint32_t i, const struct maglev_class *cls)
{
	uint32_t top = heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= len)
			break;
		if (c + 1 < len && maglev_before(cls, heap[c + 1], heap[c]))
			c++;
		if (!maglev_before(cls, heap[c], top))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = top;
}

/* Give p the next free slot of its permutation; the caller stops before the table is full. */
static inline void
maglev_claim(struct maglev_table *t, struct maglev_perm *p)
{
	uint32_t pos = p->pos, size = t->size;

	while (t->slot[pos] != MAGLEV_NONE) {
		pos += p->skip;
		if (pos >= size)
			pos -= size;
	}
	t->slot[pos] = p->index;
	p->pos = pos;
}

int
maglev_build(struct maglev_table *t, uint32_t size, const struct maglev_backend *be, unsigned n)
{
	struct maglev_ref *ref = NULL;
	struct maglev_perm *perm = NULL;
	struct maglev_class *cls = NULL;
	uint32_t *heap = NULL;
	uint32_t usable = 0, u = 0, k = 0;
	int rc = -EINVAL;

	if (t == NULL || (be == NULL && n > 0) || n > MAGLEV_MAX_BACKENDS)
		goto fail;
	if (size < 2 || size > MAGLEV_MAX_SIZE || !maglev_is_prime(size))
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		if (be[i].id == NULL || be[i].id[0] == '\0' || be[i].weight > MAGLEV_MAX_WEIGHT ||
		    be[i].state > MAGLEV_DOWN)
			goto fail;
		usable += be[i].state == MAGLEV_UP && be[i].weight > 0;
	}
	if (usable > size)
		goto fail;

	rc = -ENOMEM;
	ref = malloc((n > 0 ? n : 1) * sizeof(*ref));
	perm = malloc((usable > 0 ? usable : 1) * sizeof(*perm));
	cls = malloc((usable > 0 ? usable : 1) * sizeof(*cls));
	heap = malloc((usable > 0 ? usable : 1) * sizeof(*heap));
	if (ref == NULL || perm == NULL || cls == NULL || heap == NULL)
		goto fail;
	/* Sort every backend, usable or not: ids must be unique across the whole array. */
	for (unsigned i = 0; i < n; i++)
		ref[i] = (struct maglev_ref){.id = be[i].id, .index = i};
	qsort(ref, n, sizeof(*ref), maglev_ref_cmp);
	rc = -EINVAL;
	for (unsigned i = 1; i < n; i++)
		if (strcmp(ref[i - 1].id, ref[i].id) == 0)
			goto fail;

	/* Nothing can fail from here on, so t is only written once the build will succeed. */
	for (unsigned i = 0; i < n; i++) {
		const struct maglev_backend *b = &be[ref[i].index];

		if (b->state != MAGLEV_UP || b->weight == 0)
			continue;
		size_t len = strlen(b->id);
		uint64_t h1 = XXH3_64bits_withSeed(b->id, len, MAGLEV_SEED_OFFSET);
		uint64_t h2 = XXH3_64bits_withSeed(b->id, len, MAGLEV_SEED_SKIP);

		perm[u].pos = (uint32_t)(h1 % size);
		perm[u].skip = (uint32_t)(h2 % (size - 1) + 1);
		perm[u].weight = b->weight;
		perm[u].rank = u;
		perm[u].index = (uint16_t)ref[i].index;
		u++;
	}
	qsort(perm, usable, sizeof(*perm), maglev_perm_cmp);
	for (uint32_t i = 0; i < usable; i++) {
		if (i == 0 || perm[i].weight != perm[i - 1].weight) {
			cls[k] = (struct maglev_class){
			        .first = i, .weight = perm[i].weight, .claim = 1};
			heap[k] = k;
			k++;
		}
		cls[k - 1].count++;
	}
	for (uint32_t i = k / 2; i-- > 0;)
		maglev_sift_down(heap, k, i, cls);

	t->size = size;
	t->nb_backends = n;
	for (uint32_t i = 0; i < size; i++)
		t->slot[i] = MAGLEV_NONE;
	/*
	 * Each claim walks the backend's permutation to its next free slot. size is prime and
	 * skip nonzero, so the walk visits every slot and always finds one while any is free;
	 * the expected total walk is O(size log size). Each turn of a class costs one
	 * O(log classes) heap step.
	 */
	for (uint32_t filled = 0; k > 0 && filled < size;) {
		struct maglev_class *c = &cls[heap[0]];

		for (uint32_t i = c->first; i < c->first + c->count && filled < size; i++, filled++)
			maglev_claim(t, &perm[i]);
		c->claim++;
		maglev_sift_down(heap, k, 0, cls);
	}
	rc = 0;
fail:
	free(heap);
	free(cls);
	free(perm);
	free(ref);
	return rc;
}

/* ---- fingerprint ---- */

#define MAGLEV_SEED_FINGERPRINT UINT64_C(0x5349504d41474631) /* "SIPMAGF1" */
#define MAGLEV_FP_CHUNK         512u                         /* slots encoded per update */

static void
maglev_fp_u32(XXH3_state_t *st, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	XXH3_64bits_update(st, b, sizeof(b));
}

int
maglev_fingerprint(const struct maglev_table *t, const struct maglev_backend *be, unsigned n,
                   uint64_t *fp)
{
	struct maglev_ref *ref = NULL;
	uint16_t *rank = NULL;
	uint32_t m = 0;
	XXH3_state_t st;
	int rc;

	if (t == NULL || fp == NULL || (be == NULL && n > 0) || n > MAGLEV_MAX_BACKENDS)
		return -EINVAL;
	rc = -ENOMEM;
	/* rank[i]: 1 once backend i is seen in a slot, then its rank among those seen. */
	rank = calloc(n > 0 ? n : 1, sizeof(*rank));
	ref = malloc((n > 0 ? n : 1) * sizeof(*ref));
	if (rank == NULL || ref == NULL)
		goto fail;
	rc = -EINVAL;
	for (uint32_t k = 0; k < t->size; k++) {
		uint16_t v = t->slot[k];

		if (v == MAGLEV_NONE)
			continue;
		if (v >= n)
			goto fail;
		if (rank[v] == 0) {
			if (be[v].id == NULL || be[v].id[0] == '\0')
				goto fail;
			rank[v] = 1;
			ref[m++] = (struct maglev_ref){.id = be[v].id, .index = v};
		}
	}
	qsort(ref, m, sizeof(*ref), maglev_ref_cmp);
	for (uint32_t i = 0; i < m; i++) {
		if (i > 0 && strcmp(ref[i - 1].id, ref[i].id) == 0)
			goto fail;
		rank[ref[i].index] = (uint16_t)i;
	}

	/* A state on the stack must be initialised, or reset may reuse a stale secret. */
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset_withSeed(&st, MAGLEV_SEED_FINGERPRINT);
	maglev_fp_u32(&st, t->size);
	maglev_fp_u32(&st, m);
	/* The NUL ends each id, so no two id lists encode alike. */
	for (uint32_t i = 0; i < m; i++)
		XXH3_64bits_update(&st, ref[i].id, strlen(ref[i].id) + 1);
	for (uint32_t k = 0; k < t->size;) {
		uint8_t buf[2 * MAGLEV_FP_CHUNK];
		uint32_t len = 0;

		for (; k < t->size && len < sizeof(buf); k++, len += 2) {
			uint16_t r = t->slot[k] == MAGLEV_NONE ? MAGLEV_NONE : rank[t->slot[k]];

			buf[len] = (uint8_t)r;
			buf[len + 1] = (uint8_t)(r >> 8);
		}
		XXH3_64bits_update(&st, buf, len);
	}
	*fp = XXH3_64bits_digest(&st);
	rc = 0;
fail:
	free(ref);
	free(rank);
	return rc;
}
