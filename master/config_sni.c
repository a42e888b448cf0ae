/*
 * config_sni.c -- the config loader's duplicate-SNI check: a hash of each
 * route's lookup key, so a million routes are checked in linear time. Routes
 * may share a pattern when they differ by alpn (a list of protocol names,
 * read here too): each pattern's routes are chained in order and checked
 * against one another. Patterns are unique per listener group: the hash
 * key is the group's number, a space and the lookup key.
 */
#include <errno.h>
#include <stdio.h>
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
	sni->next = calloc(count, sizeof(*sni->next));
	if (sni->slot == NULL || sni->key == NULL || sni->next == NULL)
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
	free(sni->next);
	memset(sni, 0, sizeof(*sni));
}

/* alpn: 1..ROUTES_ALPN_NAMES_MAX protocol names, each once; stored at k->off, counted at k->count_off. */
void
config_sni_alpn(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *obj)
{
	char quoted[CONFIG_QUOTE_MAX];
	const config_setting_t *e;
	const char *name;
	uint32_t i, j, n;
	char **v;

	n = config_list_length(ctx, s, 1, "protocol names", k->max);
	if (n == 0 || n > k->max)
		return;
	if ((v = config_list_alloc(ctx, s, k, obj, n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			config_err_type(ctx, e, "a string");
			continue;
		}
		name = config_setting_get_string(e);
		config_quote(name, quoted, sizeof(quoted));
		/* Printable, and one token in the access log and the statistics. */
		if (name[0] == '\0' || strlen(name) > ROUTES_ALPN_NAME_MAX ||
		    name[strspn(name, CONFIG_ALPN_CHARS)] != '\0') {
			config_err(ctx, e, "%s is not a protocol name of 1 to %u letters, "
			    "digits and '.', '_', '-', '/', '+', ':', '~'", quoted, ROUTES_ALPN_NAME_MAX);
			continue;
		}
		for (j = 0; j < i && (v[j] == NULL || strcmp(v[j], name) != 0); j++)
			;
		if (j < i)
			config_err(ctx, e, "%s is listed twice", quoted);
		else if ((v[i] = strdup(name)) == NULL)
			config_err(ctx, e, "out of memory");
	}
}

/* The first name of a's alpn that b's lists too: its index in a, or -1. */
static int
config_sni_shared(const struct config_route *a, const struct config_route *b)
{
	for (uint32_t i = 0; i < a->alpn_count; i++)
		for (uint32_t j = 0; j < b->alpn_count; j++)
			if (a->alpn[i] != NULL && b->alpn[j] != NULL &&
			    strcmp(a->alpn[i], b->alpn[j]) == 0)
				return (int)i;
	return -1;
}

/* Route j as messages name it: its index in its listener group's routes. */
static unsigned long
config_sni_index(const struct config_ctx *ctx, uint32_t j)
{
	const struct config *cfg = ctx->cfg;

	return cfg->groups == NULL ? j : j - cfg->groups[cfg->routes[j].group].route_first;
}

/*
 * Routes index (group g, sni setting s) and j share a pattern: a fault
 * when neither names alpn or both name one protocol. Reports it; 1 then.
 */
static int
config_sni_clash(struct config_ctx *ctx, const config_setting_t *g,
    const config_setting_t *s, uint32_t index, uint32_t j)
{
	const struct config_route *r = &ctx->cfg->routes[index], *o = &ctx->cfg->routes[j];
	char quoted[CONFIG_QUOTE_MAX];
	int shared;

	if (r->alpn_count == 0 && o->alpn_count == 0) {
		config_err(ctx, s, "%s duplicates routes[%lu] (line %d)",
		    config_quote(r->pattern, quoted, sizeof(quoted)), config_sni_index(ctx, j), o->line);
		return 1;
	}
	if ((shared = config_sni_shared(r, o)) < 0)
		return 0;
	config_err(ctx, config_setting_get_elem(config_setting_get_member(g, "alpn"),
	    (unsigned)shared), "%s is also in routes[%lu].alpn (line %d), for the same sni",
	    config_quote(r->alpn[shared], quoted, sizeof(quoted)), config_sni_index(ctx, j), o->line);
	return 1;
}

void
config_sni_check(struct config_ctx *ctx, const config_setting_t *g, uint32_t index)
{
	const config_setting_t *s = config_setting_get_member(g, "sni");
	const struct config_route *r = &ctx->cfg->routes[index];
	char key[ROUTES_KEY_MAX + 2], gkey[ROUTES_KEY_MAX + 16];
	enum route_kind kind;
	const char *why;
	uint32_t j;
	int rc;

	if (s == NULL || r->pattern == NULL || routes_pattern_key(r->pattern, key, &kind, &why) < 0)
		return;	/* reported by config_get_pattern() */
	snprintf(gkey, sizeof(gkey), "%u %s", r->group, key);
	rc = config_sni_add(&ctx->sni, index, gkey, &j);
	if (rc == -ENOMEM)
		config_err(ctx, s, "out of memory");
	if (rc != -EEXIST)
		return;
	for (;; j = ctx->sni.next[j] - 1) {
		if (config_sni_clash(ctx, g, s, index, j))
			return;	/* one message is enough */
		if (ctx->sni.next[j] == 0)
			break;
	}
	ctx->sni.next[j] = index + 1;
}
