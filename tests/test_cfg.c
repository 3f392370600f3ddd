/*
 * test_cfg.c - Criterion suite for the configuration parser (control/cfg.c, include/siphon/cfg.h).
 * Covers: the bundled examples (examples/NAME.conf) load with the values they spell out; a
 * table of bad files, each failing with its exact "file:line: item: problem" message;
 * cfg_write() round trips (every example, a binary and a 1024-byte hash key); the
 * address, prefix and MAC literal parsers and formatters; lookups; and hostile input
 * (random bytes, NULs, every truncation of an example) failing with a message, never a
 * crash. Each test writes its files into its own temporary folder.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "siphon/cfg.h"
#include "siphon/rules.h"
#include "siphon/sph.h"

#define EXAMPLES SIPHON_SOURCE_ROOT "/examples/"
#define ERR_LEN  512

/*
 * libconfig 1.5 (Debian 12) leaks a string token the parser drops on a syntax error
 * (hyperrealm/libconfig#142, fixed in 1.7.3 by #155); the row "string then syntax error"
 * hits it (siphon's own scan now refuses most garbage before libconfig sees it, so that
 * row keeps the case covered). Only that allocation site is excused, so a leak of cfg.c's
 * own still fails the ASan build.
 */
__attribute__((used)) const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n";
}

__attribute__((used)) const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/* ---- per-test temporary folder ---- */

static char tmpdir[] = "/tmp/test_cfg.XXXXXX";
static char written[16][64]; /* names to remove at the end */
static unsigned nb_written;

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void
teardown(void)
{
	char p[256];

	for (unsigned i = 0; i < nb_written; i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, written[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

TestSuite(cfg, .init = setup, .fini = teardown);

/* Writes len bytes to name in the test's folder; returns its path (static storage). */
static const char *
write_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;
	unsigned i;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	for (i = 0; i < nb_written && strcmp(written[i], name) != 0; i++)
		;
	if (i == nb_written && nb_written < SPH_ARRAY_SIZE(written))
		snprintf(written[nb_written++], sizeof(written[0]), "%s", name);
	return path;
}

static int
load_text(const char *text, struct sph_cfg **cfg, char err[ERR_LEN])
{
	return cfg_load(write_file("t.conf", text, strlen(text)), cfg, err, ERR_LEN);
}

/* cfg_write() to a file, then cfg_load() of that file. */
static struct sph_cfg *
write_and_reload(const struct sph_cfg *cfg, const char *name)
{
	char path[256], err[ERR_LEN];
	struct sph_cfg *back;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(name, "", 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(cfg_write(cfg, f), 0, "cfg_write failed");
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(cfg_load(path, &back, err, sizeof(err)), 0,
	             "reloading what cfg_write wrote: %s", err);
	return back;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 16);

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_not_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* ---- the examples ---- */

static struct sph_cfg *
load_example(const char *name)
{
	char path[512], err[ERR_LEN];
	struct sph_cfg *cfg = NULL;

	snprintf(path, sizeof(path), EXAMPLES "%s", name);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), 0, "%s: %s", name, err);
	cr_assert_not_null(cfg);
	return cfg;
}

static void
assert_addr(const struct cfg_addr *a, uint16_t port, const char *want)
{
	char buf[CFG_ADDR_STRLEN];

	cr_assert_str_eq(cfg_addr_format(a, port, buf, sizeof(buf)), want);
}

Test(cfg, example_siphon)
{
	struct sph_cfg *cfg = load_example("siphon.conf");
	const struct cfg_group *g;
	char buf[CFG_PREFIX_STRLEN];

	cr_assert_eq(cfg->hash_key_len, 32);
	cr_assert_eq(cfg->hash_key[0], 0x53);
	cr_assert_eq(cfg->hash_key[31], 0x60);
	cr_assert_eq(cfg->maglev_size, 65537);
	cr_assert_eq(cfg->stats_interval, 10);

	cr_assert_eq(cfg->nb_groups, 1);
	g = &cfg->groups[0];
	cr_assert_str_eq(g->name, "core");
	cr_assert_eq(g->nb_backends, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct cfg_backend *b = &g->backends[i];
		char name[8], addr[16];

		snprintf(name, sizeof(name), "b%u", i + 1);
		snprintf(addr, sizeof(addr), "203.0.113.%u", 21 + i);
		cr_assert_str_eq(b->name, name);
		assert_addr(&b->addr, 0, addr);
		cr_assert_eq(b->addr.family, 4);
		cr_assert_eq(b->port, 5060);
		cr_assert_eq(b->weight, 1);
		cr_assert_eq(b->state, MAGLEV_UP);
		cr_assert_eq(b->has_mac, 0);
		cr_assert_gt(b->line, 0);
	}

	cr_assert_eq(cfg->nb_vips, 2);
	assert_addr(&cfg->vips[0].addr, cfg->vips[0].ports[0], "203.0.113.10:5060");
	assert_addr(&cfg->vips[1].addr, cfg->vips[1].ports[0], "[2001:db8::10]:5060");
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(cfg->vips[i].nb_ports, 1);
		cr_assert_eq(cfg->vips[i].group, 0);
		cr_assert_eq(cfg->vips[i].mode, CFG_VIP_L2DSR);
	}

	cr_assert_eq(cfg->nb_ports, 1);
	cr_assert_str_eq(cfg->ports[0].name, "net0");
	cr_assert_str_eq(cfg->ports[0].device, "net_af_packet0");
	cr_assert_eq(cfg->ports[0].nb_addrs, 2);
	cr_assert_str_eq(cfg_prefix_format(&cfg->ports[0].addrs[0], buf, sizeof(buf)),
	                 "203.0.113.2/24");
	cr_assert_str_eq(cfg_prefix_format(&cfg->ports[0].addrs[1], buf, sizeof(buf)),
	                 "2001:db8::2/64");
	assert_addr(&cfg->ports[0].gw4, 0, "203.0.113.1");
	assert_addr(&cfg->ports[0].gw6, 0, "2001:db8::1");
	cr_assert_str_eq(cfg->path, EXAMPLES "siphon.conf");
	cfg_free(cfg);
}

Test(cfg, example_l2dsr)
{
	struct sph_cfg *cfg = load_example("l2dsr.conf");
	const struct cfg_group *g = cfg_group_find(cfg, "proxies");
	char mac[CFG_MAC_STRLEN];

	cr_assert_not_null(g);
	cr_assert_eq(g->nb_backends, 4);
	cr_assert_eq(g->backends[0].has_mac, 1);
	cr_assert_str_eq(cfg_mac_format(g->backends[0].mac, mac, sizeof(mac)), "02:00:00:00:01:11");
	cr_assert_eq(g->backends[2].weight, 2);
	cr_assert_eq(g->backends[2].has_mac, 0);
	cr_assert_eq(g->backends[3].state, MAGLEV_DRAIN);
	cr_assert_eq(cfg->nb_vips, 2);
	cr_assert_eq(cfg->vips[0].nb_ports, 2);
	cr_assert_eq(cfg->vips[0].ports[1], 5080);
	for (unsigned i = 0; i < cfg->nb_vips; i++)
		cr_assert_eq(cfg->vips[i].mode, CFG_VIP_L2DSR);
	cfg_free(cfg);
}

Test(cfg, example_ipip)
{
	struct sph_cfg *cfg = load_example("ipip.conf");
	const struct cfg_group *east = cfg_group_find(cfg, "east");
	const struct cfg_group *west = cfg_group_find(cfg, "west");

	cr_assert_not_null(east);
	cr_assert_not_null(west);
	assert_addr(&east->backends[0].addr, east->backends[0].port, "10.1.0.11:5060");
	assert_addr(&east->backends[2].addr, east->backends[2].port, "[2001:db8:e::13]:5060");
	cr_assert_eq(west->backends[0].weight, 3);
	cr_assert_eq(west->backends[1].state, MAGLEV_DOWN);
	cr_assert_eq(cfg->nb_vips, 3);
	for (unsigned i = 0; i < cfg->nb_vips; i++)
		cr_assert_eq(cfg->vips[i].mode, CFG_VIP_IPIP);
	cr_assert_eq(cfg->vips[2].group, (unsigned)(west - cfg->groups));
	cfg_free(cfg);
}

Test(cfg, lookups)
{
	struct sph_cfg *cfg = load_example("siphon.conf");
	struct cfg_addr a;
	uint16_t port;

	cr_assert_eq(cfg_addr_parse("203.0.113.10", &a, &port), 0);
	cr_assert_eq(cfg_vip_find(cfg, a.family, a.a, 5060), &cfg->vips[0]);
	cr_assert_null(cfg_vip_find(cfg, a.family, a.a, 5061));
	/* One 16-byte compare serves both families, so the family must tell them apart. */
	cr_assert_null(cfg_vip_find(cfg, 6, a.a, 5060));
	cr_assert_eq(cfg_addr_parse("2001:db8::10", &a, &port), 0);
	cr_assert_eq(cfg_vip_find(cfg, 6, a.a, 5060), &cfg->vips[1]);
	cr_assert_null(cfg_vip_find(NULL, 6, a.a, 5060));
	cr_assert_eq(cfg_group_find(cfg, "core"), &cfg->groups[0]);
	cr_assert_null(cfg_group_find(cfg, "Core"));
	cr_assert_null(cfg_group_find(cfg, NULL));
	cfg_free(cfg);
}

/* ---- bad files: one row each, with the message they must produce ---- */

#define KEY     "hash_key = \"0123456789abcdef\";\n"
#define BE(...) "groups = ( { name = \"core\"; backends = (\n" __VA_ARGS__ "\n); } );\n"
#define GROUP   BE("{ name = \"b1\"; address = \"192.0.2.21\"; }")
#define PORT(...)                                                                                  \
	"ports = ( { name = \"net0\"; device = \"net_af_packet0\";\n" __VA_ARGS__ "\n} );\n"
#define VIP(...) "vips = (\n" __VA_ARGS__ "\n);\n"
#define K16      "0123456789abcdef"
#define K256     K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16
#define K1024    K256 K256 K256 K256

struct bad {
	const char *name;
	const char *text;
	const char *expect; /* a substring of the message, from the line number on */
};

