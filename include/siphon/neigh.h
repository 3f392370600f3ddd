/**
 * @file neigh.h
 * Neighbours: ARP (IPv4) and Neighbor Discovery (IPv6) for the dataplane.
 *
 * Two halves, both free of DPDK so they are tested on plain buffers:
 *  - frame handling: turn an ARP request or a Neighbor Solicitation for one of
 *    the balancer's addresses (its own or a VIP) into the reply, in place, so
 *    a worker answers without allocating; learn (IP, MAC) from replies and
 *    requests; build the ARP requests, Neighbor Solicitations, gratuitous ARP
 *    and unsolicited Neighbor Advertisements the control side sends.
 *  - the table: a fixed-size set of addresses the dataplane must reach
 *    (backends, gateways) with their MACs, resolved and aged by the main
 *    lcore (nd_table_*), read by workers lock-free (nd_table_mac()).
 *
 * Until an entry is resolved nd_table_mac() fails and the worker drops the
 * packet and counts it: a packet is never sent to a wrong or zero MAC.
 */
#ifndef SIPHON_DP_NEIGH_H
#define SIPHON_DP_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** Most addresses one port answers for (its own + every VIP). */
#define ND_SELF_MAX 64u

/** Most neighbours one table holds (backends + gateways). */
#define ND_TABLE_MAX 1024u

/** Bytes of the largest frame nd_build_*() writes or nd_handle() replies with (90 with a tag). */
#define ND_FRAME_MAX 128u

/** Addresses and MAC one port answers for. Addresses are 16 bytes, IPv4 mapped (::ffff:a.b.c.d). */
struct nd_self {
	uint8_t mac[6];
	unsigned nb_addrs;
	uint8_t family[ND_SELF_MAX]; /**< 4 or 6 */
	uint8_t addr[ND_SELF_MAX][16];
};

/** What nd_handle() did with a frame. */
enum nd_action {
	ND_NONE = 0, /**< not ARP/ND, or not for us and nothing learnt: the caller goes on */
	ND_REPLY,    /**< frame rewritten in place into the reply; send it back out the same port */
	ND_LEARN,    /**< a neighbour's (IP, MAC) is in *learn; the frame is consumed (free it) */
	ND_DROP,     /**< ARP/ND we neither answer nor learn from, or malformed: drop and count */
};

/** A learnt neighbour. */
struct nd_learn {
	uint8_t family;
	uint8_t addr[16];
	uint8_t mac[6];
};

/**
 * Handle one received frame if it is ARP or ICMPv6 NS/NA (one 802.1Q, 802.1ad
 * or 0x9100 tag allowed; a tag is kept in a reply).
 *
 * ARP (htype 1, ptype IPv4, hlen 6, plen 4):
 *  - a request for one of self's IPv4 addresses becomes the reply (ND_REPLY,
 *    same length, bytes after the 28-byte ARP payload zeroed); *learn gets the
 *    requester unless it is an ARP probe (sender IP 0.0.0.0);
 *  - any other request or reply (gratuitous ARP included) is ND_LEARN of the
 *    sender's (IP, MAC) when the IP is non-zero and not one of self's and the
 *    MAC unicast and non-zero, else ND_DROP.
 * ICMPv6 directly after the IPv6 header (RFC 4861 §7.1 checks: hop limit 255,
 * code 0, checksum, target not multicast, option lengths non-zero):
 *  - a Neighbor Solicitation for one of self's IPv6 addresses becomes the
 *    Neighbor Advertisement (ND_REPLY): S and O set, Target Link-Layer Address
 *    option with self->mac, to the solicitation's source, or to all-nodes
 *    ff02::1 with S clear when that source is :: (DAD). Its length is the L2
 *    header + 72, which may differ from len (see room, out_len); *learn gets
 *    the source and its Source Link-Layer Address option when both are usable;
 *  - another NS with a usable source and SLLA option, or a Neighbor
 *    Advertisement with a Target Link-Layer Address option, is ND_LEARN;
 *  - other NS/NA is ND_DROP; other ICMPv6 (echo, RS/RA, ...) is ND_NONE.
 * Frames whose Ethernet source is self->mac (our own, looped back) are ND_DROP.
 * A frame cut inside its Ethernet/VLAN or IPv6 header, before the ICMPv6 type,
 * is ND_NONE: pkt_decode() gives the caller the reason.
 *
 * @param frame    Ethernet frame, writable; rewritten on ND_REPLY only.
 * @param len      Its length.
 * @param room     Bytes writable at frame (mbuf: data_len + tailroom); below
 *                 len counts as len. An NS without options is 8 bytes shorter
 *                 than its NA; when room cannot hold the NA it is ND_DROP.
 *                 ND_FRAME_MAX always suffices.
 * @param self     What this port answers for (nb_addrs above ND_SELF_MAX is
 *                 read as ND_SELF_MAX).
 * @param learn    Always written: zeroed, then filled on ND_LEARN, and on
 *                 ND_REPLY when the requester's (IP, MAC) is usable (then
 *                 learn->family != 0).
 * @param out_len  Always written: the frame's length after the call (the
 *                 reply's on ND_REPLY, else len).
 * @return What happened. Never reads past len nor writes past room; checksums
 *         of NS/NA are verified and the NA's set.
 *
 * Any lcore; no allocation.
 */
