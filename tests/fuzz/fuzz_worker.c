/*
 * fuzz_worker.c - libFuzzer target over the worker's whole per-packet path: the frames of
 * each input go to the real dp_worker_burst() as one RX burst (decode, ARP/ND, VIP lookup,
 * scan, dispatch, forward, fragments; whatever stage the worker gains, with no change
 * here), on the net_ring worker of worker_env.c, set up once per process. Fragments an
 * input leaves incomplete time out at its end, as every frame's outcome must be its burst's.
 * Every frame sits in a heap buffer of its own that ends where the frame does, so ASan
 * sees a read past it; every input must leave the counters, the frames sent and the mbuf
 * pool consistent (check_burst), or the target aborts. See README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "siphon/stats.h"
#include "worker_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input format: records of a 2-byte big-endian header and a frame; the header's low 11
 * bits are the frame's length (the last record takes what is left when it is shorter),
 * its top 5 bits are reserved for frame metadata (ignored). At most FUZZ_BURST frames;
 * bytes after them are ignored. make-seeds writes single frames in this form.
 */
#define FUZZ_BURST    8u
#define FUZZ_LEN_MASK 0x07ffu
#define FUZZ_HEADROOM RTE_PKTMBUF_HEADROOM /* what the pool's mbufs have: room for IP-in-IP */

/* The port's MAC: the bundled pcaps' balancer, as in tests/data/fixtures/fixtures.conf. */
static const uint8_t port_mac[6] = {0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10};

static struct wenv E;
static struct rte_mbuf_ext_shared_info shinfo[FUZZ_BURST];

struct frame {
	uint8_t *buf;        /* FUZZ_HEADROOM bytes, then the frame: ASan's redzone after it */
	const uint8_t *orig; /* the frame in the input, as received: the worker writes buf */
	size_t len;
};

static void
fail(const char *what, unsigned n)
{
	fprintf(stderr, "fuzz_worker: %s (burst of %u frames)\n", what, n);
	abort();
}

/* The buffer is the harness's: freed after the burst, not by the mbuf's last free. */
static void
ext_free_none(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

static void
teardown(void)
{
	wenv_teardown(&E);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	if (wenv_setup(&E, "fuzz_worker", FUZZ_CONF, port_mac, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_worker: %s\n", err);
		exit(1);
	}
	for (unsigned i = 0; i < FUZZ_BURST; i++)
		shinfo[i].free_cb = ext_free_none;
	atexit(teardown);
	return 0;
}

static struct rte_mbuf *
mbuf_over(struct frame *f, unsigned i)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);

	if (m == NULL)
		fail("mbuf pool empty: an earlier input leaked", i);
	rte_mbuf_ext_refcnt_set(&shinfo[i], 1);
	rte_pktmbuf_attach_extbuf(m, f->buf, 0, (uint16_t)(FUZZ_HEADROOM + f->len), &shinfo[i]);
	m->data_off = FUZZ_HEADROOM;
	m->data_len = (uint16_t)f->len;
	m->pkt_len = (uint32_t)f->len;
	m->port = E.port_id;
	return m;
}

static uint64_t
sum_backend_packets(const struct stats_worker *st)
{
	uint64_t sum = 0;

	for (unsigned b = 0; b < STATS_MAX_BACKENDS; b++)
		sum += st->backend[b].packets;
	return sum;
}

/* Every frame ends in exactly one of these: sent, answered, consumed, or dropped by a reason. */
static uint64_t
outcomes(const struct stats_counters *c)
{
	uint64_t sum =
	        c->forwarded + c->nd_reply + c->nd_learn_only + c->exception_rx + c->exception_drop;

	for (unsigned i = 0; i < stats_nb_descs; i++)
		if (strncmp(stats_descs[i].doc, "drop:", 5) == 0)
			sum += *(const uint64_t *)((const uint8_t *)c + stats_descs[i].off);
	for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
		sum += c->pkt_drop[v];
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		sum += c->sip_drop[v];
	return sum;
}

static bool
is_backend_mac(const uint8_t *mac)
{
	for (unsigned g = 0; g < E.cfg->nb_groups; g++)
		for (unsigned b = 0; b < E.cfg->groups[g].nb_backends; b++)
			if (E.cfg->groups[g].backends[b].has_mac &&
			    memcmp(E.cfg->groups[g].backends[b].mac, mac, 6) == 0)
				return true;
	return false;
}

/* l2dsr: the input with the backend's MAC and the port's; nothing else changed. */
static bool
is_l2dsr_of(const uint8_t *o, size_t olen, const struct frame *in)
{
	const uint8_t *f = in->orig;

	return olen == in->len && olen >= 14 && memcmp(o + 6, E.mac, 6) == 0 && is_backend_mac(o) &&
	       memcmp(o + 12, f + 12, olen - 12) == 0;
}

/* Length of the Ethernet header of o, one VLAN tag included. */
static size_t
l2_len(const uint8_t *o, size_t olen)
{
	if (olen >= 18 && ((o[12] == 0x81 && o[13] == 0x00) || (o[12] == 0x88 && o[13] == 0xa8) ||
	                   (o[12] == 0x91 && o[13] == 0x00)))
		return 18;
	return 14;
}

/* IP-in-IP: the input's L2 header (tag kept), an outer IPv4 or IPv6 header, then the
 * input's IP datagram byte for byte (Ethernet padding cut). */
