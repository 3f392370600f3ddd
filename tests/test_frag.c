/*
 * test_frag.c - Criterion suite for IP fragments and large datagrams (dataplane/frag.c and
 * the fragment path of worker.c): large INVITEs fragmented at MTU 576 and 1280, over IPv4
 * and IPv6, in order, reversed, interleaved, duplicated, overlapping, missing one, through
 * the real dp_setup() and dp_worker_burst() of two workers (three lcores floating over the
 * CPUs the process may use), which hand each other the fragments they do not own: called
 * one after the other by the test, and once launched, polling their RX rings at once.
 * The port is rte_eth_from_rings()'s: the test fills its RX rings and reads its TX rings.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/pkt.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "frag.h"
#include "worker.h"

/* rte_eth_from_rings("frag") makes the port "net_ring_frag": RX and TX rings apart. */
#define RINGS  "frag"
#define DEVICE "net_ring_" RINGS
#define NW     2u /* workers */
#define FMAX   128u

static const char conf_text[] =
        "hash_key_hex = \"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n"
        "frag_entries = 8; frag_fragments = 20; frag_timeout_ms = 20;\n"
        "ports = ( { name = \"net0\"; device = \"" DEVICE "\"; mtu = 9000;\n"
        "  addresses = [ \"192.0.2.2/24\", \"2001:db8::2/64\" ]; } );\n"
        "groups = ( { name = \"core\"; backends = (\n"
        "  { name = \"b1\"; address = \"192.0.2.21\"; mac = \"02:00:00:00:00:21\"; },\n"
        "  { name = \"b2\"; address = \"192.0.2.22\"; mac = \"02:00:00:00:00:22\"; },\n"
        "  { name = \"b3\"; address = \"192.0.2.23\"; mac = \"02:00:00:00:00:23\"; } ); } );\n"
        "vips = (\n"
        " { address = \"192.0.2.10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        " { address = \"2001:db8::10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        " { address = \"192.0.2.11\"; group = \"core\"; mode = \"ipip\"; } );\n";

static struct {
	struct sph_cfg *cfg;
	struct dp dp;
	struct rte_ring *rxr[NW], *txr[NW]; /* queue w of the port: what worker w polls, sends */
} E;

static void
setup(void)
{
	char prefix[64], lcores[4096], path[] = "/tmp/test_frag.XXXXXX", err[512];
	char *argv[] = {"test_frag",      "--no-huge",           "-m",   "512",
	                "--no-pci",       "--no-shconf",         prefix, lcores,
	                "--no-telemetry", "--log-level=*:error", NULL};
	cpu_set_t cpus;
	size_t k = 0;
	int fd;

	snprintf(prefix, sizeof(prefix), "--file-prefix=test_frag_%ld", (long)getpid());
	cr_assert_eq(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	/* Three lcores (main and two workers) on whatever CPUs there are. */
	k = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=(0-2)@(");
	for (int c = 0; c < CPU_SETSIZE && k + 8 < sizeof(lcores); c++)
		if (CPU_ISSET(c, &cpus))
			k += (size_t)snprintf(lcores + k, sizeof(lcores) - k, "%d,", c);
	lcores[k - 1] = ')';
	cr_assert_geq(rte_eal_init((int)SPH_ARRAY_SIZE(argv) - 1, argv), 0, "rte_eal_init: %s",
	              rte_strerror(rte_errno));
	/* A port of NW queues, each with an RX ring of its own and a TX ring of its own, so
	 * that running workers never take what they sent for something received. */
	for (unsigned w = 0; w < NW; w++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "frx%u", w);
		E.rxr[w] = rte_ring_create(name, 1024, (int)rte_socket_id(), 0);
		snprintf(name, sizeof(name), "ftx%u", w);
		E.txr[w] = rte_ring_create(name, 1024, (int)rte_socket_id(), 0);
		cr_assert(E.rxr[w] != NULL && E.txr[w] != NULL, "rings: %s",
		          rte_strerror(rte_errno));
	}
	cr_assert_geq(rte_eth_from_rings(RINGS, E.rxr, NW, E.txr, NW, rte_socket_id()), 0,
	              "rte_eth_from_rings: %s", rte_strerror(rte_errno));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, conf_text, sizeof(conf_text) - 1), (ssize_t)sizeof(conf_text) - 1);
	close(fd);
	cr_assert_eq(cfg_load(path, &E.cfg, err, sizeof(err)), 0, "cfg_load: %s", err);
	unlink(path);
	pthread_mutex_init(&E.dp.ctl_lock, NULL);
	cr_assert_eq(dp_setup(&E.dp, E.cfg, true, err, sizeof(err)), 0, "dp_setup: %s", err);
	cr_assert_eq(E.dp.nb_workers, NW);
}

static void
teardown(void)
{
	dp_teardown(&E.dp);
	cfg_free(E.cfg);
	rte_eal_cleanup();
}

TestSuite(frag, .init = setup, .fini = teardown);

/* ---- frames ---- */

struct frame {
	uint8_t b[9100];
	uint32_t len;
};

static const uint8_t client_mac[6] = {0x02, 0, 0, 0, 0xaa, 1};
static const uint8_t client4[4] = {198, 51, 100, 7};
static const uint8_t client6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7};
static const uint8_t vip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};

