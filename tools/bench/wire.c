/* wire.c -- the benchmark's protocol: building ClientHellos, the command header, PROXY headers. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "wire.h"

/* TLS numbers (RFC 8446 4, 4.2; RFC 6066 3; RFC 7301; RFC 7685). */
#define TLS_RECORD_HANDSHAKE		0x16
#define TLS_RECORD_VERSION		0x0301	/* "MUST be 0x0301 for an initial ClientHello" */
#define TLS_LEGACY_VERSION		0x0303
#define TLS_HANDSHAKE_CLIENT_HELLO	0x01
#define TLS_RANDOM_BYTES		32u
#define TLS_SESSION_ID_BYTES		32u	/* middlebox compatibility mode sends 32 */
#define TLS_RECORD_HEADER		5u
#define TLS_MAX_RECORD_BODY		(1u << 14)
#define TLS_COMPRESSION_NULL		0x00
#define EXT_SERVER_NAME			0x0000
#define EXT_SUPPORTED_GROUPS		0x000a
#define EXT_SIGNATURE_ALGORITHMS	0x000d
#define EXT_ALPN			0x0010
#define EXT_PADDING			0x0015
#define EXT_SUPPORTED_VERSIONS		0x002b
#define EXT_PSK_KEY_EXCHANGE_MODES	0x002d
#define EXT_KEY_SHARE			0x0033
#define EXT_HEADER_BYTES		4u
#define SNI_HOST_NAME			0x00
#define TLS_VERSION_1_3			0x0304
#define GROUP_X25519			0x001d
#define X25519_KEY_BYTES		32u
#define PSK_DHE_KE			0x01

/* Command header field offsets (wire.h). */
#define CMD_OFF_MODE	4
#define CMD_OFF_MSG	8
#define CMD_OFF_BYTES	16

static const uint16_t cipher_suites[] = {
	0x1301, 0x1302, 0x1303,		/* TLS_AES_128_GCM_SHA256, AES_256_GCM, CHACHA20 */
	0xc02b, 0xc02f, 0xc02c, 0xc030,	/* ECDHE-{ECDSA,RSA}-AES{128,256}-GCM (TLS 1.2) */
	0xcca9, 0xcca8,			/* ECDHE-{ECDSA,RSA}-CHACHA20-POLY1305 */
};
static const uint16_t groups[] = { GROUP_X25519, 0x0017, 0x0018 };	/* + P-256, P-384 */
static const uint16_t sig_algs[] = {
	0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
};
static const char *const alpn_names[] = { "h2", "http/1.1" };

static const char *const mode_names[WIRE_MODE_COUNT] = {
	[WIRE_NONE] = "none",
	[WIRE_UPLOAD] = "upload",
	[WIRE_DOWNLOAD] = "download",
	[WIRE_RATE] = "rate",
	[WIRE_PING] = "ping",
	[WIRE_IDLE] = "idle",
};

const char *
wire_mode_name(enum wire_mode mode)
{
	return (unsigned)mode < WIRE_MODE_COUNT ? mode_names[mode] : "?";
}

enum wire_mode
wire_mode_parse(const char *s)
{
	for (unsigned m = WIRE_NONE + 1; m < WIRE_MODE_COUNT; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return (enum wire_mode)m;
	return WIRE_NONE;
}

static uint64_t
wire_rand_next(uint64_t *state)
{
	/* xorshift64* (Vigna 2016): shifts 12/25/27 and its multiplier. */
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t
wire_rand_seed(void)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed) || seed == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^ 1;	/* never 0 */
	}
	return seed;
}

/* A bounded byte writer; overflow latches and every later put is dropped. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void
put8(struct wbuf *w, unsigned v)
{
	if (w->len + 1 > w->cap) {
		w->overflow = 1;
		return;
	}
	w->p[w->len++] = (uint8_t)v;
}

static void
put16(struct wbuf *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v);
}

static void
put_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->len + n > w->cap) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void
put_random(struct wbuf *w, size_t n, uint64_t *rng)
{
	uint64_t r;

	while (n > 0) {
		size_t k = n < sizeof(r) ? n : sizeof(r);

		r = wire_rand_next(rng);
		put_bytes(w, &r, k);
		n -= k;
	}
}

/* Reserves a length field of width bytes; returns where it is. */
static size_t
len_open(struct wbuf *w, unsigned width)
{
	size_t at = w->len;

	for (unsigned i = 0; i < width; i++)
		put8(w, 0);
	return at;
}

