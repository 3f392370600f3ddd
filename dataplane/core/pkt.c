/*
 * pkt.c - L2-L4 decoder: Ethernet (one VLAN tag) / IPv4 or IPv6 / UDP, into struct pkt_info.
 * Shared core: the dataplane runs it per packet on mbuf data, siphonctl on pcap records.
 * Every read is preceded by a check against the bytes the caller has; the decoder writes
 * nothing but *pi (the invariant: no offset stored in *pi ever exceeds len), and only
 * pkt_udp_csum_fill() writes to a frame: the two checksum bytes the decoder located.
 */
#include <stdbool.h>
#include <string.h>

#include "siphon/pkt.h"

#define ETH_HLEN       14u
#define VLAN_HLEN      4u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u /* 802.1Q C-tag */
#define ETHERTYPE_QINQ 0x88a8u /* 802.1ad S-tag */
#define ETHERTYPE_Q91  0x9100u /* pre-standard QinQ outer tag */
#define IPV4_HLEN_MIN  20u
#define IPV6_HLEN      40u
#define UDP_HLEN       8u

/* IP protocol numbers / IPv6 Next Header values (IANA). */
#define PROTO_HOPOPTS  0u
#define PROTO_UDP      17u
#define PROTO_ROUTING  43u
#define PROTO_FRAGMENT 44u
#define PROTO_DSTOPTS  60u

#define IPV4_MF_OFFSET_MASK 0x3fffu /* MF flag and fragment offset */

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static int
is_vlan_tpid(uint16_t type)
{
	return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_Q91;
}

static void
info_init(struct pkt_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->vlan = PKT_VLAN_NONE;
}

/*
 * One's complement sum of an IPv4 header (hlen a multiple of 4, as IHL makes it); 0xffff
 * when the checksum verifies. Summed a 32-bit word at a time in host order: the one's
 * complement sum is byte-order independent (RFC 1071 §2(B)), and all-ones reads the same
 * either way, so only the verdict is meaningful, not the value.
 */
static uint16_t
ipv4_csum(const uint8_t *h, size_t hlen)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < hlen; i += 4) {
		uint32_t w;

		memcpy(&w, h + i, 4);
		sum += w;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* UDP header at l4, IP datagram ending at ip_end (<= len, checked by the caller). */
static enum pkt_verdict
decode_udp(const uint8_t *b, size_t l4, size_t ip_end, struct pkt_info *pi)
{
	const uint8_t *u = b + l4;
	size_t ulen;

	pi->l4_off = (uint32_t)l4;
	if (ip_end - l4 < UDP_HLEN)
		return PKT_BAD_UDP_LENGTH;
	ulen = rd16(u + 4);
	if (ulen < UDP_HLEN || ulen > ip_end - l4)
		return PKT_BAD_UDP_LENGTH;
	pi->src_port = rd16(u);
	pi->dst_port = rd16(u + 2);
	if (pi->ip_version == 6 && rd16(u + 6) == 0)
		return PKT_UDP_ZERO_CHECKSUM;
	pi->payload_off = (uint32_t)(l4 + UDP_HLEN);
	pi->payload_len = (uint16_t)(ulen - UDP_HLEN);
	return PKT_OK;
}

static enum pkt_verdict
decode_ipv4(const uint8_t *b, size_t len, size_t off, unsigned flags, struct pkt_info *pi)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	const uint8_t *ip = b + off;
	size_t avail = len - off;
	size_t hlen, tot;

	pi->l3_off = (uint32_t)off;
	if (avail < IPV4_HLEN_MIN)
		return PKT_TRUNCATED;
	if (ip[0] >> 4 != 4)
		return PKT_BAD_IPV4_HEADER;
	hlen = (size_t)(ip[0] & 0x0fu) * 4u;
	if (hlen < IPV4_HLEN_MIN)
		return PKT_BAD_IPV4_HEADER;
	if (avail < hlen)
		return PKT_TRUNCATED;
	if (!(flags & PKT_F_NO_CSUM) && ipv4_csum(ip, hlen) != 0xffffu)
		return PKT_BAD_IPV4_CHECKSUM;
	tot = rd16(ip + 2);
	if (tot < hlen)
		return PKT_BAD_IP_LENGTH;
	if (tot > avail)
		return PKT_TRUNCATED;

	pi->ip_version = 4;
	pi->l4_proto = ip[9];
	memcpy(pi->src, mapped, sizeof(mapped));
	memcpy(pi->src + 12, ip + 12, 4);
	memcpy(pi->dst, mapped, sizeof(mapped));
	memcpy(pi->dst + 12, ip + 16, 4);
	if (rd16(ip + 6) & IPV4_MF_OFFSET_MASK) {
		pi->frag_id = rd16(ip + 4);
		pi->frag_data_off = (uint32_t)(off + hlen);
		pi->frag_off = (uint16_t)((rd16(ip + 6) & 0x1fffu) * 8u);
		pi->frag_len = (uint16_t)(tot - hlen);
		pi->frag_more = (ip[6] & 0x20u) != 0;
		return PKT_FRAGMENT;
	}
	if (ip[9] != PROTO_UDP) {
		pi->l4_off = (uint32_t)(off + hlen);
		return PKT_NOT_UDP;
	}
	return decode_udp(b, off + hlen, off + tot, pi);
}

