/*
 * gen.c - generations: the one place where the running configuration changes (gen.h).
 * Main lcore, between its other duties. Invariants, each kept by gen_apply() alone:
 *  - the running configuration is always the one the published snapshot was built
 *    from (lowered by health, never edited by it), and the generation counts every
 *    change that published one;
 *  - a change is validated whole, built and published before it becomes the running
 *    configuration; any failure leaves configuration, snapshot and counters untouched;
 *  - a backend name keeps its counter slot for as long as it exists; a removed
 *    backend's slot is forgotten by the dialog-affinity table and zeroed after the
 *    grace period, and may then serve a new backend at once (docs/control.md);
 *  - a change that moves keys opens (or keeps open) a transition window; it closes
 *    dialog_window seconds after the last such change (docs/dialogs.md);
 *  - a group whose healthy share falls below its panic_threshold is dispatched as if
 *    every backend the operator left up were healthy, and marked so in the snapshot;
 *    entering and leaving panic is a dispatch change like any other health change.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siphon/dp.h"
#include "siphon/log.h"
#include "siphon/maglev.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "gen.h"
#include "health.h"
#include "metrics.h"

#define GEN_ERR_MAX 512

/* Panic alarm lines: at most GEN_PANIC_LOG_BURST per GEN_PANIC_LOG_NS; the rest are
 * counted and summed up in one line once the period is over (a flapping probe must not
 * flood the log). */
#define GEN_PANIC_LOG_BURST 8u
#define GEN_PANIC_LOG_NS    10000000000ull

/* One group's panic decision, as gen_overlay() made it. */
struct gen_panic {
	uint8_t panic;
	uint32_t healthy, total; /* backends configured up, and those health left up */
};

struct gen {
	struct dp *dp;
	struct sph_cfg *cfg; /* running; matches dp->snap */
	uint64_t generation;
	uint64_t started_ns, changed_ns;
	bool stats_fixed;
	unsigned stats_interval;
	/* Counter slot owners: the backend name using stats_worker.backend[i], "" = free. */
	char slot_name[STATS_MAX_BACKENDS][CFG_NAME_MAX];
	/* Health checks (NULL: off). The published snapshot dispatches each backend with
	 * eff[i] (configuration order): its configured state, lowered by its health. */
	struct health *health;
	bool health_src;      /* probes bind to their egress port's address */
	uint64_t health_seen; /* health_generation() last reconciled */
	uint8_t *eff;
	unsigned nb_eff;
	/* Panic mode by group of the running configuration (the published snapshot's
	 * snap_group.panic), and the alarm lines' rate limit. */
	struct gen_panic *panic;
	unsigned nb_panic;
	uint64_t panic_log_ns; /* start of the current rate-limit period */
	unsigned panic_logged; /* lines written in it */
	uint64_t panic_quiet;  /* lines suppressed since the last summary */
	/* Transition window (docs/dialogs.md): open while the published snapshot has a
	 * previous table; closes open_ns after the last change that kept it open.
	 * window_ns is the configured length (dialog_window), open_ns the length of the
	 * window now open, fixed when it opened: a reload changing dialog_window applies
	 * to windows opened afterwards (its own included), not to one already open. */
	uint64_t window_ns;
	uint64_t open_ns;
	uint64_t trans_until_ns; /* 0: no window open */
	uint64_t rotate_ns;      /* next affinity bank rotation while one is open */
	uint64_t routed_ns;      /* next rotation of the routed dialogs' table (rulecheck.c) */
};

/* Whether a and b name the same groups in the same order: the routed dialogs' table
 * (dp_routed_clear()) records groups by index. */
static bool
gen_groups_same(const struct sph_cfg *a, const struct sph_cfg *b)
{
	if (a->nb_groups != b->nb_groups)
		return false;
	for (unsigned g = 0; g < a->nb_groups; g++)
		if (strcmp(a->groups[g].name, b->groups[g].name) != 0)
			return false;
	return true;
}

/* Rotation period of the routed dialogs' table (docs/protection.md#rules-hyperscan). */
#define GEN_ROUTED_PERIOD_S 3600u

