/*
 * test_maglev.c - Criterion suite for the weighted Maglev builder (dataplane/core/maglev.c).
 * Covers load shares, disruption on removal, order independence, restore on re-add, argument
 * validation, maglev_is_prime(), a golden table and the table fingerprint; keyhash has its own
 * suite. Every key comes from a fixed-seed PRNG, so the measured figures printed here are
 * reproducible.
 * Build cost is measured by bench/bench_maglev.c, never asserted here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
/* Header-only, as maglev.c uses it: the golden fingerprint is recomputed from its encoding. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/sph.h"

#define NB_KEYS    1000000u
#define CALLID_LEN 32u
#define MAX_BE     1000u

TestSuite(maglev);

/* ---- helpers ---- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A Call-ID-like key: 23 random base-36 characters and a host, CALLID_LEN bytes. */
static void
make_callid(uint64_t *s, char out[CALLID_LEN])
{
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t r = 0;

	for (unsigned i = 0; i < 23; i++) {
		if (i % 12 == 0)
			r = splitmix64(s);
		out[i] = alnum[r % 36];
		r /= 36;
	}
	memcpy(out + 23, "@10.0.0.1", 9);
}

/* NB_KEYS hashes of random Call-IDs under a fixed key; the caller frees. */
static uint64_t *
make_hashes(void)
{
	static const char key[] = "siphon-test-key";
	struct keyhash kh;
	uint64_t s = 42;
	uint64_t *h = malloc(NB_KEYS * sizeof(*h));
	char cid[CALLID_LEN];

	cr_assert_not_null(h);
	cr_assert_eq(keyhash_init(&kh, key, sizeof(key) - 1), 0);
	for (unsigned i = 0; i < NB_KEYS; i++) {
		make_callid(&s, cid);
		h[i] = keyhash_calc(&kh, cid, sizeof(cid));
	}
	return h;
}

static char be_ids[MAX_BE][24];

/* n backends "be-<i>.example" (ids have distinct lengths too), all UP with weight 1. */
static void
make_backends(struct maglev_backend *be, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		snprintf(be_ids[i], sizeof(be_ids[i]), "be-%u.example", i);
		be[i] = (struct maglev_backend){.id = be_ids[i], .weight = 1, .state = MAGLEV_UP};
	}
}

static struct maglev_table *
table_new(uint32_t size)
{
	struct maglev_table *t = malloc(maglev_table_bytes(size));

	cr_assert_not_null(t);
	return t;
}

/* The id a slot holds, or NULL: tables built from different arrays compare by id. */
static const char *
slot_id(const struct maglev_table *t, const struct maglev_backend *be, uint32_t i)
{
	return t->slot[i] == MAGLEV_NONE ? NULL : be[t->slot[i]].id;
}

static int
same_ids(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Number of slots whose backend id differs between two tables of the same size. */
static uint32_t
slots_differ(const struct maglev_table *a, const struct maglev_backend *bea,
             const struct maglev_table *b, const struct maglev_backend *beb)
{
	uint32_t d = 0;

	cr_assert_eq(a->size, b->size);
	for (uint32_t i = 0; i < a->size; i++)
		d += !same_ids(slot_id(a, bea, i), slot_id(b, beb, i));
	return d;
}

static void
shuffle(struct maglev_backend *be, unsigned n, uint64_t *s)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(splitmix64(s) % i);
		struct maglev_backend tmp = be[i - 1];

		be[i - 1] = be[j];
		be[j] = tmp;
	}
}

