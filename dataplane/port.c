/*
 * port.c - bring a DPDK port up the way the workers use it (port.h).
 * Main lcore, init and exit only; logs freely. RSS spreads flows over the workers'
 * RX queues by IP addresses and UDP ports when the device can hash them: every packet
 * of a call still reaches the same backend whichever worker sees it (Maglev is shared),
 * so RSS only balances load and need not be symmetric.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "siphon/log.h"
#include "port.h"

#define PORT_RX_DESC  1024
#define PORT_TX_DESC  1024
#define PORT_CTL_RING 1024 /* > ND_SELF_MAX announcements, with room for solicitations */
#define PORT_EXC_DESC 512  /* net_tun RX/TX descriptors: mbufs the TUN queue holds */

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
			sph_log(SPH_LOG_WARNING,
			        "port \"%s\": no RSS on IP/UDP: the device spreads packets "
			        "its own way",
			        p->name);
		}
	}
	/* Chained mbufs (the HEP mirror's frames, dataplane/hep.c): a NIC picks a TX path
	 * that sends every segment only when asked to. */
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		p->tx_multi_seg = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->ipv4_cksum_offload = true;
	}
	/* The configured mtu (dp_setup() sized the mbufs for it), which the device must take. */
	if (p->mtu == 0)
		p->mtu = RTE_ETHER_MTU;
	if (p->mtu > info.max_mtu) {
		snprintf(err, errlen, "port \"%s\": mtu %u above the device's largest, %u", p->name,
		         p->mtu, info.max_mtu);
		return -1;
	}
	conf.rxmode.mtu = p->mtu;
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
port_send_mbuf(struct dp *dp, struct dp_port *p, struct rte_mbuf *m)
{
	if (p->ctl_txq ? rte_eth_tx_burst(p->port_id, (uint16_t)dp->nb_workers, &m, 1) != 1
	               : rte_ring_sp_enqueue(p->ctl_ring, m) != 0)
		return -1;
	return 0;
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
	if (port_send_mbuf(dp, p, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/* Append one rtnetlink attribute; the buffer is sized for what port_kernel_addr() adds. */
static void
port_nl_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/*
 * `ip addr replace ADDR/LEN dev IFINDEX`, over rtnetlink: the kernel then owns the
 * address on the TUN interface and routes the prefix through it. IPv6 without DAD: the
 * address is siphon's already, and on the wire siphon answers ND for it.
 * @return 0, or -errno.
 */
static int
port_kernel_addr(int fd, unsigned ifindex, const struct cfg_prefix *px)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
		char more[64];
	} ack;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	const uint8_t *a = px->addr.family == 4 ? px->addr.a + 12 : px->addr.a;
	size_t alen = px->addr.family == 4 ? 4 : 16;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = px->addr.family == 4 ? AF_INET : AF_INET6;
	req.ifa.ifa_prefixlen = px->len;
	req.ifa.ifa_flags = px->addr.family == 6 ? IFA_F_NODAD : 0;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = ifindex;
	port_nl_attr(&req.nh, IFA_LOCAL, a, alen);
	port_nl_attr(&req.nh, IFA_ADDRESS, a, alen);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	n = recv(fd, &ack, sizeof(ack), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(ack.nh) + sizeof(ack.err) || ack.nh.nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ack.err.error; /* 0 or -errno */
}

/* Bring the kernel interface up and give it cp's addresses, and those of dp's edge
 * sockets as host addresses (/32, /128): the kernel must own a VIP the edge listens on,
 * while on the wire siphon alone answers ARP/ND for it. Warnings only. */
static void
port_kernel_setup(const struct dp *dp, struct dp_port *p, const struct cfg_port *cp)
{
	unsigned ifindex = if_nametoindex(p->exc_ifname), ok = 0, edge = 0;
	struct ifreq ifr = {0};
	char a[CFG_PREFIX_STRLEN];
	int fd;

	if (ifindex == 0) {
		sph_log(SPH_LOG_WARNING, "port \"%s\": exception interface %s: %s", p->name,
		        p->exc_ifname, strerror(errno));
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->exc_ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0))
		sph_log(SPH_LOG_WARNING, "port \"%s\": cannot bring %s up: %s", p->name,
		        p->exc_ifname, strerror(errno));
	if (fd >= 0)
		close(fd);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		sph_log(SPH_LOG_WARNING, "port \"%s\": netlink: %s: %s has no address", p->name,
		        strerror(errno), p->exc_ifname);
		return;
	}
	/* A reply never takes long; a kernel that does not answer must not hang start-up. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_sec = 2},
	           sizeof(struct timeval));
	for (unsigned i = 0; i < cp->nb_addrs; i++) {
		int rc = port_kernel_addr(fd, ifindex, &cp->addrs[i]);

		if (rc != 0)
			sph_log(SPH_LOG_WARNING, "port \"%s\": %s: cannot add %s: %s", p->name,
			        p->exc_ifname, cfg_prefix_format(&cp->addrs[i], a, sizeof(a)),
			        strerror(-rc));
		else
			ok++;
	}
	for (unsigned i = 0; i < dp->nb_edge_socks; i++) {
		const struct dp_edge_sock *k = &dp->edge_socks[i];
		struct cfg_prefix px = {.addr.family = k->family, .len = k->family == 4 ? 32 : 128};
		bool seen = false;
		int rc;

		for (unsigned j = 0; j < i; j++) /* a TLS and a TCP listener share an address */
			seen |= dp->edge_socks[j].family == k->family &&
			        memcmp(dp->edge_socks[j].addr, k->addr, 16) == 0;
		if (seen)
			continue;
		memcpy(px.addr.a, k->addr, 16);
		rc = port_kernel_addr(fd, ifindex, &px);
		if (rc != 0)
			sph_log(SPH_LOG_WARNING, "port \"%s\": %s: cannot add the edge's %s: %s",
			        p->name, p->exc_ifname, cfg_prefix_format(&px, a, sizeof(a)),
			        strerror(-rc));
		else
			edge++;
	}
	close(fd);
	sph_log(SPH_LOG_INFO,
	        "port \"%s\": exception interface %s (ifindex %u) up with %u of %u "
	        "addresses, and %u of the edge",
	        p->name, p->exc_ifname, ifindex, ok, cp->nb_addrs, edge);
}

