/*
 * main.c - the siphon daemon: `siphon [EAL options] -- --config FILE [options]`, and
 * `siphon --check-config FILE`. The composition root: the one place that knows every
 * part. Runs on the main lcore: reads and checks the configuration before EAL starts,
 * opens the dataplane (dataplane/, through include/siphon/dp.h), launches its workers,
 * then runs the main loop: the dataplane's main-lcore duties (dp_service: neighbours,
 * exception path), health, metrics, statistics and the control socket (sock.c, cmd.c, gen.c:
 * polled in the loop instead of sleeping, so every snapshot rebuild happens here, off
 * the workers) and the VIP announcement (announce.c). SIGINT stops everything in order
 * at once; SIGTERM (or `siphonctl shutdown`) first withdraws the VIPs and keeps
 * forwarding for announce.shutdown_drain_ms (docs/bgp.md), a second one stops at once.
 * rte_exit() is never used: every failure before launch leaves through one exit path.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "siphon/cfg.h"
#include "siphon/log.h"
#include "siphon/dp.h"
#include "siphon/sip.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "announce.h"
#include "edge.h"
#include "edge_snap.h"
#include "metrics.h"
#include "cmd.h"
#include "gen.h"
#include "sock.h"

#define MAIN_TICK_US    1000u      /* main loop period: learn-ring latency, stop latency */
#define MAIN_ND_TICK_NS 100000000u /* neighbour ageing and solicitations, 10 per second */

struct main_opts {
	const char *config;
	bool check;          /* --check-config: validate, print, exit */
	long stats_interval; /* -1: the configuration's */
	bool promisc;
	bool pdump; /* --pdump: serve dpdk-dumpcap (docs/deploy.md) */
};

static volatile sig_atomic_t main_stop; /* SIGINT: stop now */
static volatile sig_atomic_t main_term; /* SIGTERMs and shutdown commands: 1 drains, 2 stop */

static void
main_signal(int sig)
{
	if (sig == SIGTERM)
		main_term = main_term < 2 ? main_term + 1 : 2;
	else
		main_stop = 1;
}

static void
main_usage(FILE *out)
{
	fprintf(out,
	        "usage: siphon [EAL options] -- --config FILE [--stats-interval SEC] [--promisc]\n"
	        "                                 [--pdump] [--log-level LEVEL]\n"
	        "       siphon --check-config FILE\n"
	        "  --config FILE         configuration (docs/config.md)\n"
	        "  --check-config FILE   check FILE as a start or reload would (everything but\n"
	        "                        the DPDK devices), print the configuration in effect\n"
	        "                        with every default spelled out, and exit: 0 when it\n"
	        "                        would load, 1 with file:line errors when not\n"
	        "  --stats-interval SEC  print statistics every SEC seconds (0: only at exit);\n"
	        "                        overrides the configuration's stats_interval\n"
	        "  --promisc             promiscuous mode, and forward unicast frames whatever\n"
	        "                        their destination MAC (pcap replay, tests)\n"
	        "  --pdump               let dpdk-dumpcap capture the ports (needs hugepages)\n"
	        "  --log-level LEVEL     siphon's lines of LEVEL and above: error, warning,\n"
	        "                        notice, info (default) or debug; to the journal with\n"
	        "                        their priority when run by systemd\n"
	        "Every lcore but the main one is a worker; see docs/dataplane.md.\n");
}

/* Parse what follows "--"; argv[0] is a program name for getopt. @return 0, 1 (help), -1. */
static int
main_parse(int argc, char **argv, struct main_opts *o)
{
	static const struct option lo[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", required_argument, NULL, 'k'},
	        {"stats-interval", required_argument, NULL, 's'},
	        {"promisc", no_argument, NULL, 'p'},
	        {"pdump", no_argument, NULL, 'd'},
	        {"log-level", required_argument, NULL, 'l'},
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
		case 'k':
			o->config = optarg;
			o->check = true;
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
		case 'd':
			o->pdump = true;
			break;
		case 'l':
			if (sph_log_parse(optarg) < 0) {
				fprintf(stderr,
				        "siphon: --log-level: error, warning, notice, info or "
				        "debug, got "
				        "\"%s\"\n",
				        optarg);
				return -1;
			}
			sph_log_set((enum sph_log_level)sph_log_parse(optarg));
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
		        o->config == NULL ? "--config or --check-config is required"
		                          : "unexpected argument");
		main_usage(stderr);
		return -1;
	}
	return 0;
}

