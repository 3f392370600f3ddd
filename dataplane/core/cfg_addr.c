/*
 * cfg_addr.c - address and prefix literals of the configuration (include/siphon/cfg.h):
 * parse "203.0.113.1:5060" / "[2001:db8::1]:5060" / "2001:db8::2/64" into struct cfg_addr
 * and cfg_prefix, and write them back. DPDK-free and allocation-free, in the core because
 * every plane reads or prints addresses: the configuration loader (control/), the
 * dataplane's snapshot and port logs, siphonctl. One address has one spelling here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/cfg.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Fills a from an address without brackets or port; 0 or -1. */
static int
addr_pton(const char *s, size_t n, struct cfg_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->a + 12) == 1) {
		memcpy(a->a, v4_mapped, sizeof(v4_mapped));
		a->family = 4;
		return 0;
	}
	/*
	 * A mapped literal (::ffff:192.0.2.1) would store the same bytes as the IPv4
	 * address with another family: refuse it rather than guess which was meant.
	 */
	if (inet_pton(AF_INET6, buf, a->a) == 1 && memcmp(a->a, v4_mapped, 12) != 0) {
		a->family = 6;
		return 0;
	}
	return -1;
}

/* A decimal port: 0, -1 when not all digits, -2 when not 1..65535. */
static int
port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -2;
	*port = (uint16_t)v;
	return 0;
}

int
cfg_addr_parse(const char *s, struct cfg_addr *a, uint16_t *port)
{
	struct cfg_addr tmp;
	const char *end, *colon;
	uint16_t p = 0;
	int rc;

	if (s == NULL || a == NULL)
		return -1;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || addr_pton(s + 1, (size_t)(end - s - 1), &tmp) < 0 ||
		    tmp.family != 6)
			return -1;
		if (end[1] != '\0') {
			if (end[1] != ':')
				return -1;
			rc = port_parse(end + 2, &p);
			if (rc < 0)
				return rc;
		}
	} else {
		/* One colon is IPv4 with a port; more is a bare IPv6 address, never a port. */
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			if (addr_pton(s, (size_t)(colon - s), &tmp) < 0 || tmp.family != 4)
				return -1;
			rc = port_parse(colon + 1, &p);
			if (rc < 0)
				return rc;
		} else if (addr_pton(s, strlen(s), &tmp) < 0) {
			return -1;
		}
	}
	*a = tmp;
	if (port != NULL)
		*port = p;
	return 0;
}

char *
cfg_addr_format(const struct cfg_addr *a, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (buf == NULL || len == 0)
		return buf;
	if (a != NULL && a->family == 4)
		inet_ntop(AF_INET, a->a + 12, ip, sizeof(ip));
	else if (a != NULL && a->family == 6)
		inet_ntop(AF_INET6, a->a, ip, sizeof(ip));
	if (port == 0)
		snprintf(buf, len, "%s", ip);
	else if (a != NULL && a->family == 6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

int
cfg_prefix_parse(const char *s, struct cfg_prefix *p)
{
	struct cfg_addr a;
	const char *slash;
	unsigned v = 0;
	size_t n;

	if (s == NULL || p == NULL)
		return -1;
	slash = strchr(s, '/');
	if (slash == NULL || addr_pton(s, (size_t)(slash - s), &a) < 0)
		return -1;
	n = strlen(slash + 1);
	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 1; i <= n; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(slash[i] - '0');
	}
	if (v > (a.family == 4 ? 32u : 128u))
		return -2;
	p->addr = a;
	p->len = (uint8_t)v;
	return 0;
}

char *
cfg_prefix_format(const struct cfg_prefix *p, char *buf, size_t len)
{
	char ip[CFG_ADDR_STRLEN];

	if (buf == NULL || len == 0)
		return buf;
	if (p == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "%s/%u", cfg_addr_format(&p->addr, 0, ip, sizeof(ip)), p->len);
	return buf;
}