/* Fills the length field at `at` with the bytes written since it. */
static void
len_close(struct wbuf *w, size_t at, unsigned width)
{
	size_t n;

	if (w->overflow)
		return;
	n = w->len - at - width;
	for (unsigned i = 0; i < width; i++)
		w->p[at + i] = (uint8_t)(n >> (8 * (width - 1 - i)));
}

static size_t
ext_open(struct wbuf *w, unsigned type)
{
	put16(w, type);
	return len_open(w, 2);
}

static void
put_extensions(struct wbuf *w, const struct wire_hello_opts *opts, uint64_t *rng)
{
	size_t ext, list, at;

	if (opts->sni != NULL) {
		size_t n = strlen(opts->sni);

		ext = ext_open(w, EXT_SERVER_NAME);
		list = len_open(w, 2);
		put8(w, SNI_HOST_NAME);
		put16(w, (unsigned)n);
		put_bytes(w, opts->sni, n);
		len_close(w, list, 2);
		len_close(w, ext, 2);
	}
	ext = ext_open(w, EXT_SUPPORTED_VERSIONS);
	list = len_open(w, 1);
	put16(w, TLS_VERSION_1_3);
	len_close(w, list, 1);
	len_close(w, ext, 2);

	ext = ext_open(w, EXT_SUPPORTED_GROUPS);
	list = len_open(w, 2);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		put16(w, groups[i]);
	len_close(w, list, 2);
	len_close(w, ext, 2);

	ext = ext_open(w, EXT_KEY_SHARE);
	list = len_open(w, 2);
	put16(w, GROUP_X25519);
	put16(w, X25519_KEY_BYTES);
	put_random(w, X25519_KEY_BYTES, rng);
	len_close(w, list, 2);
	len_close(w, ext, 2);

	ext = ext_open(w, EXT_SIGNATURE_ALGORITHMS);
	list = len_open(w, 2);
	for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++)
		put16(w, sig_algs[i]);
	len_close(w, list, 2);
	len_close(w, ext, 2);

	ext = ext_open(w, EXT_PSK_KEY_EXCHANGE_MODES);
	list = len_open(w, 1);
	put8(w, PSK_DHE_KE);
	len_close(w, list, 1);
	len_close(w, ext, 2);

	if (opts->alpn) {
		ext = ext_open(w, EXT_ALPN);
		list = len_open(w, 2);
		for (size_t i = 0; i < sizeof(alpn_names) / sizeof(alpn_names[0]); i++) {
			at = len_open(w, 1);
			put_bytes(w, alpn_names[i], strlen(alpn_names[i]));
			len_close(w, at, 1);
		}
		len_close(w, list, 2);
		len_close(w, ext, 2);
	}
}

