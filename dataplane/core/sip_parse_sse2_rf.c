/*
 * sip_parse_sse2_rf.c - sip_parse_sse2.c's grammar that also keeps the values of the
 * headers only rules read (User-Agent, Server, Contact): sip_parse_rf() calls it when
 * sse2 is the chosen scanner.
 */
#define SIP_ISA         SIP_ISA_SSE2
#define SIP_PARSE_FN    sip_parse_sse2_rf
#define SIP_RULE_FIELDS 1

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
