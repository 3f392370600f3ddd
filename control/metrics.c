/*
 * metrics.c - Prometheus text exposition (format 0.0.4) of the daemon's counters over
 * HTTP (libmicrohttpd). See metrics.h for the life cycle, docs/metrics.md for every
 * family.
 *
 * Where the numbers come from:
 *  - per-worker counters: stats_read() (include/siphon/stats.h), one consistent copy
 *    per worker and scrape, taken between two of its poll-loop iterations, without a
 *    lock and without making the worker wait.
 *  - per-backend counters: stats_read_backend() under dp_lock(), for the slots of the
 *    backends of the published snapshot. The lock keeps snap_publish() from freeing
 *    the snapshot (and ops from recycling a removed backend's slot) meanwhile.
 *  - group, weight, state: not in the snapshot. metrics_sync() copies them from the
 *    running configuration on the main lcore into a catalog under metrics_lock; a
 *    scrape matches snapshot backends to the catalog by name (names are unique).
 *    In the instant between a publish and the matching sync a renamed/new backend may
 *    be missing from the catalog: it is left out of that one scrape rather than shown
 *    with a wrong group.
 *  - table fingerprints: the snapshot's groups, copied under dp_lock() with the rows.
 *  - the TLS/TCP edge: edge_get_stats() (control/edge.h; atomic counters and jemalloc's
 *    arena figures), under metrics_lock so that metrics_set_edge(NULL) waits for it.
 * All formatting happens after both locks are released, into a memory stream.
 *
 * The HTTP side (the end of the file) keeps bad clients from starving scrapers: limits
 * and deadlines as metrics.h states them, a watchdog thread that cuts connections past
 * their deadline, libmicrohttpd's log rate-limited, every refusal and cut counted.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "siphon/cfg.h"
#include "siphon/log.h"
#include "siphon/dp.h"
#include "siphon/maglev.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "health.h"
#include "announce.h"
#include "edge.h"
#include "metrics.h"

#ifndef SIPHON_VERSION
#define SIPHON_VERSION "unknown"
#endif

#define METRICS_PATH         "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MEMORY_LIMIT (32u * 1024u) /* per connection: request headers only */
#define METRICS_WATCH_MS     100u          /* watchdog period: how late a deadline may be */

/* A backend as the configuration describes it (what the snapshot does not hold). */
struct metrics_backend {
	char name[CFG_NAME_MAX];
	char group[CFG_NAME_MAX];
	uint32_t weight;
	uint8_t state; /* enum maglev_state */
};

/* What a scrape copied of one snapshot backend, under the locks. */
struct metrics_row {
	struct metrics_backend be;
	struct stats_backend st; /* summed over workers */
	bool has_health;         /* hs is valid: health checks run and probe it */
	struct health_status hs;
};

/* What a scrape copied of one snapshot group: its tables' fingerprints. */
struct metrics_group {
	char name[CFG_NAME_MAX];
	uint64_t fingerprint;
	uint64_t prev_fingerprint;
	bool has_prev; /* a transition window is open: prev_fingerprint is valid */
	bool panic;    /* dispatching over every backend as if healthy (panic_threshold) */
};

/* What a scrape copied of the health checker. */
struct metrics_health {
	bool on;
	struct health_stats st;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER; /* the catalog below */
static struct metrics_backend *metrics_cat;                      /* in configuration order */
static unsigned metrics_nb_cat;
static uint64_t metrics_generation;            /* of the catalog; read under metrics_lock */
static char metrics_kcv[CFG_KEY_CHECK_STRLEN]; /* the key's check value; under metrics_lock */
static bool metrics_synced;                    /* main lcore only */
static struct MHD_Daemon *metrics_mhd;         /* main lcore only */
static struct dp *metrics_dp;
static struct health *metrics_health; /* under metrics_lock; NULL: no health checks */
static struct ann *metrics_ann;       /* under metrics_lock; NULL: not announcing */
static struct edge *metrics_edge;     /* under metrics_lock; NULL: no edge */

/* MHD's messages: into the start-up error while starting, to stderr afterwards. The
 * HTTP thread may log while metrics_start() returns, hence the atomic pointer. */
static char *metrics_log_err;
static size_t metrics_log_errlen;

static const char *const metrics_classes[STATS_RESP_CLASSES] = {"1xx", "2xx", "3xx",
                                                                "4xx", "5xx", "6xx"};

/* Why the endpoint refused or cut a client: siphon_metrics_http_errors_total{reason}. */
enum metrics_http_err {
	METRICS_ERR_BAD_REQUEST = 0, /* malformed or oversized: libmicrohttpd answered 4xx */
	METRICS_ERR_LIMIT,           /* over the per-address (or total) connection limit */
	METRICS_ERR_TIMEOUT,         /* request or reply not done by its deadline */
	METRICS_ERR_OTHER,           /* any other failure libmicrohttpd reported */
	METRICS_ERR_COUNT,
};
static const char *const metrics_err_names[METRICS_ERR_COUNT] = {"bad_request", "limit", "timeout",
                                                                 "other"};
static uint64_t metrics_http_errors[METRICS_ERR_COUNT]; /* __atomic, any thread */

/* ---- catalog ---- */

int
metrics_sync(const struct sph_cfg *cfg, uint64_t generation)
{
	struct metrics_backend *cat, *old;
	unsigned n = 0, k = 0;

	if (metrics_synced && generation == metrics_generation)
		return 0; /* main lcore is the only writer: reading it unlocked is fine */
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		n += cfg->groups[g].nb_backends;
	cat = calloc(n + 1, sizeof(*cat));
	if (cat == NULL)
		return -1;
	for (unsigned g = 0; g < cfg->nb_groups; g++)
		for (unsigned b = 0; b < cfg->groups[g].nb_backends; b++, k++) {
			const struct cfg_backend *cb = &cfg->groups[g].backends[b];

			snprintf(cat[k].name, sizeof(cat[k].name), "%s", cb->name);
			snprintf(cat[k].group, sizeof(cat[k].group), "%s", cfg->groups[g].name);
			cat[k].weight = cb->weight;
			cat[k].state = cb->state;
		}

	char kcv[CFG_KEY_CHECK_STRLEN];
	if (cfg_key_check(cfg, kcv) != 0)
		kcv[0] = '\0';
	pthread_mutex_lock(&metrics_lock);
	old = metrics_cat;
	metrics_cat = cat;
	metrics_nb_cat = n;
	metrics_generation = generation;
	memcpy(metrics_kcv, kcv, sizeof(kcv));
	pthread_mutex_unlock(&metrics_lock);
	metrics_synced = true;
	free(old);
	return 0;
}

void
metrics_set_health(struct health *h)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_health = h;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_set_announce(struct ann *a)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_ann = a;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_free(void)
{
	pthread_mutex_lock(&metrics_lock);
	free(metrics_cat);
	metrics_cat = NULL;
	metrics_nb_cat = 0;
	metrics_synced = false;
	pthread_mutex_unlock(&metrics_lock);
}

/* Catalog entry of name; hint is where it is when catalog and snapshot agree. Caller
 * holds metrics_lock. */
static const struct metrics_backend *
metrics_cat_find(const char *name, uint32_t hint)
{
	if (hint < metrics_nb_cat && strcmp(metrics_cat[hint].name, name) == 0)
		return &metrics_cat[hint];
	for (unsigned i = 0; i < metrics_nb_cat; i++)
		if (strcmp(metrics_cat[i].name, name) == 0)
			return &metrics_cat[i];
	return NULL;
}

/*
 * Copy every snapshot backend known to the catalog, with its counters summed over the
 * workers, and every group's fingerprints (*groups, *nb_groups of them; malloc'd) from the
 * same snapshot. Lock order: ctl_lock, then metrics_lock (metrics_sync() takes only the
 * latter). @return the rows (*nb of them; malloc'd, may be empty), or NULL.
 */
static struct metrics_row *
metrics_collect(struct dp *dp, unsigned *nb, uint64_t *generation, struct metrics_health *mh,
                struct metrics_group **groups, unsigned *nb_groups)
{
	struct metrics_row *rows;
	struct metrics_group *grp;
	const struct snap *s;
	unsigned n = 0, ng;

