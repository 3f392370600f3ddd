/**
 * @file cfg.h
 * siphon's configuration: a libconfig file turned into a validated struct sph_cfg.
 *
 * cfg_load() reads the file the daemon and siphonctl share (reference:
 * docs/config.md, example: examples/siphon.conf), checks every value, and
 * either returns a complete configuration or one message naming the place,
 * the item and the problem, e.g. `siphon.conf:42: backend "b1": weight must
 * be 1..100, got 0`. Unknown keys are errors, so a typo never silently falls
 * back to a default. What it returns is plain data with every default filled
 * in; building dispatch tables from it (maglev_build(), keyhash_init()) is the
 * caller's business. Control plane and tools only: it allocates and reads
 * files.
 *
 * Ownership: a struct sph_cfg and everything it points to come from malloc()
 * and belong to it; cfg_free() releases them all. Code that assembles a
 * configuration by other means (siphonctl --backends) follows the same rule.
 */
#ifndef SIPHON_CFG_H
#define SIPHON_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "siphon/maglev.h"

#define CFG_NAME_MAX           64u /**< bytes of a name with its NUL: names are 1..63 characters */
#define CFG_KEY_MIN            16u /**< shortest hash_key, in bytes */
#define CFG_KEY_MAX            1024u /**< longest hash_key, in bytes */
#define CFG_DEFAULT_PORT       5060u /**< SIP port when an address or a VIP gives none */
#define CFG_WEIGHT_MIN         1u    /**< smallest backend weight */
#define CFG_WEIGHT_MAX         100u  /**< largest backend weight */
#define CFG_ADDR_STRLEN        56u   /**< room for "[IPv6]:port" and its NUL */
#define CFG_DEVICE_MAX         128u  /**< bytes of a DPDK device name with its NUL */
#define CFG_PORT_ADDRS_MAX     8u    /**< addresses one port may own */
#define CFG_IFNAME_MAX         16u /**< bytes of a kernel interface name with its NUL (IFNAMSIZ) */
#define CFG_STATS_INTERVAL_MAX 3600u  /**< largest stats_interval, in seconds */
#define CFG_DIALOG_WINDOW      120u   /**< default dialog_window, in seconds */
#define CFG_DIALOG_WINDOW_MAX  86400u /**< largest dialog_window, in seconds (smallest: 1) */
#define CFG_PREFIX_STRLEN      50u    /**< room for "IPv6/128" and its NUL */
#define CFG_MAC_STRLEN         18u    /**< room for "02:00:00:00:00:21" and its NUL */
#define CFG_SOCKET_MAX         108u   /**< bytes of a control socket path with its NUL (sun_path) */
#define CFG_CONTROL_SOCKET     "/run/siphon/siphon.sock" /**< default control.socket */
#define CFG_CONTROL_MODE       0660u                     /**< default control.mode */
#define CFG_CONTROL_GROUP      "root"                    /**< default control.group */
#define CFG_ANN_FILE_MAX       256u                      /**< bytes of announce.file with its NUL */
#define CFG_ANN_BIRD_SOCKET    "/run/bird/bird.ctl"      /**< default announce.bird_socket */
#define CFG_ANN_DRAIN_MS       5000u                     /**< default announce.shutdown_drain_ms */
#define CFG_ANN_DRAIN_MAX      600000u     /**< most announce.shutdown_drain_ms: 10 minutes */
#define CFG_FILE_MAX           (16u << 20) /**< bytes of a file and its @include files, in all */
#define CFG_INCLUDE_DEPTH      10u         /**< @include files nested in one another, at most */
#define CFG_INCLUDES_MAX       1024u       /**< @include directives followed in one load, at most */
#define CFG_GROUP_KEYS_MAX     64u         /**< settings in one group { ... }, at most */
#define CFG_PANIC_THRESHOLD    50u         /**< default panic_threshold of a group, in percent */
#define CFG_ACL_MAX            (1u << 20)  /**< trusted + blocked prefixes of one VIP, at most */
#define CFG_ACL6_MAX           65536u      /**< of which IPv6, at most (rte_lpm6 memory) */
#define CFG_LIMIT_RATE_MAX     1000000u    /**< largest rate_* of a VIP, requests per second */
#define CFG_LIMIT_BURST_MAX    1000000u    /**< largest burst_* of a VIP, requests */
#define CFG_MTU                1500u       /**< default port mtu: Ethernet's */
#define CFG_MTU_MIN            576u        /**< smallest port mtu (RFC 791's minimum datagram) */
#define CFG_MTU_MAX            9000u       /**< largest port mtu: jumbo frames */
/* IP fragment table limits, per worker (docs/protection.md#fragments). */
#define CFG_FRAG_ENTRIES       256u   /**< default frag_entries: datagrams in reassembly */
#define CFG_FRAG_ENTRIES_MAX   65536u /**< largest frag_entries */
#define CFG_FRAG_FRAGMENTS     32u    /**< default frag_fragments: a 9 kB datagram at MTU 576 */
#define CFG_FRAG_FRAGMENTS_MAX 64u    /**< largest frag_fragments */
#define CFG_FRAG_TIMEOUT_MS    2000u  /**< default frag_timeout_ms */
#define CFG_FRAG_TIMEOUT_MAX                                                                       \
	30000u /**< largest frag_timeout_ms (RFC 8200's reassembly time: 60 s) */
