/*
 * cfg.c - siphon's configuration file (libconfig) turned into a validated struct sph_cfg.
 * Control plane and tools only: it allocates and reads files, never runs on a worker.
 * Each object is read through a table of {key, parser, offset, range} rows, so an
 * unknown key is an error by construction and a new key is one row (plus its entry in
 * docs/config.md and the examples). Invariant: cfg_load() hands back either a
 * configuration that passed every check or NULL and one "file:line: item: problem"
 * message, never half of one, and leaks nothing on any path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "siphon/cfg.h"
#include "siphon/maglev.h"
#include "siphon/sph.h"
#include "health.h"

/* libconfig stops nesting @include at 10 levels; the literal scan follows it no deeper. */
#define CFG_INCLUDE_DEPTH 10
/* Room for a quoted value in a message: 40 characters, each possibly \xNN, and "...". */
#define CFG_QUOTE_MAX     200
/* Room for the label of the object being read, e.g. `backend 12 of group "core"`. */
#define CFG_ITEM_MAX      (CFG_NAME_MAX + 48)

/* ---- MAC literals (addresses and prefixes: dataplane/core/cfg_addr.c) ---- */

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cfg_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (s == NULL || mac == NULL || strlen(s) != 17)
		return -1;
	for (unsigned i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

char *
cfg_mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return buf;
	if (mac == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		         mac[4], mac[5]);
	return buf;
}

int
cfg_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= CFG_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

/* 1..max-1 characters of printable ASCII without space, quote or backslash, so that
 * cfg_write() can put the string back verbatim between quotes. */
static int
quotable_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

/* A DPDK device name (rte_eth_dev_get_port_by_name()). */
static int
device_valid(const char *s)
{
	return quotable_valid(s, CFG_DEVICE_MAX);
}

/* A kernel interface name for a port's exception path: 1..15 characters of the name
 * alphabet, not "." or ".." (Linux refuses those). No ',' or '=': it is handed to DPDK
 * as a devarg ("iface=NAME"). */
static int
ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CFG_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return cfg_name_valid(s);
}

/* Whether a is something one can send to or own: not unspecified, not multicast, not
 * the IPv4 limited broadcast. */
static int
addr_unicast(const struct cfg_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == 4) {
		uint32_t v = (uint32_t)a->a[12] << 24 | (uint32_t)a->a[13] << 16 |
		             (uint32_t)a->a[14] << 8 | a->a[15];

		return v != 0 && (v >> 28) != 0xe && v != 0xffffffffu;
	}
	return memcmp(a->a, zero, 16) != 0 && a->a[0] != 0xff;
}

/* Whether a lies within prefix p of the same family. */
static int
prefix_contains(const struct cfg_prefix *p, const struct cfg_addr *a)
{
	unsigned bits = p->len + (p->addr.family == 4 ? 96u : 0u);

	if (p->addr.family != a->family)
		return 0;
	for (unsigned i = 0; i < bits / 8; i++)
		if (p->addr.a[i] != a->a[i])
			return 0;
	if (bits % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((p->addr.a[bits / 8] ^ a->a[bits / 8]) & mask)
			return 0;
	}
	return 1;
}

static int
addr_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

/* ---- keywords ---- */

static const char *const state_names[] = {
        [MAGLEV_UP] = "up",
        [MAGLEV_DRAIN] = "drain",
        [MAGLEV_DOWN] = "down",
};

static const char *const mode_names[] = {
        [CFG_VIP_L2DSR] = "l2dsr",
        [CFG_VIP_IPIP] = "ipip",
};

const char *
cfg_state_name(uint8_t state)
{
	return state < SPH_ARRAY_SIZE(state_names) ? state_names[state] : "unknown";
}

const char *
cfg_mode_name(uint8_t mode)
{
	return mode < SPH_ARRAY_SIZE(mode_names) ? mode_names[mode] : "unknown";
}

int
cfg_state_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

int
cfg_mode_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- lookups ---- */

const struct cfg_vip *
cfg_vip_find(const struct sph_cfg *cfg, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	if (cfg == NULL || addr == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];

		if (v->addr.family != family || memcmp(v->addr.a, addr, 16) != 0)
			continue;
		for (unsigned j = 0; j < v->nb_ports; j++)
			if (v->ports[j] == port)
				return v;
	}
	return NULL;
}

const struct cfg_group *
cfg_group_find(const struct sph_cfg *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		if (strcmp(cfg->groups[i].name, name) == 0)
			return &cfg->groups[i];
	return NULL;
}

void
cfg_free(struct sph_cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		free(cfg->groups[i].backends);
	for (unsigned i = 0; i < cfg->nb_vips; i++)
		free(cfg->vips[i].ports);
	free(cfg->groups);
	free(cfg->vips);
	free(cfg->ports);
	if (cfg->hash_key != NULL) {
		/* The key is a secret: do not leave it in freed heap memory. */
		memset(cfg->hash_key, 0, cfg->hash_key_len);
		free(cfg->hash_key);
	}
	free(cfg->path);
	free(cfg);
}

/* ---- loading: context and messages ---- */

struct cfg_ctx {
	struct sph_cfg *cfg;
	const char *path; /* as the caller gave it: messages name the file that way */
	const char *dir;  /* its folder, where @include paths start */
	char *err;
	size_t errlen;
	char item[CFG_ITEM_MAX]; /* the object being read, `backend "b1"`; "" at top level */
	/* Top-level settings read after the walk: vips name groups that may come later. */
	const config_setting_t *s_maglev, *s_ports, *s_groups, *s_vips;
	/* Object scratch: the two ways to give a backend's or VIP's port(s), which must not
	 * both be used: the "port"/"ports" key and a port in "address". */
	const config_setting_t *s_port_key, *s_addr_port;
};

/* The name under which a message shows the file a setting came from: libconfig keeps
 * included files as written in @include, relative to the main file's folder. */
static void
src_name(const struct cfg_ctx *x, const char *f, char *buf, size_t len)
{
	if (f == NULL)
		f = x->path;
	if (strcmp(f, x->path) == 0 || f[0] == '/' || strcmp(x->dir, ".") == 0)
		snprintf(buf, len, "%s", f);
	else
		snprintf(buf, len, "%s/%s", x->dir, f);
}

static SPH_COLD int
vfail_at(struct cfg_ctx *x, const char *file, unsigned line, const char *fmt, va_list ap)
{
	char problem[512];

	if (x->errlen == 0)
		return -1;
	vsnprintf(problem, sizeof(problem), fmt, ap);
	if (line > 0)
		snprintf(x->err, x->errlen, "%s:%u: %s%s%s", file, line, x->item,
		         x->item[0] ? ": " : "", problem);
	else
		snprintf(x->err, x->errlen, "%s: %s%s%s", file, x->item, x->item[0] ? ": " : "",
		         problem);
	return -1;
}

static SPH_COLD __attribute__((format(printf, 4, 5))) int
fail_at(struct cfg_ctx *x, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail_at(x, file, line, fmt, ap);
	va_end(ap);
	return rc;
}

/* Fails at s's place (the nearest enclosing setting that has one), or at the file when
 * s is NULL. */
static SPH_COLD __attribute__((format(printf, 3, 4))) int
fail(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char file[4096];
	unsigned line = 0;
	va_list ap;
	int rc;

	while (s != NULL && config_setting_source_line(s) == 0)
		s = config_setting_parent(s);
	if (s != NULL)
		line = config_setting_source_line(s);
	src_name(x, s != NULL ? config_setting_source_file(s) : NULL, file, sizeof(file));
	va_start(ap, fmt);
	rc = vfail_at(x, file, line, fmt, ap);
	va_end(ap);
	return rc;
}

static SPH_COLD int
fail_nomem(struct cfg_ctx *x)
{
	x->item[0] = '\0';
	return fail(x, NULL, "out of memory");
}

/* s in double quotes for a message: 40 characters at most, anything unprintable as
 * \xNN, so a binary or huge value cannot garble the one-line message. */
static const char *
quote(char buf[CFG_QUOTE_MAX], const char *s)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; s[i] != '\0' && i < 40; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c > '~' || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, CFG_QUOTE_MAX - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	default:
		return "nothing";
	}
}

static __attribute__((format(printf, 2, 3))) void
set_item(struct cfg_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->item, sizeof(x->item), fmt, ap);
	va_end(ap);
}

/* ---- typed reads ---- */

/* An integer in min..max; what is named in messages is the setting, or what when given
 * (array elements have no name). */
static int
get_int(struct cfg_ctx *x, const config_setting_t *s, const char *what, long long min,
        long long max, long long *v)
{
	if (what == NULL)
		what = config_setting_name(s);
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		*v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		*v = config_setting_get_int64(s);
	else
		return fail(x, s, "%s must be an integer, got %s", what, type_name(s));
	if (*v < min || *v > max)
		return fail(x, s, "%s must be %lld..%lld, got %lld", what, min, max, *v);
	return 0;
}

