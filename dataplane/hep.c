/*
 * hep.c - the HEPv3 mirror (docs/protection.md#mirroring-hep): the main lcore publishes
 * where the collector is (dp_mirror_set), and workers send it a copy of chosen messages
 * without copying their SIP bytes: a header mbuf (Ethernet, IP, UDP, HEP head) chained to
 * an indirect mbuf of the original's payload and a small mbuf with the Call-ID chunk (one
 * segment with the payload copied where the device does not say it sends chains).
 * The mirror has its own TX buffers, budget and counters: whatever it cannot send is
 * counted and dropped, and the frame being forwarded never waits for it.
 */
#include <time.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_rcu_qsbr.h>

#include "siphon/hep.h"
#include "hep.h"
#include "worker.h"

#define HEP_TTL 64 /* IPv4 TTL / IPv6 hop limit of mirror frames */

/* TX refused part of a mirror buffer: those frames were counted as sent. */
static void
dp_hep_refused(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
	struct dp_hep_worker *hw = userdata;

	for (uint16_t i = 0; i < count; i++) {
		hw->c.sent--;
		hw->c.bytes -= unsent[i]->pkt_len;
		rte_pktmbuf_free(unsent[i]);
	}
	hw->c.tx_full += count;
}

struct dp_hep_worker *
dp_hep_worker_create(unsigned nb_ports, int socket)
{
	struct dp_hep_worker *hw =
	        rte_zmalloc_socket("dp_hep", sizeof(*hw), RTE_CACHE_LINE_SIZE, socket);

	if (hw == NULL)
		return NULL;
	for (unsigned p = 0; p < nb_ports && p < RTE_DIM(hw->tx); p++) {
		hw->tx[p] = rte_zmalloc_socket("dp_hep_tx", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0,
		                               socket);
		if (hw->tx[p] == NULL) {
			dp_hep_worker_free(hw);
			return NULL;
		}
		rte_eth_tx_buffer_init(hw->tx[p], DP_BURST);
		rte_eth_tx_buffer_set_err_callback(hw->tx[p], dp_hep_refused, hw);
	}
	return hw;
}

void
dp_hep_worker_free(struct dp_hep_worker *hw)
{
	if (hw == NULL)
		return;
	for (unsigned p = 0; p < RTE_DIM(hw->tx); p++)
		rte_free(hw->tx[p]);
	rte_free(hw);
}

/* ---- marked calls ---- */

/*
 * A set-associative table of Call-ID hashes, per worker, fixed at DP_HEP_MARK_SETS x
 * DP_HEP_MARK_WAYS entries: no lock (only its worker reads and writes it), no allocation.
 * A hit keeps the call marked for another call_timeout; an expired entry is freed by the
 * lookup that meets it or by dp_hep_poll()'s sweep, so nb_marked falls back to 0 once the
 * marked calls are over, and dp_hep_want() stops looking.
 */
static inline struct dp_hep_mark *
dp_hep_set(struct dp_hep_worker *hw, uint64_t h)
{
	return hw->marks[h & (DP_HEP_MARK_SETS - 1)];
}

bool
dp_hep_marked(const struct dp_hep *hc, struct dp_hep_worker *hw, uint64_t h)
{
	struct dp_hep_mark *set = dp_hep_set(hw, h);
	uint64_t now = rte_rdtsc();

	for (unsigned k = 0; k < DP_HEP_MARK_WAYS; k++) {
		if (set[k].until == 0 || set[k].h != h)
			continue;
		if (set[k].until <= now) {
			set[k].until = 0;
			hw->nb_marked--;
			return false;
		}
		set[k].until = now + hc->mark_tsc;
		return true;
	}
	return false;
}

void
dp_hep_mark_call(struct dp_worker *w, uint64_t h)
{
	const struct dp_hep *hc = __atomic_load_n(&w->dp->hep, __ATOMIC_ACQUIRE);
	struct dp_hep_worker *hw = w->hep;
	struct dp_hep_mark *set = dp_hep_set(hw, h), *e = NULL;
	uint64_t now = rte_rdtsc();

	if (hc == NULL)
		return; /* nowhere to mirror to */
	for (unsigned k = 0; k < DP_HEP_MARK_WAYS; k++)
		if (set[k].until != 0 && set[k].h == h) {
			set[k].until = now + hc->mark_tsc; /* marked again: one entry */
			return;
		}
	/* A free entry, else an expired one, else the one closest to expiring. */
	for (unsigned k = 0; k < DP_HEP_MARK_WAYS; k++)
		if (e == NULL || set[k].until < e->until)
			e = &set[k];
	if (e->until == 0)
		hw->nb_marked++;
	else if (e->until > now)
		hw->c.mark_full++;
	e->h = h;
	e->until = now + hc->mark_tsc;
	hw->c.marked++;
}

