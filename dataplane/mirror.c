/*
 * mirror.c - the HEPv3 mirror's main-lcore side (docs/protection.md#mirroring-hep): where
 * the collector is (dp_mirror_set, published by RCU as snapshots are), and the counters
 * the control socket and the metrics read. Apart from hep.c so the workers' object file
 * refers to no output function (scripts/check-layers, check 3): errors are reported here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "siphon/hep.h"
#include "hep.h"
#include "worker.h"

int
dp_mirror_set(struct dp *dp, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_mirror *cm = &cfg->mirror;
	const struct cfg_addr *hop, *src;
	struct dp_hep *next = NULL, *old = dp->hep;
	struct timespec ts;
	unsigned port;
	int nd;

	if (cm->port != 0) {
		if (hep_route(cfg, &port, &hop, &src, err, errlen) != 0)
			return -1;
		if (port >= dp->nb_ports) {
			snprintf(err, errlen, "mirror: collector's port %u is not a dataplane port",
			         port);
			return -1;
		}
		nd = nd_table_add(dp->nd, hop->family, hop->a, NULL, sph_now_ns());
		next = rte_zmalloc("dp_hep", sizeof(*next), RTE_CACHE_LINE_SIZE);
		if (nd < 0 || next == NULL) {
			rte_free(next);
			snprintf(err, errlen, "mirror: %s",
			         nd < 0 ? "neighbour table full" : "out of memory");
			return -1;
		}
		dp->nd_port[nd] = (uint8_t)port;
		next->sample_below = cm->sample == 0 ? 0 : ((uint64_t)1 << 32) / cm->sample;
		next->mark_tsc = (uint64_t)cm->call_timeout * rte_get_tsc_hz();
		next->budget = cm->budget;
		next->agent_id = cm->agent_id;
		next->family = cm->addr.family;
		next->egress = (uint8_t)port;
		next->nd_idx = (uint16_t)nd;
		next->src_port = cm->port;
		next->dst_port = cm->port;
		memcpy(next->src, src->a, 16);
		memcpy(next->dst, cm->addr.a, 16);
		/* Everything before the clock says what workers do: equal, nothing to change. */
		if (old != NULL && memcmp(next, old, offsetof(struct dp_hep, tsc0)) == 0) {
			rte_free(next);
			return 0;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		next->tsc0 = rte_rdtsc();
		next->tsc_hz = rte_get_tsc_hz();
		next->real_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	if (next == NULL && old == NULL)
		return 0;
	pthread_mutex_lock(&dp->ctl_lock);
	__atomic_store_n(&dp->hep, next, __ATOMIC_RELEASE);
	if (old != NULL) {
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
		rte_free(old);
	}
	pthread_mutex_unlock(&dp->ctl_lock);
	return 0;
}

const char *
dp_mirror_collector(const struct dp *dp, char *buf, size_t len)
{
	const struct dp_hep *hc = __atomic_load_n(&dp->hep, __ATOMIC_ACQUIRE);
	struct cfg_addr a;

	if (hc == NULL) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	a.family = hc->family;
	memcpy(a.a, hc->dst, 16);
	return cfg_addr_format(&a, hc->dst_port, buf, len);
}

void
dp_mirror_read(const struct dp *dp, struct dp_mirror_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct dp_hep_worker *hw =
		        dp->workers[i] != NULL ? dp->workers[i]->hep : NULL;

		if (hw == NULL)
			continue;
#define DP_MIRROR_SUM(name, doc) out->name += __atomic_load_n(&hw->c.name, __ATOMIC_RELAXED);
		DP_MIRROR_COUNTERS(DP_MIRROR_SUM)
#undef DP_MIRROR_SUM
	}
}
