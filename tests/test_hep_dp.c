/*
 * test_hep_dp.c - the worker's HEP mirror (dataplane/hep.c) on one real worker and a
 * net_ring vdev (tests/fuzz/worker_env.c): every byte of the mirror frame (Ethernet to
 * the collector's MAC, IPv4 or IPv6 with a checksum recomputed here, UDP, the HEPv3
 * packet equal to hep_encode() of the original) beside the forwarded frame unchanged;
 * sampling by Call-ID hash against an independent count; the budget, an empty pool, an
 * unresolved collector, a full TX ring; an IP-in-IP VIP; marked calls, their ageing and
 * eviction; the one-segment copy for devices that send no chains; no mbuf leaked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "siphon/cfg.h"
#include "siphon/hep.h"
#include "siphon/keyhash.h"
#include "siphon/neigh.h"
#include "hep.h"
#include "worker.h"
#include "worker_env.h"

static const char conf_text[] =
        "hash_key_hex = \"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n"
        "ports = ( { name = \"net0\"; device = \"net_ring0\";\n"
        "  addresses = [ \"203.0.113.2/24\", \"2001:db8::2/64\" ]; } );\n"
        "groups = ( { name = \"core\"; backends = (\n"
        "  { name = \"b1\"; address = \"203.0.113.21\"; mac = \"02:00:00:00:00:21\"; } ); } );\n"
        "vips = ( { address = \"203.0.113.10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        "         { address = \"2001:db8::10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        "         { address = \"203.0.113.11\"; group = \"core\"; mode = \"ipip\"; } );\n"
        "mirror = { collector = \"203.0.113.50:9060\"; sample = 1; agent_id = 77; };\n";

static const uint8_t port_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t client_mac[6] = {0x02, 0, 0, 0, 0xaa, 0x01};
static const uint8_t collector_mac[6] = {0x02, 0, 0, 0, 0, 0x50};
static const uint8_t be_mac[6] = {0x02, 0, 0, 0, 0, 0x21};

static struct wenv E;
static struct keyhash KH;

static void
setup(void)
{
	char path[] = "/tmp/test_hep_dp.XXXXXX", err[512];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, conf_text, sizeof(conf_text) - 1), (ssize_t)sizeof(conf_text) - 1);
	close(fd);
	cr_assert_eq(wenv_setup(&E, "test_hep_dp", path, port_mac, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	cr_assert_eq(dp_mirror_set(&E.dp, E.cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(keyhash_init(&KH, E.cfg->hash_key, E.cfg->hash_key_len), 0);
}

static void
teardown(void)
{
	char err[256];

	E.cfg->mirror.port = 0; /* frees the published mirror */
	cr_assert_eq(dp_mirror_set(&E.dp, E.cfg, err, sizeof(err)), 0);
	wenv_teardown(&E);
}

TestSuite(hep_dp, .init = setup, .fini = teardown);

/* The collector answers ARP: what the main lcore would apply from a worker's learn. */
static void
resolve_collector(void)
{
	struct nd_learn l = {.family = 4};

	memcpy(l.addr, E.cfg->mirror.addr.a, 16);
	memcpy(l.mac, collector_mac, 6);
	nd_table_learn(E.dp.nd, &l, sph_now_ns());
}

/* Apply an edited mirror block. */
static void
mirror_set(uint32_t sample, uint32_t budget)
{
	char err[256];

	E.cfg->mirror.sample = sample;
	E.cfg->mirror.budget = budget;
	cr_assert_eq(dp_mirror_set(&E.dp, E.cfg, err, sizeof(err)), 0, "%s", err);
}

#define SIP(callid)                                                                                \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                                                   \
	"Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK-1\r\n"                                  \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                 \
	"To: <sip:bob@example.com>\r\n"                                                            \
	"Call-ID: " callid "\r\n"                                                                  \
	"CSeq: 1 INVITE\r\n"                                                                       \
	"Content-Length: 0\r\n\r\n"