static void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A UDP datagram (header and payload) holding an INVITE of size bytes with call-id:
 * the SDP body is padded with attribute lines, as a video offer's are long. */
static uint32_t
udp_invite(uint8_t *out, uint32_t size, const char *call_id)
{
	char *p = (char *)out + 8;
	int hl = snprintf(p, size,
	                  "INVITE sip:bob@example.com SIP/2.0\r\n"
	                  "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-f1\r\n"
	                  "Max-Forwards: 70\r\n"
	                  "From: <sip:alice@example.com>;tag=a1\r\n"
	                  "To: <sip:bob@example.com>\r\n"
	                  "Call-ID: %s\r\n"
	                  "CSeq: 1 INVITE\r\n"
	                  "Content-Type: application/sdp\r\n"
	                  "Content-Length: 00000\r\n\r\n",
	                  call_id);
	uint32_t body = size - 8 - (uint32_t)hl;

	cr_assert_lt(hl + 64, (int)size);
	char digits[8];

	snprintf(digits, sizeof(digits), "%05u", body);
	memcpy(strstr(p, "Content-Length: ") + 16, digits, 5);
	for (uint32_t i = 0; i < body; i++)
		p[hl + i] = (i % 64 == 63) ? '\n' : (i % 64 == 62) ? '\r' : 'a' + (char)(i % 26);
	wr16(out, 5060);
	wr16(out + 2, 5060);
	wr16(out + 4, size);
	wr16(out + 6, 0x1234); /* not verified: the port keeps checksums as they come */
	return size;
}

static void
eth_hdr(uint8_t *f, bool v6)
{
	memset(f, 0, 6); /* the port's MAC (net_ring's zeros; the port is promiscuous anyway) */
	memcpy(f + 6, client_mac, 6);
	wr16(f + 12, v6 ? 0x86dd : 0x0800);
}

static void
ip4_hdr(uint8_t *h, uint32_t tot, uint16_t id, uint16_t fo, uint8_t vip_last)
{
	uint32_t sum = 0;

	memset(h, 0, 20);
	h[0] = 0x45;
	wr16(h + 2, tot);
	wr16(h + 4, id);
	wr16(h + 6, fo);
	h[8] = 64;
	h[9] = 17;
	memcpy(h + 12, client4, 4);
	h[16] = 192, h[17] = 0, h[18] = 2, h[19] = vip_last;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	wr16(h + 10, ~sum & 0xffff);
}

/* The datagram d (len bytes of UDP) to the VIP, cut at mtu into f[] (mtu 0: one frame,
 * not fragmented). @return the number of frames. */
static unsigned
fragment(struct frame *f, bool v6, const uint8_t *d, uint32_t len, uint32_t mtu, uint32_t id,
         uint8_t vip_last)
{
	uint32_t step = mtu == 0 ? len : (mtu - (v6 ? 48u : 20u)) & ~7u, n = 0;

	for (uint32_t off = 0; off < len; off += step, n++) {
		uint32_t part = len - off < step ? len - off : step;
		bool more = off + part < len;
		uint8_t *p = f[n].b;

		cr_assert_lt(n, FMAX);
		eth_hdr(p, v6);
		if (!v6) {
			ip4_hdr(p + 14, 20 + part, (uint16_t)id,
			        mtu == 0 ? 0x4000 : (uint16_t)(off / 8 | (more ? 0x2000 : 0)),
			        vip_last);
			memcpy(p + 34, d + off, part);
			f[n].len = 34 + part;
		} else {
			uint8_t *h = p + 14;

			memset(h, 0, 40);
			h[0] = 0x60;
			wr16(h + 4, part + (mtu == 0 ? 0 : 8));
			h[6] = mtu == 0 ? 17 : 44;
			h[7] = 64;
			memcpy(h + 8, client6, 16);
			memcpy(h + 24, vip6, 16);
			if (mtu != 0) {
				h[40] = 17;
				wr16(h + 42, off | (more ? 1 : 0));
				wr16(h + 44, id >> 16);
				wr16(h + 46, id & 0xffff);
			}
			memcpy(h + (mtu == 0 ? 40 : 48), d + off, part);
			f[n].len = 14 + (mtu == 0 ? 40 : 48) + part;
		}
	}
	return n;
}