static int
get_str(struct cfg_ctx *x, const config_setting_t *s, const char *what, const char **v)
{
	if (what == NULL)
		what = config_setting_name(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(x, s, "%s must be a string, got %s", what, type_name(s));
	*v = config_setting_get_string(s);
	return 0;
}

/* A list of groups; an empty array "[]" counts as an empty list. */
static int
get_list(struct cfg_ctx *x, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_LIST ||
	    (config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
		return 0;
	return fail(x, s, "%s must be a list ( { ... }, ... ), got %s", config_setting_name(s),
	            type_name(s));
}

/* ---- the key tables ---- */

struct cfg_key;
typedef int (*cfg_parse_fn)(struct cfg_ctx *x, const config_setting_t *s, void *obj,
                            const struct cfg_key *k);

/* One row: a key an object may hold, and how to read it into the object. */
struct cfg_key {
	const char *name;
	cfg_parse_fn parse;
	size_t off;         /* field the parser fills, within the object or the context */
	long long min, max; /* accepted range, for the integer parsers */
};

static const struct cfg_key *
key_find(const struct cfg_key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name != NULL && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Reads every setting of group g through keys; anything not in the table is an error. */
static int
walk(struct cfg_ctx *x, const config_setting_t *g, const struct cfg_key *keys, size_t n, void *obj)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const struct cfg_key *k = key_find(keys, n, config_setting_name(s));

		if (k == NULL) {
			char known[256];
			size_t o = 0;

			known[0] = '\0';
			for (size_t j = 0; j < n && o < sizeof(known); j++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
				                      j ? ", " : "", keys[j].name);
			return fail(x, s, "unknown key \"%s\" (known: %s)", config_setting_name(s),
			            known);
		}
		if (k->parse(x, s, obj, k) < 0)
			return -1;
	}
	return 0;
}

static int
require(struct cfg_ctx *x, const config_setting_t *g, const char *key)
{
	if (config_setting_get_member(g, key) != NULL)
		return 0;
	return fail(x, g, "%s is required", key);
}

/* Generic parsers: they fill the field at k->off. */

static int
p_u32(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	long long v = 0;

	if (get_int(x, s, NULL, k->min, k->max, &v) < 0)
		return -1;
	*(uint32_t *)((char *)obj + k->off) = (uint32_t)v;
	return 0;
}

static int
p_name(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (!cfg_name_valid(v))
		return fail(x, s, "name must be 1..63 characters of A-Z a-z 0-9 . _ -, got %s",
		            quote(q, v));
	strcpy((char *)obj + k->off, v);
	return 0;
}

/* A key already read before the walk (the name that labels messages). */
static int
p_done(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	(void)x, (void)s, (void)obj, (void)k;
	return 0;
}

/* A top-level list, read once every key is known; remembered in the context. */
static int
p_defer(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	(void)obj;
	if (get_list(x, s) < 0)
		return -1;
	*(const config_setting_t **)((char *)x + k->off) = s;
	return 0;
}

/* An address literal; k->min is the family it must have (0: either) and k->max is
 * whether it may carry a port. Fills a struct cfg_addr at k->off; returns the port
 * (0: none) or -1. */
static int
read_addr(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_addr *a = (struct cfg_addr *)((char *)obj + k->off);
	const char *what = config_setting_name(s);
	char q[CFG_QUOTE_MAX];
	uint16_t port;
	const char *v = "";
	int rc;

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	rc = cfg_addr_parse(v, a, &port);
	if (rc == -2)
		return fail(x, s, "%s %s: port must be 1..65535", what, quote(q, v));
	if (rc < 0)
		return fail(x, s, "%s must be an IP address%s, got %s", what,
		            k->max ? " with an optional :port" : "", quote(q, v));
	if (port != 0 && !k->max)
		return fail(x, s, "%s must be an IP address without a port, got %s", what,
		            quote(q, v));
	if (k->min != 0 && a->family != k->min)
		return fail(x, s, "%s must be an IPv%lld address, got %s", what, k->min,
		            quote(q, v));
	if (!addr_unicast(a))
		return fail(x, s, "%s must be a unicast address, got %s", what, quote(q, v));
	return port;
}

static int
p_addr(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	return read_addr(x, s, obj, k) < 0 ? -1 : 0;
}

/* ---- top level ---- */

static int
p_hash_key(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	const char *v = "";
	size_t n;

	(void)k;
	if (cfg->hash_key != NULL)
		return fail(x, s, "give hash_key or hash_key_hex, not both");
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	n = strlen(v);
	if (n < CFG_KEY_MIN || n > CFG_KEY_MAX)
		return fail(x, s, "hash_key must be %u..%u bytes, got %zu", CFG_KEY_MIN,
		            CFG_KEY_MAX, n);
	cfg->hash_key = malloc(n);
	if (cfg->hash_key == NULL)
		return fail_nomem(x);
	memcpy(cfg->hash_key, v, n);
	cfg->hash_key_len = n;
	return 0;
}

static int
p_hash_key_hex(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	const char *v = "";
	size_t n;

	(void)k;
	if (cfg->hash_key != NULL)
		return fail(x, s, "give hash_key or hash_key_hex, not both");
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	n = strlen(v);
	for (size_t i = 0; i < n; i++)
		if (hex_digit(v[i]) < 0)
			return fail(x, s, "hash_key_hex must hold hex digits only, got '%c' at %zu",
			            v[i] > ' ' && v[i] <= '~' ? v[i] : '?', i + 1);
	if (n % 2 != 0)
		return fail(x, s, "hash_key_hex must have an even number of hex digits, got %zu",
		            n);
	if (n / 2 < CFG_KEY_MIN || n / 2 > CFG_KEY_MAX)
		return fail(x, s,
		            "hash_key_hex must be %u..%u bytes (twice as many digits), got %zu",
		            CFG_KEY_MIN, CFG_KEY_MAX, n / 2);
	cfg->hash_key = malloc(n / 2);
	if (cfg->hash_key == NULL)
		return fail_nomem(x);
	for (size_t i = 0; i < n / 2; i++)
		cfg->hash_key[i] = (uint8_t)(hex_digit(v[2 * i]) << 4 | hex_digit(v[2 * i + 1]));
	cfg->hash_key_len = n / 2;
	return 0;
}

static int
p_maglev_size(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;

	if (p_u32(x, s, obj, k) < 0)
		return -1;
	if (!maglev_is_prime(cfg->maglev_size)) {
		uint32_t next = cfg->maglev_size;

		while (next < MAGLEV_MAX_SIZE && !maglev_is_prime(next))
			next++;
		return fail(x, s,
		            "maglev_size must be a prime number, got %u (the next prime is %u)",
		            cfg->maglev_size, next);
	}
	x->s_maglev = s;
	return 0;
}

/* ---- control and metrics ---- */

/* A control socket path, short enough for sun_path. */
static int
socket_path_valid(const char *s)
{
	return quotable_valid(s, CFG_SOCKET_MAX);
}

/* "0660", "660": three or four octal digits, at most 0777. @return the mode or -1. */
static long
mode_parse(const char *s)
{
	size_t n = strlen(s);
	long v = 0;

	if (n < 3 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (s[i] - '0');
	}
	return v <= 0777 ? v : -1;
}

static int
p_ctl_socket(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (!socket_path_valid(v))
		return fail(x, s,
		            "socket must be a path of 1..%u printable characters without "
		            "spaces, quotes or backslashes, got %s",
		            CFG_SOCKET_MAX - 1, quote(q, v));
	strcpy(cfg->ctl_socket, v);
	return 0;
}

static int
p_ctl_mode(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";
	long m;

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	m = mode_parse(v);
	if (m < 0)
		return fail(x, s, "mode must be octal permission bits like \"0660\", got %s",
		            quote(q, v));
	cfg->ctl_mode = (uint32_t)m;
	return 0;
}

static int
p_ctl_group(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (!cfg_name_valid(v))
		return fail(x, s, "group must be 1..63 characters of A-Z a-z 0-9 . _ -, got %s",
		            quote(q, v));
	strcpy(cfg->ctl_group, v);
	return 0;
}

static const struct cfg_key control_keys[] = {
        {"socket", p_ctl_socket, 0, 0, 0},
        {"mode", p_ctl_mode, 0, 0, 0},
        {"group", p_ctl_group, 0, 0, 0},
};

static int
p_metrics_listen(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";
	uint16_t port = 0;
	int rc;

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (v[0] == '\0') {
		cfg->metrics_port = 0;
		return 0;
	}
	rc = cfg_addr_parse(v, &cfg->metrics_addr, &port);
	if (rc == -2)
		return fail(x, s, "listen %s: port must be 1..65535", quote(q, v));
	if (rc < 0 || port == 0)
		return fail(x, s,
		            "listen must be \"address:port\" (\"127.0.0.1:9100\", "
		            "\"[::1]:9100\") or \"\", got %s",
		            quote(q, v));
	cfg->metrics_port = port;
	return 0;
}

static const struct cfg_key metrics_keys[] = {
        {"listen", p_metrics_listen, 0, 0, 0},
};

/* ---- health ---- */

/* struct cfg_health as health_params_check() wants it. */
static void
health_params_of(const struct cfg_health *h, struct health_params *p)
{
	memset(p, 0, sizeof(*p));
	p->interval_ms = h->interval_ms;
	p->timeout_ms = h->timeout_ms;
	p->fall = h->fall;
	p->rise = h->rise;
	p->overload_code = h->overload_code;
	_Static_assert(sizeof(p->accept) == sizeof(h->accept), "accept bitmaps differ");
	memcpy(p->accept, h->accept, sizeof(p->accept));
}

void
cfg_health_default(struct cfg_health *h)
{
	struct health_params p;

	health_params_default(&p);
	memset(h, 0, sizeof(*h));
	h->enabled = 1;
	h->interval_ms = p.interval_ms;
	h->timeout_ms = p.timeout_ms;
	h->fall = p.fall;
	h->rise = p.rise;
	h->overload_code = p.overload_code;
	memcpy(h->accept, p.accept, sizeof(h->accept));
}

static int
p_health_enabled(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;

	(void)k;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(x, s, "enabled must be true or false, got %s", type_name(s));
	cfg->health.enabled = (uint8_t)(config_setting_get_bool(s) != 0);
	return 0;
}

/* One accepted code or range: 404, "404", "200-299". */
static int
health_accept_elem(struct cfg_ctx *x, const config_setting_t *e, struct health_params *p)
{
	char q[CFG_QUOTE_MAX];
	unsigned lo, hi;
	long long v;
	int n = 0;

	if (config_setting_type(e) == CONFIG_TYPE_INT ||
	    config_setting_type(e) == CONFIG_TYPE_INT64) {
		if (get_int(x, e, "accept code", 200, 699, &v) < 0)
			return -1;
		lo = hi = (unsigned)v;
	} else if (config_setting_type(e) == CONFIG_TYPE_STRING) {
		const char *t = config_setting_get_string(e);

		if (sscanf(t, "%3u-%3u%n", &lo, &hi, &n) == 2 && t[n] == '\0')
			;
		else if (n = 0, sscanf(t, "%3u%n", &lo, &n) == 1 && t[n] == '\0')
			hi = lo;
		else
			return fail(x, e,
			            "accept must hold codes (404) or ranges (\"200-299\"), got %s",
			            quote(q, t));
		if (lo < 200 || hi > 699 || lo > hi)
			return fail(x, e, "accept range %s must be within 200..699, low to high",
			            quote(q, t));
	} else {
		return fail(x, e, "accept must hold codes (404) or ranges (\"200-299\"), got %s",
		            type_name(e));
	}
	health_accept_range(p, lo, hi, 1);
	return 0;
}

/* accept = [ "200-299", "404" ] or ( 200, "300-399" ) or one code or range alone: the
 * codes meaning "alive". Given, it replaces the default 200..699. */
static int
p_health_accept(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	struct health_params p;

	(void)k;
	memset(&p, 0, sizeof(p));
	if (config_setting_type(s) == CONFIG_TYPE_ARRAY ||
	    config_setting_type(s) == CONFIG_TYPE_LIST) {
		for (int i = 0; i < config_setting_length(s); i++)
			if (health_accept_elem(x, config_setting_get_elem(s, (unsigned)i), &p) < 0)
				return -1;
	} else if (health_accept_elem(x, s, &p) < 0) {
		return -1;
	}
	memcpy(cfg->health.accept, p.accept, sizeof(cfg->health.accept));
	return 0;
}

static int
p_health_overload(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	long long v = 0;

	(void)k;
	if (get_int(x, s, NULL, 0, 699, &v) < 0)
		return -1;
	if (v != 0 && v < 200)
		return fail(x, s, "overload_code must be 200..699, or 0 for none, got %lld", v);
	cfg->health.overload_code = (uint16_t)v;
	return 0;
}

static const struct cfg_key health_keys[] = {
        {"enabled", p_health_enabled, 0, 0, 0},
        {"interval_ms", p_u32, offsetof(struct sph_cfg, health.interval_ms), HEALTH_INTERVAL_MIN,
         HEALTH_INTERVAL_MAX},
        {"timeout_ms", p_u32, offsetof(struct sph_cfg, health.timeout_ms), 1, HEALTH_INTERVAL_MAX},
        {"fall", p_u32, offsetof(struct sph_cfg, health.fall), 1, HEALTH_RUN_MAX},
        {"rise", p_u32, offsetof(struct sph_cfg, health.rise), 1, HEALTH_RUN_MAX},
        {"accept", p_health_accept, 0, 0, 0},
        {"overload_code", p_health_overload, 0, 0, 0},
};

/* A top-level group read with its own key table; messages name it as the item. */
static int
read_section(struct cfg_ctx *x, const config_setting_t *s, const char *what,
             const struct cfg_key *keys, size_t n)
{
	int rc;

	if (!config_setting_is_group(s))
		return fail(x, s, "%s must be a group { ... }, got %s", what, type_name(s));
	set_item(x, "%s", what);
	rc = walk(x, s, keys, n, x->cfg);
	x->item[0] = '\0';
	return rc;
}

static int
p_control(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	(void)obj, (void)k;
	return read_section(x, s, "control", control_keys, SPH_ARRAY_SIZE(control_keys));
}

static int
p_metrics(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	(void)obj, (void)k;
	return read_section(x, s, "metrics", metrics_keys, SPH_ARRAY_SIZE(metrics_keys));
}

static int
p_health(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct health_params p;
	char msg[256];

	(void)obj, (void)k;
	if (read_section(x, s, "health", health_keys, SPH_ARRAY_SIZE(health_keys)) < 0)
		return -1;
	/* What ties keys together (timeout within interval, some code accepted), at the
	 * block's line. */
	health_params_of(&x->cfg->health, &p);
	if (health_params_check(&p, msg, sizeof(msg)) != 0)
		return fail(x, s, "%s", msg);
	return 0;
}

static const struct cfg_key top_keys[] = {
        {"hash_key", p_hash_key, 0, 0, 0},
        {"hash_key_hex", p_hash_key_hex, 0, 0, 0},
        {"maglev_size", p_maglev_size, offsetof(struct sph_cfg, maglev_size), 2, MAGLEV_MAX_SIZE},
        {"stats_interval", p_u32, offsetof(struct sph_cfg, stats_interval), 0,
         CFG_STATS_INTERVAL_MAX},
        {"dialog_window", p_u32, offsetof(struct sph_cfg, dialog_window), 1, CFG_DIALOG_WINDOW_MAX},
        {"ports", p_defer, offsetof(struct cfg_ctx, s_ports), 0, 0},
        {"groups", p_defer, offsetof(struct cfg_ctx, s_groups), 0, 0},
        {"vips", p_defer, offsetof(struct cfg_ctx, s_vips), 0, 0},
        {"control", p_control, 0, 0, 0},
        {"metrics", p_metrics, 0, 0, 0},
        {"health", p_health, 0, 0, 0},
};

/* ---- ports ---- */

static int
p_device(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_port *p = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (strlen(v) >= CFG_DEVICE_MAX)
		return fail(x, s, "device must be at most %u characters, got %zu",
		            CFG_DEVICE_MAX - 1, strlen(v));
	if (!device_valid(v))
		return fail(x, s,
		            "device must be printable ASCII without spaces, quotes or "
		            "backslashes, got %s",
		            quote(q, v));
	strcpy(p->device, v);
	return 0;
}

static int
p_port_addrs(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_port *p = obj;
	char q[CFG_QUOTE_MAX];
	int n = config_setting_length(s);

	(void)k;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "addresses must be an array [ \"address/length\", ... ], got %s",
		            type_name(s));
	if (n == 0)
		return fail(x, s, "addresses must hold at least one address");
	if (n > (int)CFG_PORT_ADDRS_MAX)
		return fail(x, s, "too many addresses: %d, at most %u", n, CFG_PORT_ADDRS_MAX);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = "";
		int rc;

		if (get_str(x, e, "addresses", &v) < 0)
			return -1;
		rc = cfg_prefix_parse(v, &p->addrs[i]);
		if (rc == -2)
			return fail(x, e, "address %s: prefix length must be 0..%u", quote(q, v),
			            strchr(v, ':') ? 128u : 32u);
		if (rc < 0)
			return fail(x, e, "address must be \"address/length\", got %s",
			            quote(q, v));
		if (!addr_unicast(&p->addrs[i].addr))
			return fail(x, e, "address must be a unicast address, got %s", quote(q, v));
		for (int j = 0; j < i; j++)
			if (addr_equal(&p->addrs[j].addr, &p->addrs[i].addr))
				return fail(x, e, "address %s is listed twice", quote(q, v));
	}
	p->nb_addrs = (unsigned)n;
	return 0;
}

