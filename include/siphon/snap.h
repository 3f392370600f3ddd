/**
 * @file snap.h
 * The immutable snapshot of configuration the workers forward by: the contract between
 * the control plane, which computes it from a configuration, and the dataplane, which
 * only looks up in it (Katran's split: its fields are the "maps").
 * Built by the main lcore from a struct sph_cfg (snap_build), published with one
 * pointer store and reclaimed after an RCU grace period (snap_publish). Workers load
 * the pointer once per burst and only read; nothing in a published snapshot changes.
 * Neighbour MACs are not in it: they live in the long-lived nd_table, and a snapshot
 * only holds each backend's index there. Control reads the published snapshot through
 * dp_snap() (main lcore) or under dp_lock() (other threads); it never writes one.
 */
#ifndef SIPHON_DP_SNAP_H
#define SIPHON_DP_SNAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "siphon/cfg.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/neigh.h"

struct dp;

/** Where a backend is and how to reach it. Hot: read per packet. */
struct snap_backend {
	uint8_t family;        /**< 4 or 6 */
	uint8_t egress;        /**< dataplane port index it is reached through */
	uint16_t nd_idx;       /**< nd_table entry of the next hop (itself, or the gateway) */
	uint8_t addr[16];      /**< IPv4 mapped, network order: the IP-in-IP outer destination */
	uint8_t outer_src[16]; /**< egress port's address of its family (IP-in-IP source) */
	uint16_t slot;         /**< its counters: stats_worker.backend[slot], stable across
	                          generations (snap_build_slots); also its identity in the
	                          dialog affinity table */
	uint8_t state;         /**< enum maglev_state it is dispatched with */
};

/** Names for stats and logs. Cold. */
struct snap_backend_info {
	char name[CFG_NAME_MAX];
	char addr[CFG_ADDR_STRLEN];
};

/**
 * A group: its Maglev table, whose slots index backends [base, base + nb). During a
 * transition window (docs/dialogs.md) also prev: the table in force when the window
 * opened, its slots translated to this snapshot's backends (a backend removed or down
 * since takes the current table's entry). NULL in steady state: workers then do no
 * dialog work at all.
 */
struct snap_group {
	struct maglev_table *table;
	struct maglev_table *prev;
	uint32_t base;
	uint32_t nb;
	char name[CFG_NAME_MAX];   /**< cold: to find the group again in the next generation */
	uint64_t fingerprint;      /**< cold: maglev_fingerprint() of table, for show groups
	                              and metrics to compare instances by */
	uint64_t prev_fingerprint; /**< cold: of prev; 0 when prev is NULL */
	/** cold: the group is in panic mode (snap_group_panic()): its table was built with
	 *  every backend the operator left up as up, whatever their health. Set by the
	 *  control plane on the snapshot it built, before publishing it; for show groups
	 *  and metrics. Workers never read it: a panic is only a different table. */
	uint8_t panic;
};

struct rte_lpm6;
struct acl_shared;

/**
 * A VIP's allowlist (docs/protection.md): longest-prefix match of a source address to
 * its enum cfg_tier, one rte_lpm6 table per family (IPv4 keyed by its 4 bytes first,
 * dataplane/acl.c), NULL for a family with no prefix (every source of it is default). Built by the
 * main lcore from cfg_vip.acl (snap_acl_build), read-only once published.
 */
struct snap_acl {
	struct rte_lpm6 *v4;
	struct rte_lpm6 *v6;
	uint32_t nb4, nb6;      /**< cold: prefixes of each family, for show acl */
	struct acl_shared *ref; /**< cold: the tables' owner, shared by the snapshots built
	                           from the same list (dataplane/acl.c) */
};

/** One rate limit class of a VIP as the worker applies it (GCRA, limit.h). */
struct snap_limit {
	uint64_t interval; /**< TSC cycles between two requests at the rate; 0: unlimited */
	uint64_t tau;      /**< cycles of credit a source may build up: (burst - 1) * interval */
};

/** A VIP: how it forwards and to which group, and who may send to it how fast. */
struct snap_vip {
	uint8_t mode; /**< enum cfg_vip_mode */
	uint16_t group;
	/** Whether acl or some limit is set: the worker's one test when neither is. */
	uint8_t policy;
	uint8_t limited;  /**< some class of limit has a rate */
	uint16_t addr_id; /**< index of the first VIP of its address: what rules name */
	/** SNAP_LIMIT_BY_METHOD in every published VIP: a request is limited by its method's
	 *  class. A worker's own copy of the VIP, made for a request a limit rule matched
	 *  (dataplane/rulecheck.c), holds the rule's class. */
	uint8_t limit_cls;
	struct snap_acl acl; /**< v4 / v6 NULL: no prefix of that family */
	struct snap_limit limit[CFG_LIMIT_CLASSES];
};