static struct rte_mbuf *
mbuf_of(const struct frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);

	cr_assert_not_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)f->len), f->b, f->len);
	m->port = E.dp.ports[0].port_id;
	return m;
}

/* Frame f as RSS might deliver it: to worker w. */
static void
rx(unsigned w, const struct frame *f)
{
	struct rte_mbuf *m = mbuf_of(f);

	dp_worker_burst(E.dp.workers[w], &m, 1);
}

/* Let every worker take its handed-over fragments and send what it holds; then take
 * what was sent, from every worker's TX ring. @return frames taken. */
static unsigned
settle(struct rte_mbuf **out, unsigned max)
{
	unsigned n = 0;

	/* A poll takes a burst from the ring: as many as it takes to empty it. */
	for (unsigned w = 0; w < NW; w++) {
		dp_worker_frag_poll(E.dp.workers[w]);
		while (rte_ring_count(E.dp.workers[w]->frag_ring) != 0)
			dp_worker_frag_poll(E.dp.workers[w]);
	}
	for (unsigned w = 0; w < NW; w++) {
		dp_worker_flush(E.dp.workers[w]);
		n += rte_ring_dequeue_burst(E.txr[w], (void **)out + n, max - n, NULL);
	}
	return n;
}

static void
sum(struct stats_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned w = 0; w < NW; w++) {
		const uint64_t *a = (const uint64_t *)&E.dp.workers[w]->st->c;
		uint64_t *t = (uint64_t *)c;

		for (size_t i = 0; i < sizeof(*c) / 8; i++)
			t[i] += a[i];
	}
}

static unsigned
held(void)
{
	unsigned n = 0;

	for (unsigned w = 0; w < NW; w++)
		n += frag_held(E.dp.workers[w]->frag);
	return n;
}

static void
free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

/* The backend MAC an unfragmented copy of d goes to: the reference. */
static void
reference(bool v6, const uint8_t *d, uint32_t len, uint8_t vip_last, uint8_t mac[6])
{
	static struct frame f[1];
	struct rte_mbuf *out[4];
	unsigned n;

	cr_assert_eq(fragment(f, v6, d, len, 0, 0, vip_last), 1u);
	rx(0, &f[0]);
	n = settle(out, 4);
	cr_assert_eq(n, 1u, "the unfragmented %u-byte datagram: %u frames sent", len, n);
	memcpy(mac, rte_pktmbuf_mtod(out[0], uint8_t *), 6);
	free_all(out, n);
}

/* Wait (not a threshold: the table's own clock) until the fragment timeout has passed. */
static void
past_timeout(void)
{
	uint64_t until = rte_rdtsc() + E.dp.frag_lim.timeout_tsc + 1;

	while (rte_rdtsc() <= until)
		rte_pause();
}

enum order { IN_ORDER, REVERSED, INTERLEAVED, DUPLICATED };