static const uint8_t cli4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7};
static const uint8_t vip4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 10};
static const uint8_t cli6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
static const uint8_t vip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
static const uint8_t ipip4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 11};
static const uint8_t *dst4 = vip4; /* the IPv4 VIP frame() sends to */

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A frame of payload from the client to the VIP of family ipv, in a fresh mbuf. */
static struct rte_mbuf *
frame(uint8_t ipv, const char *payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);
	size_t plen = strlen(payload), l3 = ipv == 4 ? 20 : 40;
	uint8_t *f;

	cr_assert_not_null(m);
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + l3 + 8 + plen));
	cr_assert_not_null(f);
	memcpy(f, port_mac, 6);
	memcpy(f + 6, client_mac, 6);
	f[12] = ipv == 4 ? 0x08 : 0x86, f[13] = ipv == 4 ? 0x00 : 0xdd;
	uint8_t *ip = f + 14, *u = ip + l3;

	memset(ip, 0, l3);
	if (ipv == 4) {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + 8 + plen) >> 8), ip[3] = (uint8_t)(20 + 8 + plen);
		ip[8] = 64, ip[9] = 17;
		memcpy(ip + 12, cli4 + 12, 4);
		memcpy(ip + 16, dst4 + 12, 4);
		uint16_t c = (uint16_t)~fold(sum16(0, ip, 20));

		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((8 + plen) >> 8), ip[5] = (uint8_t)(8 + plen);
		ip[6] = 17, ip[7] = 64;
		memcpy(ip + 8, cli6, 16);
		memcpy(ip + 24, vip6, 16);
	}
	u[0] = 0x13, u[1] = 0xc6; /* 5062 */
	u[2] = 0x13, u[3] = 0xc4; /* 5060 */
	u[4] = (uint8_t)((8 + plen) >> 8), u[5] = (uint8_t)(8 + plen);
	u[6] = 0, u[7] = 0;
	memcpy(u + 8, payload, plen);
	if (ipv == 6) { /* IPv6 UDP needs its checksum */
		uint32_t s = sum16(0, ip + 8, 32) + 17 + 8 + (uint32_t)plen;
		uint16_t c = (uint16_t)~fold(sum16(s, u, 8 + plen));

		u[6] = (uint8_t)(c >> 8), u[7] = (uint8_t)c;
	}
	m->port = E.port_id;
	return m;
}

/* Send n frames through the worker as one burst and take what it sent. */
static unsigned
burst(struct rte_mbuf **in, unsigned n, struct rte_mbuf **out, unsigned max)
{
	dp_worker_burst(E.w, in, (uint16_t)n);
	return wenv_tx_take(&E, out, max);
}

static void
free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

/* Checks one mirror frame of payload (captured as family cap) and returns nothing. */
static void
check_mirror(struct rte_mbuf *m, uint8_t cap, const char *payload, const char *callid)
{
	static uint8_t b[4096], want[4096];
	size_t len = m->pkt_len, plen = strlen(payload);
	const uint8_t *f = rte_pktmbuf_read(m, 0, (uint32_t)len, b);
	struct hep_meta hm = {.family = cap, .src_port = 5062, .dst_port = 5060, .agent_id = 77};
	size_t n;

	cr_assert_not_null(f);
	cr_assert_eq(m->nb_segs, E.dp.ports[0].tx_multi_seg ? 3 : 1,
	             "head, payload in place, tail; or one copy where the port sends no chain");
	cr_assert_arr_eq(f, collector_mac, 6);
	cr_assert_arr_eq(f + 6, port_mac, 6);
	cr_assert_eq(f[12], 0x08);
	cr_assert_eq(f[13], 0x00);
	cr_assert_eq(f[14], 0x45);
	cr_assert_eq((size_t)(f[16] << 8 | f[17]), len - 14, "IPv4 total length");
	cr_assert_eq(f[23], 17);
	cr_assert_eq(fold(sum16(0, f + 14, 20)), 0xffff, "IPv4 header checksum");
	cr_assert_arr_eq(f + 26, E.cfg->ports[0].addrs[0].addr.a + 12, 4, "from the port");
	cr_assert_arr_eq(f + 30, E.cfg->mirror.addr.a + 12, 4, "to the collector");
	cr_assert_eq(f[34] << 8 | f[35], 9060);
	cr_assert_eq(f[36] << 8 | f[37], 9060);
	cr_assert_eq((size_t)(f[38] << 8 | f[39]), len - 34, "UDP length");
	/* The HEPv3 packet is hep_encode() of the original, at the time the frame says. */
	memcpy(hm.src, cap == 4 ? cli4 : cli6, 16);
	memcpy(hm.dst, cap == 4 ? dst4 : vip6, 16);
	hm.ts_sec = (uint32_t)f[42 + 42] << 24 | (uint32_t)f[42 + 43] << 16 |
	            (uint32_t)f[42 + 44] << 8 | f[42 + 45];
	hm.ts_usec = (uint32_t)f[42 + 52] << 24 | (uint32_t)f[42 + 53] << 16 |
	             (uint32_t)f[42 + 54] << 8 | f[42 + 55];
	cr_assert_lt(hm.ts_usec, 1000000u);
	cr_assert_gt(hm.ts_sec, 1700000000u, "a wall clock, not the TSC");
	n = hep_encode(want, sizeof(want), &hm, (const uint8_t *)payload, plen,
	               (const uint8_t *)callid, strlen(callid));
	cr_assert_eq(n, len - 42);
	cr_assert_arr_eq(f + 42, want, n);
}

