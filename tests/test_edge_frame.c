/*
 * test_edge_frame.c - Criterion suite for the edge's stream framing (control/edge_frame.c)
 * and its SIP helpers (control/edge_flow.c: flow tokens, AOR normalisation). Framing is
 * checked whole, split at every octet, packed several per read, against both limits, with
 * Content-Length lies and keep-alives; tokens valid, forged, under another key and of a
 * past generation; AORs in the forms phones write them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "edge_flow.h"
#include "edge_frame.h"

TestSuite(edge_frame);

#define REG                                                                                        \
	"REGISTER sip:example.com SIP/2.0\r\n"                                                     \
	"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK1\r\n"                                     \
	"From: <sip:alice@example.com>;tag=1\r\n"                                                  \
	"To: <sip:alice@example.com>\r\n"                                                          \
	"Call-ID: reg1@192.0.2.10\r\n"                                                             \
	"CSeq: 1 REGISTER\r\n"                                                                     \
	"Content-Length: 0\r\n\r\n"
#define MSG_HDR                                                                                    \
	"MESSAGE sip:bob@example.com SIP/2.0\r\n"                                                  \
	"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK2\r\n"                                     \
	"From: <sip:alice@example.com>;tag=1\r\n"                                                  \
	"To: <sip:bob@example.com>\r\n"                                                            \
	"Call-ID: m1@192.0.2.10\r\n"                                                               \
	"CSeq: 1 MESSAGE\r\n"
#define MSG MSG_HDR "Content-Length: 5\r\n\r\nhello"

static enum edge_frame_rc
frame(const char *s, size_t n, size_t *len, enum edge_frame_err *err)
{
	struct sip_msg m;
	enum sip_verdict v;

	return edge_frame_next((const uint8_t *)s, n, 8192, 65535, &m, len, err, &v);
}

Test(edge_frame, whole_message)
{
	size_t len;
	enum edge_frame_err err;

	cr_assert_eq(frame(REG, strlen(REG), &len, &err), EDGE_FRAME_MSG);
	cr_assert_eq(len, strlen(REG));
	cr_assert_eq(frame(MSG, strlen(MSG), &len, &err), EDGE_FRAME_MSG);
	cr_assert_eq(len, strlen(MSG));
}

/* Every proper prefix is incomplete, never a message or an error: a message split
 * across reads at any octet is framed once its last octet arrives. */
Test(edge_frame, split_at_every_octet)
{
	const char *rows[] = {REG, MSG};

	for (size_t r = 0; r < 2; r++) {
		size_t n = strlen(rows[r]);
		for (size_t k = 1; k < n; k++) {
			char *b = malloc(k); /* exactly k octets, so ASan sees any over-read */
			memcpy(b, rows[r], k);
			size_t len;
			enum edge_frame_err err;
			cr_assert_eq(frame(b, k, &len, &err), EDGE_FRAME_MORE, "row %zu prefix %zu",
			             r, k);
			free(b);
		}
	}
}

Test(edge_frame, packed_messages)
{
	const char s[] = REG MSG "\r\n\r\n" REG;
	size_t off = 0, len, n = sizeof(s) - 1;
	enum edge_frame_err err;
	enum edge_frame_rc want[] = {EDGE_FRAME_MSG, EDGE_FRAME_MSG, EDGE_FRAME_PING,
	                             EDGE_FRAME_MSG};
	size_t want_len[] = {strlen(REG), strlen(MSG), 4, strlen(REG)};

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(frame(s + off, n - off, &len, &err), want[i], "message %zu", i);
		cr_assert_eq(len, want_len[i], "message %zu", i);
		off += len;
	}
	cr_assert_eq(off, n);
}

Test(edge_frame, keepalives)
{
	size_t len;
	enum edge_frame_err err;

	cr_assert_eq(frame("\r\n\r\n", 4, &len, &err), EDGE_FRAME_PING);
	cr_assert_eq(len, 4);
	/* a ping split across reads waits */
	cr_assert_eq(frame("\r\n\r", 3, &len, &err), EDGE_FRAME_MORE);
	cr_assert_eq(frame("\r\n", 2, &len, &err), EDGE_FRAME_MORE);
	/* a pong, or padding before a message, is skipped */
	cr_assert_eq(frame("\r\n" REG, 2 + strlen(REG), &len, &err), EDGE_FRAME_SKIP);
	cr_assert_eq(len, 2);
	/* a ping after padding is still a ping once the padding is gone */
	cr_assert_eq(frame("\n\r\n\r\n", 5, &len, &err), EDGE_FRAME_SKIP);
	cr_assert_eq(len, 1);
	cr_assert_eq(frame("\r\n\r\n", 4, &len, &err), EDGE_FRAME_PING);
}

