/*
 * bench_sip.c - cost of sip_parse() (dataplane, once per datagram) under each scanner, side by
 * side in one run with libosip2's osip_message_parse() (a comparison baseline only) and a floor
 * that reads every octet once (floor.h: AVX2, or scalar without it). All read the same SIP/UDP
 * payloads, loaded from pcaps into one arena so the working set is the whole capture.
 * Correctness: tests/test_sip.c.
 * Usage: bench_sip [--runs N] [--cold] [--json FILE] [pcap...] ; run pinned (taskset -c N),
 * machine idle. --cold adds, beside each hot pass, one with the corpus flushed from every
 * cache level (scripts/gen-corpus writes a corpus big enough for that to matter).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <x86intrin.h>
#endif

#include <pcap/pcap.h>

#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/sph.h"
#include "floor.h"

/*
 * libosip2 is the baseline, nothing more: its headers come after ours because they #define
 * SIP_OK (status 200) over our enum's SIP_OK; the #undef gives the name back to sip.h. The
 * only libosip2 code used is in pass_osip() and the parser_init() call in main().
 */
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#undef SIP_OK

#define DEFAULT_PCAP "bench/pcaps/mixed-calls.pcap"
#define DEFAULT_RUNS 15u
#define MAX_RUNS     101u

/* ------------------------------------------------------------------------ */
/* Clocks and statistics */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* TSC where there is one; 0 elsewhere, and the cycle column then reads 0. */
static uint64_t
cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return 0;
#endif
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Median of v[0, n); sorts a copy so the per-run order stays for the JSON. */
static uint64_t
median(const uint64_t *v, unsigned n)
{
	uint64_t tmp[MAX_RUNS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_u64);
	return tmp[n / 2];
}

/* ------------------------------------------------------------------------ */
/* Corpus: every UDP payload of the pcaps, back to back in one arena */

struct corpus {
	uint8_t *arena;                    /* FLOOR_BACK zeros, then payloads in capture order */
	size_t bytes;                      /* payload octets (arena holds FLOOR_BACK more) */
	size_t cap;                        /* allocated octets of arena */
	uint32_t *off;                     /* payload i is arena[off[i], off[i] + len[i]) */
	uint16_t *len;                     /* UDP payload lengths (pkt_info.payload_len) */
	size_t n;                          /* payloads */
	size_t ncap;                       /* allocated entries of off and len */
	size_t frames;                     /* frames read over all pcaps */
	size_t skipped[PKT_VERDICT_COUNT]; /* frames not loaded, by pkt_decode() verdict */
	size_t skip_empty;                 /* UDP datagrams with no payload */
	size_t skip_link;                  /* frames of a link type we do not decode */
};

static void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL) {
		fprintf(stderr, "bench_sip: out of memory\n");
		exit(1);
	}
	return q;
}

static void
corpus_add(struct corpus *c, const uint8_t *p, uint16_t len)
{
	if (c->n == c->ncap) {
		c->ncap = c->ncap ? 2 * c->ncap : 4096;
		c->off = xrealloc(c->off, c->ncap * sizeof(*c->off));
		c->len = xrealloc(c->len, c->ncap * sizeof(*c->len));
	}
	/* The leading zeros keep the floor's tail window, which ends at a payload's end,
	 * inside the arena for a first payload shorter than 32 octets. */
	size_t at = FLOOR_BACK + c->bytes;

	if (at + len > c->cap) {
		while (at + len > c->cap)
			c->cap = c->cap ? 2 * c->cap : (1u << 20);
		c->arena = xrealloc(c->arena, c->cap);
		if (c->bytes == 0)
			memset(c->arena, 0, FLOOR_BACK);
	}
	if (at + len > UINT32_MAX) {
		fprintf(stderr, "bench_sip: captures exceed 4 GiB of payload\n");
		exit(1);
	}
	memcpy(c->arena + at, p, len);
	c->off[c->n] = (uint32_t)at;
	c->len[c->n] = len;
	c->bytes += len;
	c->n++;
}

