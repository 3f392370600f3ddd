/*
 * test_pkt.c - Criterion suite for the L2-L4 decoder (dataplane/core/pkt.c).
 * One table of frames {description, how to build it, expected verdict, expected fields} covers
 * every enum pkt_verdict value; each row runs whole with its last byte just before a PROT_NONE
 * page, and every valid row is decoded again cut at every length, which must give PKT_TRUNCATED
 * until the cut reaches the end of the IP datagram (then PKT_OK with the same fields).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "siphon/pkt.h"
#include "siphon/sph.h"

#include "guard.h"

TestSuite(pkt);

/* ---- frame builder ---- */

#define MAX_FRAME 1024
#define ETH_LEN   14
#define V(vid)    ((vid) | 0x10000) /* expected VLAN ID; 0 in a row means untagged */

/* One byte written after the frame is built; P(offset from frame start, value). */
struct patch {
	uint16_t off1; /* offset + 1, so that a zeroed entry ends the list */
	uint8_t val;
};
#define P(off, val)                                                                                \
	{                                                                                          \
		(off) + 1, (val)                                                                   \
	}

/*
 * How to build a row's frame. Zero fields mean the plain case: Ethernet, no tag, the
 * EtherType matching ipv, IHL 5, UDP 5060 -> 5060 with a non-zero checksum, payload "hello".
 */
struct spec {
	bool raw_ip;         /* no Ethernet header: decode with pkt_decode_ip() */
	bool empty;          /* hand the decoder no bytes at all */
	uint16_t tag1, tci1; /* first tag TPID and TCI; tag1 0 = untagged */
	uint16_t tag2;       /* second tag TPID (QinQ) */
	uint16_t ethertype;  /* 0 = from ipv */
	uint8_t ipv;         /* 4 or 6; anything else: no IP header, payload follows Ethernet */
	uint8_t ihl;         /* IPv4 header words; 0 = 5 */
	uint8_t proto;       /* IPv4 protocol; 0 = UDP */
	uint16_t frag;       /* IPv4 flags + fragment offset field */
	/* IPv6: first byte is the IPv6 Next Header, the rest the extension headers' bytes. */
	const char *ext;
	size_t ext_len;
	bool udp_csum_zero;
	const char *payload; /* NULL = "hello" */
	size_t pad;          /* Ethernet padding after the IP datagram */
	struct patch patch[4];
	bool recsum;   /* recompute the IPv4 header checksum after patching */
	bool bad_csum; /* add one to the IPv4 header checksum after that */
};

struct want {
	uint8_t ipv;
	uint8_t proto; /* l4_proto; checked on every row */
	uint32_t vlan; /* V(id), or 0 for untagged */
	/* On PKT_OK only: */
	uint32_t l3, l4, pay;
	uint16_t plen;
};

struct row {
	const char *name;
	struct spec s;
	enum pkt_verdict verdict;
	struct want w;
};

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len;
	size_t ip_end; /* end of the IP datagram as built (before padding) */
};

static const uint8_t v4src[4] = {192, 0, 2, 1};
static const uint8_t v4dst[4] = {192, 0, 2, 10};
static const uint8_t v6src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
static const uint8_t v6dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
ipv4_fix_csum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t sum = 0;

	put16(ip + 10, 0);
	for (size_t i = 0; i < hlen; i += 2)
		sum += (unsigned)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, ~sum & 0xffff);
}

static void
build(const struct spec *s, struct frame *f)
{
	const char *payload = s->payload ? s->payload : "hello";
	size_t plen = strlen(payload);
	size_t p = 0, ip = 0, udp;

	memset(f, 0, sizeof(*f));
	if (!s->raw_ip) {
		static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

		memcpy(f->b, macs, sizeof(macs));
		p = 12;
		if (s->tag1) {
			put16(f->b + p, s->tag1);
			put16(f->b + p + 2, s->tci1);
			p += 4;
		}
		if (s->tag2) {
			put16(f->b + p, s->tag2);
			put16(f->b + p + 2, 0x0002);
			p += 4;
		}
		put16(f->b + p, s->ethertype ? s->ethertype : s->ipv == 6 ? 0x86dd : 0x0800);
		p += 2;
	}
	ip = p;
	if (s->ipv == 4) {
		size_t hlen = (size_t)(s->ihl ? s->ihl : 5) * 4;

		f->b[ip] = (uint8_t)(0x40 | (s->ihl ? s->ihl : 5));
		put16(f->b + ip + 2, (unsigned)(hlen + 8 + plen));
		put16(f->b + ip + 4, 0x1234);
		put16(f->b + ip + 6, s->frag);
		f->b[ip + 8] = 64;
		f->b[ip + 9] = s->proto ? s->proto : 17;
		memcpy(f->b + ip + 12, v4src, 4);
		memcpy(f->b + ip + 16, v4dst, 4);
		memset(f->b + ip + 20, 1, hlen - 20); /* options: NOPs */
		p += hlen;
	} else if (s->ipv == 6) {
		size_t ext = s->ext_len ? s->ext_len - 1 : 0;

		f->b[ip] = 0x60;
		put16(f->b + ip + 4, (unsigned)(ext + 8 + plen));
		f->b[ip + 6] = s->ext_len ? (uint8_t)s->ext[0] : 17;
		f->b[ip + 7] = 64;
		memcpy(f->b + ip + 8, v6src, 16);
		memcpy(f->b + ip + 24, v6dst, 16);
		p += 40;
		if (ext)
			memcpy(f->b + p, s->ext + 1, ext);
		p += ext;
	}
	udp = p;
	put16(f->b + udp, 5060);
	put16(f->b + udp + 2, 5080);
	put16(f->b + udp + 4, (unsigned)(8 + plen));
	put16(f->b + udp + 6, s->udp_csum_zero ? 0 : 0xbeef);
	memcpy(f->b + udp + 8, payload, plen);
	p += 8 + plen;
	f->ip_end = p;
	p += s->pad; /* already zero */
	f->len = p;
	if (s->ipv == 4)
		ipv4_fix_csum(f->b + ip);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(s->patch) && s->patch[i].off1; i++)
		f->b[s->patch[i].off1 - 1] = s->patch[i].val;
	if (s->ipv == 4 && s->recsum)
		ipv4_fix_csum(f->b + ip);
	if (s->ipv == 4 && s->bad_csum)
		put16(f->b + ip + 10, ((unsigned)f->b[ip + 10] << 8 | f->b[ip + 11]) + 1);
	if (s->empty)
		f->len = f->ip_end = 0;
}

