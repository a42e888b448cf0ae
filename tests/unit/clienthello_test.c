/*
 * clienthello_test.c -- the ClientHello parser on annotated bytes, real
 * captures, and every way the network may cut them (chunks and records).
 *
 * Vectors are read at run time from tests/vectors (run from the repo root)
 * or from $PT_VECTORS_DIR. The openssl-*.hex captures came from this
 * machine's OpenSSL 3.0 s_client talking to a python3 listener that wrote
 * the first handshake message it received as one hex line:
 *   openssl-tls1_2     -tls1_2 -servername tls12.example.com -alpn h2,http/1.1
 *   openssl-tls1_3     -tls1_3 -servername tls13.example.com -alpn h2,http/1.1
 *   openssl-no_sni     -noservername -alpn http/1.1
 *   openssl-long_alpn  -servername big.example.org -max_send_frag 512
 *                      -alpn h2,http/1.1,proto00-x{240},...,proto19-x{240}
 *                      (5,369 bytes in 11 records)
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clienthello.h"
#include "tls.h"
#include "tunables.h"

/* The daemon's default cap; tests parse with it unless they say otherwise. */
#define LIMIT DEFAULT_HELLO_BYTES
/* Any test wire fits: a hello under LIMIT re-framed into 1-byte records grows 6x. */
#define WIRE_MAX (6u * LIMIT + 1024u)
/* What the TLS record header says for "handshake"; written by the helpers. */
#define RECORD_HANDSHAKE 0x16u
#define HANDSHAKE_CLIENT_HELLO 0x01u
/* Record version most clients put on their first record: {3, 1}. */
#define RECORD_TLS10 0x0301u

/* --- Annotated building blocks of a ClientHello body (RFC 8446 4.1.2). --- */

#define VERSION_TLS12	0x03, 0x03	/* legacy_version: TLS 1.2 */
#define RANDOM_32 /* random: 32 bytes */				\
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,			\
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,			\
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,			\
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
#define NO_SESSION_ID	0x00		/* legacy_session_id length: 0 */
#define ONE_SUITE							\
	0x00, 0x02,	/* cipher_suites length: 2 */			\
	0x13, 0x01	/* TLS_AES_128_GCM_SHA256 */
#define NULL_COMPRESSION						\
	0x01,		/* legacy_compression_methods length: 1 */	\
	0x00		/* null */
/* The fields before the extensions, 41 bytes: the smallest legal body. */
#define FIXED_FIELDS VERSION_TLS12, RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION
#define FIXED_FIELDS_BYTES 41u

/* server_name extension entry for "ab.com", the name most cases use. */
#define AB_COM		'a', 'b', '.', 'c', 'o', 'm'	/* host_name: "ab.com" */
#define SNI_AB_COM_EXT							\
	0x00, 0x00,	/* extension: server_name */			\
	0x00, 0x0b,	/* extension length: 11 */			\
	0x00, 0x09,	/* server_name_list length: 9 */		\
	0x00,		/* name_type: host_name */			\
	0x00, 0x06,	/* host_name length: 6 */			\
	AB_COM
#define ALPN_H2_EXT							\
	0x00, 0x10,	/* extension: application_layer_protocol_negotiation */ \
	0x00, 0x05,	/* extension length: 5 */			\
	0x00, 0x03,	/* protocol_name_list length: 3 */		\
	0x02, 'h', '2'	/* "h2" */

/* Designated-initializer pieces for the case tables below. */
#define RAW(...)  .raw = true, .bytes = (const uint8_t[]){ __VA_ARGS__ }, \
	.len = sizeof((const uint8_t[]){ __VA_ARGS__ })
#define BODY(...) .raw = false, .bytes = (const uint8_t[]){ __VA_ARGS__ }, \
	.len = sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The model hello: SNI, ALPN and one extension the parser skips. */
static const uint8_t hello_sni_alpn[] = {
	0x16,			/* record: handshake */
	0x03, 0x01,		/* record version: TLS 1.0 */
	0x00, 0x5c,		/* record length: 92 */
	0x01,			/* handshake: client_hello */
	0x00, 0x00, 0x58,	/* handshake length: 88 */
	FIXED_FIELDS,
	0x00, 0x2d,		/* extensions length: 45 */
	0x00, 0x00,		/* extension: server_name */
	0x00, 0x10,		/* extension length: 16 */
	0x00, 0x0e,		/* server_name_list length: 14 */
	0x00,			/* name_type: host_name */
	0x00, 0x0b,		/* host_name length: 11 */
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	0x00, 0x10,		/* extension: application_layer_protocol_negotiation */
	0x00, 0x0e,		/* extension length: 14 */
	0x00, 0x0c,		/* protocol_name_list length: 12 */
	0x02, 'h', '2',		/* "h2" */
	0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',	/* "http/1.1" */
	0x00, 0x2b,		/* extension: supported_versions (skipped) */
	0x00, 0x03,		/* extension length: 3 */
	0x02,			/* versions length: 2 */
	0x03, 0x04,		/* TLS 1.3 */
};
#define HELLO_SNI_ALPN_SNI_AT 61u	/* 5 + 4 + 41 + 2 + 2 + 2 + 2 + 1 + 2 */
#define HELLO_SNI_ALPN_LIST_AT 78u	/* SNI_AT + 11 + 2 + 2 + 2 */

/*
 * A hello whose handshake length is 2 short of its record, its extensions
 * block ending at the record end: what sniproxy's good_data_2..4 do. It is
 * read as sniproxy reads it (see hello_parse_extensions).
 */
static const uint8_t hello_understated[] = {
	0x16,			/* record: handshake */
	0x03, 0x01,		/* record version: TLS 1.0 */
	0x00, 0x3e,		/* record length: 62 */
	0x01,			/* handshake: client_hello */
	0x00, 0x00, 0x38,	/* handshake length: 56, 2 short of the record */
	FIXED_FIELDS,
	0x00, 0x0f,		/* extensions length: 15, 2 past the message, to the record end */
	SNI_AB_COM_EXT,
};

/* --- Helpers. --- */

static uint8_t wire_a[WIRE_MAX], wire_b[WIRE_MAX], body_buf[WIRE_MAX];

static size_t
put16(uint8_t *out, size_t at, size_t v)
{
	cr_assert_leq(v, 0xffff, "u16 field overflows: %zu", v);
	out[at] = (uint8_t)(v >> 8);
	out[at + 1] = (uint8_t)v;
	return at + 2;
}

/* One record {22, record_version} holding one client_hello around body. */
static size_t
wrap_body(const uint8_t *body, size_t body_len, uint16_t record_version,
    uint8_t *out)
{
	size_t at = 0;

	out[at++] = RECORD_HANDSHAKE;
	at = put16(out, at, record_version);
	at = put16(out, at, TLS_HANDSHAKE_HEADER_BYTES + body_len);
	out[at++] = HANDSHAKE_CLIENT_HELLO;
	out[at++] = (uint8_t)(body_len >> 16);
	at = put16(out, at, body_len & 0xffff);
	memcpy(out + at, body, body_len);
	return at + body_len;
}

/*
 * Re-frames a hello into n handshake records: the bodies of src's records
 * are joined and cut into n near-equal pieces (n capped at their length),
 * each behind a header carrying src's first record version.
 */
static size_t
reframe(const uint8_t *src, size_t len, size_t n, uint8_t *out)
{
	static uint8_t joined[WIRE_MAX];
	size_t off = 0, total = 0, at = 0, i, piece;

	while (off + TLS_RECORD_HEADER_BYTES <= len) {
		size_t rec = (size_t)src[off + 3] << 8 | src[off + 4];

		cr_assert_leq(off + TLS_RECORD_HEADER_BYTES + rec, len, "reframe: cut record");
		memcpy(joined + total, src + off + TLS_RECORD_HEADER_BYTES, rec);
		total += rec;
		off += TLS_RECORD_HEADER_BYTES + rec;
	}
	if (n > total)
		n = total;
	cr_assert_leq(total + n * TLS_RECORD_HEADER_BYTES, WIRE_MAX);
	for (i = 0, off = 0; i < n; i++, off += piece) {
		piece = total / n + (i < total % n ? 1 : 0);
		out[at++] = RECORD_HANDSHAKE;
		out[at++] = src[1];
		out[at++] = src[2];
		at = put16(out, at, piece);
		memcpy(out + at, joined + off, piece);
		at += piece;
	}
	return at;
}

