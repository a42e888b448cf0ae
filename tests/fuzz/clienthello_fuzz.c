/*
 * clienthello_fuzz.c -- libFuzzer target: hello_parse() fed in chunks the
 * input picks must reach the verdict one call on the whole buffer reaches,
 * and every verdict keeps the promises of common/clienthello.h.
 *
 * Input: byte 0 picks the limit (bits 0-1: 512, 4096, 65536, 2048), a
 * scratch one byte too short (bit 2), and how to read the rest (bit 3: it
 * is one handshake message, which the target frames into records of sizes
 * the PRNG picks; bit 4 with it: the message's length field is set to fit).
 * Bytes 1-2 seed the PRNG that cuts the wire into chunks. Without bit 3 the
 * rest is the wire as it is. Framing here lets mutations of the message
 * keep its records consistent, so hellos that end right at the limit or
 * span many records are reached. Seeds: tests/fuzz/corpus/clienthello/.
 *
 * The chunked run passes, call by call, one of two copies of the wire (the
 * worker's buffer may move when it grows) whose bytes past what was
 * "received" so far are poisoned: a read beyond len is an ASan report.
 */
#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clienthello.h"
#include "fuzz.h"
#include "tls.h"
#include "tunables.h"

#define INPUT_HEADER_BYTES	3u
#define MODE_SHORT_SCRATCH	0x04u
#define MODE_FRAME		0x08u
#define MODE_FIX_LENGTH		0x10u
#define RECORD_VERSION_TLS10	0x0301u
/* The daemon's floor and default, one between, and 4096 where many hellos end. */
static const uint32_t fuzz_limits[] = { MIN_HELLO_BYTES, 4096, DEFAULT_HELLO_BYTES, 2048 };

/* The smallest ClientHello message: header 4 + version 2 + random 32 + 1 + 2 + 2 + 1 + 1. */
#define HELLO_MIN_MESSAGE	45u
#define RECORD_HANDSHAKE	22u
#define EXT_SERVER_NAME		0u
#define EXT_ALPN		16u
#define DNS_LABEL_MAX		63u

/* One hello_parse() verdict and what it was given on the call that returned it. */
struct run {
	enum hello_status status;
	struct hello_info info;
	size_t fed;		/* len on that call */
	size_t fed_before;	/* len on the call before (0: none) */
	uint8_t *wire;		/* the buffer passed on that call */
	uint8_t *scratch;
	size_t scratch_size;
};

static uint32_t
get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/*
 * Wraps a handshake message into TLS records of PRNG-picked sizes, from
 * one byte to the 2^14 maximum; with fix_length its length field is first
 * set to what follows it. Returns the wire, in a block of its own.
 */
static uint8_t *
frame_message(const uint8_t *msg, size_t n, bool fix_length, struct fuzz_rng *rng,
    size_t *wire_len)
{
	size_t cap = n + TLS_RECORD_HEADER_BYTES * (n + 1), at = 0, off = 0, take;
	uint8_t *copy = fuzz_dup(msg, n), *wire = malloc(cap);
	uint32_t x;

	FUZZ_CHECK(wire != NULL);
	if (fix_length && n >= TLS_HANDSHAKE_HEADER_BYTES && n - 4 < (1u << 24)) {
		copy[1] = (uint8_t)((n - 4) >> 16);
		copy[2] = (uint8_t)((n - 4) >> 8);
		copy[3] = (uint8_t)(n - 4);
	}
	while (off < n) {
		x = fuzz_rng_next(rng);
		switch (x & 3) {
		case 0:		take = TLS_MAX_PLAINTEXT_RECORD; break;
		case 1:		take = 1 + (x >> 2) % 8; break;
		case 2:		take = 1 + (x >> 2) % 64; break;
		default:	take = 1 + (x >> 2) % TLS_MAX_PLAINTEXT_RECORD; break;
		}
		if (take > n - off)
			take = n - off;
		wire[at++] = RECORD_HANDSHAKE;
		wire[at++] = RECORD_VERSION_TLS10 >> 8;
		wire[at++] = RECORD_VERSION_TLS10 & 0xff;
		wire[at++] = (uint8_t)(take >> 8);
		wire[at++] = (uint8_t)take;
		memcpy(wire + at, copy + off, take);
		at += take;
		off += take;
	}
	free(copy);
	*wire_len = at;
	return wire;
}

