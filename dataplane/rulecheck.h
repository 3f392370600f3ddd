/*
 * rulecheck.h - operator rules in the dataplane (docs/protection.md#rules-hyperscan):
 * the compiled set a snapshot carries with each worker's scratch and counters (built,
 * shared and freed on the main lcore: snap_rules.c), and dp_rules(), which dp_pkt() and
 * dp_frag_send() call on initial requests only (rulecheck.c, worker code). Internal to the
 * dataplane; control sees rules through snap.h.
 */
#ifndef SIPHON_DP_RULECHECK_H
#define SIPHON_DP_RULECHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "siphon/cfg.h"
#include "siphon/pkt.h"
#include "siphon/rules.h"
#include "siphon/sip.h"
#include "siphon/snap.h"

struct dp_worker;

/* One worker's counters of one rule. A worker's array starts on a cache line of its own
 * and is padded to whole lines, so no two workers ever write one line. */
struct snap_rule_ctr {
	uint64_t matches;
	uint64_t last_tsc; /* rte_rdtsc() at the last match; 0: none */
};

/*
 * A compiled rule set: the Hyperscan databases, a scratch and a counter array per
 * worker, and what it was compiled from (key), so that the next snapshot built from the
 * same expressions shares it (refs) instead of compiling again, and counters go on.
 * Only the main lcore builds, shares and frees it; workers read rs and write their own
 * scratch and counters.
 */
struct snap_rules {
	struct rules *rs;
	unsigned refs;
	unsigned nb_workers;
	unsigned n;                     /* rules */
	struct rules_scratch **scratch; /* [nb_workers] */
	struct snap_rule_ctr **ctr;     /* [nb_workers][n] */
	/* Control only (main lcore, or under the dataplane lock): matches and the latest
	 * match of the sets before this one, carried over by rule name at publication. */
	uint64_t *base;
	uint64_t *base_last_ns;
	char *key; /* names and expressions, as compiled */
	size_t key_len;
	/* The headers the rules name (match.headers), slot h in RULES_HDR0 + h: found by a
	 * second look at the header section, only when there is one. */
	unsigned nb_hdr;
	uint8_t hdr_len[RULES_HEADERS];
	char hdr[RULES_HEADERS][CFG_NAME_MAX];
};

/* How a rule acts, beyond its expressions; snap.rule[i] for rule i. */
struct snap_rule {
	uint8_t action;   /* enum cfg_rule_action */
	uint8_t cls;      /* CFG_RULE_LIMIT: enum cfg_limit_class */
	uint8_t drops;    /* drop, reject-silently or limit: never applied to trusted sources */
	uint8_t nb_src;   /* source prefixes at snap.rule_src[src] */
	uint16_t group;   /* CFG_RULE_ROUTE */
	uint16_t vip_id1; /* snap_vip.addr_id + 1 of the VIP it applies to; 0: any */
	uint32_t src;
};

/* A rule's source prefix, IPv4 mapped, as pkt_info holds addresses. */
struct snap_rule_src {
	uint8_t family;
	uint8_t bits; /* leading bits of a that must match: 96 + len for IPv4 */
	uint8_t a[16];
};

/*
 * Build s's rules from cfg: share old's compiled set when cfg's expressions and names
 * are the ones it was compiled from, else compile (rules_compile()) with a scratch and
 * counters for each of nb_workers. Main lcore. @return 0, or -1 with one line in err.
 */
int snap_rules_build(struct snap *s, const struct sph_cfg *cfg, const struct snap *old,
                     unsigned nb_workers, char *err, size_t errlen);

/* Drop s's reference to its set (freeing it with the last) and free its rule tables. */
void snap_rules_free(struct snap *s);

/* After next replaced old and the grace period passed: carry old's counters over by name
 * to next's set when it is another one. Main lcore, under the dataplane lock. */
void snap_rules_carry(const struct snap *old, const struct snap *next);

/*
 * What the rules decided for a message: dp_scan_rules()'s answer, and dp_rules()'s state.
 * The Call-ID hash is the one the caller's dispatch needs (keyhash_calc() of the key
 * s->kh): made here when the rules needed it first (a routed dialog's lookup or record, a
 * mirror rule's mark), so that a message is hashed once, not once here and once there.
 */
struct dp_ruled {
	const struct snap_vip *v; /* the VIP to dispatch and limit by: the caller's, or a copy */
	uint64_t *drop;           /* the counter to bump and free the frame; NULL: go on */
	uint64_t h;               /* the Call-ID hash, when hashed */
	bool hashed;              /* h is set; else the caller hashes */
};

/*
 * Apply s's rules to an initial request (a request with no To tag) msg, of payload, from
 * pi's source, to the VIP r->v with tier. Scans only the fields some rule needs; counts
 * the match in the rule's counters, and a forwarded one in rule_route, rule_tag or
 * rule_mirror. A route or limit rule points r->v at the lcore's own copy of the VIP with
 * the rule's group or limit_cls, which the caller then dispatches and limits by: the
 * caller's path without rules holds no value of its own for them. A mirror rule hashes
 * the Call-ID into r->h (r->hashed) unless it was already.
 * @return the drop counter (rule_drop, rule_reject) the caller bumps once per frame
 *         before it frees the request (every fragment of it); NULL to forward. The
 *         worker's lcore; no allocation, no locks, no syscalls.
 */
uint64_t *dp_rules(struct dp_worker *w, const struct snap *s, struct dp_ruled *r, uint8_t tier,
                   const struct pkt_info *pi, const uint8_t *payload, const struct sip_msg *msg);

/*
 * dp_pkt()'s scan while rules exist, out of line so that the path without rules holds
 * no value of its own: sip_parse_rf() of payload (pi->payload_len octets) into msg, then
 * dp_rules() when it is an initial request. drop is the scanner's verdict counter for a
 * message that does not scan, a rule's for one it drops; else msg scanned SIP_OK, and h
 * is its Call-ID hash when hashed.
 */
struct dp_ruled dp_scan_rules(struct dp_worker *w, const struct snap *s, const struct snap_vip *v,
                              uint8_t tier, const struct pkt_info *pi, const uint8_t *payload,
                              struct sip_msg *msg);

#endif /* SIPHON_DP_RULECHECK_H */
