/* clienthello.c -- frames TLS records as bytes arrive and reads the ClientHello's SNI and ALPN. */
#include <stdbool.h>
#include <string.h>

#include "clienthello.h"
#include "tls.h"
#include "tunables.h"

/* ClientHello fields (RFC 8446 4.1.2), in bytes. */
#define HELLO_VERSION_BYTES	2u
#define HELLO_RANDOM_BYTES	32u
#define HELLO_SESSION_ID_MAX	32u	/* legacy_session_id<0..32> */
/*
 * The smallest body that can be a ClientHello: version, random, an empty
 * session id, one cipher suite, one compression method, no extensions.
 * A declared length below it is refused before its bytes arrive.
 */
#define HELLO_MIN_BODY_BYTES	(HELLO_VERSION_BYTES + HELLO_RANDOM_BYTES + \
	1u +		/* legacy_session_id length (0) */ \
	2u + 2u +	/* cipher_suites length, one suite */ \
	1u + 1u)	/* legacy_compression_methods length, one method */

/* Extension types we read (IANA TLS ExtensionType registry); the rest are skipped. */
#define EXT_SERVER_NAME		0u	/* RFC 6066 3 */
#define EXT_ALPN		16u	/* RFC 7301 3.1 */
/* RFC 6066 3: NameType host_name(0), the only type ever defined. */
#define SNI_NAME_TYPE_HOST_NAME	0u
/* RFC 1035 2.3.4: a DNS label holds at most 63 octets. */
#define DNS_MAX_LABEL		63u

/*
 * A read position inside a length-checked span. Every read checks what is
 * left first, so a hostile length can only make a read fail, never stray.
 */
struct hello_cursor {
	const uint8_t	*at;
	size_t		 left;
};

static enum hello_status
hello_refuse(struct hello_info *info, enum hello_status status,
    enum hello_reason reason)
{
	info->reason = reason;
	return status;
}

static bool
cursor_u8(struct hello_cursor *c, uint8_t *v)
{
	if (c->left < 1)
		return false;
	*v = c->at[0];
	c->at++;
	c->left--;
	return true;
}

static bool
cursor_u16(struct hello_cursor *c, uint16_t *v)
{
	if (c->left < 2)
		return false;
	*v = (uint16_t)(c->at[0] << 8 | c->at[1]);
	c->at += 2;
	c->left -= 2;
	return true;
}

/* Moves the next n bytes into sub (which may be NULL to skip them). */
static bool
cursor_take(struct hello_cursor *c, size_t n, struct hello_cursor *sub)
{
	if (c->left < n)
		return false;
	if (sub != NULL) {
		sub->at = c->at;
		sub->left = n;
	}
	c->at += n;
	c->left -= n;
	return true;
}

/* --- Record and handshake-header framing, one call per new byte or run of body bytes. --- */

/* The message is in, plus the record tail it claims (see hello_parse_extensions). */
static bool
hello_complete(const struct hello_parser *p)
{
	return p->hs_total != 0 && p->hs_have == p->hs_total + p->tail;
}

/*
 * The first record's type and version say whether this is TLS at all, so
 * each is judged on its own byte: "GET /" is refused on the 'G'. Later
 * records only have to be handshake records; their version is not checked
 * (RFC 8446 5.1: legacy_record_version MUST be ignored for all purposes).
 */
static enum hello_status
hello_check_record_start(const struct hello_parser *p, struct hello_info *info)
{
	bool first = p->records == 0;
	uint8_t byte = p->head[p->head_have - 1];

	if (p->head_have == 1 && first && (byte & SSL2_HEADER_BIT) != 0)
		return hello_refuse(info, HELLO_NOT_TLS, HELLO_R_SSLV2);
	if (p->head_have == 1 && first && byte != TLS_CONTENT_HANDSHAKE)
		return hello_refuse(info, HELLO_NOT_TLS, HELLO_R_RECORD_TYPE);
	if (p->head_have == 1 && byte != TLS_CONTENT_HANDSHAKE)
		return hello_refuse(info, HELLO_MALFORMED, HELLO_R_RECORD_INTERLEAVED);
	if (p->head_have == 2 && first && byte != TLS_VERSION_MAJOR)
		return hello_refuse(info, HELLO_NOT_TLS, HELLO_R_RECORD_VERSION);
	return HELLO_NEED_MORE;
}