static void
one(bool v6, uint32_t size, uint32_t mtu, enum order o)
{
	static uint8_t d[9000];
	static struct frame f[FMAX], other[1];
	static struct rte_mbuf *out[2 * FMAX];
	static uint8_t od[2000];
	struct stats_counters c;
	uint8_t mac[6];
	unsigned n, nf, k;

	for (unsigned w = 0; w < NW; w++)
		memset(&E.dp.workers[w]->st->c, 0, sizeof(E.dp.workers[w]->st->c));
	udp_invite(d, size, "frag-call-1@example.com");
	reference(v6, d, size, 10, mac);
	nf = fragment(f, v6, d, size, mtu, 0x5a5a01, 10);
	cr_assert_gt(nf, 2u);
	fragment(other, false, od, udp_invite(od, 600, "other-call@example.com"), 0, 0, 10);
	for (k = 0; k < nf; k++) {
		unsigned i = o == REVERSED ? nf - 1 - k : k;

		rx(k % NW, &f[i]); /* RSS spreads them over both workers */
		if (o == INTERLEAVED)
			rx((k + 1) % NW, &other[0]);
		if (o == DUPLICATED && k + 1 < nf)
			rx(k % NW, &f[i]);
	}
	n = settle(out, SPH_ARRAY_SIZE(out));
	sum(&c);
	cr_assert_eq(c.frag_reassembled, 1u, "%s %u B at %u: not reassembled", v6 ? "v6" : "v4",
	             size, mtu);
	cr_assert_eq(n, nf + (o == INTERLEAVED ? nf : 0), "%u frames sent, want %u", n,
	             nf + (o == INTERLEAVED ? nf : 0));
	cr_assert_eq(c.forwarded, n + 1); /* and the reference */
	/* A duplicate that comes after its datagram completed (the owner takes what another
	 * worker handed it after its own) opens a new entry, which times out. */
	cr_assert_eq(c.frag_duplicate + held(), o == DUPLICATED ? nf - 1 : 0);
	if (o == DUPLICATED && held() != 0) {
		struct rte_mbuf *none[1];

		past_timeout();
		cr_assert_eq(settle(none, 1), 0u);
		sum(&c);
		cr_assert_eq(c.frag_timeout, 1u);
	}
	/* Every fragment, unchanged above L2, to the reference's backend, each once. */
	for (unsigned i = 0; i < nf; i++) {
		unsigned seen = 0;

		for (unsigned j = 0; j < n; j++) {
			const uint8_t *b = rte_pktmbuf_mtod(out[j], const uint8_t *);

			if (out[j]->pkt_len == f[i].len &&
			    memcmp(b + 12, f[i].b + 12, f[i].len - 12) == 0) {
				cr_assert_eq(memcmp(b, mac, 6), 0, "fragment %u to another backend",
				             i);
				seen++;
			}
		}
		cr_assert_eq(seen, 1u, "fragment %u sent %u times", i, seen);
	}
	cr_assert_eq(held(), 0u);
	free_all(out, n);
}

Test(frag, jumbo_unfragmented)
{
	static uint8_t d[9000];
	uint8_t mac[6];

	/* 9000 bytes of IP: one mbuf holds it since the port's mtu sized them. */
	reference(false, d, udp_invite(d, 8980, "jumbo@example.com"), 10, mac);
	reference(true, d, udp_invite(d, 8960, "jumbo@example.com"), 10, mac);
}

Test(frag, v4_in_order)
{
	for (uint32_t size = 3000; size <= 9000; size += 3000) {
		one(false, size - 20, 576, IN_ORDER);
		one(false, size - 20, 1280, IN_ORDER);
	}
}

Test(frag, v6_in_order)
{
	for (uint32_t size = 3000; size <= 9000; size += 3000) {
		one(true, size - 48, 576, IN_ORDER);
		one(true, size - 48, 1280, IN_ORDER);
	}
}

Test(frag, reversed)
{
	one(false, 9000 - 20, 576, REVERSED);
	one(true, 6000, 1280, REVERSED);
}

Test(frag, interleaved)
{
	one(false, 4000, 576, INTERLEAVED);
	one(true, 9000 - 48, 1280, INTERLEAVED);
}

Test(frag, duplicated)
{
	one(false, 5000, 1280, DUPLICATED);
	one(true, 3000, 576, DUPLICATED);
	/* The last fragment's duplicate opened a new entry: it times out. */
}

Test(frag, missing_one_times_out)
{
	static uint8_t d[9000];
	static struct frame f[FMAX];
	struct rte_mbuf *out[FMAX];
	struct stats_counters c;
	unsigned nf, n;

	nf = fragment(f, false, d, udp_invite(d, 6000, "lost@example.com"), 576, 77, 10);
	for (unsigned k = 0; k < nf; k++)
		if (k != nf / 2)
			rx(k % NW, &f[k]);
	n = settle(out, FMAX);
	cr_assert_eq(n, 0u, "an incomplete datagram sent %u frames", n);
	cr_assert_eq(held(), 1u);
	past_timeout();
	settle(out, FMAX);
	sum(&c);
	cr_assert_eq(c.frag_timeout, nf - 1);
	cr_assert_eq(held(), 0u);
	cr_assert_eq(c.frag_reassembled, 0u);
}