static bool
in_span(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && a - b <= size && n <= size - (a - b);
}

/* What clienthello.c promises for an SNI: DNS letters plus '_', no empty label, one trailing dot kept. */
static bool
sni_syntax_ok(const uint8_t *s, size_t n)
{
	size_t i, label = 0;

	if (n < 1 || n > TLS_MAX_HOSTNAME)
		return false;
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return true;
}

/* Statuses are refusals or not, and each refusal has reasons of its own kind. */
static void
check_reason(enum hello_status st, enum hello_reason r)
{
	switch (st) {
	case HELLO_OK:
	case HELLO_NEED_MORE:
		FUZZ_CHECK(r == HELLO_R_NONE);
		break;
	case HELLO_NOT_TLS:
		FUZZ_CHECK(r == HELLO_R_SSLV2 || r == HELLO_R_RECORD_TYPE ||
		    r == HELLO_R_RECORD_VERSION);
		break;
	case HELLO_MALFORMED:
		FUZZ_CHECK(r >= HELLO_R_RECORD_EMPTY && r <= HELLO_R_ALPN_DUPLICATE);
		break;
	case HELLO_TOO_BIG:
		FUZZ_CHECK(r == HELLO_R_TOO_BIG);
		break;
	default:
		FUZZ_CHECK(!"status outside enum hello_status");
	}
	FUZZ_CHECK(strcmp(hello_reason_str(r), "unknown") != 0);
}

/* The promises any single verdict keeps, on its own. */
static void
check_run(const struct run *r, uint32_t limit)
{
	const struct hello_info *in = &r->info;
	size_t i, count = 0;

	check_reason(r->status, in->reason);
	if (r->status != HELLO_OK) {
		/* Nothing half-parsed leaks out of a refusal. */
		if (r->status != HELLO_NEED_MORE) {
			FUZZ_CHECK(in->sni == NULL && in->sni_len == 0);
			FUZZ_CHECK(in->alpn == NULL && in->alpn_len == 0 && in->alpn_count == 0);
		}
		/* At limit bytes a verdict is due: size alone never keeps a client waiting. */
		if (r->status == HELLO_NEED_MORE)
			FUZZ_CHECK(r->fed < limit);
		return;
	}
	FUZZ_CHECK(in->hello_end <= r->fed);
	FUZZ_CHECK(in->hello_end <= limit && in->hello_len <= limit);
	FUZZ_CHECK(in->hello_len >= HELLO_MIN_MESSAGE);
	FUZZ_CHECK(in->records >= 1);
	FUZZ_CHECK(in->hello_end == (uint64_t)TLS_RECORD_HEADER_BYTES * in->records +
	    in->hello_len);
	FUZZ_CHECK(in->record_version >> 8 == 3);
	FUZZ_CHECK(in->client_version >> 8 == 3 && (in->client_version & 0xff) >= 1);
	/* Several records need the scratch, and a short scratch refuses every time. */
	if (in->records > 1)
		FUZZ_CHECK(r->scratch != NULL && r->scratch_size >= limit);

	if (in->sni == NULL) {
		FUZZ_CHECK(in->sni_len == 0);
	} else {
		FUZZ_CHECK(sni_syntax_ok(in->sni, in->sni_len));
		if (in->records == 1)
			FUZZ_CHECK(in_span(in->sni, in->sni_len, r->wire, in->hello_end));
		else
			FUZZ_CHECK(in_span(in->sni, in->sni_len, r->scratch, in->hello_len));
	}
	if (in->alpn == NULL) {
		FUZZ_CHECK(in->alpn_len == 0 && in->alpn_count == 0);
		return;
	}
	if (in->records == 1)
		FUZZ_CHECK(in_span(in->alpn, in->alpn_len, r->wire, in->hello_end));
	else
		FUZZ_CHECK(in_span(in->alpn, in->alpn_len, r->scratch, in->hello_len));
	FUZZ_CHECK(in->alpn_len >= 2);
	for (i = 0; i < in->alpn_len; i += 1u + in->alpn[i], count++)
		FUZZ_CHECK(in->alpn[i] != 0);
	FUZZ_CHECK(i == in->alpn_len && count == in->alpn_count);
}