/* Handshake bytes carried by src's records, for "into 1-byte records". */
static size_t
record_payload(const uint8_t *src, size_t len)
{
	size_t off = 0, total = 0, rec;

	while (off + TLS_RECORD_HEADER_BYTES <= len) {
		rec = (size_t)src[off + 3] << 8 | src[off + 4];
		total += rec;
		off += TLS_RECORD_HEADER_BYTES + rec;
	}
	return total;
}

/* A one-record hello whose only extension is server_name naming name. */
static size_t
build_sni_hello(const char *name, size_t name_len, uint8_t *out)
{
	static const uint8_t fixed[] = { FIXED_FIELDS };
	size_t n = sizeof(fixed);
	size_t entry = 1 + 2 + name_len, ext = 2 + entry;

	memcpy(body_buf, fixed, n);
	n = put16(body_buf, n, 4 + ext);	/* extensions length */
	n = put16(body_buf, n, 0x0000);		/* extension: server_name */
	n = put16(body_buf, n, ext);		/* extension length */
	n = put16(body_buf, n, entry);		/* server_name_list length */
	body_buf[n++] = 0x00;			/* name_type: host_name */
	n = put16(body_buf, n, name_len);	/* host_name length */
	memcpy(body_buf + n, name, name_len);	/* host_name */
	return wrap_body(body_buf, n + name_len, RECORD_TLS10, out);
}

/* A body of FIXED_FIELDS and a padding extension, body_len bytes in all. */
static size_t
build_padded_body(size_t body_len, uint8_t *out)
{
	static const uint8_t fixed[] = { FIXED_FIELDS };
	size_t n = sizeof(fixed), pad = body_len - sizeof(fixed) - 2 - 4;

	memcpy(out, fixed, n);
	n = put16(out, n, 4 + pad);		/* extensions length */
	n = put16(out, n, 0x0015);		/* extension: padding (RFC 7685) */
	n = put16(out, n, pad);			/* extension length */
	memset(out + n, 0, pad);		/* zeros */
	return n + pad;
}

struct outcome {
	enum hello_status status;
	struct hello_info info;
	size_t fed;		/* wire bytes handed over when the verdict came */
	uint8_t *wire;		/* exact-size copy that info points into */
	uint8_t *scratch;
};

static void
outcome_free(struct outcome *o)
{
	free(o->wire);
	free(o->scratch);
	o->wire = o->scratch = NULL;
}

static uint32_t
lcg_next(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;	/* the C standard's sample rand() */
	return *seed >> 16;
}

/*
 * Feeds src to a fresh parser in pieces of 1..max_chunk bytes (0: all at
 * once), each call on a new exact-size copy: the parser must keep offsets,
 * not pointers, and ASan flags any read past len. Stops at a verdict.
 */
static void
feed(struct outcome *o, const uint8_t *src, size_t len, uint32_t limit,
    size_t max_chunk, uint32_t seed)
{
	struct hello_parser p;
	size_t step;

	memset(o, 0, sizeof(*o));
	o->status = HELLO_NEED_MORE;
	o->scratch = malloc(limit > 0 ? limit : 1);
	cr_assert_not_null(o->scratch);
	hello_parser_init(&p, limit);
	while (o->status == HELLO_NEED_MORE && o->fed < len) {
		step = max_chunk == 0 ? len : 1 + lcg_next(&seed) % max_chunk;
		o->fed = step < len - o->fed ? o->fed + step : len;
		free(o->wire);
		o->wire = malloc(o->fed);
		cr_assert_not_null(o->wire);
		memcpy(o->wire, src, o->fed);
		o->status = hello_parse(&p, o->wire, o->fed, o->scratch, limit,
		    &o->info);
	}
}

static bool
bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (a == NULL || b == NULL)
		return a == b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void
expect_sni(const char *what, const struct hello_info *info, const char *want)
{
	if (want == NULL) {
		cr_expect_null(info->sni, "%s: SNI %.*s, want none", what,
		    info->sni_len, (const char *)info->sni);
		return;
	}
	cr_expect(bytes_eq(info->sni, info->sni_len, (const uint8_t *)want,
	    strlen(want)), "%s: SNI %.*s, want %s", what, info->sni_len,
	    info->sni != NULL ? (const char *)info->sni : "(none)", want);
}

static void
expect_alpn(const char *what, const struct hello_info *info, const char *want)
{
	static char text[WIRE_MAX];

	hello_alpn_format(info, text, sizeof(text));
	cr_expect_str_eq(text, want, "%s: ALPN \"%s\", want \"%s\"", what, text, want);
}

/* Same verdict and fields; on the same wire also the same offsets. */
static void
expect_same(const char *what, const struct outcome *a, const struct outcome *b,
    bool same_wire)
{
	cr_expect_eq(a->status, b->status, "%s: status %d vs %d", what, a->status, b->status);
	cr_expect_eq(a->info.reason, b->info.reason, "%s: reason %s vs %s", what,
	    hello_reason_str(a->info.reason), hello_reason_str(b->info.reason));
	cr_expect(bytes_eq(a->info.sni, a->info.sni_len, b->info.sni, b->info.sni_len),
	    "%s: SNI differs", what);
	cr_expect(bytes_eq(a->info.alpn, a->info.alpn_len, b->info.alpn, b->info.alpn_len),
	    "%s: ALPN differs", what);
	cr_expect_eq(a->info.alpn_count, b->info.alpn_count, "%s: alpn_count", what);
	cr_expect_eq(a->info.record_version, b->info.record_version, "%s: record_version", what);
	cr_expect_eq(a->info.client_version, b->info.client_version, "%s: client_version", what);
	cr_expect_eq(a->info.hello_len, b->info.hello_len, "%s: hello_len", what);
	if (!same_wire)
		return;
	cr_expect_eq(a->info.hello_end, b->info.hello_end, "%s: hello_end", what);
	cr_expect_eq(a->info.records, b->info.records, "%s: records", what);
}

/* Whole, 1 byte at a time, and 30 pseudo-random chunkings agree. */
static void
expect_any_chunking_same(const char *what, const uint8_t *src, size_t len,
    uint32_t limit)
{
	static const size_t max_chunks[] = { 2, 3, 7, 16, 61, 300 };
	struct outcome whole, piece;
	char label[256];
	uint32_t seed;
	size_t i;

	feed(&whole, src, len, limit, 0, 0);
	feed(&piece, src, len, limit, 1, 0);
	snprintf(label, sizeof(label), "%s, 1 byte at a time", what);
	expect_same(label, &whole, &piece, true);
	outcome_free(&piece);
	for (i = 0; i < sizeof(max_chunks) / sizeof(max_chunks[0]); i++) {
		for (seed = 1; seed <= 5; seed++) {
			feed(&piece, src, len, limit, max_chunks[i], seed);
			snprintf(label, sizeof(label), "%s, chunks <= %zu seed %u",
			    what, max_chunks[i], seed);
			expect_same(label, &whole, &piece, true);
			outcome_free(&piece);
		}
	}
	outcome_free(&whole);
}

/* A fresh parser says NEED_MORE on every strict prefix. */
static void
expect_prefixes_need_more(const char *what, const uint8_t *src, size_t len)
{
	struct hello_parser p;
	struct hello_info info;
	enum hello_status status;
	uint8_t *copy, *scratch = malloc(LIMIT);
	size_t n;

	cr_assert_not_null(scratch);
	for (n = 0; n < len; n++) {
		copy = malloc(n > 0 ? n : 1);
		cr_assert_not_null(copy);
		memcpy(copy, src, n);
		hello_parser_init(&p, LIMIT);
		status = hello_parse(&p, copy, n, scratch, LIMIT, &info);
		free(copy);
		cr_expect_eq(status, HELLO_NEED_MORE, "%s: prefix of %zu/%zu bytes gave %d (%s)",
		    what, n, len, status, hello_reason_str(info.reason));
		if (status != HELLO_NEED_MORE)
			break;
	}
	free(scratch);
}

/*
 * Accepted whole, and re-framed into 3 records and into 1-byte records.
 * An understated hello's tail must share the message's last record, so in
 * 1-byte records it is refused: that is asserted too.
 */
