/*
 * edge.c - the SIP-over-TLS/TCP edge proxy: one thread, one epoll set, every listener,
 * client connection and the backend-facing UDP socket (docs/edge.md). Control plane,
 * off the worker cores. It owns the connection table below; nothing else touches it.
 * Invariant: a message is relayed only whole and only once; bad input closes its own
 * connection, counted by reason, and never stalls the loop (all sockets non-blocking).
 *
 * The connection table, sized for issue 9's 10^5 connections:
 * - One array of max_conns struct edge_conn, allocated once at start (from the edge's
 *   jemalloc arena), indexed by slot. A record is 88 octets: the fd, the SSL object
 *   (NULL on plain TCP), two buffer pointers, the peer, timers and a generation. Free
 *   slots form a LIFO list. Nothing is evicted to make room: at max_conns, or at
 *   max_conns_per_ip for a source, a new connection is accepted and closed at once
 *   (counted), so the kernel's backlog never fills with connections nobody serves.
 * - An idle connection holds no read buffer: reads go into one per-thread buffer of
 *   max_message + EDGE_READ_CHUNK octets; only the unfinished tail of a message is
 *   copied out (pend, exactly its size) until the next read. Output that the socket
 *   would not take goes to out, bounded by EDGE_OUT_MAX (a client that never reads is
 *   closed, counted). SSL_MODE_RELEASE_BUFFERS lets OpenSSL drop its 2 x 16 kB records
 *   while idle, so an idle TLS connection costs the record, OpenSSL's SSL object
 *   (a few kB) and the kernel's socket.
 * - The generation of a slot grows on every reuse; flow tokens (edge_flow.h) carry slot
 *   and generation, so a token of a closed connection never reaches the slot's next
 *   owner: it gets 430 Flow Failed.
 * - Timeouts (handshake, idle, an unfinished message) are found by a sweep of the table once a
 *   second: O(n), 88 octets read per record. Measured (docs/edge.md#sizing): 1.3 ms a sweep
 *   at 10^5 records, 0.13 % of a core, against 22-28 % (extrapolated) for the
 *   keep-alives of as many phones. A timer wheel would cost every record octets and every
 *   read bookkeeping; it pays only near 10^6 records.
 * - Storms (docs/edge.md#storms): handshakes_per_sec is a token bucket; while it is empty
 *   the listeners leave the epoll set, so new connections wait in the kernel's backlog
 *   rather than being refused. Only admitted connections spend it.
 * - Connections per source address are counted in 65536 buckets chosen by keyed hash of
 *   the address: two sources sharing a bucket share its limit (an attacker cannot aim
 *   at one, the key is secret), and the table's size never depends on the traffic.
 */
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "siphon/keyhash.h"
#include "siphon/log.h"
#include "siphon/maglev.h"
#include "siphon/sip.h"
#include "edge.h"
#include "edge_flow.h"
#include "edge_frame.h"
#include "edge_mem.h"
#include "edge_rtx.h"
#include "edge_tickets.h"

#define EDGE_READ_CHUNK   16384u       /* room past max_message for one read */
#define EDGE_OUT_MAX      (256u << 10) /* unsent octets a connection may hold */
#define EDGE_EVENTS       256u         /* epoll events per wait */
#define EDGE_IP_BUCKETS   65536u
#define EDGE_UDP_RCVBUF   (16 << 20) /* the backend socket's receive buffer, octets */
#define EDGE_HDR_ROOM     512u       /* octets the edge may add to a message (Via, Path) */
#define EDGE_LISTEN_MAX   (3u * CFG_EDGE_LISTEN_MAX)
#define EDGE_BRANCH_MAGIC "z9hG4bK-sph"

enum { EDGE_EV_LISTEN = 1, EDGE_EV_CONN, EDGE_EV_UDP, EDGE_EV_STOP, EDGE_EV_WAKE };
enum { CONN_FREE = 0, CONN_HANDSHAKE, CONN_OPEN };
#define CONN_F_WANT_WRITE 0x01u /* EPOLLOUT is armed: out holds octets */
#define CONN_F_HS_WRITE   0x02u /* the handshake waits to write */
#define CONN_F_RD_WRITE   0x04u /* SSL_read() waits to write (a TLS 1.3 key update) */
#define CONN_F_FLOW       0x08u /* a REGISTER went out with this connection's Path */
#define CONN_F_WR_READ    0x10u /* SSL_write() waits to read: out is flushed after a read */

struct edge_conn {
	SSL *ssl;      /* NULL on plain TCP */
	uint8_t *pend; /* an unfinished message's octets, NULL when none */
	uint8_t *out;  /* octets the socket would not take yet, NULL when none */
	uint32_t pend_len, out_len;
	uint32_t gen;     /* grows on every reuse of the slot */
	int32_t fd;       /* -1 when free */
	uint32_t next;    /* free list */
	uint32_t born_ms; /* monotonic ms (truncated): accept time (the handshake timeout), then
	                     the first octet of the unfinished message in pend (its timeout) */
	uint32_t last_s;  /* last byte from the client, monotonic s: the idle timeout */
	uint32_t rate_s;  /* second the rate count is for */
	uint16_t rate_n;  /* messages in that second */
	uint16_t bucket;  /* per-source counting bucket */
	uint8_t state;
	uint8_t flags;
	uint8_t family;
	uint8_t pad;
	uint16_t port;  /* peer port, host order */
	uint8_t ip[16]; /* peer address as struct cfg_addr holds it */
};
_Static_assert(sizeof(struct edge_conn) == 88, "the record docs/config.md and this header cost");

struct edge_listener {
	int fd;
	uint8_t tls; /* 0 tcp, 1 tls, 2 mtls */
};

/* A token bucket of one second's budget: milli-tokens (so any rate up to 10^6 a second
 * refills in whole units per millisecond) and when it was last topped up. Zeroed, it
 * fills at its first use. */
struct edge_tb {
	uint32_t ms;    /* monotonic ms, truncated */
	uint32_t milli; /* tokens x 1000, at most rate x 1000 */
};

/* One generation of TLS contexts: what a reload builds whole, off the edge thread, and
 * swaps in at once. Each SSL holds a reference to its SSL_CTX, so a connection accepted
 * (or switched by SNI) under an old generation keeps its context after the swap. */
struct edge_tls {
	SSL_CTX *ctx[CFG_EDGE_CERTS_MAX];  /* one per certificate name set; [0] is the default */
	SSL_CTX *mctx[CFG_EDGE_CERTS_MAX]; /* the same with client verification (mtls) */
	char *names[CFG_EDGE_CERTS_MAX];   /* each set's DNS names, NUL-separated, for SNI */
	unsigned nb_ctx;
};

struct edge {
	pthread_t thread;
	int running;
	int ep, stopfd, wakefd, udp;
	struct edge_listener ls[EDGE_LISTEN_MAX];
	unsigned nb_ls;
	struct edge_tls *tls; /* the edge thread's; NULL without TLS listeners */
	bool has_tls;         /* tls != NULL, fixed at start: what other threads may read */
	struct edge_tls *_Atomic tls_next;    /* handed over by edge_tls_commit() */
	_Atomic uint64_t tls_asked, tls_done; /* commits made, and taken by the edge thread */
	struct cfg_edge c;
	uint8_t flow_key[CFG_EDGE_KEY_MAX];
	size_t flow_key_len;
	struct keyhash kh;
	edge_pick_fn pick; /* backend for a key: edge_pick_cfg() or the caller's */
	void *pick_arg;
	struct maglev_table *table; /* edge_pick_cfg()'s, from the configuration */
	struct cfg_backend *be;     /* the group's backends, copied */
	unsigned nb_be;
	struct edge_conn *conns;
	uint32_t free_head;
	uint16_t *ip_count;
	struct edge_tb *ip_tb; /* handshakes_per_sec_per_ip, by the same buckets; NULL: off */
	struct edge_tb hs_tb;  /* handshakes_per_sec */
	struct edge_tb reg_tb; /* registers_per_sec */
	bool paused;           /* listeners out of the epoll set until hs_tb refills */
	uint8_t *buf;          /* the per-thread read buffer */
	size_t buf_cap;
	uint8_t *obuf; /* where a relayed message is assembled */
	size_t obuf_cap;
	char via_host[CFG_ADDR_STRLEN]; /* "addr:port" of the backend-facing socket */
	struct edge_rtx *rtx;           /* client requests sent again on the UDP hop (edge_rtx.h) */
	uint64_t rng;                   /* Retry-After jitter; never 0 */
	_Atomic uint64_t st[64];
};

enum {
#define EDGE_X_IDX_(f, d) EDGE_ST_##f,
	EDGE_STATS(EDGE_X_IDX_)
#undef EDGE_X_IDX_
	        EDGE_ST_COUNT
};
_Static_assert(EDGE_ST_COUNT <= 64, "edge counters");

#define ST_INC(e, f)    atomic_fetch_add_explicit(&(e)->st[EDGE_ST_##f], 1, memory_order_relaxed)
#define ST_DEC(e, f)    atomic_fetch_sub_explicit(&(e)->st[EDGE_ST_##f], 1, memory_order_relaxed)
#define ST_ADD(e, f, n) atomic_fetch_add_explicit(&(e)->st[EDGE_ST_##f], (n), memory_order_relaxed)

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Top b up for the time since its last use; 1 when it holds a whole token. */
static bool
tb_ready(struct edge_tb *b, uint32_t now, uint32_t rate)
{
	uint32_t dt = now - b->ms; /* wraps with the truncated clock */
	uint64_t m = b->milli + (uint64_t)(dt > 1000u ? 1000u : dt) * rate;

	b->milli = (uint32_t)(m > (uint64_t)rate * 1000u ? (uint64_t)rate * 1000u : m);
	b->ms = now;
	return b->milli >= 1000u;
}

/* Take one token; false (nothing taken) when the bucket is empty. rate 0: no limit. */
static bool
tb_take(struct edge_tb *b, uint32_t now, uint32_t rate)
{
	if (rate == 0)
		return true;
	if (!tb_ready(b, now, rate))
		return false;
	b->milli -= 1000u;
	return true;
}

/* ================= sockets and addresses ================= */

