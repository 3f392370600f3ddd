/*
 * test_health.c - Criterion suite for the SIP OPTIONS health checker (control/health.c).
 *
 * Real UDP sockets on loopback (127.0.0.1 and ::1): each test runs tiny responders that
 * read a probe, check it with sip_parse() and answer it as a backend would (a proper
 * response echoing Via, From, To, Call-ID and CSeq), or answer wrongly (malformed, wrong
 * branch, wrong Call-ID, from the wrong address, too late), or not at all. The checker
 * runs without its thread, driven by health_poll_once() under a fake clock the test
 * advances, so every assertion is about probe counts and never about wall time; waits
 * on sockets are only upper bounds against a hung test.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "siphon/maglev.h"
#include "siphon/sip.h"

#include "health.h"

TestSuite(health);

#define WAIT_MS 5000 /* upper bound on any socket wait: a hang, not a threshold */

/* ---- fake clock ---- */

static uint64_t fake_now = 1000000; /* microseconds; any start works */

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* ---- callback recorder ---- */

struct change {
	char name[HEALTH_NAME_MAX];
	enum health_state o, n;
};

static struct change changes[64];
static unsigned nchanges;

static void
record(const char *name, enum health_state o, enum health_state n, void *arg)
{
	(void)arg;
	cr_assert_lt(nchanges, 64u, "too many state changes");
	snprintf(changes[nchanges].name, sizeof(changes[nchanges].name), "%s", name);
	changes[nchanges].o = o;
	changes[nchanges].n = n;
	nchanges++;
}

static void
expect_changes(const struct change *want, unsigned n)
{
	cr_assert_eq(nchanges, n, "%u state changes, want %u", nchanges, n);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_str_eq(changes[i].name, want[i].name, "change %u", i);
		cr_assert_eq(changes[i].o, want[i].o, "change %u: old %s, want %s", i,
		             health_state_name(changes[i].o), health_state_name(want[i].o));
		cr_assert_eq(changes[i].n, want[i].n, "change %u: new %s, want %s", i,
		             health_state_name(changes[i].n), health_state_name(want[i].n));
	}
}

/* ---- addresses ---- */

static struct cfg_addr
addr_of(const char *s)
{
	struct cfg_addr a = {0};

	if (strchr(s, ':') != NULL) {
		a.family = 6;
		cr_assert_eq(inet_pton(AF_INET6, s, a.a), 1);
	} else {
		a.family = 4;
		a.a[10] = a.a[11] = 0xff;
		cr_assert_eq(inet_pton(AF_INET, s, &a.a[12]), 1);
	}
	return a;
}

static socklen_t
sockaddr_of(const struct cfg_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, &a->a[12], 4);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->a, 16);
	return sizeof(*s6);
}

/* ---- responder: a backend in a few lines ---- */

enum mode {
	R_NONE = 0,     /* read the probe, answer nothing */
	R_CODE,         /* proper response with r->code */
	R_MALFORMED,    /* a response without Call-ID */
	R_WRONG_BRANCH, /* proper, but another Via branch */
	R_WRONG_CALLID, /* right branch, another Call-ID */
	R_WRONG_CSEQ,   /* right branch and Call-ID, another CSeq number */
	R_WRONG_SOURCE, /* proper, sent from another address (127.0.0.2) */
	R_REQUEST,      /* an OPTIONS request instead of a response */
	R_PROVISIONAL,  /* 100 Trying only */
};

struct resp {
	int fd;
	struct cfg_addr addr;
	uint16_t port;
	unsigned code;
	struct sockaddr_storage peer; /* where the last probe came from */
	socklen_t peer_len;
	uint8_t req[65536];
	size_t req_len;
	struct sip_msg m;
};

