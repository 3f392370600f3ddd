/*
 * cfg.c - siphon's configuration turned into a validated struct sph_cfg, and back.
 * Control plane and tools only: it allocates and reads files, never runs on a worker.
 * One key table per section ({key, parser, offset, range, default, docs, check,
 * required}) is walked by the reader, cfg_validate(), cfg_write() and the reference in
 * docs/config.md, so a new key is one row (and its example). The text comes from
 * cfg_src.c (files and @include), literals from cfg_lit.c. Invariant: cfg_load() hands
 * back either a configuration that passed every check or NULL and one
 * "file:line: item: problem" message, never half of one, and leaks nothing on any path.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "siphon/cfg.h"
#include "siphon/hep.h"
#include "siphon/maglev.h"
#include "siphon/rules.h"
#include "siphon/sph.h"
#include "cfg_int.h"
#include "cfg_src.h"
#include "health.h"

/* Room for a quoted value in a message: 40 characters, each possibly \xNN, and "...". */
#define CFG_QUOTE_MAX 200
/* Room for the label of the object being read, e.g. `backend 12 of group "core"`. */
#define CFG_ITEM_MAX  (CFG_NAME_MAX + 48)

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
	struct cfg_src src; /* the text libconfig parsed, and where each of its lines is from */
	const struct cfg_group **group_order; /* groups sorted by name, for VIPs naming one */
	/* Rules: the top-level list, the pool their expressions go to, and what the rule being
	 * read said besides its action, checked against it once the rule is read. */
	const config_setting_t *s_rules, *s_rule_group, *s_rule_class;
	size_t rule_text_cap;
};

/* Where setting s sits in the files: libconfig numbers the lines of the spliced text. */
static unsigned
src_line(const struct cfg_ctx *x, const config_setting_t *s)
{
	const char *file;
	unsigned line;

	cfg_src_where(&x->src, config_setting_source_line(s), &file, &line);
	return line;
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
	const char *name = NULL;
	char file[4096];
	unsigned line = 0;
	va_list ap;
	int rc;

	while (s != NULL && config_setting_source_line(s) == 0)
		s = config_setting_parent(s);
	if (s != NULL)
		cfg_src_where(&x->src, config_setting_source_line(s), &name, &line);
	snprintf(file, sizeof(file), "%s", name != NULL ? name : x->path);
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

/* Checks the value at v against k's rule. msg always receives the rule, e.g. "name must be
 * 1..63 characters of A-Z a-z 0-9 . _ -", so a caller can add what it got. @return 0 or -1. */
typedef int (*cfg_check_fn)(const void *v, const struct cfg_key *k, char *msg, size_t len);

/*
 * One row: a key an object may hold, how to read it into the object, and what
 * docs/config.md says of it. The file reader walks the rows (walk()), cfg_load() takes
 * the integer defaults from them (keys_default()), cfg_validate() checks edited integer
 * fields against the same bounds (keys_check()), cfg_write() writes them back
 * (keys_write()), and cfg_doc_write() prints the reference tables of docs/config.md.
 */
struct cfg_key {
	const char *name;
	cfg_parse_fn parse;
	size_t off;         /* field the parser fills, within the object or the context */
	long long min, max; /* accepted range, for the integer parsers */
	long long dflt;     /* default of an integer field (p_u32 rows) */
	const char *type;   /* docs: what the value is written as */
	const char *def;    /* docs: default, or "required"; NULL: dflt for p_u32 rows */
	const char *range;  /* docs: accepted values; NULL: min..max for p_u32 rows */
	const char *doc;    /* docs: what it means */
	/* The rule on the stored value, for the reader (on the value read) and cfg_validate()
	 * (on the field at off) alike; NULL: no rule beyond the parser's. */
	cfg_check_fn check;
	/* 1: every object must hold it; the reader refuses one without it and the reference
	 * says "required" in the default column. */
	int required;
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

static int p_u32(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k);
static int p_maglev_size(struct cfg_ctx *x, const config_setting_t *s, void *obj,
                         const struct cfg_key *k);

/* Rows whose field is a plain uint32_t in min..max, with a default: what keys_default(),
 * keys_check() and keys_write() handle without a function of their own. */
static int
key_is_u32(const struct cfg_key *k)
{
	return k->parse == p_u32 || k->parse == p_maglev_size;
}

static void
keys_default(const struct cfg_key *keys, size_t n, void *obj)
{
	for (size_t i = 0; i < n; i++)
		if (key_is_u32(&keys[i]))
			*(uint32_t *)((char *)obj + keys[i].off) = (uint32_t)keys[i].dflt;
}

static int
require(struct cfg_ctx *x, const config_setting_t *g, const char *key)
{
	if (config_setting_get_member(g, key) != NULL)
		return 0;
	return fail(x, g, "%s is required", key);
}

/* Every row marked required is present in group g, in table order. */
static int
keys_require(struct cfg_ctx *x, const config_setting_t *g, const struct cfg_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].required && require(x, g, keys[i].name) < 0)
			return -1;
	return 0;
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

/* ---- rules on one value (the check column) ---- */

/* A name: groups, backends, ports, control.group. */
static int
ck_name(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	snprintf(msg, len, "%s must be 1..63 characters of A-Z a-z 0-9 . _ -", k->name);
	return strnlen(v, CFG_NAME_MAX) < CFG_NAME_MAX && cfg_name_valid(v) ? 0 : -1;
}

/* A DPDK device name (rte_eth_dev_get_port_by_name()), written back between quotes. */
static int
ck_device(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len, "device must be printable ASCII without spaces, quotes or backslashes");
	return strnlen(v, CFG_DEVICE_MAX) < CFG_DEVICE_MAX && cfg_quotable_valid(v, CFG_DEVICE_MAX)
	               ? 0
	               : -1;
}

/* A port's exception interface; "" is none. */
static int
ck_exception(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len,
	         "exception must be a kernel interface name of 1..%u characters of A-Z a-z 0-9 . _ "
	         "-",
	         CFG_IFNAME_MAX - 1);
	if (strnlen(v, CFG_IFNAME_MAX) >= CFG_IFNAME_MAX)
		return -1;
	return *(const char *)v == '\0' || cfg_ifname_valid(v) ? 0 : -1;
}

/* control.socket: a path short enough for sun_path, written back between quotes. */
static int
ck_socket(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len,
	         "socket must be a path of 1..%u printable characters without spaces, quotes or "
	         "backslashes",
	         CFG_SOCKET_MAX - 1);
	return strnlen(v, CFG_SOCKET_MAX) < CFG_SOCKET_MAX && cfg_quotable_valid(v, CFG_SOCKET_MAX)
	               ? 0
	               : -1;
}

static int
ck_state(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len, "state must be \"up\", \"drain\" or \"down\"");
	return cfg_state_parse(cfg_state_name(*(const uint8_t *)v)) >= 0 ? 0
	                                                                 : -1; /* has a keyword */
}

static int
ck_mode(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len, "mode must be \"l2dsr\" or \"ipip\"");
	return cfg_mode_parse(cfg_mode_name(*(const uint8_t *)v)) >= 0 ? 0 : -1;
}

/* A port's udp_checksum keywords, by enum cfg_udp_csum (only cfg.c reads or writes them). */
static const char *const csum_names[] = {
        [CFG_CSUM_KEEP] = "keep",
        [CFG_CSUM_VERIFY] = "verify",
        [CFG_CSUM_FILL] = "fill",
};

static const char *
csum_name(uint8_t c)
{
	return c < SPH_ARRAY_SIZE(csum_names) ? csum_names[c] : "unknown";
}

static int
csum_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(csum_names); i++)
		if (strcmp(s, csum_names[i]) == 0)
			return (int)i;
	return -1;
}

static int
ck_udp_csum(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len, "udp_checksum must be \"keep\", \"verify\" or \"fill\"");
	return *(const uint8_t *)v < SPH_ARRAY_SIZE(csum_names) ? 0 : -1;
}

/* A backend's static MAC (v is the backend): a unicast Ethernet address. */
static int
ck_mac(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	const struct cfg_backend *b = v;

	(void)k;
	snprintf(msg, len, "mac must be a unicast address");
	return !b->has_mac || ((b->mac[0] & 1) == 0 && (b->mac[0] | b->mac[1] | b->mac[2] |
	                                                b->mac[3] | b->mac[4] | b->mac[5]) != 0)
	               ? 0
	               : -1;
}

/* A string the row's check accepts, copied into the k->max bytes at k->off. */
static int
p_string(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX], msg[256];
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (k->check(v, k, msg, sizeof(msg)) < 0 || v[0] == '\0')
		return fail(x, s, "%s, got %s", msg, quote(q, v));
	snprintf((char *)obj + k->off, (size_t)k->max, "%s", v);
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
	if (!cfg_addr_unicast(a))
		return fail(x, s, "%s must be a unicast address, got %s", what, quote(q, v));
	return port;
}

static int
p_addr(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	return read_addr(x, s, obj, k) < 0 ? -1 : 0;
}

/*
 * What differs between the keys that take an "address:port" (metrics.listen,
 * mirror.collector, edge.tls/.mtls/.tcp, edge.address): each says in its own words what
 * its value must be, words operators and tests know, so they stay as they were.
 */
struct addr_port_rule {
	const char *bad;     /* "<key> <bad>, got <value>": not an address literal */
	const char *no_port; /* "<key> <no_port>": an address without its port; NULL: bad */
	bool unicast;        /* a unicast address only (a destination, not a listener) */
};

/* The "address:port" v, the port required, of setting s (key name) into *a and *port.
 * @return 0, or -1 with the key's error. */
static int
read_addr_port(struct cfg_ctx *x, const config_setting_t *s, const char *name, const char *v,
               const struct addr_port_rule *r, struct cfg_addr *a, uint16_t *port)
{
	char q[CFG_QUOTE_MAX];
	int rc;

	*port = 0;
	rc = cfg_addr_parse(v, a, port);
	if (rc == -2)
		return fail(x, s, "%s %s: port must be 1..65535", name, quote(q, v));
	if (rc < 0 || (*port == 0 && r->no_port == NULL))
		return fail(x, s, "%s %s, got %s", name, r->bad, quote(q, v));
	if (r->unicast && !cfg_addr_unicast(a))
		return fail(x, s, "%s must be a unicast address, got %s", name, quote(q, v));
	if (*port == 0)
		return fail(x, s, "%s %s", name, r->no_port);
	return 0;
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
		if (cfg_hex_digit(v[i]) < 0)
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
		cfg->hash_key[i] =
		        (uint8_t)(cfg_hex_digit(v[2 * i]) << 4 | cfg_hex_digit(v[2 * i + 1]));
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

static const struct cfg_key control_keys[] = {
        {"socket", p_string, offsetof(struct sph_cfg, ctl_socket), 0, CFG_SOCKET_MAX, 0, "string",
         "`\"/run/siphon/siphon.sock\"`", "1..107 printable characters, no space, `\"` or `\\`",
         "path of the control socket; its folder is created (0755) when missing", ck_socket, 0},
        {"mode", p_ctl_mode, 0, 0, 0, 0, "string", "`\"0660\"`",
         "3 or 4 octal digits, at most `\"0777\"`", "permission bits of the socket file", NULL, 0},
        {"group", p_string, offsetof(struct sph_cfg, ctl_group), 0, CFG_NAME_MAX, 0, "string",
         "`\"root\"`", "a [name](#names) of an existing group", "group of the socket file", ck_name,
         0},
};

static int
p_metrics_listen(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	static const struct addr_port_rule r = {
	        .bad = "must be \"address:port\" (\"127.0.0.1:9100\", \"[::1]:9100\") or \"\""};
	struct sph_cfg *cfg = obj;
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (v[0] == '\0') {
		cfg->metrics_port = 0;
		return 0;
	}
	return read_addr_port(x, s, k->name, v, &r, &cfg->metrics_addr, &cfg->metrics_port);
}

static const struct cfg_key metrics_keys[] = {
        {"listen", p_metrics_listen, 0, 0, 0, 0, "string", "`\"\"` (disabled)",
         "`\"address:port\"`, `\"[IPv6]:port\"`, or `\"\"`",
         "where the metrics endpoint listens; the port is required; any address, `0.0.0.0` "
         "and `::` included",
         NULL, 0},
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
        {"enabled", p_health_enabled, 0, 0, 0, 0, "boolean", "`true`", "",
         "`false`: nothing probes, dispatch follows the configured states", NULL, 0},
        {"interval_ms", p_u32, offsetof(struct sph_cfg, health.interval_ms), HEALTH_INTERVAL_MIN,
         HEALTH_INTERVAL_MAX, 1000, "integer", "`1000`", NULL,
         "time between two probes of one backend", NULL, 0},
        {"timeout_ms", p_u32, offsetof(struct sph_cfg, health.timeout_ms), 1, HEALTH_INTERVAL_MAX,
         1000, "integer", "`1000`", "1..`interval_ms`", "wait for a final response", NULL, 0},
        {"fall", p_u32, offsetof(struct sph_cfg, health.fall), 1, HEALTH_RUN_MAX, 3, "integer",
         "`3`", NULL, "consecutive failures that mark a backend down", NULL, 0},
        {"rise", p_u32, offsetof(struct sph_cfg, health.rise), 1, HEALTH_RUN_MAX, 2, "integer",
         "`2`", NULL, "consecutive answers that mark it up again", NULL, 0},
        {"accept", p_health_accept, 0, 0, 0, 0,
         "array or list of codes (`404`, `\"404\"`) and ranges (`\"200-299\"`), or one of "
         "them",
         "`[ \"200-699\" ]` (any final response)", "200..699",
         "final responses that mean \"alive\"; given, it replaces the default", NULL, 0},
        {"overload_code", p_health_overload, 0, 0, 0, 0, "integer", "`503`",
         "200..699, or 0 for none", "the final response that means \"no new calls\"", NULL, 0},
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

/* ---- announce ---- */

/* announce.file: an absolute path siphon can write back between quotes (BIRD's include). */
static int
ck_ann_file(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len,
	         "file must be an absolute path of 2..%u printable characters without spaces, "
	         "quotes or backslashes",
	         CFG_ANN_FILE_MAX - 1);
	return strnlen(v, CFG_ANN_FILE_MAX) < CFG_ANN_FILE_MAX && *(const char *)v == '/' &&
	                       ((const char *)v)[1] != '\0' &&
	                       cfg_quotable_valid(v, CFG_ANN_FILE_MAX)
	               ? 0
	               : -1;
}

/* announce.bird_socket: a path short enough for sun_path. */
static int
ck_ann_socket(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len,
	         "bird_socket must be a path of 1..%u printable characters without spaces, "
	         "quotes or backslashes",
	         CFG_SOCKET_MAX - 1);
	return strnlen(v, CFG_SOCKET_MAX) < CFG_SOCKET_MAX && cfg_quotable_valid(v, CFG_SOCKET_MAX)
	               ? 0
	               : -1;
}

/* announce.interface: a kernel interface name; "" is none (blackhole routes). */
static int
ck_ann_interface(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	(void)k;
	snprintf(msg, len,
	         "interface must be a kernel interface name of 1..%u characters of A-Z a-z 0-9 . "
	         "_ -",
	         CFG_IFNAME_MAX - 1);
	if (strnlen(v, CFG_IFNAME_MAX) >= CFG_IFNAME_MAX)
		return -1;
	return *(const char *)v == '\0' || cfg_ifname_valid(v) ? 0 : -1;
}

static const struct cfg_key announce_keys[] = {
        {"file", p_string, offsetof(struct sph_cfg, ann_file), 0, CFG_ANN_FILE_MAX, 0, "string",
         NULL, "an absolute path, no space, `\"` or `\\`",
         "the BIRD include file siphon rewrites (two `protocol static`, `siphon_vips4` and "
         "`siphon_vips6`, one route per VIP it can serve); its folder is created (0755) when "
         "missing",
         ck_ann_file, 1},
        {"bird_socket", p_string, offsetof(struct sph_cfg, ann_bird_socket), 0, CFG_SOCKET_MAX, 0,
         "string", "`\"" CFG_ANN_BIRD_SOCKET "\"`", "1..107 printable characters",
         "BIRD's control socket, where siphon sends `configure` after each change", ck_ann_socket,
         0},
        {"interface", p_string, offsetof(struct sph_cfg, ann_interface), 0, CFG_IFNAME_MAX, 0,
         "string", "`\"\"` (blackhole routes)", "a kernel interface name",
         "routes point `via` this interface: a port's `exception` interface, which exists "
         "only while siphon runs, so BIRD withdraws the VIPs at once if siphon dies "
         "([bgp.md](bgp.md#when-siphon-dies))",
         ck_ann_interface, 0},
        {"shutdown_drain_ms", p_u32, offsetof(struct sph_cfg, ann_drain_ms), 0, CFG_ANN_DRAIN_MAX,
         CFG_ANN_DRAIN_MS, "integer", "`5000`", NULL,
         "at SIGTERM or `siphonctl shutdown`: how long siphon keeps forwarding after "
         "withdrawing the VIPs, while routers move the traffic away",
         NULL, 0},
};

static int
p_announce(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	int rc;

	(void)obj, (void)k;
	if (read_section(x, s, "announce", announce_keys, SPH_ARRAY_SIZE(announce_keys)) < 0)
		return -1;
	set_item(x, "announce");
	rc = keys_require(x, s, announce_keys, SPH_ARRAY_SIZE(announce_keys));
	x->item[0] = '\0';
	return rc;
}