/* Decode one frame with the dataplane's own decoder and keep its UDP payload. */
static void
corpus_frame(struct corpus *c, int dlt, const uint8_t *data, size_t caplen)
{
	struct pkt_info pi;
	enum pkt_verdict v;
	size_t l2 = 0; /* octets before the IP header for pkt_decode_ip() */

	c->frames++;
	switch (dlt) {
	case DLT_EN10MB:
		v = pkt_decode(data, caplen, &pi);
		break;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		v = pkt_decode_ip(data, caplen, &pi);
		break;
	case DLT_LINUX_SLL: /* 16-octet cooked header */
		l2 = 16;
		goto cooked;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2: /* 20-octet cooked header */
		l2 = 20;
		goto cooked;
#endif
	default:
		c->skip_link++;
		return;
	}
	goto decoded;
cooked:
	if (caplen < l2) {
		c->skipped[PKT_TRUNCATED]++;
		return;
	}
	v = pkt_decode_ip(data + l2, caplen - l2, &pi);
	data += l2;
decoded:
	if (v != PKT_OK) {
		c->skipped[v < PKT_VERDICT_COUNT ? v : PKT_TRUNCATED]++;
		return;
	}
	if (pi.payload_len == 0) {
		c->skip_empty++;
		return;
	}
	corpus_add(c, data + pi.payload_off, pi.payload_len);
}

