/*
 * driver.c - edge_driver, the many-users load for siphon's TLS edge (docs/edge.md): opens N
 * TLS connections from many source addresses, registers one AOR per connection, answers the
 * edge's CRLF pongs, then waits for requests and checks each arrives on its own AOR's
 * connection (tests/test_edge_many.sh; issue 9's scripts/bench-edge scales it up). One
 * thread, one epoll set, every socket non-blocking; prints one summary line per run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF            65536u /* the shared read buffer: one read plus an unfinished message */
#define MSG_MAX         16384u /* a message larger than this from the edge is a protocol fault */
#define OUT_MAX         65536u /* octets a connection may queue */
#define EVENTS          512u
#define USER_MAX        64u
#define PID_MAX         64u /* processes of the edge measured (Kamailio is several) */
#define RETRY_AFTER_MAX 60u /* seconds: a longer Retry-After is waited this long */

/* C_WAIT: connected, the REGISTER answered 503 + Retry-After, sent again at retry_at. */
enum conn_state { C_IDLE, C_CONNECT, C_HANDSHAKE, C_REGISTER, C_WAIT, C_READY, C_DEAD };

struct conn {
	SSL *ssl;
	SSL_SESSION *sess; /* the last ticket the edge sent (--resume) */
	char *pend;        /* an unfinished message */
	char *out;         /* octets SSL_write has not taken */
	uint32_t pend_len, out_len;
	int fd;
	uint32_t idx;
	uint32_t cseq;
	uint32_t retries;
	uint32_t msgs;    /* requests received that were for this AOR */
	double last_ping; /* monotonic s */
	double retry_at;  /* C_WAIT: when to send the REGISTER again (monotonic s) */
	uint32_t waits;   /* 503 + Retry-After answers this registration has waited out */
	uint8_t state;
	uint8_t want_out; /* EPOLLOUT armed */
	uint8_t queued;   /* in wait_q */
};

struct opts {
	struct sockaddr_in dst;
	struct in_addr src;
	uint32_t src_count;
	uint32_t n;
	uint32_t conc;
	uint32_t expect; /* requests per AOR to wait for (0: none) */
	double timeout;
	double keepalive; /* seconds between pings on a ready connection (0: one ping) */
	double hold;
	const char *domain, *prefix, *sni, *ca;
	int pid;           /* the first of pids[] */
	int pids[PID_MAX]; /* --pid A,B,...: the edge's processes, CPU and memory summed */
	uint32_t npids;
	bool storm, resume;
	uint32_t max_retries;
	uint32_t max_waits; /* 503 + Retry-After answers one registration waits out */
	double storm_after; /* --storm-after: seconds all stay registered before the storm */
};

struct stats {
	uint64_t handshakes, resumed, hs_fail, registered, reg_fail, pings, pongs;
	uint64_t requests, misdelivered, dup, closed, other_resp, bad_msg, tickets;
	uint64_t reg_retries; /* REGISTERs sent again after a 503's Retry-After */
	uint64_t ready_n;     /* connections registered and open now */
	uint64_t satisfied;   /* connections that got all the MESSAGEs --expect asks for */
};

static struct opts O = {
        .src_count = 1,
        .conc = 256,
        .timeout = 60,
        .domain = "edge.test",
        .prefix = "u",
        .max_retries = 5,
        .max_waits = 100,
};
static struct stats S;
static struct conn *C;
static SSL_CTX *ctx;
static int ep;
static char rbuf[RBUF];
static uint32_t inflight, next_idx, *retry_q, retry_n;
static uint32_t *wait_q, wait_n, waiting; /* C_WAIT: queued (some stale), and in that state */
static volatile sig_atomic_t stop;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A "Name: N kB" field of a /proc file, summed over every listed process; -1 when one
 * cannot be read (a process gone is a crash the figures must not hide). */
static long
proc_kb_sum(const char *file, const char *field)
{
	long sum = 0;
	size_t fl = strlen(field);
	for (uint32_t i = 0; i < O.npids; i++) {
		char path[64], line[256];
		long kb = -1;
		snprintf(path, sizeof(path), "/proc/%d/%s", O.pids[i], file);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
				kb = strtol(line + fl + 1, NULL, 10);
				break;
			}
		fclose(f);
		if (kb < 0)
			return -1;
		sum += kb;
	}
	return sum;
}

/* CPU seconds (user + system, all threads) the listed processes have used; -1 when one
 * is gone. Fields 14 and 15 of /proc/PID/stat, counted after the command's last ')'
 * because the command may hold spaces and parentheses. */
