/*
 * routes_fuzz.c -- libFuzzer target: a route table image built from the
 * input answers every lookup as a naive reference table written here does.
 *
 * Input: text lines. Up to the first empty line, one route per line:
 * "PATTERN" or "PATTERN COUNT" (COUNT backends, default 1..3; 0 and over
 * MAX_BACKENDS_PER_ROUTE must be refused). Every other line is a name to
 * look up, any bytes but '\n'. Names derived from the patterns (case,
 * trailing dot, labels added in front, the bare wildcard suffix) are
 * looked up as well. Seeds: tests/fuzz/corpus/routes/.
 *
 * Checked: routes_pattern_key() agrees with a reference on validity, kind
 * and key; routes_image_build() refuses exactly what it must, writes no
 * byte past routes_image_size() (the block is allocated to that size and
 * build is told it is larger), and builds the same bytes twice; the image
 * says what was put in (header, keys, backends); lookups in a copy of the
 * image (the original freed) and in an image with another hash seed all
 * give the reference's answer, and so do both listener groups of an image
 * holding every route twice, once in group 0 and once in group 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "routes.h"
#include "tunables.h"

#define SPECS_MAX	32u	/* routes per input: enough for chains and suffix ladders */
#define NAMES_MAX	64u	/* lines looked up per input, before the derived names */
/* Longer lines are cut: past ROUTES_KEY_MAX + 1 bytes every pattern is invalid anyway. */
#define PATTERN_MAX	300u
#define COUNT_MAX	9999u	/* a COUNT field is read up to this */
#define LOOKUP_MAX	(PATTERN_MAX + 8)

/* One route as the reference table keeps it. */
struct ref_route {
	char pattern[PATTERN_MAX + 1];
	char key[ROUTES_KEY_MAX + 2];
	size_t key_len;
	enum route_kind kind;
	uint32_t count;		/* backends as the input asked */
};

struct ref_table {
	struct ref_route r[SPECS_MAX];
	uint32_t n;
};

/* The image of every route in two listener groups (routes n.. are group 1's), or NULL. */
static const struct routes_image *grouped;
static uint32_t grouped_n;

/* Backends and their stats ids, distinct per route and per position. */
static struct addr backends[SPECS_MAX][MAX_BACKENDS_PER_ROUTE];
static uint32_t backend_ids[SPECS_MAX][MAX_BACKENDS_PER_ROUTE];

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool
name_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * The reference reading of a pattern (routes.h and the README): "*" is
 * the default; else one trailing dot is dropped, at most ROUTES_KEY_MAX
 * bytes remain, "*." in front makes a wildcard keyed by ".suffix", and the
 * name is labels of 1..63 letters, digits, '-' or '_'. Returns the key
 * length or -1.
 */
static int
ref_pattern(const char *p, char *key, enum route_kind *kind)
{
	size_t len = strlen(p), start = 0, i, label = 0;

	if (strcmp(p, "*") == 0) {
		*kind = ROUTE_DEFAULT;
		key[0] = '\0';
		return 0;
	}
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > ROUTES_KEY_MAX)
		return -1;
	*kind = ROUTE_EXACT;
	if (len >= 2 && p[0] == '*' && p[1] == '.') {
		*kind = ROUTE_WILDCARD;
		start = 2;
	}
	if (start == len)
		return -1;
	for (i = start; i < len; i++) {
		if (p[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!name_byte((uint8_t)p[i]) || ++label > 63) {
			return -1;
		}
	}
	if (label == 0)
		return -1;
	if (start == 2)
		start = 1;	/* the key keeps the dot */
	for (i = start; i < len; i++)
		key[i - start] = (char)lower((uint8_t)p[i]);
	key[len - start] = '\0';
	return (int)(len - start);
}

/* Index of the route with this kind and key, or ROUTES_NONE. */
static uint32_t
ref_find(const struct ref_table *t, enum route_kind kind, const uint8_t *key, size_t len)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		if (t->r[i].kind == kind && t->r[i].key_len == len &&
		    memcmp(t->r[i].key, key, len) == 0)
			return i;
	return ROUTES_NONE;
}