static int
p_exception(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_port *p = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (!ifname_valid(v))
		return fail(x, s,
		            "exception must be a kernel interface name of 1..%u characters of "
		            "A-Z a-z 0-9 . _ -, got %s",
		            CFG_IFNAME_MAX - 1, quote(q, v));
	strcpy(p->exception, v);
	return 0;
}

static const struct cfg_key port_keys[] = {
        {"name", p_done, 0, 0, 0},
        {"device", p_device, 0, 0, 0},
        {"addresses", p_port_addrs, 0, 0, 0},
        {"gateway4", p_addr, offsetof(struct cfg_port, gw4), 4, 0},
        {"gateway6", p_addr, offsetof(struct cfg_port, gw6), 6, 0},
        {"exception", p_exception, 0, 0, 0},
};

/* A next hop must be reachable: on-link through one of the port's own prefixes. */
static int
check_gateway(struct cfg_ctx *x, const config_setting_t *g, const struct cfg_port *p,
              const char *key, const struct cfg_addr *gw)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char a[CFG_ADDR_STRLEN];

	if (gw->family == 0)
		return 0;
	for (unsigned i = 0; i < p->nb_addrs; i++) {
		if (addr_equal(&p->addrs[i].addr, gw))
			return fail(x, s, "%s %s is one of the port's own addresses", key,
			            cfg_addr_format(gw, 0, a, sizeof(a)));
		if (prefix_contains(&p->addrs[i], gw))
			return 0;
	}
	return fail(x, s, "%s %s is not within any IPv%u prefix of the port's addresses", key,
	            cfg_addr_format(gw, 0, a, sizeof(a)), gw->family);
}

static int
read_port(struct cfg_ctx *x, const config_setting_t *g, struct cfg_port *p, unsigned idx)
{
	static const struct cfg_key name_key = {
	        .name = "name", .parse = p_name, .off = offsetof(struct cfg_port, name)};

	set_item(x, "port %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; ... }, got %s", type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_name(x, config_setting_get_member(g, "name"), p, &name_key) < 0)
		return -1;
	set_item(x, "port \"%s\"", p->name);
	p->line = config_setting_source_line(g);
	if (walk(x, g, port_keys, SPH_ARRAY_SIZE(port_keys), p) < 0 ||
	    require(x, g, "device") < 0 || require(x, g, "addresses") < 0)
		return -1;
	if (check_gateway(x, g, p, "gateway4", &p->gw4) < 0 ||
	    check_gateway(x, g, p, "gateway6", &p->gw6) < 0)
		return -1;
	return 0;
}

/* ---- duplicates ---- */

/* One value that must be unique, and where it came from. Keys are zero-padded names or
 * packed (family, address, port) triples, so one memcmp compares either. */
struct dup_ref {
	uint8_t key[CFG_NAME_MAX];
	unsigned seq;              /* file order */
	unsigned owner;            /* index of the object holding it */
	const config_setting_t *s; /* where a message points */
};

static int
dup_cmp(const void *pa, const void *pb)
{
	const struct dup_ref *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, sizeof(a->key));

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Sorts r and finds the repeat that comes first in the file: returns its index and sets
 * *first to the earlier holder of the same value; -1 when all differ. Sorting keeps this
 * O(n log n): a file may list tens of thousands of backends or VIP ports.
 */
static long
dup_find(struct dup_ref *r, size_t n, size_t *first)
{
	long best = -1;

	qsort(r, n, sizeof(*r), dup_cmp);
	for (size_t i = 1, start = 0; i < n; i++) {
		if (memcmp(r[i].key, r[start].key, sizeof(r[i].key)) != 0) {
			start = i;
			continue;
		}
		if (best < 0 || r[i].seq < r[best].seq) {
			best = (long)i;
			*first = start;
		}
	}
	return best;
}

static void
dup_name(struct dup_ref *r, const char *name)
{
	memset(r->key, 0, sizeof(r->key));
	memcpy(r->key, name, strlen(name));
}

static void
dup_addr(struct dup_ref *r, const struct cfg_addr *a, uint16_t port)
{
	memset(r->key, 0, sizeof(r->key));
	r->key[0] = a->family;
	memcpy(r->key + 1, a->a, 16);
	r->key[17] = (uint8_t)(port >> 8);
	r->key[18] = (uint8_t)port;
}

static int
read_ports(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_ports;
	unsigned n = l ? (unsigned)config_setting_length(l) : 0, na = 0;
	struct dup_ref *r;
	size_t first;
	long d;

	if (n == 0)
		return 0;
	cfg->ports = calloc(n, sizeof(*cfg->ports));
	if (cfg->ports == NULL)
		return fail_nomem(x);
	cfg->nb_ports = n;
	for (unsigned i = 0; i < n; i++) {
		if (read_port(x, config_setting_get_elem(l, i), &cfg->ports[i], i) < 0)
			return -1;
		na += cfg->ports[i].nb_addrs;
	}

	/* Port names, then addresses across ports (each port already checked its own). */
	r = calloc(n > na ? n : na, sizeof(*r));
	if (r == NULL)
		return fail_nomem(x);
	for (unsigned i = 0; i < n; i++) {
		dup_name(&r[i], cfg->ports[i].name);
		r[i].seq = r[i].owner = i;
		r[i].s = config_setting_get_elem(l, i);
	}
	d = dup_find(r, n, &first);
	if (d >= 0) {
		set_item(x, "port \"%s\"", cfg->ports[r[d].owner].name);
		fail(x, r[d].s, "name is already used by the port at line %u",
		     cfg->ports[r[first].owner].line);
		free(r);
		return -1;
	}
	/* Exception interfaces: n is small (the dataplane serves a handful of ports). */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i && cfg->ports[i].exception[0] != '\0'; j++)
			if (strcmp(cfg->ports[i].exception, cfg->ports[j].exception) == 0) {
				set_item(x, "port \"%s\"", cfg->ports[i].name);
				fail(x,
				     config_setting_get_member(config_setting_get_elem(l, i),
				                               "exception"),
				     "exception interface \"%s\" is already used by port \"%s\"",
				     cfg->ports[i].exception, cfg->ports[j].name);
				free(r);
				return -1;
			}
	na = 0;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < cfg->ports[i].nb_addrs; j++, na++) {
			dup_addr(&r[na], &cfg->ports[i].addrs[j].addr, 0);
			r[na].seq = na;
			r[na].owner = i;
			r[na].s = config_setting_get_member(config_setting_get_elem(l, i),
			                                    "addresses");
		}
	}
	d = dup_find(r, na, &first);
	if (d >= 0) {
		char a[CFG_ADDR_STRLEN];

		struct cfg_addr ad = {.family = r[d].key[0]};

		memcpy(ad.a, r[d].key + 1, 16);
		set_item(x, "port \"%s\"", cfg->ports[r[d].owner].name);
		fail(x, r[d].s, "address %s is already owned by port \"%s\"",
		     cfg_addr_format(&ad, 0, a, sizeof(a)), cfg->ports[r[first].owner].name);
		free(r);
		return -1;
	}
	free(r);
	return 0;
}