/* ---- mirror ---- */

/* mirror.collector: "address:port" of the HEP collector; the port is required. */
static int
p_mirror_collector(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	static const struct addr_port_rule r = {
	        .bad = "must be \"address:port\" (\"192.0.2.50:9060\", \"[2001:db8::50]:9060\")"};
	struct sph_cfg *cfg = obj;
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	return read_addr_port(x, s, k->name, v, &r, &cfg->mirror.addr, &cfg->mirror.port);
}

static const struct cfg_key mirror_keys[] = {
        {"collector", p_mirror_collector, 0, 0, 0, 0, "string", NULL,
         "`\"address:port\"` or `\"[IPv6]:port\"`",
         "the HEPv3 collector (Homer, heplify-server, sngrep) that receives a copy of each "
         "mirrored message over UDP, through the dataplane port whose prefix holds it, else "
         "a port's gateway",
         NULL, 1},
        {"sample", p_u32, offsetof(struct sph_cfg, mirror.sample), 0, CFG_MIRROR_SAMPLE_MAX, 0,
         "integer", NULL, NULL,
         "mirror every message of 1 call in `sample`, chosen by Call-ID hash (the same calls "
         "on every instance sharing the hash key); `1` mirrors everything, `0` only the calls "
         "a rule marks",
         NULL, 0},
        {"agent_id", p_u32, offsetof(struct sph_cfg, mirror.agent_id), 0, INT32_MAX, 0, "integer",
         NULL, NULL, "the HEP capture agent id, so the collector tells instances apart", NULL, 0},
        {"budget", p_u32, offsetof(struct sph_cfg, mirror.budget), 1, CFG_MIRROR_BUDGET_MAX,
         CFG_MIRROR_BUDGET, "integer", NULL, NULL,
         "mirror frames each worker sends per received burst of up to 32, at most; the rest "
         "are counted (`budget`), never delaying what is forwarded",
         NULL, 0},
        {"call_timeout", p_u32, offsetof(struct sph_cfg, mirror.call_timeout), 1,
         CFG_MIRROR_TIMEOUT_MAX, CFG_MIRROR_TIMEOUT, "integer", NULL, NULL,
         "seconds a call a rule marked stays mirrored after its last message", NULL, 0},
};

static int
p_mirror(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	int rc;

	(void)obj, (void)k;
	x->cfg->mirror.line = src_line(x, s);
	if (read_section(x, s, "mirror", mirror_keys, SPH_ARRAY_SIZE(mirror_keys)) < 0)
		return -1;
	set_item(x, "mirror");
	rc = keys_require(x, s, mirror_keys, SPH_ARRAY_SIZE(mirror_keys));
	x->item[0] = '\0';
	return rc;
}

/* ---- edge ---- */

#define CFG_EDGE_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"
#define CFG_EDGE_SUITES  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* edge.tls, .mtls, .tcp: an array of "address:port"; the count follows the array. */
static int
p_edge_listen(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	static const struct addr_port_rule r = {.bad = "must hold \"address:port\" literals"};
	struct cfg_edge_listen *l = (struct cfg_edge_listen *)((char *)obj + k->off);
	unsigned *nb = (unsigned *)(l + CFG_EDGE_LISTEN_MAX);
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "%s must be an array [ \"address:port\", ... ], got %s", k->name,
		            type_name(s));
	if (n > (int)CFG_EDGE_LISTEN_MAX)
		return fail(x, s, "%s: too many addresses: %d, at most %u", k->name, n,
		            CFG_EDGE_LISTEN_MAX);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = "";

		if (get_str(x, e, k->name, &v) < 0 ||
		    read_addr_port(x, e, k->name, v, &r, &l[i].addr, &l[i].port) < 0)
			return -1;
	}
	*nb = (unsigned)n;
	return 0;
}

/* edge.address: the backend-facing UDP address, a unicast "address:port". */
static int
p_edge_address(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	static const struct addr_port_rule r = {
	        .bad = "must be an IP address with an optional :port",
	        .no_port = "needs a port, e.g. \"10.0.0.5:5070\"",
	        .unicast = true,
	};
	struct sph_cfg *cfg = obj;
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	return read_addr_port(x, s, k->name, v, &r, &cfg->edge.address.addr,
	                      &cfg->edge.address.port);
}

/* edge.certs, edge.keys: arrays of paths, as many of each. */
static int
p_edge_files(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char(*f)[CFG_EDGE_PATH_MAX] = (char(*)[CFG_EDGE_PATH_MAX])((char *)obj + k->off);
	char q[CFG_QUOTE_MAX];
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY || n == 0)
		return fail(x, s, "%s must be an array of one or more paths, got %s", k->name,
		            type_name(s));
	if (n > (int)CFG_EDGE_CERTS_MAX)
		return fail(x, s, "%s: too many files: %d, at most %u", k->name, n,
		            CFG_EDGE_CERTS_MAX);
	if (cfg->edge.nb_certs != 0 && cfg->edge.nb_certs != (unsigned)n)
		return fail(x, s, "certs and keys must list as many files, got %u and %d",
		            cfg->edge.nb_certs, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = "";

		if (get_str(x, e, k->name, &v) < 0)
			return -1;
		if (v[0] == '\0' || strlen(v) >= CFG_EDGE_PATH_MAX)
			return fail(x, e, "%s: a path must be 1..%u characters, got %s", k->name,
			            CFG_EDGE_PATH_MAX - 1, quote(q, v));
		snprintf(f[i], CFG_EDGE_PATH_MAX, "%s", v);
	}
	cfg->edge.nb_certs = (unsigned)n;
	return 0;
}

static int
p_edge_verify(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct sph_cfg *cfg = obj;
	char q[CFG_QUOTE_MAX];
	const char *v = "";

	(void)k;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (strcmp(v, "required") == 0)
		cfg->edge.client_verify = CFG_EDGE_VERIFY_REQUIRED;
	else if (strcmp(v, "optional") == 0)
		cfg->edge.client_verify = CFG_EDGE_VERIFY_OPTIONAL;
	else
		return fail(x, s, "client_verify must be \"required\" or \"optional\", got %s",
		            quote(q, v));
	return 0;
}

/* A path or a cipher list: printable, within the field. */
static int
ck_edge_text(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	snprintf(msg, len,
	         "%s must be 1..%lld printable characters without spaces, quotes or "
	         "backslashes",
	         k->name, k->max - 1);
	return strnlen(v, (size_t)k->max) < (size_t)k->max && cfg_quotable_valid(v, (size_t)k->max)
	               ? 0
	               : -1;
}

static int
ck_edge_key(const void *v, const struct cfg_key *k, char *msg, size_t len)
{
	size_t n = strnlen(v, CFG_EDGE_KEY_MAX + 1);

	(void)k;
	snprintf(msg, len, "flow_key must be %u..%u printable characters without spaces",
	         CFG_EDGE_KEY_MIN, CFG_EDGE_KEY_MAX);
	return n >= CFG_EDGE_KEY_MIN && n <= CFG_EDGE_KEY_MAX &&
	                       cfg_quotable_valid(v, CFG_EDGE_KEY_MAX + 1)
	               ? 0
	               : -1;
}

#define EDGE_OFF(f) offsetof(struct sph_cfg, edge.f)
static const struct cfg_key edge_keys[] = {
        {"tls", p_edge_listen, EDGE_OFF(tls), 0, 0, 0, "array of strings", "`[]`",
         "up to 4 `\"address:port\"`", "SIP over TLS listeners (5061 by convention)", NULL, 0},
        {"mtls", p_edge_listen, EDGE_OFF(mtls), 0, 0, 0, "array of strings", "`[]`",
         "up to 4 `\"address:port\"`",
         "SIP over TLS listeners that ask for a client certificate (`client_ca`, "
         "`client_verify`): carrier trunks",
         NULL, 0},
        {"tcp", p_edge_listen, EDGE_OFF(tcp), 0, 0, 0, "array of strings", "`[]`",
         "up to 4 `\"address:port\"`", "plain SIP over TCP listeners", NULL, 0},
        {"address", p_edge_address, 0, 0, 0, 0, "string", NULL, "`\"address:port\"`",
         "the edge's backend-facing UDP address: its Via, Path and Record-Route name it, so "
         "backends must reach it",
         NULL, 1},
        {"group", p_string, EDGE_OFF(group), 0, CFG_NAME_MAX, 0, "string", NULL,
         "a group's [name](#names)",
         "the group whose backends (registrars) receive what clients send, by the same "
         "Maglev table as the dataplane",
         ck_name, 1},
        {"flow_key", p_string, EDGE_OFF(flow_key), 0, CFG_EDGE_KEY_MAX + 1, 0, "string", NULL,
         "16..64 printable characters",
         "HMAC-SHA256 key of the flow tokens; every instance serving one set of backends "
         "needs the same",
         ck_edge_key, 1},
        {"certs", p_edge_files, EDGE_OFF(certs), 0, 0, 0, "array of strings", "`[]`",
         "up to 8 paths",
         "PEM certificate chains, leaf first; chains of one name set (ECDSA beside RSA) "
         "share a context; SNI picks by their DNS names; the first is the default. "
         "Required with `tls` or `mtls`",
         NULL, 0},
        {"keys", p_edge_files, EDGE_OFF(keys), 0, 0, 0, "array of strings", "`[]`",
         "as many as `certs`", "their PEM private keys, in the same order", NULL, 0},
        {"client_ca", p_string, EDGE_OFF(client_ca), 0, CFG_EDGE_PATH_MAX, 0, "string", "`\"\"`",
         "a path", "CA file client certificates must chain to; required with `mtls`", ck_edge_text,
         0},
        {"client_verify", p_edge_verify, 0, 0, 0, 0, "string", "`\"required\"`",
         "`\"required\"`, `\"optional\"`",
         "on `mtls` listeners: refuse clients without a valid certificate, or only those "
         "with an invalid one",
         NULL, 0},
        {"ciphers", p_string, EDGE_OFF(ciphers), 0, CFG_EDGE_SUITES_MAX, 0, "string",
         "`\"" CFG_EDGE_CIPHERS "\"`", "an OpenSSL cipher list", "TLS 1.2 cipher suites",
         ck_edge_text, 0},
        {"ciphersuites", p_string, EDGE_OFF(ciphersuites), 0, CFG_EDGE_SUITES_MAX, 0, "string",
         "the three AEAD suites", "an OpenSSL TLS 1.3 suite list", "TLS 1.3 cipher suites",
         ck_edge_text, 0},
        {"max_header", p_u32, EDGE_OFF(max_header), 256, 65535, 8192, "integer", NULL, NULL,
         "octets of a header section; a longer one closes the connection (counted)", NULL, 0},
        {"max_message", p_u32, EDGE_OFF(max_message), 512, 65535, 65535, "integer", NULL, NULL,
         "octets of a message, body included; a longer one closes the connection", NULL, 0},
        {"max_msgs_per_sec", p_u32, EDGE_OFF(max_msgs_per_sec), 1, 65534, 100, "integer", NULL,
         NULL, "messages one connection may send in a second; more closes it", NULL, 0},
        {"max_conns_per_ip", p_u32, EDGE_OFF(max_conns_per_ip), 1, 65535, 1000, "integer", NULL,
         NULL,
         "connections from one source address; more are refused (a PBX behind NAT "
         "needs room)",
         NULL, 0},
        {"max_conns", p_u32, EDGE_OFF(max_conns), 1, 4000000, 100000, "integer", NULL, NULL,
         "connections in all: the table's size, allocated at start (88 octets each)", NULL, 0},
        {"handshake_timeout_ms", p_u32, EDGE_OFF(handshake_timeout_ms), 100, 600000, 10000,
         "integer", NULL, NULL, "from accept to a finished TLS handshake", NULL, 0},
        {"message_timeout_ms", p_u32, EDGE_OFF(message_timeout_ms), 100, 600000, 10000, "integer",
         NULL, NULL,
         "from a message's first octet to its last; a client trickling one (slow-loris) is "
         "closed",
         NULL, 0},
        {"idle_timeout_s", p_u32, EDGE_OFF(idle_timeout_s), 1, 86400, 900, "integer", NULL, NULL,
         "seconds without a byte from the client (keep-alives count) before it is closed", NULL, 0},
        {"cpu", p_u32, EDGE_OFF(cpu), 0, CFG_EDGE_CPU_AUTO, CFG_EDGE_CPU_AUTO, "integer", NULL,
         "0..1023, or 1024",
         "the CPU the edge thread runs on; 1024: any CPU no worker lcore runs on. Read at "
         "start",
         NULL, 0},
        /* Storm control and shared session tickets (issue 9, docs/edge.md#storms). */
        {"backlog", p_u32, EDGE_OFF(backlog), 16, 1048576, 4096, "integer", NULL, NULL,
         "each listener's accept queue: where a storm waits while `handshakes_per_sec` is "
         "spent (the kernel caps it at `net.core.somaxconn`). Read at start",
         NULL, 0},
        {"handshakes_per_sec", p_u32, EDGE_OFF(handshakes_per_sec), 0, 1000000, 0, "integer", NULL,
         "0..1000000, 0: no limit",
         "new connections (TLS handshakes begun) accepted a second, in all; over it the edge "
         "stops accepting until its budget refills, so a storm queues in the backlog instead "
         "of failing",
         NULL, 0},
        {"handshakes_per_sec_per_ip", p_u32, EDGE_OFF(handshakes_per_sec_per_ip), 0, 65535, 0,
         "integer", NULL, "0..65535, 0: no limit",
         "new connections a second from one source address (the `max_conns_per_ip` buckets); "
         "over it a connection is closed at once, counted",
         NULL, 0},
        {"registers_per_sec", p_u32, EDGE_OFF(registers_per_sec), 0, 1000000, 0, "integer", NULL,
         "0..1000000, 0: no limit",
         "REGISTERs relayed to the group's registrars a second; over it the edge answers "
         "`503 Service Unavailable` with `Retry-After` itself and keeps the connection",
         NULL, 0},
        {"retry_after_s", p_u32, EDGE_OFF(retry_after_s), 1, 3600, 5, "integer", NULL, NULL,
         "the least `Retry-After` of those 503s, in seconds; each gets up to half as "
         "much again at random, so that the phones told to wait do not all come back in "
         "the same second",
         NULL, 0},
        {"transactions", p_u32, EDGE_OFF(transactions), 0, 262144, 16384, "integer", NULL,
         "0..262144, 0: none",
         "client requests the edge keeps a copy of until a backend answers, sending them "
         "again over UDP (T1, 2 T1, ...; the client's TLS never does); after 64 T1 the "
         "client gets `408`. Over it, or over 64 MiB of copies, a request is sent once. "
         "80 octets each, allocated at start, plus the copies; the edge reads the whole "
         "table at most every 10 ms while any is pending",
         NULL, 0},
        {"t1_ms", p_u32, EDGE_OFF(t1_ms), 10, 5000, 500, "integer", NULL, NULL,
         "RFC 3261's T1 on the UDP hop to the backends: the first retransmission's delay "
         "(T2, the non-INVITE cap, is 4 s)",
         NULL, 0},
        {"ticket_keys", p_string, EDGE_OFF(ticket_keys), 0, CFG_EDGE_PATH_MAX, 0, "string",
         "`\"\"`", "a path",
         "session ticket keys shared by instances, one per line, 160 hex digits each "
         "(`openssl rand -hex 80`): the first encrypts, the others still decrypt; read again "
         "on `siphonctl tls reload`. Empty: each context's own random key",
         ck_edge_text, 0},
};

static int
p_edge(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_edge *e = &x->cfg->edge;
	int rc;

	(void)obj, (void)k;
	if (read_section(x, s, "edge", edge_keys, SPH_ARRAY_SIZE(edge_keys)) < 0)
		return -1;
	set_item(x, "edge");
	rc = keys_require(x, s, edge_keys, SPH_ARRAY_SIZE(edge_keys));
	if (rc == 0 && e->nb_tls + e->nb_mtls + e->nb_tcp == 0)
		rc = fail(x, s, "at least one of tls, mtls and tcp must list an address");
	if (rc == 0 && e->nb_tls + e->nb_mtls > 0 &&
	    (config_setting_get_member(s, "certs") == NULL ||
	     config_setting_get_member(s, "keys") == NULL))
		rc = fail(x, s, "tls and mtls need certs and keys");
	if (rc == 0 && e->nb_mtls > 0 && e->client_ca[0] == '\0')
		rc = fail(x, s, "mtls needs client_ca");
	x->item[0] = '\0';
	return rc;
}

