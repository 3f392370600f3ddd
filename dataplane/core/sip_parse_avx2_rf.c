/*
 * sip_parse_avx2_rf.c - sip_parse_avx2.c's grammar that also keeps the values of the
 * headers only rules read (User-Agent, Server, Contact): sip_parse_rf() calls it when
 * avx2 is the chosen scanner.
 */
#define SIP_ISA         SIP_ISA_AVX2
#define SIP_PARSE_FN    sip_parse_avx2_rf
#define SIP_RULE_FIELDS 1

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
