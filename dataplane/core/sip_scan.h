/*
 * sip_scan.h - byte-scanning primitives under the SIP grammar, one set per ISA.
 * Internal to the core. sip_parse_tmpl.h includes this after its .c file set
 * SIP_ISA; every primitive then compiles to that ISA, inlined into the grammar.
 * The scalar set is the reference: each SIMD primitive returns exactly what
 * its scalar twin returns for the same bytes, and never loads at or past n.
 */
#ifndef SIPHON_SIP_SCAN_H
#define SIPHON_SIP_SCAN_H

#include <stdint.h>
#include <string.h>

#include <siphon/sph.h>

#define SIP_ISA_SCALAR 0
#define SIP_ISA_SSE2   1 /* part of x86-64 itself */
#define SIP_ISA_AVX2   2 /* AVX2 + BMI; SSSE3's pshufb classifies octets */

#ifndef SIP_ISA
#error "define SIP_ISA before including sip_scan.h"
#endif

#if SIP_ISA == SIP_ISA_AVX2
#include <immintrin.h>
/* A function attribute, not a global -mavx2, so the rest of the binary still
 * runs on CPUs without AVX2; this code runs only after a CPU check. */
#define SIP_TARGET __attribute__((target("avx2,bmi")))
#elif SIP_ISA == SIP_ISA_SSE2
#include <emmintrin.h>
#define SIP_TARGET
#else
#define SIP_TARGET
#endif

/* Octet classes (RFC 3261 §25.1), by bit index into cc[]. */
#define CC_TOKEN  0 /* alphanum - . ! % * _ + ` ' ~ */
#define CC_WORD   1 /* Call-ID: token ( ) < > : \ " / [ ] ? { } @ */
#define CC_DIGIT  2
#define CC_SCHEME 3 /* URI scheme: alphanum + - . */
#define CC_PVAL   4 /* parameter value: token, or host incl. IPv6 ( : [ ] ) */
#define CC_URI    5 /* any visible octet (> SP, not DEL), UTF-8 included */
#define CC_HOST   6 /* hostname / IPv4: alphanum - . */
#define CC_HOST6  7 /* IPv6 reference body: hex digits : . */

/* Generated once with a short Python loop over the sets above. */
static const uint8_t cc[256] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x33, 0x22, 0x20, 0x20, 0x33, 0x20, 0x33, 0x22, 0x22, 0x33, 0x3b, 0x20,
        0x7b, 0xfb, 0x22, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xb2, 0x20,
        0x22, 0x20, 0x22, 0x22, 0x22, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0x7b, 0x7b, 0x7b, 0x7b,
        0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b,
        0x7b, 0x32, 0x22, 0x32, 0x20, 0x33, 0x33, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0x7b, 0x7b,
        0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b,
        0x7b, 0x7b, 0x7b, 0x22, 0x20, 0x22, 0x33, 0x00, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20,
};

#define IS(c, k) ((cc[(uint8_t)(c)] >> (k)) & 1u)

#define NONE UINT32_MAX

/* Hot helpers are forced inline so each ISA's copy folds into the grammar
 * with its constant arguments (class tables, searched octets, literals). */
#define SIP_INLINE static inline __attribute__((always_inline)) SIP_TARGET

/* --- line feeds ---------------------------------------------------------- */

/* Bit i set iff p[i] == '\n', for i < len (1..64). Never reads p[len]. */
static inline SIP_TARGET uint64_t
lf_mask_scalar(const uint8_t *p, uint32_t len)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < len; i++)
		m |= (uint64_t)(p[i] == '\n') << i;
	return m;
}

#if SIP_ISA >= SIP_ISA_SSE2
/* Line feeds of the 64 octets at p. */
SIP_INLINE uint64_t
lf_mask64(const uint8_t *p)
{
#if SIP_ISA == SIP_ISA_AVX2
	const __m256i lf = _mm256_set1_epi8('\n');
	__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	uint64_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, lf));
	uint64_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, lf));
	return lo | hi << 32;