/* Measured figures go to stdout, which Criterion and meson show without --verbose. */
__attribute__((format(printf, 1, 2))) static void
report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("[info] ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static double
absd(double x)
{
	return x < 0 ? -x : x;
}

/* ---- load shares ---- */

/*
 * Each backend's share of 1M keys must be within 1.5% (relative) of weight / total weight.
 * Sampling noise is sqrt((1-p)/(NB_KEYS p)): 0.3% at p = 1/10, 0.45% at p = 1/21, so 1.5%
 * leaves over 3 sigma. The slot counts carry no noise and must be within one slot of ideal.
 */
static void
check_shares(const char *name, const uint32_t *w, unsigned n)
{
	struct maglev_backend be[MAX_BE];
	struct maglev_table *t = table_new(MAGLEV_DEFAULT_SIZE);
	uint64_t *h = make_hashes();
	uint32_t keys[MAX_BE] = {0}, slots[MAX_BE] = {0};
	double wsum = 0, worst = 0, worst_slot = 0;

	make_backends(be, n);
	for (unsigned i = 0; i < n; i++) {
		be[i].weight = w[i];
		wsum += w[i];
	}
	cr_assert_eq(maglev_build(t, MAGLEV_DEFAULT_SIZE, be, n), 0, "%s", name);
	for (uint32_t i = 0; i < t->size; i++)
		slots[t->slot[i]]++;
	for (unsigned i = 0; i < NB_KEYS; i++)
		keys[maglev_lookup(t, h[i])]++;
	for (unsigned i = 0; i < n; i++) {
		double expect = w[i] / wsum;
		double dev = (double)keys[i] / NB_KEYS / expect - 1;
		double slot_err = slots[i] - expect * t->size;

		if (n <= 10)
			report("%s: %s weight %u: %u keys, share %.4f%% expected %.4f%% "
			       "(dev %+.3f%%), %u slots (ideal %.1f)",
			       name, be[i].id, w[i], keys[i], 100.0 * keys[i] / NB_KEYS,
			       100 * expect, 100 * dev, slots[i], expect * t->size);
		cr_expect_leq(absd(dev), 0.015, "%s: %s share dev %+.4f", name, be[i].id, dev);
		cr_expect_leq(absd(slot_err), 1.0, "%s: %s slots %u, ideal %.2f", name, be[i].id,
		              slots[i], expect * t->size);
		worst = absd(dev) > worst ? absd(dev) : worst;
		worst_slot = absd(slot_err) > worst_slot ? absd(slot_err) : worst_slot;
	}
	report("%s: %u backends, worst key share dev %.3f%%, worst slot error %.2f slots", name, n,
	       100 * worst, worst_slot);
	free(h);
	free(t);
}

Test(maglev, shares_equal_weights)
{
	uint32_t w[10];

	for (unsigned i = 0; i < 10; i++)
		w[i] = 1;
	check_shares("equal10", w, 10);
}

Test(maglev, shares_mixed_weights)
{
	static const uint32_t w[] = {1, 2, 3, 5, 10};

	check_shares("mixed1-2-3-5-10", w, SPH_ARRAY_SIZE(w));
}

/*
 * Many backends, slot counts only: 1M keys would leave too few per backend to judge. With
 * weights 1..1000 the small ones round to a slot or none (ideal 0.4 slots) and the big
 * ones absorb the difference, so the bound is two slots rather than one.
 */
Test(maglev, slot_shares_many_backends)
{
	static const uint32_t cycle[] = {1, 2, 3, 5, 10, 100, 1000};
	struct maglev_backend be[MAX_BE];
	struct maglev_table *t = table_new(MAGLEV_DEFAULT_SIZE);
	static const unsigned sizes[] = {100, 1000};

	for (unsigned k = 0; k < SPH_ARRAY_SIZE(sizes); k++) {
		unsigned n = sizes[k];
		uint32_t slots[MAX_BE] = {0};
		double wsum = 0, worst = 0;

		make_backends(be, n);
		for (unsigned i = 0; i < n; i++) {
			be[i].weight = cycle[i % SPH_ARRAY_SIZE(cycle)];
			wsum += be[i].weight;
		}
		cr_assert_eq(maglev_build(t, MAGLEV_DEFAULT_SIZE, be, n), 0);
		for (uint32_t i = 0; i < t->size; i++)
			slots[t->slot[i]]++;
		for (unsigned i = 0; i < n; i++) {
			double err = slots[i] - be[i].weight / wsum * t->size;

			cr_expect_leq(absd(err), 2.0, "n=%u %s weight %u: %u slots, err %.2f", n,
			              be[i].id, be[i].weight, slots[i], err);
			worst = absd(err) > worst ? absd(err) : worst;
		}
		report("slot shares: %u backends (weights 1..1000) in %u slots: worst error "
		       "%.2f slots",
		       n, t->size, worst);
	}
	free(t);
}

/* ---- disruption ---- */

/*
 * Remove backend r and count, over 1M keys, how many change backend: all of r's must, and
 * few of the others. Maglev trades a little of the latter for balance; the paper measures
 * a few percent at this table-to-backend ratio. Returns the moved fraction of all keys and
 * of the keys whose backend stays.
 */
static void
check_removal(const struct maglev_backend *be, unsigned n, unsigned r, const uint64_t *h,
              struct maglev_table *ta, struct maglev_table *tb, double *moved_out, double *stay_out)
{
	struct maglev_backend rest[MAX_BE];
	unsigned moved = 0, stay_keys = 0, stay_moved = 0;

	memcpy(rest, be, r * sizeof(*be));
	memcpy(rest + r, be + r + 1, (n - r - 1) * sizeof(*be));
	cr_assert_eq(maglev_build(ta, MAGLEV_DEFAULT_SIZE, be, n), 0);
	cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, rest, n - 1), 0);
	for (unsigned i = 0; i < NB_KEYS; i++) {
		uint16_t a = maglev_lookup(ta, h[i]);
		uint16_t b = maglev_lookup(tb, h[i]);
		int differ = strcmp(be[a].id, rest[b].id) != 0;

		cr_assert(a != r || differ, "key %u stayed on removed backend", i);
		moved += differ;
		if (a != r) {
			stay_keys++;
			stay_moved += differ;
		}
	}
	*moved_out = (double)moved / NB_KEYS;
	*stay_out = (double)stay_moved / stay_keys;
}

