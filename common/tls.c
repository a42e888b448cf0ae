/* tls.c -- the one TLS record passthrough writes itself: a fatal alert. */
#include "tls.h"

unsigned
tls_alert(uint8_t out[TLS_ALERT_BYTES], uint16_t client_version, uint8_t description)
{
	uint16_t v = client_version;

	if (v < TLS_VERSION_1_0)
		v = TLS_VERSION_1_0;
	if (v > TLS_VERSION_1_2)
		v = TLS_VERSION_1_2;
	out[0] = TLS_CONTENT_ALERT;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
	out[3] = 0;			/* length, high byte */
	out[4] = TLS_ALERT_BODY_BYTES;	/* length, low byte */
	out[5] = TLS_ALERT_LEVEL_FATAL;
	out[6] = description;
	return TLS_ALERT_BYTES;
}
