/*
 * cmd.c - the control socket's commands (cmd.h): show, backend add/remove/weight/state,
 * acl add/remove, reload, tls-reload, log-level, dispatch, shutdown. Each request is one line of
 * JSON and gets one line back. A command reads the running generation and, to change anything,
 * builds the next configuration and hands it to gen_apply(), which owns every rule of a change.
 * Main lcore; docs/control.md documents every command.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_log.h>

#include "siphon/log.h"
#include "siphon/dp.h"
#include "siphon/keyhash.h"
#include "siphon/limit.h"
#include "siphon/maglev.h"
#include "siphon/neigh.h"
#include "siphon/snap.h"
#include "siphon/stats.h"
#include "announce.h"
#include "cmd.h"
#include "edge.h"
#include "gen.h"
#include "health.h"

#define CMD_ERR_MAX 512

/* ---- request arguments ---- */

struct cmd_req {
	struct gen *gen;
	json_t *req;
	json_t *reply; /* {"ok":true, ...} under construction */
	char err[CMD_ERR_MAX];
};

static int __attribute__((format(printf, 2, 3))) req_fail(struct cmd_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Every key of the request is "cmd" or one of keys (NULL-terminated). */
static int
req_keys(struct cmd_req *r, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(r->req, k, v)
	{
		bool known = strcmp(k, "cmd") == 0;

		for (size_t i = 0; keys != NULL && keys[i] != NULL && !known; i++)
			known = strcmp(k, keys[i]) == 0;
		if (!known) {
			char list[256] = "";
			size_t o = 0;

			for (size_t i = 0; keys != NULL && keys[i] != NULL && o < sizeof(list); i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				                      i ? ", " : "", keys[i]);
			return req_fail(r, "unknown argument \"%.64s\" (%s%s)", k,
			                o ? "known: " : "this command takes none", list);
		}
	}
	return 0;
}

/* A string argument: *out NULL when absent and optional. */
static int
req_str(struct cmd_req *r, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(r->req, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return req_fail(r, "argument \"%s\" is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return req_fail(r, "argument \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return req_fail(r, "argument \"%s\" must not hold NUL characters", key);
	*out = json_string_value(v);
	return 0;
}

/* An integer argument in min..max; *present says whether it was given. */
static int
req_int(struct cmd_req *r, const char *key, bool required, long long min, long long max,
        long long *out, bool *present)
{
	json_t *v = json_object_get(r->req, key);

	*present = v != NULL;
	if (v == NULL)
		return required ? req_fail(r, "argument \"%s\" is required", key) : 0;
	if (!json_is_integer(v))
		return req_fail(r, "argument \"%s\" must be an integer", key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return req_fail(r, "%s must be %lld..%lld, got %lld", key, min, max, *out);
	return 0;
}

/* ---- lookups on the running configuration ---- */

/* The backend called name: group index and backend index, or -1. */
static int
cmd_backend_find(const struct sph_cfg *cfg, const char *name, unsigned *g, unsigned *i)
{
	for (unsigned a = 0; a < cfg->nb_groups; a++)
		for (unsigned b = 0; b < cfg->groups[a].nb_backends; b++)
			if (strcmp(cfg->groups[a].backends[b].name, name) == 0) {
				*g = a;
				*i = b;
				return 0;
			}
	return -1;
}

/* ---- show ---- */

static json_t *
cmd_addr_json(const struct cfg_addr *a, uint16_t port)
{
	char buf[CFG_ADDR_STRLEN];

	return json_string(cfg_addr_format(a, port, buf, sizeof(buf)));
}

static int
cmd_show_vips(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	json_t *a;

	if (req_keys(r, keys) != 0)
		return -1;
	a = json_array();
	for (unsigned v = 0; v < cfg->nb_vips; v++) {
		const struct cfg_vip *vp = &cfg->vips[v];
		json_t *ports = json_array();

		for (unsigned p = 0; p < vp->nb_ports; p++)
			json_array_append_new(ports, json_integer(vp->ports[p]));
		json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:s}", "address",
		                                   cmd_addr_json(&vp->addr, 0), "ports", ports,
		                                   "group", cfg->groups[vp->group].name, "mode",
		                                   cfg_mode_name(vp->mode)));
	}
	json_object_set_new(r->reply, "vips", a);
	return 0;
}

static int
cmd_show_groups(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	const struct snap *s = dp_snap(gen_dp(r->gen));
	json_t *a;

	if (req_keys(r, keys) != 0)
		return -1;
	a = json_array();
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		const struct snap_group *sg = &s->groups[g];
		unsigned st[3] = {0, 0, 0}, weight = 0;
		json_t *vips = json_array(), *names = json_array(), *o;
		char fp[17];

		for (unsigned i = 0; i < grp->nb_backends; i++) {
			const struct cfg_backend *b = &grp->backends[i];

			if (b->state < 3)
				st[b->state]++;
			if (b->state == MAGLEV_UP)
				weight += b->weight;
			json_array_append_new(names, json_string(b->name));
		}
		for (unsigned v = 0; v < cfg->nb_vips; v++) {
			char buf[CFG_ADDR_STRLEN];

			if (cfg->vips[v].group != g)
				continue;
			for (unsigned p = 0; p < cfg->vips[v].nb_ports; p++)
				json_array_append_new(
				        vips, json_string(cfg_addr_format(&cfg->vips[v].addr,
				                                          cfg->vips[v].ports[p],
				                                          buf, sizeof(buf))));
		}
		o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "name", grp->name,
		              "backends", (json_int_t)grp->nb_backends, "up",
		              (json_int_t)st[MAGLEV_UP], "drain", (json_int_t)st[MAGLEV_DRAIN],
		              "down", (json_int_t)st[MAGLEV_DOWN], "weight_up", (json_int_t)weight,
		              "maglev_size", (json_int_t)cfg->maglev_size, "members", names, "vips",
		              vips);
		/* Strings of 16 hex digits: a JSON number loses the low bits past 2^53. */
		snprintf(fp, sizeof(fp), "%016" PRIx64, sg->fingerprint);
		json_object_set_new(o, "fingerprint", json_string(fp));
		snprintf(fp, sizeof(fp), "%016" PRIx64, sg->prev_fingerprint);
		json_object_set_new(o, "prev_fingerprint",
		                    sg->prev != NULL ? json_string(fp) : json_null());
		/* Panic: the published table dispatches over every backend left up by the
		 * operator, whatever their health (docs/health.md#panic-threshold). */
		json_object_set_new(o, "panic", json_boolean(sg->panic));
		json_object_set_new(o, "panic_threshold", json_integer(grp->panic_threshold));
		json_array_append_new(a, o);
	}
	json_object_set_new(r->reply, "groups", a);
	/* The fingerprints leave the key out; its check value completes them. */
	char kcv[CFG_KEY_CHECK_STRLEN];
	json_object_set_new(r->reply, "key_check",
	                    cfg_key_check(cfg, kcv) == 0 ? json_string(kcv) : json_null());
	return 0;
}

