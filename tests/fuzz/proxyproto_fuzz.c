/*
 * proxyproto_fuzz.c -- libFuzzer target: proxy_parse() called on every
 * prefix of the wire, as the worker calls it while bytes trickle in, keeps
 * the promises of common/proxyproto.h, and what it reads the builders
 * write back the same.
 *
 * Input: byte 0 picks the limit (bits 0-2: 65536, 512, 107, 106, 28, 52,
 * 16, or 1 + byte 1 % 64) and what the target puts before the rest (bit 3:
 * the v2 signature; bit 4 with it: the v2 length field is then set to what
 * follows it, so mutated blocks stay framed; bit 5 without bit 3: "PROXY ").
 * Bytes 1-2 seed the PRNG that picks which lengths past the verdict are
 * parsed again. Bytes 3.. are the wire. Seeds: tests/fuzz/corpus/proxyproto/.
 *
 * The wire lives in a block of its own whose bytes past the received length
 * are poisoned: a read beyond len is an ASan report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "proxyproto.h"
#include "tunables.h"

#define INPUT_HEADER_BYTES	3u
#define MODE_LIMIT		0x07u
#define MODE_V2_SIG		0x08u
#define MODE_FIX_LENGTH		0x10u
#define MODE_V1_SIG		0x20u
#define V2_SIG_BYTES		12u
#define V1_SIG_BYTES		6u
/* The daemon's default and floor, the v1 edge, a v2 TCP4 and TCP6 header, the v2 fixed part. */
static const size_t fuzz_limits[] = {
	DEFAULT_HELLO_BYTES, MIN_HELLO_BYTES, PROXY_V1_MAX, PROXY_V1_MAX - 1,
	PROXY_V2_HEADER + PROXY_V2_INET_BYTES, PROXY_V2_HEADER + PROXY_V2_INET6_BYTES,
	PROXY_V2_HEADER, 0 /* 1 + byte 1 % 64 */
};
static const uint8_t v2_sig[V2_SIG_BYTES] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const uint8_t v1_sig[V1_SIG_BYTES] = { 'P', 'R', 'O', 'X', 'Y', ' ' };

/* One verdict: what proxy_parse() returned and filled. */
struct verdict {
	ssize_t rc;
	struct proxy_info info;
	const char *why;
};

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static bool
same(const struct verdict *a, const struct verdict *b)
{
	return a->rc == b->rc && a->why == b->why &&
	    memcmp(&a->info, &b->info, sizeof(a->info)) == 0;
}

static bool
addr_zero(const struct addr *a)
{
	static const struct addr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

/* buf[0, k) is a prefix of "PROXY " or of the v2 signature. */
static bool
sig_prefix(const uint8_t *buf, size_t k)
{
	return (k <= V1_SIG_BYTES && memcmp(buf, v1_sig, k) == 0) ||
	    (k <= V2_SIG_BYTES && memcmp(buf, v2_sig, k) == 0);
}

/* A reported TLV value lies in the header, behind its own type and length. */
static void
check_tlv(const uint8_t *w, size_t h, uint32_t off, uint32_t len, uint8_t type)
{
	if (len == 0)
		return;
	FUZZ_CHECK(off >= PROXY_V2_HEADER + PROXY_V2_TLV_HEADER && off + len <= h);
	FUZZ_CHECK(w[off - 3] == type && ((size_t)w[off - 2] << 8 | w[off - 1]) == len);
}

/* What a complete header promises: its bytes, its command, its TLVs. */
static void
check_ok(const uint8_t *w, size_t d, size_t max, const struct verdict *v)
{
	const struct proxy_info *in = &v->info;
	size_t h = (size_t)v->rc;

	FUZZ_CHECK(h == d && h <= max && v->why == NULL);
	if (in->version == 1) {
		FUZZ_CHECK(memcmp(w, v1_sig, V1_SIG_BYTES) == 0);
		FUZZ_CHECK(h <= PROXY_V1_MAX && w[h - 2] == '\r' && w[h - 1] == '\n');
		FUZZ_CHECK(memchr(w, '\r', h - 2) == NULL && memchr(w, '\n', h - 2) == NULL);
		FUZZ_CHECK(in->command != PROXY_CMD_LOCAL);
		FUZZ_CHECK(in->authority_off == 0 && in->authority_len == 0);
		FUZZ_CHECK(in->alpn_off == 0 && in->alpn_len == 0);
	} else {
		FUZZ_CHECK(in->version == 2 && memcmp(w, v2_sig, V2_SIG_BYTES) == 0);
		FUZZ_CHECK(h == PROXY_V2_HEADER + ((size_t)w[14] << 8 | w[15]));
	}
	if (in->command == PROXY_CMD_PROXY) {
		int f = in->src.u.sa.sa_family;

		FUZZ_CHECK(f == AF_INET || f == AF_INET6);
		FUZZ_CHECK(in->dst.u.sa.sa_family == f);
		FUZZ_CHECK(in->src.len == in->dst.len);
		FUZZ_CHECK(in->src.len == (f == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6)));
	} else {
		FUZZ_CHECK(in->command == PROXY_CMD_LOCAL || in->command == PROXY_CMD_UNKNOWN);
		FUZZ_CHECK(addr_zero(&in->src) && addr_zero(&in->dst));
	}
	check_tlv(w, h, in->authority_off, in->authority_len, PROXY_TLV_AUTHORITY);
	check_tlv(w, h, in->alpn_off, in->alpn_len, PROXY_TLV_ALPN);
}