	dp_lock(dp);
	s = dp_snap(dp);
	ng = s != NULL ? s->nb_groups : 0;
	rows = calloc((s != NULL ? s->nb_backends : 0) + 1, sizeof(*rows));
	grp = calloc(ng + 1, sizeof(*grp));
	if (rows == NULL || grp == NULL) {
		dp_unlock(dp);
		free(rows);
		free(grp);
		return NULL;
	}
	for (unsigned g = 0; g < ng; g++) {
		const struct snap_group *sg = &s->groups[g];

		snprintf(grp[g].name, sizeof(grp[g].name), "%s", sg->name);
		grp[g].fingerprint = sg->fingerprint;
		grp[g].prev_fingerprint = sg->prev_fingerprint;
		grp[g].has_prev = sg->prev != NULL;
		grp[g].panic = sg->panic != 0;
	}
	pthread_mutex_lock(&metrics_lock);
	*generation = metrics_generation;
	/* The checker is read under metrics_lock: metrics_set_health(NULL) waits for us
	 * before the daemon frees it. health_get() takes its own lock briefly. */
	mh->on = metrics_health != NULL;
	if (mh->on)
		health_get_stats(metrics_health, &mh->st);
	for (uint32_t b = 0; s != NULL && b < s->nb_backends; b++) {
		const struct metrics_backend *c = metrics_cat_find(s->info[b].name, b);

		if (c == NULL)
			continue;
		rows[n].be = *c;
		rows[n].has_health = metrics_health != NULL &&
		                     health_get(metrics_health, c->name, &rows[n].hs) == 0;
		stats_read_backend(dp, s->backends[b].slot, &rows[n].st);
		n++;
	}
	pthread_mutex_unlock(&metrics_lock);
	dp_unlock(dp);
	*nb = n;
	*groups = grp;
	*nb_groups = ng;
	return rows;
}

/* ---- rendering ---- */

/* A label value as the exposition format wants it: \ " and newline escaped. */
static void
metrics_label(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s=\"", name);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void
metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{group="...",backend="..."[,extra="..."]} */
static void
metrics_backend_series(FILE *out, const char *name, const struct metrics_backend *be,
                       const char *extra, const char *extra_value)
{
	fprintf(out, "%s{", name);
	metrics_label(out, "group", be->group);
	fputc(',', out);
	metrics_label(out, "backend", be->name);
	if (extra != NULL) {
		fputc(',', out);
		metrics_label(out, extra, extra_value);
	}
	fputs("} ", out);
}

/*
 * The scalar counters that are no drop each make a family siphon_<name>_total{worker},
 * with the counter's STATS_COUNTERS meaning as HELP: a counter added there is exported
 * without a change here. These predate that rule and keep their names and help.
 */
static const struct {
	const char *counter, *family, *help;
} metrics_named[] = {
        {"rx_packets", "siphon_rx_packets_total", "Frames received, by worker."},
        {"rx_bytes", "siphon_rx_bytes_total", "Bytes of frames received, by worker."},
        {"tx_packets", "siphon_tx_packets_total",
         "Frames the NIC accepted for sending, by worker."},
        {"tx_bytes", "siphon_tx_bytes_total",
         "Bytes of frames the NIC accepted for sending, by worker."},
        {"tx_drop", "siphon_tx_dropped_total",
         "Frames the NIC refused (TX ring full) and siphon freed, by worker."},
        {"nd_reply", "siphon_nd_replies_total",
         "ARP/ND requests for siphon's addresses answered, by worker."},
        {"nd_learn", "siphon_nd_learned_total",
         "Neighbour (IP, MAC) pairs learnt and handed to the main lcore."},
        {"learn_ring_full", "siphon_nd_learn_lost_total",
         "Learnt neighbour pairs lost: the ring to the main lcore was full."},
};

/* The dispatch drops are the scalar counters documented as "drop: ...": they are
 * siphon_drops_total{layer="dp"} series, not families of their own. */
static bool
metrics_is_drop(const char *doc)
{
	return strncmp(doc, "drop", 4) == 0;
}

/* One scalar counter (at offset off of struct stats_counters) of every worker's copy c:
 * family{worker="i"} value. */
static void
metrics_counter(FILE *out, const struct stats_counters *c, unsigned nw, const char *name,
                const char *doc, size_t off)
{
	char family[128], help[512];
	const char *h = NULL;
	size_t k = 0;

	for (unsigned i = 0; i < SPH_ARRAY_SIZE(metrics_named) && h == NULL; i++)
		if (strcmp(metrics_named[i].counter, name) == 0) {
			snprintf(family, sizeof(family), "%s", metrics_named[i].family);
			h = metrics_named[i].help;
		}
	if (h == NULL) {
		snprintf(family, sizeof(family), "siphon_%s_total", name);
		/* "Meaning." with \ and newline escaped, as HELP text wants. */
		for (const char *p = doc; *p != '\0' && k + 3 < sizeof(help); p++) {
			if (*p == '\\' || *p == '\n') {
				help[k++] = '\\';
				help[k++] = *p == '\n' ? 'n' : '\\';
			} else {
				help[k++] = p == doc ? (char)toupper((unsigned char)*p) : *p;
			}
		}
		help[k++] = '.';
		help[k] = '\0';
		h = help;
	}
	metrics_family(out, family, "counter", h);
	for (unsigned w = 0; w < nw; w++)
		fprintf(out, "%s{worker=\"%u\"} %" PRIu64 "\n", family, w,
		        *(const uint64_t *)((const char *)&c[w] + off));
}

static void
metrics_drop(FILE *out, unsigned worker, const char *layer, const char *reason, uint64_t v)
{
	fprintf(out, "siphon_drops_total{worker=\"%u\",layer=\"%s\",", worker, layer);
	metrics_label(out, "reason", reason);
	fprintf(out, "} %" PRIu64 "\n", v);
}

static void
metrics_render_workers(FILE *out, struct dp *dp)
{
	unsigned nw = dp_nb_workers(dp);
	struct stats_counters *c = calloc(nw + 1, sizeof(*c));

	if (c == NULL)
		return;
	for (unsigned w = 0; w < nw; w++)
		stats_read(dp, w, &c[w]);
	for (unsigned i = 0; i < stats_nb_descs; i++)
		if (!metrics_is_drop(stats_descs[i].doc))
			metrics_counter(out, c, nw, stats_descs[i].name, stats_descs[i].doc,
			                stats_descs[i].off);

	/* Every reason, zeros included: a series that appears only at its first drop
	 * makes rate() and increase() miss that first drop. */
	metrics_family(out, "siphon_drops_total", "counter",
	               "Frames dropped, by worker, layer (pkt: frame decoder, sip: SIP scanner, "
	               "dp: dispatch) and reason.");
	for (unsigned w = 0; w < nw; w++) {
		for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
			metrics_drop(out, w, "pkt", pkt_verdict_name(v), c[w].pkt_drop[v]);
		for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
			if (sip_verdict_policy(v) == SIP_POLICY_DROP)
				metrics_drop(out, w, "sip", sip_verdict_name(v), c[w].sip_drop[v]);
		for (unsigned i = 0; i < stats_nb_descs; i++)
			if (metrics_is_drop(stats_descs[i].doc))
				metrics_drop(out, w, "dp", stats_descs[i].name,
				             *(const uint64_t *)((const char *)&c[w] +
				                                 stats_descs[i].off));
	}
	metrics_family(out, "siphon_sip_anomalies_total", "counter",
	               "Defects of messages forwarded all the same, in fields no dispatch "
	               "decision reads (the backend judges them), by worker and reason.");
	for (unsigned w = 0; w < nw; w++)
		for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
			if (sip_verdict_policy(v) == SIP_POLICY_ANOMALY) {
				fprintf(out, "siphon_sip_anomalies_total{worker=\"%u\",", w);
				metrics_label(out, "reason", sip_verdict_name(v));
				fprintf(out, "} %" PRIu64 "\n", c[w].sip_anomaly[v]);
			}
	free(c);
}

static void
metrics_render_backends(FILE *out, const struct metrics_row *r, unsigned n)
{
	metrics_family(out, "siphon_backend_packets_total", "counter",
	               "Frames forwarded to the backend.");
	for (unsigned i = 0; i < n; i++) {
		metrics_backend_series(out, "siphon_backend_packets_total", &r[i].be, NULL, NULL);
		fprintf(out, "%" PRIu64 "\n", r[i].st.packets);
	}
	metrics_family(out, "siphon_backend_bytes_total", "counter",
	               "Bytes forwarded to the backend, as received (before any encapsulation).");
	for (unsigned i = 0; i < n; i++) {
		metrics_backend_series(out, "siphon_backend_bytes_total", &r[i].be, NULL, NULL);
		fprintf(out, "%" PRIu64 "\n", r[i].st.bytes);
	}
	metrics_family(out, "siphon_backend_requests_total", "counter",
	               "SIP requests forwarded to the backend, by method (OTHER: unknown ones).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned m = 0; m < SIP_METHOD_COUNT; m++) {
			metrics_backend_series(out, "siphon_backend_requests_total", &r[i].be,
			                       "method", sip_method_name(m));
			fprintf(out, "%" PRIu64 "\n", r[i].st.requests[m]);
		}
	metrics_family(out, "siphon_backend_responses_total", "counter",
	               "SIP responses forwarded to the backend, by status class.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned c = 0; c < STATS_RESP_CLASSES; c++) {
			metrics_backend_series(out, "siphon_backend_responses_total", &r[i].be,
			                       "class", metrics_classes[c]);
			fprintf(out, "%" PRIu64 "\n", r[i].st.responses[c]);
		}
	metrics_family(out, "siphon_backend_up", "gauge",
	               "1 when the backend takes new calls (state up), else 0.");
	for (unsigned i = 0; i < n; i++) {
		metrics_backend_series(out, "siphon_backend_up", &r[i].be, NULL, NULL);
		fprintf(out, "%d\n", r[i].be.state == MAGLEV_UP);
	}
	metrics_family(out, "siphon_backend_state", "gauge",
	               "1 for the backend's configured state (up, drain, down), 0 for the others.");
	for (unsigned i = 0; i < n; i++)
		for (uint8_t st = MAGLEV_UP; st <= MAGLEV_DOWN; st++) {
			metrics_backend_series(out, "siphon_backend_state", &r[i].be, "state",
			                       cfg_state_name(st));
			fprintf(out, "%d\n", r[i].be.state == st);
		}
	metrics_family(out, "siphon_backend_weight", "gauge",
	               "The backend's configured Maglev weight.");
	for (unsigned i = 0; i < n; i++) {
		metrics_backend_series(out, "siphon_backend_weight", &r[i].be, NULL, NULL);
		fprintf(out, "%" PRIu32 "\n", r[i].be.weight);
	}
}

/*
 * One info series per table in force: the fingerprint is a label, not the value, because a
 * sample is a float64 and would keep only 53 of its 64 bits; as a label it is exact, the
 * same 16 hex digits `siphonctl show groups` prints, and alerts compare instances with
 * count by (group) (count by (group, fingerprint) (...)) > 1 (docs/metrics.md).
 */
static void
metrics_render_groups(FILE *out, const struct metrics_group *g, unsigned n)
{
	char fp[17];

	metrics_family(out, "siphon_group_table_info", "gauge",
	               "Always 1; the group's Maglev table fingerprint is a label (table current, "
	               "and previous while a transition window is open).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned prev = 0; prev <= g[i].has_prev; prev++) {
			fputs("siphon_group_table_info{", out);
			metrics_label(out, "group", g[i].name);
			fprintf(out, ",table=\"%s\",", prev ? "previous" : "current");
			snprintf(fp, sizeof(fp), "%016" PRIx64,
			         prev ? g[i].prev_fingerprint : g[i].fingerprint);
			metrics_label(out, "fingerprint", fp);
			fputs("} 1\n", out);
		}
	/* An alarm to alert on (siphon_group_panic == 1), from the snapshot in force. */
	metrics_family(out, "siphon_group_panic", "gauge",
	               "1 while the group is in panic mode: fewer than its panic_threshold of its "
	               "backends are healthy, so it dispatches over all of them as if healthy.");
	for (unsigned i = 0; i < n; i++) {
		fputs("siphon_group_panic{", out);
		metrics_label(out, "group", g[i].name);
		fprintf(out, "} %d\n", g[i].panic ? 1 : 0);
	}
}

/* Health checks: per backend state, round trips and probe counts, and the checker's
 * counters. Nothing when health checks are off; no latency sample for a backend that
 * never answered (a missing sample is not a 0 s round trip). */
static void
metrics_render_health(FILE *out, const struct metrics_row *r, unsigned n,
                      const struct metrics_health *mh)
{
	static const char *const kinds[] = {"last", "ewma"};
	const struct health_stats *st = &mh->st;

	if (!mh->on)
		return;
	metrics_family(out, "siphon_backend_health", "gauge",
	               "1 for the backend's health-check state (unknown, up, down, overloaded), "
	               "0 for the others.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned s = 0; s < HEALTH_STATE_COUNT && r[i].has_health; s++) {
			metrics_backend_series(out, "siphon_backend_health", &r[i].be, "state",
			                       health_state_name(s));
			fprintf(out, "%d\n", r[i].hs.state == s);
		}
	metrics_family(out, "siphon_backend_probe_latency_seconds", "gauge",
	               "Health probe round trip of the backend: the last one, and the smoothed "
	               "one (EWMA, alpha 1/8).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < 2 && r[i].has_health && r[i].hs.replies > 0; k++) {
			metrics_backend_series(out, "siphon_backend_probe_latency_seconds",
			                       &r[i].be, "kind", kinds[k]);
			fprintf(out, "%.6f\n",
			        (double)(k == 0 ? r[i].hs.rtt_last_us : r[i].hs.rtt_ewma_us) / 1e6);
		}
#define METRICS_HB(name, field, help)                                                              \
	do {                                                                                       \
		metrics_family(out, name, "counter", help);                                        \
		for (unsigned i = 0; i < n; i++) {                                                 \
			if (!r[i].has_health)                                                      \
				continue;                                                          \
			metrics_backend_series(out, name, &r[i].be, NULL, NULL);                   \
			fprintf(out, "%" PRIu64 "\n", r[i].hs.field);                              \
		}                                                                                  \
	} while (0)
	METRICS_HB("siphon_backend_probes_total", probes, "Health probes sent to the backend.");
	METRICS_HB("siphon_backend_probe_replies_total", replies,
	           "Final responses to the backend's health probes.");
	METRICS_HB("siphon_backend_probe_timeouts_total", timeouts,
	           "Health probes of the backend without a final response in time.");
#undef METRICS_HB
	metrics_family(out, "siphon_health_probes_total", "counter",
	               "Health probes handed to the kernel.");
	fprintf(out, "siphon_health_probes_total %" PRIu64 "\n", st->sent);
	metrics_family(out, "siphon_health_send_errors_total", "counter",
	               "Health probes that could not be sent (each a probe failure).");
	fprintf(out, "siphon_health_send_errors_total %" PRIu64 "\n", st->send_errors);
	metrics_family(out, "siphon_health_received_total", "counter",
	               "Datagrams the health checker read, by what they were.");
	fprintf(out,
	        "siphon_health_received_total{kind=\"matched\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"provisional\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"malformed\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"request\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"unmatched\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"late\"} %" PRIu64 "\n"
	        "siphon_health_received_total{kind=\"wrong_source\"} %" PRIu64 "\n",
	        st->matched, st->provisional, st->malformed, st->requests, st->unmatched, st->late,
	        st->wrong_source);
	metrics_family(out, "siphon_health_recv_errors_total", "counter",
	               "Failed reads of the health checker's sockets.");
	fprintf(out, "siphon_health_recv_errors_total %" PRIu64 "\n", st->recv_errors);
	metrics_family(out, "siphon_health_state_changes_total", "counter",
	               "Health-check state changes of all backends.");
	fprintf(out, "siphon_health_state_changes_total %" PRIu64 "\n", st->changes);
}

/* The endpoint's own counters: every reason, zeros included. */
static void
metrics_render_http(FILE *out)
{
	metrics_family(out, "siphon_metrics_http_errors_total", "counter",
	               "Clients the metrics endpoint refused or cut, by reason (bad_request: "
	               "malformed or oversized request, limit: over a connection limit, timeout: "
	               "request or reply not done in time, other: any other failure).");
	for (unsigned r = 0; r < METRICS_ERR_COUNT; r++)
		fprintf(out, "siphon_metrics_http_errors_total{reason=\"%s\"} %" PRIu64 "\n",
		        metrics_err_names[r],
		        __atomic_load_n(&metrics_http_errors[r], __ATOMIC_RELAXED));
}

/* The HEP mirror (docs/protection.md#mirroring-hep), summed over workers; zeros without
 * a collector, so a dashboard's queries hold either way. */
static void
metrics_render_mirror(FILE *out, struct dp *dp)
{
	struct dp_mirror_counters c;

	dp_mirror_read(dp, &c);
	const struct {
		const char *reason;
		uint64_t v;
	} drops[] = {{"no_mbuf", c.no_mbuf},
	             {"tx_full", c.tx_full},
	             {"budget", c.budget},
	             {"too_big", c.too_big},
	             {"no_route", c.no_route}};
	metrics_family(out, "siphon_mirror_packets_total", "counter",
	               "HEPv3 mirror frames the NIC accepted for the collector.");
	fprintf(out, "siphon_mirror_packets_total %" PRIu64 "\n", c.sent);
	metrics_family(out, "siphon_mirror_bytes_total", "counter", "Bytes of those frames.");
	fprintf(out, "siphon_mirror_bytes_total %" PRIu64 "\n", c.bytes);
	metrics_family(
	        out, "siphon_mirror_drops_total", "counter",
	        "Messages not mirrored, by reason (no_mbuf: pool empty, tx_full: NIC TX ring "
	        "full, budget: the burst's mirror budget spent, too_big: over the MTU or "
	        "HEP's 65535 bytes, no_route: collector's MAC unknown); forwarding is never "
	        "affected.");
	for (size_t i = 0; i < SPH_ARRAY_SIZE(drops); i++)
		fprintf(out, "siphon_mirror_drops_total{reason=\"%s\"} %" PRIu64 "\n",
		        drops[i].reason, drops[i].v);
	metrics_family(out, "siphon_mirror_marked_calls_total", "counter",
	               "Calls a rule marked for mirroring, and of those the marks that evicted a "
	               "call still marked (evicted=\"true\").");
	fprintf(out, "siphon_mirror_marked_calls_total{evicted=\"false\"} %" PRIu64 "\n",
	        c.marked - c.mark_full);
	fprintf(out, "siphon_mirror_marked_calls_total{evicted=\"true\"} %" PRIu64 "\n",
	        c.mark_full);
}

/* ---- the TLS/TCP edge (docs/edge.md#metrics) ---- */

void
metrics_set_edge(struct edge *e)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_edge = e;
	pthread_mutex_unlock(&metrics_lock);
}