static json_t *
cmd_counters_json(const struct stats_backend *t)
{
	static const char *const cls[STATS_RESP_CLASSES] = {"1xx", "2xx", "3xx",
	                                                    "4xx", "5xx", "6xx"};
	json_t *methods = json_object(), *classes = json_object();
	uint64_t req = 0, resp = 0;

	for (unsigned m = 0; m < SIP_METHOD_COUNT; m++) {
		req += t->requests[m];
		json_object_set_new(methods, sip_method_name(m),
		                    json_integer((json_int_t)t->requests[m]));
	}
	for (unsigned c = 0; c < STATS_RESP_CLASSES; c++) {
		resp += t->responses[c];
		json_object_set_new(classes, cls[c], json_integer((json_int_t)t->responses[c]));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o}", "packets", (json_int_t)t->packets, "bytes",
	                 (json_int_t)t->bytes, "requests", (json_int_t)req, "responses",
	                 (json_int_t)resp, "requests_by_method", methods, "responses_by_class",
	                 classes);
}

/* A backend's health keys: state, last code, round trips (null until the first reply),
 * probe counts; "disabled" and nulls when nothing probes. */
static void
cmd_health_json(struct health *h, json_t *o, const char *name)
{
	struct health_status st;
	bool have = h != NULL && health_get(h, name, &st) == 0;
	bool rtt = have && st.replies > 0;

	json_object_set_new(o, "health",
	                    json_string(h == NULL ? "disabled"
	                                : have    ? health_state_name(st.state)
	                                          : "unknown"));
	json_object_set_new(o, "last_code",
	                    have && st.last_code != 0 ? json_integer(st.last_code) : json_null());
	json_object_set_new(o, "rtt_last_us",
	                    rtt ? json_integer((json_int_t)st.rtt_last_us) : json_null());
	json_object_set_new(o, "rtt_ewma_us",
	                    rtt ? json_integer((json_int_t)st.rtt_ewma_us) : json_null());
	json_object_set_new(o, "probe_latency_us",
	                    rtt ? json_integer((json_int_t)st.rtt_last_us) : json_null());
	json_object_set_new(o, "probes", have ? json_integer((json_int_t)st.probes) : json_null());
	json_object_set_new(o, "probe_timeouts",
	                    have ? json_integer((json_int_t)st.timeouts) : json_null());
}

static int
cmd_show_backends(struct cmd_req *r)
{
	static const char *const keys[] = {"group", "name", NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	const struct snap *s = dp_snap(gen_dp(r->gen));
	const char *group, *name;
	unsigned bi = 0, shown = 0;
	json_t *a;

	if (req_keys(r, keys) != 0 || req_str(r, "group", false, &group) != 0 ||
	    req_str(r, "name", false, &name) != 0)
		return -1;
	if (group != NULL && cfg_group_find(cfg, group) == NULL)
		return req_fail(r, "group \"%.63s\" is not defined", group);
	a = json_array();
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		const struct snap_group *sg = &s->groups[g];
		uint32_t *share = NULL;

		if (group != NULL && strcmp(group, grp->name) != 0) {
			bi += grp->nb_backends;
			continue;
		}
		/* Each backend's share of the group's Maglev slots. */
		share = calloc(grp->nb_backends + 1, sizeof(*share));
		for (uint32_t k = 0; share != NULL && k < sg->table->size; k++)
			if (sg->table->slot[k] < grp->nb_backends)
				share[sg->table->slot[k]]++;
		for (unsigned i = 0; i < grp->nb_backends; i++, bi++) {
			const struct cfg_backend *b = &grp->backends[i];
			const struct snap_backend *sb = &s->backends[bi];
			const struct nd_entry *nd = &dp_nd(gen_dp(r->gen))->e[sb->nd_idx];
			struct stats_backend t;
			char mac[CFG_MAC_STRLEN], hop[CFG_ADDR_STRLEN];
			uint8_t m[6];
			struct cfg_addr hopa = {.family = nd->family};
			json_t *o;

			if (name != NULL && strcmp(name, b->name) != 0)
				continue;
			memcpy(hopa.a, nd->addr, 16);
			stats_read_backend(gen_dp(r->gen), sb->slot, &t);
			o = json_pack("{s:s,s:s,s:o,s:I,s:I,s:s}", "name", b->name, "group",
			              grp->name, "address", cmd_addr_json(&b->addr, 0), "port",
			              (json_int_t)b->port, "weight", (json_int_t)b->weight, "state",
			              cfg_state_name(b->state));
			json_object_set_new(
			        o, "mac",
			        b->has_mac ? json_string(cfg_mac_format(b->mac, mac, sizeof(mac)))
			                   : json_null());
			cmd_health_json(gen_health(r->gen), o, b->name);
			json_object_set_new(o, "effective",
			                    json_string(cfg_state_name(
			                            gen_dispatch_state(r->gen, bi, b->state))));
			json_object_set_new(
			        o, "next_hop",
			        json_string(cfg_addr_format(&hopa, 0, hop, sizeof(hop))));
			json_object_set_new(o, "neighbor", json_string(nd_state_name(nd->state)));
			json_object_set_new(
			        o, "neighbor_mac",
			        nd_table_mac(dp_nd(gen_dp(r->gen)), sb->nd_idx, m)
			                ? json_string(cfg_mac_format(m, mac, sizeof(mac)))
			                : json_null());
			json_object_set_new(o, "egress",
			                    json_string(dp_port_name(gen_dp(r->gen), sb->egress)));
			json_object_set_new(
			        o, "table_slots",
			        json_integer(share != NULL ? (json_int_t)share[i] : -1));
			json_object_set_new(o, "counter_slot", json_integer(sb->slot));
			json_object_set_new(o, "counters", cmd_counters_json(&t));
			json_array_append_new(a, o);
			shown++;
		}
		free(share);
	}
	if (name != NULL && shown == 0) {
		json_decref(a);
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	}
	json_object_set_new(r->reply, "backends", a);
	return 0;
}