enum nd_action nd_handle(uint8_t *frame, size_t len, size_t room, const struct nd_self *self,
                         struct nd_learn *learn, size_t *out_len);

/*
 * Builders: buf holds at least ND_FRAME_MAX bytes; the frame is untagged (on a
 * VLAN the caller inserts the tag, e.g. by TX VLAN offload). Addresses are
 * 16 bytes, IPv4 as ::ffff:a.b.c.d. Each returns the frame length.
 */

/** Broadcast ARP request for target from (mac, sender), zero-padded to 60 bytes. */
size_t nd_build_arp_request(uint8_t *buf, const uint8_t mac[6], const uint8_t sender[16],
                            const uint8_t target[16]);

/** Broadcast gratuitous ARP (request form, sender IP = target IP = addr, target MAC 0), 60 bytes.
 */
size_t nd_build_garp(uint8_t *buf, const uint8_t mac[6], const uint8_t addr[16]);

/**
 * Neighbor Solicitation for target, to its solicited-node group ff02::1:ffXX:XXXX
 * (Ethernet 33:33:ff:XX:XX:XX), hop limit 255, with a Source Link-Layer Address
 * option (86 bytes), or without one when src is :: (DAD, 78 bytes, RFC 4861 §7.2.2).
 */
size_t nd_build_ns(uint8_t *buf, const uint8_t mac[6], const uint8_t src[16],
                   const uint8_t target[16]);

/** Unsolicited Neighbor Advertisement for addr to all-nodes ff02::1: O set, TLLA option; 86 bytes.
 */
size_t nd_build_unsolicited_na(uint8_t *buf, const uint8_t mac[6], const uint8_t addr[16]);

/** Neighbour states (a small subset of RFC 4861 §7.3.2's, enough for a static set). */
enum nd_state {
	ND_INCOMPLETE = 0, /**< being resolved; no MAC */
	ND_REACHABLE,      /**< MAC confirmed within the reachable time */
	ND_STALE,          /**< MAC usable, being re-confirmed */
	ND_FAILED,         /**< retries exhausted; probed again after a back-off */
	ND_STATIC,         /**< configured MAC; never probed or aged */
};

/** One neighbour. Workers read only mac_word. */
struct nd_entry {
	uint64_t mac_word; /**< 0 = unusable; else bit 63 set and the MAC in the low 48 bits */
	uint8_t family;
	uint8_t addr[16];
	uint8_t state;    /**< enum nd_state */
	uint8_t probes;   /**< solicitations sent since the last answer */
	uint64_t next_ns; /**< when nd_table_tick() next acts on it (monotonic ns) */
};

/** Default timers (RFC 4861 §10 RETRANS_TIMER, REACHABLE_TIME, MAX_MULTICAST_SOLICIT). */
#define ND_RETRANS_NS_DEFAULT   1000000000ull
#define ND_REACHABLE_NS_DEFAULT 30000000000ull
#define ND_FAILED_NS_DEFAULT    5000000000ull
#define ND_MAX_PROBES_DEFAULT   3u

