/*
 * cfg_src.c - reads a configuration file and its @include files into one text for
 * libconfig, with a line map back to the files. Control plane and tools only.
 * siphon reads the files itself because libconfig 1.5 exit()s on an @include of a
 * folder or of "", blocks on a FIFO, and silently drops the rest of a file after an
 * unclosed comment or string; here each of those is a "file:line: problem" error.
 * Invariant: one pass over each byte, so loading stays linear in the file size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "siphon/cfg.h"
#include "siphon/sph.h"
#include "cfg_int.h"
#include "cfg_src.h"

static SPH_COLD __attribute__((format(printf, 4, 5))) int
src_fail(struct cfg_src *s, const char *file, unsigned line, const char *fmt, ...)
{
	char problem[512];
	va_list ap;

	if (s->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(s->err, s->errlen, "%s:%u: %s", file, line, problem);
	else
		snprintf(s->err, s->errlen, "%s: %s", file, problem);
	return -1;
}

static int
emit(struct cfg_src *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;
		char *t;

		while (cap < s->len + n + 1)
			cap *= 2;
		t = realloc(s->text, cap);
		if (t == NULL)
			return -1;
		s->text = t;
		s->cap = cap;
	}
	memcpy(s->text + s->len, p, n);
	s->len += n;
	s->text[s->len] = '\0';
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		s->lines++;
	return 0;
}

/* From the next line of the spliced text on, lines come from file at line. */
static int
seg_push(struct cfg_src *s, unsigned file, unsigned line)
{
	if (s->nb_segs > 0 && s->segs[s->nb_segs - 1].first == s->lines + 1)
		s->nb_segs--; /* the previous run held no line */
	if (s->nb_segs == s->cap_segs) {
		size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
		struct cfg_src_seg *g = realloc(s->segs, cap * sizeof(*g));

		if (g == NULL)
			return -1;
		s->segs = g;
		s->cap_segs = cap;
	}
	s->segs[s->nb_segs++] =
	        (struct cfg_src_seg){.first = s->lines + 1, .file = file, .line = line};
	return 0;
}

void
cfg_src_where(const struct cfg_src *s, unsigned line, const char **file, unsigned *out)
{
	size_t lo = 0, hi = s->nb_segs;

	*file = NULL;
	*out = 0;
	if (line == 0 || s->nb_segs == 0)
		return;
	while (hi - lo > 1) { /* the last run starting at or before line */
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].first <= line)
			lo = mid;
		else
			hi = mid;
	}
	*file = s->files[s->segs[lo].file];
	*out = s->segs[lo].line + (line - s->segs[lo].first);
}

unsigned
cfg_src_file(const struct cfg_src *s, unsigned line)
{
	size_t lo = 0, hi = s->nb_segs;

	if (line == 0 || s->nb_segs == 0)
		return 0;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].first <= line)
			lo = mid;
		else
			hi = mid;
	}
	return s->segs[lo].file;
}

/*
 * Opens path without blocking (a FIFO or a device cannot stall the reload), refuses all
 * but regular files, and reads it whole within what is left of CFG_FILE_MAX. What names
 * the file in messages is shown, at line of the @include (0 for the main file).
 */
