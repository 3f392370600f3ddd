/*
 * rules.c - operator rules compiled into one Hyperscan database per field and matched
 * with one scan of each field some rule needs (include/siphon/rules.h). Compiling is the
 * control plane's; matching is any lcore's, with that lcore's scratch, and allocates
 * nothing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "siphon/rules.h"

/* An owner of a distinct expression: a rule, and the expression's bit among its own. */
struct rules_of_cond {
	uint32_t rule;
	uint8_t bit;
};

/*
 * Method conditions are few and distinct (a handful of "^(?:INVITE|REGISTER)$"-like
 * expressions shared by many rules), and the method of a request is nearly always one
 * the scanner knows: so they are not scanned per rule. Each distinct one is a bit;
 * by_method[] holds, per known method, the bits of those it meets (found at compile
 * time by running them on the method's name), an unknown method is scanned against
 * mdb, and a rule's method conditions hold when its mneed bits are all met.
 */
#define RULES_METHOD_CONDS_MAX 64u

struct rules {
	hs_database_t *db[RULES_NB_FIELDS]; /* NULL for a field no rule tests (not method) */
	hs_database_t *mdb;                 /* the distinct method expressions, or NULL */
	unsigned n;
	uint32_t fields;
	size_t db_bytes;
	char (*names)[RULES_NAME_MAX];
	uint8_t *all;    /* per rule: the bits of its conditions on other fields than method */
	uint64_t *mneed; /* per rule: the method expressions it needs */
	uint64_t by_method[SIP_METHOD_COUNT];
	uint32_t *monly; /* rules with method conditions only, ascending */
	unsigned nmonly;
	/* Distinct expressions on the other fields, by Hyperscan id: their owners, ascending
	 * by rule, at own[own_at[id] .. own_at[id + 1]). */
	uint32_t *own_at;
	struct rules_of_cond *own;
	uint32_t base[RULES_NB_FIELDS]; /* first owner-table id of each field's database */
};

struct rules_scratch {
	hs_scratch_t *s; /* NULL while no set needs one */
};

static const char *const rules_field_names[RULES_NB_FIELDS] = {
        [RULES_METHOD] = "method", [RULES_RURI] = "request_uri", [RULES_FROM] = "from",
        [RULES_TO] = "to",         [RULES_UA] = "user_agent",    [RULES_CONTACT] = "contact",
        [RULES_HDR0] = "header0",  [RULES_HDR1] = "header1",     [RULES_HDR2] = "header2",
        [RULES_HDR3] = "header3",
};

const char *
rules_field_name(enum rules_field f)
{
	return (unsigned)f < RULES_NB_FIELDS ? rules_field_names[f] : NULL;
}

int
rules_field_of(const char *name)
{
	for (int f = 0; name != NULL && f < RULES_NB_FIELDS; f++)
		if (strcmp(name, rules_field_names[f]) == 0)
			return f;
	return -1;
}

static void __attribute__((format(printf, 3, 4)))
rules_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static unsigned
rules_flags(const struct rules_cond *c)
{
	return HS_FLAG_SINGLEMATCH | (c->caseless ? HS_FLAG_CASELESS : 0);
}

/* Check one definition, each expression alone, so that a refusal names its rule and
 * condition with Hyperscan's own message about what the operator wrote. */
static int
rules_check(const struct rules_def *d, unsigned i, char *err, size_t errlen)
{
	size_t len = d->name != NULL ? strlen(d->name) : 0;

	if (len == 0 || len >= RULES_NAME_MAX) {
		rules_err(err, errlen, "rule %u: a name of 1..%u characters is needed", i + 1,
		          RULES_NAME_MAX - 1);
		return -1;
	}
	if (d->nb_conds == 0 || d->nb_conds > RULES_CONDS_MAX || d->conds == NULL) {
		rules_err(err, errlen, "rule \"%s\": 1..%u conditions are needed, got %u", d->name,
		          RULES_CONDS_MAX, d->nb_conds);
		return -1;
	}
	for (unsigned c = 0; c < d->nb_conds; c++) {
		const struct rules_cond *k = &d->conds[c];
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;

		if (k->field >= RULES_NB_FIELDS) {
			rules_err(err, errlen, "rule \"%s\": condition %u: no field %u", d->name,
			          c + 1, k->field);
			return -1;
		}
		if (k->regex == NULL ||
		    hs_expression_info(k->regex, rules_flags(k), &info, &ce) != HS_SUCCESS) {
			rules_err(err, errlen, "rule \"%s\": condition %u (%s): %s", d->name, c + 1,
			          rules_field_names[k->field],
			          ce != NULL ? ce->message : "no expression");
			hs_free_compile_error(ce);
			return -1;
		}
		free(info); /* hs_expression_info() allocates with malloc() */
	}
	return 0;
}

