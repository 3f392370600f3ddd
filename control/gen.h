/*
 * gen.h - generations: the running configuration and the one path that changes it.
 *
 * struct gen owns the running configuration. Every change (add, remove, weight, state,
 * reload) follows one path, gen_apply(): validate the next configuration whole
 * (cfg_validate()), assign counter slots, build a snapshot from it off the worker cores
 * (snap_build_trans(), lowered by the health overlay), publish that with RCU
 * (snap_publish(): the old snapshot is freed after the workers' grace period), and only
 * then make it the running configuration and count a generation. Any failure on the way
 * leaves the running configuration and the published snapshot untouched and says why.
 *
 * Every snapshot is built from the published one, so a change that moves keys opens a
 * transition window during which dialogs in progress keep their backend
 * (docs/dialogs.md); its length is the configuration's dialog_window, as it was when the
 * window opened. Counters follow backends across generations: each backend name keeps
 * a counter slot (stats_worker.backend[]) for as long as it exists.
 *
 * Main lcore only (it builds snapshots, which write the neighbour table). The commands
 * that call it are cmd.h's.
 */
#ifndef SIPHON_CTL_GEN_H
#define SIPHON_CTL_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

struct dp;
struct gen;
struct health;

/**
 * Take over cfg, whose snapshot dp already publishes (built by snap_build(): counter
 * slot i for the i-th backend, the assignment gen starts from). stats_interval < 0:
 * follow the configuration's stats_interval across reloads; else fixed (command line).
 * @return the context (generation 1), or NULL (out of memory; cfg not taken).
 */
struct gen *gen_create(struct dp *dp, struct sph_cfg *cfg, long stats_interval);

/** Release the context and the running configuration. NULL is a no-op. */
void gen_free(struct gen *gen);

/**
 * Make next the running configuration (see above). Takes next (freed on failure).
 * @return 0, or -1 with the reason in err and nothing changed.
 */
int gen_apply(struct gen *gen, struct sph_cfg *next, char *err, size_t errlen);

/** The running configuration (valid until the next change). */
const struct sph_cfg *gen_cfg(const struct gen *gen);

/** The generation now running: 1 at start, +1 per applied change. */
uint64_t gen_generation(const struct gen *gen);

/** Seconds between statistics prints now in force. */
unsigned gen_stats_interval(const struct gen *gen);

/** The dataplane it publishes to. */
struct dp *gen_dp(const struct gen *gen);

/** The health checker, or NULL when health checks are off. */
struct health *gen_health(const struct gen *gen);

/**
 * The state the i-th backend of the running configuration (group then file order) is
 * dispatched with: its configured state lowered by its health; configured when i is
 * out of range.
 */
uint8_t gen_dispatch_state(const struct gen *gen, unsigned i, uint8_t configured);

/** Seconds since start, and since the last applied change. */
uint64_t gen_uptime_s(const struct gen *gen);
uint64_t gen_since_change_s(const struct gen *gen);

/**
 * Start the health checker the running configuration asks for (health.enabled; a
 * no-op when it is off): SIP OPTIONS to every backend from a thread of its own, each
 * probe bound to its egress port's address when the kernel has it, else from the
 * address the kernel picks (said on stderr). Call once, after the first snapshot is
 * published. Every applied change then updates its targets; backends it finds down
 * leave the tables through gen_tick(). Health parameters changed by a reload take
 * effect at the next start.
 * @return 0, or -1 with one line in err (the daemon runs on without health checks).
 */
int gen_health_start(struct gen *gen, char *err, size_t errlen);

/**
 * Once per main loop tick: close the transition window when it is over (publish the
 * dispatch without previous tables, empty the affinity table) or rotate the affinity
 * table's banks (docs/dialogs.md); one comparison when no window is open. Then, when a
 * backend's health changed (one atomic load when none did), publish a snapshot that
 * dispatches every backend with its configured state lowered by its health (down: out
 * of the tables; overloaded: drain; an operator's drain or down always wins). The
 * running configuration is not changed (show config stays what the operator wrote);
 * the generation counts up when a snapshot is published.
 */
void gen_tick(struct gen *gen);

/** Stop and free the health checker (gen_free() does it too). Idempotent. */
void gen_health_stop(struct gen *gen);

/** Whether health checks run. */
bool gen_health_on(const struct gen *gen);

#endif /* SIPHON_CTL_GEN_H */