#define CFG_FRAG_BYTES     (4u << 20) /**< default frag_bytes: IP bytes held per worker */
#define CFG_FRAG_BYTES_MAX (1u << 30) /**< largest frag_bytes */

/* The HEP mirror to a capture collector (docs/protection.md#mirroring-hep). */
#define CFG_MIRROR_SAMPLE_MAX  1000000u /**< largest mirror.sample: 1 call in a million */
#define CFG_MIRROR_BUDGET      8u       /**< default mirror.budget, frames per burst */
#define CFG_MIRROR_BUDGET_MAX  32u      /**< largest mirror.budget: a whole burst */
#define CFG_MIRROR_TIMEOUT     120u     /**< default mirror.call_timeout, in seconds */
#define CFG_MIRROR_TIMEOUT_MAX 86400u   /**< largest mirror.call_timeout */

/** An IP address, stored as struct pkt_info stores packet addresses. */
struct cfg_addr {
	uint8_t family; /**< 4 or 6, as pkt_info.ip_version */
	uint8_t a[16];  /**< network order; IPv4 as the mapped address ::ffff:a.b.c.d */
};

/** How a VIP forwards to its backends (the dataplane implements both). */
enum cfg_vip_mode {
	CFG_VIP_L2DSR = 0, /**< rewrite the destination MAC only; backends own the VIP */
	CFG_VIP_IPIP,      /**< encapsulate in IP-in-IP towards the backend address */
};

/**
 * What the dataplane does with the UDP checksum of a datagram it receives on a port and
 * forwards (docs/dataplane.md#udp-checksums). Senders on veth or virtio with TX checksum
 * offload leave a partial checksum that only their NIC would have completed; backends
 * then drop the datagram (InCsumErrors).
 */
enum cfg_udp_csum {
	CFG_CSUM_KEEP = 0, /**< forward it untouched (default: no byte read beyond SIP's) */
	CFG_CSUM_VERIFY,   /**< drop a datagram whose checksum does not verify, counted */
	CFG_CSUM_FILL,     /**< compute it and write it: partial or wrong ones leave complete */
};

/** One backend proxy. */
struct cfg_backend {
	char name[CFG_NAME_MAX]; /**< unique in the whole file; the Maglev identity */
	struct cfg_addr addr;    /**< where it listens */
	uint16_t port;           /**< its SIP port (default CFG_DEFAULT_PORT) */
	uint32_t weight;         /**< CFG_WEIGHT_MIN..CFG_WEIGHT_MAX (default 1) */
	uint8_t state;           /**< enum maglev_state (default MAGLEV_UP) */
	uint8_t has_mac;         /**< 1 when mac is configured (static neighbour, no ARP/ND) */
	uint8_t mac[6];          /**< its Ethernet address when has_mac */
	unsigned line;           /**< where it is defined, for later messages */
	unsigned file;           /**< in sph_cfg.files[file] (cfg_where()); 0: the main file */
};

/** An address a dataplane port owns, with its on-link prefix. */
struct cfg_prefix {
	struct cfg_addr addr;
	uint8_t len; /**< prefix length: 0..32 for IPv4 (of the IPv4 address), 0..128 for IPv6 */
};

/**
 * A DPDK port the dataplane serves: "device" is what rte_eth_dev_get_port_by_name()
 * knows (a vdev name such as "net_af_packet0", or a PCI address). Its addresses are
 * the balancer's own: ARP/ND is answered for them (and for every VIP), IP-in-IP
 * uses the one of the right family as outer source, and backends within one of
 * their prefixes are on-link; others are reached through the gateway.
 */