void
dp_hep_poll(struct dp_worker *w, uint64_t now_tsc)
{
	struct dp_hep_worker *hw = w->hep;

	if (hw->nb_marked == 0)
		return;
	for (unsigned i = 0; i < DP_HEP_SWEEP_SETS; i++) {
		struct dp_hep_mark *set = hw->marks[hw->sweep];

		for (unsigned k = 0; k < DP_HEP_MARK_WAYS; k++)
			if (set[k].until != 0 && set[k].until <= now_tsc) {
				set[k].until = 0;
				hw->nb_marked--;
			}
		hw->sweep = (hw->sweep + 1) & (DP_HEP_MARK_SETS - 1);
	}
}

/* ---- the mirror frame ---- */

void
dp_hep_burst(struct dp_worker *w, const struct dp_hep *hc)
{
	w->hep->left = hc->budget;
}

void
dp_hep_flush(struct dp_worker *w)
{
	w->hep->queued = 0;
	for (unsigned p = 0; p < w->dp->nb_ports; p++)
		rte_eth_tx_buffer_flush(w->dp->ports[p].port_id, (uint16_t)w->id, w->hep->tx[p]);
}

/* The wall clock of now (TSC) in the capture's seconds and microseconds. */
static void
dp_hep_time(const struct dp_hep *hc, struct hep_meta *hm)
{
	uint64_t d = rte_rdtsc() - hc->tsc0;
	uint64_t ns = hc->real_ns + d / hc->tsc_hz * 1000000000u +
	              d % hc->tsc_hz * 1000000000u / hc->tsc_hz;

	hm->ts_sec = (uint32_t)(ns / 1000000000u);
	hm->ts_usec = (uint32_t)(ns % 1000000000u / 1000u);
}

/* Ethernet, IP and UDP of a mirror frame whose UDP payload is udp_len - 8 bytes. */
static void
dp_hep_l2l4(struct dp_worker *w, const struct dp_hep *hc, const struct dp_port *out,
            const uint8_t mac[6], struct rte_mbuf *h, uint8_t *f, uint32_t udp_len)
{
	struct rte_udp_hdr *u;

	memcpy(f, mac, 6);
	memcpy(f + 6, out->mac, 6);
	if (hc->family == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

		f[12] = 0x08, f[13] = 0x00;
		ip->version_ihl = 0x45;
		ip->type_of_service = 0;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + udp_len));
		ip->packet_id = rte_cpu_to_be_16(w->ip_id++);
		ip->fragment_offset = rte_cpu_to_be_16(0x4000); /* don't fragment */
		ip->time_to_live = HEP_TTL;
		ip->next_proto_id = IPPROTO_UDP;
		ip->hdr_checksum = 0;
		memcpy(&ip->src_addr, hc->src + 12, 4);
		memcpy(&ip->dst_addr, hc->dst + 12, 4);
		if (out->ipv4_cksum_offload) {
			h->l2_len = 14;
			h->l3_len = 20;
			h->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		} else {
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		u = (struct rte_udp_hdr *)(f + 34);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + 14);

		f[12] = 0x86, f[13] = 0xdd;
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)udp_len);
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = HEP_TTL;
		memcpy(ip->src_addr, hc->src, 16);
		memcpy(ip->dst_addr, hc->dst, 16);
		u = (struct rte_udp_hdr *)(f + 54);
	}
	u->src_port = rte_cpu_to_be_16(hc->src_port);
	u->dst_port = rte_cpu_to_be_16(hc->dst_port);
	u->dgram_len = rte_cpu_to_be_16((uint16_t)udp_len);
	u->dgram_cksum = 0; /* IPv4: none (RFC 768); IPv6: summed once the chain is whole */
}

