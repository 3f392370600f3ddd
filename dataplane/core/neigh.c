/*
 * neigh.c - ARP and IPv6 Neighbor Discovery: in-place replies, learning, builders, and the
 * neighbour table (see neigh.h). nd_handle() runs on workers per received ARP/ICMPv6 frame;
 * the builders and nd_table_*() run on the main lcore, which alone writes the table.
 * Invariants: every read of a frame is preceded by a check against len, every write by one
 * against room; the only field workers read, mac_word, is stored with release semantics.
 */
#include <string.h>

#include "siphon/neigh.h"

#define ETH_HLEN       14u
#define VLAN_HLEN      4u
#define ETHERTYPE_ARP  0x0806u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u /* 802.1Q C-tag */
#define ETHERTYPE_QINQ 0x88a8u /* 802.1ad S-tag */
#define ETHERTYPE_Q91  0x9100u /* pre-standard QinQ outer tag */

/* ARP for Ethernet/IPv4 (RFC 826): the only form we speak. */
#define ARP_LEN        28u
#define ARP_HTYPE_ETH  1u
#define ARP_OP_REQUEST 1u
#define ARP_OP_REPLY   2u
#define ETH_MIN_FRAME  60u /* 802.3 minimum without FCS: builders pad to it */

/* IPv6 and ND (RFC 8200, RFC 4861). */
#define IPV6_HLEN        40u
#define PROTO_ICMPV6     58u
#define ND_HOP_LIMIT     255u
#define ICMP6_NS         135u
#define ICMP6_NA         136u
#define ND_MSG_LEN       24u /* type, code, checksum, 4 bytes flags/reserved, target */
#define ND_OPT_SLLA      1u
#define ND_OPT_TLLA      2u
#define ND_OPT_LL_LEN    8u /* a link-layer address option for a 6-byte MAC, in bytes */
#define NA_FLAG_SOLICIT  0x40u
#define NA_FLAG_OVERRIDE 0x20u
#define NA_LEN           (ND_MSG_LEN + ND_OPT_LL_LEN) /* what we send */

#define MAC_WORD_VALID (1ull << 63)

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_all_nodes[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
static const uint8_t ip6_all_nodes[16] = {0xff, 0x02, [15] = 0x01};
static const uint8_t ip6_any[16];
static const uint8_t v4mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

/* ---- byte helpers ---- */

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void
wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool
is_vlan_tpid(uint16_t type)
{
	return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_Q91;
}

/* A MAC we may send to or learn: not multicast/broadcast (I/G bit) and not all zero. */
static bool
mac_usable(const uint8_t *m)
{
	return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0;
}

static bool
ip4_zero(const uint8_t *a)
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

static bool
ip6_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

/* ff02::1:ffXX:XXXX for target (RFC 4291 §2.7.1). */
static void
solicited_node(uint8_t out[16], const uint8_t target[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, pfx, sizeof(pfx));
	memcpy(out + 13, target + 13, 3);
}

/* Is a (4 bytes for family 4, 16 for 6) one of self's addresses? */
static bool
is_self(const struct nd_self *self, uint8_t family, const uint8_t *a)
{
	unsigned n = self->nb_addrs < ND_SELF_MAX ? self->nb_addrs : ND_SELF_MAX;

	for (unsigned i = 0; i < n; i++) {
		if (self->family[i] != family)
			continue;
		if (family == 4 ? memcmp(self->addr[i] + 12, a, 4) == 0
		                : memcmp(self->addr[i], a, 16) == 0)
			return true;
	}
	return false;
}

static void
learn_set(struct nd_learn *l, uint8_t family, const uint8_t *addr, const uint8_t *mac)
{
	l->family = family;
	if (family == 4) {
		memcpy(l->addr, v4mapped_prefix, 12);
		memcpy(l->addr + 12, addr, 4);
	} else {
		memcpy(l->addr, addr, 16);
	}
	memcpy(l->mac, mac, 6);
}

/* ---- ICMPv6 checksum (RFC 8200 §8.1 pseudo-header) ---- */

static uint32_t
sum_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += rd16(p + i);
	if (i < n) /* odd length: pad with a zero byte */
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * One's complement sum of the pseudo-header (addresses at ip + 8, upper-layer length n,
 * next header 58) and the n message bytes at icmp: 0xffff when a checksum in them verifies.
 * n <= 0xffff (an IPv6 payload length), so the 32-bit sum cannot overflow.
 */
