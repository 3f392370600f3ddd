/*
 * edge_mem.h - the edge's allocator: jemalloc in an arena of the edge's own, loaded at
 * run time so the rest of the daemon (DPDK, libconfig, health) keeps glibc's malloc.
 * Control plane, edge thread (edge_mem_stats() from any thread). When jemalloc cannot
 * be loaded, edge_mem_open() says why and the edge allocates from libc: same API, no
 * arena statistics.
 */
#ifndef SIPHON_CTL_EDGE_MEM_H
#define SIPHON_CTL_EDGE_MEM_H

#include <stddef.h>
#include <stdint.h>

/** What the edge's memory costs, for the metrics. */
struct edge_mem_stats {
	uint64_t allocated; /**< octets the edge holds (live allocations of its arena) */
	uint64_t resident;  /**< octets of the arena's pages in RAM (resident, whole process
	                         when the arena's own figure is not available) */
	uint8_t jemalloc;   /**< 1: jemalloc serves the edge; 0: libc fallback */
};

/**
 * Load jemalloc (libjemalloc.so.2, RTLD_LOCAL) and create the edge's arena. Idempotent.
 * @param why  Receives the reason when falling back to libc (e.g. the static TLS block
 *             glibc reserves is too small: GLIBC_TUNABLES=glibc.rtld.optional_static_tls=
 *             16384 in the environment lets it load; docs/edge.md).
 * @return 1 with jemalloc, 0 with the libc fallback.
 */
int edge_mem_open(char *why, size_t len);

/** Zeroed memory of n octets, or NULL. */
void *edge_mem_calloc(size_t n);

/** Resize p (from this allocator) to n > 0 octets; NULL when out of memory (p kept). */
void *edge_mem_realloc(void *p, size_t n);

/** Release p (from this allocator); NULL is a no-op. */
void edge_mem_free(void *p);

/**
 * Route OpenSSL's allocations to the edge's arena too (CRYPTO_set_mem_functions()), so the
 * figures include what TLS costs. Only possible before OpenSSL allocated anything in the
 * process; call right after edge_mem_open().
 * @return 1 when OpenSSL now allocates from the arena; 0 otherwise (jemalloc not loaded,
 *         or OpenSSL already in use), with no change.
 */
int edge_mem_openssl(void);

/** Current figures (refreshes jemalloc's statistics epoch). */
void edge_mem_stats(struct edge_mem_stats *st);

#endif /* SIPHON_CTL_EDGE_MEM_H */