static void
resp_open(struct resp *r, const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(r, 0, sizeof(*r));
	r->addr = addr_of(ip);
	r->code = 200;
	r->fd = socket(r->addr.family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(r->fd, 0);
	sl = sockaddr_of(&r->addr, 0, &ss);
	cr_assert_eq(bind(r->fd, (struct sockaddr *)&ss, sl), 0, "bind %s", ip);
	sl = sizeof(ss);
	cr_assert_eq(getsockname(r->fd, (struct sockaddr *)&ss, &sl), 0);
	r->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                        : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void
resp_close(struct resp *r)
{
	close(r->fd);
}

static struct health_target
target_of(const char *name, const struct resp *r)
{
	struct health_target t = {0};

	snprintf(t.name, sizeof(t.name), "%s", name);
	t.addr = r->addr;
	t.port = r->port;
	return t;
}

#define SP(r, f) (int)(r)->m.f.len, (const char *)(r)->req + (r)->m.f.off

static void
resp_send(struct resp *r, int fd, const char *msg, size_t len)
{
	cr_assert_eq(sendto(fd, msg, len, 0, (struct sockaddr *)&r->peer, r->peer_len),
	             (ssize_t)len);
}

/* Answer the last probe read. */
static void
resp_answer(struct resp *r, enum mode mode)
{
	char out[2048];
	const char *via_fmt = "%.*s";
	int n;

	if (mode == R_NONE)
		return;
	if (mode == R_MALFORMED) {
		n = snprintf(out, sizeof(out),
		             "SIP/2.0 200 OK\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\n"
		             "CSeq: %.*s %.*s\r\nContent-Length: 0\r\n\r\n",
		             SP(r, via), SP(r, from), SP(r, to), SP(r, cseq_num), SP(r, cseq_name));
		resp_send(r, r->fd, out, (size_t)n);
		return;
	}
	if (mode == R_REQUEST) {
		n = snprintf(
		        out, sizeof(out),
		        "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch="
		        "z9hG4bKreq\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:y@127.0.0.1>\r\n"
		        "Call-ID: req@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
		resp_send(r, r->fd, out, (size_t)n);
		return;
	}
	char via[512];

	if (mode == R_WRONG_BRANCH)
		snprintf(via, sizeof(via), "SIP/2.0/UDP %.*s:%u;branch=z9hG4bKnotyours;rport",
		         SP(r, via_host), (unsigned)r->m.via_port);
	else
		snprintf(via, sizeof(via), via_fmt, SP(r, via));
	n = snprintf(
	        out, sizeof(out),
	        "SIP/2.0 %u %s\r\nVia: %s\r\nFrom: %.*s\r\nTo: %.*s;tag=be1\r\n"
	        "Call-ID: %s%.*s\r\nCSeq: %s%.*s %.*s\r\nServer: test\r\nContent-Length: 0\r\n\r\n",
	        mode == R_PROVISIONAL ? 100u : r->code,
	        mode == R_PROVISIONAL ? "Trying" : "Whatever", via, SP(r, from), SP(r, to),
	        mode == R_WRONG_CALLID ? "x" : "", SP(r, call_id), mode == R_WRONG_CSEQ ? "1" : "",
	        SP(r, cseq_num), SP(r, cseq_name));
	cr_assert_lt((size_t)n, sizeof(out));
	if (mode == R_WRONG_SOURCE) {
		/* All of 127/8 is loopback on Linux: another local address, same machine. */
		struct resp other;

		resp_open(&other, "127.0.0.2");
		resp_send(r, other.fd, out, (size_t)n);
		resp_close(&other);
		return;
	}
	resp_send(r, r->fd, out, (size_t)n);
}

/* Read one probe (it must be a well-formed OPTIONS) and answer it. */
static void
resp_serve(struct resp *r, enum mode mode)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "no probe reached the responder");
	r->peer_len = sizeof(r->peer);
	n = recvfrom(r->fd, r->req, sizeof(r->req), 0, (struct sockaddr *)&r->peer, &r->peer_len);
	cr_assert_gt(n, 0);
	r->req_len = (size_t)n;
	cr_assert_eq(sip_parse(r->req, r->req_len, &r->m), SIP_OK, "probe: %s",
	             sip_verdict_str(sip_parse(r->req, r->req_len, &r->m)));
	cr_assert_eq(r->m.kind, SIP_REQUEST);
	cr_assert_eq(r->m.method, SIP_METHOD_OPTIONS);
	resp_answer(r, mode);
}

/* True when the responder has nothing to read (no probe was sent). */
static bool
resp_idle(struct resp *r)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 0;
}

/* ---- driving the checker ---- */

static struct health_params
params(void)
{
	struct health_params p;

	health_params_default(&p);
	return p;
}

static struct health *
make(const struct health_params *p, const struct health_target *t, unsigned n)
{
	char err[256] = "";
	struct health *h = health_create(p, t, n, record, NULL, err, sizeof(err));

	cr_assert_not_null(h, "health_create: %s", err);
	health_set_clock(h, fake_clock, NULL);
	nchanges = 0;
	return h;
}

static struct health_stats
stats(struct health *h)
{
	struct health_stats s;

	health_get_stats(h, &s);
	return s;
}

static struct health_status
status(struct health *h, const char *name)
{
	struct health_status s;

	cr_assert_eq(health_get(h, name, &s), 0, "no target %s", name);
	return s;
}

/* Poll without moving the clock until `want` datagrams in all have been read. */
static void
pump(struct health *h, uint64_t want)
{
	for (int i = 0; i < WAIT_MS / 100 && stats(h).received < want; i++)
		cr_assert_geq(health_poll_once(h, 100), 0);
	cr_assert_geq(stats(h).received, want, "replies never arrived");
}

