/*
 * scan.c - `siphonctl scan`: explain a capture, packet by packet, the way siphon sees it.
 *
 * Each frame of a pcap/pcapng file (or one raw SIP message) goes through the dataplane's
 * own code: pkt_decode() for L2-L4, a documented rule that picks the SIP datagrams, then
 * sip_parse(), then, with --config or --backends, the keyed Call-ID hash and the weighted
 * Maglev table of the group serving the packet. A routable message with anomalies (defects in
 * fields dispatch does not read, sip.h) lists them and is dispatched as the daemon forwards
 * it. Output is one JSON object per packet, or
 * with --summary the counts per verdict and per backend plus the check that every Call-ID
 * went to exactly one backend. Nothing here is a second implementation of a dataplane
 * decision: the tool only wires the core modules together and prints what they say.
 *
 * Which UDP datagrams are SIP: with a configuration that has VIPs, those whose destination
 * or source (address, port) is a VIP (clients' requests, and DSR replies sent from the VIP),
 * dispatched on that VIP's group; otherwise those with either port 5060 or whose payload
 * starts like SIP (a method token and a space, or "SIP/2.0 "), dispatched on the first group.
 *
 * With --received the capture is what siphon SENT (its tx side) and each frame also says
 * which backend it actually went to ("sent_to"): an IP-in-IP frame (outer IPv4 protocol 4
 * or 41, or IPv6 next header 4 or 41, as fwd_ipip() writes it) to the backend whose
 * address is the outer destination, its inner datagram then being scanned as above; any
 * other UDP frame over Ethernet (L2 DSR) to the backend whose static MAC is the Ethernet
 * destination. The recomputed choice stays in "backend", "agree" compares the two, and the
 * summary counts by sent_to.
 *
 * IPv4 header checksums are not verified unless --verify-checksums says so (as tshark does):
 * captures taken on the sending host hold whatever checksum offload left there, often
 * 0x0000. The daemon always verifies; the option shows what it would drop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pcap/pcap.h>

#include "siphon/cfg.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/pkt.h"
#include "siphon/sip.h"

#include "backends.h"
#include "calltab.h"
#include "ctl.h"

#define SCAN_ERR           CTL_PROG " scan: "
#define SCAN_SIP_PORT      5060u
#define SCAN_LINK_ETHERNET (-1L) /* link_offset(): frames start with Ethernet */
#define SCAN_LINK_UNKNOWN  (-2L) /* link_offset(): unsupported link type */
#define SCAN_PROTO_IPIP    4u    /* IPv4 in IP (fwd_ipip(), IPv4 client datagram) */
#define SCAN_PROTO_IPV6    41u   /* IPv6 in IP (fwd_ipip(), IPv6 client datagram) */

/* --received: how the frame being scanned left siphon. */
enum scan_via {
	SCAN_VIA_NONE = 0, /* not a forwarded SIP frame (ARP, ND, ...) */
	SCAN_VIA_UNKNOWN,  /* UDP without an Ethernet header: no way to tell where it went */
	SCAN_VIA_L2DSR,    /* UDP over Ethernet: the destination MAC names the backend */
	SCAN_VIA_IPIP,     /* IP-in-IP: the outer destination address names the backend */
};

struct scan_sent {
	enum scan_via via;
	uint8_t mac[6];        /* SCAN_VIA_L2DSR: Ethernet destination */
	struct pkt_info outer; /* SCAN_VIA_IPIP: the outer header (addresses, ip_version) */
};

/* One group's dispatch table; its backends are numbered from base in the global index. */
struct scan_group {
	struct maglev_table *table;
	uint32_t base;
};

struct scan {
	bool summary;       /* --summary: counts instead of packets */
	bool json;          /* --json: JSON summary (packets are always JSON) */
	bool multi_file;    /* several inputs: each packet says which file it came from */
	bool received;      /* --received: the capture is what siphon sent */
	unsigned pkt_flags; /* pkt_decode_flags(): PKT_F_NO_CSUM unless --verify-checksums */

	/* Dispatch. cfg is NULL when neither --config nor --backends was given. */
	struct sph_cfg *cfg;
	struct keyhash kh;
	struct scan_group *groups; /* cfg->nb_groups of them */
	uint32_t nb_backends;      /* over every group; index nb_backends means "none usable" */
	uint64_t *calls;           /* distinct Call-IDs per backend index */
	uint64_t *msgs;            /* routable messages per backend index */
	struct calltab *ct;        /* Call-ID -> backends */

	/* --received: counts by the backend each message was sent to (index nb_backends:
	 * unattributed), and the frame being scanned. */
	uint64_t *rcalls, *rmsgs, *rdis; /* distinct Call-IDs, messages, disagreements */
	uint64_t disagree;               /* attributed messages sent to another backend */
	struct calltab *rt;              /* Call-ID -> backends sent to */
	struct calltab *ut;              /* Call-IDs of unattributed messages */
	struct scan_sent sent;

	/* Counters. */
	uint64_t packets, sip_ok, sip_rejected, non_sip, not_sip;
	uint64_t rejected[SIP_VERDICT_COUNT];  /* by sip_parse() verdict */
	uint64_t sip_anomalous;                /* routable, with anomalies */
	uint64_t anomalies[SIP_VERDICT_COUNT]; /* routable messages by anomaly */
	uint64_t pkt_bad[PKT_VERDICT_COUNT];   /* by pkt_decode() verdict */

	const char *file; /* input being read */
	bool oom;
};

/* ------------------------------------------------------------------------ */
/* JSON helpers */

/*
 * Bytes as a JSON string. Everything sip_parse() accepts in the fields printed here is
 * ASCII, but rejected or odd input may hold any byte: invalid UTF-8 is shown as Latin-1,
 * so the line stays valid JSON and every byte stays visible.
 */
