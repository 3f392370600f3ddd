/*
 * rulecheck.c - operator rules on a worker (rulecheck.h): dp_rules(), what a worker does
 * with an initial request's fields, with its own scratch and counters, and
 * dp_scan_rules(), the scan of the worker's path while rules exist. Worker code: no
 * output, no allocation, no locks (scripts/check-layers); the compiled set it reads is
 * snap_rules.c's, made on the main lcore.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_per_lcore.h>

#include "siphon/keyhash.h"
#include "siphon/sph.h"
#include "hep.h"
#include "rulecheck.h"
#include "worker.h"

struct rule_ctx {
	const struct snap *s;
	const struct pkt_info *pi;
	uint16_t vip_id1;
	uint8_t trusted;
};

static int
rule_src_has(const struct snap_rule_src *p, const struct pkt_info *pi)
{
	unsigned b = p->bits / 8;

	if (p->family != pi->ip_version || memcmp(p->a, pi->src, b) != 0)
		return 0;
	return p->bits % 8 == 0 ||
	       ((p->a[b] ^ pi->src[b]) & (uint8_t)(0xff00u >> (p->bits % 8))) == 0;
}

/* rules_match()'s test of what Hyperscan cannot see: VIP, source, tier. */
static int
rule_accept(void *arg, unsigned i)
{
	const struct rule_ctx *c = arg;
	const struct snap_rule *r = &c->s->rule[i];

	if ((r->vip_id1 != 0 && r->vip_id1 != c->vip_id1) || (r->drops && c->trusted))
		return 0;
	if (r->nb_src == 0)
		return 1;
	for (unsigned k = 0; k < r->nb_src; k++)
		if (rule_src_has(&c->s->rule_src[r->src + k], c->pi))
			return 1;
	return 0;
}

static inline uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* The named headers' slots of in: the first header of each name (letters of either case)
 * in the header section of payload[0, len), its value without leading or trailing white
 * space. A second look at the header section, line by line, only for sets that name
 * headers; compact forms and folded lines are not expanded (docs/protection.md). */