#define SNAP_LIMIT_BY_METHOD UINT8_MAX /**< snap_vip.limit_cls: the method's class */

/** An occupied slot of the VIP lookup table: one (family, address, port) of a VIP. */
struct snap_vip_slot {
	uint16_t vip1; /**< VIP index + 1; 0 = empty slot */
	uint16_t port; /**< UDP port, host order */
	uint8_t family;
	uint8_t addr[16];
};

/** What one dataplane port answers ARP/ND for, and its own addresses. */
struct snap_port {
	struct nd_self self; /**< own addresses + every VIP, with the port MAC */
	uint8_t has4, has6;  /**< whether addr4 / addr6 is set */
	uint8_t udp_csum;    /**< enum cfg_udp_csum for datagrams received on the port */
	uint8_t addr4[16];   /**< first IPv4 address (mapped): ARP source, IP-in-IP source */
	uint8_t addr6[16];   /**< first IPv6 address: NS source, IP-in-IP source */
	/* The port's own addresses alone (no VIP), with their prefixes, and its gateways:
	 * what the exception path delivers to the kernel and routes the kernel's packets by. */
	uint8_t nb_own;
	uint8_t own_family[CFG_PORT_ADDRS_MAX];
	uint8_t own_len[CFG_PORT_ADDRS_MAX]; /**< prefix length, of the IPv4 address for IPv4 */
	uint8_t own[CFG_PORT_ADDRS_MAX][16];
	uint8_t has_gw4, has_gw6;
	uint8_t gw4[16], gw6[16];
};

struct snap {
	struct keyhash kh;
	uint32_t nb_backends, nb_groups, nb_vips, nb_ports;
	struct snap_backend *backends;
	struct snap_group *groups;
	struct snap_vip *vips;
	uint32_t vip_mask; /**< VIP table slots - 1 (a power of two minus one) */
	struct snap_vip_slot *vip_slots;
	struct snap_port *ports;
	struct snap_backend_info *info; /**< nb_backends names, parallel to backends */
	uint16_t *slot_bi; /**< counter slot -> backend index, UINT16_MAX: none (STATS_MAX_BACKENDS)
	                    */
	bool has_prev;     /**< some group has a previous table: a transition window is open */
	/* Operator rules (docs/protection.md#rules-hyperscan; dataplane/rulecheck.h). rules
	 * NULL: none, and the worker's one test of them. The compiled set is shared with the
	 * snapshots built from the same expressions; rule[] (actions, VIP, sources) is this
	 * snapshot's own. */
	struct snap_rules *rules;
	struct snap_rule *rule;
	struct snap_rule_src *rule_src;
	uint32_t nb_rules;
	bool has_route; /**< some rule routes to another group: dp->routed is consulted */
};

/**
 * Whether snap_build() could forward cfg, from the configuration alone (no device, no
 * EAL): every backend reachable the way its VIPs' modes need (L2 DSR on a port's
 * segment or with a static MAC; otherwise through a gateway of its family; a port
 * address of its family to tunnel or resolve from), the backend and VIP counts, the
 * addresses each port answers for. snap_build() runs it first, so the two never
 * disagree; `siphon --check-config` runs it after cfg_load(). Any thread.
 * @return 0, or -1 with one "file:line: item: problem" line in err.
 */
int snap_check(const struct sph_cfg *cfg, char *err, size_t errlen);

/**
 * Build a snapshot of cfg for dp's ports (cfg port i is dp port i). Adds every
 * next hop to dp's nd_table (static MACs as ND_STATIC) and records its egress port.
 * Rejects what the dataplane cannot forward: an l2dsr backend neither on-link nor
 * with a static MAC, an off-link backend without a gateway of its family, IP-in-IP
 * towards a family the egress port has no address of, too many backends or
 * addresses to answer for.
 *
 * Main lcore only (writes the nd_table); allocates.
 * @return the snapshot, or NULL with one line in err.
 */
struct snap *snap_build(struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen);

/**
 * snap_build() with the counter slot of every backend: slots[i] (< STATS_MAX_BACKENDS,
 * distinct) for the i-th backend of cfg in group then file order. The control plane
 * keeps a backend's slot across generations, so its counters follow it when backends
 * are added, removed or reordered. slots NULL: slot i for the i-th backend (what
 * snap_build() does).
 */