static double
cpu_s(void)
{
	double ticks = (double)sysconf(_SC_CLK_TCK), sum = 0;
	for (uint32_t i = 0; i < O.npids; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", O.pids[i]);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return -1;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		unsigned long long ut, st;
		/* After ')': state, then fields 4..13 skipped, then utime and stime. */
		if (p == NULL ||
		    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		           &st) != 2)
			return -1;
		sum += (double)(ut + st) / ticks;
	}
	return sum;
}

static double
per(double num, double den)
{
	return den > 0 && num >= 0 ? num / den : 0;
}

/* later - earlier, or -1 when either reading failed (a process of the edge is gone). */
static double
delta(double earlier, double later)
{
	return earlier < 0 || later < 0 ? -1 : later - earlier;
}

static void
ep_set(struct conn *c, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.u32 = c->idx};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = out;
}

/* Close and forget the connection's socket and TLS state (the ticket stays). */
static void
conn_drop(struct conn *c)
{
	if (c->state == C_CONNECT || c->state == C_HANDSHAKE || c->state == C_REGISTER)
		inflight--;
	else if (c->state == C_READY)
		S.ready_n--;
	else if (c->state == C_WAIT)
		waiting--; /* its wait_q entry goes at the next wait_scan() */
	if (c->ssl != NULL) {
		/* Marked shut down (nothing is sent: the connection just drops, as a phone's
		 * does when its network blips), else OpenSSL takes the ticket for a bad one. */
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->pend);
	free(c->out);
	c->ssl = NULL;
	c->fd = -1;
	c->pend = c->out = NULL;
	c->pend_len = c->out_len = 0;
	c->want_out = 0;
}

/* A connection lost before its AOR was registered is tried again (a storm degrades into
 * retries, not losses); one lost after is counted, and its AOR stays unregistered. */
static void
conn_fail(struct conn *c)
{
	bool before = c->state != C_READY;
	conn_drop(c);
	if (before && c->retries++ < O.max_retries) {
		c->state = C_IDLE;
		retry_q[retry_n++] = c->idx;
		return;
	}
	if (before)
		S.reg_fail++;
	else
		S.closed++;
	c->state = C_DEAD;
}

static int
flush_out(struct conn *c)
{
	while (c->out_len > 0) {
		ERR_clear_error();
		int r = SSL_write(c->ssl, c->out, (int)c->out_len);
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				if (!c->want_out)
					ep_set(c, true);
				return 0;
			}
			return -1;
		}
		memmove(c->out, c->out + r, c->out_len - (uint32_t)r);
		c->out_len -= (uint32_t)r;
	}
	/* An idle connection keeps no buffer (at 10^5 connections it would add up). */
	free(c->out);
	c->out = NULL;
	if (c->want_out)
		ep_set(c, false);
	return 0;
}

static int
conn_send(struct conn *c, const char *p, size_t n)
{
	if (c->out_len + n > OUT_MAX)
		return -1;
	char *o = realloc(c->out, c->out_len + n);
	if (o == NULL)
		return -1;
	c->out = o;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += (uint32_t)n;
	return flush_out(c);
}

static void
user_of(uint32_t idx, char *out, size_t cap)
{
	snprintf(out, cap, "%s%" PRIu32, O.prefix, idx);
}

static int
send_register(struct conn *c)
{
	char u[USER_MAX], m[1024];
	user_of(c->idx, u, sizeof(u));
	/* The Contact names the user, not the socket: it stays the same across reconnects, so
	 * the registrar replaces the binding (and its Path) instead of adding one. */
	int n = snprintf(m, sizeof(m),
	                 "REGISTER sip:%s SIP/2.0\r\n"
	                 "Via: SIP/2.0/TLS %s.invalid;branch=z9hG4bK-d%s-%" PRIu32 ";rport\r\n"
	                 "Max-Forwards: 70\r\n"
	                 "From: <sip:%s@%s>;tag=d%s\r\n"
	                 "To: <sip:%s@%s>\r\n"
	                 "Call-ID: reg-%s@driver\r\n"
	                 "CSeq: %" PRIu32 " REGISTER\r\n"
	                 "Contact: <sip:%s@%s.invalid;transport=tls;ob>\r\n"
	                 "Supported: path\r\n"
	                 "Expires: 3600\r\n"
	                 "Content-Length: 0\r\n\r\n",
	                 O.domain, u, u, c->cseq, u, O.domain, u, u, O.domain, u, c->cseq, u, u);
	c->cseq++;
	return conn_send(c, m, (size_t)n);
}