/*
 * Remove every step-th backend in turn. Bounds: the moved fraction is the removed share
 * (at least 0.95 of it: sampling noise is under 1% relative at 10k keys) plus at most 1%
 * of all keys; staying keys move less than 1%. Measured worst cases are printed.
 */
static void
check_disruption(const char *name, const uint32_t *w, unsigned n, unsigned step)
{
	struct maglev_backend be[MAX_BE];
	struct maglev_table *ta = table_new(MAGLEV_DEFAULT_SIZE);
	struct maglev_table *tb = table_new(MAGLEV_DEFAULT_SIZE);
	uint64_t *h = make_hashes();
	double wsum = 0, ratio_lo = 1e9, ratio_hi = 0, extra_hi = 0, stay_sum = 0, stay_hi = 0;
	double moved_sum = 0;
	unsigned runs = 0;

	make_backends(be, n);
	for (unsigned i = 0; i < n; i++) {
		be[i].weight = w != NULL ? w[i] : 1;
		wsum += be[i].weight;
	}
	for (unsigned r = 0; r < n; r += step) {
		double moved, stay, share = be[r].weight / wsum;

		check_removal(be, n, r, h, ta, tb, &moved, &stay);
		cr_expect(moved >= 0.95 * share && moved <= share + 0.01,
		          "%s remove %u: moved %.4f, removed share %.4f", name, r, moved, share);
		cr_expect_lt(stay, 0.01, "%s remove %u: %.4f of staying keys moved", name, r, stay);
		ratio_lo = moved / share < ratio_lo ? moved / share : ratio_lo;
		ratio_hi = moved / share > ratio_hi ? moved / share : ratio_hi;
		extra_hi = moved - share > extra_hi ? moved - share : extra_hi;
		stay_hi = stay > stay_hi ? stay : stay_hi;
		stay_sum += stay;
		moved_sum += moved;
		runs++;
	}
	report("disruption %s: %u backends, %u removals, size %u, 1M keys: moved mean %.4f, "
	       "moved/removed share %.3f..%.3f (extra <= %.4f of all keys); staying keys moved "
	       "mean %.3f%% max %.3f%%",
	       name, n, runs, MAGLEV_DEFAULT_SIZE, moved_sum / runs, ratio_lo, ratio_hi, extra_hi,
	       100 * stay_sum / runs, 100 * stay_hi);
	free(h);
	free(tb);
	free(ta);
}