int
port_exception_init(struct dp *dp, struct dp_port *p, unsigned idx, const struct cfg_port *cp,
                    char *err, size_t errlen)
{
	char name[RTE_DEV_NAME_MAX_LEN], args[32], rname[RTE_RING_NAMESIZE];
	uint16_t pid, rxd = PORT_EXC_DESC, txd = PORT_EXC_DESC;
	struct rte_eth_conf conf = {0};
	int rc, socket = (int)rte_socket_id();

	snprintf(p->exc_ifname, sizeof(p->exc_ifname), "%s", cp->exception);
	/* Our own vdev name, so it cannot clash with a --vdev net_tunN of the command line. */
	snprintf(name, sizeof(name), "net_tun_sph%u", idx);
	snprintf(args, sizeof(args), "iface=%s", cp->exception);
	rc = rte_eal_hotplug_add("vdev", name, args);
	if (rc != 0) {
		snprintf(err, errlen,
		         "port \"%s\": cannot create the TUN interface %s (net_tun: %s; is "
		         "/dev/net/tun there, and the interface name free?)",
		         p->name, cp->exception, rte_strerror(-rc));
		return -1;
	}
	rc = rte_eth_dev_get_port_by_name(name, &pid);
	if (rc != 0)
		goto dpdk_fail;
	p->exc_port_id = pid;
	p->exc_started = true; /* from here port_stop() closes it */
	rc = rte_eth_dev_configure(pid, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(pid, 0, rxd, (unsigned)socket, NULL, dp->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(pid, 0, txd, (unsigned)socket, NULL);
	if (rc != 0)
		goto dpdk_fail;
	/* What the kernel sends through the port must fit it (the Ethernet header aside). */
	if (rte_eth_dev_set_mtu(pid, p->mtu) != 0)
		sph_log(SPH_LOG_WARNING,
		        "port \"%s\": cannot set %s's MTU to %u: larger packets from the "
		        "kernel are dropped (exception_bad)",
		        p->name, cp->exception, p->mtu);
	rc = rte_eth_dev_start(pid);
	if (rc != 0)
		goto dpdk_fail;
	snprintf(rname, sizeof(rname), "sph_exc%u", idx);
	p->exc_ring = rte_ring_create(rname, DP_EXC_RING, socket, RING_F_SC_DEQ);
	if (p->exc_ring == NULL) {
		rc = -rte_errno;
		goto dpdk_fail;
	}
	port_kernel_setup(dp, p, cp);
	return 0;
dpdk_fail:
	snprintf(err, errlen, "port \"%s\": exception interface %s: %s", p->name, cp->exception,
	         rte_strerror(-rc));
	return -1;
}

void
port_stop(struct dp_port *p)
{
	if (p->exc_started) {
		rte_eth_dev_stop(p->exc_port_id);
		rte_eth_dev_close(p->exc_port_id); /* the kernel interface goes with it */
		p->exc_started = false;
	}
	if (p->exc_ring != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_sc_dequeue(p->exc_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(p->exc_ring);
		p->exc_ring = NULL;
	}
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
