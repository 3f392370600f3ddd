/*
 * test_edge_snap.c - Criterion suite for the daemon's edge picker (control/edge_snap.c):
 * with a real dataplane opened by dp_open() on a net_ring vdev (no hugepages, no NIC, its
 * snapshot published), edge_snap_pick() must choose, for every key, the backend the
 * configuration's own Maglev table and hash key choose (what the workers do), never one
 * the operator set down, and refuse an unknown group.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "siphon/cfg.h"
#include "siphon/dp.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/sph.h"
#include "edge_snap.h"

static const char conf_text[] =
        "hash_key = \"edge-snap-test-key-0123\";\n"
        "ports = ( { name = \"net0\"; device = \"net_ring_edge0\";\n"
        "  addresses = [ \"192.0.2.2/24\" ]; } );\n"
        "groups = ( { name = \"reg\"; backends = (\n"
        "  { name = \"r1\"; address = \"192.0.2.21\"; port = 5090; mac = \"02:00:00:00:00:21\"; "
        "},\n"
        "  { name = \"r2\"; address = \"192.0.2.22\"; port = 5091; mac = \"02:00:00:00:00:22\"; "
        "},\n"
        "  { name = \"r3\"; address = \"192.0.2.23\"; mac = \"02:00:00:00:00:23\"; state = "
        "\"down\"; } ); } );\n";

static struct sph_cfg *cfg;
static struct dp *dp;

static void
setup(void)
{
	char prefix[64], lcores[4096], path[] = "/tmp/test_edge_snap.XXXXXX", err[512];
	char *argv[] = {"test_edge_snap",
	                "--no-huge",
	                "-m",
	                "128",
	                "--no-pci",
	                "--no-shconf",
	                prefix,
	                lcores,
	                "--no-telemetry",
	                "--log-level=*:error",
	                "--vdev",
	                "net_ring_edge0",
	                NULL};
	cpu_set_t cpus;
	size_t k;
	int fd;

	/* Two floating lcores (dp_open() wants a worker; none is launched). */
	snprintf(prefix, sizeof(prefix), "--file-prefix=test_edge_snap_%ld", (long)getpid());
	cr_assert_eq(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	char set[2048];
	size_t o = 0;
	for (int c = 0; c < CPU_SETSIZE && o + 8 < sizeof(set); c++)
		if (CPU_ISSET(c, &cpus))
			o += (size_t)snprintf(set + o, sizeof(set) - o, "%s%d", o ? "," : "", c);
	k = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@(%s),1@(%s)", set, set);
	cr_assert_lt(k, sizeof(lcores));
	cr_assert_geq(rte_eal_init((int)SPH_ARRAY_SIZE(argv) - 1, argv), 0, "rte_eal_init: %s",
	              rte_strerror(rte_errno));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, conf_text, sizeof(conf_text) - 1), (ssize_t)sizeof(conf_text) - 1);
	close(fd);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), 0, "cfg_load: %s", err);
	unlink(path);
	dp = dp_open(cfg, false, err, sizeof(err));
	cr_assert_not_null(dp, "dp_open: %s", err);
}

static void
teardown(void)
{
	dp_close(dp);
	cfg_free(cfg);
	rte_eal_cleanup();
}

TestSuite(edge_snap, .init = setup, .fini = teardown);

Test(edge_snap, picks_as_the_dataplane)
{
	const struct cfg_group *g = cfg_group_find(cfg, "reg");
	struct maglev_backend mb[3];
	struct maglev_table *t = malloc(maglev_table_bytes(cfg->maglev_size));
	struct keyhash kh;
	unsigned hits[3] = {0};

	cr_assert_not_null(g);
	cr_assert_not_null(t);
	for (unsigned i = 0; i < g->nb_backends; i++)
		mb[i] = (struct maglev_backend){.id = g->backends[i].name,
		                                .weight = g->backends[i].weight,
		                                .state = g->backends[i].state};
	cr_assert_eq(maglev_build(t, cfg->maglev_size, mb, g->nb_backends), 0);
	cr_assert_eq(keyhash_init(&kh, cfg->hash_key, cfg->hash_key_len), 0);
	for (unsigned n = 0; n < 2000; n++) {
		char key[64];
		struct cfg_addr a;
		uint16_t port = 0;
		int len = snprintf(key, sizeof(key), "sip:user%u@example.com", n);

		cr_assert_eq(edge_snap_pick(dp, "reg", (const uint8_t *)key, (size_t)len,
		                            EDGE_PICK_FRESH, &a, &port),
		             0, "key %s", key);
		uint16_t want = maglev_lookup(t, keyhash_calc(&kh, key, (size_t)len));
		cr_assert_lt(want, 2, "the table never holds the down backend");
		cr_assert_eq(port, g->backends[want].port, "key %s", key);
		cr_assert_eq(memcmp(a.a, g->backends[want].addr.a, 16), 0, "key %s", key);
		hits[want]++;
	}
	cr_assert_gt(hits[0], 0);
	cr_assert_gt(hits[1], 0);
	struct cfg_addr a;
	uint16_t port;
	cr_assert_eq(edge_snap_pick(dp, "nosuch", (const uint8_t *)"k", 1, 0, &a, &port), -1);
	free(t);
}