struct gen *
gen_create(struct dp *dp, struct sph_cfg *cfg, long stats_interval)
{
	struct gen *gen = calloc(1, sizeof(*gen));
	unsigned bi = 0;

	if (gen == NULL)
		return NULL;
	gen->dp = dp;
	gen->cfg = cfg;
	gen->generation = 1;
	gen->started_ns = gen->changed_ns = sph_now_ns();
	gen->stats_fixed = stats_interval >= 0;
	gen->stats_interval = stats_interval >= 0 ? (unsigned)stats_interval : cfg->stats_interval;
	gen->window_ns = (uint64_t)cfg->dialog_window * 1000000000u;
	/* snap_build() gave the i-th backend slot i, and its configured state. */
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		gen->nb_eff += cfg->groups[g].nb_backends;
	gen->eff = calloc(gen->nb_eff + 1, 1);
	gen->panic = calloc(cfg->nb_groups + 1, sizeof(*gen->panic));
	if (gen->eff == NULL || gen->panic == NULL) {
		free(gen->eff);
		free(gen->panic);
		free(gen);
		return NULL;
	}
	gen->nb_panic = cfg->nb_groups;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++) {
			gen->eff[bi] = cfg->groups[g].backends[i].state;
			if (bi < STATS_MAX_BACKENDS)
				snprintf(gen->slot_name[bi], CFG_NAME_MAX, "%s",
				         cfg->groups[g].backends[i].name);
		}
	return gen;
}

void
gen_free(struct gen *gen)
{
	if (gen == NULL)
		return;
	gen_health_stop(gen);
	free(gen->eff);
	free(gen->panic);
	cfg_free(gen->cfg);
	free(gen);
}

const struct sph_cfg *
gen_cfg(const struct gen *gen)
{
	return gen->cfg;
}

uint64_t
gen_generation(const struct gen *gen)
{
	return gen->generation;
}

unsigned
gen_stats_interval(const struct gen *gen)
{
	return gen->stats_interval;
}

static void __attribute__((format(printf, 3, 4)))
gen_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- applying a change: one generation ---- */

static int
gen_slot_of(const struct gen *gen, const char *name)
{
	for (unsigned i = 0; i < STATS_MAX_BACKENDS; i++)
		if (gen->slot_name[i][0] != '\0' && strcmp(gen->slot_name[i], name) == 0)
			return (int)i;
	return -1;
}

/* What a running daemon cannot change: which DPDK devices its ports are, the mtu its mbufs
 * were sized for, and the fragment tables the workers made at start-up. */
static int
gen_check_ports(const struct sph_cfg *cur, const struct sph_cfg *next, char *err, size_t errlen)
{
	if (next->frag_entries != cur->frag_entries ||
	    next->frag_fragments != cur->frag_fragments ||
	    next->frag_timeout_ms != cur->frag_timeout_ms || next->frag_bytes != cur->frag_bytes) {
		gen_err(err, errlen,
		        "the frag_* limits differ from the running ones: the fragment tables are "
		        "made at start-up, changing them needs a restart");
		return -1;
	}
	if (next->nb_ports != cur->nb_ports) {
		gen_err(err, errlen,
		        "%u ports configured, the daemon serves %u: adding or removing ports "
		        "needs a restart",
		        next->nb_ports, cur->nb_ports);
		return -1;
	}
	for (unsigned p = 0; p < cur->nb_ports; p++)
		if (strcmp(cur->ports[p].name, next->ports[p].name) != 0 ||
		    strcmp(cur->ports[p].device, next->ports[p].device) != 0) {
			gen_err(err, errlen,
			        "port %u is \"%s\" (device \"%s\") in the new configuration and "
			        "\"%s\" (device \"%s\") in the running one: changing ports needs a "
			        "restart",
			        p + 1, next->ports[p].name, next->ports[p].device,
			        cur->ports[p].name, cur->ports[p].device);
			return -1;
		}
	for (unsigned p = 0; p < cur->nb_ports; p++)
		if (next->ports[p].mtu != cur->ports[p].mtu) {
			gen_err(err, errlen,
			        "port \"%s\": mtu %u in the new configuration, %u running: the "
			        "mbufs "
			        "are sized at start-up, changing it needs a restart",
			        cur->ports[p].name, next->ports[p].mtu, cur->ports[p].mtu);
			return -1;
		}
	return 0;
}