static bool
is_ipip_of(const uint8_t *o, size_t olen, const struct frame *in)
{
	const uint8_t *f = in->orig;
	size_t l2 = l2_len(o, olen), hlen;

	if (olen < l2 + 20 || memcmp(o + 6, E.mac, 6) != 0)
		return false;
	hlen = o[l2] >> 4 == 4 ? (size_t)(o[l2] & 15) * 4 : o[l2] >> 4 == 6 ? 40 : 0;
	if (hlen < 20 || olen < l2 + hlen + 20 || in->len < olen - hlen)
		return false;
	/* The tag stays; the EtherType is the outer header's. */
	return memcmp(o + 12, f + 12, l2 - 14) == 0 &&
	       memcmp(o + l2 + hlen, f + l2, olen - l2 - hlen) == 0;
}

/* An ARP reply or a Neighbor Advertisement from the port (forwarded frames are neither:
 * only UDP is forwarded). Its destination is the requester's, as ARP or ND names it. */
static bool
is_nd_reply(const uint8_t *o, size_t olen)
{
	size_t l2 = l2_len(o, olen);

	if (olen < l2 + 28 || memcmp(o + 6, E.mac, 6) != 0)
		return false;
	if (o[l2 - 2] == 0x08 && o[l2 - 1] == 0x06)
		return o[l2 + 6] == 0 && o[l2 + 7] == 2; /* ARP op: reply */
	return o[l2 - 2] == 0x86 && o[l2 - 1] == 0xdd && olen >= l2 + 41 && o[l2 + 6] == 58 &&
	       o[l2 + 40] == 136; /* ICMPv6 right after the header: Neighbor Advertisement */
}

/*
 * What a burst of n frames must leave: n received and n outcomes, each sent frame explained
 * by one input in order (forwarded as l2dsr or IP-in-IP, or an ND reply), as many sent as
 * forwarded and answered, per-backend packets adding up to forwarded, every mbuf back.
 */
static void
check_burst(const struct stats_counters *b, const struct stats_counters *a, uint64_t bk_before,
            const struct frame *in, unsigned n)
{
	struct rte_mbuf *out[2 * FUZZ_BURST];
	uint64_t fwd = 0, replies = 0, bytes = 0;
	unsigned nout = wenv_tx_take(&E, out, SPH_ARRAY_SIZE(out));
	bool used[FUZZ_BURST] = {false};

	for (unsigned i = 0; i < n; i++)
		bytes += in[i].len;
	if (a->rx_packets - b->rx_packets != n || a->rx_bytes - b->rx_bytes != bytes)
		fail("rx_packets or rx_bytes do not count the burst", n);
	if (outcomes(a) - outcomes(b) != n)
		fail("frames not accounted for once each (outcome counters)", n);
	for (unsigned j = 0; j < nout; j++) {
		const uint8_t *o = rte_pktmbuf_mtod(out[j], const uint8_t *);
		size_t olen = out[j]->pkt_len;
		bool found = false;

		if (out[j]->nb_segs != 1 || out[j]->data_len != olen)
			fail("a sent frame in several segments", n);
		/* Any input not yet explained: the fragments of a datagram leave when its last
		 * one arrives, after what came between them. */
		for (unsigned cur = 0; cur < n && !found; cur++) {
			if (used[cur])
				continue;
			if (is_l2dsr_of(o, olen, &in[cur]) || is_ipip_of(o, olen, &in[cur])) {
				fwd++;
				found = used[cur] = true;
			} else if (is_nd_reply(o, olen)) {
				used[cur] = true;
				replies++;
				found = true;
			}
		}
		if (!found)
			fail("a sent frame that no input explains", n);
		rte_pktmbuf_free(out[j]);
	}
	if (a->forwarded - b->forwarded != fwd || a->nd_reply - b->nd_reply != replies)
		fail("forwarded or nd_reply differ from the frames sent", n);
	if (a->tx_packets - b->tx_packets != nout || a->tx_drop != b->tx_drop)
		fail("tx_packets differs from the frames sent", n);
	if (sum_backend_packets(E.w->st) - bk_before != fwd)
		fail("per-backend packets do not add up to forwarded", n);
	if (wenv_pool_avail(&E) != WENV_POOL_N)
		fail("mbufs leaked or freed twice", n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame in[FUZZ_BURST];
	struct rte_mbuf *m[FUZZ_BURST];
	struct stats_counters before, after;
	union dp_learn_rec rec[DP_LEARN_RING];
	uint64_t bk_before;
	unsigned n = 0;

	while (size >= 2 && n < FUZZ_BURST) {
		size_t len = ((size_t)data[0] << 8 | data[1]) & FUZZ_LEN_MASK;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		in[n].buf = malloc(FUZZ_HEADROOM + len);
		if (in[n].buf == NULL)
			fail("out of memory", n);
		memcpy(in[n].buf + FUZZ_HEADROOM, data, len);
		in[n].orig = data;
		in[n].len = len;
		m[n] = mbuf_over(&in[n], n);
		n++;
		data += len;
		size -= len;
	}
	if (n == 0)
		return 0;

	memcpy(&before, &E.w->st->c, sizeof(before));
	bk_before = sum_backend_packets(E.w->st);
	dp_worker_burst(E.w, m, (uint16_t)n);
	/* Fragments the burst left incomplete time out now (frag_timeout): their buffers are
	 * this input's, and every frame must have its outcome within the burst. */
	if (E.w->frag != NULL)
		frag_expire(E.w->frag, UINT64_MAX, E.w->st);
	memcpy(&after, &E.w->st->c, sizeof(after));
	check_burst(&before, &after, bk_before, in, n);
	/* The main lcore would take these; here nobody does, and the ring must not fill. */
	rte_ring_dequeue_burst_elem(E.dp.learn, rec, sizeof(rec[0]), DP_LEARN_RING, NULL);
	for (unsigned i = 0; i < n; i++)
		free(in[i].buf);
	return 0;
}