/* Extension header bytes (after the leading IPv6 Next Header byte). */
#define HBH(nh)     nh "\x00\x01\x04\x00\x00\x00\x00"
#define ROUTING(nh) nh "\x00\x00\x00\x00\x00\x00\x00"
#define FRAGM(nh)   nh "\x00\x00\x01\x00\x00\x12\x34" /* offset 0, M set, id 0x1234 */
#define DSTOPT(nh)  nh "\x00\x01\x04\x00\x00\x00\x00"
#define DSTOPT16(nh)                                                                               \
	nh "\x01\x01\x0c\x00\x00\x00\x00"                                                          \
	   "\x00\x00\x00\x00\x00\x00\x00\x00"
#define EXT(s) .ext = s, .ext_len = sizeof(s) - 1

/* IPv4 header at 14 (untagged): total length at 16-17, protocol at 23, checksum at 24-25. */
static const struct row rows[] = {
        /* ---- valid ---- */
        {"ipv4 udp", {.ipv = 4}, PKT_OK, {4, 17, 0, 14, 34, 42, 5}},
        {"ipv4 udp, ethernet padding to 60 bytes",
         {.ipv = 4, .payload = "hi", .pad = 16},
         PKT_OK,
         {4, 17, 0, 14, 34, 42, 2}},
        {"ipv4 udp, empty payload", {.ipv = 4, .payload = ""}, PKT_OK, {4, 17, 0, 14, 34, 42, 0}},
        {"ipv4 options (ihl 7)", {.ipv = 4, .ihl = 7}, PKT_OK, {4, 17, 0, 14, 42, 50, 5}},
        {"ipv4 options (ihl 15)", {.ipv = 4, .ihl = 15}, PKT_OK, {4, 17, 0, 14, 74, 82, 5}},
        {"ipv4 udp checksum 0 (allowed)",
         {.ipv = 4, .udp_csum_zero = true},
         PKT_OK,
         {4, 17, 0, 14, 34, 42, 5}},
        {"ipv4 DF set, not a fragment",
         {.ipv = 4, .frag = 0x4000},
         PKT_OK,
         {4, 17, 0, 14, 34, 42, 5}},
        {"ipv4 802.1Q vlan 100",
         {.ipv = 4, .tag1 = 0x8100, .tci1 = 100},
         PKT_OK,
         {4, 17, V(100), 18, 38, 46, 5}},
        {"ipv4 802.1ad tag, PCP and DEI bits masked off",
         {.ipv = 4, .tag1 = 0x88a8, .tci1 = 0xf123},
         PKT_OK,
         {4, 17, V(0x123), 18, 38, 46, 5}},
        {"ipv4 0x9100 tag, vlan 0 (priority tag)",
         {.ipv = 4, .tag1 = 0x9100, .tci1 = 0xa000},
         PKT_OK,
         {4, 17, V(0), 18, 38, 46, 5}},
        {"ipv4 udp length shorter than the ip payload",
         {.ipv = 4, .patch = {P(39, 10)}},
         PKT_OK,
         {4, 17, 0, 14, 34, 42, 2}},
        {"ipv6 udp", {.ipv = 6}, PKT_OK, {6, 17, 0, 14, 54, 62, 5}},
        {"ipv6 udp, ethernet padding", {.ipv = 6, .pad = 7}, PKT_OK, {6, 17, 0, 14, 54, 62, 5}},
        {"ipv6 802.1Q vlan 4094",
         {.ipv = 6, .tag1 = 0x8100, .tci1 = 4094},
         PKT_OK,
         {6, 17, V(4094), 18, 58, 66, 5}},
        {"ipv6 hop-by-hop", {.ipv = 6, EXT("\x00" HBH("\x11"))}, PKT_OK, {6, 17, 0, 14, 62, 70, 5}},
        {"ipv6 hop-by-hop, routing, destination options (16 bytes)",
         {.ipv = 6, EXT("\x00" HBH("\x2b") ROUTING("\x3c") DSTOPT16("\x11"))},
         PKT_OK,
         {6, 17, 0, 14, 86, 94, 5}},
        {"ipv6 8 extension headers (the most allowed)",
         {.ipv = 6,
          EXT("\x3c" DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c")
                      DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x11"))},
         PKT_OK,
         {6, 17, 0, 14, 118, 126, 5}},
        {"raw ipv4 (pkt_decode_ip)", {.raw_ip = true, .ipv = 4}, PKT_OK, {4, 17, 0, 0, 20, 28, 5}},
        {"raw ipv6 with routing header (pkt_decode_ip)",
         {.raw_ip = true, .ipv = 6, EXT("\x2b" ROUTING("\x11"))},
         PKT_OK,
         {6, 17, 0, 0, 48, 56, 5}},

        /* ---- Ethernet ---- */
        {"empty frame", {.ipv = 4, .empty = true}, PKT_TRUNCATED, {0}},
        {"arp", {.ipv = 0, .ethertype = 0x0806}, PKT_NOT_IP, {0}},
        {"802.3 length field", {.ipv = 0, .ethertype = 0x0040}, PKT_NOT_IP, {0}},
        {"802.1Q then arp",
         {.ipv = 0, .tag1 = 0x8100, .tci1 = 7, .ethertype = 0x0806},
         PKT_NOT_IP,
         {.ipv = 0, .proto = 0, .vlan = V(7)}},
        {"qinq 88a8 + 8100",
         {.ipv = 4, .tag1 = 0x88a8, .tci1 = 5, .tag2 = 0x8100},
         PKT_VLAN_STACKED,
         {.ipv = 0, .proto = 0, .vlan = V(5)}},
        {"double 802.1Q",
         {.ipv = 4, .tag1 = 0x8100, .tci1 = 9, .tag2 = 0x8100},
         PKT_VLAN_STACKED,
         {.ipv = 0, .proto = 0, .vlan = V(9)}},
        {"raw ip version 5", {.raw_ip = true, .ipv = 4, .patch = {P(0, 0x55)}}, PKT_NOT_IP, {0}},

        /* ---- IPv4 ---- */
        {"ipv4 ethertype, version 6",
         {.ipv = 4, .patch = {P(14, 0x65)}, .recsum = true},
         PKT_BAD_IPV4_HEADER,
         {0}},
        {"ipv4 ihl 4", {.ipv = 4, .patch = {P(14, 0x44)}}, PKT_BAD_IPV4_HEADER, {0}},
        {"ipv4 ihl 0", {.ipv = 4, .patch = {P(14, 0x40)}}, PKT_BAD_IPV4_HEADER, {0}},
        {"ipv4 ihl 15 past the frame",
         {.ipv = 4, .payload = "", .patch = {P(14, 0x4f)}},
         PKT_TRUNCATED,
         {0}},
        {"ipv4 checksum off by one", {.ipv = 4, .bad_csum = true}, PKT_BAD_IPV4_CHECKSUM, {0}},
        {"ipv4 source changed after checksum",
         {.ipv = 4, .patch = {P(26, 10)}},
         PKT_BAD_IPV4_CHECKSUM,
         {0}},
        {"ipv4 total length 19 < header",
         {.ipv = 4, .patch = {P(16, 0), P(17, 19)}, .recsum = true},
         PKT_BAD_IP_LENGTH,
         {0}},
        {"ipv4 total length 0",
         {.ipv = 4, .patch = {P(16, 0), P(17, 0)}, .recsum = true},
         PKT_BAD_IP_LENGTH,
         {0}},
        {"ipv4 total length past the frame",
         {.ipv = 4, .patch = {P(16, 0), P(17, 34)}, .recsum = true},
         PKT_TRUNCATED,
         {0}},
        {"ipv4 more fragments", {.ipv = 4, .frag = 0x2000}, PKT_FRAGMENT, {.ipv = 4, .proto = 17}},
        {"ipv4 fragment offset 8 bytes",
         {.ipv = 4, .frag = 0x0001},
         PKT_FRAGMENT,
         {.ipv = 4, .proto = 17}},
        {"ipv4 tcp fragment",
         {.ipv = 4, .proto = 6, .frag = 0x2000},
         PKT_FRAGMENT,
         {.ipv = 4, .proto = 6}},
        {"ipv4 tcp", {.ipv = 4, .proto = 6}, PKT_NOT_UDP, {.ipv = 4, .proto = 6}},
        {"ipv4 icmp", {.ipv = 4, .proto = 1}, PKT_NOT_UDP, {.ipv = 4, .proto = 1}},
        {"ipv4 vlan tcp",
         {.ipv = 4, .tag1 = 0x8100, .tci1 = 3, .proto = 6},
         PKT_NOT_UDP,
         {.ipv = 4, .proto = 6, .vlan = V(3)}},

        /* ---- UDP ---- */
        {"ipv4 payload too short for a udp header",
         {.ipv = 4, .patch = {P(16, 0), P(17, 24)}, .recsum = true},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 4, .proto = 17}},
        {"udp length 7",
         {.ipv = 4, .patch = {P(38, 0), P(39, 7)}},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 4, .proto = 17}},
        {"udp length 0",
         {.ipv = 4, .patch = {P(38, 0), P(39, 0)}},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 4, .proto = 17}},
        {"udp length past the ip payload",
         {.ipv = 4, .pad = 20, .patch = {P(38, 0), P(39, 14)}},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 4, .proto = 17}},
        {"ipv6 udp checksum 0",
         {.ipv = 6, .udp_csum_zero = true},
         PKT_UDP_ZERO_CHECKSUM,
         {.ipv = 6, .proto = 17}},
        {"ipv6 udp length 0 (jumbogram style)",
         {.ipv = 6, .patch = {P(58, 0), P(59, 0)}},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 6, .proto = 17}},

        /* ---- IPv6 ---- */
        {"ipv6 ethertype, version 4", {.ipv = 6, .patch = {P(14, 0x40)}}, PKT_BAD_IPV6_HEADER, {0}},
        {"ipv6 payload length past the frame",
         {.ipv = 6, .patch = {P(18, 0), P(19, 14)}},
         PKT_TRUNCATED,
         {0}},
        {"ipv6 payload length 0 (jumbogram)",
         {.ipv = 6, .patch = {P(18, 0), P(19, 0)}},
         PKT_BAD_UDP_LENGTH,
         {.ipv = 6, .proto = 17}},
        {"ipv6 payload length 0 with hop-by-hop",
         {.ipv = 6, EXT("\x00" HBH("\x11")), .patch = {P(18, 0), P(19, 0)}},
         PKT_BAD_IPV6_EXT,
         {.ipv = 6, .proto = 0}},
        {"ipv6 fragment header",
         {.ipv = 6, EXT("\x2c" FRAGM("\x11"))},
         PKT_FRAGMENT,
         {.ipv = 6, .proto = 17}},
        {"ipv6 fragment after hop-by-hop",
         {.ipv = 6, EXT("\x00" HBH("\x2c") FRAGM("\x11"))},
         PKT_FRAGMENT,
         {.ipv = 6, .proto = 17}},
        {"ipv6 atomic fragment (offset 0, M clear): the datagram itself (RFC 6946)",
         {.ipv = 6, EXT("\x2c" ROUTING("\x11"))},
         PKT_OK,
         {6, 17, 0, 14, 62, 70, 5}},

        {"ipv6 hop-by-hop after routing",
         {.ipv = 6, EXT("\x2b" ROUTING("\x00") HBH("\x11"))},
         PKT_BAD_IPV6_EXT,
         {.ipv = 6, .proto = 0}},
        {"ipv6 extension header longer than the payload",
         {.ipv = 6,
          EXT("\x3c"
              "\x11\x02\x01\x04\x00\x00\x00\x00")},
         PKT_BAD_IPV6_EXT,
         {.ipv = 6, .proto = 60}},
        {"ipv6 extension header cut by the payload length",
         {.ipv = 6, EXT("\x00" HBH("\x11")), .patch = {P(18, 0), P(19, 4)}},
         PKT_BAD_IPV6_EXT,
         {.ipv = 6, .proto = 0}},
        {"ipv6 9 extension headers",
         {.ipv = 6,
          EXT("\x3c" DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c")
                      DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x3c") DSTOPT("\x11"))},
         PKT_BAD_IPV6_EXT,
         {.ipv = 6, .proto = 60}},
        {"ipv6 tcp", {.ipv = 6, EXT("\x06")}, PKT_NOT_UDP, {.ipv = 6, .proto = 6}},
        {"ipv6 no next header", {.ipv = 6, EXT("\x3b")}, PKT_NOT_UDP, {.ipv = 6, .proto = 59}},
        {"ipv6 esp after destination options",
         {.ipv = 6, EXT("\x3c" DSTOPT("\x32"))},
         PKT_NOT_UDP,
         {.ipv = 6, .proto = 50}},
};

/* ---- helpers ---- */

/* Decode the first len bytes of f with the last one just before a PROT_NONE page. */
static enum pkt_verdict
decode(const struct row *r, const struct frame *f, size_t len, struct pkt_info *pi)
{
	uint8_t *b = guard_copy(f->b, len);
	enum pkt_verdict v;

	cr_assert(b != NULL, "%s: guard_copy", r->name);
	v = r->s.raw_ip ? pkt_decode_ip(b, len, pi) : pkt_decode(b, len, pi);
	guard_free(b, len);
	return v;
}

/* What holds for any verdict: offsets within len, and PKT_OK's payload within len. */
static void
check_bounds(const char *name, size_t cut, enum pkt_verdict v, const struct pkt_info *pi)
{
	cr_assert(pi->l3_off <= cut && pi->l4_off <= cut && pi->payload_off <= cut,
	          "%s (cut %zu): offsets %u/%u/%u past len", name, cut, pi->l3_off, pi->l4_off,
	          pi->payload_off);
	if (v == PKT_OK)
		cr_assert((size_t)pi->payload_off + pi->payload_len <= cut,
		          "%s (cut %zu): payload past len", name, cut);
	cr_assert(pi->ip_version == 0 || pi->ip_version == 4 || pi->ip_version == 6, "%s", name);
}

static void
check_ok_fields(const struct row *r, const struct pkt_info *pi, const char *ctx)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	const struct want *w = &r->w;

	cr_assert_eq(pi->l3_off, w->l3, "%s%s: l3_off %u, want %u", r->name, ctx, pi->l3_off,
	             w->l3);
	cr_assert_eq(pi->l4_off, w->l4, "%s%s: l4_off %u, want %u", r->name, ctx, pi->l4_off,
	             w->l4);
	cr_assert_eq(pi->payload_off, w->pay, "%s%s: payload_off %u, want %u", r->name, ctx,
	             pi->payload_off, w->pay);
	cr_assert_eq(pi->payload_len, w->plen, "%s%s: payload_len %u, want %u", r->name, ctx,
	             pi->payload_len, w->plen);
	cr_assert_eq(pi->src_port, 5060, "%s%s: src_port %u", r->name, ctx, pi->src_port);
	cr_assert_eq(pi->dst_port, 5080, "%s%s: dst_port %u", r->name, ctx, pi->dst_port);
	if (w->ipv == 4) {
		cr_assert(memcmp(pi->src, mapped, 12) == 0 && memcmp(pi->src + 12, v4src, 4) == 0,
		          "%s%s: src not ::ffff:192.0.2.1", r->name, ctx);
		cr_assert(memcmp(pi->dst, mapped, 12) == 0 && memcmp(pi->dst + 12, v4dst, 4) == 0,
		          "%s%s: dst not ::ffff:192.0.2.10", r->name, ctx);
	} else {
		cr_assert(memcmp(pi->src, v6src, 16) == 0, "%s%s: src", r->name, ctx);
		cr_assert(memcmp(pi->dst, v6dst, 16) == 0, "%s%s: dst", r->name, ctx);
	}
}