static uint16_t
icmp6_sum(const uint8_t *ip, const uint8_t *icmp, size_t n)
{
	uint32_t sum = sum_bytes(0, ip + 8, 32);

	sum += (uint32_t)n + PROTO_ICMPV6;
	return fold(sum_bytes(sum, icmp, n));
}

static void
icmp6_set_csum(const uint8_t *ip, uint8_t *icmp, size_t n)
{
	wr16(icmp + 2, 0);
	wr16(icmp + 2, (uint16_t)~icmp6_sum(ip, icmp, n));
}

/* IPv6 header with payload length plen, ICMPv6, hop limit 255. */
static void
ip6_header(uint8_t *ip, size_t plen, const uint8_t src[16], const uint8_t dst[16])
{
	memset(ip, 0, 4); /* version 6, traffic class 0, flow label 0 */
	ip[0] = 0x60;
	wr16(ip + 4, (unsigned)plen);
	ip[6] = PROTO_ICMPV6;
	ip[7] = ND_HOP_LIMIT;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

/* NA (24 bytes + TLLA option) for target at icmp; flags as NA_FLAG_*. Checksum left to caller. */
static void
na_body(uint8_t *icmp, uint8_t flags, const uint8_t target[16], const uint8_t mac[6])
{
	icmp[0] = ICMP6_NA;
	icmp[1] = 0;
	wr16(icmp + 2, 0);
	icmp[4] = flags;
	memset(icmp + 5, 0, 3);
	memcpy(icmp + 8, target, 16);
	icmp[24] = ND_OPT_TLLA;
	icmp[25] = 1; /* in units of 8 bytes */
	memcpy(icmp + 26, mac, 6);
}

/* ---- nd_handle: ARP ---- */

static enum nd_action
handle_arp(uint8_t *f, size_t l2, size_t len, const struct nd_self *self, struct nd_learn *learn,
           bool own)
{
	uint8_t *a = f + l2;
	uint8_t sha[6], spa[4], tpa[4];
	unsigned op;

	if (len - l2 < ARP_LEN)
		return ND_DROP;
	if (rd16(a) != ARP_HTYPE_ETH || rd16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return ND_DROP;
	op = rd16(a + 6);
	if ((op != ARP_OP_REQUEST && op != ARP_OP_REPLY) || own)
		return ND_DROP;
	memcpy(sha, a + 8, 6);
	memcpy(spa, a + 14, 4);
	memcpy(tpa, a + 24, 4);
	/*
	 * A sender claiming one of our addresses is a conflict (or our own frame): neither
	 * answered nor learnt, so a neighbour can never be taught to shadow us.
	 */
	if (!ip4_zero(spa) && is_self(self, 4, spa))
		return ND_DROP;

	if (op == ARP_OP_REQUEST && is_self(self, 4, tpa)) {
		if (!mac_usable(sha)) /* nowhere to send the reply */
			return ND_DROP;
		if (!ip4_zero(spa)) /* not a probe (RFC 5227): the requester is reachable */
			learn_set(learn, 4, spa, sha);
		memcpy(f, sha, 6);
		memcpy(f + 6, self->mac, 6);
		wr16(a + 6, ARP_OP_REPLY);
		memcpy(a + 8, self->mac, 6);
		memcpy(a + 14, tpa, 4);
		memcpy(a + 18, sha, 6);
		memcpy(a + 24, spa, 4);
		/* Padding came from the requester; send zeros rather than echo it. */
		memset(a + ARP_LEN, 0, len - l2 - ARP_LEN);
		return ND_REPLY;
	}
	if (ip4_zero(spa) || !mac_usable(sha))
		return ND_DROP;
	learn_set(learn, 4, spa, sha);
	return ND_LEARN;
}

/* ---- nd_handle: IPv6 NS / NA ---- */

/*
 * Walk the options of an NS/NA (opt, n bytes): every option needs a non-zero length that
 * fits (RFC 4861 §7.1). *ll points at the MAC of the first option of type want, if any.
 */
static bool
nd_options(const uint8_t *opt, size_t n, uint8_t want, const uint8_t **ll)
{
	*ll = NULL;
	while (n > 0) {
		size_t olen;

		if (n < 2)
			return false;
		olen = (size_t)opt[1] * 8;
		if (olen == 0 || olen > n)
			return false;
		if (opt[0] == want && *ll == NULL) {
			if (olen != ND_OPT_LL_LEN) /* Ethernet: exactly one 8-byte unit */
				return false;
			*ll = opt + 2;
		}
		opt += olen;
		n -= olen;
	}
	return true;
}

static bool
is_solicited_node(const uint8_t dst[16], const uint8_t target[16])
{
	uint8_t sn[16];

	solicited_node(sn, target);
	return memcmp(dst, sn, 16) == 0;
}

static enum nd_action
handle_nd(uint8_t *f, size_t l2, size_t len, size_t room, const struct nd_self *self,
          struct nd_learn *learn, size_t *out_len, bool own)
{
	uint8_t *ip = f + l2;
	uint8_t *icmp = ip + IPV6_HLEN;
	const uint8_t *ll;
	size_t plen;
	uint8_t type;

	if (len - l2 < IPV6_HLEN + 1 || (ip[0] >> 4) != 6 || ip[6] != PROTO_ICMPV6)
		return ND_NONE; /* not ND, or cut before we can tell: pkt_decode() says why */
	type = icmp[0];
	if (type != ICMP6_NS && type != ICMP6_NA)
		return ND_NONE;

	/* From here on the frame is an NS or NA: any defect drops it. */
	if (own)
		return ND_DROP;
	plen = rd16(ip + 4);
	if (plen > len - l2 - IPV6_HLEN || plen < ND_MSG_LEN)
		return ND_DROP;
	if (ip[7] != ND_HOP_LIMIT || icmp[1] != 0 || icmp6_sum(ip, icmp, plen) != 0xffff)
		return ND_DROP;
	if (ip6_multicast(ip + 8) || ip6_multicast(icmp + 8))
		return ND_DROP;
	if (!nd_options(icmp + ND_MSG_LEN, plen - ND_MSG_LEN,
	                type == ICMP6_NS ? ND_OPT_SLLA : ND_OPT_TLLA, &ll))
		return ND_DROP;

	if (type == ICMP6_NA) {
		/* S set on a multicast NA is invalid (§7.1.2); the target must not be ours. */
		if ((ip6_multicast(ip + 24) && (icmp[4] & NA_FLAG_SOLICIT)) ||
		    is_self(self, 6, icmp + 8) || ll == NULL || !mac_usable(ll))
			return ND_DROP;
		learn_set(learn, 6, icmp + 8, ll);
		return ND_LEARN;
	}

	bool dad = memcmp(ip + 8, ip6_any, 16) == 0;
	uint8_t src[16], target[16], dmac[6];

	/* DAD: to the solicited-node group and without SLLA (§7.1.1). */
	if (dad && (ll != NULL || !is_solicited_node(ip + 24, icmp + 8)))
		return ND_DROP;
	if (!dad && is_self(self, 6, ip + 8)) /* someone uses our address: conflict */
		return ND_DROP;
	if (!dad && ll != NULL && !mac_usable(ll))
		return ND_DROP;
	if (!is_self(self, 6, icmp + 8)) {
		if (dad || ll == NULL)
			return ND_DROP;
		learn_set(learn, 6, ip + 8, ll);
		return ND_LEARN;
	}

	/* For us: answer the SLLA if given, else the frame's sender; DAD to all-nodes. */
	if (dad)
		memcpy(dmac, mac_all_nodes, 6);
	else
		memcpy(dmac, ll != NULL ? ll : f + 6, 6);
	if (!dad && !mac_usable(dmac))
		return ND_DROP;
	if (l2 + IPV6_HLEN + NA_LEN > room)
		return ND_DROP;
	if (!dad && ll != NULL)
		learn_set(learn, 6, ip + 8, ll);
	memcpy(src, ip + 8, 16);
	memcpy(target, icmp + 8, 16);

	memcpy(f, dmac, 6);
	memcpy(f + 6, self->mac, 6);
	ip6_header(ip, NA_LEN, target, dad ? ip6_all_nodes : src);
	na_body(icmp, dad ? NA_FLAG_OVERRIDE : NA_FLAG_SOLICIT | NA_FLAG_OVERRIDE, target,
	        self->mac);
	icmp6_set_csum(ip, icmp, NA_LEN);
	*out_len = l2 + IPV6_HLEN + NA_LEN;
	return ND_REPLY;
}

enum nd_action
nd_handle(uint8_t *frame, size_t len, size_t room, const struct nd_self *self,
          struct nd_learn *learn, size_t *out_len)
{
	size_t l2 = ETH_HLEN;
	uint16_t type;

	memset(learn, 0, sizeof(*learn));
	*out_len = len;
	if (room < len)
		room = len;
	if (len < ETH_HLEN)
		return ND_NONE;
	type = rd16(frame + 12);
	if (is_vlan_tpid(type)) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return ND_NONE;
		type = rd16(frame + 16);
		l2 += VLAN_HLEN;
	}
	if (type != ETHERTYPE_ARP && type != ETHERTYPE_IPV6)
		return ND_NONE;

	/*
	 * Our own frame looped back (a switch reflecting a broadcast, two ports on one
	 * segment): answering or learning it would teach us our own MAC.
	 */
	bool own = memcmp(frame + 6, self->mac, 6) == 0;

	if (type == ETHERTYPE_ARP)
		return handle_arp(frame, l2, len, self, learn, own);
	return handle_nd(frame, l2, len, room, self, learn, out_len, own);
}

/* ---- builders (main lcore) ---- */

static size_t
eth_header(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], unsigned type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	wr16(buf + 12, type);
	return ETH_HLEN;
}

