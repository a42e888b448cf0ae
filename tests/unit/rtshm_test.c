/*
 * rtshm_test.c -- guards the route table generations (common/rtshm.c)
 * through their API: a publish makes a new generation current, a slot is
 * reused only once no worker reports an older generation, a pinned slot is
 * never rewritten (-EBUSY instead), and a worker's read-only view faults on
 * a write. Nothing here reads the segment's layout.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "routes.h"
#include "rtshm.h"
#include "tunables.h"

/* Far more publishes than any sensible number of slots: a leak shows as -EBUSY. */
#define MANY_PUBLISHES	64
#define PATTERN_MAX	32
/* Report lines of two workers; any lines do, these are not the first. */
#define LINE_A		1u
#define LINE_B		7u

static struct rtshm seg;
static struct addr backend;

static void
setup(void)
{
	const char *why;

	cr_assert_eq(addr_parse(&backend, "192.0.2.1:443", 0, &why), 0);
	cr_assert_eq(rtshm_create(&seg), 0);
}

static void
teardown(void)
{
	rtshm_destroy(&seg);
}

TestSuite(rtshm, .init = setup, .fini = teardown);

/* The pattern generation g is published with: one route, told apart by name. */
static void
pattern_of(char *buf, uint64_t generation)
{
	snprintf(buf, PATTERN_MAX, "g%llu.example", (unsigned long long)generation);
}

/* Publishes one route named for the generation it should become. */
static int64_t
publish_next(void)
{
	uint64_t next = rtshm_word_generation(rtshm_current(&seg)) + 1;
	char pattern[PATTERN_MAX];
	struct route_spec spec = { .pattern = pattern, .backends = &backend,
	    .backend_count = 1 };

	pattern_of(pattern, next);
	return rtshm_publish(&seg, &spec, 1, NULL);
}

/*
 * The image a word names is whole and is generation's: its header matches
 * the word and its one route is the one published as that generation.
 */
static void
assert_image_is(uint64_t word, uint64_t generation)
{
	const struct routes_image *img = rtshm_image(&seg, word);
	char pattern[PATTERN_MAX];

	cr_assert_eq(rtshm_word_generation(word), generation);
	cr_assert_eq(img->magic, ROUTES_MAGIC);
	cr_assert_eq(img->version, ROUTES_VERSION);
	cr_assert_eq(img->generation, generation,
	    "the image under generation %llu's word is generation %llu's",
	    (unsigned long long)generation, (unsigned long long)img->generation);
	cr_assert_eq(img->route_count, 1);
	pattern_of(pattern, generation);
	cr_assert_not_null(routes_lookup(img, (const uint8_t *)pattern, strlen(pattern)),
	    "generation %llu's image lacks its route %s",
	    (unsigned long long)generation, pattern);
}

/* Publishes until -EBUSY; returns how many succeeded (fails if none refuses). */
static int
publish_until_busy(void)
{
	int64_t rc;
	int n;

	for (n = 0; n < MANY_PUBLISHES; n++) {
		rc = publish_next();
		if (rc == -EBUSY)
			return n;
		cr_assert_gt(rc, 0, "publish failed: %lld", (long long)rc);
	}
	cr_assert_fail("%d publishes and never -EBUSY: a pinned slot was reused",
	    MANY_PUBLISHES);
	return n;
}

/*
 * Generation 1, a worker started then that never reports a newer one, and
 * publishes until -EBUSY. Returns the current generation.
 */
static uint64_t
pinned_at_one_until_busy(void)
{
	cr_assert_eq(publish_next(), 1);
	rtshm_worker_reset(&seg, LINE_A, 1);
	publish_until_busy();
	return rtshm_word_generation(rtshm_current(&seg));
}

Test(rtshm, publish_makes_a_new_generation_current)
{
	uint64_t word, first;

	cr_assert_eq(rtshm_word_generation(rtshm_current(&seg)), 0,
	    "nothing is current before the first publish");
	cr_assert_eq(publish_next(), 1);
	first = rtshm_current(&seg);
	assert_image_is(first, 1);

	cr_assert_eq(publish_next(), 2);
	word = rtshm_current(&seg);
	assert_image_is(word, 2);
	/* Workers may still read the image that was current until now. */
	assert_image_is(first, 1);
	cr_assert_null(routes_lookup(rtshm_image(&seg, word),
	    (const uint8_t *)"g1.example", strlen("g1.example")),
	    "generation 2 has only its own route");
}

Test(rtshm, slots_are_reused_when_no_worker_reads_older)
{
	int64_t rc;

	/* No worker at all: every old slot is free. */
	for (uint64_t g = 1; g <= MANY_PUBLISHES; g++) {
		rc = publish_next();
		cr_assert_eq(rc, (int64_t)g, "publish %llu: %lld",
		    (unsigned long long)g, (long long)rc);
		assert_image_is(rtshm_current(&seg), g);
	}
}

Test(rtshm, slots_are_reused_when_workers_report_the_current_generation)
{
	uint64_t g;

	cr_assert_eq(publish_next(), 1);
	rtshm_worker_reset(&seg, LINE_A, 1);
	rtshm_worker_reset(&seg, LINE_B, 1);
	for (g = 2; g <= MANY_PUBLISHES; g++) {
		cr_assert_eq(publish_next(), (int64_t)g);
		/* Each worker took the new generation and dropped the old ones. */
		rtshm_worker_report(&seg, LINE_A, g);
		rtshm_worker_report(&seg, LINE_B, g);
	}
	assert_image_is(rtshm_current(&seg), MANY_PUBLISHES);
}

