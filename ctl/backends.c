/*
 * backends.c - parse siphonctl's --backends list into a struct sph_cfg (see backends.h).
 * The result follows cfg.h's ownership rule (everything from malloc(), released by
 * cfg_free()), so scan never needs to know where its configuration came from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Parse "NAME=ADDR[:PORT][*WEIGHT]" (NUL-terminated, modified in place) into b. */
static int
parse_entry(char *s, unsigned nth, struct cfg_backend *b, char *err, size_t errlen)
{
	char *eq = strchr(s, '='), *star, *name = s, *addr;
	unsigned long w = 1;
	uint16_t port;
	int rc;

	if (eq == NULL)
		return fail(err, errlen,
		            "--backends: entry %u \"%s\": expected NAME=ADDR[:PORT][*WEIGHT]", nth,
		            s);
	*eq = '\0';
	addr = eq + 1;
	if (!cfg_name_valid(name) || strlen(name) >= CFG_NAME_MAX)
		return fail(err, errlen,
		            "--backends: entry %u: name \"%s\" must be 1..63 of A-Z a-z 0-9 . _ -",
		            nth, name);
	star = strrchr(addr, '*');
	if (star != NULL) {
		char *end;

		*star = '\0';
		errno = 0;
		w = strtoul(star + 1, &end, 10);
		if (star[1] < '0' || star[1] > '9' || *end != '\0' || errno != 0 ||
		    w < CFG_WEIGHT_MIN || w > CFG_WEIGHT_MAX)
			return fail(err, errlen,
			            "--backends: backend \"%s\": weight must be %u..%u, got \"%s\"",
			            name, CFG_WEIGHT_MIN, CFG_WEIGHT_MAX, star + 1);
	}
	rc = cfg_addr_parse(addr, &b->addr, &port);
	if (rc == -2)
		return fail(err, errlen,
		            "--backends: backend \"%s\": port must be 1..65535 in \"%s\"", name,
		            addr);
	if (rc != 0)
		return fail(err, errlen,
		            "--backends: backend \"%s\": \"%s\" is not an IPv4 or IPv6 address "
		            "(IPv6 with a port goes in brackets: [2001:db8::1]:5060)",
		            name, addr);
	memcpy(b->name, name, strlen(name) + 1);
	b->port = port != 0 ? port : CFG_DEFAULT_PORT;
	b->weight = (uint32_t)w;
	b->state = MAGLEV_UP;
	b->line = nth;
	return 0;
}

int
backends_cfg(const char *list, const uint8_t *key, size_t klen, struct sph_cfg **out, char *err,
             size_t errlen)
{
	struct sph_cfg *cfg = NULL;
	struct cfg_group *g;
	char *copy = NULL, *s, *next;
	unsigned n = 1;
	int rc = -1;

	*out = NULL;
	if (klen < CFG_KEY_MIN || klen > CFG_KEY_MAX)
		return fail(err, errlen, "hash key must be %u..%u bytes, got %zu", CFG_KEY_MIN,
		            CFG_KEY_MAX, klen);
	for (const char *p = list; *p != '\0'; p++)
		n += *p == ',';
	if (n > MAGLEV_MAX_BACKENDS)
		return fail(err, errlen, "--backends: more than %u backends", MAGLEV_MAX_BACKENDS);

	cfg = calloc(1, sizeof(*cfg));
	copy = strdup(list);
	if (cfg == NULL || copy == NULL)
		goto nomem;
	cfg->path = strdup("--backends");
	cfg->hash_key = malloc(klen);
	cfg->groups = calloc(1, sizeof(*cfg->groups));
	if (cfg->path == NULL || cfg->hash_key == NULL || cfg->groups == NULL)
		goto nomem;
	memcpy(cfg->hash_key, key, klen);
	cfg->hash_key_len = klen;
	cfg->maglev_size = MAGLEV_DEFAULT_SIZE;
	cfg->nb_groups = 1;
	g = &cfg->groups[0];
	memcpy(g->name, BACKENDS_GROUP, sizeof(BACKENDS_GROUP));
	g->backends = calloc(n, sizeof(*g->backends));
	if (g->backends == NULL)
		goto nomem;

	for (s = copy; s != NULL; s = next) {
		next = strchr(s, ',');
		if (next != NULL)
			*next++ = '\0';
		if (*s == '\0') {
			fail(err, errlen, "--backends: entry %u is empty", g->nb_backends + 1);
			goto out;
		}
		if (parse_entry(s, g->nb_backends + 1, &g->backends[g->nb_backends], err, errlen))
			goto out;
		for (unsigned i = 0; i < g->nb_backends; i++)
			if (strcmp(g->backends[i].name, g->backends[g->nb_backends].name) == 0) {
				fail(err, errlen, "--backends: backend \"%s\" given twice",
				     g->backends[i].name);
				goto out;
			}
		g->nb_backends++;
	}
	*out = cfg;
	cfg = NULL;
	rc = 0;
	goto out;
nomem:
	fail(err, errlen, "--backends: out of memory");
out:
	free(copy);
	cfg_free(cfg);
	return rc;
}
