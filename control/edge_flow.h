/*
 * edge_flow.h - what the edge proxy writes into and reads back from SIP: RFC 5626 flow
 * tokens (which client connection a Path or Record-Route names) and normalised AORs
 * (the key that sends every registration of one user to one registrar).
 * Control plane, edge thread; pure functions, no allocation, safe from any thread.
 * Invariant: a token verifies only under the key that made it, and names a connection
 * slot and generation, so a token of a closed connection never reaches its successor.
 */
#ifndef SIPHON_CTL_EDGE_FLOW_H
#define SIPHON_CTL_EDGE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_FLOW_MAC_LEN   16u /**< octets of HMAC-SHA256 kept in a token (128 bits) */
#define EDGE_FLOW_TOKEN_LEN (2u * (4u + 4u + EDGE_FLOW_MAC_LEN)) /**< hex characters */
#define EDGE_FLOW_KEY_MIN   16u  /**< shortest flow key, in octets */
#define EDGE_FLOW_KEY_MAX   64u  /**< longest flow key, in octets */
#define EDGE_AOR_MAX        256u /**< longest normalised AOR, with its NUL */

/** A connection's identity in a token: its table slot and the slot's generation. */
struct edge_flow_id {
	uint32_t slot;
	uint32_t gen;
};

/**
 * Write the token of id under key: EDGE_FLOW_TOKEN_LEN lowercase hex characters and a NUL,
 * slot, generation, then the truncated HMAC-SHA256 of both. out has EDGE_FLOW_TOKEN_LEN+1.
 * @return 0, or -1 when OpenSSL fails (out is then empty).
 */
int edge_flow_token(const uint8_t *key, size_t key_len, struct edge_flow_id id, char *out);

/**
 * Check a token read from a Route or Path URI (tok[0, len), not NUL-terminated).
 * @return 0 and *id when it is well formed and its MAC verifies (in constant time);
 *         -1 otherwise (wrong length, not hex, forged or made under another key).
 *         Whether id still names a live connection is the caller's question.
 */
int edge_flow_check(const uint8_t *key, size_t key_len, const char *tok, size_t len,
                    struct edge_flow_id *id);

/**
 * Normalise the address-of-record of a To (or From) header value: "scheme:user@host", the
 * scheme and host lower-cased, user kept as written (RFC 3261 §19.1.4 compares it
 * case-sensitively), password, port, parameters and headers dropped; a URI without user
 * gives "scheme:host". Display names, quotes and <> are understood.
 *
 * @param v    The header value's octets, v[0, n).
 * @param out  EDGE_AOR_MAX octets; NUL-terminated on success.
 * @return length written, or -1 when the value holds no sip:/sips: URI with a host or the
 *         result would not fit.
 */
int edge_aor_norm(const uint8_t *v, size_t n, char *out);

#endif /* SIPHON_CTL_EDGE_FLOW_H */
