/*
 * metrics.h - the Prometheus endpoint: GET /metrics in text exposition format 0.0.4.
 *
 * The daemon's counters (include/siphon/stats.h, one block per worker) and its backends
 * (the published snapshot, plus names, groups, weights and states copied from the
 * running configuration) rendered as Prometheus families, served by libmicrohttpd on
 * a thread of its own, with a second one that enforces the deadlines below. Both
 * inherit the main lcore's CPU affinity and never run on a worker core. Neither writes
 * dataplane state; the HTTP one takes dp->ctl_lock only for as long as it takes to sum
 * the counters of the backends of the snapshot.
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
struct ann;

/*
 * Bad clients. A scrape is one short request on a connection that is kept alive for
 * the next one; a client that holds a connection without completing a request in
 * time loses it, so idle and slowloris clients cannot starve the scrapers:
 *  - at most METRICS_CONN_LIMIT connections, METRICS_CONN_PER_IP from one address
 *    (more from one address: accepted and closed at once; more in all: they wait in
 *    the listen backlog until a slot frees, which the deadlines below make quick);
 *  - a request's headers must be complete METRICS_REQUEST_TIMEOUT_MS after the
 *    connection opened or the previous reply ended, whatever it trickles meanwhile;
 *  - its reply must be handed to the kernel METRICS_REPLY_TIMEOUT_MS after that;
 *  - libmicrohttpd's own idle timeout, METRICS_CONN_TIMEOUT s, is the backstop.
 * Every refusal and cut is counted (siphon_metrics_http_errors_total{reason}), and
 * libmicrohttpd's complaints reach stderr at most once per METRICS_LOG_INTERVAL_MS,
 * the next line saying how many were suppressed. docs/metrics.md has the rules.
 */
/** Most connections served at once: 8 busy sources, each at its own limit, and more. */
#define METRICS_CONN_LIMIT         128u
/** Most connections from one source address: a Prometheus (or proxy) and a curl. */
#define METRICS_CONN_PER_IP        8u
/** Time for a request's headers (ms): a scraper sends them at once; 3 s leave room
 *  for a lost segment's retransmissions. */
#define METRICS_REQUEST_TIMEOUT_MS 3000u
/** Time for the reply, headers received to last byte sent (ms): Prometheus's default
 *  scrape_timeout, after which the scraper has given up anyway. */
#define METRICS_REPLY_TIMEOUT_MS   10000u
/** Seconds without a byte either way after which libmicrohttpd closes (backstop). */
#define METRICS_CONN_TIMEOUT       10u
/** At most one stderr line per this many milliseconds. */
#define METRICS_LOG_INTERVAL_MS    1000u

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
 * The announcer whose state scrapes show (siphon_vip_announced, the reconfigure
 * counters; control/announce.h); NULL: none, no such family. Setting NULL waits for a
 * scrape in progress, so the caller may free the announcer once it returns. Any thread.
 */
void metrics_set_announce(struct ann *a);

struct edge;

/**
 * The TLS/TCP edge whose counters and memory scrapes show (siphon_edge_*; control/edge.h);
 * NULL: no edge, no such family. Setting NULL waits for a scrape in progress, so the
 * caller may stop the edge once it returns. Any thread.
 */
void metrics_set_edge(struct edge *e);

/**
 * Write dp's metrics to out in text exposition format 0.0.4 (what a scrape returns).
 * Any thread but a worker; briefly takes dp->ctl_lock. Used by the HTTP handler and
 * callable on its own (tests, debugging). @return 0, or -1 (out of memory, write error).
 */
int metrics_render(struct dp *dp, FILE *out);

/** Release what metrics_sync() copied (after metrics_stop()). */
void metrics_free(void);

#endif /* SIPHON_CTL_METRICS_H */