Test(hep_dp, ipv4_capture_byte_exact)
{
	static const char msg[] = SIP("hep-call-1@example.com");
	struct rte_mbuf *in = frame(4, msg), *out[8];
	uint8_t copy[2048];
	uint32_t flen = in->pkt_len;
	struct dp_mirror_counters c;
	unsigned n;

	memcpy(copy, rte_pktmbuf_mtod(in, uint8_t *), flen);
	/* Until the collector's MAC is known nothing is sent to it; forwarding goes on. */
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 1);
	free_all(out, n);
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.no_route, 1);
	cr_assert_eq(c.sent, 0);

	resolve_collector();
	in = frame(4, msg);
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 2, "the forwarded frame, then its mirror");
	/* The forwarded frame: the original with the backend's MAC, nothing else. */
	cr_assert_eq(out[0]->pkt_len, flen);
	cr_assert_arr_eq(rte_pktmbuf_mtod(out[0], uint8_t *), be_mac, 6);
	cr_assert_arr_eq(rte_pktmbuf_mtod(out[0], uint8_t *) + 12, copy + 12, flen - 12);
	check_mirror(out[1], 4, msg, "hep-call-1@example.com");
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.sent, 1);
	cr_assert_eq(c.bytes, out[1]->pkt_len);
	free_all(out, n);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N, "no mbuf held or leaked");
}

/* A device that does not say it sends chains (net_null, net_pcap) gets the same bytes in
 * one segment, the payload copied. */
Test(hep_dp, one_segment_where_no_chains)
{
	static const char msg[] = SIP("copy-call");
	struct rte_mbuf *in, *out[8];
	unsigned n;

	cr_assert(E.dp.ports[0].tx_multi_seg, "net_ring says it sends chains");
	E.dp.ports[0].tx_multi_seg = false;
	resolve_collector();
	in = frame(4, msg);
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(out[1]->nb_segs, 1);
	check_mirror(out[1], 4, msg, "copy-call");
	free_all(out, n);
	in = frame(6, msg);
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 2);
	check_mirror(out[1], 6, msg, "copy-call");
	free_all(out, n);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

