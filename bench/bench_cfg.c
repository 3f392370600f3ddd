/*
 * bench_cfg.c - cost of cfg_load() (control plane, per reload) on large generated files.
 * Writes a file of about N MiB of backends (groups of 50,000, unique names and endpoints)
 * to a temporary folder, loads it several times and reports the median wall time and the
 * time per backend, so a linear loader shows a flat ns/backend column across sizes.
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
#define RUNS           5u

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
gen(const char *path, unsigned mib)
{
	FILE *f = fopen(path, "w");
	unsigned n = 0;
	long size;

	if (f == NULL)
		return 0;
	fprintf(f, "hash_key_hex = \"000102030405060708090a0b0c0d0e0f\";\ngroups = (\n");
	for (size = ftell(f); size < (long)mib << 20; size = ftell(f), n++) {
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
	printf("%6s %10s %12s %12s\n", "MiB", "backends", "load ms", "ns/backend");
	for (unsigned i = 0; i < nb; i++) {
		unsigned mib = argc > 1 ? (unsigned)atoi(argv[i + 1]) : def[i], n = gen(path, mib);
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
				printf("%6u %10u   refused: %s\n", mib, n, err);
				t[0] = 0;
				break;
			}
			cfg_free(cfg);
		}
		if (t[0] == 0)
			continue;
		qsort(t, RUNS, sizeof(t[0]), cmp_u64);
		printf("%6u %10u %12.1f %12.1f\n", mib, n, (double)t[RUNS / 2] / 1e6,
		       (double)t[RUNS / 2] / n);
	}
	unlink(path);
	rmdir(dir);
	return 0;
}
