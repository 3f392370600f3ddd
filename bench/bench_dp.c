/*
 * bench_dp.c - the dataplane's forwarding rate: a pcap loaded into mbufs once, replayed in a
 * loop through the daemon's own worker code (dp_worker_burst() and dp_worker_flush() of
 * sph_dp, set up by the same snap_build() and port_init()) into net_null, a sink whose TX
 * frees what it is given. Beside it, in the same run, two floors: the I/O floor, the same
 * replay loop handing each burst straight to rte_eth_tx_burst() with no processing (testpmd's
 * io forwarding), so the ratio says how much of the machine's packet I/O rate siphon keeps;
 * and the read floor, that loop plus one pass over each frame's SIP header section (the
 * bytes any SIP-aware balancer must read, floor.h), so read_ratio says how far siphon is
 * from the least a balancer that looks at SIP can do.
 *
 *   bench_dp [EAL options] -- [--pcap FILE]... [--seconds S [--rounds R] | --passes N]
 *            [--json FILE] [--mode l2dsr|ipip] [--config FILE] [--promisc]
 *
 * EAL options (default when no "--" is given): --no-huge -m 1024 --no-pci
 * --file-prefix bench_dp --vdev net_null0 -l 0,1 --log-level=error. Every EAL lcore but the main
 * one is a worker; each worker replays its own copy of the mbufs on its own queue (its IP
 * fragments renumbered, so that the copies are different datagrams), and a fragment another
 * worker reassembles is waited for before its mbuf is replayed again. See bench/README.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/snap.h"
#include "siphon/stats.h"
#include "floor.h"
#include "port.h"
#include "worker.h"

#ifndef BENCH_SOURCE_ROOT
#define BENCH_SOURCE_ROOT "."
#endif
#define DEFAULT_CONFIG  BENCH_SOURCE_ROOT "/bench/bench.conf"
#define DEFAULT_PCAP    BENCH_SOURCE_ROOT "/bench/pcaps/mixed-calls.pcap"
#define DEFAULT_SECONDS 0.5
#define MIN_ROUNDS      15u
#define MAX_ROUNDS      4001u
#define MAX_PCAPS       64u
#define HDR_SAVE        32u /* frame bytes restored before each replay: L2 (+ tag) and more */

/* ------------------------------------------------------------------------ */
/* Captures */

struct trace {
	const char *path;
	const char *name;     /* basename of path */
	uint32_t n;           /* frames */
	uint64_t bytes;       /* sum of frame lengths: one pass */
	uint8_t *data;        /* frames back to back */
	size_t *off;          /* frame i is data[off[i], off[i] + len[i]) */
	uint16_t *len;        /* frame lengths */
	uint16_t *rd_off;     /* read floor: frame i's UDP payload starts at rd_off[i] */
	uint16_t *rd_len;     /* and its header section, blank line included, is rd_len[i] */
	uint64_t rd_bytes;    /* sum of rd_len: what one read-floor pass reads */
	uint64_t rd_lf;       /* line feeds in those bytes: what one pass must count */
	uint32_t nfrag;       /* frames that are IP fragments */
	uint32_t *frag;       /* their indices, in capture order */
	uint16_t *frag_id_at; /* where each one's identification is in its frame */
	uint8_t *frag_v;      /* and its IP version (4: a 16-bit ID, 6: a 32-bit one) */
	uint16_t *frag_l3;    /* and its IP header, for IPv4's header checksum */
};

static void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL) {
		fprintf(stderr, "bench_dp: out of memory\n");
		exit(1);
	}
	return q;
}

/*
 * What the read floor reads of a frame: from its UDP payload to the end of the blank line
 * that ends the SIP header section (the whole payload without one; nothing when the frame
 * is not UDP). Found here, once, by the decoder and a plain search: the floor's timed pass
 * only reads, so that everything it costs beyond the I/O floor is the reading itself.
 */
static void
read_region(const uint8_t *frame, uint16_t len, uint16_t *off, uint16_t *rlen)
{
	struct pkt_info pi;
	const uint8_t *p, *end;

	*off = 0;
	*rlen = 0;
	if (pkt_decode(frame, len, &pi) != PKT_OK)
		return;
	p = frame + pi.payload_off;
	end = p + pi.payload_len;
	*off = (uint16_t)pi.payload_off;
	*rlen = pi.payload_len;
	for (const uint8_t *q = p; q < end; q++) {
		/* LF, then LF or CR LF: the empty line (RFC 3261 §7 allows bare LF lines too). */
		if (*q != '\n')
			continue;
		if (q + 1 < end && q[1] == '\n') {
			*rlen = (uint16_t)(q + 2 - p);
			return;
		}
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n') {
			*rlen = (uint16_t)(q + 3 - p);
			return;
		}
	}
}

/*
 * Frame t->n, if it is an IP fragment: where its identification sits, so that every worker
 * but the first can renumber its copy (worker_frag_ids()). Every worker replays the same
 * frames; unrenumbered, two workers' copies of a datagram would meet in its owner's table as
 * duplicates, where on the wire they would be two datagrams.
 */
static void
trace_note_frag(struct trace *t, const uint8_t *frame, uint16_t len)
{
	struct pkt_info pi;
	uint32_t k = t->nfrag;

	if (pkt_decode(frame, len, &pi) != PKT_FRAGMENT)
		return;
	t->frag = xrealloc(t->frag, (k + 1) * sizeof(*t->frag));
	t->frag_id_at = xrealloc(t->frag_id_at, (k + 1) * sizeof(*t->frag_id_at));
	t->frag_v = xrealloc(t->frag_v, (k + 1) * sizeof(*t->frag_v));
	t->frag_l3 = xrealloc(t->frag_l3, (k + 1) * sizeof(*t->frag_l3));
	t->frag[k] = t->n;
	t->frag_v[k] = pi.ip_version;
	t->frag_l3[k] = (uint16_t)pi.l3_off;
	/* IPv4: bytes 4-5 of the header; IPv6: the last 4 of the fragment header, which the
	 * fragment's data follows (RFC 8200 §4.5). */
	t->frag_id_at[k] = (uint16_t)(pi.ip_version == 4 ? pi.l3_off + 4 : pi.frag_data_off - 4);
	t->nfrag++;
}