/* ---- groups and backends ---- */

static int
p_be_addr(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_backend *b = obj;
	int port = read_addr(x, s, obj, k);

	if (port < 0)
		return -1;
	if (port > 0) {
		b->port = (uint16_t)port;
		x->s_addr_port = s;
	}
	return 0;
}

static int
p_be_port(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_backend *b = obj;
	long long v = 0;

	(void)k;
	if (get_int(x, s, NULL, 1, 65535, &v) < 0)
		return -1;
	b->port = (uint16_t)v;
	x->s_port_key = s;
	return 0;
}

static int
p_state(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX];
	const char *v = "";
	int st;

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	st = cfg_state_parse(v);
	if (st < 0)
		return fail(x, s, "state must be \"up\", \"drain\" or \"down\", got %s",
		            quote(q, v));
	*((uint8_t *)obj + k->off) = (uint8_t)st;
	return 0;
}

static int
p_mac(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_backend *b = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (cfg_mac_parse(v, b->mac) < 0)
		return fail(
		        x, s,
		        "mac must be six pairs of hex digits like \"02:00:00:00:00:21\", got %s",
		        quote(q, v));
	if ((b->mac[0] & 1) ||
	    (b->mac[0] | b->mac[1] | b->mac[2] | b->mac[3] | b->mac[4] | b->mac[5]) == 0)
		return fail(x, s, "mac must be a unicast address, got %s", quote(q, v));
	b->has_mac = 1;
	return 0;
}

static const struct cfg_key backend_keys[] = {
        {"name", p_done, 0, 0, 0},
        {"address", p_be_addr, offsetof(struct cfg_backend, addr), 0, 1},
        {"port", p_be_port, 0, 0, 0},
        {"weight", p_u32, offsetof(struct cfg_backend, weight), CFG_WEIGHT_MIN, CFG_WEIGHT_MAX},
        {"state", p_state, offsetof(struct cfg_backend, state), 0, 0},
        {"mac", p_mac, 0, 0, 0},
};

static int
read_backend(struct cfg_ctx *x, const config_setting_t *g, struct cfg_backend *b, unsigned idx,
             const char *group)
{
	static const struct cfg_key name_key = {
	        .name = "name", .parse = p_name, .off = offsetof(struct cfg_backend, name)};
	char a[CFG_ADDR_STRLEN];

	set_item(x, "backend %u of group \"%s\"", idx + 1, group);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; address = ...; }, got %s",
		            type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_name(x, config_setting_get_member(g, "name"), b, &name_key) < 0)
		return -1;
	set_item(x, "backend \"%s\"", b->name);
	b->line = config_setting_source_line(g);
	b->port = CFG_DEFAULT_PORT;
	b->weight = 1;
	b->state = MAGLEV_UP;
	x->s_port_key = x->s_addr_port = NULL;
	if (walk(x, g, backend_keys, SPH_ARRAY_SIZE(backend_keys), b) < 0 ||
	    require(x, g, "address") < 0)
		return -1;
	if (x->s_port_key != NULL && x->s_addr_port != NULL)
		return fail(x, x->s_port_key,
		            "port is given twice: address %s already has one; drop one of them",
		            cfg_addr_format(&b->addr, 0, a, sizeof(a)));
	return 0;
}

static const struct cfg_key group_keys[] = {
        {"name", p_done, 0, 0, 0},
        {"backends", p_done, 0, 0, 0}, /* read by read_group(), once the name is known */
};

static int
read_group(struct cfg_ctx *x, const config_setting_t *g, struct cfg_group *grp, unsigned idx)
{
	static const struct cfg_key name_key = {
	        .name = "name", .parse = p_name, .off = offsetof(struct cfg_group, name)};
	const config_setting_t *l;
	unsigned n;

	set_item(x, "group %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; backends = ( ... ); }, got %s",
		            type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_name(x, config_setting_get_member(g, "name"), grp, &name_key) < 0)
		return -1;
	set_item(x, "group \"%s\"", grp->name);
	grp->line = config_setting_source_line(g);
	if (walk(x, g, group_keys, SPH_ARRAY_SIZE(group_keys), grp) < 0 ||
	    require(x, g, "backends") < 0)
		return -1;
	l = config_setting_get_member(g, "backends");
	if (get_list(x, l) < 0)
		return -1;
	n = (unsigned)config_setting_length(l);
	if (n == 0)
		return fail(x, l, "backends must hold at least one backend");
	if (n > MAGLEV_MAX_BACKENDS)
		return fail(x, l, "too many backends: %u, at most %u", n, MAGLEV_MAX_BACKENDS);
	grp->backends = calloc(n, sizeof(*grp->backends));
	if (grp->backends == NULL)
		return fail_nomem(x);
	grp->nb_backends = n;
	for (unsigned i = 0; i < n; i++)
		if (read_backend(x, config_setting_get_elem(l, i), &grp->backends[i], i,
		                 grp->name) < 0)
			return -1;
	return 0;
}

/* Names: groups among groups, backends across the whole file (they are Maglev identities
 * and what operators address with siphonctl). Endpoints: within a group, two backends
 * at one address and port are a copy-paste slip (weight expresses a bigger share). */
static int
check_group_dups(struct cfg_ctx *x, struct dup_ref *r)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_groups;
	unsigned nb = 0;
	size_t first;
	long d;

	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		dup_name(&r[i], cfg->groups[i].name);
		r[i].seq = r[i].owner = i;
		r[i].s = config_setting_get_elem(l, i);
	}
	d = dup_find(r, cfg->nb_groups, &first);
	if (d >= 0) {
		set_item(x, "group \"%s\"", cfg->groups[r[d].owner].name);
		return fail(x, r[d].s, "name is already used by the group at line %u",
		            cfg->groups[r[first].owner].line);
	}

	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const config_setting_t *bl =
		        config_setting_get_member(config_setting_get_elem(l, i), "backends");

		for (unsigned j = 0; j < cfg->groups[i].nb_backends; j++, nb++) {
			dup_name(&r[nb], cfg->groups[i].backends[j].name);
			r[nb].seq = nb;
			r[nb].owner = i;
			r[nb].s = config_setting_get_elem(bl, j);
		}
	}
	d = dup_find(r, nb, &first);
	if (d >= 0) {
		char name[CFG_NAME_MAX];

		memcpy(name, r[d].key, sizeof(name));
		set_item(x, "backend \"%s\"", name);
		return fail(x, r[d].s, "name is already used by the backend at line %u%s%s%s",
		            config_setting_source_line(r[first].s),
		            r[first].owner != r[d].owner ? " in group \"" : "",
		            r[first].owner != r[d].owner ? cfg->groups[r[first].owner].name : "",
		            r[first].owner != r[d].owner ? "\"" : "");
	}

	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *grp = &cfg->groups[i];
		const config_setting_t *bl =
		        config_setting_get_member(config_setting_get_elem(l, i), "backends");
		char a[CFG_ADDR_STRLEN];

		for (unsigned j = 0; j < grp->nb_backends; j++) {
			dup_addr(&r[j], &grp->backends[j].addr, grp->backends[j].port);
			r[j].seq = r[j].owner = j;
			r[j].s = config_setting_get_elem(bl, j);
		}
		d = dup_find(r, grp->nb_backends, &first);
		if (d >= 0) {
			const struct cfg_backend *b = &grp->backends[r[d].owner];

			set_item(x, "backend \"%s\"", b->name);
			return fail(x, r[d].s,
			            "address %s is already used by backend \"%s\" of group \"%s\"",
			            cfg_addr_format(&b->addr, b->port, a, sizeof(a)),
			            grp->backends[r[first].owner].name, grp->name);
		}
	}
	return 0;
}

static int
read_groups(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_groups;
	unsigned n = (unsigned)config_setting_length(l), nb = 0;
	struct dup_ref *r;
	int rc;

	if (n == 0)
		return fail(x, l, "groups must hold at least one group");
	cfg->groups = calloc(n, sizeof(*cfg->groups));
	if (cfg->groups == NULL)
		return fail_nomem(x);
	cfg->nb_groups = n;
	for (unsigned i = 0; i < n; i++) {
		if (read_group(x, config_setting_get_elem(l, i), &cfg->groups[i], i) < 0)
			return -1;
		nb += cfg->groups[i].nb_backends;
	}

	r = calloc(nb > n ? nb : n, sizeof(*r));
	if (r == NULL)
		return fail_nomem(x);
	rc = check_group_dups(x, r);
	free(r);
	if (rc < 0)
		return -1;

	/* Every backend of a group may be up at once (states change at run time). */
	for (unsigned i = 0; i < n; i++) {
		const struct cfg_group *grp = &cfg->groups[i];

		if (grp->nb_backends <= cfg->maglev_size)
			continue;
		if (x->s_maglev != NULL) {
			x->item[0] = '\0';
			return fail(x, x->s_maglev,
			            "maglev_size must be at least the backend count of every "
			            "group, got %u but group \"%s\" has %u",
			            cfg->maglev_size, grp->name, grp->nb_backends);
		}
		set_item(x, "group \"%s\"", grp->name);
		return fail(x, config_setting_get_elem(l, i),
		            "%u backends exceed the default maglev_size %u; set a larger prime",
		            grp->nb_backends, cfg->maglev_size);
	}
	return 0;
}

/* ---- VIPs ---- */

static int
p_vip_ports(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_vip *v = obj;
	int n = config_setting_length(s);

	(void)k;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "ports must be an array like [ 5060 ], got %s", type_name(s));
	if (n == 0)
		return fail(x, s, "ports must hold at least one port");
	/* The address may have set one already; the conflict is reported by read_vip(). */
	free(v->ports);
	v->ports = calloc((size_t)n, sizeof(*v->ports));
	if (v->ports == NULL)
		return fail_nomem(x);
	for (int i = 0; i < n; i++) {
		long long p = 0;

		if (get_int(x, config_setting_get_elem(s, (unsigned)i), "ports", 1, 65535, &p) < 0)
			return -1;
		v->ports[i] = (uint16_t)p;
		v->nb_ports = (unsigned)i + 1;
	}
	x->s_port_key = s;
	return 0;
}

static int
p_vip_group(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_vip *v = obj;
	const struct cfg_group *g;
	char q[CFG_QUOTE_MAX];
	const char *name = "";

	(void)k;
	if (get_str(x, s, NULL, &name) < 0)
		return -1;
	g = cfg_group_find(x->cfg, name);
	if (g == NULL)
		return fail(x, s, "group %s is not defined", quote(q, name));
	v->group = (unsigned)(g - x->cfg->groups);
	return 0;
}

static int
p_mode(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_vip *v = obj;
	char q[CFG_QUOTE_MAX];
	const char *name = "";
	int m;

	(void)k;
	if (get_str(x, s, NULL, &name) < 0)
		return -1;
	m = cfg_mode_parse(name);
	if (m < 0)
		return fail(x, s, "mode must be \"l2dsr\" or \"ipip\", got %s", quote(q, name));
	v->mode = (uint8_t)m;
	return 0;
}