Test(hep_dp, ipv6_capture_and_ipv6_collector)
{
	static const char msg[] = SIP("v6-call");
	struct rte_mbuf *in, *out[8];
	static uint8_t b[4096];
	char err[256];
	unsigned n;

	resolve_collector();
	in = frame(6, msg);
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 2);
	check_mirror(out[1], 6, msg, "v6-call");
	free_all(out, n);

	/* An IPv6 collector on the port's /64: the frame is IPv6, its UDP sum is right. */
	struct nd_learn l = {.family = 6};
	uint16_t port;

	cr_assert_eq(cfg_addr_parse("[2001:db8::50]:9060", &E.cfg->mirror.addr, &port), 0);
	cr_assert_eq(dp_mirror_set(&E.dp, E.cfg, err, sizeof(err)), 0, "%s", err);
	memcpy(l.addr, E.cfg->mirror.addr.a, 16);
	memcpy(l.mac, collector_mac, 6);
	nd_table_learn(E.dp.nd, &l, sph_now_ns());
	in = frame(4, msg);
	n = burst(&in, 1, out, 8);
	cr_assert_eq(n, 2);

	const uint8_t *f = rte_pktmbuf_read(out[1], 0, out[1]->pkt_len, b);
	size_t udp = out[1]->pkt_len - 54;

	cr_assert_eq(f[12], 0x86);
	cr_assert_eq(f[13], 0xdd);
	cr_assert_eq((size_t)(f[18] << 8 | f[19]), udp);
	cr_assert_eq(f[20], 17);
	cr_assert_arr_eq(f + 38, E.cfg->mirror.addr.a, 16);
	cr_assert_arr_eq(f + 22, E.cfg->ports[0].addrs[1].addr.a, 16);
	/* Pseudo-header + UDP header + data sums to 0xffff when the checksum is right. */
	cr_assert_eq(fold(sum16(sum16(0, f + 22, 32) + 17 + (uint32_t)udp, f + 54, udp)), 0xffff);
	cr_assert_neq(f[60] << 8 | f[61], 0);
	/* The HEP head inside says IPv4: the capture's family, not the frame's. */
	cr_assert_eq(f[54 + 8 + 12], HEP_FAMILY_INET);
	free_all(out, n);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

/* 1 call in 8 by Call-ID hash: exactly the calls whose hash's top half is below 2^32/8,
 * counted here from the key alone; every message of such a call is mirrored. */
Test(hep_dp, sampling_by_call_id)
{
	struct rte_mbuf *in[2], *out[8];
	unsigned want = 0, got = 0;
	struct dp_mirror_counters c;

	resolve_collector();
	mirror_set(8, 8);
	for (unsigned i = 0; i < 400; i++) {
		char id[32], msg[512];
		unsigned n;

		snprintf(id, sizeof(id), "sample-%u", i);
		snprintf(msg, sizeof(msg), SIP("%s"), id);
		uint64_t h = keyhash_calc(&KH, (const uint8_t *)id, strlen(id));
		bool sampled = (h >> 32) < ((uint64_t)1 << 32) / 8;

		in[0] = frame(4, msg);
		in[1] = frame(6, msg); /* a second message of the same call */
		n = burst(in, 2, out, 8);
		cr_assert_eq(n, sampled ? 4u : 2u, "call %u", i);
		want += sampled ? 2 : 0;
		got += n - 2;
		free_all(out, n);
	}
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.sent, want);
	cr_assert_eq(got, want);
	cr_assert_gt(want, 40, "about 1 in 8 of 400 calls, twice: %u", want);
	cr_assert_lt(want, 160, "%u", want);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

/* The budget bounds mirror frames per burst; an empty pool drops the mirror only. */
Test(hep_dp, budget_and_empty_pool)
{
	static const char msg[] = SIP("budget-call");
	struct rte_mbuf *in[5], *out[16], *hold[WENV_POOL_N];
	struct dp_mirror_counters c;
	unsigned n, held = 0;

	resolve_collector();
	mirror_set(1, 2);
	for (unsigned i = 0; i < 5; i++)
		in[i] = frame(4, msg);
	n = burst(in, 5, out, 16);
	cr_assert_eq(n, 7, "5 forwarded, 2 mirrored");
	free_all(out, n);
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.sent, 2);
	cr_assert_eq(c.budget, 3);

	/* Every mbuf but the frames' own taken: forwarding goes on, the mirror counts. */
	for (unsigned i = 0; i < 3; i++)
		in[i] = frame(4, msg);
	while (held < WENV_POOL_N && (hold[held] = rte_pktmbuf_alloc(E.dp.pool)) != NULL)
		held++;
	n = burst(in, 3, out, 16);
	cr_assert_eq(n, 3);
	free_all(out, n);
	free_all(hold, held);
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.no_mbuf, 3, "nothing to build with: the budget is not spent");
	cr_assert_eq(c.budget, 3);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

/* A message larger than the MTU allows once wrapped is counted, and forwarded as is. */
Test(hep_dp, too_big)
{
	static char msg[1500];
	struct rte_mbuf *in, *out[4];
	struct dp_mirror_counters c;
	unsigned n;

	resolve_collector();
	snprintf(msg, sizeof(msg), "%s", SIP("big"));
	memset(msg + strlen(msg), 'x', 1400 - strlen(msg)); /* a body past Content-Length 0 */
	in = frame(4, msg);
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 1);
	free_all(out, n);
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.too_big, 1);
	cr_assert_eq(c.sent, 0);
}

