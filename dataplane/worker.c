/*
 * worker.c - the worker lcore: its poll loop and dp_worker_burst(), the one function
 * that turns received frames into forwarded, answered or counted-and-dropped ones.
 * Hot path: no locks, no allocation, no syscalls, no logging. A worker reads the
 * published snapshot, the neighbour MACs and its own state; it writes only its own
 * counters, its TX buffers and (multi-producer) the learn and exception rings.
 */
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/sph.h"
#include "frag.h"
#include "fwd.h"
#include "hep.h"
#include "limit.h"
#include "rulecheck.h"
#include "worker.h"

#define ICMPV6 58
#define UDP    17

/* TX refused part of a buffer (ring full): those frames were counted as sent. */
static void
dp_tx_refused(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
	struct stats_worker *st = userdata;

	for (uint16_t i = 0; i < count; i++) {
		st->tx_packets--;
		st->tx_bytes -= unsent[i]->pkt_len;
		rte_pktmbuf_free(unsent[i]);
	}
	st->tx_drop += count;
}

static inline void
dp_tx(struct dp_worker *w, unsigned port, struct rte_mbuf *m)
{
	w->st->tx_packets++;
	w->st->tx_bytes += m->pkt_len;
	rte_eth_tx_buffer(w->dp->ports[port].port_id, (uint16_t)w->id, w->tx[port], m);
}

static inline void
dp_learn(struct dp_worker *w, const struct nd_learn *l)
{
	union dp_learn_rec rec = {.l = *l};

	if (rte_ring_enqueue_elem(w->dp->learn, &rec, sizeof(rec)) == 0)
		w->st->nd_learn++;
	else
		w->st->learn_ring_full++;
}

/*
 * Whether a datagram of len octets, not to a port's own address, is for one of the edge's
 * listeners on a VIP: TCP to one, or an ICMP error about a segment one of them sent
 * (path MTU). Fragments are not: the kernel's TCP sets DF.
 */
static bool
dp_exception_edge(const struct dp *dp, const struct rte_mbuf *m, const struct pkt_info *pi,
                  enum pkt_verdict v, uint32_t len)
{
	const uint8_t *l4;
	uint32_t l4_len;

	if (dp->nb_edge_socks == 0 || v != PKT_NOT_UDP || pi->l4_off < pi->l3_off ||
	    pi->l4_off - pi->l3_off >= len)
		return false;
	l4 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l4_off);
	l4_len = len - (pi->l4_off - pi->l3_off);
	if (pi->l4_proto == IPPROTO_TCP)
		return l4_len >= 4 &&
		       dp_edge_sock_is(dp, pi->ip_version, pi->dst, (uint16_t)(l4[2] << 8 | l4[3]));
	/* Destination unreachable (path MTU too), time exceeded, parameter problem; and
	 * ICMPv6's packet too big: only about a segment of a listener's, by the quoted
	 * header (RFC 792 and 4443 quote at least its ports), so errors about the
	 * backends' UDP from the VIP, or forged ones, do not crowd the ring. Echo requests
	 * to a VIP stay unanswered, as before. */
	if (pi->l4_proto == IPPROTO_ICMP && pi->ip_version == 4 &&
	    (l4[0] == 3 || l4[0] == 11 || l4[0] == 12) && l4_len >= 8 + 20 + 4) {
		const uint8_t *in = l4 + 8;
		uint32_t ihl = (uint32_t)(in[0] & 0x0f) * 4;
		uint8_t src[16] = {[10] = 0xff, [11] = 0xff};

		if (in[0] >> 4 != 4 || ihl < 20 || in[9] != IPPROTO_TCP || l4_len < 8 + ihl + 4)
			return false;
		memcpy(src + 12, in + 12, 4);
		return memcmp(src, pi->dst, 16) == 0 &&
		       dp_edge_sock_is(dp, 4, src, (uint16_t)(in[ihl] << 8 | in[ihl + 1]));
	}
	if (pi->l4_proto == IPPROTO_ICMPV6 && pi->ip_version == 6 && l4[0] >= 1 && l4[0] <= 4 &&
	    l4_len >= 8 + 40 + 4) {
		const uint8_t *in = l4 + 8;

		return in[0] >> 4 == 6 && in[6] == IPPROTO_TCP &&
		       memcmp(in + 8, pi->dst, 16) == 0 &&
		       dp_edge_sock_is(dp, 6, in + 8, (uint16_t)(in[40] << 8 | in[41]));
	}
	return false;
}

/*
 * The exception path: an IP datagram to one of the port's own addresses (not a VIP)
 * that the fast path does not handle, or for one of the edge's listeners on a VIP, goes to
 * the port's kernel interface, through the ring the main lcore drains (the worker never
 * makes the TUN device's system calls). Ethernet, VLAN tag and padding are cut off in
 * place: the kernel gets the datagram. v is pkt_decode()'s verdict.
 * @return true when m was consumed, false when it is not for the kernel (the caller
 * counts and frees it as before).
 */