/*
 * The reference lookup: lower-case, one trailing dot off; a name that is
 * empty, too long or has an empty label goes to the default; else the
 * exact key, then every ".suffix" from the longest, then the default.
 */
static uint32_t
ref_lookup(const struct ref_table *t, const uint8_t *name, size_t len)
{
	uint8_t low[LOOKUP_MAX];
	uint32_t hit;
	size_t i;

	if (name != NULL && len > 0 && name[len - 1] == '.')
		len--;
	if (name == NULL || len == 0 || len > ROUTES_KEY_MAX)
		return ref_find(t, ROUTE_DEFAULT, (const uint8_t *)"", 0);
	for (i = 0; i < len; i++) {
		low[i] = lower(name[i]);
		if (low[i] == '.' && (i == 0 || i == len - 1 || name[i + 1] == '.'))
			return ref_find(t, ROUTE_DEFAULT, (const uint8_t *)"", 0);
	}
	hit = ref_find(t, ROUTE_EXACT, low, len);
	for (i = 1; hit == ROUTES_NONE && i < len; i++)
		if (low[i] == '.')
			hit = ref_find(t, ROUTE_WILDCARD, low + i, len - i);
	return hit != ROUTES_NONE ? hit : ref_find(t, ROUTE_DEFAULT, (const uint8_t *)"", 0);
}

/* The next line of the input (without '\n'); false at the end. */
static bool
next_line(const uint8_t **at, const uint8_t *end, const uint8_t **line, size_t *len)
{
	const uint8_t *nl;

	if (*at >= end)
		return false;
	nl = memchr(*at, '\n', (size_t)(end - *at));
	*line = *at;
	*len = (size_t)((nl != NULL ? nl : end) - *at);
	*at = nl != NULL ? nl + 1 : end;
	return true;
}

/* "PATTERN" or "PATTERN COUNT" into r; the pattern stops at a NUL as a C string would. */
static void
parse_route_line(const uint8_t *line, size_t len, uint32_t index, struct ref_route *r)
{
	const uint8_t *sp = len > 0 ? memrchr(line, ' ', len) : NULL;
	size_t plen = len, i;
	uint32_t count = 1 + index % 3;

	if (sp != NULL && sp + 1 < line + len) {
		plen = (size_t)(sp - line);
		count = 0;
		for (i = plen + 1; i < len && line[i] >= '0' && line[i] <= '9'; i++)
			if (count < COUNT_MAX)
				count = count * 10 + (uint32_t)(line[i] - '0');
		if (i < len) {		/* not a count: the whole line is the pattern */
			plen = len;
			count = 1 + index % 3;
		}
	}
	if (plen > PATTERN_MAX)
		plen = PATTERN_MAX;
	memcpy(r->pattern, line, plen);
	r->pattern[plen] = '\0';
	r->count = count;
}

static void
fill_spec(struct route_spec *s, const struct ref_route *r, uint32_t slot, uint32_t count)
{
	memset(s, 0, sizeof(*s));
	s->pattern = r->pattern;
	s->backends = backends[slot];
	s->backend_count = count;
	s->stats_id = slot * 5 + 1;
	s->backend_stats_ids = slot % 2 == 0 ? backend_ids[slot] : NULL;
}

/* Builds into a block of exactly routes_image_size() bytes while claiming more. */
static void *
build(const struct route_spec *specs, uint32_t n, const struct routes_settings *st,
    uint32_t seed, int *rc, size_t *size)
{
	void *img;

	*size = routes_image_size(specs, n, NULL);
	FUZZ_CHECK(*size % 8 == 0 && *size >= sizeof(struct routes_image));
	img = malloc(*size);
	FUZZ_CHECK(img != NULL);
	memset(img, 0xa5, *size);
	*rc = routes_image_build(img, *size + 4096, specs, n, NULL, st, 7, seed);
	return img;
}

