/* lat.h -- latency samples in nanoseconds and their exact percentiles. */
#ifndef BENCH_LAT_H
#define BENCH_LAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Samples kept per set: 2^23 (64 MiB) is far above what a 20 s run at
 * 200,000 round trips/s makes; past it samples are counted, not kept.
 */
#define LAT_MAX_SAMPLES (1u << 23)

struct lat {
	uint64_t *v;		/* nanoseconds */
	size_t n, cap;
	uint64_t dropped;	/* samples past LAT_MAX_SAMPLES or out of memory */
};

void lat_add(struct lat *l, uint64_t ns);
/* Appends src's samples to dst (src unchanged). */
void lat_merge(struct lat *dst, const struct lat *src);
void lat_sort(struct lat *l);
/* Nearest-rank percentile (0 < pct <= 100) of a sorted set; 0 if empty. */
uint64_t lat_percentile(const struct lat *l, double pct);
void lat_free(struct lat *l);

#endif