static bool
dp_exception(struct dp_worker *w, const struct snap *s, unsigned port, struct rte_mbuf *m,
             const struct pkt_info *pi, enum pkt_verdict v)
{
	struct rte_ring *r = w->dp->ports[port].exc_ring;
	const uint8_t *ip;
	uint32_t len;

	if (r == NULL || pi->ip_version == 0)
		return false;
	/* pkt_decode() has checked that the frame holds the whole datagram. */
	ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	len = pi->ip_version == 4 ? (uint32_t)ip[2] << 8 | ip[3]
	                          : 40 + ((uint32_t)ip[4] << 8 | ip[5]);
	if (!snap_port_owns(&s->ports[port], pi->ip_version, pi->dst) &&
	    !dp_exception_edge(w->dp, m, pi, v, len))
		return false;
	rte_pktmbuf_adj(m, (uint16_t)pi->l3_off);
	if (m->data_len > len)
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - len));
	if (rte_ring_mp_enqueue(r, m) != 0) {
		w->st->exception_drop++;
		rte_pktmbuf_free(m);
	} else {
		w->st->exception_rx++;
	}
	return true;
}

/* ARP, or ICMPv6 that may be Neighbor Discovery: answer, learn, or drop. Other ICMPv6
 * to an own address (echo, errors) is the kernel's. */
static void
dp_neigh(struct dp_worker *w, const struct snap *s, unsigned port, struct rte_mbuf *m,
         enum pkt_verdict v, const struct pkt_info *pi)
{
	struct nd_learn l;
	size_t len;

	switch (nd_handle(rte_pktmbuf_mtod(m, uint8_t *), m->data_len,
	                  (size_t)m->data_len + rte_pktmbuf_tailroom(m), &s->ports[port].self, &l,
	                  &len)) {
	case ND_REPLY:
		if (l.family != 0)
			dp_learn(w, &l);
		/* A Neighbor Advertisement may be longer or shorter than its solicitation. */
		if (len > m->data_len)
			rte_pktmbuf_append(m, (uint16_t)(len - m->data_len));
		else
			rte_pktmbuf_trim(m, (uint16_t)(m->data_len - len));
		w->st->nd_reply++;
		dp_tx(w, port, m);
		return;
	case ND_LEARN:
		w->st->nd_learn_only++;
		dp_learn(w, &l);
		break;
	case ND_DROP:
		w->st->nd_drop++;
		break;
	case ND_NONE:
		if (v == PKT_NOT_UDP && dp_exception(w, s, port, m, pi, v))
			return;
		w->st->pkt_drop[v]++; /* neither ARP nor ND: what the decoder said */
		break;
	}
	rte_pktmbuf_free(m);
}

static inline void
dp_count_backend(struct stats_backend *b, const struct sip_msg *msg, uint32_t bytes)
{
	b->packets++;
	b->bytes += bytes;
	if (msg->kind == SIP_REQUEST)
		b->requests[msg->method < SIP_METHOD_COUNT ? msg->method : SIP_METHOD_OTHER]++;
	else
		b->responses[msg->status / 100 - 1]++; /* the scanner admits 100..699 only */
}

enum dp_aff_rc
dp_aff_add(struct dp_affinity *a, uint64_t h, uint16_t slot)
{
	uint64_t *bank = a->bank[__atomic_load_n(&a->cur, __ATOMIC_ACQUIRE)];
	uint64_t want = (h & DP_AFF_TAG) | (uint64_t)(slot + 1u);

	for (unsigned k = 0; k < DP_AFF_PROBE; k++) {
		uint64_t *e = &bank[(h + k) & a->mask], seen = 0;

		if (__atomic_compare_exchange_n(e, &seen, want, false, __ATOMIC_RELEASE,
		                                __ATOMIC_ACQUIRE))
			return DP_AFF_ADDED;
		/* Another worker recorded this Call-ID (a retransmission on another queue). */
		if ((seen & DP_AFF_TAG) == (h & DP_AFF_TAG))
			return DP_AFF_EXISTS;
	}
	return DP_AFF_FULL;
}

