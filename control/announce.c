/*
 * announce.c - VIP announcement through BIRD 2 (announce.h, docs/bgp.md): the include
 * file of static routes and the conversation with BIRD's control socket.
 * Main lcore; the metrics thread only reads the view under ann->lock. The one invariant:
 * the file always exists and always parses (BIRD's configure fails on an include that
 * is missing), so it is replaced by rename() and never removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "siphon/maglev.h"
#include "siphon/log.h"
#include "siphon/sph.h"
#include "announce.h"
#include "cfg_int.h"
#include "gen.h"

/* Where the conversation with BIRD stands. */
enum ann_bird {
	ANN_IDLE = 0, /* no socket */
	ANN_GREETING, /* connected; waiting for "0001 BIRD x ready." */
	ANN_REPLY,    /* "configure" sent (or being sent); waiting for its final reply line */
};

/* Why a conversation failed: the reason label of the failure counter. */
enum ann_fail {
	ANN_FAIL_CONNECT = 0, /* no socket, no BIRD listening, refused */
	ANN_FAIL_TIMEOUT,     /* no final reply within ANN_BIRD_TIMEOUT_MS */
	ANN_FAIL_REJECTED,    /* BIRD answered with an error (its configuration did not parse) */
	ANN_FAIL_IO,          /* the connection broke, or the reply was malformed or too long */
	ANN_FAIL_FILE,        /* the include file could not be written */
	ANN_FAIL_COUNT,
};

static const char *const ann_fail_names[ANN_FAIL_COUNT] = {"connect", "timeout", "rejected", "io",
                                                           "file"};

/* One VIP address (a VIP with several ports, or several VIPs on one address, is one). */
struct ann_vip {
	struct cfg_addr addr;
	bool servable;  /* the running configuration can serve it now */
	bool in_file;   /* the file written last holds its route */
	bool announced; /* the file BIRD confirmed holds its route */
};

struct ann {
	char file[CFG_ANN_FILE_MAX];
	char sock_path[CFG_SOCKET_MAX];
	char via[CFG_IFNAME_MAX];
	bool withdrawn;      /* shutdown: serve nothing */
	uint64_t generation; /* of the configuration the VIPs were computed from; 0: none */
	char *content;       /* what the file holds now (NULL: not written yet) */
	bool file_dirty;     /* the VIPs changed, and the file was not yet written */
	uint64_t file_seq;   /* +1 per file written */
	uint64_t asked_seq;  /* the file_seq the conversation in progress configures */
	uint64_t done_seq;   /* the file_seq BIRD last confirmed */
	uint64_t retry_at;   /* no new try before (ns) */
	/* the conversation */
	enum ann_bird state;
	int fd;
	uint64_t deadline;
	size_t sent; /* bytes of "configure\n" sent */
	char reply[ANN_REPLY_MAX];
	size_t len;
	char last_error[160]; /* the last failure, for show announce */
	bool failing;         /* the last conversation failed: log only the first of a run */
	/* what other threads read, under lock */
	pthread_mutex_t lock;
	struct ann_vip *vips;
	unsigned nb_vips;
	uint64_t ok;                    /* conversations that ended in BIRD's "reconfigured" */
	uint64_t fails[ANN_FAIL_COUNT]; /* and the ones that did not, by reason */
};

/* ---- the set of servable VIPs ---- */

/* Whether some backend of group g is dispatched up (configured state lowered by health). */
static bool
ann_group_up(const struct gen *gen, const struct sph_cfg *cfg, unsigned g)
{
	unsigned base = 0;

	for (unsigned i = 0; i < g; i++)
		base += cfg->groups[i].nb_backends;
	for (unsigned j = 0; j < cfg->groups[g].nb_backends; j++)
		if (gen_dispatch_state(gen, base + j, cfg->groups[g].backends[j].state) ==
		    MAGLEV_UP)
			return true;
	return false;
}

static struct ann_vip *
ann_vip_find(struct ann_vip *v, unsigned n, const struct cfg_addr *a)
{
	for (unsigned i = 0; i < n; i++)
		if (cfg_addr_equal(&v[i].addr, a))
			return &v[i];
	return NULL;
}

/*
 * The VIP addresses of gen's running configuration, each servable when any of its VIPs
 * (ports) has a group with a backend up, and nothing servable once withdrawn. Keeps what
 * the previous set knew of each address. @return 0, or -1 (out of memory: nothing changed).
 */
