/*
 * sip_parse_avx2.c - the SIP grammar (sip_parse_tmpl.h) built on the avx2
 * primitives of sip_scan.h. sip.c calls it when it is the chosen scanner.
 */
#define SIP_ISA      SIP_ISA_AVX2
#define SIP_PARSE_FN sip_parse_avx2

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