uint16_t
dp_window_slot(struct dp *dp, const struct snap *s, const struct snap_group *g, uint64_t h,
               uint16_t cur, bool fresh, bool dialog, enum dp_window_how *how)
{
	struct dp_affinity *a = dp->aff;
	uint16_t old = maglev_lookup(g->prev, h);
	unsigned rec = dp_aff_find(a, h);

	if (rec != 0) {
		uint16_t bi = s->slot_bi[rec - 1];

		/* Recorded, and still a backend of this group that takes messages. */
		if (bi >= g->base && bi < g->base + g->nb && s->backends[bi].state != MAGLEV_DOWN) {
			*how = DP_WINDOW_RECORDED;
			return (uint16_t)(bi - g->base);
		}
	}
	if (!fresh) {
		if (old != cur && old != MAGLEV_NONE) {
			*how = DP_WINDOW_OLD;
			return old;
		}
		*how = DP_WINDOW_CURRENT;
		return cur;
	}
	*how = DP_WINDOW_CURRENT;
	if (old == cur || old == MAGLEV_NONE || cur == MAGLEV_NONE || !dialog)
		return cur; /* its later messages find the same backend by the previous table */
	switch (dp_aff_add(a, h, s->backends[g->base + cur].slot)) {
	case DP_AFF_ADDED:
		*how = DP_WINDOW_INSERTED;
		return cur;
	case DP_AFF_EXISTS:
		return cur;
	case DP_AFF_FULL:
		break;
	}
	/* Not recorded: its later messages will follow the previous table. Send the dialog
	 * there too when that backend takes new dialogs; a draining one never does. */
	*how = DP_WINDOW_FULL;
	return s->backends[g->base + old].state == MAGLEV_UP ? old : cur;
}

/*
 * dp_window_slot() for a worker's message, counted. Only dialogs have later messages that
 * are not "fresh" (in-dialog requests, ACK, CANCEL): a REGISTER, OPTIONS, MESSAGE or
 * PUBLISH and its retransmissions all go by the current table, and take no room in the
 * affinity table. Kept out of line: steady state never calls it.
 */
static __attribute__((noinline)) uint16_t
dp_transition(struct dp_worker *w, const struct snap *s, const struct snap_group *g,
              const struct sip_msg *msg, uint64_t h, uint16_t cur)
{
	struct stats_worker *st = w->st;
	bool fresh = msg->kind == SIP_REQUEST && msg->to_tag.len == 0 &&
	             msg->method != SIP_METHOD_ACK && msg->method != SIP_METHOD_CANCEL;
	bool dialog = msg->method == SIP_METHOD_INVITE || msg->method == SIP_METHOD_SUBSCRIBE ||
	              msg->method == SIP_METHOD_REFER || msg->method == SIP_METHOD_OTHER;
	enum dp_window_how how;
	uint16_t slot = dp_window_slot(w->dp, s, g, h, cur, fresh, dialog, &how);

	st->affinity_hit += how == DP_WINDOW_RECORDED;
	st->dispatch_old += how == DP_WINDOW_OLD;
	st->affinity_insert += how == DP_WINDOW_INSERTED;
	st->affinity_full += how == DP_WINDOW_FULL;
	return slot;
}

/*
 * The receiving port's udp_checksum (docs/dataplane.md#udp-checksums) on a datagram to a
 * VIP, or to an own address for the exception path: verify drops one that does not verify; fill
 * writes the right checksum into one that does not, so what a sender left partial for its NIC (TX
 * offload on veth, virtio) reaches the backend complete. A NIC that checked the datagram says so in
 * ol_flags and saves the sum; "none" (data verified, field left partial) is summed like "unknown";
 * "bad" is corruption on a wire (partial checksums never cross one), dropped by both.
 * Both forwarding modes carry the UDP datagram as it is then (ipip as the inner one).
 * Out of line: keep, the default, never calls it. @return false to drop (counted).
 */
static __attribute__((noinline)) bool
dp_udp_csum(struct dp_worker *w, uint8_t mode, struct rte_mbuf *m, uint8_t *f,
            const struct pkt_info *pi)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return true;
	if (mode == CFG_CSUM_FILL && l4 != RTE_MBUF_F_RX_L4_CKSUM_BAD) {
		if (pkt_udp_csum_fill(f, pi))
			w->st->udp_checksum_filled++;
		return true;
	}
	if (l4 != RTE_MBUF_F_RX_L4_CKSUM_BAD && pkt_udp_csum_ok(f, pi))
		return true;
	w->st->udp_bad_checksum++;
	return false;
}

/*
 * A VIP's per-source rate limit (docs/protection.md) on a message from a default-tier
 * source: only initial requests (no To tag, not ACK or CANCEL: what starts a dialog or
 * transaction, what floods and brute force send) of a class with a rate are counted
 * against it. Out of line: a VIP without limits never calls it. @return NULL to let it
 * through, else the counter of its class, for the caller to count its frames in.
 */