/* One labelled series of a family whose HELP and TYPE came before. */
static void
metrics_edge_row(FILE *out, const char *name, const char *label, const char *value, uint64_t v)
{
	fprintf(out, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, value, v);
}

/* The edge's counters (edge.h's EDGE_STATS) as families by what an operator asks: how
 * many connections and in what state, why they ended, how handshakes went, what was
 * relayed, which limit was hit, what the memory costs. Every series, zeros included, so
 * rate() has a start. */
static void
metrics_render_edge(FILE *out, const struct edge_stats *s)
{
	const char *n;

	metrics_family(out, n = "siphon_edge_connections", "gauge",
	               "Client connections open now, by state (handshake: TLS not yet done).");
	metrics_edge_row(out, n, "state", "handshake", s->conns_handshake);
	metrics_edge_row(out, n, "state", "established", s->conns_open - s->conns_handshake);
	metrics_family(out, n = "siphon_edge_flows", "gauge",
	               "Open connections that registered: a flow token of theirs is in a Path.");
	fprintf(out, "%s %" PRIu64 "\n", n, s->flows);
	metrics_family(out, n = "siphon_edge_accepted_total", "counter",
	               "Connections accepted (before any limit).");
	fprintf(out, "%s %" PRIu64 "\n", n, s->conns_accepted);
	metrics_family(out, n = "siphon_edge_refused_total", "counter",
	               "Connections accepted and closed at once, by the limit reached.");
	metrics_edge_row(out, n, "reason", "max_conns", s->refused_total);
	metrics_edge_row(out, n, "reason", "max_conns_per_ip", s->refused_per_ip);
	metrics_edge_row(out, n, "reason", "handshakes_per_sec_per_ip", s->refused_hs_per_ip);
	metrics_family(out, n = "siphon_edge_closed_total", "counter",
	               "Connections closed, by the first reason (docs/edge.md#metrics).");
	const struct {
		const char *why;
		uint64_t v;
	} closed[] = {
	        {"peer", s->closed_peer},
	        {"handshake", s->closed_handshake},
	        {"handshake_timeout", s->closed_handshake_timeout},
	        {"idle", s->closed_idle},
	        {"slow", s->closed_slow},
	        {"header_size", s->closed_header_size},
	        {"msg_size", s->closed_msg_size},
	        {"no_length", s->closed_no_length},
	        {"parse", s->closed_parse},
	        {"rate", s->closed_rate},
	        {"write", s->closed_write},
	        {"out_full", s->closed_out_full},
	        {"tls", s->closed_tls},
	};
	for (size_t i = 0; i < SPH_ARRAY_SIZE(closed); i++)
		metrics_edge_row(out, n, "reason", closed[i].why, closed[i].v);
	metrics_family(out, n = "siphon_edge_handshakes_total", "counter",
	               "TLS handshakes completed, by kind (resumed: with a session ticket).");
	metrics_edge_row(out, n, "kind", "full", s->handshakes_ok - s->handshakes_resumed);
	metrics_edge_row(out, n, "kind", "resumed", s->handshakes_resumed);
	metrics_family(out, n = "siphon_edge_handshake_failures_total", "counter",
	               "TLS handshakes that failed, by reason (not_tls: no TLS record; "
	               "client_cert: missing or not verified; proto: no common version, suite "
	               "or algorithm; peer: the client left; timeout: handshake_timeout_ms).");
	uint64_t known =
	        s->hs_fail_not_tls + s->hs_fail_client_cert + s->hs_fail_proto + s->hs_fail_peer;
	metrics_edge_row(out, n, "reason", "not_tls", s->hs_fail_not_tls);
	metrics_edge_row(out, n, "reason", "client_cert", s->hs_fail_client_cert);
	metrics_edge_row(out, n, "reason", "proto", s->hs_fail_proto);
	metrics_edge_row(out, n, "reason", "peer", s->hs_fail_peer);
	metrics_edge_row(out, n, "reason", "timeout", s->closed_handshake_timeout);
	metrics_edge_row(out, n, "reason", "other",
	                 s->closed_handshake > known ? s->closed_handshake - known : 0);
	metrics_family(out, n = "siphon_edge_messages_total", "counter",
	               "SIP messages relayed, by direction (in: from clients; out: down client "
	               "connections; to_backend, from_backend: the UDP side).");
	metrics_edge_row(out, n, "direction", "in", s->msgs_in);
	metrics_edge_row(out, n, "direction", "out", s->to_client);
	metrics_edge_row(out, n, "direction", "to_backend", s->to_backend);
	metrics_edge_row(out, n, "direction", "from_backend", s->from_backend);
	metrics_family(out, n = "siphon_edge_bytes_total", "counter",
	               "Octets of client connections after TLS, by direction.");
	metrics_edge_row(out, n, "direction", "in", s->bytes_in);
	metrics_edge_row(out, n, "direction", "out", s->bytes_out);
	metrics_family(out, n = "siphon_edge_keepalives_total", "counter",
	               "Double-CRLF pings answered (RFC 5626 keep-alives).");
	fprintf(out, "%s %" PRIu64 "\n", n, s->keepalives);
	metrics_family(out, n = "siphon_edge_flow_failed_total", "counter",
	               "Requests from backends answered 430 Flow Failed: dead or forged flow.");
	fprintf(out, "%s %" PRIu64 "\n", n, s->flow_failed);
	metrics_family(out, n = "siphon_edge_dropped_total", "counter",
	               "Messages dropped without closing, by reason (no_backend: none usable; "
	               "too_big: no room for the edge's headers; "
	               "backend_refused: over a datagram; backend_unroutable: from a backend, "
	               "unparseable or for no flow; client_response: no Via of the flow's or a "
	               "next hop that is no backend).");
	metrics_edge_row(out, n, "reason", "no_backend", s->no_backend);
	metrics_edge_row(out, n, "reason", "too_big", s->too_big);
	metrics_edge_row(out, n, "reason", "backend_refused", s->to_backend_failed);
	metrics_edge_row(out, n, "reason", "backend_unroutable", s->backend_drop);
	metrics_edge_row(out, n, "reason", "client_response", s->client_resp_drop);
	metrics_family(out, n = "siphon_edge_limits_hit_total", "counter",
	               "Times an edge limit was hit, by its configuration key (output: the "
	               "unsent-output bound of a client that does not read).");
	const struct {
		const char *key;
		uint64_t v;
	} lim[] = {
	        {"max_conns", s->refused_total},
	        {"max_conns_per_ip", s->refused_per_ip},
	        {"max_header", s->closed_header_size},
	        {"max_message", s->closed_msg_size},
	        {"max_msgs_per_sec", s->closed_rate},
	        {"handshake_timeout_ms", s->closed_handshake_timeout},
	        {"message_timeout_ms", s->closed_slow},
	        {"idle_timeout_s", s->closed_idle},
	        {"output", s->closed_out_full},
	        {"handshakes_per_sec", s->accept_paused},
	        {"handshakes_per_sec_per_ip", s->refused_hs_per_ip},
	        {"registers_per_sec", s->register_503},
	};
	for (size_t i = 0; i < SPH_ARRAY_SIZE(lim); i++)
		metrics_edge_row(out, n, "limit", lim[i].key, lim[i].v);
	/* Storm control (issue 9): a storm shows as pauses and 503s, not as closes. */
	metrics_family(out, n = "siphon_edge_accept_paused_total", "counter",
	               "Times the edge stopped accepting, handshakes_per_sec spent: new "
	               "connections waited in the listen backlog.");
	fprintf(out, "%s %" PRIu64 "\n", n, s->accept_paused);
	metrics_family(out, n = "siphon_edge_register_503_total", "counter",
	               "REGISTERs over registers_per_sec, answered 503 with Retry-After by the "
	               "edge; their connections stay.");
	fprintf(out, "%s %" PRIu64 "\n", n, s->register_503);
	metrics_family(out, n = "siphon_edge_too_many_hops_total", "counter",
	               "Requests the edge answered itself, relaying them to no one: Max-Forwards "
	               "0 (483) or malformed (400).");
	fprintf(out, "%s %" PRIu64 "\n", n, s->too_many_hops);
	metrics_family(out, n = "siphon_edge_retransmissions_total", "counter",
	               "Client requests on the UDP hop to the backends, by what the edge did "
	               "(sent: sent again, no response yet; timeout: none within 64 T1, the "
	               "client, if still connected, got 408; untracked: sent once only, the "
	               "table was full).");
	metrics_edge_row(out, n, "result", "sent", s->rtx_sent);
	metrics_edge_row(out, n, "result", "timeout", s->rtx_timeout);
	metrics_edge_row(out, n, "result", "untracked", s->rtx_untracked);
	metrics_family(out, n = "siphon_edge_transactions", "gauge",
	               "Client requests waiting for a backend's response now, kept for "
	               "retransmission.");
	fprintf(out, "%s %" PRIu64 "\n", n, s->rtx_pending);
	metrics_family(
	        out, n = "siphon_edge_tls_reloads_total", "counter",
	        "Certificate reloads, by result (refused: a bad file, the old ones stayed).");
	metrics_edge_row(out, n, "result", "done", s->tls_reloads);
	metrics_edge_row(out, n, "result", "refused", s->tls_reload_failed);
	metrics_family(out, n = "siphon_edge_memory_bytes", "gauge",
	               "The edge's jemalloc arena (OpenSSL's allocations included): allocated, "
	               "and resident in RAM.");
	metrics_edge_row(out, n, "kind", "allocated", s->mem_allocated);
	metrics_edge_row(out, n, "kind", "resident", s->mem_resident);
	metrics_family(out, n = "siphon_edge_memory_per_connection_bytes", "gauge",
	               "Allocated octets of the arena per open connection (0 with none); "
	               "includes the fixed connection table and buffers.");
	fprintf(out, "%s %" PRIu64 "\n", n,
	        s->conns_open != 0 ? s->mem_allocated / s->conns_open : 0);
}

