/*
 * acl_bench.c -- what address rules cost: milliseconds to size and build a
 * scope's image (acl_size() + acl_build()) and nanoseconds per acl_allows()
 * for 100, 10,000 and 100,000 random rules, against a linear scan of the
 * same rules, to show the trie's O(prefix length) beside the scan's O(n).
 * `make bench-acl`.
 *
 * Rules: half IPv4, half IPv6 (inside 2000::/3, as real lists are), half
 * allow, half deny, prefix lengths spread evenly over /8../32 and
 * /16../128. Clients: half inside a random rule (its prefix, random host
 * bits), half anywhere; BENCH_CLIENTS distinct ones, in a random order, so
 * big scopes pay their cache misses as a worker would with many clients.
 * The trie and the scan must give the same verdict for every client the
 * scan checked, or the benchmark fails.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "addr.h"
#include "clock.h"

#define BENCH_CHECKS		1000000u	/* acl_allows() calls timed per scope */
#define BENCH_CLIENTS		65536u		/* distinct clients (power of two) */
#define BENCH_BUILDS		5u		/* builds timed per scope; the median is kept */
/* The scan of 100,000 rules takes ~50 µs a check: bound it by time. */
#define BENCH_SCAN_SECONDS	1.0
#define BENCH_SCAN_MIN		1000u		/* checks the scan makes whatever the time */
#define BENCH_SCAN_CLOCK_EVERY	256u		/* checks between clock reads */
#define BENCH_SEED		0x5eed5eedull	/* fixed: every run draws the same rules */
#define NS_PER_SEC		1e9
#define NS_PER_MS		1e6
#define BYTES_PER_KIB		1024.0
/* Prefix lengths drawn: /8../32 for IPv4, /16../128 for IPv6. */
#define BENCH_V4_MIN		8u
#define BENCH_V6_MIN		16u
/* 2000::/3, global unicast: the first byte's top three bits are 001. */
#define BENCH_V6_TOP_MASK	0x1fu
#define BENCH_V6_TOP_BITS	0x20u

/* A rule as the scan keeps it: the masked prefix and its mask, two words. */
struct scan_rule {
	uint64_t hi, lo;
	uint64_t mhi, mlo;
	uint8_t len;
	uint8_t verdict;	/* ACL_ALLOW or ACL_DENY */
};

/* The same rules, per family, for the linear scan. */
struct scan {
	struct scan_rule *rules[ACL_FAMILIES];
	uint32_t count[ACL_FAMILIES];
	uint8_t unmatched;
};

/* Everything one scope size needs. */
struct bench_scope {
	struct acl_cidr *allow, *deny;
	uint32_t allow_count, deny_count;
	struct scan scan;
	struct addr *clients;	/* BENCH_CLIENTS */
};

/* splitmix64: small, fast, good enough to draw rules and clients. */
static uint64_t
bench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
bench_now(void)
{
	return (double)clock_read_ns(CLOCK_MONOTONIC) / NS_PER_SEC;
}

static uint64_t
bench_load64(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Zeroes the bits of the 16-byte address a past bit number len. */
static void
bench_mask_bytes(uint8_t a[16], unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		if (len >= 8 * (i + 1))
			continue;
		a[i] &= len <= 8 * i ? 0 : (uint8_t)(0xffu << (8 * (i + 1) - len));
	}
}

/* Random address bytes of the family: IPv4 in a[0..3], IPv6 in 2000::/3. */
static void
bench_random_bytes(uint8_t a[16], bool v4, uint64_t *rng)
{
	uint64_t x = bench_rand(rng), y = bench_rand(rng);

	memcpy(a, &x, 8);
	memcpy(a + 8, &y, 8);
	if (v4) {
		memset(a + 4, 0, 12);
		return;
	}
	a[0] = (uint8_t)((a[0] & BENCH_V6_TOP_MASK) | BENCH_V6_TOP_BITS);
}