/* The UDP checksum of an IPv6 mirror frame over its three pieces: the header segment's
 * UDP header and HEP head (l4 bytes at ip + 40), the payload, the tail. A piece that starts
 * at an odd offset adds its sum byte-swapped (RFC 1071's byte-order independence). */
static void
dp_hep_csum6(uint8_t *ip, uint32_t l4, const uint8_t *payload, size_t plen, const uint8_t *tail,
             size_t tlen)
{
	const struct {
		const void *p;
		size_t len;
	} piece[3] = {{ip + 40, l4}, {payload, plen}, {tail, tlen}};
	uint32_t sum = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)ip, 0);
	size_t off = 0;
	uint16_t c;

	for (unsigned i = 0; i < 3; i++) {
		c = rte_raw_cksum(piece[i].p, piece[i].len);
		sum += off & 1 ? rte_bswap16(c) : c;
		off += piece[i].len;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	c = c == 0 ? 0xffff : c; /* 0 would mean "no checksum" */
	memcpy(ip + 40 + 6, &c, 2);
}

void
dp_hep_mirror(struct dp_worker *w, struct rte_mbuf *m, const struct pkt_info *pi,
              const struct sip_msg *msg)
{
	struct dp *dp = w->dp;
	const struct dp_hep *hc = __atomic_load_n(&dp->hep, __ATOMIC_ACQUIRE);
	struct dp_hep_worker *hw = w->hep;
	const uint8_t *payload = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->payload_off);
	size_t plen = pi->payload_len, clen = msg->call_id.len;
	struct rte_mbuf *seg[3];
	unsigned nseg;
	uint32_t l3, l4, udp_len;
	struct hep_meta hm;
	uint8_t mac[6], *f, *t;

	if (hc == NULL || !nd_table_mac(dp->nd, hc->nd_idx, mac)) {
		hw->c.no_route++;
		return;
	}
	if (hw->left == 0) {
		hw->c.budget++;
		return;
	}
	const struct dp_port *out = &dp->ports[hc->egress];

	/* The frame's IP header is the collector's family; the HEP head, the capture's. */
	l3 = hc->family == 4 ? 20 : 40;
	l4 = (uint32_t)(8 + hep_head_len(pi->ip_version));
	udp_len = (uint32_t)(l4 + plen + hep_tail_len(clen));
	if (!hep_fits(pi->ip_version, plen, clen) || l3 + udp_len > out->mtu) {
		hw->c.too_big++;
		return;
	}
	/* A port whose device does not report that it sends chains (net_null, net_pcap do
	 * not; NIC drivers, net_af_packet and net_tap do) gets one segment, the payload
	 * copied. */
	nseg = out->tx_multi_seg ? 3 : 1;
	if (rte_pktmbuf_alloc_bulk(dp->pool, seg, nseg) != 0) {
		hw->c.no_mbuf++;
		return;
	}
	if (nseg == 3) {
		f = (uint8_t *)rte_pktmbuf_append(seg[0], (uint16_t)(14 + l3 + l4));
		t = (uint8_t *)rte_pktmbuf_append(seg[2], (uint16_t)hep_tail_len(clen));
	} else {
		f = (uint8_t *)rte_pktmbuf_append(seg[0], (uint16_t)(14 + l3 + udp_len));
		t = f != NULL ? f + 14 + l3 + l4 + plen : NULL;
	}
	if (f == NULL || t == NULL) { /* longer than an mbuf holds: the MTU allowed it */
		rte_pktmbuf_free_bulk(seg, nseg);
		hw->c.too_big++;
		return;
	}
	hw->left--;

	hm.family = pi->ip_version;
	memcpy(hm.src, pi->src, 16);
	memcpy(hm.dst, pi->dst, 16);
	hm.src_port = pi->src_port;
	hm.dst_port = pi->dst_port;
	hm.agent_id = hc->agent_id;
	dp_hep_time(hc, &hm);
	hep_head_write(f + 14 + l3 + 8, &hm, plen, clen);
	dp_hep_l2l4(w, hc, out, mac, seg[0], f, udp_len);
	hep_tail_write(t, (const uint8_t *)payload + msg->call_id.off, clen);

	if (nseg == 3) {
		/* The payload, in place: one more reference to m's buffer, which m's own free
		 * (or the NIC's, once m is sent) and this segment's each drop. */
		rte_pktmbuf_attach(seg[1], m);
		seg[1]->data_off = (uint16_t)(payload - (const uint8_t *)seg[1]->buf_addr);
		seg[1]->data_len = (uint16_t)plen;
		seg[1]->pkt_len = (uint32_t)plen;
		rte_pktmbuf_chain(seg[0], seg[1]);
		rte_pktmbuf_chain(seg[0], seg[2]);
	} else {
		rte_memcpy(f + 14 + l3 + l4, payload, plen);
	}
	if (hc->family == 6) /* IPv6 forbids a UDP datagram without a checksum */
		dp_hep_csum6(f + 14, l4, payload, plen, t, hep_tail_len(clen));
	hw->c.sent++;
	hw->c.bytes += seg[0]->pkt_len;
	hw->queued = 1;
	rte_eth_tx_buffer(out->port_id, (uint16_t)w->id, hw->tx[hc->egress], seg[0]);
}

