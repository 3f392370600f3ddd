/*
 * snap_rules.c - the compiled rule set a snapshot carries (rulecheck.h): built by
 * snap_build_trans() on the main lcore, shared between snapshots compiled from the same
 * names and expressions, its counters carried to the next set by rule name at
 * publication, and read by control (snap.h: snap_rule_stats()). Never on a worker: it
 * compiles, allocates and formats; the worker's side is rulecheck.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "siphon/sph.h"
#include "rulecheck.h"

/* What a set is compiled from, as one string to compare: per rule its name, then per
 * field it tests the field, caseless and the expression. */
static char *
rules_key(const struct sph_cfg *cfg, size_t *len)
{
	char *k = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&k, &n);

	if (f == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		/* Every string with its length before it: two lists have one key only when
		 * they are the same, whatever bytes their expressions hold. */
		fprintf(f, "rule %zu:%s", strlen(r->name), r->name);
		for (unsigned fl = 0; fl < CFG_RULE_FIELDS; fl++) {
			const char *re = cfg_rule_regex(cfg, r, fl);

			if (re != NULL)
				fprintf(f, " %u/%u %zu:%s", fl, r->caseless, strlen(re), re);
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *h = cfg_rule_text(cfg, r->hname[k]);
			const char *re = cfg_rule_text(cfg, r->hre[k]);

			if (h != NULL && re != NULL)
				fprintf(f, " h%u %zu:%s %zu:%s", r->caseless, strlen(h), h,
				        strlen(re), re);
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(k);
		return NULL;
	}
	*len = n;
	return k;
}

static void
rules_set_free(struct snap_rules *sr)
{
	if (sr == NULL)
		return;
	for (unsigned w = 0; sr->scratch != NULL && w < sr->nb_workers; w++)
		rules_scratch_free(sr->scratch[w]);
	for (unsigned w = 0; sr->ctr != NULL && w < sr->nb_workers; w++)
		rte_free(sr->ctr[w]);
	free(sr->scratch);
	free(sr->ctr);
	free(sr->base);
	free(sr->base_last_ns);
	free(sr->key);
	rules_free(sr->rs);
	free(sr);
}

/* A new set compiled from cfg's rules, with nb_workers scratches and counter arrays. */
static struct snap_rules *
rules_set_new(const struct sph_cfg *cfg, unsigned nb_workers, char *key, size_t key_len, char *err,
              size_t errlen)
{
	struct snap_rules *sr = calloc(1, sizeof(*sr));
	struct rules_cond *conds = calloc(
	        (size_t)cfg->nb_rules * (CFG_RULE_FIELDS + CFG_RULE_HEADERS) + 1, sizeof(*conds));
	const char *names[RULES_HEADERS];
	unsigned nh = cfg_rule_header_names(cfg, names, RULES_HEADERS);
	struct rules_def *defs = calloc(cfg->nb_rules + 1, sizeof(*defs));
	size_t ctr_bytes;
	unsigned nc = 0;

	if (sr == NULL || conds == NULL || defs == NULL) {
		free(sr);
		free(key);
		sr = NULL;
		goto nomem;
	}
	sr->key = key;
	sr->key_len = key_len;
	sr->refs = 1;
	sr->n = cfg->nb_rules;
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		defs[i].name = r->name;
		defs[i].conds = &conds[nc];
		for (unsigned f = 0; f < CFG_RULE_FIELDS; f++) {
			const char *re = cfg_rule_regex(cfg, r, f);

			if (re == NULL)
				continue;
			conds[nc++] = (struct rules_cond){
			        .field = (uint8_t)f, .caseless = r->caseless, .regex = re};
			defs[i].nb_conds++;
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *h = cfg_rule_text(cfg, r->hname[k]);
			unsigned slot = 0;

			if (h == NULL)
				continue;
			while (slot < nh && slot < RULES_HEADERS && strcasecmp(names[slot], h) != 0)
				slot++;
			conds[nc++] = (struct rules_cond){.field = (uint8_t)(RULES_HDR0 + slot),
			                                  .caseless = r->caseless,
			                                  .regex = cfg_rule_text(cfg, r->hre[k])};
			defs[i].nb_conds++;
		}
	}
	sr->nb_hdr = nh < RULES_HEADERS ? nh : RULES_HEADERS;
	for (unsigned h = 0; h < sr->nb_hdr; h++) {
		snprintf(sr->hdr[h], sizeof(sr->hdr[h]), "%s", names[h]);
		sr->hdr_len[h] = (uint8_t)strlen(sr->hdr[h]);
	}
	sr->rs = rules_compile(defs, cfg->nb_rules, err, errlen);
	free(defs);
	free(conds);
	defs = NULL;
	conds = NULL;
	if (sr->rs == NULL) {
		rules_set_free(sr);
		return NULL;
	}
	sr->scratch = calloc(nb_workers, sizeof(*sr->scratch));
	sr->ctr = calloc(nb_workers, sizeof(*sr->ctr));
	sr->base = calloc(sr->n + 1, sizeof(*sr->base));
	sr->base_last_ns = calloc(sr->n + 1, sizeof(*sr->base_last_ns));
	if (sr->scratch == NULL || sr->ctr == NULL || sr->base == NULL || sr->base_last_ns == NULL)
		goto nomem;
	sr->nb_workers = nb_workers;
	/* Whole cache lines per worker: one worker's writes never touch another's line. */
	ctr_bytes = RTE_ALIGN_CEIL((sr->n + 1) * sizeof(struct snap_rule_ctr), RTE_CACHE_LINE_SIZE);
	for (unsigned w = 0; w < nb_workers; w++) {
		/* Each worker its own scratch, made to fit this set before it is published. */
		sr->scratch[w] = rules_scratch_new(sr->rs);
		sr->ctr[w] = rte_zmalloc("snap_rule_ctr", ctr_bytes, RTE_CACHE_LINE_SIZE);
		if (sr->scratch[w] == NULL || sr->ctr[w] == NULL)
			goto nomem;
	}
	return sr;
