/*
 * dp.c - the dataplane's life (dp.h): set-up (worker count, ports, mbuf pool, RCU,
 * neighbour table, learn ring, exception paths, workers, first snapshot), launch, stop,
 * tear-down, and the accessors control reads the dataplane by. The daemon
 * (control/main.c, through dp_open), the replay bench (bench/bench_dp.c) and the worker
 * suite call the same set-up, so what they measure and test is what runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "siphon/snap.h"
#include "siphon/log.h"
#include "port.h"
#include "worker.h"

#define DP_POOL_MIN   8191u
#define DP_POOL_CACHE 256u

/* Whether a is one of cfg's VIP addresses. */
static bool
dp_vip_addr(const struct sph_cfg *cfg, const struct cfg_addr *a)
{
	for (unsigned v = 0; v < cfg->nb_vips; v++)
		if (cfg->vips[v].addr.family == a->family &&
		    memcmp(cfg->vips[v].addr.a, a->a, 16) == 0)
			return true;
	return false;
}

static void
dp_edge_sock_add(struct dp *dp, const struct sph_cfg *cfg, const struct cfg_edge_listen *l)
{
	struct dp_edge_sock *k = &dp->edge_socks[dp->nb_edge_socks];

	/* Only a VIP: siphon answers ARP/ND for it already and the backends own it, so no
	 * other host does. Any other address (a port's, loopback, another interface's)
	 * reaches the kernel as it always did, and must not be claimed on the wire. */
	if (!dp_vip_addr(cfg, &l->addr) || dp->nb_edge_socks == DP_EDGE_SOCKS)
		return;
	k->family = l->addr.family;
	k->port = l->port;
	memcpy(k->addr, l->addr.a, 16);
	dp->nb_edge_socks++;
}

/* The edge's listeners on a VIP: the exception path carries their TCP to the kernel, and
 * port.c puts those addresses on the kernel interfaces. Not edge.address: backends own
 * the VIPs, so it is never one (cfg_validate()). */
static void
dp_edge_socks(struct dp *dp, const struct sph_cfg *cfg)
{
	const struct cfg_edge *e = &cfg->edge;

	for (unsigned i = 0; i < e->nb_tls; i++)
		dp_edge_sock_add(dp, cfg, &e->tls[i]);
	for (unsigned i = 0; i < e->nb_mtls; i++)
		dp_edge_sock_add(dp, cfg, &e->mtls[i]);
	for (unsigned i = 0; i < e->nb_tcp; i++)
		dp_edge_sock_add(dp, cfg, &e->tcp[i]);
}

