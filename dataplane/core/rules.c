/*
 * rules.c - operator rules compiled into one Hyperscan database and matched with one
 * vectored scan of the fields they need (include/siphon/rules.h says how a database
 * keeps each condition on its field). Compiling is the control plane's; matching is any
 * lcore's, with that lcore's scratch, and allocates nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "siphon/rules.h"

struct rules {
	hs_database_t *db; /* NULL for an empty set */
	unsigned n;
	uint32_t fields;
	size_t db_bytes;
	char (*names)[RULES_NAME_MAX];
};

struct rules_scratch {
	hs_scratch_t *s; /* NULL while no set needs one */
};

static const char *const rules_field_names[RULES_NB_FIELDS] = {
        [RULES_METHOD] = "method", [RULES_RURI] = "request_uri", [RULES_FROM] = "from",
        [RULES_TO] = "to",         [RULES_UA] = "user_agent",    [RULES_CONTACT] = "contact",
};

/* What the scan sees before each field's value: a line feed, the field, a line feed.
 * Values hold no line feed, so "\n<field>\n" can only be a separator. */
static const char rules_sep[RULES_NB_FIELDS][3] = {
        {'\n', 1, '\n'}, {'\n', 2, '\n'}, {'\n', 3, '\n'},
        {'\n', 4, '\n'}, {'\n', 5, '\n'}, {'\n', 6, '\n'},
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

/*
 * Where an expression anchors, read the way Hyperscan reads it: *lead when it begins with
 * "^", *trail when it ends with an unescaped "$"; returns 0, or -1 when a "^" or "$" sits
 * elsewhere outside a class, or a leading "^" / trailing "$" has an alternation beside
 * it ("^a|b"): then it cannot mean the value's ends (rules_wrap()).
 */
static int
rules_anchors(const char *re, int *lead, int *trail)
{
	size_t n = strlen(re);
	int depth = 0, cls = 0, alt = 0;

	*lead = n > 0 && re[0] == '^';
	*trail = 0;
	for (size_t i = (size_t)*lead; i < n; i++) {
		char c = re[i];

		if (c == '\\') {
			i++;
		} else if (cls) {
			cls = c != ']';
		} else if (c == '[') {
			cls = 1;
			if (i + 1 < n && re[i + 1] == '^')
				i++;
			if (i + 1 < n && re[i + 1] == ']')
				i++; /* "[]...]" and "[^]...]": a literal ] first */
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth -= depth > 0;
		} else if (c == '|' && depth == 0) {
			alt = 1;
		} else if (c == '$' && i == n - 1) {
			*trail = 1;
		} else if (c == '^' || c == '$') {
			return -1;
		}
	}
	return alt && (*lead || *trail) ? -1 : 0;
}

/*
 * The condition as the database holds it: its field's separator, then the operator's
 * expression anywhere in the value, or right at its start for "^...", and ending right
 * before the line feed that follows every value for "...$". Hyperscan takes no start
 * anchor after other pattern and no end anchor inside a logical combination, so the
 * anchors become the separators themselves. NULL when out of memory.
 */
static char *
rules_wrap(const struct rules_cond *c)
{
	size_t n = strlen(c->regex) + 32;
	char *s = malloc(n);
	int lead, trail;

	if (s == NULL)
		return NULL;
	rules_anchors(c->regex, &lead, &trail); /* rules_check() refused the rest */
	snprintf(s, n, "\\n\\x%02x\\n%s(?:%.*s)%s", (unsigned)rules_sep[c->field][1],
	         lead ? "" : "[^\\n]*", (int)(strlen(c->regex) - (size_t)lead - (size_t)trail),
	         c->regex + lead, trail ? "\\n" : "");
	return s;
}

/* Check one definition; the operator's expression alone, so that Hyperscan's message
 * and offsets are about what the operator wrote. */
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
		int lead, trail;
		if (k->regex != NULL && rules_anchors(k->regex, &lead, &trail) != 0) {
			rules_err(
			        err, errlen,
			        "rule \"%s\": condition %u (%s): \"^\" and \"$\" are the value's "
			        "ends, only at the expression's start and end, around no top-level "
			        "alternation (write ^(?:a|b)$)",
			        d->name, c + 1, rules_field_names[k->field]);
			return -1;
		}
		if (k->regex == NULL ||
		    hs_expression_info(k->regex, k->caseless ? HS_FLAG_CASELESS : 0, &info, &ce) !=
		            HS_SUCCESS) {
			rules_err(err, errlen, "rule \"%s\": condition %u (%s): %s", d->name, c + 1,
			          rules_field_names[k->field],
			          ce != NULL ? ce->message : "no expression");
			hs_free_compile_error(ce);
			return -1;
		}
		free(info);
	}
	return 0;
}

