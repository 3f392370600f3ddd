/*
 * edge_tickets.h - TLS session ticket keys shared by edge instances (issue 9): read from
 * edge.ticket_keys, one key a line, so every instance behind one ECMP group encrypts
 * tickets alike and a client resumes on whichever instance its next connection reaches.
 * The first key encrypts; the others only decrypt (rotation). Loaded by edge.c when it
 * builds a generation of TLS contexts (at start and on `siphonctl tls reload`).
 */
#ifndef SIPHON_CTL_EDGE_TICKETS_H
#define SIPHON_CTL_EDGE_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define EDGE_TKEY_LEN 80u /**< octets of a key: name 16, HMAC-SHA256 32, AES-256 32 */
#define EDGE_TKEY_MAX 8u  /**< keys a file may hold: the current one and 7 older */

/** A key file's contents, in file order ([0] encrypts). */
struct edge_tkeys {
	unsigned n;
	uint8_t k[EDGE_TKEY_MAX][EDGE_TKEY_LEN];
};

/**
 * Read a key file: lines of 160 hex digits (`openssl rand -hex 80`); blank lines and
 * lines starting with '#' are skipped. Any thread.
 * @return 0 with *out, or -1 with one line in err naming the file and line at fault
 *         (missing, a line not 160 hex digits, no key, more than EDGE_TKEY_MAX, two
 *         keys of one name).
 */
int edge_tkeys_load(const char *path, struct edge_tkeys *out, char *err, size_t errlen);

/**
 * Make ctx encrypt and decrypt its tickets with a copy of k (freed, cleansed, with ctx).
 * @return 0, or -1 (out of memory) with err set.
 */
int edge_tkeys_attach(SSL_CTX *ctx, const struct edge_tkeys *k, char *err, size_t errlen);

#endif /* SIPHON_CTL_EDGE_TICKETS_H */