static const struct cfg_key vip_keys[] = {
        {"address", p_done, 0, 0, 0},
        {"ports", p_vip_ports, 0, 0, 0},
        {"group", p_vip_group, 0, 0, 0},
        {"mode", p_mode, 0, 0, 0},
};

static int
read_vip(struct cfg_ctx *x, const config_setting_t *g, struct cfg_vip *v, unsigned idx)
{
	static const struct cfg_key addr_key = {"address", p_done, offsetof(struct cfg_vip, addr),
	                                        0, 1};
	char a[CFG_ADDR_STRLEN];
	int port;

	set_item(x, "vip %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { address = ...; group = ...; }, got %s",
		            type_name(g));
	if (require(x, g, "address") < 0)
		return -1;
	port = read_addr(x, config_setting_get_member(g, "address"), v, &addr_key);
	if (port < 0)
		return -1;
	set_item(x, "vip %s", cfg_addr_format(&v->addr, 0, a, sizeof(a)));
	v->line = config_setting_source_line(g);
	v->mode = CFG_VIP_L2DSR;
	x->s_port_key = NULL;
	if (walk(x, g, vip_keys, SPH_ARRAY_SIZE(vip_keys), v) < 0 || require(x, g, "group") < 0)
		return -1;
	if (port > 0 && x->s_port_key != NULL)
		return fail(x, x->s_port_key,
		            "ports are given twice: address %s already has one; drop one of them",
		            cfg_addr_format(&v->addr, (uint16_t)port, a, sizeof(a)));
	if (v->ports == NULL) {
		v->ports = malloc(sizeof(*v->ports));
		if (v->ports == NULL)
			return fail_nomem(x);
		v->ports[0] = port > 0 ? (uint16_t)port : CFG_DEFAULT_PORT;
		v->nb_ports = 1;
	}
	return 0;
}

static int
read_vips(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_vips;
	unsigned n = l ? (unsigned)config_setting_length(l) : 0;
	size_t np = 0, first;
	struct dup_ref *r;
	long d;

	if (n == 0)
		return 0;
	cfg->vips = calloc(n, sizeof(*cfg->vips));
	if (cfg->vips == NULL)
		return fail_nomem(x);
	cfg->nb_vips = n;
	for (unsigned i = 0; i < n; i++) {
		if (read_vip(x, config_setting_get_elem(l, i), &cfg->vips[i], i) < 0)
			return -1;
		np += cfg->vips[i].nb_ports;
	}

	r = calloc(np, sizeof(*r));
	if (r == NULL)
		return fail_nomem(x);
	np = 0;
	for (unsigned i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		const config_setting_t *ps = config_setting_get_member(g, "ports");

		for (unsigned j = 0; j < cfg->vips[i].nb_ports; j++, np++) {
			dup_addr(&r[np], &cfg->vips[i].addr, cfg->vips[i].ports[j]);
			r[np].seq = (unsigned)np;
			r[np].owner = i;
			r[np].s = ps != NULL ? config_setting_get_elem(ps, j) : g;
		}
	}
	d = dup_find(r, np, &first);
	if (d >= 0) {
		const struct cfg_vip *v = &cfg->vips[r[d].owner];
		unsigned port = (unsigned)r[d].key[17] << 8 | r[d].key[18];
		char a[CFG_ADDR_STRLEN];

		set_item(x, "vip %s", cfg_addr_format(&v->addr, 0, a, sizeof(a)));
		if (r[first].owner == r[d].owner)
			fail(x, r[d].s, "port %u is listed twice", port);
		else
			fail(x, r[d].s, "port %u is already served by the vip at line %u", port,
			     cfg->vips[r[first].owner].line);
		free(r);
		return -1;
	}
	free(r);
	return 0;
}

/* ---- integer literals libconfig would wrap ---- */

static int intscan_file(struct cfg_ctx *x, const char *rel, int depth);

/*
 * libconfig 1.5 reads an integer literal without an L suffix through atoi()/strtoul()
 * into an int, so 4294967297 arrives as 1 and would pass any range check. Every key
 * siphon knows fits in 31 bits, so once the parse succeeded the files are read again
 * with libconfig's own token rules and any literal that does not fit is refused.
 */