static __attribute__((noinline)) uint64_t *
dp_limit(struct dp_worker *w, const struct snap *s, const struct snap_vip *v, int vip,
         const struct pkt_info *pi, const struct sip_msg *msg)
{
	struct stats_worker *st = w->st;
	uint8_t cls;

	if (msg->kind != SIP_REQUEST || msg->to_tag.len != 0 || msg->method == SIP_METHOD_ACK ||
	    msg->method == SIP_METHOD_CANCEL)
		return NULL;
	cls = v->limit_cls != SNAP_LIMIT_BY_METHOD ? v->limit_cls /* a limit rule's class */
	      : msg->method == SIP_METHOD_INVITE   ? CFG_LIMIT_INVITE
	      : msg->method == SIP_METHOD_REGISTER ? CFG_LIMIT_REGISTER
	      : msg->method == SIP_METHOD_OPTIONS  ? CFG_LIMIT_OPTIONS
	                                           : CFG_LIMIT_OTHER;
	if (v->limit[cls].interval == 0)
		return NULL;
	if (limit_admit(w->lim, &s->kh, (uint16_t)vip, pi->ip_version, pi->src, cls, &v->limit[cls],
	                rte_rdtsc()))
		return NULL;
	switch (cls) {
	case CFG_LIMIT_INVITE:
		return &st->limit_invite;
	case CFG_LIMIT_REGISTER:
		return &st->limit_register;
	case CFG_LIMIT_OPTIONS:
		return &st->limit_options;
	default:
		return &st->limit_other;
	}
}

/* Free the fragments of d, each counted in *ctr. */
static void
dp_frag_drop(struct frag_dgram *d, uint64_t *ctr)
{
	for (unsigned k = 0; k < d->n; k++)
		rte_pktmbuf_free(d->piece[k].m);
	*ctr += d->n;
}

/*
 * A reassembled datagram: scan its copy, then send every original fragment to the backend
 * its Call-ID picks (docs/protection.md#fragments). Each fragment is one frame to the
 * counters: forwarded, or dropped by the datagram's reason; the message counts once in its
 * backend's requests or responses. The receiving port is the first fragment's.
 */