static void
expect_reframed_same(const char *what, const uint8_t *src, size_t len,
    bool understated)
{
	size_t counts[] = { 3, record_payload(src, len) }, i, n, rlen;
	struct outcome whole, framed, chunked;
	char label[256];

	feed(&whole, src, len, LIMIT, 0, 0);
	cr_assert_eq(whole.status, HELLO_OK, "%s: not accepted whole", what);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		n = counts[i];
		rlen = reframe(src, len, n, wire_b);
		feed(&framed, wire_b, rlen, LIMIT, 0, 0);
		snprintf(label, sizeof(label), "%s in %zu records", what, n);
		if (understated && n > 3) {
			cr_expect_eq(framed.info.reason, HELLO_R_EXTENSIONS_LENGTH, "%s: %s",
			    label, hello_reason_str(framed.info.reason));
			outcome_free(&framed);
			continue;
		}
		expect_same(label, &whole, &framed, false);
		cr_expect_eq(framed.info.records, n, "%s: records %u", label,
		    framed.info.records);
		cr_expect_eq(framed.info.hello_end, whole.info.hello_len +
		    n * TLS_RECORD_HEADER_BYTES, "%s: hello_end %u", label,
		    framed.info.hello_end);
		/* Chunks cut the record and handshake headers anywhere too. */
		feed(&chunked, wire_b, rlen, LIMIT, n == 3 ? 1 : 64, 7);
		snprintf(label, sizeof(label), "%s in %zu records, chunked", what, n);
		expect_same(label, &framed, &chunked, true);
		outcome_free(&chunked);
		outcome_free(&framed);
	}
	outcome_free(&whole);
}

/* --- Vectors on disk. --- */

struct vector {
	uint8_t *bytes;
	size_t len;
};

static int
hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads NAME.hex (hex digits, whitespace ignored); a missing file fails the test. */
static struct vector
vector_load(const char *name)
{
	const char *dir = getenv("PT_VECTORS_DIR");
	char path[PATH_MAX];
	struct vector v = { malloc(WIRE_MAX), 0 };
	int ch, hi = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.hex", dir != NULL ? dir : "tests/vectors", name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s: %s (run from the repo root or set PT_VECTORS_DIR)",
	    path, strerror(errno));
	cr_assert_not_null(v.bytes);
	while ((ch = getc(f)) != EOF) {
		if (isspace(ch))
			continue;
		cr_assert_geq(hex_value(ch), 0, "%s: not hex: %c", path, ch);
		if (hi < 0) {
			hi = hex_value(ch);
			continue;
		}
		cr_assert_lt(v.len, WIRE_MAX, "%s: too long", path);
		v.bytes[v.len++] = (uint8_t)(hi << 4 | hex_value(ch));
		hi = -1;
	}
	fclose(f);
	cr_assert_eq(hi, -1, "%s: odd number of hex digits", path);
	cr_assert_gt(v.len, 0, "%s: empty", path);
	return v;
}

static const struct vector_case {
	const char *name;
	enum hello_status status;
	enum hello_reason reason;
	const char *sni;	/* NULL: none */
	const char *alpn;	/* hello_alpn_format(); NULL: checked by its own test */
	uint16_t alpn_count;
	uint16_t client_version;
	uint32_t records;
	bool understated;	/* handshake length 2 short (sniproxy's own mistake) */
} vector_cases[] = {
	{ "sniproxy-good_data_1", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0301, 1, false },
	{ "sniproxy-good_data_2", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0303, 1, true },
	{ "sniproxy-good_data_3", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0303, 1, true },
	{ "sniproxy-good_data_4", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0303, 1, true },
	{ "sniproxy-good_data_5", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0301, 1, false },
	{ "sniproxy-bad_data_1", HELLO_OK, HELLO_R_NONE, "lodalhost", "", 0, 0x0301, 1, false },
	{ "sniproxy-bad_data_4", HELLO_OK, HELLO_R_NONE, "localhost", "", 0, 0x0303, 1, true },
	{ "sniproxy-bad_data_2", HELLO_NEED_MORE, HELLO_R_NONE, NULL, "", 0, 0, 0, false },
	{ "sniproxy-bad_data_3", HELLO_NEED_MORE, HELLO_R_NONE, NULL, "", 0, 0, 0, false },
	{ "sniproxy-ssl30_request", HELLO_MALFORMED, HELLO_R_CLIENT_VERSION, NULL, "", 0,
	    0x0300, 1, false },
	{ "sniproxy-ssl20_client_hello", HELLO_NOT_TLS, HELLO_R_SSLV2, NULL, "", 0, 0, 0, false },
	{ "openssl-tls1_2", HELLO_OK, HELLO_R_NONE, "tls12.example.com", "h2,http/1.1", 2,
	    0x0303, 1, false },
	{ "openssl-tls1_3", HELLO_OK, HELLO_R_NONE, "tls13.example.com", "h2,http/1.1", 2,
	    0x0303, 1, false },
	{ "openssl-no_sni", HELLO_OK, HELLO_R_NONE, NULL, "http/1.1", 1, 0x0303, 1, false },
	{ "openssl-long_alpn", HELLO_OK, HELLO_R_NONE, "big.example.org", NULL, 22,
	    0x0303, 11, false },
};
#define VECTOR_CASES (sizeof(vector_cases) / sizeof(vector_cases[0]))

Test(vectors, each_gives_its_documented_outcome)
{
	size_t i;

	for (i = 0; i < VECTOR_CASES; i++) {
		const struct vector_case *c = &vector_cases[i];
		struct vector v = vector_load(c->name);
		struct outcome o;

		feed(&o, v.bytes, v.len, LIMIT, 0, 0);
		cr_expect_eq(o.status, c->status, "%s: status %d, want %d", c->name,
		    o.status, c->status);
		cr_expect_eq(o.info.reason, c->reason, "%s: reason %s, want %s", c->name,
		    hello_reason_str(o.info.reason), hello_reason_str(c->reason));
		expect_sni(c->name, &o.info, c->sni);
		if (c->alpn != NULL)
			expect_alpn(c->name, &o.info, c->alpn);
		cr_expect_eq(o.info.alpn_count, c->alpn_count, "%s: alpn_count %u", c->name,
		    o.info.alpn_count);
		cr_expect_eq(o.info.client_version, c->client_version,
		    "%s: client_version %#x", c->name, o.info.client_version);
		cr_expect_eq(o.info.records, c->records, "%s: records %u", c->name,
		    o.info.records);
		if (c->status == HELLO_OK) {
			cr_expect_eq(o.info.record_version, RECORD_TLS10, "%s: record_version",
			    c->name);
			cr_expect_eq(o.info.hello_end, v.len, "%s: hello_end", c->name);
		}
		outcome_free(&o);
		free(v.bytes);
	}
}

/* bad_data_2 and 3 are cut short: they must wait, whatever the delivery. */
Test(vectors, truncated_ones_wait_at_every_byte)
{
	static const char *const names[] = { "sniproxy-bad_data_2", "sniproxy-bad_data_3" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct vector v = vector_load(names[i]);
		struct outcome o;

		feed(&o, v.bytes, v.len, LIMIT, 1, 0);
		cr_expect_eq(o.status, HELLO_NEED_MORE, "%s: %d", names[i], o.status);
		cr_expect_eq(o.fed, v.len, "%s: verdict after %zu bytes", names[i], o.fed);
		outcome_free(&o);
		free(v.bytes);
	}
}

Test(vectors, openssl_long_alpn_spans_records_and_keeps_every_name)
{
	struct vector v = vector_load("openssl-long_alpn");
	char want[8192], x[241];
	struct outcome o;
	size_t at, i;

	memset(x, 'x', 240);
	x[240] = '\0';
	at = (size_t)snprintf(want, sizeof(want), "h2,http/1.1");
	for (i = 0; i < 20; i++)
		at += (size_t)snprintf(want + at, sizeof(want) - at, ",proto%02zu-%s", i, x);
	feed(&o, v.bytes, v.len, LIMIT, 0, 0);
	cr_assert_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_gt(o.info.hello_len, 4096, "hello_len %u", o.info.hello_len);
	cr_expect_eq(o.info.records, 11);
	cr_expect_eq(o.info.alpn_count, 22);
	/* Spanning records, the names are read from the reassembled copy. */
	cr_expect(o.info.alpn >= o.scratch && o.info.alpn < o.scratch + LIMIT,
	    "ALPN does not point into scratch");
	expect_alpn("openssl-long_alpn", &o.info, want);
	outcome_free(&o);
	free(v.bytes);
}