static int
intscan_text(struct cfg_ctx *x, const char *t, size_t n, const char *shown, int depth)
{
	unsigned line = 1;
	size_t i = 0;

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
	while (i < n) {
		char c = t[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '"') {
			for (i++; i < n && t[i] != '"'; i++) {
				if (t[i] == '\\' && i + 1 < n)
					i++;
				line += t[i] == '\n';
			}
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && t[i + 1] == '/')) {
			while (i < n && t[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && t[i + 1] == '*') {
			for (i += 2; i < n && !(t[i] == '*' && i + 1 < n && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			i += 2;
		} else if (c == '@' && n - i > 8 && memcmp(t + i, "@include", 8) == 0) {
			size_t s, e;

			for (i += 8; i < n && (t[i] == ' ' || t[i] == '\t'); i++)
				;
			if (i >= n || t[i] != '"')
				continue;
			s = ++i;
			for (e = s; e < n && t[e] != '"' && t[e] != '\\' && t[e] != '\n'; e++)
				;
			if (e < n && t[e] == '"' && e > s && depth < CFG_INCLUDE_DEPTH) {
				char *rel = strndup(t + s, e - s);
				int rc;

				if (rel == NULL)
					return fail_nomem(x);
				rc = intscan_file(x, rel, depth + 1);
				free(rel);
				if (rc < 0)
					return -1;
			}
			i = e;
		} else if (IS_ALPHA(c) || c == '*') {
			while (i < n && (IS_ALPHA(t[i]) || IS_DIGIT(t[i]) || t[i] == '-' ||
			                 t[i] == '_' || t[i] == '*'))
				i++;
		} else if (c == '.' || IS_DIGIT(c)) {
			size_t s = i;
			int neg = i > 0 && t[i - 1] == '-', hex = 0, flt = c == '.';
			unsigned long long v = 0;
			unsigned digits = 0; /* significant ones; v is exact up to 12 */

			if (c == '0' && i + 1 < n && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
				hex = 1;
				i += 2;
			}
			for (; i < n && (hex ? hex_digit(t[i]) >= 0 : IS_DIGIT(t[i])); i++) {
				if (digits == 0 && t[i] == '0')
					continue;
				if (++digits <= 12)
					v = v * (hex ? 16u : 10u) + (unsigned)hex_digit(t[i]);
			}
			if (digits > 12)
				v = ~0ull;
			if (!hex && i < n && (t[i] == '.' || t[i] == 'e' || t[i] == 'E'))
				flt = 1;
			if (flt) {
				while (i < n && (IS_DIGIT(t[i]) || t[i] == '.' || t[i] == 'e' ||
				                 t[i] == 'E' ||
				                 ((t[i] == '-' || t[i] == '+') &&
				                  (t[i - 1] == 'e' || t[i - 1] == 'E'))))
					i++;
				continue;
			}
			if (i < n && t[i] == 'L')
				continue; /* 64-bit literal: libconfig reads it whole */
			if (hex ? v > 0xffffffffull : v > 2147483647ull + (unsigned)neg) {
				x->item[0] = '\0';
				return fail_at(x, shown, line,
				               "integer %s%.*s does not fit in 32 bits (at most "
				               "2147483647)",
				               neg ? "-" : "", (int)(i - s < 40 ? i - s : 40),
				               t + s);
			}
		} else {
			i++;
		}
	}
#undef IS_DIGIT
#undef IS_ALPHA
	return 0;
}

/* rel: NULL for the main file, else an @include path relative to the main file's folder. */
static int
intscan_file(struct cfg_ctx *x, const char *rel, int depth)
{
	char path[4096], shown[4096];
	size_t n = 0, cap = 0;
	char *t = NULL;
	FILE *f;
	int rc;

	if (rel == NULL) {
		snprintf(path, sizeof(path), "%s", x->path);
		snprintf(shown, sizeof(shown), "%s", x->path);
	} else {
		/* As libconfig 1.5 does: the include folder, then the path without its '/'. */
		snprintf(path, sizeof(path), "%s/%s", x->dir, rel + (rel[0] == '/'));
		src_name(x, rel, shown, sizeof(shown));
	}
	f = fopen(path, "r");
	if (f == NULL)
		return 0; /* libconfig read it a moment ago; nothing to add if it is gone */
	for (;;) {
		if (n == cap) {
			char *g = cap < SIZE_MAX / 2 ? realloc(t, cap ? cap * 2 : 8192) : NULL;

			if (g == NULL) {
				free(t);
				fclose(f);
				return fail_nomem(x);
			}
			t = g;
			cap = cap ? cap * 2 : 8192;
		}
		size_t got = fread(t + n, 1, cap - n, f);

		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	rc = intscan_text(x, t, n, shown, depth);
	free(t);
	return rc;
}

/* ---- cfg_load ---- */

static int
load(struct cfg_ctx *x, config_t *c)
{
	const config_setting_t *root;
	struct stat st;
	FILE *f;

	f = fopen(x->path, "r");
	if (f == NULL)
		return fail(x, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return fail(x, NULL, "is a directory, not a configuration file");
	}
	fclose(f);

	config_set_include_dir(c, x->dir);
	if (!config_read_file(c, x->path)) {
		char file[4096];

		if (config_error_type(c) == CONFIG_ERR_FILE_IO)
			return fail(x, NULL, "cannot read: %s",
			            config_error_text(c) ? config_error_text(c) : "I/O error");
		src_name(x, config_error_file(c), file, sizeof(file));
		return fail_at(x, file, (unsigned)config_error_line(c), "%s",
		               config_error_text(c) ? config_error_text(c) : "syntax error");
	}
	if (intscan_file(x, NULL, 0) < 0)
		return -1;

	root = config_root_setting(c);
	if (walk(x, root, top_keys, SPH_ARRAY_SIZE(top_keys), x->cfg) < 0)
		return -1;
	if (x->cfg->hash_key == NULL)
		return fail(x, NULL,
		            "hash_key_hex (or hash_key) is required: generate one with "
		            "`openssl rand -hex 32`");
	if (x->s_groups == NULL)
		return fail(x, NULL, "groups is required: at least one group of backends");
	if (read_ports(x) < 0 || read_groups(x) < 0 || read_vips(x) < 0)
		return -1;
	return 0;
}

int
cfg_load(const char *path, struct sph_cfg **out, char *err, size_t errlen)
{
	struct cfg_ctx x = {.path = path, .dir = ".", .err = err, .errlen = err ? errlen : 0};
	char *p, *dir;
	config_t c;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (x.errlen > 0)
		err[0] = '\0';
	if (path == NULL || out == NULL) {
		x.path = "(null)";
		return fail_at(&x, "cfg_load", 0, "no path or no result pointer");
	}
	x.cfg = calloc(1, sizeof(*x.cfg));
	p = strdup(path);
	dir = p != NULL ? strdup(dirname(p)) : NULL;
	free(p);
	if (x.cfg == NULL || dir == NULL || (x.cfg->path = strdup(path)) == NULL) {
		cfg_free(x.cfg);
		free(dir);
		return fail_nomem(&x);
	}
	x.dir = dir;
	x.cfg->maglev_size = MAGLEV_DEFAULT_SIZE;
	x.cfg->dialog_window = CFG_DIALOG_WINDOW;
	snprintf(x.cfg->ctl_socket, sizeof(x.cfg->ctl_socket), "%s", CFG_CONTROL_SOCKET);
	x.cfg->ctl_mode = CFG_CONTROL_MODE;
	snprintf(x.cfg->ctl_group, sizeof(x.cfg->ctl_group), "%s", CFG_CONTROL_GROUP);
	cfg_health_default(&x.cfg->health);

	config_init(&c);
	rc = load(&x, &c);
	config_destroy(&c);
	free(dir);
	/* The parse checked everything with the setting's own line; the shared rule set
	 * runs too, so a rule added only there still holds for files. */
	if (rc == 0)
		rc = cfg_validate(x.cfg, x.err, x.errlen);
	if (rc < 0) {
		cfg_free(x.cfg);
		return -1;
	}
	*out = x.cfg;
	return 0;
}

/* ---- cfg_write ---- */

/* What cfg_load() would refuse before even comparing values: checked up front so a
 * failed write leaves nothing behind. */
static int
writable(const struct sph_cfg *cfg)
{
	if (cfg->hash_key == NULL || cfg->hash_key_len < CFG_KEY_MIN ||
	    cfg->hash_key_len > CFG_KEY_MAX || cfg->nb_groups == 0 || cfg->groups == NULL)
		return 0;
	if (cfg->ctl_socket[0] != '\0' &&
	    (memchr(cfg->ctl_socket, 0, sizeof(cfg->ctl_socket)) == NULL ||
	     !socket_path_valid(cfg->ctl_socket) || cfg->ctl_mode > 0777 ||
	     !cfg_name_valid(cfg->ctl_group)))
		return 0;
	if (cfg->metrics_port != 0 && cfg->metrics_addr.family != 4 &&
	    cfg->metrics_addr.family != 6)
		return 0;
	for (unsigned i = 0; i < cfg->nb_ports; i++) {
		const struct cfg_port *p = &cfg->ports[i];

		if (!cfg_name_valid(p->name) || memchr(p->device, 0, sizeof(p->device)) == NULL ||
		    !device_valid(p->device) || p->nb_addrs == 0 ||
		    p->nb_addrs > CFG_PORT_ADDRS_MAX ||
		    (p->gw4.family != 0 && p->gw4.family != 4) ||
		    (p->gw6.family != 0 && p->gw6.family != 6) ||
		    memchr(p->exception, 0, sizeof(p->exception)) == NULL ||
		    (p->exception[0] != '\0' && !ifname_valid(p->exception)))
			return 0;
		for (unsigned j = 0; j < p->nb_addrs; j++)
			if (p->addrs[j].addr.family != 4 && p->addrs[j].addr.family != 6)
				return 0;
	}
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		if (!cfg_name_valid(g->name) || g->nb_backends == 0 || g->backends == NULL)
			return 0;
		for (unsigned j = 0; j < g->nb_backends; j++) {
			const struct cfg_backend *b = &g->backends[j];

			if (!cfg_name_valid(b->name) ||
			    (b->addr.family != 4 && b->addr.family != 6) || b->port == 0 ||
			    b->state >= SPH_ARRAY_SIZE(state_names))
				return 0;
		}
	}
	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];

		if ((v->addr.family != 4 && v->addr.family != 6) || v->nb_ports == 0 ||
		    v->ports == NULL || v->group >= cfg->nb_groups ||
		    v->mode >= SPH_ARRAY_SIZE(mode_names))
			return 0;
	}
	return 1;
}

int
cfg_write(const struct sph_cfg *cfg, FILE *f)
{
	char a[CFG_PREFIX_STRLEN], m[CFG_ADDR_STRLEN];

	if (cfg == NULL || f == NULL || !writable(cfg))
		return -1;

	fprintf(f, "# siphon configuration, written by cfg_write(); reference: docs/config.md.\n"
	           "# It holds the hash key: keep it as secret as the file it came from.\n");
	/* 32 bytes a line: a 1024-byte key stays readable as adjacent strings. */
	fprintf(f, "hash_key_hex =");
	for (size_t i = 0; i < cfg->hash_key_len; i++)
		fprintf(f, "%s%02x", i % 32 == 0 ? (i ? "\"\n\t\"" : " \"") : "", cfg->hash_key[i]);
	fprintf(f, "\";\nmaglev_size = %u;\nstats_interval = %u;\ndialog_window = %u;\n",
	        cfg->maglev_size, cfg->stats_interval, cfg->dialog_window);
	if (cfg->ctl_socket[0] != '\0')
		fprintf(f,
		        "\ncontrol = {\n\tsocket = \"%s\";\n\tmode = \"%04o\";\n\tgroup = "
		        "\"%s\";\n};\n",
		        cfg->ctl_socket, (unsigned)cfg->ctl_mode, cfg->ctl_group);
	fprintf(f, "\nmetrics = {\n\tlisten = \"%s\";\n};\n",
	        cfg->metrics_port != 0
	                ? cfg_addr_format(&cfg->metrics_addr, cfg->metrics_port, m, sizeof(m))
	                : "");

	if (cfg->health.interval_ms != 0) {
		const struct cfg_health *h = &cfg->health;
		unsigned c = 200, ranges = 0;

		fprintf(f,
		        "\nhealth = {\n\tenabled = %s;\n\tinterval_ms = %u;\n\ttimeout_ms = "
		        "%u;\n\tfall = %u;\n\trise = %u;\n\taccept = [",
		        h->enabled ? "true" : "false", h->interval_ms, h->timeout_ms, h->fall,
		        h->rise);
		/* The bitmap as ranges of consecutive codes: [ "200-699" ] by default. */
		while (c <= 699) {
			unsigned lo;

			if (!((h->accept[c / 64] >> (c % 64)) & 1u)) {
				c++;
				continue;
			}
			lo = c;
			while (c + 1 <= 699 && ((h->accept[(c + 1) / 64] >> ((c + 1) % 64)) & 1u))
				c++;
			if (lo == c)
				fprintf(f, "%s\"%u\"", ranges++ ? ", " : " ", lo);
			else
				fprintf(f, "%s\"%u-%u\"", ranges++ ? ", " : " ", lo, c);
			c++;
		}
		fprintf(f, " ];\n\toverload_code = %u;\n};\n", (unsigned)h->overload_code);
	}

	if (cfg->nb_ports > 0) {
		fprintf(f, "\nports = (\n");
		for (unsigned i = 0; i < cfg->nb_ports; i++) {
			const struct cfg_port *p = &cfg->ports[i];

			fprintf(f,
			        "\t{\n\t\tname = \"%s\";\n\t\tdevice = \"%s\";\n\t\taddresses = [",
			        p->name, p->device);
			for (unsigned j = 0; j < p->nb_addrs; j++)
				fprintf(f, "%s\"%s\"", j ? ", " : " ",
				        cfg_prefix_format(&p->addrs[j], a, sizeof(a)));
			fprintf(f, " ];\n");
			if (p->gw4.family != 0)
				fprintf(f, "\t\tgateway4 = \"%s\";\n",
				        cfg_addr_format(&p->gw4, 0, a, sizeof(a)));
			if (p->gw6.family != 0)
				fprintf(f, "\t\tgateway6 = \"%s\";\n",
				        cfg_addr_format(&p->gw6, 0, a, sizeof(a)));
			if (p->exception[0] != '\0')
				fprintf(f, "\t\texception = \"%s\";\n", p->exception);
			fprintf(f, "\t}%s\n", i + 1 < cfg->nb_ports ? "," : "");
		}
		fprintf(f, ");\n");
	}

	fprintf(f, "\ngroups = (\n");
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		fprintf(f, "\t{\n\t\tname = \"%s\";\n\t\tbackends = (\n", g->name);
		for (unsigned j = 0; j < g->nb_backends; j++) {
			const struct cfg_backend *b = &g->backends[j];

			fprintf(f,
			        "\t\t\t{ name = \"%s\"; address = \"%s\"; port = %u; weight = %u; "
			        "state = \"%s\";",
			        b->name, cfg_addr_format(&b->addr, 0, a, sizeof(a)), b->port,
			        b->weight, cfg_state_name(b->state));
			if (b->has_mac)
				fprintf(f, " mac = \"%s\";", cfg_mac_format(b->mac, a, sizeof(a)));
			fprintf(f, " }%s\n", j + 1 < g->nb_backends ? "," : "");
		}
		fprintf(f, "\t\t);\n\t}%s\n", i + 1 < cfg->nb_groups ? "," : "");
	}
	fprintf(f, ");\n");

	if (cfg->nb_vips > 0) {
		fprintf(f, "\nvips = (\n");
		for (unsigned i = 0; i < cfg->nb_vips; i++) {
			const struct cfg_vip *v = &cfg->vips[i];

			fprintf(f, "\t{ address = \"%s\"; ports = [",
			        cfg_addr_format(&v->addr, 0, a, sizeof(a)));
			for (unsigned j = 0; j < v->nb_ports; j++)
				fprintf(f, "%s%u", j ? ", " : " ", v->ports[j]);
			fprintf(f, " ]; group = \"%s\"; mode = \"%s\"; }%s\n",
			        cfg->groups[v->group].name, cfg_mode_name(v->mode),
			        i + 1 < cfg->nb_vips ? "," : "");
		}
		fprintf(f, ");\n");
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ---- cfg_equal ---- */

static int
gw_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->family == b->family && (a->family == 0 || memcmp(a->a, b->a, 16) == 0);
}

int
cfg_equal(const struct sph_cfg *a, const struct sph_cfg *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->stats_interval != b->stats_interval || a->dialog_window != b->dialog_window ||
	    a->maglev_size != b->maglev_size || a->hash_key_len != b->hash_key_len ||
	    a->nb_groups != b->nb_groups || a->nb_vips != b->nb_vips || a->nb_ports != b->nb_ports)
		return 0;
	if (a->hash_key_len > 0 && memcmp(a->hash_key, b->hash_key, a->hash_key_len) != 0)
		return 0;
	if (strcmp(a->ctl_socket, b->ctl_socket) != 0 || a->ctl_mode != b->ctl_mode ||
	    strcmp(a->ctl_group, b->ctl_group) != 0 || a->metrics_port != b->metrics_port ||
	    (a->metrics_port != 0 && !addr_equal(&a->metrics_addr, &b->metrics_addr)))
		return 0;
	if (a->health.enabled != b->health.enabled ||
	    a->health.interval_ms != b->health.interval_ms ||
	    a->health.timeout_ms != b->health.timeout_ms || a->health.fall != b->health.fall ||
	    a->health.rise != b->health.rise ||
	    a->health.overload_code != b->health.overload_code ||
	    memcmp(a->health.accept, b->health.accept, sizeof(a->health.accept)) != 0)
		return 0;
	for (unsigned i = 0; i < a->nb_groups; i++) {
		const struct cfg_group *ga = &a->groups[i], *gb = &b->groups[i];

		if (strcmp(ga->name, gb->name) != 0 || ga->nb_backends != gb->nb_backends)
			return 0;
		for (unsigned j = 0; j < ga->nb_backends; j++) {
			const struct cfg_backend *x = &ga->backends[j], *y = &gb->backends[j];

			if (strcmp(x->name, y->name) != 0 || !addr_equal(&x->addr, &y->addr) ||
			    x->port != y->port || x->weight != y->weight || x->state != y->state ||
			    x->has_mac != y->has_mac ||
			    (x->has_mac && memcmp(x->mac, y->mac, 6) != 0))
				return 0;
		}
	}
	for (unsigned i = 0; i < a->nb_vips; i++) {
		const struct cfg_vip *x = &a->vips[i], *y = &b->vips[i];

		if (!addr_equal(&x->addr, &y->addr) || x->nb_ports != y->nb_ports ||
		    x->group != y->group || x->mode != y->mode ||
		    (x->nb_ports > 0 &&
		     memcmp(x->ports, y->ports, x->nb_ports * sizeof(*x->ports)) != 0))
			return 0;
	}
	for (unsigned i = 0; i < a->nb_ports; i++) {
		const struct cfg_port *x = &a->ports[i], *y = &b->ports[i];

		if (strcmp(x->name, y->name) != 0 || strcmp(x->device, y->device) != 0 ||
		    x->nb_addrs != y->nb_addrs || !gw_equal(&x->gw4, &y->gw4) ||
		    !gw_equal(&x->gw6, &y->gw6) ||
		    strncmp(x->exception, y->exception, sizeof(x->exception)) != 0)
			return 0;
		for (unsigned j = 0; j < x->nb_addrs && j < CFG_PORT_ADDRS_MAX; j++)
			if (!addr_equal(&x->addrs[j].addr, &y->addrs[j].addr) ||
			    x->addrs[j].len != y->addrs[j].len)
				return 0;
	}
	return 1;
}