/* ---- operator rules (docs/protection.md#rules-hyperscan) ---- */

struct metrics_rule {
	char name[CFG_NAME_MAX];
	struct snap_rule_stats st;
};

/* siphon_rule_matches_total and siphon_rule_last_match_timestamp_seconds, per rule of
 * the published snapshot: copied under dp_lock(), written after. */
static void
metrics_render_rules(FILE *out, struct dp *dp)
{
	struct metrics_rule *r = NULL;
	unsigned n;

	dp_lock(dp);
	n = snap_rules_count(dp_snap(dp));
	if (n > 0)
		r = calloc(n, sizeof(*r));
	for (unsigned i = 0; r != NULL && i < n; i++) {
		snprintf(r[i].name, sizeof(r[i].name), "%s", snap_rule_name(dp_snap(dp), i));
		snap_rule_stats(dp_snap(dp), i, &r[i].st);
	}
	dp_unlock(dp);
	if (r == NULL)
		return;
	metrics_family(out, "siphon_rule_matches_total", "counter",
	               "Initial requests an operator rule matched, all workers; carried across "
	               "rule changes by rule name.");
	for (unsigned i = 0; i < n; i++) {
		fputs("siphon_rule_matches_total{", out);
		metrics_label(out, "rule", r[i].name);
		fprintf(out, "} %" PRIu64 "\n", r[i].st.matches);
	}
	metrics_family(out, "siphon_rule_last_match_timestamp_seconds", "gauge",
	               "Unix time of the rule's latest match; 0: none yet.");
	for (unsigned i = 0; i < n; i++) {
		fputs("siphon_rule_last_match_timestamp_seconds{", out);
		metrics_label(out, "rule", r[i].name);
		fprintf(out, "} %.3f\n", (double)r[i].st.last_ns / 1e9);
	}
	free(r);
}