static int
slurp(struct cfg_src *s, const char *path, const char *from, unsigned line, const char *what,
      char **text, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *t;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return line ? src_fail(s, from, line, "cannot open include file %s: %s", what,
		                       strerror(errno))
		            : src_fail(s, from, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int dir = S_ISDIR(st.st_mode);

		close(fd);
		if (line == 0)
			return src_fail(s, from, 0, "%s",
			                dir ? "is a directory, not a configuration file"
			                    : "is not a regular file");
		return src_fail(s, from, line, "@include %s: %s", what,
		                dir ? "is a directory, not a file" : "is not a regular file");
	}
	if ((unsigned long long)st.st_size > CFG_FILE_MAX - s->total) {
		close(fd);
		return src_fail(s, from, line,
		                "%s%s%s is larger than the %u MiB a configuration may hold "
		                "(CFG_FILE_MAX, @include files counted)",
		                line ? "@include " : "", line ? what : "", line ? "" : "file",
		                CFG_FILE_MAX >> 20);
	}
	t = malloc((size_t)st.st_size + 1);
	if (t == NULL) {
		close(fd);
		return src_fail(s, from, line, "out of memory");
	}
	/* One byte more than fstat() said, to notice a file that grows while read. */
	while (got <= (size_t)st.st_size) {
		ssize_t r = read(fd, t + got, (size_t)st.st_size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			free(t);
			return src_fail(s, from, line, "cannot read %s: %s", line ? what : "file",
			                strerror(e));
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got > (size_t)st.st_size) {
		free(t);
		return src_fail(s, from, line, "%s changed while being read", line ? what : "file");
	}
	s->total += got;
	*text = t;
	*len = got;
	return 0;
}

static int scan_file(struct cfg_src *s, const char *path, const char *from, unsigned line,
                     const char *what, unsigned level);

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

/*
 * libconfig 1.5 reads an integer literal without an L suffix through atoi()/strtoul()
 * into an int, so 4294967297 arrives as 1 and would pass any range check. Every key
 * siphon knows fits in 31 bits, so any literal that does not fit is refused.
 * @return the index after the literal, or 0 on error (a literal never starts at 0 and
 * ends there).
 */
static size_t
scan_number(struct cfg_src *s, const char *t, size_t n, size_t i, const char *name, unsigned line)
{
	size_t st = i;
	int neg = i > 0 && t[i - 1] == '-', hex = 0, flt = t[i] == '.';
	unsigned long long v = 0;
	unsigned digits = 0; /* significant ones; v is exact up to 12 */

	if (t[i] == '0' && i + 1 < n && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
		hex = 1;
		i += 2;
	}
	for (; i < n && (hex ? cfg_hex_digit(t[i]) >= 0 : IS_DIGIT(t[i])); i++) {
		if (digits == 0 && t[i] == '0')
			continue;
		if (++digits <= 12)
			v = v * (hex ? 16u : 10u) + (unsigned)cfg_hex_digit(t[i]);
	}
	if (digits > 12)
		v = ~0ull;
	if (!hex && i < n && (t[i] == '.' || t[i] == 'e' || t[i] == 'E'))
		flt = 1;
	if (flt) {
		while (i < n &&
		       (IS_DIGIT(t[i]) || t[i] == '.' || t[i] == 'e' || t[i] == 'E' ||
		        ((t[i] == '-' || t[i] == '+') && (t[i - 1] == 'e' || t[i - 1] == 'E'))))
			i++;
		return i;
	}
	if (i < n && t[i] == 'L')
		return i; /* 64-bit literal: libconfig reads it whole */
	if (hex ? v > 0xffffffffull : v > 2147483647ull + (unsigned)neg) {
		src_fail(s, name, line,
		         "integer %s%.*s does not fit in 32 bits (at most 2147483647)",
		         neg ? "-" : "", (int)(i - st < 40 ? i - st : 40), t + st);
		return 0;
	}
	return i;
}

/* Room for a quoted @include name in a message: 40 characters and "...". */
#define CFG_QUOTE_LEN 48

/* An @include path as opened: relative ones start at the main file's folder. */
static char *
join(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p;

	if (rel[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(rel);
	p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

/* An @include at t[i] ('@'), on line `line` that starts at ls. Sets *next past it. */
static int
scan_include(struct cfg_src *s, const char *t, size_t n, size_t i, size_t ls, unsigned file,
             unsigned line, unsigned level, size_t *emitted, size_t *next)
{
	const char *name = s->files[file];
	char q[CFG_QUOTE_LEN], *rel, *path;
	size_t a, e;
	int rc;

	if (n - i < 8 || memcmp(t + i, "@include", 8) != 0)
		return src_fail(s, name, line, "'@' only starts an @include \"file\" directive");
	for (size_t j = ls; j < i; j++)
		if (t[j] != ' ' && t[j] != '\t')
			return src_fail(s, name, line, "@include must start its line");
	for (a = i + 8; a < n && (t[a] == ' ' || t[a] == '\t'); a++)
		;
	if (a == i + 8 || a >= n || t[a] != '"')
		return src_fail(s, name, line,
		                "@include must be followed by a file name in quotes");
	for (e = ++a; e < n && t[e] != '"' && t[e] != '\n' && t[e] != '\0'; e++)
		;
	if (e >= n || t[e] != '"')
		return src_fail(s, name, line, "@include file name has no closing quote");
	if (e == a)
		return src_fail(s, name, line, "@include \"\": no file name");
	if (level >= CFG_INCLUDE_DEPTH)
		return src_fail(s, name, line, "@include nested deeper than %u files",
		                CFG_INCLUDE_DEPTH);
	if (++s->includes > CFG_INCLUDES_MAX)
		return src_fail(s, name, line, "more than %u @include directives",
		                CFG_INCLUDES_MAX);
	rel = strndup(t + a, e - a);
	path = rel != NULL ? join(s->dir, rel) : NULL;
	if (path == NULL) {
		free(rel);
		return src_fail(s, name, line, "out of memory");
	}
	snprintf(q, sizeof(q), "\"%.40s%s\"", rel, strlen(rel) > 40 ? "..." : "");
	/* Bytes a terminal would act on stay out of the one-line message. */
	for (char *c = q + 1; *c != '\0'; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c > '~')
			*c = '?';
	/* Lines before the directive's, then the file, then the rest of its line. */
	if (emit(s, t + *emitted, ls - *emitted) < 0)
		rc = src_fail(s, name, line, "out of memory");
	else if ((rc = scan_file(s, path, name, line, q, level + 1)) == 0 &&
	         seg_push(s, file, line) < 0)
		rc = src_fail(s, name, line, "out of memory");
	*emitted = e + 1;
	*next = e + 1;
	free(path);
	free(rel);
	return rc;
}

/* Tracks brackets and counts the settings of each group, across included files. */
static int
scan_punct(struct cfg_src *s, char c, const char *name, unsigned line)
{
	if (c == '{' || c == '(' || c == '[') {
		if (s->depth >= sizeof(s->open))
			return src_fail(s, name, line, "brackets nested deeper than %zu levels",
			                sizeof(s->open));
		s->open[s->depth++] = c;
		s->keys[s->depth] = 0;
		s->open_line[s->depth] = line;
	} else if ((c == '}' || c == ')' || c == ']') && s->depth > 0) {
		s->depth--; /* a mismatch is libconfig's syntax error to report */
	} else if ((c == '=' || c == ':') && (s->depth == 0 || s->open[s->depth - 1] == '{')) {
		/* libconfig looks each new setting up among its group's settings, so a group
		 * of n settings costs n^2; no section has more than a dozen keys. */
		if (++s->keys[s->depth] > CFG_GROUP_KEYS_MAX)
			return src_fail(s, name, line,
			                "more than %u settings in one group (no section has that "
			                "many keys)",
			                CFG_GROUP_KEYS_MAX);
	}
	return 0;
}

/* Checks the text of one file token by token and splices it into s->text. */
static int
scan_text(struct cfg_src *s, const char *t, size_t n, unsigned file, unsigned level)
{
	const char *name = s->files[file];
	size_t i = 0, ls = 0, emitted = 0;
	unsigned line = 1;

	const char *nul = memchr(t, '\0', n);

	/* libconfig reads a C string: whatever follows a NUL would silently vanish. */
	if (nul != NULL) {
		for (const char *p = t; (p = memchr(p, '\n', (size_t)(nul - p))) != NULL; p++)
			line++;
		return src_fail(s, name, line, "NUL byte in the file");
	}
	if (seg_push(s, file, 1) < 0)
		return src_fail(s, name, 0, "out of memory");
	while (i < n) {
		char c = t[i];

		if (c == '\n') {
			line++;
			ls = ++i;
		} else if (c == '"') {
			unsigned open = line;

			for (i++; i < n && t[i] != '"'; i++) {
				if (t[i] == '\\' && i + 1 < n)
					i++;
				line += t[i] == '\n';
			}
			if (i >= n)
				return src_fail(s, name, open,
				                "string opened here is never closed");
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && t[i + 1] == '/')) {
			while (i < n && t[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && t[i + 1] == '*') {
			unsigned open = line;

			for (i += 2; i < n && !(t[i] == '*' && i + 1 < n && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			if (i >= n)
				return src_fail(s, name, open,
				                "comment /* opened here is never closed");
			i += 2;
		} else if (c == '@') {
			if (scan_include(s, t, n, i, ls, file, line, level, &emitted, &i) < 0)
				return -1;
		} else if (IS_ALPHA(c) || c == '*') {
			while (i < n && (IS_ALPHA(t[i]) || IS_DIGIT(t[i]) || t[i] == '-' ||
			                 t[i] == '_' || t[i] == '*'))
				i++;
		} else if (c == '.' || IS_DIGIT(c)) {
			i = scan_number(s, t, n, i, name, line);
			if (i == 0)
				return -1;
		} else {
			if (scan_punct(s, c, name, line) < 0)
				return -1;
			i++;
		}
	}
	/* A file that ends without a newline must not join the next line of its includer. */
	if (emit(s, t + emitted, n - emitted) < 0 ||
	    (n > 0 && t[n - 1] != '\n' && emit(s, "\n", 1) < 0))
		return src_fail(s, name, 0, "out of memory");
	return 0;
}

static int
scan_file(struct cfg_src *s, const char *path, const char *from, unsigned line, const char *what,
          unsigned level)
{
	char *text = NULL, *shown;
	size_t len = 0;
	int rc;

	if (s->nb_files == s->cap_files) {
		size_t cap = s->cap_files ? s->cap_files * 2 : 8;
		char **f = realloc(s->files, cap * sizeof(*f));

		if (f == NULL)
			return src_fail(s, from, line, "out of memory");
		s->files = f;
		s->cap_files = cap;
	}
	shown = strdup(path);
	if (shown == NULL)
		return src_fail(s, from, line, "out of memory");
	s->files[s->nb_files++] = shown;
	if (slurp(s, path, from, line, what, &text, &len) < 0)
		return -1;
	rc = scan_text(s, text, len, (unsigned)s->nb_files - 1, level);
	free(text);
	return rc;
}

int
cfg_src_read(struct cfg_src *s, const char *path, const char *dir, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->err = err;
	s->errlen = err != NULL ? errlen : 0;
	if (s->errlen > 0)
		err[0] = '\0';
	if (scan_file(s, path, path, 0, "", 0) < 0)
		return -1;
	if (s->text == NULL && emit(s, "", 0) < 0)
		return src_fail(s, path, 0, "out of memory");
	return 0;
}

void
cfg_src_free(struct cfg_src *s)
{
	for (size_t i = 0; i < s->nb_files; i++)
		free(s->files[i]);
	free(s->files);
	free(s->segs);
	free(s->text);
	memset(s, 0, sizeof(*s));
}