static int
cmd_show_stats(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	struct dp *dp = gen_dp(r->gen);
	const struct snap *s = dp_snap(dp);
	struct stats_counters t;
	json_t *c = json_object(), *pkt = json_object(), *sip = json_object(), *rx = json_array();
	json_t *anom = json_object();

	if (req_keys(r, keys) != 0) {
		json_decref(c), json_decref(pkt), json_decref(sip), json_decref(rx),
		        json_decref(anom);
		return -1;
	}
	/* One consistent copy per worker (stats.h), and the totals are the sum of those
	 * copies: forwarded <= rx_packets, and rx_by_worker adds up to rx_packets. */
	memset(&t, 0, sizeof(t));
	for (unsigned w = 0; w < dp_nb_workers(dp); w++) {
		struct stats_counters one;

		stats_read(dp, w, &one);
		for (size_t k = 0; k < sizeof(one) / sizeof(uint64_t); k++)
			((uint64_t *)&t)[k] += ((const uint64_t *)&one)[k];
		json_array_append_new(rx, json_integer((json_int_t)one.rx_packets));
	}
	for (unsigned i = 0; i < stats_nb_descs; i++)
		json_object_set_new(
		        c, stats_descs[i].name,
		        json_integer((json_int_t) *
		                     (const uint64_t *)((const char *)&t + stats_descs[i].off)));
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
		json_object_set_new(pkt, pkt_verdict_name(v),
		                    json_integer((json_int_t)t.pkt_drop[v]));
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
		if (sip_verdict_policy(v) == SIP_POLICY_ANOMALY)
			json_object_set_new(anom, sip_verdict_name(v),
			                    json_integer((json_int_t)t.sip_anomaly[v]));
		else
			json_object_set_new(sip, sip_verdict_name(v),
			                    json_integer((json_int_t)t.sip_drop[v]));
	json_object_set_new(r->reply, "counters", c);
	json_object_set_new(r->reply, "pkt_drops", pkt);
	json_object_set_new(r->reply, "sip_drops", sip);
	json_object_set_new(r->reply, "sip_anomalies", anom);
	json_object_set_new(r->reply, "rx_by_worker", rx);
	json_object_set_new(r->reply, "workers", json_integer(dp_nb_workers(dp)));
	json_object_set_new(r->reply, "backends", json_integer(s->nb_backends));
	json_object_set_new(r->reply, "vips", json_integer(s->nb_vips));
	json_object_set_new(r->reply, "uptime_s", json_integer((json_int_t)gen_uptime_s(r->gen)));
	json_object_set_new(r->reply, "since_change_s",
	                    json_integer((json_int_t)gen_since_change_s(r->gen)));
	return 0;
}

static int
cmd_show_config(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (req_keys(r, keys) != 0)
		return -1;
	f = open_memstream(&text, &len);
	if (f == NULL)
		return req_fail(r, "out of memory");
	rc = cfg_write(gen_cfg(r->gen), f);
	fclose(f);
	if (rc != 0) {
		free(text);
		return req_fail(r, "the running configuration cannot be written (a bug)");
	}
	json_object_set_new(r->reply, "path",
	                    gen_cfg(r->gen)->path != NULL ? json_string(gen_cfg(r->gen)->path)
	                                                  : json_null());
	json_object_set_new(r->reply, "config", json_stringn(text, len));
	free(text);
	return 0;
}

/* ---- changes ---- */

static int
cmd_commit(struct cmd_req *r, struct sph_cfg *next)
{
	if (next == NULL)
		return req_fail(r, "out of memory");
	if (gen_apply(r->gen, next, r->err, sizeof(r->err)) != 0)
		return -1;
	json_object_set_new(r->reply, "generation",
	                    json_integer((json_int_t)gen_generation(r->gen)));
	return 0;
}

static int
cmd_backend_add(struct cmd_req *r)
{
	static const char *const keys[] = {"group",  "name",  "address", "port",
	                                   "weight", "state", "mac",     NULL};
	const char *group, *name, *address, *state, *mac;
	long long port = 0, weight = 1;
	bool has_port, has_weight;
	struct cfg_backend b = {.port = CFG_DEFAULT_PORT, .weight = 1, .state = MAGLEV_UP};
	const struct cfg_group *cg;
	struct sph_cfg *next;
	struct cfg_group *ng;
	struct cfg_backend *nb;
	uint16_t aport = 0;
	int rc;

	if (req_keys(r, keys) != 0 || req_str(r, "group", true, &group) != 0 ||
	    req_str(r, "name", true, &name) != 0 || req_str(r, "address", true, &address) != 0 ||
	    req_str(r, "state", false, &state) != 0 || req_str(r, "mac", false, &mac) != 0 ||
	    req_int(r, "port", false, 1, 65535, &port, &has_port) != 0 ||
	    req_int(r, "weight", false, LLONG_MIN, LLONG_MAX, &weight, &has_weight) != 0)
		return -1;
	if (weight < CFG_WEIGHT_MIN || weight > CFG_WEIGHT_MAX)
		return req_fail(r, "backend \"%.63s\": weight must be %u..%u, got %lld", name,
		                CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, weight);
	cg = cfg_group_find(gen_cfg(r->gen), group);
	if (cg == NULL)
		return req_fail(r, "group \"%.63s\" is not defined", group);
	if (!cfg_name_valid(name))
		return req_fail(r,
		                "backend name must be 1..63 characters of A-Z a-z 0-9 . _ -, got "
		                "\"%.63s\"",
		                name);
	snprintf(b.name, sizeof(b.name), "%s", name);
	rc = cfg_addr_parse(address, &b.addr, &aport);
	if (rc == -2)
		return req_fail(r, "backend \"%s\": address \"%.60s\": port must be 1..65535", name,
		                address);
	if (rc != 0)
		return req_fail(r,
		                "backend \"%s\": address must be an IP address with an optional "
		                ":port, got \"%.60s\"",
		                name, address);
	if (aport != 0 && has_port)
		return req_fail(r,
		                "backend \"%s\": port is given twice: address \"%.60s\" already "
		                "has one",
		                name, address);
	b.port = aport != 0 ? aport : (has_port ? (uint16_t)port : CFG_DEFAULT_PORT);
	b.weight = (uint32_t)weight;
	if (state != NULL) {
		int st = cfg_state_parse(state);

		if (st < 0)
			return req_fail(
			        r, "state must be \"up\", \"drain\" or \"down\", got \"%.20s\"",
			        state);
		b.state = (uint8_t)st;
	}
	if (mac != NULL) {
		if (cfg_mac_parse(mac, b.mac) != 0)
			return req_fail(r,
			                "mac must be six pairs of hex digits like "
			                "\"02:00:00:00:00:21\", got \"%.40s\"",
			                mac);
		b.has_mac = 1;
	}
	next = cfg_dup(gen_cfg(r->gen));
	if (next == NULL)
		return req_fail(r, "out of memory");
	ng = &next->groups[cg - gen_cfg(r->gen)->groups];
	nb = realloc(ng->backends, (ng->nb_backends + 1) * sizeof(*nb));
	if (nb == NULL) {
		cfg_free(next);
		return req_fail(r, "out of memory");
	}
	ng->backends = nb;
	nb[ng->nb_backends++] = b;
	return cmd_commit(r, next);
}

