/*
 * proxyproto_test.c -- the PROXY protocol parser on annotated v1 lines and
 * v2 headers (every field, every malformation, every prefix), and the two
 * builders: exact bytes, and their output parsed back.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "proxyproto.h"
#include "tunables.h"

/* The listener's budget in most tests: the daemon's default hello_bytes. */
#define MAX DEFAULT_HELLO_BYTES

/* The v2 signature, "\r\n\r\n\0\r\nQUIT\n" (spec 2.2). */
#define V2_SIG 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
/* The start of a TLS ClientHello record, as it follows a header. */
#define HELLO_START 0x16, 0x03, 0x01

#define BYTES(...) .bytes = (const uint8_t[]){ __VA_ARGS__ }, \
	.len = sizeof((const uint8_t[]){ __VA_ARGS__ })
#define TEXT(s) .bytes = (const uint8_t *)(s), .len = sizeof(s) - 1

/* --- Helpers. --- */

/* "192.0.2.1:443" or "[2001:db8::1]:443", port 0 allowed (addr_parse refuses it). */
static struct addr
addr_of(const char *text)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	bool v6 = text[0] == '[';
	size_t hn = (size_t)(colon - text) - (v6 ? 2 : 0);
	unsigned long port = strtoul(colon + 1, NULL, 10);
	uint8_t ip[16];
	struct addr a;

	cr_assert(hn < sizeof(host) && port <= 65535, "%s", text);
	memcpy(host, text + v6, hn);
	host[hn] = '\0';
	cr_assert_eq(inet_pton(v6 ? AF_INET6 : AF_INET, host, ip), 1, "%s", text);
	memset(&a, 0, sizeof(a));
	if (v6) {
		a.u.in6.sin6_family = AF_INET6;
		memcpy(&a.u.in6.sin6_addr, ip, 16);
		a.u.in6.sin6_port = htons((uint16_t)port);
		a.len = sizeof(a.u.in6);
	} else {
		a.u.in.sin_family = AF_INET;
		memcpy(&a.u.in.sin_addr, ip, 4);
		a.u.in.sin_port = htons((uint16_t)port);
		a.len = sizeof(a.u.in);
	}
	return a;
}

static void
assert_addr(const struct addr *got, const char *want)
{
	char buf[ADDR_STRLEN];
	struct addr w = addr_of(want);

	cr_assert(addr_equal(got, &w), "address %s, want %s",
	    addr_format(got, buf, sizeof(buf)), want);
	cr_assert_eq(got->len, w.len);
}

static bool
addr_is_zero(const struct addr *a)
{
	static const struct addr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

/*
 * Feeds buf one byte at a time: every proper prefix of the header must say
 * -EAGAIN, and from hdr bytes on (trailing bytes included) the answer is hdr
 * with the same info. Returns that info.
 */
static struct proxy_info
parse_bytewise(const uint8_t *buf, size_t len, size_t hdr)
{
	struct proxy_info info, first;
	const char *why;
	ssize_t rc;

	for (size_t n = 0; n < hdr; n++) {
		rc = proxy_parse(buf, n, MAX, &info, &why);
		cr_assert_eq(rc, -EAGAIN, "prefix %zu of %zu: %zd (%s)", n, hdr, rc,
		    why ? why : "");
		cr_assert_null(why);
	}
	for (size_t n = hdr; n <= len; n++) {
		rc = proxy_parse(buf, n, MAX, &info, &why);
		cr_assert_eq(rc, (ssize_t)hdr, "at %zu bytes: %zd (%s)", n, rc, why ? why : "");
		cr_assert_null(why);
		if (n == hdr)
			first = info;
		cr_assert_arr_eq(&info, &first, sizeof(info), "info changed at %zu bytes", n);
	}
	return first;
}

/* A refusal: every proper prefix of at says -EAGAIN, at bytes say rc with why. */
static void
assert_refused_at(const uint8_t *buf, size_t len, size_t at, size_t max, ssize_t want,
    const char *why_part)
{
	struct proxy_info info;
	const char *why;
	ssize_t rc;

	for (size_t n = 0; n < at; n++) {
		rc = proxy_parse(buf, n, max, &info, &why);
		cr_assert_eq(rc, -EAGAIN, "prefix %zu: %zd (%s), want -EAGAIN until %zu", n, rc,
		    why ? why : "", at);
	}
	for (size_t n = at; n <= len; n++) {
		rc = proxy_parse(buf, n, max, &info, &why);
		cr_assert_eq(rc, want, "at %zu bytes: %zd, want %zd (%s)", n, rc, want,
		    why ? why : "");
		cr_assert_not_null(why);
		cr_assert(strstr(why, why_part) != NULL, "why \"%s\" lacks \"%s\"", why, why_part);
		cr_assert(addr_is_zero(&info.src) && addr_is_zero(&info.dst));
		cr_assert_eq(info.authority_len + info.alpn_len, 0);
	}
}

/* --- v1: every field. --- */

Test(v1, tcp4_fields)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"
	    "\x16\x03\x01";	/* the ClientHello after it is not the header's */
	struct proxy_info i = parse_bytewise((const uint8_t *)line, sizeof(line) - 1,
	    sizeof(line) - 1 - 3);

	cr_assert_eq(i.version, 1);
	cr_assert_eq(i.command, PROXY_CMD_PROXY);
	assert_addr(&i.src, "192.0.2.1:56324");
	assert_addr(&i.dst, "198.51.100.2:443");
	cr_assert_eq(i.authority_len + i.alpn_len, 0);
}