/*
 * One probe interval for k targets whose probes were just sent: each responder reads
 * its probe and answers per modes[i]; the answers are read rtt_ms after the send; then
 * the clock reaches the end of the interval, which expires unanswered probes and sends
 * the next ones. Precondition and postcondition: one fresh probe waits at each responder.
 */
static void
round_k(struct health *h, struct resp **r, const enum mode *modes, unsigned k, unsigned rtt_ms)
{
	uint64_t expect = stats(h).received;

	for (unsigned i = 0; i < k; i++) {
		resp_serve(r[i], modes[i]);
		expect += modes[i] != R_NONE;
	}
	fake_now += rtt_ms * 1000u;
	pump(h, expect);
	fake_now += (1000u - rtt_ms) * 1000u;
	cr_assert_geq(health_poll_once(h, 0), 0);
}

static void
round1(struct health *h, struct resp *r, enum mode mode, unsigned rtt_ms)
{
	round_k(h, &r, &mode, 1, rtt_ms);
}

/* The first poll sends every target's first probe. */
static void
start(struct health *h, unsigned n)
{
	uint64_t sent = stats(h).sent;

	cr_assert_geq(health_poll_once(h, 0), 0);
	cr_assert_eq(stats(h).sent, sent + n, "first poll sent %" PRIu64 " probes, want %u",
	             stats(h).sent - sent, n);
}

/* ---- the probe on the wire ---- */

static bool
span_eq(const struct resp *r, struct sip_span sp, const char *s)
{
	return sp.len == strlen(s) && memcmp(r->req + sp.off, s, sp.len) == 0;
}

