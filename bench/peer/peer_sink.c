/*
 * peer_sink.c - the three "backends" of scripts/bench-peer: UDP sockets on 127.0.0.1 that
 * count what the balancer under test (Kamailio) forwards to them. Each datagram must be SIP
 * (sip_parse) carrying peer_send's "X-Peer-Seq: CALL.MSG" header; per call it records which
 * backends saw it (a call on two is split) and, per backend, whether a message came after a
 * later one of the same call (reordered): one socket keeps arrival order, two sockets do not.
 * Ends when every expected message arrived, after an idle gap, at a hard time bound, or on
 * SIGTERM/SIGINT, and prints one key=value line (late= says which kind of message came late,
 * after which kind).
 * Offline tool: no DPDK.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "siphon/sip.h"

#define NB_MAX         8u
#define BATCH          64u
#define BUF_LEN        65536u
#define MAX_INDEX      (1u << 22) /* calls or messages in one run: 856 passes of mixed-calls */
#define SIP_STATUS_END 700u       /* status codes are 100..699 */
#define LATE_MAX       64u
#define HDR_SEQ        "\nX-Peer-Seq: "
#define HDR_SEQ_LEN    (sizeof(HDR_SEQ) - 1)

struct call {
	uint32_t last[NB_MAX]; /* per backend: highest message number seen + 1; 0 = none yet */
	uint16_t kind[NB_MAX]; /* per backend: kind_of() that message */
	uint8_t seen;          /* bit b: backend b received part of this call */
	bool reordered;        /* some message arrived after a later one */
};

struct late_pair {
	uint16_t late, after; /* kind_of() both messages */
	uint32_t n;
};

struct sink {
	struct call *calls;
	uint8_t *got; /* per message number: times received */
	uint32_t ncalls, nmsgs;
	uint64_t received, unique, dup, bad, reordered, per_backend[NB_MAX];
	/* Late messages by (its kind, the kind of the later message it came after); a short
	 * list, as a capture has a handful of kinds; pairs past LATE_MAX go uncounted here. */
	struct late_pair late[LATE_MAX];
	unsigned nlate;
};

/* A message's kind in 16 bits: CSeq method * SIP_STATUS_END + status (0 for a request). */
static uint16_t
kind_of(const struct sip_msg *sm)
{
	unsigned m = sm->cseq_method < SIP_METHOD_COUNT ? sm->cseq_method : SIP_METHOD_OTHER;
	unsigned st = sm->status < SIP_STATUS_END ? sm->status : 0;

	return (uint16_t)(m * SIP_STATUS_END + st);
}

static void
late_count(struct sink *s, uint16_t late, uint16_t after)
{
	for (unsigned i = 0; i < s->nlate; i++) {
		if (s->late[i].late == late && s->late[i].after == after) {
			s->late[i].n++;
			return;
		}
	}
	if (s->nlate < LATE_MAX)
		s->late[s->nlate++] = (struct late_pair){late, after, 1};
}

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Grows a zeroed array to hold index i; false when i is beyond any honest run. */
static bool
grow(void **a, uint32_t *n, uint64_t i, size_t elem)
{
	uint32_t m;
	void *p;

	if (i < *n)
		return true;
	if (i >= MAX_INDEX)
		return false;
	for (m = *n ? *n : 4096; m <= i; m *= 2)
		;
	p = realloc(*a, (size_t)m * elem);
	if (p == NULL)
		return false;
	memset((uint8_t *)p + (size_t)*n * elem, 0, (size_t)(m - *n) * elem);
	*a = p;
	*n = m;
	return true;
}

static bool
parse_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *s = *p;

	*v = 0;
	while (*p < end && **p >= '0' && **p <= '9' && *p - s < 12)
		*v = *v * 10 + (uint64_t)(*(*p)++ - '0');
	return *p > s;
}