/* ---- table-driven tests ---- */

ParameterizedTestParameters(pkt, rows)
{
	static size_t idx[SPH_ARRAY_SIZE(rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(rows));
}

ParameterizedTest(size_t *i, pkt, rows)
{
	const struct row *r = &rows[*i];
	struct frame f;
	struct pkt_info pi;
	enum pkt_verdict v;
	size_t len;

	build(&r->s, &f);
	len = f.len;
	v = decode(r, &f, len, &pi);
	cr_assert_eq(v, r->verdict, "%s: got %s, want %s", r->name, pkt_verdict_name(v),
	             pkt_verdict_name(r->verdict));
	check_bounds(r->name, len, v, &pi);
	cr_assert_eq(pi.ip_version, r->w.ipv, "%s: ip_version %u, want %u", r->name, pi.ip_version,
	             r->w.ipv);
	cr_assert_eq(pi.l4_proto, r->w.proto, "%s: l4_proto %u, want %u", r->name, pi.l4_proto,
	             r->w.proto);
	cr_assert_eq(pi.vlan, r->w.vlan ? (r->w.vlan & 0xffff) : PKT_VLAN_NONE,
	             "%s: vlan %u, want %u", r->name, pi.vlan, r->w.vlan);
	if (v == PKT_OK)
		check_ok_fields(r, &pi, "");
}

/* Every prefix: PKT_TRUNCATED before the IP datagram ends, PKT_OK with the same fields after. */
ParameterizedTestParameters(pkt, prefixes)
{
	static size_t idx[SPH_ARRAY_SIZE(rows)];
	size_t n = 0;

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++)
		if (rows[i].verdict == PKT_OK)
			idx[n++] = i;
	return cr_make_param_array(size_t, idx, n);
}