static socklen_t
to_sockaddr(const struct cfg_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a + 12, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->a, 16);
	return sizeof(*s6);
}

static void
from_sockaddr(const struct sockaddr_storage *ss, uint8_t *family, uint8_t ip[16], uint16_t *port)
{
	memset(ip, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		*family = 4;
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		*family = 6;
		memcpy(ip, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
}

static int
ep_add(struct edge *e, int fd, uint32_t events, uint32_t kind, uint32_t idx)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)kind << 32 | idx};
	return epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void
ep_mod(struct edge *e, uint32_t slot, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)EDGE_EV_CONN << 32 | slot};
	epoll_ctl(e->ep, EPOLL_CTL_MOD, e->conns[slot].fd, &ev);
}

static int
open_socket(const struct cfg_edge_listen *l, int type, int backlog, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(&l->addr, l->port, &ss);
	char a[CFG_ADDR_STRLEN];
	int one = 1;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, backlog) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "edge: %s %s: %s", type == SOCK_STREAM ? "listen" : "bind",
	         cfg_addr_format(&l->addr, l->port, a, sizeof(a)), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ================= TLS contexts ================= */

static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	char e[200];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "edge: %s %s: %s", what, file, e);
	ERR_clear_error();
}

static int edge_sni(SSL *ssl, int *ad, void *arg);

/* The session-id context of an mtls context: SHA-256 of the client CA file's contents and
 * client_verify. A session (ticket) carries the context it was made under, and OpenSSL
 * resumes one only under the same: after a reload that changes the CA, or on an instance
 * with another CA sharing ticket_keys, a client whose certificate was verified against the
 * old CA makes a full handshake and is verified again. -1 when the file cannot be read. */
static int
ca_context(const struct cfg_edge *c, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[4096], v = c->client_verify;
	unsigned int len = 0;
	FILE *f = fopen(c->client_ca, "rb");
	size_t n;
	int ok = md != NULL && f != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	         EVP_DigestUpdate(md, &v, 1) == 1;

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(md, buf, n) == 1;
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static SSL_CTX *
ctx_new(struct edge *e, const struct cfg_edge *c, int mtls, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* Renegotiation is a handshake storm a client can start at will; TLS 1.3 has none. */
	/* A phone that just drops the connection is a peer close, not a TLS error: most
	 * never send close_notify. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Session tickets (stateless resumption, OpenSSL's own rotating key) are on by
	 * default; no server-side session cache to grow with the clients. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (c->ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, c->ciphers) != 1) {
		ssl_err(err, errlen, "ciphers", c->ciphers);
		goto fail;
	}
	if (c->ciphersuites[0] != '\0' && SSL_CTX_set_ciphersuites(ctx, c->ciphersuites) != 1) {
		ssl_err(err, errlen, "ciphersuites", c->ciphersuites);
		goto fail;
	}
	if (mtls) {
		if (SSL_CTX_load_verify_locations(ctx, c->client_ca, NULL) != 1) {
			ssl_err(err, errlen, "client_ca", c->client_ca);
			goto fail;
		}
		SSL_CTX_set_verify(ctx,
		                   SSL_VERIFY_PEER | (c->client_verify == CFG_EDGE_VERIFY_REQUIRED
		                                              ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
		                                              : 0),
		                   NULL);
		/* Resumption with client certificates needs a session-id context: one of the
		 * CA's contents, so no session outlives a change of the CA (ca_context()). */
		unsigned char sid[32];
		if (ca_context(c, sid) != 0 || SSL_CTX_set_session_id_context(ctx, sid, 32) != 1) {
			ssl_err(err, errlen, "client_ca", c->client_ca);
			goto fail;
		}
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, edge_sni);
	SSL_CTX_set_tlsext_servername_arg(ctx, e);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The names a certificate answers for (its DNS SANs, else its CN), joined by NULs into
 * out, for grouping chains of one name set (ECDSA beside RSA) into one context. */
static size_t
cert_names(X509 *x, char *out, size_t cap)
{
	size_t o = 0;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
		size_t n = (size_t)ASN1_STRING_length(g->d.dNSName);
		if (o + n + 1 < cap) {
			memcpy(out + o, s, n);
			o += n;
			out[o++] = '\0';
		}
	}
	GENERAL_NAMES_free(gens);
	if (o == 0) {
		int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out,
		                                  (int)cap);
		o = n > 0 ? (size_t)n + 1 : 0;
	}
	return o;
}

static void
tls_free(struct edge_tls *t)
{
	if (t == NULL)
		return;
	for (unsigned k = 0; k < CFG_EDGE_CERTS_MAX; k++) {
		SSL_CTX_free(t->ctx[k]);
		SSL_CTX_free(t->mctx[k]);
		edge_mem_free(t->names[k]);
	}
	edge_mem_free(t);
}

/* Build every context of c's chains, keys and client CA, as one generation. Any thread:
 * it touches nothing the edge thread reads. mtls contexts are made when the edge has mtls
 * listeners (those are fixed at start). Every failure names its file. */