static void
conn_start(uint32_t idx)
{
	struct conn *c = &C[idx];
	struct sockaddr_in src = {.sin_family = AF_INET};
	int one = 1;

	src.sin_addr.s_addr = htonl(ntohl(O.src.s_addr) + idx % O.src_count);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("edge_driver: socket");
		c->state = C_DEAD;
		S.reg_fail++;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Several thousand connections share one source address: let the kernel pick the port
	 * at connect time, per destination, not at bind time. */
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	c->state = C_CONNECT;
	inflight++;
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(c->fd, (struct sockaddr *)&O.dst, sizeof(O.dst)) != 0 &&
	     errno != EINPROGRESS)) {
		S.hs_fail++;
		conn_fail(c);
		return;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = idx};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		S.hs_fail++;
		conn_fail(c);
		return;
	}
	c->want_out = 1;
}

static void
handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		c->state = C_REGISTER;
		S.handshakes++;
		if (SSL_session_reused(c->ssl))
			S.resumed++;
		ep_set(c, false);
		if (send_register(c) != 0)
			conn_fail(c);
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		ep_set(c, false);
	else if (e == SSL_ERROR_WANT_WRITE)
		ep_set(c, true);
	else {
		S.hs_fail++;
		conn_fail(c);
	}
}

static void
connected(struct conn *c)
{
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
		S.hs_fail++;
		conn_fail(c);
		return;
	}
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		S.hs_fail++;
		conn_fail(c);
		return;
	}
	SSL_set_app_data(c->ssl, c);
	if (O.sni != NULL)
		SSL_set_tlsext_host_name(c->ssl, O.sni);
	if (O.sni != NULL && O.ca != NULL)
		SSL_set1_host(c->ssl, O.sni); /* --ca verifies the chain; this, the name */
	if (O.resume && c->sess != NULL)
		SSL_set_session(c->ssl, c->sess);
	c->state = C_HANDSHAKE;
	handshake(c);
}

/* The value of header name (or its compact form) in the header section h[0, n), its length
 * in *len; NULL when absent. */
static const char *
header(const char *h, size_t n, const char *name, char compact, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = memchr(h, '\n', n), *end = h + n;
	while (p != NULL && p + 1 < end) {
		const char *ls = p + 1;
		const char *le = memchr(ls, '\n', (size_t)(end - ls));
		if (le == NULL)
			le = end;
		const char *colon = memchr(ls, ':', (size_t)(le - ls));
		if (colon != NULL) {
			size_t k = (size_t)(colon - ls);
			while (k > 0 && (ls[k - 1] == ' ' || ls[k - 1] == '\t'))
				k--;
			if ((k == nl && strncasecmp(ls, name, nl) == 0) ||
			    (k == 1 && (ls[0] | 0x20) == compact)) {
				const char *v = colon + 1;
				while (v < le && (*v == ' ' || *v == '\t'))
					v++;
				const char *ve = le;
				while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
					ve--;
				*len = (size_t)(ve - v);
				return v;
			}
		}
		p = le < end ? le : NULL;
	}
	return NULL;
}

/* True when the URI in s[0, n) (after "sip:" or "sips:", anywhere in s) has user u. */
static bool
uri_user_is(const char *s, size_t n, const char *u)
{
	size_t ul = strlen(u);
	for (size_t i = 0; i + 4 <= n; i++) {
		size_t k = i;
		if (strncasecmp(s + i, "sip:", 4) == 0)
			k = i + 4;
		else if (i + 5 <= n && strncasecmp(s + i, "sips:", 5) == 0)
			k = i + 5;
		else
			continue;
		return k + ul < n && memcmp(s + k, u, ul) == 0 && s[k + ul] == '@';
	}
	return false;
}

/* Copy every line of header name from h[0, n) to out. */
static size_t
copy_lines(const char *h, size_t n, const char *name, char compact, char *out, size_t cap)
{
	size_t o = 0, nl = strlen(name);
	const char *p = memchr(h, '\n', n), *end = h + n;
	while (p != NULL && p + 1 < end) {
		const char *ls = p + 1;
		const char *le = memchr(ls, '\n', (size_t)(end - ls));
		le = le == NULL ? end : le + 1;
		const char *colon = memchr(ls, ':', (size_t)(le - ls));
		if (colon != NULL) {
			size_t k = (size_t)(colon - ls);
			while (k > 0 && (ls[k - 1] == ' ' || ls[k - 1] == '\t'))
				k--;
			if (((k == nl && strncasecmp(ls, name, nl) == 0) ||
			     (k == 1 && (ls[0] | 0x20) == compact)) &&
			    o + (size_t)(le - ls) < cap) {
				memcpy(out + o, ls, (size_t)(le - ls));
				o += (size_t)(le - ls);
			}
		}
		p = le < end ? le - 1 : NULL;
	}
	return o;
}

