/*
 * ops.c - control socket commands (ops.h): show, change, reload, log level, dispatch.
 * Runs on the main lcore between its other duties; a request takes at most a snapshot
 * build (one Maglev table per group, milliseconds) and a grace period. Workers never
 * wait for it: they keep forwarding with the snapshot they have until the next one is
 * published.
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

#include <jansson.h>
#include <rte_log.h>

#include "siphon/dp.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/neigh.h"
#include "siphon/snap.h"
#include "siphon/stats.h"
#include "health.h"
#include "metrics.h"
#include "ops.h"

#define OPS_ERR_MAX 512

struct ctl_ops {
	struct dp *dp;
	struct sph_cfg *cfg; /* running; matches dp->snap */
	uint64_t generation;
	uint64_t started_ns, changed_ns;
	bool stats_fixed;
	unsigned stats_interval;
	/* Counter slot owners: the backend name using stats_worker.backend[i], "" = free. */
	char slot_name[STATS_MAX_BACKENDS][CFG_NAME_MAX];
	/* A freed slot may still be named by dialog-affinity records (they store slots):
	 * it is not handed to a new backend until both affinity halves have been cleared
	 * since (2 rotations) or the window closed, or that backend would inherit the
	 * removed one's dialogs. */
	uint8_t slot_quar[STATS_MAX_BACKENDS];
	/* Health checks (NULL: off). The published snapshot dispatches each backend with
	 * eff[i] (configuration order): its configured state, lowered by its health. */
	struct health *health;
	bool health_src;      /* probes bind to their egress port's address */
	uint64_t health_seen; /* health_generation() last reconciled */
	uint8_t *eff;
	unsigned nb_eff;
	/* Transition window (docs/dialogs.md): open while the published snapshot has a
	 * previous table; closes open_ns after the last change that kept it open.
	 * window_ns is the configured length (dialog_window), open_ns the length of the
	 * window now open, fixed when it opened: a reload changing dialog_window applies
	 * to windows opened afterwards (its own included), not to one already open. */
	uint64_t window_ns;
	uint64_t open_ns;
	uint64_t trans_until_ns; /* 0: no window open */
	uint64_t rotate_ns;      /* next affinity bank rotation while one is open */
};

static uint64_t
ops_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct ctl_ops *
ctl_ops_create(struct dp *dp, struct sph_cfg *cfg, long stats_interval)
{
	struct ctl_ops *ops = calloc(1, sizeof(*ops));
	unsigned bi = 0;

	if (ops == NULL)
		return NULL;
	ops->dp = dp;
	ops->cfg = cfg;
	ops->generation = 1;
	ops->started_ns = ops->changed_ns = ops_now_ns();
	ops->stats_fixed = stats_interval >= 0;
	ops->stats_interval = stats_interval >= 0 ? (unsigned)stats_interval : cfg->stats_interval;
	ops->window_ns = (uint64_t)cfg->dialog_window * 1000000000u;
	/* snap_build() gave the i-th backend slot i, and its configured state. */
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		ops->nb_eff += cfg->groups[g].nb_backends;
	ops->eff = calloc(ops->nb_eff + 1, 1);
	if (ops->eff == NULL) {
		free(ops);
		return NULL;
	}
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++) {
			ops->eff[bi] = cfg->groups[g].backends[i].state;
			if (bi < STATS_MAX_BACKENDS)
				snprintf(ops->slot_name[bi], CFG_NAME_MAX, "%s",
				         cfg->groups[g].backends[i].name);
		}
	return ops;
}

void
ctl_ops_free(struct ctl_ops *ops)
{
	if (ops == NULL)
		return;
	ctl_ops_health_stop(ops);
	free(ops->eff);
	cfg_free(ops->cfg);
	free(ops);
}

const struct sph_cfg *
ctl_ops_cfg(const struct ctl_ops *ops)
{
	return ops->cfg;
}

uint64_t
ctl_ops_generation(const struct ctl_ops *ops)
{
	return ops->generation;
}

unsigned
ctl_ops_stats_interval(const struct ctl_ops *ops)
{
	return ops->stats_interval;
}

static void __attribute__((format(printf, 3, 4)))
ops_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- applying a change: one generation ---- */

static int
ops_slot_of(const struct ctl_ops *ops, const char *name)
{
	for (unsigned i = 0; i < STATS_MAX_BACKENDS; i++)
		if (ops->slot_name[i][0] != '\0' && strcmp(ops->slot_name[i], name) == 0)
			return (int)i;
	return -1;
}

/* What a running daemon cannot change: which DPDK devices its ports are. */
static int
ops_check_ports(const struct sph_cfg *cur, const struct sph_cfg *next, char *err, size_t errlen)
{
	if (next->nb_ports != cur->nb_ports) {
		ops_err(err, errlen,
		        "%u ports configured, the daemon serves %u: adding or removing ports "
		        "needs a restart",
		        next->nb_ports, cur->nb_ports);
		return -1;
	}
	for (unsigned p = 0; p < cur->nb_ports; p++)
		if (strcmp(cur->ports[p].name, next->ports[p].name) != 0 ||
		    strcmp(cur->ports[p].device, next->ports[p].device) != 0) {
			ops_err(err, errlen,
			        "port %u is \"%s\" (device \"%s\") in the new configuration and "
			        "\"%s\" (device \"%s\") in the running one: changing ports needs a "
			        "restart",
			        p + 1, next->ports[p].name, next->ports[p].device,
			        cur->ports[p].name, cur->ports[p].device);
			return -1;
		}
	return 0;
}

/* Zero slot's counters in every worker's block. Only once no published snapshot
 * references the slot (after a grace period), so no worker writes it meanwhile. */
static void
ops_slot_reset(struct ctl_ops *ops, unsigned slot)
{
	stats_zero_backend(ops->dp, slot);
	ops->slot_name[slot][0] = '\0';
}

/* ---- health overlay ---- */

/* How the dataplane should dispatch b: its configured state, lowered (never raised) by
 * what its probes say. An operator's drain or down always wins. */
static uint8_t
ops_effective(const struct ctl_ops *ops, const struct cfg_backend *b)
{
	struct health_status st;
	uint8_t h;

	if (b->state != MAGLEV_UP || ops->health == NULL ||
	    health_get(ops->health, b->name, &st) != 0)
		return b->state;
	h = health_dispatch_state(st.state);
	return h > b->state ? h : b->state;
}

