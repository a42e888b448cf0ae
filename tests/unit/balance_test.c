/*
 * balance_test.c -- guards the choice of a route's backend (common/balance.c):
 * smooth weighted round robin's exact sequence, drained and reject
 * backends, and the next one after a failed connect.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "balance_test.h"

/* The next count choices as letters ("aab..."; '-' for none). */
static void
sequence(const struct routes_backend *b, uint32_t n, int64_t *cur, unsigned count, char *out)
{
	for (unsigned i = 0; i < count; i++) {
		int k = balance_swrr(b, n, cur, NULL);

		out[i] = k < 0 ? '-' : (char)('a' + k);
	}
	out[count] = '\0';
}

Test(balance, smooth_weighted_round_robin_is_nginx_sequence)
{
	static const uint32_t w[] = { 5, 1, 1 };
	struct routes_backend b[3];
	int64_t cur[3] = { 0 };
	char seq[32];

	make(b, w, NULL, 3);
	sequence(b, 3, cur, 14, seq);
	cr_assert_str_eq(seq, "aabacaaaabacaa", "the 7-long cycle, twice");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(cur[i], 0, "a whole cycle brings the state back to zero");
}

Test(balance, three_to_one_is_exact_every_four)
{
	static const uint32_t w[] = { 3, 1 };
	struct routes_backend b[2];
	int64_t cur[2] = { 0 };
	char seq[16];

	make(b, w, NULL, 2);
	sequence(b, 2, cur, 8, seq);
	cr_assert_str_eq(seq, "aabaaaba");
}

Test(balance, equal_weights_take_turns)
{
	static const uint32_t w[] = { 1, 1, 1 };
	struct routes_backend b[3];
	int64_t cur[3] = { 0 };
	char seq[16];

	make(b, w, NULL, 3);
	sequence(b, 3, cur, 6, seq);
	cr_assert_str_eq(seq, "abcabc");
}

Test(balance, weight_zero_is_never_chosen_and_all_zero_is_none)
{
	static const uint32_t w[] = { 0, 2, 0, 1 }, zero[] = { 0, 0 };
	struct routes_backend b[4];
	int64_t cur[4] = { 0 };
	char seq[16];

	make(b, w, NULL, 4);
	sequence(b, 4, cur, 6, seq);
	cr_assert_str_eq(seq, "bdbbdb");
	make(b, zero, NULL, 2);
	memset(cur, 0, sizeof(cur));
	cr_assert_eq(balance_swrr(b, 2, cur, NULL), -1);
}

Test(balance, a_reject_backend_takes_its_share)
{
	static const uint32_t w[] = { 1, 1 }, f[] = { 0, ROUTES_BACKEND_REJECT };
	struct routes_backend b[2];
	int64_t cur[2] = { 0 };
	char seq[16];

	make(b, w, f, 2);
	sequence(b, 2, cur, 4, seq);
	cr_assert_str_eq(seq, "abab", "the reject backend is chosen like any other");
}

Test(balance, next_after_a_failure_skips_drained_and_reject_and_wraps)
{
	static const uint32_t w[] = { 1, 0, 1, 1 }, f[] = { 0, 0, ROUTES_BACKEND_REJECT, 0 };
	static const uint32_t one[] = { 1, 0 };
	struct routes_backend b[4];

	make(b, w, f, 4);
	cr_assert_eq(balance_next(b, 4, 0), 3);
	cr_assert_eq(balance_next(b, 4, 3), 0, "wraps");
	cr_assert_eq(balance_next(b, 4, 1), 3);
	make(b, one, NULL, 2);
	cr_assert_eq(balance_next(b, 2, 0), -1, "none but the one that failed");
	cr_assert_eq(balance_next(b, 1, 0), -1);
}

Test(balance, spec_bounds)
{
	static const uint32_t ok[] = { 0, ROUTES_WEIGHT_MAX }, big[] = { ROUTES_WEIGHT_MAX + 1 };
	static const uint32_t flags[] = { ROUTES_BACKEND_REJECT, 0 }, bad_flags[] = { 4 };

	cr_assert(balance_spec_valid(ok, flags, 2));
	cr_assert(balance_spec_valid(NULL, NULL, 5));
	cr_assert_not(balance_spec_valid(big, NULL, 1));
	cr_assert_not(balance_spec_valid(NULL, bad_flags, 1));
}

Test(balance, skipped_backends_take_no_part)
{
	static const uint32_t w[] = { 1, 1, 1 };
	static const uint8_t skip_b[] = { 0, 1, 0 }, skip_all[] = { 1, 1, 1 };
	struct routes_backend b[3];
	int64_t cur[3] = { 0 };
	char seq[16];
	unsigned i;

	make(b, w, NULL, 3);
	for (i = 0; i < 6; i++) {
		int k = balance_swrr(b, 3, cur, skip_b);

		seq[i] = k < 0 ? '-' : (char)('a' + k);
	}
	seq[i] = '\0';
	cr_assert_str_eq(seq, "acacac");
	cr_assert_eq(balance_swrr(b, 3, cur, skip_all), -1);
}
