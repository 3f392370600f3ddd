/*
 * edge_tickets.c - shared session ticket keys (edge_tickets.h): the key file's parser and
 * the OpenSSL 3 ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb) that encrypts with
 * the file's first key and decrypts with any of them. Each SSL_CTX holds its own copy of
 * the keys in its ex_data, so a context of an older generation that outlives a reload
 * (held by its connections) keeps valid keys until its last reference goes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "edge_tickets.h"

static int tk_idx = -1;
static pthread_once_t tk_once = PTHREAD_ONCE_INIT;

static void
tk_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr != NULL)
		OPENSSL_clear_free(ptr, sizeof(struct edge_tkeys));
}

static void
tk_index(void)
{
	tk_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tk_free);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int
edge_tkeys_load(const char *path, struct edge_tkeys *out, char *err, size_t errlen)
{
	char line[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		snprintf(err, errlen, "edge: ticket_keys %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		lineno++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n')
			goto bad; /* longer than any key: not one */
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
		                 line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (n != 2 * EDGE_TKEY_LEN)
			goto bad;
		if (out->n == EDGE_TKEY_MAX) {
			snprintf(err, errlen, "edge: ticket_keys %s: line %u: more than %u keys",
			         path, lineno, EDGE_TKEY_MAX);
			goto fail;
		}
		uint8_t *k = out->k[out->n];
		for (size_t i = 0; i < EDGE_TKEY_LEN; i++) {
			int hi = hexval((unsigned char)line[2 * i]);
			int lo = hexval((unsigned char)line[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			k[i] = (uint8_t)(hi << 4 | lo);
		}
		/* The name is what a ticket carries to pick its key: two alike would make
		 * decryption pick the wrong one half the time. */
		for (unsigned j = 0; j < out->n; j++)
			if (memcmp(out->k[j], k, 16) == 0) {
				snprintf(err, errlen,
				         "edge: ticket_keys %s: line %u: its name (first 32 hex "
				         "digits) "
				         "is another key's",
				         path, lineno);
				goto fail;
			}
		out->n++;
	}
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	if (out->n == 0) {
		snprintf(err, errlen, "edge: ticket_keys %s: no key (lines of 160 hex digits)",
		         path);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "edge: ticket_keys %s: line %u: a key is 160 hex digits", path,
	         lineno);
fail:
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(out, sizeof(*out));
	return -1;
}

/* OpenSSL's ticket callback. enc: fill the key name and IV, set up cipher and MAC with
 * the current key, 1. Decrypt: the key the ticket names, 1 when it is the current one,
 * 2 when older (OpenSSL then issues a fresh ticket under the current key), 0 when the
 * name is unknown (a full handshake follows; nothing fails). -1 on an internal error. */
static int
tk_cb(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx,
      int enc)
{
	const struct edge_tkeys *tk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), tk_idx);
	unsigned i = 0;

	if (tk == NULL || tk->n == 0)
		return enc ? -1 : 0;
	if (!enc) {
		while (i < tk->n && memcmp(tk->k[i], name, 16) != 0)
			i++;
		if (i == tk->n)
			return 0;
	}
	const uint8_t *k = tk->k[i];
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)(k + 16), 32),
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	        OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		memcpy(name, k, 16);
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
		    EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k + 48, iv) != 1)
			return -1;
		return 1;
	}
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k + 48, iv) != 1)
		return -1;
	return i == 0 ? 1 : 2;
}

int
edge_tkeys_attach(SSL_CTX *ctx, const struct edge_tkeys *k, char *err, size_t errlen)
{
	struct edge_tkeys *copy;

	pthread_once(&tk_once, tk_index);
	if (tk_idx < 0 || (copy = OPENSSL_malloc(sizeof(*copy))) == NULL) {
		snprintf(err, errlen, "edge: ticket_keys: out of memory");
		return -1;
	}
	memcpy(copy, k, sizeof(*copy));
	if (SSL_CTX_set_ex_data(ctx, tk_idx, copy) != 1) {
		OPENSSL_clear_free(copy, sizeof(*copy));
		snprintf(err, errlen, "edge: ticket_keys: out of memory");
		return -1;
	}
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tk_cb);
	return 0;
}