/* Broadcast ARP request; sender/target as 16-byte IPv4-mapped addresses. */
static size_t
arp_request(uint8_t *buf, const uint8_t mac[6], const uint8_t *spa, const uint8_t *tpa)
{
	uint8_t *a = buf + eth_header(buf, mac_bcast, mac, ETHERTYPE_ARP);

	wr16(a, ARP_HTYPE_ETH);
	wr16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, ARP_OP_REQUEST);
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, spa + 12, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tpa + 12, 4);
	/* Pad to the Ethernet minimum ourselves: not every PMD does it for short frames. */
	memset(a + ARP_LEN, 0, ETH_MIN_FRAME - ETH_HLEN - ARP_LEN);
	return ETH_MIN_FRAME;
}

size_t
nd_build_arp_request(uint8_t *buf, const uint8_t mac[6], const uint8_t sender[16],
                     const uint8_t target[16])
{
	return arp_request(buf, mac, sender, target);
}

size_t
nd_build_garp(uint8_t *buf, const uint8_t mac[6], const uint8_t addr[16])
{
	return arp_request(buf, mac, addr, addr);
}

size_t
nd_build_ns(uint8_t *buf, const uint8_t mac[6], const uint8_t src[16], const uint8_t target[16])
{
	uint8_t emac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
	uint8_t dst[16];
	/* A DAD probe (source ::) must not carry SLLA (RFC 4861 §7.2.2). */
	size_t n = memcmp(src, ip6_any, 16) == 0 ? ND_MSG_LEN : ND_MSG_LEN + ND_OPT_LL_LEN;
	uint8_t *ip = buf + eth_header(buf, emac, mac, ETHERTYPE_IPV6);
	uint8_t *icmp = ip + IPV6_HLEN;

	solicited_node(dst, target);
	ip6_header(ip, n, src, dst);
	icmp[0] = ICMP6_NS;
	icmp[1] = 0;
	memset(icmp + 2, 0, 6); /* checksum, reserved */
	memcpy(icmp + 8, target, 16);
	if (n > ND_MSG_LEN) {
		icmp[24] = ND_OPT_SLLA;
		icmp[25] = 1;
		memcpy(icmp + 26, mac, 6);
	}
	icmp6_set_csum(ip, icmp, n);
	return ETH_HLEN + IPV6_HLEN + n;
}

