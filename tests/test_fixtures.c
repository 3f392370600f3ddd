/*
 * test_fixtures.c - packet-in / verdict-out: every frame of tests/data/fixtures/ (*.fix,
 * written by gen.py there) through the real dp_worker_burst() on a net_ring vdev
 * (tests/fuzz/worker_env.c), one Criterion process per fixture. Each fixture says what
 * the worker must do with its frame: drop it, raising exactly one named counter, or
 * forward it to a named backend as an exact output frame, raising the anomaly counters it
 * lists. Every counter of the worker is compared, not only the expected one; and a drop
 * reason of stats.h, pkt.h or sip.h without a fixture fails the suite.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <rte_mbuf.h>

#include "siphon/pkt.h"
#include "siphon/sip.h"
#include "siphon/snap.h"
#include "siphon/sph.h"
#include "siphon/stats.h"
#include "worker_env.h"

#define FIX_DIR   SIPHON_TEST_DATA "/fixtures"
#define FIX_CONF  FIX_DIR "/fixtures.conf"
#define MAX_FIX   512
#define MAX_FRAME 2048

/* The port's MAC (gen.py's PORT_MAC: the bundled pcaps' balancer). */
static const uint8_t port_mac[6] = {0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10};

/*
 * Drop verdicts no frame can reach through the worker, and why. Listed here rather than
 * silently skipped, so that a new reason still needs a fixture or a line here.
 */
static const struct {
	enum sip_verdict v;
	const char *why;
} sip_unreachable[] = {
        {SIP_OVERSIZE, "a UDP payload is at most 65,527 octets, and an mbuf holds 2 KiB"},
};

/* Drop counters of stats.h one frame alone cannot raise, and why (the same rule). */
static const struct {
	const char *name;
	const char *why;
} stats_unreachable[] = {
        {"limit_invite", "a source's first requests pass (its burst): test_dp and "
                         "test_policy.sh send it more"},
        {"limit_register", "as limit_invite"},
        {"limit_options", "as limit_invite"},
        {"limit_other", "as limit_invite"},
        {"udp_bad_checksum", "only a port with udp_checksum = \"verify\" raises it, and the "
                             "fixtures' port keeps checksums as they come: test_dp checks it"},
        {"frag_ring_full", "takes more than one frame (a datagram's other fragments, a full "
                           "table or ring, a timeout): tests/test_frag.c raises it"},
        {"frag_table_full", "as frag_ring_full"},
        {"frag_timeout", "as frag_ring_full"},
        {"frag_overlap", "as frag_ring_full"},
        {"frag_duplicate", "as frag_ring_full"},
        {"frag_too_many", "as frag_ring_full"},
};

enum fix_kind { FIX_DROP = 1, FIX_FORWARD };

struct fixture {
	char name[64];
	char what[256];
	enum fix_kind kind;
	char counter[64];           /* drop: as written in the fixture */
	size_t ctr;                 /* drop: the counter's offset in struct stats_worker */
	char backend[CFG_NAME_MAX]; /* forward */
	char label[64];             /* forward: request method, or response class "2xx" */
	uint32_t anomalies;         /* forward: SIP_ANOMALY_BIT()s */
	unsigned split;             /* "mbuf: split N": two segments, N bytes in the first */
	int headroom;               /* "mbuf: headroom N"; -1: the pool's default */
	uint8_t frame[MAX_FRAME];
	size_t len;
	uint8_t out[MAX_FRAME];
	size_t out_len;
};

static struct wenv E;

static void
suite_setup(void)
{
	char err[512];

	cr_assert_eq(wenv_setup(&E, "test_fixtures", FIX_CONF, port_mac, err, sizeof(err)), 0, "%s",
	             err);
}

static void
suite_teardown(void)
{
	wenv_teardown(&E);
}

TestSuite(fixtures, .init = suite_setup, .fini = suite_teardown);

/* ---- reading fixtures ---- */

static int
is_fix(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".fix") == 0;
}

