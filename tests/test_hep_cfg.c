/*
 * test_hep_cfg.c - the mirror = { ... } option (control/cfg.c, include/siphon/cfg.h): its
 * defaults, each key's bounds with the reader's exact message, a route to the collector
 * (on a port's segment, through a gateway, or none), cfg_write() round trips, cfg_equal()
 * and cfg_validate() on an edited copy. The dataplane side is test_hep_dp.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "siphon/cfg.h"
#include "siphon/hep.h"

#define ERR_LEN 512
#define BASE                                                                                       \
	"hash_key = \"0123456789abcdef\";\n"                                                       \
	"groups = ( { name = \"core\"; backends = ( { name = \"b1\"; address = \"10.9.0.21\"; } "  \
	"); } );\n"
#define PORT(...) "ports = ( { name = \"net0\"; device = \"net_af_packet0\"; " __VA_ARGS__ " } );\n"
#define ONLINK    PORT("addresses = [ \"10.9.0.2/24\" ];")

/* Load text as a file; @return cfg_load()'s result, *out set, err filled. */
static int
load(const char *text, struct sph_cfg **out, char err[ERR_LEN])
{
	char path[] = "/tmp/test_hep_cfg.XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	rc = cfg_load(path, out, err, ERR_LEN);
	unlink(path);
	return rc;
}

/* cfg written out and read back. */
static struct sph_cfg *
round_trip(const struct sph_cfg *cfg)
{
	char *text = NULL, err[ERR_LEN];
	size_t n = 0;
	struct sph_cfg *back = NULL;
	FILE *f = open_memstream(&text, &n);

	cr_assert_eq(cfg_write(cfg, f), 0);
	fclose(f);
	cr_assert_eq(load(text, &back, err), 0, "%s\n%s", err, text);
	free(text);
	return back;
}

Test(hep_cfg, absent_block_is_off)
{
	struct sph_cfg *cfg;
	char err[ERR_LEN];

	cr_assert_eq(load(BASE ONLINK, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->mirror.port, 0);
	cfg_free(cfg);
}

Test(hep_cfg, defaults_and_every_key)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN];

	cr_assert_eq(load(BASE ONLINK "mirror = { collector = \"10.9.0.50:9060\"; };\n", &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->mirror.port, 9060);
	cr_assert_eq(cfg->mirror.addr.family, 4);
	cr_assert_eq(cfg->mirror.sample, 0);
	cr_assert_eq(cfg->mirror.agent_id, 0);
	cr_assert_eq(cfg->mirror.budget, CFG_MIRROR_BUDGET);
	cr_assert_eq(cfg->mirror.call_timeout, CFG_MIRROR_TIMEOUT);
	cfg_free(cfg);

	cr_assert_eq(load(BASE ONLINK
	                  "mirror = { collector = \"10.9.0.50:9061\"; sample = 1000000; "
	                  "agent_id = 2147483647; budget = 32; call_timeout = 86400; };\n",
	                  &cfg, err),
	             0, "%s", err);
	back = round_trip(cfg);
	cr_assert_eq(back->mirror.port, 9061);
	cr_assert_eq(back->mirror.sample, 1000000);
	cr_assert_eq(back->mirror.agent_id, 2147483647u);
	cr_assert_eq(back->mirror.budget, 32);
	cr_assert_eq(back->mirror.call_timeout, 86400);
	cr_assert(cfg_equal(cfg, back));
	back->mirror.sample = 7;
	cr_assert_not(cfg_equal(cfg, back), "a sampling change is a change");
	back->mirror.sample = cfg->mirror.sample;
	back->mirror.port = 0;
	cr_assert_not(cfg_equal(cfg, back), "removing the mirror is a change");
	cfg_free(back);

	/* Edited in memory: cfg_validate() holds the reader's rules. */
	cfg->mirror.budget = 0;
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "mirror: budget must be 1..32") != NULL, "%s", err);
	cfg->mirror.budget = 1;
	cfg->mirror.sample = CFG_MIRROR_SAMPLE_MAX + 1;
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "mirror: sample must be 0..1000000") != NULL, "%s", err);
	cfg->mirror.sample = 1;
	cfg->mirror.addr.a[12] = 192; /* 192.9.0.50: off every port's prefix, no gateway */
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "collector: not within any port's prefix and no port has a "
	                      "gateway4") != NULL,
	          "%s", err);
	cfg_free(cfg);
}

