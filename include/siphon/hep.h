/**
 * @file hep.h
 * HEPv3 (the Homer Encapsulation Protocol, version 3) encoding of one captured SIP/UDP
 * datagram, as capture collectors (Homer, heplify-server, sngrep) receive it. DPDK-free:
 * the worker's mirror (dataplane/hep.c) writes the head and the tail into small mbufs of
 * their own around an indirect mbuf of the original payload, so the SIP bytes are not
 * copied; hep_encode() writes the same bytes contiguously, for tests and tools.
 *
 * A HEPv3 packet is "HEP3", a 16-bit total length, then chunks, each a 16-bit vendor
 * (0: generic), a 16-bit type and a 16-bit length that counts its own 6 bytes; all
 * big-endian. siphon writes them in one fixed order: family, protocol, ports, time,
 * protocol type, agent id, addresses, then the payload, then the correlation id (the
 * Call-ID). Collectors that walk chunks by type accept any order; sngrep 1.6 reads the
 * chunks before the payload at fixed places, hence this one, and the correlation id
 * after the payload, where such readers stop.
 */
#ifndef SIPHON_HEP_H
#define SIPHON_HEP_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

#define HEP_MAX          65535u /**< bytes of a whole HEPv3 packet: its length is 16 bits */
#define HEP_CHUNK_HDR    6u     /**< vendor, type, length */
#define HEP_HEAD4        (73u + 2 * 10u + HEP_CHUNK_HDR) /**< head of an IPv4 capture */
#define HEP_HEAD6        (73u + 2 * 22u + HEP_CHUNK_HDR) /**< head of an IPv6 capture */
#define HEP_HEAD_MAX     HEP_HEAD6
#define HEP_PROTO_SIP    1u  /**< chunk 0x000b: the payload is SIP */
#define HEP_FAMILY_INET  2u  /**< chunk 0x0001: AF_INET as HEP writes it */
#define HEP_FAMILY_INET6 10u /**< chunk 0x0001: AF_INET6 as HEP writes it */

/** Generic chunk types siphon writes (vendor 0). */
enum hep_chunk {
	HEP_CH_FAMILY = 0x0001,  /**< u8: HEP_FAMILY_INET or HEP_FAMILY_INET6 */
	HEP_CH_PROTO = 0x0002,   /**< u8: IP protocol of the capture (17, UDP) */
	HEP_CH_SRC4 = 0x0003,    /**< 4 bytes */
	HEP_CH_DST4 = 0x0004,    /**< 4 bytes */
	HEP_CH_SRC6 = 0x0005,    /**< 16 bytes */
	HEP_CH_DST6 = 0x0006,    /**< 16 bytes */
	HEP_CH_SPORT = 0x0007,   /**< u16 */
	HEP_CH_DPORT = 0x0008,   /**< u16 */
	HEP_CH_TS_SEC = 0x0009,  /**< u32: seconds since the Unix epoch */
	HEP_CH_TS_USEC = 0x000a, /**< u32: microseconds within that second */
	HEP_CH_PROTO_T = 0x000b, /**< u8: HEP_PROTO_SIP */
	HEP_CH_AGENT = 0x000c,   /**< u32: capture agent id */
	HEP_CH_PAYLOAD = 0x000f, /**< the captured datagram's UDP payload */
	HEP_CH_CORR_ID = 0x0011, /**< string: correlation id, the Call-ID */
};

/** What the head says of the captured datagram. */
struct hep_meta {
	uint8_t family;              /**< 4 or 6, as pkt_info.ip_version */
	uint8_t src[16], dst[16];    /**< as pkt_info: IPv4 mapped (::ffff:a.b.c.d) */
	uint16_t src_port, dst_port; /**< host order */
	uint32_t ts_sec, ts_usec;    /**< when it was received */
	uint32_t agent_id;           /**< the capture agent: which siphon */
};

/** Bytes hep_head_write() writes for family (4 or 6). */
static inline size_t
hep_head_len(uint8_t family)
{
	return family == 6 ? HEP_HEAD6 : HEP_HEAD4;
}

/** Bytes hep_tail_write() writes for a Call-ID of cid_len bytes. */
static inline size_t
hep_tail_len(size_t cid_len)
{
	return HEP_CHUNK_HDR + cid_len;
}

/**
 * Whether a capture of payload_len bytes with a Call-ID of cid_len bytes fits one HEPv3
 * packet (HEP_MAX bytes in all). hep_head_write() must not be called when it does not.
 */
static inline int
hep_fits(uint8_t family, size_t payload_len, size_t cid_len)
{
	return payload_len <= HEP_MAX && cid_len <= HEP_MAX &&
	       hep_head_len(family) + payload_len + hep_tail_len(cid_len) <= HEP_MAX;
}

/**
 * Write the head of a capture into out (hep_head_len(m->family) bytes): "HEP3", the total
 * length of head, payload and tail, every chunk before the payload, and the payload
 * chunk's own header, whose length covers payload_len bytes. The payload follows it,
 * then the tail. Only when hep_fits(). @return the bytes written.
 */
size_t hep_head_write(uint8_t *out, const struct hep_meta *m, size_t payload_len, size_t cid_len);

/** Write the tail: the correlation id chunk holding cid. @return hep_tail_len(cid_len). */
size_t hep_tail_write(uint8_t *out, const uint8_t *cid, size_t cid_len);

/**
 * The whole HEPv3 packet, contiguous, into out (cap bytes). @return its length, or 0 when
 * it does not fit HEP_MAX or cap, or family is neither 4 nor 6.
 */
size_t hep_encode(uint8_t *out, size_t cap, const struct hep_meta *m, const uint8_t *payload,
                  size_t payload_len, const uint8_t *cid, size_t cid_len);

/**
 * How the dataplane reaches cfg's mirror collector, from the configuration alone (as
 * backends are reached): out of the first port whose prefix holds it, the collector its
 * own next hop; else out of the first port with a gateway of its family, through that
 * gateway. The source is that port's first address of the family. The daemon's check
 * (cfg_validate) and the dataplane's set-up (dp_mirror_set) both call it, so they agree.
 * @return 0 with *port, *hop and *src set, or -1 with the reason (one line) in err.
 */
int hep_route(const struct sph_cfg *cfg, unsigned *port, const struct cfg_addr **hop,
              const struct cfg_addr **src, char *err, size_t errlen);

#endif /* SIPHON_HEP_H */