Test(v1, tcp6_fields_and_the_port_edges)
{
	static const char line[] = "PROXY TCP6 2001:db8::1 ::ffff:192.0.2.9 0 65535\r\n";
	struct proxy_info i = parse_bytewise((const uint8_t *)line, sizeof(line) - 1,
	    sizeof(line) - 1);

	cr_assert_eq(i.command, PROXY_CMD_PROXY);
	assert_addr(&i.src, "[2001:db8::1]:0");
	assert_addr(&i.dst, "[::ffff:192.0.2.9]:65535");
}

Test(v1, unknown_ignores_what_follows_and_carries_no_address)
{
	static const char *lines[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
		"PROXY UNKNOWN  any  thing\t\r\n",
	};

	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		size_t n = strlen(lines[k]);
		struct proxy_info i = parse_bytewise((const uint8_t *)lines[k], n, n);

		cr_assert_eq(i.command, PROXY_CMD_UNKNOWN, "%s", lines[k]);
		cr_assert_eq(i.version, 1);
		cr_assert(addr_is_zero(&i.src) && addr_is_zero(&i.dst));
	}
}

Test(v1, the_longest_tcp6_line_and_107_bytes_fit)
{
	static const char tcp6[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char unknown[PROXY_V1_MAX + 1];
	struct proxy_info i;

	cr_assert_eq(sizeof(tcp6) - 1, 104);	/* spec 2.1: the worst case */
	i = parse_bytewise((const uint8_t *)tcp6, sizeof(tcp6) - 1, sizeof(tcp6) - 1);
	assert_addr(&i.src, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* "PROXY UNKNOWN " padded so that the CRLF ends at byte 107 exactly. */
	memset(unknown, 'x', sizeof(unknown));
	memcpy(unknown, "PROXY UNKNOWN ", 14);
	memcpy(unknown + PROXY_V1_MAX - 2, "\r\n", 2);
	i = parse_bytewise((const uint8_t *)unknown, PROXY_V1_MAX, PROXY_V1_MAX);
	cr_assert_eq(i.command, PROXY_CMD_UNKNOWN);
}

/* --- v1: every malformation, decided at the CRLF (or at 107 bytes). --- */

struct v1_bad {
	const char *line;
	const char *why;
};

Test(v1, malformed_lines_are_refused_with_their_reason)
{
	static const struct v1_bad bad[] = {
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n", "LF without CR" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rX", "CR without LF" },
		{ "PROXY TCP4 192.0.2.1\n198.51.100.2 56324 443\r\n", "LF without CR" },
		{ "PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n", "protocol" },
		{ "PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n", "protocol" },
		{ "PROXY UNKNOWNX\r\n", "protocol" },
		{ "PROXY \r\n", "protocol" },
		{ "PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", "protocol" },
		/* extra, missing and trailing spaces */
		{ "PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n", "4 fields" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2  56324 443\r\n", "4 fields" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n", "4 fields" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n", "4 fields" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 1\r\n", "4 fields" },
		{ "PROXY TCP4\r\n", "4 fields" },
		{ "PROXY TCP4 192.0.2.1\t198.51.100.2 56324 443\r\n", "4 fields" },
		/* IPv4 addresses */
		{ "PROXY TCP4 192.0.2 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192.0.2.1.5 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192.0.02.1 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192.0.2. 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 .192.0.2 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192..2.1 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 1920.0.2.1 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n", "IPv4 source" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.x 56324 443\r\n", "IPv4 destination" },
		{ "PROXY TCP4 192.0.2.1 +98.51.100.2 56324 443\r\n", "IPv4 destination" },
		/* IPv6 addresses */
		{ "PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n", "IPv6 source" },
		{ "PROXY TCP6 fe80::1%eth0 2001:db8::2 56324 443\r\n", "IPv6 source" },
		{ "PROXY TCP6 :::1 2001:db8::2 56324 443\r\n", "IPv6 source" },
		{ "PROXY TCP6 2001:db8::1::2 2001:db8::2 56324 443\r\n", "IPv6 source" },
		{ "PROXY TCP6 2001:db8::1 2001:db8::g 56324 443\r\n", "IPv6 destination" },
		{ "PROXY TCP6 2001:db8::1 [2001:db8::2] 56324 443\r\n", "IPv6 destination" },
		/* ports */
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 0443\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 44a\r\n", "port" },
		{ "PROXY TCP4 192.0.2.1 198.51.100.2 123456 443\r\n", "port" },
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const char *l = bad[k].line;
		const char *end = strpbrk(l + 6, "\r\n");
		/* Decided at the first lone LF, or at the byte after the CR. */
		size_t at = (size_t)(end - l) + 1 + (*end == '\r');

		cr_log_info("%s", l);
		assert_refused_at((const uint8_t *)l, strlen(l), at, MAX, -EPROTO, bad[k].why);
	}
}

Test(v1, no_crlf_within_107_bytes_is_malformed_at_byte_107)
{
	char line[PROXY_V1_MAX + 8];

	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	assert_refused_at((const uint8_t *)line, sizeof(line), PROXY_V1_MAX, MAX, -EPROTO,
	    "no CRLF within 107");
	/* A CR as byte 107 leaves no room for its LF. */
	line[PROXY_V1_MAX - 1] = '\r';
	line[PROXY_V1_MAX] = '\n';
	assert_refused_at((const uint8_t *)line, sizeof(line), PROXY_V1_MAX, MAX, -EPROTO,
	    "no CRLF within 107");
}

/* --- Not a PROXY header: refused at the first byte that differs from both. --- */

struct not_proxy {
	const uint8_t *bytes;
	size_t len;
	size_t at;	/* bytes needed for the verdict: the differing one included */
};

Test(signature, other_protocols_are_told_apart_at_the_first_differing_byte)
{
	const struct not_proxy cases[] = {
		{ BYTES(HELLO_START, 0x00, 0x5c), .at = 1 },	/* a TLS record */
		{ TEXT("GET / HTTP/1.1\r\n"), .at = 1 },
		{ TEXT("proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n"), .at = 1 },
		{ TEXT("PROXZ"), .at = 5 },
		{ TEXT("PROXY\r\n"), .at = 6 },			/* "PROXY" then not a space */
		{ BYTES(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a,
		    0x52,					/* 'R' where 'Q' is */
		    0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c), .at = 8 },
		{ BYTES(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
		    0x0d),					/* last byte not LF */
		    .at = 12 },
		{ BYTES(0x0d, 0x0a, 0x0d, 0x0d), .at = 4 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		assert_refused_at(cases[k].bytes, cases[k].len, cases[k].at, MAX, -ENOMSG,
		    "not a PROXY protocol header");
}

/* --- v2: every field. --- */

/* A PROXY TCP4 header with an AUTHORITY, a NOOP the parser skips, and an ALPN. */
static const uint8_t v2_tcp4[] = {
	V2_SIG,
	0x21,			/* version 2, command PROXY */
	0x11,			/* AF_INET, STREAM */
	0x00, 0x24,		/* block length: 12 + 15 + 4 + 5 = 36 */
	192, 0, 2, 1,		/* source address 192.0.2.1 */
	198, 51, 100, 2,	/* destination address 198.51.100.2 */
	0xdc, 0x04,		/* source port 56324 */
	0x01, 0xbb,		/* destination port 443 */
	0x02,			/* PP2_TYPE_AUTHORITY */
	0x00, 0x0c,		/* length 12 */
	'a', 'p', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
	0x04,			/* PP2_TYPE_NOOP */
	0x00, 0x01,		/* length 1 */
	0x00,
	0x01,			/* PP2_TYPE_ALPN */
	0x00, 0x02,		/* length 2 */
	'h', '2',
	HELLO_START,		/* the ClientHello after it */
};

Test(v2, tcp4_fields_and_tlvs)
{
	struct proxy_info i = parse_bytewise(v2_tcp4, sizeof(v2_tcp4), sizeof(v2_tcp4) - 3);

	cr_assert_eq(i.version, 2);
	cr_assert_eq(i.command, PROXY_CMD_PROXY);
	assert_addr(&i.src, "192.0.2.1:56324");
	assert_addr(&i.dst, "198.51.100.2:443");
	cr_assert_eq(i.authority_off, 31);	/* 16 + 12 + 3 */
	cr_assert_eq(i.authority_len, 12);
	cr_assert_arr_eq(v2_tcp4 + i.authority_off, "app.example.", 12);
	cr_assert_eq(i.alpn_off, 50);		/* 31 + 12 + 4 + 3 */
	cr_assert_eq(i.alpn_len, 2);
	cr_assert_arr_eq(v2_tcp4 + i.alpn_off, "h2", 2);
}

Test(v2, tcp6_fields)
{
	static const uint8_t h[] = {
		V2_SIG,
		0x21,		/* version 2, command PROXY */
		0x21,		/* AF_INET6, STREAM */
		0x00, 0x24,	/* block length: 36, the addresses alone */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,	/* 2001:db8::1 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,	/* 2001:db8::2 */
		0xff, 0xff,	/* source port 65535 */
		0x00, 0x00,	/* destination port 0 */
	};
	struct proxy_info i = parse_bytewise(h, sizeof(h), sizeof(h));

	cr_assert_eq(i.command, PROXY_CMD_PROXY);
	assert_addr(&i.src, "[2001:db8::1]:65535");
	assert_addr(&i.dst, "[2001:db8::2]:0");
	cr_assert_eq(i.authority_len + i.alpn_len + i.authority_off + i.alpn_off, 0);
}

Test(v2, local_discards_the_block_whatever_its_family)
{
	const struct { const uint8_t *bytes; size_t len; } cases[] = {
		{ BYTES(V2_SIG,
		    0x20,		/* version 2, command LOCAL */
		    0x00,		/* AF_UNSPEC */
		    0x00, 0x00) },	/* block length 0: HAProxy's health check */
		{ BYTES(V2_SIG,
		    0x20,		/* version 2, command LOCAL */
		    0x11,		/* AF_INET, STREAM: ignored */
		    0x00, 0x05,		/* block length 5: shorter than INET needs, ignored */
		    0x02, 0x00, 0x09, 'x', 'x') },	/* a TLV past the end: ignored */
		{ BYTES(V2_SIG,
		    0x20,		/* version 2, command LOCAL */
		    0x31,		/* AF_UNIX, STREAM: ignored */
		    0x00, 0x00) },
		{ BYTES(V2_SIG,
		    0x20,		/* version 2, command LOCAL */
		    0x22,		/* AF_INET6, DGRAM: ignored */
		    0x00, 0x00) },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct proxy_info i = parse_bytewise(cases[k].bytes, cases[k].len, cases[k].len);

		cr_assert_eq(i.command, PROXY_CMD_LOCAL, "case %zu", k);
		cr_assert_eq(i.version, 2);
		cr_assert(addr_is_zero(&i.src) && addr_is_zero(&i.dst));
		cr_assert_eq(i.authority_len + i.alpn_len, 0);
	}
}

Test(v2, proxy_unspec_is_unknown_with_its_tlvs)
{
	static const uint8_t h[] = {
		V2_SIG,
		0x21,		/* version 2, command PROXY */
		0x00,		/* AF_UNSPEC: no addresses */
		0x00, 0x06,	/* block length 6: one TLV */
		0x02,		/* PP2_TYPE_AUTHORITY */
		0x00, 0x03,	/* length 3 */
		'a', '.', 'b',
	};
	struct proxy_info i = parse_bytewise(h, sizeof(h), sizeof(h));

	cr_assert_eq(i.command, PROXY_CMD_UNKNOWN);
	cr_assert(addr_is_zero(&i.src) && addr_is_zero(&i.dst));
	cr_assert_eq(i.authority_off, 19);
	cr_assert_eq(i.authority_len, 3);
}

/* --- v2: every malformation, decided as soon as its byte is in. --- */

struct v2_bad {
	const uint8_t *bytes;
	size_t len;
	size_t at;
	const char *why;
};

Test(v2, malformed_headers_are_refused_at_their_byte)
{
	const struct v2_bad bad[] = {
		{ BYTES(V2_SIG, 0x11 /* version 1 */, 0x11, 0x00, 0x0c), 13, "version" },
		{ BYTES(V2_SIG, 0x31 /* version 3 */, 0x11, 0x00, 0x0c), 13, "version" },
		{ BYTES(V2_SIG, 0x01 /* version 0 */, 0x11, 0x00, 0x0c), 13, "version" },
		{ BYTES(V2_SIG, 0x22 /* command 2 */, 0x11, 0x00, 0x0c), 13, "command" },
		{ BYTES(V2_SIG, 0x2f /* command 15 */, 0x11, 0x00, 0x0c), 13, "command" },
		{ BYTES(V2_SIG, 0x21, 0x12 /* AF_INET, DGRAM */, 0x00, 0x0c), 14, "DGRAM" },
		{ BYTES(V2_SIG, 0x21, 0x22 /* AF_INET6, DGRAM */, 0x00, 0x24), 14, "DGRAM" },
		{ BYTES(V2_SIG, 0x21, 0x31 /* AF_UNIX, STREAM */, 0x00, 0xd8), 14, "AF_UNIX" },
		{ BYTES(V2_SIG, 0x21, 0x32 /* AF_UNIX, DGRAM */, 0x00, 0xd8), 14, "AF_UNIX" },
		{ BYTES(V2_SIG, 0x21, 0x41 /* family 4 */, 0x00, 0x0c), 14, "unknown" },
		{ BYTES(V2_SIG, 0x21, 0x10 /* AF_INET, UNSPEC */, 0x00, 0x0c), 14, "unknown" },
		{ BYTES(V2_SIG, 0x21, 0x13 /* AF_INET, transport 3 */, 0x00, 0x0c), 14, "unknown" },
		{ BYTES(V2_SIG, 0x21, 0x01 /* AF_UNSPEC, STREAM */, 0x00, 0x00), 14, "unknown" },
		{ BYTES(V2_SIG, 0x20, 0x05 /* LOCAL with an unknown family */, 0x00, 0x00), 14,
		    "unknown" },
		/* truncated address blocks: decided by the length, at byte 16 */
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x0b /* 11 < 12 for AF_INET */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01), 16, "address block" },
		{ BYTES(V2_SIG, 0x21, 0x21, 0x00, 0x0c /* 12 < 36 for AF_INET6 */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb), 16, "address block" },
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x00 /* no addresses at all */), 16,
		    "address block" },
		/* TLVs: decided once the whole block is in */
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x11 /* 12 + 5 */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb,
		    0x02, 0x00, 0x03 /* AUTHORITY of 3: one byte past the block */, 'a', 'b'),
		    33, "TLV value past the end" },
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x0e /* 12 + 2 */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb,
		    0x04, 0x00 /* a TLV header cut after 2 of its 3 bytes */), 30,
		    "TLV header past the end" },
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x13 /* 12 + 3 + 4 */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb,
		    0x04, 0x00, 0x00,			/* NOOP, empty: fine */
		    0x20, 0xff, 0xff, 0x00 /* SSL of 65,535 bytes */), 35, "TLV value past the end" },
		{ BYTES(V2_SIG, 0x21, 0x11, 0x00, 0x18 /* 12 + 6 + 6 */,
		    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb,
		    0x01, 0x00, 0x03, 'a', 'b', 'c',	/* ALPN "abc" */
		    0x01, 0x00, 0x03, 'x', 'y', 'z'),	/* ALPN again */
		    40, "second AUTHORITY or ALPN" },
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		cr_log_info("case %zu", k);
		assert_refused_at(bad[k].bytes, bad[k].len, bad[k].at, MAX, -EPROTO, bad[k].why);
	}
}

