/*
 * clienthello.h -- a pure, incremental TLS ClientHello parser.
 *
 * Bytes in, result out: no I/O, no allocation, no logging. The caller keeps
 * the wire bytes (they are forwarded to the backend unchanged) and calls
 * hello_parse() each time more arrived. The parser frames records as bytes
 * come in (each byte is framed once, so a hello trickling in one byte per
 * segment costs O(n), not O(n^2)) and parses the handshake message once it
 * is complete, reassembling it across any number of TLS records.
 */
#ifndef PASSTHROUGH_CLIENTHELLO_H
#define PASSTHROUGH_CLIENTHELLO_H

#include <stddef.h>
#include <stdint.h>

enum hello_status {
	HELLO_OK,		/* the whole ClientHello is in; info is filled */
	HELLO_NEED_MORE,	/* no verdict yet: call again with more bytes */
	HELLO_NOT_TLS,		/* not a TLS handshake record: SSLv2, HTTP, other record type */
	HELLO_MALFORMED,	/* a TLS record, but not a well-formed ClientHello */
	HELLO_TOO_BIG,		/* the hello would exceed the byte limit */
};

/* Why a hello was refused; named after the wire field at fault. */
enum hello_reason {
	HELLO_R_NONE,
	/* HELLO_NOT_TLS */
	HELLO_R_SSLV2,			/* SSL 2.0 record header (high bit set) */
	HELLO_R_RECORD_TYPE,		/* first record is not handshake (22) */
	HELLO_R_RECORD_VERSION,		/* record version major is not 3 */
	/* HELLO_MALFORMED */
	HELLO_R_RECORD_EMPTY,		/* zero-length handshake record */
	HELLO_R_RECORD_LENGTH,		/* record longer than 2^14 */
	HELLO_R_RECORD_INTERLEAVED,	/* another record type before the hello ended */
	HELLO_R_HANDSHAKE_TYPE,		/* handshake message is not client_hello (1) */
	HELLO_R_HANDSHAKE_LENGTH,	/* too short to hold a ClientHello */
	HELLO_R_CLIENT_VERSION,		/* legacy_version below TLS 1.0 (SSL 3.0) or major not 3 */
	HELLO_R_SESSION_ID,		/* session id longer than 32 or past the end */
	HELLO_R_CIPHER_SUITES,		/* empty, odd, or past the end */
	HELLO_R_COMPRESSION,		/* empty or past the end */
	HELLO_R_EXTENSIONS_LENGTH,	/* extensions block length does not match */
	HELLO_R_EXTENSION_LENGTH,	/* one extension runs past the block */
	HELLO_R_TRAILING_DATA,		/* bytes after the last field of the message */
	HELLO_R_SNI_LENGTH,		/* server_name lengths inconsistent */
	HELLO_R_SNI_DUPLICATE,		/* two server_name extensions, or two host_names */
	HELLO_R_SNI_NAME_TYPE,		/* a name type other than host_name (0) */
	HELLO_R_SNI_EMPTY,		/* host_name of length 0 */
	HELLO_R_SNI_SYNTAX,		/* not a DNS host name: bad bytes, empty label, too long */
	HELLO_R_ALPN_LENGTH,		/* ALPN lengths inconsistent */
	HELLO_R_ALPN_EMPTY,		/* empty list or empty protocol name */
	HELLO_R_ALPN_DUPLICATE,		/* two ALPN extensions */
	/* HELLO_TOO_BIG */
	HELLO_R_TOO_BIG,		/* declared or received size over the limit */
	HELLO_R_COUNT
};

/* Incremental state; hello_parser_init() before the first byte. */
struct hello_parser {
	uint32_t limit;		/* most wire bytes accepted, record headers included */
	uint32_t scanned;	/* wire bytes framed so far */
	uint32_t record_left;	/* body bytes still to come in the current record */
	uint32_t hs_have;	/* handshake-message (+ tail) bytes seen so far */
	uint32_t hs_total;	/* 4 + declared handshake length; 0 until known */
	uint32_t tail;		/* record bytes past the message its extensions claim (sniproxy compat) */
	uint16_t record_version;	/* of the first record */
	uint8_t head[5];	/* the record header being assembled */
	uint8_t head_have;	/* bytes of the record header in head */
	uint8_t hs_head[4];	/* the handshake header as it trickles in */
	uint8_t records;	/* records framed, saturating at 255 */
};

struct hello_info {
	const uint8_t *sni;	/* host_name, not NUL-terminated; NULL when absent */
	uint16_t sni_len;
	const uint8_t *alpn;	/* protocol_name_list as on the wire; NULL when absent */
	uint16_t alpn_len;	/* bytes at alpn */
	uint16_t alpn_count;	/* protocol names in it */
	uint16_t record_version;	/* of the first record (for an alert in kind) */
	uint16_t client_version;	/* ClientHello.legacy_version */
	uint32_t hello_end;	/* wire offset just past the hello's last byte */
	uint32_t hello_len;	/* handshake message bytes, 4-byte header included */
	uint32_t records;	/* TLS records the hello spanned */
	enum hello_reason reason;	/* why, when the status is not OK/NEED_MORE */
};

void hello_parser_init(struct hello_parser *p, uint32_t limit);

/*
 * Frames wire[p->scanned .. len) and, once the handshake message is
 * complete, parses it. wire is everything the client sent so far: it only
 * grows between calls. scratch (scratch_size >= p->limit) is used only when
 * the message spans several records, to lay it out contiguously; sni and
 * alpn in info then point into scratch, else into wire. Both stay valid
 * while those buffers do.
 *
 * Returns HELLO_OK with info filled; HELLO_NEED_MORE; or a refusal with
 * info->reason set. After a refusal the parser must not be called again.
 */
enum hello_status hello_parse(struct hello_parser *p, const uint8_t *wire,
    size_t len, uint8_t *scratch, size_t scratch_size, struct hello_info *info);

/* A short, stable, lower-case name for a reason ("sni_empty"). */
const char *hello_reason_str(enum hello_reason reason);

/*
 * Writes the ALPN names as "h2,http/1.1" into buf (NUL-terminated, cut to
 * fit; bytes outside printable ASCII become '?'). Returns buf; "" if none.
 */
char *hello_alpn_format(const struct hello_info *info, char *buf, size_t size);

#endif
