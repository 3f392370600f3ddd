/*
 * announce.h - VIP announcement through BIRD 2 (docs/bgp.md). siphon never speaks BGP:
 * it keeps a BIRD include file holding one static route per VIP it can serve now (the
 * dataplane runs and the VIP's group has a backend dispatched up) and, whenever that
 * set changes, asks BIRD over BIRD's own control socket to reconfigure. BIRD announces
 * and withdraws. Main lcore only, but ann_render_metrics(): the conversation with BIRD
 * is a non-blocking state machine stepped once per tick, so a BIRD that is down, slow
 * or refusing is counted and retried and never holds up the daemon.
 */
#ifndef SIPHON_CTL_ANNOUNCE_H
#define SIPHON_CTL_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "siphon/cfg.h"

struct gen;
struct ann;

/** BIRD static protocols the include file defines: the operator's export filters name them. */
#define ANN_PROTO4          "siphon_vips4"
#define ANN_PROTO6          "siphon_vips6"
/** One conversation with BIRD (connect, greeting, configure, reply) must end within this. */
#define ANN_BIRD_TIMEOUT_MS 2000u
/** Wait after a failed conversation or file write before the next try. */
#define ANN_RETRY_MS        1000u
/** Longest reply kept from BIRD; a longer one without its final line is a failure. */
#define ANN_REPLY_MAX       4096u

/**
 * Start announcing as cfg->ann_* says (cfg->ann_file[0] != '\0'). Writes the include
 * file with no route at once and has BIRD read it (waiting ANN_BIRD_TIMEOUT_MS at most,
 * before the dataplane starts), so routes a previous life of the daemon left behind are
 * gone before its exception interface comes back. Creates the file's folder (0755)
 * when missing; a BIRD that is down is no error (retried from ann_tick()). The parameters are read
 * once: a reload does not change them, only the VIPs and backends they apply to.
 * @return the announcer, or NULL with one line in err (the file cannot be written,
 *         out of memory): the daemon then runs without announcing.
 */
struct ann *ann_open(const struct sph_cfg *cfg, char *err, size_t errlen);

/**
 * Once per main loop tick, after gen_tick(): when the generation changed, recompute
 * which VIPs gen's running configuration can serve; rewrite the file (temporary file,
 * then rename(), so BIRD never reads half of one) when that set changed; step the
 * conversation with BIRD. Never blocks.
 */
void ann_tick(struct ann *a, const struct gen *gen, uint64_t now_ns);

/** Announce nothing from now on (graceful shutdown); the next ann_tick() writes it. */
void ann_withdraw(struct ann *a);

/** Whether BIRD has confirmed the file as it is now (nothing pending). */
bool ann_settled(const struct ann *a);

/** VIP addresses announced now (in the file BIRD confirmed). */
unsigned ann_nb_announced(const struct ann *a);

/** The announcer's state for `siphonctl show announce`: a new JSON object, or NULL. */
json_t *ann_json(const struct ann *a);

/**
 * Write the announcement families (siphon_vip_announced, reconfigure counters) in
 * Prometheus text format. Any thread: takes the announcer's own lock. NULL a: nothing.
 */
void ann_render_metrics(struct ann *a, FILE *out);

/**
 * Withdraw everything and give BIRD up to wait_ms to confirm (the only bounded wait:
 * the daemon is stopping anyway), then release. NULL is a no-op.
 */
void ann_close(struct ann *a, unsigned wait_ms);

#endif /* SIPHON_CTL_ANNOUNCE_H */