/* A request from the edge: for this connection's AOR (the request URI, which the registrar
 * set to our Contact, To, and the sender's body naming the user), answered 200 either way. */
static int
on_request(struct conn *c, const char *m, size_t hl, size_t len)
{
	char u[USER_MAX], out[4096];
	size_t tl = 0, sl = 0;
	user_of(c->idx, u, sizeof(u));
	const char *lf = memchr(m, '\n', hl);
	const char *to = header(m, hl, "To", 't', &tl);
	const char *cseq = header(m, hl, "CSeq", 0, &sl);
	if (lf == NULL || to == NULL || cseq == NULL) {
		S.bad_msg++;
		return -1;
	}
	S.requests++;
	bool is_msg = strncmp(m, "MESSAGE ", 8) == 0;
	bool mine = uri_user_is(m, (size_t)(lf - m), u) && uri_user_is(to, tl, u);
	if (is_msg && mine) {
		/* The sender wrote "for USER" in the body: the strongest sign of whom it meant. */
		char want[USER_MAX + 8];
		int wl = snprintf(want, sizeof(want), "for %s", u);
		size_t bl = len - hl;
		mine = bl >= (size_t)wl && memcmp(m + hl, want, (size_t)wl) == 0;
		for (size_t k = (size_t)wl; mine && k < bl; k++) /* a line end, no more */
			mine = m[hl + k] == '\r' || m[hl + k] == '\n';
	}
	if (!mine) {
		S.misdelivered++;
	} else if (is_msg) {
		if (++c->msgs == O.expect)
			S.satisfied++;
		else if (c->msgs > O.expect)
			S.dup++;
	}
	if (strncmp(m, "ACK ", 4) == 0)
		return 0;
	size_t o = (size_t)snprintf(out, sizeof(out), "SIP/2.0 200 OK\r\n");
	o += copy_lines(m, hl, "Via", 'v', out + o, sizeof(out) - o);
	o += copy_lines(m, hl, "From", 'f', out + o, sizeof(out) - o);
	o += copy_lines(m, hl, "Call-ID", 'i', out + o, sizeof(out) - o);
	o += copy_lines(m, hl, "CSeq", 0, out + o, sizeof(out) - o);
	int w = snprintf(out + o, sizeof(out) - o, "To: %.*s%s\r\nContent-Length: 0\r\n\r\n",
	                 (int)tl, to, memmem(to, tl, "tag=", 4) != NULL ? "" : ";tag=drv");
	if (w < 0 || (size_t)w >= sizeof(out) - o)
		return -1;
	return conn_send(c, out, o + (size_t)w);
}

static int
on_response(struct conn *c, const char *m, size_t hl)
{
	size_t sl = 0;
	const char *cseq = header(m, hl, "CSeq", 0, &sl);
	if (cseq == NULL || memmem(cseq, sl, "REGISTER", 8) == NULL) {
		S.other_resp++;
		return 0;
	}
	if (c->state != C_REGISTER)
		return 0;
	if (strncmp(m, "SIP/2.0 503", 11) == 0 && c->waits < O.max_waits) {
		/* The edge's registers_per_sec: wait as told on the same connection, as a phone
		 * does (RFC 3261 §21.5.4), then send the REGISTER again. */
		size_t rl = 0;
		const char *ra = header(m, hl, "Retry-After", 0, &rl);
		unsigned long secs = 0;
		size_t k = 0;
		for (; ra != NULL && k < rl && ra[k] >= '0' && ra[k] <= '9' && secs <= 3600; k++)
			secs = secs * 10 + (unsigned long)(ra[k] - '0');
		if (ra != NULL && k > 0) {
			c->waits++;
			c->state = C_WAIT;
			c->retry_at =
			        now_s() + (double)(secs < RETRY_AFTER_MAX ? secs : RETRY_AFTER_MAX);
			inflight--;
			waiting++;
			if (!c->queued) {
				c->queued = 1;
				wait_q[wait_n++] = c->idx;
			}
			return 0;
		}
	}
	if (strncmp(m, "SIP/2.0 2", 9) != 0) {
		if (strncmp(m, "SIP/2.0 1", 9) == 0)
			return 0;
		return -1; /* conn_fail() retries it */
	}
	c->state = C_READY;
	c->waits = 0;
	inflight--;
	S.registered++;
	S.ready_n++;
	/* One RFC 5626 ping now: every connection must see its pong. */
	c->last_ping = now_s();
	S.pings++;
	return conn_send(c, "\r\n\r\n", 4);
}