/** Timers, in nanoseconds. */
struct nd_timers {
	uint64_t retrans;    /**< between solicitations of an unresolved entry (default 1 s) */
	uint64_t reachable;  /**< a confirmed MAC stays reachable this long (default 30 s) */
	uint64_t failed;     /**< back-off before probing a failed entry again (default 5 s) */
	unsigned max_probes; /**< solicitations before ND_FAILED, or before a stale MAC is dropped
	                        (default 3) */
};

/** Fixed-size neighbour table; the main lcore writes, workers read mac_word atomically. */
struct nd_table {
	struct nd_timers t;
	unsigned nb;
	struct nd_entry e[ND_TABLE_MAX];
};

/** Empty table with timers t (NULL, or any field 0: its default). Not while workers read it. */
void nd_table_init(struct nd_table *tb, const struct nd_timers *t);

/**
 * The index of (family, addr), adding it when absent: ND_INCOMPLETE (solicited
 * by the next nd_table_tick()), or ND_STATIC with mac when mac != NULL. An
 * existing entry given a mac becomes ND_STATIC with it; given NULL it keeps its
 * state. Family 4 addresses are compared and stored as ::ffff:a.b.c.d (only
 * addr[12..15] is read). Indexes stay valid for the table's life.
 *
 * @return index, or -1 when the table is full, family is not 4 or 6, or mac is 00:00:00:00:00:00.
 *
 * Main lcore only.
 */
int nd_table_add(struct nd_table *tb, uint8_t family, const uint8_t addr[16], const uint8_t *mac,
                 uint64_t now);

/** The index of (family, addr), or -1. Linear scan: control side only. */
int nd_table_find(const struct nd_table *tb, uint8_t family, const uint8_t addr[16]);

/**
 * Apply a learnt (IP, MAC): a known entry other than ND_STATIC becomes
 * ND_REACHABLE with that MAC for t.reachable. Unknown addresses, and zero or
 * multicast MACs, are ignored. Main lcore only.
 */
void nd_table_learn(struct nd_table *tb, const struct nd_learn *l, uint64_t now);

/**
 * Age entries and pick which to solicit now. Writes the indexes of entries to
 * solicit into out (at most max) and returns how many. Entries whose retries
 * run out become unusable (mac_word 0) and ND_FAILED.
 *
 * Per entry, when now >= next_ns:
 *  - ND_INCOMPLETE: solicit, every t.retrans, t.max_probes times; one
 *    t.retrans after the last, ND_FAILED.
 *  - ND_REACHABLE: ND_STALE (MAC still used) and solicit, then as below.
 *  - ND_STALE: solicit every t.retrans up to t.max_probes in all; one
 *    t.retrans after the last unanswered, ND_FAILED and mac_word 0.
 *  - ND_FAILED: after t.failed, ND_INCOMPLETE again and solicit.
 *  - ND_STATIC: never.
 * An entry due for a solicitation that does not fit in out is left as it is,
 * due at the next call. Main lcore only.
 */
unsigned nd_table_tick(struct nd_table *tb, uint64_t now, unsigned *out, unsigned max);

/** Worker side: the MAC of entry idx, or false while it has none. Lock-free. */
static inline bool
nd_table_mac(const struct nd_table *tb, unsigned idx, uint8_t mac[6])
{
	uint64_t w = __atomic_load_n(&tb->e[idx].mac_word, __ATOMIC_ACQUIRE);

	if (w == 0)
		return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* mac[0] is the word's top byte after the shift: one bswap and a 6-byte copy, where
	 * the byte loop cost 22 instructions per packet (docs/bench.md, worker stages). */
	w = __builtin_bswap64(w << 16);
	memcpy(mac, &w, 6);
#else
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(w >> (40 - 8 * i));
#endif
	return true;
}

/** Name of a state, for stats and tools. */
const char *nd_state_name(uint8_t state);

#endif /* SIPHON_DP_NEIGH_H */
