/*
 * sip.c - the scanner's public face: verdict and method names, and the choice
 * of the grammar build (scalar, SSE2, AVX2) that sip_parse() runs.
 * Pure C. The choice is made once at start-up from what the CPU offers;
 * sip_scan_select() may override it before workers run.
 */
#include <string.h>

#include <siphon/sip.h>

#include "sip_parse_impl.h"

static const char *const verdict_names[SIP_VERDICT_COUNT] = {
        [SIP_OK] = "ok",
        [SIP_KEEPALIVE] = "keepalive",
        [SIP_OVERSIZE] = "oversize",
        [SIP_BAD_START_LINE] = "bad_start_line",
        [SIP_BAD_REQUEST_URI] = "bad_request_uri",
        [SIP_BAD_VERSION] = "bad_version",
        [SIP_BAD_STATUS] = "bad_status",
        [SIP_BAD_HEADER] = "bad_header",
        [SIP_UNTERMINATED] = "unterminated",
        [SIP_NO_CALL_ID] = "no_call_id",
        [SIP_BAD_CALL_ID] = "bad_call_id",
        [SIP_DUP_CALL_ID] = "dup_call_id",
        [SIP_NO_CSEQ] = "no_cseq",
        [SIP_BAD_CSEQ] = "bad_cseq",
        [SIP_DUP_CSEQ] = "dup_cseq",
        [SIP_CSEQ_MISMATCH] = "cseq_mismatch",
        [SIP_NO_VIA] = "no_via",
        [SIP_BAD_VIA] = "bad_via",
        [SIP_NO_FROM] = "no_from",
        [SIP_BAD_FROM] = "bad_from",
        [SIP_DUP_FROM] = "dup_from",
        [SIP_NO_TO] = "no_to",
        [SIP_BAD_TO] = "bad_to",
        [SIP_DUP_TO] = "dup_to",
        [SIP_BAD_MAX_FORWARDS] = "bad_max_forwards",
        [SIP_DUP_MAX_FORWARDS] = "dup_max_forwards",
        [SIP_BAD_ROUTE] = "bad_route",
        [SIP_BAD_CONTENT_LENGTH] = "bad_content_length",
        [SIP_DUP_CONTENT_LENGTH] = "dup_content_length",
        [SIP_TRUNCATED] = "truncated",
};

static const char *const verdict_strs[SIP_VERDICT_COUNT] = {
        [SIP_OK] = "well-formed",
        [SIP_KEEPALIVE] = "CRLF keep-alive, not a message",
        [SIP_OVERSIZE] = "message longer than 65535 octets",
        [SIP_BAD_START_LINE] = "malformed request line or status line",
        [SIP_BAD_REQUEST_URI] = "Request-URI without scheme or with control octets",
        [SIP_BAD_VERSION] = "SIP version other than SIP/2.0",
        [SIP_BAD_STATUS] = "status code not three digits in 100..699",
        [SIP_BAD_HEADER] = "header line without a name and a colon",
        [SIP_UNTERMINATED] = "header section not terminated by an empty line",
        [SIP_NO_CALL_ID] = "Call-ID missing",
        [SIP_BAD_CALL_ID] = "Call-ID malformed",
        [SIP_DUP_CALL_ID] = "more than one Call-ID",
        [SIP_NO_CSEQ] = "CSeq missing",
        [SIP_BAD_CSEQ] = "CSeq malformed or number above 2^32-1",
        [SIP_DUP_CSEQ] = "more than one CSeq",
        [SIP_CSEQ_MISMATCH] = "request method differs from CSeq method",
        [SIP_NO_VIA] = "Via missing",
        [SIP_BAD_VIA] = "Via malformed",
        [SIP_NO_FROM] = "From missing",
        [SIP_BAD_FROM] = "From malformed",
        [SIP_DUP_FROM] = "more than one From",
        [SIP_NO_TO] = "To missing",
        [SIP_BAD_TO] = "To malformed",
        [SIP_DUP_TO] = "more than one To",
        [SIP_BAD_MAX_FORWARDS] = "Max-Forwards not a number in 0..255",
        [SIP_DUP_MAX_FORWARDS] = "more than one Max-Forwards",
        [SIP_BAD_ROUTE] = "Route malformed",
        [SIP_BAD_CONTENT_LENGTH] = "Content-Length malformed",
        [SIP_DUP_CONTENT_LENGTH] = "more than one Content-Length",
        [SIP_TRUNCATED] = "Content-Length beyond the end of the datagram",
};

