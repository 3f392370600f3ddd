/*
 * test_dp.c - Criterion suite for the dataplane worker (dataplane/worker.c, fwd.c, snap.c):
 * the real dp_worker_burst() on synthetic mbufs, in a real EAL with one net_ring vdev.
 *
 * Each test runs in its own process (Criterion's default), and the suite's .init brings up a
 * fresh EAL there (--no-huge --no-shconf, a file prefix of its own: nothing shared between
 * concurrent tests; --in-memory is refused with --no-huge by DPDK 22.11), the port
 * with the daemon's port_init(), a worker with dp_worker_create() and the snapshot with
 * snap_build() from a configuration read by cfg_load(). The net_ring vdev's queue 0 is one
 * rte_ring (ETH_RXTX0_net_ring0) for RX and TX: what the worker transmits is dequeued from it
 * and inspected byte by byte. Expected backends are computed here with keyhash and Maglev
 * straight from the configuration, not read from the snapshot.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/neigh.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "siphon/limit.h"
#include "limit.h"
#include "port.h"
#include "worker.h"

/* ---- configuration ---- */

#define DEVICE  "net_ring0"
#define TX_RING "ETH_RXTX0_" DEVICE /* net_ring's queue 0, both directions */
#define POOL_N  1023u

static const char conf_text[] =
        "hash_key_hex = \"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n"
        "ports = ( { name = \"net0\"; device = \"" DEVICE "\";\n"
        "  addresses = [ \"192.0.2.2/24\", \"2001:db8::2/64\" ]; gateway4 = \"192.0.2.1\"; } );\n"
        "groups = (\n"
        " { name = \"core\"; backends = (\n"
        "  { name = \"b1\"; address = \"192.0.2.21\"; mac = \"02:00:00:00:00:21\"; },\n"
        "  { name = \"b2\"; address = \"192.0.2.22\"; mac = \"02:00:00:00:00:22\"; },\n"
        "  { name = \"b3\"; address = \"192.0.2.23\"; mac = \"02:00:00:00:00:23\"; } ); },\n"
        " { name = \"core6\"; backends = (\n"
        "  { name = \"c1\"; address = \"2001:db8::21\"; mac = \"02:00:00:00:06:21\"; },\n"
        "  { name = \"c2\"; address = \"2001:db8::22\"; mac = \"02:00:00:00:06:22\"; },\n"
        "  { name = \"c3\"; address = \"2001:db8::23\"; mac = \"02:00:00:00:06:23\"; } ); },\n"
        " { name = \"lonely\"; backends = ( { name = \"n1\"; address = \"192.0.2.50\"; } ); },\n"
        " { name = \"dead\"; backends = ( { name = \"d1\"; address = \"192.0.2.60\";\n"
        "    mac = \"02:00:00:00:00:60\"; state = \"down\"; } ); },\n"
        " { name = \"far\"; backends = ( { name = \"f1\"; address = \"203.0.113.5\"; } ); }\n"
        ");\n"
        "vips = (\n"
        " { address = \"192.0.2.10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        " { address = \"2001:db8::10\"; group = \"core\"; mode = \"l2dsr\"; },\n"
        " { address = \"192.0.2.11\"; group = \"core\"; mode = \"ipip\"; },\n"
        " { address = \"2001:db8::11\"; group = \"core\"; mode = \"ipip\"; },\n"
        " { address = \"192.0.2.12\"; group = \"core6\"; mode = \"ipip\"; },\n"
        " { address = \"2001:db8::12\"; group = \"core6\"; mode = \"ipip\"; },\n"
        " { address = \"192.0.2.13\"; group = \"lonely\"; mode = \"l2dsr\"; },\n"
        " { address = \"192.0.2.14\"; group = \"dead\"; mode = \"l2dsr\"; },\n"
        " { address = \"192.0.2.15\"; group = \"far\"; mode = \"ipip\"; }\n"
        ");\n";

static const uint8_t port_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t client_mac[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};
static const char *const client4 = "198.51.100.7";
static const char *const client6 = "2001:db8:1::7";

/* ---- the environment each test process sets up ---- */

static struct {
	struct sph_cfg *cfg;
	struct dp dp;
	struct dp_worker *w;
	struct rte_ring *txr;
	uint16_t port_id;
	uint8_t mac[6]; /* the port's */
	/* Independent of the snapshot: */
	struct keyhash kh;
	struct maglev_table *ml[8];
	uint32_t base[8]; /* snapshot index of each group's first backend */
} E;

static void
addr16(const char *s, uint8_t out[16])
{
	struct cfg_addr a;
	uint16_t port;

	cr_assert_eq(cfg_addr_parse(s, &a, &port), 0, "bad address %s", s);
	memcpy(out, a.a, 16);
}

static void
suite_setup(void)
{
	char prefix[64], lcores[4096], path[] = "/tmp/test_dp.XXXXXX", err[512];
	char *argv[] = {"test_dp",
	                "--no-huge",
	                "-m",
	                "256",
	                "--no-pci",
	                "--no-shconf",
	                prefix,
	                lcores,
	                "--no-telemetry",
	                "--log-level=*:error",
	                "--vdev",
	                DEVICE,
	                NULL};
	cpu_set_t cpus;
	size_t k;
	int fd, argc = (int)SPH_ARRAY_SIZE(argv) - 1;
	struct snap *s;
	uint32_t bi = 0;

	/* No hugepages, no shared configuration: concurrent tests share nothing. One lcore,
	 * floating over the CPUs the process may use: "-l 0" would pin every concurrent test
	 * to CPU 0, where they take turns at a crawl. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=test_dp_%ld", (long)getpid());
	cr_assert_eq(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	k = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@(");
	for (int c = 0; c < CPU_SETSIZE && k + 8 < sizeof(lcores); c++)
		if (CPU_ISSET(c, &cpus))
			k += (size_t)snprintf(lcores + k, sizeof(lcores) - k, "%d,", c);
	lcores[k - 1] = ')';
	cr_assert_geq(rte_eal_init(argc, argv), 0, "rte_eal_init: %s", rte_strerror(rte_errno));

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, conf_text, sizeof(conf_text) - 1), (ssize_t)sizeof(conf_text) - 1);
	close(fd);
	cr_assert_eq(cfg_load(path, &E.cfg, err, sizeof(err)), 0, "cfg_load: %s", err);
	unlink(path);

	/* What main_setup() does, for one worker on this (the main) lcore. */
	struct dp *dp = &E.dp;

	pthread_mutex_init(&dp->ctl_lock, NULL);
	memset(dp->port_index, DP_PORT_NONE, sizeof(dp->port_index));
	dp->nb_workers = 1;
	dp->nb_ports = 1;
	snprintf(dp->ports[0].name, sizeof(dp->ports[0].name), "%s", E.cfg->ports[0].name);
	cr_assert_eq(rte_eth_dev_get_port_by_name(E.cfg->ports[0].device, &dp->ports[0].port_id), 0,
	             "no device %s", E.cfg->ports[0].device);
	E.port_id = dp->ports[0].port_id;
	dp->port_index[E.port_id] = 0;
	dp->pool = rte_pktmbuf_pool_create("t_mbuf", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                   (int)rte_socket_id());
	dp->qsbr = rte_zmalloc("t_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	dp->nd = rte_zmalloc("t_nd", sizeof(*dp->nd), RTE_CACHE_LINE_SIZE);
	dp->learn = rte_ring_create_elem("t_learn", sizeof(union dp_learn_rec), DP_LEARN_RING,
	                                 (int)rte_socket_id(), RING_F_SC_DEQ);
	cr_assert(dp->pool && dp->qsbr && dp->nd && dp->learn, "EAL allocations");
	rte_rcu_qsbr_init(dp->qsbr, 1);
	nd_table_init(dp->nd, NULL);
	cr_assert_eq(port_init(dp, &dp->ports[0], false, err, sizeof(err)), 0, "port_init: %s",
	             err);
	/* net_ring's MAC is 00:00:00:00:00:00 and it has no way to set one: give the port one
	 * as a NIC would, before the snapshot copies it, so that no check passes on zeros. */
	memcpy(dp->ports[0].mac, port_mac, 6);
	memcpy(E.mac, dp->ports[0].mac, 6);
	E.w = dp_worker_create(dp, 0, rte_lcore_id());
	cr_assert_not_null(E.w);
	dp->workers[0] = E.w;
	s = snap_build(dp, E.cfg, err, sizeof(err));
	cr_assert_not_null(s, "snap_build: %s", err);
	snap_publish(dp, s);
	E.txr = rte_ring_lookup(TX_RING);
	cr_assert_not_null(E.txr, "no ring %s", TX_RING);

	/* The dispatch, recomputed from the configuration alone. */
	cr_assert_eq(keyhash_init(&E.kh, E.cfg->hash_key, E.cfg->hash_key_len), 0);
	cr_assert_leq(E.cfg->nb_groups, SPH_ARRAY_SIZE(E.ml));
	for (unsigned g = 0; g < E.cfg->nb_groups; g++) {
		const struct cfg_group *grp = &E.cfg->groups[g];
		struct maglev_backend mb[8];

		cr_assert_leq(grp->nb_backends, SPH_ARRAY_SIZE(mb));
		for (unsigned i = 0; i < grp->nb_backends; i++)
			mb[i] = (struct maglev_backend){.id = grp->backends[i].name,
			                                .weight = grp->backends[i].weight,
			                                .state = grp->backends[i].state};
		E.ml[g] = malloc(maglev_table_bytes(E.cfg->maglev_size));
		cr_assert_not_null(E.ml[g]);
		cr_assert_eq(maglev_build(E.ml[g], E.cfg->maglev_size, mb, grp->nb_backends), 0);
		E.base[g] = bi;
		bi += grp->nb_backends;
	}
}

static void
suite_teardown(void)
{
	struct dp *dp = &E.dp;
	char dir[PATH_MAX];

	port_stop(&dp->ports[0]);
	dp_worker_free(E.w);
	snap_free(dp->snap);
	dp_aff_free(dp);
	rte_ring_free(dp->learn);
	rte_free(dp->nd);
	rte_free(dp->qsbr);
	rte_mempool_free(dp->pool);
	for (unsigned g = 0; g < SPH_ARRAY_SIZE(E.ml); g++)
		free(E.ml[g]);
	cfg_free(E.cfg);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(dir); /* empty without shared configuration */
}

TestSuite(dp, .init = suite_setup, .fini = suite_teardown);

/* ---- frames ---- */

#define SIP_HDRS(callid, cseq)                                                                     \
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-776asdhds\r\n"                          \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                 \
	"To: <sip:bob@example.com>\r\n"                                                            \
	"Call-ID: " callid "\r\n"                                                                  \
	"CSeq: " cseq "\r\n"                                                                       \
	"Content-Length: 0\r\n"                                                                    \
	"\r\n"
#define SIP_REQ(method, num, callid)                                                               \
	method " sip:bob@example.com SIP/2.0\r\n" SIP_HDRS(callid, num " " method)
#define SIP_RESP(status, num, method, callid)                                                      \
	"SIP/2.0 " status "\r\n" SIP_HDRS(callid, num " " method)
#define INVITE(callid) SIP_REQ("INVITE", "1", callid)

#define MAX_FRAME 2048

/*
 * How to build a frame. Zero fields mean: untagged, to the port's MAC from the client's,
 * UDP 5060 -> 5060 to the l2dsr VIP of ipv, checksum right, an INVITE for call "call-1".
 */
struct fspec {
	uint8_t ipv;         /* 4 or 6 */
	const char *dst;     /* destination address; NULL: 192.0.2.10 / 2001:db8::10 */
	uint16_t dport;      /* 0: 5060 */
	bool tagged;         /* one 802.1Q tag with tci */
	uint16_t tci;        /* the tag's TCI */
	uint8_t proto;       /* IP protocol / next header; 0: UDP */
	uint16_t frag;       /* IPv4 flags and fragment offset */
	uint8_t tos;         /* IPv4 TOS / IPv6 traffic class */
	bool bad_csum;       /* IPv4 header checksum off by one */
	const char *payload; /* NULL: INVITE("call-1") */
	size_t pad;          /* Ethernet padding after the IP datagram */
	size_t cut;          /* bytes cut off the end of the frame */
	int udp_len_delta;   /* added to the UDP length field */
	bool other_mac;      /* unicast to a MAC that is not the port's */
	size_t ip_len;       /* grow the payload with spaces to this IP datagram length */
	const char *src;     /* source address; NULL: client4 / client6 */
};

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len;
	size_t l3; /* IP header offset */
	size_t ip_len;
};

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* One's complement sum of n bytes (n even), folded, not inverted. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
build(const struct fspec *s, struct frame *f)
{
	const char *payload = s->payload ? s->payload : INVITE("call-1");
	size_t plen = strlen(payload), p = 12, ip, l4hl = s->proto == 6 ? 20 : 8;
	uint8_t dst[16], src[16];
	static char grown[MAX_FRAME];

	memset(f, 0, sizeof(*f));
	if (s->ip_len != 0) {
		/* Bytes after the header section and Content-Length 0 are ignored (§18.3). */
		size_t want = s->ip_len - (s->ipv == 6 ? 40 : 20) - l4hl;

		cr_assert(plen <= want && want < sizeof(grown));
		memset(grown, ' ', want);
		memcpy(grown, payload, plen);
		grown[want] = '\0';
		payload = grown;
		plen = want;
	}
	if (s->other_mac)
		memcpy(f->b, (const uint8_t[6]){0x02, 0, 0, 0, 0xbb, 0x01}, 6);
	else
		memcpy(f->b, E.mac, 6);
	memcpy(f->b + 6, client_mac, 6);
	if (s->tagged) {
		put16(f->b + p, 0x8100);
		put16(f->b + p + 2, s->tci);
		p += 4;
	}
	put16(f->b + p, s->ipv == 6 ? 0x86dd : 0x0800);
	p += 2;
	ip = f->l3 = p;
	addr16(s->dst ? s->dst : s->ipv == 6 ? "2001:db8::10" : "192.0.2.10", dst);
	addr16(s->src ? s->src : s->ipv == 6 ? client6 : client4, src);
	if (s->ipv == 4) {
		f->ip_len = 20 + l4hl + plen;
		f->b[ip] = 0x45;
		f->b[ip + 1] = s->tos;
		put16(f->b + ip + 2, (unsigned)f->ip_len);
		put16(f->b + ip + 4, 0x3039);
		put16(f->b + ip + 6, s->frag);
		f->b[ip + 8] = 57;
		f->b[ip + 9] = s->proto ? s->proto : 17;
		memcpy(f->b + ip + 12, src + 12, 4);
		memcpy(f->b + ip + 16, dst + 12, 4);
		put16(f->b + ip + 10, ~csum_fold(csum_add(0, f->b + ip, 20)) & 0xffff);
		if (s->bad_csum)
			put16(f->b + ip + 10, get16(f->b + ip + 10) + 1);
		p += 20;
	} else {
		f->ip_len = 40 + l4hl + plen;
		f->b[ip] = (uint8_t)(0x60 | s->tos >> 4);
		f->b[ip + 1] = (uint8_t)(s->tos << 4 | 0x0a); /* flow label 0xa1234 */
		put16(f->b + ip + 2, 0x1234);
		put16(f->b + ip + 4, (unsigned)(l4hl + plen));
		f->b[ip + 6] = s->proto ? s->proto : 17;
		f->b[ip + 7] = 57;
		memcpy(f->b + ip + 8, src, 16);
		memcpy(f->b + ip + 24, dst, 16);
		p += 40;
	}
	put16(f->b + p, 5060);
	put16(f->b + p + 2, s->dport ? s->dport : 5060);
	if (s->proto == 6) {
		f->b[p + 12] = 0x50; /* TCP data offset 5 */
		f->b[p + 13] = 0x18;
	} else {
		put16(f->b + p + 4, (unsigned)((int)(8 + plen) + s->udp_len_delta));
		put16(f->b + p + 6, 0xbeef);
	}
	p += l4hl;
	memcpy(f->b + p, payload, plen);
	p += plen + s->pad; /* padding: zeros */
	cr_assert_leq(p, sizeof(f->b));
	f->len = p - s->cut;
}

static struct rte_mbuf *
mbuf_of(const uint8_t *b, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);
	char *d;

	cr_assert_not_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)len);
	cr_assert_not_null(d);
	memcpy(d, b, len);
	m->port = E.port_id;
	return m;
}

