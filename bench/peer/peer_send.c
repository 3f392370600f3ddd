/*
 * peer_send.c - the load generator of scripts/bench-peer: replays the SIP payloads of a
 * capture over UDP to one port on 127.0.0.1 (the balancer under test, Kamailio), in passes,
 * each pass with Call-IDs of its own, paced with sendmmsg() and bounded in count and time.
 * Each message gets an "X-Peer-Seq: CALL.MSG" header (global call and message numbers), so
 * peer_sink can tell losses, duplicates and per-call reordering apart. Offline tool: no DPDK.
 * Loopback only: the destination address is fixed, never taken from the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

#include <pcap/pcap.h>

#include "siphon/pkt.h"
#include "siphon/sip.h"

#define BATCH       64u    /* most datagrams per sendmmsg() */
#define MAX_OUT     65507u /* largest UDP payload over IPv4 */
#define TAG_MAX     40u    /* room for the Call-ID prefix and the X-Peer-Seq header */
#define MAX_PASSES  100000u
#define MAX_MSGS    1000000u
#define HDR_SEQ     "X-Peer-Seq: "
#define HDR_SEQ_LEN (sizeof(HDR_SEQ) - 1)

/* One payload of the capture, cut where the per-pass text goes in. */
struct tmpl {
	uint8_t *buf;
	uint32_t len;
	uint32_t cid_off; /* first byte of the Call-ID value: the pass prefix goes before it */
	uint32_t eoh;     /* first byte of the blank line ending the header section */
	uint32_t call;    /* index of its Call-ID among the capture's, in order of first sight */
};

struct capture {
	struct tmpl *m;
	uint32_t n, calls, skipped;
};

struct opts {
	const char *pcap;
	uint16_t port;
	uint32_t passes, first_pass;
	unsigned batch; /* datagrams per sendmmsg(), sent back to back: the burst size */
	double rate, max_seconds;
	bool count_only;
};

static void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL) {
		fprintf(stderr, "peer_send: out of memory\n");
		exit(2);
	}
	return q;
}

/* Call-IDs of the capture, to number calls in order of first sight. Open addressing over a
 * table sized at load; capture-sized, so a linear probe is plenty. */
struct cid_tab {
	const uint8_t **key;
	uint16_t *klen;
	uint32_t *val;
	uint32_t size, used;
};

static uint32_t
cid_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t
cid_index(struct cid_tab *t, const uint8_t *p, uint32_t n)
{
	uint32_t i = cid_hash(p, n) & (t->size - 1);

	while (t->key[i] != NULL) {
		if (t->klen[i] == n && memcmp(t->key[i], p, n) == 0)
			return t->val[i];
		i = (i + 1) & (t->size - 1);
	}
	t->key[i] = p;
	t->klen[i] = (uint16_t)n;
	t->val[i] = t->used;
	return t->used++;
}

static const uint8_t *
find(const uint8_t *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle));
}

/* Loads every UDP payload that sip_parse() accepts and that has a header section ending in a
 * blank line; the rest are counted in skipped (not replayed). */
