/*
 * test_keyhash.c - Criterion suite for the keyed Call-ID hash (dataplane/core/keyhash.c).
 * Covers determinism across instances, key separation, the effect of a one-byte key change
 * on dispatch, argument checks and golden values that pin the hash across xxHash versions.
 * Keys come from a fixed-seed PRNG, so the printed figures are reproducible.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "siphon/keyhash.h"
#include "siphon/maglev.h"

#define CALLID_LEN 32u

TestSuite(keyhash);

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A Call-ID-like key: 23 random base-36 characters and a host, CALLID_LEN bytes. */
static void
make_callid(uint64_t *s, char out[CALLID_LEN])
{
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t r = 0;

	for (unsigned i = 0; i < 23; i++) {
		if (i % 12 == 0)
			r = splitmix64(s);
		out[i] = alnum[r % 36];
		r /= 36;
	}
	memcpy(out + 23, "@10.0.0.1", 9);
}

static const char test_key[] = "siphon-test-key";

Test(keyhash, same_key_same_hash)
{
	struct keyhash a, b;
	char cid[CALLID_LEN];
	uint64_t s = 1;

	/* Different garbage before init: the result must depend on the key alone. */
	memset(&a, 0x00, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	cr_assert_eq(keyhash_init(&a, test_key, sizeof(test_key) - 1), 0);
	cr_assert_eq(keyhash_init(&b, test_key, sizeof(test_key) - 1), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	for (unsigned i = 0; i < 10000; i++) {
		make_callid(&s, cid);
		cr_assert_eq(keyhash_calc(&a, cid, sizeof(cid)),
		             keyhash_calc(&b, cid, sizeof(cid)));
	}
}

Test(keyhash, different_keys_differ)
{
	struct keyhash a, b;
	char cid[CALLID_LEN];
	uint64_t s = 2;

	cr_assert_eq(keyhash_init(&a, "key-one", 7), 0);
	cr_assert_eq(keyhash_init(&b, "key-two", 7), 0);
	for (unsigned i = 0; i < 10000; i++) {
		make_callid(&s, cid);
		cr_assert_neq(keyhash_calc(&a, cid, sizeof(cid)),
		              keyhash_calc(&b, cid, sizeof(cid)), "Call-ID %u", i);
	}
}

/*
 * The point of the key: an outsider who knows the backends but not the key cannot predict
 * the dispatch. A one-byte key change should move a random fraction (9/10 for 10 equal
 * backends) of Call-IDs; > 80% leaves ten sigma of room at 10k keys.
 */
Test(keyhash, key_byte_change_moves_dispatch)
{
	char ids[10][16];
	struct maglev_backend be[10];
	struct maglev_table *t = malloc(maglev_table_bytes(MAGLEV_DEFAULT_SIZE));
	char key2[sizeof(test_key)];
	struct keyhash a, b;
	char cid[CALLID_LEN];
	unsigned changed = 0;
	uint64_t s = 3;

	cr_assert_not_null(t);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof(ids[i]), "be-%u", i);
		be[i] = (struct maglev_backend){.id = ids[i], .weight = 1, .state = MAGLEV_UP};
	}
	cr_assert_eq(maglev_build(t, MAGLEV_DEFAULT_SIZE, be, 10), 0);
	memcpy(key2, test_key, sizeof(key2));
	key2[5] ^= 0x01;
	cr_assert_eq(keyhash_init(&a, test_key, sizeof(test_key) - 1), 0);
	cr_assert_eq(keyhash_init(&b, key2, sizeof(key2) - 1), 0);
	for (unsigned i = 0; i < 10000; i++) {
		make_callid(&s, cid);
		changed += maglev_lookup(t, keyhash_calc(&a, cid, sizeof(cid))) !=
		           maglev_lookup(t, keyhash_calc(&b, cid, sizeof(cid)));
	}
	printf("[info] one-byte key change: %u of 10000 Call-IDs changed backend among 10 "
	       "(%.2f%%, random would be 90%%)\n",
	       changed, changed / 100.0);
	fflush(stdout);
	cr_assert_gt(changed, 8000);
	free(t);
}

Test(keyhash, arguments)
{
	struct keyhash a, b;

	cr_assert_eq(keyhash_init(&a, NULL, 1), -1);
	cr_assert_eq(keyhash_init(NULL, test_key, 3), -1);
	/* An empty key is allowed (NULL or not) and derives the same secret either way. */
	cr_assert_eq(keyhash_init(&a, NULL, 0), 0);
	cr_assert_eq(keyhash_init(&b, "", 0), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(keyhash_calc(&a, NULL, 0), keyhash_calc(&a, "", 0));
}

Test(keyhash, byte_exact)
{
	struct keyhash kh;

	cr_assert_eq(keyhash_init(&kh, test_key, sizeof(test_key) - 1), 0);
	/* Call-IDs compare case-sensitively, and len bounds what is read. */
	cr_assert_neq(keyhash_calc(&kh, "abc@host", 8), keyhash_calc(&kh, "ABC@host", 8));
	cr_assert_neq(keyhash_calc(&kh, "abc@host", 8), keyhash_calc(&kh, "abc@host", 7));
	cr_assert_eq(keyhash_calc(&kh, "abc@hostX", 8), keyhash_calc(&kh, "abc@hostY", 8));
	/* Longer keys than the secret and keys differing only past the 192nd byte. */
	char k1[300], k2[300];

	memset(k1, 'k', sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[299] = 'K';
	struct keyhash a, b;

	cr_assert_eq(keyhash_init(&a, k1, sizeof(k1)), 0);
	cr_assert_eq(keyhash_init(&b, k2, sizeof(k2)), 0);
	cr_assert_neq(memcmp(&a, &b, sizeof(a)), 0);
}

/*
 * Golden values, checked against libxxhash 0.8.1's own XXH3_generateSecret() +
 * XXH3_64bits_withSecret(). Instances on different builds must agree on every hash, so a
 * failure here means the hash changed and mixed deployments would disagree.
 */
Test(keyhash, golden)
{
	static const char cid[] = "a84b4c76e66710@pc33.atlanta.com";
	struct keyhash kh;

	cr_assert_eq(keyhash_init(&kh, "siphon", 6), 0);
	cr_assert_eq(keyhash_calc(&kh, cid, sizeof(cid) - 1), UINT64_C(0xcc361de727af3959));
	cr_assert_eq(keyhash_init(&kh, NULL, 0), 0);
	cr_assert_eq(keyhash_calc(&kh, cid, sizeof(cid) - 1), UINT64_C(0xf31c38ce068ea6b7));
	cr_assert_eq(keyhash_calc(&kh, "", 0), UINT64_C(0x4d426a36efa01666));
}