static int
ann_recompute(struct ann *a, const struct gen *gen)
{
	const struct sph_cfg *cfg = gen_cfg(gen);
	struct ann_vip *nv = calloc(cfg->nb_vips > 0 ? cfg->nb_vips : 1, sizeof(*nv));
	unsigned n = 0;
	bool changed;

	if (nv == NULL)
		return -1;
	for (unsigned i = 0; i < cfg->nb_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];
		struct ann_vip *e = ann_vip_find(nv, n, &v->addr);
		bool up = !a->withdrawn && v->group < cfg->nb_groups &&
		          ann_group_up(gen, cfg, v->group);

		if (e == NULL) {
			struct ann_vip *old = ann_vip_find(a->vips, a->nb_vips, &v->addr);

			e = &nv[n++];
			e->addr = v->addr;
			if (old != NULL) {
				e->in_file = old->in_file;
				e->announced = old->announced;
			}
		}
		e->servable |= up;
	}
	changed = n != a->nb_vips;
	for (unsigned i = 0; i < n && !changed; i++)
		changed = !cfg_addr_equal(&nv[i].addr, &a->vips[i].addr) ||
		          nv[i].servable != a->vips[i].servable;
	pthread_mutex_lock(&a->lock);
	free(a->vips);
	a->vips = nv;
	a->nb_vips = n;
	pthread_mutex_unlock(&a->lock);
	if (changed)
		a->file_dirty = true;
	return 0;
}

/* ---- the include file ---- */

/* The file for the servable VIPs (all when servable is false: none). malloc'd or NULL. */
static char *
ann_render(const struct ann *a)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL)
		return NULL;
	fprintf(f, "# Written by siphon (control/announce.c, docs/bgp.md): the VIPs this instance\n"
	           "# can serve now. Replaced whole on every change; do not edit.\n");
	for (int fam = 4; fam <= 6; fam += 2) {
		fprintf(f, "protocol static %s {\n\t%s;\n", fam == 4 ? ANN_PROTO4 : ANN_PROTO6,
		        fam == 4 ? "ipv4" : "ipv6");
		for (unsigned i = 0; i < a->nb_vips; i++) {
			char s[CFG_ADDR_STRLEN];

			if (a->vips[i].addr.family != fam || !a->vips[i].servable)
				continue;
			cfg_addr_format(&a->vips[i].addr, 0, s, sizeof(s));
			if (a->via[0] != '\0')
				fprintf(f, "\troute %s/%u via \"%s\";\n", s, fam == 4 ? 32u : 128u,
				        a->via);
			else
				fprintf(f, "\troute %s/%u blackhole;\n", s, fam == 4 ? 32u : 128u);
		}
		fprintf(f, "}\n");
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Write content to a temporary file beside a->file, then rename it over. @return 0 or -1. */
static int
ann_write(const struct ann *a, const char *content, char *err, size_t errlen)
{
	char tmp[CFG_ANN_FILE_MAX + 32];
	size_t len = strlen(content), off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", a->file, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, content + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "%s: %s", tmp,
			         w < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0 || rename(tmp, a->file) != 0) {
		snprintf(err, errlen, "%s: %s", a->file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- the conversation with BIRD ---- */

static void
ann_hangup(struct ann *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	a->state = ANN_IDLE;
	a->len = 0;
	a->sent = 0;
}

static void __attribute__((format(printf, 4, 5)))
ann_failed(struct ann *a, enum ann_fail why, uint64_t now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->last_error, sizeof(a->last_error), fmt, ap);
	va_end(ap);
	/* A BIRD that stays down would print a line a second: only the first of a run. */
	if (!a->failing)
		sph_log(SPH_LOG_WARNING, "announce: %s (%s); retrying every %u ms", a->last_error,
		        ann_fail_names[why], ANN_RETRY_MS);
	a->failing = true;
	pthread_mutex_lock(&a->lock);
	a->fails[why]++;
	pthread_mutex_unlock(&a->lock);
	if (why != ANN_FAIL_FILE) /* a file not written leaves the conversation be */
		ann_hangup(a);
	a->retry_at = now + ANN_RETRY_MS * 1000000ull;
}

static void
ann_confirmed(struct ann *a)
{
	unsigned n = 0;

	a->done_seq = a->asked_seq;
	pthread_mutex_lock(&a->lock);
	a->ok++;
	if (a->done_seq == a->file_seq)
		for (unsigned i = 0; i < a->nb_vips; i++) {
			a->vips[i].announced = a->vips[i].in_file;
			n += a->vips[i].announced;
		}
	pthread_mutex_unlock(&a->lock);
	sph_log(SPH_LOG_INFO, "announce: BIRD reconfigured, %u VIP%s announced", n,
	        n == 1 ? "" : "s");
	fflush(stdout);
	a->failing = false;
	a->last_error[0] = '\0';
	ann_hangup(a);
}

static void
ann_connect(struct ann *a, uint64_t now)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->sock_path);
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		ann_failed(a, ANN_FAIL_CONNECT, now, "socket: %s", strerror(errno));
		return;
	}
	/* A Unix stream connect completes at once or fails (EAGAIN: backlog full). */
	if (connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ann_failed(a, ANN_FAIL_CONNECT, now, "BIRD at %s: %s", a->sock_path,
		           strerror(errno));
		return;
	}
	a->state = ANN_GREETING;
	a->asked_seq = a->file_seq;
	a->deadline = now + ANN_BIRD_TIMEOUT_MS * 1000000ull;
}