ParameterizedTest(size_t *i, pkt, prefixes)
{
	const struct row *r = &rows[*i];
	struct frame f;
	char ctx[32];

	build(&r->s, &f);
	for (size_t cut = 0; cut < f.len; cut++) {
		struct pkt_info pi;
		enum pkt_verdict v = decode(r, &f, cut, &pi);

		snprintf(ctx, sizeof(ctx), " (cut %zu)", cut);
		check_bounds(r->name, cut, v, &pi);
		if (cut < f.ip_end) {
			cr_assert_eq(v, PKT_TRUNCATED, "%s%s: got %s", r->name, ctx,
			             pkt_verdict_name(v));
		} else {
			cr_assert_eq(v, PKT_OK, "%s%s: got %s", r->name, ctx, pkt_verdict_name(v));
			check_ok_fields(r, &pi, ctx);
		}
	}
}

/* Defect rows cut anywhere: never past len, never PKT_OK before the datagram ends. */
ParameterizedTestParameters(pkt, defect_prefixes)
{
	static size_t idx[SPH_ARRAY_SIZE(rows)];
	size_t n = 0;

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++)
		if (rows[i].verdict != PKT_OK)
			idx[n++] = i;
	return cr_make_param_array(size_t, idx, n);
}

ParameterizedTest(size_t *i, pkt, defect_prefixes)
{
	const struct row *r = &rows[*i];
	struct frame f;

	build(&r->s, &f);
	for (size_t cut = 0; cut <= f.len; cut++) {
		struct pkt_info pi;
		enum pkt_verdict v = decode(r, &f, cut, &pi);

		check_bounds(r->name, cut, v, &pi);
		cr_assert(v != PKT_OK || cut >= f.ip_end, "%s (cut %zu): ok", r->name, cut);
	}
}