/* --- Accepted hellos: fields, and every chunking or re-framing agrees. --- */

static const struct accepted_case {
	const char *what;
	bool raw;		/* bytes are the wire; else a body wrapped in one record */
	const uint8_t *bytes;
	size_t len;
	uint16_t record_version;	/* of the wrapping record */
	const char *sni;
	const char *alpn;
	uint16_t client_version;
	bool understated;
} accepted_cases[] = {
	{ .what = "SNI, ALPN and a skipped extension", .raw = true, .bytes = hello_sni_alpn,
	  .len = sizeof(hello_sni_alpn), .sni = "example.com", .alpn = "h2,http/1.1",
	  .client_version = 0x0303 },
	{ .what = "handshake length 2 short, as sniproxy's vectors", .raw = true,
	  .bytes = hello_understated, .len = sizeof(hello_understated), .sni = "ab.com",
	  .alpn = "", .client_version = 0x0303, .understated = true },
	{ .what = "no extensions at all", BODY(FIXED_FIELDS),
	  .record_version = RECORD_TLS10, .alpn = "", .client_version = 0x0303 },
	{ .what = "empty extensions block",
	  BODY(FIXED_FIELDS,
	       0x00, 0x00),	/* extensions length: 0 */
	  .record_version = RECORD_TLS10, .alpn = "", .client_version = 0x0303 },
	{ .what = "record version 3.0 (old clients)",
	  BODY(0x03, 0x01,	/* legacy_version: TLS 1.0 */
	       RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION,
	       0x00, 0x0f,	/* extensions length: 15 */
	       SNI_AB_COM_EXT),
	  .record_version = 0x0300, .sni = "ab.com", .alpn = "", .client_version = 0x0301 },
	{ .what = "session id, SNI with trailing dot and underscore",
	  BODY(VERSION_TLS12, RANDOM_32,
	       0x20,		/* legacy_session_id length: 32 */
	       RANDOM_32,	/* (the session id) */
	       ONE_SUITE, NULL_COMPRESSION,
	       0x00, 0x12,	/* extensions length: 18 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x0e,	/* extension length: 14 */
	       0x00, 0x0c,	/* server_name_list length: 12 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x09,	/* host_name length: 9 */
	       '_', 'a', '-', '1', '.', 'C', 'O', 'M', '.'),
	  .record_version = RECORD_TLS10, .sni = "_a-1.COM.", .alpn = "",
	  .client_version = 0x0303 },
	{ .what = "TLS 1.3 client_version {3,4}",
	  BODY(0x03, 0x04,	/* legacy_version: {3,4}, a client that ignored the freeze */
	       RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION,
	       0x00, 0x09,	/* extensions length: 9 */
	       ALPN_H2_EXT),
	  .record_version = RECORD_TLS10, .alpn = "h2", .client_version = 0x0304 },
};
#define ACCEPTED_CASES (sizeof(accepted_cases) / sizeof(accepted_cases[0]))

static size_t
accepted_wire(const struct accepted_case *c, uint8_t *out)
{
	if (c->raw) {
		memcpy(out, c->bytes, c->len);
		return c->len;
	}
	return wrap_body(c->bytes, c->len, c->record_version, out);
}

Test(fields, annotated_hellos_parse_to_their_fields)
{
	size_t i, len;

	for (i = 0; i < ACCEPTED_CASES; i++) {
		const struct accepted_case *c = &accepted_cases[i];
		struct outcome o;

		len = accepted_wire(c, wire_a);
		feed(&o, wire_a, len, LIMIT, 0, 0);
		cr_expect_eq(o.status, HELLO_OK, "%s: status %d (%s)", c->what, o.status,
		    hello_reason_str(o.info.reason));
		cr_expect_eq(o.info.reason, HELLO_R_NONE, "%s", c->what);
		expect_sni(c->what, &o.info, c->sni);
		expect_alpn(c->what, &o.info, c->alpn);
		cr_expect_eq(o.info.client_version, c->client_version, "%s: client_version %#x",
		    c->what, o.info.client_version);
		cr_expect_eq(o.info.record_version, wire_a[1] << 8 | wire_a[2],
		    "%s: record_version %#x", c->what, o.info.record_version);
		cr_expect_eq(o.info.hello_len, len - TLS_RECORD_HEADER_BYTES, "%s", c->what);
		cr_expect_eq(o.info.hello_end, len, "%s", c->what);
		cr_expect_eq(o.info.records, 1, "%s", c->what);
		outcome_free(&o);
	}
}