size_t
wire_hello_build(uint8_t *buf, size_t size, const struct wire_hello_opts *opts,
    uint64_t *rng)
{
	struct wbuf w = { .p = buf, .cap = size < WIRE_HELLO_MAX ? size : WIRE_HELLO_MAX };
	size_t record, handshake, exts, ext;

	if (opts->sni != NULL && (opts->sni[0] == '\0' || strlen(opts->sni) > WIRE_SNI_MAX))
		return 0;
	put8(&w, TLS_RECORD_HANDSHAKE);
	put16(&w, TLS_RECORD_VERSION);
	record = len_open(&w, 2);
	put8(&w, TLS_HANDSHAKE_CLIENT_HELLO);
	handshake = len_open(&w, 3);
	put16(&w, TLS_LEGACY_VERSION);
	put_random(&w, TLS_RANDOM_BYTES, rng);
	put8(&w, TLS_SESSION_ID_BYTES);
	put_random(&w, TLS_SESSION_ID_BYTES, rng);
	put16(&w, (unsigned)sizeof(cipher_suites));
	for (size_t i = 0; i < sizeof(cipher_suites) / sizeof(cipher_suites[0]); i++)
		put16(&w, cipher_suites[i]);
	put8(&w, 1);		/* one compression method: */
	put8(&w, TLS_COMPRESSION_NULL);
	exts = len_open(&w, 2);
	put_extensions(&w, opts, rng);
	/* RFC 7685: zero bytes that bring the record to pad_to. */
	if (opts->pad_to > w.len + EXT_HEADER_BYTES) {
		size_t n = opts->pad_to - w.len - EXT_HEADER_BYTES;

		if (w.len + EXT_HEADER_BYTES + n - TLS_RECORD_HEADER > TLS_MAX_RECORD_BODY)
			return 0;
		ext = ext_open(&w, EXT_PADDING);
		for (size_t i = 0; i < n; i++)
			put8(&w, 0);
		len_close(&w, ext, 2);
	}
	len_close(&w, exts, 2);
	len_close(&w, handshake, 3);
	len_close(&w, record, 2);
	if (w.overflow || w.len - TLS_RECORD_HEADER > TLS_MAX_RECORD_BODY)
		return 0;
	return w.len;
}

void
wire_put64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t
wire_get64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

static void
put32_at(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static uint32_t
get32_at(const uint8_t *in)
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

void
wire_cmd_put(uint8_t out[WIRE_CMD_BYTES], const struct wire_cmd *cmd)
{
	memset(out, 0, WIRE_CMD_BYTES);
	put32_at(out, WIRE_CMD_MAGIC);
	out[CMD_OFF_MODE] = (uint8_t)cmd->mode;
	put32_at(out + CMD_OFF_MSG, cmd->msg);
	wire_put64(out + CMD_OFF_BYTES, cmd->bytes);
}

int
wire_cmd_get(struct wire_cmd *cmd, const uint8_t in[WIRE_CMD_BYTES])
{
	if (get32_at(in) != WIRE_CMD_MAGIC)
		return -EINVAL;
	cmd->mode = (enum wire_mode)in[CMD_OFF_MODE];
	cmd->msg = get32_at(in + CMD_OFF_MSG);
	cmd->bytes = wire_get64(in + CMD_OFF_BYTES);
	if (cmd->mode <= WIRE_NONE || cmd->mode >= WIRE_MODE_COUNT || cmd->msg > WIRE_MSG_MAX)
		return -EINVAL;
	if ((cmd->mode == WIRE_RATE || cmd->mode == WIRE_PING) && cmd->msg == 0)
		return -EINVAL;
	return 0;
}

enum wire_proxy
wire_proxy_parse(const char *s)
{
	if (strcmp(s, "v1") == 0)
		return WIRE_PROXY_V1;
	if (strcmp(s, "v2") == 0)
		return WIRE_PROXY_V2;
	return WIRE_PROXY_NONE;
}

size_t
wire_proxy_put(uint8_t *buf, size_t size, enum wire_proxy version,
    const struct addr *src, const struct addr *dst)
{
	switch (version) {
	case WIRE_PROXY_V1:
		return proxy_build_v1((char *)buf, size, src, dst);
	case WIRE_PROXY_V2:
		return proxy_build_v2(buf, size, src, dst, NULL, 0, NULL, 0);
	case WIRE_PROXY_NONE:
		break;
	}
	return 0;
}

enum wire_proxy_status
wire_proxy_strip(uint8_t *buf, uint32_t *len, size_t max, const char **why)
{
	struct proxy_info info;
	ssize_t n;

	n = proxy_parse(buf, *len, max, &info, why);
	if (n == -EAGAIN)
		return WIRE_PROXY_NEED_MORE;
	if (n < 0)
		return WIRE_PROXY_BAD;
	memmove(buf, buf + n, *len - (size_t)n);
	*len -= (uint32_t)n;
	return WIRE_PROXY_STRIPPED;
}
