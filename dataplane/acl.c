/*
 * acl.c - a VIP's allowlist tiers as DPDK LPM tables (snap.h's struct snap_acl): built by
 * the main lcore with every snapshot that holds them, looked up by workers once per
 * packet to a VIP that has one. The tier is the LPM next hop, so a lookup is the whole
 * decision: one rte_lpm6 table per family (acl_key() says why not rte_lpm for IPv4),
 * whose tbl24 answers most sources in one load and a host route in a few more.
 * Published and reclaimed with the snapshot (RCU).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lpm6.h>

#include "acl.h"

/* LPM tables are named objects in DPDK's registry: each build takes a fresh name, so the
 * table of the next snapshot can exist beside the published one's. */
static atomic_uint acl_seq;

/*
 * The 16-byte LPM key of a prefix or source. IPv4 goes first-byte first with zeros after,
 * so an IPv4 /24 resolves in rte_lpm6's tbl24 and a /32 one tbl8 below, as rte_lpm's
 * DIR-24-8 would; each family has a table of its own, so no IPv6 address meets an IPv4
 * entry. Why rte_lpm6 for IPv4 too: rte_lpm_add() scans every rule of the same length for
 * a duplicate, so test_dp's acl_file_of_100k list (10^5 prefixes, half of them /32) took
 * 2.9 s to build with rte_lpm and takes 25 ms so; rte_lpm6 keeps its rules in a hash.
 */
static void
acl_key(uint8_t family, const uint8_t a[16], uint8_t key[16])
{
	if (family == 4) {
		memset(key, 0, 16);
		memcpy(key, a + 12, 4);
	} else {
		memcpy(key, a, 16);
	}
}

static int
acl_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * tbl8 groups rte_lpm6 needs for the prefixes of family in cv: below tbl24, one group per
 * distinct leading L bits (L = 24, 32, ... 120) of the prefixes longer than L, which is
 * what its tree holds. Counted exactly by sorting, so a large list takes the memory it
 * needs and not a bound per prefix (1 KiB a group).
 */
static int
acl_tbl8s(const struct cfg_vip *cv, uint8_t family, uint32_t *out)
{
	uint8_t(*k)[16] = malloc((cv->nb_acl + 1) * sizeof(*k));
	uint64_t total = 0;

	if (k == NULL)
		return -1;
	for (unsigned level = 24; level < 128; level += 8) {
		size_t n = 0, distinct = 0;

		for (unsigned i = 0; i < cv->nb_acl; i++) {
			const struct cfg_prefix *p = &cv->acl[i].prefix;

			if (p->addr.family != family || p->len <= level)
				continue;
			acl_key(family, p->addr.a, k[n]);
			memset(k[n] + level / 8, 0, 16 - level / 8);
			n++;
		}
		if (n == 0)
			break;
		qsort(k, n, sizeof(*k), acl_key_cmp);
		for (size_t i = 0; i < n; i++)
			distinct += i == 0 || memcmp(k[i - 1], k[i], 16) != 0;
		total += distinct;
	}
	free(k);
	*out = total + 1 < (1u << 24) ? (uint32_t)total + 1 : 1u << 24;
	return 0;
}

static struct rte_lpm6 *
acl_table(const struct cfg_vip *cv, uint8_t family, uint32_t nb, int socket)
{
	struct rte_lpm6_config c = {.max_rules = nb};
	char name[RTE_LPM6_NAMESIZE];
	struct rte_lpm6 *t;

	if (acl_tbl8s(cv, family, &c.number_tbl8s) != 0)
		return NULL;
	snprintf(name, sizeof(name), "acl%u_%u", family, atomic_fetch_add(&acl_seq, 1));
	t = rte_lpm6_create(name, socket, &c);
	return t;
}

/*
 * Tables in use by some snapshot, with the list each was built from: a generation that
 * changes anything but a VIP's list (a backend, a health state) takes the same tables
 * instead of building them again, which for 10^5 prefixes is 25 ms and 64 MiB more
 * while two snapshots coexist. Counted references: the last snapshot freed frees them.
 */
struct acl_shared {
	struct acl_shared *next;
	unsigned refs;
	int socket;
	struct rte_lpm6 *v4, *v6;
	uint32_t nb4, nb6;
	unsigned nb; /* the list, as cfg_vip.acl held it */
	struct cfg_acl *list;
};

static struct acl_shared *acl_live;
static pthread_mutex_t acl_lock = PTHREAD_MUTEX_INITIALIZER;