Test(frag, overlapping_dropped_whole)
{
	static uint8_t d[9000];
	static struct frame f[FMAX], g[FMAX];
	struct rte_mbuf *out[FMAX];
	struct stats_counters c;
	unsigned nf;

	udp_invite(d, 4000, "overlap@example.com");
	nf = fragment(f, false, d, 4000, 1280, 99, 10);
	/* The same datagram cut at 576 as well: its second fragment overlaps the first. */
	fragment(g, false, d, 4000, 576, 99, 10);
	rx(0, &f[0]);
	rx(0, &g[1]);
	for (unsigned k = 1; k < nf; k++)
		rx(0, &f[k]);
	cr_assert_eq(settle(out, FMAX), 0u);
	sum(&c);
	cr_assert_eq(c.frag_overlap, 2u, "overlap: %lu", (unsigned long)c.frag_overlap);
	/* The rest came after the datagram was dropped: a new, incomplete one. */
	cr_assert_eq(held(), 1u);
}

Test(frag, too_many_fragments)
{
	static uint8_t d[9000];
	static struct frame f[FMAX];
	struct rte_mbuf *out[FMAX];
	struct stats_counters c;
	unsigned nf;

	/* 24 fragments of 128 bytes: frag_fragments is 20. */
	nf = fragment(f, false, d, udp_invite(d, 3000, "many@example.com"), 148, 5, 10);
	cr_assert_eq(nf, 24u);
	for (unsigned k = 0; k < nf; k++)
		rx(0, &f[k]);
	cr_assert_eq(settle(out, FMAX), 0u);
	sum(&c);
	cr_assert_eq(c.frag_too_many, 21u);
	cr_assert_eq(held(), 1u); /* the last three, a new entry */
}

Test(frag, table_full)
{
	static uint8_t d[2000];
	static struct frame f[4];
	struct rte_mbuf *out[4];
	struct stats_counters c;
	uint32_t len = udp_invite(d, 1500, "full@example.com");
	unsigned sent = 0;

	/* First fragments of 2 x 8 + 1 datagrams each worker owns alike: 1 too many
	 * for the worker that gets the 9th. */
	for (uint32_t id = 1; sent < 2 * 8 + 1; id++) {
		fragment(f, false, d, len, 576, id, 10);
		rx(0, &f[0]);
		sent++;
	}
	settle(out, 4);
	sum(&c);
	cr_assert_eq(c.frag_table_full + held(), 17u);
	cr_assert_geq(c.frag_table_full, 1u, "17 datagrams in 2 x 8 entries");
}

Test(frag, ring_full_counted)
{
	static uint8_t d[2000];
	static struct frame f[4];
	struct pkt_info pi;
	struct rte_mbuf *out[4];
	struct stats_counters c;
	unsigned owner = 0, sent = 0;
	uint32_t id = 1;

	udp_invite(d, 1500, "ring@example.com");
	/* A fragment worker 1 owns, given to worker 0 more often than the ring holds. */
	do {
		fragment(f, false, d, 1500, 576, id++, 10);
		cr_assert_eq(pkt_decode(f[0].b, f[0].len, &pi), PKT_FRAGMENT);
		owner = frag_owner(frag_hash(&pi), NW);
	} while (owner != 1);
	for (; sent < DP_FRAG_RING + 50; sent++)
		rx(0, &f[0]);
	sum(&c);
	cr_assert_eq(c.frag_handoff, DP_FRAG_RING - 1);
	cr_assert_eq(c.frag_ring_full, sent - (DP_FRAG_RING - 1));
	settle(out, 4);
	sum(&c);
	cr_assert_eq(c.frag_duplicate, DP_FRAG_RING - 2);
	cr_assert_eq(held(), 1u);
}

