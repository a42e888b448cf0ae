/*
 * wire.h -- the benchmark's protocol: a TLS 1.3 ClientHello, then a fixed
 * command header telling the sink the workload, then the workload's bytes;
 * optionally a PROXY protocol header first (loadgen -x, sink -p).
 *
 *   client -> sink   [PROXY header] | ClientHello record(s) | command (WIRE_CMD_BYTES) | payload
 *
 * The command header, big-endian:
 *   0  magic "PTB1"       4  mode (enum wire_mode)   5  flags (0)
 *   6  reserved (0, u16)  8  msg: reply / message bytes (u32)
 *   12 reserved (0, u32)  16 bytes: bulk byte count (u64)
 *
 * What the sink does per mode:
 *   upload    answers the command with WIRE_GO (one byte, as a TLS server
 *             answers a ClientHello: the client sends nothing after its
 *             hello until then), reads `bytes` until EOF, answers
 *             WIRE_ACK_BYTES (the count it read, u64), closes
 *   download  sends `bytes`, shuts down writing, closes at the client's EOF
 *   rate      sends `msg` bytes, closes at the client's EOF
 *   ping      echoes every `msg`-byte message until EOF
 *   idle      holds the connection until EOF
 */
#ifndef BENCH_WIRE_H
#define BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proxyproto.h"

#define WIRE_CMD_BYTES	24u
#define WIRE_CMD_MAGIC	0x50544231u	/* "PTB1" */
#define WIRE_ACK_BYTES	8u
/* upload: the sink's go-ahead, sent for the command (a handshake record's type byte). */
#define WIRE_GO		0x16u
/* A ping message or rate reply fits a socket buffer many times over. */
#define WIRE_MSG_MAX	(1u << 20)
/* Longest host_name the builder writes (RFC 6066 allows 2^16-1; DNS 253). */
#define WIRE_SNI_MAX	253u
/*
 * The builder writes one record, so a hello is at most one record's 2^14
 * body plus its header; the padding extension grows a hello up to that.
 */
#define WIRE_HELLO_MAX	(5u + (1u << 14))

enum wire_mode {
	WIRE_NONE,
	WIRE_UPLOAD,
	WIRE_DOWNLOAD,
	WIRE_RATE,
	WIRE_PING,
	WIRE_IDLE,
	WIRE_MODE_COUNT
};

/* Which PROXY protocol header goes before the hello (loadgen -x). */
enum wire_proxy {
	WIRE_PROXY_NONE,
	WIRE_PROXY_V1,
	WIRE_PROXY_V2,
};
/* Room for either: a v1 line, or a v2 header without TLVs. */
#define WIRE_PROXY_MAX	(PROXY_V1_MAX > PROXY_V2_HEADER + PROXY_V2_INET6_BYTES ? \
	PROXY_V1_MAX : PROXY_V2_HEADER + PROXY_V2_INET6_BYTES)

/* What wire_proxy_strip() found. */
enum wire_proxy_status {
	WIRE_PROXY_STRIPPED,	/* a header was there and is gone */
	WIRE_PROXY_NEED_MORE,	/* not all of it is in yet */
	WIRE_PROXY_BAD,		/* no header, or a malformed one */
};

struct wire_cmd {
	enum wire_mode mode;
	uint32_t msg;
	uint64_t bytes;
};

/* What goes into a ClientHello besides the randomness. */
struct wire_hello_opts {
	const char *sni;	/* NULL: no server_name extension */
	int alpn;		/* add ALPN "h2", "http/1.1" */
	size_t pad_to;		/* grow the record to this many bytes with the padding extension; 0: no */
};

/* "upload", ... ; "?" for an unknown value. */
const char *wire_mode_name(enum wire_mode mode);
/* The mode named s, or WIRE_NONE. */
enum wire_mode wire_mode_parse(const char *s);

/* A non-zero seed from getrandom(2) (falls back to the clock). */
uint64_t wire_rand_seed(void);

/*
 * Writes one TLS 1.3 ClientHello record into buf (size >= WIRE_HELLO_MAX):
 * record 0x16 0x0301; legacy_version 0x0303; random and session id and an
 * x25519 key share drawn from rng; TLS 1.3 and 1.2 suites; null compression;
 * server_name, supported_versions (0x0304), supported_groups, key_share,
 * signature_algorithms, psk_key_exchange_modes, ALPN and padding as asked.
 * Returns the bytes written, or 0 if opts do not fit one record.
 */
size_t wire_hello_build(uint8_t *buf, size_t size, const struct wire_hello_opts *opts,
    uint64_t *rng);

/* "v1", "v2" -> the version; anything else WIRE_PROXY_NONE. */
enum wire_proxy wire_proxy_parse(const char *s);

/*
 * Writes the PROXY header of a connection from src to dst into buf (size >=
 * WIRE_PROXY_MAX): a v1 line, or v2 PROXY over STREAM without TLVs, as a
 * balancer (HAProxy's send-proxy-v2, an AWS NLB) sends it. Returns the
 * bytes written, or 0 when version is WIRE_PROXY_NONE or it did not fit.
 */
size_t wire_proxy_put(uint8_t *buf, size_t size, enum wire_proxy version,
    const struct addr *src, const struct addr *dst);

/*
 * Reads the PROXY header (v1 or v2) at the start of the *len bytes in buf;
 * once it is complete, moves the bytes after it to the front and lowers
 * *len, so the caller goes on as if it had never been there. max bounds
 * the header. On WIRE_PROXY_BAD *why names the fault.
 */
enum wire_proxy_status wire_proxy_strip(uint8_t *buf, uint32_t *len, size_t max,
    const char **why);

void wire_cmd_put(uint8_t out[WIRE_CMD_BYTES], const struct wire_cmd *cmd);
/* Decodes a header. Returns 0, or -EINVAL on a bad magic, mode or size. */
int wire_cmd_get(struct wire_cmd *cmd, const uint8_t in[WIRE_CMD_BYTES]);

void wire_put64(uint8_t out[8], uint64_t v);
uint64_t wire_get64(const uint8_t in[8]);

#endif
