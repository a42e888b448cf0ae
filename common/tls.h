/*
 * tls.h -- the TLS wire facts passthrough reads and writes, in one place,
 * and the one record it ever writes itself: a fatal alert.
 */
#ifndef PASSTHROUGH_TLS_H
#define PASSTHROUGH_TLS_H

#include <stdint.h>

/* Record layer (RFC 8446 5.1). */
#define TLS_RECORD_HEADER_BYTES 5u	/* type, legacy_record_version, length */
#define TLS_HANDSHAKE_HEADER_BYTES 4u	/* msg_type, uint24 length */
#define TLS_MAX_PLAINTEXT_RECORD (1u << 14)	/* RFC 8446 5.1: 2^14 */
#define TLS_MAX_HOSTNAME 255u		/* RFC 6066 3: HostName <1..2^16-1>, DNS caps at 255 */

/* ContentType (RFC 8446 B.1). */
#define TLS_CONTENT_ALERT	21u
#define TLS_CONTENT_HANDSHAKE	22u	/* every other type ends the hello phase */

/* An SSL 2.0 record header has the high bit of its first byte set; no TLS content type does. */
#define SSL2_HEADER_BIT		0x80u
/* Every SSL 3.0 and TLS record and hello version is {3, minor}. */
#define TLS_VERSION_MAJOR	3u
/* legacy_version {3, 0} is SSL 3.0, dead since RFC 7568; TLS 1.0 is {3, 1}. */
#define TLS_1_0_MINOR		1u
#define TLS_VERSION_1_0		0x0301u
#define TLS_VERSION_1_2		0x0303u	/* the highest legacy_record_version (RFC 8446 5.1) */

/* HandshakeType (RFC 8446 4): client_hello(1). */
#define TLS_HANDSHAKE_CLIENT_HELLO 1u

/* Alerts (RFC 8446 6): level and the descriptions passthrough sends. */
#define TLS_ALERT_LEVEL_FATAL		2u
#define TLS_ALERT_INTERNAL_ERROR	80u
#define TLS_ALERT_UNRECOGNIZED_NAME	112u
#define TLS_ALERT_BODY_BYTES		2u	/* level, description */
#define TLS_ALERT_BYTES (TLS_RECORD_HEADER_BYTES + TLS_ALERT_BODY_BYTES)

/*
 * Writes a fatal alert record with the given description into out. The
 * record version is the client's own hello version clamped to TLS 1.0 ..
 * 1.2, one the client surely accepts. Returns TLS_ALERT_BYTES.
 */
unsigned tls_alert(uint8_t out[TLS_ALERT_BYTES], uint16_t client_version,
    uint8_t description);

#endif
