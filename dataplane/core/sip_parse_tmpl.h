/*
 * sip_parse_tmpl.h - the SIP grammar, compiled once per ISA: start line, the
 * headers a load balancer routes on, and RFC 3261 §18.3 framing.
 * Included by sip_parse_{scalar,sse2,avx2}.c after they set SIP_ISA and
 * SIP_PARSE_FN; sip.c picks one at start-up. The SIMD primitives in sip_scan.h
 * find every line feed of the header section 64 octets at a time and classify
 * octets 16 at a time; the grammar reads the start line, each header's name
 * and the values of the headers it extracts, and never the body.
 * Invariant: every read is at an offset below the datagram's length n. A
 * region [i, end) a lexer or header parser gets ends at its line's CR or LF,
 * and i <= end, so p[end] may be read, is <= SP and is in no octet class; the
 * fast paths use that.
 * Defects follow the policy of SIP_VERDICTS (sip.h): a header parser returns
 * its verdict either way, and the line walker returns the drops and records the
 * anomalies (header_anomaly()), so the per-header fast paths are the same for
 * both. A header seen is told by its value span's offset, never 0 for a
 * header (the start line comes first), so a malformed one still makes a second
 * one a duplicate.
 */
#include <stdbool.h>
#include <string.h>

#include <siphon/sph.h>
#include <siphon/sip.h>

#include "sip_scan.h"

/* ------------------------------------------------------------------------ */
/* Small lexers. Each takes [i, end) and returns the index after what it
 * matched; their own reads stay below end (SIMD loads in sip_scan.h below n). */

/* Octets p[0, w) (1 <= w <= 8) packed into an integer, injectively for a given
 * w: two overlapping fixed-size loads, head and tail, rather than a w-octet
 * memcpy the compiler would assemble octet by octet. For a constant w this is
 * one or two plain loads. Only ever compared for equality with another such
 * packing of the same w, so byte order does not matter. */
SIP_INLINE uint64_t
load_upto8(const uint8_t *p, uint32_t w)
{
	uint32_t a, b;
	uint16_t c, d;

	if (w >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + w - 4, 4);
		return a | (uint64_t)b << 32;
	}
	if (w >= 2) {
		memcpy(&c, p, 2);
		memcpy(&d, p + w - 2, 2);
		return c | (uint64_t)d << 16;
	}
	return p[0];
}

/* Case-insensitive compare with a lower-case literal; the |0x20 fold is exact
 * for the letters and '-' our names hold, and no token octet folds onto them.
 * Callers pass a constant n, so this is a word compare or two, not a loop: the
 * fold applies to every octet of both words at once, which is the per-octet
 * test (p[k] | 0x20) == lit[k] since every literal octet has 0x20 set. */
SIP_INLINE bool
ieq(const uint8_t *p, const char *lit, uint32_t n)
{
	const uint64_t fold = 0x2020202020202020u;
	uint64_t diff = 0;

	for (uint32_t k = 0; k < n; k += 8) {
		uint32_t w = n - k < 8 ? n - k : 8;
		diff |= (load_upto8(p + k, w) | fold) ^
		        (load_upto8((const uint8_t *)lit + k, w) | fold);
	}
	return diff == 0;
}

/* Linear white space inside a header region: SP, HT and folds. Within a region
 * every LF is a fold (the walker joined only lines that start with SP/HT). */
SIP_INLINE uint32_t
skip_lws(const uint8_t *p, uint32_t i, uint32_t end)
{
	/* The common cases: no white space at all, or one SP. p[end] is a CR
	 * or LF (see the file comment), so neither needs a bounds test. */
	if (p[i] > ' ')
		return i;
	if (p[i] == ' ' && p[i + 1] > ' ')
		return i + 1;
	while (i < end) {
		uint8_t c = p[i];
		if (c > ' ')
			break;
		if (c == ' ' || c == '\t' || c == '\n')
			i++;
		else if (c == '\r' && i + 1 < end && p[i + 1] == '\n')
			i += 2;
		else
			break;
	}
	return i;
}

/* quoted-string starting at the DQUOTE at i; NONE when unterminated. A
 * quoted-pair may escape any octet but CR and LF (§25.1). Only '"' and '\\'
 * matter, so the octets between are skipped many at a time. */
#if SIP_ISA == SIP_ISA_SCALAR
static SIP_TARGET uint32_t
#else /* inlined, the SIMD builds keep their constants across it */
SIP_INLINE uint32_t
#endif
skip_quoted(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end)
{
	for (i++;; i += 2) {
		i = find_any3(p, n, i, end, '"', '\\', '\\');
		if (i == end)
			return NONE;
		if (p[i] == '"')
			return i + 1;
		if (i + 1 >= end || p[i + 1] == '\r' || p[i + 1] == '\n')
			return NONE;
	}
}

/* Decimal number, leading zeros allowed; *ok false on no digit or above max
 * (the returned index is then of no use, and no caller uses it). */
