/*
 * stats.c - sum the workers' counters, print them, and serve them over telemetry.
 * Control side: the main lcore prints, DPDK's telemetry thread answers
 * "/siphon/stats" and "/siphon/backends". Both hold dp->ctl_lock while they sum and
 * read backend names, so snap_publish() cannot free the snapshot under them. Workers
 * never wait: they keep incrementing while a sum is read (values lag by a burst).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "stats.h"
#include "worker.h"

static struct dp *stats_dp;              /* telemetry callbacks take no context */
static struct stats_worker *stats_total; /* sum buffer, used under dp->ctl_lock */

_Static_assert(sizeof(struct stats_worker) % sizeof(uint64_t) == 0,
               "struct stats_worker is summed as an array of uint64_t");

/* Caller holds dp->ctl_lock. */
static const struct stats_worker *
stats_sum(struct dp *dp)
{
	uint64_t *dst = (uint64_t *)stats_total;
	size_t n = sizeof(*stats_total) / sizeof(uint64_t);

	memset(stats_total, 0, sizeof(*stats_total));
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const uint64_t *src = (const uint64_t *)dp->workers[i]->st;

		for (size_t k = 0; k < n; k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
	return stats_total;
}

static uint64_t
stats_sum_array(const uint64_t *a, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += a[i];
	return s;
}

void
stats_print(struct dp *dp, FILE *out)
{
	const struct stats_worker *t;
	const struct snap *s;

	pthread_mutex_lock(&dp->ctl_lock);
	t = stats_sum(dp);
	s = dp->snap;
	fprintf(out,
	        "siphon: rx %lu pkts %lu B | fwd %lu | tx %lu pkts %lu B, %lu refused | arp/nd %lu "
	        "replies %lu learnt\n",
	        t->rx_packets, t->rx_bytes, t->forwarded, t->tx_packets, t->tx_bytes, t->tx_drop,
	        t->nd_reply, t->nd_learn);
	fprintf(out, "  rx by worker:");
	for (unsigned i = 0; i < dp->nb_workers; i++)
		fprintf(out, " %lu",
		        __atomic_load_n(&dp->workers[i]->st->rx_packets, __ATOMIC_RELAXED));
	fprintf(out, "\n  drops:");
#define STATS_DROP(name, doc)                                                                      \
	if (strncmp(doc, "drop", 4) == 0 && t->name != 0)                                          \
		fprintf(out, " %s %lu", #name, t->name);
	STATS_COUNTERS(STATS_DROP)
#undef STATS_DROP
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
		if (t->pkt_drop[v] != 0)
			fprintf(out, " pkt.%s %lu", pkt_verdict_name(v), t->pkt_drop[v]);
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
		if (t->sip_drop[v] != 0)
			fprintf(out, " sip.%s %lu", sip_verdict_name(v), t->sip_drop[v]);
	fprintf(out, "\n  %-16s %-24s %10s %12s %9s %7s %7s %7s %7s %7s %7s\n", "backend",
	        "address", "packets", "bytes", "requests", "1xx", "2xx", "3xx", "4xx", "5xx",
	        "6xx");
	/* Per-backend counters are indexed by each backend's stable slot, not its snapshot
	 * index; a removed backend's are no longer shown (forwarded still counts them). */
	for (uint32_t b = 0; b < s->nb_backends; b++) {
		const struct stats_backend *sb = &t->backend[s->backends[b].slot];

		fprintf(out, "  %-16s %-24s %10lu %12lu %9lu", s->info[b].name, s->info[b].addr,
		        sb->packets, sb->bytes, stats_sum_array(sb->requests, SIP_METHOD_COUNT));
		for (unsigned c = 0; c < STATS_RESP_CLASSES; c++)
			fprintf(out, " %7lu", sb->responses[c]);
		fputc('\n', out);
	}
	fflush(out);
	pthread_mutex_unlock(&dp->ctl_lock);
}

/* "/siphon/stats": every scalar counter, then drops by decoder and scanner verdict. */
static int
stats_tel_totals(const char *cmd __rte_unused, const char *params __rte_unused,
                 struct rte_tel_data *d)
{
	const struct stats_worker *t;
	char key[RTE_TEL_MAX_STRING_LEN];

	pthread_mutex_lock(&stats_dp->ctl_lock);
	t = stats_sum(stats_dp);
	rte_tel_data_start_dict(d);
#define STATS_TEL(name, doc) rte_tel_data_add_dict_u64(d, #name, t->name);
	STATS_COUNTERS(STATS_TEL)
#undef STATS_TEL
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++) {
		snprintf(key, sizeof(key), "pkt_%s", pkt_verdict_name(v));
		rte_tel_data_add_dict_u64(d, key, t->pkt_drop[v]);
	}
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++) {
		snprintf(key, sizeof(key), "sip_%s", sip_verdict_name(v));
		rte_tel_data_add_dict_u64(d, key, t->sip_drop[v]);
	}
	pthread_mutex_unlock(&stats_dp->ctl_lock);
	return 0;
}