static const struct cfg_key top_keys[] = {
        {"hash_key", p_hash_key, 0, 0, 0, 0, "string", "—", "16..1024 bytes",
         "the same key, as text", NULL, 0},
        {"hash_key_hex", p_hash_key_hex, 0, 0, 0, 0, "string of hex digits", "—",
         "32..2048 digits (16..1024 bytes)", "the Call-ID hashing key, as hex", NULL, 0},
        {"maglev_size", p_maglev_size, offsetof(struct sph_cfg, maglev_size), 2, MAGLEV_MAX_SIZE,
         MAGLEV_DEFAULT_SIZE, "integer", NULL, "prime, 2..16777213",
         "slots in each group's Maglev table", NULL, 0},
        {"stats_interval", p_u32, offsetof(struct sph_cfg, stats_interval), 0,
         CFG_STATS_INTERVAL_MAX, 0, "integer", NULL, NULL,
         "seconds between statistics lines in the daemon's log; 0 prints none", NULL, 0},
        {"dialog_window", p_u32, offsetof(struct sph_cfg, dialog_window), 1, CFG_DIALOG_WINDOW_MAX,
         CFG_DIALOG_WINDOW, "integer", NULL, NULL,
         "seconds of the dialog-affinity transition window after a change", NULL, 0},
        {"frag_entries", p_u32, offsetof(struct sph_cfg, frag_entries), 0, CFG_FRAG_ENTRIES_MAX,
         CFG_FRAG_ENTRIES, "integer", NULL, NULL,
         "IP datagrams each worker reassembles at once "
         "([protection.md](protection.md#fragments)); 0 drops every fragment for a VIP",
         NULL, 0},
        {"frag_fragments", p_u32, offsetof(struct sph_cfg, frag_fragments), 2,
         CFG_FRAG_FRAGMENTS_MAX, CFG_FRAG_FRAGMENTS, "integer", NULL, NULL,
         "most fragments of one datagram; a datagram with more is dropped", NULL, 0},
        {"frag_timeout_ms", p_u32, offsetof(struct sph_cfg, frag_timeout_ms), 1,
         CFG_FRAG_TIMEOUT_MAX, CFG_FRAG_TIMEOUT_MS, "integer", NULL, NULL,
         "milliseconds a datagram may wait for its missing fragments", NULL, 0},
        {"frag_bytes", p_u32, offsetof(struct sph_cfg, frag_bytes), 65535, CFG_FRAG_BYTES_MAX,
         CFG_FRAG_BYTES, "integer", NULL, NULL,
         "IP bytes of fragments each worker holds at once, all datagrams together", NULL, 0},
        {"ports", p_defer, offsetof(struct cfg_ctx, s_ports), 0, 0, 0, "list of [ports](#ports)",
         "empty", "", "DPDK ports the dataplane serves", NULL, 0},
        {"groups", p_defer, offsetof(struct cfg_ctx, s_groups), 0, 0, 0,
         "list of [groups](#groups)", "— (required)", "at least 1", "sets of backends", NULL, 0},
        {"vips", p_defer, offsetof(struct cfg_ctx, s_vips), 0, 0, 0, "list of [VIPs](#vips)",
         "empty", "", "addresses and ports clients send to", NULL, 0},
        {"rules", p_defer, offsetof(struct cfg_ctx, s_rules), 0, 0, 0, "list of [rules](#rules)",
         "empty", "at most 100000",
         "operator rules on initial requests, first match wins "
         "([protection.md](protection.md#rules-hyperscan))",
         NULL, 0},
        {"control", p_control, 0, 0, 0, 0, "group, see [control](#control)",
         "socket `/run/siphon/siphon.sock`, mode `\"0660\"`, group `\"root\"`", "",
         "the daemon's control socket", NULL, 0},
        {"metrics", p_metrics, 0, 0, 0, 0, "group, see [metrics](#metrics)", "disabled", "",
         "where the metrics endpoint listens", NULL, 0},
        {"health", p_health, 0, 0, 0, 0, "group, see [health](#health)", "enabled, defaults below",
         "", "SIP OPTIONS health checks of every backend", NULL, 0},
        {"announce", p_announce, 0, 0, 0, 0, "group, see [announce](#announce)", "off", "",
         "VIP routes kept for BIRD, and the graceful shutdown", NULL, 0},
        {"edge", p_edge, 0, 0, 0, 0, "group, see [edge](#edge)", "off", "",
         "the SIP-over-TLS/TCP edge proxy in front of the registrars", NULL, 0},
        {"mirror", p_mirror, 0, 0, 0, 0, "group, see [mirror](#mirror)", "off", "",
         "HEPv3 copies of SIP messages to a capture collector "
         "([protection.md](protection.md#mirroring-hep))",
         NULL, 0},
};

/* ---- ports ---- */

static int p_keyword(struct cfg_ctx *x, const config_setting_t *s, void *obj,
                     const struct cfg_key *k);

static int
p_device(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	const char *v = "";

	(void)obj;
	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (strlen(v) >= CFG_DEVICE_MAX)
		return fail(x, s, "device must be at most %u characters, got %zu",
		            CFG_DEVICE_MAX - 1, strlen(v));
	return p_string(x, s, obj, k);
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
		if (!cfg_addr_unicast(&p->addrs[i].addr))
			return fail(x, e, "address must be a unicast address, got %s", quote(q, v));
		for (int j = 0; j < i; j++)
			if (cfg_addr_equal(&p->addrs[j].addr, &p->addrs[i].addr))
				return fail(x, e, "address %s is listed twice", quote(q, v));
	}
	p->nb_addrs = (unsigned)n;
	return 0;
}

static const struct cfg_key port_keys[] = {
        {"name", p_done, offsetof(struct cfg_port, name), 0, CFG_NAME_MAX, 0, "string", NULL,
         "[name](#names), unique among ports", "how logs and `siphonctl` refer to it", ck_name, 1},
        {"device", p_device, offsetof(struct cfg_port, device), 0, CFG_DEVICE_MAX, 0, "string",
         NULL, "1..127 printable ASCII characters, no space, `\"` or `\\`",
         "the DPDK device: a PCI address (`\"0000:03:00.0\"`) or a vdev name "
         "(`\"net_af_packet0\"`) as `rte_eth_dev_get_port_by_name()` knows it",
         ck_device, 1},
        {"addresses", p_port_addrs, 0, 0, 0, 0, "array of strings", NULL,
         "1..8 `\"address/length\"`",
         "the balancer's own addresses on this port, with their on-link prefix", NULL, 1},
        {"gateway4", p_addr, offsetof(struct cfg_port, gw4), 4, 0, 0, "string", "none",
         "an IPv4 address within one of the port's IPv4 prefixes",
         "next hop for off-link IPv4 destinations", NULL, 0},
        {"gateway6", p_addr, offsetof(struct cfg_port, gw6), 6, 0, 0, "string", "none",
         "an IPv6 address within one of the port's IPv6 prefixes",
         "next hop for off-link IPv6 destinations", NULL, 0},
        {"exception", p_string, offsetof(struct cfg_port, exception), 0, CFG_IFNAME_MAX, 0,
         "string", "none",
         "1..15 characters of `A-Z a-z 0-9 . _ -`, not `.` or `..`, unique among ports",
         "the kernel interface (a TUN device the daemon creates) behind the port's own "
         "addresses: what the fast path does not handle for them (ICMP, TCP, UDP to a port "
         "that is no VIP, fragments) goes to the kernel, and what the kernel sends there "
         "goes out the port ([dataplane.md](dataplane.md#exception-path))",
         ck_exception, 0},
        {"udp_checksum", p_keyword, offsetof(struct cfg_port, udp_csum), 0, 0, 0, "string",
         "`\"keep\"`", "`\"keep\"`, `\"verify\"`, `\"fill\"`",
         "the UDP checksum of datagrams received on the port for a VIP, or for its own "
         "addresses over the exception path: `keep` leaves it as it came, `verify` drops (and "
         "counts) a datagram whose checksum does not verify, `fill` writes the right one "
         "where it does not, so a sender's partial checksum (TX offload on veth or virtio) "
         "arrives complete ([dataplane.md](dataplane.md#udp-checksums))",
         ck_udp_csum, 0},
        {"mtu", p_u32, offsetof(struct cfg_port, mtu), CFG_MTU_MIN, CFG_MTU_MAX, CFG_MTU, "integer",
         NULL, NULL,
         "the largest IP datagram the port receives and sends unfragmented: the mbufs are "
         "sized for it, and IP-in-IP refuses to send a larger one ([dataplane.md]"
         "(dataplane.md#large-datagrams))",
         NULL, 0},
};

/* ---- rules across settings: stated once, for files and for edited configurations ---- */

/* What a rule's message is about: the object kinds, for rule_where(). */
enum rule_obj {
	RULE_TOP = 0, /* a top-level key */
	RULE_PORT,    /* ports[i] */
	RULE_GROUP,   /* groups[i] */
	RULE_BACKEND, /* groups[i].backends[j] */
	RULE_VIP,     /* vips[i], its port j when key is "ports" */
};

/*
 * The rules that relate settings to one another (duplicates, gateways within the port's
 * prefixes, maglev_size against group sizes) read only struct sph_cfg; where a message
 * points and how it is reported is the caller's: the file reader knows each setting's
 * file and line, cfg_validate() only each object's line.
 */
struct rule_ctx {
	const struct sph_cfg *cfg;
	void *arg; /* the caller's context */
	/* Sets *file and *line for (kind, i, j, key); key NULL: the object itself. */
	void (*where)(const struct rule_ctx *r, enum rule_obj kind, unsigned i, unsigned j,
	              const char *key, const char **file, unsigned *line);
	/* Reports one problem; item NULL for a top-level key. Returns -1. */
	int (*report)(const struct rule_ctx *r, const char *item, const char *file, unsigned line,
	              const char *problem);
	int maglev_default; /* maglev_size was not written: messages say "the default" */
};

static SPH_COLD __attribute__((format(printf, 7, 8))) int
rule_fail(const struct rule_ctx *r, const char *item, enum rule_obj kind, unsigned i, unsigned j,
          const char *key, const char *fmt, ...)
{
	const char *file = NULL;
	char problem[512];
	unsigned line = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	r->where(r, kind, i, j, key, &file, &line);
	return r->report(r, item, file, line, problem);
}

/* One value that must be unique, and who holds it. Keys are zero-padded names or
 * packed (family, address, port) triples, so one memcmp compares either. */
struct dup_ref {
	uint8_t key[CFG_NAME_MAX];
	unsigned seq;   /* file order */
	unsigned owner; /* index of the object holding it */
	unsigned sub;   /* index within it (a backend of a group, a port of a VIP) */
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
 * *first to the earliest holder of the same value; -1 when all differ. Sorting keeps this
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
dup_name(struct dup_ref *r, const char *name, unsigned seq, unsigned owner, unsigned sub)
{
	memset(r->key, 0, sizeof(r->key));
	memcpy(r->key, name, strnlen(name, sizeof(r->key) - 1));
	r->seq = seq;
	r->owner = owner;
	r->sub = sub;
}

static void
dup_addr(struct dup_ref *r, const struct cfg_addr *a, uint16_t port, unsigned seq, unsigned owner,
         unsigned sub)
{
	memset(r->key, 0, sizeof(r->key));
	r->key[0] = a->family;
	memcpy(r->key + 1, a->a, 16);
	r->key[17] = (uint8_t)(port >> 8);
	r->key[18] = (uint8_t)port;
	r->seq = seq;
	r->owner = owner;
	r->sub = sub;
}

static int
rule_nomem(const struct rule_ctx *r)
{
	return r->report(r, NULL, NULL, 0, "out of memory");
}

/* A port's next hops must be reachable: on-link through one of its own prefixes. */
static int
rule_port_gateways(const struct rule_ctx *r, unsigned i)
{
	const struct cfg_port *p = &r->cfg->ports[i];
	char item[CFG_NAME_MAX + 8], a[CFG_ADDR_STRLEN];

	snprintf(item, sizeof(item), "port \"%s\"", p->name);
	for (unsigned g = 0; g < 2; g++) {
		const struct cfg_addr *gw = g == 0 ? &p->gw4 : &p->gw6;
		const char *key = g == 0 ? "gateway4" : "gateway6";
		unsigned j;

		if (gw->family == 0)
			continue;
		for (j = 0; j < p->nb_addrs; j++) {
			if (cfg_addr_equal(&p->addrs[j].addr, gw))
				return rule_fail(r, item, RULE_PORT, i, 0, key,
				                 "%s %s is one of the port's own addresses", key,
				                 cfg_addr_format(gw, 0, a, sizeof(a)));
			if (cfg_prefix_contains(&p->addrs[j], gw))
				break;
		}
		if (j == p->nb_addrs)
			return rule_fail(
			        r, item, RULE_PORT, i, 0, key,
			        "%s %s is not within any IPv%u prefix of the port's addresses", key,
			        cfg_addr_format(gw, 0, a, sizeof(a)), gw->family);
	}
	return 0;
}

/* Port names, exception interfaces, and addresses across ports are unique. */
static int
rule_ports(const struct rule_ctx *r)
{
	const struct sph_cfg *cfg = r->cfg;
	char item[CFG_NAME_MAX + 8], a[CFG_ADDR_STRLEN];
	unsigned n = cfg->nb_ports, na = 0, ne = 0;
	struct dup_ref *d;
	size_t first;
	long k;

	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		na += cfg->ports[i].nb_addrs;
	d = calloc(n > na ? n : na, sizeof(*d));
	if (d == NULL)
		return rule_nomem(r);
	for (unsigned i = 0; i < n; i++)
		dup_name(&d[i], cfg->ports[i].name, i, i, 0);
	k = dup_find(d, n, &first);
	if (k >= 0) {
		const struct cfg_port *p = &cfg->ports[d[k].owner],
		                      *o = &cfg->ports[d[first].owner];

		snprintf(item, sizeof(item), "port \"%s\"", p->name);
		free(d);
		if (o->line == 0)
			return rule_fail(r, item, RULE_PORT, (unsigned)(p - cfg->ports), 0, NULL,
			                 "name is already used by another port");
		return rule_fail(r, item, RULE_PORT, (unsigned)(p - cfg->ports), 0, NULL,
		                 "name is already used by the port at line %u", o->line);
	}
	for (unsigned i = 0; i < n; i++)
		if (cfg->ports[i].exception[0] != '\0')
			dup_name(&d[ne++], cfg->ports[i].exception, i, i, 0);
	k = dup_find(d, ne, &first);
	if (k >= 0) {
		unsigned i = d[k].owner, o = d[first].owner;

		snprintf(item, sizeof(item), "port \"%s\"", cfg->ports[i].name);
		free(d);
		return rule_fail(r, item, RULE_PORT, i, 0, "exception",
		                 "exception interface \"%s\" is already used by port \"%s\"",
		                 cfg->ports[i].exception, cfg->ports[o].name);
	}
	na = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < cfg->ports[i].nb_addrs; j++, na++)
			dup_addr(&d[na], &cfg->ports[i].addrs[j].addr, 0, na, i, j);
	k = dup_find(d, na, &first);
	if (k >= 0) {
		unsigned i = d[k].owner, o = d[first].owner;
		const struct cfg_addr *ad = &cfg->ports[i].addrs[d[k].sub].addr;

		snprintf(item, sizeof(item), "port \"%s\"", cfg->ports[i].name);
		cfg_addr_format(ad, 0, a, sizeof(a));
		free(d);
		return rule_fail(r, item, RULE_PORT, i, 0, "addresses",
		                 "address %s is already owned by port \"%s\"", a,
		                 cfg->ports[o].name);
	}
	free(d);
	return 0;
}

/* Names: groups among groups, backends across the whole file (they are Maglev identities
 * and what operators address with siphonctl). Endpoints: within a group, two backends
 * at one address and port are a copy-paste slip (weight expresses a bigger share). Every
 * backend of a group may be up at once (states change at run time), so maglev_size must
 * hold them all. */
static int
rule_groups(const struct rule_ctx *r)
{
	const struct sph_cfg *cfg = r->cfg;
	char item[CFG_NAME_MAX + 16], a[CFG_ADDR_STRLEN];
	unsigned n = cfg->nb_groups, nb = 0;
	struct dup_ref *d;
	size_t first;
	long k;

	for (unsigned i = 0; i < n; i++)
		nb += cfg->groups[i].nb_backends;
	d = calloc(nb > n ? nb : n, sizeof(*d));
	if (d == NULL)
		return rule_nomem(r);
	for (unsigned i = 0; i < n; i++)
		dup_name(&d[i], cfg->groups[i].name, i, i, 0);
	k = dup_find(d, n, &first);
	if (k >= 0) {
		unsigned i = d[k].owner, o = d[first].owner;

		snprintf(item, sizeof(item), "group \"%s\"", cfg->groups[i].name);
		free(d);
		if (cfg->groups[o].line == 0)
			return rule_fail(r, item, RULE_GROUP, i, 0, NULL,
			                 "name is already used by another group");
		return rule_fail(r, item, RULE_GROUP, i, 0, NULL,
		                 "name is already used by the group at line %u",
		                 cfg->groups[o].line);
	}
	nb = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < cfg->groups[i].nb_backends; j++, nb++)
			dup_name(&d[nb], cfg->groups[i].backends[j].name, nb, i, j);
	k = dup_find(d, nb, &first);
	if (k >= 0) {
		unsigned gi = d[k].owner, bj = d[k].sub, go = d[first].owner;
		const struct cfg_backend *o = &cfg->groups[go].backends[d[first].sub];

		snprintf(item, sizeof(item), "backend \"%s\"", cfg->groups[gi].backends[bj].name);
		free(d);
		if (o->line == 0)
			return rule_fail(
			        r, item, RULE_BACKEND, gi, bj, NULL,
			        "name is already used by a backend of group \"%s\" (backend "
			        "names are unique across groups)",
			        cfg->groups[go].name);
		return rule_fail(r, item, RULE_BACKEND, gi, bj, NULL,
		                 "name is already used by the backend at line %u%s%s%s", o->line,
		                 go != gi ? " in group \"" : "",
		                 go != gi ? cfg->groups[go].name : "", go != gi ? "\"" : "");
	}
	for (unsigned i = 0; i < n; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		for (unsigned j = 0; j < g->nb_backends; j++)
			dup_addr(&d[j], &g->backends[j].addr, g->backends[j].port, j, j, 0);
		k = dup_find(d, g->nb_backends, &first);
		if (k >= 0) {
			const struct cfg_backend *b = &g->backends[d[k].owner];

			snprintf(item, sizeof(item), "backend \"%s\"", b->name);
			cfg_addr_format(&b->addr, b->port, a, sizeof(a));
			k = d[k].owner;
			first = d[first].owner;
			free(d);
			return rule_fail(
			        r, item, RULE_BACKEND, i, (unsigned)k, NULL,
			        "address %s is already used by backend \"%s\" of group \"%s\"", a,
			        g->backends[first].name, g->name);
		}
	}
	free(d);
	for (unsigned i = 0; i < n; i++) {
		const struct cfg_group *g = &cfg->groups[i];
		const char *file = NULL;
		unsigned line = 0;

		if (g->nb_backends <= cfg->maglev_size)
			continue;
		r->where(r, RULE_TOP, 0, 0, "maglev_size", &file, &line);
		if (line > 0)
			return rule_fail(r, NULL, RULE_TOP, 0, 0, "maglev_size",
			                 "maglev_size must be at least the backend count of every "
			                 "group, got %u but group \"%s\" has %u",
			                 cfg->maglev_size, g->name, g->nb_backends);
		snprintf(item, sizeof(item), "group \"%s\"", g->name);
		return rule_fail(r, item, RULE_GROUP, i, 0, NULL,
		                 "%u backends exceed %smaglev_size %u; set a larger prime",
		                 g->nb_backends, r->maglev_default ? "the default " : "",
		                 cfg->maglev_size);
	}
	return 0;
}

