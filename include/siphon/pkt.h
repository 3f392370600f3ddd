/**
 * @file pkt.h
 * L2-L4 packet decoder: Ethernet II (at most one VLAN tag), IPv4 or IPv6, UDP.
 *
 * pkt_decode() checks every header a frame announces against the bytes it
 * has and fills a struct pkt_info of offsets, addresses and ports; the UDP
 * payload it points at is what sip_parse() reads next. It never reads past
 * len, never writes to the frame and never allocates; its work is bounded by
 * the header bytes it walks. A frame it cannot hand to SIP gets a precise
 * enum pkt_verdict, one per defect, each with a counter name. It does no IP
 * reassembly: a fragment gets PKT_FRAGMENT with its place in the datagram
 * (pkt_info.frag_*) for the dataplane's fragment table (dataplane/frag.h), and
 * an IPv6 atomic fragment (offset 0, M clear: RFC 6946) is decoded as the
 * unfragmented datagram it is. It does no UDP checksum verification;
 * pkt_udp_csum_ok() and pkt_udp_csum_fill() do that apart, for the ports
 * configured to (a port's udp_checksum). Pure C, no DPDK: the dataplane runs it on mbuf
 * data, siphonctl on pcap records (through the _flags variants, which can
 * leave the IPv4 header checksum unverified, as offline tools must for
 * captures taken on a sending host whose NIC fills it in).
 */
#ifndef SIPHON_PKT_H
#define SIPHON_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** pkt_info.vlan of an untagged frame (real VLAN IDs are 12 bits). */
#define PKT_VLAN_NONE 0xffffu

/** Most IPv6 extension headers walked before the UDP header; more is PKT_BAD_IPV6_EXT. */
#define PKT_IPV6_MAX_EXT 8

/**
 * Outcome of pkt_decode(). Checks run outside-in (Ethernet, VLAN, IP, UDP)
 * and the first defect met is reported, so every strict prefix of a valid
 * frame that ends before its IP datagram does gets PKT_TRUNCATED.
 */
enum pkt_verdict {
	PKT_OK = 0,            /**< UDP datagram ready for the SIP scanner */
	PKT_TRUNCATED,         /**< frame ends inside a header or before the IP length's end */
	PKT_NOT_IP,            /**< EtherType (or IP version nibble) neither IPv4 nor IPv6 */
	PKT_VLAN_STACKED,      /**< a second VLAN tag (QinQ) */
	PKT_BAD_IPV4_HEADER,   /**< IPv4 EtherType but version != 4, or IHL < 5 */
	PKT_BAD_IPV4_CHECKSUM, /**< IPv4 header checksum does not verify */
	PKT_BAD_IP_LENGTH,     /**< IPv4 total length shorter than its header */
	PKT_BAD_IPV6_HEADER,   /**< IPv6 EtherType but version != 6 */
	PKT_BAD_IPV6_EXT,      /**< extension header past the payload, misplaced or too many */
	PKT_FRAGMENT,          /**< IP fragment (MF set or offset != 0): frag_* fields set */
	PKT_NOT_UDP,           /**< transport is not UDP (ICMP, TCP, ESP, no next header...) */
	PKT_BAD_UDP_LENGTH,    /**< UDP header beyond the IP payload, or UDP length < 8 or > it */
	PKT_UDP_ZERO_CHECKSUM, /**< UDP over IPv6 with checksum 0, forbidden by RFC 8200 §8.1 */
	PKT_VERDICT_COUNT      /**< number of verdicts; not a verdict */
};

/**
 * What pkt_decode() found. Offsets count from the first byte handed to the
 * decoder (the Ethernet header for pkt_decode(), the IP header for
 * pkt_decode_ip()). On PKT_OK every field is set and payload_off +
 * payload_len <= len. On another verdict the fields of the layers checked
 * before the defect keep their values (ip_version and the addresses once
 * the IP header is validated, l4_proto once known) and the rest are zero,
 * except vlan, which is PKT_VLAN_NONE until a tag is read; every offset set
 * stays within len.
 */
struct pkt_info {
	uint8_t ip_version;   /**< 4 or 6; 0 before a valid IP header */
	uint8_t l4_proto;     /**< IP protocol / last Next Header (17 for UDP) */
	uint16_t vlan;        /**< VLAN ID of the one tag, or PKT_VLAN_NONE */
	uint32_t l3_off;      /**< IP header */
	uint32_t l4_off;      /**< UDP header (after IPv4 options / IPv6 extension headers);
	                           on PKT_NOT_UDP, the other transport's header */
	uint32_t payload_off; /**< UDP payload */
	uint16_t payload_len; /**< UDP length - 8: Ethernet padding is not part of it */
	uint16_t src_port;    /**< UDP source port, host byte order */
	uint16_t dst_port;    /**< UDP destination port, host byte order */
	/*
	 * On PKT_FRAGMENT only (zero otherwise): the fragment's data, what follows the
	 * IPv4 header or the IPv6 fragment header, is frag_len bytes at frag_data_off,
	 * frag_off bytes into the datagram's payload; l4_proto is the datagram's
	 * protocol (IPv6: the fragment header's Next Header).
	 */
	uint32_t frag_id;       /**< identification: IPv4's 16 bits or IPv6's 32 */
	uint32_t frag_data_off; /**< first byte of the fragment's data */
	uint16_t frag_off;      /**< its offset in the datagram's payload, bytes */
	uint16_t frag_len;      /**< its length, bytes */
	bool frag_more;         /**< more fragments follow (MF / M) */
	/**
	 * Addresses in network byte order. IPv6 as is; IPv4 as the IPv4-mapped
	 * IPv6 address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so one 16-byte
	 * compare matches either family. Tell families apart by ip_version,
	 * not by the prefix: an IPv6 packet may carry a mapped address.
	 */
	uint8_t src[16];
	uint8_t dst[16];
};

