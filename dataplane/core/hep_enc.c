/*
 * hep_enc.c - the HEPv3 encoder (include/siphon/hep.h): the bytes around a captured SIP
 * payload that a capture collector reads. DPDK-free and allocation-free, so the worker's
 * mirror, the tests and any tool write the same bytes; the worker calls it once per
 * mirrored message, with fixed-size writes only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "siphon/hep.h"

static inline uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* A chunk's header: generic vendor, type, and a length counting these 6 bytes. */
static inline uint8_t *
chunk(uint8_t *p, uint16_t type, size_t data_len)
{
	p = put16(p, 0);
	p = put16(p, type);
	return put16(p, (uint16_t)(HEP_CHUNK_HDR + data_len));
}

size_t
hep_head_write(uint8_t *out, const struct hep_meta *m, size_t payload_len, size_t cid_len)
{
	size_t head = hep_head_len(m->family);
	size_t alen = m->family == 6 ? 16 : 4, aoff = m->family == 6 ? 0 : 12;
	uint8_t *p = out;

	memcpy(p, "HEP3", 4);
	p = put16(p + 4, (uint16_t)(head + payload_len + hep_tail_len(cid_len)));
	p = chunk(p, HEP_CH_FAMILY, 1);
	*p++ = m->family == 6 ? HEP_FAMILY_INET6 : HEP_FAMILY_INET;
	p = chunk(p, HEP_CH_PROTO, 1);
	*p++ = 17; /* UDP: the only transport the dataplane captures */
	p = put16(chunk(p, HEP_CH_SPORT, 2), m->src_port);
	p = put16(chunk(p, HEP_CH_DPORT, 2), m->dst_port);
	p = put32(chunk(p, HEP_CH_TS_SEC, 4), m->ts_sec);
	p = put32(chunk(p, HEP_CH_TS_USEC, 4), m->ts_usec);
	p = chunk(p, HEP_CH_PROTO_T, 1);
	*p++ = HEP_PROTO_SIP;
	p = put32(chunk(p, HEP_CH_AGENT, 4), m->agent_id);
	p = chunk(p, m->family == 6 ? HEP_CH_SRC6 : HEP_CH_SRC4, alen);
	memcpy(p, m->src + aoff, alen);
	p = chunk(p + alen, m->family == 6 ? HEP_CH_DST6 : HEP_CH_DST4, alen);
	memcpy(p, m->dst + aoff, alen);
	p = chunk(p + alen, HEP_CH_PAYLOAD, payload_len);
	return (size_t)(p - out);
}

size_t
hep_tail_write(uint8_t *out, const uint8_t *cid, size_t cid_len)
{
	uint8_t *p = chunk(out, HEP_CH_CORR_ID, cid_len);

	if (cid_len > 0) /* memcpy's pointers must be valid even for 0 bytes */
		memcpy(p, cid, cid_len);
	return hep_tail_len(cid_len);
}

size_t
hep_encode(uint8_t *out, size_t cap, const struct hep_meta *m, const uint8_t *payload,
           size_t payload_len, const uint8_t *cid, size_t cid_len)
{
	size_t head, total;

	if ((m->family != 4 && m->family != 6) || !hep_fits(m->family, payload_len, cid_len))
		return 0;
	total = hep_head_len(m->family) + payload_len + hep_tail_len(cid_len);
	if (total > cap)
		return 0;
	head = hep_head_write(out, m, payload_len, cid_len);
	if (payload_len > 0)
		memcpy(out + head, payload, payload_len);
	hep_tail_write(out + head + payload_len, cid, cid_len);
	return total;
}

/* Whether a is within prefix p; IPv4 is stored mapped, so its prefix covers 96 + n bits. */
static bool
hep_prefix_has(const struct cfg_prefix *p, const struct cfg_addr *a)
{
	unsigned bits = (a->family == 4 ? 96u : 0u) + p->len, i;

	if (p->addr.family != a->family)
		return false;
	for (i = 0; i < bits / 8; i++)
		if (p->addr.a[i] != a->a[i])
			return false;
	return bits % 8 == 0 || ((p->addr.a[i] ^ a->a[i]) & (uint8_t)(0xff00u >> (bits % 8))) == 0;
}

int
hep_route(const struct sph_cfg *cfg, unsigned *port, const struct cfg_addr **hop,
          const struct cfg_addr **src, char *err, size_t errlen)
{
	const struct cfg_addr *a = &cfg->mirror.addr;
	int p = -1;

	*hop = a;
	for (unsigned i = 0; i < cfg->nb_ports && p < 0; i++)
		for (unsigned j = 0; j < cfg->ports[i].nb_addrs; j++)
			if (hep_prefix_has(&cfg->ports[i].addrs[j], a))
				p = (int)i;
	for (unsigned i = 0; i < cfg->nb_ports && p < 0; i++) {
		const struct cfg_addr *gw =
		        a->family == 4 ? &cfg->ports[i].gw4 : &cfg->ports[i].gw6;

		if (gw->family != 0) {
			p = (int)i;
			*hop = gw;
		}
	}
	if (p < 0) {
		snprintf(err, errlen,
		         "collector: not within any port's prefix and no port has a gateway%u",
		         a->family);
		return -1;
	}
	*src = NULL;
	for (unsigned j = 0; j < cfg->ports[p].nb_addrs && *src == NULL; j++)
		if (cfg->ports[p].addrs[j].addr.family == a->family)
			*src = &cfg->ports[p].addrs[j].addr;
	if (*src == NULL) {
		snprintf(err, errlen, "collector: port \"%s\" has no IPv%u address to send from",
		         cfg->ports[p].name, a->family);
		return -1;
	}
	*port = (unsigned)p;
	return 0;
}