/*
 * The effective state of every backend of cfg (malloc'd, *n of them, configuration
 * order) and, when any differs from the configured one, in *overlay a copy of cfg with
 * those states (else *overlay = NULL: build from cfg itself). @return the states, or
 * NULL when out of memory.
 */
static uint8_t *
ops_overlay(const struct ctl_ops *ops, const struct sph_cfg *cfg, unsigned *n,
            struct sph_cfg **overlay)
{
	unsigned nb = 0, bi = 0;
	bool lowered = false;
	uint8_t *eff;

	*overlay = NULL;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		nb += cfg->groups[g].nb_backends;
	eff = calloc(nb + 1, 1);
	if (eff == NULL)
		return NULL;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++) {
			eff[bi] = ops_effective(ops, &cfg->groups[g].backends[i]);
			lowered |= eff[bi] != cfg->groups[g].backends[i].state;
		}
	*n = nb;
	if (!lowered)
		return eff;
	*overlay = cfg_dup(cfg);
	if (*overlay == NULL) {
		free(eff);
		return NULL;
	}
	bi = 0;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			(*overlay)->groups[g].backends[i].state = eff[bi];
	return eff;
}

static void ops_health_targets(struct ctl_ops *ops);

/* ---- transition window (docs/dialogs.md) ---- */

/* s was just published: a previous table in it opens the window (window_ns long), or
 * keeps it open for open_ns more; none closes it (nothing routes by the affinity table
 * any more). */
static void
ops_trans_published(struct ctl_ops *ops, const struct snap *s)
{
	uint64_t now = ops_now_ns();

	if (s->has_prev) {
		if (ops->trans_until_ns == 0) {
			ops->open_ns = ops->window_ns;
			ops->rotate_ns = now + ops->open_ns;
		}
		ops->trans_until_ns = now + ops->open_ns;
	} else if (ops->trans_until_ns != 0) {
		dp_aff_clear(ops->dp);
		memset(ops->slot_quar, 0, sizeof(ops->slot_quar));
		ops->trans_until_ns = 0;
	}
}

/* The window is over: publish the same dispatch without previous tables. Not a new
 * generation: no backend's configuration or dispatch state changed. */
static void
ops_trans_close(struct ctl_ops *ops)
{
	const struct sph_cfg *cfg = ops->cfg;
	struct sph_cfg *copy = cfg_dup(cfg);
	unsigned bi = 0;
	char err[OPS_ERR_MAX];
	uint16_t *slots = calloc(ops->nb_eff + 1, sizeof(*slots));
	struct snap *s = NULL;

	if (copy != NULL && slots != NULL) {
		for (unsigned g = 0; g < copy->nb_groups; g++)
			for (unsigned i = 0; i < copy->groups[g].nb_backends; i++, bi++) {
				struct cfg_backend *b = &copy->groups[g].backends[i];

				if (bi < ops->nb_eff)
					b->state = ops->eff[bi];
				slots[bi] = (uint16_t)ops_slot_of(ops, b->name);
			}
		s = snap_build_trans(ops->dp, copy, slots, NULL, err, sizeof(err));
	}
	if (s == NULL) {
		fprintf(stderr, "siphon: transition window: cannot close it: %s; retrying\n",
		        copy == NULL || slots == NULL ? "out of memory" : err);
		ops->trans_until_ns = ops_now_ns() + 1000000000u;
	} else {
		snap_publish(ops->dp, s);
		ops_trans_published(ops, s);
	}
	free(slots);
	cfg_free(copy);
}

/* Once per tick: one comparison when no window is open. */
static void
ops_trans_tick(struct ctl_ops *ops)
{
	uint64_t now;

	if (ops->trans_until_ns == 0)
		return;
	now = ops_now_ns();
	if (now >= ops->trans_until_ns) {
		ops_trans_close(ops);
	} else if (now >= ops->rotate_ns) {
		dp_aff_rotate(ops->dp);
		for (unsigned sl = 0; sl < STATS_MAX_BACKENDS; sl++)
			if (ops->slot_quar[sl] != 0)
				ops->slot_quar[sl]--;
		ops->rotate_ns = now + ops->open_ns;
	}
}

/*
 * Make next the running configuration: validate, assign counter slots, build, publish.
 * Takes next (freed on failure). @return 0, or -1 with the reason in err and nothing
 * changed.
 */
static int
ops_apply(struct ctl_ops *ops, struct sph_cfg *next, char *err, size_t errlen)
{
	unsigned nb = 0, bi = 0, nb_eff = 0;
	struct sph_cfg *overlay = NULL;
	uint16_t *slots;
	uint8_t *used, *eff;
	struct snap *s;

	if (cfg_validate(next, err, errlen) != 0 ||
	    ops_check_ports(ops->cfg, next, err, errlen) != 0)
		goto fail;
	for (unsigned g = 0; g < next->nb_groups; g++)
		nb += next->groups[g].nb_backends;
	if (nb > STATS_MAX_BACKENDS) {
		ops_err(err, errlen, "%u backends: the dataplane takes at most %u", nb,
		        STATS_MAX_BACKENDS);
		goto fail;
	}
	slots = calloc(nb + 1, sizeof(*slots));
	used = calloc(STATS_MAX_BACKENDS, 1);
	if (slots == NULL || used == NULL) {
		free(slots);
		free(used);
		ops_err(err, errlen, "out of memory");
		goto fail;
	}
	/* Known names keep their slot; new ones take a free slot (zeroed when freed). */
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++) {
			int sl = ops_slot_of(ops, next->groups[g].backends[i].name);

			if (sl >= 0) {
				slots[bi] = (uint16_t)sl;
				used[sl] = 1;
			}
		}
	bi = 0;
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++) {
			unsigned sl = 0;

			if (ops_slot_of(ops, next->groups[g].backends[i].name) >= 0)
				continue;
			/* Free: no owner now, not claimed by this generation. Since nb fits,
			 * and every owner not in next is reused only after its reset, one
			 * exists unless owners being removed hold the rest. */
			while (sl < STATS_MAX_BACKENDS &&
			       (used[sl] || ops->slot_name[sl][0] != '\0' || ops->slot_quar[sl]))
				sl++;
			if (sl == STATS_MAX_BACKENDS) {
				free(slots);
				free(used);
				ops_err(err, errlen,
				        "no free counter slot: remove backends in one change and "
				        "add "
				        "them in the next");
				goto fail;
			}
			slots[bi] = (uint16_t)sl;
			used[sl] = 2; /* new owner, named once published */
		}

	/* The snapshot dispatches by the health overlay; the configuration keeps what the
	 * operator wrote. */
	eff = ops_overlay(ops, next, &nb_eff, &overlay);
	s = eff != NULL ? snap_build_trans(ops->dp, overlay != NULL ? overlay : next, slots,
	                                   dp_snap(ops->dp), err, errlen)
	                : NULL;
	if (eff == NULL)
		ops_err(err, errlen, "out of memory");
	cfg_free(overlay);
	if (s == NULL) {
		free(eff);
		free(slots);
		free(used);
		goto fail;
	}
	snap_publish(ops->dp, s); /* returns after the grace period: old snapshot gone */
	ops->window_ns = (uint64_t)next->dialog_window * 1000000000u;
	ops_trans_published(ops, s);
	free(ops->eff);
	ops->eff = eff;
	ops->nb_eff = nb_eff;

	for (unsigned sl = 0; sl < STATS_MAX_BACKENDS; sl++)
		if (!used[sl] && ops->slot_name[sl][0] != '\0') {
			ops_slot_reset(ops, sl);
			if (ops->trans_until_ns != 0)
				ops->slot_quar[sl] = 2;
		}
	bi = 0;
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++)
			if (used[slots[bi]] == 2)
				snprintf(ops->slot_name[slots[bi]], CFG_NAME_MAX, "%s",
				         next->groups[g].backends[i].name);
	free(slots);
	free(used);

	if (next->path == NULL && ops->cfg->path != NULL)
		next->path = strdup(ops->cfg->path);
	cfg_free(ops->cfg);
	ops->cfg = next;
	ops->generation++;
	ops->changed_ns = ops_now_ns();
	if (!ops->stats_fixed)
		ops->stats_interval = next->stats_interval;
	ops_health_targets(ops); /* unchanged backends keep their health */
	return 0;