struct rules *
rules_compile(const struct rules_def *defs, unsigned n, char *err, size_t errlen)
{
	struct rules *r;
	unsigned nexpr = 0, nsub = 0, k = 0;
	char **expr = NULL;
	unsigned *flags = NULL, *ids = NULL;
	hs_compile_error_t *ce = NULL;

	if (n > RULES_MAX) {
		rules_err(err, errlen, "%u rules: at most %u", n, RULES_MAX);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (rules_check(&defs[i], i, err, errlen) != 0)
			return NULL;
		nexpr += defs[i].nb_conds > 1 ? defs[i].nb_conds + 1 : 1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (n > 0 && (r->names = calloc(n, sizeof(*r->names))) == NULL))
		goto nomem;
	r->n = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(r->names[i], sizeof(r->names[i]), "%s", defs[i].name);
		for (unsigned c = 0; c < defs[i].nb_conds; c++)
			r->fields |= 1u << defs[i].conds[c].field;
	}
	if (n == 0)
		return r;
	expr = calloc(nexpr, sizeof(*expr));
	flags = calloc(nexpr, sizeof(*flags));
	ids = calloc(nexpr, sizeof(*ids));
	if (expr == NULL || flags == NULL || ids == NULL)
		goto nomem;
	/* Ids: rule i reports as i; the conditions of a rule with several are quiet
	 * sub-expressions (ids from n up) that a logical combination reports as i. */
	for (unsigned i = 0; i < n; i++) {
		const struct rules_def *d = &defs[i];

		if (d->nb_conds == 1) {
			if ((expr[k] = rules_wrap(&d->conds[0])) == NULL)
				goto nomem;
			flags[k] =
			        HS_FLAG_SINGLEMATCH | (d->conds[0].caseless ? HS_FLAG_CASELESS : 0);
			ids[k++] = i;
			continue;
		}
		size_t clen = 16 * d->nb_conds;
		char *comb = malloc(clen);
		size_t at = 0;

		if (comb == NULL)
			goto nomem;
		for (unsigned c = 0; c < d->nb_conds; c++) {
			if ((expr[k] = rules_wrap(&d->conds[c])) == NULL) {
				free(comb);
				goto nomem;
			}
			flags[k] = HS_FLAG_QUIET | (d->conds[c].caseless ? HS_FLAG_CASELESS : 0);
			ids[k++] = n + nsub;
			at += (size_t)snprintf(comb + at, clen - at, "%s%u", c > 0 ? " & " : "",
			                       n + nsub);
			nsub++;
		}
		expr[k] = comb;
		flags[k] = HS_FLAG_COMBINATION | HS_FLAG_SINGLEMATCH;
		ids[k++] = i;
	}
	if (hs_compile_multi((const char *const *)expr, flags, ids, k, HS_MODE_VECTORED, NULL,
	                     &r->db, &ce) != HS_SUCCESS) {
		/* Each expression compiled alone (rules_check()); together they may still be
		 * refused, e.g. for size: say which one Hyperscan names, if any. */
		unsigned e = ce != NULL && ce->expression >= 0 ? (unsigned)ce->expression : k;
		unsigned id = e < k ? ids[e] : 0;

		if (e < k && id < n)
			rules_err(err, errlen, "rule \"%s\": %s", r->names[id], ce->message);
		else
			rules_err(err, errlen, "rules: %s",
			          ce != NULL ? ce->message : "compile failed");
		hs_free_compile_error(ce);
		r->db = NULL;
		goto fail;
	}
	if (hs_database_size(r->db, &r->db_bytes) != HS_SUCCESS)
		r->db_bytes = 0;
	for (unsigned i = 0; i < k; i++)
		free(expr[i]);
	free(expr);
	free(flags);
	free(ids);
	return r;
nomem:
	rules_err(err, errlen, "rules: out of memory");
fail:
	if (expr != NULL)
		for (unsigned i = 0; i < nexpr; i++)
			free(expr[i]);
	free(expr);
	free(flags);
	free(ids);
	rules_free(r);
	return NULL;
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	hs_free_database(r->db);
	free(r->names);
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
		free(s);
		return NULL;
	}
	return s;
}

int
rules_scratch_grow(struct rules_scratch **s, const struct rules *r)
{
	if (*s == NULL)
		return -1;
	if (r->db == NULL)
		return 0;
	return hs_alloc_scratch(r->db, &(*s)->s) == HS_SUCCESS ? 0 : -1;
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

struct rules_ctx {
	int best; /* lowest rule index matched and accepted; INT_MAX-like when none */
	rules_accept_fn accept;
	void *arg;
};

static int
rules_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
               void *arg)
{
	struct rules_ctx *c = arg;

	(void)from;
	(void)to;
	(void)flags;
	if ((int)id < c->best && (c->accept == NULL || c->accept(c->arg, id)))
		c->best = (int)id;
	return c->best == 0; /* nothing can come before rule 0: stop */
}

int
rules_match(const struct rules *r, struct rules_scratch *s, const struct rules_input *in,
            rules_accept_fn accept, void *ctx)
{
	const char *data[2 * RULES_NB_FIELDS + 1];
	unsigned len[2 * RULES_NB_FIELDS + 1], nb = 0;
	struct rules_ctx c = {.best = (int)RULES_MAX, .accept = accept, .arg = ctx};
	hs_error_t e;

	if (r->db == NULL)
		return -1;
	for (uint32_t f = r->fields; f != 0; f &= f - 1) {
		unsigned k = (unsigned)__builtin_ctz(f);

		if (in->len[k] == 0)
			continue;
		data[nb] = rules_sep[k];
		len[nb++] = sizeof(rules_sep[k]);
		data[nb] = (const char *)in->p[k];
		len[nb++] = in->len[k];
	}
	if (nb == 0)
		return -1;
	data[nb] = rules_sep[0]; /* the line feed that ends the last value, for "...$" */
	len[nb++] = 1;
	e = hs_scan_vector(r->db, data, len, nb, 0, s->s, rules_on_match, &c);
	if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
		return -2;
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
}