static bool
all_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static void
check_probe(const char *ip, const char *host_in_uri)
{
	struct resp r;
	struct health_params p = params();
	char want[256], branch1[64], callid1[64];
	uint32_t cseq1;

	resp_open(&r, ip);
	struct health_target t = target_of("b1", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	resp_serve(&r, R_NONE);

	struct health_status st = status(h, "b1");
	const struct sip_msg *m = &r.m;

	/* Start line and Request-URI. */
	snprintf(want, sizeof(want), "OPTIONS sip:%s:%u SIP/2.0\r\n", host_in_uri, r.port);
	cr_assert(r.req_len > strlen(want) && memcmp(r.req, want, strlen(want)) == 0,
	          "start line: %.*s", 60, (const char *)r.req);
	snprintf(want, sizeof(want), "sip:%s:%u", host_in_uri, r.port);
	cr_assert(span_eq(&r, m->uri, want));
	/* Via: our socket's address and port, UDP, a magic-cookie branch, rport. */
	cr_assert(memcmp(st.local.a, r.addr.a, 16) == 0 && st.local.family == r.addr.family,
	          "local address is not the loopback address the route gives");
	cr_assert_eq(m->via_transport, SIP_TRANSPORT_UDP);
	cr_assert(span_eq(&r, m->via_host, ip), "Via host %.*s", SP(&r, via_host));
	cr_assert_eq(m->via_port, st.local_port);
	cr_assert_neq(st.local_port, 0);
	{
		struct sockaddr_storage *ss = &r.peer;
		uint16_t src_port =
		        ntohs(ss->ss_family == AF_INET ? ((struct sockaddr_in *)ss)->sin_port
		                                       : ((struct sockaddr_in6 *)ss)->sin6_port);

		cr_assert_eq(src_port, st.local_port,
		             "probe sent from another port than the Via's");
	}
	cr_assert(m->flags & SIP_F_VIA_RPORT);
	cr_assert_eq(!!(m->flags & SIP_F_VIA_IPV6), r.addr.family == 6);
	cr_assert_eq(m->via_branch.len, 7u + 16u);
	cr_assert(memcmp(r.req + m->via_branch.off, "z9hG4bK", 7) == 0);
	cr_assert(all_hex(r.req + m->via_branch.off + 7, 16));
	cr_assert_eq(m->via_count, 1);
	/* Max-Forwards, From, To, Call-ID, CSeq, Content-Length. */
	cr_assert(m->flags & SIP_F_MAX_FORWARDS);
	cr_assert_eq(m->max_forwards, 70);
	snprintf(want, sizeof(want), "<sip:siphon@%s>;tag=", host_in_uri);
	cr_assert(m->from.len == strlen(want) + 16 &&
	                  memcmp(r.req + m->from.off, want, strlen(want)) == 0,
	          "From: %.*s", SP(&r, from));
	cr_assert_eq(m->from_tag.len, 16u);
	cr_assert(all_hex(r.req + m->from_tag.off, 16));
	snprintf(want, sizeof(want), "<sip:%s:%u>", host_in_uri, r.port);
	cr_assert(span_eq(&r, m->to, want), "To: %.*s", SP(&r, to));
	cr_assert_eq(m->to_tag.len, 0);
	cr_assert_eq(m->call_id.len, 16u + 7u);
	cr_assert(all_hex(r.req + m->call_id.off, 16));
	cr_assert(memcmp(r.req + m->call_id.off + 16, "@siphon", 7) == 0);
	cr_assert_eq(m->cseq_method, SIP_METHOD_OPTIONS);
	cr_assert(span_eq(&r, m->cseq_name, "OPTIONS"));
	cr_assert(m->flags & SIP_F_CONTENT_LENGTH);
	cr_assert_eq(m->content_length, 0);
	cr_assert_eq(m->body.len, 0);
	cr_assert_eq(m->msg_len, r.req_len, "bytes after the message");
	cr_assert_eq(m->route.len, 0);
	/* The two headers the scanner does not index. */
	cr_assert_not_null(memmem(r.req, r.req_len, "\r\nUser-Agent: siphon\r\n", 22));
	cr_assert_not_null(memmem(r.req, r.req_len, "\r\nAccept: application/sdp\r\n", 27));
	cr_assert(r.req_len > 4 && memcmp(r.req + r.req_len - 4, "\r\n\r\n", 4) == 0);

	/* The next probe: new branch, tag and Call-ID, CSeq + 1. */
	snprintf(branch1, sizeof(branch1), "%.*s", SP(&r, via_branch));
	snprintf(callid1, sizeof(callid1), "%.*s", SP(&r, call_id));
	cseq1 = m->cseq;
	fake_now += 1000000;
	health_poll_once(h, 0);
	resp_serve(&r, R_NONE);
	cr_assert(!span_eq(&r, m->via_branch, branch1), "branch reused");
	cr_assert(!span_eq(&r, m->call_id, callid1), "Call-ID reused");
	cr_assert_eq(m->cseq, cseq1 + 1);
	health_destroy(h);
	resp_close(&r);
}

Test(health, probe_bytes_ipv4)
{
	check_probe("127.0.0.1", "127.0.0.1");
}

Test(health, probe_bytes_ipv6)
{
	check_probe("::1", "[::1]");
}

/* ---- state machine ---- */

static void
rise_then_fall(const char *ip)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, ip);
	struct health_target t = target_of("b1", &r);
	struct health *h = make(&p, &t, 1);

	cr_assert_eq(status(h, "b1").state, HEALTH_UNKNOWN);
	start(h, 1);
	round1(h, &r, R_CODE, 8);
	cr_assert_eq(status(h, "b1").state, HEALTH_UNKNOWN, "UP after one success (rise 2)");
	cr_assert_eq(status(h, "b1").succ_run, 1);
	cr_assert_eq(status(h, "b1").rtt_last_us, 8000);
	cr_assert_eq(status(h, "b1").rtt_ewma_us, 8000, "first sample sets the EWMA");
	round1(h, &r, R_CODE, 16);
	cr_assert_eq(status(h, "b1").state, HEALTH_UP);
	cr_assert_eq(status(h, "b1").rtt_last_us, 16000);
	cr_assert_eq(status(h, "b1").rtt_ewma_us, 9000, "8000 + (16000 - 8000) / 8");
	cr_assert_eq(status(h, "b1").last_code, 200);
	round1(h, &r, R_CODE, 0);
	cr_assert_eq(status(h, "b1").rtt_ewma_us, 9000 - 9000 / 8);

	/* Silence: DOWN after exactly fall = 3 timeouts. */
	round1(h, &r, R_NONE, 0);
	round1(h, &r, R_NONE, 0);
	cr_assert_eq(status(h, "b1").state, HEALTH_UP, "DOWN after two timeouts (fall 3)");
	cr_assert_eq(status(h, "b1").fail_run, 2);
	round1(h, &r, R_NONE, 0);
	cr_assert_eq(status(h, "b1").state, HEALTH_DOWN);
	/* Back: UP after exactly rise = 2 answers. */
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b1").state, HEALTH_DOWN, "UP after one success (rise 2)");
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b1").state, HEALTH_UP);

	struct health_status st = status(h, "b1");

	cr_assert_eq(st.probes, 9, "%" PRIu64 " probes", st.probes); /* 8 rounds + 1 sent */
	cr_assert_eq(st.replies, 5);
	cr_assert_eq(st.timeouts, 3);
	cr_assert_eq(stats(h).matched, 5);
	cr_assert_eq(stats(h).unmatched + stats(h).malformed + stats(h).late, 0);
	cr_assert_eq(health_generation(h), 3);

	const struct change want[] = {
	        {"b1", HEALTH_UNKNOWN, HEALTH_UP},
	        {"b1", HEALTH_UP, HEALTH_DOWN},
	        {"b1", HEALTH_DOWN, HEALTH_UP},
	};
	expect_changes(want, 3);
	health_destroy(h);
	resp_close(&r);
}