struct cfg_port {
	char name[CFG_NAME_MAX];                     /**< unique among ports */
	char device[CFG_DEVICE_MAX];                 /**< DPDK device name, 1..127 characters */
	struct cfg_prefix addrs[CFG_PORT_ADDRS_MAX]; /**< nb_addrs >= 1, e.g. "203.0.113.2/24" */
	unsigned nb_addrs;
	struct cfg_addr gw4, gw6; /**< next hops; family 0 when not configured */
	/** Kernel interface of the port's exception path (docs/dataplane.md), 1..15 of
	 *  A-Z a-z 0-9 . _ - (not "." or ".."), unique among ports; "" = none (default). */
	char exception[CFG_IFNAME_MAX];
	uint8_t udp_csum; /**< enum cfg_udp_csum for datagrams received on it (default keep) */
	uint32_t mtu;     /**< largest IP datagram it sends and receives unfragmented, 576..9000 */
	unsigned line;
	unsigned file; /**< as cfg_backend.file */
};

/** A set of backends sharing one Maglev table. */
struct cfg_group {
	char name[CFG_NAME_MAX];      /**< unique among groups */
	struct cfg_backend *backends; /**< nb_backends >= 1 entries, in file order */
	unsigned nb_backends;
	/** Percent 0..100: when fewer than this share of the backends not drained or down
	 *  by the operator are healthy, the group dispatches over all of those as if healthy
	 *  (panic mode, docs/health.md#panic-threshold); 0 never panics. cfg_load() fills
	 *  CFG_PANIC_THRESHOLD; a configuration assembled by other means that leaves it 0
	 *  never panics. */
	uint32_t panic_threshold;
	unsigned line;
	unsigned file; /**< as cfg_backend.file */
};

/** A VIP's allowlist tier of a source (docs/protection.md): default is every source no
 *  prefix of the VIP covers; of two prefixes that cover it, the longer decides. */
enum cfg_tier {
	CFG_TIER_DEFAULT = 0, /**< rate-limited when the VIP has limits */
	CFG_TIER_TRUSTED,     /**< never rate-limited, never dropped by generic rules */
	CFG_TIER_BLOCKED,     /**< every packet dropped, counted */
};

/** One prefix of a VIP's allowlist: a source range and its tier. */
struct cfg_acl {
	struct cfg_prefix prefix; /**< host bits zero: one range has one spelling */
	uint8_t tier;             /**< CFG_TIER_TRUSTED or CFG_TIER_BLOCKED */
};

/** Per-source rate limit classes of initial requests, by method. */
enum cfg_limit_class {
	CFG_LIMIT_INVITE = 0,
	CFG_LIMIT_REGISTER,
	CFG_LIMIT_OPTIONS,
	CFG_LIMIT_OTHER, /**< any other method (SUBSCRIBE, MESSAGE, unknown, ...) */
	CFG_LIMIT_CLASSES,
};

/* Operator rules (docs/protection.md#rules-hyperscan): what the configuration says of
 * them. The Hyperscan side, and the field numbering below, is include/siphon/rules.h. */
#define CFG_RULES_MAX        100000u /**< rules in one list (RULES_MAX) */
#define CFG_RULE_FIELDS      6u      /**< fields a rule may match on (RULES_NB_FIELDS) */
#define CFG_RULE_REGEX_MAX   1024u   /**< bytes of one expression, without its NUL */
#define CFG_RULE_SOURCES_MAX 16u     /**< source prefixes of one rule */
#define CFG_RULE_HEADERS     2u      /**< named headers one rule may match on */
#define CFG_RULE_HEADER_SETS 4u      /**< distinct header names of a list (RULES_HEADERS) */

/** What a rule does to an initial request it matches. */
enum cfg_rule_action {
	CFG_RULE_DROP = 0, /**< dropped, counted (rule_drop) */
	CFG_RULE_REJECT,   /**< reject-silently: dropped without an answer, counted apart */
	CFG_RULE_ROUTE,    /**< dispatched by another group's table (group) */
	CFG_RULE_LIMIT,    /**< charged to the VIP's rate limit of class limit_class */
	CFG_RULE_TAG,      /**< forwarded, counted */
	CFG_RULE_MIRROR,   /**< forwarded, counted, and a HEP copy (issue 10 §5) */
	CFG_RULE_ACTIONS,
};

/**
 * One rule. Its expressions live in sph_cfg.rule_text, so that a list is two flat arrays
 * to copy and compare; re[f] is the offset + 1 there of field f's expression (enum
 * rules_field order), 0 when the rule does not test f.
 */