static json_t *
jbytes(const uint8_t *p, size_t len)
{
	json_t *j = json_stringn((const char *)p, len);
	char *u;
	size_t n = 0;

	if (j != NULL)
		return j;
	u = malloc(2 * len + 1);
	if (u == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x80) {
			u[n++] = (char)p[i];
		} else {
			u[n++] = (char)(0xc0 | p[i] >> 6);
			u[n++] = (char)(0x80 | (p[i] & 0x3f));
		}
	}
	j = json_stringn(u, n);
	free(u);
	return j;
}

static json_t *
jspan(const uint8_t *buf, struct sip_span sp)
{
	return jbytes(buf + sp.off, sp.len);
}

static json_t *
jaddr(uint8_t family, const uint8_t a[16], uint16_t port)
{
	struct cfg_addr ca = {.family = family};
	char buf[CFG_ADDR_STRLEN];

	memcpy(ca.a, a, sizeof(ca.a));
	return json_string(cfg_addr_format(&ca, port, buf, sizeof(buf)));
}

/* A packet's object, or NULL when packets are not printed (json_object_set_new(NULL, ...)
 * then just drops the value, so callers need no test). */
static json_t *
frame_obj(const struct scan *s, unsigned long frame)
{
	json_t *o;

	if (s->summary)
		return NULL;
	o = json_object();
	if (s->multi_file)
		json_object_set_new(o, "file", jbytes((const uint8_t *)s->file, strlen(s->file)));
	json_object_set_new(o, "frame", json_integer((json_int_t)frame));
	return o;
}

static void
verdict_set(json_t *o, const char *verdict, const char *layer, const char *reason)
{
	json_object_set_new(o, "verdict", json_string(verdict));
	json_object_set_new(o, "layer", json_string(layer));
	json_object_set_new(o, "reason", json_string(reason));
}

