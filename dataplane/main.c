/*
 * main.c - the siphon daemon: `siphon [EAL options] -- --config FILE [options]`.
 * Runs on the main lcore: reads and checks the configuration before EAL starts, sets up
 * ports, the snapshot and the workers, launches one worker per remaining lcore, then
 * does the slow work the workers hand it (learnt neighbours, the exception path between
 * the ports and their kernel interfaces), resolves and announces
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
#include "dp.h"
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
#define MAIN_EXC_BURST   DP_EXC_BURST
#define MAIN_EXC_ROUNDS  8u /* bursts per port, each way, per main loop iteration */

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

/* Whether family addr lies within one of sp's own prefixes (on-link). */
static bool
main_onlink(const struct snap_port *sp, uint8_t family, const uint8_t a[16])
{
	for (unsigned i = 0; i < sp->nb_own; i++) {
		unsigned bits = (family == 4 ? 96u : 0u) + sp->own_len[i], k;

		if (sp->own_family[i] != family)
			continue;
		for (k = 0; k < bits / 8 && sp->own[i][k] == a[k]; k++)
			;
		if (k == bits / 8 && (bits % 8 == 0 || ((sp->own[i][k] ^ a[k]) &
		                                        (uint8_t)(0xff00u >> (bits % 8))) == 0))
			return true;
	}
	return false;
}

/*
 * One IP datagram the kernel sent through port p's exception interface: prepend the
 * Ethernet header towards its next hop (the destination when on-link in one of the
 * port's prefixes, else the port's gateway of its family) and send it out the port.
 * A next hop not yet in the neighbour table is added (resolved at the next tick) and
 * this datagram dropped, as the kernel's own ARP would have queued or dropped it. Only
 * datagrams from the port's own addresses leave: siphon speaks for nothing else.
 */
static void
main_exc_out(struct dp *dp, unsigned p, struct rte_mbuf *m, uint64_t now)
{
	struct stats_worker *st = dp->workers[0]->st; /* main lcore's fields, see stats.h */
	const struct snap_port *sp = &dp->snap->ports[p];
	struct dp_port *port = &dp->ports[p];
	uint8_t src[16] = {0}, dst[16] = {0}, mac[6], family;
	const uint8_t *ip, *hop = dst;
	uint8_t *eth;
	int nd;

	ip = rte_pktmbuf_mtod(m, const uint8_t *);
	family = m->data_len >= 1 ? ip[0] >> 4 : 0;
	if (m->nb_segs != 1 || m->pkt_len > port->mtu || (family != 4 && family != 6) ||
	    m->data_len < (family == 4 ? 20 : 40))
		goto bad;
	if (family == 4) {
		src[10] = src[11] = dst[10] = dst[11] = 0xff;
		memcpy(src + 12, ip + 12, 4);
		memcpy(dst + 12, ip + 16, 4);
		if ((dst[12] & 0xf0) == 0xe0 || memcmp(dst + 12, "\xff\xff\xff\xff", 4) == 0)
			goto bad; /* multicast, limited broadcast */
	} else {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
		if (dst[0] == 0xff || (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80))
			goto bad; /* multicast (MLD, RS), link-local: the kernel's chatter on sph */
	}
	if (!snap_port_owns(sp, family, src))
		goto bad;
	if (!main_onlink(sp, family, dst)) {
		if (family == 4 ? !sp->has_gw4 : !sp->has_gw6)
			goto bad;
		hop = family == 4 ? sp->gw4 : sp->gw6;
	}
	nd = nd_table_find(dp->nd, family, hop);
	if (nd < 0) {
		/* Keep a quarter of the table for the configuration's next hops: whoever makes
		 * the kernel answer many hosts must not starve a reload of entries. */
		if (dp->nd->nb < ND_TABLE_MAX / 4 * 3) {
			nd = nd_table_add(dp->nd, family, hop, NULL, now);
			if (nd >= 0)
				dp->nd_port[nd] = (uint8_t)p;
		}
		st->exception_no_neighbor++;
		goto drop;
	}
	if (!nd_table_mac(dp->nd, (unsigned)nd, mac)) {
		st->exception_no_neighbor++;
		goto drop;
	}
	eth = (uint8_t *)rte_pktmbuf_prepend(m, 14);
	if (eth == NULL)
		goto bad;
	memcpy(eth, mac, 6);
	memcpy(eth + 6, port->mac, 6);
	eth[12] = family == 4 ? 0x08 : 0x86;
	eth[13] = family == 4 ? 0x00 : 0xdd;
	m->ol_flags = 0; /* the TUN device's RX flags mean nothing to the NIC */
	if (port_send_mbuf(dp, port, m) != 0) {
		st->exception_tx_drop++;
		goto drop;
	}
	st->exception_tx++;
	return;
bad:
	st->exception_bad++;
drop:
	rte_pktmbuf_free(m);
}