/* --- The byte budget. --- */

Test(limit, v2_length_over_max_is_too_big_at_byte_16)
{
	uint8_t h[600] = {
		V2_SIG,
		0x21,		/* version 2, command PROXY */
		0x11,		/* AF_INET, STREAM */
		0x02, 0x00,	/* block length 512: 528 bytes in all */
	};
	struct proxy_info i;
	const char *why;

	assert_refused_at(h, sizeof(h), 16, 527, -E2BIG, "longer than the limit");
	/* One more byte of budget and it fits: 512 bytes of NOOP padding. */
	h[28] = 0x04;		/* PP2_TYPE_NOOP */
	h[29] = 0x01;		/* length 497: 512 - 12 - 3 */
	h[30] = 0xf1;
	cr_assert_eq(proxy_parse(h, sizeof(h), 528, &i, &why), 528);
	cr_assert_eq(proxy_parse(h, 527, 528, &i, &why), -EAGAIN);
}

Test(limit, a_header_not_ended_at_max_bytes_is_too_big_there)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
	struct proxy_info i;
	const char *why;

	/* 45 bytes: a budget of 44 ends it at byte 44, 45 lets it through. */
	assert_refused_at((const uint8_t *)line, sizeof(line) - 1, 44, 44, -E2BIG,
	    "longer than the limit");
	cr_assert_eq(proxy_parse((const uint8_t *)line, sizeof(line) - 1, 45, &i, &why), 45);
	/* Bytes past max are never read: 3 bytes of budget, 3 of a signature. */
	assert_refused_at(v2_tcp4, sizeof(v2_tcp4), 3, 3, -E2BIG, "longer than the limit");
	cr_assert_eq(proxy_parse(v2_tcp4, 0, 0, &i, &why), -E2BIG);
}