nomem:
	free(defs);
	free(conds);
	rules_set_free(sr);
	snprintf(err, errlen, "out of memory for the rules");
	return NULL;
}

/* A prefix as the worker compares it. */
static void
rule_src_of(struct snap_rule_src *d, const struct cfg_prefix *p)
{
	d->family = p->addr.family;
	d->bits = (uint8_t)((p->addr.family == 4 ? 96u : 0u) + p->len);
	memcpy(d->a, p->addr.a, 16);
}

int
snap_rules_build(struct snap *s, const struct sph_cfg *cfg, const struct snap *old,
                 unsigned nb_workers, char *err, size_t errlen)
{
	struct snap_rules *sr = NULL;
	uint32_t nsrc = 0;
	size_t key_len = 0;
	char *key;

	if (cfg->nb_rules == 0)
		return 0;
	if (nb_workers == 0)
		nb_workers = 1;
	key = rules_key(cfg, &key_len);
	if (key == NULL)
		goto nomem;
	if (old != NULL && old->rules != NULL && old->rules->key_len == key_len &&
	    old->rules->nb_workers == nb_workers && memcmp(old->rules->key, key, key_len) == 0) {
		sr = old->rules;
		sr->refs++;
		free(key);
	} else {
		sr = rules_set_new(cfg, nb_workers, key, key_len, err, errlen);
		if (sr == NULL)
			return -1;
	}
	s->rules = sr;
	for (unsigned i = 0; i < cfg->nb_rules; i++)
		nsrc += cfg->rules[i].nb_sources;
	s->rule = rte_zmalloc("snap_rule", cfg->nb_rules * sizeof(*s->rule), RTE_CACHE_LINE_SIZE);
	s->rule_src = rte_zmalloc("snap_rule_src", (nsrc + 1) * sizeof(*s->rule_src), 0);
	if (s->rule == NULL || s->rule_src == NULL)
		goto nomem;
	s->nb_rules = cfg->nb_rules;
	nsrc = 0;
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];
		struct snap_rule *d = &s->rule[i];

		d->action = r->action;
		d->cls = r->limit_class;
		d->drops = r->action == CFG_RULE_DROP || r->action == CFG_RULE_REJECT ||
		           r->action == CFG_RULE_LIMIT;
		d->group = (uint16_t)r->group;
		s->has_route |= r->action == CFG_RULE_ROUTE;
		for (unsigned v = 0; r->has_vip && v < cfg->nb_vips && d->vip_id1 == 0; v++)
			if (cfg->vips[v].addr.family == r->vip.family &&
			    memcmp(cfg->vips[v].addr.a, r->vip.a, 16) == 0)
				d->vip_id1 = (uint16_t)(s->vips[v].addr_id + 1);
		d->src = nsrc;
		d->nb_src = (uint8_t)r->nb_sources;
		for (unsigned k = 0; k < r->nb_sources; k++)
			rule_src_of(&s->rule_src[nsrc++], &r->sources[k]);
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for the rules");
	return -1;
}

