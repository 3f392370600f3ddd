/*
 * stats.c - read the workers' counters consistently (stats.h), sum, print and serve
 * them over telemetry. Control side: the main lcore prints, DPDK's telemetry thread
 * answers "/siphon/stats" and "/siphon/backends". Both hold dp->ctl_lock while they sum
 * and read backend names, so snap_publish() cannot free the snapshot under them.
 * Workers never wait: a reader asks a worker for a copy of its counters, which the
 * worker writes between two poll-loop iterations (stats.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_pause.h>
#include <rte_telemetry.h>

#include "siphon/stats.h"
#include "worker.h"

static struct dp *stats_dp; /* telemetry callbacks take no context */

const struct stats_desc stats_descs[] = {
#define STATS_DESC(name, doc) {#name, doc, offsetof(struct stats_counters, name)},
        STATS_COUNTERS(STATS_DESC)
#undef STATS_DESC
};
const unsigned stats_nb_descs = sizeof(stats_descs) / sizeof(stats_descs[0]);

_Static_assert(sizeof(struct stats_counters) % sizeof(uint64_t) == 0,
               "struct stats_counters is copied as an array of uint64_t");
_Static_assert(sizeof(struct stats_backend) % sizeof(uint64_t) == 0,
               "struct stats_backend is summed as an array of uint64_t");

/* n words from src, each read whole (another lcore may be writing them). */
static void
stats_copy(const uint64_t *src, uint64_t *dst, size_t n)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
}

void
stats_publish_slow(struct stats_worker *st, uint64_t r)
{
	__atomic_store_n(&st->seq, st->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* odd before any store to pub */
	memcpy(&st->pub, &st->c, sizeof(st->pub));
	__atomic_store_n(&st->seq, st->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&st->ack, r, __ATOMIC_RELEASE);
}

void
stats_read(const struct dp *dp, unsigned w, struct stats_counters *out)
{
	struct stats_worker *st = dp->workers[w]->st;
	uint64_t r, deadline;

	if (__atomic_load_n(&dp->quit, __ATOMIC_ACQUIRE) != 0 ||
	    rte_eal_get_lcore_state(dp->workers[w]->lcore) != RUNNING)
		goto live;
	r = __atomic_add_fetch(&st->req, 1, __ATOMIC_ACQ_REL);
	deadline = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * STATS_WAIT_MS;
	while (__atomic_load_n(&st->ack, __ATOMIC_ACQUIRE) < r) {
		if (rte_get_tsc_cycles() > deadline)
			goto live;
		rte_pause();
	}
	/* pub answers r or a later request; a later one may be being written now. */
	for (;;) {
		uint64_t s1 = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE), s2;

		if ((s1 & 1) != 0) {
			rte_pause();
			continue; /* the worker is copying c to pub: one memcpy */
		}
		stats_copy((const uint64_t *)&st->pub, (uint64_t *)out, sizeof(*out) / 8);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&st->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return;
	}
live:
	stats_copy((const uint64_t *)&st->c, (uint64_t *)out, sizeof(*out) / 8);
}

void
stats_read_total(const struct dp *dp, struct stats_counters *out)
{
	uint64_t *dst = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		struct stats_counters c;
		const uint64_t *src = (const uint64_t *)&c;

		stats_read(dp, w, &c);
		for (size_t k = 0; k < sizeof(c) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
}

void
stats_read_backend(const struct dp *dp, unsigned slot, struct stats_backend *out)
{
	uint64_t *dst = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		struct stats_backend b;
		const uint64_t *src = (const uint64_t *)&b;

		stats_copy((const uint64_t *)&dp->workers[w]->st->backend[slot], (uint64_t *)&b,
		           sizeof(b) / sizeof(uint64_t));
		for (size_t k = 0; k < sizeof(b) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
}

void
stats_zero_backend(struct dp *dp, unsigned slot)
{
	pthread_mutex_lock(&dp->ctl_lock);
	for (unsigned w = 0; w < dp->nb_workers; w++)
		memset(&dp->workers[w]->st->backend[slot], 0,
		       sizeof(dp->workers[w]->st->backend[slot]));
	pthread_mutex_unlock(&dp->ctl_lock);
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
	struct stats_counters total, *t = &total;
	const struct snap *s;

	pthread_mutex_lock(&dp->ctl_lock);
	stats_read_total(dp, t);
	s = dp->snap;
	fprintf(out,
	        "siphon: rx %lu pkts %lu B | fwd %lu | tx %lu pkts %lu B, %lu refused | arp/nd %lu "
	        "replies %lu learnt\n",
	        t->rx_packets, t->rx_bytes, t->forwarded, t->tx_packets, t->tx_bytes, t->tx_drop,
	        t->nd_reply, t->nd_learn);
	fprintf(out, "  rx by worker:");
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct stats_counters c;

		stats_read(dp, i, &c);
		fprintf(out, " %lu", c.rx_packets);
	}
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
	fprintf(out, "\n  forwarded with anomalies:");
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
		if (t->sip_anomaly[v] != 0)
			fprintf(out, " sip.%s %lu", sip_verdict_name(v), t->sip_anomaly[v]);
	fprintf(out, "\n  %-16s %-24s %10s %12s %9s %7s %7s %7s %7s %7s %7s\n", "backend",
	        "address", "packets", "bytes", "requests", "1xx", "2xx", "3xx", "4xx", "5xx",
	        "6xx");
	/* Per-backend counters are indexed by each backend's stable slot, not its snapshot
	 * index; a removed backend's are no longer shown (forwarded still counts them). */
	for (uint32_t b = 0; b < s->nb_backends; b++) {
		struct stats_backend be, *sb = &be;

		stats_read_backend(dp, s->backends[b].slot, sb);
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
	struct stats_counters total, *t = &total;
	char key[RTE_TEL_MAX_STRING_LEN];

	pthread_mutex_lock(&stats_dp->ctl_lock);
	stats_read_total(stats_dp, t);
	rte_tel_data_start_dict(d);
#define STATS_TEL(name, doc) rte_tel_data_add_dict_u64(d, #name, t->name);
	STATS_COUNTERS(STATS_TEL)
#undef STATS_TEL
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++) {
		snprintf(key, sizeof(key), "pkt_%s", pkt_verdict_name(v));
		rte_tel_data_add_dict_u64(d, key, t->pkt_drop[v]);
	}
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++) {
		bool anomaly = sip_verdict_policy(v) == SIP_POLICY_ANOMALY;

		snprintf(key, sizeof(key), "sip_%s%s", anomaly ? "anomaly_" : "",
		         sip_verdict_name(v));
		rte_tel_data_add_dict_u64(d, key, anomaly ? t->sip_anomaly[v] : t->sip_drop[v]);
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
	const struct snap *s;
	int rc = one ? -EINVAL : 0; /* a name nobody has */

	pthread_mutex_lock(&stats_dp->ctl_lock);
	s = stats_dp->snap;
	rte_tel_data_start_dict(d);
	for (uint32_t b = 0; b < s->nb_backends; b++) {
		struct stats_backend be, *sb = &be;
		struct rte_tel_data *a;

		stats_read_backend(stats_dp, s->backends[b].slot, sb);
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
	/* Telemetry may be disabled (--no-telemetry): then there is just no socket. */
	rte_telemetry_register_cmd("/siphon/stats", stats_tel_totals,
	                           "Totals and drops by reason. No parameters");
	rte_telemetry_register_cmd("/siphon/backends", stats_tel_backends,
	                           "Per backend [packets, bytes, requests, responses]. "
	                           "Parameter: a backend name, for its full counters");
	return 0;
}
