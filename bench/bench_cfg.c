/*
 * bench_cfg.c - cost of cfg_load() (control plane, per reload) on large generated files.
 * Writes files of about N MiB in two shapes to a temporary folder: "backends" (groups of
 * 50,000 backends) and "vips" (one group of one backend per VIP, each VIP naming its
 * group), loads each several times and reports the median wall time and the time per
 * object, so a linear loader shows a flat ns/object column across sizes.
 * Usage: bench_cfg [MiB ...] (default 1 4 10); run pinned (taskset -c N) on an idle machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "siphon/cfg.h"

#define GROUP_BACKENDS 50000u /* below MAGLEV_MAX_BACKENDS and the default maglev_size */
#define RUNS           3u

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

	return (x > y) - (x < y);
}

/* Writes backends until the file holds mib MiB; returns how many, or 0 on failure. */
static unsigned
gen_backends(FILE *f, unsigned mib)
{
	unsigned n = 0;

	fprintf(f, "groups = (\n");
	for (long size = ftell(f); size < (long)mib << 20; size = ftell(f), n++) {
		if (n % GROUP_BACKENDS == 0)
			fprintf(f, "%s{ name = \"g%u\"; backends = (\n", n ? "); },\n" : "",
			        n / GROUP_BACKENDS);
		fprintf(f,
		        "%s\t{ name = \"b%u\"; address = \"10.%u.%u.%u\"; port = %u; "
		        "weight = %u; }\n",
		        n % GROUP_BACKENDS ? "," : "", n, (n >> 16) & 255, (n >> 8) & 255, n & 255,
		        5060 + n % 7, 1 + n % 100);
	}
	fprintf(f, "); } );\n");
	return n;
}

/* Writes n groups of one backend, then n VIPs naming them, to fill mib MiB. */
static unsigned
gen_vips(FILE *f, unsigned mib)
{
	unsigned n = (unsigned)(((unsigned long)mib << 20) / 130); /* bytes per pair, about */

	fprintf(f, "maglev_size = 3;\ngroups = (\n");
	for (unsigned i = 0; i < n; i++)
		fprintf(f,
		        "{ name = \"g%u\"; backends = ( { name = \"b%u\"; address = "
		        "\"10.%u.%u.%u\"; } ); }%s\n",
		        i, i, (i >> 16) & 255, (i >> 8) & 255, i & 255, i + 1 < n ? "," : "");
	fprintf(f, ");\nvips = (\n");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "{ address = \"11.%u.%u.%u\"; group = \"g%u\"; }%s\n", (i >> 16) & 255,
		        (i >> 8) & 255, i & 255, n - 1 - i, i + 1 < n ? "," : "");
	fprintf(f, ");\n");
	return n;
}

static unsigned
gen(const char *path, unsigned mib, int vips)
{
	FILE *f = fopen(path, "w");
	unsigned n;

	if (f == NULL)
		return 0;
	fprintf(f, "hash_key_hex = \"000102030405060708090a0b0c0d0e0f\";\n");
	n = vips ? gen_vips(f, mib) : gen_backends(f, mib);
	return fclose(f) == 0 ? n : 0;
}

int
main(int argc, char **argv)
{
	static const unsigned def[] = {1, 4, 10};
	char dir[] = "/tmp/bench_cfg.XXXXXX", path[64], err[512];
	unsigned nb = argc > 1 ? (unsigned)argc - 1 : 3;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	printf("%-9s %6s %10s %12s %12s\n", "shape", "MiB", "objects", "load ms", "ns/object");
	for (unsigned i = 0; i < 2 * nb; i++) {
		unsigned a = i / 2, mib = argc > 1 ? (unsigned)atoi(argv[a + 1]) : def[a];
		const char *shape = i % 2 ? "vips" : "backends";
		unsigned n = gen(path, mib, (int)(i % 2));
		uint64_t t[RUNS];

		if (n == 0) {
			fprintf(stderr, "cannot write %s\n", path);
			break;
		}
		for (unsigned r = 0; r < RUNS; r++) {
			struct sph_cfg *cfg;
			uint64_t t0 = now_ns();
			int rc = cfg_load(path, &cfg, err, sizeof(err));

			t[r] = now_ns() - t0;
			if (rc != 0) {
				printf("%-9s %6u %10u   refused: %s\n", shape, mib, n, err);
				t[0] = 0;
				break;
			}
			cfg_free(cfg);
		}
		if (t[0] == 0)
			continue;
		qsort(t, RUNS, sizeof(t[0]), cmp_u64);
		printf("%-9s %6u %10u %12.1f %12.1f\n", shape, mib, n, (double)t[RUNS / 2] / 1e6,
		       (double)t[RUNS / 2] / n);
		fflush(stdout);
	}
	unlink(path);
	rmdir(dir);
	return 0;
}
