/*
 * keyhash.c - keyed XXH3 of dispatch keys (see include/siphon/keyhash.h).
 * keyhash_init() runs in control or tools once per configuration; keyhash_calc() runs on
 * any lcore and only reads the derived secret. Invariant: the same key gives the same
 * hash on every instance, so the derivation and the hash must never change.
 */
#include "siphon/keyhash.h"

/*
 * Header-only xxHash: XXH3_generateSecret() is in the experimental part of the API, whose
 * ABI the shared library does not promise to keep; inlining also lets the compiler
 * specialise the hash for the fixed secret size.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(KEYHASH_SECRET_SIZE >= XXH3_SECRET_SIZE_MIN, "secret too short for XXH3");

int
keyhash_init(struct keyhash *kh, const void *key, size_t len)
{
	/* XXH3_generateSecret() reads customSeedSize bytes from a NULL seed: undefined. */
	if (kh == NULL || (key == NULL && len > 0))
		return -1;
	/* len == 0 derives from xxHash's default secret: valid, but public, so not secret. */
	if (XXH3_generateSecret(kh->secret, sizeof(kh->secret), key, len) != XXH_OK)
		return -1;
	return 0;
}

uint64_t
keyhash_calc(const struct keyhash *kh, const void *p, size_t len)
{
	return XXH3_64bits_withSecret(p, len, kh->secret, sizeof(kh->secret));
}