fail:
	cfg_free(next);
	return -1;
}

/* ---- health checks ---- */

static void
ops_health_params(const struct cfg_health *c, struct health_params *p)
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
ops_health_list(const struct ctl_ops *ops, bool src, unsigned *n)
{
	const struct sph_cfg *cfg = ops->cfg;
	const struct snap *s = dp_snap(ops->dp);
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
ops_health_targets(struct ctl_ops *ops)
{
	struct health_target *t;
	char err[OPS_ERR_MAX];
	unsigned n = 0;

	if (ops->health == NULL)
		return;
	t = ops_health_list(ops, ops->health_src, &n);
	if (t == NULL || health_set_targets(ops->health, t, n, err, sizeof(err)) != 0)
		fprintf(stderr, "siphon: health: targets not updated: %s\n",
		        t == NULL ? "out of memory" : err);
	free(t);
}

int
ctl_ops_health_start(struct ctl_ops *ops, char *err, size_t errlen)
{
	const struct cfg_health *c = &ops->cfg->health;
	struct health_params p;
	struct health_target *t;
	unsigned n = 0;

	if (ops->health != NULL || !c->enabled || c->interval_ms == 0)
		return 0;
	ops_health_params(c, &p);
	/* Probes leave from the balancer's own address when the kernel has it (the port's
	 * exception path gives it one); else from whatever address the kernel picks. */
	t = ops_health_list(ops, true, &n);
	if (t == NULL) {
		ops_err(err, errlen, "health: out of memory");
		return -1;
	}
	ops->health = health_create(&p, t, n, NULL, NULL, err, errlen);
	ops->health_src = ops->health != NULL;
	free(t);
	if (ops->health == NULL) {
		fprintf(stderr,
		        "siphon: health: cannot send from the ports' addresses (%s); the kernel "
		        "chooses the probes' source address\n",
		        err);
		t = ops_health_list(ops, false, &n);
		if (t == NULL) {
			ops_err(err, errlen, "health: out of memory");
			return -1;
		}
		ops->health = health_create(&p, t, n, NULL, NULL, err, errlen);
		free(t);
		if (ops->health == NULL)
			return -1;
	}
	ops->health_seen = health_generation(ops->health);
	if (health_start(ops->health, err, errlen) != 0) {
		health_destroy(ops->health);
		ops->health = NULL;
		return -1;
	}
	metrics_set_health(ops->health);
	return 0;
}

void
ctl_ops_health_stop(struct ctl_ops *ops)
{
	if (ops == NULL || ops->health == NULL)
		return;
	metrics_set_health(NULL); /* no scrape uses it once this returns */
	health_destroy(ops->health);
	ops->health = NULL;
}

bool
ctl_ops_health_on(const struct ctl_ops *ops)
{
	return ops->health != NULL;
}

/* Publish a snapshot of the running configuration with the health overlay in force,
 * when it changes how any backend is dispatched. The configuration is untouched. */
static int
ops_health_apply(struct ctl_ops *ops)
{
	const struct sph_cfg *cfg = ops->cfg;
	struct sph_cfg *overlay = NULL;
	unsigned n = 0, bi = 0;
	char err[OPS_ERR_MAX];
	uint16_t *slots;
	uint8_t *eff;
	struct snap *s;

	eff = ops_overlay(ops, cfg, &n, &overlay);
	if (eff == NULL)
		return -1;
	if (n == ops->nb_eff && memcmp(eff, ops->eff, n) == 0) {
		free(eff);
		cfg_free(overlay);
		return 0;
	}
	slots = calloc(n + 1, sizeof(*slots));
	for (unsigned g = 0; slots != NULL && g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			slots[bi] = (uint16_t)ops_slot_of(ops, cfg->groups[g].backends[i].name);
	s = slots != NULL ? snap_build_trans(ops->dp, overlay != NULL ? overlay : cfg, slots,
	                                     dp_snap(ops->dp), err, sizeof(err))
	                  : NULL;
	if (s == NULL) {
		fprintf(stderr, "siphon: health: cannot apply: %s\n",
		        slots == NULL ? "out of memory" : err);
		free(slots);
		free(eff);
		cfg_free(overlay);
		return -1;
	}
	snap_publish(ops->dp, s);
	ops_trans_published(ops, s);
	bi = 0;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned i = 0; i < cfg->groups[g].nb_backends; i++, bi++)
			if (bi < ops->nb_eff && eff[bi] != ops->eff[bi])
				printf("siphon: health: backend \"%s\" now dispatched %s (was "
				       "%s)\n",
				       cfg->groups[g].backends[i].name, cfg_state_name(eff[bi]),
				       cfg_state_name(ops->eff[bi]));
	fflush(stdout);
	free(ops->eff);
	ops->eff = eff;
	ops->nb_eff = n;
	ops->generation++;
	ops->changed_ns = ops_now_ns();
	free(slots);
	cfg_free(overlay);
	return 0;
}

void
ctl_ops_health_poll(struct ctl_ops *ops)
{
	uint64_t g;

	ops_trans_tick(ops);
	if (ops->health == NULL)
		return;
	g = health_generation(ops->health); /* one atomic load: the usual tick costs this */
	if (g == ops->health_seen)
		return;
	/* On failure (out of memory) the next state change retries. */
	ops->health_seen = g;
	ops_health_apply(ops);
}

/* ---- request arguments ---- */

struct ops_req {
	struct ctl_ops *ops;
	json_t *req;
	json_t *reply; /* {"ok":true, ...} under construction */
	char err[OPS_ERR_MAX];
};

static int __attribute__((format(printf, 2, 3))) req_fail(struct ops_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Every key of the request is "cmd" or one of keys (NULL-terminated). */
static int
req_keys(struct ops_req *r, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(r->req, k, v)
	{
		bool known = strcmp(k, "cmd") == 0;

		for (size_t i = 0; keys != NULL && keys[i] != NULL && !known; i++)
			known = strcmp(k, keys[i]) == 0;
		if (!known) {
			char list[256] = "";
			size_t o = 0;

			for (size_t i = 0; keys != NULL && keys[i] != NULL && o < sizeof(list); i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				                      i ? ", " : "", keys[i]);
			return req_fail(r, "unknown argument \"%.64s\" (%s%s)", k,
			                o ? "known: " : "this command takes none", list);
		}
	}
	return 0;
}

/* A string argument: *out NULL when absent and optional. */
static int
req_str(struct ops_req *r, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(r->req, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return req_fail(r, "argument \"%s\" is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return req_fail(r, "argument \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return req_fail(r, "argument \"%s\" must not hold NUL characters", key);
	*out = json_string_value(v);
	return 0;
}

/* An integer argument in min..max; *present says whether it was given. */
static int
req_int(struct ops_req *r, const char *key, bool required, long long min, long long max,
        long long *out, bool *present)
{
	json_t *v = json_object_get(r->req, key);

	*present = v != NULL;
	if (v == NULL)
		return required ? req_fail(r, "argument \"%s\" is required", key) : 0;
	if (!json_is_integer(v))
		return req_fail(r, "argument \"%s\" must be an integer", key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return req_fail(r, "%s must be %lld..%lld, got %lld", key, min, max, *out);
	return 0;
}

/* ---- lookups on the running configuration ---- */

/* The backend called name: group index and backend index, or -1. */
static int
ops_backend_find(const struct sph_cfg *cfg, const char *name, unsigned *g, unsigned *i)
{
	for (unsigned a = 0; a < cfg->nb_groups; a++)
		for (unsigned b = 0; b < cfg->groups[a].nb_backends; b++)
			if (strcmp(cfg->groups[a].backends[b].name, name) == 0) {
				*g = a;
				*i = b;
				return 0;
			}
	return -1;
}

/* ---- show ---- */

static json_t *
ops_addr_json(const struct cfg_addr *a, uint16_t port)
{
	char buf[CFG_ADDR_STRLEN];

	return json_string(cfg_addr_format(a, port, buf, sizeof(buf)));
}

static int
cmd_show_vips(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cfg = r->ops->cfg;
	json_t *a;

	if (req_keys(r, keys) != 0)
		return -1;
	a = json_array();
	for (unsigned v = 0; v < cfg->nb_vips; v++) {
		const struct cfg_vip *vp = &cfg->vips[v];
		json_t *ports = json_array();

		for (unsigned p = 0; p < vp->nb_ports; p++)
			json_array_append_new(ports, json_integer(vp->ports[p]));
		json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:s}", "address",
		                                   ops_addr_json(&vp->addr, 0), "ports", ports,
		                                   "group", cfg->groups[vp->group].name, "mode",
		                                   cfg_mode_name(vp->mode)));
	}
	json_object_set_new(r->reply, "vips", a);
	return 0;
}

static int
cmd_show_groups(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cfg = r->ops->cfg;
	json_t *a;

	if (req_keys(r, keys) != 0)
		return -1;
	a = json_array();
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		unsigned st[3] = {0, 0, 0}, weight = 0;
		json_t *vips = json_array(), *names = json_array();

		for (unsigned i = 0; i < grp->nb_backends; i++) {
			const struct cfg_backend *b = &grp->backends[i];

			if (b->state < 3)
				st[b->state]++;
			if (b->state == MAGLEV_UP)
				weight += b->weight;
			json_array_append_new(names, json_string(b->name));
		}
		for (unsigned v = 0; v < cfg->nb_vips; v++) {
			char buf[CFG_ADDR_STRLEN];

			if (cfg->vips[v].group != g)
				continue;
			for (unsigned p = 0; p < cfg->vips[v].nb_ports; p++)
				json_array_append_new(
				        vips, json_string(cfg_addr_format(&cfg->vips[v].addr,
				                                          cfg->vips[v].ports[p],
				                                          buf, sizeof(buf))));
		}
		json_array_append_new(
		        a,
		        json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "name", grp->name,
		                  "backends", (json_int_t)grp->nb_backends, "up",
		                  (json_int_t)st[MAGLEV_UP], "drain", (json_int_t)st[MAGLEV_DRAIN],
		                  "down", (json_int_t)st[MAGLEV_DOWN], "weight_up",
		                  (json_int_t)weight, "maglev_size", (json_int_t)cfg->maglev_size,
		                  "members", names, "vips", vips));
	}
	json_object_set_new(r->reply, "groups", a);
	return 0;
}

