/**
 * @file keyhash.h
 * Keyed 64-bit hash of dispatch keys (Call-IDs), shared by every instance.
 *
 * The key is configuration: the same on every instance behind one ECMP group,
 * so every instance maps a Call-ID to the same backend, and secret, so that an
 * outsider cannot craft Call-IDs that all land on one backend. It is XXH3 with
 * a 192-byte secret derived from the configured key (XXH3_generateSecret), the
 * keyed mode xxHash recommends over a bare 64-bit seed. Pure C, no DPDK.
 */
#ifndef SIPHON_KEYHASH_H
#define SIPHON_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/** Size of the derived secret (XXH3_SECRET_DEFAULT_SIZE). */
#define KEYHASH_SECRET_SIZE 192

/** A derived hashing secret; read-only after keyhash_init(), safe to share. */
struct keyhash {
	uint8_t secret[KEYHASH_SECRET_SIZE];
};

/**
 * Derive the hashing secret from a configured key of any length.
 *
 * @param kh   Filled in.
 * @param key  Configured key bytes (may be NULL when len is 0).
 * @param len  Key length. An empty key derives xxHash's public default secret,
 *             which hides nothing: configuration must demand a real key.
 * @return 0, or -1 when kh is NULL or key is NULL with len > 0.
 *
 * Control plane or tools; runs once per configuration.
 */
int keyhash_init(struct keyhash *kh, const void *key, size_t len);

/**
 * Hash len bytes at p under kh. Byte-exact: Call-IDs compare case-sensitively
 * (RFC 3261 §20.8), so they hash as written. Any lcore; no allocation.
 */
uint64_t keyhash_calc(const struct keyhash *kh, const void *p, size_t len);

#endif /* SIPHON_KEYHASH_H */