Test(maglev, disruption_10)
{
	check_disruption("equal10", NULL, 10, 1);
}

Test(maglev, disruption_100)
{
	check_disruption("equal100", NULL, 100, 5);
}

Test(maglev, disruption_mixed_weights)
{
	static const uint32_t w[] = {1, 2, 3, 5, 10, 1, 2, 3, 5, 10};

	/* Removing a weight-10 backend removes the largest weight: the rest must hold. */
	check_disruption("mixed10", w, SPH_ARRAY_SIZE(w), 1);
}

/* ---- order independence, restore ---- */

Test(maglev, order_independent)
{
	struct maglev_backend base[64], be[64];
	struct maglev_table *ta = table_new(MAGLEV_DEFAULT_SIZE);
	struct maglev_table *tb = table_new(MAGLEV_DEFAULT_SIZE);
	uint64_t s = 7;
	unsigned n = 64;

	make_backends(base, n);
	for (unsigned i = 0; i < n; i++) {
		base[i].weight = 1 + i % 7;
		base[i].state = i % 11 == 3 ? MAGLEV_DOWN : i % 13 == 5 ? MAGLEV_DRAIN : MAGLEV_UP;
	}
	base[9].weight = 0;
	cr_assert_eq(maglev_build(ta, MAGLEV_DEFAULT_SIZE, base, n), 0);
	memcpy(be, base, sizeof(be));
	for (unsigned k = 0; k < 8; k++) {
		shuffle(be, n, &s);
		cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, n), 0);
		cr_assert_eq(slots_differ(ta, base, tb, be), 0, "shuffle %u", k);
	}
	free(tb);
	free(ta);
}

Test(maglev, readd_restores)
{
	struct maglev_backend be[20], rest[20];
	struct maglev_table *ta = table_new(MAGLEV_DEFAULT_SIZE);
	struct maglev_table *tb = table_new(MAGLEV_DEFAULT_SIZE);
	struct maglev_table *tc = table_new(MAGLEV_DEFAULT_SIZE);

	make_backends(be, 20);
	for (unsigned i = 0; i < 20; i++)
		be[i].weight = 1 + i % 4;
	cr_assert_eq(maglev_build(ta, MAGLEV_DEFAULT_SIZE, be, 20), 0);
	/* Remove backend 5, then add it back at the end of the array. */
	memcpy(rest, be, 5 * sizeof(*be));
	memcpy(rest + 5, be + 6, 14 * sizeof(*be));
	cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, rest, 19), 0);
	cr_assert_gt(slots_differ(ta, be, tb, rest), 0);
	rest[19] = be[5];
	cr_assert_eq(maglev_build(tc, MAGLEV_DEFAULT_SIZE, rest, 20), 0);
	cr_assert_eq(slots_differ(ta, be, tc, rest), 0);
	/* Marking it DOWN and back UP in place restores it too. */
	be[5].state = MAGLEV_DOWN;
	cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, 20), 0);
	be[5].state = MAGLEV_UP;
	cr_assert_eq(maglev_build(tc, MAGLEV_DEFAULT_SIZE, be, 20), 0);
	cr_assert_eq(memcmp(ta, tc, maglev_table_bytes(MAGLEV_DEFAULT_SIZE)), 0);
	free(tc);
	free(tb);
	free(ta);
}

/* ---- states, edge sizes ---- */

Test(maglev, unusable_backends_get_no_slot)
{
	struct maglev_backend be[6];
	struct maglev_table *t = table_new(101);
	uint32_t slots[6] = {0};

	make_backends(be, 6);
	be[1].weight = 0;
	be[2].state = MAGLEV_DOWN;
	be[4].state = MAGLEV_DRAIN;
	cr_assert_eq(maglev_build(t, 101, be, 6), 0);
	cr_assert_eq(t->size, 101);
	cr_assert_eq(t->nb_backends, 6);
	for (uint32_t i = 0; i < t->size; i++) {
		cr_assert_lt(t->slot[i], 6);
		slots[t->slot[i]]++;
	}
	cr_assert_eq(slots[1] + slots[2] + slots[4], 0);
	cr_assert(slots[0] >= 33 && slots[3] >= 33 && slots[5] >= 33);
	free(t);
}