static const struct bad bad_rows[] = {
        /* syntax and literals */
        {"syntax error", KEY "groups = ( {\n", "t.conf:3: syntax error"},
        {"string then syntax error", KEY GROUP "x = \"abc\" }\n", "t.conf:5: syntax error"},
        {"empty file", "", "t.conf: hash_key_hex (or hash_key) is required"},
        {"duplicate setting", KEY GROUP "stats_interval = 1;\nstats_interval = 2;\n",
         "t.conf:6: duplicate setting name"},
        {"wrapped integer",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; weight = 4294967297; }"),
         "t.conf:3: integer 4294967297 does not fit in 32 bits"},
        {"wrapped hex integer", KEY GROUP "stats_interval = 0x100000001;\n",
         "t.conf:5: integer 0x100000001 does not fit in 32 bits"},
        {"wrapped negative", KEY GROUP "stats_interval = -2147483649;\n",
         "t.conf:5: integer -2147483649 does not fit in 32 bits"},
        {"missing include", KEY GROUP "@include \"nope.conf\"\n",
         "t.conf:5: cannot open include file"},
        /* what libconfig 1.5 dropped silently or died of (issue 7 section 6) */
        {"unclosed comment", KEY GROUP "/* vips = ( ... );\nvips = ();\n",
         "t.conf:5: comment /* opened here is never closed"},
        {"unclosed string", KEY GROUP "stats_interval = 1;\nx = \"abc;\nvips = ();\n",
         "t.conf:6: string opened here is never closed"},
        {"empty include", KEY GROUP "@include \"\"\n", "t.conf:5: @include \"\": no file name"},
        {"include of the folder", KEY GROUP "@include \".\"\n",
         "t.conf:5: @include \".\": is a directory, not a file"},
        {"include not alone on its line", KEY GROUP "x = 1; @include \"a.inc\"\n",
         "t.conf:5: @include must start its line"},
        {"include without quotes", KEY GROUP "@include a.inc\n",
         "t.conf:5: @include must be followed by a file name in quotes"},
        {"stray at", KEY GROUP "@inclde \"a.inc\"\n",
         "t.conf:5: '@' only starts an @include \"file\" directive"},
        {"too many settings in a group",
         KEY GROUP "control = { "
                   "a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;\n"
                   "a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;\n"
                   "a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;\n"
                   "a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;a=1;\n"
                   "a=1; };\n",
         "t.conf:9: more than 64 settings in one group"},

        /* top level */
        {"unknown top-level key", KEY GROUP "colour = 1;\n",
         "t.conf:5: unknown key \"colour\" (known: hash_key, hash_key_hex, maglev_size"},
        {"no hash key", GROUP, "t.conf: hash_key_hex (or hash_key) is required"},
        {"hash_key short", "hash_key = \"short\";\n" GROUP,
         "t.conf:1: hash_key must be 16..1024 bytes, got 5"},
        {"hash_key long", "hash_key = \"" K1024 "x\";\n" GROUP,
         "t.conf:1: hash_key must be 16..1024 bytes, got 1025"},
        {"hash_key integer", "hash_key = 5;\n" GROUP,
         "t.conf:1: hash_key must be a string, got an integer"},
        {"hash_key_hex odd", "hash_key_hex = \"" K16 K16 "0\";\n" GROUP,
         "t.conf:1: hash_key_hex must have an even number of hex digits, got 33"},
        {"hash_key_hex not hex", "hash_key_hex = \"" K16 "0g" K16 "\";\n" GROUP,
         "t.conf:1: hash_key_hex must hold hex digits only, got 'g' at 18"},
        {"hash_key_hex short", "hash_key_hex = \"" K16 "0123456789abcd\";\n" GROUP,
         "t.conf:1: hash_key_hex must be 16..1024 bytes (twice as many digits), got 15"},
        {"hash_key_hex long", "hash_key_hex = \"" K1024 K1024 "00\";\n" GROUP,
         "t.conf:1: hash_key_hex must be 16..1024 bytes (twice as many digits), got 1025"},
        {"both hash keys", KEY "hash_key_hex = \"" K16 K16 "\";\n" GROUP,
         "t.conf:2: give hash_key or hash_key_hex, not both"},
        {"maglev_size not prime", KEY GROUP "maglev_size = 65536;\n",
         "t.conf:5: maglev_size must be a prime number, got 65536 (the next prime is 65537)"},
        {"maglev_size too small", KEY GROUP "maglev_size = 1;\n",
         "t.conf:5: maglev_size must be 2..16777213, got 1"},
        {"maglev_size too large", KEY GROUP "maglev_size = 16777259;\n",
         "t.conf:5: maglev_size must be 2..16777213, got 16777259"},
        {"maglev_size float", KEY GROUP "maglev_size = 65537.0;\n",
         "t.conf:5: maglev_size must be an integer, got a float"},
        {"maglev_size below backends",
         KEY "maglev_size = 2;\n" BE("{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
                                     "{ name = \"b2\"; address = \"192.0.2.22\"; },\n"
                                     "{ name = \"b3\"; address = \"192.0.2.23\"; }"),
         "t.conf:2: maglev_size must be at least the backend count of every group, got 2 but "
         "group \"core\" has 3"},
        {"stats_interval too large", KEY GROUP "stats_interval = 3601;\n",
         "t.conf:5: stats_interval must be 0..3600, got 3601"},
        {"stats_interval boolean", KEY GROUP "stats_interval = true;\n",
         "t.conf:5: stats_interval must be an integer, got a boolean"},
        {"dialog_window zero", KEY GROUP "dialog_window = 0;\n",
         "t.conf:5: dialog_window must be 1..86400, got 0"},
        {"dialog_window too large", KEY "dialog_window = 86401;\n" GROUP,
         "t.conf:2: dialog_window must be 1..86400, got 86401"},
        {"frag_fragments too few", KEY GROUP "frag_fragments = 1;\n",
         "t.conf:5: frag_fragments must be 2..64, got 1"},
        {"frag_bytes below a datagram", KEY GROUP "frag_bytes = 65534;\n",
         "t.conf:5: frag_bytes must be 65535..1073741824, got 65534"},
        {"frag_timeout_ms zero", KEY GROUP "frag_timeout_ms = 0;\n",
         "t.conf:5: frag_timeout_ms must be 1..30000, got 0"},
        {"port mtu below 576", KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nmtu = 575;"),
         "t.conf:7: port \"net0\": mtu must be 576..9000, got 575"},
        {"port mtu above 9000", KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nmtu = 9001;"),
         "t.conf:7: port \"net0\": mtu must be 576..9000, got 9001"},
        {"dialog_window negative", KEY GROUP "dialog_window = -1;\n",
         "t.conf:5: dialog_window must be 1..86400, got -1"},
        {"dialog_window string", KEY GROUP "dialog_window = \"120\";\n",
         "t.conf:5: dialog_window must be an integer, got a string"},
        {"dialog_window float", KEY GROUP "dialog_window = 120.0;\n",
         "t.conf:5: dialog_window must be an integer, got a float"},

        /* groups */
        {"no groups", KEY, "t.conf: groups is required"},
        {"empty groups", KEY "groups = ();\n", "t.conf:2: groups must hold at least one group"},
        {"groups not a list", KEY "groups = { name = \"core\"; };\n",
         "t.conf:2: groups must be a list ( { ... }, ... ), got a group { ... }"},
        {"group not a group", KEY "groups = ( \"core\" );\n",
         "t.conf:2: group 1: must be a group { name = ...; backends = ( ... ); }, got a string"},
        {"group without name", KEY "groups = ( {\nbackends = ( ); } );\n",
         "t.conf:2: group 1: name is required"},
        {"group name invalid", KEY "groups = ( {\nname = \"co re\"; } );\n",
         "t.conf:3: group 1: name must be 1..63 characters of A-Z a-z 0-9 . _ -, got \"co re\""},
        {"group without backends", KEY "groups = ( {\nname = \"core\"; } );\n",
         "t.conf:2: group \"core\": backends is required"},
        {"group with no backend", KEY "groups = ( {\nname = \"core\";\nbackends = ( ); } );\n",
         "t.conf:4: group \"core\": backends must hold at least one backend"},
        {"unknown group key", KEY "groups = ( {\nname = \"core\";\nbackend = ( ); } );\n",
         "t.conf:4: group \"core\": unknown key \"backend\" (known: name, backends, "
         "panic_threshold)"},
        {"duplicate group",
         KEY
         "groups = (\n"
         "{ name = \"core\"; backends = ( { name = \"b1\"; address = \"192.0.2.21\"; } ); },\n"
         "{ name = \"core\"; backends = ( { name = \"b2\"; address = \"192.0.2.22\"; } ); }\n);\n",
         "t.conf:4: group \"core\": name is already used by the group at line 3"},

        /* backends */
        {"weight zero", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; weight = 0; }"),
         "t.conf:3: backend \"b1\": weight must be 1..100, got 0"},
        {"weight too large", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; weight = 101; }"),
         "t.conf:3: backend \"b1\": weight must be 1..100, got 101"},
        {"weight string", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; weight = \"1\"; }"),
         "t.conf:3: backend \"b1\": weight must be an integer, got a string"},
        {"weight negative 64-bit",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; weight = -1L; }"),
         "t.conf:3: backend \"b1\": weight must be 1..100, got -1"},
        {"unknown backend key", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; wieght = 1; }"),
         "t.conf:3: backend \"b1\": unknown key \"wieght\" (known: name, address, port, weight, "
         "state, mac)"},
        {"backend without name", KEY BE("{ address = \"192.0.2.21\"; }"),
         "t.conf:3: backend 1 of group \"core\": name is required"},
        {"backend name invalid", KEY BE("{ name = \"b/1\"; address = \"192.0.2.21\"; }"),
         "t.conf:3: backend 1 of group \"core\": name must be 1..63 characters"},
        {"backend name too long",
         KEY BE("{ name = \"" K16 K16 K16 K16 "\"; address = \"192.0.2.21\"; }"),
         "t.conf:3: backend 1 of group \"core\": name must be 1..63 characters of A-Z a-z 0-9 . _ "
         "-, got \"" K16 K16 "01234567...\""},
        {"backend name binary", KEY BE("{ name = \"b\\x01\"; address = \"192.0.2.21\"; }"),
         "t.conf:3: backend 1 of group \"core\": name must be 1..63 characters of A-Z a-z 0-9 . _ "
         "-, got \"b\\x01\""},
        {"backend not a group", KEY "groups = ( { name = \"core\"; backends = (\n\"b1\" ); } );\n",
         "t.conf:3: backend 1 of group \"core\": must be a group { name = ...; address = ...; }, "
         "got a string"},
        {"backend without address", KEY BE("{ name = \"b1\"; }"),
         "t.conf:3: backend \"b1\": address is required"},
        {"address not an address", KEY BE("{ name = \"b1\"; address = \"192.0.2.256\"; }"),
         "t.conf:3: backend \"b1\": address must be an IP address with an optional :port, got "
         "\"192.0.2.256\""},
        {"address host name", KEY BE("{ name = \"b1\"; address = \"sip.example.com\"; }"),
         "t.conf:3: backend \"b1\": address must be an IP address with an optional :port, got "
         "\"sip.example.com\""},
        {"address v4-mapped", KEY BE("{ name = \"b1\"; address = \"::ffff:192.0.2.21\"; }"),
         "t.conf:3: backend \"b1\": address must be an IP address"},
        {"address zone id", KEY BE("{ name = \"b1\"; address = \"fe80::1%eth0\"; }"),
         "t.conf:3: backend \"b1\": address must be an IP address"},
        {"address port zero", KEY BE("{ name = \"b1\"; address = \"192.0.2.21:0\"; }"),
         "t.conf:3: backend \"b1\": address \"192.0.2.21:0\": port must be 1..65535"},
        {"address port too large", KEY BE("{ name = \"b1\"; address = \"[2001:db8::1]:65536\"; }"),
         "t.conf:3: backend \"b1\": address \"[2001:db8::1]:65536\": port must be 1..65535"},
        {"address multicast", KEY BE("{ name = \"b1\"; address = \"224.0.0.1\"; }"),
         "t.conf:3: backend \"b1\": address must be a unicast address, got \"224.0.0.1\""},
        {"address unspecified", KEY BE("{ name = \"b1\"; address = \"::\"; }"),
         "t.conf:3: backend \"b1\": address must be a unicast address, got \"::\""},
        {"port twice", KEY BE("{ name = \"b1\";\naddress = \"192.0.2.21:5080\";\nport = 5060; }"),
         "t.conf:5: backend \"b1\": port is given twice: address 192.0.2.21 already has one"},
        {"port out of range", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; port = 70000; }"),
         "t.conf:3: backend \"b1\": port must be 1..65535, got 70000"},
        {"state unknown", KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; state = \"Up\"; }"),
         "t.conf:3: backend \"b1\": state must be \"up\", \"drain\" or \"down\", got \"Up\""},
        {"mac short",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; mac = \"02:00:00:00:00\"; }"),
         "t.conf:3: backend \"b1\": mac must be six pairs of hex digits like "
         "\"02:00:00:00:00:21\", "
         "got \"02:00:00:00:00\""},
        {"mac multicast",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; mac = \"01:00:5e:00:00:01\"; }"),
         "t.conf:3: backend \"b1\": mac must be a unicast address, got \"01:00:5e:00:00:01\""},
        {"mac zero",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; mac = \"00:00:00:00:00:00\"; }"),
         "t.conf:3: backend \"b1\": mac must be a unicast address"},
        {"duplicate backend in group",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
                "{ name = \"b1\"; address = \"192.0.2.22\"; }"),
         "t.conf:4: backend \"b1\": name is already used by the backend at line 3"},
        {"duplicate backend across groups",
         KEY
         "groups = (\n"
         "{ name = \"g1\"; backends = ( { name = \"b1\"; address = \"192.0.2.21\"; } ); },\n"
         "{ name = \"g2\"; backends = ( { name = \"b1\"; address = \"192.0.2.22\"; } ); }\n);\n",
         "t.conf:4: backend \"b1\": name is already used by the backend at line 3 in group \"g1\""},
        {"duplicate endpoint in group",
         KEY BE("{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
                "{ name = \"b2\"; address = \"192.0.2.21:5060\"; }"),
         "t.conf:4: backend \"b2\": address 192.0.2.21:5060 is already used by backend \"b1\" of "
         "group \"core\""},

        /* VIPs */
        {"vip undefined group", KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"nope\"; }"),
         "t.conf:6: vip 192.0.2.10: group \"nope\" is not defined"},
        {"vip without group", KEY GROUP VIP("{ address = \"192.0.2.10\"; }"),
         "t.conf:6: vip 192.0.2.10: group is required"},
        {"vip without address", KEY GROUP VIP("{ group = \"core\"; }"),
         "t.conf:6: vip 1: address is required"},
        {"vip bad address", KEY GROUP VIP("{ address = \"192.0.2.10/32\"; group = \"core\"; }"),
         "t.conf:6: vip 1: address must be an IP address with an optional :port, got "
         "\"192.0.2.10/32\""},
        {"vip empty ports",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; ports = [ ]; group = \"core\"; }"),
         "t.conf:6: vip 192.0.2.10: ports must hold at least one port"},
        {"vip port zero",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; ports = [ 0 ]; group = \"core\"; }"),
         "t.conf:6: vip 192.0.2.10: ports must be 1..65535, got 0"},
        {"vip port string",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; ports = [ \"5060\" ]; group = \"core\"; }"),
         "t.conf:6: vip 192.0.2.10: ports must be an integer, got a string"},
        {"vip ports a list",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; ports = ( 5060 ); group = \"core\"; }"),
         "t.conf:6: vip 192.0.2.10: ports must be an array like [ 5060 ], got a list ( ... )"},
        {"vip ports twice",
         KEY GROUP VIP(
                 "{ address = \"[2001:db8::10]:5060\";\nports = [ 5060 ]; group = \"core\"; }"),
         "t.conf:7: vip 2001:db8::10: ports are given twice: address [2001:db8::10]:5060 already "
         "has one"},
        {"vip port listed twice",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; ports = [ 5060,\n5060 ]; group = \"core\"; }"),
         "t.conf:7: vip 192.0.2.10: port 5060 is listed twice"},
        {"vip duplicate",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\"; },\n"
                       "{ address = \"192.0.2.10:5060\"; group = \"core\"; }"),
         "t.conf:7: vip 192.0.2.10: port 5060 is already served by the vip at line 6"},
        {"vip mode unknown",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\"; mode = \"dsr\"; }"),
         "t.conf:6: vip 192.0.2.10: mode must be \"l2dsr\" or \"ipip\", got \"dsr\""},
        {"vip unknown key",
         KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\"; port = 5060; }"),
         "t.conf:6: vip 192.0.2.10: unknown key \"port\" (known: address, ports, group, mode, "
         "trusted, blocked"},
        {"vips not a list", KEY GROUP "vips = [ \"192.0.2.10\" ];\n",
         "t.conf:5: vips must be a list ( { ... }, ... ), got an array [ ... ]"},

        /* ports */
        {"port without device",
         KEY GROUP "ports = ( { name = \"net0\"; addresses = [ \"192.0.2.2/24\" ]; } );\n",
         "t.conf:5: port \"net0\": device is required"},
        {"port without addresses", KEY GROUP PORT(""),
         "t.conf:5: port \"net0\": addresses is required"},
        {"port empty addresses", KEY GROUP PORT("addresses = [ ];"),
         "t.conf:6: port \"net0\": addresses must hold at least one address"},
        {"port device too long",
         KEY GROUP "ports = ( { name = \"net0\";\ndevice = \"" K16 K16 K16 K16 K16 K16 K16 K16
                   "\"; } );\n",
         "t.conf:6: port \"net0\": device must be at most 127 characters, got 128"},
        {"port device with space",
         KEY GROUP "ports = ( { name = \"net0\";\ndevice = \"net 0\"; } );\n",
         "t.conf:6: port \"net0\": device must be printable ASCII without spaces, quotes or "
         "backslashes, got \"net 0\""},
        {"port too many addresses",
         KEY GROUP PORT("addresses = [ \"192.0.2.1/24\", \"192.0.2.2/24\", \"192.0.2.3/24\", "
                        "\"192.0.2.4/24\",\n"
                        "\"192.0.2.5/24\", \"192.0.2.6/24\", \"192.0.2.7/24\", \"192.0.2.8/24\", "
                        "\"192.0.2.9/24\" ];"),
         "t.conf:6: port \"net0\": too many addresses: 9, at most 8"},
        {"port address without length", KEY GROUP PORT("addresses = [ \"192.0.2.2\" ];"),
         "t.conf:6: port \"net0\": address must be \"address/length\", got \"192.0.2.2\""},
        {"port prefix too long", KEY GROUP PORT("addresses = [ \"192.0.2.2/33\" ];"),
         "t.conf:6: port \"net0\": address \"192.0.2.2/33\": prefix length must be 0..32"},
        {"port v6 prefix too long", KEY GROUP PORT("addresses = [ \"2001:db8::2/129\" ];"),
         "t.conf:6: port \"net0\": address \"2001:db8::2/129\": prefix length must be 0..128"},
        {"port address listed twice",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\",\n\"192.0.2.2/25\" ];"),
         "t.conf:7: port \"net0\": address \"192.0.2.2/25\" is listed twice"},
        {"port addresses not strings", KEY GROUP PORT("addresses = [ 1 ];"),
         "t.conf:6: port \"net0\": addresses must be a string, got an integer"},
        {"gateway4 is IPv6",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\ngateway4 = \"2001:db8::1\";"),
         "t.conf:7: port \"net0\": gateway4 must be an IPv4 address, got \"2001:db8::1\""},
        {"gateway6 is IPv4",
         KEY GROUP PORT("addresses = [ \"2001:db8::2/64\" ];\ngateway6 = \"192.0.2.1\";"),
         "t.conf:7: port \"net0\": gateway6 must be an IPv6 address, got \"192.0.2.1\""},
        {"gateway off-link",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\ngateway4 = \"198.51.100.1\";"),
         "t.conf:7: port \"net0\": gateway4 198.51.100.1 is not within any IPv4 prefix of the "
         "port's addresses"},
        {"gateway without address of its family",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\ngateway6 = \"2001:db8::1\";"),
         "t.conf:7: port \"net0\": gateway6 2001:db8::1 is not within any IPv6 prefix"},
        {"gateway is own address",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\ngateway4 = \"192.0.2.2\";"),
         "t.conf:7: port \"net0\": gateway4 192.0.2.2 is one of the port's own addresses"},
        {"unknown port key", KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nspeed = 10;"),
         "t.conf:7: port \"net0\": unknown key \"speed\" (known: name, device, addresses, "
         "gateway4, gateway6, exception, udp_checksum, mtu)"},
        {"udp_checksum unknown keyword",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nudp_checksum = \"offload\";"),
         "t.conf:7: port \"net0\": udp_checksum must be \"keep\", \"verify\" or \"fill\", got "
         "\"offload\""},
        {"udp_checksum not a string",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nudp_checksum = true;"),
         "t.conf:7: port \"net0\": udp_checksum must be a string, got a boolean"},
        {"panic_threshold over 100",
         KEY "groups = ( { name = \"core\"; panic_threshold = 101;\nbackends = (\n"
             "{ name = \"b1\"; address = \"192.0.2.21\"; }\n); } );\n",
         "t.conf:2: group \"core\": panic_threshold must be 0..100, got 101"},
        {"panic_threshold negative",
         KEY "groups = ( { name = \"core\"; panic_threshold = -1;\nbackends = (\n"
             "{ name = \"b1\"; address = \"192.0.2.21\"; }\n); } );\n",
         "t.conf:2: group \"core\": panic_threshold must be 0..100, got -1"},
        {"panic_threshold a string",
         KEY "groups = ( { name = \"core\"; panic_threshold = \"50%\";\nbackends = (\n"
             "{ name = \"b1\"; address = \"192.0.2.21\"; }\n); } );\n",
         "t.conf:2: group \"core\": panic_threshold must be an integer, got a string"},
        {"exception empty", KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nexception = \"\";"),
         "t.conf:7: port \"net0\": exception must be a kernel interface name of 1..15 characters "
         "of A-Z a-z 0-9 . _ -, got \"\""},
        {"exception too long",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nexception = \"sph0123456789abc\";"),
         "t.conf:7: port \"net0\": exception must be a kernel interface name of 1..15 characters "
         "of A-Z a-z 0-9 . _ -, got \"sph0123456789abc\""},
        {"exception with a comma",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nexception = \"a,remote=x\";"),
         "t.conf:7: port \"net0\": exception must be a kernel interface name of 1..15 characters "
         "of A-Z a-z 0-9 . _ -, got \"a,remote=x\""},
        {"exception dot", KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nexception = \"..\";"),
         "t.conf:7: port \"net0\": exception must be a kernel interface name of 1..15 characters "
         "of A-Z a-z 0-9 . _ -, got \"..\""},
        {"exception not a string",
         KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\nexception = 1;"),
         "t.conf:7: port \"net0\": exception must be a string, got an integer"},
        {"exception used twice",
         KEY GROUP "ports = (\n"
                   "{ name = \"net0\"; device = \"a\"; addresses = [ \"192.0.2.2/24\" ];\n"
                   "  exception = \"sph0\"; },\n"
                   "{ name = \"net1\"; device = \"b\"; addresses = [ \"192.0.2.3/24\" ];\n"
                   "  exception = \"sph0\"; }\n);\n",
         "t.conf:9: port \"net1\": exception interface \"sph0\" is already used by port \"net0\""},
        {"duplicate port",
         KEY GROUP "ports = (\n"
                   "{ name = \"net0\"; device = \"a\"; addresses = [ \"192.0.2.2/24\" ]; },\n"
                   "{ name = \"net0\"; device = \"b\"; addresses = [ \"192.0.2.3/24\" ]; }\n);\n",
         "t.conf:7: port \"net0\": name is already used by the port at line 6"},
        /* control and metrics */
        {"control not a group", KEY GROUP "control = 5;\n",
         "t.conf:5: control must be a group { ... }, got an integer"},
        {"control unknown key", KEY GROUP "control = { sock = \"/x\"; };\n",
         "t.conf:5: control: unknown key \"sock\" (known: socket, mode, group)"},
        {"control socket empty", KEY GROUP "control = { socket = \"\"; };\n",
         "t.conf:5: control: socket must be a path of 1..107 printable characters"},
        {"control socket long", KEY GROUP "control = { socket = \"/" K256 "\"; };\n",
         "t.conf:5: control: socket must be a path of 1..107"},
        {"control socket space", KEY GROUP "control = { socket = \"/tmp/a b\"; };\n",
         "t.conf:5: control: socket must be a path"},
        {"control mode not octal", KEY GROUP "control = { mode = \"0680\"; };\n",
         "t.conf:5: control: mode must be octal permission bits like \"0660\", got \"0680\""},
        {"control mode integer", KEY GROUP "control = { mode = 432; };\n",
         "t.conf:5: control: mode must be a string, got an integer"},
        {"control mode too large", KEY GROUP "control = { mode = \"1777\"; };\n",
         "t.conf:5: control: mode must be octal permission bits"},
        {"control group bad", KEY GROUP "control = { group = \"a b\"; };\n",
         "t.conf:5: control: group must be 1..63 characters"},
        {"metrics no port", KEY GROUP "metrics = { listen = \"127.0.0.1\"; };\n",
         "t.conf:5: metrics: listen must be \"address:port\""},
        {"metrics bad port", KEY GROUP "metrics = { listen = \"127.0.0.1:0\"; };\n",
         "t.conf:5: metrics: listen \"127.0.0.1:0\": port must be 1..65535"},
        {"metrics host name", KEY GROUP "metrics = { listen = \"localhost:9100\"; };\n",
         "t.conf:5: metrics: listen must be \"address:port\""},
        {"metrics unknown key", KEY GROUP "metrics = { port = 9100; };\n",
         "t.conf:5: metrics: unknown key \"port\" (known: listen)"},
        /* The four "address:port" keys, one reader: each key's own words, whole. */
        {"metrics listen v6 no port", KEY GROUP "metrics = { listen = \"[::1]\"; };\n",
         "t.conf:5: metrics: listen must be \"address:port\" (\"127.0.0.1:9100\", "
         "\"[::1]:9100\") or \"\", got \"[::1]\""},
        {"mirror collector no port", KEY GROUP "mirror = { collector = \"10.9.0.50\"; };\n",
         "t.conf:5: mirror: collector must be \"address:port\" (\"192.0.2.50:9060\", "
         "\"[2001:db8::50]:9060\"), got \"10.9.0.50\""},
        {"mirror collector bad port", KEY GROUP "mirror = { collector = \"[2001:db8::50]:0\"; };\n",
         "t.conf:5: mirror: collector \"[2001:db8::50]:0\": port must be 1..65535"},
        {"edge tcp bad port",
         KEY GROUP "edge = { flow_key = \"" K16
                   "\"; group = \"core\"; tcp = [ \"127.0.0.1:70000\" ]; };\n",
         "t.conf:5: edge: tcp \"127.0.0.1:70000\": port must be 1..65535"},
        {"edge mtls host name",
         KEY GROUP "edge = { flow_key = \"" K16
                   "\"; group = \"core\"; mtls = [ \"localhost:5061\" ]; };\n",
         "t.conf:5: edge: mtls must hold \"address:port\" literals, got \"localhost:5061\""},
        {"edge address host name",
         KEY GROUP "edge = { flow_key = \"" K16
                   "\"; group = \"core\"; address = \"edge.example:5070\"; };\n",
         "t.conf:5: edge: address must be an IP address with an optional :port, got "
         "\"edge.example:5070\""},
        {"edge address unspecified",
         KEY GROUP "edge = { flow_key = \"" K16
                   "\"; group = \"core\"; address = \"0.0.0.0:5070\"; };\n",
         "t.conf:5: edge: address must be a unicast address, got \"0.0.0.0:5070\""},
        {"edge address no port",
         KEY GROUP "edge = { flow_key = \"" K16 "\"; group = \"core\"; address = \"[::1]\"; };\n",
         "t.conf:5: edge: address needs a port, e.g. \"10.0.0.5:5070\""},
        {"edge address bad port",
         KEY GROUP "edge = { flow_key = \"" K16
                   "\"; group = \"core\"; address = \"127.0.0.1:0\"; };\n",
         "t.conf:5: edge: address \"127.0.0.1:0\": port must be 1..65535"},
        /* announce */
        {"announce not a group", KEY GROUP "announce = \"/run/v.conf\";\n",
         "t.conf:5: announce must be a group { ... }, got a string"},
        {"announce no file", KEY GROUP "announce = { shutdown_drain_ms = 10; };\n",
         "t.conf:5: announce: file is required"},
        {"announce relative file", KEY GROUP "announce = { file = \"vips.conf\"; };\n",
         "t.conf:5: announce: file must be an absolute path"},
        {"announce root file", KEY GROUP "announce = { file = \"/\"; };\n",
         "t.conf:5: announce: file must be an absolute path"},
        {"announce file quote", KEY GROUP "announce = { file = \"/run/a\\\"b\"; };\n",
         "t.conf:5: announce: file must be an absolute path"},
        {"announce file long", KEY GROUP "announce = { file = \"/" K256 "\"; };\n",
         "t.conf:5: announce: file must be an absolute path of 2..255"},
        {"announce socket space",
         KEY GROUP "announce = { file = \"/run/v\"; bird_socket = \"/run/b c\"; };\n",
         "t.conf:5: announce: bird_socket must be a path"},
        {"announce interface bad",
         KEY GROUP "announce = { file = \"/run/v\"; interface = \"a/b\"; };\n",
         "t.conf:5: announce: interface must be a kernel interface name"},
        {"announce interface long",
         KEY GROUP "announce = { file = \"/run/v\"; interface = \"abcdefghijklmnop\"; };\n",
         "t.conf:5: announce: interface must be a kernel interface name"},
        {"announce drain too long",
         KEY GROUP "announce = { file = \"/run/v\"; shutdown_drain_ms = 600001; };\n",
         "t.conf:5: announce: shutdown_drain_ms must be 0..600000, got 600001"},
        {"announce unknown key", KEY GROUP "announce = { file = \"/run/v\"; drain = 1; };\n",
         "t.conf:5: announce: unknown key \"drain\" (known: file, bird_socket, interface, "
         "shutdown_drain_ms)"},
        /* health */
        {"health not a group", KEY GROUP "health = true;\n",
         "t.conf:5: health must be a group { ... }, got a boolean"},
        {"health unknown key", KEY GROUP "health = { interval = 5; };\n",
         "t.conf:5: health: unknown key \"interval\" (known: enabled, interval_ms, timeout_ms, "
         "fall, rise, accept, overload_code)"},
        {"health interval small", KEY GROUP "health = { interval_ms = 9; };\n",
         "t.conf:5: health: interval_ms must be 10..3600000, got 9"},
        {"health timeout over interval",
         KEY GROUP "health = { interval_ms = 100;\ntimeout_ms = 200; };\n",
         "t.conf:5: health: timeout must be 1..interval (100) ms, got 200"},
        {"health fall zero", KEY GROUP "health = { fall = 0; };\n",
         "t.conf:5: health: fall must be 1..100, got 0"},
        {"health rise big", KEY GROUP "health = { rise = 101; };\n",
         "t.conf:5: health: rise must be 1..100, got 101"},
        {"health enabled integer", KEY GROUP "health = { enabled = 1; };\n",
         "t.conf:5: health: enabled must be true or false, got an integer"},
        {"health accept 1xx", KEY GROUP "health = { accept = [ 180 ]; };\n",
         "t.conf:5: health: accept code must be 200..699, got 180"},
        {"health accept bad range", KEY GROUP "health = { accept = [ \"299-200\" ]; };\n",
         "t.conf:5: health: accept range \"299-200\" must be within 200..699, low to high"},
        {"health accept words", KEY GROUP "health = { accept = [ \"2xx\" ]; };\n",
         "t.conf:5: health: accept must hold codes (404) or ranges (\"200-299\"), got \"2xx\""},
        {"health accept nothing", KEY GROUP "health = { accept = [ ]; overload_code = 0; };\n",
         "t.conf:5: health: no final response code is accepted"},
        {"health overload 1xx", KEY GROUP "health = { overload_code = 183; };\n",
         "t.conf:5: health: overload_code must be 200..699, or 0 for none, got 183"},
        {"address on two ports",
         KEY GROUP "ports = (\n"
                   "{ name = \"net0\"; device = \"a\"; addresses = [ \"192.0.2.2/24\" ]; },\n"
                   "{ name = \"net1\"; device = \"b\"; addresses = [ \"2001:db8::2/64\", "
                   "\"192.0.2.2/28\" ]; }\n);\n",
         "t.conf:7: port \"net1\": address 192.0.2.2 is already owned by port \"net0\""},
};