struct cfg_rule {
	char name[CFG_NAME_MAX]; /**< unique among rules: its counters' label */
	uint32_t re[CFG_RULE_FIELDS];
	/** Named headers (match.headers): the offset + 1 in rule_text of each one's name and
	 *  of its expression; 0: no header k. */
	uint32_t hname[CFG_RULE_HEADERS];
	uint32_t hre[CFG_RULE_HEADERS];
	uint8_t caseless;    /**< 1: every expression of the rule ignores case */
	uint8_t action;      /**< enum cfg_rule_action */
	uint8_t limit_class; /**< CFG_RULE_LIMIT: enum cfg_limit_class */
	uint8_t has_vip;     /**< 1: only requests to the VIP at vip (any of its ports) */
	struct cfg_addr vip;
	unsigned group; /**< CFG_RULE_ROUTE: index into sph_cfg.groups */
	/** Sources it applies to (host bits zero); none: every source. */
	struct cfg_prefix sources[CFG_RULE_SOURCES_MAX];
	unsigned nb_sources;
	unsigned line;
	unsigned file; /**< as cfg_backend.file */
};

/** A virtual service: address and ports clients send to, served by one group. */
struct cfg_vip {
	struct cfg_addr addr;
	uint16_t *ports; /**< nb_ports >= 1 distinct ports (default {CFG_DEFAULT_PORT}) */
	unsigned nb_ports;
	unsigned group; /**< index into sph_cfg.groups */
	uint8_t mode;   /**< enum cfg_vip_mode (default CFG_VIP_L2DSR) */
	/** trusted, blocked and acl_file's prefixes, distinct, at most CFG_ACL_MAX (malloc'd;
	 *  NULL when nb_acl is 0). A prefix has one tier. */
	struct cfg_acl *acl;
	unsigned nb_acl;
	/** Per source address (IPv6: per /64) and class, initial requests per second; 0:
	 *  unlimited (default). */
	uint32_t limit_rate[CFG_LIMIT_CLASSES];
	/** Requests a source may send at once above the rate; 0: as many as one second's
	 *  rate (default). */
	uint32_t limit_burst[CFG_LIMIT_CLASSES];
	unsigned line;
	unsigned file; /**< as cfg_backend.file */
};

/**
 * health = { ... }: SIP OPTIONS health checks of every backend (docs/health.md). The
 * fields of struct health_params (control/health.h), whose health_params_check()
 * cfg_validate() applies. cfg_load() fills the defaults (enabled, 1000 ms, 1000 ms,
 * fall 3, rise 2, codes 200..699 accepted, overload 503); a configuration assembled by
 * other means may leave interval_ms 0, meaning "no health block": cfg_validate() then
 * skips it and cfg_write() leaves it out.
 */
struct cfg_health {
	uint8_t enabled;        /**< 0: nothing probes, health never changes dispatch */
	uint32_t interval_ms;   /**< time between two probes of one backend */
	uint32_t timeout_ms;    /**< wait for a final response, 1..interval_ms */
	uint32_t fall;          /**< consecutive failures that mark a backend down */
	uint32_t rise;          /**< consecutive answers that mark it up again */
	uint16_t overload_code; /**< final response meaning "no new calls"; 0 = none */
	uint64_t accept[11];    /**< bitmap over codes 0..699: bit c set = c means alive */
};

#define CFG_EDGE_LISTEN_MAX 4u   /**< addresses of each edge listener kind */
#define CFG_EDGE_CERTS_MAX  8u   /**< certificate chains the edge serves */
#define CFG_EDGE_PATH_MAX   256u /**< bytes of an edge file path with its NUL */
#define CFG_EDGE_KEY_MIN    16u  /**< shortest edge.flow_key, in bytes */
#define CFG_EDGE_KEY_MAX    64u  /**< longest edge.flow_key, in bytes */
#define CFG_EDGE_SUITES_MAX 256u /**< bytes of a cipher list with its NUL */

/** edge.cpu's default: the edge thread runs on any CPU no worker runs on. */
#define CFG_EDGE_CPU_AUTO 1024u

/** How an edge mtls listener treats client certificates. */
enum cfg_edge_verify {
	CFG_EDGE_VERIFY_REQUIRED = 0, /**< no valid client certificate, no connection */
	CFG_EDGE_VERIFY_OPTIONAL,     /**< asked for; one given must verify */
};

/** An address and port the edge listens on. */
struct cfg_edge_listen {
	struct cfg_addr addr;
	uint16_t port;
};

/**
 * edge = { ... }: the SIP-over-TLS/TCP edge proxy (docs/edge.md). nb_tls + nb_mtls +
 * nb_tcp == 0 (no block) means off. Plain data, no pointers: copied with its sph_cfg.
 */
