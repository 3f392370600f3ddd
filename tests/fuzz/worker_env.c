/*
 * worker_env.c - set-up and tear-down of one dataplane worker on a net_ring vdev (see
 * worker_env.h): the steps of dp_setup(), by hand, because dp_setup() wants a worker
 * lcore and reads the port's MAC before a caller could give net_ring one. Test and fuzz
 * code only; the main lcore runs everything.
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "siphon/snap.h"
#include "siphon/sph.h"
#include "port.h"
#include "worker_env.h"

int
wenv_setup(struct wenv *e, const char *name, const char *conf, const uint8_t mac[6], char *err,
           size_t errlen)
{
	char prefix[80], lcores[4096];
	char *argv[] = {(char *)name,
	                "--no-huge",
	                "-m",
	                "256",
	                "--no-pci",
	                "--no-shconf",
	                prefix,
	                lcores,
	                "--no-telemetry",
	                "--log-level=*:error",
	                "--vdev",
	                WENV_DEVICE,
	                NULL};
	struct dp *dp = &e->dp;
	cpu_set_t cpus;
	struct snap *s;
	size_t k;

	memset(e, 0, sizeof(*e));
	/* A prefix of its own per process: concurrent test processes share nothing. One
	 * lcore floating over every allowed CPU: "-l 0" would pin them all to CPU 0. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s_%ld", name, (long)getpid());
	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0) {
		snprintf(err, errlen, "sched_getaffinity failed");
		return -1;
	}
	k = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@(");
	for (int c = 0; c < CPU_SETSIZE && k + 8 < sizeof(lcores); c++)
		if (CPU_ISSET(c, &cpus))
			k += (size_t)snprintf(lcores + k, sizeof(lcores) - k, "%d,", c);
	lcores[k - 1] = ')';
	if (rte_eal_init((int)SPH_ARRAY_SIZE(argv) - 1, argv) < 0) {
		snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rte_errno));
		return -1;
	}
	if (cfg_load(conf, &e->cfg, err, errlen) != 0)
		return -1;

	pthread_mutex_init(&dp->ctl_lock, NULL);
	memset(dp->port_index, DP_PORT_NONE, sizeof(dp->port_index));
	dp->nb_workers = 1;
	dp->nb_ports = 1;
	snprintf(dp->ports[0].name, sizeof(dp->ports[0].name), "%s", e->cfg->ports[0].name);
	if (rte_eth_dev_get_port_by_name(e->cfg->ports[0].device, &dp->ports[0].port_id) != 0) {
		snprintf(err, errlen, "%s: no DPDK device %s", conf, e->cfg->ports[0].device);
		return -1;
	}
	e->port_id = dp->ports[0].port_id;
	dp->port_index[e->port_id] = 0;
	dp->pool = rte_pktmbuf_pool_create("wenv_mbuf", WENV_POOL_N, 0, 0,
	                                   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	dp->qsbr = rte_zmalloc("wenv_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	dp->nd = rte_zmalloc("wenv_nd", sizeof(*dp->nd), RTE_CACHE_LINE_SIZE);
	dp->learn = rte_ring_create_elem("wenv_learn", sizeof(union dp_learn_rec), DP_LEARN_RING,
	                                 (int)rte_socket_id(), RING_F_SC_DEQ);
	if (dp->pool == NULL || dp->qsbr == NULL || dp->nd == NULL || dp->learn == NULL) {
		snprintf(err, errlen, "EAL allocations: %s", rte_strerror(rte_errno));
		return -1;
	}
	rte_rcu_qsbr_init(dp->qsbr, 1);
	nd_table_init(dp->nd, NULL);
	if (port_init(dp, &dp->ports[0], false, err, errlen) != 0)
		return -1;
	/* Before the snapshot copies it, so that no check passes on an all-zero MAC. */
	memcpy(dp->ports[0].mac, mac, 6);
	memcpy(e->mac, mac, 6);
	dp->frag_lim = (struct frag_limits){
	        .entries = e->cfg->frag_entries,
	        .fragments = e->cfg->frag_fragments,
	        .bytes = e->cfg->frag_bytes,
	        .timeout_tsc = rte_get_tsc_hz() / 1000 * e->cfg->frag_timeout_ms,
	};
	e->w = dp_worker_create(dp, 0, rte_lcore_id());
	if (e->w == NULL) {
		snprintf(err, errlen, "dp_worker_create failed");
		return -1;
	}
	dp->workers[0] = e->w;
	s = snap_build(dp, e->cfg, err, errlen);
	if (s == NULL)
		return -1;
	snap_publish(dp, s);
	e->txr = rte_ring_lookup(WENV_TX_RING);
	if (e->txr == NULL) {
		snprintf(err, errlen, "no ring %s", WENV_TX_RING);
		return -1;
	}
	return 0;
}

void
wenv_teardown(struct wenv *e)
{
	struct dp *dp = &e->dp;
	char dir[PATH_MAX];

	port_stop(&dp->ports[0]);
	dp_worker_free(e->w);
	snap_free(dp->snap);
	dp_aff_free(dp);
	rte_ring_free(dp->learn);
	rte_free(dp->nd);
	rte_free(dp->qsbr);
	rte_mempool_free(dp->pool);
	cfg_free(e->cfg);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(dir); /* empty without shared configuration */
}

unsigned
wenv_tx_take(struct wenv *e, struct rte_mbuf **out, unsigned max)
{
	dp_worker_flush(e->w);
	return rte_ring_dequeue_burst(e->txr, (void **)out, max, NULL);
}

unsigned
wenv_pool_avail(const struct wenv *e)
{
	return rte_mempool_avail_count(e->dp.pool);
}