/* Marked calls: mirrored while sampling is off, kept while they talk, aged out after. */
Test(hep_dp, marked_calls)
{
	struct rte_mbuf *in, *out[4];
	struct dp_mirror_counters c;
	const char *id = "marked-call";
	uint64_t h = keyhash_calc(&KH, (const uint8_t *)id, strlen(id));
	unsigned n;

	resolve_collector();
	mirror_set(0, 8);
	in = frame(4, SIP("marked-call"));
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 1, "sample 0: nothing sampled");
	free_all(out, n);

	dp_hep_mark_call(E.w, h);
	cr_assert_eq(E.w->hep->nb_marked, 1);
	in = frame(4, SIP("marked-call"));
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 2, "a marked call is mirrored");
	free_all(out, n);
	in = frame(4, SIP("other-call"));
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 1, "another call is not");
	free_all(out, n);

	/* A sweep at a time before its end keeps it; one after frees it. */
	for (unsigned i = 0; i < DP_HEP_MARK_SETS / DP_HEP_SWEEP_SETS; i++)
		dp_hep_poll(E.w, rte_rdtsc());
	cr_assert_eq(E.w->hep->nb_marked, 1);
	uint64_t later = rte_rdtsc() + E.dp.hep->mark_tsc + 1;

	for (unsigned i = 0; i < DP_HEP_MARK_SETS / DP_HEP_SWEEP_SETS; i++)
		dp_hep_poll(E.w, later);
	cr_assert_eq(E.w->hep->nb_marked, 0, "every set swept once");
	in = frame(4, SIP("marked-call"));
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 1, "expired: no longer mirrored");
	free_all(out, n);

	/* Five calls in one set of four: the fifth evicts the one closest to its end. */
	for (uint64_t k = 0; k < 5; k++)
		dp_hep_mark_call(E.w, (k << 32) | 7);
	dp_hep_mark_call(E.w, (4ull << 32) | 7); /* again: one entry, refreshed */
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.mark_full, 1);
	cr_assert_eq(c.marked, 6);
	cr_assert_eq(E.w->hep->nb_marked, 4);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

/* An IP-in-IP VIP: the mirror is taken before the outer header is prepended, and holds the
 * client's datagram as it came. */
Test(hep_dp, ipip_vip)
{
	static const char msg[] = SIP("ipip-call");
	struct rte_mbuf *in, *out[4];
	unsigned n;

	resolve_collector();
	dst4 = ipip4;
	in = frame(4, msg);
	n = burst(&in, 1, out, 4);
	cr_assert_eq(n, 2);
	cr_assert_eq(out[0]->pkt_len, 14 + 20 + 20 + 8 + strlen(msg), "forwarded, encapsulated");
	check_mirror(out[1], 4, msg, "ipip-call");
	free_all(out, n);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}

/* A full TX ring refuses the forwarded frame and the mirror alike: each counted where it
 * belongs, both freed. */
Test(hep_dp, tx_ring_full)
{
	static const char msg[] = SIP("full-call");
	struct rte_mbuf *in, *out[8], *dummy = rte_pktmbuf_alloc(E.dp.pool);
	struct dp_mirror_counters c;
	unsigned filled = 0, n;

	cr_assert_not_null(dummy);
	resolve_collector();
	while (rte_ring_enqueue(E.txr, dummy) == 0)
		filled++;
	cr_assert_gt(filled, 0);
	in = frame(4, msg);
	dp_worker_burst(E.w, &in, 1);
	dp_worker_flush(E.w);
	dp_mirror_read(&E.dp, &c);
	cr_assert_eq(c.tx_full, 1);
	cr_assert_eq(c.sent, 0, "refused frames are not sent ones");
	cr_assert_eq(c.bytes, 0);
	cr_assert_eq(E.w->st->tx_drop, 1, "the forwarded frame: the worker's own counter");
	while ((n = rte_ring_dequeue_burst(E.txr, (void **)out, 8, NULL)) > 0)
		filled -= n;
	cr_assert_eq(filled, 0);
	rte_pktmbuf_free(dummy);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N);
}