/* Flush the worker and take everything it transmitted, in order. */
static unsigned
tx_take(struct rte_mbuf **out, unsigned max)
{
	dp_worker_flush(E.w);
	return rte_ring_dequeue_burst(E.txr, (void **)out, max, NULL);
}

static void
free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

/* Every mbuf came back: none leaked, none freed twice (the count would exceed the pool). */
static void
assert_pool_full(void)
{
	cr_assert_eq(rte_mempool_avail_count(E.dp.pool), POOL_N, "%u of %u mbufs in the pool",
	             rte_mempool_avail_count(E.dp.pool), POOL_N);
}

/* ---- expected dispatch, computed without the snapshot ---- */

struct dest {
	const struct cfg_vip *vip;
	unsigned group;
	const struct cfg_backend *be;
	uint32_t bi; /* snapshot index */
	uint64_t hash;
};

static const char *
call_id_of(const char *payload, size_t *len)
{
	const char *c = strstr(payload, "\r\nCall-ID: ");

	cr_assert_not_null(c, "no Call-ID in the test message");
	c += 11;
	*len = strcspn(c, "\r");
	return c;
}

static struct dest
dest_of(const struct fspec *s)
{
	const char *payload = s->payload ? s->payload : INVITE("call-1");
	struct dest d = {0};
	uint8_t a[16];
	size_t len;
	const char *cid = call_id_of(payload, &len);
	uint16_t slot;

	addr16(s->dst ? s->dst : s->ipv == 6 ? "2001:db8::10" : "192.0.2.10", a);
	d.vip = cfg_vip_find(E.cfg, s->ipv, a, s->dport ? s->dport : 5060);
	cr_assert_not_null(d.vip);
	d.group = d.vip->group;
	d.hash = keyhash_calc(&E.kh, cid, len);
	slot = maglev_lookup(E.ml[d.group], d.hash);
	cr_assert_neq(slot, MAGLEV_NONE);
	d.be = &E.cfg->groups[d.group].backends[slot];
	d.bi = E.base[d.group] + slot;
	return d;
}

/* ---- checks of transmitted frames ---- */

/* l2dsr: addresses rewritten, every byte from the EtherType (or the tag) on unchanged. */
static void
check_l2dsr(const char *name, const struct frame *in, const struct rte_mbuf *m,
            const struct dest *d)
{
	const uint8_t *o = rte_pktmbuf_mtod(m, const uint8_t *);

	cr_assert(d->be->has_mac, "%s: test backend without a MAC", name);
	cr_assert_eq(m->pkt_len, in->len, "%s: length %u, want %zu", name, m->pkt_len, in->len);
	cr_assert_eq(m->nb_segs, 1);
	cr_assert(memcmp(o, d->be->mac, 6) == 0,
	          "%s: dst MAC %02x:%02x:%02x:%02x:%02x:%02x, want backend %s", name, o[0], o[1],
	          o[2], o[3], o[4], o[5], d->be->name);
	cr_assert(memcmp(o + 6, E.mac, 6) == 0, "%s: src MAC is not the port's", name);
	cr_assert(memcmp(o + 12, in->b + 12, in->len - 12) == 0, "%s: bytes after the MACs changed",
	          name);
}

/* ipip: outer header from scratch, then the client's datagram byte for byte. */
static void
check_ipip(const char *name, const struct fspec *s, const struct frame *in,
           const struct rte_mbuf *m, const struct dest *d)
{
	const uint8_t *o = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t l2 = in->l3, hlen = d->be->addr.family == 4 ? 20 : 40;
	const uint8_t *h = o + l2;
	uint8_t src[16];

	cr_assert_eq(m->nb_segs, 1);
	cr_assert_eq(m->pkt_len, l2 + hlen + in->ip_len, "%s: length %u, want %zu", name,
	             m->pkt_len, l2 + hlen + in->ip_len);
	cr_assert(memcmp(o, d->be->mac, 6) == 0, "%s: dst MAC is not backend %s's", name,
	          d->be->name);
	cr_assert(memcmp(o + 6, E.mac, 6) == 0, "%s: src MAC is not the port's", name);
	if (s->tagged)
		cr_assert(memcmp(o + 12, in->b + 12, 4) == 0, "%s: VLAN tag changed", name);
	cr_assert(memcmp(o + l2 + hlen, in->b + in->l3, in->ip_len) == 0,
	          "%s: inner datagram changed", name);
	if (d->be->addr.family == 4) {
		addr16("192.0.2.2", src);
		cr_assert_eq(get16(o + l2 - 2), 0x0800u, "%s: EtherType", name);
		cr_assert_eq(h[0], 0x45, "%s: version/IHL %#x", name, h[0]);
		cr_assert_eq(h[1], s->tos, "%s: TOS %#x, want %#x", name, h[1], s->tos);
		cr_assert_eq(get16(h + 2), 20 + in->ip_len, "%s: total length %u", name,
		             get16(h + 2));
		cr_assert_eq(get16(h + 6) & 0xbfff, 0u, "%s: fragment bits %#x", name,
		             get16(h + 6));
		cr_assert_eq(get16(h + 6) & 0x4000,
		             s->ipv == 6 || (s->frag & 0x4000) ? 0x4000u : 0u, "%s: DF", name);
		cr_assert_eq(h[8], 64, "%s: TTL %u", name, h[8]);
		cr_assert_eq(h[9], s->ipv == 4 ? 4 : 41, "%s: protocol %u", name, h[9]);
		cr_assert_eq(csum_fold(csum_add(0, h, 20)), 0xffff, "%s: bad IPv4 header checksum",
		             name);
		cr_assert(memcmp(h + 12, src + 12, 4) == 0, "%s: source is not the port's", name);
		cr_assert(memcmp(h + 16, d->be->addr.a + 12, 4) == 0, "%s: destination", name);
	} else {
		uint32_t vtc = (uint32_t)get16(h) << 16 | get16(h + 2);

		addr16("2001:db8::2", src);
		cr_assert_eq(get16(o + l2 - 2), 0x86ddu, "%s: EtherType", name);
		cr_assert_eq(vtc >> 28, 6u, "%s: version", name);
		cr_assert_eq((vtc >> 20) & 0xff, s->tos, "%s: traffic class", name);
		cr_assert_eq(vtc & 0xfffff, (uint32_t)d->hash & 0xfffff, "%s: flow label", name);
		cr_assert_eq(get16(h + 4), in->ip_len, "%s: payload length %u", name, get16(h + 4));
		cr_assert_eq(h[6], s->ipv == 4 ? 4 : 41, "%s: next header %u", name, h[6]);
		cr_assert_eq(h[7], 64, "%s: hop limit %u", name, h[7]);
		cr_assert(memcmp(h + 8, src, 16) == 0, "%s: source is not the port's", name);
		cr_assert(memcmp(h + 24, d->be->addr.a, 16) == 0, "%s: destination", name);
	}
}

/* ---- counters ---- */

static const char *
counter_name(size_t off, char *buf, size_t len)
{
#define NAME_OF(name, doc)                                                                         \
	if (off == offsetof(struct stats_worker, name))                                            \
		return #name;
	STATS_COUNTERS(NAME_OF)
#undef NAME_OF
	if (off >= offsetof(struct stats_worker, pkt_drop) &&
	    off < offsetof(struct stats_worker, pkt_drop) +
	                    sizeof(((struct stats_worker *)0)->pkt_drop))
		snprintf(buf, len, "pkt.%s",
		         pkt_verdict_name((enum pkt_verdict)(
		                 (off - offsetof(struct stats_worker, pkt_drop)) / 8)));
	else if (off >= offsetof(struct stats_worker, sip_drop) &&
	         off < offsetof(struct stats_worker, sip_anomaly))
		snprintf(buf, len, "sip.%s",
		         sip_verdict_name((enum sip_verdict)(
		                 (off - offsetof(struct stats_worker, sip_drop)) / 8)));
	else if (off >= offsetof(struct stats_worker, sip_anomaly) &&
	         off < offsetof(struct stats_worker, sip_anomaly) + SIP_VERDICT_COUNT * 8)
		snprintf(buf, len, "sip_anomaly.%s",
		         sip_verdict_name((enum sip_verdict)(
		                 (off - offsetof(struct stats_worker, sip_anomaly)) / 8)));
	else
		snprintf(buf, len, "backend[%zu] word %zu",
		         (off - offsetof(struct stats_worker, backend)) /
		                 sizeof(struct stats_backend),
		         (off - offsetof(struct stats_worker, backend)) %
		                 sizeof(struct stats_backend) / 8);
	return buf;
}

/* Every counter of the worker equals want's, tx_bytes excepted when want's is UINT64_MAX. */
static void
assert_stats(const char *name, const struct stats_worker *want)
{
	const uint64_t *g = (const uint64_t *)E.w->st, *x = (const uint64_t *)want;
	size_t skip = offsetof(struct stats_worker, tx_bytes) / 8;
	char buf[64];

	for (size_t i = 0; i < sizeof(*want) / 8; i++)
		if (!(i == skip && x[i] == UINT64_MAX))
			cr_assert_eq(g[i], x[i], "%s: counter %s is %lu, want %lu", name,
			             counter_name(i * 8, buf, sizeof(buf)), g[i], x[i]);
}

#define CTR(field) offsetof(struct stats_worker, field)

static void
bump(struct stats_worker *st, size_t off)
{
	(*(uint64_t *)((uint8_t *)st + off))++;
}

static struct stats_worker *
stats_new(void)
{
	struct stats_worker *st = calloc(1, sizeof(*st));

	cr_assert_not_null(st);
	return st;
}

/* What forwarding one message to d adds to forwarded and the per-backend counters. */
static void
count_fwd(struct stats_worker *st, const struct dest *d, const char *payload, size_t len)
{
	struct stats_backend *b = &st->backend[d->bi];

	st->forwarded++;
	b->packets++;
	b->bytes += len;
	if (strncmp(payload, "SIP/2.0 ", 8) == 0)
		b->responses[payload[8] - '1']++;
	else
		b->requests[sip_method_of((const uint8_t *)payload, strcspn(payload, " "))]++;
}

/* ---- (1) l2dsr, IPv4 and IPv6 ---- */

static void
one_l2dsr(const struct fspec *s)
{
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	struct frame f;
	struct dest d;
	unsigned n;

	memset(E.w->st, 0, sizeof(*E.w->st)); /* callers send one frame after another */
	build(s, &f);
	d = dest_of(s);
	cr_assert_eq(d.vip->mode, CFG_VIP_L2DSR);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1, "%u frames sent, want 1", n);
	check_l2dsr("l2dsr", &f, out[0], &d);
	want->rx_packets = want->tx_packets = 1;
	want->rx_bytes = want->tx_bytes = f.len;
	count_fwd(want, &d, s->payload ? s->payload : INVITE("call-1"), f.len);
	assert_stats("l2dsr", want);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

/* A defect in a field no dispatch decision reads (include/siphon/sip.h, SIP_VERDICTS) is
 * counted as an anomaly and the message forwarded, bytes untouched: the backend judges
 * it. Here an SBC's To tag ending in a control octet and an unbracketed IPv6 sent-by. */
Test(dp, anomalies_counted_and_forwarded)
{
	static const char payload[] = "BYE sip:bob@example.com SIP/2.0\r\n"
	                              "Via: SIP/2.0/UDP 2001:db8::7;branch=z9hG4bK-1\r\n"
	                              "From: <sip:alice@example.com>;tag=a1\r\n"
	                              "To: <sip:bob@example.com>;tag=b2\x01\r\n"
	                              "Call-ID: anomalous-1\r\n"
	                              "CSeq: 2 BYE\r\n"
	                              "Content-Length: 0\r\n\r\n";
	struct fspec s = {.ipv = 4, .payload = payload};
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	struct frame f;
	struct dest d;
	unsigned n;

	memset(E.w->st, 0, sizeof(*E.w->st));
	build(&s, &f);
	d = dest_of(&s);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1, "%u frames sent, want 1: an anomaly must not drop", n);
	check_l2dsr("anomalies", &f, out[0], &d);
	want->rx_packets = want->tx_packets = 1;
	want->rx_bytes = want->tx_bytes = f.len;
	want->sip_anomaly[SIP_BAD_VIA] = 1;
	want->sip_anomaly[SIP_BAD_TO] = 1;
	count_fwd(want, &d, payload, f.len);
	assert_stats("anomalies", want);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

