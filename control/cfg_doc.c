/*
 * cfg_doc.c - keeps docs/config.md's key reference in step with cfg.c's key tables.
 * Build tool, never part of a daemon. Between a line `<!-- keys: SECTION -->` and the
 * next `<!-- end keys -->` the document holds exactly what cfg_doc_write() prints for
 * SECTION; everything else is hand-written and left alone.
 * Usage: cfg_doc --check docs/config.md  (exit 1 when it differs: the meson test)
 *        cfg_doc --write docs/config.md  (regenerate in place)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/cfg.h"

#define OPEN_TAG  "<!-- keys: "
#define CLOSE_TAG "<!-- end keys -->"

/* The document with every marked table regenerated, in a malloc'd buffer; NULL on error. */
static char *
regenerate(const char *doc, size_t *len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	const char *p = doc;

	if (f == NULL)
		return NULL;
	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t l = e != NULL ? (size_t)(e - p) + 1 : strlen(p);

		fwrite(p, 1, l, f);
		if (strncmp(p, OPEN_TAG, strlen(OPEN_TAG)) == 0) {
			char name[32];
			const char *s = p + strlen(OPEN_TAG), *end = strstr(s, " -->");
			const char *close = strstr(p + l, CLOSE_TAG);

			if (end == NULL || (size_t)(end - s) >= sizeof(name) || close == NULL) {
				fprintf(stderr, "cfg_doc: malformed marker: %.*s", (int)l, p);
				goto fail;
			}
			memcpy(name, s, (size_t)(end - s));
			name[end - s] = '\0';
			if (cfg_doc_write(f, name) < 0) {
				fprintf(stderr, "cfg_doc: no key table called \"%s\"\n", name);
				goto fail;
			}
			p = close;
			continue;
		}
		p += l;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	*len = n;
	return out;
fail:
	fclose(f);
	free(out);
	return NULL;
}

int
main(int argc, char **argv)
{
	char *doc = NULL, *gen;
	size_t dn = 0, gn = 0, cap = 0;
	FILE *f;
	int write;

	if (argc != 3 || (strcmp(argv[1], "--check") != 0 && strcmp(argv[1], "--write") != 0)) {
		fprintf(stderr, "usage: cfg_doc --check|--write docs/config.md\n");
		return 2;
	}
	write = strcmp(argv[1], "--write") == 0;
	f = fopen(argv[2], "r");
	if (f == NULL) {
		perror(argv[2]);
		return 2;
	}
	for (;;) {
		if (dn + 1 >= cap) {
			char *g = realloc(doc, cap = cap ? cap * 2 : 65536);

			if (g == NULL) {
				fclose(f);
				free(doc);
				return 2;
			}
			doc = g;
		}
		size_t got = fread(doc + dn, 1, cap - dn - 1, f);

		if (got == 0)
			break;
		dn += got;
	}
	fclose(f);
	doc[dn] = '\0';
	gen = regenerate(doc, &gn);
	if (gen == NULL) {
		free(doc);
		return 2;
	}
	if (gn == dn && memcmp(gen, doc, dn) == 0) {
		free(gen);
		free(doc);
		return 0;
	}
	if (!write) {
		fprintf(stderr,
		        "%s: the key reference differs from control/cfg.c's key tables; "
		        "regenerate it with: build/tests/cfg_doc --write %s\n",
		        argv[2], argv[2]);
		free(gen);
		free(doc);
		return 1;
	}
	f = fopen(argv[2], "w");
	if (f == NULL || fwrite(gen, 1, gn, f) != gn || fclose(f) != 0) {
		perror(argv[2]);
		free(gen);
		free(doc);
		return 2;
	}
	free(gen);
	free(doc);
	return 0;
}