/* Gathers a record header {type, major, minor, length(2)} byte by byte. */
static enum hello_status
hello_frame_record_head(struct hello_parser *p, uint8_t byte,
    struct hello_info *info)
{
	enum hello_status status;
	uint32_t length;

	p->head[p->head_have++] = byte;
	p->scanned++;
	status = hello_check_record_start(p, info);
	if (status != HELLO_NEED_MORE || p->head_have < TLS_RECORD_HEADER_BYTES)
		return status;

	/* RFC 8446 5.1: no zero-length handshake fragments, none over 2^14. */
	length = (uint32_t)p->head[3] << 8 | p->head[4];
	if (length == 0)
		return hello_refuse(info, HELLO_MALFORMED, HELLO_R_RECORD_EMPTY);
	if (length > TLS_MAX_PLAINTEXT_RECORD)
		return hello_refuse(info, HELLO_MALFORMED, HELLO_R_RECORD_LENGTH);
	if (p->records == 0)
		p->record_version = (uint16_t)(p->head[1] << 8 | p->head[2]);
	if (p->records < UINT8_MAX)	/* saturates: only "one or more" matters */
		p->records++;
	p->record_left = length;
	p->head_have = 0;
	return HELLO_NEED_MORE;
}

/*
 * The handshake header may be cut anywhere, so it is gathered byte by
 * byte. Its type is judged on its own byte; its length as soon as it is
 * whole, against the smallest ClientHello and against the limit: the wire
 * must still carry every declared byte after the header, so a hello that
 * cannot fit is refused now rather than after 64 KiB of waiting.
 */
static enum hello_status
hello_frame_handshake_head(struct hello_parser *p, uint8_t byte,
    struct hello_info *info)
{
	uint32_t length;

	p->hs_head[p->hs_have++] = byte;
	p->scanned++;
	p->record_left--;
	if (p->hs_have == 1 && byte != TLS_HANDSHAKE_CLIENT_HELLO)
		return hello_refuse(info, HELLO_MALFORMED, HELLO_R_HANDSHAKE_TYPE);
	if (p->hs_have < TLS_HANDSHAKE_HEADER_BYTES)
		return HELLO_NEED_MORE;

	/* {msg_type, length(3)} */
	length = (uint32_t)p->hs_head[1] << 16 | (uint32_t)p->hs_head[2] << 8 |
	    p->hs_head[3];
	if (length < HELLO_MIN_BODY_BYTES)
		return hello_refuse(info, HELLO_MALFORMED, HELLO_R_HANDSHAKE_LENGTH);
	/* scanned >= 9 here, so this also refuses 4 + length > limit. */
	if ((uint64_t)p->scanned + length > p->limit)
		return hello_refuse(info, HELLO_TOO_BIG, HELLO_R_TOO_BIG);
	p->hs_total = TLS_HANDSHAKE_HEADER_BYTES + length;
	return HELLO_NEED_MORE;
}

/* Handshake body bytes are only counted, a whole run at a time. */
static void
hello_frame_handshake_body(struct hello_parser *p, size_t end)
{
	size_t take = end - p->scanned;

	if (take > p->record_left)
		take = p->record_left;
	if (take > p->hs_total + p->tail - p->hs_have)
		take = p->hs_total + p->tail - p->hs_have;
	p->scanned += (uint32_t)take;
	p->record_left -= (uint32_t)take;
	p->hs_have += (uint32_t)take;
}

/* --- The ClientHello body, parsed once it is whole and contiguous. --- */

