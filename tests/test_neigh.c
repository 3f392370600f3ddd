/*
 * test_neigh.c - Criterion suite for ARP / Neighbor Discovery (dataplane/core/neigh.c).
 * Covers nd_handle() on tables of ARP and NS/NA frames {name, how to build it, expected
 * action, expected learn, expected reply} untagged and 802.1Q/802.1ad tagged, each checked
 * byte for byte against a reply built here and, for NA, an ICMPv6 checksum routine of this
 * file's own; every frame cut at every length and randomly mutated (never a crash, never a
 * reply from an incomplete frame); builder round trips between two "hosts"; and the
 * neighbour table's state machine on a fake clock. Frames sit right before a PROT_NONE page.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "siphon/neigh.h"
#include "siphon/sph.h"

/*
 * tests/meson.build builds this suite from test_neigh.c alone, so the guard-page helper
 * is compiled in here; once guard.c is listed for the suite, include guard.h instead.
 */
#include "guard.h"

/* Rows start from a macro's defaults and override a field or two: that is the point. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

TestSuite(neigh);

/* ---- addresses ---- */

enum mac_id { M_PEER = 0, M_SELF, M_OTHER, M_MCAST, M_ZERO, M_BCAST };
static const uint8_t macs[][6] = {
        [M_PEER] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
        [M_SELF] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xaa},
        [M_OTHER] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02},
        [M_MCAST] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
        [M_ZERO] = {0},
        [M_BCAST] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
};

/* Addresses by role; a row names roles, the frame builder picks the bytes. */
enum addr_id { A_SELF = 0, A_VIP, A_PEER, A_OTHER, A_ZERO, A_ALLNODES, A_SOLNODE, A_MCAST };
static const uint8_t v4[][4] = {
        [A_SELF] = {192, 0, 2, 10},   [A_VIP] = {192, 0, 2, 100},
        [A_PEER] = {192, 0, 2, 1},    [A_OTHER] = {192, 0, 2, 2},
        [A_ZERO] = {0, 0, 0, 0},      [A_ALLNODES] = {255, 255, 255, 255},
        [A_SOLNODE] = {224, 0, 0, 1}, [A_MCAST] = {224, 0, 0, 2},
};
static const uint8_t v6[][16] = {
        [A_SELF] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10},
        [A_VIP] = {0x20, 0x01, 0x0d, 0xb8, [13] = 0xab, [14] = 0x01, [15] = 0x00},
        [A_PEER] = {0xfe, 0x80, [8] = 0x02, [13] = 0x12, [14] = 0x34, [15] = 0x01},
        [A_OTHER] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02},
        [A_ZERO] = {0},
        [A_ALLNODES] = {0xff, 0x02, [15] = 0x01},
        [A_SOLNODE] = {0}, /* computed from the target */
        [A_MCAST] = {0xff, 0x05, [15] = 0x02},
};

static void
mapped(uint8_t out[16], const uint8_t a[4])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

/* The port under test: self MAC, its own v4/v6 address and one VIP of each family. */
static void
make_self(struct nd_self *s, const uint8_t mac[6], enum addr_id v4a, enum addr_id v6a)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->mac, mac, 6);
	s->family[0] = 4;
	mapped(s->addr[0], v4[v4a]);
	s->family[1] = 6;
	memcpy(s->addr[1], v6[v6a], 16);
	s->family[2] = 4;
	mapped(s->addr[2], v4[A_VIP]);
	s->family[3] = 6;
	memcpy(s->addr[3], v6[A_VIP], 16);
	s->nb_addrs = 4;
}

static void
get_self(struct nd_self *s)
{
	make_self(s, macs[M_SELF], A_SELF, A_SELF);
}

/* ---- independent ICMPv6 checksum ---- */

/*
 * Written apart from neigh.c on purpose: the pseudo-header is laid out in a buffer, then
 * even and odd octets are summed separately (RFC 1071 §2(B), byte order independence).
 * Returns the one's complement sum; 0xffff means a message with its checksum verifies.
 */
static uint16_t
ref_sum6(const uint8_t *ip, const uint8_t *msg, size_t n)
{
	static uint8_t ph[40 + 65536 + 1];
	uint64_t hi = 0, lo = 0, s;

	memcpy(ph, ip + 8, 32);
	ph[32] = (uint8_t)(n >> 24);
	ph[33] = (uint8_t)(n >> 16);
	ph[34] = (uint8_t)(n >> 8);
	ph[35] = (uint8_t)n;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = 58;
	memcpy(ph + 40, msg, n);
	ph[40 + n] = 0;
	for (size_t i = 0; i < 40 + n; i += 2) {
		hi += ph[i];
		lo += ph[i + 1];
	}
	s = (hi << 8) + lo;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Does the ICMPv6 message of the IPv6 header at ip (payload length from it) verify? */
static bool
ref_verify6(const uint8_t *ip)
{
	size_t n = (size_t)ip[4] << 8 | ip[5];

	return ref_sum6(ip, ip + 40, n) == 0xffff;
}

static void
ref_fill6(uint8_t *ip)
{
	size_t n = (size_t)ip[4] << 8 | ip[5];
	uint16_t c;

	ip[42] = ip[43] = 0;
	c = (uint16_t)~ref_sum6(ip, ip + 40, n);
	ip[42] = (uint8_t)(c >> 8);
	ip[43] = (uint8_t)c;
}

/* ---- frames ---- */

#define FRAME_MAX 256

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
	size_t l2;       /* Ethernet header + tag */
	size_t complete; /* bytes up to the end of the ARP payload / IPv6 datagram */
};

/* One byte written after the frame is built, at an offset from the L3 header (after the tag). */
struct patch {
	uint16_t off1; /* offset + 1, so that a zeroed entry ends the list */
	uint8_t val;
};
#define P(off, val)                                                                                \
	{                                                                                          \
		(off) + 1, (val)                                                                   \
	}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t
eth(uint8_t *b, const uint8_t dst[6], const uint8_t src[6], uint16_t tpid, uint16_t tci,
    uint16_t type)
{
	size_t p = 12;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	if (tpid) {
		put16(b + 12, tpid);
		put16(b + 14, tci);
		p = 16;
	}
	put16(b + p, type);
	return p + 2;
}

static void
apply(struct frame *f, const struct patch *pt, size_t n)
{
	for (size_t i = 0; i < n && pt[i].off1; i++)
		f->b[f->l2 + pt[i].off1 - 1] = pt[i].val;
}

/* ARP: patches count from the ARP header (htype at 0, hlen 4, plen 5, op 6-7). */
struct arp_spec {
	uint16_t tpid, tci;
	uint16_t op;       /* 1 request, 2 reply */
	enum mac_id sha;   /* sender MAC, also the Ethernet source unless eth_src is set */
	enum addr_id spa;  /* sender IP */
	enum addr_id tpa;  /* target IP */
	enum mac_id tha;   /* target MAC (0 = M_PEER is never used as tha: M_ZERO is the norm) */
	bool eth_src_self; /* Ethernet source = self MAC (our own frame looped back) */
	size_t pad;        /* bytes after the ARP payload, filled with 0xee */
	struct patch patch[4];
};

static void
build_arp(const struct arp_spec *s, struct frame *f)
{
	uint8_t *a;

	memset(f, 0, sizeof(*f));
	f->l2 = eth(f->b, s->op == 2 ? macs[M_SELF] : macs[M_BCAST],
	            s->eth_src_self ? macs[M_SELF] : macs[s->sha], s->tpid, s->tci, 0x0806);
	a = f->b + f->l2;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, s->op);
	memcpy(a + 8, macs[s->sha], 6);
	memcpy(a + 14, v4[s->spa], 4);
	memcpy(a + 18, macs[s->tha], 6);
	memcpy(a + 24, v4[s->tpa], 4);
	f->complete = f->l2 + 28;
	memset(a + 28, 0xee, s->pad);
	f->len = f->complete + s->pad;
	apply(f, s->patch, SPH_ARRAY_SIZE(s->patch));
}

/* NS / NA: patches count from the IPv6 header (hop limit at 7, ICMPv6 type at 40). */
enum opt_id {
	O_NONE = 0,
	O_LL,       /* SLLA on an NS, TLLA on an NA, with ll_mac */
	O_OTHER_LL, /* TLLA on an NS, SLLA on an NA (the wrong kind: ignored) */
	O_LL_NONCE, /* the LL option, then a nonce option (type 14, 8 bytes) */
	O_NONCE,    /* a nonce option alone */
	O_LEN0,     /* an option of length 0 (invalid) */
	O_LL_LONG,  /* the LL option with length 2 (16 bytes; invalid for Ethernet) */
	O_TRUNC,    /* the LL option claiming 16 bytes, 8 present */
};

struct nd_spec {
	uint16_t tpid, tci;
	uint8_t type;        /* 135 NS, 136 NA */
	enum addr_id src;    /* IPv6 source */
	enum addr_id dst;    /* IPv6 destination (A_SOLNODE: of the target) */
	enum addr_id target; /* the target address */
	enum opt_id opt;     /* options */
	enum mac_id ll_mac;  /* MAC in the LL option */
	enum mac_id eth_src; /* Ethernet source */
	uint8_t flags;       /* NA flags byte */
	uint8_t hop;         /* hop limit; 0 = 255 */
	size_t pad;          /* Ethernet padding after the datagram */
	struct patch patch[4];
	bool recsum;   /* recompute the checksum after patching */
	bool bad_csum; /* add one to the checksum at the end */
};