/* Every (address, port) pair belongs to one VIP, once. */
static int
rule_vips(const struct rule_ctx *r)
{
	const struct sph_cfg *cfg = r->cfg;
	char item[CFG_ADDR_STRLEN + 8], a[CFG_ADDR_STRLEN];
	size_t np = 0, first;
	struct dup_ref *d;
	long k;

	for (unsigned i = 0; i < cfg->nb_vips; i++)
		np += cfg->vips[i].nb_ports;
	if (np == 0)
		return 0;
	d = calloc(np, sizeof(*d));
	if (d == NULL)
		return rule_nomem(r);
	np = 0;
	for (unsigned i = 0; i < cfg->nb_vips; i++)
		for (unsigned j = 0; j < cfg->vips[i].nb_ports; j++, np++)
			dup_addr(&d[np], &cfg->vips[i].addr, cfg->vips[i].ports[j], (unsigned)np, i,
			         j);
	k = dup_find(d, np, &first);
	if (k >= 0) {
		unsigned i = d[k].owner, j = d[k].sub, o = d[first].owner;
		const struct cfg_vip *v = &cfg->vips[i];
		unsigned port = v->ports[j];

		snprintf(item, sizeof(item), "vip %s", cfg_addr_format(&v->addr, 0, a, sizeof(a)));
		free(d);
		if (o == i)
			return rule_fail(r, item, RULE_VIP, i, j, "ports",
			                 "port %u is listed twice", port);
		if (cfg->vips[o].line == 0)
			return rule_fail(r, item, RULE_VIP, i, j, "ports",
			                 "port %u is already served by another vip", port);
		return rule_fail(r, item, RULE_VIP, i, j, "ports",
		                 "port %u is already served by the vip at line %u", port,
		                 cfg->vips[o].line);
	}
	free(d);
	return 0;
}

/* The reader's side of a rule_ctx: the settings' own files and lines. */
static void
reader_where(const struct rule_ctx *r, enum rule_obj kind, unsigned i, unsigned j, const char *key,
             const char **file, unsigned *line)
{
	struct cfg_ctx *x = r->arg;
	const config_setting_t *s = NULL, *m;

	switch (kind) {
	case RULE_TOP:
		s = key != NULL && strcmp(key, "maglev_size") == 0 ? x->s_maglev : NULL;
		break;
	case RULE_PORT:
		s = config_setting_get_elem(x->s_ports, i);
		break;
	case RULE_GROUP:
		s = config_setting_get_elem(x->s_groups, i);
		break;
	case RULE_BACKEND:
		s = config_setting_get_member(config_setting_get_elem(x->s_groups, i), "backends");
		s = config_setting_get_elem(s, j);
		key = NULL;
		break;
	case RULE_VIP:
		s = config_setting_get_elem(x->s_vips, i);
		m = key != NULL ? config_setting_get_member(s, "ports") : NULL;
		if (m != NULL)
			s = config_setting_get_elem(m, j);
		key = NULL;
		break;
	}
	if (s != NULL && key != NULL && kind != RULE_TOP &&
	    (m = config_setting_get_member(s, key)) != NULL)
		s = m;
	while (s != NULL && config_setting_source_line(s) == 0)
		s = config_setting_parent(s);
	*file = x->path;
	*line = 0;
	if (s != NULL) {
		const char *f;

		cfg_src_where(&x->src, config_setting_source_line(s), &f, line);
		if (f != NULL)
			*file = f;
	}
}

static int
reader_report(const struct rule_ctx *r, const char *item, const char *file, unsigned line,
              const char *problem)
{
	struct cfg_ctx *x = r->arg;

	if (file == NULL) /* out of memory */
		return fail_nomem(x);
	snprintf(x->item, sizeof(x->item), "%s", item != NULL ? item : "");
	return fail_at(x, file, line, "%s", problem);
}

static void
reader_rules(struct cfg_ctx *x, struct rule_ctx *r)
{
	*r = (struct rule_ctx){.cfg = x->cfg,
	                       .arg = x,
	                       .where = reader_where,
	                       .report = reader_report,
	                       .maglev_default = x->s_maglev == NULL};
}

static int
read_port(struct cfg_ctx *x, const config_setting_t *g, struct cfg_port *p, unsigned idx)
{
	struct rule_ctx r;

	set_item(x, "port %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; ... }, got %s", type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_string(x, config_setting_get_member(g, "name"), p, &port_keys[0]) < 0)
		return -1;
	set_item(x, "port \"%s\"", p->name);
	p->line = src_line(x, g);
	p->file = cfg_src_file(&x->src, config_setting_source_line(g));
	keys_default(port_keys, SPH_ARRAY_SIZE(port_keys), p);
	if (walk(x, g, port_keys, SPH_ARRAY_SIZE(port_keys), p) < 0 ||
	    keys_require(x, g, port_keys, SPH_ARRAY_SIZE(port_keys)) < 0)
		return -1;
	reader_rules(x, &r);
	return rule_port_gateways(&r, idx);
}

static int
read_ports(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_ports;
	unsigned n = l ? (unsigned)config_setting_length(l) : 0;
	struct rule_ctx r;

	if (n == 0)
		return 0;
	cfg->ports = calloc(n, sizeof(*cfg->ports));
	if (cfg->ports == NULL)
		return fail_nomem(x);
	cfg->nb_ports = n;
	for (unsigned i = 0; i < n; i++)
		if (read_port(x, config_setting_get_elem(l, i), &cfg->ports[i], i) < 0)
			return -1;
	reader_rules(x, &r);
	return rule_ports(&r);
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

/* A keyword of a small enum (state, mode, udp_checksum), stored as its uint8_t at k->off; the row's
 * check says which values exist. */
static int
p_keyword(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX], msg[128];
	const char *v = "";
	int kw;
	uint8_t b;

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	kw = k->check == ck_state      ? cfg_state_parse(v)
	     : k->check == ck_udp_csum ? csum_parse(v)
	                               : cfg_mode_parse(v);
	b = kw < 0 ? UINT8_MAX : (uint8_t)kw;
	if (k->check(&b, k, msg, sizeof(msg)) < 0)
		return fail(x, s, "%s, got %s", msg, quote(q, v));
	*((uint8_t *)obj + k->off) = b;
	return 0;
}

static int
p_mac(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_backend *b = obj;
	char q[CFG_QUOTE_MAX], msg[128];
	const char *v = "";

	if (get_str(x, s, NULL, &v) < 0)
		return -1;
	if (cfg_mac_parse(v, b->mac) < 0)
		return fail(
		        x, s,
		        "mac must be six pairs of hex digits like \"02:00:00:00:00:21\", got %s",
		        quote(q, v));
	b->has_mac = 1;
	if (k->check(b, k, msg, sizeof(msg)) < 0)
		return fail(x, s, "%s, got %s", msg, quote(q, v));
	return 0;
}

static const struct cfg_key backend_keys[] = {
        {"name", p_done, offsetof(struct cfg_backend, name), 0, CFG_NAME_MAX, 0, "string", NULL,
         "[name](#names), unique in the whole file", "the backend's identity", ck_name, 1},
        {"address", p_be_addr, offsetof(struct cfg_backend, addr), 0, 1, 0, "string", NULL,
         "a unicast IPv4 or IPv6 address, optionally with a port", "where it listens", NULL, 1},
        {"port", p_be_port, 0, 0, 0, 0, "integer", "5060", "1..65535", "its SIP port", NULL, 0},
        {"weight", p_u32, offsetof(struct cfg_backend, weight), CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, 1,
         "integer", NULL, NULL, "its share of new calls, relative to the group's other backends",
         NULL, 0},
        {"state", p_keyword, offsetof(struct cfg_backend, state), 0, 0, 0, "string", "`\"up\"`",
         "`\"up\"`, `\"drain\"`, `\"down\"`", "whether it takes new calls", ck_state, 0},
        {"mac", p_mac, 0, 0, 0, 0, "string", "none",
         "a unicast Ethernet address, `\"02:00:00:00:00:21\"`",
         "a static neighbour entry: frames go to this MAC without ARP/ND", ck_mac, 0},
};

static int
read_backend(struct cfg_ctx *x, const config_setting_t *g, struct cfg_backend *b, unsigned idx,
             const char *group)
{
	char a[CFG_ADDR_STRLEN];

	set_item(x, "backend %u of group \"%s\"", idx + 1, group);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; address = ...; }, got %s",
		            type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_string(x, config_setting_get_member(g, "name"), b, &backend_keys[0]) < 0)
		return -1;
	set_item(x, "backend \"%s\"", b->name);
	b->line = src_line(x, g);
	b->file = cfg_src_file(&x->src, config_setting_source_line(g));
	b->port = CFG_DEFAULT_PORT;
	keys_default(backend_keys, SPH_ARRAY_SIZE(backend_keys), b);
	b->state = MAGLEV_UP;
	x->s_port_key = x->s_addr_port = NULL;
	if (walk(x, g, backend_keys, SPH_ARRAY_SIZE(backend_keys), b) < 0 ||
	    keys_require(x, g, backend_keys, SPH_ARRAY_SIZE(backend_keys)) < 0)
		return -1;
	if (x->s_port_key != NULL && x->s_addr_port != NULL)
		return fail(x, x->s_port_key,
		            "port is given twice: address %s already has one; drop one of them",
		            cfg_addr_format(&b->addr, 0, a, sizeof(a)));
	return 0;
}

static const struct cfg_key group_keys[] = {
        {"name", p_done, offsetof(struct cfg_group, name), 0, CFG_NAME_MAX, 0, "string", NULL,
         "[name](#names), unique among groups", "what VIPs refer to", ck_name, 1},
        {"backends", p_done, 0, 0, 0, 0, "list of [backends](#backends)", NULL, "1..65534 backends",
         "the group's members, in any order", NULL, 1},
        {"panic_threshold", p_u32, offsetof(struct cfg_group, panic_threshold), 0, 100,
         CFG_PANIC_THRESHOLD, "integer", NULL, "0..100 (percent; 0: never)",
         "when fewer than this share of the backends the operator has not drained or set down "
         "are healthy, dispatch over all of those as if healthy and raise the group's panic "
         "alarm, rather than drop what the unhealthy ones would get "
         "([health.md](health.md#panic-threshold))",
         NULL, 0},
};

static int
read_group(struct cfg_ctx *x, const config_setting_t *g, struct cfg_group *grp, unsigned idx)
{
	const config_setting_t *l;
	unsigned n;

	set_item(x, "group %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g, "must be a group { name = ...; backends = ( ... ); }, got %s",
		            type_name(g));
	if (require(x, g, "name") < 0 ||
	    p_string(x, config_setting_get_member(g, "name"), grp, &group_keys[0]) < 0)
		return -1;
	set_item(x, "group \"%s\"", grp->name);
	keys_default(group_keys, SPH_ARRAY_SIZE(group_keys), grp);
	grp->line = src_line(x, g);
	grp->file = cfg_src_file(&x->src, config_setting_source_line(g));
	if (walk(x, g, group_keys, SPH_ARRAY_SIZE(group_keys), grp) < 0 ||
	    keys_require(x, g, group_keys, SPH_ARRAY_SIZE(group_keys)) < 0)
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

static int
read_groups(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_groups;
	unsigned n = (unsigned)config_setting_length(l);
	struct rule_ctx r;

	if (n == 0)
		return fail(x, l, "groups must hold at least one group");
	cfg->groups = calloc(n, sizeof(*cfg->groups));
	if (cfg->groups == NULL)
		return fail_nomem(x);
	cfg->nb_groups = n;
	for (unsigned i = 0; i < n; i++)
		if (read_group(x, config_setting_get_elem(l, i), &cfg->groups[i], i) < 0)
			return -1;
	reader_rules(x, &r);
	return rule_groups(&r);
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
group_order_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct cfg_group *const *)a)->name,
	              (*(const struct cfg_group *const *)b)->name);
}

/* Names are unique by now, so a binary search finds the one group: a file may have as
 * many groups as VIPs, and a linear search for each VIP made loading quadratic. */
static const struct cfg_group *
group_lookup(struct cfg_ctx *x, const char *name)
{
	struct cfg_group key;
	const struct cfg_group *kp = &key, **hit;

	if (strlen(name) >= sizeof(key.name))
		return NULL;
	strcpy(key.name, name);
	hit = bsearch(&kp, x->group_order, x->cfg->nb_groups, sizeof(*x->group_order),
	              group_order_cmp);
	return hit != NULL ? *hit : NULL;
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
	g = group_lookup(x, name);
	if (g == NULL)
		return fail(x, s, "group %s is not defined", quote(q, name));
	v->group = (unsigned)(g - x->cfg->groups);
	return 0;
}

/* ---- a VIP's allowlist and limits (docs/protection.md) ---- */

static const char *const tier_names[] = {
        [CFG_TIER_DEFAULT] = "default",
        [CFG_TIER_TRUSTED] = "trusted",
        [CFG_TIER_BLOCKED] = "blocked",
};

const char *
cfg_tier_name(uint8_t tier)
{
	return tier < SPH_ARRAY_SIZE(tier_names) ? tier_names[tier] : "unknown";
}