static int
cmd_backend_remove(struct cmd_req *r)
{
	static const char *const keys[] = {"name", NULL};
	struct sph_cfg *next;
	struct cfg_group *g;
	const char *name;
	unsigned gi, bi;

	if (req_keys(r, keys) != 0 || req_str(r, "name", true, &name) != 0)
		return -1;
	if (cmd_backend_find(gen_cfg(r->gen), name, &gi, &bi) != 0)
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	if (gen_cfg(r->gen)->groups[gi].nb_backends == 1)
		return req_fail(r,
		                "backend \"%s\" is the last of group \"%s\": a group keeps at "
		                "least one backend (set it down instead)",
		                name, gen_cfg(r->gen)->groups[gi].name);
	next = cfg_dup(gen_cfg(r->gen));
	if (next == NULL)
		return req_fail(r, "out of memory");
	g = &next->groups[gi];
	memmove(&g->backends[bi], &g->backends[bi + 1],
	        (g->nb_backends - bi - 1) * sizeof(*g->backends));
	g->nb_backends--;
	return cmd_commit(r, next);
}

static int
cmd_backend_set(struct cmd_req *r, bool weight)
{
	static const char *const wkeys[] = {"name", "weight", NULL};
	static const char *const skeys[] = {"name", "state", NULL};
	struct sph_cfg *next;
	const char *name, *state = NULL;
	long long w = 0;
	bool present;
	unsigned gi, bi;
	int st = 0;

	if (req_keys(r, weight ? wkeys : skeys) != 0 || req_str(r, "name", true, &name) != 0)
		return -1;
	if (weight) {
		if (req_int(r, "weight", true, LLONG_MIN, LLONG_MAX, &w, &present) != 0)
			return -1;
		if (w < CFG_WEIGHT_MIN || w > CFG_WEIGHT_MAX)
			return req_fail(r, "backend \"%.63s\": weight must be %u..%u, got %lld",
			                name, CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, w);
	} else {
		if (req_str(r, "state", true, &state) != 0)
			return -1;
		st = cfg_state_parse(state);
		if (st < 0)
			return req_fail(
			        r, "state must be \"up\", \"drain\" or \"down\", got \"%.20s\"",
			        state);
	}
	if (cmd_backend_find(gen_cfg(r->gen), name, &gi, &bi) != 0)
		return req_fail(r, "backend \"%.63s\" does not exist", name);
	next = cfg_dup(gen_cfg(r->gen));
	if (next == NULL)
		return req_fail(r, "out of memory");
	if (weight)
		next->groups[gi].backends[bi].weight = (uint32_t)w;
	else
		next->groups[gi].backends[bi].state = (uint8_t)st;
	return cmd_commit(r, next);
}

static int
cmd_backend_weight(struct cmd_req *r)
{
	return cmd_backend_set(r, true);
}

static int
cmd_backend_state(struct cmd_req *r)
{
	return cmd_backend_set(r, false);
}

/* ---- allowlist tiers and rate limits (docs/protection.md) ---- */

/* The VIP text names: "ADDR" (the first VIP at that address) or "ADDR:PORT". */
static int
cmd_vip_find(struct cmd_req *r, const struct sph_cfg *cfg, const char *text, unsigned *vi)
{
	struct cfg_addr a;
	uint16_t port = 0;

	if (cfg_addr_parse(text, &a, &port) != 0)
		return req_fail(r, "vip must be an address with an optional :port, got \"%.60s\"",
		                text);
	for (unsigned v = 0; v < cfg->nb_vips; v++) {
		if (cfg->vips[v].addr.family != a.family ||
		    memcmp(cfg->vips[v].addr.a, a.a, 16) != 0)
			continue;
		for (unsigned p = 0; p < cfg->vips[v].nb_ports; p++)
			if (port == 0 || cfg->vips[v].ports[p] == port) {
				*vi = v;
				return 0;
			}
	}
	return req_fail(r, "no VIP serves %.60s", text);
}