ParameterizedTestParameters(cfg, bad)
{
	static size_t idx[SPH_ARRAY_SIZE(bad_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(bad_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(bad_rows));
}

ParameterizedTest(size_t *i, cfg, bad)
{
	const struct bad *r = &bad_rows[*i];
	struct sph_cfg *cfg = (struct sph_cfg *)1;
	char err[ERR_LEN];

	cr_assert_eq(load_text(r->text, &cfg, err), -1, "%s: loaded", r->name);
	cr_assert_null(cfg, "%s: result not NULL on failure", r->name);
	cr_assert_not_null(strstr(err, r->expect), "%s:\n  want ...%s\n  got  %s", r->name,
	                   r->expect, err);
	cr_assert_null(strchr(err, '\n'), "%s: message is not one line: %s", r->name, err);
	/* Messages name the file as the caller did. */
	cr_assert_eq(strncmp(err, tmpdir, strlen(tmpdir)), 0, "%s: %s", r->name, err);
}

/* ---- good files: defaults and the corners that are allowed ---- */

Test(cfg, defaults)
{
	struct sph_cfg *cfg;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\"; }"),
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->maglev_size, MAGLEV_DEFAULT_SIZE);
	cr_assert_eq(cfg->stats_interval, 0);
	cr_assert_eq(cfg->dialog_window, CFG_DIALOG_WINDOW);
	cr_assert_eq(cfg->dialog_window, 120);
	cr_assert_eq(cfg->hash_key_len, 16);
	cr_assert_eq(memcmp(cfg->hash_key, "0123456789abcdef", 16), 0);
	cr_assert_eq(cfg->nb_ports, 0);
	cr_assert_null(cfg->ports);
	cr_assert_eq(cfg->groups[0].backends[0].port, CFG_DEFAULT_PORT);
	cr_assert_eq(cfg->groups[0].backends[0].weight, 1);
	cr_assert_eq(cfg->groups[0].backends[0].state, MAGLEV_UP);
	cr_assert_eq(cfg->groups[0].backends[0].line, 3);
	cr_assert_eq(cfg->nb_vips, 1);
	cr_assert_eq(cfg->vips[0].nb_ports, 1);
	cr_assert_eq(cfg->vips[0].ports[0], CFG_DEFAULT_PORT);
	cr_assert_eq(cfg->vips[0].mode, CFG_VIP_L2DSR);
	cr_assert_eq(cfg->vips[0].line, 6);
	cr_assert_str_eq(cfg->ctl_socket, CFG_CONTROL_SOCKET);
	cr_assert_eq(cfg->ctl_mode, CFG_CONTROL_MODE);
	cr_assert_str_eq(cfg->ctl_group, CFG_CONTROL_GROUP);
	cr_assert_eq(cfg->metrics_port, 0);
	cfg_free(cfg);
}