Test(dp, l2dsr_v4_invite)
{
	one_l2dsr(&(struct fspec){.ipv = 4});
}

Test(dp, l2dsr_v6_invite)
{
	one_l2dsr(&(struct fspec){.ipv = 6});
}

/* (4) A tagged frame keeps its tag: the bytes after the MACs, tag included, are unchanged. */
Test(dp, l2dsr_vlan_tag_kept)
{
	one_l2dsr(&(struct fspec){.ipv = 4, .tagged = true, .tci = 0x2064});
	one_l2dsr(&(struct fspec){.ipv = 6, .tagged = true, .tci = 0x0fff});
}

/* Short frames carry Ethernet padding: l2dsr sends it as it came. */
Test(dp, l2dsr_padding_kept)
{
	one_l2dsr(&(struct fspec){.ipv = 4, .pad = 6});
}

/* ---- (2) a call sticks to one backend ---- */

#define CALL(id)                                                                                   \
	{                                                                                          \
		INVITE(id), SIP_REQ("ACK", "1", id), SIP_RESP("180 Ringing", "1", "INVITE", id),   \
		        SIP_RESP("200 OK", "1", "INVITE", id), SIP_REQ("BYE", "2", id),            \
		        SIP_RESP("200 OK", "2", "BYE", id)                                         \
	}
#define MSGS_PER_CALL 6

