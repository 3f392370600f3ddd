/*
 * test_rules_dp.c - Criterion suite for operator rules in the dataplane (dataplane/rulecheck.c
 * and the worker's rules path): what the rule engine's own suite (test_rules.c) cannot see,
 * through the real dp_setup(), snap_build_trans(), snap_publish() and dp_worker_burst() of
 * one worker on a port made with rte_eth_from_rings(): source prefixes and the VIP a rule
 * names, trusted sources skipping a dropping rule for a later one, route and limit rules
 * dispatching by their copy of the VIP, in-dialog requests and responses untouched, the
 * Call-ID hash the rules made dispatching as the worker's own would, a set shared by
 * snapshots of the same expressions, and counters carried across sets by name.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "worker.h"

#define RINGS  "rules"
#define DEVICE "net_ring_" RINGS

/* Two VIPs on the core group, a quarantine group for route rules; rules of every kind. */
#define CONF_HEAD                                                                                  \
	"hash_key_hex = \"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n"   \
	"ports = ( { name = \"net0\"; device = \"" DEVICE "\";\n"                                  \
	"  addresses = [ \"192.0.2.2/24\", \"2001:db8::2/64\" ]; } );\n"                           \
	"groups = ( { name = \"core\"; backends = (\n"                                             \
	"  { name = \"b1\"; address = \"192.0.2.21\"; mac = \"02:00:00:00:00:21\"; } ); },\n"      \
	" { name = \"quarantine\"; backends = (\n"                                                 \
	"  { name = \"q1\"; address = \"192.0.2.31\"; mac = \"02:00:00:00:00:31\"; } ); } );\n"    \
	"vips = (\n"                                                                               \
	" { address = \"192.0.2.10\"; group = \"core\"; trusted = [ \"198.51.100.0/24\" ];\n"      \
	"   rate_register = 1; burst_register = 1; },\n"                                           \
	" { address = \"2001:db8::10\"; group = \"core\"; } );\n"
#define RULES_A                                                                                    \
	"rules = (\n"                                                                              \
	" { name = \"scan\"; match = { user_agent = \"scanner\"; }; action = \"drop\";\n"          \
	"   source = [ \"203.0.113.128/25\", \"2001:db8:66::/48\" ]; },\n"                         \
	" { name = \"v6only\"; match = { user_agent = \"^v6tool\"; }; action = \"drop\";\n"        \
	"   vip = \"2001:db8::10\"; },\n"                                                          \
	" { name = \"quar\"; match = { request_uri = \"^sip:00\"; }; action = \"route\";\n"        \
	"   group = \"quarantine\"; },\n"                                                          \
	" { name = \"slow\"; match = { user_agent = \"^slow\"; }; action = \"limit\";\n"           \
	"   class = \"register\"; vip = \"192.0.2.10\"; },\n"                                      \
	" { name = \"seen\"; match = { user_agent = \"scanner\"; }; action = \"tag\"; } );\n"

static struct {
	struct sph_cfg *cfg;
	struct dp dp;
	struct rte_ring *rxr, *txr;
} E;

static struct sph_cfg *
load(const char *text)
{
	char path[] = "/tmp/test_rules_dp.XXXXXX", err[512];
	struct sph_cfg *cfg = NULL;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), 0, "cfg_load: %s", err);
	unlink(path);
	return cfg;
}