int
metrics_render(struct dp *dp, FILE *out)
{
	struct metrics_health mh = {0};
	struct metrics_group *groups = NULL;
	struct metrics_row *rows;
	uint64_t generation = 0;
	unsigned n = 0, ng = 0;

	rows = metrics_collect(dp, &n, &generation, &mh, &groups, &ng);
	if (rows == NULL)
		return -1;
	metrics_render_workers(out, dp);
	metrics_render_backends(out, rows, n);
	metrics_render_groups(out, groups, ng);
	free(groups);
	metrics_render_health(out, rows, n, &mh);
	free(rows);
	metrics_render_rules(out, dp);
	metrics_family(out, "siphon_snapshot_generation", "gauge",
	               "Configuration generation in force: 1 at start, +1 per applied change.");
	fprintf(out, "siphon_snapshot_generation %" PRIu64 "\n", generation);
	metrics_family(out, "siphon_workers", "gauge", "Worker lcores forwarding packets.");
	fprintf(out, "siphon_workers %u\n", dp_nb_workers(dp));
	metrics_family(out, "siphon_build_info", "gauge", "Always 1; the version is a label.");
	fprintf(out, "siphon_build_info{version=\"%s\"} 1\n", SIPHON_VERSION);
	pthread_mutex_lock(&metrics_lock);
	if (metrics_kcv[0] != '\0') {
		metrics_family(out, "siphon_hash_key_info", "gauge",
		               "Always 1; the hash key's check value (cfg_key_check()) is a label: "
		               "equal on instances with the same key.");
		fprintf(out, "siphon_hash_key_info{check=\"%s\"} 1\n", metrics_kcv);
	}
	pthread_mutex_unlock(&metrics_lock);
	metrics_render_http(out);
	metrics_render_mirror(out, dp);
	/* Under metrics_lock: metrics_set_announce(NULL) waits for us before it is freed. */
	pthread_mutex_lock(&metrics_lock);
	ann_render_metrics(metrics_ann, out);
	pthread_mutex_unlock(&metrics_lock);
	/* Under metrics_lock: metrics_set_edge(NULL) waits for us before the edge stops. */
	pthread_mutex_lock(&metrics_lock);
	if (metrics_edge != NULL) {
		struct edge_stats es;

		edge_get_stats(metrics_edge, &es);
		metrics_render_edge(out, &es);
	}
	pthread_mutex_unlock(&metrics_lock);
	return ferror(out) ? -1 : 0;
}