static const char *const calls[][MSGS_PER_CALL] = {
        CALL("a84b4c76e66710@pc33.atlanta.com"),
        CALL("call-1"),
        CALL("call-2"),
        CALL("call-3"),
        CALL("call-4"),
        CALL("call-5"),
        CALL("call-6"),
        CALL("call-7"),
        CALL("call-8"),
        CALL("call-9"),
        CALL("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
        CALL("x"),
};

Test(dp, call_sticks_to_one_backend)
{
	enum { N = SPH_ARRAY_SIZE(calls) * MSGS_PER_CALL };
	struct stats_worker *want = stats_new();
	struct rte_mbuf *in[N], *out[N + 1];
	unsigned n, used = 0, k = 0;
	static struct frame f[N];
	struct dest d[N];

	/* Calls arrive over both families, interleaved, in bursts of DP_BURST and more. */
	for (unsigned c = 0; c < SPH_ARRAY_SIZE(calls); c++)
		for (unsigned i = 0; i < MSGS_PER_CALL; i++) {
			struct fspec s = {.ipv = (c + i) % 2 ? 6 : 4, .payload = calls[c][i]};

			k = i * SPH_ARRAY_SIZE(calls) + c;
			build(&s, &f[k]);
			d[k] = dest_of(&s);
			in[k] = mbuf_of(f[k].b, f[k].len);
			count_fwd(want, &d[k], calls[c][i], f[k].len);
			want->rx_bytes += f[k].len;
		}
	dp_worker_burst(E.w, in, N / 2);
	dp_worker_burst(E.w, in + N / 2, N - N / 2);
	n = tx_take(out, N + 1);
	cr_assert_eq(n, N, "%u frames sent, want %u", n, (unsigned)N);
	for (unsigned c = 0; c < SPH_ARRAY_SIZE(calls); c++) {
		const struct cfg_backend *first = NULL;

		for (unsigned i = 0; i < MSGS_PER_CALL; i++) {
			unsigned j = i * SPH_ARRAY_SIZE(calls) + c;
			const uint8_t *o = rte_pktmbuf_mtod(out[j], const uint8_t *);

			check_l2dsr(calls[c][i], &f[j], out[j], &d[j]);
			if (first == NULL)
				first = d[j].be;
			cr_assert(memcmp(o, first->mac, 6) == 0,
			          "call %u message %u left for "
			          "another backend than its INVITE",
			          c, i);
		}
		used |= 1u << (first - E.cfg->groups[0].backends);
	}
	/* Not a degenerate dispatch: these Call-IDs spread over every backend. */
	cr_assert_eq(used, 7u, "backends used: %#x", used);
	want->rx_packets = want->tx_packets = N;
	want->tx_bytes = want->rx_bytes;
	assert_stats("call", want);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

/* ---- (3) IP-in-IP ---- */

struct ipip_row {
	const char *name;
	struct fspec s;
};

static const struct ipip_row ipip_rows[] = {
        {"v4 in v4", {.ipv = 4, .dst = "192.0.2.11"}},
        {"v4 in v4, DF, TOS", {.ipv = 4, .dst = "192.0.2.11", .frag = 0x4000, .tos = 0xb9}},
        {"v6 in v4", {.ipv = 6, .dst = "2001:db8::11", .tos = 0x2e}},
        {"v4 in v6", {.ipv = 4, .dst = "192.0.2.12", .tos = 0x88}},
        {"v6 in v6", {.ipv = 6, .dst = "2001:db8::12", .tos = 0xa1}},
        {"v4 in v4, tagged", {.ipv = 4, .dst = "192.0.2.11", .tagged = true, .tci = 0x0123}},
        {"v6 in v6, tagged", {.ipv = 6, .dst = "2001:db8::12", .tagged = true, .tci = 7}},
        {"v4 in v4, padding trimmed", {.ipv = 4, .dst = "192.0.2.11", .pad = 9}},
        {"v6 in v6, padding trimmed", {.ipv = 6, .dst = "2001:db8::12", .pad = 4}},
        {"v4 in v4, at the MTU", {.ipv = 4, .dst = "192.0.2.11", .ip_len = 1480}},
        {"v6 in v4, at the MTU", {.ipv = 6, .dst = "2001:db8::11", .ip_len = 1480}},
        {"v4 in v6, at the MTU", {.ipv = 4, .dst = "192.0.2.12", .ip_len = 1460}},
        {"v4 in v4, response",
         {.ipv = 4, .dst = "192.0.2.11", .payload = SIP_RESP("486 Busy Here", "1", "INVITE", "x")}},
};

ParameterizedTestParameters(dp, ipip)
{
	static size_t idx[SPH_ARRAY_SIZE(ipip_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(ipip_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(ipip_rows));
}

ParameterizedTest(size_t *i, dp, ipip)
{
	const struct ipip_row *r = &ipip_rows[*i];
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	struct frame f;
	struct dest d;
	unsigned n;

	build(&r->s, &f);
	d = dest_of(&r->s);
	cr_assert_eq(d.vip->mode, CFG_VIP_IPIP, "%s: not an ipip VIP", r->name);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1, "%s: %u frames sent, want 1", r->name, n);
	check_ipip(r->name, &r->s, &f, out[0], &d);
	want->rx_packets = want->tx_packets = 1;
	want->rx_bytes = f.len;
	want->tx_bytes = out[0]->pkt_len;
	count_fwd(want, &d, r->s.payload ? r->s.payload : INVITE("call-1"), f.len);
	assert_stats(r->name, want);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

/* Consecutive IPv4 tunnels number their datagrams apart (RFC 6864: unique while in flight). */
Test(dp, ipip_v4_ids_differ)
{
	struct fspec s = {.ipv = 4, .dst = "192.0.2.11"};
	struct rte_mbuf *m[2], *out[4];
	struct frame f;
	unsigned n;

	build(&s, &f);
	m[0] = mbuf_of(f.b, f.len);
	m[1] = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, m, 2);
	n = tx_take(out, 4);
	cr_assert_eq(n, 2);
	cr_assert_neq(get16(rte_pktmbuf_mtod(out[0], uint8_t *) + 14 + 4),
	              get16(rte_pktmbuf_mtod(out[1], uint8_t *) + 14 + 4));
	free_all(out, n);
	assert_pool_full();
}

/* ---- (5) drops: each counted by its reason, nothing sent ---- */

enum mb_kind { MB_PLAIN = 0, MB_SEGMENTED, MB_NO_HEADROOM };

struct drop_row {
	const char *name;
	struct fspec s;
	size_t ctr; /* the one counter it bumps */
	enum mb_kind mb;
};

static const struct drop_row drop_rows[] = {
        {"not a VIP: address", {.ipv = 4, .dst = "192.0.2.99"}, CTR(not_vip), MB_PLAIN},
        {"not a VIP: port", {.ipv = 4, .dport = 5070}, CTR(not_vip), MB_PLAIN},
        {"not a VIP: v6 address", {.ipv = 6, .dst = "2001:db8::99"}, CTR(not_vip), MB_PLAIN},
        {"not a VIP: port's own address", {.ipv = 4, .dst = "192.0.2.2"}, CTR(not_vip), MB_PLAIN},
        {"not SIP",
         {.ipv = 4, .payload = "\x80\x00\x12\x34 RTP-ish bytes"},
         CTR(sip_drop[SIP_BAD_START_LINE]),
         MB_PLAIN},
        {"keep-alive", {.ipv = 6, .payload = "\r\n\r\n"}, CTR(sip_drop[SIP_KEEPALIVE]), MB_PLAIN},
        {"SIP without Call-ID",
         {.ipv = 4,
          .payload = "OPTIONS sip:x@example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-1\r\n"
                     "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
                     "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"},
         CTR(sip_drop[SIP_NO_CALL_ID]),
         MB_PLAIN},
        {"truncated UDP (frame cut)",
         {.ipv = 4, .cut = 10},
         CTR(pkt_drop[PKT_TRUNCATED]),
         MB_PLAIN},
        {"truncated UDP (v6 frame cut)",
         {.ipv = 6, .cut = 1},
         CTR(pkt_drop[PKT_TRUNCATED]),
         MB_PLAIN},
        {"UDP length past the datagram",
         {.ipv = 4, .udp_len_delta = 1},
         CTR(pkt_drop[PKT_BAD_UDP_LENGTH]),
         MB_PLAIN},
        {"bad IPv4 checksum",
         {.ipv = 4, .bad_csum = true},
         CTR(pkt_drop[PKT_BAD_IPV4_CHECKSUM]),
         MB_PLAIN},
        {"TCP", {.ipv = 4, .proto = 6}, CTR(pkt_drop[PKT_NOT_UDP]), MB_PLAIN},
        {"TCP over IPv6", {.ipv = 6, .proto = 6}, CTR(pkt_drop[PKT_NOT_UDP]), MB_PLAIN},
        {"fragment (MF)", {.ipv = 4, .frag = 0x2000}, CTR(pkt_drop[PKT_FRAGMENT]), MB_PLAIN},
        {"fragment (offset)", {.ipv = 4, .frag = 0x0010}, CTR(pkt_drop[PKT_FRAGMENT]), MB_PLAIN},
        {"unicast to another MAC", {.ipv = 4, .other_mac = true}, CTR(other_mac), MB_PLAIN},
        {"group without a usable backend",
         {.ipv = 4, .dst = "192.0.2.14"},
         CTR(no_backend),
         MB_PLAIN},
        {"backend MAC unresolved", {.ipv = 4, .dst = "192.0.2.13"}, CTR(no_neighbor), MB_PLAIN},
        {"two segments", {.ipv = 4}, CTR(multi_segment), MB_SEGMENTED},
        {"ipip: no headroom", {.ipv = 4, .dst = "192.0.2.11"}, CTR(encap_no_room), MB_NO_HEADROOM},
        /* The port's MTU is 1500: an outer IPv4 header takes 20 bytes, IPv6 40. */
        {"ipip: over the MTU (v4 in v4)",
         {.ipv = 4, .dst = "192.0.2.11", .ip_len = 1481},
         CTR(encap_too_big),
         MB_PLAIN},
        {"ipip: over the MTU (v6 in v6)",
         {.ipv = 6, .dst = "2001:db8::12", .ip_len = 1461},
         CTR(encap_too_big),
         MB_PLAIN},
        {"ipip: gateway MAC unresolved",
         {.ipv = 4, .dst = "192.0.2.15"},
         CTR(no_neighbor),
         MB_PLAIN},
};

static struct rte_mbuf *
mbuf_for(const struct drop_row *r, const struct frame *f)
{
	struct rte_mbuf *m, *m2;
	char *d;

	switch (r->mb) {
	case MB_SEGMENTED:
		m = mbuf_of(f->b, 40);
		m2 = mbuf_of(f->b + 40, f->len - 40);
		cr_assert_eq(rte_pktmbuf_chain(m, m2), 0);
		return m;
	case MB_NO_HEADROOM:
		m = rte_pktmbuf_alloc(E.dp.pool);
		cr_assert_not_null(m);
		m->data_off = 19; /* one byte short of an outer IPv4 header */
		d = rte_pktmbuf_append(m, (uint16_t)f->len);
		cr_assert_not_null(d);
		memcpy(d, f->b, f->len);
		m->port = E.port_id;
		return m;
	case MB_PLAIN:
		break;
	}
	return mbuf_of(f->b, f->len);
}

ParameterizedTestParameters(dp, drops)
{
	static size_t idx[SPH_ARRAY_SIZE(drop_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(drop_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(drop_rows));
}

ParameterizedTest(size_t *i, dp, drops)
{
	const struct drop_row *r = &drop_rows[*i];
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	struct frame f;
	unsigned n;

	build(&r->s, &f);
	m = mbuf_for(r, &f);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 0, "%s: %u frames sent, want none", r->name, n);
	want->rx_packets = 1;
	want->rx_bytes = f.len;
	bump(want, r->ctr);
	assert_stats(r->name, want);
	free(want);
	assert_pool_full();
}

/* ---- (6) ARP and ND for the VIPs ---- */

static size_t
arp_request(uint8_t *b, const char *target)
{
	uint8_t spa[16], tpa[16];

	addr16(client4, spa);
	addr16(target, tpa);
	memset(b, 0, 60);
	memset(b, 0xff, 6);
	memcpy(b + 6, client_mac, 6);
	put16(b + 12, 0x0806);
	put16(b + 14, 1);      /* Ethernet */
	put16(b + 16, 0x0800); /* IPv4 */
	b[18] = 6;
	b[19] = 4;
	put16(b + 20, 1); /* request */
	memcpy(b + 22, client_mac, 6);
	memcpy(b + 28, spa + 12, 4);
	memcpy(b + 38, tpa + 12, 4);
	return 60;
}

static void
check_arp_reply(const struct rte_mbuf *m, const char *target)
{
	const uint8_t *o = rte_pktmbuf_mtod(m, const uint8_t *);
	uint8_t spa[16], tpa[16];

	addr16(client4, tpa);
	addr16(target, spa);
	cr_assert_geq(m->pkt_len, 42u);
	cr_assert(memcmp(o, client_mac, 6) == 0, "reply not to the requester");
	cr_assert(memcmp(o + 6, E.mac, 6) == 0, "reply not from the port's MAC");
	cr_assert_eq(get16(o + 12), 0x0806u);
	cr_assert_eq(get16(o + 14), 1u);
	cr_assert_eq(get16(o + 16), 0x0800u);
	cr_assert_eq(get16(o + 20), 2u, "ARP op %u, want reply", get16(o + 20));
	cr_assert(memcmp(o + 22, E.mac, 6) == 0, "sender MAC");
	cr_assert(memcmp(o + 28, spa + 12, 4) == 0, "sender IP is not %s", target);
	cr_assert(memcmp(o + 32, client_mac, 6) == 0, "target MAC");
	cr_assert(memcmp(o + 38, tpa + 12, 4) == 0, "target IP");
}

Test(dp, arp_request_for_vips_answered)
{
	static const char *const targets[] = {"192.0.2.10", "192.0.2.11", "192.0.2.14",
	                                      "192.0.2.2"};
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m[SPH_ARRAY_SIZE(targets)], *out[8];
	union dp_learn_rec rec;
	uint8_t b[64];
	unsigned n;

	for (unsigned i = 0; i < SPH_ARRAY_SIZE(targets); i++) {
		size_t len = arp_request(b, targets[i]);

		m[i] = mbuf_of(b, len);
		want->rx_bytes += len;
		want->tx_bytes += len;
	}
	dp_worker_burst(E.w, m, SPH_ARRAY_SIZE(targets));
	n = tx_take(out, 8);
	cr_assert_eq(n, SPH_ARRAY_SIZE(targets), "%u replies, want %zu", n,
	             SPH_ARRAY_SIZE(targets));
	for (unsigned i = 0; i < n; i++)
		check_arp_reply(out[i], targets[i]);
	want->rx_packets = want->tx_packets = want->nd_reply = want->nd_learn = n;
	assert_stats("arp", want);
	/* The requester went to the main lcore as a learnt neighbour. */
	cr_assert_eq(rte_ring_count(E.dp.learn), n);
	cr_assert_eq(rte_ring_dequeue_elem(E.dp.learn, &rec, sizeof(rec)), 0);
	cr_assert_eq(rec.l.family, 4);
	cr_assert(memcmp(rec.l.mac, client_mac, 6) == 0);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

Test(dp, arp_request_for_others_not_answered)
{
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	uint8_t b[64];
	size_t len = arp_request(b, "192.0.2.99");
	unsigned n;

	m = mbuf_of(b, len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 0);
	want->rx_packets = 1;
	want->rx_bytes = len;
	want->nd_learn = want->nd_learn_only = 1; /* the requester is a neighbour all the same */
	assert_stats("arp other", want);
	free(want);
	assert_pool_full();
}

Test(dp, ns_for_v6_vip_answered)
{
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	uint8_t b[ND_FRAME_MAX], src[16], vip[16];
	const uint8_t *o, *ip, *icmp;
	size_t len;
	uint32_t sum;
	unsigned n;

	addr16(client6, src);
	addr16("2001:db8::12", vip);
	len = nd_build_ns(b, client_mac, src, vip);
	m = mbuf_of(b, len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1);
	o = rte_pktmbuf_mtod(out[0], const uint8_t *);
	ip = o + 14;
	icmp = ip + 40;
	cr_assert_eq(out[0]->pkt_len, 14u + 40 + 32);
	cr_assert(memcmp(o, client_mac, 6) == 0);
	cr_assert(memcmp(o + 6, E.mac, 6) == 0);
	cr_assert_eq(get16(o + 12), 0x86ddu);
	cr_assert_eq(ip[6], 58);
	cr_assert_eq(ip[7], 255);
	cr_assert(memcmp(ip + 8, vip, 16) == 0, "NA not from the VIP");
	cr_assert(memcmp(ip + 24, src, 16) == 0, "NA not to the soliciting node");
	cr_assert_eq(icmp[0], 136, "ICMPv6 type %u", icmp[0]);
	cr_assert_eq(icmp[4] & 0xe0, 0x60, "NA flags %#x: want S and O", icmp[4]);
	cr_assert(memcmp(icmp + 8, vip, 16) == 0);
	cr_assert_eq(icmp[24], 2);
	cr_assert_eq(icmp[25], 1);
	cr_assert(memcmp(icmp + 26, E.mac, 6) == 0, "TLLA is not the port's MAC");
	/* Checksum over the pseudo-header and the message. */
	sum = csum_add(0, ip + 8, 32) + get16(ip + 4) + 58;
	cr_assert_eq(csum_fold(csum_add(sum, icmp, get16(ip + 4))), 0xffff, "NA checksum");
	want->rx_packets = want->tx_packets = want->nd_reply = want->nd_learn = 1;
	want->rx_bytes = len;
	want->tx_bytes = out[0]->pkt_len;
	assert_stats("ns", want);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

/* ---- (7) a backend whose MAC is unknown ---- */

Test(dp, unresolved_backend_never_sent)
{
	struct fspec s = {.ipv = 4, .dst = "192.0.2.13"};
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m[3], *out[4];
	const uint8_t resolved[6] = {0x02, 0, 0, 0, 0, 0x50};
	struct nd_learn l = {.family = 4};
	struct frame f;
	struct dest d;
	unsigned n;

	build(&s, &f);
	d = dest_of(&s);
	cr_assert(!d.be->has_mac);
	for (unsigned i = 0; i < 3; i++)
		m[i] = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, m, 3);
	n = tx_take(out, 4);
	cr_assert_eq(n, 0, "%u frames sent to an unresolved backend", n);
	want->rx_packets = want->no_neighbor = 3;
	want->rx_bytes = 3 * f.len;
	assert_stats("unresolved", want);
	assert_pool_full();

	/* Once the main lcore learns its MAC, the same frame goes there. */
	addr16("192.0.2.50", l.addr);
	memcpy(l.mac, resolved, 6);
	nd_table_learn(E.dp.nd, &l, 1);
	m[0] = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1);
	cr_assert(memcmp(rte_pktmbuf_mtod(out[0], uint8_t *), resolved, 6) == 0);
	free_all(out, n);
	free(want);
	assert_pool_full();
}

/* ---- (8) everything at once ---- */

enum mixed_kind { MIX_DROP, MIX_FWD, MIX_ARP };

static const struct fspec mixed_l2[] = {
        {.ipv = 4, .tagged = true, .tci = 5},
        {.ipv = 6},
        {.ipv = 4, .payload = SIP_RESP("200 OK", "1", "INVITE", "call-2")},
};

/*
 * Every drop row, every ipip row, l2dsr frames and ARP requests, three times over, handed to
 * the worker in DP_BURST bursts: the counters must add up exactly, the transmitted frames must
 * be the forwarded and answered ones in order, and rx = forwarded + dropped + answered. (No
 * frame here is an ARP/ND that is only learnt from; those count as nd_learn_only.)
 */
Test(dp, mixed_burst_conservation)
{
	enum { REPEAT = 3, MAXN = 256 };
	struct stats_worker *want = stats_new();
	struct rte_mbuf *in[MAXN], *out[MAXN];
	static struct frame f[MAXN];
	const struct fspec *spec[MAXN];
	enum mixed_kind kind[MAXN];
	struct dest d[MAXN];
	unsigned n = 0, nfwd = 0, narp = 0, ndrop = 0, got, o = 0;
	uint64_t drops, forwarded = 0, tx_bytes = 0;
	const struct stats_worker *st = E.w->st;

	for (unsigned rep = 0; rep < REPEAT; rep++) {
		for (size_t r = 0; r < SPH_ARRAY_SIZE(drop_rows); r++, n++) {
			kind[n] = MIX_DROP;
			build(&drop_rows[r].s, &f[n]);
			in[n] = mbuf_for(&drop_rows[r], &f[n]);
			bump(want, drop_rows[r].ctr);
			ndrop++;
		}
		for (size_t r = 0; r < SPH_ARRAY_SIZE(ipip_rows) + SPH_ARRAY_SIZE(mixed_l2);
		     r++, n++) {
			kind[n] = MIX_FWD;
			spec[n] = r < SPH_ARRAY_SIZE(ipip_rows)
			                  ? &ipip_rows[r].s
			                  : &mixed_l2[r - SPH_ARRAY_SIZE(ipip_rows)];
			build(spec[n], &f[n]);
			d[n] = dest_of(spec[n]);
			in[n] = mbuf_of(f[n].b, f[n].len);
			count_fwd(want, &d[n],
			          spec[n]->payload ? spec[n]->payload : INVITE("call-1"), f[n].len);
			nfwd++;
		}
		kind[n] = MIX_ARP;
		f[n].len = arp_request(f[n].b, "192.0.2.10");
		in[n] = mbuf_of(f[n].b, f[n].len);
		want->nd_reply++;
		want->nd_learn++;
		narp++;
		n++;
		cr_assert_lt(n, MAXN);
	}
	for (unsigned i = 0; i < n; i++)
		want->rx_bytes += f[i].len;
	want->rx_packets = n;
	want->tx_packets = nfwd + narp;
	want->tx_bytes = UINT64_MAX; /* checked against what was dequeued */

	/* In DP_BURST bursts, as dp_worker_main() hands them over. */
	for (unsigned i = 0; i < n; i += DP_BURST)
		dp_worker_burst(E.w, in + i, (uint16_t)RTE_MIN(DP_BURST, n - i));
	got = tx_take(out, MAXN);
	cr_assert_eq(got, nfwd + narp, "%u frames sent, want %u", got, nfwd + narp);
	for (unsigned i = 0; i < n; i++) {
		if (kind[i] == MIX_DROP)
			continue;
		tx_bytes += out[o]->pkt_len;
		if (kind[i] == MIX_ARP)
			check_arp_reply(out[o], "192.0.2.10");
		else if (d[i].vip->mode == CFG_VIP_IPIP)
			check_ipip("mixed ipip", spec[i], &f[i], out[o], &d[i]);
		else
			check_l2dsr("mixed l2dsr", &f[i], out[o], &d[i]);
		o++;
	}
	assert_stats("mixed", want);
	cr_assert_eq(st->tx_bytes, tx_bytes);

	/* Conservation, from the counters alone: forwarded is the backends' sum. */
	for (uint32_t bi = 0; bi < E.dp.snap->nb_backends; bi++)
		forwarded += st->backend[bi].packets;
	cr_assert_eq(st->forwarded, forwarded);
	drops = st->multi_segment + st->other_mac + st->not_vip + st->no_backend + st->no_neighbor +
	        st->encap_no_room + st->encap_too_big + st->udp_bad_checksum + st->nd_drop;
	for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
		drops += st->pkt_drop[v];
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		drops += st->sip_drop[v];
	cr_assert_eq(forwarded, nfwd);
	cr_assert_eq(drops, ndrop);
	cr_assert_eq(st->nd_reply, narp);
	cr_assert_eq(st->rx_packets, forwarded + drops + st->nd_reply,
	             "rx %lu != forwarded %lu + dropped %lu + answered %lu", st->rx_packets,
	             forwarded, drops, st->nd_reply);
	cr_assert_eq(st->tx_packets, forwarded + st->nd_reply);
	free_all(out, got);
	free(want);
	assert_pool_full();
}

/* Every named drop counter has its row (nd_drop has its own test), and so has each decoder
 * and scanner verdict the brief names. */
Test(dp, drop_rows_cover_reasons)
{
	static const size_t verdicts[] = {
	        CTR(sip_drop[SIP_BAD_START_LINE]),    CTR(sip_drop[SIP_NO_CALL_ID]),
	        CTR(pkt_drop[PKT_TRUNCATED]),         CTR(pkt_drop[PKT_BAD_UDP_LENGTH]),
	        CTR(pkt_drop[PKT_BAD_IPV4_CHECKSUM]), CTR(pkt_drop[PKT_NOT_UDP]),
	        CTR(pkt_drop[PKT_FRAGMENT]),
	};
	size_t need[32], nb = 0;
	char buf[64];

	/* udp_bad_checksum needs a port configured to verify: (10) covers it. */
	/* The allowlist and rate limits need a VIP configured with them: (11) covers them;
	 * the fragment table's drops need several frames each: tests/test_frag.c; rule drops
	 * need a rule set: tests/test_rules_daemon.sh. */
#define NEED_DROP(name, doc)                                                                       \
	if (strncmp(doc, "drop:", 5) == 0 && strcmp(#name, "nd_drop") != 0 &&                      \
	    strcmp(#name, "udp_bad_checksum") != 0 && strncmp(#name, "acl_", 4) != 0 &&            \
	    strncmp(#name, "limit_", 6) != 0 && strncmp(#name, "frag_", 5) != 0 &&                 \
	    strncmp(#name, "rule_", 5) != 0)                                                       \
		need[nb++] = CTR(name);
	STATS_COUNTERS(NEED_DROP)
#undef NEED_DROP
	cr_assert_eq(nb, 7u, "named drop counters: %zu", nb);
	for (size_t k = 0; k < SPH_ARRAY_SIZE(verdicts); k++)
		need[nb++] = verdicts[k];
	for (size_t k = 0; k < nb; k++) {
		bool found = false;

		for (size_t r = 0; r < SPH_ARRAY_SIZE(drop_rows); r++)
			found |= drop_rows[r].ctr == need[k];
		cr_expect(found, "no drop row for %s", counter_name(need[k], buf, sizeof(buf)));
	}
}

/* Our own ARP, looped back by a switch: neither answered nor learnt from. */
Test(dp, arp_looped_back_dropped)
{
	struct stats_worker *want = stats_new();
	struct rte_mbuf *m, *out[4];
	uint8_t b[64];
	size_t len = arp_request(b, "192.0.2.10");

	memcpy(b + 6, E.mac, 6);
	memcpy(b + 22, E.mac, 6);
	m = mbuf_of(b, len);
	dp_worker_burst(E.w, &m, 1);
	cr_assert_eq(tx_take(out, 4), 0);
	want->rx_packets = want->nd_drop = 1;
	want->rx_bytes = len;
	assert_stats("looped", want);
	cr_assert_eq(rte_ring_count(E.dp.learn), 0);
	free(want);
	assert_pool_full();
}

/* An off-link backend goes through the gateway: its MAC on the frame, the backend inside. */
Test(dp, ipip_offlink_through_gateway)
{
	struct fspec s = {.ipv = 4, .dst = "192.0.2.15"};
	const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
	struct nd_learn l = {.family = 4};
	struct rte_mbuf *m, *out[4];
	struct frame f;
	struct dest d;
	const uint8_t *o;
	unsigned n;

	build(&s, &f);
	d = dest_of(&s);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	cr_assert_eq(tx_take(out, 4), 0, "sent before the gateway is resolved");
	cr_assert_eq(E.w->st->no_neighbor, 1);

	/* The backend's own address is no neighbour: learning it changes nothing. */
	memcpy(l.addr, d.be->addr.a, 16);
	memcpy(l.mac, (const uint8_t[6]){0x02, 0, 0, 0, 0x77, 0x77}, 6);
	nd_table_learn(E.dp.nd, &l, 1);
	addr16("192.0.2.1", l.addr);
	memcpy(l.mac, gw_mac, 6);
	nd_table_learn(E.dp.nd, &l, 1);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1);
	o = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert(memcmp(o, gw_mac, 6) == 0, "not sent to the gateway's MAC");
	cr_assert(memcmp(o + 6, E.mac, 6) == 0);
	cr_assert_eq(o[14 + 9], 4);
	cr_assert(memcmp(o + 14 + 16, d.be->addr.a + 12, 4) == 0, "outer destination");
	cr_assert(memcmp(o + 34, f.b + 14, f.len - 14) == 0, "inner datagram changed");
	cr_assert_eq(E.w->st->backend[d.bi].packets, 1);
	free_all(out, n);
	assert_pool_full();
}

/* The NIC refuses what its TX ring has no room for: counted as refused, not as sent, freed. */
Test(dp, tx_ring_full)
{
	struct fspec s = {.ipv = 4};
	unsigned cap = rte_ring_free_count(E.txr), room = 3, n;
	struct rte_mbuf *m[5], *out[8];
	static void *filler[2048];
	struct frame f;
	struct dest d;

	cr_assert_leq(cap, SPH_ARRAY_SIZE(filler));
	for (unsigned i = 0; i < cap - room; i++)
		filler[i] = (void *)(uintptr_t)(i + 1);
	cr_assert_eq(rte_ring_enqueue_burst(E.txr, filler, cap - room, NULL), cap - room);
	build(&s, &f);
	d = dest_of(&s);
	for (unsigned i = 0; i < 5; i++)
		m[i] = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, m, 5);
	dp_worker_flush(E.w);
	cr_assert_eq(rte_ring_dequeue_burst(E.txr, filler, cap - room, NULL), cap - room);
	n = tx_take(out, 8);
	cr_assert_eq(n, room);
	cr_assert_eq(E.w->st->tx_packets, room);
	cr_assert_eq(E.w->st->tx_bytes, room * f.len);
	cr_assert_eq(E.w->st->tx_drop, 5 - room);
	/* Forwarded (the dispatch happened) though not all of them left. */
	cr_assert_eq(E.w->st->backend[d.bi].packets, 5);
	free_all(out, n);
	assert_pool_full();
}

/*
 * A frame shorter than a destination MAC is truncated, whatever the mbuf holds past its end:
 * here the frames are prefixes of the port's MAC and the stale bytes after them are not.
 * (dp_pkt() compares 6 bytes whatever data_len is: this fails until it checks the length.)
 */
Test(dp, runt_frames_truncated)
{
	enum { N = 6 };
	struct rte_mbuf *m[N];

	for (unsigned len = 0; len < N; len++) {
		uint8_t *d;

		m[len] = rte_pktmbuf_alloc(E.dp.pool);
		cr_assert_not_null(m[len]);
		memset(rte_pktmbuf_mtod(m[len], uint8_t *), 0xee, 64); /* a previous frame */
		d = (uint8_t *)rte_pktmbuf_append(m[len], (uint16_t)len);
		cr_assert(len == 0 || d != NULL);
		memcpy(rte_pktmbuf_mtod(m[len], uint8_t *), E.mac, len);
		m[len]->port = E.port_id;
	}
	dp_worker_burst(E.w, m, N);
	cr_assert_eq(tx_take(m, N), 0);
	cr_assert_eq(E.w->st->pkt_drop[PKT_TRUNCATED], N, "pkt.truncated %lu, other_mac %lu",
	             E.w->st->pkt_drop[PKT_TRUNCATED], E.w->st->other_mac);
	assert_pool_full();
}

/* With IPv4 checksum offload the worker leaves the checksum 0 and tells the NIC where it is. */
Test(dp, ipip_v4_checksum_offload)
{
	static const struct fspec specs[] = {
	        {.ipv = 4, .dst = "192.0.2.11"},
	        {.ipv = 6, .dst = "2001:db8::11", .tagged = true, .tci = 9},
	        {.ipv = 4, .dst = "192.0.2.12"}, /* IPv6 outer: nothing to offload */
	};
	struct rte_mbuf *m, *out[4];
	struct frame f;
	unsigned n;

	E.dp.ports[0].ipv4_cksum_offload = true;
	for (unsigned i = 0; i < SPH_ARRAY_SIZE(specs); i++) {
		const struct fspec *s = &specs[i];
		struct dest d = dest_of(s);
		const uint8_t *h;
		uint64_t want = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;

		build(s, &f);
		m = mbuf_of(f.b, f.len);
		dp_worker_burst(E.w, &m, 1);
		n = tx_take(out, 4);
		cr_assert_eq(n, 1);
		h = rte_pktmbuf_mtod(out[0], const uint8_t *) + f.l3;
		if (d.be->addr.family == 4) {
			cr_assert_eq(out[0]->ol_flags & want, want, "%u: offload flags %#lx", i,
			             out[0]->ol_flags);
			cr_assert_eq(out[0]->l2_len, f.l3, "%u: l2_len %u", i, out[0]->l2_len);
			cr_assert_eq(out[0]->l3_len, 20u);
			cr_assert_eq(get16(h + 10), 0u, "%u: checksum left for the NIC must be 0",
			             i);
		} else {
			cr_assert_eq(out[0]->ol_flags & want, 0u, "%u: IPv4 offload on IPv6", i);
		}
		free_all(out, n);
	}
	assert_pool_full();
}

/* ---- (9) transitions: dialogs survive drain, add and recovery (docs/dialogs.md) ---- */

#define SIP_HDRS_TAGGED(callid, cseq)                                                              \
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-99xyz\r\n"                              \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                 \
	"To: <sip:bob@example.com>;tag=b7\r\n"                                                     \
	"Call-ID: " callid "\r\n"                                                                  \
	"CSeq: " cseq "\r\n"                                                                       \
	"Content-Length: 0\r\n"                                                                    \
	"\r\n"

/* The messages of one dialog, by kind; %s is the Call-ID. */
enum tmsg { T_INVITE, T_ACK, T_CANCEL, T_BYE, T_RESP, T_REINVITE, T_REGISTER, T_COUNT };

static const char *const tmsg_fmt[T_COUNT] = {
        [T_INVITE] = "INVITE sip:bob@example.com SIP/2.0\r\n" SIP_HDRS("%s", "1 INVITE"),
        [T_ACK] = "ACK sip:bob@example.com SIP/2.0\r\n" SIP_HDRS_TAGGED("%s", "1 ACK"),
        [T_CANCEL] = "CANCEL sip:bob@example.com SIP/2.0\r\n" SIP_HDRS("%s", "1 CANCEL"),
        [T_BYE] = "BYE sip:bob@example.com SIP/2.0\r\n" SIP_HDRS_TAGGED("%s", "2 BYE"),
        [T_RESP] = "SIP/2.0 200 OK\r\n" SIP_HDRS_TAGGED("%s", "2 BYE"),
        [T_REINVITE] = "INVITE sip:bob@example.com SIP/2.0\r\n" SIP_HDRS_TAGGED("%s", "3 INVITE"),
        [T_REGISTER] = "REGISTER sip:example.com SIP/2.0\r\n" SIP_HDRS("%s", "1 REGISTER"),
};

static const uint8_t b4_mac[6] = {0x02, 0, 0, 0, 0, 0x24};

/* The transition under test: the core group's tables before and after, by name. */
static struct {
	struct sph_cfg *next;
	struct maglev_table *before, *after;
	const char *names_after[8];
	unsigned nb_after;
	struct stats_worker *want;
} T;

static struct maglev_table *
core_table(const struct cfg_group *grp)
{
	struct maglev_backend mb[8];
	struct maglev_table *t = malloc(maglev_table_bytes(E.cfg->maglev_size));

	cr_assert_not_null(t);
	for (unsigned i = 0; i < grp->nb_backends; i++)
		mb[i] = (struct maglev_backend){.id = grp->backends[i].name,
		                                .weight = grp->backends[i].weight,
		                                .state = grp->backends[i].state};
	cr_assert_eq(maglev_build(t, E.cfg->maglev_size, mb, grp->nb_backends), 0);
	return t;
}

/* Publish a snapshot of next as the control plane does: every backend keeps its counter
 * slot by name, a new one takes the first free slot; old: the transition's source, or
 * NULL (the window closed). */
static void
republish(const struct sph_cfg *next, bool trans)
{
	const struct snap *cur = E.dp.snap;
	uint16_t slots[STATS_MAX_BACKENDS];
	bool used[STATS_MAX_BACKENDS] = {false};
	unsigned bi = 0, nb = 0;
	char err[512];
	struct snap *s;

	for (uint32_t i = 0; i < cur->nb_backends; i++)
		used[cur->backends[i].slot] = true;
	for (unsigned g = 0; g < next->nb_groups; g++)
		for (unsigned i = 0; i < next->groups[g].nb_backends; i++, bi++) {
			int sl = -1;

			for (uint32_t k = 0; k < cur->nb_backends && sl < 0; k++)
				if (strcmp(cur->info[k].name, next->groups[g].backends[i].name) ==
				    0)
					sl = cur->backends[k].slot;
			if (sl < 0) {
				while (used[nb])
					nb++;
				sl = (int)nb;
				used[nb] = true;
			}
			slots[bi] = (uint16_t)sl;
		}
	s = snap_build_trans(&E.dp, next, slots, trans ? cur : NULL, err, sizeof(err));
	cr_assert_not_null(s, "snap_build_trans: %s", err);
	snap_publish(&E.dp, s);
}

/* Start a transition of the core group: next is a copy of the configuration that edit()
 * changed; published with the running snapshot as the source. */
static void
transition(void (*edit)(struct sph_cfg *))
{
	T.next = cfg_dup(E.cfg);
	cr_assert_not_null(T.next);
	edit(T.next);
	T.before = core_table(&E.cfg->groups[0]);
	T.after = core_table(&T.next->groups[0]);
	T.nb_after = T.next->groups[0].nb_backends;
	for (unsigned i = 0; i < T.nb_after; i++)
		T.names_after[i] = T.next->groups[0].backends[i].name;
	T.want = stats_new();
	republish(T.next, true);
	cr_assert(E.dp.snap->has_prev, "the change opened no window");
	cr_assert_not_null(E.dp.snap->groups[0].prev);
}

static void
transition_end(void)
{
	free(T.before);
	free(T.after);
	free(T.want);
	cfg_free(T.next);
	memset(&T, 0, sizeof(T));
}

static const char *
owner_before(const char *cid)
{
	return E.cfg->groups[0]
	        .backends[maglev_lookup(T.before, keyhash_calc(&E.kh, cid, strlen(cid)))]
	        .name;
}

static const char *
owner_after(const char *cid)
{
	return T.names_after[maglev_lookup(T.after, keyhash_calc(&E.kh, cid, strlen(cid)))];
}

/* A Call-ID "prefix-N" whose owners before and after the change are (before, after);
 * NULL matches any, "!x" any but x. */
static bool
name_is(const char *name, const char *want)
{
	if (want == NULL)
		return true;
	if (want[0] == '!')
		return strcmp(name, want + 1) != 0;
	return strcmp(name, want) == 0;
}

static const char *
find_cid(const char *prefix, const char *before, const char *after, char *buf, size_t len)
{
	for (unsigned n = 0; n < 100000; n++) {
		snprintf(buf, len, "%s-%u", prefix, n);
		if (name_is(owner_before(buf), before) && name_is(owner_after(buf), after))
			return buf;
	}
	cr_assert_fail("no Call-ID with owners %s -> %s", before ? before : "any",
	               after ? after : "any");
	return NULL;
}

/* Send one message of kind k of call cid to the core l2dsr VIP; it must reach backend
 * name (by its MAC). Accumulates the expected counters. */
static void
send_expect(enum tmsg k, const char *cid, const char *name)
{
	char payload[1024];
	struct fspec fs = {.ipv = 4, .payload = payload};
	const struct snap *s = E.dp.snap;
	struct rte_mbuf *m, *out[4];
	const uint8_t *mac = NULL;
	struct frame f;
	int slot = -1;
	unsigned n;

	snprintf(payload, sizeof(payload), tmsg_fmt[k], cid);
	build(&fs, &f);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	cr_assert_eq(n, 1, "%s %u: %u frames sent", cid, k, n);
	for (unsigned i = 0; i < T.next->groups[0].nb_backends; i++)
		if (strcmp(T.next->groups[0].backends[i].name, name) == 0)
			mac = T.next->groups[0].backends[i].has_mac
			              ? T.next->groups[0].backends[i].mac
			              : b4_mac;
	for (uint32_t i = 0; i < s->nb_backends; i++)
		if (strcmp(s->info[i].name, name) == 0)
			slot = s->backends[i].slot;
	cr_assert(mac != NULL && slot >= 0, "no backend %s", name);
	const uint8_t *o = rte_pktmbuf_mtod(out[0], const uint8_t *);
	cr_assert(memcmp(o, mac, 6) == 0,
	          "%s message %u went to %02x:%02x:%02x:%02x:%02x:%02x, want %s", cid, k, o[0],
	          o[1], o[2], o[3], o[4], o[5], name);
	struct dest d = {.bi = (uint32_t)slot};
	count_fwd(T.want, &d, payload, f.len);
	T.want->rx_packets++;
	T.want->tx_packets++;
	T.want->rx_bytes += f.len;
	T.want->tx_bytes += f.len;
	free_all(out, n);
}

static void
edit_drain_b2(struct sph_cfg *c)
{
	c->groups[0].backends[1].state = MAGLEV_DRAIN;
}

static void
edit_add_b4(struct sph_cfg *c)
{
	struct cfg_group *g = &c->groups[0];
	struct cfg_backend *b = realloc(g->backends, (g->nb_backends + 1) * sizeof(*b));

	cr_assert_not_null(b);
	g->backends = b;
	b[g->nb_backends] = b[0];
	snprintf(b[g->nb_backends].name, CFG_NAME_MAX, "b4");
	addr16("192.0.2.24", b[g->nb_backends].addr.a);
	memcpy(b[g->nb_backends].mac, b4_mac, 6);
	g->nb_backends++;
}

static void
edit_up_b2(struct sph_cfg *c)
{
	c->groups[0].backends[1].state = MAGLEV_UP;
}

/* Drain: every later message of b2's dialogs still reaches b2; no new dialog does. */
Test(dp, drain_keeps_dialogs_on_draining_backend)
{
	char held[64], other[64], fresh[64];
	static const enum tmsg later[] = {T_ACK, T_CANCEL, T_BYE, T_RESP, T_REINVITE};

	transition(edit_drain_b2);
	find_cid("held", "b2", NULL, held, sizeof(held));
	find_cid("other", "!b2", NULL, other, sizeof(other));
	for (size_t i = 0; i < SPH_ARRAY_SIZE(later); i++) {
		send_expect(later[i], held, "b2");
		T.want->dispatch_old++;
		send_expect(later[i], other, owner_before(other));
	}
	/* New dialogs avoid b2; one that b2 would have had is recorded and followed. */
	for (unsigned n = 0; n < 200; n++) {
		snprintf(fresh, sizeof(fresh), "fresh-%u", n);
		send_expect(T_INVITE, fresh, owner_after(fresh));
		cr_assert_str_neq(owner_after(fresh), "b2");
		if (strcmp(owner_before(fresh), "b2") == 0)
			T.want->affinity_insert++;
	}
	find_cid("moved", "b2", NULL, fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, owner_after(fresh));
	send_expect(T_INVITE, fresh, owner_after(fresh)); /* a retransmission */
	send_expect(T_ACK, fresh, owner_after(fresh));
	send_expect(T_BYE, fresh, owner_after(fresh));
	T.want->affinity_insert++;
	T.want->affinity_hit += 3;
	/* A REGISTER is no dialog: current table, nothing recorded. */
	find_cid("reg", "b2", NULL, fresh, sizeof(fresh));
	send_expect(T_REGISTER, fresh, owner_after(fresh));
	assert_stats("drain", T.want);
	transition_end();
	assert_pool_full();
}

/* Add: the new backend gets new dialogs, and no message of a dialog another one holds. */
Test(dp, added_backend_takes_no_existing_dialog)
{
	char held[64], fresh[64];
	static const enum tmsg later[] = {T_ACK, T_CANCEL, T_BYE, T_RESP, T_REINVITE};
	unsigned to_b4 = 0;

	transition(edit_add_b4);
	find_cid("held", NULL, "b4", held, sizeof(held));
	for (size_t i = 0; i < SPH_ARRAY_SIZE(later); i++) {
		send_expect(later[i], held, owner_before(held));
		T.want->dispatch_old++;
	}
	for (unsigned n = 0; n < 300; n++) {
		snprintf(fresh, sizeof(fresh), "fresh-%u", n);
		send_expect(T_INVITE, fresh, owner_after(fresh));
		if (strcmp(owner_before(fresh), owner_after(fresh)) != 0)
			T.want->affinity_insert++;
		if (strcmp(owner_after(fresh), "b4") == 0) {
			to_b4++;
			send_expect(T_BYE, fresh, "b4");
			T.want->affinity_hit++;
		}
	}
	cr_assert_gt(to_b4, 300 / 4 / 2, "b4 took %u of 300 new dialogs", to_b4);
	assert_stats("add", T.want);
	transition_end();
	assert_pool_full();
}

/* Recovery is an add of a known backend: b2 down, then up again. */
Test(dp, recovered_backend_takes_no_existing_dialog)
{
	char held[64], fresh[64];

	E.cfg->groups[0].backends[1].state = MAGLEV_DOWN;
	republish(E.cfg, false);
	transition(edit_up_b2);
	find_cid("held", NULL, "b2", held, sizeof(held));
	send_expect(T_BYE, held, owner_before(held));
	send_expect(T_ACK, held, owner_before(held));
	T.want->dispatch_old += 2;
	find_cid("fresh", NULL, "b2", fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, "b2");
	send_expect(T_BYE, fresh, "b2");
	T.want->affinity_insert++;
	T.want->affinity_hit++;
	assert_stats("recover", T.want);
	transition_end();
	assert_pool_full();
}

/* Fill the bank inserts go to with entries that match nothing. */
static void
aff_fill(void)
{
	struct dp_affinity *a = E.dp.aff;

	for (uint32_t i = 0; i <= a->mask; i++)
		a->bank[a->cur][i] = 0xdead0000u | 1u;
}

/* Full: counted; the dialog follows the previous table when its backend takes new
 * dialogs (add), the current one when it is draining (drain wins). */
Test(dp, affinity_full_counted)
{
	char fresh[64];

	transition(edit_add_b4);
	aff_fill();
	find_cid("fresh", "!b4", "b4", fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, owner_before(fresh));
	send_expect(T_BYE, fresh, owner_before(fresh));
	T.want->affinity_full++;
	T.want->dispatch_old++; /* the BYE, by the previous table */
	assert_stats("full, add", T.want);
	transition_end();

	republish(E.cfg, false); /* back to b1..b3, no window */
	memset(E.w->st, 0, sizeof(*E.w->st));
	transition(edit_drain_b2);
	aff_fill();
	T.want->affinity_full++;
	find_cid("fresh", "b2", NULL, fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, owner_after(fresh));
	assert_stats("full, drain", T.want);
	transition_end();
	assert_pool_full();
}

/* When the window closes (a snapshot without previous tables), routing is the current
 * table's alone, and the affinity table is emptied. */
Test(dp, window_close_drops_old_routing)
{
	char held[64], fresh[64];

	transition(edit_drain_b2);
	find_cid("fresh", "b2", NULL, fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, owner_after(fresh));
	T.want->affinity_insert++;
	cr_assert_neq(dp_aff_find(E.dp.aff, keyhash_calc(&E.kh, fresh, strlen(fresh))), 0);
	republish(T.next, false);
	dp_aff_clear(&E.dp);
	cr_assert(!E.dp.snap->has_prev);
	cr_assert_null(E.dp.snap->groups[0].prev);
	cr_assert_eq(dp_aff_find(E.dp.aff, keyhash_calc(&E.kh, fresh, strlen(fresh))), 0);
	find_cid("held", "b2", NULL, held, sizeof(held));
	send_expect(T_BYE, held, owner_after(held));
	send_expect(T_BYE, fresh, owner_after(fresh));
	assert_stats("closed", T.want);
	transition_end();
	assert_pool_full();
}

/* A change and its reversal within one window keep the window (recorded dialogs stay
 * found); entries live through one rotation and are gone after two. */
Test(dp, reversal_keeps_window_and_rotation_expires)
{
	char fresh[64];
	uint64_t h;

	transition(edit_drain_b2);
	find_cid("fresh", "b2", NULL, fresh, sizeof(fresh));
	send_expect(T_INVITE, fresh, owner_after(fresh));
	T.want->affinity_insert++;
	republish(E.cfg, true); /* b2 up again: the same table as before the drain */
	cr_assert(E.dp.snap->has_prev, "a reversal closed the window");
	send_expect(T_BYE, fresh, owner_after(fresh));
	T.want->affinity_hit++;
	assert_stats("reversal", T.want);
	h = keyhash_calc(&E.kh, fresh, strlen(fresh));
	dp_aff_rotate(&E.dp);
	cr_assert_neq(dp_aff_find(E.dp.aff, h), 0, "lost at the first rotation");
	dp_aff_rotate(&E.dp);
	cr_assert_eq(dp_aff_find(E.dp.aff, h), 0, "kept past the second rotation");
	transition_end();
	assert_pool_full();
}

/* Forgetting a removed backend's slot (dp_aff_forget): its records stop matching, and
 * a record probed past one of them is still found (a tombstone, not an empty word). */
Test(dp, affinity_forget_keeps_probe_chain)
{
	uint64_t h1 = 0x1111000000000040ull, h2 = 0x2222000000000040ull; /* one bucket */
	uint8_t gone[STATS_MAX_BACKENDS] = {0};

	if (E.dp.aff == NULL)
		cr_assert_eq(dp_aff_create(&E.dp), 0);
	cr_assert_eq(dp_aff_add(E.dp.aff, h1, 7), DP_AFF_ADDED);
	cr_assert_eq(dp_aff_add(E.dp.aff, h2, 9), DP_AFF_ADDED);
	cr_assert_eq(dp_aff_find(E.dp.aff, h2), 10u);
	gone[7] = 1;
	dp_aff_forget(&E.dp, gone);
	cr_assert_eq(dp_aff_find(E.dp.aff, h1), 0u, "a forgotten slot still found");
	cr_assert_eq(dp_aff_find(E.dp.aff, h2), 10u, "a record behind a forgotten one lost");
	gone[7] = 0;
	gone[9] = 1;
	dp_aff_forget(&E.dp, gone);
	cr_assert_eq(dp_aff_find(E.dp.aff, h2), 0u);
	cr_assert_eq(dp_aff_add(E.dp.aff, h2, 9), DP_AFF_ADDED, "no room after forgetting");
	dp_aff_clear(&E.dp);
}

/* A change that moves no key (a down backend added) opens no window. */
Test(dp, change_moving_nothing_opens_no_window)
{
	struct sph_cfg *next = cfg_dup(E.cfg);

	cr_assert_not_null(next);
	edit_add_b4(next);
	next->groups[0].backends[3].state = MAGLEV_DOWN;
	republish(next, true);
	cr_assert(!E.dp.snap->has_prev);
	cfg_free(next);
}

/* ---- (10) a port's udp_checksum: keep, verify, fill ---- */

/* The right UDP checksum of f's datagram (ipv 4 or 6, no extension header), computed here
 * byte by byte from RFC 768 rather than with the decoder's code. */
static uint16_t
ref_udp_csum(const struct frame *f, uint8_t ipv)
{
	const uint8_t *ip = f->b + f->l3, *u = ip + (ipv == 4 ? 20 : 40);
	size_t ulen = get16(u + 4);
	uint32_t sum = ipv == 4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32);
	uint16_t c;

	sum += 17 + (uint32_t)ulen;
	for (size_t i = 0; i < ulen; i++)
		if (i != 6 && i != 7)
			sum += i % 2 ? u[i] : (uint32_t)u[i] << 8;
	c = (uint16_t)~csum_fold(sum);
	return c != 0 ? c : 0xffff;
}

/* What Linux leaves in the field for the NIC (CHECKSUM_PARTIAL, TX offload on veth): the
 * folded pseudo-header sum, not inverted. */
static uint16_t
partial_udp_csum(const struct frame *f, uint8_t ipv)
{
	const uint8_t *ip = f->b + f->l3, *u = ip + (ipv == 4 ? 20 : 40);
	uint32_t sum = ipv == 4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32);

	return csum_fold(sum + 17 + get16(u + 4));
}

static void
set_udp_csum(struct frame *f, uint8_t ipv, uint16_t v)
{
	put16(f->b + f->l3 + (ipv == 4 ? 20 : 40) + 6, v);
}

static void
publish_udp_csum(uint8_t mode)
{
	char err[512];
	struct snap *s;

	E.cfg->ports[0].udp_csum = mode;
	s = snap_build(&E.dp, E.cfg, err, sizeof(err));
	cr_assert_not_null(s, "snap_build: %s", err);
	cr_assert_eq(s->ports[0].udp_csum, mode);
	snap_publish(&E.dp, s);
}

enum csum_field { F_WRONG, F_RIGHT, F_PARTIAL, F_ZERO };
enum csum_out { O_SAME, O_FIXED, O_DROP };

struct csum_row {
	const char *name;
	uint8_t mode;       /* enum cfg_udp_csum */
	enum csum_field in; /* what the client sent in the field */
	uint64_t ol;        /* what the NIC said (RTE_MBUF_F_RX_L4_CKSUM_*) */
	enum csum_out out;  /* forwarded as sent, forwarded with the right checksum, dropped */
	bool filled;        /* udp_checksum_filled counts it */
};

static const struct csum_row csum_rows[] = {
        {"keep: wrong", CFG_CSUM_KEEP, F_WRONG, 0, O_SAME, false},
        {"keep: partial", CFG_CSUM_KEEP, F_PARTIAL, 0, O_SAME, false},
        {"verify: right", CFG_CSUM_VERIFY, F_RIGHT, 0, O_SAME, false},
        {"verify: wrong", CFG_CSUM_VERIFY, F_WRONG, 0, O_DROP, false},
        {"verify: partial", CFG_CSUM_VERIFY, F_PARTIAL, 0, O_DROP, false},
        {"verify: NIC says good", CFG_CSUM_VERIFY, F_WRONG, RTE_MBUF_F_RX_L4_CKSUM_GOOD, O_SAME,
         false},
        {"verify: NIC says bad", CFG_CSUM_VERIFY, F_RIGHT, RTE_MBUF_F_RX_L4_CKSUM_BAD, O_DROP,
         false},
        {"verify: NIC says none", CFG_CSUM_VERIFY, F_PARTIAL, RTE_MBUF_F_RX_L4_CKSUM_NONE, O_DROP,
         false},
        {"fill: right", CFG_CSUM_FILL, F_RIGHT, 0, O_SAME, false},
        {"fill: wrong", CFG_CSUM_FILL, F_WRONG, 0, O_FIXED, true},
        {"fill: partial", CFG_CSUM_FILL, F_PARTIAL, 0, O_FIXED, true},
        {"fill: NIC says none", CFG_CSUM_FILL, F_PARTIAL, RTE_MBUF_F_RX_L4_CKSUM_NONE, O_FIXED,
         true},
        {"fill: NIC says bad", CFG_CSUM_FILL, F_RIGHT, RTE_MBUF_F_RX_L4_CKSUM_BAD, O_DROP, false},
        {"fill: NIC says good", CFG_CSUM_FILL, F_WRONG, RTE_MBUF_F_RX_L4_CKSUM_GOOD, O_SAME, false},
};

/* Every row over both families and both modes (odd and even payload lengths), as the
 * worker forwards it: bytes compared whole, against the frame with the expected field. */
Test(dp, udp_checksum_modes)
{
	static const struct fspec specs[] = {
	        {.ipv = 4},
	        {.ipv = 6},
	        {.ipv = 4, .dst = "192.0.2.11"},                  /* ipip, IPv4 outer */
	        {.ipv = 6, .dst = "2001:db8::12", .ip_len = 601}, /* ipip, IPv6 outer; odd */
	        {.ipv = 4, .ip_len = 333, .tagged = true, .tci = 7},
	};

	for (size_t r = 0; r < SPH_ARRAY_SIZE(csum_rows); r++) {
		const struct csum_row *row = &csum_rows[r];

		publish_udp_csum(row->mode);
		for (size_t k = 0; k < SPH_ARRAY_SIZE(specs); k++) {
			const struct fspec *sp = &specs[k];
			struct stats_worker *want = stats_new();
			struct dest d = dest_of(sp);
			struct frame f, expect;
			struct rte_mbuf *m, *out[4];
			uint16_t right, sent;
			unsigned n;

			memset(E.w->st, 0, sizeof(*E.w->st));
			build(sp, &f);
			right = ref_udp_csum(&f, sp->ipv);
			sent = row->in == F_RIGHT     ? right
			       : row->in == F_PARTIAL ? partial_udp_csum(&f, sp->ipv)
			       : row->in == F_ZERO    ? 0
			                              : (uint16_t)(right ^ 0x0101);
			cr_assert(row->in == F_RIGHT || sent != right,
			          "%s: the test's field must differ from the right one", row->name);
			set_udp_csum(&f, sp->ipv, sent);
			expect = f;
			if (row->out == O_FIXED)
				set_udp_csum(&expect, sp->ipv, right);
			m = mbuf_of(f.b, f.len);
			m->ol_flags = row->ol;
			dp_worker_burst(E.w, &m, 1);
			n = tx_take(out, 4);
			want->rx_packets = 1;
			want->rx_bytes = f.len;
			if (row->out == O_DROP) {
				cr_assert_eq(n, 0, "%s (%zu): %u frames sent, want none", row->name,
				             k, n);
				want->udp_bad_checksum = 1;
			} else {
				cr_assert_eq(n, 1, "%s (%zu): %u frames sent, want 1", row->name, k,
				             n);
				if (d.vip->mode == CFG_VIP_IPIP)
					check_ipip(row->name, sp, &expect, out[0], &d);
				else
					check_l2dsr(row->name, &expect, out[0], &d);
				want->tx_packets = 1;
				want->tx_bytes = out[0]->pkt_len;
				want->udp_checksum_filled = row->filled;
				count_fwd(want, &d, INVITE("call-1"), f.len);
			}
			assert_stats(row->name, want);
			free_all(out, n);
			free(want);
		}
	}
	publish_udp_csum(CFG_CSUM_KEEP);
	assert_pool_full();
}

/* IPv4 allows no checksum (field 0): verify passes it, fill writes one. IPv6 forbids it,
 * and the decoder drops it before any mode is asked. */
Test(dp, udp_checksum_zero)
{
	static const uint8_t modes[] = {CFG_CSUM_VERIFY, CFG_CSUM_FILL};

	for (size_t i = 0; i < SPH_ARRAY_SIZE(modes); i++) {
		struct fspec sp4 = {.ipv = 4}, sp6 = {.ipv = 6};
		struct dest d = dest_of(&sp4);
		struct frame f, expect;
		struct rte_mbuf *m, *out[4];
		unsigned n;

		publish_udp_csum(modes[i]);
		memset(E.w->st, 0, sizeof(*E.w->st));
		build(&sp4, &f);
		set_udp_csum(&f, 4, 0);
		expect = f;
		if (modes[i] == CFG_CSUM_FILL)
			set_udp_csum(&expect, 4, ref_udp_csum(&f, 4));
		m = mbuf_of(f.b, f.len);
		dp_worker_burst(E.w, &m, 1);
		n = tx_take(out, 4);
		cr_assert_eq(n, 1);
		check_l2dsr("zero v4", &expect, out[0], &d);
		cr_assert_eq(E.w->st->udp_checksum_filled, modes[i] == CFG_CSUM_FILL ? 1u : 0u);
		cr_assert_eq(E.w->st->udp_bad_checksum, 0u);
		free_all(out, n);

		build(&sp6, &f);
		set_udp_csum(&f, 6, 0);
		m = mbuf_of(f.b, f.len);
		dp_worker_burst(E.w, &m, 1);
		cr_assert_eq(tx_take(out, 4), 0u);
		cr_assert_eq(E.w->st->pkt_drop[PKT_UDP_ZERO_CHECKSUM], 1u);
		cr_assert_eq(E.w->st->udp_bad_checksum, 0u);
	}
	publish_udp_csum(CFG_CSUM_KEEP);
	assert_pool_full();
}

/* UDP to the port's own address goes to the kernel behind the exception path, which
 * checks the sum (probe replies from backends on veth): fill completes it there too. */
Test(dp, udp_checksum_exception_path)
{
	struct rte_ring *r = rte_ring_create("t_exc", 64, (int)rte_socket_id(), 0);
	struct fspec sp = {.ipv = 4, .dst = "192.0.2.2", .dport = 40000};
	struct frame f;
	struct rte_mbuf *m, *got;
	uint16_t right;
	const uint8_t *ip;

	cr_assert_not_null(r);
	E.dp.ports[0].exc_ring = r;
	build(&sp, &f);
	right = ref_udp_csum(&f, 4);
	set_udp_csum(&f, 4, partial_udp_csum(&f, 4));
	for (uint8_t mode = CFG_CSUM_KEEP; mode <= CFG_CSUM_FILL; mode++) {
		publish_udp_csum(mode);
		memset(E.w->st, 0, sizeof(*E.w->st));
		m = mbuf_of(f.b, f.len);
		dp_worker_burst(E.w, &m, 1);
		if (mode == CFG_CSUM_VERIFY) {
			cr_assert_eq(rte_ring_count(r), 0u);
			cr_assert_eq(E.w->st->udp_bad_checksum, 1u);
			continue;
		}
		cr_assert_eq(rte_ring_dequeue(r, (void **)&got), 0,
		             "mode %u: nothing for the kernel", mode);
		ip = rte_pktmbuf_mtod(got, const uint8_t *); /* the IP datagram alone */
		cr_assert_eq(get16(ip + 20 + 6),
		             mode == CFG_CSUM_FILL ? right : get16(f.b + f.l3 + 26),
		             "mode %u: checksum %#x", mode, get16(ip + 20 + 6));
		cr_assert_eq(E.w->st->exception_rx, 1u);
		cr_assert_eq(E.w->st->udp_checksum_filled, mode == CFG_CSUM_FILL ? 1u : 0u);
		rte_pktmbuf_free(got);
	}
	E.dp.ports[0].exc_ring = NULL;
	rte_ring_free(r);
	publish_udp_csum(CFG_CSUM_KEEP);
	assert_pool_full();
}

/* ---- (11) panic threshold: the decision snapshots are built with ---- */

struct panic_row {
	const char *name;
	unsigned threshold;
	const char *conf; /* one letter per backend: u up, d drain, x down (operator) */
	const char *eff;  /* as health lowered it */
	bool panic;
	const char *after; /* eff after the decision */
};

static const struct panic_row panic_rows[] = {
        {"all healthy", 50, "uuu", "uuu", false, "uuu"},
        {"one of three down: 66% >= 50%", 50, "uuu", "uux", false, "uux"},
        {"two of three down: 33% < 50%", 50, "uuu", "uxx", true, "uuu"},
        {"all down", 50, "uuu", "xxx", true, "uuu"},
        {"exactly at the threshold", 50, "uuuu", "uuxx", false, "uuxx"},
        {"one below it", 51, "uuuu", "uuxx", true, "uuuu"},
        {"overloaded is not healthy", 50, "uuu", "udd", true, "uuu"},
        {"threshold 0 never panics", 0, "uuu", "xxx", false, "xxx"},
        {"threshold 100: any unhealthy one", 100, "uuu", "uud", true, "uuu"},
        {"operator drain and down stay so", 50, "uudx", "xxdx", true, "uudx"},
        {"operator's only: not counted", 50, "udx", "udx", false, "udx"},
        {"nothing configured up", 100, "ddx", "ddx", false, "ddx"},
        {"one backend, down", 50, "u", "x", true, "u"},
};

static uint8_t
state_of(char c)
{
	return c == 'u' ? MAGLEV_UP : c == 'd' ? MAGLEV_DRAIN : MAGLEV_DOWN;
}

Test(dp, group_panic_decision)
{
	for (size_t r = 0; r < SPH_ARRAY_SIZE(panic_rows); r++) {
		const struct panic_row *row = &panic_rows[r];
		unsigned n = (unsigned)strlen(row->conf);
		uint8_t conf[8], eff[8];

		cr_assert_leq(n, SPH_ARRAY_SIZE(conf));
		for (unsigned i = 0; i < n; i++) {
			conf[i] = state_of(row->conf[i]);
			eff[i] = state_of(row->eff[i]);
		}
		cr_assert_eq(snap_group_panic(conf, eff, n, row->threshold), row->panic, "%s",
		             row->name);
		for (unsigned i = 0; i < n; i++)
			cr_assert_eq(eff[i], state_of(row->after[i]), "%s: backend %u", row->name,
			             i);
	}
	cr_assert_not(snap_group_panic(NULL, NULL, 0, 50), "an empty group never panics");
}

/* A snapshot built from the raised states dispatches the whole group: a message to the
 * VIP of a group whose every backend health lowered is forwarded, not no_backend. What
 * gen.c does with the decision, through the real builder and worker. */
Test(dp, group_panic_dispatches)
{
	const struct cfg_group *grp = &E.cfg->groups[0]; /* core: b1..b3 */
	uint8_t conf[8], eff[8];
	struct sph_cfg *lowered = cfg_dup(E.cfg);
	struct fspec sp = {.ipv = 4};
	struct rte_mbuf *m, *out[4];
	struct frame f;
	char err[512];
	struct snap *s;

	cr_assert_not_null(lowered);
	for (unsigned i = 0; i < grp->nb_backends; i++) {
		conf[i] = grp->backends[i].state;
		eff[i] = MAGLEV_DOWN; /* every probe failing */
		lowered->groups[0].backends[i].state = eff[i];
	}
	/* Without the panic: nothing to dispatch to. */
	s = snap_build(&E.dp, lowered, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	snap_publish(&E.dp, s);
	memset(E.w->st, 0, sizeof(*E.w->st));
	build(&sp, &f);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	cr_assert_eq(tx_take(out, 4), 0u);
	cr_assert_eq(E.w->st->no_backend, 1u);

	/* With it (default threshold): the configured table, so the usual backend. */
	cr_assert(snap_group_panic(conf, eff, grp->nb_backends, CFG_PANIC_THRESHOLD));
	for (unsigned i = 0; i < grp->nb_backends; i++)
		lowered->groups[0].backends[i].state = eff[i];
	s = snap_build(&E.dp, lowered, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	snap_publish(&E.dp, s);
	struct dest d = dest_of(&sp);

	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	cr_assert_eq(tx_take(out, 4), 1u);
	check_l2dsr("panic", &f, out[0], &d);
	cr_assert_eq(E.w->st->no_backend, 1u);
	free_all(out, 1);
	cfg_free(lowered);
	assert_pool_full();
}

/* ---- (11) allowlist tiers and per-source rate limits (docs/protection.md) ---- */

/* Append one prefix of tier to VIP v of cfg, as `siphonctl acl add` does. */
static void
acl_add(struct sph_cfg *cfg, unsigned v, uint8_t tier, const char *prefix)
{
	struct cfg_vip *cv = &cfg->vips[v];
	struct cfg_acl *a = realloc(cv->acl, (cv->nb_acl + 1) * sizeof(*a));

	cr_assert_not_null(a);
	cv->acl = a;
	cr_assert_eq(cfg_acl_prefix_parse(prefix, &a[cv->nb_acl].prefix), 0, "%s", prefix);
	a[cv->nb_acl++].tier = tier;
	cfg_acl_sort(cv);
}

static void
publish_cfg(const struct sph_cfg *cfg)
{
	char err[512];
	struct snap *s = snap_build(&E.dp, cfg, err, sizeof(err));

	cr_assert_not_null(s, "snap_build: %s", err);
	snap_publish(&E.dp, s);
}

/* Send one frame of sp with payload; @return how many frames the worker transmitted. */
static unsigned
send_one(const struct fspec *sp)
{
	struct rte_mbuf *m, *out[4];
	struct frame f;
	unsigned n;

	build(sp, &f);
	m = mbuf_of(f.b, f.len);
	dp_worker_burst(E.w, &m, 1);
	n = tx_take(out, 4);
	free_all(out, n);
	return n;
}

/* The longest prefix decides; blocked drops every packet, responses and in-dialog
 * requests too; trusted and default are forwarded; a VIP without a list is untouched. */
Test(dp, acl_tiers)
{
	struct sph_cfg *c = cfg_dup(E.cfg);
	static const char bye[] = "BYE sip:bob@example.com SIP/2.0\r\n"
	                          "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-b1\r\n"
	                          "From: <sip:alice@example.com>;tag=a1\r\n"
	                          "To: <sip:bob@example.com>;tag=b1\r\n"
	                          "Call-ID: acl-2\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";

	cr_assert_not_null(c);
	acl_add(c, 0, CFG_TIER_TRUSTED, "198.51.100.0/24");
	acl_add(c, 0, CFG_TIER_BLOCKED, "198.51.100.7");
	acl_add(c, 0, CFG_TIER_BLOCKED, "203.0.113.0/24");
	acl_add(c, 0, CFG_TIER_TRUSTED, "203.0.113.128/25");
	acl_add(c, 1, CFG_TIER_BLOCKED, "2001:db8:1::/48");
	acl_add(c, 1, CFG_TIER_TRUSTED, "2001:db8:1:2::/64");
	cr_assert_eq(cfg_validate(c, NULL, 0), 0);
	publish_cfg(c);
	memset(E.w->st, 0, sizeof(*E.w->st));

	cr_expect_eq(send_one(&(struct fspec){.ipv = 4}), 0u, "a blocked host in a trusted /24");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .payload = bye}), 0u, "in-dialog too");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .src = "198.51.100.8"}), 1u, "trusted");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .src = "203.0.113.9"}), 0u, "blocked /24");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .src = "203.0.113.200"}), 1u,
	             "trusted /25");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .src = "192.0.2.77"}), 1u, "default");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 6}), 0u, "blocked /48");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 6, .src = "2001:db8:1:2::9"}), 1u, "trusted");
	cr_expect_eq(send_one(&(struct fspec){.ipv = 6, .src = "2001:db8:2::9"}), 1u, "default");
	/* VIP 192.0.2.11 has no list: the blocked host reaches it. */
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .dst = "192.0.2.11"}), 1u, "other VIP");
	cr_expect_eq(E.w->st->acl_blocked, 4u);
	cr_expect_eq(E.w->st->acl_trusted, 3u);
	cr_expect_eq(E.w->st->forwarded, 6u);

	/* Hitless removal: the next generation forwards the host. */
	c->vips[0].nb_acl = 0;
	publish_cfg(c);
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4}), 1u, "list removed");
	cr_expect_eq(E.w->st->acl_blocked, 4u);
	publish_cfg(E.cfg);
	cfg_free(c);
	assert_pool_full();
}

