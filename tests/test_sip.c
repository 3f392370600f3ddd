/*
 * test_sip.c - Criterion suite for the zero-copy SIP scanner (include/siphon/sip.h,
 * dataplane/core/sip*.c). Four sources of input, each parsed from a guard buffer (tests/guard.h:
 * the octet after the input faults) with every scanner this CPU and build offer:
 *  - the RFC 4475 torture corpus (tests/data/rfc4475): one row per file with the verdict siphon
 *    gives and the anomalies it forwards with, why where that is not what the RFC's class
 *    suggests, and its MANIFEST.tsv fields;
 *  - hand-written rows: one returning each drop verdict and one routed with each anomaly
 *    alone (sip.h's SIP_VERDICTS), what a header with an anomaly leaves in the view, and
 *    positive rows for the header forms a load balancer meets (compact names, folding, Via
 *    lists, IPv6, rport...);
 *  - every prefix of those messages (framing and view bounds when cut anywhere);
 *  - a differential run: SSE2 and AVX2 must give the scalar reference's verdict, anomalies and
 *    struct sip_msg byte for byte on the corpus, the rows, 20,000 seeded mutants and an octet
 *    sweep.
 * tests/fuzz/fuzz_sip.c does the differential part on libFuzzer's inputs; crashes it finds
 * belong here as rows.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "siphon/sip.h"
#include "siphon/sph.h"

#include "guard.h"

#ifndef SIPHON_TEST_DATA
#error "tests/meson.build passes -DSIPHON_TEST_DATA=<the tests/data directory>"
#endif
#define CORPUS_DIR SIPHON_TEST_DATA "/rfc4475"

static void
restore_auto(void)
{
	sip_scan_select(SIP_SCAN_AUTO);
}

/* Every test leaves the start-up choice of scanner behind it. */
TestSuite(sip, .fini = restore_auto);

/* ---- scanners ---- */

static const enum sip_scan_impl all_impls[] = {SIP_SCAN_SCALAR, SIP_SCAN_SSE2, SIP_SCAN_AVX2};
static const char *const impl_names[] = {[SIP_SCAN_AUTO] = "auto",
                                         [SIP_SCAN_SCALAR] = "scalar",
                                         [SIP_SCAN_SSE2] = "sse2",
                                         [SIP_SCAN_AVX2] = "avx2"};

/* The scanners this CPU and build offer, scalar (the reference) first. */
static size_t
impls_available(enum sip_scan_impl out[SPH_ARRAY_SIZE(all_impls)])
{
	size_t n = 0;

	for (size_t i = 0; i < SPH_ARRAY_SIZE(all_impls); i++)
		if (sip_scan_select(all_impls[i]) == 0)
			out[n++] = all_impls[i];
	sip_scan_select(SIP_SCAN_AUTO);
	cr_assert(n >= 1 && out[0] == SIP_SCAN_SCALAR, "the scalar scanner is always available");
	return n;
}

/* ---- parsing and the view's contract ---- */

#define POISON 0xa5 /* as tests/fuzz/fuzz_sip.c: fields a scanner leaves unset compare too */

/* Parse p[0, len) with one scanner over a poisoned view. */
static enum sip_verdict
parse_with(enum sip_scan_impl impl, const uint8_t *p, size_t len, struct sip_msg *m)
{
	cr_assert_eq(sip_scan_select(impl), 0, "sip_scan_select(%s)", impl_names[impl]);
	memset(m, POISON, sizeof(*m));
	enum sip_verdict v = sip_parse(p, len, m);
	cr_assert((unsigned)v < SIP_VERDICT_COUNT, "%s: verdict %d outside the enum",
	          impl_names[impl], (int)v);
	return v;
}

/* buf[0, len) copied to end right before a PROT_NONE page; guard_free() it. */
static uint8_t *
guarded(const uint8_t *buf, size_t len)
{
	uint8_t *g = guard_copy(buf, len);

	cr_assert(g != NULL, "guard_copy(%zu)", len);
	return g;
}

/* C-escaped, shortened copy of p[0, len) for failure messages. */
static const char *
esc(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		uint8_t c = p[i];

		if (c == '\r')
			o += (size_t)snprintf(out + o, cap - o, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c == '\\' || c == '"')
			o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
		if (i + 1 < len && o + 8 >= cap)
			o += (size_t)snprintf(out + o, cap - o, "...");
	}
	out[o < cap ? o : cap - 1] = '\0';
	return out;
}

enum span_field {
	F_NONE = 0,
	F_METHOD,
	F_URI,
	F_REASON,
	F_CALL_ID,
	F_CSEQ_NUM,
	F_CSEQ_NAME,
	F_VIA,
	F_VIA_PROTO,
	F_VIA_HOST,
	F_VIA_BRANCH,
	F_VIA_RECEIVED,
	F_VIA_RPORT,
	F_FROM,
	F_FROM_TAG,
	F_TO,
	F_TO_TAG,
	F_ROUTE,
	F_BODY,
	F_COUNT
};

#define SF(e, f) [F_##e] = {#f, offsetof(struct sip_msg, f)}
static const struct {
	const char *name;
	size_t off;
} span_fields[F_COUNT] = {
        SF(METHOD, method_name),
        SF(URI, uri),
        SF(REASON, reason),
        SF(CALL_ID, call_id),
        SF(CSEQ_NUM, cseq_num),
        SF(CSEQ_NAME, cseq_name),
        SF(VIA, via),
        SF(VIA_PROTO, via_proto),
        SF(VIA_HOST, via_host),
        SF(VIA_BRANCH, via_branch),
        SF(VIA_RECEIVED, via_received),
        SF(VIA_RPORT, via_rport),
        SF(FROM, from),
        SF(FROM_TAG, from_tag),
        SF(TO, to),
        SF(TO_TAG, to_tag),
        SF(ROUTE, route),
        SF(BODY, body),
};
#undef SF

static struct sip_span
span_of(const struct sip_msg *m, unsigned f)
{
	struct sip_span s;

	memcpy(&s, (const uint8_t *)m + span_fields[f].off, sizeof(s));
	return s;
}

static bool
span_is(const uint8_t *buf, struct sip_span s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && memcmp(buf + s.off, want, n) == 0;
}

static bool
span_in(struct sip_span inner, struct sip_span outer)
{
	return inner.off >= outer.off && inner.off + inner.len <= outer.off + outer.len;
}

static bool
span_has_lws(const uint8_t *buf, struct sip_span s)
{
	for (unsigned i = 0; i < s.len; i++) {
		uint8_t c = buf[s.off + i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			return true;
	}
	return false;
}

/* Did the view record anomaly v? */
static bool
has_anom(const struct sip_msg *m, enum sip_verdict v)
{
	return (m->anomalies & SIP_ANOMALY_BIT(v)) != 0;
}

/*
 * What sip.h promises of a SIP_OK view of buf[0, len): every span inside the input, the
 * framing covering it (msg_len + trailing), the body framed by content_length, atomic values
 * without white space, the parts of the top Via inside it, the kind's own fields. A header
 * with an anomaly has its parts absent instead, and only anomalies are in the mask.
 */
static void
check_view(const char *ctx, const uint8_t *buf, size_t len, const struct sip_msg *m)
{
	bool cseq_ok = !has_anom(m, SIP_NO_CSEQ) && !has_anom(m, SIP_BAD_CSEQ);
	bool top_via_ok = !has_anom(m, SIP_NO_VIA) && m->via_proto.len != 0;

	cr_assert_eq(m->anomalies & ~(uint32_t)SIP_ANOMALY_MASK, 0,
	             "%s: anomalies %#x hold a drop verdict", ctx, m->anomalies);
	cr_assert(!has_anom(m, SIP_NO_CSEQ) || !has_anom(m, SIP_BAD_CSEQ),
	          "%s: CSeq both missing and malformed", ctx);
	cr_assert(!has_anom(m, SIP_NO_FROM) ||
	                  (!has_anom(m, SIP_BAD_FROM) && !has_anom(m, SIP_DUP_FROM)),
	          "%s: From both missing and present", ctx);
	cr_assert(!has_anom(m, SIP_NO_TO) || !has_anom(m, SIP_BAD_TO),
	          "%s: To both missing and "
	          "present",
	          ctx);
	cr_assert(!has_anom(m, SIP_NO_VIA) || !has_anom(m, SIP_BAD_VIA),
	          "%s: Via both missing and present", ctx);
	for (unsigned f = F_NONE + 1; f < F_COUNT; f++) {
		struct sip_span s = span_of(m, f);

		cr_assert((size_t)s.off + s.len <= len, "%s: %s [%u, +%u) beyond the %zu octets",
		          ctx, span_fields[f].name, s.off, s.len, len);
	}
	cr_assert_eq((size_t)m->msg_len + m->trailing, len, "%s: msg_len %u + trailing %u != %zu",
	             ctx, m->msg_len, m->trailing, len);
	cr_assert_eq(m->body.off + m->body.len, m->msg_len, "%s: body does not end the message",
	             ctx);
	cr_assert_eq(m->content_length, m->body.len, "%s: content_length %u, body %u octets", ctx,
	             m->content_length, m->body.len);
	cr_assert(m->call_id.len, "%s: SIP_OK without a Call-ID", ctx);
	cr_assert(m->kind == SIP_RESPONSE || m->method_name.len, "%s: request without method", ctx);
	cr_assert(!cseq_ok || (m->cseq_num.len && m->cseq_name.len), "%s: CSeq span empty", ctx);
	cr_assert(cseq_ok || (m->cseq_num.len == 0 && m->cseq_name.len == 0 && m->cseq == 0 &&
	                      m->cseq_method == SIP_METHOD_OTHER),
	          "%s: parts of a missing or malformed CSeq", ctx);
	cr_assert(has_anom(m, SIP_NO_VIA) || (m->via_count >= 1 && m->via.off != 0),
	          "%s: via_count 0 without no_via", ctx);
	cr_assert(!has_anom(m, SIP_NO_VIA) || (m->via_count == 0 && m->via.len == 0),
	          "%s: no_via with a Via", ctx);
	cr_assert(!top_via_ok || (m->via.len && m->via_host.len), "%s: top Via span empty", ctx);
	cr_assert(top_via_ok || (m->via_proto.len == 0 && m->via_host.len == 0 &&
	                         m->via_branch.len == 0 && m->via_received.len == 0 &&
	                         m->via_rport.len == 0 && m->via_port == 0 &&
	                         !(m->flags & (SIP_F_VIA_RPORT | SIP_F_VIA_IPV6))),
	          "%s: parts of a malformed top Via", ctx);
	cr_assert(has_anom(m, SIP_NO_FROM) || has_anom(m, SIP_BAD_FROM) || m->from.len,
	          "%s: From span empty", ctx);
	cr_assert(has_anom(m, SIP_NO_TO) || has_anom(m, SIP_BAD_TO) || m->to.len,
	          "%s: To span empty", ctx);
	cr_assert(!has_anom(m, SIP_NO_FROM) || (m->from.len == 0 && m->from_tag.len == 0),
	          "%s: no_from with a From", ctx);
	cr_assert(!has_anom(m, SIP_NO_TO) || (m->to.len == 0 && m->to_tag.len == 0),
	          "%s: no_to with a To", ctx);
	cr_assert(!has_anom(m, SIP_BAD_MAX_FORWARDS) ||
	                  (!(m->flags & SIP_F_MAX_FORWARDS) && m->max_forwards == 0 &&
	                   (m->flags & SIP_F_MAX_FORWARDS_BAD)),
	          "%s: a value for a malformed Max-Forwards", ctx);
	cr_assert(!(m->flags & SIP_F_MAX_FORWARDS_BAD) || has_anom(m, SIP_BAD_MAX_FORWARDS),
	          "%s: SIP_F_MAX_FORWARDS_BAD without the anomaly", ctx);
	cr_assert(!has_anom(m, SIP_BAD_ROUTE) || m->route.len == 0,
	          "%s: a route for a malformed Route", ctx);
	cr_assert_eq(m->flags & ~0x1fu, 0, "%s: unknown flags %#x", ctx, m->flags);
	cr_assert(m->method < SIP_METHOD_COUNT && m->cseq_method < SIP_METHOD_COUNT &&
	                  m->via_transport < SIP_TRANSPORT_COUNT,
	          "%s: enum out of range", ctx);

	/* Atomic values never hold white space; parameter values may be quoted strings. */
	static const unsigned atomic[] = {F_METHOD,    F_CALL_ID,   F_CSEQ_NUM,
	                                  F_CSEQ_NAME, F_VIA_PROTO, F_VIA_HOST};
	static const unsigned params[] = {F_VIA_BRANCH, F_VIA_RECEIVED, F_VIA_RPORT, F_FROM_TAG,
	                                  F_TO_TAG};
	for (size_t i = 0; i < SPH_ARRAY_SIZE(atomic); i++)
		cr_assert(!span_has_lws(buf, span_of(m, atomic[i])), "%s: white space in %s", ctx,
		          span_fields[atomic[i]].name);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(params); i++) {
		struct sip_span s = span_of(m, params[i]);
		cr_assert(s.len == 0 || buf[s.off] == '"' || !span_has_lws(buf, s),
		          "%s: white space in %s", ctx, span_fields[params[i]].name);
	}
	cr_assert(!top_via_ok || (span_in(m->via_proto, m->via) && span_in(m->via_host, m->via)),
	          "%s: top Via parts outside the top Via", ctx);
	cr_assert(!m->via_branch.len || span_in(m->via_branch, m->via), "%s: branch", ctx);
	cr_assert(!m->via_received.len || span_in(m->via_received, m->via), "%s: received", ctx);
	cr_assert(!m->via_rport.len || span_in(m->via_rport, m->via), "%s: rport", ctx);
	cr_assert((m->flags & SIP_F_VIA_RPORT) || m->via_rport.len == 0, "%s: rport flag", ctx);
	cr_assert(!m->from_tag.len || span_in(m->from_tag, m->from), "%s: From tag", ctx);
	cr_assert(!m->to_tag.len || span_in(m->to_tag, m->to), "%s: To tag", ctx);

	/* CSeq number as written, value below 2^32. */
	uint64_t n = 0;
	for (unsigned i = 0; i < m->cseq_num.len; i++) {
		uint8_t c = buf[m->cseq_num.off + i];
		cr_assert(c >= '0' && c <= '9', "%s: CSeq number not digits", ctx);
		n = n * 10 + (c - '0');
		cr_assert(n <= UINT32_MAX, "%s: CSeq number above 2^32-1", ctx);
	}
	cr_assert_eq(n, m->cseq, "%s: cseq %u, written %llu", ctx, m->cseq, (unsigned long long)n);
	cr_assert_eq(m->cseq_method, sip_method_of(buf + m->cseq_name.off, m->cseq_name.len),
	             "%s: cseq_method", ctx);

	if (m->kind == SIP_REQUEST) {
		cr_assert_eq(m->status, 0, "%s: request with status %u", ctx, m->status);
		cr_assert(m->uri.len > 0, "%s: request without URI", ctx);
		cr_assert_eq(m->method, sip_method_of(buf + m->method_name.off, m->method_name.len),
		             "%s: method", ctx);
		cr_assert(!cseq_ok || has_anom(m, SIP_CSEQ_MISMATCH) ||
		                  (m->method_name.len == m->cseq_name.len &&
		                   memcmp(buf + m->method_name.off, buf + m->cseq_name.off,
		                          m->cseq_name.len) == 0),
		          "%s: request method differing from the CSeq method, no anomaly", ctx);
		cr_assert(!has_anom(m, SIP_CSEQ_MISMATCH) ||
		                  (cseq_ok &&
		                   (m->method_name.len != m->cseq_name.len ||
		                    memcmp(buf + m->method_name.off, buf + m->cseq_name.off,
		                           m->cseq_name.len) != 0)),
		          "%s: cseq_mismatch where the methods agree", ctx);
	} else {
		cr_assert_eq(m->kind, SIP_RESPONSE, "%s: kind %u", ctx, m->kind);
		cr_assert(m->status >= 100 && m->status <= 699, "%s: status %u", ctx, m->status);
		cr_assert_eq(m->uri.len, 0, "%s: response with a URI", ctx);
		cr_assert(m->method == m->cseq_method && m->method_name.off == m->cseq_name.off &&
		                  m->method_name.len == m->cseq_name.len,
		          "%s: a response's method is its CSeq method", ctx);
	}
}

/* ---- RFC 4475 corpus ---- */

/* An anomaly's bit in sip_msg.anomalies: A(BAD_VIA). */
#define A(v) SIP_ANOMALY_BIT(SIP_##v)