Test(health, rise_fall_ipv4)
{
	rise_then_fall("127.0.0.1");
}

Test(health, rise_fall_ipv6)
{
	rise_then_fall("::1");
}

Test(health, non_responder_goes_down)
{
	struct resp r;
	struct health_params p = params();

	p.fall = 4;
	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("mute", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	for (int i = 1; i <= 4; i++) {
		cr_assert_eq(status(h, "mute").state, HEALTH_UNKNOWN, "DOWN after %d timeouts",
		             i - 1);
		round1(h, &r, R_NONE, 0);
	}
	cr_assert_eq(status(h, "mute").state, HEALTH_DOWN);
	cr_assert_eq(status(h, "mute").timeouts, 4);
	cr_assert_eq(status(h, "mute").rtt_last_us, 0, "RTT without a reply");
	cr_assert_eq(status(h, "mute").last_code, 0);
	round1(h, &r, R_NONE, 0);
	const struct change want[] = {{"mute", HEALTH_UNKNOWN, HEALTH_DOWN}};

	expect_changes(want, 1);
	health_destroy(h);
	resp_close(&r);
}

Test(health, overloaded_503)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, R_CODE, 1);
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_UP);
	r.code = 503;
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_OVERLOADED, "one 503 overloads at once");
	cr_assert_eq(status(h, "b").last_code, 503);
	cr_assert_eq(health_dispatch_state(status(h, "b").state), MAGLEV_DRAIN);
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_OVERLOADED);
	cr_assert_eq(status(h, "b").fail_run, 0, "503 is no failure");
	r.code = 200;
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_UP, "one non-503 answer ends overload");

	/* From DOWN, 503s count towards rise, and lead to OVERLOADED, not UP. */
	round1(h, &r, R_NONE, 0);
	round1(h, &r, R_NONE, 0);
	round1(h, &r, R_NONE, 0);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN);
	r.code = 503;
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN, "DOWN left after one answer (rise 2)");
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_OVERLOADED);
	/* Silence while overloaded: DOWN after fall. */
	round1(h, &r, R_NONE, 0);
	round1(h, &r, R_NONE, 0);
	round1(h, &r, R_NONE, 0);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN);

	const struct change want[] = {
	        {"b", HEALTH_UNKNOWN, HEALTH_UP},      {"b", HEALTH_UP, HEALTH_OVERLOADED},
	        {"b", HEALTH_OVERLOADED, HEALTH_UP},   {"b", HEALTH_UP, HEALTH_DOWN},
	        {"b", HEALTH_DOWN, HEALTH_OVERLOADED}, {"b", HEALTH_OVERLOADED, HEALTH_DOWN},
	};
	expect_changes(want, 6);
	health_destroy(h);
	resp_close(&r);
}

Test(health, unknown_overloaded_at_once)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, "::1");
	r.code = 503;
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_OVERLOADED);
	const struct change want[] = {{"b", HEALTH_UNKNOWN, HEALTH_OVERLOADED}};

	expect_changes(want, 1);
	health_destroy(h);
	resp_close(&r);
}

Test(health, any_final_response_is_alive)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, "127.0.0.1");
	r.code = 404;
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, R_CODE, 1);
	r.code = 699;
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_UP, "404 and 699 are answers (default accept)");
	cr_assert_eq(status(h, "b").last_code, 699);
	health_destroy(h);
	resp_close(&r);
}

Test(health, unaccepted_code_fails_at_once)
{
	struct resp r;
	struct health_params p = params();

	health_accept_range(&p, 0, 699, 0);
	health_accept_range(&p, 200, 299, 1);
	cr_assert(health_accepts(&p, 200) && !health_accepts(&p, 404) && !health_accepts(&p, 700));
	resp_open(&r, "127.0.0.1");
	r.code = 404;
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, R_CODE, 1);
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_UNKNOWN);
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN, "3 x 404 with only 2xx accepted");
	cr_assert_eq(status(h, "b").timeouts, 0, "a refusal is no timeout");
	cr_assert_eq(status(h, "b").replies, 3);
	const struct change want[] = {{"b", HEALTH_UNKNOWN, HEALTH_DOWN}};

	expect_changes(want, 1);
	health_destroy(h);
	resp_close(&r);
}

