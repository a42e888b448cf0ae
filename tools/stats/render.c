/* render.c -- what the views share: each histogram's names, unit and help. */
#include "render.h"

/* Fields in the order of struct render_hist_info: title, JSON key, Prometheus name, help, digits. */
const struct render_hist_info render_hists[STATS_HIST_COUNT] = {
	[STATS_HIST_HELLO_BYTES] = { "hello size", "hello_size_bytes", "passthrough_hello_size_bytes",
	    "Size of the TLS ClientHello read before routing, in bytes.", 0 },	/* bytes are bytes */
	[STATS_HIST_CONNECT_US] = { "backend connect", "connect_duration_us",
	    "passthrough_connect_duration_seconds",
	    "Time to connect to a backend, in seconds.", 6 },			/* microseconds */
	[STATS_HIST_DURATION_MS] = { "connection lifetime", "connection_duration_ms",
	    "passthrough_connection_duration_seconds",
	    "Lifetime of a client connection from accept to close, in seconds.", 3 },	/* milliseconds */
};
