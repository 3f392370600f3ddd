/*
 * fuzz_sip.c - libFuzzer driver for sip_parse(): runs every scanner this CPU and build offer
 * (sip_scan_select) on each input and aborts unless they agree byte for byte on the verdict, the
 * anomaly mask and the whole struct sip_msg, unless the verdict is never an anomaly and the mask
 * holds only anomalies, and unless a SIP_OK view stays inside the input with
 * msg_len + trailing == size. ASan/UBSan catch the rest; see README.md (crashes -> test rows).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/sip.h"
#include "siphon/sph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum sip_scan_impl impls[] = {SIP_SCAN_SCALAR, SIP_SCAN_SSE2, SIP_SCAN_AVX2};
static const char *const impl_names[] = {"scalar", "sse2", "avx2"};

static void
fail(const char *what, const char *impl, enum sip_verdict v)
{
	fprintf(stderr, "fuzz_sip: %s (scanner %s, verdict %s)\n", what, impl, sip_verdict_name(v));
	abort();
}

static void
check_span(struct sip_span s, size_t size, const char *field, const char *impl)
{
	if ((size_t)s.off + s.len > size) {
		fprintf(stderr, "fuzz_sip: span %s [%u, +%u) beyond input of %zu octets\n", field,
		        s.off, s.len, size);
		fail("span outside the input", impl, SIP_OK);
	}
}

static void
check_ok(const struct sip_msg *m, size_t size, const char *impl)
{
#define CHECK(f) check_span(m->f, size, #f, impl)
	CHECK(method_name);
	CHECK(uri);
	CHECK(reason);
	CHECK(call_id);
	CHECK(cseq_num);
	CHECK(cseq_name);
	CHECK(via);
	CHECK(via_proto);
	CHECK(via_host);
	CHECK(via_branch);
	CHECK(via_received);
	CHECK(via_rport);
	CHECK(from);
	CHECK(from_tag);
	CHECK(to);
	CHECK(to_tag);
	CHECK(route);
	CHECK(body);
#undef CHECK
	if ((size_t)m->msg_len + m->trailing != size) {
		fprintf(stderr, "fuzz_sip: msg_len %u + trailing %u != size %zu\n", m->msg_len,
		        m->trailing, size);
		fail("framing does not cover the input", impl, SIP_OK);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg ref, m;
	enum sip_verdict vref = SIP_OK;
	const char *ref_name = NULL;

	for (unsigned i = 0; i < SPH_ARRAY_SIZE(impls); i++) {
		enum sip_verdict v;

		if (sip_scan_select(impls[i]) != 0)
			continue; /* not on this CPU or build */
		/* Same poison before every run, so fields a scanner leaves unset compare too. */
		memset(&m, 0xa5, sizeof(m));
		v = sip_parse(data, size, &m);
		if ((unsigned)v >= SIP_VERDICT_COUNT)
			fail("verdict outside enum sip_verdict", impl_names[i], v);
		if (sip_verdict_policy(v) == SIP_POLICY_ANOMALY)
			fail("an anomaly returned as the verdict", impl_names[i], v);
		if (v == SIP_OK && (m.anomalies & ~(uint32_t)SIP_ANOMALY_MASK) != 0)
			fail("a drop verdict in the anomaly mask", impl_names[i], v);
		if (v == SIP_OK)
			check_ok(&m, size, impl_names[i]);
		if (ref_name == NULL) {
			memcpy(&ref, &m, sizeof(ref)); /* padding too, should the struct gain any */
			vref = v;
			ref_name = impl_names[i];
			continue;
		}
		if (v != vref) {
			fprintf(stderr, "fuzz_sip: %s says %s, %s says %s\n", ref_name,
			        sip_verdict_name(vref), impl_names[i], sip_verdict_name(v));
			fail("scanners disagree on the verdict", impl_names[i], v);
		}
		if (m.anomalies != ref.anomalies) {
			fprintf(stderr, "fuzz_sip: %s records anomalies %#x, %s %#x\n", ref_name,
			        ref.anomalies, impl_names[i], m.anomalies);
			fail("scanners disagree on the anomalies", impl_names[i], v);
		}
		if (memcmp(&ref, &m, sizeof(m)) != 0) {
			const uint8_t *a = (const uint8_t *)&ref, *b = (const uint8_t *)&m;
			size_t k = 0;

			while (a[k] == b[k])
				k++;
			fprintf(stderr, "fuzz_sip: struct sip_msg differs from %s at offset %zu\n",
			        ref_name, k);
			fail("scanners disagree on struct sip_msg", impl_names[i], v);
		}
	}
	sip_scan_select(SIP_SCAN_AUTO);
	return 0;
}