/* Two verdicts on the same wire agree: status, reason, and on OK every field. */
static void
check_same(const struct run *a, const struct run *b)
{
	const struct hello_info *x = &a->info, *y = &b->info;

	FUZZ_CHECK(a->status == b->status);
	FUZZ_CHECK(x->reason == y->reason);
	FUZZ_CHECK(x->record_version == y->record_version);
	if (a->status != HELLO_OK)
		return;
	FUZZ_CHECK(x->client_version == y->client_version);
	FUZZ_CHECK(x->hello_end == y->hello_end && x->hello_len == y->hello_len);
	FUZZ_CHECK(x->records == y->records);
	FUZZ_CHECK((x->sni == NULL) == (y->sni == NULL) && x->sni_len == y->sni_len);
	FUZZ_CHECK(x->sni == NULL || memcmp(x->sni, y->sni, x->sni_len) == 0);
	FUZZ_CHECK((x->alpn == NULL) == (y->alpn == NULL) && x->alpn_len == y->alpn_len);
	FUZZ_CHECK(x->alpn_count == y->alpn_count);
	FUZZ_CHECK(x->alpn == NULL || memcmp(x->alpn, y->alpn, x->alpn_len) == 0);
}

/*
 * One call on the first n bytes, copied into a block of exactly n bytes,
 * with a scratch of its own: both live until run_free(), so sni and alpn
 * stay readable whatever is parsed next.
 */
static void
parse_whole(struct run *r, const uint8_t *wire, size_t n, uint32_t limit,
    size_t scratch_size)
{
	struct hello_parser p;

	memset(r, 0, sizeof(*r));
	r->wire = fuzz_dup(wire, n);
	r->scratch = malloc(scratch_size);
	FUZZ_CHECK(r->scratch != NULL);
	r->scratch_size = scratch_size;
	r->fed = n;
	hello_parser_init(&p, limit);
	r->status = hello_parse(&p, r->wire, n, r->scratch, scratch_size, &r->info);
	check_run(r, limit);
}

static void
run_free(struct run *r)
{
	free(r->wire);
	free(r->scratch);
	r->wire = r->scratch = NULL;
}

static size_t
chunk_size(struct fuzz_rng *rng)
{
	uint32_t x = fuzz_rng_next(rng);

	switch (x & 7) {
	case 0:		return 0;	/* a wake-up with no new bytes */
	case 1:
	case 2:		return 1;
	case 3:		return 1 + (x >> 3) % 8;
	case 4:		return 1 + (x >> 3) % 64;
	case 5:		return 1 + (x >> 3) % 1500;	/* about one TCP segment */
	case 6:		return 1 + (x >> 3) % 20000;
	default:	return SIZE_MAX;	/* everything left */
	}
}

/*
 * Feeds wire in chunks until a verdict or the end. Returns the parser so
 * the caller can go on with it. The buffers are left unpoisoned up to fed.
 */
static void
parse_chunked(struct run *r, struct hello_parser *p, uint8_t *buf[2], size_t n,
    uint32_t limit, uint8_t *scratch, size_t scratch_size, struct fuzz_rng *rng)
{
	size_t len = 0, step;
	bool called = false;

	hello_parser_init(p, limit);
	memset(r, 0, sizeof(*r));
	r->scratch = scratch;
	r->scratch_size = scratch_size;
	for (;;) {
		step = chunk_size(rng);
		if (step > n - len)
			step = n - len;
		ASAN_UNPOISON_MEMORY_REGION(buf[0] + len, step);
		ASAN_UNPOISON_MEMORY_REGION(buf[1] + len, step);
		r->fed_before = called ? r->fed : 0;
		len += step;
		r->fed = len;
		r->wire = buf[fuzz_rng_next(rng) & 1];
		r->status = hello_parse(p, r->wire, len, scratch, scratch_size, &r->info);
		/* No new bytes after NEED_MORE: still no verdict. */
		if (called && step == 0)
			FUZZ_CHECK(r->status == HELLO_NEED_MORE);
		called = true;
		if (r->status != HELLO_NEED_MORE || len == n)
			break;
	}
	check_run(r, limit);
}


