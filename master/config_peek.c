/*
 * config_peek.c -- single settings read leniently from a configuration
 * the loader may refuse: pid_file for -s reload (which must reach the
 * daemon even through a syntax error) and stats.name for
 * passthrough-stats -c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"

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
 * pid_file = "..."; found in the text itself, for a file libconfig cannot
 * parse at all (a syntax error is exactly when -s reload must still work).
 */
static char *
config_scan_pid_file(const char *path)
{
	char line[4096], *p, *end;
	FILE *f = fopen(path, "re");
	char *found = NULL;

	if (f == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "pid_file", 8) != 0)
			continue;
		p += 8 + strspn(p + 8, " \t");
		if (*p != '=' && *p != ':')
			continue;
		p += 1 + strspn(p + 1, " \t");
		if (*p++ != '"' || (end = strchr(p, '"')) == NULL || end == p)
			continue;
		found = strndup(p, (size_t)(end - p));
	}
	fclose(f);
	return found;
}

char *
config_pid_file(const char *path)
{
	int parsed;
	char *v = config_peek_string(path, "pid_file", &parsed);

	/* Only a file libconfig cannot read is scanned: else a comment could name it. */
	return v != NULL || parsed ? v : config_scan_pid_file(path);
}

char *
config_stats_name(const char *path)
{
	int parsed;

	return config_peek_string(path, "stats.name", &parsed);
}