/* ---- HTTP: connections and their deadlines ---- */

/*
 * One live connection, as the watchdog sees it. The slot is taken when libmicrohttpd
 * reports the connection started and freed when it reports it closed, both under
 * metrics_conn_lock; libmicrohttpd reports the close before it closes the socket, so
 * while a slot holds an fd that fd is the connection's and shutdown() on it is safe.
 * The watchdog shuts a late connection down rather than closing it: libmicrohttpd sees
 * the end of the stream and cleans up as for any client that left.
 */
struct metrics_conn {
	int fd;            /* -1: free */
	uint64_t deadline; /* monotonic ms */
	bool served;       /* a request was answered on it: a later silence is keep-alive */
	bool replying;     /* headers in, reply not yet sent */
	bool cut;          /* shut down by the watchdog, waiting for libmicrohttpd */
};

static pthread_mutex_t metrics_conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_conn metrics_conns[METRICS_CONN_LIMIT]; /* under metrics_conn_lock */
static pthread_cond_t metrics_watch_cv;                       /* CLOCK_MONOTONIC */
static bool metrics_watch_stop;                               /* under metrics_conn_lock */
static pthread_t metrics_watch_thread;
static bool metrics_watch_running; /* main lcore only */

static void
metrics_count(enum metrics_http_err why)
{
	__atomic_fetch_add(&metrics_http_errors[why], 1, __ATOMIC_RELAXED);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection starts (its request deadline runs) or
 * ends. HTTP thread. */
static void
metrics_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_conn *mc = *socket_context;
	const union MHD_ConnectionInfo *ci;

	(void)cls;
	pthread_mutex_lock(&metrics_conn_lock);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (mc != NULL)
			mc->fd = -1;
		*socket_context = NULL;
	} else if ((ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL) {
		/* libmicrohttpd admits no more than METRICS_CONN_LIMIT, so a slot is free;
		 * were none, the connection would only lack the deadlines. */
		for (unsigned i = 0; i < METRICS_CONN_LIMIT && *socket_context == NULL; i++)
			if (metrics_conns[i].fd < 0) {
				metrics_conns[i] = (struct metrics_conn){
				        .fd = ci->connect_fd,
				        .deadline = (sph_now_ns() / 1000000u) +
				                    METRICS_REQUEST_TIMEOUT_MS};
				*socket_context = &metrics_conns[i];
			}
	}
	pthread_mutex_unlock(&metrics_conn_lock);
}