#else
	const __m128i lf = _mm_set1_epi8('\n');
	uint64_t m = 0;
	for (uint32_t i = 0; i < 64; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) << i;
	}
	return m;
#endif
}
#endif

static inline SIP_TARGET uint64_t
lf_mask(const uint8_t *p, uint32_t len)
{
#if SIP_ISA >= SIP_ISA_SSE2
	if (len == 64)
		return lf_mask64(p);
	const __m128i lf16 = _mm_set1_epi8('\n');
	uint64_t m = 0;
	uint32_t i = 0;
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf16)) << i;
	}
	if (i < len)
		m |= lf_mask_scalar(p + i, len - i) << i;
	return m;
#else
	return lf_mask_scalar(p, len);
#endif
}

/*
 * Like lf_mask(), for a block that may be the datagram's last, shorter one:
 * back octets before p are readable too, so when they make up 64 the block
 * is read as the 64 octets ending at p + len and shifted down, with no
 * octet-by-octet tail.
 */
SIP_INLINE uint64_t
lf_mask_back(const uint8_t *p, uint32_t len, uint32_t back)
{
#if SIP_ISA >= SIP_ISA_SSE2
	if (len == 64)
		return lf_mask64(p);
	if (back + len >= 64)
		return lf_mask64(p + len - 64) >> (64 - len);
#else
	(void)back;
#endif
	return lf_mask(p, len);
}

/* --- classes ------------------------------------------------------------- */

#if SIP_ISA == SIP_ISA_AVX2
/* pshufb membership: bit h of row k's low-nibble half says octet 0xhl is in
 * class k (h < 8); row CC_ROW_HI holds 1 << h for the high nibble h, and 0
 * for octets >= 0x80; row CC_ROW_NIB the nibble mask. Generated with cc[]
 * above. Each row is stored twice, once per 128-bit lane of vpshufb, and all
 * in one array, so class_end() loads them from one base pointer. */
#define CC_ROW_HI  8
#define CC_ROW_NIB 9
#define CC_ROW(...)                                                                                \
	{                                                                                          \
		__VA_ARGS__, __VA_ARGS__                                                           \
	}
static const uint8_t cc_vec[10][32] __attribute__((aligned(32))) = {
        [CC_TOKEN] = CC_ROW(0xe8, 0xfc, 0xf8, 0xf8, 0xf8, 0xfc, 0xf8, 0xfc, 0xf8, 0xf8, 0xf4, 0x54,
                            0x50, 0x54, 0xd4, 0x70),
        [CC_WORD] = CC_ROW(0xf8, 0xfc, 0xfc, 0xf8, 0xf8, 0xfc, 0xf8, 0xfc, 0xfc, 0xfc, 0xfc, 0xf4,
                           0x78, 0xf4, 0xdc, 0x7c),
        [CC_DIGIT] = CC_ROW(0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x00),
        [CC_SCHEME] = CC_ROW(0xa8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf0, 0x54,
                             0x50, 0x54, 0x54, 0x50),
        [CC_PVAL] = CC_ROW(0xe8, 0xfc, 0xf8, 0xf8, 0xf8, 0xfc, 0xf8, 0xfc, 0xf8, 0xf8, 0xfc, 0x74,
                           0x50, 0x74, 0xd4, 0x70),
        [CC_HOST] = CC_ROW(0xa8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf0, 0x50,
                           0x50, 0x54, 0x54, 0x50),
        [CC_HOST6] = CC_ROW(0x08, 0x58, 0x58, 0x58, 0x58, 0x58, 0x58, 0x08, 0x08, 0x08, 0x08, 0x00,
                            0x00, 0x00, 0x04, 0x00),
        [CC_ROW_HI] = CC_ROW(1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0),
        [CC_ROW_NIB] = CC_ROW(0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
                              0x0f, 0x0f, 0x0f, 0x0f, 0x0f),
};
#undef CC_ROW

#endif

#if SIP_ISA == SIP_ISA_AVX2
/* Bit j set iff q[j] is not in class k (k != CC_URI), for the 32 octets at q.
 * The low-nibble lookup needs no mask: vpshufb yields 0 (not in the class)
 * for an octet with its top bit set, and no class here holds such octets. */