static json_t *
ops_counters_json(const struct stats_backend *t)
{
	static const char *const cls[STATS_RESP_CLASSES] = {"1xx", "2xx", "3xx",
	                                                    "4xx", "5xx", "6xx"};
	json_t *methods = json_object(), *classes = json_object();
	uint64_t req = 0, resp = 0;

	for (unsigned m = 0; m < SIP_METHOD_COUNT; m++) {
		req += t->requests[m];
		json_object_set_new(methods, sip_method_name(m),
		                    json_integer((json_int_t)t->requests[m]));
	}
	for (unsigned c = 0; c < STATS_RESP_CLASSES; c++) {
		resp += t->responses[c];
		json_object_set_new(classes, cls[c], json_integer((json_int_t)t->responses[c]));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o}", "packets", (json_int_t)t->packets, "bytes",
	                 (json_int_t)t->bytes, "requests", (json_int_t)req, "responses",
	                 (json_int_t)resp, "requests_by_method", methods, "responses_by_class",
	                 classes);
}

/* A backend's health keys: state, last code, round trips (null until the first reply),
 * probe counts; "disabled" and nulls when nothing probes. */
static void
ops_health_json(const struct ctl_ops *ops, json_t *o, const char *name)
{
	struct health_status st;
	bool have = ops->health != NULL && health_get(ops->health, name, &st) == 0;
	bool rtt = have && st.replies > 0;

	json_object_set_new(o, "health",
	                    json_string(ops->health == NULL ? "disabled"
	                                : have              ? health_state_name(st.state)
	                                                    : "unknown"));
	json_object_set_new(o, "last_code",
	                    have && st.last_code != 0 ? json_integer(st.last_code) : json_null());
	json_object_set_new(o, "rtt_last_us",
	                    rtt ? json_integer((json_int_t)st.rtt_last_us) : json_null());
	json_object_set_new(o, "rtt_ewma_us",
	                    rtt ? json_integer((json_int_t)st.rtt_ewma_us) : json_null());
	json_object_set_new(o, "probe_latency_us",
	                    rtt ? json_integer((json_int_t)st.rtt_last_us) : json_null());
	json_object_set_new(o, "probes", have ? json_integer((json_int_t)st.probes) : json_null());
	json_object_set_new(o, "probe_timeouts",
	                    have ? json_integer((json_int_t)st.timeouts) : json_null());
}

