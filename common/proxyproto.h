/*
 * proxyproto.h -- the PROXY protocol (HAProxy's proxy-protocol.txt,
 * versions 1 and 2): a pure parser for the header a load balancer puts in
 * front of a connection, and builders for the one we send to a backend.
 *
 * Bytes in, result out: no I/O, no allocation, no logging, no state kept
 * between calls. The parser re-reads the received prefix on every call:
 * before a v2 header is complete it only looks at its 16 fixed bytes, and a
 * v1 line is at most 107 bytes, so a header trickling in one byte at a time
 * costs O(107) per call at worst, and the worker keeps no parser state
 * beside its buffer. A v2 address block and TLVs are read once, when the
 * whole header is in.
 */
#ifndef PASSTHROUGH_PROXYPROTO_H
#define PASSTHROUGH_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

/* The longest v1 line, "PROXY" to CRLF included (spec 2.1: 107 characters). */
#define PROXY_V1_MAX		107u
/* The v2 fixed part: 12-byte signature, ver_cmd, fam, 16-bit length. */
#define PROXY_V2_HEADER		16u
/* Address block sizes (spec 2.2): two addresses and two ports. */
#define PROXY_V2_INET_BYTES	12u
#define PROXY_V2_INET6_BYTES	36u
/* A TLV's type and 16-bit length. */
#define PROXY_V2_TLV_HEADER	3u
/* What proxy_build_v2() carries at most in each TLV: an SNI (RFC 6066 caps a
 * DNS host name at 255) and one ALPN name (RFC 7301: 1..255 bytes). */
#define PROXY_AUTHORITY_MAX	255u
#define PROXY_ALPN_MAX		255u
/* The most proxy_build_v2() writes for such TLVs: a caller's buffer size. */
#define PROXY_V2_MAX (PROXY_V2_HEADER + PROXY_V2_INET6_BYTES + \
	PROXY_V2_TLV_HEADER + PROXY_AUTHORITY_MAX + PROXY_V2_TLV_HEADER + PROXY_ALPN_MAX)
/* The longest header the parser can ever accept: v2 with a 65,535-byte block. */
#define PROXY_PARSE_MAX		(PROXY_V2_HEADER + 0xffffu)

/* v2 TLV types the parser reports (spec 2.2.1). */
#define PROXY_TLV_ALPN		0x01u
#define PROXY_TLV_AUTHORITY	0x02u

enum proxy_command {
	PROXY_CMD_PROXY,	/* src and dst carry the client's connection */
	PROXY_CMD_LOCAL,	/* v2 LOCAL: the balancer's own connection (a health
				 * check); use the connection's own endpoints */
	PROXY_CMD_UNKNOWN,	/* v1 UNKNOWN, v2 PROXY with family UNSPEC: the sender
				 * could not say; use the connection's own endpoints */
};

/*
 * What a complete header said. Pointer-free: TLVs are offsets into the
 * buffer that was parsed, so they survive the worker's buffer moving.
 */
struct proxy_info {
	enum proxy_command command;
	uint8_t version;		/* 1 or 2 */
	struct addr src;		/* the client; zero unless PROXY_CMD_PROXY */
	struct addr dst;		/* the address it connected to; likewise */
	uint32_t authority_off;		/* v2 PP2_TYPE_AUTHORITY value (the SNI the */
	uint32_t authority_len;		/* balancer saw); len 0: absent */
	uint32_t alpn_off;		/* v2 PP2_TYPE_ALPN value; len 0: absent */
	uint32_t alpn_len;
};

/*
 * Reads the PROXY header at the start of buf, of which len bytes have been
 * received (the buffer only grows between calls). max is the most bytes the
 * header may take (the listener's hello_bytes budget).
 *
 * Returns:
 *   > 0        the header is complete: its length (<= len, <= max); info is
 *              filled. The bytes after it are the client's (the ClientHello).
 *   -EAGAIN    no verdict yet: call again with more bytes. Never returned
 *              once len >= max.
 *   -ENOMSG    not a PROXY header: the bytes differ from both "PROXY " and
 *              the v2 signature, decided at the first byte that does.
 *   -EPROTO    a PROXY header, but malformed or of a kind we refuse (v2
 *              AF_UNIX, DGRAM).
 *   -E2BIG     the header does not end within max bytes (bytes past max
 *              are never read, so the verdict at max bytes is final).
 * A verdict other than -EAGAIN never changes when more bytes come. On
 * -ENOMSG, -EPROTO and -E2BIG *why is a static phrase naming the fault
 * ("v2: version is not 2"); else it is set to NULL.
 *
 * v1 (spec 2.1): "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" with single
 * spaces, dotted-quad IPv4 without leading zeros, IPv6 as inet_pton(3)
 * reads it (no zone), ports 0..65535 without leading zeros; "PROXY UNKNOWN"
 * with anything up to the CRLF. A lone CR or LF is malformed.
 * v2 (spec 2.2): version 2; command LOCAL (the rest of the block is
 * discarded, as the spec says, whatever the family) or PROXY with INET or
 * INET6 over STREAM, or UNSPEC (then PROXY_CMD_UNKNOWN); the block must hold
 * the family's addresses, and every TLV after them must end inside it
 * (PROXY only). AUTHORITY and ALPN are reported (a second one of either is
 * malformed; an empty one reads as absent); other TLVs, CRC32C included,
 * are skipped unchecked.
 */
ssize_t proxy_parse(const uint8_t *buf, size_t len, size_t max,
    struct proxy_info *info, const char **why);

/*
 * Writes a v1 line for a connection from src to dst into buf (no NUL).
 * Both must be of one family: when one is IPv4 and the other IPv6, the IPv4
 * one is written as its v4-mapped IPv6 address ("::ffff:192.0.2.1") on a
 * TCP6 line, as HAProxy does, so no address is lost. When either is neither
 * IPv4 nor IPv6 the line is "PROXY UNKNOWN\r\n". Returns the bytes written
 * (at most PROXY_V1_MAX), or 0 when they do not fit in size.
 */
size_t proxy_build_v1(char *buf, size_t size, const struct addr *src,
    const struct addr *dst);

/*
 * Writes a v2 PROXY header (command PROXY, STREAM) for src to dst into buf,
 * with a PP2_TYPE_AUTHORITY TLV holding authority (the SNI) and a
 * PP2_TYPE_ALPN TLV holding alpn (the first offered protocol name), each
 * left out when its length is 0. Mixed families become INET6 with the IPv4
 * one v4-mapped, as in v1; a family other than IPv4 or IPv6 gives UNSPEC
 * with no addresses (the TLVs still go). Returns the bytes written, or 0
 * when they do not fit in size (PROXY_V2_MAX fits TLVs within
 * PROXY_AUTHORITY_MAX and PROXY_ALPN_MAX) or the block would pass 65,535.
 */
size_t proxy_build_v2(uint8_t *buf, size_t size, const struct addr *src,
    const struct addr *dst, const uint8_t *authority, size_t authority_len,
    const uint8_t *alpn, size_t alpn_len);

/*
 * Writes a v2 header with command LOCAL (the proxy's own connection, a
 * health check: the receiver uses the real addresses), family UNSPEC and
 * no block into buf. Returns PROXY_V2_HEADER, or 0 when size is smaller.
 */
size_t proxy_build_v2_local(uint8_t *buf, size_t size);

#endif
