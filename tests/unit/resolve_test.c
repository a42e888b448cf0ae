/*
 * resolve_test.c -- master/resolve*.c without a child: the pipe records
 * (written, read back, and every malformed or torn form refused), the
 * master's reading of a whole answer from a pipe (changes, failures kept,
 * malformed answers dropped), and the expansion of names into backends.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "resolve.h"
#include "tunables.h"

static struct addr
A(const char *text)
{
	struct addr a;
	const char *why;

	cr_assert_eq(addr_parse(&a, text, 0, &why), 0, "%s", text);
	return a;
}

static const char *
F(const struct addr *a)
{
	static char buf[4][ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return addr_format(a, buf[i], sizeof(buf[i]));
}

static uint8_t rec[RESOLVE_WIRE_REC_MAX];
static struct addr got[RESOLVE_ADDRS_MAX];

Test(resolve_wire, round_trip_drops_the_port)
{
	struct addr in[2] = { A("10.0.0.7:443"), A("[2001:db8::1]:443") };
	size_t len = resolve_wire_put(rec, 0, 0, in, 2), off = 0;
	uint32_t n;
	int status = 7;

	cr_assert_eq(len, sizeof(struct resolve_wire_head) + 2 * sizeof(struct resolve_wire_addr));
	cr_assert_eq(resolve_wire_next(rec, len, &off, 0, &status, got, &n), RESOLVE_WIRE_OK);
	cr_assert_eq(off, len);
	cr_assert_eq(status, 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(F(&got[0]), "10.0.0.7:0");
	cr_assert_str_eq(F(&got[1]), "[2001:db8::1]:0");
	len = resolve_wire_put(rec, 3, -ENOENT, in, 2);
	off = 0;
	cr_assert_eq(len, sizeof(struct resolve_wire_head), "a failure carries no address");
	cr_assert_eq(resolve_wire_next(rec, len, &off, 3, &status, got, &n), RESOLVE_WIRE_OK);
	cr_assert_eq(status, -ENOENT);
	cr_assert_eq(n, 0);
}

Test(resolve_wire, torn_records_wait)
{
	struct addr in[1] = { A("10.0.0.7:443") };
	size_t len = resolve_wire_put(rec, 0, 0, in, 1), off;
	uint32_t n;
	int status;

	for (size_t cut = 0; cut < len; cut++) {
		off = 0;
		cr_assert_eq(resolve_wire_next(rec, cut, &off, 0, &status, got, &n),
		    RESOLVE_WIRE_TORN, "cut at %zu", cut);
		cr_assert_eq(off, 0);
	}
}

/* A one-address record of name 0, then the head or address patched by fn. */
static enum resolve_wire_result
patched(void (*fn)(struct resolve_wire_head *, struct resolve_wire_addr *))
{
	struct addr in[1] = { A("10.0.0.7:443") };
	struct resolve_wire_head h;
	struct resolve_wire_addr w;
	size_t len = resolve_wire_put(rec, 0, 0, in, 1), off = 0;
	uint32_t n;
	int status;

	memcpy(&h, rec, sizeof(h));
	memcpy(&w, rec + sizeof(h), sizeof(w));
	fn(&h, &w);
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), &w, sizeof(w));
	return resolve_wire_next(rec, len, &off, 0, &status, got, &n);
}

static void p_index(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->index = 1; }
static void p_status(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->status = -EPERM; }
static void p_fail_count(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->status = -EAGAIN; }
static void p_zero_count(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->count = 0; }
static void p_huge_count(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->count = RESOLVE_ADDRS_MAX + 1; }
static void p_wrap_count(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)w; h->count = UINT32_MAX; }
static void p_family(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)h; w->family = AF_UNIX; }
static void p_zero(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)h; w->zero = 1; }
static void p_v4_tail(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)h; w->ip[9] = 1; }
static void p_v4_scope(struct resolve_wire_head *h, struct resolve_wire_addr *w) { (void)h; w->scope = 2; }

