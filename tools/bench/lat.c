/* lat.c -- latency samples in nanoseconds and their exact percentiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lat.h"

/* First allocation: 64 Ki samples (512 KiB); doubled as needed. */
#define LAT_INITIAL_CAP (1u << 16)

static int
lat_reserve(struct lat *l, size_t n)
{
	size_t cap = l->cap ? l->cap : LAT_INITIAL_CAP;
	uint64_t *v;

	if (n <= l->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (cap > LAT_MAX_SAMPLES)
		cap = LAT_MAX_SAMPLES;
	if (cap > l->cap) {
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	return cap < n ? -1 : 0;
}

void
lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap && lat_reserve(l, l->n + 1) != 0) {
		l->dropped++;
		return;
	}
	l->v[l->n++] = ns;
}

void
lat_merge(struct lat *dst, const struct lat *src)
{
	size_t n = src->n;

	dst->dropped += src->dropped;
	if (lat_reserve(dst, dst->n + n) != 0) {
		n = dst->cap - dst->n;
		dst->dropped += src->n - n;
	}
	if (n > 0)
		memcpy(dst->v + dst->n, src->v, n * sizeof(*src->v));
	dst->n += n;
}

static int
lat_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void
lat_sort(struct lat *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), lat_cmp);
}

uint64_t
lat_percentile(const struct lat *l, double pct)
{
	size_t rank;

	if (l->n == 0)
		return 0;
	rank = (size_t)ceil(pct / 100.0 * (double)l->n);
	if (rank < 1)
		rank = 1;
	if (rank > l->n)
		rank = l->n;
	return l->v[rank - 1];
}

void
lat_free(struct lat *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
