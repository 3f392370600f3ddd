/*
 * health.c - SIP OPTIONS health checks of the backends (health.h, docs/health.md).
 *
 * One mutex guards everything but the callback queue and the sockets' file
 * descriptors' lifetime. The poller (the health thread, or a test calling
 * health_poll_once()) releases the mutex only around poll() and while it runs the
 * callbacks; file descriptors are closed by the poller alone, when it holds the mutex
 * and is not inside poll(), so a descriptor it waits on is never closed and reused
 * under it. health_set_targets() only marks sockets unused.
 *
 * The wire side is plain POSIX: one unconnected UDP socket per (family, source address)
 * in use, bound to an ephemeral port. The address the Via names is the bound source, or
 * the one the kernel would pick for the target (connect() on a throw-away socket, then
 * getsockname(): no packet is sent). Replies go back to that address and port, by Via
 * (and by rport for a backend that honours it), so the unconnected socket receives them.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "siphon/maglev.h"
#include "siphon/sip.h"
#include "siphon/sph.h"

#include "health.h"

#define HEALTH_RECV_BATCH 1024u /* datagrams read per turn: a flood cannot hold the mutex */
#define HEALTH_PROBE_MAX  1024u /* bytes of a probe; the longest is about 450 */
#define HEALTH_TOKEN_MAX  32u   /* bytes of a branch or Call-ID with room to spare */
#define HEALTH_CODES      700u  /* accept bitmap covers codes 0..699 */
#define HEALTH_THREAD_MS  1000  /* longest wait of the thread when nothing is due */

/* A UDP socket shared by the targets of one family and source address. */
struct hsock {
	int fd;              /* -1: free slot */
	bool used;           /* some target uses it; unused ones are closed by the poller */
	struct cfg_addr src; /* family 0: bound to the wildcard address */
	uint8_t family;      /* 4 or 6 */
	uint16_t port;       /* the ephemeral port it got, host order */
};

/* One target and its probe in flight. st holds everything health_get() shows. */
struct htarget {
	struct health_target t;
	struct health_status st;
	unsigned sock;    /* index into health.socks */
	bool have_local;  /* st.local is known for this target's route */
	bool outstanding; /* a probe waits for its final response */
	uint64_t sent_us; /* when it was sent */
	uint64_t next_us; /* when the next probe is due */
	uint32_t cseq;    /* CSeq of the last probe; the next one adds 1 */
	char branch[HEALTH_TOKEN_MAX];
	char call_id[HEALTH_TOKEN_MAX];
	char prev_branch[HEALTH_TOKEN_MAX]; /* last expired probe's, to tell late replies */
	uint8_t branch_len, call_id_len, prev_branch_len;
};

/* A state change waiting for its callback, run after the mutex is released. */
struct hchange {
	char name[HEALTH_NAME_MAX];
	uint8_t old_state, new_state;
};

struct health {
	pthread_mutex_t lock;
	struct health_params p;
	health_cb cb;
	void *cb_arg;
	health_clock clock;
	void *clock_arg;

	struct htarget *targets; /* n of them, in the order given */
	unsigned n;
	struct hsock *socks; /* nsocks slots, some free (fd -1) */
	unsigned nsocks;
	bool polling; /* the poller is inside poll() without the mutex: do not close fds */

	struct health_stats stats;
	_Atomic uint64_t generation;
	uint64_t rng[4]; /* xoshiro256** state */

	/* Poller only (no mutex needed to use them; sized under the mutex). */
	struct hchange *changes;
	unsigned nchanges, changes_cap;
	uint8_t *buf; /* HEALTH_RECV_MAX bytes */

	int wake_fd; /* eventfd: set_targets and stop wake the poller */
	pthread_t thread;
	bool running;
	atomic_bool stop;
};

/* ---- small helpers ---- */

