/*
 * routes_bench.c -- nanoseconds per routes_lookup() for tables of 10, 1,000
 * and 100,000 routes: an exact hit, a wildcard hit two labels deep, and a
 * miss that falls through every probe to the default. `make bench-routes`.
 *
 * Half the routes are exact names, half "*.suffix" wildcards, plus "*". Each
 * case cycles through up to BENCH_NAMES distinct names spread over the table
 * in a scrambled order, so big tables pay their cache misses as a worker
 * would with many clients.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "routes.h"

#define BENCH_NAME_MAX	64		/* generated names are far shorter */
#define BENCH_NAMES	65536u		/* distinct names per case (power of two) */
#define BENCH_SECONDS	0.5		/* run each case at least this long */
#define NS_PER_SEC	1000000000.0
/* Knuth's multiplicative hash constant: scrambles the name order. */
#define BENCH_SCRAMBLE	2654435761u

enum bench_case { CASE_EXACT, CASE_WILDCARD, CASE_MISS, CASE_COUNT };

static const char *const case_title[CASE_COUNT] = {
	"exact hit", "wildcard d2", "miss->default",
};

struct bench_name {
	uint8_t bytes[BENCH_NAME_MAX];
	size_t len;
};

/* Route i: even i exact, odd i wildcard. */
static void
bench_pattern(char *buf, uint32_t i)
{
	if (i % 2 == 0)
		snprintf(buf, BENCH_NAME_MAX, "host%u.example.com", i);
	else
		snprintf(buf, BENCH_NAME_MAX, "*.w%u.example.net", i);
}

/* A name of this case for route pair j (routes 2j and 2j + 1). */
static void
bench_name(struct bench_name *n, enum bench_case c, uint32_t j)
{
	int len = 0;

	switch (c) {
	case CASE_EXACT:
		len = snprintf((char *)n->bytes, BENCH_NAME_MAX, "host%u.example.com", 2 * j);
		break;
	case CASE_WILDCARD:
		len = snprintf((char *)n->bytes, BENCH_NAME_MAX, "a.b.w%u.example.net", 2 * j + 1);
		break;
	case CASE_MISS:
		len = snprintf((char *)n->bytes, BENCH_NAME_MAX, "nope%u.example.net", j);
		break;
	case CASE_COUNT:
		break;
	}
	n->len = (size_t)len;
}

static struct routes_image *
bench_table(uint32_t routes, const struct addr *backend)
{
	char *arena = malloc((size_t)routes * BENCH_NAME_MAX);
	struct route_spec *specs = calloc(routes + 1, sizeof(*specs));
	struct routes_image *img = NULL;
	size_t size;
	uint32_t i;

	if (arena == NULL || specs == NULL)
		goto bad;
	for (i = 0; i <= routes; i++) {
		specs[i].pattern = arena + (size_t)i * BENCH_NAME_MAX;
		specs[i].backends = backend;
		specs[i].backend_count = 1;
		if (i < routes)
			bench_pattern(arena + (size_t)i * BENCH_NAME_MAX, i);
	}
	specs[routes].pattern = "*";
	size = routes_image_size(specs, routes + 1, NULL);
	img = malloc(size);
	if (img != NULL &&
	    routes_image_build(img, size, specs, routes + 1, NULL, NULL, 1, 0x5eed) != 0) {
		free(img);
		img = NULL;
	}
bad:
	free(specs);
	free(arena);
	return img;
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_SEC;
}

/*
 * Runs lookups over names until BENCH_SECONDS passed; returns ns per
 * lookup, or a negative number if a lookup gave the wrong route kind.
 */
static double
bench_run(const struct routes_image *img, const struct bench_name *names,
    uint32_t count, enum bench_case c)
{
	static const uint8_t want[CASE_COUNT] = {
		ROUTE_EXACT, ROUTE_WILDCARD, ROUTE_DEFAULT,
	};
	const struct routes_route *r;
	double start = bench_now(), elapsed;
	uint64_t done = 0;
	uint32_t i;

	do {
		for (i = 0; i < count; i++) {
			r = routes_lookup(img, names[i].bytes, names[i].len);
			if (r == NULL || r->kind != want[c])
				return -1;
		}
		done += count;
		elapsed = bench_now() - start;
	} while (elapsed < BENCH_SECONDS);
	return elapsed * NS_PER_SEC / (double)done;
}

/* One table row; returns 0 or -1 when something went wrong. */
static int
bench_table_row(uint32_t routes, const struct addr *backend,
    struct bench_name *names)
{
	struct routes_image *img = bench_table(routes, backend);
	uint32_t pairs = routes / 2, count = pairs < BENCH_NAMES ? pairs : BENCH_NAMES;
	uint32_t i;
	int c;

	if (img == NULL) {
		fprintf(stderr, "routes_bench: building %u routes failed\n", routes);
		return -1;
	}
	printf("%8u", routes);
	for (c = 0; c < CASE_COUNT; c++) {
		double ns;

		for (i = 0; i < count; i++)
			bench_name(&names[i], (enum bench_case)c,
			    (uint32_t)(i * BENCH_SCRAMBLE) % pairs);
		ns = bench_run(img, names, count, (enum bench_case)c);
		if (ns < 0) {
			fprintf(stderr, "\nroutes_bench: %s misrouted\n", case_title[c]);
			free(img);
			return -1;
		}
		printf("  %14.1f", ns);
	}
	printf("\n");
	free(img);
	return 0;
}

int
main(void)
{
	static const uint32_t sizes[] = { 10, 1000, 100000 };
	struct bench_name *names = calloc(BENCH_NAMES, sizeof(*names));
	struct addr backend;
	const char *why;
	size_t s;
	int c, rc = 0;

	if (names == NULL || addr_parse(&backend, "192.0.2.1:443", 0, &why) != 0) {
		fprintf(stderr, "routes_bench: setup failed\n");
		return 1;
	}
	printf("ns per routes_lookup (up to %u distinct names per case)\n",
	    BENCH_NAMES);
	printf("%8s", "routes");
	for (c = 0; c < CASE_COUNT; c++)
		printf("  %14s", case_title[c]);
	printf("\n");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]) && rc == 0; s++)
		rc = bench_table_row(sizes[s], &backend, names);
	free(names);
	return rc == 0 ? 0 : 1;
}