/* ---- cfg_dup ---- */

struct sph_cfg *
cfg_dup(const struct sph_cfg *cfg)
{
	struct sph_cfg *d;

	if (cfg == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *cfg;
	d->path = NULL;
	d->hash_key = NULL;
	d->groups = NULL;
	d->vips = NULL;
	d->ports = NULL;
	d->nb_groups = d->nb_vips = d->nb_ports = 0; /* cfg_free() of a half copy is safe */
	if (cfg->path != NULL && (d->path = strdup(cfg->path)) == NULL)
		goto fail;
	if (cfg->hash_key_len > 0) {
		d->hash_key = malloc(cfg->hash_key_len);
		if (d->hash_key == NULL)
			goto fail;
		memcpy(d->hash_key, cfg->hash_key, cfg->hash_key_len);
	}
	if (cfg->nb_ports > 0) {
		d->ports = malloc(cfg->nb_ports * sizeof(*d->ports));
		if (d->ports == NULL)
			goto fail;
		memcpy(d->ports, cfg->ports, cfg->nb_ports * sizeof(*d->ports));
		d->nb_ports = cfg->nb_ports;
	}
	if (cfg->nb_groups > 0) {
		d->groups = calloc(cfg->nb_groups, sizeof(*d->groups));
		if (d->groups == NULL)
			goto fail;
		d->nb_groups = cfg->nb_groups;
		for (unsigned i = 0; i < cfg->nb_groups; i++) {
			const struct cfg_group *g = &cfg->groups[i];

			d->groups[i] = *g;
			d->groups[i].backends = NULL;
			if (g->nb_backends == 0)
				continue;
			d->groups[i].backends = malloc(g->nb_backends * sizeof(*g->backends));
			if (d->groups[i].backends == NULL)
				goto fail;
			memcpy(d->groups[i].backends, g->backends,
			       g->nb_backends * sizeof(*g->backends));
		}
	}
	if (cfg->nb_vips > 0) {
		d->vips = calloc(cfg->nb_vips, sizeof(*d->vips));
		if (d->vips == NULL)
			goto fail;
		d->nb_vips = cfg->nb_vips;
		for (unsigned i = 0; i < cfg->nb_vips; i++) {
			const struct cfg_vip *v = &cfg->vips[i];

			d->vips[i] = *v;
			d->vips[i].ports = NULL;
			if (v->nb_ports == 0)
				continue;
			d->vips[i].ports = malloc(v->nb_ports * sizeof(*v->ports));
			if (d->vips[i].ports == NULL)
				goto fail;
			memcpy(d->vips[i].ports, v->ports, v->nb_ports * sizeof(*v->ports));
		}
	}
	return d;
fail:
	cfg_free(d);
	return NULL;
}

/* ---- cfg_validate ---- */

struct val_ctx {
	const struct sph_cfg *cfg;
	char *err;
	size_t errlen;
};

/* One line: "file:line: item: problem" when the object has a line in the file, else
 * "item: problem"; a top-level value (item NULL) is "file: problem". */
static SPH_COLD __attribute__((format(printf, 4, 5))) int
vfail(struct val_ctx *v, const char *item, unsigned line, const char *fmt, ...)
{
	const char *path = v->cfg->path != NULL ? v->cfg->path : "configuration";
	char problem[512];
	va_list ap;

	if (v->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (item == NULL)
		snprintf(v->err, v->errlen, "%s: %s", path, problem);
	else if (line > 0)
		snprintf(v->err, v->errlen, "%s:%u: %s: %s", path, line, item, problem);
	else
		snprintf(v->err, v->errlen, "%s: %s", item, problem);
	return -1;
}

/* Sort helpers: indices compared by name, or by (family, address, port). */
struct val_key {
	const char *name;
	struct cfg_addr addr;
	uint16_t port;
	unsigned seq, owner;
};

static int
val_name_cmp(const void *pa, const void *pb)
{
	const struct val_key *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int
val_addr_cmp(const void *pa, const void *pb)
{
	const struct val_key *a = pa, *b = pb;
	int c = (int)a->addr.family - (int)b->addr.family;

	if (c == 0)
		c = memcmp(a->addr.a, b->addr.a, 16);
	if (c == 0)
		c = (int)a->port - (int)b->port;
	return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorts k and returns the index of a repeated value (the second holder of the first
 * repeated value in sort order), with *first set to its first holder; -1 when all differ.
 * Sorting keeps this O(n log n) for the largest files. */
static long
val_dup(struct val_key *k, size_t n, int (*cmp)(const void *, const void *), size_t *first)
{
	qsort(k, n, sizeof(*k), cmp);
	for (size_t i = 1; i < n; i++) {
		struct val_key a = k[i - 1], b = k[i];

		a.seq = b.seq = 0;
		if (cmp(&a, &b) == 0) {
			*first = i - 1;
			while (*first > 0) {
				a = k[*first - 1];
				a.seq = 0;
				if (cmp(&a, &b) != 0)
					break;
				(*first)--;
			}
			return (long)i;
		}
	}
	return -1;
}

static int
validate_ports(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_NAME_MAX + 16], a[CFG_PREFIX_STRLEN];
	struct val_key *k;
	size_t na = 0, first;
	long d;

	for (unsigned i = 0; i < cfg->nb_ports; i++) {
		const struct cfg_port *p = &cfg->ports[i];

		snprintf(item, sizeof(item), "port \"%.63s\"", p->name);
		if (!cfg_name_valid(p->name))
			return vfail(v, item, p->line,
			             "name must be 1..63 characters of A-Z a-z 0-9 . _ -");
		if (memchr(p->device, 0, sizeof(p->device)) == NULL || !device_valid(p->device))
			return vfail(v, item, p->line,
			             "device must be 1..%u printable characters without spaces, "
			             "quotes or backslashes",
			             CFG_DEVICE_MAX - 1);
		if (p->nb_addrs == 0 || p->nb_addrs > CFG_PORT_ADDRS_MAX)
			return vfail(v, item, p->line, "addresses must hold 1..%u addresses",
			             CFG_PORT_ADDRS_MAX);
		for (unsigned j = 0; j < p->nb_addrs; j++) {
			const struct cfg_prefix *px = &p->addrs[j];

			if ((px->addr.family != 4 && px->addr.family != 6) ||
			    px->len > (px->addr.family == 4 ? 32 : 128))
				return vfail(v, item, p->line, "address %u is no valid prefix",
				             j + 1);
			if (!addr_unicast(&px->addr))
				return vfail(v, item, p->line,
				             "address must be a unicast address, got %s",
				             cfg_prefix_format(px, a, sizeof(a)));
		}
		for (unsigned g = 0; g < 2; g++) {
			const struct cfg_addr *gw = g == 0 ? &p->gw4 : &p->gw6;
			const char *key = g == 0 ? "gateway4" : "gateway6";
			unsigned j;

			if (gw->family == 0)
				continue;
			if (gw->family != (g == 0 ? 4 : 6) || !addr_unicast(gw))
				return vfail(v, item, p->line, "%s must be a unicast IPv%u address",
				             key, g == 0 ? 4u : 6u);
			for (j = 0; j < p->nb_addrs; j++) {
				if (addr_equal(&p->addrs[j].addr, gw))
					return vfail(v, item, p->line,
					             "%s %s is one of the port's own addresses",
					             key, cfg_addr_format(gw, 0, a, sizeof(a)));
				if (prefix_contains(&p->addrs[j], gw))
					break;
			}
			if (j == p->nb_addrs)
				return vfail(v, item, p->line,
				             "%s %s is not within any IPv%u prefix of the port's "
				             "addresses",
				             key, cfg_addr_format(gw, 0, a, sizeof(a)), gw->family);
		}
		if (memchr(p->exception, 0, sizeof(p->exception)) == NULL ||
		    (p->exception[0] != '\0' && !ifname_valid(p->exception)))
			return vfail(
			        v, item, p->line,
			        "exception must be a kernel interface name of 1..%u characters "
			        "of A-Z a-z 0-9 . _ -",
			        CFG_IFNAME_MAX - 1);
		for (unsigned j = 0; j < i && p->exception[0] != '\0'; j++)
			if (strcmp(p->exception, cfg->ports[j].exception) == 0)
				return vfail(v, item, p->line,
				             "exception interface \"%s\" is already used by port "
				             "\"%s\"",
				             p->exception, cfg->ports[j].name);
		na += p->nb_addrs;
	}
	if (cfg->nb_ports == 0)
		return 0;
	k = calloc(na > cfg->nb_ports ? na : cfg->nb_ports, sizeof(*k));
	if (k == NULL)
		return vfail(v, NULL, 0, "out of memory");
	for (unsigned i = 0; i < cfg->nb_ports; i++)
		k[i] = (struct val_key){.name = cfg->ports[i].name, .seq = i, .owner = i};
	d = val_dup(k, cfg->nb_ports, val_name_cmp, &first);
	if (d >= 0) {
		const struct cfg_port *p = &cfg->ports[k[d].owner];

		snprintf(item, sizeof(item), "port \"%s\"", p->name);
		free(k);
		return vfail(v, item, p->line, "name is already used by another port");
	}
	na = 0;
	for (unsigned i = 0; i < cfg->nb_ports; i++)
		for (unsigned j = 0; j < cfg->ports[i].nb_addrs; j++, na++)
			k[na] = (struct val_key){.addr = cfg->ports[i].addrs[j].addr,
			                         .seq = (unsigned)na,
			                         .owner = i};
	d = val_dup(k, na, val_addr_cmp, &first);
	if (d >= 0) {
		const struct cfg_port *p = &cfg->ports[k[d].owner];
		unsigned o = k[first].owner;

		snprintf(item, sizeof(item), "port \"%s\"", p->name);
		cfg_addr_format(&k[d].addr, 0, a, sizeof(a));
		free(k);
		return vfail(v, item, p->line, "address %s is already owned by port \"%s\"", a,
		             cfg->ports[o].name);
	}
	free(k);
	return 0;
}

static int
validate_backend(struct val_ctx *v, const struct cfg_backend *b)
{
	char item[CFG_NAME_MAX + 16], a[CFG_ADDR_STRLEN];

	snprintf(item, sizeof(item), "backend \"%.63s\"", b->name);
	if (!cfg_name_valid(b->name))
		return vfail(v, item, b->line,
		             "name must be 1..63 characters of A-Z a-z 0-9 . _ -");
	if (b->addr.family != 4 && b->addr.family != 6)
		return vfail(v, item, b->line, "address must be an IPv4 or IPv6 address");
	if (!addr_unicast(&b->addr))
		return vfail(v, item, b->line, "address must be a unicast address, got %s",
		             cfg_addr_format(&b->addr, 0, a, sizeof(a)));
	if (b->port == 0)
		return vfail(v, item, b->line, "port must be 1..65535, got 0");
	if (b->weight < CFG_WEIGHT_MIN || b->weight > CFG_WEIGHT_MAX)
		return vfail(v, item, b->line, "weight must be %u..%u, got %u", CFG_WEIGHT_MIN,
		             CFG_WEIGHT_MAX, b->weight);
	if (b->state >= SPH_ARRAY_SIZE(state_names))
		return vfail(v, item, b->line, "state must be \"up\", \"drain\" or \"down\"");
	if (b->has_mac && ((b->mac[0] & 1) || (b->mac[0] | b->mac[1] | b->mac[2] | b->mac[3] |
	                                       b->mac[4] | b->mac[5]) == 0))
		return vfail(v, item, b->line, "mac must be a unicast address, got %s",
		             cfg_mac_format(b->mac, a, sizeof(a)));
	return 0;
}

static int
validate_groups(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_NAME_MAX + 16], a[CFG_ADDR_STRLEN];
	size_t nb = 0, first;
	struct val_key *k;
	long d;

	if (cfg->nb_groups == 0 || cfg->groups == NULL)
		return vfail(v, NULL, 0, "groups is required: at least one group of backends");
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		snprintf(item, sizeof(item), "group \"%.63s\"", g->name);
		if (!cfg_name_valid(g->name))
			return vfail(v, item, g->line,
			             "name must be 1..63 characters of A-Z a-z 0-9 . _ -");
		if (g->nb_backends == 0 || g->backends == NULL)
			return vfail(v, item, g->line, "backends must hold at least one backend");
		if (g->nb_backends > MAGLEV_MAX_BACKENDS)
			return vfail(v, item, g->line, "too many backends: %u, at most %u",
			             g->nb_backends, MAGLEV_MAX_BACKENDS);
		if (g->nb_backends > cfg->maglev_size)
			return vfail(v, item, g->line,
			             "%u backends exceed maglev_size %u; set a larger prime",
			             g->nb_backends, cfg->maglev_size);
		for (unsigned j = 0; j < g->nb_backends; j++)
			if (validate_backend(v, &g->backends[j]) < 0)
				return -1;
		nb += g->nb_backends;
	}
	k = calloc(nb > cfg->nb_groups ? nb : cfg->nb_groups, sizeof(*k));
	if (k == NULL)
		return vfail(v, NULL, 0, "out of memory");
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		k[i] = (struct val_key){.name = cfg->groups[i].name, .seq = i, .owner = i};
	d = val_dup(k, cfg->nb_groups, val_name_cmp, &first);
	if (d >= 0) {
		const struct cfg_group *g = &cfg->groups[k[d].owner];

		snprintf(item, sizeof(item), "group \"%s\"", g->name);
		free(k);
		return vfail(v, item, g->line, "name is already used by another group");
	}
	nb = 0;
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		for (unsigned j = 0; j < cfg->groups[i].nb_backends; j++, nb++)
			k[nb] = (struct val_key){.name = cfg->groups[i].backends[j].name,
			                         .seq = (unsigned)nb,
			                         .owner = i << 16 | j};
	d = val_dup(k, nb, val_name_cmp, &first);
	if (d >= 0) {
		unsigned gd = k[d].owner >> 16, gf = k[first].owner >> 16;
		const struct cfg_backend *b = &cfg->groups[gd].backends[k[d].owner & 0xffff];

		snprintf(item, sizeof(item), "backend \"%s\"", b->name);
		free(k);
		return vfail(v, item, b->line,
		             "name is already used by a backend of group \"%s\" (backend names "
		             "are unique across groups)",
		             cfg->groups[gf].name);
	}
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		for (unsigned j = 0; j < g->nb_backends; j++)
			k[j] = (struct val_key){.addr = g->backends[j].addr,
			                        .port = g->backends[j].port,
			                        .seq = j,
			                        .owner = j};
		d = val_dup(k, g->nb_backends, val_addr_cmp, &first);
		if (d >= 0) {
			const struct cfg_backend *b = &g->backends[k[d].owner];

			snprintf(item, sizeof(item), "backend \"%s\"", b->name);
			cfg_addr_format(&b->addr, b->port, a, sizeof(a));
			vfail(v, item, b->line,
			      "address %s is already used by backend \"%s\" of group \"%s\"", a,
			      g->backends[k[first].owner].name, g->name);
			free(k);
			return -1;
		}
	}
	free(k);
	return 0;
}