int
dp_setup(struct dp *dp, const struct sph_cfg *cfg, bool promisc, char *err, size_t errlen)
{
	unsigned lcore, pool_size, buf_size = RTE_MBUF_DEFAULT_BUF_SIZE;
	struct snap *s;
	size_t sz;

	dp->nb_workers = rte_lcore_count() - 1;
	if (dp->nb_workers == 0) {
		snprintf(err, errlen, "no worker lcore: give EAL two lcores or more (-l 0,1)");
		return -1;
	}
	if (cfg->nb_ports == 0 || cfg->nb_ports > DP_MAX_PORTS) {
		snprintf(err, errlen, "%s: the daemon serves 1..%u ports, %u configured", cfg->path,
		         DP_MAX_PORTS, cfg->nb_ports);
		return -1;
	}
	memset(dp->port_index, DP_PORT_NONE, sizeof(dp->port_index));
	dp->nb_ports = cfg->nb_ports;
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		struct dp_port *dpp = &dp->ports[p];

		snprintf(dpp->name, sizeof(dpp->name), "%s", cfg->ports[p].name);
		dpp->mtu = (uint16_t)cfg->ports[p].mtu;
		if (rte_eth_dev_get_port_by_name(cfg->ports[p].device, &dpp->port_id) != 0) {
			snprintf(
			        err, errlen,
			        "%s:%u: port \"%s\": no DPDK device \"%s\" (give it to EAL: -a PCI "
			        "or --vdev)",
			        cfg_where(cfg, cfg->ports[p].file), cfg->ports[p].line, dpp->name,
			        cfg->ports[p].device);
			return -1;
		}
		if (dp->port_index[dpp->port_id] != DP_PORT_NONE) {
			snprintf(err, errlen, "%s:%u: port \"%s\": device \"%s\" already used",
			         cfg_where(cfg, cfg->ports[p].file), cfg->ports[p].line, dpp->name,
			         cfg->ports[p].device);
			return -1;
		}
		dp->port_index[dpp->port_id] = (uint8_t)p;
	}

	/* RX rings full, TX rings full, one burst in flight per worker and port, caches;
	 * per exception path its ring and the TUN queues (512 + 512); fragments held. */
	pool_size = dp->nb_ports * (dp->nb_workers * (2048 + DP_BURST) + 1024) +
	            rte_lcore_count() * DP_POOL_CACHE;
	for (unsigned p = 0; p < cfg->nb_ports; p++)
		if (cfg->ports[p].exception[0] != '\0')
			pool_size += DP_EXC_RING + 1024 + DP_EXC_BURST;
	/* Per worker, what its fragment table may hold (entries x fragments, or frag_bytes of
	 * the smallest frames, whichever is less) and its hand-off ring: a table full of
	 * fragments must not leave the RX rings without mbufs. */
	if (cfg->frag_entries != 0) {
		uint64_t held = (uint64_t)cfg->frag_entries * cfg->frag_fragments;

		if (held > cfg->frag_bytes / RTE_ETHER_MIN_LEN)
			held = cfg->frag_bytes / RTE_ETHER_MIN_LEN;
		pool_size += dp->nb_workers * (unsigned)(held + DP_FRAG_RING);
	}
	if (pool_size < DP_POOL_MIN)
		pool_size = DP_POOL_MIN;
	/* One mbuf holds the largest frame of any port (its mtu, Ethernet and one VLAN tag,
	 * and headroom for IP-in-IP): the worker scans single-segment frames only. */
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		uint32_t mtu = cfg->ports[p].mtu != 0 ? cfg->ports[p].mtu : CFG_MTU;
		uint32_t room =
		        RTE_PKTMBUF_HEADROOM + mtu + RTE_ETHER_HDR_LEN + 4 + RTE_ETHER_CRC_LEN;

		if (room > buf_size)
			buf_size = room;
	}
	dp->pool = rte_pktmbuf_pool_create("sph_mbuf", pool_size, DP_POOL_CACHE, 0,
	                                   (uint16_t)buf_size, (int)rte_socket_id());
	dp->frag_lim = (struct frag_limits){
	        .entries = cfg->frag_entries,
	        .fragments = cfg->frag_fragments,
	        .bytes = cfg->frag_bytes,
	        .timeout_tsc = rte_get_tsc_hz() / 1000 * cfg->frag_timeout_ms,
	};
	sz = rte_rcu_qsbr_get_memsize(dp->nb_workers);
	dp->qsbr = rte_zmalloc("sph_qsbr", sz, RTE_CACHE_LINE_SIZE);
	dp->nd = rte_zmalloc("sph_nd", sizeof(*dp->nd), RTE_CACHE_LINE_SIZE);
	dp->learn = rte_ring_create_elem("sph_learn", sizeof(union dp_learn_rec), DP_LEARN_RING,
	                                 (int)rte_socket_id(), RING_F_SC_DEQ);
	if (dp->pool == NULL || dp->qsbr == NULL || dp->nd == NULL || dp->learn == NULL) {
		snprintf(err, errlen, "out of memory: %s (try -m with more MB)",
		         rte_strerror(rte_errno));
		return -1;
	}
	rte_rcu_qsbr_init(dp->qsbr, dp->nb_workers);
	nd_table_init(dp->nd, NULL);
	dp->drain_tsc = (rte_get_tsc_hz() + 999999) / 1000000 * DP_DRAIN_US;

	for (unsigned p = 0; p < dp->nb_ports; p++)
		if (port_init(dp, &dp->ports[p], promisc, err, errlen) != 0)
			return -1;
	dp_edge_socks(dp, cfg);
	/* Without its exception path a port still forwards: say so, and go on. */
	for (unsigned p = 0; p < dp->nb_ports; p++) {
		char why[256];

		if (cfg->ports[p].exception[0] != '\0' &&
		    port_exception_init(dp, &dp->ports[p], p, &cfg->ports[p], why, sizeof(why)) !=
		            0)
			sph_log(SPH_LOG_WARNING, "%s; running without an exception path", why);
	}
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		unsigned id = 0;

		while (dp->workers[id] != NULL)
			id++;
		dp->workers[id] = dp_worker_create(dp, id, lcore);
		if (dp->workers[id] == NULL) {
			snprintf(err, errlen, "out of memory for worker %u", id);
			return -1;
		}
	}
	s = snap_build(dp, cfg, err, errlen);
	if (s == NULL)
		return -1;
	snap_publish(dp, s);
	return dp_mirror_set(dp, cfg, err, errlen); /* the HEP mirror (hep.c), when configured */
}

void
dp_teardown(struct dp *dp)
{
	for (unsigned p = 0; p < dp->nb_ports; p++)
		port_stop(&dp->ports[p]); /* harmless on a port that never started */
	for (unsigned i = 0; i < dp->nb_workers; i++)
		dp_worker_free(dp->workers[i]);
	snap_free(dp->snap);
	rte_free(dp->hep);
	dp_aff_free(dp);
	rte_ring_free(dp->learn);
	rte_free(dp->nd);
	rte_free(dp->qsbr);
	rte_mempool_free(dp->pool);
}

struct dp *
dp_open(const struct sph_cfg *cfg, bool promisc, char *err, size_t errlen)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (dp == NULL) {
		snprintf(err, errlen, "out of memory for the dataplane");
		return NULL;
	}
	pthread_mutex_init(&dp->ctl_lock, NULL);
	if (dp_setup(dp, cfg, promisc, err, errlen) != 0) {
		dp_close(dp);
		return NULL;
	}
	return dp;
}

void
dp_close(struct dp *dp)
{
	if (dp == NULL)
		return;
	dp_teardown(dp);
	pthread_mutex_destroy(&dp->ctl_lock);
	free(dp);
}

void
dp_launch(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++)
		rte_eal_remote_launch(dp_worker_main, dp->workers[i], dp->workers[i]->lcore);
}

void
dp_stop(struct dp *dp)
{
	__atomic_store_n(&dp->quit, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
}

const struct snap *
dp_snap(const struct dp *dp)
{
	return __atomic_load_n(&dp->snap, __ATOMIC_ACQUIRE);
}

void
dp_lock(struct dp *dp)
{
	pthread_mutex_lock(&dp->ctl_lock);
}

void
dp_unlock(struct dp *dp)
{
	pthread_mutex_unlock(&dp->ctl_lock);
}

unsigned
dp_nb_workers(const struct dp *dp)
{
	return dp->nb_workers;
}

const char *
dp_port_name(const struct dp *dp, unsigned i)
{
	return i < dp->nb_ports ? dp->ports[i].name : "?";
}

const struct nd_table *
dp_nd(const struct dp *dp)
{
	return dp->nd;
}
