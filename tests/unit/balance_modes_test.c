/*
 * balance_modes_test.c -- guards leastconn and random2 (common/balance.c):
 * the fewest active connections per weight, ties by weight, two weighted
 * picks, down and drained backends, and a reject backend's exact share.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "balance_test.h"

static char
letter(int k)
{
	return k < 0 ? '-' : (char)('a' + k);
}

/*
 * count leastconn choices as letters; with hold, each chosen backend keeps
 * its connection (active grows), else every connection ends at once.
 */
static void
leastconn_seq(const struct routes_backend *b, uint32_t n, int64_t *cur, const uint8_t *skip,
    uint64_t *active, int hold, unsigned count, char *out)
{
	for (unsigned i = 0; i < count; i++) {
		int k = balance_leastconn(b, n, cur, skip, active);

		out[i] = letter(k);
		if (hold && k >= 0 && !(b[k].flags & ROUTES_BACKEND_REJECT))
			active[k]++;
	}
	out[count] = '\0';
}

Test(balance_modes, leastconn_with_nothing_held_spreads_by_weight)
{
	static const uint32_t w[] = { 3, 1 }, w3[] = { 5, 1, 1 };
	struct routes_backend b[3];
	uint64_t active[3] = { 0 };
	int64_t cur[3] = { 0 };
	char seq[32];

	make(b, w, NULL, 2);
	leastconn_seq(b, 2, cur, NULL, active, 0, 8, seq);
	cr_assert_str_eq(seq, "aabaaaba", "all tied: smooth weighted round robin");
	make(b, w3, NULL, 3);
	memset(cur, 0, sizeof(cur));
	leastconn_seq(b, 3, cur, NULL, active, 0, 14, seq);
	cr_assert_str_eq(seq, "aabacaaaabacaa", "nginx's sequence when every count is 0");
}

Test(balance_modes, leastconn_takes_the_fewest_per_weight)
{
	static const uint32_t eq[] = { 1, 1 }, w31[] = { 3, 1 };
	struct routes_backend b[2];
	uint64_t active[2] = { 8, 0 };
	int64_t cur[2] = { 0 };
	char seq[32];

	make(b, eq, NULL, 2);
	leastconn_seq(b, 2, cur, NULL, active, 1, 10, seq);
	cr_assert_str_eq(seq, "bbbbbbbbab", "b until it holds as many as a, then turns");
	cr_assert_eq(active[0], 9);
	cr_assert_eq(active[1], 9);
	/* 6 on weight 3 is 2 per weight, 3 on weight 1 is 3: a. */
	make(b, w31, NULL, 2);
	active[0] = 6;
	active[1] = 3;
	memset(cur, 0, sizeof(cur));
	cr_assert_eq(balance_leastconn(b, 2, cur, NULL, active), 0);
	active[1] = 1;		/* 2 per weight against 1: b */
	cr_assert_eq(balance_leastconn(b, 2, cur, NULL, active), 1);
	/* Held connections, weights 3:1, from nothing: 3:1 at every multiple of 4. */
	active[0] = active[1] = 0;
	memset(cur, 0, sizeof(cur));
	leastconn_seq(b, 2, cur, NULL, active, 1, 12, seq);
	cr_assert_str_eq(seq, "abaaabaabaaa", "ties (1 per weight, 2 per weight) by weight");
	cr_assert_eq(active[0], 9);
	cr_assert_eq(active[1], 3);
}

Test(balance_modes, leastconn_large_counts_and_weights_do_not_overflow)
{
	static const uint32_t w[] = { ROUTES_WEIGHT_MAX, 1 };
	struct routes_backend b[2];
	uint64_t active[2] = { (uint64_t)1 << 32, 4295 };
	int64_t cur[2] = { 0 };

	make(b, w, NULL, 2);
	/* 2^32 / 10^6 = 4294.97 per weight, against 4295: a. */
	cr_assert_eq(balance_leastconn(b, 2, cur, NULL, active), 0);
	active[1] = 4294;
	cr_assert_eq(balance_leastconn(b, 2, cur, NULL, active), 1);
}

Test(balance_modes, leastconn_skips_down_and_drained_backends)
{
	static const uint32_t w[] = { 1, 0, 1 }, one[] = { 0, 0 };
	static const uint8_t skip_c[] = { 0, 0, 1 }, skip_all[] = { 1, 1, 1 };
	struct routes_backend b[3];
	uint64_t active[3] = { 5, 0, 0 };
	int64_t cur[3] = { 0 };
	char seq[16];

	make(b, w, NULL, 3);
	leastconn_seq(b, 3, cur, NULL, active, 0, 4, seq);
	cr_assert_str_eq(seq, "cccc", "b drained takes nothing though it holds none");
	leastconn_seq(b, 3, cur, skip_c, active, 0, 3, seq);
	cr_assert_str_eq(seq, "aaa", "c is down: a, however loaded");
	cr_assert_eq(balance_leastconn(b, 3, cur, skip_all, active), -1);
	make(b, one, NULL, 2);
	cr_assert_eq(balance_leastconn(b, 2, cur, NULL, active), -1, "every weight 0");
}