/* ---- the rest of the API ---- */

Test(pkt, null_empty_input)
{
	struct pkt_info pi;

	cr_assert_eq(pkt_decode(NULL, 0, &pi), PKT_TRUNCATED);
	cr_assert_eq(pi.vlan, PKT_VLAN_NONE);
	cr_assert_eq(pkt_decode_ip(NULL, 0, &pi), PKT_TRUNCATED);
}

Test(pkt, every_verdict_has_a_row)
{
	bool seen[PKT_VERDICT_COUNT] = {false};

	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++)
		seen[rows[i].verdict] = true;
	for (int v = 0; v < PKT_VERDICT_COUNT; v++)
		cr_expect(seen[v], "no row for %s", pkt_verdict_name(v));
}

Test(pkt, verdict_names)
{
	for (int v = 0; v < PKT_VERDICT_COUNT; v++) {
		const char *n = pkt_verdict_name(v);

		cr_assert(n && *n && strcmp(n, "unknown") != 0, "verdict %d has no name", v);
		for (const char *c = n; *c; c++)
			cr_assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_',
			          "%s is not snake_case", n);
		cr_assert(pkt_verdict_str(v) && *pkt_verdict_str(v), "verdict %s has no text", n);
		for (int w = 0; w < v; w++)
			cr_assert_str_neq(n, pkt_verdict_name(w), "duplicate name %s", n);
	}
	cr_assert_str_eq(pkt_verdict_name(PKT_OK), "ok");
	cr_assert_str_eq(pkt_verdict_name(PKT_BAD_IPV4_CHECKSUM), "bad_ipv4_checksum");
	cr_assert_str_eq(pkt_verdict_name(PKT_VERDICT_COUNT), "unknown");
	cr_assert_str_eq(pkt_verdict_name((enum pkt_verdict) - 1), "unknown");
	cr_assert_str_eq(pkt_verdict_str(PKT_VERDICT_COUNT), "unknown packet verdict");
}

