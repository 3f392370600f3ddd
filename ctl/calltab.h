/*
 * calltab.h - siphonctl's Call-ID table: which backends each Call-ID was sent to.
 *
 * scan records every routable message as (Call-ID, backend) and reads back two facts:
 * whether the pair is new (so a backend's "calls" counts distinct Call-IDs) and how many
 * Call-IDs reached more than one backend (the split check; always 0 with one fixed table,
 * meaningful once tables change between messages, as with reloads). Open addressing with
 * linear probing over a power-of-two array; keys are copied and compared as bytes, exactly
 * as the dataplane hashes them (RFC 3261 Call-IDs are case-sensitive). Tool code: it
 * allocates freely and is single-threaded.
 */
#ifndef SIPHON_CTL_CALLTAB_H
#define SIPHON_CTL_CALLTAB_H

#include <stddef.h>
#include <stdint.h>

struct calltab;

/** An empty table, or NULL when out of memory. */
struct calltab *calltab_new(void);

/** Release t and every key it holds. NULL is a no-op. */
void calltab_free(struct calltab *t);

/**
 * Record that the Call-ID key[0, len) went to backend.
 *
 * @return 1 when that Call-ID had not been seen with that backend before, 0 when it had,
 *         -1 when out of memory (t unchanged).
 */
int calltab_add(struct calltab *t, const uint8_t *key, size_t len, uint32_t backend);

/** Number of distinct Call-IDs recorded. */
size_t calltab_count(const struct calltab *t);

/** Number of Call-IDs recorded with more than one backend. */
size_t calltab_split(const struct calltab *t);

#endif /* SIPHON_CTL_CALLTAB_H */