Test(cfg, control_and_metrics)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP "control = { socket = \"/tmp/s/siphon.sock\"; mode = "
	                                 "\"660\"; group = \"siphon\"; };\n"
	                                 "metrics = { listen = \"[::1]:9100\"; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_str_eq(cfg->ctl_socket, "/tmp/s/siphon.sock");
	cr_assert_eq(cfg->ctl_mode, 0660);
	cr_assert_str_eq(cfg->ctl_group, "siphon");
	cr_assert_eq(cfg->metrics_port, 9100);
	assert_addr(&cfg->metrics_addr, 0, "::1");
	back = write_and_reload(cfg, "cm.conf");
	cr_assert(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);

	/* An empty listen disables metrics; any address may listen, unspecified too. */
	cr_assert_eq(load_text(KEY GROUP "metrics = { listen = \"\"; };\ncontrol = { mode = "
	                                 "\"0600\"; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->metrics_port, 0);
	cr_assert_eq(cfg->ctl_mode, 0600);
	cr_assert_str_eq(cfg->ctl_socket, CFG_CONTROL_SOCKET);
	cfg_free(cfg);
	cr_assert_eq(load_text(KEY GROUP "metrics = { listen = \"0.0.0.0:9100\"; };\n", &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->metrics_port, 9100);
	back = write_and_reload(cfg, "cm2.conf");
	cr_assert(cfg_equal(cfg, back));
	back->ctl_mode = 0640;
	cr_assert_not(cfg_equal(cfg, back));
	back->ctl_mode = cfg->ctl_mode;
	back->metrics_port = 9101;
	cr_assert_not(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);
}

/* The fragment table's limits and a port's mtu: defaults, values, write/reload, and
 * cfg_equal() tells them apart (a reload that changes them needs a restart). */
Test(cfg, frag_and_mtu)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];"), &cfg, err), 0,
	             "%s", err);
	cr_assert_eq(cfg->frag_entries, CFG_FRAG_ENTRIES);
	cr_assert_eq(cfg->frag_fragments, CFG_FRAG_FRAGMENTS);
	cr_assert_eq(cfg->frag_timeout_ms, CFG_FRAG_TIMEOUT_MS);
	cr_assert_eq(cfg->frag_bytes, CFG_FRAG_BYTES);
	cr_assert_eq(cfg->ports[0].mtu, CFG_MTU);
	cfg_free(cfg);
	cr_assert_eq(load_text(KEY GROUP "frag_entries = 0; frag_fragments = 17;\n"
	                                 "frag_timeout_ms = 500; frag_bytes = 1048576;\n" PORT(
	                                         "addresses = [ \"192.0.2.2/24\" ];\nmtu = 9000;"),
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->frag_entries, 0u);
	cr_assert_eq(cfg->frag_fragments, 17u);
	cr_assert_eq(cfg->frag_timeout_ms, 500u);
	cr_assert_eq(cfg->frag_bytes, 1048576u);
	cr_assert_eq(cfg->ports[0].mtu, 9000u);
	back = write_and_reload(cfg, "frag.conf");
	cr_assert(cfg_equal(cfg, back));
	back->ports[0].mtu = 1500;
	cr_assert_not(cfg_equal(cfg, back));
	back->ports[0].mtu = cfg->ports[0].mtu;
	back->frag_timeout_ms = 501;
	cr_assert_not(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);
}

/* announce = { ... }: off when absent, defaults, every key, write/reload, validate. */
Test(cfg, announce)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN];
	FILE *f;
	char *text = NULL;
	size_t n = 0;

	cr_assert_eq(load_text(KEY GROUP, &cfg, err), 0, "%s", err);
	cr_assert_str_eq(cfg->ann_file, "", "absent: not announcing");
	f = open_memstream(&text, &n);
	cr_assert_eq(cfg_write(cfg, f), 0);
	fclose(f);
	cr_assert_null(strstr(text, "announce"), "absent: cfg_write leaves it out");
	free(text);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP "announce = { file = \"/run/siphon/vips.conf\"; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_str_eq(cfg->ann_file, "/run/siphon/vips.conf");
	cr_assert_str_eq(cfg->ann_bird_socket, CFG_ANN_BIRD_SOCKET);
	cr_assert_str_eq(cfg->ann_interface, "");
	cr_assert_eq(cfg->ann_drain_ms, CFG_ANN_DRAIN_MS);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP "announce = { file = \"/tmp/a/v.conf\"; bird_socket = "
	                                 "\"/tmp/b.ctl\"; interface = \"sph0\"; "
	                                 "shutdown_drain_ms = 0; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_str_eq(cfg->ann_bird_socket, "/tmp/b.ctl");
	cr_assert_str_eq(cfg->ann_interface, "sph0");
	cr_assert_eq(cfg->ann_drain_ms, 0);
	back = write_and_reload(cfg, "ann.conf");
	cr_assert_str_eq(back->ann_file, "/tmp/a/v.conf");
	cr_assert_str_eq(back->ann_bird_socket, "/tmp/b.ctl");
	cr_assert_str_eq(back->ann_interface, "sph0");
	cr_assert_eq(back->ann_drain_ms, 0);
	cfg_free(back);

	/* Edited in memory: cfg_validate() holds the reader's rules. */
	cfg->ann_drain_ms = CFG_ANN_DRAIN_MAX + 1;
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "announce: shutdown_drain_ms must be 0..600000") != NULL, "%s", err);
	cfg->ann_drain_ms = 10;
	snprintf(cfg->ann_file, sizeof(cfg->ann_file), "relative");
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "announce: file must be an absolute path") != NULL, "%s", err);
	f = open_memstream(&text, &n);
	cr_assert_eq(cfg_write(cfg, f), -1, "an unloadable announce block is not written");
	fclose(f);
	free(text);
	cfg_free(cfg);
}

/* health = { ... }: defaults, every key, codes and ranges, write/reload, equal, validate. */
Test(cfg, health)
{
	struct sph_cfg *cfg, *back;
	struct cfg_health def;
	char err[ERR_LEN];

	cfg_health_default(&def);
	cr_assert_eq(def.enabled, 1);
	cr_assert_eq(def.interval_ms, 1000);
	cr_assert_eq(def.timeout_ms, 1000);
	cr_assert_eq(def.fall, 3);
	cr_assert_eq(def.rise, 2);
	cr_assert_eq(def.overload_code, 503);
	cr_assert_eq(load_text(KEY GROUP, &cfg, err), 0, "%s", err);
	cr_assert_eq(memcmp(&cfg->health, &def, sizeof(def)), 0, "no block: the defaults");
	back = write_and_reload(cfg, "h0.conf");
	cr_assert(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP
	                       "health = { enabled = false; interval_ms = 200; timeout_ms "
	                       "= 150;\nfall = 5; rise = 1; accept = ( \"200-299\", 404, "
	                       "\"486\" ); overload_code = 0; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->health.enabled, 0);
	cr_assert_eq(cfg->health.interval_ms, 200);
	cr_assert_eq(cfg->health.timeout_ms, 150);
	cr_assert_eq(cfg->health.fall, 5);
	cr_assert_eq(cfg->health.rise, 1);
	cr_assert_eq(cfg->health.overload_code, 0);
	for (unsigned c = 200; c < 700; c++)
		cr_assert_eq((cfg->health.accept[c / 64] >> (c % 64)) & 1u,
		             (c <= 299 || c == 404 || c == 486) ? 1u : 0u, "code %u", c);
	back = write_and_reload(cfg, "h1.conf");
	cr_assert(cfg_equal(cfg, back), "write and reload keep the health block");
	back->health.fall = 4;
	cr_assert_not(cfg_equal(cfg, back));
	back->health.fall = cfg->health.fall;
	back->health.accept[405 / 64] |= UINT64_C(1) << (405 % 64);
	cr_assert_not(cfg_equal(cfg, back));
	cfg_free(back);

	/* A list may mix codes and ranges; one range alone needs no brackets. */
	cfg_free(cfg);
	cr_assert_eq(
	        load_text(KEY GROUP "health = { accept = ( 200, \"300-399\" ); };\n", &cfg, err), 0,
	        "%s", err);
	cr_assert_eq(cfg->health.accept[250 / 64] >> (250 % 64) & 1u, 0);
	cr_assert_eq(cfg->health.accept[350 / 64] >> (350 % 64) & 1u, 1);
	cfg_free(cfg);
	cr_assert_eq(load_text(KEY GROUP "health = { accept = \"200-699\"; };\n", &cfg, err), 0,
	             "%s", err);

	/* cfg_validate() applies the same rules to edited copies; interval 0 means "no block"
	 * (a configuration assembled in memory), which is valid and not written. */
	back = cfg_dup(cfg);
	back->health.timeout_ms = 2000;
	cr_assert_eq(cfg_validate(back, err, ERR_LEN), -1);
	cr_assert_not_null(strstr(err, "health: timeout must be 1..interval (1000) ms, got 2000"),
	                   "%s", err);
	memset(&back->health, 0, sizeof(back->health));
	cr_assert_eq(cfg_validate(back, err, ERR_LEN), 0, "%s", err);
	cfg_free(back);
	cfg_free(cfg);
}

/* dialog_window: its bounds load, a set value survives cfg_write(), cfg_equal() sees it,
 * cfg_validate() holds an edited copy to the same range, with the exact messages. */
Test(cfg, dialog_window)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN], want[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP "dialog_window = 1;\n", &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->dialog_window, 1);
	cfg_free(cfg);
	cr_assert_eq(load_text(KEY "dialog_window = 86400;\n" GROUP, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->dialog_window, 86400);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP "dialog_window = 8;\n", &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->dialog_window, 8);
	back = write_and_reload(cfg, "dw.conf");
	cr_assert_eq(back->dialog_window, 8);
	cr_assert(cfg_equal(cfg, back));
	back->dialog_window = CFG_DIALOG_WINDOW;
	cr_assert_not(cfg_equal(cfg, back));
	cr_assert_eq(cfg_validate(back, err, sizeof(err)), 0, "%s", err);
	back->dialog_window = 0;
	cr_assert_eq(cfg_validate(back, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/dw.conf: dialog_window must be 1..86400, got 0", tmpdir);
	cr_assert_str_eq(err, want);
	back->dialog_window = CFG_DIALOG_WINDOW_MAX + 1;
	cr_assert_eq(cfg_validate(back, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/dw.conf: dialog_window must be 1..86400, got 86401",
	         tmpdir);
	cr_assert_str_eq(err, want);
	cfg_free(back);
	cfg_free(cfg);

	/* The exact whole message, file and line included. */
	cr_assert_eq(load_text(KEY GROUP "dialog_window = 0;\n", &cfg, err), -1);
	cr_assert_null(cfg);
	snprintf(want, sizeof(want), "%s/t.conf:5: dialog_window must be 1..86400, got 0", tmpdir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(load_text(KEY "dialog_window = 86401;\n" GROUP, &cfg, err), -1);
	snprintf(want, sizeof(want), "%s/t.conf:2: dialog_window must be 1..86400, got 86401",
	         tmpdir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(load_text(KEY GROUP "dialog_window = true;\n", &cfg, err), -1);
	snprintf(want, sizeof(want), "%s/t.conf:5: dialog_window must be an integer, got a boolean",
	         tmpdir);
	cr_assert_str_eq(err, want);
}

/* cfg_dup() copies deeply; cfg_validate() applies cfg_load()'s rules to edited copies. */
Test(cfg, dup_and_validate)
{
	struct sph_cfg *cfg = load_example("ipip.conf"), *d;
	struct cfg_backend *b;
	char err[ERR_LEN];

	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), 0, "%s", err);
	d = cfg_dup(cfg);
	cr_assert_not_null(d);
	cr_assert(cfg_equal(cfg, d));
	cr_assert_neq(d->groups, cfg->groups);
	cr_assert_neq(d->groups[0].backends, cfg->groups[0].backends);
	cr_assert_neq(d->hash_key, cfg->hash_key);
	cr_assert_str_eq(d->path, cfg->path);
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);

	b = &d->groups[0].backends[0];
	b->weight = 0;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "weight must be 1..100, got 0"), "%s", err);
	cr_assert_not_null(strstr(err, b->name), "%s", err);
	cr_assert_eq(cfg->groups[0].backends[0].weight, 1, "the original changed");
	b->weight = 1;

	/* A duplicate name across groups, added at run time (line 0: no file position). */
	snprintf(d->groups[1].backends[0].name, CFG_NAME_MAX, "%s", b->name);
	d->groups[1].backends[0].line = 0;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "name is already used"), "%s", err);
	cr_assert_eq(strncmp(err, "backend \"", 9), 0, "%s", err);
	snprintf(d->groups[1].backends[0].name, CFG_NAME_MAX, "%s",
	         cfg->groups[1].backends[0].name);
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);

	/* Same address and port twice in a group. */
	d->groups[0].backends[1].addr = b->addr;
	d->groups[0].backends[1].port = b->port;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "is already used by backend"), "%s", err);
	d->groups[0].backends[1] = cfg->groups[0].backends[1];

	/* Not unicast; bad state; bad MAC; a VIP naming no group; maglev_size. */
	memset(b->addr.a, 0, 16);
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "unicast"), "%s", err);
	*b = cfg->groups[0].backends[0];
	b->state = 7;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	b->state = MAGLEV_DOWN;
	b->has_mac = 1;
	memset(b->mac, 0xff, 6);
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "mac must be a unicast address"), "%s", err);
	b->has_mac = 0;
	d->vips[0].group = d->nb_groups;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	d->vips[0].group = 0;
	d->maglev_size = 65536;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "maglev_size must be a prime"), "%s", err);
	d->maglev_size = 2;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "exceed maglev_size 2"), "%s", err);
	d->maglev_size = cfg->maglev_size;
	d->ctl_mode = 01000;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "control: mode"), "%s", err);
	d->ctl_mode = cfg->ctl_mode;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg_validate(NULL, err, sizeof(err)), -1);
	cr_assert_null(cfg_dup(NULL));
	cfg_free(d);
	cfg_free(cfg);
}

/* A group's panic_threshold and a port's udp_checksum: defaults, read, written back,
 * compared, validated. */
Test(cfg, panic_threshold_and_udp_checksum)
{
	struct sph_cfg *cfg, *back, *d;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];"), &cfg, err), 0,
	             "%s", err);
	cr_assert_eq(cfg->groups[0].panic_threshold, CFG_PANIC_THRESHOLD);
	cr_assert_eq(cfg->groups[0].panic_threshold, 50);
	cr_assert_eq(cfg->ports[0].udp_csum, CFG_CSUM_KEEP);
	cfg_free(cfg);

	static const struct {
		const char *kw;
		uint8_t v;
	} kws[] = {{"keep", CFG_CSUM_KEEP}, {"verify", CFG_CSUM_VERIFY}, {"fill", CFG_CSUM_FILL}};
	for (size_t i = 0; i < SPH_ARRAY_SIZE(kws); i++) {
		char text[1024];

		snprintf(text, sizeof(text),
		         KEY "groups = ( { name = \"core\"; panic_threshold = %zu;\nbackends = (\n"
		             "{ name = \"b1\"; address = \"192.0.2.21\"; }\n); } );\n" PORT(
		                     "addresses = [ \"192.0.2.2/24\" ];\nudp_checksum = \"%s\";"),
		         i * 50, kws[i].kw);
		cr_assert_eq(load_text(text, &cfg, err), 0, "%s: %s", kws[i].kw, err);
		cr_assert_eq(cfg->groups[0].panic_threshold, i * 50);
		cr_assert_eq(cfg->ports[0].udp_csum, kws[i].v);
		back = write_and_reload(cfg, "pc.conf");
		cr_assert(cfg_equal(cfg, back), "%s: not written back", kws[i].kw);
		back->ports[0].udp_csum = (uint8_t)((kws[i].v + 1) % 3);
		cr_assert_not(cfg_equal(cfg, back));
		back->ports[0].udp_csum = kws[i].v;
		back->groups[0].panic_threshold++;
		cr_assert_not(cfg_equal(cfg, back));
		cfg_free(back);
		cfg_free(cfg);
	}

	cr_assert_eq(load_text(KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];"), &cfg, err), 0,
	             "%s", err);
	d = cfg_dup(cfg);
	cr_assert_not_null(d);
	cr_assert_eq(d->groups[0].panic_threshold, 50);
	d->groups[0].panic_threshold = 101;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "panic_threshold must be 0..100, got 101"), "%s", err);
	d->groups[0].panic_threshold = 0;
	d->ports[0].udp_csum = 3;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "udp_checksum must be"), "%s", err);
	d->ports[0].udp_csum = CFG_CSUM_FILL;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	cfg_free(d);
	cfg_free(cfg);
}