Test(edge_frame, header_limit)
{
	struct sip_msg m;
	enum sip_verdict v;
	size_t len;
	enum edge_frame_err err;
	size_t hl = strlen(REG);

	/* a header section of exactly the limit passes, one octet less refuses it */
	cr_assert_eq(
	        edge_frame_next((const uint8_t *)REG, hl, (uint32_t)hl, 65535, &m, &len, &err, &v),
	        EDGE_FRAME_MSG);
	cr_assert_eq(edge_frame_next((const uint8_t *)REG, hl, (uint32_t)hl - 1, 65535, &m, &len,
	                             &err, &v),
	             EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_HEADER_SIZE);
	/* an endless header section is refused once the limit is buffered, not later */
	char *junk = malloc(300);
	memcpy(junk, "REGISTER sip:x SIP/2.0\r\nX: ", 27);
	memset(junk + 27, 'a', 300 - 27);
	cr_assert_eq(edge_frame_next((const uint8_t *)junk, 299, 300, 65535, &m, &len, &err, &v),
	             EDGE_FRAME_MORE);
	cr_assert_eq(edge_frame_next((const uint8_t *)junk, 300, 300, 65535, &m, &len, &err, &v),
	             EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_HEADER_SIZE);
	free(junk);
}

Test(edge_frame, message_limit)
{
	struct sip_msg m;
	enum sip_verdict v;
	size_t len;
	enum edge_frame_err err;
	const char big[] = MSG_HDR "Content-Length: 60000\r\n\r\nabc";

	/* refused as soon as the header says it will not fit: the body is never waited for */
	cr_assert_eq(edge_frame_next((const uint8_t *)big, sizeof(big) - 1, 8192, 4096, &m, &len,
	                             &err, &v),
	             EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_MSG_SIZE);
	cr_assert_eq(edge_frame_next((const uint8_t *)big, sizeof(big) - 1, 8192, 65535, &m, &len,
	                             &err, &v),
	             EDGE_FRAME_MORE);
	/* a header section within max_header but alone over max_message */
	cr_assert_eq(
	        edge_frame_next((const uint8_t *)REG, strlen(REG), 8192, 100, &m, &len, &err, &v),
	        EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_MSG_SIZE);
	const char huge[] = MSG_HDR "Content-Length: 4294967295\r\n\r\n";
	cr_assert_eq(edge_frame_next((const uint8_t *)huge, sizeof(huge) - 1, 8192, 65535, &m, &len,
	                             &err, &v),
	             EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_MSG_SIZE);
}

/* A Content-Length that says less than the body leaves the body's rest where the next
 * start line should be: an error, never a message made of body octets. */
Test(edge_frame, content_length_lies)
{
	const char shorter[] = MSG_HDR "Content-Length: 2\r\n\r\nhello";
	size_t len, off;
	enum edge_frame_err err;
	struct sip_msg m;
	enum sip_verdict v;

	cr_assert_eq(frame(shorter, sizeof(shorter) - 1, &len, &err), EDGE_FRAME_MSG);
	off = len;
	cr_assert_eq(edge_frame_next((const uint8_t *)shorter + off, sizeof(shorter) - 1 - off,
	                             8192, 65535, &m, &len, &err, &v),
	             EDGE_FRAME_MORE); /* "llo": a start line not yet ended */
	/* Where the rest happens to read as a start line ("llo" + "REGISTER ..." is a method
	 * token), it is framed as one and its backend refuses it: a stream has no other
	 * boundary. Here it does not. */
	const char shorter_next[] = MSG_HDR "Content-Length: 2\r\n\r\nhello world" REG;
	off = strlen(MSG_HDR "Content-Length: 2\r\n\r\nhe");
	cr_assert_eq(edge_frame_next((const uint8_t *)shorter_next + off,
	                             sizeof(shorter_next) - 1 - off, 8192, 65535, &m, &len, &err,
	                             &v),
	             EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_PARSE);
	cr_assert(v == SIP_BAD_START_LINE || v == SIP_BAD_REQUEST_URI, "verdict %d", v);
	/* longer than the body: waits for octets that belong to the next message */
	const char longer[] = MSG_HDR "Content-Length: 500\r\n\r\nhello" REG;
	cr_assert_eq(frame(longer, sizeof(longer) - 1, &len, &err), EDGE_FRAME_MORE);
	const char none[] = MSG_HDR "\r\nhello";
	cr_assert_eq(frame(none, sizeof(none) - 1, &len, &err), EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_NO_LENGTH);
	const char bad[] = MSG_HDR "Content-Length: 5x\r\n\r\nhello";
	cr_assert_eq(frame(bad, sizeof(bad) - 1, &len, &err), EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_PARSE);
	cr_assert_str_eq(edge_frame_err_name(EDGE_FERR_NO_LENGTH), "no_content_length");
	cr_assert_str_eq(edge_frame_err_name((enum edge_frame_err)99), "unknown");
}

