/*
 * sip_parse_impl.h - the per-ISA builds of the SIP grammar, for sip.c to
 * choose from (internal to the core), and the method lookup they share with
 * sip.c. All three return identical views for identical input; the scalar one
 * is the reference the tests hold them to.
 */
#ifndef SIPHON_SIP_PARSE_IMPL_H
#define SIPHON_SIP_PARSE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <siphon/sip.h>

/* sip_method_of(), inlined where the grammar calls it: a call there costs about as much
 * as the compares (argument moves, vzeroupper, register saves). */
static inline __attribute__((always_inline)) enum sip_method
sip_method_lookup(const uint8_t *p, size_t len)
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

typedef enum sip_verdict (*sip_parse_fn)(const uint8_t *buf, size_t len, struct sip_msg *m);

/* Each also built with SIP_RULE_FIELDS as *_rf (sip_parse_rf()). */
enum sip_verdict sip_parse_scalar(const uint8_t *buf, size_t len, struct sip_msg *m);
enum sip_verdict sip_parse_scalar_rf(const uint8_t *buf, size_t len, struct sip_msg *m);
#ifdef SIP_SCAN_SIMD
enum sip_verdict sip_parse_sse2(const uint8_t *buf, size_t len, struct sip_msg *m);
enum sip_verdict sip_parse_sse2_rf(const uint8_t *buf, size_t len, struct sip_msg *m);
enum sip_verdict sip_parse_avx2(const uint8_t *buf, size_t len, struct sip_msg *m);
enum sip_verdict sip_parse_avx2_rf(const uint8_t *buf, size_t len, struct sip_msg *m);
#endif

#endif /* SIPHON_SIP_PARSE_IMPL_H */