/* The fixture file names, sorted; their number. */
static size_t
fix_list(char names[][64], size_t max)
{
	struct dirent **ent;
	int n = scandir(FIX_DIR, &ent, is_fix, alphasort);
	size_t k = 0;

	cr_assert_geq(n, 0, "cannot read %s", FIX_DIR);
	for (int i = 0; i < n; i++) {
		if (k < max && strlen(ent[i]->d_name) < 64)
			snprintf(names[k++], 64, "%s", ent[i]->d_name);
		else
			cr_assert_fail("%s: too many fixtures or too long a name", ent[i]->d_name);
		free(ent[i]);
	}
	free(ent);
	return k;
}

/* A counter name as the fixtures (and stats_print) write it -> offset in stats_worker. */
static bool
counter_off(const char *name, size_t *off)
{
	if (strncmp(name, "pkt.", 4) == 0) {
		for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++)
			if (strcmp(name + 4, pkt_verdict_name((enum pkt_verdict)v)) == 0) {
				*off = offsetof(struct stats_worker, pkt_drop) +
				       v * sizeof(uint64_t);
				return true;
			}
		return false;
	}
	if (strncmp(name, "sip.", 4) == 0) {
		for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
			if (sip_verdict_policy((enum sip_verdict)v) == SIP_POLICY_DROP &&
			    strcmp(name + 4, sip_verdict_name((enum sip_verdict)v)) == 0) {
				*off = offsetof(struct stats_worker, sip_drop) +
				       v * sizeof(uint64_t);
				return true;
			}
		return false;
	}
	for (unsigned i = 0; i < stats_nb_descs; i++)
		if (strcmp(name, stats_descs[i].name) == 0 &&
		    strncmp(stats_descs[i].doc, "drop:", 5) == 0) {
			*off = offsetof(struct stats_worker, c) + stats_descs[i].off;
			return true;
		}
	return false;
}

static bool
anomaly_of(const char *name, enum sip_verdict *out)
{
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++)
		if (sip_verdict_policy((enum sip_verdict)v) == SIP_POLICY_ANOMALY &&
		    strcmp(name, sip_verdict_name((enum sip_verdict)v)) == 0) {
			*out = (enum sip_verdict)v;
			return true;
		}
	return false;
}

static size_t
unhex(const char *file, const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), k;

	cr_assert(n % 2 == 0 && n / 2 <= max, "%s: odd or over-long hex (%zu digits)", file, n);
	for (k = 0; k < n / 2; k++) {
		unsigned b;

		cr_assert(sscanf(s + 2 * k, "%2x", &b) == 1, "%s: not hex at %zu", file, 2 * k);
		out[k] = (uint8_t)b;
	}
	return k;
}