static void __attribute__((format(printf, 3, 4)))
herr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t
clock_default(void *arg)
{
	(void)arg;
	return sph_now_ns() / 1000u;
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: branches, tags and Call-IDs need to be unique and hard to guess for an
 * off-path sender, not cryptographic; the seed comes from getrandom(). */
static uint64_t
rng_next(struct health *h)
{
	uint64_t *s = h->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static void
rng_seed(struct health *h)
{
	uint64_t seed[4] = {0};
	uint64_t x;

	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		/* No entropy yet (early boot): still unique per process and start time. */
		x = clock_default(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)h;
		for (unsigned i = 0; i < 4; i++) {
			/* splitmix64 */
			uint64_t z = (x += 0x9e3779b97f4a7c15u);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
			seed[i] = z ^ (z >> 31);
		}
	}
	if ((seed[0] | seed[1] | seed[2] | seed[3]) == 0)
		seed[0] = 1; /* the all-zero state is xoshiro's only fixed point */
	memcpy(h->rng, seed, sizeof(seed));
}

static bool
addr_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* struct cfg_addr + port -> sockaddr of the matching family. */
static socklen_t
to_sockaddr(const struct cfg_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, &a->a[12], 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->a, 16);
	return sizeof(*sin6);
}

/* sockaddr -> struct cfg_addr (IPv4 mapped) and port. @return 0, or -1 on another family. */
static int
from_sockaddr(const struct sockaddr_storage *ss, struct cfg_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		a->family = 4;
		a->a[10] = 0xff;
		a->a[11] = 0xff;
		memcpy(&a->a[12], &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		a->family = 6;
		memcpy(a->a, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

/* Host part of a SIP URI or Via: "192.0.2.1" or "[2001:db8::1]". */
static void
host_format(const struct cfg_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (a->family == 4) {
		if (inet_ntop(AF_INET, &a->a[12], tmp, sizeof(tmp)) == NULL)
			tmp[0] = '\0';
		snprintf(buf, len, "%s", tmp);
	} else {
		if (inet_ntop(AF_INET6, a->a, tmp, sizeof(tmp)) == NULL)
			tmp[0] = '\0';
		snprintf(buf, len, "[%s]", tmp);
	}
}

static bool
span_is(const uint8_t *msg, struct sip_span sp, const char *s, size_t len)
{
	return sp.len == len && memcmp(msg + sp.off, s, len) == 0;
}

/* ---- parameters ---- */

void
health_params_default(struct health_params *p)
{
	memset(p, 0, sizeof(*p));
	p->interval_ms = 1000;
	p->timeout_ms = 1000;
	p->fall = 3;
	p->rise = 2;
	p->overload_code = 503;
	health_accept_range(p, 200, 699, 1);
}

void
health_accept_range(struct health_params *p, unsigned lo, unsigned hi, int on)
{
	if (hi >= HEALTH_CODES)
		hi = HEALTH_CODES - 1;
	for (unsigned c = lo; c <= hi; c++) {
		uint64_t bit = UINT64_C(1) << (c % 64);

		if (on)
			p->accept[c / 64] |= bit;
		else
			p->accept[c / 64] &= ~bit;
	}
}

int
health_accepts(const struct health_params *p, unsigned code)
{
	if (code >= HEALTH_CODES)
		return 0;
	return (p->accept[code / 64] >> (code % 64)) & 1u;
}

int
health_params_check(const struct health_params *p, char *err, size_t errlen)
{
	bool any = false;

	if (p->interval_ms < HEALTH_INTERVAL_MIN || p->interval_ms > HEALTH_INTERVAL_MAX) {
		herr(err, errlen, "health: interval must be %u..%u ms, got %" PRIu32,
		     HEALTH_INTERVAL_MIN, HEALTH_INTERVAL_MAX, p->interval_ms);
		return -1;
	}
	/* One probe in flight per target: a longer timeout would silently stretch the
	 * interval, so say it instead. */
	if (p->timeout_ms < 1 || p->timeout_ms > p->interval_ms) {
		herr(err, errlen,
		     "health: timeout must be 1..interval (%" PRIu32 ") ms, got %" PRIu32,
		     p->interval_ms, p->timeout_ms);
		return -1;
	}
	if (p->fall < 1 || p->fall > HEALTH_RUN_MAX) {
		herr(err, errlen, "health: fall must be 1..%u, got %" PRIu32, HEALTH_RUN_MAX,
		     p->fall);
		return -1;
	}
	if (p->rise < 1 || p->rise > HEALTH_RUN_MAX) {
		herr(err, errlen, "health: rise must be 1..%u, got %" PRIu32, HEALTH_RUN_MAX,
		     p->rise);
		return -1;
	}
	if (p->overload_code != 0 && (p->overload_code < 200 || p->overload_code > 699)) {
		herr(err, errlen, "health: overload code must be 200..699 or 0, got %u",
		     (unsigned)p->overload_code);
		return -1;
	}
	for (unsigned c = 200; c < HEALTH_CODES && !any; c++)
		any = health_accepts(p, c);
	if (!any && p->overload_code == 0) {
		herr(err, errlen, "health: no final response code is accepted");
		return -1;
	}
	return 0;
}

const char *
health_state_name(unsigned state)
{
	static const char *const names[HEALTH_STATE_COUNT] = {
	        [HEALTH_UNKNOWN] = "unknown",
	        [HEALTH_UP] = "up",
	        [HEALTH_DOWN] = "down",
	        [HEALTH_OVERLOADED] = "overloaded",
	};

	return state < HEALTH_STATE_COUNT ? names[state] : "invalid";
}

uint8_t
health_dispatch_state(unsigned s)
{
	switch (s) {
	case HEALTH_DOWN:
		return MAGLEV_DOWN;
	case HEALTH_OVERLOADED:
		return MAGLEV_DRAIN;
	default:
		return MAGLEV_UP;
	}
}

/* ---- sockets ---- */

static void
sock_close(struct hsock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->used = false;
}

/* Close the sockets no target uses. Mutex held, poller not inside poll(). */
static void
socks_gc(struct health *h)
{
	for (unsigned i = 0; i < h->nsocks; i++)
		if (h->socks[i].fd >= 0 && !h->socks[i].used)
			sock_close(&h->socks[i]);
}

static int
sock_open(struct hsock *s, uint8_t family, const struct cfg_addr *src, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct cfg_addr any = {.family = family};
	char host[INET6_ADDRSTRLEN + 2];
	int one = 1;
	int fd;

	if (family == 4) {
		any.a[10] = 0xff; /* 0.0.0.0 as mapped */
		any.a[11] = 0xff;
	}
	fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		herr(err, errlen, "health: IPv%u socket: %s", family, strerror(errno));
		return -1;
	}
	/* An IPv6 socket must not also receive IPv4 (mapped): the IPv4 one does. */
	if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
		herr(err, errlen, "health: IPV6_V6ONLY: %s", strerror(errno));
		close(fd);
		return -1;
	}
	sl = to_sockaddr(src->family != 0 ? src : &any, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		host_format(src->family != 0 ? src : &any, host, sizeof(host));
		herr(err, errlen, "health: bind %s: %s", host, strerror(errno));
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		herr(err, errlen, "health: getsockname: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct cfg_addr bound;

	if (from_sockaddr(&ss, &bound, &s->port) != 0) {
		herr(err, errlen, "health: socket bound to an unknown family");
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->used = true;
	s->family = family;
	s->src = *src;
	return 0;
}

/* Index of the socket for (family, src), opening one when needed. @return -1 on failure. */
static int
sock_for(struct health *h, uint8_t family, const struct cfg_addr *src, char *err, size_t errlen)
{
	unsigned free_slot = h->nsocks;

	for (unsigned i = 0; i < h->nsocks; i++) {
		struct hsock *s = &h->socks[i];

		if (s->fd < 0) {
			if (free_slot == h->nsocks)
				free_slot = i;
			continue;
		}
		if (s->family == family && addr_equal(&s->src, src)) {
			s->used = true;
			return (int)i;
		}
	}
	if (free_slot == h->nsocks) {
		struct hsock *ns = realloc(h->socks, (h->nsocks + 1) * sizeof(*ns));

		if (ns == NULL) {
			herr(err, errlen, "health: out of memory");
			return -1;
		}
		h->socks = ns;
		h->socks[h->nsocks].fd = -1;
		h->socks[h->nsocks].used = false;
		h->nsocks++;
	}
	if (sock_open(&h->socks[free_slot], family, src, err, errlen) != 0)
		return -1;
	return (int)free_slot;
}

/* ---- targets ---- */

static int
name_cmp(const void *a, const void *b)
{
	const struct health_target *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
targets_check(const struct health_target *t, unsigned n, char *err, size_t errlen)
{
	const struct health_target **sorted;

	if (n > HEALTH_MAX_TARGETS) {
		herr(err, errlen, "health: %u targets, at most %u", n, HEALTH_MAX_TARGETS);
		return -1;
	}
	if (n > 0 && t == NULL) {
		herr(err, errlen, "health: no target array");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (memchr(t[i].name, '\0', sizeof(t[i].name)) == NULL || t[i].name[0] == '\0') {
			herr(err, errlen, "health: target %u: name must be 1..%u characters", i,
			     HEALTH_NAME_MAX - 1);
			return -1;
		}
		if (t[i].addr.family != 4 && t[i].addr.family != 6) {
			herr(err, errlen, "health: target \"%s\": address family must be 4 or 6",
			     t[i].name);
			return -1;
		}
		if (t[i].port == 0) {
			herr(err, errlen, "health: target \"%s\": port must be 1..65535",
			     t[i].name);
			return -1;
		}
		if (t[i].src.family != 0 && t[i].src.family != t[i].addr.family) {
			herr(err, errlen,
			     "health: target \"%s\": source address family differs from the "
			     "target's",
			     t[i].name);
			return -1;
		}
	}
	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL) {
		herr(err, errlen, "health: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		sorted[i] = &t[i];
	qsort(sorted, n, sizeof(*sorted), name_cmp);
	for (unsigned i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			herr(err, errlen, "health: duplicate target \"%s\"", sorted[i]->name);
			free(sorted);
			return -1;
		}
	}
	free(sorted);
	return 0;
}

static int
htarget_cmp(const void *a, const void *b)
{
	const struct htarget *const *x = a, *const *y = b;

	return strcmp((*x)->t.name, (*y)->t.name);
}

static int
htarget_name_cmp(const void *key, const void *elt)
{
	const struct htarget *const *t = elt;

	return strcmp(key, (*t)->t.name);
}

static void
wake(struct health *h)
{
	uint64_t one = 1;

	/* A full counter still wakes the poller; nothing to do on failure. */
	if (write(h->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* Replace the targets. Mutex held. */
static int
targets_apply(struct health *h, const struct health_target *t, unsigned n, char *err, size_t errlen)
{
	struct htarget *nt = NULL;
	const struct htarget **old = NULL;
	uint64_t now = h->clock(h->clock_arg);
	int rc = -1;

	if (targets_check(t, n, err, errlen) != 0)
		return -1;
	if (n > 0 && (nt = calloc(n, sizeof(*nt))) == NULL)
		goto nomem;
	if (h->n > 0 && (old = malloc(h->n * sizeof(*old))) == NULL)
		goto nomem;
	for (unsigned i = 0; i < h->n; i++)
		old[i] = &h->targets[i];
	if (h->n > 1)
		qsort(old, h->n, sizeof(*old), htarget_cmp);
	/* Mark what is used from scratch; undo rebuilds the marks from the old targets. */
	for (unsigned i = 0; i < h->nsocks; i++)
		h->socks[i].used = false;
	for (unsigned i = 0; i < n; i++) {
		const struct htarget **o =
		        h->n > 0 ? bsearch(t[i].name, old, h->n, sizeof(*old), htarget_name_cmp)
		                 : NULL;
		int s = sock_for(h, t[i].addr.family, &t[i].src, err, errlen);

		if (s < 0)
			goto undo;
		if (o != NULL && addr_equal(&(*o)->t.addr, &t[i].addr) &&
		    (*o)->t.port == t[i].port) {
			nt[i] = **o;
			if (!addr_equal(&(*o)->t.src, &t[i].src)) {
				/* Another socket: the probe in flight can no longer be answered. */
				nt[i].outstanding = false;
				nt[i].have_local = false;
			}
		} else {
			nt[i].st.state = HEALTH_UNKNOWN;
			nt[i].st.since_us = now;
			nt[i].next_us = 0; /* due at the next poll, whatever the clock */
			nt[i].cseq = (uint32_t)(rng_next(h) & 0xffffu); /* room before 2^31 */
		}
		nt[i].t = t[i];
		nt[i].sock = (unsigned)s;
		memcpy(nt[i].st.name, t[i].name, sizeof(nt[i].st.name));
		nt[i].st.addr = t[i].addr;
		nt[i].st.port = t[i].port;
	}
	free(h->targets);
	h->targets = nt;
	h->n = n;
	nt = NULL;
	if (!h->polling)
		socks_gc(h);
	rc = 0;
	goto out;
undo:
	/* The old targets' sockets are used again; any opened for the new set are not, and
	 * the poller closes them. */
	for (unsigned i = 0; i < h->nsocks; i++)
		h->socks[i].used = false;
	for (unsigned i = 0; i < h->n; i++)
		h->socks[h->targets[i].sock].used = true;
	if (!h->polling)
		socks_gc(h);
	goto out;
nomem:
	herr(err, errlen, "health: out of memory");
out:
	free(nt);
	free(old);
	return rc;
}

/* ---- the state machine ---- */

enum outcome { OUT_SUCCESS, OUT_OVERLOAD, OUT_FAILURE };

static void
set_state(struct health *h, struct htarget *t, uint8_t s, uint64_t now)
{
	struct hchange *c;

	if (t->st.state == s)
		return;
	/* changes_cap >= 2 n was ensured before this turn: at most one reply or expiry
	 * and one failed send per target and turn. */
	if (h->nchanges < h->changes_cap) {
		c = &h->changes[h->nchanges++];
		memcpy(c->name, t->t.name, sizeof(c->name));
		c->old_state = t->st.state;
		c->new_state = s;
	}
	t->st.state = s;
	t->st.since_us = now;
	h->stats.changes++;
	atomic_fetch_add(&h->generation, 1);
}

static void
judge(struct health *h, struct htarget *t, enum outcome o, uint64_t now)
{
	struct health_status *st = &t->st;

	if (o == OUT_FAILURE) {
		st->succ_run = 0;
		if (st->fail_run < UINT32_MAX)
			st->fail_run++;
		if (st->fail_run >= h->p.fall)
			set_state(h, t, HEALTH_DOWN, now);
		return;
	}
	/* A 503 proves reachability as much as a 200 does: both make a rise run. */
	st->fail_run = 0;
	if (st->succ_run < UINT32_MAX)
		st->succ_run++;
	if (o == OUT_OVERLOAD) {
		/* Overload is news to act on at once, except that a DOWN backend must first
		 * show rise answers, as for UP. */
		if (st->state != HEALTH_DOWN || st->succ_run >= h->p.rise)
			set_state(h, t, HEALTH_OVERLOADED, now);
		return;
	}
	/* An overloaded backend was reachable all along: one good answer ends it. */
	if (st->state == HEALTH_OVERLOADED || st->succ_run >= h->p.rise)
		set_state(h, t, HEALTH_UP, now);
}

/* ---- probes ---- */

/* Find the address the Via names: the bound source, or the kernel's choice of route. */
static int
local_resolve(struct health *h, struct htarget *t)
{
	const struct hsock *s = &h->socks[t->sock];
	struct sockaddr_storage ss;
	socklen_t sl;
	uint16_t port;
	int fd;

	t->st.local_port = s->port;
	if (s->src.family != 0) {
		t->st.local = s->src;
		t->have_local = true;
		return 0;
	}
	fd = socket(s->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sl = to_sockaddr(&t->t.addr, t->t.port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    from_sockaddr(&ss, &t->st.local, &port) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	t->have_local = true;
	return 0;
}

/* The OPTIONS request of RFC 3261 §11 for t. @return its length, or 0 if it cannot fit. */
static size_t
probe_build(struct health *h, struct htarget *t, char *buf, size_t len)
{
	char dst[INET6_ADDRSTRLEN + 2], src[INET6_ADDRSTRLEN + 2];
	int r;

	host_format(&t->t.addr, dst, sizeof(dst));
	host_format(&t->st.local, src, sizeof(src));
	/* Fresh branch, tag and Call-ID each time: every probe is a new request outside any
	 * dialog (RFC 3261 §8.1.1.4, §8.1.1.7), and a reply to an old one cannot match. */
	r = snprintf(t->branch, sizeof(t->branch), "z9hG4bK%016" PRIx64, rng_next(h));
	t->branch_len = (uint8_t)r;
	r = snprintf(t->call_id, sizeof(t->call_id), "%016" PRIx64 "@siphon", rng_next(h));
	t->call_id_len = (uint8_t)r;
	t->cseq = t->cseq >= INT32_MAX - 1 ? 1 : t->cseq + 1; /* CSeq below 2^31 (§8.1.1.5) */
	r = snprintf(buf, len,
	             "OPTIONS sip:%s:%u SIP/2.0\r\n"
	             "Via: SIP/2.0/UDP %s:%u;branch=%s;rport\r\n"
	             "Max-Forwards: 70\r\n"
	             "From: <sip:siphon@%s>;tag=%016" PRIx64 "\r\n"
	             "To: <sip:%s:%u>\r\n"
	             "Call-ID: %s\r\n"
	             "CSeq: %" PRIu32 " OPTIONS\r\n"
	             "User-Agent: siphon\r\n"
	             "Accept: application/sdp\r\n"
	             "Content-Length: 0\r\n"
	             "\r\n",
	             dst, (unsigned)t->t.port, src, (unsigned)t->st.local_port, t->branch, src,
	             rng_next(h), dst, (unsigned)t->t.port, t->call_id, t->cseq);
	if (r < 0 || (size_t)r >= len)
		return 0;
	return (size_t)r;
}

static void
probe_send(struct health *h, struct htarget *t, uint64_t now)
{
	char msg[HEALTH_PROBE_MAX];
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t len;
	ssize_t w;

	t->st.probes++;
	t->next_us = now + (uint64_t)h->p.interval_ms * 1000u;
	/* Routes change: look again after any failure. */
	if ((!t->have_local || t->st.fail_run > 0) && local_resolve(h, t) != 0) {
		t->have_local = false;
		h->stats.send_errors++;
		judge(h, t, OUT_FAILURE, now);
		return;
	}
	len = probe_build(h, t, msg, sizeof(msg));
	sl = to_sockaddr(&t->t.addr, t->t.port, &ss);
	do {
		w = len > 0 ? sendto(h->socks[t->sock].fd, msg, len, 0, (struct sockaddr *)&ss, sl)
		            : -1;
	} while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len || len == 0) {
		h->stats.send_errors++;
		judge(h, t, OUT_FAILURE, now);
		return;
	}
	h->stats.sent++;
	t->outstanding = true;
	t->sent_us = now;
}

/* One datagram read from a socket: count it, and settle the probe it answers. */
static void
reply_handle(struct health *h, const uint8_t *buf, size_t len, const struct cfg_addr *from,
             uint64_t now)
{
	struct sip_msg m;
	struct htarget *t = NULL;

	/* A balancer forwards what has anomalies (sip.h); the checker reads Via and CSeq
	 * itself, so a reply with any anomaly is malformed here. */
	if (len > SIP_MAX_MSG || sip_parse(buf, len, &m) != SIP_OK || m.anomalies != 0) {
		h->stats.malformed++;
		return;
	}
	if (m.kind != SIP_RESPONSE) {
		h->stats.requests++;
		return;
	}
	/* Linear in the targets: at one probe per target and interval, cheaper than
	 * keeping an index of branches in step with every probe. */
	for (unsigned i = 0; i < h->n; i++) {
		struct htarget *c = &h->targets[i];

		if (c->outstanding && span_is(buf, m.via_branch, c->branch, c->branch_len)) {
			t = c;
			break;
		}
	}
	if (t == NULL) {
		for (unsigned i = 0; i < h->n; i++) {
			struct htarget *c = &h->targets[i];

			if (c->prev_branch_len != 0 &&
			    span_is(buf, m.via_branch, c->prev_branch, c->prev_branch_len)) {
				h->stats.late++;
				return;
			}
		}
		h->stats.unmatched++;
		return;
	}
	if (!span_is(buf, m.call_id, t->call_id, t->call_id_len) || m.cseq != t->cseq ||
	    m.cseq_method != SIP_METHOD_OPTIONS) {
		h->stats.unmatched++;
		return;
	}
	/* Only the backend itself may vouch for its health. The source port is not
	 * checked: a proxy may answer from another of its sockets. */
	if (!addr_equal(from, &t->t.addr)) {
		h->stats.wrong_source++;
		return;
	}
	if (m.status < 200) {
		h->stats.provisional++;
		return;
	}
	h->stats.matched++;
	t->outstanding = false;
	t->st.replies++;
	t->st.last_code = m.status;

	uint64_t rtt = now >= t->sent_us ? now - t->sent_us : 0;

	t->st.rtt_last_us = rtt;
	/* SRTT += (RTT - SRTT) / 8, RFC 6298; the first sample sets it. */
	if (t->st.replies == 1)
		t->st.rtt_ewma_us = rtt;
	else if (rtt >= t->st.rtt_ewma_us)
		t->st.rtt_ewma_us += (rtt - t->st.rtt_ewma_us) / 8;
	else
		t->st.rtt_ewma_us -= (t->st.rtt_ewma_us - rtt) / 8;
	if (h->p.overload_code != 0 && m.status == h->p.overload_code)
		judge(h, t, OUT_OVERLOAD, now);
	else if (health_accepts(&h->p, m.status))
		judge(h, t, OUT_SUCCESS, now);
	else
		judge(h, t, OUT_FAILURE, now);
}

/* Read what a socket holds, up to *budget datagrams. @return datagrams read. */
static int
sock_drain(struct health *h, int fd, unsigned *budget, uint64_t now)
{
	int got = 0;

	while (*budget > 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cfg_addr from;
		uint16_t port;
		/* MSG_TRUNC: the real length, so an oversize datagram is told, not cut. */
		ssize_t r = recvfrom(fd, h->buf, HEALTH_RECV_MAX, MSG_DONTWAIT | MSG_TRUNC,
		                     (struct sockaddr *)&ss, &sl);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				h->stats.recv_errors++;
			break;
		}
		(*budget)--;
		got++;
		h->stats.received++;
		if ((size_t)r > HEALTH_RECV_MAX || from_sockaddr(&ss, &from, &port) != 0) {
			h->stats.malformed++;
			continue;
		}
		reply_handle(h, h->buf, (size_t)r, &from, now);
	}
	return got;
}

/* Room for the changes of one turn. Mutex held. */
static int
changes_reserve(struct health *h)
{
	unsigned need = 2 * h->n;

	h->nchanges = 0;
	if (need <= h->changes_cap)
		return 0;
	struct hchange *c = realloc(h->changes, need * sizeof(*c));

	if (c == NULL)
		return -1;
	h->changes = c;
	h->changes_cap = need;
	return 0;
}

static int
poll_turn(struct health *h, int timeout_ms)
{
	struct pollfd *pfd;
	unsigned npfd = 0, budget = HEALTH_RECV_BATCH;
	uint64_t now, next = UINT64_MAX;
	int wait_ms, events = 0;

	pthread_mutex_lock(&h->lock);
	socks_gc(h);
	pfd = calloc(h->nsocks + 1, sizeof(*pfd));
	if (pfd == NULL) {
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	pfd[npfd++] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
	for (unsigned i = 0; i < h->nsocks; i++)
		if (h->socks[i].fd >= 0)
			pfd[npfd++] = (struct pollfd){.fd = h->socks[i].fd, .events = POLLIN};
	now = h->clock(h->clock_arg);
	for (unsigned i = 0; i < h->n; i++) {
		const struct htarget *t = &h->targets[i];
		uint64_t due = t->outstanding ? t->sent_us + (uint64_t)h->p.timeout_ms * 1000u
		                              : t->next_us;

		if (due < next)
			next = due;
	}
	wait_ms = timeout_ms;
	if (next != UINT64_MAX) {
		uint64_t until = next > now ? (next - now + 999) / 1000 : 0;

		if (timeout_ms < 0 || until < (uint64_t)timeout_ms)
			wait_ms = (int)until;
	}
	h->polling = true;
	pthread_mutex_unlock(&h->lock);

	int r = poll(pfd, npfd, wait_ms);

	pthread_mutex_lock(&h->lock);
	h->polling = false;
	now = h->clock(h->clock_arg);
	if (changes_reserve(h) != 0) {
		/* No memory for this turn's callbacks: leave everything for the next one. */
		pthread_mutex_unlock(&h->lock);
		free(pfd);
		return 0;
	}
	if (r > 0) {
		if (pfd[0].revents & POLLIN) {
			uint64_t v;

			if (read(h->wake_fd, &v, sizeof(v)) < 0)
				v = 0; /* already drained */
		}
		for (unsigned i = 1; i < npfd; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				events += sock_drain(h, pfd[i].fd, &budget, now);
	}
	/* Expire, then send: a probe that timed out now is followed by the next one at once
	 * when the interval equals the timeout (the default). */
	for (unsigned i = 0; i < h->n; i++) {
		struct htarget *t = &h->targets[i];

		if (t->outstanding && now >= t->sent_us + (uint64_t)h->p.timeout_ms * 1000u) {
			t->outstanding = false;
			t->st.timeouts++;
			memcpy(t->prev_branch, t->branch, sizeof(t->prev_branch));
			t->prev_branch_len = t->branch_len;
			judge(h, t, OUT_FAILURE, now);
			events++;
		}
		if (!t->outstanding && now >= t->next_us) {
			probe_send(h, t, now);
			events++;
		}
	}
	pthread_mutex_unlock(&h->lock);
	free(pfd);
	/* The changes array is the poller's own: safe to read without the mutex. */
	if (h->cb != NULL)
		for (unsigned i = 0; i < h->nchanges; i++)
			h->cb(h->changes[i].name, h->changes[i].old_state, h->changes[i].new_state,
			      h->cb_arg);
	h->nchanges = 0;
	return events;
}

/* ---- life cycle ---- */

struct health *
health_create(const struct health_params *p, const struct health_target *targets, unsigned n,
              health_cb cb, void *cb_arg, char *err, size_t errlen)
{
	struct health *h;

	if (p == NULL) {
		herr(err, errlen, "health: no parameters");
		return NULL;
	}
	if (health_params_check(p, err, errlen) != 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		herr(err, errlen, "health: out of memory");
		return NULL;
	}
	h->wake_fd = -1;
	h->p = *p;
	h->cb = cb;
	h->cb_arg = cb_arg;
	h->clock = clock_default;
	atomic_init(&h->generation, 0);
	atomic_init(&h->stop, false);
	rng_seed(h);
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		herr(err, errlen, "health: mutex: %s", strerror(errno));
		free(h);
		return NULL;
	}
	h->buf = malloc(HEALTH_RECV_MAX);
	h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->buf == NULL || h->wake_fd < 0) {
		herr(err, errlen, "health: %s", h->buf == NULL ? "out of memory" : strerror(errno));
		health_destroy(h);
		return NULL;
	}
	if (targets_apply(h, targets, n, err, errlen) != 0) {
		health_destroy(h);
		return NULL;
	}
	return h;
}

int
health_set_targets(struct health *h, const struct health_target *targets, unsigned n, char *err,
                   size_t errlen)
{
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = targets_apply(h, targets, n, err, errlen);
	pthread_mutex_unlock(&h->lock);
	if (rc == 0)
		wake(h); /* probe new targets now, not after the poller's current wait */
	return rc;
}

void
health_set_clock(struct health *h, health_clock fn, void *arg)
{
	pthread_mutex_lock(&h->lock);
	h->clock = fn != NULL ? fn : clock_default;
	h->clock_arg = fn != NULL ? arg : NULL;
	/* Times taken on the old clock mean nothing on the new one. */
	uint64_t now = h->clock(h->clock_arg);

	for (unsigned i = 0; i < h->n; i++) {
		h->targets[i].st.since_us = now;
		h->targets[i].next_us = 0;
		h->targets[i].outstanding = false;
	}
	pthread_mutex_unlock(&h->lock);
}

int
health_poll_once(struct health *h, int timeout_ms)
{
	if (h->running)
		return -1;
	return poll_turn(h, timeout_ms);
}

static void *
health_thread(void *arg)
{
	struct health *h = arg;

	while (!atomic_load(&h->stop))
		poll_turn(h, HEALTH_THREAD_MS);
	return NULL;
}

int
health_start(struct health *h, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (h->running) {
		herr(err, errlen, "health: already started");
		return -1;
	}
	atomic_store(&h->stop, false);
	/* Signals belong to the main thread (its loop watches a stop flag): the health
	 * thread inherits a mask that blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, health_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		herr(err, errlen, "health: thread: %s", strerror(rc));
		return -1;
	}
	h->running = true;
	return 0;
}

void
health_stop(struct health *h)
{
	if (h == NULL || !h->running)
		return;
	atomic_store(&h->stop, true);
	wake(h);
	pthread_join(h->thread, NULL);
	h->running = false;
}

void
health_destroy(struct health *h)
{
	if (h == NULL)
		return;
	health_stop(h);
	for (unsigned i = 0; i < h->nsocks; i++)
		sock_close(&h->socks[i]);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	free(h->socks);
	free(h->targets);
	free(h->changes);
	free(h->buf);
	free(h);
}

/* ---- queries ---- */

int
health_get(struct health *h, const char *name, struct health_status *out)
{
	int rc = -1;

	if (name == NULL)
		return -1;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n; i++) {
		if (strcmp(h->targets[i].t.name, name) == 0) {
			*out = h->targets[i].st;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

unsigned
health_list(struct health *h, struct health_status *out, unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	for (unsigned i = 0; i < n && i < max; i++)
		out[i] = h->targets[i].st;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void
health_get_stats(struct health *h, struct health_stats *out)
{
	pthread_mutex_lock(&h->lock);
	*out = h->stats;
	pthread_mutex_unlock(&h->lock);
}

uint64_t
health_generation(const struct health *h)
{
	return atomic_load(&((struct health *)h)->generation);
}
