/*
 * metrics.h - the Prometheus endpoint: GET /metrics in text exposition format 0.0.4.
 *
 * The daemon's counters (include/siphon/stats.h, one block per worker) and its backends
 * (the published snapshot, plus names, groups, weights and states copied from the
 * running configuration) rendered as Prometheus families, served by libmicrohttpd on
 * a thread of its own. That thread inherits the main lcore's CPU affinity and never
 * runs on a worker core; it never writes dataplane state, and it takes dp->ctl_lock
 * only for as long as it takes to sum the counters of the backends of the snapshot.
 * docs/metrics.md lists every family and how to query it.
 *
 * Life cycle, all calls on the main lcore but metrics_render():
 *   metrics_sync(cfg, generation)   after setup, and whenever the configuration changes
 *   metrics_start(dp, "addr:port")  once, after the snapshot is published
 *   ...                             scrapes are answered on the HTTP thread
 *   metrics_stop()                  before the dataplane is torn down
 */
#ifndef SIPHON_CTL_METRICS_H
#define SIPHON_CTL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "siphon/cfg.h"

struct dp;
struct health;

/** Most connections served at once: a scraper or two, and an operator's curl. */
#define METRICS_CONN_LIMIT   16u
/** Seconds an idle or slow connection is kept before it is closed. */
#define METRICS_CONN_TIMEOUT 10u

/**
 * Listen on listen ("127.0.0.1:9100", "[::1]:9100", "0.0.0.0:9100"; the port is
 * required) and serve dp's metrics: GET (or HEAD) /metrics gets 200, any other path
 * 404, any other method 405. One daemon per process.
 * @return 0, or -1 with one line in err (bad address, address in use, already started).
 */
int metrics_start(struct dp *dp, const char *listen, char *err, size_t errlen);

/** Stop serving and close the socket; waits for the HTTP thread. Idempotent. */
void metrics_stop(void);

/**
 * Copy what the snapshot lacks from the running configuration: each backend's group,
 * weight and state, and the configuration generation (siphon_snapshot_generation).
 * Cheap when generation is the one already synced: call it every main loop tick.
 * Main lcore. @return 0, or -1 when out of memory (the previous copy stays).
 */
int metrics_sync(const struct sph_cfg *cfg, uint64_t generation);

/**
 * The health checker whose results scrapes show (siphon_backend_health,
 * siphon_backend_probe_latency_seconds, probe counters); NULL: none (health checks
 * off), and no such family is emitted. Setting NULL waits for a scrape in progress, so
 * the caller may free the checker once it returns. Any thread.
 */
void metrics_set_health(struct health *h);

/**
 * Write dp's metrics to out in text exposition format 0.0.4 (what a scrape returns).
 * Any thread but a worker; briefly takes dp->ctl_lock. Used by the HTTP handler and
 * callable on its own (tests, debugging). @return 0, or -1 (out of memory, write error).
 */
int metrics_render(struct dp *dp, FILE *out);

/** Release what metrics_sync() copied (after metrics_stop()). */
void metrics_free(void);

#endif /* SIPHON_CTL_METRICS_H */