const char *
sip_verdict_name(enum sip_verdict v)
{
	return (unsigned)v < SIP_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

const char *
sip_verdict_str(enum sip_verdict v)
{
	return (unsigned)v < SIP_VERDICT_COUNT ? verdict_strs[v] : "unknown verdict";
}

static const char *const method_names[SIP_METHOD_COUNT] = {
        [SIP_METHOD_OTHER] = "OTHER",
        [SIP_METHOD_INVITE] = "INVITE",
        [SIP_METHOD_ACK] = "ACK",
        [SIP_METHOD_BYE] = "BYE",
        [SIP_METHOD_CANCEL] = "CANCEL",
        [SIP_METHOD_OPTIONS] = "OPTIONS",
        [SIP_METHOD_REGISTER] = "REGISTER",
        [SIP_METHOD_PRACK] = "PRACK",
        [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
        [SIP_METHOD_NOTIFY] = "NOTIFY",
        [SIP_METHOD_PUBLISH] = "PUBLISH",
        [SIP_METHOD_INFO] = "INFO",
        [SIP_METHOD_REFER] = "REFER",
        [SIP_METHOD_MESSAGE] = "MESSAGE",
        [SIP_METHOD_UPDATE] = "UPDATE",
};

const char *
sip_method_name(enum sip_method m)
{
	return (unsigned)m < SIP_METHOD_COUNT ? method_names[m] : "OTHER";
}

enum sip_method
sip_method_of(const uint8_t *p, size_t len)
{
	/* Method names are case-sensitive (RFC 3261 §7.1); switch on length first. */
#define M(name, id)                                                                                \
	if (len == sizeof(name) - 1 && memcmp(p, name, len) == 0)                                  \
		return id;
	switch (len) {
	case 3:
		M("ACK", SIP_METHOD_ACK);
		M("BYE", SIP_METHOD_BYE);
		break;
	case 4:
		M("INFO", SIP_METHOD_INFO);
		break;
	case 5:
		M("PRACK", SIP_METHOD_PRACK);
		M("REFER", SIP_METHOD_REFER);
		break;
	case 6:
		M("INVITE", SIP_METHOD_INVITE);
		M("CANCEL", SIP_METHOD_CANCEL);
		M("NOTIFY", SIP_METHOD_NOTIFY);
		M("UPDATE", SIP_METHOD_UPDATE);
		break;
	case 7:
		M("OPTIONS", SIP_METHOD_OPTIONS);
		M("PUBLISH", SIP_METHOD_PUBLISH);
		M("MESSAGE", SIP_METHOD_MESSAGE);
		break;
	case 8:
		M("REGISTER", SIP_METHOD_REGISTER);
		break;
	case 9:
		M("SUBSCRIBE", SIP_METHOD_SUBSCRIBE);
		break;
	}
#undef M
	return SIP_METHOD_OTHER;
}

/* ------------------------------------------------------------------------ */
/* Choice of implementation */

static sip_parse_fn
impl_get(enum sip_scan_impl impl)
{
	switch (impl) {
	case SIP_SCAN_SCALAR:
		return sip_parse_scalar;
#ifdef SIP_SCAN_SIMD
	case SIP_SCAN_SSE2:
		return sip_parse_sse2;
	case SIP_SCAN_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
		               ? sip_parse_avx2
		               : NULL;
	case SIP_SCAN_AUTO: {
		sip_parse_fn fn = impl_get(SIP_SCAN_AVX2);
		return fn != NULL ? fn : sip_parse_sse2;
	}
#else
	case SIP_SCAN_AUTO:
		return sip_parse_scalar;
	case SIP_SCAN_SSE2:
	case SIP_SCAN_AVX2:
		return NULL;
#endif
	}
	return NULL;
}

/* The reference until the constructor below upgrades it. */
static sip_parse_fn parse_impl = sip_parse_scalar;

__attribute__((constructor)) static void
sip_scan_init(void)
{
	parse_impl = impl_get(SIP_SCAN_AUTO);
}

int
sip_scan_select(enum sip_scan_impl impl)
{
	sip_parse_fn fn = impl_get(impl);

	if (fn == NULL)
		return -1;
	parse_impl = fn;
	return 0;
}

const char *
sip_scan_name(void)
{
#ifdef SIP_SCAN_SIMD
	if (parse_impl == sip_parse_avx2)
		return "avx2";
	if (parse_impl == sip_parse_sse2)
		return "sse2";
#endif
	return "scalar";
}

enum sip_verdict
sip_parse(const uint8_t *buf, size_t len, struct sip_msg *msg)
{
	return parse_impl(buf, len, msg);
}