/* Free the slots of removed backends (gone[s] != 0). Only once no published snapshot
 * holds them (after the grace period), so no worker counts on them or records a dialog
 * for them meanwhile: then forget the dialogs recorded for them (else a new owner would
 * inherit a removed backend's calls), zero their counters, and they are free for the
 * next backends at once. */
static void
gen_slots_free(struct gen *gen, const uint8_t *gone)
{
	dp_aff_forget(gen->dp, gone);
	for (unsigned sl = 0; sl < STATS_MAX_BACKENDS; sl++)
		if (gone[sl]) {
			stats_zero_backend(gen->dp, sl);
			gen->slot_name[sl][0] = '\0';
		}
}

/* ---- health overlay ---- */

/* How the dataplane should dispatch b: its configured state, lowered (never raised) by
 * what its probes say. An operator's drain or down always wins. */
static uint8_t
gen_effective(const struct gen *gen, const struct cfg_backend *b)
{
	struct health_status st;
	uint8_t h;

	if (b->state != MAGLEV_UP || gen->health == NULL ||
	    health_get(gen->health, b->name, &st) != 0)
		return b->state;
	h = health_dispatch_state(st.state);
	return h > b->state ? h : b->state;
}

/*
 * The effective state of every backend of cfg (malloc'd, *n of them, configuration
 * order), each group's panic decision (in *panic, malloc'd, one per group) and, when any
 * state differs from the configured one, in *overlay a copy of cfg with those states
 * (else *overlay = NULL: build from cfg itself). A group in panic keeps its configured
 * states (snap_group_panic()). @return the states, or NULL when out of memory (then
 * nothing is left allocated).
 */
static uint8_t *
gen_overlay(const struct gen *gen, const struct sph_cfg *cfg, unsigned *n, struct sph_cfg **overlay,
            struct gen_panic **panic)
{
	unsigned nb = 0, bi = 0, most = 0;
	bool lowered = false;
	uint8_t *eff, *conf;
	struct gen_panic *pa;

	*overlay = NULL;
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		nb += cfg->groups[g].nb_backends;
		if (cfg->groups[g].nb_backends > most)
			most = cfg->groups[g].nb_backends;
	}
	eff = calloc(nb + 1, 1);
	conf = calloc(most + 1, 1);
	pa = calloc(cfg->nb_groups + 1, sizeof(*pa));
	if (eff == NULL || conf == NULL || pa == NULL) {
		free(eff);
		free(conf);
		free(pa);
		return NULL;
	}
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		uint8_t *ge = eff + bi;

		for (unsigned i = 0; i < grp->nb_backends; i++, bi++) {
			conf[i] = grp->backends[i].state;
			ge[i] = gen_effective(gen, &grp->backends[i]);
			pa[g].total += conf[i] == MAGLEV_UP;
			pa[g].healthy += conf[i] == MAGLEV_UP && ge[i] == MAGLEV_UP;
		}
		pa[g].panic = snap_group_panic(conf, ge, grp->nb_backends, grp->panic_threshold);
		for (unsigned i = 0; i < grp->nb_backends; i++)
			lowered |= ge[i] != conf[i];
	}
	free(conf);
	*n = nb;
	*panic = pa;
	if (!lowered)
		return eff;
	*overlay = cfg_dup(cfg);
	if (*overlay == NULL) {
		free(eff);
		free(pa);
		*panic = NULL;
		return NULL;
	}
	bi = 0;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			(*overlay)->groups[g].backends[i].state = eff[bi];
	return eff;
}

/* Mark the groups of s, built and not yet published, that are in panic. */
static void
gen_panic_mark(struct snap *s, const struct gen_panic *pa, unsigned n)
{
	for (unsigned g = 0; g < s->nb_groups; g++)
		s->groups[g].panic = g < n && pa[g].panic;
}