/* --- Builders. --- */

Test(build, v1_lines_are_exact)
{
	static const struct { const char *src, *dst, *line; } cases[] = {
		{ "192.0.2.1:56324", "198.51.100.2:443",
		  "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" },
		{ "[2001:db8::1]:0", "[2001:db8::2]:65535",
		  "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n" },
		/* Mixed families: the IPv4 end is written v4-mapped on a TCP6 line. */
		{ "192.0.2.1:56324", "[2001:db8::2]:443",
		  "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 56324 443\r\n" },
		{ "[2001:db8::1]:56324", "198.51.100.2:443",
		  "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.2 56324 443\r\n" },
	};
	char buf[PROXY_V1_MAX];

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct addr s = addr_of(cases[k].src), d = addr_of(cases[k].dst);
		size_t want = strlen(cases[k].line);

		cr_assert_eq(proxy_build_v1(buf, sizeof(buf), &s, &d), want);
		cr_assert_arr_eq(buf, cases[k].line, want, "%.*s", (int)want, buf);
		/* Exactly fits, then one byte short. */
		cr_assert_eq(proxy_build_v1(buf, want, &s, &d), want);
		cr_assert_eq(proxy_build_v1(buf, want - 1, &s, &d), 0);
	}
}

Test(build, v1_without_an_ip_family_is_unknown)
{
	struct addr s = addr_of("192.0.2.1:1"), none;
	char buf[PROXY_V1_MAX];

	memset(&none, 0, sizeof(none));
	cr_assert_eq(proxy_build_v1(buf, sizeof(buf), &s, &none), 15);
	cr_assert_arr_eq(buf, "PROXY UNKNOWN\r\n", 15);
}

