/*
 * cfg_lit.c - the literals of siphon's configuration besides addresses and prefixes
 * (dataplane/core/cfg_addr.c): MAC addresses, names and the state and mode keywords,
 * parsed and written back, and the checks on literals the reader, cfg_validate() and
 * cfg_write() share (cfg_int.h). Control plane and tools only. Invariant: what a
 * *_format() or *_name() writes, the matching *_parse() reads back to the same value.
 */
#include <stdio.h>
#include <string.h>

#include "siphon/cfg.h"
#include "siphon/maglev.h"
#include "siphon/sph.h"
#include "cfg_int.h"

/* ---- MAC literals ---- */

int
cfg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cfg_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (s == NULL || mac == NULL || strlen(s) != 17)
		return -1;
	for (unsigned i = 0; i < 6; i++) {
		int hi = cfg_hex_digit(s[3 * i]), lo = cfg_hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

char *
cfg_mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return buf;
	if (mac == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		         mac[4], mac[5]);
	return buf;
}

int
cfg_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= CFG_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

/* 1..max-1 characters of printable ASCII without space, quote or backslash, so that
 * cfg_write() can put the string back verbatim between quotes. */
int
cfg_quotable_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

/* A kernel interface name for a port's exception path: 1..15 characters of the name
 * alphabet, not "." or ".." (Linux refuses those). No ',' or '=': it is handed to DPDK
 * as a devarg ("iface=NAME"). */
int
cfg_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CFG_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return cfg_name_valid(s);
}

/* Whether a is something one can send to or own: not unspecified, not multicast, not
 * the IPv4 limited broadcast. */
int
cfg_addr_unicast(const struct cfg_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == 4) {
		uint32_t v = (uint32_t)a->a[12] << 24 | (uint32_t)a->a[13] << 16 |
		             (uint32_t)a->a[14] << 8 | a->a[15];

		return v != 0 && (v >> 28) != 0xe && v != 0xffffffffu;
	}
	return memcmp(a->a, zero, 16) != 0 && a->a[0] != 0xff;
}

/* Whether a lies within prefix p of the same family. */
int
cfg_prefix_contains(const struct cfg_prefix *p, const struct cfg_addr *a)
{
	unsigned bits = p->len + (p->addr.family == 4 ? 96u : 0u);

	if (p->addr.family != a->family)
		return 0;
	for (unsigned i = 0; i < bits / 8; i++)
		if (p->addr.a[i] != a->a[i])
			return 0;
	if (bits % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((p->addr.a[bits / 8] ^ a->a[bits / 8]) & mask)
			return 0;
	}
	return 1;
}

int
cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

/* ---- keywords ---- */

static const char *const state_names[] = {
        [MAGLEV_UP] = "up",
        [MAGLEV_DRAIN] = "drain",
        [MAGLEV_DOWN] = "down",
};

static const char *const mode_names[] = {
        [CFG_VIP_L2DSR] = "l2dsr",
        [CFG_VIP_IPIP] = "ipip",
};

const char *
cfg_state_name(uint8_t state)
{
	return state < SPH_ARRAY_SIZE(state_names) ? state_names[state] : "unknown";
}

const char *
cfg_mode_name(uint8_t mode)
{
	return mode < SPH_ARRAY_SIZE(mode_names) ? mode_names[mode] : "unknown";
}

int
cfg_state_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

int
cfg_mode_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < SPH_ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}