static enum hello_reason
hello_parse_versions(struct hello_cursor *c, struct hello_info *info)
{
	uint16_t version;

	/* Both fit: the declared length was checked against HELLO_MIN_BODY_BYTES. */
	if (!cursor_u16(c, &version) || !cursor_take(c, HELLO_RANDOM_BYTES, NULL))
		return HELLO_R_HANDSHAKE_LENGTH;
	info->client_version = version;
	if (version >> 8 != TLS_VERSION_MAJOR || (version & 0xff) < TLS_1_0_MINOR)
		return HELLO_R_CLIENT_VERSION;
	return HELLO_R_NONE;
}

/*
 * The fields between random and extensions: opaque vectors (RFC 8446 3.4)
 * with a one- or two-byte length, checked and skipped in this order.
 */
struct hello_vector {
	uint8_t length_bytes;		/* 1 or 2 */
	uint16_t min, max;		/* bytes */
	uint16_t unit;			/* the length is a whole number of these */
	enum hello_reason reason;	/* when the vector is not so */
};

static const struct hello_vector hello_skipped[] = {
	/* legacy_session_id<0..32> */
	{ 1, 0, HELLO_SESSION_ID_MAX, 1, HELLO_R_SESSION_ID },
	/* cipher_suites<2..2^16-2>: whole two-byte suites, at least one */
	{ 2, 2, UINT16_MAX - 1, 2, HELLO_R_CIPHER_SUITES },
	/* legacy_compression_methods<1..2^8-1> */
	{ 1, 1, UINT8_MAX, 1, HELLO_R_COMPRESSION },
};

/* Checks and skips one of those vectors: HELLO_R_NONE, or its reason. */
static enum hello_reason
hello_skip_vector(struct hello_cursor *c, const struct hello_vector *v)
{
	uint16_t length;
	uint8_t length8;

	if (v->length_bytes == 1) {
		if (!cursor_u8(c, &length8))
			return v->reason;
		length = length8;
	} else if (!cursor_u16(c, &length)) {
		return v->reason;
	}
	if (length < v->min || length > v->max || length % v->unit != 0 ||
	    !cursor_take(c, length, NULL))
		return v->reason;
	return HELLO_R_NONE;
}

/*
 * RFC 1123 host name letters, plus '_' which real hosts use and routes may
 * name; one trailing dot is kept for the route lookup to strip.
 */
