/*
 * edge_frame.c - SIP framing over a stream: keep-alives, header-section end, then
 * sip_parse() on the bytes where they lie for the Content-Length and the view.
 * Control plane, edge thread; stateless (see edge_frame.h). The one invariant: a
 * message is only ever returned whole, and a stream whose framing is lost is never
 * resynchronised by guessing (a Content-Length lie closes the connection).
 */
#include <string.h>

#include "edge_frame.h"

/* Offset just past the empty line ending the header section within p[0, lim), or 0
 * when it is not there yet. Bare LFs end lines too, as sip_parse() accepts them. */
static size_t
frame_hdr_end(const uint8_t *p, size_t lim)
{
	size_t i = 0;

	for (;;) {
		const uint8_t *lf = memchr(p + i, '\n', lim - i);
		if (lf == NULL)
			return 0;
		i = (size_t)(lf - p) + 1;
		if (i < lim && p[i] == '\n')
			return i + 1;
		if (i + 1 < lim && p[i] == '\r' && p[i + 1] == '\n')
			return i + 2;
	}
}

enum edge_frame_rc
edge_frame_next(const uint8_t *p, size_t n, uint32_t hdr_max, uint32_t msg_max, struct sip_msg *m,
                size_t *len, enum edge_frame_err *err, enum sip_verdict *verdict)
{
	*len = 0;
	*err = EDGE_FERR_NONE;
	*verdict = SIP_OK;
	if (n == 0)
		return EDGE_FRAME_MORE;

	/* RFC 5626 §4.4.1: CRLFCRLF is a ping, a lone CRLF its pong. A CR or LF run that
	 * might still grow into a ping waits for the next octet. */
	if (p[0] == '\r' || p[0] == '\n') {
		if (n >= 4 && memcmp(p, "\r\n\r\n", 4) == 0) {
			*len = 4;
			return EDGE_FRAME_PING;
		}
		size_t k = 0;
		while (k < n && (p[k] == '\r' || p[k] == '\n'))
			k++;
		if (k == n && k < 4 && memcmp(p, "\r\n\r\n", k) == 0)
			return EDGE_FRAME_MORE;
		/* Padding before a start line (§7.5), a pong, or a bare-LF ping: skip up to
		 * the start of the next CRLFCRLF so that one is still answered. */
		size_t s = 0;
		while (s < k && !(s + 4 <= n && memcmp(p + s, "\r\n\r\n", 4) == 0))
			s++;
		if (s == 0)
			s = 1;
		*len = s;
		return EDGE_FRAME_SKIP;
	}

	size_t lim = n < hdr_max ? n : hdr_max;
	size_t hend = frame_hdr_end(p, lim);
	if (hend == 0) {
		if (n >= hdr_max) {
			*err = EDGE_FERR_HEADER_SIZE;
			return EDGE_FRAME_ERR;
		}
		return EDGE_FRAME_MORE;
	}

	if (hend > msg_max) { /* a header section alone over the message limit */
		*err = EDGE_FERR_MSG_SIZE;
		return EDGE_FRAME_ERR;
	}
	/* The scanner's spans are 16-bit: it sees at most msg_max octets, which is enough
	 * to hold any message the limit lets through. */
	size_t view = n < msg_max ? n : msg_max;
	enum sip_verdict v = sip_parse(p, view, m);
	if (v == SIP_TRUNCATED) {
		if ((uint64_t)hend + m->content_length > msg_max) {
			*err = EDGE_FERR_MSG_SIZE;
			return EDGE_FRAME_ERR;
		}
		return EDGE_FRAME_MORE;
	}
	if (v != SIP_OK) {
		*err = EDGE_FERR_PARSE;
		*verdict = v;
		return EDGE_FRAME_ERR;
	}
	if (!(m->flags & SIP_F_CONTENT_LENGTH)) {
		*err = EDGE_FERR_NO_LENGTH;
		return EDGE_FRAME_ERR;
	}
	*len = m->msg_len;
	return EDGE_FRAME_MSG;
}

const char *
edge_frame_err_name(enum edge_frame_err e)
{
	static const char *const names[EDGE_FERR_COUNT] = {
	        [EDGE_FERR_NONE] = "none",         [EDGE_FERR_HEADER_SIZE] = "header_size",
	        [EDGE_FERR_MSG_SIZE] = "msg_size", [EDGE_FERR_NO_LENGTH] = "no_content_length",
	        [EDGE_FERR_PARSE] = "parse",
	};
	return (unsigned)e < EDGE_FERR_COUNT ? names[e] : "unknown";
}