Test(maglev, all_down_gives_none)
{
	struct maglev_backend be[4];
	struct maglev_table *t = table_new(MAGLEV_DEFAULT_SIZE);

	make_backends(be, 4);
	be[0].state = MAGLEV_DOWN;
	be[1].state = MAGLEV_DRAIN;
	be[2].weight = 0;
	be[3].state = MAGLEV_DOWN;
	cr_assert_eq(maglev_build(t, MAGLEV_DEFAULT_SIZE, be, 4), 0);
	cr_assert_eq(t->nb_backends, 4);
	for (uint32_t i = 0; i < t->size; i++)
		cr_assert_eq(t->slot[i], MAGLEV_NONE);
	/* No backends at all is the same; be may then be NULL. */
	cr_assert_eq(maglev_build(t, 13, NULL, 0), 0);
	cr_assert_eq(t->size, 13);
	cr_assert_eq(t->nb_backends, 0);
	for (uint32_t i = 0; i < t->size; i++)
		cr_assert_eq(t->slot[i], MAGLEV_NONE);
	cr_assert_eq(maglev_lookup(t, UINT64_MAX), MAGLEV_NONE);
	free(t);
}

Test(maglev, size_equal_to_backends)
{
	struct maglev_backend be[7];
	struct maglev_table *t = table_new(7);
	uint32_t slots[7] = {0};

	make_backends(be, 7);
	cr_assert_eq(maglev_build(t, 7, be, 7), 0);
	for (uint32_t i = 0; i < 7; i++)
		slots[t->slot[i]]++;
	for (uint32_t i = 0; i < 7; i++)
		cr_assert_eq(slots[i], 1, "backend %u has %u slots", i, slots[i]);
	cr_assert_eq(maglev_build(t, 2, be, 2), 0);
	cr_assert_neq(t->slot[0], t->slot[1]);
	free(t);
}

Test(maglev, lookup_covers_table)
{
	struct maglev_table *t = table_new(5);

	/* hash * size >> 64 maps 0 to the first slot and UINT64_MAX to the last. */
	t->size = 5;
	for (uint16_t i = 0; i < 5; i++)
		t->slot[i] = i;
	cr_assert_eq(maglev_lookup(t, 0), 0);
	cr_assert_eq(maglev_lookup(t, UINT64_MAX), 4);
	cr_assert_eq(maglev_lookup(t, UINT64_MAX / 5 * 2 + 2), 2);
	free(t);
}

/* ---- validation: every error leaves the table as it was ---- */

struct bad_case {
	const char *name;
	uint32_t size;
	unsigned n;
	void (*edit)(struct maglev_backend *be);
};

static void
edit_none(struct maglev_backend *be)
{
	(void)be;
}

static void
edit_dup(struct maglev_backend *be)
{
	be[3].id = be[1].id;
}

static void
edit_dup_down(struct maglev_backend *be)
{
	/* Unique ids are required of the whole array, usable or not. */
	be[3].id = "be-1.example";
	be[3].state = MAGLEV_DOWN;
}

static void
edit_empty_id(struct maglev_backend *be)
{
	be[2].id = "";
}

static void
edit_null_id(struct maglev_backend *be)
{
	be[4].id = NULL;
	be[4].state = MAGLEV_DOWN;
}

static void
edit_heavy(struct maglev_backend *be)
{
	be[0].weight = MAGLEV_MAX_WEIGHT + 1;
}

static void
edit_bad_state(struct maglev_backend *be)
{
	be[0].state = MAGLEV_DOWN + 1;
}

static void
edit_two_down(struct maglev_backend *be)
{
	be[0].state = MAGLEV_DOWN;
	be[1].weight = 0;
}