/* A distinct expression: where it first appears, so that equal ones share an id. */
struct rules_expr {
	const struct rules_cond *c;
	uint32_t id;
};

static bool
rules_same(const struct rules_cond *a, const struct rules_cond *b)
{
	return a->field == b->field && a->caseless == b->caseless &&
	       strcmp(a->regex, b->regex) == 0;
}

/* The distinct expressions of field f, in first-seen order, into *out; their count. A
 * linear search per condition: compile time only, and sets share most expressions by
 * design, so it is the number of distinct ones that matters. Hashing would do for sets
 * that are large and all distinct; the 10,000-rule bench compiles in seconds either way,
 * most of it Hyperscan's. -1: out of memory. */
static long
rules_distinct(const struct rules_def *defs, unsigned n, unsigned f, struct rules_expr **out,
               uint32_t **id_of, uint32_t *ids_total)
{
	size_t cap = 0, nb = 0;
	struct rules_expr *e = NULL;
	unsigned cid = 0;

	for (unsigned i = 0; i < n; i++)
		for (unsigned c = 0; c < defs[i].nb_conds; c++, cid++) {
			const struct rules_cond *k = &defs[i].conds[c];
			size_t j;

			if (k->field != f)
				continue;
			for (j = 0; j < nb && !rules_same(e[j].c, k); j++)
				;
			if (j == nb) {
				if (nb == cap) {
					struct rules_expr *g;
					cap = cap ? 2 * cap : 64;
					g = realloc(e, cap * sizeof(*e));
					if (g == NULL) {
						free(e);
						return -1;
					}
					e = g;
				}
				e[nb].c = k;
				e[nb++].id = (*ids_total)++;
			}
			(*id_of)[cid] = e[j].id;
		}
	*out = e;
	return (long)nb;
}