struct cfg_edge {
	struct cfg_edge_listen tls[CFG_EDGE_LISTEN_MAX]; /**< TLS, no client certificate */
	unsigned nb_tls;
	struct cfg_edge_listen mtls[CFG_EDGE_LISTEN_MAX]; /**< TLS with client certificates */
	unsigned nb_mtls;
	struct cfg_edge_listen tcp[CFG_EDGE_LISTEN_MAX]; /**< plain SIP over TCP */
	unsigned nb_tcp;
	struct cfg_edge_listen address; /**< backend-facing UDP address: Via, Path, Route */
	char group[CFG_NAME_MAX];       /**< the group whose backends receive what clients send */
	char flow_key[CFG_EDGE_KEY_MAX + 1];               /**< HMAC key of flow tokens, as text */
	char certs[CFG_EDGE_CERTS_MAX][CFG_EDGE_PATH_MAX]; /**< PEM chains, leaf first */
	char keys[CFG_EDGE_CERTS_MAX][CFG_EDGE_PATH_MAX];  /**< their private keys */
	unsigned nb_certs;
	char client_ca[CFG_EDGE_PATH_MAX];      /**< CA file for mtls listeners */
	uint8_t client_verify;                  /**< enum cfg_edge_verify of mtls listeners */
	char ciphers[CFG_EDGE_SUITES_MAX];      /**< TLS 1.2 cipher list (OpenSSL syntax) */
	char ciphersuites[CFG_EDGE_SUITES_MAX]; /**< TLS 1.3 suites */
	uint32_t max_header;                    /**< octets of a header section */
	uint32_t max_message;                   /**< octets of a message */
	uint32_t max_msgs_per_sec;              /**< messages a connection may send in one second */
	uint32_t max_conns_per_ip;              /**< connections from one source address */
	uint32_t max_conns;                     /**< connections in all (the table's size) */
	uint32_t handshake_timeout_ms;          /**< from accept to a finished TLS handshake */
	uint32_t message_timeout_ms;            /**< from a message's first octet to its last */
	uint32_t idle_timeout_s;                /**< without a byte from the client */
	uint32_t cpu; /**< CPU of the edge thread; CFG_EDGE_CPU_AUTO: any no worker runs on */
	/* Storm control and shared tickets (issue 9): 0 in a rate means no limit. */
	uint32_t backlog;                    /**< each listener's accept queue (listen()) */
	uint32_t handshakes_per_sec;         /**< new connections accepted a second, in all */
	uint32_t handshakes_per_sec_per_ip;  /**< the same from one source address */
	uint32_t registers_per_sec;          /**< REGISTERs relayed to the group a second */
	uint32_t retry_after_s;              /**< Retry-After of the 503 over that rate */
	char ticket_keys[CFG_EDGE_PATH_MAX]; /**< session ticket key file; "": OpenSSL's own */
	uint32_t transactions; /**< client requests tracked for retransmission; 0: none */
	uint32_t t1_ms;        /**< RFC 3261's T1 on the UDP hop to the backends */
};

/** A whole configuration. Every (address, port) pair belongs to at most one VIP. */
/** mirror = { ... }: HEPv3 copies of SIP messages to a collector; port 0: no mirror. */
struct cfg_mirror {
	struct cfg_addr addr;  /**< the collector */
	uint16_t port;         /**< its UDP port; 0 when there is no mirror block */
	uint32_t sample;       /**< mirror 1 call in sample, by Call-ID hash; 0: none sampled */
	uint32_t agent_id;     /**< HEP capture agent id, so a collector tells instances apart */
	uint32_t budget;       /**< mirror frames per received burst, at most, per worker */
	uint32_t call_timeout; /**< seconds a marked call stays marked after its last message */
	unsigned line;         /**< of the block, for messages */
};

