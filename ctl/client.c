/*
 * client.c - siphonctl's control socket commands: show, backend, acl, rules, reload, shutdown,
 * log-level, dispatch. Each sends one JSON request line to the daemon's socket
 * (docs/control.md), reads one reply line, and prints it as a table, or as JSON with
 * --json. Exit status: 0 done, 1 the daemon refused (its reason on stderr), 2 usage,
 * 3 the daemon cannot be reached (no socket, refused connection, no or garbled reply).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "siphon/cfg.h"
#include "ctl.h"

#ifndef CTL_EXIT_CONNECT
#define CTL_EXIT_CONNECT 3
#endif

#define CLIENT_TIMEOUT_S 60          /* a reload of a large file, a grace period */
#define CLIENT_REPLY_MAX (64u << 20) /* largest reply accepted */

/* Global options given before the command (siphonctl.c) or after it. */
const char *ctl_client_socket;
int ctl_client_json;

/* Options and positional arguments of one command line. */
struct client_args {
	const char *pos[8];
	int nb_pos;
	const char *weight, *state, *mac, *vip;
	bool help;
};

static const char *
client_socket_path(void)
{
	const char *env = getenv("SIPHON_SOCKET");

	if (ctl_client_socket != NULL)
		return ctl_client_socket;
	return env != NULL && *env != '\0' ? env : CFG_CONTROL_SOCKET;
}

/* Parse argv (argv[0] is the command): --socket, --json, --help, and the options in
 * allowed ("wsmv": --weight --state --mac --vip). @return 0, or CTL_EXIT_USAGE. */
static int
client_parse(int argc, char **argv, const char *allowed, struct client_args *a)
{
	static const struct option lo[] = {
	        {"socket", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},         {"weight", required_argument, NULL, 'w'},
	        {"state", required_argument, NULL, 's'},  {"mac", required_argument, NULL, 'm'},
	        {"vip", required_argument, NULL, 'v'},    {NULL, 0, NULL, 0},
	};
	/* getopt reads "-1" as an option: a negative number where an argument goes ("backend
	 * weight b1 -1") is hidden from it behind a placeholder of its own and put back
	 * after, so that the daemon's range check answers, not "unknown option". */
	static char hidden[8][2];
	const char *shown[8];
	unsigned nb_hidden = 0;
	int c;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		bool value = i > 1 && strncmp(argv[i - 1], "--", 2) == 0 &&
		             strchr(argv[i - 1], '=') == NULL &&
		             strcmp(argv[i - 1], "--json") != 0 &&
		             strcmp(argv[i - 1], "--help") != 0;

		if (!value && argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9' &&
		    nb_hidden < sizeof(hidden) / sizeof(hidden[0])) {
			hidden[nb_hidden][0] = '\x01';
			shown[nb_hidden] = argv[i];
			argv[i] = hidden[nb_hidden++];
		}
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c != '?' && c != ':' && strchr("Sjh", c) == NULL && strchr(allowed, c) == NULL)
			c = '?';
		switch (c) {
		case 'S':
			ctl_client_socket = optarg;
			break;
		case 'j':
			ctl_client_json = 1;
			break;
		case 'h':
			a->help = true;
			break;
		case 'w':
			a->weight = optarg;
			break;
		case 's':
			a->state = optarg;
			break;
		case 'm':
			a->mac = optarg;
			break;
		case 'v':
			a->vip = optarg;
			break;
		default:
			fprintf(stderr, CTL_PROG " %s: unknown option or missing value: %s\n",
			        argv[0], argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
	}
	for (int i = 1; i < argc; i++) /* argv as it came, for whoever reads it next */
		for (unsigned h = 0; h < nb_hidden; h++)
			if (argv[i] == hidden[h])
				argv[i] = (char *)shown[h];
	for (int i = optind; i < argc; i++) {
		if (a->nb_pos == (int)(sizeof(a->pos) / sizeof(a->pos[0]))) {
			fprintf(stderr, CTL_PROG " %s: too many arguments\n", argv[0]);
			return CTL_EXIT_USAGE;
		}
		a->pos[a->nb_pos++] = argv[i];
	}
	return 0;
}