/* Frame what buf[0, *n) holds by Content-Length; keep the rest. @return -1 on a fault. */
static int
frames(struct conn *c, char *buf, size_t *n)
{
	size_t off = 0;
	while (off < *n) {
		if (buf[off] == '\r' || buf[off] == '\n') {
			/* Between messages: the edge's pong is one CRLF. */
			if (off + 1 >= *n)
				break;
			if (buf[off] == '\r' && buf[off + 1] == '\n') {
				S.pongs++;
				off += 2;
				continue;
			}
			S.bad_msg++;
			return -1;
		}
		char *h = memmem(buf + off, *n - off, "\r\n\r\n", 4);
		if (h == NULL) {
			if (*n - off > MSG_MAX) {
				S.bad_msg++;
				return -1;
			}
			break;
		}
		size_t hl = (size_t)(h - (buf + off)) + 4, vl = 0;
		const char *v = header(buf + off, hl, "Content-Length", 'l', &vl);
		unsigned long bl = 0;
		for (size_t k = 0; v != NULL && k < vl && bl <= MSG_MAX; k++)
			bl = v[k] >= '0' && v[k] <= '9' ? bl * 10 + (unsigned long)(v[k] - '0')
			                                : MSG_MAX + 1;
		if (v == NULL || bl > MSG_MAX) {
			S.bad_msg++;
			return -1;
		}
		if (*n - off < hl + bl)
			break;
		int rc = strncmp(buf + off, "SIP/2.0 ", 8) == 0
		                 ? on_response(c, buf + off, hl)
		                 : on_request(c, buf + off, hl, hl + bl);
		if (rc != 0)
			return -1;
		off += hl + bl;
	}
	memmove(buf, buf + off, *n - off);
	*n -= off;
	return 0;
}

static void
readable(struct conn *c)
{
	size_t n = c->pend_len;
	if (n > 0)
		memcpy(rbuf, c->pend, n);
	free(c->pend);
	c->pend = NULL;
	c->pend_len = 0;
	for (;;) {
		ERR_clear_error();
		int r = SSL_read(c->ssl, rbuf + n, (int)(sizeof(rbuf) - n));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			conn_fail(c);
			return;
		}
		n += (size_t)r;
		if (frames(c, rbuf, &n) != 0) {
			conn_fail(c);
			return;
		}
		if (sizeof(rbuf) - n < 4096) {
			S.bad_msg++;
			conn_fail(c);
			return;
		}
	}
	if (n > 0) {
		c->pend = malloc(n);
		if (c->pend == NULL) {
			conn_fail(c);
			return;
		}
		memcpy(c->pend, rbuf, n);
		c->pend_len = (uint32_t)n;
	}
}

static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_app_data(ssl);
	if (c == NULL)
		return 0;
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	S.tickets++;
	return 1; /* we keep the reference */
}

static void
on_event(uint32_t idx, uint32_t evs)
{
	struct conn *c = &C[idx];
	switch (c->state) {
	case C_CONNECT:
		connected(c);
		break;
	case C_HANDSHAKE:
		handshake(c);
		break;
	case C_REGISTER:
	case C_WAIT:
	case C_READY:
		if ((evs & EPOLLOUT) && flush_out(c) != 0) {
			conn_fail(c);
			break;
		}
		if (evs & (EPOLLIN | EPOLLERR | EPOLLHUP))
			readable(c);
		break;
	default:
		break;
	}
}

/* Send again the REGISTERs whose Retry-After is over, and forget the entries of connections
 * no longer waiting (dropped meanwhile). */
static void
wait_scan(double t)
{
	uint32_t keep = 0;
	for (uint32_t i = 0; i < wait_n; i++) {
		struct conn *c = &C[wait_q[i]];
		if (c->state == C_WAIT && t < c->retry_at) {
			wait_q[keep++] = c->idx;
			continue;
		}
		c->queued = 0;
		if (c->state != C_WAIT)
			continue;
		c->state = C_REGISTER;
		waiting--;
		inflight++;
		S.reg_retries++;
		if (send_register(c) != 0)
			conn_fail(c);
	}
	wait_n = keep;
}

/* Run the loop until done() says so or the timeout; start connections as room allows. */
static bool
run_until(bool (*done)(void), double limit)
{
	struct epoll_event evs[EVENTS];
	double t_end = now_s() + limit, next_tick = 0;
	while (!stop) {
		while (inflight < O.conc && (retry_n > 0 || next_idx < O.n))
			conn_start(retry_n > 0 ? retry_q[--retry_n] : next_idx++);
		if (done())
			return true;
		double t = now_s();
		if (t >= t_end)
			return false;
		if (wait_n > 0)
			wait_scan(t);
		if (O.keepalive > 0 && t >= next_tick) {
			next_tick = t + 1;
			for (uint32_t i = 0; i < O.n; i++)
				if (C[i].state == C_READY && t - C[i].last_ping >= O.keepalive) {
					C[i].last_ping = t;
					S.pings++;
					if (conn_send(&C[i], "\r\n\r\n", 4) != 0)
						conn_fail(&C[i]);
				}
		}
		int k = epoll_wait(ep, evs, EVENTS, 100);
		for (int i = 0; i < k; i++)
			on_event(evs[i].data.u32, evs[i].events);
	}
	return false;
}