/* One random rule into c: family, prefix length, network address. */
static void
bench_rule(struct acl_cidr *c, uint64_t *rng)
{
	bool v4 = bench_rand(rng) & 1;
	unsigned min = v4 ? BENCH_V4_MIN : BENCH_V6_MIN, max = v4 ? 32 : 128;

	memset(c, 0, sizeof(*c));
	c->family = v4 ? AF_INET : AF_INET6;
	c->prefix = (uint8_t)(min + bench_rand(rng) % (max - min + 1));
	bench_random_bytes(c->addr, v4, rng);
	bench_mask_bytes(c->addr, c->prefix);
}

/* The rule as the scan keeps it. */
static void
bench_scan_rule(struct scan_rule *r, const struct acl_cidr *c, uint8_t verdict)
{
	bool v4 = c->family == AF_INET;
	unsigned len = c->prefix;

	r->hi = v4 ? bench_load64(c->addr, 4) << 32 : bench_load64(c->addr, 8);
	r->lo = v4 ? 0 : bench_load64(c->addr + 8, 8);
	/* The mask of the first len bits of a 128-bit key (IPv4 on top). */
	r->mhi = len == 0 ? 0 : len >= 64 ? UINT64_MAX : UINT64_MAX << (64 - len);
	r->mlo = len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
	r->len = (uint8_t)len;
	r->verdict = verdict;
}

/* A client inside rule c (random bits past its prefix), or anywhere. */
static void
bench_client(struct addr *a, const struct acl_cidr *c, bool inside, uint64_t *rng)
{
	bool v4 = c->family == AF_INET;
	uint8_t bytes[16], host[16], keep[16];

	bench_random_bytes(host, v4, rng);
	memcpy(bytes, host, 16);
	if (inside) {
		memset(keep, 0xff, sizeof(keep));
		bench_mask_bytes(keep, c->prefix);
		for (unsigned i = 0; i < 16; i++)
			bytes[i] = (uint8_t)((c->addr[i] & keep[i]) | (host[i] & (uint8_t)~keep[i]));
	}
	memset(a, 0, sizeof(*a));
	if (v4) {
		a->u.in.sin_family = AF_INET;
		memcpy(&a->u.in.sin_addr.s_addr, bytes, 4);
		a->len = sizeof(a->u.in);
	} else {
		a->u.in6.sin6_family = AF_INET6;
		memcpy(a->u.in6.sin6_addr.s6_addr, bytes, 16);
		a->len = sizeof(a->u.in6);
	}
}

static void
bench_scope_free(struct bench_scope *s)
{
	free(s->allow);
	free(s->deny);
	free(s->scan.rules[ACL_V4]);
	free(s->scan.rules[ACL_V6]);
	free(s->clients);
	memset(s, 0, sizeof(*s));
}

/* Draws n rules (about half allow, half deny) and the clients. 0 or -1. */
static int
bench_scope_make(struct bench_scope *s, uint32_t n, uint64_t *rng)
{
	struct acl_cidr c;
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->allow = calloc(n, sizeof(*s->allow));
	s->deny = calloc(n, sizeof(*s->deny));
	s->scan.rules[ACL_V4] = calloc(n, sizeof(struct scan_rule));
	s->scan.rules[ACL_V6] = calloc(n, sizeof(struct scan_rule));
	s->clients = calloc(BENCH_CLIENTS, sizeof(*s->clients));
	if (s->allow == NULL || s->deny == NULL || s->scan.rules[ACL_V4] == NULL ||
	    s->scan.rules[ACL_V6] == NULL || s->clients == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		bool deny = bench_rand(rng) & 1;
		enum acl_family f;

		bench_rule(&c, rng);
		f = c.family == AF_INET ? ACL_V4 : ACL_V6;
		bench_scan_rule(&s->scan.rules[f][s->scan.count[f]++], &c,
		    deny ? ACL_DENY : ACL_ALLOW);
		if (deny)
			s->deny[s->deny_count++] = c;
		else
			s->allow[s->allow_count++] = c;
	}
	s->scan.unmatched = s->allow_count > 0 ? ACL_DENY : ACL_ALLOW;
	for (i = 0; i < BENCH_CLIENTS; i++) {
		bool allow_side = s->deny_count == 0 ||
		    (s->allow_count > 0 && (bench_rand(rng) & 1));
		const struct acl_cidr *r = allow_side ?
		    &s->allow[bench_rand(rng) % s->allow_count] :
		    &s->deny[bench_rand(rng) % s->deny_count];

		bench_client(&s->clients[i], r, bench_rand(rng) & 1, rng);
	}
	return 0;
}

