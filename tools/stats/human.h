/*
 * human.h -- numbers as operators read them: "1.5 GiB", "3d 4h", "850 us",
 * "2024-05-01 12:00:03 UTC". Each writes into buf (HUMAN_LEN is enough)
 * and returns buf.
 */
#ifndef PASSTHROUGH_HUMAN_H
#define PASSTHROUGH_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/* "512 B", "1.5 KiB", ... "2.0 EiB". */
char *human_bytes(double bytes, char *buf, size_t size);

/* A duration given in microseconds: "850 us", "3.2 ms", "1.25 s", "5m 12s", "3d 4h". */
char *human_us(double us, char *buf, size_t size);

/* An uptime or age given in milliseconds, at one-second resolution: "42s", "5m 12s". */
char *human_age_ms(uint64_t ms, char *buf, size_t size);

/* Unix time in milliseconds as local time, "2024-05-01 12:00:03 CEST"; "never" for 0. */
char *human_time_ms(uint64_t unix_ms, char *buf, size_t size);

/* A per-second rate of events: "0", "12.5", "1.2k", "3.4M". */
char *human_rate(double per_s, char *buf, size_t size);

#endif