/* acl-add / acl-remove: vip, tier ("trusted" or "blocked"), prefix. One generation. */
static int
cmd_acl_change(struct cmd_req *r, bool add)
{
	static const char *const keys[] = {"vip", "tier", "prefix", NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	const char *vip, *tier_s, *prefix;
	char t[CFG_PREFIX_STRLEN];
	struct cfg_prefix p;
	struct sph_cfg *next;
	struct cfg_vip *nv;
	unsigned vi, at;
	int tier, rc;

	if (req_keys(r, keys) != 0 || req_str(r, "vip", true, &vip) != 0 ||
	    req_str(r, "tier", true, &tier_s) != 0 || req_str(r, "prefix", true, &prefix) != 0 ||
	    cmd_vip_find(r, cfg, vip, &vi) != 0)
		return -1;
	tier = cfg_tier_parse(tier_s);
	if (tier != CFG_TIER_TRUSTED && tier != CFG_TIER_BLOCKED)
		return req_fail(r, "tier must be \"trusted\" or \"blocked\", got \"%.20s\"",
		                tier_s);
	rc = cfg_acl_prefix_parse(prefix, &p);
	if (rc != 0)
		return req_fail(
		        r, "prefix must be \"address/length\" or an address%s, got \"%.60s\"",
		        rc == -2 ? " (length 0..32 for IPv4, 0..128 for IPv6)" : "", prefix);
	cfg_prefix_format(&p, t, sizeof(t));
	for (at = 0; at < cfg->vips[vi].nb_acl; at++) {
		const struct cfg_acl *e = &cfg->vips[vi].acl[at];

		if (e->prefix.len == p.len && e->prefix.addr.family == p.addr.family &&
		    memcmp(e->prefix.addr.a, p.addr.a, 16) == 0)
			break;
	}
	if (add && at < cfg->vips[vi].nb_acl)
		return req_fail(r, "prefix %s is already %s at this VIP", t,
		                cfg_tier_name(cfg->vips[vi].acl[at].tier));
	if (!add && (at == cfg->vips[vi].nb_acl || cfg->vips[vi].acl[at].tier != tier))
		return req_fail(r, "prefix %s is not %s at this VIP", t,
		                cfg_tier_name((uint8_t)tier));
	next = cfg_dup(cfg);
	if (next == NULL)
		return req_fail(r, "out of memory");
	nv = &next->vips[vi];
	if (add) {
		struct cfg_acl *a = realloc(nv->acl, (nv->nb_acl + 1) * sizeof(*a));

		if (a == NULL) {
			cfg_free(next);
			return req_fail(r, "out of memory");
		}
		nv->acl = a;
		a[nv->nb_acl++] = (struct cfg_acl){.prefix = p, .tier = (uint8_t)tier};
		cfg_acl_sort(nv);
	} else {
		memmove(&nv->acl[at], &nv->acl[at + 1], (nv->nb_acl - at - 1) * sizeof(*nv->acl));
		nv->nb_acl--;
	}
	return cmd_commit(r, next);
}

static int
cmd_acl_add(struct cmd_req *r)
{
	return cmd_acl_change(r, true);
}

static int
cmd_acl_remove(struct cmd_req *r)
{
	return cmd_acl_change(r, false);
}

/* show-acl [vip, max]: per VIP its counts and limits, and up to max prefixes (100). */
static int
cmd_show_acl(struct cmd_req *r)
{
	static const char *const keys[] = {"vip", "max", NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	const char *vip;
	long long max = 100;
	bool has_max;
	unsigned only = UINT_MAX;
	json_t *a;

	if (req_keys(r, keys) != 0 || req_str(r, "vip", false, &vip) != 0 ||
	    req_int(r, "max", false, 0, CFG_ACL_MAX, &max, &has_max) != 0 ||
	    (vip != NULL && cmd_vip_find(r, cfg, vip, &only) != 0))
		return -1;
	a = json_array();
	for (unsigned v = 0; v < cfg->nb_vips; v++) {
		const struct cfg_vip *cv = &cfg->vips[v];
		json_t *o, *trusted = json_array(), *blocked = json_array(), *lim = json_object();
		unsigned nt = 0, nb = 0;
		char t[CFG_PREFIX_STRLEN];

		if (only != UINT_MAX && v != only) {
			json_decref(trusted), json_decref(blocked), json_decref(lim);
			continue;
		}
		for (unsigned i = 0; i < cv->nb_acl; i++) {
			bool tr = cv->acl[i].tier == CFG_TIER_TRUSTED;
			unsigned *n = tr ? &nt : &nb;

			if ((*n)++ < (unsigned)max)
				json_array_append_new(tr ? trusted : blocked,
				                      json_string(cfg_prefix_format(
				                              &cv->acl[i].prefix, t, sizeof(t))));
		}
		for (unsigned c = 0; c < CFG_LIMIT_CLASSES; c++)
			if (cv->limit_rate[c] != 0)
				json_object_set_new(
				        lim, cfg_limit_class_name((uint8_t)c),
				        json_pack("{s:I,s:I}", "rate",
				                  (json_int_t)cv->limit_rate[c], "burst",
				                  (json_int_t)(cv->limit_burst[c] != 0
				                                       ? cv->limit_burst[c]
				                                       : cv->limit_rate[c])));
		o = json_pack("{s:o,s:I,s:o,s:I,s:o,s:o}", "vip",
		              cmd_addr_json(&cv->addr, cv->ports[0]), "nb_trusted", (json_int_t)nt,
		              "trusted", trusted, "nb_blocked", (json_int_t)nb, "blocked", blocked,
		              "limits", lim);
		json_array_append_new(a, o);
	}
	json_object_set_new(r->reply, "acl", a);
	return 0;
}

/* show-limited [max]: the sources the workers drop most, merged (limit_top()), and the
 * drops by class since start. */
static int
cmd_show_limited(struct cmd_req *r)
{
	static const char *const keys[] = {"max", NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	struct dp *dp = gen_dp(r->gen);
	struct limit_offender *top;
	struct stats_counters t;
	long long max = 20;
	bool has_max;
	json_t *a;
	int n;

	if (req_keys(r, keys) != 0 || req_int(r, "max", false, 1, 10000, &max, &has_max) != 0)
		return -1;
	top = calloc((size_t)max, sizeof(*top));
	if (top == NULL)
		return req_fail(r, "out of memory");
	n = limit_top(dp, top, (unsigned)max);
	if (n < 0) {
		free(top);
		return req_fail(r, "out of memory");
	}
	a = json_array();
	for (int i = 0; i < n; i++) {
		struct cfg_addr src = {.family = top[i].family};
		struct cfg_prefix p;
		char b[CFG_PREFIX_STRLEN];

		memcpy(src.a, top[i].addr, 16);
		p = (struct cfg_prefix){.addr = src, .len = top[i].family == 4 ? 32 : 64};
		json_array_append_new(
		        a,
		        json_pack("{s:s,s:o,s:s,s:I,s:I}", "source",
		                  top[i].family == 4 ? cfg_addr_format(&src, 0, b, sizeof(b))
		                                     : cfg_prefix_format(&p, b, sizeof(b)),
		                  "vip",
		                  top[i].vip < cfg->nb_vips
		                          ? cmd_addr_json(&cfg->vips[top[i].vip].addr, 0)
		                          : json_null(),
		                  "class", cfg_limit_class_name(top[i].cls), "drops",
		                  (json_int_t)top[i].drops, "passed", (json_int_t)top[i].passed));
	}
	free(top);
	stats_read_total(dp, &t);
	json_object_set_new(r->reply, "limited", a);
	json_object_set_new(r->reply, "drops",
	                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "invite", (json_int_t)t.limit_invite,
	                              "register", (json_int_t)t.limit_register, "options",
	                              (json_int_t)t.limit_options, "other",
	                              (json_int_t)t.limit_other, "blocked",
	                              (json_int_t)t.acl_blocked));
	return 0;
}

static struct edge *cmd_edge; /* NULL: no edge */

void
cmd_bind_edge(struct edge *e)
{
	cmd_edge = e;
}

/* Whether two edge blocks differ in more than what a reload of the certificates takes:
 * listeners, limits and the rest are read at start only. */
static bool
cmd_edge_rest_differs(const struct cfg_edge *a, const struct cfg_edge *b)
{
	struct cfg_edge x = *a, y = *b;
	struct cfg_edge *both[2] = {&x, &y};

	for (int i = 0; i < 2; i++) {
		memset(both[i]->certs, 0, sizeof(both[i]->certs));
		memset(both[i]->keys, 0, sizeof(both[i]->keys));
		both[i]->nb_certs = 0;
		memset(both[i]->client_ca, 0, sizeof(both[i]->client_ca));
		both[i]->client_verify = 0;
		memset(both[i]->ciphers, 0, sizeof(both[i]->ciphers));
		memset(both[i]->ciphersuites, 0, sizeof(both[i]->ciphersuites));
		memset(both[i]->ticket_keys, 0, sizeof(both[i]->ticket_keys));
	}
	return memcmp(&x, &y, sizeof(x)) != 0;
}

/* The edge's certificates from the files the running configuration names (a renewal
 * replaced them in place): new handshakes get them, connections stay. */
static int
cmd_tls_reload(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};

	if (req_keys(r, keys) != 0)
		return -1;
	if (!edge_tls_on(cmd_edge))
		return req_fail(r, "no TLS edge is running");
	if (edge_tls_reload(cmd_edge, &gen_cfg(r->gen)->edge, r->err, sizeof(r->err)) != 0)
		return -1;
	json_object_set_new(r->reply, "tls", json_string("reloaded"));
	return 0;
}

static int
cmd_reload(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cur = gen_cfg(r->gen);
	struct sph_cfg *next = NULL;
	struct edge_tls *tls = NULL;
	json_t *notes;

	if (req_keys(r, keys) != 0)
		return -1;
	if (cur->path == NULL)
		return req_fail(r, "the running configuration was not read from a file");
	if (cfg_load(cur->path, &next, r->err, sizeof(r->err)) != 0)
		return -1;
	/* The edge's certificates first, files read again even when the configuration is
	 * unchanged: a bad one refuses the whole reload, and nothing changes. */
	if (edge_tls_on(cmd_edge) &&
	    edge_tls_prepare(cmd_edge, &next->edge, &tls, r->err, sizeof(r->err)) != 0) {
		cfg_free(next);
		return -1;
	}
	if (cfg_equal(cur, next)) {
		cfg_free(next);
		json_object_set_new(r->reply, "changed", json_false());
		json_object_set_new(r->reply, "generation",
		                    json_integer((json_int_t)gen_generation(r->gen)));
		if (tls != NULL) {
			edge_tls_commit(cmd_edge, tls);
			json_object_set_new(r->reply, "tls", json_string("reloaded"));
		}
		return 0;
	}
	notes = json_array();
	if (cmd_edge != NULL && cmd_edge_rest_differs(&cur->edge, &next->edge))
		json_array_append_new(notes, json_string("edge settings other than its "
		                                         "certificates take effect at the next "
		                                         "start"));
	if (strcmp(cur->ctl_socket, next->ctl_socket) != 0 || cur->ctl_mode != next->ctl_mode ||
	    strcmp(cur->ctl_group, next->ctl_group) != 0)
		json_array_append_new(notes, json_string("control socket settings take effect at "
		                                         "the next start"));
	if (cur->metrics_port != next->metrics_port ||
	    memcmp(&cur->metrics_addr, &next->metrics_addr, sizeof(cur->metrics_addr)) != 0)
		json_array_append_new(notes, json_string("metrics settings take effect at the next "
		                                         "start"));
	if (memcmp(&cur->health, &next->health, sizeof(cur->health)) != 0)
		json_array_append_new(notes, json_string("health settings take effect at the next "
		                                         "start"));
	if (cmd_commit(r, next) != 0) {
		edge_tls_abort(tls);
		json_decref(notes);
		return -1;
	}
	json_object_set_new(r->reply, "changed", json_true());
	json_object_set_new(r->reply, "notes", notes);
	if (tls != NULL) {
		edge_tls_commit(cmd_edge, tls);
		json_object_set_new(r->reply, "tls", json_string("reloaded"));
	}
	return 0;
}

/* The edge's counters as edge.h's EDGE_STATS names them, its memory, and the figures
 * derived from both (what docs/edge.md and the metrics show). */
static int
cmd_show_edge(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	struct edge_stats st;
	json_t *c;

	if (req_keys(r, keys) != 0)
		return -1;
	if (cmd_edge == NULL) {
		json_object_set_new(r->reply, "edge", json_null());
		return 0;
	}
	edge_get_stats(cmd_edge, &st);
	c = json_object();
	if (c == NULL)
		return req_fail(r, "out of memory");
#define CMD_EDGE_X_(f, d) json_object_set_new(c, #f, json_integer((json_int_t)st.f));
	EDGE_STATS(CMD_EDGE_X_)
#undef CMD_EDGE_X_
	json_object_set_new(r->reply, "edge", c);
	json_object_set_new(r->reply, "tls", json_boolean(edge_tls_on(cmd_edge)));
	json_object_set_new(r->reply, "conns_established",
	                    json_integer((json_int_t)(st.conns_open - st.conns_handshake)));
	json_object_set_new(r->reply, "mem_allocated", json_integer((json_int_t)st.mem_allocated));
	json_object_set_new(r->reply, "mem_resident", json_integer((json_int_t)st.mem_resident));
	json_object_set_new(
	        r->reply, "mem_per_conn",
	        json_integer(
	                (json_int_t)(st.conns_open != 0 ? st.mem_allocated / st.conns_open : 0)));
	return 0;
}

/* ---- log level, dispatch ---- */

static const char *const cmd_levels[] = {NULL,      "emerg",  "alert", "crit", "err",
                                         "warning", "notice", "info",  "debug"};

static int
cmd_log_level(struct cmd_req *r)
{
	static const char *const keys[] = {"level", NULL};
	json_t *v = json_object_get(r->req, "level");
	uint32_t prev = rte_log_get_global_level();
	long long lv = -1;

	if (req_keys(r, keys) != 0)
		return -1;
	if (v == NULL)
		return req_fail(r, "argument \"level\" is required");
	if (json_is_integer(v)) {
		lv = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		for (unsigned i = 1; i < sizeof(cmd_levels) / sizeof(cmd_levels[0]); i++)
			if (strcmp(s, cmd_levels[i]) == 0)
				lv = i;
		if (strcmp(s, "error") == 0)
			lv = RTE_LOG_ERR;
		if (strcmp(s, "warn") == 0)
			lv = RTE_LOG_WARNING;
	}
	if (lv < RTE_LOG_EMERG || lv > RTE_LOG_DEBUG)
		return req_fail(r, "level must be emerg, alert, crit, err, warning, notice, info, "
		                   "debug or 1..8");
	rte_log_set_global_level((uint32_t)lv);
	/* siphon's own lines (siphon/log.h) follow: DPDK's levels are syslog's plus one, and
	 * siphon has none above error. */
	enum sph_log_level was = sph_log_set((enum sph_log_level)(lv - 1));
	json_object_set_new(r->reply, "siphon_level", json_string(sph_log_name(sph_log_get())));
	json_object_set_new(r->reply, "siphon_previous", json_string(sph_log_name(was)));
	json_object_set_new(r->reply, "level", json_string(cmd_levels[lv]));
	json_object_set_new(r->reply, "previous",
	                    json_string(prev >= 1 && prev <= 8 ? cmd_levels[prev] : "unknown"));
	return 0;
}

static int
cmd_dispatch(struct cmd_req *r)
{
	static const char *const keys[] = {"call_id", "vip", NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);
	const struct snap *s = dp_snap(gen_dp(r->gen));
	const char *call_id, *vip;
	unsigned group = 0;
	int vi = -1;
	char buf[CFG_ADDR_STRLEN], hex[24];

	if (req_keys(r, keys) != 0 || req_str(r, "call_id", true, &call_id) != 0 ||
	    req_str(r, "vip", false, &vip) != 0)
		return -1;
	if (call_id[0] == '\0')
		return req_fail(r, "call_id must not be empty");
	if (vip != NULL) {
		struct cfg_addr a;
		uint16_t port = 0;

		if (cfg_addr_parse(vip, &a, &port) != 0)
			return req_fail(
			        r, "vip must be an address with an optional :port, got \"%.60s\"",
			        vip);
		for (unsigned v = 0; v < cfg->nb_vips && vi < 0; v++) {
			if (cfg->vips[v].addr.family != a.family ||
			    memcmp(cfg->vips[v].addr.a, a.a, 16) != 0)
				continue;
			for (unsigned p = 0; p < cfg->vips[v].nb_ports && vi < 0; p++)
				if (port == 0 || cfg->vips[v].ports[p] == port)
					vi = (int)v;
		}
		if (vi < 0)
			return req_fail(r, "no VIP serves %.60s", vip);
		group = cfg->vips[vi].group;
	} else if (cfg->nb_vips > 0) {
		vi = 0;
		group = cfg->vips[0].group;
	}
	const struct snap_group *g = &s->groups[group];
	uint64_t h = keyhash_calc(&s->kh, call_id, strlen(call_id));
	uint32_t pos = (uint32_t)(((unsigned __int128)h * g->table->size) >> 64);
	uint16_t idx = g->table->slot[pos];

	snprintf(hex, sizeof(hex), "0x%016" PRIx64, h);
	json_object_set_new(r->reply, "call_id", json_string(call_id));
	json_object_set_new(
	        r->reply, "vip",
	        vi >= 0 ? json_string(cfg_addr_format(&cfg->vips[vi].addr, cfg->vips[vi].ports[0],
	                                              buf, sizeof(buf)))
	                : json_null());
	json_object_set_new(r->reply, "group", json_string(cfg->groups[group].name));
	json_object_set_new(r->reply, "hash", json_string(hex));
	json_object_set_new(r->reply, "slot", json_integer(pos));
	json_object_set_new(r->reply, "table_size", json_integer(g->table->size));
	if (idx == MAGLEV_NONE) {
		json_object_set_new(r->reply, "backend", json_null());
		json_object_set_new(r->reply, "reason",
		                    json_string("no backend of the group is up: the message is "
		                                "dropped (no_backend)"));
	} else {
		json_object_set_new(r->reply, "backend", json_string(s->info[g->base + idx].name));
		json_object_set_new(r->reply, "address", json_string(s->info[g->base + idx].addr));
	}
	return 0;
}

/* ---- announcement and shutdown (docs/bgp.md) ---- */

static struct ann *cmd_ann;             /* NULL: not announcing */
static volatile sig_atomic_t *cmd_term; /* main.c's count of shutdown requests */

void
cmd_bind(struct ann *ann, volatile sig_atomic_t *term)
{
	cmd_ann = ann;
	cmd_term = term;
}

static int
cmd_show_announce(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	json_t *o;

	if (req_keys(r, keys) != 0)
		return -1;
	if (cmd_ann == NULL) {
		json_object_set_new(r->reply, "announce", json_null());
		return 0;
	}
	o = ann_json(cmd_ann);
	if (o == NULL)
		return req_fail(r, "out of memory");
	json_object_set_new(r->reply, "announce", o);
	return 0;
}

/* show-mirror: the HEP mirror's collector, sampling and counters summed over workers
 * (docs/protection.md#mirroring-hep); "mirror": null when there is none. */
static int
cmd_show_mirror(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	const struct cfg_mirror *m = &gen_cfg(r->gen)->mirror;
	struct dp_mirror_counters c;
	char a[CFG_ADDR_STRLEN];
	json_t *o, *cn;

	if (req_keys(r, keys) != 0)
		return -1;
	if (m->port == 0) {
		json_object_set_new(r->reply, "mirror", json_null());
		return 0;
	}
	dp_mirror_read(gen_dp(r->gen), &c);
	cn = json_object();
#define CMD_MIRROR_JSON(name, doc) json_object_set_new(cn, #name, json_integer((json_int_t)c.name));
	DP_MIRROR_COUNTERS(CMD_MIRROR_JSON)
#undef CMD_MIRROR_JSON
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}", "collector",
	              dp_mirror_collector(gen_dp(r->gen), a, sizeof(a)), "sample",
	              (json_int_t)m->sample, "agent_id", (json_int_t)m->agent_id, "budget",
	              (json_int_t)m->budget, "call_timeout", (json_int_t)m->call_timeout,
	              "counters", cn);
	if (o == NULL)
		return req_fail(r, "out of memory");
	json_object_set_new(r->reply, "mirror", o);
	return 0;
}