/* Parse one fixture file; any defect in it fails the test that reads it. */
static void
fix_load(const char *file, struct fixture *f)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	bool have_frame = false, have_out = false;
	FILE *fp;

	memset(f, 0, sizeof(*f));
	f->headroom = -1;
	snprintf(f->name, sizeof(f->name), "%.*s", (int)(strlen(file) - 4), file);
	snprintf(path, sizeof(path), "%s/%s", FIX_DIR, file);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "cannot open %s", path);
	while (getline(&line, &cap, fp) > 0) {
		char *v;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		v = strstr(line, ": ");
		cr_assert_not_null(v, "%s: line without \"key: value\": %s", file, line);
		*v = '\0';
		v += 2;
		if (strcmp(line, "what") == 0) {
			snprintf(f->what, sizeof(f->what), "%s", v);
		} else if (strcmp(line, "expect") == 0) {
			char a[64], b[64], c[64];
			int n = sscanf(v, "%63s %63s %63s", a, b, c);

			if (n == 2 && strcmp(a, "drop") == 0) {
				f->kind = FIX_DROP;
				snprintf(f->counter, sizeof(f->counter), "%s", b);
				cr_assert(counter_off(b, &f->ctr), "%s: no drop counter %s", file,
				          b);
			} else if (n == 3 && strcmp(a, "forward") == 0) {
				f->kind = FIX_FORWARD;
				snprintf(f->backend, sizeof(f->backend), "%s", b);
				snprintf(f->label, sizeof(f->label), "%s", c);
			} else {
				cr_assert_fail("%s: expect \"%s\": want \"drop COUNTER\" or "
				               "\"forward BACKEND METHOD|Nxx\"",
				               file, v);
			}
		} else if (strcmp(line, "anomaly") == 0) {
			enum sip_verdict a;

			cr_assert(anomaly_of(v, &a), "%s: no anomaly %s", file, v);
			f->anomalies |= SIP_ANOMALY_BIT(a);
		} else if (strcmp(line, "mbuf") == 0) {
			unsigned n;

			if (sscanf(v, "split %u", &n) == 1)
				f->split = n;
			else if (sscanf(v, "headroom %u", &n) == 1 && n <= RTE_PKTMBUF_HEADROOM)
				f->headroom = (int)n;
			else
				cr_assert_fail("%s: mbuf \"%s\": want split N or headroom N", file,
				               v);
		} else if (strcmp(line, "frame") == 0) {
			f->len = unhex(file, v, f->frame, sizeof(f->frame));
			have_frame = true;
		} else if (strcmp(line, "out") == 0) {
			f->out_len = unhex(file, v, f->out, sizeof(f->out));
			have_out = true;
		} else {
			cr_assert_fail("%s: unknown key %s", file, line);
		}
	}
	free(line);
	fclose(fp);
	cr_assert(f->kind != 0, "%s: no expect line", file);
	cr_assert(have_frame, "%s: no frame", file);
	cr_assert(f->kind == FIX_FORWARD ? have_out : !have_out,
	          "%s: an out frame goes with forward, and only with it", file);
	cr_assert(f->kind == FIX_FORWARD || f->anomalies == 0,
	          "%s: anomalies are counted on forwarded messages only", file);
	cr_assert(f->split == 0 || (f->split < f->len && f->headroom < 0),
	          "%s: split %u of a %zu-byte frame", file, f->split, f->len);
}

/* ---- running one ---- */

static struct rte_mbuf *
mbuf_of(const uint8_t *b, size_t len, int headroom)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(E.dp.pool);
	char *d;

	cr_assert_not_null(m);
	if (headroom >= 0)
		m->data_off = (uint16_t)headroom;
	d = rte_pktmbuf_append(m, (uint16_t)len);
	cr_assert(len == 0 || d != NULL);
	if (len != 0)
		memcpy(d, b, len);
	m->port = E.port_id;
	return m;
}

static struct rte_mbuf *
fix_mbuf(const struct fixture *f)
{
	struct rte_mbuf *m;

	if (f->split == 0)
		return mbuf_of(f->frame, f->len, f->headroom);
	m = mbuf_of(f->frame, f->split, -1);
	cr_assert_eq(rte_pktmbuf_chain(m, mbuf_of(f->frame + f->split, f->len - f->split, -1)), 0);
	return m;
}

/* The snapshot's backend named name: its counter slot. */
static unsigned
backend_slot(const char *fix, const char *name)
{
	const struct snap *s = E.dp.snap;

	for (uint32_t i = 0; i < s->nb_backends; i++)
		if (strcmp(s->info[i].name, name) == 0)
			return s->backends[i].slot;
	cr_assert_fail("%s: no backend %s in %s", fix, name, FIX_CONF);
	return 0;
}

static const char *
backend_of_mac(const uint8_t *mac)
{
	for (unsigned g = 0; g < E.cfg->nb_groups; g++)
		for (unsigned b = 0; b < E.cfg->groups[g].nb_backends; b++) {
			const struct cfg_backend *be = &E.cfg->groups[g].backends[b];

			if (be->has_mac && memcmp(be->mac, mac, 6) == 0)
				return be->name;
		}
	return "(no backend's MAC)";
}