/*
 * siphon --check-config FILE (argv[0] a program name): what a start or a reload would
 * say of FILE, without EAL: the configuration's own rules (cfg_load), then whether the
 * dataplane could forward it (snap_check). Only the devices are not looked at. The
 * configuration in effect goes to stdout (it holds the hash key: as secret as FILE).
 */
static int
main_check(const char *path)
{
	struct sph_cfg *cfg = NULL;
	char err[512];
	int rc;

	if (cfg_load(path, &cfg, err, sizeof(err)) != 0 || snap_check(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "siphon: %s\n", err);
		cfg_free(cfg);
		return EXIT_FAILURE;
	}
	rc = cfg_write(cfg, stdout) == 0 && fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	if (rc == EXIT_SUCCESS)
		fprintf(stderr, "siphon: %s: configuration ok\n", path);
	else
		fprintf(stderr, "siphon: %s: cannot write the configuration\n", path);
	cfg_free(cfg);
	return rc;
}

/*
 * --pdump: DPDK's pdump server, so that dpdk-dumpcap, a secondary process, can have the
 * ports' frames copied to it. rte_pdump_init() succeeds even where no secondary can
 * attach, so those cases are found here and said, not left to dumpcap's "is primary
 * process running?": without hugepages the memory is anonymous and cannot be mapped by
 * another process; with --in-memory or --no-shconf there is no multi-process channel
 * (found with a probe action of our own).
 */
static int
main_pdump_probe(const struct rte_mp_msg *msg, const void *peer)
{
	(void)msg;
	(void)peer;
	return 0;
}

static int
main_pdump_init(void)
{
	if (!rte_eal_has_hugepages()) {
		sph_log(SPH_LOG_WARNING,
		        "pdump: no hugepages (--no-huge): no secondary process can "
		        "attach; running without packet capture");
		return -1;
	}
	if (rte_pdump_init() != 0) {
		sph_log(SPH_LOG_WARNING, "pdump: %s; running without packet capture",
		        rte_strerror(rte_errno));
		return -1;
	}
	if (rte_mp_action_register("sph_pdump_probe", main_pdump_probe) != 0) {
		sph_log(SPH_LOG_WARNING,
		        "pdump: %s: no secondary process can attach; running without "
		        "packet capture",
		        rte_errno == ENOTSUP ? "no shared configuration (--in-memory, --no-shconf)"
		                             : rte_strerror(rte_errno));
		rte_pdump_uninit();
		return -1;
	}
	rte_mp_action_unregister("sph_pdump_probe");
	sph_log(SPH_LOG_INFO, "pdump on: dpdk-dumpcap may attach");
	return 0;
}

/*
 * The graceful shutdown, once asked for (main_term): withdraw the VIPs, wait until BIRD
 * confirmed it (ANN_BIRD_TIMEOUT_MS at most: a BIRD that is down cannot be waited for),
 * then keep forwarding for drain_ms while the routers move the traffic away.
 * @return true when the loop should end now.
 */
struct main_drain {
	uint64_t asked; /* 0: no shutdown asked */
	uint64_t end;   /* 0: withdrawal not yet confirmed */
};

static bool
main_draining(struct main_drain *d, struct ann *ann, unsigned drain_ms, uint64_t now)
{
	if (main_term == 0)
		return false;
	if (main_term > 1 || ann == NULL)
		return true;
	if (d->asked == 0) {
		d->asked = now;
		ann_withdraw(ann);
		sph_log(SPH_LOG_NOTICE, "shutdown: withdrawing the VIPs, then forwarding for %u ms",
		        drain_ms);
		fflush(stdout);
		return false;
	}
	if (d->end == 0 &&
	    (ann_settled(ann) || now >= d->asked + ANN_BIRD_TIMEOUT_MS * 1000000ull)) {
		d->end = now + drain_ms * 1000000ull;
		sph_log(SPH_LOG_NOTICE, "shutdown: withdrawal %s after %" PRIu64 " ms",
		        ann_settled(ann) ? "confirmed by BIRD" : "not confirmed",
		        (now - d->asked) / 1000000u);
		fflush(stdout);
	}
	return d->end != 0 && now >= d->end;
}

/* The main lcore's duties, one tick at a time. The control socket is polled with the
 * tick as timeout, so a request is answered within a tick and a change (snapshot
 * build, RCU publish) runs here, between neighbour rounds, never on a worker. */
