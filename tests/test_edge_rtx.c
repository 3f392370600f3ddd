/*
 * test_edge_rtx.c - Criterion suite for the edge's retransmission table
 * (control/edge_rtx.c) on a clock of its own: the schedule of Timer A/E (T1 doubling,
 * non-INVITE capped at T2) and B/F (64 T1), what a provisional and a final response do,
 * the bounds, and the index under keys that all collide, removed in every order.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "edge_rtx.h"

#define T1 100u

struct fired {
	uint64_t at[64];
	unsigned n, timeouts;
	uint64_t now;
	uint64_t last_key;
	bool keep;
};

static bool
fire(void *arg, const struct edge_rtx_req *r, const uint8_t *p, size_t n, bool timed_out)
{
	struct fired *f = arg;

	cr_assert(n == 5 && memcmp(p, "hello", 5) == 0, "the copy is handed back as it was");
	f->last_key = r->key;
	if (timed_out) {
		f->timeouts++;
		return false;
	}
	if (f->n < 64)
		f->at[f->n++] = f->now;
	return f->keep;
}

/* Run the table every ms from 0 to until, as the edge's loop would. */
static void
run_until(struct edge_rtx *t, struct fired *f, uint64_t from, uint64_t until)
{
	for (f->now = from; f->now <= until; f->now++)
		edge_rtx_run(t, f->now, fire, f);
}

static struct edge_rtx_req
req(uint64_t key, bool invite)
{
	return (struct edge_rtx_req){
	        .key = key, .slot = 1, .gen = 2, .port = 5060, .invite = invite};
}

Test(edge_rtx, non_invite_doubles_to_t2_then_times_out_at_64_t1)
{
	struct edge_rtx *t = edge_rtx_new(8, 500); /* RFC 3261's T1: T2 is 8 T1 */
	struct fired f = {.keep = true};
	struct edge_rtx_req r = req(42, false);

	cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0), 0);
	run_until(t, &f, 0, 64 * 500 + 2 * EDGE_RTX_TICK_MS);
	/* T1, 2 T1, 4 T1 apart, then T2 (4 s) apart, the last before 64 T1 = 32 s */
	const uint64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	cr_assert_eq(f.n, 10, "%u sends", f.n);
	for (unsigned i = 0; i < 10; i++)
		cr_assert(f.at[i] >= want[i] && f.at[i] < want[i] + EDGE_RTX_TICK_MS,
		          "send %u at %lu", i, (unsigned long)f.at[i]);
	cr_assert_eq(f.timeouts, 1);
	cr_assert_eq(edge_rtx_pending(t), 0);
	edge_rtx_free(t);
}

Test(edge_rtx, invite_doubles_without_cap_and_stops_at_a_provisional)
{
	struct edge_rtx *t = edge_rtx_new(8, T1);
	struct fired f = {.keep = true};
	struct edge_rtx_req r = req(7, true);

	cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0), 0);
	run_until(t, &f, 0, 3200);
	/* 100, 300, 700, 1500, 3100: Timer A doubles (no T2 cap for INVITE) */
	cr_assert_eq(f.n, 5, "%u sends", f.n);
	cr_assert(f.at[4] >= 3100 && f.at[4] < 3100 + EDGE_RTX_TICK_MS);
	edge_rtx_answer(t, 7, 100, 3200);
	cr_assert_eq(edge_rtx_pending(t), 0, "any response ends an INVITE's retransmissions");
	run_until(t, &f, 3201, 10000);
	cr_assert_eq(f.n, 5);
	cr_assert_eq(f.timeouts, 0);
	edge_rtx_free(t);
}