Test(health, provisional_keeps_waiting)
{
	struct resp r;
	struct health_params p = params();

	p.fall = 1;
	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, R_PROVISIONAL, 1);
	cr_assert_eq(stats(h).provisional, 1);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN, "a 100 alone is a timeout");
	cr_assert_eq(status(h, "b").timeouts, 1);
	health_destroy(h);
	resp_close(&r);
}

/* ---- what is not a reply ---- */

/* Each bad answer is counted where it belongs and leaves the probe to time out. */
static void
ignored(enum mode mode, uint64_t (*counter)(const struct health_stats *), const char *what)
{
	struct resp r;
	struct health_params p = params();

	p.fall = 1;
	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	round1(h, &r, mode, 1);
	struct health_stats s = stats(h);

	cr_assert_eq(counter(&s), 1, "%s not counted", what);
	cr_assert_eq(s.received, 1);
	cr_assert_eq(s.matched, 0, "%s matched a probe", what);
	cr_assert_eq(s.malformed + s.requests + s.unmatched + s.late + s.wrong_source, 1,
	             "%s counted twice", what);
	cr_assert_eq(status(h, "b").state, HEALTH_DOWN, "%s kept the probe from timing out", what);
	cr_assert_eq(status(h, "b").replies, 0);
	cr_assert_eq(status(h, "b").rtt_last_us, 0);
	health_destroy(h);
	resp_close(&r);
}

static uint64_t
c_malformed(const struct health_stats *s)
{
	return s->malformed;
}
static uint64_t
c_unmatched(const struct health_stats *s)
{
	return s->unmatched;
}
static uint64_t
c_requests(const struct health_stats *s)
{
	return s->requests;
}
static uint64_t
c_wrong_source(const struct health_stats *s)
{
	return s->wrong_source;
}

Test(health, malformed_reply_ignored)
{
	ignored(R_MALFORMED, c_malformed, "malformed reply");
}

Test(health, wrong_branch_ignored)
{
	ignored(R_WRONG_BRANCH, c_unmatched, "wrong-branch reply");
}

Test(health, wrong_call_id_ignored)
{
	ignored(R_WRONG_CALLID, c_unmatched, "wrong-Call-ID reply");
}

Test(health, wrong_cseq_ignored)
{
	ignored(R_WRONG_CSEQ, c_unmatched, "wrong-CSeq reply");
}

Test(health, request_ignored)
{
	ignored(R_REQUEST, c_requests, "request");
}

Test(health, wrong_source_ignored)
{
	ignored(R_WRONG_SOURCE, c_wrong_source, "reply from another address");
}

Test(health, late_reply_counted)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	resp_serve(&r, R_NONE); /* keep the first probe in r */
	fake_now += 1000000;    /* it expires; the second is sent */
	health_poll_once(h, 0);
	cr_assert_eq(status(h, "b").timeouts, 1);
	resp_answer(&r, R_CODE); /* answer the first, too late */
	pump(h, 1);
	cr_assert_eq(stats(h).late, 1);
	cr_assert_eq(stats(h).matched, 0);
	cr_assert_eq(status(h, "b").replies, 0);
	/* The second probe is still answered normally. */
	round1(h, &r, R_CODE, 1);
	cr_assert_eq(stats(h).matched, 1);
	health_destroy(h);
	resp_close(&r);
}

Test(health, junk_datagrams)
{
	struct resp r;
	struct health_params p = params();
	static uint8_t big[65000];

	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	resp_serve(&r, R_NONE);
	memset(big, 'A', sizeof(big));
	resp_send(&r, r.fd, (const char *)big, sizeof(big));
	resp_send(&r, r.fd, "\r\n\r\n", 4);
	resp_send(&r, r.fd, "", 0);
	resp_send(&r, r.fd, "SIP/2.0 200 OK\r\n", 16);
	pump(h, 4);
	cr_assert_eq(stats(h).malformed, 4);
	cr_assert_eq(status(h, "b").state, HEALTH_UNKNOWN);
	health_destroy(h);
	resp_close(&r);
}

/* ---- reconfiguration ---- */