/* One backend in full: "/siphon/backends,<name>". */
static void
stats_tel_backend(struct rte_tel_data *d, const struct stats_backend *b)
{
	static const char *const cls[STATS_RESP_CLASSES] = {"1xx", "2xx", "3xx",
	                                                    "4xx", "5xx", "6xx"};

	rte_tel_data_add_dict_u64(d, "packets", b->packets);
	rte_tel_data_add_dict_u64(d, "bytes", b->bytes);
	for (unsigned m = 0; m < SIP_METHOD_COUNT; m++)
		rte_tel_data_add_dict_u64(d, sip_method_name(m), b->requests[m]);
	for (unsigned c = 0; c < STATS_RESP_CLASSES; c++)
		rte_tel_data_add_dict_u64(d, cls[c], b->responses[c]);
}

/*
 * "/siphon/backends": name -> [packets, bytes, requests, responses] for every backend
 * (22.11 telemetry nests arrays only, not dicts); with a name as parameter, that
 * backend's dict with requests by method and responses by class.
 */
static int
stats_tel_backends(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	bool one = params != NULL && *params != '\0';
	const struct stats_worker *t;
	const struct snap *s;
	int rc = one ? -EINVAL : 0; /* a name nobody has */

	pthread_mutex_lock(&stats_dp->ctl_lock);
	t = stats_sum(stats_dp);
	s = stats_dp->snap;
	rte_tel_data_start_dict(d);
	for (uint32_t b = 0; b < s->nb_backends; b++) {
		const struct stats_backend *sb = &t->backend[s->backends[b].slot];
		struct rte_tel_data *a;

		if (one) {
			if (strcmp(params, s->info[b].name) == 0) {
				stats_tel_backend(d, sb);
				rc = 0;
				break;
			}
			continue;
		}
		a = rte_tel_data_alloc();
		if (a == NULL) {
			rc = -ENOMEM;
			break;
		}
		rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
		rte_tel_data_add_array_u64(a, sb->packets);
		rte_tel_data_add_array_u64(a, sb->bytes);
		rte_tel_data_add_array_u64(a, stats_sum_array(sb->requests, SIP_METHOD_COUNT));
		rte_tel_data_add_array_u64(a, stats_sum_array(sb->responses, STATS_RESP_CLASSES));
		rte_tel_data_add_dict_container(d, s->info[b].name, a, 0);
	}
	pthread_mutex_unlock(&stats_dp->ctl_lock);
	return rc;
}

int
stats_init(struct dp *dp)
{
	stats_dp = dp;
	stats_total = calloc(1, sizeof(*stats_total));
	if (stats_total == NULL) {
		fprintf(stderr, "siphon: out of memory for the statistics\n");
		return -1;
	}
	/* Telemetry may be disabled (--no-telemetry): then there is just no socket. */
	rte_telemetry_register_cmd("/siphon/stats", stats_tel_totals,
	                           "Totals and drops by reason. No parameters");
	rte_telemetry_register_cmd("/siphon/backends", stats_tel_backends,
	                           "Per backend [packets, bytes, requests, responses]. "
	                           "Parameter: a backend name, for its full counters");
	return 0;
}