SIP_INLINE uint32_t
parse_uint(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, uint64_t max, uint64_t *val,
           bool *ok)
{
	uint32_t s = i;
	uint64_t v = 0;

#if SIP_ISA != SIP_ISA_SCALAR
	/* 1 to 7 digits, which is nearly every number here, in one 8-octet word
	 * rather than a multiply and a test per digit; the scalar build keeps the
	 * loop below as the reference. d holds each octet minus '0': a digit
	 * borrows nothing, so up to the first non-digit every octet of d is
	 * exact, and that octet is the first >= 10 (bit 7 of d + 0x76, or of d
	 * itself from 0x80 up). The value only grows with each digit, so "above
	 * max" at the end is "above max" at some digit. */
	if (i + 8 <= n) {
		const uint64_t ones = 0x0101010101010101u;
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t d = w - ones * '0';
		uint64_t stop = ((d + ones * 0x76) | d) & ones * 0x80;
		if (stop != 0) {
			uint32_t k = (uint32_t)__builtin_ctzll(stop) >> 3;
			if (k == 0) {
				*ok = false;
				return i;
			}
			if (i + k <= end) {
				/* Digits to the top octets, zeros (leading zeros) below;
				 * then pairs, quads and octets of digits combined. Up to
				 * four digits (ports, CSeq numbers, lengths) in a 32-bit
				 * word: two steps, and masks that fit an instruction. */
				uint64_t x;
				if (k <= 4) {
					uint32_t y = (uint32_t)d << (8 * (4 - k));
					y = (y * 10 + (y >> 8)) & 0x00ff00ffu;
					x = (y * 100 + (y >> 16)) & 0xffffu;
				} else {
					x = d << (8 * (8 - k));
					x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffu;
					x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffu;
					x = (x * 10000 + (x >> 32)) & 0xffffffffu;
				}
				*ok = x <= max;
				*val = x;
				return i + k;
			}
		}
	}
#else
	(void)n;
#endif

	while (i < end && (uint8_t)(p[i] - '0') < 10) { /* CC_DIGIT is exactly 0-9 */
		v = v * 10 + (p[i] - '0');
		if (v > max) {
			*ok = false;
			return i;
		}
		i++;
	}
	*ok = i > s;
	*val = v;
	return i;
}

static inline SIP_TARGET struct sip_span
span(uint32_t s, uint32_t e)
{
	return (struct sip_span){.off = (uint16_t)s, .len = (uint16_t)(e - s)};
}

/* parse_version() below for everything but the common spelling. */
static SIP_TARGET uint32_t
parse_version_slow(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, enum sip_verdict *v)
{
	/* '/' compares exactly, as in parse_version(). */
	if (end - i < 4 || !ieq(p + i, "sip", 3) || p[i + 3] != '/') {
		*v = SIP_BAD_START_LINE;
		return NONE;
	}
	uint32_t s = i + 4;
	uint32_t d1 = class_end(p, n, s, end, CC_DIGIT);
	if (d1 == s || d1 >= end || p[d1] != '.') {
		*v = SIP_BAD_START_LINE;
		return NONE;
	}
	uint32_t d2 = class_end(p, n, d1 + 1, end, CC_DIGIT);
	if (d2 == d1 + 1) {
		*v = SIP_BAD_START_LINE;
		return NONE;
	}
	if (d2 - s != 3 || p[s] != '2' || p[s + 2] != '0') {
		*v = SIP_BAD_VERSION;
		return NONE;
	}
	return d2;
}

/* SIP-Version "SIP/2.0" (case-insensitive literal, §7.1). Returns the index
 * after it, or NONE with *v set to the reason. The fast path is inlined into
 * both start lines, as a call and its register saves cost more than it does. */
SIP_INLINE uint32_t
parse_version(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, enum sip_verdict *v)
{
	/* What nearly every message has: "SIP/2.0" (letters in any case) not
	 * followed by a digit, which the general path accepts with the same
	 * result. Two overlapping 4-octet loads; '/' compares exactly (0x0f |
	 * 0x20 would fold onto it). */
	if (end - i >= 7) {
		static const uint8_t lit[8] = {'s', 'i', 'p', '/', '2', '.', '0', 0};
		static const uint8_t fold[4] = {0x20, 0x20, 0x20, 0};
		uint32_t a, b, la, lb, f;
		memcpy(&a, p + i, 4);
		memcpy(&b, p + i + 3, 4);
		memcpy(&la, lit, 4);
		memcpy(&lb, lit + 3, 4);
		memcpy(&f, fold, 4);
		if ((a | f) == la && b == lb && (i + 7 == end || (uint8_t)(p[i + 7] - '0') >= 10))
			return i + 7;
	}
	return parse_version_slow(p, n, i, end, v);
}

/* ------------------------------------------------------------------------ */
/* Line walker: line feeds come from the scanner one 64-octet block at a time,
 * so the header section is scanned once and the body not at all. */

struct lf_iter {
	const uint8_t *p;
	uint32_t len;
	uint32_t base; /* offset of the block mask describes */
	uint64_t mask; /* line feeds of that block not yet taken */
};

SIP_INLINE void
lf_init(struct lf_iter *it, const uint8_t *p, uint32_t len, uint32_t from)
{
	uint32_t n = len - from < 64 ? len - from : 64;

	it->p = p;
	it->len = len;
	it->base = from;
	it->mask = lf_mask_back(p + from, n, from);
}

/* lf_refill() from the block at it->base on, where fewer than 64 octets may be left. */
static inline SIP_TARGET bool
lf_refill_tail(struct lf_iter *it)
{
	while (it->mask == 0) {
		it->base += 64;
		if (it->base >= it->len)
			return false;
		uint32_t n = it->len - it->base < 64 ? it->len - it->base : 64;
		it->mask = lf_mask_back(it->p + it->base, n, it->base);
	}
	return true;
}

/* Loads the masks of the blocks after the current one until one holds a line
 * feed; false at the end of the datagram. Off the per-line path. */
static inline SIP_TARGET bool
lf_refill(struct lf_iter *it)
{
#if SIP_ISA >= SIP_ISA_SSE2
	/* Whole blocks, the common case, with the block's offset in a register and
	 * no length arithmetic: the short last block is lf_refill_tail()'s. */
	uint32_t b = it->base;
	uint64_t m;
	do {
		b += 64;
		if (SPH_UNLIKELY(b + 64 > it->len)) {
			it->base = b - 64;
			return lf_refill_tail(it);
		}
		m = lf_mask64(it->p + b);
	} while (m == 0);
	it->base = b;
	it->mask = m;
	return true;
#else
	return lf_refill_tail(it);
#endif
}