Test(health, set_targets_keeps_unchanged)
{
	struct resp ra, rb, rb2, rc;
	struct health_params p = params();
	char err[256] = "";

	resp_open(&ra, "127.0.0.1");
	resp_open(&rb, "::1");
	resp_open(&rb2, "::1");
	resp_open(&rc, "127.0.0.1");
	struct health_target t[3] = {target_of("a", &ra), target_of("b", &rb)};
	struct health *h = make(&p, t, 2);
	struct resp *both[2] = {&ra, &rb};
	const enum mode ok[2] = {R_CODE, R_CODE};

	start(h, 2);
	round_k(h, both, ok, 2, 3);
	round_k(h, both, ok, 2, 3);
	cr_assert_eq(status(h, "a").state, HEALTH_UP);
	cr_assert_eq(status(h, "b").state, HEALTH_UP);
	struct health_status a_before = status(h, "a");

	/* New set, in another order: c added, b moved to another port, a unchanged. */
	struct health_target t2[3] = {target_of("c", &rc), target_of("b", &rb2),
	                              target_of("a", &ra)};

	cr_assert_eq(health_set_targets(h, t2, 3, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nchanges, 2, "set_targets made callbacks");
	struct health_status a_after = status(h, "a");

	cr_assert_eq(a_after.state, HEALTH_UP);
	cr_assert_eq(a_after.replies, a_before.replies);
	cr_assert_eq(a_after.rtt_ewma_us, a_before.rtt_ewma_us);
	cr_assert_eq(a_after.since_us, a_before.since_us);
	cr_assert_eq(status(h, "b").state, HEALTH_UNKNOWN, "b's address changed");
	cr_assert_eq(status(h, "b").port, rb2.port);
	cr_assert_eq(status(h, "b").replies, 0);
	cr_assert_eq(status(h, "c").state, HEALTH_UNKNOWN);

	struct health_status list[4];

	cr_assert_eq(health_list(h, list, 4), 3);
	cr_assert_str_eq(list[0].name, "c");
	cr_assert_str_eq(list[2].name, "a");

	/* a's probe in flight survives and is answered; b and c are probed at once. */
	cr_assert_geq(health_poll_once(h, 0), 0);
	struct resp *three[3] = {&ra, &rb2, &rc};
	const enum mode ok3[3] = {R_CODE, R_CODE, R_CODE};

	resp_serve(&rb, R_NONE); /* the probe sent to the old b before the change */
	cr_assert(resp_idle(&rb), "the old b was probed again");
	cr_assert(resp_idle(&ra) == false, "a's probe in flight was lost");
	round_k(h, three, ok3, 3, 2);
	round_k(h, three, ok3, 3, 2);
	cr_assert_eq(status(h, "a").replies, a_before.replies + 2);
	cr_assert_eq(status(h, "b").state, HEALTH_UP);
	cr_assert_eq(status(h, "c").state, HEALTH_UP);
	cr_assert_eq(stats(h).unmatched + stats(h).late, 0);

	/* Bad sets are refused whole. */
	struct health_target dup[2] = {target_of("a", &ra), target_of("a", &rc)};

	cr_assert_eq(health_set_targets(h, dup, 2, err, sizeof(err)), -1);
	cr_assert(strstr(err, "duplicate") != NULL, "%s", err);
	cr_assert_eq(health_list(h, NULL, 0), 3, "a refused set replaced the targets");

	/* Removal forgets. */
	cr_assert_eq(health_set_targets(h, &t2[2], 1, err, sizeof(err)), 0, "%s", err);
	struct health_status st;

	cr_assert_eq(health_get(h, "b", &st), -1);
	cr_assert_eq(health_get(h, "c", &st), -1);
	cr_assert_eq(status(h, "a").state, HEALTH_UP);

	const struct change want[] = {
	        {"a", HEALTH_UNKNOWN, HEALTH_UP},
	        {"b", HEALTH_UNKNOWN, HEALTH_UP},
	        /* Same turn: replies are read socket by socket, the IPv4 one (opened first,
	         * for a) before the IPv6 one, so c changes before b. */
	        {"c", HEALTH_UNKNOWN, HEALTH_UP},
	        {"b", HEALTH_UNKNOWN, HEALTH_UP},
	};
	expect_changes(want, 4);
	health_destroy(h);
	resp_close(&ra);
	resp_close(&rb);
	resp_close(&rb2);
	resp_close(&rc);
}

Test(health, source_address)
{
	struct resp r;
	struct health_params p = params();

	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);

	t.src = addr_of("127.0.0.3");
	struct health *h = make(&p, &t, 1);

	start(h, 1);
	resp_serve(&r, R_CODE);
	cr_assert(span_eq(&r, r.m.via_host, "127.0.0.3"), "Via %.*s", SP(&r, via_host));
	cr_assert_eq(((struct sockaddr_in *)&r.peer)->sin_addr.s_addr, inet_addr("127.0.0.3"));
	fake_now += 1000;
	pump(h, 1);
	cr_assert_eq(stats(h).matched, 1);
	health_destroy(h);
	resp_close(&r);
}

/* ---- validation ---- */