Test(frag, ipip_each_fragment_encapsulated)
{
	static uint8_t d[9000];
	static struct frame f[FMAX];
	static struct rte_mbuf *out[FMAX];
	struct stats_counters c;
	unsigned nf, n;

	nf = fragment(f, false, d, udp_invite(d, 5000, "tunnel@example.com"), 1280, 42, 11);
	for (unsigned k = 0; k < nf; k++)
		rx(k % NW, &f[k]);
	n = settle(out, FMAX);
	sum(&c);
	cr_assert_eq(n, nf);
	cr_assert_eq(c.forwarded, nf);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = rte_pktmbuf_mtod(out[i], const uint8_t *);
		bool found = false;

		cr_assert_eq(b[14], 0x45);
		cr_assert_eq(b[23], 4, "outer protocol IPIP");
		for (unsigned k = 0; k < nf && !found; k++)
			found = out[i]->pkt_len == f[k].len + 20 &&
			        memcmp(b + 34, f[k].b + 14, f[k].len - 14) == 0;
		cr_assert(found, "frame %u is no encapsulated fragment", i);
	}
	cr_assert_eq(held(), 0u);
	free_all(out, n);
}

/* The UDP checksum datagram d (UDP header and payload, len bytes) to 192.0.2.10 must
 * carry: RFC 768 over the IPv4 pseudo-header, the field taken as zero. */
