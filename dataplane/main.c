/*
 * main.c - the siphon daemon: `siphon [EAL options] -- --config FILE [options]`.
 * Runs on the main lcore: reads and checks the configuration before EAL starts, sets up
 * ports, the snapshot and the workers, launches one worker per remaining lcore, then
 * does the slow work the workers hand it (learnt neighbours), resolves and announces
 * addresses, prints statistics, serves the control socket (control/sock.c, ops.c:
 * polled in the loop instead of sleeping, so every snapshot rebuild happens here, off
 * the workers), and on SIGINT/SIGTERM stops everything in order.
 * rte_exit() is never used: every failure before launch leaves through one exit path.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/sip.h"
#include "metrics.h"
#include "neigh.h"
#include "ops.h"
#include "port.h"
#include "sock.h"
#include "snap.h"
#include "stats.h"
#include "worker.h"

#define MAIN_TICK_US     1000u      /* main loop period: learn-ring latency, stop latency */
#define MAIN_ND_TICK_NS  100000000u /* neighbour ageing and solicitations, 10 per second */
#define MAIN_LEARN_BURST 64u
#define MAIN_POOL_MIN    8191u
#define MAIN_POOL_CACHE  256u

struct main_opts {
	const char *config;
	long stats_interval; /* -1: the configuration's */
	bool promisc;
};

static volatile sig_atomic_t main_stop;

static void
main_signal(int sig)
{
	(void)sig;
	main_stop = 1;
}

static void
main_usage(FILE *out)
{
	fprintf(out,
	        "usage: siphon [EAL options] -- --config FILE [--stats-interval SEC] [--promisc]\n"
	        "  --config FILE         configuration (docs/config.md)\n"
	        "  --stats-interval SEC  print statistics every SEC seconds (0: only at exit);\n"
	        "                        overrides the configuration's stats_interval\n"
	        "  --promisc             promiscuous mode, and forward unicast frames whatever\n"
	        "                        their destination MAC (pcap replay, tests)\n"
	        "Every lcore but the main one is a worker; see docs/dataplane.md.\n");
}

/* Parse what follows "--"; argv[0] is a program name for getopt. @return 0, 1 (help), -1. */
static int
main_parse(int argc, char **argv, struct main_opts *o)
{
	static const struct option lo[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"stats-interval", required_argument, NULL, 's'},
	        {"promisc", no_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	o->stats_interval = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->stats_interval = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->stats_interval < 0 ||
			    o->stats_interval > CFG_STATS_INTERVAL_MAX) {
				fprintf(stderr,
				        "siphon: --stats-interval: 0..%u seconds, got \"%s\"\n",
				        CFG_STATS_INTERVAL_MAX, optarg);
				return -1;
			}
			break;
		case 'p':
			o->promisc = true;
			break;
		case 'h':
			main_usage(stdout);
			return 1;
		default:
			main_usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->config == NULL) {
		fprintf(stderr, "siphon: %s\n",
		        o->config == NULL ? "--config is required" : "unexpected argument");
		main_usage(stderr);
		return -1;
	}
	return 0;
}

static uint64_t
main_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Everything the workers need, in dependency order. @return 0, or -1 with err set. */
static int
main_setup(struct dp *dp, const struct sph_cfg *cfg, const struct main_opts *o, char *err,
           size_t errlen)
{
	unsigned lcore, pool_size;
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
		if (rte_eth_dev_get_port_by_name(cfg->ports[p].device, &dpp->port_id) != 0) {
			snprintf(
			        err, errlen,
			        "%s:%u: port \"%s\": no DPDK device \"%s\" (give it to EAL: -a PCI "
			        "or --vdev)",
			        cfg->path, cfg->ports[p].line, dpp->name, cfg->ports[p].device);
			return -1;
		}
		if (dp->port_index[dpp->port_id] != DP_PORT_NONE) {
			snprintf(err, errlen, "%s:%u: port \"%s\": device \"%s\" already used",
			         cfg->path, cfg->ports[p].line, dpp->name, cfg->ports[p].device);
			return -1;
		}
		dp->port_index[dpp->port_id] = (uint8_t)p;
	}

	/* RX rings full, TX rings full, one burst in flight per worker and port, caches. */
	pool_size = dp->nb_ports * (dp->nb_workers * (2048 + DP_BURST) + 1024) +
	            rte_lcore_count() * MAIN_POOL_CACHE;
	if (pool_size < MAIN_POOL_MIN)
		pool_size = MAIN_POOL_MIN;
	dp->pool = rte_pktmbuf_pool_create("sph_mbuf", pool_size, MAIN_POOL_CACHE, 0,
	                                   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
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
		if (port_init(dp, &dp->ports[p], o->promisc, err, errlen) != 0)
			return -1;
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
	return stats_init(dp) == 0 ? 0 : -1;
}