/* Read every frame of an Ethernet capture. @return 0, or -1 (message printed). */
static int
trace_load(struct trace *t, const char *path, uint16_t max_len)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *d;
	size_t cap = 0, ncap = 0, used = 0;
	pcap_t *pc = pcap_open_offline(path, err);
	int rc;

	memset(t, 0, sizeof(*t));
	t->path = path;
	t->name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (pc == NULL) {
		fprintf(stderr, "bench_dp: %s: %s\n", path, err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "bench_dp: %s: not an Ethernet capture\n", path);
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
		if (h->caplen != h->len || h->caplen < HDR_SAVE || h->caplen > max_len) {
			fprintf(stderr,
			        "bench_dp: %s: frame %u: %u of %u bytes captured (replay needs "
			        "whole frames of %u..%u bytes)\n",
			        path, t->n + 1, h->caplen, h->len, HDR_SAVE, max_len);
			pcap_close(pc);
			return -1;
		}
		if (t->n == ncap) {
			ncap = ncap ? 2 * ncap : 1024;
			t->off = xrealloc(t->off, ncap * sizeof(*t->off));
			t->len = xrealloc(t->len, ncap * sizeof(*t->len));
			t->rd_off = xrealloc(t->rd_off, ncap * sizeof(*t->rd_off));
			t->rd_len = xrealloc(t->rd_len, ncap * sizeof(*t->rd_len));
		}
		while (used + h->caplen > cap) {
			cap = cap ? 2 * cap : (1u << 20);
			t->data = xrealloc(t->data, cap);
		}
		memcpy(t->data + used, d, h->caplen);
		t->off[t->n] = used;
		t->len[t->n] = (uint16_t)h->caplen;
		read_region(d, (uint16_t)h->caplen, &t->rd_off[t->n], &t->rd_len[t->n]);
		trace_note_frag(t, d, (uint16_t)h->caplen);
		t->rd_bytes += t->rd_len[t->n];
		t->rd_lf += floor_lf_scalar(d + t->rd_off[t->n], t->rd_len[t->n]);
		used += h->caplen;
		t->bytes += h->caplen;
		t->n++;
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "bench_dp: %s: %s\n", path, pcap_geterr(pc));
	pcap_close(pc);
	if (rc == PCAP_ERROR || t->n == 0) {
		fprintf(stderr, "bench_dp: %s: no frame to replay\n", path);
		return -1;
	}
	return 0;
}

static void
trace_free(struct trace *t)
{
	free(t->data);
	free(t->off);
	free(t->len);
	free(t->rd_off);
	free(t->rd_len);
	free(t->frag);
	free(t->frag_id_at);
	free(t->frag_v);
	free(t->frag_l3);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The fewest consecutive values, modulo mod (2^16 or 2^32), that hold every fragment ID of
 * IP version v in t: mod minus the widest gap between neighbouring IDs on the circle.
 * Worker w adds w * (mod / workers) to each ID; while the span is below that stride, no two
 * copies' datagrams can share an ID (their difference stays inside the span, the strides'
 * outside it).
 */
static uint64_t
trace_id_span(const struct trace *t, uint8_t v, uint64_t mod)
{
	uint32_t *id = malloc((t->nfrag + 1) * sizeof(*id)), n = 0;
	uint64_t gap;

	if (id == NULL) {
		fprintf(stderr, "bench_dp: out of memory\n");
		exit(1);
	}
	for (uint32_t k = 0; k < t->nfrag; k++) {
		const uint8_t *p = t->data + t->off[t->frag[k]] + t->frag_id_at[k];

		if (t->frag_v[k] != v)
			continue;
		id[n++] = v == 4 ? (uint32_t)p[0] << 8 | p[1]
		                 : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		                           (uint32_t)p[2] << 8 | p[3];
	}
	if (n == 0) {
		free(id);
		return 0;
	}
	qsort(id, n, sizeof(*id), cmp_u32);
	gap = id[0] + mod - id[n - 1];
	for (uint32_t k = 1; k < n; k++)
		gap = RTE_MAX(gap, (uint64_t)id[k] - id[k - 1]);
	free(id);
	return mod - gap + 1;
}

