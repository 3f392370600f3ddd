/*
 * udp.c - edge_udp, the UDP side of scripts/bench-edge --udp: "send" replays a capture's
 * frames into an interface at a fixed offered rate (AF_PACKET, sendmmsg), "recv" takes the
 * frames the daemon's worker forwarded back on it (AF_PACKET, recvmmsg) and matches them in
 * order against the same capture (l2dsr rewrites only the MACs), so a gap is a lost frame.
 * Both print the cumulative count every 100 ms on CLOCK_MONOTONIC ("t SECONDS COUNT") for
 * the script to cut windows from, then one summary line. Bounded by --seconds; C, no Python
 * in the packet path, so the rate measured is the dataplane's and not the receiver's.
 * "check" matches a pcap stream instead (a net_pcap port's tx_pcap FIFO, for
 * tests/test_edge_flood.sh), until its end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH      64u      /* frames a sendmmsg / recvmmsg call moves at most */
#define FRAME_MAX  2048u    /* larger frames in the capture are refused at load */
#define FRAMES_MAX 1000000u /* a capture of more frames is refused at load */
#define TICK_S     0.1      /* the timeline's step */
#define RATE_MAX   10000000.0
#define CATCHUP_S  0.1 /* a sender this far behind gives up the rest: it is late, not fast */

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20; older kernels: filtered by pkttype below */
#endif

struct frames {
	uint8_t *data; /* every frame, back to back */
	size_t *off;   /* frame i is data[off[i], off[i] + len[i]) */
	uint32_t *len;
	uint32_t n;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Load a classic pcap (either byte order, µs or ns stamps) of Ethernet frames. A truncated
 * record, a snapped frame or one of more than FRAME_MAX octets is an error: replaying a
 * frame other than the one captured would break the order check. @return 0, or -1 with a
 * message on stderr. */
static int
frames_load(const char *path, struct frames *fr)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	size_t cap = 0, used = 0;
	uint32_t fcap = 0;

	memset(fr, 0, sizeof(*fr));
	if (f == NULL) {
		fprintf(stderr, "edge_udp: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh))
		goto bad;
	uint32_t magic = rd32(gh, false);
	bool swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	if (!swap && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du)
		goto bad;
	if (rd32(gh + 20, swap) != 1) { /* LINKTYPE_ETHERNET */
		fprintf(stderr, "edge_udp: %s: not an Ethernet capture\n", path);
		goto fail;
	}
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t cl = rd32(rh + 8, swap), ol = rd32(rh + 12, swap);
		if (cl != ol || cl < 14 || cl > FRAME_MAX || fr->n == FRAMES_MAX)
			goto bad;
		if (used + cl > cap) {
			size_t nc = cap ? cap * 2 : 1u << 20;
			uint8_t *d = realloc(fr->data, nc);
			if (d == NULL)
				goto oom;
			fr->data = d;
			cap = nc;
		}
		if (fr->n == fcap) {
			uint32_t nf = fcap ? fcap * 2 : 1024;
			size_t *o = realloc(fr->off, nf * sizeof(*o));
			if (o == NULL)
				goto oom;
			fr->off = o;
			uint32_t *l = realloc(fr->len, nf * sizeof(*l));
			if (l == NULL)
				goto oom;
			fr->len = l;
			fcap = nf;
		}
		if (fread(fr->data + used, 1, cl, f) != cl)
			goto bad;
		fr->off[fr->n] = used;
		fr->len[fr->n] = cl;
		fr->n++;
		used += cl;
	}
	if (fr->n == 0 || !feof(f))
		goto bad;
	fclose(f);
	return 0;
oom:
	fprintf(stderr, "edge_udp: out of memory\n");
	goto fail;
bad:
	fprintf(stderr, "edge_udp: %s: not a pcap of whole frames of at most %u octets\n", path,
	        FRAME_MAX);
fail:
	fclose(f);
	free(fr->data);
	free(fr->off);
	free(fr->len);
	memset(fr, 0, sizeof(*fr));
	return -1;
}

/* A packet socket on one interface, every protocol. */
static int
pkt_open(const char *iface, bool rx)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("edge_udp: socket(AF_PACKET)");
		return -1;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		fprintf(stderr, "edge_udp: %s: %s\n", iface, strerror(errno));
		close(fd);
		return -1;
	}
	/* Deep socket buffers: the receiver shares its CPU with the worker it measures, and a
	 * burst must wait in the socket rather than be lost there (root may force them). */
	int sz = 32 << 20, one = 1;
	if (rx) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	} else if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return fd;
}

static void
tick(double t, uint64_t count)
{
	printf("t %.4f %" PRIu64 "\n", t, count);
}

/* Offer frames in capture order, cycling, at rate a second for seconds: the count due is
 * rate x elapsed, sent in batches. A sender that fell behind (descheduled) catches up at
 * most CATCHUP_S of frames at once and counts the rest late, never sent (a burst many
 * times the rate would measure the rings, not the rate); the timeline is what went out.
 * A batch the kernel refused (ENOBUFS) counts one frame refused, not sent. */