/* The linear scan's verdict: the longest matching rule, deny on a tie. */
static bool
bench_scan_allows(const struct scan *scan, const struct addr *client)
{
	const struct scan_rule *r;
	enum acl_family f;
	uint64_t hi, lo;
	uint32_t i, n;
	int best = -1;
	uint8_t verdict = 0;

	if (client->u.sa.sa_family == AF_INET) {
		f = ACL_V4;
		hi = bench_load64((const uint8_t *)&client->u.in.sin_addr.s_addr, 4) << 32;
		lo = 0;
	} else {
		f = ACL_V6;
		hi = bench_load64(client->u.in6.sin6_addr.s6_addr, 8);
		lo = bench_load64(client->u.in6.sin6_addr.s6_addr + 8, 8);
	}
	r = scan->rules[f];
	n = scan->count[f];
	for (i = 0; i < n; i++) {
		if ((((hi ^ r[i].hi) & r[i].mhi) | ((lo ^ r[i].lo) & r[i].mlo)) != 0)
			continue;
		if (r[i].len > best) {
			best = r[i].len;
			verdict = r[i].verdict;
		} else if (r[i].len == best) {
			verdict |= r[i].verdict;
		}
	}
	if (best < 0)
		verdict = scan->unmatched;
	return (verdict & ACL_DENY) == 0;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Sizes and builds the scope's image BENCH_BUILDS times; *ms is the
 * median. Returns the last image (the caller frees it), or NULL.
 */
static struct acl *
bench_build(const struct bench_scope *s, double *ms, size_t *bytes)
{
	double t[BENCH_BUILDS], start;
	struct acl *img = NULL;
	unsigned k;

	for (k = 0; k < BENCH_BUILDS; k++) {
		free(img);
		start = bench_now();
		*bytes = acl_size(s->allow, s->allow_count, s->deny, s->deny_count);
		img = aligned_alloc(8, (*bytes + 7) & ~(size_t)7);
		if (img == NULL || acl_build(img, *bytes, s->allow, s->allow_count,
		    s->deny, s->deny_count) != 0) {
			free(img);
			return NULL;
		}
		t[k] = (bench_now() - start) * NS_PER_SEC / NS_PER_MS;
	}
	qsort(t, BENCH_BUILDS, sizeof(t[0]), bench_cmp_double);
	*ms = t[BENCH_BUILDS / 2];
	return img;
}

/* ns per acl_allows() over BENCH_CHECKS checks; *allowed counts admissions. */
static double
bench_trie(const struct acl *img, const struct addr *clients, uint64_t *allowed)
{
	double start = bench_now();
	uint64_t yes = 0;
	uint32_t i;

	for (i = 0; i < BENCH_CHECKS; i++)
		yes += acl_allows(img, &clients[i & (BENCH_CLIENTS - 1)]);
	*allowed = yes;
	return (bench_now() - start) * NS_PER_SEC / BENCH_CHECKS;
}

/*
 * ns per scan check, over up to BENCH_CHECKS checks or BENCH_SCAN_SECONDS;
 * verdicts[i & (BENCH_CLIENTS - 1)] gets each verdict, *done the count.
 */
static double
bench_linear(const struct scan *scan, const struct addr *clients,
    uint8_t *verdicts, uint32_t *done)
{
	double start = bench_now(), elapsed = 0;
	uint32_t i;

	for (i = 0; i < BENCH_CHECKS; i++) {
		if (i % BENCH_SCAN_CLOCK_EVERY == 0 && i >= BENCH_SCAN_MIN &&
		    (elapsed = bench_now() - start) >= BENCH_SCAN_SECONDS)
			break;
		verdicts[i & (BENCH_CLIENTS - 1)] =
		    bench_scan_allows(scan, &clients[i & (BENCH_CLIENTS - 1)]);
	}
	*done = i;
	return (bench_now() - start) * NS_PER_SEC / i;
}

/* Whether the trie agrees with the scan on the clients the scan checked. */
static bool
bench_agree(const struct acl *img, const struct bench_scope *s,
    const uint8_t *verdicts, uint32_t done)
{
	char text[INET6_ADDRSTRLEN];
	uint32_t i, n = done < BENCH_CLIENTS ? done : BENCH_CLIENTS;
	const struct addr *a;

	for (i = 0; i < n; i++) {
		a = &s->clients[i];
		if (acl_allows(img, a) == (verdicts[i] != 0))
			continue;
		inet_ntop(a->u.sa.sa_family, a->u.sa.sa_family == AF_INET ?
		    (const void *)&a->u.in.sin_addr : (const void *)&a->u.in6.sin6_addr,
		    text, sizeof(text));
		fprintf(stderr, "\nacl_bench: %s: the trie says %s, the scan %s\n", text,
		    verdicts[i] ? "deny" : "allow", verdicts[i] ? "allow" : "deny");
		return false;
	}
	return true;
}

/* One table row; returns 0 or -1 when something went wrong. */
static int
bench_row(uint32_t rules, uint64_t *rng, uint8_t *verdicts)
{
	struct bench_scope s;
	struct acl *img = NULL;
	double build_ms, trie_ns, scan_ns;
	uint64_t allowed;
	uint32_t scanned;
	size_t bytes;
	int rc = -1;

	if (bench_scope_make(&s, rules, rng) != 0) {
		fprintf(stderr, "acl_bench: out of memory for %u rules\n", rules);
		goto bad;
	}
	img = bench_build(&s, &build_ms, &bytes);
	if (img == NULL) {
		fprintf(stderr, "acl_bench: building %u rules failed\n", rules);
		goto bad;
	}
	trie_ns = bench_trie(img, s.clients, &allowed);
	scan_ns = bench_linear(&s.scan, s.clients, verdicts, &scanned);
	if (!bench_agree(img, &s, verdicts, scanned))
		goto bad;
	printf("%8u %10.3f %10.0f %12.1f %12.1f %9u %9.1f %8.1f%%\n", rules, build_ms,
	    (double)bytes / BYTES_PER_KIB, trie_ns, scan_ns, scanned, scan_ns / trie_ns,
	    100.0 * (double)allowed / BENCH_CHECKS);
	rc = 0;
bad:
	free(img);
	bench_scope_free(&s);
	return rc;
}

int
main(void)
{
	static const uint32_t sizes[] = { 100, 10000, 100000 };
	uint8_t *verdicts = malloc(BENCH_CLIENTS);
	uint64_t rng = BENCH_SEED;
	size_t i;
	int rc = 0;

	if (verdicts == NULL) {
		fprintf(stderr, "acl_bench: out of memory\n");
		return 1;
	}
	printf("address rules: acl_size + acl_build (median of %u), then %u acl_allows()\n"
	    "of %u distinct random clients (half inside a rule) against a linear scan\n"
	    "of the same rules (up to %u checks or %.0f s); rules are half IPv4 /8../32,\n"
	    "half IPv6 /16../128, half allow, half deny\n\n", BENCH_BUILDS, BENCH_CHECKS,
	    BENCH_CLIENTS, BENCH_CHECKS, BENCH_SCAN_SECONDS);
	printf("%8s %10s %10s %12s %12s %9s %8s %9s\n", "rules", "build ms", "image KiB",
	    "trie ns", "scan ns", "scanned", "scan/trie", "allowed");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && rc == 0; i++)
		rc = bench_row(sizes[i], &rng, verdicts);
	free(verdicts);
	return rc == 0 ? 0 : 1;
}