/* IPv4 header checksum of the ihl-word header at h, its checksum field taken as zero. */
static uint16_t
ipv4_hdr_csum(const uint8_t *h)
{
	unsigned hlen = (h[0] & 0xfu) * 4u;
	uint32_t sum = 0;

	for (unsigned i = 0; i + 1 < hlen; i += 2)
		if (i != 10)
			sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Renumber worker w's copy of t's fragments (frame k in mbuf m[k]): IDs plus w strides
 * (trace_id_span()), IPv4's header checksum redone, so its datagrams are not the other
 * workers'. Worker 0 keeps the capture's.
 */
static void
worker_frag_ids(struct rte_mbuf **m, const struct trace *t, unsigned w, unsigned nw)
{
	for (uint32_t k = 0; w != 0 && k < t->nfrag; k++) {
		uint8_t *f = rte_pktmbuf_mtod(m[t->frag[k]], uint8_t *);
		uint8_t *p = f + t->frag_id_at[k];

		if (t->frag_v[k] == 4) {
			uint16_t id = (uint16_t)((p[0] << 8 | p[1]) + w * (65536u / nw));
			uint8_t *ip = f + t->frag_l3[k];
			uint16_t c;

			p[0] = (uint8_t)(id >> 8);
			p[1] = (uint8_t)id;
			c = ipv4_hdr_csum(ip);
			ip[10] = (uint8_t)(c >> 8);
			ip[11] = (uint8_t)c;
		} else {
			uint32_t id = ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			               (uint32_t)p[2] << 8 | p[3]) +
			              (uint32_t)((uint64_t)w * ((UINT64_C(1) << 32) / nw));

			p[0] = (uint8_t)(id >> 24);
			p[1] = (uint8_t)(id >> 16);
			p[2] = (uint8_t)(id >> 8);
			p[3] = (uint8_t)id;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Replay */

enum kind {
	K_FLOOR = 0, /* restore + rte_eth_tx_burst(): the I/O floor */
	K_READ,      /* restore + one pass over each header section + TX: the read floor */
	K_SIPHON,    /* restore + dp_worker_burst() (+ RCU quiescence, flush): the daemon */
	K_COUNT
};

/* One worker lcore's replay: its dp_worker and its own copy of the capture. */
struct bench_worker {
	struct dp_worker *w;
	struct rte_mbuf **m;      /* trace->n mbufs, each holding one frame */
	uint8_t (*hdr)[HDR_SAVE]; /* first HDR_SAVE bytes of each, as loaded (IDs renumbered) */
	uint64_t t0, t1;          /* TSC at the start and end of the last round */
	uint64_t unsent;          /* floors: frames the sink refused (must stay 0) */
	uint64_t lf;              /* read floor: line feeds counted, over all its passes */
	uint64_t rd_passes;       /* read floor: passes run */
} __rte_cache_aligned;

/* What every worker runs next; written by the main lcore between rounds. */
static struct {
	const struct trace *t;
	struct dp *dp;
	enum kind kind;
	bool avx2;        /* the read floor's AVX2 build runs */
	unsigned passes;  /* per round */
	unsigned arrived; /* workers at the start line */
	unsigned go;      /* set once all have arrived */
	unsigned done;    /* siphon: workers whose mbufs are all back after their last pass */
	uint16_t port_id;
} run;

/*
 * Make mbufs [i, i + k) what they were when loaded: a frame with the data where the NIC
 * puts it, its first bytes as captured (l2dsr rewrote the MACs; ipip slid the L2 header
 * and wrote its outer header over the original one; nothing from there on is ever
 * touched), no offload flags. Then hold one more reference, so the sink's free only
 * drops it back to 1 and the mbuf survives TX for the next pass. Floor and siphon both
 * pay exactly this.
 */
static inline void
replay_prep(struct bench_worker *bw, const struct trace *t, uint32_t i, uint16_t k)
{
	for (uint16_t j = 0; j < k; j++) {
		struct rte_mbuf *b = bw->m[i + j];

		b->data_off = RTE_PKTMBUF_HEADROOM;
		b->data_len = t->len[i + j];
		b->pkt_len = t->len[i + j];
		b->ol_flags = 0;
		memcpy(rte_pktmbuf_mtod(b, uint8_t *), bw->hdr[i + j], HDR_SAVE);
		rte_mbuf_refcnt_update(b, 1);
	}
}

/* The floors' TX: straight to the sink, counting (and freeing) what it refuses. */
static inline void
floor_tx(struct bench_worker *bw, uint32_t i, uint16_t k, uint16_t port, uint16_t queue)
{
	uint16_t sent = rte_eth_tx_burst(port, queue, &bw->m[i], k);

	if (unlikely(sent < k)) {
		bw->unsent += k - sent;
		for (uint16_t j = sent; j < k; j++)
			rte_pktmbuf_free(bw->m[i + j]); /* the extra reference */
	}
}

static void
pass_floor(struct bench_worker *bw, const struct trace *t, uint16_t port, uint16_t queue)
{
	for (uint32_t i = 0; i < t->n; i += DP_BURST) {
		uint16_t k = (uint16_t)RTE_MIN(DP_BURST, t->n - i);

		replay_prep(bw, t, i, k);
		floor_tx(bw, i, k, port, queue);
	}
}

/* The header section of frame i of the pass; its payload sits after 42 or more header
 * bytes, so the FLOOR_BACK bytes before its end are the frame's (floor.h). */
static inline const uint8_t *
read_ptr(const struct bench_worker *bw, const struct trace *t, uint32_t i)
{
	return rte_pktmbuf_mtod(bw->m[i], const uint8_t *) + t->rd_off[i];
}

/* Frame i's header section on its way to L1, as dp_worker_burst() asks for its frames. */
static inline void
read_prefetch(const struct bench_worker *bw, const struct trace *t, uint32_t i)
{
	const uint8_t *p = read_ptr(bw, t, i);
	uint32_t len = RTE_MIN((uint32_t)t->rd_len[i], DP_PREFETCH_BYTES);

	for (uint32_t off = 0; off < len; off += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p + off);
}

/*
 * The read floor: pass_floor() plus floor.h's pass over each frame's header section, with
 * the worker's prefetch pipeline (DP_PREFETCH frames ahead), so siphon gets no trick the
 * floor lacks. An AVX2 build and a scalar one (floor_lf_scalar) for other CPUs.
 */
#ifdef FLOOR_HAVE_AVX2
__attribute__((target("avx2"))) static void
pass_read_avx2(struct bench_worker *bw, const struct trace *t, uint16_t port, uint16_t queue)
{
	__m256i acc = _mm256_setzero_si256();

	for (uint32_t i = 0; i < t->n; i += DP_BURST) {
		uint16_t k = (uint16_t)RTE_MIN(DP_BURST, t->n - i);

		replay_prep(bw, t, i, k);
		for (uint16_t j = 0; j < k && j < DP_PREFETCH; j++)
			read_prefetch(bw, t, i + j);
		for (uint16_t j = 0; j < k; j++) {
			if (j + DP_PREFETCH < k)
				read_prefetch(bw, t, i + j + DP_PREFETCH);
			acc = floor_lf_avx2(acc, read_ptr(bw, t, i + j), t->rd_len[i + j]);
		}
		floor_tx(bw, i, k, port, queue);
	}
	bw->lf += floor_sum_avx2(acc);
}
#endif

static void
pass_read_scalar(struct bench_worker *bw, const struct trace *t, uint16_t port, uint16_t queue)
{
	uint64_t lf = 0;

	for (uint32_t i = 0; i < t->n; i += DP_BURST) {
		uint16_t k = (uint16_t)RTE_MIN(DP_BURST, t->n - i);

		replay_prep(bw, t, i, k);
		for (uint16_t j = 0; j < k && j < DP_PREFETCH; j++)
			read_prefetch(bw, t, i + j);
		for (uint16_t j = 0; j < k; j++) {
			if (j + DP_PREFETCH < k)
				read_prefetch(bw, t, i + j + DP_PREFETCH);
			lf += floor_lf_scalar(read_ptr(bw, t, i + j), t->rd_len[i + j]);
		}
		floor_tx(bw, i, k, port, queue);
	}
	bw->lf += lf;
}

/* Waiting on a CPU that another worker may share: let it run. */
static inline void
bench_wait(void)
{
	sched_yield();
}

/* While waiting on the others: do this worker's share of their work, as its loop would
 * (the fragments they hand it, and sending what that reassembled). */
static inline void
bench_serve(struct dp_worker *w)
{
	dp_worker_frag_poll(w);
	dp_worker_flush(w);
	bench_wait();
}

/*
 * Wait until every fragment mbuf of bw is back (refcnt 1): one handed to its datagram's
 * owner is that worker's until it has reassembled and sent it, possibly after this pass.
 * Bounded: the owner serves its ring in its passes and while it waits (bench_serve), and
 * drops what stays incomplete at its frag_timeout_ms.
 */
static void
bench_reclaim(struct bench_worker *bw, const struct trace *t)
{
	for (uint32_t k = 0; k < t->nfrag; k++)
		while (rte_mbuf_refcnt_read(bw->m[t->frag[k]]) != 1)
			bench_serve(bw->w);
	/* The owner's writes to the frames (the l2dsr MACs, the ipip header) come before
	 * its free's release: this pass's restore must come after them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/*
 * dp_worker_main()'s loop body, with the RX burst replaced by the loaded frames. With
 * several workers the loop polls the fragment ring after each burst, as the daemon's does
 * after each round of RX bursts; with one, no fragment is ever handed over, and the pass is
 * as it always was.
 */
static void
pass_siphon(struct bench_worker *bw, const struct trace *t, struct rte_rcu_qsbr *qsbr, bool multi)
{
	struct dp_worker *w = bw->w;
	uint64_t handed = w->st->frag_handoff;

	for (uint32_t i = 0; i < t->n; i += DP_BURST) {
		uint16_t k = (uint16_t)RTE_MIN(DP_BURST, t->n - i);

		replay_prep(bw, t, i, k);
		dp_worker_burst(w, &bw->m[i], k);
		if (multi)
			dp_worker_frag_poll(w);
		rte_rcu_qsbr_quiescent(qsbr, w->id);
	}
	/* Every mbuf must be back (refcnt 1) before the next pass restores it: sent ones
	 * leave with the flush, handed-over fragments when their owner has sent them. */
	dp_worker_flush(w);
	if (w->st->frag_handoff != handed)
		bench_reclaim(bw, t);
}

static int
bench_lcore(void *arg)
{
	struct bench_worker *bw = arg;
	struct dp_worker *w = bw->w;
	struct rte_rcu_qsbr *qsbr = run.dp->qsbr;
	const struct trace *t = run.t;
	enum kind kind = run.kind;
	unsigned passes = run.passes, nw = run.dp->nb_workers;

	if (kind == K_SIPHON) {
		rte_rcu_qsbr_thread_register(qsbr, w->id);
		rte_rcu_qsbr_thread_online(qsbr, w->id);
	}
	__atomic_fetch_add(&run.arrived, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&run.go, __ATOMIC_ACQUIRE))
		bench_wait();
	bw->t0 = rte_rdtsc_precise();
	for (unsigned p = 0; p < passes; p++) {
		switch (kind) {
		case K_SIPHON:
			pass_siphon(bw, t, qsbr, nw > 1);
			break;
		case K_READ:
#ifdef FLOOR_HAVE_AVX2
			if (run.avx2) {
				pass_read_avx2(bw, t, run.port_id, (uint16_t)w->id);
				break;
			}
#endif
			pass_read_scalar(bw, t, run.port_id, (uint16_t)w->id);
			break;
		default:
			pass_floor(bw, t, run.port_id, (uint16_t)w->id);
			break;
		}
	}
	if (kind == K_READ)
		bw->rd_passes += passes;
	bw->t1 = rte_rdtsc_precise();
	if (kind == K_SIPHON) {
		/* A worker done early still owns datagrams whose fragments the others hand it:
		 * it serves them until every worker has its mbufs back. */
		__atomic_fetch_add(&run.done, 1, __ATOMIC_RELEASE);
		while (nw > 1 && __atomic_load_n(&run.done, __ATOMIC_ACQUIRE) < nw)
			bench_serve(w);
		rte_rcu_qsbr_thread_offline(qsbr, w->id);
		rte_rcu_qsbr_thread_unregister(qsbr, w->id);
	}
	return 0;
}

/* Every worker runs `passes` passes of kind at once. @return TSC from first start to last end. */
static uint64_t
bench_round(struct dp *dp, struct bench_worker *bw, enum kind kind, unsigned passes)
{
	uint64_t t0 = UINT64_MAX, t1 = 0;

	run.kind = kind;
	run.passes = passes;
	run.arrived = 0;
	run.go = 0;
	run.done = 0;
	for (unsigned i = 0; i < dp->nb_workers; i++)
		rte_eal_remote_launch(bench_lcore, &bw[i], dp->workers[i]->lcore);
	while (__atomic_load_n(&run.arrived, __ATOMIC_ACQUIRE) < dp->nb_workers)
		rte_pause();
	__atomic_store_n(&run.go, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		t0 = RTE_MIN(t0, bw[i].t0);
		t1 = RTE_MAX(t1, bw[i].t1);
	}
	return t1 - t0;
}

/* ------------------------------------------------------------------------ */
/* Set-up: the daemon's own dp_setup(), after giving the ports the captures' MAC */

/*
 * Without --promisc the worker takes unicast frames to its port's MAC only, as in
 * production: the ports get the captures' destination MAC first, which port_init() (in
 * dp_setup()) then reads back.
 */
static int
bench_set_macs(const struct sph_cfg *cfg, const uint8_t mac[6], char *err, size_t errlen)
{
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		struct rte_ether_addr ea;
		uint16_t id;

		if (rte_eth_dev_get_port_by_name(cfg->ports[p].device, &id) != 0)
			continue; /* dp_setup() names the missing device */
		memcpy(ea.addr_bytes, mac, 6);
		if (rte_eth_dev_default_mac_addr_set(id, &ea) != 0) {
			snprintf(err, errlen, "port \"%s\": cannot set its MAC (use --promisc)",
			         cfg->ports[p].name);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Correctness: what the workers' counters say about the passes they ran */

static uint64_t
forwarded(const struct stats_worker *st, uint32_t nb_backends)
{
	uint64_t sum = 0;

	for (uint32_t b = 0; b < nb_backends; b++)
		sum += st->backend[b].packets;
	return sum;
}

/* Workers write their counters on every packet: a cache line holding two workers'
 * counters would bounce between their cores (issue 11 §2). The type keeps each block
 * to whole lines; check_counters() checks where the blocks were put. */
_Static_assert(_Alignof(struct stats_worker) % RTE_CACHE_LINE_SIZE == 0,
               "struct stats_worker starts on a cache line");
_Static_assert(sizeof(struct stats_worker) % RTE_CACHE_LINE_SIZE == 0,
               "struct stats_worker ends on a cache line");

/*
 * Every frame of every siphon pass must have been received, forwarded and accepted by the
 * sink, and no cache line may hold counters of two workers. A fragment handed to the
 * worker that owns its datagram is received by one worker and forwarded by the other: once
 * any was, forwarded and sent frames are checked for all workers together (each worker's
 * counters printed when they are short), what was received and refused still for each.
 */
static bool
check_counters(const struct dp *dp, const struct trace *t, uint64_t passes)
{
	uint64_t want = passes * t->n, fwd_all = 0, tx_all = 0;
	bool ok = true, handed = false, all_ok;

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct stats_worker *st = dp->workers[i]->st;

		handed |= st->frag_handoff != 0;
		fwd_all += forwarded(st, dp->snap->nb_backends);
		tx_all += st->tx_packets;
	}
	all_ok = fwd_all == want * dp->nb_workers && tx_all == want * dp->nb_workers;
	if (!all_ok && dp->nb_workers > 1) {
		printf("FAIL %s: %" PRIu64 " frames replayed by %u workers, forwarded %" PRIu64
		       " tx %" PRIu64 "\n",
		       t->name, want * dp->nb_workers, dp->nb_workers, fwd_all, tx_all);
		ok = false;
	}

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct stats_worker *st = dp->workers[i]->st;
		uint64_t fwd = forwarded(st, dp->snap->nb_backends);
		uintptr_t a = (uintptr_t)st, a_end = a + sizeof(*st);

		if (a % RTE_CACHE_LINE_SIZE != 0) {
			printf("FAIL worker %u: its counters start inside a cache line\n", i);
			ok = false;
		}
		for (unsigned j = 0; j < i; j++) {
			uintptr_t b = (uintptr_t)dp->workers[j]->st, b_end = b + sizeof(*st);

			if (a < b_end && b < a_end) {
				printf("FAIL workers %u and %u: their counters overlap\n", j, i);
				ok = false;
			}
		}

		if (all_ok && st->rx_packets == want && st->tx_drop == 0 &&
		    (handed || (fwd == want && st->tx_packets == want)))
			continue;
		ok = false;
		printf("FAIL %s, worker %u: %" PRIu64 " frames replayed, rx %" PRIu64
		       " forwarded %" PRIu64 " tx %" PRIu64 " tx_drop %" PRIu64 "; drops:",
		       t->name, i, want, st->rx_packets, fwd, st->tx_packets, st->tx_drop);
#define CHECK_PRINT(name, doc)                                                                     \
	if (st->name != 0 && strncmp(#name, "rx_", 3) != 0 && strncmp(#name, "tx_", 3) != 0)       \
		printf(" %s=%" PRIu64, #name, st->name);
		STATS_COUNTERS(CHECK_PRINT)
#undef CHECK_PRINT
		for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
			if (st->pkt_drop[v] != 0)
				printf(" pkt.%s=%" PRIu64, pkt_verdict_name(v), st->pkt_drop[v]);
		for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
			if (st->sip_drop[v] != 0)
				printf(" sip.%s=%" PRIu64, sip_verdict_name(v), st->sip_drop[v]);
		printf("\n");
	}
	return ok;
}

/* ------------------------------------------------------------------------ */
/* Measurement of one capture */

struct figures {
	double mpps, gbps, ns_pkt, cyc_pkt; /* medians over rounds, all workers together */
	double best_mpps;                   /* the fastest round: what noise could not slow */
};

struct result {
	const struct trace *t;
	unsigned rounds, passes; /* passes per worker per round */
	struct figures f[K_COUNT];
	double ratio;      /* siphon Mpps / floor Mpps */
	double read_ratio; /* siphon Mpps / read floor Mpps */
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Median (or with min, the smallest) of v[0, n); sorts a copy. */
static uint64_t
median(const uint64_t *v, unsigned n, uint64_t *min)
{
	uint64_t tmp[MAX_ROUNDS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_u64);
	if (min != NULL)
		*min = tmp[0];
	return tmp[n / 2];
}

/*
 * Load t into every worker's mbufs, warm up, run rounds of each kind (interleaved, so drift
 * spreads over both), check the counters. By default a round is one pass per worker, and
 * there are as many as fit in `seconds` of siphon time (MIN_ROUNDS..MAX_ROUNDS): short
 * rounds leave most of them untouched by other processes on a busy machine. rounds > 0
 * (--passes N: N rounds of one pass; --rounds R with long: R rounds of as many passes as
 * `seconds` allows). @return 0, or -1 (counters wrong).
 */
static int
bench_trace(struct dp *dp, struct bench_worker *bw, struct rte_mempool *mp, const struct trace *t,
            unsigned rounds, bool long_rounds, double seconds, unsigned ncpus, struct result *r)
{
	static uint64_t tsc[K_COUNT][MAX_ROUNDS];
	uint64_t hz = rte_get_tsc_hz(), total = 0;
	unsigned nw = dp->nb_workers, passes = 1;
	uint64_t handed = 0;
	int rc = 0;

	for (unsigned v = 4; nw > 1 && v <= 6; v += 2) {
		uint64_t mod = v == 4 ? UINT64_C(1) << 16 : UINT64_C(1) << 32;
		uint64_t span = trace_id_span(t, (uint8_t)v, mod);

		if (span >= mod / nw) {
			printf("FAIL %s: its IPv%u fragment IDs span %" PRIu64 " values, more than "
			       "%u workers' copies can be renumbered apart in\n",
			       t->name, v, span, nw);
			return -1;
		}
	}
	for (unsigned i = 0; i < nw; i++) {
		bw[i].m = calloc(t->n, sizeof(*bw[i].m));
		bw[i].hdr = malloc(t->n * sizeof(*bw[i].hdr));
		if (bw[i].m == NULL || bw[i].hdr == NULL ||
		    rte_pktmbuf_alloc_bulk(mp, bw[i].m, t->n) != 0) {
			fprintf(stderr, "bench_dp: no mbufs for %u frames\n", t->n);
			exit(1);
		}
		for (uint32_t k = 0; k < t->n; k++) {
			struct rte_mbuf *m = bw[i].m[k];

			memcpy(rte_pktmbuf_append(m, t->len[k]), t->data + t->off[k], t->len[k]);
			m->port = dp->ports[0].port_id;
		}
		worker_frag_ids(bw[i].m, t, i, nw);
		for (uint32_t k = 0; k < t->n; k++)
			memcpy(bw[i].hdr[k], rte_pktmbuf_mtod(bw[i].m[k], uint8_t *), HDR_SAVE);
		memset(dp->workers[i]->st, 0, sizeof(*dp->workers[i]->st));
		bw[i].unsent = 0;
		bw[i].lf = 0;
		bw[i].rd_passes = 0;
	}
	run.t = t;

	/* Warm-up: caches, branch predictors, the sink; one siphon pass also sizes rounds. */
	bench_round(dp, bw, K_FLOOR, 1);
	bench_round(dp, bw, K_READ, 1);
	uint64_t one = bench_round(dp, bw, K_SIPHON, 1);

	total += 1;
	if (long_rounds) {
		double per = seconds / rounds * (double)hz / (double)one;

		passes = per < 1.0 ? 1u : (unsigned)(per + 0.5);
	} else if (rounds == 0) {
		double fit = seconds * (double)hz / (double)one;

		rounds = fit < MIN_ROUNDS   ? MIN_ROUNDS
		         : fit > MAX_ROUNDS ? MAX_ROUNDS
		                            : (unsigned)fit;
	}
	for (unsigned k = 0; k < rounds; k++) {
		tsc[K_FLOOR][k] = bench_round(dp, bw, K_FLOOR, passes);
		tsc[K_READ][k] = bench_round(dp, bw, K_READ, passes);
		tsc[K_SIPHON][k] = bench_round(dp, bw, K_SIPHON, passes);
	}
	total += (uint64_t)rounds * passes;

	r->t = t;
	r->rounds = rounds;
	r->passes = passes;
	for (unsigned k = 0; k < K_COUNT; k++) {
		uint64_t best;
		double sec = (double)median(tsc[k], rounds, &best) / (double)hz;
		double pkts = (double)t->n * passes * nw;

		r->f[k].mpps = pkts / sec / 1e6;
		r->f[k].gbps = (double)t->bytes * passes * nw * 8 / sec / 1e9;
		r->f[k].ns_pkt = sec * 1e9 / pkts;
		/* TSC cycles of every CPU the workers ran on, per frame. */
		r->f[k].cyc_pkt = sec * (double)hz * ncpus / pkts;
		r->f[k].best_mpps = pkts * (double)hz / (double)best / 1e6;
	}
	r->ratio = r->f[K_SIPHON].mpps / r->f[K_FLOOR].mpps;
	r->read_ratio = r->f[K_SIPHON].mpps / r->f[K_READ].mpps;

	if (!check_counters(dp, t, total))
		rc = -1;
	for (unsigned i = 0; i < nw; i++) {
		if (bw[i].unsent != 0) {
			printf("FAIL %s, worker %u: the sink refused %" PRIu64 " floor frames\n",
			       t->name, i, bw[i].unsent);
			rc = -1;
		}
		/* The read floor did read: every pass counted every line feed it had to. */
		if (bw[i].lf != bw[i].rd_passes * t->rd_lf) {
			printf("FAIL %s, worker %u: the read floor counted %" PRIu64
			       " line feeds in %" PRIu64 " passes of %" PRIu64 "\n",
			       t->name, i, bw[i].lf, bw[i].rd_passes, t->rd_lf);
			rc = -1;
		}
		handed += dp->workers[i]->st->frag_handoff;
		rte_pktmbuf_free_bulk(bw[i].m, t->n);
		free(bw[i].m);
		free(bw[i].hdr);
		bw[i].m = NULL;
		bw[i].hdr = NULL;
	}
	if (handed != 0)
		printf("bench_dp: %s: %" PRIu64 " fragments handed to the worker that owns their "
		       "datagram, %.1f per pass per worker\n",
		       t->name, handed, (double)handed / (double)(total * nw));
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Options and report */

struct opts {
	const char *pcaps[MAX_PCAPS];
	unsigned npcaps;
	const char *config, *json;
	double seconds;
	unsigned passes, rounds; /* 0: by --seconds */
	int mode;                /* enum cfg_vip_mode, or -1: the configuration's */
	bool promisc;
};

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: bench_dp [EAL options] -- [--pcap FILE]... [--seconds S [--rounds R] |\n"
	        "                --passes N] [--json FILE] [--mode l2dsr|ipip] [--config FILE]\n"
	        "                [--promisc]\n"
	        "  --pcap FILE     capture to replay (repeatable; default %s)\n"
	        "  --seconds S     siphon time per capture (default %.1f): rounds of one pass\n"
	        "                  each, as many as fit (%u..%u); figures are their medians\n"
	        "  --rounds R      instead R long rounds, each of as many passes as fit in S/R\n"
	        "  --passes N      instead N rounds of one pass each\n"
	        "  --json FILE     write the results as JSON\n"
	        "  --mode M        forward every VIP in mode M (default: the configuration's)\n"
	        "  --config FILE   default %s\n"
	        "  --promisc       accept frames to any MAC instead of setting the port's MAC\n"
	        "EAL options when no \"--\" is given: --no-huge -m 1024 --no-pci --file-prefix\n"
	        "bench_dp --vdev net_null0 -l 0,1 --log-level=error. Every lcore but the main\n"
	        "one is a worker.\n",
	        DEFAULT_PCAP, DEFAULT_SECONDS, MIN_ROUNDS, MAX_ROUNDS, DEFAULT_CONFIG);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	        {"pcap", required_argument, NULL, 'p'},   {"seconds", required_argument, NULL, 's'},
	        {"passes", required_argument, NULL, 'n'}, {"rounds", required_argument, NULL, 'r'},
	        {"json", required_argument, NULL, 'j'},   {"mode", required_argument, NULL, 'm'},
	        {"config", required_argument, NULL, 'c'}, {"promisc", no_argument, NULL, 'P'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	o->config = DEFAULT_CONFIG;
	o->seconds = DEFAULT_SECONDS;
	o->mode = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (o->npcaps == MAX_PCAPS)
				goto bad;
			o->pcaps[o->npcaps++] = optarg;
			break;
		case 's':
			o->seconds = strtod(optarg, &end);
			if (*end != '\0' || !(o->seconds > 0 && o->seconds <= 3600))
				goto bad;
			break;
		case 'n':
			o->passes = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o->passes < 1 || o->passes > MAX_ROUNDS)
				goto bad;
			break;
		case 'r':
			o->rounds = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o->rounds < 1 || o->rounds > MAX_ROUNDS)
				goto bad;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'm':
			o->mode = cfg_mode_parse(optarg);
			if (o->mode < 0)
				goto bad;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'P':
			o->promisc = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc)
		goto bad;
	if (o->npcaps == 0)
		o->pcaps[o->npcaps++] = DEFAULT_PCAP;
	return 0;
bad:
	fprintf(stderr, "bench_dp: bad option or value%s%s\n", optind <= argc ? ": " : "",
	        optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "");
	usage(stderr);
	return -1;
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_figures(FILE *f, const char *key, const struct figures *x)
{
	fprintf(f,
	        "\"%s\": {\"mpps\": %.4f, \"gbps\": %.4f, \"ns_per_pkt\": %.3f, "
	        "\"cycles_per_pkt\": %.2f, \"best_mpps\": %.4f}",
	        key, x->mpps, x->gbps, x->ns_pkt, x->cyc_pkt, x->best_mpps);
}

static int
write_json(const char *path, const struct dp *dp, const char *mode, unsigned ncpus,
           const char *cpus, const struct result *r, unsigned nr, bool ok)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fprintf(f,
	        "{\n  \"bench\": \"bench_dp\",\n  \"mode\": \"%s\",\n  \"workers\": %u,\n  "
	        "\"cpus\": %u,\n  \"worker_cpus\": \"%s\",\n  \"scanner\": \"%s\",\n  "
	        "\"tsc_hz\": %" PRIu64 ",\n  \"burst\": %u,\n  \"read_floor\": \"%s\",\n  "
	        "\"counters_ok\": %s,\n  \"results\": [\n",
	        mode, dp->nb_workers, ncpus, cpus, sip_scan_name(), rte_get_tsc_hz(), DP_BURST,
	        run.avx2 ? "avx2" : "scalar", ok ? "true" : "false");
	for (unsigned i = 0; i < nr; i++) {
		fprintf(f, "    {\"pcap\": ");
		json_str(f, r[i].t->name);
		fprintf(f,
		        ", \"packets\": %u, \"bytes\": %" PRIu64 ", \"avg_frame\": %.1f, "
		        "\"rounds\": %u, \"passes_per_round\": %u,\n     ",
		        r[i].t->n, r[i].t->bytes, (double)r[i].t->bytes / r[i].t->n, r[i].rounds,
		        r[i].passes);
		json_figures(f, "siphon", &r[i].f[K_SIPHON]);
		fprintf(f, ",\n     ");
		json_figures(f, "floor", &r[i].f[K_FLOOR]);
		fprintf(f, ",\n     ");
		json_figures(f, "read_floor", &r[i].f[K_READ]);
		fprintf(f,
		        ",\n     \"read_bytes_per_pkt\": %.1f, \"ratio\": %.4f, \"read_ratio\": "
		        "%.4f}%s\n",
		        (double)r[i].t->rd_bytes / r[i].t->n, r[i].ratio, r[i].read_ratio,
		        i + 1 < nr ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static char *def_eal[] = {
	        "bench_dp",      "--no-huge",         "-m",     "1024",      "--no-pci",
	        "--file-prefix", "bench_dp",          "--vdev", "net_null0", "-l",
	        "0,1",           "--log-level=error", NULL};
	static struct trace traces[MAX_PCAPS];
	static struct result res[MAX_PCAPS];
	struct dp dp = {.ctl_lock = PTHREAD_MUTEX_INITIALIZER};
	struct bench_worker *bw = NULL;
	struct rte_mempool *mp = NULL;
	struct sph_cfg *cfg = NULL;
	struct opts o = {0};
	char err[512], cpus[256] = "";
	const char *mode;
	int sep = argc, rc, eal_argc;
	char **eal_argv;
	uint32_t max_n = 0;
	unsigned ncpus;
	bool ok = true;
	rte_cpuset_t set;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep == argc) {
		/* No "--": every argument is ours, EAL gets the defaults. */
		eal_argc = (int)RTE_DIM(def_eal) - 1;
		eal_argv = def_eal;
		rc = parse_opts(argc, argv, &o);
	} else {
		argv[sep] = argv[0];
		rc = parse_opts(argc - sep, argv + sep, &o);
		argv[sep] = "--";
		eal_argc = sep;
		eal_argv = argv;
	}
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	/* Everything that can fail cheaply first: captures and configuration. */
	for (unsigned i = 0; i < o.npcaps; i++) {
		if (trace_load(&traces[i], o.pcaps[i],
		               (uint16_t)(RTE_MBUF_DEFAULT_DATAROOM - 64)) != 0)
			return 1;
		max_n = RTE_MAX(max_n, traces[i].n);
	}
	if (cfg_load(o.config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_dp: %s\n", err);
		return 1;
	}
	if (o.mode >= 0)
		for (unsigned v = 0; v < cfg->nb_vips; v++)
			cfg->vips[v].mode = (uint8_t)o.mode;
	mode = cfg->nb_vips ? cfg_mode_name(cfg->vips[0].mode) : "none";
	for (unsigned v = 1; v < cfg->nb_vips; v++)
		if (cfg->vips[v].mode != cfg->vips[0].mode)
			mode = "mixed";

	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "bench_dp: EAL: %s\n", rte_strerror(rte_errno));
		cfg_free(cfg);
		return 1;
	}
	/* The first frame's destination is the MAC the captures are addressed to. */
	if ((!o.promisc && bench_set_macs(cfg, traces[0].data, err, sizeof(err)) != 0) ||
	    dp_setup(&dp, cfg, o.promisc, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_dp: %s\n", err);
		ok = false;
		goto out;
	}
	mp = rte_pktmbuf_pool_create("bench_replay", dp.nb_workers * max_n + 64, 0, 0,
	                             RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	bw = rte_zmalloc("bench_worker", dp.nb_workers * sizeof(*bw), RTE_CACHE_LINE_SIZE);
	if (mp == NULL || bw == NULL) {
		fprintf(stderr, "bench_dp: out of memory for %u x %u replay mbufs (try -m)\n",
		        dp.nb_workers, max_n);
		ok = false;
		goto out;
	}
	run.dp = &dp;
	run.port_id = dp.ports[0].port_id;
#ifdef FLOOR_HAVE_AVX2
	__builtin_cpu_init();
	run.avx2 = __builtin_cpu_supports("avx2");
#endif
	CPU_ZERO(&set);
	for (unsigned i = 0; i < dp.nb_workers; i++) {
		rte_cpuset_t c = rte_lcore_cpuset(dp.workers[i]->lcore);
		size_t len = strlen(cpus);

		bw[i].w = dp.workers[i];
		CPU_OR(&set, &set, &c);
		for (unsigned k = 0; k < CPU_SETSIZE && len + 16 < sizeof(cpus); k++)
			if (CPU_ISSET(k, &c))
				len += (size_t)snprintf(cpus + len, sizeof(cpus) - len, "%s%u@%u",
				                        len ? "," : "", dp.workers[i]->lcore, k);
	}
	ncpus = (unsigned)CPU_COUNT(&set);

	printf("bench_dp: mode %s, %u worker%s (lcore@cpu %s) on %u CPU%s, scanner %s, "
	       "read floor %s, TSC %.3f GHz, burst %u, port MAC %s\n",
	       mode, dp.nb_workers, dp.nb_workers > 1 ? "s" : "", cpus, ncpus, ncpus > 1 ? "s" : "",
	       sip_scan_name(), run.avx2 ? "avx2" : "scalar", (double)rte_get_tsc_hz() / 1e9,
	       DP_BURST, o.promisc ? "any (--promisc)" : "= the captures' destination");
	if (ncpus < dp.nb_workers)
		printf("bench_dp: note: %u workers share %u CPU%s: the figures are their sum, "
		       "time-sliced\n",
		       dp.nb_workers, ncpus, ncpus > 1 ? "s" : "");
	for (unsigned i = 0; i < o.npcaps; i++) {
		if (bench_trace(&dp, bw, mp, &traces[i], o.passes != 0 ? o.passes : o.rounds,
		                o.passes == 0 && o.rounds != 0, o.seconds, ncpus, &res[i]) != 0)
			ok = false;
	}

	printf("figures: medians over R rounds, all workers together; a round = every worker "
	       "replays its copy of the capture N times at once; cycles = TSC cycles x CPUs "
	       "used, per frame\n");
	printf("%-24s %6s %6s %8s | %8s %7s %7s %7s | %8s %7s %7s | %6s %8s %7s %7s | %6s "
	       "%6s\n",
	       "pcap", "frames", "avg B", "RxN", "Mpps", "Gbps", "ns/pkt", "cyc/pkt", "floor",
	       "ns/pkt", "cyc/pkt", "read B", "read fl", "ns/pkt", "cyc/pkt", "ratio", "read");
	for (unsigned i = 0; i < o.npcaps; i++) {
		const struct result *r = &res[i];
		const struct figures *s = &r->f[K_SIPHON], *f = &r->f[K_FLOOR], *rd = &r->f[K_READ];
		char rn[24];

		snprintf(rn, sizeof(rn), "%ux%u", r->rounds, r->passes);
		printf("%-24s %6u %6.1f %8s | %8.3f %7.2f %7.1f %7.1f | %8.3f %7.1f %7.1f | %6.1f "
		       "%8.3f %7.1f %7.1f | %5.1f%% %5.1f%%\n",
		       r->t->name, r->t->n, (double)r->t->bytes / r->t->n, rn, s->mpps, s->gbps,
		       s->ns_pkt, s->cyc_pkt, f->mpps, f->ns_pkt, f->cyc_pkt,
		       (double)r->t->rd_bytes / r->t->n, rd->mpps, rd->ns_pkt, rd->cyc_pkt,
		       100 * r->ratio, 100 * r->read_ratio);
	}
	for (unsigned i = 0; i < o.npcaps; i++)
		printf("bench_dp: pcap=%s workers=%u mode=%s mpps=%.3f floor_mpps=%.3f "
		       "ratio=%.3f read_floor_mpps=%.3f read_ratio=%.3f\n",
		       res[i].t->name, dp.nb_workers, mode, res[i].f[K_SIPHON].mpps,
		       res[i].f[K_FLOOR].mpps, res[i].ratio, res[i].f[K_READ].mpps,
		       res[i].read_ratio);
	if (!ok)
		printf("bench_dp: FAIL: counters show frames not forwarded, or a floor failed "
		       "(above)\n");
	if (o.json != NULL && write_json(o.json, &dp, mode, ncpus, cpus, res, o.npcaps, ok) != 0)
		ok = false;
out:
	rte_free(bw);
	dp_teardown(&dp);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	cfg_free(cfg);
	for (unsigned i = 0; i < o.npcaps; i++)
		trace_free(&traces[i]);
	return ok ? 0 : 1;
}