Test(build, v2_bytes_are_exact)
{
	static const uint8_t want_full[] = {
		V2_SIG,
		0x21,			/* version 2, command PROXY */
		0x11,			/* AF_INET, STREAM */
		0x00, 0x23,		/* block length: 12 + (3 + 15) + (3 + 2) = 35 */
		192, 0, 2, 1,		/* source address 192.0.2.1 */
		198, 51, 100, 2,	/* destination address 198.51.100.2 */
		0xdc, 0x04,		/* source port 56324 */
		0x01, 0xbb,		/* destination port 443 */
		0x02,			/* PP2_TYPE_AUTHORITY: the SNI */
		0x00, 0x0f,		/* length 15 */
		'a', 'p', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
		0x01,			/* PP2_TYPE_ALPN: the first offered protocol */
		0x00, 0x02,		/* length 2 */
		'h', '2',
	};
	static const uint8_t want_bare6[] = {
		V2_SIG,
		0x21,			/* version 2, command PROXY */
		0x21,			/* AF_INET6, STREAM: mixed families */
		0x00, 0x24,		/* block length 36: no TLV */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1,	/* ::ffff:192.0.2.1 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,	/* 2001:db8::2 */
		0xdc, 0x04,		/* source port 56324 */
		0x01, 0xbb,		/* destination port 443 */
	};
	struct addr s = addr_of("192.0.2.1:56324"), d = addr_of("198.51.100.2:443");
	struct addr d6 = addr_of("[2001:db8::2]:443");
	uint8_t buf[PROXY_V2_MAX];

	cr_assert_eq(proxy_build_v2(buf, sizeof(buf), &s, &d,
	    (const uint8_t *)"app.example.com", 15, (const uint8_t *)"h2", 2), sizeof(want_full));
	cr_assert_arr_eq(buf, want_full, sizeof(want_full));
	cr_assert_eq(proxy_build_v2(buf, sizeof(buf), &s, &d6, NULL, 0, NULL, 0),
	    sizeof(want_bare6));
	cr_assert_arr_eq(buf, want_bare6, sizeof(want_bare6));
	/* Exactly fits, then one byte short. */
	cr_assert_eq(proxy_build_v2(buf, sizeof(want_bare6), &s, &d6, NULL, 0, NULL, 0),
	    sizeof(want_bare6));
	cr_assert_eq(proxy_build_v2(buf, sizeof(want_bare6) - 1, &s, &d6, NULL, 0, NULL, 0), 0);
}