Test(resolve_wire, malformed_records_are_refused)
{
	cr_assert_eq(patched(p_index), RESOLVE_WIRE_MALFORMED, "a name out of order");
	cr_assert_eq(patched(p_status), RESOLVE_WIRE_MALFORMED, "a status we never write");
	cr_assert_eq(patched(p_fail_count), RESOLVE_WIRE_MALFORMED, "a failure with addresses");
	cr_assert_eq(patched(p_zero_count), RESOLVE_WIRE_MALFORMED, "a success without one");
	cr_assert_eq(patched(p_huge_count), RESOLVE_WIRE_MALFORMED, "more than RESOLVE_ADDRS_MAX");
	cr_assert_eq(patched(p_wrap_count), RESOLVE_WIRE_MALFORMED, "a count that would wrap");
	cr_assert_eq(patched(p_family), RESOLVE_WIRE_MALFORMED, "not IPv4 or IPv6");
	cr_assert_eq(patched(p_zero), RESOLVE_WIRE_MALFORMED, "padding not zero");
	cr_assert_eq(patched(p_v4_tail), RESOLVE_WIRE_MALFORMED, "IPv4 with bytes past its 4");
	cr_assert_eq(patched(p_v4_scope), RESOLVE_WIRE_MALFORMED, "IPv4 with a scope");
}

/* ---- a whole answer read from a pipe ---------------------------------------- */

static struct addr host_a[1], host_b[2];
static char app_name[] = "app.internal", db_name[] = "db.internal", any_pattern[] = "*";
static struct config_host hosts[3];
static struct addr backends[3];
static uint32_t weights[3] = { 2, 5, 1 }, flags[3];
static struct config_route route;
static struct config conf;

/* One route: app.internal:443 (10.0.0.5), 10.0.0.9:443, db.internal:443 (10.0.0.1, 10.0.0.2). */
static void
conf_make(void)
{
	host_a[0] = A("10.0.0.5:443");
	host_b[0] = A("10.0.0.1:443");
	host_b[1] = A("10.0.0.2:443");
	hosts[0] = (struct config_host){ app_name, 443, host_a, 1 };
	hosts[1] = (struct config_host){ NULL, 0, NULL, 0 };
	hosts[2] = (struct config_host){ db_name, 443, host_b, 2 };
	backends[0] = host_a[0];
	backends[1] = A("10.0.0.9:443");
	backends[2] = host_b[0];
	route = (struct config_route){ .pattern = any_pattern, .backends = backends,
	    .weights = weights, .backend_flags = flags, .backend_count = 3, .hosts = hosts };
	conf = (struct config){ .routes = &route, .route_count = 1, .resolve_ms = 1000 };
}

/* r loaded from conf; bytes written into a pipe it then reads to the end. */
static int
feed(struct resolve *r, const uint8_t *bytes, size_t len)
{
	int p[2], rc;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], bytes, len), (ssize_t)len);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	r->fd = p[0];
	rc = resolve_read(r);
	cr_assert_eq(r->fd, -1, "the pipe is closed at its end");
	return rc;
}

static size_t
answer(uint8_t *out, int st_app, const char *app, int st_db, const char *db1, const char *db2)
{
	struct addr a[2];
	size_t n;

	a[0] = A(app);
	n = resolve_wire_put(out, 0, st_app, a, 1);
	a[0] = A(db1);
	a[1] = A(db2);
	return n + resolve_wire_put(out + n, 1, st_db, a, 2);
}

static uint8_t buf[4 * RESOLVE_WIRE_REC_MAX];

