/*
 * edge_frame.h - SIP message framing over a byte stream (TCP, TLS), for the edge.
 * Control plane, edge thread. Pure function of the bytes: no allocation, no state kept
 * between calls, so the caller may hold the unfinished tail anywhere (edge.c keeps it
 * per connection only while a message is incomplete). Messages are delimited by
 * Content-Length (RFC 3261 §18.3, mandatory on streams), found by sip_parse() itself.
 */
#ifndef SIPHON_CTL_EDGE_FRAME_H
#define SIPHON_CTL_EDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/sip.h"

/** What edge_frame_next() found at the start of the bytes. */
enum edge_frame_rc {
	EDGE_FRAME_MSG = 0, /**< one whole message of *len octets; m describes it */
	EDGE_FRAME_PING,    /**< a double-CRLF keep-alive of *len octets: answer one CRLF */
	EDGE_FRAME_SKIP,    /**< *len octets of lone CRLFs (a pong, §7.5 padding): drop them */
	EDGE_FRAME_MORE,    /**< incomplete: keep the bytes, read more */
	EDGE_FRAME_ERR,     /**< the stream cannot be framed any more: close, *err says why */
};

/** Why a stream cannot be framed (EDGE_FRAME_ERR); each is a counter of the edge. */
enum edge_frame_err {
	EDGE_FERR_NONE = 0,
	EDGE_FERR_HEADER_SIZE, /**< header section longer than the limit */
	EDGE_FERR_MSG_SIZE,    /**< header section + Content-Length longer than the limit */
	EDGE_FERR_NO_LENGTH,   /**< no Content-Length: where the message ends is unknown */
	EDGE_FERR_PARSE,       /**< sip_parse() refused the message (its verdict in *verdict) */
	EDGE_FERR_COUNT
};

/**
 * Frame the message at the start of p[0, n).
 *
 * @param hdr_max  Largest header section (start line to the empty line), in octets.
 * @param msg_max  Largest message, header section and body, <= SIP_MAX_MSG.
 * @param m        Filled on EDGE_FRAME_MSG: spans are offsets into p.
 * @param len      Octets the result covers (MSG, PING, SKIP); 0 otherwise.
 * @param err      Reason on EDGE_FRAME_ERR, EDGE_FERR_NONE otherwise.
 * @param verdict  sip_parse()'s verdict on EDGE_FERR_PARSE, SIP_OK otherwise.
 * @return what the bytes start with. Work is linear in the header section's length.
 */
enum edge_frame_rc edge_frame_next(const uint8_t *p, size_t n, uint32_t hdr_max, uint32_t msg_max,
                                   struct sip_msg *m, size_t *len, enum edge_frame_err *err,
                                   enum sip_verdict *verdict);

/** Counter name of a framing error ("header_size"); "unknown" outside the enum. */
const char *edge_frame_err_name(enum edge_frame_err e);

#endif /* SIPHON_CTL_EDGE_FRAME_H */