/* Name of the counter at byte offset off of struct stats_worker, for messages. */
static const char *
counter_name(size_t off, char *buf, size_t len)
{
	size_t pk = offsetof(struct stats_worker, pkt_drop),
	       sd = offsetof(struct stats_worker, sip_drop),
	       sa = offsetof(struct stats_worker, sip_anomaly),
	       be = offsetof(struct stats_worker, backend), c = offsetof(struct stats_worker, c);

	for (unsigned i = 0; i < stats_nb_descs; i++)
		if (off == c + stats_descs[i].off)
			return stats_descs[i].name;
	if (off >= pk && off < pk + PKT_VERDICT_COUNT * 8)
		snprintf(buf, len, "pkt.%s", pkt_verdict_name((enum pkt_verdict)((off - pk) / 8)));
	else if (off >= sd && off < sd + SIP_VERDICT_COUNT * 8)
		snprintf(buf, len, "sip.%s", sip_verdict_name((enum sip_verdict)((off - sd) / 8)));
	else if (off >= sa && off < sa + SIP_VERDICT_COUNT * 8)
		snprintf(buf, len, "anomaly.%s",
		         sip_verdict_name((enum sip_verdict)((off - sa) / 8)));
	else if (off >= be)
		snprintf(buf, len, "backend[%zu] word %zu",
		         (off - be) / sizeof(struct stats_backend),
		         (off - be) % sizeof(struct stats_backend) / 8);
	else
		snprintf(buf, len, "word at %zu", off);
	return buf;
}

static void
expect_counters(const struct fixture *f, struct stats_worker *want)
{
	want->rx_packets = 1;
	want->rx_bytes = f->len;
	if (f->kind == FIX_DROP) {
		(*(uint64_t *)((uint8_t *)want + f->ctr))++;
		return;
	}
	struct stats_backend *b = &want->backend[backend_slot(f->name, f->backend)];

	want->forwarded = want->tx_packets = 1;
	want->tx_bytes = f->out_len;
	b->packets = 1;
	b->bytes = f->len;
	if (strlen(f->label) == 3 && f->label[0] >= '1' && f->label[0] <= '6' &&
	    strcmp(f->label + 1, "xx") == 0)
		b->responses[f->label[0] - '1'] = 1;
	else
		b->requests[sip_method_of((const uint8_t *)f->label, strlen(f->label))] = 1;
	for (uint32_t a = f->anomalies; a != 0; a &= a - 1)
		want->sip_anomaly[__builtin_ctz(a)] = 1;
}

static void
run_fixture(const struct fixture *f)
{
	struct stats_worker *want = calloc(1, sizeof(*want));
	const uint64_t *got = (const uint64_t *)E.w->st, *x = (const uint64_t *)want;
	struct rte_mbuf *m = fix_mbuf(f), *out[4];
	unsigned n;
	char buf[64];

	cr_assert_not_null(want);
	memset(E.w->st, 0, sizeof(*E.w->st));
	dp_worker_burst(E.w, &m, 1);
	n = wenv_tx_take(&E, out, 4);
	if (f->kind == FIX_DROP) {
		cr_assert_eq(n, 0, "%s (%s): %u frames sent, want a drop by %s", f->name, f->what,
		             n, f->counter);
	} else {
		const uint8_t *o;

		cr_assert_eq(n, 1, "%s (%s): %u frames sent, want one to %s", f->name, f->what, n,
		             f->backend);
		o = rte_pktmbuf_mtod(out[0], const uint8_t *);
		cr_assert_eq(out[0]->nb_segs, 1, "%s: output in %u segments", f->name,
		             out[0]->nb_segs);
		cr_assert(out[0]->data_len >= 6 && strcmp(backend_of_mac(o), f->backend) == 0,
		          "%s (%s): sent to %s, want %s", f->name, f->what,
		          out[0]->data_len >= 6 ? backend_of_mac(o) : "(a runt)", f->backend);
		cr_assert_eq(out[0]->pkt_len, f->out_len, "%s: sent %u bytes, want %zu", f->name,
		             out[0]->pkt_len, f->out_len);
		for (size_t i = 0; i < f->out_len; i++)
			cr_assert_eq(o[i], f->out[i], "%s: output byte %zu is %#04x, want %#04x",
			             f->name, i, o[i], f->out[i]);
		rte_pktmbuf_free(out[0]);
	}
	expect_counters(f, want);
	for (size_t i = 0; i < sizeof(*want) / 8; i++)
		cr_assert_eq(got[i], x[i], "%s (%s): counter %s is %lu, want %lu", f->name, f->what,
		             counter_name(i * 8, buf, sizeof(buf)), (unsigned long)got[i],
		             (unsigned long)x[i]);
	cr_assert_eq(wenv_pool_avail(&E), WENV_POOL_N, "%s: %u of %u mbufs back in the pool",
	             f->name, wenv_pool_avail(&E), WENV_POOL_N);
	free(want);
}