static void
setup(void)
{
	char prefix[64], err[512];
	char *argv[] = {"test_rules_dp",  "--no-huge",           "-m",   "512",
	                "--no-pci",       "--no-shconf",         prefix, "--lcores=(0-1)@0",
	                "--no-telemetry", "--log-level=*:error", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=test_rules_dp_%ld", (long)getpid());
	cr_assert_geq(rte_eal_init((int)SPH_ARRAY_SIZE(argv) - 1, argv), 0, "rte_eal_init: %s",
	              rte_strerror(rte_errno));
	E.rxr = rte_ring_create("rrx", 1024, (int)rte_socket_id(), 0);
	E.txr = rte_ring_create("rtx", 1024, (int)rte_socket_id(), 0);
	cr_assert(E.rxr != NULL && E.txr != NULL);
	cr_assert_geq(rte_eth_from_rings(RINGS, &E.rxr, 1, &E.txr, 1, rte_socket_id()), 0,
	              "rte_eth_from_rings: %s", rte_strerror(rte_errno));
	E.cfg = load(CONF_HEAD RULES_A);
	pthread_mutex_init(&E.dp.ctl_lock, NULL);
	cr_assert_eq(dp_setup(&E.dp, E.cfg, true, err, sizeof(err)), 0, "dp_setup: %s", err);
	cr_assert_eq(E.dp.nb_workers, 1u);
}

static void
teardown(void)
{
	dp_teardown(&E.dp);
	cfg_free(E.cfg);
	rte_eal_cleanup();
}

TestSuite(rules_dp, .init = setup, .fini = teardown);

static void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One SIP message from src (an IPv4 or IPv6 literal) to dst, UDP 5060 to 5060. */
static struct rte_mbuf *
frame(const char *src, const char *dst, const char *sip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);
	struct cfg_addr s, d;
	uint16_t port;
	uint32_t n = (uint32_t)strlen(sip), l3;
	uint8_t *f;

	cr_assert_not_null(m);
	cr_assert_eq(cfg_addr_parse(src, &s, &port), 0);
	cr_assert_eq(cfg_addr_parse(dst, &d, &port), 0);
	l3 = s.family == 4 ? 20 : 40;
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + l3 + 8 + n));
	cr_assert_not_null(f);
	memset(f, 0, 14 + l3 + 8);
	f[6] = 0x02, f[11] = 1;
	wr16(f + 12, s.family == 4 ? 0x0800 : 0x86dd);
	if (s.family == 4) {
		uint8_t *h = f + 14;
		uint32_t sum = 0;

		h[0] = 0x45;
		wr16(h + 2, 20 + 8 + n);
		wr16(h + 6, 0x4000);
		h[8] = 64;
		h[9] = 17;
		memcpy(h + 12, s.a + 12, 4);
		memcpy(h + 16, d.a + 12, 4);
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)h[i] << 8 | h[i + 1];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		wr16(h + 10, ~sum & 0xffff);
	} else {
		uint8_t *h = f + 14;

		h[0] = 0x60;
		wr16(h + 4, 8 + n);
		h[6] = 17;
		h[7] = 64;
		memcpy(h + 8, s.a, 16);
		memcpy(h + 24, d.a, 16);
	}
	wr16(f + 14 + l3, 5060);
	wr16(f + 14 + l3 + 2, 5060);
	wr16(f + 14 + l3 + 4, 8 + n);
	wr16(f + 14 + l3 + 6, 0x1234); /* the port keeps checksums as they come */
	memcpy(f + 14 + l3 + 8, sip, n);
	m->port = E.dp.ports[0].port_id;
	return m;
}

static const char *
req(char *buf, size_t len, const char *method, const char *uri, const char *to_tag, const char *ua,
    unsigned id)
{
	snprintf(buf, len,
	         "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-%u\r\n"
	         "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
	         "To: <sip:bob@example.com>%s\r\nCall-ID: call-%u@example.com\r\n"
	         "CSeq: 1 %s\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n",
	         method, uri, id, to_tag, id, method, ua);
	return buf;
}

/* Where one message went: the last byte of the backend's MAC (0x21 b1, 0x31 q1), or 0
 * when it was dropped. */
static unsigned
send_one(const char *src, const char *dst, const char *sip)
{
	struct rte_mbuf *m = frame(src, dst, sip), *out = NULL;
	unsigned got = 0;

	dp_worker_burst(E.dp.workers[0], &m, 1);
	dp_worker_flush(E.dp.workers[0]);
	if (rte_ring_dequeue(E.txr, (void **)&out) == 0) {
		got = rte_pktmbuf_mtod(out, uint8_t *)[5];
		rte_pktmbuf_free(out);
	}
	cr_assert_eq(rte_ring_count(E.txr), 0u);
	return got;
}

static uint64_t
matches(const char *name)
{
	const struct snap *s = E.dp.snap;
	struct snap_rule_stats st;

	for (unsigned i = 0; i < snap_rules_count(s); i++)
		if (strcmp(snap_rule_name(s, i), name) == 0) {
			snap_rule_stats(s, i, &st);
			return st.matches;
		}
	cr_assert_fail("no rule %s", name);
	return 0;
}

