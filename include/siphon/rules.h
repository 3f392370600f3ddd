/**
 * @file rules.h
 * Operator rules on SIP fields, matched by Hyperscan: which rule, if any, an initial
 * request meets (issue 10; docs/protection.md).
 *
 * A rule is a name and one or more conditions, each a regular expression (Hyperscan
 * syntax, optionally caseless) on one field's value: method, Request-URI, From, To,
 * User-Agent (or Server), Contact, or one of RULES_HEADERS headers the caller names. A rule matches
 * when all its conditions do; of the rules that match (and that the caller's own test accepts:
 * source prefixes, VIP), the first in order wins. The control plane compiles the conditions into
 * Hyperscan databases, one per field (rules_compile(): never on a worker); a worker then scans each
 * field some rule needs once, in place in the packet (rules_match()): the cost grows with the
 * fields the rules use, hardly with how many rules there are. Each expression is matched against
 * the field's value alone, as Hyperscan's block mode reads a buffer: "^" and "$" are the value's
 * start and end. Rules of several conditions are put together after the scans, from the conditions
 * each reported.
 *
 * Memory: the compiled databases (rules_db_bytes()) are read-only and shared by every
 * worker; each worker owns a scratch (rules_scratch_new(), rules_scratch_bytes()).
 * Pure C and Hyperscan, no DPDK.
 */
#ifndef SIPHON_RULES_H
#define SIPHON_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/sip.h"

#define RULES_MAX       100000u /**< rules in one set, at most */
#define RULES_CONDS_MAX 8u      /**< conditions of one rule, at most */
#define RULES_NAME_MAX  64u     /**< bytes of a rule's name with its NUL */

/** The fields a condition may test. */
enum rules_field {
	RULES_METHOD = 0, /**< the request's method token */
	RULES_RURI,       /**< Request-URI */
	RULES_FROM,       /**< From value (display name, URI, parameters) */
	RULES_TO,         /**< To value */
	RULES_UA,         /**< User-Agent value, or Server when there is no User-Agent */
	RULES_CONTACT,    /**< first Contact value */
	/** Named headers: the caller decides which header each slot holds (the first one of
	 *  that name) and fills it; the engine treats them as any other field. */
	RULES_HDR0,
	RULES_HDR1,
	RULES_HDR2,
	RULES_HDR3,
	RULES_NB_FIELDS,
};

#define RULES_HEADERS 4u /**< named header slots, RULES_HDR0.. */

/** One condition: a regular expression on one field. */
struct rules_cond {
	uint8_t field;     /**< enum rules_field */
	uint8_t caseless;  /**< 1: letters match either case */
	const char *regex; /**< Hyperscan syntax, NUL-terminated */
};

/** One rule, as the configuration gives it. */
struct rules_def {
	const char *name; /**< 1..RULES_NAME_MAX-1 characters, for messages and counters */
	const struct rules_cond *conds;
	unsigned nb_conds; /**< 1..RULES_CONDS_MAX, all of which must match */
};

/** A compiled rule set: immutable, shared by every worker. */
struct rules;

/** A worker's scratch for rules_match(): one per thread that matches. */
struct rules_scratch;

/**
 * The field values of one message, as rules_match() reads them: pointers into the
 * message (sip_msg spans applied to its bytes). A field the message lacks has len 0
 * and meets no condition.
 */
struct rules_input {
	const uint8_t *p[RULES_NB_FIELDS];
	uint16_t len[RULES_NB_FIELDS];
	uint8_t method; /**< enum sip_method of the method token (SIP_METHOD_OTHER: unknown) */
};

/**
 * Compile n rules into one set. Control plane: allocates, may take seconds for large n.
 *
 * @param err  On failure, one line naming the rule and, for a pattern Hyperscan refuses,
 *             its message: `rule "scanners": condition 2 (user_agent): Missing close
 *             parenthesis for group started at index 4.`
 * @return the set, or NULL (n > RULES_MAX, a rule without a name or conditions, too many
 *         conditions, an unknown field, a pattern that does not compile, out of memory).
 *         n == 0 gives a set that matches nothing and needs no field.
 */
struct rules *rules_compile(const struct rules_def *defs, unsigned n, char *err, size_t errlen);

/** Release a set (NULL: no-op). After every worker has stopped using it. */
void rules_free(struct rules *r);

/** Rules in the set. */
unsigned rules_count(const struct rules *r);

/** A rule's name (i < rules_count()). */
const char *rules_name(const struct rules *r, unsigned i);

/** Bit f set: some rule tests field f; a caller need fill only those in rules_input. */
uint32_t rules_fields(const struct rules *r);

/** Bytes of the compiled database (0 for an empty set). */
size_t rules_db_bytes(const struct rules *r);

/**
 * A scratch fit for r (and for any set it was grown for with rules_scratch_grow()).
 * Control plane. @return NULL on failure (out of memory).
 */
struct rules_scratch *rules_scratch_new(const struct rules *r);

/** Make s fit r too (a new set about to be published). @return 0, -1. */
int rules_scratch_grow(struct rules_scratch **s, const struct rules *r);

/** Bytes of a scratch. */
size_t rules_scratch_bytes(const struct rules_scratch *s);

/** Release a scratch (NULL: no-op). */
void rules_scratch_free(struct rules_scratch *s);

/**
 * The caller's own test of rule i for this message (source prefixes, VIP): nonzero when
 * the rule applies. NULL in rules_match(): every rule applies.
 */
typedef int (*rules_accept_fn)(void *ctx, unsigned rule);

/**
 * The first rule (lowest index) whose conditions all match in and that accept accepts.
 *
 * @return its index; -1 when none; -2 when Hyperscan failed (a scratch that does not fit
 *         r: a bug, counted by the caller); -3 when more conditions of rules with several
 *         met than rules_match() keeps (64 in one message) and one of those it did not
 *         keep is of a rule before any it found: the first rule is not known (counted by
 *         the caller, who decides what an unknown verdict means). Any lcore; no
 *         allocation, no locks, no syscalls.
 */
int rules_match(const struct rules *r, struct rules_scratch *s, const struct rules_input *in,
                rules_accept_fn accept, void *ctx);

/** Fill in from a scanned message's spans (the values of the fields r needs); the named
 *  header slots empty, for the caller to fill. */
void rules_input_of(struct rules_input *in, const uint8_t *buf, const struct sip_msg *m);

/** The configuration's name of a field ("request_uri"); NULL outside the enum. */
const char *rules_field_name(enum rules_field f);

/** The field of a configuration name; -1 when none. */
int rules_field_of(const char *name);

#endif /* SIPHON_RULES_H */