static int
capture_load(const char *path, struct capture *c)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *d;
	pcap_t *pc = pcap_open_offline(path, err);
	struct cid_tab tab = {0};
	size_t cap = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (pc == NULL) {
		fprintf(stderr, "peer_send: %s: %s\n", path, err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "peer_send: %s: not an Ethernet capture\n", path);
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
		struct pkt_info pi;
		struct sip_msg sm;
		const uint8_t *pl, *eoh;

		if (pkt_decode(d, h->caplen, &pi) != PKT_OK || pi.l4_proto != 17 ||
		    c->n >= MAX_MSGS) {
			c->skipped++;
			continue;
		}
		pl = d + pi.payload_off;
		if (sip_parse(pl, pi.payload_len, &sm) != SIP_OK || sm.call_id.len == 0 ||
		    pi.payload_len + TAG_MAX > MAX_OUT) {
			c->skipped++;
			continue;
		}
		eoh = find(pl, pi.payload_len, "\r\n\r\n");
		if (eoh == NULL) {
			c->skipped++;
			continue;
		}
		if (c->n == cap) {
			cap = cap ? 2 * cap : 1024;
			c->m = xrealloc(c->m, cap * sizeof(*c->m));
		}
		struct tmpl *t = &c->m[c->n++];
		t->buf = xrealloc(NULL, pi.payload_len);
		memcpy(t->buf, pl, pi.payload_len);
		t->len = pi.payload_len;
		t->cid_off = sm.call_id.off;
		t->call = sm.call_id.len;          /* until the calls are numbered below */
		t->eoh = (uint32_t)(eoh - pl) + 2; /* keep the last header's CRLF */
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "peer_send: %s: %s\n", path, pcap_geterr(pc));
	pcap_close(pc);
	if (rc == PCAP_ERROR || c->n == 0) {
		fprintf(stderr, "peer_send: %s: no SIP message to replay\n", path);
		return -1;
	}

	/* Number the calls once every buffer has its final address (realloc of m moves none). */
	for (tab.size = 1; tab.size < 2 * c->n; tab.size *= 2)
		;
	tab.key = xrealloc(NULL, tab.size * sizeof(*tab.key));
	tab.klen = xrealloc(NULL, tab.size * sizeof(*tab.klen));
	tab.val = xrealloc(NULL, tab.size * sizeof(*tab.val));
	memset(tab.key, 0, tab.size * sizeof(*tab.key));
	for (uint32_t i = 0; i < c->n; i++)
		c->m[i].call = cid_index(&tab, c->m[i].buf + c->m[i].cid_off, c->m[i].call);
	c->calls = tab.used;
	free(tab.key);
	free(tab.klen);
	free(tab.val);
	return 0;
}

static void
capture_free(struct capture *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		free(c->m[i].buf);
	free(c->m);
	memset(c, 0, sizeof(*c));
}

/* Writes message i of pass p into out: "<p>." before the Call-ID value, the X-Peer-Seq header
 * before the blank line. Returns the length. */
static size_t
build(const struct capture *c, uint32_t i, uint32_t p, uint8_t *out)
{
	const struct tmpl *t = &c->m[i];
	uint64_t call = (uint64_t)p * c->calls + t->call;
	uint64_t msg = (uint64_t)p * c->n + i;
	size_t o = 0;
	int k;

	memcpy(out, t->buf, t->cid_off);
	o = t->cid_off;
	k = snprintf((char *)out + o, TAG_MAX, "p%" PRIu32 ".", p);
	o += (size_t)k;
	memcpy(out + o, t->buf + t->cid_off, t->eoh - t->cid_off);
	o += t->eoh - t->cid_off;
	memcpy(out + o, HDR_SEQ, HDR_SEQ_LEN);
	o += HDR_SEQ_LEN;
	k = snprintf((char *)out + o, TAG_MAX, "%" PRIu64 ".%" PRIu64 "\r\n", call, msg);
	o += (size_t)k;
	memcpy(out + o, t->buf + t->eoh, t->len - t->eoh);
	return o + (t->len - t->eoh);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (time_t)t) * 1e9)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int