static struct edge_tls *
tls_build(struct edge *e, const struct cfg_edge *c, char *err, size_t errlen)
{
	char names[CFG_EDGE_CERTS_MAX][512];
	size_t nlen[CFG_EDGE_CERTS_MAX];
	int need_m = e->c.nb_mtls > 0;
	struct edge_tls *t;

	if (c->nb_certs == 0) {
		snprintf(err, errlen, "edge: no certificate for the TLS listeners");
		return NULL;
	}
	if ((t = edge_mem_calloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "edge: out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < c->nb_certs; i++) {
		SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
		X509 *leaf;
		unsigned k;

		ERR_clear_error();
		if (probe == NULL || SSL_CTX_use_certificate_chain_file(probe, c->certs[i]) != 1) {
			ssl_err(err, errlen, "certificate", c->certs[i]);
			SSL_CTX_free(probe);
			goto fail;
		}
		leaf = SSL_CTX_get0_certificate(probe);
		size_t n = cert_names(leaf, names[t->nb_ctx], sizeof(names[0]));
		SSL_CTX_free(probe);
		for (k = 0; k < t->nb_ctx; k++)
			if (nlen[k] == n && memcmp(names[k], names[t->nb_ctx], n) == 0)
				break;
		if (k == t->nb_ctx) {
			nlen[k] = n;
			if ((t->ctx[k] = ctx_new(e, c, 0, err, errlen)) == NULL)
				goto fail;
			if (need_m && (t->mctx[k] = ctx_new(e, c, 1, err, errlen)) == NULL)
				goto fail;
			t->nb_ctx++;
		}
		/* Chain and key into the name set's contexts: OpenSSL keeps one chain per key
		 * type, so an ECDSA and an RSA chain of one name sit side by side and each
		 * client gets the one its signature algorithms allow. */
		SSL_CTX *both[2] = {t->ctx[k], t->mctx[k]};
		for (int j = 0; j < 2; j++) {
			if (both[j] == NULL)
				continue;
			if (SSL_CTX_use_certificate_chain_file(both[j], c->certs[i]) != 1) {
				ssl_err(err, errlen, "certificate", c->certs[i]);
				goto fail;
			}
			/* OpenSSL checks a key against the chain's leaf as it loads it */
			int ok = SSL_CTX_use_PrivateKey_file(both[j], c->keys[i], SSL_FILETYPE_PEM);
			unsigned long why = ERR_peek_last_error();
			if (ok != 1 && (ERR_GET_LIB(why) != ERR_LIB_X509 ||
			                ERR_GET_REASON(why) != X509_R_KEY_VALUES_MISMATCH)) {
				ssl_err(err, errlen, "key", c->keys[i]);
				goto fail;
			}
			if (ok != 1 || SSL_CTX_check_private_key(both[j]) != 1) {
				char what[CFG_EDGE_PATH_MAX + 40];
				snprintf(what, sizeof(what), "key %s does not match certificate",
				         c->keys[i]);
				ssl_err(err, errlen, what, c->certs[i]);
				goto fail;
			}
		}
	}
	if (c->ticket_keys[0] != '\0') {
		/* One file for every context: which one a client's SNI picked must not
		 * change whether its ticket decrypts. */
		struct edge_tkeys tk;
		int rc = edge_tkeys_load(c->ticket_keys, &tk, err, errlen);
		for (unsigned k = 0; rc == 0 && k < t->nb_ctx; k++) {
			rc = edge_tkeys_attach(t->ctx[k], &tk, err, errlen);
			if (rc == 0 && t->mctx[k] != NULL)
				rc = edge_tkeys_attach(t->mctx[k], &tk, err, errlen);
		}
		OPENSSL_cleanse(&tk, sizeof(tk));
		if (rc != 0)
			goto fail;
	}
	for (unsigned k = 0; k < t->nb_ctx; k++) {
		if ((t->names[k] = edge_mem_calloc(nlen[k] + 1)) == NULL) {
			snprintf(err, errlen, "edge: out of memory");
			goto fail;
		}
		memcpy(t->names[k], names[k], nlen[k]);
	}
	return t;
fail:
	tls_free(t);
	return NULL;
}

/* A server name matches a certificate name exactly or through one leading "*." label. */
static int
name_match(const char *pat, const char *host)
{
	if (strcasecmp(pat, host) == 0)
		return 1;
	if (pat[0] == '*' && pat[1] == '.') {
		const char *dot = strchr(host, '.');
		return dot != NULL && dot != host && strcasecmp(pat + 1, dot) == 0;
	}
	return 0;
}

/* SNI: switch the connection to the context whose certificate names the requested
 * server; none matching keeps the default (the first chain's). */
static int
edge_sni(SSL *ssl, int *ad, void *arg)
{
	struct edge *e = arg;
	const struct edge_tls *t = e->tls; /* the current generation: SNI runs on the edge
	                                      thread, which alone swaps it */
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	/* mtls by the context's verify mode, not by identity: a handshake accepted before a
	 * reload holds a context of the previous generation. */
	int m = (SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(ssl)) & SSL_VERIFY_PEER) != 0;

	(void)ad;
	if (host == NULL || t == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (unsigned k = 0; k < t->nb_ctx; k++) {
		const char *names = t->names[k];
		for (const char *n = names; n != NULL && *n != '\0'; n += strlen(n) + 1)
			if (name_match(n, host)) {
				SSL_CTX *to = m ? t->mctx[k] : t->ctx[k];
				if (SSL_get_SSL_CTX(ssl) != to) {
					SSL_set_SSL_CTX(ssl, to);
					/* SSL_set_SSL_CTX does not carry the verify mode over */
					SSL_set_verify(ssl, SSL_CTX_get_verify_mode(to), NULL);
				}
				return SSL_TLSEXT_ERR_OK;
			}
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ================= connections ================= */

static uint16_t
ip_bucket(const struct edge *e, const uint8_t ip[16])
{
	return (uint16_t)keyhash_calc(&e->kh, ip, 16);
}

static void
conn_close(struct edge *e, uint32_t slot)
{
	struct edge_conn *c = &e->conns[slot];

	if (c->state == CONN_FREE)
		return;
	if (c->ssl != NULL) {
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
	}
	epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	edge_mem_free(c->pend);
	edge_mem_free(c->out);
	if (e->ip_count[c->bucket] > 0)
		e->ip_count[c->bucket]--;
	if (c->state == CONN_HANDSHAKE)
		ST_DEC(e, conns_handshake);
	if (c->flags & CONN_F_FLOW)
		ST_DEC(e, flows);
	uint32_t gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen + 1; /* tokens of this connection now name a past generation */
	c->fd = -1;
	c->next = e->free_head;
	e->free_head = slot;
	ST_DEC(e, conns_open);
}

/* Queue or send octets to a client; 0, or -1 when the connection was closed. */
static int
conn_send(struct edge *e, uint32_t slot, const uint8_t *p, size_t n)
{
	struct edge_conn *c = &e->conns[slot];
	size_t done = 0;
	bool wants_read = false;

	if (c->out_len == 0) {
		while (done < n) {
			ssize_t w;
			if (c->ssl != NULL) {
				ERR_clear_error();
				w = SSL_write(c->ssl, p + done, (int)(n - done));
				if (w <= 0) {
					int se = SSL_get_error(c->ssl, (int)w);
					if (se == SSL_ERROR_WANT_WRITE)
						break;
					if (se == SSL_ERROR_WANT_READ) {
						wants_read = true;
						break;
					}
					ST_INC(e, closed_write);
					conn_close(e, slot);
					return -1;
				}
			} else {
				w = send(c->fd, p + done, n - done, MSG_NOSIGNAL);
				if (w < 0) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					ST_INC(e, closed_write);
					conn_close(e, slot);
					return -1;
				}
			}
			done += (size_t)w;
		}
	}
	if (done == n)
		return 0;
	if (c->out_len + (n - done) > EDGE_OUT_MAX) {
		ST_INC(e, closed_out_full);
		conn_close(e, slot);
		return -1;
	}
	uint8_t *o = edge_mem_realloc(c->out, c->out_len + (n - done));
	if (o == NULL) {
		ST_INC(e, closed_write);
		conn_close(e, slot);
		return -1;
	}
	memcpy(o + c->out_len, p + done, n - done);
	c->out = o;
	c->out_len += (uint32_t)(n - done);
	/* TLS wanting to read (its peer's records first) must not wait on EPOLLOUT: a
	 * writable socket reports it at once, and the thread would spin until they come. */
	if (wants_read)
		c->flags |= CONN_F_WR_READ;
	else if (!(c->flags & (CONN_F_WANT_WRITE | CONN_F_WR_READ))) {
		c->flags |= CONN_F_WANT_WRITE;
		ep_mod(e, slot, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

/* conn_send() of octets new to the connection (counted once, not again when flushed). */
static int
conn_write(struct edge *e, uint32_t slot, const uint8_t *p, size_t n)
{
	ST_ADD(e, bytes_out, n);
	return conn_send(e, slot, p, n);
}

static void
conn_flush(struct edge *e, uint32_t slot)
{
	struct edge_conn *c = &e->conns[slot];
	uint8_t *o = c->out;
	uint32_t n = c->out_len;

	c->out = NULL;
	c->out_len = 0;
	c->flags &= (uint8_t) ~(CONN_F_WANT_WRITE | CONN_F_WR_READ);
	if (n > 0 && conn_send(e, slot, o, n) < 0) {
		edge_mem_free(o);
		return;
	}
	edge_mem_free(o);
	if (e->conns[slot].state != CONN_FREE &&
	    !(e->conns[slot].flags & (CONN_F_WANT_WRITE | CONN_F_RD_WRITE)))
		ep_mod(e, slot, EPOLLIN);
}

/* Every listener in or out of the epoll set (kept registered: no events while out). */
static void
listeners_arm(struct edge *e, bool on)
{
	for (unsigned i = 0; i < e->nb_ls; i++) {
		struct epoll_event ev = {.events = on ? EPOLLIN : 0,
		                         .data.u64 = (uint64_t)EDGE_EV_LISTEN << 32 | i};
		epoll_ctl(e->ep, EPOLL_CTL_MOD, e->ls[i].fd, &ev);
	}
	e->paused = !on;
}

static void
edge_accept(struct edge *e, unsigned li)
{
	if (e->paused)
		return; /* an event of this batch, from before the pause */
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		uint32_t now = (uint32_t)now_ms();

		/* handshakes_per_sec spent: what waits stays in the kernel's backlog (the
		 * client sees a slow connect, not a refusal) until the next tick refills the
		 * budget. Only connections given a slot spend it: refusing is cheap. */
		if (e->c.handshakes_per_sec != 0 &&
		    !tb_ready(&e->hs_tb, now, e->c.handshakes_per_sec)) {
			ST_INC(e, accept_paused);
			listeners_arm(e, false);
			return;
		}
		int fd = accept4(e->ls[li].fd, (struct sockaddr *)&ss, &sl,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		uint8_t family, ip[16];
		uint16_t port;

		if (fd < 0)
			return;
		ST_INC(e, conns_accepted);
		from_sockaddr(&ss, &family, ip, &port);
		uint16_t b = ip_bucket(e, ip);
		if (e->free_head == UINT32_MAX) {
			ST_INC(e, refused_total);
			close(fd);
			continue;
		}
		if (e->ip_count[b] >= e->c.max_conns_per_ip) {
			ST_INC(e, refused_per_ip);
			close(fd);
			continue;
		}
		/* One source over its rate is refused rather than queued: waiting it out
		 * would let it hold the backlog every other client waits in. */
		if (e->ip_tb != NULL &&
		    !tb_take(&e->ip_tb[b], now, e->c.handshakes_per_sec_per_ip)) {
			ST_INC(e, refused_hs_per_ip);
			close(fd);
			continue;
		}
		tb_take(&e->hs_tb, now, e->c.handshakes_per_sec);
		uint32_t slot = e->free_head;
		struct edge_conn *c = &e->conns[slot];
		e->free_head = c->next;
		c->fd = fd;
		c->family = family;
		memcpy(c->ip, ip, 16);
		c->port = port;
		c->bucket = b;
		uint64_t t = now_ms();
		c->born_ms = (uint32_t)t;
		c->last_s =
		        (uint32_t)(t / 1000u); /* not born_ms / 1000: that wraps every 49.7 days */
		c->state = CONN_OPEN;
		e->ip_count[b]++;
		ST_INC(e, conns_open);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (e->ls[li].tls) {
			SSL_CTX *ctx = e->ls[li].tls == 2 ? e->tls->mctx[0] : e->tls->ctx[0];
			c->ssl = SSL_new(ctx);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
				ST_INC(e, closed_handshake);
				conn_close(e, slot);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->state = CONN_HANDSHAKE;
			ST_INC(e, conns_handshake);
		}
		if (ep_add(e, fd, EPOLLIN, EDGE_EV_CONN, slot) != 0) {
			ST_INC(e,
			       closed_write); /* conn_close's EPOLL_CTL_DEL then fails harmlessly */
			conn_close(e, slot);
		}
	}
}

/* ================= relaying ================= */

int
edge_pick_cfg(void *arg, const char *group, const uint8_t *key, size_t len, unsigned how,
              struct cfg_addr *addr, uint16_t *port)
{
	struct edge *e = arg;

	(void)group; /* the table was built for e->c.group */
	(void)how;   /* a configuration's table has no transition window */
	if (e->table == NULL || len == 0)
		return -1;
	uint16_t i = maglev_lookup(e->table, keyhash_calc(&e->kh, key, len));
	if (i == MAGLEV_NONE || i >= e->nb_be)
		return -1;
	*addr = e->be[i].addr;
	*port = e->be[i].port;
	return 0;
}

/* Send to a backend; counted as sent, or as a send that failed (EMSGSIZE: a message
 * and the headers the edge added over a datagram's 65,507 octets). */
static int
udp_send(struct edge *e, const struct cfg_addr *a, uint16_t port, const uint8_t *p, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(a, port, &ss);

	if (sendto(e->udp, p, n, 0, (struct sockaddr *)&ss, sl) < 0) {
		ST_INC(e, to_backend_failed);
		return -1;
	}
	ST_INC(e, to_backend);
	return 0;
}

/* Whether a, port is a backend of the edge's group: the only place a client's response
 * may be sent, whatever its Via says (else a client writing the next Via could have the
 * edge send its bytes to any address). Backends as the configuration loaded at start
 * lists them; one added at run time gets responses after a restart (docs/edge.md). */
static bool
be_known(const struct edge *e, const struct cfg_addr *a, uint16_t port)
{
	for (unsigned i = 0; i < e->nb_be; i++)
		if (e->be[i].port == port && e->be[i].addr.family == a->family &&
		    memcmp(e->be[i].addr.a, a->a, sizeof(a->a)) == 0)
			return true;
	return false;
}

/* Append to the output buffer; 0 or -1 when it would not fit. */
static int
ob_put(struct edge *e, size_t *o, const void *p, size_t n)
{
	if (*o + n > e->obuf_cap)
		return -1;
	memcpy(e->obuf + *o, p, n);
	*o += n;
	return 0;
}

static int ob_printf(struct edge *e, size_t *o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
ob_printf(struct edge *e, size_t *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf((char *)e->obuf + *o, e->obuf_cap - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= e->obuf_cap - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

/* The end of the start line (just past its LF). */
static size_t
start_line_end(const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n);
	return lf != NULL ? (size_t)(lf - p) + 1 : n;
}

/* Bounds of the header value v (a span of m) when it is the first value of its own line:
 * [*ls, *le) is what to cut to remove that value (the whole line when it is alone, else
 * the value and its comma). @return 0, or -1 when v is not found as expected. */
static int
cut_first_value(const uint8_t *p, size_t n, struct sip_span v, size_t *ls, size_t *le)
{
	size_t s = v.off, e = (size_t)v.off + v.len;

	if (v.len == 0 || e > n)
		return -1;
	size_t j = e;
	while (j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (j < n && p[j] == ',') {
		j++;
		while (j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == '\r' || p[j] == '\n'))
			j++;
		*ls = s;
		*le = j;
		return 0;
	}
	/* alone on its line: from the line's start to past its line feed */
	size_t b = s;
	while (b > 0 && p[b - 1] != '\n')
		b--;
	const uint8_t *lf = memchr(p + e, '\n', n - e);
	if (lf == NULL)
		return -1;
	*ls = b;
	*le = (size_t)(lf - p) + 1;
	return 0;
}

/* The flow token of one of our URIs, "<sip:TOKEN@host...", in value v: 0 and its id when it
 * is there and verifies. */
static int
uri_token(struct edge *e, const uint8_t *p, struct sip_span v, struct edge_flow_id *id)
{
	const uint8_t *s = p + v.off, *end = s + v.len;
	const uint8_t *u = memchr(s, ':', v.len);
	if (u == NULL)
		return -1;
	u++;
	const uint8_t *at = memchr(u, '@', (size_t)(end - u));
	if (at == NULL)
		return -1;
	/* the host must be ours, so another proxy's Route is never taken for a flow */
	size_t hl = strlen(e->via_host);
	if ((size_t)(end - at - 1) < hl || memcmp(at + 1, e->via_host, hl) != 0)
		return -1;
	return edge_flow_check(e->flow_key, e->flow_key_len, (const char *)u, (size_t)(at - u), id);
}

static int
flow_live(struct edge *e, struct edge_flow_id id)
{
	return id.slot < e->c.max_conns && e->conns[id.slot].state == CONN_OPEN &&
	       e->conns[id.slot].gen == id.gen;
}

/* Branch of our Via: the flow token, then a hash of the sender's branch, so a retransmission
 * gets the same branch (RFC 3261 §16.11) and a response finds its connection statelessly. */
static void
our_branch(struct edge *e, const char *tok, const uint8_t *p, const struct sip_msg *m, char *out,
           size_t cap)
{
	uint64_t h = m->via_branch.len != 0
	                     ? keyhash_calc(&e->kh, p + m->via_branch.off, m->via_branch.len)
	                     : keyhash_calc(&e->kh, p + m->call_id.off, m->call_id.len) ^ m->cseq;
	snprintf(out, cap, EDGE_BRANCH_MAGIC "%s-%016" PRIx64, tok, h);
}

/* A client transaction's key in the retransmission table: the branch of the edge's Via
 * and the method (a CANCEL shares its INVITE's branch). */
static uint64_t
rtx_key(const struct edge *e, const uint8_t *branch, size_t len, unsigned method)
{
	return keyhash_calc(&e->kh, branch, len) + (uint64_t)method * 0x9e3779b97f4a7c15u;
}

static void
rtx_gauge(struct edge *e)
{
	atomic_store_explicit(&e->st[EDGE_ST_rtx_pending], edge_rtx_pending(e->rtx),
	                      memory_order_relaxed);
}

/* 503 + Retry-After down the connection, for a REGISTER over registers_per_sec: the
 * registrars are spared and the client told when to come back; the connection stays. */
static void answer_503(struct edge *e, uint32_t slot, const uint8_t *p, const struct sip_msg *m);
static size_t answer_hops(struct edge *e, const uint8_t *p, const struct sip_msg *m);
static int next_max_forwards(const struct sip_msg *m);
static int copy_rest(struct edge *e, size_t *o, const uint8_t *p, size_t from, size_t n,
                     size_t hdr_end, size_t cut_s, size_t cut_e);

/* A request or response from a client connection. */
static void
from_client(struct edge *e, uint32_t slot, const uint8_t *p, size_t n, struct sip_msg *m)
{
	struct edge_conn *c = &e->conns[slot];
	char tok[EDGE_FLOW_TOKEN_LEN + 1], branch[128];
	struct edge_flow_id id = {slot, c->gen};
	size_t o = 0;

	ST_INC(e, msgs_in);
	if (edge_flow_token(e->flow_key, e->flow_key_len, id, tok) < 0)
		return;
	if (m->kind == SIP_RESPONSE) {
		/* To a request a backend sent down this flow: our Via is on top; the next one
		 * says where the response goes. */
		size_t ls, le;
		struct edge_flow_id vid;
		if (m->via_branch.len <= sizeof(EDGE_BRANCH_MAGIC) - 1 ||
		    memcmp(p + m->via_branch.off, EDGE_BRANCH_MAGIC,
		           sizeof(EDGE_BRANCH_MAGIC) - 1) != 0 ||
		    m->via_branch.len < sizeof(EDGE_BRANCH_MAGIC) - 1 + EDGE_FLOW_TOKEN_LEN ||
		    edge_flow_check(e->flow_key, e->flow_key_len,
		                    (const char *)p + m->via_branch.off +
		                            sizeof(EDGE_BRANCH_MAGIC) - 1,
		                    EDGE_FLOW_TOKEN_LEN, &vid) != 0 ||
		    vid.slot != slot || vid.gen != c->gen || /* our Via, but of another flow */
		    cut_first_value(p, n, m->via, &ls, &le) != 0) {
			ST_INC(e, client_resp_drop);
			return;
		}
		if (ob_put(e, &o, p, ls) < 0 || ob_put(e, &o, p + le, n - le) < 0) {
			ST_INC(e, client_resp_drop);
			return;
		}
		struct sip_msg m2;
		struct cfg_addr a;
		uint16_t port;
		char host[64];
		if (sip_parse(e->obuf, o, &m2) != SIP_OK || m2.via_host.len == 0) {
			ST_INC(e, client_resp_drop);
			return;
		}
		/* A received= or host longer than any address literal is no address. */
		struct sip_span hs = m2.via_received.len != 0 ? m2.via_received : m2.via_host;
		if (hs.len >= sizeof(host)) {
			ST_INC(e, client_resp_drop);
			return;
		}
		memcpy(host, e->obuf + hs.off, hs.len);
		host[hs.len] = '\0';
		port = m2.via_port != 0 ? m2.via_port : CFG_DEFAULT_PORT;
		uint32_t rp = 0;
		for (uint16_t k = 0; k < m2.via_rport.len && rp < 65536; k++) {
			uint8_t d = e->obuf[m2.via_rport.off + k];
			rp = d >= '0' && d <= '9' ? rp * 10 + (d - '0') : 65536;
		}
		if (rp > 0 && rp < 65536)
			port = (uint16_t)rp;
		uint16_t ignored;
		if (cfg_addr_parse(host, &a, &ignored) != 0 || !be_known(e, &a, port)) {
			ST_INC(e, client_resp_drop); /* backends name themselves by address */
			return;
		}
		udp_send(e, &a, port, e->obuf, o);
		return;
	}

	/* A request: REGISTER by AOR, anything else by Call-ID (as the dataplane does). */
	struct cfg_addr baddr;
	uint16_t bport;
	int picked, mf = next_max_forwards(m);
	if (mf < 0) {
		size_t ho = answer_hops(e, p, m);
		if (ho != 0)
			conn_write(e, slot, e->obuf, ho);
		return;
	}
	if (m->method == SIP_METHOD_REGISTER &&
	    !tb_take(&e->reg_tb, (uint32_t)now_ms(), e->c.registers_per_sec)) {
		answer_503(e, slot, p, m);
		return;
	}
	if (m->method == SIP_METHOD_REGISTER) {
		char aor[EDGE_AOR_MAX];
		int al = m->to.len != 0 ? edge_aor_norm(p + m->to.off, m->to.len, aor) : -1;
		picked = al > 0 ? e->pick(e->pick_arg, e->c.group, (const uint8_t *)aor, (size_t)al,
		                          EDGE_PICK_FRESH, &baddr, &bport)
		                : -1;
	} else {
		/* The workers' notion of a fresh message and of one opening a dialog. */
		unsigned how = m->to_tag.len == 0 && m->method != SIP_METHOD_ACK &&
		                               m->method != SIP_METHOD_CANCEL
		                       ? EDGE_PICK_FRESH
		                       : 0;
		if (m->method == SIP_METHOD_INVITE || m->method == SIP_METHOD_SUBSCRIBE ||
		    m->method == SIP_METHOD_REFER || m->method == SIP_METHOD_OTHER)
			how |= EDGE_PICK_DIALOG;
		picked = m->call_id.len != 0 ? e->pick(e->pick_arg, e->c.group, p + m->call_id.off,
		                                       m->call_id.len, how, &baddr, &bport)
		                             : -1;
	}
	if (picked != 0) {
		ST_INC(e, no_backend);
		return;
	}
	/* Our own Route (from our Record-Route, on an in-dialog request) is removed: it
	 * names us, and the rest of the route set is the backend's business. */
	size_t cut_s = 0, cut_e = 0;
	struct edge_flow_id rid;
	if (m->route.len != 0 && uri_token(e, p, m->route, &rid) == 0 &&
	    cut_first_value(p, n, m->route, &cut_s, &cut_e) != 0)
		cut_s = cut_e = 0;

	size_t sl = start_line_end(p, n);
	our_branch(e, tok, p, m, branch, sizeof(branch));
	int rc = ob_put(e, &o, p, sl);
	rc |= ob_printf(e, &o, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: %d\r\n",
	                e->via_host, branch, mf);
	if (m->method == SIP_METHOD_REGISTER) {
		/* RFC 5626 §5.1: ;ob when the client asks for outbound (;ob in its Contact). */
		struct sip_msg rf;
		int ob = 0;
		if (sip_parse_rf(p, n, &rf) == SIP_OK && rf.contact.len >= 3)
			for (size_t k = rf.contact.off;
			     k + 3 <= (size_t)rf.contact.off + rf.contact.len; k++)
				if (memcmp(p + k, ";ob", 3) == 0 &&
				    (k + 3 == (size_t)rf.contact.off + rf.contact.len ||
				     p[k + 3] == ';' || p[k + 3] == '>' || p[k + 3] == ' ' ||
				     p[k + 3] == '\r'))
					ob = 1;
		rc |= ob_printf(e, &o, "Path: <sip:%s@%s;lr%s>\r\n", tok, e->via_host,
		                ob ? ";ob" : "");
	} else if ((m->method == SIP_METHOD_INVITE || m->method == SIP_METHOD_SUBSCRIBE ||
	            m->method == SIP_METHOD_REFER) &&
	           m->to_tag.len == 0) {
		rc |= ob_printf(e, &o, "Record-Route: <sip:%s@%s;lr>\r\n", tok, e->via_host);
	}
	rc |= copy_rest(e, &o, p, sl, n, m->body.off, cut_s, cut_e);
	if (rc != 0) {
		ST_INC(e, too_big);
		return;
	}
	if (m->method == SIP_METHOD_REGISTER && !(c->flags & CONN_F_FLOW)) {
		c->flags |= CONN_F_FLOW;
		ST_INC(e, flows);
	}
	/* Tracked for retransmission: what the kernel took (a datagram it refused would be
	 * refused again), but ACK, which has no response to wait for (the backend
	 * retransmits what it acknowledges), and a request whose CSeq is missing or names
	 * another method: its response's key (by CSeq method) would never match. */
	if (udp_send(e, &baddr, bport, e->obuf, o) == 0 && m->method != SIP_METHOD_ACK &&
	    e->rtx != NULL && m->cseq_method == m->method &&
	    !(m->anomalies & (SIP_ANOMALY_BIT(SIP_NO_CSEQ) | SIP_ANOMALY_BIT(SIP_BAD_CSEQ) |
	                      SIP_ANOMALY_BIT(SIP_CSEQ_MISMATCH)))) {
		struct edge_rtx_req r = {
		        .key = rtx_key(e, (const uint8_t *)branch, strlen(branch), m->cseq_method),
		        .slot = slot,
		        .gen = c->gen,
		        .to = baddr,
		        .port = bport,
		        .invite = m->method == SIP_METHOD_INVITE,
		};
		if (edge_rtx_add(e->rtx, &r, e->obuf, o, now_ms()) != 0)
			ST_INC(e, rtx_untracked);
		rtx_gauge(e);
	}
}

/* The end of the header line that starts at i, its continuation lines included. */
static size_t
header_line_end(const uint8_t *p, size_t i, size_t hdr_end)
{
	const uint8_t *lf = memchr(p + i, '\n', hdr_end - i);
	size_t le = lf != NULL ? (size_t)(lf - p) + 1 : hdr_end;

	while (le < hdr_end && (p[le] == ' ' || p[le] == '\t')) {
		lf = memchr(p + le, '\n', hdr_end - le);
		le = lf != NULL ? (size_t)(lf - p) + 1 : hdr_end;
	}
	return le;
}

/* Whether the header line p[i..le) is named name (or its compact form; 0: none). */
static bool
header_named(const uint8_t *p, size_t i, size_t le, const char *name, char compact)
{
	size_t k = i, nl = strlen(name);

	while (k < le && p[k] != ':' && p[k] != ' ' && p[k] != '\t')
		k++;
	return (k - i == nl && strncasecmp((const char *)p + i, name, nl) == 0) ||
	       (compact != 0 && k - i == 1 && (p[i] | 0x20) == compact);
}

/* Copy every header line named name (or its compact form) from p to the output. */
static int
copy_headers(struct edge *e, size_t *o, const uint8_t *p, size_t hdr_end, const char *name,
             char compact)
{
	size_t i = start_line_end(p, hdr_end);
	int rc = 0;

	while (i < hdr_end) {
		size_t le = header_line_end(p, i, hdr_end);

		if (header_named(p, i, le, name, compact))
			rc |= ob_put(e, o, p + i, le - i);
		i = le;
	}
	return rc;
}

/* p[from..n) to the output without [cut_s, cut_e) (the edge's own Route value; empty
 * when equal) and without any Max-Forwards line: the caller wrote the decremented one. */
static int
copy_rest(struct edge *e, size_t *o, const uint8_t *p, size_t from, size_t n, size_t hdr_end,
          size_t cut_s, size_t cut_e)
{
	size_t i = from;
	int rc = 0;

	while (i < hdr_end) {
		size_t le = header_line_end(p, i, hdr_end);

		if (!header_named(p, i, le, "Max-Forwards", 0)) {
			if (cut_e > cut_s && cut_s >= i && cut_e <= le) {
				rc |= ob_put(e, o, p + i, cut_s - i);
				rc |= ob_put(e, o, p + cut_e, le - cut_e);
			} else {
				rc |= ob_put(e, o, p + i, le - i);
			}
		}
		i = le;
	}
	return rc | ob_put(e, o, p + i, n - i);
}

/* A response of the edge's own to request p: its Via, From, To (tagged: RFC 3261
 * §8.2.6.2), Call-ID and CSeq, then extra (whole header lines) and an empty body. Its
 * length, or 0 when it does not fit the output buffer. */
static size_t
answer_build(struct edge *e, const uint8_t *p, const struct sip_msg *m, const char *status,
             const char *extra)
{
	size_t o = 0, hdr_end = m->body.off;
	int rc = ob_printf(e, &o, "SIP/2.0 %s\r\n", status);

	rc |= copy_headers(e, &o, p, hdr_end, "Via", 'v');
	rc |= copy_headers(e, &o, p, hdr_end, "From", 'f');
	size_t to_at = o;
	rc |= copy_headers(e, &o, p, hdr_end, "To", 't');
	if (rc == 0 && m->to_tag.len == 0 && o >= to_at + 2 && e->obuf[o - 1] == '\n') {
		o -= e->obuf[o - 2] == '\r' ? 2 : 1;
		rc |= ob_printf(e, &o, ";tag=sph-edge\r\n");
	}
	rc |= copy_headers(e, &o, p, hdr_end, "Call-ID", 'i');
	rc |= copy_headers(e, &o, p, hdr_end, "CSeq", 0);
	rc |= ob_printf(e, &o, "%sContent-Length: 0\r\n\r\n", extra);
	return rc == 0 ? o : 0;
}

/* The Max-Forwards a relayed request carries (RFC 3261 §16.6 step 3: one less, or 70
 * when absent), or -1 when it must not be relayed: 0 (§16.3 step 3) or malformed. */
static int
next_max_forwards(const struct sip_msg *m)
{
	if (m->flags & SIP_F_MAX_FORWARDS_BAD)
		return -1;
	if (!(m->flags & SIP_F_MAX_FORWARDS))
		return 70;
	return m->max_forwards == 0 ? -1 : m->max_forwards - 1;
}

/* 483 Too Many Hops, or 400 for a malformed Max-Forwards (never to an ACK): its length in
 * obuf, 0 for nothing to send. Counted either way. */
static size_t
answer_hops(struct edge *e, const uint8_t *p, const struct sip_msg *m)
{
	ST_INC(e, too_many_hops);
	if (m->method == SIP_METHOD_ACK)
		return 0;
	return answer_build(e, p, m,
	                    (m->flags & SIP_F_MAX_FORWARDS_BAD) ? "400 Bad Max-Forwards"
	                                                        : "483 Too Many Hops",
	                    "");
}

static void
answer_430(struct edge *e, const struct sockaddr_storage *to, socklen_t tl, const uint8_t *p,
           const struct sip_msg *m)
{
	size_t o;

	ST_INC(e, flow_failed);
	if (m->method == SIP_METHOD_ACK)
		return; /* never answered (§17) */
	if ((o = answer_build(e, p, m, "430 Flow Failed", "")) != 0)
		sendto(e->udp, e->obuf, o, 0, (const struct sockaddr *)to, tl);
}

static void
answer_503(struct edge *e, uint32_t slot, const uint8_t *p, const struct sip_msg *m)
{
	char extra[40];
	size_t o;

	/* Up to half as much again at random: phones told to come back all at the same
	 * second would come back as the next storm. xorshift64: no system call. */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	uint32_t ra = e->c.retry_after_s + (uint32_t)(e->rng % (e->c.retry_after_s / 2 + 1));
	ST_INC(e, register_503);
	snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", (unsigned)ra);
	if ((o = answer_build(e, p, m, "503 Service Unavailable", extra)) != 0)
		conn_write(e, slot, e->obuf, o);
}

/* One datagram from a backend: a request for a registered client (its top Route names
 * our flow), or a response to a request we relayed (its top Via is ours). */
static void
from_backend(struct edge *e, const uint8_t *p, size_t n, const struct sockaddr_storage *from,
             socklen_t fl)
{
	struct sip_msg m;
	struct edge_flow_id id;
	size_t ls, le, o = 0;

	ST_INC(e, from_backend);
	if (sip_parse(p, n, &m) != SIP_OK) {
		ST_INC(e, backend_drop);
		return;
	}
	if (m.kind == SIP_RESPONSE) {
		const size_t ml = sizeof(EDGE_BRANCH_MAGIC) - 1;
		/* Whatever becomes of the response, its request need not be sent again. */
		if (e->rtx != NULL && m.via_branch.len != 0) {
			edge_rtx_answer(
			        e->rtx,
			        rtx_key(e, p + m.via_branch.off, m.via_branch.len, m.cseq_method),
			        m.status, now_ms());
			rtx_gauge(e);
		}
		if (m.via_branch.len < ml + EDGE_FLOW_TOKEN_LEN ||
		    memcmp(p + m.via_branch.off, EDGE_BRANCH_MAGIC, ml) != 0 ||
		    edge_flow_check(e->flow_key, e->flow_key_len,
		                    (const char *)p + m.via_branch.off + ml, EDGE_FLOW_TOKEN_LEN,
		                    &id) != 0 ||
		    !flow_live(e, id) || cut_first_value(p, n, m.via, &ls, &le) != 0) {
			ST_INC(e, backend_drop);
			return;
		}
		if (ob_put(e, &o, p, ls) < 0 || ob_put(e, &o, p + le, n - le) < 0) {
			ST_INC(e, backend_drop);
			return;
		}
		if (conn_write(e, id.slot, e->obuf, o) == 0)
			ST_INC(e, to_client);
		return;
	}
	if (m.route.len == 0 || uri_token(e, p, m.route, &id) != 0 || !flow_live(e, id) ||
	    cut_first_value(p, n, m.route, &ls, &le) != 0) {
		answer_430(e, from, fl, p, &m);
		return;
	}
	int mf = next_max_forwards(&m);
	if (mf < 0) {
		size_t ho = answer_hops(e, p, &m);
		if (ho != 0)
			sendto(e->udp, e->obuf, ho, 0, (const struct sockaddr *)from, fl);
		return;
	}
	/* Our Via (TLS towards the client, RFC 3261 §18.2.1 for the next hop) on top; our
	 * Route gone. The client's response comes back on the same connection. */
	char tok[EDGE_FLOW_TOKEN_LEN + 1], branch[128];
	if (edge_flow_token(e->flow_key, e->flow_key_len, id, tok) < 0) {
		ST_INC(e, backend_drop);
		return;
	}
	our_branch(e, tok, p, &m, branch, sizeof(branch));
	size_t sl = start_line_end(p, n);
	int rc = ob_put(e, &o, p, sl);
	rc |= ob_printf(e, &o, "Via: SIP/2.0/%s %s;branch=%s\r\nMax-Forwards: %d\r\n",
	                e->conns[id.slot].ssl != NULL ? "TLS" : "TCP", e->via_host, branch, mf);
	/* A dialog the backend opens towards the client records us too: the caller's ACK,
	 * BYE and re-INVITE then come back here with our token as their Route, since the
	 * client's Contact (a TLS address behind us) is no place a backend can reach. */
	if ((m.method == SIP_METHOD_INVITE || m.method == SIP_METHOD_SUBSCRIBE ||
	     m.method == SIP_METHOD_REFER) &&
	    m.to_tag.len == 0)
		rc |= ob_printf(e, &o, "Record-Route: <sip:%s@%s;lr>\r\n", tok, e->via_host);
	if (ls >= sl)
		rc |= copy_rest(e, &o, p, sl, n, m.body.off, ls, le);
	else
		rc = -1;
	if (rc != 0) {
		ST_INC(e, backend_drop);
		return;
	}
	if (conn_write(e, id.slot, e->obuf, o) == 0)
		ST_INC(e, to_client);
}

/* edge_rtx_run()'s: send a request again while its client is there; at Timer B/F, tell
 * the client 408 (built from the copy without the edge's Via, in the read buffer, which
 * is free between events). */
static bool
rtx_fire(void *arg, const struct edge_rtx_req *r, const uint8_t *p, size_t n, bool timed_out)
{
	struct edge *e = arg;
	struct edge_flow_id id = {r->slot, r->gen};
	struct sip_msg m;
	size_t ls, le, o;

	if (!timed_out) {
		if (!flow_live(e, id))
			return false;
		ST_INC(e, rtx_sent);
		udp_send(e, &r->to, r->port, p, n);
		return true;
	}
	ST_INC(e, rtx_timeout); /* whether or not its client is still there to be told */
	if (!flow_live(e, id) || sip_parse(p, n, &m) != SIP_OK ||
	    cut_first_value(p, n, m.via, &ls, &le) != 0 || n - (le - ls) > e->buf_cap)
		return false;
	memcpy(e->buf, p, ls);
	memcpy(e->buf + ls, p + le, n - le);
	n -= le - ls;
	if (sip_parse(e->buf, n, &m) == SIP_OK &&
	    (o = answer_build(e, e->buf, &m, "408 Request Timeout", "")) != 0 &&
	    conn_write(e, r->slot, e->obuf, o) == 0)
		ST_INC(e, rtx_408);
	return false;
}

static void
udp_readable(struct edge *e)
{
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(e->udp, e->buf, SIP_MAX_MSG, 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			return;
		from_backend(e, e->buf, (size_t)r, &from, fl);
	}
}

/* ================= reading a connection ================= */

/* Frame and handle what buf[0, *n) holds; keep the rest at its start. @return 0, or -1 when
 * the connection was closed. */
static int
conn_frames(struct edge *e, uint32_t slot, size_t *n)
{
	size_t off = 0;
	uint32_t now_s = (uint32_t)(now_ms() / 1000u);

	while (off < *n) {
		struct sip_msg m;
		size_t len;
		enum edge_frame_err fe;
		enum sip_verdict v;
		enum edge_frame_rc rc = edge_frame_next(e->buf + off, *n - off, e->c.max_header,
		                                        e->c.max_message, &m, &len, &fe, &v);
		if (rc == EDGE_FRAME_MORE)
			break;
		if (rc == EDGE_FRAME_ERR) {
			if (fe == EDGE_FERR_HEADER_SIZE)
				ST_INC(e, closed_header_size);
			else if (fe == EDGE_FERR_MSG_SIZE)
				ST_INC(e, closed_msg_size);
			else if (fe == EDGE_FERR_NO_LENGTH)
				ST_INC(e, closed_no_length);
			else
				ST_INC(e, closed_parse);
			conn_close(e, slot);
			return -1;
		}
		if (rc == EDGE_FRAME_PING) {
			ST_INC(e, keepalives);
			if (conn_write(e, slot, (const uint8_t *)"\r\n", 2) < 0)
				return -1;
		} else if (rc == EDGE_FRAME_MSG) {
			struct edge_conn *c = &e->conns[slot];
			if (c->rate_s != now_s) {
				c->rate_s = now_s;
				c->rate_n = 0;
			}
			/* Saturating: a 16-bit count that wrapped would never exceed the limit
			 * (max_msgs_per_sec is at most 65,534). */
			c->rate_n += c->rate_n < UINT16_MAX;
			if (c->rate_n > e->c.max_msgs_per_sec) {
				ST_INC(e, closed_rate);
				conn_close(e, slot);
				return -1;
			}
			from_client(e, slot, e->buf + off, len, &m);
			if (e->conns[slot].state == CONN_FREE)
				return -1;
		}
		off += len;
	}
	memmove(e->buf, e->buf + off, *n - off);
	*n -= off;
	return 0;
}

static void
conn_readable(struct edge *e, uint32_t slot)
{
	struct edge_conn *c = &e->conns[slot];
	size_t n = c->pend_len;

	int fresh = n == 0; /* what is left at the end starts a new message */

	if (n > 0)
		memcpy(e->buf, c->pend, n);
	edge_mem_free(c->pend);
	c->pend = NULL;
	c->pend_len = 0;
	for (;;) {
		ssize_t r;
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_read(c->ssl, e->buf + n, (int)(e->buf_cap - n));
			if (r <= 0) {
				int se = SSL_get_error(c->ssl, (int)r);
				if (se == SSL_ERROR_WANT_READ)
					break;
				if (se == SSL_ERROR_WANT_WRITE) {
					/* A TLS 1.3 key update (or ticket) to send and a full
					 * socket: the read resumes when it is writable, not at
					 * the next octet the client happens to send. */
					if (!(c->flags & CONN_F_RD_WRITE)) {
						c->flags |= CONN_F_RD_WRITE;
						ep_mod(e, slot, EPOLLIN | EPOLLOUT);
					}
					break;
				}
				if (se == SSL_ERROR_ZERO_RETURN || se == SSL_ERROR_SYSCALL)
					ST_INC(e, closed_peer);
				else
					ST_INC(e, closed_tls);
				conn_close(e, slot);
				return;
			}
		} else {
			r = recv(c->fd, e->buf + n, e->buf_cap - n, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (r <= 0) {
				ST_INC(e, closed_peer);
				conn_close(e, slot);
				return;
			}
		}
		c->last_s = (uint32_t)(now_ms() / 1000u);
		ST_ADD(e, bytes_in, (uint64_t)r);
		n += (size_t)r;
		size_t before = n;
		if (conn_frames(e, slot, &n) < 0)
			return;
		fresh |= n < before;
	}
	if (n > 0) {
		/* A slow-loris trickles one message for ever: it gets message_timeout_ms from
		 * its first octet, however often octets come. */
		if (fresh)
			c->born_ms = (uint32_t)now_ms();
		c->pend = edge_mem_calloc(n);
		if (c->pend == NULL) {
			ST_INC(e, closed_write);
			conn_close(e, slot);
			return;
		}
		memcpy(c->pend, e->buf, n);
		c->pend_len = (uint32_t)n;
	}
}

/* Which of the handshake failures this is, by OpenSSL's reason (its queue, this thread). */
static void
hs_fail_reason(struct edge *e, int se)
{
	unsigned long err = ERR_peek_last_error();
	int why = ERR_GET_LIB(err) == ERR_LIB_SSL ? ERR_GET_REASON(err) : 0;

	if (se == SSL_ERROR_ZERO_RETURN || se == SSL_ERROR_SYSCALL ||
	    why == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		ST_INC(e, hs_fail_peer);
	else if (why == SSL_R_WRONG_VERSION_NUMBER || why == SSL_R_HTTP_REQUEST ||
	         why == SSL_R_HTTPS_PROXY_REQUEST || why == SSL_R_PACKET_LENGTH_TOO_LONG ||
	         why == SSL_R_UNKNOWN_PROTOCOL || why == SSL_R_RECORD_LENGTH_MISMATCH)
		ST_INC(e, hs_fail_not_tls);
	else if (why == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
	         why == SSL_R_CERTIFICATE_VERIFY_FAILED || why == SSL_R_NO_CERTIFICATES_RETURNED)
		ST_INC(e, hs_fail_client_cert);
	else if (why == SSL_R_NO_SHARED_CIPHER || why == SSL_R_UNSUPPORTED_PROTOCOL ||
	         why == SSL_R_NO_PROTOCOLS_AVAILABLE || why == SSL_R_VERSION_TOO_LOW ||
	         why == SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM || why == SSL_R_NO_SHARED_GROUPS ||
	         why == SSL_R_NO_SUITABLE_KEY_SHARE)
		ST_INC(e, hs_fail_proto);
}

static void
conn_handshake(struct edge *e, uint32_t slot)
{
	struct edge_conn *c = &e->conns[slot];

	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = CONN_OPEN;
		ST_DEC(e, conns_handshake);
		ST_INC(e, handshakes_ok);
		if (SSL_session_reused(c->ssl))
			ST_INC(e, handshakes_resumed);
		c->flags &= (uint8_t)~CONN_F_HS_WRITE;
		ep_mod(e, slot, EPOLLIN);
		conn_readable(e, slot); /* early data may sit in OpenSSL's buffer already */
		return;
	}
	int se = SSL_get_error(c->ssl, r);
	if (se == SSL_ERROR_WANT_READ) {
		if (c->flags & CONN_F_HS_WRITE) {
			c->flags &= (uint8_t)~CONN_F_HS_WRITE;
			ep_mod(e, slot, EPOLLIN);
		}
		return;
	}
	if (se == SSL_ERROR_WANT_WRITE) {
		if (!(c->flags & CONN_F_HS_WRITE)) {
			c->flags |= CONN_F_HS_WRITE;
			ep_mod(e, slot, EPOLLOUT);
		}
		return;
	}
	ST_INC(e, closed_handshake);
	hs_fail_reason(e, se);
	conn_close(e, slot);
}

static void
conn_event(struct edge *e, uint32_t slot, uint32_t events)
{
	if (slot >= e->c.max_conns || e->conns[slot].state == CONN_FREE)
		return;
	struct edge_conn *c = &e->conns[slot];

	if (c->state == CONN_HANDSHAKE) {
		conn_handshake(e, slot);
		return;
	}
	if ((events & EPOLLOUT) && c->out_len > 0) {
		conn_flush(e, slot);
		if (c->state == CONN_FREE)
			return;
	}
	if ((events & EPOLLOUT) && (c->flags & CONN_F_RD_WRITE)) {
		c->flags &= (uint8_t)~CONN_F_RD_WRITE;
		if (!(c->flags & CONN_F_WANT_WRITE))
			ep_mod(e, slot, EPOLLIN);
		conn_readable(e, slot);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		conn_readable(e, slot);
		/* The read took the records an SSL_write() was waiting for: its octets go now. */
		if (c->state != CONN_FREE && (c->flags & CONN_F_WR_READ) && c->out_len > 0)
			conn_flush(e, slot);
	}
}

/* Once a second: handshake and idle timeouts. */
static void
sweep(struct edge *e)
{
	uint64_t ms = now_ms();
	uint32_t now32 = (uint32_t)ms, now_s = (uint32_t)(ms / 1000u);

	for (uint32_t i = 0; i < e->c.max_conns; i++) {
		struct edge_conn *c = &e->conns[i];
		if (c->state == CONN_HANDSHAKE &&
		    (uint32_t)(now32 - c->born_ms) >= e->c.handshake_timeout_ms) {
			ST_INC(e, closed_handshake_timeout);
			conn_close(e, i);
		} else if (c->state == CONN_OPEN &&
		           (uint32_t)(now_s - c->last_s) >= e->c.idle_timeout_s) {
			ST_INC(e, closed_idle);
			conn_close(e, i);
		} else if (c->state == CONN_OPEN && c->pend_len > 0 &&
		           (uint32_t)(now32 - c->born_ms) >= e->c.message_timeout_ms) {
			ST_INC(e, closed_slow);
			conn_close(e, i);
		}
	}
}

/* The safe point of a reload: between events, nothing of OpenSSL's in use on this thread.
 * New handshakes get the new generation; each open connection keeps its own reference. */
static void
tls_take(struct edge *e)
{
	uint64_t v;

	if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sph_log(SPH_LOG_WARNING, "edge: wake: %s", strerror(errno));
	struct edge_tls *t = atomic_exchange(&e->tls_next, NULL);
	uint64_t asked = atomic_load(&e->tls_asked);
	if (t != NULL) {
		tls_free(e->tls);
		e->tls = t;
	}
	atomic_store(&e->tls_done, asked);
}

static void *
edge_loop(void *arg)
{
	struct edge *e = arg;
	struct epoll_event ev[EDGE_EVENTS];
	uint64_t next_sweep = now_ms() + 1000u;

	for (;;) {
		/* Paused: the next tick comes when the budget holds a token again (a
		 * handshakes_per_sec of 1 waits up to 1 s). */
		int wait = 200;
		if (e->paused) {
			if (tb_ready(&e->hs_tb, (uint32_t)now_ms(), e->c.handshakes_per_sec))
				listeners_arm(e, true);
			else
				wait = (int)((1000u - e->hs_tb.milli) / e->c.handshakes_per_sec) +
				       1;
		}
		if (e->rtx != NULL && edge_rtx_pending(e->rtx) != 0) {
			uint64_t now = now_ms(), due = edge_rtx_run(e->rtx, now, rtx_fire, e);
			rtx_gauge(e);
			if (due != EDGE_RTX_NONE && due - now < (uint64_t)wait)
				wait = (int)(due - now);
		}
		int n = epoll_wait(e->ep, ev, EDGE_EVENTS, wait);
		for (int i = 0; i < n; i++) {
			uint32_t kind = (uint32_t)(ev[i].data.u64 >> 32);
			uint32_t idx = (uint32_t)ev[i].data.u64;
			if (kind == EDGE_EV_STOP)
				return NULL;
			if (kind == EDGE_EV_WAKE)
				tls_take(e);
			if (kind == EDGE_EV_LISTEN)
				edge_accept(e, idx);
			else if (kind == EDGE_EV_UDP)
				udp_readable(e);
			else if (kind == EDGE_EV_CONN)
				conn_event(e, idx, ev[i].events);
		}
		if (now_ms() >= next_sweep) {
			sweep(e);
			next_sweep = now_ms() + 1000u;
		}
	}
}

/* ================= start, stop, stats ================= */

static int
build_table(struct edge *e, const struct sph_cfg *cfg, char *err, size_t errlen)
{
	const struct cfg_group *g = cfg_group_find(cfg, cfg->edge.group);
	struct maglev_backend *mb;

	if (g == NULL) {
		snprintf(err, errlen, "edge: group \"%s\" is not defined", cfg->edge.group);
		return -1;
	}
	e->nb_be = g->nb_backends;
	e->be = edge_mem_calloc(sizeof(*e->be) * g->nb_backends);
	mb = edge_mem_calloc(sizeof(*mb) * g->nb_backends);
	e->table = edge_mem_calloc(maglev_table_bytes(cfg->maglev_size));
	if (e->be == NULL || mb == NULL || e->table == NULL) {
		edge_mem_free(mb);
		snprintf(err, errlen, "edge: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < g->nb_backends; i++) {
		e->be[i] = g->backends[i];
		mb[i].id = e->be[i].name;
		mb[i].weight = e->be[i].weight;
		mb[i].state = e->be[i].state;
	}
	int rc = maglev_build(e->table, cfg->maglev_size, mb, g->nb_backends);
	edge_mem_free(mb);
	if (rc != 0) {
		snprintf(err, errlen, "edge: Maglev table of group \"%s\": %s", g->name,
		         strerror(-rc));
		return -1;
	}
	return 0;
}

static void
edge_free(struct edge *e)
{
	if (e->conns != NULL)
		for (uint32_t i = 0; i < e->c.max_conns; i++)
			conn_close(e, i);
	for (unsigned i = 0; i < e->nb_ls; i++)
		close(e->ls[i].fd);
	if (e->udp >= 0)
		close(e->udp);
	if (e->stopfd >= 0)
		close(e->stopfd);
	if (e->ep >= 0)
		close(e->ep);
	tls_free(e->tls);
	tls_free(atomic_exchange(&e->tls_next, NULL));
	if (e->wakefd >= 0)
		close(e->wakefd);
	edge_mem_free(e->conns);
	edge_mem_free(e->ip_count);
	edge_mem_free(e->ip_tb);
	edge_mem_free(e->buf);
	edge_mem_free(e->obuf);
	edge_mem_free(e->table);
	edge_mem_free(e->be);
	edge_rtx_free(e->rtx);
	edge_mem_free(e);
}

/* The CPUs the edge thread may run on: edge.cpu, or every configured CPU no worker has.
 * @return 1 with *set, 0 to inherit the caller's, -1 when edge.cpu cannot be. */
static int
edge_cpus(const struct cfg_edge *c, const cpu_set_t *workers, cpu_set_t *set, char *err,
          size_t errlen)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	CPU_ZERO(set);
	if (c->cpu != CFG_EDGE_CPU_AUTO) {
		if (c->cpu >= CPU_SETSIZE || (n > 0 && c->cpu >= (unsigned long)n)) {
			snprintf(err, errlen, "edge: cpu %u: this machine has %ld CPUs", c->cpu, n);
			return -1;
		}
		CPU_SET(c->cpu, set);
		return 1;
	}
	if (workers == NULL || n <= 0)
		return 0;
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		if (!CPU_ISSET(i, workers))
			CPU_SET(i, set);
	return CPU_COUNT(set) > 0;
}

int
edge_start(const struct sph_cfg *cfg, edge_pick_fn pick, void *pick_arg, const cpu_set_t *workers,
           struct edge **out, char *err, size_t errlen)
{
	char why[200];
	struct edge *e;
	const struct cfg_edge *c = &cfg->edge;

	*out = NULL;
	if (c->nb_tls + c->nb_mtls + c->nb_tcp == 0) {
		snprintf(err, errlen, "edge: no listener");
		return -1;
	}
	if (!edge_mem_open(why, sizeof(why)))
		sph_log(SPH_LOG_NOTICE, "edge: jemalloc not loaded (%s); using libc malloc", why);
	else if (!edge_mem_openssl())
		sph_log(SPH_LOG_NOTICE,
		        "edge: OpenSSL was in use already; its memory stays in libc's "
		        "malloc, out of the edge's figures");
	e = edge_mem_calloc(sizeof(*e));
	if (e == NULL) {
		snprintf(err, errlen, "edge: out of memory");
		return -1;
	}
	e->ep = e->stopfd = e->wakefd = e->udp = -1;
	e->c = *c;
	e->pick = pick != NULL ? pick : edge_pick_cfg;
	e->pick_arg = pick != NULL ? pick_arg : e;
	e->flow_key_len = strlen(c->flow_key);
	memcpy(e->flow_key, c->flow_key, e->flow_key_len);
	if (keyhash_init(&e->kh, cfg->hash_key, cfg->hash_key_len) != 0) {
		snprintf(err, errlen, "edge: hash key");
		goto fail;
	}
	if (build_table(e, cfg, err, errlen) != 0)
		goto fail;
	if ((c->nb_tls + c->nb_mtls) > 0 && (e->tls = tls_build(e, c, err, errlen)) == NULL)
		goto fail;
	e->has_tls = e->tls != NULL;
	e->conns = edge_mem_calloc(sizeof(*e->conns) * c->max_conns);
	e->ip_count = edge_mem_calloc(sizeof(*e->ip_count) * EDGE_IP_BUCKETS);
	if (c->handshakes_per_sec_per_ip != 0 &&
	    (e->ip_tb = edge_mem_calloc(sizeof(*e->ip_tb) * EDGE_IP_BUCKETS)) == NULL) {
		snprintf(err, errlen, "edge: out of memory");
		goto fail;
	}
	/* Room for the larger limit and a read past it, so that either limit is what ends
	 * an oversized message (and names the close), never a full buffer. */
	e->buf_cap =
	        (c->max_header > c->max_message ? c->max_header : c->max_message) + EDGE_READ_CHUNK;
	e->buf = edge_mem_calloc(e->buf_cap > SIP_MAX_MSG ? e->buf_cap : SIP_MAX_MSG);
	e->obuf_cap = SIP_MAX_MSG + EDGE_HDR_ROOM;
	e->obuf = edge_mem_calloc(e->obuf_cap);
	if (c->transactions != 0)
		e->rtx = edge_rtx_new(c->transactions, c->t1_ms);
	e->rng = now_ms() | 1; /* instances started apart draw apart */
	if (e->conns == NULL || e->ip_count == NULL || e->buf == NULL || e->obuf == NULL ||
	    (c->transactions != 0 && e->rtx == NULL)) {
		snprintf(err, errlen, "edge: out of memory for %u connections", c->max_conns);
		goto fail;
	}
	e->free_head = UINT32_MAX;
	for (uint32_t i = c->max_conns; i-- > 0;) {
		e->conns[i].fd = -1;
		e->conns[i].next = e->free_head;
		e->free_head = i;
	}
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	e->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->ep < 0 || e->stopfd < 0 || e->wakefd < 0 ||
	    ep_add(e, e->stopfd, EPOLLIN, EDGE_EV_STOP, 0) != 0 ||
	    ep_add(e, e->wakefd, EPOLLIN, EDGE_EV_WAKE, 0) != 0) {
		snprintf(err, errlen, "edge: epoll: %s", strerror(errno));
		goto fail;
	}
	if ((e->udp = open_socket(&c->address, SOCK_DGRAM, 0, err, errlen)) < 0 ||
	    ep_add(e, e->udp, EPOLLIN, EDGE_EV_UDP, 0) != 0)
		goto fail;
	/* Every registrar's answers for every client come in on this one socket, and while
	 * the thread is busy with a burst of handshakes they queue here: at the kernel's
	 * default (~200 kB, some 100 datagrams) a reconnect storm of 1,000 clients overflowed
	 * it, and a 200 to a REGISTER lost here is lost for good (the client sent it over
	 * TLS and never resends). FORCE passes net.core.rmem_max when we may (root). */
	int rcvbuf = EDGE_UDP_RCVBUF;
	if (setsockopt(e->udp, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		(void)setsockopt(e->udp, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	cfg_addr_format(&c->address.addr, c->address.port, e->via_host, sizeof(e->via_host));
	const struct {
		const struct cfg_edge_listen *l;
		unsigned n;
		uint8_t tls;
	} kinds[] = {{c->tls, c->nb_tls, 1}, {c->mtls, c->nb_mtls, 2}, {c->tcp, c->nb_tcp, 0}};
	for (size_t k = 0; k < 3; k++)
		for (unsigned i = 0; i < kinds[k].n; i++) {
			int fd = open_socket(&kinds[k].l[i], SOCK_STREAM, (int)c->backlog, err,
			                     errlen);
			if (fd < 0)
				goto fail;
			e->ls[e->nb_ls].fd = fd;
			e->ls[e->nb_ls].tls = kinds[k].tls;
			if (ep_add(e, fd, EPOLLIN, EDGE_EV_LISTEN, e->nb_ls++) != 0) {
				snprintf(err, errlen, "edge: epoll: %s", strerror(errno));
				goto fail;
			}
		}
	/* Its CPUs are set at creation, so it never runs a turn on a worker's CPU. */
	cpu_set_t cpus;
	pthread_attr_t attr;
	int pin = edge_cpus(c, workers, &cpus, err, errlen);
	if (pin < 0)
		goto fail;
	pthread_attr_init(&attr);
	if (pin > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	/* The thread starts with the process's signals blocked: SIGINT and SIGTERM stay the
	 * main thread's, and a SIGPIPE from SSL_write() to a reset connection (OpenSSL writes
	 * with write(), not send(MSG_NOSIGNAL)) stays pending on the edge thread instead of
	 * killing the daemon; the write then fails with EPIPE and the connection is closed. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int prc = pthread_create(&e->thread, &attr, edge_loop, e);
	if (prc == EINVAL && pin > 0 && c->cpu == CFG_EDGE_CPU_AUTO) {
		/* none of those CPUs is ours (a cpuset or taskset): the caller's, then */
		sph_log(SPH_LOG_NOTICE, "edge: no CPU outside the workers' allowed; running on "
		                        "the main lcore's");
		prc = pthread_create(&e->thread, NULL, edge_loop, e);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (prc != 0) {
		if (pin > 0 && c->cpu != CFG_EDGE_CPU_AUTO)
			snprintf(err, errlen, "edge: cannot start its thread on cpu %u: %s", c->cpu,
			         strerror(prc));
		else
			snprintf(err, errlen, "edge: cannot start its thread: %s", strerror(prc));
		goto fail;
	}
	pthread_setname_np(e->thread, "sph-edge");
	e->running = 1;
	*out = e;
	return 0;
fail:
	edge_free(e);
	return -1;
}

void
edge_stop(struct edge *e)
{
	uint64_t one = 1;

	if (e == NULL)
		return;
	if (e->running) {
		if (write(e->stopfd, &one, sizeof(one)) != sizeof(one))
			sph_log(SPH_LOG_WARNING, "edge: stop signal: %s", strerror(errno));
		pthread_join(e->thread, NULL);
	}
	edge_free(e);
}

void
edge_get_stats(struct edge *e, struct edge_stats *st)
{
	struct edge_mem_stats ms;
	unsigned i = 0;

#define EDGE_X_COPY_(f, d) st->f = atomic_load_explicit(&e->st[i++], memory_order_relaxed);
	EDGE_STATS(EDGE_X_COPY_)
#undef EDGE_X_COPY_
	edge_mem_stats(&ms);
	st->mem_allocated = ms.allocated;
	st->mem_resident = ms.resident;
}

void
edge_print_stats(struct edge *e, FILE *f)
{
	struct edge_stats st;

	edge_get_stats(e, &st);
#define EDGE_X_PRINT_(fld, d) fprintf(f, "edge_%s %" PRIu64 "\n", #fld, st.fld);
	EDGE_STATS(EDGE_X_PRINT_)
#undef EDGE_X_PRINT_
	fprintf(f, "edge_mem_allocated %" PRIu64 "\nedge_mem_resident %" PRIu64 "\n",
	        st.mem_allocated, st.mem_resident);
}

/* ================= TLS reload ================= */

int
edge_tls_prepare(struct edge *e, const struct cfg_edge *c, struct edge_tls **out, char *err,
                 size_t errlen)
{
	*out = NULL;
	if (!e->has_tls) {
		snprintf(err, errlen, "edge: no TLS listener, no certificate to reload");
		return -1;
	}
	*out = tls_build(e, c, err, errlen);
	if (*out == NULL) {
		ST_INC(e, tls_reload_failed);
		sph_log(SPH_LOG_WARNING, "%s; the current certificates stay", err);
		return -1;
	}
	return 0;
}

void
edge_tls_abort(struct edge_tls *t)
{
	tls_free(t);
}

void
edge_tls_commit(struct edge *e, struct edge_tls *t)
{
	uint64_t one = 1;

	if (t == NULL)
		return;
	/* Whoever takes a set from tls_next owns it: a set never taken is freed here. */
	tls_free(atomic_exchange(&e->tls_next, t));
	uint64_t mine = atomic_fetch_add(&e->tls_asked, 1) + 1;
	if (!e->running) {
		tls_free(e->tls);
		e->tls = atomic_exchange(&e->tls_next, NULL);
		atomic_store(&e->tls_done, mine);
	} else if (write(e->wakefd, &one, sizeof(one)) != sizeof(one)) {
		sph_log(SPH_LOG_WARNING, "edge: wake: %s", strerror(errno));
	}
	/* Wait for the swap (one loop turn, microseconds), so that a connection opened once
	 * the command answered gets the new certificate; bounded, should the thread be
	 * stuck in a long turn: the swap then happens at its next turn. */
	for (int i = 0; i < 2000 && atomic_load(&e->tls_done) < mine; i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	ST_INC(e, tls_reloads);
	sph_log(SPH_LOG_INFO, "edge: certificates reloaded");
}

int
edge_tls_on(const struct edge *e)
{
	return e != NULL && e->has_tls;
}

int
edge_tls_reload(struct edge *e, const struct cfg_edge *c, char *err, size_t errlen)
{
	struct edge_tls *t;

	if (edge_tls_prepare(e, c, &t, err, errlen) != 0)
		return -1;
	edge_tls_commit(e, t);
	return 0;
}