/* A refusal: decided where its kind says, with a reason of its kind. */
static void
check_refusal(const uint8_t *w, size_t d, size_t max, const struct verdict *v)
{
	FUZZ_CHECK(v->why != NULL && v->why[0] != '\0');
	FUZZ_CHECK(addr_zero(&v->info.src) && addr_zero(&v->info.dst));
	FUZZ_CHECK(v->info.authority_len == 0 && v->info.alpn_len == 0);
	FUZZ_CHECK(d <= max);
	switch (v->rc) {
	case -ENOMSG:	/* at the first byte that leaves both signatures */
		FUZZ_CHECK(d >= 1 && sig_prefix(w, d - 1) && !sig_prefix(w, d));
		break;
	case -E2BIG:	/* at the limit, or at a v2 length field over it */
		FUZZ_CHECK(d == max || (d == PROXY_V2_HEADER && sig_prefix(w, V2_SIG_BYTES) &&
		    PROXY_V2_HEADER + ((size_t)w[14] << 8 | w[15]) > max));
		break;
	case -EPROTO:
		if (memcmp(w, v1_sig, min_size(d, V1_SIG_BYTES)) == 0) {
			FUZZ_CHECK(d > V1_SIG_BYTES && d <= PROXY_V1_MAX);
			FUZZ_CHECK(strncmp(v->why, "v1: ", 4) == 0);
		} else {
			FUZZ_CHECK(memcmp(w, v2_sig, V2_SIG_BYTES) == 0);
			FUZZ_CHECK(d == 13 || d == 14 || d == PROXY_V2_HEADER ||
			    d == PROXY_V2_HEADER + ((size_t)w[14] << 8 | w[15]));
			FUZZ_CHECK(strncmp(v->why, "v2: ", 4) == 0);
		}
		break;
	default:
		FUZZ_CHECK(!"rc outside the documented set");
	}
}

/* A TCP4 line has one spelling: the parsed fields printed give its bytes back. */
static void
check_v1_tcp4_text(const uint8_t *w, const struct proxy_info *in, size_t h)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], line[PROXY_V1_MAX + 1];
	int n;

	if (in->version != 1 || in->command != PROXY_CMD_PROXY ||
	    in->src.u.sa.sa_family != AF_INET)
		return;
	inet_ntop(AF_INET, &in->src.u.in.sin_addr, s, sizeof(s));
	inet_ntop(AF_INET, &in->dst.u.in.sin_addr, d, sizeof(d));
	n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n", s, d,
	    ntohs(in->src.u.in.sin_port), ntohs(in->dst.u.in.sin_port));
	FUZZ_CHECK(n > 0 && (size_t)n == h && memcmp(line, w, h) == 0);
}