/* Gratuitous ARP / unsolicited NA for every address a port answers for, so switches and
 * neighbours learn at once where the VIPs are now (after a restart or a fail-over). */
static void
main_announce(struct dp *dp)
{
	const struct snap *s = dp->snap;
	uint8_t buf[ND_FRAME_MAX];

	for (unsigned p = 0; p < dp->nb_ports; p++) {
		const struct nd_self *self = &s->ports[p].self;
		unsigned sent = 0;

		for (unsigned i = 0; i < self->nb_addrs; i++) {
			size_t len =
			        self->family[i] == 4
			                ? nd_build_garp(buf, self->mac, self->addr[i])
			                : nd_build_unsolicited_na(buf, self->mac, self->addr[i]);

			sent += port_send_ctl(dp, &dp->ports[p], buf, len) == 0;
		}
		printf("siphon: port \"%s\": announced %u of %u addresses\n", dp->ports[p].name,
		       sent, self->nb_addrs);
	}
}

/* Apply what workers learnt, then age the table and solicit what needs it. */
static void
main_neigh(struct dp *dp, uint64_t now, bool tick)
{
	union dp_learn_rec recs[MAIN_LEARN_BURST];
	unsigned n, due[64];
	uint8_t buf[ND_FRAME_MAX];

	while ((n = rte_ring_dequeue_burst_elem(dp->learn, recs, sizeof(recs[0]), MAIN_LEARN_BURST,
	                                        NULL)) > 0)
		for (unsigned i = 0; i < n; i++)
			nd_table_learn(dp->nd, &recs[i].l, now);
	if (!tick)
		return;
	n = nd_table_tick(dp->nd, now, due, RTE_DIM(due));
	for (unsigned i = 0; i < n; i++) {
		const struct nd_entry *e = &dp->nd->e[due[i]];
		struct dp_port *p = &dp->ports[dp->nd_port[due[i]]];
		const struct snap_port *sp = &dp->snap->ports[dp->nd_port[due[i]]];
		size_t len;

		if (e->family == 4)
			len = nd_build_arp_request(buf, p->mac, sp->addr4, e->addr);
		else
			len = nd_build_ns(buf, p->mac, sp->addr6, e->addr);
		port_send_ctl(dp, p, buf, len);
	}
}

/* The main lcore's duties, one tick at a time. The control socket is polled with the
 * tick as timeout, so a request is answered within a tick and a change (snapshot
 * build, RCU publish) runs here, between neighbour rounds, never on a worker. */
static void
main_loop(struct dp *dp, struct ctl_ops *ops, struct ctl_sock *sock)
{
	uint64_t now = main_now_ns();
	unsigned stats_interval = ctl_ops_stats_interval(ops);
	uint64_t next_nd = now, next_stats = now + stats_interval * 1000000000ull;

	while (!main_stop) {
		bool tick = now >= next_nd;

		main_neigh(dp, now, tick);
		/* Group, weight and state for the metrics: copied once per generation. */
		metrics_sync(ctl_ops_cfg(ops), ctl_ops_generation(ops));
		if (tick)
			next_nd = now + MAIN_ND_TICK_NS;
		if (ctl_ops_stats_interval(ops) != stats_interval) { /* changed by a reload */
			stats_interval = ctl_ops_stats_interval(ops);
			next_stats = now + stats_interval * 1000000000ull;
		}
		if (stats_interval != 0 && now >= next_stats) {
			stats_print(dp, stdout);
			next_stats = now + stats_interval * 1000000000ull;
		}
		if (sock != NULL)
			ctl_sock_poll(sock, MAIN_TICK_US / 1000, ctl_ops_handle, ops);
		else
			rte_delay_us_sleep(MAIN_TICK_US);
		now = main_now_ns();
	}
}

