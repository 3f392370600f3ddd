/*
 * cfg_int.h - helpers control/cfg*.c share and nothing else may use: the checks on
 * literals cfg_lit.c implements for the reader, cfg_validate() and cfg_write().
 * Control plane and tools only.
 */
#ifndef SIPHON_CFG_INT_H
#define SIPHON_CFG_INT_H

#include <stddef.h>

#include "siphon/cfg.h"

/* The value of a hex digit, or -1. */
int cfg_hex_digit(char c);

/* 1..max-1 characters of printable ASCII without space, quote or backslash, so that
 * cfg_write() can put the string back verbatim between quotes. */
int cfg_quotable_valid(const char *s, size_t max);

/* A kernel interface name for a port's exception path (1..15 name characters, not "."
 * or ".."). */
int cfg_ifname_valid(const char *s);

/* Whether a is something one can send to or own: not unspecified, multicast or the IPv4
 * limited broadcast. */
int cfg_addr_unicast(const struct cfg_addr *a);

/* Whether a lies within prefix p of the same family. */
int cfg_prefix_contains(const struct cfg_prefix *p, const struct cfg_addr *a);

int cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b);

#endif /* SIPHON_CFG_INT_H */