/* One alarm line, within the rate limit; else counted for the next summary. */
static void __attribute__((format(printf, 2, 3)))
gen_panic_log(struct gen *gen, const char *fmt, ...)
{
	uint64_t now = sph_now_ns();
	va_list ap;

	if (now - gen->panic_log_ns >= GEN_PANIC_LOG_NS) {
		gen->panic_log_ns = now;
		gen->panic_logged = 0;
	}
	if (gen->panic_logged >= GEN_PANIC_LOG_BURST) {
		gen->panic_quiet++;
		return;
	}
	gen->panic_logged++;
	va_start(ap, fmt);
	sph_vlog(SPH_LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Once the period of suppressed lines is over: say how many, and which groups are in
 * panic now (what the suppressed lines would have led to). */
static void
gen_panic_summary(struct gen *gen)
{
	char names[512];
	size_t at = 0;

	if (gen->panic_quiet == 0 || sph_now_ns() - gen->panic_log_ns < GEN_PANIC_LOG_NS)
		return;
	names[0] = '\0';
	for (unsigned g = 0; g < gen->nb_panic && g < gen->cfg->nb_groups; g++)
		if (gen->panic[g].panic && at < sizeof(names)) {
			int k = snprintf(names + at, sizeof(names) - at, "%s\"%s\"", at ? ", " : "",
			                 gen->cfg->groups[g].name);
			at = k < 0 ? sizeof(names) : at + (size_t)k;
		}
	sph_log(SPH_LOG_WARNING,
	        "panic: %" PRIu64 " alarm lines suppressed; groups in panic now: %s",
	        gen->panic_quiet, names[0] != '\0' ? names : "none");
	gen->panic_quiet = 0;
	gen->panic_log_ns = sph_now_ns();
	gen->panic_logged = 1;
}

/* After next (with pa) was published in place of old (with gen->panic): one alarm line
 * per group entering or leaving panic, groups matched by name (a reload may reorder). */
static void
gen_panic_changed(struct gen *gen, const struct sph_cfg *old, const struct sph_cfg *next,
                  const struct gen_panic *pa)
{
	for (unsigned g = 0; g < next->nb_groups; g++) {
		const struct cfg_group *grp = &next->groups[g];
		bool was = false;

		for (unsigned o = 0; o < old->nb_groups && o < gen->nb_panic; o++)
			if (strcmp(old->groups[o].name, grp->name) == 0)
				was = gen->panic[o].panic;
		if (pa[g].panic && !was)
			gen_panic_log(gen,
			              "group \"%s\": PANIC: %" PRIu32 " of %" PRIu32
			              " backends healthy, below panic_threshold %" PRIu32
			              "%%; dispatching over all %" PRIu32 " as if healthy",
			              grp->name, pa[g].healthy, pa[g].total, grp->panic_threshold,
			              pa[g].total);
		else if (!pa[g].panic && was)
			gen_panic_log(gen,
			              "group \"%s\": panic over: %" PRIu32 " of %" PRIu32
			              " backends healthy (panic_threshold %" PRIu32 "%%)",
			              grp->name, pa[g].healthy, pa[g].total, grp->panic_threshold);
	}
}

static void gen_health_targets(struct gen *gen);

/* ---- transition window (docs/dialogs.md) ---- */

/* s was just published: a previous table in it opens the window (window_ns long), or
 * keeps it open for open_ns more; none closes it (nothing routes by the affinity table
 * any more). */
static void
gen_trans_published(struct gen *gen, const struct snap *s)
{
	uint64_t now = sph_now_ns();

	if (s->has_prev) {
		if (gen->trans_until_ns == 0) {
			gen->open_ns = gen->window_ns;
			gen->rotate_ns = now + gen->open_ns;
		}
		gen->trans_until_ns = now + gen->open_ns;
	} else if (gen->trans_until_ns != 0) {
		dp_aff_clear(gen->dp);
		gen->trans_until_ns = 0;
	}
}

/* The window is over: publish the same dispatch without previous tables. Not a new
 * generation: no backend's configuration or dispatch state changed. */
static void
gen_trans_close(struct gen *gen)
{
	const struct sph_cfg *cfg = gen->cfg;
	struct sph_cfg *copy = cfg_dup(cfg);
	unsigned bi = 0;
	char err[GEN_ERR_MAX];
	uint16_t *slots = calloc(gen->nb_eff + 1, sizeof(*slots));
	struct snap *s = NULL;

	if (copy != NULL && slots != NULL) {
		for (unsigned g = 0; g < copy->nb_groups; g++)
			for (unsigned i = 0; i < copy->groups[g].nb_backends; i++, bi++) {
				struct cfg_backend *b = &copy->groups[g].backends[i];

				if (bi < gen->nb_eff)
					b->state = gen->eff[bi];
				slots[bi] = (uint16_t)gen_slot_of(gen, b->name);
			}
		s = snap_build_trans(gen->dp, copy, slots, NULL, err, sizeof(err));
		if (s != NULL)
			gen_panic_mark(s, gen->panic, gen->nb_panic);
	}
	if (s == NULL) {
		sph_log(SPH_LOG_WARNING, "transition window: cannot close it: %s; retrying",
		        copy == NULL || slots == NULL ? "out of memory" : err);
		gen->trans_until_ns = sph_now_ns() + 1000000000u;
	} else {
		snap_publish(gen->dp, s);
		gen_trans_published(gen, s);
	}
	free(slots);
	cfg_free(copy);
}

/* Once per tick: one comparison when no window is open. */
static void
gen_trans_tick(struct gen *gen)
{
	uint64_t now;

	if (gen->trans_until_ns == 0)
		return;
	now = sph_now_ns();
	if (now >= gen->trans_until_ns) {
		gen_trans_close(gen);
	} else if (now >= gen->rotate_ns) {
		dp_aff_rotate(gen->dp);
		gen->rotate_ns = now + gen->open_ns;
	}
}

/*
 * Make next the running configuration: validate, assign counter slots, build, publish.
 * Takes next (freed on failure). @return 0, or -1 with the reason in err and nothing
 * changed.
 */
int
gen_apply(struct gen *gen, struct sph_cfg *next, char *err, size_t errlen)
{
	unsigned nb = 0, bi = 0, nb_eff = 0;
	struct sph_cfg *overlay = NULL;
	struct gen_panic *panic = NULL;
	uint16_t *slots;
	uint8_t *used, *eff;
	struct snap *s;

	if (cfg_validate(next, err, errlen) != 0 ||
	    gen_check_ports(gen->cfg, next, err, errlen) != 0)
		goto fail;
	for (unsigned g = 0; g < next->nb_groups; g++)
		nb += next->groups[g].nb_backends;
	if (nb > STATS_MAX_BACKENDS) {
		gen_err(err, errlen, "%u backends: the dataplane takes at most %u", nb,
		        STATS_MAX_BACKENDS);
		goto fail;
	}
	slots = calloc(nb + 1, sizeof(*slots));
	used = calloc(STATS_MAX_BACKENDS, 1);
	if (slots == NULL || used == NULL) {
		free(slots);
		free(used);
		gen_err(err, errlen, "out of memory");
		goto fail;
	}
	/* Known names keep their slot; new ones take a free slot (zeroed when freed). */
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++) {
			int sl = gen_slot_of(gen, next->groups[g].backends[i].name);

			if (sl >= 0) {
				slots[bi] = (uint16_t)sl;
				used[sl] = 1;
			}
		}
	bi = 0;
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++) {
			unsigned sl = 0;

			if (gen_slot_of(gen, next->groups[g].backends[i].name) >= 0)
				continue;
			/* Free: no owner now, not claimed by this generation. Since nb fits,
			 * and every owner not in next is reused only after its reset, one
			 * exists unless owners being removed hold the rest. */
			while (sl < STATS_MAX_BACKENDS &&
			       (used[sl] || gen->slot_name[sl][0] != '\0'))
				sl++;
			if (sl == STATS_MAX_BACKENDS) {
				free(slots);
				free(used);
				gen_err(err, errlen,
				        "no free counter slot: the %u slots are held by the "
				        "running "
				        "backends and the ones this change adds; a backend's slot "
				        "is "
				        "free as soon as the change that removes it returns, so "
				        "remove backends in one change and add them in the next",
				        STATS_MAX_BACKENDS);
				goto fail;
			}
			slots[bi] = (uint16_t)sl;
			used[sl] = 2; /* new owner, named once published */
		}

	/* The snapshot dispatches by the health overlay; the configuration keeps what the
	 * operator wrote. */
	eff = gen_overlay(gen, next, &nb_eff, &overlay, &panic);
	s = eff != NULL ? snap_build_trans(gen->dp, overlay != NULL ? overlay : next, slots,
	                                   dp_snap(gen->dp), err, errlen)
	                : NULL;
	if (eff == NULL)
		gen_err(err, errlen, "out of memory");
	cfg_free(overlay);
	if (s == NULL) {
		free(eff);
		free(panic);
		free(slots);
		free(used);
		goto fail;
	}
	gen_panic_mark(s, panic, next->nb_groups);
	/* The HEP mirror first, its own publication (its route was checked with the rest):
	 * a snapshot whose mirror rules mark calls finds the collector already there, and a
	 * mirror that cannot be set refuses the generation instead of leaving show mirror
	 * and the rules telling of a collector that is not in use. */
	if (dp_mirror_set(gen->dp, next, err, errlen) != 0) {
		snap_free(s);
		free(eff);
		free(panic);
		free(slots);
		free(used);
		goto fail;
	}
	snap_publish(gen->dp, s); /* returns after the grace period: old snapshot gone */
	if (!s->has_route || !gen_groups_same(gen->cfg, next))
		dp_routed_clear(gen->dp);
	gen->window_ns = (uint64_t)next->dialog_window * 1000000000u;
	gen_trans_published(gen, s);
	free(gen->eff);
	gen->eff = eff;
	gen->nb_eff = nb_eff;
	gen_panic_changed(gen, gen->cfg, next, panic);
	free(gen->panic);
	gen->panic = panic;
	gen->nb_panic = next->nb_groups;

	{
		uint8_t gone[STATS_MAX_BACKENDS]; /* owned before, not by this generation */
		bool any = false;

		for (unsigned sl = 0; sl < STATS_MAX_BACKENDS; sl++) {
			gone[sl] = !used[sl] && gen->slot_name[sl][0] != '\0';
			any |= gone[sl];
		}
		if (any)
			gen_slots_free(gen, gone);
	}
	bi = 0;
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++)
			if (used[slots[bi]] == 2)
				snprintf(gen->slot_name[slots[bi]], CFG_NAME_MAX, "%s",
				         next->groups[g].backends[i].name);
	free(slots);
	free(used);

	if (next->path == NULL && gen->cfg->path != NULL)
		next->path = strdup(gen->cfg->path);
	cfg_free(gen->cfg);
	gen->cfg = next;
	gen->generation++;
	gen->changed_ns = sph_now_ns();
	if (!gen->stats_fixed)
		gen->stats_interval = next->stats_interval;
	gen_health_targets(gen); /* unchanged backends keep their health */
	return 0;