/*
 * An independent reading of an accepted hello: re-frames the records from
 * wire offset 0, lays the message out, walks its fields and extensions, and
 * compares what it finds with info.
 */
static void
check_oracle(const uint8_t *wire, size_t n, const struct hello_info *info)
{
	uint8_t *whole = malloc(info->hello_len), *msg = whole;
	const uint8_t *sni = NULL, *alpn = NULL;
	size_t off = 0, have = 0, end = 0, c, avail, body, block, ext, i;
	uint32_t records = 0, rlen, take, sni_len = 0, alpn_len = 0, type, elen;

	FUZZ_CHECK(whole != NULL);
	while (have < info->hello_len) {
		FUZZ_CHECK(off + TLS_RECORD_HEADER_BYTES <= n);
		FUZZ_CHECK(wire[off] == RECORD_HANDSHAKE);
		if (records == 0) {
			FUZZ_CHECK(get16(wire + off + 1) == info->record_version);
		}
		rlen = get16(wire + off + 3);
		FUZZ_CHECK(rlen >= 1 && rlen <= TLS_MAX_PLAINTEXT_RECORD);
		take = rlen < info->hello_len - have ? rlen : (uint32_t)(info->hello_len - have);
		FUZZ_CHECK(off + TLS_RECORD_HEADER_BYTES + take <= n);
		memcpy(msg + have, wire + off + TLS_RECORD_HEADER_BYTES, take);
		have += take;
		end = off + TLS_RECORD_HEADER_BYTES + take;
		off += TLS_RECORD_HEADER_BYTES + rlen;
		records++;
	}
	FUZZ_CHECK(records == info->records && end == info->hello_end);

	/* Handshake header; the sniproxy-style tail may follow the message. */
	FUZZ_CHECK(msg[0] == 1);
	body = (size_t)msg[1] << 16 | get16(msg + 2);
	FUZZ_CHECK(TLS_HANDSHAKE_HEADER_BYTES + body <= info->hello_len);
	avail = info->hello_len - TLS_HANDSHAKE_HEADER_BYTES;
	msg = whole + TLS_HANDSHAKE_HEADER_BYTES;
	FUZZ_CHECK(body >= HELLO_MIN_MESSAGE - TLS_HANDSHAKE_HEADER_BYTES);
	FUZZ_CHECK(get16(msg) == info->client_version);
	c = 2 + 32;			/* legacy_version, random */
	FUZZ_CHECK(msg[c] <= 32);	/* legacy_session_id<0..32> */
	c += 1u + msg[c];
	FUZZ_CHECK(c + 2 <= body);
	FUZZ_CHECK(get16(msg + c) >= 2 && get16(msg + c) % 2 == 0);
	c += 2 + get16(msg + c);
	FUZZ_CHECK(c + 1 <= body && msg[c] >= 1);
	c += 1u + msg[c];
	FUZZ_CHECK(c <= body);
	if (c == body) {
		FUZZ_CHECK(avail == body);	/* no extensions, no tail */
	} else {
		FUZZ_CHECK(c + 2 <= body);
		block = get16(msg + c);
		c += 2;
		FUZZ_CHECK(c + block == avail);
		while (c < avail) {
			FUZZ_CHECK(c + 4 <= avail);
			type = get16(msg + c);
			elen = get16(msg + c + 2);
			ext = c + 4;
			FUZZ_CHECK(ext + elen <= avail);
			if (type == EXT_SERVER_NAME) {
				FUZZ_CHECK(sni == NULL && elen >= 2 && get16(msg + ext) == elen - 2u);
				for (i = ext + 2; i < ext + elen; i += 3u + get16(msg + i + 1)) {
					FUZZ_CHECK(i + 3 <= ext + elen && msg[i] == 0 && sni == NULL);
					sni = msg + i + 3;
					sni_len = get16(msg + i + 1);
				}
				FUZZ_CHECK(i == ext + elen && sni != NULL);
			} else if (type == EXT_ALPN) {
				FUZZ_CHECK(alpn == NULL && elen >= 3 && get16(msg + ext) == elen - 2u);
				alpn = msg + ext + 2;
				alpn_len = elen - 2u;
			}
			c = ext + elen;
		}
	}
	FUZZ_CHECK((sni == NULL) == (info->sni == NULL) && sni_len == info->sni_len);
	FUZZ_CHECK(sni == NULL || memcmp(sni, info->sni, sni_len) == 0);
	FUZZ_CHECK((alpn == NULL) == (info->alpn == NULL) && alpn_len == info->alpn_len);
	FUZZ_CHECK(alpn == NULL || memcmp(alpn, info->alpn, alpn_len) == 0);
	free(whole);
}

