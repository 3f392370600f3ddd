/*
 * port.h - NIC set-up for the dataplane: queues, RSS, offloads, start and stop.
 * Main lcore, init and exit only. Each port gets one RX/TX queue pair per worker
 * (queue i belongs to worker i) and, when the device has one more TX queue, queue
 * nb_workers for the frames the main lcore originates (ARP/ND solicitations and
 * announcements). A device without one (af_packet with qpairs = workers, pcap with
 * one tx_pcap) gets a ring instead, which worker 0 drains into its own queue: either
 * way no TX queue is ever shared between lcores.
 *
 * A port may also have an exception path to the kernel (port_exception_init(),
 * docs/dataplane.md "Exception path"): a net_tun device only the main lcore touches.
 */
#ifndef SIPHON_DP_PORT_H
#define SIPHON_DP_PORT_H

#include <stdbool.h>
#include <stddef.h>

#include "worker.h"

/**
 * Configure and start p->port_id with nb_workers queue pairs (+ the main lcore's TX
 * queue when available) taking mbufs from dp->pool; fill p's MAC, MTU and offloads.
 * promisc enables promiscuous mode and sets p->accept_any (pcap replay, tests).
 *
 * @return 0, or -1 with one line in err (too few queues, a failed DPDK call).
 */
int port_init(struct dp *dp, struct dp_port *p, bool promisc, char *err, size_t errlen);

/**
 * Send one frame the main lcore built: on its own TX queue, or through worker 0.
 * Main lcore. @return 0, or -1 (not sent: no mbuf, queue or ring full).
 */
int port_send_ctl(struct dp *dp, struct dp_port *p, const void *frame, size_t len);

/**
 * Send one frame in an mbuf the main lcore holds, as port_send_ctl() does. Main lcore.
 * @return 0 (m is the NIC's or worker 0's now), or -1 (not sent; m is still the caller's).
 */
int port_send_mbuf(struct dp *dp, struct dp_port *p, struct rte_mbuf *m);

/**
 * Give port p (index idx) its exception path: a DPDK net_tun vdev whose kernel
 * interface is cp->exception (an L3 TUN device: the kernel does no ARP/ND on it, so
 * siphon stays the only ARP/ND speaker on the wire), started with one RX and one TX
 * queue for the main lcore, p's MTU, and the ring workers fill (p->exc_ring). Then the
 * kernel interface is brought up with cp's addresses and prefixes (netlink), which also
 * gives the kernel a route to each prefix through it. Main lcore, after port_init().
 *
 * @return 0 when the path works; -1 with one line in err when there is none (p->exc_ring
 *         NULL). A path that works but whose kernel side is incomplete (an address the
 *         kernel refused) returns 0 and prints a warning: forwarding never depends on it.
 */
int port_exception_init(struct dp *dp, struct dp_port *p, unsigned idx, const struct cfg_port *cp,
                        char *err, size_t errlen);

/** Stop and close a started port, and its exception path when it has one. */
void port_stop(struct dp_port *p);

#endif /* SIPHON_DP_PORT_H */