fail:
	cfg_free(next);
	return -1;
}

/* ---- health checks ---- */

static void
gen_health_params(const struct cfg_health *c, struct health_params *p)
{
	health_params_default(p);
	p->interval_ms = c->interval_ms;
	p->timeout_ms = c->timeout_ms;
	p->fall = c->fall;
	p->rise = c->rise;
	p->overload_code = c->overload_code;
	memcpy(p->accept, c->accept, sizeof(p->accept));
}

/* One target per backend of cfg, in configuration order; with src, each bound to the
 * address of its family of the port it is reached through (the published snapshot's
 * egress). @return the targets (malloc'd, *n), or NULL when out of memory. */
static struct health_target *
gen_health_list(const struct gen *gen, bool src, unsigned *n)
{
	const struct sph_cfg *cfg = gen->cfg;
	const struct snap *s = dp_snap(gen->dp);
	struct health_target *t;
	unsigned nb = 0, bi = 0;

	for (unsigned g = 0; g < cfg->nb_groups; g++)
		nb += cfg->groups[g].nb_backends;
	t = calloc(nb + 1, sizeof(*t));
	if (t == NULL)
		return NULL;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++) {
			const struct cfg_backend *b = &cfg->groups[g].backends[i];

			snprintf(t[bi].name, sizeof(t[bi].name), "%s", b->name);
			t[bi].addr = b->addr;
			t[bi].port = b->port;
			if (src && s != NULL && bi < s->nb_backends) {
				const struct snap_port *sp = &s->ports[s->backends[bi].egress];

				if (b->addr.family == 4 && sp->has4) {
					t[bi].src.family = 4;
					memcpy(t[bi].src.a, sp->addr4, 16);
				} else if (b->addr.family == 6 && sp->has6) {
					t[bi].src.family = 6;
					memcpy(t[bi].src.a, sp->addr6, 16);
				}
			}
		}
	*n = nb;
	return t;
}

