/*
 * aff.c - the dialog-affinity table's life on the main lcore (worker.h, dp.h): made by
 * the first snapshot build that opens a transition window, rotated and emptied as
 * windows go (docs/dialogs.md), and cleared of a removed backend's counter slot so the
 * slot can serve a new backend at once. Workers insert and look up lock-free
 * (dp_aff_add, dp_aff_find); everything here writes whole 64-bit words, so a worker
 * sees an entry or none, never half of one.
 */
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "worker.h"

static int
aff_new(struct dp *dp, struct dp_affinity **out)
{
	uint32_t n = dp->aff_entries != 0 ? dp->aff_entries : DP_AFF_ENTRIES;
	struct dp_affinity *a;

	if (n < DP_AFF_PROBE || (n & (n - 1)) != 0)
		return -1;
	a = rte_zmalloc("dp_aff", sizeof(*a), RTE_CACHE_LINE_SIZE);
	if (a == NULL)
		return -1;
	a->mask = n - 1;
	for (unsigned b = 0; b < 2; b++) {
		a->bank[b] = rte_zmalloc("dp_aff_bank", n * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
		if (a->bank[b] == NULL) {
			rte_free(a->bank[0]);
			rte_free(a);
			return -1;
		}
	}
	*out = a;
	return 0;
}

int
dp_aff_create(struct dp *dp)
{
	return aff_new(dp, &dp->aff);
}

int
dp_routed_create(struct dp *dp)
{
	return aff_new(dp, &dp->routed);
}

static void
aff_free(struct dp_affinity **a)
{
	if (*a == NULL)
		return;
	rte_free((*a)->bank[0]);
	rte_free((*a)->bank[1]);
	rte_free(*a);
	*a = NULL;
}

void
dp_aff_free(struct dp *dp)
{
	aff_free(&dp->aff);
	aff_free(&dp->routed);
}

/* Workers may be reading: whole words, so each sees an entry or nothing. */
static void
dp_aff_empty(uint64_t *bank, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		__atomic_store_n(&bank[i], 0, __ATOMIC_RELAXED);
}

static void
aff_rotate(struct dp *dp, struct dp_affinity *a)
{
	unsigned older;

	if (a == NULL)
		return;
	older = a->cur ^ 1;
	/* Nobody inserts into the older bank: the last rotation waited for every worker. */
	dp_aff_empty(a->bank[older], a->mask + 1);
	__atomic_store_n(&a->cur, older, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
}

void
dp_aff_rotate(struct dp *dp)
{
	aff_rotate(dp, dp->aff);
}

void
dp_routed_rotate(struct dp *dp)
{
	aff_rotate(dp, dp->routed);
}

void
dp_routed_clear(struct dp *dp)
{
	if (dp->routed == NULL)
		return;
	dp_aff_empty(dp->routed->bank[0], dp->routed->mask + 1);
	dp_aff_empty(dp->routed->bank[1], dp->routed->mask + 1);
}

void
dp_aff_clear(struct dp *dp)
{
	if (dp->aff == NULL)
		return;
	dp_aff_empty(dp->aff->bank[0], dp->aff->mask + 1);
	dp_aff_empty(dp->aff->bank[1], dp->aff->mask + 1);
}

void
dp_aff_forget(struct dp *dp, const uint8_t *gone)
{
	struct dp_affinity *a = dp->aff;

	if (a == NULL)
		return;
	/* A tombstone, not an empty word: dp_aff_find() stops probing at an empty word,
	 * so emptying one would hide the entries probed past it. */
	for (unsigned b = 0; b < 2; b++)
		for (uint32_t i = 0; i <= a->mask; i++) {
			uint64_t e = __atomic_load_n(&a->bank[b][i], __ATOMIC_RELAXED);
			unsigned slot1 = (unsigned)(e & 0xffff); /* slot + 1; 0: empty or dead */

			if (slot1 != 0 && slot1 <= STATS_MAX_BACKENDS && gone[slot1 - 1])
				__atomic_compare_exchange_n(&a->bank[b][i], &e, DP_AFF_DEAD, false,
				                            __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
}
