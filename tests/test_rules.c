/*
 * test_rules.c - operator rules on SIP fields (dataplane/core/rules.c): each condition
 * on its own field, anchors at the value's ends, case, first match wins, conjunctions,
 * the caller's own test, refusals that name the rule, and a large set.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/rules.h"
#include "siphon/sip.h"

/* An INVITE with the given Request-URI user, From user, User-Agent line and Contact. */
static size_t
invite(char *buf, size_t cap, const char *method, const char *ruser, const char *fuser,
       const char *ua_line, const char *contact)
{
	int n = snprintf(buf, cap,
	                 "%s sip:%s@203.0.113.10 SIP/2.0\r\n"
	                 "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-1\r\n"
	                 "Max-Forwards: 70\r\n"
	                 "From: \"Eve\" <sip:%s@198.51.100.7>;tag=1\r\n"
	                 "To: <sip:%s@203.0.113.10>\r\n"
	                 "Call-ID: abc@198.51.100.7\r\n"
	                 "CSeq: 1 %s\r\n"
	                 "%s"
	                 "%s%s%s"
	                 "Content-Length: 0\r\n\r\n",
	                 method, ruser, fuser, ruser, method, ua_line,
	                 contact != NULL ? "Contact: " : "", contact != NULL ? contact : "",
	                 contact != NULL ? "\r\n" : "");
	cr_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static struct rules *
compile(const struct rules_def *d, unsigned n)
{
	char err[256] = "";
	struct rules *r = rules_compile(d, n, err, sizeof(err));

	cr_assert_not_null(r, "rules_compile: %s", err);
	return r;
}

/* The rule msg meets under r (-1: none), scanned as the worker will: sip_parse_rf(). */
static int
match(const struct rules *r, const char *msg, rules_accept_fn accept, void *ctx)
{
	struct sip_msg m;
	struct rules_input in;
	struct rules_scratch *s = rules_scratch_new(r);
	int got;

	cr_assert_not_null(s);
	cr_assert_eq(sip_parse_rf((const uint8_t *)msg, strlen(msg), &m), SIP_OK, "%s", msg);
	rules_input_of(&in, (const uint8_t *)msg, &m);
	got = rules_match(r, s, &in, accept, ctx);
	rules_scratch_free(s);
	return got;
}

#define COND(f, re)                                                                                \
	{                                                                                          \
		.field = (f), .regex = (re)                                                        \
	}
#define ICOND(f, re)                                                                               \
	{                                                                                          \
		.field = (f), .caseless = 1, .regex = (re)                                         \
	}
#define RULE(nm, ...)                                                                              \
	{                                                                                          \
		.name = (nm), .conds = (const struct rules_cond[]){__VA_ARGS__},                   \
		.nb_conds = sizeof((struct rules_cond[]){__VA_ARGS__}) / sizeof(struct rules_cond) \
	}

Test(rules, each_condition_on_its_field)
{
	const struct rules_def d[] = {RULE("scanner", COND(RULES_UA, "friendly-scanner"))};
	struct rules *r = compile(d, 1);
	char b[1024];

	cr_assert_eq(rules_fields(r), 1u << RULES_UA);
	invite(b, sizeof(b), "INVITE", "100", "200", "User-Agent: friendly-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	/* The same text in another field is not the User-Agent. */
	invite(b, sizeof(b), "INVITE", "friendly-scanner", "friendly-scanner",
	       "User-Agent: Linphone/5.2\r\n", "<sip:friendly-scanner@198.51.100.7>");
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	/* Server stands in when there is no User-Agent, and only then. */
	invite(b, sizeof(b), "INVITE", "100", "200", "Server: friendly-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "100", "200",
	       "Server: friendly-scanner\r\nUser-Agent: Linphone\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	/* No such header: no match. */
	invite(b, sizeof(b), "INVITE", "100", "200", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

Test(rules, anchors_are_the_value_ends)
{
	const struct rules_def d[] = {
	        RULE("premium", COND(RULES_RURI, "^sip:\\+?900")),
	        RULE("tail", COND(RULES_UA, "scan$")),
	        RULE("whole", COND(RULES_METHOD, "^OPTIONS$")),
	};
	struct rules *r = compile(d, 3);
	char b[1024];

	invite(b, sizeof(b), "INVITE", "+9001234", "1", "User-Agent: x\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1900123", "1", "User-Agent: x\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	/* "$" is the value's end, white space around it trimmed. */
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent:   sip-scan  \r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: sip-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	invite(b, sizeof(b), "OPTIONS", "1", "1", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 2);
	rules_free(r);
}

Test(rules, case)
{
	const struct rules_def d[] = {
	        RULE("exact", COND(RULES_UA, "SIPVicious")),
	        RULE("any-case", ICOND(RULES_UA, "sipcli")),
	};
	struct rules *r = compile(d, 2);
	char b[1024];

	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: sipvicious\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: SIPVicious\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: SIPCLI/1.0\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	rules_free(r);
}

static int
refuse_first(void *ctx, unsigned rule)
{
	(*(unsigned *)ctx)++;
	return rule != 0;
}

Test(rules, first_match_wins_and_the_callers_test)
{
	const struct rules_def d[] = {
	        RULE("specific", COND(RULES_UA, "^friendly-scanner$")),
	        RULE("broad", ICOND(RULES_UA, "scanner")),
	        RULE("everything", COND(RULES_METHOD, ".")),
	};
	struct rules *r = compile(d, 3);
	char b[1024];
	unsigned asked = 0;

	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: friendly-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: Scanner 2\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: Linphone\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 2);
	/* The caller refuses rule 0 (a source prefix, say): the next one that matches. */
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: friendly-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, refuse_first, &asked), 1);
	cr_assert_geq(asked, 2);
	rules_free(r);
}

Test(rules, all_conditions_of_a_rule)
{
	const struct rules_def d[] = {
	        RULE("intl-invite", COND(RULES_METHOD, "^INVITE$"), COND(RULES_RURI, "^sip:00"),
	             ICOND(RULES_CONTACT, "@198\\.51\\.100\\.")),
	        RULE("register", COND(RULES_METHOD, "^REGISTER$")),
	};
	struct rules *r = compile(d, 2);
	char b[1024];

	cr_assert_eq(rules_fields(r),
	             (1u << RULES_METHOD) | (1u << RULES_RURI) | (1u << RULES_CONTACT));
	invite(b, sizeof(b), "INVITE", "0044123", "1", "", "<sip:x@198.51.100.7>");
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "0044123", "1", "", "<sip:x@192.0.2.7>");
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	invite(b, sizeof(b), "INVITE", "44123", "1", "", "<sip:x@198.51.100.7>");
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	invite(b, sizeof(b), "REGISTER", "0044123", "1", "", "<sip:x@198.51.100.7>");
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	/* Compact Contact ("m") is Contact. */
	invite(b, sizeof(b), "INVITE", "0044123", "1", "m: <sip:x@198.51.100.9>\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	rules_free(r);
}

Test(rules, refusals_name_the_rule)
{
	char err[256];
	const struct rules_def bad_re[] = {
	        RULE("ok", COND(RULES_UA, "a")),
	        RULE("broken", COND(RULES_UA, "b"), COND(RULES_FROM, "(unclosed")),
	};
	const struct rules_def bad_field[] = {RULE("f", COND(42, "a"))};
	const struct rules_def no_name[] = {RULE("", COND(RULES_UA, "a"))};
	const struct rules_def no_conds[] = {{.name = "none", .conds = NULL, .nb_conds = 0}};

	cr_assert_null(rules_compile(bad_re, 2, err, sizeof(err)));
	cr_assert(strncmp(err, "rule \"broken\": condition 2 (from): ", 35) == 0, "%s", err);
	cr_assert_null(rules_compile(bad_field, 1, err, sizeof(err)));
	cr_assert_str_eq(err, "rule \"f\": condition 1: no field 42");
	cr_assert_null(rules_compile(no_name, 1, err, sizeof(err)));
	cr_assert_str_eq(err, "rule 1: a name of 1..63 characters is needed");
	cr_assert_null(rules_compile(no_conds, 1, err, sizeof(err)));
	cr_assert_str_eq(err, "rule \"none\": 1..8 conditions are needed, got 0");
	cr_assert_null(rules_compile(bad_re, RULES_MAX + 1, err, sizeof(err)));
	/* What Hyperscan refuses, it says why, after the rule and condition. */
	const struct rules_def embedded[] = {RULE("anchor", COND(RULES_UA, "a^b"))};
	cr_assert_null(rules_compile(embedded, 1, err, sizeof(err)));
	cr_assert(strncmp(err, "rule \"anchor\": condition 1 (user_agent): ", 41) == 0, "%s", err);
	/* In a class or escaped they are plain characters. */
	static const char *const fine[] = {"[$^]", "\\$", "\\^x", "^(?:a|b)$", "^[^^]+$", "^a|b"};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		const struct rules_def d[] = {RULE("fine", COND(RULES_UA, fine[i]))};
		struct rules *r = rules_compile(d, 1, err, sizeof(err));

		cr_assert_not_null(r, "%s: %s", fine[i], err);
		rules_free(r);
	}
}

Test(rules, literal_anchor_characters)
{
	const struct rules_def d[] = {RULE("dollar", COND(RULES_UA, "US\\$")),
	                              RULE("alt", COND(RULES_UA, "^(?:svwar|svcrack)$"))};
	struct rules *r = compile(d, 2);
	char b[1024];

	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: pays US$ 5\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: svcrack\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: svcrack 2\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

/* "^a|b" is Hyperscan's: "a" at the start, or "b" anywhere. */
Test(rules, alternation_beside_an_anchor)
{
	const struct rules_def d[] = {RULE("either", COND(RULES_UA, "^svwar|svcrack"))};
	struct rules *r = compile(d, 1);
	char b[1024];

	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: my svcrack\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: my svwar\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

/* More partial hits of several-condition rules than kept: -3, not a silent miss. */
Test(rules, too_many_partial_hits)
{
	enum { N = 80 };
	static struct rules_def d[N];
	static struct rules_cond c[N][2];
	static char names[N][8];
	char b[1024];
	struct rules *r;

	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "p%u", i);
		c[i][0] = (struct rules_cond){.field = RULES_UA, .regex = "scanner"};
		c[i][1] = (struct rules_cond){.field = RULES_RURI, .regex = "^sip:999"};
		d[i] = (struct rules_def){.name = names[i], .conds = c[i], .nb_conds = 2};
	}
	r = compile(d, N);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -3);
	invite(b, sizeof(b), "INVITE", "9991", "1", "User-Agent: scanner\r\n", NULL);
	/* The first 64 hits are from the Request-URI's scan (the lower field), all of
	 * which wait for their User-Agent half: those that fit still complete. */
	int got = match(r, b, NULL, NULL);
	cr_assert(got == 0 || got == -3, "%d", got);
	rules_free(r);
}

Test(rules, empty_set)
{
	struct rules *r = compile(NULL, 0);
	char b[1024];

	cr_assert_eq(rules_count(r), 0);
	cr_assert_eq(rules_fields(r), 0);
	cr_assert_eq(rules_db_bytes(r), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: friendly-scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

Test(rules, ten_thousand_rules)
{
	enum { N = 10000 };
	static struct rules_def d[N];
	static struct rules_cond c[N];
	static char names[N][16], res[N][32];
	char b[1024];
	struct rules *r;

	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "r%05u", i);
		snprintf(res[i], sizeof(res[i]), "^sip:\\+?%05u[0-9]{3}@", i);
		c[i] = (struct rules_cond){.field = RULES_RURI, .regex = res[i]};
		d[i] = (struct rules_def){.name = names[i], .conds = &c[i], .nb_conds = 1};
	}
	r = compile(d, N);
	cr_assert_eq(rules_count(r), N);
	cr_assert_str_eq(rules_name(r, 7777), "r07777");
	cr_assert_gt(rules_db_bytes(r), 0);
	invite(b, sizeof(b), "INVITE", "+07777123", "1", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 7777);
	invite(b, sizeof(b), "INVITE", "077771234", "1", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

Test(rules, field_names)
{
	for (int f = 0; f < RULES_NB_FIELDS; f++)
		cr_assert_eq(rules_field_of(rules_field_name((enum rules_field)f)), f);
	cr_assert_eq(rules_field_of("User-Agent"), -1);
	cr_assert_null(rules_field_name(RULES_NB_FIELDS));
}

/* Method conditions of known methods are decided by table, of unknown ones by a scan:
 * both must agree with the expression. */
Test(rules, methods_known_and_unknown)
{
	const struct rules_def d[] = {
	        RULE("foo", COND(RULES_METHOD, "^FOO$")),
	        RULE("invite-scanner", COND(RULES_METHOD, "^(?:INVITE|MESSAGE)$"),
	             COND(RULES_UA, "scanner")),
	        RULE("any-e", COND(RULES_METHOD, "E")),
	};
	struct rules *r = compile(d, 3);
	char b[1024];

	invite(b, sizeof(b), "FOO", "1", "1", "User-Agent: scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 0);
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	invite(b, sizeof(b), "MESSAGE", "1", "1", "User-Agent: scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 1);
	/* REGISTER has an E but is not INVITE or MESSAGE: the third rule. */
	invite(b, sizeof(b), "REGISTER", "1", "1", "User-Agent: scanner\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 2);
	/* An unknown method with an E, scanned. */
	invite(b, sizeof(b), "PEEK", "1", "1", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), 2);
	invite(b, sizeof(b), "OPTIONS", "1", "1", "", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -1);
	rules_free(r);
}

/* 65 different method expressions are more than the method table holds. */
Test(rules, method_conditions_bounded)
{
	static struct rules_def d[65];
	static struct rules_cond c[65];
	static char names[65][8], res[65][16];
	char err[256];

	for (unsigned i = 0; i < 65; i++) {
		snprintf(names[i], sizeof(names[i]), "m%u", i);
		snprintf(res[i], sizeof(res[i]), "^X%u$", i);
		c[i] = (struct rules_cond){.field = RULES_METHOD, .regex = res[i]};
		d[i] = (struct rules_def){.name = names[i], .conds = &c[i], .nb_conds = 1};
	}
	cr_assert_null(rules_compile(d, 65, err, sizeof(err)));
	cr_assert_str_eq(err, "rules: 65 different method conditions, at most 64");
	struct rules *r = compile(d, 64);
	rules_free(r);
}

/* Hits that did not fit may hide an earlier rule: the later winner is not returned as if
 * it were the first (rules 0..99 need From X and their own User-Agent; 100 needs only a
 * User-Agent with Y; the one that matches, 80, lies past the 64 kept). */
Test(rules, lost_hits_never_promote_a_later_rule)
{
	enum { N = 101 };
	static struct rules_def d[N];
	static struct rules_cond c[N][2];
	static char names[N][8], uas[N][16];
	char b[1024];
	struct rules *r;

	for (unsigned i = 0; i < N - 1; i++) {
		snprintf(names[i], sizeof(names[i]), "p%u", i);
		snprintf(uas[i], sizeof(uas[i]), "^Y0%02u$", i);
		c[i][0] = (struct rules_cond){.field = RULES_FROM, .regex = "X"};
		c[i][1] = (struct rules_cond){.field = RULES_UA, .regex = uas[i]};
		d[i] = (struct rules_def){.name = names[i], .conds = c[i], .nb_conds = 2};
	}
	c[N - 1][0] = (struct rules_cond){.field = RULES_UA, .regex = "Y"};
	d[N - 1] = (struct rules_def){.name = "any-y", .conds = c[N - 1], .nb_conds = 1};
	r = compile(d, N);
	invite(b, sizeof(b), "INVITE", "1", "X", "User-Agent: Y080\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), -3);
	/* Without the From that fills the hits, the one rule that matches wins. */
	invite(b, sizeof(b), "INVITE", "1", "1", "User-Agent: Y080\r\n", NULL);
	cr_assert_eq(match(r, b, NULL, NULL), N - 1);
	rules_free(r);
}