/*
 * One row per file: the verdict, the anomalies on SIP_OK, and note, which says why when the
 * outcome is not what the RFC's class suggests: a message the RFC calls invalid that siphon
 * routes (the defect is in a part a load balancer does not read), a "semantically odd" one it
 * drops, or one routed with anomalies (a defect in a field dispatch does not read, counted
 * and forwarded: these were all dropped before the per-verdict policy of sip.h).
 */
struct corpus_row {
	const char *file;
	enum sip_verdict verdict;
	uint32_t anom;
	const char *note;
};

static const struct corpus_row corpus[] = {
        /* §3.1.1 valid messages */
        {"wsinv.dat", SIP_OK, 0, NULL},
        {"intmeth.dat", SIP_OK, 0, NULL},
        {"esc01.dat", SIP_OK, 0, NULL},
        {"escnull.dat", SIP_OK, 0, NULL},
        {"esc02.dat", SIP_OK, 0, NULL},
        {"lwsdisp.dat", SIP_OK, 0, NULL},
        {"longreq.dat", SIP_OK, 0, NULL},
        {"dblreq.dat", SIP_OK, 0, NULL},
        {"semiuri.dat", SIP_OK, 0, NULL},
        {"transports.dat", SIP_OK, 0, NULL},
        {"mpart01.dat", SIP_OK, 0, NULL},
        {"unreason.dat", SIP_OK, 0, NULL},
        {"noreason.dat", SIP_OK, 0, NULL},
        /* §3.1.2 invalid messages */
        {"badinv01.dat", SIP_OK, A(BAD_VIA),
         "Via ends with ;;,;,,: empty parameter. Forwarded with bad_via (was dropped): "
         "dispatch never reads Via, the backend answers 400"},
        {"clerr.dat", SIP_TRUNCATED, 0, "Content-Length 9999, 154 octets of body"},
        {"ncl.dat", SIP_BAD_CONTENT_LENGTH, 0, "Content-Length -999"},
        {"scalar02.dat", SIP_OK, A(BAD_CSEQ) | A(BAD_MAX_FORWARDS),
         "CSeq above 2^32-1 and Max-Forwards 300. Forwarded with bad_cseq and bad_max_forwards "
         "(was dropped as bad_cseq): dispatch reads neither, the backend answers 400"},
        {"scalarlg.dat", SIP_OK, A(BAD_CSEQ),
         "503 with CSeq above 2^32-1. Forwarded with bad_cseq (was dropped): a response goes "
         "by its Call-ID; the receiver discards it"},
        {"quotbal.dat", SIP_OK, A(BAD_TO),
         "unterminated quoted display name in To. Forwarded with bad_to (was dropped): no tag "
         "is read before the defect, so the INVITE starts a dialog, as it does"},
        {"ltgtruri.dat", SIP_BAD_REQUEST_URI, 0, "Request-URI enclosed in <>"},
        {"lwsruri.dat", SIP_BAD_START_LINE, 0, "LWS inside the Request-URI"},
        {"lwsstart.dat", SIP_BAD_START_LINE, 0, "several SP between request-line elements"},
        {"trws.dat", SIP_BAD_START_LINE, 0, "SP after SIP/2.0"},
        {"escruri.dat", SIP_OK, 0,
         "escaped headers in the Request-URI: the URI is forwarded untouched, never turned into "
         "headers; a load balancer routes on Call-ID"},
        {"baddate.dat", SIP_OK, 0, "bad time zone in Date: the load balancer never reads Date"},
        {"regbadct.dat", SIP_OK, 0,
         "Contact addr-spec with ?headers not in <>: Contact is the registrar's business, never "
         "read"},
        {"badaspec.dat", SIP_OK, 0,
         "spaces inside To's <addr-spec>: From/To are only delimited (quotes, <>, ;tag), the "
         "URI inside is not parsed"},
        {"baddn.dat", SIP_UNTERMINATED, 0,
         "as archived the header section has no closing empty line (tests/data/rfc4475/"
         "README.md); the unquoted display names would pass, see the hand rows"},
        {"badvers.dat", SIP_BAD_VERSION, 0, "SIP/7.0"},
        {"mismatch01.dat", SIP_OK, A(CSEQ_MISMATCH),
         "OPTIONS with CSeq INVITE. Forwarded with cseq_mismatch (was dropped): dispatch reads "
         "the request line's method; the backend answers 400"},
        {"mismatch02.dat", SIP_OK, A(CSEQ_MISMATCH),
         "NEWMETHOD with CSeq INVITE. Forwarded with cseq_mismatch (was dropped), as "
         "mismatch01; the backend answers 501"},
        {"bigcode.dat", SIP_BAD_STATUS, 0, "status 4294967301"},
        /* §3.2-3.4 valid but semantically odd */
        {"badbranch.dat", SIP_OK, 0, NULL},
        {"insuf.dat", SIP_NO_CALL_ID, 0,
         "no Call-ID: cannot be dispatched (the missing From and To alone would be "
         "anomalies)"},
        {"unkscm.dat", SIP_OK, 0, NULL},
        {"novelsc.dat", SIP_OK, 0, NULL},
        {"unksm2.dat", SIP_OK, 0, NULL},
        {"bext01.dat", SIP_OK, 0, NULL},
        {"invut.dat", SIP_OK, 0, NULL},
        {"regaut01.dat", SIP_OK, 0, NULL},
        {"multi01.dat", SIP_DUP_CALL_ID, 0,
         "two Call-ID, CSeq, From, To, Max-Forwards: no single dispatch key. The second CSeq, "
         "first in message order, is only an anomaly; the second Call-ID drops it"},
        {"mcl01.dat", SIP_DUP_CONTENT_LENGTH, 0, "two Content-Length: framing undeterminable"},
        {"bcast.dat", SIP_OK, 0, NULL},
        {"zeromf.dat", SIP_OK, 0, NULL},
        {"cparam01.dat", SIP_OK, 0, NULL},
        {"cparam02.dat", SIP_OK, 0, NULL},
        {"regescrt.dat", SIP_OK, 0, NULL},
        {"sdp01.dat", SIP_OK, 0, NULL},
        {"inv2543.dat", SIP_OK, 0, NULL},
};

static const struct corpus_row *
corpus_find(const char *file)
{
	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++)
		if (strcmp(corpus[i].file, file) == 0)
			return &corpus[i];
	return NULL;
}

struct blob {
	uint8_t *p;
	size_t len;
};

/*
 * Buffers are static, not malloc'ed, so that a failed assertion (which ends the test at once)
 * leaves nothing for LeakSanitizer to report in the ASan build.
 */
static FILE *
open_data(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, name);
	return fopen(path, "rb");
}

/* Whole file CORPUS_DIR/name into buf, NUL-terminated; p NULL when it cannot be opened. */
static struct blob
read_file(const char *name, uint8_t *buf, size_t cap)
{
	struct blob b = {NULL, 0};
	FILE *f = open_data(name);

	if (f == NULL)
		return b;
	b.p = buf;
	b.len = fread(buf, 1, cap, f);
	cr_assert(!ferror(f) && feof(f) && b.len < cap, "%s: read error or too large", name);
	fclose(f);
	buf[b.len] = '\0';
	return b;
}

/* A corpus file; valid until the next call. */
static struct blob
corpus_load(const struct corpus_row *r)
{
	static uint8_t buf[SIP_MAX_MSG + 2];
	struct blob b = read_file(r->file, buf, sizeof(buf));

	cr_assert(b.p != NULL, "cannot read %s/%s", CORPUS_DIR, r->file);
	return b;
}

/* MANIFEST.tsv: a header line, then tab-separated rows of these columns, no quoting. */
enum {
	MF_FILE,
	MF_RFC,
	MF_SECTION,
	MF_VERDICT,
	MF_TRANSPORT,
	MF_CALL_ID,
	MF_METHOD_OR_STATUS,
	MF_CSEQ_NUMBER,
	MF_CONTENT_LENGTH,
	MF_NOTE,
	MF_COLS
};

struct manifest {
	uint8_t text[1 << 16];
	size_t n;
	char *col[64][MF_COLS];
};

static void
manifest_load(struct manifest *mf)
{
	static const char *const header[MF_COLS] = {
	        "file",           "rfc",     "section",          "verdict",
	        "transport",      "call_id", "method_or_status", "cseq_number",
	        "content_length", "note"};
	char *line, *next;

	cr_assert(read_file("MANIFEST.tsv", mf->text, sizeof(mf->text)).p != NULL,
	          "cannot read %s/MANIFEST.tsv", CORPUS_DIR);
	mf->n = 0;
	for (line = (char *)mf->text; line && *line; line = next) {
		char *col[MF_COLS];
		size_t c = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (*line == '\0')
			continue;
		for (char *f = line; f; c++) {
			cr_assert(c < MF_COLS, "MANIFEST.tsv: too many columns in \"%s\"", line);
			col[c] = f;
			f = strchr(f, '\t');
			if (f)
				*f++ = '\0';
		}
		cr_assert_eq(c, MF_COLS, "MANIFEST.tsv: %zu columns in a row of %s", c, col[0]);
		if (line == (char *)mf->text) {
			for (c = 0; c < MF_COLS; c++)
				cr_assert_str_eq(col[c], header[c], "MANIFEST.tsv column %zu", c);
			continue;
		}
		cr_assert(mf->n < SPH_ARRAY_SIZE(mf->col), "MANIFEST.tsv: too many rows");
		memcpy(mf->col[mf->n++], col, sizeof(col));
	}
}

static char **
manifest_find(struct manifest *mf, const char *file)
{
	for (size_t i = 0; i < mf->n; i++)
		if (strcmp(mf->col[i][MF_FILE], file) == 0)
			return mf->col[i];
	return NULL;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

ParameterizedTestParameters(sip, corpus_rows)
{
	static size_t idx[SPH_ARRAY_SIZE(corpus)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(corpus));
}

/* Verdict from every scanner, the whole file ending at a guard page; MANIFEST fields on OK. */
ParameterizedTest(size_t *i, sip, corpus_rows)
{
	const struct corpus_row *r = &corpus[*i];
	struct blob b = corpus_load(r);
	uint8_t *g = guarded(b.p, b.len);
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	static struct manifest mf;
	char **mrow;

	manifest_load(&mf);
	mrow = manifest_find(&mf, r->file);
	cr_assert(mrow != NULL, "%s: not in MANIFEST.tsv", r->file);
	for (size_t k = 0; k < ni; k++) {
		struct sip_msg m;
		char ctx[96];
		enum sip_verdict v = parse_with(impls[k], g, b.len, &m);

		snprintf(ctx, sizeof(ctx), "%s [%s]", r->file, impl_names[impls[k]]);
		cr_assert_eq(v, r->verdict, "%s: %s, want %s", ctx, sip_verdict_name(v),
		             sip_verdict_name(r->verdict));
		if (v != SIP_OK)
			continue;
		cr_assert_eq(m.anomalies, r->anom, "%s: anomalies %#x, want %#x", ctx, m.anomalies,
		             r->anom);
		check_view(ctx, g, b.len, &m);
		cr_expect(span_is(g, m.call_id, mrow[MF_CALL_ID]),
		          "%s: Call-ID \"%.*s\", want \"%s\"", ctx, m.call_id.len,
		          g + m.call_id.off, mrow[MF_CALL_ID]);
		/* A malformed CSeq (above 2^32-1 in MANIFEST.tsv) has no parts. */
		cr_expect(has_anom(&m, SIP_BAD_CSEQ) ? m.cseq_num.len == 0
		                                     : span_is(g, m.cseq_num, mrow[MF_CSEQ_NUMBER]),
		          "%s: CSeq \"%.*s\", want %s", ctx, m.cseq_num.len, g + m.cseq_num.off,
		          mrow[MF_CSEQ_NUMBER]);
		if (m.kind == SIP_RESPONSE) {
			cr_expect(all_digits(mrow[MF_METHOD_OR_STATUS]) &&
			                  strtoul(mrow[MF_METHOD_OR_STATUS], NULL, 10) == m.status,
			          "%s: status %u, want %s", ctx, m.status,
			          mrow[MF_METHOD_OR_STATUS]);
		} else {
			cr_expect(span_is(g, m.method_name, mrow[MF_METHOD_OR_STATUS]),
			          "%s: method \"%.*s\", want \"%s\"", ctx, m.method_name.len,
			          g + m.method_name.off, mrow[MF_METHOD_OR_STATUS]);
		}
		if (*mrow[MF_CONTENT_LENGTH] == '\0') {
			/* No Content-Length: over UDP the body is the rest of the datagram. */
			cr_expect(!(m.flags & SIP_F_CONTENT_LENGTH), "%s: Content-Length flag",
			          ctx);
			cr_expect_eq(m.content_length, b.len - m.body.off, "%s: body %u octets",
			             ctx, m.content_length);
		} else {
			cr_expect(m.flags & SIP_F_CONTENT_LENGTH, "%s: no Content-Length flag",
			          ctx);
			cr_expect(all_digits(mrow[MF_CONTENT_LENGTH]) &&
			                  strtoul(mrow[MF_CONTENT_LENGTH], NULL, 10) ==
			                          m.content_length,
			          "%s: Content-Length %u, want %s", ctx, m.content_length,
			          mrow[MF_CONTENT_LENGTH]);
		}
	}
	guard_free(g, b.len);
}

/* No silent skipping: the directory, the table and MANIFEST.tsv name the same files. */
Test(sip, corpus_table_is_complete)
{
	static struct manifest mf;
	struct dirent *e;
	size_t files = 0;
	DIR *d = opendir(CORPUS_DIR);

	cr_assert(d != NULL, "cannot open %s", CORPUS_DIR);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 4 || strcmp(e->d_name + n - 4, ".dat") != 0)
			continue;
		files++;
		cr_expect(corpus_find(e->d_name) != NULL, "%s has no row in corpus[]", e->d_name);
	}
	closedir(d);
	cr_expect_eq(files, SPH_ARRAY_SIZE(corpus), "%zu .dat files, %zu rows", files,
	             SPH_ARRAY_SIZE(corpus));

	manifest_load(&mf);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++) {
		FILE *f = open_data(corpus[i].file);

		cr_expect(f != NULL, "row %s: no such file", corpus[i].file);
		if (f != NULL)
			fclose(f);
		cr_expect(corpus_find(corpus[i].file) == &corpus[i], "row %s twice",
		          corpus[i].file);
		cr_expect(manifest_find(&mf, corpus[i].file) != NULL, "row %s not in MANIFEST.tsv",
		          corpus[i].file);
	}
	for (size_t i = 0; i < mf.n; i++)
		cr_expect(corpus_find(mf.col[i][MF_FILE]) != NULL, "MANIFEST.tsv %s has no row",
		          mf.col[i][MF_FILE]);
}

/* The RFC's class against the table: valid is routed; every departure says why. */
Test(sip, corpus_rows_explain_departures)
{
	static struct manifest mf;

	manifest_load(&mf);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++) {
		const struct corpus_row *r = &corpus[i];
		char **mrow = manifest_find(&mf, r->file);

		cr_assert(mrow != NULL, "%s: not in MANIFEST.tsv", r->file);
		if (strcmp(mrow[MF_VERDICT], "valid") == 0)
			cr_expect_eq(r->verdict, SIP_OK, "%s is valid (RFC 4475 %s) but expects %s",
			             r->file, mrow[MF_SECTION], sip_verdict_name(r->verdict));
		else if (strcmp(mrow[MF_VERDICT], "invalid") == 0)
			cr_expect(r->note != NULL && *r->note,
			          "%s is invalid (RFC 4475 %s): its row must say what siphon sees",
			          r->file, mrow[MF_SECTION]);
		else if (r->verdict != SIP_OK)
			cr_expect(r->note != NULL && *r->note,
			          "%s is dropped: its row must say why", r->file);
		if (r->anom != 0)
			cr_expect(r->note != NULL && *r->note,
			          "%s is forwarded with anomalies: its row must say which and why",
			          r->file);
		cr_expect(r->verdict == SIP_OK || r->anom == 0,
		          "%s: anomalies are only defined on SIP_OK", r->file);
		cr_expect(sip_verdict_policy(r->verdict) != SIP_POLICY_ANOMALY,
		          "%s: an anomaly is never the verdict", r->file);
		if (strcmp(mrow[MF_VERDICT], "invalid") == 0 && r->verdict == SIP_OK)
			cr_log_info("%s invalid per RFC 4475, routed: %s", r->file, r->note);
		if (strcmp(mrow[MF_VERDICT], "valid") == 0)
			cr_expect_eq(r->anom, 0, "%s is valid (RFC 4475 %s) but has anomalies",
			             r->file, mrow[MF_SECTION]);
	}
}