/* A port's exception interface: read, written back, compared, validated. */
Test(cfg, exception_interface)
{
	struct sph_cfg *cfg, *back, *d;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];\n"
	                                      "exception = \"sph-0.a_b123456\";"),
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_str_eq(cfg->ports[0].exception, "sph-0.a_b123456");
	back = write_and_reload(cfg, "exc.conf");
	cr_assert(cfg_equal(cfg, back));
	back->ports[0].exception[0] = '\0';
	cr_assert_not(cfg_equal(cfg, back));
	cfg_free(back);

	d = cfg_dup(cfg);
	cr_assert_not_null(d);
	cr_assert_str_eq(d->ports[0].exception, "sph-0.a_b123456");
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	snprintf(d->ports[0].exception, sizeof(d->ports[0].exception), "a b");
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "exception must be a kernel interface name"), "%s", err);
	memset(d->ports[0].exception, 'x', sizeof(d->ports[0].exception)); /* no NUL */
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	d->ports[0].exception[0] = '\0';
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	cfg_free(d);
	cfg_free(cfg);

	/* Absent: no exception path, and cfg_write() leaves the key out. */
	cr_assert_eq(load_text(KEY GROUP PORT("addresses = [ \"192.0.2.2/24\" ];"), &cfg, err), 0,
	             "%s", err);
	cr_assert_str_eq(cfg->ports[0].exception, "");
	back = write_and_reload(cfg, "noexc.conf");
	cr_assert(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);
}

Test(cfg, allowed_corners)
{
	struct sph_cfg *cfg;
	char err[ERR_LEN];

	/* A port in the VIP address, a 64-bit literal, limits at both ends, empty lists,
	 * a VIP before the group it names, one address on two VIP entries with other ports,
	 * a 63-character name, a backend sharing an endpoint with one in another group. */
	cr_assert_eq(
	        load_text(
	                "vips = (\n"
	                "{ address = \"[2001:db8::10]:5080\"; group = \"g2\"; mode = \"ipip\"; },\n"
	                "{ address = \"2001:db8::10\"; ports = [ 5060, 65535 ]; group = \"g1\"; }\n"
	                ");\n"
	                "hash_key = \"" K1024 "\";\n"
	                "maglev_size = 3L;\n"
	                "stats_interval = 3600;\n"
	                "ports = ();\n"
	                "groups = (\n"
	                "{ name = \"g1\"; backends = (\n"
	                "  { name = \"" K16 K16 K16 "0123456789abcde\"; address = \"10.0.0.1\";"
	                "    weight = 100; state = \"down\"; port = 1; },\n"
	                "  { name = \"A.b_c-9\"; address = \"10.0.0.2:65535\"; state = \"drain\"; "
	                "}\n"
	                "); },\n"
	                "{ name = \"g2\"; backends = ( { name = \"x\"; address = \"10.0.0.1:1\"; } "
	                "); }\n"
	                ");\n",
	                &cfg, err),
	        0, "%s", err);
	cr_assert_eq(cfg->hash_key_len, 1024);
	cr_assert_eq(cfg->maglev_size, 3);
	cr_assert_eq(cfg->stats_interval, 3600);
	cr_assert_eq(cfg->nb_ports, 0);
	cr_assert_eq(cfg->nb_vips, 2);
	cr_assert_eq(cfg->vips[0].group, 1);
	cr_assert_eq(cfg->vips[0].ports[0], 5080);
	cr_assert_eq(cfg->vips[0].mode, CFG_VIP_IPIP);
	cr_assert_eq(cfg->vips[1].nb_ports, 2);
	cr_assert_eq(cfg->vips[1].ports[1], 65535);
	cr_assert_eq(strlen(cfg->groups[0].backends[0].name), 63);
	cr_assert_eq(cfg->groups[0].backends[0].weight, 100);
	cr_assert_eq(cfg->groups[0].backends[0].port, 1);
	cr_assert_eq(cfg->groups[0].backends[1].port, 65535);
	cr_assert_eq(cfg->groups[0].backends[1].state, MAGLEV_DRAIN);
	cfg_free(cfg);
}