int
cfg_tier_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(tier_names); i++)
		if (strcmp(s, tier_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
cfg_limit_class_name(uint8_t cls)
{
	static const char *const names[] = {
	        [CFG_LIMIT_INVITE] = "invite",
	        [CFG_LIMIT_REGISTER] = "register",
	        [CFG_LIMIT_OPTIONS] = "options",
	        [CFG_LIMIT_OTHER] = "other",
	};

	return cls < SPH_ARRAY_SIZE(names) ? names[cls] : "unknown";
}

/* Clear the bits of p's address past its length (IPv4 is mapped: 96 bits more). */
static void
acl_mask(struct cfg_prefix *p)
{
	unsigned bits = (p->addr.family == 4 ? 96u : 0u) + p->len;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * i : 0;

		if (keep < 8)
			p->addr.a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int
cfg_acl_prefix_parse(const char *s, struct cfg_prefix *p)
{
	uint16_t port;
	int rc;

	if (strchr(s, '/') != NULL) {
		rc = cfg_prefix_parse(s, p);
		if (rc != 0)
			return rc;
	} else {
		/* A host; no port (a bracketed IPv6 address or a.b.c.d:port is no prefix). */
		if (cfg_addr_parse(s, &p->addr, &port) != 0 || port != 0 || s[0] == '[')
			return -1;
		p->len = p->addr.family == 4 ? 32 : 128;
	}
	acl_mask(p);
	return 0;
}

/* Append one prefix of tier to v's list; the duplicates check is cfg_validate()'s. */
static int
acl_push(struct cfg_vip *v, const struct cfg_prefix *p, uint8_t tier, unsigned *cap)
{
	if (v->nb_acl == *cap) {
		unsigned n = *cap != 0 ? 2 * *cap : 16;
		struct cfg_acl *a = realloc(v->acl, n * sizeof(*a));

		if (a == NULL)
			return -1;
		v->acl = a;
		*cap = n;
	}
	v->acl[v->nb_acl++] = (struct cfg_acl){.prefix = *p, .tier = tier};
	return 0;
}

/* How many entries v->acl has room for: the reader grows it by doubling from nb_acl. */
static unsigned
acl_cap(const struct cfg_vip *v)
{
	unsigned cap = 0;

	if (v->nb_acl == 0)
		return 0;
	for (cap = 16; cap < v->nb_acl; cap *= 2)
		;
	return cap;
}

/* trusted = [ ... ] or blocked = [ ... ] (k->min is the tier): prefixes or addresses. */
static int
p_vip_acl(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_vip *v = obj;
	char q[CFG_QUOTE_MAX];
	int n = config_setting_length(s);
	unsigned cap = acl_cap(v);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "%s must be an array [ \"address/length\", ... ], got %s",
		            k->name, type_name(s));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *t = "";
		struct cfg_prefix p;
		int rc;

		if (get_str(x, e, k->name, &t) < 0)
			return -1;
		rc = cfg_acl_prefix_parse(t, &p);
		if (rc == -2)
			return fail(x, e, "%s %s: prefix length must be 0..%u", k->name,
			            quote(q, t), strchr(t, ':') ? 128u : 32u);
		if (rc < 0)
			return fail(x, e, "%s must hold \"address/length\" or addresses, got %s",
			            k->name, quote(q, t));
		if (v->nb_acl >= CFG_ACL_MAX)
			return fail(x, e, "more than %u trusted and blocked prefixes", CFG_ACL_MAX);
		if (acl_push(v, &p, (uint8_t)k->min, &cap) < 0)
			return fail_nomem(x);
	}
	return 0;
}

/*
 * acl_file = "path": one "trusted PREFIX" or "blocked PREFIX" a line, # comments and
 * blank lines allowed; relative to the configuration's folder. Read once, into the same
 * list as trusted and blocked: cfg_write() writes them all inline.
 */
static int
p_vip_acl_file(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_vip *v = obj;
	char q[CFG_QUOTE_MAX], q2[CFG_QUOTE_MAX], path[4096], line[256];
	const char *name = "";
	unsigned cap = acl_cap(v), lineno = 0;
	FILE *f;
	int rc = 0;

	(void)k;
	if (get_str(x, s, NULL, &name) < 0)
		return -1;
	if (name[0] == '\0')
		return fail(x, s, "acl_file must name a file, got \"\"");
	if (name[0] == '/' || x->dir == NULL)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return fail(x, s, "acl_file %s: %s", quote(q, path), strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *word, *pfx, *end;
		struct cfg_prefix pr;
		int tier, prc;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = fail(x, s, "acl_file %s:%u: line longer than %zu characters",
			          quote(q, path), lineno, sizeof(line) - 2);
			break;
		}
		if ((end = strchr(p, '#')) != NULL)
			*end = '\0';
		word = strtok_r(p, " \t\r\n", &end);
		if (word == NULL)
			continue;
		pfx = strtok_r(NULL, " \t\r\n", &end);
		tier = cfg_tier_parse(word);
		if (pfx == NULL || strtok_r(NULL, " \t\r\n", &end) != NULL ||
		    (tier != CFG_TIER_TRUSTED && tier != CFG_TIER_BLOCKED)) {
			rc = fail(x, s,
			          "acl_file %s:%u: a line must be \"trusted PREFIX\" or \"blocked "
			          "PREFIX\"",
			          quote(q, path), lineno);
			break;
		}
		prc = cfg_acl_prefix_parse(pfx, &pr);
		if (prc != 0)
			rc = fail(x, s, "acl_file %s:%u: %s is no %s", quote(q, path), lineno,
			          quote(q2, pfx),
			          prc == -2 ? "prefix: its length is out of range"
			                    : "address or address/length");
		else if (v->nb_acl >= CFG_ACL_MAX)
			rc = fail(x, s, "acl_file %s:%u: more than %u trusted and blocked prefixes",
			          quote(q, path), lineno, CFG_ACL_MAX);
		else if (acl_push(v, &pr, (uint8_t)tier, &cap) < 0)
			rc = fail_nomem(x);
	}
	if (rc == 0 && ferror(f))
		rc = fail(x, s, "acl_file %s: read error", quote(q, path));
	fclose(f);
	return rc;
}

static int
acl_cmp(const void *a, const void *b)
{
	const struct cfg_acl *x = a, *y = b;
	int c = (int)x->prefix.addr.family - (int)y->prefix.addr.family;

	if (c == 0)
		c = memcmp(x->prefix.addr.a, y->prefix.addr.a, 16);
	if (c == 0)
		c = (int)x->prefix.len - (int)y->prefix.len;
	return c;
}

/* The order a VIP's list is kept in: by tier, then range, so that cfg_write() (trusted
 * first, then blocked) writes what reads back equal. */
static int
acl_cmp_tier(const void *a, const void *b)
{
	const struct cfg_acl *x = a, *y = b;

	if (x->tier != y->tier)
		return (int)x->tier - (int)y->tier;
	return acl_cmp(a, b);
}

void
cfg_acl_sort(struct cfg_vip *v)
{
	if (v->nb_acl > 1)
		qsort(v->acl, v->nb_acl, sizeof(*v->acl), acl_cmp_tier);
}

/* A VIP's list: well formed, at most the bounds, each prefix once. Sorts a copy. */
static int
acl_check(const struct cfg_vip *vp, char *msg, size_t len)
{
	struct cfg_acl *c;
	unsigned n6 = 0;
	int rc = 0;

	if (vp->nb_acl == 0)
		return 0;
	if (vp->acl == NULL || vp->nb_acl > CFG_ACL_MAX) {
		snprintf(msg, len, "more than %u trusted and blocked prefixes", CFG_ACL_MAX);
		return -1;
	}
	for (unsigned i = 0; i < vp->nb_acl; i++) {
		const struct cfg_acl *e = &vp->acl[i];
		struct cfg_prefix m = e->prefix;
		char t[CFG_PREFIX_STRLEN];

		if ((e->prefix.addr.family != 4 && e->prefix.addr.family != 6) ||
		    e->prefix.len > (e->prefix.addr.family == 4 ? 32 : 128) ||
		    (e->tier != CFG_TIER_TRUSTED && e->tier != CFG_TIER_BLOCKED)) {
			snprintf(msg, len, "allowlist entry %u is no trusted or blocked prefix",
			         i + 1);
			return -1;
		}
		acl_mask(&m);
		if (memcmp(m.addr.a, e->prefix.addr.a, 16) != 0) {
			snprintf(msg, len, "prefix %s has host bits set",
			         cfg_prefix_format(&e->prefix, t, sizeof(t)));
			return -1;
		}
		n6 += e->prefix.addr.family == 6;
	}
	if (n6 > CFG_ACL6_MAX) {
		snprintf(msg, len, "%u IPv6 prefixes: at most %u", n6, CFG_ACL6_MAX);
		return -1;
	}
	c = malloc(vp->nb_acl * sizeof(*c));
	if (c == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	memcpy(c, vp->acl, vp->nb_acl * sizeof(*c));
	qsort(c, vp->nb_acl, sizeof(*c), acl_cmp);
	for (unsigned i = 1; i < vp->nb_acl && rc == 0; i++)
		if (acl_cmp(&c[i - 1], &c[i]) == 0) {
			char t[CFG_PREFIX_STRLEN];

			snprintf(msg, len, "prefix %s is listed twice%s",
			         cfg_prefix_format(&c[i].prefix, t, sizeof(t)),
			         c[i - 1].tier != c[i].tier ? " (trusted and blocked)" : "");
			rc = -1;
		}
	free(c);
	return rc;
}

#define LIMIT_ROWS(cls, name)                                                                      \
	{"rate_" name,                                                                             \
	 p_u32,                                                                                    \
	 offsetof(struct cfg_vip, limit_rate[cls]),                                                \
	 0,                                                                                        \
	 CFG_LIMIT_RATE_MAX,                                                                       \
	 0,                                                                                        \
	 "integer",                                                                                \
	 NULL,                                                                                     \
	 NULL,                                                                                     \
	 "initial " name " requests per second one source address (IPv6: one /64) may send; 0: "   \
	 "unlimited",                                                                              \
	 NULL,                                                                                     \
	 0},                                                                                       \
	{                                                                                          \
		"burst_" name, p_u32, offsetof(struct cfg_vip, limit_burst[cls]), 0,               \
		        CFG_LIMIT_BURST_MAX, 0, "integer", NULL, NULL,                             \
		        "initial " name                                                            \
		        " requests a source may send at once; 0: one second's rate",               \
		        NULL, 0                                                                    \
	}

static const struct cfg_key vip_keys[] = {
        {"address", p_done, 0, 0, 0, 0, "string", NULL,
         "a unicast IPv4 or IPv6 address, optionally with a port", "the address clients send to",
         NULL, 1},
        {"ports", p_vip_ports, 0, 0, 0, 0, "array of integers", "`[ 5060 ]`",
         "1 or more of 1..65535", "the UDP ports served at that address", NULL, 0},
        {"group", p_vip_group, 0, 0, 0, 0, "string", NULL, "the name of a group in `groups`",
         "who serves it", NULL, 1},
        {"mode", p_keyword, offsetof(struct cfg_vip, mode), 0, 0, 0, "string", "`\"l2dsr\"`",
         "`\"l2dsr\"`, `\"ipip\"`", "how messages reach the backends", ck_mode, 0},
        {"trusted", p_vip_acl, 0, CFG_TIER_TRUSTED, 0, 0, "array of strings", "`[ ]`",
         "`\"address/length\"` or addresses",
         "sources never rate-limited nor dropped by generic rules (docs/protection.md)", NULL, 0},
        {"blocked", p_vip_acl, 0, CFG_TIER_BLOCKED, 0, 0, "array of strings", "`[ ]`",
         "`\"address/length\"` or addresses", "sources whose every packet is dropped, counted",
         NULL, 0},
        {"acl_file", p_vip_acl_file, 0, 0, 0, 0, "string", "none",
         "a file of `trusted PREFIX` / `blocked PREFIX` lines",
         "more trusted and blocked prefixes, read at load (relative to this file's folder)", NULL,
         0},
        LIMIT_ROWS(CFG_LIMIT_INVITE, "invite"),
        LIMIT_ROWS(CFG_LIMIT_REGISTER, "register"),
        LIMIT_ROWS(CFG_LIMIT_OPTIONS, "options"),
        LIMIT_ROWS(CFG_LIMIT_OTHER, "other"),
};

static int
read_vip(struct cfg_ctx *x, const config_setting_t *g, struct cfg_vip *v, unsigned idx)
{
	static const struct cfg_key addr_key = {.name = "address",
	                                        .parse = p_done,
	                                        .off = offsetof(struct cfg_vip, addr),
	                                        .max = 1};
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
	v->line = src_line(x, g);
	v->file = cfg_src_file(&x->src, config_setting_source_line(g));
	v->mode = CFG_VIP_L2DSR;
	keys_default(vip_keys, SPH_ARRAY_SIZE(vip_keys), v);
	x->s_port_key = NULL;
	if (walk(x, g, vip_keys, SPH_ARRAY_SIZE(vip_keys), v) < 0 ||
	    keys_require(x, g, vip_keys, SPH_ARRAY_SIZE(vip_keys)) < 0)
		return -1;
	cfg_acl_sort(v);
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
	struct rule_ctx r;

	if (n == 0)
		return 0;
	x->group_order = malloc(cfg->nb_groups * sizeof(*x->group_order));
	if (x->group_order == NULL)
		return fail_nomem(x);
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		x->group_order[i] = &cfg->groups[i];
	qsort(x->group_order, cfg->nb_groups, sizeof(*x->group_order), group_order_cmp);
	cfg->vips = calloc(n, sizeof(*cfg->vips));
	if (cfg->vips == NULL)
		return fail_nomem(x);
	cfg->nb_vips = n;
	for (unsigned i = 0; i < n; i++) {
		if (read_vip(x, config_setting_get_elem(l, i), &cfg->vips[i], i) < 0)
			return -1;
	}

	reader_rules(x, &r);
	return rule_vips(&r);
}

/* ---- rules (docs/protection.md#rules-hyperscan) ---- */

static const char *const rule_action_names[CFG_RULE_ACTIONS] = {
        "drop", "reject-silently", "route", "limit", "tag", "mirror"};

const char *
cfg_rule_action_name(uint8_t action)
{
	return action < CFG_RULE_ACTIONS ? rule_action_names[action] : "unknown";
}

/* Append an expression to the pool; its offset + 1, or 0 when out of memory. */
static uint32_t
rule_text_push(struct cfg_ctx *x, const char *re)
{
	struct sph_cfg *cfg = x->cfg;
	size_t n = strlen(re) + 1;

	if (cfg->rule_text_len + n > x->rule_text_cap) {
		size_t cap = x->rule_text_cap ? x->rule_text_cap : 4096;
		char *t;

		while (cap < cfg->rule_text_len + n)
			cap *= 2;
		t = realloc(cfg->rule_text, cap);
		if (t == NULL)
			return 0;
		cfg->rule_text = t;
		x->rule_text_cap = cap;
	}
	memcpy(cfg->rule_text + cfg->rule_text_len, re, n);
	cfg->rule_text_len += n;
	return (uint32_t)(cfg->rule_text_len - n + 1);
}

/* match = { FIELD = "regex"; ...; caseless = true; }: k->min is the field. */
static int
p_rule_re(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_rule *r = obj;
	const char *re = "";
	size_t n;

	if (get_str(x, s, NULL, &re) < 0)
		return -1;
	n = strlen(re);
	if (n == 0 || n > CFG_RULE_REGEX_MAX)
		return fail(x, s, "match.%s must be 1..%u bytes of a regular expression, got %zu",
		            k->name, CFG_RULE_REGEX_MAX, n);
	if (x->cfg->rule_text_len + n + 1 > UINT32_MAX)
		return fail(x, s, "more than 4 GB of expressions");
	r->re[k->min] = rule_text_push(x, re);
	return r->re[k->min] == 0 ? fail_nomem(x) : 0;
}

static int
p_rule_caseless(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	(void)k;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(x, s, "caseless must be true or false, got %s", type_name(s));
	((struct cfg_rule *)obj)->caseless = (uint8_t)config_setting_get_bool(s);
	return 0;
}

/* A header name as RFC 3261 writes one: a token, 1..63 characters. */
static int
header_name_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n >= CFG_NAME_MAX)
		return 0;
	for (; *h != '\0'; h++)
		if (!(isalnum((unsigned char)*h) || strchr("-.!%*_+`'~", *h) != NULL))
			return 0;
	return 1;
}

/* match.headers = ( { name = "X-Foo"; value = "regex"; }, ... ): named headers. */
static int
p_rule_headers(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_rule *r = obj;
	char q[CFG_QUOTE_MAX];
	int n = config_setting_length(s);

	(void)k;
	if (get_list(x, s) < 0)
		return -1;
	if (n > (int)CFG_RULE_HEADERS)
		return fail(x, s, "match.headers has %d headers: at most %u", n, CFG_RULE_HEADERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const config_setting_t *nm, *v;
		const char *name = "", *re = "";

		if (!config_setting_is_group(e) || config_setting_length(e) != 2 ||
		    (nm = config_setting_get_member(e, "name")) == NULL ||
		    (v = config_setting_get_member(e, "value")) == NULL)
			return fail(x, e,
			            "match.headers holds groups { name = \"...\"; value = "
			            "\"regex\"; }");
		if (get_str(x, nm, "match.headers name", &name) < 0 ||
		    get_str(x, v, "match.headers value", &re) < 0)
			return -1;
		if (!header_name_valid(name))
			return fail(x, nm,
			            "match.headers name must be a header name (a token of "
			            "1..63 characters), got %s",
			            quote(q, name));
		for (int j = 0; j < i; j++)
			if (strcasecmp(cfg_rule_text(x->cfg, r->hname[j]), name) == 0)
				return fail(x, nm, "header %s is named twice", quote(q, name));
		if (strlen(re) == 0 || strlen(re) > CFG_RULE_REGEX_MAX)
			return fail(x, v,
			            "match.headers value must be 1..%u bytes of a regular "
			            "expression",
			            CFG_RULE_REGEX_MAX);
		if (x->cfg->rule_text_len + strlen(name) + strlen(re) + 2 > UINT32_MAX)
			return fail(x, v, "more than 4 GB of expressions");
		r->hname[i] = rule_text_push(x, name);
		r->hre[i] = r->hname[i] != 0 ? rule_text_push(x, re) : 0;
		if (r->hre[i] == 0)
			return fail_nomem(x);
	}
	return 0;
}

static const struct cfg_key match_keys[] = {
        {"method", p_rule_re, 0, 0, 0, 0, "string", "none", "a regular expression",
         "the request method (`\"^(INVITE|REGISTER)$\"`)", NULL, 0},
        {"request_uri", p_rule_re, 0, 1, 0, 0, "string", "none", "a regular expression",
         "the Request-URI", NULL, 0},
        {"from", p_rule_re, 0, 2, 0, 0, "string", "none", "a regular expression",
         "the From value (display name, URI, parameters)", NULL, 0},
        {"to", p_rule_re, 0, 3, 0, 0, "string", "none", "a regular expression", "the To value",
         NULL, 0},
        {"user_agent", p_rule_re, 0, 4, 0, 0, "string", "none", "a regular expression",
         "User-Agent, or Server when there is none", NULL, 0},
        {"contact", p_rule_re, 0, 5, 0, 0, "string", "none", "a regular expression",
         "the first Contact value", NULL, 0},
        {"headers", p_rule_headers, 0, 0, 0, 0, "list of groups", "none",
         "up to 2 `{ name = \"X-Header\"; value = \"regex\"; }`; at most 4 names in a list",
         "the first header of each name (either case), its value without the name", NULL, 0},
        {"caseless", p_rule_caseless, 0, 0, 0, 0, "boolean", "`false`", "",
         "letters of every expression of the rule match either case", NULL, 0},
};