/* A payload with its own Call-ID and method: initial requests unless to_tag. */
static const char *
req_text(char *buf, size_t len, const char *method, unsigned i, bool to_tag)
{
	snprintf(buf, len,
	         "%s sip:bob@example.com SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-l%u\r\n"
	         "From: <sip:alice@example.com>;tag=a1\r\n"
	         "To: <sip:bob@example.com>%s\r\n"
	         "Call-ID: lim-%u\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
	         method, i, to_tag ? ";tag=b1" : "", i, method);
	return buf;
}

/* rate 1/s, burst 3: of n requests sent at once, 3 pass, plus one per second the sending
 * took (a test descheduled for a while must not fail: the bound moves with the TSC). */
static unsigned
limit_bound(uint64_t t0)
{
	return 3u + (unsigned)((rte_rdtsc() - t0) / rte_get_tsc_hz()) + 1u;
}

Test(dp, limit_per_source_and_class)
{
	struct sph_cfg *c = cfg_dup(E.cfg);
	struct limit_offender top[4];
	unsigned passed = 0, n;
	char buf[512];
	uint64_t t0;

	cr_assert_not_null(c);
	c->vips[0].limit_rate[CFG_LIMIT_INVITE] = 1;
	c->vips[0].limit_burst[CFG_LIMIT_INVITE] = 3;
	c->vips[0].limit_rate[CFG_LIMIT_REGISTER] = 1;
	c->vips[0].limit_burst[CFG_LIMIT_REGISTER] = 3;
	c->vips[1].limit_rate[CFG_LIMIT_INVITE] = 1;
	c->vips[1].limit_burst[CFG_LIMIT_INVITE] = 3;
	acl_add(c, 0, CFG_TIER_TRUSTED, "192.0.2.200/32");
	publish_cfg(c);
	memset(E.w->st, 0, sizeof(*E.w->st));
	memset(E.w->lim, 0, sizeof(*E.w->lim));

	t0 = rte_rdtsc();
	for (unsigned i = 0; i < 20; i++)
		passed += send_one(&(struct fspec){
		        .ipv = 4, .payload = req_text(buf, sizeof(buf), "INVITE", i, false)});
	n = limit_bound(t0);
	cr_expect(passed >= 3 && passed <= n, "INVITEs passed: %u (3..%u)", passed, n);
	cr_expect_eq(E.w->st->limit_invite, 20u - passed);

	/* Another class has its own bucket; OPTIONS has no rate; in-dialog is not counted. */
	passed = 0;
	t0 = rte_rdtsc();
	for (unsigned i = 0; i < 10; i++)
		passed += send_one(&(struct fspec){
		        .ipv = 4,
		        .payload = req_text(buf, sizeof(buf), "REGISTER", 100 + i, false)});
	n = limit_bound(t0);
	cr_expect(passed >= 3 && passed <= n, "REGISTERs passed: %u (3..%u)", passed, n);
	cr_expect_eq(E.w->st->limit_register, 10u - passed);
	for (unsigned i = 0; i < 10; i++) {
		cr_expect_eq(
		        send_one(&(struct fspec){
		                .ipv = 4,
		                .payload = req_text(buf, sizeof(buf), "OPTIONS", 200 + i, false)}),
		        1u);
		cr_expect_eq(
		        send_one(&(struct fspec){
		                .ipv = 4,
		                .payload = req_text(buf, sizeof(buf), "INVITE", 300 + i, true)}),
		        1u, "re-INVITE");
	}
	/* Another source, a trusted one above the limit, another VIP without limits. */
	cr_expect_eq(send_one(&(struct fspec){.ipv = 4, .src = "192.0.2.199"}), 1u);
	for (unsigned i = 0; i < 10; i++) {
		cr_expect_eq(
		        send_one(&(struct fspec){
		                .ipv = 4,
		                .src = "192.0.2.200",
		                .payload = req_text(buf, sizeof(buf), "INVITE", 400 + i, false)}),
		        1u, "trusted");
		cr_expect_eq(
		        send_one(&(struct fspec){
		                .ipv = 4,
		                .dst = "192.0.2.11",
		                .payload = req_text(buf, sizeof(buf), "INVITE", 500 + i, false)}),
		        1u, "VIP without limits");
	}
	cr_expect_eq(E.w->st->acl_trusted, 10u);
	/* IPv6: one /64 is one source. */
	passed = 0;
	t0 = rte_rdtsc();
	for (unsigned i = 0; i < 10; i++) {
		char src[64];

		snprintf(src, sizeof(src), "2001:db8:5:6::%x", i + 1);
		passed += send_one(&(struct fspec){
		        .ipv = 6,
		        .src = src,
		        .payload = req_text(buf, sizeof(buf), "INVITE", 600 + i, false)});
	}
	n = limit_bound(t0);
	cr_expect(passed >= 3 && passed <= n, "IPv6 /64 passed: %u (3..%u)", passed, n);

	/* show limited: the worst first, the /64 as its prefix. */
	int k = limit_top(&E.dp, top, SPH_ARRAY_SIZE(top));

	cr_assert_eq(k, 3, "offenders: %d", k);
	for (int i = 0; i < k; i++)
		cr_expect(i == 0 || top[i - 1].drops >= top[i].drops);
	cr_expect_eq(top[0].cls, CFG_LIMIT_INVITE);
	cr_expect_eq(top[0].family, 4);
	cr_expect_eq(top[0].vip, 0);
	cr_expect_eq(top[0].drops, E.w->st->limit_invite - (10u - passed));
	for (int i = 0; i < k; i++)
		if (top[i].family == 6) {
			uint8_t want[16];

			addr16("2001:db8:5:6::", want);
			cr_expect_eq(memcmp(top[i].addr, want, 16), 0);
			cr_expect_eq(top[i].vip, 1);
		}
	publish_cfg(E.cfg);
	cfg_free(c);
	assert_pool_full();
}