static void
account(struct sink *s, unsigned backend, const uint8_t *buf, size_t len)
{
	struct sip_msg sm;
	const uint8_t *p, *end = buf + len;
	uint64_t call, msg;

	s->received++;
	s->per_backend[backend]++;
	if (sip_parse(buf, len, &sm) != SIP_OK || sm.call_id.len == 0 ||
	    (p = memmem(buf, len, HDR_SEQ, HDR_SEQ_LEN)) == NULL) {
		s->bad++;
		return;
	}
	p += HDR_SEQ_LEN;
	if (!parse_u64(&p, end, &call) || p >= end || *p++ != '.' || !parse_u64(&p, end, &msg) ||
	    !grow((void **)&s->calls, &s->ncalls, call, sizeof(*s->calls)) ||
	    !grow((void **)&s->got, &s->nmsgs, msg, sizeof(*s->got))) {
		s->bad++;
		return;
	}
	if (s->got[msg]++ != 0) {
		s->dup++;
		if (s->got[msg] == 0)
			s->got[msg] = 255;
		return;
	}
	s->unique++;
	struct call *c = &s->calls[call];
	c->seen |= (uint8_t)(1u << backend);
	if (c->last[backend] > msg + 1) {
		s->reordered++;
		c->reordered = true;
		late_count(s, kind_of(&sm), c->kind[backend]);
	} else {
		c->last[backend] = (uint32_t)(msg + 1);
		c->kind[backend] = kind_of(&sm);
	}
}

static void
print_kind(uint16_t k)
{
	unsigned st = k % SIP_STATUS_END;
	const char *name = sip_method_name((enum sip_method)(k / SIP_STATUS_END));

	if (st == 0)
		printf("%s", name);
	else
		printf("%u/%s", st, name);
}

/* " late=BYE<200/BYE:7,...": a BYE came after the 200 of its BYE 7 times. Requests by method,
 * responses by status/CSeq method. */