Test(health, params_checked)
{
	struct health_params p;
	char err[256];

	health_params_default(&p);
	cr_assert_eq(p.interval_ms, 1000);
	cr_assert_eq(p.timeout_ms, 1000);
	cr_assert_eq(p.fall, 3);
	cr_assert_eq(p.rise, 2);
	cr_assert_eq(p.overload_code, 503);
	cr_assert(!health_accepts(&p, 199) && health_accepts(&p, 200) && health_accepts(&p, 699) &&
	          !health_accepts(&p, 700));
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), 0);

	health_params_default(&p);
	p.timeout_ms = 1001;
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "timeout") != NULL, "%s", err);
	health_params_default(&p);
	p.interval_ms = 5;
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "interval") != NULL, "%s", err);
	health_params_default(&p);
	p.fall = 0;
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "fall") != NULL, "%s", err);
	health_params_default(&p);
	p.rise = 101;
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "rise") != NULL, "%s", err);
	health_params_default(&p);
	p.overload_code = 99;
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	health_params_default(&p);
	p.overload_code = 0;
	health_accept_range(&p, 0, 100000, 0);
	cr_assert_eq(health_params_check(&p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "accepted") != NULL, "%s", err);
	cr_assert_null(health_create(&p, NULL, 0, NULL, NULL, err, sizeof(err)));
}

Test(health, targets_checked)
{
	struct health_params p = params();
	struct health_target t = {.name = "b", .port = 5060};
	char err[256];

	t.addr = addr_of("127.0.0.1");
	struct health_target bad;

	bad = t;
	bad.port = 0;
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "port") != NULL, "%s", err);
	bad = t;
	bad.addr.family = 5;
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	bad = t;
	bad.name[0] = '\0';
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	bad = t;
	memset(bad.name, 'x', sizeof(bad.name)); /* no NUL */
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	bad = t;
	bad.src = addr_of("::1");
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	bad = t;
	bad.src = addr_of("192.0.2.77"); /* TEST-NET-1: not ours, bind fails */
	cr_assert_null(health_create(&p, &bad, 1, NULL, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "bind") != NULL, "%s", err);

	struct health *h = health_create(&p, NULL, 0, NULL, NULL, err, sizeof(err));

	cr_assert_not_null(h, "%s", err);
	cr_assert_eq(health_list(h, NULL, 0), 0);
	health_destroy(h);
	health_destroy(NULL);
}

Test(health, names_and_dispatch)
{
	cr_assert_str_eq(health_state_name(HEALTH_UNKNOWN), "unknown");
	cr_assert_str_eq(health_state_name(HEALTH_UP), "up");
	cr_assert_str_eq(health_state_name(HEALTH_DOWN), "down");
	cr_assert_str_eq(health_state_name(HEALTH_OVERLOADED), "overloaded");
	cr_assert_str_eq(health_state_name(99), "invalid");
	cr_assert_eq(health_dispatch_state(HEALTH_UNKNOWN), MAGLEV_UP);
	cr_assert_eq(health_dispatch_state(HEALTH_UP), MAGLEV_UP);
	cr_assert_eq(health_dispatch_state(HEALTH_OVERLOADED), MAGLEV_DRAIN);
	cr_assert_eq(health_dispatch_state(HEALTH_DOWN), MAGLEV_DOWN);
}

/* ---- the thread, on the real clock ---- */

static _Atomic unsigned thread_changes;

static void
count_change(const char *name, enum health_state o, enum health_state n, void *arg)
{
	(void)name;
	(void)o;
	(void)arg;
	if (n == HEALTH_UP)
		thread_changes++;
}

Test(health, thread_runs)
{
	struct resp r;
	struct health_params p = params();
	char err[256] = "";

	p.interval_ms = 20;
	p.timeout_ms = 20;
	resp_open(&r, "127.0.0.1");
	struct health_target t = target_of("b", &r);
	struct health *h = health_create(&p, &t, 1, count_change, NULL, err, sizeof(err));

	cr_assert_not_null(h, "%s", err);
	cr_assert_eq(health_start(h, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(health_start(h, err, sizeof(err)), -1, "started twice");
	cr_assert_eq(health_poll_once(h, 0), -1, "polled beside the thread");
	/* Answer until UP; each wait is bounded, none is a threshold. */
	for (int i = 0; i < 50 && status(h, "b").state != HEALTH_UP; i++)
		resp_serve(&r, R_CODE);
	for (int i = 0; i < WAIT_MS / 10 && thread_changes == 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	cr_assert_eq(status(h, "b").state, HEALTH_UP);
	cr_assert_eq(thread_changes, 1);
	health_stop(h);
	health_stop(h);
	cr_assert_geq(health_poll_once(h, 0), 0, "poll after stop");
	health_destroy(h);
	resp_close(&r);
}