/* Offset of the next line feed, or NONE at the end of the datagram. */
SIP_INLINE uint32_t
lf_next(struct lf_iter *it)
{
	if (SPH_UNLIKELY(it->mask == 0) && !lf_refill(it))
		return NONE;
	uint32_t off = it->base + (uint32_t)__builtin_ctzll(it->mask);
	it->mask &= it->mask - 1;
	return off;
}

/* lf_next() once the caller has made sure a line feed is left (mask != 0 or
 * lf_refill() true), so the hot loop does not test for NONE. */
SIP_INLINE uint32_t
lf_take(struct lf_iter *it)
{
	uint32_t off = it->base + (uint32_t)__builtin_ctzll(it->mask);
	it->mask &= it->mask - 1;
	return off;
}

/* ------------------------------------------------------------------------ */
/* Start line */

static SIP_TARGET enum sip_verdict
parse_status_line(const uint8_t *p, uint32_t n, uint32_t i, uint32_t e, struct sip_msg *m)
{
	enum sip_verdict v;

	i = parse_version(p, n, i, e, &v);
	if (i == NONE)
		return v;
	if (i >= e || p[i] != ' ')
		return SIP_BAD_START_LINE;
	i++;
	uint32_t d = class_end(p, n, i, e, CC_DIGIT);
	if (d - i != 3 || (d < e && p[d] != ' '))
		return d == i ? SIP_BAD_START_LINE : SIP_BAD_STATUS;
	uint32_t code = (p[i] - '0') * 100u + (p[i + 1] - '0') * 10u + (p[i + 2] - '0');
	if (code < 100 || code > 699)
		return SIP_BAD_STATUS;
	/* The SP before an empty reason is required, but its absence is harmless
	 * to a forwarder, so "SIP/2.0 100" CRLF passes as an empty reason. */
	uint32_t r = d < e ? d + 1 : e;
	uint32_t k = r;
#if SIP_ISA >= SIP_ISA_SSE2
	/* The first control octet other than HT, 16 octets a step: the line's
	 * CR or LF at e is one, so the reason is clean when that is at e. */
	const __m128i c1f = _mm_set1_epi8(0x1f), ht = _mm_set1_epi8('\t');
	while (k + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
		__m128i ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, ht),
		                               _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
		uint32_t c = (uint32_t)_mm_movemask_epi8(ctl);
		if (c != 0) {
			if (k + (uint32_t)__builtin_ctz(c) < e)
				return SIP_BAD_START_LINE;
			k = e;
			break;
		}
		k += 16;
	}
#endif
	for (; k < e; k++)
		if (p[k] < 0x20 && p[k] != '\t')
			return SIP_BAD_START_LINE;
	m->kind = SIP_RESPONSE;
	m->status = (uint16_t)code;
	m->reason = span(r, e);
	return SIP_OK;
}

static SIP_TARGET enum sip_verdict
parse_request_line(const uint8_t *p, uint32_t n, uint32_t i, uint32_t e, struct sip_msg *m)
{
	enum sip_verdict v;
	uint32_t s = i;

	i = class_end(p, n, i, e, CC_TOKEN);
	if (i == s || i >= e || p[i] != ' ')
		return SIP_BAD_START_LINE;
	m->method_name = span(s, i);
	i++;
	/* Exactly one SP between elements (§7.1); extra spaces are rejected, not
	 * repaired, since siphon forwards the bytes it was given. */
	if (i >= e || p[i] == ' ')
		return SIP_BAD_START_LINE;
	s = i;
	if ((p[i] | 0x20) < 'a' || (p[i] | 0x20) > 'z') /* scheme = ALPHA *(...) */
		return SIP_BAD_REQUEST_URI;
	i = class_end(p, n, i, e, CC_SCHEME);
	if (i >= e || p[i] != ':')
		return SIP_BAD_REQUEST_URI;
	i = class_end(p, n, i, e, CC_URI);
	if (i >= e || p[i] != ' ')
		return i < e && p[i] != '\t' ? SIP_BAD_REQUEST_URI : SIP_BAD_START_LINE;
	m->uri = span(s, i);
	i++;
	i = parse_version(p, n, i, e, &v);
	if (i == NONE)
		return v;
	if (i != e)
		return SIP_BAD_START_LINE;
	m->kind = SIP_REQUEST;
	m->method = (uint8_t)sip_method_lookup(p + m->method_name.off, m->method_name.len);
	return SIP_OK;
}

/* ------------------------------------------------------------------------ */
/* Header values. Each parser gets the value region [i, end) after the colon,
 * folds included, trailing CRLF excluded. */

static SIP_TARGET enum sip_verdict
parse_call_id(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	if (m->call_id.len != 0)
		return SIP_DUP_CALL_ID;
	i = skip_lws(p, i, end);
	uint32_t s = i;
	i = class_end(p, n, i, end, CC_WORD);
	if (i == s || skip_lws(p, i, end) != end)
		return SIP_BAD_CALL_ID;
	m->call_id = span(s, i);
	return SIP_OK;
}

SIP_INLINE enum sip_verdict
parse_cseq(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	uint64_t num;
	bool ok;

	if (m->cseq_num.off != 0)
		return SIP_DUP_CSEQ;
	i = skip_lws(p, i, end);
	uint32_t s = i;
	i = parse_uint(p, n, i, end, UINT32_MAX, &num, &ok);
	if (!ok)
		return SIP_BAD_CSEQ;
	uint32_t ns = i;
	i = skip_lws(p, i, end);
	uint32_t ms = i;
	if (ms == ns)
		return SIP_BAD_CSEQ;
	i = class_end(p, n, i, end, CC_TOKEN);
	if (i == ms || skip_lws(p, i, end) != end)
		return SIP_BAD_CSEQ;
	m->cseq = (uint32_t)num;
	m->cseq_num = span(s, ns);
	m->cseq_name = span(ms, i);
	m->cseq_method = (uint8_t)sip_method_lookup(p + ms, i - ms);
	return SIP_OK;
}