struct sph_cfg {
	char *path;   /**< the file it was read from */
	char **files; /**< every file read, as messages name them: [0] the main
	                   file, then each @include; NULL when built in memory */
	unsigned nb_files;
	uint32_t stats_interval; /**< seconds between stats prints; 0 = never (default 0) */
	uint32_t dialog_window;  /**< transition window, 1..CFG_DIALOG_WINDOW_MAX seconds */
	/* IP fragment table of each worker (docs/protection.md#fragments). */
	uint32_t frag_entries;    /**< datagrams in reassembly at once; 0 disables reassembly */
	uint32_t frag_fragments;  /**< most fragments of one datagram */
	uint32_t frag_timeout_ms; /**< longest a datagram waits for its last fragment */
	uint32_t frag_bytes;      /**< IP bytes of fragments held at once */
	uint8_t *hash_key;        /**< keyhash_init() input, CFG_KEY_MIN..CFG_KEY_MAX bytes */
	size_t hash_key_len;
	uint32_t maglev_size; /**< prime, >= every group's backend count (MAGLEV_DEFAULT_SIZE) */
	struct cfg_group *groups; /**< nb_groups >= 1, in file order */
	unsigned nb_groups;
	struct cfg_vip *vips; /**< may be empty */
	unsigned nb_vips;
	struct cfg_port *ports; /**< may be empty (tools need none; the daemon needs >= 1) */
	unsigned nb_ports;
	/* control = { socket; mode; group; }: the daemon's control socket (docs/control.md).
	 * cfg_load() fills the defaults; a configuration assembled by other means may leave
	 * ctl_socket empty, which cfg_write() then leaves out. */
	char ctl_socket[CFG_SOCKET_MAX]; /**< path of the Unix socket (CFG_CONTROL_SOCKET) */
	uint32_t ctl_mode;               /**< its permission bits, 0..0777 (CFG_CONTROL_MODE) */
	char ctl_group[CFG_NAME_MAX];    /**< group owning it, whose members may connect */
	/* metrics = { listen; }: where the metrics endpoint listens; port 0 = disabled. */
	struct cfg_addr metrics_addr; /**< any address, unspecified (0.0.0.0, ::) included */
	uint16_t metrics_port;        /**< 0 when listen is absent or "" */
	struct cfg_health health;     /**< health = { ... } */
	/* announce = { file; bird_socket; interface; shutdown_drain_ms; }: the VIP routes
	 * siphon keeps for BIRD (docs/bgp.md). ann_file "" (no block): not announcing. */
	char ann_file[CFG_ANN_FILE_MAX];      /**< BIRD include file siphon rewrites */
	char ann_bird_socket[CFG_SOCKET_MAX]; /**< BIRD's control socket */
	char ann_interface[CFG_IFNAME_MAX];   /**< routes "via" it; "": blackhole routes */
	uint32_t ann_drain_ms;                /**< forwarding after the withdrawal at shutdown */
	struct cfg_edge edge;                 /**< edge = { ... }; off when it has no listener */
	struct cfg_mirror mirror;             /**< mirror = { ... }; off when port is 0 */
	/* rules = ( ... ): operator rules, first match wins (docs/protection.md). */
	struct cfg_rule *rules; /**< nb_rules of them, in file order (malloc'd; NULL when 0) */
	unsigned nb_rules;
	char *rule_text;      /**< the rules' expressions, each NUL-terminated (malloc'd) */
	size_t rule_text_len; /**< bytes of rule_text */
};

/**
 * The file that defines an object read from one (its .file), as messages name it: one of
 * cfg->files, else the main path, else "configuration" (a configuration built in memory).
 * Messages about an object say "cfg_where(cfg, o->file):o->line: ...".
 */
static inline const char *
cfg_where(const struct sph_cfg *cfg, unsigned file)
{
	if (cfg->files != NULL && file < cfg->nb_files)
		return cfg->files[file];
	return cfg->path != NULL ? cfg->path : "configuration";
}

/**
 * Read and validate a configuration file.
 *
 * @param path    File to read; @include directives resolve relative to its folder.
 * @param out     Set to the new configuration on success, to NULL on failure.
 * @param err     Receives one line, without newline, on failure: "file:line: item: problem"
 *                (no line when the problem is the file itself or a missing key).
 * @param errlen  Size of err; the message is truncated to fit. May be 0 (err unused).
 * @return 0, or -1 on any failure: unreadable file, syntax error, invalid value,
 *         unknown key, missing required key, duplicate, reference to an undefined
 *         group, or out of memory.
 */
int cfg_load(const char *path, struct sph_cfg **out, char *err, size_t errlen);

/** Fill h with the health-check defaults cfg_load() uses when the file has no block. */
void cfg_health_default(struct cfg_health *h);

#define CFG_KEY_CHECK_STRLEN 9u /**< 8 hex digits and a NUL */

/**
 * The hash key's check value: 8 hex digits, equal on instances with the same key and
 * different (but for one pair in 4 billion) otherwise; it reveals nothing of the key
 * (HMAC-SHA256 of a fixed label under it). Shown by `siphonctl show groups` and the
 * metric siphon_hash_key_info. @return 0, or -1 (no key; out empty).
 */
int cfg_key_check(const struct sph_cfg *cfg, char out[CFG_KEY_CHECK_STRLEN]);

