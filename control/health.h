/*
 * health.h - active health checks: SIP OPTIONS to every backend, from the control plane.
 *
 * A struct health probes a set of targets (backend name, address, port) with SIP
 * OPTIONS requests over ordinary kernel UDP sockets, matches the replies by top Via
 * branch and Call-ID (sip_parse(), the dataplane's own scanner), and keeps per target a
 * state (UNKNOWN, UP, DOWN, OVERLOADED), consecutive success/failure runs and the probe
 * round-trip time (last and EWMA). Each state change is reported through a callback;
 * the integrator turns it into a backend state of the running configuration
 * (health_dispatch_state(): DOWN -> out of the Maglev tables, OVERLOADED -> drain, UP
 * and UNKNOWN -> in), which goes through the control plane's usual generation path.
 *
 * No DPDK: the module needs libc, pthreads and the SIP scanner only, so tests drive it on
 * loopback. health_poll_once() is the whole engine (wait, read replies, expire, send);
 * health_start() runs it in a loop on a thread of its own, and tests call it directly
 * with an injected clock (health_set_clock()) so no assertion depends on wall time.
 * docs/health.md describes the parameters, the state machine and the probe's bytes.
 *
 * Threads: health_get(), health_list(), health_get_stats(), health_generation() and
 * health_set_targets() may be called from any thread at any time (one mutex, held only
 * for memory work, never across a system call that waits). health_poll_once() is called
 * by one thread at a time: the health thread once started, else the caller. Callbacks
 * run on that thread, after the mutex is released, in the order the changes happened;
 * they may query and health_set_targets(), but must not call health_stop() or
 * health_destroy() (the thread would join itself).
 */
#ifndef SIPHON_CTL_HEALTH_H
#define SIPHON_CTL_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

#define HEALTH_NAME_MAX     64u      /**< bytes of a target name with its NUL (CFG_NAME_MAX) */
#define HEALTH_MAX_TARGETS  65534u   /**< targets per instance (MAGLEV_MAX_BACKENDS) */
#define HEALTH_INTERVAL_MIN 10u      /**< smallest interval_ms */
#define HEALTH_INTERVAL_MAX 3600000u /**< largest interval_ms (one hour) */
#define HEALTH_RUN_MAX      100u     /**< largest fall and rise */
#define HEALTH_RECV_MAX     65536u   /**< largest datagram read; longer ones are malformed */

/** What the probes say about a target. */
enum health_state {
	HEALTH_UNKNOWN = 0, /**< not yet rise successes nor fall failures since it was added */
	HEALTH_UP,          /**< answering with an accepted final response */
	HEALTH_DOWN,        /**< fall consecutive failures (timeouts, unaccepted codes) */
	HEALTH_OVERLOADED,  /**< answered 503: reachable, but no new dialogs until it recovers */
	HEALTH_STATE_COUNT
};

/**
 * Probe parameters. Start from health_params_default() and change what differs.
 * accept is a bitmap over status codes 0..699 (bit c set: code c counts as alive);
 * codes outside 100..699 never occur (sip_parse() rejects them) and 1xx never ends a
 * probe, so only bits 200..699 matter.
 */
struct health_params {
	uint32_t interval_ms;   /**< time between two probes' sends (1000) */
	uint32_t timeout_ms;    /**< wait for a final response, 1..interval_ms (1000) */
	uint32_t fall;          /**< consecutive failures to mark DOWN, 1..HEALTH_RUN_MAX (3) */
	uint32_t rise;          /**< consecutive successes to mark UP, 1..HEALTH_RUN_MAX (2) */
	uint16_t overload_code; /**< final code meaning OVERLOADED (503); 0 = none */
	uint64_t accept[11];    /**< bitmap of accepted codes (200..699 all set) */
};

/** One backend to probe. */
struct health_target {
	char name[HEALTH_NAME_MAX]; /**< unique, non-empty: the identity across reconfigurations */
	struct cfg_addr addr;       /**< family 4 or 6 (IPv4 as ::ffff:a.b.c.d, as cfg.h) */
	uint16_t port;              /**< its SIP port, non-zero */
	struct cfg_addr src;        /**< source address to bind; family 0 = the kernel chooses */
};

/** A target's state and measurements, as siphonctl and metrics show them. */
struct health_status {
	char name[HEALTH_NAME_MAX];
	struct cfg_addr addr;
	uint16_t port;
	uint8_t state;         /**< enum health_state */
	uint16_t last_code;    /**< status of the last matched final response; 0 = none */
	uint32_t succ_run;     /**< current run of consecutive successes (503 included) */
	uint32_t fail_run;     /**< current run of consecutive failures */
	uint64_t probes;       /**< probes sent (or attempted) */
	uint64_t replies;      /**< matched final responses */
	uint64_t timeouts;     /**< probes without a final response within timeout_ms */
	uint64_t rtt_last_us;  /**< round trip of the last matched response; 0 = none yet */
	uint64_t rtt_ewma_us;  /**< smoothed round trip, alpha 1/8 (TCP SRTT); 0 = none yet */
	uint64_t since_us;     /**< clock time of the last state change (or of being added) */
	struct cfg_addr local; /**< address the Via names; family 0 before the first probe */
	uint16_t local_port;   /**< port the Via names (the socket's ephemeral port) */
};