Test(resolve_read, a_move_is_taken_and_applied)
{
	struct resolve r;
	size_t n;

	conf_make();
	resolve_init(&r);
	cr_assert_eq(resolve_load(&r, &conf, 0), 0);
	cr_assert_eq(r.count, 2);
	cr_assert_str_eq(r.names[0].host, "app.internal");
	cr_assert_eq(r.next_at, 1000);
	/* The same addresses, in another order: nothing changed. */
	n = answer(buf, 0, "10.0.0.5:1", 0, "10.0.0.2:1", "10.0.0.1:1");
	cr_assert_eq(feed(&r, buf, n), 0);
	/* app moves: changed, the port put back, sorted. */
	n = answer(buf, 0, "10.0.0.7:1", 0, "10.0.0.2:1", "10.0.0.1:1");
	cr_assert_eq(feed(&r, buf, n), 1);
	cr_assert_str_eq(F(&r.names[0].addrs[0]), "10.0.0.7:443");
	cr_assert_str_eq(F(&r.names[1].addrs[0]), "10.0.0.1:443");
	/* Applied to a config of our own (resolve_apply frees what it replaces). */
	hosts[0].addrs = malloc(sizeof(struct addr));
	hosts[0].addrs[0] = host_a[0];
	cr_assert_eq(resolve_apply(&r, &conf), 0);
	cr_assert_eq(hosts[0].addr_count, 1);
	cr_assert_str_eq(F(&hosts[0].addrs[0]), "10.0.0.7:443");
	cr_assert_eq(hosts[2].addrs, host_b, "an unchanged name is left alone");
	free(hosts[0].addrs);
	resolve_free(&r);
}

Test(resolve_read, a_failure_keeps_the_last_good_addresses)
{
	struct resolve r;
	size_t n;

	conf_make();
	resolve_init(&r);
	cr_assert_eq(resolve_load(&r, &conf, 0), 0);
	n = answer(buf, -ENOENT, "10.0.0.7:1", -EAGAIN, "10.0.0.2:1", "10.0.0.1:1");
	cr_assert_eq(feed(&r, buf, n), 0);
	cr_assert_eq(r.names[0].addr_count, 1);
	cr_assert_str_eq(F(&r.names[0].addrs[0]), "10.0.0.5:443");
	cr_assert(r.names[0].failing && r.names[1].failing);
	/* A torn answer (a child killed after the first name): the first is taken. */
	n = answer(buf, 0, "10.0.0.8:1", 0, "10.0.0.2:1", "10.0.0.1:1");
	cr_assert_eq(feed(&r, buf, n - 3), 1);
	cr_assert_str_eq(F(&r.names[0].addrs[0]), "10.0.0.8:443");
	cr_assert(!r.names[0].failing);
	cr_assert(r.names[1].failing, "the name it did not reach is as it was");
	resolve_free(&r);
}

Test(resolve_read, a_malformed_answer_changes_nothing)
{
	struct resolve r;
	size_t n;

	conf_make();
	resolve_init(&r);
	cr_assert_eq(resolve_load(&r, &conf, 0), 0);
	/* The first record good, the second malformed: neither is used. */
	n = answer(buf, 0, "10.0.0.7:1", 0, "10.0.0.2:1", "10.0.0.1:1");
	buf[n - 1] = 0xff;	/* IPv4 bytes past the 4th */
	cr_assert_eq(feed(&r, buf, n), 0);
	cr_assert_str_eq(F(&r.names[0].addrs[0]), "10.0.0.5:443");
	/* Bytes past the last name. */
	n = answer(buf, 0, "10.0.0.7:1", 0, "10.0.0.2:1", "10.0.0.1:1");
	cr_assert_eq(feed(&r, buf, n + 1), 0);
	cr_assert_str_eq(F(&r.names[0].addrs[0]), "10.0.0.5:443");
	/* Names out of order. */
	n = resolve_wire_put(buf, 1, -ENOENT, NULL, 0);
	cr_assert_eq(feed(&r, buf, n), 0);
	cr_assert(!r.names[0].failing && !r.names[1].failing);
	resolve_free(&r);
}

Test(resolve_read, resolve_ms_zero_plans_no_child)
{
	struct resolve r;

	conf_make();
	conf.resolve_ms = 0;
	resolve_init(&r);
	cr_assert_eq(resolve_load(&r, &conf, 5), 0);
	cr_assert_eq(r.next_at, 0);
	cr_assert_eq(resolve_tick(&r, NULL, 100000), -1);
	resolve_free(&r);
}

/* ---- expansion ------------------------------------------------------------------- */