static SIP_TARGET enum sip_verdict
parse_content_length(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	uint64_t num;
	bool ok;

	if (m->flags & SIP_F_CONTENT_LENGTH)
		return SIP_DUP_CONTENT_LENGTH;
	i = skip_lws(p, i, end);
	i = parse_uint(p, n, i, end, UINT32_MAX, &num, &ok);
	if (!ok || skip_lws(p, i, end) != end)
		return SIP_BAD_CONTENT_LENGTH;
	m->content_length = (uint32_t)num;
	m->flags |= SIP_F_CONTENT_LENGTH;
	return SIP_OK;
}

static SIP_TARGET enum sip_verdict
parse_max_forwards(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	uint64_t num;
	bool ok;

	if (m->flags & (SIP_F_MAX_FORWARDS | SIP_F_MAX_FORWARDS_BAD))
		return SIP_DUP_MAX_FORWARDS;
	i = skip_lws(p, i, end);
	i = parse_uint(p, n, i, end, 255, &num, &ok);
	if (!ok || skip_lws(p, i, end) != end)
		return SIP_BAD_MAX_FORWARDS;
	m->max_forwards = (uint8_t)num;
	m->flags |= SIP_F_MAX_FORWARDS;
	return SIP_OK;
}

/* ";" name [ "=" value ] parameters up to end or a ',' (returned index), as in
 * via-params, from-param and to-param. Calls back for each name=value so the
 * caller picks what it wants; NONE on a malformed parameter. */
struct param_sink {
	struct sip_msg *m;
	bool via; /* Via (branch/received/rport) or From/To (tag) */
	struct sip_span *tag;
};

SIP_INLINE void
param_take(const uint8_t *p, uint32_t ns, uint32_t ne, uint32_t vs, uint32_t ve, bool has_val,
           struct param_sink *k)
{
	if (!k->via) {
		if (ne - ns == 3 && has_val && ieq(p + ns, "tag", 3))
			*k->tag = span(vs, ve);
		return;
	}
	switch (ne - ns) {
	case 6:
		if (has_val && ieq(p + ns, "branch", 6))
			k->m->via_branch = span(vs, ve);
		break;
	case 8:
		if (has_val && ieq(p + ns, "received", 8))
			k->m->via_received = span(vs, ve);
		break;
	case 5:
		if (ieq(p + ns, "rport", 5)) {
			k->m->flags |= SIP_F_VIA_RPORT;
			k->m->via_rport = has_val ? span(vs, ve) : span(vs, vs);
		}
		break;
	}
}

SIP_INLINE uint32_t
parse_params(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct param_sink *k)
{
	for (;;) {
		i = skip_lws(p, i, end);
		if (i == end || p[i] == ',')
			return i;
		if (p[i] != ';')
			return NONE;
#if SIP_ISA == SIP_ISA_AVX2
		/* What nearly every parameter is: a name, then '=' and a bare value or
		 * nothing, no white space, the name and the value's start within 32
		 * octets. One classification of those octets gives both ends; the
		 * octet after the region is in no class, so neither needs a clamp to
		 * end. Anything else is left to the general walk below, from the ';',
		 * which would take this shape the same way. */
		uint32_t q = i + 1;
		if (SPH_LIKELY(q + 32 <= n) && p[q] > ' ') {
			uint32_t tm, pm;
			class_miss32x2(p + q, CC_TOKEN, CC_PVAL, &tm, &pm);
			uint32_t nl = tm != 0 ? (uint32_t)__builtin_ctz(tm) : 0;
			uint32_t fe = q + nl;
			if (nl != 0 && nl < 31 && p[fe] == '=' && p[fe + 1] > ' ' &&
			    p[fe + 1] != '"') {
				uint32_t vs = fe + 1, rest = pm >> (nl + 1);
				uint32_t ve = rest != 0 ? vs + (uint32_t)__builtin_ctz(rest)
				                        : class_end(p, n, q + 32, end, CC_PVAL);
				if (ve != vs) {
					param_take(p, q, fe, vs, ve, true, k);
					i = ve;
					continue;
				}
			} else if (nl != 0 && (p[fe] > ' ' || fe == end) && p[fe] != '=') {
				param_take(p, q, fe, fe, fe, false, k);
				i = fe;
				continue;
			}
		}
#endif
		i = skip_lws(p, i + 1, end);
		uint32_t ns = i;
		i = class_end(p, n, i, end, CC_TOKEN);
		if (i == ns)
			return NONE;
		uint32_t ne = i;
		uint32_t vs = i, ve = i;
		bool has_val = false;
		i = skip_lws(p, i, end);
		if (p[i] == '=') {
			i = skip_lws(p, i + 1, end);
			vs = i;
			if (p[i] == '"')
				i = skip_quoted(p, n, i, end);
			else
				i = class_end(p, n, i, end, CC_PVAL);
			if (i == NONE || i == vs)
				return NONE;
			ve = i;
			has_val = true;
		} else {
			i = ne;
		}
		param_take(p, ns, ne, vs, ve, has_val, k);
	}
}

/* Values after the first in a comma list: counts them, rejecting empty ones.
 * i is at the ',' that ended the first value. A value is empty when it holds
 * only SP, HT, CR and LF; past its first other octet only ',' (the next value)
 * and '"' (a quoted string, which may hold commas) matter, so those two are
 * searched for many octets at a time. Counts and rejects at the same octet as
 * an octet-by-octet walk would, so *count ends the same on either outcome. */
