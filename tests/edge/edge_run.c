/*
 * edge_run.c - the edge proxy (control/edge.c) alone, for tests/test_edge.sh: loads a
 * configuration file, starts the edge as the daemon does, and runs until SIGTERM or
 * SIGINT. SIGUSR1 prints the counters ("edge_NAME VALUE" lines) to stdout; so does the
 * exit. SIGHUP reads the file again and reloads the certificates as `siphonctl tls
 * reload` does, printing "reload ok" or "reload failed: WHY". No DPDK: the edge needs
 * none, so its tests run without hugepages or ports.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "siphon/cfg.h"
#include "edge.h"

int
main(int argc, char **argv)
{
	struct sph_cfg *cfg = NULL;
	struct edge *e = NULL;
	char err[512];
	sigset_t set;
	int sig = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: edge_run CONFIG\n");
		return 2;
	}
	/* Blocked before the edge thread starts, so only sigwait() here sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* SIGPIPE keeps its default (death), as in the daemon: the edge must cope. */
	if (cfg_load(argv[1], &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "edge_run: %s\n", err);
		return 1;
	}
	if (edge_start(cfg, NULL, NULL, NULL, &e, err, sizeof(err)) != 0) {
		fprintf(stderr, "edge_run: %s\n", err);
		cfg_free(cfg);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && (sig == SIGUSR1 || sig == SIGHUP)) {
		if (sig == SIGHUP) {
			struct sph_cfg *next = NULL;
			if (cfg_load(argv[1], &next, err, sizeof(err)) == 0 &&
			    edge_tls_reload(e, &next->edge, err, sizeof(err)) == 0)
				printf("reload ok\n");
			else
				printf("reload failed: %s\n", err);
			cfg_free(next);
		} else {
			edge_print_stats(e, stdout);
			printf("end\n");
		}
		fflush(stdout);
	}
	edge_stop(e);
	cfg_free(cfg);
	return 0;
}
