/*
 * port.h - NIC set-up for the dataplane: queues, RSS, offloads, start and stop.
 * Main lcore, init and exit only. Each port gets one RX/TX queue pair per worker
 * (queue i belongs to worker i) and, when the device has one more TX queue, queue
 * nb_workers for the frames the main lcore originates (ARP/ND solicitations and
 * announcements). A device without one (af_packet with qpairs = workers, pcap with
 * one tx_pcap) gets a ring instead, which worker 0 drains into its own queue: either
 * way no TX queue is ever shared between lcores.
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

/** Stop and close a started port. */
void port_stop(struct dp_port *p);

#endif /* SIPHON_DP_PORT_H */
