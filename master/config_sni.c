/*
 * config_sni.c -- the config loader's duplicate-SNI check: a hash of each
 * route's lookup key, so a million routes are checked in linear time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "hash.h"

int
config_sni_init(struct config_sni *sni, uint32_t count)
{
	uint32_t slots = 1;

	memset(sni, 0, sizeof(*sni));
	while (slots < 2 * count)	/* at most half full: probes stay short */
		slots <<= 1;
	sni->slot = calloc(slots, sizeof(*sni->slot));
	sni->key = calloc(count, sizeof(*sni->key));
	if (sni->slot == NULL || sni->key == NULL)
		return -ENOMEM;	/* config_sni_free() frees the half made */
	sni->mask = slots - 1;
	sni->count = count;
	return 0;
}

int
config_sni_add(struct config_sni *sni, uint32_t index, const char *key, uint32_t *first)
{
	/* FNV-1a: short keys, no adversary (the operator writes the file). */
	uint32_t h = hash_fnv32_str(key) & sni->mask, other;

	for (; sni->slot[h] != 0; h = (h + 1) & sni->mask) {
		other = sni->slot[h] - 1;
		if (strcmp(sni->key[other], key) == 0) {
			*first = other;
			return -EEXIST;
		}
	}
	sni->key[index] = strdup(key);
	if (sni->key[index] == NULL)
		return -ENOMEM;
	sni->slot[h] = index + 1;
	return 0;
}

void
config_sni_free(struct config_sni *sni)
{
	config_strings_free(sni->key, sni->count);
	free(sni->slot);
	memset(sni, 0, sizeof(*sni));
}
