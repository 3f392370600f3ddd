/*
 * backends.h - siphonctl's --backends/--key options turned into a configuration.
 *
 * `scan --backends b1=10.0.0.1,b2=10.0.0.2:5080*2 --key KEY` (or --key-hex) describes one group of
 * backends without writing a file. backends_cfg() turns it into the same struct sph_cfg
 * cfg_load() returns (one group named "backends", no VIPs, the default Maglev size), built
 * by cfg.h's ownership rule so cfg_free() releases it; scan then treats both sources alike.
 */
#ifndef SIPHON_CTL_BACKENDS_H
#define SIPHON_CTL_BACKENDS_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"

/** Name of the one group backends_cfg() builds. */
#define BACKENDS_GROUP "backends"

/**
 * Build a configuration from a backend list and a hash key.
 *
 * @param list    "NAME=ADDR[:PORT][*WEIGHT],...": names as cfg_name_valid() wants, unique;
 *                ADDR as cfg_addr_parse() reads it (IPv6 with a port in brackets); PORT
 *                defaults to CFG_DEFAULT_PORT, WEIGHT (CFG_WEIGHT_MIN..CFG_WEIGHT_MAX) to 1.
 * @param key     Hash key bytes (--key's text, or --key-hex decoded).
 * @param keylen  Its length, CFG_KEY_MIN..CFG_KEY_MAX.
 * @param out     Set to the configuration on success, to NULL on failure.
 * @param err     Receives one line naming the option, the entry and the problem on failure.
 * @param errlen  Size of err.
 * @return 0, or -1 on a syntax error, an invalid value or out of memory.
 */
int backends_cfg(const char *list, const uint8_t *key, size_t keylen, struct sph_cfg **out,
                 char *err, size_t errlen);

#endif /* SIPHON_CTL_BACKENDS_H */