static int
rules_compile_db(hs_database_t **db, const struct rules_expr *e, size_t nb, const char *what,
                 char *err, size_t errlen)
{
	const char **expr = malloc(nb * sizeof(*expr));
	unsigned *flags = malloc(nb * sizeof(*flags)), *ids = malloc(nb * sizeof(*ids));
	hs_compile_error_t *ce = NULL;
	int rc = -1;

	if (expr == NULL || flags == NULL || ids == NULL) {
		rules_err(err, errlen, "rules: out of memory");
		goto out;
	}
	for (size_t j = 0; j < nb; j++) {
		expr[j] = e[j].c->regex;
		flags[j] = rules_flags(e[j].c);
		ids[j] = (unsigned)j;
	}
	if (hs_compile_multi(expr, flags, ids, (unsigned)nb, HS_MODE_BLOCK, NULL, db, &ce) !=
	    HS_SUCCESS) {
		/* Each compiled alone (rules_check()); together they may still be refused,
		 * e.g. for size. */
		rules_err(err, errlen, "rules on %s: %s", what,
		          ce != NULL ? ce->message : "compile failed");
		hs_free_compile_error(ce);
		*db = NULL;
		goto out;
	}
	rc = 0;
out:
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

/* Hyperscan's report of a method expression: its bit. */
static int
rules_on_method(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
                void *arg)
{
	(void)from;
	(void)to;
	(void)flags;
	*(uint64_t *)arg |= UINT64_C(1) << id;
	return 0;
}

/* The method expressions: their database, and which of them each known method meets. */
static int
rules_methods(struct rules *r, const struct rules_expr *e, size_t nb, char *err, size_t errlen)
{
	hs_scratch_t *s = NULL;

	if (nb == 0)
		return 0;
	if (rules_compile_db(&r->mdb, e, nb, "method", err, errlen) != 0)
		return -1;
	if (hs_alloc_scratch(r->mdb, &s) != HS_SUCCESS) {
		rules_err(err, errlen, "rules: out of memory");
		return -1;
	}
	for (unsigned m = 1; m < SIP_METHOD_COUNT; m++) {
		const char *name = sip_method_name((enum sip_method)m);

		if (hs_scan(r->mdb, name, (unsigned)strlen(name), 0, s, rules_on_method,
		            &r->by_method[m]) != HS_SUCCESS) {
			hs_free_scratch(s);
			rules_err(err, errlen, "rules: method %s: scan failed", name);
			return -1;
		}
	}
	hs_free_scratch(s);
	return 0;
}

struct rules *
rules_compile(const struct rules_def *defs, unsigned n, char *err, size_t errlen)
{
	struct rules *r;
	unsigned nconds = 0, cid = 0;
	uint32_t *id_of = NULL, ids_total = 0;
	struct rules_expr *fe[RULES_NB_FIELDS] = {0};
	long fn[RULES_NB_FIELDS] = {0};
	uint32_t base[RULES_NB_FIELDS + 1] = {0};

	if (n > RULES_MAX) {
		rules_err(err, errlen, "%u rules: at most %u", n, RULES_MAX);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (rules_check(&defs[i], i, err, errlen) != 0)
			return NULL;
		nconds += defs[i].nb_conds;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->n = n;
	if (n == 0)
		return r;
	r->names = calloc(n, sizeof(*r->names));
	r->all = calloc(n, sizeof(*r->all));
	r->mneed = calloc(n, sizeof(*r->mneed));
	r->monly = calloc(n, sizeof(*r->monly));
	id_of = calloc(nconds, sizeof(*id_of));
	if (r->names == NULL || r->all == NULL || r->mneed == NULL || r->monly == NULL ||
	    id_of == NULL)
		goto nomem;
	/* Distinct expressions per field; ids of the method ones are their bits, the
	 * others' are numbered field after field for the owner table. */
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++) {
		uint32_t t = 0;

		fn[f] = rules_distinct(defs, n, f, &fe[f], &id_of,
		                       f == RULES_METHOD ? &t : &ids_total);
		if (fn[f] < 0)
			goto nomem;
		base[f + 1] = ids_total;
	}
	if (fn[RULES_METHOD] > (long)RULES_METHOD_CONDS_MAX) { /* before their bits are taken */
		rules_err(err, errlen, "rules: %ld different method conditions, at most %u",
		          fn[RULES_METHOD], RULES_METHOD_CONDS_MAX);
		goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned bit = 0;

		snprintf(r->names[i], sizeof(r->names[i]), "%s", defs[i].name);
		for (unsigned c = 0; c < defs[i].nb_conds; c++, cid++) {
			r->fields |= 1u << defs[i].conds[c].field;
			if (defs[i].conds[c].field == RULES_METHOD)
				r->mneed[i] |= UINT64_C(1) << id_of[cid];
			else
				r->all[i] |= (uint8_t)(1u << bit++);
		}
		if (r->all[i] == 0)
			r->monly[r->nmonly++] = i;
	}
	if (rules_methods(r, fe[RULES_METHOD], (size_t)fn[RULES_METHOD], err, errlen) != 0)
		goto fail;
	/* Owners of each distinct expression, ascending by rule (counting sort). */
	r->own_at = calloc(ids_total + 1, sizeof(*r->own_at));
	r->own = calloc(nconds ? nconds : 1, sizeof(*r->own));
	if (r->own_at == NULL || r->own == NULL)
		goto nomem;
	cid = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned c = 0; c < defs[i].nb_conds; c++, cid++)
			if (defs[i].conds[c].field != RULES_METHOD)
				r->own_at[id_of[cid] + 1]++;
	for (uint32_t id = 0; id < ids_total; id++)
		r->own_at[id + 1] += r->own_at[id];
	{
		uint32_t *fill = calloc(ids_total + 1, sizeof(*fill));

		if (fill == NULL)
			goto nomem;
		cid = 0;
		for (unsigned i = 0; i < n; i++) {
			unsigned bit = 0;

			for (unsigned c = 0; c < defs[i].nb_conds; c++, cid++) {
				uint32_t id = id_of[cid];

				if (defs[i].conds[c].field == RULES_METHOD)
					continue;
				r->own[r->own_at[id] + fill[id]++] = (struct rules_of_cond){
				        .rule = i, .bit = (uint8_t)(1u << bit++)};
			}
		}
		free(fill);
	}
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++) {
		size_t bytes;

		if (f == RULES_METHOD || fn[f] == 0)
			continue;
		if (rules_compile_db(&r->db[f], fe[f], (size_t)fn[f], rules_field_names[f], err,
		                     errlen) != 0)
			goto fail;
		/* The owner table is indexed by a global id: this field's ids start at base. */
		r->base[f] = base[f];
		if (hs_database_size(r->db[f], &bytes) == HS_SUCCESS)
			r->db_bytes += bytes;
	}
	if (r->mdb != NULL) {
		size_t bytes;
		if (hs_database_size(r->mdb, &bytes) == HS_SUCCESS)
			r->db_bytes += bytes;
	}
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++)
		free(fe[f]);
	free(id_of);
	return r;