static void
print_late(const struct sink *s)
{
	printf(" late=");
	if (s->nlate == 0)
		printf("none");
	for (unsigned i = 0; i < s->nlate; i++) {
		printf("%s", i ? "," : "");
		print_kind(s->late[i].late);
		printf("<");
		print_kind(s->late[i].after);
		printf(":%u", s->late[i].n);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads and counts whatever socket fd (backend b) holds now; returns how many. */
static uint64_t
drain(struct sink *s, unsigned b, int fd, struct mmsghdr *mh, uint8_t (*bufs)[BUF_LEN])
{
	uint64_t n = 0;
	int r;

	while ((r = recvmmsg(fd, mh, BATCH, 0, NULL)) > 0) {
		for (int i = 0; i < r; i++)
			account(s, b, bufs[i], mh[i].msg_len);
		n += (uint64_t)r;
	}
	return n;
}

/* Binds 127.0.0.1:*port; port 0 takes a free one and *port says which. */
static int
open_port(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), rcvbuf = 32 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		fprintf(stderr, "peer_sink: 127.0.0.1:%u: %s\n", *port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	/* A deep queue, so a loss is the balancer's and not this process being descheduled. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/* Written aside and renamed, so whoever waits for FILE never reads half of it. */
static int
write_ready(const char *path, const uint16_t *ports, unsigned nb)
{
	char tmp[4096];
	FILE *f;
	int ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		fprintf(stderr, "peer_sink: %s: name too long\n", path);
		return -1;
	}
	f = fopen(tmp, "w");
	if (f == NULL) {
		perror(tmp);
		return -1;
	}
	for (unsigned b = 0; b < nb; b++)
		fprintf(f, "%s%u", b ? " " : "", ports[b]);
	fprintf(f, "\n");
	ok = fclose(f) == 0 && rename(tmp, path) == 0;
	if (!ok)
		perror(path);
	return ok ? 0 : -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: peer_sink --port P [--port P]... [--expect N] [--idle-ms MS]\n"
	           "                 [--max-seconds S] [--ready FILE]\n"
	           "  listens on 127.0.0.1 only; backend b is the b-th --port (0: any free port);\n"
	           "  --ready FILE appears once every port is bound, holding their numbers\n");
}

static int
parse_num(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {{"port", required_argument, NULL, 'p'},
	                                   {"expect", required_argument, NULL, 'e'},
	                                   {"idle-ms", required_argument, NULL, 'i'},
	                                   {"max-seconds", required_argument, NULL, 's'},
	                                   {"ready", required_argument, NULL, 'r'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	static uint8_t bufs[BATCH][BUF_LEN];
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	struct pollfd pfd[NB_MAX];
	struct sink s = {0};
	uint16_t ports[NB_MAX];
	unsigned nb = 0;
	uint64_t expect = 0, calls = 0, split = 0, rcalls = 0, missing;
	double idle_ms = 1000, max_s = 60, v, t_end, t_last;
	const char *ready = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (nb == NB_MAX || parse_num(optarg, 0, 65535, &v) != 0)
				goto bad;
			ports[nb++] = (uint16_t)v;
			break;
		case 'e':
			if (parse_num(optarg, 0, MAX_INDEX, &v) != 0)
				goto bad;
			expect = (uint64_t)v;
			break;
		case 'i':
			if (parse_num(optarg, 10, 60000, &v) != 0)
				goto bad;
			idle_ms = v;
			break;
		case 's':
			if (parse_num(optarg, 0.1, 600, &v) != 0)
				goto bad;
			max_s = v;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || nb == 0)
		goto bad;
	for (unsigned b = 0; b < nb; b++) {
		pfd[b].fd = open_port(&ports[b]);
		pfd[b].events = POLLIN;
		if (pfd[b].fd < 0)
			return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (ready != NULL && write_ready(ready, ports, nb) != 0)
		return 1;
	memset(mh, 0, sizeof(mh));
	for (unsigned i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = BUF_LEN;
		mh[i].msg_hdr.msg_iov = &iov[i];
		mh[i].msg_hdr.msg_iovlen = 1;
	}
	t_last = now_s();
	t_end = t_last + max_s;
	/* The idle gap only counts once traffic started: the sender may start a little late. */
	while (!stop && (expect == 0 || s.unique < expect)) {
		double t = now_s();

		if (t > t_end || (s.received > 0 && (t - t_last) * 1e3 > idle_ms))
			break;
		if (poll(pfd, nb, 50) < 0 && errno != EINTR) {
			perror("peer_sink: poll");
			return 1;
		}
		for (unsigned b = 0; b < nb; b++)
			if ((pfd[b].revents & POLLIN) && drain(&s, b, pfd[b].fd, mh, bufs) > 0)
				t_last = now_s();
	}
	/* What was queued when the last expected message was read (duplicates, strays on the
	 * other sockets) still counts. */
	for (unsigned b = 0; b < nb; b++)
		drain(&s, b, pfd[b].fd, mh, bufs);
	for (uint32_t i = 0; i < s.ncalls; i++) {
		const struct call *c = &s.calls[i];

		if (c->seen == 0)
			continue;
		calls++;
		split += (c->seen & (c->seen - 1)) != 0;
		rcalls += c->reordered;
	}
	missing = expect > s.unique ? expect - s.unique : 0;
	printf("received=%" PRIu64 " unique=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64
	       " bad=%" PRIu64 " reordered=%" PRIu64 " reordered_calls=%" PRIu64
	       " split_calls=%" PRIu64 " calls=%" PRIu64,
	       s.received, s.unique, missing, s.dup, s.bad, s.reordered, rcalls, split, calls);
	for (unsigned b = 0; b < nb; b++)
		printf(" backend%u=%" PRIu64, b + 1, s.per_backend[b]);
	print_late(&s);
	printf("\n");
	free(s.calls);
	free(s.got);
	return 0;
bad:
	fprintf(stderr, "peer_sink: bad option or value%s%s\n", optind <= argc ? ": " : "",
	        optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "");
	usage(stderr);
	return 2;
}