/**
 * Decode an Ethernet II frame: optionally one 802.1Q (0x8100), 802.1ad
 * (0x88a8) or pre-standard QinQ (0x9100) tag, then IPv4 or IPv6 (hop-by-hop, routing and
 * destination options extension headers skipped), then UDP.
 *
 * @param frame  First byte of the Ethernet header; may be NULL when len is 0.
 * @param len    Bytes available (Ethernet padding after the IP datagram allowed).
 * @param pi     Filled as described at struct pkt_info; never NULL.
 * @return PKT_OK, or the first defect found (enum pkt_verdict).
 *
 * Calling context: any thread, any lcore; no allocation, no syscalls.
 */
enum pkt_verdict pkt_decode(const uint8_t *frame, size_t len, struct pkt_info *pi);

/**
 * Decode from the IP header on, for captures without Ethernet (raw IP,
 * Linux cooked): the version nibble picks IPv4 or IPv6, anything else is
 * PKT_NOT_IP. Same checks and results as pkt_decode() from its IP layer on,
 * with offsets counted from ip (so l3_off is 0).
 *
 * @param ip   First byte of the IP header; may be NULL when len is 0.
 * @param len  Bytes available.
 * @param pi   Filled as for pkt_decode(); never NULL.
 * @return PKT_OK, or the first defect found.
 */
enum pkt_verdict pkt_decode_ip(const uint8_t *ip, size_t len, struct pkt_info *pi);

/**
 * Flag of pkt_decode_flags() and pkt_decode_ip_flags(): do not verify the IPv4
 * header checksum, so PKT_BAD_IPV4_CHECKSUM is never returned. For captures
 * taken on the sending host, where checksum offload leaves the field to the
 * NIC (often 0x0000). The UDP-over-IPv6 zero checksum is still refused: it is
 * a protocol rule (RFC 8200 §8.1), not a verification, and offload never
 * leaves the field zero.
 */
#define PKT_F_NO_CSUM 0x1u

/**
 * pkt_decode() with options: flags is 0 (then exactly pkt_decode()) or
 * PKT_F_NO_CSUM. Every other check and result is pkt_decode()'s.
 */
enum pkt_verdict pkt_decode_flags(const uint8_t *frame, size_t len, unsigned flags,
                                  struct pkt_info *pi);

/** pkt_decode_ip() with the options of pkt_decode_flags(). */
enum pkt_verdict pkt_decode_ip_flags(const uint8_t *ip, size_t len, unsigned flags,
                                     struct pkt_info *pi);

/**
 * The UDP checksum a datagram pkt_decode() returned PKT_OK for should carry (RFC 768; RFC
 * 8200 §8.1 for IPv6): the one's complement of the one's complement sum over the
 * pseudo-header, the UDP header with its checksum field taken as zero and the payload
 * (payload_len bytes: Ethernet padding is not summed); 0xffff where the sum gives 0.
 *
 * @param base  What pi's offsets count from (the frame, or the IP header for the _ip
 *              decoders), holding at least payload_off + payload_len bytes.
 * @param pi    As pkt_decode() filled it, with PKT_OK.
 * @return the field's value, host order (0x1c46 for the bytes 1c 46). Reads O(length).
 */
uint16_t pkt_udp_csum(const uint8_t *base, const struct pkt_info *pi);

/**
 * Whether the datagram's UDP checksum verifies; an IPv4 datagram without one (field 0)
 * does. A partial checksum (what TX offload leaves for the sender's NIC) does not.
 * Arguments as pkt_udp_csum().
 */
bool pkt_udp_csum_ok(const uint8_t *base, const struct pkt_info *pi);

/**
 * Write pkt_udp_csum() into the datagram's checksum field: the two bytes at l4_off + 6,
 * the only ones changed. Arguments as pkt_udp_csum(), base writable.
 * @return true when the field changed (it did not verify, or was 0 over IPv4).
 */
bool pkt_udp_csum_fill(uint8_t *base, const struct pkt_info *pi);

/** Snake-case counter name of a verdict ("bad_ipv4_checksum"); "unknown" outside the enum. */
const char *pkt_verdict_name(enum pkt_verdict v);

/** One-line English description of a verdict, for logs and tools. */
const char *pkt_verdict_str(enum pkt_verdict v);

#endif /* SIPHON_PKT_H */