SIP_INLINE uint32_t
class_miss32(const uint8_t *q, unsigned k)
{
	/* The tables through a pointer the compiler cannot see into: it would
	 * otherwise fold them into constants and, as the calls in the grammar
	 * clobber every vector register, rebuild each one (moves, broadcasts)
	 * at every use instead of loading it. */
	const uint8_t(*t)[32] = cc_vec;
	__asm__("" : "+r"(t));
	const __m256i lo = _mm256_load_si256((const __m256i *)(const void *)t[k]);
	const __m256i hi = _mm256_load_si256((const __m256i *)(const void *)t[CC_ROW_HI]);
	const __m256i nib = _mm256_load_si256((const __m256i *)(const void *)t[CC_ROW_NIB]);
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)q);
	__m256i l = _mm256_shuffle_epi8(lo, v);
	__m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
	__m256i out = _mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256());
	return (uint32_t)_mm256_movemask_epi8(out);
}

/* class_miss32() for two classes of the same 32 octets: one load, one high-nibble
 * lookup, so a parameter's name and its value cost one classification, not two. */
SIP_INLINE void
class_miss32x2(const uint8_t *q, unsigned k1, unsigned k2, uint32_t *m1, uint32_t *m2)
{
	const uint8_t(*t)[32] = cc_vec;
	__asm__("" : "+r"(t)); /* as in class_miss32() */
	const __m256i hi = _mm256_load_si256((const __m256i *)(const void *)t[CC_ROW_HI]);
	const __m256i nib = _mm256_load_si256((const __m256i *)(const void *)t[CC_ROW_NIB]);
	const __m256i zero = _mm256_setzero_si256();
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)q);
	__m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
	__m256i l1 =
	        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(const void *)t[k1]), v);
	__m256i l2 =
	        _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(const void *)t[k2]), v);
	*m1 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(l1, h), zero));
	*m2 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(l2, h), zero));
}
#endif

/*
 * First index in [i, end) whose octet is not in class k, or end. n is the
 * buffer's length: SIMD loads may look past end but never at or past n.
 * p[end] must be readable and in no class: the grammar's regions end at their
 * line's CR or LF (sip_parse_tmpl.h). So the first octet not in class k is at
 * or before end, and the AVX2 steps return it with neither a clamp to end nor
 * an end test per step.
 */
SIP_INLINE uint32_t
class_end(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, unsigned k)
{
#if SIP_ISA == SIP_ISA_AVX2
	if (k != CC_URI) {
		/* 32 octets a step (vpshufb looks up within each 128-bit lane, so
		 * the tables are repeated in both). A step without a miss has end
		 * beyond it. Within 32 of n, the 32 octets that end at n, shifted
		 * down to i: the miss at or before end < n is among them, so this
		 * returns too, with no narrower step or octet-by-octet tail. */
		while (i + 32 <= n) {
			uint32_t m = class_miss32(p + i, k);
			if (m != 0)
				return i + (uint32_t)__builtin_ctz(m);
			i += 32;
		}
		if (SPH_LIKELY(n >= 32)) {
			uint32_t m = class_miss32(p + n - 32, k) >> (i - (n - 32));
			return i + (uint32_t)__builtin_ctz(m);
		}
	}
#endif
#if SIP_ISA >= SIP_ISA_SSE2
	if (k == CC_URI) {
		/* Visible octets: > SP and not DEL; UTF-8 octets count as visible.
		 * Plain SSE2, so the SSE2 build has it too. */
		const __m128i sp = _mm_set1_epi8(' ');
		const __m128i del = _mm_set1_epi8(0x7f);
		while (i < end && i + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i low = _mm_cmpeq_epi8(_mm_max_epu8(v, sp), sp); /* v <= SP */
			__m128i out = _mm_or_si128(low, _mm_cmpeq_epi8(v, del));
			uint32_t m = (uint32_t)_mm_movemask_epi8(out);
			if (m != 0) {
				i += (uint32_t)__builtin_ctz(m);
				return i < end ? i : end;
			}
			i += 16;
		}
		if (i >= end)
			return end;
	}
#else
	(void)n;
#endif
	while (i < end && IS(p[i], k))
		i++;
	return i;
}