static int
cmd_show_backends(struct ops_req *r)
{
	static const char *const keys[] = {"group", "name", NULL};
	const struct sph_cfg *cfg = r->ops->cfg;
	const struct snap *s = dp_snap(r->ops->dp);
	const char *group, *name;
	unsigned bi = 0, shown = 0;
	json_t *a;

	if (req_keys(r, keys) != 0 || req_str(r, "group", false, &group) != 0 ||
	    req_str(r, "name", false, &name) != 0)
		return -1;
	if (group != NULL && cfg_group_find(cfg, group) == NULL)
		return req_fail(r, "group \"%.63s\" is not defined", group);
	a = json_array();
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		const struct snap_group *sg = &s->groups[g];
		uint32_t *share = NULL;

		if (group != NULL && strcmp(group, grp->name) != 0) {
			bi += grp->nb_backends;
			continue;
		}
		/* Each backend's share of the group's Maglev slots. */
		share = calloc(grp->nb_backends + 1, sizeof(*share));
		for (uint32_t k = 0; share != NULL && k < sg->table->size; k++)
			if (sg->table->slot[k] < grp->nb_backends)
				share[sg->table->slot[k]]++;
		for (unsigned i = 0; i < grp->nb_backends; i++, bi++) {
			const struct cfg_backend *b = &grp->backends[i];
			const struct snap_backend *sb = &s->backends[bi];
			const struct nd_entry *nd = &dp_nd(r->ops->dp)->e[sb->nd_idx];
			struct stats_backend t;
			char mac[CFG_MAC_STRLEN], hop[CFG_ADDR_STRLEN];
			uint8_t m[6];
			struct cfg_addr hopa = {.family = nd->family};
			json_t *o;

			if (name != NULL && strcmp(name, b->name) != 0)
				continue;
			memcpy(hopa.a, nd->addr, 16);
			stats_read_backend(r->ops->dp, sb->slot, &t);
			o = json_pack("{s:s,s:s,s:o,s:I,s:I,s:s}", "name", b->name, "group",
			              grp->name, "address", ops_addr_json(&b->addr, 0), "port",
			              (json_int_t)b->port, "weight", (json_int_t)b->weight, "state",
			              cfg_state_name(b->state));
			json_object_set_new(
			        o, "mac",
			        b->has_mac ? json_string(cfg_mac_format(b->mac, mac, sizeof(mac)))
			                   : json_null());
			ops_health_json(r->ops, o, b->name);
			json_object_set_new(
			        o, "effective",
			        json_string(cfg_state_name(bi < r->ops->nb_eff ? r->ops->eff[bi]
			                                                       : b->state)));
			json_object_set_new(
			        o, "next_hop",
			        json_string(cfg_addr_format(&hopa, 0, hop, sizeof(hop))));
			json_object_set_new(o, "neighbor", json_string(nd_state_name(nd->state)));
			json_object_set_new(
			        o, "neighbor_mac",
			        nd_table_mac(dp_nd(r->ops->dp), sb->nd_idx, m)
			                ? json_string(cfg_mac_format(m, mac, sizeof(mac)))
			                : json_null());
			json_object_set_new(o, "egress",
			                    json_string(dp_port_name(r->ops->dp, sb->egress)));
			json_object_set_new(
			        o, "table_slots",
			        json_integer(share != NULL ? (json_int_t)share[i] : -1));
			json_object_set_new(o, "counter_slot", json_integer(sb->slot));
			json_object_set_new(o, "counters", ops_counters_json(&t));
			json_array_append_new(a, o);
			shown++;
		}
		free(share);
	}
	if (name != NULL && shown == 0) {
		json_decref(a);
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	}
	json_object_set_new(r->reply, "backends", a);
	return 0;
}