/** Instance-wide counters: what arrived that was no reply to an outstanding probe. */
struct health_stats {
	uint64_t sent;         /**< probes handed to the kernel */
	uint64_t send_errors;  /**< sendto() or local-address failures (a probe failure each) */
	uint64_t received;     /**< datagrams read */
	uint64_t matched;      /**< final responses matched to an outstanding probe */
	uint64_t provisional;  /**< matched 1xx responses (the probe keeps waiting) */
	uint64_t malformed;    /**< datagrams sip_parse() refused, or longer than HEALTH_RECV_MAX */
	uint64_t requests;     /**< well-formed requests (nobody should send us any) */
	uint64_t unmatched;    /**< responses whose branch/Call-ID/CSeq match no probe */
	uint64_t late;         /**< responses to a probe that had already timed out */
	uint64_t wrong_source; /**< matched branch, but from an address other than the target */
	uint64_t recv_errors;  /**< recvfrom() failures other than "nothing to read" */
	uint64_t changes;      /**< state changes (what health_generation() returns) */
};

struct health;

/** Called on every state change; name is valid during the call only. */
typedef void (*health_cb)(const char *name, enum health_state old_state,
                          enum health_state new_state, void *arg);

/** Monotonic clock in microseconds; the default reads CLOCK_MONOTONIC. */
typedef uint64_t (*health_clock)(void *arg);

/** Fill p with the defaults: 1000 ms, 1000 ms, fall 3, rise 2, 200..699 accepted, 503. */
void health_params_default(struct health_params *p);

/** Set (on != 0) or clear the accept bits of codes lo..hi (clamped to 0..699). */
void health_accept_range(struct health_params *p, unsigned lo, unsigned hi, int on);

/** True when p accepts code as alive. */
int health_accepts(const struct health_params *p, unsigned code);

/**
 * Check p: ranges above, timeout_ms <= interval_ms, at least one accepted final code.
 * @return 0, or -1 with one line in err.
 */
int health_params_check(const struct health_params *p, char *err, size_t errlen);

/**
 * Create an instance probing targets[0, n) (copied; n may be 0). Nothing is sent until
 * health_poll_once() or health_start(). Sockets are opened here, one per address family
 * and configured source in use, so a bad source address fails now.
 *
 * @param cb  May be NULL (then poll health_generation() and health_get()).
 * @return the instance, or NULL with one line in err: bad parameters, a bad or duplicate
 *         target, a socket that cannot be opened or bound, out of memory.
 */
struct health *health_create(const struct health_params *p, const struct health_target *targets,
                             unsigned n, health_cb cb, void *cb_arg, char *err, size_t errlen);

/**
 * Replace the set of targets (a reload, a backend added or removed). A target whose
 * name, address and port are unchanged keeps everything: state, runs, RTT, counters and
 * its outstanding probe. Others start afresh in HEALTH_UNKNOWN and are probed at the next
 * poll. Removed targets are forgotten without a callback. Any thread.
 *
 * @return 0, or -1 with one line in err (bad or duplicate target, socket failure, no
 *         memory), leaving the previous set in force.
 */
int health_set_targets(struct health *h, const struct health_target *targets, unsigned n, char *err,
                       size_t errlen);

/**
 * Use another clock (tests). Call before the first poll and never while the thread runs;
 * the clock must never go backwards.
 */
void health_set_clock(struct health *h, health_clock fn, void *arg);

/**
 * One turn of the engine: wait up to timeout_ms (less when a probe is due or expires
 * sooner by the clock; 0 = do not wait) for replies, read every reply waiting (at most
 * a bounded batch), expire probes past their timeout, send the probes that are due,
 * then run the callbacks of the changes. Never from two threads at once.
 *
 * @return number of events handled (datagrams read, probes sent or expired), or -1 when
 *         called while the health thread runs.
 */
int health_poll_once(struct health *h, int timeout_ms);

/** Start the health thread (loops on health_poll_once()). @return 0, or -1 with err. */
int health_start(struct health *h, char *err, size_t errlen);

/** Stop and join the health thread; no callback runs after it returns. Idempotent. */
void health_stop(struct health *h);

/** Stop the thread, close the sockets, free everything. NULL is a no-op. */
void health_destroy(struct health *h);

/** Copy the status of the target called name. @return 0, or -1 when there is none. */
int health_get(struct health *h, const char *name, struct health_status *out);

/**
 * Copy up to max statuses, in target order. @return the number of targets (may exceed
 * max: call again with room for all).
 */
unsigned health_list(struct health *h, struct health_status *out, unsigned max);

/** Copy the instance counters. */
void health_get_stats(struct health *h, struct health_stats *out);

/**
 * Number of state changes so far: a cheap test (one atomic load) for a main loop that
 * reconciles states with health_get() instead of, or besides, the callback.
 */
uint64_t health_generation(const struct health *h);

/** Keyword of a state: "unknown", "up", "down", "overloaded"; "invalid" otherwise. */
const char *health_state_name(unsigned state);

/**
 * The enum maglev_state a backend in state s should be dispatched with, for a backend
 * whose configured (administrative) state is MAGLEV_UP: UNKNOWN and UP -> MAGLEV_UP,
 * OVERLOADED -> MAGLEV_DRAIN, DOWN -> MAGLEV_DOWN. UNKNOWN dispatches because a restart
 * or a reload must not blackhole every call for rise x interval before probes complete;
 * a dead backend leaves the tables after fall probes anyway. An operator's drain or down
 * always wins: never dispatch a backend more than its configured state allows.
 */
uint8_t health_dispatch_state(unsigned s);

#endif /* SIPHON_CTL_HEALTH_H */