/* As a SIGTERM: the first withdraws and drains, a second stops at once. */
static int
cmd_shutdown(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	const struct sph_cfg *cfg = gen_cfg(r->gen);

	if (req_keys(r, keys) != 0)
		return -1;
	if (cmd_term == NULL)
		return req_fail(r, "shutdown is not available in this process");
	*cmd_term = *cmd_term < 2 ? *cmd_term + 1 : 2;
	json_object_set_new(r->reply, "stopping",
	                    json_string(*cmd_term > 1 || cmd_ann == NULL ? "now" : "drain"));
	json_object_set_new(r->reply, "drain_ms",
	                    json_integer(*cmd_term > 1 || cmd_ann == NULL ? 0 : cfg->ann_drain_ms));
	return 0;
}

/* ---- the command table ---- */

struct cmd_cmd {
	const char *name;
	int (*run)(struct cmd_req *r);
	const char *help;
};

static int cmd_help(struct cmd_req *r);

static const struct cmd_cmd cmd_cmds[] = {
        {"show-vips", cmd_show_vips, "VIPs: address, ports, group, mode"},
        {"show-groups", cmd_show_groups,
         "groups: backends by state, weight up, VIPs, table fingerprints"},
        {"show-backends", cmd_show_backends,
         "backends [group, name]: state, weight, health, neighbour, counters"},
        {"show-stats", cmd_show_stats, "dataplane counters and drops"},
        {"show-config", cmd_show_config, "the running configuration, as a file"},
        {"backend-add", cmd_backend_add,
         "add a backend: group, name, address [, port, weight, state, mac]"},
        {"backend-remove", cmd_backend_remove, "remove a backend: name"},
        {"backend-weight", cmd_backend_weight, "set a backend's weight: name, weight"},
        {"backend-state", cmd_backend_state, "set a backend's state: name, state"},
        {"acl-add", cmd_acl_add, "add a prefix to a VIP's tier: vip, tier, prefix"},
        {"acl-remove", cmd_acl_remove, "remove a prefix from a VIP's tier: vip, tier, prefix"},
        {"show-acl", cmd_show_acl,
         "allowlist tiers and rate limits [vip, max]: counts, prefixes, rates"},
        {"show-limited", cmd_show_limited,
         "the sources over a rate limit, most dropped first [max], drops by class"},
        {"reload", cmd_reload, "read the configuration file again and apply it"},
        {"show-edge", cmd_show_edge, "the TLS/TCP edge's connections, counters and memory"},
        {"tls-reload", cmd_tls_reload,
         "read the edge's certificate and key files again; connections stay"},
        {"log-level", cmd_log_level, "set DPDK's global log level and siphon's: level"},
        {"dispatch", cmd_dispatch, "which backend a Call-ID goes to: call_id [, vip]"},
        {"show-announce", cmd_show_announce,
         "VIP announcement through BIRD: each VIP servable/announced, BIRD's replies"},
        {"show-mirror", cmd_show_mirror,
         "the HEP mirror: collector, sampling, counters (sent, dropped by reason)"},
        {"shutdown", cmd_shutdown,
         "withdraw the VIPs, forward for announce.shutdown_drain_ms, stop (again: stop now)"},
        {"help", cmd_help, "the commands"},
};

