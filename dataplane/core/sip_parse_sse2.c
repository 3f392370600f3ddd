/*
 * sip_parse_sse2.c - the SIP grammar (sip_parse_tmpl.h) built on the sse2
 * primitives of sip_scan.h. sip.c calls it when it is the chosen scanner.
 */
#define SIP_ISA      SIP_ISA_SSE2
#define SIP_PARSE_FN sip_parse_sse2

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