static void
solnode(uint8_t out[16], const uint8_t t[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, pfx, 13);
	memcpy(out + 13, t + 13, 3);
}

static void
build_nd(const struct nd_spec *s, struct frame *f)
{
	uint8_t dst[16], edst[6];
	uint8_t *ip, *m;
	size_t n = 24;

	memset(f, 0, sizeof(*f));
	if (s->dst == A_SOLNODE)
		solnode(dst, v6[s->target]);
	else
		memcpy(dst, v6[s->dst], 16);
	if (dst[0] == 0xff) {
		edst[0] = edst[1] = 0x33;
		memcpy(edst + 2, dst + 12, 4);
	} else {
		memcpy(edst, macs[M_SELF], 6);
	}
	f->l2 = eth(f->b, edst, macs[s->eth_src], s->tpid, s->tci, 0x86dd);
	ip = f->b + f->l2;
	m = ip + 40;
	ip[0] = 0x60;
	ip[6] = 58;
	ip[7] = s->hop ? s->hop : 255;
	memcpy(ip + 8, v6[s->src], 16);
	memcpy(ip + 24, dst, 16);
	m[0] = s->type;
	m[4] = s->flags;
	memcpy(m + 8, v6[s->target], 16);
	uint8_t ll = s->type == 135 ? 1 : 2, other = s->type == 135 ? 2 : 1;

	switch (s->opt) {
	case O_NONE:
		break;
	case O_LL:
	case O_OTHER_LL:
	case O_LL_NONCE:
		m[n] = s->opt == O_OTHER_LL ? other : ll;
		m[n + 1] = 1;
		memcpy(m + n + 2, macs[s->ll_mac], 6);
		n += 8;
		if (s->opt == O_LL_NONCE) {
			m[n] = 14;
			m[n + 1] = 1;
			memset(m + n + 2, 0x5a, 6);
			n += 8;
		}
		break;
	case O_NONCE:
		m[n] = 14;
		m[n + 1] = 1;
		memset(m + n + 2, 0x5a, 6);
		n += 8;
		break;
	case O_LEN0:
		m[n] = ll;
		m[n + 1] = 0;
		n += 8;
		break;
	case O_LL_LONG:
		m[n] = ll;
		m[n + 1] = 2;
		memcpy(m + n + 2, macs[s->ll_mac], 6);
		n += 16;
		break;
	case O_TRUNC:
		m[n] = 14;
		m[n + 1] = 2;
		memcpy(m + n + 2, macs[s->ll_mac], 6);
		n += 8;
		break;
	}
	put16(ip + 4, (unsigned)n);
	ref_fill6(ip);
	f->complete = f->l2 + 40 + n;
	memset(f->b + f->complete, 0xee, s->pad);
	f->len = f->complete + s->pad;
	apply(f, s->patch, SPH_ARRAY_SIZE(s->patch));
	if (s->recsum)
		ref_fill6(ip);
	if (s->bad_csum)
		m[3] ^= 1;
}

/*
 * Run nd_handle() on the first len bytes of b in a buffer of room bytes whose last byte is
 * right before a PROT_NONE page: a read past room, or a write past room, faults. out gets
 * the frame after the call (FRAME_MAX bytes, zero after room).
 */
static enum nd_action
run(const uint8_t *b, size_t len, size_t room, const struct nd_self *self, struct nd_learn *l,
    size_t *out_len, uint8_t *out)
{
	uint8_t *g = guard_alloc(room);
	enum nd_action a;

	cr_assert(g != NULL, "guard_alloc(%zu)", room);
	if (len)
		memcpy(g, b, len);
	memset(l, 0x77, sizeof(*l)); /* nd_handle() must write all of it */
	*out_len = 0x7777;
	a = nd_handle(g, len, room, self, l, out_len);
	if (out) {
		memset(out, 0, FRAME_MAX);
		memcpy(out, g, room < FRAME_MAX ? room : FRAME_MAX);
	}
	guard_free(g, room);
	return a;
}

static const char *
act_name(enum nd_action a)
{
	switch (a) {
	case ND_NONE:
		return "none";
	case ND_REPLY:
		return "reply";
	case ND_LEARN:
		return "learn";
	case ND_DROP:
		return "drop";
	}
	return "?";
}

static const uint8_t zero16[16];

static void
check_no_learn(const char *name, const struct nd_learn *l)
{
	cr_assert_eq(l->family, 0, "%s: learn family %u, want 0", name, l->family);
	cr_assert(memcmp(l->addr, zero16, 16) == 0 && memcmp(l->mac, zero16, 6) == 0,
	          "%s: learn not zeroed", name);
}

static void
check_learn(const char *name, const struct nd_learn *l, uint8_t family, const uint8_t *addr,
            const uint8_t mac[6])
{
	uint8_t a[16];

	if (family == 4)
		mapped(a, addr);
	else
		memcpy(a, addr, 16);
	cr_assert_eq(l->family, family, "%s: learn family %u, want %u", name, l->family, family);
	cr_assert(memcmp(l->addr, a, 16) == 0, "%s: learnt address", name);
	cr_assert(memcmp(l->mac, mac, 6) == 0, "%s: learnt MAC", name);
}

/* ---- ARP rows ---- */

enum learn_id { L_NONE = 0, L_SENDER, L_TARGET };

struct arp_row {
	const char *name;
	struct arp_spec s;
	enum nd_action act;
	enum learn_id learn; /* L_SENDER: (spa, sha) */
};

#define REQ(sha_, spa_, tpa_) .op = 1, .sha = sha_, .spa = spa_, .tpa = tpa_, .tha = M_ZERO
#define REP(sha_, spa_, tpa_) .op = 2, .sha = sha_, .spa = spa_, .tpa = tpa_, .tha = M_SELF
#define Q(vid)                .tpid = 0x8100, .tci = (vid)

static const struct arp_row arp_rows[] = {
        /* ---- requests for us: replies ---- */
        {"request for self", {REQ(M_PEER, A_PEER, A_SELF)}, ND_REPLY, L_SENDER},
        {"request for self, padded to 60",
         {REQ(M_PEER, A_PEER, A_SELF), .pad = 18},
         ND_REPLY,
         L_SENDER},
        {"request for a vip", {REQ(M_OTHER, A_OTHER, A_VIP)}, ND_REPLY, L_SENDER},
        {"request for self, 802.1Q vlan 100",
         {Q(100), REQ(M_PEER, A_PEER, A_SELF), .pad = 14},
         ND_REPLY,
         L_SENDER},
        {"request for self, 802.1ad tag",
         {.tpid = 0x88a8, .tci = 0xf123, REQ(M_PEER, A_PEER, A_SELF)},
         ND_REPLY,
         L_SENDER},
        {"request for self, 0x9100 tag",
         {.tpid = 0x9100, .tci = 7, REQ(M_PEER, A_PEER, A_VIP)},
         ND_REPLY,
         L_SENDER},
        {"probe for self (sender 0.0.0.0)",
         {REQ(M_PEER, A_ZERO, A_SELF), .pad = 18},
         ND_REPLY,
         L_NONE},
        {"probe for self, vlan", {Q(5), REQ(M_PEER, A_ZERO, A_SELF)}, ND_REPLY, L_NONE},
        {"request for self, target MAC set",
         {.op = 1, .sha = M_PEER, .spa = A_PEER, .tpa = A_SELF, .tha = M_OTHER},
         ND_REPLY,
         L_SENDER},
        /* ---- not for us: learn or drop ---- */
        {"request for another host", {REQ(M_PEER, A_PEER, A_OTHER)}, ND_LEARN, L_SENDER},
        {"request for another host, vlan",
         {Q(4094), REQ(M_PEER, A_PEER, A_OTHER)},
         ND_LEARN,
         L_SENDER},
        {"reply", {REP(M_PEER, A_PEER, A_SELF)}, ND_LEARN, L_SENDER},
        {"reply, vlan", {Q(100), REP(M_PEER, A_PEER, A_SELF), .pad = 14}, ND_LEARN, L_SENDER},
        {"reply to another host", {REP(M_OTHER, A_OTHER, A_PEER)}, ND_LEARN, L_SENDER},
        {"gratuitous request", {REQ(M_PEER, A_PEER, A_PEER)}, ND_LEARN, L_SENDER},
        {"gratuitous reply",
         {.op = 2, .sha = M_PEER, .spa = A_PEER, .tpa = A_PEER, .tha = M_PEER},
         ND_LEARN,
         L_SENDER},
        {"probe for another host", {REQ(M_PEER, A_ZERO, A_OTHER)}, ND_DROP, L_NONE},
        {"reply from 0.0.0.0", {REP(M_PEER, A_ZERO, A_SELF)}, ND_DROP, L_NONE},
        {"reply with multicast sender MAC", {REP(M_MCAST, A_PEER, A_SELF)}, ND_DROP, L_NONE},
        {"reply with zero sender MAC", {REP(M_ZERO, A_PEER, A_SELF)}, ND_DROP, L_NONE},
        {"request for self from multicast MAC", {REQ(M_MCAST, A_PEER, A_SELF)}, ND_DROP, L_NONE},
        {"request for self from zero MAC", {REQ(M_ZERO, A_PEER, A_SELF)}, ND_DROP, L_NONE},
        {"request for self from broadcast MAC", {REQ(M_BCAST, A_PEER, A_SELF)}, ND_DROP, L_NONE},
        {"gratuitous ARP claiming our address", {REQ(M_PEER, A_SELF, A_SELF)}, ND_DROP, L_NONE},
        {"reply claiming a vip", {REP(M_PEER, A_VIP, A_PEER)}, ND_DROP, L_NONE},
        {"our own request looped back", {REQ(M_SELF, A_SELF, A_PEER)}, ND_DROP, L_NONE},
        {"request for self, ethernet source is ours",
         {REQ(M_PEER, A_PEER, A_SELF), .eth_src_self = true},
         ND_DROP,
         L_NONE},
        /* ---- malformed ---- */
        {"htype 6 (IEEE 802)", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(1, 6)}}, ND_DROP, L_NONE},
        {"ptype 0x86dd",
         {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(2, 0x86), P(3, 0xdd)}},
         ND_DROP,
         L_NONE},
        {"hlen 8", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(4, 8)}}, ND_DROP, L_NONE},
        {"hlen 0", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(4, 0)}}, ND_DROP, L_NONE},
        {"plen 16", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(5, 16)}}, ND_DROP, L_NONE},
        {"plen 0", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(5, 0)}}, ND_DROP, L_NONE},
        {"opcode 0", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(7, 0)}}, ND_DROP, L_NONE},
        {"opcode 3 (RARP request)",
         {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(7, 3)}},
         ND_DROP,
         L_NONE},
        {"opcode 0x0101", {REQ(M_PEER, A_PEER, A_SELF), .patch = {P(6, 1)}}, ND_DROP, L_NONE},
};

