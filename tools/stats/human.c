/* human.c -- numbers as operators read them. */
#include <stdio.h>
#include <time.h>

#include "human.h"
#include "stats_tool.h"

#define S_PER_MIN	60u
#define S_PER_HOUR	3600u
#define S_PER_DAY	86400u
#define RATE_KILO	1000.0		/* events: decimal, unlike bytes */

char *
human_bytes(double bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	const size_t last = sizeof(units) / sizeof(units[0]) - 1;
	size_t u = 0;

	if (bytes < HUMAN_UNIT) {
		snprintf(buf, size, "%.0f B", bytes);
		return buf;
	}
	bytes /= HUMAN_UNIT;
	while (bytes >= HUMAN_UNIT && u < last) {
		bytes /= HUMAN_UNIT;
		u++;
	}
	snprintf(buf, size, "%.1f %s", bytes, units[u]);
	return buf;
}

/* Whole seconds as the two largest units: "42s", "5m 12s", "3h 4m", "3d 4h". */
static char *
human_seconds(uint64_t s, char *buf, size_t size)
{
	if (s < S_PER_MIN)
		snprintf(buf, size, "%us", (unsigned)s);
	else if (s < S_PER_HOUR)
		snprintf(buf, size, "%um %us", (unsigned)(s / S_PER_MIN), (unsigned)(s % S_PER_MIN));
	else if (s < S_PER_DAY)
		snprintf(buf, size, "%uh %um", (unsigned)(s / S_PER_HOUR),
		    (unsigned)(s % S_PER_HOUR / S_PER_MIN));
	else
		snprintf(buf, size, "%llud %uh", (unsigned long long)(s / S_PER_DAY),
		    (unsigned)(s % S_PER_DAY / S_PER_HOUR));
	return buf;
}

char *
human_us(double us, char *buf, size_t size)
{
	if (us < US_PER_MS)
		snprintf(buf, size, "%.0f us", us);
	else if (us < US_PER_S)
		snprintf(buf, size, "%.1f ms", us / US_PER_MS);
	else if (us < (double)S_PER_MIN * US_PER_S)
		snprintf(buf, size, "%.2f s", us / US_PER_S);
	else
		human_seconds((uint64_t)(us / US_PER_S), buf, size);
	return buf;
}

char *
human_age_ms(uint64_t ms, char *buf, size_t size)
{
	return human_seconds(ms / MS_PER_S, buf, size);
}

char *
human_time_ms(uint64_t unix_ms, char *buf, size_t size)
{
	time_t t = (time_t)(unix_ms / MS_PER_S);
	struct tm tm;

	if (unix_ms == 0) {
		snprintf(buf, size, "never");
		return buf;
	}
	if (localtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%llu", (unsigned long long)t);
	return buf;
}

char *
human_rate(double per_s, char *buf, size_t size)
{
	if (per_s < RATE_KILO)
		snprintf(buf, size, "%.1f", per_s);
	else if (per_s < RATE_KILO * RATE_KILO)
		snprintf(buf, size, "%.1fk", per_s / RATE_KILO);
	else
		snprintf(buf, size, "%.1fM", per_s / (RATE_KILO * RATE_KILO));
	return buf;
}
