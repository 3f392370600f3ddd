/*
 * bench_maglev.c - cost of the dispatcher core: maglev_build() (control plane, per reload)
 * and keyhash_calc() + maglev_lookup() (dataplane, per packet).
 * Reports the median of several builds in ns and TSC cycles, and the mean lookup cost over
 * 10M Call-ID-like keys. Correctness lives in tests/test_maglev.c and tests/test_keyhash.c.
 * Usage: bench_maglev [build-runs] ; run pinned (taskset -c N) on an idle machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/sph.h"

#define CALLID_LEN   32u
#define NB_KEYS      65536u /* distinct keys, cycled: 2 MiB stays in L2/L3 like a hot burst */
#define NB_LOOKUPS   10000000u
#define MAX_RUNS     101u
#define DEFAULT_RUNS 11u

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

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t
median(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* n backends with ids like a config would hold, weights 1..4, one in 16 DOWN. */
static struct maglev_backend *
make_backends(unsigned n, char (**ids)[32])
{
	struct maglev_backend *be = calloc(n, sizeof(*be));
	char(*id)[32] = calloc(n, sizeof(*id));

	if (be == NULL || id == NULL) {
		fprintf(stderr, "bench_maglev: out of memory\n");
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(id[i], sizeof(id[i]), "10.%u.%u.%u:5060", i >> 16, (i >> 8) & 255,
		         i & 255);
		be[i] = (struct maglev_backend){
		        .id = id[i], .weight = 1 + i % 4, .state = i % 16 == 15 ? MAGLEV_DOWN : 0};
	}
	*ids = id;
	return be;
}

static void
bench_build(unsigned n, uint32_t size, unsigned runs)
{
	char(*ids)[32];
	struct maglev_backend *be = make_backends(n, &ids);
	struct maglev_table *t = malloc(maglev_table_bytes(size));
	uint64_t ns[MAX_RUNS], cyc[MAX_RUNS];

	if (t == NULL) {
		fprintf(stderr, "bench_maglev: out of memory\n");
		exit(1);
	}
	/* One untimed build faults the table in, as a reload into a warm buffer would. */
	if (maglev_build(t, size, be, n) != 0) {
		fprintf(stderr, "bench_maglev: build of %u backends into %u failed\n", n, size);
		exit(1);
	}
	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now_ns(), c0 = cycles();

		maglev_build(t, size, be, n);
		cyc[r] = cycles() - c0;
		ns[r] = now_ns() - t0;
	}
	printf("build backends=%u size=%u runs=%u median_us=%.1f median_cycles=%llu\n", n, size,
	       runs, median(ns, runs) / 1e3, (unsigned long long)median(cyc, runs));
	free(t);
	free(ids);
	free(be);
}

static void
bench_lookup(void)
{
	static const char key[] = "bench-key";
	char(*ids)[32];
	struct maglev_backend *be = make_backends(100, &ids);
	struct maglev_table *t = malloc(maglev_table_bytes(MAGLEV_DEFAULT_SIZE));
	char *keys = malloc((size_t)NB_KEYS * CALLID_LEN);
	struct keyhash kh;
	uint64_t s = 1, sink = 0, hsink = 0;

	if (t == NULL || keys == NULL || keyhash_init(&kh, key, sizeof(key) - 1) != 0 ||
	    maglev_build(t, MAGLEV_DEFAULT_SIZE, be, 100) != 0) {
		fprintf(stderr, "bench_maglev: lookup setup failed\n");
		exit(1);
	}
	/* Call-ID-like: 23 base-36 characters and a host, CALLID_LEN bytes. */
	for (unsigned i = 0; i < NB_KEYS; i++) {
		char *k = keys + (size_t)i * CALLID_LEN;
		uint64_t r = 0;

		for (unsigned j = 0; j < 23; j++) {
			if (j % 12 == 0)
				r = splitmix64(&s);
			k[j] = "0123456789abcdefghijklmnopqrstuvwxyz"[r % 36];
			r /= 36;
		}
		memcpy(k + 23, "@10.0.0.1", 9);
	}

	/* Hash alone, then hash + lookup: the difference is the table load. */
	uint64_t t0 = now_ns(), c0 = cycles();

	for (unsigned i = 0; i < NB_LOOKUPS; i++)
		hsink += keyhash_calc(&kh, keys + (size_t)(i % NB_KEYS) * CALLID_LEN, CALLID_LEN);
	uint64_t c1 = cycles(), t1 = now_ns();

	for (unsigned i = 0; i < NB_LOOKUPS; i++) {
		uint64_t h =
		        keyhash_calc(&kh, keys + (size_t)(i % NB_KEYS) * CALLID_LEN, CALLID_LEN);

		sink += maglev_lookup(t, h);
	}
	uint64_t c2 = cycles(), t2 = now_ns();

	printf("keyhash_calc len=%u n=%u ns_per_key=%.2f cycles_per_key=%.1f\n", CALLID_LEN,
	       NB_LOOKUPS, (double)(t1 - t0) / NB_LOOKUPS, (double)(c1 - c0) / NB_LOOKUPS);
	printf("keyhash_calc+maglev_lookup len=%u size=%u n=%u ns_per_key=%.2f "
	       "cycles_per_key=%.1f (sink %llu)\n",
	       CALLID_LEN, MAGLEV_DEFAULT_SIZE, NB_LOOKUPS, (double)(t2 - t1) / NB_LOOKUPS,
	       (double)(c2 - c1) / NB_LOOKUPS, (unsigned long long)((sink + hsink) & 0xff));
	free(keys);
	free(t);
	free(ids);
	free(be);
}

int
main(int argc, char **argv)
{
	unsigned runs = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : DEFAULT_RUNS;
	static const struct {
		unsigned n;
		uint32_t size;
	} builds[] = {
	        {10, MAGLEV_DEFAULT_SIZE},
	        {100, MAGLEV_DEFAULT_SIZE},
	        {1000, MAGLEV_DEFAULT_SIZE},
	        {1000, 655373},
	};

	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: bench_maglev [build-runs 1..%u]\n", MAX_RUNS);
		return 2;
	}
	for (unsigned i = 0; i < SPH_ARRAY_SIZE(builds); i++)
		bench_build(builds[i].n, builds[i].size, runs);
	bench_lookup();
	printf("bench_maglev: done\n");
	return 0;
}