/* A decimal integer, or CTL_EXIT_USAGE with a message. */
static int
client_int(const char *cmd, const char *what, const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0) {
		fprintf(stderr, CTL_PROG " %s: %s must be an integer, got \"%s\"\n", cmd, what, s);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static int
client_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Send req (taken) and read the reply. @return CTL_EXIT_OK with *reply set (ok or not),
 * or CTL_EXIT_CONNECT with a message printed.
 */
static int
client_call(json_t *req, json_t **reply)
{
	const char *path = client_socket_path();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
	size_t len = 0, cap = 0;
	char *line, *buf = NULL, *nl = NULL;
	json_error_t je;
	int fd, send_errno = 0;

	*reply = NULL;
	line = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (line == NULL) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		return CTL_EXIT_CONNECT;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, CTL_PROG ": socket path too long: %s\n", path);
		free(line);
		return CTL_EXIT_CONNECT;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr,
		        CTL_PROG ": cannot connect to %s: %s (is siphon running? --socket)\n", path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		free(line);
		return CTL_EXIT_CONNECT;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* A daemon that refuses a client (credentials, too many clients) says why and
	 * closes: the send may fail, the reason is still there to read. */
	if (client_write_all(fd, line, strlen(line)) != 0 || client_write_all(fd, "\n", 1) != 0)
		send_errno = errno;
	free(line);
	line = NULL;
	while (nl == NULL) {
		ssize_t n;

		if (cap - len < 4096) {
			char *g =
			        cap < CLIENT_REPLY_MAX ? realloc(buf, cap ? cap * 2 : 65536) : NULL;

			if (g == NULL) {
				fprintf(stderr, CTL_PROG ": reply too large\n");
				goto fail;
			}
			buf = g;
			cap = cap ? cap * 2 : 65536;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (send_errno != 0)
				fprintf(stderr, CTL_PROG ": cannot send to %s: %s\n", path,
				        strerror(send_errno));
			else
				fprintf(stderr,
				        CTL_PROG ": %s closed the connection without a reply%s%s\n",
				        path, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			goto fail;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	close(fd);
	*reply = json_loadb(buf, (size_t)(nl - buf), 0, &je);
	free(buf);
	if (!json_is_object(*reply) || !json_is_boolean(json_object_get(*reply, "ok"))) {
		fprintf(stderr, CTL_PROG ": malformed reply from %s\n", path);
		json_decref(*reply);
		*reply = NULL;
		return CTL_EXIT_CONNECT;
	}
	return CTL_EXIT_OK;
fail:
	close(fd);
	free(line);
	free(buf);
	return CTL_EXIT_CONNECT;
}

/* ---- printing ---- */

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static long long
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
print_vips(const json_t *r)
{
	const json_t *a = json_object_get(r, "vips"), *v;
	size_t i;

	printf("%-40s %-16s %-16s %s\n", "VIP", "PORTS", "GROUP", "MODE");
	json_array_foreach(a, i, v)
	{
		char ports[256] = "";
		size_t o = 0, j;
		const json_t *p;

		json_array_foreach(json_object_get(v, "ports"), j, p)
		{
			if (o < sizeof(ports))
				o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%lld",
				                      j ? "," : "", json_integer_value(p));
		}
		printf("%-40s %-16s %-16s %s\n", jstr(v, "address"), ports, jstr(v, "group"),
		       jstr(v, "mode"));
	}
}

/* show announce: one line of BIRD's state, then one per VIP address. */
static void
print_announce(const json_t *r)
{
	const json_t *o = json_object_get(r, "announce"), *v, *f;
	const char *k;
	size_t i;

	if (!json_is_object(o)) {
		printf("not announcing (no announce block in the configuration)\n");
		return;
	}
	printf("file %s, BIRD at %s, routes %s%s%s\n", jstr(o, "file"), jstr(o, "bird_socket"),
	       jstr(o, "route"), json_is_true(json_object_get(o, "withdrawn")) ? ", withdrawn" : "",
	       json_is_true(json_object_get(o, "pending")) ? ", BIRD not yet confirmed" : "");
	printf("reconfigures %lld, failures", jint(o, "reconfigures"));
	json_object_foreach((json_t *)json_object_get(o, "failures"), k, f)
	        printf(" %s=%lld", k, json_integer_value(f));
	printf("\n");
	if (jstr(o, "last_error")[0] != '\0')
		printf("last error: %s\n", jstr(o, "last_error"));
	printf("%-40s %-9s %s\n", "VIP", "SERVABLE", "ANNOUNCED");
	json_array_foreach(json_object_get(o, "vips"), i, v)
	        printf("%-40s %-9s %s\n", jstr(v, "address"),
	               json_is_true(json_object_get(v, "servable")) ? "yes" : "no",
	               json_is_true(json_object_get(v, "announced")) ? "yes" : "no");
}

/* show mirror: the collector and sampling, then the counters on one line. */
static void
print_mirror(const json_t *r)
{
	const json_t *o = json_object_get(r, "mirror"), *v;
	const char *k;

	if (!json_is_object(o)) {
		printf("not mirroring (no mirror block in the configuration)\n");
		return;
	}
	printf("HEPv3 to %s, agent id %lld, ", jstr(o, "collector"), jint(o, "agent_id"));
	if (jint(o, "sample") == 0)
		printf("no sampling (marked calls only)");
	else
		printf("1 call in %lld", jint(o, "sample"));
	printf(", budget %lld a burst, marked calls for %lld s\n", jint(o, "budget"),
	       jint(o, "call_timeout"));
	json_object_foreach((json_t *)json_object_get(o, "counters"), k, v)
	        printf("%s %lld ", k, json_integer_value(v));
	printf("\n");
}

static void
print_groups(const json_t *r)
{
	const json_t *a = json_object_get(r, "groups"), *g;
	size_t i;

	/* FINGERPRINT is what instances compare (docs/siphonctl.md); PREV, the table of an open
	 * transition window, "-" in steady state; PANIC, whether the group dispatches over
	 * every backend as if healthy (its panic_threshold). */
	printf("%-16s %8s %4s %6s %5s %5s %9s  %-16s  %-16s  %s\n", "GROUP", "BACKENDS", "UP",
	       "DRAIN", "DOWN", "PANIC", "WEIGHT-UP", "FINGERPRINT", "PREV", "VIPS");
	json_array_foreach(a, i, g)
	{
		const json_t *v;
		size_t j;

		printf("%-16s %8lld %4lld %6lld %5lld %5s %9lld  %-16s  %-16s  ", jstr(g, "name"),
		       jint(g, "backends"), jint(g, "up"), jint(g, "drain"), jint(g, "down"),
		       json_is_true(json_object_get(g, "panic")) ? "yes" : "no",
		       jint(g, "weight_up"), jstr(g, "fingerprint"), jstr(g, "prev_fingerprint"));
		json_array_foreach(json_object_get(g, "vips"), j, v)
		{
			printf("%s%s", j ? "," : "", json_string_value(v));
		}
		printf("%s\n", json_array_size(json_object_get(g, "vips")) == 0 ? "-" : "");
	}
	/* Equal on instances that hash with the same key (docs/scale-out.md). */
	if (json_is_string(json_object_get(r, "key_check")))
		printf("hash_key check value %s\n", jstr(r, "key_check"));
}

/* A round trip in microseconds as milliseconds, "-" when null (no reply yet). */
static const char *
jms(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%.2f", (double)json_integer_value(v) / 1000.0);
	return buf;
}

static void
print_backends(const json_t *r)
{
	const json_t *a = json_object_get(r, "backends"), *b;
	size_t i;

	/* STATE is what the operator configured; DISPATCH what the tables do with it once
	 * health checks have had their say (HEALTH, the last reply CODE, round trips). */
	printf("%-16s %-12s %-40s %6s %-5s %-10s %-8s %4s %8s %8s %-10s %8s %10s %12s %9s %9s\n",
	       "BACKEND", "GROUP", "ADDRESS", "WEIGHT", "STATE", "HEALTH", "DISPATCH", "CODE",
	       "RTT_MS", "EWMA_MS", "NEIGHBOR", "SLOTS", "PACKETS", "BYTES", "REQUESTS",
	       "RESPONSES");
	json_array_foreach(a, i, b)
	{
		const json_t *c = json_object_get(b, "counters");
		struct cfg_addr ad;
		char addr[CFG_ADDR_STRLEN], code[8], rtt[24], ewma[24];
		uint16_t port;

		/* address and port as one, in the configuration's notation */
		if (cfg_addr_parse(jstr(b, "address"), &ad, &port) == 0)
			cfg_addr_format(&ad, (uint16_t)jint(b, "port"), addr, sizeof(addr));
		else
			snprintf(addr, sizeof(addr), "%s", jstr(b, "address"));
		if (json_is_integer(json_object_get(b, "last_code")))
			snprintf(code, sizeof(code), "%lld", jint(b, "last_code"));
		else
			snprintf(code, sizeof(code), "-");
		printf("%-16s %-12s %-40s %6lld %-5s %-10s %-8s %4s %8s %8s %-10s %8lld %10lld "
		       "%12lld "
		       "%9lld %9lld\n",
		       jstr(b, "name"), jstr(b, "group"), addr, jint(b, "weight"), jstr(b, "state"),
		       jstr(b, "health"), jstr(b, "effective"), code,
		       jms(b, "rtt_last_us", rtt, sizeof(rtt)),
		       jms(b, "rtt_ewma_us", ewma, sizeof(ewma)), jstr(b, "neighbor"),
		       jint(b, "table_slots"), jint(c, "packets"), jint(c, "bytes"),
		       jint(c, "requests"), jint(c, "responses"));
	}
}

static void
print_stats(const json_t *r)
{
	static const char *const drops[] = {"pkt_drops", "sip_drops"};
	const json_t *c = json_object_get(r, "counters"), *v;
	const char *k;
	bool any = false;

	printf("generation %lld, up %llds, %lld workers, %lld backends, %lld VIPs\n",
	       jint(r, "generation"), jint(r, "uptime_s"), jint(r, "workers"), jint(r, "backends"),
	       jint(r, "vips"));
	json_object_foreach((json_t *)c, k, v)
	{
		printf("  %-18s %lld\n", k, json_integer_value(v));
	}
	printf("  drops:");
	for (size_t d = 0; d < 2; d++)
		json_object_foreach(json_object_get(r, drops[d]), k, v)
		{
			if (json_integer_value(v) != 0) {
				printf(" %s.%s %lld", d == 0 ? "pkt" : "sip", k,
				       json_integer_value(v));
				any = true;
			}
		}
	printf("%s\n", any ? "" : " none");
	any = false;
	printf("  forwarded with anomalies:");
	json_object_foreach(json_object_get(r, "sip_anomalies"), k, v)
	{
		if (json_integer_value(v) != 0) {
			printf(" sip.%s %lld", k, json_integer_value(v));
			any = true;
		}
	}
	printf("%s\n", any ? "" : " none");
}

static void
print_acl(const json_t *r)
{
	const json_t *v, *p, *l;
	const char *k;
	size_t i, j;

	json_array_foreach(json_object_get(r, "acl"), i, v)
	{
		printf("VIP %s: %lld trusted, %lld blocked; limits", jstr(v, "vip"),
		       jint(v, "nb_trusted"), jint(v, "nb_blocked"));
		if (json_object_size(json_object_get(v, "limits")) == 0)
			printf(" none");
		json_object_foreach((json_t *)json_object_get(v, "limits"), k, l)
		        printf(" %s %lld/s burst %lld", k, jint(l, "rate"), jint(l, "burst"));
		printf("\n");
		json_array_foreach(json_object_get(v, "trusted"), j, p)
		        printf("  trusted %s\n", json_string_value(p));
		json_array_foreach(json_object_get(v, "blocked"), j, p)
		        printf("  blocked %s\n", json_string_value(p));
		if (json_array_size(json_object_get(v, "trusted")) <
		            (size_t)jint(v, "nb_trusted") ||
		    json_array_size(json_object_get(v, "blocked")) < (size_t)jint(v, "nb_blocked"))
			printf("  ... (--json with show acl VIP lists more: max)\n");
	}
}

static void
print_limited(const json_t *r)
{
	const json_t *d = json_object_get(r, "drops"), *o;
	size_t i;

	printf("dropped over a limit: invite %lld, register %lld, options %lld, other %lld; "
	       "blocked tier %lld\n",
	       jint(d, "invite"), jint(d, "register"), jint(d, "options"), jint(d, "other"),
	       jint(d, "blocked"));
	printf("%-44s %-40s %-9s %12s %12s\n", "SOURCE", "VIP", "CLASS", "DROPS", "PASSED");
	json_array_foreach(json_object_get(r, "limited"), i, o)
	        printf("%-44s %-40s %-9s %12lld %12lld\n", jstr(o, "source"), jstr(o, "vip"),
	               jstr(o, "class"), jint(o, "drops"), jint(o, "passed"));
}

/* A time since 1970 in seconds as the UTC "2026-12-02T17:03:46Z"; "-" for null. */
static const char *
fmt_when(const json_t *t, char *buf, size_t len)
{
	time_t sec;
	struct tm tm;

	if (!json_is_number(t))
		return "-";
	sec = (time_t)json_number_value(t);
	if (gmtime_r(&sec, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

static void
print_rules(const json_t *r)
{
	const json_t *c = json_object_get(r, "counters"), *o, *v;
	const char *k;
	size_t i;
	char when[32];

	printf("%zu rules, generation %lld; dropped %lld, rejected %lld, routed %lld, tagged "
	       "%lld, mirrored %lld, undecided %lld; database %lld bytes, scratch %lld bytes\n",
	       json_array_size(json_object_get(r, "rules")), jint(r, "generation"), jint(c, "drop"),
	       jint(c, "reject"), jint(c, "route"), jint(c, "tag"), jint(c, "mirror"),
	       jint(c, "undecided"), jint(r, "db_bytes"), jint(r, "scratch_bytes"));
	printf("%-32s %-16s %12s  %-20s %s\n", "NAME", "ACTION", "MATCHES", "LAST MATCH", "MATCH");
	json_array_foreach(json_object_get(r, "rules"), i, o)
	{
		char act[CFG_NAME_MAX + 24];
		bool first = true;

		if (json_is_string(json_object_get(o, "group")))
			snprintf(act, sizeof(act), "route:%s", jstr(o, "group"));
		else if (json_is_string(json_object_get(o, "class")))
			snprintf(act, sizeof(act), "limit:%s", jstr(o, "class"));
		else
			snprintf(act, sizeof(act), "%s", jstr(o, "action"));
		printf("%-32s %-16s %12lld  %-20s", jstr(o, "name"), act, jint(o, "matches"),
		       fmt_when(json_object_get(o, "last_match"), when, sizeof(when)));
		json_object_foreach((json_t *)json_object_get(o, "match"), k, v)
		{
			printf("%s%s~/%s/%s", first ? " " : " && ", k, json_string_value(v),
			       json_is_true(json_object_get(o, "caseless")) ? "i" : "");
			first = false;
		}
		if (json_is_string(json_object_get(o, "vip")))
			printf(" vip %s", jstr(o, "vip"));
		if (json_array_size(json_object_get(o, "source")) > 0)
			printf(" source %zu prefixes",
			       json_array_size(json_object_get(o, "source")));
		printf("\n");
	}
}

static void
print_rules_load(const json_t *r)
{
	printf("applied: generation %lld, %lld rules\n", jint(r, "generation"), jint(r, "rules"));
}

static void
print_change(const json_t *r)
{
	const json_t *n;
	size_t i;

	if (json_is_false(json_object_get(r, "changed")))
		printf("unchanged: generation %lld\n", jint(r, "generation"));
	else
		printf("applied: generation %lld\n", jint(r, "generation"));
	json_array_foreach(json_object_get(r, "notes"), i, n)
	{
		printf("note: %s\n", json_string_value(n));
	}
}

static void
print_dispatch(const json_t *r)
{
	const json_t *b = json_object_get(r, "backend");

	printf("Call-ID \"%s\" (group %s, VIP %s): hash %s, slot %lld of %lld -> ",
	       jstr(r, "call_id"), jstr(r, "group"), jstr(r, "vip"), jstr(r, "hash"),
	       jint(r, "slot"), jint(r, "table_size"));
	if (json_is_string(b))
		printf("%s (%s)\n", json_string_value(b), jstr(r, "address"));
	else
		printf("no backend up: dropped\n");
}

static void
print_log_level(const json_t *r)
{
	printf("log level %s (was %s)\n", jstr(r, "level"), jstr(r, "previous"));
}

/* The edge's figures, grouped as docs/edge.md#metrics describes them. */
static void
print_edge(const json_t *r)
{
	const json_t *e = json_object_get(r, "edge"), *v;
	const char *k;
	int col = 0;

	if (!json_is_object(e)) {
		printf("no edge running\n");
		return;
	}
	printf("connections: %lld open (%lld in handshake, %lld established), %lld flows\n",
	       jint(e, "conns_open"), jint(e, "conns_handshake"), jint(r, "conns_established"),
	       jint(e, "flows"));
	printf("handshakes: %lld ok (%lld resumed), %lld failed, %lld timed out\n",
	       jint(e, "handshakes_ok"), jint(e, "handshakes_resumed"), jint(e, "closed_handshake"),
	       jint(e, "closed_handshake_timeout"));
	printf("messages: %lld in, %lld out, %lld to backends, %lld from backends, "
	       "%lld answered 430\n",
	       jint(e, "msgs_in"), jint(e, "to_client"), jint(e, "to_backend"),
	       jint(e, "from_backend"), jint(e, "flow_failed"));
	printf("bytes: %lld in, %lld out\n", jint(e, "bytes_in"), jint(e, "bytes_out"));
	printf("storm control: accepting paused %lld times, %lld refused over a source's "
	       "handshake rate, %lld REGISTERs answered 503\n",
	       jint(e, "accept_paused"), jint(e, "refused_hs_per_ip"), jint(e, "register_503"));
	printf("retransmissions to backends: %lld sent, %lld timed out (%lld told 408), "
	       "%lld untracked, %lld waiting\n",
	       jint(e, "rtx_sent"), jint(e, "rtx_timeout"), jint(e, "rtx_408"),
	       jint(e, "rtx_untracked"), jint(e, "rtx_pending"));
	printf("memory: %lld allocated, %lld resident, %lld per open connection\n",
	       jint(r, "mem_allocated"), jint(r, "mem_resident"), jint(r, "mem_per_conn"));
	printf("certificate reloads: %lld done, %lld refused%s\n", jint(e, "tls_reloads"),
	       jint(e, "tls_reload_failed"),
	       json_is_true(json_object_get(r, "tls")) ? "" : " (no TLS)");
	printf("counters:\n");
	json_object_foreach((json_t *)e, k, v)
	{
		printf("  %-26s %-12lld%s", k, json_integer_value(v), ++col % 2 == 0 ? "\n" : "");
	}
	if (col % 2 != 0)
		printf("\n");
}

static void
print_tls_reload(const json_t *r)
{
	(void)r;
	printf("certificates reloaded: new handshakes use them, connections stay\n");
}

/* Send, then print the reply with how (human form) or as JSON. */
static int
client_run(json_t *req, void (*how)(const json_t *))
{
	json_t *reply;
	int rc;

	if (req == NULL) { /* json_pack() refuses text that is not UTF-8 */
		fprintf(stderr, CTL_PROG ": arguments must be valid UTF-8\n");
		return CTL_EXIT_USAGE;
	}
	rc = client_call(req, &reply);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_client_json) {
		char *s = json_dumps(reply, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, CTL_PROG ": %s\n", jstr(reply, "error"));
		json_decref(reply);
		return CTL_EXIT_ERR;
	}
	if (!ctl_client_json) {
		if (how != NULL)
			how(reply);
		else
			printf("%s", jstr(reply, "config"));
	}
	json_decref(reply);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERR;
}

/* ---- commands ---- */

#define CLIENT_COMMON                                                                              \
	"  --socket PATH  control socket (default $SIPHON_SOCKET, else " CFG_CONTROL_SOCKET ")\n"  \
	"  --json         print the daemon's reply as JSON\n"

void
show_usage(FILE *out)
{
	fprintf(out, "usage: " CTL_PROG " [--socket PATH] [--json] show "
	             "vips|groups|config|stats|announce|limited|edge|mirror|rules\n"
	             "       " CTL_PROG " [--socket PATH] [--json] show backends [GROUP]\n"
	             "       " CTL_PROG " [--socket PATH] [--json] show acl [VIP]\n\n"
	             "Show what the running daemon serves: VIPs, groups, backends (state, weight,\n"
	             "health, neighbour, share of the Maglev table, counters), statistics, the\n"
	             "active configuration (a valid configuration file; it holds the hash "
	             "key), the\nVIP announcement through BIRD (docs/bgp.md), each VIP's allowlist "
	             "tiers and\nrate limits, or the sources over a limit, most dropped first\n"
	             "(docs/protection.md), the TLS/TCP edge's connections, counters and\n"
	             "memory (docs/edge.md), the HEP mirror and its counters, or the operator\n"
	             "rules with their matches (docs/protection.md).\n\n" CLIENT_COMMON
	             "exit status: 0 ok, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
show_run(int argc, char **argv)
{
	static const struct {
		const char *what, *cmd;
		void (*how)(const json_t *);
	} whats[] = {
	        {"vips", "show-vips", print_vips},
	        {"groups", "show-groups", print_groups},
	        {"backends", "show-backends", print_backends},
	        {"stats", "show-stats", print_stats},
	        {"config", "show-config", NULL},
	        {"announce", "show-announce", print_announce},
	        {"acl", "show-acl", print_acl},
	        {"limited", "show-limited", print_limited},
	        {"edge", "show-edge", print_edge},
	        {"mirror", "show-mirror", print_mirror},
	        {"rules", "show-rules", print_rules},
	};
	struct client_args a;
	json_t *req;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		show_usage(stdout);
		return CTL_EXIT_OK;
	}
	for (size_t i = 0; a.nb_pos >= 1 && i < sizeof(whats) / sizeof(whats[0]); i++) {
		if (strcmp(a.pos[0], whats[i].what) != 0)
			continue;
		bool acl = strcmp(whats[i].what, "acl") == 0;

		if (a.nb_pos > (strcmp(whats[i].what, "backends") == 0 || acl ? 2 : 1))
			break;
		req = json_pack("{s:s}", "cmd", whats[i].cmd);
		if (req != NULL && a.nb_pos == 2)
			json_object_set_new(req, acl ? "vip" : "group", json_string(a.pos[1]));
		/* One VIP asked for: all of its prefixes. */
		if (req != NULL && acl && a.nb_pos == 2)
			json_object_set_new(req, "max", json_integer(CFG_ACL_MAX));
		return client_run(req, whats[i].how);
	}
	show_usage(stderr);
	return CTL_EXIT_USAGE;
}

void
backend_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " backend add GROUP NAME ADDR[:PORT] [--weight W] [--state S] "
	        "[--mac MAC]\n"
	        "       " CTL_PROG " backend remove NAME\n"
	        "       " CTL_PROG " backend weight NAME W\n"
	        "       " CTL_PROG " backend state NAME up|down|drain\n\n"
	        "Change the running daemon's backends. Each change is validated whole and\n"
	        "applied as one generation, or refused with the reason and nothing changed.\n"
	        "Changes last until the next reload or restart: write them to the file "
	        "too.\n\n" CLIENT_COMMON
	        "exit status: 0 applied, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
backend_run(int argc, char **argv)
{
	struct client_args a;
	long long v;
	json_t *req = NULL;
	int rc = client_parse(argc, argv, "wsm", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		backend_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos == 4 && strcmp(a.pos[0], "add") == 0) {
		req = json_pack("{s:s,s:s,s:s,s:s}", "cmd", "backend-add", "group", a.pos[1],
		                "name", a.pos[2], "address", a.pos[3]);
		if (req != NULL && a.weight != NULL) {
			if (client_int("backend add", "--weight", a.weight, &v) != 0) {
				json_decref(req);
				return CTL_EXIT_USAGE;
			}
			json_object_set_new(req, "weight", json_integer(v));
		}
		if (req != NULL && a.state != NULL)
			json_object_set_new(req, "state", json_string(a.state));
		if (req != NULL && a.mac != NULL)
			json_object_set_new(req, "mac", json_string(a.mac));
		if (req == NULL)
			return client_run(NULL, NULL);
	} else if (a.weight != NULL || a.state != NULL || a.mac != NULL) {
		fprintf(stderr, CTL_PROG " backend: --weight, --state and --mac go with add\n");
		return CTL_EXIT_USAGE;
	} else if (a.nb_pos == 2 && strcmp(a.pos[0], "remove") == 0) {
		req = json_pack("{s:s,s:s}", "cmd", "backend-remove", "name", a.pos[1]);
	} else if (a.nb_pos == 3 && strcmp(a.pos[0], "weight") == 0) {
		if (client_int("backend weight", "the weight", a.pos[2], &v) != 0)
			return CTL_EXIT_USAGE;
		req = json_pack("{s:s,s:s,s:I}", "cmd", "backend-weight", "name", a.pos[1],
		                "weight", (json_int_t)v);
	} else if (a.nb_pos == 3 && strcmp(a.pos[0], "state") == 0) {
		req = json_pack("{s:s,s:s,s:s}", "cmd", "backend-state", "name", a.pos[1], "state",
		                a.pos[2]);
	}
	if (req == NULL) {
		backend_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return client_run(req, print_change);
}

void
acl_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " [--socket PATH] [--json] acl add VIP trusted|blocked PREFIX\n"
	        "       " CTL_PROG
	        " [--socket PATH] [--json] acl remove VIP trusted|blocked PREFIX\n\n"
	        "Change a VIP's allowlist tiers (docs/protection.md): trusted sources are never\n"
	        "rate-limited, blocked ones always dropped. VIP is ADDR or ADDR:PORT, PREFIX is\n"
	        "ADDR/LEN or an address. Each change is validated whole and applied as one\n"
	        "generation, hitlessly, or refused with the reason and nothing changed. Changes\n"
	        "last until the next reload or restart: write them to the file (trusted,\n"
	        "blocked or acl_file) too. '" CTL_PROG " show acl' lists them.\n\n" CLIENT_COMMON
	        "exit status: 0 applied, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
acl_run(int argc, char **argv)
{
	struct client_args a;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		acl_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 4 || (strcmp(a.pos[0], "add") != 0 && strcmp(a.pos[0], "remove") != 0)) {
		acl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return client_run(json_pack("{s:s,s:s,s:s,s:s}", "cmd",
	                            strcmp(a.pos[0], "add") == 0 ? "acl-add" : "acl-remove", "vip",
	                            a.pos[1], "tier", a.pos[2], "prefix", a.pos[3]),
	                  print_change);
}

void
rules_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " [--socket PATH] [--json] rules load FILE\n"
	        "       " CTL_PROG " [--socket PATH] [--json] rules remove NAME\n\n"
	        "Change the running daemon's operator rules (docs/protection.md). load replaces\n"
	        "the whole list by FILE's, a file of one rules = ( ... ); setting (the daemon\n"
	        "reads it: give a path it can open), compiled before anything changes: a pattern\n"
	        "Hyperscan refuses is refused with the rule's name and Hyperscan's message.\n"
	        "remove drops one rule. Each change is one generation, hitless; rules whose\n"
	        "names stay keep their counters. Changes last until the next reload or restart,\n"
	        "which read the configuration's rules: @include FILE there to keep them.\n"
	        "'" CTL_PROG " show rules' lists them.\n\n" CLIENT_COMMON
	        "exit status: 0 applied, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
rules_run(int argc, char **argv)
{
	struct client_args a;
	char *path;
	json_t *req;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		rules_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos == 2 && strcmp(a.pos[0], "remove") == 0)
		return client_run(json_pack("{s:s,s:s}", "cmd", "rules-remove", "name", a.pos[1]),
		                  print_change);
	if (a.nb_pos != 2 || strcmp(a.pos[0], "load") != 0) {
		rules_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	/* The daemon reads the file from its own working directory: send it absolute. */
	path = realpath(a.pos[1], NULL);
	if (path == NULL) {
		fprintf(stderr, CTL_PROG " rules load: %s: %s\n", a.pos[1], strerror(errno));
		return CTL_EXIT_ERR;
	}
	req = json_pack("{s:s,s:s}", "cmd", "rules-load", "file", path);
	free(path);
	return client_run(req, print_rules_load);
}

static void
print_shutdown(const json_t *r)
{
	if (strcmp(jstr(r, "stopping"), "now") == 0)
		printf("stopping now\n");
	else
		printf("withdrawing the VIPs, then stopping after %lld ms of forwarding\n",
		       jint(r, "drain_ms"));
}

void
shutdown_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " [--socket PATH] [--json] shutdown\n\n"
	        "Stop the daemon gracefully, as SIGTERM does: withdraw every VIP from BIRD,\n"
	        "keep forwarding for announce.shutdown_drain_ms while the routers move the\n"
	        "traffic away, then stop. Without an announce block, or asked a second time, it\n"
	        "stops at once (docs/bgp.md).\n\n" CLIENT_COMMON
	        "exit status: 0 stopping, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
shutdown_run(int argc, char **argv)
{
	struct client_args a;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		shutdown_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 0) {
		shutdown_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return client_run(json_pack("{s:s}", "cmd", "shutdown"), print_shutdown);
}

void
tls_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " [--socket PATH] [--json] tls reload\n\n"
	        "Make the daemon's TLS edge read its certificate chains, keys and client CA\n"
	        "again, from the files the running configuration names (a renewal replaced\n"
	        "them), and use them for new handshakes; established connections stay. A file\n"
	        "that is missing, not PEM, or a key that does not match its certificate is\n"
	        "refused with its name, and the certificates in use stay.\n\n" CLIENT_COMMON
	        "exit status: 0 reloaded, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
tls_run(int argc, char **argv)
{
	struct client_args a;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		tls_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 1 || strcmp(a.pos[0], "reload") != 0) {
		tls_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return client_run(json_pack("{s:s}", "cmd", "tls-reload"), print_tls_reload);
}

void
reload_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG " [--socket PATH] [--json] reload\n\n"
	        "Make the daemon read its configuration file again and apply it as one\n"
	        "generation; a file that fails to load or build is refused with its reason and\n"
	        "the running configuration stays. Changes made with '" CTL_PROG
	        " backend' and not\n"
	        "written to the file are dropped.\n\n" CLIENT_COMMON
	        "exit status: 0 applied or unchanged, 1 refused, 2 usage, 3 cannot reach the "
	        "daemon\n");
}

int
reload_run(int argc, char **argv)
{
	struct client_args a;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		reload_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 0) {
		reload_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return client_run(json_pack("{s:s}", "cmd", "reload"), print_change);
}

void
log_level_usage(FILE *out)
{
	fprintf(out, "usage: " CTL_PROG " [--socket PATH] [--json] log-level LEVEL\n\n"
	             "Set the daemon's DPDK global log level: emerg, alert, crit, err, warning,\n"
	             "notice, info, debug, or 1..8.\n\n" CLIENT_COMMON
	             "exit status: 0 set, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
log_level_run(int argc, char **argv)
{
	struct client_args a;
	json_t *req;
	long long v;
	int rc = client_parse(argc, argv, "", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		log_level_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 1) {
		log_level_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", "log-level");
	if (a.pos[0][0] >= '0' && a.pos[0][0] <= '9' &&
	    client_int("log-level", "LEVEL", a.pos[0], &v) == 0)
		json_object_set_new(req, "level", json_integer(v));
	else
		json_object_set_new(req, "level", json_string(a.pos[0]));
	return client_run(req, print_log_level);
}

void
dispatch_usage(FILE *out)
{
	fprintf(out,
	        "usage: " CTL_PROG
	        " [--socket PATH] [--json] dispatch CALL-ID [--vip ADDR[:PORT]]\n\n"
	        "Which backend the running daemon sends a Call-ID to: its keyed hash, the Maglev\n"
	        "slot, the backend. The VIP picks the group (default: the first "
	        "VIP's).\n\n" CLIENT_COMMON
	        "exit status: 0 ok, 1 refused, 2 usage, 3 cannot reach the daemon\n");
}

int
dispatch_run(int argc, char **argv)
{
	struct client_args a;
	json_t *req;
	int rc = client_parse(argc, argv, "v", &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		dispatch_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.nb_pos != 1) {
		dispatch_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:s}", "cmd", "dispatch", "call_id", a.pos[0]);
	if (req != NULL && a.vip != NULL)
		json_object_set_new(req, "vip", json_string(a.vip));
	return client_run(req, print_dispatch);
}