static const struct bad_case bad_cases[] = {
        {"size 0", 0, 5, edit_none},
        {"size 1", 1, 5, edit_none},
        {"size 4 (not prime)", 4, 5, edit_none},
        {"size 65535 (not prime)", 65535, 5, edit_none},
        {"size 3 < 5 usable", 3, 5, edit_none},
        {"size 3, 5 backends, 3 usable, duplicate", 3, 5, edit_dup},
        {"duplicate id", 101, 5, edit_dup},
        {"duplicate id of a DOWN backend", 101, 5, edit_dup_down},
        {"empty id", 101, 5, edit_empty_id},
        {"NULL id", 101, 5, edit_null_id},
        {"weight > MAGLEV_MAX_WEIGHT", 101, 5, edit_heavy},
        {"unknown state", 101, 5, edit_bad_state},
        {"size 2 < 3 usable", 2, 5, edit_two_down},
};

Test(maglev, invalid_arguments_leave_table)
{
	enum { SZ = 101 };
	struct maglev_backend be[5];
	struct maglev_table *t = table_new(SZ), *copy = table_new(SZ);
	size_t bytes = maglev_table_bytes(SZ);

	memset(t, 0xa5, bytes);
	memcpy(copy, t, bytes);
	for (unsigned k = 0; k < SPH_ARRAY_SIZE(bad_cases); k++) {
		const struct bad_case *c = &bad_cases[k];

		make_backends(be, 5);
		c->edit(be);
		cr_expect_eq(maglev_build(t, c->size, be, c->n), -EINVAL, "%s", c->name);
		cr_expect_eq(memcmp(t, copy, bytes), 0, "%s: table written", c->name);
	}
	/* Arguments beyond the backend array. */
	make_backends(be, 5);
	cr_expect_eq(maglev_build(t, SZ, NULL, 1), -EINVAL, "NULL array");
	cr_expect_eq(maglev_build(NULL, SZ, be, 5), -EINVAL, "NULL table");
	cr_expect_eq(maglev_build(t, SZ, be, MAGLEV_MAX_BACKENDS + 1), -EINVAL, "too many");
	/* 16777259 is the first prime above MAGLEV_MAX_SIZE; rejected before any write. */
	cr_assert(maglev_is_prime(16777259));
	cr_expect_eq(maglev_build(t, 16777259, be, 5), -EINVAL, "size > MAGLEV_MAX_SIZE");
	cr_expect_eq(memcmp(t, copy, bytes), 0, "table written");
	/* Edges that are fine: the largest weight, weight 0 next to a usable backend. */
	be[0].weight = MAGLEV_MAX_WEIGHT;
	be[1].weight = 0;
	cr_expect_eq(maglev_build(t, SZ, be, 5), 0);
	free(copy);
	free(t);
}

/* ---- maglev_is_prime ---- */

Test(maglev, is_prime)
{
	enum { LIM = 200000 };
	static uint8_t composite[LIM];

	composite[0] = composite[1] = 1;
	for (uint32_t i = 2; i * i < LIM; i++)
		if (!composite[i])
			for (uint32_t j = i * i; j < LIM; j += i)
				composite[j] = 1;
	for (uint32_t i = 0; i < LIM; i++)
		cr_assert_eq(!!maglev_is_prime(i), !composite[i], "%u", i);
	cr_assert(maglev_is_prime(MAGLEV_DEFAULT_SIZE));
	cr_assert(maglev_is_prime(MAGLEV_MAX_SIZE));
	cr_assert(maglev_is_prime(655373));
	cr_assert(maglev_is_prime(2147483647u));
	cr_assert(maglev_is_prime(4294967291u)); /* largest 32-bit prime */
	cr_assert(!maglev_is_prime(4294967295u));
	cr_assert(!maglev_is_prime(4293001441u)); /* 65521^2: divisor at the sqrt bound */
	cr_assert(!maglev_is_prime(4294836225u)); /* 65535^2 */
	cr_assert(!maglev_is_prime(2147483649u)); /* 3 * 715827883 */
	cr_assert(!maglev_is_prime(16777215u));
}

/* ---- golden table ---- */

/*
 * Pins the permutation seeds, the id hash and the claim order: instances behind one ECMP
 * group must build the same table, so any change here is a flag-day change.
 */