Test(hep_cfg, ipv6_and_gateways)
{
	struct sph_cfg *cfg;
	const struct cfg_addr *hop, *src;
	unsigned port;
	char err[ERR_LEN];

	/* Off-link: through the port's gateway of its family, from its address. */
	cr_assert_eq(load(BASE PORT("addresses = [ \"10.9.0.2/24\", \"fd00:9::2/64\" ]; "
	                            "gateway6 = \"fd00:9::1\";") "mirror = { collector = "
	                                                         "\"[2001:db8::50]:9060\"; sample "
	                                                         "= 1; };\n",
	                  &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->mirror.addr.family, 6);
	cr_assert_eq(hep_route(cfg, &port, &hop, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(port, 0);
	cr_assert_eq(hop, &cfg->ports[0].gw6);
	cr_assert_eq(src, &cfg->ports[0].addrs[1].addr);
	cfg_free(cfg);

	/* On-link: the collector is its own next hop. */
	cr_assert_eq(load(BASE ONLINK "mirror = { collector = \"10.9.0.77:9060\"; };\n", &cfg, err),
	             0, "%s", err);
	cr_assert_eq(hep_route(cfg, &port, &hop, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(hop, &cfg->mirror.addr);
	cfg_free(cfg);
}

/* Every refusal names the block's line, the item and the problem. */
Test(hep_cfg, refused)
{
	static const struct {
		const char *block, *msg;
	} rows[] = {
	        {"mirror = { sample = 1; };", ":4: mirror: collector is required"},
	        {"mirror = { collector = \"10.9.0.50\"; };", ":4: mirror: collector must be "
	                                                     "\"address:port\""},
	        {"mirror = { collector = \"10.9.0.50:0\"; };", "port must be 1..65535"},
	        {"mirror = { collector = \"10.9.0.50:70000\"; };", "port must be 1..65535"},
	        {"mirror = { collector = \"nowhere:9060\"; };", "collector must be"},
	        {"mirror = { collector = 9060; };", ":4: mirror: collector must be a string"},
	        {"mirror = { collector = \"10.9.0.50:9060\"; sample = -1; };",
	         "mirror: sample must be 0..1000000, got -1"},
	        {"mirror = { collector = \"10.9.0.50:9060\"; budget = 33; };",
	         "mirror: budget must be 1..32, got 33"},
	        {"mirror = { collector = \"10.9.0.50:9060\"; call_timeout = 0; };",
	         "mirror: call_timeout must be 1..86400, got 0"},
	        {"mirror = { collector = \"10.9.0.50:9060\"; rate = 1; };",
	         "mirror: unknown key \"rate\" (known: collector, sample, agent_id, budget, "
	         "call_timeout)"},
	        {"mirror = ( 1 );", "mirror must be a group { ... }"},
	        {"mirror = { collector = \"10.8.0.50:9060\"; };",
	         ":4: mirror: collector: not within any port's prefix and no port has a gateway4"},
	        {"mirror = { collector = \"[fd00:9::50]:9060\"; };",
	         "not within any port's prefix and no port has a gateway6"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char text[1024], err[ERR_LEN];
		struct sph_cfg *cfg = NULL;

		snprintf(text, sizeof(text), "%s%s%s\n", BASE, ONLINK, rows[i].block);
		cr_assert_eq(load(text, &cfg, err), -1, "row %zu loaded", i);
		cr_assert_null(cfg);
		cr_assert(strstr(err, rows[i].msg) != NULL, "row %zu: %s", i, err);
	}
}

/* A tool's configuration (no ports) may carry the block: it sends nothing. */
Test(hep_cfg, no_ports_no_route_check)
{
	struct sph_cfg *cfg;
	char err[ERR_LEN];

	cr_assert_eq(load(BASE "mirror = { collector = \"192.0.2.50:9060\"; };\n", &cfg, err), 0,
	             "%s", err);
	cfg_free(cfg);
}