/* ---- the main lcore's side ---- */

int
dp_mirror_set(struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_mirror *cm = &cfg->mirror;
	const struct cfg_addr *hop, *src;
	struct dp_hep *next = NULL, *old = dp->hep;
	struct timespec ts;
	unsigned port;
	int nd;

	if (cm->port != 0) {
		if (hep_route(cfg, &port, &hop, &src, err, errlen) != 0)
			return -1;
		if (port >= dp->nb_ports) {
			snprintf(err, errlen, "mirror: collector's port %u is not a dataplane port",
			         port);
			return -1;
		}
		nd = nd_table_add(dp->nd, hop->family, hop->a, NULL, sph_now_ns());
		next = rte_zmalloc("dp_hep", sizeof(*next), RTE_CACHE_LINE_SIZE);
		if (nd < 0 || next == NULL) {
			rte_free(next);
			snprintf(err, errlen, "mirror: %s",
			         nd < 0 ? "neighbour table full" : "out of memory");
			return -1;
		}
		dp->nd_port[nd] = (uint8_t)port;
		next->sample_below = cm->sample == 0 ? 0 : ((uint64_t)1 << 32) / cm->sample;
		next->mark_tsc = (uint64_t)cm->call_timeout * rte_get_tsc_hz();
		next->budget = cm->budget;
		next->agent_id = cm->agent_id;
		next->family = cm->addr.family;
		next->egress = (uint8_t)port;
		next->nd_idx = (uint16_t)nd;
		next->src_port = cm->port;
		next->dst_port = cm->port;
		memcpy(next->src, src->a, 16);
		memcpy(next->dst, cm->addr.a, 16);
		/* Everything before the clock says what workers do: equal, nothing to change. */
		if (old != NULL && memcmp(next, old, offsetof(struct dp_hep, tsc0)) == 0) {
			rte_free(next);
			return 0;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		next->tsc0 = rte_rdtsc();
		next->tsc_hz = rte_get_tsc_hz();
		next->real_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	if (next == NULL && old == NULL)
		return 0;
	pthread_mutex_lock(&dp->ctl_lock);
	__atomic_store_n(&dp->hep, next, __ATOMIC_RELEASE);
	if (old != NULL) {
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
		rte_free(old);
	}
	pthread_mutex_unlock(&dp->ctl_lock);
	return 0;
}

const char *
dp_mirror_collector(const struct dp *dp, char *buf, size_t len)
{
	const struct dp_hep *hc = __atomic_load_n(&dp->hep, __ATOMIC_ACQUIRE);
	struct cfg_addr a;

	if (hc == NULL) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	a.family = hc->family;
	memcpy(a.a, hc->dst, 16);
	return cfg_addr_format(&a, hc->dst_port, buf, len);
}

void
dp_mirror_read(const struct dp *dp, struct dp_mirror_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct dp_hep_worker *hw =
		        dp->workers[i] != NULL ? dp->workers[i]->hep : NULL;

		if (hw == NULL)
			continue;
#define DP_MIRROR_SUM(name, doc) out->name += __atomic_load_n(&hw->c.name, __ATOMIC_RELAXED);
		DP_MIRROR_COUNTERS(DP_MIRROR_SUM)
#undef DP_MIRROR_SUM
	}
}
