/**
 * @file sip.h
 * Zero-copy SIP message scanner: one UDP datagram in, a fixed-size view out.
 *
 * sip_parse() reads a SIP message where it lies (an mbuf, a pcap buffer) and
 * fills a struct sip_msg of offsets and lengths into those bytes: the start
 * line, the header fields a load balancer routes on, and the RFC 3261 §18.3
 * framing. It never allocates, copies, writes to or reads past the input, and
 * its work is linear in the header section's length on any input. A message it
 * cannot route on safely gets a precise enum sip_verdict, one per kind of
 * defect, each with a counter name for the dataplane's statistics; a defect
 * in a field no dispatch decision reads is an anomaly instead, recorded in
 * the view of a message that is still routed (the table is SIP_VERDICTS).
 *
 * The byte scanning underneath runs on SIMD (AVX2, or SSE2 which every x86-64
 * has), chosen once at start-up from what the CPU offers, with a scalar twin
 * that is the reference; see sip_scan_select(). Safe to call from any thread;
 * the only shared state is that start-up choice.
 */
#ifndef SIPHON_SIP_H
#define SIPHON_SIP_H

#include <stddef.h>
#include <stdint.h>

/** Largest datagram the scanner accepts: spans are 16-bit offsets. */
#define SIP_MAX_MSG 65535u

/**
 * The verdict table: every outcome of sip_parse(), its counter name, its
 * policy and its description, in one place. X(id, name, policy, text):
 *
 * - SIP_POLICY_DROP: siphon cannot dispatch the message safely, because a
 *   field a dispatch decision reads is missing, ambiguous or unreadable: the
 *   message boundaries (start line, header lines, §18.3 framing), the kind,
 *   method and status of the start line, the Call-ID (the dispatch key), or
 *   whether a request carries a To tag when two To headers make that
 *   ambiguous (dialog state in transition windows, docs/dialogs.md).
 *   sip_parse() returns the verdict; the dataplane counts it and drops.
 * - SIP_POLICY_ANOMALY: a defect in a field no dispatch decision reads. The
 *   backend, which does read it, decides (typically answers 400), so the
 *   balancer must not lose the message: sip_parse() sets the verdict's bit
 *   in sip_msg.anomalies, goes on parsing what dispatch needs, and may still
 *   return SIP_OK; the dataplane counts each anomaly and forwards.
 *
 * Rows stay in this order: the values index the dataplane's counters.
 */