struct snap *snap_build_slots(struct dp *dp, const struct sph_cfg *cfg, const uint16_t *slots,
                              char *err, size_t errlen);

/**
 * snap_build_slots() for a transition from old (the published snapshot; NULL: none, which
 * closes any transition window). Each group of cfg found by name in old gets as prev
 * old's prev when it has one (the window stays anchored at the table of its opening),
 * else old's table; translated to the new backends by counter slot, and dropped when it
 * routes every key as the new table does and old had none (a change that moves no key
 * opens no window; one that reverts a change keeps the open one). Makes dp->aff when
 * missing.
 */
struct snap *snap_build_trans(struct dp *dp, const struct sph_cfg *cfg, const uint16_t *slots,
                              const struct snap *old, char *err, size_t errlen);

/**
 * Envoy's panic threshold, decided for one group where health lowers the states its table
 * is built with: conf[i] is the i-th backend's configured state, eff[i] the state health
 * lowered it to (never above conf[i]). When fewer than threshold percent of the backends
 * configured up are still up in eff, the group panics: each of those gets eff[i] = up
 * again, so a probe misconfiguration or a monitoring outage degrades to dispatching over
 * every backend instead of dropping what the unhealthy ones would get. Backends the
 * operator drained or set down stay so. threshold 0, or no backend configured up: never.
 * Pure; any thread.
 * @return true when the group panics (eff raised), false when eff is left as it was.
 */
bool snap_group_panic(const uint8_t *conf, uint8_t *eff, unsigned n, unsigned threshold);

/**
 * Make next the snapshot workers use, wait for every worker to leave the old one
 * (rte_rcu_qsbr_synchronize), and free it. Main lcore; blocks for a grace period.
 * @return 0.
 */
int snap_publish(struct dp *dp, struct snap *next);

/** Free a snapshot nobody reads any more. NULL is a no-op. */
void snap_free(struct snap *s);

/**
 * The tier of source (family, addr) at VIP v: the longest of its prefixes that covers the
 * address decides; none, CFG_TIER_DEFAULT. Any lcore; one LPM lookup.
 */
uint8_t snap_acl_tier(const struct snap_vip *v, uint8_t family, const uint8_t addr[16]);

/** A rule's counters, summed over every worker. */
struct snap_rule_stats {
	uint64_t matches; /**< since a rule of its name was first published (carried across
	                       rule changes by name) */
	uint64_t last_ns; /**< wall-clock time of the latest match, ns since 1970; 0: never */
};

/** Rules s applies, in order; 0 when none (or s is NULL). */
unsigned snap_rules_count(const struct snap *s);

/** Rule i's name (i < snap_rules_count(s)); "" otherwise. Valid while s is. */
const char *snap_rule_name(const struct snap *s, unsigned i);

/**
 * Rule i's counters (i < snap_rules_count(s); zeros otherwise). Each worker's counters
 * are read as they are, without stopping it. The main lcore, or under dp_lock().
 */
void snap_rule_stats(const struct snap *s, unsigned i, struct snap_rule_stats *out);

/** Bytes of s's compiled rule databases and of one worker's scratch (0, 0: no rules). */
void snap_rules_mem(const struct snap *s, size_t *db, size_t *scratch);

/** Whether (family, addr) is one of port sp's own addresses (VIPs are not). Any lcore. */
static inline bool
snap_port_owns(const struct snap_port *sp, uint8_t family, const uint8_t addr[16])
{
	for (unsigned i = 0; i < sp->nb_own; i++)
		if (sp->own_family[i] == family && memcmp(sp->own[i], addr, 16) == 0)
			return true;
	return false;
}

/** Mix (family, addr, port) into a slot number: two multiplies, no table. */
static inline uint32_t
snap_vip_hash(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint64_t hi, lo;

	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	hi = (hi ^ ((uint64_t)port << 8 | family)) * 0x9e3779b97f4a7c15ull;
	lo = (lo ^ (hi >> 29)) * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(lo >> 32);
}

/** Index of the VIP serving (family, addr, port), or -1. Any lcore. */
static inline int
snap_vip_find(const struct snap *s, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint32_t i = snap_vip_hash(family, addr, port) & s->vip_mask;

	/* The table is at most half full, so a probe always meets an empty slot. */
	for (;; i = (i + 1) & s->vip_mask) {
		const struct snap_vip_slot *sl = &s->vip_slots[i];

		if (sl->vip1 == 0)
			return -1;
		if (sl->port == port && sl->family == family && memcmp(sl->addr, addr, 16) == 0)
			return sl->vip1 - 1;
	}
}

#endif /* SIPHON_DP_SNAP_H */