Test(rtshm, busy_while_a_worker_pins_every_other_slot)
{
	uint64_t pinned, last;
	int n;

	cr_assert_eq(publish_next(), 1);
	pinned = rtshm_current(&seg);
	/* Started at generation 1 and never reports a newer one. */
	rtshm_worker_reset(&seg, LINE_A, 1);

	n = publish_until_busy();
	cr_assert_geq(n, 1, "one slot beside the pinned one at least");
	last = rtshm_current(&seg);
	cr_assert_eq(rtshm_word_generation(last), 1 + (uint64_t)n,
	    "a refused publish leaves the current generation as it was");
	assert_image_is(last, 1 + (uint64_t)n);
	assert_image_is(pinned, 1);
	cr_assert_eq(publish_next(), -EBUSY, "still pinned, still busy");
	assert_image_is(pinned, 1);
}

Test(rtshm, busy_ends_when_the_worker_reports_the_current_generation)
{
	uint64_t g = pinned_at_one_until_busy();

	rtshm_worker_report(&seg, LINE_A, g);
	cr_assert_eq(publish_next(), (int64_t)g + 1);
	assert_image_is(rtshm_current(&seg), g + 1);
}

Test(rtshm, busy_ends_when_the_worker_is_reset_as_not_running)
{
	uint64_t g = pinned_at_one_until_busy();

	rtshm_worker_reset(&seg, LINE_A, 0);
	for (uint64_t i = 1; i <= MANY_PUBLISHES; i++)
		cr_assert_eq(publish_next(), (int64_t)(g + i), "an ended worker pins nothing");
}

Test(rtshm, the_oldest_report_of_all_workers_pins)
{
	uint64_t pinned, g;

	cr_assert_eq(publish_next(), 1);
	cr_assert_eq(publish_next(), 2);
	pinned = rtshm_current(&seg);
	/* A is reset at generation 2 (the current one); B reports it too. */
	rtshm_worker_reset(&seg, LINE_A, 1);
	rtshm_worker_reset(&seg, LINE_B, 1);
	cr_assert_eq(publish_next(), 3);
	/* B moves on, A still reads generation 2: it alone must pin it. */
	rtshm_worker_report(&seg, LINE_B, 3);
	publish_until_busy();
	assert_image_is(pinned, 2);

	g = rtshm_word_generation(rtshm_current(&seg));
	rtshm_worker_report(&seg, LINE_A, g);
	rtshm_worker_report(&seg, LINE_B, g);
	cr_assert_eq(publish_next(), (int64_t)g + 1);
}

Test(rtshm, a_refused_image_leaves_the_current_generation)
{
	const char *const dup[] = { "a.example", "A.example." };
	struct route_spec specs[2];
	uint64_t before;

	cr_assert_eq(publish_next(), 1);
	before = rtshm_current(&seg);
	for (int i = 0; i < 2; i++)
		specs[i] = (struct route_spec){ .pattern = dup[i],
		    .backends = &backend, .backend_count = 1 };
	cr_assert_eq(rtshm_publish(&seg, specs, 2, NULL), -EINVAL);
	cr_assert_eq(rtshm_current(&seg), before);
	assert_image_is(before, 1);
	cr_assert_eq(publish_next(), 2, "the next publish takes the next generation");
}

Test(rtshm, an_image_larger_than_a_slot_is_e2big)
{
	struct addr *many = calloc(MAX_BACKENDS_PER_ROUTE, sizeof(*many));
	/* Routes of MAX_BACKENDS_PER_ROUTE backends each, one more than a slot holds. */
	uint32_t count = (uint32_t)(RTSHM_SLOT_BYTES /
	    (MAX_BACKENDS_PER_ROUTE * sizeof(struct routes_backend))) + 1;
	struct route_spec *specs = calloc(count, sizeof(*specs));
	char (*patterns)[PATTERN_MAX] = calloc(count, PATTERN_MAX);
	uint64_t before;

	cr_assert(many != NULL && specs != NULL && patterns != NULL);
	for (uint32_t i = 0; i < MAX_BACKENDS_PER_ROUTE; i++)
		many[i] = backend;
	for (uint32_t i = 0; i < count; i++) {
		snprintf(patterns[i], PATTERN_MAX, "r%u.example", i);
		specs[i] = (struct route_spec){ .pattern = patterns[i],
		    .backends = many, .backend_count = MAX_BACKENDS_PER_ROUTE };
	}
	cr_assert_gt(routes_image_size(specs, count), RTSHM_SLOT_BYTES);

	cr_assert_eq(publish_next(), 1);
	before = rtshm_current(&seg);
	cr_assert_eq(rtshm_publish(&seg, specs, count, NULL), -E2BIG);
	cr_assert_eq(rtshm_current(&seg), before);
	assert_image_is(before, 1);
	free(patterns);
	free(specs);
	free(many);
}

Test(rtshm, a_readonly_attach_keeps_images_readable_and_refuses_writes)
{
	uint64_t word;
	pid_t pid;
	int status;

	cr_assert_eq(publish_next(), 1);
	word = rtshm_current(&seg);
	cr_assert_eq(rtshm_attach_readonly(&seg), 0);
	assert_image_is(rtshm_current(&seg), 1);
	/* A worker still writes its own report line. */
	rtshm_worker_report(&seg, LINE_A, 1);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* The default action, not a sanitizer's handler: die by the signal. */
		signal(SIGSEGV, SIG_DFL);
		((volatile struct routes_image *)(uintptr_t)rtshm_image(&seg, word))->route_count = 0;
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	    "a write to the read-only image did not fault (status %#x)", status);
	assert_image_is(word, 1);
}