/*
 * One complete line of BIRD's reply. BIRD numbers each line "NNNN-" (more follow) or
 * "NNNN " (the last one); a line starting with a space continues the one before.
 * Codes 0xxx report success (0001 the greeting, 0003 reconfigured, 0004 in progress,
 * 0005 queued, 0019 nothing to do), except 0006: ignored, BIRD is shutting down;
 * 8xxx and 9xxx are errors (8002: the configuration did not parse).
 * @return 1 when the conversation is over, else 0.
 */
static int
ann_line(struct ann *a, const char *l, uint64_t now)
{
	unsigned code = 0;

	if (l[0] == ' ')
		return 0;
	for (int i = 0; i < 4; i++) {
		if (l[i] < '0' || l[i] > '9') {
			ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: malformed reply \"%.40s\"",
			           a->sock_path, l);
			return 1;
		}
		code = code * 10 + (unsigned)(l[i] - '0');
	}
	if (l[4] == '-')
		return 0;
	if (l[4] != ' ' && l[4] != '\0') {
		ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: malformed reply \"%.40s\"",
		           a->sock_path, l);
		return 1;
	}
	if (a->state == ANN_GREETING) {
		if (code != 1) {
			ann_failed(a, ANN_FAIL_REJECTED, now, "BIRD at %s: greeting \"%.60s\"",
			           a->sock_path, l);
			return 1;
		}
		a->state = ANN_REPLY;
		return 0;
	}
	if (code < 1000 && code != 6) {
		ann_confirmed(a);
		return 1;
	}
	ann_failed(a, ANN_FAIL_REJECTED, now, "BIRD at %s: configure: \"%.100s\"", a->sock_path, l);
	return 1;
}

/* Read what BIRD sent; hand over each complete line. */
static void
ann_read(struct ann *a, uint64_t now)
{
	for (;;) {
		ssize_t r;
		char *nl;

		if (a->len == sizeof(a->reply)) {
			ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: reply longer than %u bytes",
			           a->sock_path, ANN_REPLY_MAX);
			return;
		}
		r = recv(a->fd, a->reply + a->len, sizeof(a->reply) - a->len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: %s before the reply ended",
			           a->sock_path, r < 0 ? strerror(errno) : "connection closed");
			return;
		}
		a->len += (size_t)r;
		while ((nl = memchr(a->reply, '\n', a->len)) != NULL) {
			size_t l = (size_t)(nl - a->reply) + 1;

			*nl = '\0';
			/* A line shorter than "NNNN" is malformed unless a continuation. */
			if (l < 5 && a->reply[0] != ' ') {
				ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: malformed reply",
				           a->sock_path);
				return;
			}
			if (ann_line(a, a->reply, now))
				return;
			memmove(a->reply, a->reply + l, a->len - l);
			a->len -= l;
		}
	}
}

/* Send what is left of the command; the socket is non-blocking. */
static void
ann_send(struct ann *a, uint64_t now)
{
	static const char cmd[] = "configure\n";

	while (a->sent < sizeof(cmd) - 1) {
		ssize_t w = send(a->fd, cmd + a->sent, sizeof(cmd) - 1 - a->sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) {
			ann_failed(a, ANN_FAIL_IO, now, "BIRD at %s: %s", a->sock_path,
			           strerror(errno));
			return;
		}
		a->sent += (size_t)w;
	}
}