Test(cfg, include)
{
	char err[ERR_LEN], want[256], main[256];
	struct sph_cfg *cfg;

	/* @include resolves from the main file's folder, whatever the working directory. */
	write_file("backends.inc",
	           "{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	           "{ name = \"b2\"; address = \"192.0.2.22\"; }\n",
	           strlen("{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	                  "{ name = \"b2\"; address = \"192.0.2.22\"; }\n"));
	snprintf(main, sizeof(main), "%s",
	         write_file("main.conf",
	                    KEY "groups = ( { name = \"core\"; backends = (\n@include "
	                        "\"backends.inc\"\n); } );\n",
	                    strlen(KEY "groups = ( { name = \"core\"; backends = (\n"
	                               "@include \"backends.inc\"\n); } );\n")));
	cr_assert_eq(chdir("/"), 0);
	cr_assert_eq(cfg_load(main, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg->groups[0].nb_backends, 2);
	/* Long after the load (an edited copy checked by cfg_validate()), an object read
	 * from the included file is still reported at its own file and line. */
	{
		struct sph_cfg *d = cfg_dup(cfg);

		cr_assert_not_null(d);
		cr_assert_str_eq(cfg_where(d, d->groups[0].backends[1].file), cfg_where(cfg, 1));
		d->groups[0].backends[1].weight = 0;
		cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
		snprintf(want, sizeof(want),
		         "%s/backends.inc:2: backend \"b2\": weight must be 1..100, got 0", tmpdir);
		cr_assert_str_eq(err, want);
		cr_assert_eq(d->groups[0].file, 0u, "the group is in the main file");
		cfg_free(d);
	}
	cfg_free(cfg);

	/* A problem inside the included file names that file and its line. */
	write_file("backends.inc",
	           "{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	           "{ name = \"b2\"; address = \"192.0.2.22\"; weight = 0; }\n",
	           strlen("{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	                  "{ name = \"b2\"; address = \"192.0.2.22\"; weight = 0; }\n"));
	cr_assert_eq(cfg_load(main, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s/backends.inc:2: backend \"b2\": weight must be 1..100, got 0", tmpdir);
	cr_assert_str_eq(err, want);

	/* So does an integer libconfig would wrap. */
	write_file("backends.inc",
	           "\n{ name = \"b1\"; address = \"192.0.2.21\"; weight = 4294967296; }\n",
	           strlen("\n{ name = \"b1\"; address = \"192.0.2.21\"; weight = 4294967296; }\n"));
	cr_assert_eq(cfg_load(main, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/backends.inc:2: integer 4294967296 does not fit", tmpdir);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

/* cfg_validate() runs the reader's own rules on an edited copy: the same text, at the
 * object's line in the file it was read from. */
Test(cfg, validate_shares_rules)
{
	struct sph_cfg *cfg = load_example("l2dsr.conf"), *d = cfg_dup(cfg);
	char err[ERR_LEN], want[ERR_LEN];
	struct cfg_backend *b = &d->groups[0].backends[0];

	cr_assert_not_null(d);
	/* A VIP port taken by an earlier VIP. */
	d->vips[1].addr = d->vips[0].addr;
	d->vips[1].ports[0] = 5080;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s:48: vip 198.51.100.10: port 5080 is already served by the vip at line 47",
	         d->path);
	cr_assert_str_eq(err, want);
	d->vips[1].addr = cfg->vips[1].addr;
	d->vips[1].ports[0] = cfg->vips[1].ports[0];
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);

	/* The checks of the key rows: a name, a state, a multicast MAC. */
	strcpy(b->name, "no spaces");
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, ": backend \"no spaces\": name must be 1..63 characters"),
	                   "%s", err);
	strcpy(b->name, "px1");
	b->state = 3;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "backend \"px1\": state must be \"up\", \"drain\" or"), "%s",
	                   err);
	b->state = MAGLEV_UP;
	b->mac[0] = 1;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "backend \"px1\": mac must be a unicast address"), "%s",
	                   err);
	b->mac[0] = 2;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	cfg_free(d);
	cfg_free(cfg);
}

/* libconfig 1.5 exit()ed on an @include of a folder and blocked on a FIFO; siphon reads
 * includes itself, opened without blocking, regular files only, nested 10 deep at most. */
Test(cfg, include_refused)
{
	char err[ERR_LEN], want[512], sub[256], fifo[256], deep[256];
	struct sph_cfg *cfg = (struct sph_cfg *)1;
	const char *p;

	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	cr_assert_eq(mkdir(sub, 0700), 0, "%s", strerror(errno));
	p = write_file("t.conf", KEY GROUP "@include \"sub\"\n",
	               strlen(KEY GROUP "@include \"sub\"\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	cr_assert_null(cfg);
	snprintf(want, sizeof(want), "%s/t.conf:5: @include \"sub\": is a directory, not a file",
	         tmpdir);
	cr_assert_str_eq(err, want);
	rmdir(sub);

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "%s", strerror(errno));
	p = write_file("t.conf", KEY GROUP "@include \"fifo\"\n",
	               strlen(KEY GROUP "@include \"fifo\"\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:5: @include \"fifo\": is not a regular file",
	         tmpdir);
	cr_assert_str_eq(err, want);
	/* Nor may the main file be one: a reload would wait for a writer forever. */
	cr_assert_eq(cfg_load(fifo, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: is not a regular file", fifo);
	cr_assert_str_eq(err, want);
	unlink(fifo);

	/* A file including itself stops at the depth bound, at the innermost directive. */
	p = write_file("self.inc", "@include \"self.inc\"\n", strlen("@include \"self.inc\"\n"));
	p = write_file("t.conf", KEY GROUP "@include \"self.inc\"\n",
	               strlen(KEY GROUP "@include \"self.inc\"\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(deep, sizeof(deep), "%s/self.inc:1: @include nested deeper than 10 files", tmpdir);
	cr_assert_str_eq(err, deep);

	/* An unclosed comment inside an included file names that file and its line. */
	write_file("c.inc", "\n\n/* never closed\n", strlen("\n\n/* never closed\n"));
	p = write_file("t.conf", KEY GROUP "@include \"c.inc\"\n",
	               strlen(KEY GROUP "@include \"c.inc\"\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/c.inc:3: comment /* opened here is never closed", tmpdir);
	cr_assert_str_eq(err, want);

	/* A NUL would end the text libconfig reads: the rest of the file would vanish. */
	p = write_file("t.conf", KEY GROUP "# \0\nvips = ();\n", strlen(KEY GROUP) + 15);
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:5: NUL byte in the file", tmpdir);
	cr_assert_str_eq(err, want);

	/* Lines after an include, on the directive's line and below, keep their numbers. */
	write_file("two.inc",
	           "{ name = \"b2\"; address = \"192.0.2.22\"; },\n"
	           "{ name = \"b3\"; address = \"192.0.2.23\"; }",
	           strlen("{ name = \"b2\"; address = \"192.0.2.22\"; },\n"
	                  "{ name = \"b3\"; address = \"192.0.2.23\"; }"));
	p = write_file("t.conf",
	               KEY "groups = ( { name = \"core\"; backends = (\n"
	                   "{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	                   "  @include \"two.inc\" , { name = \"b4\"; address = \"192.0.2.24\"; }\n"
	                   "); } );\nstats_interval = 7;\nmaglev_size = 4;\n",
	               strlen(KEY "groups = ( { name = \"core\"; backends = (\n"
	                          "{ name = \"b1\"; address = \"192.0.2.21\"; },\n"
	                          "  @include \"two.inc\" , { name = \"b4\"; address = "
	                          "\"192.0.2.24\"; }\n"
	                          "); } );\nstats_interval = 7;\nmaglev_size = 4;\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:7: maglev_size must be a prime number", tmpdir);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

/* The file and its includes may hold CFG_FILE_MAX bytes in all; beyond, a clear error
 * before anything is parsed. */
Test(cfg, file_bound)
{
	char err[ERR_LEN], want[512], path[256];
	struct sph_cfg *cfg = (struct sph_cfg *)1;
	const char *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s", write_file("big.conf", "", strlen("")));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(ftruncate(fileno(f), (off_t)CFG_FILE_MAX + 1), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), -1);
	cr_assert_null(cfg);
	snprintf(want, sizeof(want),
	         "%s: file is larger than the 16 MiB a configuration may hold (CFG_FILE_MAX, "
	         "@include files counted)",
	         path);
	cr_assert_str_eq(err, want);

	/* Counted over the includes too: the same big file included is refused at the line. */
	p = write_file("t.conf", KEY GROUP "@include \"big.conf\"\n",
	               strlen(KEY GROUP "@include \"big.conf\"\n"));
	cr_assert_eq(cfg_load(p, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/t.conf:5: @include \"big.conf\" is larger than", tmpdir);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

/* 10^5 backends (two groups: one Maglev table holds at most 65534) and 10^4 groups with a
 * VIP each load whole: each VIP finds its group by a search that is not linear. */
Test(cfg, many)
{
	enum { NB = 100000, HALF = NB / 2, NG = 10000 };
	size_t cap = (size_t)NB * 80 + 4096, o = 0;
	char *text = malloc(cap), err[ERR_LEN];
	struct sph_cfg *cfg;

	cr_assert_not_null(text);
	o += (size_t)snprintf(text + o, cap - o, KEY "groups = (\n");
	for (unsigned i = 0; i < NB; i++) {
		if (i % HALF == 0)
			o += (size_t)snprintf(text + o, cap - o,
			                      "%s{ name = \"g%u\"; backends = (\n",
			                      i ? "); },\n" : "", i / HALF);
		o += (size_t)snprintf(text + o, cap - o,
		                      "%s{ name = \"b%u\"; address = \"10.%u.%u.%u\"; }\n",
		                      i % HALF ? "," : "", i, i >> 16, (i >> 8) & 0xff, i & 0xff);
	}
	o += (size_t)snprintf(text + o, cap - o, "); } );\n");
	cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->nb_groups, 2);
	cr_assert_eq(cfg->groups[0].nb_backends + cfg->groups[1].nb_backends, NB);
	cr_assert_str_eq(cfg->groups[1].name, "g1");
	cr_assert_str_eq(cfg->groups[1].backends[HALF - 1].name, "b99999");
	cfg_free(cfg);

	o = (size_t)snprintf(text, cap, KEY "maglev_size = 3;\ngroups = (\n");
	for (unsigned i = 0; i < NG; i++)
		o += (size_t)snprintf(text + o, cap - o,
		                      "{ name = \"g%u\"; backends = ( { name = \"b%u\"; "
		                      "address = \"10.0.%u.%u\"; } ); }%s\n",
		                      i, i, i >> 8, i & 0xff, i + 1 < NG ? "," : "");
	o += (size_t)snprintf(text + o, cap - o, ");\nvips = (\n");
	for (unsigned i = 0; i < NG; i++)
		o += (size_t)snprintf(text + o, cap - o,
		                      "{ address = \"11.0.%u.%u\"; group = \"g%u\"; }%s\n", i >> 8,
		                      i & 0xff, NG - 1 - i, i + 1 < NG ? "," : "");
	snprintf(text + o, cap - o, ");\n");
	cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->nb_vips, NG);
	for (unsigned i = 0; i < NG; i++)
		cr_assert_eq(cfg->vips[i].group, NG - 1 - i, "vip %u", i);
	cfg_free(cfg);
	free(text);
}

/* Literals in strings and comments, floats and 64-bit literals are not integers to check. */
Test(cfg, integer_scan_skips)
{
	struct sph_cfg *cfg;
	char err[ERR_LEN];

	cr_assert_eq(load_text("# 99999999999\n// 99999999999\n/* 99999999999\n 99999999999 */\n"
	                       "hash_key = \"99999999999999999\";\n" GROUP
	                       "stats_interval = 00000000000000000010;\n"
	                       "vips = ( { address = \"192.0.2.10\"; group = \"core\"; ports = [ "
	                       "0x13C4 ]; } );\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->stats_interval, 10);
	cr_assert_eq(cfg->vips[0].ports[0], 5060);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP "maglev_size = 99999999999L;\n", &cfg, err), -1);
	cr_assert_not_null(
	        strstr(err, "t.conf:5: maglev_size must be 2..16777213, got 99999999999"), "%s",
	        err);
	cr_assert_eq(load_text(KEY GROUP "maglev_size = 1e99;\n", &cfg, err), -1);
	cr_assert_not_null(strstr(err, "t.conf:5: maglev_size must be an integer, got a float"),
	                   "%s", err);
}

Test(cfg, file_problems)
{
	struct sph_cfg *cfg = (struct sph_cfg *)1;
	char err[ERR_LEN], want[256], path[256], small[8];

	snprintf(want, sizeof(want), "%s/none.conf: cannot open: No such file or directory",
	         tmpdir);
	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), -1);
	cr_assert_null(cfg);
	cr_assert_str_eq(err, want);

	cr_assert_eq(cfg_load(tmpdir, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: is a directory, not a configuration file", tmpdir);
	cr_assert_str_eq(err, want);

	/* A short buffer gets a truncated, terminated message; none at all is allowed. */
	cr_assert_eq(cfg_load(tmpdir, &cfg, small, sizeof(small)), -1);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(cfg_load(tmpdir, &cfg, NULL, 0), -1);
	cr_assert_eq(cfg_load(tmpdir, &cfg, small, 0), -1);
	cr_assert_eq(cfg_load(NULL, &cfg, err, sizeof(err)), -1);
	cr_assert_eq(cfg_load(tmpdir, NULL, err, sizeof(err)), -1);
	cfg_free(NULL);
}

/* ---- cfg_write() ---- */

static void
round_trip(struct sph_cfg *cfg)
{
	struct sph_cfg *back = write_and_reload(cfg, "w1.conf"), *again;
	char p1[256], p2[256];
	size_t n1, n2;
	char *t1, *t2;

	cr_assert(cfg_equal(cfg, back), "reloaded configuration differs");
	cr_assert(cfg_equal(back, cfg));
	/* The text is a function of the configuration alone: writing it again is a no-op. */
	again = write_and_reload(back, "w2.conf");
	snprintf(p1, sizeof(p1), "%s/w1.conf", tmpdir);
	snprintf(p2, sizeof(p2), "%s/w2.conf", tmpdir);
	t1 = slurp(p1, &n1);
	t2 = slurp(p2, &n2);
	cr_assert_eq(n1, n2);
	cr_assert_eq(memcmp(t1, t2, n1), 0);
	free(t1);
	free(t2);
	cfg_free(again);
	cfg_free(back);
}

Test(cfg, write_examples)
{
	static const char *const names[] = {"siphon.conf", "l2dsr.conf", "ipip.conf"};

	for (size_t i = 0; i < SPH_ARRAY_SIZE(names); i++) {
		struct sph_cfg *cfg = load_example(names[i]);

		round_trip(cfg);
		cfg_free(cfg);
	}
}

Test(cfg, write_binary_keys)
{
	static const size_t lens[] = {CFG_KEY_MIN, 33, CFG_KEY_MAX};
	char text[4096], hex[2 * CFG_KEY_MAX + 1], err[ERR_LEN];
	struct sph_cfg *cfg;
	uint64_t s = 42;

	for (size_t l = 0; l < SPH_ARRAY_SIZE(lens); l++) {
		uint8_t key[CFG_KEY_MAX];

		/* Every byte value matters, NUL (first and last) and 0xff above all. */
		for (size_t i = 0; i < lens[l]; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			key[i] = i == 0 || i + 1 == lens[l] ? 0
			         : i == 1                   ? 0xff
			                                    : (uint8_t)(s >> 56);
		}
		for (size_t i = 0; i < lens[l]; i++) {
			hex[2 * i] = "0123456789ABCDEF"[key[i] >> 4];
			hex[2 * i + 1] = "0123456789ABCDEF"[key[i] & 15];
		}
		hex[2 * lens[l]] = '\0';
		snprintf(text, sizeof(text), "hash_key_hex = \"%s\";\n" GROUP, hex);
		cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
		cr_assert_eq(cfg->hash_key_len, lens[l]);
		cr_assert_eq(memcmp(cfg->hash_key, key, lens[l]), 0);
		round_trip(cfg);
		cfg_free(cfg);
	}

	/* A text key with escapes keeps its bytes and comes back as hex. */
	cr_assert_eq(load_text("hash_key = \"\\x01\\x7f\\xfe \\\"quoted\\\" \\\\ \\t\";\n" GROUP,
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->hash_key_len, 16);
	cr_assert_eq(memcmp(cfg->hash_key, "\x01\x7f\xfe \"quoted\" \\ \t", 16), 0);
	round_trip(cfg);
	cfg_free(cfg);
}

Test(cfg, write_refuses)
{
	struct sph_cfg *cfg = load_example("siphon.conf");
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	cr_assert_eq(cfg_write(NULL, f), -1);
	cr_assert_eq(cfg_write(cfg, NULL), -1);
	cfg->groups[0].backends[1].state = 7;
	cr_assert_eq(cfg_write(cfg, f), -1);
	cfg->groups[0].backends[1].state = MAGLEV_UP;
	cfg->vips[1].group = 1;
	cr_assert_eq(cfg_write(cfg, f), -1);
	cfg->vips[1].group = 0;
	cfg->ports[0].gw4.family = 6;
	cr_assert_eq(cfg_write(cfg, f), -1);
	cfg->ports[0].gw4.family = 4;
	strcpy(cfg->groups[0].name, "no spaces allowed");
	cr_assert_eq(cfg_write(cfg, f), -1);
	cr_assert_eq(ftell(f), 0, "a refused write must write nothing");
	strcpy(cfg->groups[0].name, "core");
	cr_assert_eq(cfg_write(cfg, f), 0);
	cr_assert_gt(ftell(f), 0);
	fclose(f);
	cfg_free(cfg);
}

Test(cfg, equal)
{
	struct sph_cfg *a = load_example("siphon.conf"), *b = load_example("siphon.conf");

	cr_assert(cfg_equal(a, b));
	b->groups[0].backends[2].weight = 2;
	cr_assert_not(cfg_equal(a, b));
	b->groups[0].backends[2].weight = 1;
	b->hash_key[5] ^= 1;
	cr_assert_not(cfg_equal(a, b));
	b->hash_key[5] ^= 1;
	b->vips[1].ports[0] = 5061;
	cr_assert_not(cfg_equal(a, b));
	b->vips[1].ports[0] = 5060;
	b->ports[0].addrs[1].len = 65;
	cr_assert_not(cfg_equal(a, b));
	b->ports[0].addrs[1].len = 64;
	b->groups[0].backends[0].line = 99; /* where a value was written is not the value */
	cr_assert(cfg_equal(a, b));
	cr_assert(cfg_equal(NULL, NULL));
	cr_assert_not(cfg_equal(a, NULL));
	cfg_free(a);
	cfg_free(b);
}

/* ---- literals ---- */

struct addr_row {
	const char *in;
	int rc;
	uint8_t family;
	uint16_t port;
	const char *out; /* cfg_addr_format() of the result */
};

static const struct addr_row addr_rows[] = {
        {"192.0.2.1", 0, 4, 0, "192.0.2.1"},
        {"192.0.2.1:5060", 0, 4, 5060, "192.0.2.1:5060"},
        {"255.255.255.255:65535", 0, 4, 65535, "255.255.255.255:65535"},
        {"0.0.0.0:1", 0, 4, 1, "0.0.0.0:1"},
        {"192.0.2.1:05060", 0, 4, 5060, "192.0.2.1:5060"},
        {"2001:db8::1", 0, 6, 0, "2001:db8::1"},
        {"2001:DB8:0:0:0:0:0:1", 0, 6, 0, "2001:db8::1"},
        {"[2001:db8::1]", 0, 6, 0, "2001:db8::1"},
        {"[2001:db8::1]:5060", 0, 6, 5060, "[2001:db8::1]:5060"},
        {"2001:db8::1:5060", 0, 6, 0, "2001:db8::1:5060"}, /* no brackets: all address */
        {"::1", 0, 6, 0, "::1"},
        {"::", 0, 6, 0, "::"},
        {"[::]:1", 0, 6, 1, "[::]:1"},
        {"64:ff9b::192.0.2.1", 0, 6, 0, "64:ff9b::c000:201"},
        {"192.0.2.1:0", -2, 0, 0, NULL},
        {"192.0.2.1:65536", -2, 0, 0, NULL},
        {"192.0.2.1:99999999999999999999", -2, 0, 0, NULL},
        {"[2001:db8::1]:0", -2, 0, 0, NULL},
        {"[2001:db8::1]:70000", -2, 0, 0, NULL},
        {"192.0.2.1:", -1, 0, 0, NULL},
        {"192.0.2.1:x", -1, 0, 0, NULL},
        {"192.0.2.1:50 60", -1, 0, 0, NULL},
        {"192.0.2.1:-1", -1, 0, 0, NULL},
        {"192.0.2.1:+5", -1, 0, 0, NULL},
        {"192.0.2.256", -1, 0, 0, NULL},
        {"192.0.2", -1, 0, 0, NULL},
        {"192.0.2.1.5", -1, 0, 0, NULL},
        {" 192.0.2.1", -1, 0, 0, NULL},
        {"192.0.2.1 ", -1, 0, 0, NULL},
        {"", -1, 0, 0, NULL},
        {":5060", -1, 0, 0, NULL},
        {"[]:5060", -1, 0, 0, NULL},
        {"[192.0.2.1]", -1, 0, 0, NULL},
        {"[192.0.2.1]:5060", -1, 0, 0, NULL},
        {"[2001:db8::1", -1, 0, 0, NULL},
        {"[2001:db8::1]5060", -1, 0, 0, NULL},
        {"[2001:db8::1]:", -1, 0, 0, NULL},
        {"[[2001:db8::1]]", -1, 0, 0, NULL},
        {"2001:db8::1::2", -1, 0, 0, NULL},
        {"fe80::1%eth0", -1, 0, 0, NULL},
        {"::ffff:192.0.2.1", -1, 0, 0, NULL}, /* write IPv4 as IPv4 */
        {"[::ffff:192.0.2.1]:5060", -1, 0, 0, NULL},
        {"sip.example.com", -1, 0, 0, NULL},
        {"sip.example.com:5060", -1, 0, 0, NULL},
        {"192.0.2.1/24", -1, 0, 0, NULL},
        {"1111:2222:3333:4444:5555:6666:7777:8888:9999", -1, 0, 0, NULL},
        {"[1111:2222:3333:4444:5555:6666:255.255.255.255555555555]", -1, 0, 0, NULL},
};

Test(cfg, addr_parse)
{
	char buf[CFG_ADDR_STRLEN];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(addr_rows); i++) {
		const struct addr_row *r = &addr_rows[i];
		struct cfg_addr a, back;
		uint16_t port = 77, bport;
		int rc;

		memset(&a, 0xaa, sizeof(a));
		rc = cfg_addr_parse(r->in, &a, &port);
		cr_assert_eq(rc, r->rc, "\"%s\": rc %d, want %d", r->in, rc, r->rc);
		if (rc != 0)
			continue;
		cr_assert_eq(a.family, r->family, "\"%s\"", r->in);
		cr_assert_eq(port, r->port, "\"%s\": port %u", r->in, port);
		cr_assert_str_eq(cfg_addr_format(&a, port, buf, sizeof(buf)), r->out, "\"%s\"",
		                 r->in);
		/* What format writes, parse reads back to the same bytes. */
		cr_assert_eq(cfg_addr_parse(buf, &back, &bport), 0, "\"%s\"", buf);
		cr_assert_eq(memcmp(&a, &back, sizeof(a)), 0, "\"%s\"", r->in);
		cr_assert_eq(bport, port);
		if (a.family == 4) {
			static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
			                                   0, 0, 0, 0, 0xff, 0xff};

			cr_assert_eq(memcmp(a.a, mapped, 12), 0, "\"%s\": not stored mapped",
			             r->in);
		}
	}
}

Test(cfg, addr_parse_edges)
{
	char longbuf[2048];
	struct cfg_addr a;
	uint16_t port;

	memset(longbuf, '1', sizeof(longbuf) - 1);
	longbuf[sizeof(longbuf) - 1] = '\0';
	cr_assert_eq(cfg_addr_parse(longbuf, &a, &port), -1);
	longbuf[0] = '[';
	cr_assert_eq(cfg_addr_parse(longbuf, &a, &port), -1);
	memcpy(longbuf, "192.0.2.1:", 10);
	cr_assert_eq(cfg_addr_parse(longbuf, &a, &port), -2);
	cr_assert_eq(cfg_addr_parse(NULL, &a, &port), -1);
	cr_assert_eq(cfg_addr_parse("192.0.2.1", NULL, &port), -1);
	cr_assert_eq(cfg_addr_parse("192.0.2.1:80", &a, NULL), 0);
}

Test(cfg, addr_format_edges)
{
	struct cfg_addr a, none = {0};
	char buf[CFG_ADDR_STRLEN], tiny[6];

	cr_assert_eq(cfg_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a, NULL), 0);
	cfg_addr_format(&a, 65535, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	cr_assert_lt(strlen(buf), CFG_ADDR_STRLEN);
	cr_assert_eq(cfg_addr_format(&a, 65535, tiny, sizeof(tiny)), tiny);
	cr_assert_str_eq(tiny, "[ffff");
	cr_assert_str_eq(cfg_addr_format(&none, 0, buf, sizeof(buf)), "?");
	cr_assert_null(cfg_addr_format(&a, 0, NULL, 10));
	tiny[0] = 'x';
	cfg_addr_format(&a, 0, tiny, 0);
	cr_assert_eq(tiny[0], 'x');
}

Test(cfg, prefix_parse)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} rows[] = {
	        {"192.0.2.2/24", 0, "192.0.2.2/24"},
	        {"192.0.2.2/0", 0, "192.0.2.2/0"},
	        {"192.0.2.2/32", 0, "192.0.2.2/32"},
	        {"2001:db8::2/64", 0, "2001:db8::2/64"},
	        {"2001:DB8::2/128", 0, "2001:db8::2/128"},
	        {"192.0.2.2/33", -2, NULL},
	        {"2001:db8::2/129", -2, NULL},
	        {"192.0.2.2", -1, NULL},
	        {"192.0.2.2/", -1, NULL},
	        {"192.0.2.2/2x", -1, NULL},
	        {"192.0.2.2/-1", -1, NULL},
	        {"192.0.2.2/0024", -1, NULL},
	        {"192.0.2.2/24/8", -1, NULL},
	        {"[2001:db8::2]/64", -1, NULL},
	        {"192.0.2.2:80/24", -1, NULL},
	        {"::ffff:192.0.2.2/120", -1, NULL},
	        {"/24", -1, NULL},
	        {"", -1, NULL},
	};
	char buf[CFG_PREFIX_STRLEN];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++) {
		struct cfg_prefix p;
		int rc = cfg_prefix_parse(rows[i].in, &p);

		cr_assert_eq(rc, rows[i].rc, "\"%s\": rc %d", rows[i].in, rc);
		if (rc == 0)
			cr_assert_str_eq(cfg_prefix_format(&p, buf, sizeof(buf)), rows[i].out);
	}
	cr_assert_eq(cfg_prefix_parse(NULL, NULL), -1);
}

Test(cfg, mac_parse)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} rows[] = {
	        {"02:00:00:00:00:21", 0, "02:00:00:00:00:21"},
	        {"AA:bb:Cc:dD:ee:FF", 0, "aa:bb:cc:dd:ee:ff"},
	        {"01:00:5e:00:00:01", 0, "01:00:5e:00:00:01"}, /* parses; the file refuses it */
	        {"02:00:00:00:00", -1, NULL},
	        {"02:00:00:00:00:21:", -1, NULL},
	        {"02-00-00-00-00-21", -1, NULL},
	        {"0200.0000.0021", -1, NULL},
	        {"2:0:0:0:0:21", -1, NULL},
	        {"02:00:00:00:00:2g", -1, NULL},
	        {"", -1, NULL},
	};
	char buf[CFG_MAC_STRLEN];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++) {
		uint8_t mac[6];
		int rc = cfg_mac_parse(rows[i].in, mac);

		cr_assert_eq(rc, rows[i].rc, "\"%s\": rc %d", rows[i].in, rc);
		if (rc == 0)
			cr_assert_str_eq(cfg_mac_format(mac, buf, sizeof(buf)), rows[i].out);
	}
	cr_assert_eq(cfg_mac_parse(NULL, NULL), -1);
}

Test(cfg, names_and_keywords)
{
	char n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	cr_assert(cfg_name_valid("core"));
	cr_assert(cfg_name_valid("A.b_c-9"));
	cr_assert(cfg_name_valid(n63));
	cr_assert_not(cfg_name_valid(n64));
	cr_assert_not(cfg_name_valid(""));
	cr_assert_not(cfg_name_valid(NULL));
	cr_assert_not(cfg_name_valid("a b"));
	cr_assert_not(cfg_name_valid("a/b"));
	cr_assert_not(cfg_name_valid("\xc3\xa9"));

	cr_assert_str_eq(cfg_state_name(MAGLEV_UP), "up");
	cr_assert_str_eq(cfg_state_name(MAGLEV_DRAIN), "drain");
	cr_assert_str_eq(cfg_state_name(MAGLEV_DOWN), "down");
	cr_assert_str_eq(cfg_state_name(3), "unknown");
	cr_assert_str_eq(cfg_mode_name(CFG_VIP_L2DSR), "l2dsr");
	cr_assert_str_eq(cfg_mode_name(CFG_VIP_IPIP), "ipip");
	cr_assert_str_eq(cfg_mode_name(255), "unknown");
	for (uint8_t s = 0; s <= MAGLEV_DOWN; s++)
		cr_assert_eq(cfg_state_parse(cfg_state_name(s)), s);
	for (uint8_t m = 0; m <= CFG_VIP_IPIP; m++)
		cr_assert_eq(cfg_mode_parse(cfg_mode_name(m)), m);
	cr_assert_eq(cfg_state_parse("unknown"), -1);
	cr_assert_eq(cfg_state_parse(NULL), -1);
	cr_assert_eq(cfg_mode_parse("IPIP"), -1);
}

/* ---- hostile input ---- */

static void
assert_fails_cleanly(const void *data, size_t len, const char *what)
{
	struct sph_cfg *cfg = (struct sph_cfg *)1;
	char err[ERR_LEN];
	const char *path = write_file("h.conf", data, len);

	cr_assert_eq(cfg_load(path, &cfg, err, sizeof(err)), -1, "%s: loaded", what);
	cr_assert_null(cfg);
	cr_assert_gt(strlen(err), strlen(path), "%s: no message", what);
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s: %s", what, err);
}

Test(cfg, garbage)
{
	static uint8_t buf[4096];
	uint64_t s = 1;

	for (unsigned round = 0; round < 200; round++) {
		size_t len = (size_t)(round * 37 % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			/* Half the rounds stay within the config alphabet, to get further in. */
			buf[i] = round % 2 ? (uint8_t)s
			                   : (uint8_t)("{}()[];=\",:#/*\n 0123456789abk_."[s % 32]);
		}
		assert_fails_cleanly(buf, len, "random bytes");
	}
	memset(buf, 0, sizeof(buf));
	assert_fails_cleanly(buf, sizeof(buf), "NULs");
	assert_fails_cleanly(KEY GROUP "\0stats_interval = 1;\n",
	                     sizeof(KEY GROUP "\0stats_interval = 1;\n") - 1, "embedded NUL");
	assert_fails_cleanly("\xef\xbb\xbf" KEY GROUP, strlen("\xef\xbb\xbf" KEY GROUP), "BOM");
	assert_fails_cleanly(KEY GROUP "x = \"unterminated;\n",
	                     strlen(KEY GROUP "x = \"unterminated;\n"), "unterminated string");
}

/* Every prefix of a valid file either loads or fails with a message; the whole loads. */
Test(cfg, truncations)
{
	char path[512], *text;
	size_t len;

	snprintf(path, sizeof(path), EXAMPLES "siphon.conf");
	text = slurp(path, &len);
	for (size_t n = 0; n <= len; n++) {
		struct sph_cfg *cfg = (struct sph_cfg *)1;
		char err[ERR_LEN];
		const char *p = write_file("cut.conf", text, n);
		int rc = cfg_load(p, &cfg, err, sizeof(err));

		if (rc == 0) {
			cr_assert_not_null(cfg);
			cfg_free(cfg);
		} else {
			cr_assert_eq(rc, -1);
			cr_assert_null(cfg);
			cr_assert_gt(strlen(err), 0, "prefix of %zu bytes: no message", n);
		}
		if (n == len)
			cr_assert_eq(rc, 0, "whole file: %s", err);
	}
	free(text);
}

/* Many backends and VIP ports: duplicate checks sort rather than compare all pairs, and
 * still point at the first repeat in file order. */
Test(cfg, large)
{
	enum { NB = 20000 };
	size_t cap = (size_t)NB * 80 + 4096, o = 0;
	char *text = malloc(cap), err[ERR_LEN];
	struct sph_cfg *cfg;

	cr_assert_not_null(text);
	o += (size_t)snprintf(text + o, cap - o, KEY "groups = ( { name = \"big\"; backends = (\n");
	for (unsigned i = 0; i < NB; i++)
		o += (size_t)snprintf(text + o, cap - o,
		                      "{ name = \"b%u\"; address = \"10.%u.%u.%u\"; },\n", i,
		                      i >> 16, (i >> 8) & 0xff, i & 0xff);
	o += (size_t)snprintf(text + o, cap - o,
	                      "{ name = \"last\"; address = \"11.0.0.1\"; }\n); } );\n");
	cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->groups[0].nb_backends, NB + 1);
	cfg_free(cfg);

	/* Backend 12345 (line 12348) reuses the name of backend 7 (line 10). */
	text[0] = '\0';
	o = (size_t)snprintf(text, cap, KEY "groups = ( { name = \"big\"; backends = (\n");
	for (unsigned i = 0; i < NB; i++)
		o += (size_t)snprintf(text + o, cap - o,
		                      "{ name = \"b%u\"; address = \"10.%u.%u.%u\"; },\n",
		                      i == 12345 ? 7 : i, i >> 16, (i >> 8) & 0xff, i & 0xff);
	snprintf(text + o, cap - o, "{ name = \"last\"; address = \"11.0.0.1\"; }\n); } );\n");
	cr_assert_eq(load_text(text, &cfg, err), -1);
	cr_assert_not_null(strstr(err, "t.conf:12348: backend \"b7\": name is already used by the "
	                               "backend at line 10"),
	                   "%s", err);
	free(text);
}

/* edge = { ... }: off without the block, defaults, every key, write/reload, the rules. */
#define EDGE_MIN                                                                                   \
	"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "            \
	"\"core\"; flow_key = \"" K16 "\"; };\n"

Test(cfg, edge)
{
	struct sph_cfg *cfg, *back;
	char err[ERR_LEN];

	cr_assert_eq(load_text(KEY GROUP, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->edge.nb_tls + cfg->edge.nb_mtls + cfg->edge.nb_tcp, 0, "absent: off");
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP
	                       "vips = ( { address = \"127.0.0.9\"; group = \"core\"; } );\n"
	                       "edge = { tcp = [ \"127.0.0.9:5060\" ]; address = "
	                       "\"127.0.0.1:5070\"; group = \"core\"; flow_key = \"" K16 "\"; };\n",
	                       &cfg, err),
	             0, "a listener on a VIP: %s", err);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP EDGE_MIN, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg->edge.nb_tcp, 1);
	assert_addr(&cfg->edge.tcp[0].addr, cfg->edge.tcp[0].port, "127.0.0.1:5060");
	assert_addr(&cfg->edge.address.addr, cfg->edge.address.port, "127.0.0.1:5070");
	cr_assert_eq(cfg->edge.max_header, 8192);
	cr_assert_eq(cfg->edge.max_message, 65535);
	cr_assert_eq(cfg->edge.max_conns, 100000);
	cr_assert_eq(cfg->edge.idle_timeout_s, 900);
	cr_assert_eq(cfg->edge.message_timeout_ms, 10000);
	cr_assert_eq(cfg->edge.client_verify, CFG_EDGE_VERIFY_REQUIRED);
	cr_assert_eq(cfg->edge.transactions, 16384);
	cr_assert_eq(cfg->edge.t1_ms, 500);
	cr_assert_str_eq(cfg->edge.flow_key, K16);
	round_trip(cfg);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP
	                       "edge = { tls = [ \"127.0.0.1:5061\", \"[::1]:5061\" ];\n"
	                       "mtls = [ \"127.0.0.1:5062\" ]; address = \"[::1]:5070\";\n"
	                       "group = \"core\"; flow_key = \"" K16 K16 "\";\n"
	                       "certs = [ \"/e/a.pem\", \"/e/r.pem\" ]; keys = [ \"/e/a.key\", "
	                       "\"/e/r.key\" ];\n"
	                       "client_ca = \"/e/ca.pem\"; client_verify = \"optional\";\n"
	                       "ciphers = \"ECDHE+AESGCM\"; ciphersuites = "
	                       "\"TLS_AES_128_GCM_SHA256\";\n"
	                       "max_header = 4096; max_message = 16384; max_msgs_per_sec = 7;\n"
	                       "max_conns_per_ip = 3; max_conns = 50; handshake_timeout_ms = 500;\n"
	                       "idle_timeout_s = 30; message_timeout_ms = 250; };\n",
	                       &cfg, err),
	             0, "%s", err);
	cr_assert_eq(cfg->edge.nb_tls, 2);
	cr_assert_eq(cfg->edge.nb_mtls, 1);
	cr_assert_eq(cfg->edge.nb_certs, 2);
	cr_assert_str_eq(cfg->edge.keys[1], "/e/r.key");
	cr_assert_eq(cfg->edge.client_verify, CFG_EDGE_VERIFY_OPTIONAL);
	cr_assert_eq(cfg->edge.max_conns_per_ip, 3);
	cr_assert_eq(cfg->edge.idle_timeout_s, 30);
	cr_assert_eq(cfg->edge.message_timeout_ms, 250);
	back = write_and_reload(cfg, "edge.conf");
	cr_assert(cfg_equal(cfg, back));
	cr_assert_str_eq(back->edge.ciphersuites, "TLS_AES_128_GCM_SHA256");
	back->edge.max_conns = 51;
	cr_assert_not(cfg_equal(cfg, back), "an edge change is a change");
	cfg_free(back);
	/* Edited in memory: cfg_validate() holds the reader's rules. */
	snprintf(cfg->edge.group, sizeof(cfg->edge.group), "nosuch");
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "edge: group \"nosuch\" is not defined") != NULL, "%s", err);
	snprintf(cfg->edge.group, sizeof(cfg->edge.group), "core");
	cfg->edge.idle_timeout_s = 0;
	cr_assert_eq(cfg_validate(cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "idle_timeout_s must be 1..86400") != NULL, "%s", err);
	cfg_free(cfg);

	static const struct {
		const char *text, *want;
	} bad[] = {
	        {"edge = { address = \"127.0.0.1:5070\"; group = \"core\"; flow_key = \"" K16
	         "\"; };",
	         "at least one of tls, mtls and tcp"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; group = \"core\"; flow_key = \"" K16
	         "\"; };",
	         "address is required"},
	        {"edge = { tcp = [ \"127.0.0.1\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; };",
	         "tcp must hold \"address:port\""},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; };",
	         "address needs a port"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"short\"; };",
	         "flow_key must be 16..64"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"other\"; flow_key = \"" K16 "\"; };",
	         "group \"other\" is not defined"},
	        {"edge = { tls = [ \"127.0.0.1:5061\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; };",
	         "tls and mtls need certs and keys"},
	        {"edge = { tls = [ \"127.0.0.1:5061\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; certs = [ \"/a\", \"/b\" ]; keys = [ \"/a\" "
	         "]; };",
	         "certs and keys must list as many files"},
	        {"edge = { mtls = [ \"127.0.0.1:5061\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; certs = [ \"/a\" ]; keys = [ \"/a\" ]; };",
	         "mtls needs client_ca"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; client_verify = \"maybe\"; };",
	         "client_verify must be"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; max_message = 100; };",
	         "512..65535"},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; colour = 1; };",
	         "unknown key \"colour\""},
	        {"edge = { tcp = [ \"127.0.0.1:5060\" ]; address = \"127.0.0.1:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; t1_ms = 5; };",
	         "t1_ms must be 10..5000"},
	        /* A listener may be a VIP (the exception path carries it); edge.address not. */
	        {"vips = ( { address = \"127.0.0.9\"; group = \"core\"; } );\n"
	         "edge = { tcp = [ \"127.0.0.9:5060\" ]; address = \"127.0.0.9:5070\"; group = "
	         "\"core\"; flow_key = \"" K16 "\"; };",
	         "edge: address must not be a VIP's"},
	};
	for (size_t i = 0; i < SPH_ARRAY_SIZE(bad); i++) {
		char text[1024];
		snprintf(text, sizeof(text), KEY GROUP "%s\n", bad[i].text);
		cr_assert_eq(load_text(text, &cfg, err), -1, "row %zu loaded", i);
		cr_assert(strstr(err, bad[i].want) != NULL, "row %zu: %s", i, err);
	}
}

