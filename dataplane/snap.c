/*
 * snap.c - build, publish and free the configuration snapshot workers read (snap.h).
 * Main lcore only: building allocates (rte_malloc for what workers read, malloc for
 * scratch), adds next hops to the neighbour table, and may take milliseconds (one
 * Maglev table per group). Every check the dataplane depends on happens here, so a
 * published snapshot is always forwardable and a rejected one changes nothing visible.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "siphon/snap.h"
#include "siphon/sph.h"
#include "acl.h"
#include "rulecheck.h"
#include "worker.h"

static void __attribute__((format(printf, 3, 4)))
snap_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Whether a is within prefix p. Both are stored 16 bytes wide, IPv4 mapped, so an IPv4
 * prefix of length n covers the first 96 + n bits. */
static bool
snap_prefix_has(const struct cfg_prefix *p, const struct cfg_addr *a)
{
	unsigned bits, i;

	if (p->addr.family != a->family)
		return false;
	bits = (a->family == 4 ? 96u : 0u) + p->len;
	for (i = 0; i < bits / 8; i++)
		if (p->addr.a[i] != a->a[i])
			return false;
	if (bits % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> (bits % 8));

		if ((p->addr.a[i] ^ a->a[i]) & mask)
			return false;
	}
	return true;
}

/* The first port a is on-link of, or -1. */
static int
snap_onlink_port(const struct sph_cfg *cfg, const struct cfg_addr *a)
{
	for (unsigned p = 0; p < cfg->nb_ports; p++)
		for (unsigned i = 0; i < cfg->ports[p].nb_addrs; i++)
			if (snap_prefix_has(&cfg->ports[p].addrs[i], a))
				return (int)p;
	return -1;
}

static int
snap_self_add(struct nd_self *self, const struct cfg_addr *a)
{
	for (unsigned i = 0; i < self->nb_addrs; i++)
		if (self->family[i] == a->family && memcmp(self->addr[i], a->a, 16) == 0)
			return 0;
	if (self->nb_addrs == ND_SELF_MAX)
		return -1;
	self->family[self->nb_addrs] = a->family;
	memcpy(self->addr[self->nb_addrs++], a->a, 16);
	return 0;
}

/* Per port: its MAC, its own addresses (first of each family kept as source) and every
 * VIP, all answered for in ARP/ND. */
static int
snap_build_ports(struct snap *s, struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		const struct cfg_port *cp = &cfg->ports[p];
		struct snap_port *sp = &s->ports[p];

		memcpy(sp->self.mac, dp->ports[p].mac, 6);
		sp->udp_csum = cp->udp_csum;
		for (unsigned i = 0; i < cp->nb_addrs; i++) {
			const struct cfg_addr *a = &cp->addrs[i].addr;

			if (a->family == 4 && !sp->has4) {
				sp->has4 = 1;
				memcpy(sp->addr4, a->a, 16);
			} else if (a->family == 6 && !sp->has6) {
				sp->has6 = 1;
				memcpy(sp->addr6, a->a, 16);
			}
			if (snap_self_add(&sp->self, a) != 0)
				goto full;
			sp->own_family[sp->nb_own] = a->family;
			sp->own_len[sp->nb_own] = cp->addrs[i].len;
			memcpy(sp->own[sp->nb_own++], a->a, 16);
		}
		if (cp->gw4.family == 4) {
			sp->has_gw4 = 1;
			memcpy(sp->gw4, cp->gw4.a, 16);
		}
		if (cp->gw6.family == 6) {
			sp->has_gw6 = 1;
			memcpy(sp->gw6, cp->gw6.a, 16);
		}
		for (unsigned v = 0; v < cfg->nb_vips; v++)
			if (snap_self_add(&sp->self, &cfg->vips[v].addr) != 0)
				goto full;
		continue;
	full:
		snap_err(err, errlen,
		         "%s:%u: port \"%s\": more than %u addresses and VIPs to answer for",
		         cfg_where(cfg, cp->file), cp->line, cp->name, ND_SELF_MAX);
		return -1;
	}
	return 0;
}