static void
dp_frag_send(struct dp_worker *w, const struct snap *s, struct frag_dgram *d)
{
	struct dp *dp = w->dp;
	struct stats_worker *st = w->st;
	unsigned port = dp->port_index[d->piece[0].m->port];
	uint8_t mode = s->ports[port].udp_csum, mac[6];
	struct pkt_info pi = {.ip_version = d->ip_version};
	struct sip_msg msg;
	enum sip_verdict sv;
	uint32_t ulen;
	int vip;

	memcpy(pi.src, d->src, 16);
	memcpy(pi.dst, d->dst, 16);
	ulen = d->len >= 8 ? (uint32_t)d->data[4] << 8 | d->data[5] : 0;
	if (ulen < 8 || ulen > d->len) {
		dp_frag_drop(d, &st->pkt_drop[PKT_BAD_UDP_LENGTH]);
		return;
	}
	pi.src_port = (uint16_t)(d->data[0] << 8 | d->data[1]);
	pi.dst_port = (uint16_t)(d->data[2] << 8 | d->data[3]);
	pi.payload_off = 8;
	pi.payload_len = (uint16_t)(ulen - 8);
	if (pi.ip_version == 6 && d->data[6] == 0 && d->data[7] == 0) {
		dp_frag_drop(d, &st->pkt_drop[PKT_UDP_ZERO_CHECKSUM]);
		return;
	}
	vip = snap_vip_find(s, pi.ip_version, pi.dst, pi.dst_port);
	if (vip < 0) {
		dp_frag_drop(d, &st->not_vip);
		return;
	}
	/* The VIP's allowlist and limits as dp_pkt() applies them, each fragment a frame: a
	 * fragmented INVITE is no way around them. */
	const struct snap_vip *v = &s->vips[vip];
	uint8_t tier = CFG_TIER_DEFAULT;

	if (SPH_UNLIKELY(v->policy)) {
		tier = snap_acl_tier(v, pi.ip_version, pi.src);
		if (tier == CFG_TIER_BLOCKED) {
			dp_frag_drop(d, &st->acl_blocked);
			return;
		}
		st->acl_trusted += tier == CFG_TIER_TRUSTED ? d->n : 0;
	}
	/* No NIC verifies the checksum of a fragmented datagram: the copy is summed. */
	if (SPH_UNLIKELY(mode != CFG_CSUM_KEEP) && !pkt_udp_csum_ok(d->data, &pi)) {
		struct frag_piece *p0 = NULL;
		uint16_t c = pkt_udp_csum(d->data, &pi);

		if (mode != CFG_CSUM_FILL) {
			dp_frag_drop(d, &st->udp_bad_checksum);
			return;
		}
		for (unsigned k = 0; k < d->n; k++)
			if (d->piece[k].off == 0)
				p0 = &d->piece[k];
		uint8_t *ck = rte_pktmbuf_mtod_offset(p0->m, uint8_t *, p0->data_at + 6);

		ck[0] = (uint8_t)(c >> 8);
		ck[1] = (uint8_t)c;
		st->udp_checksum_filled++;
	}
	sv = SPH_UNLIKELY(s->rules != NULL) ? sip_parse_rf(d->data + 8, pi.payload_len, &msg)
	                                    : sip_parse(d->data + 8, pi.payload_len, &msg);
	if (sv != SIP_OK) {
		dp_frag_drop(d, &st->sip_drop[sv]);
		return;
	}
	if (SPH_UNLIKELY(msg.anomalies != 0))
		for (uint32_t a = msg.anomalies; a != 0; a &= a - 1)
			st->sip_anomaly[__builtin_ctz(a)]++;
	/* Rules meet a fragmented initial request as an unfragmented one; a Call-ID hash
	 * they made (a mirror rule's) is the dispatch's. */
	struct dp_ruled r = {.v = v};
	uint64_t *limited;

	if (SPH_UNLIKELY(s->rules != NULL) && msg.kind == SIP_REQUEST && msg.to_tag.len == 0) {
		limited = dp_rules(w, s, &r, tier, &pi, d->data + 8, &msg);
		v = r.v;
		if (limited != NULL) {
			dp_frag_drop(d, limited);
			return;
		}
	}
	if (SPH_UNLIKELY(v->limited) && tier == CFG_TIER_DEFAULT &&
	    (limited = dp_limit(w, s, v, vip, &pi, &msg)) != NULL) {
		dp_frag_drop(d, limited);
		return;
	}

	const struct snap_group *g = &s->groups[v->group];
	uint64_t h = r.hashed
	                     ? r.h
	                     : keyhash_calc(&s->kh, d->data + 8 + msg.call_id.off, msg.call_id.len);
	uint16_t slot = maglev_lookup(g->table, h);

	if (SPH_UNLIKELY(g->prev != NULL))
		slot = dp_transition(w, s, g, &msg, h, slot);
	if (slot == MAGLEV_NONE) {
		dp_frag_drop(d, &st->no_backend);
		return;
	}
	const struct snap_backend *be = &s->backends[g->base + slot];
	const struct dp_port *out = &dp->ports[be->egress];
	struct stats_backend *b = &st->backend[be->slot];

	if (!nd_table_mac(dp->nd, be->nd_idx, mac)) {
		dp_frag_drop(d, &st->no_neighbor);
		return;
	}
	/* The message counts once in its backend's requests or responses, each fragment
	 * in its packets and bytes. */
	bool counted = false;

	for (unsigned k = 0; k < d->n; k++) {
		struct rte_mbuf *m = d->piece[k].m;
		uint32_t bytes = m->pkt_len;

		if (v->mode == CFG_VIP_IPIP) {
			struct pkt_info fpi = {.ip_version = d->ip_version,
			                       .l3_off = d->piece[k].l3_off};
			int rc = fwd_ipip(w, m, &fpi, be, mac, out, (uint32_t)h);

			if (rc != FWD_OK) {
				if (rc == FWD_NO_ROOM)
					st->encap_no_room++;
				else
					st->encap_too_big++;
				rte_pktmbuf_free(m);
				continue;
			}
		} else {
			fwd_l2dsr(m, mac, out);
		}
		if (!counted) {
			dp_count_backend(b, &msg, bytes);
			counted = true;
		} else {
			b->packets++;
			b->bytes += bytes;
		}
		st->forwarded++;
		dp_tx(w, be->egress, m);
	}
}

/* A fragment for a VIP: into this worker's table, or to the worker that owns its datagram
 * (RSS spreads a datagram's fragments: only the first has UDP ports to hash). */
static __attribute__((noinline)) void
dp_frag(struct dp_worker *w, const struct snap *s, struct rte_mbuf *m, const struct pkt_info *pi)
{
	unsigned owner = frag_owner(frag_hash(pi), w->dp->nb_workers);
	struct frag_dgram *d;

	if (owner != w->id) {
		if (rte_ring_mp_enqueue(w->dp->workers[owner]->frag_ring, m) == 0) {
			w->st->frag_handoff++;
		} else {
			w->st->frag_ring_full++;
			rte_pktmbuf_free(m);
		}
		return;
	}
	d = frag_add(w->frag, m, pi, rte_rdtsc(), w->st);
	if (d != NULL) {
		dp_frag_send(w, s, d);
		frag_done(w->frag, d);
	}
}