/* specs[0..n) in group 0 and again in group 1 of two: the image, or NULL (refused). */
static void *
build_grouped(const struct route_spec *specs, uint32_t n, uint32_t seed)
{
	static struct route_spec two[2 * SPECS_MAX];
	struct routes_access access = { .group_count = 2 };
	size_t size;
	void *img;

	for (uint32_t i = 0; i < 2 * n; i++) {
		two[i] = specs[i % n];
		two[i].group = i / n;
	}
	size = routes_image_size(two, 2 * n, &access);
	img = malloc(size);
	FUZZ_CHECK(img != NULL);
	FUZZ_CHECK(routes_image_build(img, size, two, 2 * n, &access, NULL, 7, seed) == 0);
	FUZZ_CHECK(((const struct routes_image *)img)->group_count == 2);
	return img;
}

/* The image holds what the reference put in. */
static void
check_image(const struct routes_image *img, size_t size, const struct ref_table *t,
    const struct route_spec *specs, const struct routes_settings *st, uint32_t seed)
{
	uint32_t i, k, total = 0, hashed = 0, def = ROUTES_NONE;

	FUZZ_CHECK(img->magic == ROUTES_MAGIC && img->version == ROUTES_VERSION);
	FUZZ_CHECK(img->size == size && img->generation == 7 && img->seed == seed);
	FUZZ_CHECK(img->route_count == t->n);
	FUZZ_CHECK(memcmp(&img->settings, st, sizeof(*st)) == 0);
	FUZZ_CHECK((img->bucket_count & (img->bucket_count - 1)) == 0);
	for (i = 0; i < t->n; i++) {
		const struct routes_route *r = routes_at(img, i);
		const struct routes_backend *b = routes_backends(img, r);

		FUZZ_CHECK(r->id == i && r->kind == t->r[i].kind);
		FUZZ_CHECK(r->key_len == t->r[i].key_len);
		FUZZ_CHECK(r->key_off >= img->strings_off && r->key_off + r->key_len <= size);
		FUZZ_CHECK(memcmp((const char *)img + r->key_off, t->r[i].key, r->key_len) == 0);
		FUZZ_CHECK(r->stats_id == specs[i].stats_id);
		FUZZ_CHECK(r->backend_count == specs[i].backend_count);
		FUZZ_CHECK(r->backend_first == total);
		for (k = 0; k < r->backend_count; k++) {
			FUZZ_CHECK(memcmp(&b[k].addr, &specs[i].backends[k], sizeof(b[k].addr)) == 0);
			FUZZ_CHECK(b[k].stats_id == (specs[i].backend_stats_ids != NULL ?
			    specs[i].backend_stats_ids[k] : 0));
		}
		total += r->backend_count;
		if (t->r[i].kind == ROUTE_DEFAULT)
			def = i;
		else
			hashed++;
	}
	FUZZ_CHECK(img->backend_count == total && img->default_route == def);
	FUZZ_CHECK(img->bucket_count >= 8 && img->bucket_count >= 2 * hashed);
	FUZZ_CHECK((uint64_t)img->backends_off + (uint64_t)total *
	    sizeof(struct routes_backend) <= img->buckets_off);
	FUZZ_CHECK(img->buckets_off + img->bucket_count * sizeof(uint32_t) <= size);
}

/* One name, in a block of its own exact size, against both images and the reference. */
static void
check_lookup(const struct routes_image *a, const struct routes_image *b,
    const struct ref_table *t, const uint8_t *name, size_t len)
{
	uint8_t *copy = name != NULL ? fuzz_dup(name, len) : NULL;
	const struct routes_route *ra, *rb;
	uint32_t want = ref_lookup(t, name, len);

	ra = routes_lookup(a, copy, len);
	rb = routes_lookup(b, copy, len);
	if (grouped != NULL) {
		const struct routes_route *g0 = routes_lookup_group(grouped, 0, copy, len, NULL, 0);
		const struct routes_route *g1 = routes_lookup_group(grouped, 1, copy, len, NULL, 0);

		FUZZ_CHECK(want == ROUTES_NONE ? g0 == NULL && g1 == NULL :
		    g0 != NULL && g1 != NULL && g0->id == want && g1->id == want + grouped_n);
	}
	free(copy);
	if (want == ROUTES_NONE) {
		FUZZ_CHECK(ra == NULL && rb == NULL);
		return;
	}
	FUZZ_CHECK(ra == routes_at(a, want) && rb == routes_at(b, want));
	FUZZ_CHECK(ra->id == want && rb->id == want);
}