/* Which VIP modes use group g: bit 0 l2dsr, bit 1 ipip. */
static unsigned
snap_group_modes(const struct sph_cfg *cfg, unsigned g)
{
	unsigned modes = 0;

	for (unsigned v = 0; v < cfg->nb_vips; v++)
		if (cfg->vips[v].group == g)
			modes |= 1u << cfg->vips[v].mode;
	/* A route rule sends a VIP's requests to g in that VIP's mode. */
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		if (r->action != CFG_RULE_ROUTE || r->group != g)
			continue;
		for (unsigned v = 0; v < cfg->nb_vips; v++)
			if (!r->has_vip || (cfg->vips[v].addr.family == r->vip.family &&
			                    memcmp(cfg->vips[v].addr.a, r->vip.a, 16) == 0))
				modes |= 1u << cfg->vips[v].mode;
	}
	return modes;
}

/*
 * Where backend b goes out and which neighbour to resolve for it. A backend with a
 * static MAC, or within a port's prefix, is its own next hop (out of that port, or of
 * the first port when only its MAC is known: it is on the segment even if no prefix
 * says so). Anything else is reached through a gateway, which only IP-in-IP can use:
 * L2 DSR keeps the VIP as the destination, so a router would send it nowhere useful.
 * IP-in-IP needs a source of the backend's family on that port, and resolving a next
 * hop needs one to ask from. Decided from the configuration alone, so snap_check()
 * gives the verdict snap_build() would.
 */
static int
snap_route(const struct sph_cfg *cfg, const struct cfg_group *grp, const struct cfg_backend *b,
           unsigned modes, unsigned *portp, const struct cfg_addr **hopp, char *err, size_t errlen)
{
	int port = snap_onlink_port(cfg, &b->addr);
	const struct cfg_addr *hop = &b->addr;
	bool has_src = false;

	if (port < 0 && !b->has_mac) {
		if (modes & 1u << CFG_VIP_L2DSR) {
			snap_err(err, errlen,
			         "%s:%u: backend \"%s\" (group \"%s\", l2dsr): not within any "
			         "port's "
			         "prefix and no mac: L2 DSR needs it on the segment",
			         cfg_where(cfg, b->file), b->line, b->name, grp->name);
			return -1;
		}
		for (unsigned p = 0; p < cfg->nb_ports && port < 0; p++) {
			const struct cfg_addr *gw =
			        b->addr.family == 4 ? &cfg->ports[p].gw4 : &cfg->ports[p].gw6;
			if (gw->family != 0) {
				port = (int)p;
				hop = gw;
			}
		}
		if (port < 0) {
			snap_err(err, errlen,
			         "%s:%u: backend \"%s\": not within any port's prefix and no port "
			         "has "
			         "a gateway%c",
			         cfg_where(cfg, b->file), b->line, b->name,
			         b->addr.family == 4 ? '4' : '6');
			return -1;
		}
	}
	if (port < 0)
		port = 0;
	for (unsigned i = 0; i < cfg->ports[port].nb_addrs; i++)
		has_src |= cfg->ports[port].addrs[i].addr.family == b->addr.family;
	if (!has_src && ((modes & 1u << CFG_VIP_IPIP) || !b->has_mac)) {
		snap_err(err, errlen,
		         "%s:%u: backend \"%s\": port \"%s\" has no IPv%u address to %s",
		         cfg_where(cfg, b->file), b->line, b->name, cfg->ports[port].name,
		         b->addr.family,
		         (modes & 1u << CFG_VIP_IPIP) ? "tunnel from" : "resolve its MAC from");
		return -1;
	}
	*portp = (unsigned)port;
	*hopp = hop;
	return 0;
}

/* Where b goes (snap_route) and its next hop in dp's neighbour table. */
static int
snap_build_backend(struct snap *s, struct dp *dp, const struct sph_cfg *cfg,
                   const struct cfg_group *grp, const struct cfg_backend *b, unsigned modes,
                   struct snap_backend *sb, char *err, size_t errlen)
{
	const struct cfg_addr *hop;
	const struct snap_port *sp;
	unsigned port;
	int nd;