Test(build, v2_holds_the_largest_tlvs_in_proxy_v2_max)
{
	struct addr s = addr_of("[2001:db8::1]:1"), d = addr_of("[2001:db8::2]:2");
	uint8_t sni[PROXY_AUTHORITY_MAX], alpn[PROXY_ALPN_MAX], buf[PROXY_V2_MAX];
	static uint8_t big[PROXY_PARSE_MAX], tlv[0xffff];

	memset(sni, 'a', sizeof(sni));
	memset(alpn, 'b', sizeof(alpn));
	cr_assert_eq(proxy_build_v2(buf, sizeof(buf), &s, &d, sni, sizeof(sni), alpn,
	    sizeof(alpn)), PROXY_V2_MAX);
	cr_assert_eq(proxy_build_v2(buf, sizeof(buf) - 1, &s, &d, sni, sizeof(sni), alpn,
	    sizeof(alpn)), 0);
	/* A block over 65,535 bytes cannot be said, whatever the room. */
	cr_assert_eq(proxy_build_v2(big, sizeof(big), &s, &d, tlv, 0xffff - 36 - 3 + 1,
	    NULL, 0), 0);
	cr_assert_eq(proxy_build_v2(big, sizeof(big), &s, &d, tlv, 0xffff - 36 - 3,
	    NULL, 0), PROXY_PARSE_MAX);
	cr_assert_eq(proxy_build_v2(big, sizeof(big), &s, &d, tlv, 0xffff,
	    tlv, 0xffff), 0);
}