static void
emit(json_t *o)
{
	if (o == NULL)
		return;
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

/* Build one Maglev table per group, numbering backends group after group. */
static int
dispatch_init(struct scan *s)
{
	const struct sph_cfg *cfg = s->cfg;

	if (keyhash_init(&s->kh, cfg->hash_key, cfg->hash_key_len) != 0) {
		fprintf(stderr, SCAN_ERR "%s: cannot derive the hash secret\n", cfg->path);
		return -1;
	}
	s->groups = calloc(cfg->nb_groups, sizeof(*s->groups));
	if (s->groups == NULL)
		goto nomem;
	for (unsigned g = 0; g < cfg->nb_groups; g++) {
		const struct cfg_group *grp = &cfg->groups[g];
		struct maglev_backend *be = calloc(grp->nb_backends + 1, sizeof(*be));
		int rc;

		s->groups[g].base = s->nb_backends;
		s->nb_backends += grp->nb_backends;
		s->groups[g].table = malloc(maglev_table_bytes(cfg->maglev_size));
		if (be == NULL || s->groups[g].table == NULL) {
			free(be);
			goto nomem;
		}
		for (unsigned i = 0; i < grp->nb_backends; i++)
			be[i] = (struct maglev_backend){.id = grp->backends[i].name,
			                                .weight = grp->backends[i].weight,
			                                .state = grp->backends[i].state};
		rc = maglev_build(s->groups[g].table, cfg->maglev_size, be, grp->nb_backends);
		free(be);
		if (rc != 0) {
			fprintf(stderr,
			        SCAN_ERR "%s: group \"%s\": cannot build its Maglev table: %s\n",
			        cfg->path, grp->name, strerror(-rc));
			return -1;
		}
	}
	return 0;
nomem:
	fprintf(stderr, SCAN_ERR "out of memory\n");
	return -1;
}

static void
dispatch_fini(struct scan *s)
{
	if (s->groups != NULL && s->cfg != NULL)
		for (unsigned g = 0; g < s->cfg->nb_groups; g++)
			free(s->groups[g].table);
	free(s->groups);
}

/* Backend global index -> its group and entry. */
static const struct cfg_backend *
backend_at(const struct scan *s, uint32_t idx, const struct cfg_group **grp)
{
	for (unsigned g = 0; g < s->cfg->nb_groups; g++) {
		uint32_t base = s->groups[g].base;

		if (idx - base < s->cfg->groups[g].nb_backends) {
			*grp = &s->cfg->groups[g];
			return &s->cfg->groups[g].backends[idx - base];
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Per packet */

static bool
is_token_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-.!%*_+`'~", c) != NULL);
}

/* Starts like a SIP request ("TOKEN ") or response ("SIP/2.0 ")? */
static bool
looks_like_sip(const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (len >= 8 && memcmp(p, "SIP/2.0 ", 8) == 0)
		return true;
	while (i < len && i < 32 && is_token_char(p[i]))
		i++;
	return i > 0 && i < len && p[i] == ' ';
}

/*
 * Is this UDP datagram SIP, and which group serves it? See the rule at the top of the file.
 * Sets *group, and *vip and *vip_port to the VIP matched (NULL and 0 when none).
 */
static bool
classify(const struct scan *s, const struct pkt_info *pi, const uint8_t *payload, unsigned *group,
         const struct cfg_vip **vip, uint16_t *vip_port)
{
	*group = 0;
	*vip = NULL;
	*vip_port = 0;
	if (s->cfg != NULL && s->cfg->nb_vips > 0) {
		*vip = cfg_vip_find(s->cfg, pi->ip_version, pi->dst, pi->dst_port);
		*vip_port = pi->dst_port;
		if (*vip == NULL) {
			*vip = cfg_vip_find(s->cfg, pi->ip_version, pi->src, pi->src_port);
			*vip_port = pi->src_port;
		}
		if (*vip == NULL)
			return false;
		*group = (*vip)->group;
		return true;
	}
	return pi->src_port == SCAN_SIP_PORT || pi->dst_port == SCAN_SIP_PORT ||
	       looks_like_sip(payload, pi->payload_len);
}

/* Where a datagram came from and went to (and the VIP it matched, if any). */
static void
addrs_set(json_t *o, const struct pkt_info *pi, const struct cfg_vip *vip, uint16_t vip_port)
{
	if (pi == NULL)
		return;
	json_object_set_new(o, "src", jaddr(pi->ip_version, pi->src, pi->src_port));
	json_object_set_new(o, "dst", jaddr(pi->ip_version, pi->dst, pi->dst_port));
	if (vip != NULL)
		json_object_set_new(o, "vip", jaddr(vip->addr.family, vip->addr.a, vip_port));
}

/* Does backend b answer to the frame's L2 DSR destination MAC or IP-in-IP destination? */
static bool
sent_matches(const struct scan_sent *sn, const struct cfg_backend *b)
{
	if (sn->via == SCAN_VIA_L2DSR)
		return b->has_mac && memcmp(b->mac, sn->mac, sizeof(b->mac)) == 0;
	if (sn->via == SCAN_VIA_IPIP)
		return b->addr.family == sn->outer.ip_version &&
		       memcmp(b->addr.a, sn->outer.dst, sizeof(b->addr.a)) == 0;
	return false;
}

/*
 * The backend the frame being scanned was sent to, as a global index; nb_backends when
 * none matches. Backends sharing a MAC or an address look alike on the wire: the computed
 * choice wins among them, then a backend of the serving group (group < 0: none known),
 * then the first in file order.
 */
static uint32_t
sent_resolve(const struct scan *s, uint32_t computed, int group)
{
	uint32_t first = s->nb_backends, in_group = s->nb_backends;

	for (unsigned g = 0; g < s->cfg->nb_groups; g++)
		for (unsigned i = 0; i < s->cfg->groups[g].nb_backends; i++) {
			uint32_t idx = s->groups[g].base + i;

			if (!sent_matches(&s->sent, &s->cfg->groups[g].backends[i]))
				continue;
			if (idx == computed)
				return idx;
			if (first == s->nb_backends)
				first = idx;
			if ((int)g == group && in_group == s->nb_backends)
				in_group = idx;
		}
	return in_group != s->nb_backends ? in_group : first;
}

/*
 * --received: say where the frame went: "sent_to", "agree" (when computed, the recomputed
 * choice, is known: has_computed), and how ("via" with "eth_dst" or "outer_src" and
 * "outer_dst"). Returns the index sent to (nb_backends: unattributed).
 */
static uint32_t
sent_set(const struct scan *s, json_t *o, bool has_computed, uint32_t computed, int group)
{
	uint32_t to = sent_resolve(s, has_computed ? computed : s->nb_backends, group);
	const struct cfg_group *g;
	char mac[CFG_MAC_STRLEN];

	if (to == s->nb_backends) {
		json_object_set_new(o, "sent_to", json_null());
		if (has_computed)
			json_object_set_new(o, "agree", json_null());
	} else {
		json_object_set_new(o, "sent_to", json_string(backend_at(s, to, &g)->name));
		if (has_computed)
			json_object_set_new(o, "agree", json_boolean(to == computed));
	}
	switch (s->sent.via) {
	case SCAN_VIA_L2DSR:
		json_object_set_new(o, "via", json_string("l2dsr"));
		json_object_set_new(o, "eth_dst",
		                    json_string(cfg_mac_format(s->sent.mac, mac, sizeof(mac))));
		break;
	case SCAN_VIA_IPIP:
		json_object_set_new(o, "via", json_string("ipip"));
		json_object_set_new(o, "outer_src",
		                    jaddr(s->sent.outer.ip_version, s->sent.outer.src, 0));
		json_object_set_new(o, "outer_dst",
		                    jaddr(s->sent.outer.ip_version, s->sent.outer.dst, 0));
		break;
	default:
		break;
	}
	return to;
}

/* --received: count a routable message sent to backend index to; computed is the
 * recomputed choice. */
static void
sent_count(struct scan *s, const uint8_t *call_id, size_t len, uint32_t to, uint32_t computed)
{
	int rc = calltab_add(to == s->nb_backends ? s->ut : s->rt, call_id, len, to);

	if (rc < 0)
		s->oom = true;
	else
		s->rcalls[to] += (uint64_t)rc;
	s->rmsgs[to]++;
	if (to != s->nb_backends && to != computed) {
		s->rdis[to]++;
		s->disagree++;
	}
}

/*
 * Scan one SIP datagram p[0, len) and dispatch it on group. o is the packet's object (or
 * NULL); pi and vip say where the datagram travelled (NULL for a raw message).
 */
static void
scan_sip(struct scan *s, json_t *o, const uint8_t *p, size_t len, unsigned group,
         const struct pkt_info *pi, const struct cfg_vip *vip, uint16_t vip_port)
{
	struct sip_msg m;
	enum sip_verdict v = sip_parse(p, len, &m);
	uint32_t idx = 0;
	int rc;

	verdict_set(o, sip_verdict_name(v), "sip",
	            v == SIP_OK && m.anomalies != 0
	                    ? "routable; anomalies in fields dispatch does not read"
	                    : sip_verdict_str(v));
	addrs_set(o, pi, vip, vip_port);
	if (v != SIP_OK) {
		s->sip_rejected++;
		s->rejected[(unsigned)v < SIP_VERDICT_COUNT ? v : SIP_BAD_START_LINE]++;
		if (s->received && s->sent.via != SCAN_VIA_NONE)
			sent_set(s, o, false, 0, (int)group);
		emit(o);
		return;
	}
	s->sip_ok++;
	if (m.anomalies != 0) {
		/* Counted as the dataplane counts them, one per anomaly of the message. */
		json_t *a = json_array();

		s->sip_anomalous++;
		for (uint32_t bits = m.anomalies; bits != 0; bits &= bits - 1) {
			unsigned b = (unsigned)__builtin_ctz(bits);

			s->anomalies[b]++;
			json_array_append_new(a, json_string(sip_verdict_name(b)));
		}
		json_object_set_new(o, "anomalies", a);
	}
	if (m.kind == SIP_REQUEST) {
		json_object_set_new(o, "kind", json_string("request"));
		json_object_set_new(o, "method", jspan(p, m.method_name));
	} else {
		json_object_set_new(o, "kind", json_string("response"));
		json_object_set_new(o, "status", json_integer(m.status));
	}
	json_object_set_new(o, "call_id", jspan(p, m.call_id));
	if (o != NULL && m.cseq_num.len == 0) {
		json_object_set_new(o, "cseq", json_null()); /* no_cseq or bad_cseq */
	} else if (o != NULL) {
		/* "<num> <method>" as written, joined by one space however the sender spaced them.
		 */
		char *cseq = malloc((size_t)m.cseq_num.len + m.cseq_name.len + 2);

		if (cseq != NULL) {
			memcpy(cseq, p + m.cseq_num.off, m.cseq_num.len);
			cseq[m.cseq_num.len] = ' ';
			memcpy(cseq + m.cseq_num.len + 1, p + m.cseq_name.off, m.cseq_name.len);
			json_object_set_new(o, "cseq",
			                    jbytes((uint8_t *)cseq,
			                           (size_t)m.cseq_num.len + 1 + m.cseq_name.len));
			free(cseq);
		}
	}
	json_object_set_new(o, "branch",
	                    m.via_branch.len > 0 ? jspan(p, m.via_branch) : json_null());

	if (s->cfg != NULL) {
		/* Exactly the dataplane's decision: keyed hash of the Call-ID bytes, then Maglev.
		 */
		uint64_t h = keyhash_calc(&s->kh, p + m.call_id.off, m.call_id.len);
		uint16_t slot = maglev_lookup(s->groups[group].table, h);

		json_object_set_new(o, "group", json_string(s->cfg->groups[group].name));
		if (slot == MAGLEV_NONE) {
			idx = s->nb_backends;
			json_object_set_new(o, "backend", json_null());
		} else {
			idx = s->groups[group].base + slot;
			json_object_set_new(o, "backend",
			                    json_string(s->cfg->groups[group].backends[slot].name));
		}
	}
	rc = calltab_add(s->ct, p + m.call_id.off, m.call_id.len, idx);
	if (rc < 0)
		s->oom = true;
	else
		s->calls[idx] += (uint64_t)rc;
	s->msgs[idx]++;
	if (s->received && s->sent.via != SCAN_VIA_NONE)
		sent_count(s, p + m.call_id.off, m.call_id.len,
		           sent_set(s, o, true, idx, (int)group), idx);
	emit(o);
}

/*
 * Bytes before the IP header for a link type, SCAN_LINK_ETHERNET for Ethernet (pkt_decode()
 * reads it, 802.1Q included) or SCAN_LINK_UNKNOWN.
 */
static long
link_offset(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return SCAN_LINK_ETHERNET;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		return 0;
	case DLT_NULL: /* BSD loopback: 4-byte address family */
	case DLT_LOOP:
		return 4;
	case DLT_LINUX_SLL: /* Linux cooked v1 */
		return 16;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return 20;
#endif
	default:
		return SCAN_LINK_UNKNOWN;
	}
}

/*
 * --received: if the frame just decoded (v, pi; data is where pi's offsets count from) is
 * IP-in-IP as fwd_ipip() writes it, remember its outer header, decode the inner datagram
 * into pi and point *data at it; otherwise note how a UDP frame left (L2 DSR when it has an
 * Ethernet header). Returns the verdict for the frame from now on.
 */
static enum pkt_verdict
sent_decode(struct scan *s, enum pkt_verdict v, long l2, const uint8_t **data, size_t *len,
            struct pkt_info *pi)
{
	const uint8_t *ip = *data + pi->l3_off;
	size_t start, end;

	s->sent.via = SCAN_VIA_NONE;
	if (v == PKT_OK) {
		s->sent.via = l2 == SCAN_LINK_ETHERNET ? SCAN_VIA_L2DSR : SCAN_VIA_UNKNOWN;
		if (l2 == SCAN_LINK_ETHERNET)
			memcpy(s->sent.mac, *data, sizeof(s->sent.mac));
		return v;
	}
	if (v != PKT_NOT_UDP ||
	    (pi->l4_proto != SCAN_PROTO_IPIP && pi->l4_proto != SCAN_PROTO_IPV6))
		return v;
	/* pkt_decode() checked the outer header and that the frame holds its datagram. An
	 * outer IPv6 header with extension headers is left alone: fwd_ipip() writes none. */
	if (pi->ip_version == 4) {
		start = pi->l3_off + (size_t)(ip[0] & 0x0fu) * 4u;
		end = pi->l3_off + ((size_t)ip[2] << 8 | ip[3]);
	} else {
		if (ip[6] != pi->l4_proto)
			return v;
		start = pi->l3_off + 40u;
		end = start + ((size_t)ip[4] << 8 | ip[5]);
	}
	s->sent.via = SCAN_VIA_IPIP;
	s->sent.outer = *pi;
	*data += start;
	*len = end - start;
	return pkt_decode_ip_flags(*data, *len, s->pkt_flags, pi);
}

static void
scan_frame(struct scan *s, unsigned long frame, long l2, const uint8_t *data, size_t caplen)
{
	json_t *o = frame_obj(s, frame);
	struct pkt_info pi;
	enum pkt_verdict v;
	const struct cfg_vip *vip;
	unsigned group;
	uint16_t vip_port;

	s->packets++;
	if (l2 == SCAN_LINK_ETHERNET) {
		v = pkt_decode_flags(data, caplen, s->pkt_flags, &pi);
	} else if ((size_t)l2 > caplen) {
		memset(&pi, 0, sizeof(pi));
		v = PKT_TRUNCATED;
	} else {
		data += l2;
		caplen -= (size_t)l2;
		v = pkt_decode_ip_flags(data, caplen, s->pkt_flags, &pi);
	}
	if (s->received)
		v = sent_decode(s, v, l2, &data, &caplen, &pi);
	if (v != PKT_OK) {
		s->non_sip++;
		s->pkt_bad[(unsigned)v < PKT_VERDICT_COUNT ? v : PKT_TRUNCATED]++;
		verdict_set(o, pkt_verdict_name(v), "pkt", pkt_verdict_str(v));
		if (pi.ip_version != 0) {
			json_object_set_new(o, "src", jaddr(pi.ip_version, pi.src, 0));
			json_object_set_new(o, "dst", jaddr(pi.ip_version, pi.dst, 0));
			json_object_set_new(o, "ip_proto", json_integer(pi.l4_proto));
		}
		if (s->received && s->sent.via != SCAN_VIA_NONE)
			sent_set(s, o, false, 0, -1);
		emit(o);
		return;
	}
	if (!classify(s, &pi, data + pi.payload_off, &group, &vip, &vip_port)) {
		s->non_sip++;
		s->not_sip++;
		verdict_set(o, "not_sip", "pkt",
		            s->cfg != NULL && s->cfg->nb_vips > 0
		                    ? "UDP datagram neither to nor from a VIP"
		                    : "UDP datagram not on port 5060 and not starting like SIP");
		addrs_set(o, &pi, NULL, 0);
		if (s->received)
			sent_set(s, o, false, 0, -1);
		emit(o);
		return;
	}
	scan_sip(s, o, data + pi.payload_off, pi.payload_len, group, &pi, vip, vip_port);
}

/* ------------------------------------------------------------------------ */
/* Inputs */

/*
 * Does p start like a capture file: a pcap file header (microsecond or nanosecond
 * timestamps, modified pcap; either byte order) or a pcapng Section Header Block? Such an
 * input that libpcap refused is a broken capture, never a SIP message.
 */
static bool
has_capture_magic(const uint8_t *p, size_t len)
{
	static const uint32_t magics[] = {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u, 0x0a0d0d0au};
	uint32_t be, le;

	if (len < 4)
		return false;
	be = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	le = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (be == magics[i] || le == magics[i])
			return true;
	return false;
}

/* All of f, for stdin (which cannot be rewound after libpcap tried it). */
static uint8_t *
read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);

	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *b = realloc(buf, cap * 2);

		if (b == NULL) {
			free(buf);
			buf = NULL;
			errno = ENOMEM;
			break;
		}
		buf = b;
		cap *= 2;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	*len = n;
	return buf;
}

static int
scan_pcap(struct scan *s, pcap_t *pc)
{
	int dlt = pcap_datalink(pc), rc;
	long l2 = link_offset(dlt);
	struct pcap_pkthdr *h;
	const uint8_t *data;
	unsigned long frame = 0;

	if (l2 == SCAN_LINK_UNKNOWN) {
		const char *name = pcap_datalink_val_to_name(dlt);

		fprintf(stderr,
		        SCAN_ERR "%s: link type %s (%d) not supported (Ethernet, raw IP, Linux "
		                 "cooked, BSD loopback are)\n",
		        s->file, name != NULL ? name : "?", dlt);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		scan_frame(s, ++frame, l2, data, h->caplen);
	if (rc == PCAP_ERROR) {
		fprintf(stderr, SCAN_ERR "%s: after frame %lu: %s\n", s->file, frame,
		        pcap_geterr(pc));
		return -1;
	}
	return 0;
}

/*
 * Not a capture: one SIP message, the whole input, frame 1, on the first group. Whether
 * it is a SIP message is what the scanner says, not a guess from its octets (valid
 * messages may hold NUL, control octets and binary bodies): any verdict but a start line
 * the scanner cannot read, or a length no datagram has, makes it one, reported with that
 * verdict as the dataplane would count it.
 */
static int
scan_raw(struct scan *s, const char *pcap_err, const uint8_t *p, size_t len)
{
	struct sip_msg m;
	enum sip_verdict v;
	json_t *o;

	if (len == 0) {
		fprintf(stderr, SCAN_ERR "%s: empty input\n", s->file);
		return -1;
	}
	if (has_capture_magic(p, len)) {
		fprintf(stderr, SCAN_ERR "%s: a capture libpcap cannot read: %s\n", s->file,
		        pcap_err);
		return -1;
	}
	v = sip_parse(p, len, &m);
	if (v == SIP_BAD_START_LINE || v == SIP_OVERSIZE) {
		fprintf(stderr,
		        SCAN_ERR "%s: neither a pcap/pcapng capture (%s) nor a SIP message the "
		                 "scanner can read (%s: %s)\n",
		        s->file, pcap_err, sip_verdict_name(v), sip_verdict_str(v));
		return -1;
	}
	if (s->received) {
		fprintf(stderr,
		        SCAN_ERR "%s: --received needs a capture of what siphon sent, not a SIP "
		                 "message (%s)\n",
		        s->file, pcap_err);
		return -1;
	}
	s->packets++;
	o = frame_obj(s, 1);
	scan_sip(s, o, p, len, 0, NULL, NULL, 0);
	return 0;
}

static int
scan_input(struct scan *s, const char *path)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	uint8_t *mem = NULL, *raw = NULL;
	size_t len = 0;
	FILE *fp;
	pcap_t *pc;
	int rc;

	s->file = path;
	if (strcmp(path, "-") == 0) {
		s->file = "(stdin)";
		mem = read_all(stdin, &len);
		if (mem == NULL) {
			fprintf(stderr, SCAN_ERR "(stdin): %s\n", strerror(errno));
			return -1;
		}
		if (len == 0) {
			free(mem);
			fprintf(stderr, SCAN_ERR "(stdin): empty input\n");
			return -1;
		}
		fp = fmemopen(mem, len, "rb");
	} else {
		fp = fopen(path, "rb");
	}
	if (fp == NULL) {
		fprintf(stderr, SCAN_ERR "%s: %s\n", s->file, strerror(errno));
		free(mem);
		return -1;
	}
	pc = pcap_fopen_offline(fp, err);
	if (pc != NULL) {
		rc = scan_pcap(s, pc);
		pcap_close(pc); /* closes fp */
		free(mem);
		return rc;
	}
	/* libpcap leaves fp open on failure. One SIP message is at most SIP_MAX_MSG bytes:
	 * reading one more is enough for sip_parse() to call it oversize. */
	raw = malloc(SIP_MAX_MSG + 1);
	if (raw == NULL) {
		fclose(fp);
		free(mem);
		fprintf(stderr, SCAN_ERR "out of memory\n");
		return -1;
	}
	rewind(fp);
	len = fread(raw, 1, SIP_MAX_MSG + 1, fp);
	if (ferror(fp)) {
		fprintf(stderr, SCAN_ERR "%s: %s\n", s->file, strerror(errno));
		rc = -1;
	} else {
		rc = scan_raw(s, err, raw, len);
	}
	fclose(fp);
	free(raw);
	free(mem);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Summary */

static const char *
one_backend_text(const struct scan *s, char *buf, size_t len)
{
	size_t split = calltab_split(s->received ? s->rt : s->ct);

	if (s->cfg == NULL)
		return "n/a (no --config or --backends)";
	if (split == 0)
		return "yes";
	snprintf(buf, len, "no: %zu Call-IDs split", split);
	return buf;
}

/* Widths of the name, group and address columns. */
static void
table_widths(const struct scan *s, int *wn, int *wg, int *wa)
{
	char buf[CFG_ADDR_STRLEN];

	for (uint32_t i = 0; i < s->nb_backends; i++) {
		const struct cfg_group *g;
		const struct cfg_backend *b = backend_at(s, i, &g);
		int la = (int)strlen(cfg_addr_format(&b->addr, b->port, buf, sizeof(buf)));

		*wn = (int)strlen(b->name) > *wn ? (int)strlen(b->name) : *wn;
		*wg = (int)strlen(g->name) > *wg ? (int)strlen(g->name) : *wg;
		*wa = la > *wa ? la : *wa;
	}
}

/* --received: the backend table counts what each backend was sent. */
static void
summary_text_received(const struct scan *s)
{
	static const char unattr[] = "(unattributed)";
	uint32_t nb = s->nb_backends;
	char buf[CFG_ADDR_STRLEN];
	int wn = 7, wg = 5, wa = 7;

	table_widths(s, &wn, &wg, &wa);
	if (s->rmsgs[nb] > 0 && wn < (int)sizeof(unattr) - 1)
		wn = (int)sizeof(unattr) - 1;
	printf("\n%-*s  %-*s  %-*s  %6s  %-5s  %10s  %10s  %10s\n", wn, "backend", wg, "group", wa,
	       "address", "weight", "state", "calls", "messages", "disagree");
	for (uint32_t i = 0; i < nb; i++) {
		const struct cfg_group *g;
		const struct cfg_backend *b = backend_at(s, i, &g);

		printf("%-*s  %-*s  %-*s  %6" PRIu32 "  %-5s  %10" PRIu64 "  %10" PRIu64
		       "  %10" PRIu64 "\n",
		       wn, b->name, wg, g->name, wa,
		       cfg_addr_format(&b->addr, b->port, buf, sizeof(buf)), b->weight,
		       cfg_state_name(b->state), s->rcalls[i], s->rmsgs[i], s->rdis[i]);
	}
	if (s->rmsgs[nb] > 0)
		printf("%-*s  %-*s  %-*s  %6s  %-5s  %10" PRIu64 "  %10" PRIu64 "\n", wn, unattr,
		       wg, "", wa, "", "", "", s->rcalls[nb], s->rmsgs[nb]);
}

static void
summary_text(const struct scan *s)
{
	char buf[64];

	printf("packets                 %10" PRIu64 "\n", s->packets);
	printf("  SIP, routable         %10" PRIu64 "\n", s->sip_ok);
	if (s->sip_anomalous > 0) /* like the reasons below, only when there are some */
		printf("    with anomalies      %10" PRIu64 "\n", s->sip_anomalous);
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		if (s->anomalies[v] > 0)
			printf("    %-22s%8" PRIu64 "  %s (anomaly)\n", sip_verdict_name(v),
			       s->anomalies[v], sip_verdict_str(v));
	printf("  SIP, rejected         %10" PRIu64 "\n", s->sip_rejected);
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		if (s->rejected[v] > 0)
			printf("    %-22s%8" PRIu64 "  %s\n", sip_verdict_name(v), s->rejected[v],
			       sip_verdict_str(v));
	printf("  not SIP               %10" PRIu64 "\n", s->non_sip);
	if (s->not_sip > 0)
		printf("    %-22s%8" PRIu64 "  %s\n", "not_sip", s->not_sip,
		       "UDP, but not selected as SIP");
	for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
		if (s->pkt_bad[v] > 0)
			printf("    %-22s%8" PRIu64 "  %s\n", pkt_verdict_name(v), s->pkt_bad[v],
			       pkt_verdict_str(v));
	printf("calls (distinct Call-IDs)%9zu\n", calltab_count(s->ct));
	if (s->received) {
		printf("sent to a backend       %10" PRIu64 "\n",
		       s->sip_ok - s->rmsgs[s->nb_backends]);
		printf("  not the computed one  %10" PRIu64 "\n", s->disagree);
		printf("unattributed            %10" PRIu64 "\n", s->rmsgs[s->nb_backends]);
	}

	if (s->cfg != NULL && s->received) {
		summary_text_received(s);
	} else if (s->cfg != NULL) {
		int wn = 7, wg = 5, wa = 7;

		table_widths(s, &wn, &wg, &wa);
		printf("\n%-*s  %-*s  %-*s  %6s  %-5s  %10s  %10s\n", wn, "backend", wg, "group",
		       wa, "address", "weight", "state", "calls", "messages");
		for (uint32_t i = 0; i < s->nb_backends; i++) {
			const struct cfg_group *g;
			const struct cfg_backend *b = backend_at(s, i, &g);

			printf("%-*s  %-*s  %-*s  %6" PRIu32 "  %-5s  %10" PRIu64 "  %10" PRIu64
			       "\n",
			       wn, b->name, wg, g->name, wa,
			       cfg_addr_format(&b->addr, b->port, buf, sizeof(buf)), b->weight,
			       cfg_state_name(b->state), s->calls[i], s->msgs[i]);
		}
		if (s->msgs[s->nb_backends] > 0)
			printf("%-*s  %-*s  %-*s  %6s  %-5s  %10" PRIu64 "  %10" PRIu64 "\n", wn,
			       "(none)", wg, "", wa, "", "", "", s->calls[s->nb_backends],
			       s->msgs[s->nb_backends]);
	}
	printf("\nevery Call-ID to exactly one backend: %s\n",
	       one_backend_text(s, buf, sizeof(buf)));
}

static void
summary_json(const struct scan *s)
{
	json_t *o = json_object(), *rej = json_object(), *non = json_object(), *an = json_object();

	json_object_set_new(o, "packets", json_integer((json_int_t)s->packets));
	json_object_set_new(o, "sip_ok", json_integer((json_int_t)s->sip_ok));
	json_object_set_new(o, "sip_anomalous", json_integer((json_int_t)s->sip_anomalous));
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		if (s->anomalies[v] > 0)
			json_object_set_new(an, sip_verdict_name(v),
			                    json_integer((json_int_t)s->anomalies[v]));
	json_object_set_new(o, "anomalies", an);
	json_object_set_new(o, "sip_rejected", json_integer((json_int_t)s->sip_rejected));
	for (unsigned v = 0; v < SIP_VERDICT_COUNT; v++)
		if (s->rejected[v] > 0)
			json_object_set_new(rej, sip_verdict_name(v),
			                    json_integer((json_int_t)s->rejected[v]));
	json_object_set_new(o, "rejected", rej);
	json_object_set_new(o, "non_sip", json_integer((json_int_t)s->non_sip));
	if (s->not_sip > 0)
		json_object_set_new(non, "not_sip", json_integer((json_int_t)s->not_sip));
	for (unsigned v = 0; v < PKT_VERDICT_COUNT; v++)
		if (s->pkt_bad[v] > 0)
			json_object_set_new(non, pkt_verdict_name(v),
			                    json_integer((json_int_t)s->pkt_bad[v]));
	json_object_set_new(o, "non_sip_by_reason", non);
	json_object_set_new(o, "calls", json_integer((json_int_t)calltab_count(s->ct)));
	if (s->cfg != NULL) {
		/* With --received, calls and messages count by the backend sent to. */
		const uint64_t *calls = s->received ? s->rcalls : s->calls;
		const uint64_t *msgs = s->received ? s->rmsgs : s->msgs;
		size_t split = calltab_split(s->received ? s->rt : s->ct);
		uint32_t nb = s->nb_backends;
		json_t *arr = json_array();
		char buf[CFG_ADDR_STRLEN];

		for (uint32_t i = 0; i < nb; i++) {
			const struct cfg_group *g;
			const struct cfg_backend *b = backend_at(s, i, &g);
			json_t *e = json_pack(
			        "{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "name", b->name, "group",
			        g->name, "address",
			        cfg_addr_format(&b->addr, b->port, buf, sizeof(buf)), "weight",
			        (json_int_t)b->weight, "state", cfg_state_name(b->state), "calls",
			        (json_int_t)calls[i], "messages", (json_int_t)msgs[i]);

			if (s->received)
				json_object_set_new(e, "disagree",
				                    json_integer((json_int_t)s->rdis[i]));
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "backends", arr);
		if (s->received) {
			json_object_set_new(o, "sent_to_backend",
			                    json_integer((json_int_t)(s->sip_ok - s->rmsgs[nb])));
			json_object_set_new(o, "disagree", json_integer((json_int_t)s->disagree));
			json_object_set_new(o, "unattributed",
			                    json_pack("{s:I, s:I}", "calls",
			                              (json_int_t)s->rcalls[nb], "messages",
			                              (json_int_t)s->rmsgs[nb]));
		} else {
			json_object_set_new(o, "no_backend",
			                    json_pack("{s:I, s:I}", "calls",
			                              (json_int_t)s->calls[nb], "messages",
			                              (json_int_t)s->msgs[nb]));
		}
		json_object_set_new(o, "one_backend_per_call_id", json_boolean(split == 0));
		json_object_set_new(o, "split_call_ids", json_integer((json_int_t)split));
	} else {
		json_object_set_new(o, "one_backend_per_call_id", json_null());
	}
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
}

/* ------------------------------------------------------------------------ */
/* Command */

void
scan_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG
	        " scan [--config FILE | --backends LIST (--key KEY | --key-hex HEX)]\n"
	        "                      [--received] [--verify-checksums] [--summary] [--json]\n"
	        "                      INPUT...\n"
	        "\n"
	        "Explain, packet by packet, what siphon's decoder and SIP scanner make of INPUT\n"
	        "and which backend each SIP message would be dispatched to.\n"
	        "\n"
	        "INPUT is a pcap or pcapng capture (Ethernet with at most one VLAN tag, raw IP,\n"
	        "Linux cooked, BSD loopback), or a file holding one SIP message (the whole\n"
	        "file is one datagram, any octets; refused when the scanner reads no start\n"
	        "line in it); '-' reads either from standard input.\n"
	        "\n"
	        "  -c, --config FILE    dispatch as the configuration FILE says (groups, VIPs,\n"
	        "                       hash_key, maglev_size)\n"
	        "  -b, --backends LIST  dispatch on one group: NAME=ADDR[:PORT][*WEIGHT],...\n"
	        "                       e.g. b1=10.0.0.1,b2=[2001:db8::2]:5080*2\n"
	        "  -k, --key KEY        hash key for --backends (%u..%u bytes, as hash_key)\n"
	        "  -x, --key-hex HEX    the same key as hex digits (as hash_key_hex)\n"
	        "  -r, --received       INPUT is what siphon sent (e.g. its tx_pcap): also say\n"
	        "                       which backend each frame went to (\"sent_to\": IP-in-IP\n"
	        "                       by outer destination address, decapsulated; else by\n"
	        "                       destination MAC, for backends with a static mac) and\n"
	        "                       whether it is the computed one (\"agree\"); the summary\n"
	        "                       counts by sent_to. Needs --config or --backends\n"
	        "  -V, --verify-checksums  report frames whose IPv4 header checksum does not\n"
	        "                       verify (bad_ipv4_checksum), as the daemon drops them;\n"
	        "                       off by default: captures taken on the sending host hold\n"
	        "                       what checksum offload left there (often 0)\n"
	        "  -s, --summary        print counts per verdict and per backend instead of "
	        "packets\n"
	        "  -j, --json           JSON output (packets are always one JSON object per line;\n"
	        "                       with --summary, the summary becomes one JSON object)\n"
	        "  -h, --help           this help\n"
	        "\n"
	        "SIP datagrams: with VIPs configured, UDP to or from a VIP address and port (on\n"
	        "that VIP's group); otherwise UDP with either port 5060 or a payload starting\n"
	        "like SIP (on the first group).\n"
	        "\n"
	        "exit status: 0 ok (--received disagreements included), 1 unreadable input or\n"
	        "bad configuration, 2 usage error\n",
	        CFG_KEY_MIN, CFG_KEY_MAX);
}

/* Decode hex digits into a new buffer; NULL on an odd length or a non-hex character. */
static uint8_t *
hex_decode(const char *h, size_t *len)
{
	size_t n = strlen(h);
	uint8_t *b;

	if (n % 2 != 0 || strspn(h, "0123456789abcdefABCDEF") != n)
		return NULL;
	b = malloc(n / 2 + 1);
	if (b == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		char pair[3] = {h[2 * i], h[2 * i + 1], '\0'};

		b[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	*len = n / 2;
	return b;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, SCAN_ERR);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see '" CTL_PROG " scan --help')\n");
	return CTL_EXIT_USAGE;
}

int
scan_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"backends", required_argument, NULL, 'b'},
	        {"key", required_argument, NULL, 'k'},
	        {"key-hex", required_argument, NULL, 'x'},
	        {"received", no_argument, NULL, 'r'},
	        {"verify-checksums", no_argument, NULL, 'V'},
	        {"summary", no_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *backends = NULL, *key = NULL, *key_hex = NULL;
	uint8_t *kbuf = NULL;
	size_t klen = 0;
	struct scan s = {0};
	char err[512];
	int c, rc = CTL_EXIT_OK;
	bool verify_csum = false;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:b:k:x:rVsjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'b':
			backends = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'x':
			key_hex = optarg;
			break;
		case 'r':
			s.received = true;
			break;
		case 'V':
			verify_csum = true;
			break;
		case 's':
			s.summary = true;
			break;
		case 'j':
			s.json = true;
			break;
		case 'h':
			scan_usage(stdout);
			return CTL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	s.pkt_flags = verify_csum ? 0 : PKT_F_NO_CSUM;
	if (config != NULL && backends != NULL)
		return usage_error("--config and --backends exclude each other");
	if (key != NULL && key_hex != NULL)
		return usage_error("--key and --key-hex exclude each other");
	if (backends != NULL && key == NULL && key_hex == NULL)
		return usage_error("--backends needs --key or --key-hex");
	if ((key != NULL || key_hex != NULL) && backends == NULL)
		return usage_error(
		        "--key and --key-hex go with --backends (--config has hash_key)");
	if (s.received && config == NULL && backends == NULL)
		return usage_error("--received needs --config or --backends");
	if (optind >= argc)
		return usage_error("no input file");

	if (backends != NULL) {
		if (key_hex != NULL) {
			kbuf = hex_decode(key_hex, &klen);
			if (kbuf == NULL)
				return usage_error(
				        "--key-hex: expected an even number of hex digits");
		}
		rc = backends_cfg(backends, kbuf != NULL ? kbuf : (const uint8_t *)key,
		                  kbuf != NULL ? klen : strlen(key), &s.cfg, err, sizeof(err));
		if (kbuf != NULL) {
			memset(kbuf, 0, klen); /* a secret: do not leave it in freed memory */
			free(kbuf);
		}
		if (rc != 0)
			return usage_error("%s", err);
	}
	if (config != NULL) {
		if (cfg_load(config, &s.cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, SCAN_ERR "%s\n", err);
			return CTL_EXIT_ERR;
		}
	}
	if (s.cfg != NULL && dispatch_init(&s) != 0) {
		rc = CTL_EXIT_ERR;
		goto out;
	}
	s.ct = calltab_new();
	s.calls = calloc(s.nb_backends + 1, sizeof(*s.calls));
	s.msgs = calloc(s.nb_backends + 1, sizeof(*s.msgs));
	if (s.received) {
		s.rt = calltab_new();
		s.ut = calltab_new();
		s.rcalls = calloc(s.nb_backends + 1, sizeof(*s.rcalls));
		s.rmsgs = calloc(s.nb_backends + 1, sizeof(*s.rmsgs));
		s.rdis = calloc(s.nb_backends + 1, sizeof(*s.rdis));
	}
	if (s.ct == NULL || s.calls == NULL || s.msgs == NULL ||
	    (s.received && (s.rt == NULL || s.ut == NULL || s.rcalls == NULL || s.rmsgs == NULL ||
	                    s.rdis == NULL))) {
		fprintf(stderr, SCAN_ERR "out of memory\n");
		rc = CTL_EXIT_ERR;
		goto out;
	}
	s.multi_file = argc - optind > 1;
	for (int i = optind; i < argc; i++)
		if (scan_input(&s, argv[i]) != 0)
			rc = CTL_EXIT_ERR;
	if (s.oom) {
		fprintf(stderr, SCAN_ERR "out of memory: Call-ID counts are incomplete\n");
		rc = CTL_EXIT_ERR;
	}
	if (s.summary) {
		if (s.json)
			summary_json(&s);
		else
			summary_text(&s);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, SCAN_ERR "writing output: %s\n", strerror(errno));
		rc = CTL_EXIT_ERR;
	}
out:
	calltab_free(s.ct);
	calltab_free(s.rt);
	calltab_free(s.ut);
	free(s.calls);
	free(s.msgs);
	free(s.rcalls);
	free(s.rmsgs);
	free(s.rdis);
	dispatch_fini(&s);
	cfg_free(s.cfg);
	return rc;
}