void
dp_worker_frag_poll(struct dp_worker *w)
{
	const struct snap *s;
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n;

	if (w->frag == NULL)
		return;
	frag_expire(w->frag, rte_rdtsc(), w->st);
	n = rte_ring_sc_dequeue_burst(w->frag_ring, (void **)pkts, DP_BURST, NULL);
	if (n == 0)
		return;
	s = __atomic_load_n(&w->dp->snap, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		struct pkt_info pi;
		struct frag_dgram *d;

		/* The sender decoded it to a UDP fragment, and nobody wrote to it since: this
		 * decode finds the same (checked all the same, the table trusts pi). */
		enum pkt_verdict pv =
		        pkt_decode(rte_pktmbuf_mtod(pkts[i], uint8_t *), pkts[i]->data_len, &pi);

		if (SPH_UNLIKELY(pv != PKT_FRAGMENT || pi.l4_proto != UDP)) {
			w->st->pkt_drop[pv]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		d = frag_add(w->frag, pkts[i], &pi, rte_rdtsc(), w->st);
		if (d != NULL) {
			dp_frag_send(w, s, d);
			frag_done(w->frag, d);
		}
	}
}

/* Always inline, called with constants: dp_worker_burst()'s common copy has hc NULL and
 * rules false, so it holds neither the mirror's test nor any rules code (constant folding,
 * STYLE.md). */
static __rte_always_inline void
dp_pkt(struct dp_worker *w, const struct snap *s, const struct dp_hep *hc, struct rte_mbuf *m,
       const bool rules)
{
	struct dp *dp = w->dp;
	struct stats_worker *st = w->st;
	unsigned port = dp->port_index[m->port];
	const struct dp_port *in;
	struct pkt_info pi;
	struct sip_msg msg;
	enum pkt_verdict pv;
	enum sip_verdict sv;
	uint8_t *f, mac[6], tier = CFG_TIER_DEFAULT;
	uint64_t *limited, h = 0;
	bool hashed = false; /* h is the Call-ID's hash: the rules made it (a constant false
	                      * in the copy without rules) */
	int vip;

	st->rx_packets++;
	st->rx_bytes += m->pkt_len;
	if (SPH_UNLIKELY(m->nb_segs != 1)) {
		st->multi_segment++;
		goto drop;
	}
	in = &dp->ports[port];
	f = rte_pktmbuf_mtod(m, uint8_t *);
	/* Group-addressed frames (ARP, NS) are for everyone; unicast only for our MAC. */
	if (m->data_len >= 6 && !(f[0] & 1) && !in->accept_any && memcmp(f, in->mac, 6) != 0) {
		st->other_mac++;
		goto drop;
	}

	pv = pkt_decode(f, m->data_len, &pi);
	if (pv != PKT_OK) {
		if (pv == PKT_NOT_IP || (pv == PKT_NOT_UDP && pi.l4_proto == ICMPV6)) {
			dp_neigh(w, s, port, m, pv, &pi);
			return;
		}
		/* ICMP, TCP, fragments to an own address: the kernel's (exception path). */
		if ((pv == PKT_NOT_UDP || pv == PKT_FRAGMENT) &&
		    dp_exception(w, s, port, m, &pi, pv))
			return;
		if (pv == PKT_FRAGMENT && pi.l4_proto == UDP && w->frag != NULL) {
			dp_frag(w, s, m, &pi);
			return;
		}
		st->pkt_drop[pv]++;
		goto drop;
	}

	vip = snap_vip_find(s, pi.ip_version, pi.dst, pi.dst_port);
	if (vip < 0) {
		/* UDP to an own address (probe replies) goes to a kernel that checks the sum:
		 * the port's udp_checksum covers it as it covers what goes to a backend. */
		if (SPH_UNLIKELY(s->ports[port].udp_csum != CFG_CSUM_KEEP) &&
		    in->exc_ring != NULL &&
		    snap_port_owns(&s->ports[port], pi.ip_version, pi.dst) &&
		    !dp_udp_csum(w, s->ports[port].udp_csum, m, f, &pi))
			goto drop;
		if (dp_exception(w, s, port, m, &pi,
		                 PKT_OK)) /* UDP to an own address: probe replies */
			return;
		st->not_vip++;
		goto drop;
	}
	const struct snap_vip *v = &s->vips[vip];

	/* The allowlist, on every packet of the VIP: blocked means blocked, not "blocked
	 * unless it carries a To tag" (docs/protection.md). A VIP without one pays a test. */
	if (SPH_UNLIKELY(v->policy)) {
		tier = snap_acl_tier(v, pi.ip_version, pi.src);
		if (tier == CFG_TIER_BLOCKED) {
			st->acl_blocked++;
			goto drop;
		}
		st->acl_trusted += tier == CFG_TIER_TRUSTED;
	}
	if (SPH_UNLIKELY(s->ports[port].udp_csum != CFG_CSUM_KEEP) &&
	    !dp_udp_csum(w, s->ports[port].udp_csum, m, f, &pi))
		goto drop;
	/* SIP_OK implies a Call-ID: a message without one is SIP_NO_CALL_ID, never dispatched.
	 * While operator rules exist: the scanner's build that keeps the fields they read,
	 * then the rules on initial requests (no To tag: what an attacker sends). */
	if (rules) {
		struct dp_ruled r = dp_scan_rules(w, s, v, tier, &pi, f + pi.payload_off, &msg);

		if (r.drop != NULL) {
			(*r.drop)++;
			goto drop;
		}
		v = r.v; /* a route or limit rule's copy of the VIP */
		h = r.h;
		hashed = r.hashed;
		sv = SIP_OK;
	} else {
		sv = sip_parse(f + pi.payload_off, pi.payload_len, &msg);
	}
	if (sv != SIP_OK) {
		st->sip_drop[sv]++;
		goto drop;
	}
	/* Defects in fields no dispatch decision reads: counted, and the message goes on
	 * to the backend, which reads them (include/siphon/sip.h, SIP_VERDICTS). */
	if (SPH_UNLIKELY(msg.anomalies != 0))
		for (uint32_t a = msg.anomalies; a != 0; a &= a - 1)
			st->sip_anomaly[__builtin_ctz(a)]++;
	if (SPH_UNLIKELY(v->limited) && tier == CFG_TIER_DEFAULT &&
	    (limited = dp_limit(w, s, v, vip, &pi, &msg)) != NULL) {
		(*limited)++;
		goto drop;
	}

	const struct snap_group *g = &s->groups[v->group];

	if (!hashed)
		h = keyhash_calc(&s->kh, f + pi.payload_off + msg.call_id.off, msg.call_id.len);
	uint16_t slot = maglev_lookup(g->table, h);

	if (SPH_UNLIKELY(g->prev != NULL))
		slot = dp_transition(w, s, g, &msg, h, slot);
	if (slot == MAGLEV_NONE) {
		st->no_backend++;
		goto drop;
	}
	uint32_t bi = g->base + slot;
	const struct snap_backend *be = &s->backends[bi];
	const struct dp_port *out = &dp->ports[be->egress];

	if (!nd_table_mac(dp->nd, be->nd_idx, mac)) {
		st->no_neighbor++;
		goto drop;
	}
	/* The HEP mirror (hep.h), read once per burst; hc is a constant NULL in the copy that
	 * runs while it is off. Before the rewrite, while pi still describes m, and before m
	 * is queued (then it may be freed). */
	if (SPH_UNLIKELY(hc != NULL) && dp_hep_want(hc, w->hep, h))
		dp_hep_mirror(w, m, &pi, &msg);
	uint32_t bytes = m->pkt_len;

	if (v->mode == CFG_VIP_IPIP) {
		int rc = fwd_ipip(w, m, &pi, be, mac, out, (uint32_t)h);

		if (rc != FWD_OK) {
			if (rc == FWD_NO_ROOM)
				st->encap_no_room++;
			else
				st->encap_too_big++;
			goto drop;
		}
	} else {
		fwd_l2dsr(m, mac, out);
	}
	dp_count_backend(&st->backend[be->slot], &msg, bytes);
	st->forwarded++;
	dp_tx(w, be->egress, m);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* The scanner reads the whole header section, line after line: ask for all of it, not
 * just the first cache line, or every packet pays a chain of misses. Measured in commit
 * 057ea67 with bench_dp (mixed-calls.pcap, one worker, alternating runs). */
static inline void
dp_prefetch_frame(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len < DP_PREFETCH_BYTES ? m->data_len : DP_PREFETCH_BYTES;

	for (uint32_t off = 0; off < len; off += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p + off);
}

static __rte_always_inline void
dp_burst(struct dp_worker *w, const struct snap *s, const struct dp_hep *hc, struct rte_mbuf **pkts,
         uint16_t n, const bool rules)
{
	uint16_t i;

	/* Prime the pipeline, then keep DP_PREFETCH frames on their way to L1
	 * while one is processed (l3fwd_em.h's shape). */
	for (i = 0; i < n && i < DP_PREFETCH; i++)
		dp_prefetch_frame(pkts[i]);
	for (i = 0; i < n; i++) {
		if (i + DP_PREFETCH < n)
			dp_prefetch_frame(pkts[i + DP_PREFETCH]);
		dp_pkt(w, s, hc, pkts[i], rules);
	}
}

/* The burst while the HEP mirror is on or operator rules exist: copies of the same loop with
 * the mirror's test (hc may be NULL here) and with or without the rules. */
static __attribute__((noinline)) void
dp_burst_policy(struct dp_worker *w, const struct snap *s, const struct dp_hep *hc,
                struct rte_mbuf **pkts, uint16_t n)
{
	if (hc != NULL)
		dp_hep_burst(w, hc); /* the mirror's own TX budget, per burst */
	if (s->rules != NULL)
		dp_burst(w, s, hc, pkts, n, true);
	else
		dp_burst(w, s, hc, pkts, n, false);
}

void
dp_worker_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	const struct snap *s = __atomic_load_n(&w->dp->snap, __ATOMIC_ACQUIRE);
	const struct dp_hep *hc = __atomic_load_n(&w->dp->hep, __ATOMIC_ACQUIRE);

	/* Decided once a burst, so that without mirror and rules the per-frame path is as it
	 * was. */
	if (SPH_UNLIKELY(hc != NULL || s->rules != NULL)) {
		dp_burst_policy(w, s, hc, pkts, n);
		return;
	}
	dp_burst(w, s, NULL, pkts, n, false);
}

void
dp_worker_flush(struct dp_worker *w)
{
	for (unsigned p = 0; p < w->dp->nb_ports; p++)
		rte_eth_tx_buffer_flush(w->dp->ports[p].port_id, (uint16_t)w->id, w->tx[p]);
	if (SPH_UNLIKELY(w->hep->queued))
		dp_hep_flush(w);
}

/* Worker 0 sends what the main lcore built for ports without a TX queue of its own. */
static void
dp_worker_ctl(struct dp_worker *w)
{
	struct rte_mbuf *pkts[DP_BURST];

	for (unsigned p = 0; p < w->dp->nb_ports; p++) {
		struct rte_ring *r = w->dp->ports[p].ctl_ring;
		unsigned n =
		        r != NULL ? rte_ring_sc_dequeue_burst(r, (void **)pkts, DP_BURST, NULL) : 0;

		for (unsigned i = 0; i < n; i++)
			dp_tx(w, p, pkts[i]);
	}
}

int
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t last_drain = rte_rdtsc();

	rte_rcu_qsbr_thread_register(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->id);
	while (!__atomic_load_n(&dp->quit, __ATOMIC_RELAXED)) {
		uint64_t now = rte_rdtsc();

		if (now - last_drain > dp->drain_tsc) {
			if (w->id == 0)
				dp_worker_ctl(w);
			dp_worker_flush(w);
			dp_hep_poll(w, now); /* marked calls age out */
			last_drain = now;
		}
		for (unsigned p = 0; p < dp->nb_ports; p++) {
			uint16_t n = rte_eth_rx_burst(dp->ports[p].port_id, (uint16_t)w->id, pkts,
			                              DP_BURST);

			if (n > 0)
				dp_worker_burst(w, pkts, n);
		}
		dp_worker_frag_poll(w);
		/* Nothing of the snapshot is held across iterations, not even a frame in a TX
		 * buffer: what was dispatched with a snapshot is sent before the worker reports
		 * being done with it, so a removal has taken effect on the wire when the
		 * control command returns. Flushing an empty buffer costs a compare. */
		dp_worker_flush(w);
		/* Between iterations no packet is half counted and no frame in a TX buffer
		 * may still be refused: a reader that asked gets its copy here (stats.h). */
		stats_publish(w->st);
		rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
	}
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->id);
	dp_worker_flush(w);
	return 0;
}