Test(maglev, golden_table)
{
	static const uint16_t want[31] = {1, 2, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2,
	                                  1, 1, 2, 0, 2, 2, 0, 1, 1, 2, 2, 2, 2, 1, 0};
	const struct maglev_backend be[] = {
	        {.id = "10.0.0.1:5060", .weight = 1, .state = MAGLEV_UP},
	        {.id = "10.0.0.2:5060", .weight = 2, .state = MAGLEV_UP},
	        {.id = "sip-b.example", .weight = 3, .state = MAGLEV_UP},
	};
	struct maglev_table *t = table_new(31);

	cr_assert_eq(maglev_build(t, 31, be, 3), 0);
	for (unsigned i = 0; i < 31; i++)
		cr_assert_eq(t->slot[i], want[i], "slot %u", i);
	free(t);
}

/* ---- fingerprint ---- */

static uint64_t
fingerprint_of(const struct maglev_table *t, const struct maglev_backend *be, unsigned n)
{
	uint64_t fp = 0;

	cr_assert_eq(maglev_fingerprint(t, be, n, &fp), 0);
	return fp;
}

/* What instances compare: the same set in any order agrees; one weight changed does not. */
Test(maglev, fingerprint_order_and_weight)
{
	struct maglev_backend base[64], be[64];
	struct maglev_table *ta = table_new(MAGLEV_DEFAULT_SIZE);
	struct maglev_table *tb = table_new(MAGLEV_DEFAULT_SIZE);
	uint64_t s = 11, fa;
	unsigned n = 64;

	make_backends(base, n);
	for (unsigned i = 0; i < n; i++) {
		base[i].weight = 1 + i % 5;
		base[i].state = i % 17 == 4 ? MAGLEV_DRAIN : MAGLEV_UP;
	}
	cr_assert_eq(maglev_build(ta, MAGLEV_DEFAULT_SIZE, base, n), 0);
	fa = fingerprint_of(ta, base, n);
	memcpy(be, base, sizeof(be));
	for (unsigned k = 0; k < 8; k++) {
		shuffle(be, n, &s);
		cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, n), 0);
		/* The arrays differ, so the slots' bytes do; the fingerprint must not. */
		cr_assert_neq(memcmp(ta, tb, maglev_table_bytes(MAGLEV_DEFAULT_SIZE)), 0,
		              "shuffle %u", k);
		cr_assert_eq(fingerprint_of(tb, be, n), fa, "shuffle %u", k);
	}
	/* One weight changed, anywhere in the array: a different table, a different value. */
	for (unsigned i = 0; i < n; i += 9) {
		memcpy(be, base, sizeof(be));
		be[i].weight += 1;
		cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, n), 0);
		if (base[i].state != MAGLEV_UP)
			cr_assert_eq(fingerprint_of(tb, be, n), fa, "weight of drained %u", i);
		else
			cr_assert_neq(fingerprint_of(tb, be, n), fa, "weight of %u", i);
	}
	/* Renaming one backend, the size, a state: each decides differently. */
	memcpy(be, base, sizeof(be));
	be[0].id = "be-renamed.example";
	cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, n), 0);
	cr_assert_neq(fingerprint_of(tb, be, n), fa, "renamed");
	be[0] = base[0];
	be[1].state = MAGLEV_DOWN;
	cr_assert_eq(maglev_build(tb, MAGLEV_DEFAULT_SIZE, be, n), 0);
	cr_assert_neq(fingerprint_of(tb, be, n), fa, "down");
	cr_assert_eq(maglev_build(tb, 65521, base, n), 0);
	cr_assert_neq(fingerprint_of(tb, base, n), fa, "size");
	free(tb);
	free(ta);
}