Test(fields, sni_and_alpn_point_into_the_wire_in_place)
{
	static const uint8_t list[] = { 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	struct hello_parser p;
	struct hello_info info;

	hello_parser_init(&p, LIMIT);
	/* One record needs no scratch: NULL must do. */
	cr_assert_eq(hello_parse(&p, hello_sni_alpn, sizeof(hello_sni_alpn), NULL, 0, &info),
	    HELLO_OK, "reason %s", hello_reason_str(info.reason));
	cr_expect_eq(info.sni, hello_sni_alpn + HELLO_SNI_ALPN_SNI_AT);
	cr_expect_eq(info.sni_len, 11);
	cr_expect_eq(info.alpn, hello_sni_alpn + HELLO_SNI_ALPN_LIST_AT);
	cr_expect_eq(info.alpn_len, sizeof(list));
	cr_expect_arr_eq(info.alpn, list, sizeof(list));
	cr_expect_eq(info.alpn_count, 2);
	cr_expect_eq(info.record_version, 0x0301);
	cr_expect_eq(info.client_version, 0x0303);
	cr_expect_eq(info.hello_len, 92);
	cr_expect_eq(info.hello_end, 97);
	cr_expect_eq(info.records, 1);
}

Test(fields, hello_end_stops_before_bytes_that_follow)
{
	static const uint8_t early_data[] = {
		0x17,		/* record: application_data */
		0x03, 0x03,	/* record version: TLS 1.2 */
		0x00, 0x02,	/* record length: 2 */
		0xde, 0xad,	/* (ciphertext) */
	};
	size_t len = sizeof(hello_sni_alpn);
	struct outcome o;

	/* A following record of another type is not the hello's business. */
	memcpy(wire_a, hello_sni_alpn, len);
	memcpy(wire_a + len, early_data, sizeof(early_data));
	feed(&o, wire_a, len + sizeof(early_data), LIMIT, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.hello_end, len);
	outcome_free(&o);

	/* Nor are bytes after the message inside the hello's own record. */
	put16(wire_a, 3, len - TLS_RECORD_HEADER_BYTES + sizeof(early_data));
	feed(&o, wire_a, len + sizeof(early_data), LIMIT, 1, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.hello_end, len);
	cr_expect_eq(o.fed, len, "verdict after %zu bytes, want %zu", o.fed, len);
	outcome_free(&o);
}

Test(fields, record_of_exactly_2_14_bytes_accepted)
{
	size_t body = build_padded_body(TLS_MAX_PLAINTEXT_RECORD - TLS_HANDSHAKE_HEADER_BYTES,
	    body_buf);
	size_t len = wrap_body(body_buf, body, RECORD_TLS10, wire_a);
	struct outcome o;

	feed(&o, wire_a, len, LIMIT, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.hello_len, TLS_MAX_PLAINTEXT_RECORD);
	outcome_free(&o);

	put16(wire_a, 3, TLS_MAX_PLAINTEXT_RECORD + 1);	/* record length: 2^14 + 1 */
	feed(&o, wire_a, len, LIMIT, 1, 0);
	cr_expect_eq(o.status, HELLO_MALFORMED);
	cr_expect_eq(o.info.reason, HELLO_R_RECORD_LENGTH);
	cr_expect_eq(o.fed, TLS_RECORD_HEADER_BYTES, "verdict after %zu bytes", o.fed);
	outcome_free(&o);
}

/* A hello over 2^14 must span records; 40,000 bytes in 3 is legal. */
Test(fields, hello_larger_than_a_record_spans_records)
{
	size_t body = build_padded_body(40000, body_buf);
	size_t len = wrap_body(body_buf, body, RECORD_TLS10, wire_a);	/* too long a record: input only */
	size_t rlen = reframe(wire_a, len, 3, wire_b);
	struct outcome o;

	feed(&o, wire_b, rlen, LIMIT, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.records, 3);
	cr_expect_eq(o.info.hello_len, 40004);
	cr_expect_eq(o.info.hello_end, rlen);
	outcome_free(&o);

	feed(&o, wire_b, rlen, 32768, 1, 0);
	cr_expect_eq(o.status, HELLO_TOO_BIG);
	cr_expect_eq(o.fed, TLS_RECORD_HEADER_BYTES + TLS_HANDSHAKE_HEADER_BYTES,
	    "declared size refused after %zu bytes", o.fed);
	outcome_free(&o);
}

/*
 * The record that ends the hello declares bytes that have not come yet:
 * the hello is complete without them and nothing past len is read.
 */
Test(fields, multi_record_hello_ending_inside_its_last_record)
{
	size_t len = reframe(hello_sni_alpn, sizeof(hello_sni_alpn), 3, wire_b);
	size_t last = len - TLS_RECORD_HEADER_BYTES - 30;	/* 92 = 31 + 31 + 30 */
	struct outcome o;

	cr_assert_eq(wire_b[last + 4], 30, "reframe layout changed");
	wire_b[last + 4] = 40;		/* last record length: 40, 10 still to come */
	feed(&o, wire_b, len, LIMIT, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.hello_end, len);
	expect_sni("last record longer", &o.info, "example.com");
	outcome_free(&o);
}

/* A caller that breaks "wire only grows" gets no verdict and no stray read. */
Test(fields, shrunk_wire_reads_nothing)
{
	struct hello_parser p;
	struct hello_info info;
	uint8_t *tiny = malloc(TLS_RECORD_HEADER_BYTES);

	cr_assert_not_null(tiny);
	memcpy(tiny, hello_sni_alpn, TLS_RECORD_HEADER_BYTES);
	hello_parser_init(&p, LIMIT);
	cr_assert_eq(hello_parse(&p, hello_sni_alpn, sizeof(hello_sni_alpn), NULL, 0, &info),
	    HELLO_OK);
	cr_expect_eq(hello_parse(&p, tiny, TLS_RECORD_HEADER_BYTES, NULL, 0, &info),
	    HELLO_NEED_MORE);
	free(tiny);
}

/* The understated hello waits for its record's end, and only for that. */
Test(fields, understated_hello_verdict_at_the_record_end)
{
	size_t len = sizeof(hello_understated);
	struct outcome o;

	feed(&o, hello_understated, len, LIMIT, 1, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.fed, len, "verdict after %zu bytes", o.fed);
	cr_expect_eq(o.info.hello_end, len);
	cr_expect_eq(o.info.hello_len, len - TLS_RECORD_HEADER_BYTES);
	expect_sni("understated", &o.info, "ab.com");
	outcome_free(&o);
}

/* RFC 8446 5.1: legacy_record_version is ignored on all but the first record. */
Test(fields, later_record_versions_are_ignored)
{
	size_t rlen = reframe(hello_sni_alpn, sizeof(hello_sni_alpn), 3, wire_b);
	size_t second = TLS_RECORD_HEADER_BYTES + ((size_t)wire_b[3] << 8 | wire_b[4]);
	size_t third = second + TLS_RECORD_HEADER_BYTES +
	    ((size_t)wire_b[second + 3] << 8 | wire_b[second + 4]);
	struct outcome o;

	wire_b[second + 1] = 0x02;	/* second record version: {2, 0} */
	wire_b[second + 2] = 0x00;
	wire_b[third + 2] = 0x03;	/* third record version: {3, 3} */
	feed(&o, wire_b, rlen, LIMIT, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.record_version, 0x0301);
	expect_sni("later record version", &o.info, "example.com");
	outcome_free(&o);
}

Test(fields, host_names_at_the_syntax_limits)
{
	static const char *const good[] = {
		"localhost", "a", "example.com.", "_dmarc.example-1.COM", "1.2.3.4", "xn--bcher-kva.example",
	};
	static const char *const bad[] = {
		"ab com", "a*b", "a/b", "a:443", "\xc3\xa9t\xc3\xa9", ".example.com",
		"example..com", "example.com..", ".",
	};
	char name[300];
	struct outcome o;
	size_t i, len;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		len = build_sni_hello(good[i], strlen(good[i]), wire_a);
		feed(&o, wire_a, len, LIMIT, 0, 0);
		cr_expect_eq(o.status, HELLO_OK, "\"%s\": %s", good[i], hello_reason_str(o.info.reason));
		expect_sni(good[i], &o.info, good[i]);
		outcome_free(&o);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = build_sni_hello(bad[i], strlen(bad[i]), wire_a);
		feed(&o, wire_a, len, LIMIT, 0, 0);
		cr_expect_eq(o.info.reason, HELLO_R_SNI_SYNTAX, "\"%s\": %s", bad[i],
		    hello_reason_str(o.info.reason));
		outcome_free(&o);
	}
	/* Bytes that C strings cannot hold: a NUL inside the name. */
	len = build_sni_hello("ab\0com", 6, wire_a);
	feed(&o, wire_a, len, LIMIT, 0, 0);
	cr_expect_eq(o.info.reason, HELLO_R_SNI_SYNTAX, "NUL: %s", hello_reason_str(o.info.reason));
	outcome_free(&o);

	struct { size_t labels[5]; bool trailing_dot; enum hello_status status; } sizes[] = {
		{ { 63 }, false, HELLO_OK },			/* the longest label */
		{ { 64 }, false, HELLO_MALFORMED },		/* one more */
		{ { 63, 63, 63, 63 }, false, HELLO_OK },	/* 255 in all */
		{ { 63, 63, 63, 62 }, true, HELLO_OK },		/* 255 with the dot */
		{ { 63, 63, 63, 62, 1 }, false, HELLO_MALFORMED },	/* 256 */
		{ { 63, 63, 63, 63 }, true, HELLO_MALFORMED },	/* 256 with the dot */
	};
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t k, at = 0;

		for (k = 0; k < 5 && sizes[i].labels[k] > 0; k++) {
			if (k > 0)
				name[at++] = '.';
			memset(name + at, 'a' + (int)k, sizes[i].labels[k]);
			at += sizes[i].labels[k];
		}
		if (sizes[i].trailing_dot)
			name[at++] = '.';
		len = build_sni_hello(name, at, wire_a);
		feed(&o, wire_a, len, LIMIT, 0, 0);
		cr_expect_eq(o.status, sizes[i].status, "name of %zu bytes (case %zu): %s", at, i,
		    hello_reason_str(o.info.reason));
		if (sizes[i].status != HELLO_OK)
			cr_expect_eq(o.info.reason, HELLO_R_SNI_SYNTAX, "case %zu", i);
		outcome_free(&o);
	}
}

Test(incremental, accepted_hellos_any_chunking_same_result)
{
	size_t i, len;

	for (i = 0; i < ACCEPTED_CASES; i++) {
		len = accepted_wire(&accepted_cases[i], wire_a);
		expect_any_chunking_same(accepted_cases[i].what, wire_a, len, LIMIT);
	}
	for (i = 0; i < VECTOR_CASES; i++) {
		struct vector v = vector_load(vector_cases[i].name);

		expect_any_chunking_same(vector_cases[i].name, v.bytes, v.len, LIMIT);
		free(v.bytes);
	}
}

Test(incremental, accepted_hellos_reframed_same_result)
{
	size_t i, len;

	for (i = 0; i < ACCEPTED_CASES; i++) {
		len = accepted_wire(&accepted_cases[i], wire_a);
		expect_reframed_same(accepted_cases[i].what, wire_a, len,
		    accepted_cases[i].understated);
	}
	for (i = 0; i < VECTOR_CASES; i++) {
		struct vector v;

		if (vector_cases[i].status != HELLO_OK)
			continue;
		v = vector_load(vector_cases[i].name);
		expect_reframed_same(vector_cases[i].name, v.bytes, v.len,
		    vector_cases[i].understated);
		free(v.bytes);
	}
}

