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
 * defect, each with a counter name for the dataplane's statistics.
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
 * Outcome of sip_parse(). SIP_OK is the only outcome that fills every field;
 * anything else is a reason to drop the datagram and count it. When a message
 * has several defects the first one met in message order is reported; absent
 * mandatory headers are checked after the header section, in the order
 * Call-ID, CSeq, Via, From, To.
 */
enum sip_verdict {
	SIP_OK = 0,          /**< well-formed enough to route on */
	SIP_KEEPALIVE,       /**< only CR/LF octets: an RFC 5626 keep-alive, not a message */
	SIP_OVERSIZE,        /**< longer than SIP_MAX_MSG octets */
	SIP_BAD_START_LINE,  /**< start line is not Method SP URI SP Version / Version SP Code SP
	                        Reason */
	SIP_BAD_REQUEST_URI, /**< Request-URI has no scheme or holds control octets */
	SIP_BAD_VERSION,     /**< well-formed SIP version other than SIP/2.0 */
	SIP_BAD_STATUS,      /**< status code not three digits in 100..699 */
	SIP_BAD_HEADER,      /**< header line without a token name and a colon */
	SIP_UNTERMINATED,    /**< no empty line ends the header section */
	SIP_NO_CALL_ID,      /**< Call-ID header missing */
	SIP_BAD_CALL_ID,     /**< Call-ID empty, with inner white space, or illegal octets */
	SIP_DUP_CALL_ID,     /**< more than one Call-ID header */
	SIP_NO_CSEQ,         /**< CSeq header missing */
	SIP_BAD_CSEQ,        /**< CSeq not 32-bit number SP method */
	SIP_DUP_CSEQ,        /**< more than one CSeq header */
	SIP_CSEQ_MISMATCH,   /**< request method differs from the CSeq method */
	SIP_NO_VIA,          /**< no Via header */
	SIP_BAD_VIA,  /**< Via value not SIP/2.0/transport sent-by *(;param), or empty value */
	SIP_NO_FROM,  /**< From header missing */
	SIP_BAD_FROM, /**< From unparsable (unbalanced quote or <>, bad parameter) */
	SIP_DUP_FROM, /**< more than one From header */
	SIP_NO_TO,    /**< To header missing */
	SIP_BAD_TO,   /**< To unparsable (unbalanced quote or <>, bad parameter) */
	SIP_DUP_TO,   /**< more than one To header */
	SIP_BAD_MAX_FORWARDS,   /**< Max-Forwards not a number in 0..255 */
	SIP_DUP_MAX_FORWARDS,   /**< more than one Max-Forwards header */
	SIP_BAD_ROUTE,          /**< first Route value unparsable (unbalanced quote or <>) */
	SIP_BAD_CONTENT_LENGTH, /**< Content-Length not a decimal number below 2^32 */
	SIP_DUP_CONTENT_LENGTH, /**< more than one Content-Length: framing undeterminable */
	SIP_TRUNCATED,          /**< Content-Length reaches past the end of the datagram */
	SIP_VERDICT_COUNT       /**< number of verdicts; not a verdict */
};

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
#define SIP_F_VIA_RPORT      0x01u /**< top Via has rport (with or without a value) */
#define SIP_F_VIA_IPV6       0x02u /**< top Via sent-by is an IPv6 reference (brackets removed) */
#define SIP_F_CONTENT_LENGTH 0x04u /**< Content-Length present (else the body is the rest) */
#define SIP_F_MAX_FORWARDS   0x08u /**< Max-Forwards present */

/** The view sip_parse() fills. Only meaningful when it returned SIP_OK. */
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
	struct sip_span body;         /**< message body, framed by Content-Length */
	uint16_t msg_len;  /**< octets of the message proper: start line to end of body */
	uint16_t trailing; /**< octets after msg_len that §18.3 says to ignore */
};

/**
 * Scan one SIP message held in buf[0, len).
 *
 * @param buf  The datagram's payload; read only, never past len. May be NULL when len is 0.
 * @param len  Its length in octets.
 * @param msg  Filled with the view on SIP_OK; unspecified contents otherwise.
 * @return SIP_OK, or the reason the message cannot be routed (enum sip_verdict).
 *
 * Calling context: any thread, any lcore; no allocation, no locks, no syscalls.
 */
enum sip_verdict sip_parse(const uint8_t *buf, size_t len, struct sip_msg *msg);

/** Snake-case counter name of a verdict ("bad_cseq"); "unknown" outside the enum. */
const char *sip_verdict_name(enum sip_verdict v);

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
