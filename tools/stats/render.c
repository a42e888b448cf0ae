/* render.c -- what the views share: each histogram's names, unit and help. */
#include "render.h"

const struct render_hist_info render_hists[STATS_HIST_COUNT] = {
	[STATS_HIST_HELLO_BYTES] = {
		.title = "hello size",
		.json_key = "hello_size_bytes",
		.prom_name = "passthrough_hello_size_bytes",
		.help = "Size of the TLS ClientHello read before routing, in bytes.",
		.prom_scale_digits = 0,		/* bytes are bytes */
	},
	[STATS_HIST_CONNECT_US] = {
		.title = "backend connect",
		.json_key = "connect_duration_us",
		.prom_name = "passthrough_connect_duration_seconds",
		.help = "Time to connect to a backend, in seconds.",
		.prom_scale_digits = 6,		/* microseconds */
	},
	[STATS_HIST_DURATION_MS] = {
		.title = "connection lifetime",
		.json_key = "connection_duration_ms",
		.prom_name = "passthrough_connection_duration_seconds",
		.help = "Lifetime of a client connection from accept to close, in seconds.",
		.prom_scale_digits = 3,		/* milliseconds */
	},
};