/* A captured frame, byte for byte (not from the builder): SIP OPTIONS over IPv4, VLAN 10. */
Test(pkt, literal_frame)
{
	static const uint8_t frame[] = {
	        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* MACs */
	        0x81, 0x00, 0x00, 0x0a, /* VLAN 10 */
	        0x08, 0x00,             /* IPv4 */
	        0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xae, 0xbd, /* */
	        0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x0a,                         /* */
	        0x13, 0xc4, 0x13, 0xc4, 0x00, 0x10, 0x00, 0x00, /* UDP 5060 -> 5060 */
	        'O',  'P',  'T',  'I',  'O',  'N',  'S',  ' ',
	};
	struct pkt_info pi;

	cr_assert_eq(pkt_decode(frame, sizeof(frame), &pi), PKT_OK);
	cr_assert_eq(pi.vlan, 10);
	cr_assert_eq(pi.payload_off, 46);
	cr_assert_eq(pi.payload_len, 8);
	cr_assert(memcmp(frame + pi.payload_off, "OPTIONS ", 8) == 0);
	cr_assert_eq(pi.dst[15], 10);
}

/* ---- pkt_decode_flags(): the same decoder, checksum verification optional ---- */

/* Where build() put the IP header of a row's frame. */
static size_t
ip_offset(const struct spec *s)
{
	if (s->raw_ip)
		return 0;
	return 14u + (s->tag1 ? 4u : 0u) + (s->tag2 ? 4u : 0u);
}

static enum pkt_verdict
decode_flags(const struct spec *s, const uint8_t *b, size_t len, unsigned flags,
             struct pkt_info *pi)
{
	return s->raw_ip ? pkt_decode_ip_flags(b, len, flags, pi)
	                 : pkt_decode_flags(b, len, flags, pi);
}

/*
 * Every row: flags 0 is exactly pkt_decode() (verdict and every field); PKT_F_NO_CSUM is
 * exactly pkt_decode() of the same frame with a correct IPv4 header checksum, so skipping the
 * check changes nothing else.
 */