static int
p_rule_match(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_rule *r = obj;
	unsigned n = 0;

	(void)k;
	if (!config_setting_is_group(s))
		return fail(x, s, "match must be a group { user_agent = \"...\"; ... }, got %s",
		            type_name(s));
	if (walk(x, s, match_keys, SPH_ARRAY_SIZE(match_keys), r) < 0)
		return -1;
	for (unsigned f = 0; f < CFG_RULE_FIELDS; f++)
		n += r->re[f] != 0;
	for (unsigned k = 0; k < CFG_RULE_HEADERS; k++)
		n += r->hname[k] != 0;
	if (n == 0)
		return fail(x, s,
		            "match names no field (method, request_uri, from, to, user_agent, "
		            "contact, headers)");
	return 0;
}

static int
p_rule_source(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_rule *r = obj;
	char q[CFG_QUOTE_MAX];
	int n = config_setting_length(s);

	(void)k;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(x, s, "source must be an array [ \"address/length\", ... ], got %s",
		            type_name(s));
	if (n > (int)CFG_RULE_SOURCES_MAX)
		return fail(x, s, "source has %d prefixes: at most %u", n, CFG_RULE_SOURCES_MAX);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *t = "";
		int rc;

		if (get_str(x, e, "source", &t) < 0)
			return -1;
		rc = cfg_acl_prefix_parse(t, &r->sources[r->nb_sources]);
		if (rc == -2)
			return fail(x, e, "source %s: prefix length must be 0..%u", quote(q, t),
			            strchr(t, ':') ? 128u : 32u);
		if (rc < 0)
			return fail(x, e,
			            "source must hold \"address/length\" or addresses, got %s",
			            quote(q, t));
		r->nb_sources++;
	}
	return 0;
}

static int
p_rule_vip(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	struct cfg_rule *r = obj;
	char q[CFG_QUOTE_MAX];
	const char *t = "";
	uint16_t port;

	(void)k;
	if (get_str(x, s, NULL, &t) < 0)
		return -1;
	if (cfg_addr_parse(t, &r->vip, &port) != 0 || port != 0)
		return fail(x, s, "vip must be a VIP's address (no port), got %s", quote(q, t));
	for (unsigned v = 0; v < x->cfg->nb_vips; v++)
		if (cfg_addr_equal(&x->cfg->vips[v].addr, &r->vip)) {
			r->has_vip = 1;
			return 0;
		}
	return fail(x, s, "vip %s is no VIP's address", quote(q, t));
}

static int
p_rule_action(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX];
	const char *t = "";

	(void)k;
	if (get_str(x, s, NULL, &t) < 0)
		return -1;
	for (uint8_t a = 0; a < CFG_RULE_ACTIONS; a++)
		if (strcmp(t, rule_action_names[a]) == 0) {
			((struct cfg_rule *)obj)->action = a;
			return 0;
		}
	return fail(x, s,
	            "action must be \"drop\", \"reject-silently\", \"route\", \"limit\", \"tag\" "
	            "or \"mirror\", got %s",
	            quote(q, t));
}

static int
p_rule_group(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	const struct cfg_group *g;
	char q[CFG_QUOTE_MAX];
	const char *t = "";

	(void)k;
	if (get_str(x, s, NULL, &t) < 0)
		return -1;
	g = cfg_group_find(x->cfg, t);
	if (g == NULL)
		return fail(x, s, "group %s is not defined", quote(q, t));
	((struct cfg_rule *)obj)->group = (unsigned)(g - x->cfg->groups);
	x->s_rule_group = s;
	return 0;
}

static int
p_rule_class(struct cfg_ctx *x, const config_setting_t *s, void *obj, const struct cfg_key *k)
{
	char q[CFG_QUOTE_MAX];
	const char *t = "";

	(void)k;
	if (get_str(x, s, NULL, &t) < 0)
		return -1;
	for (uint8_t c = 0; c < CFG_LIMIT_CLASSES; c++)
		if (strcmp(t, cfg_limit_class_name(c)) == 0) {
			((struct cfg_rule *)obj)->limit_class = c;
			x->s_rule_class = s;
			return 0;
		}
	return fail(x, s,
	            "class must be \"invite\", \"register\", \"options\" or \"other\", got %s",
	            quote(q, t));
}

static const struct cfg_key rule_keys[] = {
        {"name", p_done, 0, 0, 0, 0, "string", NULL, "a [name](#names), unique among rules",
         "what show rules and the metrics call it", NULL, 1},
        {"match", p_rule_match, 0, 0, 0, 0, "group, see [match](#match)", NULL,
         "at least one field", "the expressions a request must all meet", NULL, 1},
        {"action", p_rule_action, 0, 0, 0, 0, "string", NULL,
         "`\"drop\"`, `\"reject-silently\"`, `\"route\"`, `\"limit\"`, `\"tag\"`, `\"mirror\"`",
         "what is done to a request it matches", NULL, 1},
        {"source", p_rule_source, 0, 0, 0, 0, "array of strings", "every source",
         "up to 16 `\"address/length\"` or addresses", "the sources it applies to", NULL, 0},
        {"vip", p_rule_vip, 0, 0, 0, 0, "string", "every VIP", "a VIP's address",
         "the VIP it applies to", NULL, 0},
        {"group", p_rule_group, 0, 0, 0, 0, "string", "—", "a group's name",
         "`route`: the group whose table dispatches the request", NULL, 0},
        {"class", p_rule_class, 0, 0, 0, 0, "string", "—",
         "`\"invite\"`, `\"register\"`, `\"options\"`, `\"other\"`",
         "`limit`: the VIP's rate limit the request is charged to, instead of its method's", NULL,
         0},
};

static int
read_rule(struct cfg_ctx *x, const config_setting_t *g, struct cfg_rule *r, unsigned idx)
{
	char q[CFG_QUOTE_MAX];
	const char *name = "";

	set_item(x, "rule %u", idx + 1);
	if (!config_setting_is_group(g))
		return fail(x, g,
		            "must be a group { name = ...; match = { ... }; action = ...; }, "
		            "got %s",
		            type_name(g));
	if (require(x, g, "name") < 0 ||
	    get_str(x, config_setting_get_member(g, "name"), NULL, &name) < 0)
		return -1;
	if (!cfg_name_valid(name))
		return fail(x, config_setting_get_member(g, "name"),
		            "name must be 1..63 characters of A-Z a-z 0-9 . _ -, got %s",
		            quote(q, name));
	snprintf(r->name, sizeof(r->name), "%s", name);
	set_item(x, "rule \"%s\"", r->name);
	r->line = src_line(x, g);
	r->file = cfg_src_file(&x->src, config_setting_source_line(g));
	x->s_rule_group = x->s_rule_class = NULL;
	if (walk(x, g, rule_keys, SPH_ARRAY_SIZE(rule_keys), r) < 0 ||
	    keys_require(x, g, rule_keys, SPH_ARRAY_SIZE(rule_keys)) < 0)
		return -1;
	if ((r->action == CFG_RULE_ROUTE) != (x->s_rule_group != NULL))
		return fail(x, x->s_rule_group != NULL ? x->s_rule_group : g,
		            r->action == CFG_RULE_ROUTE ? "action \"route\" needs a group"
		                                        : "group is for action \"route\" only");
	if ((r->action == CFG_RULE_LIMIT) != (x->s_rule_class != NULL))
		return fail(x, x->s_rule_class != NULL ? x->s_rule_class : g,
		            r->action == CFG_RULE_LIMIT ? "action \"limit\" needs a class"
		                                        : "class is for action \"limit\" only");
	return 0;
}

static int
read_rules(struct cfg_ctx *x)
{
	struct sph_cfg *cfg = x->cfg;
	const config_setting_t *l = x->s_rules;
	unsigned n = l ? (unsigned)config_setting_length(l) : 0;

	if (n == 0)
		return 0;
	if (n > CFG_RULES_MAX)
		return fail(x, l, "%u rules: at most %u", n, CFG_RULES_MAX);
	cfg->rules = calloc(n, sizeof(*cfg->rules));
	if (cfg->rules == NULL)
		return fail_nomem(x);
	cfg->nb_rules = n;
	for (unsigned i = 0; i < n; i++)
		if (read_rule(x, config_setting_get_elem(l, i), &cfg->rules[i], i) < 0)
			return -1;
	x->item[0] = '\0';
	return 0;
}

/* The rules as rules_compile() takes them: conds[] holds every rule's conditions. */
static int
rules_defs(const struct sph_cfg *cfg, struct rules_def **defs, struct rules_cond **conds)
{
	const char *names[RULES_HEADERS];
	unsigned nc = 0, nh = cfg_rule_header_names(cfg, names, RULES_HEADERS);

	*defs = calloc(cfg->nb_rules + 1, sizeof(**defs));
	*conds = calloc((size_t)cfg->nb_rules * (CFG_RULE_FIELDS + CFG_RULE_HEADERS) + 1,
	                sizeof(**conds));
	if (*defs == NULL || *conds == NULL) {
		free(*defs);
		free(*conds);
		return -1;
	}
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		(*defs)[i].name = r->name;
		(*defs)[i].conds = &(*conds)[nc];
		for (unsigned f = 0; f < CFG_RULE_FIELDS; f++) {
			const char *re = cfg_rule_regex(cfg, r, f);

			if (re == NULL)
				continue;
			(*conds)[nc++] = (struct rules_cond){
			        .field = (uint8_t)f, .caseless = r->caseless, .regex = re};
			(*defs)[i].nb_conds++;
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *h = cfg_rule_text(cfg, r->hname[k]);
			unsigned slot = 0;

			if (h == NULL)
				continue;
			while (slot < nh && strcasecmp(names[slot], h) != 0)
				slot++;
			(*conds)[nc++] =
			        (struct rules_cond){.field = (uint8_t)(RULES_HDR0 + slot),
			                            .caseless = r->caseless,
			                            .regex = cfg_rule_text(cfg, r->hre[k])};
			(*defs)[i].nb_conds++;
		}
	}
	return 0;
}

static struct rules *
cfg_rules_compile(const struct sph_cfg *cfg, char *err, size_t errlen)
{
	struct rules_def *defs;
	struct rules_cond *conds;
	struct rules *rs;
	char why[512];
	int bad = -1;

	if (rules_defs(cfg, &defs, &conds) != 0) {
		snprintf(err, errlen, "out of memory compiling the rules");
		return NULL;
	}
	why[0] = '\0';
	rs = rules_compile(defs, cfg->nb_rules, why, sizeof(why));
	if (rs == NULL) {
		/* Name the place of the rule the message names. */
		for (unsigned i = 0; i < cfg->nb_rules && bad < 0; i++) {
			char q[CFG_NAME_MAX + 10];

			snprintf(q, sizeof(q), "rule \"%s\"", cfg->rules[i].name);
			if (strncmp(why, q, strlen(q)) == 0 &&
			    (why[strlen(q)] == ':' || why[strlen(q)] == '\0'))
				bad = (int)i;
		}
		if (bad >= 0 && cfg->rules[bad].line != 0)
			snprintf(err, errlen, "%s:%u: %s", cfg_where(cfg, cfg->rules[bad].file),
			         cfg->rules[bad].line, why);
		else
			snprintf(err, errlen, "%s", why[0] ? why : "rules: cannot compile");
	}
	free(defs);
	free(conds);
	return rs;
}

int
cfg_rules_check(const struct sph_cfg *cfg, char *err, size_t errlen)
{
	struct rules *rs;

	if (cfg->nb_rules == 0)
		return 0;
	rs = cfg_rules_compile(cfg, err, errlen);
	rules_free(rs);
	return rs != NULL ? 0 : -1;
}

/* ---- cfg_load ---- */

static int
load(struct cfg_ctx *x, config_t *c)
{
	const config_setting_t *root;

	if (cfg_src_read(&x->src, x->path, x->dir, x->err, x->errlen) < 0)
		return -1;
	/* The text holds no @include any more; should libconfig ever find one, it opens
	 * "/dev/null/..." and fails with an error rather than reading anything. */
	config_set_include_dir(c, "/dev/null");
	if (!config_read_string(c, x->src.text)) {
		const char *file;
		unsigned line;

		cfg_src_where(&x->src, (unsigned)config_error_line(c), &file, &line);
		return fail_at(x, file != NULL ? file : x->path, line, "%s",
		               config_error_text(c) ? config_error_text(c) : "syntax error");
	}

	root = config_root_setting(c);
	if (walk(x, root, top_keys, SPH_ARRAY_SIZE(top_keys), x->cfg) < 0)
		return -1;
	if (x->cfg->hash_key == NULL)
		return fail(x, NULL,
		            "hash_key_hex (or hash_key) is required: generate one with "
		            "`openssl rand -hex 32`");
	if (x->s_groups == NULL)
		return fail(x, NULL, "groups is required: at least one group of backends");
	if (read_ports(x) < 0 || read_groups(x) < 0 || read_vips(x) < 0 || read_rules(x) < 0)
		return -1;
	return 0;
}

/* Keep the names of the files read, so that messages about an object long after the
 * load (cfg_validate() on an edited copy, the dataplane's checks) name its own file. */
static int
cfg_files_take(struct sph_cfg *cfg, const struct cfg_src *src)
{
	if (src->nb_files == 0)
		return 0;
	cfg->files = calloc(src->nb_files, sizeof(*cfg->files));
	if (cfg->files == NULL)
		return -1;
	for (size_t i = 0; i < src->nb_files; i++) {
		cfg->files[i] = strdup(src->files[i]);
		if (cfg->files[i] == NULL)
			return -1; /* cfg_free() releases the ones made */
		cfg->nb_files = (unsigned)i + 1;
	}
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
	keys_default(top_keys, SPH_ARRAY_SIZE(top_keys), x.cfg);
	snprintf(x.cfg->ctl_socket, sizeof(x.cfg->ctl_socket), "%s", CFG_CONTROL_SOCKET);
	x.cfg->ctl_mode = CFG_CONTROL_MODE;
	snprintf(x.cfg->ctl_group, sizeof(x.cfg->ctl_group), "%s", CFG_CONTROL_GROUP);
	cfg_health_default(&x.cfg->health);
	keys_default(announce_keys, SPH_ARRAY_SIZE(announce_keys), x.cfg);
	snprintf(x.cfg->ann_bird_socket, sizeof(x.cfg->ann_bird_socket), "%s", CFG_ANN_BIRD_SOCKET);
	keys_default(edge_keys, SPH_ARRAY_SIZE(edge_keys), x.cfg);
	keys_default(mirror_keys, SPH_ARRAY_SIZE(mirror_keys), x.cfg);
	snprintf(x.cfg->edge.ciphers, sizeof(x.cfg->edge.ciphers), "%s", CFG_EDGE_CIPHERS);
	snprintf(x.cfg->edge.ciphersuites, sizeof(x.cfg->edge.ciphersuites), "%s", CFG_EDGE_SUITES);

	config_init(&c);
	rc = load(&x, &c);
	config_destroy(&c);
	if (rc == 0 && cfg_files_take(x.cfg, &x.src) != 0)
		rc = fail_nomem(&x);
	cfg_src_free(&x.src);
	free(x.group_order);
	free(dir);
	/* The parse checked everything with the setting's own line; the shared rule set
	 * runs too, so a rule added only there still holds for files. */
	if (rc == 0)
		rc = cfg_validate(x.cfg, x.err, x.errlen);
	if (rc == 0)
		rc = cfg_rules_check(x.cfg, x.err, x.errlen);
	if (rc < 0) {
		cfg_free(x.cfg);
		return -1;
	}
	*out = x.cfg;
	return 0;
}

/* ---- cfg_rules_load ---- */

static const struct cfg_key rules_file_keys[] = {
        {"rules", p_defer, offsetof(struct cfg_ctx, s_rules), 0, 0, 0, "", "", "", "", NULL, 1},
};

/* Give the rules read from x->src's files their place after the files cfg had. */
static int
rules_files_take(struct sph_cfg *cfg, const struct cfg_src *src)
{
	unsigned base = cfg->nb_files;
	char **f;

	if (src->nb_files == 0)
		return 0;
	f = realloc(cfg->files, (base + src->nb_files) * sizeof(*f));
	if (f == NULL)
		return -1;
	cfg->files = f;
	for (size_t i = 0; i < src->nb_files; i++) {
		f[base + i] = strdup(src->files[i]);
		if (f[base + i] == NULL)
			return -1;
		cfg->nb_files = base + (unsigned)i + 1;
	}
	for (unsigned i = 0; i < cfg->nb_rules; i++)
		cfg->rules[i].file += base;
	return 0;
}

