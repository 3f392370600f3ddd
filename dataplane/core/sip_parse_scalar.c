/*
 * sip_parse_scalar.c - the SIP grammar (sip_parse_tmpl.h) built on the scalar
 * primitives of sip_scan.h. sip.c calls it when it is the chosen scanner.
 */
#define SIP_ISA      SIP_ISA_SCALAR
#define SIP_PARSE_FN sip_parse_scalar

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