/* The connection's slot; NULL if it has none. */
static struct metrics_conn *
metrics_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* A request's headers are in: its reply has METRICS_REPLY_TIMEOUT_MS. HTTP thread. */
static void
metrics_conn_replying(struct MHD_Connection *c)
{
	struct metrics_conn *mc = metrics_conn_of(c);

	pthread_mutex_lock(&metrics_conn_lock);
	if (mc != NULL) {
		mc->replying = true;
		mc->deadline = (sph_now_ns() / 1000000u) + METRICS_REPLY_TIMEOUT_MS;
	}
	pthread_mutex_unlock(&metrics_conn_lock);
}

/* MHD_OPTION_NOTIFY_COMPLETED: a request is over; the next one on the connection has
 * METRICS_REQUEST_TIMEOUT_MS for its headers. HTTP thread. */
static void
metrics_conn_completed(void *cls, struct MHD_Connection *c, void **state,
                       enum MHD_RequestTerminationCode toe)
{
	struct metrics_conn *mc = metrics_conn_of(c);

	(void)cls;
	(void)state;
	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) /* the backstop fired first */
		metrics_count(METRICS_ERR_TIMEOUT);
	pthread_mutex_lock(&metrics_conn_lock);
	if (mc != NULL) {
		mc->served |= toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
		mc->replying = false;
		mc->deadline = (sph_now_ns() / 1000000u) + METRICS_REQUEST_TIMEOUT_MS;
	}
	pthread_mutex_unlock(&metrics_conn_lock);
}

static void metrics_log_flush(uint64_t now);

/* The watchdog: every METRICS_WATCH_MS, cut the connections past their deadline.
 * A cut counts as a timeout unless it only ends the keep-alive of a connection that
 * was served and is waiting, silent, for a next request: that is no error. */
static void *
metrics_watch(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&metrics_conn_lock);
	while (!metrics_watch_stop) {
		uint64_t now = (sph_now_ns() / 1000000u), wake = now + METRICS_WATCH_MS;
		struct timespec ts = {.tv_sec = (time_t)(wake / 1000u),
		                      .tv_nsec = (long)(wake % 1000u) * 1000000L};

		for (unsigned i = 0; i < METRICS_CONN_LIMIT; i++) {
			struct metrics_conn *mc = &metrics_conns[i];

			if (mc->fd < 0 || mc->cut || now < mc->deadline)
				continue;
			shutdown(mc->fd, SHUT_RDWR);
			mc->cut = true;
			if (!mc->served || mc->replying)
				metrics_count(METRICS_ERR_TIMEOUT);
		}
		/* stderr may block (a full pipe): not while libmicrohttpd waits for the lock. */
		pthread_mutex_unlock(&metrics_conn_lock);
		metrics_log_flush(now);
		pthread_mutex_lock(&metrics_conn_lock);
		if (!metrics_watch_stop)
			pthread_cond_timedwait(&metrics_watch_cv, &metrics_conn_lock, &ts);
	}
	pthread_mutex_unlock(&metrics_conn_lock);
	return NULL;
}

/* ---- HTTP: requests ---- */

static enum MHD_Result
metrics_reply(struct MHD_Connection *c, unsigned status, const char *text, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* MHD calls this once with the headers, then for any body, then to respond. */
static enum MHD_Result
metrics_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                const char *version, const char *upload, size_t *upload_len, void **state)
{
	static int seen; /* marker: the headers have been seen */
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		*state = &seen;
		metrics_conn_replying(c);
		return MHD_YES;
	}
	if (*upload_len != 0) { /* a body nobody asked for: skip it, answer at the end */
		*upload_len = 0;
		return MHD_YES;
	}
	/* HEAD is GET without a body (MHD leaves the body out); everything else is 405. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
		                     "GET, HEAD");
	if (strcmp(url, METRICS_PATH) != 0)
		return metrics_reply(c, MHD_HTTP_NOT_FOUND, "not found: try " METRICS_PATH "\n",
		                     NULL);

	out = open_memstream(&text, &len);
	if (out == NULL)
		return metrics_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	if (metrics_render(metrics_dp, out) != 0 || fclose(out) != 0) {
		free(text);
		return metrics_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n", NULL);
	}
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* ---- HTTP: libmicrohttpd's log ---- */