static void
main_loop(struct dp *dp, struct gen *ops, struct ctl_sock *sock, struct ann *ann, unsigned drain_ms)
{
	uint64_t now = sph_now_ns();
	unsigned stats_interval = gen_stats_interval(ops);
	uint64_t next_nd = now, next_stats = now + stats_interval * 1000000000ull;
	struct main_drain drain = {0};

	while (!main_stop) {
		bool tick = now >= next_nd;

		dp_service(dp, now, tick);
		/* Group, weight and state for the metrics: copied once per generation. */
		gen_tick(ops); /* a backend's health changed: republish */
		metrics_sync(gen_cfg(ops), gen_generation(ops));
		ann_tick(ann, ops, now); /* the servable VIPs changed: tell BIRD */
		if (main_draining(&drain, ann, drain_ms, now))
			break;
		if (tick)
			next_nd = now + MAIN_ND_TICK_NS;
		if (gen_stats_interval(ops) != stats_interval) { /* changed by a reload */
			stats_interval = gen_stats_interval(ops);
			next_stats = now + stats_interval * 1000000000ull;
		}
		if (stats_interval != 0 && now >= next_stats) {
			stats_print(dp, stdout);
			next_stats = now + stats_interval * 1000000000ull;
		}
		if (sock != NULL)
			ctl_sock_poll(sock, MAIN_TICK_US / 1000, cmd_handle, ops);
		else
			rte_delay_us_sleep(MAIN_TICK_US);
		now = sph_now_ns();
	}
}