/* The key's check value is a contract between instances and versions: a golden value
 * (HMAC-SHA256 of "siphon hash_key check value v1" under the key, as Python's hmac
 * computes it), another key's differs, and no key gives none. */
Test(cfg, key_check_value)
{
	char err[ERR_LEN], kcv[CFG_KEY_CHECK_STRLEN];
	struct sph_cfg *cfg;
	const char *grp = "groups = ( { name = \"g\"; backends = ( { name = \"b\"; address = "
	                  "\"203.0.113.21\"; } ); } );\n";
	char text[512];

	snprintf(text, sizeof(text),
	         "hash_key_hex = "
	         "\"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60\";\n%s",
	         grp);
	cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg_key_check(cfg, kcv), 0);
	cr_assert_str_eq(kcv, "7895c67e");
	cfg_free(cfg);
	snprintf(text, sizeof(text),
	         "hash_key_hex = "
	         "\"5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f61\";\n%s",
	         grp);
	cr_assert_eq(load_text(text, &cfg, err), 0, "%s", err);
	cr_assert_eq(cfg_key_check(cfg, kcv), 0);
	cr_assert_str_eq(kcv, "81c8b88c");
	free(cfg->hash_key);
	cfg->hash_key = NULL;
	cfg->hash_key_len = 0;
	cr_assert_eq(cfg_key_check(cfg, kcv), -1);
	cr_assert_str_eq(kcv, "");
	cfg_free(cfg);
}

/* ---- allowlist tiers and rate limits of a VIP (docs/protection.md) ---- */