Test(incremental, every_strict_prefix_needs_more)
{
	size_t i, len;

	for (i = 0; i < ACCEPTED_CASES; i++) {
		len = accepted_wire(&accepted_cases[i], wire_a);
		expect_prefixes_need_more(accepted_cases[i].what, wire_a, len);
		len = reframe(wire_a, len, 3, wire_b);
		expect_prefixes_need_more(accepted_cases[i].what, wire_b, len);
	}
	for (i = 0; i < VECTOR_CASES; i++) {
		struct vector v;

		if (vector_cases[i].status != HELLO_OK)
			continue;
		v = vector_load(vector_cases[i].name);
		expect_prefixes_need_more(vector_cases[i].name, v.bytes, v.len);
		free(v.bytes);
	}
}

/* --- Refusals: one or more cases per reason, each decided at a known byte. --- */

static const struct refusal_case {
	const char *what;
	enum hello_status status;
	enum hello_reason reason;
	uint32_t limit;		/* 0: LIMIT */
	size_t decided_at;	/* wire bytes that must bring the verdict; 0: all */
	bool raw;		/* bytes are the wire; else a body wrapped in one record */
	const uint8_t *bytes;
	size_t len;
} refusal_cases[] = {
	/* Record layer: decided on the byte at fault. */
	{ "SSL 2.0 hello", HELLO_NOT_TLS, HELLO_R_SSLV2, .decided_at = 1,
	  RAW(0x80, 0x2e,	/* SSL 2.0 header: high bit, length 46 */
	      0x01,		/* msg_type: client_hello */
	      0x03, 0x01) },	/* version: TLS 1.0 */
	{ "HTTP request", HELLO_NOT_TLS, HELLO_R_RECORD_TYPE, .decided_at = 1,
	  RAW('G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P') },
	{ "alert as first record", HELLO_NOT_TLS, HELLO_R_RECORD_TYPE, .decided_at = 1,
	  RAW(0x15,		/* record: alert */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x02,	/* record length: 2 */
	      0x02, 0x28) },	/* fatal handshake_failure */
	{ "record version 2.0", HELLO_NOT_TLS, HELLO_R_RECORD_VERSION, .decided_at = 2,
	  RAW(0x16,		/* record: handshake */
	      0x02, 0x00,	/* record version: {2, 0} */
	      0x00, 0x2d) },	/* record length: 45 */
	{ "zero-length first record", HELLO_MALFORMED, HELLO_R_RECORD_EMPTY, .decided_at = 5,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x00) },	/* record length: 0 */
	{ "zero-length second record", HELLO_MALFORMED, HELLO_R_RECORD_EMPTY, .decided_at = 14,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x04,	/* record length: 4 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x00, 0x29,	/* handshake length: 41 */
	      0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x00) },	/* record length: 0 */
	{ "record over 2^14", HELLO_MALFORMED, HELLO_R_RECORD_LENGTH, .decided_at = 5,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x40, 0x01) },	/* record length: 16385 */
	{ "alert before the hello ended", HELLO_MALFORMED, HELLO_R_RECORD_INTERLEAVED,
	  .decided_at = 10,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x04,	/* record length: 4 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x00, 0x29,	/* handshake length: 41 */
	      0x15,		/* record: alert */
	      0x03, 0x03,	/* record version: TLS 1.2 */
	      0x00, 0x02,	/* record length: 2 */
	      0x02, 0x28) },	/* fatal handshake_failure */
	{ "change_cipher_spec before the hello ended", HELLO_MALFORMED,
	  HELLO_R_RECORD_INTERLEAVED, .decided_at = 10,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x04,	/* record length: 4 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x00, 0x29,	/* handshake length: 41 */
	      0x14,		/* record: change_cipher_spec */
	      0x03, 0x03,	/* record version: TLS 1.2 */
	      0x00, 0x01,	/* record length: 1 */
	      0x01) },		/* change_cipher_spec */
	/* Handshake header: decided as soon as it is known. */
	{ "server_hello", HELLO_MALFORMED, HELLO_R_HANDSHAKE_TYPE, .decided_at = 6,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x03,	/* record version: TLS 1.2 */
	      0x00, 0x30,	/* record length: 48 */
	      0x02,		/* handshake: server_hello */
	      0x00, 0x00, 0x2c) },	/* handshake length: 44 */
	{ "handshake length 40", HELLO_MALFORMED, HELLO_R_HANDSHAKE_LENGTH, .decided_at = 9,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x2c,	/* record length: 44 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x00, 0x28) },	/* handshake length: 40, one short */
	{ "declared 4 + 509 over a 512 limit", HELLO_TOO_BIG, HELLO_R_TOO_BIG, .limit = 512,
	  .decided_at = 9,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x02, 0x01,	/* record length: 513 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x01, 0xfd) },	/* handshake length: 509 */
	{ "declared 4 + 508 fits 512 but not with its record header", HELLO_TOO_BIG,
	  HELLO_R_TOO_BIG, .limit = 512, .decided_at = 9,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x02, 0x00,	/* record length: 512 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x01, 0xfc) },	/* handshake length: 508 */
	{ "declared 16 MiB", HELLO_TOO_BIG, HELLO_R_TOO_BIG, .decided_at = 9,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x40, 0x00,	/* record length: 16384 */
	      0x01,		/* handshake: client_hello */
	      0xff, 0xff, 0xff) },	/* handshake length: 2^24 - 1 */
	/* The body: decided when the message is whole. */
	{ "client_version SSL 3.0", HELLO_MALFORMED, HELLO_R_CLIENT_VERSION,
	  BODY(0x03, 0x00,	/* legacy_version: SSL 3.0 */
	       RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION) },
	{ "client_version major 2", HELLO_MALFORMED, HELLO_R_CLIENT_VERSION,
	  BODY(0x02, 0x00,	/* legacy_version: {2, 0} */
	       RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION) },
	{ "client_version major 4", HELLO_MALFORMED, HELLO_R_CLIENT_VERSION,
	  BODY(0x04, 0x01,	/* legacy_version: {4, 1} */
	       RANDOM_32, NO_SESSION_ID, ONE_SUITE, NULL_COMPRESSION) },
	{ "session id of 33", HELLO_MALFORMED, HELLO_R_SESSION_ID,
	  BODY(VERSION_TLS12, RANDOM_32,
	       0x21,		/* legacy_session_id length: 33, over 32 */
	       RANDOM_32, 0x20,	/* (33 bytes of session id, all present) */
	       ONE_SUITE, NULL_COMPRESSION) },
	{ "session id past the end", HELLO_MALFORMED, HELLO_R_SESSION_ID,
	  BODY(VERSION_TLS12, RANDOM_32,
	       0x20,		/* legacy_session_id length: 32, 6 bytes follow */
	       ONE_SUITE, NULL_COMPRESSION) },
	{ "odd cipher_suites", HELLO_MALFORMED, HELLO_R_CIPHER_SUITES,
	  BODY(VERSION_TLS12, RANDOM_32, NO_SESSION_ID,
	       0x00, 0x03,	/* cipher_suites length: 3 */
	       0x13, 0x01, 0x13,
	       NULL_COMPRESSION) },
	{ "empty cipher_suites", HELLO_MALFORMED, HELLO_R_CIPHER_SUITES,
	  BODY(VERSION_TLS12, RANDOM_32, NO_SESSION_ID,
	       0x00, 0x00,	/* cipher_suites length: 0 */
	       NULL_COMPRESSION,
	       0x00, 0x00) },	/* extensions length: 0 */
	{ "cipher_suites past the end", HELLO_MALFORMED, HELLO_R_CIPHER_SUITES,
	  BODY(VERSION_TLS12, RANDOM_32, NO_SESSION_ID,
	       0x00, 0x10,	/* cipher_suites length: 16, 4 bytes follow */
	       0x13, 0x01,
	       NULL_COMPRESSION) },
	{ "empty compression_methods", HELLO_MALFORMED, HELLO_R_COMPRESSION,
	  BODY(VERSION_TLS12, RANDOM_32, NO_SESSION_ID, ONE_SUITE,
	       0x00,		/* legacy_compression_methods length: 0 */
	       0x00, 0x00) },	/* extensions length: 0 */
	{ "compression_methods past the end", HELLO_MALFORMED, HELLO_R_COMPRESSION,
	  BODY(VERSION_TLS12, RANDOM_32, NO_SESSION_ID, ONE_SUITE,
	       0x05,		/* legacy_compression_methods length: 5, 1 follows */
	       0x00) },
	{ "one stray byte for an extensions length", HELLO_MALFORMED,
	  HELLO_R_EXTENSIONS_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00) },		/* half an extensions length */
	{ "extensions length past the end", HELLO_MALFORMED, HELLO_R_EXTENSIONS_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x05,	/* extensions length: 5, 4 follow */
	       0x00, 0x17,	/* extension: extended_master_secret */
	       0x00, 0x00) },	/* extension length: 0 */
	{ "extensions past the message, short of the record end", HELLO_MALFORMED,
	  HELLO_R_EXTENSIONS_LENGTH, .decided_at = 65,
	  RAW(0x16,		/* record: handshake */
	      0x03, 0x01,	/* record version: TLS 1.0 */
	      0x00, 0x3f,	/* record length: 63 */
	      0x01,		/* handshake: client_hello */
	      0x00, 0x00, 0x38,	/* handshake length: 56, 3 short of the record */
	      FIXED_FIELDS,
	      0x00, 0x0f,	/* extensions length: 15, 2 past the message, 1 short of the record */
	      SNI_AB_COM_EXT,
	      0x00) },		/* the record's last byte */
	{ "a byte after the extensions block", HELLO_MALFORMED, HELLO_R_TRAILING_DATA,
	  BODY(FIXED_FIELDS,
	       0x00, 0x04,	/* extensions length: 4 */
	       0x00, 0x17,	/* extension: extended_master_secret */
	       0x00, 0x00,	/* extension length: 0 */
	       0xff) },		/* after the last field */
	{ "extension past the block", HELLO_MALFORMED, HELLO_R_EXTENSION_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x06,	/* extensions length: 6 */
	       0x00, 0x17,	/* extension: extended_master_secret */
	       0x00, 0x05,	/* extension length: 5, 2 follow */
	       0x00, 0x00) },
	{ "extension header cut by the block", HELLO_MALFORMED, HELLO_R_EXTENSION_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x02,	/* extensions length: 2 */
	       0x00, 0x17) },	/* extension: extended_master_secret, no length */
	/* server_name. */
	{ "server_name_list length off by one", HELLO_MALFORMED, HELLO_R_SNI_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0f,	/* extensions length: 15 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x0b,	/* extension length: 11 */
	       0x00, 0x08,	/* server_name_list length: 8, the extension says 9 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x06,	/* host_name length: 6 */
	       AB_COM) },
	{ "empty server_name_list", HELLO_MALFORMED, HELLO_R_SNI_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x06,	/* extensions length: 6 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x02,	/* extension length: 2 */
	       0x00, 0x00) },	/* server_name_list length: 0 */
	{ "server_name extension of 1 byte", HELLO_MALFORMED, HELLO_R_SNI_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x05,	/* extensions length: 5 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x01,	/* extension length: 1 */
	       0x00) },		/* half a list length */
	{ "host_name past the list", HELLO_MALFORMED, HELLO_R_SNI_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0f,	/* extensions length: 15 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x0b,	/* extension length: 11 */
	       0x00, 0x09,	/* server_name_list length: 9 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x07,	/* host_name length: 7, 6 follow */
	       AB_COM) },
	{ "server_name entry header cut", HELLO_MALFORMED, HELLO_R_SNI_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x08,	/* extensions length: 8 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x04,	/* extension length: 4 */
	       0x00, 0x02,	/* server_name_list length: 2 */
	       0x00,		/* name_type: host_name */
	       0x00) },		/* half a host_name length */
	{ "two server_name extensions", HELLO_MALFORMED, HELLO_R_SNI_DUPLICATE,
	  BODY(FIXED_FIELDS,
	       0x00, 0x1e,	/* extensions length: 30 */
	       SNI_AB_COM_EXT,
	       SNI_AB_COM_EXT) },
	{ "two host_names", HELLO_MALFORMED, HELLO_R_SNI_DUPLICATE,
	  BODY(FIXED_FIELDS,
	       0x00, 0x18,	/* extensions length: 24 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x14,	/* extension length: 20 */
	       0x00, 0x12,	/* server_name_list length: 18 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x06,	/* host_name length: 6 */
	       AB_COM,
	       0x00,		/* name_type: host_name */
	       0x00, 0x06,	/* host_name length: 6 */
	       'c', 'd', '.', 'o', 'r', 'g') },
	{ "name_type 1", HELLO_MALFORMED, HELLO_R_SNI_NAME_TYPE,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0f,	/* extensions length: 15 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x0b,	/* extension length: 11 */
	       0x00, 0x09,	/* server_name_list length: 9 */
	       0x01,		/* name_type: 1, undefined */
	       0x00, 0x06,	/* name length: 6 */
	       AB_COM) },
	{ "empty host_name", HELLO_MALFORMED, HELLO_R_SNI_EMPTY,
	  BODY(FIXED_FIELDS,
	       0x00, 0x09,	/* extensions length: 9 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x05,	/* extension length: 5 */
	       0x00, 0x03,	/* server_name_list length: 3 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x00) },	/* host_name length: 0 */
	{ "space in host_name", HELLO_MALFORMED, HELLO_R_SNI_SYNTAX,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0f,	/* extensions length: 15 */
	       0x00, 0x00,	/* extension: server_name */
	       0x00, 0x0b,	/* extension length: 11 */
	       0x00, 0x09,	/* server_name_list length: 9 */
	       0x00,		/* name_type: host_name */
	       0x00, 0x06,	/* host_name length: 6 */
	       'a', 'b', ' ', 'c', 'o', 'm') },
	/* ALPN. */
	{ "protocol_name_list length off by one", HELLO_MALFORMED, HELLO_R_ALPN_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x09,	/* extensions length: 9 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x05,	/* extension length: 5 */
	       0x00, 0x04,	/* protocol_name_list length: 4, the extension says 3 */
	       0x02, 'h', '2') },
	{ "protocol_name_list shorter than the extension", HELLO_MALFORMED,
	  HELLO_R_ALPN_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0b,	/* extensions length: 11 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x07,	/* extension length: 7 */
	       0x00, 0x03,	/* protocol_name_list length: 3, the extension says 5 */
	       0x02, 'h', '2',	/* "h2" */
	       0x01, 'x') },	/* "x", outside the list */
	{ "ALPN extension of 1 byte", HELLO_MALFORMED, HELLO_R_ALPN_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x05,	/* extensions length: 5 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x01,	/* extension length: 1 */
	       0x00) },		/* half a list length */
	{ "protocol name past the list", HELLO_MALFORMED, HELLO_R_ALPN_LENGTH,
	  BODY(FIXED_FIELDS,
	       0x00, 0x09,	/* extensions length: 9 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x05,	/* extension length: 5 */
	       0x00, 0x03,	/* protocol_name_list length: 3 */
	       0x05, 'h', '2') },	/* name length: 5, 2 follow */
	{ "empty protocol_name_list", HELLO_MALFORMED, HELLO_R_ALPN_EMPTY,
	  BODY(FIXED_FIELDS,
	       0x00, 0x06,	/* extensions length: 6 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x02,	/* extension length: 2 */
	       0x00, 0x00) },	/* protocol_name_list length: 0 */
	{ "empty protocol name", HELLO_MALFORMED, HELLO_R_ALPN_EMPTY,
	  BODY(FIXED_FIELDS,
	       0x00, 0x0a,	/* extensions length: 10 */
	       0x00, 0x10,	/* extension: application_layer_protocol_negotiation */
	       0x00, 0x06,	/* extension length: 6 */
	       0x00, 0x04,	/* protocol_name_list length: 4 */
	       0x02, 'h', '2',	/* "h2" */
	       0x00) },		/* name length: 0 */
	{ "two ALPN extensions", HELLO_MALFORMED, HELLO_R_ALPN_DUPLICATE,
	  BODY(FIXED_FIELDS,
	       0x00, 0x12,	/* extensions length: 18 */
	       ALPN_H2_EXT,
	       ALPN_H2_EXT) },
};
#define REFUSAL_CASES (sizeof(refusal_cases) / sizeof(refusal_cases[0]))