/** Release a configuration and everything it owns. NULL is a no-op. */
void cfg_free(struct sph_cfg *cfg);

/**
 * A deep copy of cfg (path, key, groups, backends, VIPs, ports): what the control plane
 * edits before validating and applying a change. @return the copy, or NULL (no memory).
 */
struct sph_cfg *cfg_dup(const struct sph_cfg *cfg);

/**
 * Check an in-memory configuration against every rule cfg_load() applies to a file:
 * ranges, names, unicast addresses, duplicates (names, addresses, VIP ports), group
 * references, maglev_size against group sizes, gateways, exception interface names,
 * the control and metrics
 * settings. cfg_load() runs it on what it read; the control plane runs it on every
 * edited configuration before applying it.
 *
 * @param err  One line on failure: "file:line: item: problem" for an object read from
 *             a file (line != 0), "item: problem" for one added at run time, and
 *             "file: problem" for a top-level value.
 * @return 0 when valid, -1 otherwise.
 */
int cfg_validate(const struct sph_cfg *cfg, char *err, size_t errlen);

/**
 * Parse an address literal with an optional port: "203.0.113.1", "203.0.113.1:5060",
 * "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:5060". No host names, no
 * zone IDs, no white space, no IPv4-mapped IPv6 (::ffff:203.0.113.1: write IPv4 as
 * IPv4, so one address has one spelling). Without brackets, an address with two
 * or more colons is IPv6 and has no port.
 *
 * @param s     NUL-terminated text.
 * @param a     Filled on success.
 * @param port  Set to the port, or 0 when s gives none.
 * @return 0; -1 when s is no address literal; -2 when the port is not 1..65535.
 */
int cfg_addr_parse(const char *s, struct cfg_addr *a, uint16_t *port);

/**
 * Write a as text, with the port when port != 0: "203.0.113.1:5060", "[2001:db8::1]:5060".
 *
 * @return buf (always NUL-terminated when len > 0).
 */
char *cfg_addr_format(const struct cfg_addr *a, uint16_t port, char *buf, size_t len);

/**
 * Parse an address with its prefix length: "203.0.113.2/24", "2001:db8::2/64".
 * The length is required; the address is kept as written (host bits too).
 *
 * @return 0; -1 when s is no "address/length" literal; -2 when the length is
 *         out of range (0..32 for IPv4, 0..128 for IPv6).
 */
int cfg_prefix_parse(const char *s, struct cfg_prefix *p);

/** Write p as "address/length". @return buf (always NUL-terminated when len > 0). */
char *cfg_prefix_format(const struct cfg_prefix *p, char *buf, size_t len);

/**
 * Parse an Ethernet address written as six colon-separated pairs of hex
 * digits, "02:00:00:00:00:21" (either case). Any address parses; whether a
 * multicast or zero address makes sense is the caller's business.
 *
 * @return 0, or -1 when s is not of that form.
 */
int cfg_mac_parse(const char *s, uint8_t mac[6]);

/** Write mac as "02:00:00:00:00:21". @return buf (always NUL-terminated when len > 0). */
char *cfg_mac_format(const uint8_t mac[6], char *buf, size_t len);

/** True when s is a valid group or backend name: 1..63 of A-Z a-z 0-9 . _ - */
int cfg_name_valid(const char *s);

/** The VIP serving (family, address, port), or NULL. Linear in the number of VIP ports. */
const struct cfg_vip *cfg_vip_find(const struct sph_cfg *cfg, uint8_t family,
                                   const uint8_t addr[16], uint16_t port);

/** The group called name, or NULL. */
const struct cfg_group *cfg_group_find(const struct sph_cfg *cfg, const char *name);

/** Keyword of a backend state ("up", "drain", "down"); "unknown" outside the enum. */
const char *cfg_state_name(uint8_t state);

/** Keyword of a tier ("default", "trusted", "blocked"); "unknown" outside the enum. */
const char *cfg_tier_name(uint8_t tier);

/** enum cfg_tier for a keyword of cfg_tier_name(), or -1. */
int cfg_tier_parse(const char *s);

/** Keyword of a limit class ("invite", "register", "options", "other"), or "unknown". */
const char *cfg_limit_class_name(uint8_t cls);

/**
 * Parse an allowlist prefix: "address/length", or an address alone (a host: /32, /128).
 * Host bits are cleared, so equal ranges compare equal. @return 0; -1 when s is no
 * address or prefix; -2 when the length is out of range.
 */
int cfg_acl_prefix_parse(const char *s, struct cfg_prefix *p);

/** Put v's allowlist in the order cfg_load() keeps it (by tier, then range): what a
 *  change to the list does before it is validated, so cfg_equal() compares like with like. */