	if (snap_route(cfg, grp, b, modes, &port, &hop, err, errlen) != 0)
		return -1;
	sp = &s->ports[port];
	sb->family = b->addr.family;
	sb->egress = (uint8_t)port;
	memcpy(sb->addr, b->addr.a, 16);
	if (b->addr.family == 4 ? sp->has4 : sp->has6)
		memcpy(sb->outer_src, b->addr.family == 4 ? sp->addr4 : sp->addr6, 16);
	nd = nd_table_add(dp->nd, hop->family, hop->a,
	                  hop == &b->addr && b->has_mac ? b->mac : NULL, sph_now_ns());
	if (nd < 0) {
		snap_err(err, errlen, "%s:%u: backend \"%s\": neighbour table full (%u entries)",
		         cfg_where(cfg, b->file), b->line, b->name, ND_TABLE_MAX);
		return -1;
	}
	sb->nd_idx = (uint16_t)nd;
	dp->nd_port[nd] = (uint8_t)port;
	return 0;
}

static int
snap_build_groups(struct snap *s, struct dp *dp, const struct sph_cfg *cfg, const uint16_t *slots,
                  char *err, size_t errlen)
{
	uint32_t bi = 0;

	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		unsigned modes = snap_group_modes(cfg, g);
		struct maglev_backend *mb = calloc(grp->nb_backends, sizeof(*mb));
		int rc;

		s->groups[g].base = bi;
		s->groups[g].nb = grp->nb_backends;
		snprintf(s->groups[g].name, sizeof(s->groups[g].name), "%s", grp->name);
		s->groups[g].table = rte_malloc("snap_maglev", maglev_table_bytes(cfg->maglev_size),
		                                RTE_CACHE_LINE_SIZE);
		if (mb == NULL || s->groups[g].table == NULL) {
			free(mb);
			snap_err(err, errlen, "out of memory for group \"%s\"", grp->name);
			return -1;
		}
		for (unsigned i = 0; i < grp->nb_backends; i++, bi++) {
			const struct cfg_backend *b = &grp->backends[i];

			/* Same identities as siphonctl scan, so both pick the same backend. */
			mb[i] = (struct maglev_backend){
			        .id = b->name, .weight = b->weight, .state = b->state};
			s->backends[bi].state = b->state;
			snprintf(s->info[bi].name, sizeof(s->info[bi].name), "%s", b->name);
			cfg_addr_format(&b->addr, b->port, s->info[bi].addr,
			                sizeof(s->info[bi].addr));
			if (snap_build_backend(s, dp, cfg, grp, b, modes, &s->backends[bi], err,
			                       errlen) != 0) {
				free(mb);
				return -1;
			}
			s->backends[bi].slot = (uint16_t)(slots != NULL ? slots[bi] : bi);
		}
		rc = maglev_build(s->groups[g].table, cfg->maglev_size, mb, grp->nb_backends);
		if (rc == 0)
			rc = maglev_fingerprint(s->groups[g].table, mb, grp->nb_backends,
			                        &s->groups[g].fingerprint);
		free(mb);
		if (rc != 0) {
			snap_err(err, errlen,
			         "%s:%u: group \"%s\": cannot build its Maglev table: %s",
			         cfg_where(cfg, grp->file), grp->line, grp->name, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* A VIP's allowlist tables and its limits in TSC terms (docs/protection.md). */
static int
snap_build_policy(struct snap_vip *sv, const struct sph_cfg *cfg, const struct cfg_vip *cv,
                  char *err, size_t errlen)
{
	uint64_t hz = rte_get_tsc_hz();
	char a[CFG_ADDR_STRLEN], why[256];

	if (cv->nb_acl > 0 &&
	    acl_build(&sv->acl, cv, (int)rte_socket_id(), why, sizeof(why)) != 0) {
		snap_err(err, errlen, "%s:%u: vip %s: %s", cfg_where(cfg, cv->file), cv->line,
		         cfg_addr_format(&cv->addr, 0, a, sizeof(a)), why);
		return -1;
	}
	for (unsigned c = 0; c < CFG_LIMIT_CLASSES; c++) {
		uint64_t rate = cv->limit_rate[c], burst = cv->limit_burst[c];

		if (rate == 0)
			continue;
		if (burst == 0)
			burst = rate;
		sv->limit[c].interval = hz / rate > 0 ? hz / rate : 1;
		sv->limit[c].tau = (burst - 1) * sv->limit[c].interval;
		sv->limited = 1;
	}
	sv->policy = sv->acl.v4 != NULL || sv->acl.v6 != NULL;
	return 0;
}

/* Open addressing, linear probing, at most half full: built once, never resized. */
static int
snap_build_vips(struct snap *s, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	uint32_t entries = 0, size = 16;

	for (unsigned v = 0; v < cfg->nb_vips; v++)
		entries += cfg->vips[v].nb_ports;
	while (size < 2 * entries)
		size *= 2;
	s->vip_mask = size - 1;
	s->vip_slots = rte_zmalloc("snap_vips", size * sizeof(*s->vip_slots), RTE_CACHE_LINE_SIZE);
	if (s->vip_slots == NULL) {
		snap_err(err, errlen, "out of memory for the VIP table");
		return -1;
	}
	for (unsigned v = 0; v < cfg->nb_vips; v++) {
		const struct cfg_vip *cv = &cfg->vips[v];

		s->vips[v].mode = cv->mode;
		s->vips[v].group = (uint16_t)cv->group;
		s->vips[v].limit_cls = SNAP_LIMIT_BY_METHOD;
		s->vips[v].addr_id = (uint16_t)v;
		for (unsigned u = 0; u < v; u++)
			if (cfg->vips[u].addr.family == cv->addr.family &&
			    memcmp(cfg->vips[u].addr.a, cv->addr.a, 16) == 0) {
				s->vips[v].addr_id = (uint16_t)u;
				break;
			}
		if (snap_build_policy(&s->vips[v], cfg, cv, err, errlen) != 0)
			return -1;
		for (unsigned k = 0; k < cv->nb_ports; k++) {
			uint32_t i = snap_vip_hash(cv->addr.family, cv->addr.a, cv->ports[k]);

			while (s->vip_slots[i & s->vip_mask].vip1 != 0)
				i++;
			s->vip_slots[i & s->vip_mask] =
			        (struct snap_vip_slot){.vip1 = (uint16_t)(v + 1),
			                               .port = cv->ports[k],
			                               .family = cv->addr.family};
			memcpy(s->vip_slots[i & s->vip_mask].addr, cv->addr.a, 16);
		}
	}
	return 0;
}

/* The fingerprint of g's previous table t, whose slots index s's backends of g. */
static int
snap_fingerprint_prev(const struct snap *s, struct snap_group *g, const struct maglev_table *t)
{
	struct maglev_backend *mb = calloc(g->nb + 1, sizeof(*mb));
	int rc;

	if (mb == NULL)
		return -1;
	for (uint32_t i = 0; i < g->nb; i++)
		mb[i] = (struct maglev_backend){.id = s->info[g->base + i].name};
	rc = maglev_fingerprint(t, mb, g->nb, &g->prev_fingerprint);
	free(mb);
	return rc;
}

/*
 * The previous table of group g of s, from old: old's prev when it has one, else old's
 * table, each entry translated from old's backend indices to s's by counter slot. An
 * entry whose backend is gone or down in s takes s's current entry: nothing is kept for
 * a backend that cannot take it. No prev when the result routes like the current table.
 */
static int
snap_build_prev(struct snap *s, unsigned g, const struct snap *old)
{
	struct snap_group *ng = &s->groups[g];
	const struct snap_group *og = NULL;
	const struct maglev_table *from;
	uint16_t map[STATS_MAX_BACKENDS];
	struct maglev_table *t;
	bool same = true;

	for (uint32_t i = 0; i < old->nb_groups && og == NULL; i++)
		if (strcmp(old->groups[i].name, ng->name) == 0)
			og = &old->groups[i];
	if (og == NULL)
		return 0; /* a new group: nothing was routed by it */
	from = og->prev != NULL ? og->prev : og->table;
	if (from->size != ng->table->size || og->nb > RTE_DIM(map))
		return 0; /* maglev_size changed: every key moves, nothing to anchor */
	for (uint32_t i = 0; i < og->nb; i++) {
		uint16_t bi = s->slot_bi[old->backends[og->base + i].slot];

		map[i] = bi != UINT16_MAX && bi >= ng->base && bi < ng->base + ng->nb &&
		                         s->backends[bi].state != MAGLEV_DOWN
		                 ? (uint16_t)(bi - ng->base)
		                 : MAGLEV_NONE;
	}
	t = rte_malloc("snap_maglev_prev", maglev_table_bytes(from->size), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		return -1;
	t->size = from->size;
	t->nb_backends = ng->nb;
	for (uint32_t k = 0; k < from->size; k++) {
		uint16_t v = from->slot[k] < og->nb ? map[from->slot[k]] : MAGLEV_NONE;

		if (v == MAGLEV_NONE)
			v = ng->table->slot[k];
		t->slot[k] = v;
		same &= v == ng->table->slot[k];
	}
	/* Kept even when equal if a window is open: dialogs recorded in the affinity table
	 * (a change, then its reversal) are found only while some group has a prev. */
	if (same && og->prev == NULL) {
		rte_free(t);
		return 0;
	}
	if (snap_fingerprint_prev(s, ng, t) != 0) {
		rte_free(t);
		return -1;
	}
	ng->prev = t;
	s->has_prev = true;
	return 0;
}

struct snap *
snap_build(struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	return snap_build_slots(dp, cfg, NULL, err, errlen);
}

struct snap *
snap_build_slots(struct dp *dp, const struct sph_cfg *cfg, const uint16_t *slots, char *err,
                 size_t errlen)
{
	return snap_build_trans(dp, cfg, slots, NULL, err, errlen);
}

int
snap_check(const struct sph_cfg *cfg, char *err, size_t errlen)
{
	uint32_t nb_backends = 0;

	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		unsigned modes = snap_group_modes(cfg, g);

		nb_backends += grp->nb_backends;
		for (unsigned i = 0; i < grp->nb_backends; i++) {
			const struct cfg_addr *hop;
			unsigned port;

			if (snap_route(cfg, grp, &grp->backends[i], modes, &port, &hop, err,
			               errlen) != 0)
				return -1;
		}
	}
	if (nb_backends > STATS_MAX_BACKENDS || cfg->nb_vips >= UINT16_MAX) {
		snap_err(err, errlen,
		         "%s: %u backends and %u VIPs: the dataplane takes at most %u and %u",
		         cfg->path, nb_backends, cfg->nb_vips, STATS_MAX_BACKENDS, UINT16_MAX - 1);
		return -1;
	}
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		const struct cfg_port *cp = &cfg->ports[p];
		struct nd_self self = {.nb_addrs = 0};
		bool full = false;

		for (unsigned i = 0; i < cp->nb_addrs && !full; i++)
			full = snap_self_add(&self, &cp->addrs[i].addr) != 0;
		for (unsigned v = 0; v < cfg->nb_vips && !full; v++)
			full = snap_self_add(&self, &cfg->vips[v].addr) != 0;
		if (full) {
			snap_err(
			        err, errlen,
			        "%s:%u: port \"%s\": more than %u addresses and VIPs to answer for",
			        cfg_where(cfg, cp->file), cp->line, cp->name, ND_SELF_MAX);
			return -1;
		}
	}
	return 0;
}

struct snap *
snap_build_trans(struct dp *dp, const struct sph_cfg *cfg, const uint16_t *slots,
                 const struct snap *old, char *err, size_t errlen)
{
	uint32_t nb_backends = 0;
	struct snap *s;

	if (cfg->nb_ports != dp->nb_ports) {
		snap_err(err, errlen, "%s: %u ports configured, the dataplane serves %u", cfg->path,
		         cfg->nb_ports, dp->nb_ports);
		return NULL;
	}
	if (snap_check(cfg, err, errlen) != 0)
		return NULL;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		nb_backends += cfg->groups[g].nb_backends;
	for (uint32_t i = 0; slots != NULL && i < nb_backends; i++)
		if (slots[i] >= STATS_MAX_BACKENDS) {
			snap_err(err, errlen, "counter slot %u of backend %u out of range",
			         slots[i], i);
			return NULL;
		}
	s = rte_zmalloc("snap", sizeof(*s), RTE_CACHE_LINE_SIZE);
	if (s == NULL)
		goto nomem;
	s->nb_backends = nb_backends;
	s->nb_groups = cfg->nb_groups;
	s->nb_vips = cfg->nb_vips;
	s->nb_ports = cfg->nb_ports;
	s->backends = rte_zmalloc("snap_be", (nb_backends + 1) * sizeof(*s->backends), 0);
	s->info = rte_zmalloc("snap_info", (nb_backends + 1) * sizeof(*s->info), 0);
	s->groups = rte_zmalloc("snap_grp", cfg->nb_groups * sizeof(*s->groups), 0);
	s->vips = rte_zmalloc("snap_vip", (cfg->nb_vips + 1) * sizeof(*s->vips), 0);
	s->ports = rte_zmalloc("snap_port", cfg->nb_ports * sizeof(*s->ports), 0);
	s->slot_bi = rte_malloc("snap_slot_bi", STATS_MAX_BACKENDS * sizeof(*s->slot_bi), 0);
	if (!s->backends || !s->info || !s->groups || !s->vips || !s->ports || !s->slot_bi)
		goto nomem;
	if (dp->aff == NULL && dp_aff_create(dp) != 0)
		goto nomem;
	if (keyhash_init(&s->kh, cfg->hash_key, cfg->hash_key_len) != 0) {
		snap_err(err, errlen, "%s: cannot derive the hash secret", cfg->path);
		goto fail;
	}
	if (snap_build_ports(s, dp, cfg, err, errlen) != 0 ||
	    snap_build_groups(s, dp, cfg, slots, err, errlen) != 0 ||
	    snap_build_vips(s, cfg, err, errlen) != 0)
		goto fail;
	memset(s->slot_bi, 0xff, STATS_MAX_BACKENDS * sizeof(*s->slot_bi));
	for (uint32_t bi = 0; bi < nb_backends; bi++)
		s->slot_bi[s->backends[bi].slot] = (uint16_t)bi;
	for (unsigned g = 0; old != NULL && g < s->nb_groups; g++)
		if (snap_build_prev(s, g, old) != 0)
			goto nomem;
	/* Compiled here, off the workers: unless old's set has the same expressions. */
	if (snap_rules_build(s, cfg, old != NULL ? old : dp->snap, dp->nb_workers, err, errlen) !=
	    0)
		goto fail;
	/* Made once, never freed while workers run: they read dp->routed without RCU. */
	if (s->has_route && dp->routed == NULL && dp_routed_create(dp) != 0)
		goto nomem;
	return s;
nomem:
	snap_err(err, errlen, "out of memory building the snapshot");
fail:
	snap_free(s);
	return NULL;
}

void
snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	for (uint32_t g = 0; s->groups != NULL && g < s->nb_groups; g++) {
		rte_free(s->groups[g].table);
		rte_free(s->groups[g].prev);
	}
	for (uint32_t v = 0; s->vips != NULL && v < s->nb_vips; v++)
		acl_free(&s->vips[v].acl);
	snap_rules_free(s);
	rte_free(s->slot_bi);
	rte_free(s->groups);
	rte_free(s->backends);
	rte_free(s->info);
	rte_free(s->vips);
	rte_free(s->vip_slots);
	rte_free(s->ports);
	rte_free(s);
}

bool
snap_group_panic(const uint8_t *conf, uint8_t *eff, unsigned n, unsigned threshold)
{
	uint64_t total = 0, healthy = 0;

	for (unsigned i = 0; i < n; i++)
		if (conf[i] == MAGLEV_UP) {
			total++;
			healthy += eff[i] == MAGLEV_UP;
		}
	/* healthy / total < threshold / 100, in integers: no rounding decides a panic. */
	if (threshold == 0 || total == 0 || healthy * 100 >= total * threshold)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (conf[i] == MAGLEV_UP)
			eff[i] = MAGLEV_UP;
	return true;
}

int
snap_publish(struct dp *dp, struct snap *next)
{
	struct snap *old;

	pthread_mutex_lock(&dp->ctl_lock);
	old = __atomic_exchange_n(&dp->snap, next, __ATOMIC_ACQ_REL);
	if (old != NULL) {
		/* Every worker has passed a quiescent point after the swap: none holds old. */
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
		snap_rules_carry(old, next); /* old's counters are final now */
		snap_free(old);
	}
	pthread_mutex_unlock(&dp->ctl_lock);
	return 0;
}
