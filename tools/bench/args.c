/* args.c -- command-line numbers for the benchmark tools: sizes, seconds, counts. */
#include <errno.h>
#include <stdlib.h>

#include "args.h"

#define KIB_SHIFT 10
#define MIB_SHIFT 20
#define GIB_SHIFT 30
#define TIB_SHIFT 40

int
args_size(const char *s, uint64_t *out)
{
	unsigned shift = 0;
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = KIB_SHIFT; end++; break;
	case 'm': case 'M': shift = MIB_SHIFT; end++; break;
	case 'g': case 'G': shift = GIB_SHIFT; end++; break;
	case 't': case 'T': shift = TIB_SHIFT; end++; break;
	default: return -1;
	}
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int
args_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0))
		return -1;
	*out = v;
	return 0;
}

int
args_count(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
