/*
 * cfg_kcv.c - the hash key's check value (cfg_key_check()): what instances show so that an
 * operator sees at once whether they hash with the same key, without showing the key.
 * HMAC-SHA256 under the key of a fixed label, its first 4 bytes in hex: a keyed PRF says
 * nothing of its key, and 32 bits tell two keys apart but for one pair in 4 billion. The
 * table fingerprints (maglev_fingerprint()) leave the key out; this is its counterpart.
 */
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "siphon/cfg.h"

#define CFG_KCV_LABEL "siphon hash_key check value v1"

int
cfg_key_check(const struct sph_cfg *cfg, char out[CFG_KEY_CHECK_STRLEN])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	out[0] = '\0';
	if (cfg->hash_key == NULL || cfg->hash_key_len == 0 ||
	    HMAC(EVP_sha256(), cfg->hash_key, (int)cfg->hash_key_len,
	         (const unsigned char *)CFG_KCV_LABEL, sizeof(CFG_KCV_LABEL) - 1, mac,
	         &len) == NULL ||
	    len < 4)
		return -1;
	snprintf(out, CFG_KEY_CHECK_STRLEN, "%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3]);
	return 0;
}
