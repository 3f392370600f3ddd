/*
 * test_log.c - the daemon's log lines (dataplane/core/log.c): threshold, the terminal's
 * and the journal's forms, and rate limits. Each test runs in its own process
 * (Criterion's default), so the threshold and the journal check start afresh.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "siphon/log.h"

static void
redirect(void)
{
	cr_redirect_stderr();
}

Test(log, terminal_form_and_default_threshold, .init = redirect)
{
	unsetenv("JOURNAL_STREAM");
	sph_log(SPH_LOG_DEBUG, "not at the default threshold");
	sph_log(SPH_LOG_INFO, "metrics on %s", "http://127.0.0.1:9100/metrics");
	sph_log(SPH_LOG_NOTICE, "reloaded");
	sph_log(SPH_LOG_WARNING, "backend %s down", "b2");
	sph_log(SPH_LOG_ERROR, "cannot bind");
	fflush(stderr);
	cr_assert_stderr_eq_str("siphon: metrics on http://127.0.0.1:9100/metrics\n"
	                        "siphon: reloaded\n"
	                        "siphon: warning: backend b2 down\n"
	                        "siphon: error: cannot bind\n");
}

Test(log, threshold, .init = redirect)
{
	unsetenv("JOURNAL_STREAM");
	cr_assert_eq(sph_log_set(SPH_LOG_WARNING), SPH_LOG_INFO);
	cr_assert_eq(sph_log_get(), SPH_LOG_WARNING);
	sph_log(SPH_LOG_INFO, "hidden");
	sph_log(SPH_LOG_NOTICE, "hidden");
	sph_log(SPH_LOG_WARNING, "shown");
	sph_log_set(SPH_LOG_DEBUG);
	sph_log(SPH_LOG_DEBUG, "now shown");
	sph_log_set((enum sph_log_level)42); /* clamped to debug */
	cr_assert_eq(sph_log_get(), SPH_LOG_DEBUG);
	fflush(stderr);
	cr_assert_stderr_eq_str("siphon: warning: shown\nsiphon: now shown\n");
}

/* stderr is the journal when JOURNAL_STREAM names its device and inode. */
Test(log, journal_priority_prefix, .init = redirect)
{
	struct stat st;
	char env[64];

	cr_assert_eq(fstat(2, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	sph_log(SPH_LOG_INFO, "up");
	sph_log(SPH_LOG_WARNING, "backend b2 down");
	sph_log(SPH_LOG_ERROR, "cannot bind");
	fflush(stderr);
	cr_assert_stderr_eq_str("<6>up\n<4>backend b2 down\n<3>cannot bind\n");
}

/* A child whose stderr goes elsewhere inherits the variable: not the journal then. */
Test(log, journal_stream_of_another_file, .init = redirect)
{
	struct stat st;
	char env[64];

	cr_assert_eq(fstat(2, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	sph_log(SPH_LOG_INFO, "up");
	fflush(stderr);
	cr_assert_stderr_eq_str("siphon: up\n");
}

Test(log, rate_limit, .init = redirect)
{
	static struct sph_log_limit l = {.burst = 2, .interval_ms = 1000};

	unsetenv("JOURNAL_STREAM");
	cr_assert_eq(sph_log_limited(&l, 5000, SPH_LOG_WARNING, "bad request from %d", 1), 1);
	cr_assert_eq(sph_log_limited(&l, 5001, SPH_LOG_WARNING, "bad request from %d", 2), 1);
	cr_assert_eq(sph_log_limited(&l, 5002, SPH_LOG_WARNING, "bad request from %d", 3), 0);
	cr_assert_eq(sph_log_limited(&l, 5999, SPH_LOG_WARNING, "bad request from %d", 4), 0);
	cr_assert_eq(l.held_total, 2);
	cr_assert_eq(sph_log_held_total(), 2);
	/* The next interval: first how many were held, then the line. */
	cr_assert_eq(sph_log_limited(&l, 6000, SPH_LOG_WARNING, "bad request from %d", 5), 1);
	/* An interval with nothing held writes no summary. */
	cr_assert_eq(sph_log_limited(&l, 9000, SPH_LOG_WARNING, "bad request from %d", 6), 1);
	/* A clock that goes back starts a new interval rather than holding forever. */
	cr_assert_eq(sph_log_limited(&l, 9001, SPH_LOG_WARNING, "x"), 1);
	cr_assert_eq(sph_log_limited(&l, 9002, SPH_LOG_WARNING, "x"), 0);
	cr_assert_eq(sph_log_limited(&l, 100, SPH_LOG_WARNING, "y"), 1);
	cr_assert_eq(l.held_total, 3);
	fflush(stderr);
	cr_assert_stderr_eq_str("siphon: warning: bad request from 1\n"
	                        "siphon: warning: bad request from 2\n"
	                        "siphon: warning: 2 similar lines not written in the last 1000 ms\n"
	                        "siphon: warning: bad request from 5\n"
	                        "siphon: warning: bad request from 6\n"
	                        "siphon: warning: x\n"
	                        "siphon: warning: 1 similar lines not written in the last 1000 ms\n"
	                        "siphon: warning: y\n");
}

Test(log, names)
{
	for (int l = SPH_LOG_ERROR; l <= SPH_LOG_DEBUG; l++)
		cr_assert_eq(sph_log_parse(sph_log_name((enum sph_log_level)l)), l);
	cr_assert_eq(sph_log_parse("warn"), -1);
	cr_assert_eq(sph_log_parse(""), -1);
	cr_assert_eq(sph_log_parse(NULL), -1);
	cr_assert_str_eq(sph_log_name((enum sph_log_level)99), "debug");
}
