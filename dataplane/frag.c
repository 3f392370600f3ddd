/*
 * frag.c - the per-worker IP fragment table (frag.h). Unlike rte_ip_frag, which chains the
 * fragments into one datagram and so loses the originals, it keeps every fragment's mbuf
 * as received and copies only their data into one scratch buffer for the scanner: the
 * fragments themselves go out unchanged. Fixed memory made at start-up: entries chained
 * from hash buckets, an age list for timeouts (oldest first: entries are born in time
 * order), no allocation on the worker.
 */
#include <string.h>

#include <rte_jhash.h>
#include <rte_malloc.h>

#include "frag.h"

#define FRAG_NONE UINT32_MAX

struct frag_entry {
	struct frag_dgram d; /* d.piece: limits.fragments slots */
	uint32_t id;
	uint8_t proto;
	bool used;
	bool has_end;
	uint32_t hash;
	uint32_t end;   /* payload length, once the last fragment came */
	uint32_t have;  /* data bytes held (no overlaps: have == end means complete) */
	uint32_t bytes; /* frame bytes held */
	uint64_t born;
	uint32_t chain;          /* next in its bucket, or in the free list */
	uint32_t older, younger; /* the age list */
};

struct frag_table {
	struct frag_limits lim;
	uint32_t mask; /* buckets - 1 */
	uint32_t nb_used;
	uint32_t bytes;
	uint32_t free;           /* free list head */
	uint32_t oldest, newest; /* age list ends */
	uint32_t *bucket;
	struct frag_entry *e;
	struct frag_piece *pieces;
	uint8_t scratch[FRAG_DATAGRAM_MAX];
};

uint32_t
frag_hash(const struct pkt_info *pi)
{
	uint32_t k[10];

	memcpy(k, pi->src, 16);
	memcpy(k + 4, pi->dst, 16);
	k[8] = pi->frag_id;
	k[9] = (uint32_t)pi->ip_version << 8 | pi->l4_proto;
	return rte_jhash_32b(k, 10, 0x5170f00d);
}

