/*
 * config_tuning.c -- the tuning group: how bytes move (relay, pipe_bytes)
 * and which event engine the workers run (events), and the one pairing
 * of the two that cannot work.
 */
#include <stddef.h>

#include "config_int.h"
#include "tunables.h"

static const char *const config_relay_names[] = {
	[RELAY_SPLICE] = "splice",
	[RELAY_SPLICE_RING] = "splice_ring",
	[RELAY_ADAPTIVE] = "adaptive",
	[RELAY_KERNEL] = "kernel",
	[RELAY_METHOD_COUNT] = NULL,
};

const char *const config_events_names[] = {
	[CONFIG_EVENTS_AUTO] = "auto",
	[CONFIG_EVENTS_IO_URING] = "io_uring",
	[CONFIG_EVENTS_EPOLL] = "epoll",
	[CONFIG_EVENTS_COUNT] = NULL,
};

/*
 * pipe_bytes is a power of two because F_SETPIPE_SZ rounds up to one (in
 * pages): the size asked for is then the size the kernel charges.
 */
const struct config_key config_tuning_keys[] = {
	{ "relay", config_get_enum, .off = offsetof(struct config, settings.relay),
	    .names = config_relay_names },
	{ "pipe_bytes", config_get_uint, .off = offsetof(struct config, settings.pipe_bytes),
	    .min = MIN_PIPE_BYTES, .max = MAX_PIPE_BYTES, .flags = KEY_POW2 },
	{ "events", config_get_enum, .off = offsetof(struct config, events),
	    .names = config_events_names },
	{ .name = NULL }
};

void
config_tuning_check(struct config_ctx *ctx, const config_setting_t *root)
{
	const config_setting_t *tuning = config_setting_get_member(root, "tuning");
	const config_setting_t *relay;

	if (ctx->cfg->events != CONFIG_EVENTS_EPOLL ||
	    ctx->cfg->settings.relay != RELAY_SPLICE_RING || tuning == NULL ||
	    (relay = config_setting_get_member(tuning, "relay")) == NULL)
		return;
	/* "auto" may fall back too; that is the master's to settle (events.c). */
	config_err(ctx, relay, "\"splice_ring\" needs io_uring (IORING_OP_SPLICE), and "
	    "tuning.events is \"epoll\": relay with \"splice\" or \"adaptive\"");
}