/* Under metrics_log_lock: when the last line went out (0: never), how many messages
 * were held back since. */
static pthread_mutex_t metrics_log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t metrics_log_last;
static uint64_t metrics_log_held;

/* What a libmicrohttpd message reports: an enum metrics_http_err, or -1 for a message
 * to print but not count. libmicrohttpd has no other channel for these events, so its
 * wording decides; one it does not word as below counts as "other". */
static int
metrics_classify(const char *fmt)
{
	/* A connection that ended inside a request: either the watchdog cut it (counted
	 * there as a timeout) or the client gave up, which is no failure of ours. */
	if (strstr(fmt, "closed when reading request") != NULL)
		return -1;
	if (strstr(fmt, "connection limit") != NULL)
		return METRICS_ERR_LIMIT;
	if (strstr(fmt, "Error processing request") != NULL ||
	    strstr(fmt, "Content-Length") != NULL)
		return METRICS_ERR_BAD_REQUEST;
	return METRICS_ERR_OTHER;
}

/* Print the count of held-back messages once their interval is over (watchdog). */
static void
metrics_log_flush(uint64_t now)
{
	pthread_mutex_lock(&metrics_log_lock);
	if (metrics_log_held > 0 && now - metrics_log_last >= METRICS_LOG_INTERVAL_MS) {
		sph_log(SPH_LOG_WARNING,
		        "metrics: %" PRIu64 " more messages suppressed (at most one line "
		        "per %u ms; siphon_metrics_http_errors_total counts them all)",
		        metrics_log_held, METRICS_LOG_INTERVAL_MS);
		metrics_log_held = 0;
		metrics_log_last = now;
	}
	pthread_mutex_unlock(&metrics_log_lock);
}

/*
 * MHD's messages: into the start-up error while starting; afterwards each is counted
 * and at most one line per METRICS_LOG_INTERVAL_MS reaches stderr (any client can make
 * libmicrohttpd complain, and a log must not be a client's to fill).
 */
static void
metrics_logger(void *cls, const char *fmt, va_list ap)
{
	char *err = __atomic_load_n(&metrics_log_err, __ATOMIC_ACQUIRE);
	char line[320];
	uint64_t now;
	size_t l;
	int why;

	(void)cls;
	if (err != NULL) { /* starting: the first message is the reason */
		if (err[0] == '\0')
			vsnprintf(err, metrics_log_errlen, fmt, ap);
		return;
	}
	why = metrics_classify(fmt);
	if (why >= 0)
		metrics_count((enum metrics_http_err)why);
	now = (sph_now_ns() / 1000000u);
	pthread_mutex_lock(&metrics_log_lock);
	if (metrics_log_last != 0 && now - metrics_log_last < METRICS_LOG_INTERVAL_MS) {
		metrics_log_held++;
		pthread_mutex_unlock(&metrics_log_lock);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	l = strlen(line);
	while (l > 0 && line[l - 1] == '\n')
		line[--l] = '\0';
	if (metrics_log_held > 0)
		sph_log(SPH_LOG_WARNING, "metrics: %s (%" PRIu64 " more suppressed before this)",
		        line, metrics_log_held);
	else
		sph_log(SPH_LOG_WARNING, "metrics: %s", line);
	metrics_log_held = 0;
	metrics_log_last = now;
	pthread_mutex_unlock(&metrics_log_lock);
}

/* Start the watchdog with every slot free. Main lcore. @return 0 or an errno. */
static int
metrics_watch_start(void)
{
	pthread_condattr_t ca;
	int rc;

	for (unsigned i = 0; i < METRICS_CONN_LIMIT; i++)
		metrics_conns[i] = (struct metrics_conn){.fd = -1};
	metrics_watch_stop = false;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&metrics_watch_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return rc;
	rc = pthread_create(&metrics_watch_thread, NULL, metrics_watch, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&metrics_watch_cv);
		return rc;
	}
	metrics_watch_running = true;
	return 0;
}

static void
metrics_watch_end(void)
{
	if (!metrics_watch_running)
		return;
	pthread_mutex_lock(&metrics_conn_lock);
	metrics_watch_stop = true;
	pthread_cond_signal(&metrics_watch_cv);
	pthread_mutex_unlock(&metrics_conn_lock);
	pthread_join(metrics_watch_thread, NULL);
	pthread_cond_destroy(&metrics_watch_cv);
	metrics_watch_running = false;
}

int
metrics_start(struct dp *dp, const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	struct cfg_addr a;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	uint16_t port;
	static char why[256]; /* static: a late log line from the HTTP thread stays in bounds */
	size_t l;

	if (metrics_mhd != NULL) {
		snprintf(err, errlen, "metrics: already serving");
		return -1;
	}
	if (cfg_addr_parse(listen, &a, &port) != 0 || port == 0) {
		snprintf(err, errlen, "metrics: listen \"%s\": want address:port", listen);
		return -1;
	}
	if (a.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a.a + 12, 4); /* stored as ::ffff:a.b.c.d */
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a.a, 16);
		flags |= MHD_USE_IPv6;
	}

	metrics_dp = dp;
	errno = metrics_watch_start();
	if (errno != 0) {
		snprintf(err, errlen, "metrics: cannot start the connection watchdog: %s",
		         strerror(errno));
		return -1;
	}
	why[0] = '\0';
	metrics_log_errlen = sizeof(why);
	__atomic_store_n(&metrics_log_err, why, __ATOMIC_RELEASE);
	/* The HTTP thread is created here, by the main lcore's thread, and inherits its
	 * CPU affinity: it shares the main lcore's core and never preempts a worker. */
	errno = 0;
	/* The logger must come first, or MHD logs its own complaint about that. */
	metrics_mhd = MHD_start_daemon(
	        flags, port, NULL, NULL, metrics_handler, NULL, MHD_OPTION_EXTERNAL_LOGGER,
	        metrics_logger, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_LIMIT,
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_CONN_PER_IP,
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT,
	        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
	        MHD_OPTION_NOTIFY_CONNECTION, metrics_conn_notify, NULL,
	        MHD_OPTION_NOTIFY_COMPLETED, metrics_conn_completed, NULL, MHD_OPTION_END);
	__atomic_store_n(&metrics_log_err, NULL, __ATOMIC_RELEASE);
	if (metrics_mhd == NULL) {
		metrics_watch_end();
		l = strlen(why);
		while (l > 0 && (why[l - 1] == '\n' || why[l - 1] == '.'))
			why[--l] = '\0';
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", listen,
		         why[0] != '\0' ? why
		         : errno != 0   ? strerror(errno)
		                        : "unknown error");
		return -1;
	}
	return 0;
}

void
metrics_stop(void)
{
	if (metrics_mhd == NULL)
		return;
	MHD_stop_daemon(metrics_mhd); /* joins the HTTP thread: no scrape runs after this */
	metrics_mhd = NULL;
	metrics_watch_end(); /* after: every connection is closed, no slot holds an fd */
}