/* Names that reach each route: as written, upper case, with a dot, below it, and its bare suffix. */
static void
check_derived(const struct routes_image *a, const struct routes_image *b,
    const struct ref_table *t)
{
	static const char *const prefixes[] = { "x.", "A.b-c.", "_.", "" };
	uint8_t name[LOOKUP_MAX];
	size_t len, p, i;
	uint32_t j;

	for (j = 0; j < t->n; j++) {
		const struct ref_route *r = &t->r[j];

		for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
			len = strlen(prefixes[p]);
			memcpy(name, prefixes[p], len);
			/* The key of a wildcard starts with its dot: skip it after a prefix. */
			if (r->kind == ROUTE_WILDCARD && len > 0) {
				memcpy(name + len, r->key + 1, r->key_len - 1);
				len += r->key_len - 1;
			} else {
				memcpy(name + len, r->key, r->key_len);
				len += r->key_len;
			}
			check_lookup(a, b, t, name, len);
			for (i = 0; i < len; i++)
				name[i] = name[i] >= 'a' && name[i] <= 'z' ?
				    (uint8_t)(name[i] - ('a' - 'A')) : name[i];
			name[len] = '.';
			check_lookup(a, b, t, name, len + 1);
			name[len + 1] = '.';
			check_lookup(a, b, t, name, len + 2);	/* two dots: an empty label */
		}
		check_lookup(a, b, t, (const uint8_t *)r->pattern, strlen(r->pattern));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_table all, uniq;
	struct route_spec specs[SPECS_MAX + 1];
	struct routes_settings st;
	const uint8_t *at = data, *end = data + size, *line;
	char key[ROUTES_KEY_MAX + 2], bad[PATTERN_MAX + 1] = "";
	const char *why;
	enum route_kind kind, ref_kind;
	void *img, *again, *copy, *other;
	size_t len, img_size, size2, names = 0;
	uint32_t i, seed = 0x811c9dc5u, count;
	bool want_einval = false;
	int n, ref_n, rc, rc2;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x01000193u;
	memset(&st, 0, sizeof(st));
	st.hello_ms = seed;
	st.relay = seed >> 16;

	/* The routes: keep the valid patterns, checking the key against the reference. */
	all.n = 0;
	while (all.n < SPECS_MAX && next_line(&at, end, &line, &len) && len > 0) {
		struct ref_route *r = &all.r[all.n];

		parse_route_line(line, len, all.n, r);
		n = routes_pattern_key(r->pattern, key, &kind, &why);
		ref_n = ref_pattern(r->pattern, r->key, &ref_kind);
		FUZZ_CHECK((n < 0) == (ref_n < 0));
		if (n < 0) {
			FUZZ_CHECK(n == -EINVAL && why != NULL && why[0] != '\0');
			if (bad[0] == '\0')
				memcpy(bad, r->pattern, sizeof(bad));
			continue;
		}
		FUZZ_CHECK(n == ref_n && kind == ref_kind && strcmp(key, r->key) == 0);
		FUZZ_CHECK(why == NULL);
		r->key_len = (size_t)n;
		r->kind = kind;
		all.n++;
	}
	for (i = 0; i < SPECS_MAX; i++)
		for (count = 0; count < 4; count++) {
			backends[i][count].u.in.sin_family = AF_INET;
			backends[i][count].u.in.sin_addr.s_addr = htonl(0x0a000000u | i << 16 | count);
			backends[i][count].u.in.sin_port = htons((uint16_t)(1000 + i));
			backends[i][count].len = sizeof(struct sockaddr_in);
			backend_ids[i][count] = i * 1000 + count;
		}

	/* As written: refused iff a count is out of range or two keys collide. */
	for (i = 0; i < all.n; i++) {
		fill_spec(&specs[i], &all.r[i], i, all.r[i].count);
		if (all.r[i].count == 0 || all.r[i].count > MAX_BACKENDS_PER_ROUTE)
			want_einval = true;
		if (ref_find(&all, all.r[i].kind, (const uint8_t *)all.r[i].key,
		    all.r[i].key_len) != i)
			want_einval = true;
	}
	for (i = 0; i < all.n; i++)
		for (count = 4; count < all.r[i].count && count < MAX_BACKENDS_PER_ROUTE; count++) {
			backends[i][count] = backends[i][0];
			backends[i][count].u.in.sin_addr.s_addr =
			    htonl(0x0b000000u | i << 16 | count);
			backend_ids[i][count] = i * 1000 + count;
		}
	img = build(specs, all.n, &st, seed, &rc, &img_size);
	FUZZ_CHECK(rc == (want_einval ? -EINVAL : 0));
	free(img);
	if (bad[0] != '\0' && all.n < SPECS_MAX) {
		struct ref_route *r = &all.r[all.n];

		memcpy(r->pattern, bad, sizeof(bad));
		fill_spec(&specs[all.n], r, all.n, 1);
		img = build(specs, all.n + 1, &st, seed, &rc, &img_size);
		FUZZ_CHECK(rc == -EINVAL);
		free(img);
	}

	/* The table the lookups use: first of each key, counts brought into range. */
	uniq.n = 0;
	for (i = 0; i < all.n; i++) {
		if (ref_find(&uniq, all.r[i].kind, (const uint8_t *)all.r[i].key,
		    all.r[i].key_len) != ROUTES_NONE)
			continue;
		uniq.r[uniq.n] = all.r[i];
		count = all.r[i].count;
		count = count == 0 ? 1 : count > MAX_BACKENDS_PER_ROUTE ?
		    MAX_BACKENDS_PER_ROUTE : count;
		fill_spec(&specs[uniq.n], &uniq.r[uniq.n], i, count);
		uniq.n++;
	}
	img = build(specs, uniq.n, &st, seed, &rc, &img_size);
	FUZZ_CHECK(rc == 0);
	check_image(img, img_size, &uniq, specs, &st, seed);

	/* Too small by one alignment unit: refused. */
	again = malloc(img_size - 8);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(routes_image_build(again, img_size - 8, specs, uniq.n, NULL, &st, 7, seed) ==
	    -ENOSPC);
	free(again);
	/* Built again over other garbage: the same bytes (images compare bytewise). */
	again = build(specs, uniq.n, &st, seed, &rc2, &size2);
	FUZZ_CHECK(rc2 == 0 && size2 == img_size && memcmp(img, again, img_size) == 0);
	free(again);

	/* Position independence: answers come from a copy, the original freed. */
	copy = malloc(img_size);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, img, img_size);
	free(img);
	other = build(specs, uniq.n, &st, ~seed, &rc, &size2);
	FUZZ_CHECK(rc == 0 && size2 == img_size);
	check_image(other, size2, &uniq, specs, &st, ~seed);
	grouped = uniq.n > 0 ? build_grouped(specs, uniq.n, seed) : NULL;
	grouped_n = uniq.n;

	check_lookup(copy, other, &uniq, NULL, 0);
	check_lookup(copy, other, &uniq, (const uint8_t *)"", 0);
	check_lookup(copy, other, &uniq, (const uint8_t *)".", 1);
	while (names < NAMES_MAX && next_line(&at, end, &line, &len)) {
		check_lookup(copy, other, &uniq, line, len);
		names++;
	}
	check_derived(copy, other, &uniq);
	free(copy);
	free(other);
	free((void *)(uintptr_t)grouped);
	grouped = NULL;
	return 0;
}