static int
cmd_help(struct cmd_req *r)
{
	static const char *const keys[] = {NULL};
	json_t *o;

	if (req_keys(r, keys) != 0)
		return -1;
	o = json_object();
	for (size_t i = 0; i < sizeof(cmd_cmds) / sizeof(cmd_cmds[0]); i++)
		json_object_set_new(o, cmd_cmds[i].name, json_string(cmd_cmds[i].help));
	json_object_set_new(r->reply, "commands", o);
	return 0;
}

static char *
cmd_error_reply(const char *msg)
{
	char ascii[CMD_ERR_MAX];
	size_t i;
	json_t *o;

	/* Messages quote what clients sent, cut to a length: keep them valid UTF-8. */
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(ascii); i++)
		ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
	ascii[i] = '\0';
	o = json_pack("{s:b,s:s}", "ok", 0, "error", ascii);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

char *
cmd_handle(void *arg, const char *req, size_t len)
{
	struct cmd_req r = {.gen = arg};
	const struct cmd_cmd *cmd = NULL;
	json_error_t je;
	json_t *c;
	char *out;

	r.req = json_loadb(req, len, JSON_REJECT_DUPLICATES, &je);
	if (r.req == NULL) {
		req_fail(&r, "malformed JSON: %s (line %d, column %d)", je.text, je.line,
		         je.column);
		return cmd_error_reply(r.err);
	}
	if (!json_is_object(r.req)) {
		json_decref(r.req);
		return cmd_error_reply("a request must be a JSON object {\"cmd\": ...}");
	}
	c = json_object_get(r.req, "cmd");
	if (!json_is_string(c)) {
		json_decref(r.req);
		return cmd_error_reply("\"cmd\" is required and must be a string");
	}
	for (size_t i = 0; i < sizeof(cmd_cmds) / sizeof(cmd_cmds[0]) && cmd == NULL; i++)
		if (strcmp(json_string_value(c), cmd_cmds[i].name) == 0)
			cmd = &cmd_cmds[i];
	if (cmd == NULL) {
		req_fail(&r, "unknown command \"%.64s\" (\"help\" lists them)",
		         json_string_value(c));
		json_decref(r.req);
		return cmd_error_reply(r.err);
	}
	r.reply = json_pack("{s:b}", "ok", 1);
	if (r.reply == NULL || cmd->run(&r) != 0) {
		json_decref(r.reply);
		json_decref(r.req);
		return cmd_error_reply(r.reply == NULL ? "out of memory" : r.err);
	}
	if (json_object_get(r.reply, "generation") == NULL)
		json_object_set_new(r.reply, "generation",
		                    json_integer((json_int_t)gen_generation(r.gen)));
	out = json_dumps(r.reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r.reply);
	json_decref(r.req);
	return out;
}