/* One step of the conversation: start one when a file awaits BIRD, move on, time out. */
static void
ann_step(struct ann *a, uint64_t now)
{
	if (a->state == ANN_IDLE) {
		if (a->done_seq == a->file_seq || now < a->retry_at)
			return;
		ann_connect(a, now);
		if (a->state == ANN_IDLE)
			return;
	}
	if (now >= a->deadline) {
		ann_failed(a, ANN_FAIL_TIMEOUT, now, "BIRD at %s: no reply within %u ms",
		           a->sock_path, ANN_BIRD_TIMEOUT_MS);
		return;
	}
	if (a->state == ANN_REPLY)
		ann_send(a, now);
	if (a->state != ANN_IDLE)
		ann_read(a, now);
	/* The greeting may have just come: send at once rather than a tick later. */
	if (a->state == ANN_REPLY && a->sent == 0)
		ann_send(a, now);
}

/* Write the file when the set changed (retried after ANN_RETRY_MS when it fails). */
static void
ann_flush(struct ann *a, uint64_t now)
{
	char err[CFG_ANN_FILE_MAX + 96];
	char *c;

	if (!a->file_dirty || now < a->retry_at)
		return;
	c = ann_render(a);
	if (c == NULL)
		return; /* out of memory: the next tick tries again */
	if (a->content != NULL && strcmp(c, a->content) == 0) {
		free(c);
		a->file_dirty = false;
		return;
	}
	if (ann_write(a, c, err, sizeof(err)) != 0) {
		free(c);
		ann_failed(a, ANN_FAIL_FILE, now, "%s", err);
		return;
	}
	free(a->content);
	a->content = c;
	a->file_dirty = false;
	a->file_seq++;
	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < a->nb_vips; i++)
		a->vips[i].in_file = a->vips[i].servable;
	pthread_mutex_unlock(&a->lock);
}

/* ---- the interface ---- */

static void ann_settle(struct ann *a, unsigned wait_ms);