/* hello_alpn_format() on a parsed list: names joined by ',', cut to fit, always terminated. */
static void
check_alpn_format(const struct hello_info *info, struct fuzz_rng *rng)
{
	size_t full_size = (size_t)info->alpn_len + 1, size, i, j, out = 0;
	char *want = malloc(full_size), *buf;

	FUZZ_CHECK(want != NULL);
	for (i = 0; info->alpn != NULL && i < info->alpn_len; i = j) {
		j = i + 1 + info->alpn[i];
		if (out > 0)
			want[out++] = ',';
		for (i++; i < j; i++)
			want[out++] = info->alpn[i] >= ' ' && info->alpn[i] <= '~' ?
			    (char)info->alpn[i] : '?';
	}
	want[out] = '\0';
	buf = malloc(full_size);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(hello_alpn_format(info, buf, full_size) == buf);
	FUZZ_CHECK(strcmp(buf, want) == 0);
	/* Any smaller buffer holds a prefix; size 0 is not written at all. */
	size = fuzz_rng_next(rng) % full_size;
	buf[0] = 'X';
	hello_alpn_format(info, buf, size);
	if (size == 0)
		FUZZ_CHECK(buf[0] == 'X');
	else
		FUZZ_CHECK(strlen(buf) == (out < size - 1 ? out : size - 1) &&
		    memcmp(buf, want, strlen(buf)) == 0);
	free(buf);
	free(want);
}