static SIP_TARGET uint32_t
count_more_values(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, uint16_t *count)
{
	for (i++;; i++) {
		while (i < end && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
			i++;
		if (i == end || p[i] == ',')
			return NONE;
		for (;;) {
			i = find_any3(p, n, i, end, ',', '"', '"');
			if (i == end) {
				(*count)++;
				return end;
			}
			if (p[i] == ',')
				break;
			i = skip_quoted(p, n, i, end);
			if (i == NONE)
				return NONE;
		}
		(*count)++; /* i is at the ',' that ends a non-empty value */
	}
}

/* enum sip_transport of a transport token (case-insensitive). */
SIP_INLINE uint8_t
transport_of(const uint8_t *p, uint32_t len)
{
	switch (len) {
	case 2:
		return ieq(p, "ws", 2) ? SIP_TRANSPORT_WS : SIP_TRANSPORT_OTHER;
	case 3:
		if (ieq(p, "udp", 3))
			return SIP_TRANSPORT_UDP;
		if (ieq(p, "tcp", 3))
			return SIP_TRANSPORT_TCP;
		if (ieq(p, "tls", 3))
			return SIP_TRANSPORT_TLS;
		if (ieq(p, "wss", 3))
			return SIP_TRANSPORT_WSS;
		return SIP_TRANSPORT_OTHER;
	case 4:
		return ieq(p, "sctp", 4) ? SIP_TRANSPORT_SCTP : SIP_TRANSPORT_OTHER;
	}
	return SIP_TRANSPORT_OTHER;
}

/* SWS "/" SWS between the parts of sent-protocol. */
SIP_INLINE uint32_t
skip_slash(const uint8_t *p, uint32_t i, uint32_t end)
{
	i = skip_lws(p, i, end);
	if (p[i] != '/')
		return NONE;
	return skip_lws(p, i + 1, end);
}

/* The top Via value: sent-protocol LWS sent-by *(SEMI via-params). */
static SIP_TARGET enum sip_verdict
parse_top_via(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	i = skip_lws(p, i, end);
	uint32_t vstart = i;
	uint32_t s = i;
	/* Fast path for what nearly every Via has: "SIP/2.0/" with no white
	 * space inside (letters in any case, the rest exact, as the general
	 * path compares them), then often "UDP ". One 8-octet and one 4-octet
	 * compare; otherwise the transport is read as the general path reads
	 * it (SWS first), so both paths give the same spans and verdicts. */
	static const uint8_t lit[12] = {'s', 'i', 'p', '/', '2', '.', '0', '/', 'u', 'd', 'p', ' '};
	static const uint8_t fold[12] = {0x20, 0x20, 0x20, 0, 0, 0, 0, 0, 0x20, 0x20, 0x20, 0};
	uint64_t w8 = 0, l8, f8;
	uint32_t w4, l4, f4;
	memcpy(&l8, lit, 8);
	memcpy(&f8, fold, 8);
	if (end - i >= 12)
		memcpy(&w8, p + i, 8);
	if ((w8 | f8) == l8) { /* w8 = 0 never matches */
		s = i + 8;
		memcpy(&w4, p + s, 4);
		memcpy(&l4, lit + 8, 4);
		memcpy(&f4, fold + 8, 4);
		if ((w4 | f4) == l4) {
			i = s + 3;
			m->via_transport = SIP_TRANSPORT_UDP;
		} else {
			s = skip_lws(p, s, end); /* SWS after the '/' */
			i = class_end(p, n, s, end, CC_TOKEN);
			if (i == s)
				return SIP_BAD_VIA;
			m->via_transport = transport_of(p + s, i - s);
		}
		m->via_proto = span(s, i);
	} else {
		i = class_end(p, n, i, end, CC_TOKEN);
		if (i - s != 3 || !ieq(p + s, "sip", 3))
			return SIP_BAD_VIA;
		if ((i = skip_slash(p, i, end)) == NONE)
			return SIP_BAD_VIA;
		s = i;
		i = class_end(p, n, i, end, CC_TOKEN);
		if (i - s != 3 || p[s] != '2' || p[s + 1] != '.' || p[s + 2] != '0')
			return SIP_BAD_VIA;
		if ((i = skip_slash(p, i, end)) == NONE)
			return SIP_BAD_VIA;
		s = i;
		i = class_end(p, n, i, end, CC_TOKEN);
		if (i == s)
			return SIP_BAD_VIA;
		m->via_proto = span(s, i);
		m->via_transport = transport_of(p + s, i - s);
	}
	s = i;
	i = skip_lws(p, i, end);
	if (i == s || i >= end)
		return SIP_BAD_VIA;

	/* sent-by = host [ COLON port ] */
	if (p[i] == '[') {
		s = ++i;
		i = class_end(p, n, i, end, CC_HOST6);
		if (i == s || i >= end || p[i] != ']')
			return SIP_BAD_VIA;
		m->via_host = span(s, i);
		m->flags |= SIP_F_VIA_IPV6;
		i++;
	} else {
		s = i;
		i = class_end(p, n, i, end, CC_HOST);
		if (i == s)
			return SIP_BAD_VIA;
		m->via_host = span(s, i);
	}
	uint32_t j = skip_lws(p, i, end);
	if (p[j] == ':') {
		uint64_t port;
		bool ok;
		i = parse_uint(p, n, skip_lws(p, j + 1, end), end, 65535, &port, &ok);
		if (!ok || port == 0)
			return SIP_BAD_VIA;
		m->via_port = (uint16_t)port;
	}

	struct param_sink k = {.m = m, .via = true};
	i = parse_params(p, n, i, end, &k);
	if (i == NONE)
		return SIP_BAD_VIA;
	uint32_t vend = i;
	while (vend > vstart && (p[vend - 1] == ' ' || p[vend - 1] == '\t' || p[vend - 1] == '\r' ||
	                         p[vend - 1] == '\n'))
		vend--;
	m->via = span(vstart, vend);
	m->via_count = 1;
	if (i < end && count_more_values(p, n, i, end, &m->via_count) == NONE)
		return SIP_BAD_VIA;
	return SIP_OK;
}

static SIP_TARGET enum sip_verdict
parse_via(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	if (m->via_count == 0)
		return parse_top_via(p, n, i, end, m);
	/* A later Via header: only its values are counted. Treat the region as
	 * following a ',' so an empty header is an empty value. */
	if (count_more_values(p, n, i - 1, end, &m->via_count) == NONE)
		return SIP_BAD_VIA;
	return SIP_OK;
}

/* from-spec / to-spec: ( name-addr / addr-spec ) *( SEMI param ). Fills the
 * whole value and the tag; false when malformed. */
SIP_INLINE bool
parse_addr(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_span *val,
           struct sip_span *tag)
{
	i = skip_lws(p, i, end);
	uint32_t s = i;
	if (i >= end)
		return false;
	if (p[i] == '"') {
		i = skip_quoted(p, n, i, end);
		if (i == NONE)
			return false;
		i = skip_lws(p, i, end);
		if (p[i] != '<')
			return false;
	} else if (p[i] != '<') { /* a bare '<' is the common case */
		/* token display name before '<', or an addr-spec whose parameters
		 * start at the first ';' (§20.10: then they are header params). */
		i = find_any3(p, n, i, end, '<', ';', '"');
		if (p[i] == '"')
			return false;
	}
	if (p[i] == '<') {
		i = find_byte(p, n, i, end, '>');
		if (i == NONE)
			return false;
		i++;
	} else {
		uint32_t e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e == s)
			return false;
	}
	struct param_sink k = {.via = false, .tag = tag};
	uint32_t e = parse_params(p, n, i, end, &k);
	if (e != end)
		return false;
	while (e > s &&
	       (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r' || p[e - 1] == '\n'))
		e--;
	*val = span(s, e);
	return true;
}

/* From and To share one parse_addr() site, so it inlines into the line walker
 * once rather than being called (or copied) twice. */
SIP_INLINE enum sip_verdict
parse_from_to(bool to, const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	struct sip_span *val = to ? &m->to : &m->from;
	struct sip_span *tag = to ? &m->to_tag : &m->from_tag;

	if (val->off != 0)
		return to ? SIP_DUP_TO : SIP_DUP_FROM;
	if (parse_addr(p, n, i, end, val, tag))
		return SIP_OK;
	return to ? SIP_BAD_TO : SIP_BAD_FROM;
}

/* First value of the first Route header: up to a ',' outside quotes and <>. */
static SIP_TARGET enum sip_verdict
parse_route(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, struct sip_msg *m)
{
	if (m->route.off != 0)
		return SIP_OK;
	i = skip_lws(p, i, end);
	uint32_t s = i;
	/* Only ',', '"' and '<' change the walk; the octets between are skipped
	 * many at a time. */
	while ((i = find_any3(p, n, i, end, ',', '"', '<')) < end && p[i] != ',') {
		if (p[i] == '"') {
			i = skip_quoted(p, n, i, end);
			if (i == NONE)
				return SIP_BAD_ROUTE;
		} else {
			i = find_byte(p, n, i, end, '>');
			if (i == NONE)
				return SIP_BAD_ROUTE;
			i++;
		}
	}
	while (i > s &&
	       (p[i - 1] == ' ' || p[i - 1] == '\t' || p[i - 1] == '\r' || p[i - 1] == '\n'))
		i--;
	if (i == s)
		return SIP_BAD_ROUTE;
	m->route = span(s, i);
	return SIP_OK;
}

/* Headers siphon reads. An id and a switch rather than a table of function
 * pointers, so the value parsers inline into the line walker. */
enum hdr_id {
	HDR_OTHER = 0,
	HDR_CALL_ID,
	HDR_CSEQ,
	HDR_VIA,
	HDR_FROM,
	HDR_TO,
	HDR_ROUTE,
	HDR_MAX_FORWARDS,
	HDR_CONTENT_LENGTH,
	HDR_USER_AGENT, /* SIP_RULE_FIELDS only: the value region is kept, not parsed */
	HDR_SERVER,
	HDR_CONTACT,
};

/* The header a name stands for, HDR_OTHER for one siphon does not read.
 * Names compare case-insensitively (§7.3.1); compact forms per §7.3.3. Built with
 * SIP_RULE_FIELDS (the _rf scanners: sip_parse_rf()) it also knows the headers only
 * rules read; without, it costs nothing for them. */
SIP_INLINE enum hdr_id
header_of(const uint8_t *p, uint32_t n)
{
	uint8_t c = p[0] | 0x20;

	switch (n) {
	case 1:
		switch (c) {
		case 'i':
			return HDR_CALL_ID;
		case 'v':
			return HDR_VIA;
		case 'f':
			return HDR_FROM;
		case 't':
			return HDR_TO;
		case 'l':
			return HDR_CONTENT_LENGTH;
#ifdef SIP_RULE_FIELDS
		case 'm':
			return HDR_CONTACT;
#endif
		}
		return HDR_OTHER;
	case 2:
		return ieq(p, "to", 2) ? HDR_TO : HDR_OTHER;
	case 3:
		return ieq(p, "via", 3) ? HDR_VIA : HDR_OTHER;
	case 4:
		if (c == 'c')
			return ieq(p, "cseq", 4) ? HDR_CSEQ : HDR_OTHER;
		return ieq(p, "from", 4) ? HDR_FROM : HDR_OTHER;
	case 5:
		return ieq(p, "route", 5) ? HDR_ROUTE : HDR_OTHER;
#ifdef SIP_RULE_FIELDS
	case 6:
		return ieq(p, "server", 6) ? HDR_SERVER : HDR_OTHER;
	case 10:
		return ieq(p, "user-agent", 10) ? HDR_USER_AGENT : HDR_OTHER;
	case 7:
		if ((p[1] | 0x20) == 'o')
			return ieq(p, "contact", 7) ? HDR_CONTACT : HDR_OTHER;
		return ieq(p, "call-id", 7) ? HDR_CALL_ID : HDR_OTHER;
#else
	case 7:
		return ieq(p, "call-id", 7) ? HDR_CALL_ID : HDR_OTHER;
#endif
	case 12:
		return ieq(p, "max-forwards", 12) ? HDR_MAX_FORWARDS : HDR_OTHER;
	case 14:
		return ieq(p, "content-length", 14) ? HDR_CONTENT_LENGTH : HDR_OTHER;
	}
	return HDR_OTHER;
}

/* Parses the value region [i, end) of a header header_of() named. */
SIP_INLINE enum sip_verdict
parse_header(enum hdr_id h, const uint8_t *p, uint32_t n, uint32_t i, uint32_t end,
             struct sip_msg *m)
{
	switch (h) {
	case HDR_CALL_ID:
		return parse_call_id(p, n, i, end, m);
	case HDR_CSEQ:
		return parse_cseq(p, n, i, end, m);
	case HDR_VIA:
		return parse_via(p, n, i, end, m);
	case HDR_FROM:
	case HDR_TO:
		return parse_from_to(h == HDR_TO, p, n, i, end, m);
	case HDR_ROUTE:
		return parse_route(p, n, i, end, m);
	case HDR_MAX_FORWARDS:
		return parse_max_forwards(p, n, i, end, m);
	case HDR_CONTENT_LENGTH:
		return parse_content_length(p, n, i, end, m);
#ifdef SIP_RULE_FIELDS
	case HDR_USER_AGENT: /* a User-Agent wins over a Server, the first over later ones */
		if (m->user_agent.off == 0 || (m->flags & SIP_F_UA_SERVER)) {
			m->user_agent = span(i, end);
			m->flags &= (uint8_t)~SIP_F_UA_SERVER;
		}
		break;
	case HDR_SERVER:
		if (m->user_agent.off == 0) {
			m->user_agent = span(i, end);
			m->flags |= SIP_F_UA_SERVER;
		}
		break;
	case HDR_CONTACT:
		if (m->contact.off == 0)
			m->contact = span(i, end);
		break;
#else
	case HDR_USER_AGENT:
	case HDR_SERVER:
	case HDR_CONTACT:
#endif
	case HDR_OTHER:
		break;
	}
	return SIP_OK;
}

/* The value region [i, end) without its leading and trailing white space. */
static SIP_TARGET struct sip_span
trimmed(const uint8_t *p, uint32_t i, uint32_t end)
{
	i = skip_lws(p, i, end);
	while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t' || p[end - 1] == '\r' ||
	                   p[end - 1] == '\n'))
		end--;
	return span(i, end);
}

