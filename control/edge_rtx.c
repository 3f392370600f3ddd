/*
 * edge_rtx.c - the edge's client transactions towards the backends (edge_rtx.h): a dense
 * array of pending requests, scanned when one is due (normally a handful: backends answer
 * within milliseconds), and an open-addressed index from transaction key to array slot
 * for the responses. Copies live in the edge's jemalloc arena (edge_mem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "edge_mem.h"
#include "edge_rtx.h"

struct edge_rtx_ent {
	struct edge_rtx_req r;
	uint8_t *data;
	uint32_t len;
	uint32_t interval; /* ms until the next send after the one due */
	uint64_t due;      /* next send, monotonic ms */
	uint64_t deadline; /* Timer B/F */
};

struct edge_rtx {
	struct edge_rtx_ent *ent; /* [0, n) live */
	uint32_t n, cap;
	uint32_t *idx; /* key -> ent index + 1; 0: empty. Power of two, >= 2 x cap */
	uint32_t mask;
	size_t bytes; /* octets of copies held */
	uint32_t t1, t2;
	uint64_t next;      /* no entry is due before this */
	uint64_t last_scan; /* when edge_rtx_run() last read the table */
};

struct edge_rtx *
edge_rtx_new(uint32_t cap, uint32_t t1_ms)
{
	struct edge_rtx *t = calloc(1, sizeof(*t));
	uint32_t size = 16;

	if (t == NULL)
		return NULL;
	while (size < 2 * (uint64_t)cap)
		size <<= 1;
	t->cap = cap;
	t->mask = size - 1;
	t->t1 = t1_ms;
	t->t2 = t1_ms > EDGE_RTX_T2_MS ? t1_ms : EDGE_RTX_T2_MS;
	t->next = EDGE_RTX_NONE;
	t->ent = cap != 0 ? calloc(cap, sizeof(*t->ent)) : NULL;
	t->idx = calloc(size, sizeof(*t->idx));
	if ((cap != 0 && t->ent == NULL) || t->idx == NULL) {
		edge_rtx_free(t);
		return NULL;
	}
	return t;
}

void
edge_rtx_free(struct edge_rtx *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->n; i++)
		edge_mem_free(t->ent[i].data);
	free(t->ent);
	free(t->idx);
	free(t);
}

/* The index slot holding key, or the empty one where it would go. */
static uint32_t
find(const struct edge_rtx *t, uint64_t key)
{
	uint32_t h = (uint32_t)(key ^ key >> 32) & t->mask;

	while (t->idx[h] != 0 && t->ent[t->idx[h] - 1].r.key != key)
		h = (h + 1) & t->mask;
	return h;
}

/* Empty index slot h, moving later entries of its probe run back (no tombstones). */
static void
idx_delete(struct edge_rtx *t, uint32_t h)
{
	uint32_t j = h;

	t->idx[h] = 0;
	for (;;) {
		j = (j + 1) & t->mask;
		if (t->idx[j] == 0)
			return;
		uint64_t k = t->ent[t->idx[j] - 1].r.key;
		uint32_t home = (uint32_t)(k ^ k >> 32) & t->mask;
		/* Move j to h when its home does not lie cyclically in (h, j]. */
		if ((j > h && (home <= h || home > j)) || (j < h && home <= h && home > j)) {
			t->idx[h] = t->idx[j];
			t->idx[j] = 0;
			h = j;
		}
	}
}

/* Forget entry i: its copy, its index slot; the last entry takes its place. */
static void
remove_at(struct edge_rtx *t, uint32_t i)
{
	struct edge_rtx_ent *e = &t->ent[i];

	idx_delete(t, find(t, e->r.key));
	t->bytes -= e->len;
	edge_mem_free(e->data);
	if (i != --t->n) {
		*e = t->ent[t->n];
		t->idx[find(t, e->r.key)] = i + 1;
	}
}

int
edge_rtx_add(struct edge_rtx *t, const struct edge_rtx_req *r, const uint8_t *p, size_t n,
             uint64_t now)
{
	uint32_t h = find(t, r->key);

	if (t->idx[h] != 0)
		return 0;
	if (t->n == t->cap || n > UINT32_MAX || t->bytes + n > EDGE_RTX_BYTES)
		return -1;
	uint8_t *copy = edge_mem_realloc(NULL, n);
	if (copy == NULL)
		return -1;
	memcpy(copy, p, n);
	t->ent[t->n] = (struct edge_rtx_ent){
	        .r = *r,
	        .data = copy,
	        .len = (uint32_t)n,
	        .interval = t->t1,
	        .due = now + t->t1,
	        .deadline = now + 64u * (uint64_t)t->t1,
	};
	t->idx[h] = ++t->n;
	t->bytes += n;
	if (now + t->t1 < t->next)
		t->next = now + t->t1;
	return 0;
}

void
edge_rtx_answer(struct edge_rtx *t, uint64_t key, unsigned status, uint64_t now)
{
	uint32_t h = find(t, key);

	if (t->idx[h] == 0)
		return;
	uint32_t i = t->idx[h] - 1;
	struct edge_rtx_ent *e = &t->ent[i];
	/* A provisional response moves a non-INVITE transaction to Proceeding: it is sent
	 * again every T2 until its final response (§17.1.2.2). */
	if (status < 200 && !e->r.invite) {
		e->interval = t->t2;
		e->due = now + t->t2 < e->deadline ? now + t->t2 : e->deadline;
		return;
	}
	remove_at(t, i);
}

uint64_t
edge_rtx_run(struct edge_rtx *t, uint64_t now, edge_rtx_fire_fn fn, void *arg)
{
	uint64_t next = EDGE_RTX_NONE;

	if (now < t->next)
		return t->next;
	/* A scan reads every entry: at most one each EDGE_RTX_TICK_MS, so that a table kept
	 * full by a registrar that stopped answering costs a bounded share of the thread
	 * (sends up to that much late; RFC 3261's timers are no finer). */
	if (now < t->last_scan + EDGE_RTX_TICK_MS)
		return t->last_scan + EDGE_RTX_TICK_MS;
	t->last_scan = now;
	for (uint32_t i = 0; i < t->n;) {
		struct edge_rtx_ent *e = &t->ent[i];

		if (e->due > now) {
			next = e->due < next ? e->due : next;
			i++;
			continue;
		}
		if (now >= e->deadline) {
			fn(arg, &e->r, e->data, e->len, true);
			remove_at(t, i);
			continue;
		}
		if (!fn(arg, &e->r, e->data, e->len, false)) {
			remove_at(t, i);
			continue;
		}
		e->interval = e->r.invite || 2 * e->interval < t->t2 ? 2 * e->interval : t->t2;
		e->due = now + e->interval;
		/* Timer B/F fires on time, not at the first send due after it. */
		if (e->due > e->deadline)
			e->due = e->deadline;
		next = e->due < next ? e->due : next;
		i++;
	}
	t->next = next;
	return next;
}

uint32_t
edge_rtx_pending(const struct edge_rtx *t)
{
	return t->n;
}