void
snap_rules_free(struct snap *s)
{
	if (s->rules != NULL && --s->rules->refs == 0)
		rules_set_free(s->rules);
	s->rules = NULL;
	rte_free(s->rule);
	rte_free(s->rule_src);
}

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The wall-clock time of TSC value t, by the distance to now. */
static uint64_t
tsc_to_wall(uint64_t t, uint64_t now_tsc, uint64_t now_ns, uint64_t hz)
{
	uint64_t ago;

	if (t == 0)
		return 0;
	ago = t < now_tsc ? (uint64_t)((double)(now_tsc - t) * 1e9 / (double)hz) : 0;
	return ago < now_ns ? now_ns - ago : 0;
}

static void
rules_stats(const struct snap_rules *sr, unsigned i, uint64_t now_tsc, uint64_t now_ns, uint64_t hz,
            struct snap_rule_stats *out)
{
	uint64_t last = 0;

	out->matches = sr->base[i];
	out->last_ns = sr->base_last_ns[i];
	for (unsigned w = 0; w < sr->nb_workers; w++) {
		const struct snap_rule_ctr *c = &sr->ctr[w][i];
		uint64_t t = __atomic_load_n(&c->last_tsc, __ATOMIC_RELAXED);

		out->matches += __atomic_load_n(&c->matches, __ATOMIC_RELAXED);
		last = t > last ? t : last;
	}
	last = tsc_to_wall(last, now_tsc, now_ns, hz);
	out->last_ns = last > out->last_ns ? last : out->last_ns;
}

unsigned
snap_rules_count(const struct snap *s)
{
	return s != NULL && s->rules != NULL ? s->nb_rules : 0;
}

const char *
snap_rule_name(const struct snap *s, unsigned i)
{
	return i < snap_rules_count(s) ? rules_name(s->rules->rs, i) : "";
}

void
snap_rule_stats(const struct snap *s, unsigned i, struct snap_rule_stats *out)
{
	*out = (struct snap_rule_stats){0};
	if (i < snap_rules_count(s))
		rules_stats(s->rules, i, rte_rdtsc(), wall_ns(), rte_get_tsc_hz(), out);
}

void
snap_rules_mem(const struct snap *s, size_t *db, size_t *scratch)
{
	*db = *scratch = 0;
	if (snap_rules_count(s) == 0)
		return;
	*db = rules_db_bytes(s->rules->rs);
	*scratch = rules_scratch_bytes(s->rules->scratch[0]);
}

struct rule_name {
	const char *name;
	unsigned idx;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rule_name *)a)->name, ((const struct rule_name *)b)->name);
}

void
snap_rules_carry(const struct snap *old, const struct snap *next)
{
	const struct snap_rules *o = old != NULL ? old->rules : NULL;
	struct snap_rules *n = next != NULL ? next->rules : NULL;
	uint64_t now_tsc = rte_rdtsc(), now_ns = wall_ns(), hz = rte_get_tsc_hz();
	struct rule_name *names;

	if (o == NULL || n == NULL || o == n)
		return;
	names = malloc(o->n * sizeof(*names));
	if (names == NULL)
		return; /* counters start again: nothing forwards differently */
	for (unsigned i = 0; i < o->n; i++)
		names[i] = (struct rule_name){.name = rules_name(o->rs, i), .idx = i};
	qsort(names, o->n, sizeof(*names), name_cmp);
	for (unsigned i = 0; i < n->n; i++) {
		struct rule_name key = {.name = rules_name(n->rs, i)};
		const struct rule_name *hit = bsearch(&key, names, o->n, sizeof(*names), name_cmp);
		struct snap_rule_stats st;

		if (hit == NULL)
			continue;
		rules_stats(o, hit->idx, now_tsc, now_ns, hz, &st);
		n->base[i] = st.matches;
		n->base_last_ns[i] = st.last_ns;
	}
	free(names);
}
