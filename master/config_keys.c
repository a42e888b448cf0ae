/*
 * config_keys.c -- every setting the loader knows, as dotted paths, walked
 * from the top level's table of keys through each key's members: what the
 * documentation is checked against (tests/tools/ptkeys.c).
 *
 * The walk is breadth first, and a table reached a second time (the check
 * keys of routes.check and routes.backends.check, the listen and route keys
 * under listeners) is not walked again: its key is reported with the
 * shorter path its members were listed under.
 */
#include <stdio.h>

#include "config_int.h"

/* Tables of keys the walk can hold: the loader has 12; room to grow. */
#define CONFIG_KEYS_TABLES_MAX	32

struct config_keys_table {
	const struct config_key *keys;
	char path[CONFIG_PATH_MAX];	/* its members are "path.name"; "" at the top */
};

/* The index of keys in seen[0..n), or -1. */
static int
config_keys_seen(const struct config_keys_table *seen, unsigned n, const struct config_key *keys)
{
	for (unsigned i = 0; i < n; i++)
		if (seen[i].keys == keys)
			return (int)i;
	return -1;
}

int
config_keys_list(config_keys_fn *fn, void *arg)
{
	struct config_keys_table seen[CONFIG_KEYS_TABLES_MAX];
	const struct config_key *k;
	char path[CONFIG_PATH_MAX];
	unsigned next = 0, n = 1;
	int i;

	seen[0].keys = config_keys;
	seen[0].path[0] = '\0';
	for (; next < n; next++) {	/* seen[] is the queue too: breadth first */
		for (k = seen[next].keys; k->name != NULL; k++) {
			if (snprintf(path, sizeof(path), "%s%s%s", seen[next].path,
			    seen[next].path[0] != '\0' ? "." : "", k->name) >= (int)sizeof(path))
				return -1;
			if (k->members == NULL) {
				fn(path, NULL, arg);
				continue;
			}
			if ((i = config_keys_seen(seen, n, k->members)) >= 0) {
				fn(path, seen[i].path, arg);
				continue;
			}
			if (n == CONFIG_KEYS_TABLES_MAX)
				return -1;
			seen[n].keys = k->members;
			snprintf(seen[n].path, sizeof(seen[n].path), "%s", path);
			n++;
			fn(path, NULL, arg);
		}
	}
	return 0;
}