static bool
all_settled(void)
{
	return next_idx == O.n && retry_n == 0 && inflight == 0 && waiting == 0;
}

/* Settled, and every ping answered: nothing of this phase is still on the wire. */
static bool
all_quiet(void)
{
	return all_settled() && S.pongs >= S.pings;
}

static bool
all_answered(void)
{
	return all_quiet() && (O.expect == 0 || S.satisfied >= S.ready_n);
}

static bool
never(void)
{
	return false;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: edge_driver --connect IP:PORT -n N [--src IP [--src-count K]]\n"
	        "  [--concurrency C] [--expect M] [--timeout S] [--keepalive S] [--hold S]\n"
	        "  [--storm [--storm-after S]] [--resume] [--pid PID[,PID...]] [--sni NAME]\n"
	        "  [--ca FILE] [--domain D] [--prefix P]\n"
	        "Opens N TLS connections (from K consecutive source addresses from IP), registers\n"
	        "AOR sip:P<i>@D on connection i, pings once; with --storm all reconnect (with\n"
	        "--resume on their tickets; --storm-after: S seconds after all registered) and\n"
	        "register again; prints 'ready' and waits for M requests per AOR, each checked\n"
	        "to be for the AOR of its connection. A REGISTER answered 503 with Retry-After\n"
	        "is sent again on its connection after that delay (at most 60 s, 100 times).\n");
}