static size_t
refusal_wire(const struct refusal_case *c, uint8_t *out)
{
	if (c->raw) {
		memcpy(out, c->bytes, c->len);
		return c->len;
	}
	return wrap_body(c->bytes, c->len, RECORD_TLS10, out);
}

Test(refusals, each_case_gives_its_reason_at_its_byte)
{
	size_t i, len, want_at;

	for (i = 0; i < REFUSAL_CASES; i++) {
		const struct refusal_case *c = &refusal_cases[i];
		uint32_t limit = c->limit != 0 ? c->limit : LIMIT;
		struct outcome o;

		len = refusal_wire(c, wire_a);
		want_at = c->decided_at != 0 ? c->decided_at : len;
		feed(&o, wire_a, len, limit, 1, 0);
		cr_expect_eq(o.status, c->status, "%s: status %d, want %d", c->what,
		    o.status, c->status);
		cr_expect_eq(o.info.reason, c->reason, "%s: reason %s, want %s", c->what,
		    hello_reason_str(o.info.reason), hello_reason_str(c->reason));
		cr_expect_eq(o.fed, want_at, "%s: verdict after %zu bytes, want %zu",
		    c->what, o.fed, want_at);
		cr_expect_null(o.info.sni, "%s: SNI left on a refusal", c->what);
		cr_expect_null(o.info.alpn, "%s: ALPN left on a refusal", c->what);
		outcome_free(&o);
		expect_any_chunking_same(c->what, wire_a, len, limit);
	}
}

