/*
 * bench_rules.c - what operator rules (dataplane/core/rules.c) cost an initial request,
 * by number of rules, in one run: 0 (rules off: the request is not even looked at),
 * then sets of 1, 100, 1,000 and 10,000 rules, each compiled (time, database and scratch
 * bytes) and matched against every initial request of a capture (requests without a To
 * tag: what rules apply to). Two shapes of rule set: "ua", every rule on User-Agent (how
 * the cost grows with the count alone), and "mixed", rules spread over Request-URI,
 * From, User-Agent and Contact with one in ten a two-condition rule (the cost grows
 * with the fields scanned too). No rule matches this traffic: the cost is the scan.
 * Also the price of the rule fields in the scanner: sip_parse_rf() beside sip_parse()
 * on every message. Medians of --runs passes; run pinned (taskset -c N), machine idle.
 * Usage: bench_rules [--runs N] [--max N] [--only SHAPE:N] [pcap]; --only runs that one set,
 * for callgrind (--toggle-collect=rules_match --toggle-collect=rules_input_of counts the
 * matching alone, whatever the compile costs under valgrind).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "siphon/pkt.h"
#include "siphon/rules.h"
#include "siphon/sip.h"

#define DEFAULT_PCAP "bench/pcaps/mixed-calls.pcap"
#define MAX_RUNS     101u

struct msgs {
	uint8_t **p;
	uint16_t *len;
	size_t n;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
median(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "bench_rules: out of memory\n");
		exit(1);
	}
	return p;
}

/* Every SIP/UDP payload of an Ethernet capture, each in its own buffer. */
static int
load(const char *path, struct msgs *all)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	pcap_t *pc = pcap_open_offline(path, err);
	size_t cap = 0;

	if (pc == NULL) {
		fprintf(stderr, "bench_rules: %s: %s\n", path, err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "bench_rules: %s: not an Ethernet capture\n", path);
		pcap_close(pc);
		return -1;
	}
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pkt_info pi;

		if (pkt_decode(data, h->caplen, &pi) != PKT_OK || pi.payload_len == 0)
			continue;
		if (all->n == cap) {
			cap = cap ? 2 * cap : 4096;
			all->p = realloc(all->p, cap * sizeof(*all->p));
			all->len = realloc(all->len, cap * sizeof(*all->len));
			if (all->p == NULL || all->len == NULL) {
				fprintf(stderr, "bench_rules: out of memory\n");
				exit(1);
			}
		}
		all->p[all->n] = xmalloc(pi.payload_len);
		memcpy(all->p[all->n], data + pi.payload_off, pi.payload_len);
		all->len[all->n++] = (uint16_t)pi.payload_len;
	}
	pcap_close(pc);
	return 0;
}