static int
parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"connect", 1, 0, 'c'},     {"src", 1, 0, 's'},    {"src-count", 1, 0, 'k'},
	        {"concurrency", 1, 0, 'C'}, {"expect", 1, 0, 'e'}, {"timeout", 1, 0, 't'},
	        {"keepalive", 1, 0, 'K'},   {"hold", 1, 0, 'H'},   {"storm", 0, 0, 'S'},
	        {"resume", 0, 0, 'R'},      {"pid", 1, 0, 'p'},    {"sni", 1, 0, 'N'},
	        {"ca", 1, 0, 'A'},          {"domain", 1, 0, 'd'}, {"prefix", 1, 0, 'P'},
	        {"storm-after", 1, 0, 'W'}, {0, 0, 0, 0}};
	int ch;
	char host[64];
	unsigned port = 0;
	bool have_dst = false;

	O.src.s_addr = htonl(INADDR_ANY);
	while ((ch = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			O.n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			if (sscanf(optarg, "%63[0-9.]:%u", host, &port) != 2 || port == 0 ||
			    port > 65535 || inet_pton(AF_INET, host, &O.dst.sin_addr) != 1)
				return -1;
			O.dst.sin_family = AF_INET;
			O.dst.sin_port = htons((uint16_t)port);
			have_dst = true;
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &O.src) != 1)
				return -1;
			break;
		case 'k':
			O.src_count = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'C':
			O.conc = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			O.expect = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			O.timeout = strtod(optarg, NULL);
			break;
		case 'K':
			O.keepalive = strtod(optarg, NULL);
			break;
		case 'H':
			O.hold = strtod(optarg, NULL);
			break;
		case 'S':
			O.storm = true;
			break;
		case 'R':
			O.resume = true;
			break;
		case 'p': {
			/* One pid, or a comma-separated list (an edge of several processes). */
			char *p = optarg, *end;
			O.npids = 0;
			do {
				long v = strtol(p, &end, 10);
				if (end == p || v <= 0 || v > INT32_MAX || O.npids == PID_MAX ||
				    (*end != ',' && *end != '\0'))
					return -1;
				O.pids[O.npids++] = (int)v;
				p = end + 1;
			} while (*end == ',');
			O.pid = O.pids[0];
			break;
		}
		case 'N':
			O.sni = optarg;
			break;
		case 'A':
			O.ca = optarg;
			break;
		case 'd':
			O.domain = optarg;
			break;
		case 'P':
			O.prefix = optarg;
			break;
		case 'W':
			O.storm_after = strtod(optarg, NULL);
			if (!(O.storm_after >= 0 && O.storm_after <= 3600))
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (!have_dst || O.n == 0 || O.n > 4000000 || O.src_count == 0 || O.src_count > 1u << 24 ||
	    O.conc == 0 || O.timeout <= 0 || strlen(O.prefix) + 10 >= USER_MAX ||
	    strlen(O.domain) > 200)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	if (parse_opts(argc, argv) != 0) {
		usage();
		return 2;
	}
	/* A connection is a descriptor: take all the hard limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)O.n + 64)
			fprintf(stderr, "edge_driver: RLIMIT_NOFILE %llu is below N + 64\n",
			        (unsigned long long)rl.rlim_cur);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		fprintf(stderr, "edge_driver: no TLS context\n");
		return 1;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                              SSL_MODE_RELEASE_BUFFERS);
	if (O.ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, O.ca, NULL) != 1) {
			fprintf(stderr, "edge_driver: cannot load %s\n", O.ca);
			return 1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	/* Tickets go to each connection's record, not OpenSSL's cache: connection i resumes
	 * its own session, as a phone would. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(ctx, new_session);

	C = calloc(O.n, sizeof(*C));
	retry_q = calloc(O.n, sizeof(*retry_q));
	wait_q = calloc(O.n, sizeof(*wait_q));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (C == NULL || retry_q == NULL || wait_q == NULL || ep < 0) {
		fprintf(stderr, "edge_driver: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < O.n; i++) {
		C[i].idx = i;
		C[i].fd = -1;
		C[i].cseq = 1;
	}
	long rss0 = O.pid > 0 ? rss_kb(O.pid) : -1;
	long rsum0 = proc_kb_sum("status", "VmRSS"), pss0 = proc_kb_sum("smaps_rollup", "Pss");

	double cpu0 = cpu_s(), t0 = now_s();
	run_until(all_settled, O.timeout);
	double t_reg = now_s() - t0, cpu_conn = delta(cpu0, cpu_s());
	if (O.storm)
		run_until(all_quiet, O.timeout);
	uint64_t hs_first = S.handshakes, reg_first = S.registered;

	double t_storm = 0, cpu_storm = 0, t_quiet0 = 0, t_storm0 = 0, t_storm1 = 0;
	uint64_t storm_reg = 0, storm_hs = 0, storm_resumed = 0, retries_first = S.reg_retries;
	if (O.storm && O.storm_after > 0 && !stop) {
		/* A quiet stretch, every connection registered and answering its pings, for a
		 * measurement beside the storm to compare with (scripts/bench-edge --udp). */
		t_quiet0 = now_s();
		run_until(never, O.storm_after);
	}
	if (O.storm && !stop) {
		/* Every connection at once, as when an instance restarts: close all, reconnect. */
		for (uint32_t i = 0; i < O.n; i++)
			if (C[i].state == C_READY) {
				conn_drop(&C[i]);
				C[i].state = C_IDLE;
				C[i].retries = 0;
				C[i].waits = 0;
				C[i].msgs = 0;
				S.satisfied = 0;
				retry_q[retry_n++] = i;
			}
		uint64_t before = S.registered, hs0 = S.handshakes, res0 = S.resumed;
		double ts = now_s(), c0 = cpu_s();
		t_storm0 = ts;
		run_until(all_settled, O.timeout);
		t_storm1 = now_s();
		t_storm = t_storm1 - ts;
		cpu_storm = delta(c0, cpu_s());
		storm_reg = S.registered - before;
		storm_hs = S.handshakes - hs0;
		storm_resumed = S.resumed - res0;
	}
	uint64_t ready = 0;
	for (uint32_t i = 0; i < O.n; i++)
		ready += C[i].state == C_READY;
	long rss1 = O.pid > 0 ? rss_kb(O.pid) : -1;
	long rsum1 = proc_kb_sum("status", "VmRSS"), pss1 = proc_kb_sum("smaps_rollup", "Pss");
	printf("ready %" PRIu64 "\n", ready);
	fflush(stdout);

	bool answered = true;
	if (O.expect > 0 || S.pongs < S.pings)
		answered = run_until(all_answered, O.timeout);
	double cpu_hold = 0, t_hold = 0;
	long pss2 = -1, rsum2 = -1;
	uint64_t pings_hold = S.pings;
	if (O.hold > 0) {
		double c0 = cpu_s(), th = now_s();
		run_until(never, O.hold);
		t_hold = now_s() - th;
		cpu_hold = delta(c0, cpu_s());
		/* Again after the idle phase: just after a burst of handshakes, the allocator
		 * still holds their transient buffers (docs/edge.md, Sizing). */
		rsum2 = proc_kb_sum("status", "VmRSS");
		pss2 = proc_kb_sum("smaps_rollup", "Pss");
	}
	pings_hold = S.pings - pings_hold;

	uint64_t lost = 0;
	for (uint32_t i = 0; i < O.n; i++)
		if (C[i].msgs < O.expect)
			lost++;
	printf("edge_driver: conns=%" PRIu32 " ready=%" PRIu64 " handshakes=%" PRIu64
	       " hs_per_s=%.0f registered=%" PRIu64 " reg_per_s=%.0f reg_s=%.2f hs_fail=%" PRIu64
	       " reg_fail=%" PRIu64 " pings=%" PRIu64 " pongs=%" PRIu64 " requests=%" PRIu64
	       " lost=%" PRIu64 " misdelivered=%" PRIu64 " dup=%" PRIu64 " closed=%" PRIu64
	       " bad=%" PRIu64 " reg_retries=%" PRIu64,
	       O.n, ready, hs_first, t_reg > 0 ? (double)hs_first / t_reg : 0, reg_first,
	       t_reg > 0 ? (double)reg_first / t_reg : 0, t_reg, S.hs_fail, S.reg_fail, S.pings,
	       S.pongs, S.requests, lost, S.misdelivered, S.dup, S.closed, S.bad_msg,
	       S.reg_retries);
	if (O.storm)
		printf(" storm_s=%.2f storm_registered=%" PRIu64 " tickets=%" PRIu64
		       " resumed=%" PRIu64 " storm_reg_retries=%" PRIu64,
		       t_storm, storm_reg, S.tickets, S.resumed, S.reg_retries - retries_first);
	if (O.storm && O.storm_after > 0)
		/* CLOCK_MONOTONIC, for windows of other processes' timelines (edge_udp). */
		printf(" quiet_t0=%.4f storm_t0=%.4f storm_t1=%.4f", t_quiet0, t_storm0, t_storm1);
	if (O.pid > 0)
		printf(" rss_before_kb=%ld rss_after_kb=%ld rss_per_conn_b=%.0f", rss0, rss1,
		       ready > 0 && rss0 >= 0 && rss1 >= 0
		               ? (double)(rss1 - rss0) * 1024.0 / (double)ready
		               : 0.0);
	if (O.npids > 0) {
		/* The edge's own CPU time, not wall clock: on a shared machine the driver and
		 * other load take CPU the edge did not use. -1 marks a process gone. */
		printf(" edge_procs=%" PRIu32
		       " cpu_connect_s=%.3f hs_per_cpu_s=%.0f rsum_before_kb=%ld"
		       " rsum_after_kb=%ld pss_before_kb=%ld pss_after_kb=%ld pss_per_conn_b=%.0f",
		       O.npids, cpu_conn, per((double)hs_first, cpu_conn), rsum0, rsum1, pss0, pss1,
		       ready > 0 && pss0 >= 0 && pss1 >= 0
		               ? (double)(pss1 - pss0) * 1024.0 / (double)ready
		               : 0.0);
		if (O.storm)
			printf(" storm_handshakes=%" PRIu64 " storm_resumed=%" PRIu64
			       " storm_hs_per_s=%.0f cpu_storm_s=%.3f storm_hs_per_cpu_s=%.0f"
			       " storm_reg_per_s=%.0f",
			       storm_hs, storm_resumed, per((double)storm_hs, t_storm), cpu_storm,
			       per((double)storm_hs, cpu_storm), per((double)storm_reg, t_storm));
		if (O.hold > 0)
			printf(" hold_s=%.1f hold_pings=%" PRIu64
			       " cpu_hold_s=%.3f cpu_us_per_conn_s=%.3f",
			       t_hold, pings_hold, cpu_hold,
			       per(cpu_hold * 1e6, (double)ready * t_hold));
		if (O.hold > 0)
			printf(" rsum_idle_kb=%ld pss_idle_kb=%ld pss_idle_per_conn_b=%.0f", rsum2,
			       pss2,
			       ready > 0 && pss0 >= 0 && pss2 >= 0
			               ? (double)(pss2 - pss0) * 1024.0 / (double)ready
			               : 0.0);
	}
	printf("\n");
	fflush(stdout);

	for (uint32_t i = 0; i < O.n; i++) {
		conn_drop(&C[i]);
		if (C[i].sess != NULL)
			SSL_SESSION_free(C[i].sess);
	}
	free(C);
	free(retry_q);
	free(wait_q);
	close(ep);
	SSL_CTX_free(ctx);
	/* A duplicate is no fault of the edge (a retransmission the registrar relayed again):
	 * reported, not failed. */
	bool ok = ready == O.n && answered && lost == 0 && S.misdelivered == 0 &&
	          S.pongs >= S.pings && S.closed == 0 && S.bad_msg == 0;
	return ok ? 0 : 1;
}