#define SIP_VERDICTS(X)                                                                            \
	X(SIP_OK, "ok", SIP_POLICY_NONE, "well-formed")                                            \
	/* Not a message: nothing to dispatch. */                                                  \
	X(SIP_KEEPALIVE, "keepalive", SIP_POLICY_DROP, "CRLF keep-alive, not a message")           \
	/* Spans are 16-bit offsets: nothing could be located. */                                  \
	X(SIP_OVERSIZE, "oversize", SIP_POLICY_DROP, "message longer than 65535 octets")           \
	/* The start line gives kind, method and status (per-method counts, dialog state). */      \
	X(SIP_BAD_START_LINE, "bad_start_line", SIP_POLICY_DROP,                                   \
	  "malformed request line or status line")                                                 \
	/* Part of the start line: past it, where the URI ends and the version starts is a         \
	 * guess. */                                                                               \
	X(SIP_BAD_REQUEST_URI, "bad_request_uri", SIP_POLICY_DROP,                                 \
	  "Request-URI without scheme or with control octets")                                     \
	/* Another protocol: what its headers mean is not this grammar's to say. */                \
	X(SIP_BAD_VERSION, "bad_version", SIP_POLICY_DROP, "SIP version other than SIP/2.0")       \
	/* The status class is read (response counts by class). */                                 \
	X(SIP_BAD_STATUS, "bad_status", SIP_POLICY_DROP,                                           \
	  "status code not three digits in 100..699")                                              \
	/* Header boundaries unknown: the Call-ID found might not be the one a backend reads. */   \
	X(SIP_BAD_HEADER, "bad_header", SIP_POLICY_DROP, "header line without a name and a colon") \
	X(SIP_UNTERMINATED, "unterminated", SIP_POLICY_DROP,                                       \
	  "header section not terminated by an empty line")                                        \
	/* The Call-ID is the dispatch key: absent, unreadable or two of them (two hops could      \
	 * hash different ones and split a call). */                                               \
	X(SIP_NO_CALL_ID, "no_call_id", SIP_POLICY_DROP, "Call-ID missing")                        \
	X(SIP_BAD_CALL_ID, "bad_call_id", SIP_POLICY_DROP, "Call-ID malformed")                    \
	X(SIP_DUP_CALL_ID, "dup_call_id", SIP_POLICY_DROP, "more than one Call-ID")                \
	/* Dispatch reads a request's method from its request line, never from CSeq; a             \
	 * response's CSeq method only labels it (method becomes SIP_METHOD_OTHER). The first      \
	 * well-formed CSeq is kept. */                                                            \
	X(SIP_NO_CSEQ, "no_cseq", SIP_POLICY_ANOMALY, "CSeq missing")                              \
	X(SIP_BAD_CSEQ, "bad_cseq", SIP_POLICY_ANOMALY, "CSeq malformed or number above 2^32-1")   \
	X(SIP_DUP_CSEQ, "dup_cseq", SIP_POLICY_ANOMALY, "more than one CSeq")                      \
	X(SIP_CSEQ_MISMATCH, "cseq_mismatch", SIP_POLICY_ANOMALY,                                  \
	  "request method differs from CSeq method")                                               \
	/* Responses are dispatched by Call-ID, not by Via; the backend answers by its own Via     \
	 * rules. */                                                                               \
	X(SIP_NO_VIA, "no_via", SIP_POLICY_ANOMALY, "Via missing")                                 \
	X(SIP_BAD_VIA, "bad_via", SIP_POLICY_ANOMALY, "Via malformed")                             \
	/* The From tag is never read. */                                                          \
	X(SIP_NO_FROM, "no_from", SIP_POLICY_ANOMALY, "From missing")                              \
	X(SIP_BAD_FROM, "bad_from", SIP_POLICY_ANOMALY, "From malformed")                          \
	X(SIP_DUP_FROM, "dup_from", SIP_POLICY_ANOMALY, "more than one From")                      \
	/* No To, no To tag: a request without one starts a dialog, as one with an untagged To. */ \
	X(SIP_NO_TO, "no_to", SIP_POLICY_ANOMALY, "To missing")                                    \
	/* to_tag is the tag read before the defect, if any: see struct sip_msg. */                \
	X(SIP_BAD_TO, "bad_to", SIP_POLICY_ANOMALY, "To malformed")                                \
	/* Two To headers: whether the message is in a dialog is ambiguous. */                     \
	X(SIP_DUP_TO, "dup_to", SIP_POLICY_DROP, "more than one To")                               \
	/* siphon never decrements or reads it to decide; the backend enforces it. */              \
	X(SIP_BAD_MAX_FORWARDS, "bad_max_forwards", SIP_POLICY_ANOMALY,                            \
	  "Max-Forwards not a number in 0..255")                                                   \
	X(SIP_DUP_MAX_FORWARDS, "dup_max_forwards", SIP_POLICY_ANOMALY,                            \
	  "more than one Max-Forwards")                                                            \
	/* Routing by Route is the backend's (loose routing); the balancer does not read it. */    \
	X(SIP_BAD_ROUTE, "bad_route", SIP_POLICY_ANOMALY, "Route malformed")                       \
	/* Framing (§18.3): where the message ends and what is forwarded as its body. */          \
	X(SIP_BAD_CONTENT_LENGTH, "bad_content_length", SIP_POLICY_DROP,                           \
	  "Content-Length malformed")                                                              \
	X(SIP_DUP_CONTENT_LENGTH, "dup_content_length", SIP_POLICY_DROP,                           \
	  "more than one Content-Length")                                                          \
	X(SIP_TRUNCATED, "truncated", SIP_POLICY_DROP,                                             \
	  "Content-Length beyond the end of the datagram")

/** What a verdict does to a message (the policy column of SIP_VERDICTS). */
enum sip_policy {
	SIP_POLICY_NONE = 0, /**< SIP_OK only */
	SIP_POLICY_DROP,     /**< returned by sip_parse(); the message is not dispatched */
	SIP_POLICY_ANOMALY,  /**< a bit of sip_msg.anomalies; the message is dispatched */
};

/**
 * Outcome of sip_parse(), one per row of SIP_VERDICTS. sip_parse() returns
 * SIP_OK or a SIP_POLICY_DROP verdict, never an anomaly. When a message has
 * several drop defects the first one met in message order is reported; a
 * missing Call-ID is checked after the header section. On SIP_OK every
 * anomaly of the message is in sip_msg.anomalies, each once; missing CSeq,
 * Via, From and To are found after the header section.
 */
enum sip_verdict {
#define SIP_X_ENUM_(id, name, policy, text) id,
	SIP_VERDICTS(SIP_X_ENUM_)
#undef SIP_X_ENUM_
	        SIP_VERDICT_COUNT /**< number of verdicts; not a verdict */
};

/** Bit of verdict v in sip_msg.anomalies. */
#define SIP_ANOMALY_BIT(v) (UINT32_C(1) << (v))

