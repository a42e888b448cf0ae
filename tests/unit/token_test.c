/*
 * token_test.c -- common/token.c: client bytes become one log token that
 * cannot hold a space, '=' or a newline, and whose encoding is reversible.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "token.h"

Test(token_escape, safe_bytes_are_kept)
{
	char out[64];

	cr_assert_eq(token_escape(out, sizeof(out), "http/1.1", ","), 8);
	cr_assert_str_eq(out, "http/1.1");
	token_escape(out, sizeof(out), "h2,http/1.1", ",");
	cr_assert_str_eq(out, "h2,http/1.1");
	token_escape(out, sizeof(out), "a-b_c.d~e:f", NULL);
	cr_assert_str_eq(out, "a-b_c.d~e:f");
}

Test(token_escape, a_forged_field_stays_inside_its_token)
{
	char out[128];

	token_escape(out, sizeof(out), "h2 client=6.6.6.6 reason=normal route=admin", ",");
	cr_assert_str_eq(out, "h2%20client%3D6.6.6.6%20reason%3Dnormal%20route%3Dadmin");
	cr_assert_null(strchr(out, ' '));
	cr_assert_null(strchr(out, '='));
}

Test(token_escape, percent_controls_and_high_bytes_are_encoded)
{
	char out[64];

	token_escape(out, sizeof(out), "100%\n\x7f\xff\"", NULL);
	cr_assert_str_eq(out, "100%25%0A%7F%FF%22");
	/* Without "," in extra, a comma is encoded too. */
	token_escape(out, sizeof(out), "a,b", NULL);
	cr_assert_str_eq(out, "a%2Cb");
}

Test(token_escape, cut_between_encodings_never_inside_one)
{
	char out[5];

	/* "ab" fits, "%20" (3 more) would need 6 bytes with the NUL: cut before it. */
	cr_assert_eq(token_escape(out, sizeof(out), "ab cd", NULL), 2);
	cr_assert_str_eq(out, "ab");
	cr_assert_eq(token_escape(out, 1, "ab", NULL), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(token_escape(out, 0, "ab", NULL), 0);
}

Test(token_escape, empty_input_is_empty)
{
	char out[4] = "xyz";

	cr_assert_eq(token_escape(out, sizeof(out), "", ","), 0);
	cr_assert_str_eq(out, "");
}
