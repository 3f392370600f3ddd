/*
 * cfg_src.h - the text cfg_load() hands to libconfig: the main file with every @include
 * spliced in by siphon itself, and a map from each line of that text back to its file
 * and line. Control plane and tools only (internal to control/cfg*.c). Invariant: every
 * file is opened without blocking and read only when it is a regular file, and the
 * whole text stays within CFG_FILE_MAX bytes, so no file can hang, kill or stall a reload.
 */
#ifndef SIPHON_CFG_SRC_H
#define SIPHON_CFG_SRC_H

#include <stddef.h>

/* One run of consecutive lines of the spliced text that come from one file. */
struct cfg_src_seg {
	unsigned first; /* its first line in the spliced text (1-based) */
	unsigned file;  /* index into cfg_src.files */
	unsigned line;  /* the same line's number in that file */
};

struct cfg_src {
	char *text; /* spliced, NUL-terminated, without any @include left */
	size_t len, cap;
	unsigned lines; /* line of the spliced text being written */
	struct cfg_src_seg *segs;
	size_t nb_segs, cap_segs;
	char **files; /* names as messages show them: as given, or dir/include */
	size_t nb_files, cap_files;
	size_t total;      /* bytes read over every file, @include repeats counted */
	unsigned includes; /* @include directives followed */
	const char *dir;   /* the main file's folder: where @include paths start */
	char *err;         /* one line on failure, "file:line: problem" */
	size_t errlen;
	/* Scanner state that spans files: an included file may sit inside a list. */
	unsigned depth;     /* open brackets */
	char open[256];     /* their kinds: '{', '(' or '[' */
	unsigned keys[257]; /* settings seen directly in each open group; [0]: the root */
	unsigned open_line[257];
};

/*
 * Reads path (messages call it that), splices its includes (resolved from dir), and
 * checks what libconfig 1.5 would get wrong: unclosed comments and strings, integer
 * literals that do not fit in 32 bits, groups with more settings than any section has.
 * @return 0, or -1 with s->err set; cfg_src_free() releases s either way.
 */
int cfg_src_read(struct cfg_src *s, const char *path, const char *dir, char *err, size_t errlen);

/* The file and line of line `line` of the spliced text; *file is NULL for line 0. */
void cfg_src_where(const struct cfg_src *s, unsigned line, const char **file, unsigned *out);

/* The index in s->files of the file line `line` of the spliced text comes from (0 for
 * line 0: the main file). */
unsigned cfg_src_file(const struct cfg_src *s, unsigned line);

void cfg_src_free(struct cfg_src *s);

#endif /* SIPHON_CFG_SRC_H */