static unsigned id;

static unsigned
invite(const char *src, const char *dst, const char *uri, const char *ua)
{
	char b[1024];

	return send_one(src, dst, req(b, sizeof(b), "INVITE", uri, "", ua, ++id));
}

Test(rules_dp, sources_vips_trusted_and_first_match)
{
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t drop0 = st->rule_drop, tag0 = st->rule_tag;

	/* In the drop rule's /25: dropped. Outside it: the later tag rule matches. */
	cr_assert_eq(invite("203.0.113.200", "192.0.2.10", "sip:bob@example.com", "scanner/1"), 0u);
	cr_assert_eq(invite("203.0.113.5", "192.0.2.10", "sip:bob@example.com", "scanner/1"),
	             0x21u);
	/* IPv6 sources match the rule's /48. */
	cr_assert_eq(invite("2001:db8:66:1::9", "2001:db8::10", "sip:bob@example.com", "scanner"),
	             0u);
	cr_assert_eq(invite("2001:db8:67::9", "2001:db8::10", "sip:bob@example.com", "scanner"),
	             0x21u);
	/* A rule naming a VIP applies there only. */
	cr_assert_eq(invite("2001:db8:5::1", "2001:db8::10", "sip:x@example.com", "v6tool"), 0u);
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:x@example.com", "v6tool"), 0x21u);
	cr_assert_eq(st->rule_drop - drop0, 3u);
	cr_assert_eq(st->rule_tag - tag0, 2u);
	cr_assert_eq(matches("scan"), 2u);
	cr_assert_eq(matches("v6only"), 1u);
	cr_assert_eq(matches("seen"), 2u);
}