static enum pkt_verdict
decode_ipv6(const uint8_t *b, size_t len, size_t off, struct pkt_info *pi)
{
	const uint8_t *ip = b + off;
	size_t avail = len - off;
	size_t end, p;
	uint8_t nh;

	pi->l3_off = (uint32_t)off;
	if (avail < IPV6_HLEN)
		return PKT_TRUNCATED;
	if (ip[0] >> 4 != 6)
		return PKT_BAD_IPV6_HEADER;
	/* Payload length 0 would announce a jumbogram (RFC 2675); it then holds no UDP header. */
	if (rd16(ip + 4) > avail - IPV6_HLEN)
		return PKT_TRUNCATED;

	pi->ip_version = 6;
	memcpy(pi->src, ip + 8, 16);
	memcpy(pi->dst, ip + 24, 16);
	end = off + IPV6_HLEN + rd16(ip + 4);
	p = off + IPV6_HLEN;
	nh = ip[6];
	/* Each extension header is >= 8 bytes and must end within the payload. */
	for (unsigned n = 0;; n++) {
		size_t elen;

		pi->l4_proto = nh;
		switch (nh) {
		case PROTO_UDP:
			return decode_udp(b, p, end, pi);
		case PROTO_FRAGMENT: {
			uint16_t om;

			/* Once only, like every extension header but destination options. */
			if (n == PKT_IPV6_MAX_EXT || end - p < 8)
				return PKT_BAD_IPV6_EXT;
			om = rd16(b + p + 2);
			nh = b[p];
			/* An atomic fragment (RFC 6946 §4): the whole datagram, as if unfragmented.
			 */
			if ((om & 0xfff9u) == 0) {
				p += 8;
				break;
			}
			pi->l4_proto = nh;
			pi->frag_id = (uint32_t)rd16(b + p + 4) << 16 | rd16(b + p + 6);
			pi->frag_data_off = (uint32_t)(p + 8);
			pi->frag_off = (uint16_t)(om & 0xfff8u);
			pi->frag_len = (uint16_t)(end - p - 8);
			pi->frag_more = (om & 1u) != 0;
			return PKT_FRAGMENT;
		}
		case PROTO_HOPOPTS:
			/* RFC 8200 §4.3: only right after the IPv6 header. */
			if (n != 0)
				return PKT_BAD_IPV6_EXT;
			/* fall through */
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
			if (n == PKT_IPV6_MAX_EXT || end - p < 8)
				return PKT_BAD_IPV6_EXT;
			elen = ((size_t)b[p + 1] + 1) * 8;
			if (end - p < elen)
				return PKT_BAD_IPV6_EXT;
			nh = b[p];
			p += elen;
			break;
		default:
			pi->l4_off = (uint32_t)p;
			return PKT_NOT_UDP;
		}
	}
}

enum pkt_verdict
pkt_decode_flags(const uint8_t *frame, size_t len, unsigned flags, struct pkt_info *pi)
{
	size_t off = ETH_HLEN;
	uint16_t type;

	info_init(pi);
	if (len < ETH_HLEN)
		return PKT_TRUNCATED;
	type = rd16(frame + 12);
	if (is_vlan_tpid(type)) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return PKT_TRUNCATED;
		pi->vlan = rd16(frame + 14) & 0x0fffu;
		type = rd16(frame + 16);
		off += VLAN_HLEN;
		if (is_vlan_tpid(type))
			return PKT_VLAN_STACKED;
	}
	switch (type) {
	case ETHERTYPE_IPV4:
		return decode_ipv4(frame, len, off, flags, pi);
	case ETHERTYPE_IPV6:
		return decode_ipv6(frame, len, off, pi);
	default:
		return PKT_NOT_IP;
	}
}

enum pkt_verdict
pkt_decode(const uint8_t *frame, size_t len, struct pkt_info *pi)
{
	return pkt_decode_flags(frame, len, 0, pi);
}

enum pkt_verdict
pkt_decode_ip_flags(const uint8_t *ip, size_t len, unsigned flags, struct pkt_info *pi)
{
	info_init(pi);
	if (len < 1)
		return PKT_TRUNCATED;
	switch (ip[0] >> 4) {
	case 4:
		return decode_ipv4(ip, len, 0, flags, pi);
	case 6:
		return decode_ipv6(ip, len, 0, pi);
	default:
		return PKT_NOT_IP;
	}
}

enum pkt_verdict
pkt_decode_ip(const uint8_t *ip, size_t len, struct pkt_info *pi)
{
	return pkt_decode_ip_flags(ip, len, 0, pi);
}

/* ---- UDP checksum (RFC 768; RFC 8200 §8.1 for IPv6) ---- */

/* Add n bytes at p to a one's complement accumulator, 8 bytes at a time in host order
 * (RFC 1071 §2(B): the sum is byte-order independent once folded and stored back the
 * same way). p's offset from the UDP header must be even, so bytes pair as the wire's
 * 16-bit words; an odd last byte is the high half of a word padded with zero. */