size_t
nd_build_unsolicited_na(uint8_t *buf, const uint8_t mac[6], const uint8_t addr[16])
{
	uint8_t *ip = buf + eth_header(buf, mac_all_nodes, mac, ETHERTYPE_IPV6);
	uint8_t *icmp = ip + IPV6_HLEN;

	ip6_header(ip, NA_LEN, addr, ip6_all_nodes);
	/* Unsolicited: S clear (required to a multicast group), O set to replace cached MACs. */
	na_body(icmp, NA_FLAG_OVERRIDE, addr, mac);
	icmp6_set_csum(ip, icmp, NA_LEN);
	return ETH_HLEN + IPV6_HLEN + NA_LEN;
}

/* ---- the table (main lcore writes; workers read mac_word) ---- */

static uint64_t
mac_word(const uint8_t mac[6])
{
	uint64_t w = MAC_WORD_VALID;

	for (int i = 0; i < 6; i++)
		w |= (uint64_t)mac[i] << (40 - 8 * i);
	return w;
}

static void
set_mac_word(struct nd_entry *e, uint64_t w)
{
	/* Release: a worker that sees the word sees a complete MAC, never a torn one. */
	__atomic_store_n(&e->mac_word, w, __ATOMIC_RELEASE);
}

/* The table's form of an address: family 4 as ::ffff:a.b.c.d whatever addr[0..11] held. */
static void
canon_addr(uint8_t out[16], uint8_t family, const uint8_t addr[16])
{
	if (family == 4) {
		memcpy(out, v4mapped_prefix, 12);
		memcpy(out + 12, addr + 12, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

void
nd_table_init(struct nd_table *tb, const struct nd_timers *t)
{
	memset(tb, 0, sizeof(*tb));
	if (t != NULL)
		tb->t = *t;
	if (tb->t.retrans == 0)
		tb->t.retrans = ND_RETRANS_NS_DEFAULT;
	if (tb->t.reachable == 0)
		tb->t.reachable = ND_REACHABLE_NS_DEFAULT;
	if (tb->t.failed == 0)
		tb->t.failed = ND_FAILED_NS_DEFAULT;
	if (tb->t.max_probes == 0)
		tb->t.max_probes = ND_MAX_PROBES_DEFAULT;
	if (tb->t.max_probes > UINT8_MAX) /* nd_entry.probes counts them in a byte */
		tb->t.max_probes = UINT8_MAX;
}

int
nd_table_find(const struct nd_table *tb, uint8_t family, const uint8_t addr[16])
{
	uint8_t a[16];

	if (family != 4 && family != 6)
		return -1;
	canon_addr(a, family, addr);
	for (unsigned i = 0; i < tb->nb && i < ND_TABLE_MAX; i++)
		if (tb->e[i].family == family && memcmp(tb->e[i].addr, a, 16) == 0)
			return (int)i;
	return -1;
}

int
nd_table_add(struct nd_table *tb, uint8_t family, const uint8_t addr[16], const uint8_t *mac,
             uint64_t now)
{
	static const uint8_t zero[6];
	struct nd_entry *e;
	int i;

	if ((family != 4 && family != 6) || (mac != NULL && memcmp(mac, zero, 6) == 0))
		return -1;
	i = nd_table_find(tb, family, addr);
	if (i < 0) {
		if (tb->nb >= ND_TABLE_MAX)
			return -1;
		i = (int)tb->nb;
		e = &tb->e[i];
		memset(e, 0, sizeof(*e));
		e->family = family;
		canon_addr(e->addr, family, addr);
		e->state = ND_INCOMPLETE;
		e->next_ns = now; /* solicited by the next tick */
		tb->nb++;
	}
	e = &tb->e[i];
	if (mac != NULL) {
		e->state = ND_STATIC;
		e->probes = 0;
		set_mac_word(e, mac_word(mac));
	}
	return i;
}

void
nd_table_learn(struct nd_table *tb, const struct nd_learn *l, uint64_t now)
{
	int i = nd_table_find(tb, l->family, l->addr);
	struct nd_entry *e;

	if (i < 0 || !mac_usable(l->mac))
		return;
	e = &tb->e[i];
	if (e->state == ND_STATIC)
		return;
	set_mac_word(e, mac_word(l->mac));
	e->state = ND_REACHABLE;
	e->probes = 0;
	e->next_ns = now + tb->t.reachable;
}

/* Retries exhausted: the MAC goes away first, then the back-off starts. */
static void
entry_fail(struct nd_entry *e, const struct nd_timers *t, uint64_t now)
{
	set_mac_word(e, 0);
	e->state = ND_FAILED;
	e->probes = 0;
	e->next_ns = now + t->failed;
}

unsigned
nd_table_tick(struct nd_table *tb, uint64_t now, unsigned *out, unsigned max)
{
	const struct nd_timers *t = &tb->t;
	unsigned n = 0;

	for (unsigned i = 0; i < tb->nb && i < ND_TABLE_MAX; i++) {
		struct nd_entry *e = &tb->e[i];

		if (e->state == ND_STATIC || now < e->next_ns)
			continue;
		if ((e->state == ND_INCOMPLETE || e->state == ND_STALE) &&
		    e->probes >= t->max_probes) {
			entry_fail(e, t, now);
			continue;
		}
		if (n >= max) /* due, but no room: stays due for the next call */
			continue;
		switch (e->state) {
		case ND_REACHABLE: /* the MAC stays usable while being confirmed */
			e->state = ND_STALE;
			e->probes = 0;
			break;
		case ND_FAILED:
			e->state = ND_INCOMPLETE;
			e->probes = 0;
			break;
		default:
			break;
		}
		e->probes++; /* <= max_probes <= UINT8_MAX */
		e->next_ns = now + t->retrans;
		out[n++] = i;
	}
	return n;
}

const char *
nd_state_name(uint8_t state)
{
	static const char *const names[] = {
	        [ND_INCOMPLETE] = "incomplete", [ND_REACHABLE] = "reachable", [ND_STALE] = "stale",
	        [ND_FAILED] = "failed",         [ND_STATIC] = "static",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}