int
main(int argc, char **argv)
{
	struct main_opts o = {0};
	struct sph_cfg *cfg = NULL;
	struct ctl_ops *ops = NULL;
	struct ctl_sock *sock = NULL;
	struct dp dp = {.ctl_lock = PTHREAD_MUTEX_INITIALIZER};
	char err[512];
	int sep = argc, rc, ret = EXIT_FAILURE;
	unsigned lcore;

	/* Application options follow "--"; they are read, and the configuration checked,
	 * before EAL takes hugepages and devices, so a typo costs nothing. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep == argc) {
		fprintf(stderr, "siphon: no \"--\" before the application options\n");
		main_usage(stderr);
		return EXIT_FAILURE;
	}
	argv[sep] = argv[0]; /* getopt skips argv[0] */
	rc = main_parse(argc - sep, argv + sep, &o);
	argv[sep] = "--";
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	if (cfg_load(o.config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "siphon: %s\n", err);
		return EXIT_FAILURE;
	}

	if (rte_eal_init(sep, argv) < 0) {
		fprintf(stderr, "siphon: EAL: %s\n", rte_strerror(rte_errno));
		cfg_free(cfg);
		return EXIT_FAILURE;
	}
	signal(SIGINT, main_signal);
	signal(SIGTERM, main_signal);
	if (main_setup(&dp, cfg, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "siphon: %s\n", err);
		goto out;
	}
	printf("siphon: %u workers, %u ports, %u backends, %u VIPs, scanner %s\n", dp.nb_workers,
	       dp.nb_ports, dp.snap->nb_backends, dp.snap->nb_vips, sip_scan_name());
	main_announce(&dp);
	/* From here the control plane owns the configuration (ctl_ops_free() releases it). */
	ops = ctl_ops_create(&dp, cfg, o.stats_interval);
	if (ops == NULL) {
		fprintf(stderr, "siphon: out of memory for the control plane\n");
		goto out;
	}
	cfg = NULL;
	/* Forwarding matters more than the control socket: without it siphon still runs,
	 * and says so loudly (the socket may be held by another instance). */
	sock = ctl_sock_open(ctl_ops_cfg(ops)->ctl_socket, ctl_ops_cfg(ops)->ctl_mode,
	                     ctl_ops_cfg(ops)->ctl_group, err, sizeof(err));
	if (sock == NULL)
		fprintf(stderr, "siphon: control socket: %s; running without one\n", err);
	else
		printf("siphon: control socket %s\n", ctl_ops_cfg(ops)->ctl_socket);
	/* Like the socket: without metrics siphon still forwards, and says so. */
	if (ctl_ops_cfg(ops)->metrics_port != 0) {
		const struct sph_cfg *c = ctl_ops_cfg(ops);
		char listen[CFG_ADDR_STRLEN];

		cfg_addr_format(&c->metrics_addr, c->metrics_port, listen, sizeof(listen));
		metrics_sync(c, ctl_ops_generation(ops)); /* retried every tick if it failed */
		if (metrics_start(&dp, listen, err, sizeof(err)) != 0)
			fprintf(stderr, "siphon: %s; running without metrics\n", err);
		else
			printf("siphon: metrics on http://%s/metrics\n", listen);
	}
	fflush(stdout);
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		for (unsigned i = 0; i < dp.nb_workers; i++)
			if (dp.workers[i]->lcore == lcore)
				rte_eal_remote_launch(dp_worker_main, dp.workers[i], lcore);
	}
	main_loop(&dp, ops, sock);

	printf("siphon: stopping\n");
	metrics_stop();
	ctl_sock_close(sock);
	sock = NULL;
	__atomic_store_n(&dp.quit, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
	stats_print(&dp, stdout);
	ret = EXIT_SUCCESS;
out:
	metrics_stop(); /* before the snapshot and the workers' counters go */
	metrics_free();
	for (unsigned p = 0; p < dp.nb_ports; p++)
		port_stop(&dp.ports[p]); /* harmless on a port that never started */
	for (unsigned i = 0; i < dp.nb_workers; i++)
		dp_worker_free(dp.workers[i]);
	snap_free(dp.snap);
	rte_ring_free(dp.learn);
	rte_free(dp.nd);
	rte_free(dp.qsbr);
	rte_mempool_free(dp.pool);
	rte_eal_cleanup();
	ctl_sock_close(sock);
	ctl_ops_free(ops);
	cfg_free(cfg);
	return ret;
}