/* First index in [i, end) holding octet c, or NONE. */
SIP_INLINE uint32_t
find_byte(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, uint8_t c)
{
#if SIP_ISA == SIP_ISA_AVX2
	const __m256i cw = _mm256_set1_epi8((char)c);
	while (i < end && i + 32 <= n) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, cw));
		if (m != 0) {
			i += (uint32_t)__builtin_ctz(m);
			return i < end ? i : NONE;
		}
		i += 32;
	}
	if (i >= end)
		return NONE;
	if (SPH_LIKELY(n >= 32)) { /* the rest, [i, n), from the 32 octets ending at n */
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + n - 32));
		uint32_t m =
		        (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, cw)) >> (i - (n - 32));
		if (m == 0)
			return NONE;
		i += (uint32_t)__builtin_ctz(m);
		return i < end ? i : NONE;
	}
#endif
#if SIP_ISA >= SIP_ISA_SSE2
	const __m128i cv = _mm_set1_epi8((char)c);
	while (i < end && i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cv));
		if (m != 0) {
			i += (uint32_t)__builtin_ctz(m);
			return i < end ? i : NONE;
		}
		i += 16;
	}
	if (i >= end)
		return NONE;
#else
	(void)n;
#endif
	for (; i < end; i++)
		if (p[i] == c)
			return i;
	return NONE;
}

/*
 * First index in [i, end) holding octet a, b or c, or end (pass b again for
 * two octets). The grammar's delimiter searches: ',' and '"' in a Via list,
 * '<' ';' '"' before an address. n as for class_end().
 */
SIP_INLINE uint32_t
find_any3(const uint8_t *p, uint32_t n, uint32_t i, uint32_t end, uint8_t a, uint8_t b, uint8_t c)
{
#if SIP_ISA == SIP_ISA_AVX2
	const __m256i a32 = _mm256_set1_epi8((char)a), b32 = _mm256_set1_epi8((char)b);
	const __m256i c32 = _mm256_set1_epi8((char)c);
	while (i < end && i + 32 <= n) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		__m256i hit = _mm256_or_si256(_mm256_cmpeq_epi8(v, a32), _mm256_cmpeq_epi8(v, b32));
		hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(v, c32));
		uint32_t m = (uint32_t)_mm256_movemask_epi8(hit);
		if (m != 0) {
			i += (uint32_t)__builtin_ctz(m);
			return i < end ? i : end;
		}
		i += 32;
	}
	if (i >= end)
		return end;
	if (SPH_LIKELY(n >= 32)) { /* as in find_byte() */
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + n - 32));
		__m256i hit = _mm256_or_si256(_mm256_cmpeq_epi8(v, a32), _mm256_cmpeq_epi8(v, b32));
		hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(v, c32));
		uint32_t m = (uint32_t)_mm256_movemask_epi8(hit) >> (i - (n - 32));
		if (m == 0)
			return end;
		i += (uint32_t)__builtin_ctz(m);
		return i < end ? i : end;
	}
#endif
#if SIP_ISA >= SIP_ISA_SSE2
	const __m128i a16 = _mm_set1_epi8((char)a), b16 = _mm_set1_epi8((char)b);
	const __m128i c16 = _mm_set1_epi8((char)c);
	while (i < end && i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, a16), _mm_cmpeq_epi8(v, b16));
		hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, c16));
		uint32_t m = (uint32_t)_mm_movemask_epi8(hit);
		if (m != 0) {
			i += (uint32_t)__builtin_ctz(m);
			return i < end ? i : end;
		}
		i += 16;
	}
	if (i >= end)
		return end;
#else
	(void)n;
#endif
	while (i < end && p[i] != a && p[i] != b && p[i] != c)
		i++;
	return i;
}

#endif /* SIPHON_SIP_SCAN_H */