/* hello_alpn_format() and hello_reason_str() on values no parse produced: total. */
static void
check_total(const uint8_t *wire, size_t n, struct fuzz_rng *rng)
{
	static const int odd[] = { -1, HELLO_R_COUNT, HELLO_R_COUNT + 1, 1 << 30 };
	struct hello_info info;
	size_t len = n < 600 ? n : 600, size = fuzz_rng_next(rng) % 80, k;
	uint8_t *copy = fuzz_dup(wire, len);
	char *buf = malloc(size != 0 ? size : 1);
	const char *s;
	int r;

	FUZZ_CHECK(buf != NULL);
	memset(&info, 0, sizeof(info));
	info.alpn = len != 0 ? copy : NULL;
	info.alpn_len = (uint16_t)len;
	buf[0] = 'X';
	FUZZ_CHECK(hello_alpn_format(&info, buf, size) == buf);
	if (size == 0)
		FUZZ_CHECK(buf[0] == 'X');
	else
		for (k = 0; k <= strlen(buf); k++)
			FUZZ_CHECK(k < size && (buf[k] == '\0' || (buf[k] >= ' ' && buf[k] <= '~')));
	free(buf);
	free(copy);

	for (r = 0; r < HELLO_R_COUNT + (int)(sizeof(odd) / sizeof(odd[0])); r++) {
		int v = r < HELLO_R_COUNT ? r : odd[r - HELLO_R_COUNT];

		s = hello_reason_str((enum hello_reason)v);
		FUZZ_CHECK(s != NULL && s[0] != '\0');
		FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s));
		FUZZ_CHECK((strcmp(s, "unknown") == 0) == (v < 0 || v >= HELLO_R_COUNT));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, chunked, full, part;
	struct hello_parser p;
	struct fuzz_rng rng;
	uint8_t *buf[2], *scratch, *padded, *framed = NULL;
	const uint8_t *wire;
	size_t n, scratch_size, pad;
	uint32_t limit;
	bool short_scratch;

	if (size < INPUT_HEADER_BYTES)
		return -1;	/* not worth keeping: no wire */
	limit = fuzz_limits[data[0] & 3];
	short_scratch = (data[0] & MODE_SHORT_SCRATCH) != 0;
	fuzz_rng_seed(&rng, get16(data + 1));
	wire = data + INPUT_HEADER_BYTES;
	n = size - INPUT_HEADER_BYTES;
	if (data[0] & MODE_FRAME) {
		struct fuzz_rng frame_rng;

		fuzz_rng_seed(&frame_rng, get16(data + 1) ^ 0xa5a5u);
		framed = frame_message(wire, n, (data[0] & MODE_FIX_LENGTH) != 0,
		    &frame_rng, &n);
		wire = framed;
	}
	scratch_size = short_scratch ? limit - 1 : limit;

	/* The reference: one call on everything. */
	parse_whole(&whole, wire, n, limit, scratch_size);

	/* The same wire in chunks, through two buffers, poisoned past len. */
	buf[0] = fuzz_dup(wire, n);
	buf[1] = fuzz_dup(wire, n);
	scratch = malloc(scratch_size);
	FUZZ_CHECK(scratch != NULL);
	ASAN_POISON_MEMORY_REGION(buf[0], n);
	ASAN_POISON_MEMORY_REGION(buf[1], n);
	parse_chunked(&chunked, &p, buf, n, limit, scratch, scratch_size, &rng);
	check_same(&chunked, &whole);

	if (whole.status == HELLO_OK) {
		check_oracle(wire, n, &whole.info);
		check_alpn_format(&whole.info, &rng);
	}

	/* A short scratch changes only hellos that span records, and those to TOO_BIG. */
	if (short_scratch) {
		parse_whole(&full, wire, n, limit, limit);
		if (full.status == HELLO_OK && full.info.records > 1)
			FUZZ_CHECK(whole.status == HELLO_TOO_BIG);
		else if (full.status == HELLO_OK)
			check_same(&whole, &full);
		if (whole.status == HELLO_OK)
			check_same(&full, &whole);
		run_free(&full);
	}

	if (chunked.status != HELLO_NEED_MORE) {
		/*
		 * The verdict came on the call that brought the bytes up to fed;
		 * at fed_before there was none. The same for one call on each.
		 */
		parse_whole(&part, wire, chunked.fed_before, limit, scratch_size);
		FUZZ_CHECK(part.status == HELLO_NEED_MORE);
		run_free(&part);
		parse_whole(&part, wire, chunked.fed, limit, scratch_size);
		check_same(&part, &whole);
		run_free(&part);
	}
	if (whole.status == HELLO_OK) {
		/* Exactly the hello's bytes make the verdict: one fewer does not. */
		parse_whole(&part, wire, whole.info.hello_end - 1, limit, scratch_size);
		FUZZ_CHECK(part.status == HELLO_NEED_MORE);
		run_free(&part);
		parse_whole(&part, wire, whole.info.hello_end, limit, scratch_size);
		check_same(&part, &whole);
		run_free(&part);
	}
	if (whole.status == HELLO_NOT_TLS) {
		/* Not TLS is told by the first record's type and major version. */
		parse_whole(&part, wire, n < 2 ? n : 2, limit, scratch_size);
		check_same(&part, &whole);
		run_free(&part);
	}
	if (chunked.status == HELLO_NEED_MORE) {
		/*
		 * Still waiting after every byte: any continuation (zeros here)
		 * up to the limit brings a verdict, on the same parser.
		 */
		pad = limit > n ? limit : n;
		padded = calloc(1, pad);
		FUZZ_CHECK(padded != NULL);
		memcpy(padded, wire, n);
		chunked.status = hello_parse(&p, padded, pad, scratch, scratch_size,
		    &chunked.info);
		FUZZ_CHECK(chunked.status != HELLO_NEED_MORE);
		chunked.fed = pad;
		chunked.wire = padded;
		check_run(&chunked, limit);
		free(padded);
	}
	check_total(wire, n, &rng);

	run_free(&whole);
	ASAN_UNPOISON_MEMORY_REGION(buf[0], n);
	ASAN_UNPOISON_MEMORY_REGION(buf[1], n);
	free(buf[0]);
	free(buf[1]);
	free(scratch);
	free(framed);
	return 0;
}