Test(edge_frame, garbage)
{
	const char g[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
	size_t len;
	enum edge_frame_err err;

	cr_assert_eq(frame(g, sizeof(g) - 1, &len, &err), EDGE_FRAME_ERR);
	cr_assert_eq(err, EDGE_FERR_PARSE);
}

/* ---- flow tokens ---- */

static const uint8_t key1[] = "edge-test-key-0123456789";
static const uint8_t key2[] = "edge-test-key-0123456780";

Test(edge_frame, token_round_trip)
{
	char tok[EDGE_FLOW_TOKEN_LEN + 1];
	struct edge_flow_id id = {.slot = 77, .gen = 0xdeadbeef}, got;

	cr_assert_eq(edge_flow_token(key1, sizeof(key1) - 1, id, tok), 0);
	cr_assert_eq(strlen(tok), EDGE_FLOW_TOKEN_LEN);
	cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, tok, strlen(tok), &got), 0);
	cr_assert_eq(got.slot, 77);
	cr_assert_eq(got.gen, 0xdeadbeef);
}

Test(edge_frame, token_forged)
{
	char tok[EDGE_FLOW_TOKEN_LEN + 1], t2[EDGE_FLOW_TOKEN_LEN + 1];
	struct edge_flow_id id = {.slot = 1, .gen = 5}, got;

	cr_assert_eq(edge_flow_token(key1, sizeof(key1) - 1, id, tok), 0);
	/* another key */
	cr_assert_eq(edge_flow_check(key2, sizeof(key2) - 1, tok, strlen(tok), &got), -1);
	/* every single-character change: slot, generation or MAC */
	for (size_t i = 0; i < EDGE_FLOW_TOKEN_LEN; i++) {
		memcpy(t2, tok, sizeof(tok));
		t2[i] = t2[i] == '0' ? '1' : '0';
		cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, t2, strlen(t2), &got), -1,
		             "char %zu", i);
	}
	/* another slot's token with this one's MAC */
	struct edge_flow_id other = {.slot = 2, .gen = 5};
	cr_assert_eq(edge_flow_token(key1, sizeof(key1) - 1, other, t2), 0);
	memcpy(t2 + 16, tok + 16, EDGE_FLOW_TOKEN_LEN - 16);
	cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, t2, strlen(t2), &got), -1);
	/* wrong lengths, upper case */
	cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, tok, strlen(tok) - 1, &got), -1);
	cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, "", 0, &got), -1);
	memcpy(t2, tok, sizeof(tok));
	for (size_t i = 0; i < EDGE_FLOW_TOKEN_LEN; i++)
		if (t2[i] >= 'a')
			t2[i] = (char)(t2[i] - 32);
	if (strcmp(t2, tok) != 0)
		cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, t2, strlen(t2), &got), -1);
}

/* A token of a past generation still verifies (it was genuine): it names the old
 * generation, which the connection table compares with the slot's current one. */
Test(edge_frame, token_replayed_generation)
{
	char old[EDGE_FLOW_TOKEN_LEN + 1], cur[EDGE_FLOW_TOKEN_LEN + 1];
	struct edge_flow_id a = {.slot = 9, .gen = 1}, b = {.slot = 9, .gen = 2}, got;

	cr_assert_eq(edge_flow_token(key1, sizeof(key1) - 1, a, old), 0);
	cr_assert_eq(edge_flow_token(key1, sizeof(key1) - 1, b, cur), 0);
	cr_assert_str_neq(old, cur);
	cr_assert_eq(edge_flow_check(key1, sizeof(key1) - 1, old, strlen(old), &got), 0);
	cr_assert_eq(got.gen, 1);
	cr_assert_neq(got.gen, b.gen);
}

/* ---- AOR normalisation ---- */

struct aor_row {
	const char *in;
	const char *out; /* NULL: refused */
};