ParameterizedTestParameters(fixtures, frame)
{
	static char names[MAX_FIX][64];
	static size_t idx[MAX_FIX];
	size_t n = fix_list(names, MAX_FIX);

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, n);
}

ParameterizedTest(size_t *i, fixtures, frame)
{
	static char names[MAX_FIX][64];
	static struct fixture f;
	size_t n = fix_list(names, MAX_FIX);

	cr_assert_lt(*i, n);
	fix_load(names[*i], &f);
	run_fixture(&f);
}

/* ---- the fixture set covers every reason ---- */

static bool
covered(const struct fixture *all, size_t n, size_t ctr)
{
	for (size_t k = 0; k < n; k++)
		if (all[k].kind == FIX_DROP && all[k].ctr == ctr)
			return true;
	return false;
}

/* Each drop counter of stats.h, each decoder verdict but PKT_OK, each scanner drop
 * verdict (but those listed unreachable) and each anomaly has a fixture of its own. */
Test(fixtures, every_reason_has_a_fixture)
{
	static char names[MAX_FIX][64];
	static struct fixture all[MAX_FIX];
	size_t n = fix_list(names, MAX_FIX), off;
	uint32_t anomalies = 0;
	unsigned missing = 0, drops = 0;
	char buf[64];

	cr_assert_gt(n, 0, "no fixture in %s", FIX_DIR);
	for (size_t k = 0; k < n; k++) {
		fix_load(names[k], &all[k]);
		anomalies |= all[k].anomalies;
	}
	for (unsigned i = 0; i < stats_nb_descs; i++) {
		if (strncmp(stats_descs[i].doc, "drop:", 5) != 0)
			continue;
		drops++;
		off = offsetof(struct stats_worker, c) + stats_descs[i].off;
		bool exempt = false;

		for (size_t k = 0; k < SPH_ARRAY_SIZE(stats_unreachable); k++)
			exempt |= strcmp(stats_unreachable[k].name, stats_descs[i].name) == 0;
		if (exempt) {
			cr_expect(!covered(all, n, off),
			          "%s has a fixture: take it off "
			          "stats_unreachable[]",
			          stats_descs[i].name);
		} else if (!covered(all, n, off)) {
			cr_log_error("no fixture drops by %s", stats_descs[i].name);
			missing++;
		}
	}
	cr_expect_gt(drops, 0u, "stats.h documents no \"drop:\" counter");
	for (unsigned v = 1; v < PKT_VERDICT_COUNT; v++) {
		off = offsetof(struct stats_worker, pkt_drop) + v * 8;
		if (!covered(all, n, off)) {
			cr_log_error("no fixture drops by %s", counter_name(off, buf, sizeof(buf)));
			missing++;
		}
	}
	for (unsigned v = 1; v < SIP_VERDICT_COUNT; v++) {
		enum sip_policy p = sip_verdict_policy((enum sip_verdict)v);
		bool exempt = false;

		for (size_t k = 0; k < SPH_ARRAY_SIZE(sip_unreachable); k++)
			exempt |= sip_unreachable[k].v == (enum sip_verdict)v;
		off = offsetof(struct stats_worker, sip_drop) + v * 8;
		if (p == SIP_POLICY_DROP && exempt) {
			cr_expect(!covered(all, n, off),
			          "%s has a fixture: take it off sip_unreachable[]",
			          sip_verdict_name((enum sip_verdict)v));
		} else if (p == SIP_POLICY_DROP && !covered(all, n, off)) {
			cr_log_error("no fixture drops by %s", counter_name(off, buf, sizeof(buf)));
			missing++;
		} else if (p == SIP_POLICY_ANOMALY && !(anomalies & SIP_ANOMALY_BIT(v))) {
			cr_log_error("no fixture forwards with anomaly %s",
			             sip_verdict_name((enum sip_verdict)v));
			missing++;
		}
	}
	cr_expect_eq(missing, 0u,
	             "%u reasons without a fixture (above): add them to "
	             "tests/data/fixtures/gen.py",
	             missing);
}
