/*
 * config_peek.c -- single settings read leniently from a configuration
 * the loader may refuse: pid_file for -s reload (which must reach the
 * daemon even through a syntax error) and stats.name for
 * passthrough-stats -c.
 */
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"
#include "confpeek.h"

/*
 * One string setting of path, read leniently; a copy, or NULL. *parsed
 * says whether libconfig could read the file at all.
 */
static char *
config_peek_string(const char *path, const char *setting, int *parsed)
{
	const char *text = NULL;
	char *copy = NULL;
	config_t lc;

	config_init(&lc);
	*parsed = config_read_file(&lc, path);
	if (*parsed && config_lookup_string(&lc, setting, &text) && text[0] != '\0')
		copy = strdup(text);
	config_destroy(&lc);
	return copy;
}

/*
 * A setting of path: libconfig's reading when it can parse the file (it
 * follows @include), else the lenient text reader passthrough-stats uses
 * (a syntax error is exactly when -s reload must still reach the daemon).
 */
static char *
config_peek(const char *path, const char *setting)
{
	int parsed;
	char *v = config_peek_string(path, setting, &parsed);

	return v != NULL || parsed ? v : confpeek_file(path, setting);
}

char *
config_pid_file(const char *path)
{
	return config_peek(path, "pid_file");
}

char *
config_stats_name(const char *path)
{
	return config_peek(path, "stats.name");
}
