/*
 * port.c - bring a DPDK port up the way the workers use it (port.h).
 * Main lcore, init and exit only; logs freely. RSS spreads flows over the workers'
 * RX queues by IP addresses and UDP ports when the device can hash them: every packet
 * of a call still reaches the same backend whichever worker sees it (Maglev is shared),
 * so RSS only balances load and need not be symmetric.
 */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "port.h"

#define PORT_RX_DESC  1024
#define PORT_TX_DESC  1024
#define PORT_CTL_RING 1024 /* > ND_SELF_MAX announcements, with room for solicitations */

int
port_init(struct dp *dp, struct dp_port *p, bool promisc, char *err, size_t errlen)
{
	uint16_t pid = p->port_id, nrx = (uint16_t)dp->nb_workers, ntx;
	uint16_t rxd = PORT_RX_DESC, txd = PORT_TX_DESC;
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	int rc, socket = rte_eth_dev_socket_id(pid);

	if (socket < 0)
		socket = (int)rte_socket_id();
	rc = rte_eth_dev_info_get(pid, &info);
	if (rc != 0)
		goto dpdk_fail;
	if (info.max_rx_queues < nrx || info.max_tx_queues < nrx) {
		snprintf(err, errlen,
		         "port \"%s\": %u workers need %u RX and TX queues, the device has %u and "
		         "%u",
		         p->name, nrx, nrx, info.max_rx_queues, info.max_tx_queues);
		return -1;
	}
	p->ctl_txq = info.max_tx_queues > nrx;
	ntx = (uint16_t)(nrx + p->ctl_txq);
	if (!p->ctl_txq) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "sph_ctl%u", pid);
		p->ctl_ring =
		        rte_ring_create(name, PORT_CTL_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (p->ctl_ring == NULL) {
			rc = -rte_errno;
			goto dpdk_fail;
		}
	}

	if (nrx > 1) {
		uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;

		if (hf != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			printf("siphon: port \"%s\": no RSS on IP/UDP: the device spreads packets "
			       "its own way\n",
			       p->name);
		}
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->ipv4_cksum_offload = true;
	}
	rc = rte_eth_dev_configure(pid, nrx, ntx, &conf);
	if (rc != 0)
		goto dpdk_fail;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
	if (rc != 0)
		goto dpdk_fail;
	for (uint16_t q = 0; q < nrx; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, rxd, (unsigned)socket, NULL, dp->pool);
		if (rc != 0)
			goto dpdk_fail;
	}
	for (uint16_t q = 0; q < ntx; q++) {
		struct rte_eth_txconf txc = info.default_txconf;

		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(pid, q, txd, (unsigned)socket, &txc);
		if (rc != 0)
			goto dpdk_fail;
	}
	rc = rte_eth_macaddr_get(pid, &mac);
	if (rc != 0)
		goto dpdk_fail;
	memcpy(p->mac, mac.addr_bytes, 6);
	if (rte_eth_dev_get_mtu(pid, &p->mtu) != 0 || p->mtu == 0)
		p->mtu = RTE_ETHER_MTU;
	rc = rte_eth_dev_start(pid);
	if (rc != 0)
		goto dpdk_fail;
	/* Some PMDs (pcap, null) cannot change the mode: what they do is what we get. */
	if (promisc)
		rte_eth_promiscuous_enable(pid);
	else
		rte_eth_promiscuous_disable(pid);
	p->accept_any = promisc;
	return 0;
dpdk_fail:
	snprintf(err, errlen, "port \"%s\": %s", p->name, rte_strerror(-rc));
	return -1;
}

int
port_send_ctl(struct dp *dp, struct dp_port *p, const void *frame, size_t len)
{
	struct rte_mbuf *m;
	void *d;

	m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL)
		return -1;
	d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return -1;
	}
	memcpy(d, frame, len);
	if (p->ctl_txq ? rte_eth_tx_burst(p->port_id, (uint16_t)dp->nb_workers, &m, 1) != 1
	               : rte_ring_sp_enqueue(p->ctl_ring, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

void
port_stop(struct dp_port *p)
{
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
	if (p->ctl_ring != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_sc_dequeue(p->ctl_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(p->ctl_ring);
		p->ctl_ring = NULL;
	}
}
