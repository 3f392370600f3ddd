/*
 * limit.c - control's view of the workers' rate limit tables (include/siphon/limit.h):
 * every entry that dropped something, from every worker, the same source added up, the
 * heaviest first. Runs off the workers; they never wait for it.
 */
#include <stdlib.h>
#include <string.h>

#include "siphon/limit.h"
#include "limit.h"
#include "worker.h"

static int
limit_cmp_key(const void *a, const void *b)
{
	const struct limit_offender *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	if (c == 0)
		c = (int)x->family - (int)y->family;
	if (c == 0)
		c = (int)x->vip - (int)y->vip;
	if (c == 0)
		c = (int)x->cls - (int)y->cls;
	return c;
}

static int
limit_cmp_drops(const void *a, const void *b)
{
	const struct limit_offender *x = a, *y = b;

	if (x->drops != y->drops)
		return x->drops < y->drops ? 1 : -1;
	return limit_cmp_key(a, b);
}

int
limit_top(const struct dp *dp, struct limit_offender *out, unsigned max)
{
	size_t cap = 0, n = 0, m = 0;
	struct limit_offender *all = NULL;

	for (unsigned w = 0; w < dp->nb_workers; w++)
		if (dp->workers[w] != NULL && dp->workers[w]->lim != NULL)
			cap += (size_t)LIMIT_SETS * LIMIT_WAYS;
	if (cap == 0 || max == 0)
		return 0;
	all = malloc(cap * sizeof(*all));
	if (all == NULL)
		return -1;
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		const struct limit_table *t = dp->workers[w] != NULL ? dp->workers[w]->lim : NULL;

		for (unsigned s = 0; t != NULL && s < LIMIT_SETS; s++)
			for (unsigned i = 0; i < LIMIT_WAYS; i++) {
				const struct limit_entry *e = &t->e[s][i];
				uint64_t meta = limit_ld(&e->meta), hi, lo;
				struct limit_offender *o = &all[n];

				o->drops = limit_ld(&e->drops);
				if (meta == 0 || o->drops == 0)
					continue;
				o->passed = limit_ld(&e->passed);
				hi = limit_ld(&e->hi);
				lo = limit_ld(&e->lo);
				memcpy(o->addr, &hi, 8);
				memcpy(o->addr + 8, &lo, 8);
				o->vip = (uint16_t)(meta >> 16);
				o->family = (uint8_t)(meta >> 8);
				o->cls = (uint8_t)meta;
				n++;
			}
	}
	/* One source may be on several workers (RSS spreads its ports): one line for it. */
	qsort(all, n, sizeof(*all), limit_cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && limit_cmp_key(&all[m - 1], &all[i]) == 0) {
			all[m - 1].drops += all[i].drops;
			all[m - 1].passed += all[i].passed;
		} else {
			all[m++] = all[i];
		}
	}
	qsort(all, m, sizeof(*all), limit_cmp_drops);
	if (m > max)
		m = max;
	memcpy(out, all, m * sizeof(*out));
	free(all);
	return (int)m;
}
