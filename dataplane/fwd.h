/*
 * fwd.h - the two ways a SIP datagram leaves for its backend: L2 direct server return
 * (new Ethernet addresses, nothing else) and IP-in-IP (an outer IPv4/IPv6 header
 * pushed between the L2 header and the client's IP header). Worker lcores, hot path.
 * Neither ever writes a byte from the client's IP header up.
 */
#ifndef SIPHON_DP_FWD_H
#define SIPHON_DP_FWD_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "siphon/pkt.h"
#include "siphon/snap.h"
#include "worker.h"

/** Why fwd_ipip() refused a frame. */
enum fwd_err {
	FWD_OK = 0,
	FWD_NO_ROOM = -1, /**< not enough headroom to prepend the outer header */
	FWD_TOO_BIG = -2, /**< the outer datagram would exceed the egress MTU */
};

/**
 * L2 DSR: Ethernet destination = dst, source = the egress port's MAC; any VLAN tag stays.
 */
static inline void
fwd_l2dsr(struct rte_mbuf *m, const uint8_t dst[6], const struct dp_port *out)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);

	memcpy(eth, dst, 6);
	memcpy(eth + 6, out->mac, 6);
}

/**
 * IP-in-IP: push an outer header (IPv4 when be is IPv4, IPv6 otherwise; protocol 4
 * for an IPv4 client datagram, 41 for IPv6) after the L2 header, from be->outer_src
 * to be->addr, and set the Ethernet addresses to (dst, out->mac). Ethernet padding
 * after the client datagram is trimmed so it does not end up inside the tunnel.
 *
 * @param pi    pkt_decode() of the frame as received.
 * @param flow  Entropy for the IPv6 flow label (the Call-ID hash).
 * @return FWD_OK, or a reason with m untouched.
 */
int fwd_ipip(struct dp_worker *w, struct rte_mbuf *m, const struct pkt_info *pi,
             const struct snap_backend *be, const uint8_t dst[6], const struct dp_port *out,
             uint32_t flow);

#endif /* SIPHON_DP_FWD_H */