/* A reason added to the enum without a case here fails this. */
Test(refusals, every_reason_has_a_case)
{
	int reason;
	size_t i;
	bool found;

	for (reason = HELLO_R_NONE + 1; reason < HELLO_R_COUNT; reason++) {
		found = false;
		for (i = 0; i < REFUSAL_CASES; i++)
			found = found || (int)refusal_cases[i].reason == reason;
		cr_expect(found, "no refusal case yields %s", hello_reason_str(reason));
	}
}

/* In 1-byte records the handshake header is judged byte by byte as it lands. */
Test(refusals, handshake_header_judged_across_1_byte_records)
{
	size_t len = reframe(hello_sni_alpn, sizeof(hello_sni_alpn), 92, wire_b);
	size_t step = TLS_RECORD_HEADER_BYTES + 1;	/* one 1-byte record */
	struct outcome o;

	wire_b[3 * step + TLS_RECORD_HEADER_BYTES] = 0x28;	/* handshake length: 40 */
	feed(&o, wire_b, len, LIMIT, 1, 0);
	cr_expect_eq(o.info.reason, HELLO_R_HANDSHAKE_LENGTH, "%s",
	    hello_reason_str(o.info.reason));
	cr_expect_eq(o.fed, 4 * step, "verdict after %zu", o.fed);
	outcome_free(&o);

	wire_b[TLS_RECORD_HEADER_BYTES] = 0x02;	/* handshake: server_hello */
	feed(&o, wire_b, len, LIMIT, 1, 0);
	cr_expect_eq(o.info.reason, HELLO_R_HANDSHAKE_TYPE, "%s",
	    hello_reason_str(o.info.reason));
	cr_expect_eq(o.fed, step, "verdict after %zu", o.fed);
	outcome_free(&o);
}

/* --- The byte limit. --- */

Test(limit, hello_exactly_at_the_limit_fits)
{
	uint32_t len = sizeof(hello_sni_alpn);
	struct outcome o;

	feed(&o, hello_sni_alpn, len, len, 1, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	outcome_free(&o);

	feed(&o, hello_sni_alpn, len, len - 1, 1, 0);
	cr_expect_eq(o.status, HELLO_TOO_BIG);
	cr_expect_eq(o.info.reason, HELLO_R_TOO_BIG);
	cr_expect_eq(o.fed, TLS_RECORD_HEADER_BYTES + TLS_HANDSHAKE_HEADER_BYTES,
	    "refused after %zu bytes", o.fed);
	outcome_free(&o);
}

/* 92 handshake bytes in 1-byte records are 552 on the wire: the limit counts those. */
Test(limit, one_byte_records_count_their_headers)
{
	size_t len = reframe(hello_sni_alpn, sizeof(hello_sni_alpn), 92, wire_b);
	struct outcome o;

	cr_assert_eq(len, 552);
	feed(&o, wire_b, len, 552, 0, 0);
	cr_expect_eq(o.status, HELLO_OK, "reason %s", hello_reason_str(o.info.reason));
	cr_expect_eq(o.info.records, 92);
	outcome_free(&o);

	feed(&o, wire_b, len, 551, 1, 0);
	cr_expect_eq(o.status, HELLO_TOO_BIG);
	cr_expect_eq(o.info.reason, HELLO_R_TOO_BIG);
	cr_expect_eq(o.fed, 551, "refused after %zu bytes, want at the limit", o.fed);
	outcome_free(&o);

	feed(&o, wire_b, len, 512, 0, 0);
	cr_expect_eq(o.status, HELLO_TOO_BIG, "all at once");
	outcome_free(&o);
}

Test(limit, multi_record_hello_needs_a_scratch_of_limit_bytes)
{
	size_t len = reframe(hello_sni_alpn, sizeof(hello_sni_alpn), 3, wire_b);
	static uint8_t scratch[LIMIT];
	struct hello_parser p;
	struct hello_info info;

	hello_parser_init(&p, LIMIT);
	cr_expect_eq(hello_parse(&p, wire_b, len, scratch, LIMIT - 1, &info), HELLO_TOO_BIG);
	cr_expect_eq(info.reason, HELLO_R_TOO_BIG);

	hello_parser_init(&p, LIMIT);
	cr_expect_eq(hello_parse(&p, wire_b, len, NULL, 0, &info), HELLO_TOO_BIG);

	hello_parser_init(&p, LIMIT);
	cr_assert_eq(hello_parse(&p, wire_b, len, scratch, LIMIT, &info), HELLO_OK);
	cr_expect_eq(info.records, 3);
	cr_expect(info.sni >= scratch && info.sni < scratch + LIMIT, "SNI not in scratch");
	expect_sni("3 records", &info, "example.com");
}

/* --- Names and formatting. --- */

Test(names, reasons_have_distinct_stable_names)
{
	int a, b;
	const char *s;

	cr_expect_str_eq(hello_reason_str(HELLO_R_NONE), "none");
	cr_expect_str_eq(hello_reason_str(HELLO_R_SNI_EMPTY), "sni_empty");
	cr_expect_str_eq(hello_reason_str(HELLO_R_RECORD_TYPE), "record_type");
	cr_expect_str_eq(hello_reason_str(HELLO_R_TOO_BIG), "too_big");
	cr_expect_str_eq(hello_reason_str(HELLO_R_COUNT), "unknown");
	cr_expect_str_eq(hello_reason_str((enum hello_reason)-1), "unknown");
	for (a = 0; a < HELLO_R_COUNT; a++) {
		s = hello_reason_str(a);
		cr_expect_neq(strcmp(s, "unknown"), 0, "reason %d has no name", a);
		cr_expect_eq(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(s),
		    "\"%s\" is not lower-case", s);
		for (b = 0; b < a; b++)
			cr_expect_str_neq(s, hello_reason_str(b), "%d and %d share \"%s\"", a, b, s);
	}
}

Test(names, alpn_format_joins_cuts_and_masks)
{
	static const uint8_t odd[] = { 0x03, 'a', 0x01, 0xff, 0x01, ',' };
	struct hello_parser p;
	struct hello_info info;
	char buf[32];

	hello_parser_init(&p, LIMIT);
	cr_assert_eq(hello_parse(&p, hello_sni_alpn, sizeof(hello_sni_alpn), NULL, 0, &info),
	    HELLO_OK);
	cr_expect_str_eq(hello_alpn_format(&info, buf, sizeof(buf)), "h2,http/1.1");
	cr_expect_str_eq(hello_alpn_format(&info, buf, 5), "h2,h");
	cr_expect_str_eq(hello_alpn_format(&info, buf, 3), "h2");
	cr_expect_str_eq(hello_alpn_format(&info, buf, 1), "");
	buf[0] = 'z';
	cr_expect_eq(hello_alpn_format(&info, buf, 0), buf);
	cr_expect_eq(buf[0], 'z', "size 0 must write nothing");

	memset(&info, 0, sizeof(info));
	cr_expect_str_eq(hello_alpn_format(&info, buf, sizeof(buf)), "");
	info.alpn = odd;
	info.alpn_len = sizeof(odd);
	info.alpn_count = 2;
	cr_expect_str_eq(hello_alpn_format(&info, buf, sizeof(buf)), "a??,,");
}
