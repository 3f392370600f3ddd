/*
 * floor.h - the read floor of bench_sip and bench_dp: the fewest instructions that read
 * every byte of a buffer once (they count its line feeds, so the work is observable).
 * Both benches divide by it ("x floor", read_ratio), so it is the fastest honest loop,
 * not a scanner's shape: inlined into the caller's loop over messages, AVX2 with an
 * overlapping masked tail, and a SWAR scalar twin for machines without AVX2.
 */
#ifndef SIPHON_BENCH_FLOOR_H
#define SIPHON_BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define FLOOR_HAVE_AVX2 1
#endif

/* The AVX2 tail reloads the last 32 bytes before p + n: they must be readable. */
#define FLOOR_BACK 32u

#ifdef FLOOR_HAVE_AVX2
/* 32 zeros then 32 ones: loaded at +rem, its lanes 32 - rem .. 31 are set, the last rem
 * bytes of a 32-byte window. */
/* clang-format off */
static const uint8_t floor_tail_mask[64] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
/* clang-format on */

/*
 * Add the line feeds of p[0, n) to acc (four 64-bit lanes; floor_sum_avx2() adds them).
 * The FLOOR_BACK bytes before p + n must be readable (the tail's window ends at p + n
 * and masks what the whole chunks took). Per 32-byte chunk: a compare with a memory
 * operand and a byte subtract into 8-bit lane counters, which are widened (vpsadbw) once
 * per 254 chunks and once per buffer, instead of a movemask and a popcount per chunk.
 */
__attribute__((target("avx2"), always_inline)) static inline __m256i
floor_lf_avx2(__m256i acc, const uint8_t *p, size_t n)
{
	const __m256i lf = _mm256_set1_epi8('\n'), zero = _mm256_setzero_si256();
	size_t i = 0, full = n & ~(size_t)31, rem = n & 31;
	__m256i c8 = zero;

	while (i < full) {
		/* 8-bit counters hold 255: blocks of 254 chunks leave room for the tail's. */
		size_t end = full - i > 254u * 32 ? i + 254u * 32 : full;

		for (; i + 64 <= end; i += 64) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
			__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));

			c8 = _mm256_sub_epi8(c8, _mm256_cmpeq_epi8(a, lf));
			c8 = _mm256_sub_epi8(c8, _mm256_cmpeq_epi8(b, lf));
		}
		if (i < end) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));

			c8 = _mm256_sub_epi8(c8, _mm256_cmpeq_epi8(a, lf));
			i += 32;
		}
		if (i < full) {
			acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c8, zero));
			c8 = zero;
		}
	}
	if (rem != 0) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + n - 32));
		__m256i m =
		        _mm256_loadu_si256((const __m256i *)(const void *)(floor_tail_mask + rem));

		c8 = _mm256_sub_epi8(c8, _mm256_and_si256(_mm256_cmpeq_epi8(v, lf), m));
	}
	return _mm256_add_epi64(acc, _mm256_sad_epu8(c8, zero));
}

__attribute__((target("avx2"), always_inline)) static inline uint64_t
floor_sum_avx2(__m256i acc)
{
	__m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));

	return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}
#endif

/*
 * Line feeds of p[0, n), eight bytes per step (SWAR): a byte of t = x ^ 0x0a.. is zero
 * exactly where the high bit of ((t & 0x7f..) + 0x7f..) | t is clear, as no carry crosses
 * a byte. Those bits, shifted to bit 0 of each byte, add up in eight byte counters that
 * are summed every 255 words: no popcount, which machines without AVX2 may lack.
 */
static inline uint64_t
floor_lf_scalar(const uint8_t *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, low7 = 0x7f7f7f7f7f7f7f7fu;
	const uint64_t even = 0x00ff00ff00ff00ffu;
	uint64_t count = 0;
	size_t i = 0, words = n / 8;

	while (words != 0) {
		size_t k = words < 255 ? words : 255;
		uint64_t c8 = 0;

		words -= k;
		for (; k != 0; k--, i += 8) {
			uint64_t x, t;

			memcpy(&x, p + i, sizeof(x));
			t = x ^ (ones * '\n');
			c8 += (~(((t & low7) + low7) | t) & ~low7) >> 7;
		}
		/* Bytes to 16-bit lanes (at most 510 each), then their sum in the top lane. */
		c8 = (c8 & even) + ((c8 >> 8) & even);
		count += (c8 * 0x0001000100010001u) >> 48;
	}
	for (; i < n; i++)
		count += p[i] == '\n';
	return count;
}

#endif /* SIPHON_BENCH_FLOOR_H */
