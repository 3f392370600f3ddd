/*
 * calltab.c - open-addressing Call-ID table for siphonctl (see calltab.h).
 * Invariant: the load factor stays at or below 1/2, so a probe always ends on an empty slot.
 * A Call-ID almost always meets one backend, so the first backend is stored inline and only
 * a split Call-ID allocates a list for the others.
 */
#include <stdlib.h>
#include <string.h>

#include "siphon/keyhash.h"

#include "calltab.h"

#define CALLTAB_MIN_CAP 1024u /* initial slots, a power of two */

struct calltab_entry {
	uint8_t *key;   /* copy of the Call-ID; NULL marks an empty slot */
	size_t len;     /* its length */
	uint64_t hash;  /* keyhash of key, kept to rehash and to skip most compares */
	uint32_t first; /* first backend the Call-ID went to */
	uint32_t nb;    /* number of distinct backends: 1 + entries of more */
	uint32_t *more; /* the other backends, nb - 1 of them */
};

struct calltab {
	struct calltab_entry *slot;
	size_t cap;   /* power of two */
	size_t count; /* used slots */
	size_t split; /* entries with nb > 1 */
	struct keyhash kh;
};

struct calltab *
calltab_new(void)
{
	/* A fixed, public key: this table only needs spread, not secrecy. */
	static const char key[] = "siphonctl calltab";
	struct calltab *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cap = CALLTAB_MIN_CAP;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	if (t->slot == NULL) {
		free(t);
		return NULL;
	}
	keyhash_init(&t->kh, key, sizeof(key) - 1);
	return t;
}

void
calltab_free(struct calltab *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		free(t->slot[i].key);
		free(t->slot[i].more);
	}
	free(t->slot);
	free(t);
}

/* Double the array; entries move, keys do not. */
static int
calltab_grow(struct calltab *t)
{
	size_t cap = t->cap * 2;
	struct calltab_entry *s = calloc(cap, sizeof(*s));

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (t->slot[i].key == NULL)
			continue;
		for (j = t->slot[i].hash & (cap - 1); s[j].key != NULL; j = (j + 1) & (cap - 1))
			;
		s[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	return 0;
}

/* Add backend to e's set; 1 when new, 0 when known, -1 when out of memory. */
static int
entry_add_backend(struct calltab *t, struct calltab_entry *e, uint32_t backend)
{
	uint32_t *more;

	if (e->first == backend)
		return 0;
	for (uint32_t i = 0; i + 1 < e->nb; i++)
		if (e->more[i] == backend)
			return 0;
	more = realloc(e->more, e->nb * sizeof(*more));
	if (more == NULL)
		return -1;
	more[e->nb - 1] = backend;
	e->more = more;
	if (e->nb++ == 1)
		t->split++;
	return 1;
}

int
calltab_add(struct calltab *t, const uint8_t *key, size_t len, uint32_t backend)
{
	uint64_t h = keyhash_calc(&t->kh, key, len);
	size_t i;
	uint8_t *copy;

	for (i = h & (t->cap - 1); t->slot[i].key != NULL; i = (i + 1) & (t->cap - 1)) {
		struct calltab_entry *e = &t->slot[i];

		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return entry_add_backend(t, e, backend);
	}
	if (2 * (t->count + 1) > t->cap) {
		if (calltab_grow(t) != 0)
			return -1;
		for (i = h & (t->cap - 1); t->slot[i].key != NULL; i = (i + 1) & (t->cap - 1))
			;
	}
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, key, len);
	t->slot[i] = (struct calltab_entry){
	        .key = copy, .len = len, .hash = h, .first = backend, .nb = 1};
	t->count++;
	return 1;
}

size_t
calltab_count(const struct calltab *t)
{
	return t->count;
}

size_t
calltab_split(const struct calltab *t)
{
	return t->split;
}