/* Move the exception paths' traffic, a bounded amount each way per call: datagrams the
 * workers queued go to the kernel, what the kernel sent goes out the ports. */
static void
main_exception(struct dp *dp, uint64_t now)
{
	struct stats_worker *st = dp->workers[0]->st;
	struct rte_mbuf *pkts[MAIN_EXC_BURST];

	for (unsigned p = 0; p < dp->nb_ports; p++) {
		struct dp_port *port = &dp->ports[p];

		if (port->exc_ring == NULL)
			continue;
		for (unsigned r = 0; r < MAIN_EXC_ROUNDS; r++) {
			unsigned n = rte_ring_sc_dequeue_burst(port->exc_ring, (void **)pkts,
			                                       MAIN_EXC_BURST, NULL);
			uint16_t sent =
			        n ? rte_eth_tx_burst(port->exc_port_id, 0, pkts, (uint16_t)n) : 0;

			for (unsigned i = sent; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			st->exception_kernel_drop += n - sent;
			if (n < MAIN_EXC_BURST)
				break;
		}
		for (unsigned r = 0; r < MAIN_EXC_ROUNDS; r++) {
			uint16_t n = rte_eth_rx_burst(port->exc_port_id, 0, pkts, MAIN_EXC_BURST);

			for (uint16_t i = 0; i < n; i++)
				main_exc_out(dp, p, pkts[i], now);
			if (n < MAIN_EXC_BURST)
				break;
		}
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
		main_exception(dp, now);
		/* Group, weight and state for the metrics: copied once per generation. */
		ctl_ops_health_poll(ops); /* a backend's health changed: republish */
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
	if (dp_setup(&dp, cfg, o.promisc, err, sizeof(err)) != 0) {
		fprintf(stderr, "siphon: %s\n", err);
		goto out;
	}
	if (stats_init(&dp) != 0) {
		fprintf(stderr, "siphon: cannot register the telemetry commands\n");
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
	/* Health checks (SIP OPTIONS from the kernel's stack, docs/health.md): like the
	 * socket, optional; without them siphon forwards by the configured states. */
	if (ctl_ops_health_start(ops, err, sizeof(err)) != 0)
		fprintf(stderr, "siphon: %s; running without health checks\n", err);
	else
		printf("siphon: health checks %s\n", ctl_ops_health_on(ops) ? "on" : "off");
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
	ctl_ops_health_stop(ops); /* no probe, no republish from here on */
	ctl_sock_close(sock);
	sock = NULL;
	__atomic_store_n(&dp.quit, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
	stats_print(&dp, stdout);
	ret = EXIT_SUCCESS;
out:
	metrics_stop(); /* before the snapshot and the workers' counters go */
	metrics_free();
	dp_teardown(&dp);
	rte_eal_cleanup();
	ctl_sock_close(sock);
	ctl_ops_free(ops);
	cfg_free(cfg);
	return ret;
}