#define SIP_X_ANOMALY_(id, name, policy, text)                                                     \
	| ((policy) == SIP_POLICY_ANOMALY ? SIP_ANOMALY_BIT(id) : 0u)
/** Every anomaly verdict's bit: a constant expression. */
#define SIP_ANOMALY_MASK (0u SIP_VERDICTS(SIP_X_ANOMALY_))

/** Request or response. */
enum sip_kind {
	SIP_REQUEST = 1,
	SIP_RESPONSE = 2,
};

/** Methods known by name; any other token is SIP_METHOD_OTHER (its span says which). */
enum sip_method {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_PRACK,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_INFO,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_UPDATE,
	SIP_METHOD_COUNT
};

/** Transport of the top Via; SIP_TRANSPORT_OTHER for an unknown token. */
enum sip_transport {
	SIP_TRANSPORT_OTHER = 0,
	SIP_TRANSPORT_UDP,
	SIP_TRANSPORT_TCP,
	SIP_TRANSPORT_TLS,
	SIP_TRANSPORT_SCTP,
	SIP_TRANSPORT_WS,
	SIP_TRANSPORT_WSS,
	SIP_TRANSPORT_COUNT
};

/**
 * Bytes [off, off + len) of the message. len == 0 means absent, except for
 * reason, which may be present and empty. Spans of atomic values (tokens,
 * numbers, hosts, Call-ID) never hold white space; spans of composite values
 * (a whole Via, From, To or Route value) may hold folded line breaks, as the
 * sender wrote them.
 */
struct sip_span {
	uint16_t off;
	uint16_t len;
};

/** Flags in sip_msg.flags. */
#define SIP_F_VIA_RPORT        0x01u /**< top Via has rport (with or without a value) */
#define SIP_F_VIA_IPV6         0x02u /**< top Via sent-by is an IPv6 reference (brackets removed) */
#define SIP_F_CONTENT_LENGTH   0x04u /**< Content-Length present (else the body is the rest) */
#define SIP_F_MAX_FORWARDS     0x08u /**< Max-Forwards present, its value in max_forwards */
/** Max-Forwards present but malformed (SIP_BAD_MAX_FORWARDS); max_forwards holds nothing.
 * Redundant with that anomaly bit, but it lets the duplicate check test one byte. */
#define SIP_F_MAX_FORWARDS_BAD 0x10u
#define SIP_F_UA_SERVER        0x20u /**< user_agent is a Server header's (no User-Agent) */

/**
 * The view sip_parse() fills. Only meaningful when it returned SIP_OK.
 *
 * With anomalies (see SIP_VERDICTS), SIP_OK still fills every field a
 * dispatch decision reads: kind, method (of the request line; of the CSeq of
 * a response, SIP_METHOD_OTHER when that is missing or malformed), status,
 * call_id, to_tag, and the framing (body, msg_len, trailing). A header with
 * an anomaly leaves these parts absent (len 0): the CSeq fields on
 * SIP_BAD_CSEQ or SIP_NO_CSEQ, the top Via's parts (proto, host, port,
 * branch, received, rport, their flags) when the top Via value itself is
 * malformed (via then spans the value as written and via_count is at least
 * 1), max_forwards and SIP_F_MAX_FORWARDS on SIP_BAD_MAX_FORWARDS (which sets
 * SIP_F_MAX_FORWARDS_BAD instead), route on
 * SIP_BAD_ROUTE. A malformed From or To keeps its whole value as written in
 * from / to. With duplicates the first header is kept.
 *
 * Dialog state reads only whether a request has a To tag. A malformed To
 * (SIP_BAD_TO) counts as carrying a tag when a tag parameter with a
 * non-empty value was read before the defect, and to_tag then holds that
 * value up to the first octet a parameter value may not hold: an SBC's tag
 * ending in control octets stays the in-dialog tag the SBC answered to. A
 * defect before any tag (an unclosed quote or '<') means no tag, as a
 * missing To (SIP_NO_TO) does. Two To headers (SIP_DUP_TO) drop instead.
 */
struct sip_msg {
	uint8_t kind;            /**< enum sip_kind */
	uint8_t method;          /**< enum sip_method of a request (of the CSeq for a response) */
	uint8_t cseq_method;     /**< enum sip_method of the CSeq method */
	uint8_t via_transport;   /**< enum sip_transport of the top Via */
	uint8_t max_forwards;    /**< value when SIP_F_MAX_FORWARDS */
	uint8_t flags;           /**< SIP_F_* */
	uint16_t status;         /**< response status code, 0 for a request */
	uint16_t via_count;      /**< number of Via values over all Via headers */
	uint16_t via_port;       /**< top Via sent-by port, 0 when absent */
	uint32_t cseq;           /**< CSeq number */
	uint32_t content_length; /**< Content-Length value, or body length when absent */