Test(resolve_expand, names_become_one_backend_per_address)
{
	struct resolve_expansion x;

	conf_make();
	flags[2] = ROUTES_BACKEND_CHECKED;
	cr_assert_eq(resolve_expand(&conf, &x), 0);
	cr_assert_eq(x.first[0], 0);
	cr_assert_eq(x.count[0], 4);
	cr_assert_eq(x.total, 4);
	cr_assert_str_eq(F(&x.addrs[0]), "10.0.0.5:443");
	cr_assert_str_eq(F(&x.addrs[1]), "10.0.0.9:443");
	cr_assert_str_eq(F(&x.addrs[2]), "10.0.0.1:443");
	cr_assert_str_eq(F(&x.addrs[3]), "10.0.0.2:443");
	cr_assert_eq(x.src[0], 0);
	cr_assert_eq(x.src[1], 1);
	cr_assert_eq(x.src[2], 2);
	cr_assert_eq(x.src[3], 2);
	cr_assert_eq(x.weights[2], 1);
	cr_assert_eq(x.weights[3], 1);
	cr_assert_eq(x.weights[1], 5);
	cr_assert_eq(x.flags[3], ROUTES_BACKEND_CHECKED);
	resolve_expansion_free(&x);
	flags[2] = 0;
}

Test(resolve_expand, an_address_met_twice_is_kept_first)
{
	struct resolve_expansion x;

	conf_make();
	host_b[1] = A("10.0.0.9:443");	/* db.internal now also at the literal's address */
	host_a[0] = A("10.0.0.1:443");	/* and app.internal at db's other one */
	cr_assert_eq(resolve_expand(&conf, &x), 0);
	cr_assert_eq(x.count[0], 2);
	cr_assert_str_eq(F(&x.addrs[0]), "10.0.0.1:443");
	cr_assert_eq(x.src[0], 0, "app.internal came first");
	cr_assert_eq(x.weights[0], 2);
	cr_assert_str_eq(F(&x.addrs[1]), "10.0.0.9:443");
	cr_assert_eq(x.src[1], 1, "the literal came before db.internal's");
	cr_assert_eq(x.weights[1], 5);
	resolve_expansion_free(&x);
}

Test(resolve_expand, reject_backends_are_never_merged)
{
	struct resolve_expansion x;
	struct addr none[2];
	uint32_t w[2] = { 1, 1 }, f[2] = { ROUTES_BACKEND_REJECT, ROUTES_BACKEND_REJECT };
	struct config_route r = { .pattern = any_pattern, .backends = none, .weights = w,
	    .backend_flags = f, .backend_count = 2 };
	struct config c = { .routes = &r, .route_count = 1 };

	memset(none, 0, sizeof(none));
	cr_assert_eq(resolve_expand(&c, &x), 0);
	cr_assert_eq(x.count[0], 2);
	cr_assert_eq(x.flags[1], ROUTES_BACKEND_REJECT);
	resolve_expansion_free(&x);
}

Test(resolve_expand, past_the_route_limit_the_first_are_kept)
{
	struct resolve_expansion x;
	struct addr *many = calloc(MAX_BACKENDS_PER_ROUTE, sizeof(*many));
	char text[32];

	conf_make();
	for (uint32_t i = 0; i < MAX_BACKENDS_PER_ROUTE; i++) {
		snprintf(text, sizeof(text), "10.1.%u.%u:443", i / 256, i % 256);
		many[i] = A(text);
	}
	hosts[2].addrs = many;
	hosts[2].addr_count = MAX_BACKENDS_PER_ROUTE;
	cr_assert_eq(resolve_expand(&conf, &x), 0);
	cr_assert_eq(x.count[0], MAX_BACKENDS_PER_ROUTE);
	cr_assert_str_eq(F(&x.addrs[0]), "10.0.0.5:443");
	cr_assert_str_eq(F(&x.addrs[2]), "10.1.0.0:443");
	cr_assert_str_eq(F(&x.addrs[MAX_BACKENDS_PER_ROUTE - 1]), "10.1.3.253:443");
	resolve_expansion_free(&x);
	free(many);
}