Test(pkt, flags_variants_match_pkt_decode)
{
	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct frame f, fixed;
		struct pkt_info a, b;
		enum pkt_verdict va, vb;
		size_t ip = ip_offset(&r->s);

		build(&r->s, &f);
		memset(&a, 0x5a, sizeof(a));
		memset(&b, 0xa5, sizeof(b));
		va = decode(r, &f, f.len, &a);
		vb = decode_flags(&r->s, f.b, f.len, 0, &b);
		cr_assert_eq(vb, va, "%s: flags 0 says %s, pkt_decode %s", r->name,
		             pkt_verdict_name(vb), pkt_verdict_name(va));
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "%s: flags 0 fills another pkt_info",
		          r->name);

		fixed = f;
		if (r->s.ipv == 4 && f.len >= ip + 20 && (fixed.b[ip] >> 4) == 4 &&
		    (size_t)(fixed.b[ip] & 0x0f) * 4 >= 20 &&
		    f.len >= ip + (size_t)(fixed.b[ip] & 0x0f) * 4)
			ipv4_fix_csum(fixed.b + ip);
		va = decode(r, &fixed, fixed.len, &a);
		vb = decode_flags(&r->s, f.b, f.len, PKT_F_NO_CSUM, &b);
		cr_assert_neq(vb, PKT_BAD_IPV4_CHECKSUM, "%s: checked despite PKT_F_NO_CSUM",
		              r->name);
		cr_assert_eq(vb, va, "%s: PKT_F_NO_CSUM says %s, the fixed frame %s", r->name,
		             pkt_verdict_name(vb), pkt_verdict_name(va));
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0,
		          "%s: PKT_F_NO_CSUM fills another pkt_info than the fixed frame", r->name);
	}
}

/* A frame captured on its sender before checksum offload: the IPv4 header checksum is 0. */
Test(pkt, offloaded_checksum_zero)
{
	struct spec s = {.ipv = 4};
	struct frame f;
	struct pkt_info pi;

	build(&s, &f);
	put16(f.b + 14 + 10, 0);
	cr_assert_eq(pkt_decode(f.b, f.len, &pi), PKT_BAD_IPV4_CHECKSUM, "the daemon verifies");
	cr_assert_eq(pkt_decode_flags(f.b, f.len, 0, &pi), PKT_BAD_IPV4_CHECKSUM);
	cr_assert_eq(pkt_decode_flags(f.b, f.len, PKT_F_NO_CSUM, &pi), PKT_OK);
	cr_assert_eq(pi.payload_off, 42);
	cr_assert_eq(pi.payload_len, 5);
	cr_assert_eq(pkt_decode_ip_flags(f.b + 14, f.len - 14, PKT_F_NO_CSUM, &pi), PKT_OK);
	cr_assert_eq(pkt_decode_ip(f.b + 14, f.len - 14, &pi), PKT_BAD_IPV4_CHECKSUM);
	cr_assert_eq(pkt_decode_flags(NULL, 0, PKT_F_NO_CSUM, &pi), PKT_TRUNCATED);
	cr_assert_eq(pkt_decode_ip_flags(NULL, 0, PKT_F_NO_CSUM, &pi), PKT_TRUNCATED);
}

/* ---- UDP checksums: pkt_udp_csum(), pkt_udp_csum_ok(), pkt_udp_csum_fill() ---- */

/* The literal frame above, its checksum worked out apart (RFC 768 in Python): 0xc632. */
Test(pkt, udp_csum_literal_v4)
{
	uint8_t frame[] = {
	        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* MACs */
	        0x81, 0x00, 0x00, 0x0a, /* VLAN 10 */
	        0x08, 0x00,             /* IPv4 */
	        0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xae, 0xbd, /* */
	        0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x0a,                         /* */
	        0x13, 0xc4, 0x13, 0xc4, 0x00, 0x10, 0xbe, 0xef, /* UDP, checksum wrong */
	        'O',  'P',  'T',  'I',  'O',  'N',  'S',  ' ',  0x00, 0x00, 0x00, 0x00,
	        0x00, 0x00, /* Ethernet padding: not summed */
	};
	uint8_t before[sizeof(frame)];
	struct pkt_info pi;

	cr_assert_eq(pkt_decode(frame, sizeof(frame), &pi), PKT_OK);
	cr_assert_eq(pkt_udp_csum(frame, &pi), 0xc632, "got %#x", pkt_udp_csum(frame, &pi));
	cr_assert_not(pkt_udp_csum_ok(frame, &pi));
	memcpy(before, frame, sizeof(frame));
	cr_assert(pkt_udp_csum_fill(frame, &pi));
	cr_assert_eq(frame[44], 0xc6);
	cr_assert_eq(frame[45], 0x32);
	before[44] = 0xc6, before[45] = 0x32;
	cr_assert(memcmp(frame, before, sizeof(frame)) == 0, "fill wrote beyond the field");
	cr_assert(pkt_udp_csum_ok(frame, &pi));
	cr_assert_not(pkt_udp_csum_fill(frame, &pi), "a right checksum is not rewritten");
	frame[46] ^= 0x20; /* one payload bit flipped */
	cr_assert_not(pkt_udp_csum_ok(frame, &pi));
	frame[46] ^= 0x20;
	frame[44] = frame[45] = 0; /* IPv4 without a checksum: accepted, and fill writes one */
	cr_assert(pkt_udp_csum_ok(frame, &pi));
	cr_assert(pkt_udp_csum_fill(frame, &pi));
	cr_assert(frame[44] == 0xc6 && frame[45] == 0x32);
	/* The decoder from the IP header on counts offsets from there: the same sum. */
	cr_assert_eq(pkt_decode_ip(frame + 18, sizeof(frame) - 18, &pi), PKT_OK);
	cr_assert_eq(pkt_udp_csum(frame + 18, &pi), 0xc632);
}

