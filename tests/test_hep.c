/*
 * test_hep.c - the HEPv3 encoder (dataplane/core/hep_enc.c): every chunk byte for byte,
 * IPv4 and IPv6, against packets written out by hand from the chunk layout; the split
 * head / payload / tail the worker sends equal to the contiguous encoding; and the
 * limits: a Call-ID of 1 byte, the longest that fits 65,535 bytes, one byte more.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "siphon/hep.h"

static const uint8_t payload[] = "OPTIONS sip:a SIP/2.0\r\n\r\n";
#define PAYLOAD_LEN (sizeof(payload) - 1)

static struct hep_meta
meta4(void)
{
	struct hep_meta m = {.family = 4,
	                     .src_port = 5060,
	                     .dst_port = 5070,
	                     .ts_sec = 0x01020304,
	                     .ts_usec = 999999,
	                     .agent_id = 0xa1b2c3d4};

	memcpy(m.src, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x63\x00\x01", 16);
	memcpy(m.dst, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x63\x00\x64", 16);
	return m;
}

Test(hep, ipv4_byte_exact)
{
	struct hep_meta m = meta4();
	/* Written from the chunk table: vendor 0, type, length including its 6 bytes. */
	static const uint8_t want_head[] = {
	        'H',  'E',  'P',  '3',  0x00, 99 + PAYLOAD_LEN + 6 + 3, /* total */
	        0,    0,    0,    0x01, 0,    7,
	        2, /* family AF_INET */
	        0,    0,    0,    0x02, 0,    7,
	        17, /* UDP */
	        0,    0,    0,    0x07, 0,    8,
	        0x13, 0xc4, /* src port 5060 */
	        0,    0,    0,    0x08, 0,    8,
	        0x13, 0xce, /* dst port 5070 */
	        0,    0,    0,    0x09, 0,    10,
	        1,    2,    3,    4, /* seconds */
	        0,    0,    0,    0x0a, 0,    10,
	        0x00, 0x0f, 0x42, 0x3f, /* 999999 us */
	        0,    0,    0,    0x0b, 0,    7,
	        1, /* SIP */
	        0,    0,    0,    0x0c, 0,    10,
	        0xa1, 0xb2, 0xc3, 0xd4, /* agent id */
	        0,    0,    0,    0x03, 0,    10,
	        10,   99,   0,    1, /* src 10.99.0.1 */
	        0,    0,    0,    0x04, 0,    10,
	        10,   99,   0,    100,                         /* dst 10.99.0.100 */
	        0,    0,    0,    0x0f, 0,    6 + PAYLOAD_LEN, /* payload chunk */
	};
	uint8_t out[512];
	size_t n =
	        hep_encode(out, sizeof(out), &m, payload, PAYLOAD_LEN, (const uint8_t *)"a@b", 3);

	cr_assert_eq(sizeof(want_head), HEP_HEAD4);
	cr_assert_eq(n, HEP_HEAD4 + PAYLOAD_LEN + 6 + 3);
	cr_assert_arr_eq(out, want_head, sizeof(want_head));
	cr_assert_arr_eq(out + HEP_HEAD4, payload, PAYLOAD_LEN);
	cr_assert_arr_eq(out + HEP_HEAD4 + PAYLOAD_LEN,
	                 ((const uint8_t[]){0, 0, 0, 0x11, 0, 9, 'a', '@', 'b'}), 9);
}