/* --- Round trips: what the builders write, the parser reads back. --- */

struct trip {
	const char *src, *dst;
	const char *want_src, *want_dst;	/* NULL: as given */
	const char *authority, *alpn;
};

static const struct trip trips[] = {
	{ "192.0.2.1:56324", "198.51.100.2:443", NULL, NULL, "app.example.com", "h2" },
	{ "[2001:db8::1]:1", "[::1]:65535", NULL, NULL, "x", "http/1.1" },
	{ "0.0.0.0:0", "255.255.255.255:65535", NULL, NULL, "", "" },
	{ "192.0.2.1:56324", "[2001:db8::2]:443", "[::ffff:192.0.2.1]:56324", NULL, "a.b", "" },
	{ "[2001:db8::1]:9", "198.51.100.2:443", NULL, "[::ffff:198.51.100.2]:443", "", "h3" },
};

Test(roundtrip, v1_gives_back_the_addresses)
{
	char buf[PROXY_V1_MAX];

	for (size_t k = 0; k < sizeof(trips) / sizeof(trips[0]); k++) {
		const struct trip *t = &trips[k];
		struct addr s = addr_of(t->src), d = addr_of(t->dst);
		size_t n = proxy_build_v1(buf, sizeof(buf), &s, &d);
		struct proxy_info i;

		cr_assert_gt(n, 0);
		i = parse_bytewise((const uint8_t *)buf, n, n);
		cr_assert_eq(i.command, PROXY_CMD_PROXY);
		assert_addr(&i.src, t->want_src ? t->want_src : t->src);
		assert_addr(&i.dst, t->want_dst ? t->want_dst : t->dst);
	}
}

