/*
 * common_test.c -- the small shared helpers of common/: the TLS alert
 * record (annotated bytes), the log rate limiter, FNV-1a against its
 * published test values, and the clocks.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "tls.h"

Test(tls_alert, unrecognized_name_for_a_tls12_client)
{
	static const uint8_t want[] = {
		0x15,		/* ContentType alert(21) */
		0x03, 0x03,	/* legacy_record_version: the client's TLS 1.2 */
		0x00, 0x02,	/* length: 2 bytes of alert */
		0x02,		/* AlertLevel fatal(2) */
		0x70,		/* AlertDescription unrecognized_name(112) */
	};
	uint8_t got[TLS_ALERT_BYTES];

	cr_assert_eq(tls_alert(got, 0x0303, TLS_ALERT_UNRECOGNIZED_NAME), sizeof(want));
	cr_assert_arr_eq(got, want, sizeof(want));
}

Test(tls_alert, record_version_clamped_to_tls10_tls12)
{
	uint8_t got[TLS_ALERT_BYTES];

	/* SSL 3.0 {3,0} hello: answered as TLS 1.0 {3,1}. */
	tls_alert(got, 0x0300, TLS_ALERT_UNRECOGNIZED_NAME);
	cr_assert_eq(got[1], 0x03);
	cr_assert_eq(got[2], 0x01);
	/* A TLS 1.1 {3,2} hello keeps its own version. */
	tls_alert(got, 0x0302, TLS_ALERT_UNRECOGNIZED_NAME);
	cr_assert_eq(got[2], 0x02);
	/* A future {3,9} legacy_version: TLS 1.2, the highest record version. */
	tls_alert(got, 0x0309, TLS_ALERT_UNRECOGNIZED_NAME);
	cr_assert_eq(got[2], 0x03);
}

Test(log_limit, says_once_per_interval_and_counts_the_rest)
{
	struct log_limit l;
	uint64_t skipped = 99;

	memset(&l, 0, sizeof(l));
	cr_assert_eq(log_limit_due(&l, 5000, 1000, &skipped), 1);
	cr_assert_eq(skipped, 0);
	cr_assert_eq(log_limit_due(&l, 5001, 1000, &skipped), 0);
	cr_assert_eq(log_limit_due(&l, 5999, 1000, &skipped), 0);
	cr_assert_eq(log_limit_due(&l, 6000, 1000, &skipped), 1);
	cr_assert_eq(skipped, 2, "the two lines held back are reported");
	cr_assert_eq(log_limit_due(&l, 7000, 1000, &skipped), 1);
	cr_assert_eq(skipped, 0);
}

Test(hash, fnv1a_matches_published_values)
{
	/* Test vectors of the FNV reference code (Landon Curt Noll). */
	cr_assert_eq(hash_fnv32_str(""), 0x811c9dc5u);
	cr_assert_eq(hash_fnv32_str("a"), 0xe40c292cu);
	cr_assert_eq(hash_fnv32_str("foobar"), 0xbf9cf968u);
	cr_assert_eq(hash_fnv32(HASH_FNV32_BASIS, "foobar", 6), 0xbf9cf968u);
	cr_assert_eq(hash_fnv64(HASH_FNV64_BASIS, "a", 1), 0xaf63dc4c8601ec8cull);
	cr_assert_eq(hash_fnv64(HASH_FNV64_BASIS, "foobar", 6), 0x85944171f73967e8ull);
}

Test(clock, monotonic_units_agree_and_never_go_back)
{
	uint64_t ms = clock_ms(), us = clock_us(), ms2 = clock_ms();

	cr_assert_geq(us / 1000, ms);
	cr_assert_leq(us / 1000, ms2);
	cr_assert_geq(ms2, ms);
	/* Wall time is after 2020-01-01 (a sanity check of the unit, not the date). */
	cr_assert_gt(clock_wall_ms(), 1577836800000ull);
}