static int
cmd_show_stats(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	struct dp *dp = r->ops->dp;
	const struct snap *s = dp_snap(dp);
	struct stats_counters t;
	json_t *c = json_object(), *pkt = json_object(), *sip = json_object(), *rx = json_array();

	if (req_keys(r, keys) != 0) {
		json_decref(c), json_decref(pkt), json_decref(sip), json_decref(rx);
		return -1;
	}
	/* One consistent copy per worker (stats.h), and the totals are the sum of those
	 * copies: forwarded <= rx_packets, and rx_by_worker adds up to rx_packets. */
	memset(&t, 0, sizeof(t));
	for (unsigned w = 0; w < dp_nb_workers(dp); w++) {
		struct stats_counters one;

		stats_read(dp, w, &one);
		for (size_t k = 0; k < sizeof(one) / sizeof(uint64_t); k++)
			((uint64_t *)&t)[k] += ((const uint64_t *)&one)[k];
		json_array_append_new(rx, json_integer((json_int_t)one.rx_packets));
	}
	for (unsigned i = 0; i < stats_nb_descs; i++)
		json_object_set_new(
		        c, stats_descs[i].name,
		        json_integer((json_int_t) *
		                     (const uint64_t *)((const char *)&t + stats_descs[i].off)));
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
		json_object_set_new(pkt, pkt_verdict_name(v),
		                    json_integer((json_int_t)t.pkt_drop[v]));
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
		json_object_set_new(sip, sip_verdict_name(v),
		                    json_integer((json_int_t)t.sip_drop[v]));
	json_object_set_new(r->reply, "counters", c);
	json_object_set_new(r->reply, "pkt_drops", pkt);
	json_object_set_new(r->reply, "sip_drops", sip);
	json_object_set_new(r->reply, "rx_by_worker", rx);
	json_object_set_new(r->reply, "workers", json_integer(dp_nb_workers(dp)));
	json_object_set_new(r->reply, "backends", json_integer(s->nb_backends));
	json_object_set_new(r->reply, "vips", json_integer(s->nb_vips));
	json_object_set_new(
	        r->reply, "uptime_s",
	        json_integer((json_int_t)((ops_now_ns() - r->ops->started_ns) / 1000000000u)));
	json_object_set_new(
	        r->reply, "since_change_s",
	        json_integer((json_int_t)((ops_now_ns() - r->ops->changed_ns) / 1000000000u)));
	return 0;
}

static int
cmd_show_config(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (req_keys(r, keys) != 0)
		return -1;
	f = open_memstream(&text, &len);
	if (f == NULL)
		return req_fail(r, "out of memory");
	rc = cfg_write(r->ops->cfg, f);
	fclose(f);
	if (rc != 0) {
		free(text);
		return req_fail(r, "the running configuration cannot be written (a bug)");
	}
	json_object_set_new(r->reply, "path",
	                    r->ops->cfg->path != NULL ? json_string(r->ops->cfg->path)
	                                              : json_null());
	json_object_set_new(r->reply, "config", json_stringn(text, len));
	free(text);
	return 0;
}

/* ---- changes ---- */

static int
ops_commit(struct ops_req *r, struct sph_cfg *next)
{
	if (next == NULL)
		return req_fail(r, "out of memory");
	if (ops_apply(r->ops, next, r->err, sizeof(r->err)) != 0)
		return -1;
	json_object_set_new(r->reply, "generation", json_integer((json_int_t)r->ops->generation));
	return 0;
}

static int
cmd_backend_add(struct ops_req *r)
{
	static const char *const keys[] = {"group",  "name",  "address", "port",
	                                   "weight", "state", "mac",     NULL};
	const char *group, *name, *address, *state, *mac;
	long long port = 0, weight = 1;
	bool has_port, has_weight;
	struct cfg_backend b = {.port = CFG_DEFAULT_PORT, .weight = 1, .state = MAGLEV_UP};
	const struct cfg_group *cg;
	struct sph_cfg *next;
	struct cfg_group *ng;
	struct cfg_backend *nb;
	uint16_t aport = 0;
	int rc;

	if (req_keys(r, keys) != 0 || req_str(r, "group", true, &group) != 0 ||
	    req_str(r, "name", true, &name) != 0 || req_str(r, "address", true, &address) != 0 ||
	    req_str(r, "state", false, &state) != 0 || req_str(r, "mac", false, &mac) != 0 ||
	    req_int(r, "port", false, 1, 65535, &port, &has_port) != 0 ||
	    req_int(r, "weight", false, LLONG_MIN, LLONG_MAX, &weight, &has_weight) != 0)
		return -1;
	if (weight < CFG_WEIGHT_MIN || weight > CFG_WEIGHT_MAX)
		return req_fail(r, "backend \"%.63s\": weight must be %u..%u, got %lld", name,
		                CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, weight);
	cg = cfg_group_find(r->ops->cfg, group);
	if (cg == NULL)
		return req_fail(r, "group \"%.63s\" is not defined", group);
	if (!cfg_name_valid(name))
		return req_fail(r,
		                "backend name must be 1..63 characters of A-Z a-z 0-9 . _ -, got "
		                "\"%.63s\"",
		                name);
	snprintf(b.name, sizeof(b.name), "%s", name);
	rc = cfg_addr_parse(address, &b.addr, &aport);
	if (rc == -2)
		return req_fail(r, "backend \"%s\": address \"%.60s\": port must be 1..65535", name,
		                address);
	if (rc != 0)
		return req_fail(r,
		                "backend \"%s\": address must be an IP address with an optional "
		                ":port, got \"%.60s\"",
		                name, address);
	if (aport != 0 && has_port)
		return req_fail(r,
		                "backend \"%s\": port is given twice: address \"%.60s\" already "
		                "has one",
		                name, address);
	b.port = aport != 0 ? aport : (has_port ? (uint16_t)port : CFG_DEFAULT_PORT);
	b.weight = (uint32_t)weight;
	if (state != NULL) {
		int st = cfg_state_parse(state);

		if (st < 0)
			return req_fail(
			        r, "state must be \"up\", \"drain\" or \"down\", got \"%.20s\"",
			        state);
		b.state = (uint8_t)st;
	}
	if (mac != NULL) {
		if (cfg_mac_parse(mac, b.mac) != 0)
			return req_fail(r,
			                "mac must be six pairs of hex digits like "
			                "\"02:00:00:00:00:21\", got \"%.40s\"",
			                mac);
		b.has_mac = 1;
	}
	next = cfg_dup(r->ops->cfg);
	if (next == NULL)
		return req_fail(r, "out of memory");
	ng = &next->groups[cg - r->ops->cfg->groups];
	nb = realloc(ng->backends, (ng->nb_backends + 1) * sizeof(*nb));
	if (nb == NULL) {
		cfg_free(next);
		return req_fail(r, "out of memory");
	}
	ng->backends = nb;
	nb[ng->nb_backends++] = b;
	return ops_commit(r, next);
}