nomem:
	rules_err(err, errlen, "rules: out of memory");
fail:
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++)
		free(fe[f]);
	free(id_of);
	rules_free(r);
	return NULL;
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++)
		hs_free_database(r->db[f]);
	hs_free_database(r->mdb);
	free(r->names);
	free(r->all);
	free(r->mneed);
	free(r->monly);
	free(r->own_at);
	free(r->own);
	free(r);
}

unsigned
rules_count(const struct rules *r)
{
	return r->n;
}

const char *
rules_name(const struct rules *r, unsigned i)
{
	return i < r->n ? r->names[i] : NULL;
}

uint32_t
rules_fields(const struct rules *r)
{
	return r->fields;
}

size_t
rules_db_bytes(const struct rules *r)
{
	return r->db_bytes;
}

struct rules_scratch *
rules_scratch_new(const struct rules *r)
{
	struct rules_scratch *s = calloc(1, sizeof(*s));

	if (s != NULL && rules_scratch_grow(&s, r) != 0) {
		rules_scratch_free(s);
		return NULL;
	}
	return s;
}

int
rules_scratch_grow(struct rules_scratch **s, const struct rules *r)
{
	if (*s == NULL)
		return -1;
	for (unsigned f = 0; f < RULES_NB_FIELDS; f++)
		if (r->db[f] != NULL && hs_alloc_scratch(r->db[f], &(*s)->s) != HS_SUCCESS)
			return -1;
	if (r->mdb != NULL && hs_alloc_scratch(r->mdb, &(*s)->s) != HS_SUCCESS)
		return -1;
	return 0;
}

size_t
rules_scratch_bytes(const struct rules_scratch *s)
{
	size_t n = 0;

	if (s->s != NULL && hs_scratch_size(s->s, &n) != HS_SUCCESS)
		n = 0;
	return n;
}

void
rules_scratch_free(struct rules_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->s);
	free(s);
}

/* Conditions of rules with several, met so far in this message: few, since SINGLEMATCH
 * reports each expression once and method conditions are not among them. Past
 * RULES_HITS_MAX more are not kept (rules_match() says so). */
#define RULES_HITS_MAX 64u

struct rules_ctx {
	const struct rules *r;
	int best;      /* lowest rule matched and accepted so far; RULES_MAX when none */
	uint64_t mmet; /* the method expressions this request's method meets */
	uint32_t base; /* owner-table id of the database being scanned's first expression */
	rules_accept_fn accept;
	void *arg;
	unsigned nhits;
	bool lost;         /* a hit did not fit */
	uint32_t lost_min; /* the lowest rule of a hit that did not fit */
	struct rules_of_cond hits[RULES_HITS_MAX];
};

/* Rule may win: its method conditions hold and the caller accepts it. */
static bool
rules_take(struct rules_ctx *c, uint32_t rule)
{
	if ((int)rule >= c->best || (c->r->mneed[rule] & ~c->mmet) != 0 ||
	    (c->accept != NULL && !c->accept(c->arg, rule)))
		return false;
	c->best = (int)rule;
	return true;
}

static int
rules_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
               void *arg)
{
	struct rules_ctx *c = arg;
	const struct rules *r = c->r;
	uint32_t g = c->base + id;

	(void)from;
	(void)to;
	(void)flags;
	/* Owners ascend by rule: past the best so far, none can win. */
	for (uint32_t o = r->own_at[g]; o < r->own_at[g + 1]; o++) {
		struct rules_of_cond oc = r->own[o];

		if ((int)oc.rule >= c->best)
			break;
		if (r->all[oc.rule] == oc.bit)
			rules_take(c, oc.rule);
		else if (c->nhits < RULES_HITS_MAX)
			c->hits[c->nhits++] = oc;
		else if (!c->lost || oc.rule < c->lost_min) {
			c->lost = true;
			c->lost_min = oc.rule;
		}
	}
	return c->best == 0; /* nothing can come before rule 0: stop */
}

