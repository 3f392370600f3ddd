/*
 * sip_parse_scalar_rf.c - sip_parse_scalar.c's grammar that also keeps the values of the
 * headers only rules read (User-Agent, Server, Contact): sip_parse_rf() calls it when
 * scalar is the chosen scanner.
 */
#define SIP_ISA         SIP_ISA_SCALAR
#define SIP_PARSE_FN    sip_parse_scalar_rf
#define SIP_RULE_FIELDS 1

#include "sip_parse_impl.h"
#include "sip_parse_tmpl.h"