/* Parse a corpus file with every scanner; each view must be the same (checked by memcmp). */
static struct sip_msg
corpus_view(const char *file, struct blob *out)
{
	const struct corpus_row *r = corpus_find(file);
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	struct sip_msg ref, m;

	memset(&ref, 0, sizeof(ref));
	cr_assert(r != NULL, "%s: no row", file);
	*out = corpus_load(r);
	uint8_t *g = guarded(out->p, out->len);
	for (size_t k = 0; k < ni; k++) {
		enum sip_verdict v = parse_with(impls[k], g, out->len, &m);

		cr_assert_eq(v, SIP_OK, "%s [%s]: %s", file, impl_names[impls[k]],
		             sip_verdict_name(v));
		check_view(file, g, out->len, &m);
		if (k == 0)
			ref = m;
		cr_assert(memcmp(&ref, &m, sizeof(m)) == 0, "%s: %s view differs from scalar", file,
		          impl_names[impls[k]]);
	}
	guard_free(g, out->len);
	return ref;
}

#define EXPECT_SPAN(b, m, field, want)                                                             \
	cr_expect(span_is((b).p, (m).field, want), #field " is \"%.*s\", want \"%s\"",             \
	          (m).field.len, (b).p + (m).field.off, want)

/* Line folding, odd case, LWS around every separator, three Via values over two headers. */
Test(sip, corpus_wsinv_fields)
{
	struct blob b;
	struct sip_msg m = corpus_view("wsinv.dat", &b);

	cr_expect_eq(m.via_count, 3);
	EXPECT_SPAN(b, m, via, "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
	EXPECT_SPAN(b, m, via_proto, "UDP");
	EXPECT_SPAN(b, m, via_host, "192.0.2.2");
	EXPECT_SPAN(b, m, via_branch, "390skdjuw");
	cr_expect_eq(m.via_transport, SIP_TRANSPORT_UDP);
	cr_expect_eq(m.via_port, 0);
	EXPECT_SPAN(b, m, to, "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
	EXPECT_SPAN(b, m, to_tag, "1918181833n");
	EXPECT_SPAN(b, m, from,
	            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = "
	            "98asjd8");
	EXPECT_SPAN(b, m, from_tag, "98asjd8");
	EXPECT_SPAN(b, m, cseq_num, "0009");
	cr_expect_eq(m.cseq, 9);
	EXPECT_SPAN(b, m, cseq_name, "INVITE");
	EXPECT_SPAN(b, m, uri, "sip:vivekg@chair-dnrc.example.com;unknownparam");
	cr_expect_eq(m.method, SIP_METHOD_INVITE);
	cr_expect(m.flags & SIP_F_MAX_FORWARDS);
	cr_expect_eq(m.max_forwards, 68, "Max-Forwards 0068");
	EXPECT_SPAN(b, m, route,
	            "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>");
	cr_expect_eq(m.content_length, 150);
	cr_expect_eq(m.trailing, 0);
}

Test(sip, corpus_longreq_vias)
{
	struct blob b;
	struct sip_msg m = corpus_view("longreq.dat", &b);

	cr_expect_eq(m.via_count, 34, "34 Via values over Via/v/V headers, got %u", m.via_count);
	EXPECT_SPAN(b, m, via_host, "sip33.example.com");
	cr_expect_eq(m.via_transport, SIP_TRANSPORT_TCP);
}

/* RFC 3261 §18.3: octets after Content-Length's end are ignored, and reported. */
Test(sip, corpus_dblreq_trailing)
{
	struct blob b;
	struct sip_msg m = corpus_view("dblreq.dat", &b);

	cr_expect_eq(m.trailing, 450, "trailing %u", m.trailing);
	cr_expect_eq(m.content_length, 0);
	cr_expect_eq(m.msg_len + 450u, b.len);
	cr_expect(memcmp(b.p + m.msg_len, "\r\nINVITE sip:joe@example.com SIP/2.0\r\n", 38) == 0,
	          "the trailing octets are a CRLF and the second message");
	cr_expect_eq(m.method, SIP_METHOD_REGISTER);
}

Test(sip, corpus_transports_vias)
{
	struct blob b;
	struct sip_msg m = corpus_view("transports.dat", &b);

	cr_expect_eq(m.via_count, 5, "UDP, SCTP, TLS, UNKNOWN, TCP: got %u", m.via_count);
	EXPECT_SPAN(b, m, via_proto, "UDP");
	EXPECT_SPAN(b, m, via_host, "t1.example.com");
	EXPECT_SPAN(b, m, via_branch, "z9hG4bKkdjuw");
	cr_expect_eq(m.via_transport, SIP_TRANSPORT_UDP);
}

/* Status line with a UTF-8 reason, and one with an empty reason. */
Test(sip, corpus_reason_phrases)
{
	struct blob b;
	struct sip_msg m = corpus_view("unreason.dat", &b);

	cr_expect_eq(m.status, 200);
	cr_expect(m.reason.len > 20 && memcmp(b.p + m.reason.off, "= 2**3 * 5**2 \xd0", 15) == 0,
	          "reason \"%.*s\"", m.reason.len, b.p + m.reason.off);
	cr_expect_eq(m.method, SIP_METHOD_INVITE, "a response's method comes from CSeq");
	m = corpus_view("noreason.dat", &b);
	cr_expect_eq(m.status, 100);
	cr_expect_eq(m.reason.len, 0);
}

/* ---- hand-written rows ---- */

enum num_field {
	N_NONE = 0,
	N_KIND,
	N_METHOD,
	N_CSEQ_METHOD,
	N_TRANSPORT,
	N_MAX_FORWARDS,
	N_FLAGS,
	N_STATUS,
	N_VIA_COUNT,
	N_VIA_PORT,
	N_CSEQ,
	N_CONTENT_LENGTH,
	N_MSG_LEN,
	N_TRAILING,
	N_COUNT
};

static const char *const num_names[N_COUNT] = {
        [N_KIND] = "kind",
        [N_METHOD] = "method",
        [N_CSEQ_METHOD] = "cseq_method",
        [N_TRANSPORT] = "via_transport",
        [N_MAX_FORWARDS] = "max_forwards",
        [N_FLAGS] = "flags",
        [N_STATUS] = "status",
        [N_VIA_COUNT] = "via_count",
        [N_VIA_PORT] = "via_port",
        [N_CSEQ] = "cseq",
        [N_CONTENT_LENGTH] = "content_length",
        [N_MSG_LEN] = "msg_len",
        [N_TRAILING] = "trailing",
};

static uint32_t
num_of(const struct sip_msg *m, unsigned f)
{
	switch (f) {
	case N_KIND:
		return m->kind;
	case N_METHOD:
		return m->method;
	case N_CSEQ_METHOD:
		return m->cseq_method;
	case N_TRANSPORT:
		return m->via_transport;
	case N_MAX_FORWARDS:
		return m->max_forwards;
	case N_FLAGS:
		return m->flags;
	case N_STATUS:
		return m->status;
	case N_VIA_COUNT:
		return m->via_count;
	case N_VIA_PORT:
		return m->via_port;
	case N_CSEQ:
		return m->cseq;
	case N_CONTENT_LENGTH:
		return m->content_length;
	case N_MSG_LEN:
		return m->msg_len;
	case N_TRAILING:
		return m->trailing;
	}
	cr_assert_fail("num_of(%u)", f);
	return 0;
}

/*
 * A datagram (msg, then filler octets up to pad_to when that is longer), the verdict, and on
 * SIP_OK the fields the row is about: spans by content ("" = absent or empty), numbers.
 */
struct hand_row {
	const char *name;
	const char *msg;
	size_t len;
	size_t pad_to;
	enum sip_verdict verdict;
	uint32_t anom; /* sip_msg.anomalies on SIP_OK */
	struct {
		uint8_t f;
		const char *s;
	} spans[20];
	struct {
		uint8_t f;
		uint32_t v;
	} nums[14];
};

#define ROW(n, m, v)  .name = (n), .msg = (m), .len = sizeof(m) - 1, .verdict = (v)
/* Routed with anomalies a, a mask of A() bits. */
#define AROW(n, m, a) ROW(n, m, SIP_OK), .anom = (a)
#define S(f, s)                                                                                    \
	{                                                                                          \
		F_##f, (s)                                                                         \
	}
#define N(f, v)                                                                                    \
	{                                                                                          \
		N_##f, (v)                                                                         \
	}

/* A plain INVITE's parts; rows swap in the one they are about. */
#define RL      "INVITE sip:bob@example.com SIP/2.0\r\n"
#define VIA     "Via: SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds\r\n"
#define MF      "Max-Forwards: 70\r\n"
#define FROM    "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
#define TO      "To: Bob <sip:bob@example.com>\r\n"
#define TO_TAG  "To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
#define CALLID  "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
#define CSEQ    "CSeq: 314159 INVITE\r\n"
#define CL0     "Content-Length: 0\r\n"
#define REST    FROM TO CALLID CSEQ                             /* all mandatory headers but Via */
#define ALL     VIA REST                                        /* all of them */
#define RESP(s) s "\r\n" VIA FROM TO_TAG CALLID CSEQ CL0 "\r\n" /* a response, status line s */

#define F_CL   SIP_F_CONTENT_LENGTH
#define F_MFW  SIP_F_MAX_FORWARDS
#define F_RP   SIP_F_VIA_RPORT
#define F_IPV6 SIP_F_VIA_IPV6

static const struct hand_row hand[] = {
        /* ---- routed ---- */
        {ROW("INVITE, every field", RL VIA MF FROM TO CALLID CSEQ CL0 "\r\n", SIP_OK),
         .spans = {S(METHOD, "INVITE"), S(URI, "sip:bob@example.com"), S(REASON, ""),
                   S(CALL_ID, "a84b4c76e66710@pc33.example.com"), S(CSEQ_NUM, "314159"),
                   S(CSEQ_NAME, "INVITE"),
                   S(VIA, "SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds"),
                   S(VIA_PROTO, "UDP"), S(VIA_HOST, "pc33.example.com"),
                   S(VIA_BRANCH, "z9hG4bK776asdhds"), S(VIA_RECEIVED, ""), S(VIA_RPORT, ""),
                   S(FROM, "Alice <sip:alice@example.com>;tag=1928301774"),
                   S(FROM_TAG, "1928301774"), S(TO, "Bob <sip:bob@example.com>"), S(TO_TAG, ""),
                   S(ROUTE, ""), S(BODY, "")},
         .nums = {N(KIND, SIP_REQUEST), N(METHOD, SIP_METHOD_INVITE),
                  N(CSEQ_METHOD, SIP_METHOD_INVITE), N(TRANSPORT, SIP_TRANSPORT_UDP),
                  N(MAX_FORWARDS, 70), N(FLAGS, F_CL | F_MFW), N(STATUS, 0), N(VIA_COUNT, 1),
                  N(VIA_PORT, 5060), N(CSEQ, 314159), N(CONTENT_LENGTH, 0), N(TRAILING, 0)}},
        {ROW("200 OK: status, reason, method from CSeq", RESP("SIP/2.0 200 OK"), SIP_OK),
         .spans = {S(REASON, "OK"), S(METHOD, "INVITE"), S(URI, ""), S(TO_TAG, "a6c85cf"),
                   S(CALL_ID, "a84b4c76e66710@pc33.example.com")},
         .nums = {N(KIND, SIP_RESPONSE), N(STATUS, 200), N(METHOD, SIP_METHOD_INVITE),
                  N(CSEQ_METHOD, SIP_METHOD_INVITE), N(FLAGS, F_CL)}},
        {ROW("486 with a reason of several words", RESP("SIP/2.0 486 Busy Here"), SIP_OK),
         .spans = {S(REASON, "Busy Here")}, .nums = {N(STATUS, 486)}},
        {ROW("reason with HT and UTF-8", RESP("SIP/2.0 699 \xd0\x9e\xd0\x9a\tfine"), SIP_OK),
         .spans = {S(REASON, "\xd0\x9e\xd0\x9a\tfine")}, .nums = {N(STATUS, 699)}},
        {ROW("status 100, empty reason after the SP", RESP("SIP/2.0 100 "), SIP_OK),
         .spans = {S(REASON, "")}, .nums = {N(STATUS, 100)}},
        {ROW("status line without the SP before an empty reason: harmless, passed",
             RESP("SIP/2.0 180"), SIP_OK),
         .spans = {S(REASON, "")}, .nums = {N(STATUS, 180)}},
        {ROW("response to an extension method",
             "SIP/2.0 501 Not Implemented\r\n" VIA FROM TO_TAG CALLID "CSeq: 7 FOO\r\n\r\n",
             SIP_OK),
         .spans = {S(METHOD, "FOO"), S(CSEQ_NAME, "FOO")},
         .nums = {N(METHOD, SIP_METHOD_OTHER), N(STATUS, 501), N(CSEQ, 7)}},
        {ROW("SIP version in lower case", "INVITE sip:bob@example.com sip/2.0\r\n" ALL "\r\n",
             SIP_OK),
         .nums = {N(KIND, SIP_REQUEST)}},
        {ROW("status line version in lower case", RESP("sip/2.0 202 Accepted"), SIP_OK),
         .nums = {N(KIND, SIP_RESPONSE), N(STATUS, 202)}},
        {ROW("extension method, the same in CSeq",
             "FOO sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CALLID "CSeq: 1 FOO\r\n\r\n",
             SIP_OK),
         .spans = {S(METHOD, "FOO")},
         .nums = {N(METHOD, SIP_METHOD_OTHER), N(CSEQ_METHOD, SIP_METHOD_OTHER)}},
        {ROW("REGISTER",
             "REGISTER sip:example.com SIP/2.0\r\n" VIA FROM TO CALLID "CSeq: 2 REGISTER\r\n\r\n",
             SIP_OK),
         .spans = {S(URI, "sip:example.com")},
         .nums = {N(METHOD, SIP_METHOD_REGISTER), N(CSEQ, 2)}},
        {ROW("tel: Request-URI", "INVITE tel:+1-201-555-0123 SIP/2.0\r\n" ALL "\r\n", SIP_OK),
         .spans = {S(URI, "tel:+1-201-555-0123")}},
        {ROW("Request-URI with escapes, parameters, headers and UTF-8",
             "INVITE sip:%61l\xc3\xa9;p=1@example.com;transport=udp?subject=a%20b SIP/2.0\r\n" ALL
             "\r\n",
             SIP_OK),
         .spans = {S(URI, "sip:%61l\xc3\xa9;p=1@example.com;transport=udp?subject=a%20b")}},
        {ROW("compact i v f t l; m c s k not read",
             "INVITE sip:bob@example.com SIP/2.0\r\n"
             "v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKc1\r\n"
             "f: <sip:alice@example.com>;tag=f1\r\n"
             "t: <sip:bob@example.com>;tag=t1\r\n"
             "i: compact@pc33\r\n"
             "CSeq: 1 INVITE\r\n"
             "m: <sip:alice@192.0.2.1>\r\n"
             "c: application/sdp\r\n"
             "s: hi\r\n"
             "k: 100rel\r\n"
             "l: 5\r\n"
             "\r\n"
             "v=0\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "compact@pc33"), S(VIA_HOST, "pc33.example.com"),
                   S(VIA_BRANCH, "z9hG4bKc1"), S(FROM, "<sip:alice@example.com>;tag=f1"),
                   S(FROM_TAG, "f1"), S(TO_TAG, "t1"), S(BODY, "v=0\r\n")},
         .nums = {N(CONTENT_LENGTH, 5), N(FLAGS, F_CL), N(VIA_PORT, 0), N(VIA_COUNT, 1)}},
        {ROW("compact forms in upper case",
             RL "V: SIP/2.0/UDP h.example.com;branch=z9hG4bKu\r\n"
                "F: <sip:alice@example.com>;tag=F1\r\n"
                "T: <sip:bob@example.com>\r\n"
                "I: UPPER@pc33\r\n" CSEQ "L: 0\r\n\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "UPPER@pc33"), S(VIA_HOST, "h.example.com"), S(FROM_TAG, "F1")},
         .nums = {N(FLAGS, F_CL)}},
        {ROW("header names in any case",
             RL "vIA: SIP/2.0/UDP h.example.com;branch=z9hG4bKm\r\n"
                "fROM: <sip:alice@example.com>;TAG=m1\r\n"
                "TO: <sip:bob@example.com>\r\n"
                "cAlL-iD: mixed@case\r\n"
                "CSEQ: 7 INVITE\r\n"
                "mAX-fORWARDS: 9\r\n"
                "rOUTE: <sip:p1.example.com;lr>\r\n"
                "content-LENGTH: 0\r\n\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "mixed@case"), S(CSEQ_NUM, "7"), S(FROM_TAG, "m1"),
                   S(ROUTE, "<sip:p1.example.com;lr>")},
         .nums = {N(MAX_FORWARDS, 9), N(FLAGS, F_CL | F_MFW), N(CSEQ, 7)}},
        {ROW("white space before the colon",
             RL "Via  : SIP/2.0/UDP h.example.com;branch=z9hG4bKw\r\n" FROM TO
                "Call-ID \t : ws@colon\r\n" CSEQ "l\t: 0\r\n\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "ws@colon"), S(VIA_HOST, "h.example.com")}, .nums = {N(FLAGS, F_CL)}},
        {ROW("headers that only start like the ones siphon reads",
             RL ALL "Via-Ext: x\r\nCall-Info: <http://x>\r\nCSeq-X: junk\r\nFromage: brie\r\n"
                    "Tos: 1\r\nRouted: no\r\nMax-Forwards-X: -1\r\nContent-Length-X: -1\r\n"
                    "Too: x\r\nVi: y\r\nCall-IDs: a b\r\n\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "a84b4c76e66710@pc33.example.com"), S(ROUTE, "")},
         .nums = {N(VIA_COUNT, 1), N(FLAGS, 0)}},
        {ROW("unknown headers with any value are not read",
             RL ALL "Subject: ;;,,;;,;\r\nX-Bin: \x01\x7f\xff\"<\r\nX-Empty:\r\n\r\n", SIP_OK),
         .nums = {N(VIA_COUNT, 1)}},
        {ROW("Call-ID folded onto the next line",
             RL VIA FROM TO "Call-ID:\r\n   folded@example.com\r\n" CSEQ "\r\n", SIP_OK),
         .spans = {S(CALL_ID, "folded@example.com")}},
        {ROW("Call-ID followed by a fold of white space only",
             RL VIA FROM TO "Call-ID: tail@example.com \r\n\t\r\n" CSEQ "\r\n", SIP_OK),
         .spans = {S(CALL_ID, "tail@example.com")}},
        {ROW("Call-ID with every word octet",
             RL VIA FROM TO "Call-ID: a-b.c!d%e*f_g+h`i'j~k(l)m<n>o:p\\q\"r/s[t]u?v{w}x@y\r\n" CSEQ
                            "\r\n",
             SIP_OK),
         .spans = {S(CALL_ID, "a-b.c!d%e*f_g+h`i'j~k(l)m<n>o:p\\q\"r/s[t]u?v{w}x@y")}},
        {ROW("Via folded, LWS around the slashes",
             RL "Via: SIP / 2.0 / TCP\r\n\tproxy.example.com\r\n ;branch=z9hG4bKfold\r\n" REST
                "\r\n",
             SIP_OK),
         .spans = {S(VIA, "SIP / 2.0 / TCP\r\n\tproxy.example.com\r\n ;branch=z9hG4bKfold"),
                   S(VIA_PROTO, "TCP"), S(VIA_HOST, "proxy.example.com"),
                   S(VIA_BRANCH, "z9hG4bKfold")},
         .nums = {N(TRANSPORT, SIP_TRANSPORT_TCP), N(VIA_COUNT, 1)}},
        {ROW("CSeq folded between number and method",
             RL VIA FROM TO CALLID "CSeq: 0042\r\n INVITE\r\n\r\n", SIP_OK),
         .spans = {S(CSEQ_NUM, "0042"), S(CSEQ_NAME, "INVITE")}, .nums = {N(CSEQ, 42)}},
        {ROW("CSeq 4294967295, the largest",
             RL VIA FROM TO CALLID "CSeq: 4294967295 INVITE\r\n\r\n", SIP_OK),
         .nums = {N(CSEQ, 4294967295u)}},
        {ROW("several Via values: a comma list, then another header",
             RL "Via: SIP/2.0/UDP first.example.com;branch=z9hG4bK1 , SIP/2.0/TCP "
                "second.example.com;branch=z9hG4bK2\r\n"
                "v: SIP/2.0/UDP third.example.com;branch=z9hG4bK3,SIP/2.0/UDP "
                "fourth.example.com\r\n" REST "\r\n",
             SIP_OK),
         .spans = {S(VIA, "SIP/2.0/UDP first.example.com;branch=z9hG4bK1"),
                   S(VIA_HOST, "first.example.com"), S(VIA_BRANCH, "z9hG4bK1")},
         .nums = {N(VIA_COUNT, 4), N(TRANSPORT, SIP_TRANSPORT_UDP)}},
        {ROW("Via list folded after the comma",
             RL "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa,\r\n SIP/2.0/UDP "
                "b.example.com;branch=z9hG4bKb\r\n" REST "\r\n",
             SIP_OK),
         .spans = {S(VIA, "SIP/2.0/UDP a.example.com;branch=z9hG4bKa"),
                   S(VIA_HOST, "a.example.com")},
         .nums = {N(VIA_COUNT, 2)}},
        {ROW("quoted comma in a Via parameter is not a separator",
             RL "Via: SIP/2.0/UDP q.example.com;branch=z9hG4bKq;x=\"a,b\"\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA, "SIP/2.0/UDP q.example.com;branch=z9hG4bKq;x=\"a,b\"")},
         .nums = {N(VIA_COUNT, 1)}},
        {ROW("IPv6 sent-by with port",
             RL "Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK6\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA, "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK6"),
                   S(VIA_HOST, "2001:db8::1"), S(VIA_BRANCH, "z9hG4bK6")},
         .nums = {N(VIA_PORT, 5070), N(FLAGS, F_IPV6)}},
        {ROW("IPv6 sent-by without port, IPv4-mapped",
             RL "Via: SIP/2.0/TCP [::ffff:192.0.2.1];branch=z9hG4bK7\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA_HOST, "::ffff:192.0.2.1")}, .nums = {N(VIA_PORT, 0), N(FLAGS, F_IPV6)}},
        {ROW("received and rport with values",
             RL
             "Via: SIP/2.0/UDP 10.0.0.1:5060;received=192.0.2.5;rport=5061;branch=z9hG4bKr\r\n" REST
             "\r\n",
             SIP_OK),
         .spans = {S(VIA_HOST, "10.0.0.1"), S(VIA_RECEIVED, "192.0.2.5"), S(VIA_RPORT, "5061"),
                   S(VIA_BRANCH, "z9hG4bKr")},
         .nums = {N(VIA_PORT, 5060), N(FLAGS, F_RP)}},
        {ROW("rport without value",
             RL "Via: SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKr\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA_RPORT, ""), S(VIA_RECEIVED, ""), S(VIA_BRANCH, "z9hG4bKr")},
         .nums = {N(FLAGS, F_RP)}},
        {ROW("IPv6 received",
             RL "Via: SIP/2.0/UDP [2001:db8::1];received=[2001:db8::9];branch=z9hG4bK9\r\n" REST
                "\r\n",
             SIP_OK),
         .spans = {S(VIA_RECEIVED, "[2001:db8::9]"), S(VIA_HOST, "2001:db8::1")},
         .nums = {N(FLAGS, F_IPV6)}},
        {ROW("Via parameter names in any case, LWS around ; and =",
             RL "Via: SIP/2.0/UDP h.example.com ; BRANCH = z9hG4bKcase ; RPort ; Received = "
                "192.0.2.7\r\n" REST "\r\n",
             SIP_OK),
         .spans = {S(VIA_BRANCH, "z9hG4bKcase"), S(VIA_RECEIVED, "192.0.2.7")},
         .nums = {N(FLAGS, F_RP)}},
        {ROW("sent-by port with LWS around the colon, port 65535",
             RL "Via: SIP/2.0/UDP h.example.com : 65535;branch=z9hG4bKp\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA_HOST, "h.example.com")}, .nums = {N(VIA_PORT, 65535)}},
        {ROW("Via protocol name and version in lower case",
             RL "Via: sip/2.0/udp h.example.com\r\n" REST "\r\n", SIP_OK),
         .spans = {S(VIA_PROTO, "udp"), S(VIA_BRANCH, "")},
         .nums = {N(TRANSPORT, SIP_TRANSPORT_UDP)}},
        {ROW("transport TCP", RL "Via: SIP/2.0/TCP h.example.com\r\n" REST "\r\n", SIP_OK),
         .nums = {N(TRANSPORT, SIP_TRANSPORT_TCP)}},
        {ROW("transport TLS", RL "Via: SIP/2.0/TLS h.example.com\r\n" REST "\r\n", SIP_OK),
         .nums = {N(TRANSPORT, SIP_TRANSPORT_TLS)}},
        {ROW("transport SCTP", RL "Via: SIP/2.0/SCTP h.example.com\r\n" REST "\r\n", SIP_OK),
         .nums = {N(TRANSPORT, SIP_TRANSPORT_SCTP)}},
        {ROW("transport WS", RL "Via: SIP/2.0/WS h.example.com\r\n" REST "\r\n", SIP_OK),
         .nums = {N(TRANSPORT, SIP_TRANSPORT_WS)}},
        {ROW("transport WSS", RL "Via: SIP/2.0/WSS h.example.com\r\n" REST "\r\n", SIP_OK),
         .nums = {N(TRANSPORT, SIP_TRANSPORT_WSS)}},
        {ROW("unknown transport token", RL "Via: SIP/2.0/FOO-BAR h.example.com\r\n" REST "\r\n",
             SIP_OK),
         .spans = {S(VIA_PROTO, "FOO-BAR")}, .nums = {N(TRANSPORT, SIP_TRANSPORT_OTHER)}},
        {ROW("Content-Length shorter than the datagram: the rest is trailing",
             RL ALL "Content-Length: 4\r\n\r\nbodyEXTRA", SIP_OK),
         .spans = {S(BODY, "body")},
         .nums = {N(CONTENT_LENGTH, 4), N(TRAILING, 5), N(FLAGS, F_CL)}},
        {ROW("Content-Length covering the datagram exactly",
             RL ALL "Content-Length:  007 \r\n\r\n1234567", SIP_OK),
         .spans = {S(BODY, "1234567")}, .nums = {N(CONTENT_LENGTH, 7), N(TRAILING, 0)}},
        {ROW("no Content-Length: the body is the rest of the datagram", RL ALL "\r\nv=0\r\no=-\r\n",
             SIP_OK),
         .spans = {S(BODY, "v=0\r\no=-\r\n")},
         .nums = {N(CONTENT_LENGTH, 10), N(TRAILING, 0), N(FLAGS, 0)}},
        {ROW("no Content-Length and no body", RL ALL "\r\n", SIP_OK), .spans = {S(BODY, "")},
         .nums = {N(CONTENT_LENGTH, 0), N(FLAGS, 0)}},
        {ROW("body holding NUL, bare CR and bare LF",
             RL ALL "Content-Length: 6\r\n\r\n\0\r\n\r\r\n", SIP_OK),
         .nums = {N(CONTENT_LENGTH, 6), N(TRAILING, 0)}},
        {ROW("Max-Forwards 0", RL ALL "Max-Forwards: 0\r\n\r\n", SIP_OK),
         .nums = {N(MAX_FORWARDS, 0), N(FLAGS, F_MFW)}},
        {ROW("Max-Forwards 255 with LWS", RL ALL "Max-Forwards:  255 \r\n\r\n", SIP_OK),
         .nums = {N(MAX_FORWARDS, 255), N(FLAGS, F_MFW)}},
        {ROW("Max-Forwards with leading zeros", RL ALL "Max-Forwards: 0070\r\n\r\n", SIP_OK),
         .nums = {N(MAX_FORWARDS, 70)}},
        {ROW("Route: the first value of the first header",
             RL ALL "Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n"
                    "Route: <sip:p3.example.com;lr>\r\n\r\n",
             SIP_OK),
         .spans = {S(ROUTE, "<sip:p1.example.com;lr>")}},
        {ROW("Route: commas inside quotes and <> do not separate",
             RL ALL "Route: \"Proxy, One\" <sip:p1.example.com;lr;x=a,b> ;p=1, "
                    "<sip:p2.example.com>\r\n\r\n",
             SIP_OK),
         .spans = {S(ROUTE, "\"Proxy, One\" <sip:p1.example.com;lr;x=a,b> ;p=1")}},
        {ROW("Route folded, the value on the next line",
             RL ALL "Route:\r\n <sip:p1.example.com;lr> \r\n\r\n", SIP_OK),
         .spans = {S(ROUTE, "<sip:p1.example.com;lr>")}},
        {ROW("From and To as addr-spec without <>: ;tag is a header parameter",
             RL VIA "From: sip:alice@example.com;tag=88\r\nTo: sip:bob@example.com\r\n" CALLID CSEQ
                    "\r\n",
             SIP_OK),
         .spans = {S(FROM, "sip:alice@example.com;tag=88"), S(FROM_TAG, "88"),
                   S(TO, "sip:bob@example.com"), S(TO_TAG, "")}},
        {ROW("quoted display name with escaped quotes and <>",
             RL VIA
             "From: \"A \\\"quoted\\\" <name>\" <sip:alice@example.com>;tag=q1\r\n" TO CALLID CSEQ
             "\r\n",
             SIP_OK),
         .spans = {S(FROM, "\"A \\\"quoted\\\" <name>\" <sip:alice@example.com>;tag=q1"),
                   S(FROM_TAG, "q1")}},
        {ROW("display name without SP before <",
             RL VIA "From: caller<sip:caller@example.com>;tag=323\r\n" TO CALLID CSEQ "\r\n",
             SIP_OK),
         .spans = {S(FROM_TAG, "323")}},
        {ROW("To tag among other parameters, LWS and a quoted value",
             RL VIA FROM "To: <sip:bob@example.com> ; foo ; TAG = t9 ; bar=\"x y\"\r\n" CALLID CSEQ
                         "\r\n",
             SIP_OK),
         .spans = {S(TO_TAG, "t9"), S(TO, "<sip:bob@example.com> ; foo ; TAG = t9 ; bar=\"x y\"")}},
        {ROW("unquoted display names with commas (RFC 4475 baddn with its empty line): "
             "From/To are only delimited",
             RL VIA "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
                    "To: Watson, Thomas <sip:t.watson@example.org>\r\n" CALLID CSEQ "\r\n",
             SIP_OK),
         .spans = {S(FROM_TAG, "43"), S(TO, "Watson, Thomas <sip:t.watson@example.org>")}},
        {ROW("CRLFs before the start line are skipped", "\r\n\r\n" RL ALL "\r\n", SIP_OK),
         .spans = {S(METHOD, "INVITE")}, .nums = {N(TRAILING, 0)}},
        {ROW("bare LF line ends",
             "INVITE sip:bob@example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP lf.example.com;branch=z9hG4bKlf\n"
             "From: <sip:alice@example.com>;tag=lf\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: lf@example.com\n"
             "CSeq: 1 INVITE\n"
             "l: 3\n"
             "\n"
             "abc",
             SIP_OK),
         .spans = {S(CALL_ID, "lf@example.com"), S(VIA_HOST, "lf.example.com"), S(BODY, "abc")}},
        {ROW("the largest datagram, 65535 octets without Content-Length", RL ALL "\r\n", SIP_OK),
         .pad_to = SIP_MAX_MSG, .nums = {N(MSG_LEN, SIP_MAX_MSG), N(TRAILING, 0)}},

        /* ---- routed with anomalies: what a header with one leaves (sip.h, SIP_VERDICTS) ---- */
        {AROW("SBC's To tag ending in control octets: the tag read before them stands",
              RL VIA FROM "To: Bob <sip:bob@example.com>;tag=a6c85cf\x01\x02\r\n" CALLID CSEQ
                          "\r\n",
              A(BAD_TO)),
         .spans = {S(TO, "Bob <sip:bob@example.com>;tag=a6c85cf\x01\x02"), S(TO_TAG, "a6c85cf"),
                   S(CALL_ID, "a84b4c76e66710@pc33.example.com")},
         .nums = {N(KIND, SIP_REQUEST), N(METHOD, SIP_METHOD_INVITE)}},
        {AROW("To tag, then a malformed parameter: the tag stands",
              RL VIA FROM "To: <sip:bob@example.com>;tag=t1;;x=1\r\n" CALLID CSEQ "\r\n",
              A(BAD_TO)),
         .spans = {S(TO, "<sip:bob@example.com>;tag=t1;;x=1"), S(TO_TAG, "t1")}},
        {AROW("To malformed before its tag: no tag, the request starts a dialog",
              RL VIA FROM "To: \"Bob <sip:bob@example.com>;tag=t1\r\n" CALLID CSEQ "\r\n",
              A(BAD_TO)),
         .spans = {S(TO, "\"Bob <sip:bob@example.com>;tag=t1"), S(TO_TAG, "")}},
        {AROW("To tag whose value starts with a control octet: no tag",
              RL VIA FROM "To: <sip:bob@example.com>;tag=\x01t1\r\n" CALLID CSEQ "\r\n", A(BAD_TO)),
         .spans = {S(TO_TAG, "")}},
        {ROW("malformed To, then another To: dialog state ambiguous, dropped",
             RL VIA FROM "To: \"Bob\r\n" TO_TAG CALLID CSEQ "\r\n", SIP_DUP_TO)},
        {ROW("empty To, then another To: dropped as two To",
             RL VIA FROM "To:\r\n" TO_TAG CALLID CSEQ "\r\n", SIP_DUP_TO)},
        {AROW("unbracketed IPv6 sent-by in the top Via: forwarded, its parts absent",
              RL "Via: SIP/2.0/UDP 2001:db8::1;branch=z9hG4bK776\r\n" REST "\r\n", A(BAD_VIA)),
         .spans = {S(VIA, "SIP/2.0/UDP 2001:db8::1;branch=z9hG4bK776"), S(VIA_PROTO, ""),
                   S(VIA_HOST, ""), S(VIA_BRANCH, ""), S(TO, "Bob <sip:bob@example.com>")},
         .nums = {N(VIA_COUNT, 1), N(VIA_PORT, 0), N(TRANSPORT, SIP_TRANSPORT_OTHER), N(FLAGS, 0)}},
        {AROW("unbracketed IPv6 sent-by with rport: no part or flag left",
              RL "Via: SIP/2.0/UDP 2001:db8::1:5060;rport;branch=z9hG4bK7\r\n" REST "\r\n",
              A(BAD_VIA)),
         .spans = {S(VIA_RPORT, ""), S(VIA_HOST, "")}, .nums = {N(FLAGS, 0), N(VIA_PORT, 0)}},
        {ROW("unbracketed IPv6 Request-URI: accepted as before",
             "INVITE sip:bob@2001:db8::1 SIP/2.0\r\n" ALL "\r\n", SIP_OK),
         .spans = {S(URI, "sip:bob@2001:db8::1")}},
        {AROW("malformed top Via, then a second Via header: counted",
              RL "Via: SIP/2.0/UDP\r\n" VIA REST "\r\n", A(BAD_VIA)),
         .spans = {S(VIA, "SIP/2.0/UDP"), S(VIA_HOST, "")}, .nums = {N(VIA_COUNT, 2)}},
        {AROW("top Via fine, a later value empty: the top Via stands",
              RL "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKt, ,x\r\n" REST "\r\n", A(BAD_VIA)),
         .spans = {S(VIA_HOST, "h.example.com"), S(VIA_BRANCH, "z9hG4bKt")},
         .nums = {N(VIA_COUNT, 1), N(TRANSPORT, SIP_TRANSPORT_UDP)}},
        {AROW("response with a malformed Via: dispatched by its Call-ID",
              "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 2001:db8::1\r\n" FROM TO_TAG CALLID CSEQ CL0
              "\r\n",
              A(BAD_VIA)),
         .spans = {S(TO_TAG, "a6c85cf"), S(METHOD, "INVITE")},
         .nums = {N(KIND, SIP_RESPONSE), N(STATUS, 200), N(METHOD, SIP_METHOD_INVITE)}},
        {AROW("response without CSeq: method OTHER, no name",
              "SIP/2.0 180 Ringing\r\n" VIA FROM TO_TAG CALLID CL0 "\r\n", A(NO_CSEQ)),
         .spans = {S(METHOD, ""), S(CSEQ_NUM, ""), S(CSEQ_NAME, "")},
         .nums = {N(KIND, SIP_RESPONSE), N(STATUS, 180), N(METHOD, SIP_METHOD_OTHER),
                  N(CSEQ_METHOD, SIP_METHOD_OTHER), N(CSEQ, 0)}},
        {AROW("malformed CSeq: its fields absent, the request line's method stands",
              RL VIA FROM TO CALLID "CSeq: 99999999999 INVITE\r\n\r\n", A(BAD_CSEQ)),
         .spans = {S(CSEQ_NUM, ""), S(CSEQ_NAME, ""), S(METHOD, "INVITE")},
         .nums = {N(CSEQ, 0), N(METHOD, SIP_METHOD_INVITE), N(CSEQ_METHOD, SIP_METHOD_OTHER)}},
        {AROW("malformed CSeq, then a good one: a duplicate, the first (absent) kept",
              RL VIA FROM TO CALLID "CSeq: x\r\n" CSEQ "\r\n", A(BAD_CSEQ) | A(DUP_CSEQ)),
         .spans = {S(CSEQ_NUM, "")}, .nums = {N(CSEQ, 0)}},
        {AROW("CSeq twice: the first kept", RL VIA FROM TO CALLID CSEQ "CSeq: 7 INVITE\r\n\r\n",
              A(DUP_CSEQ)),
         .spans = {S(CSEQ_NUM, "314159")}, .nums = {N(CSEQ, 314159)}},
        {AROW("malformed From keeps its value; then a second From: a duplicate",
              RL VIA "From: <sip:alice@example.com;tag=1\r\n" FROM TO CALLID CSEQ "\r\n",
              A(BAD_FROM) | A(DUP_FROM)),
         .spans = {S(FROM, "<sip:alice@example.com;tag=1"), S(FROM_TAG, "")}},
        {AROW("empty From, then a From: a duplicate", RL VIA "From:\r\n" FROM TO CALLID CSEQ "\r\n",
              A(BAD_FROM) | A(DUP_FROM)),
         .spans = {S(FROM, ""), S(FROM_TAG, "")}},
        {AROW("malformed Max-Forwards: no value, SIP_F_MAX_FORWARDS_BAD",
              RL ALL "Max-Forwards: 7x\r\n\r\n", A(BAD_MAX_FORWARDS)),
         .nums = {N(FLAGS, SIP_F_MAX_FORWARDS_BAD), N(MAX_FORWARDS, 0)}},
        {AROW("malformed Max-Forwards, then a good one: a duplicate, no value",
              RL ALL "Max-Forwards: 300\r\n" MF "\r\n", A(BAD_MAX_FORWARDS) | A(DUP_MAX_FORWARDS)),
         .nums = {N(FLAGS, SIP_F_MAX_FORWARDS_BAD), N(MAX_FORWARDS, 0)}},
        {AROW("good Max-Forwards, then a malformed one: a duplicate, the first kept",
              RL ALL MF "Max-Forwards: 300\r\n\r\n", A(DUP_MAX_FORWARDS)),
         .nums = {N(FLAGS, SIP_F_MAX_FORWARDS), N(MAX_FORWARDS, 70)}},
        {AROW("malformed first Route: no route, later Route headers not taken",
              RL ALL "Route: <sip:p1.example.com;lr\r\nRoute: <sip:p2.example.com;lr>\r\n\r\n",
              A(BAD_ROUTE)),
         .spans = {S(ROUTE, "")}},
        {AROW("every anomaly of one message recorded, the fields dispatch reads intact",
              "BYE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 2001:db8::1\r\n"
              "From: <sip:a@example.com;tag=1\r\nFrom: x\r\n"
              "To: <sip:bob@example.com>;tag=t9\x7f\r\n" CALLID "CSeq: 5 INVITE\r\nCSeq: 6 BYE\r\n"
              "Max-Forwards: -1\r\nRoute: \"x\r\n" CL0 "\r\n",
              A(BAD_VIA) | A(BAD_FROM) | A(DUP_FROM) | A(BAD_TO) | A(DUP_CSEQ) |
                      A(BAD_MAX_FORWARDS) | A(BAD_ROUTE) | A(CSEQ_MISMATCH)),
         .spans = {S(CALL_ID, "a84b4c76e66710@pc33.example.com"), S(TO_TAG, "t9"), S(METHOD, "BYE"),
                   S(CSEQ_NAME, "INVITE"), S(BODY, "")},
         .nums = {N(KIND, SIP_REQUEST), N(METHOD, SIP_METHOD_BYE), N(CONTENT_LENGTH, 0),
                  N(FLAGS, F_CL | SIP_F_MAX_FORWARDS_BAD)}},
        {ROW("anomalies, then a drop: the drop wins",
             RL "Via: SIP/2.0/UDP 2001:db8::1\r\n" FROM TO CALLID CSEQ "l: 1\r\nl: 1\r\n\r\nx",
             SIP_DUP_CONTENT_LENGTH)},
        {ROW("anomalies, then an unterminated header section: dropped",
             RL "Via: SIP/2.0/UDP 2001:db8::1\r\n" FROM TO CALLID CSEQ, SIP_UNTERMINATED)},
        /* ---- dropped, one verdict after the other ---- */
        {ROW("CRLF CRLF keep-alive", "\r\n\r\n", SIP_KEEPALIVE)},
        {ROW("single CRLF keep-alive", "\r\n", SIP_KEEPALIVE)},
        {ROW("bare LF keep-alive", "\n", SIP_KEEPALIVE)},
        {ROW("CR and LF in any order", "\r\r\n\n\r", SIP_KEEPALIVE)},
        {ROW("65536 octets", RL ALL "\r\n", SIP_OVERSIZE), .pad_to = SIP_MAX_MSG + 1},
        {ROW("empty datagram", "", SIP_BAD_START_LINE)},
        {ROW("no line feed at all", "INVITE sip:bob@example.com SIP/2.0", SIP_BAD_START_LINE)},
        {ROW("two SP after the method (RFC 4475 lwsstart)",
             "INVITE  sip:bob@example.com SIP/2.0\r\n" ALL "\r\n", SIP_BAD_START_LINE)},
        {ROW("SP after the version (RFC 4475 trws)",
             "INVITE sip:bob@example.com SIP/2.0 \r\n" ALL "\r\n", SIP_BAD_START_LINE)},
        {ROW("HT between method and URI", "INVITE\tsip:bob@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("HT between URI and version", "INVITE sip:bob@example.com\tSIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("no version", "INVITE sip:bob@example.com\r\n" ALL "\r\n", SIP_BAD_START_LINE)},
        {ROW("SP and nothing after the URI", "INVITE sip:bob@example.com \r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("method not a token", "INV@ITE sip:bob@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("HTTP status line", "HTTP/1.1 200 OK\r\n" ALL "\r\n", SIP_BAD_START_LINE)},
        {ROW("status line without a code", RESP("SIP/2.0 OK"), SIP_BAD_START_LINE)},
        {ROW("version without major digits", RESP("SIP/.0 200 OK"), SIP_BAD_START_LINE)},
        {ROW("version without minor digits", "INVITE sip:bob@example.com SIP/2.\r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("control octet in the reason phrase", RESP("SIP/2.0 200 O\x01K"), SIP_BAD_START_LINE)},
        {ROW("0x0f for the / of SIP/2.0 in a status line (0x0f | 0x20 == '/')",
             RESP("SIP\x0f"
                  "2.0 200 OK"),
             SIP_BAD_START_LINE)},
        {ROW("0x0f for the / of SIP/2.0 in a request line",
             "INVITE sip:bob@example.com SIP\x0f"
             "2.0\r\n" ALL "\r\n",
             SIP_BAD_START_LINE)},
        {ROW("Request-URI in <> (RFC 4475 ltgtruri)",
             "INVITE <sip:bob@example.com> SIP/2.0\r\n" ALL "\r\n", SIP_BAD_REQUEST_URI)},
        {ROW("Request-URI without a scheme", "INVITE bob@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_REQUEST_URI)},
        {ROW("scheme starting with a digit", "INVITE 9sip:bob@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_REQUEST_URI)},
        {ROW("DEL in the Request-URI", "INVITE sip:bob\x7f@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_REQUEST_URI)},
        {ROW("NUL in the Request-URI", "INVITE sip:bob\0@example.com SIP/2.0\r\n" ALL "\r\n",
             SIP_BAD_REQUEST_URI)},
        {ROW("SIP/7.0 (RFC 4475 badvers)", "OPTIONS sip:bob@example.com SIP/7.0\r\n" ALL "\r\n",
             SIP_BAD_VERSION)},
        {ROW("SIP/2.1", "INVITE sip:bob@example.com SIP/2.1\r\n" ALL "\r\n", SIP_BAD_VERSION)},
        {ROW("SIP/20.0", "INVITE sip:bob@example.com SIP/20.0\r\n" ALL "\r\n", SIP_BAD_VERSION)},
        {ROW("SIP/1.0 status line", RESP("SIP/1.0 200 OK"), SIP_BAD_VERSION)},
        {ROW("status 099", RESP("SIP/2.0 099 Low"), SIP_BAD_STATUS)},
        {ROW("status 700", RESP("SIP/2.0 700 High"), SIP_BAD_STATUS)},
        {ROW("four-digit status", RESP("SIP/2.0 2000 OK"), SIP_BAD_STATUS)},
        {ROW("two-digit status", RESP("SIP/2.0 20 OK"), SIP_BAD_STATUS)},
        {ROW("status 4294967301 (RFC 4475 bigcode)", RESP("SIP/2.0 4294967301 Big"),
             SIP_BAD_STATUS)},
        {ROW("header line without a colon", RL VIA FROM TO "Call-ID a84b4c76\r\n" CSEQ "\r\n",
             SIP_BAD_HEADER)},
        {ROW("empty header name", RL ALL ": value\r\n\r\n", SIP_BAD_HEADER)},
        {ROW("SP inside a header name", RL ALL "Call ID: x\r\n\r\n", SIP_BAD_HEADER)},
        {ROW("white space starting the first header line", RL " " ALL "\r\n", SIP_BAD_HEADER)},
        {ROW("control octet in a header name", RL ALL "X-\x01: y\r\n\r\n", SIP_BAD_HEADER)},
        {ROW("no empty line after the headers (RFC 4475 baddn as archived)", RL ALL,
             SIP_UNTERMINATED)},
        {ROW("start line only", RL, SIP_UNTERMINATED)},
        {ROW("last header without a line end", RL VIA FROM TO CALLID "CSeq: 1 INVITE",
             SIP_UNTERMINATED)},
        {ROW("header folded up to the end of the datagram", RL ALL "X: a\r\n b", SIP_UNTERMINATED)},
        {ROW("CRLF CR at the end", RL ALL "\r", SIP_UNTERMINATED)},
        {ROW("no Call-ID", RL VIA FROM TO CSEQ "\r\n", SIP_NO_CALL_ID)},
        {ROW("no mandatory header at all: Call-ID reported first", RL "\r\n", SIP_NO_CALL_ID)},
        {ROW("empty Call-ID", RL VIA FROM TO "Call-ID: \r\n" CSEQ "\r\n", SIP_BAD_CALL_ID)},
        {ROW("Call-ID with inner white space", RL VIA FROM TO "Call-ID: a84b c766\r\n" CSEQ "\r\n",
             SIP_BAD_CALL_ID)},
        {ROW("Call-ID folded inside the value",
             RL VIA FROM TO "Call-ID: abc\r\n def\r\n" CSEQ "\r\n", SIP_BAD_CALL_ID)},
        {ROW("Call-ID with ;", RL VIA FROM TO "Call-ID: a;b\r\n" CSEQ "\r\n", SIP_BAD_CALL_ID)},
        {ROW("Call-ID list", RL VIA FROM TO "Call-ID: a,b\r\n" CSEQ "\r\n", SIP_BAD_CALL_ID)},
        {ROW("Call-ID with a UTF-8 octet", RL VIA FROM TO "Call-ID: caf\xc3\xa9\r\n" CSEQ "\r\n",
             SIP_BAD_CALL_ID)},
        {ROW("Call-ID twice (long and compact)", RL ALL "i: other@pc33\r\n\r\n", SIP_DUP_CALL_ID)},
        {ROW("Call-ID twice with the same value", RL ALL CALLID "\r\n", SIP_DUP_CALL_ID)},
        {AROW("no CSeq", RL VIA FROM TO CALLID "\r\n", A(NO_CSEQ))},
        {AROW("no CSeq and no Via: both recorded", RL FROM TO CALLID "\r\n",
              A(NO_CSEQ) | A(NO_VIA))},
        {AROW("CSeq without number", RL VIA FROM TO CALLID "CSeq: INVITE\r\n\r\n", A(BAD_CSEQ))},
        {AROW("CSeq without method", RL VIA FROM TO CALLID "CSeq: 1\r\n\r\n", A(BAD_CSEQ))},
        {AROW("CSeq 2^32", RL VIA FROM TO CALLID "CSeq: 4294967296 INVITE\r\n\r\n", A(BAD_CSEQ))},
        {AROW("CSeq without SP before the method", RL VIA FROM TO CALLID "CSeq: 1INVITE\r\n\r\n",
              A(BAD_CSEQ))},
        {AROW("CSeq with a third word", RL VIA FROM TO CALLID "CSeq: 1 INVITE x\r\n\r\n",
              A(BAD_CSEQ))},
        {AROW("negative CSeq", RL VIA FROM TO CALLID "CSeq: -1 INVITE\r\n\r\n", A(BAD_CSEQ))},
        {AROW("CSeq method not a token", RL VIA FROM TO CALLID "CSeq: 1 INV@ITE\r\n\r\n",
              A(BAD_CSEQ))},
        {AROW("CSeq twice", RL ALL "CSeq: 314160 INVITE\r\n\r\n", A(DUP_CSEQ))},
        {AROW("CSeq method differs", RL VIA FROM TO CALLID "CSeq: 1 ACK\r\n\r\n",
              A(CSEQ_MISMATCH))},
        {AROW("CSeq method in another case (methods are case-sensitive)",
              RL VIA FROM TO CALLID "CSeq: 1 invite\r\n\r\n", A(CSEQ_MISMATCH))},
        {AROW("CSeq method longer", RL VIA FROM TO CALLID "CSeq: 1 INVITEX\r\n\r\n",
              A(CSEQ_MISMATCH))},
        {AROW("no Via", RL REST "\r\n", A(NO_VIA))},
        {AROW("empty Via", RL "Via:\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via without sent-by", RL "Via: SIP/2.0/UDP\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via SIP/3.0", RL "Via: SIP/3.0/UDP h.example.com\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via without transport", RL "Via: SIP/2.0 h.example.com\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("Via protocol not SIP", RL "Via: HTTP/2.0/UDP h.example.com\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("Via port 0", RL "Via: SIP/2.0/UDP h.example.com:0\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via port 65536", RL "Via: SIP/2.0/UDP h.example.com:65536\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("Via port not a number", RL "Via: SIP/2.0/UDP h.example.com:sip\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("Via IPv6 without ]",
              RL "Via: SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via IPv6 reference holding a host name",
              RL "Via: SIP/2.0/UDP [not.an.ipv6.example]:5060\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via IPv6 empty []", RL "Via: SIP/2.0/UDP []:5060\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via empty parameter (RFC 4475 badinv01)",
              RL "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via parameter with = and no value",
              RL "Via: SIP/2.0/UDP h.example.com;branch=\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via parameter with an unterminated quote",
              RL "Via: SIP/2.0/UDP h.example.com;x=\"open\r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("Via list with an empty value",
              RL "Via: SIP/2.0/UDP a.example.com , , SIP/2.0/UDP b.example.com\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("Via list ending with a comma", RL "Via: SIP/2.0/UDP a.example.com,\r\n" REST "\r\n",
              A(BAD_VIA))},
        {AROW("second Via header empty", RL VIA "Via: \r\n" REST "\r\n", A(BAD_VIA))},
        {AROW("junk after the sent-by", RL "Via: SIP/2.0/UDP h.example.com junk\r\n" REST "\r\n",
              A(BAD_VIA))},
        {ROW("bad Via, then a missing Call-ID: the drop wins",
             RL "Via: SIP/2.0/UDP\r\n" FROM TO CSEQ "\r\n", SIP_NO_CALL_ID)},
        {AROW("no From", RL VIA TO CALLID CSEQ "\r\n", A(NO_FROM))},
        {AROW("no From and no To: both recorded", RL VIA CALLID CSEQ "\r\n",
              A(NO_FROM) | A(NO_TO))},
        {AROW("From with an unbalanced quote",
              RL VIA "From: \"Alice <sip:alice@example.com>;tag=1\r\n" TO CALLID CSEQ "\r\n",
              A(BAD_FROM))},
        {AROW("From without >",
              RL VIA "From: <sip:alice@example.com;tag=1\r\n" TO CALLID CSEQ "\r\n", A(BAD_FROM))},
        {AROW("From tag with = and no value",
              RL VIA "From: <sip:alice@example.com>;tag=\r\n" TO CALLID CSEQ "\r\n", A(BAD_FROM))},
        {AROW("junk after From's >",
              RL VIA "From: <sip:alice@example.com> junk\r\n" TO CALLID CSEQ "\r\n", A(BAD_FROM))},
        {AROW("empty From", RL VIA "From:\r\n" TO CALLID CSEQ "\r\n", A(BAD_FROM))},
        {AROW("From with a quote after a token display name",
              RL VIA "From: Alice \"A\" <sip:alice@example.com>\r\n" TO CALLID CSEQ "\r\n",
              A(BAD_FROM))},
        {AROW("From list",
              RL VIA "From: <sip:a@example.com>, <sip:b@example.com>\r\n" TO CALLID CSEQ "\r\n",
              A(BAD_FROM))},
        {AROW("From twice (long and compact)", RL ALL "f: <sip:eve@example.com>;tag=2\r\n\r\n",
              A(DUP_FROM))},
        {AROW("no To", RL VIA FROM CALLID CSEQ "\r\n", A(NO_TO))},
        {AROW("missing To and a CSeq mismatch: both recorded",
              RL VIA FROM CALLID "CSeq: 1 ACK\r\n\r\n", A(NO_TO) | A(CSEQ_MISMATCH)),
         .nums = {N(METHOD, SIP_METHOD_INVITE), N(CSEQ_METHOD, SIP_METHOD_ACK)}},
        {AROW("To with an unbalanced quote (RFC 4475 quotbal)",
              RL VIA FROM "To: \"Mr. J. User <sip:j.user@example.com>\r\n" CALLID CSEQ "\r\n",
              A(BAD_TO))},
        {AROW("To without >", RL VIA FROM "To: Bob <sip:bob@example.com\r\n" CALLID CSEQ "\r\n",
              A(BAD_TO))},
        {AROW("To with an empty parameter",
              RL VIA FROM "To: <sip:bob@example.com>;;tag=1\r\n" CALLID CSEQ "\r\n", A(BAD_TO))},
        {ROW("To twice", RL ALL "t: <sip:carol@example.com>\r\n\r\n", SIP_DUP_TO)},
        {AROW("Max-Forwards 256", RL ALL "Max-Forwards: 256\r\n\r\n", A(BAD_MAX_FORWARDS))},
        {AROW("Max-Forwards -1", RL ALL "Max-Forwards: -1\r\n\r\n", A(BAD_MAX_FORWARDS))},
        {AROW("empty Max-Forwards", RL ALL "Max-Forwards:\r\n\r\n", A(BAD_MAX_FORWARDS))},
        {AROW("Max-Forwards of two numbers", RL ALL "Max-Forwards: 7 0\r\n\r\n",
              A(BAD_MAX_FORWARDS))},
        {AROW("Max-Forwards of twenty digits", RL ALL "Max-Forwards: 99999999999999999999\r\n\r\n",
              A(BAD_MAX_FORWARDS))},
        {AROW("bad Max-Forwards and a bad CSeq: both recorded",
              RL VIA FROM TO CALLID "Max-Forwards: 300\r\nCSeq: x\r\n\r\n",
              A(BAD_MAX_FORWARDS) | A(BAD_CSEQ)),
         .spans = {S(CSEQ_NUM, ""), S(CSEQ_NAME, "")},
         .nums = {N(FLAGS, SIP_F_MAX_FORWARDS_BAD), N(MAX_FORWARDS, 0), N(CSEQ, 0)}},
        {AROW("Max-Forwards twice", RL ALL MF MF "\r\n", A(DUP_MAX_FORWARDS))},
        {AROW("Route without >", RL ALL "Route: <sip:p1.example.com;lr\r\n\r\n", A(BAD_ROUTE))},
        {AROW("Route with an unterminated quote", RL ALL "Route: \"P1 <sip:p1.example.com>\r\n\r\n",
              A(BAD_ROUTE))},
        {AROW("empty Route", RL ALL "Route:\r\n\r\n", A(BAD_ROUTE))},
        {AROW("Route with an empty first value", RL ALL "Route: , <sip:p2.example.com>\r\n\r\n",
              A(BAD_ROUTE))},
        {ROW("negative Content-Length (RFC 4475 ncl)", RL ALL "Content-Length: -999\r\n\r\n",
             SIP_BAD_CONTENT_LENGTH)},
        {ROW("Content-Length 2^32", RL ALL "Content-Length: 4294967296\r\n\r\n",
             SIP_BAD_CONTENT_LENGTH)},
        {ROW("Content-Length with a letter", RL ALL "Content-Length: 12a\r\n\r\n",
             SIP_BAD_CONTENT_LENGTH)},
        {ROW("empty Content-Length", RL ALL "Content-Length: \r\n\r\n", SIP_BAD_CONTENT_LENGTH)},
        {ROW("Content-Length of two numbers", RL ALL "l: 1 2\r\n\r\nab", SIP_BAD_CONTENT_LENGTH)},
        {ROW("Content-Length twice, same value", RL ALL CL0 "l: 0\r\n\r\n",
             SIP_DUP_CONTENT_LENGTH)},
        {ROW("Content-Length twice (RFC 4475 mcl01)",
             RL ALL "Content-Length: 13\r\nContent-Length: 5\r\n\r\n12345",
             SIP_DUP_CONTENT_LENGTH)},
        {ROW("Content-Length past the datagram (RFC 4475 clerr)",
             RL ALL "Content-Length: 10\r\n\r\n12345", SIP_TRUNCATED)},
        {ROW("Content-Length 1, no body", RL ALL "l: 1\r\n\r\n", SIP_TRUNCATED)},
        {ROW("Content-Length 2^32-1", RL ALL "Content-Length: 4294967295\r\n\r\nx", SIP_TRUNCATED)},
};

#undef ROW
#undef AROW
#undef S
#undef N

/* The row's datagram: its text, then 'x' octets up to pad_to; valid until the next call. */
static const uint8_t *
row_bytes(const struct hand_row *r, size_t *len)
{
	static uint8_t buf[SIP_MAX_MSG + 1];

	if (r->pad_to <= r->len) {
		*len = r->len;
		return (const uint8_t *)r->msg;
	}
	cr_assert(r->pad_to <= sizeof(buf), "%s: pad_to %zu", r->name, r->pad_to);
	memcpy(buf, r->msg, r->len);
	memset(buf + r->len, 'x', r->pad_to - r->len);
	*len = r->pad_to;
	return buf;
}

static void
check_row_fields(const char *ctx, const struct hand_row *r, const uint8_t *buf,
                 const struct sip_msg *m)
{
	char got[256], want[256];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(r->spans) && r->spans[i].f != F_NONE; i++) {
		struct sip_span s = span_of(m, r->spans[i].f);
		const char *w = r->spans[i].s;

		cr_expect(span_is(buf, s, w), "%s: %s is \"%s\", want \"%s\"", ctx,
		          span_fields[r->spans[i].f].name,
		          esc(buf + s.off, s.len, got, sizeof(got)),
		          esc((const uint8_t *)w, strlen(w), want, sizeof(want)));
	}
	for (size_t i = 0; i < SPH_ARRAY_SIZE(r->nums) && r->nums[i].f != N_NONE; i++)
		cr_expect_eq(num_of(m, r->nums[i].f), r->nums[i].v, "%s: %s is %u, want %u", ctx,
		             num_names[r->nums[i].f], num_of(m, r->nums[i].f), r->nums[i].v);
}

ParameterizedTestParameters(sip, hand_rows)
{
	static size_t idx[SPH_ARRAY_SIZE(hand)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(hand); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(hand));
}

/* Verdict and fields from every scanner, the datagram ending at a guard page. */
ParameterizedTest(size_t *i, sip, hand_rows)
{
	const struct hand_row *r = &hand[*i];
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls), len;
	const uint8_t *b = row_bytes(r, &len);
	uint8_t *g = guarded(b, len);

	cr_assert(r->verdict == SIP_OK || (r->spans[0].f == F_NONE && r->nums[0].f == N_NONE),
	          "%s: fields are only defined on SIP_OK", r->name);
	for (size_t k = 0; k < ni; k++) {
		struct sip_msg m;
		char ctx[256];
		enum sip_verdict v = parse_with(impls[k], g, len, &m);

		snprintf(ctx, sizeof(ctx), "%s [%s]", r->name, impl_names[impls[k]]);
		cr_assert_eq(v, r->verdict, "%s: %s, want %s", ctx, sip_verdict_name(v),
		             sip_verdict_name(r->verdict));
		if (v == SIP_OK) {
			cr_assert_eq(m.anomalies, r->anom, "%s: anomalies %#x, want %#x", ctx,
			             m.anomalies, r->anom);
			check_view(ctx, g, len, &m);
			check_row_fields(ctx, r, g, &m);
		}
	}
	guard_free(g, len);
}

/* A drop verdict has a row that returns it; an anomaly a row routed with it alone. */
Test(sip, every_verdict_has_a_hand_row)
{
	for (int v = 0; v < SIP_VERDICT_COUNT; v++) {
		bool anomaly = sip_verdict_policy(v) == SIP_POLICY_ANOMALY;
		size_t n = 0;

		for (size_t i = 0; i < SPH_ARRAY_SIZE(hand); i++)
			n += anomaly ? hand[i].verdict == SIP_OK &&
			                       hand[i].anom == SIP_ANOMALY_BIT(v)
			             : hand[i].verdict == (enum sip_verdict)v;
		cr_expect(n > 0, "no hand row for %s (%s)", sip_verdict_name(v),
		          anomaly ? "anomaly" : "drop");
	}
}

Test(sip, null_empty_input)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);

	for (size_t k = 0; k < ni; k++) {
		struct sip_msg m;

		cr_expect_eq(parse_with(impls[k], NULL, 0, &m), SIP_BAD_START_LINE, "%s",
		             impl_names[impls[k]]);
	}
}

/* ---- every prefix ---- */

/*
 * buf cut at every length, each cut ending at a guard page, each scanner. Whatever the input,
 * a SIP_OK view is valid for the cut. When the whole message is routed, more is known: before
 * its header section ends no cut is routed; after, the cut is routed with the same view unless
 * Content-Length says the body is not all there (SIP_TRUNCATED), and without Content-Length
 * the body is whatever the cut left.
 */
static void
check_cuts(const char *name, const uint8_t *buf, size_t len)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	struct sip_msg full, m;
	enum sip_verdict vfull = parse_with(SIP_SCAN_SCALAR, buf, len, &full);
	size_t body = full.body.off, end = full.msg_len;
	bool has_cl = full.flags & SIP_F_CONTENT_LENGTH;

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *g = guarded(buf, cut);

		for (size_t k = 0; k < ni; k++) {
			char ctx[256];
			enum sip_verdict v = parse_with(impls[k], g, cut, &m);

			snprintf(ctx, sizeof(ctx), "%s cut at %zu of %zu [%s]", name, cut, len,
			         impl_names[impls[k]]);
			if (v == SIP_OK)
				check_view(ctx, g, cut, &m);
			if (vfull != SIP_OK)
				continue;
			if (cut < body) {
				cr_assert_neq(v, SIP_OK,
				              "%s: routed before the header section ends at %zu",
				              ctx, body);
				continue;
			}
			if (has_cl && cut < end) {
				cr_assert_eq(v, SIP_TRUNCATED, "%s: %s with %zu of %u body octets",
				             ctx, sip_verdict_name(v), cut - body,
				             full.content_length);
				continue;
			}
			cr_assert_eq(v, SIP_OK, "%s: %s", ctx, sip_verdict_name(v));
			struct sip_msg want = full;
			if (has_cl) {
				want.trailing = (uint16_t)(cut - end);
			} else {
				want.content_length = (uint32_t)(cut - body);
				want.body.len = (uint16_t)(cut - body);
				want.msg_len = (uint16_t)cut;
				want.trailing = 0;
			}
			cr_assert(memcmp(&want, &m, sizeof(m)) == 0,
			          "%s: view differs from the whole message's (body %u+%u, msg_len "
			          "%u, "
			          "trailing %u)",
			          ctx, m.body.off, m.body.len, m.msg_len, m.trailing);
		}
		guard_free(g, cut);
	}
}

ParameterizedTestParameters(sip, corpus_cuts)
{
	static size_t idx[SPH_ARRAY_SIZE(corpus)];

	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, SPH_ARRAY_SIZE(corpus));
}

ParameterizedTest(size_t *i, sip, corpus_cuts)
{
	struct blob b = corpus_load(&corpus[*i]);

	check_cuts(corpus[*i].file, b.p, b.len);
}

/* The padded rows are left out: 65535 cuts of a body nobody reads say nothing new. */
ParameterizedTestParameters(sip, hand_cuts)
{
	static size_t idx[SPH_ARRAY_SIZE(hand)];
	size_t n = 0;

	for (size_t i = 0; i < SPH_ARRAY_SIZE(hand); i++)
		if (hand[i].pad_to == 0)
			idx[n++] = i;
	return cr_make_param_array(size_t, idx, n);
}

ParameterizedTest(size_t *i, sip, hand_cuts)
{
	const struct hand_row *r = &hand[*i];

	check_cuts(r->name, (const uint8_t *)r->msg, r->len);
}

/* ---- the end of the input at every alignment ---- */

/*
 * The header section's last octets at every offset modulo 64 (the line-feed block) and 16/32
 * (the class loads), ending right before the guard page: a Call-ID of 1..160 octets, then the
 * empty line, with and without a Content-Length-framed body, and once without the empty line.
 */
Test(sip, end_at_guard_every_alignment)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	static const char *const tails[] = {"\r\n", "l: 3\r\n\r\nabc", ""};

	for (size_t t = 0; t < SPH_ARRAY_SIZE(tails); t++) {
		for (size_t n = 1; n <= 160; n++) {
			char msg[1024];
			char id[161];
			size_t len;

			memset(id, 'k', n);
			id[n] = '\0';
			len = (size_t)snprintf(msg, sizeof(msg),
			                       RL VIA FROM TO CSEQ "Call-ID: %s\r\n%s", id,
			                       tails[t]);
			uint8_t *g = guarded((const uint8_t *)msg, len);
			for (size_t k = 0; k < ni; k++) {
				struct sip_msg m;
				enum sip_verdict v = parse_with(impls[k], g, len, &m);
				char ctx[64];

				snprintf(ctx, sizeof(ctx), "Call-ID of %zu, tail %zu [%s]", n, t,
				         impl_names[impls[k]]);
				if (*tails[t] == '\0') {
					cr_assert_eq(v, SIP_UNTERMINATED, "%s: %s", ctx,
					             sip_verdict_name(v));
					continue;
				}
				cr_assert_eq(v, SIP_OK, "%s: %s", ctx, sip_verdict_name(v));
				check_view(ctx, g, len, &m);
				cr_assert_eq(m.call_id.len, n, "%s: Call-ID of %u", ctx,
				             m.call_id.len);
			}
			guard_free(g, len);
		}
	}
}

/*
 * The last header's delimiters at every distance from the end of the input, right before the
 * guard page: the searches for '"', '\\', '<', '>' and ',' and the class steps that end
 * within 32 octets of it read the 32 octets that end there (sip_scan.h). Every scanner must
 * give the scalar reference's verdict and view, for well-formed values and broken ones.
 */
Test(sip, last_header_at_guard_every_distance)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	/* %s is a run of 0..70 filler octets */
	static const char *const lasts[] = {
	        "From: \"%s\" <sip:a@b>;tag=x",
	        "From: \"a\\\"%s\" <sip:a@b>",
	        "From: \"%s",
	        "From: tok%s <sip:a@b>",
	        "To: <sip:%s@b>;tag=y",
	        "To: <sip:%s@b",
	        "To: sip:%s@b;tag=z",
	        "Via: SIP/2.0/UDP h;x=\"a,%s\", SIP/2.0/UDP g",
	        "Via: SIP/2.0/UDP h%s, ,SIP/2.0/UDP g",
	        "Route: <sip:r%s;lr>, <sip:s>",
	        "Route: \"%s\" <sip:r>",
	        "Max-Forwards: 7%s",
	};
	static const char *const ends[] = {"\r\n\r\n", "\r\n"};

	for (size_t l = 0; l < SPH_ARRAY_SIZE(lasts); l++) {
		for (size_t e = 0; e < SPH_ARRAY_SIZE(ends); e++) {
			for (size_t k = 0; k <= 70; k++) {
				char fill[71], last[160], msg[512];

				memset(fill, lasts[l][0] == 'M' ? '0' : 'q', k);
				fill[k] = '\0';
				snprintf(last, sizeof(last), lasts[l], fill);
				size_t len = (size_t)snprintf(msg, sizeof(msg),
				                              RL VIA CALLID CSEQ "%s%s%s", FROM,
				                              last, ends[e]);
				if (lasts[l][0] == 'F') /* the last header is the only From */
					len = (size_t)snprintf(msg, sizeof(msg),
					                       RL VIA CALLID CSEQ TO "%s%s", last,
					                       ends[e]);
				uint8_t *g = guarded((const uint8_t *)msg, len);
				struct sip_msg want, m;
				enum sip_verdict vw = parse_with(SIP_SCAN_SCALAR, g, len, &want);

				for (size_t i = 0; i < ni; i++) {
					enum sip_verdict v = parse_with(impls[i], g, len, &m);

					cr_assert_eq(v, vw,
					             "%s, %zu filler, end %zu [%s]: %s, not %s",
					             lasts[l], k, e, impl_names[impls[i]],
					             sip_verdict_name(v), sip_verdict_name(vw));
					cr_assert(memcmp(&want, &m, sizeof(m)) == 0,
					          "%s, %zu filler, end %zu [%s]: view differs",
					          lasts[l], k, e, impl_names[impls[i]]);
				}
				guard_free(g, len);
			}
		}
	}
}

/* ---- differential: every scanner against the scalar reference ---- */

/* The name of a header the _rf scanners keep, ending right before p[colon]: the octets
 * before the colon, white space skipped back, are one of names, preceded by a line feed. */
static bool
rf_named(const uint8_t *p, uint32_t colon, const char *const *names)
{
	uint32_t e = colon;

	while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	for (; *names != NULL; names++) {
		uint32_t n = (uint32_t)strlen(*names);

		if (e > n && p[e - n - 1] == '\n' &&
		    strncasecmp((const char *)p + e - n, *names, n) == 0)
			return true;
	}
	return false;
}

/* A kept value region: empty, or right after "name:" within the header section. */
static void
rf_check_span(const char *what, const uint8_t *p, const struct sip_msg *m, struct sip_span sp,
              const char *const *names, const char *field)
{
	if (sp.off == 0) {
		cr_assert_eq(sp.len, 0, "%s: %s empty but of length %u", what, field, sp.len);
		return;
	}
	cr_assert(sp.off + sp.len <= m->body.off, "%s: %s [%u, +%u) past the header section", what,
	          field, sp.off, sp.len);
	cr_assert(p[sp.off - 1] == ':' && rf_named(p, sp.off - 1, names),
	          "%s: %s at %u is not a %s header's value", what, field, sp.off, names[0]);
}

/*
 * sip_parse_rf() on the input differential() just scanned (g, verdict vref, scalar view
 * ref): with every scanner, the same verdict, the same view but for user_agent, contact
 * and SIP_F_UA_SERVER, and the same of those across scanners; each kept value region is
 * right after its header's name.
 */
static void
differential_rf(const char *what, const uint8_t *g, size_t len, enum sip_verdict vref,
                const struct sip_msg *ref)
{
	static const char *const ua[] = {"user-agent", "server", NULL};
	static const char *const contact[] = {"contact", "m", NULL};
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	struct sip_msg rf0, m, plain;

	for (size_t k = 0; k < ni; k++) {
		cr_assert_eq(sip_scan_select(impls[k]), 0);
		memset(&m, POISON, sizeof(m));
		enum sip_verdict v = sip_parse_rf(g, len, &m);

		cr_assert_eq(v, vref, "%s: %s's sip_parse_rf() says %s, sip_parse() %s", what,
		             impl_names[impls[k]], sip_verdict_name(v), sip_verdict_name(vref));
		if (v != SIP_OK)
			continue;
		plain = m;
		plain.user_agent = plain.contact = (struct sip_span){0, 0};
		plain.flags &= (uint8_t)~SIP_F_UA_SERVER;
		cr_assert(memcmp(&plain, ref, sizeof(plain)) == 0,
		          "%s: %s's sip_parse_rf() view differs beyond the rule fields", what,
		          impl_names[impls[k]]);
		rf_check_span(what, g, &m, m.user_agent, ua, "user_agent");
		rf_check_span(what, g, &m, m.contact, contact, "contact");
		if (k == 0)
			rf0 = m;
		else
			cr_assert(memcmp(&rf0, &m, sizeof(m)) == 0,
			          "%s: %s's sip_parse_rf() view differs from scalar's", what,
			          impl_names[impls[k]]);
	}
	sip_scan_select(SIP_SCAN_AUTO);
}

/*
 * Parse buf[0, len) from a guard buffer with every scanner; verdict and the whole poisoned
 * struct sip_msg must equal the scalar one's, and a SIP_OK view be valid. Returns the verdict.
 */
static enum sip_verdict
differential(const char *what, const uint8_t *buf, size_t len, uint32_t *anomalies)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	uint8_t *g = guarded(buf, len);
	struct sip_msg ref, m;
	enum sip_verdict vref = SIP_OK;
	char in[600];

	memset(&ref, 0, sizeof(ref));

	for (size_t k = 0; k < ni; k++) {
		enum sip_verdict v = parse_with(impls[k], g, len, &m);

		cr_assert(sip_verdict_policy(v) != SIP_POLICY_ANOMALY,
		          "%s: %s returned anomaly %s as its verdict", what, impl_names[impls[k]],
		          sip_verdict_name(v));
		if (v == SIP_OK) {
			char ctx[160];

			snprintf(ctx, sizeof(ctx), "%s [%s]", what, impl_names[impls[k]]);
			check_view(ctx, g, len, &m);
		}
		if (k == 0) {
			vref = v;
			ref = m;
			continue;
		}
		cr_assert_eq(v, vref, "%s: %s says %s, scalar %s; input \"%s\"", what,
		             impl_names[impls[k]], sip_verdict_name(v), sip_verdict_name(vref),
		             esc(buf, len, in, sizeof(in)));
		cr_assert_eq(m.anomalies, ref.anomalies,
		             "%s: %s records anomalies %#x, scalar %#x; input \"%s\"", what,
		             impl_names[impls[k]], m.anomalies, ref.anomalies,
		             esc(buf, len, in, sizeof(in)));
		if (memcmp(&ref, &m, sizeof(m)) != 0) {
			const uint8_t *a = (const uint8_t *)&ref, *c = (const uint8_t *)&m;
			size_t off = 0;

			while (a[off] == c[off])
				off++;
			cr_assert_fail(
			        "%s: %s's struct sip_msg differs from scalar's at offset %zu "
			        "(verdict %s); input \"%s\"",
			        what, impl_names[impls[k]], off, sip_verdict_name(v),
			        esc(buf, len, in, sizeof(in)));
		}
	}
	differential_rf(what, g, len, vref, &ref);
	guard_free(g, len);
	*anomalies = ref.anomalies;
	return vref;
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform-enough index below n (n > 0). */
static size_t
below(uint64_t *s, size_t n)
{
	return (size_t)(splitmix64(s) % n);
}

#define MUT_CAP 8192

static size_t
insert_at(uint8_t *b, size_t len, size_t at, const void *src, size_t n)
{
	if (len + n > MUT_CAP)
		return len;
	memmove(b + at + n, b + at, len - at);
	memcpy(b + at, src, n);
	return len + n;
}

/* One mutation of b[0, len) (capacity MUT_CAP); returns the new length. */
static size_t
mutate(uint64_t *s, uint8_t *b, size_t len)
{
	static const uint8_t octets[] = {'\r', '\n', '\t', ' ',  ',',  ';',  ':',  '=', '<', '>',
	                                 '"',  '@',  '[',  ']',  '/',  '\\', '%',  '?', '0', '9',
	                                 'a',  'Z',  0x00, 0x0f, 0x7f, 0x80, 0xc3, 0xff};
	static const char *const breaks[] = {"\r\n", "\n", "\r", "\r\n ", "\r\n\t", "\r\n\r\n"};
	static const char seps[] = ",; \t";
	size_t at = below(s, len + 1);

	switch (below(s, 8)) {
	case 0: /* flip one bit */
		if (len)
			b[below(s, len)] ^= (uint8_t)(1u << below(s, 8));
		return len;
	case 1: /* an octet the grammar cares about */
		if (len)
			b[below(s, len)] = octets[below(s, sizeof(octets))];
		return len;
	case 2: { /* a line break, a fold or an empty line */
		const char *br = breaks[below(s, SPH_ARRAY_SIZE(breaks))];
		return insert_at(b, len, at, br, strlen(br));
	}
	case 3: /* a separator */
		return insert_at(b, len, at, &seps[below(s, sizeof(seps) - 1)], 1);
	case 4: /* truncate */
		return below(s, len + 1);
	case 5: { /* duplicate the line holding a random octet */
		size_t ls = at, le = at;
		uint8_t line[MUT_CAP];

		while (ls > 0 && b[ls - 1] != '\n')
			ls--;
		while (le < len && b[le] != '\n')
			le++;
		if (le < len)
			le++;
		memcpy(line, b + ls, le - ls);
		return insert_at(b, len, le, line, le - ls);
	}
	case 6: { /* overwrite a run with random octets */
		size_t n = 1 + below(s, 16);
		for (size_t k = 0; k < n && at + k < len; k++)
			b[at + k] = (uint8_t)splitmix64(s);
		return len;
	}
	default: { /* delete a run */
		size_t n = 1 + below(s, 16);
		if (at + n > len)
			n = len - at;
		memmove(b + at, b + at + n, len - at - n);
		return len - n;
	}
	}
}

#define NB_MUTANTS 20000

Test(sip, differential_scanners)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);
	struct {
		const uint8_t *p;
		size_t len;
	} seeds[SPH_ARRAY_SIZE(corpus) + SPH_ARRAY_SIZE(hand)];
	size_t nseeds = 0, ok = 0, anomalous = 0, used = 0;
	uint32_t anom;
	static uint8_t buf[MUT_CAP], corpus_copy[1 << 17];
	uint64_t rng = UINT64_C(0x5151704e);

	for (size_t k = 0; k < ni; k++)
		cr_log_info("differential: scanner %s", impl_names[impls[k]]);
	for (size_t i = 0; i < SPH_ARRAY_SIZE(corpus); i++) {
		struct blob b = corpus_load(&corpus[i]);

		differential(corpus[i].file, b.p, b.len, &anom);
		cr_assert(b.len <= MUT_CAP && used + b.len <= sizeof(corpus_copy));
		seeds[nseeds].p = memcpy(corpus_copy + used, b.p, b.len);
		seeds[nseeds++].len = b.len;
		used += b.len;
	}
	for (size_t i = 0; i < SPH_ARRAY_SIZE(hand); i++) {
		size_t len;
		const uint8_t *b = row_bytes(&hand[i], &len);

		differential(hand[i].name, b, len, &anom);
		if (hand[i].pad_to == 0) {
			seeds[nseeds].p = b;
			seeds[nseeds++].len = len;
		}
	}
	for (unsigned n = 0; n < NB_MUTANTS; n++) {
		size_t pick = below(&rng, nseeds);
		size_t len = seeds[pick].len, muts = 1 + below(&rng, below(&rng, 8) == 0 ? 16 : 4);
		char what[48];

		memcpy(buf, seeds[pick].p, len);
		for (size_t k = 0; k < muts; k++)
			len = mutate(&rng, buf, len);
		snprintf(what, sizeof(what), "mutant %u", n);
		if (differential(what, buf, len, &anom) == SIP_OK) {
			ok++;
			anomalous += anom != 0;
		}
	}
	cr_log_info("%u mutants, %zu routed (%zu with anomalies)", NB_MUTANTS, ok, anomalous);
	cr_expect(anomalous >= NB_MUTANTS / 100, "mutants should be routed with anomalies too: %zu",
	          anomalous);
	cr_expect(ok >= NB_MUTANTS / 100 && ok <= NB_MUTANTS - NB_MUTANTS / 100,
	          "mutants should be both routed and dropped: %zu of %u routed", ok, NB_MUTANTS);
	cr_assert_eq(sip_scan_select(SIP_SCAN_AUTO), 0);
}

/*
 * Parameters of every name and value length around the SIMD builds' 32-octet steps, with
 * each separator and ending that decides between their one-step path and the general
 * walk: all scanners must agree on each message. A Via, a From and a To carry them, and
 * the header may end the header section, so the steps also meet the datagram's end.
 */
static const char *const param_eqs[] = {"=", " =", "= ", "=\"q\\\"v\"", "=\"\"", "", "=,"};
static const char *const param_ends[] = {"", ";x", ";", " ;lr", ",SIP/2.0/UDP h", " ", ">"};
static const char *const param_hdrs[] = {"Via: SIP/2.0/UDP h:5060", "From: <sip:a@b>",
                                         "To: \"T\" <sip:c@d>", "f: sip:a@b"};

/* One message: header h with one parameter of name length nl (starting "branch" or
 * "tag", padded with token octets), separator e, value length vl, ending t. Returns
 * whether it was routed without anomalies. */
static bool
param_case(size_t h, unsigned nl, size_t e, unsigned vl, size_t t, bool last)
{
	/* the other headers a message must have, each but the one under test */
	char ids[128];
	snprintf(ids, sizeof(ids), "%s%s%sCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n",
	         h == 0 ? "" : "Via: SIP/2.0/UDP h\r\n",
	         h == 1 || h == 3 ? "" : "From: <sip:a@b>\r\n", h == 2 ? "" : "To: <sip:c@d>\r\n");
	const char *base = h == 0 ? "branch" : "tag";
	char name[40], val[72], msg[1024];
	uint32_t anom;

	for (unsigned k = 0; k < nl; k++)
		name[k] = k < strlen(base) ? base[k] : "x-.!%*_+`'~9"[k % 12];
	name[nl] = '\0';
	for (unsigned k = 0; k < vl; k++)
		val[k] = "z9hG4bK.:[]-7"[k % 13];
	val[vl] = '\0';
	int w = snprintf(msg, sizeof(msg), "OPTIONS sip:x@y SIP/2.0\r\n%s%s;%s%s%s%s\r\n%s\r\n",
	                 last ? ids : "", param_hdrs[h], name, param_eqs[e], e < 5 ? val : "",
	                 param_ends[t], last ? "" : ids);
	cr_assert(w > 0 && (size_t)w < sizeof(msg));
	return differential("params", (const uint8_t *)msg, (size_t)w, &anom) == SIP_OK &&
	       anom == 0;
}

Test(sip, differential_params)
{
	unsigned count = 0, clean = 0;

	for (size_t h = 0; h < SPH_ARRAY_SIZE(param_hdrs); h++)
		for (unsigned nl = 0; nl <= 36; nl += nl < 8 || (nl >= 28 && nl <= 33) ? 1 : 4)
			for (size_t e = 0; e < SPH_ARRAY_SIZE(param_eqs); e++)
				for (unsigned vl = 0; vl <= 70;
				     vl += vl < 4 || (vl >= 26 && vl <= 34) ? 1 : 6)
					for (size_t t = 0; t < SPH_ARRAY_SIZE(param_ends); t++)
						for (int last = 0; last < 2; last++, count++)
							clean += param_case(h, nl, e, vl, t, last);
	/* A malformed parameter is an anomaly (SIP_BAD_VIA, _FROM, _TO), not a drop. */
	cr_log_info("%u parameter shapes, %u without anomalies", count, clean);
	cr_expect(clean > count / 8 && clean < count - count / 8,
	          "shapes should be both clean and anomalous: %u of %u clean", clean, count);
}

/*
 * Numbers of every length from 1 to 12 digits, with leading zeros and at each field's
 * limit, in the four fields that read one (the Via port, CSeq, Max-Forwards and
 * Content-Length) and followed by each octet that ends them: the SIMD builds read up to
 * eight digits in one word and up to four in a shorter one, the scalar build one at a
 * time, and all must agree.
 */
Test(sip, differential_numbers)
{
	static const char *const nums[] = {
	        "0",          "7",          "70",           "255",        "256",     "5060",
	        "0070",       "65535",      "65536",        "000255",     "1234567", "12345678",
	        "4294967295", "4294967296", "000000000001", "99999999999"};
	static const char *const tails[] = {"", " ", "x", ";rport", "\t", " 1"};
	unsigned count = 0, clean = 0;

	for (size_t f = 0; f < 4; f++)
		for (size_t k = 0; k < SPH_ARRAY_SIZE(nums); k++)
			for (size_t t = 0; t < SPH_ARRAY_SIZE(tails); t++) {
				char msg[512];
				uint32_t anom;
				const char *nm = nums[k], *tl = tails[t];
				int w = snprintf(
				        msg, sizeof(msg),
				        "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h:%s%s\r\n"
				        "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: c1\r\n"
				        "CSeq: %s%s INVITE\r\nMax-Forwards: %s%s\r\n"
				        "Content-Length: %s%s\r\n\r\n",
				        f == 0 ? nm : "5060", f == 0 ? tl : "", f == 1 ? nm : "1",
				        f == 1 ? tl : "", f == 2 ? nm : "70", f == 2 ? tl : "",
				        f == 3 ? nm : "0", f == 3 ? tl : "");
				cr_assert(w > 0 && (size_t)w < sizeof(msg));
				if (differential("numbers", (const uint8_t *)msg, (size_t)w,
				                 &anom) == SIP_OK &&
				    anom == 0)
					clean++;
				count++;
			}
	cr_log_info("%u numbers, %u clean", count, clean);
	cr_expect(clean > 0 && clean < count, "numbers should be both clean and not: %u of %u",
	          clean, count);
}

/* ---- octet classes ---- */

/* RFC 3261 §25.1, written out here independently of the scanner's tables. */
static bool
is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
in_token(uint8_t c)
{
	return is_alnum(c) || (c && strchr("-.!%*_+`'~", c));
}

/* Call-ID = word [ "@" word ]; word adds ( ) < > : \ DQUOTE / [ ] ? { } to token. */
static bool
in_callid(uint8_t c)
{
	return in_token(c) || (c && strchr("()<>:\\\"/[]?{}@", c));
}

/* Request-URI octets the scanner lets through: visible ASCII and UTF-8. */
static bool
in_visible(uint8_t c)
{
	return c > 0x20 && c != 0x7f;
}

static bool
in_host(uint8_t c)
{
	return is_alnum(c) || c == '-' || c == '.';
}

/* IPv6reference body: hex digits, ':' and the '.' of an IPv4 suffix. */
static bool
in_host6(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

/* gen-value = token / host (IPv6 references bring : [ ]) / quoted-string. */
static bool
in_param_value(uint8_t c)
{
	return in_token(c) || c == ':' || c == '[' || c == ']';
}

#define RUN 40 /* octets of the field under test: several 16-octet loads */

/* '#' in tmpl stands for the RUN-octet field; the span must then hold the whole field. */
static const struct octet_ctx {
	const char *name;
	const char *tmpl;
	char fill;
	bool (*allowed)(uint8_t);
	unsigned span;
	size_t span_extra; /* octets of the span around the field */
} octet_ctxs[] = {
        {"Call-ID", RL VIA FROM TO "Call-ID: #\r\n" CSEQ "\r\n", 'a', in_callid, F_CALL_ID, 0},
        {"method and CSeq method",
         "# sip:bob@example.com SIP/2.0\r\n" VIA FROM TO CALLID "CSeq: 1 #\r\n\r\n", 'A', in_token,
         F_METHOD, 0},
        {"Request-URI", "INVITE sip:#@example.com SIP/2.0\r\n" ALL "\r\n", 'a', in_visible, F_URI,
         16},
        {"Via transport", RL "Via: SIP/2.0/# h.example.com\r\n" REST "\r\n", 'A', in_token,
         F_VIA_PROTO, 0},
        {"Via host", RL "Via: SIP/2.0/UDP #:5060;branch=z9hG4bK1\r\n" REST "\r\n", 'a', in_host,
         F_VIA_HOST, 0},
        {"Via branch", RL "Via: SIP/2.0/UDP h.example.com;branch=#\r\n" REST "\r\n", 'a',
         in_param_value, F_VIA_BRANCH, 0},
        {"From tag", RL VIA "From: <sip:alice@example.com>;tag=#\r\n" TO CALLID CSEQ "\r\n", 'a',
         in_param_value, F_FROM_TAG, 0},
        {"Via IPv6 reference", RL "Via: SIP/2.0/UDP [#]:5060;branch=z9hG4bK1\r\n" REST "\r\n", '1',
         in_host6, F_VIA_HOST, 0},
};

/* tmpl with each '#' replaced by RUN fill octets, octet c at position pos of each. */
static size_t
octet_msg(const struct octet_ctx *x, uint8_t c, size_t pos, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (const char *t = x->tmpl; *t; t++) {
		cr_assert(n + RUN < cap);
		if (*t != '#') {
			out[n++] = (uint8_t)*t;
			continue;
		}
		memset(out + n, x->fill, RUN);
		out[n + pos] = c;
		n += RUN;
	}
	return n;
}

/*
 * Each of the 256 octets at each inner position of a field: the scanners agree (differential)
 * and the field is taken whole exactly when the octet belongs to the field's RFC 3261 class.
 */
Test(sip, octet_classes)
{
	enum sip_scan_impl impls[SPH_ARRAY_SIZE(all_impls)];
	size_t ni = impls_available(impls);

	for (size_t x = 0; x < SPH_ARRAY_SIZE(octet_ctxs); x++) {
		const struct octet_ctx *ctx = &octet_ctxs[x];

		for (unsigned c = 0; c < 256; c++) {
			for (size_t pos = 1; pos + 1 < RUN; pos++) {
				uint8_t msg[512];
				size_t len = octet_msg(ctx, (uint8_t)c, pos, msg, sizeof(msg));
				char what[96];

				snprintf(what, sizeof(what), "%s with octet 0x%02x at %zu",
				         ctx->name, c, pos);
				uint32_t anom;

				differential(what, msg, len, &anom);
				for (size_t k = 0; k < ni; k++) {
					struct sip_msg m;
					enum sip_verdict v = parse_with(impls[k], msg, len, &m);
					bool whole = v == SIP_OK && span_of(&m, ctx->span).len ==
					                                    RUN + ctx->span_extra;

					cr_assert_eq(whole, ctx->allowed((uint8_t)c),
					             "%s [%s]: %s, %s %u octets; the RFC says %s",
					             what, impl_names[impls[k]],
					             sip_verdict_name(v),
					             span_fields[ctx->span].name,
					             span_of(&m, ctx->span).len,
					             ctx->allowed((uint8_t)c) ? "allowed"
					                                      : "not allowed");
				}
			}
		}
	}
}

/* ---- names and the choice of scanner ---- */

Test(sip, verdict_names)
{
	for (int v = 0; v < SIP_VERDICT_COUNT; v++) {
		const char *n = sip_verdict_name(v);

		cr_assert(n && *n && strcmp(n, "unknown") != 0, "verdict %d has no name", v);
		for (const char *c = n; *c; c++)
			cr_assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_',
			          "%s is not snake_case", n);
		cr_assert(sip_verdict_str(v) && *sip_verdict_str(v), "verdict %s has no text", n);
		for (int w = 0; w < v; w++) {
			cr_assert_str_neq(n, sip_verdict_name(w), "duplicate name %s", n);
			cr_assert_str_neq(sip_verdict_str(v), sip_verdict_str(w), "duplicate text");
		}
	}
	cr_assert_str_eq(sip_verdict_name(SIP_OK), "ok");
	cr_assert_str_eq(sip_verdict_name(SIP_BAD_CSEQ), "bad_cseq");
	cr_assert_str_eq(sip_verdict_name(SIP_TRUNCATED), "truncated");
	cr_assert_str_eq(sip_verdict_name(SIP_VERDICT_COUNT), "unknown");
	cr_assert_str_eq(sip_verdict_name((enum sip_verdict) - 1), "unknown");
	cr_assert_str_eq(sip_verdict_str(SIP_VERDICT_COUNT), "unknown verdict");
}

/*
 * The policy column of SIP_VERDICTS, written out: a verdict moving between drop and anomaly
 * changes what the dataplane forwards, so it must change this list too.
 */
Test(sip, verdict_policy_table)
{
	static const enum sip_verdict anomalies[] = {
	        SIP_NO_CSEQ,          SIP_BAD_CSEQ, SIP_DUP_CSEQ, SIP_CSEQ_MISMATCH,
	        SIP_NO_VIA,           SIP_BAD_VIA,  SIP_NO_FROM,  SIP_BAD_FROM,
	        SIP_DUP_FROM,         SIP_NO_TO,    SIP_BAD_TO,   SIP_BAD_MAX_FORWARDS,
	        SIP_DUP_MAX_FORWARDS, SIP_BAD_ROUTE};
	uint32_t want = 0, mask = 0;

	for (size_t i = 0; i < SPH_ARRAY_SIZE(anomalies); i++)
		want |= SIP_ANOMALY_BIT(anomalies[i]);
	cr_assert_eq(sip_verdict_policy(SIP_OK), SIP_POLICY_NONE);
	for (int v = 1; v < SIP_VERDICT_COUNT; v++) {
		enum sip_policy p = sip_verdict_policy(v);

		cr_assert(p == SIP_POLICY_DROP || p == SIP_POLICY_ANOMALY, "%s: policy %d",
		          sip_verdict_name(v), (int)p);
		cr_expect_eq(p == SIP_POLICY_ANOMALY, (want & SIP_ANOMALY_BIT(v)) != 0,
		             "%s: policy %s", sip_verdict_name(v),
		             p == SIP_POLICY_ANOMALY ? "anomaly" : "drop");
		if (p == SIP_POLICY_ANOMALY)
			mask |= SIP_ANOMALY_BIT(v);
	}
	cr_assert_eq(mask, SIP_ANOMALY_MASK, "SIP_ANOMALY_MASK %#x, table %#x",
	             (unsigned)SIP_ANOMALY_MASK, mask);
	cr_assert_eq(mask, want);
	/* What dispatch reads stays a drop. */
	cr_assert_eq(sip_verdict_policy(SIP_NO_CALL_ID), SIP_POLICY_DROP);
	cr_assert_eq(sip_verdict_policy(SIP_DUP_TO), SIP_POLICY_DROP);
	cr_assert_eq(sip_verdict_policy(SIP_TRUNCATED), SIP_POLICY_DROP);
	cr_assert_eq(sip_verdict_policy(SIP_VERDICT_COUNT), SIP_POLICY_DROP);
	cr_assert_eq(sip_verdict_policy((enum sip_verdict) - 1), SIP_POLICY_DROP);
}

Test(sip, method_names)
{
	static const char *const names[SIP_METHOD_COUNT] = {
	        "OTHER",     "INVITE", "ACK",     "BYE",  "CANCEL", "OPTIONS", "REGISTER", "PRACK",
	        "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE", "UPDATE"};

	for (int i = 0; i < SIP_METHOD_COUNT; i++) {
		const char *n = sip_method_name(i);
		char lower[16];
		size_t len = strlen(n);

		cr_assert_str_eq(n, names[i]);
		if (i == SIP_METHOD_OTHER)
			continue;
		cr_assert_eq(sip_method_of((const uint8_t *)n, len), i, "%s", n);
		for (size_t k = 0; k <= len; k++)
			lower[k] = (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] + 32 : n[k]);
		cr_assert_eq(sip_method_of((const uint8_t *)lower, len), SIP_METHOD_OTHER,
		             "%s: methods are case-sensitive", lower);
		cr_assert_eq(sip_method_of((const uint8_t *)n, len - 1), SIP_METHOD_OTHER, "%s cut",
		             n);
	}
	cr_assert_eq(sip_method_of((const uint8_t *)"INVITEX", 7), SIP_METHOD_OTHER);
	cr_assert_eq(sip_method_of((const uint8_t *)"", 0), SIP_METHOD_OTHER);
	cr_assert_str_eq(sip_method_name(SIP_METHOD_COUNT), "OTHER");
	cr_assert_str_eq(sip_method_name((enum sip_method) - 1), "OTHER");
}

/* The start-up choice is the best scanner offered; a refused choice changes nothing. */
Test(sip, scan_select)
{
	const char *startup = sip_scan_name();
	bool sse2, avx2;

	cr_assert_eq(sip_scan_select(SIP_SCAN_SCALAR), 0);
	cr_assert_str_eq(sip_scan_name(), "scalar");
	sse2 = sip_scan_select(SIP_SCAN_SSE2) == 0;
	cr_assert_str_eq(sip_scan_name(), sse2 ? "sse2" : "scalar");
	cr_assert_eq(sip_scan_select(SIP_SCAN_SCALAR), 0);
	avx2 = sip_scan_select(SIP_SCAN_AVX2) == 0;
	cr_assert_str_eq(sip_scan_name(), avx2 ? "avx2" : "scalar");
	cr_assert(sse2 || !avx2, "AVX2 offered without SSE2");

	cr_assert_eq(sip_scan_select(SIP_SCAN_SCALAR), 0);
	cr_assert_eq(sip_scan_select((enum sip_scan_impl)42), -1);
	cr_assert_str_eq(sip_scan_name(), "scalar", "a refused choice changed the scanner");

	const char *best = avx2 ? "avx2" : sse2 ? "sse2" : "scalar";
	cr_assert_str_eq(startup, best, "start-up scanner %s, best offered %s", startup, best);
	cr_assert_eq(sip_scan_select(SIP_SCAN_AUTO), 0);
	cr_assert_str_eq(sip_scan_name(), best);
	cr_log_info("scanners offered: scalar%s%s; auto picks %s", sse2 ? ", sse2" : "",
	            avx2 ? ", avx2" : "", best);
}
