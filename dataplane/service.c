/*
 * service.c - the dataplane's duties on the main lcore (dp.h): what workers hand over
 * and what must not run on a worker. Learnt neighbours are applied and the neighbour
 * table aged (ARP requests, Neighbor Solicitations); datagrams workers queued for a
 * port's kernel interface are written to it, and what the kernel sends there goes out
 * the port towards its next hop; addresses are announced. Each call does a bounded
 * amount of work, so the control plane's loop that calls it stays responsive.
 */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "siphon/log.h"
#include "siphon/dp.h"
#include "siphon/neigh.h"
#include "siphon/snap.h"
#include "siphon/stats.h"
#include "port.h"
#include "worker.h"

#define SVC_LEARN_BURST 64u
#define SVC_EXC_ROUNDS  8u /* bursts per port, each way, per call */

void
dp_announce(struct dp *dp)
{
	const struct snap *s = dp->snap;
	uint8_t buf[ND_FRAME_MAX];

	for (unsigned p = 0; p < dp->nb_ports; p++) {
		const struct nd_self *self = &s->ports[p].self;
		unsigned sent = 0;

		for (unsigned i = 0; i < self->nb_addrs; i++) {
			size_t len =
			        self->family[i] == 4
			                ? nd_build_garp(buf, self->mac, self->addr[i])
			                : nd_build_unsolicited_na(buf, self->mac, self->addr[i]);

			sent += port_send_ctl(dp, &dp->ports[p], buf, len) == 0;
		}
		sph_log(SPH_LOG_INFO, "port \"%s\": announced %u of %u addresses",
		        dp->ports[p].name, sent, self->nb_addrs);
	}
}

/* Apply what workers learnt, then age the table and solicit what needs it. */
static void
svc_neigh(struct dp *dp, uint64_t now, bool tick)
{
	union dp_learn_rec recs[SVC_LEARN_BURST];
	unsigned n, due[64];
	uint8_t buf[ND_FRAME_MAX];

	while ((n = rte_ring_dequeue_burst_elem(dp->learn, recs, sizeof(recs[0]), SVC_LEARN_BURST,
	                                        NULL)) > 0)
		for (unsigned i = 0; i < n; i++)
			nd_table_learn(dp->nd, &recs[i].l, now);
	if (!tick)
		return;
	n = nd_table_tick(dp->nd, now, due, RTE_DIM(due));
	for (unsigned i = 0; i < n; i++) {
		const struct nd_entry *e = &dp->nd->e[due[i]];
		struct dp_port *p = &dp->ports[dp->nd_port[due[i]]];
		const struct snap_port *sp = &dp->snap->ports[dp->nd_port[due[i]]];
		size_t len;

		if (e->family == 4)
			len = nd_build_arp_request(buf, p->mac, sp->addr4, e->addr);
		else
			len = nd_build_ns(buf, p->mac, sp->addr6, e->addr);
		port_send_ctl(dp, p, buf, len);
	}
}

/* Whether family addr lies within one of sp's own prefixes (on-link). */
static bool
svc_onlink(const struct snap_port *sp, uint8_t family, const uint8_t a[16])
{
	for (unsigned i = 0; i < sp->nb_own; i++) {
		unsigned bits = (family == 4 ? 96u : 0u) + sp->own_len[i], k;

		if (sp->own_family[i] != family)
			continue;
		for (k = 0; k < bits / 8 && sp->own[i][k] == a[k]; k++)
			;
		if (k == bits / 8 && (bits % 8 == 0 || ((sp->own[i][k] ^ a[k]) &
		                                        (uint8_t)(0xff00u >> (bits % 8))) == 0))
			return true;
	}
	return false;
}

/*
 * One IP datagram the kernel sent through port p's exception interface: prepend the
 * Ethernet header towards its next hop (the destination when on-link in one of the
 * port's prefixes, else the port's gateway of its family) and send it out the port.
 * A next hop not yet in the neighbour table is added (resolved at the next tick) and
 * this datagram dropped, as the kernel's own ARP would have queued or dropped it. Only
 * datagrams from the port's own addresses, or the edge's on a VIP, leave: siphon speaks
 * for nothing else.
 */
