/* args.h -- command-line numbers for the benchmark tools: sizes, seconds, counts. */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

#include <stdint.h>

/* "1073741824", "256M", "1G", "64k" (binary multiples). Returns 0 or -1. */
int args_size(const char *s, uint64_t *out);
/* "5", "0.5" seconds, > 0. Returns 0 or -1. */
int args_seconds(const char *s, double *out);
/* A decimal count in [min, max]. Returns 0 or -1. */
int args_count(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