Test(balance_modes, a_reject_backend_keeps_its_exact_share_under_leastconn)
{
	static const uint32_t w[] = { 2, 1, 1 }, f[] = { 0, 0, ROUTES_BACKEND_REJECT };
	static const uint32_t w2[] = { 1, 1 }, f2[] = { 0, ROUTES_BACKEND_REJECT };
	static const uint32_t wr[] = { 1, 2 }, fr[] = { ROUTES_BACKEND_REJECT, ROUTES_BACKEND_REJECT };
	struct routes_backend b[3];
	uint64_t active[3] = { 0 };
	int64_t cur[3] = { 0 };
	char seq[64];
	unsigned c = 0;

	make(b, w2, f2, 2);
	active[0] = 1000;
	leastconn_seq(b, 2, cur, NULL, active, 0, 6, seq);
	cr_assert_str_eq(seq, "ababab", "the load of a does not move the alerts' share");
	/* Held connections, a heavily loaded: still one in four is an alert. */
	make(b, w, f, 3);
	memset(cur, 0, sizeof(cur));
	active[0] = 100;
	active[1] = 0;
	leastconn_seq(b, 3, cur, NULL, active, 1, 40, seq);
	for (unsigned i = 0; seq[i] != '\0'; i++)
		c += seq[i] == 'c';
	cr_assert_eq(c, 10, "reject weight 1 of 4 over 40: exactly 10 (%s)", seq);
	cr_assert_eq(active[0], 100, "a holds the most per weight: none while b is below (%s)", seq);
	/* Only reject backends: they take turns by weight. */
	make(b, wr, fr, 2);
	memset(cur, 0, sizeof(cur));
	leastconn_seq(b, 2, cur, NULL, active, 0, 6, seq);
	cr_assert_str_eq(seq, "babbab");
}

Test(balance_modes, random2_takes_the_less_loaded_of_two_weighted_picks)
{
	static const uint32_t w[] = { 3, 1 };
	struct routes_backend b[2];
	uint64_t active[2] = { 0, 0 };
	int64_t cur[2] = { 0 };

	make(b, w, NULL, 2);
	/* r mod 4: 0, 1, 2 fall on a (weight 3), 3 on b. */
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 0, 3), 0, "a tie: the first pick");
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 7, 2), 1, "7 mod 4 is b");
	active[0] = 4;		/* 4/3 per weight against 0: b */
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 1, 3), 1);
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 3, 1), 1);
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 1, 2), 0, "both picks a: a");
	active[1] = 2;		/* 4/3 against 2: a */
	cr_assert_eq(balance_random2(b, 2, cur, NULL, active, 3, 0), 0);
}

Test(balance_modes, random2_skips_down_drained_and_takes_reject_share_exactly)
{
	static const uint32_t w[] = { 1, 0, 1, 1 }, f[] = { 0, 0, 0, ROUTES_BACKEND_REJECT };
	static const uint8_t skip_a[] = { 1, 0, 0, 0 };
	struct routes_backend b[4];
	uint64_t active[4] = { 0 };
	int64_t cur[4] = { 0 };
	char seq[16];

	make(b, w, f, 4);
	/* Serving weight 2 (a, c), reject 1 (d): d every third turn; a, c by the draws. */
	for (unsigned i = 0; i < 8; i++)
		seq[i] = letter(balance_random2(b, 4, cur, NULL, active, i, i));
	seq[8] = '\0';
	cr_assert_str_eq(seq, "adacdcad");
	memset(cur, 0, sizeof(cur));
	for (unsigned i = 0; i < 4; i++)
		seq[i] = letter(balance_random2(b, 4, cur, skip_a, active, i, i + 1));
	seq[4] = '\0';
	cr_assert_str_eq(seq, "cdcd", "a is down, b drained");
}

Test(balance_modes, random_is_a_fixed_sequence_per_seed_and_never_stuck)
{
	uint64_t s = 1, t = 1, first = balance_random(&s);

	cr_assert_eq(first, balance_random(&t));
	for (int i = 0; i < 1000; i++)
		cr_assert_neq(balance_random(&s), 0);
	cr_assert_neq(s, 0);
}