static void
svc_exc_out(struct dp *dp, unsigned p, struct rte_mbuf *m, uint64_t now)
{
	struct stats_worker *st = dp->workers[0]->st; /* main lcore's fields, see stats.h */
	const struct snap_port *sp = &dp->snap->ports[p];
	struct dp_port *port = &dp->ports[p];
	uint8_t src[16] = {0}, dst[16] = {0}, mac[6], family;
	const uint8_t *ip, *hop = dst;
	uint8_t *eth;
	int nd;

	ip = rte_pktmbuf_mtod(m, const uint8_t *);
	family = m->data_len >= 1 ? ip[0] >> 4 : 0;
	if (m->nb_segs != 1 || m->pkt_len > port->mtu || (family != 4 && family != 6) ||
	    m->data_len < (family == 4 ? 20 : 40))
		goto bad;
	if (family == 4) {
		src[10] = src[11] = dst[10] = dst[11] = 0xff;
		memcpy(src + 12, ip + 12, 4);
		memcpy(dst + 12, ip + 16, 4);
		if ((dst[12] & 0xf0) == 0xe0 || memcmp(dst + 12, "\xff\xff\xff\xff", 4) == 0)
			goto bad; /* multicast, limited broadcast */
	} else {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
		if (dst[0] == 0xff || (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80))
			goto bad; /* multicast (MLD, RS), link-local: the kernel's chatter on sph */
	}
	if (!snap_port_owns(sp, family, src) && !dp_edge_sock_is(dp, family, src, 0))
		goto bad;
	if (!svc_onlink(sp, family, dst)) {
		if (family == 4 ? !sp->has_gw4 : !sp->has_gw6)
			goto bad;
		hop = family == 4 ? sp->gw4 : sp->gw6;
	}
	nd = nd_table_find(dp->nd, family, hop);
	if (nd < 0) {
		/* Keep a quarter of the table for the configuration's next hops: whoever makes
		 * the kernel answer many hosts must not starve a reload of entries. */
		if (dp->nd->nb < ND_TABLE_MAX / 4 * 3) {
			nd = nd_table_add(dp->nd, family, hop, NULL, now);
			if (nd >= 0)
				dp->nd_port[nd] = (uint8_t)p;
		}
		st->exception_no_neighbor++;
		goto drop;
	}
	if (!nd_table_mac(dp->nd, (unsigned)nd, mac)) {
		st->exception_no_neighbor++;
		goto drop;
	}
	eth = (uint8_t *)rte_pktmbuf_prepend(m, 14);
	if (eth == NULL)
		goto bad;
	memcpy(eth, mac, 6);
	memcpy(eth + 6, port->mac, 6);
	eth[12] = family == 4 ? 0x08 : 0x86;
	eth[13] = family == 4 ? 0x00 : 0xdd;
	m->ol_flags = 0; /* the TUN device's RX flags mean nothing to the NIC */
	if (port_send_mbuf(dp, port, m) != 0) {
		st->exception_tx_drop++;
		goto drop;
	}
	st->exception_tx++;
	return;
bad:
	st->exception_bad++;
drop:
	rte_pktmbuf_free(m);
}

/* Move the exception paths' traffic, a bounded amount each way per call: datagrams the
 * workers queued go to the kernel, what the kernel sent goes out the ports. */
static void
svc_exception(struct dp *dp, uint64_t now)
{
	struct stats_worker *st = dp->workers[0]->st;
	struct rte_mbuf *pkts[DP_EXC_BURST];

	for (unsigned p = 0; p < dp->nb_ports; p++) {
		struct dp_port *port = &dp->ports[p];

		if (port->exc_ring == NULL)
			continue;
		for (unsigned r = 0; r < SVC_EXC_ROUNDS; r++) {
			unsigned n = rte_ring_sc_dequeue_burst(port->exc_ring, (void **)pkts,
			                                       DP_EXC_BURST, NULL);
			uint16_t sent =
			        n ? rte_eth_tx_burst(port->exc_port_id, 0, pkts, (uint16_t)n) : 0;

			for (unsigned i = sent; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			st->exception_kernel_drop += n - sent;
			if (n < DP_EXC_BURST)
				break;
		}
		for (unsigned r = 0; r < SVC_EXC_ROUNDS; r++) {
			uint16_t n = rte_eth_rx_burst(port->exc_port_id, 0, pkts, DP_EXC_BURST);

			for (uint16_t i = 0; i < n; i++)
				svc_exc_out(dp, p, pkts[i], now);
			if (n < DP_EXC_BURST)
				break;
		}
	}
}

void
dp_service(struct dp *dp, uint64_t now_ns, bool nd_tick)
{
	svc_neigh(dp, now_ns, nd_tick);
	svc_exception(dp, now_ns);
}
