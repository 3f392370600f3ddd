/*
 * sip.c - the scanner's public face: verdict names and policies (from the table in
 * sip.h), method names, and the choice of the grammar build (scalar, SSE2, AVX2) that
 * sip_parse() runs. Pure C. The choice is made once at start-up from what the CPU offers;
 * sip_scan_select() may override it before workers run.
 */
#include <string.h>

#include <siphon/sip.h>

#include "sip_parse_impl.h"

/* The columns of SIP_VERDICTS (sip.h), indexed by verdict. */
static const struct {
	const char *name;
	const char *str;
	enum sip_policy policy;
} verdicts[SIP_VERDICT_COUNT] = {
#define X(id, name, policy, text) [id] = {name, text, policy},
        SIP_VERDICTS(X)
#undef X
};

_Static_assert(SIP_VERDICT_COUNT <= 32, "sip_msg.anomalies holds one bit per verdict");
_Static_assert((SIP_ANOMALY_MASK & SIP_ANOMALY_BIT(SIP_OK)) == 0, "SIP_OK is no anomaly");

const char *
sip_verdict_name(enum sip_verdict v)
{
	return (unsigned)v < SIP_VERDICT_COUNT ? verdicts[v].name : "unknown";
}

const char *
sip_verdict_str(enum sip_verdict v)
{
	return (unsigned)v < SIP_VERDICT_COUNT ? verdicts[v].str : "unknown verdict";
}

enum sip_policy
sip_verdict_policy(enum sip_verdict v)
{
	return (unsigned)v < SIP_VERDICT_COUNT ? verdicts[v].policy : SIP_POLICY_DROP;
}

static const char *const method_names[SIP_METHOD_COUNT] = {
        [SIP_METHOD_OTHER] = "OTHER",
        [SIP_METHOD_INVITE] = "INVITE",
        [SIP_METHOD_ACK] = "ACK",
        [SIP_METHOD_BYE] = "BYE",
        [SIP_METHOD_CANCEL] = "CANCEL",
        [SIP_METHOD_OPTIONS] = "OPTIONS",
        [SIP_METHOD_REGISTER] = "REGISTER",
        [SIP_METHOD_PRACK] = "PRACK",
        [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
        [SIP_METHOD_NOTIFY] = "NOTIFY",
        [SIP_METHOD_PUBLISH] = "PUBLISH",
        [SIP_METHOD_INFO] = "INFO",
        [SIP_METHOD_REFER] = "REFER",
        [SIP_METHOD_MESSAGE] = "MESSAGE",
        [SIP_METHOD_UPDATE] = "UPDATE",
};

const char *
sip_method_name(enum sip_method m)
{
	return (unsigned)m < SIP_METHOD_COUNT ? method_names[m] : "OTHER";
}

enum sip_method
sip_method_of(const uint8_t *p, size_t len)
{
	return sip_method_lookup(p, len);
}

/* ------------------------------------------------------------------------ */
/* Choice of implementation */

static sip_parse_fn
impl_get(enum sip_scan_impl impl)
{
	switch (impl) {
	case SIP_SCAN_SCALAR:
		return sip_parse_scalar;
#ifdef SIP_SCAN_SIMD
	case SIP_SCAN_SSE2:
		return sip_parse_sse2;
	case SIP_SCAN_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
		               ? sip_parse_avx2
		               : NULL;
	case SIP_SCAN_AUTO: {
		sip_parse_fn fn = impl_get(SIP_SCAN_AVX2);
		return fn != NULL ? fn : sip_parse_sse2;
	}
#else
	case SIP_SCAN_AUTO:
		return sip_parse_scalar;
	case SIP_SCAN_SSE2:
	case SIP_SCAN_AVX2:
		return NULL;
#endif
	}
	return NULL;
}

/* The same grammar with the rule fields (sip_parse_rf()). */
static sip_parse_fn
impl_rf(sip_parse_fn fn)
{
#ifdef SIP_SCAN_SIMD
	if (fn == sip_parse_avx2)
		return sip_parse_avx2_rf;
	if (fn == sip_parse_sse2)
		return sip_parse_sse2_rf;
#endif
	(void)fn;
	return sip_parse_scalar_rf;
}

/* The reference until the constructor below upgrades it. */
static sip_parse_fn parse_impl = sip_parse_scalar;
static sip_parse_fn parse_impl_rf = sip_parse_scalar_rf;

__attribute__((constructor)) static void
sip_scan_init(void)
{
	parse_impl = impl_get(SIP_SCAN_AUTO);
	parse_impl_rf = impl_rf(parse_impl);
}

int
sip_scan_select(enum sip_scan_impl impl)
{
	sip_parse_fn fn = impl_get(impl);

	if (fn == NULL)
		return -1;
	parse_impl = fn;
	parse_impl_rf = impl_rf(fn);
	return 0;
}

const char *
sip_scan_name(void)
{
#ifdef SIP_SCAN_SIMD
	if (parse_impl == sip_parse_avx2)
		return "avx2";
	if (parse_impl == sip_parse_sse2)
		return "sse2";
#endif
	return "scalar";
}

enum sip_verdict
sip_parse(const uint8_t *buf, size_t len, struct sip_msg *msg)
{
	return parse_impl(buf, len, msg);
}

enum sip_verdict
sip_parse_rf(const uint8_t *buf, size_t len, struct sip_msg *msg)
{
	return parse_impl_rf(buf, len, msg);
}