Test(hep, ipv6_byte_exact)
{
	struct hep_meta m = meta4();
	uint8_t out[512], want[HEP_HEAD6];
	size_t n;

	m.family = 6;
	for (unsigned i = 0; i < 16; i++) {
		m.src[i] = (uint8_t)(0x20 + i);
		m.dst[i] = (uint8_t)(0xf0 + i);
	}
	n = hep_encode(out, sizeof(out), &m, payload, PAYLOAD_LEN, (const uint8_t *)"x", 1);
	cr_assert_eq(n, HEP_HEAD6 + PAYLOAD_LEN + 7);
	/* The same chunks as IPv4 up to the addresses, then two 22-byte address chunks. */
	memcpy(want, "HEP3", 4);
	want[4] = 0, want[5] = (uint8_t)n;
	memcpy(want + 6, (const uint8_t[]){0, 0, 0, 1, 0, 7, 10}, 7);
	cr_assert_arr_eq(out, want, 13);
	cr_assert_arr_eq(out + 13, ((const uint8_t[]){0, 0, 0, 2, 0, 7, 17}), 7);
	cr_assert_eq(out[73 + 3], 0x05);
	cr_assert_eq(out[73 + 5], 22);
	cr_assert_arr_eq(out + 73 + 6, m.src, 16);
	cr_assert_eq(out[95 + 3], 0x06);
	cr_assert_eq(out[95 + 5], 22);
	cr_assert_arr_eq(out + 95 + 6, m.dst, 16);
	cr_assert_arr_eq(out + 117, ((const uint8_t[]){0, 0, 0, 0x0f, 0, 6 + PAYLOAD_LEN}), 6);
	cr_assert_arr_eq(out + HEP_HEAD6, payload, PAYLOAD_LEN);
	cr_assert_arr_eq(out + HEP_HEAD6 + PAYLOAD_LEN,
	                 ((const uint8_t[]){0, 0, 0, 0x11, 0, 7, 'x'}), 7);
}

/* What the worker sends as three segments is the contiguous packet. */
Test(hep, split_equals_contiguous)
{
	struct hep_meta m = meta4();
	uint8_t whole[512], split[512];
	size_t n = hep_encode(whole, sizeof(whole), &m, payload, PAYLOAD_LEN,
	                      (const uint8_t *)"call-1", 6);
	size_t h = hep_head_write(split, &m, PAYLOAD_LEN, 6);

	cr_assert_eq(h, hep_head_len(4));
	memcpy(split + h, payload, PAYLOAD_LEN);
	cr_assert_eq(hep_tail_write(split + h + PAYLOAD_LEN, (const uint8_t *)"call-1", 6),
	             hep_tail_len(6));
	cr_assert_eq(n, h + PAYLOAD_LEN + hep_tail_len(6));
	cr_assert_arr_eq(split, whole, n);
}

/* 65,535 bytes in all is the most a HEPv3 length says; the Call-ID takes what is left. */
Test(hep, call_id_limits)
{
	struct hep_meta m = meta4();
	size_t cap = HEP_MAX + 64;
	uint8_t *out = malloc(cap), *cid = malloc(HEP_MAX);
	size_t most = HEP_MAX - HEP_HEAD4 - PAYLOAD_LEN - HEP_CHUNK_HDR, n;

	cr_assert(out != NULL && cid != NULL);
	memset(cid, 'c', HEP_MAX);
	cr_assert_eq(hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, 1),
	             HEP_HEAD4 + PAYLOAD_LEN + 7);
	n = hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, most);
	cr_assert_eq(n, HEP_MAX);
	cr_assert_eq(out[4], 0xff);
	cr_assert_eq(out[5], 0xff);
	/* The tail chunk's length is the Call-ID's plus its header: 16 bits still. */
	cr_assert_eq(
	        (size_t)(out[HEP_HEAD4 + PAYLOAD_LEN + 4] << 8 | out[HEP_HEAD4 + PAYLOAD_LEN + 5]),
	        most + 6);
	cr_assert(hep_fits(4, PAYLOAD_LEN, most));
	cr_assert_not(hep_fits(4, PAYLOAD_LEN, most + 1));
	cr_assert_eq(hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, most + 1), 0);
	/* IPv6 heads are 24 bytes longer: the same Call-ID no longer fits. */
	m.family = 6;
	cr_assert_eq(hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, most), 0);
	cr_assert_eq(hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, most - 24), HEP_MAX);
	/* No room in out, an unknown family, a length that alone exceeds 16 bits: nothing. */
	m.family = 4;
	cr_assert_eq(hep_encode(out, 100, &m, payload, PAYLOAD_LEN, cid, 1), 0);
	m.family = 5;
	cr_assert_eq(hep_encode(out, cap, &m, payload, PAYLOAD_LEN, cid, 1), 0);
	m.family = 4;
	cr_assert_not(hep_fits(4, (size_t)1 << 32, 1));
	cr_assert_eq(hep_encode(out, cap, &m, NULL, 0, NULL, 0), HEP_HEAD4 + 6);
	free(out);
	free(cid);
}