Test(roundtrip, v2_gives_back_the_addresses_and_tlvs)
{
	uint8_t buf[PROXY_V2_MAX];

	for (size_t k = 0; k < sizeof(trips) / sizeof(trips[0]); k++) {
		const struct trip *t = &trips[k];
		struct addr s = addr_of(t->src), d = addr_of(t->dst);
		size_t al = strlen(t->authority), pl = strlen(t->alpn);
		size_t n = proxy_build_v2(buf, sizeof(buf), &s, &d,
		    (const uint8_t *)t->authority, al, (const uint8_t *)t->alpn, pl);
		struct proxy_info i;

		cr_assert_gt(n, 0);
		i = parse_bytewise(buf, n, n);
		cr_assert_eq(i.command, PROXY_CMD_PROXY);
		assert_addr(&i.src, t->want_src ? t->want_src : t->src);
		assert_addr(&i.dst, t->want_dst ? t->want_dst : t->dst);
		cr_assert_eq(i.authority_len, al);
		cr_assert_arr_eq(buf + i.authority_off, t->authority, al);
		cr_assert_eq(i.alpn_len, pl);
		cr_assert_arr_eq(buf + i.alpn_off, t->alpn, pl);
	}
}

Test(roundtrip, v2_without_an_ip_family_is_unknown_with_its_tlvs)
{
	struct addr s = addr_of("192.0.2.1:1"), none;
	uint8_t buf[PROXY_V2_MAX];
	struct proxy_info i;
	size_t n;

	memset(&none, 0, sizeof(none));
	n = proxy_build_v2(buf, sizeof(buf), &none, &s, (const uint8_t *)"a.b", 3, NULL, 0);
	cr_assert_eq(n, 16 + 3 + 3);
	cr_assert_eq(buf[13], 0x00);		/* AF_UNSPEC */
	i = parse_bytewise(buf, n, n);
	cr_assert_eq(i.command, PROXY_CMD_UNKNOWN);
	cr_assert_eq(i.authority_len, 3);
	cr_assert_arr_eq(buf + i.authority_off, "a.b", 3);
}

Test(build, v2_local_is_the_16_byte_health_check_header)
{
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x20,		/* version 2, command LOCAL */
		0x00,		/* AF_UNSPEC, UNSPEC */
		0x00, 0x00,	/* no block */
	};
	uint8_t buf[PROXY_V2_HEADER];
	struct proxy_info i;

	cr_assert_eq(proxy_build_v2_local(buf, sizeof(buf) - 1), 0, "does not fit");
	cr_assert_eq(proxy_build_v2_local(buf, sizeof(buf)), sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
	i = parse_bytewise(buf, sizeof(buf), sizeof(buf));
	cr_assert_eq(i.command, PROXY_CMD_LOCAL);
	cr_assert_eq(i.version, 2);
}