/* IPv6 with a hop-by-hop options header before UDP and an odd payload (23 bytes): the
 * pseudo-header takes the addresses and the UDP length, not the extension; 0xcb1d. */
Test(pkt, udp_csum_literal_v6_odd)
{
	static const char pl[] = "OPTIONS sip:x SIP/2.0\r\n";
	uint8_t frame[14 + 40 + 8 + 8 + sizeof(pl) - 1] =
	        {
	                0x02, 0,    0,    0,    0,    0x02,       0x02, 0,    0,
	                0,    0xaa, 0x01, 0x86, 0xdd,                       /* Ethernet */
	                0x60, 0,    0,    0,    0,    8 + 8 + 23, 0,    64, /* HBH next */
	                0x20, 0x01, 0x0d, 0xb8, 0,    1,          0,    0,    0,
	                0,    0,    0,    0,    0,    0,          0x07, /* src */
	                0x20, 0x01, 0x0d, 0xb8, 0,    0,          0,    0,    0,
	                0,    0,    0,    0,    0,    0,          0x10,    /* dst */
	                17,   0,    1,    4,    0,    0,          0,    0, /* hop-by-hop: PadN, then
	                                                                      UDP */
	                0x13, 0xc4, 0x13, 0xc4, 0,    8 + 23,     0,    0x01, /* UDP, checksum wrong
	                                                                       */
	        };
	struct pkt_info pi;

	memcpy(frame + 14 + 40 + 8 + 8, pl, sizeof(pl) - 1);
	cr_assert_eq(pkt_decode(frame, sizeof(frame), &pi), PKT_OK);
	cr_assert_eq(pi.l4_off, 14u + 40 + 8);
	cr_assert_eq(pi.payload_len, 23);
	cr_assert_eq(pkt_udp_csum(frame, &pi), 0xcb1d, "got %#x", pkt_udp_csum(frame, &pi));
	cr_assert_not(pkt_udp_csum_ok(frame, &pi));
	cr_assert(pkt_udp_csum_fill(frame, &pi));
	cr_assert(pkt_udp_csum_ok(frame, &pi));
	cr_assert(frame[pi.l4_off + 6] == 0xcb && frame[pi.l4_off + 7] == 0x1d);
}

/* Every builder row the decoder accepts, then payloads of 0..24 bytes (odd and even, each
 * tail of the 8-byte loop) in both families: fill then verify agree, and a one-bit change
 * anywhere in the payload makes it fail. */
Test(pkt, udp_csum_fill_then_verify)
{
	for (size_t i = 0; i < SPH_ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct frame f;
		struct pkt_info pi;

		build(&r->s, &f);
		if (decode(r, &f, f.len, &pi) != PKT_OK || pi.l4_proto != 17)
			continue;
		const uint8_t *base = f.b;

		pkt_udp_csum_fill(f.b, &pi);
		cr_assert(pkt_udp_csum_ok(base, &pi), "%s: filled checksum does not verify",
		          r->name);
		for (uint32_t k = 0; k < pi.payload_len; k++) {
			f.b[pi.payload_off + k] ^= 0x01;
			cr_assert_not(pkt_udp_csum_ok(base, &pi), "%s: bit flip at %u unnoticed",
			              r->name, k);
			f.b[pi.payload_off + k] ^= 0x01;
		}
	}
	for (unsigned len = 0; len <= 24; len++)
		for (uint8_t ipv = 4; ipv <= 6; ipv += 2) {
			char pl[32];
			struct spec sp = {.ipv = ipv, .payload = pl};
			struct frame f;
			struct pkt_info pi;

			memset(pl, 'a', len);
			pl[len] = '\0';
			for (unsigned k = 0; k < len; k++)
				pl[k] = (char)('a' + (k * 7 + len) % 26);
			build(&sp, &f);
			cr_assert_eq(pkt_decode(f.b, f.len, &pi), PKT_OK);
			cr_assert_eq(pi.payload_len, len);
			pkt_udp_csum_fill(f.b, &pi);
			cr_assert(pkt_udp_csum_ok(f.b, &pi), "IPv%u, %u bytes", ipv, len);
			for (uint32_t k = 0; k < len; k++) {
				f.b[pi.payload_off + k] ^= 0x80;
				cr_assert_not(pkt_udp_csum_ok(f.b, &pi), "IPv%u, %u bytes, bit %u",
				              ipv, len, k);
				f.b[pi.payload_off + k] ^= 0x80;
			}
		}
}
