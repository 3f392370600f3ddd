/*
 * log.c - the daemon's log lines (include/siphon/log.h): a threshold, the journal's
 * "<N>" priority prefix when stderr is the journal, and per-call-site rate limits.
 * DPDK-free so both planes use one log; never called from a worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "siphon/log.h"

static const char *const log_names[] = {
        [SPH_LOG_ERROR] = "error", [SPH_LOG_WARNING] = "warning", [SPH_LOG_NOTICE] = "notice",
        [SPH_LOG_INFO] = "info",   [SPH_LOG_DEBUG] = "debug",
};

static int log_threshold = SPH_LOG_INFO;
static int log_journal = -1; /* -1: not looked at yet; 0/1: whether stderr is the journal */
static uint64_t log_held_all;

/* systemd passes JOURNAL_STREAM=device:inode of the stream it connected stderr to; a
 * child with stderr redirected elsewhere inherits the variable, hence the comparison. */
static int
log_is_journal(void)
{
	int j = __atomic_load_n(&log_journal, __ATOMIC_RELAXED);
	const char *env;
	unsigned long long dev, ino;
	struct stat st;

	if (j >= 0)
		return j;
	env = getenv("JOURNAL_STREAM");
	j = env != NULL && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	__atomic_store_n(&log_journal, j, __ATOMIC_RELAXED);
	return j;
}

static enum sph_log_level
log_clamp(enum sph_log_level level)
{
	if ((int)level < SPH_LOG_ERROR)
		return SPH_LOG_ERROR;
	if ((int)level > SPH_LOG_DEBUG)
		return SPH_LOG_DEBUG;
	return level;
}

void
sph_vlog(enum sph_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	level = log_clamp(level);
	if ((int)level > __atomic_load_n(&log_threshold, __ATOMIC_RELAXED))
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One call per line, so lines from two threads never interleave. */
	if (log_is_journal())
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else if (level <= SPH_LOG_WARNING)
		fprintf(stderr, "siphon: %s: %s\n", log_names[level], line);
	else
		fprintf(stderr, "siphon: %s\n", line);
}

void
sph_log(enum sph_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sph_vlog(level, fmt, ap);
	va_end(ap);
}

enum sph_log_level
sph_log_set(enum sph_log_level level)
{
	return (enum sph_log_level)__atomic_exchange_n(&log_threshold, (int)log_clamp(level),
	                                               __ATOMIC_RELAXED);
}

enum sph_log_level
sph_log_get(void)
{
	return (enum sph_log_level)__atomic_load_n(&log_threshold, __ATOMIC_RELAXED);
}

int
sph_log_parse(const char *name)
{
	for (int l = SPH_LOG_ERROR; name != NULL && l <= SPH_LOG_DEBUG; l++)
		if (strcmp(name, log_names[l]) == 0)
			return l;
	return -1;
}

const char *
sph_log_name(enum sph_log_level level)
{
	return log_names[log_clamp(level)];
}

int
sph_log_limited(struct sph_log_limit *l, uint64_t now_ms, enum sph_log_level level, const char *fmt,
                ...)
{
	va_list ap;

	if (l->start_ms == 0 || now_ms - l->start_ms >= l->interval_ms || now_ms < l->start_ms) {
		if (l->held > 0)
			sph_log(level, "%llu similar lines not written in the last %u ms",
			        (unsigned long long)l->held, l->interval_ms);
		l->start_ms = now_ms != 0 ? now_ms : 1;
		l->used = 0;
		l->held = 0;
	}
	if (l->used >= l->burst) {
		l->held++;
		l->held_total++;
		__atomic_fetch_add(&log_held_all, 1, __ATOMIC_RELAXED);
		return 0;
	}
	l->used++;
	va_start(ap, fmt);
	sph_vlog(level, fmt, ap);
	va_end(ap);
	return 1;
}

uint64_t
sph_log_held_total(void)
{
	return __atomic_load_n(&log_held_all, __ATOMIC_RELAXED);
}