/* The GCRA on the table alone, with a clock the test sets: exact counts. */
Test(dp, limit_gcra_exact)
{
	struct limit_table *t = calloc(1, sizeof(*t));
	struct snap_limit l = {.interval = 100, .tau = 200}; /* burst 3, one per 100 ticks */
	uint8_t a[16];
	unsigned ok = 0;

	cr_assert_not_null(t);
	addr16("198.51.100.9", a);
	for (unsigned i = 0; i < 10; i++)
		ok += limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, 1000);
	cr_expect_eq(ok, 3u, "burst at once");
	cr_expect(!limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, 1099));
	cr_expect(limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, 1100), "one interval later");
	cr_expect(!limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, 1100));
	/* Sustained at the rate: every one passes. */
	for (uint64_t now = 1200; now < 5000; now += 100)
		cr_expect(limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, now), "at %lu",
		          (unsigned long)now);
	/* Far more sources than entries: the table never grows, and a source idle long
	 * enough starts again with a full burst even after its entry was taken. */
	for (unsigned i = 0; i < 4 * LIMIT_SETS * LIMIT_WAYS; i++) {
		uint8_t b[16] = {0};

		memcpy(b + 12, &i, 4);
		b[10] = b[11] = 0xff;
		limit_admit(t, &E.kh, 0, 4, b, CFG_LIMIT_INVITE, &l, 10000);
	}
	ok = 0;
	for (unsigned i = 0; i < 10; i++)
		ok += limit_admit(t, &E.kh, 0, 4, a, CFG_LIMIT_INVITE, &l, 20000);
	cr_expect_eq(ok, 3u);
	free(t);
}