ParameterizedTestParameters(neigh, arp)
{
	static size_t idx[SPH_ARRAY_SIZE(arp_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(arp_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(arp_rows));
}

/* The reply to request f, built here field by field. */
static void
expected_arp_reply(const struct frame *f, uint8_t *want)
{
	const uint8_t *q = f->b + f->l2;
	uint8_t *a = want + f->l2;

	memcpy(want, f->b, f->len);
	memcpy(want, q + 8, 6);            /* Ethernet dst = requester */
	memcpy(want + 6, macs[M_SELF], 6); /* Ethernet src = self */
	a[7] = 2;                          /* opcode reply */
	memcpy(a + 8, macs[M_SELF], 6);    /* sender HW = self */
	memcpy(a + 14, q + 24, 4);         /* sender IP = the asked-for address */
	memcpy(a + 18, q + 8, 6);          /* target HW = requester */
	memcpy(a + 24, q + 14, 4);         /* target IP = requester's */
	memset(a + 28, 0, f->len - f->complete);
}

ParameterizedTest(size_t *i, neigh, arp)
{
	const struct arp_row *r = &arp_rows[*i];
	struct nd_self self;
	struct frame f;
	struct nd_learn l;
	uint8_t out[FRAME_MAX], want[FRAME_MAX] = {0};
	size_t out_len;
	enum nd_action a;

	get_self(&self);
	build_arp(&r->s, &f);
	a = run(f.b, f.len, f.len, &self, &l, &out_len, out);
	cr_assert_eq(a, r->act, "%s: got %s, want %s", r->name, act_name(a), act_name(r->act));
	cr_assert_eq(out_len, f.len, "%s: out_len %zu, want %zu", r->name, out_len, f.len);
	if (r->learn == L_SENDER)
		check_learn(r->name, &l, 4, v4[r->s.spa], macs[r->s.sha]);
	else
		check_no_learn(r->name, &l);
	if (a != ND_REPLY) {
		cr_assert(memcmp(out, f.b, f.len) == 0, "%s: frame changed without a reply",
		          r->name);
		return;
	}

	/* Every field of the reply, then the whole frame against the one built here. */
	const uint8_t *e = out, *p = out + f.l2;

	cr_assert(memcmp(e, macs[r->s.sha], 6) == 0, "%s: eth dst", r->name);
	cr_assert(memcmp(e + 6, macs[M_SELF], 6) == 0, "%s: eth src", r->name);
	cr_assert(memcmp(e + 12, f.b + 12, f.l2 - 12) == 0, "%s: tag/ethertype", r->name);
	cr_assert(p[0] == 0 && p[1] == 1 && p[2] == 8 && p[3] == 0, "%s: htype/ptype", r->name);
	cr_assert(p[4] == 6 && p[5] == 4, "%s: hlen/plen", r->name);
	cr_assert(p[6] == 0 && p[7] == 2, "%s: opcode %u", r->name, p[6] << 8 | p[7]);
	cr_assert(memcmp(p + 8, macs[M_SELF], 6) == 0, "%s: sender MAC", r->name);
	cr_assert(memcmp(p + 14, v4[r->s.tpa], 4) == 0, "%s: sender IP", r->name);
	cr_assert(memcmp(p + 18, macs[r->s.sha], 6) == 0, "%s: target MAC", r->name);
	cr_assert(memcmp(p + 24, v4[r->s.spa], 4) == 0, "%s: target IP", r->name);
	for (size_t k = f.complete; k < f.len; k++)
		cr_assert_eq(out[k], 0, "%s: padding byte %zu not zeroed", r->name, k);
	expected_arp_reply(&f, want);
	cr_assert(memcmp(out, want, f.len) == 0, "%s: reply bytes", r->name);
}

/* ---- NS / NA rows ---- */

enum reply_id { R_NONE = 0, R_TO_SLLA, R_TO_ETH_SRC, R_DAD };

struct nd_row {
	const char *name;
	struct nd_spec s;
	size_t room_extra; /* room = len + this */
	enum nd_action act;
	enum learn_id learn; /* L_SENDER: (src, LL option); L_TARGET: (target, LL option) */
	enum reply_id reply;
};

/* NS for target from the peer with SLLA, to the solicited-node group. */
#define NS(tgt)  .type = 135, .src = A_PEER, .dst = A_SOLNODE, .target = tgt, .opt = O_LL
#define DAD(tgt) .type = 135, .src = A_ZERO, .dst = A_SOLNODE, .target = tgt, .opt = O_NONE
/* Solicited NA from the peer for its own address, with TLLA. */
#define NA(tgt)  .type = 136, .src = A_PEER, .dst = A_SELF, .target = tgt, .opt = O_LL, .flags = 0x60

static const struct nd_row nd_rows[] = {
        /* ---- NS for us: NA ---- */
        {"ns for self", {NS(A_SELF)}, 0, ND_REPLY, L_SENDER, R_TO_SLLA},
        {"ns for a vip", {NS(A_VIP)}, 0, ND_REPLY, L_SENDER, R_TO_SLLA},
        {"ns for self, unicast to the target",
         {NS(A_SELF), .dst = A_SELF},
         0,
         ND_REPLY,
         L_SENDER,
         R_TO_SLLA},
        {"ns for self, 802.1Q vlan 100", {Q(100), NS(A_SELF)}, 0, ND_REPLY, L_SENDER, R_TO_SLLA},
        {"ns for self, 802.1ad tag",
         {.tpid = 0x88a8, .tci = 0x2001, NS(A_VIP)},
         0,
         ND_REPLY,
         L_SENDER,
         R_TO_SLLA},
        {"ns for self, SLLA differs from the ethernet source",
         {NS(A_SELF), .ll_mac = M_OTHER},
         0,
         ND_REPLY,
         L_SENDER,
         R_TO_SLLA},
        {"ns for self, ethernet padding", {NS(A_SELF), .pad = 6}, 0, ND_REPLY, L_SENDER, R_TO_SLLA},
        {"ns for self, SLLA and nonce (the NA is shorter)",
         {NS(A_SELF), .opt = O_LL_NONCE},
         0,
         ND_REPLY,
         L_SENDER,
         R_TO_SLLA},
        {"ns for self, unknown option only (same length as the NA)",
         {NS(A_SELF), .opt = O_NONCE},
         0,
         ND_REPLY,
         L_NONE,
         R_TO_ETH_SRC},
        {"ns for self, TLLA instead of SLLA (ignored)",
         {NS(A_SELF), .opt = O_OTHER_LL},
         0,
         ND_REPLY,
         L_NONE,
         R_TO_ETH_SRC},
        {"ns for self without SLLA, 8 bytes of room",
         {NS(A_SELF), .opt = O_NONE},
         8,
         ND_REPLY,
         L_NONE,
         R_TO_ETH_SRC},
        {"ns for self without SLLA, vlan, room to spare",
         {Q(9), NS(A_SELF), .opt = O_NONE},
         50,
         ND_REPLY,
         L_NONE,
         R_TO_ETH_SRC},
        {"ns for self without SLLA, no room for the NA",
         {NS(A_SELF), .opt = O_NONE},
         7,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns for self without SLLA, padding makes room",
         {NS(A_SELF), .opt = O_NONE, .pad = 8},
         0,
         ND_REPLY,
         L_NONE,
         R_TO_ETH_SRC},
        {"dad ns for self", {DAD(A_SELF)}, 8, ND_REPLY, L_NONE, R_DAD},
        {"dad ns for a vip, vlan, with nonce",
         {Q(3), DAD(A_VIP), .opt = O_NONCE},
         0,
         ND_REPLY,
         L_NONE,
         R_DAD},
        /* ---- NS not for us ---- */
        {"ns for another host", {NS(A_OTHER)}, 0, ND_LEARN, L_SENDER, R_NONE},
        {"ns for another host, vlan", {Q(100), NS(A_OTHER)}, 0, ND_LEARN, L_SENDER, R_NONE},
        {"ns for another host, no SLLA", {NS(A_OTHER), .opt = O_NONE}, 0, ND_DROP, L_NONE, R_NONE},
        {"dad ns for another host", {DAD(A_OTHER)}, 0, ND_DROP, L_NONE, R_NONE},
        /* ---- NA ---- */
        {"solicited na", {NA(A_PEER)}, 0, ND_LEARN, L_TARGET, R_NONE},
        {"solicited na, vlan", {Q(100), NA(A_PEER)}, 0, ND_LEARN, L_TARGET, R_NONE},
        {"na, TLLA then nonce", {NA(A_PEER), .opt = O_LL_NONCE}, 0, ND_LEARN, L_TARGET, R_NONE},
        {"unsolicited na to all-nodes",
         {NA(A_OTHER), .dst = A_ALLNODES, .flags = 0x20, .ll_mac = M_OTHER},
         0,
         ND_LEARN,
         L_TARGET,
         R_NONE},
        {"na without TLLA", {NA(A_PEER), .opt = O_NONE}, 0, ND_DROP, L_NONE, R_NONE},
        {"na with SLLA only", {NA(A_PEER), .opt = O_OTHER_LL}, 0, ND_DROP, L_NONE, R_NONE},
        {"na with multicast TLLA", {NA(A_PEER), .ll_mac = M_MCAST}, 0, ND_DROP, L_NONE, R_NONE},
        {"na with zero TLLA", {NA(A_PEER), .ll_mac = M_ZERO}, 0, ND_DROP, L_NONE, R_NONE},
        {"na to all-nodes with S set",
         {NA(A_PEER), .dst = A_ALLNODES, .flags = 0x60},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"na for our own address", {NA(A_SELF)}, 0, ND_DROP, L_NONE, R_NONE},
        {"na for a vip", {NA(A_VIP), .dst = A_ALLNODES, .flags = 0x20}, 0, ND_DROP, L_NONE, R_NONE},
        /* ---- NS/NA defects ---- */
        {"ns hop limit 64", {NS(A_SELF), .hop = 64}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns hop limit 254", {NS(A_SELF), .hop = 254}, 0, ND_DROP, L_NONE, R_NONE},
        {"na hop limit 1", {NA(A_PEER), .hop = 1}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns bad checksum", {NS(A_SELF), .bad_csum = true}, 0, ND_DROP, L_NONE, R_NONE},
        {"na bad checksum", {NA(A_PEER), .bad_csum = true}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns checksum 0 (not optional in IPv6)",
         {NS(A_SELF), .patch = {P(42, 0), P(43, 0)}},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns target changed after the checksum",
         {NS(A_SELF), .patch = {P(63, 0x11)}},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns code 1",
         {NS(A_SELF), .patch = {P(41, 1)}, .recsum = true},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns multicast target", {NS(A_MCAST), .dst = A_SELF}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns multicast source", {NS(A_SELF), .src = A_MCAST}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns option length 0", {NS(A_SELF), .opt = O_LEN0}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns SLLA of 16 bytes", {NS(A_SELF), .opt = O_LL_LONG}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns option past the payload", {NS(A_SELF), .opt = O_TRUNC}, 0, ND_DROP, L_NONE, R_NONE},
        {"ns payload ends inside an option",
         {NS(A_SELF), .patch = {P(4, 0), P(5, 25)}, .recsum = true},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns payload 23 bytes",
         {NS(A_SELF), .patch = {P(4, 0), P(5, 23)}, .recsum = true},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns payload length past the frame",
         {NS(A_SELF), .pad = 4, .patch = {P(4, 0), P(5, 40)}, .recsum = true},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns payload length 0",
         {NS(A_SELF), .patch = {P(4, 0), P(5, 0)}},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"dad ns with SLLA", {DAD(A_SELF), .opt = O_LL}, 0, ND_DROP, L_NONE, R_NONE},
        {"dad ns to a unicast address", {DAD(A_SELF), .dst = A_SELF}, 8, ND_DROP, L_NONE, R_NONE},
        {"dad ns to all-nodes", {DAD(A_SELF), .dst = A_ALLNODES}, 8, ND_DROP, L_NONE, R_NONE},
        {"ns for self with multicast SLLA",
         {NS(A_SELF), .ll_mac = M_MCAST},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns for self from our own address",
         {NS(A_SELF), .src = A_VIP},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns for self without SLLA from a multicast MAC",
         {NS(A_SELF), .opt = O_NONE, .eth_src = M_MCAST},
         8,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"ns for self, ethernet source is ours (looped back)",
         {NS(A_SELF), .eth_src = M_SELF},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        {"na, ethernet source is ours",
         {NA(A_PEER), .eth_src = M_SELF},
         0,
         ND_DROP,
         L_NONE,
         R_NONE},
        /* ---- not ND: the caller goes on ---- */
        {"icmpv6 echo request",
         {NS(A_SELF), .patch = {P(40, 128)}, .recsum = true},
         0,
         ND_NONE,
         L_NONE,
         R_NONE},
        {"router solicitation",
         {NS(A_SELF), .patch = {P(40, 133)}, .recsum = true},
         0,
         ND_NONE,
         L_NONE,
         R_NONE},
        {"redirect",
         {NS(A_SELF), .patch = {P(40, 137)}, .recsum = true},
         0,
         ND_NONE,
         L_NONE,
         R_NONE},
        {"ns behind a hop-by-hop header (next header 0)",
         {NS(A_SELF), .patch = {P(6, 0)}},
         0,
         ND_NONE,
         L_NONE,
         R_NONE},
        {"udp next header", {NS(A_SELF), .patch = {P(6, 17)}}, 0, ND_NONE, L_NONE, R_NONE},
        {"ipv6 ethertype, version 4",
         {NS(A_SELF), .patch = {P(0, 0x45)}},
         0,
         ND_NONE,
         L_NONE,
         R_NONE},
};

ParameterizedTestParameters(neigh, nd)
{
	static size_t idx[SPH_ARRAY_SIZE(nd_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(nd_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(nd_rows));
}

/* The NA answering NS f, built here: Ethernet, IPv6, ICMPv6, TLLA, checksum by ref_fill6(). */
static size_t
expected_na(const struct frame *f, enum reply_id kind, uint8_t *want)
{
	const uint8_t *nsip = f->b + f->l2;
	uint8_t *ip = want + f->l2, *m = ip + 40;

	memset(want, 0, FRAME_MAX);
	memcpy(want, f->b, f->l2); /* keeps the tag and EtherType */
	if (kind == R_DAD)
		memcpy(want, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6);
	else if (kind == R_TO_SLLA)
		memcpy(want, nsip + 40 + 24 + 2, 6);
	else
		memcpy(want, f->b + 6, 6);
	memcpy(want + 6, macs[M_SELF], 6);
	ip[0] = 0x60;
	ip[5] = 32;
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, nsip + 40 + 8, 16); /* source = the target */
	if (kind == R_DAD)
		memcpy(ip + 24, v6[A_ALLNODES], 16);
	else
		memcpy(ip + 24, nsip + 8, 16);
	m[0] = 136;
	m[4] = kind == R_DAD ? 0x20 : 0x60; /* S only when solicited by a unicast source */
	memcpy(m + 8, nsip + 40 + 8, 16);
	m[24] = 2;
	m[25] = 1;
	memcpy(m + 26, macs[M_SELF], 6);
	ref_fill6(ip);
	return f->l2 + 40 + 32;
}

ParameterizedTest(size_t *i, neigh, nd)
{
	const struct nd_row *r = &nd_rows[*i];
	struct nd_self self;
	struct frame f;
	struct nd_learn l;
	uint8_t out[FRAME_MAX], want[FRAME_MAX];
	size_t out_len, room;
	enum nd_action a;

	get_self(&self);
	build_nd(&r->s, &f);
	room = f.len + r->room_extra;
	a = run(f.b, f.len, room, &self, &l, &out_len, out);
	cr_assert_eq(a, r->act, "%s: got %s, want %s", r->name, act_name(a), act_name(r->act));
	if (r->learn == L_SENDER)
		check_learn(r->name, &l, 6, v6[r->s.src], macs[r->s.ll_mac]);
	else if (r->learn == L_TARGET)
		check_learn(r->name, &l, 6, v6[r->s.target], macs[r->s.ll_mac]);
	else
		check_no_learn(r->name, &l);
	if (a != ND_REPLY) {
		cr_assert_eq(out_len, f.len, "%s: out_len %zu, want %zu", r->name, out_len, f.len);
		cr_assert(memcmp(out, f.b, f.len) == 0, "%s: frame changed without a reply",
		          r->name);
		return;
	}

	size_t wlen = expected_na(&f, r->reply, want);
	const uint8_t *ip = out + f.l2, *m = ip + 40;

	cr_assert_eq(out_len, wlen, "%s: out_len %zu, want %zu", r->name, out_len, wlen);
	cr_assert(out_len <= room, "%s: reply longer than room", r->name);
	cr_assert(memcmp(out, want, 6) == 0, "%s: eth dst", r->name);
	cr_assert(memcmp(out + 6, macs[M_SELF], 6) == 0, "%s: eth src", r->name);
	cr_assert(memcmp(out + 12, f.b + 12, f.l2 - 12) == 0, "%s: tag/ethertype", r->name);
	cr_assert(ip[0] == 0x60 && ip[1] == 0 && ip[2] == 0 && ip[3] == 0, "%s: version/class/flow",
	          r->name);
	cr_assert(ip[4] == 0 && ip[5] == 32, "%s: payload length %u", r->name, ip[4] << 8 | ip[5]);
	cr_assert(ip[6] == 58 && ip[7] == 255, "%s: next header %u / hop limit %u", r->name, ip[6],
	          ip[7]);
	cr_assert(memcmp(ip + 8, v6[r->s.target], 16) == 0, "%s: source is not the target",
	          r->name);
	cr_assert(memcmp(ip + 24, r->reply == R_DAD ? v6[A_ALLNODES] : v6[r->s.src], 16) == 0,
	          "%s: destination", r->name);
	cr_assert(m[0] == 136 && m[1] == 0, "%s: type %u code %u", r->name, m[0], m[1]);
	cr_assert(ref_verify6(ip), "%s: NA checksum does not verify", r->name);
	cr_assert_eq(m[4], r->reply == R_DAD ? 0x20 : 0x60, "%s: flags 0x%02x", r->name, m[4]);
	cr_assert(m[5] == 0 && m[6] == 0 && m[7] == 0, "%s: reserved", r->name);
	cr_assert(memcmp(m + 8, v6[r->s.target], 16) == 0, "%s: target", r->name);
	cr_assert(m[24] == 2 && m[25] == 1 && memcmp(m + 26, macs[M_SELF], 6) == 0,
	          "%s: TLLA option", r->name);
	cr_assert(memcmp(out, want, wlen) == 0, "%s: reply bytes", r->name);
}

/* ---- truncation and mutation ---- */

/*
 * Every row cut at every length, with the buffer ending at the cut (room = cut): never a
 * fault, never ND_REPLY or ND_LEARN from a frame missing part of its ARP payload or IPv6
 * datagram, and the exact verdict of a cut frame: ND_NONE until the Ethernet header (and
 * tag) and, for IPv6, the ICMPv6 type byte are in; ND_DROP after.
 */
ParameterizedTestParameters(neigh, arp_cuts)
{
	static size_t idx[SPH_ARRAY_SIZE(arp_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(arp_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(arp_rows));
}

ParameterizedTest(size_t *i, neigh, arp_cuts)
{
	const struct arp_row *r = &arp_rows[*i];
	struct nd_self self;
	struct frame f;

	get_self(&self);
	build_arp(&r->s, &f);
	for (size_t cut = 0; cut <= f.len; cut++) {
		struct nd_learn l;
		size_t out_len;
		enum nd_action a = run(f.b, cut, cut, &self, &l, &out_len, NULL);
		enum nd_action want = cut < f.l2 ? ND_NONE : cut < f.complete ? ND_DROP : r->act;

		cr_assert_eq(a, want, "%s (cut %zu): got %s, want %s", r->name, cut, act_name(a),
		             act_name(want));
		cr_assert_eq(out_len, cut, "%s (cut %zu): out_len %zu", r->name, cut, out_len);
		if (a != ND_LEARN && a != ND_REPLY)
			check_no_learn(r->name, &l);
	}
}

ParameterizedTestParameters(neigh, nd_cuts)
{
	static size_t idx[SPH_ARRAY_SIZE(nd_rows)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(nd_rows); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(nd_rows));
}

ParameterizedTest(size_t *i, neigh, nd_cuts)
{
	const struct nd_row *r = &nd_rows[*i];
	struct nd_self self;
	struct frame f;

	get_self(&self);
	build_nd(&r->s, &f);
	for (size_t cut = 0; cut < f.len; cut++) {
		struct nd_learn l;
		size_t out_len;
		enum nd_action a = run(f.b, cut, cut, &self, &l, &out_len, NULL);

		if (cut >= f.complete) /* only padding cut: as the whole frame, room permitting */
			continue;
		cr_assert_eq(out_len, cut, "%s (cut %zu): out_len %zu", r->name, cut, out_len);
		if (r->act == ND_NONE) { /* not ND: whatever it is, never consumed as ND */
			cr_assert(a == ND_NONE || a == ND_DROP, "%s (cut %zu): %s", r->name, cut,
			          act_name(a));
			continue;
		}
		enum nd_action want = cut < f.l2 + 41 ? ND_NONE : ND_DROP;

		cr_assert_eq(a, want, "%s (cut %zu): got %s, want %s", r->name, cut, act_name(a),
		             act_name(want));
		check_no_learn(r->name, &l);
	}
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* What must hold for any input: a reply is a complete, valid ARP reply or NA from self. */
static void
check_any(const char *name, unsigned iter, enum nd_action a, const uint8_t *out, size_t len,
          size_t room, size_t out_len, const struct nd_learn *l)
{
	cr_assert(a == ND_NONE || a == ND_REPLY || a == ND_LEARN || a == ND_DROP, "%s #%u", name,
	          iter);
	cr_assert(out_len <= room, "%s #%u: out_len %zu > room %zu", name, iter, out_len, room);
	if (a != ND_REPLY)
		cr_assert_eq(out_len, len, "%s #%u", name, iter);
	if (a == ND_LEARN)
		cr_assert((l->family == 4 || l->family == 6) && !(l->mac[0] & 1) &&
		                  memcmp(l->mac, zero16, 6) != 0,
		          "%s #%u: bad learn", name, iter);
	else if (a != ND_REPLY)
		check_no_learn(name, l);
	if (a != ND_REPLY)
		return;
	cr_assert(memcmp(out + 6, macs[M_SELF], 6) == 0, "%s #%u: reply src", name, iter);
	cr_assert(!(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0 && out[4] == 0 &&
	            out[5] == 0),
	          "%s #%u: reply to a zero MAC", name, iter);
	size_t l2 = (out[12] == 0x81 || out[12] == 0x88 || out[12] == 0x91) ? 18 : 14;

	if (out[l2 - 2] == 0x08) { /* ARP */
		cr_assert_eq(out_len, len, "%s #%u", name, iter);
		cr_assert(len >= l2 + 28 && out[l2 + 7] == 2, "%s #%u: arp reply", name, iter);
	} else {
		cr_assert_eq(out_len, l2 + 72, "%s #%u", name, iter);
		cr_assert(ref_verify6(out + l2), "%s #%u: NA checksum", name, iter);
		cr_assert(out[l2 + 40] == 136 && out[l2 + 7] == 255, "%s #%u", name, iter);
	}
}

/* Valid frames with 1-4 random bytes changed and a random cut and room. */
Test(neigh, mutations)
{
	struct nd_self self;
	uint64_t seed = 0x6e6569676821ull;
	unsigned replies = 0, learns = 0;

	get_self(&self);
	for (unsigned iter = 0; iter < 20000; iter++) {
		struct frame f;
		const char *name;
		uint8_t out[FRAME_MAX];
		struct nd_learn l;
		size_t out_len, len, room;
		uint64_t r = xorshift(&seed);

		if (r & 1) {
			const struct arp_row *row = &arp_rows[(r >> 1) % SPH_ARRAY_SIZE(arp_rows)];

			build_arp(&row->s, &f);
			name = row->name;
		} else {
			const struct nd_row *row = &nd_rows[(r >> 1) % SPH_ARRAY_SIZE(nd_rows)];

			build_nd(&row->s, &f);
			name = row->name;
		}
		for (unsigned k = 0, n = 1 + (unsigned)(r >> 20) % 4; k < n; k++) {
			uint64_t x = xorshift(&seed);

			f.b[x % f.len] = (uint8_t)(x >> 32);
		}
		len = (r >> 30) % 4 == 0 ? (size_t)((r >> 32) % (f.len + 1)) : f.len;
		room = len + (size_t)((r >> 40) % 3 == 0 ? (r >> 48) % 24 : 0);
		enum nd_action a = run(f.b, len, room, &self, &l, &out_len, out);

		check_any(name, iter, a, out, len, room, out_len, &l);
		replies += a == ND_REPLY;
		learns += a == ND_LEARN;
	}
	cr_log_info("mutations: %u replies, %u learns of 20000", replies, learns);
	/* The mutations must leave enough valid frames for the reply checks to mean something. */
	cr_assert(replies > 500 && learns > 500, "replies %u learns %u", replies, learns);
}

/* Random bytes behind an ARP or IPv6 EtherType (with and without a tag). */
Test(neigh, random_frames)
{
	struct nd_self self;
	uint64_t seed = 0x72616e646f6dull;

	get_self(&self);
	for (unsigned iter = 0; iter < 20000; iter++) {
		uint8_t b[FRAME_MAX], out[FRAME_MAX];
		struct nd_learn l;
		size_t out_len, len;
		uint64_t r = xorshift(&seed);

		for (size_t k = 0; k < sizeof(b); k += 8) {
			uint64_t x = xorshift(&seed);

			memcpy(b + k, &x, 8);
		}
		size_t p = 12;

		if (r & 2) {
			put16(b + 12, 0x8100);
			p = 16;
		}
		put16(b + p, r & 1 ? 0x0806 : 0x86dd);
		if (!(r & 1)) {
			b[p + 2] = (uint8_t)(0x60 | (b[p + 2] & 0x0f));
			b[p + 2 + 6] = 58;
			b[p + 2 + 40] = (r & 4) ? 135 : 136;
		}
		len = (size_t)((r >> 8) % 100);
		enum nd_action a = run(b, len, len, &self, &l, &out_len, out);

		check_any("random", iter, a, out, len, len, out_len, &l);
	}
}

/* ---- the rest of nd_handle ---- */

Test(neigh, not_arp_nor_nd)
{
	static const uint8_t ipv4_udp[] = {
	        0x02, 0, 0,   0,  0, 0xaa, 0x02, 0,    0,    0,    0, 0x01, 0x08, 0x00, /* */
	        0x45, 0, 0,   28, 0, 0,    0,    0,    64,   17,   0, 0,    192,  0,
	        2,    1, 192, 0,  2, 10,   0x13, 0xc4, 0x13, 0xc4, 0, 8,    0,    0,
	};
	static const uint8_t qinq_arp[] = {
	        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xa8, 0, 5,  0x81,
	        0x00, 0,    7,    0x08, 0x06, 0,    1,    8, 0, 6, 4, 0,    1,    0x02, 0, 0,  0,
	        0,    0x01, 192,  0,    2,    1,    0,    0, 0, 0, 0, 0,    192,  0,    2, 10,
	};
	static const uint8_t ieee8023[] = {
	        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x00, 0x2e, 0xaa, 0xaa,
	};
	struct {
		const char *name;
		const uint8_t *b;
		size_t len;
	} cases[] = {
	        {"ipv4 udp", ipv4_udp, sizeof(ipv4_udp)},
	        {"two tags then arp (pkt_decode: vlan_stacked)", qinq_arp, sizeof(qinq_arp)},
	        {"802.3 length field", ieee8023, sizeof(ieee8023)},
	        {"empty", NULL, 0},
	};
	struct nd_self self;

	get_self(&self);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(cases); i++) {
		struct nd_learn l;
		uint8_t out[FRAME_MAX];
		size_t out_len;
		enum nd_action a =
		        run(cases[i].b, cases[i].len, cases[i].len, &self, &l, &out_len, out);

		cr_assert_eq(a, ND_NONE, "%s: got %s", cases[i].name, act_name(a));
		cr_assert_eq(out_len, cases[i].len, "%s", cases[i].name);
		check_no_learn(cases[i].name, &l);
		if (cases[i].len)
			cr_assert(memcmp(out, cases[i].b, cases[i].len) == 0, "%s: changed",
			          cases[i].name);
	}
}

/* room below len counts as len; a self with nb_addrs past ND_SELF_MAX is read up to it. */
Test(neigh, room_and_self_bounds)
{
	struct nd_self self;
	struct frame f;
	struct nd_learn l;
	size_t out_len;
	const struct arp_spec s = {REQ(M_PEER, A_PEER, A_SELF)};

	get_self(&self);
	build_arp(&s, &f);
	cr_assert_eq(nd_handle(f.b, f.len, 0, &self, &l, &out_len), ND_REPLY);
	cr_assert_eq(out_len, f.len);

	/* The asked-for address in the last slot, nb_addrs absurd: found, nothing read past. */
	make_self(&self, macs[M_SELF], A_OTHER, A_OTHER);
	self.nb_addrs = 0xffffffffu;
	self.family[ND_SELF_MAX - 1] = 4;
	mapped(self.addr[ND_SELF_MAX - 1], v4[A_SELF]);
	build_arp(&s, &f);
	cr_assert_eq(nd_handle(f.b, f.len, f.len, &self, &l, &out_len), ND_REPLY);

	/* nb_addrs 0: nothing is ours, a request for A_SELF only teaches the sender. */
	self.nb_addrs = 0;
	build_arp(&s, &f);
	cr_assert_eq(nd_handle(f.b, f.len, f.len, &self, &l, &out_len), ND_LEARN);

	/* A family-6 slot holding the mapped v4 address does not answer ARP. */
	memset(&self, 0, sizeof(self));
	memcpy(self.mac, macs[M_SELF], 6);
	self.nb_addrs = 1;
	self.family[0] = 6;
	mapped(self.addr[0], v4[A_SELF]);
	build_arp(&s, &f);
	cr_assert_eq(nd_handle(f.b, f.len, f.len, &self, &l, &out_len), ND_LEARN);
}

/* ---- builders ---- */

Test(neigh, build_arp_request_bytes)
{
	static const uint8_t want[60] = {
	        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0,  0, 0xaa, 0x08, 0x06, /* eth */
	        0,    1,    0x08, 0,    6,    4,    0,    1,                             /* arp */
	        0x02, 0,    0,    0,    0,    0xaa, 192,  0, 2, 10, /* sender */
	        0,    0,    0,    0,    0,    0,    192,  0, 2, 1,  /* target */
	};
	uint8_t buf[ND_FRAME_MAX], s[16], t[16];

	memset(buf, 0xcc, sizeof(buf));
	mapped(s, v4[A_SELF]);
	mapped(t, v4[A_PEER]);
	cr_assert_eq(nd_build_arp_request(buf, macs[M_SELF], s, t), 60);
	cr_assert(memcmp(buf, want, 60) == 0, "arp request bytes");
}

Test(neigh, build_garp_bytes)
{
	static const uint8_t want[60] = {
	        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0,   0, 0xaa, 0x08, 0x06, /* eth */
	        0,    1,    0x08, 0,    6,    4,    0,    1,         /* request */
	        0x02, 0,    0,    0,    0,    0xaa, 192,  0, 2, 100, /* sender */
	        0,    0,    0,    0,    0,    0,    192,  0, 2, 100, /* target */
	};
	uint8_t buf[ND_FRAME_MAX], a[16];

	memset(buf, 0xcc, sizeof(buf));
	mapped(a, v4[A_VIP]);
	cr_assert_eq(nd_build_garp(buf, macs[M_SELF], a), 60);
	cr_assert(memcmp(buf, want, 60) == 0, "garp bytes");
}

Test(neigh, build_ns_fields)
{
	uint8_t buf[ND_FRAME_MAX], sn[16];
	const uint8_t *ip = buf + 14, *m = ip + 40;

	memset(buf, 0xcc, sizeof(buf));
	cr_assert_eq(nd_build_ns(buf, macs[M_SELF], v6[A_SELF], v6[A_VIP]), 86);
	cr_assert(memcmp(buf, (const uint8_t[]){0x33, 0x33, 0xff, 0xab, 0x01, 0x00}, 6) == 0,
	          "eth dst not 33:33:ff:ab:01:00");
	cr_assert(memcmp(buf + 6, macs[M_SELF], 6) == 0 && buf[12] == 0x86 && buf[13] == 0xdd);
	cr_assert(ip[0] == 0x60 && ip[1] == 0 && ip[2] == 0 && ip[3] == 0);
	cr_assert(ip[4] == 0 && ip[5] == 32 && ip[6] == 58 && ip[7] == 255);
	cr_assert(memcmp(ip + 8, v6[A_SELF], 16) == 0, "source");
	solnode(sn, v6[A_VIP]);
	cr_assert(memcmp(ip + 24, sn, 16) == 0, "destination not ff02::1:ffab:100");
	cr_assert(sn[11] == 1 && sn[12] == 0xff && sn[13] == 0xab && sn[14] == 1 && sn[15] == 0);
	cr_assert(m[0] == 135 && m[1] == 0 && m[4] == 0 && m[5] == 0 && m[6] == 0 && m[7] == 0);
	cr_assert(memcmp(m + 8, v6[A_VIP], 16) == 0, "target");
	cr_assert(m[24] == 1 && m[25] == 1 && memcmp(m + 26, macs[M_SELF], 6) == 0, "SLLA");
	cr_assert(ref_verify6(ip), "NS checksum");

	/* DAD form: source ::, no SLLA. */
	cr_assert_eq(nd_build_ns(buf, macs[M_SELF], v6[A_ZERO], v6[A_SELF]), 78);
	cr_assert(ip[5] == 24 && memcmp(ip + 8, zero16, 16) == 0, "dad ns header");
	cr_assert(ref_verify6(ip), "DAD NS checksum");
}

Test(neigh, build_unsolicited_na_fields)
{
	uint8_t buf[ND_FRAME_MAX];
	const uint8_t *ip = buf + 14, *m = ip + 40;

	memset(buf, 0xcc, sizeof(buf));
	cr_assert_eq(nd_build_unsolicited_na(buf, macs[M_SELF], v6[A_VIP]), 86);
	cr_assert(memcmp(buf, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6) == 0, "eth dst");
	cr_assert(memcmp(buf + 6, macs[M_SELF], 6) == 0 && buf[12] == 0x86 && buf[13] == 0xdd);
	cr_assert(ip[0] == 0x60 && ip[4] == 0 && ip[5] == 32 && ip[6] == 58 && ip[7] == 255);
	cr_assert(memcmp(ip + 8, v6[A_VIP], 16) == 0 && memcmp(ip + 24, v6[A_ALLNODES], 16) == 0);
	cr_assert(m[0] == 136 && m[1] == 0 && m[4] == 0x20 && m[5] == 0 && m[6] == 0 && m[7] == 0,
	          "type/code/flags (O only, S and R clear)");
	cr_assert(memcmp(m + 8, v6[A_VIP], 16) == 0, "target");
	cr_assert(m[24] == 2 && m[25] == 1 && memcmp(m + 26, macs[M_SELF], 6) == 0, "TLLA");
	cr_assert(ref_verify6(ip), "NA checksum");
}

/* ---- round trips between two hosts: A (peer) and B (self) ---- */

static struct nd_table tb; /* 48 KiB: not on the stack */

struct host {
	struct nd_self self;
	uint8_t ip4[16], ip6[16];
};

static void
hosts(struct host *a, struct host *b)
{
	make_self(&a->self, macs[M_PEER], A_PEER, A_PEER);
	mapped(a->ip4, v4[A_PEER]);
	memcpy(a->ip6, v6[A_PEER], 16);
	make_self(&b->self, macs[M_SELF], A_SELF, A_SELF);
	mapped(b->ip4, v4[A_SELF]);
	memcpy(b->ip6, v6[A_SELF], 16);
	b->self.nb_addrs = 2; /* A's VIP slots would otherwise be B's too */
	a->self.nb_addrs = 2;
}

Test(neigh, round_trip_arp)
{
	struct host A, B;
	uint8_t buf[ND_FRAME_MAX];
	struct nd_learn l;
	size_t len, out_len;

	hosts(&A, &B);
	len = nd_build_arp_request(buf, A.self.mac, A.ip4, B.ip4);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_REPLY);
	check_learn("B learns A", &l, 4, v4[A_PEER], macs[M_PEER]);
	cr_assert_eq(out_len, len);
	cr_assert_eq(nd_handle(buf, out_len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	check_learn("A learns B", &l, 4, v4[A_SELF], macs[M_SELF]);
	cr_assert(memcmp(buf, A.self.mac, 6) == 0, "reply not addressed to A");

	/* A asks for a third host: B does not answer but learns A. */
	len = nd_build_arp_request(buf, A.self.mac, A.ip4, (const uint8_t[16]){[15] = 9});
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_LEARN);
	check_learn("B learns A from a request not for it", &l, 4, v4[A_PEER], macs[M_PEER]);

	len = nd_build_garp(buf, B.self.mac, B.ip4);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	check_learn("A learns B from its garp", &l, 4, v4[A_SELF], macs[M_SELF]);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_DROP,
	             "B must not act on its own garp");
}

Test(neigh, round_trip_nd)
{
	struct host A, B;
	uint8_t buf[ND_FRAME_MAX];
	struct nd_learn l;
	size_t len, out_len;

	hosts(&A, &B);
	len = nd_build_ns(buf, A.self.mac, A.ip6, B.ip6);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_REPLY);
	check_learn("B learns A", &l, 6, v6[A_PEER], macs[M_PEER]);
	cr_assert(ref_verify6(buf + 14), "NA checksum");
	cr_assert_eq(nd_handle(buf, out_len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	check_learn("A learns B", &l, 6, v6[A_SELF], macs[M_SELF]);

	/* DAD by A for B's address: B defends to all-nodes; A sees an NA for the address. */
	len = nd_build_ns(buf, A.self.mac, v6[A_ZERO], B.ip6);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_REPLY);
	check_no_learn("dad", &l);
	cr_assert(memcmp(buf, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, 6) == 0, "dad NA dst");
	cr_assert_eq(buf[14 + 40 + 4], 0x20, "dad NA must not be solicited");
	cr_assert_eq(nd_handle(buf, out_len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	check_learn("A learns B from the DAD defence", &l, 6, v6[A_SELF], macs[M_SELF]);

	len = nd_build_unsolicited_na(buf, B.self.mac, B.ip6);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	check_learn("A learns B from an unsolicited NA", &l, 6, v6[A_SELF], macs[M_SELF]);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_DROP);

	/* Through the table: A resolves B, then a worker reads the MAC. */
	unsigned out[4];
	uint8_t mac[6];
	int idx;

	nd_table_init(&tb, NULL);
	idx = nd_table_add(&tb, 6, B.ip6, NULL, 0);
	cr_assert(idx >= 0 && !nd_table_mac(&tb, (unsigned)idx, mac));
	cr_assert_eq(nd_table_tick(&tb, 0, out, 4), 1);
	len = nd_build_ns(buf, A.self.mac, A.ip6, tb.e[out[0]].addr);
	cr_assert_eq(nd_handle(buf, len, sizeof(buf), &B.self, &l, &out_len), ND_REPLY);
	cr_assert_eq(nd_handle(buf, out_len, sizeof(buf), &A.self, &l, &out_len), ND_LEARN);
	nd_table_learn(&tb, &l, 10);
	cr_assert(nd_table_mac(&tb, (unsigned)idx, mac) && memcmp(mac, macs[M_SELF], 6) == 0);
}

/* ---- the table, on a fake clock ---- */

#define RETRANS   1000u
#define REACHABLE 30000u
#define FAILED    5000u

static void
table(void)
{
	const struct nd_timers t = {RETRANS, REACHABLE, FAILED, 3};

	nd_table_init(&tb, &t);
}

/* Tick at now; the solicited indexes must be exactly want[0..n). */
static void
tick_expect(uint64_t now, const unsigned *want, unsigned n, const char *what)
{
	unsigned out[ND_TABLE_MAX];
	unsigned got = nd_table_tick(&tb, now, out, ND_TABLE_MAX);

	cr_assert_eq(got, n, "%s (t=%lu): %u solicitations, want %u", what, (unsigned long)now, got,
	             n);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(out[i], want[i], "%s (t=%lu): out[%u] = %u, want %u", what,
		             (unsigned long)now, i, out[i], want[i]);
}

static struct nd_learn
learn4(enum addr_id a, enum mac_id m)
{
	struct nd_learn l = {.family = 4};

	mapped(l.addr, v4[a]);
	memcpy(l.mac, macs[m], 6);
	return l;
}

static bool
usable(unsigned idx, enum mac_id m)
{
	uint8_t mac[6];

	return nd_table_mac(&tb, idx, mac) && memcmp(mac, macs[m], 6) == 0;
}

Test(neigh, table_lifecycle)
{
	static const unsigned z[] = {0};
	uint8_t a[16];
	struct nd_learn l = learn4(A_PEER, M_PEER);
	uint8_t mac[6];

	table();
	mapped(a, v4[A_PEER]);
	cr_assert_eq(nd_table_add(&tb, 4, a, NULL, 100), 0);
	cr_assert_eq(tb.e[0].state, ND_INCOMPLETE);
	cr_assert(!nd_table_mac(&tb, 0, mac), "incomplete entry has a MAC");

	/* INCOMPLETE: solicited at once, then every RETRANS, 3 times; then FAILED. */
	tick_expect(100, z, 1, "add solicits");
	tick_expect(100, NULL, 0, "not twice at once");
	tick_expect(100 + RETRANS - 1, NULL, 0, "before retrans");
	tick_expect(100 + RETRANS, z, 1, "second probe");
	tick_expect(100 + 2 * RETRANS, z, 1, "third probe");
	cr_assert_eq(tb.e[0].state, ND_INCOMPLETE);
	tick_expect(100 + 3 * RETRANS, NULL, 0, "retries exhausted");
	cr_assert_eq(tb.e[0].state, ND_FAILED, "state %s", nd_state_name(tb.e[0].state));
	cr_assert(!nd_table_mac(&tb, 0, mac));

	/* FAILED: back-off, then an INCOMPLETE cycle again. */
	uint64_t t = 100 + 3 * RETRANS;

	tick_expect(t + FAILED - 1, NULL, 0, "in back-off");
	tick_expect(t + FAILED, z, 1, "probing again after back-off");
	cr_assert_eq(tb.e[0].state, ND_INCOMPLETE);
	cr_assert_eq(tb.e[0].probes, 1);

	/* An answer: REACHABLE, MAC usable, not solicited for REACHABLE. */
	t += FAILED + 10;
	nd_table_learn(&tb, &l, t);
	cr_assert_eq(tb.e[0].state, ND_REACHABLE);
	cr_assert(usable(0, M_PEER), "reachable MAC not readable");
	cr_assert_eq(tb.e[0].mac_word, (1ull << 63) | 0x020000000001ull, "mac_word 0x%016llx",
	             (unsigned long long)tb.e[0].mac_word);
	tick_expect(t + REACHABLE - 1, NULL, 0, "reachable");

	/* Reachable time out: STALE, still usable, solicited every RETRANS. */
	t += REACHABLE;
	tick_expect(t, z, 1, "stale solicits");
	cr_assert_eq(tb.e[0].state, ND_STALE);
	cr_assert(usable(0, M_PEER), "stale MAC must stay usable");

	/* An answer while stale: REACHABLE again. */
	nd_table_learn(&tb, &l, t + 5);
	cr_assert_eq(tb.e[0].state, ND_REACHABLE);
	tick_expect(t + RETRANS, NULL, 0, "answered");
	t += 5 + REACHABLE;
	tick_expect(t, z, 1, "stale again");
	tick_expect(t + RETRANS, z, 1, "stale probe 2");
	tick_expect(t + 2 * RETRANS, z, 1, "stale probe 3");
	cr_assert(usable(0, M_PEER));
	tick_expect(t + 3 * RETRANS - 1, NULL, 0, "waiting for the last answer");
	cr_assert(usable(0, M_PEER));

	/* No answer: FAILED, MAC gone (a worker now drops rather than send to it). */
	tick_expect(t + 3 * RETRANS, NULL, 0, "stale exhausted");
	cr_assert_eq(tb.e[0].state, ND_FAILED);
	cr_assert(!nd_table_mac(&tb, 0, mac), "failed entry still has a MAC");
	cr_assert_eq(tb.e[0].mac_word, 0);
	t += 3 * RETRANS;
	tick_expect(t + FAILED, z, 1, "failed probes again");
	tick_expect(t + FAILED + RETRANS, z, 1, "and again");

	/* A learn with a new MAC (the neighbour moved) replaces it. */
	l = learn4(A_PEER, M_OTHER);
	nd_table_learn(&tb, &l, t + FAILED + RETRANS + 1);
	cr_assert(usable(0, M_OTHER));
}

Test(neigh, table_static)
{
	uint8_t a[16], b[16];
	struct nd_learn l = learn4(A_PEER, M_OTHER);

	table();
	mapped(a, v4[A_PEER]);
	mapped(b, v4[A_OTHER]);
	cr_assert_eq(nd_table_add(&tb, 4, a, macs[M_PEER], 0), 0);
	cr_assert_eq(tb.e[0].state, ND_STATIC);
	cr_assert(usable(0, M_PEER), "static MAC usable at once");
	for (uint64_t t = 0; t < 10ull * REACHABLE; t += RETRANS / 2)
		tick_expect(t, NULL, 0, "static is never solicited");
	nd_table_learn(&tb, &l, 1);
	cr_assert(usable(0, M_PEER), "learn must not change a static MAC");
	cr_assert_eq(tb.e[0].state, ND_STATIC);

	/* Re-adding without a MAC keeps it static; a dynamic entry given a MAC becomes static. */
	cr_assert_eq(nd_table_add(&tb, 4, a, NULL, 5), 0);
	cr_assert_eq(tb.e[0].state, ND_STATIC);
	cr_assert_eq(nd_table_add(&tb, 4, b, NULL, 0), 1);
	cr_assert_eq(tb.e[1].state, ND_INCOMPLETE);
	cr_assert_eq(nd_table_add(&tb, 4, b, macs[M_OTHER], 0), 1);
	cr_assert_eq(tb.e[1].state, ND_STATIC);
	cr_assert(usable(1, M_OTHER));
	tick_expect(0, NULL, 0, "now static");
}

Test(neigh, table_add_find)
{
	uint8_t a[16], junk[16];

	table();
	cr_assert_eq(tb.nb, 0);
	mapped(a, v4[A_PEER]);
	/* Family 4 is keyed by addr[12..15] only. */
	memset(junk, 0x5a, 12);
	memcpy(junk + 12, v4[A_PEER], 4);
	cr_assert_eq(nd_table_add(&tb, 4, junk, NULL, 0), 0);
	cr_assert(memcmp(tb.e[0].addr, a, 16) == 0, "stored as ::ffff:a.b.c.d");
	cr_assert_eq(nd_table_add(&tb, 4, a, NULL, 0), 0, "same address, same index");
	cr_assert_eq(nd_table_find(&tb, 4, a), 0);
	cr_assert_eq(nd_table_find(&tb, 6, a), -1, "families are apart");
	cr_assert_eq(nd_table_add(&tb, 6, a, NULL, 0), 1);
	cr_assert_eq(nd_table_add(&tb, 6, v6[A_PEER], NULL, 0), 2);
	cr_assert_eq(nd_table_find(&tb, 6, v6[A_PEER]), 2);
	cr_assert_eq(nd_table_find(&tb, 6, v6[A_OTHER]), -1);
	cr_assert_eq(nd_table_add(&tb, 5, a, NULL, 0), -1, "family 5");
	cr_assert_eq(nd_table_add(&tb, 0, a, NULL, 0), -1, "family 0");
	cr_assert_eq(nd_table_add(&tb, 6, v6[A_OTHER], macs[M_ZERO], 0), -1, "zero static MAC");
	cr_assert_eq(nd_table_find(&tb, 6, v6[A_OTHER]), -1, "rejected add left an entry");
	cr_assert_eq(tb.nb, 3);
}

Test(neigh, table_full)
{
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	unsigned out[8];

	table();
	for (unsigned i = 0; i < ND_TABLE_MAX; i++) {
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		cr_assert_eq(nd_table_add(&tb, 6, a, NULL, 0), (int)i, "add %u", i);
	}
	a[13] = 1;
	cr_assert_eq(nd_table_add(&tb, 6, a, NULL, 0), -1, "full table accepted an entry");
	cr_assert_eq(nd_table_add(&tb, 6, a, macs[M_PEER], 0), -1, "full table accepted static");
	a[13] = 0;
	a[14] = 3;
	a[15] = 0xff;
	cr_assert_eq(nd_table_add(&tb, 6, a, NULL, 0), 1023, "existing entry in a full table");
	cr_assert_eq(tb.nb, ND_TABLE_MAX);

	/* Small out: the first 8 due now, the rest stay due for the next calls. */
	unsigned total = 0, n;

	while ((n = nd_table_tick(&tb, 0, out, 8)) > 0) {
		cr_assert(n <= 8);
		for (unsigned i = 0; i < n; i++)
			cr_assert_eq(out[i], total + i, "solicitation order");
		total += n;
	}
	cr_assert_eq(total, ND_TABLE_MAX, "every entry solicited once");
	cr_assert_eq(nd_table_tick(&tb, 0, out, 0), 0);
}

Test(neigh, table_out_full_keeps_entries_due)
{
	uint8_t a[16];
	unsigned out[2];

	table();
	for (unsigned i = 0; i < 3; i++) {
		mapped(a, (const uint8_t[4]){10, 0, 0, (uint8_t)(i + 1)});
		cr_assert_eq(nd_table_add(&tb, 4, a, NULL, 0), (int)i);
	}
	cr_assert_eq(nd_table_tick(&tb, 0, out, 2), 2);
	cr_assert(out[0] == 0 && out[1] == 1);
	cr_assert_eq(nd_table_tick(&tb, 0, out, 2), 1);
	cr_assert_eq(out[0], 2);
	cr_assert_eq(tb.e[2].probes, 1);
	/* Exhaustion needs no room in out: with max 0 the entries still fail on time. */
	cr_assert_eq(nd_table_tick(&tb, RETRANS, out, 0), 0);
	cr_assert_eq(nd_table_tick(&tb, 2 * RETRANS, out, 2), 2);
	cr_assert_eq(nd_table_tick(&tb, 2 * RETRANS, out, 2), 1);
	cr_assert_eq(tb.e[0].probes, 2, "an entry skipped for room is not counted as probed");
	cr_assert_eq(nd_table_tick(&tb, 10 * RETRANS, out, 0), 0);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(tb.e[i].state, ND_INCOMPLETE, "entry %u: %s", i,
		             nd_state_name(tb.e[i].state));
	cr_assert_eq(nd_table_tick(&tb, 10 * RETRANS, out, 2), 2);
	cr_assert_eq(nd_table_tick(&tb, 11 * RETRANS, out, 0), 0);
	cr_assert_eq(tb.e[0].state, ND_FAILED);
	cr_assert_eq(tb.e[1].state, ND_FAILED);
	cr_assert_eq(tb.e[2].state, ND_INCOMPLETE, "entry 2 still owes its third probe");
}

Test(neigh, table_learn_filters)
{
	uint8_t a[16], mac[6];
	struct nd_learn l;

	table();
	mapped(a, v4[A_PEER]);
	cr_assert_eq(nd_table_add(&tb, 4, a, NULL, 0), 0);
	l = learn4(A_OTHER, M_PEER);
	nd_table_learn(&tb, &l, 1);
	cr_assert_eq(tb.nb, 1, "learn added an entry");
	cr_assert(!nd_table_mac(&tb, 0, mac));
	l = learn4(A_PEER, M_ZERO);
	nd_table_learn(&tb, &l, 1);
	cr_assert(!nd_table_mac(&tb, 0, mac), "zero MAC learnt");
	l = learn4(A_PEER, M_MCAST);
	nd_table_learn(&tb, &l, 1);
	cr_assert(!nd_table_mac(&tb, 0, mac), "multicast MAC learnt");
	l = learn4(A_PEER, M_PEER);
	l.family = 6;
	nd_table_learn(&tb, &l, 1);
	cr_assert(!nd_table_mac(&tb, 0, mac), "wrong family learnt");
	l.family = 0;
	nd_table_learn(&tb, &l, 1); /* nd_handle's "nothing learnt" */
	cr_assert(!nd_table_mac(&tb, 0, mac));
	l = learn4(A_PEER, M_PEER);
	nd_table_learn(&tb, &l, 1);
	cr_assert(usable(0, M_PEER));
}

Test(neigh, table_timer_defaults)
{
	const struct nd_timers some = {.reachable = 7};

	nd_table_init(&tb, NULL);
	cr_assert_eq(tb.t.retrans, 1000000000ull);
	cr_assert_eq(tb.t.reachable, 30000000000ull);
	cr_assert_eq(tb.t.failed, 5000000000ull);
	cr_assert_eq(tb.t.max_probes, 3);
	nd_table_init(&tb, &some);
	cr_assert_eq(tb.t.reachable, 7);
	cr_assert_eq(tb.t.retrans, ND_RETRANS_NS_DEFAULT);
	cr_assert_eq(tb.t.max_probes, ND_MAX_PROBES_DEFAULT);
	cr_assert_eq(tb.nb, 0);
}

Test(neigh, state_names)
{
	cr_assert_str_eq(nd_state_name(ND_INCOMPLETE), "incomplete");
	cr_assert_str_eq(nd_state_name(ND_REACHABLE), "reachable");
	cr_assert_str_eq(nd_state_name(ND_STALE), "stale");
	cr_assert_str_eq(nd_state_name(ND_FAILED), "failed");
	cr_assert_str_eq(nd_state_name(ND_STATIC), "static");
	cr_assert_str_eq(nd_state_name(ND_STATIC + 1), "unknown");
	cr_assert_str_eq(nd_state_name(255), "unknown");
}