static struct acl_shared *
acl_find(const struct cfg_vip *cv, int socket)
{
	for (struct acl_shared *sh = acl_live; sh != NULL; sh = sh->next)
		if (sh->socket == socket && sh->nb == cv->nb_acl &&
		    memcmp(sh->list, cv->acl, cv->nb_acl * sizeof(*cv->acl)) == 0)
			return sh;
	return NULL;
}

static void
acl_shared_free(struct acl_shared *sh)
{
	rte_lpm6_free(sh->v4);
	rte_lpm6_free(sh->v6);
	free(sh->list);
	free(sh);
}

/* Build the tables of cv's list into sh (zeroed, list copied). */
static int
acl_fill(struct acl_shared *sh, const struct cfg_vip *cv, int socket, char *err, size_t errlen)
{
	uint32_t nb4 = 0, nb6 = 0;
	char p[CFG_PREFIX_STRLEN];

	for (unsigned i = 0; i < cv->nb_acl; i++) {
		if (cv->acl[i].prefix.addr.family == 4)
			nb4++;
		else
			nb6++;
	}
	if ((nb4 > 0 && (sh->v4 = acl_table(cv, 4, nb4, socket)) == NULL) ||
	    (nb6 > 0 && (sh->v6 = acl_table(cv, 6, nb6, socket)) == NULL)) {
		snprintf(err, errlen,
		         "no memory for an allowlist of %u IPv4 and %u IPv6 prefixes: %s", nb4, nb6,
		         rte_strerror(rte_errno));
		return -1;
	}
	for (unsigned i = 0; i < cv->nb_acl; i++) {
		const struct cfg_prefix *pr = &cv->acl[i].prefix;
		uint8_t key[16];
		int rc;

		acl_key(pr->addr.family, pr->addr.a, key);
		rc = rte_lpm6_add(pr->addr.family == 4 ? sh->v4 : sh->v6, key, pr->len,
		                  cv->acl[i].tier);
		if (rc != 0) {
			snprintf(err, errlen,
			         "allowlist prefix %s: cannot add it to the LPM table: %s",
			         cfg_prefix_format(pr, p, sizeof(p)), rte_strerror(-rc));
			return -1;
		}
	}
	sh->nb4 = nb4;
	sh->nb6 = nb6;
	return 0;
}

int
acl_build(struct snap_acl *a, const struct cfg_vip *cv, int socket, char *err, size_t errlen)
{
	struct acl_shared *sh;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	pthread_mutex_lock(&acl_lock);
	sh = acl_find(cv, socket);
	if (sh == NULL) {
		sh = calloc(1, sizeof(*sh));
		if (sh != NULL)
			sh->list = malloc(cv->nb_acl * sizeof(*cv->acl) + 1);
		if (sh == NULL || sh->list == NULL) {
			free(sh);
			snprintf(err, errlen, "out of memory for an allowlist of %u prefixes",
			         cv->nb_acl);
			rc = -1;
			goto out;
		}
		memcpy(sh->list, cv->acl, cv->nb_acl * sizeof(*cv->acl));
		sh->nb = cv->nb_acl;
		sh->socket = socket;
		if (acl_fill(sh, cv, socket, err, errlen) != 0) {
			acl_shared_free(sh);
			rc = -1;
			goto out;
		}
		sh->next = acl_live;
		acl_live = sh;
	}
	sh->refs++;
	a->v4 = sh->v4;
	a->v6 = sh->v6;
	a->nb4 = sh->nb4;
	a->nb6 = sh->nb6;
	a->ref = sh;
out:
	pthread_mutex_unlock(&acl_lock);
	return rc;
}

void
acl_free(struct snap_acl *a)
{
	struct acl_shared *sh = a->ref, **pp;

	if (sh == NULL)
		return;
	pthread_mutex_lock(&acl_lock);
	if (--sh->refs == 0) {
		for (pp = &acl_live; *pp != sh; pp = &(*pp)->next)
			;
		*pp = sh->next;
		acl_shared_free(sh);
	}
	pthread_mutex_unlock(&acl_lock);
	memset(a, 0, sizeof(*a));
}

uint8_t
snap_acl_tier(const struct snap_vip *v, uint8_t family, const uint8_t addr[16])
{
	const struct rte_lpm6 *t = family == 4 ? v->acl.v4 : v->acl.v6;
	uint8_t key[16];
	uint32_t nh;

	if (t == NULL)
		return CFG_TIER_DEFAULT;
	acl_key(family, addr, key);
	return rte_lpm6_lookup(t, key, &nh) == 0 ? (uint8_t)nh : CFG_TIER_DEFAULT;
}