static int
cmd_backend_remove(struct ops_req *r)
{
	static const char *const keys[] = {"name", NULL};
	struct sph_cfg *next;
	struct cfg_group *g;
	const char *name;
	unsigned gi, bi;

	if (req_keys(r, keys) != 0 || req_str(r, "name", true, &name) != 0)
		return -1;
	if (ops_backend_find(r->ops->cfg, name, &gi, &bi) != 0)
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	if (r->ops->cfg->groups[gi].nb_backends == 1)
		return req_fail(r,
		                "backend \"%s\" is the last of group \"%s\": a group keeps at "
		                "least one backend (set it down instead)",
		                name, r->ops->cfg->groups[gi].name);
	next = cfg_dup(r->ops->cfg);
	if (next == NULL)
		return req_fail(r, "out of memory");
	g = &next->groups[gi];
	memmove(&g->backends[bi], &g->backends[bi + 1],
	        (g->nb_backends - bi - 1) * sizeof(*g->backends));
	g->nb_backends--;
	return ops_commit(r, next);
}

static int
cmd_backend_set(struct ops_req *r, bool weight)
{
	static const char *const wkeys[] = {"name", "weight", NULL};
	static const char *const skeys[] = {"name", "state", NULL};
	struct sph_cfg *next;
	const char *name, *state = NULL;
	long long w = 0;
	bool present;
	unsigned gi, bi;
	int st = 0;

	if (req_keys(r, weight ? wkeys : skeys) != 0 || req_str(r, "name", true, &name) != 0)
		return -1;
	if (weight) {
		if (req_int(r, "weight", true, LLONG_MIN, LLONG_MAX, &w, &present) != 0)
			return -1;
		if (w < CFG_WEIGHT_MIN || w > CFG_WEIGHT_MAX)
			return req_fail(r, "backend \"%.63s\": weight must be %u..%u, got %lld",
			                name, CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, w);
	} else {
		if (req_str(r, "state", true, &state) != 0)
			return -1;
		st = cfg_state_parse(state);
		if (st < 0)
			return req_fail(
			        r, "state must be \"up\", \"drain\" or \"down\", got \"%.20s\"",
			        state);
	}
	if (ops_backend_find(r->ops->cfg, name, &gi, &bi) != 0)
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	next = cfg_dup(r->ops->cfg);
	if (next == NULL)
		return req_fail(r, "out of memory");
	if (weight)
		next->groups[gi].backends[bi].weight = (uint32_t)w;
	else
		next->groups[gi].backends[bi].state = (uint8_t)st;
	return ops_commit(r, next);
}

static int
cmd_backend_weight(struct ops_req *r)
{
	return cmd_backend_set(r, true);
}

static int
cmd_backend_state(struct ops_req *r)
{
	return cmd_backend_set(r, false);
}

static int
cmd_reload(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cur = r->ops->cfg;
	struct sph_cfg *next = NULL;
	json_t *notes;

	if (req_keys(r, keys) != 0)
		return -1;
	if (cur->path == NULL)
		return req_fail(r, "the running configuration was not read from a file");
	if (cfg_load(cur->path, &next, r->err, sizeof(r->err)) != 0)
		return -1;
	if (cfg_equal(cur, next)) {
		cfg_free(next);
		json_object_set_new(r->reply, "changed", json_false());
		json_object_set_new(r->reply, "generation",
		                    json_integer((json_int_t)r->ops->generation));
		return 0;
	}
	notes = json_array();
	if (strcmp(cur->ctl_socket, next->ctl_socket) != 0 || cur->ctl_mode != next->ctl_mode ||
	    strcmp(cur->ctl_group, next->ctl_group) != 0)
		json_array_append_new(notes, json_string("control socket settings take effect at "
		                                         "the next start"));
	if (cur->metrics_port != next->metrics_port ||
	    memcmp(&cur->metrics_addr, &next->metrics_addr, sizeof(cur->metrics_addr)) != 0)
		json_array_append_new(notes, json_string("metrics settings take effect at the next "
		                                         "start"));
	if (memcmp(&cur->health, &next->health, sizeof(cur->health)) != 0)
		json_array_append_new(notes, json_string("health settings take effect at the next "
		                                         "start"));
	if (ops_commit(r, next) != 0) {
		json_decref(notes);
		return -1;
	}
	json_object_set_new(r->reply, "changed", json_true());
	json_object_set_new(r->reply, "notes", notes);
	return 0;
}

/* ---- log level, dispatch ---- */

static const char *const ops_levels[] = {NULL,      "emerg",  "alert", "crit", "err",
                                         "warning", "notice", "info",  "debug"};

static int
cmd_log_level(struct ops_req *r)
{
	static const char *const keys[] = {"level", NULL};
	json_t *v = json_object_get(r->req, "level");
	uint32_t prev = rte_log_get_global_level();
	long long lv = -1;

	if (req_keys(r, keys) != 0)
		return -1;
	if (v == NULL)
		return req_fail(r, "argument \"level\" is required");
	if (json_is_integer(v)) {
		lv = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		for (unsigned i = 1; i < sizeof(ops_levels) / sizeof(ops_levels[0]); i++)
			if (strcmp(s, ops_levels[i]) == 0)
				lv = i;
		if (strcmp(s, "error") == 0)
			lv = RTE_LOG_ERR;
		if (strcmp(s, "warn") == 0)
			lv = RTE_LOG_WARNING;
	}
	if (lv < RTE_LOG_EMERG || lv > RTE_LOG_DEBUG)
		return req_fail(r, "level must be emerg, alert, crit, err, warning, notice, info, "
		                   "debug or 1..8");
	rte_log_set_global_level((uint32_t)lv);
	json_object_set_new(r->reply, "level", json_string(ops_levels[lv]));
	json_object_set_new(r->reply, "previous",
	                    json_string(prev >= 1 && prev <= 8 ? ops_levels[prev] : "unknown"));
	return 0;
}