static bool
hello_host_name_valid(const uint8_t *name, size_t len)
{
	size_t i, label = 0;

	if (len > TLS_MAX_HOSTNAME)
		return false;
	for (i = 0; i < len; i++) {
		uint8_t ch = name[i];

		if (ch == '.') {
			if (label == 0)		/* leading dot or ".." */
				return false;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
			if (++label > DNS_MAX_LABEL)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * RFC 6066 3: server_name_list<1..2^16-1> of {name_type, HostName<1..>}.
 * Lengths are checked before meaning, so an entry that runs past the
 * list is a length fault whatever its type says.
 */
static enum hello_reason
hello_parse_server_name(struct hello_cursor *ext, struct hello_info *info)
{
	uint16_t list_len, name_len;
	uint8_t name_type;
	struct hello_cursor name;

	if (info->sni != NULL)
		return HELLO_R_SNI_DUPLICATE;
	if (!cursor_u16(ext, &list_len) || list_len != ext->left || list_len == 0)
		return HELLO_R_SNI_LENGTH;
	while (ext->left > 0) {
		if (!cursor_u8(ext, &name_type) || !cursor_u16(ext, &name_len) ||
		    !cursor_take(ext, name_len, &name))
			return HELLO_R_SNI_LENGTH;
		if (name_type != SNI_NAME_TYPE_HOST_NAME)
			return HELLO_R_SNI_NAME_TYPE;
		if (name_len == 0)
			return HELLO_R_SNI_EMPTY;
		if (info->sni != NULL)		/* "MUST NOT include more than one" */
			return HELLO_R_SNI_DUPLICATE;
		if (!hello_host_name_valid(name.at, name.left))
			return HELLO_R_SNI_SYNTAX;
		info->sni = name.at;
		info->sni_len = name_len;
	}
	return HELLO_R_NONE;
}

/* RFC 7301 3.1: protocol_name_list<2..2^16-1> of ProtocolName<1..2^8-1>. */
static enum hello_reason
hello_parse_alpn(struct hello_cursor *ext, struct hello_info *info)
{
	uint16_t list_len, count = 0;
	uint8_t name_len;
	const uint8_t *list;

	if (info->alpn != NULL)
		return HELLO_R_ALPN_DUPLICATE;
	if (!cursor_u16(ext, &list_len) || list_len != ext->left)
		return HELLO_R_ALPN_LENGTH;
	if (list_len == 0)
		return HELLO_R_ALPN_EMPTY;
	list = ext->at;
	while (ext->left > 0) {
		cursor_u8(ext, &name_len);	/* cannot fail: left > 0 */
		if (name_len == 0)
			return HELLO_R_ALPN_EMPTY;
		if (!cursor_take(ext, name_len, NULL))
			return HELLO_R_ALPN_LENGTH;
		count++;	/* at most list_len / 2: fits */
	}
	info->alpn = list;
	info->alpn_len = list_len;
	info->alpn_count = count;
	return HELLO_R_NONE;
}

/*
 * Walks the extensions block, which must fill the rest of the message
 * exactly; a block that stops short leaves trailing data.
 *
 * One overrun is tolerated, for sniproxy compatibility: sniproxy reads the
 * hello up to the end of its record and never looks at the handshake
 * length, and its test vectors (ours too: tests/vectors/README.md says
 * they route) understate that length by 2. A block that runs past the
 * message to exactly the end of the record is read to there. tail is the
 * record bytes after the message that are here to read (0 on the first
 * pass); *overrun says by how much a block overran, so the caller can
 * fetch the tail and parse again. Routing such a hello is harmless: the
 * bytes reach the backend unchanged and a strict server refuses them.
 */
static enum hello_reason
hello_parse_extensions(struct hello_cursor *c, size_t tail, size_t *overrun,
    struct hello_info *info)
{
	uint16_t block_len, type, ext_len;
	struct hello_cursor ext;
	enum hello_reason reason = HELLO_R_NONE;

	if (c->left == 0)		/* pre-extension (TLS 1.0 era) hello: no SNI */
		return HELLO_R_NONE;
	if (!cursor_u16(c, &block_len))
		return HELLO_R_EXTENSIONS_LENGTH;
	if (block_len > c->left && block_len - c->left == tail)
		c->left += tail;
	if (block_len > c->left) {
		*overrun = block_len - c->left;
		return HELLO_R_EXTENSIONS_LENGTH;
	}
	if (block_len < c->left)
		return HELLO_R_TRAILING_DATA;
	while (c->left > 0 && reason == HELLO_R_NONE) {
		if (!cursor_u16(c, &type) || !cursor_u16(c, &ext_len) ||
		    !cursor_take(c, ext_len, &ext))
			return HELLO_R_EXTENSION_LENGTH;
		if (type == EXT_SERVER_NAME)
			reason = hello_parse_server_name(&ext, info);
		else if (type == EXT_ALPN)
			reason = hello_parse_alpn(&ext, info);
	}
	return reason;
}

/*
 * The body after the 4-byte handshake header, len >= HELLO_MIN_BODY_BYTES,
 * with tail readable bytes after it (see hello_parse_extensions).
 */
static enum hello_reason
hello_parse_body(const uint8_t *body, size_t len, size_t tail, size_t *overrun,
    struct hello_info *info)
{
	struct hello_cursor c = { body, len };
	enum hello_reason reason;

	reason = hello_parse_versions(&c, info);
	for (size_t i = 0; i < sizeof(hello_skipped) / sizeof(hello_skipped[0]) &&
	    reason == HELLO_R_NONE; i++)
		reason = hello_skip_vector(&c, &hello_skipped[i]);
	if (reason == HELLO_R_NONE)
		reason = hello_parse_extensions(&c, tail, overrun, info);
	return reason;
}

/*
 * Lays the handshake message out contiguously in scratch: one walk over
 * the (already framed, so trusted) record headers from wire offset 0,
 * copying each record's share. Returns the records it spanned.
 */
static uint32_t
hello_reassemble(const uint8_t *wire, uint32_t total, uint8_t *scratch)
{
	size_t off = 0, have = 0, length, take;
	uint32_t records = 0;

	while (have < total) {
		length = (size_t)wire[off + 3] << 8 | wire[off + 4];
		take = length < total - have ? length : total - have;
		memcpy(scratch + have, wire + off + TLS_RECORD_HEADER_BYTES, take);
		have += take;
		off += TLS_RECORD_HEADER_BYTES + length;
		records++;
	}
	return records;
}

/*
 * Parses the complete message: in place when the first record holds it
 * (the common case), else from a copy in scratch. Returns NEED_MORE only
 * to fetch the rest of the record for a sniproxy-style extensions overrun.
 */
static enum hello_status
hello_finish(struct hello_parser *p, const uint8_t *wire, uint8_t *scratch,
    size_t scratch_size, struct hello_info *info)
{
	const uint8_t *msg;
	enum hello_reason reason;
	size_t overrun = 0;

	info->hello_end = p->scanned;
	info->hello_len = p->hs_total + p->tail;
	if (p->records == 1) {
		msg = wire + TLS_RECORD_HEADER_BYTES;
		info->records = 1;
	} else {
		/* Checked against limit, not hs_total, so a short scratch fails every time. */
		if (scratch == NULL || scratch_size < p->limit)
			return hello_refuse(info, HELLO_TOO_BIG, HELLO_R_TOO_BIG);
		info->records = hello_reassemble(wire, p->hs_total + p->tail, scratch);
		msg = scratch;
	}
	reason = hello_parse_body(msg + TLS_HANDSHAKE_HEADER_BYTES,
	    p->hs_total - TLS_HANDSHAKE_HEADER_BYTES, p->tail, &overrun, info);
	if (reason == HELLO_R_EXTENSIONS_LENGTH && p->tail == 0 && overrun > 0 &&
	    overrun == p->record_left) {
		p->tail = p->record_left;
		return HELLO_NEED_MORE;
	}
	if (reason != HELLO_R_NONE) {
		info->sni = NULL;
		info->sni_len = 0;
		info->alpn = NULL;
		info->alpn_len = info->alpn_count = 0;
		return hello_refuse(info, HELLO_MALFORMED, reason);
	}
	return HELLO_OK;
}

/* Frames wire[scanned, end) until the message is complete or refused. */
static enum hello_status
hello_frame(struct hello_parser *p, const uint8_t *wire, size_t end,
    struct hello_info *info)
{
	enum hello_status status = HELLO_NEED_MORE;

	while (status == HELLO_NEED_MORE && !hello_complete(p) && p->scanned < end) {
		if (p->record_left == 0)
			status = hello_frame_record_head(p, wire[p->scanned], info);
		else if (p->hs_have < TLS_HANDSHAKE_HEADER_BYTES)
			status = hello_frame_handshake_head(p, wire[p->scanned], info);
		else
			hello_frame_handshake_body(p, end);
	}
	info->record_version = p->record_version;
	return status;
}

void
hello_parser_init(struct hello_parser *p, uint32_t limit)
{
	memset(p, 0, sizeof(*p));
	p->limit = limit;
}

enum hello_status
hello_parse(struct hello_parser *p, const uint8_t *wire, size_t len,
    uint8_t *scratch, size_t scratch_size, struct hello_info *info)
{
	enum hello_status status;
	/* Never frame past the limit: the hello must end by wire offset limit. */
	size_t end = len < p->limit ? len : p->limit;

	memset(info, 0, sizeof(*info));
	if (len < p->scanned)		/* wire shrank: a caller bug; read nothing */
		return HELLO_NEED_MORE;
	for (;;) {
		status = hello_frame(p, wire, end, info);
		if (status != HELLO_NEED_MORE)
			return status;
		if (!hello_complete(p) && p->scanned >= p->limit)
			return hello_refuse(info, HELLO_TOO_BIG, HELLO_R_TOO_BIG);
		if (!hello_complete(p))
			return HELLO_NEED_MORE;
		status = hello_finish(p, wire, scratch, scratch_size, info);
		if (status != HELLO_NEED_MORE)
			return status;
		/* hello_finish set p->tail (it does so once): frame the rest of the record. */
	}
}

static const char *const hello_reason_names[] = {
	[HELLO_R_NONE] = "none",
	[HELLO_R_SSLV2] = "sslv2",
	[HELLO_R_RECORD_TYPE] = "record_type",
	[HELLO_R_RECORD_VERSION] = "record_version",
	[HELLO_R_RECORD_EMPTY] = "record_empty",
	[HELLO_R_RECORD_LENGTH] = "record_length",
	[HELLO_R_RECORD_INTERLEAVED] = "record_interleaved",
	[HELLO_R_HANDSHAKE_TYPE] = "handshake_type",
	[HELLO_R_HANDSHAKE_LENGTH] = "handshake_length",
	[HELLO_R_CLIENT_VERSION] = "client_version",
	[HELLO_R_SESSION_ID] = "session_id",
	[HELLO_R_CIPHER_SUITES] = "cipher_suites",
	[HELLO_R_COMPRESSION] = "compression",
	[HELLO_R_EXTENSIONS_LENGTH] = "extensions_length",
	[HELLO_R_EXTENSION_LENGTH] = "extension_length",
	[HELLO_R_TRAILING_DATA] = "trailing_data",
	[HELLO_R_SNI_LENGTH] = "sni_length",
	[HELLO_R_SNI_DUPLICATE] = "sni_duplicate",
	[HELLO_R_SNI_NAME_TYPE] = "sni_name_type",
	[HELLO_R_SNI_EMPTY] = "sni_empty",
	[HELLO_R_SNI_SYNTAX] = "sni_syntax",
	[HELLO_R_ALPN_LENGTH] = "alpn_length",
	[HELLO_R_ALPN_EMPTY] = "alpn_empty",
	[HELLO_R_ALPN_DUPLICATE] = "alpn_duplicate",
	[HELLO_R_TOO_BIG] = "too_big",
};
_Static_assert(sizeof(hello_reason_names) / sizeof(hello_reason_names[0]) ==
    HELLO_R_COUNT, "every hello_reason needs a name");

const char *
hello_reason_str(enum hello_reason reason)
{
	/* A reason added mid-enum without a name leaves a NULL hole. */
	if ((unsigned)reason >= HELLO_R_COUNT || hello_reason_names[reason] == NULL)
		return "unknown";
	return hello_reason_names[reason];
}

/* Appends one byte if it and the NUL still fit. */
static bool
alpn_put(char *buf, size_t size, size_t *out, char ch)
{
	if (*out + 1 >= size)
		return false;
	buf[(*out)++] = ch;
	return true;
}

char *
hello_alpn_format(const struct hello_info *info, char *buf, size_t size)
{
	size_t i = 0, out = 0, name_end;
	bool room = true;

	if (size == 0)
		return buf;
	while (info->alpn != NULL && i < info->alpn_len && room) {
		name_end = i + 1 + info->alpn[i];
		if (name_end > info->alpn_len)	/* not from hello_parse(): stop */
			break;
		if (out > 0)
			room = alpn_put(buf, size, &out, ',');
		for (i++; i < name_end && room; i++) {
			uint8_t ch = info->alpn[i];

			room = alpn_put(buf, size, &out,
			    ch >= ' ' && ch <= '~' ? (char)ch : '?');
		}
	}
	buf[out] = '\0';
	return buf;
}