struct dp_worker *
dp_worker_create(struct dp *dp, unsigned id, unsigned lcore)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct dp_worker *w =
	        rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);

	if (w == NULL)
		return NULL;
	w->dp = dp;
	w->id = id;
	w->lcore = lcore;
	w->st = rte_zmalloc_socket("dp_stats", sizeof(*w->st), RTE_CACHE_LINE_SIZE, socket);
	w->lim = rte_zmalloc_socket("dp_limit", sizeof(*w->lim), RTE_CACHE_LINE_SIZE, socket);
	w->hep = dp_hep_worker_create(dp->nb_ports, socket);
	if (w->st == NULL || w->lim == NULL || w->hep == NULL)
		goto fail;
	for (unsigned p = 0; p < dp->nb_ports; p++) {
		w->tx[p] =
		        rte_zmalloc_socket("dp_txbuf", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0, socket);
		if (w->tx[p] == NULL)
			goto fail;
		rte_eth_tx_buffer_init(w->tx[p], DP_BURST);
		rte_eth_tx_buffer_set_err_callback(w->tx[p], dp_tx_refused, w->st);
	}
	if (dp->frag_lim.entries != 0) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "sph_frag%u", id);
		w->frag = frag_create(&dp->frag_lim, socket);
		w->frag_ring = rte_ring_create(name, DP_FRAG_RING, socket, RING_F_SC_DEQ);
		if (w->frag == NULL || w->frag_ring == NULL)
			goto fail;
	}
	return w;
fail:
	dp_worker_free(w);
	return NULL;
}

void
dp_worker_free(struct dp_worker *w)
{
	if (w == NULL)
		return;
	if (w->frag_ring != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(w->frag_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->frag_ring);
	}
	frag_free(w->frag);
	for (unsigned p = 0; p < DP_MAX_PORTS; p++)
		rte_free(w->tx[p]);
	dp_hep_worker_free(w->hep);
	rte_free(w->st);
	rte_free(w->lim);
	rte_free(w);
}