int
cfg_rules_load(const struct sph_cfg *base, const char *path, struct sph_cfg **out, char *err,
               size_t errlen)
{
	struct cfg_ctx x = {.path = path, .dir = ".", .err = err, .errlen = err ? errlen : 0};
	const config_setting_t *root;
	char *p, *dir;
	config_t c;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (x.errlen > 0)
		err[0] = '\0';
	if (base == NULL || path == NULL || out == NULL) {
		x.path = "(null)";
		return fail_at(&x, "cfg_rules_load", 0, "no configuration, path or result pointer");
	}
	x.cfg = cfg_dup(base);
	p = strdup(path);
	dir = p != NULL ? strdup(dirname(p)) : NULL;
	free(p);
	if (x.cfg == NULL || dir == NULL) {
		cfg_free(x.cfg);
		free(dir);
		return fail_nomem(&x);
	}
	free(x.cfg->rules);
	free(x.cfg->rule_text);
	x.cfg->rules = NULL;
	x.cfg->rule_text = NULL;
	x.cfg->nb_rules = 0;
	x.cfg->rule_text_len = 0;
	x.dir = dir;
	config_init(&c);
	config_set_include_dir(&c, "/dev/null"); /* as load(): cfg_src did the @include */
	if (cfg_src_read(&x.src, path, dir, x.err, x.errlen) < 0) {
		rc = -1;
	} else if (!config_read_string(&c, x.src.text)) {
		const char *file;
		unsigned line;

		cfg_src_where(&x.src, (unsigned)config_error_line(&c), &file, &line);
		rc = fail_at(&x, file != NULL ? file : path, line, "%s",
		             config_error_text(&c) ? config_error_text(&c) : "syntax error");
	} else {
		root = config_root_setting(&c);
		rc = walk(&x, root, rules_file_keys, SPH_ARRAY_SIZE(rules_file_keys), x.cfg);
		if (rc == 0 && x.s_rules == NULL)
			rc = fail(&x, NULL, "rules is required: rules = ( { name = ...; ... } );");
		if (rc == 0)
			rc = read_rules(&x);
		if (rc == 0 && rules_files_take(x.cfg, &x.src) != 0)
			rc = fail_nomem(&x);
	}
	config_destroy(&c);
	cfg_src_free(&x.src);
	free(dir);
	if (rc == 0)
		rc = cfg_validate(x.cfg, x.err, x.errlen);
	if (rc == 0)
		rc = cfg_rules_check(x.cfg, x.err, x.errlen);
	if (rc < 0) {
		cfg_free(x.cfg);
		return -1;
	}
	*out = x.cfg;
	return 0;
}

/* ---- cfg_write ---- */

/* The integer rows of a table, in table order, as "key = value;" lines. */
static void
keys_write(FILE *f, const char *indent, const struct cfg_key *keys, size_t n, const void *obj)
{
	for (size_t i = 0; i < n; i++)
		if (key_is_u32(&keys[i]))
			fprintf(f, "%s%s = %u;\n", indent, keys[i].name,
			        *(const uint32_t *)((const char *)obj + keys[i].off));
}

/* Whether every row's check holds on obj's stored fields (cfg_write() needs no message). */
static int
keys_ok(const struct cfg_key *keys, size_t n, const void *obj)
{
	char msg[256];

	for (size_t i = 0; i < n; i++)
		if (keys[i].check != NULL &&
		    keys[i].check((const char *)obj + keys[i].off, &keys[i], msg, sizeof(msg)) < 0)
			return 0;
	return 1;
}

static int rules_valid(const struct sph_cfg *cfg);

/* What cfg_load() would refuse before even comparing values: checked up front so a
 * failed write leaves nothing behind. */
static int
writable(const struct sph_cfg *cfg)
{
	if (cfg->hash_key == NULL || cfg->hash_key_len < CFG_KEY_MIN ||
	    cfg->hash_key_len > CFG_KEY_MAX || cfg->nb_groups == 0 || cfg->groups == NULL)
		return 0;
	if (cfg->ctl_socket[0] != '\0' &&
	    (!keys_ok(control_keys, SPH_ARRAY_SIZE(control_keys), cfg) || cfg->ctl_mode > 0777))
		return 0;
	if (cfg->ann_file[0] != '\0' && !keys_ok(announce_keys, SPH_ARRAY_SIZE(announce_keys), cfg))
		return 0;
	if (cfg->mirror.port != 0 && cfg->mirror.addr.family != 4 && cfg->mirror.addr.family != 6)
		return 0;
	if (cfg->metrics_port != 0 && cfg->metrics_addr.family != 4 &&
	    cfg->metrics_addr.family != 6)
		return 0;
	for (unsigned i = 0; i < cfg->nb_ports; i++) {
		const struct cfg_port *p = &cfg->ports[i];

		if (!keys_ok(port_keys, SPH_ARRAY_SIZE(port_keys), p) || p->nb_addrs == 0 ||
		    p->nb_addrs > CFG_PORT_ADDRS_MAX ||
		    (p->gw4.family != 0 && p->gw4.family != 4) ||
		    (p->gw6.family != 0 && p->gw6.family != 6))
			return 0;
		for (unsigned j = 0; j < p->nb_addrs; j++)
			if (p->addrs[j].addr.family != 4 && p->addrs[j].addr.family != 6)
				return 0;
	}
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		if (!keys_ok(group_keys, SPH_ARRAY_SIZE(group_keys), g) || g->nb_backends == 0 ||
		    g->backends == NULL)
			return 0;
		for (unsigned j = 0; j < g->nb_backends; j++) {
			const struct cfg_backend *b = &g->backends[j];

			if (!keys_ok(backend_keys, SPH_ARRAY_SIZE(backend_keys), b) ||
			    (b->addr.family != 4 && b->addr.family != 6) || b->port == 0)
				return 0;
		}
	}
	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];

		char msg[256];

		if (!keys_ok(vip_keys, SPH_ARRAY_SIZE(vip_keys), v) ||
		    (v->addr.family != 4 && v->addr.family != 6) || v->nb_ports == 0 ||
		    v->ports == NULL || v->group >= cfg->nb_groups ||
		    acl_check(v, msg, sizeof(msg)) != 0)
			return 0;
	}
	return rules_valid(cfg);
}

/* s as a libconfig string: quote and backslash escaped, anything unprintable as \xNN. */
static void
write_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
write_rules(const struct sph_cfg *cfg, FILE *f)
{
	char a[CFG_PREFIX_STRLEN];

	if (cfg->nb_rules == 0)
		return;
	fprintf(f, "\nrules = (\n");
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		fprintf(f, "\t{ name = \"%s\";\n\t  match = {", r->name);
		for (unsigned k = 0; k < CFG_RULE_FIELDS; k++) {
			const char *re = cfg_rule_regex(cfg, r, k);

			if (re == NULL)
				continue;
			fprintf(f, " %s = ", match_keys[k].name);
			write_quoted(f, re);
			fputc(';', f);
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			if (r->hname[k] == 0)
				continue;
			fprintf(f, "%s{ name = \"%s\"; value = ", k ? ", " : " headers = ( ",
			        cfg_rule_text(cfg, r->hname[k]));
			write_quoted(f, cfg_rule_text(cfg, r->hre[k]));
			fprintf(f, "; }%s",
			        k + 1 < CFG_RULE_HEADERS && r->hname[k + 1] ? "" : " );");
		}
		fprintf(f, " caseless = %s; };\n\t  action = \"%s\";",
		        r->caseless ? "true" : "false", cfg_rule_action_name(r->action));
		if (r->action == CFG_RULE_ROUTE)
			fprintf(f, " group = \"%s\";", cfg->groups[r->group].name);
		if (r->action == CFG_RULE_LIMIT)
			fprintf(f, " class = \"%s\";", cfg_limit_class_name(r->limit_class));
		if (r->has_vip)
			fprintf(f, " vip = \"%s\";", cfg_addr_format(&r->vip, 0, a, sizeof(a)));
		for (unsigned j = 0; j < r->nb_sources; j++)
			fprintf(f, "%s\"%s\"", j ? ", " : " source = [ ",
			        cfg_prefix_format(&r->sources[j], a, sizeof(a)));
		fprintf(f, "%s }%s\n", r->nb_sources ? " ];" : "",
		        i + 1 < cfg->nb_rules ? "," : "");
	}
	fprintf(f, ");\n");
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
	fprintf(f, "\";\n");
	keys_write(f, "", top_keys, SPH_ARRAY_SIZE(top_keys), cfg);
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

		fprintf(f, "\nhealth = {\n\tenabled = %s;\n", h->enabled ? "true" : "false");
		keys_write(f, "\t", health_keys, SPH_ARRAY_SIZE(health_keys), cfg);
		fprintf(f, "\taccept = [");
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

	if (cfg->ann_file[0] != '\0')
		fprintf(f,
		        "\nannounce = {\n\tfile = \"%s\";\n\tbird_socket = \"%s\";\n%s%s%s"
		        "\tshutdown_drain_ms = %u;\n};\n",
		        cfg->ann_file, cfg->ann_bird_socket,
		        cfg->ann_interface[0] != '\0' ? "\tinterface = \"" : "", cfg->ann_interface,
		        cfg->ann_interface[0] != '\0' ? "\";\n" : "", (unsigned)cfg->ann_drain_ms);

	if (cfg->mirror.port != 0) {
		char a[CFG_ADDR_STRLEN];

		fprintf(f, "\nmirror = {\n\tcollector = \"%s\";\n",
		        cfg_addr_format(&cfg->mirror.addr, cfg->mirror.port, a, sizeof(a)));
		keys_write(f, "\t", mirror_keys, SPH_ARRAY_SIZE(mirror_keys), cfg);
		fprintf(f, "};\n");
	}

	if (cfg->edge.nb_tls + cfg->edge.nb_mtls + cfg->edge.nb_tcp > 0) {
		const struct cfg_edge *e = &cfg->edge;
		const struct {
			const char *name;
			const struct cfg_edge_listen *l;
			unsigned n;
		} ls[] = {{"tls", e->tls, e->nb_tls},
		          {"mtls", e->mtls, e->nb_mtls},
		          {"tcp", e->tcp, e->nb_tcp}};

		fprintf(f, "\nedge = {\n");
		for (size_t i = 0; i < SPH_ARRAY_SIZE(ls); i++) {
			fprintf(f, "\t%s = [", ls[i].name);
			for (unsigned j = 0; j < ls[i].n; j++)
				fprintf(f, "%s\"%s\"", j ? ", " : " ",
				        cfg_addr_format(&ls[i].l[j].addr, ls[i].l[j].port, m,
				                        sizeof(m)));
			fprintf(f, " ];\n");
		}
		fprintf(f, "\taddress = \"%s\";\n\tgroup = \"%s\";\n\tflow_key = \"%s\";\n",
		        cfg_addr_format(&e->address.addr, e->address.port, m, sizeof(m)), e->group,
		        e->flow_key);
		if (e->nb_certs > 0) {
			fprintf(f, "\tcerts = [");
			for (unsigned j = 0; j < e->nb_certs; j++)
				fprintf(f, "%s\"%s\"", j ? ", " : " ", e->certs[j]);
			fprintf(f, " ];\n\tkeys = [");
			for (unsigned j = 0; j < e->nb_certs; j++)
				fprintf(f, "%s\"%s\"", j ? ", " : " ", e->keys[j]);
			fprintf(f, " ];\n");
		}
		if (e->client_ca[0] != '\0')
			fprintf(f, "\tclient_ca = \"%s\";\n", e->client_ca);
		if (e->ticket_keys[0] != '\0')
			fprintf(f, "\tticket_keys = \"%s\";\n", e->ticket_keys);
		fprintf(f,
		        "\tclient_verify = \"%s\";\n\tciphers = \"%s\";\n\tciphersuites = "
		        "\"%s\";\n",
		        e->client_verify == CFG_EDGE_VERIFY_OPTIONAL ? "optional" : "required",
		        e->ciphers, e->ciphersuites);
		keys_write(f, "\t", edge_keys, SPH_ARRAY_SIZE(edge_keys), cfg);
		fprintf(f, "};\n");
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
			fprintf(f, "\t\tudp_checksum = \"%s\";\n", csum_name(p->udp_csum));
			keys_write(f, "\t\t", port_keys, SPH_ARRAY_SIZE(port_keys), p);
			fprintf(f, "\t}%s\n", i + 1 < cfg->nb_ports ? "," : "");
		}
		fprintf(f, ");\n");
	}

	fprintf(f, "\ngroups = (\n");
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		fprintf(f, "\t{\n\t\tname = \"%s\";\n", g->name);
		keys_write(f, "\t\t", group_keys, SPH_ARRAY_SIZE(group_keys), g);
		fprintf(f, "\t\tbackends = (\n");
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
			fprintf(f, " ]; group = \"%s\"; mode = \"%s\";", cfg->groups[v->group].name,
			        cfg_mode_name(v->mode));
			for (uint8_t t = CFG_TIER_TRUSTED; t <= CFG_TIER_BLOCKED; t++) {
				unsigned k = 0;

				for (unsigned j = 0; j < v->nb_acl; j++)
					if (v->acl[j].tier == t)
						fprintf(f, "%s\"%s\"",
						        k++ ? ", "
						        : t == CFG_TIER_TRUSTED
						                ? "\n\t  trusted = [ "
						                : "\n\t  blocked = [ ",
						        cfg_prefix_format(&v->acl[j].prefix, a,
						                          sizeof(a)));
				if (k > 0)
					fprintf(f, " ];");
			}
			for (unsigned c = 0; c < CFG_LIMIT_CLASSES; c++)
				if (v->limit_rate[c] != 0 || v->limit_burst[c] != 0)
					fprintf(f, "\n\t  rate_%s = %u; burst_%s = %u;",
					        cfg_limit_class_name((uint8_t)c), v->limit_rate[c],
					        cfg_limit_class_name((uint8_t)c),
					        v->limit_burst[c]);
			fprintf(f, " }%s\n", i + 1 < cfg->nb_vips ? "," : "");
		}
		fprintf(f, ");\n");
	}
	write_rules(cfg, f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* ---- cfg_validate ---- */

struct val_ctx {
	const struct sph_cfg *cfg;
	unsigned file; /* of the object being checked (cfg_where()) */
	char *err;
	size_t errlen;
};

/* One line: "file:line: item: problem" when the object has a line in the file, else
 * "item: problem"; a top-level value (item NULL) is "file: problem". */
static SPH_COLD __attribute__((format(printf, 4, 5))) int
vfail(struct val_ctx *v, const char *item, unsigned line, const char *fmt, ...)
{
	const char *path = line != 0              ? cfg_where(v->cfg, v->file)
	                   : v->cfg->path != NULL ? v->cfg->path
	                                          : "configuration";
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

/* The file reader's rules, applied to the fields of an edited object with the reader's
 * message: each row's check, and the bounds of its integer fields. maglev_size has its
 * own check (it must be prime as well). */
static int
keys_check(struct val_ctx *v, const struct cfg_key *keys, size_t n, const void *obj,
           const char *item, unsigned line)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_key *k = &keys[i];
		char msg[256];
		uint32_t val;

		if (k->check != NULL &&
		    k->check((const char *)obj + k->off, k, msg, sizeof(msg)) < 0)
			return vfail(v, item, line, "%s", msg);
		if (k->parse != p_u32)
			continue;
		val = *(const uint32_t *)((const char *)obj + k->off);
		if (val < k->min || val > k->max)
			return vfail(v, item, line, "%s must be %lld..%lld, got %u", k->name,
			             k->min, k->max, val);
	}
	return 0;
}

/* cfg_validate()'s side of a rule_ctx: only each object's line is known. */
static void
val_where(const struct rule_ctx *r, enum rule_obj kind, unsigned i, unsigned j, const char *key,
          const char **file, unsigned *line)
{
	const struct sph_cfg *cfg = r->cfg;

	(void)key;
	*file = cfg_where(cfg, kind == RULE_PORT      ? cfg->ports[i].file
	                       : kind == RULE_GROUP   ? cfg->groups[i].file
	                       : kind == RULE_BACKEND ? cfg->groups[i].backends[j].file
	                       : kind == RULE_VIP     ? cfg->vips[i].file
	                                              : 0);
	*line = kind == RULE_PORT      ? cfg->ports[i].line
	        : kind == RULE_GROUP   ? cfg->groups[i].line
	        : kind == RULE_BACKEND ? cfg->groups[i].backends[j].line
	        : kind == RULE_VIP     ? cfg->vips[i].line
	                               : 0;
}

static int
val_report(const struct rule_ctx *r, const char *item, const char *file, unsigned line,
           const char *problem)
{
	(void)file;
	return vfail(r->arg, item, line, "%s", problem);
}

static void
val_rules(struct val_ctx *v, struct rule_ctx *r)
{
	*r = (struct rule_ctx){.cfg = v->cfg, .arg = v, .where = val_where, .report = val_report};
}

static int
validate_ports(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_NAME_MAX + 16], a[CFG_PREFIX_STRLEN];
	struct rule_ctx r;

	val_rules(v, &r);

	for (unsigned i = 0; i < cfg->nb_ports; i++) {
		const struct cfg_port *p = &cfg->ports[i];

		snprintf(item, sizeof(item), "port \"%.63s\"", p->name);
		v->file = p->file;
		if (keys_check(v, port_keys, SPH_ARRAY_SIZE(port_keys), p, item, p->line) < 0)
			return -1;
		if (p->nb_addrs == 0 || p->nb_addrs > CFG_PORT_ADDRS_MAX)
			return vfail(v, item, p->line, "addresses must hold 1..%u addresses",
			             CFG_PORT_ADDRS_MAX);
		for (unsigned j = 0; j < p->nb_addrs; j++) {
			const struct cfg_prefix *px = &p->addrs[j];

			if ((px->addr.family != 4 && px->addr.family != 6) ||
			    px->len > (px->addr.family == 4 ? 32 : 128))
				return vfail(v, item, p->line, "address %u is no valid prefix",
				             j + 1);
			if (!cfg_addr_unicast(&px->addr))
				return vfail(v, item, p->line,
				             "address must be a unicast address, got %s",
				             cfg_prefix_format(px, a, sizeof(a)));
		}
		for (unsigned g = 0; g < 2; g++) {
			const struct cfg_addr *gw = g == 0 ? &p->gw4 : &p->gw6;

			if (gw->family != 0 &&
			    (gw->family != (g == 0 ? 4 : 6) || !cfg_addr_unicast(gw)))
				return vfail(v, item, p->line, "%s must be a unicast IPv%u address",
				             g == 0 ? "gateway4" : "gateway6", g == 0 ? 4u : 6u);
		}
		if (rule_port_gateways(&r, i) < 0)
			return -1;
	}
	return rule_ports(&r);
}