Test(rules_dp, trusted_skip_a_drop_rule)
{
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t drop0 = st->rule_drop;

	/* A list whose drop rule covers every source: 198.51.100.7, trusted at 192.0.2.10,
	 * skips it, and the tag rule after it still counts the request. */
	struct sph_cfg *c = load(CONF_HEAD "rules = (\n"
	                                   " { name = \"all\"; match = { user_agent = \"bot\"; };"
	                                   " action = \"drop\"; },\n"
	                                   " { name = \"after\"; match = { user_agent = \"bot\"; };"
	                                   " action = \"tag\"; } );\n");
	char err[256];
	struct snap *s = snap_build_trans(&E.dp, c, NULL, E.dp.snap, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	snap_publish(&E.dp, s);
	cr_assert_eq(invite("198.51.100.7", "192.0.2.10", "sip:bob@example.com", "bot"), 0x21u);
	cr_assert_eq(invite("198.51.101.7", "192.0.2.10", "sip:bob@example.com", "bot"), 0u);
	cr_assert_eq(st->rule_drop - drop0, 1u);
	cr_assert_eq(matches("all"), 1u);
	cr_assert_eq(matches("after"), 1u);
	cfg_free(c);
}

Test(rules_dp, route_and_limit)
{
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t lim0 = st->limit_register, inv0 = st->limit_invite;

	/* Route: dispatched by the quarantine group's table, the VIP's own untouched. */
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:0044123@example.com", "p"), 0x31u);
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:44123@example.com", "p"), 0x21u);
	/* Limit: INVITEs charged to the REGISTER bucket (1/s, burst 1): the first passes,
	 * the next ones in the same second do not; other INVITEs are not limited. */
	cr_assert_eq(invite("192.0.2.77", "192.0.2.10", "sip:bob@example.com", "slow/1"), 0x21u);
	cr_assert_eq(invite("192.0.2.77", "192.0.2.10", "sip:bob@example.com", "slow/1"), 0u);
	cr_assert_eq(invite("192.0.2.77", "192.0.2.10", "sip:bob@example.com", "fast/1"), 0x21u);
	cr_assert_eq(st->limit_register - lim0, 1u);
	cr_assert_eq(st->limit_invite - inv0, 0u);
	/* After a route rule's request, the next one to the VIP goes by the VIP's group. */
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:0044123@example.com", "p"), 0x31u);
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:bob@example.com", "p"), 0x21u);
}

Test(rules_dp, a_routed_dialog_stays_routed)
{
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t fol0 = st->rule_route_followed;
	unsigned routed, plain;
	char b[1024];

	/* The routed INVITE's CANCEL, ACK and BYE (which no rule sees: the last two carry a
	 * To tag, and no rule matches a CANCEL) follow it to the quarantine group. */
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:0044123@example.com", "p"), 0x31u);
	routed = id;
	cr_assert_eq(
	        send_one("192.0.2.99", "192.0.2.10",
	                 req(b, sizeof(b), "CANCEL", "sip:0044123@example.com", "", "p", routed)),
	        0x31u);
	cr_assert_eq(send_one("192.0.2.99", "192.0.2.10",
	                      req(b, sizeof(b), "ACK", "sip:0044123@example.com", ";tag=b1", "p",
	                          routed)),
	             0x31u);
	cr_assert_eq(
	        send_one("192.0.2.99", "192.0.2.10",
	                 req(b, sizeof(b), "BYE", "sip:bob@192.0.2.31", ";tag=b1", "p", routed)),
	        0x31u);
	cr_assert_eq(st->rule_route_followed - fol0, 3u);
	/* A call no rule routed: its BYE goes by the VIP's own group, as before. */
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:bob@example.com", "p"), 0x21u);
	plain = id;
	cr_assert_eq(
	        send_one("192.0.2.99", "192.0.2.10",
	                 req(b, sizeof(b), "BYE", "sip:bob@192.0.2.21", ";tag=b1", "p", plain)),
	        0x21u);
	cr_assert_eq(st->rule_route_followed - fol0, 3u);
}

/* The last MAC byte of the backend group g's table picks for call_id, as the worker's
 * dispatch does: keyhash_calc() of the snapshot's key, then Maglev (no window open). */
static unsigned
expected(unsigned g, const char *call_id)
{
	const struct snap *s = E.dp.snap;
	const struct snap_group *gr = &s->groups[g];
	uint16_t slot = maglev_lookup(gr->table, keyhash_calc(&s->kh, call_id, strlen(call_id)));

	cr_assert_neq(slot, MAGLEV_NONE);
	/* The backends' addresses end in .21-.24 (core) and .31-.34 (quarantine), their MACs
	 * in 0x21-0x24 and 0x31-0x34. */
	return 0x21u + (gr == &s->groups[0] ? 0 : 0x10u) +
	       (unsigned)(s->backends[gr->base + slot].addr[15] - (gr == &s->groups[0] ? 21 : 31));
}

/* A message the rules hashed (a routed dialog's INVITE, recorded; its BYE and a response,
 * looked up) goes where the dispatch's own hash sends it, as one they did not hash (an
 * INVITE no rule routes): four backends a group, so a wrong hash would show. */
Test(rules_dp, the_rules_hash_is_the_dispatchs)
{
	char err[256], b[1024], cid[64];
	struct sph_cfg *c = load(
	        "hash_key_hex = "
	        "\"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n"
	        "ports = ( { name = \"net0\"; device = \"" DEVICE "\";\n"
	        "  addresses = [ \"192.0.2.2/24\" ]; } );\n"
	        "groups = ( { name = \"core\"; backends = (\n"
	        "  { name = \"b1\"; address = \"192.0.2.21\"; mac = \"02:00:00:00:00:21\"; },\n"
	        "  { name = \"b2\"; address = \"192.0.2.22\"; mac = \"02:00:00:00:00:22\"; },\n"
	        "  { name = \"b3\"; address = \"192.0.2.23\"; mac = \"02:00:00:00:00:23\"; },\n"
	        "  { name = \"b4\"; address = \"192.0.2.24\"; mac = \"02:00:00:00:00:24\"; } ); "
	        "},\n"
	        " { name = \"quarantine\"; backends = (\n"
	        "  { name = \"q1\"; address = \"192.0.2.31\"; mac = \"02:00:00:00:00:31\"; },\n"
	        "  { name = \"q2\"; address = \"192.0.2.32\"; mac = \"02:00:00:00:00:32\"; },\n"
	        "  { name = \"q3\"; address = \"192.0.2.33\"; mac = \"02:00:00:00:00:33\"; },\n"
	        "  { name = \"q4\"; address = \"192.0.2.34\"; mac = \"02:00:00:00:00:34\"; } ); } "
	        ");\n"
	        "vips = ( { address = \"192.0.2.10\"; group = \"core\"; } );\n"
	        "rules = ( { name = \"quar\"; match = { request_uri = \"^sip:00\"; };\n"
	        "  action = \"route\"; group = \"quarantine\"; } );\n");
	struct snap *s = snap_build_trans(&E.dp, c, NULL, NULL, err, sizeof(err));
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t fol0 = st->rule_route_followed;
	unsigned seen[2][4] = {{0}};

	cr_assert_not_null(s, "%s", err);
	snap_publish(&E.dp, s);
	for (unsigned k = 0; k < 64; k++) {
		unsigned got = invite("192.0.2.99", "192.0.2.10", "sip:0044123@example.com", "p");
		unsigned routed = id;

		snprintf(cid, sizeof(cid), "call-%u@example.com", routed);
		cr_assert_eq(got, expected(1, cid), "routed INVITE %s: 0x%x", cid, got);
		seen[1][got - 0x31]++;
		got = send_one(
		        "192.0.2.99", "192.0.2.10",
		        req(b, sizeof(b), "BYE", "sip:bob@192.0.2.31", ";tag=b1", "p", routed));
		cr_assert_eq(got, expected(1, cid), "routed BYE %s: 0x%x", cid, got);

		got = invite("192.0.2.99", "192.0.2.10", "sip:bob@example.com", "p");
		snprintf(cid, sizeof(cid), "call-%u@example.com", id);
		cr_assert_eq(got, expected(0, cid), "plain INVITE %s: 0x%x", cid, got);
		seen[0][got - 0x21]++;
		snprintf(b, sizeof(b),
		         "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-r\r\n"
		         "From: <sip:alice@example.com>;tag=a1\r\nTo: "
		         "<sip:bob@example.com>;tag=b1\r\n"
		         "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		         cid);
		got = send_one("192.0.2.99", "192.0.2.10", b);
		cr_assert_eq(got, expected(0, cid), "plain 200 %s: 0x%x", cid, got);
	}
	cr_assert_eq(st->rule_route_followed - fol0, 64u);
	/* 64 calls a group over four backends: each got some, or the hash was not the key's. */
	for (unsigned g = 0; g < 2; g++)
		for (unsigned i = 0; i < 4; i++)
			cr_assert_gt(seen[g][i], 0u, "group %u backend %u got no call", g, i);
	cfg_free(c);
}

Test(rules_dp, in_dialog_and_responses_untouched)
{
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t drop0 = st->rule_drop;
	char b[1024];

	cr_assert_eq(send_one("203.0.113.200", "192.0.2.10",
	                      req(b, sizeof(b), "BYE", "sip:bob@example.com", ";tag=b1", "scanner",
	                          ++id)),
	             0x21u);
	snprintf(b, sizeof(b),
	         "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-r\r\n"
	         "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b1\r\n"
	         "Call-ID: resp@example.com\r\nCSeq: 1 INVITE\r\nServer: scanner\r\n"
	         "Content-Length: 0\r\n\r\n");
	cr_assert_eq(send_one("203.0.113.200", "192.0.2.10", b), 0x21u);
	cr_assert_eq(st->rule_drop, drop0);
}

Test(rules_dp, sets_shared_and_counters_carried)
{
	char err[256];
	const struct snap_rules *before = E.dp.snap->rules;
	struct sph_cfg *c;
	struct snap *s;

	cr_assert_eq(invite("203.0.113.129", "192.0.2.10", "sip:bob@example.com", "scanner"), 0u);
	uint64_t n = matches("scan");

	cr_assert_geq(n, 1u);
	/* The same expressions (another action, another source): the set is shared. */
	c = load(CONF_HEAD "rules = (\n"
	                   " { name = \"scan\"; match = { user_agent = \"scanner\"; }; action = "
	                   "\"tag\"; },\n"
	                   " { name = \"v6only\"; match = { user_agent = \"^v6tool\"; }; action = "
	                   "\"drop\"; },\n"
	                   " { name = \"quar\"; match = { request_uri = \"^sip:00\"; }; action = "
	                   "\"drop\"; },\n"
	                   " { name = \"slow\"; match = { user_agent = \"^slow\"; }; action = "
	                   "\"tag\"; },\n"
	                   " { name = \"seen\"; match = { user_agent = \"scanner\"; }; action = "
	                   "\"tag\"; } );\n");
	s = snap_build_trans(&E.dp, c, NULL, E.dp.snap, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->rules, before, "a snapshot of the same expressions compiled again");
	snap_publish(&E.dp, s);
	cr_assert_eq(matches("scan"), n);
	cfg_free(c);
	/* Another expression: a new set, and "scan"'s count carried over by its name. */
	c = load(CONF_HEAD
	         "rules = (\n"
	         " { name = \"new\"; match = { to = \"nobody\"; }; action = \"drop\"; },\n"
	         " { name = \"scan\"; match = { user_agent = \"scanner|sipvicious\"; };"
	         " action = \"drop\"; } );\n");
	s = snap_build_trans(&E.dp, c, NULL, E.dp.snap, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_neq(s->rules, before);
	snap_publish(&E.dp, s);
	cr_assert_eq(matches("scan"), n);
	cr_assert_eq(matches("new"), 0u);
	cr_assert_eq(invite("192.0.2.99", "192.0.2.10", "sip:bob@example.com", "sipvicious"), 0u);
	cr_assert_eq(matches("scan"), n + 1);
	cfg_free(c);
	/* No rule at all: the worker's path without them. */
	c = load(CONF_HEAD);
	s = snap_build_trans(&E.dp, c, NULL, E.dp.snap, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_null(s->rules);
	snap_publish(&E.dp, s);
	cr_assert_eq(snap_rules_count(E.dp.snap), 0u);
	cr_assert_eq(invite("203.0.113.129", "192.0.2.10", "sip:bob@example.com", "scanner"),
	             0x21u);
	cfg_free(c);
}

/* A rule on a named header: the first header of that name, in either case, its value
 * without white space; absent, the rule does not match. */
Test(rules_dp, named_headers)
{
	char err[256], b[1024];
	struct sph_cfg *c = load(CONF_HEAD "rules = (\n"
	                                   " { name = \"hdr\"; match = { method = \"^INVITE$\";"
	                                   " headers = ( { name = \"X-Scanner\"; value ="
	                                   " \"^yes$\"; } ); }; action = \"drop\"; } );\n");
	struct snap *s = snap_build_trans(&E.dp, c, NULL, E.dp.snap, err, sizeof(err));
	struct stats_worker *st = E.dp.workers[0]->st;
	uint64_t drop0 = st->rule_drop;
	static const char *const extra[] = {
	        "x-scanner:  yes  \r\n",               /* dropped: any case, trimmed */
	        "X-Scanner: no\r\nX-Scanner: yes\r\n", /* the first one decides: forwarded */
	        "X-Scanners: yes\r\n",                 /* another name: forwarded */
	        "",                                    /* none: forwarded */
	        "Subject: x\r\nX-Scanner\t: yes\r\n",  /* white space before the colon */
	};
	static const unsigned want[] = {0, 0x21, 0x21, 0x21, 0};

	cr_assert_not_null(s, "%s", err);
	snap_publish(&E.dp, s);
	for (unsigned k = 0; k < SPH_ARRAY_SIZE(extra); k++) {
		snprintf(b, sizeof(b),
		         "INVITE sip:bob@example.com SIP/2.0\r\n"
		         "Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-h%u\r\n"
		         "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
		         "Call-ID: hdr-%u@example.com\r\nCSeq: 1 INVITE\r\n%s"
		         "Content-Length: 0\r\n\r\n",
		         k, k, extra[k]);
		cr_assert_eq(send_one("192.0.2.99", "192.0.2.10", b), want[k], "case %u", k);
	}
	cr_assert_eq(st->rule_drop - drop0, 2u);
	cr_assert_eq(matches("hdr"), 2u);
	cfg_free(c);
}