static int
validate_vips(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_ADDR_STRLEN + 8], a[CFG_ADDR_STRLEN];
	struct val_key *k;
	size_t np = 0, first;
	long d;

	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *vp = &cfg->vips[i];

		snprintf(item, sizeof(item), "vip %s", cfg_addr_format(&vp->addr, 0, a, sizeof(a)));
		if ((vp->addr.family != 4 && vp->addr.family != 6) || !addr_unicast(&vp->addr))
			return vfail(v, item, vp->line, "address must be a unicast address");
		if (vp->nb_ports == 0 || vp->ports == NULL)
			return vfail(v, item, vp->line, "ports must hold at least one port");
		for (unsigned j = 0; j < vp->nb_ports; j++)
			if (vp->ports[j] == 0)
				return vfail(v, item, vp->line, "ports must be 1..65535, got 0");
		if (vp->group >= cfg->nb_groups)
			return vfail(v, item, vp->line, "group %u is not defined", vp->group + 1);
		if (vp->mode >= SPH_ARRAY_SIZE(mode_names))
			return vfail(v, item, vp->line, "mode must be \"l2dsr\" or \"ipip\"");
		np += vp->nb_ports;
	}
	if (np == 0)
		return 0;
	k = calloc(np, sizeof(*k));
	if (k == NULL)
		return vfail(v, NULL, 0, "out of memory");
	np = 0;
	for (unsigned i = 0; i < cfg->nb_vips; i++)
		for (unsigned j = 0; j < cfg->vips[i].nb_ports; j++, np++)
			k[np] = (struct val_key){.addr = cfg->vips[i].addr,
			                         .port = cfg->vips[i].ports[j],
			                         .seq = (unsigned)np,
			                         .owner = i};
	d = val_dup(k, np, val_addr_cmp, &first);
	if (d >= 0) {
		const struct cfg_vip *vp = &cfg->vips[k[d].owner];
		unsigned port = k[d].port, same = k[first].owner == k[d].owner;

		snprintf(item, sizeof(item), "vip %s", cfg_addr_format(&vp->addr, 0, a, sizeof(a)));
		free(k);
		if (same)
			return vfail(v, item, vp->line, "port %u is listed twice", port);
		return vfail(v, item, vp->line, "port %u is already served by another vip", port);
	}
	free(k);
	return 0;
}

int
cfg_validate(const struct sph_cfg *cfg, char *err, size_t errlen)
{
	struct val_ctx v = {.cfg = cfg, .err = err, .errlen = err != NULL ? errlen : 0};

	if (v.errlen > 0)
		err[0] = '\0';
	if (cfg == NULL) {
		if (v.errlen > 0)
			snprintf(err, errlen, "cfg_validate: no configuration");
		return -1;
	}
	if (cfg->hash_key == NULL || cfg->hash_key_len < CFG_KEY_MIN ||
	    cfg->hash_key_len > CFG_KEY_MAX)
		return vfail(&v, NULL, 0, "hash_key must be %u..%u bytes, got %zu", CFG_KEY_MIN,
		             CFG_KEY_MAX, cfg->hash_key != NULL ? cfg->hash_key_len : 0);
	if (cfg->maglev_size < 2 || cfg->maglev_size > MAGLEV_MAX_SIZE ||
	    !maglev_is_prime(cfg->maglev_size))
		return vfail(&v, NULL, 0, "maglev_size must be a prime number 2..%u, got %u",
		             MAGLEV_MAX_SIZE, cfg->maglev_size);
	if (cfg->stats_interval > CFG_STATS_INTERVAL_MAX)
		return vfail(&v, NULL, 0, "stats_interval must be 0..%u, got %u",
		             CFG_STATS_INTERVAL_MAX, cfg->stats_interval);
	if (cfg->dialog_window < 1 || cfg->dialog_window > CFG_DIALOG_WINDOW_MAX)
		return vfail(&v, NULL, 0, "dialog_window must be 1..%u, got %u",
		             CFG_DIALOG_WINDOW_MAX, cfg->dialog_window);
	if (cfg->ctl_socket[0] != '\0') {
		if (memchr(cfg->ctl_socket, 0, sizeof(cfg->ctl_socket)) == NULL ||
		    !socket_path_valid(cfg->ctl_socket))
			return vfail(&v, "control", 0,
			             "socket must be a path of 1..%u printable characters without "
			             "spaces, quotes or backslashes",
			             CFG_SOCKET_MAX - 1);
		if (cfg->ctl_mode > 0777)
			return vfail(&v, "control", 0, "mode must be at most 0777, got %04o",
			             (unsigned)cfg->ctl_mode);
		if (!cfg_name_valid(cfg->ctl_group))
			return vfail(&v, "control", 0,
			             "group must be 1..63 characters of A-Z a-z 0-9 . _ -");
	}
	if (cfg->metrics_port != 0 && cfg->metrics_addr.family != 4 &&
	    cfg->metrics_addr.family != 6)
		return vfail(&v, "metrics", 0, "listen must be an IPv4 or IPv6 address");
	if (cfg->health.interval_ms != 0) { /* 0: no health block (see struct cfg_health) */
		struct health_params p;
		char msg[256];

		if (cfg->health.enabled > 1)
			return vfail(&v, "health", 0, "enabled must be true or false");
		health_params_of(&cfg->health, &p);
		if (health_params_check(&p, msg, sizeof(msg)) != 0)
			return vfail(&v, NULL, 0, "%s", msg);
	}
	if (validate_ports(&v) < 0 || validate_groups(&v) < 0 || validate_vips(&v) < 0)
		return -1;
	return 0;
}