Test(edge_rtx, provisional_slows_a_non_invite_to_t2_within_its_deadline)
{
	struct edge_rtx *t = edge_rtx_new(8, T1);
	struct fired f = {.keep = true};
	struct edge_rtx_req r = req(9, false);

	cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0), 0);
	run_until(t, &f, 0, 150);
	edge_rtx_answer(t, 9, 180, 150);
	cr_assert_eq(edge_rtx_pending(t), 1, "a provisional keeps a non-INVITE");
	run_until(t, &f, 151, 4100);
	cr_assert_eq(f.n, 1, "nothing between the 100 and T2 later");
	run_until(t, &f, 4101, 4200);
	cr_assert_eq(f.n, 2, "one send T2 after the provisional");
	/* A provisional near the deadline does not push Timer F past 64 T1. */
	edge_rtx_answer(t, 9, 100, 6300);
	run_until(t, &f, 4201, 64 * T1 + 2 * EDGE_RTX_TICK_MS);
	cr_assert_eq(f.timeouts, 1, "Timer F fired on time");
	edge_rtx_answer(t, 9, 200, 6500);
	cr_assert_eq(edge_rtx_pending(t), 0);
	edge_rtx_free(t);
}

Test(edge_rtx, final_response_ends_it_and_a_forgotten_client_too)
{
	struct edge_rtx *t = edge_rtx_new(8, T1);
	struct fired f = {.keep = false};
	struct edge_rtx_req a = req(1, false), b = req(2, false);

	cr_assert_eq(edge_rtx_add(t, &a, (const uint8_t *)"hello", 5, 0), 0);
	cr_assert_eq(edge_rtx_add(t, &b, (const uint8_t *)"hello", 5, 0), 0);
	cr_assert_eq(edge_rtx_add(t, &a, (const uint8_t *)"hello", 5, 0), 0,
	             "a key again: kept once");
	cr_assert_eq(edge_rtx_pending(t), 2);
	edge_rtx_answer(t, 1, 200, 50);
	edge_rtx_answer(t, 99, 200, 50); /* unknown: ignored */
	cr_assert_eq(edge_rtx_pending(t), 1);
	run_until(t, &f, 51, 200); /* fire() says b's client is gone */
	cr_assert_eq(edge_rtx_pending(t), 0);
	cr_assert_eq(f.last_key, 2);
	edge_rtx_free(t);
}

Test(edge_rtx, bounded_in_entries_and_zero_means_none)
{
	struct edge_rtx *t = edge_rtx_new(4, T1), *none = edge_rtx_new(0, T1);

	for (uint64_t k = 0; k < 4; k++) {
		struct edge_rtx_req r = req(k, false);
		cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0), 0);
	}
	struct edge_rtx_req r = req(4, false);
	cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0), -1, "full");
	cr_assert_eq(edge_rtx_add(none, &r, (const uint8_t *)"hello", 5, 0), -1, "no table");
	edge_rtx_free(t);
	edge_rtx_free(none);
}

/* Keys that all land on one index slot (the same low bits after the fold), added and then
 * answered in every rotation of their order: each is found until it is answered, and the
 * rest after it, whatever the backward shifts moved. */
Test(edge_rtx, colliding_keys_survive_removal_in_any_order)
{
	enum { N = 12 };
	for (unsigned rot = 0; rot < N; rot++) {
		for (unsigned stride = 1; stride < N; stride += 4) {
			struct edge_rtx *t = edge_rtx_new(N, T1);
			uint64_t keys[N];

			bool gone[N] = {false};

			for (unsigned i = 0; i < N; i++) {
				/* key ^ key >> 32 keeps the index's low bits at 5 for every one */
				keys[i] = (uint64_t)(i + 1) << 40 | 5u;
				struct edge_rtx_req r = req(keys[i], false);
				cr_assert_eq(edge_rtx_add(t, &r, (const uint8_t *)"hello", 5, 0),
				             0);
			}
			cr_assert_eq(edge_rtx_pending(t), N);
			for (unsigned j = 0; j < N; j++) {
				unsigned i = (rot + j * stride) % N;
				uint32_t before = edge_rtx_pending(t);

				edge_rtx_answer(t, keys[i], 200, 1);
				/* found (and gone) exactly when it was still there */
				cr_assert_eq(edge_rtx_pending(t), gone[i] ? before : before - 1,
				             "rot %u stride %u key %u", rot, stride, i);
				gone[i] = true;
			}
			/* whatever is left is still findable: answer all, the table empties */
			for (unsigned i = 0; i < N; i++)
				edge_rtx_answer(t, keys[i], 200, 1);
			cr_assert_eq(edge_rtx_pending(t), 0, "rot %u stride %u", rot, stride);
			edge_rtx_free(t);
		}
	}
}
