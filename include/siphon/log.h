/**
 * @file log.h
 * The daemon's log: one line per event on stderr, with a level, for a terminal or for
 * systemd's journal.
 *
 * Levels are syslog's (error 3 .. debug 7). Lines below the threshold (sph_log_set())
 * are not written. When stderr is the journal (systemd sets JOURNAL_STREAM to its
 * device:inode), each line starts with "<N>", which journald turns into the entry's
 * priority; elsewhere it reads "siphon: text" ("siphon: warning: text" at warning and
 * error). Lines that traffic or clients could cause go through a struct sph_log_limit:
 * at most a burst of them per interval; the rest are counted (sph_log_held_total(), in
 * the metrics) and their number written before the first line of a later interval, so
 * no peer can fill the log.
 *
 * Control plane and the main lcore only, never a worker (scripts/check-layers fails the
 * build's tests when worker or forwarding code refers to any output function). Safe from
 * several threads: a line is one stdio call.
 */
#ifndef SIPHON_LOG_H
#define SIPHON_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum sph_log_level {
	SPH_LOG_ERROR = 3,
	SPH_LOG_WARNING = 4,
	SPH_LOG_NOTICE = 5,
	SPH_LOG_INFO = 6, /**< the default threshold */
	SPH_LOG_DEBUG = 7,
};

/** Write one line at level (no trailing newline in fmt). */
void sph_log(enum sph_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** sph_log() with a va_list. */
void sph_vlog(enum sph_log_level level, const char *fmt, va_list ap);

/** Lines of level and more severe are written; the rest are not. Returns the old one. */
enum sph_log_level sph_log_set(enum sph_log_level level);

/** The threshold in force. */
enum sph_log_level sph_log_get(void);

/** "error", "warning", "notice", "info" or "debug" to a level; -1 when none of those. */
int sph_log_parse(const char *name);

/** A level's name, as sph_log_parse() reads it. */
const char *sph_log_name(enum sph_log_level level);

/**
 * One rate limit, usually one per call site: static, zero-initialised, with burst and
 * interval_ms set. Not thread-safe by itself: one thread per limit.
 */
struct sph_log_limit {
	uint32_t burst;       /**< lines written per interval, at most */
	uint32_t interval_ms; /**< the interval */
	uint64_t start_ms;    /**< start of the current interval */
	uint32_t used;        /**< lines written in it */
	uint64_t held;        /**< lines not written in it */
	uint64_t held_total;  /**< lines not written since start: a counter */
};

/**
 * sph_log() under limit l, at now_ms (any monotonic milliseconds). When an interval with
 * held lines is over, writes first how many were held. @return 1 written, 0 held.
 */
int sph_log_limited(struct sph_log_limit *l, uint64_t now_ms, enum sph_log_level level,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Lines held by every limit since start (for the metrics). */
uint64_t sph_log_held_total(void);

#endif /* SIPHON_LOG_H */