static int
validate_backend(struct val_ctx *v, const struct cfg_backend *b)
{
	char item[CFG_NAME_MAX + 16], a[CFG_ADDR_STRLEN];

	snprintf(item, sizeof(item), "backend \"%.63s\"", b->name);
	v->file = b->file;
	if (keys_check(v, backend_keys, SPH_ARRAY_SIZE(backend_keys), b, item, b->line) < 0)
		return -1;
	if (b->addr.family != 4 && b->addr.family != 6)
		return vfail(v, item, b->line, "address must be an IPv4 or IPv6 address");
	if (!cfg_addr_unicast(&b->addr))
		return vfail(v, item, b->line, "address must be a unicast address, got %s",
		             cfg_addr_format(&b->addr, 0, a, sizeof(a)));
	if (b->port == 0)
		return vfail(v, item, b->line, "port must be 1..65535, got 0");
	return 0;
}

static int
validate_groups(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_NAME_MAX + 16];
	struct rule_ctx r;

	if (cfg->nb_groups == 0 || cfg->groups == NULL)
		return vfail(v, NULL, 0, "groups is required: at least one group of backends");
	for (unsigned i = 0; i < cfg->nb_groups; i++) {
		const struct cfg_group *g = &cfg->groups[i];

		snprintf(item, sizeof(item), "group \"%.63s\"", g->name);
		v->file = g->file;
		if (keys_check(v, group_keys, SPH_ARRAY_SIZE(group_keys), g, item, g->line) < 0)
			return -1;
		if (g->nb_backends == 0 || g->backends == NULL)
			return vfail(v, item, g->line, "backends must hold at least one backend");
		if (g->nb_backends > MAGLEV_MAX_BACKENDS)
			return vfail(v, item, g->line, "too many backends: %u, at most %u",
			             g->nb_backends, MAGLEV_MAX_BACKENDS);
		for (unsigned j = 0; j < g->nb_backends; j++)
			if (validate_backend(v, &g->backends[j]) < 0)
				return -1;
	}
	val_rules(v, &r);
	return rule_groups(&r);
}

static int
validate_vips(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_ADDR_STRLEN + 8], a[CFG_ADDR_STRLEN], msg[256];
	struct rule_ctx r;

	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *vp = &cfg->vips[i];

		snprintf(item, sizeof(item), "vip %s", cfg_addr_format(&vp->addr, 0, a, sizeof(a)));
		v->file = vp->file;
		if ((vp->addr.family != 4 && vp->addr.family != 6) || !cfg_addr_unicast(&vp->addr))
			return vfail(v, item, vp->line, "address must be a unicast address");
		if (vp->nb_ports == 0 || vp->ports == NULL)
			return vfail(v, item, vp->line, "ports must hold at least one port");
		for (unsigned j = 0; j < vp->nb_ports; j++)
			if (vp->ports[j] == 0)
				return vfail(v, item, vp->line, "ports must be 1..65535, got 0");
		if (vp->group >= cfg->nb_groups)
			return vfail(v, item, vp->line, "group %u is not defined", vp->group + 1);
		if (keys_check(v, vip_keys, SPH_ARRAY_SIZE(vip_keys), vp, item, vp->line) < 0)
			return -1;
		if (acl_check(vp, msg, sizeof(msg)) < 0)
			return vfail(v, item, vp->line, "%s", msg);
	}
	val_rules(v, &r);
	return rule_vips(&r);
}

/* mirror = { ... }: its keys' rules, and a route to the collector when the configuration
 * has ports (a tool's configuration has none, and sends nothing). */
static int
validate_mirror(struct val_ctx *v)
{
	const struct cfg_mirror *m = &v->cfg->mirror;
	const struct cfg_addr *hop, *src;
	unsigned port;
	char why[256];

	if (m->port == 0)
		return 0;
	v->file = 0;
	if (m->addr.family != 4 && m->addr.family != 6)
		return vfail(v, "mirror", m->line, "collector must be an IPv4 or IPv6 address");
	if (keys_check(v, mirror_keys, SPH_ARRAY_SIZE(mirror_keys), v->cfg, "mirror", m->line) < 0)
		return -1;
	if (v->cfg->nb_ports > 0 && hep_route(v->cfg, &port, &hop, &src, why, sizeof(why)) != 0)
		return vfail(v, "mirror", m->line, "%s", why);
	return 0;
}

/* rules = ( ... ): what the reader checks, on any configuration; the expressions' syntax
 * is Hyperscan's to judge (cfg_rules_check()). A limit rule's class must have a rate at
 * every VIP it applies to, or it would limit nothing. */
static int
validate_rules(struct val_ctx *v)
{
	const struct sph_cfg *cfg = v->cfg;
	char item[CFG_NAME_MAX + 8], a[CFG_PREFIX_STRLEN];

	if (cfg->nb_rules == 0)
		return 0;
	if (cfg->rules == NULL || cfg->nb_rules > CFG_RULES_MAX)
		return vfail(v, NULL, 0, "rules: at most %u", CFG_RULES_MAX);
	if (cfg->rule_text_len > 0 &&
	    (cfg->rule_text == NULL || cfg->rule_text[cfg->rule_text_len - 1] != '\0'))
		return vfail(v, NULL, 0, "rules: expression text not terminated (a bug)");
	{
		const char *names[RULES_HEADERS];
		unsigned nh = cfg_rule_header_names(cfg, names, RULES_HEADERS);

		if (nh > RULES_HEADERS)
			return vfail(v, NULL, 0,
			             "rules: %u different header names in match.headers: "
			             "at most %u",
			             nh, RULES_HEADERS);
	}
	for (unsigned i = 0; i < cfg->nb_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];
		unsigned n = 0;

		snprintf(item, sizeof(item), "rule \"%.*s\"", (int)CFG_NAME_MAX - 1, r->name);
		v->file = r->file;
		if (memchr(r->name, '\0', sizeof(r->name)) == NULL || !cfg_name_valid(r->name))
			return vfail(v, item, r->line,
			             "name must be 1..63 characters of A-Z a-z 0-9 . _ -");
		for (unsigned j = 0; j < i; j++)
			if (strcmp(cfg->rules[j].name, r->name) == 0)
				return vfail(v, item, r->line, "defined twice (first at rule %u)",
				             j + 1);
		for (unsigned f = 0; f < CFG_RULE_FIELDS; f++) {
			const char *re;

			if (r->re[f] == 0)
				continue;
			re = cfg_rule_regex(cfg, r, f);
			if (re == NULL || (r->re[f] > 1 && cfg->rule_text[r->re[f] - 2] != '\0') ||
			    re[0] == '\0' || strlen(re) > CFG_RULE_REGEX_MAX)
				return vfail(v, item, r->line,
				             "match.%s must be 1..%u bytes of a regular expression",
				             match_keys[f].name, CFG_RULE_REGEX_MAX);
			n++;
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *h = cfg_rule_text(cfg, r->hname[k]);
			const char *re = cfg_rule_text(cfg, r->hre[k]);

			if (r->hname[k] == 0 && r->hre[k] == 0)
				continue;
			if (h == NULL || re == NULL || !header_name_valid(h) || re[0] == '\0' ||
			    strlen(re) > CFG_RULE_REGEX_MAX ||
			    (r->hname[k] > 1 && cfg->rule_text[r->hname[k] - 2] != '\0') ||
			    (r->hre[k] > 1 && cfg->rule_text[r->hre[k] - 2] != '\0'))
				return vfail(
				        v, item, r->line,
				        "match.headers %u must be a header name and 1..%u bytes "
				        "of a regular expression",
				        k + 1, CFG_RULE_REGEX_MAX);
			for (unsigned j = 0; j < k; j++)
				if (r->hname[j] != 0 &&
				    strcasecmp(cfg_rule_text(cfg, r->hname[j]), h) == 0)
					return vfail(v, item, r->line,
					             "header \"%s\" is named twice", h);
			n++;
		}
		if (n == 0)
			return vfail(v, item, r->line, "match names no field");
		if (r->caseless > 1 || r->action >= CFG_RULE_ACTIONS || r->has_vip > 1)
			return vfail(v, item, r->line, "caseless, action or vip out of range");
		if (r->action == CFG_RULE_ROUTE && r->group >= cfg->nb_groups)
			return vfail(v, item, r->line, "group %u is not defined", r->group + 1);
		if (r->action == CFG_RULE_LIMIT && r->limit_class >= CFG_LIMIT_CLASSES)
			return vfail(v, item, r->line, "class out of range");
		if (r->action == CFG_RULE_MIRROR && cfg->mirror.port == 0)
			return vfail(
			        v, item, r->line,
			        "action \"mirror\" needs a mirror = { collector = ...; } block");
		if (r->nb_sources > CFG_RULE_SOURCES_MAX)
			return vfail(v, item, r->line, "source has %u prefixes: at most %u",
			             r->nb_sources, CFG_RULE_SOURCES_MAX);
		for (unsigned j = 0; j < r->nb_sources; j++) {
			struct cfg_prefix m = r->sources[j];

			if ((m.addr.family != 4 && m.addr.family != 6) ||
			    m.len > (m.addr.family == 4 ? 32 : 128))
				return vfail(v, item, r->line, "source %u is no prefix", j + 1);
			acl_mask(&m);
			if (memcmp(m.addr.a, r->sources[j].addr.a, 16) != 0)
				return vfail(v, item, r->line, "source %s has host bits set",
				             cfg_prefix_format(&r->sources[j], a, sizeof(a)));
		}
		if (r->has_vip) {
			bool found = false;

			for (unsigned k = 0; k < cfg->nb_vips && !found; k++)
				found = cfg_addr_equal(&cfg->vips[k].addr, &r->vip);
			if (!found)
				return vfail(v, item, r->line, "vip %s is no VIP's address",
				             cfg_addr_format(&r->vip, 0, a, sizeof(a)));
		}
		for (unsigned k = 0; r->action == CFG_RULE_LIMIT && k < cfg->nb_vips; k++)
			if ((!r->has_vip || cfg_addr_equal(&cfg->vips[k].addr, &r->vip)) &&
			    cfg->vips[k].limit_rate[r->limit_class] == 0)
				return vfail(v, item, r->line,
				             "action \"limit\" class \"%s\": vip %s has no rate_%s",
				             cfg_limit_class_name(r->limit_class),
				             cfg_addr_format(&cfg->vips[k].addr, 0, a, sizeof(a)),
				             cfg_limit_class_name(r->limit_class));
	}
	return 0;
}

static int
rules_valid(const struct sph_cfg *cfg)
{
	struct val_ctx v = {.cfg = cfg}; /* errlen 0: no message */

	return validate_rules(&v) == 0;
}

/* edge = { ... }: what p_edge() checks of a file, on any configuration. */
static int
validate_edge(struct val_ctx *v)
{
	const struct cfg_edge *e = &v->cfg->edge;
	const struct cfg_edge_listen *ls[] = {e->tls, e->mtls, e->tcp};
	const unsigned nb[] = {e->nb_tls, e->nb_mtls, e->nb_tcp};

	if (nb[0] + nb[1] + nb[2] == 0)
		return 0; /* no edge */
	v->file = 0;
	for (size_t i = 0; i < SPH_ARRAY_SIZE(edge_keys); i++) {
		const struct cfg_key *k = &edge_keys[i];
		char msg[256];

		if ((k->off == EDGE_OFF(client_ca) && e->client_ca[0] == '\0') ||
		    (k->off == EDGE_OFF(ticket_keys) && e->ticket_keys[0] == '\0'))
			continue;
		if (k->check != NULL &&
		    k->check((const char *)v->cfg + k->off, k, msg, sizeof(msg)) < 0)
			return vfail(v, "edge", 0, "%s", msg);
		if (k->parse == p_u32) {
			uint32_t val = *(const uint32_t *)((const char *)v->cfg + k->off);
			if (val < k->min || val > k->max)
				return vfail(v, "edge", 0, "%s must be %lld..%lld, got %u", k->name,
				             k->min, k->max, val);
		}
	}
	for (size_t i = 0; i < 3; i++) {
		if (nb[i] > CFG_EDGE_LISTEN_MAX)
			return vfail(v, "edge", 0, "at most %u addresses per listener kind",
			             CFG_EDGE_LISTEN_MAX);
		for (unsigned j = 0; j < nb[i]; j++)
			if ((ls[i][j].addr.family != 4 && ls[i][j].addr.family != 6) ||
			    ls[i][j].port == 0)
				return vfail(v, "edge", 0, "listeners need an address and a port");
	}
	if ((e->address.addr.family != 4 && e->address.addr.family != 6) || e->address.port == 0)
		return vfail(v, "edge", 0, "address needs an address and a port");
	/* Backends own every VIP (on lo, in both modes): what they send to one never leaves
	 * them, so the edge would never hear its registrars. */
	for (unsigned i = 0; i < v->cfg->nb_vips; i++)
		if (v->cfg->vips[i].addr.family == e->address.addr.family &&
		    memcmp(v->cfg->vips[i].addr.a, e->address.addr.a, 16) == 0)
			return vfail(v, "edge", 0,
			             "address must not be a VIP's: the backends own the VIPs, so "
			             "they would answer themselves; use a port's address");
	if (cfg_group_find(v->cfg, e->group) == NULL)
		return vfail(v, "edge", 0, "group \"%.63s\" is not defined", e->group);
	if (nb[0] + nb[1] > 0 && (e->nb_certs == 0 || e->nb_certs > CFG_EDGE_CERTS_MAX))
		return vfail(v, "edge", 0, "tls and mtls need 1..%u certs and keys",
		             CFG_EDGE_CERTS_MAX);
	if (nb[1] > 0 && e->client_ca[0] == '\0')
		return vfail(v, "edge", 0, "mtls needs client_ca");
	if (e->client_verify > CFG_EDGE_VERIFY_OPTIONAL)
		return vfail(v, "edge", 0, "client_verify must be \"required\" or \"optional\"");
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
	if (keys_check(&v, top_keys, SPH_ARRAY_SIZE(top_keys), cfg, NULL, 0) < 0)
		return -1;
	if (cfg->ctl_socket[0] != '\0') {
		if (keys_check(&v, control_keys, SPH_ARRAY_SIZE(control_keys), cfg, "control", 0) <
		    0)
			return -1;
		if (cfg->ctl_mode > 0777)
			return vfail(&v, "control", 0, "mode must be at most 0777, got %04o",
			             (unsigned)cfg->ctl_mode);
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
	if (cfg->ann_file[0] != '\0' &&
	    keys_check(&v, announce_keys, SPH_ARRAY_SIZE(announce_keys), cfg, "announce", 0) < 0)
		return -1;
	if (validate_edge(&v) < 0 || validate_mirror(&v) < 0)
		return -1;
	if (validate_ports(&v) < 0 || validate_groups(&v) < 0 || validate_vips(&v) < 0 ||
	    validate_rules(&v) < 0)
		return -1;
	return 0;
}

/* ---- the key reference of docs/config.md ---- */

static const struct {
	const char *name;
	const struct cfg_key *keys;
	size_t n;
} doc_sections[] = {
        {"top", top_keys, SPH_ARRAY_SIZE(top_keys)},
        {"control", control_keys, SPH_ARRAY_SIZE(control_keys)},
        {"metrics", metrics_keys, SPH_ARRAY_SIZE(metrics_keys)},
        {"health", health_keys, SPH_ARRAY_SIZE(health_keys)},
        {"announce", announce_keys, SPH_ARRAY_SIZE(announce_keys)},
        {"edge", edge_keys, SPH_ARRAY_SIZE(edge_keys)},
        {"mirror", mirror_keys, SPH_ARRAY_SIZE(mirror_keys)},
        {"ports", port_keys, SPH_ARRAY_SIZE(port_keys)},
        {"groups", group_keys, SPH_ARRAY_SIZE(group_keys)},
        {"backends", backend_keys, SPH_ARRAY_SIZE(backend_keys)},
        {"vips", vip_keys, SPH_ARRAY_SIZE(vip_keys)},
        {"rules", rule_keys, SPH_ARRAY_SIZE(rule_keys)},
        {"match", match_keys, SPH_ARRAY_SIZE(match_keys)},
};

/* One cell of a Markdown table row; an empty cell stays "| |". */
static void
doc_cell(FILE *f, const char *text)
{
	fprintf(f, text[0] != '\0' ? " %s |" : " |", text);
}

int
cfg_doc_write(FILE *f, const char *section)
{
	for (size_t i = 0; section != NULL && i < SPH_ARRAY_SIZE(doc_sections); i++) {
		if (strcmp(doc_sections[i].name, section) != 0)
			continue;
		fprintf(f, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
		for (size_t j = 0; j < doc_sections[i].n; j++) {
			const struct cfg_key *k = &doc_sections[i].keys[j];

			char num[48];

			fprintf(f, "| `%s` |", k->name);
			doc_cell(f, k->type);
			snprintf(num, sizeof(num), "%lld", k->dflt);
			doc_cell(f, k->required ? "required" : k->def != NULL ? k->def : num);
			snprintf(num, sizeof(num), "%lld..%lld", k->min, k->max);
			doc_cell(f, k->range != NULL ? k->range : num);
			doc_cell(f, k->doc);
			fputc('\n', f);
		}
		return ferror(f) ? -1 : 0;
	}
	return -1;
}