struct frag_table *
frag_create(const struct frag_limits *l, int socket)
{
	struct frag_table *t;
	uint32_t nb = 1;

	if (l->entries == 0 || l->fragments == 0)
		return NULL;
	while (nb < l->entries)
		nb <<= 1;
	t = rte_zmalloc_socket("frag", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->lim = *l;
	t->mask = nb - 1;
	t->bucket = rte_malloc_socket("frag_b", nb * sizeof(*t->bucket), 0, socket);
	t->e = rte_zmalloc_socket("frag_e", l->entries * sizeof(*t->e), RTE_CACHE_LINE_SIZE,
	                          socket);
	t->pieces =
	        rte_zmalloc_socket("frag_p", (size_t)l->entries * l->fragments * sizeof(*t->pieces),
	                           RTE_CACHE_LINE_SIZE, socket);
	if (t->bucket == NULL || t->e == NULL || t->pieces == NULL) {
		frag_free(t);
		return NULL;
	}
	for (uint32_t b = 0; b < nb; b++)
		t->bucket[b] = FRAG_NONE;
	for (uint32_t i = 0; i < l->entries; i++) {
		t->e[i].d.piece = t->pieces + (size_t)i * l->fragments;
		t->e[i].chain = i + 1 < l->entries ? i + 1 : FRAG_NONE;
	}
	t->free = 0;
	t->oldest = t->newest = FRAG_NONE;
	return t;
}

/* Unlink entry i from its bucket and the age list, and put it on the free list. */
static void
entry_release(struct frag_table *t, uint32_t i)
{
	struct frag_entry *e = &t->e[i];
	uint32_t *p = &t->bucket[e->hash & t->mask];

	while (*p != i)
		p = &t->e[*p].chain;
	*p = e->chain;
	if (e->older != FRAG_NONE)
		t->e[e->older].younger = e->younger;
	else
		t->oldest = e->younger;
	if (e->younger != FRAG_NONE)
		t->e[e->younger].older = e->older;
	else
		t->newest = e->older;
	t->bytes -= e->bytes;
	t->nb_used--;
	e->used = false;
	e->chain = t->free;
	t->free = i;
}

/* Free every fragment of entry i, counting each in *ctr, and the entry. */
static void
entry_drop(struct frag_table *t, uint32_t i, uint64_t *ctr)
{
	struct frag_entry *e = &t->e[i];

	for (unsigned k = 0; k < e->d.n; k++)
		rte_pktmbuf_free(e->d.piece[k].m);
	*ctr += e->d.n;
	entry_release(t, i);
}

void
frag_free(struct frag_table *t)
{
	if (t == NULL)
		return;
	if (t->e != NULL && t->bucket != NULL) {
		uint64_t ignored = 0;

		while (t->oldest != FRAG_NONE)
			entry_drop(t, t->oldest, &ignored);
	}
	rte_free(t->pieces);
	rte_free(t->e);
	rte_free(t->bucket);
	rte_free(t);
}

void
frag_expire(struct frag_table *t, uint64_t now, struct stats_worker *st)
{
	while (t->oldest != FRAG_NONE && now - t->e[t->oldest].born > t->lim.timeout_tsc)
		entry_drop(t, t->oldest, &st->frag_timeout);
}

unsigned
frag_held(const struct frag_table *t)
{
	return t->nb_used;
}

static uint32_t
entry_find(const struct frag_table *t, const struct pkt_info *pi, uint32_t h)
{
	for (uint32_t i = t->bucket[h & t->mask]; i != FRAG_NONE; i = t->e[i].chain) {
		const struct frag_entry *e = &t->e[i];

		if (e->hash == h && e->id == pi->frag_id && e->proto == pi->l4_proto &&
		    e->d.ip_version == pi->ip_version && memcmp(e->d.src, pi->src, 16) == 0 &&
		    memcmp(e->d.dst, pi->dst, 16) == 0)
			return i;
	}
	return FRAG_NONE;
}

static uint32_t
entry_new(struct frag_table *t, const struct pkt_info *pi, uint32_t h, uint64_t now)
{
	uint32_t i = t->free;
	struct frag_entry *e;

	if (i == FRAG_NONE)
		return FRAG_NONE;
	e = &t->e[i];
	t->free = e->chain;
	e->used = true;
	e->has_end = false;
	e->hash = h;
	e->id = pi->frag_id;
	e->proto = pi->l4_proto;
	e->d.ip_version = pi->ip_version;
	memcpy(e->d.src, pi->src, 16);
	memcpy(e->d.dst, pi->dst, 16);
	e->d.n = 0;
	e->end = e->have = e->bytes = 0;
	e->born = now;
	e->chain = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = i;
	e->older = t->newest;
	e->younger = FRAG_NONE;
	if (t->newest != FRAG_NONE)
		t->e[t->newest].younger = i;
	else
		t->oldest = i;
	t->newest = i;
	t->nb_used++;
	return i;
}

/* Drop m alone, counted in *ctr. */
static struct frag_dgram *
drop_one(struct rte_mbuf *m, uint64_t *ctr)
{
	rte_pktmbuf_free(m);
	(*ctr)++;
	return NULL;
}

/* Drop m and the datagram i it belongs to (FRAG_NONE: none held yet), all counted in *ctr. */
static struct frag_dgram *
drop_all(struct frag_table *t, uint32_t i, struct rte_mbuf *m, uint64_t *ctr)
{
	if (i != FRAG_NONE)
		entry_drop(t, i, ctr);
	return drop_one(m, ctr);
}

struct frag_dgram *
frag_add(struct frag_table *t, struct rte_mbuf *m, const struct pkt_info *pi, uint64_t now,
         struct stats_worker *st)
{
	uint32_t h = frag_hash(pi), off = pi->frag_off, len = pi->frag_len, i;
	struct frag_entry *e;

	frag_expire(t, now, st);
	i = entry_find(t, pi, h);
	/* Only the last fragment may end off an 8-byte boundary (RFC 791, RFC 8200 §4.5). */
	if (len == 0 || (pi->frag_more && len % 8 != 0))
		return drop_all(t, i, m, &st->frag_bad);
	if (off + len > FRAG_DATAGRAM_MAX)
		return drop_all(t, i, m, &st->frag_too_big);
	if (t->bytes + m->pkt_len > t->lim.bytes)
		return drop_one(m, &st->frag_table_full);
	if (i == FRAG_NONE) {
		i = entry_new(t, pi, h, now);
		if (i == FRAG_NONE)
			return drop_one(m, &st->frag_table_full);
	}
	e = &t->e[i];
	for (unsigned k = 0; k < e->d.n; k++) {
		const struct frag_piece *p = &e->d.piece[k];

		if (p->off == off && p->len == len)
			return drop_one(m, &st->frag_duplicate);
		/* RFC 5722: a datagram with overlapping fragments is dropped whole. */
		if (off < (uint32_t)p->off + p->len && p->off < off + len)
			return drop_all(t, i, m, &st->frag_overlap);
	}
	if (e->d.n == t->lim.fragments)
		return drop_all(t, i, m, &st->frag_too_many);
	if (!pi->frag_more) {
		if (e->has_end && e->end != off + len)
			return drop_all(t, i, m, &st->frag_bad);
		e->has_end = true;
		e->end = off + len;
	}
	if (e->has_end && off + len > e->end)
		return drop_all(t, i, m, &st->frag_bad);
	for (unsigned k = 0; e->has_end && k < e->d.n; k++)
		if ((uint32_t)e->d.piece[k].off + e->d.piece[k].len > e->end)
			return drop_all(t, i, m, &st->frag_bad);

	e->d.piece[e->d.n++] = (struct frag_piece){
	        .m = m,
	        .off = (uint16_t)off,
	        .len = (uint16_t)len,
	        .data_at = (uint16_t)pi->frag_data_off,
	        .l3_off = (uint16_t)pi->l3_off,
	};
	e->have += len;
	e->bytes += m->pkt_len;
	t->bytes += m->pkt_len;
	if (!e->has_end || e->have != e->end)
		return NULL;
	/* Complete: the data, gap-free and overlap-free, side by side for the scanner. */
	for (unsigned k = 0; k < e->d.n; k++) {
		const struct frag_piece *p = &e->d.piece[k];

		memcpy(t->scratch + p->off, rte_pktmbuf_mtod_offset(p->m, uint8_t *, p->data_at),
		       p->len);
	}
	e->d.data = t->scratch;
	e->d.len = e->end;
	st->frag_reassembled++;
	return &e->d;
}

void
frag_done(struct frag_table *t, struct frag_dgram *d)
{
	entry_release(t, (uint32_t)((struct frag_entry *)d - t->e));
}