/* A list of 10^5 prefixes: the file read and the snapshot built with its LPM tables.
 * Prints the times (docs/protection.md quotes them); asserts only what was built. */
Test(dp, acl_file_of_100k)
{
	char path[] = "/tmp/test_dp_acl.XXXXXX", conf[64], err[512];
	struct sph_cfg *c = NULL;
	struct timespec t0, t1, t2;
	FILE *f;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	/* 10.0.0.0/8 in /24s and /28s, and /32 hosts: every tbl24 and tbl8 path. */
	for (unsigned i = 0; i < 100000; i++) {
		unsigned j = i / 4, k = j * 2 + (i % 4 == 3);

		if (i % 4 == 0)
			fprintf(f, "trusted 10.%u.%u.0/24\n", j >> 8, j & 0xff);
		else if (i % 4 == 1)
			fprintf(f, "blocked 11.%u.%u.%u/28\n", j >> 12, (j >> 4) & 0xff,
			        (j & 0xf) << 4);
		else
			fprintf(f, "blocked 12.%u.%u.%u\n", k >> 16, (k >> 8) & 0xff, k & 0xff);
	}
	fclose(f);
	snprintf(conf, sizeof(conf), "%s.conf", path);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "%.*s", (int)(strstr(conf_text, "vips = (") - conf_text), conf_text);
	fprintf(f,
	        "vips = ( { address = \"192.0.2.10\"; group = \"core\"; acl_file = \"%s\"; } );\n",
	        path);
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(cfg_load(conf, &c, err, sizeof(err)), 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct snap *s = snap_build(&E.dp, c, err, sizeof(err));

	clock_gettime(CLOCK_MONOTONIC, &t2);
	cr_assert_not_null(s, "%s", err);
	unlink(path);
	unlink(conf);
	printf("acl_file of %u prefixes: cfg_load %.1f ms, snap_build %.1f ms\n", c->vips[0].nb_acl,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	cr_expect_eq(c->vips[0].nb_acl, 100000u);
	uint8_t a[16];

	addr16("12.0.1.2", a);
	cr_expect_eq(snap_acl_tier(&s->vips[0], 4, a), CFG_TIER_BLOCKED);
	addr16("11.0.1.19", a);
	cr_expect_eq(snap_acl_tier(&s->vips[0], 4, a), CFG_TIER_BLOCKED);
	addr16("11.200.0.1", a);
	cr_expect_eq(snap_acl_tier(&s->vips[0], 4, a), CFG_TIER_DEFAULT);
	addr16("10.97.167.1", a); /* j = 24999 */
	cr_expect_eq(snap_acl_tier(&s->vips[0], 4, a), CFG_TIER_TRUSTED);
	addr16("13.0.0.1", a);
	cr_expect_eq(snap_acl_tier(&s->vips[0], 4, a), CFG_TIER_DEFAULT);
	snap_free(s);
	cfg_free(c);
}

/* A generation that leaves a VIP's list alone shares its tables; one that changes it
 * builds new ones; each lives until the last snapshot holding it is freed (ASan sees
 * any table freed early or never). */
Test(dp, acl_tables_shared)
{
	struct sph_cfg *c = cfg_dup(E.cfg);
	char err[512];
	struct snap *a, *b, *d;
	uint8_t src[16];

	cr_assert_not_null(c);
	acl_add(c, 0, CFG_TIER_BLOCKED, "198.51.100.0/24");
	a = snap_build(&E.dp, c, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	c->groups[0].backends[1].state = MAGLEV_DOWN; /* anything but the list */
	b = snap_build(&E.dp, c, err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	cr_expect_eq(a->vips[0].acl.v4, b->vips[0].acl.v4, "same list, same table");
	acl_add(c, 0, CFG_TIER_TRUSTED, "198.51.100.7");
	d = snap_build(&E.dp, c, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_neq(d->vips[0].acl.v4, a->vips[0].acl.v4, "another list, another table");
	snap_free(a);
	addr16(client4, src);
	cr_expect_eq(snap_acl_tier(&b->vips[0], 4, src), CFG_TIER_BLOCKED, "b's table outlives a");
	cr_expect_eq(snap_acl_tier(&d->vips[0], 4, src), CFG_TIER_TRUSTED);
	snap_free(b);
	snap_free(d);
	cfg_free(c);
}
