/*
 * sip_parse_impl.h - the per-ISA builds of the SIP grammar, for sip.c to
 * choose from (internal to the core). All three return identical views for
 * identical input; the scalar one is the reference the tests hold them to.
 */
#ifndef SIPHON_SIP_PARSE_IMPL_H
#define SIPHON_SIP_PARSE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <siphon/sip.h>

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