void cfg_acl_sort(struct cfg_vip *v);

/** Keyword of a rule action ("drop", "reject-silently", "route", "limit", "tag",
 *  "mirror"); "unknown" outside the enum. */
const char *cfg_rule_action_name(uint8_t action);

/** The expression rule r of cfg tests field f with, or NULL (none, or an offset outside
 *  the pool: cfg_validate() refuses those). */
static inline const char *
cfg_rule_regex(const struct sph_cfg *cfg, const struct cfg_rule *r, unsigned f)
{
	if (f >= CFG_RULE_FIELDS || r->re[f] == 0 || r->re[f] > cfg->rule_text_len)
		return NULL;
	return cfg->rule_text + r->re[f] - 1;
}

/** A text of the rule pool at offset + 1 off, or NULL (0, or outside the pool). */
static inline const char *
cfg_rule_text(const struct sph_cfg *cfg, uint32_t off)
{
	return off == 0 || off > cfg->rule_text_len ? NULL : cfg->rule_text + off - 1;
}

/**
 * The header names cfg's rules match on, each once (letters of either case are one
 * name), in the order rules first name them: the slot of a rule's header is its name's
 * index here (RULES_HDR0 + index). Writes at most max names; @return how many there are
 * (more than max: cfg_validate() refuses it).
 */
static inline unsigned
cfg_rule_header_names(const struct sph_cfg *cfg, const char **names, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->nb_rules; i++)
		for (unsigned k = 0; k < CFG_RULE_HEADERS; k++) {
			const char *h = cfg_rule_text(cfg, cfg->rules[i].hname[k]);
			unsigned j = 0;

			if (h == NULL)
				continue;
			while (j < n && j < max && strcasecmp(names[j], h) != 0)
				j++;
			if (j < n && j < max)
				continue;
			if (n < max)
				names[n] = h;
			n++;
		}
	return n;
}

/**
 * Compile cfg's rules as the dataplane would (rules_compile()) and throw the result
 * away: what cfg_load() runs, so that a pattern Hyperscan refuses is refused with the
 * file, the line, the rule's name and Hyperscan's message. @return 0, or -1 with err.
 */
int cfg_rules_check(const struct sph_cfg *cfg, char *err, size_t errlen);

/**
 * A copy of base whose rule list is the one the file at path holds (a file of one
 * `rules = ( ... );` setting, with @include allowed, read as cfg_load() reads), VIPs and
 * groups named in it resolved against base; validated whole (cfg_validate()) and
 * compiled (cfg_rules_check()). What `siphonctl rules load` applies.
 * @return 0 with *out set, or -1 with one line in err and *out NULL.
 */
int cfg_rules_load(const struct sph_cfg *base, const char *path, struct sph_cfg **out, char *err,
                   size_t errlen);

/** Keyword of a VIP mode ("l2dsr", "ipip"); "unknown" outside the enum. */
const char *cfg_mode_name(uint8_t mode);

/** enum maglev_state for a keyword of cfg_state_name(), or -1. */
int cfg_state_parse(const char *s);

/** enum cfg_vip_mode for a keyword of cfg_mode_name(), or -1. */
int cfg_mode_parse(const char *s);

/**
 * Write cfg as a configuration file that cfg_load() reads back into a
 * configuration cfg_equal() to it: every default spelled out, the hash key
 * as hash_key_hex (so any byte survives). The output holds the secret key;
 * whoever shows it decides who may see it.
 *
 * @return 0; -1 when cfg holds something no file can say (an address family
 *         other than 4 or 6, a state, mode or group index out of range, a
 *         name or device cfg_load() would reject), with nothing written, or
 *         when writing to f fails.
 */
int cfg_write(const struct sph_cfg *cfg, FILE *f);

/**
 * True when a and b configure the same thing: every value compared, in
 * order; path and line numbers ignored. What a reload uses to tell
 * "nothing changed" and the tests use to check cfg_write().
 */
int cfg_equal(const struct sph_cfg *a, const struct sph_cfg *b);

/**
 * Write the key reference of one section of the file as the Markdown table
 * docs/config.md holds, generated from the same key table the reader, cfg_validate()
 * and cfg_write() walk (tests/cfg_doc.c keeps the document in step).
 *
 * @param section  "top", "control", "metrics", "health", "ports", "groups",
 *                 "backends" or "vips".
 * @return 0, or -1 for an unknown section or a failed write.
 */
int cfg_doc_write(FILE *f, const char *section);

#endif /* SIPHON_CFG_H */