/* After a change: probe the running configuration's backends. Unchanged ones keep
 * their state (health_set_targets()); the change is applied already, so a refusal is
 * reported, not returned. */
static void
gen_health_targets(struct gen *gen)
{
	struct health_target *t;
	char err[GEN_ERR_MAX];
	unsigned n = 0;

	if (gen->health == NULL)
		return;
	t = gen_health_list(gen, gen->health_src, &n);
	if (t == NULL || health_set_targets(gen->health, t, n, err, sizeof(err)) != 0)
		sph_log(SPH_LOG_WARNING, "health: targets not updated: %s",
		        t == NULL ? "out of memory" : err);
	free(t);
}

int
gen_health_start(struct gen *gen, char *err, size_t errlen)
{
	const struct cfg_health *c = &gen->cfg->health;
	struct health_params p;
	struct health_target *t;
	unsigned n = 0;

	if (gen->health != NULL || !c->enabled || c->interval_ms == 0)
		return 0;
	gen_health_params(c, &p);
	/* Probes leave from the balancer's own address when the kernel has it (the port's
	 * exception path gives it one); else from whatever address the kernel picks. */
	t = gen_health_list(gen, true, &n);
	if (t == NULL) {
		gen_err(err, errlen, "health: out of memory");
		return -1;
	}
	gen->health = health_create(&p, t, n, NULL, NULL, err, errlen);
	gen->health_src = gen->health != NULL;
	free(t);
	if (gen->health == NULL) {
		sph_log(SPH_LOG_WARNING,
		        "health: cannot send from the ports' addresses (%s); the kernel "
		        "chooses the probes' source address",
		        err);
		t = gen_health_list(gen, false, &n);
		if (t == NULL) {
			gen_err(err, errlen, "health: out of memory");
			return -1;
		}
		gen->health = health_create(&p, t, n, NULL, NULL, err, errlen);
		free(t);
		if (gen->health == NULL)
			return -1;
	}
	gen->health_seen = health_generation(gen->health);
	if (health_start(gen->health, err, errlen) != 0) {
		health_destroy(gen->health);
		gen->health = NULL;
		return -1;
	}
	metrics_set_health(gen->health);
	return 0;
}

