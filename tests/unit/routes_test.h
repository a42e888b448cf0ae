/*
 * routes_test.h -- what the route image's unit tests share: routes built
 * from a compact table, and a client's ALPN list in wire form.
 */
#ifndef PASSTHROUGH_ROUTES_TEST_H
#define PASSTHROUGH_ROUTES_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "routes.h"

#define NONE	(-1)	/* pick(): the lookup found nothing */

/* One route: its pattern, alpn names (NULL-terminated, NULL: none) and listener group. */
struct spec {
	const char *pattern;
	const char *alpn[4];
	uint32_t group;
};

static struct addr backend;

/*
 * Builds specs into *img (malloc'ed, exactly sized). group_count 0: no
 * listen addresses (one group); else listen address 127.0.0.1:(1000 + g)
 * in group g. Returns the build's result.
 */
static int
build_groups(const struct spec *in, uint32_t count, uint32_t group_count,
    struct routes_image **img)
{
	struct route_spec specs[16];
	struct listen_spec listens[8];
	struct routes_access access;
	char text[32];
	const char *why;
	size_t size;
	int rc;

	cr_assert_leq(count, 16);
	cr_assert_eq(addr_parse(&backend, "192.0.2.1:443", 0, &why), 0);
	memset(specs, 0, sizeof(specs));
	memset(listens, 0, sizeof(listens));
	for (uint32_t i = 0; i < count; i++) {
		specs[i].pattern = in[i].pattern;
		specs[i].group = in[i].group;
		specs[i].backends = &backend;
		specs[i].backend_count = 1;
		specs[i].alpn = in[i].alpn[0] != NULL ? in[i].alpn : NULL;
		while (specs[i].alpn_count < 4 && in[i].alpn[specs[i].alpn_count] != NULL)
			specs[i].alpn_count++;
	}
	for (uint32_t g = 0; g < group_count && g < 8; g++) {
		snprintf(text, sizeof(text), "127.0.0.1:%u", 1000 + g);
		cr_assert_eq(addr_parse(&listens[g].addr, text, 0, &why), 0);
		listens[g].group = g;
	}
	access = (struct routes_access){ .listens = listens,
	    .listen_count = group_count < 8 ? group_count : 8, .group_count = group_count };
	size = routes_image_size(specs, count, group_count > 0 ? &access : NULL);
	*img = malloc(size);
	cr_assert_not_null(*img);
	rc = routes_image_build(*img, size, specs, count, group_count > 0 ? &access : NULL,
	    NULL, 1, 7);
	if (rc != 0) {
		free(*img);
		*img = NULL;
	}
	return rc;
}

/* A client's ALPN list in wire form from names separated by ','; its length. */
static size_t
wire(const char *names, uint8_t *out)
{
	size_t n = 0, len;

	while (names != NULL && *names != '\0') {
		len = strcspn(names, ",");
		out[n++] = (uint8_t)len;
		memcpy(out + n, names, len);
		n += len;
		names += len + (names[len] == ',');
	}
	return n;
}

#endif