static uint64_t
csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		acc += w;
		acc += acc < w; /* end-around carry */
	}
	if (n >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		acc += v;
		acc += acc < v;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		acc += v;
		acc += acc < v;
		p += 2;
		n -= 2;
	}
	if (n == 1) {
		uint8_t last[2] = {p[0], 0};
		uint16_t v;

		memcpy(&v, last, 2);
		acc += v;
		acc += acc < v;
	}
	return acc;
}

/* Fold to 16 bits, still in host order of the wire's bytes. */
static uint16_t
csum_fold(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

/* The checksum field's bytes as they belong on the wire, in host order (memcpy them). */
static uint16_t
udp_csum_raw(const uint8_t *b, const struct pkt_info *pi)
{
	const uint8_t *u = b + pi->l4_off;
	size_t ulen = (size_t)pi->payload_len + UDP_HLEN;
	uint8_t ph[8] = {0, 0, 0, PROTO_UDP, 0, 0, (uint8_t)(ulen >> 8), (uint8_t)ulen};
	uint64_t acc = 0;
	uint16_t sum;

	/* Pseudo-header: addresses, then protocol and UDP length; IPv4's 12 bytes and IPv6's
	 * 40 sum alike as 16-bit words (zero bytes add nothing). */
	if (pi->ip_version == 4) {
		acc = csum_add(acc, pi->src + 12, 4);
		acc = csum_add(acc, pi->dst + 12, 4);
	} else {
		acc = csum_add(acc, pi->src, 16);
		acc = csum_add(acc, pi->dst, 16);
	}
	acc = csum_add(acc, ph, sizeof(ph));
	acc = csum_add(acc, u, 6); /* ports and length; the checksum field counts as zero */
	acc = csum_add(acc, u + UDP_HLEN, ulen - UDP_HLEN);
	sum = (uint16_t)~csum_fold(acc);
	return sum != 0 ? sum : 0xffffu; /* 0 would mean "no checksum" (all-ones either way) */
}

uint16_t
pkt_udp_csum(const uint8_t *base, const struct pkt_info *pi)
{
	uint16_t raw = udp_csum_raw(base, pi);
	uint8_t w[2];

	memcpy(w, &raw, 2);
	return rd16(w);
}

bool
pkt_udp_csum_ok(const uint8_t *base, const struct pkt_info *pi)
{
	const uint8_t *f = base + pi->l4_off + 6;
	uint16_t raw = udp_csum_raw(base, pi);

	/* IPv4 may send none (RFC 768); IPv6 zero never reaches here (PKT_UDP_ZERO_CHECKSUM). */
	if (pi->ip_version == 4 && f[0] == 0 && f[1] == 0)
		return true;
	return memcmp(f, &raw, 2) == 0;
}

bool
pkt_udp_csum_fill(uint8_t *base, const struct pkt_info *pi)
{
	uint8_t *f = base + pi->l4_off + 6;
	uint16_t raw = udp_csum_raw(base, pi);

	if (memcmp(f, &raw, 2) == 0)
		return false;
	memcpy(f, &raw, 2);
	return true;
}

static const struct {
	const char *name;
	const char *str;
} verdicts[PKT_VERDICT_COUNT] = {
        [PKT_OK] = {"ok", "UDP datagram ready for the SIP scanner"},
        [PKT_TRUNCATED] = {"truncated",
                           "frame ends inside a header or before the IP datagram ends"},
        [PKT_NOT_IP] = {"not_ip", "not IPv4 or IPv6"},
        [PKT_VLAN_STACKED] = {"vlan_stacked", "more than one VLAN tag"},
        [PKT_BAD_IPV4_HEADER] = {"bad_ipv4_header", "IPv4 version or header length invalid"},
        [PKT_BAD_IPV4_CHECKSUM] = {"bad_ipv4_checksum", "IPv4 header checksum mismatch"},
        [PKT_BAD_IP_LENGTH] = {"bad_ip_length", "IPv4 total length shorter than its header"},
        [PKT_BAD_IPV6_HEADER] = {"bad_ipv6_header", "IPv6 version invalid"},
        [PKT_BAD_IPV6_EXT] = {"bad_ipv6_ext",
                              "IPv6 extension header past the payload, misplaced or too many"},
        [PKT_FRAGMENT] = {"fragment", "IP fragment not reassembled (not UDP, or reassembly off)"},
        [PKT_NOT_UDP] = {"not_udp", "transport is not UDP"},
        [PKT_BAD_UDP_LENGTH] = {"bad_udp_length", "UDP length inconsistent with the IP payload"},
        [PKT_UDP_ZERO_CHECKSUM] = {"udp_zero_checksum", "UDP over IPv6 with a zero checksum"},
};

const char *
pkt_verdict_name(enum pkt_verdict v)
{
	if ((unsigned)v >= PKT_VERDICT_COUNT)
		return "unknown";
	return verdicts[v].name;
}

const char *
pkt_verdict_str(enum pkt_verdict v)
{
	if ((unsigned)v >= PKT_VERDICT_COUNT)
		return "unknown packet verdict";
	return verdicts[v].str;
}