static int
cmd_dispatch(struct ops_req *r)
{
	static const char *const keys[] = {"call_id", "vip", NULL};
	const struct sph_cfg *cfg = r->ops->cfg;
	const struct snap *s = dp_snap(r->ops->dp);
	const char *call_id, *vip;
	unsigned group = 0;
	int vi = -1;
	char buf[CFG_ADDR_STRLEN], hex[24];

	if (req_keys(r, keys) != 0 || req_str(r, "call_id", true, &call_id) != 0 ||
	    req_str(r, "vip", false, &vip) != 0)
		return -1;
	if (call_id[0] == '\0')
		return req_fail(r, "call_id must not be empty");
	if (vip != NULL) {
		struct cfg_addr a;
		uint16_t port = 0;

		if (cfg_addr_parse(vip, &a, &port) != 0)
			return req_fail(
			        r, "vip must be an address with an optional :port, got \"%.60s\"",
			        vip);
		for (unsigned v = 0; v < cfg->nb_vips && vi < 0; v++) {
			if (cfg->vips[v].addr.family != a.family ||
			    memcmp(cfg->vips[v].addr.a, a.a, 16) != 0)
				continue;
			for (unsigned p = 0; p < cfg->vips[v].nb_ports && vi < 0; p++)
				if (port == 0 || cfg->vips[v].ports[p] == port)
					vi = (int)v;
		}
		if (vi < 0)
			return req_fail(r, "no VIP serves %.60s", vip);
		group = cfg->vips[vi].group;
	} else if (cfg->nb_vips > 0) {
		vi = 0;
		group = cfg->vips[0].group;
	}
	const struct snap_group *g = &s->groups[group];
	uint64_t h = keyhash_calc(&s->kh, call_id, strlen(call_id));
	uint32_t pos = (uint32_t)(((unsigned __int128)h * g->table->size) >> 64);
	uint16_t idx = g->table->slot[pos];

	snprintf(hex, sizeof(hex), "0x%016" PRIx64, h);
	json_object_set_new(r->reply, "call_id", json_string(call_id));
	json_object_set_new(
	        r->reply, "vip",
	        vi >= 0 ? json_string(cfg_addr_format(&cfg->vips[vi].addr, cfg->vips[vi].ports[0],
	                                              buf, sizeof(buf)))
	                : json_null());
	json_object_set_new(r->reply, "group", json_string(cfg->groups[group].name));
	json_object_set_new(r->reply, "hash", json_string(hex));
	json_object_set_new(r->reply, "slot", json_integer(pos));
	json_object_set_new(r->reply, "table_size", json_integer(g->table->size));
	if (idx == MAGLEV_NONE) {
		json_object_set_new(r->reply, "backend", json_null());
		json_object_set_new(r->reply, "reason",
		                    json_string("no backend of the group is up: the message is "
		                                "dropped (no_backend)"));
	} else {
		json_object_set_new(r->reply, "backend", json_string(s->info[g->base + idx].name));
		json_object_set_new(r->reply, "address", json_string(s->info[g->base + idx].addr));
	}
	return 0;
}

/* ---- the command table ---- */

struct ops_cmd {
	const char *name;
	int (*run)(struct ops_req *r);
	const char *help;
};

static int cmd_help(struct ops_req *r);

static const struct ops_cmd ops_cmds[] = {
        {"show-vips", cmd_show_vips, "VIPs: address, ports, group, mode"},
        {"show-groups", cmd_show_groups, "groups: backends by state, weight up, VIPs"},
        {"show-backends", cmd_show_backends,
         "backends [group, name]: state, weight, health, neighbour, counters"},
        {"show-stats", cmd_show_stats, "dataplane counters and drops"},
        {"show-config", cmd_show_config, "the running configuration, as a file"},
        {"backend-add", cmd_backend_add,
         "add a backend: group, name, address [, port, weight, state, mac]"},
        {"backend-remove", cmd_backend_remove, "remove a backend: name"},
        {"backend-weight", cmd_backend_weight, "set a backend's weight: name, weight"},
        {"backend-state", cmd_backend_state, "set a backend's state: name, state"},
        {"reload", cmd_reload, "read the configuration file again and apply it"},
        {"log-level", cmd_log_level, "set DPDK's global log level: level"},
        {"dispatch", cmd_dispatch, "which backend a Call-ID goes to: call_id [, vip]"},
        {"help", cmd_help, "the commands"},
};

static int
cmd_help(struct ops_req *r)
{
	static const char *const keys[] = {NULL};
	json_t *o;

	if (req_keys(r, keys) != 0)
		return -1;
	o = json_object();
	for (size_t i = 0; i < sizeof(ops_cmds) / sizeof(ops_cmds[0]); i++)
		json_object_set_new(o, ops_cmds[i].name, json_string(ops_cmds[i].help));
	json_object_set_new(r->reply, "commands", o);
	return 0;
}

static char *
ops_error_reply(const char *msg)
{
	char ascii[OPS_ERR_MAX];
	size_t i;
	json_t *o;

	/* Messages quote what clients sent, cut to a length: keep them valid UTF-8. */
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(ascii); i++)
		ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
	ascii[i] = '\0';
	o = json_pack("{s:b,s:s}", "ok", 0, "error", ascii);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

char *
ctl_ops_handle(void *arg, const char *req, size_t len)
{
	struct ops_req r = {.ops = arg};
	const struct ops_cmd *cmd = NULL;
	json_error_t je;
	json_t *c;
	char *out;

	r.req = json_loadb(req, len, JSON_REJECT_DUPLICATES, &je);
	if (r.req == NULL) {
		req_fail(&r, "malformed JSON: %s (line %d, column %d)", je.text, je.line,
		         je.column);
		return ops_error_reply(r.err);
	}
	if (!json_is_object(r.req)) {
		json_decref(r.req);
		return ops_error_reply("a request must be a JSON object {\"cmd\": ...}");
	}
	c = json_object_get(r.req, "cmd");
	if (!json_is_string(c)) {
		json_decref(r.req);
		return ops_error_reply("\"cmd\" is required and must be a string");
	}
	for (size_t i = 0; i < sizeof(ops_cmds) / sizeof(ops_cmds[0]) && cmd == NULL; i++)
		if (strcmp(json_string_value(c), ops_cmds[i].name) == 0)
			cmd = &ops_cmds[i];
	if (cmd == NULL) {
		req_fail(&r, "unknown command \"%.64s\" (\"help\" lists them)",
		         json_string_value(c));
		json_decref(r.req);
		return ops_error_reply(r.err);
	}
	r.reply = json_pack("{s:b}", "ok", 1);
	if (r.reply == NULL || cmd->run(&r) != 0) {
		json_decref(r.reply);
		json_decref(r.req);
		return ops_error_reply(r.reply == NULL ? "out of memory" : r.err);
	}
	if (json_object_get(r.reply, "generation") == NULL)
		json_object_set_new(r.reply, "generation",
		                    json_integer((json_int_t)r.ops->generation));
	out = json_dumps(r.reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r.reply);
	json_decref(r.req);
	return out;
}