int
main(int argc, char **argv)
{
	struct main_opts o = {0};
	struct sph_cfg *cfg = NULL;
	struct gen *ops = NULL;
	struct ctl_sock *sock = NULL;
	struct dp *dp = NULL;
	struct ann *ann = NULL;
	struct edge *edge = NULL;
	unsigned drain_ms = 0;
	char err[512];
	int sep = argc, rc, ret = EXIT_FAILURE;

	/* Application options follow "--"; they are read, and the configuration checked,
	 * before EAL takes hugepages and devices, so a typo costs nothing. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	/* The check needs no EAL, so it needs no "--" either. */
	if (sep == argc && argc > 1 && strncmp(argv[1], "--check-config", 14) == 0)
		sep = 0; /* every argument is an application option */
	if (sep == argc) {
		fprintf(stderr, "siphon: no \"--\" before the application options\n");
		main_usage(stderr);
		return EXIT_FAILURE;
	}
	if (sep != 0) {
		argv[sep] = argv[0]; /* getopt skips argv[0] */
		rc = main_parse(argc - sep, argv + sep, &o);
		argv[sep] = "--";
	} else {
		rc = main_parse(argc, argv, &o);
	}
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	if (o.check)
		return main_check(o.config);
	if (cfg_load(o.config, &cfg, err, sizeof(err)) != 0) {
		sph_log(SPH_LOG_ERROR, "%s", err);
		return EXIT_FAILURE;
	}
	/* Before the dataplane (and its exception interface) exists, so BIRD has let go
	 * of whatever a previous life announced. Like the socket: optional, said loudly. */
	if (cfg->ann_file[0] != '\0') {
		ann = ann_open(cfg, err, sizeof(err));
		if (ann == NULL)
			sph_log(SPH_LOG_WARNING, "%s; running without announcing the VIPs", err);
		else
			sph_log(SPH_LOG_INFO, "announcing the VIPs in %s through BIRD at %s",
			        cfg->ann_file, cfg->ann_bird_socket);
		drain_ms = cfg->ann_drain_ms;
	}

	if (rte_eal_init(sep, argv) < 0) {
		sph_log(SPH_LOG_ERROR, "EAL: %s", rte_strerror(rte_errno));
		ann_close(ann, 0);
		cfg_free(cfg);
		return EXIT_FAILURE;
	}
	signal(SIGINT, main_signal);
	signal(SIGTERM, main_signal);
	if (o.pdump && main_pdump_init() != 0)
		o.pdump = false;
	cmd_bind(ann, &main_term);
	dp = dp_open(cfg, o.promisc, err, sizeof(err));
	if (dp == NULL) {
		sph_log(SPH_LOG_ERROR, "%s", err);
		goto out;
	}
	if (stats_init(dp) != 0) {
		sph_log(SPH_LOG_ERROR, "cannot register the telemetry commands");
		goto out;
	}
	sph_log(SPH_LOG_INFO, "%u workers, %u ports, %u backends, %u VIPs, scanner %s",
	        dp_nb_workers(dp), cfg->nb_ports, dp_snap(dp)->nb_backends, dp_snap(dp)->nb_vips,
	        sip_scan_name());
	dp_announce(dp);
	/* From here the control plane owns the configuration (gen_free() releases it). */
	ops = gen_create(dp, cfg, o.stats_interval);
	if (ops == NULL) {
		sph_log(SPH_LOG_ERROR, "out of memory for the control plane");
		goto out;
	}
	cfg = NULL;
	/* The SIP-over-TLS/TCP edge (docs/edge.md), on its own thread: optional like the
	 * rest, so a bad certificate never stops UDP forwarding; said loudly. First of the
	 * control plane's parts, before metrics computes the key's check value with
	 * libcrypto: OpenSSL's allocations can then still go to the edge's arena. */
	if (gen_cfg(ops)->edge.nb_tls + gen_cfg(ops)->edge.nb_mtls + gen_cfg(ops)->edge.nb_tcp >
	    0) {
		cpu_set_t workers;
		unsigned lc;

		CPU_ZERO(&workers); /* the edge thread stays off the workers' CPUs */
		RTE_LCORE_FOREACH_WORKER(lc)
		{
			if (rte_lcore_to_cpu_id((int)lc) >= 0)
				CPU_SET((unsigned)rte_lcore_to_cpu_id((int)lc), &workers);
		}
		if (edge_start(gen_cfg(ops), edge_snap_pick, dp, &workers, &edge, err,
		               sizeof(err)) != 0)
			sph_log(SPH_LOG_WARNING, "%s; running without the edge", err);
		else
			sph_log(SPH_LOG_INFO, "edge proxy on");
		cmd_bind_edge(edge); /* show-edge, tls-reload, reload; NULL when it failed */
		metrics_set_edge(edge);
	}
	/* Forwarding matters more than the control socket: without it siphon still runs,
	 * and says so loudly (the socket may be held by another instance). */
	sock = ctl_sock_open(gen_cfg(ops)->ctl_socket, gen_cfg(ops)->ctl_mode,
	                     gen_cfg(ops)->ctl_group, err, sizeof(err));
	if (sock == NULL)
		sph_log(SPH_LOG_WARNING, "control socket: %s; running without one", err);
	else
		sph_log(SPH_LOG_INFO, "control socket %s", gen_cfg(ops)->ctl_socket);
	/* Health checks (SIP OPTIONS from the kernel's stack, docs/health.md): like the
	 * socket, optional; without them siphon forwards by the configured states. */
	if (gen_health_start(ops, err, sizeof(err)) != 0)
		sph_log(SPH_LOG_WARNING, "%s; running without health checks", err);
	else
		sph_log(SPH_LOG_INFO, "health checks %s", gen_health_on(ops) ? "on" : "off");
	/* Like the socket: without metrics siphon still forwards, and says so. */
	if (gen_cfg(ops)->metrics_port != 0) {
		const struct sph_cfg *c = gen_cfg(ops);
		char listen[CFG_ADDR_STRLEN];

		cfg_addr_format(&c->metrics_addr, c->metrics_port, listen, sizeof(listen));
		metrics_sync(c, gen_generation(ops)); /* retried every tick if it failed */
		metrics_set_announce(ann);
		if (metrics_start(dp, listen, err, sizeof(err)) != 0)
			sph_log(SPH_LOG_WARNING, "%s; running without metrics", err);
		else
			sph_log(SPH_LOG_INFO, "metrics on http://%s/metrics", listen);
	}
	fflush(stdout);
	dp_launch(dp);
	main_loop(dp, ops, sock, ann, drain_ms);

	sph_log(SPH_LOG_NOTICE, "stopping");
	if (edge != NULL) {
		edge_print_stats(edge, stdout);
		cmd_bind_edge(NULL);
		metrics_set_edge(NULL);
		edge_stop(edge);
		edge = NULL;
	}
	metrics_stop();
	metrics_set_announce(NULL);
	/* Withdrawn before forwarding stops (already, after a graceful shutdown). */
	ann_close(ann, 1000);
	ann = NULL;
	gen_health_stop(ops); /* no probe, no republish from here on */
	ctl_sock_close(sock);
	sock = NULL;
	dp_stop(dp);
	stats_print(dp, stdout);
	ret = EXIT_SUCCESS;
out:
	cmd_bind_edge(NULL);
	metrics_set_edge(NULL);
	edge_stop(edge);
	metrics_stop(); /* before the snapshot and the workers' counters go */
	metrics_set_announce(NULL);
	metrics_free();
	if (o.pdump)
		rte_pdump_uninit(); /* no capture request is served past here */
	ann_close(ann, 1000);
	dp_close(dp);
	rte_eal_cleanup();
	ctl_sock_close(sock);
	gen_free(ops);
	cfg_free(cfg);
	return ret;
}