void
gen_health_stop(struct gen *gen)
{
	if (gen == NULL || gen->health == NULL)
		return;
	metrics_set_health(NULL); /* no scrape uses it once this returns */
	health_destroy(gen->health);
	gen->health = NULL;
}

bool
gen_health_on(const struct gen *gen)
{
	return gen->health != NULL;
}

/* Publish a snapshot of the running configuration with the health overlay in force,
 * when it changes how any backend is dispatched. The configuration is untouched. */
static int
gen_health_apply(struct gen *gen)
{
	const struct sph_cfg *cfg = gen->cfg;
	struct sph_cfg *overlay = NULL;
	struct gen_panic *panic = NULL;
	unsigned n = 0, bi = 0;
	char err[GEN_ERR_MAX];
	uint16_t *slots;
	uint8_t *eff;
	struct snap *s;
	bool same_panic = gen->nb_panic == cfg->nb_groups;

	eff = gen_overlay(gen, cfg, &n, &overlay, &panic);
	if (eff == NULL)
		return -1;
	for (unsigned g = 0; same_panic && g < cfg->nb_groups; g++)
		same_panic = panic[g].panic == gen->panic[g].panic;
	/* Counts alone moving within a panic (a second backend failing) change no table. */
	if (same_panic && n == gen->nb_eff && memcmp(eff, gen->eff, n) == 0) {
		free(eff);
		free(panic);
		cfg_free(overlay);
		return 0;
	}
	slots = calloc(n + 1, sizeof(*slots));
	for (unsigned g = 0; slots != NULL && g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			slots[bi] = (uint16_t)gen_slot_of(gen, cfg->groups[g].backends[i].name);
	s = slots != NULL ? snap_build_trans(gen->dp, overlay != NULL ? overlay : cfg, slots,
	                                     dp_snap(gen->dp), err, sizeof(err))
	                  : NULL;
	if (s == NULL) {
		sph_log(SPH_LOG_WARNING, "health: cannot apply: %s",
		        slots == NULL ? "out of memory" : err);
		free(slots);
		free(eff);
		free(panic);
		cfg_free(overlay);
		return -1;
	}
	gen_panic_mark(s, panic, cfg->nb_groups);
	snap_publish(gen->dp, s);
	gen_trans_published(gen, s);
	bi = 0;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			if (bi < gen->nb_eff && eff[bi] != gen->eff[bi])
				sph_log(SPH_LOG_NOTICE,
				        "health: backend \"%s\" now dispatched %s (was "
				        "%s)",
				        cfg->groups[g].backends[i].name, cfg_state_name(eff[bi]),
				        cfg_state_name(gen->eff[bi]));
	fflush(stdout);
	gen_panic_changed(gen, cfg, cfg, panic);
	free(gen->panic);
	gen->panic = panic;
	gen->nb_panic = cfg->nb_groups;
	free(gen->eff);
	gen->eff = eff;
	gen->nb_eff = n;
	gen->generation++;
	gen->changed_ns = sph_now_ns();
	free(slots);
	cfg_free(overlay);
	return 0;
}

void
gen_tick(struct gen *gen)
{
	uint64_t g;

	gen_trans_tick(gen);
	/* A routed dialog is followed for one to two GEN_ROUTED_PERIOD_S after its first
	 * request: calls are long, unlike transition windows. */
	if (SPH_UNLIKELY(dp_snap(gen->dp)->has_route)) {
		uint64_t now = sph_now_ns();

		if (gen->routed_ns == 0)
			gen->routed_ns = now + GEN_ROUTED_PERIOD_S * 1000000000u;
		else if (now >= gen->routed_ns) {
			dp_routed_rotate(gen->dp);
			gen->routed_ns = now + GEN_ROUTED_PERIOD_S * 1000000000u;
		}
	}
	if (SPH_UNLIKELY(gen->panic_quiet != 0))
		gen_panic_summary(gen);
	if (gen->health == NULL)
		return;
	g = health_generation(gen->health); /* one atomic load: the usual tick costs this */
	if (g == gen->health_seen)
		return;
	/* On failure (out of memory) the next state change retries. */
	gen->health_seen = g;
	gen_health_apply(gen);
}

/* ---- what the commands read ---- */

struct dp *
gen_dp(const struct gen *gen)
{
	return gen->dp;
}

struct health *
gen_health(const struct gen *gen)
{
	return gen->health;
}

uint8_t
gen_dispatch_state(const struct gen *gen, unsigned bi, uint8_t configured)
{
	return bi < gen->nb_eff ? gen->eff[bi] : configured;
}

uint64_t
gen_uptime_s(const struct gen *gen)
{
	return (sph_now_ns() - gen->started_ns) / 1000000000u;
}

uint64_t
gen_since_change_s(const struct gen *gen)
{
	return (sph_now_ns() - gen->changed_ns) / 1000000000u;
}
