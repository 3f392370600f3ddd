/*
 * fwd.c - IP-in-IP encapsulation towards a backend (the L2 DSR rewrite is inline in
 * fwd.h). Worker lcores, hot path: no allocation, bounded work. The client's datagram
 * is moved by nothing but its L2 header: the outer header is prepended in headroom
 * and the Ethernet header slides forward, so the SIP bytes are never copied.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "fwd.h"

#define FWD_TTL 64 /* outer TTL / hop limit, as a host would send */

int
fwd_ipip(struct dp_worker *w, struct rte_mbuf *m, const struct pkt_info *pi,
         const struct snap_backend *be, const uint8_t dst[6], const struct dp_port *out,
         uint32_t flow)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	uint32_t l2 = pi->l3_off, inner_len, hlen = be->family == 4 ? 20 : 40;
	uint8_t tclass, proto;
	uint8_t *f;

	/* Traffic class (DSCP and ECN, RFC 6040 normal mode) and length of the inner datagram;
	 * pkt_decode() has checked both headers and that the frame holds inner_len bytes. */
	if (pi->ip_version == 4) {
		inner_len = (uint32_t)ip[2] << 8 | ip[3];
		tclass = ip[1];
		proto = IPPROTO_IPIP;
	} else {
		inner_len = 40 + ((uint32_t)ip[4] << 8 | ip[5]);
		tclass = (uint8_t)(ip[0] << 4 | ip[1] >> 4);
		proto = IPPROTO_IPV6;
	}
	if (inner_len + hlen > out->mtu)
		return FWD_TOO_BIG;
	if (rte_pktmbuf_headroom(m) < hlen)
		return FWD_NO_ROOM;
	/* Ethernet padding of a short frame would otherwise end up inside the tunnel. */
	if (m->data_len > l2 + inner_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - (l2 + inner_len)));
	f = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)hlen);
	memmove(f, f + hlen, l2); /* Ethernet (+ VLAN tag) slides forward; the tag stays */
	memcpy(f, dst, 6);
	memcpy(f + 6, out->mac, 6);

	if (be->family == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(f + l2);
		/* Keep the sender's wish: don't-fragment from an IPv4 client, always for IPv6
		 * (routers never fragment IPv6, so neither should its tunnel). */
		uint16_t df = pi->ip_version == 4 ? (uint16_t)((ip[6] & 0x40) << 8) : 0x4000;

		f[l2 - 2] = 0x08, f[l2 - 1] = 0x00;
		h->version_ihl = 0x45;
		h->type_of_service = tclass;
		h->total_length = rte_cpu_to_be_16((uint16_t)(inner_len + 20));
		h->packet_id = rte_cpu_to_be_16(w->ip_id++);
		h->fragment_offset = rte_cpu_to_be_16(df);
		h->time_to_live = FWD_TTL;
		h->next_proto_id = proto;
		h->hdr_checksum = 0;
		memcpy(&h->src_addr, be->outer_src + 12, 4);
		memcpy(&h->dst_addr, be->addr + 12, 4);
		if (out->ipv4_cksum_offload) {
			m->l2_len = l2;
			m->l3_len = 20;
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		} else {
			h->hdr_checksum = rte_ipv4_cksum(h);
		}
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)(f + l2);

		f[l2 - 2] = 0x86, f[l2 - 1] = 0xdd;
		/* The flow label carries the Call-ID hash: ECMP on the way keeps a call on one
		 * path and spreads calls over all of them (RFC 6438). */
		h->vtc_flow =
		        rte_cpu_to_be_32(6u << 28 | (uint32_t)tclass << 20 | (flow & 0xfffff));
		h->payload_len = rte_cpu_to_be_16((uint16_t)inner_len);
		h->proto = proto;
		h->hop_limits = FWD_TTL;
		memcpy(h->src_addr, be->outer_src, 16);
		memcpy(h->dst_addr, be->addr, 16);
	}
	return FWD_OK;
}