/* A rule set of n rules of one shape; its strings live in *store (free() it). */
static struct rules_def *
gen_rules(const char *shape, unsigned n, struct rules_cond **conds, char **store)
{
	struct rules_def *d = xmalloc((n ? n : 1) * sizeof(*d));
	struct rules_cond *c = xmalloc(2 * (n ? n : 1) * sizeof(*c));
	char *s = xmalloc(((size_t)n ? n : 1) * 160), *at = s;
	bool mixed = strcmp(shape, "mixed") == 0;

	for (unsigned i = 0; i < n; i++) {
		char *name = at, *re1, *re2 = NULL;
		unsigned k = mixed ? i % 4 : 2;

		at += sprintf(at, "%s-%u", shape, i) + 1;
		re1 = at;
		switch (k) { /* no pattern matches the bundled traffic */
		case 0:
			at += sprintf(at, "^sip:\\+?(?:00|011)?9%05u", i) + 1;
			break;
		case 1:
			at += sprintf(at, "^\"?bot-%u\"?", i) + 1;
			break;
		case 2:
			at += sprintf(at, "scanner[-_ ]?%u(?:\\.[0-9]+)*", i) + 1;
			break;
		default:
			at += sprintf(at, "@10\\.%u\\.%u\\.", (i >> 8) & 255, i & 255) + 1;
			break;
		}
		c[2 * i] = (struct rules_cond){.field = (uint8_t)(k == 0   ? RULES_RURI
		                                                  : k == 1 ? RULES_FROM
		                                                  : k == 2 ? RULES_UA
		                                                           : RULES_CONTACT),
		                               .caseless = k == 2,
		                               .regex = re1};
		if (mixed && i % 10 == 9) {
			re2 = at;
			at += sprintf(at, "^(?:INVITE|REGISTER)$") + 1;
			c[2 * i + 1] = (struct rules_cond){.field = RULES_METHOD, .regex = re2};
		}
		d[i] = (struct rules_def){
		        .name = name, .conds = &c[2 * i], .nb_conds = re2 ? 2 : 1};
	}
	*conds = c;
	*store = s;
	return d;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_PCAP;
	unsigned runs = 11, max = 10000;
	const char *only = NULL;
	static const unsigned counts[] = {1, 100, 1000, 10000};
	static const char *const shapes[] = {"ua", "mixed"};
	struct msgs all = {0};
	struct sip_msg *m;
	uint8_t *initial;
	size_t ninit = 0;
	uint64_t t[MAX_RUNS], sink = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
			max = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: bench_rules [--runs N] [--max N] [--only SHAPE:N] "
			                "[pcap]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 11;
	if (load(path, &all) != 0 || all.n == 0) {
		fprintf(stderr, "bench_rules: no SIP/UDP payload in %s\n", path);
		return 1;
	}
	m = xmalloc(all.n * sizeof(*m));
	initial = xmalloc(all.n);
	for (size_t i = 0; i < all.n; i++) {
		initial[i] = sip_parse_rf(all.p[i], all.len[i], &m[i]) == SIP_OK &&
		             m[i].kind == SIP_REQUEST && m[i].to_tag.len == 0 &&
		             m[i].method != SIP_METHOD_ACK && m[i].method != SIP_METHOD_CANCEL;
		ninit += initial[i];
	}
	printf("bench_rules: %s: %zu messages, %zu initial requests; scanner %s; %u runs\n", path,
	       all.n, ninit, sip_scan_name(), runs);

	/* The scanner with and without the rule fields, on every message. */
	for (int rf = 0; rf < 2; rf++) {
		for (unsigned r = 0; r < runs; r++) {
			uint64_t t0 = now_ns();
			for (size_t i = 0; i < all.n; i++) {
				struct sip_msg x;
				sink += rf ? sip_parse_rf(all.p[i], all.len[i], &x)
				           : sip_parse(all.p[i], all.len[i], &x);
				sink += x.call_id.len;
			}
			t[r] = now_ns() - t0;
		}
		printf("scan %-12s ns/msg=%.1f\n", rf ? "sip_parse_rf" : "sip_parse",
		       (double)median(t, runs) / (double)all.n);
	}

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (size_t ci = 0; ci <= sizeof(counts) / sizeof(counts[0]); ci++) {
			unsigned n = ci == 0 ? 0 : counts[ci - 1];
			struct rules_cond *conds;
			char *store, err[256];
			struct rules_def *d;
			struct rules *rs;
			struct rules_scratch *sc;
			uint64_t c0, compile_ns;
			size_t matched = 0;

			if (n > max)
				break;
			if (only != NULL) {
				char want[32];

				snprintf(want, sizeof(want), "%s:%u", shapes[s], n);
				if (strcmp(only, want) != 0)
					continue;
			}
			d = gen_rules(shapes[s], n, &conds, &store);
			c0 = now_ns();
			rs = rules_compile(d, n, err, sizeof(err));
			compile_ns = now_ns() - c0;
			if (rs == NULL) {
				fprintf(stderr, "bench_rules: %s %u: %s\n", shapes[s], n, err);
				return 1;
			}
			sc = rules_scratch_new(rs);
			if (sc == NULL) {
				fprintf(stderr, "bench_rules: no scratch\n");
				return 1;
			}
			for (unsigned r = 0; r < runs; r++) {
				uint64_t t0 = now_ns();
				for (size_t i = 0; i < all.n; i++) {
					struct rules_input in;
					int got;

					if (!initial[i] || n == 0)
						continue; /* 0: rules off, nothing looked at */
					rules_input_of(&in, all.p[i], &m[i]);
					got = rules_match(rs, sc, &in, NULL, NULL);
					matched += got >= 0;
					sink += (uint64_t)(got + 2);
				}
				t[r] = now_ns() - t0;
			}
			printf("rules shape=%s n=%u ns/initial=%.1f compile_ms=%.1f db_bytes=%zu "
			       "scratch_bytes=%zu matched=%zu\n",
			       shapes[s], n, (double)median(t, runs) / (double)(ninit ? ninit : 1),
			       (double)compile_ns / 1e6, rules_db_bytes(rs),
			       rules_scratch_bytes(sc), matched / runs);
			rules_scratch_free(sc);
			rules_free(rs);
			free(d);
			free(conds);
			free(store);
		}
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.p[i]);
	free(all.p);
	free(all.len);
	free(m);
	free(initial);
	return sink == 42 ? 3 : 0; /* keeps the work observable */
}