static int
run_send(int fd, const struct frames *fr, double rate, double seconds)
{
	struct mmsghdr mv[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0, refused = 0, late = 0;
	uint64_t catchup = (uint64_t)(rate * CATCHUP_S) + BATCH;
	uint32_t next = 0;
	double t0 = now_s(), t_tick = t0;

	tick(t0, 0);
	while (!stop) {
		double t = now_s();
		if (t - t0 >= seconds)
			break;
		if (t >= t_tick + TICK_S) {
			t_tick = t;
			tick(t, sent);
		}
		uint64_t due = (uint64_t)((t - t0) * rate);
		if (due > sent + refused + late + catchup)
			late = due - sent - refused - catchup;
		if (due <= sent + refused + late) {
			/* Ahead: sleep to the next frame's time, at most a millisecond. */
			double wait = ((double)(sent + refused + late + 1) / rate) - (t - t0);
			struct timespec ts = {0, (long)(wait > 1e-3 ? 1e6 : wait * 1e9)};
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t want = due - sent - refused - late;
		unsigned k = want < BATCH ? (unsigned)want : BATCH;
		for (unsigned i = 0; i < k; i++) {
			uint32_t j = (next + i) % fr->n;
			iov[i].iov_base = fr->data + fr->off[j];
			iov[i].iov_len = fr->len[j];
			memset(&mv[i], 0, sizeof(mv[i]));
			mv[i].msg_hdr.msg_iov = &iov[i];
			mv[i].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, mv, k, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("edge_udp: sendmmsg");
				return 1;
			}
			/* Refused by the kernel: counted as offered and not sent; the same frame
			 * goes next, so the receiver's order check sees no gap for it. */
			refused++;
			continue;
		}
		sent += (uint64_t)r;
		next = (next + (uint32_t)r) % fr->n;
	}
	double t1 = now_s();
	tick(t1, sent);
	printf("edge_udp: mode=send sent=%" PRIu64 " refused=%" PRIu64 " late=%" PRIu64
	       " seconds=%.3f offered_pps=%.0f rate=%.0f\n",
	       sent, refused, late, t1 - t0, t1 > t0 ? (double)sent / (t1 - t0) : 0.0, rate);
	return 0;
}

struct match {
	uint64_t frames, matched, lost, foreign, control;
	uint32_t j; /* the capture frame expected next */
};

static bool
same(const struct frames *fr, uint32_t j, const uint8_t *p, size_t n)
{
	return fr->len[j] == n && memcmp(fr->data + fr->off[j] + 12, p + 12, n - 12) == 0;
}

/* One forwarded frame against the capture, in order; the first frame seen sets the
 * position (the sender may have started before the receiver). A frame that matches a
 * later capture frame counts the ones between as lost; ARP and ND from the daemon are
 * control; anything else foreign. */
static void
match_one(struct match *m, const struct frames *fr, const uint8_t *p, size_t n)
{
	m->frames++;
	if (n < 14)
		goto foreign;
	if (m->matched > 0 && same(fr, m->j, p, n)) {
		m->j = (m->j + 1) % fr->n;
		m->matched++;
		return;
	}
	uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
	if (et == 0x0806 || (et == 0x86dd && n > 20 && p[20] == 58)) {
		m->control++;
		return;
	}
	for (uint32_t g = m->matched > 0 ? 1 : 0; g < fr->n; g++) {
		uint32_t k = (m->j + g) % fr->n;
		if (same(fr, k, p, n)) {
			if (m->matched > 0)
				m->lost += g;
			m->matched++;
			m->j = (k + 1) % fr->n;
			return;
		}
	}
foreign:
	m->foreign++;
}

static int
run_recv(int fd, const struct frames *fr, double seconds)
{
	static uint8_t buf[BATCH][FRAME_MAX + 64];
	struct mmsghdr mv[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll from[BATCH];
	struct match m = {0};
	double t0 = now_s(), t_tick = t0;

	tick(t0, 0);
	while (!stop) {
		double t = now_s();
		if (t - t0 >= seconds)
			break;
		if (t >= t_tick + TICK_S) {
			t_tick = t;
			tick(t, m.matched);
		}
		for (unsigned i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&mv[i], 0, sizeof(mv[i]));
			mv[i].msg_hdr.msg_iov = &iov[i];
			mv[i].msg_hdr.msg_iovlen = 1;
			mv[i].msg_hdr.msg_name = &from[i];
			mv[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		int r = recvmmsg(fd, mv, BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pf = {.fd = fd, .events = POLLIN};
				poll(&pf, 1, 20);
				continue;
			}
			if (errno == EINTR)
				continue;
			perror("edge_udp: recvmmsg");
			return 1;
		}
		for (int i = 0; i < r; i++) {
			if (from[i].sll_pkttype == PACKET_OUTGOING)
				continue;
			/* MSG_TRUNC is not asked for: a frame longer than the buffer arrives cut,
			 * matches nothing and counts as foreign. */
			match_one(&m, fr, buf[i], mv[i].msg_len);
		}
	}
	double t1 = now_s();
	tick(t1, m.matched);
	printf("edge_udp: mode=recv frames=%" PRIu64 " matched=%" PRIu64 " lost_gaps=%" PRIu64
	       " foreign=%" PRIu64 " control=%" PRIu64 " seconds=%.3f\n",
	       m.frames, m.matched, m.lost, m.foreign, m.control, t1 - t0);
	return 0;
}

/* Read exactly n octets; false at the end of the stream or on an error. */
static bool
read_full(FILE *f, uint8_t *p, size_t n)
{
	return fread(p, 1, n, f) == n;
}

/* The records of a pcap stream against the capture, in order, to its end. A record longer
 * than FRAME_MAX is read past and counted foreign. */
static int
run_check(const char *input, const struct frames *fr)
{
	static uint8_t buf[FRAME_MAX];
	uint8_t gh[24], rh[16];
	struct match m = {0};
	FILE *f = fopen(input, "rb");

	if (f == NULL) {
		fprintf(stderr, "edge_udp: %s: %s\n", input, strerror(errno));
		return 1;
	}
	setvbuf(f, NULL, _IOFBF, 1u << 20);
	if (read_full(f, gh, sizeof(gh))) {
		uint32_t magic = rd32(gh, false);
		bool swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
		if (!swap && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du) {
			fprintf(stderr, "edge_udp: %s: not a pcap stream\n", input);
			fclose(f);
			return 1;
		}
		while (!stop && read_full(f, rh, sizeof(rh))) {
			uint32_t cl = rd32(rh + 8, swap);
			if (cl > FRAME_MAX) {
				m.frames++;
				m.foreign++;
				/* A FIFO cannot seek: read past it. */
				uint32_t k = 0;
				while (k < cl && fgetc(f) != EOF)
					k++;
				if (k < cl)
					break;
				continue;
			}
			if (!read_full(f, buf, cl))
				break;
			match_one(&m, fr, buf, cl);
		}
	}
	fclose(f);
	printf("edge_udp: mode=check frames=%" PRIu64 " matched=%" PRIu64 " lost_gaps=%" PRIu64
	       " foreign=%" PRIu64 " control=%" PRIu64 "\n",
	       m.frames, m.matched, m.lost, m.foreign, m.control);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: edge_udp send --iface IF --pcap FILE --rate PPS --seconds S\n"
	        "       edge_udp recv --iface IF --pcap FILE --seconds S\n"
	        "       edge_udp check --pcap FILE --input STREAM\n"
	        "send offers the capture's frames, cycling, at PPS a second for S seconds;\n"
	        "recv matches frames arriving on IF in order against the capture, until\n"
	        "S seconds or SIGTERM. Both print \"t MONOTONIC_S COUNT\" every 100 ms and\n"
	        "one summary line. check matches the pcap stream STREAM (a file or FIFO)\n"
	        "against the capture to its end and prints the summary line.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {{"iface", 1, 0, 'i'}, {"pcap", 1, 0, 'p'},
	                                   {"rate", 1, 0, 'r'},  {"seconds", 1, 0, 's'},
	                                   {"input", 1, 0, 'I'}, {0, 0, 0, 0}};
	const char *iface = NULL, *pcap = NULL, *input = NULL;
	double rate = 0, seconds = 0;
	char *end;
	int ch;

	if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0 &&
	                 strcmp(argv[1], "check") != 0)) {
		usage();
		return 2;
	}
	bool tx = strcmp(argv[1], "send") == 0, check = strcmp(argv[1], "check") == 0;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'i':
			iface = optarg;
			break;
		case 'p':
			pcap = optarg;
			break;
		case 'r':
			rate = strtod(optarg, &end);
			if (*end != '\0')
				rate = -1;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end != '\0')
				seconds = -1;
			break;
		case 'I':
			input = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	bool ok = check ? input != NULL && pcap != NULL && iface == NULL
	                : iface != NULL && pcap != NULL && input == NULL && seconds > 0 &&
	                          seconds <= 3600 && (!tx || (rate >= 1 && rate <= RATE_MAX));
	if (!ok || optind != argc) {
		usage();
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct frames fr;
	if (frames_load(pcap, &fr) != 0)
		return 1;
	int rc = 1;
	if (check) {
		rc = run_check(input, &fr);
	} else {
		int fd = pkt_open(iface, !tx);
		if (fd >= 0) {
			rc = tx ? run_send(fd, &fr, rate, seconds) : run_recv(fd, &fr, seconds);
			close(fd);
		}
	}
	free(fr.data);
	free(fr.off);
	free(fr.len);
	return rc;
}