	struct sip_span method_name;  /**< request method, or the CSeq method of a response */
	struct sip_span uri;          /**< Request-URI */
	struct sip_span reason;       /**< reason phrase (responses) */
	struct sip_span call_id;      /**< Call-ID value */
	struct sip_span cseq_num;     /**< CSeq number as written (leading zeros kept) */
	struct sip_span cseq_name;    /**< CSeq method */
	struct sip_span via;          /**< top Via value: "SIP/2.0/UDP host:port;params" */
	struct sip_span via_proto;    /**< transport token of the top Via */
	struct sip_span via_host;     /**< sent-by host (IPv6 without brackets) */
	struct sip_span via_branch;   /**< branch parameter value */
	struct sip_span via_received; /**< received parameter value */
	struct sip_span via_rport;    /**< rport value (empty when given without value) */
	struct sip_span from;         /**< From value */
	struct sip_span from_tag;     /**< From tag parameter value */
	struct sip_span to;           /**< To value */
	struct sip_span to_tag;       /**< To tag parameter value */
	struct sip_span route;        /**< first value of the first Route header */
	/** sip_parse_rf() only (sip_parse() leaves them empty): User-Agent's value region
	 *  (Server's when there is no User-Agent), as written: leading and trailing white
	 *  space included, for rules (rules.h) to trim. */
	struct sip_span user_agent;
	struct sip_span contact; /**< first Contact header's value region, as user_agent */
	struct sip_span body;    /**< message body, framed by Content-Length */
	uint16_t msg_len;        /**< octets of the message proper: start line to end of body */
	uint16_t trailing;       /**< octets after msg_len that §18.3 says to ignore */
	/**
	 * SIP_ANOMALY_BIT() of every anomaly met; 0 for a clean message. Counting
	 * them, as the dataplane does next to its drop counters:
	 * for (uint32_t a = m.anomalies; a != 0; a &= a - 1)
	 *         count[__builtin_ctz(a)]++;       (index: enum sip_verdict)
	 */
	uint32_t anomalies;
};

/**
 * Scan one SIP message held in buf[0, len).
 *
 * @param buf  The datagram's payload; read only, never past len. May be NULL when len is 0.
 * @param len  Its length in octets.
 * @param msg  Filled with the view on SIP_OK; unspecified contents otherwise.
 * @return SIP_OK (msg->anomalies says what was odd), or the SIP_POLICY_DROP
 *         reason the message cannot be dispatched.
 *
 * Calling context: any thread, any lcore; no allocation, no locks, no syscalls.
 */
enum sip_verdict sip_parse(const uint8_t *buf, size_t len, struct sip_msg *msg);

/**
 * sip_parse() that also fills user_agent and contact, which only rules (rules.h) read:
 * the same verdicts and every other field the same. Its own build of the grammar, so
 * that sip_parse() pays nothing for them (bench/bench_rules.c measures what they cost).
 * Same calling context as sip_parse().
 */
enum sip_verdict sip_parse_rf(const uint8_t *buf, size_t len, struct sip_msg *msg);

/** Snake-case counter name of a verdict ("bad_cseq"); "unknown" outside the enum. */
const char *sip_verdict_name(enum sip_verdict v);

/** Policy of a verdict (SIP_VERDICTS); SIP_POLICY_DROP outside the enum. */
enum sip_policy sip_verdict_policy(enum sip_verdict v);

/** One-line English description of a verdict, for logs and tools. */
const char *sip_verdict_str(enum sip_verdict v);

/** Name of a method ("INVITE"); "OTHER" for SIP_METHOD_OTHER or out of range. */
const char *sip_method_name(enum sip_method m);

/** Classify a method token (case-sensitive, RFC 3261 §7.1). */
enum sip_method sip_method_of(const uint8_t *p, size_t len);

/** Byte-scanning implementations; SIP_SCAN_AUTO picks the best the CPU runs. */
enum sip_scan_impl {
	SIP_SCAN_AUTO = 0,
	SIP_SCAN_SCALAR,
	SIP_SCAN_SSE2,
	SIP_SCAN_AVX2,
};

/**
 * Choose the scanner sip_parse() uses from now on, for every thread.
 * Call at start-up, before workers run (tests and benches switch between runs).
 *
 * @return 0, or -1 when the CPU or the build lacks that implementation.
 */
int sip_scan_select(enum sip_scan_impl impl);

/** Name of the scanner in use: "scalar", "sse2" or "avx2". */
const char *sip_scan_name(void);

#endif /* SIPHON_SIP_H */
