/*
 * ops.h - the control plane's commands: what a control socket request does.
 *
 * Every snapshot is built from the published one (snap_build_trans()), so a change that
 * moves keys opens a transition window during which dialogs in progress keep their
 * backend (docs/dialogs.md); its length is the configuration's dialog_window, as it
 * was when the window opened.
 *
 * ctl_ops owns the running configuration. Every change (add, remove, weight, state,
 * reload) follows one path: copy the running configuration, edit the copy, validate
 * it whole (cfg_validate()), build a snapshot from it off the worker cores
 * (snap_build_slots()), publish that with RCU (snap_publish(): the old snapshot is
 * freed after the workers' grace period), and only then make the copy the running
 * configuration and count a generation. Any failure on the way leaves the running
 * configuration and the published snapshot untouched and is replied with its reason.
 *
 * Counters follow backends across generations: each backend name keeps a counter slot
 * (stats_worker.backend[]) for as long as it exists; a removed backend's slot is zeroed
 * after the grace period and only then reused.
 *
 * Main lcore only (it builds snapshots, which write the neighbour table). Requests and
 * replies are one line of JSON each; docs/control.md documents every command.
 */
#ifndef SIPHON_CTL_OPS_H
#define SIPHON_CTL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

struct dp;
struct ctl_ops;

/**
 * Take over cfg, whose snapshot dp already publishes (built by snap_build(): counter
 * slot i for the i-th backend, the assignment ctl_ops starts from). stats_interval < 0:
 * follow the configuration's stats_interval across reloads; else fixed (command line).
 * @return the context (generation 1), or NULL (out of memory; cfg not taken).
 */
struct ctl_ops *ctl_ops_create(struct dp *dp, struct sph_cfg *cfg, long stats_interval);

/** Release the context and the running configuration. NULL is a no-op. */
void ctl_ops_free(struct ctl_ops *ops);

/** The running configuration (valid until the next change). */
const struct sph_cfg *ctl_ops_cfg(const struct ctl_ops *ops);

/** The generation now running: 1 at start, +1 per applied change. */
uint64_t ctl_ops_generation(const struct ctl_ops *ops);

/** Seconds between statistics prints now in force. */
unsigned ctl_ops_stats_interval(const struct ctl_ops *ops);

/**
 * Start the health checker the running configuration asks for (health.enabled; a
 * no-op when it is off): SIP OPTIONS to every backend from a thread of its own, each
 * probe bound to its egress port's address when the kernel has it, else from the
 * address the kernel picks (said on stderr). Call once, after the first snapshot is
 * published. Every applied change then updates its targets; backends it finds down
 * leave the tables through ctl_ops_health_poll(). Health parameters changed by a
 * reload take effect at the next start.
 * @return 0, or -1 with one line in err (the daemon runs on without health checks).
 */
int ctl_ops_health_start(struct ctl_ops *ops, char *err, size_t errlen);

/**
 * Once per main loop tick: close the transition window when it is over (publish the
 * dispatch without previous tables, empty the affinity table) or rotate the affinity
 * table's banks (docs/dialogs.md); one comparison when no window is open. Then, when a
 * backend's health changed (one atomic load when none
 * did), publish a snapshot that dispatches every backend with its configured state
 * lowered by its health (down: out of the tables; overloaded: drain; an operator's
 * drain or down always wins). The running configuration is not changed (show config
 * stays what the operator wrote); the generation counts up when a snapshot is published.
 */
void ctl_ops_health_poll(struct ctl_ops *ops);

/** Stop and free the health checker (ctl_ops_free() does it too). Idempotent. */
void ctl_ops_health_stop(struct ctl_ops *ops);

/** Whether health checks run. */
bool ctl_ops_health_on(const struct ctl_ops *ops);

/**
 * Answer one request (a ctl_sock_handler; arg is the struct ctl_ops). Never fails to
 * reply: malformed JSON, an unknown command or bad arguments get {"ok":false,...}.
 * @return a malloc'd one-line JSON reply, or NULL when out of memory.
 */
char *ctl_ops_handle(void *ops, const char *req, size_t len);

#endif /* SIPHON_CTL_OPS_H */
