/*
 * edge_flow.c - flow tokens (HMAC-SHA256 over slot and generation, OpenSSL) and AOR
 * normalisation for the edge proxy. Control plane, edge thread; stateless.
 * The MAC is compared with CRYPTO_memcmp so its time tells a forger nothing.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "edge_flow.h"

static int
flow_mac(const uint8_t *key, size_t key_len, const uint8_t id[8], uint8_t mac[EDGE_FLOW_MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	unsigned full_len = 0;

	if (key_len == 0 || key_len > EDGE_FLOW_KEY_MAX ||
	    HMAC(EVP_sha256(), key, (int)key_len, id, 8, full, &full_len) == NULL ||
	    full_len < EDGE_FLOW_MAC_LEN)
		return -1;
	memcpy(mac, full, EDGE_FLOW_MAC_LEN);
	return 0;
}

static void
flow_id_bytes(struct edge_flow_id id, uint8_t b[8])
{
	for (int i = 0; i < 4; i++) {
		b[i] = (uint8_t)(id.slot >> (24 - 8 * i));
		b[4 + i] = (uint8_t)(id.gen >> (24 - 8 * i));
	}
}

int
edge_flow_token(const uint8_t *key, size_t key_len, struct edge_flow_id id, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[8 + EDGE_FLOW_MAC_LEN];

	out[0] = '\0';
	flow_id_bytes(id, raw);
	if (flow_mac(key, key_len, raw, raw + 8) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[EDGE_FLOW_TOKEN_LEN] = '\0';
	return 0;
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* tokens are written lowercase; another spelling is another token */
}

int
edge_flow_check(const uint8_t *key, size_t key_len, const char *tok, size_t len,
                struct edge_flow_id *id)
{
	uint8_t raw[8 + EDGE_FLOW_MAC_LEN], mac[EDGE_FLOW_MAC_LEN];

	if (len != EDGE_FLOW_TOKEN_LEN)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		int hi = hex_val(tok[2 * i]), lo = hex_val(tok[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	if (flow_mac(key, key_len, raw, mac) < 0 || CRYPTO_memcmp(mac, raw + 8, sizeof(mac)) != 0)
		return -1;
	id->slot = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
	id->gen = (uint32_t)raw[4] << 24 | (uint32_t)raw[5] << 16 | (uint32_t)raw[6] << 8 | raw[7];
	return 0;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int
edge_aor_norm(const uint8_t *v, size_t n, char *out)
{
	size_t i = 0, end = n;

	/* The URI is between < and > when there are brackets (outside a quoted display
	 * name); otherwise it is the value up to its first header parameter (§20). */
	int quoted = 0;
	size_t lt = n;
	for (size_t k = 0; k < n; k++) {
		if (v[k] == '"' && (k == 0 || v[k - 1] != '\\'))
			quoted = !quoted;
		else if (v[k] == '<' && !quoted) {
			lt = k;
			break;
		}
	}
	if (lt < n) {
		i = lt + 1;
		const uint8_t *gt = memchr(v + i, '>', n - i);
		if (gt == NULL)
			return -1;
		end = (size_t)(gt - v);
	} else {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		const uint8_t *sc = memchr(v + i, ';', n - i);
		if (sc != NULL)
			end = (size_t)(sc - v);
	}

	while (end > i && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	size_t o = 0;
	size_t colon = i;
	while (colon < end && v[colon] != ':')
		colon++;
	size_t slen = colon - i;
	if (colon == end || !((slen == 3 && lower(v[i]) == 's' && lower(v[i + 1]) == 'i' &&
	                       lower(v[i + 2]) == 'p') ||
	                      (slen == 4 && lower(v[i]) == 's' && lower(v[i + 1]) == 'i' &&
	                       lower(v[i + 2]) == 'p' && lower(v[i + 3]) == 's')))
		return -1;
	for (size_t k = i; k <= colon; k++)
		out[o++] = (char)lower(v[k]);
	i = colon + 1;

	/* userinfo ends at the last '@' before any parameter or header: a user may hold
	 * escaped characters but no ';' before its '@' in practice, and none after. */
	size_t stop = i;
	while (stop < end && v[stop] != ';' && v[stop] != '?' && v[stop] != '>')
		stop++;
	size_t at = stop;
	for (size_t k = stop; k > i; k--)
		if (v[k - 1] == '@') {
			at = k - 1;
			break;
		}
	if (at < stop) {
		size_t ue = i;
		while (ue < at && v[ue] != ':')
			ue++; /* ":password" is not part of the AOR */
		if (ue == i)
			return -1;
		if (o + (ue - i) + 1 >= EDGE_AOR_MAX)
			return -1;
		memcpy(out + o, v + i, ue - i);
		o += ue - i;
		out[o++] = '@';
		i = at + 1;
	}
	size_t hs = i, he;
	if (hs < stop && v[hs] == '[') {
		const uint8_t *rb = memchr(v + hs, ']', stop - hs);
		if (rb == NULL)
			return -1;
		he = (size_t)(rb - v) + 1;
	} else {
		he = hs;
		while (he < stop && v[he] != ':')
			he++;
	}
	if (he == hs || o + (he - hs) >= EDGE_AOR_MAX)
		return -1;
	for (size_t k = hs; k < he; k++) {
		uint8_t c = v[k];
		if (c <= ' ' || c == 0x7f)
			return -1;
		out[o++] = (char)lower(c);
	}
	out[o] = '\0';
	return (int)o;
}