/*
 * A header parser returned anomaly v for the value region [i, end): record it, and leave
 * the header's fields as sip.h says (its parts absent, the header marked as seen so that
 * another one is a duplicate). Out of line: clean messages never come here.
 */
static __attribute__((noinline, cold)) SIP_TARGET void
header_anomaly(enum hdr_id h, enum sip_verdict v, const uint8_t *p, uint32_t i, uint32_t end,
               struct sip_msg *m)
{
	m->anomalies |= SIP_ANOMALY_BIT(v);
	switch (v) {
	case SIP_BAD_CSEQ: /* parse_cseq() wrote nothing */
		m->cseq_num = span(i, i);
		break;
	case SIP_BAD_VIA:
		/* A later value or header: the top one stays as parsed, the count as far as
		 * it got. The top value itself: none of its parts can be trusted. */
		if (m->via_count != 0)
			break;
		m->via = trimmed(p, i, end);
		m->via_proto = m->via_host = m->via_branch = m->via_received = m->via_rport =
		        (struct sip_span){0, 0};
		m->via_port = 0;
		m->via_transport = SIP_TRANSPORT_OTHER;
		m->flags &= (uint8_t) ~(SIP_F_VIA_RPORT | SIP_F_VIA_IPV6);
		m->via_count = 1;
		break;
	case SIP_BAD_FROM:
	case SIP_BAD_TO: /* the value as written; the tag as read before the defect */
		if (h == HDR_TO)
			m->to = trimmed(p, i, end);
		else
			m->from = trimmed(p, i, end);
		break;
	case SIP_BAD_MAX_FORWARDS:
		m->flags |= SIP_F_MAX_FORWARDS_BAD; /* seen, for the duplicate check */
		break;
	case SIP_BAD_ROUTE:
		m->route = span(i, i);
		break;
	default: /* duplicates keep the first header; a mismatch is found at the end */
		break;
	}
}

