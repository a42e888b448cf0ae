/*
 * sha256_test.c -- common/sha256.c against the FIPS 180-4 example vectors
 * (NIST's "SHA256.pdf" and "SHA2_Additional.pdf": empty, "abc", the 448-
 * and 896-bit messages, a million 'a'), the padding's edges (55, 56, 63, 64
 * and 119 bytes, checked with sha256sum), and the same digest whatever the
 * pieces sha256_update is given.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* The hex digest of n bytes at data. */
static const char *
hex_of(const void *data, size_t n)
{
	static char hex[SHA256_HEX_SIZE];
	uint8_t d[SHA256_BYTES];

	sha256_digest(data, n, d);
	sha256_hex(d, hex);
	return hex;
}

/* The hex digest of n copies of c. */
static const char *
hex_of_repeated(char c, size_t n)
{
	char *buf = malloc(n + 1);
	const char *hex;

	cr_assert_not_null(buf);
	memset(buf, c, n);
	hex = hex_of(buf, n);
	free(buf);
	return hex;
}

Test(sha256, fips_180_4_examples)
{
	cr_assert_str_eq(hex_of("", 0),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cr_assert_str_eq(hex_of("abc", 3),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 448 bits: the padding's length no longer fits the first block. */
	cr_assert_str_eq(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	cr_assert_str_eq(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112),
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

Test(sha256, a_million_a)
{
	cr_assert_str_eq(hex_of_repeated('a', 1000000),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Around a block's end: the 0x80 and the 8-byte length fit, just fit, or spill. */
Test(sha256, padding_edges)
{
	cr_assert_str_eq(hex_of_repeated('a', 55),
	    "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	cr_assert_str_eq(hex_of_repeated('a', 56),
	    "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	cr_assert_str_eq(hex_of_repeated('a', 63),
	    "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
	cr_assert_str_eq(hex_of_repeated('a', 64),
	    "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
	cr_assert_str_eq(hex_of_repeated('a', 119),
	    "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
}

/* Fed in pieces of every size from 1 to 130 bytes, the digest is the one-call one. */
Test(sha256, pieces_make_the_same_digest)
{
	uint8_t msg[1000], whole[SHA256_BYTES], pieces[SHA256_BYTES];
	struct sha256 s;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	sha256_digest(msg, sizeof(msg), whole);
	for (size_t step = 1; step <= 130; step++) {
		sha256_init(&s);
		for (size_t off = 0; off < sizeof(msg); off += step)
			sha256_update(&s, msg + off, off + step <= sizeof(msg) ? step
			    : sizeof(msg) - off);
		sha256_final(&s, pieces);
		cr_assert_arr_eq(pieces, whole, SHA256_BYTES, "pieces of %zu bytes", step);
	}
}

Test(sha256, zero_means_none)
{
	uint8_t d[SHA256_BYTES] = { 0 };

	cr_assert(sha256_is_zero(d));
	d[SHA256_BYTES - 1] = 1;
	cr_assert_not(sha256_is_zero(d));
	sha256_digest("", 0, d);
	cr_assert_not(sha256_is_zero(d));
}