int
rules_match(const struct rules *r, struct rules_scratch *s, const struct rules_input *in,
            rules_accept_fn accept, void *ctx)
{
	struct rules_ctx c;

	if (r->n == 0)
		return -1;
	c.r = r;
	c.best = (int)RULES_MAX;
	c.accept = accept;
	c.arg = ctx;
	c.nhits = 0;
	c.lost = false;
	c.lost_min = 0;
	c.mmet = 0;
	if (r->mdb != NULL && in->len[RULES_METHOD] != 0) {
		if (in->method != SIP_METHOD_OTHER && in->method < SIP_METHOD_COUNT)
			c.mmet = r->by_method[in->method];
		else if (hs_scan(r->mdb, (const char *)in->p[RULES_METHOD], in->len[RULES_METHOD],
		                 0, s->s, rules_on_method, &c.mmet) != HS_SUCCESS)
			return -2;
	}
	/* Rules on the method alone need no scan. */
	for (unsigned i = 0; i < r->nmonly && (int)r->monly[i] < c.best; i++)
		if (rules_take(&c, r->monly[i]))
			break;
	for (uint32_t f = r->fields & ~(1u << RULES_METHOD); f != 0 && c.best != 0; f &= f - 1) {
		unsigned k = (unsigned)__builtin_ctz(f);
		hs_error_t e;

		if (in->len[k] == 0)
			continue;
		c.base = r->base[k];
		e = hs_scan(r->db[k], (const char *)in->p[k], in->len[k], 0, s->s, rules_on_match,
		            &c);
		if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
			return -2;
	}
	/* Rules of several conditions: the ones whose every condition was met. */
	for (unsigned i = 0; i < c.nhits; i++) {
		uint32_t rule = c.hits[i].rule;
		uint8_t got = 0;

		if ((int)rule >= c.best)
			continue;
		for (unsigned j = i; j < c.nhits; j++)
			if (c.hits[j].rule == rule)
				got |= c.hits[j].bit;
		if (got == r->all[rule])
			rules_take(&c, rule);
	}
	/* A hit that did not fit may be of a rule before the winner: then the winner is not
	 * known to be the first, and the caller is told so rather than given it. */
	if (c.lost && (c.best == (int)RULES_MAX || (int)c.lost_min < c.best))
		return -3;
	return c.best < (int)RULES_MAX ? c.best : -1;
}

/* A header's value region without the white space around it. */
static void
rules_trimmed(struct rules_input *in, unsigned f, const uint8_t *buf, struct sip_span sp)
{
	uint32_t i = sp.off, e = (uint32_t)sp.off + sp.len;

	while (i < e && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	while (e > i && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\r' ||
	                 buf[e - 1] == '\n'))
		e--;
	in->p[f] = buf + i;
	in->len[f] = (uint16_t)(e - i);
}

void
rules_input_of(struct rules_input *in, const uint8_t *buf, const struct sip_msg *m)
{
	in->method = m->kind == SIP_REQUEST ? m->method : SIP_METHOD_OTHER;
	in->p[RULES_METHOD] = buf + m->method_name.off;
	in->len[RULES_METHOD] = m->kind == SIP_REQUEST ? m->method_name.len : 0;
	in->p[RULES_RURI] = buf + m->uri.off;
	in->len[RULES_RURI] = m->uri.len;
	in->p[RULES_FROM] = buf + m->from.off;
	in->len[RULES_FROM] = m->from.len;
	in->p[RULES_TO] = buf + m->to.off;
	in->len[RULES_TO] = m->to.len;
	rules_trimmed(in, RULES_UA, buf, m->user_agent);
	rules_trimmed(in, RULES_CONTACT, buf, m->contact);
	for (unsigned f = RULES_HDR0; f < RULES_NB_FIELDS; f++) { /* the caller's to fill */
		in->p[f] = buf;
		in->len[f] = 0;
	}
}