/* ------------------------------------------------------------------------ */

SIP_TARGET enum sip_verdict
SIP_PARSE_FN(const uint8_t *buf, size_t len, struct sip_msg *m)
{
#if SIP_ISA == SIP_ISA_AVX2
	/* Four 32-octet stores (the last overlapping the third) rather than
	 * the rep stos the compiler picks for this memset(), whose start-up
	 * costs more than the stores do. */
	{
		_Static_assert(sizeof(*m) > 96 && sizeof(*m) <= 128, "four 32-octet stores");
		uint8_t *d = (uint8_t *)m;
		const __m256i z = _mm256_setzero_si256();
		_mm256_storeu_si256((__m256i *)(void *)d, z);
		_mm256_storeu_si256((__m256i *)(void *)(d + 32), z);
		_mm256_storeu_si256((__m256i *)(void *)(d + 64), z);
		_mm256_storeu_si256((__m256i *)(void *)(d + sizeof(*m) - 32), z);
	}
#else
	memset(m, 0, sizeof(*m));
#endif
	if (len > SIP_MAX_MSG)
		return SIP_OVERSIZE;
	const uint8_t *p = buf;
	uint32_t n = (uint32_t)len;

	/* CRLFs before the start line are ignored (§7.5); only CRLFs is a
	 * keep-alive (RFC 5626 §3.5.1). */
	uint32_t s = 0;
	while (s < n && (p[s] == '\r' || p[s] == '\n'))
		s++;
	if (s == n)
		return n == 0 ? SIP_BAD_START_LINE : SIP_KEEPALIVE;

	struct lf_iter it;
	lf_init(&it, p, n, s);
	uint32_t lf = lf_next(&it);
	if (lf == NONE)
		return SIP_BAD_START_LINE;
	uint32_t e = lf > s && p[lf - 1] == '\r' ? lf - 1 : lf;
	enum sip_verdict v;
	if (e - s >= 4 && ieq(p + s, "sip", 3) && p[s + 3] == '/')
		v = parse_status_line(p, n, s, e, m);
	else
		v = parse_request_line(p, n, s, e, m);
	if (v != SIP_OK)
		return v;

	/* Header lines. A header's value runs on over the lines that start with
	 * SP or HT (§7.3.1); the empty line ends the section. */
	uint32_t ls = lf + 1;
	for (;;) {
		if (SPH_UNLIKELY(it.mask == 0) && !lf_refill(&it))
			return SIP_UNTERMINATED;
		lf = lf_take(&it);
		/* p[ls - 1] is the previous line's LF, so an empty line (lf == ls)
		 * needs no test of its own before looking at p[lf - 1]. */
		e = p[lf - 1] == '\r' ? lf - 1 : lf;
		if (e == ls)
			break;
		uint32_t i;
#if SIP_ISA == SIP_ISA_AVX2
		/* A name nearly always ends within 32 octets, and always by the
		 * line's CR or LF (in no class), so one step finds its end with
		 * neither a loop nor a clamp to e. */
		uint32_t miss;
		if (SPH_LIKELY(ls + 32 <= n) && (miss = class_miss32(p + ls, CC_TOKEN)) != 0)
			i = ls + (uint32_t)__builtin_ctz(miss);
		else
#endif
			i = class_end(p, n, ls, e, CC_TOKEN);
		uint32_t ne = i;
		if (i == ls)
			return SIP_BAD_HEADER;
		/* Usually the colon follows the name. At i == e, p[i] is the CR or
		 * LF ending the line, so p[i] != ':' covers that case too. */
		if (SPH_UNLIKELY(p[i] != ':')) {
			/* p[e] (CR or LF) stops the walk: no i < e test. */
			while (p[i] == ' ' || p[i] == '\t')
				i++;
			if (p[i] != ':')
				return SIP_BAD_HEADER;
		}
		/* Folded continuation lines are rare; e (lf > ls here) stays as
		 * computed unless there are some. The next line nearly always starts
		 * with a name octet (> SP), which one compare rules out. */
		if (SPH_UNLIKELY(lf + 1 < n && p[lf + 1] <= ' ') &&
		    (p[lf + 1] == ' ' || p[lf + 1] == '\t')) {
			do {
				lf = lf_next(&it);
				if (lf == NONE)
					return SIP_UNTERMINATED;
			} while (lf + 1 < n && (p[lf + 1] == ' ' || p[lf + 1] == '\t'));
			e = p[lf - 1] == '\r' ? lf - 1 : lf;
		}
		enum hdr_id h = header_of(p + ls, ne - ls);
		if (h != HDR_OTHER &&
		    SPH_UNLIKELY((v = parse_header(h, p, n, i + 1, e, m)) != SIP_OK)) {
			if (!(SIP_ANOMALY_MASK & SIP_ANOMALY_BIT(v)))
				return v;
			header_anomaly(h, v, p, i + 1, e, m);
		}
		ls = lf + 1;
	}
	uint32_t body = lf + 1;

	if (m->call_id.len == 0)
		return SIP_NO_CALL_ID;
	/* Missing headers are anomalies; a header seen has a value span at off > 0. */
	if (SPH_UNLIKELY(m->cseq_num.off == 0))
		m->anomalies |= SIP_ANOMALY_BIT(SIP_NO_CSEQ);
	if (SPH_UNLIKELY(m->via_count == 0))
		m->anomalies |= SIP_ANOMALY_BIT(SIP_NO_VIA);
	if (SPH_UNLIKELY(m->from.off == 0))
		m->anomalies |= SIP_ANOMALY_BIT(SIP_NO_FROM);
	if (SPH_UNLIKELY(m->to.off == 0))
		m->anomalies |= SIP_ANOMALY_BIT(SIP_NO_TO);
	if (m->kind == SIP_REQUEST) {
		/* Only a well-formed CSeq can disagree; the request line's method stands.
		 * Names of the same length compare by their methods when either is a
		 * known one (a known method is exactly one spelling), else by octets. */
		if (SPH_UNLIKELY(
		            m->method_name.len != m->cseq_name.len ||
		            (m->method != SIP_METHOD_OTHER || m->cseq_method != SIP_METHOD_OTHER
		                     ? m->method != m->cseq_method
		                     : memcmp(p + m->method_name.off, p + m->cseq_name.off,
		                              m->cseq_name.len) != 0)) &&
		    m->cseq_name.len != 0)
			m->anomalies |= SIP_ANOMALY_BIT(SIP_CSEQ_MISMATCH);
	} else {
		m->method = m->cseq_method;
		m->method_name = m->cseq_name;
	}

	/* Framing (§18.3): Content-Length bounds the body; without one, over
	 * UDP, the body is the rest of the datagram. */
	uint32_t blen = n - body;
	if (m->flags & SIP_F_CONTENT_LENGTH) {
		if (m->content_length > blen)
			return SIP_TRUNCATED;
		blen = m->content_length;
	} else {
		m->content_length = blen;
	}
	m->body = span(body, body + blen);
	m->msg_len = (uint16_t)(body + blen);
	m->trailing = (uint16_t)(n - body - blen);
	return SIP_OK;
}
