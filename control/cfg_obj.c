/*
 * cfg_obj.c - struct sph_cfg as a value (include/siphon/cfg.h): free it, copy it deeply,
 * compare two. What the control plane does to a configuration between reading it
 * (cfg.c) and applying it (gen.c): edit a copy, tell a reload that changes nothing.
 * Control plane and tools only; allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "siphon/cfg.h"
#include "cfg_int.h"

void
cfg_free(struct sph_cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->nb_groups; i++)
		free(cfg->groups[i].backends);
	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		free(cfg->vips[i].ports);
		free(cfg->vips[i].acl);
	}
	free(cfg->groups);
	free(cfg->vips);
	free(cfg->ports);
	free(cfg->rules);
	free(cfg->rule_text);
	if (cfg->hash_key != NULL) {
		/* The key is a secret: do not leave it in freed heap memory. */
		memset(cfg->hash_key, 0, cfg->hash_key_len);
		free(cfg->hash_key);
	}
	for (unsigned i = 0; i < cfg->nb_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->path);
	free(cfg);
}

static int
gw_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->family == b->family && (a->family == 0 || memcmp(a->a, b->a, 16) == 0);
}

/* Rule lists compare by value: the expressions' text, not where the pool keeps it. */
static int
cfg_rules_equal(const struct sph_cfg *a, const struct sph_cfg *b)
{
	if (a->nb_rules != b->nb_rules)
		return 0;
	for (unsigned i = 0; i < a->nb_rules; i++) {
		const struct cfg_rule *x = &a->rules[i], *y = &b->rules[i];

		if (strcmp(x->name, y->name) != 0 || x->caseless != y->caseless ||
		    x->action != y->action || x->has_vip != y->has_vip ||
		    (x->has_vip && !cfg_addr_equal(&x->vip, &y->vip)) ||
		    (x->action == CFG_RULE_ROUTE && x->group != y->group) ||
		    (x->action == CFG_RULE_LIMIT && x->limit_class != y->limit_class) ||
		    x->nb_sources != y->nb_sources)
			return 0;
		for (unsigned f = 0; f < CFG_RULE_FIELDS; f++) {
			const char *p = cfg_rule_regex(a, x, f), *q = cfg_rule_regex(b, y, f);

			if ((p == NULL) != (q == NULL) || (p != NULL && strcmp(p, q) != 0))
				return 0;
		}
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *p = cfg_rule_text(a, x->hname[k]),
			           *q = cfg_rule_text(b, y->hname[k]);
			const char *pr = cfg_rule_text(a, x->hre[k]),
			           *qr = cfg_rule_text(b, y->hre[k]);

			if ((p == NULL) != (q == NULL) || (p != NULL && strcmp(p, q) != 0) ||
			    (pr == NULL) != (qr == NULL) || (pr != NULL && strcmp(pr, qr) != 0))
				return 0;
		}
		for (unsigned j = 0; j < x->nb_sources && j < CFG_RULE_SOURCES_MAX; j++)
			if (!cfg_addr_equal(&x->sources[j].addr, &y->sources[j].addr) ||
			    x->sources[j].len != y->sources[j].len)
				return 0;
	}
	return 1;
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
	if (a->frag_entries != b->frag_entries || a->frag_fragments != b->frag_fragments ||
	    a->frag_timeout_ms != b->frag_timeout_ms || a->frag_bytes != b->frag_bytes)
		return 0;
	if (strcmp(a->ctl_socket, b->ctl_socket) != 0 || a->ctl_mode != b->ctl_mode ||
	    strcmp(a->ctl_group, b->ctl_group) != 0 || a->metrics_port != b->metrics_port ||
	    (a->metrics_port != 0 && !cfg_addr_equal(&a->metrics_addr, &b->metrics_addr)))
		return 0;
	/* struct cfg_edge is plain data only ever written into zeroed memory (cfg_load's
	 * calloc, cfg_dup's copy), so its padding compares equal too. Without a listener the
	 * edge is off and its other fields (defaults) say nothing. */
	if ((a->edge.nb_tls + a->edge.nb_mtls + a->edge.nb_tcp > 0 ||
	     b->edge.nb_tls + b->edge.nb_mtls + b->edge.nb_tcp > 0) &&
	    memcmp(&a->edge, &b->edge, sizeof(a->edge)) != 0)
		return 0;
	if (a->mirror.port != b->mirror.port ||
	    (a->mirror.port != 0 &&
	     (!cfg_addr_equal(&a->mirror.addr, &b->mirror.addr) ||
	      a->mirror.sample != b->mirror.sample || a->mirror.agent_id != b->mirror.agent_id ||
	      a->mirror.budget != b->mirror.budget ||
	      a->mirror.call_timeout != b->mirror.call_timeout)))
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

		if (strcmp(ga->name, gb->name) != 0 || ga->nb_backends != gb->nb_backends ||
		    ga->panic_threshold != gb->panic_threshold)
			return 0;
		for (unsigned j = 0; j < ga->nb_backends; j++) {
			const struct cfg_backend *x = &ga->backends[j], *y = &gb->backends[j];

			if (strcmp(x->name, y->name) != 0 || !cfg_addr_equal(&x->addr, &y->addr) ||
			    x->port != y->port || x->weight != y->weight || x->state != y->state ||
			    x->has_mac != y->has_mac ||
			    (x->has_mac && memcmp(x->mac, y->mac, 6) != 0))
				return 0;
		}
	}
	for (unsigned i = 0; i < a->nb_vips; i++) {
		const struct cfg_vip *x = &a->vips[i], *y = &b->vips[i];

		if (!cfg_addr_equal(&x->addr, &y->addr) || x->nb_ports != y->nb_ports ||
		    x->group != y->group || x->mode != y->mode ||
		    (x->nb_ports > 0 &&
		     memcmp(x->ports, y->ports, x->nb_ports * sizeof(*x->ports)) != 0) ||
		    x->nb_acl != y->nb_acl ||
		    memcmp(x->limit_rate, y->limit_rate, sizeof(x->limit_rate)) != 0 ||
		    memcmp(x->limit_burst, y->limit_burst, sizeof(x->limit_burst)) != 0)
			return 0;
		for (unsigned j = 0; j < x->nb_acl; j++)
			if (!cfg_addr_equal(&x->acl[j].prefix.addr, &y->acl[j].prefix.addr) ||
			    x->acl[j].prefix.len != y->acl[j].prefix.len ||
			    x->acl[j].tier != y->acl[j].tier)
				return 0;
	}
	if (!cfg_rules_equal(a, b))
		return 0;
	for (unsigned i = 0; i < a->nb_ports; i++) {
		const struct cfg_port *x = &a->ports[i], *y = &b->ports[i];

		if (strcmp(x->name, y->name) != 0 || strcmp(x->device, y->device) != 0 ||
		    x->nb_addrs != y->nb_addrs || !gw_equal(&x->gw4, &y->gw4) ||
		    !gw_equal(&x->gw6, &y->gw6) ||
		    strncmp(x->exception, y->exception, sizeof(x->exception)) != 0 ||
		    x->udp_csum != y->udp_csum || x->mtu != y->mtu)
			return 0;
		for (unsigned j = 0; j < x->nb_addrs && j < CFG_PORT_ADDRS_MAX; j++)
			if (!cfg_addr_equal(&x->addrs[j].addr, &y->addrs[j].addr) ||
			    x->addrs[j].len != y->addrs[j].len)
				return 0;
	}
	return 1;
}

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
	d->files = NULL;
	d->nb_files = 0;
	d->rules = NULL;
	d->rule_text = NULL;
	d->nb_rules = 0;
	d->rule_text_len = 0;
	d->nb_groups = d->nb_vips = d->nb_ports = 0; /* cfg_free() of a half copy is safe */
	if (cfg->path != NULL && (d->path = strdup(cfg->path)) == NULL)
		goto fail;
	if (cfg->nb_files > 0) {
		d->files = calloc(cfg->nb_files, sizeof(*d->files));
		if (d->files == NULL)
			goto fail;
		for (; d->nb_files < cfg->nb_files; d->nb_files++)
			if ((d->files[d->nb_files] = strdup(cfg->files[d->nb_files])) == NULL)
				goto fail;
	}
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
			d->vips[i].acl = NULL;
			if (v->nb_acl > 0) {
				d->vips[i].acl = malloc(v->nb_acl * sizeof(*v->acl));
				if (d->vips[i].acl == NULL)
					goto fail;
				memcpy(d->vips[i].acl, v->acl, v->nb_acl * sizeof(*v->acl));
			}
			if (v->nb_ports == 0)
				continue;
			d->vips[i].ports = malloc(v->nb_ports * sizeof(*v->ports));
			if (d->vips[i].ports == NULL)
				goto fail;
			memcpy(d->vips[i].ports, v->ports, v->nb_ports * sizeof(*v->ports));
		}
	}
	if (cfg->nb_rules > 0) {
		d->rules = malloc(cfg->nb_rules * sizeof(*d->rules));
		if (d->rules == NULL)
			goto fail;
		memcpy(d->rules, cfg->rules, cfg->nb_rules * sizeof(*d->rules));
		d->nb_rules = cfg->nb_rules;
	}
	if (cfg->rule_text_len > 0) {
		d->rule_text = malloc(cfg->rule_text_len);
		if (d->rule_text == NULL)
			goto fail;
		memcpy(d->rule_text, cfg->rule_text, cfg->rule_text_len);
		d->rule_text_len = cfg->rule_text_len;
	}
	return d;
fail:
	cfg_free(d);
	return NULL;
}