/* Backends that hold no slot decide nothing and are not part of the fingerprint. */
Test(maglev, fingerprint_ignores_slotless)
{
	struct maglev_backend be[6];
	struct maglev_table *ta = table_new(101), *tb = table_new(101);

	make_backends(be, 6);
	be[5].state = MAGLEV_DOWN;
	cr_assert_eq(maglev_build(ta, 101, be, 6), 0);
	cr_assert_eq(maglev_build(tb, 101, be, 5), 0);
	cr_assert_eq(memcmp(ta->slot, tb->slot, 101 * sizeof(uint16_t)), 0);
	cr_assert_eq(fingerprint_of(ta, be, 6), fingerprint_of(tb, be, 5));
	/* An empty table has one too, and it is not that of a full one. */
	cr_assert_eq(maglev_build(tb, 101, NULL, 0), 0);
	cr_assert_neq(fingerprint_of(tb, NULL, 0), fingerprint_of(ta, be, 6));
	free(tb);
	free(ta);
}

Test(maglev, fingerprint_invalid_arguments)
{
	struct maglev_backend be[3];
	struct maglev_table *t = table_new(13);
	uint64_t fp = 7;

	make_backends(be, 3);
	cr_assert_eq(maglev_build(t, 13, be, 3), 0);
	cr_expect_eq(maglev_fingerprint(NULL, be, 3, &fp), -EINVAL, "NULL table");
	cr_expect_eq(maglev_fingerprint(t, be, 3, NULL), -EINVAL, "NULL out");
	cr_expect_eq(maglev_fingerprint(t, NULL, 3, &fp), -EINVAL, "NULL array");
	cr_expect_eq(maglev_fingerprint(t, be, MAGLEV_MAX_BACKENDS + 1, &fp), -EINVAL, "too many");
	/* Slots that index past the array given. */
	cr_expect_eq(maglev_fingerprint(t, be, 2, &fp), -EINVAL, "short array");
	be[1].id = be[0].id;
	cr_expect_eq(maglev_fingerprint(t, be, 3, &fp), -EINVAL, "duplicate id");
	be[1].id = "";
	cr_expect_eq(maglev_fingerprint(t, be, 3, &fp), -EINVAL, "empty id");
	be[1].id = NULL;
	cr_expect_eq(maglev_fingerprint(t, be, 3, &fp), -EINVAL, "NULL id");
	cr_expect_eq(fp, 7, "written on error");
	free(t);
}

/*
 * Pins the encoding and seed: the value operators compare across instances and versions.
 * The golden_table's backends, whose ids sort in array order, so a slot's rank is its
 * value; the encoding is also rebuilt here from maglev.h's description and hashed in one
 * call, so the streaming code and the documentation cannot drift apart. Any change here
 * makes instances of two versions disagree.
 */
Test(maglev, fingerprint_golden)
{
	static const uint16_t want[31] = {1, 2, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2,
	                                  1, 1, 2, 0, 2, 2, 0, 1, 1, 2, 2, 2, 2, 1, 0};
	const struct maglev_backend be[] = {
	        {.id = "10.0.0.1:5060", .weight = 1, .state = MAGLEV_UP},
	        {.id = "10.0.0.2:5060", .weight = 2, .state = MAGLEV_UP},
	        {.id = "sip-b.example", .weight = 3, .state = MAGLEV_UP},
	};
	uint8_t enc[8 + 3 * 14 + 2 * 31];
	size_t len = 0;
	struct maglev_table *t = table_new(31);

	memcpy(enc, "\x1f\0\0\0\x03\0\0\0", 8); /* size 31, 3 backends hold slots */
	len = 8;
	for (unsigned i = 0; i < 3; i++) {
		memcpy(enc + len, be[i].id, strlen(be[i].id) + 1);
		len += strlen(be[i].id) + 1;
	}
	for (unsigned i = 0; i < 31; i++) {
		enc[len++] = (uint8_t)want[i];
		enc[len++] = (uint8_t)(want[i] >> 8);
	}
	cr_assert_eq(len, sizeof(enc));
	cr_assert_eq(maglev_build(t, 31, be, 3), 0);
	cr_assert_eq(fingerprint_of(t, be, 3),
	             XXH3_64bits_withSeed(enc, len, UINT64_C(0x5349504d41474631)), "encoding");
	cr_assert_eq(fingerprint_of(t, be, 3), UINT64_C(0x94f18fee84f6937e), "got %016llx",
	             (unsigned long long)fingerprint_of(t, be, 3));
	free(t);
}