static const struct aor_row aor_rows[] = {
        {"<sip:alice@example.com>", "sip:alice@example.com"},
        {"\"Alice\" <sip:alice@Example.COM:5061;transport=tls>;tag=x", "sip:alice@example.com"},
        {"sip:alice@EXAMPLE.com;tag=abc", "sip:alice@example.com"},
        {"  SIP:Alice@example.com  ", "sip:Alice@example.com"},
        {"<sips:bob:secret@example.com>", "sips:bob@example.com"},
        {"\"a <b>\" <sip:carol@example.com>", "sip:carol@example.com"},
        {"<sip:example.com>", "sip:example.com"},
        {"<sip:dave@[2001:DB8::1]:5060>", "sip:dave@[2001:db8::1]"},
        {"<sip:eve@example.com?subject=x>", "sip:eve@example.com"},
        {"<tel:+15551234>", NULL},
        {"<sip:alice@example.com", NULL},
        {"<sip:@example.com>", NULL},
        {"<sip:>", NULL},
        {"alice@example.com", NULL},
        {"", NULL},
};

Test(edge_frame, aor_norm)
{
	char out[EDGE_AOR_MAX];

	for (size_t i = 0; i < sizeof(aor_rows) / sizeof(aor_rows[0]); i++) {
		const struct aor_row *r = &aor_rows[i];
		int n = edge_aor_norm((const uint8_t *)r->in, strlen(r->in), out);
		if (r->out == NULL) {
			cr_expect_eq(n, -1, "row %zu \"%s\"", i, r->in);
		} else {
			cr_expect_eq(n, (int)strlen(r->out), "row %zu \"%s\"", i, r->in);
			if (n >= 0)
				cr_expect_str_eq(out, r->out, "row %zu", i);
		}
	}
	/* too long for the buffer */
	char *longv = malloc(600);
	memcpy(longv, "<sip:", 5);
	memset(longv + 5, 'u', 590);
	memcpy(longv + 595, "@h.c>", 5);
	cr_assert_eq(edge_aor_norm((const uint8_t *)longv, 600, out), -1);
	free(longv);
}

/* ---- any bytes, any split ---- */

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Streams spliced from message pieces, keep-alives and noise, fed in random chunks as a
 * connection would, each call seeing exactly the octets received so far: every result
 * stays within them, a message is never
 * longer than the limit, and the loop always ends (a result consumes octets, asks for
 * more, or ends the stream). Fixed seed: reproducible. */
Test(edge_frame, random_streams)
{
	static const char *const pieces[] = {
	        REG,
	        MSG,
	        "\r\n\r\n",
	        "\r\n",
	        "\n",
	        "Content-Length: 3\r\n",
	        "\r\n\r\nabc",
	        "SIP/2.0 200 OK\r\n",
	        "Call-ID: x\r\n",
	        "\x00\xff",
	        "INVITE sip:a@b SIP/2.0\r\n",
	};
	uint64_t seed = 0x9e3779b97f4a7c15u;
	enum { STREAM = 4096 };
	unsigned msgs = 0, pings = 0, errs = 0;

	for (int round = 0; round < 3000; round++) {
		uint8_t *buf = malloc(STREAM);
		size_t n = 0;
		while (n < STREAM - 512) {
			const char *p = pieces[rnd(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = p[0] == '\0' ? 2 : strlen(p);
			memcpy(buf + n, p, l);
			n += l;
		}
		uint32_t hdr_max = 64 + (uint32_t)(rnd(&seed) % 1024);
		uint32_t msg_max = 512 + (uint32_t)(rnd(&seed) % 2048);
		size_t have = 0, off = 0;
		int steps = 0;
		while (off < n) {
			struct sip_msg m;
			size_t len;
			enum edge_frame_err err;
			enum sip_verdict v;
			enum edge_frame_rc rc = edge_frame_next(buf + off, have - off, hdr_max,
			                                        msg_max, &m, &len, &err, &v);
			cr_assert_leq(len, have - off, "round %d", round);
			if (rc == EDGE_FRAME_ERR) {
				errs++;
				break;
			}
			pings += rc == EDGE_FRAME_PING;
			if (rc == EDGE_FRAME_MSG) {
				msgs++;
				cr_assert_gt(len, 0);
				cr_assert_leq(len, msg_max, "round %d", round);
				cr_assert_leq((size_t)m.body.off + m.body.len, len);
			}
			if (rc == EDGE_FRAME_MORE) {
				if (have == n)
					break; /* the stream ended inside a message */
				have += 1 + rnd(&seed) % 300;
				if (have > n)
					have = n;
			} else {
				cr_assert_gt(len, 0, "round %d: no progress", round);
				off += len;
			}
			cr_assert_lt(++steps, 100000, "round %d: no end", round);
		}
		free(buf);
	}
	/* the streams reach every outcome, so the checks above were not vacuous */
	cr_assert_gt(msgs, 1000, "%u messages", msgs);
	cr_assert_gt(pings, 100, "%u pings", pings);
	cr_assert_gt(errs, 100, "%u errors", errs);
}