/* mkdir -p of the file's folder, 0755. @return 0 or -1 (errno). */
static int
ann_mkdir(const char *file)
{
	char d[CFG_ANN_FILE_MAX];

	snprintf(d, sizeof(d), "%s", file);
	for (char *p = d + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

struct ann *
ann_open(const struct sph_cfg *cfg, char *err, size_t errlen)
{
	char werr[CFG_ANN_FILE_MAX + 96];
	struct ann *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(err, errlen, "announce: out of memory");
		return NULL;
	}
	snprintf(a->file, sizeof(a->file), "%s", cfg->ann_file);
	snprintf(a->sock_path, sizeof(a->sock_path), "%s", cfg->ann_bird_socket);
	snprintf(a->via, sizeof(a->via), "%s", cfg->ann_interface);
	a->fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	if (ann_mkdir(a->file) != 0) {
		snprintf(err, errlen, "announce: cannot create the folder of %s: %s", a->file,
		         strerror(errno));
		goto fail;
	}
	a->content = ann_render(a); /* no VIP yet: two empty protocols */
	if (a->content == NULL) {
		snprintf(err, errlen, "announce: out of memory");
		goto fail;
	}
	if (ann_write(a, a->content, werr, sizeof(werr)) != 0) {
		snprintf(err, errlen, "announce: %s", werr);
		goto fail;
	}
	/* BIRD may still hold a previous life's routes, and with `interface` they come
	 * back with the interface: have it read the empty file before the dataplane opens. */
	a->file_seq = 1;
	ann_settle(a, ANN_BIRD_TIMEOUT_MS);
	return a;
fail:
	pthread_mutex_destroy(&a->lock);
	free(a->content);
	free(a);
	return NULL;
}

void
ann_tick(struct ann *a, const struct gen *gen, uint64_t now_ns)
{
	if (a == NULL)
		return;
	if (gen != NULL && gen_generation(gen) != a->generation && ann_recompute(a, gen) == 0)
		a->generation = gen_generation(gen);
	ann_flush(a, now_ns);
	ann_step(a, now_ns);
}

void
ann_withdraw(struct ann *a)
{
	if (a == NULL || a->withdrawn)
		return;
	a->withdrawn = true;
	a->generation = 0; /* recompute at the next tick, with nothing servable */
	a->retry_at = 0;   /* a shutdown does not wait for a retry timer */
}

bool
ann_settled(const struct ann *a)
{
	return a == NULL || (!a->file_dirty && a->done_seq == a->file_seq);
}

unsigned
ann_nb_announced(const struct ann *a)
{
	unsigned n = 0;

	for (unsigned i = 0; a != NULL && i < a->nb_vips; i++)
		n += a->vips[i].announced;
	return n;
}

json_t *
ann_json(const struct ann *a)
{
	json_t *o = json_object(), *vips = json_array(), *fails = json_object();

	if (o == NULL || vips == NULL || fails == NULL) {
		json_decref(o);
		json_decref(vips);
		json_decref(fails);
		return NULL;
	}
	json_object_set_new(o, "file", json_string(a->file));
	json_object_set_new(o, "bird_socket", json_string(a->sock_path));
	json_object_set_new(o, "route", json_string(a->via[0] != '\0' ? a->via : "blackhole"));
	json_object_set_new(o, "withdrawn", json_boolean(a->withdrawn));
	json_object_set_new(o, "pending", json_boolean(!ann_settled(a)));
	json_object_set_new(o, "reconfigures", json_integer((json_int_t)a->ok));
	for (unsigned r = 0; r < ANN_FAIL_COUNT; r++)
		json_object_set_new(fails, ann_fail_names[r],
		                    json_integer((json_int_t)a->fails[r]));
	json_object_set_new(o, "failures", fails);
	json_object_set_new(o, "last_error", json_string(a->last_error));
	for (unsigned i = 0; i < a->nb_vips; i++) {
		char s[CFG_ADDR_STRLEN];
		json_t *v = json_object();

		if (v == NULL)
			continue;
		cfg_addr_format(&a->vips[i].addr, 0, s, sizeof(s));
		json_object_set_new(v, "address", json_string(s));
		json_object_set_new(v, "servable", json_boolean(a->vips[i].servable));
		json_object_set_new(v, "announced", json_boolean(a->vips[i].announced));
		json_array_append_new(vips, v);
	}
	json_object_set_new(o, "vips", vips);
	return o;
}

void
ann_render_metrics(struct ann *a, FILE *out)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	fprintf(out, "# HELP siphon_vip_announced 1 while BIRD holds the VIP's route "
	             "(siphon can serve it), 0 while withdrawn.\n"
	             "# TYPE siphon_vip_announced gauge\n");
	for (unsigned i = 0; i < a->nb_vips; i++) {
		char s[CFG_ADDR_STRLEN];

		cfg_addr_format(&a->vips[i].addr, 0, s, sizeof(s));
		fprintf(out, "siphon_vip_announced{vip=\"%s\"} %u\n", s,
		        a->vips[i].announced ? 1u : 0u);
	}
	fprintf(out,
	        "# HELP siphon_announce_reconfigures_total BIRD reconfigurations siphon "
	        "asked for that BIRD confirmed.\n"
	        "# TYPE siphon_announce_reconfigures_total counter\n"
	        "siphon_announce_reconfigures_total %" PRIu64 "\n",
	        a->ok);
	fprintf(out, "# HELP siphon_announce_failures_total Failed BIRD reconfigurations and file "
	             "writes, by reason (each is retried).\n"
	             "# TYPE siphon_announce_failures_total counter\n");
	for (unsigned r = 0; r < ANN_FAIL_COUNT; r++)
		fprintf(out, "siphon_announce_failures_total{reason=\"%s\"} %" PRIu64 "\n",
		        ann_fail_names[r], a->fails[r]);
	pthread_mutex_unlock(&a->lock);
}

/* Step until BIRD confirmed the file, or a try failed (BIRD down: do not wait), or
 * wait_ms passed. Startup and shutdown only: the one place that waits. */
static void
ann_settle(struct ann *a, unsigned wait_ms)
{
	uint64_t now = sph_now_ns(), end = now + wait_ms * 1000000ull;

	while (now < end) {
		ann_flush(a, now);
		ann_step(a, now);
		if (ann_settled(a) || (a->state == ANN_IDLE && a->retry_at > now))
			break;
		usleep(1000);
		now = sph_now_ns();
	}
}

void
ann_close(struct ann *a, unsigned wait_ms)
{
	if (a == NULL)
		return;
	/* The configuration may be gone already: withdraw by hand, not through gen. */
	a->withdrawn = true;
	for (unsigned i = 0; i < a->nb_vips; i++)
		a->vips[i].servable = false;
	a->file_dirty = true;
	a->retry_at = 0;
	ann_settle(a, wait_ms);
	if (!ann_settled(a))
		sph_log(SPH_LOG_WARNING, "announce: BIRD did not confirm the withdrawal (%s)",
		        a->last_error[0] != '\0' ? a->last_error : "no reply in time");
	ann_hangup(a);
	pthread_mutex_destroy(&a->lock);
	free(a->vips);
	free(a->content);
	free(a);
}
