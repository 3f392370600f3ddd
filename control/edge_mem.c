/*
 * edge_mem.c - jemalloc for the edge only, through its non-standard API (mallocx,
 * rallocx, dallocx with MALLOCX_ARENA of an arena created for the edge; mallctl for
 * statistics). Debian's libjemalloc exports unprefixed malloc(): linking it would replace
 * glibc's malloc in the whole daemon, so it is dlopen()ed RTLD_LOCAL instead and only
 * these entry points are looked up. Control plane; the arena is the edge's alone.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "edge_mem.h"

/* jemalloc's flag encoding (jemalloc.h, stable since 4.0): arena a is ((a + 1) << 20),
 * MALLOCX_ZERO is 0x40, and MALLOCX_TCACHE_NONE keeps the thread cache out so that the
 * arena's figures are what the edge holds. */
#define MEM_ARENA(a)   ((int)(((unsigned)(a) + 1u) << 20))
#define MEM_ZERO       0x40
#define MEM_TCACHE_OFF (1 << 8)

static struct {
	pthread_once_t once;
	int ok; /* jemalloc loaded and the arena made */
	int flags;
	unsigned arena;
	char why[160];
	void *(*mallocx)(size_t, int);
	void *(*rallocx)(void *, size_t, int);
	void (*dallocx)(void *, int);
	int (*mallctl)(const char *, void *, size_t *, void *, size_t);
} mem = {.once = PTHREAD_ONCE_INIT};

static void
mem_load(void)
{
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	size_t sz = sizeof(mem.arena);

	if (h == NULL) {
		snprintf(mem.why, sizeof(mem.why), "%s", dlerror());
		return;
	}
	*(void **)&mem.mallocx = dlsym(h, "mallocx");
	*(void **)&mem.rallocx = dlsym(h, "rallocx");
	*(void **)&mem.dallocx = dlsym(h, "dallocx");
	*(void **)&mem.mallctl = dlsym(h, "mallctl");
	if (mem.mallocx == NULL || mem.rallocx == NULL || mem.dallocx == NULL ||
	    mem.mallctl == NULL) {
		snprintf(mem.why, sizeof(mem.why), "libjemalloc.so.2 lacks mallocx/mallctl");
		return; /* never dlclose: nothing of it is in use, and it is tiny */
	}
	if (mem.mallctl("arenas.create", &mem.arena, &sz, NULL, 0) != 0) {
		snprintf(mem.why, sizeof(mem.why), "jemalloc: arenas.create failed");
		return;
	}
	mem.flags = MEM_ARENA(mem.arena) | MEM_TCACHE_OFF;
	mem.ok = 1;
}

int
edge_mem_open(char *why, size_t len)
{
	pthread_once(&mem.once, mem_load);
	if (!mem.ok && len > 0)
		snprintf(why, len, "%s", mem.why);
	return mem.ok;
}

void *
edge_mem_calloc(size_t n)
{
	if (n == 0)
		n = 1;
	return mem.ok ? mem.mallocx(n, mem.flags | MEM_ZERO) : calloc(1, n);
}

void *
edge_mem_realloc(void *p, size_t n)
{
	if (p == NULL)
		return edge_mem_calloc(n);
	return mem.ok ? mem.rallocx(p, n, mem.flags) : realloc(p, n);
}

void
edge_mem_free(void *p)
{
	if (p == NULL)
		return;
	if (mem.ok)
		mem.dallocx(p, mem.flags);
	else
		free(p);
}

static uint64_t
mem_stat(const char *fmt, unsigned arena)
{
	char name[96];
	size_t v = 0, sz = sizeof(v);

	snprintf(name, sizeof(name), fmt, arena);
	return mem.mallctl(name, &v, &sz, NULL, 0) == 0 ? v : 0;
}

void
edge_mem_stats(struct edge_mem_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!mem.ok)
		return;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	mem.mallctl("epoch", &epoch, &sz, &epoch, sz);
	st->jemalloc = 1;
	st->allocated = mem_stat("stats.arenas.%u.small.allocated", mem.arena) +
	                mem_stat("stats.arenas.%u.large.allocated", mem.arena);
	st->resident = mem_stat("stats.arenas.%u.resident", mem.arena);
	if (st->resident == 0)
		st->resident = mem_stat("stats.resident", 0);
}

/* OpenSSL's allocations (an SSL object, its records, a handshake's state) are what a TLS
 * connection costs; through these they land in the edge's arena, so its figures are the
 * edge's whole cost. */
static void *
mem_ossl_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return mem.mallocx(n != 0 ? n : 1, mem.flags);
}

static void *
mem_ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	if (p == NULL)
		return mem.mallocx(n != 0 ? n : 1, mem.flags);
	if (n == 0) {
		mem.dallocx(p, mem.flags);
		return NULL;
	}
	return mem.rallocx(p, n, mem.flags);
}

static void
mem_ossl_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	if (p != NULL)
		mem.dallocx(p, mem.flags);
}

int
edge_mem_openssl(void)
{
	if (!mem.ok)
		return 0;
	return CRYPTO_set_mem_functions(mem_ossl_malloc, mem_ossl_realloc, mem_ossl_free) == 1;
}