static int
corpus_load(struct corpus *c, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	pcap_t *pc = pcap_open_offline(path, err);
	int dlt, rc;

	if (pc == NULL) {
		fprintf(stderr, "bench_sip: %s: %s\n", path, err);
		return -1;
	}
	dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		corpus_frame(c, dlt, data, h->caplen);
	if (rc == PCAP_ERROR)
		fprintf(stderr, "bench_sip: %s: %s (keeping the frames read so far)\n", path,
		        pcap_geterr(pc));
	pcap_close(pc);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Contenders: one pass each over the whole corpus */

enum contender_kind {
	CT_FLOOR = 0,
	CT_SIPHON,
	CT_OSIP,
};

struct contender {
	enum contender_kind kind;
	enum sip_scan_impl impl;    /* CT_SIPHON: scanner selected before each pass */
	char name[24];              /* "siphon-avx2", "floor-avx2", "libosip2" */
	bool avx2;                  /* CT_FLOOR: the AVX2 loop runs */
	uint64_t ns[MAX_RUNS];      /* per timed pass */
	uint64_t cyc[MAX_RUNS];     /* per timed pass, TSC ticks */
	uint64_t ns_cold[MAX_RUNS]; /* --cold: per timed pass after flush_corpus() */
	uint64_t sink;              /* of the first pass: keeps the work observable */
	uint64_t fails;             /* first pass: non-SIP_OK (siphon) or non-zero return (osip) */
	uint64_t verdicts[SIP_VERDICT_COUNT]; /* CT_SIPHON, first pass */
	double ns_msg, cyc_msg, mbps;         /* medians over the timed passes */
	double ns_msg_cold;                   /* --cold: median over the cold passes */
};

/*
 * The floor: every octet of every message read once, the least any scanner must do
 * (floor.h). Each pass is one function with the per-message loop inlined, so a message
 * costs no call; callgrind's --toggle-collect='floor_pass_avx2*' counts exactly this loop
 * (the '*' for the .constprop clone GCC makes of it).
 */
#ifdef FLOOR_HAVE_AVX2
__attribute__((target("avx2"), noinline)) static uint64_t
floor_pass_avx2(const struct corpus *c)
{
	__m256i acc = _mm256_setzero_si256();

	for (size_t i = 0; i < c->n; i++)
		acc = floor_lf_avx2(acc, c->arena + c->off[i], c->len[i]);
	return floor_sum_avx2(acc);
}
#endif

/* Without AVX2 the floor is the scalar loop; the report says which one ran. */
__attribute__((noinline)) static uint64_t
floor_pass_scalar(const struct corpus *c)
{
	uint64_t sink = 0;

	for (size_t i = 0; i < c->n; i++)
		sink += floor_lf_scalar(c->arena + c->off[i], c->len[i]);
	return sink;
}

static uint64_t
pass_floor(const struct corpus *c, bool avx2)
{
#ifdef FLOOR_HAVE_AVX2
	if (avx2)
		return floor_pass_avx2(c);
#endif
	(void)avx2;
	return floor_pass_scalar(c);
}

/* verdicts may be NULL (timed passes): no histogram branch in the measured loop. */
static uint64_t
pass_siphon(const struct corpus *c, uint64_t *verdicts)
{
	struct sip_msg m;
	uint64_t sink = 0;

	for (size_t i = 0; i < c->n; i++) {
		enum sip_verdict v = sip_parse(c->arena + c->off[i], c->len[i], &m);

		sink += (uint64_t)v + m.call_id.len;
		if (verdicts != NULL)
			verdicts[(unsigned)v < SIP_VERDICT_COUNT ? v : SIP_BAD_START_LINE]++;
	}
	return sink;
}

static uint64_t
pass_osip(const struct corpus *c, uint64_t *fails)
{
	uint64_t sink = 0, bad = 0;

	for (size_t i = 0; i < c->n; i++) {
		osip_message_t *sip;
		osip_call_id_t *cid;

		if (osip_message_init(&sip) != 0) {
			bad++;
			continue;
		}
		if (osip_message_parse(sip, (const char *)(c->arena + c->off[i]), c->len[i]) != 0)
			bad++;
		else if ((cid = osip_message_get_call_id(sip)) != NULL && cid->number != NULL)
			sink += strlen(cid->number);
		osip_message_free(sip);
	}
	*fails = bad;
	return sink;
}

static uint64_t
pass_run(struct contender *ct, const struct corpus *c, bool first)
{
	uint64_t fails = 0, sink = 0;

	switch (ct->kind) {
	case CT_FLOOR:
		sink = pass_floor(c, ct->avx2);
		break;
	case CT_SIPHON:
		sink = pass_siphon(c, first ? ct->verdicts : NULL);
		fails = c->n - ct->verdicts[SIP_OK];
		break;
	case CT_OSIP:
		sink = pass_osip(c, &fails);
		break;
	}
	if (first) {
		ct->sink = sink;
		ct->fails = fails;
	}
	return sink;
}

/*
 * --cold: write back and evict every line of the corpus (payloads, offsets, lengths) from
 * every cache level, so the next pass reads it from DRAM, as a dataplane reads frames a
 * NIC has just written (without DDIO). The code, the scanner's tables and the TLB stay
 * warm; the walk is in address order, so the hardware prefetchers still help, as they
 * do within a frame but not across mbufs. @return false where there is no clflush.
 */
static bool
flush_corpus(const struct corpus *c)
{
#if defined(__x86_64__) || defined(__i386__)
	const struct {
		const void *p;
		size_t len;
	} r[] = {{c->arena, FLOOR_BACK + c->bytes},
	         {c->off, c->n * sizeof(*c->off)},
	         {c->len, c->n * sizeof(*c->len)}};

	for (unsigned k = 0; k < SPH_ARRAY_SIZE(r); k++) {
		uintptr_t a = (uintptr_t)r[k].p & ~(uintptr_t)63,
		          end = (uintptr_t)r[k].p + r[k].len;

		for (; a < end; a += 64)
			_mm_clflush((const void *)a);
	}
	_mm_mfence();
	return true;
#else
	(void)c;
	return false;
#endif
}

/* ------------------------------------------------------------------------ */
/* Report */

static void
usage(void)
{
	fprintf(stderr,
	        "usage: bench_sip [--runs 1..%u] [--cold] [--json FILE] [pcap...]\n"
	        "       --cold: also time each pass with the corpus flushed from the caches\n"
	        "       default pcap: " DEFAULT_PCAP " (relative to the current directory)\n",
	        MAX_RUNS);
}

/* A JSON string: quotes, backslashes and control octets escaped. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
write_json(const char *path, const struct corpus *c, const struct contender *ct, unsigned nct,
           const struct contender *auto_ct, const struct contender *fl, const struct contender *os,
           unsigned runs, bool cold, double tsc_ghz, char *const *pcaps, unsigned npcaps)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "{\n  \"pcaps\": [");
	for (unsigned i = 0; i < npcaps; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, pcaps[i]);
	}
	fprintf(f, "],\n  \"msgs\": %zu,\n  \"bytes\": %zu,\n  \"avg_bytes\": %.1f,\n", c->n,
	        c->bytes, (double)c->bytes / (double)c->n);
	fprintf(f,
	        "  \"runs\": %u,\n  \"cold\": %s,\n  \"tsc_ghz\": %.3f,\n  \"siphon_auto\": "
	        "\"%s\",\n",
	        runs, cold ? "true" : "false", tsc_ghz, auto_ct->name + strlen("siphon-"));
	fprintf(f, "  \"siphon_verdicts\": {");
	for (unsigned v = 0, k = 0; v < SIP_VERDICT_COUNT; v++)
		if (auto_ct->verdicts[v] != 0)
			fprintf(f, "%s\"%s\": %" PRIu64, k++ ? ", " : "",
			        sip_verdict_name((enum sip_verdict)v), auto_ct->verdicts[v]);
	fprintf(f, "},\n  \"osip_failures\": %" PRIu64 ",\n  \"contenders\": [\n", os->fails);
	for (unsigned i = 0; i < nct; i++) {
		fprintf(f,
		        "    {\"name\": \"%s\", \"ns_per_msg\": %.2f, \"mb_per_s\": %.1f, "
		        "\"cycles_per_msg\": %.1f, \"ratio_floor\": %.3f, \"speedup_osip\": %.3f",
		        ct[i].name, ct[i].ns_msg, ct[i].mbps, ct[i].cyc_msg,
		        ct[i].ns_msg / fl->ns_msg, os->ns_msg / ct[i].ns_msg);
		if (cold)
			fprintf(f, ", \"ns_per_msg_cold\": %.2f, \"ratio_floor_cold\": %.3f",
			        ct[i].ns_msg_cold, ct[i].ns_msg_cold / fl->ns_msg_cold);
		fprintf(f, "}%s\n", i + 1 < nct ? "," : "");
	}
	fprintf(f,
	        "  ],\n  \"summary\": {\"msgs\": %zu, \"avg_bytes\": %.1f, \"siphon_ns\": %.2f, "
	        "\"floor_ns\": %.2f, \"osip_ns\": %.2f, \"ratio_floor\": %.3f, "
	        "\"speedup_osip\": %.3f",
	        c->n, (double)c->bytes / (double)c->n, auto_ct->ns_msg, fl->ns_msg, os->ns_msg,
	        auto_ct->ns_msg / fl->ns_msg, os->ns_msg / auto_ct->ns_msg);
	if (cold)
		fprintf(f,
		        ", \"siphon_cold_ns\": %.2f, \"floor_cold_ns\": %.2f, "
		        "\"ratio_floor_cold\": %.3f",
		        auto_ct->ns_msg_cold, fl->ns_msg_cold,
		        auto_ct->ns_msg_cold / fl->ns_msg_cold);
	fprintf(f, "}\n}\n");
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	static const enum sip_scan_impl impls[] = {SIP_SCAN_SCALAR, SIP_SCAN_SSE2, SIP_SCAN_AVX2};
	static const char *const impl_names[] = {"scalar", "sse2", "avx2"};
	static struct contender ct[2 + SPH_ARRAY_SIZE(impls)];
	static char *pcaps[256];
	static struct corpus c;
	const char *json = NULL;
	unsigned runs = DEFAULT_RUNS, npcaps = 0, nct = 0;
	bool cold = false;
	struct contender *fl, *os, *auto_ct = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--cold") == 0) {
			cold = true;
		} else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json = argv[++i];
		} else if (argv[i][0] == '-' || npcaps == SPH_ARRAY_SIZE(pcaps)) {
			usage();
			return 2;
		} else {
			pcaps[npcaps++] = argv[i];
		}
	}
	if (runs < 1 || runs > MAX_RUNS) {
		usage();
		return 2;
	}
	if (npcaps == 0)
		pcaps[npcaps++] = DEFAULT_PCAP;
	for (unsigned i = 0; i < npcaps; i++)
		if (corpus_load(&c, pcaps[i]) != 0)
			return 1;
	if (c.n == 0) {
		fprintf(stderr, "bench_sip: no UDP payload in %u pcap(s)\n", npcaps);
		return 1;
	}
	if (cold && !flush_corpus(&c)) {
		fprintf(stderr, "bench_sip: --cold needs clflush (x86), not in this build\n");
		return 2;
	}
	if (parser_init() != 0) {
		fprintf(stderr, "bench_sip: libosip2 parser_init() failed\n");
		return 1;
	}

	/* Contenders, in the order each timed round runs them. */
	fl = &ct[nct++];
	fl->kind = CT_FLOOR;
#ifdef FLOOR_HAVE_AVX2
	__builtin_cpu_init();
	fl->avx2 = __builtin_cpu_supports("avx2");
#endif
	snprintf(fl->name, sizeof(fl->name), "floor-%s", fl->avx2 ? "avx2" : "scalar");
	for (unsigned i = 0; i < SPH_ARRAY_SIZE(impls); i++) {
		if (sip_scan_select(impls[i]) != 0) {
			printf("siphon-%s: not available on this CPU or build, skipped\n",
			       impl_names[i]);
			continue;
		}
		ct[nct].kind = CT_SIPHON;
		ct[nct].impl = impls[i];
		snprintf(ct[nct].name, sizeof(ct[nct].name), "siphon-%s", sip_scan_name());
		nct++;
	}
	os = &ct[nct++];
	os->kind = CT_OSIP;
	snprintf(os->name, sizeof(os->name), "libosip2");

	/* The auto choice is one of the implementations measured; find which. */
	if (sip_scan_select(SIP_SCAN_AUTO) != 0) {
		fprintf(stderr, "bench_sip: sip_scan_select(SIP_SCAN_AUTO) failed\n");
		return 1;
	}
	for (unsigned i = 0; i < nct; i++)
		if (ct[i].kind == CT_SIPHON && strcmp(ct[i].name + 7, sip_scan_name()) == 0)
			auto_ct = &ct[i];
	if (auto_ct == NULL) {
		fprintf(stderr, "bench_sip: auto scanner \"%s\" is none of those measured\n",
		        sip_scan_name());
		return 1;
	}

	/* Warm-up: one untimed pass each faults the arena in and records verdicts and sinks. */
	for (unsigned i = 0; i < nct; i++) {
		if (ct[i].kind == CT_SIPHON)
			sip_scan_select(ct[i].impl);
		pass_run(&ct[i], &c, true);
	}
	/* The AVX2 floor must count what the scalar one counts, or its speed means nothing. */
	if (fl->avx2 && floor_pass_scalar(&c) != fl->sink) {
		fprintf(stderr,
		        "bench_sip: the AVX2 and scalar floors disagree (%" PRIu64
		        " line feeds by AVX2): a bench bug\n",
		        fl->sink);
		return 1;
	}

	/*
	 * Timed rounds interleave the contenders (one pass each per round), so a clock or
	 * frequency drift during the run spreads over all of them instead of biasing one.
	 */
	uint64_t sink = 0, all_ns = 0, all_cyc = 0;

	for (unsigned r = 0; r < runs; r++) {
		for (unsigned i = 0; i < nct; i++) {
			if (ct[i].kind == CT_SIPHON)
				sip_scan_select(ct[i].impl);
			uint64_t t0 = now_ns(), c0 = cycles();

			sink += pass_run(&ct[i], &c, false);
			ct[i].cyc[r] = cycles() - c0;
			ct[i].ns[r] = now_ns() - t0;
			all_ns += ct[i].ns[r];
			all_cyc += ct[i].cyc[r];
			if (!cold)
				continue;
			/* Right after the hot pass, so both see the same machine. */
			flush_corpus(&c);
			t0 = now_ns();
			sink += pass_run(&ct[i], &c, false);
			ct[i].ns_cold[r] = now_ns() - t0;
		}
	}
	sip_scan_select(SIP_SCAN_AUTO);
	for (unsigned i = 0; i < nct; i++) {
		uint64_t ns = median(ct[i].ns, runs);

		ct[i].ns_msg = (double)ns / (double)c.n;
		ct[i].cyc_msg = (double)median(ct[i].cyc, runs) / (double)c.n;
		ct[i].mbps = ns ? (double)c.bytes * 1e3 / (double)ns : 0.0;
		if (cold)
			ct[i].ns_msg_cold = (double)median(ct[i].ns_cold, runs) / (double)c.n;
	}
	double tsc_ghz = all_ns ? (double)all_cyc / (double)all_ns : 0.0;

	/* Input and correctness first: a fast wrong answer is no result. */
	size_t skipped = c.skip_empty + c.skip_link;

	for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
		skipped += c.skipped[v];
	printf("input: %u pcap(s), %zu frames, %zu SIP/UDP payloads, %zu bytes, avg %.1f B/msg\n",
	       npcaps, c.frames, c.n, c.bytes, (double)c.bytes / (double)c.n);
	if (skipped != 0) {
		printf("input: %zu frames skipped:", skipped);
		for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
			if (c.skipped[v] != 0)
				printf(" %s=%zu", pkt_verdict_name((enum pkt_verdict)v),
				       c.skipped[v]);
		if (c.skip_empty != 0)
			printf(" empty_payload=%zu", c.skip_empty);
		if (c.skip_link != 0)
			printf(" unknown_link_type=%zu", c.skip_link);
		printf("\n");
	}
	printf("siphon verdicts, first pass (%s):", auto_ct->name);
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		if (auto_ct->verdicts[v] != 0)
			printf(" %s=%" PRIu64, sip_verdict_name((enum sip_verdict)v),
			       auto_ct->verdicts[v]);
	printf("\n");
	if (auto_ct->fails != 0)
		printf("WARNING: %" PRIu64 " of %zu messages are not SIP_OK; the bundled pcaps "
		       "must be all SIP_OK\n",
		       auto_ct->fails, c.n);
	for (unsigned i = 0; i < nct; i++)
		if (ct[i].kind == CT_SIPHON &&
		    (memcmp(ct[i].verdicts, auto_ct->verdicts, sizeof(ct[i].verdicts)) != 0 ||
		     ct[i].sink != auto_ct->sink))
			printf("WARNING: %s and %s disagree on these messages (verdicts or "
			       "Call-ID lengths)\n",
			       ct[i].name, auto_ct->name);
	printf("libosip2 osip_message_parse failures, first pass: %" PRIu64 " of %zu\n", os->fails,
	       c.n);
	printf("timing: median of %u passes over all messages after one warm-up pass each, "
	       "contenders interleaved; TSC %.3f GHz (TSC ticks at a constant rate, not the core "
	       "clock)\n",
	       runs, tsc_ghz);

	if (cold)
		printf("cold: each timed pass is followed by one after clflush of the whole corpus "
		       "(payloads %.1f MB, offsets, lengths): read from DRAM, code and TLB warm\n",
		       (double)c.bytes / 1e6);
	printf("\n%-16s %10s %10s %12s %10s %12s", "contender", "ns/msg", "MB/s", "cycles/msg",
	       "x floor", "osip/this");
	if (cold)
		printf(" %10s %10s", "cold ns", "x cold fl");
	printf("\n");
	for (unsigned i = 0; i < nct; i++) {
		printf("%-16s %10.1f %10.1f %12.1f %10.2f %12.2f", ct[i].name, ct[i].ns_msg,
		       ct[i].mbps, ct[i].cyc_msg, ct[i].ns_msg / fl->ns_msg,
		       os->ns_msg / ct[i].ns_msg);
		if (cold)
			printf(" %10.1f %10.2f", ct[i].ns_msg_cold,
			       ct[i].ns_msg_cold / fl->ns_msg_cold);
		printf("%s\n", &ct[i] == auto_ct ? "  (auto)" : "");
	}
	printf("(sinks %" PRIu64 ")\n\n", (sink ^ fl->sink ^ os->sink) & 0xff);

	printf("bench_sip: msgs=%zu avg_bytes=%.1f siphon_ns=%.1f floor_ns=%.1f osip_ns=%.1f "
	       "ratio_floor=%.2f speedup_osip=%.1f",
	       c.n, (double)c.bytes / (double)c.n, auto_ct->ns_msg, fl->ns_msg, os->ns_msg,
	       auto_ct->ns_msg / fl->ns_msg, os->ns_msg / auto_ct->ns_msg);
	if (cold)
		printf(" siphon_cold_ns=%.1f floor_cold_ns=%.1f ratio_floor_cold=%.2f",
		       auto_ct->ns_msg_cold, fl->ns_msg_cold,
		       auto_ct->ns_msg_cold / fl->ns_msg_cold);
	printf("\n");
	if (json != NULL)
		write_json(json, &c, ct, nct, auto_ct, fl, os, runs, cold, tsc_ghz, pcaps, npcaps);
	free(c.arena);
	free(c.off);
	free(c.len);
	return 0;
}