static uint16_t
udp4_csum(const uint8_t *d, uint32_t len)
{
	uint8_t ph[12] = {198, 51, 100, 7, 192, 0, 2, 10, 0, 17, (uint8_t)(len >> 8), (uint8_t)len};
	uint32_t sum = 0;

	for (unsigned i = 0; i < 12; i += 2)
		sum += (uint32_t)ph[i] << 8 | ph[i + 1];
	for (uint32_t i = 0; i < len; i += 2) {
		uint32_t w = (uint32_t)d[i] << 8 | (i + 1 < len ? d[i + 1] : 0);

		sum += i == 6 ? 0 : w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum == 0 ? 0xffff : (uint16_t)sum;
}

static void
publish_udp_csum(uint8_t mode)
{
	char err[512];
	struct snap *s;

	E.cfg->ports[0].udp_csum = mode;
	s = snap_build(&E.dp, E.cfg, err, sizeof(err));
	cr_assert_not_null(s, "snap_build: %s", err);
	snap_publish(&E.dp, s);
}

/* No NIC checks a fragmented datagram's UDP checksum: the worker sums the reassembled
 * copy. verify drops every fragment of a wrong one and passes a right one; fill writes
 * the right sum into the first fragment, the only one that holds the field. */
Test(frag, udp_checksum_over_the_copy)
{
	static uint8_t d[9000];
	static struct frame f[FMAX];
	static struct rte_mbuf *out[FMAX];
	struct stats_counters c;
	uint32_t len = udp_invite(d, 4000, "csum@example.com");
	uint16_t right = udp4_csum(d, len);
	unsigned nf, n;

	cr_assert_neq(right, 0x1234, "the test's field must be wrong");
	publish_udp_csum(CFG_CSUM_VERIFY);
	nf = fragment(f, false, d, len, 1280, 7, 10);
	for (unsigned k = 0; k < nf; k++)
		rx(k % NW, &f[k]);
	n = settle(out, FMAX);
	sum(&c);
	cr_assert_eq(n, 0u, "verify: a wrong checksum sent %u frames", n);
	cr_assert_eq(c.udp_bad_checksum, nf);

	wr16(d + 6, right);
	nf = fragment(f, false, d, len, 1280, 8, 10);
	for (unsigned k = 0; k < nf; k++)
		rx(k % NW, &f[k]);
	n = settle(out, FMAX);
	cr_assert_eq(n, nf, "verify: a right checksum sent %u of %u fragments", n, nf);
	free_all(out, n);

	publish_udp_csum(CFG_CSUM_FILL);
	wr16(d + 6, 0x1234);
	nf = fragment(f, false, d, len, 1280, 9, 10);
	for (unsigned k = nf; k-- > 0;)
		rx(k % NW, &f[k]);
	n = settle(out, FMAX);
	sum(&c);
	cr_assert_eq(n, nf);
	cr_assert_eq(c.udp_checksum_filled, 1u);
	unsigned first = 0;

	for (unsigned j = 0; j < n; j++) {
		const uint8_t *b = rte_pktmbuf_mtod(out[j], const uint8_t *);

		/* The first fragment (offset 0, MF) holds the field; the others are as sent. */
		if ((b[20] << 8 | b[21]) == 0x2000) {
			first++;
			cr_assert_eq(b[40] << 8 | b[41], right, "fill: first fragment's field %04x",
			             b[40] << 8 | b[41]);
			cr_assert_eq(memcmp(b + 42, f[0].b + 42, f[0].len - 42), 0);
		} else {
			bool same = false;

			for (unsigned k = 1; k < nf && !same; k++)
				same = out[j]->pkt_len == f[k].len &&
				       memcmp(b + 12, f[k].b + 12, f[k].len - 12) == 0;
			cr_assert(same, "fill: a later fragment changed");
		}
	}
	cr_assert_eq(first, 1u);
	free_all(out, n);
}

/* The workers launched (dp_launch()), each polling its RX ring while the test fills both:
 * FRAG_DGRAMS INVITEs of 6 kB at MTU 576, their fragments dealt to the two rings in turn
 * and the datagrams interleaved, so each worker gets fragments the other owns. Every
 * fragment must leave exactly once, to its datagram's backend. At most FRAG_DGRAMS are
 * in flight, within the 8 entries of each worker's table. */
#define FRAG_DGRAMS 8u

Test(frag, running_workers)
{
	static uint8_t d[FRAG_DGRAMS][6100];
	static struct frame f[FRAG_DGRAMS][FMAX];
	static struct rte_mbuf *out[FRAG_DGRAMS * FMAX];
	static unsigned seen[FRAG_DGRAMS][FMAX];
	uint8_t mac[FRAG_DGRAMS][6];
	unsigned nf[FRAG_DGRAMS], total = 0, n = 0, k = 0;
	struct stats_counters c;
	uint64_t until;

	for (unsigned i = 0; i < FRAG_DGRAMS; i++) {
		char cid[64];
		uint32_t len;

		snprintf(cid, sizeof(cid), "running-%u@example.com", i);
		len = udp_invite(d[i], 6000, cid);
		reference(false, d[i], len, 10, mac[i]);
		nf[i] = fragment(f[i], false, d[i], len, 576, 1000 + i, 10);
		total += nf[i];
	}
	for (unsigned w = 0; w < NW; w++)
		memset(&E.dp.workers[w]->st->c, 0, sizeof(E.dp.workers[w]->st->c));
	dp_launch(&E.dp);
	for (unsigned j = 0; j < FMAX; j++)
		for (unsigned i = 0; i < FRAG_DGRAMS; i++)
			if (j < nf[i]) {
				struct rte_mbuf *m = mbuf_of(&f[i][j]);

				while (rte_ring_enqueue(E.rxr[k % NW], m) != 0)
					sched_yield();
				k++;
			}
	/* Until every fragment is out; the bound only ends a run that fails. */
	until = rte_get_tsc_cycles() + 60 * rte_get_tsc_hz();
	while (n < total && rte_get_tsc_cycles() < until) {
		for (unsigned w = 0; w < NW; w++)
			n += rte_ring_dequeue_burst(E.txr[w], (void **)out + n,
			                            SPH_ARRAY_SIZE(out) - n, NULL);
		sched_yield();
	}
	dp_stop(&E.dp);
	for (unsigned w = 0; w < NW; w++)
		n += rte_ring_dequeue_burst(E.txr[w], (void **)out + n, SPH_ARRAY_SIZE(out) - n,
		                            NULL);
	sum(&c);
	cr_assert_eq(n, total, "%u of %u fragments sent", n, total);
	cr_assert_eq(c.frag_reassembled, FRAG_DGRAMS);
	cr_assert_gt(c.frag_handoff, 0u, "no fragment went to the other worker");
	cr_assert_eq(c.forwarded, total);
	for (unsigned j = 0; j < n; j++) {
		const uint8_t *b = rte_pktmbuf_mtod(out[j], const uint8_t *);
		bool found = false;

		for (unsigned i = 0; i < FRAG_DGRAMS && !found; i++)
			for (unsigned q = 0; q < nf[i] && !found; q++)
				if (out[j]->pkt_len == f[i][q].len &&
				    memcmp(b + 12, f[i][q].b + 12, f[i][q].len - 12) == 0) {
					cr_assert_eq(memcmp(b, mac[i], 6), 0,
					             "datagram %u: a fragment to another backend",
					             i);
					seen[i][q]++;
					found = true;
				}
		cr_assert(found, "frame %u is no fragment sent", j);
	}
	for (unsigned i = 0; i < FRAG_DGRAMS; i++)
		for (unsigned q = 0; q < nf[i]; q++)
			cr_assert_eq(seen[i][q], 1u, "datagram %u fragment %u sent %u times", i, q,
			             seen[i][q]);
	free_all(out, n);
}