static void
rule_headers(struct rules_input *in, const struct snap_rules *sr, const uint8_t *payload,
             uint32_t len)
{
	const uint8_t *p = memchr(payload, '\n', len), *end = payload + len;
	unsigned found = 0;

	while (p != NULL && ++p < end && found < sr->nb_hdr) {
		const uint8_t *eol = memchr(p, '\n', (size_t)(end - p)), *c, *ne, *v, *ve;

		ve = eol != NULL ? eol : end;
		if (ve == p || (ve == p + 1 && *p == '\r'))
			break; /* the empty line: end of the header section */
		c = memchr(p, ':', (size_t)(ve - p));
		if (c != NULL && *p != ' ' && *p != '\t') {
			for (ne = c; ne > p && (ne[-1] == ' ' || ne[-1] == '\t'); ne--)
				;
			for (unsigned h = 0; h < sr->nb_hdr; h++) {
				unsigned k = 0, n = sr->hdr_len[h];

				if ((size_t)(ne - p) != n || in->len[RULES_HDR0 + h] != 0)
					continue;
				while (k < n && lower(p[k]) == lower((uint8_t)sr->hdr[h][k]))
					k++;
				if (k < n)
					continue;
				for (v = c + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
					;
				while (ve > v &&
				       (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				in->p[RULES_HDR0 + h] = v;
				in->len[RULES_HDR0 + h] = (uint16_t)(ve - v);
				found += ve > v;
				break;
			}
		}
		p = eol;
	}
}

/* The lcore's copy of a VIP for a request a route or limit rule matched: valid until its
 * next such request, which is after the caller is done with this one. */
static RTE_DEFINE_PER_LCORE(struct snap_vip, rule_vip);

/* msg's Call-ID hash, made once: the first of the rules and the dispatch to need it. */
static inline uint64_t
ruled_hash(struct dp_ruled *r, const struct snap *s, const uint8_t *payload,
           const struct sip_msg *msg)
{
	if (!r->hashed) {
		r->h = keyhash_calc(&s->kh, payload + msg->call_id.off, msg->call_id.len);
		r->hashed = true;
	}
	return r->h;
}

uint64_t *
dp_rules(struct dp_worker *w, const struct snap *s, struct dp_ruled *r, uint8_t tier,
         const struct pkt_info *pi, const uint8_t *payload, const struct sip_msg *msg)
{
	const struct snap_vip *v = r->v;
	const struct snap_rules *sr = s->rules;
	struct stats_worker *st = w->st;
	struct rule_ctx c = {.s = s,
	                     .pi = pi,
	                     .vip_id1 = (uint16_t)(v->addr_id + 1),
	                     .trusted = tier == CFG_TIER_TRUSTED};
	struct rules_input in;
	struct snap_rule_ctr *ctr;
	int i;

	rules_input_of(&in, payload, msg);
	if (SPH_UNLIKELY(sr->nb_hdr != 0))
		rule_headers(&in, sr, payload, pi->payload_len);
	i = rules_match(sr->rs, sr->scratch[w->id], &in, rule_accept, &c);
	if (i < 0) {
		/* -2 (a scratch that does not fit: a bug) or -3 (too many partial matches to
		 * know the first rule): forwarded as if none matched, counted. Failing open
		 * keeps a carrier's calls up; the counter says the rules were not decided. */
		st->rule_undecided += i != -1;
		return NULL;
	}
	/* One writer (this worker); control reads them as they are, each word whole. */
	ctr = &sr->ctr[w->id][i];
	__atomic_store_n(&ctr->matches, ctr->matches + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&ctr->last_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
	switch (s->rule[i].action) {
	case CFG_RULE_DROP:
		return &st->rule_drop;
	case CFG_RULE_REJECT:
		return &st->rule_reject;
	case CFG_RULE_ROUTE:
		st->rule_route++;
		RTE_PER_LCORE(rule_vip) = *v;
		RTE_PER_LCORE(rule_vip).group = s->rule[i].group;
		r->v = &RTE_PER_LCORE(rule_vip);
		return NULL;
	case CFG_RULE_LIMIT:
		RTE_PER_LCORE(rule_vip) = *v;
		RTE_PER_LCORE(rule_vip).limit_cls = s->rule[i].cls;
		r->v = &RTE_PER_LCORE(rule_vip);
		return NULL;
	case CFG_RULE_MIRROR:
		st->rule_mirror++;
		/* Only marked (hep.h): dp_pkt()'s mirror check, which comes after the rules,
		 * then mirrors this request and the call's next ones through this worker. The
		 * hash is the one that check and the dispatch use: handed to them in r. */
		dp_hep_mark_call(w, ruled_hash(r, s, payload, msg));
		return NULL;
	default:
		st->rule_tag++;
		return NULL;
	}
}

/*
 * A route rule sends a dialog to another group, but only its first request meets the
 * rules: its CANCEL, ACK, BYE and re-INVITEs would go by the VIP's own group, to a
 * proxy that never saw the dialog. So a routed dialog-forming request records its
 * Call-ID hash with the group (dp->routed, the affinity table's shape, rotated hourly),
 * and while route rules exist every other message of the VIP looks it
 * up first. Both use the hash the dispatch then uses (r.h), made once.
 */
struct dp_ruled
dp_scan_rules(struct dp_worker *w, const struct snap *s, const struct snap_vip *v, uint8_t tier,
              const struct pkt_info *pi, const uint8_t *payload, struct sip_msg *msg)
{
	struct dp_ruled r = {.v = v};
	enum sip_verdict sv = sip_parse_rf(payload, pi->payload_len, msg);
	bool initial;

	if (sv != SIP_OK) {
		r.drop = &w->st->sip_drop[sv];
		return r;
	}
	initial = msg->kind == SIP_REQUEST && msg->to_tag.len == 0;
	if (SPH_UNLIKELY(s->has_route) &&
	    (!initial || msg->method == SIP_METHOD_CANCEL || msg->method == SIP_METHOD_ACK)) {
		unsigned g = dp_aff_find(w->dp->routed, ruled_hash(&r, s, payload, msg));

		if (g != 0 && g - 1 < s->nb_groups && g - 1 != v->group) {
			w->st->rule_route_followed++;
			RTE_PER_LCORE(rule_vip) = *v;
			RTE_PER_LCORE(rule_vip).group = (uint16_t)(g - 1);
			r.v = &RTE_PER_LCORE(rule_vip);
			return r;
		}
	}
	if (!initial)
		return r;
	r.drop = dp_rules(w, s, &r, tier, pi, payload, msg);
	if (SPH_UNLIKELY(s->has_route) && r.drop == NULL && r.v->group != v->group &&
	    (msg->method == SIP_METHOD_INVITE || msg->method == SIP_METHOD_SUBSCRIBE ||
	     msg->method == SIP_METHOD_REFER || msg->method == SIP_METHOD_OTHER))
		w->st->rule_route_unrecorded +=
		        dp_aff_add(w->dp->routed, ruled_hash(&r, s, payload, msg), r.v->group) ==
		        DP_AFF_FULL;
	return r;
}