Test(cfg, vip_acl_and_limits)
{
	char err[ERR_LEN];
	struct sph_cfg *cfg = NULL;
	const struct cfg_vip *v;
	char t[CFG_PREFIX_STRLEN];
	static const char list[] = "# carriers\n"
	                           "trusted 203.0.113.0/24\n"
	                           "\n"
	                           "blocked 2001:db8:bad::/48   # a scanner's network\n"
	                           "blocked 198.51.100.77\n";

	write_file("acl.txt", list, strlen(list));
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  trusted = [ \"10.1.2.3/8\", \"2001:db8:1::1\" ];\n"
	                                     "  blocked = [ \"10.66.0.0/16\" ];\n"
	                                     "  acl_file = \"acl.txt\";\n"
	                                     "  rate_invite = 20; burst_register = 5;\n"
	                                     "  rate_register = 2; }"),
	                       &cfg, err),
	             0, "%s", err);
	v = &cfg->vips[0];
	cr_assert_eq(v->nb_acl, 6u);
	/* Kept by tier then range, host bits cleared, addresses as hosts. */
	cr_assert_eq(v->acl[0].tier, CFG_TIER_TRUSTED);
	cr_assert_str_eq(cfg_prefix_format(&v->acl[0].prefix, t, sizeof(t)), "10.0.0.0/8");
	cr_assert_str_eq(cfg_prefix_format(&v->acl[1].prefix, t, sizeof(t)), "203.0.113.0/24");
	cr_assert_str_eq(cfg_prefix_format(&v->acl[2].prefix, t, sizeof(t)), "2001:db8:1::1/128");
	cr_assert_eq(v->acl[3].tier, CFG_TIER_BLOCKED);
	cr_assert_str_eq(cfg_prefix_format(&v->acl[3].prefix, t, sizeof(t)), "10.66.0.0/16");
	cr_assert_str_eq(cfg_prefix_format(&v->acl[4].prefix, t, sizeof(t)), "198.51.100.77/32");
	cr_assert_str_eq(cfg_prefix_format(&v->acl[5].prefix, t, sizeof(t)), "2001:db8:bad::/48");
	cr_assert_eq(v->limit_rate[CFG_LIMIT_INVITE], 20u);
	cr_assert_eq(v->limit_burst[CFG_LIMIT_INVITE], 0u);
	cr_assert_eq(v->limit_rate[CFG_LIMIT_REGISTER], 2u);
	cr_assert_eq(v->limit_burst[CFG_LIMIT_REGISTER], 5u);
	cr_assert_eq(v->limit_rate[CFG_LIMIT_OPTIONS], 0u);
	round_trip(cfg);

	/* An edited list goes through the same rules. */
	struct sph_cfg *d = cfg_dup(cfg);

	cr_assert(cfg_equal(cfg, d));
	d->vips[0].acl[4].tier = CFG_TIER_TRUSTED;
	d->vips[0].acl[4].prefix = d->vips[0].acl[3].prefix;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "prefix 10.66.0.0/16 is listed twice (trusted and blocked)"),
	                   "%s", err);
	d->vips[0].acl[4].prefix.addr.a[15] = 1;
	d->vips[0].acl[4].prefix.len = 24;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "has host bits set"), "%s", err);
	cfg_free(d);
	cfg_free(cfg);

	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  trusted = [ \"10.0.0.0/8\" ]; blocked = [ "
	                                     "\"10.0.0.0/8\" ]; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(
	        strstr(err, "t.conf:6: vip 192.0.2.10: prefix 10.0.0.0/8 is listed twice"), "%s",
	        err);
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  trusted = [ \"10.0.0.0/33\" ]; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(strstr(err, "prefix length must be 0..32"), "%s", err);
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  blocked = [ \"192.0.2.1:5060\" ]; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(strstr(err, "blocked must hold \"address/length\" or addresses"), "%s",
	                   err);
	write_file("acl.txt", "trusted 10.0.0.0/8\nallowed 10.1.0.0/16\n", 39);
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  acl_file = \"acl.txt\"; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(strstr(err,
	                          "acl.txt\":2: a line must be \"trusted PREFIX\" or \"blocked "
	                          "PREFIX\""),
	                   "%s", err);
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  acl_file = \"missing.txt\"; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(strstr(err, "missing.txt\": No such file or directory"), "%s", err);
	cr_assert_eq(load_text(KEY GROUP VIP("{ address = \"192.0.2.10\"; group = \"core\";\n"
	                                     "  rate_invite = 1000001; }"),
	                       &cfg, err),
	             -1);
	cr_assert_not_null(strstr(err, "rate_invite must be 0..1000000"), "%s", err);
}

/* ---- rules (docs/protection.md#rules-hyperscan) ---- */

#define RVIP       VIP("{ address = \"192.0.2.10\"; group = \"core\"; rate_register = 5; }")
#define RULES(...) "rules = (\n" __VA_ARGS__ "\n);\n"

Test(cfg, rules_read_write_equal)
{
	char err[ERR_LEN];
	struct sph_cfg *cfg = NULL, *back, *d;
	const struct cfg_rule *r;
	char t[CFG_PREFIX_STRLEN];

	cr_assert_eq(
	        load_text(KEY GROUP RVIP "mirror = { collector = \"192.0.2.99:9060\"; };\n" RULES(
	                          "{ name = \"scanners\"; match = { user_agent = "
	                          "\"^(friendly-scanner|"
	                          "sipvicious)\"; caseless = true; }; action = \"drop\"; },\n"
	                          "{ name = \"brute\"; match = { method = \"^REGISTER$\"; from = "
	                          "\"\\\"q\\\\d\"; }; action = \"limit\"; class = \"register\";\n"
	                          "  source = [ \"10.1.2.3/8\", \"2001:db8::1\" ]; vip = "
	                          "\"192.0.2.10\"; },\n"
	                          "{ name = \"intl\"; match = { request_uri = \"^sip:00\"; }; "
	                          "action = "
	                          "\"route\"; group = \"core\"; },\n"
	                          "{ name = \"t\"; match = { contact = \"x\"; to = \"y\"; }; "
	                          "action = "
	                          "\"mirror\"; }"),
	                  &cfg, err),
	        0, "%s", err);
	cr_assert_eq(cfg->nb_rules, 4u);
	r = &cfg->rules[0];
	cr_assert_str_eq(r->name, "scanners");
	cr_assert_eq(r->action, CFG_RULE_DROP);
	cr_assert_eq(r->caseless, 1);
	cr_assert_str_eq(cfg_rule_regex(cfg, r, RULES_UA), "^(friendly-scanner|sipvicious)");
	cr_assert_null(cfg_rule_regex(cfg, r, RULES_METHOD));
	r = &cfg->rules[1];
	cr_assert_eq(r->action, CFG_RULE_LIMIT);
	cr_assert_eq(r->limit_class, CFG_LIMIT_REGISTER);
	cr_assert_str_eq(cfg_rule_regex(cfg, r, RULES_FROM), "\"q\\d");
	cr_assert_eq(r->nb_sources, 2u);
	cr_assert_str_eq(cfg_prefix_format(&r->sources[0], t, sizeof(t)), "10.0.0.0/8");
	cr_assert_str_eq(cfg_prefix_format(&r->sources[1], t, sizeof(t)), "2001:db8::1/128");
	cr_assert_eq(r->has_vip, 1);
	cr_assert_eq(cfg->rules[2].action, CFG_RULE_ROUTE);
	cr_assert_eq(cfg->rules[2].group, 0u);
	cr_assert_eq(cfg->rules[3].action, CFG_RULE_MIRROR);
	cr_assert_str_eq(cfg_rule_action_name(CFG_RULE_REJECT), "reject-silently");
	/* Written back, quotes and backslashes escaped, read back equal. */
	back = write_and_reload(cfg, "rules.conf");
	cr_assert(cfg_equal(cfg, back));
	d = cfg_dup(cfg);
	cr_assert(cfg_equal(cfg, d));
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), 0, "%s", err);
	d->rules[3].action = CFG_RULE_TAG;
	cr_assert(!cfg_equal(cfg, d));
	/* Edited copies meet the reader's rules. */
	d->rules[3] = d->rules[0];
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "rule \"scanners\": defined twice (first at rule 1)"), "%s",
	                   err);
	d->rules[3] = cfg->rules[3];
	d->rules[1].sources[0].addr.a[15] = 1;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "source 10.0.0.1/8 has host bits set"), "%s", err);
	d->rules[1] = cfg->rules[1];
	d->rules[2].group = 7;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "group 8 is not defined"), "%s", err);
	d->rules[2] = cfg->rules[2];
	d->rules[0].re[RULES_UA] = (uint32_t)d->rule_text_len + 5;
	cr_assert_eq(cfg_validate(d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "match.user_agent must be"), "%s", err);
	cfg_free(d);
	cfg_free(back);
	cfg_free(cfg);
}

static void
rules_refused(const char *text, const char *want)
{
	char err[ERR_LEN];
	struct sph_cfg *cfg = NULL;

	cr_assert_eq(load_text(text, &cfg, err), -1, "accepted: %s", text);
	cr_assert_null(cfg);
	cr_assert_not_null(strstr(err, want), "want \"%s\", got \"%s\"", want, err);
}

Test(cfg, rules_refused)
{
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { user_agent = \"(x\"; }; "
	                                   "action = \"drop\"; }"),
	              "t.conf:9: rule \"a\": condition 1 (user_agent): Missing close parenthesis");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { }; action = \"drop\"; }"),
	              "rule \"a\": match names no field");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"m\"; match = { to = \"x\"; }; action = "
	                                   "\"mirror\"; }"),
	              "rule \"m\": action \"mirror\" needs a mirror = { collector = ...; } block");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { server = \"x\"; }; action = "
	                                   "\"drop\"; }"),
	              "unknown key \"server\"");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"\"; }; action = "
	                                   "\"drop\"; }"),
	              "match.to must be 1..1024 bytes");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"block\"; }"),
	              "action must be \"drop\", \"reject-silently\"");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; }"),
	              "rule \"a\": action is required");
	rules_refused(KEY GROUP RVIP RULES("{ match = { to = \"x\"; }; action = \"drop\"; }"),
	              "rule 1: name is required");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a b\"; match = { to = \"x\"; }; action = "
	                                   "\"drop\"; }"),
	              "name must be 1..63 characters");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"drop\"; },\n{ name = \"a\"; match = { to = \"y\"; }; "
	                                   "action = \"tag\"; }"),
	              "rule \"a\": defined twice");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"route\"; }"),
	              "action \"route\" needs a group");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"route\"; group = \"edge\"; }"),
	              "group \"edge\" is not defined");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"drop\"; group = \"core\"; }"),
	              "group is for action \"route\" only");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"limit\"; }"),
	              "action \"limit\" needs a class");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"limit\"; class = \"invite\"; }"),
	              "action \"limit\" class \"invite\": vip 192.0.2.10 has no rate_invite");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"limit\"; class = \"bye\"; }"),
	              "class must be \"invite\", \"register\"");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"drop\"; vip = \"192.0.2.99\"; }"),
	              "vip \"192.0.2.99\" is no VIP's address");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; action = "
	                                   "\"drop\"; source = [ \"10.0.0.0/33\" ]; }"),
	              "source \"10.0.0.0/33\": prefix length must be 0..32");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; caseless = 1; }; "
	                                   "action = \"drop\"; }"),
	              "caseless must be true or false");
	rules_refused(KEY GROUP RVIP "rules = 3;\n", "rules must be a list");
}

/* What `siphonctl rules load` applies: another list on the running configuration, or
 * nothing when the file is refused; the shipped scanners list loads. */
Test(cfg, rules_load)
{
	char err[ERR_LEN], path[512];
	struct sph_cfg *cfg = NULL, *next = NULL;

	cr_assert_eq(load_text(KEY GROUP RVIP RULES("{ name = \"a\"; match = { to = \"x\"; }; "
	                                            "action = \"tag\"; }"),
	                       &cfg, err),
	             0, "%s", err);
	write_file("r.conf",
	           RULES("{ name = \"b\"; match = { user_agent = \"sipcli\"; }; action = "
	                 "\"reject-silently\"; }"),
	           strlen(RULES("{ name = \"b\"; match = { user_agent = \"sipcli\"; }; action = "
	                        "\"reject-silently\"; }")));
	snprintf(path, sizeof(path), "%s/r.conf", tmpdir);
	cr_assert_eq(cfg_rules_load(cfg, path, &next, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(next->nb_rules, 1u);
	cr_assert_str_eq(next->rules[0].name, "b");
	cr_assert_eq(next->nb_groups, cfg->nb_groups);
	cfg_free(next);
	write_file("r.conf",
	           RULES("{ name = \"b\"; match = { user_agent = \"[a\"; }; action = "
	                 "\"drop\"; }"),
	           strlen(RULES("{ name = \"b\"; match = { user_agent = \"[a\"; }; action = "
	                        "\"drop\"; }")));
	cr_assert_eq(cfg_rules_load(cfg, path, &next, err, sizeof(err)), -1);
	cr_assert_null(next);
	cr_assert_not_null(strstr(err, "r.conf:2: rule \"b\": condition 1 (user_agent): "), "%s",
	                   err);
	write_file("r.conf", "hash_key = \"0123456789abcdef\";\n", 31);
	cr_assert_eq(cfg_rules_load(cfg, path, &next, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "unknown key \"hash_key\""), "%s", err);
	snprintf(path, sizeof(path), EXAMPLES "rules-scanners.conf");
	cr_assert_eq(cfg_rules_load(cfg, path, &next, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(next->nb_rules, 8u);
	cfg_free(next);
	cfg_free(cfg);
}

/* match.headers: named headers, read, written back, compared, refused. */
Test(cfg, rules_headers)
{
	char err[ERR_LEN];
	struct sph_cfg *cfg = NULL, *back;
	const struct cfg_rule *r;
	const char *names[RULES_HEADERS];

	cr_assert_eq(
	        load_text(KEY GROUP RVIP RULES(
	                          "{ name = \"h\"; match = { method = \"^INVITE$\"; headers = ( "
	                          "{ name = \"X-Scan\"; value = \"^yes\"; }, { name = "
	                          "\"Subject\"; value = \"\\\"q\"; } ); }; action = \"drop\"; },\n"
	                          "{ name = \"h2\"; match = { headers = ( { name = \"x-scan\"; "
	                          "value = \"no\"; } ); }; action = \"tag\"; }"),
	                  &cfg, err),
	        0, "%s", err);
	r = &cfg->rules[0];
	cr_assert_str_eq(cfg_rule_text(cfg, r->hname[0]), "X-Scan");
	cr_assert_str_eq(cfg_rule_text(cfg, r->hre[0]), "^yes");
	cr_assert_str_eq(cfg_rule_text(cfg, r->hname[1]), "Subject");
	cr_assert_str_eq(cfg_rule_text(cfg, r->hre[1]), "\"q");
	/* One slot per name, whatever its case. */
	cr_assert_eq(cfg_rule_header_names(cfg, names, RULES_HEADERS), 2u);
	back = write_and_reload(cfg, "headers.conf");
	cr_assert(cfg_equal(cfg, back));
	cfg_free(back);
	cfg_free(cfg);
	rules_refused(
	        KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"X A\"; "
	                             "value = \"x\"; } ); }; action = \"drop\"; }"),
	        "match.headers name must be a header name");
	rules_refused(
	        KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"X\"; "
	                             "value = \"x\"; }, { name = \"x\"; value = \"y\"; } ); }; "
	                             "action = \"drop\"; }"),
	        "header \"x\" is named twice");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"X\"; "
	                                   "value = \"\"; } ); }; action = \"drop\"; }"),
	              "match.headers value must be 1..1024 bytes");
	rules_refused(
	        KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"A\"; "
	                             "value = \"x\"; }, { name = \"B\"; value = \"x\"; }, { "
	                             "name = \"C\"; value = \"x\"; } ); }; action = \"drop\"; }"),
	        "match.headers has 3 headers: at most 2");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"X\"; "
	                                   "value = \"(x\"; } ); }; action = \"drop\"; }"),
	              "rule \"a\": condition 1 (header0): Missing close parenthesis");
	rules_refused(
	        KEY GROUP RVIP RULES(
	                "{ name = \"a\"; match = { headers = ( { name = \"A\"; value = \"x\"; "
	                "}, { name = \"B\"; value = \"x\"; } ); }; action = \"drop\"; },\n"
	                "{ name = \"b\"; match = { headers = ( { name = \"C\"; value = \"x\"; "
	                "}, { name = \"D\"; value = \"x\"; } ); }; action = \"drop\"; },\n"
	                "{ name = \"c\"; match = { headers = ( { name = \"E\"; value = \"x\"; "
	                "} ); }; action = \"drop\"; }"),
	        "rules: 5 different header names in match.headers: at most 4");
	rules_refused(KEY GROUP RVIP RULES("{ name = \"a\"; match = { headers = ( { name = \"X\"; "
	                                   "} ); }; action = \"drop\"; }"),
	              "match.headers holds groups { name");
}