/* What was read, built again by both builders, reads back the same. */
static void
check_roundtrip(const uint8_t *w, const struct proxy_info *in)
{
	static uint8_t out[PROXY_PARSE_MAX];
	struct proxy_info back;
	const char *why;
	size_t n;
	ssize_t rc;

	if (in->command == PROXY_CMD_PROXY) {
		n = proxy_build_v1((char *)out, PROXY_V1_MAX, &in->src, &in->dst);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(proxy_parse(out, n, n, &back, &why) == (ssize_t)n);
		FUZZ_CHECK(back.command == PROXY_CMD_PROXY);
		FUZZ_CHECK(addr_equal(&back.src, &in->src) && addr_equal(&back.dst, &in->dst));
	}
	n = proxy_build_v2(out, sizeof(out), &in->src, &in->dst, w + in->authority_off,
	    in->authority_len, w + in->alpn_off, in->alpn_len);
	if (n == 0) {	/* only when the TLVs together pass the 16-bit length */
		FUZZ_CHECK(in->authority_len + in->alpn_len + 6 + PROXY_V2_INET6_BYTES > 0xffff);
		return;
	}
	rc = proxy_parse(out, n, sizeof(out), &back, &why);
	FUZZ_CHECK(rc == (ssize_t)n && why == NULL);
	FUZZ_CHECK(back.command == (in->command == PROXY_CMD_PROXY ? PROXY_CMD_PROXY :
	    PROXY_CMD_UNKNOWN));
	FUZZ_CHECK(addr_equal(&back.src, &in->src) || in->command != PROXY_CMD_PROXY);
	FUZZ_CHECK(addr_equal(&back.dst, &in->dst) || in->command != PROXY_CMD_PROXY);
	FUZZ_CHECK(back.authority_len == in->authority_len && back.alpn_len == in->alpn_len);
	FUZZ_CHECK(memcmp(out + back.authority_off, w + in->authority_off,
	    in->authority_len) == 0);
	FUZZ_CHECK(memcmp(out + back.alpn_off, w + in->alpn_off, in->alpn_len) == 0);
}

/* The wire the input describes, in a block of exactly its size. */
static uint8_t *
make_wire(const uint8_t *data, size_t size, size_t *wire_len)
{
	uint8_t mode = data[0];
	size_t pre = mode & MODE_V2_SIG ? V2_SIG_BYTES : mode & MODE_V1_SIG ? V1_SIG_BYTES : 0;
	size_t rest = size - INPUT_HEADER_BYTES, n = pre + rest;
	uint8_t *w = malloc(n != 0 ? n : 1);

	FUZZ_CHECK(w != NULL);
	memcpy(w, mode & MODE_V2_SIG ? v2_sig : v1_sig, pre);
	if (rest != 0)
		memcpy(w + pre, data + INPUT_HEADER_BYTES, rest);
	if ((mode & MODE_V2_SIG) && (mode & MODE_FIX_LENGTH) && rest >= 4) {
		size_t blen = min_size(rest - 4, 0xffff);

		w[14] = (uint8_t)(blen >> 8);
		w[15] = (uint8_t)blen;
	}
	*wire_len = n;
	return w;
}

/* No verdict on the whole wire: zeros up to the limit must bring one. */
static void
check_limit_decides(const uint8_t *w, size_t len, size_t max)
{
	uint8_t *full = calloc(1, max);
	struct verdict v;

	FUZZ_CHECK(full != NULL && len < max);
	memcpy(full, w, len);
	v.rc = proxy_parse(full, max, max, &v.info, &v.why);
	FUZZ_CHECK(v.rc != -EAGAIN && (v.rc > 0) == (v.why == NULL));
	free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict v, at_d = { 0 };
	struct fuzz_rng rng;
	size_t n, len, max, d = SIZE_MAX;
	uint8_t *w;

	if (size < INPUT_HEADER_BYTES)
		return 0;
	max = fuzz_limits[data[0] & MODE_LIMIT];
	if (max == 0)
		max = 1 + data[1] % 64u;
	fuzz_rng_seed(&rng, (uint32_t)data[1] << 8 | data[2]);
	w = make_wire(data, size, &len);
	ASAN_POISON_MEMORY_REGION(w, len);
	/* Every prefix up to the verdict; past it, PRNG-picked ones and the whole. */
	for (n = 0; n <= len; n++) {
		if (n > 0)
			ASAN_UNPOISON_MEMORY_REGION(w + n - 1, 1);
		if (d != SIZE_MAX && n != len && fuzz_rng_next(&rng) % 32 != 0)
			continue;
		v.rc = proxy_parse(w, n, max, &v.info, &v.why);
		if (d != SIZE_MAX) {
			FUZZ_CHECK(same(&v, &at_d));	/* a verdict never changes */
			continue;
		}
		if (v.rc == -EAGAIN) {
			FUZZ_CHECK(n < max && v.why == NULL);
			FUZZ_CHECK(addr_zero(&v.info.src) && addr_zero(&v.info.dst));
			continue;
		}
		d = n;
		at_d = v;
		if (v.rc > 0) {
			check_ok(w, d, max, &v);
			check_v1_tcp4_text(w, &v.info, d);
			check_roundtrip(w, &v.info);
		} else {
			check_refusal(w, d, max, &v);
		}
	}
	if (d == SIZE_MAX)
		check_limit_decides(w, len, max);
	free(w);
	return 0;
}