replay(const struct capture *c, const struct opts *o)
{
	static uint8_t bufs[BATCH][MAX_OUT];
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(o->port)};
	uint64_t total = (uint64_t)o->passes * c->n, sent = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sndbuf = 4 << 20;
	double t0, deadline;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		perror("peer_send: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* A deep send buffer keeps a paced sender from blocking on a burst; best effort. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(mh, 0, sizeof(mh));
	for (unsigned b = 0; b < BATCH; b++) {
		iov[b].iov_base = bufs[b];
		mh[b].msg_hdr.msg_iov = &iov[b];
		mh[b].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	deadline = t0 + o->max_seconds;
	while (sent < total) {
		unsigned nb = total - sent < o->batch ? (unsigned)(total - sent) : o->batch;
		unsigned done = 0;

		for (unsigned b = 0; b < nb; b++) {
			uint64_t g = sent + b;

			iov[b].iov_len = build(c, (uint32_t)(g % c->n),
			                       o->first_pass + (uint32_t)(g / c->n), bufs[b]);
		}
		while (done < nb) {
			int r = sendmmsg(fd, mh + done, nb - done, 0);

			if (r < 0 && (errno == EINTR || errno == ENOBUFS || errno == EAGAIN))
				continue;
			if (r < 0) {
				fprintf(stderr, "peer_send: after %" PRIu64 " messages: %s%s\n",
				        sent + done, strerror(errno),
				        errno == ECONNREFUSED ? " (is the peer listening?)" : "");
				close(fd);
				return -1;
			}
			done += (unsigned)r;
		}
		sent += nb;
		if (now_s() > deadline) {
			fprintf(stderr,
			        "peer_send: stopped at the %.1f s bound, %" PRIu64 " of %" PRIu64
			        " messages sent\n",
			        o->max_seconds, sent, total);
			break;
		}
		if (o->rate > 0)
			sleep_until(t0 + (double)sent / o->rate);
	}
	printf("sent=%" PRIu64 " seconds=%.3f msgs_per_pass=%u calls_per_pass=%u skipped=%u\n",
	       sent, now_s() - t0, c->n, c->calls, c->skipped);
	close(fd);
	return sent == total ? 0 : -1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: peer_send --pcap FILE --port PORT [--passes N] [--first-pass K]\n"
	        "                 [--rate MSGS_PER_S] [--batch 1..64] [--max-seconds S] [--count]\n"
	        "  sends to 127.0.0.1:PORT only; --count prints the message total and exits\n");
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
	static const struct option lo[] = {
	        {"pcap", required_argument, NULL, 'f'},
	        {"port", required_argument, NULL, 'p'},
	        {"passes", required_argument, NULL, 'n'},
	        {"first-pass", required_argument, NULL, 'k'},
	        {"rate", required_argument, NULL, 'r'},
	        {"batch", required_argument, NULL, 'b'},
	        {"max-seconds", required_argument, NULL, 's'},
	        {"count", no_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct opts o = {.passes = 1, .batch = BATCH, .rate = 20000, .max_seconds = 30};
	struct capture c;
	double v;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.pcap = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 1, 65535, &v) != 0)
				goto bad;
			o.port = (uint16_t)v;
			break;
		case 'n':
			if (parse_num(optarg, 1, MAX_PASSES, &v) != 0)
				goto bad;
			o.passes = (uint32_t)v;
			break;
		case 'k':
			if (parse_num(optarg, 0, MAX_PASSES, &v) != 0)
				goto bad;
			o.first_pass = (uint32_t)v;
			break;
		case 'r':
			if (parse_num(optarg, 0, 1e8, &v) != 0)
				goto bad;
			o.rate = v;
			break;
		case 's':
			if (parse_num(optarg, 0.1, 600, &v) != 0)
				goto bad;
			o.max_seconds = v;
			break;
		case 'b':
			if (parse_num(optarg, 1, BATCH, &v) != 0)
				goto bad;
			o.batch = (unsigned)v;
			break;
		case 'c':
			o.count_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || o.pcap == NULL || (o.port == 0 && !o.count_only))
		goto bad;
	if (capture_load(o.pcap, &c) != 0) {
		capture_free(&c);
		return 1;
	}
	if (o.count_only) {
		printf("%" PRIu64 "\n", (uint64_t)o.passes * c.n);
		ch = 0;
	} else {
		ch = replay(&c, &o) == 0 ? 0 : 1;
	}
	capture_free(&c);
	return ch;
bad:
	fprintf(stderr, "peer_send: bad option or value%s%s\n", optind <= argc ? ": " : "",
	        optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "");
	usage(stderr);
	return 2;
}
